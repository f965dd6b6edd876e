"""Times one training step of the course's MLP GAN or DCGAN in PyTorch, the reference
for `bcegan bench train-step`.

The networks, the optimizer and the step are those of bcegan's trainer. With
--model mlp (the default): generator 64 -> 128 -> 256 -> 512 -> 1024 -> 784 with
BatchNorm and ReLU between the linear layers and a sigmoid at the end; discriminator
784 -> 512 -> 256 -> 128 -> 1 with LeakyReLU(0.2), returning logits; Adam(lr 1e-4).
With --model dcgan: the course's DCGAN, generator of transposed convolutions
64 -> 256 (kernel 3, stride 2) -> 128 (4, 1) -> 64 (3, 2) with BatchNorm and ReLU,
then -> 1 (4, 2) and Tanh; discriminator of convolutions 1 -> 16 -> 32 (kernel 4,
stride 2) with BatchNorm and LeakyReLU(0.2), then -> 1 (4, 2); weights from the
course's weights_init; real images scaled to [-1, 1] in each step as bcegan does;
Adam(lr 2e-4). Both use betas (0.5, 0.999), eps 1e-8, and BCEWithLogitsLoss. One step is one discriminator update on a fixed batch of
random real images in [0, 1) and a detached fake batch, then one generator update on
fresh noise with the discriminator's weights frozen. Like bcegan's step it reads the losses and the mean D(x) and D(G(z))
back as Python floats.

Prints the same fields as `bcegan bench train-step --json` (one JSON line with
--json, else a line of text). Peak memory is VmHWM from /proc/self/status.

Usage: python bench/gan_step_pytorch.py [--model mlp|dcgan] [--threads N] [--steps 50]
       [--warmup 10] [--batch-size 128] [--json]
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


def build_dcgan_generator(nn, z_dim=LATENT_DIM):
    """Build the course's DCGAN generator (hidden_dim 64), with its nested nn.Sequential
    blocks so that state_dict() names match `bcegan export --torch`."""

    def block(channels_in, channels_out, kernel, stride, final=False):
        if final:
            return nn.Sequential(
                nn.ConvTranspose2d(channels_in, channels_out, kernel, stride), nn.Tanh())
        return nn.Sequential(
            nn.ConvTranspose2d(channels_in, channels_out, kernel, stride),
            nn.BatchNorm2d(channels_out),
            nn.ReLU(inplace=True),
        )

    gen = nn.Sequential(
        block(z_dim, 256, 3, 2),
        block(256, 128, 4, 1),
        block(128, 64, 3, 2),
        block(64, 1, 4, 2, final=True),
    )

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.gen = gen

        def forward(self, noise):
            return self.gen(noise.view(len(noise), z_dim, 1, 1)).view(len(noise), -1)

    return Generator()


def build_dcgan_discriminator(nn):
    """Build the course's DCGAN discriminator (hidden_dim 16), which returns one logit per
    image."""

    def block(channels_in, channels_out, final=False):
        if final:
            return nn.Sequential(nn.Conv2d(channels_in, channels_out, 4, 2))
        return nn.Sequential(
            nn.Conv2d(channels_in, channels_out, 4, 2),
            nn.BatchNorm2d(channels_out),
            nn.LeakyReLU(0.2, inplace=True),
        )

    disc = nn.Sequential(block(1, 16), block(16, 32), block(32, 1, final=True))

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.disc = disc

        def forward(self, images):
            return self.disc(images.view(len(images), 1, 28, 28)).view(len(images), -1)

    return Discriminator()


def dcgan_weights_init(torch, module):
    """Initialise `module` as the course's weights_init does: N(0, 0.02) for convolution and
    BatchNorm weights and 0 for BatchNorm biases. Convolution biases keep PyTorch's default."""
    nn = torch.nn
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        torch.nn.init.normal_(module.weight, 0.0, 0.02)
    if isinstance(module, nn.BatchNorm2d):
        torch.nn.init.normal_(module.weight, 0.0, 0.02)
        torch.nn.init.constant_(module.bias, 0)


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
    if args.model == "dcgan":
        generator = build_dcgan_generator(nn)
        discriminator = build_dcgan_discriminator(nn)
        generator.apply(lambda module: dcgan_weights_init(torch, module))
        discriminator.apply(lambda module: dcgan_weights_init(torch, module))
        learning_rate = 2e-4
    else:
        generator = build_generator(nn)
        discriminator = build_discriminator(nn)
        learning_rate = 1e-4
    adam = dict(lr=learning_rate, betas=(0.5, 0.999), eps=1e-8)
    generator_optimizer = torch.optim.Adam(generator.parameters(), **adam)
    discriminator_optimizer = torch.optim.Adam(discriminator.parameters(), **adam)
    bce = nn.BCEWithLogitsLoss()
    real_images = torch.rand(args.batch_size, IMAGE_SIZE)
    ones = torch.ones(args.batch_size, 1)
    zeros = torch.zeros(args.batch_size, 1)

    def step():
        # Discriminator: minimise 1/2 [BCE(D(x), 1) + BCE(D(G(z)), 0)], fakes detached.
        # The DCGAN works on [-1, 1]; bcegan scales each real batch inside its step.
        real = real_images * 2 - 1 if args.model == "dcgan" else real_images
        noise = torch.randn(args.batch_size, LATENT_DIM)
        fake_images = generator(noise).detach()
        real_logits = discriminator(real)
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
