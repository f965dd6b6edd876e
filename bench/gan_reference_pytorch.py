"""Trains bcegan's GAN in PyTorch for a wall-clock budget or a step count, the reference
that `bench/compare-quality.sh` scores against `bcegan train`.

The models, the step and the data follow bcegan's trainer:

- mlp: generator 64 -> 128 -> 256 -> 512 -> 1024 -> 784 with BatchNorm and ReLU after
  each hidden linear layer and a sigmoid at the end; discriminator
  784 -> 512 -> 256 -> 128 -> 1 with LeakyReLU(0.2), returning a logit. PyTorch's
  default initialisation, whose uniform bounds 1/sqrt(fan_in) bcegan uses too.
- dcgan: the DCGAN pair of the course's week 2 notebook. The generator turns noise
  [n, z, 1, 1] into 28 x 28 images through ConvTranspose2d blocks (z -> 256 k3 s2,
  256 -> 128 k4 s1, 128 -> 64 k3 s2, each with BatchNorm and ReLU, then 64 -> 1 k4 s2
  and tanh). The discriminator is Conv2d 1 -> 16 k4 s2 and 16 -> 32 k4 s2, each with
  BatchNorm and LeakyReLU(0.2), then 32 -> 1 k4 s2 giving a logit. Conv weights and
  BatchNorm weights start from N(0, 0.02), BatchNorm biases from 0.
- step: one discriminator update on 1/2 [BCE(D(x), t) + BCE(D(G(z)), 0)] with the fakes
  detached and t the real target (1, or 0.9 for one-sided label smoothing), then one
  generator update on fresh noise, minimising BCE(D(G(z)), 1) (non-saturating) or
  -BCE(D(G(z)), 0) (minimax). Separate Adam optimizers.
- data: an MNIST-format (IDX) folder, or the 10,000 digits in data/ of this repository.
  Pixels are byte / 255 in [0, 1], scaled to [-1, 1] for dcgan. As in bcegan, each epoch
  is a fresh seeded permutation and a batch may span two epochs. NumPy's generator
  replaces bcegan's ChaCha8, so the batch order differs from bcegan's for the same seed.

With --ema-decay D > 0, every 10th step also updates an exponential moving average of
the generator's parameters (not the BatchNorm buffers). The first update copies them, and
each later one after s steps keeps the fraction min(D, (1 + s) / (10 + s)) ** 10 of the
average. The ramp lets early averages follow the fast-changing weights.

At the end it writes --count generated images (generator in eval mode) as float32
[N, 28, 28] in [0, 1] to --samples-npy, optionally an 8 x 8 grid PNG to --grid, and
prints the steps done, steps per second and wall time (one JSON line with --json). When
an average exists, the images come from a copy of the generator with the averaged
weights, whose BatchNorm running statistics are recomputed on 8 batches of 256 noise
vectors from their own seeded stream. Training runs the same with or without it.

Usage: python bench/gan_reference_pytorch.py (--minutes M | --steps N) [--model mlp|dcgan]
       [--preset bcegan|course] [--data DIR] [--ema-decay D]
       [--samples-npy FILE --count N] [--json] ...
"""

import argparse
import copy
import gzip
import json
import os
import struct
import sys
import time
import zlib

IMAGE_ROWS = 28
IMAGE_COLS = 28
IMAGE_SIZE = IMAGE_ROWS * IMAGE_COLS
GENERATOR_WIDTHS = [128, 256, 512, 1024]
DISCRIMINATOR_WIDTHS = [512, 256, 128]
LEAKY_SLOPE = 0.2
IMAGES_MAGIC = 0x00000803
REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMBEDDED_DIGITS = os.path.join(REPOSITORY, "data")
# Steps between two updates of the generator's weight average. Each update raises the
# decay to this power, so once the ramp reaches the decay the average decays at the same
# rate per step as an update on every step would.
AVERAGE_INTERVAL = 10
# Noise batches, their size and the seed key (ASCII "calib") of the stream that recomputes
# the averaged generator's BatchNorm running statistics. The key is XORed into --seed.
STATISTICS_BATCHES = 8
STATISTICS_BATCH_SIZE = 256
STATISTICS_SEED_KEY = 0x63616c6962

