#!/usr/bin/env bash
# Times one training step of the MLP GAN or the DCGAN in bcegan and in PyTorch, one after the other on
# this machine, for each thread count, and prints both and bcegan's speed relative to
# PyTorch's (PyTorch ms/step divided by bcegan ms/step; above 1 means bcegan is faster).
#
# Usage: bench/compare-train.sh [--model mlp|dcgan] [--threads 1,2] [--steps 50]
#        [--warmup 10] [--repeat 1]
# PyTorch comes from $PYTHON when set, else .venv/bin/python when present, else python3;
# without torch the
# script prints bcegan's figures alone and says why.
set -euo pipefail
cd "$(dirname "$0")/.."

model=mlp
threads=1,2
steps=50
warmup=10
repeat=1
while [ $# -gt 0 ]; do
    case "$1" in
        --model) model=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --steps) steps=$2; shift 2 ;;
        --warmup) warmup=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        *) echo "error: unknown option $1; use --model mlp|dcgan, --threads LIST, --steps N, --warmup N or --repeat N" >&2; exit 2 ;;
    esac
done

python=${PYTHON:-python3}
[ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ] && python=.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release -p bcegan --quiet
have_torch=yes
if ! "$python" -c 'import torch' 2>/dev/null; then
    have_torch=
    echo "PyTorch skipped: torch is not installed for $python (pip install torch into .venv)" >&2
fi

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for count in ${threads//,/ }; do
    for _ in $(seq "$repeat"); do
        target/release/bcegan bench train-step --json --model "$model" --threads "$count" \
            --steps "$steps" --warmup "$warmup" >> "$work/ours.jsonl"
        if [ -n "$have_torch" ]; then
            "$python" bench/gan_step_pytorch.py --json --model "$model" --threads "$count" \
                --steps "$steps" --warmup "$warmup" >> "$work/torch.jsonl"
        fi
    done
done
touch "$work/torch.jsonl"

"$python" - "$work/ours.jsonl" "$work/torch.jsonl" <<'PY'
import json, sys

def load(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]

def mib(value):
    return f"{value:.0f}" if value is not None else "-"

ours, torch = load(sys.argv[1]), load(sys.argv[2])
print(f"{'side':<8} {'thr':>4} {'median ms':>10} {'min':>8} {'max':>8} {'peak MiB':>9} "
      f"{'x torch':>8}")
def row(side, r, ratio):
    print(f"{side:<8} {r['threads']:>4} {r['ms_per_step_median']:>10.2f} "
          f"{r['ms_per_step_min']:>8.2f} {r['ms_per_step_max']:>8.2f} "
          f"{mib(r['peak_rss_mib']):>9} {ratio:>8}")

# Runs were interleaved (bcegan, PyTorch, bcegan, ...), so the n-th run of each side at a
# thread count saw about the same machine load; each pair is printed together.
seen = {}
for record in ours:
    run = seen.get(record["threads"], 0)
    seen[record["threads"]] = run + 1
    theirs = [r for r in torch if r["threads"] == record["threads"]]
    if run < len(theirs):
        pair = theirs[run]
        row("bcegan", record, f"{pair['ms_per_step_median'] / record['ms_per_step_median']:.2f}")
        row("pytorch", pair, "")
    else:
        row("bcegan", record, "-")
PY
