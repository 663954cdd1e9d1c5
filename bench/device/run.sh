#!/usr/bin/env bash
# A lent GPU machine's check in one call (prepare.sh first, here): installs the carried wheels, writes the
# random-weight SmolLM2 shapes, then times SFT at each shape (TRL's SFTConfig defaults against an openft
# job, bench/sft_throughput.py), openft's SFT at the last shape without Liger's fused kernels
# (OPENFT_FUSED_KERNELS=false: what they are worth), DPO and serving at the first. Every output lands in
# $OUT; nothing is installed into the image. Environment: SHAPES (default 360M,1.7B), EXAMPLES (256),
# STEPS (sft unfused dpo serve), BASELINES (defaults: the TRL runs, comma-separated, "" for none),
# STEP_TIMEOUT (100 s a benchmark: five fit a 540 s call),
# PYTHON (python3), NO_WHEELS=1 (PYTHON's own packages: a rehearsal on this CPU).
set -uo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
SHAPES=${SHAPES:-360M,1.7B}
EXAMPLES=${EXAMPLES:-256}
STEPS=${STEPS:-sft unfused dpo serve}
BASELINES=${BASELINES-defaults}
STEP_TIMEOUT=${STEP_TIMEOUT:-100}
export PYTHONUNBUFFERED=1
if [ -z "${NO_WHEELS:-}" ]; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
{
  date -u; git log -1 --format='commit %h %s' 2>/dev/null
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no GPU"
  "$PYTHON" -c "import torch, transformers, trl, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'trl', trl.__version__, 'peft', peft.__version__)"
} 2>&1 | tee "$OUT/machine.txt"
"$PYTHON" bench/device/shapes.py --tokenizer .device/tokenizer --out /tmp/shapes --shapes "$SHAPES" 2>&1 | tee "$OUT/shapes.txt"
first=${SHAPES%%,*}
last=${SHAPES##*,}
bench() {  # name, then the benchmark's command line; its whole output to $OUT/name.txt, its end here
  local name=$1; shift
  echo "== $name"
  timeout "$STEP_TIMEOUT" "$PYTHON" "$@" 2>&1 | tee "$OUT/$name.txt" | tail -14
}
for step in $STEPS; do
  case $step in
    sft) for shape in ${SHAPES//,/ }; do
           bench "sft_$shape" bench/sft_throughput.py --model-path "/tmp/shapes/$shape" --examples "$EXAMPLES" \
             --batch-size 8 --baselines "$BASELINES" --no-float32-twin --data-dir "/tmp/bench-sft-$shape"
         done ;;
    unfused) OPENFT_FUSED_KERNELS=false bench "sft_${last}_unfused" bench/sft_throughput.py \
               --model-path "/tmp/shapes/$last" --examples "$EXAMPLES" --batch-size 8 --baselines "" \
               --no-float32-twin --data-dir "/tmp/bench-sft-$last-unfused" ;;
    dpo) bench "dpo_$first" bench/sft_throughput.py --method dpo --model-path "/tmp/shapes/$first" \
           --examples "$EXAMPLES" --batch-size 8 --baselines "$BASELINES" --no-float32-twin --data-dir /tmp/bench-dpo ;;
    serve) bench "serve_$first" bench/serve_latency.py --model-path "/tmp/shapes/$first" --max-tokens 128 --repeats 3 ;;
  esac
done
echo "outputs: $OUT"
