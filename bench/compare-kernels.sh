#!/usr/bin/env bash
# Times bcegan's BCE kernels and PyTorch's on the same sizes and thread counts, one after
# the other on this machine, and prints PyTorch's time divided by ours for each entry,
# and ours divided by the floor of the same form (for loss_and_grad_into, the floor
# that writes into a reused buffer). The floor rows print their own
# times.
#
# Usage: bench/compare-kernels.sh [--sizes 1000,16777216] [--threads 1,2]
# PyTorch comes from .venv/bin/python when present, else python3; without torch the
# script prints bcegan's figures alone and prints why.
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=1000,100000,1000000,16777216
threads=1,2
while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) sizes=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        *) echo "error: unknown option $1; use --sizes LIST or --threads LIST" >&2; exit 2 ;;
    esac
done

python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release -p bcegan --quiet
echo "== bcegan bench kernels (sizes $sizes, threads $threads)" >&2
target/release/bcegan bench kernels --json --sizes "$sizes" --threads "$threads" > "$work/ours.jsonl"

if "$python" bench/bce_pytorch.py --sizes "$sizes" --threads "$threads" > "$work/torch.jsonl"; then
    echo "== PyTorch done" >&2
else
    echo "PyTorch skipped: torch is not installed for $python (pip install torch numpy into .venv)" >&2
    : > "$work/torch.jsonl"
fi

"$python" - "$work/ours.jsonl" "$work/torch.jsonl" <<'PY'
import json, sys

def load(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]

ours, torch = load(sys.argv[1]), load(sys.argv[2])
# Our loss_and_grad_into (a reused gradient buffer) is compared with PyTorch's
# forward+backward, which allocates its gradient on every call.
key = lambda r: (r["entry"], r["form"].removesuffix("_into"), r["dtype"], r["n"], r["threads"])
torch_by_key = {key(r): r["ns_per_element"] for r in torch}
floors = {(r["form"], r["dtype"], r["n"], r["threads"]): r["ns_per_element"]
          for r in ours if r["entry"].startswith("floor")}
print(f"{'entry':<16} {'form':<19} {'dtype':<8} {'n':>10} {'thr':>4} {'ns/elem':>9} "
      f"{'torch':>9} {'x torch':>8} {'x floor':>8}")
for r in ours:
    if r["entry"].startswith("floor"):
        # The floor itself, so that its ratio can be read back to a time.
        print(f"{r['entry']:<16} {r['form']:<19} {r['dtype']:<8} {r['n']:>10} "
              f"{r['threads']:>4} {r['ns_per_element']:>9.3f} {'-':>9} {'-':>8} {'1.0':>8}")
        continue
    floor = floors.get((r["form"], r["dtype"], r["n"], r["threads"]))
    theirs = torch_by_key.get(key(r))
    ratio = f"{theirs / r['ns_per_element']:.1f}" if theirs else "-"
    over_floor = f"{r['ns_per_element'] / floor:.1f}" if floor else "-"
    theirs_text = f"{theirs:.3f}" if theirs else "-"
    print(f"{r['entry']:<16} {r['form']:<19} {r['dtype']:<8} {r['n']:>10} {r['threads']:>4} "
          f"{r['ns_per_element']:>9.3f} {theirs_text:>9} {ratio:>8} {over_floor:>8}")
PY
