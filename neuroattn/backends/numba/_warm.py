"""Compile the Numba engine's kernel into numba's on-disk cache ahead of use."""

from __future__ import annotations

import itertools
import time
from typing import NamedTuple

__all__ = []


class Compiled(NamedTuple):
    """What ``compile_kernel`` did."""

    seconds: float      # wall time of compiling or loading every kernel variant
    from_cache: bool    # True if nothing was compiled (loaded, or already in this process)
    cache_dir: str      # where numba keeps the kernel's cache files


def compile_kernel() -> Compiled:
    """Make sure every variant of the kernel is compiled and cached; return what it took.

    Every variant (``_kernel.kernel``: with or without noise, Poisson drives, escape
    neurons) has the same single signature whatever the network (every argument is an
    array of fixed dtype and rank, or a scalar). One tiny run (one noisy LIF population,
    1 ms) compiles or loads its variant and gives that signature; the other variants
    are compiled for it directly. Later processes load them from the cache instead of
    compiling them (see docs/engines.md, "Compilation").
    """
    from neuroattn.backends import simulate
    from neuroattn.backends.numba._kernel import kernel
    from neuroattn.model import AllToAll, Network, Population, Projection
    from neuroattn.neurons import LIFParams

    variants = [kernel(*f) for f in itertools.product((True, False), repeat=3)]
    hits = sum(sum(k.stats.cache_hits.values()) for k in variants)  # updated in place
    misses = sum(sum(k.stats.cache_misses.values()) for k in variants)
    already = all(k.signatures for k in variants)
    net = Network([Population("warm", 4, LIFParams(sigma=1e-3))],
                  [Projection("warm", "warm", 1e-12, AllToAll())], name="compile_kernel")
    t0 = time.perf_counter()
    simulate(net, duration=1e-3, dt=1e-4, backend="numba", threads=1)
    sig = kernel(True, False, False).signatures[0]  # the variant of that run
    for k in variants:
        k.compile(sig)
    seconds = time.perf_counter() - t0
    loaded = sum(sum(k.stats.cache_hits.values()) for k in variants) > hits
    compiled = sum(sum(k.stats.cache_misses.values()) for k in variants) > misses
    return Compiled(seconds, already or (loaded and not compiled),
                    str(variants[0].stats.cache_path))
