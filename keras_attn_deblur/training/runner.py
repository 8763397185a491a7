"""A whole training run in one call: data, validation, recipe, callbacks, resume, final
evaluation and a `save_pretrained` folder (what `attn-deblur train` does)."""

import math
import os
import sys

import keras

from keras_attn_deblur import distribute as distribute_lib
from keras_attn_deblur import evaluation
from keras_attn_deblur._utils.errors import one_line
from keras_attn_deblur._utils.validation import check_non_negative_int
from keras_attn_deblur._utils.validation import check_positive_int
from keras_attn_deblur.data.datasets import make_dataset
from keras_attn_deblur.data.datasets import synthetic_dataset
from keras_attn_deblur.data.pairs import folder_pairs
from keras_attn_deblur.data.pairs import gopro_pairs
from keras_attn_deblur.data.validation_sets import validation_data
from keras_attn_deblur.data.validation_sets import validation_set
from keras_attn_deblur.models.precision import with_dtype
from keras_attn_deblur.training.atomic_backup_and_restore import has_backup
from keras_attn_deblur.training.atomic_backup_and_restore import weights_are_finite
from keras_attn_deblur.training.recipe import compile_for_deblurring
from keras_attn_deblur.training.recipe import deblurring_callbacks


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite: the weights are no longer usable."""


class RunOptionsError(ValueError):
    """Options of a training run that contradict each other, the data or the devices.

    The message names the options in backticks (`batch_size`); the command
    line shows them as its flags (--batch-size) and exits with code 2.
    """


FINAL_MODEL = "final.keras"
"""The file name of a run's last model in its run folder (beside `best.keras`)."""


def finished_model(run_dir):
    """The final model of a finished run in `run_dir`, or `None` while it is unfinished."""
    path = os.path.join(os.fspath(run_dir), FINAL_MODEL)
    return path if os.path.isfile(path) else None


