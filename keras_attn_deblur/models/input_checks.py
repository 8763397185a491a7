"""Checks of the images given to `AttnDeblurNet`: one-line errors before any tracing."""

import keras
import numpy as np

_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


def validate_array_pair(images, targets):
    """Checks the inputs of fit/evaluate/predict: arrays fully, tf.data specs by shape.

    NumPy arrays are also checked for values (NaN or infinite pixels, a 0-255
    scale), in chunks, which costs one pass over the data; tensors and
    generators are checked by shape and dtype only.
    """
    spec = getattr(images, "element_spec", None)
    if spec is not None:
        _validate_dataset_spec(spec)
        return
    if not hasattr(images, "shape") or not hasattr(images, "dtype"):
        return
    validate_images(images)
    if images.shape[0] == 0:
        raise ValueError(
            "AttnDeblurNet received an empty batch (0 images). Received: "
            f"shape={tuple(images.shape)}"
        )
    _validate_values(images, "blurry images (x)")
    if targets is None or not hasattr(targets, "shape"):
        return
    if tuple(targets.shape) != tuple(images.shape):
        raise ValueError(
            "Blurry and sharp images must have the same shape. Received: "
            f"x.shape={tuple(images.shape)}, y.shape={tuple(targets.shape)}"
        )
    dtype = keras.backend.standardize_dtype(targets.dtype)
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(
            "The sharp targets (y) must be float images in [0, 1]; divide integer images "
            f"by 255 (8-bit) or 65535 (16-bit). Received: y.dtype={dtype}"
        )
    _validate_values(targets, "sharp targets (y)")


# Values outside this range are not [0, 1] images with a little noise: a 0-255 scale.
_VALUE_RANGE = (-0.5, 1.5)


def _validate_values(array, what, chunk=64):
    """NaN/inf or a 0-255 scale in a NumPy array give a one-line ValueError."""
    if not isinstance(array, np.ndarray):
        return
    low, high = np.inf, -np.inf
    for start in range(0, array.shape[0], chunk):
        part = array[start : start + chunk]
        bad = int(np.size(part) - np.count_nonzero(np.isfinite(part)))
        if bad:
            raise ValueError(
                f"The {what} hold NaN or infinite values (first in image {start} or after); "
                "AttnDeblurNet needs finite [0, 1] pixels: fix or drop those images "
                "(numpy.nan_to_num)."
            )
        low, high = min(low, float(part.min())), max(high, float(part.max()))
    if low < _VALUE_RANGE[0] or high > _VALUE_RANGE[1]:
        raise ValueError(
            f"The {what} range from {low:g} to {high:g}, but AttnDeblurNet expects [0, 1]: "
            "divide 8-bit values by 255 (16-bit by 65535)."
        )


def _validate_dataset_spec(spec):
    """A tf.data dataset of (blurry, sharp): shapes that must match, float dtypes."""
    if not isinstance(spec, tuple) or len(spec) < 2:
        return
    blurry, sharp = spec[0], spec[1]
    if not (hasattr(blurry, "shape") and hasattr(sharp, "shape")):
        return
    for name, item in (("blurry", blurry), ("sharp", sharp)):
        dtype = keras.backend.standardize_dtype(item.dtype)
        if dtype not in _FLOAT_DTYPES:
            raise ValueError(
                f"The dataset yields {name} images of dtype {dtype}; AttnDeblurNet needs "
                "float images in [0, 1]: map them with tf.cast(x, 'float32') / 255."
            )
    try:
        blurry_shape, sharp_shape = blurry.shape.as_list(), sharp.shape.as_list()
    except (AttributeError, ValueError):  # unknown rank
        return
    mismatch = len(blurry_shape) != len(sharp_shape) or any(
        a is not None and b is not None and a != b for a, b in zip(blurry_shape, sharp_shape)
    )
    if mismatch:
        raise ValueError(
            "The dataset yields blurry and sharp images of different shapes: "
            f"{tuple(blurry_shape)} and {tuple(sharp_shape)}; crop or resize the pairs "
            "together (keras_attn_deblur.data.make_dataset does)."
        )


def validate_images(images):
    """Raises `ValueError` unless `images` is a float (batch, H, W, 3) array.

    Dimensions unknown at trace time (None) are not checked.
    """
    if isinstance(images, (list, tuple, dict)):
        raise ValueError(
            "AttnDeblurNet takes a single image batch of shape (batch, height, "
            f"width, 3). Received: a {type(images).__name__}"
        )
    try:
        shape = tuple(images.shape)
    except (TypeError, ValueError):  # a TensorFlow tensor of unknown rank
        shape = None
    dtype = keras.backend.standardize_dtype(images.dtype)
    if shape is not None and (len(shape) != 4 or shape[-1] not in (3, None)):
        raise ValueError(
            "AttnDeblurNet expects RGB images of shape (batch, height, width, 3); "
            f"add a batch axis or convert grayscale/RGBA to RGB. Received: shape={shape}"
        )
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(
            "AttnDeblurNet expects float images in [0, 1]; divide integer images "
            f"by 255 (8-bit) or 65535 (16-bit). Received: dtype={dtype}"
        )
    if shape is not None and any(size == 0 for size in shape[1:3]):
        raise ValueError(
            "AttnDeblurNet needs images at least 1 pixel high and wide. "
            f"Received: shape={shape}"
        )
