#!/usr/bin/env bash
# Time the full profile on a GPU machine that has PyTorch but no Jupyter and no network
# (how report/gpu_timing.json was made). Expects, beside the checkout's root, a folder .gpu/ with
# whl/ (IPython and its pure-Python dependencies as wheels) and mnist/ (the four MNIST .gz
# archives); writes per-notebook wall times to $OUT/gpu_timing.json. NBS="notebooks/03_... ..."
# restricts the run to some notebooks (models cached by earlier ones are reused).
set -u
mkdir -p data/MNIST/raw && cp .gpu/mnist/*.gz data/MNIST/raw/
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 CUBLAS_WORKSPACE_CONFIG=:4096:8 EX3_PROFILE=full MPLBACKEND=Agg
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/gpu.txt
python3 -c "import torch;print(torch.__version__, torch.cuda.get_device_name())" >> $OUT/gpu.txt
echo "{}" > $OUT/gpu_timing.json; ls artifacts/full 2>/dev/null | wc -l
start=$(date +%s.%N)
for nb in ${NBS:-notebooks/0*.ipynb}; do
  t0=$(date +%s.%N)
  python3 benchmarks/gpu/run_one.py $nb full > $OUT/$(basename $nb .ipynb).log 2>&1 || { echo "FAILED $nb"; tail -30 $OUT/$(basename $nb .ipynb).log; break; }
  t1=$(date +%s.%N)
  python3 - "$nb" "$t0" "$t1" <<'PY'
import json, os, sys
p = os.path.join(os.environ["OUT"], "gpu_timing.json"); d = json.load(open(p))
d[os.path.basename(sys.argv[1])] = round(float(sys.argv[3]) - float(sys.argv[2]), 1); json.dump(d, open(p, "w"), indent=1)
PY
  echo "$nb $(python3 -c "print(round($t1-$t0,1))") s"
done
cp report/metrics.json $OUT/metrics_gpu.json 2>/dev/null
echo total $(python3 -c "print(round($(date +%s.%N)-$start,1))") s
