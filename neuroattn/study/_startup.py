"""What a ``neuroattn run`` or ``compare`` command does about its own start-up.

Python's cyclic garbage collector passes over the young objects whenever 700 more
containers have been made than freed, and over older generations every 10 of those.
A command's start-up makes about 300 000 objects that live until the process ends (the
modules of numpy, pandas, numba and matplotlib, their classes and tables): importing
them took about 430 passes, 0.2-0.35 CPU s of walking objects that nearly all survive
(load 13; all of it on the one thread that holds the GIL). With a young generation of
100 000 the same imports take 18 passes and the same CPU time as with the collector
off, while cycles are still found and freed as the command goes on, however long it
runs.
"""

from __future__ import annotations

import contextlib
import gc

__all__ = ["collection_relaxed", "RELAXED"]

#: collector thresholds while a command runs: a pass over the young generation every
#: 100 000 net allocations, over the older ones every 10 of those (defaults 700, 10, 10)
RELAXED = (100_000, 10, 10)


@contextlib.contextmanager
def collection_relaxed():
    """Run the block with the cyclic collector's young generation raised to
    ``RELAXED``; put the thresholds the caller had back afterwards, also on failure.

    Reference counting still frees every object outside a cycle at once; the collector
    stays on and finds cycles, only fewer times over the objects that start-up makes.
    """
    old = gc.get_threshold()
    gc.set_threshold(*RELAXED)
    try:
        yield
    finally:
        gc.set_threshold(*old)
