"""Counter-based random numbers for the Numba engine.

Every draw is a pure function of (trial key, neuron, step, stream, attempt):
Philox4x32-10 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3")
encrypts the counter ``(neuron, step, stream, attempt)`` under the trial's 64-bit key.
The key comes from the trial's numpy generator ``trial_rng(seed, t)`` (drawn after the
initial potentials), so trial t's draws never depend on the batch, the thread or the
loop order, and loops over neurons or over trials vectorise (there is no sequential
generator state).

One Philox call yields 128 bits (``pair``: two 64-bit words). Uniforms take 53 bits, so
a call serves two neighbouring neurons. Normal draws use the ziggurat of Marsaglia &
Tsang (2000) with 1024 layers on 32-bit words (their original uses 32-bit words too):
the layer (bits 0-9), the sign (bit 10) and a 21-bit uniform (bits 11-31), so a call
serves four neurons. 99.57 % of candidates fall inside their layer's rectangle and are
accepted by an integer compare and a multiply, with one lookup in ``ZIG_TABLE`` (the
kernel's ``_noise_add``); the rest finish in
``zig_finish`` (wedge or tail test, and a new candidate after a rejection, with fresh
64-bit words of another stream). The tables are those of the exact algorithm, so the
draws are standard normal up to the 21-bit resolution within a layer. Poisson counts
invert the CDF from a uniform; a mean above ``POISSON_PIECE`` is split into pieces (a
sum of Poisson counts is Poisson).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from neuroattn.backends.numba import _cache

__all__ = []

# Streams (third counter word). 'poisson' drive d uses STREAM_POISSON + d.
STREAM_NOISE = 0        # first ziggurat candidate of the membrane noise (quads)
STREAM_NOISE_MORE = 1   # wedge/tail tests and new candidates after a rejection
STREAM_ESCAPE = 2       # escape-neuron uniforms (pairs)
STREAM_POISSON = 3      # Poisson-input uniforms (pairs); further pieces: attempts 1, 2, ...

#: largest Poisson mean inverted in one piece
POISSON_PIECE = 10.0

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_LO = np.uint64(0xFFFFFFFF)
_U10 = np.uint64(10)
_U32 = np.uint64(32)
_U11 = np.uint64(11)
_MASK10 = np.uint64(1023)
_ONE = np.uint64(1)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53
#: 1 / 2**21: scale of the 21-bit uniform in a 32-bit ziggurat word
ZIG_INV_U = 1.0 / 2097152.0
# no allocation anywhere, so no reference counting (``_nrt=False``, see ``_kernel``)
_INLINE = dict(cache=True, nogil=True, inline="always", error_model="numpy", _nrt=False)
_HELPER = dict(cache=True, nogil=True, no_cpython_wrapper=True, no_cfunc_wrapper=True,
               error_model="numpy", _nrt=False)


def _ziggurat_tables(n: int = 1024, r: float = 4.038849846109504,
                     v: float = 0.0012263246463530893):
    """Layer edges ``x`` (decreasing, x[1] = r, x[n] = 0) and f(x) = exp(-x^2/2).

    ``r`` (start of the tail) and ``v`` (area of each layer) solve the ziggurat's
    closing condition for ``n`` layers (found by root finding; for n = 256 the same
    procedure gives Marsaglia & Tsang's r = 3.6541528853610088).
    """
    x = np.empty(n + 1)
    x[0] = v / math.exp(-0.5 * r * r)
    x[1] = r
    for i in range(1, n - 1):
        x[i + 1] = math.sqrt(-2.0 * math.log(math.exp(-0.5 * x[i] * x[i]) + v / x[i]))
    x[n] = 0.0
    return x, np.exp(-0.5 * x * x)


ZX, _ZF = _ziggurat_tables()
_ZR = float(ZX[1])
#: low bits of a ``ZIG_TABLE`` entry that hold the layer's acceptance bound
ZIG_BOUND_BITS = np.int64((1 << 22) - 1)


def _fast_path_table(zx: np.ndarray) -> np.ndarray:
    """One int64 per (sign, layer): everything the ziggurat's fast path looks up.

    Entry ``s * 1024 + i`` holds the float64 bits of ``(-1)^s zx[i] 2^-21`` with its 22
    lowest mantissa bits replaced by ``k_i``, the smallest 21-bit ``u`` whose candidate
    ``u 2^-21 zx[i]`` (evaluated as ``zig_finish`` does) is not below ``zx[i + 1]``. So
    ``u < k_i`` is exactly the rectangle test, and ``u`` times the entry read as a float
    is the candidate to a relative 2^-30 (the replaced bits).
    """
    n = zx.size - 1
    layer = np.arange(n)
    guess = np.floor(zx[1:] / zx[:-1] * 2.0**21).astype(np.int64)
    bound = np.full(n, 2**21, dtype=np.int64)
    for u in range(4, -5, -1):  # the float rounding moves the bound by at most one
        cand = np.clip(guess + u, 0, 2**21)
        hit = cand.astype(np.float64) * ZIG_INV_U * zx[layer] >= zx[layer + 1]
        bound[hit] = cand[hit]
    bits = np.concatenate([zx[:-1] * ZIG_INV_U, -zx[:-1] * ZIG_INV_U]).view(np.int64)
    return (bits & ~ZIG_BOUND_BITS) | np.concatenate([bound, bound])


#: the fast path's lookup table (see ``_fast_path_table``), index ``word & 2047``
ZIG_TABLE = _fast_path_table(ZX)


def trial_key(gen: np.random.Generator) -> np.ndarray:
    """The two 32-bit Philox key words of a trial, drawn from its numpy generator."""
    return gen.integers(0, 2**32, size=2, dtype=np.uint64)


@njit(**_INLINE)
def philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of counter (c0..c3) under key (k0, k1), all uint64 < 2**32.

    Returns the four output words packed in two uint64: (w1 << 32 | w0, w3 << 32 | w2).
    """
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = ((p1 >> _U32) ^ c1 ^ k0, p1 & _LO, (p0 >> _U32) ^ c3 ^ k1, p0 & _LO)
        k0 = (k0 + _W0) & _LO
        k1 = (k1 + _W1) & _LO
    return (c1 << _U32) | c0, (c3 << _U32) | c2


@njit(**_INLINE)
def pair(k0, k1, neuron, step, stream, attempt):
    """Two uint64 words for (neuron, step, stream, attempt) of the trial keyed (k0, k1).

    Inlined where it must vectorise; the rare paths call ``pair_call``. Every argument
    is below 2**32 already (counters: ``_engine._MAX_COUNT``; keys: ``trial_key``); the
    masks tell the compiler so, and the multiplies of Philox's first round become
    32 x 32 -> 64-bit vector multiplies (one micro-operation) instead of full 64-bit
    ones (three on the Intel Xeon here, Ice Lake): 0.92 -> 0.77 ns per 32-bit word in a
    vectorised loop, the same words.
    """
    return philox(np.uint64(neuron) & _LO, np.uint64(step) & _LO, np.uint64(stream) & _LO,
                  np.uint64(attempt) & _LO, k0 & _LO, k1 & _LO)


@njit(**_HELPER)
def pair_call(k0, k1, neuron, step, stream, attempt):
    """``pair`` as an ordinary (not inlined) function, for rarely taken paths."""
    return philox(np.uint64(neuron), np.uint64(step), np.uint64(stream), np.uint64(attempt),
                  k0, k1)


@njit(**_INLINE)
def u01(word):
    """Uniform in [0, 1) from the top 53 bits of a uint64."""
    return float(word >> _U11) * _INV53


@njit(**_HELPER)
def zig_finish(word, k0, k1, neuron, step, stream):
    """Complete the candidate of a 32-bit ``word`` (an int64) outside its rectangle.

    The candidate is layer ``word & 1023``, sign bit 10, ``|x| = (word >> 11) 2^-21
    ZX[layer]``. The wedge and tail tests and any new candidate after a rejection use
    fresh 64-bit words of ``stream`` (attempts 0, 1, ... for this neuron and step).
    """
    i = word & 1023
    x = float(word >> 11) * ZIG_INV_U * ZX[i]
    neg = (word >> 10) & 1
    attempt = np.int64(0)  # not the literal 0: numba would compile pair_call for it too
    while x >= ZX[i + 1]:
        a, c = pair_call(k0, k1, neuron, step, stream, attempt)
        attempt += 1
        if i == 0:  # the tail beyond r, sampled exactly (Marsaglia 1964)
            while True:
                t = -math.log(1.0 - u01(a)) / _ZR
                if -2.0 * math.log(1.0 - u01(c)) > t * t:
                    break
                a, c = pair_call(k0, k1, neuron, step, stream, attempt)
                attempt += 1
            x = _ZR + t
            break
        if _ZF[i] + u01(a) * (_ZF[i + 1] - _ZF[i]) < math.exp(-0.5 * x * x):
            break
        a, _ = pair_call(k0, k1, neuron, step, stream, attempt)  # rejected: new candidate
        attempt += 1
        i = np.intp(a & _MASK10)
        x = u01(a) * ZX[i]
        neg = np.intp((a >> _U10) & _ONE)
    return -x if neg else x


@njit(**_HELPER)
def poisson_tail(u, lam, p0, pieces, k0, k1, neuron, step, stream):
    """Poisson count by inversion; ``u`` is the first piece's uniform (``u >= p0``
    or ``pieces > 1``), further pieces use attempts 1, 2, ... of ``stream``."""
    total = 0
    for j in range(pieces):
        if j > 0:
            a, _ = pair_call(k0, k1, neuron, step, stream, j)
            u = u01(a)
        k = 0
        p = p0
        cdf = p0
        while u >= cdf and p > 0.0:
            k += 1
            p *= lam / k
            cdf += p
        total += k
    return total


# numba's disk cache, safe for processes compiling at once (see ``_cache``)
for _fn in (philox, pair, pair_call, u01, zig_finish, poisson_tail):
    _cache.guard(_fn)
del _fn
