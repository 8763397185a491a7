"""The two entry points: `make_dataset` (image pairs) and `synthetic_dataset`.

Both choose between the tf.data pipeline (`tf_pipeline.py`) and the
TensorFlow-free `keras.utils.PyDataset`s (`py_dataset.py`), which produce
the same `(blurry, sharp)` float32 batches with the same augmentations.
"""

import importlib.util
import inspect
import os

import keras

from keras_attn_deblur.data.py_dataset import PairedImageDataset
from keras_attn_deblur.data.py_dataset import SyntheticBlurDataset

PIPELINES = ("auto", "tf", "python")
_TF_BACKENDS = ("tensorflow", "jax")
# Worker threads of the PyDataset path when the caller does not choose.
_MAX_DEFAULT_WORKERS = 8


def _default_workers():
    return max(1, min(_MAX_DEFAULT_WORKERS, os.cpu_count() or 1))


def _tensorflow_installed():
    # `find_spec` tells without importing TensorFlow (seconds, and memory).
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):  # A `sys.modules["tensorflow"] = None` guard.
        return False


def resolve_pipeline(pipeline="auto"):
    """Which pipeline `pipeline` means here: `"tf"` or `"python"`.

    `"auto"` is `"tf"` when TensorFlow is installed and the Keras backend is
    TensorFlow or JAX, and `"python"` otherwise.

    Args:
        pipeline: str. One of `"auto"`, `"tf"`, `"python"`.

    Returns:
        `"tf"` or `"python"`.
    """
    if pipeline not in PIPELINES:
        raise ValueError(
            f"`pipeline` must be one of {PIPELINES}. Received: pipeline={pipeline!r}"
        )
    if pipeline == "auto":
        use_tf = _tensorflow_installed() and keras.backend.backend() in _TF_BACKENDS
        return "tf" if use_tf else "python"
    if pipeline == "tf" and not _tensorflow_installed():
        raise ImportError(
            'pipeline="tf" needs TensorFlow, which is not installed. Install it '
            'with `pip install "keras-attn-deblur[tensorflow]"`, or use '
            '`pipeline="python"` (a keras.utils.PyDataset, no TensorFlow needed).'
        )
    return pipeline


def _keyword_options(function):
    return {
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }


def _check_options(options, chosen, tf_function, python_class, requested):
    tf_options = _keyword_options(tf_function)
    python_options = _keyword_options(python_class.__init__)
    allowed = tf_options if chosen == "tf" else python_options
    for name in options:
        if name in allowed:
            continue
        if name in tf_options | python_options:
            other = "python" if chosen == "tf" else "tf"
            raise TypeError(
                f"`{name}` is an option of the {other!r} pipeline, but "
                f"pipeline={requested!r} chose {chosen!r}. Pass pipeline={other!r} "
                f"or drop `{name}`. Options of the {chosen!r} pipeline: "
                f"{sorted(allowed)}."
            )
        raise TypeError(
            f"Unknown option `{name}`. Options of the {chosen!r} pipeline: "
            f"{sorted(allowed)}."
        )


def _pipeline_function(pipeline, tf_function, python_class, options):
    """The tf.data function or the PyDataset class that `pipeline` chooses.

    Checks `options` against it and, for the PyDataset, defaults `workers`
    (in `options`, which it updates) to one thread per CPU core, up to 8.
    """
    chosen = resolve_pipeline(pipeline)
    _check_options(options, chosen, tf_function, python_class, pipeline)
    if chosen == "tf":
        return tf_function
    options.setdefault("workers", _default_workers())
    return python_class


