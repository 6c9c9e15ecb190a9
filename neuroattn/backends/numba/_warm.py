"""Compile the Numba engine's kernel and stages: before a run, and ahead of use.

From an empty cache, compiling ``advance`` and a network's stages takes a few seconds,
all of it in numba's compiler, which runs one function at a time per process. Since
``advance`` calls its stages through function pointers, they are independent: on a
first run ``ready`` hands the larger missing stages to a helper process (a second
Python running ``_compile_named``) that compiles them into numba's disk cache while
this process compiles ``advance`` and the rest, then loads the helper's work from the
cache. On two cores the first run of a network starts about 0.8 s sooner
(docs/engines.md, "Compilation"). If the helper cannot start or fails, this process
compiles those stages itself, as it would without a helper.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from typing import NamedTuple

from neuroattn.backends.numba import _cache, _kernel

__all__ = []

#: slots whose stages the helper process compiles (the larger ones)
_HELPER_SLOTS = ("poisson", "noise", "fire_escape", "propagate")
#: seconds to wait for the helper before compiling its stages here
_HELPER_TIMEOUT = 300.0
_LOCK = threading.Lock()


class Compiled(NamedTuple):
    """What ``compile_kernel`` did."""

    seconds: float      # wall time of compiling or loading the kernel and every stage
    from_cache: bool    # True if nothing was compiled (loaded, or already in this process)
    cache_dir: str      # where numba keeps the kernel's cache files


def ready(chosen: _kernel.Stages):
    """``advance``, with it and the ``chosen`` stages compiled (or loaded from the cache).

    A process that compiles holds the cache directory's compile lock
    (``_cache.compile_lock``): a second process that finds the cache incomplete waits
    for it, then loads what the first compiled (and compiles only what is still
    missing). See ``_compile`` for the helper process of a first run; the helper does
    not take the compile lock (its parent holds it), only the index lock of each save.
    """
    todo = [(fn, sig) for fn, sig in zip(chosen, _kernel.SIGNATURES)
            if not isinstance(fn, _kernel.Absent) and tuple(sig.args) not in fn.overloads]
    if todo or not _kernel.advance_dispatcher().overloads:
        with _LOCK:
            if not _load_cached(todo):
                with _cache.compile_lock(_kernel.advance_dispatcher(), _HELPER_TIMEOUT):
                    # another process may have compiled them while this one waited
                    if not _load_cached(todo):
                        _compile(todo)
    return _kernel.kernel()


def _load_cached(stages) -> bool:
    """Load ``advance`` and ``stages`` from numba's disk cache, without numba's start-up.

    Before it loads a function from its cache, numba "refreshes" its compiler: it
    imports and registers every implementation it could compile with (about 120
    modules, scipy.linalg among them for BLAS), 0.3-0.4 CPU seconds that a process
    pays once. A function rebuilt from the cache is machine code and its type
    signature; none of those implementations is used to link or call it. So when every
    function is in the cache, each dispatcher's cache loads without the refresh
    (the rest of numba's loading is unchanged: same files, same checks). A function
    that does not load after all (a stale or unreadable file) is compiled by numba's
    compiler, which refreshes itself first. Any failure of this shortcut leaves the
    ordinary path to do the work.

    Returns
    -------
    bool
        True if everything is loaded; False if something is not in the cache (nothing
        was loaded then) or the shortcut failed.
    """
    from numba.core.compiler_lock import global_compiler_lock

    advance = _kernel.advance_dispatcher()
    pairs = list(stages) + ([] if advance.overloads else [(advance, _kernel.ADVANCE_SIGNATURE)])
    if not all(_in_cache(fn, sig, unknown=False) for fn, sig in pairs):
        return False
    caches = [fn._cache for fn, _ in pairs]
    try:
        with global_compiler_lock:  # no other thread compiles while the caches are patched
            for cache in caches:
                cache.load_overload = _loader(cache)
            try:
                _kernel.kernel()
                for fn, sig in stages:
                    fn.get_compile_result(sig)
            finally:
                for cache in caches:
                    vars(cache).pop("load_overload", None)
    except Exception:  # noqa: BLE001 - numba internals: let the ordinary path decide
        return False
    return True


def _loader(cache):
    """``cache.load_overload`` without the compiler refresh (see ``_load_cached``)."""
    def load_overload(sig, target_context):
        with cache._guard_against_spurious_io_errors():
            return cache._load_overload(sig, target_context)
    return load_overload


def _compile(stages) -> None:
    """Compile (or load) ``advance`` and ``stages``, (dispatcher, signature) pairs.

    When ``advance`` is missing from numba's disk cache (the first run after installing,
    or after the sources changed), the stages of the ``_HELPER_SLOTS`` that are missing
    too go to a helper process, which compiles them into the cache while this one
    compiles ``advance`` and the rest; this one then loads them.
    """
    helper_fns = [fn for slot in _HELPER_SLOTS for fn in _kernel.IMPLEMENTATIONS[slot]]
    away = []
    if not _in_cache(_kernel.advance_dispatcher(), _kernel.ADVANCE_SIGNATURE):
        away = [(fn, sig) for fn, sig in stages
                if any(fn is h for h in helper_fns) and not _in_cache(fn, sig)]
    helper = _start_helper([fn for fn, _ in away]) if away else None
    try:
        _kernel.kernel()
        for fn, sig in stages:
            if all(fn is not f for f, _ in away):
                fn.get_compile_result(sig)  # as the call through a function pointer does
        if helper is not None:
            helper.wait(timeout=_HELPER_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass  # its stages are compiled below
    finally:
        if helper is not None and helper.poll() is None:
            helper.kill()
            helper.wait()
    for fn, sig in away:  # loads what the helper cached; compiles what it did not
        fn.get_compile_result(sig)


def _in_cache(fn, sig, unknown: bool = True) -> bool:
    """Whether numba's disk cache holds ``fn`` compiled for ``sig``; ``unknown`` if it
    cannot tell (default True, so that nothing is handed to a helper needlessly)."""
    try:
        cache = fn._cache
        key = cache._index_key(sig, fn.targetctx.codegen())
        holds = getattr(cache._cache_file, "holds", None)  # a _cache.GuardedCacheFile
        return holds(key) if holds is not None else key in cache._cache_file._load_index()
    except Exception:  # noqa: BLE001  (numba internals: any failure means "do not know")
        return unknown


def _start_helper(stages):
    """A process compiling ``stages`` (``_kernel`` dispatchers) into the cache, or None
    if it cannot start (or this interpreter is embedded or frozen: no Python to run)."""
    exe = os.path.basename(sys.executable or "").lower()
    if not exe.startswith("python") or getattr(sys, "frozen", False):
        return None
    names = [name for name, fn in vars(_kernel).items() if any(fn is s for s in stages)]
    code = f"from {__name__} import _compile_named; _compile_named({names!r})"
    try:
        return subprocess.Popen([sys.executable, "-c", code],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    except OSError:
        return None


def _compile_named(names) -> None:
    """Compile the ``_kernel`` stages named ``names`` for their slots' signatures."""
    for name in names:
        fn = getattr(_kernel, name)
        slot = next(s for s, impls in _kernel.IMPLEMENTATIONS.items() if fn in impls)
        fn.get_compile_result(getattr(_kernel.SIGNATURES, slot))


