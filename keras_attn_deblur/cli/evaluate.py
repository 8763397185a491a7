"""`attn-deblur evaluate`: score a model on paired images by the papers' protocol."""

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
        "evaluate",
        "score a model on paired images by the papers' protocol",
        """\
        Score a model (and/or simple baselines) on (blurry, sharp) pairs by the
        protocol deblurring papers report: whole images, RGB, no border crop, output
        clamped and quantised to 8 bits, PSNR with peak 255, SSIM in both variants
        ('ssim': per-channel 2-D Gaussian as tf.image/scikit-image; 'ssim_matlab':
        3-D Gaussian as MATLAB's ssim on RGB), means over images. Every row also
        holds the blurry input's scores. Prints a summary table; --csv writes one
        row per image.""",
        (
            f"{PROG} evaluate --gopro /datasets/GOPRO_Large --model org/attn-deblur "
            "--csv gopro.csv",
            f"{PROG} evaluate --blurry pairs/blur --sharp pairs/sharp --model runs/x/model "
            "--baseline input unsharp",
            f"{PROG} evaluate --realblur /datasets/RealBlur --realblur-variant J --model m.keras",
            f"{PROG} evaluate --gopro /datasets/GOPRO_Large --baseline input unsharp --limit 50",
        ),
    )
    source = parser.add_argument_group("pairs (one source)")
    source.add_argument("--blurry", metavar="DIR", help="folder of blurry images (with --sharp)")
    source.add_argument("--sharp", metavar="DIR", help="folder of sharp images, matched by name")
    source.add_argument("--gopro", metavar="ROOT", help="GOPRO_Large root (train/ and test/)")
    source.add_argument("--realblur", metavar="ROOT", help="RealBlur root with its list files")
    source.add_argument("--hide", metavar="ROOT", help="HIDE root (test/, GT/)")
    source.add_argument(
        "--split", choices=("train", "test"), default="test", help="GoPro/RealBlur split (test)"
    )
    source.add_argument(
        "--blur-folder",
        choices=("blur", "blur_gamma"),
        default="blur",
        help="GoPro blurry folder: blur (linear averaging, what papers report) or blur_gamma",
    )
    source.add_argument("--realblur-variant", choices=("J", "R"), default="J")
    source.add_argument(
        "--hide-subset", choices=("close-ups", "long-shot"), default=None,
        help="HIDE test subset (default: both)",
    )  # fmt: skip
    source.add_argument(
        "--skip-bad-pairs",
        action="store_true",
        help="drop unusable pairs with a warning instead of stopping",
    )
    add_model_option(parser, required=False, default=DEFAULT_MODEL,
                     help_suffix="; 'none' scores only the --baseline methods")  # fmt: skip
    parser.add_argument(
        "--baseline",
        nargs="+",
        choices=("input", "unsharp"),
        default=(),
        metavar="NAME",
        help="also score baselines: 'input' (the blurry image itself), 'unsharp' (an "
        "unsharp mask, Gaussian sigma 1.5 px, amount 0.75)",
    )
    parser.add_argument("--csv", metavar="PATH", help="write one row per image to this CSV")
    parser.add_argument(
        "--overwrite", action="store_true",
        help="replace a CSV that an earlier evaluate wrote (never an image, a model "
        "file or any other file)",
    )  # fmt: skip
    parser.add_argument(
        "--limit", type=positive_int, metavar="N", help="score only the first N pairs"
    )
    add_inference_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(handler=run)


def _pairs(args):
    """The pairs of the one source given on the command line."""
    from keras_attn_deblur import data

    on_error = "skip" if args.skip_bad_pairs else "raise"
    chosen = [
        name
        for name, value in (
            ("--blurry/--sharp", args.blurry or args.sharp),
            ("--gopro", args.gopro),
            ("--realblur", args.realblur),
            ("--hide", args.hide),
        )
        if value
    ]
    if len(chosen) != 1:
        raise UsageError(
            "give exactly one source of pairs: --blurry DIR --sharp DIR, --gopro ROOT, "
            f"--realblur ROOT or --hide ROOT (received: {', '.join(chosen) or 'none'})"
        )
    if args.blurry or args.sharp:
        if not (args.blurry and args.sharp):
            raise UsageError("--blurry and --sharp go together: pass both folders")
        if _same_path(args.blurry, args.sharp):
            raise UsageError(
                f"--blurry '{args.blurry}' and --sharp '{args.sharp}' are the same folder; "
                "pass the folder of the sharp (ground-truth) images as --sharp"
            )
        return data.folder_pairs(args.blurry, args.sharp, on_error=on_error)
    if args.gopro:
        return data.gopro_pairs(
            args.gopro, split=args.split, blur_folder=args.blur_folder, on_error=on_error
        )
    if args.realblur:
        return data.realblur_pairs(
            args.realblur, split=args.split, variant=args.realblur_variant, on_error=on_error
        )
    return data.hide_pairs(args.hide, subset=args.hide_subset, on_error=on_error)


def _same_path(first, second):
    """Whether two paths name one existing file or folder (any spelling, any link)."""
    return os.path.exists(first) and os.path.exists(second) and os.path.samefile(first, second)


def run(args):
    from keras_attn_deblur import evaluation
    from keras_attn_deblur.hub.layout import saved_folder

    pairs = _pairs(args)
    if pairs and all(_same_path(pair.blurry, pair.sharp) for pair in pairs):
        raise UsageError(
            f"every pair's blurry and sharp image is the same file (the first: "
            f"'{pairs[0].blurry}'), so every score would be infinite; point the sharp side "
            "at the ground-truth images"
        )
    no_model = args.model.lower() == "none"
    if no_model and not args.baseline:
        raise UsageError("nothing to score: --model none needs --baseline input and/or unsharp")
    if args.limit is not None:
        pairs = pairs[: args.limit]
    if args.csv:
        inputs = [path for pair in pairs for path in (pair.blurry, pair.sharp)]
        check_new_output(args.csv, args.overwrite, inputs)
        # Only a CSV of an earlier evaluate is replaced; never the model's own files.
        protected = ()
        if not no_model:
            model_files = saved_folder(args.model) or os.path.expanduser(args.model)
            protected = (model_files,) if os.path.exists(model_files) else ()
        evaluation.check_csv_output(args.csv, protected)
    deblurrer = None if no_model else make_deblurrer(load_model(args.model), args)
    summary = evaluation.evaluate_pairs(
        deblurrer, pairs, baselines=tuple(args.baseline), csv_path=args.csv,
        progress=not args.quiet,
    )  # fmt: skip
    if args.quiet:
        print(summary.table())
    if args.csv:
        print(f"per-image scores written to '{args.csv}'")
    if summary.failed:
        raise CommandError(
            f"{len(summary.failed)} of {len(pairs)} pairs could not be scored (listed "
            f"above); the means cover the other {summary.count}."
        )
    return 0
