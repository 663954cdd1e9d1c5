#!/usr/bin/env bash
# Prepares a lent GPU machine's one call, here, at no device time: the packages of wheels.txt as Python 3.12
# wheels in .whl/, and the built-in model's tokenizer in .device/tokenizer/ (both git-ignored through
# .git/info/exclude). Then, on the device (see run.sh):
#   run(command="bash bench/device/run.sh", carry=[".whl", ".device"], timeout_s=540)
set -euo pipefail
cd "$(dirname "$0")/../.."
exclude="$(git rev-parse --git-path info/exclude)"
for path in /.whl/ /.device/; do grep -qxF "$path" "$exclude" 2>/dev/null || echo "$path" >>"$exclude"; done
mkdir -p .whl .device
platforms=()
for tag in manylinux_2_17 manylinux2014 manylinux_2_24 manylinux_2_27 manylinux_2_28 manylinux_2_31 manylinux_2_34 manylinux_2_35; do
  platforms+=(--platform "${tag}_x86_64")
done
grep -v '^#' bench/device/wheels.txt | grep -v '^$' | xargs .venv/bin/python -m pip download -q --no-deps \
  --only-binary=:all: --python-version 3.12 --implementation cp "${platforms[@]}" -d .whl
.venv/bin/python - <<'PY'
from pathlib import Path
import sys
sys.path.insert(0, "bench/device")
from shapes import copy_tokenizer
from openft.lm.loading import builtin_model_dir
print("tokenizer:", copy_tokenizer(builtin_model_dir(Path(".device/data")), Path(".device/tokenizer")))
PY
rm -rf .device/data
du -sh .whl .device
