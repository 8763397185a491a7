"""The `attn-deblur` command line: deblur, evaluate, train, visualize, export, push.

```
attn-deblur deblur photo.jpg photo_sharp.jpg --model org/attn-deblur
attn-deblur deblur phone_photos/ deblurred/ --model org/attn-deblur --tile-size 512
attn-deblur evaluate --gopro /datasets/GOPRO_Large --model org/attn-deblur --csv gopro.csv
attn-deblur train --gopro /datasets/GOPRO_Large --preset patent --run-dir runs/gopro
attn-deblur visualize blurry.png --sharp sharp.png --model runs/gopro/model \\
    --side-by-side comparison.png --attention attention.png
attn-deblur export attn_deblur.onnx --model runs/gopro/model
attn-deblur push my-org/attn-deblur --model runs/gopro/model
```

Also `python -m keras_attn_deblur ...`. `main(argv)` returns the exit code:
0 on success, 1 when the work failed (an error, or some images of a batch
could not be processed), 2 for a usage error, 130 when interrupted. An
error is one line on stderr, `attn-deblur: error: ...`; `--debug` shows the
traceback instead.
"""

import argparse
import contextlib
import difflib
import math
import os
import re
import sys
import textwrap
import warnings

PROG = "attn-deblur"
_HUB_ID = re.compile(r"^(hf://)?[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_PRECISIONS = ("float32", "bfloat16")
_MODEL_HELP = (
    "the model: a preset name (patent, lite; untrained unless weights are bundled), "
    "a folder written by save_pretrained, a .keras file, or a Hub repo id 'org/name'"
)
DEFAULT_MODEL = "patent"  # the bundled pretrained weights


class CommandError(Exception):
    """A failure the command reports in one line (exit code 1)."""


class _UsageError(Exception):
    """A command-line usage error (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, raised instead of printed."""

    def error(self, message):
        raise _UsageError(f"{message} (see '{self.prog} --help')")


# === Entry point ===


def main(argv=None):
    """Runs the command line with `argv` (default: `sys.argv[1:]`); returns the exit code."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
    except _UsageError as error:
        _print_error(str(error))
        return 2
    except SystemExit as exit_request:  # --help, --version
        return exit_request.code if isinstance(exit_request.code, int) else 0
    if args.command is None:
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings(), _native_log_filter(args.debug):
            warnings.showwarning = _show_warning
            return args.handler(args) or 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except _UsageError as error:
        if args.debug:
            raise
        _print_error(str(error))
        return 2
    except Exception as error:  # the one place that turns any error into one line
        if args.debug:
            raise
        _print_error(_one_line(error))
        return 1


def _native_log_filter(debug):
    """TensorFlow's and CUDA's native log lines stay off the terminal unless --debug."""
    if debug:
        return contextlib.nullcontext()
    from keras_attn_deblur._utils.native_logs import filtered_stderr

    return filtered_stderr()


def build_parser():
    """The `argparse` parser of `attn-deblur` and its subcommands."""
    from keras_attn_deblur.version import __version__

    parser = _Parser(
        prog=PROG,
        description=(
            "Motion deblurring with a spatial-attention network (Keras 3): deblur photos, "
            "score a test set by the papers' protocol, train, draw pictures, export."
        ),
        epilog=_examples(
            f"{PROG} deblur photo.jpg photo_sharp.jpg --model org/attn-deblur",
            f"{PROG} evaluate --gopro /datasets/GOPRO_Large --model org/attn-deblur",
            f"{PROG} train --photos my_sharp_photos/ --preset lite --steps 20000",
            f"{PROG} <command> --help",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.set_defaults(command=None, debug=False)
    commands = parser.add_subparsers(title="commands", dest="command", metavar="<command>")
    _add_deblur_command(commands)
    _add_evaluate_command(commands)
    _add_train_command(commands)
    _add_visualize_command(commands)
    _add_export_command(commands)
    _add_push_command(commands)
    return parser


def _command(commands, name, help_text, description, examples):
    parser = commands.add_parser(
        name,
        help=help_text,
        description=description,
        epilog=_examples(*examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback of an error"
    )
    return parser


def _examples(*lines):
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


# === deblur ===


def _add_deblur_command(commands):
    parser = _command(
        commands,
        "deblur",
        "deblur a photo or a folder of photos",
        textwrap.dedent(
            """\
            Deblur one image file, or every image of a folder into another folder.
            Any size works: large photos are processed in overlapping tiles with bounded
            memory. The output keeps the input's size, mode and bit depth. Outputs are
            written atomically; in a folder run, existing outputs are skipped (unless
            --overwrite) and a bad file is reported without stopping the run."""
        ),
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
    _add_model_option(parser, required=False, default=DEFAULT_MODEL)
    _add_inference_options(parser)
    parser.add_argument(
        "--overwrite", action="store_true", help="replace outputs that already exist"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(handler=_run_deblur)


def _run_deblur(args):
    from keras_attn_deblur import inference

    if not os.path.exists(args.input):
        raise FileNotFoundError(f"Input '{args.input}' does not exist.")
    model = load_model(args.model)
    options = _inference_options(args)
    if os.path.isdir(args.input):
        if os.path.isfile(args.output):
            raise CommandError(
                f"The input '{args.input}' is a folder, so the output must be a folder too, "
                f"but '{args.output}' is a file."
            )
        summary = inference.deblur_folder(
            model,
            args.input,
            args.output,
            overwrite=args.overwrite,
            progress=not args.quiet,
            **options,
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
    inference.deblur_file(model, args.input, output, overwrite=args.overwrite, **options)
    if not args.quiet:
        print(f"deblurred '{args.input}' -> '{output}'")
    return 0


# === evaluate ===


def _add_evaluate_command(commands):
    parser = _command(
        commands,
        "evaluate",
        "score a model on paired images by the papers' protocol",
        textwrap.dedent(
            """\
            Score a model (and/or simple baselines) on (blurry, sharp) pairs by the
            protocol deblurring papers report: whole images, RGB, no border crop, output
            clamped and quantised to 8 bits, PSNR with peak 255, SSIM in both variants
            ('ssim': per-channel 2-D Gaussian as tf.image/scikit-image; 'ssim_matlab':
            3-D Gaussian as MATLAB's ssim on RGB), means over images. Every row also
            holds the blurry input's scores. Prints a summary table; --csv writes one
            row per image."""
        ),
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
    )
    source.add_argument(
        "--skip-bad-pairs",
        action="store_true",
        help="drop unusable pairs with a warning instead of stopping",
    )
    _add_model_option(parser, required=False, default=DEFAULT_MODEL,
                      help_suffix="; 'none' scores only the --baseline methods")
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
        help="replace an existing --csv file (never one of the images)",
    )
    parser.add_argument(
        "--limit", type=_positive_int, metavar="N", help="score only the first N pairs"
    )
    _add_inference_options(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    parser.set_defaults(handler=_run_evaluate)


def _evaluation_pairs(args):
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
        raise _UsageError(
            "give exactly one source of pairs: --blurry DIR --sharp DIR, --gopro ROOT, "
            f"--realblur ROOT or --hide ROOT (received: {', '.join(chosen) or 'none'})"
        )
    if args.blurry or args.sharp:
        if not (args.blurry and args.sharp):
            raise _UsageError("--blurry and --sharp go together: pass both folders")
        return data.folder_pairs(args.blurry, args.sharp, on_error=on_error), "pairs", "test"
    if args.gopro:
        pairs = data.gopro_pairs(
            args.gopro, split=args.split, blur_folder=args.blur_folder, on_error=on_error
        )
        return pairs, "GoPro", args.split
    if args.realblur:
        pairs = data.realblur_pairs(
            args.realblur, split=args.split, variant=args.realblur_variant, on_error=on_error
        )
        return pairs, f"RealBlur-{args.realblur_variant}", args.split
    pairs = data.hide_pairs(args.hide, subset=args.hide_subset, on_error=on_error)
    return pairs, "HIDE", "test"


def _run_evaluate(args):
    from keras_attn_deblur import evaluation

    pairs, _, _ = _evaluation_pairs(args)
    no_model = args.model.lower() == "none"
    if no_model and not args.baseline:
        raise _UsageError("nothing to score: --model none needs --baseline input and/or unsharp")
    if args.limit is not None:
        pairs = pairs[: args.limit]
    if args.csv:
        inputs = [path for pair in pairs for path in (pair.blurry, pair.sharp)]
        _check_new_output(args.csv, args.overwrite, inputs)
    model = None if no_model else load_model(args.model)
    summary = evaluation.evaluate_pairs(
        model,
        pairs,
        baselines=tuple(args.baseline),
        csv_path=args.csv,
        progress=not args.quiet,
        **_inference_options(args),
    )
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


# === train ===


def _add_train_command(commands):
    parser = _command(
        commands,
        "train",
        "train a model with the package's recipe",
        textwrap.dedent(
            """\
            Train AttnDeblurNet with the training recipe (Adam, cosine decay, Charbonnier
            loss, PSNR/SSIM metrics) on GoPro, on your own pairs, or on sharp photos
            with synthetic motion blur. The run folder gets best.keras (best validation
            PSNR), final.keras, log.csv, a backup for resuming and, after a final
            evaluation on the validation set by the papers' protocol, a save_pretrained
            folder 'model/' whose model card holds those numbers. Kill the run at any
            time and start the same command again: it resumes from the last backup."""
        ),
        (
            f"{PROG} train --gopro /datasets/GOPRO_Large --preset patent --steps 300000 "
            "--epochs 300 --mixed-precision bfloat16 --run-dir runs/gopro",
            f"{PROG} train --pairs my/blurry my/sharp --val-pairs my/val_blurry my/val_sharp "
            "--preset lite",
            f"{PROG} train --photos my_sharp_photos/ --val-photos my_val_photos/ --steps 20000",
            f"{PROG} train --pairs my/blurry my/sharp --model org/attn-deblur --learning-rate 5e-5",
            f"{PROG} train --gopro /datasets/GOPRO_Large --batch-size 32 "
            "--distribute data_parallel",
        ),
    )
    source = parser.add_argument_group("training data (one source)")
    source.add_argument("--gopro", metavar="ROOT", help="GOPRO_Large root: trains on train/")
    source.add_argument(
        "--pairs", nargs=2, metavar=("BLURRY", "SHARP"), help="two folders of pairs"
    )
    source.add_argument(
        "--photos", metavar="DIR", help="sharp photos, blurred on the fly (synthetic blur)"
    )
    source.add_argument(
        "--blur-folder", choices=("blur", "blur_gamma"), default="blur",
        help="GoPro blurry folder (blur)",
    )
    source.add_argument(
        "--pipeline", choices=("auto", "tf", "python"), default="auto",
        help="input pipeline: tf.data or the TensorFlow-free PyDataset (auto)",
    )
    val = parser.add_argument_group("validation (after every epoch, and a final evaluation)")
    val.add_argument(
        "--val-pairs", nargs=2, metavar=("BLURRY", "SHARP"), help="validation pair folders"
    )
    val.add_argument("--val-photos", metavar="DIR", help="sharp validation photos (synthetic blur)")
    val.add_argument(
        "--no-val", action="store_true",
        help="no validation (with --gopro, test/ is used unless this is given)",
    )
    val.add_argument(
        "--val-limit", type=_positive_int, default=100, metavar="N",
        help="validate on at most N pairs, spread over the set (100)",
    )
    val.add_argument(
        "--val-crop", type=_non_negative_int, default=256, metavar="SIZE",
        help="centre-crop validation images to SIZE during training, 0 for whole images "
        "(256); the final evaluation always uses whole images",
    )
    model_group = parser.add_argument_group("model")
    model_group.add_argument(
        "--preset", default="patent", help="the configuration to train from scratch (patent)"
    )
    model_group.add_argument(
        "--model", default=None,
        help="start from this model instead (fine-tuning): " + _MODEL_HELP,
    )
    recipe = parser.add_argument_group("recipe")
    recipe.add_argument(
        "--steps", type=_positive_int, default=100_000, help="total optimizer steps (100000)"
    )
    recipe.add_argument(
        "--epochs", type=_positive_int, default=100,
        help="split the steps into this many epochs; validation, checkpoint and backup "
        "after each (100)",
    )
    recipe.add_argument("--batch-size", type=_positive_int, default=8, help="(8)")
    recipe.add_argument("--patch-size", type=_positive_int, default=256, help="(256)")
    recipe.add_argument("--learning-rate", type=float, default=2e-4, help="peak (2e-4)")
    recipe.add_argument(
        "--loss", choices=("charbonnier", "l1", "mse", "psnr"), default="charbonnier",
        help="(charbonnier)",
    )
    recipe.add_argument(
        "--mixed-precision", choices=("bfloat16", "float16"), default=None,
        help="train in mixed precision (bfloat16 on recent CPUs/TPUs/GPUs, float16 on GPUs)",
    )
    recipe.add_argument(
        "--distribute", choices=("none", "data_parallel"), default="none",
        help="data_parallel: split each --batch-size batch evenly over every GPU (every "
        "CPU device without one); JAX or TensorFlow backend (none)",
    )
    recipe.add_argument("--seed", type=int, default=0, help="(0)")
    parser.add_argument(
        "--run-dir", default=os.path.join("runs", "attn-deblur"),
        help="folder for checkpoints, logs, the backup and the final model (runs/attn-deblur)",
    )
    parser.add_argument("--quiet", action="store_true", help="one line per epoch")
    parser.set_defaults(handler=_run_train)


def _spread(items, limit):
    """At most `limit` items, evenly spread over the list (every sequence of a dataset)."""
    if len(items) <= limit:
        return list(items)
    step = len(items) / limit
    return [items[int(index * step)] for index in range(limit)]


def _training_data(args, steps_per_epoch):
    from keras_attn_deblur import data

    chosen = [name for name, value in (("--gopro", args.gopro), ("--pairs", args.pairs),
                                        ("--photos", args.photos)) if value]
    if len(chosen) != 1:
        raise _UsageError(
            "give exactly one source of training data: --gopro ROOT, --pairs BLURRY SHARP "
            f"or --photos DIR (received: {', '.join(chosen) or 'none'})"
        )
    options = dict(
        batch_size=args.batch_size, patch_size=args.patch_size, pipeline=args.pipeline,
        seed=args.seed, steps_per_epoch=steps_per_epoch,
    )
    if args.photos:
        return data.synthetic_dataset(args.photos, **options), "synthetic blur"
    if args.gopro:
        pairs = data.gopro_pairs(args.gopro, split="train", blur_folder=args.blur_folder)
        name = "GoPro"
    else:
        pairs = data.folder_pairs(*args.pairs)
        name = "pairs"
    return data.make_dataset(pairs, training=True, **options), name


def _validation_pairs(args):
    """(pairs for evaluate_pairs, dataset name, split) or (None, None, None)."""
    from keras_attn_deblur import data

    chosen = [name for name, value in (("--val-pairs", args.val_pairs),
                                        ("--val-photos", args.val_photos),
                                        ("--no-val", args.no_val)) if value]
    if len(chosen) > 1:
        raise _UsageError(f"{' and '.join(chosen)} exclude each other: pass one")
    if args.no_val:
        return None, None, None
    if args.val_pairs:
        pairs = data.folder_pairs(*args.val_pairs)
        return _spread(pairs, args.val_limit), "custom", "validation"
    if args.val_photos:
        return _synthetic_validation_pairs(args), "synthetic blur", "validation"
    if args.gopro and os.path.isdir(os.path.join(args.gopro, "test")):
        pairs = data.gopro_pairs(args.gopro, split="test", blur_folder=args.blur_folder)
        return _spread(pairs, args.val_limit), "GoPro", "test"
    return None, None, None


def _synthetic_validation_pairs(args):
    """Fixed (blurry, sharp) arrays from validation photos, the same every run."""
    import numpy as np

    from keras_attn_deblur import data
    from keras_attn_deblur._utils.paths import IMAGE_EXTENSIONS
    from keras_attn_deblur.data.synthetic.pipeline import default_margin
    from keras_attn_deblur.data.synthetic.pipeline import synthetic_example

    folder = args.val_photos
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Validation photo folder '{folder}' does not exist.")
    paths = _spread(sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder)
        for name in names
        if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")
    ), args.val_limit)
    if not paths:
        raise ValueError(f"No images in the validation photo folder '{folder}'.")
    blur = data.SyntheticMotionBlur()
    margin = default_margin(blur)
    pairs = []
    for index, path in enumerate(paths):
        photo = data.load_image(path)
        size = args.val_crop or min(photo.shape[:2])
        blurry, sharp = synthetic_example(
            photo, blur, (size, size), margin, training=False, rotate=False,
            rng=np.random.default_rng([args.seed, index]),
        )
        pairs.append((blurry, sharp))
    return pairs


def _validation_dataset(args, pairs, batch_size=1):
    import numpy as np

    from keras_attn_deblur import data

    if pairs is None:
        return None
    if not isinstance(pairs[0], tuple):  # ImagePairs on disk
        options = dict(batch_size=batch_size, training=False, pipeline=args.pipeline)
        if args.val_crop:
            options["center_crop"] = args.val_crop
        try:
            return data.make_dataset(pairs, **options)
        except ValueError as error:
            if batch_size == 1 or args.val_crop:
                raise
            raise _UsageError(
                f"--distribute splits each validation batch of {batch_size} whole images over "
                f"the devices, which needs images of one size: pass --val-crop SIZE "
                f"({_one_line(error)})"
            ) from None
    blurry = np.stack([pair[0] for pair in pairs])
    sharp = np.stack([pair[1] for pair in pairs])
    return blurry, sharp


def _run_train(args):
    import keras

    from keras_attn_deblur import distribute
    from keras_attn_deblur import evaluation
    from keras_attn_deblur import training
    from keras_attn_deblur.models.presets import PRESETS

    epochs = min(args.epochs, args.steps)
    steps_per_epoch = math.ceil(args.steps / epochs)
    total_steps = steps_per_epoch * epochs
    final_path = os.path.join(args.run_dir, "final.keras")
    if os.path.isfile(final_path):  # a finished run is never trained again from scratch
        print(
            f"the run in '{args.run_dir}' has finished (its final model is '{final_path}'); "
            f"nothing to do. To train further, start a new run from it: --model {final_path} "
            "--run-dir NEW_FOLDER"
        )
        return 0
    if args.model is None and args.preset not in PRESETS:
        raise ValueError(_unknown_preset_message(args.preset))
    if args.distribute != "none":
        distribute.initialize_hosts()  # several hosts: from KERAS_DISTRIBUTION_* variables
    # Every batch, validation included, is split evenly over the devices.
    devices = distribute.resolve_devices(args.distribute)
    replicas = len(devices) if devices else 1
    if args.batch_size % replicas:
        raise _UsageError(
            f"--batch-size {args.batch_size} does not split evenly over {replicas} devices: "
            f"pass a multiple of {replicas}"
        )
    train_ds, train_name = _training_data(args, steps_per_epoch)
    val_pairs, val_name, val_split = _validation_pairs(args)
    fit_val_pairs = val_pairs
    if val_pairs is not None and replicas > 1:
        fit_val_pairs = val_pairs[: len(val_pairs) - len(val_pairs) % replicas]
        if not fit_val_pairs:
            raise _UsageError(
                f"--distribute validates on batches of {replicas} (one image per device), "
                f"but there are {len(val_pairs)} validation pair(s): add pairs or pass --no-val"
            )
    val_data = _validation_dataset(args, fit_val_pairs, batch_size=replicas)

    with distribute.distribution_scope(args.distribute):
        keras.utils.set_random_seed(args.seed)
        model = load_model(args.model, warn_untrained=False) if args.model else args.preset
        model = training.compile_for_deblurring(
            model,
            learning_rate=args.learning_rate,
            total_steps=total_steps,
            loss=args.loss,
            mixed_precision=args.mixed_precision,
        )
        os.makedirs(args.run_dir, exist_ok=True)
        callbacks = training.deblurring_callbacks(
            args.run_dir, monitor="val_psnr" if val_data is not None else "psnr"
        )
        resuming = os.path.isdir(os.path.join(args.run_dir, "backup"))
        parallel = ""
        if devices:
            parallel = (
                f", data parallel on {replicas} devices ({args.batch_size // replicas} "
                "patches each)"
            )
        print(
            f"{'resuming' if resuming else 'training'}: {train_name}, {total_steps} steps "
            f"({epochs} epoch{'s' if epochs > 1 else ''} x {steps_per_epoch}), "
            f"batch {args.batch_size}{parallel}, patch "
            f"{args.patch_size}, {args.mixed_precision or 'float32'}; run folder '{args.run_dir}'"
            + ("" if val_data is not None else "; no validation data"),
            flush=True,
        )
        # The datasets shuffle themselves.
        fit_options = dict(
            epochs=epochs, callbacks=callbacks, shuffle=False, verbose=2 if args.quiet else "auto"
        )
        if isinstance(val_data, tuple):
            fit_options["validation_data"] = val_data
            fit_options["validation_batch_size"] = replicas
        elif val_data is not None:
            fit_options["validation_data"] = val_data
        history = model.fit(train_ds, **fit_options)
    if not training.weights_are_finite(model):
        losses = history.history.get("loss", [])
        raise CommandError(
            f"training diverged: the loss became {losses[-1] if losses else 'NaN'} in epoch "
            f"{len(losses)} and the weights are no longer finite, so no final model was "
            f"written; '{os.path.join(args.run_dir, 'best.keras')}' (if any) holds the best "
            f"finite one. Lower --learning-rate (now {args.learning_rate:g}) and run again: "
            "it resumes from the last finite backup"
        )
    if distribute.process_index() != 0:
        return 0  # several hosts: process 0 writes the model and evaluates it
    model.save(final_path)
    print(f"model saved to '{final_path}'")
    if devices:
        model = distribute.single_device_copy(model)  # whole images, one at a time

    if val_pairs is None:
        return 0
    print(f"final evaluation on {len(val_pairs)} {val_name} pairs (whole images):", flush=True)
    summary = evaluation.evaluate_pairs(
        model,
        val_pairs,
        baselines=("input",),
        csv_path=os.path.join(args.run_dir, "final_evaluation.csv"),
        progress=not args.quiet,
    )
    if args.quiet:
        print(summary.table())
    if summary.count and hasattr(model, "save_pretrained"):
        pretrained = os.path.join(args.run_dir, "model")
        metrics = summary.card_metrics(val_name, val_split)
        model.save_pretrained(pretrained, metrics=metrics)
        print(f"save_pretrained folder with the evaluation in its model card: '{pretrained}'")
    return 0


# === visualize ===


def _add_visualize_command(commands):
    parser = _command(
        commands,
        "visualize",
        "draw a before/after comparison and attention-map overlays",
        textwrap.dedent(
            """\
            Draw pictures of one image: --side-by-side writes blurry | restored | sharp
            (when --sharp is given) with PSNR and SSIM in the captions and zoomed crops
            where the network changed the image most; --attention writes the spatial
            attention weights of the network (by default the last block of each stage)
            as heat maps over the photo: where the network sees blur."""
        ),
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
    )
    _add_model_option(parser, required=False, default=DEFAULT_MODEL,
                      help_suffix="; not used for --restored without --attention")
    parser.add_argument("--side-by-side", metavar="OUT", help="write the comparison here (PNG)")
    parser.add_argument("--attention", metavar="OUT", help="write the attention overlay here")
    parser.add_argument(
        "--blocks", nargs="+", metavar="NAME",
        help="attention blocks to show (default: the last of each stage)",
    )
    parser.add_argument(
        "--zoom", nargs="+", default=["auto"], metavar="BOX",
        help="zoom boxes: 'auto' (default), 'none', or TOP,LEFT,HEIGHT,WIDTH boxes",
    )
    parser.add_argument("--dpi", type=_positive_int, default=100, help="(100)")
    parser.add_argument(
        "--overwrite", action="store_true",
        help="replace existing pictures (never one of the input images)",
    )
    _add_inference_options(parser)
    parser.set_defaults(handler=_run_visualize)


def _parse_zoom(values):
    if values == ["auto"]:
        return "auto"
    if values == ["none"]:
        return None
    boxes = []
    for value in values:
        parts = value.split(",")
        if len(parts) != 4 or not all(part.strip().isdigit() for part in parts):
            raise _UsageError(
                f"--zoom takes 'auto', 'none' or TOP,LEFT,HEIGHT,WIDTH boxes; received {value!r}"
            )
        boxes.append(tuple(int(part) for part in parts))
    return boxes


def _run_visualize(args):
    from keras_attn_deblur import visualize
    from keras_attn_deblur.io.decode import load_image

    if not (args.side_by_side or args.attention):
        raise _UsageError("nothing to draw: pass --side-by-side OUT and/or --attention OUT")
    zoom = _parse_zoom(args.zoom)
    outputs = [output for output in (args.side_by_side, args.attention) if output]
    if len(outputs) == 2 and os.path.abspath(outputs[0]) == os.path.abspath(outputs[1]):
        raise _UsageError("--side-by-side and --attention need two different files")
    for output in outputs:
        _check_new_output(output, args.overwrite, (args.blurry, args.sharp, args.restored))
    blurry = load_image(args.blurry)
    sharp = load_image(args.sharp) if args.sharp else None
    model = load_model(args.model) if args.attention or not args.restored else None
    if args.side_by_side:
        if args.restored:
            restored = load_image(args.restored)
        else:
            restored = _restore_array(model, blurry, _inference_options(args))
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
                                    path=args.attention, dpi=args.dpi)
        print(f"attention overlay written to '{args.attention}'")
    return 0


def _restore_array(model, blurry, options):
    import numpy as np

    from keras_attn_deblur import inference

    return np.asarray(inference.deblur(model, blurry, **options), dtype="float32")


# === export ===


def _add_export_command(commands):
    parser = _command(
        commands,
        "export",
        "export a model as a SavedModel, ONNX or LiteRT file",
        textwrap.dedent(
            """\
            Export a model for serving. Every format takes float32 RGB images in [0, 1]
            of any batch size, height and width, shape (batch, height, width, 3), and
            returns the restored images. saved_model: a TensorFlow SavedModel folder
            (serving signature 'serving_default'); onnx: for onnxruntime; litert: a
            LiteRT/TFLite file (resize the input tensor to the image size). ONNX and
            LiteRT need the TensorFlow backend (KERAS_BACKEND=tensorflow)."""
        ),
        (
            f"{PROG} export attn_deblur_savedmodel --model runs/gopro/model",
            f"{PROG} export attn_deblur.onnx --model org/attn-deblur --verify",
            f"{PROG} export attn_deblur.tflite --model m.keras --format litert",
        ),
    )
    parser.add_argument("output", help="the SavedModel folder, or the .onnx / .tflite file")
    _add_model_option(parser, required=True)
    parser.add_argument(
        "--format", choices=("saved_model", "onnx", "litert"), default=None,
        help="default: from the output's suffix (.onnx: onnx, .tflite: litert, else saved_model)",
    )
    parser.add_argument(
        "--overwrite", action="store_true",
        help="replace an earlier export at the output path (nothing else is ever replaced)",
    )
    parser.add_argument(
        "--verify", action="store_true",
        help="run the artefact with its runtime and compare with Keras on two image sizes",
    )
    parser.set_defaults(handler=_run_export)


def _run_export(args):
    from keras_attn_deblur import export

    export_format = args.format
    if export_format is None:
        suffix = os.path.splitext(args.output)[1].lower()
        export_format = {".onnx": "onnx", ".tflite": "litert"}.get(suffix, "saved_model")
    if os.path.lexists(args.output) and not args.overwrite:
        raise CommandError(f"'{args.output}' already exists; pass --overwrite to replace it.")
    # The model's own files are never what --overwrite replaces.
    source = _saved_folder(args.model) or os.path.expanduser(args.model)
    protected = (source,) if os.path.exists(source) else ()
    if os.path.lexists(args.output):
        export.check_replaceable(args.output, export_format, protected)
    model = load_model(args.model)
    export.export_model(model, args.output, format=export_format, overwrite=args.overwrite,
                        protected_paths=protected)  # fmt: skip
    print(f"exported {export_format} to '{args.output}'")
    if args.verify:
        difference = export.verify_export(model, args.output, export_format)
        print(f"verified with its runtime: max abs difference to Keras {difference:.2e}")
        if not difference <= 1e-4:
            raise CommandError(
                f"the exported model differs from Keras by {difference:.2e} (> 1e-4)"
            )
    return 0


# === push ===


def _add_push_command(commands):
    parser = _command(
        commands,
        "push",
        "publish a model to a Hugging Face Hub repo",
        textwrap.dedent(
            """\
            Publish a model to a Hub repo in one commit: the save_pretrained folder
            (config.json, model.weights.h5, metadata.json and a model card). A folder
            written by save_pretrained, or a preset's bundled weights, is uploaded
            unchanged (after checking its weights' hash); a .keras file or a Hub model is
            saved first. The repo is created if needed. Log in first (`hf auth login`) or
            pass --token / HF_TOKEN."""
        ),
        (
            f"{PROG} push keras-attn-deblur/attn-deblur-patent --model patent",
            f"{PROG} push my-org/attn-deblur --model runs/gopro/model",
            f"{PROG} push my-org/attn-deblur --model runs/gopro/best.keras --private",
        ),
    )
    parser.add_argument("repo_id", help="the Hub repo, 'org/name'")
    _add_model_option(parser, required=True)
    parser.add_argument("--private", action="store_true", help="create the repo as private")
    parser.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN or the login)")
    parser.add_argument("--revision", default=None, help="branch to push to")
    parser.add_argument("--commit-message", default=None)
    parser.add_argument("--create-pr", action="store_true", help="open a pull request instead")
    parser.set_defaults(handler=_run_push)


def _run_push(args):
    from keras_attn_deblur import hub

    options = dict(
        private=args.private, token=args.token, revision=args.revision,
        commit_message=args.commit_message, create_pr=args.create_pr,
    )  # fmt: skip
    folder = _saved_folder(args.model)
    if folder is not None:  # a save_pretrained folder or bundled weights: uploaded unchanged
        result = hub.push_folder(folder, args.repo_id, **options)
        what = f"'{folder}' unchanged "
    else:
        model = load_model(args.model)
        if not hasattr(model, "push_to_hub"):
            raise CommandError(
                f"push needs an AttnDeblurNet; '{args.model}' holds a {type(model).__name__}."
            )
        result = model.push_to_hub(args.repo_id, **options)
        what = ""
    url = getattr(result, "commit_url", None) or getattr(result, "pr_url", None) or result
    print(f"pushed {what}to '{args.repo_id}'" + (f": {url}" if url else ""))
    return 0


# === Shared options and model loading ===


def _saved_folder(spec):
    """The folder of a save_pretrained folder or bundled name, else None."""
    from keras_attn_deblur import hub

    for folder in (spec, os.path.join(os.fspath(hub.BUNDLED_WEIGHTS_DIR), spec)):
        if os.path.isfile(os.path.join(folder, hub.METADATA_FILE)) and os.path.isfile(
            os.path.join(folder, hub.WEIGHTS_FILE)
        ):
            return folder
    return None


def _add_model_option(parser, required, help_suffix="", default=None):
    if default is not None:
        help_suffix = f" (default: {default}, the bundled pretrained weights){help_suffix}"
    parser.add_argument(
        "--model", required=required, default=default, metavar="MODEL",
        help=_MODEL_HELP + help_suffix,
    )


def _add_inference_options(parser):
    group = parser.add_argument_group("inference")
    group.add_argument(
        "--tile-size", type=_positive_int, default=None, metavar="PIXELS",
        help="process large images in tiles of this size (default: chosen from a memory budget)",
    )
    group.add_argument(
        "--tile-overlap", type=_non_negative_int, default=32, metavar="PIXELS",
        help="overlap of neighbouring tiles, blended smoothly (32)",
    )
    group.add_argument(
        "--precision", choices=_PRECISIONS, default=None,
        help="compute precision (default: the model's); bfloat16 is faster on CPUs with "
        "AVX-512 BF16/AMX and recent GPUs",
    )
    group.add_argument(
        "--memory-budget", type=_positive_float, default=None, metavar="MB",
        help="activation memory allowed for one prediction when --tile-size is not given "
        "(2048 MB)",
    )
    group.add_argument(
        "--ensemble", action="store_true",
        help="flip self-ensemble: average the outputs of flipped copies (slower, a bit better)",
    )


def _inference_options(args):
    return dict(
        tile_size=args.tile_size,
        tile_overlap=args.tile_overlap,
        precision=args.precision,
        ensemble=args.ensemble,
        memory_budget_mb=args.memory_budget,
    )


def load_model(spec, *, warn_untrained=True):
    """Loads the model named on the command line.

    `spec` is, in this order: a `.keras` file; a folder written by
    `save_pretrained`; a preset name (its bundled weights, or an untrained
    model with a warning); a bundled name; a Hub repo id `org/name` (or
    `hf://org/name`).
    """
    from keras_attn_deblur.models.presets import PRESETS
    from keras_attn_deblur.models.attn_deblur_net import AttnDeblurNet

    path = os.path.expanduser(spec)
    if path.lower().endswith(".keras"):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Model file '{spec}' does not exist.")
        import keras

        try:
            return keras.saving.load_model(path, compile=False)
        except Exception as error:  # zipfile, h5py and Keras errors alike
            raise CommandError(
                f"Cannot load the model file '{spec}' ({_one_line(error)}); is it a "
                "complete .keras file written by model.save()?"
            ) from error
    if os.path.isdir(path):
        return AttnDeblurNet.from_pretrained(path)
    if spec in PRESETS:
        try:
            return AttnDeblurNet.from_pretrained(spec)
        except FileNotFoundError:
            pass  # no bundled weights for this preset
        if warn_untrained:
            identity = " (the untrained network returns its input unchanged)"
            if not PRESETS[spec].get("global_residual", True):
                identity = ""
            print(
                f"{PROG}: warning: no trained weights are bundled for preset '{spec}': this "
                f"model is UNTRAINED{identity}. Pass a trained model (a folder, a .keras file "
                "or a Hub id) for real results.",
                file=sys.stderr,
            )
        return AttnDeblurNet.from_preset(spec)
    looks_like_path = (
        os.sep in spec and not _HUB_ID.match(spec)
    ) or spec.startswith((".", "~", os.sep))
    if looks_like_path:
        raise FileNotFoundError(
            f"Model folder '{spec}' does not exist; pass a folder written by "
            "save_pretrained, a .keras file, a preset or a Hub id 'org/name'."
        )
    if _HUB_ID.match(spec):
        try:
            return AttnDeblurNet.from_pretrained(spec)
        except (OSError, ValueError) as error:
            if spec.startswith("hf://"):
                raise
            raise CommandError(
                f"{_one_line(error)} (no local folder '{spec}' exists either)"
            ) from error
    try:
        return AttnDeblurNet.from_pretrained(spec)  # a bundled name
    except FileNotFoundError:
        raise ValueError(_unknown_preset_message(spec)) from None


def _unknown_preset_message(name):
    from keras_attn_deblur.models.presets import PRESETS

    close = difflib.get_close_matches(name, list(PRESETS), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return (
        f"Unknown model '{name}': it is not a preset ({', '.join(sorted(PRESETS))}), a "
        f"bundled name, a .keras file, a folder or a Hub repo id 'org/name'.{hint}"
    )


# === Small helpers ===


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a positive, finite number, got {text!r}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _check_new_output(path, overwrite, inputs=()):
    """Refuses to write over an input, or over an existing file without --overwrite."""
    _check_output_folder(path)
    if not os.path.lexists(path):
        return
    if os.path.isdir(path):
        raise CommandError(f"The output '{path}' is a folder; pass a file path.")
    for source in inputs:
        if source and os.path.exists(source) and os.path.samefile(path, source):
            raise CommandError(
                f"The output '{path}' is one of the inputs; refusing to write over it. "
                "Choose another output path."
            )
    if not overwrite:
        raise CommandError(f"The output '{path}' already exists; pass --overwrite to replace it.")


def _check_output_folder(path):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot write '{path}': the folder '{folder}' does not exist. Create it first."
        )


def _one_line(error):
    """An exception as one line: its message's first line and a few of the next."""
    text = str(error).strip()
    if isinstance(error, KeyError) and text.startswith(("'", '"')):
        text = text[1:-1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    message = lines[0]
    if len(lines) > 1:
        shown = lines[1:4]
        message += " " + "; ".join(shown)
        if len(lines) > 4:
            message += f"; and {len(lines) - 4} more"
    if not isinstance(error, (CommandError, ValueError, OSError, ImportError)):
        message = f"{type(error).__name__}: {message} (run with --debug for the traceback)"
    return message


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as `attn-deblur: warning: ...`, one line each, on stderr.

    Deprecation notices of the libraries underneath are for developers, not
    for command-line users, and are not shown.
    """
    if issubclass(category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
        return
    text = " ".join(str(message).split())
    print(f"{PROG}: warning: {text}", file=file or sys.stderr, flush=True)


def _print_error(message):
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
