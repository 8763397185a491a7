"""`attn-deblur deblur`: deblur a photo, or every photo of a folder."""

import os

from keras_attn_deblur.cli._common import CommandError
from keras_attn_deblur.cli._common import DEFAULT_MODEL
from keras_attn_deblur.cli._common import PROG
from keras_attn_deblur.cli._common import add_command
from keras_attn_deblur.cli._common import add_inference_options
from keras_attn_deblur.cli._common import add_model_option
from keras_attn_deblur.cli._common import load_model
from keras_attn_deblur.cli._common import make_deblurrer


def register(subparsers):
    parser = add_command(
        subparsers,
        "deblur",
        "deblur a photo or a folder of photos",
        """\
        Deblur one image file, or every image of a folder into another folder.
        Any size works: large photos are processed in overlapping tiles with bounded
        memory. The output keeps the input's size, mode and bit depth. Outputs are
        written atomically; in a folder run, existing outputs are skipped (unless
        --overwrite) and a bad file is reported without stopping the run.""",
        (
            f"{PROG} deblur blurry.jpg sharp.jpg --model org/attn-deblur",
            f"{PROG} deblur phone_photos/ deblurred/ --model runs/gopro/model --tile-size 512",
            f"{PROG} deblur scan.png out.png --model org/attn-deblur --precision bfloat16 "
            "--ensemble",
        ),
    )
    parser.add_argument("input", help="an image file, or a folder of images")
    parser.add_argument(
        "output",
        help="the output file (for a file input; an existing folder takes the input's name) "
        "or folder (for a folder input; created if missing)",
    )
    add_model_option(parser, required=False, default=DEFAULT_MODEL)
    add_inference_options(parser)
    parser.add_argument(
        "--overwrite", action="store_true", help="replace outputs that already exist"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(handler=run)


def run(args):
    from keras_attn_deblur import inference

    if not os.path.exists(args.input):
        raise FileNotFoundError(f"Input '{args.input}' does not exist.")
    deblurrer = make_deblurrer(load_model(args.model), args)
    if os.path.isdir(args.input):
        if os.path.isfile(args.output):
            raise CommandError(
                f"The input '{args.input}' is a folder, so the output must be a folder too, "
                f"but '{args.output}' is a file."
            )
        summary = inference.deblur_folder(
            deblurrer, args.input, args.output, overwrite=args.overwrite, progress=not args.quiet
        )
        if args.quiet:
            print(summary)
        if summary.failed:
            raise CommandError(
                f"{len(summary.failed)} image(s) of '{args.input}' could not be deblurred "
                "(listed in the summary above); the others were written."
            )
        return 0
    output = args.output
    if os.path.isdir(output):
        output = os.path.join(output, os.path.basename(args.input))
    if os.path.exists(output) and not args.overwrite and not os.path.samefile(output, args.input):
        raise CommandError(f"The output '{output}' already exists; pass --overwrite to replace it.")
    inference.deblur_file(deblurrer, args.input, output, overwrite=args.overwrite)
    if not args.quiet:
        print(f"deblurred '{args.input}' -> '{output}'")
    return 0
