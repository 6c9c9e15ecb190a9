#!/usr/bin/env bash
# Checks to run on a machine with a CUDA GPU, as one script (a few minutes in all).
#
#     bash benchmarks/gpu_check.sh            # PYTHON=... to choose the interpreter
#
# Each part prints its own table; a failing part does not stop the others, and the
# script exits non-zero if any part failed. Keep every part short: the GPU time that
# runs this is rationed. Add a part as a function below and list it in PARTS.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python
export MPLBACKEND=Agg

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null \
  || echo "nvidia-smi: not available"
echo "cpus: $(nproc)"
"$PYTHON" - <<'EOF'
import numba, torch
print(f"python ok; numba {numba.__version__} ({numba.get_num_threads()} threads); "
      f"torch {torch.__version__}, cuda available: {torch.cuda.is_available()}")
EOF

# --- spiking engines: the Numba engine on all of this machine's cores against the torch
# engine on the GPU (CUBA 4000 x 0.2 s; Posner, 32 trials x 500 neurons x 0.5 s).
# Brian2 is left out: its timings belong to the 2-core reference machine.
part_spiking() {
  "$PYTHON" benchmarks/spiking.py --quick --engines numba,torch-cuda
}

# --- the GPU test files: the torch engine against the numpy spec and the CPU run on
# CUDA, and the attention kernels (Triton, SDPA) against the float64 reference.
part_gpu_tests() {
  "$PYTHON" -m pytest -q -p no:cacheprovider tests/gpu
}

# --- the torch spiking engine: CUDA against CPU timings.
part_torch() {
  "$PYTHON" benchmarks/gpu_torch.py
}

# --- the Triton attention kernel against torch SDPA, bf16 and fp16, N >= 4096.
part_attention() {
  "$PYTHON" benchmarks/gpu_attention.py
}

PARTS=(part_gpu_tests part_spiking part_torch part_attention)

failed=0
for part in "${PARTS[@]}"; do
  echo "== ${part#part_}"
  start=$(date +%s)
  if ! "$part"; then
    echo "!! ${part#part_} failed"
    failed=1
  fi
  echo "   (${part#part_}: $(( $(date +%s) - start )) s)"
done
exit $failed
