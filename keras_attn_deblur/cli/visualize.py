"""`attn-deblur visualize`: a before/after comparison and attention-map overlays."""

import os

from keras_attn_deblur._utils.validation import positive_int
from keras_attn_deblur.cli._common import CommandError
from keras_attn_deblur.cli._common import DEFAULT_MODEL
from keras_attn_deblur.cli._common import PROG
from keras_attn_deblur.cli._common import UsageError
from keras_attn_deblur.cli._common import add_command
from keras_attn_deblur.cli._common import add_inference_options
from keras_attn_deblur.cli._common import add_model_option
from keras_attn_deblur.cli._common import check_new_output
from keras_attn_deblur.cli._common import load_model
from keras_attn_deblur.cli._common import make_deblurrer


def register(subparsers):
    parser = add_command(
        subparsers,
        "visualize",
        "draw a before/after comparison and attention-map overlays",
        """\
        Draw pictures of one image: --side-by-side writes blurry | restored | sharp
        (when --sharp is given) with PSNR and SSIM in the captions and zoomed crops
        where the network changed the image most; --attention writes the spatial
        attention weights of the network (by default the last block of each stage)
        as heat maps over the photo: where the network sees blur.""",
        (
            f"{PROG} visualize blurry.png --sharp sharp.png --model runs/gopro/model "
            "--side-by-side comparison.png --attention attention.png",
            f"{PROG} visualize photo.jpg --model org/attn-deblur --attention attention.png "
            "--blocks enc1_attn1 enc1_attn3 dec1_attn3",
            f"{PROG} visualize blurry.png --restored restored.png --sharp sharp.png "
            "--side-by-side comparison.png --zoom 100,200,64,64",
        ),
    )
    parser.add_argument("blurry", help="the blurry image")
    parser.add_argument("--sharp", metavar="FILE", help="the sharp reference, for scores")
    parser.add_argument(
        "--restored", metavar="FILE",
        help="an already restored image (otherwise the model restores the blurry one)",
    )  # fmt: skip
    add_model_option(parser, required=False, default=DEFAULT_MODEL,
                     help_suffix="; not used for --restored without --attention")  # fmt: skip
    parser.add_argument("--side-by-side", metavar="OUT", help="write the comparison here (PNG)")
    parser.add_argument("--attention", metavar="OUT", help="write the attention overlay here")
    parser.add_argument(
        "--blocks", nargs="+", metavar="NAME",
        help="attention blocks to show (default: the last of each stage)",
    )  # fmt: skip
    parser.add_argument(
        "--zoom", nargs="+", default=["auto"], metavar="BOX",
        help="zoom boxes: 'auto' (default), 'none', or TOP,LEFT,HEIGHT,WIDTH boxes",
    )  # fmt: skip
    parser.add_argument("--dpi", type=positive_int, default=100, help="(100)")
    parser.add_argument(
        "--overwrite", action="store_true",
        help="replace existing pictures (never one of the input images)",
    )  # fmt: skip
    add_inference_options(parser)
    parser.set_defaults(handler=run)


def _parse_zoom(values):
    if values == ["auto"]:
        return "auto"
    if values == ["none"]:
        return None
    boxes = []
    for value in values:
        parts = value.split(",")
        if len(parts) != 4 or not all(part.strip().isdigit() for part in parts):
            raise UsageError(
                f"--zoom takes 'auto', 'none' or TOP,LEFT,HEIGHT,WIDTH boxes; received {value!r}"
            )
        boxes.append(tuple(int(part) for part in parts))
    return boxes


def run(args):
    import numpy as np

    from keras_attn_deblur import visualize
    from keras_attn_deblur.io.decode import load_image

    if not (args.side_by_side or args.attention):
        raise UsageError("nothing to draw: pass --side-by-side OUT and/or --attention OUT")
    zoom = _parse_zoom(args.zoom)
    outputs = [output for output in (args.side_by_side, args.attention) if output]
    if len(outputs) == 2 and os.path.abspath(outputs[0]) == os.path.abspath(outputs[1]):
        raise UsageError("--side-by-side and --attention need two different files")
    for output in outputs:
        check_new_output(output, args.overwrite, (args.blurry, args.sharp, args.restored))
    blurry = load_image(args.blurry)
    sharp = load_image(args.sharp) if args.sharp else None
    model = load_model(args.model) if args.attention or not args.restored else None
    if args.side_by_side:
        if args.restored:
            restored = load_image(args.restored)
        else:
            restored = np.asarray(make_deblurrer(model, args)(blurry), dtype="float32")
        visualize.side_by_side(
            blurry, restored, sharp, zoom_boxes=zoom, path=args.side_by_side, dpi=args.dpi
        )
        print(f"comparison written to '{args.side_by_side}'")
    if args.attention:
        if not hasattr(model, "attention_model"):
            raise CommandError(
                "--attention needs an AttnDeblurNet (with attention_model()); the loaded "
                f"model is a {type(model).__name__}."
            )
        visualize.attention_overlay(model, blurry, block_names=args.blocks,
                                    path=args.attention, dpi=args.dpi)  # fmt: skip
        print(f"attention overlay written to '{args.attention}'")
    return 0