def run(
    run_dir,
    *,
    gopro=None,
    pairs=None,
    photos=None,
    blur_folder="blur",
    pipeline="auto",
    val_pairs=None,
    val_photos=None,
    no_val=False,
    val_limit=100,
    val_crop=256,
    model="patent",
    steps=100_000,
    epochs=100,
    batch_size=8,
    patch_size=256,
    learning_rate=2e-4,
    warmup_steps=0,
    final_learning_rate_ratio=0.01,
    ema_momentum=None,
    loss="charbonnier",
    mixed_precision=None,
    distribute="none",
    seed=0,
    quiet=False,
):
    """Trains a model with the recipe, from scratch or resumed, and evaluates it.

    One call does what `attn-deblur train` does: builds the training data
    from one source (`gopro`, `pairs` or `photos`) and the validation set
    (`data.validation_set`), compiles the model with
    `compile_for_deblurring` (cosine decay over all the steps), fits with
    `deblurring_callbacks(run_dir)` and saves `run_dir/final.keras`. Then it
    scores the validation set on whole images by the papers' protocol
    (`final_evaluation.csv`) and writes a `save_pretrained` folder
    `run_dir/model/` whose model card holds those numbers.

    Kill it at any time and call it again with the same arguments: it
    resumes from the last backup in `run_dir`. A finished run (one with
    `final.keras`) is never trained again: the call returns `None`. When the
    loss becomes NaN or infinite, it raises `TrainingDivergedError` and no
    final model is written.

    Args:
        run_dir: str. The run folder, created if missing.
        gopro: str. A GOPRO_Large root: trains on `train/` and validates on
            `test/` (unless another validation set is given or `no_val`).
        pairs: tuple of two str. Folders of blurry and sharp training pairs.
        photos: str. Sharp photos, blurred on the fly (synthetic blur).
        blur_folder: str. GoPro's blurry folder, `"blur"` or `"blur_gamma"`.
            Defaults to `"blur"`.
        pipeline: str. `"auto"`, `"tf"` or `"python"`, see
            `data.make_dataset`. Defaults to `"auto"`.
        val_pairs: tuple of two str. Folders of validation pairs.
        val_photos: str. Sharp validation photos (fixed synthetic blur).
        no_val: bool. No validation at all. Defaults to `False`.
        val_limit: int. At most this many validation pairs, spread over the
            set. Defaults to `100`.
        val_crop: int. Centre crop of validation images during training, `0`
            for whole images; the final evaluation uses whole images.
            Defaults to `256`.
        model: str, `keras.Model` or callable. A preset name to train from
            scratch, a model to fine-tune, or a function returning one,
            called when training starts, under the distribution. Defaults to
            `"patent"`.
        steps: int. Total optimizer steps. Defaults to `100_000`.
        epochs: int. Split the steps into this many epochs (validation,
            checkpoint and backup after each). Defaults to `100`.
        batch_size: int. Global batch size. Defaults to `8`.
        patch_size: int. Training patch size. Defaults to `256`.
        learning_rate: float. Peak learning rate. Defaults to `2e-4`.
        warmup_steps: int. Linear warm-up to `learning_rate` first, see
            `compile_for_deblurring` (worth ~100 when fine-tuning a trained
            model). Defaults to `0`.
        final_learning_rate_ratio: float. The rate at the last step as a
            fraction of `learning_rate`; `1.0` holds the peak after the
            warm-up (a constant rate, for fine-tuning runs of open length).
            Defaults to `0.01`.
        ema_momentum: float. Validate, checkpoint and save the moving
            average of the weights with this momentum (e.g. `0.999`), see
            `compile_for_deblurring`. Defaults to `None` (the raw weights).
        loss: str. See `compile_for_deblurring`. Defaults to `"charbonnier"`.
        mixed_precision: str. `None`, `"bfloat16"` or `"float16"`.
            Defaults to `None`.
        distribute: str. `"none"` or `"data_parallel"` (each batch split
            evenly over every device). Defaults to `"none"`.
        seed: int. Seed of the data order, the blur and the weights.
            Defaults to `0`.
        quiet: bool. One line per epoch and no progress bars. Defaults to
            `False`.

    Returns:
        The trained `keras.Model` (a single-device copy after a distributed
        run), or `None` when the run had already finished.

    Example:
    ```python
    from keras_attn_deblur import training

    training.run("runs/my_photos", photos="my_sharp_photos/", val_photos="my_val_photos/",
                 model="lite", steps=20_000)
    ```
    """
    run_dir = os.fspath(run_dir)
    if finished_model(run_dir):
        print(f"the run in '{run_dir}' has finished; nothing to do")
        return None
    steps = check_positive_int("steps", steps)
    epochs = min(check_positive_int("epochs", epochs), steps)
    check_non_negative_int("val_crop", val_crop)
    steps_per_epoch = math.ceil(steps / epochs)
    total_steps = steps_per_epoch * epochs
    if check_non_negative_int("warmup_steps", warmup_steps) >= total_steps:
        raise RunOptionsError(
            f"`warmup_steps` {warmup_steps} must be fewer than the {total_steps} training "
            "steps: lower it or raise `steps`"
        )
    if distribute != "none":
        distribute_lib.initialize_hosts()  # several hosts: from KERAS_DISTRIBUTION_* variables
    # Every batch, validation included, is split evenly over the devices.
    devices = distribute_lib.resolve_devices(distribute)
    replicas = len(devices) if devices else 1
    if batch_size % replicas:
        raise RunOptionsError(
            f"`batch_size` {batch_size} does not split evenly over {replicas} devices: "
            f"pass a multiple of {replicas}"
        )
    chosen = [f"`{name}`" for name, value in (("val_pairs", val_pairs),
                                              ("val_photos", val_photos),
                                              ("no_val", no_val)) if value]  # fmt: skip
    if len(chosen) > 1:
        raise RunOptionsError(f"{' and '.join(chosen)} exclude each other: pass one")
    train_ds, train_name = _training_data(
        gopro, pairs, photos, blur_folder,
        batch_size=batch_size, patch_size=patch_size, pipeline=pipeline, seed=seed,
        steps_per_epoch=steps_per_epoch,
    )  # fmt: skip
    val_set, val_name, val_split = (None, None, None) if no_val else validation_set(
        pairs=val_pairs, photos=val_photos, gopro=gopro, blur_folder=blur_folder,
        limit=val_limit, crop=val_crop, seed=seed,
    )  # fmt: skip
    val_data = _fit_validation_data(val_set, replicas, val_crop, pipeline)

    with distribute_lib.distribution_scope(distribute):
        keras.utils.set_random_seed(seed)
        if callable(model) and not isinstance(model, keras.Model):
            model = model()
        elif devices and isinstance(model, keras.Model):
            model = with_dtype(model, rebuild=True)  # its variables under the distribution
        model = compile_for_deblurring(
            model, learning_rate=learning_rate, total_steps=total_steps,
            warmup_steps=warmup_steps, final_learning_rate_ratio=final_learning_rate_ratio,
            ema_momentum=ema_momentum, loss=loss, mixed_precision=mixed_precision,
        )  # fmt: skip
        os.makedirs(run_dir, exist_ok=True)
        callbacks = deblurring_callbacks(
            run_dir, monitor="val_psnr" if val_data is not None else "psnr",
            ema=ema_momentum is not None,
        )
        resuming = os.path.isdir(os.path.join(run_dir, "backup"))
        parallel = ""
        if devices:
            parallel = (
                f", data parallel on {replicas} devices ({batch_size // replicas} patches each)"
            )
        print(
            f"{'resuming' if resuming else 'training'}: {train_name}, {total_steps} steps "
            f"({epochs} epoch{'s' if epochs > 1 else ''} x {steps_per_epoch}), "
            f"batch {batch_size}{parallel}, patch {patch_size}, "
            f"{mixed_precision or 'float32'}; run folder '{run_dir}'"
            + ("" if val_data is not None else "; no validation data"),
            flush=True,
        )
        # The datasets shuffle themselves. Keras's progress bar takes any POSIX
        # system for a terminal and fills a redirected log with \b and \r: one
        # plain line per epoch there.
        on_terminal = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
        fit_options = dict(
            epochs=epochs, callbacks=callbacks, shuffle=False,
            verbose=2 if quiet or not on_terminal else "auto",
        )  # fmt: skip
        if val_data is not None:
            fit_options["validation_data"] = val_data
        if isinstance(val_data, tuple):
            fit_options["validation_batch_size"] = replicas
        history = model.fit(train_ds, **fit_options)
    if not weights_are_finite(model):
        raise TrainingDivergedError(_diverged_message(run_dir, history, learning_rate))
    if distribute_lib.process_index() != 0:
        return model  # several hosts: process 0 writes the model and evaluates it
    final_path = os.path.join(run_dir, FINAL_MODEL)
    model.save(final_path)
    print(f"model saved to '{final_path}'")
    if devices:
        model = distribute_lib.single_device_copy(model)  # whole images, one at a time
    if val_set is not None:
        _final_evaluation(model, val_set, val_name, val_split, run_dir, quiet)
    return model


