"""The fidelity table of the precisions: float32, bfloat16 and int8 on both validation sets.

For every whole image of `val_gopro` (22 GoPro frames, 1280 x 720) and
`val_photos` (68 CBSD68 photos with real shake kernels) in
`runs/release/data` (release/build_data.py), the bundled `patent` model
restores the blurry image through `Deblurrer` in each precision. Printed: per
set and precision, the mean and worst PSNR of the output against the float32
output, the mean PSNR against the sharp image, and its change from float32.
The int8 build's own gate (`release/<preset>/int8_gate.json`) measured the
int8 rows the same way, through the exported float32 ONNX model.

How to run:
    KERAS_BACKEND=tensorflow python benchmarks/precision_fidelity.py
    KERAS_BACKEND=tensorflow python benchmarks/precision_fidelity.py --limit 4   # a quick look
"""

import argparse
import datetime
import os
import sys
import time

import numpy as np

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, PROJECT_ROOT)

PRECISIONS = ("float32", "bfloat16", "int8")
SETS = ("val_gopro", "val_photos")


def _psnr(image, reference):
    error = np.mean((np.asarray(image, np.float64) - reference) ** 2)
    return 100.0 if error == 0 else float(10 * np.log10(1.0 / error))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.path.join(PROJECT_ROOT, "runs/release/data"))
    parser.add_argument("--model", default="patent")
    parser.add_argument("--limit", type=int, default=None, help="images per set (all)")
    args = parser.parse_args()

    import keras

    from keras_attn_deblur import AttnDeblurNet
    from keras_attn_deblur._utils.machine import describe_cpu
    from keras_attn_deblur.inference import Deblurrer
    from keras_attn_deblur.io.decode import load_image

    model = AttnDeblurNet.from_pretrained(args.model)
    deblurrers = {precision: Deblurrer(model, precision=precision) for precision in PRECISIONS}
    print(f"# precision fidelity, {datetime.date.today()}: Keras {keras.__version__}, backend "
          f"{keras.backend.backend()}; {describe_cpu()}; model {args.model}")  # fmt: skip
    print("\n| set | images | precision | vs float32 output: mean (worst) | PSNR to sharp | "
          "change | s / image |\n|---|---|---|---|---|---|---|")  # fmt: skip
    for name in SETS:
        folder = os.path.join(args.data_dir, name)
        files = sorted(os.listdir(os.path.join(folder, "blur")))[: args.limit]
        scores = {precision: [] for precision in PRECISIONS}
        versus = {precision: [] for precision in PRECISIONS}
        seconds = {precision: 0.0 for precision in PRECISIONS}
        for file in files:
            blurry = load_image(os.path.join(folder, "blur", file))
            sharp = load_image(os.path.join(folder, "sharp", file))
            outputs = {}
            for precision, deblurrer in deblurrers.items():
                started = time.perf_counter()
                outputs[precision] = deblurrer(blurry)
                seconds[precision] += time.perf_counter() - started
                scores[precision].append(_psnr(outputs[precision], sharp))
                versus[precision].append(_psnr(outputs[precision], outputs["float32"]))
        reference = np.mean(scores["float32"])
        for precision in PRECISIONS:
            against = "–" if precision == "float32" else (
                f"{np.mean(versus[precision]):.1f} dB ({np.min(versus[precision]):.1f})"
            )
            print(f"| {name} | {len(files)} | {precision} | {against} | "
                  f"{np.mean(scores[precision]):.3f} dB | "
                  f"{np.mean(scores[precision]) - reference:+.3f} dB | "
                  f"{seconds[precision] / len(files):.1f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
