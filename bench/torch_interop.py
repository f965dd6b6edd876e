#!/usr/bin/env python3
"""Check that the course's PyTorch modules reproduce bcegan's networks after `bcegan export`.

Trains a tiny run with the bcegan binary (or takes --run DIR), exports it with
`bcegan export RUN --torch FILE`, loads the file into the course's Generator and
Discriminator with load_state_dict(strict=True), and puts both in eval() mode.
Then it feeds the same float32 noise to both generators (`bcegan sample --noise`)
and the same images (bcegan's) to both discriminators, and prints the largest
absolute differences.

With --model dcgan it trains and checks the course's DCGAN pair instead; bcegan
writes pixels in [0, 1] and the DCGAN works on [-1, 1], so the script maps between
the two before comparing.

Usage: python3 bench/torch_interop.py [--model mlp|dcgan] [--bcegan PATH] [--run DIR]
       [--count N]

Exit status: 0 when both differences are at most --tolerance (default 1e-5),
1 when one is larger, and 2 when a bcegan command fails. Where torch (or
numpy) is missing, the script prints "skipped: torch not installed" and
exits with 0.
"""

import argparse
import json
import pathlib
import struct
import subprocess
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parent.parent
HIDDEN_DIM = 128
IMAGE_SIZE = 28 * 28


def default_binary():
    """Return target/release/bcegan if it was built, else target/debug/bcegan."""
    release = REPO / "target" / "release" / "bcegan"
    return release if release.exists() else REPO / "target" / "debug" / "bcegan"


def course_modules(torch, z_dim):
    """Build the course's Generator and Discriminator (GAN course, week 1)."""
    nn = torch.nn

    def generator_block(input_dim, output_dim):
        return nn.Sequential(
            nn.Linear(input_dim, output_dim),
            nn.BatchNorm1d(output_dim),
            nn.ReLU(inplace=True),
        )

    def discriminator_block(input_dim, output_dim):
        return nn.Sequential(
            nn.Linear(input_dim, output_dim),
            nn.LeakyReLU(0.2, inplace=True),
        )

    class Generator(nn.Module):
        def __init__(self, z_dim, im_dim=IMAGE_SIZE, hidden_dim=HIDDEN_DIM):
            super().__init__()
            self.gen = nn.Sequential(
                generator_block(z_dim, hidden_dim),
                generator_block(hidden_dim, hidden_dim * 2),
                generator_block(hidden_dim * 2, hidden_dim * 4),
                generator_block(hidden_dim * 4, hidden_dim * 8),
                nn.Linear(hidden_dim * 8, im_dim),
                nn.Sigmoid(),
            )

        def forward(self, noise):
            return self.gen(noise)

    class Discriminator(nn.Module):
        def __init__(self, im_dim=IMAGE_SIZE, hidden_dim=HIDDEN_DIM):
            super().__init__()
            self.disc = nn.Sequential(
                discriminator_block(im_dim, hidden_dim * 4),
                discriminator_block(hidden_dim * 4, hidden_dim * 2),
                discriminator_block(hidden_dim * 2, hidden_dim),
                nn.Linear(hidden_dim, 1),
            )

        def forward(self, image):
            return self.disc(image)

    return Generator(z_dim), Discriminator()


