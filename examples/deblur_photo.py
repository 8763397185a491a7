"""
Title: Deblur a real photo with the bundled pretrained weights
Description: Restores a real frame-averaged GoPro photo with the weights that
ship inside the package (no network needed), writes the restored image and a
blurry | restored | sharp picture, and scores both against the sharp frame.

How to run:
    python examples/deblur_photo.py                       # the shipped example pair
    python examples/deblur_photo.py my_photo.jpg          # your own photo (no scores)
    python examples/deblur_photo.py blurry.png --sharp sharp.png --model org/attn-deblur

The example pair is in `keras_attn_deblur/demo/examples/` (GoPro dataset, CC BY 4.0); it
comes from the validation frames, which the weights never saw in training.
"""

import argparse
import os
import time

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import psnr
from keras_attn_deblur import ssim
from keras_attn_deblur import visualize
from keras_attn_deblur.data import load_image
from keras_attn_deblur.inference import deblur_file

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.normpath(os.path.join(HERE, "..", "keras_attn_deblur", "demo", "examples"))
EXAMPLE = os.path.join(EXAMPLES, "gopro_000241_blurry.png")
EXAMPLE_SHARP = os.path.join(EXAMPLES, "gopro_000241_sharp.jpg")


def scores(reference, image):
    """PSNR (dB), SSIM and SSIM (matlab) of one 8-bit-valued image, by the SPEC protocol."""
    reference, image = reference[None], image[None]
    return (
        float(psnr(reference, image)[0]),
        float(ssim(reference, image)[0]),
        float(ssim(reference, image, variant="matlab")[0]),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1].split(":", 1)[1])
    parser.add_argument("input", nargs="?", default=EXAMPLE, help="the blurry photo")
    parser.add_argument(
        "--sharp", default=None,
        help="its sharp reference, to print scores (default: the example's sharp frame)",
    )
    parser.add_argument(
        "--model", default="patent",
        help="a preset with bundled weights, a save_pretrained folder, a .keras file or a "
        "Hub id (patent)",
    )
    parser.add_argument("--output-dir", default=os.path.join("out", "deblur_photo"))
    parser.add_argument(
        "--precision", choices=("auto", "float32", "bfloat16"), default="auto",
        help="auto: bfloat16 where the CPU has AMX or AVX-512 BF16 (about 4x faster there), "
        "float32 elsewhere (auto)",
    )
    args = parser.parse_args()
    sharp_path = args.sharp or (EXAMPLE_SHARP if args.input == EXAMPLE else None)

    # A bundled name, a save_pretrained folder, a .keras file or a Hub id.
    model = AttnDeblurNet.from_pretrained(args.model)
    os.makedirs(args.output_dir, exist_ok=True)
    stem = os.path.splitext(os.path.basename(args.input))[0]
    restored_path = os.path.join(args.output_dir, f"{stem}_restored.png")
    started = time.perf_counter()
    deblur_file(model, args.input, restored_path, overwrite=True, precision=args.precision)
    print(f"restored '{args.input}' in {time.perf_counter() - started:.1f} s: '{restored_path}'")

    blurry, restored = load_image(args.input), load_image(restored_path)
    sharp = load_image(sharp_path) if sharp_path else None
    picture = os.path.join(args.output_dir, f"{stem}_side_by_side.jpg")
    visualize.side_by_side(blurry, restored, sharp, path=picture)
    print(f"side-by-side picture: '{picture}'")
    if sharp is None:
        return
    print(f"\nagainst the sharp frame '{sharp_path}' (whole image, 8-bit, RGB):")
    print(f"{'':10}{'PSNR (dB)':>10}{'SSIM':>8}{'SSIM (matlab)':>15}")
    input_scores = scores(sharp, blurry)
    for name, values in (("blurry", input_scores), ("restored", scores(sharp, restored))):
        print(f"{name:10}{values[0]:10.2f}{values[1]:8.4f}{values[2]:15.4f}")
    gain = scores(sharp, restored)[0] - input_scores[0]
    print(f"PSNR gain: {gain:+.2f} dB")


if __name__ == "__main__":
    main()
