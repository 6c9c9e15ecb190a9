"""The numba engine's disk cache when several processes compile into it.

Two things made the engine's results irreproducible when several processes compiled
into one cache (pytest-xdist workers, a first run's helper process, engineers sharing a
checkout): the variants of a stage (closures of one factory) compiled in different
processes could get the same machine-code symbol, so that a process loading both ran
one variant's code for the other; and numba's own numbering of data files could leave
an index entry naming code that is not the entry's (``neuroattn.backends.numba._cache``).
Every process here uses an empty cache directory of its own (``NUMBA_CACHE_DIR``),
never the checkout's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types

import pytest

pytest.importorskip("numba")

#: one worker builds the raced cache once for the tests that share it
_RACED = pytest.mark.xdist_group("numba-cache")

#: the two networks: they need different variants of the membrane, noise and
#: propagation stages (closures of one function each, so they share an index file)
_NETS = r"""
from neuroattn.backends import simulate
from neuroattn.model import AllToAll, FixedProbability, Network, Population, Probe, Projection
from neuroattn.neurons import LIFParams

def spikes(rec):
    return [[t.tolist() for t in trial["exc"]] for trial in rec.spikes]

def shared():  # shared ports, dense projections, chunks of two trials
    pops = [Population("exc", 30, LIFParams(sigma=4e-3, i_bias=240e-12)),
            Population("inh", 8, LIFParams(sigma=2e-3, i_bias=200e-12))]
    projs = [Projection("exc", "inh", 20e-12, AllToAll(), delay=0.5e-3),
             Projection("inh", "exc", 10e-12, AllToAll(), sign="inh", tau_syn=10e-3)]
    net = Network(pops, projs, [Probe("exc", "spikes")], name="shared")
    return spikes(simulate(net, duration=0.04, dt=1e-4, seed=7, trials=4, threads=2,
                           backend="numba"))

def general():  # sparse projections onto the neurons' own currents, one trial per chunk
    pops = [Population("exc", 30, LIFParams(sigma=4e-3, i_bias=240e-12)),
            Population("inh", 8, LIFParams(sigma=2e-3, i_bias=200e-12))]
    projs = [Projection("exc", "inh", 30e-12, FixedProbability(0.3, seed=3)),
             Projection("inh", "exc", 20e-12, FixedProbability(0.5, seed=4), sign="inh",
                        tau_syn=10e-3)]
    net = Network(pops, projs, [Probe("exc", "spikes")], name="general")
    return spikes(simulate(net, duration=0.04, dt=1e-4, seed=7, trials=2, threads=2,
                           backend="numba"))
"""

#: a process that prints the spikes of the networks named by its arguments and how
#: many times it compiled each engine function. Options, in this order:
#: ``--wait DIR NAME``: meet the twin process first, so that both work at the same moment;
#: ``--variants K``: only compile variant K (0 or 1) of the membrane, noise and
#: propagation stages (closures of one factory each), directly, bypassing the engine's
#: compile lock;
#: ``--cross``: make the index send the sparse propagation stage to the dense one's data
#: file (the state numba's own numbering could leave after a race).
_SCRIPT = _NETS + r"""
import json, os, sys, time
from neuroattn.backends.numba import _kernel

args = sys.argv[1:]
if args[0] == "--wait":
    where, me = args[1], args[2]
    args = args[3:]
    open(os.path.join(where, me), "w").close()
    deadline = time.monotonic() + 60
    while len(os.listdir(where)) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
fns = {name: fn for name, fn in vars(_kernel).items()
       if any(fn is f for impls in _kernel.IMPLEMENTATIONS.values() for f in impls)}
if args[0] == "--variants":
    for slot in ("membrane", "noise", "propagate"):
        _kernel.IMPLEMENTATIONS[slot][int(args[1])].compile(getattr(_kernel.SIGNATURES, slot))
    args = []
elif args[0] == "--cross":
    args = args[1:]
    csr, dense = _kernel._propagate, _kernel._propagate_dense
    sig, codegen = _kernel.SIGNATURES.propagate, csr.targetctx.codegen()
    key = csr._cache._index_key(sig, codegen)
    other = dense._cache._cache_file.name_for(dense._cache._index_key(sig, codegen))
    assert os.path.exists(os.path.join(dense._cache._cache_path, other))
    index = csr._cache._cache_file._load_index()
    index[key] = other
    csr._cache._cache_file._save_index(index)
