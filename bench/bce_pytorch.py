#!/usr/bin/env python3
"""Time PyTorch's binary cross-entropy on the CPU, to compare with `cargo bench -p bce`.

Times F.binary_cross_entropy_with_logits and F.binary_cross_entropy, forward
("loss") and forward+backward ("loss_and_grad"), float32, mean reduction, at
1e3, 1e5, 1e6 and 16,777,216 elements, on 1 and 2 threads, and prints one
JSON record a line with the fields of the Rust bench: entry, form,
reduction, dtype, n, threads, ns_per_element. The time is the best of
repeated samples over about 0.4 s per measurement; below 100,000 elements
a sample is a batch of calls, divided by its size.

Usage: python3 bench/bce_pytorch.py [--sizes 1000,16777216] [--threads 1,2]
Exits with status 2 and a message when torch is not installed.
"""

import argparse
import json
import sys
import time

SIZES = [1_000, 100_000, 1_000_000, 16_777_216]
BUDGET_SECONDS = 0.4
SAMPLE_ELEMENTS = 100_000


def best_ns(call, n):
    """Return the time of one call to `call` on `n` elements, in nanoseconds.

    It is the fastest of repeated samples. Each sample times a batch of
    SAMPLE_ELEMENTS // n calls and divides by its size, so that the clock's own
    cost stays out of a call's time, as in the Rust bench."""
    call()
    batch = max(1, SAMPLE_ELEMENTS // max(n, 1))
    best = float("inf")
    started = time.perf_counter()
    runs = 0
    while runs < 5 or time.perf_counter() - started < BUDGET_SECONDS:
        t = time.perf_counter_ns()
        for _ in range(batch):
            call()
        best = min(best, (time.perf_counter_ns() - t) / batch)
        runs += 1
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="comma-separated element counts")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    args = parser.parse_args()

    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        print("bce_pytorch.py: torch is not installed; install it (pip install torch) "
              "to time PyTorch", file=sys.stderr)
        return 2

    generator = torch.Generator().manual_seed(0x0BCE)
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        for n in [int(s) for s in args.sizes.split(",")]:
            logits = torch.rand(n, generator=generator) * 16 - 8
            probs = torch.rand(n, generator=generator)
            targets = (torch.rand(n, generator=generator) < 0.5).float()
            entries = [
                ("logits", F.binary_cross_entropy_with_logits, logits),
                ("probs", F.binary_cross_entropy, probs),
            ]
            for entry, loss_fn, values in entries:
                with torch.no_grad():
                    forward = best_ns(lambda: loss_fn(values, targets, reduction="mean"), n)
                leaf = values.clone().requires_grad_(True)

                def forward_backward():
                    leaf.grad = None
                    loss_fn(leaf, targets, reduction="mean").backward()

                both = best_ns(forward_backward, n)
                for form, ns in [("loss", forward), ("loss_and_grad", both)]:
                    print(json.dumps({
                        "entry": entry, "form": form, "reduction": "mean",
                        "dtype": "float32", "n": n, "threads": threads,
                        "ns_per_element": round(ns / n, 4),
                    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
