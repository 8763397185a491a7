"""`attn-deblur train`: train a model with the package's recipe (`training.run`)."""

import functools
import os
import re

from keras_attn_deblur._utils.validation import momentum
from keras_attn_deblur._utils.validation import non_negative_int
from keras_attn_deblur._utils.validation import positive_int
from keras_attn_deblur._utils.validation import probability
from keras_attn_deblur.cli._common import CommandError
from keras_attn_deblur.cli._common import MODEL_HELP
from keras_attn_deblur.cli._common import PROG
from keras_attn_deblur.cli._common import UsageError
from keras_attn_deblur.cli._common import add_command
from keras_attn_deblur.cli._common import load_model


def register(subparsers):
    parser = add_command(
        subparsers,
        "train",
        "train a model with the package's recipe",
        """\
        Train AttnDeblurNet with the training recipe (Adam, cosine decay, Charbonnier
        loss, PSNR/SSIM metrics) on GoPro, on your own pairs, or on sharp photos
        with synthetic motion blur. The run folder gets best.keras (best validation
        PSNR), final.keras, log.csv, a backup for resuming and, after a final
        evaluation on the validation set by the papers' protocol, a save_pretrained
        folder 'model/' whose model card holds those numbers. Kill the run at any
        time and start the same command again: it resumes from the last backup.""",
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
        "--val-limit", type=positive_int, default=100, metavar="N",
        help="validate on at most N pairs, spread over the set (100)",
    )
    val.add_argument(
        "--val-crop", type=non_negative_int, default=256, metavar="SIZE",
        help="centre-crop validation images to SIZE during training, 0 for whole images "
        "(256); the final evaluation always uses whole images",
    )
    model_group = parser.add_argument_group("model")
    model_group.add_argument(
        "--preset", default="patent", help="the configuration to train from scratch (patent)"
    )
    model_group.add_argument(
        "--model", default=None,
        help="start from this model instead (fine-tuning): " + MODEL_HELP,
    )
    recipe = parser.add_argument_group("recipe")
    recipe.add_argument(
        "--steps", type=positive_int, default=100_000, help="total optimizer steps (100000)"
    )
    recipe.add_argument(
        "--epochs", type=positive_int, default=100,
        help="split the steps into this many epochs; validation, checkpoint and backup "
        "after each (100)",
    )
    recipe.add_argument("--batch-size", type=positive_int, default=8, help="(8)")
    recipe.add_argument("--patch-size", type=positive_int, default=256, help="(256)")
    recipe.add_argument("--learning-rate", type=float, default=2e-4, help="peak (2e-4)")
    recipe.add_argument(
        "--warmup-steps", type=non_negative_int, default=0, metavar="N",
        help="linear warm-up to the peak over the first N steps; ~100 when fine-tuning "
        "trained weights with --model (0)",
    )
    recipe.add_argument(
        "--final-lr-ratio", type=probability, default=0.01, metavar="R",
        help="the cosine decay ends at R x the peak rate; 1 holds the peak (0.01)",
    )
    recipe.add_argument(
        "--ema-momentum", type=momentum, default=None, metavar="M",
        help="validate, checkpoint and save the moving average of the weights, e.g. 0.999 "
        "(off)",
    )
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
    parser.set_defaults(handler=run)


def run(args):
    from keras_attn_deblur import training

    final_path = training.finished_model(args.run_dir)
    if final_path:  # a finished run is never trained again from scratch
        print(
            f"the run in '{args.run_dir}' has finished (its final model is '{final_path}'); "
            f"nothing to do. To train further, start a new run from it: --model {final_path} "
            "--run-dir NEW_FOLDER"
        )
        return 0
    try:
        training.run(
            args.run_dir,
            gopro=args.gopro, pairs=args.pairs, photos=args.photos,
            blur_folder=args.blur_folder, pipeline=args.pipeline,
            val_pairs=args.val_pairs, val_photos=args.val_photos, no_val=args.no_val,
            val_limit=args.val_limit, val_crop=args.val_crop,
            model=_model(args), steps=args.steps, epochs=args.epochs, batch_size=args.batch_size,
            patch_size=args.patch_size, learning_rate=args.learning_rate,
            warmup_steps=args.warmup_steps, final_learning_rate_ratio=args.final_lr_ratio,
            ema_momentum=args.ema_momentum, loss=args.loss,
            mixed_precision=args.mixed_precision, distribute=args.distribute, seed=args.seed,
            quiet=args.quiet,
        )  # fmt: skip
    except training.RunOptionsError as error:
        raise UsageError(_as_flags(str(error), args)) from error
    except training.TrainingDivergedError as error:
        raise CommandError(_as_flags(str(error), args)) from error
    return 0


def _model(args):
    """`--preset`'s name, or a function that loads `--model` when training starts."""
    from keras_attn_deblur.hub.resolve import preset_config

    if args.model:  # loaded under the run's distribution, after the data checks
        return functools.partial(load_model, args.model, warn_untrained=False)
    preset_config(args.preset)  # an unknown name fails here, with a suggestion
    return args.preset


def _as_flags(message, args):
    """The library's `option_name` in a message -> this command's --option-name flag."""

    def flag(match):
        name = match.group(1)
        return "--" + name.replace("_", "-") if hasattr(args, name) else match.group(0)

    return re.sub(r"`([a-z_]+)`", flag, message)