# Hyperparameters of each preset and model. "course": the course's notebooks (MLP GAN of
# week 1, DCGAN of week 2). "bcegan": the defaults of `bcegan train` in
# crates/bcegan/src/cli/train.rs and crates/bcegan/src/train/config.rs.
PRESETS = {
    "course": {
        "mlp": dict(lr=1e-5, betas=(0.9, 0.999), eps=1e-8, batch_size=128, latent_dim=64,
                    ema_decay=0.0),
        "dcgan": dict(lr=2e-4, betas=(0.5, 0.999), eps=1e-8, batch_size=128, latent_dim=64,
                      ema_decay=0.0),
    },
    "bcegan": {
        "mlp": dict(lr=1e-4, betas=(0.5, 0.999), eps=1e-8, batch_size=64, latent_dim=64,
                    ema_decay=0.999),
        "dcgan": dict(lr=2e-4, betas=(0.5, 0.999), eps=1e-8, batch_size=64, latent_dim=64,
                      ema_decay=0.0),
    },
}


class UsageError(Exception):
    """An invalid option or input file; main() prints it and exits with status 2."""


def parse_betas(text):
    """Parses "B1,B2" into a pair of floats in [0, 1)."""
    parts = text.split(",")
    try:
        betas = tuple(float(part) for part in parts)
    except ValueError:
        betas = ()
    if len(betas) != 2 or not all(0.0 <= beta < 1.0 for beta in betas):
        raise argparse.ArgumentTypeError(
            f"invalid betas {text!r}: write two numbers in [0, 1) separated by a comma, "
            "such as 0.5,0.999")
    return betas


def build_parser():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    budget = parser.add_argument_group("budget (at least one; training stops at the first)")
    budget.add_argument("--minutes", type=float,
                        help="wall-clock budget of the training loop in minutes")
    budget.add_argument("--steps", type=int, help="number of steps")

    parser.add_argument("--model", choices=["mlp", "dcgan"], default="mlp")
    parser.add_argument("--preset", choices=sorted(PRESETS), default="bcegan",
                        help="hyperparameters that the options below override "
                             "(default: bcegan)")
    parser.add_argument("--data", metavar="DIR",
                        help="MNIST-format (IDX) folder [default: the digits in data/]")

    parser.add_argument("--lr", type=float, help="Adam learning rate of both networks")
    parser.add_argument("--beta1", type=float, help="Adam beta1 of both networks")
    parser.add_argument("--beta2", type=float, help="Adam beta2 of both networks")
    parser.add_argument("--adam-epsilon", type=float, help="Adam epsilon of both networks")
    parser.add_argument("--generator-lr", type=float)
    parser.add_argument("--discriminator-lr", type=float)
    parser.add_argument("--generator-betas", type=parse_betas, metavar="B1,B2")
    parser.add_argument("--discriminator-betas", type=parse_betas, metavar="B1,B2")
    parser.add_argument("--real-target", type=float, default=1.0,
                        help="target of real images in the discriminator loss (default 1)")
    parser.add_argument("--generator-loss", choices=["non-saturating", "minimax"],
                        default="non-saturating")
    parser.add_argument("--ema-decay", type=float, metavar="D",
                        help="per-step decay in [0, 1) of the generator's weight average "
                             "that the written images come from; 0 turns averaging off "
                             "(default: 0.999 for mlp with preset bcegan, else 0)")

    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--latent-dim", type=int)
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the weights, the noise and the batch order")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="PyTorch intra-op threads (default: the number of cores)")

    parser.add_argument("--log-every", type=int, default=500,
                        help="steps between two progress lines on stderr")
    parser.add_argument("--samples-npy", metavar="FILE",
                        help="write --count generated images here as float32 [N, 28, 28]")
    parser.add_argument("--count", type=int, default=10000,
                        help="images written to --samples-npy (default 10000)")
    parser.add_argument("--grid", metavar="FILE",
                        help="write the first 64 generated images as an 8 x 8 PNG grid")
    parser.add_argument("--json", action="store_true",
                        help="print the result as one JSON line")
    return parser


