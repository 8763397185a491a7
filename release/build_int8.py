"""Builds the int8 build shipped with the bundled weights, gated on both validation sets.

How to run (from the project root, with `runs/release/data` from build_data.py, the
TensorFlow backend and the `export` extra):

    KERAS_BACKEND=tensorflow python release/build_int8.py

1. Calibration: one random 256 x 256 crop of each of 48 training blurry
   images (32 GoPro frame windows, 16 sharp photos with synthetic blur, chosen
   with a fixed seed); never a validation image.
2. The gate (`quantization.fidelity_gate`) runs on every whole image of both
   validation sets (`val_gopro`: 22 GoPro frames of 1280 x 720, `val_photos`:
   68 CBSD68 photos with real shake kernels). A build that fails is not written.
3. The build is written to `keras_attn_deblur/weights/<preset>/model.int8.onnx`
   and the gate's numbers to `release/<preset>/int8_gate.json`.

`--format litert` gates the full-integer LiteRT model for phones the same way,
through the LiteRT interpreter (XNNPACK) against the float32 SavedModel; it is
written to `--output` (not shipped: `attn-deblur export m.tflite --quantize
int8` makes it) and its numbers to `release/<preset>/int8_litert_gate.json`.

Run it again whenever the bundled weights change (`release/evaluate.py` ships
new ones): the build carries the fingerprint of the weights it was made from,
and a test checks that it matches the bundled weights.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from keras_attn_deblur import AttnDeblurNet  # noqa: E402
from keras_attn_deblur import quantization  # noqa: E402
from keras_attn_deblur._utils import machine  # noqa: E402
from keras_attn_deblur._utils.paths import write_atomically  # noqa: E402
from keras_attn_deblur.inference.int8 import INT8_FILE_NAME  # noqa: E402
from keras_attn_deblur.io.decode import load_image  # noqa: E402


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="runs/release/data")
    parser.add_argument("--preset", default="patent")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument(
        "--format", choices=("onnx", "litert"), default="onnx",
        help="litert: gate the full-integer LiteRT model for phones (written to --output, "
        "not shipped; its numbers to release/<preset>/int8_litert_gate.json)",
    )
    parser.add_argument("--output", default="runs/release/model.int8.tflite")
    return parser


def calibration_images(data_dir, seed):
    folder = os.path.join(data_dir, "train", "blur")
    names = sorted(os.listdir(folder))
    rng = np.random.default_rng(seed)
    gopro = [name for name in names if name.startswith("gopro")]
    synthetic = [name for name in names if name.startswith("synthetic")]
    chosen = list(rng.choice(gopro, 32, replace=False)) + list(rng.choice(synthetic, 16, replace=False))
    return [load_image(os.path.join(folder, name)) for name in chosen]


def gate_sets(data_dir):
    sets = {}
    for name in ("val_gopro", "val_photos"):
        blur = os.path.join(data_dir, name, "blur")
        sharp = os.path.join(data_dir, name, "sharp")
        sets[name] = [
            (load_image(os.path.join(blur, file)), load_image(os.path.join(sharp, file)))
            for file in sorted(os.listdir(blur))
        ]
    return sets


def main(argv=None):
    args = build_parser().parse_args(argv)
    folder = os.path.join(ROOT, "keras_attn_deblur", "weights", args.preset)
    model = AttnDeblurNet.from_pretrained(folder)
    start = time.time()
    litert = args.format == "litert"
    report = quantization.build_int8(
        model,
        args.output if litert else os.path.join(folder, INT8_FILE_NAME),
        calibration=calibration_images(args.data_dir, args.seed),
        gate_sets=gate_sets(args.data_dir),
        format=args.format,
        overwrite=True,
    )
    report["machine"] = machine.describe_cpu()
    report["seconds"] = round(time.time() - start, 1)
    text = json.dumps(report, indent=1) + "\n"
    record = "int8_litert_gate.json" if litert else "int8_gate.json"
    write_atomically(os.path.join(HERE, args.preset, record), lambda f: f.write(text),
                     text=True)  # fmt: skip
    print(quantization.describe_gate(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
