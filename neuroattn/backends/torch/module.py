"""SpikingNetworkModule: a Network as a differentiable torch module (CPU or CUDA)."""

from __future__ import annotations

import math

import numpy as np
import torch
from snntorch import surrogate as _surrogate
from torch import nn

from neuroattn.backends._common import check_run
from neuroattn.backends.torch import _loop
from neuroattn.backends.torch._export import to_network
from neuroattn.backends.torch._layout import build_layout
from neuroattn.backends.torch._step import Coefficients
from neuroattn.backends.torch._synapses import group_matrix, make_groups
from neuroattn.exceptions import BackendUnavailable, ValidationError
from neuroattn.model import Drive, Network
from neuroattn.model.units import check_positive, to_si
from neuroattn.neurons._membrane import ou_noise_scale, synaptic_kernel

__all__ = ["SpikingNetworkModule", "TRAINABLE"]

#: trainable quantity -> (per what, unit the Parameter is held in, that unit in SI)
TRAINABLE = {
    "weights": ("synapse", "pA", 1e-12),
    "i_bias": ("population", "pA", 1e-12),
    "tau_mem": ("population", "ms", 1e-3),
    "v_th": ("population", "mV", 1e-3),
    "tau_syn": ("projection", "ms", 1e-3),
}

#: index arrays of a synapse group held as (non-persistent) buffers
_INDEX = ("inverse", "rows", "cols", "crow", "by_row", "crow_src")


