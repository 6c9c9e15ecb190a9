"""Network: populations (nodes) and projections (edges) of a networkx.DiGraph, plus probes.

The graph is built on first use of :attr:`Network.graph` (networkx is not imported
before: a simulation never needs it, and its import costs a command's start-up).
"""

from __future__ import annotations

from neuroattn.exceptions import ValidationError
from neuroattn.model.population import Population
from neuroattn.model.probe import Probe
from neuroattn.model.projection import Projection

__all__ = ["Network"]


def _check_receptor(pr, target) -> None:
    """A conductance target takes receptor projections only, and the receptor must exist."""
    conductance = getattr(target.params, "kind", None) == "conductance"
    where = f"Projection({pr.name!r}).receptor"
    if pr.receptor is None and conductance:
        raise ValidationError(f"{where}: the target {target.name!r} is conductance-based; name "
                              f"one of its receptors {[r.name for r in target.params.receptors]}"
                              " (got None)")
    if pr.receptor is not None and not conductance:
        raise ValidationError(f"{where}: only a conductance-based target has receptors; "
                              f"{target.name!r} is {target.params.kind!r} (got {pr.receptor!r})")
    if pr.receptor is not None:
        target.params.receptor(pr.receptor)  # raises naming the known receptors


def check_drive_receptor(drive, network) -> None:
    """The same rule for a Poisson drive: receptor names exist, and only on conductance targets."""
    target = network.population(drive.population)
    conductance = getattr(target.params, "kind", None) == "conductance"
    where = f"Drive(channel={drive.channel}, population={drive.population!r}).receptor"
    if drive.kind == "current":
        return
    if drive.receptor is None and conductance:
        raise ValidationError(f"{where}: the target is conductance-based; name one of its "
                              f"receptors {[r.name for r in target.params.receptors]} (got None)")
    if drive.receptor is not None and not conductance:
        raise ValidationError(f"{where}: only a conductance-based target has receptors "
                              f"(got {drive.receptor!r})")
    if drive.receptor is not None:
        try:
            target.params.receptor(drive.receptor)
        except ValidationError as exc:
            raise ValidationError(f"{where}: {exc}") from None


class Network:
    """A frozen, validated description of a spiking network.

    Building a Network validates every population, projection and probe; an invalid
    value raises ValidationError naming the object and attribute. The description holds
    no simulation state; backends read it and never change it.

    Parameters
    ----------
    populations : sequence of Population
    projections : sequence of Projection
        At most one per (source, target) pair, except conductance synapses onto
        distinct receptors of the target (e.g. the AMPA and NMDA components of one
        glutamatergic pathway).
    probes : sequence of Probe
        Default: a 'rate' probe on every population.
    name : str

    Examples
    --------
    >>> from neuroattn.model import Network, Population, Projection
    >>> from neuroattn.neurons import LIFParams
    >>> net = Network([Population("a", 10, LIFParams()), Population("b", 5, LIFParams())],
    ...               [Projection("a", "b", 50e-12)])
    >>> sorted(net.graph.edges)
    [('a', 'b')]
    """

    __slots__ = ("_populations", "_projections", "_probes", "_by_name", "_edges", "_graph",
                 "name")

    def __init__(self, populations, projections=(), probes=None, name: str = "network"):
        pops = tuple(populations)
        projs = tuple(projections)
        if not pops:
            raise ValidationError("Network.populations: expected at least one Population (got 0)")
        by_name: dict = {}
        edges: dict = {}
        for p in pops:
            if not isinstance(p, Population):
                raise ValidationError(f"Network.populations: expected Population objects "
                                      f"(got {type(p).__name__})")
            p.validate()
            if p.name in by_name:
                raise ValidationError(f"Network.populations: duplicate name {p.name!r}")
            by_name[p.name] = p
        sizes = {p.name: p.size for p in pops}
        for pr in projs:
            if not isinstance(pr, Projection):
                raise ValidationError(f"Network.projections: expected Projection objects "
                                      f"(got {type(pr).__name__})")
            for end in ("source", "target"):
                if getattr(pr, end) not in sizes:
                    raise ValidationError(
                        f"Projection({pr.name!r}).{end}: no such population; expected one of "
                        f"{sorted(sizes)} (got {getattr(pr, end)!r})")
            pr.validate(sizes[pr.source], sizes[pr.target])
            held = edges.get((pr.source, pr.target), ())
            if held and (pr.receptor is None or any(h.receptor in (None, pr.receptor)
                                                    for h in held)):
                raise ValidationError(f"Network.projections: two projections {pr.name!r}; "
                                      "merge them into one (only conductance synapses onto "
                                      "distinct receptors may share a pair)")
            edges[pr.source, pr.target] = (*held, pr)
            _check_receptor(pr, by_name[pr.target])
        probes = tuple(Probe(p.name, "rate") for p in pops) if probes is None else tuple(probes)
        for pb in probes:
            if not isinstance(pb, Probe):
                raise ValidationError(f"Network.probes: expected Probe objects "
                                      f"(got {type(pb).__name__})")
            pb.validate(sizes)
        object.__setattr__(self, "_populations", pops)
        object.__setattr__(self, "_projections", projs)
        object.__setattr__(self, "_probes", probes)
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_edges", edges)
        object.__setattr__(self, "_graph", None)
        object.__setattr__(self, "name", name)

    def __setattr__(self, key, value):
        raise AttributeError(f"Network is frozen; cannot set {key!r}")

    @property
    def populations(self) -> tuple:
        """Populations, in the order given."""
        return self._populations

    @property
    def projections(self) -> tuple:
        """Projections, in the order given."""
        return self._projections

    @property
    def probes(self) -> tuple:
        """Probes, in the order given."""
        return self._probes

    @property
    def graph(self):
        """The frozen ``networkx.DiGraph``: nodes carry ``population``, edges
        ``projection`` (the first projection of the pair) and ``projections`` (all of
        them, one per receptor). Built on first use."""
        if self._graph is None:
            import networkx as nx

            graph = nx.DiGraph(name=self.name)
            for p in self._populations:
                graph.add_node(p.name, population=p)
            for (source, target), held in self._edges.items():
                graph.add_edge(source, target, projection=held[0], projections=held)
            object.__setattr__(self, "_graph", nx.freeze(graph))
        return self._graph

    def population(self, name: str) -> Population:
        """The population called ``name``."""
        if name not in self._by_name:
            raise ValidationError(f"Network.population: no population {name!r}; expected one "
                                  f"of {[p.name for p in self._populations]}")
        return self._by_name[name]

    @property
    def n_neurons(self) -> int:
        """Total neurons in one trial."""
        return sum(p.size for p in self._populations)

    def rate_units(self) -> tuple:
        """Names of the rate probes' populations, in probe order (Recording.units)."""
        return tuple(p.population for p in self._probes if p.kind == "rate")

    def __repr__(self) -> str:
        return (f"Network({self.name!r}, {len(self._populations)} populations, "
                f"{len(self._projections)} projections, {self.n_neurons} neurons)")
