#!/usr/bin/env bash
# Trains bcegan and the PyTorch reference trainer for the same number of minutes, one run
# after another with the same thread count. Then prints the sample quality of each as
# `bcegan eval` measures it (FID, classes covered, precision and recall), with the FID
# floor (real images against real images) and ceiling (noise images) of the evaluation.
#
# The runs: `bcegan train` with its default settings, then
# bench/gan_reference_pytorch.py twice, with the course's hyperparameters
# (--preset course) and with bcegan's defaults (--preset bcegan).
#
# Usage: bench/compare-quality.sh [--minutes 5] [--model mlp|dcgan] [--data DIR]
#        [--threads N] [--out DIR]
# --threads defaults to the number of cores; --out to a new folder under
# target/compare-quality/. PyTorch comes from $PYTHON when set, else .venv/bin/python when
# present, else python3. Without torch the script trains and scores bcegan alone and
# prints the reason.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=5
model=mlp
data=
threads=$(nproc)
out=
# Images each PyTorch run writes for `bcegan eval`.
count=10000
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) minutes=$2; shift 2 ;;
        --model) model=$2; shift 2 ;;
        --data) data=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "error: unknown option $1; use --minutes M, --model mlp|dcgan, --data DIR, --threads N or --out DIR" >&2; exit 2 ;;
    esac
done
case "$model" in
    mlp|dcgan) ;;
    *) echo "error: invalid --model $model: use mlp or dcgan" >&2; exit 2 ;;
esac
if ! [[ "$minutes" =~ ^[0-9]+([.][0-9]+)?$ ]] || [[ "$minutes" =~ ^0+([.]0+)?$ ]]; then
    echo "error: invalid --minutes $minutes: write a number of minutes greater than 0, such as 5 or 0.5" >&2
    exit 2
fi
if ! [[ "$threads" =~ ^[1-9][0-9]*$ ]]; then
    echo "error: invalid --threads $threads: write a whole number of at least 1" >&2
    exit 2
fi
if [ -n "$data" ] && [ ! -d "$data" ]; then
    echo "error: invalid --data $data: not a folder" >&2
    exit 2
fi

if [ -z "$out" ]; then
    out=target/compare-quality/$(date +%Y%m%d-%H%M%S)-$model
fi
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
    echo "error: --out $out is not empty; choose a new folder" >&2
    exit 2
fi
mkdir -p "$out"

python=${PYTHON:-python3}
[ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ] && python=.venv/bin/python
data_args=()
[ -n "$data" ] && data_args=(--data "$data")

cargo build --release -p bcegan --quiet
bcegan=target/release/bcegan
if ! "$bcegan" eval --help >/dev/null 2>&1; then
    echo "error: this build of bcegan has no eval command; build a version that has it" >&2
    exit 1
fi
have_torch=yes
if ! "$python" -c 'import torch, numpy' 2>/dev/null; then
    have_torch=
    echo "PyTorch skipped: torch or numpy is not installed for $python (pip install torch numpy into .venv)" >&2
fi

echo "outputs in $out" >&2
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# The step limit is far beyond what the minutes allow, so that the time limit ends the run.
echo "training bcegan ($model, $minutes min, $threads threads)" >&2
"$bcegan" train --model "$model" "${data_args[@]}" --time-limit "${minutes}m" \
    --steps 1000000000 --threads "$threads" --out "$out/bcegan-run" \
    > "$out/bcegan-train.txt" 2> "$out/bcegan-train.log"

presets=()
[ -n "$have_torch" ] && presets=(course bcegan)
for preset in "${presets[@]}"; do
    echo "training the PyTorch reference ($model, preset $preset, $minutes min, $threads threads)" >&2
    "$python" bench/gan_reference_pytorch.py --model "$model" --preset "$preset" \
        "${data_args[@]}" --minutes "$minutes" --threads "$threads" \
        --samples-npy "$out/pytorch-$preset.npy" --count "$count" --json \
        > "$out/pytorch-$preset.json" 2> "$out/pytorch-$preset.log"
