"""Pixel conversions: any image to float RGB in [0, 1], and float back to 8 or 16 bits.

Every module that turns pixels into numbers goes through here: decoding a file
(`io.decode.load_image`), the pictures of `visualize`, and the tiles that
`inference` feeds the network and writes back.

```python
import numpy as np
from keras_attn_deblur.io.convert import from_float, to_float_rgb

rgb = to_float_rgb(np.zeros((4, 6), np.uint16))  # float32 (4, 6, 3) in [0, 1]
to_8_bit = from_float(rgb, np.uint8)             # rounded with np.rint, clamped
```
"""

import numpy as np
from PIL import Image

# The full-scale value of each integer sample type the package reads and writes.
INTEGER_MAXIMA = {np.dtype("uint8"): 255, np.dtype("uint16"): 65535}
# Pillow's modes of 16-bit (and 32-bit integer) grayscale.
SIXTEEN_BIT_GRAY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def maximum_of(dtype):
    """The value that means full brightness for samples of `dtype`: 255, 65535 or 1.0.

    Any byte order counts (a 16-bit PNG's big-endian `>u2` too).
    """
    return INTEGER_MAXIMA.get(np.dtype(dtype).newbyteorder("="), 1.0)


def from_float(values, dtype):
    """Clamps float samples to `[0, 1]` and converts them to `dtype`.

    Integer types are scaled to their full range and rounded half to even
    (`np.rint`), what saving an 8- or 16-bit PNG does; float types are only
    clamped.

    Args:
        values: float array. Samples, nominally in `[0, 1]`.
        dtype: NumPy dtype. `uint8`, `uint16` or a float type.

    Returns:
        An array of `dtype` and the shape of `values`.
    """
    values = np.clip(values, 0.0, 1.0)
    dtype = np.dtype(dtype)
    if dtype in INTEGER_MAXIMA:
        return np.rint(values * INTEGER_MAXIMA[dtype]).astype(dtype)
    return values.astype(dtype)


def pil_to_float_rgb(image):
    """A loaded Pillow image -> float32 `(H, W, 3)` in `[0, 1]`.

    16-bit grayscale (`I;16*`, `I`) is divided by 65535 and clamped, every
    other mode is converted to RGB by Pillow and divided by 255: grayscale
    is repeated, palettes are expanded, alpha is dropped without
    compositing (the stored RGB values are kept).

    Raises:
        ValueError: mode `"F"` (32-bit float samples of unknown range); the
            message is worded to follow a file name.
    """
    if image.mode in SIXTEEN_BIT_GRAY_MODES:
        gray = np.clip(np.asarray(image).astype(np.float32) / 65535.0, 0.0, 1.0)
        return np.repeat(gray[:, :, None], 3, axis=-1)
    if image.mode == "F":
        raise ValueError("holds 32-bit floating-point samples, whose value range is unknown")
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image, dtype=np.float32) / 255.0


def samples_to_float_rgb(samples):
    """Image samples -> float32 `(H, W, 3)` in `[0, 1]`.

    Args:
        samples: array `(H, W)` or `(H, W, C)`: C = 1 or 2 is gray (+ alpha),
            3 or 4 RGB (+ alpha); `uint8` (divided by 255), `uint16` (by
            65535) or float (clamped to `[0, 1]`). Alpha is dropped.

    Raises:
        ValueError: another dtype (the message names it).
    """
    samples = np.asarray(samples)
    if samples.ndim == 2:
        samples = samples[:, :, None]
    if samples.shape[-1] in (1, 2):
        samples = np.repeat(samples[:, :, :1], 3, axis=-1)
    samples = samples[:, :, :3]
    if samples.dtype.kind == "u" and maximum_of(samples.dtype) != 1.0:
        return samples.astype(np.float32) / np.float32(maximum_of(samples.dtype))
    if not np.issubdtype(samples.dtype, np.floating):
        raise ValueError(f"dtype={samples.dtype}")
    return np.clip(samples.astype(np.float32), 0.0, 1.0)


def to_float_rgb(image, *, role="image"):
    """A PIL image or an array -> float32 `(H, W, 3)` in `[0, 1]`.

    Args:
        image: `PIL.Image.Image`, or an array `(H, W)`, `(H, W, 3)` or
            `(H, W, 4)` of `uint8`, `uint16` or float in `[0, 1]` (see
            `samples_to_float_rgb`).
        role: str. What the image is, for error messages, e.g. `"blurry"`.
            Defaults to `"image"`.

    Raises:
        ValueError: another shape or dtype, naming `role`.
    """
    if isinstance(image, Image.Image):
        return pil_to_float_rgb(image)
    array = np.asarray(image)
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4))):
        raise ValueError(
            f"The {role} image must have shape (height, width, 3). Received: "
            f"shape={array.shape}"
        )
    try:
        return samples_to_float_rgb(array)
    except ValueError:
        raise ValueError(
            f"The {role} image must be float in [0, 1], uint8 or uint16. Received: "
            f"dtype={array.dtype}"
        ) from None