def make_dataset(
    pairs, *, batch_size=8, patch_size=256, training=True, pipeline="auto", **options
):
    """Batches of aligned `(blurry, sharp)` float32 images in `[0, 1]`.

    Training: random `patch_size` crops with random horizontal and vertical
    flips (optionally 90-degree rotations, `rotate=True`), the same for both
    images of a pair, in a new order every epoch. Validation
    (`training=False`): every pair once, whole (`batch_size=1` unless all
    images share a size) or centre-cropped (`center_crop=SIZE`).

    Two pipelines make batches of the same kind (same augmentations, same
    value ranges; not the same random draws):

    - `"tf"`: a `tf.data.Dataset` (parallel decoding, shuffle, optional
      cache and repeat, prefetch). The fastest input pipeline; it also feeds
      `fit` under JAX, because Keras turns each tf.data batch into arrays.
    - `"python"`: a `data.PairedImageDataset` (`keras.utils.PyDataset` with
      worker threads, by default one per CPU core up to 8). Needs no
      TensorFlow, so it is the one for JAX-only or PyTorch machines.

    `"auto"` picks `"tf"` when TensorFlow is installed and the Keras backend
    is TensorFlow or JAX, else `"python"` (with the torch backend the
    PyDataset avoids running TensorFlow next to PyTorch).

    Args:
        pairs: list of `data.ImagePair`, e.g. from `data.gopro_pairs`,
            `data.realblur_pairs`, `data.hide_pairs` or `data.folder_pairs`.
        batch_size: int. Defaults to `8`.
        patch_size: int or `(height, width)`. Training crop size. Defaults to
            `256`.
        training: bool. Defaults to `True`.
        pipeline: str. `"auto"`, `"tf"` or `"python"`. Defaults to `"auto"`.
        **options: keyword arguments of the chosen pipeline. Both: `rotate`,
            `center_crop`, `seed`, `steps_per_epoch` (training batches per
            epoch; `fit` then needs no `steps_per_epoch`). `"tf"`
            (`data.make_tf_dataset`): `shuffle_buffer`, `cache`, `repeat`,
            `deterministic`. `"python"` (`data.PairedImageDataset`):
            `workers`, `use_multiprocessing`, `max_queue_size`. An option of
            the other pipeline raises a `TypeError` that names it.

    Returns:
        A `tf.data.Dataset` or a `data.PairedImageDataset`; either can be
        passed to `model.fit`.

    Example:
    ```python
    from keras_attn_deblur import data

    root = "/datasets/GOPRO_Large"
    train_ds = data.make_dataset(data.gopro_pairs(root, split="train"),
                                 batch_size=8, patch_size=256, seed=0)
    val_ds = data.make_dataset(data.gopro_pairs(root, split="test"),
                               batch_size=1, training=False)
    ```
    """
    from keras_attn_deblur.data import tf_pipeline  # No TensorFlow import yet.

    dataset_fn = _pipeline_function(
        pipeline, tf_pipeline.make_tf_dataset, PairedImageDataset, options
    )
    return dataset_fn(
        pairs, batch_size=batch_size, patch_size=patch_size, training=training, **options
    )


def synthetic_dataset(
    photos, *, batch_size=8, patch_size=256, blur=None, pipeline="auto", **options
):
    """Batches of `(blurry, sharp)` patches made from sharp photos only.

    Each example crops a window from a photo (with a margin of context),
    applies `blur` — by default a `data.SyntheticMotionBlur()`: camera-shake
    kernels blended non-uniformly over the image, optional noise and JPEG —
    and crops back to `patch_size`. Training windows are random and flipped,
    with a new blur every epoch; `training=False` gives a fixed validation
    set (centre crops, the same blur every epoch).

    The pipeline is chosen as in `data.make_dataset`: `"tf"`
    (`data.make_tf_synthetic_dataset`, a `tf.data.Dataset`), `"python"`
    (`data.SyntheticBlurDataset`, a `keras.utils.PyDataset`, no TensorFlow;
    one worker thread per CPU core up to 8 unless `workers` is given)
    or `"auto"` (`"tf"` when TensorFlow is installed and the Keras backend is
    TensorFlow or JAX).

    Args:
        photos: str or path (a folder, searched recursively for images) or a
            list of image paths.
        batch_size: int. Defaults to `8`.
        patch_size: int or `(height, width)`. Defaults to `256`.
        blur: callable `(sharp, rng) -> blurry` on float32 `(H, W, 3)`
            arrays. Defaults to `None` (`data.SyntheticMotionBlur()`).
        pipeline: str. `"auto"`, `"tf"` or `"python"`. Defaults to `"auto"`.
        **options: keyword arguments of the chosen pipeline. Both: `margin`,
            `training`, `rotate`, `seed`, `steps_per_epoch`. `"tf"`
            (`data.make_tf_synthetic_dataset`): `shuffle_buffer`, `cache`,
            `repeat`, `deterministic`. `"python"` (`data.SyntheticBlurDataset`):
            `workers`, `use_multiprocessing`, `max_queue_size`.

    Returns:
        A `tf.data.Dataset` or a `data.SyntheticBlurDataset`.

    Example:
    ```python
    from keras_attn_deblur import data

    train_ds = data.synthetic_dataset("/my/sharp/photos", batch_size=8,
                                      patch_size=256, seed=0)
    val_ds = data.synthetic_dataset("/my/val/photos", batch_size=8,
                                    training=False, seed=0)
    ```
    """
    from keras_attn_deblur.data import tf_pipeline  # No TensorFlow import yet.

    dataset_fn = _pipeline_function(
        pipeline, tf_pipeline.make_tf_synthetic_dataset, SyntheticBlurDataset, options
    )
    return dataset_fn(
        photos, batch_size=batch_size, patch_size=patch_size, blur=blur, **options
    )