def compile_kernel() -> Compiled:
    """Make sure ``advance`` and every stage it can call are compiled and cached.

    ``advance`` has one signature whatever the network, and each stage the signature of
    its slot (``_kernel.SIGNATURES``), so every implementation of every stage
    (``_kernel.IMPLEMENTATIONS``) is compiled for those directly, part of them by a
    helper process as in ``_compile``. Later processes load them from the cache instead
    of compiling them (see docs/engines.md, "Compilation").
    """
    stages = [(fn, sig) for slot, sig in zip(_kernel.Stages._fields, _kernel.SIGNATURES)
              for fn in _kernel.IMPLEMENTATIONS[slot]]
    dispatchers = [fn for fn, _ in stages] + [_kernel.advance_dispatcher()]
    hits = sum(sum(d.stats.cache_hits.values()) for d in dispatchers)  # updated in place
    misses = sum(sum(d.stats.cache_misses.values()) for d in dispatchers)
    already = all(d.overloads for d in dispatchers)
    t0 = time.perf_counter()
    with _LOCK, _cache.compile_lock(_kernel.advance_dispatcher(), _HELPER_TIMEOUT):
        _compile(stages)
    seconds = time.perf_counter() - t0
    loaded = sum(sum(d.stats.cache_hits.values()) for d in dispatchers) > hits
    compiled = sum(sum(d.stats.cache_misses.values()) for d in dispatchers) > misses
    return Compiled(seconds, already or (loaded and not compiled),
                    str(_kernel.advance_dispatcher().stats.cache_path))
