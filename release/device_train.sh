#!/usr/bin/env bash
# The command run on a lent accelerator (one H100/H200, Python 3.12 with JAX, no Keras, no
# network), from the project root, with .device/ carried along, once or several times:
#
#   python release/pack_device.py                      # here, first: builds .device/
#   python release/device_plan.py --used 0             # here: prints the calls for the time left
#   bash release/device_train.sh --deadline 565 ...    # there, call 1: trains, writes $OUT
#   bash release/device_train.sh --resume ...          # there, call 2: resumes call 1's state
#   OUT=$(mktemp -d) bash release/device_train.sh --rehearse   # here: the same path on this CPU
#
# It installs the carried wheels (keras, namex, optree) into a temporary target offline, selects
# the JAX backend and runs release/device_train.py; extra arguments go to that script
# (python release/device_train.py --help). $OUT defaults to out/device/; the training state and
# the compilation cache stay in out/device-state/ (ignored, not carried: it outlives a call
# while the machine is held, and carrying .device again does not replace it).
set -euo pipefail
started=$(date +%s.%N)
cd "$(dirname "$0")/.."

device_dir=${DEVICE_DIR:-.device}
if [ ! -f "$device_dir/manifest.json" ]; then
  echo "device_train: error: '$device_dir/manifest.json' is missing: run 'python release/pack_device.py' first and carry .device" >&2
  exit 2
fi
wheels=("$device_dir"/wheels/*.whl)
for argument in "$@"; do
  if [ "$argument" = "--rehearse" ]; then
    # This machine's Python: the pure-Python wheels, and the compiled ones built for it.
    wheels=("$device_dir"/wheels/*-none-any.whl "$device_dir"/wheels-local/*.whl)
  fi
done

site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --disable-pip-version-check --target "$site" "${wheels[@]}"
export PYTHONPATH="$site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3
export OUT=${OUT:-out/device}
mkdir -p "$OUT"
python3 release/device_train.py --device-dir "$device_dir" --out "$OUT" --started "$started" "$@"
