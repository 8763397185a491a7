"""The training recipe: `compile_for_deblurring` and the callbacks of a real run."""

import csv
import os
import shutil
import tempfile

import keras
import numpy as np

from keras_attn_deblur import distribute as distribute_lib
from keras_attn_deblur._utils.paths import write_atomically
from keras_attn_deblur._utils.validation import check_momentum
from keras_attn_deblur._utils.validation import check_non_negative_int
from keras_attn_deblur._utils.validation import check_positive_int
from keras_attn_deblur._utils.validation import check_probability
from keras_attn_deblur.losses import CharbonnierLoss
from keras_attn_deblur.losses import FrequencyLoss
from keras_attn_deblur.losses import PSNRLoss
from keras_attn_deblur.losses import WeightedSumLoss
from keras_attn_deblur.metrics import PSNR
from keras_attn_deblur.metrics import SSIM
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
    warmup_steps=0,
    final_learning_rate_ratio=0.01,
    optimizer="adam",
    weight_decay=1e-4,
    clipnorm=None,
    ema_momentum=None,
    loss="charbonnier",
    frequency_weight=0.0,
    mixed_precision=None,
    ssim_variants=("gaussian",),
    jit_compile="auto",
    distribute=None,
):
    """Builds (if needed) and compiles a model with the deblurring recipe.

    The recipe: Adam or AdamW, an optional linear warm-up from 0 to
    `learning_rate` over `warmup_steps`, then a cosine learning-rate decay to
    `learning_rate * final_learning_rate_ratio` at `total_steps` optimizer
    steps (without `total_steps`, the peak holds after the warm-up), a pixel
    loss (Charbonnier by default) optionally plus MIMO-UNet's FFT loss, and
    PSNR/SSIM metrics averaged per image.

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
        warmup_steps: int. Steps of linear warm-up from 0 to `learning_rate`
            (part of `total_steps`). Fine-tuning trained weights wants some:
            a fresh Adam moves every weight by about `learning_rate` in its
            first steps, whatever its gradient. Defaults to `0`.
        final_learning_rate_ratio: float. The learning rate at `total_steps`
            as a fraction of `learning_rate`. Defaults to `0.01`.
        optimizer: str. `"adam"` or `"adamw"`. Defaults to `"adam"`.
        weight_decay: float. Decoupled weight decay of AdamW. Defaults to
            `1e-4`.
        clipnorm: float. Clip each gradient to this norm. Defaults to `None`.
        ema_momentum: float. Keep an exponential moving average of the
            weights with this momentum (Polyak averaging, as NAFNet and
            Restormer train: 0.999 averages about the last 1,000 steps).
            The optimizer keeps the average from the starting weights on;
            `deblurring_callbacks(..., ema=True)` validates and checkpoints
            it, and `fit` ends with it in the model. Defaults to `None`
            (no average).
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
    check_non_negative_int("warmup_steps", warmup_steps)
    if ema_momentum is not None:
        check_momentum("ema_momentum", ema_momentum)
    check_probability("final_learning_rate_ratio", final_learning_rate_ratio)
    if total_steps is not None and warmup_steps >= total_steps:
        raise ValueError(
            f"`warmup_steps` must be fewer than `total_steps` ({total_steps}). "
            f"Received: warmup_steps={warmup_steps!r}"
        )
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
                optimizer, learning_rate, total_steps, warmup_steps,
                final_learning_rate_ratio, weight_decay, clipnorm, ema_momentum,
            ),
            loss=loss_instance,
            metrics=[PSNR()] + [SSIM(variant=variant) for variant in ssim_variants],
            jit_compile=jit_compile,
        )  # fmt: skip
    return model


def _optimizer(
    name, learning_rate, total_steps, warmup_steps, final_learning_rate_ratio, weight_decay,
    clipnorm, ema_momentum,
):
    schedule = learning_rate
    if warmup_steps:
        # 0 at step 0, the peak at `warmup_steps`, then the cosine; without
        # `total_steps`, alpha 1 holds the peak.
        decay_steps = total_steps - warmup_steps if total_steps else 1
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0,
            decay_steps=decay_steps,
            alpha=final_learning_rate_ratio if total_steps else 1.0,
            warmup_target=learning_rate,
            warmup_steps=warmup_steps,
        )
    elif total_steps is not None:
        schedule = keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=total_steps, alpha=final_learning_rate_ratio
        )
    options = dict(clipnorm=clipnorm)
    if ema_momentum is not None:
        options.update(use_ema=True, ema_momentum=ema_momentum)
    if name == "adamw":
        return keras.optimizers.AdamW(schedule, weight_decay=weight_decay, **options)
    return keras.optimizers.Adam(schedule, **options)


def deblurring_callbacks(
    directory,
    *,
    monitor="val_psnr",
    save_best=True,
    backup=True,
    backup_freq="epoch",
    csv_log=True,
    terminate_on_nan=True,
    ema=False,
):
    """The callbacks of a real training run, writing into `directory`.

    - `best.keras`: the model with the best `monitor` value so far
      (`ModelCheckpoint`, higher is better for PSNR/SSIM, lower for losses).
      Non-finite weights (a diverged run) are never written there, and a NaN
      score never counts as the best, so `best.keras`, when it exists, holds
      finite weights.
    - `backup/`: `AtomicBackupAndRestore` state; running the same `fit`
      again after a crash or a kill resumes from the last backup (written
      atomically, the previous one kept).
    - `log.csv`: one row per epoch, appended to on resume.
    - `TerminateOnNaN` stops a diverged run.
    - With `ema=True` (a model compiled with `ema_momentum`), validation,
      `best.keras` and the end of `fit` see the weights' moving average
      (`keras.callbacks.SwapEMAWeights`); the backup keeps the raw weights
      and the average apart, so a resumed run goes on exactly.

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
        ema: bool. Validate and checkpoint the moving average of the
            weights (the optimizer must have `use_ema=True`). Defaults to
            `False`.

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
    if ema:  # after the backup (raw weights saved), before the checkpoint (the average saved)
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    if process != 0:
        return callbacks
    if save_best:
        callbacks.append(
            _FiniteModelCheckpoint(
                os.path.join(directory, "best.keras"),
                monitor=monitor,
                mode=mode,
                save_best_only=True,
                log_path=os.path.join(directory, "log.csv") if csv_log else None,
            )
        )
    if csv_log:
        callbacks.append(
            keras.callbacks.CSVLogger(os.path.join(directory, "log.csv"), append=True)
        )
    return callbacks