def resolve_settings(args):
    """Returns the hyperparameters of the run: the preset, overridden by given options."""
    preset = PRESETS[args.preset][args.model]
    lr = args.lr if args.lr is not None else preset["lr"]
    beta1 = args.beta1 if args.beta1 is not None else preset["betas"][0]
    beta2 = args.beta2 if args.beta2 is not None else preset["betas"][1]
    eps = args.adam_epsilon if args.adam_epsilon is not None else preset["eps"]
    settings = {
        "generator_lr": args.generator_lr if args.generator_lr is not None else lr,
        "discriminator_lr":
            args.discriminator_lr if args.discriminator_lr is not None else lr,
        "generator_betas": args.generator_betas or (beta1, beta2),
        "discriminator_betas": args.discriminator_betas or (beta1, beta2),
        "adam_epsilon": eps,
        "batch_size": args.batch_size if args.batch_size is not None else preset["batch_size"],
        "latent_dim": args.latent_dim if args.latent_dim is not None else preset["latent_dim"],
        "real_target": args.real_target,
        "generator_loss": args.generator_loss,
        "ema_decay": args.ema_decay if args.ema_decay is not None else preset["ema_decay"],
    }
    return settings


def check_args(args, settings):
    """Raises UsageError for the first invalid option."""
    if args.minutes is None and args.steps is None:
        raise UsageError("missing budget: give --minutes M, --steps N or both")
    if args.minutes is not None and not args.minutes > 0:
        raise UsageError(f"invalid --minutes {args.minutes}: must be greater than 0")
    positive = [("--steps", args.steps), ("--threads", args.threads),
                ("--log-every", args.log_every), ("--count", args.count),
                ("--batch-size", settings["batch_size"]),
                ("--latent-dim", settings["latent_dim"])]
    for name, value in positive:
        if value is not None and value < 1:
            raise UsageError(f"invalid {name} {value}: must be at least 1")
    for name in ("generator_lr", "discriminator_lr", "adam_epsilon"):
        if not settings[name] > 0:
            raise UsageError(f"invalid {name.replace('_', '-')} {settings[name]}: "
                             "must be greater than 0")
    for name in ("generator_betas", "discriminator_betas"):
        if not all(0.0 <= beta < 1.0 for beta in settings[name]):
            raise UsageError(f"invalid {name.replace('_', '-')} {settings[name]}: "
                             "each beta must be in [0, 1)")
    if not 0.0 < settings["real_target"] <= 1.0:
        raise UsageError(f"invalid --real-target {settings['real_target']}: "
                         "must be in (0, 1]")
    if not 0.0 <= settings["ema_decay"] < 1.0:
        raise UsageError(f"invalid --ema-decay {settings['ema_decay']}: must be in [0, 1), "
                         "with 0 to turn averaging off")


def find_images_file(folder):
    """Returns the training image file of an IDX folder, trying the names bcegan tries."""
    tried = []
    for stem in ("train", "digits"):
        for suffix in ("", ".gz"):
            name = f"{stem}-images-idx3-ubyte{suffix}"
            tried.append(name)
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return path
    raise UsageError(f"no training images found in {folder}: looked for {', '.join(tried)}")


