"""numba's disk cache, safe when several processes compile into it at once.

Used by every module with cached numba functions: the spiking engine
(``neuroattn.backends.numba``), the decision layer's kernels and the attention kernels
(``neuroattn.attention.fused``, ``.spike``). It lives outside both packages, so that
the attention kernels use it without importing the engine.

numba keeps one index file per function (``NAME.nbi``: index key -> data file) and
numbers the data files ``NAME.1.nbc``, ``NAME.2.nbc``, ... in the order it adds
entries. Saving an entry reads the index, picks the lowest free number, writes the
index and only then the data. Between processes (pytest-xdist workers, a run's helper
process, engineers sharing a checkout) that goes wrong in several ways:

- two processes that add different entries to the same index at once (closures of one
  function share an index, and so do a function's signatures) both pick number 1; one's
  index and the other's data win, and the index then sends one entry to the other's
  machine code;
- numba starts the numbering again whenever the source file changes, so a process
  still running the old sources and one running the new ones overwrite each other's
  ``.1.nbc`` with code the other's index does not describe; a process killed between
  writing the index and the data leaves an entry pointing at the old code;
- the compiled code holds the globals of other modules as constants (``_layout``'s
  column numbers, ``_rng``'s tables, inlined ``_rng`` functions), but the index is
  keyed by the function's own source only, so an edit of ``_rng.py`` alone leaves stale
  code in the cache.

Each of these can make a later process load machine code that is not the function it
asked for. (The other cause of irreproducible engine results, variants of a stage
sharing one machine-code symbol, is fixed by their names: ``_kernel._variant``.) ``guard`` gives a dispatcher
a cache file (``GuardedCacheFile``) that

- names each data file after what it holds: a digest of the index key (signature, CPU,
  bytecode and closure), the source's hash and the hashes of the modules the code
  depends on. Two different entries never share a file, and a file never changes what
  it holds;
- writes the data before the index entry that points to it, and updates the index
  under an exclusive lock (``fcntl.flock`` on ``LOCK_NAME`` in the cache directory),
  so no process loses another's entry;
- loads an entry only if the index names the very file this key, source and
  dependencies would have. Anything else (an entry numbered by numba itself, written
  by other sources or before a dependency changed) counts as missing: numba compiles
  the function again and saves it under its own name;
- removes, under the lock, the function's data files that its index no longer names.

``compile_lock`` (used by ``neuroattn.backends.numba._warm``) is a second lock, held
while a process compiles the engine, so that a second process waits and then loads
what the first compiled instead of compiling the same functions beside it. Where
``fcntl`` is missing (not POSIX) both locks are skipped; the naming alone still keeps
wrong code out.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time

from numba.core.caching import IndexDataCacheFile

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

__all__ = []

#: the lock file of index updates, in each cache directory
LOCK_NAME = "neuroattn-numba-index.lock"
#: the lock file held while a process compiles the engine (``compile_lock``)
COMPILE_LOCK_NAME = "neuroattn-numba-compile.lock"
#: seconds to wait for the index lock before updating the index without it
_INDEX_WAIT = 30.0
_POLL = 0.02


def guard(dispatcher, depends=()) -> None:
    """Give ``dispatcher`` (``njit(cache=True)``) a ``GuardedCacheFile``.

    ``depends``: modules whose globals its compiled code holds (their source files are
    hashed into the data file names). Call it before the dispatcher first compiles or
    loads. A dispatcher without a disk cache is left as it is.
    """
    cache = getattr(dispatcher, "_cache", None)
    plain = getattr(cache, "_cache_file", None)
    if not isinstance(plain, IndexDataCacheFile) or isinstance(plain, GuardedCacheFile):
        return
    try:
        cache._cache_file = GuardedCacheFile(plain, depends)
    except (AttributeError, TypeError):  # numba's internals changed: its own cache file
        pass


def guard_all(namespace: dict, depends=()) -> None:
    """``guard`` every numba dispatcher with a disk cache among ``namespace``'s values
    (a module's ``globals()``, called at its end), with the same ``depends``."""
    for value in list(namespace.values()):
        if hasattr(value, "overloads") and hasattr(value, "_cache"):
            guard(value, depends)


def _source_hash(module) -> str:
    path = getattr(module, "__file__", None)
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except (OSError, TypeError):
        return "?"


class GuardedCacheFile(IndexDataCacheFile):
    """numba's index and data files, named by content and updated under a lock (see
    the module docstring). Same file formats as numba's."""

    def __init__(self, plain: IndexDataCacheFile, depends=()):
        base = plain._index_name[:-len(".nbi")]
        super().__init__(plain._cache_path, base, plain._source_stamp)
        self._base = base
        deps = "".join(f"{m.__name__}:{_source_hash(m)};" for m in depends)
        self._salt = f"{plain._source_stamp!r};{deps}"

    def name_for(self, key) -> str:
        """The data file of index key ``key`` (for these sources and dependencies)."""
        sig, rest = key[0], key[1:]
        digest = hashlib.sha256(f"{sig}|{rest!r}|{self._salt}".encode()).hexdigest()
        return f"{self._base}.{digest[:24]}.nbc"

    def holds(self, key) -> bool:
        """Whether the index names this key's own data file and that file exists."""
        name = self._load_index().get(key)
        return name == self.name_for(key) and os.path.exists(self._data_path(name))

    def load(self, key):
        """The entry saved for ``key``, or None (numba compiles it then) if the index
        names no file or another file than this key's own, or it cannot be read."""
        name = self._load_index().get(key)
        if name is None or name != self.name_for(key):
            return None
        try:
            return self._load_data(name)
        except Exception:  # noqa: BLE001 - unreadable: compile again (and overwrite it)
            return None

    def save(self, key, data) -> None:
        """Under the index lock, write the data file of ``key``, then its index entry;
        remove the function's data files the index no longer names."""
        name = self.name_for(key)
        with exclusive(os.path.join(self._cache_path, LOCK_NAME), _INDEX_WAIT):
            self._save_data(name, data)  # inside: another process's _prune would take it
            index = self._load_index()
            index[key] = name
            self._save_index(index)
            self._prune(set(index.values()))

    def _load_index(self):
        try:
            return super()._load_index()
        except Exception:  # noqa: BLE001 - unreadable index: as if empty (numba's files
            return {}      # are replaced atomically, so this is not expected)

    def _prune(self, keep) -> None:
        prefix = self._base + "."
        try:
            names = os.listdir(self._cache_path)
        except OSError:
            return
        for name in names:
            middle = name[len(prefix):-len(".nbc")]
            if (name.startswith(prefix) and name.endswith(".nbc") and "." not in middle
                    and name not in keep):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self._cache_path, name))


@contextlib.contextmanager
def exclusive(path: str, wait: float):
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the block.

    Waits at most ``wait`` seconds, then runs the block without the lock (what it
    protects stays correct, only less economical: see the module docstring), as it does
    where the lock file cannot be created or ``fcntl`` is missing.
    """
    fd = None
    if fcntl is not None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            fd = None
    if fd is None:
        yield False
        return
    try:
        deadline = time.monotonic() + wait
        locked = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
                break
            except OSError:
                if time.monotonic() >= deadline:
                    break
                time.sleep(_POLL)
        yield locked
    finally:
        os.close(fd)  # releases the lock


def compile_lock(dispatcher, wait: float):
    """``exclusive`` on ``COMPILE_LOCK_NAME`` in ``dispatcher``'s cache directory."""
    cache = getattr(dispatcher, "_cache", None)
    directory = getattr(cache, "_cache_path", None)
    if directory is None:
        return contextlib.nullcontext(False)
    with contextlib.suppress(OSError):
        os.makedirs(directory, exist_ok=True)
    return exclusive(os.path.join(directory, COMPILE_LOCK_NAME), wait)