class _FiniteModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """`ModelCheckpoint` that never writes non-finite weights nor takes a NaN score as the best,
    writes atomically, and remembers the best score of the run it resumes.

    Keras's own counts the first score as the best whatever it is, NaN included,
    and no later score beats a NaN: a run that diverged in its first epoch
    would otherwise leave NaN weights in `best.keras`, and keep them there.
    The weights checked are the ones written (the moving average when
    `SwapEMAWeights` comes first). Keras's own also forgets the best score at
    every `fit`, so a resumed run would replace `best.keras` with its first
    epoch, better or not: this one starts from the best `monitor` value in
    `log_path` (the run's `log.csv`) when `best.keras` exists. The file is
    written next to itself and renamed into place, so a kill never leaves
    half of it, nor loses the one before.
    """

    def __init__(self, filepath, *, log_path=None, **kwargs):
        super().__init__(filepath, **kwargs)
        self.log_path = log_path

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.best is None and self.log_path and os.path.isfile(self.filepath):
            self.best = _best_logged(self.log_path, self.monitor, self.mode)

    def on_epoch_end(self, epoch, logs=None):  # it saves once per epoch (`save_freq="epoch"`)
        score = (logs or {}).get(self.monitor)
        if score is not None and np.ndim(score) == 0 and np.isnan(float(score)):
            return
        if weights_are_finite(self.model):
            super().on_epoch_end(epoch, logs)

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, batch, logs, filepath):
            return
        folder = os.path.dirname(os.path.abspath(filepath))

        def write(file):  # Keras saves to a path; its bytes then go through the checked file
            with tempfile.TemporaryDirectory(dir=folder, prefix=".checkpoint-") as staging:
                staged = os.path.join(staging, os.path.basename(filepath))
                self.model.save(staged)
                with open(staged, "rb") as source:
                    shutil.copyfileobj(source, file)

        write_atomically(filepath, write)


def _best_logged(log_path, monitor, mode):
    """The best finite `monitor` value in a `CSVLogger` file, or `None`."""
    if not os.path.isfile(log_path):
        return None
    with open(log_path, newline="", encoding="utf-8") as file:
        values = [float(row[monitor]) for row in csv.DictReader(file) if row.get(monitor)]
    values = [value for value in values if np.isfinite(value)]
    if not values:
        return None
    return min(values) if mode == "min" else max(values)
