#!/usr/bin/env bash
# Step 9 (mma_sync.cu) on a lent GPU, alone, in about 5 minutes: its gpu tests, compute-sanitizer
# memcheck and racecheck on small awkward shapes, and the vendor comparison with the roofline.
#
#     OUT=/some/dir bash benchmarks/gpu/check_mma_sync.sh      # from the repo root
set -u
OUT="${OUT:-benchmarks/results/mma_sync_run}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=.
stage() { echo; echo "=== $1 ($(date -u +%H:%M:%S))"; }

stage "gpu tests: step 9 and matmul_epilogue"
timeout 150 python -m pytest -m gpu -q -p no:randomly -p no:cacheprovider tests/kernels/test_matmul_cuda.py \
  -k "mma or epilogue" 2>&1 | tee "$OUT/pytest_mma_sync.log" | tail -n 40 || true

cat > "$OUT/small_runs.py" <<'PY'
"""Every step-9 path once on small awkward shapes (for compute-sanitizer)."""
import cupy
import numpy as np

from glassgrad.kernels.cuda.bfloat16 import to_bfloat16_bits
from glassgrad.kernels.matmul.cuda_ladder import mma_sync_matmul

rng = np.random.default_rng(0)
for m, k, n in [(1, 1, 1), (67, 45, 93), (130, 67, 129), (33, 700, 17)]:
    a32 = cupy.asarray(rng.standard_normal((m, k), dtype=np.float32))
    b32 = cupy.asarray(rng.standard_normal((k, n), dtype=np.float32))
    bias = cupy.asarray(rng.standard_normal(n, dtype=np.float32))
    for a, b in [(a32, b32), (to_bfloat16_bits(a32), to_bfloat16_bits(b32)), (a32.astype(cupy.float16), b32.astype(cupy.float16))]:
        for x, y in [(a, b), (cupy.ascontiguousarray(a.T).T, cupy.ascontiguousarray(b.T).T)]:
            out_dtype = cupy.float16 if a.dtype == cupy.float16 else cupy.float32
            res = cupy.ones((m, n), dtype=out_dtype)
            for splits in (1, 3):
                mma_sync_matmul(x, y, bias=bias, activation="gelu_tanh", residual=res, splits=splits)
    mma_sync_matmul(to_bfloat16_bits(a32), to_bfloat16_bits(b32), tile="128x256", splits=1)
cupy.cuda.runtime.deviceSynchronize()
print("small runs done")
PY
for tool in memcheck racecheck; do
  stage "compute-sanitizer $tool"
  if command -v compute-sanitizer >/dev/null; then
    timeout 90 compute-sanitizer --tool "$tool" --print-limit 20 python "$OUT/small_runs.py" > "$OUT/mma_sync_$tool.txt" 2>&1 || true
    tail -n 8 "$OUT/mma_sync_$tool.txt"
  else
    echo "compute-sanitizer not found" | tee "$OUT/mma_sync_$tool.txt"
  fi
done

stage "every variant vs cuBLAS in its precision, measured peaks, roofline"
timeout 75 python benchmarks/gpu/vendor_matmul.py --repeat 5 --json "$OUT/matmul_vendor.json" \
  --plot "$OUT/matmul_roofline.png" 2>&1 | tee "$OUT/matmul_vendor.log" || true
stage "done"
ls -l "$OUT"
