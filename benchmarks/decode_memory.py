"""Peak memory of decoding large PNGs with `data.load_image`, 16-bit colour vs 8-bit.

Each decode runs in a fresh process and reports its peak resident memory
(`ru_maxrss`) and time, next to the size of the decoded float32 image
(height x width x 3 x 4 bytes) and of the process before decoding. The
16-bit colour PNGs are decoded by the package's own zlib + NumPy reader
(Pillow keeps only 8 bits of them); its working memory must grow with the
pixel count, not with the square of the height.

How to run:
    python benchmarks/decode_memory.py
"""

import argparse
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np
from PIL import Image

SIZES = (  # (width, height, bits)
    (3, 20000, 16),
    (2, 40000, 16),
    (6000, 4000, 16),
    (6000, 4000, 8),
)


def _write_png16(path, samples):
    """A 16-bit RGB PNG (rows filtered with Sub), written with zlib alone."""
    height, width, _ = samples.shape
    raw = samples.astype(">u2").view(np.uint8).reshape(height, width * 6).astype(np.int16)
    sub = (raw - np.concatenate([np.zeros((height, 6), np.int16), raw[:, :-6]], axis=1)) % 256
    lines = np.concatenate([np.ones((height, 1), np.int16), sub], axis=1).astype(np.uint8)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    with open(path, "wb") as file:
        file.write(b"\x89PNG\r\n\x1a\n")
        file.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)))
        file.write(chunk(b"IDAT", zlib.compress(lines.tobytes(), 6)))
        file.write(chunk(b"IEND", b""))


def _image(width, height, bits):
    rows, columns = np.mgrid[0:height, 0:width]
    scale = 65535 if bits == 16 else 255
    samples = np.stack([(rows * 7 + columns) % 997, (columns * 13) % 991, (rows * columns) % 983],
                       axis=-1) / 997 * scale  # fmt: skip
    return samples.astype(np.uint16 if bits == 16 else np.uint8)


def _peak_kb():
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited
    from the parent across fork and exec)."""
    with open("/proc/self/status", encoding="ascii") as file:
        for line in file:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(path):
    from keras_attn_deblur.data import load_image

    before = _peak_kb()
    started = time.perf_counter()
    image = load_image(path)
    seconds = time.perf_counter() - started
    peak = _peak_kb()
    print(json.dumps({"before_kb": before, "peak_kb": peak, "seconds": seconds,
                      "shape": list(image.shape)}))  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    print("| image | file | decoded float32 | process before | peak RSS | time |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for width, height, bits in SIZES:
            path = os.path.join(folder, f"{width}x{height}_{bits}.png")
            samples = _image(width, height, bits)
            if bits == 16:
                _write_png16(path, samples)
            else:
                Image.fromarray(samples).save(path)
            result = subprocess.run([sys.executable, __file__, "--child", path],
                                    capture_output=True, text=True, check=True)  # fmt: skip
            measured = json.loads(result.stdout.strip().splitlines()[-1])
            print(f"| {width}x{height} {bits}-bit RGB PNG | {os.path.getsize(path) / 2**20:.1f} MB | "
                  f"{width * height * 12 / 2**20:.0f} MB | {measured['before_kb'] / 1024:.0f} MB | "
                  f"{measured['peak_kb'] / 1024:.0f} MB | {measured['seconds']:.1f} s |")  # fmt: skip


if __name__ == "__main__":
    main()
