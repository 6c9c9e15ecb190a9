"""Start-up: each command imports only what it needs (timings live in benchmarks/startup.py)."""

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "brian2", "numba", "snntorch", "triton")

PROBE = """
import json, sys
from neuroattn.cli import main
try:
    rc = main({argv!r})
except SystemExit as exc:
    rc = exc.code
sys.stdout.flush()
print("\\nMODULES=" + json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _imported(argv, tmp_path) -> list:
    code = PROBE.format(argv=argv, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path, env={**os.environ, "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr
    line = [x for x in done.stdout.splitlines() if x.startswith("MODULES=")][-1]
    return json.loads(line.split("=", 1)[1])


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["run", "--help"]])
def test_help_and_list_import_no_engine(argv, tmp_path):
    assert _imported(argv, tmp_path) == []


def test_a_numba_run_imports_neither_torch_nor_brian2(tmp_path):
    argv = ["run", "posner", "--backend", "numba", "--trials", "4", "--out", str(tmp_path),
            "--no-progress"]
    assert _imported(argv, tmp_path) == ["numba"]


def test_a_softmax_run_needs_no_brian2(tmp_path):
    argv = ["run", "pair", "--tier", "softmax", "--trials", "10", "--set",
            "agent.softmax_from=analytic", "--out", str(tmp_path), "--no-progress"]
    assert "brian2" not in _imported(argv, tmp_path)
