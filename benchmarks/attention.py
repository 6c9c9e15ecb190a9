"""Attention kernels on the CPU: one run, one table, targets marked PASS/MISS.

    python benchmarks/attention.py [--quick] [--threads T]

Compares, on float32 [B, H, N, D] inputs: the fused Numba kernel, torch's SDPA (4-D
input: its fast path) and the numpy materialised softmax (skipped where its N x N
logits would exceed 4 GiB). Then binary spike attention (popcount logits + softmax)
against SDPA, the bit-packed softmax-free ``Q (K^T V)`` against float32 matmuls of the
same binary inputs, and local attention (window 256) against full attention.

Times are medians of a few runs, methods interleaved so machine load hits all alike.
Peak extra memory = the process's resident high-water mark during one call minus its
resident size before it (Linux /proc/self/clear_refs; output array included). The script
re-executes itself with ``MALLOC_MMAP_THRESHOLD_=65536`` so that freed buffers leave
the resident set (glibc otherwise keeps them and later calls look free).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch

from neuroattn.attention import reference_attention, scaled_dot_product_attention
from neuroattn.attention import spiking_self_attention

SIZES = [(1, 8, 1024, 64), (1, 8, 4096, 64), (1, 4, 16384, 64)]
MATERIALISED_LIMIT = 4 * 2**30   # bytes: logits, their exponentials and the weights
SPIKE_RATES = (0.2, 0.05)
WINDOW = 256
MIB = 2**20


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(field)


def peak_extra_bytes(fn) -> float:
    """Resident high-water mark during fn() minus resident size before it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return float("nan")
    before = _rss_kib("VmRSS:")
    fn()
    return (_rss_kib("VmHWM:") - before) * 1024.0


def timed(methods: dict, repeats: int) -> dict:
    """Median seconds per method; one warm-up call each, runs interleaved."""
    for fn in methods.values():
        fn()
    times = {name: [] for name in methods}
    for _ in range(repeats):
        for name, fn in methods.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def dense_section(sizes, repeats, rng):
    print("\n## Softmax attention, float32, non-causal (time = median)")
    print(f"{'B,H,N,D':>16} {'method':>13} {'time ms':>10} {'GFLOP/s':>8} {'vs SDPA':>8} "
          f"{'extra MiB':>10}")
    rows = []
    for b, h, n, d in sizes:
        q, k, v = (rng.standard_normal((b, h, n, d), dtype=np.float32) for _ in range(3))
        tq, tk, tv = (torch.from_numpy(x) for x in (q, k, v))
        methods = {
            "numba fused": lambda: scaled_dot_product_attention(q, k, v, backend="numba"),
            "torch SDPA": lambda: torch.nn.functional.scaled_dot_product_attention(tq, tk, tv),
        }
        need = 3 * 4 * b * h * n * n
        if need <= MATERIALISED_LIMIT:
            methods["numpy mater."] = lambda: reference_attention(q, k, v, dtype=np.float32)
        t = timed(methods, repeats if n < 16384 else max(1, repeats - 2))
        mem = {name: peak_extra_bytes(fn) for name, fn in methods.items()}
        flops = 4 * b * h * n * n * d
        for name in methods:
            print(f"{str((b, h, n, d)):>16} {name:>13} {1e3 * t[name]:10.1f} "
                  f"{flops / t[name] / 1e9:8.1f} {t[name] / t['torch SDPA']:8.2f} "
                  f"{mem[name] / MIB:10.1f}")
        if "numpy mater." not in methods:
            print(f"{str((b, h, n, d)):>16} {'numpy mater.':>13}    skipped: needs "
                  f"{need / 2**30:.0f} GiB (3 float32 N x N arrays) > 4 GiB")
        rows.append(((b, h, n, d), t, mem))
    return rows


