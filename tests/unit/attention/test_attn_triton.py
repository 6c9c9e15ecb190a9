"""The Triton kernel, run by Triton's interpreter on CPU tensors (TRITON_INTERPRET=1).

Triton reads TRITON_INTERPRET when it is imported, so the checks run in a fresh Python
process with the variable set before anything imports triton; this keeps the setting
out of the other tests of this process. The child prints one JSON line per case.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("triton") is None,
                                reason="triton is not installed (pip install triton==3.9.0)")

_CHILD = textwrap.dedent("""
    import json, os
    assert os.environ["TRITON_INTERPRET"] == "1"
    import numpy as np, torch
    from neuroattn.attention import available_backends, reference_attention
    from neuroattn.attention import scaled_dot_product_attention as sdpa
    from neuroattn.attention._validate import check_attention
    from neuroattn.attention.triton_kernel import interpreting, triton_attention
    assert interpreting() and available_backends()["triton"] is None
    rng = np.random.default_rng(0)
    cases = [
        ((2, 97, 16), 97, 8, {}),
        ((1, 1, 1), 1, 1, {}),
        ((2, 3, 40, 97), 50, 5, {"causal": True}),
        ((2, 70, 8), 90, 8, {"mask": "full", "temperature": 0.5}),
        ((2, 70, 8), 90, 8, {"mask": "keys"}),
        ((1, 150, 8), 150, 4, {"window": 9}),
        ((1, 150, 8), 150, 4, {"window": 5, "global_tokens": [0, 100], "causal": True}),
    ]
    for dtype in ("float32", "float16"):
        for shape, m, dv, opts in cases:
            *batch, n, d = shape
            q = rng.normal(size=shape); k = rng.normal(size=(*batch, m, d))
            v = rng.normal(size=(*batch, m, dv))
            kw = dict(opts)
            if kw.get("mask") == "full":
                kw["mask"] = rng.random((*batch, n, m)) > 0.5
                kw["mask"][0, n // 2] = False
            elif kw.get("mask") == "keys":
                kw["mask"] = rng.random((*batch, m)) > 0.5
            ref = reference_attention(q, k, v, **kw)
            lo = [x.astype(dtype) for x in (q, k, v)]
            low = reference_attention(*lo, dtype=dtype, **kw).astype(np.float64)
            tq = [torch.from_numpy(x) for x in lo]
            tkw = {a: (torch.from_numpy(b) if isinstance(b, np.ndarray) else b)
                   for a, b in kw.items()}
            out = sdpa(*tq, backend="triton", **tkw)
            small = triton_attention(check_attention(*tq, **tkw), block_m=16, block_n=16)
            row_zero = bool((out[0, n // 2] == 0).all()) if "mask" in opts else None
            print(json.dumps({"dtype": dtype, "shape": shape, "opts": sorted(opts),
                              "type_ok": out.dtype == tq[0].dtype and out.shape == ref.shape,
                              "err": float(np.abs(out.double().numpy() - ref).max()),
                              "err_small_blocks": float(np.abs(small.double().numpy()
                                                               - ref).max()),
                              "err_low": float(np.abs(low - ref).max()),
                              "vmax": float(np.abs(v).max()), "row_zero": row_zero}))
""")


@pytest.fixture(scope="module")
def results():
    env = dict(os.environ, TRITON_INTERPRET="1")
    proc = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def test_every_case_ran(results):
    assert len(results) == 14
    assert all(r["type_ok"] for r in results)


def test_meets_the_error_rule(results):
    for r in results:
        eps = 1.2e-7 if r["dtype"] == "float32" else 9.8e-4
        floor = 16 * eps * max(1.0, r["vmax"])
        for err in (r["err"], r["err_small_blocks"]):
            assert err <= 2 * r["err_low"] + floor, r


def test_fully_masked_rows_are_zero(results):
    masked = [r for r in results if r["row_zero"] is not None and "temperature" in r["opts"]]
    assert masked and all(r["row_zero"] for r in masked)
