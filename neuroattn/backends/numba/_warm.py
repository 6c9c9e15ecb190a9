"""Compile the Numba engine's kernel into numba's on-disk cache ahead of use."""

from __future__ import annotations

import time
from typing import NamedTuple

__all__ = []


class Compiled(NamedTuple):
    """What ``compile_kernel`` did."""

    seconds: float      # wall time of compiling or loading the kernel and every stage
    from_cache: bool    # True if nothing was compiled (loaded, or already in this process)
    cache_dir: str      # where numba keeps the kernel's cache files


def compile_kernel() -> Compiled:
    """Make sure ``advance`` and every stage it can call are compiled and cached.

    ``advance`` has one signature whatever the network, and each stage the signature of
    its slot (``_kernel.SIGNATURES``), so every implementation of every stage
    (``_kernel.IMPLEMENTATIONS``) is compiled for those directly.
    Later processes load them from the cache instead of compiling them (see
    docs/engines.md, "Compilation").
    """
    from neuroattn.backends.numba import _kernel

    stages = [(fn, sig) for slot, sig in zip(_kernel.Stages._fields, _kernel.SIGNATURES)
              for fn in _kernel.IMPLEMENTATIONS[slot]]
    dispatchers = [fn for fn, _ in stages]
    hits = sum(sum(d.stats.cache_hits.values()) for d in dispatchers)  # updated in place
    misses = sum(sum(d.stats.cache_misses.values()) for d in dispatchers)
    already = _kernel.kernel.cache_info().currsize > 0 and all(
        tuple(sig.args) in fn.overloads for fn, sig in stages)
    t0 = time.perf_counter()
    advance = _kernel.kernel()
    for fn, sig in stages:
        fn.get_compile_result(sig)  # as the call through a function pointer does
    seconds = time.perf_counter() - t0
    dispatchers.append(advance)
    loaded = sum(sum(d.stats.cache_hits.values()) for d in dispatchers) > hits
    compiled = sum(sum(d.stats.cache_misses.values()) for d in dispatchers) > misses
    return Compiled(seconds, already or (loaded and not compiled),
                    str(advance.stats.cache_path))