def read_safetensors(torch, path):
    """Read a SafeTensors file into a dict of tensors, without the safetensors package."""
    dtypes = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}
    data = path.read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    body = data[8 + header_len:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        flat = torch.frombuffer(bytearray(body[start:end]), dtype=dtypes[info["dtype"]])
        tensors[name] = flat.reshape(info["shape"]).clone()
    return tensors


def run_bcegan(binary, *arguments):
    """Run the bcegan binary, echoing the command; raise CalledProcessError on failure."""
    command = [str(binary), *map(str, arguments)]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bcegan", type=pathlib.Path, default=default_binary(),
                        help="bcegan binary (default: target/release/bcegan, else target/debug/bcegan)")
    parser.add_argument("--run", type=pathlib.Path,
                        help="trained run folder to check (default: train 30 steps of batch 16)")
    parser.add_argument("--model", choices=["mlp", "dcgan"], default="mlp",
                        help="pair to train when --run is not given, and to build in PyTorch")
    parser.add_argument("--count", type=int, default=64, help="noise rows fed to both generators")
    parser.add_argument("--seed", type=int, default=0, help="seed of the NumPy noise")
    parser.add_argument("--tolerance", type=float, default=1e-5,
                        help="largest absolute difference accepted")
    args = parser.parse_args()

    try:
        import torch
    except ImportError:
        print("torch_interop.py: skipped: torch not installed")
        return 0
    try:
        import numpy as np
    except ImportError:
        print("torch_interop.py: skipped: numpy not installed")
        return 0
    if not args.bcegan.exists():
        print(f"torch_interop.py: bcegan binary {args.bcegan} not found; build it with "
              "`cargo build -p bcegan` or pass --bcegan PATH", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="torch-interop-") as scratch:
        scratch = pathlib.Path(scratch)
        run = args.run
        try:
            if run is None:
                run = scratch / "run"
                run_bcegan(args.bcegan, "train", "--model", args.model, "--steps", 30,
                           "--batch-size", 16, "--log-every", 30, "--out", run)
            exported = scratch / "torch.safetensors"
            run_bcegan(args.bcegan, "export", run, "--torch", exported)

            state = read_safetensors(torch, exported)
            # gen.0.0.weight is [128, z] in the MLP and [z, 256, 3, 3] in the DCGAN.
            first = state["gen.0.0.weight"]
            z_dim = first.shape[0] if first.dim() == 4 else first.shape[1]
            noise = np.random.default_rng(args.seed).standard_normal(
                (args.count, z_dim)).astype(np.float32)
            np.save(scratch / "noise.npy", noise)
            run_bcegan(args.bcegan, "sample", run, "--noise", scratch / "noise.npy",
                       "--npy", scratch / "images.npy", "--logits", scratch / "logits.npy")
        except subprocess.CalledProcessError as error:
            print(f"torch_interop.py: bcegan failed with status {error.returncode}",
                  file=sys.stderr)
            return 2
        our_images = np.load(scratch / "images.npy")
        our_logits = np.load(scratch / "logits.npy")

    if args.model == "dcgan":
        sys.path.insert(0, str(REPO / "bench"))
        from gan_step_pytorch import build_dcgan_discriminator, build_dcgan_generator
        generator = build_dcgan_generator(torch.nn, z_dim)
        discriminator = build_dcgan_discriminator(torch.nn)
    else:
        generator, discriminator = course_modules(torch, z_dim)
    # strict=True: every name and shape must match, num_batches_tracked included.
    generator.load_state_dict(
        {name: tensor for name, tensor in state.items() if name.startswith("gen.")}, strict=True)
    discriminator.load_state_dict(
        {name: tensor for name, tensor in state.items() if name.startswith("disc.")}, strict=True)
    generator.eval()
    discriminator.eval()

    flat_images = our_images.reshape(args.count, IMAGE_SIZE)
    with torch.no_grad():
        torch_images = generator(torch.from_numpy(noise)).numpy()
        model_images = flat_images * 2 - 1 if args.model == "dcgan" else flat_images
        torch_logits = discriminator(torch.from_numpy(model_images)).numpy()
    if args.model == "dcgan":
        torch_images = (torch_images + 1) / 2

    image_diff = float(np.abs(torch_images - flat_images).max())
    logit_diff = float(np.abs(torch_logits - our_logits).max())
    print(f"torch {torch.__version__}, numpy {np.__version__}, latent_dim {z_dim}, "
          f"{args.count} noise rows, num_batches_tracked "
          f"{int(state['gen.0.1.num_batches_tracked'])}")
    print(f"images [{args.count}, 28, 28]: max |torch - bcegan| = {image_diff:.3e}, "
          f"pixel range [{our_images.min():.4f}, {our_images.max():.4f}]")
    print(f"logits [{args.count}, 1]: max |torch - bcegan| = {logit_diff:.3e}, "
          f"range [{our_logits.min():.4f}, {our_logits.max():.4f}]")
    if image_diff <= args.tolerance and logit_diff <= args.tolerance:
        print(f"pass: both differences are at most {args.tolerance:g}")
        return 0
    print(f"mismatch: a difference exceeds {args.tolerance:g}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
