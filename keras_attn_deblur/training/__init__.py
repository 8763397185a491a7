"""The training recipe: compile a model, the callbacks of a real run, and a whole run.

```python
from keras_attn_deblur import training

model = training.compile_for_deblurring(
    "patent", learning_rate=2e-4, total_steps=100_000, mixed_precision="bfloat16"
)
model.fit(
    train_ds,
    validation_data=val_ds,
    epochs=100,
    steps_per_epoch=1000,
    callbacks=training.deblurring_callbacks("runs/gopro"),
)
```

Kill the run at any point and start the same command again: `BackupAndRestore`
resumes from the last completed epoch (or step interval), the CSV log is
appended to, and `runs/gopro/best.keras` keeps the model with the best
validation PSNR.

Several GPUs: `compile_for_deblurring(..., distribute="data_parallel")`, or
build, compile and fit inside `distribute.distribution_scope(...)` (see
`keras_attn_deblur.distribute`).

A whole run in one call, as `attn-deblur train` does it (data, validation,
recipe, callbacks, resume, final evaluation and a `save_pretrained` folder):

```python
training.run("runs/gopro", gopro="/datasets/GOPRO_Large", steps=300_000, epochs=300)
```
"""

import math
import os

import keras

from keras_attn_deblur import distribute as distribute_lib
from keras_attn_deblur import evaluation
from keras_attn_deblur.data.datasets import make_dataset
from keras_attn_deblur.data.datasets import synthetic_dataset
from keras_attn_deblur.data.pairs import folder_pairs
from keras_attn_deblur.data.pairs import gopro_pairs
from keras_attn_deblur.data.validation import validation_data
from keras_attn_deblur.data.validation import validation_set
from keras_attn_deblur.losses import CharbonnierLoss
from keras_attn_deblur.losses import FrequencyLoss
from keras_attn_deblur.losses import PSNRLoss
from keras_attn_deblur.losses import WeightedSumLoss
from keras_attn_deblur.metrics import PSNR
from keras_attn_deblur.metrics import SSIM
from keras_attn_deblur._utils.errors import one_line
from keras_attn_deblur._utils.validation import check_non_negative_int
from keras_attn_deblur._utils.validation import check_positive_int
from keras_attn_deblur.models.attn_deblur_net import AttnDeblurNet
from keras_attn_deblur.models.precision import policy_for
from keras_attn_deblur.models.precision import with_dtype
from keras_attn_deblur.training.atomic_backup_and_restore import AtomicBackupAndRestore
from keras_attn_deblur.training.atomic_backup_and_restore import weights_are_finite

_OPTIMIZERS = ("adam", "adamw")


def _pixel_loss(name):
    losses = {
        "charbonnier": CharbonnierLoss,
        "l1": lambda: keras.losses.MeanAbsoluteError(name="l1"),
        "mae": lambda: keras.losses.MeanAbsoluteError(name="l1"),
        "mse": lambda: keras.losses.MeanSquaredError(name="mse"),
        "psnr": PSNRLoss,
    }
    if isinstance(name, keras.losses.Loss):
        return name
    if name not in losses:
        raise ValueError(
            f"Unknown loss. Use one of {sorted(losses)} or a keras.losses.Loss. "
            f"Received: loss={name!r}"
        )
    return losses[name]()


