"""The global workspace's softmax tier: differentiable torch modules.

* :class:`SharedWorkspace` -- a shared global workspace in the manner of Goyal et al.
  (2022) for any set of module states: ``n_slots`` workspace slots read the modules
  through cross-attention in which the modules compete to write (only the ``top_k``
  best-scoring modules may write, through a low-temperature softmax or, with
  ``hard=True``, one module drawn per slot by the project's hard-attention kernel), and
  every module then reads the slots back through a second cross-attention (the
  broadcast), added to its state with a learnable ``broadcast_gain``.
* :class:`WorkspaceLayer` -- the workspace as the tasks run it, the rate-level
  counterpart of :class:`~neuroattn.mechanisms.workspace.circuits.WorkspaceCircuit`.
  Per item k, a processor ``p_k`` (evidence low-pass filtered with ``tau_proc``), a slow
  ignition trace ``s_k`` (``tau_slow``: the NMDA-like reverberation) and an adaptation
  ``a_k`` (``tau_adapt``). At every step the items compete for the workspace against a
  null competitor at the ignition threshold::

      v_k = b_k + recurrent s_k - lateral sum_{j != k} h_j
            - adapt_gain max(a_k - adapt_onset, 0) / (1 - adapt_onset)
      o   = softmax([z_1 .. z_K, threshold] / temperature)[:K],  z_k = input_gain p_k + v_k
      u_k = softmax([v_k, 1 + recurrent no_return] / hold_temperature)[0]   (the hold)
      w_k = o_k + u_k - o_k u_k                                        (the write)
      tau_slow  ds/dt = w - s,     tau_adapt da/dt = s - a,     tau_lateral dq/dt = s - q
      m_k = mean_{j != k} max(p_j, 0),   x_k = max(m_k - compete_onset, 0) / (1 - compete_onset)
      tau_compete dc_k/dt = x_k (1 + h) / (1 + h x_k) - c_k      (the competitors' pool;
                                                       h = compete_saturation)
      g_k = [max((q_k + competition c_k) / (1 + competition) - lateral_onset, 0)
             / (1 - lateral_onset)] ^ lateral_power,     tau_block dh/dt = g - h
      r_k = rate * s_k

  ``recurrent`` makes an ignited item self-sustaining (all-or-none at low
  temperature); with ``no_return``, an item whose reverberation alone (its bias and
  ``recurrent s_k``, no input) passes the hold's key keeps writing without taking
  another item's share, as an ignited assembly of the circuit sustains itself past the
  unstable point of its loop: a target's point of no return is ``no_return`` of an
  ignition (0: no hold, ``w = o``); ``lateral`` lets it block the others -- through
  the trace ``q``, which lags the ignition by ``tau_lateral`` (an item that arrives
  while another is still igniting can ignite too) and, with ``competition``, needs a
  competitor's processor to be driven while the item is ignited --, ``adapt_gain``
  ends it. The write weights go through
  :func:`neuroattn.attention.scaled_dot_product_attention`: one query attends over keys
  that are the logits, with the threshold as a null key (the hold: one query per item
  over its own logit and the hold's key).
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from neuroattn.exceptions import ValidationError
from neuroattn.mechanisms._layer import MechanismLayer
from neuroattn.mechanisms.workspace.params import WorkspaceParams

__all__ = ["SharedWorkspace", "WorkspaceLayer"]


def _check_tensor(t, where: str, dims: int) -> None:
    if not isinstance(t, torch.Tensor) or not t.dtype.is_floating_point or t.dim() != dims:
        got = (f"dtype {t.dtype}, shape {tuple(t.shape)}" if isinstance(t, torch.Tensor)
               else type(t).__name__)
        raise ValidationError(f"{where}: expected a floating-point torch.Tensor with {dims} "
                              f"dimensions (got {got})")


class SharedWorkspace(nn.Module):
    """Modules write to a few shared slots by competition; the slots are broadcast back.

    Parameters
    ----------
    dim : int
        Width of a module's state.
    n_slots : int
        Workspace slots (>= 1).
    top_k : int
        Modules allowed to write at each step (1 <= top_k); more than the number of
        modules means all of them.
    temperature : float
        Softmax temperature of the write competition (> 0; low: near-hard).
    hard : bool
        Each slot takes exactly one module, drawn from the write weights by
        :func:`neuroattn.attention.hard_attention` (not differentiable in the choice).
    broadcast_gain : float
        Initial gain of the broadcast added to each module's state (learnable).
    seed : int
        Seed of the hard draws.
    attention_backend : str or None
        Backend of :func:`neuroattn.attention.scaled_dot_product_attention`.

    Examples
    --------
    >>> import torch
    >>> from neuroattn.mechanisms.workspace import SharedWorkspace
    >>> ws = SharedWorkspace(dim=8, n_slots=2, top_k=1).double()
    >>> h = torch.randn(3, 5, 8, dtype=torch.float64)
    >>> out, slots, writes = ws(h)
    >>> tuple(out.shape), tuple(slots.shape), tuple(writes.shape)
    ((3, 5, 8), (3, 2, 8), (3, 2, 5))
    >>> int((writes.sum(1) > 0).sum(-1).max())      # one module wrote
    1
    """

    def __init__(self, dim: int, n_slots: int = 2, top_k: int = 1, temperature: float = 1.0,
                 hard: bool = False, broadcast_gain: float = 1.0, seed: int = 0,
                 attention_backend: str | None = None):
        from neuroattn.attention.dispatch import check_layer_backend
        from neuroattn.model.units import check_int

        check_int(dim, "SharedWorkspace.dim", minimum=1)
        check_int(n_slots, "SharedWorkspace.n_slots", minimum=1)
        check_int(top_k, "SharedWorkspace.top_k", minimum=1)
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or \
                not math.isfinite(temperature) or temperature <= 0:
            raise ValidationError(f"SharedWorkspace.temperature: must be a finite number > 0 "
                                  f"(got {temperature!r})")
        check_layer_backend(attention_backend, "SharedWorkspace")
        super().__init__()
        self.dim, self.n_slots, self.top_k = dim, n_slots, top_k
        self.temperature, self.hard, self.seed = float(temperature), bool(hard), seed
        self.attention_backend = attention_backend
        self.slots = nn.Parameter(torch.randn(n_slots, dim) / math.sqrt(dim))
        self.write_q = nn.Linear(dim, dim, bias=False)
        self.write_k = nn.Linear(dim, dim, bias=False)
        self.write_v = nn.Linear(dim, dim, bias=False)
        self.read_q = nn.Linear(dim, dim, bias=False)
        self.read_k = nn.Linear(dim, dim, bias=False)
        self.read_v = nn.Linear(dim, dim, bias=False)
        self.broadcast_gain = nn.Parameter(torch.tensor(float(broadcast_gain)))

    def _backend(self) -> str:
        from neuroattn.attention.dispatch import layer_backend

        return layer_backend(self, self.attention_backend)

    def write_weights(self, h: torch.Tensor) -> torch.Tensor:
        """Write weights [batch, n_slots, n_modules]: each slot's attention over the
        modules, restricted to the ``top_k`` modules with the largest total weight."""
        from neuroattn.attention import attention_weights

        q = self.write_q(self.slots).expand(h.shape[0], -1, -1)
        k = self.write_k(h)
        scale = 1.0 / math.sqrt(self.dim)
        w = attention_weights(q, k, scale=scale, temperature=self.temperature)
        n = h.shape[1]
        if self.top_k < n:
            score = w.sum(dim=1)                                   # [batch, n_modules]
            keep = torch.zeros_like(score, dtype=torch.bool)
            keep.scatter_(1, score.topk(self.top_k, dim=1).indices, True)
            w = attention_weights(q, k, scale=scale, temperature=self.temperature,
                                  mask=keep[:, None, :])
        return w

    def forward(self, h: torch.Tensor):
        """``(h + broadcast_gain * read, slots, write weights)`` for module states
        ``h`` [batch, n_modules, dim]."""
        from neuroattn.attention import hard_attention, scaled_dot_product_attention

        _check_tensor(h, "SharedWorkspace.forward.h", 3)
        if h.shape[-1] != self.dim:
            raise ValidationError(f"SharedWorkspace.forward.h: expected last dimension "
                                  f"{self.dim} (got {h.shape[-1]})")
        h = h.to(self.slots.dtype)
        w = self.write_weights(h)
        v = self.write_v(h)
        if self.hard:
            n = h.shape[1]
            keep = w.sum(dim=1) > 0                                 # the top-k modules
            q = self.write_q(self.slots).expand(h.shape[0], -1, -1)
            drawn = hard_attention(q.detach(), self.write_k(h).detach(),
                                   torch.eye(n, dtype=h.dtype).expand(h.shape[0], n, n),
                                   mask=keep[:, None, :], scale=1.0 / math.sqrt(self.dim),
                                   temperature=self.temperature, seed=self.seed)
            w = drawn.values[0]                                     # one-hot [b, slots, n]
            slots = w @ v
        else:
            q = self.write_q(self.slots).expand(h.shape[0], -1, -1)
            mask = w > 0
            slots = scaled_dot_product_attention(q, self.write_k(h), v, mask=mask,
                                                 scale=1.0 / math.sqrt(self.dim),
                                                 temperature=self.temperature,
                                                 backend=self._backend())
        read = scaled_dot_product_attention(self.read_q(h), self.read_k(slots),
                                            self.read_v(slots), backend=self._backend())
        return h + self.broadcast_gain * read, slots, w


@contextmanager
def one_thread():
    """Run torch (and numba, if loaded) on one thread inside the block, then restore
    the thread counts.

    The layer steps every few ms on tensors of a few thousand numbers at most: a second
    thread has nothing to share, and handing each such op (the write's attention above
    all) to a thread pool costs more than the op -- per attention call on a 2-core
    machine, 0.31 against 7.8 ms of CPU time on torch's attention backend and 0.94
    against 23 ms on numba's (40 trials), and far more wall time when the cores are
    busy, as every op then waits for the pool's other thread. Results are the same: the
    ops are too small to be split.
    """
    import sys

    numba = sys.modules.get("numba")
    n_torch = torch.get_num_threads()
    n_numba = numba.get_num_threads() if numba is not None else 1
    torch.set_num_threads(1)
    if n_numba > 1:
        numba.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n_torch)
        if n_numba > 1:
            numba.set_num_threads(n_numba)


class WorkspaceLayer(MechanismLayer):
    """The workspace's competition, ignition and adaptation at rate level (see module).

    Parameters
    ----------
    params : WorkspaceParams
    attention_backend : str or None
        Backend of ``scaled_dot_product_attention``; None: numba without gradients, torch
        with them.
    dtype : torch.dtype
        Floating dtype of the parameters and the computation (default float64).
    max_step : float, seconds
        Longest update step (4 ms): the layer updates every ``floor(max_step / dt)``
        input rows, on their mean (exact filters for inputs constant over a step), and
        holds its rates in between.

    Examples
    --------
    >>> import torch
    >>> from neuroattn.mechanisms.workspace import WorkspaceParams, WorkspaceLayer
    >>> p = WorkspaceParams(k=2, temperature=0.1, threshold=1.0, input_gain=1.5,
    ...                     recurrent=4.0, lateral=3.0, adapt_gain=0.0, rate=60.0)
    >>> x = torch.zeros(1, 400, 2, dtype=torch.float64); x[:, 50:150, 0] = 1.0
    >>> r = WorkspaceLayer(p)(x, torch.ones_like(x) * 0.5, dt=1e-3)
    >>> bool(r[0, -1, 0] > 50), bool(r[0, -1, 1] < 1)     # item 0 ignited and holds
    (True, True)
    """

    def __init__(self, params: WorkspaceParams, attention_backend=None, *,
                 dtype=torch.float64, device=None, max_step: float = 4e-3):
        if isinstance(max_step, bool) or not isinstance(max_step, (int, float)) or not \
                math.isfinite(max_step) or max_step <= 0:
            raise ValidationError(f"WorkspaceLayer.max_step: must be a finite time > 0 s "
                                  f"(got {max_step!r})")
        super().__init__(params, WorkspaceParams, None, attention_backend, dtype,
                         device, "WorkspaceLayer")
        self.log_temperature = self._parameter(math.log(params.temperature))
        self.threshold = self._parameter(float(params.threshold))
        self.input_gain = self._parameter(float(params.input_gain))
        self.recurrent = self._parameter(float(params.recurrent))
        self.lateral = self._parameter(float(params.lateral))
        self.adapt_gain = self._parameter(float(params.adapt_gain))
        self.log_rate = self._parameter(math.log(params.rate))
        self.adapt_onset = float(params.adapt_onset)
        self.lateral_onset = float(params.lateral_onset)
        self.lateral_power = float(params.lateral_power)
        self.competition = self._parameter(float(params.competition))
        self.compete_onset = float(params.compete_onset)
        self.compete_saturation = self._parameter(float(params.compete_saturation))
        self.no_return = float(params.no_return)   # structural: without a hold, w = o
        # the hold's own temperature (its resting write); None: the competition's
        self.log_hold_temperature = (self._parameter(math.log(params.hold_temperature))
                                     if params.hold_temperature > 0 else None)
        # the circuit's per-trial state of its blocking interneurons, and how far it
        # moves the inhibition's onset (the agent draws it and passes ``state``)
        state = params.trial_state()
        self.trial_state = () if state is None else (state,)
        self.state_mean, self.state_sd = float(params.state_mean), float(params.state_sd)
        self.state_onset = float(params.state_onset)
        self.max_step = float(max_step)
        self.log_taus = self._parameter([math.log(params.tau_proc), math.log(params.tau_slow),
                                         math.log(params.tau_adapt),
                                         math.log(params.tau_lateral),
                                         math.log(params.tau_compete),
                                         math.log(params.tau_block)])

    def write(self, z: torch.Tensor) -> torch.Tensor:
        """Write weights [n, K] of logits ``z`` [n, K] against the null key (the ignition
        threshold), at the layer's temperature."""
        from neuroattn.attention import scaled_dot_product_attention

        n = z.shape[0]
        keys = torch.cat([z, self.threshold.to(z.dtype).expand(n, 1)], dim=1)[..., None]
        keys = keys / torch.exp(self.log_temperature).to(z.dtype)
        m = self.k + 1
        v = torch.eye(m, self.k, dtype=z.dtype, device=z.device).expand(n, m, self.k)
        q = torch.ones(n, 1, 1, dtype=z.dtype, device=z.device)
        out = scaled_dot_product_attention(q, keys, v, scale=1.0, backend=self._backend())
        return out[:, 0]

    def hold_write(self, v: torch.Tensor, hold_shift=None) -> torch.Tensor:
        """Each item's hold [n, K] for its reverberation's logits ``v`` [n, K]: one query
        per item over two keys, the item's logit and the hold's key ``1 + recurrent
        no_return - hold_shift``, at the hold's temperature (``hold_temperature``; 0: the
        layer's). ``hold_shift``: None (0), a
        float, or a tensor [n, 1] (one shift per row; see :meth:`forward`)."""
        return self._hold(v, self._hold_key(v.shape[0], v.shape[1], hold_shift, v))

    def _hold_key(self, n: int, k: int, hold_shift, like: torch.Tensor) -> torch.Tensor:
        """The hold's key for each of the ``n`` x ``k`` items, [n k, 1]: the same at every
        step of a forward pass, so :meth:`_steps` makes it once."""
        key = 1.0 + self.recurrent * self.no_return
        if hold_shift is not None:
            key = key - hold_shift
        key = torch.as_tensor(key, dtype=like.dtype, device=like.device)
        key = key.expand(n, 1) if key.dim() == 2 else key.reshape(1, 1).expand(n, 1)
        return key.repeat_interleave(k, dim=0)

    def _hold(self, v: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        """:meth:`hold_write` with the key column from :meth:`_hold_key`."""
        from neuroattn.attention import scaled_dot_product_attention

        n, k = v.shape
        keys = torch.cat([v.reshape(n * k, 1), key], dim=1)
        log_t = (self.log_temperature if self.log_hold_temperature is None
                 else self.log_hold_temperature)
        keys = (keys / torch.exp(log_t).to(v.dtype))[..., None]
        vals = torch.eye(2, 1, dtype=v.dtype, device=v.device).expand(n * k, 2, 1)
        q = torch.ones(n * k, 1, 1, dtype=v.dtype, device=v.device)
        out = scaled_dot_product_attention(q, keys, vals, scale=1.0,
                                           backend=self._backend())
        return out[:, 0, 0].reshape(n, k)

    def _pooled(self, mean: torch.Tensor) -> torch.Tensor:
        """The competitors' drive for their mean evidence: above ``compete_onset``, as a
        fraction ``x`` of one unit's, ``x (1 + h) / (1 + h x)`` (1 at one unit)."""
        x = torch.relu(mean - self.compete_onset) / (1.0 - self.compete_onset)
        h = torch.relu(self.compete_saturation)
        return x * (1.0 + h) / (1.0 + h * x)

    def forward(self, x: torch.Tensor, b: torch.Tensor, dt: float,
                hold_shift=None, state=None) -> torch.Tensor:
        """Rates (Hz) [trials, steps, K] for evidence and bias [trials, steps, K].

        ``state`` (None, or a tensor [trials, 1] or [trials]): the circuit's per-trial
        state of its blocking interneurons (amperes, as :attr:`trial_state` draws it);
        trial t's inhibition is recruited at ``lateral_onset - state_onset state[t]``
        (held in [0, 0.95]). None: at ``lateral_onset`` (the circuit at rest).

        ``hold_shift`` (None, a float, or a tensor [trials] or [trials, 1]): how far the
        hold's key ``1 + recurrent no_return`` is lowered, per trial (None: not at all).
        The key is tied to the biases, not to the threshold: a caller that lowers the
        biases of a trial by d to raise its threshold by d (the bridge's threshold
        search) lowers its hold's key by d with them. No effect without a hold
        (``no_return`` 0)."""
        where = "WorkspaceLayer.forward"
        _check_tensor(x, f"{where}.x", 3)
        _check_tensor(b, f"{where}.b", 3)
        if x.shape != b.shape or x.shape[-1] != self.k:
            raise ValidationError(f"{where}: expected x and b of shape [trials, steps, "
                                  f"{self.k}] (got {tuple(x.shape)} and {tuple(b.shape)})")
        if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not math.isfinite(dt) \
                or dt <= 0:
            raise ValidationError(f"{where}.dt: must be a finite time step > 0 s (got {dt!r})")
        dtype = self.log_rate.dtype
        x, b = x.to(dtype), b.to(dtype)
        n, steps, k = x.shape
        hold_shift = self._hold_shift(hold_shift, n, dtype, x.device)
        onset = self._onset(state, n, dtype, x.device)
        # the layer's time constants are >= 10 ms: it steps every ``per`` rows (at most
        # ``max_step``), on the inputs averaged over them, and holds its rates between
        per = max(1, min(steps, int(self.max_step / dt + 1e-9)))
        blocks = -(-steps // per)
        pad = blocks * per - steps
        if pad:
            x = torch.cat([x, x[:, -1:].expand(n, pad, k)], dim=1)
            b = torch.cat([b, b[:, -1:].expand(n, pad, k)], dim=1)
        x = x.reshape(n, blocks, per, k).mean(dim=2)
        b = b.reshape(n, blocks, per, k).mean(dim=2)
        alpha = 1.0 - torch.exp(-per * dt / torch.exp(self.log_taus))
        p = torch.zeros(n, k, dtype=dtype, device=x.device)
        state = (p, torch.zeros_like(p), torch.zeros_like(p), torch.zeros_like(p),
                 torch.zeros_like(p), torch.zeros_like(p))
        if torch.compiler.is_compiling():         # a compiled graph sets no thread count
            rates = self._steps(x, b, alpha, state, hold_shift, onset)
        else:
            with one_thread():
                rates = self._steps(x, b, alpha, state, hold_shift, onset)
        return rates.repeat_interleave(per, dim=1)[:, :steps]

    def _onset(self, state, n: int, dtype, device):
        """The inhibition's onset: the float ``lateral_onset`` (``state`` None), or per
        trial [n, 1] for the circuit's per-trial state ``state`` [n] or [n, 1] (A)."""
        where = "WorkspaceLayer.forward.state"
        if state is None:
            return self.lateral_onset
        if not isinstance(state, torch.Tensor) or tuple(state.shape) not in ((n,), (n, 1)):
            got = (f"shape {tuple(state.shape)}" if isinstance(state, torch.Tensor)
                   else type(state).__name__)
            raise ValidationError(f"{where}: expected None or a tensor of shape [{n}] or "
                                  f"[{n}, 1], one state (A) per trial (got {got})")
        if not bool(torch.isfinite(state).all()):
            raise ValidationError(f"{where}: must be finite (got non-finite values)")
        x = state.to(dtype=dtype, device=device).reshape(n, 1)
        return (self.lateral_onset - self.state_onset * x).clamp(0.0, 0.95)

    @staticmethod
    def _hold_shift(shift, n: int, dtype, device):
        """``hold_shift`` of :meth:`forward` checked, as None or a tensor [n, 1]."""
        where = "WorkspaceLayer.forward.hold_shift"
        if shift is None:
            return None
        if isinstance(shift, bool):
            raise ValidationError(f"{where}: expected None, a float or a tensor of shape "
                                  f"[{n}] or [{n}, 1] (got {shift!r})")
        if isinstance(shift, (int, float)):
            if not math.isfinite(shift):
                raise ValidationError(f"{where}: must be finite (got {shift!r})")
            return torch.full((n, 1), float(shift), dtype=dtype, device=device)
        if not isinstance(shift, torch.Tensor):
            raise ValidationError(f"{where}: expected None, a float or a tensor of shape "
                                  f"[{n}] or [{n}, 1] (got {type(shift).__name__})")
        if tuple(shift.shape) not in ((n,), (n, 1)):
            raise ValidationError(f"{where}: expected shape [{n}] or [{n}, 1] (got "
                                  f"{tuple(shift.shape)})")
        if not bool(torch.isfinite(shift).all()):
            raise ValidationError(f"{where}: must be finite (got non-finite values)")
        return shift.to(dtype=dtype, device=device).reshape(n, 1)

    def _steps(self, x, b, alpha, state, hold_shift=None, onset=None):
        """The step loop of :meth:`forward`: rates (Hz) [trials, blocks, K] for the
        block-averaged inputs ``x``, ``b``, the update fractions ``alpha``, the hold's
        key shift ``hold_shift`` (None or [trials, 1]) and the inhibition's onset
        ``onset`` (None: ``lateral_onset``; a float or [trials, 1])."""
        onset = self.lateral_onset if onset is None else onset
        p, s, a, q, c, h = state
        k = self.k
        hold_key = (self._hold_key(p.shape[0], k, hold_shift, p) if self.no_return > 0
                    else None)
        comp = torch.relu(self.competition)
        out = []
        for t in range(x.shape[1]):
            p = p + alpha[0] * (x[:, t] - p)
            others = h.sum(dim=1, keepdim=True) - h
            v = (b[:, t] + self.recurrent * s - self.lateral * others
                 - self.adapt_gain * torch.relu(a - self.adapt_onset) / (1 - self.adapt_onset))
            o = self.write(self.input_gain * p + v)
            if hold_key is not None:
                u = self._hold(v, hold_key)
                o = o + u - o * u
            s = s + alpha[1] * (o - s)
            a = a + alpha[2] * (s - a)
            q = q + alpha[3] * (s - q)
            pos = torch.relu(p)
            mean = (pos.sum(dim=1, keepdim=True) - pos) / max(k - 1, 1)
            c = c + alpha[4] * (self._pooled(mean) - c)
            g = torch.relu((q + comp * c) / (1 + comp) - onset) / (1 - onset)
            if self.lateral_power != 1.0:
                g = g.clamp_min(1e-12) ** self.lateral_power
            h = h + alpha[5] * (g - h)
            out.append(s)
        return torch.exp(self.log_rate) * torch.stack(out, dim=1)

    def params(self) -> WorkspaceParams:
        """The current parameters as a WorkspaceParams."""
        def val(t):
            return float(t.detach().item())

        taus = np.exp(self.log_taus.detach().cpu().numpy())
        return WorkspaceParams(k=self.k, temperature=math.exp(val(self.log_temperature)),
                               threshold=val(self.threshold),
                               input_gain=max(val(self.input_gain), 0.0),
                               recurrent=max(val(self.recurrent), 0.0),
                               lateral=max(val(self.lateral), 0.0),
                               adapt_gain=max(val(self.adapt_gain), 0.0),
                               rate=math.exp(val(self.log_rate)),
                               adapt_onset=self.adapt_onset, tau_proc=float(taus[0]),
                               tau_slow=float(taus[1]), tau_adapt=float(taus[2]),
                               lateral_onset=self.lateral_onset,
                               lateral_power=self.lateral_power,
                               tau_lateral=float(taus[3]),
                               competition=max(val(self.competition), 0.0),
                               compete_onset=self.compete_onset,
                               compete_saturation=max(val(self.compete_saturation), 0.0),
                               tau_compete=float(taus[4]), tau_block=float(taus[5]),
                               no_return=self.no_return,
                               hold_temperature=(0.0 if self.log_hold_temperature is None
                                                 else math.exp(val(self.log_hold_temperature))),
                               state_mean=self.state_mean,
                               state_sd=self.state_sd, state_onset=self.state_onset)
