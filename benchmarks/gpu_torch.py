"""GPU check of the torch engine: run its GPU tests, then print timings (CUDA vs CPU).

Usage (on a machine with CUDA; about 2-4 minutes)::

    python benchmarks/gpu_torch.py            # tests + timings
    python benchmarks/gpu_torch.py --no-tests # timings only

Prints, for the CUBA benchmark network (4000 LIF neurons, p = 0.02, 1 s at dt = 0.1 ms),
the wall time per batch on CUDA and on one CPU thread, and the time of one training step
(forward + backward) of a biased-competition circuit. Exits non-zero when a GPU test
fails; exits 0 with a message when CUDA is absent.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def cuba_timings(duration: float) -> None:
    from neuroattn.backends import simulate
    from neuroattn.model.library import cuba

    net = cuba(4000)
    kw = dict(duration=duration, dt=1e-4, seed=0, backend="torch")
    simulate(net, duration=0.01, dt=1e-4, backend="torch", device="cuda")  # warm-up
    cpu = _timed(lambda: simulate(net, trials=1, device="cpu", threads=1, **kw))
    print(f"cuba 4000 x {duration:g} s, 1 trial, CPU 1 thread: {cpu:7.2f} s", flush=True)
    for trials in (1, 16, 128):
        for dtype in ("float32", "float64"):
            holder = {}
            wall = _timed(lambda: holder.setdefault(
                "rec", simulate(net, trials=trials, device="cuda", dtype=dtype, **kw)))
            rates = holder["rec"].rates.mean(axis=(0, 1))
            print(f"cuba 4000 x {duration:g} s, {trials:3d} trials, CUDA {dtype}: {wall:7.2f} s "
                  f"({wall / trials:.3f} s/trial, {cpu * trials / wall:6.1f}x CPU); "
                  f"rates {rates.round(2)} Hz", flush=True)


def training_timing() -> None:
    from neuroattn.backends.torch import SpikingNetworkModule
    from neuroattn.mechanisms.biased_competition import LIFCircuit
    from neuroattn.model import TaskSpec

    circuit = LIFCircuit(k=4, n_exc=40, n_inh=20)
    model = circuit.spiking_model(TaskSpec("space", 4, inputs=("evidence",)))
    for device in ("cpu", "cuda"):
        m = SpikingNetworkModule(model.network, model.drives,
                                 dt=1e-4, stimulus_dt=0.2, device=device,
                                 trainable=("weights", "i_bias", "tau_mem"))
        x = torch.rand(32, 1, 4, device=device) * 1.5
        wall = _timed(lambda: m(x, seed=0).mean().backward())
        print(f"training step (K=4, 180 neurons, 32 trials x 0.2 s, dt 0.1 ms) on {device}: "
              f"{wall:.2f} s", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-tests", action="store_true", help="skip the pytest run")
    ap.add_argument("--duration", type=float, default=1.0, help="CUBA duration (s)")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("gpu_torch: CUDA is not available; nothing to check")
        return 0
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}", flush=True)
    rc = 0
    if not args.no_tests:
        rc = subprocess.call([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p",
                              "no:cacheprovider", str(ROOT / "tests/gpu/test_torch_gpu.py")],
                             cwd=ROOT)
    cuba_timings(args.duration)
    training_timing()
    return rc


if __name__ == "__main__":
    sys.exit(main())
