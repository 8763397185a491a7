"""Data-parallel training on several devices, with JAX or TensorFlow.

```python
from keras_attn_deblur import distribute, training

with distribute.distribution_scope("data_parallel") as engine:
    model = training.compile_for_deblurring("patent", total_steps=100_000)
    model.fit(train_ds, epochs=100)  # each global batch is split over the devices
```

`distribute` names the same thing on both backends: synchronous data
parallelism, one model replica per device, each device computing on its
share of every global batch, gradients averaged over the whole batch before
one optimizer step. The result equals single-device training on the same
global batches (up to float rounding; `tests/test_distribute.py` checks it).

- JAX: `keras.distribution.DataParallel` over `keras.distribution.list_devices()`
  (every GPU or TPU; every CPU device when there is no accelerator), set as
  the process's distribution with `keras.distribution.set_distribution`.
  The JAX trainer shards each batch over the mesh's `"batch"` axis.
- TensorFlow: `tf.distribute.MirroredStrategy` over every GPU (every logical
  CPU device when there is none). The model and its optimizer must be built
  and compiled inside `strategy.scope()`; the model then remembers the
  strategy, and `fit` splits each batch over the replicas.

Several hosts: JAX only. Start the same command on every host, one process
per host; each process first calls `keras.distribution.initialize()`, which
calls `jax.distributed.initialize` (`initialize_hosts()` does it when
`KERAS_DISTRIBUTION_NUM_PROCESSES` is above 1; the coordinator address and
process id come from `KERAS_DISTRIBUTION_JOB_ADDRESSES` and
`KERAS_DISTRIBUTION_PROCESS_ID`, or from the function's arguments).
`list_devices()` then lists the devices of every host, and Keras shards a
`tf.data` dataset over the processes (a `PyDataset` cannot be sharded
automatically: Keras raises a `ValueError`). `MultiWorkerMirroredStrategy`
is not offered: Keras 3's `model.fit` does not support it properly
(keras-team/keras#20585), so several TensorFlow hosts are not a supported
path. Multi-host training is untested here (no cluster).

TensorFlow is imported inside the functions that need it, so this module,
like the whole package, imports without TensorFlow.
"""

import contextlib
import os

import keras

from keras_attn_deblur.models.precision import with_dtype


def resolve_devices(distribute):
    """The devices that `distribute` trains on, or `None` for no distribution.

    Args:
        distribute: `None`, `"none"`, `"data_parallel"` (every accelerator;
            every CPU device when there is none) or a list/tuple of device
            names such as `("gpu:0", "gpu:1")` (JAX style) or
            `("/gpu:0", "/gpu:1")` (TensorFlow style).

    Returns:
        A list of device names in the backend's own spelling, or `None`.
    """
    if distribute is None or distribute == "none":
        return None
    if isinstance(distribute, (list, tuple)):
        devices = list(distribute)
        if not devices or not all(isinstance(device, str) for device in devices):
            raise ValueError(
                "`distribute` as a device list needs at least one device name, e.g. "
                f"('gpu:0', 'gpu:1'). Received: distribute={distribute!r}"
            )
        _check_backend(distribute)
        return devices
    if distribute != "data_parallel":
        raise ValueError(
            "`distribute` must be None, 'none', 'data_parallel' or a list of device "
            f"names. Received: distribute={distribute!r}"
        )
    backend = _check_backend(distribute)
    if backend == "jax":
        return list(keras.distribution.list_devices())
    tf = _import_tensorflow()
    gpus = tf.config.list_logical_devices("GPU")
    return [device.name for device in gpus or tf.config.list_logical_devices("CPU")]


@contextlib.contextmanager
def distribution_scope(distribute=None):
    """Builds, compiles and fits the models of this block data-parallel.

    Build, compile *and* `fit` inside the block. The global batch size (what
    the dataset yields) is split evenly over the devices: with 4 GPUs and
    `batch_size=32`, each GPU computes on 8 images. Every batch, validation
    ones included, must therefore divide by the device count. The learning
    rate needs no change: gradients are averaged over the global batch.

    After a distributed run, predict on `single_device_copy(model)`: a
    distributed model needs batches that split over the devices, and
    `deblur` predicts one tile at a time.

    Checkpoints are written once: on one host Keras callbacks run once per
    step, not once per device. On several JAX hosts every process runs the
    callbacks; `training.deblurring_callbacks` writes `best.keras` and
    `log.csv` on process 0 only.

    Args:
        distribute: `None`/`"none"` (the block changes nothing),
            `"data_parallel"` or a list of device names; see
            `resolve_devices`. Defaults to `None`.

    Yields:
        The engine: a `keras.distribution.DataParallel` (JAX), a
        `tf.distribute.MirroredStrategy` (TensorFlow) or `None`.

    Example:
    ```python
    from keras_attn_deblur import distribute, training

    with distribute.distribution_scope("data_parallel"):
        model = training.compile_for_deblurring("lite")
        model.fit(train_ds, epochs=10)
    model = distribute.single_device_copy(model)  # for deblur()
    ```
    """
    if resolve_devices(distribute) is None:
        yield None
        return
    previous = keras.distribution.distribution() if keras.backend.backend() == "jax" else None
    try:
        engine, build_scope = enter_distribution(distribute)
        with build_scope:
            yield engine
    finally:
        if keras.backend.backend() == "jax":
            keras.distribution.set_distribution(previous)


