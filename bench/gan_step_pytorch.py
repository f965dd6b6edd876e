"""Times one training step of the course's MLP GAN in PyTorch, the reference for
`bcegan bench train-step`.

The networks, the optimizer and the step are those of bcegan's trainer: generator
64 -> 128 -> 256 -> 512 -> 1024 -> 784 with BatchNorm and ReLU between the linear
layers and a sigmoid at the end; discriminator 784 -> 512 -> 256 -> 128 -> 1 with
LeakyReLU(0.2), returning logits; Adam(lr 1e-4, betas (0.5, 0.999), eps 1e-8) for
each; BCEWithLogitsLoss. One step is one discriminator update on a fixed batch of
random real images in [0, 1) and a detached fake batch, then one generator update on
fresh noise with the discriminator's weights frozen. Like bcegan's step it reads the losses and the mean D(x) and D(G(z))
back as Python floats.

Prints the same fields as `bcegan bench train-step --json` (one JSON line with
--json, else a line of text). Peak memory is VmHWM from /proc/self/status.

Usage: python bench/gan_step_pytorch.py [--threads N] [--steps 50] [--warmup 10]
       [--batch-size 128] [--json]
"""

import argparse
import json
import os
import statistics
import sys
import time

LATENT_DIM = 64
IMAGE_SIZE = 28 * 28
GENERATOR_WIDTHS = [128, 256, 512, 1024]
DISCRIMINATOR_WIDTHS = [512, 256, 128]


def build_generator(nn):
    layers = []
    width = LATENT_DIM
    for next_width in GENERATOR_WIDTHS:
        layers += [nn.Linear(width, next_width), nn.BatchNorm1d(next_width), nn.ReLU()]
        width = next_width
    layers += [nn.Linear(width, IMAGE_SIZE), nn.Sigmoid()]
    return nn.Sequential(*layers)


def build_discriminator(nn):
    layers = []
    width = IMAGE_SIZE
    for next_width in DISCRIMINATOR_WIDTHS:
        layers += [nn.Linear(width, next_width), nn.LeakyReLU(0.2)]
        width = next_width
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def peak_rss_mib():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["mlp", "dcgan"], default="mlp")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.model != "mlp":
        print("error: --model dcgan: the DCGAN model is not implemented yet; use --model mlp",
              file=sys.stderr)
        return 2
    for name in ("threads", "batch_size", "steps"):
        if getattr(args, name) < 1:
            print(f"error: invalid --{name.replace('_', '-')} {getattr(args, name)}: "
                  "must be at least 1", file=sys.stderr)
            return 2

    try:
        import torch
        from torch import nn
    except ImportError as error:
        print(f"error: PyTorch is not installed: {error}", file=sys.stderr)
        return 3

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = build_generator(nn)
    discriminator = build_discriminator(nn)
    adam = dict(lr=1e-4, betas=(0.5, 0.999), eps=1e-8)
    generator_optimizer = torch.optim.Adam(generator.parameters(), **adam)
    discriminator_optimizer = torch.optim.Adam(discriminator.parameters(), **adam)
    bce = nn.BCEWithLogitsLoss()
    real_images = torch.rand(args.batch_size, IMAGE_SIZE)
    ones = torch.ones(args.batch_size, 1)
    zeros = torch.zeros(args.batch_size, 1)

    def step():
        # Discriminator: minimise 1/2 [BCE(D(x), 1) + BCE(D(G(z)), 0)], fakes detached.
        noise = torch.randn(args.batch_size, LATENT_DIM)
        fake_images = generator(noise).detach()
        real_logits = discriminator(real_images)
        fake_logits = discriminator(fake_images)
        d_loss = 0.5 * (bce(real_logits, ones) + bce(fake_logits, zeros))
        discriminator_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        discriminator_optimizer.step()

        # Generator: minimise BCE(D(G(z)), 1) on fresh noise. As in bcegan, the
        # discriminator's weights are frozen for this pass, so the backward pass computes
        # no gradient for them (the updates would be the same without it, because the
        # next discriminator step clears those gradients, but the step would do more work).
        noise = torch.randn(args.batch_size, LATENT_DIM)
        discriminator.requires_grad_(False)
        g_loss = bce(discriminator(generator(noise)), ones)
        discriminator.requires_grad_(True)
        generator_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        generator_optimizer.step()
        return (d_loss.item(), g_loss.item(), torch.sigmoid(real_logits).mean().item(),
                torch.sigmoid(fake_logits).mean().item())

    times_ms = []
    for index in range(args.warmup + args.steps):
        start = time.perf_counter()
        step()
        if index >= args.warmup:
            times_ms.append((time.perf_counter() - start) * 1e3)

    record = {
        "model": args.model,
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "steps": args.steps,
        "ms_per_step_median": statistics.median(times_ms),
        "ms_per_step_min": min(times_ms),
        "ms_per_step_max": max(times_ms),
        "peak_rss_mib": peak_rss_mib(),
    }
    if args.json:
        print(json.dumps(record))
    else:
        print(f"{record['model']} train step (PyTorch {torch.__version__}), batch "
              f"{record['batch_size']}, {record['threads']} threads: "
              f"{record['ms_per_step_median']:.2f} ms/step median (min "
              f"{record['ms_per_step_min']:.2f}, max {record['ms_per_step_max']:.2f}) over "
              f"{record['steps']} steps after {args.warmup} warm-up; peak RSS "
              f"{record['peak_rss_mib']:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