done
echo "load average after training: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Every set is scored on the same number of images: FID depends on the sample size.
echo "evaluating" >&2
RAYON_NUM_THREADS=$threads "$bcegan" eval "$out/bcegan-run" "${data_args[@]}" \
    --count "$count" --json > "$out/eval-bcegan.json"
RAYON_NUM_THREADS=$threads "$bcegan" eval "$out/bcegan-run/checkpoint-best.safetensors" \
    "${data_args[@]}" --count "$count" --json > "$out/eval-bcegan-best.json"
for preset in "${presets[@]}"; do
    RAYON_NUM_THREADS=$threads "$bcegan" eval "$out/pytorch-$preset.npy" "${data_args[@]}" \
        --count "$count" --json > "$out/eval-pytorch-$preset.json"
done

"$python" - "$out" "$model" "$minutes" "$threads" "${presets[@]}" <<'PY'
import json
import os
import re
import sys

out, model, minutes, threads, presets = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]


def load_json(path):
    """Returns the JSON object in the file at path: the whole file (bcegan eval prints one
    indented object), else its last line that starts with '{'."""
    with open(path) as handle:
        text = handle.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    lines = [line for line in text.splitlines() if line.strip().startswith("{")]
    if not lines:
        sys.exit(f"error: no JSON object in {path}")
    return json.loads(lines[-1])


def find(record, names):
    """Returns the value of the first key in names found in record or its nested objects,
    searching breadth-first, or None."""
    queue = [record]
    while queue:
        current = queue.pop(0)
        if isinstance(current, dict):
            for name in names:
                if name in current:
                    return current[name]
            queue.extend(current.values())
    return None


def fid_of(value):
    """Returns a FID from a number or an object with a 'fid' field."""
    if isinstance(value, dict):
        value = value.get("fid")
    return value


def cell(value, digits):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


with open(os.path.join(out, "bcegan-train.txt")) as handle:
    summary = handle.read()
match = re.search(r"trained (\d+) steps? in ([0-9.]+) s", summary)
if match is None:
    sys.exit(f"error: no 'trained N steps in T s' line in {out}/bcegan-train.txt: {summary!r}")
bcegan_steps, bcegan_seconds = int(match.group(1)), float(match.group(2))

rows = [("bcegan", "last", bcegan_steps, bcegan_steps / bcegan_seconds,
         load_json(os.path.join(out, "eval-bcegan.json"))),
        ("bcegan", "best", None, None, load_json(os.path.join(out, "eval-bcegan-best.json")))]
for preset in presets:
    trained = load_json(os.path.join(out, f"pytorch-{preset}.json"))
    rows.append(("pytorch", preset, trained["steps"], trained["steps_per_s"],
                 load_json(os.path.join(out, f"eval-pytorch-{preset}.json"))))

print(f"{model} GAN, {minutes} min each, {threads} threads; outputs in {out}")
print(f"{'trainer':<8} {'preset':<9} {'steps':>8} {'steps/s':>8} {'FID':>9} {'classes':>8} "
      f"{'precision':>10} {'recall':>7}")
for trainer, preset, steps, steps_per_s, scores in rows:
    print(f"{trainer:<8} {preset:<9} {cell(steps, 0):>8} {cell(steps_per_s, 1):>8} "
          f"{cell(find(scores, ['fid']), 2):>9} "
          f"{cell(find(scores, ['classes_covered']), 0):>8} "
          f"{cell(find(scores, ['precision']), 3):>10} {cell(find(scores, ['recall']), 3):>7}")
reference = rows[0][4]
floor = fid_of(find(reference, ["fid_floor"]))
ceiling = fid_of(find(reference, ["fid_ceiling"]))
print(f"FID floor (held-out real halves): {cell(floor, 2)}; "
      f"ceiling (noise images): {cell(ceiling, 2)}")
PY
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
