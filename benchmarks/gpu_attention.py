"""Triton attention kernel vs torch SDPA on a CUDA GPU (called from gpu_check.sh).

    python benchmarks/gpu_attention.py

For fp16 and bf16 [B, H, N, 64] inputs at N in 4096, 8192, 16384 (non-causal and
causal): checks the kernel against SDPA (FlashAttention's rule against a float32
materialised reference on a small case first), then times both with CUDA events
(median of 20 runs after warm-up) and prints TFLOP/s, the ratio to SDPA and PASS/MISS
for the target (Triton <= 1.3x SDPA's time at N >= 4096). Exits 0 with a message when
CUDA or Triton is absent.
"""

from __future__ import annotations

import statistics
import sys

SIZES = [(4, 16, 4096, 64), (2, 16, 8192, 64), (1, 16, 16384, 64)]
TARGET = 1.3


def _timed(fn, repeats=20):
    import torch
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) * 1e-3)
    return statistics.median(times)


def _check_accuracy(dtype) -> tuple:
    """(max error of the kernel, max error of SDPA) against a float64 reference."""
    import torch

    from neuroattn.attention import scaled_dot_product_attention
    g = torch.Generator(device="cuda").manual_seed(0)
    q, k, v = (torch.randn(2, 4, 1000, 64, device="cuda", generator=g).to(dtype)
               for _ in range(3))
    mask = torch.rand(2, 1, 1000, 1000, device="cuda", generator=g) > 0.2
    ref = scaled_dot_product_attention(q.double(), k.double(), v.double(), mask=mask,
                                       causal=True, backend="torch")
    ours = scaled_dot_product_attention(q, k, v, mask=mask, causal=True, backend="triton")
    sdpa = scaled_dot_product_attention(q, k, v, mask=mask, causal=True, backend="torch")
    err = (ours.double() - ref).abs().max().item()
    err_sdpa = (sdpa.double() - ref).abs().max().item()
    return err, err_sdpa


def main() -> int:
    try:
        import torch
    except ImportError:
        print("gpu_attention: torch is not installed; nothing to do")
        return 0
    if not torch.cuda.is_available():
        print("gpu_attention: no CUDA device; skipped (the Triton kernel is tested on the "
              "CPU under TRITON_INTERPRET=1)")
        return 0
    from neuroattn.attention import available_backends, scaled_dot_product_attention
    reason = available_backends()["triton"]
    if reason is not None:
        print(f"gpu_attention: triton backend unavailable: {reason}; skipped")
        return 0
    print(f"# Triton attention vs SDPA on {torch.cuda.get_device_name()}, torch "
          f"{torch.__version__}")
    ok = True
    for dtype in (torch.float16, torch.bfloat16):
        err, err_sdpa = _check_accuracy(dtype)
        good = err <= 2 * err_sdpa + 1e-3
        ok &= good
        print(f"accuracy {str(dtype):>15}: max err {err:.2e} (SDPA {err_sdpa:.2e}) "
              f"{'PASS' if good else 'MISS'} (<= 2x SDPA's + 1e-3)")
    print(f"{'dtype':>15} {'B,H,N,D':>20} {'causal':>6} {'triton ms':>10} {'SDPA ms':>9} "
          f"{'TFLOP/s':>8} {'ratio':>6}")
    worst = 0.0
    for dtype in (torch.float16, torch.bfloat16):
        for b, h, n, d in SIZES:
            q, k, v = (torch.randn(b, h, n, d, device="cuda", dtype=dtype) for _ in range(3))
            for causal in (False, True):
                t_ours = _timed(lambda: scaled_dot_product_attention(
                    q, k, v, causal=causal, backend="triton"))
                t_sdpa = _timed(lambda: torch.nn.functional.scaled_dot_product_attention(
                    q, k, v, is_causal=causal))
                flops = 4 * b * h * n * n * d / (2 if causal else 1)
                ratio = t_ours / t_sdpa
                worst = max(worst, ratio)
                print(f"{str(dtype):>15} {str((b, h, n, d)):>20} {str(causal):>6} "
                      f"{1e3 * t_ours:10.3f} {1e3 * t_sdpa:9.3f} "
                      f"{flops / t_ours / 1e12:8.1f} {ratio:6.2f}")
            del q, k, v
    passed = worst <= TARGET
    print(f"{'PASS' if passed else 'MISS'}  Triton <= {TARGET}x SDPA time at N >= 4096 "
          f"(worst {worst:.2f}x)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
