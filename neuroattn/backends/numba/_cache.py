"""numba's guarded disk cache, for the engine's modules: see :mod:`neuroattn._numba_cache`.

The implementation moved there (outside the engine's package, so that the attention
kernels use it without importing the engine); these are the same objects.
"""

from neuroattn._numba_cache import (  # noqa: F401
    COMPILE_LOCK_NAME,
    LOCK_NAME,
    GuardedCacheFile,
    compile_lock,
    exclusive,
    guard,
    guard_all,
)

__all__ = []
