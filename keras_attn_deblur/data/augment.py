"""Paired augmentations in numpy: one random draw, applied to both images.

A training example is a (blurry, sharp) pair that must stay aligned pixel for
pixel, so every function here draws its randomness once and applies the same
window, flip or rotation to both images. Images are `(height, width,
channels)` arrays; these functions never change their dtype.

The tf.data path (`tf_pipeline.py`) implements the same operations with
TensorFlow ops; the padding rule (centred, by reflection) is the same on both
paths.
"""

import numpy as np

from keras_attn_deblur._utils.validation import is_integer


def _check_pair(blurry, sharp):
    blurry = np.asarray(blurry)
    sharp = np.asarray(sharp)
    if blurry.ndim != 3 or blurry.shape != sharp.shape:
        raise ValueError(
            "`blurry` and `sharp` must be (height, width, channels) arrays of the "
            "same shape, the two images of one aligned pair. "
            f"Received: blurry.shape={blurry.shape}, sharp.shape={sharp.shape}"
        )
    return blurry, sharp


def normalize_size(size, name):
    """Checks a size argument: an int or `(height, width)` -> `(height, width)`.

    Args:
        size: int or tuple of 2 ints, all positive.
        name: str. The argument's name, for the error message.

    Returns:
        A `(height, width)` tuple of Python ints.
    """
    if is_integer(size):
        sizes = (size, size)
    elif isinstance(size, (tuple, list)) and len(size) == 2:
        sizes = tuple(size)
    else:
        sizes = ()
    if not sizes or not all(is_integer(value) and value >= 1 for value in sizes):
        raise ValueError(
            f"`{name}` must be a positive integer or a (height, width) tuple of "
            f"positive integers. Received: {name}={size!r}"
        )
    return int(sizes[0]), int(sizes[1])


def reflect_pad_to(image, height, width):
    """Pads an image by reflection, centred, to at least `height` x `width`.

    Reflection repeats as often as needed (`numpy.pad(mode="reflect")`), so
    even an image smaller than half the target size is padded; a dimension
    that is already large enough is left alone.

    Args:
        image: array of shape `(height, width, channels)`.
        height: int. The minimum height of the result.
        width: int. The minimum width of the result.

    Returns:
        The padded array (the input itself when no padding is needed).
    """
    pad_height = max(height - image.shape[0], 0)
    pad_width = max(width - image.shape[1], 0)
    if pad_height == 0 and pad_width == 0:
        return image
    return np.pad(
        image,
        (
            (pad_height // 2, pad_height - pad_height // 2),
            (pad_width // 2, pad_width - pad_width // 2),
            (0, 0),
        ),
        mode="reflect",
    )


def random_crop_pair(blurry, sharp, patch_size, rng):
    """Crops the same random window out of both images of a pair.

    The window position is uniform over every position that fits. An image
    smaller than the patch is first padded by reflection (centred), so a
    crop always has exactly the patch size.

    Args:
        blurry: array of shape `(height, width, channels)`.
        sharp: array of the same shape as `blurry`.
        patch_size: int or `(height, width)` tuple. Size of the crop.
        rng: `numpy.random.Generator`. Draws the window position.

    Returns:
        A tuple `(blurry_patch, sharp_patch)` of shape
        `(patch_height, patch_width, channels)`.

    Example:
    ```python
    import numpy as np
    from keras_attn_deblur import data

    rng = np.random.default_rng(0)
    blurry, sharp = np.random.rand(2, 720, 1280, 3)
    blurry_patch, sharp_patch = data.random_crop_pair(blurry, sharp, 256, rng)
    ```
    """
    blurry, sharp = _check_pair(blurry, sharp)
    patch_height, patch_width = normalize_size(patch_size, "patch_size")
    blurry = reflect_pad_to(blurry, patch_height, patch_width)
    sharp = reflect_pad_to(sharp, patch_height, patch_width)
    top = int(rng.integers(0, blurry.shape[0] - patch_height + 1))
    left = int(rng.integers(0, blurry.shape[1] - patch_width + 1))
    window = (slice(top, top + patch_height), slice(left, left + patch_width))
    return blurry[window], sharp[window]


def random_flip_pair(blurry, sharp, rng, vertical=True, horizontal=True):
    """Flips both images of a pair the same way, each axis with probability 1/2.

    Args:
        blurry: array of shape `(height, width, channels)`.
        sharp: array of the same shape as `blurry`.
        rng: `numpy.random.Generator`. Draws the two flip decisions.
        vertical: bool. Whether to flip upside down with probability 1/2.
            Defaults to `True`.
        horizontal: bool. Whether to flip left-right with probability 1/2.
            Defaults to `True`.

    Returns:
        A tuple `(blurry, sharp)` of flipped arrays (views of the inputs).
    """
    blurry, sharp = _check_pair(blurry, sharp)
    # Both decisions are always drawn, so that turning one axis off does not
    # shift the random stream of the draws that follow.
    flip_vertical, flip_horizontal = rng.random(2) < 0.5
    if vertical and flip_vertical:
        blurry, sharp = blurry[::-1], sharp[::-1]
    if horizontal and flip_horizontal:
        blurry, sharp = blurry[:, ::-1], sharp[:, ::-1]
    return blurry, sharp


def random_rot90_pair(blurry, sharp, rng):
    """Rotates both images of a pair by the same random multiple of 90 degrees.

    Square images are rotated by 0, 90, 180 or 270 degrees. Non-square images
    only by 0 or 180 degrees, so that every example of a batch keeps the same
    shape.

    Args:
        blurry: array of shape `(height, width, channels)`.
        sharp: array of the same shape as `blurry`.
        rng: `numpy.random.Generator`. Draws the number of quarter turns.

    Returns:
        A tuple `(blurry, sharp)` of rotated arrays (views of the inputs).
    """
    blurry, sharp = _check_pair(blurry, sharp)
    quarter_turns = int(rng.integers(0, 4))
    if blurry.shape[0] != blurry.shape[1]:
        quarter_turns = quarter_turns // 2 * 2
    return (
        np.rot90(blurry, quarter_turns, axes=(0, 1)),
        np.rot90(sharp, quarter_turns, axes=(0, 1)),
    )


def center_crop_pair(blurry, sharp, size):
    """Crops the central window of both images of a pair.

    An image smaller than `size` is padded by reflection (centred) first, as
    in `random_crop_pair`. When the margin is odd, the extra row or column is
    left at the bottom or right.

    Args:
        blurry: array of shape `(height, width, channels)`.
        sharp: array of the same shape as `blurry`.
        size: int or `(height, width)` tuple. Size of the crop.

    Returns:
        A tuple `(blurry_patch, sharp_patch)` of shape
        `(crop_height, crop_width, channels)`.
    """
    blurry, sharp = _check_pair(blurry, sharp)
    crop_height, crop_width = normalize_size(size, "size")
    blurry = reflect_pad_to(blurry, crop_height, crop_width)
    sharp = reflect_pad_to(sharp, crop_height, crop_width)
    top = (blurry.shape[0] - crop_height) // 2
    left = (blurry.shape[1] - crop_width) // 2
    window = (slice(top, top + crop_height), slice(left, left + crop_width))
    return blurry[window], sharp[window]