out = {"runs": [[name, globals()[name]()] for name in args]}
fns["advance"] = _kernel.advance_dispatcher()
out["misses"] = {name: sum(fn.stats.cache_misses.values()) for name, fn in fns.items()}
if "key" in globals():
    out["fixed"] = csr._cache._cache_file.holds(key)
print("OUT=" + json.dumps(out))
"""

#: the stage variants the racing processes compile
_VARIANTS = ("_membrane", "_membrane_shared", "_noise_add", "_noise_add_single",
             "_propagate", "_propagate_dense")


def _start(cache, *args):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    return subprocess.Popen([sys.executable, "-c", _SCRIPT, *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _results(procs) -> list:
    """Each process's output; kills the others if one fails."""
    try:
        out = []
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=600)
            assert proc.returncode == 0, stderr[-3000:]
            line = [x for x in stdout.splitlines() if x.startswith("OUT=")][-1]
            out.append(json.loads(line[4:]))
        return out
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def _twins(cache, meet, *runs) -> list:
    """Start one process per argument list at the same moment (they meet in ``meet``)."""
    meet.mkdir()
    return _results([_start(cache, "--wait", str(meet), name, *args)
                     for name, args in zip("ab", runs)])


@pytest.fixture(scope="module")
def reference():
    """Both networks' spikes in this process (the checkout's cache)."""
    names = {}
    exec(_NETS, names)  # noqa: S102 - the same source as the processes run
    return {"shared": names["shared"](), "general": names["general"]()}


@pytest.fixture(scope="module")
def raced(tmp_path_factory):
    """A cache into which two processes compiled the stage variants at the same moment,
    one the first variant of each stage, the other the second (the same functions in
    the same order, so numba's per-process counter gives their code the same
    numbers); and the two processes that then ran both networks from it at once."""
    root = tmp_path_factory.mktemp("numba-cache")
    cache = root / "cache"
    _twins(cache, root / "meet-1", ["--variants", "0"], ["--variants", "1"])
    runs = _twins(cache, root / "meet-2", ["shared", "general", "shared"],
                  ["general", "shared", "general"])
    return cache, runs


@_RACED
def test_processes_compiling_at_once_leave_a_cache_that_loads_whole_and_right(raced,
                                                                               reference):
    """After two processes compiled the variants of each stage into one empty cache at
    the same moment, two more processes load every variant (none is compiled again: no
    entry was lost), run both networks (so each loads both variants of the noise stage,
    compiled in different processes), then the first again, and get this process's
    spikes bit for bit every time. They
    also start together from a cache without ``advance``: with the compile lock one
    compiles it and the other stages, the other waits and loads them."""
    cache, runs = raced
    assert len(reference["shared"][0][0]) > 20 and len(reference["general"][1][0]) > 20
    for out in runs:
        assert [spikes == reference[name] for name, spikes in out["runs"]] == [True] * 3
        assert all(out["misses"][name] == 0 for name in _VARIANTS), out["misses"]
    per_function = [a + b for a, b in zip(*(out["misses"].values() for out in runs))]
    assert max(per_function) == 1, [out["misses"] for out in runs]
    assert sum(per_function) >= 3  # advance, the LIF threshold and the spike stage


@_RACED
def test_an_index_entry_naming_another_variants_code_is_compiled_again(raced, reference,
                                                                       tmp_path):
    """The index sends the sparse propagation stage to the dense stage's data file (what
    numba's numbering could leave after a race, there between the variants' index
    files): the load refuses it, the stage is
    compiled again and saved under its own name, and the spikes are right (the dense
    code would ignore the sparse connections)."""
    crossed = tmp_path / "crossed"
    shutil.copytree(raced[0], crossed)
    [out] = _results([_start(crossed, "--cross", "general")])
    assert out["runs"] == [["general", reference["general"]]]
    assert out["misses"]["_propagate"] == 1
    assert sum(out["misses"].values()) == 1, out["misses"]
    assert out["fixed"]