class SpikingNetworkModule(nn.Module):
    """A spiking Network as a torch module whose forward pass returns binned rates.

    Parameters
    ----------
    network : neuroattn.model.Network
    drives : sequence of neuroattn.model.Drive
        How the channels of the input values drive the populations.
    dt : float, seconds
        Simulation step (default 0.1 ms).
    stimulus_dt : float, seconds
        Duration of one row of the input values (default ``dt``); a multiple of ``dt``.
    n_channels : int, optional
        Channels of the input values (default: one more than the largest drive channel).
    trainable : sequence of str
        Quantities held as ``nn.Parameter`` (the rest are buffers): ``'weights'`` (one
        magnitude per synapse, pA, in ``self.weights[j]`` for projection j),
        ``'i_bias'`` (pA), ``'tau_mem'`` (ms), ``'v_th'`` (mV; LIF) -- one per
        population, in network order -- and ``'tau_syn'`` (ms, one per projection).
        Parameters are held in these units so that one optimiser learning rate suits
        all of them; :meth:`to_network` converts back to SI.
    surrogate : callable, optional
        Spike function of LIF neurons, from ``snntorch.surrogate`` (default
        ``fast_sigmoid(slope=25)``), applied to ``(v - v_th) / (v_th - v_reset)``.
    surrogate_tau : float, seconds
        The surrogate's derivative is multiplied by ``dt / surrogate_tau`` (default
        1 ms), so that gradients do not grow as 1/dt (see Notes).
    dtype : torch.dtype or str
        ``torch.float32`` (default) or ``torch.float64``.
    device : str or torch.device
        ``'cpu'`` (default) or ``'cuda'``.
    sparse : bool or None
        Synapse matrices: dense (False), CSR sparse (True), or chosen per group by
        size and density (None, default).

    Notes
    -----
    The update is ``neuroattn.neurons.lif_step`` / ``escape_step`` on tensors [trials,
    N]: the exact integration of ``neurons/_membrane.py`` (external current held over
    the step, each synaptic current decaying inside it), the exact OU noise increment,
    refractory countdown, threshold and reset. snnTorch's ``Leaky``/``Synaptic`` neurons
    are not used because their update (``mem = beta mem + input``) is a different
    discretisation, has no refractory period and no membrane noise, so it cannot
    reproduce the specification's spikes; snnTorch supplies the surrogate of the
    threshold. Escape neurons sample ``uniform < p`` with the straight-through gradient
    of the firing probability ``p = 1 - exp(-rho(v) dt)`` (``E[s] = p``). The reset is
    not differentiated through. Trial t's randomness comes only from ``(seed, t)``
    (see ``_random``).

    A per-step surrogate summed over the steps in which a neuron approaches threshold
    grows as 1/dt; scaled by ``dt / surrogate_tau`` it does not depend on dt, and with
    the defaults d(rate)/d(i_bias) measured 0.4-1.2 times the analytic f-I slope
    (150-400 pA, 0-4 mV noise, dt 0.1 and 0.5 ms).

    Raises
    ------
    ValidationError
        For a bad argument, or a time constant trained to <= 0 (at the next forward).
    BackendUnavailable
        For ``device='cuda'`` without CUDA.

    Examples
    --------
    >>> import torch
    >>> from neuroattn.model import Drive, Network, Population
    >>> from neuroattn.neurons import LIFParams
    >>> net = Network([Population("a", 10, LIFParams(sigma=2e-3))])
    >>> m = SpikingNetworkModule(net, [Drive(0, "a", gain=250e-12)], dt=5e-4,
    ...                          trainable=("i_bias",))
    >>> rates = m(torch.ones(2, 200, 1))          # 2 trials, 0.1 s
    >>> rates.shape                                # [trials, bins, units]
    torch.Size([2, 20, 1])
    >>> rates.mean().backward()
    >>> bool(m.i_bias.grad[0] > 0)                 # more bias, more spikes
    True
    """

    def __init__(self, network, drives=(), dt=1e-4, *, stimulus_dt=None, n_channels=None,
                 trainable=("weights",), surrogate=None, dtype=torch.float32, device="cpu",
                 surrogate_tau=1e-3, sparse=None):
        super().__init__()
        if not isinstance(network, Network):
            raise ValidationError(f"SpikingNetworkModule.network: expected a neuroattn.model."
                                  f"Network (got {type(network).__name__})")
        dt = to_si(dt, "s", "SpikingNetworkModule.dt")
        check_positive(dt, "s", "SpikingNetworkModule.dt")
        spec = check_run(network, None, dt, dt)
        drives = tuple(drives)
        for d in drives:
            if not isinstance(d, Drive):
                raise ValidationError(f"SpikingNetworkModule.drives: expected Drive objects "
                                      f"(got {type(d).__name__})")
        if n_channels is None:
            n_channels = 1 + max((d.channel for d in drives), default=-1)
        for d in drives:
            d.validate(n_channels, {p.name for p in network.populations})
        stimulus_dt = dt if stimulus_dt is None else to_si(stimulus_dt, "s",
                                                           "SpikingNetworkModule.stimulus_dt")
        ratio = stimulus_dt / dt
        self.steps_per_row = int(round(ratio))
        if self.steps_per_row < 1 or abs(ratio - self.steps_per_row) > 1e-6 * ratio:
            raise ValidationError(f"SpikingNetworkModule.stimulus_dt: must be a whole multiple "
                                  f"of dt={dt:g} s (got {stimulus_dt:g} s)")
        trainable = tuple(trainable)
        for name in trainable:
            if name not in TRAINABLE:
                raise ValidationError(f"SpikingNetworkModule.trainable: unknown quantity "
                                      f"{name!r}; expected some of {sorted(TRAINABLE)}")
        if "v_th" in trainable and not any(p.params.kind == "lif" for p in network.populations):
            raise ValidationError("SpikingNetworkModule.trainable: 'v_th' needs a LIF "
                                  "population (got only escape populations); train "
                                  "'i_bias' instead")
        self.network, self.drives, self.dt = network, drives, dt
        self.trainable = trainable
        self.surrogate = _surrogate.fast_sigmoid(slope=25) if surrogate is None else surrogate
        self.surrogate_tau = to_si(surrogate_tau, "s", "SpikingNetworkModule.surrogate_tau")
        check_positive(self.surrogate_tau, "s", "SpikingNetworkModule.surrogate_tau")
        self.sparse = sparse
        self.units = network.rate_units()
        self.steps_per_bin, self.bin_width = spec.steps_per_bin, spec.bin_width
        self.layout = build_layout(network, drives, dt, n_channels, "tau_syn" in trainable)
        self.groups = make_groups(self.layout.blocks, sparse)
        dtype, device = _check_dtype(dtype), _check_device(device)
        self._build_tensors(dtype, device)

    # ---------------------------------------------------------------- tensors --------------
    def _build_tensors(self, dtype, device) -> None:
        lay = self.layout
        kw = dict(dtype=dtype, device=device)
        for name in ("i_bias", "tau_mem", "v_th"):
            self._register(name, lay.params[name], kw)
        self._register("tau_syn", np.array([pr.tau_syn for pr in self.network.projections]), kw)
        if "weights" in self.trainable:
            self.weights = nn.ParameterList(
                [nn.Parameter(torch.tensor(b.magnitude / 1e-12, **kw)) for b in lay.blocks])
        else:
            for j, b in enumerate(lay.blocks):
                self.register_buffer(f"_weight{j}", torch.tensor(b.magnitude, **kw),
                                     persistent=False)
        self.register_buffer("_sign", torch.tensor([b.sign for b in lay.blocks], **kw),
                             persistent=False)
        for k, g in enumerate(self.groups):
            for key in _INDEX:
                self.register_buffer(f"_g{k}_{key}", torch.as_tensor(getattr(g, key),
                                                                     device=device),
                                     persistent=False)
        membership = np.zeros((lay.n, len(self.units)))
        for u, name in enumerate(self.units):
            membership[lay.slice(name), u] = 1.0
        self.register_buffer("_membership", torch.tensor(membership, **kw), persistent=False)

    def _register(self, name, values, kw) -> None:
        if name in self.trainable:
            scale = TRAINABLE[name][2]
            finite = np.where(np.isfinite(values), values, 0.0)
            setattr(self, name, nn.Parameter(torch.tensor(finite / scale, **kw)))
        else:
            self.register_buffer(name, torch.tensor(values, **kw))

    @property
    def dtype(self) -> torch.dtype:
        """Floating dtype of the simulation."""
        return self._membership.dtype

    @property
    def device(self) -> torch.device:
        """Device the module lives on."""
        return self._membership.device

    def si(self, name: str) -> torch.Tensor:
        """The quantity ``name`` (``'i_bias'``, ``'tau_mem'``, ``'v_th'``, ``'tau_syn'``) in SI."""
        value = getattr(self, name)
        return value * TRAINABLE[name][2] if name in self.trainable else value

    def signed_weights(self, j: int) -> torch.Tensor:
        """Signed weights (A) of projection ``j``'s synapses, in ``connections()`` order."""
        if "weights" in self.trainable:
            return self.weights[j] * (self._sign[j] * 1e-12)
        return getattr(self, f"_weight{j}") * self._sign[j]

    # ------------------------------------------------------------ coefficients -------------
    def coefficients(self) -> Coefficients:
        """Per-neuron constants of a simulation, from the current parameter values."""
        lay, dt = self.layout, self.dt
        kw = dict(dtype=self.dtype, device=self.device)
        pop_of = torch.as_tensor(lay.pop_of, device=self.device)
        p = lay.params
        is_lif = np.array([k == "lif" for k in lay.kinds])
        tau_m = self.si("tau_mem")
        if "tau_mem" in self.trainable:
            bad = (tau_m.detach() <= 0).nonzero()
            if bad.numel():
                i = int(bad[0, 0])
                raise ValidationError(
                    f"SpikingNetworkModule.tau_mem: population {lay.names[i]!r} went to "
                    f"{float(tau_m[i]):g} s during training; must be > 0 s (lower the learning "
                    "rate or clamp the parameter)")
        port_tau = self._port_tau()
        if "tau_mem" in self.trainable or "tau_syn" in self.trainable:
            em = torch.exp(-dt / tau_m)
            k = _kernel(port_tau[:, None], tau_m[None, :], dt)
            ou = torch.as_tensor(np.nan_to_num(p["sigma"]), **kw) * torch.sqrt(
                -torch.expm1(-2.0 * dt / tau_m))
            decay = torch.exp(-dt / port_tau)
        else:
            # tau_syn is not trained here, so the ports' constants are the layout's, in
            # float64 as Python floats: not port_tau, which is already cast to the module
            # dtype. A float32 tau_syn = tau_mem misses synaptic_kernel's equal-tau branch
            # (it differs from tau_mem by 1e-10 s) and, -dt/tau being evaluated in float32,
            # gave K the wrong sign: an inhibitory port onto neurons with tau_mem =
            # tau_syn turned excitatory.
            taus = [float(t) for t in lay.port_tau]
            em = torch.tensor([math.exp(-dt / t) for t in p["tau_mem"]], **kw)
            k = torch.tensor(np.array([[synaptic_kernel(tu, tm, dt) for tm in p["tau_mem"]]
                                       for tu in taus]).reshape(len(taus), len(lay.names)),
                             **kw)
            ou = torch.tensor([ou_noise_scale(s, t, dt) if s > 0 else 0.0
                               for s, t in zip(np.nan_to_num(p["sigma"]), p["tau_mem"])], **kw)
            decay = torch.tensor([math.exp(-dt / t) for t in taus], **kw)
        r_m = torch.as_tensor(p["r_m"], **kw)
        v_th = torch.where(torch.as_tensor(is_lif, device=self.device),
                           torch.nan_to_num(self.si("v_th")), 0.0)
        scale = np.where(is_lif, p["v_th"] - p["v_reset"], 1.0)

        def nb(x, fill):  # per-population numpy -> per-neuron tensor, NaN -> fill
            return torch.as_tensor(np.where(np.isfinite(x), x, fill), **kw)[pop_of]

        return Coefficients(
            em=em[pop_of], rk=(r_m[None, :] * k)[:, pop_of], decay=decay[:, None],
            ou=ou[pop_of], v_th=v_th[pop_of], v_reset=nb(p["v_reset"], 0.0),
            v_scale=nb(scale, 1.0),
            ref_steps=torch.as_tensor(lay.ref_steps, device=self.device)[pop_of],
            theta=nb(p["theta"], 0.0), delta_u=nb(p["delta_u"], 1.0), rho0=nb(p["rho0"], 0.0),
            reset=torch.as_tensor(lay.reset, device=self.device)[pop_of],
            is_lif=torch.as_tensor(is_lif, device=self.device)[pop_of]
            if lay.has_lif and lay.has_escape else None,
            has_lif=lay.has_lif, has_escape=lay.has_escape,
            grad_scale=dt / self.surrogate_tau)

    def _port_tau(self) -> torch.Tensor:
        """Time constant (s) of every port; trained ones come from ``tau_syn``."""
        kw = dict(dtype=self.dtype, device=self.device)
        taus = torch.as_tensor(self.layout.port_tau, **kw)
        if "tau_syn" not in self.trainable:
            return taus
        tau_syn = self.si("tau_syn")
        parts = [tau_syn[j] if j is not None else taus[u]
                 for u, j in enumerate(self.layout.port_projection)]
        out = torch.stack(parts) if parts else taus
        bad = (out.detach() <= 0).nonzero()
        if bad.numel():
            raise ValidationError(f"SpikingNetworkModule.tau_syn: went to "
                                  f"{float(out[int(bad[0, 0])]):g} s during training; must be "
                                  "> 0 s (lower the learning rate or clamp the parameter)")
        return out

    def matrices(self) -> tuple:
        """Weight matrix of each synapse group (dense, or CSR of the transpose)."""
        out = []
        for k, g in enumerate(self.groups):
            values = torch.cat([self.signed_weights(j) for j in g.blocks])
            index = {key: getattr(self, f"_g{k}_{key}") for key in _INDEX}
            out.append(group_matrix(g, values, index))
        return tuple(out)

    def v_inf_base(self):
        """``(v_rest + r_m i_bias, r_m)`` per neuron, V and ohm."""
        kw = dict(dtype=self.dtype, device=self.device)
        pop_of = torch.as_tensor(self.layout.pop_of, device=self.device)
        r_m = torch.as_tensor(self.layout.params["r_m"], **kw)[pop_of]
        v_rest = torch.as_tensor(self.layout.params["v_rest"], **kw)[pop_of]
        return v_rest, r_m, self.si("i_bias")[pop_of]

    # ---------------------------------------------------------------- running --------------
    def forward(self, values, seed: int = 0, duration=None) -> torch.Tensor:
        """Simulate one trial per row of ``values``; return rates [trials, bins, units] (Hz).

        Parameters
        ----------
        values : Tensor [trials, rows, channels]
            Input values; each row holds for ``stimulus_dt`` seconds, then 0.
        seed : int
            Trial t draws from generators seeded by ``(seed, t)``.
        duration : float, seconds
            Default: ``rows * stimulus_dt``.
        """
        n_steps = None if duration is None else _n_steps(duration, self.dt)
        return _loop.simulate(self, values, seed, n_steps).rates

    def simulate(self, values, seed: int = 0, n_steps=None, *, first_trial: int = 0,
                 record: bool = False, progress: bool = False, grid=None):
        """Run the network; return ``Output(rates, spikes, v)`` (see ``_loop.simulate``;
        ``grid``: a resolved fixed-point state grid, ``_common.GridArrays``, or None)."""
        return _loop.simulate(self, values, seed, n_steps, first_trial=first_trial,
                              record=record, progress=progress, grid=grid)

    # ---------------------------------------------------------------- export ---------------
    def to_network(self, name=None) -> Network:
        """The Network with the current (trained) values in SI, for any backend.

        Quantities not in ``trainable`` keep their original values exactly.

        Raises
        ------
        ValidationError
            If a trained value cannot be expressed in the description (see
            ``_export.to_network``).
        """
        return to_network(self, name)


