"""Re-runs the training of the released weights, from scratch or resumed.

How to run (from the project root, after `pip install -e ".[tensorflow]"`):

    python release/train.py                  # build the data, then train; resumes if killed
    python release/train.py --from-model patent --run-dir runs/release/patent-2
                                             # continue from the bundled weights

It builds the pairs with `release/build_data.py` (skipped when they exist)
and runs `keras_attn_deblur.training.run` (what `attn-deblur train` runs)
with the release recipe: preset `patent`,
256 x 256 patches, batch 4, MSE loss, peak learning rate 3e-4 with cosine
decay, mixed bfloat16, validation on both validation sets after every epoch.
Start the same command again after a kill and it resumes from the run
folder's backup. Afterwards run `python release/evaluate.py` to score the
result by the SPEC protocol.
"""

import argparse
import functools
import importlib
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import build_data  # noqa: E402

from keras_attn_deblur import AttnDeblurNet  # noqa: E402
from keras_attn_deblur import training  # noqa: E402
from keras_attn_deblur._utils.machine import describe_cpu  # noqa: E402
from keras_attn_deblur._utils.native_logs import filtered_stderr  # noqa: E402
from keras_attn_deblur._utils.validation import momentum  # noqa: E402
from keras_attn_deblur._utils.validation import non_negative_int  # noqa: E402
from keras_attn_deblur._utils.validation import probability  # noqa: E402


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.path.join("runs", "release", "data"))
    parser.add_argument("--run-dir", default=os.path.join("runs", "release", "patent"))
    parser.add_argument("--preset", default="patent")
    parser.add_argument(
        "--from-model", default=None,
        help="start from this model (a preset with bundled weights, a folder, a .keras "
        "file) instead of from scratch",
    )
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--patch-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument(
        "--warmup-steps", type=non_negative_int, default=0,
        help="linear warm-up to the peak learning rate first; ~100 with --from-model (0)",
    )
    parser.add_argument(
        "--final-lr-ratio", type=probability, default=0.01,
        help="the cosine decay ends at this fraction of the peak; 1 holds the peak (0.01)",
    )
    parser.add_argument(
        "--ema-momentum", type=momentum, default=None,
        help="validate, keep (best.keras) and save the moving average of the weights (off)",
    )
    parser.add_argument("--loss", default="mse")
    parser.add_argument("--mixed-precision", default="bfloat16", help="bfloat16, float16 or none")
    parser.add_argument("--val-crop", type=int, default=256)
    parser.add_argument(
        "--val-set", choices=("all", "gopro", "photos"), default="all",
        help="validation pairs watched during training (best.keras): both sets, the GoPro "
        "frames 201-299 only, or the CBSD68 synthetic set only (all)",
    )
    parser.add_argument("--pipeline", default="auto")
    parser.add_argument(
        "--data-args", default="",
        help="extra arguments for build_data.py, e.g. '--frames my_frames/' (tests use it)",
    )
    return parser


def run_options(args):
    """The keyword arguments of `training.run` for the release recipe."""
    train = os.path.join(args.data_dir, "train")
    val = os.path.join(args.data_dir, "val_" + args.val_set)
    return dict(
        pairs=(os.path.join(train, "blur"), os.path.join(train, "sharp")),
        val_pairs=(os.path.join(val, "blur"), os.path.join(val, "sharp")),
        val_crop=args.val_crop,
        steps=args.steps,
        epochs=args.epochs,
        batch_size=args.batch_size,
        patch_size=args.patch_size,
        learning_rate=args.learning_rate,
        warmup_steps=args.warmup_steps,
        final_learning_rate_ratio=args.final_lr_ratio,
        ema_momentum=args.ema_momentum,
        loss=args.loss,
        pipeline=args.pipeline,
        mixed_precision=None if args.mixed_precision == "none" else args.mixed_precision,
        # Loaded when training starts (not for a finished run).
        model=(
            functools.partial(AttnDeblurNet.from_pretrained, args.from_model, allow_untrained=True)
            if args.from_model else args.preset
        ),
        quiet=True,
    )


RECIPE_FILE = "release_recipe.json"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def machine():
    """This machine in words, for the budget: cores, CPU and its bfloat16 units, backend."""
    import keras

    backend = keras.backend.backend()
    version = ".".join(importlib.import_module(backend).__version__.split(".")[:2])
    title = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}.get(backend, backend)
    return f"{describe_cpu()}, {title} {version}"


def recorded_source(source):
    """`--from-model` as the recipe records it: a path inside the project relative to its
    root (release/evaluate.py reads it from any folder), another path absolute, a name as
    given."""
    if not source or not os.path.exists(source):
        return source
    path = os.path.abspath(source)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


def located_source(source):
    """A recorded `--from-model` path as a path here: relative ones are relative to the
    project root."""
    return source if os.path.isabs(source) else os.path.join(ROOT, source)


def utc_stamp(seconds):
    """Epoch `seconds` as the budget writes a start: '2026-11-28T10:39:42Z'."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def record_recipe(args, started):
    """Adds the training since `started` (epoch seconds) to the run's record of its recipe
    and budget, with the machine it ran on."""
    path = os.path.join(args.run_dir, RECIPE_FILE)
    record = {"hours": 0.0, "sessions": 0}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as file:
            record = json.load(file)
    record.setdefault("started", utc_stamp(started))
    hardware = machine()
    if record.get("hardware") and hardware not in record["hardware"]:
        hardware = f"{record['hardware']} and {hardware}"  # resumed on another machine
    record.update(
        preset=args.preset, from_model=recorded_source(args.from_model), hardware=hardware,
        steps=args.steps, epochs=args.epochs,
        batch_size=args.batch_size, patch_size=args.patch_size,
        learning_rate=args.learning_rate, warmup_steps=args.warmup_steps,
        final_lr_ratio=args.final_lr_ratio, ema_momentum=args.ema_momentum, loss=args.loss,
        mixed_precision=args.mixed_precision, val_crop=args.val_crop, val_set=args.val_set,
    )  # fmt: skip
    record["hours"] = round(record["hours"] + (time.time() - started) / 3600, 4)
    record["sessions"] += 1
    os.makedirs(args.run_dir, exist_ok=True)
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as file:
        json.dump(record, file, indent=2)
    os.replace(partial, path)


def main(argv=None):
    args = build_parser().parse_args(argv)
    build_data.main(["--output", args.data_dir, *args.data_args.split()])
    options = run_options(args)
    print(f"training.run({args.run_dir!r}, " + ", ".join(
        f"{key}={value!r}" for key, value in options.items() if key != "model"
    ) + f", model={args.from_model or args.preset!r})", flush=True)  # fmt: skip
    # A kill (SIGTERM) still records the hours trained before it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.time()
    try:
        with filtered_stderr():  # no native TensorFlow/XLA log lines, as on the command line
            training.run(args.run_dir, **options)
    except training.RunOptionsError as error:  # options that contradict the data: usage
        print(f"train: error: {error}", file=sys.stderr)
        return 2
    except training.TrainingDivergedError as error:
        print(f"train: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("train: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    finally:
        record_recipe(args, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
