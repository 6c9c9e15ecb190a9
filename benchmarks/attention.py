"""Attention kernels on the CPU: one run, one table, targets marked PASS/MISS.

    python benchmarks/attention.py [--quick] [--threads T]

Compares, on float32 [B, H, N, D] inputs: the fused Numba kernel, torch's SDPA (4-D
input: its fast path) and the numpy materialised softmax (skipped where its N x N
logits would exceed 4 GiB). Then binary spike attention (popcount logits + softmax)
against SDPA, the bit-packed softmax-free ``Q (K^T V)`` against float32 matmuls of the
same binary inputs, and local attention (window 256) against full attention.

Times are medians of a few runs, methods interleaved so machine load hits all alike.
The script re-executes itself with the thread pools' idle threads set to sleep
(``IDLE_THREADS_SLEEP``), and times with glibc keeping freed buffers up to 32 MiB for
reuse (``malloc_steady_state``: a loop's steady state, the same for every method).
Peak extra memory = the process's resident high-water mark during one call minus its
resident size before it (Linux /proc/self/clear_refs; output array included), measured
with malloc's mmap threshold at 64 KiB so that freed buffers leave the resident set.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
from _memory import rss_kib

from neuroattn.attention import reference_attention, scaled_dot_product_attention
from neuroattn.attention import pack_spikes, spiking_self_attention
from neuroattn.attention.spike import spiking_self_attention_packed

SIZES = [(1, 8, 1024, 64), (1, 8, 4096, 64), (1, 4, 16384, 64)]
MATERIALISED_LIMIT = 4 * 2**30   # bytes: logits, their exponentials and the weights
SPIKE_RATES = (0.2, 0.05)
WINDOW = 256
MIB = 2**20
#: Three thread pools share the cores here: numba's and torch's OpenMP runtimes and
#: numpy's OpenBLAS. By default each one's idle threads spin for a while after a call,
#: taking the cores from whichever pool runs next (with 2 cores, the interleaved timings
#: came out 5-100x too slow, at random). Idle threads sleep instead with these settings.
IDLE_THREADS_SLEEP = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}


_LIBC = ctypes.CDLL(None)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3   # glibc mallopt parameters


def malloc_steady_state() -> None:
    """Timing: freed buffers up to 32 MiB stay with malloc for reuse.

    glibc's default raises its mmap threshold to the size of freed large buffers (up to
    32 MiB), so a loop calling a kernel reuses the previous output's pages. Fixing the
    threshold at that value gives every method the same, repeatable allocator state;
    without it each output would be a fresh mmap and pay a page fault per 4 KiB.
    """
    _LIBC.mallopt(_M_MMAP_THRESHOLD, 32 * MIB)
    _LIBC.mallopt(_M_TRIM_THRESHOLD, 64 * MIB)


def peak_extra_bytes(fn) -> float:
    """Resident high-water mark during fn() minus resident size before it."""
    _LIBC.mallopt(_M_MMAP_THRESHOLD, 65536)   # freed buffers leave the resident set
    _LIBC.mallopt(_M_TRIM_THRESHOLD, 0)
    _LIBC.malloc_trim(0)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = rss_kib("VmRSS:")
        fn()
        return (rss_kib("VmHWM:") - before) * 1024.0
    except OSError:
        return float("nan")
    finally:
        malloc_steady_state()


def timed(methods: dict, repeats: int, settle: bool = False) -> dict:
    """Median seconds per method; one warm-up call each, runs interleaved.

    ``settle``: each timed call follows an untimed call of the same method, so that a
    sub-millisecond kernel does not pay for the state (caches, freed buffers) that the
    previous, different method left behind.
    """
    for fn in methods.values():
        fn()
    times = {name: [] for name in methods}
    for _ in range(repeats):
        for name, fn in methods.items():
            if settle:
                fn()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def dense_section(sizes, repeats, rng):
    print("\n## Softmax attention, float32 inputs, non-causal (time = median)")
    print("numpy f64 ref = reference_attention(q, k, v): the library's reference backend, "
          "materialised in float64;\nnumpy f32 mat. = the same materialised softmax in "
          "float32 (reference_attention(..., dtype=np.float32)).")
    print(f"{'B,H,N,D':>16} {'method':>14} {'time ms':>10} {'GFLOP/s':>8} {'vs SDPA':>8} "
          f"{'extra MiB':>10}")
    rows = []
    for b, h, n, d in sizes:
        q, k, v = (rng.standard_normal((b, h, n, d), dtype=np.float32) for _ in range(3))
        tq, tk, tv = (torch.from_numpy(x) for x in (q, k, v))
        methods = {
            "numba fused": lambda: scaled_dot_product_attention(q, k, v, backend="numba"),
            "torch SDPA": lambda: torch.nn.functional.scaled_dot_product_attention(tq, tk, tv),
        }
        skipped = []
        for name, dtype in (("numpy f64 ref", np.float64), ("numpy f32 mat.", np.float32)):
            need = 3 * np.dtype(dtype).itemsize * b * h * n * n
            if need <= MATERIALISED_LIMIT:
                methods[name] = (lambda dt: lambda: reference_attention(q, k, v, dtype=dt))(
                    dtype)
            else:
                skipped.append((name, need, dtype))
        t = timed(methods, repeats if n < 16384 else max(1, repeats - 2))
        mem = {name: peak_extra_bytes(fn) for name, fn in methods.items()}
        flops = 4 * b * h * n * n * d
        for name in methods:
            print(f"{str((b, h, n, d)):>16} {name:>14} {1e3 * t[name]:10.1f} "
                  f"{flops / t[name] / 1e9:8.1f} {t[name] / t['torch SDPA']:8.2f} "
                  f"{mem[name] / MIB:10.1f}")
        for name, need, dtype in skipped:
            print(f"{str((b, h, n, d)):>16} {name:>14}    skipped: needs "
                  f"{need / 2**30:.0f} GiB (3 {np.dtype(dtype).name} N x N arrays) > "
                  f"{MATERIALISED_LIMIT / 2**30:.0f} GiB")
        rows.append(((b, h, n, d), t, mem))
    return rows


def spike_section(sizes, repeats, rng):
    print("\n## Binary spike inputs, same shapes (float methods get float32 0/1 tensors)")
    print("packed kernel = spiking_self_attention_packed on pack_spikes'd q, k, v (the "
          "library's spike format);\npack_spikes = packing bool q, k, v (3 calls); from bool = "
          "spiking_self_attention on bool arrays (packing + kernel);\nfloat32 BLAS = "
          "Q @ ((K^T @ V) * scale), 4-D contiguous float32, torch (MKL) and numpy "
          "(OpenBLAS);\nspeed-up = time of the faster float32 matmul pair / time of the "
          "method.")
    print(f"{'B,H,N,D':>16} {'density':>7} {'method':>26} {'time ms':>10} {'speed-up':>8}")
    ratios = []
    for b, h, n, d in sizes:
        for rate in SPIKE_RATES:
            q, k, v = (rng.random((b, h, n, d)) < rate for _ in range(3))
            qp, kp, vp = (pack_spikes(x) for x in (q, k, v))
            fq, fk, fv = (x.astype(np.float32) for x in (q, k, v))
            tq, tk, tv = (torch.from_numpy(x) for x in (fq, fk, fv))
            methods = {
                "Q(K^T V) packed kernel":
                    lambda: spiking_self_attention_packed(qp, kp, vp, d, d, 0.125),
                "pack_spikes(q, k, v)": lambda: [pack_spikes(x) for x in (q, k, v)],
                "Q(K^T V) from bool": lambda: spiking_self_attention(q, k, v, 0.125),
                "Q(K^T V) float32 torch": lambda: tq @ ((tk.transpose(-1, -2) @ tv) * 0.125),
                "Q(K^T V) float32 numpy":
                    lambda: fq @ ((np.swapaxes(fk, -1, -2) @ fv) * np.float32(0.125)),
            }
            if rate == SPIKE_RATES[0]:
                methods["softmax popcount kernel"] = lambda: scaled_dot_product_attention(
                    q, k, v, backend="spike")
                methods["softmax float SDPA"] = \
                    lambda: torch.nn.functional.scaled_dot_product_attention(tq, tk, tv)
            # settle: the sub-millisecond kernels follow second-long softmax calls
            t = timed(methods, repeats if n < 16384 else max(1, repeats - 2), settle=True)
            blas = min(t["Q(K^T V) float32 torch"], t["Q(K^T V) float32 numpy"])
            for name in methods:
                slow = t["softmax float SDPA"] if name.startswith("softmax") else blas
                print(f"{str((b, h, n, d)):>16} {rate:7.2f} {name:>26} "
                      f"{1e3 * t[name]:10.2f} {slow / t[name]:7.2f}x")
            ratios.append((rate, blas / t["Q(K^T V) packed kernel"],
                           blas / t["Q(K^T V) from bool"]))
    print("(softmax rows: speed-up against torch SDPA on the float32 0/1 tensors)")
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
    if "OMP_WAIT_POLICY" not in os.environ:
        env = dict(os.environ, **IDLE_THREADS_SLEEP)
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    malloc_steady_state()
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
    vs_ref = [t["numpy f64 ref"] / t["numba fused"] for _, t, _ in rows
              if "numpy f64 ref" in t]
    vs_f32 = [t["numpy f32 mat."] / t["numba fused"] for _, t, _ in rows
              if "numpy f32 mat." in t]
    if vs_ref:
        print(f"{verdict(min(vs_ref) >= 5)}  numba fused >= 5x faster than the materialised "
              f"float64 reference (numpy f64 ref) (worst {min(vs_ref):.1f}x; sizes where it "
              f"ran) [for information: vs float32 numpy materialised, worst "
              f"{min(vs_f32):.1f}x]")
    mem = mem_last["numba fused"] / MIB
    print(f"{verdict(mem < 64)}  numba fused extra memory at N={n} < 64 MiB "
          f"({mem:.1f} MiB)")
    for rate in SPIKE_RATES:
        worst_spike = min(r for p, r, _ in spike_ratios if p == rate)
        worst_bool = min(r for p, _, r in spike_ratios if p == rate)
        print(f"{verdict(worst_spike >= 4)}  bit-packed Q(K^T V) kernel on packed spikes >= "
              f"4x faster than the faster float32 BLAS matmul pair at spike density {rate} "
              f"(worst {worst_spike:.1f}x) [packing from bool included: worst "
              f"{worst_bool:.1f}x]")
    ideal = (2 * WINDOW + 1) / n
    print(f"{verdict(local_ratio <= 2 * ideal)}  local attention time / full <= 2x the "
          f"visible fraction {ideal:.4f} (got {local_ratio:.4f})")


if __name__ == "__main__":
    main()
