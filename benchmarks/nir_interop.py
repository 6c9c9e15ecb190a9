"""A second NIR library reads neuroattn's graphs: Norse, in its own virtual environment.

    python benchmarks/nir_interop.py [--venv /tmp/venv-interop]      # or: make interop

Norse (``norse.torch.from_nir``) is the second library, after snnTorch (which the
test suite checks, ``tests/unit/test_hardware.py``), to run a graph that
``neuroattn.hardware.export_nir`` writes. Norse 1.1.0 needs torchvision, which the
project does not install, so it lives in a separate virtual environment: the script
creates it (once) with the interpreter of the project's environment, lets it see the
project's packages through a ``.pth`` file (so torch 2.13, nir 1.0.8 and nirtorch 2.6
are the project's pins, not reinstalled), installs ``norse==1.1.0`` and
``torchvision==0.28.*`` (the release built for torch 2.13) into it under the pins as
constraints, and then runs the check below with that environment's Python. The
project environment is not changed. Rockpool and Sinabs are not checked: see
docs/hardware.md for the blocking error of each.

The check: a current-driven input layer of 20 LIF neurons and a 50 % random projection
onto 10 LIF neurons (the network of snnTorch's test), exported with ``unit_r=True``
(Norse's importer ignores a LIF node's ``r`` and takes ``r = 1``), written with
``nir.write``, read with ``nir.read`` and loaded with ``from_nir(graph, dt=1e-4)`` (the
graph's step; Norse's default is 1 ms). Norse integrates with forward Euler, neuroattn
exactly, so the rates agree within a tolerance: 5 % + 2 Hz, the one snnTorch's test
uses. Exit status 0 when every rate agrees, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

PINS = ("torch==2.13.0", "numpy<2.4")
PACKAGES = ("norse==1.1.0", "torchvision==0.28.*")
DT = 1e-4
STEPS = 2000
LEVELS = (2.5, 3.0, 4.0, 6.0)   # input values (x 100 pA)
RTOL, ATOL = 0.05, 2.0


def setup(venv: str) -> str:
    """Create ``venv`` with Norse (once); return its Python."""
    import sysconfig

    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        base = os.path.join(sys.base_prefix, "bin", "python3")
        subprocess.run([base, "-m", "venv", venv], check=True)
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], check=True, capture_output=True,
                          text=True).stdout.strip()
    with open(os.path.join(site, "zz_neuroattn_project.pth"), "w") as fh:
        fh.write(sysconfig.get_paths()["purelib"] + "\n")   # the project's packages
    have = subprocess.run([python, "-c", "import norse"], capture_output=True).returncode == 0
    if not have:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
            fh.write("\n".join(PINS) + "\n")
        subprocess.run([python, "-m", "pip", "install", "-q", "-c", fh.name, *PACKAGES],
                       check=True)
        os.remove(fh.name)
    return python


def check() -> int:
    """Run the exported graph in Norse and in neuroattn; print the rates; 0 if they agree."""
    import importlib.metadata as md
    import logging

    import nir
    import numpy as np
    import torch
    from norse.torch import from_nir

    from neuroattn.backends import simulate
    from neuroattn.hardware import export_nir, write_nir
    from neuroattn.model import Drive, FixedProbability, Network, Population, Probe, \
        Projection, Stimulus
    from neuroattn.neurons import LIFParams

    pops = [Population("A", 20, LIFParams(t_ref=0.0)),
            Population("B", 10, LIFParams(t_ref=0.0, tau_mem=10e-3))]
    net = Network(pops, [Projection("A", "B", 80e-12, FixedProbability(0.5, seed=1))],
                  [Probe(p.name, k) for p in pops for k in ("rate", "spikes")])
    drives = (Drive(0, "A", "current", gain=100e-12),)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "interop.nir")
        write_nir(export_nir(net, drives, DT, outputs=["B"], unit_r=True), path)
        graph = nir.read(path)
    logging.disable(logging.WARNING)
    module = from_nir(graph, dt=DT)
    levels = np.array(LEVELS)
    rec = simulate(net, Stimulus(np.repeat(levels[:, None, None], STEPS, axis=1), DT, drives),
                   dt=DT, seed=0, backend="numba")
    ours = np.array([[len(rec.spikes[t][p][0]) for p in ("A", "B")]
                     for t in range(len(levels))], dtype=float)
    theirs = np.zeros_like(ours)
    hidden = module.get_submodule("A")

    def count_a(_m, _i, out):
        theirs[:, 0] += (out[0] if isinstance(out, tuple) else out).sum(1).numpy()

    hook = hidden.register_forward_hook(count_a)
    x = torch.tensor(levels, dtype=torch.float32)[:, None]
    state = None
    with torch.no_grad():
        for _ in range(STEPS):
            out, state = module(x, state)
            theirs[:, 1] += out.sum(1).numpy()
    hook.remove()
    size = np.array([20, 10]) * STEPS * DT
    ours, theirs = ours / size, theirs / size
    print(f"norse {md.version('norse')}, nir {md.version('nir')}, nirtorch "
          f"{md.version('nirtorch')}, torch {torch.__version__}; tolerance "
          f"{RTOL:.0%} + {ATOL:g} Hz")
    print(f"{'input (pA)':>10} {'A: norse':>9} {'neuroattn':>9} {'B: norse':>9} {'neuroattn':>9}")
    for lv, o, t in zip(levels, ours, theirs):
        print(f"{lv * 100:>10.0f} {t[0]:>9.1f} {o[0]:>9.1f} {t[1]:>9.1f} {o[1]:>9.1f}")
    ok = bool(np.all(np.abs(theirs - ours) <= ATOL + RTOL * np.abs(ours)) and ours[:, 1].min() > 10)
    print("agree" if ok else "DISAGREE")
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--venv", default="/tmp/venv-interop", help="the Norse environment")
    ap.add_argument("--check", action="store_true", help=argparse.SUPPRESS)  # inside the venv
    args = ap.parse_args(argv)
    if args.check:
        return check()
    python = setup(args.venv)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([python, os.path.abspath(__file__), "--check"], env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