def compile_for_deblurring(
    model="patent",
    *,
    learning_rate=2e-4,
    total_steps=None,
    final_learning_rate_ratio=0.01,
    optimizer="adam",
    weight_decay=1e-4,
    clipnorm=None,
    loss="charbonnier",
    frequency_weight=0.0,
    mixed_precision=None,
    ssim_variants=("gaussian",),
    jit_compile="auto",
    distribute=None,
):
    """Builds (if needed) and compiles a model with the deblurring recipe.

    The recipe: Adam or AdamW, a cosine learning-rate decay from
    `learning_rate` to `learning_rate * final_learning_rate_ratio` over
    `total_steps` optimizer steps (constant when `total_steps` is `None`), a
    pixel loss (Charbonnier by default) optionally plus MIMO-UNet's FFT loss,
    and PSNR/SSIM metrics averaged per image.

    Mixed precision is a property of the layers, so it is applied here: a
    preset name is built with the requested policy, and a given model whose
    policy differs is rebuilt from its config with the same weights. With
    `"float16"`, Keras wraps the optimizer in a `LossScaleOptimizer`. Metrics
    and losses always compute in float32.

    Data parallelism (`distribute`) is applied here too, because the model
    and its optimizer must be created under it: a preset name is built, and
    a given model rebuilt with the same weights, under a
    `keras.distribution.DataParallel` (JAX; set for the whole process, so
    that `fit` shards each batch, until
    `keras.distribution.set_distribution(None)`) or inside the `scope()` of a
    `tf.distribute.MirroredStrategy` (TensorFlow; the model keeps the
    strategy). The dataset yields *global* batches, split evenly over the
    devices: every batch, validation ones included, must divide by the
    device count, and the learning rate needs no change (gradients are
    averaged over the global batch). Inside `distribute.distribution_scope`
    leave `distribute=None`. Several hosts: JAX only, after
    `keras.distribution.initialize()`; `MultiWorkerMirroredStrategy` is not
    offered, because Keras 3's `fit` does not support it properly
    (keras-team/keras#20585). See `keras_attn_deblur.distribute`.

    Args:
        model: str or `keras.Model`. A preset name of `AttnDeblurNet`
            (`"patent"`, `"lite"`) or a model. Defaults to `"patent"`.
        learning_rate: float. Peak learning rate. Defaults to `2e-4`.
        total_steps: int. Optimizer steps of the whole run, for the cosine
            decay. Defaults to `None` (constant learning rate).
        final_learning_rate_ratio: float. The learning rate at `total_steps`
            as a fraction of `learning_rate`. Defaults to `0.01`.
        optimizer: str. `"adam"` or `"adamw"`. Defaults to `"adam"`.
        weight_decay: float. Decoupled weight decay of AdamW. Defaults to
            `1e-4`.
        clipnorm: float. Clip each gradient to this norm. Defaults to `None`.
        loss: str or `keras.losses.Loss`. `"charbonnier"`, `"l1"`, `"mse"`,
            `"psnr"` or a loss object. Defaults to `"charbonnier"`.
        frequency_weight: float. Weight of an added `FrequencyLoss` (MIMO-UNet
            uses 0.1). Defaults to `0.0` (none).
        mixed_precision: str. `None`/`"float32"`, `"bfloat16"` (CPUs with
            AVX-512 BF16/AMX, TPUs, recent GPUs) or `"float16"` (GPUs).
            Defaults to `None`.
        ssim_variants: tuple of str. SSIM metrics to report: `"gaussian"`
            (logged as `ssim`) and/or `"matlab"` (logged as `ssim_matlab`).
            Defaults to `("gaussian",)`.
        jit_compile: bool or `"auto"`. Passed to `Model.compile`. Defaults
            to `"auto"`.
        distribute: `None`/`"none"`, `"data_parallel"` (every GPU or TPU;
            every CPU device when there is none) or a list of device names,
            e.g. `("gpu:0", "gpu:1")`. Defaults to `None` (one device).

    Returns:
        The compiled `keras.Model`.

    Example:
    ```python
    from keras_attn_deblur import training

    model = training.compile_for_deblurring("lite", total_steps=10_000)
    model = training.compile_for_deblurring("patent", distribute="data_parallel")
    ```
    """
    policy = policy_for(mixed_precision, name="mixed_precision")
    if optimizer not in _OPTIMIZERS:
        raise ValueError(
            f"`optimizer` must be one of {_OPTIMIZERS}. Received: optimizer={optimizer!r}"
        )
    check_positive_int("total_steps", total_steps, allow_none=True)
    if frequency_weight < 0:
        raise ValueError(
            f"`frequency_weight` must be >= 0. Received: frequency_weight={frequency_weight!r}"
        )
    loss_instance = _pixel_loss(loss)
    if frequency_weight > 0:
        loss_instance = WeightedSumLoss([loss_instance, FrequencyLoss()], [1.0, frequency_weight])
    engine, build_scope = distribute_lib.enter_distribution(distribute)
    with build_scope:  # the model, its optimizer and metrics live under the distribution
        if isinstance(model, str):
            model = AttnDeblurNet.from_preset(model, dtype=policy)
        else:
            model = with_dtype(model, policy, rebuild=engine is not None)
        model.compile(
            optimizer=_optimizer(
                optimizer, learning_rate, total_steps, final_learning_rate_ratio,
                weight_decay, clipnorm,
            ),
            loss=loss_instance,
            metrics=[PSNR()] + [SSIM(variant=variant) for variant in ssim_variants],
            jit_compile=jit_compile,
        )  # fmt: skip
    return model


