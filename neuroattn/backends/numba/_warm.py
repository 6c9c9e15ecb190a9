"""Compile the Numba engine's kernel into numba's on-disk cache ahead of use."""

from __future__ import annotations

import time
from typing import NamedTuple

__all__ = []


class Compiled(NamedTuple):
    """What ``compile_kernel`` did."""

    seconds: float      # wall time of the tiny run that compiled or loaded the kernel
    from_cache: bool    # True if nothing was compiled (loaded, or already in this process)
    cache_dir: str      # where numba keeps the kernel's cache files


def compile_kernel() -> Compiled:
    """Make sure the kernel is compiled and cached; return what it took.

    The kernel has one signature whatever the network (every argument is an array of
    fixed dtype and rank, or a scalar), so one tiny run (one noisy LIF population, 1 ms)
    compiles all of it, its rarely taken paths included. Later processes load it from
    the cache instead of compiling it (see docs/engines.md, "Compilation").
    """
    from neuroattn.backends import simulate
    from neuroattn.backends.numba._kernel import advance
    from neuroattn.model import AllToAll, Network, Population, Projection
    from neuroattn.neurons import LIFParams

    hits = sum(advance.stats.cache_hits.values())  # numba updates these counters in place
    misses = sum(advance.stats.cache_misses.values())
    already = bool(advance.signatures)
    net = Network([Population("warm", 4, LIFParams(sigma=1e-3))],
                  [Projection("warm", "warm", 1e-12, AllToAll())], name="compile_kernel")
    t0 = time.perf_counter()
    simulate(net, duration=1e-3, dt=1e-4, backend="numba", threads=1)
    seconds = time.perf_counter() - t0
    loaded = sum(advance.stats.cache_hits.values()) > hits
    compiled = sum(advance.stats.cache_misses.values()) > misses
    return Compiled(seconds, already or (loaded and not compiled),
                    str(advance.stats.cache_path))