def read_idx_images(path, np):
    """Reads an IDX3 file of unsigned bytes (gzip-compressed when named *.gz) into an
    array [count, rows, cols] of uint8."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise UsageError(f"failed to read {path}: {error}") from error
    if len(data) < 16:
        raise UsageError(f"invalid IDX file {path}: {len(data)} bytes, shorter than the "
                         "16-byte header of an image file")
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != IMAGES_MAGIC:
        raise UsageError(f"invalid IDX file {path}: magic 0x{magic:08x}, expected "
                         f"0x{IMAGES_MAGIC:08x} (unsigned bytes, 3 dimensions)")
    if (rows, cols) != (IMAGE_ROWS, IMAGE_COLS):
        raise UsageError(f"unsupported images in {path}: {rows} x {cols} pixels, the "
                         f"models need {IMAGE_ROWS} x {IMAGE_COLS}")
    expected = 16 + count * rows * cols
    if len(data) != expected:
        raise UsageError(f"invalid IDX file {path}: {len(data)} bytes, expected {expected} "
                         f"for {count} images of {rows} x {cols}")
    if count == 0:
        raise UsageError(f"invalid IDX file {path}: it contains no images")
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows, cols)


class BatchSampler:
    """Draws shuffled batches like bcegan's sampler: one seeded permutation per epoch,
    with a batch that reaches the end of an epoch continuing into the next."""

    def __init__(self, pixels, batch_size, seed, np):
        if batch_size > len(pixels):
            raise UsageError(f"invalid --batch-size {batch_size}: larger than the "
                             f"{len(pixels)} images of the dataset")
        self.pixels = pixels
        self.batch_size = batch_size
        self.np = np
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(pixels))
        self.position = 0

    def next_batch(self):
        parts = []
        remaining = self.batch_size
        while remaining > 0:
            if self.position == len(self.order):
                self.order = self.rng.permutation(len(self.pixels))
                self.position = 0
            take = min(remaining, len(self.order) - self.position)
            parts.append(self.order[self.position:self.position + take])
            self.position += take
            remaining -= take
        indices = parts[0] if len(parts) == 1 else self.np.concatenate(parts)
        return self.pixels[indices]


def build_mlp(nn, latent_dim):
    layers = []
    width = latent_dim
    for next_width in GENERATOR_WIDTHS:
        layers += [nn.Linear(width, next_width), nn.BatchNorm1d(next_width), nn.ReLU()]
        width = next_width
    layers += [nn.Linear(width, IMAGE_SIZE), nn.Sigmoid()]
    generator = nn.Sequential(*layers)

    layers = []
    width = IMAGE_SIZE
    for next_width in DISCRIMINATOR_WIDTHS:
        layers += [nn.Linear(width, next_width), nn.LeakyReLU(LEAKY_SLOPE)]
        width = next_width
    layers.append(nn.Linear(width, 1))
    discriminator = nn.Sequential(*layers)
    return generator, discriminator


def build_dcgan(nn, latent_dim):
    def generator_block(channels_in, channels_out, kernel_size, stride):
        return [nn.ConvTranspose2d(channels_in, channels_out, kernel_size, stride),
                nn.BatchNorm2d(channels_out), nn.ReLU()]

    generator = nn.Sequential(
        nn.Unflatten(1, (latent_dim, 1, 1)),  # [n, z] -> [n, z, 1, 1]
        *generator_block(latent_dim, 256, 3, 2),  # 1 x 1 -> 3 x 3
        *generator_block(256, 128, 4, 1),  # -> 6 x 6
        *generator_block(128, 64, 3, 2),  # -> 13 x 13
        nn.ConvTranspose2d(64, 1, 4, 2),  # -> 28 x 28
        nn.Tanh(),
    )

    def discriminator_block(channels_in, channels_out):
        return [nn.Conv2d(channels_in, channels_out, 4, 2), nn.BatchNorm2d(channels_out),
                nn.LeakyReLU(LEAKY_SLOPE)]

    discriminator = nn.Sequential(
        *discriminator_block(1, 16),  # [n, 1, 28, 28] -> 13 x 13
        *discriminator_block(16, 32),  # -> 5 x 5
        nn.Conv2d(32, 1, 4, 2),  # -> 1 x 1
        nn.Flatten(),
    )

    def initialise(module):
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, 0.02)
        if isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 0.0, 0.02)
            nn.init.constant_(module.bias, 0.0)

    generator.apply(initialise)
    discriminator.apply(initialise)
    return generator, discriminator


def to_unit_range(images, model):
    """Maps generator output to pixels in [0, 1]: the MLP's sigmoid output as is, the
    DCGAN's tanh output from [-1, 1]."""
    if model == "dcgan":
        images = (images + 1.0) * 0.5
    return images.clamp(0.0, 1.0)