def _optimizer(name, learning_rate, total_steps, final_learning_rate_ratio, weight_decay, clipnorm):
    schedule = learning_rate
    if total_steps is not None:
        schedule = keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=total_steps, alpha=final_learning_rate_ratio
        )
    if name == "adamw":
        return keras.optimizers.AdamW(schedule, weight_decay=weight_decay, clipnorm=clipnorm)
    return keras.optimizers.Adam(schedule, clipnorm=clipnorm)


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite: the weights are no longer usable."""


def deblurring_callbacks(
    directory,
    *,
    monitor="val_psnr",
    save_best=True,
    backup=True,
    backup_freq="epoch",
    csv_log=True,
    terminate_on_nan=True,
):
    """The callbacks of a real training run, writing into `directory`.

    - `best.keras`: the model with the best `monitor` value so far
      (`ModelCheckpoint`, higher is better for PSNR/SSIM, lower for losses).
    - `backup/`: `AtomicBackupAndRestore` state; running the same `fit`
      again after a crash or a kill resumes from the last backup (written
      atomically, the previous one kept).
    - `log.csv`: one row per epoch, appended to on resume.
    - `TerminateOnNaN` stops a diverged run.

    Data-parallel runs write each file once: on one host the callbacks run
    once per step, whatever the device count. On several JAX hosts every
    process runs them, so only process 0 writes `best.keras` and `log.csv`,
    and process N > 0 keeps its own backup in `backup_process<N>/` (every
    process must restore to resume; separate folders avoid two processes
    writing the same files on a shared disk).

    Args:
        directory: str or path. The run folder, created if missing.
        monitor: str. The quantity for the best checkpoint. Defaults to
            `"val_psnr"` (needs `validation_data`; use `"psnr"` without it).
        save_best: bool. Keep `best.keras`. Defaults to `True`.
        backup: bool. Add `BackupAndRestore`. Defaults to `True`.
        backup_freq: `"epoch"` or int. Back up every epoch or every N
            steps. Defaults to `"epoch"`.
        csv_log: bool. Write `log.csv`. Defaults to `True`.
        terminate_on_nan: bool. Add `TerminateOnNaN`. Defaults to `True`.

    Returns:
        A list of `keras.callbacks.Callback`.

    Example:
    ```python
    from keras_attn_deblur import training

    callbacks = training.deblurring_callbacks("runs/my_photos")
    ```
    """
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    mode = "min" if "loss" in monitor else "max"
    process = distribute_lib.process_index()
    callbacks = []
    if terminate_on_nan:
        callbacks.append(keras.callbacks.TerminateOnNaN())
    if backup:
        backup_folder = "backup" if process == 0 else f"backup_process{process}"
        callbacks.append(
            AtomicBackupAndRestore(os.path.join(directory, backup_folder), save_freq=backup_freq)
        )
    if process != 0:
        return callbacks
    if save_best:
        callbacks.append(
            keras.callbacks.ModelCheckpoint(
                os.path.join(directory, "best.keras"),
                monitor=monitor,
                mode=mode,
                save_best_only=True,
            )
        )
    if csv_log:
        callbacks.append(
            keras.callbacks.CSVLogger(os.path.join(directory, "log.csv"), append=True)
        )
    return callbacks


# === A whole training run ===


class RunOptionsError(ValueError):
    """Options of a training run that contradict each other, the data or the devices.

    The message names the options in backticks (`batch_size`); the command
    line shows them as its flags (--batch-size) and exits with code 2.
    """


FINAL_MODEL = "final.keras"


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
            model, learning_rate=learning_rate, total_steps=total_steps, loss=loss,
            mixed_precision=mixed_precision,
        )  # fmt: skip
        os.makedirs(run_dir, exist_ok=True)
        callbacks = deblurring_callbacks(
            run_dir, monitor="val_psnr" if val_data is not None else "psnr"
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
        # The datasets shuffle themselves.
        fit_options = dict(
            epochs=epochs, callbacks=callbacks, shuffle=False, verbose=2 if quiet else "auto"
        )
        if val_data is not None:
            fit_options["validation_data"] = val_data
        if isinstance(val_data, tuple):
            fit_options["validation_batch_size"] = replicas
        history = model.fit(train_ds, **fit_options)
    if not weights_are_finite(model):
        losses = history.history.get("loss", [])
        raise TrainingDivergedError(
            f"training diverged: the loss became {losses[-1] if losses else 'NaN'} in epoch "
            f"{len(losses)} and the weights are no longer finite, so no final model was "
            f"written; '{os.path.join(run_dir, 'best.keras')}' (if any) holds the best "
            f"finite one. Lower `learning_rate` (now {learning_rate:g}) and run again: "
            "it resumes from the last finite backup"
        )
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