def test_a_changed_dependency_or_a_foreign_data_file_is_not_loaded(tmp_path, monkeypatch):
    """Entries are named by key, source and dependencies: a dependency's edit makes the
    entry missing (compiled again, the stale file removed); a data file numbered by
    numba itself is not loaded."""
    import numba
    from numba.core import config

    from neuroattn.backends.numba import _cache

    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path / "cache"))
    dep = tmp_path / "dep.py"
    dep.write_text("SCALE = 2\n")

    depends = (types.SimpleNamespace(__name__="dep", __file__=str(dep)),)

    def make():
        disp = numba.njit(cache=True)(_twice)
        _cache.guard(disp, depends)
        return disp

    first = make()
    assert first(3.0) == 6.0 and sum(first.stats.cache_misses.values()) == 1
    again = make()
    assert again(3.0) == 6.0 and sum(again.stats.cache_hits.values()) == 1
    files = sorted(p.name for p in (tmp_path / "cache").rglob("*.nbc"))
    assert len(files) == 1
    dep.write_text("SCALE = 3\n")  # the compiled code would hold the old value
    edited = make()
    assert edited(3.0) == 6.0 and sum(edited.stats.cache_misses.values()) == 1
    after = sorted(p.name for p in (tmp_path / "cache").rglob("*.nbc"))
    assert len(after) == 1 and after != files  # the stale file is gone
    # numba's own numbering: the index entry names "NAME.1.nbc", which is not loaded
    cf = edited._cache._cache_file
    [key] = cf._load_index()
    path = next((tmp_path / "cache").rglob("*.nbc"))
    os.replace(path, path.with_name(cf._base + ".1.nbc"))
    cf._save_index({key: cf._base + ".1.nbc"})
    assert not cf.holds(key) and cf.load(key) is None
    numbered = make()
    assert numbered(3.0) == 6.0 and sum(numbered.stats.cache_misses.values()) == 1


def _twice(x):
    return 2.0 * x


def test_the_engine_functions_have_guarded_caches():
    """Every function of the kernel and of its random numbers has a guarded cache file;
    the kernel's names its dependencies."""
    from neuroattn.backends.numba import _cache, _kernel, _rng

    fns = [f for impls in _kernel.IMPLEMENTATIONS.values() for f in impls]
    fns += [_kernel.advance_dispatcher(), _kernel._pair_words, _rng.zig_finish,
            _rng.pair_call, _rng.poisson_tail]
    assert all(isinstance(f._cache._cache_file, _cache.GuardedCacheFile) for f in fns)
    for fn in (_kernel._noise_add, _kernel.advance_dispatcher()):
        for dep in ("_rng", "_layout"):  # the kernel's code holds their constants
            assert f"neuroattn.backends.numba.{dep}:" in fn._cache._cache_file._salt


GUARDED_ATTENTION = """
import json, sys
from neuroattn._numba_cache import GuardedCacheFile
from neuroattn.attention import fused, spike
fns = [v for m in (fused, spike) for v in vars(m).values()
       if hasattr(v, "overloads") and getattr(v, "_cache", None) is not None
       and v.__module__ == m.__name__]
print("OUT=" + json.dumps({
    "n": len(fns),
    "guarded": all(isinstance(f._cache._cache_file, GuardedCacheFile) for f in fns),
    "salted": all("neuroattn.attention._numba_math:" in f._cache._cache_file._salt
                  and "neuroattn._bits:" in f._cache._cache_file._salt for f in fns),
    "engine": sorted(m for m in sys.modules if m.startswith("neuroattn.backends"))}))
"""


def test_the_attention_kernels_have_guarded_caches_without_the_engine(tmp_path):
    """The fused and spike attention kernels use the guarded cache too, named by
    ``_numba_math`` and ``_bits`` (their code holds both), and importing them imports
    nothing of the spiking engine (the guard lives outside it: ``neuroattn._numba_cache``)."""
    done = subprocess.run([sys.executable, "-c", GUARDED_ATTENTION], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads([x for x in done.stdout.splitlines() if x.startswith("OUT=")][-1][4:])
    assert out["n"] >= 10 and out["guarded"] and out["salted"]
    assert out["engine"] == []