def _diverged_message(run_dir, history, learning_rate):
    """What a diverged run left: `best.keras` and the backup are only ever finite."""
    losses = history.history.get("loss", [])
    best = os.path.join(run_dir, "best.keras")
    if os.path.isfile(best):
        kept = f"'{best}' holds the best finite model"
    else:
        kept = f"no finite model was checkpointed, so there is no '{best}'"
    if has_backup(os.path.join(run_dir, "backup")):
        again = "it resumes from the last finite backup"
    else:
        again = "it starts from the beginning (no finite backup was made)"
    return (
        f"training diverged: the loss became {losses[-1] if losses else 'NaN'} in epoch "
        f"{len(losses)} and the weights are no longer finite, so no final model was "
        f"written; {kept}. Lower `learning_rate` (now {learning_rate:g}) and run again: "
        f"{again}"
    )


def _training_data(gopro, pairs, photos, blur_folder, **options):
    """(the training dataset, its name for the log) from the one source given."""
    chosen = [f"`{name}`" for name, value in (("gopro", gopro), ("pairs", pairs),
                                              ("photos", photos)) if value]  # fmt: skip
    if len(chosen) != 1:
        raise RunOptionsError(
            "give exactly one source of training data: `gopro` ROOT, `pairs` BLURRY SHARP "
            f"or `photos` DIR (received: {', '.join(chosen) or 'none'})"
        )
    if photos:
        return synthetic_dataset(photos, **options), "synthetic blur"
    if gopro:
        return make_dataset(
            gopro_pairs(gopro, split="train", blur_folder=blur_folder), training=True, **options
        ), "GoPro"
    return make_dataset(folder_pairs(*pairs), training=True, **options), "pairs"


def _fit_validation_data(val_set, replicas, val_crop, pipeline):
    """The validation data of `fit`: whole batches of one image per device."""
    if val_set is None:
        return None
    fit_pairs = val_set
    if replicas > 1:
        fit_pairs = val_set[: len(val_set) - len(val_set) % replicas]
        if not fit_pairs:
            raise RunOptionsError(
                f"`distribute` validates on batches of {replicas} (one image per device), "
                f"but there are {len(val_set)} validation pair(s): add pairs or pass `no_val`"
            )
    try:
        return validation_data(fit_pairs, batch_size=replicas, crop=val_crop, pipeline=pipeline)
    except ValueError as error:
        if replicas == 1 or val_crop:
            raise
        raise RunOptionsError(
            f"`distribute` splits each validation batch of {replicas} whole images over "
            "the devices, which needs images of one size: pass `val_crop` SIZE "
            f"({one_line(error, max_lines=4)})"
        ) from None


def _final_evaluation(model, val_set, val_name, val_split, run_dir, quiet):
    """Scores the validation set on whole images; writes the CSV and the `model/` folder."""
    print(f"final evaluation on {len(val_set)} {val_name} pairs (whole images):", flush=True)
    summary = evaluation.evaluate_pairs(
        model,
        val_set,
        baselines=("input",),
        csv_path=os.path.join(run_dir, "final_evaluation.csv"),
        progress=not quiet,
    )
    if quiet:
        print(summary.table())
    if summary.count and hasattr(model, "save_pretrained"):
        pretrained = os.path.join(run_dir, "model")
        model.save_pretrained(pretrained, metrics=summary.card_metrics(val_name, val_split))
        print(f"save_pretrained folder with the evaluation in its model card: '{pretrained}'")