def spike_section(sizes, repeats, rng):
    print("\n## Binary spike inputs, same shapes")
    print(f"{'B,H,N,D':>16} {'density':>7} {'method':>26} {'time ms':>10} {'speed-up':>8}")
    ratios = []
    for b, h, n, d in sizes:
        for rate in SPIKE_RATES:
            q, k, v = (rng.random((b, h, n, d)) < rate for _ in range(3))
            tq, tk, tv = (torch.from_numpy(x.astype(np.float32)) for x in (q, k, v))
            methods = {
                "Q(K^T V) bit-packed": lambda: spiking_self_attention(q, k, v),
                "Q(K^T V) float32 matmul": lambda: (tq @ (tk.transpose(-1, -2) @ tv)) * 0.125,
            }
            pairs = [("Q(K^T V) bit-packed", "Q(K^T V) float32 matmul")]
            if rate == SPIKE_RATES[0]:
                methods["softmax popcount kernel"] = lambda: scaled_dot_product_attention(
                    q, k, v, backend="spike")
                methods["softmax float SDPA"] = \
                    lambda: torch.nn.functional.scaled_dot_product_attention(tq, tk, tv)
                pairs.append(("softmax popcount kernel", "softmax float SDPA"))
            t = timed(methods, repeats if n < 16384 else max(1, repeats - 2))
            for fast, slow in pairs:
                for name in (fast, slow):
                    print(f"{str((b, h, n, d)):>16} {rate:7.2f} {name:>26} "
                          f"{1e3 * t[name]:10.2f} {t[slow] / t[name]:7.2f}x")
            ratios.append((rate, t["Q(K^T V) float32 matmul"] / t["Q(K^T V) bit-packed"]))
    print("(speed-up = time of the float method / time of this method; the bit-packed "
          "times include packing from bool arrays)")
    return ratios


def local_section(n, heads, full_time, repeats, rng):
    print(f"\n## Local attention, N={n}, window={WINDOW} (numba fused)")
    q, k, v = (rng.standard_normal((1, heads, n, 64), dtype=np.float32) for _ in range(3))
    t = timed({"local": lambda: scaled_dot_product_attention(q, k, v, window=WINDOW,
                                                             backend="numba")}, repeats)
    ideal = (2 * WINDOW + 1) / n
    print(f"local {1e3 * t['local']:.1f} ms vs full {1e3 * full_time:.1f} ms: ratio "
          f"{t['local'] / full_time:.4f} (visible fraction (2w+1)/N = {ideal:.4f}; "
          f"w/N = {WINDOW / n:.4f})")
    return t["local"] / full_time


def main(argv=None):
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first size only, 1 repeat")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for numba, torch and BLAS alike (default: all cores)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        import numba
        from threadpoolctl import threadpool_limits
        numba.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)
        threadpool_limits(limits=args.threads)
    sizes = SIZES[:1] if args.quick else SIZES
    repeats = 1 if args.quick else 5
    rng = np.random.default_rng(0)
    print(f"# neuroattn attention benchmark — {platform.machine()}, {os.cpu_count()} cores "
          f"(load average {os.getloadavg()[0]:.1f} at start), torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), numba threads "
          f"{__import__('numba').get_num_threads()}, numpy {np.__version__}")
    rows = dense_section(sizes, repeats, rng)
    spike_ratios = spike_section(sizes, repeats, rng)
    (b, h, n, _), t_last, mem_last = rows[-1]
    local_ratio = local_section(n, h, t_last["numba fused"], max(1, repeats - 2), rng)

    print("\n## Targets")
    worst = max(t["numba fused"] / t["torch SDPA"] for _, t, _ in rows)
    print(f"{verdict(worst <= 1.5)}  numba fused <= 1.5x torch SDPA time at every size "
          f"(worst {worst:.2f}x)")
    vs_mat = [t["numpy mater."] / t["numba fused"] for _, t, _ in rows if "numpy mater." in t]
    if vs_mat:
        print(f"{verdict(min(vs_mat) >= 5)}  numba fused >= 5x faster than numpy "
              f"materialised (worst {min(vs_mat):.1f}x; sizes where it ran)")
    mem = mem_last["numba fused"] / MIB
    print(f"{verdict(mem < 64)}  numba fused extra memory at N={n} < 64 MiB "
          f"({mem:.1f} MiB)")
    for rate in SPIKE_RATES:
        worst_spike = min(r for p, r in spike_ratios if p == rate)
        print(f"{verdict(worst_spike >= 4)}  bit-packed Q(K^T V) >= 4x faster than float32 "
              f"matmuls at spike density {rate} (worst {worst_spike:.1f}x)")
    ideal = (2 * WINDOW + 1) / n
    print(f"{verdict(local_ratio <= 2 * ideal)}  local attention time / full <= 2x the "
          f"visible fraction {ideal:.4f} (got {local_ratio:.4f})")


if __name__ == "__main__":
    main()