def write_grid_png(path, images, np, columns=8):
    """Writes up to columns * columns images [n, 28, 28] in [0, 1] as a grayscale PNG with
    a 2-pixel gap, using only zlib."""
    images = images[:columns * columns]
    rows = (len(images) + columns - 1) // columns
    gap = 2
    height = rows * (IMAGE_ROWS + gap) + gap
    width = columns * (IMAGE_COLS + gap) + gap
    canvas = np.zeros((height, width), dtype=np.uint8)
    for index, image in enumerate(images):
        top = gap + (index // columns) * (IMAGE_ROWS + gap)
        left = gap + (index % columns) * (IMAGE_COLS + gap)
        canvas[top:top + IMAGE_ROWS, left:left + IMAGE_COLS] = np.round(image * 255.0)
    # Each PNG scanline starts with filter type 0 (none).
    raw = b"".join(b"\x00" + canvas[row].tobytes() for row in range(height))

    def chunk(kind, payload):
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    with open(path, "wb") as handle:
        handle.write(png)


def update_average(average, generator, decay, step, torch):
    """Updates the generator's weight average after `step` completed steps and returns it.
    The average is None until the first update, then one float32 tensor per parameter."""
    if decay == 0.0 or step % AVERAGE_INTERVAL != 0:
        return average
    with torch.no_grad():
        if average is None:
            return [parameter.detach().to(torch.float32, copy=True)
                    for parameter in generator.parameters()]
        retained_fraction = min(decay, (1 + step) / (10 + step)) ** AVERAGE_INTERVAL
        for averaged, parameter in zip(average, generator.parameters()):
            averaged.mul_(retained_fraction).add_(parameter.detach().to(torch.float32),
                                              alpha=1.0 - retained_fraction)
    return average


def build_averaged_generator(generator, average, args, latent_dim, torch, nn):
    """Returns a copy of the generator with the averaged weights and with its BatchNorm
    running statistics recomputed for them. It changes only the copy and draws noise from
    its own seeded stream, so the live generator and the training noise stay untouched."""
    averaged_generator = copy.deepcopy(generator)
    with torch.no_grad():
        for parameter, averaged in zip(averaged_generator.parameters(), average):
            parameter.copy_(averaged)

    # Momentum None makes each BatchNorm keep the plain mean of the batch statistics.
    for module in averaged_generator.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            module.reset_running_stats()
            module.momentum = None
    averaged_generator.train()
    noise_source = torch.Generator().manual_seed(args.seed ^ STATISTICS_SEED_KEY)
    with torch.no_grad():
        for _ in range(STATISTICS_BATCHES):
            noise = torch.randn(STATISTICS_BATCH_SIZE, latent_dim, generator=noise_source)
            averaged_generator(noise)
    averaged_generator.eval()
    return averaged_generator


def train(args, settings, torch, nn, np):
    """Trains until the budget is spent. Returns the generator, its weight average, the
    steps done and the wall-clock seconds of the training loop. The average is None when
    --ema-decay is 0 or fewer than 10 steps ran."""
    folder = args.data if args.data is not None else EMBEDDED_DIGITS
    if not os.path.isdir(folder):
        raise UsageError(f"invalid --data {folder}: not a folder")
    images = read_idx_images(find_images_file(folder), np).astype(np.float32) / 255.0
    if args.model == "dcgan":
        images = images * 2.0 - 1.0
    batch_size = settings["batch_size"]
    latent_dim = settings["latent_dim"]
    sampler = BatchSampler(images, batch_size, args.seed, np)

    torch.manual_seed(args.seed)
    build = build_dcgan if args.model == "dcgan" else build_mlp
    generator, discriminator = build(nn, latent_dim)
    generator_optimizer = torch.optim.Adam(
        generator.parameters(), lr=settings["generator_lr"],
        betas=settings["generator_betas"], eps=settings["adam_epsilon"])
    discriminator_optimizer = torch.optim.Adam(
        discriminator.parameters(), lr=settings["discriminator_lr"],
        betas=settings["discriminator_betas"], eps=settings["adam_epsilon"])
    bce = nn.BCEWithLogitsLoss()
    real_targets = torch.full((batch_size, 1), settings["real_target"])
    ones = torch.ones(batch_size, 1)
    zeros = torch.zeros(batch_size, 1)
    minimax = settings["generator_loss"] == "minimax"
    # Shape of an image batch as the discriminator reads it and the generator returns it.
    if args.model == "dcgan":
        image_shape = (batch_size, 1, IMAGE_ROWS, IMAGE_COLS)
    else:
        image_shape = (batch_size, IMAGE_SIZE)

    budget_s = args.minutes * 60.0 if args.minutes is not None else None
    ema_decay = settings["ema_decay"]
    average = None
    started = time.perf_counter()
    step = 0
    while args.steps is None or step < args.steps:
        real_images = torch.from_numpy(sampler.next_batch()).reshape(image_shape)

        # Discriminator: minimise 1/2 [BCE(D(x), t) + BCE(D(G(z)), 0)]; the fakes are
        # detached, so the backward pass stops at the discriminator's input.
        noise = torch.randn(batch_size, latent_dim)
        fake_images = generator(noise).detach()
        real_logits = discriminator(real_images)
        fake_logits = discriminator(fake_images)
        d_loss = 0.5 * (bce(real_logits, real_targets) + bce(fake_logits, zeros))
        discriminator_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        discriminator_optimizer.step()

        # Generator on fresh noise: minimise BCE(D(G(z)), 1), or -BCE(D(G(z)), 0) for
        # minimax. The discriminator's weights are frozen for this pass, so its backward
        # pass computes no gradient for them. Those gradients would go unused, because the
        # next discriminator step clears them.
        noise = torch.randn(batch_size, latent_dim)
        fake_images = generator(noise)
        discriminator.requires_grad_(False)
        logits = discriminator(fake_images)
        g_loss = -bce(logits, zeros) if minimax else bce(logits, ones)
        discriminator.requires_grad_(True)
        generator_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        generator_optimizer.step()
        step += 1
        average = update_average(average, generator, ema_decay, step, torch)

        elapsed_s = time.perf_counter() - started
        if step % args.log_every == 0:
            print(f"step {step:>6}  d_loss {d_loss.item():.4f}  g_loss {g_loss.item():.4f}  "
                  f"D(x) {torch.sigmoid(real_logits).mean().item():.3f}  "
                  f"D(G(z)) {torch.sigmoid(fake_logits).mean().item():.3f}  "
                  f"{step / elapsed_s:.1f} steps/s", file=sys.stderr, flush=True)
        if budget_s is not None and elapsed_s >= budget_s:
            break
    wall_s = time.perf_counter() - started
    return generator, average, step, wall_s


def generate(generator, args, latent_dim, torch):
    """Returns --count images from the generator in eval mode, float32 [N, 28, 28] in
    [0, 1], drawn from noise seeded apart from the training noise."""
    generator.eval()
    noise_source = torch.Generator().manual_seed(args.seed + 1)
    batches = []
    with torch.no_grad():
        for start in range(0, args.count, 1000):
            size = min(1000, args.count - start)
            noise = torch.randn(size, latent_dim, generator=noise_source)
            images = to_unit_range(generator(noise), args.model)
            batches.append(images.reshape(size, IMAGE_ROWS, IMAGE_COLS))
    return torch.cat(batches).numpy().astype("float32")


def main():
    args = build_parser().parse_args()
    try:
        settings = resolve_settings(args)
        check_args(args, settings)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    try:
        import numpy as np
        import torch
        from torch import nn
    except ImportError as error:
        print(f"error: PyTorch and NumPy are required ({error}); install them with "
              "pip install torch numpy", file=sys.stderr)
        return 3

    torch.set_num_threads(args.threads)
    try:
        generator, average, steps, wall_s = train(args, settings, torch, nn, np)
        samples = None
        if args.samples_npy is not None or args.grid is not None:
            if average is not None:
                generator = build_averaged_generator(
                    generator, average, args, settings["latent_dim"], torch, nn)
            samples = generate(generator, args, settings["latent_dim"], torch)
        if args.samples_npy is not None:
            np.save(args.samples_npy, samples)
        if args.grid is not None:
            write_grid_png(args.grid, samples, np)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: failed to write the output: {error}", file=sys.stderr)
        return 1

    record = {
        "trainer": "pytorch",
        "torch_version": torch.__version__,
        "model": args.model,
        "preset": args.preset,
        "steps": steps,
        "wall_s": round(wall_s, 3),
        "steps_per_s": round(steps / wall_s, 3) if wall_s > 0 else None,
        "threads": torch.get_num_threads(),
        "seed": args.seed,
        "generator_lr": settings["generator_lr"],
        "discriminator_lr": settings["discriminator_lr"],
        "generator_betas": list(settings["generator_betas"]),
        "discriminator_betas": list(settings["discriminator_betas"]),
        "adam_epsilon": settings["adam_epsilon"],
        "batch_size": settings["batch_size"],
        "latent_dim": settings["latent_dim"],
        "real_target": settings["real_target"],
        "generator_loss": settings["generator_loss"],
        "ema_decay": settings["ema_decay"],
        "samples_npy": args.samples_npy,
        "count": args.count if args.samples_npy is not None else 0,
    }
    if args.json:
        print(json.dumps(record))
    else:
        print(f"{args.model} GAN (PyTorch {torch.__version__}, preset {args.preset}, "
              f"EMA decay {settings['ema_decay']}, {record['threads']} threads): "
              f"{steps} steps in {wall_s:.1f} s, "
              f"{record['steps_per_s']} steps/s")
        if args.samples_npy is not None:
            print(f"wrote {args.count} images to {args.samples_npy}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
