"""Brian2 equations of each neuron model (strings; brian2 is imported only when called).

The Brian2 backend builds one ``NeuronGroup`` per population from what
:func:`brian2_model` returns. The equations are those of the numpy steps in
``neuroattn.neurons.lif`` and ``neuroattn.neurons.escape``:

    dv/dt    = (v_rest - v + r_m (i_bias + i_ext + sum_k i_k)) / tau_mem
    di_k/dt  = -i_k / tau_k                       (one current per synaptic port k)

``i_ext`` is a parameter the backend sets at the start of every step (the 'current'
drives); the ports receive spikes of projections and 'poisson' drives.

Notes
-----
A port whose time constant equals ``tau_mem`` needs the degenerate solution
(t e^{-t/tau}). Without refractoriness it is written with the symbol ``tau_mem`` itself
and Brian2's ``exact`` solver derives that solution. With ``(unless refractory)`` the
solver keeps ``not_refractory`` symbolic and its general solution divides by
``not_refractory - 1`` (0/0 in the degenerate case), so there the port's tau is
moved by a relative 1e-6 instead: the PSP then differs from the exact kernel by about
1e-6 of its size.

Brian2's solvers cannot integrate the noise term exactly. With ``noise='exact'``
(default) the equations stay noiseless (``exact`` method) and ``noise_code`` adds the
exact Ornstein-Uhlenbeck increment ``sigma sqrt(1 - exp(-2 dt/tau_mem)) N(0, 1)`` to
non-refractory neurons; run it right after the state update (``run_regularly(...,
when='groups', order=1)``) and the group performs ``lif_step`` exactly. With
``noise='euler'`` a noisy LIF (``sigma > 0``) gets ``+ sigma sqrt(2/tau_mem) xi`` and
the ``euler`` method (Euler-Maruyama) for the whole group, whose error against the
exact update of ``lif_step`` is O(dt/tau) per step (its cells fire a few % slower at
tens of Hz).
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

from neuroattn.exceptions import ValidationError
from neuroattn.neurons.escape import EscapeParams
from neuroattn.neurons.lif import LIFParams

__all__ = ["Brian2Model", "brian2_model", "quiet_brian2"]

# Relative distance below which a port's tau counts as equal to tau_mem.
_DEGENERATE = 1e-6

# Parameter -> brian2 unit name, per model.
_LIF_UNITS = {"tau_mem": "second", "v_rest": "volt", "v_reset": "volt", "v_th": "volt",
              "r_m": "ohm", "t_ref": "second", "sigma": "volt", "i_bias": "amp"}
_ESC_UNITS = {"tau_mem": "second", "v_rest": "volt", "v_reset": "volt", "r_m": "ohm",
              "theta": "volt", "delta_u": "volt", "rho0": "hertz", "t_ref": "second",
              "i_bias": "amp"}


@dataclass(frozen=True)
class Brian2Model:
    """What a ``brian2.NeuronGroup`` needs for one population.

    Attributes
    ----------
    equations : str
        Model equations (Brian2 syntax, with units).
    threshold : str
        Threshold condition.
    reset : str or None
        Reset statements (None: no reset).
    refractory : str or bool
        ``'t_ref'`` (a name in ``namespace``) or False (no refractoriness).
    method : str
        ``'exact'`` or ``'euler'``.
    namespace : dict
        Name -> brian2 Quantity for every constant the strings use.
    ports : tuple of str
        Names of the synaptic current variables, in the order of the ports given.
    noise_code : str or None
        With ``noise='exact'`` and ``sigma > 0``: statements that add the exact OU
        increment, to run right after the state update. None otherwise.
    """

    equations: str
    threshold: str
    reset: str | None
    refractory: str | bool
    method: str
    namespace: dict
    ports: tuple
    noise_code: str | None = None


@contextlib.contextmanager
def quiet_brian2():
    """Silence the deprecation warnings brian2 2.9 triggers in pyparsing >= 3.3.

    brian2 calls pyparsing's old camelCase names (``parseString``, ...) when it is
    imported and whenever it parses equations; with warnings turned into errors
    (pytest's ``filterwarnings = error``) those would abort a run. Only
    DeprecationWarnings raised from brian2's own modules are ignored.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"brian2(\.|$)")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pyparsing(\.|$)")
        yield


def _namespace(params, units: dict, port_taus: dict) -> dict:
    with quiet_brian2():
        import brian2

    ns = {name: getattr(params, name) * getattr(brian2, unit) for name, unit in units.items()}
    for name, tau in port_taus.items():
        ns[name] = tau * brian2.second
    return ns


def brian2_model(params, ports=(), noise: str = "exact") -> Brian2Model:
    """Brian2 equations, threshold, reset, refractoriness and namespace of a neuron model.

    Parameters
    ----------
    params : LIFParams or EscapeParams
    ports : sequence of (str, float)
        ``(variable name, tau in seconds)`` of each synaptic current, e.g.
        ``[("i_syn0", 5e-3)]``. Names must be identifiers not used by the model.
    noise : {'exact', 'euler'}
        How a noisy LIF is integrated (default 'exact'; see the module notes).

    Returns
    -------
    Brian2Model

    Raises
    ------
    ValidationError
        For an unknown params type, a bad port name, a non-positive tau or an unknown
        ``noise``.

    Examples
    --------
    >>> from neuroattn.neurons import LIFParams
    >>> m = brian2_model(LIFParams(), [("i_syn0", 5e-3)])
    >>> m.method, m.threshold, m.reset
    ('exact', 'v > v_th', 'v = v_reset')
    >>> print(m.equations.splitlines()[1])
    di_syn0/dt = -i_syn0/tau_i_syn0 : amp
    """
    if not isinstance(params, (LIFParams, EscapeParams)):
        raise ValidationError(f"brian2_model.params: expected LIFParams or EscapeParams "
                              f"(got {type(params).__name__})")
    units = _LIF_UNITS if isinstance(params, LIFParams) else _ESC_UNITS
    reserved = set(units) | {"v", "i_ext", "xi", "dt", "t", "i", "N", "trial", "lastspike",
                             "not_refractory"}
    held = isinstance(params, LIFParams) or params.reset
    names, lines, port_taus = [], [], {}
    for name, tau in ports:
        if not isinstance(name, str) or not name.isidentifier() or name in reserved \
                or name in names:
            raise ValidationError(f"brian2_model.ports: expected distinct identifiers not in "
                                  f"{sorted(reserved)} (got {name!r})")
        if not float(tau) > 0:
            raise ValidationError(f"brian2_model.ports: tau of {name!r} must be > 0 s "
                                  f"(got {tau}); pass e.g. 5e-3")
        names.append(name)
        tau = float(tau)
        if abs(tau - params.tau_mem) <= _DEGENERATE * params.tau_mem:
            if not held:
                lines.append(f"d{name}/dt = -{name}/tau_mem : amp")
                continue
            tau = params.tau_mem * (1.0 + _DEGENERATE)
        port_taus[f"tau_{name}"] = tau
        lines.append(f"d{name}/dt = -{name}/tau_{name} : amp")
    current = " + ".join(["i_bias", "i_ext", *names])
    drift = f"(v_rest - v + r_m*({current}))/tau_mem"
    if noise not in ("euler", "exact"):
        raise ValidationError(f"brian2_model.noise: expected 'euler' or 'exact' (got {noise!r})")
    noisy = isinstance(params, LIFParams) and params.sigma > 0
    noise_code = None
    if noisy and noise == "euler":
        drift += " + sigma*sqrt(2/tau_mem)*xi"
    elif noisy:
        noise_code = "v += int(not_refractory)*sigma*sqrt(1 - exp(-2*dt/tau_mem))*randn()"
    flag = " (unless refractory)" if held else ""
    if isinstance(params, LIFParams):
        threshold, reset, refractory = "v > v_th", "v = v_reset", "t_ref"
    else:
        threshold = "rand() < 1 - exp(-rho0*exp((v - theta)/delta_u)*dt)"
        reset = "v = v_reset" if params.reset else None
        refractory = "t_ref" if (params.reset or params.t_ref > 0) else False
    equations = "\n".join([f"dv/dt = {drift} : volt{flag}", *lines, "i_ext : amp"])
    method = "euler" if noisy and noise_code is None else "exact"
    return Brian2Model(equations=equations, threshold=threshold, reset=reset,
                       refractory=refractory, method=method,
                       namespace=_namespace(params, units, port_taus), ports=tuple(names),
                       noise_code=noise_code)