def enter_distribution(distribute):
    """Starts the distribution; returns `(engine, scope to build and compile in)`.

    JAX: sets a `DataParallel` as the process's distribution, which stays set
    (the JAX trainer reads it in `fit`, `evaluate` and `predict`) until
    `keras.distribution.set_distribution(None)`. TensorFlow: a new
    `MirroredStrategy` and its `scope()`. `None`: `(None, a no-op scope)`.
    Prefer `distribution_scope`, which also restores the previous state.
    """
    devices = resolve_devices(distribute)
    if devices is None:
        return None, contextlib.nullcontext()
    if keras.backend.backend() == "jax":
        distribution = keras.distribution.DataParallel(devices=devices)
        keras.distribution.set_distribution(distribution)
        return distribution, contextlib.nullcontext()
    tf = _import_tensorflow()
    strategy = tf.distribute.MirroredStrategy(devices=[_tf_device_name(d) for d in devices])
    return strategy, strategy.scope()


def replica_count(engine):
    """How many devices share each batch under `engine` (1 for `None`)."""
    if engine is None:
        return 1
    if hasattr(engine, "num_replicas_in_sync"):
        return int(engine.num_replicas_in_sync)
    return int(engine.device_mesh.devices.size)


def single_device_copy(model):
    """A copy of `model` with the same weights, built outside any distribution.

    For inference after a distributed run (`deblur` predicts one image or
    tile at a time, which does not split over several devices). Call it
    after leaving `distribution_scope` (JAX) or anywhere (TensorFlow).
    """
    return with_dtype(model, rebuild=True)


def initialize_hosts():
    """Joins a multi-host JAX run described by the environment; returns the host count.

    When `KERAS_DISTRIBUTION_NUM_PROCESSES` is above 1, calls
    `keras.distribution.initialize()` (hence `jax.distributed.initialize`),
    which reads `KERAS_DISTRIBUTION_JOB_ADDRESSES` (the coordinator's
    `host:port`) and `KERAS_DISTRIBUTION_PROCESS_ID` (0 on the coordinator).
    Call it first, before anything runs on a device. The command line does
    so with `--distribute data_parallel`, so the same command starts every
    host. Several hosts need the JAX backend.
    """
    count = int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1"))
    if count <= 1:
        return 1
    if keras.backend.backend() != "jax":
        raise ValueError(
            "Training on several hosts needs the JAX backend: Keras 3's `fit` does not "
            "support TensorFlow's MultiWorkerMirroredStrategy properly "
            "(keras-team/keras#20585). Set KERAS_BACKEND=jax. Received: "
            f"KERAS_DISTRIBUTION_NUM_PROCESSES={count} with backend {keras.backend.backend()!r}"
        )
    keras.distribution.initialize()
    return count


def process_index():
    """This process's index among the hosts of a run: 0 unless multi-host JAX."""
    if keras.backend.backend() != "jax":
        return 0
    import jax

    return jax.process_index()


def _check_backend(distribute):
    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise ValueError(
            "Data-parallel training supports the JAX and TensorFlow backends; set "
            "KERAS_BACKEND=jax or tensorflow, or pass distribute=None. Received: "
            f"distribute={distribute!r} with backend {backend!r}"
        )
    return backend


def _tf_device_name(device):
    """`"gpu:0"` (JAX spelling, as `list_devices()` gives) -> `"/gpu:0"`."""
    return device if device.startswith("/") else f"/{device}"


def _import_tensorflow():
    try:
        import tensorflow as tf
    except ImportError as error:
        raise ImportError(
            "Data-parallel training on the TensorFlow backend needs TensorFlow, which "
            'is not installed. Install it with `pip install "keras-attn-deblur[tensorflow]"`, '
            "or use KERAS_BACKEND=jax."
        ) from error
    return tf