def _kernel(tau_s, tau_m, dt):
    """K(tau_s, tau_m) of ``_membrane.synaptic_kernel``, stable near tau_s = tau_m.

    With a = dt/tau_m, b = dt/tau_s: ``K = a e^{-b} (1 - e^{-(a-b)}) / (a - b)``.
    """
    a, b = dt / tau_m, dt / tau_s
    x = a - b
    small = x.abs() < 1e-6
    x_safe = torch.where(small, torch.ones_like(x), x)
    phi = torch.where(small, 1.0 - 0.5 * x, -torch.expm1(-x_safe) / x_safe)
    return a * torch.exp(-b) * phi


def _n_steps(duration, dt) -> int:
    duration = to_si(duration, "s", "SpikingNetworkModule.duration")
    check_positive(duration, "s", "SpikingNetworkModule.duration")
    return max(int(round(duration / dt)), 1)


def _check_dtype(dtype) -> torch.dtype:
    table = {"float32": torch.float32, "float64": torch.float64, torch.float32: torch.float32,
             torch.float64: torch.float64}
    try:
        return table[dtype]
    except (KeyError, TypeError):
        raise ValidationError(f"torch backend dtype: expected 'float32' or 'float64' "
                              f"(got {dtype!r})") from None


def _check_device(device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValidationError(f"torch backend device: expected 'cpu', 'cuda' or 'cuda:N' "
                              f"(got {device!r})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BackendUnavailable(f"torch backend: device {str(device)!r} needs CUDA, which this "
                                 f"torch ({torch.__version__}) cannot use here; pass "
                                 "device='cpu'")
    if dev.type not in ("cpu", "cuda"):
        raise BackendUnavailable(f"torch backend: device type {dev.type!r} is not supported; "
                                 "use 'cpu' or 'cuda'")
    return dev
