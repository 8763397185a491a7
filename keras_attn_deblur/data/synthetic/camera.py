"""The camera pipeline around the blur: response curve, sensor noise, JPEG (NumPy).

Light adds up on the sensor in linear units, and the stored image is the
camera response of it, then noisy, then compressed. These functions model
each step:

- `apply_crf` / `inverse_crf`: a gamma camera response function and its
  inverse (gamma 2.2, as the GoPro dataset assumed for `blur_gamma/`).
- `add_poisson_noise` (photon shot noise) and `add_gaussian_noise` (read
  noise).
- `jpeg_compress`: a round trip through Pillow's JPEG encoder.

Images are float arrays in `[0, 1]`; results are float32. Random functions
take a `numpy.random.Generator` or an integer seed.
"""

import io

import numpy as np
from PIL import Image

from keras_attn_deblur.data.synthetic._checks import as_float
from keras_attn_deblur.data.synthetic._checks import as_generator
from keras_attn_deblur.data.synthetic._checks import as_image
from keras_attn_deblur.data.synthetic._checks import check_number
from keras_attn_deblur.data.synthetic._checks import check_range


def apply_crf(image, gamma=2.2):
    """Linear light to display values with a gamma camera response.

    `display = linear ** (1 / gamma)`; negative values are clipped to 0 first.
    The inverse of `inverse_crf`. A gamma of 2.2 is the CRF approximation the
    GoPro dataset used for its `blur_gamma` images.

    Args:
        image: float array in `[0, 1]`, linear light.
        gamma: float. The gamma, > 0. Defaults to `2.2`.

    Returns:
        A float32 array of the same shape.
    """
    check_number("gamma", gamma, minimum=0.0, inclusive=False)
    return np.power(np.maximum(as_float(image), 0.0), 1.0 / gamma).astype("float32")


def inverse_crf(image, gamma=2.2):
    """Display values to linear light: `linear = display ** gamma`.

    Args:
        image: float array in `[0, 1]`, display (gamma-encoded) values.
        gamma: float. The gamma, > 0. Defaults to `2.2`.

    Returns:
        A float32 array of the same shape.
    """
    check_number("gamma", gamma, minimum=0.0, inclusive=False)
    return np.power(np.maximum(as_float(image), 0.0), gamma).astype("float32")


def add_gaussian_noise(image, sigma, rng=None):
    """Adds white Gaussian noise of standard deviation `sigma` (not clipped).

    Args:
        image: float array.
        sigma: float. Standard deviation in the image's units, >= 0.
        rng: `numpy.random.Generator`, int seed or `None`.

    Returns:
        A float32 array of the same shape.
    """
    check_number("sigma", sigma, minimum=0.0)
    image = as_float(image)
    rng = as_generator(rng)
    noise = rng.standard_normal(image.shape, dtype="float32") * np.float32(sigma)
    return image + noise


def add_poisson_noise(image, photons, rng=None):
    """Photon shot noise: `poisson(image * photons) / photons`.

    A pixel of value 1 collects `photons` photons on average, so the noise
    standard deviation at value `v` is `sqrt(v / photons)`.

    Args:
        image: float array in `[0, 1]` (negative values count as 0).
        photons: float. Mean photon count at full scale, > 0.
        rng: `numpy.random.Generator`, int seed or `None`.

    Returns:
        A float32 array of the same shape.
    """
    check_number("photons", photons, minimum=0.0, inclusive=False)
    image = as_float(image)
    rng = as_generator(rng)
    counts = rng.poisson(np.maximum(image, 0.0).astype("float64") * photons)
    return (counts / photons).astype("float32")


def jpeg_compress(image, quality=(60, 95), rng=None):
    """Round-trips an image through Pillow's JPEG encoder.

    The image is clipped to `[0, 1]` and quantised to 8 bits first. Pillow's
    encoder is deterministic, so the result depends only on the image and the
    quality.

    Args:
        image: float array `(H, W)`, `(H, W, 1)` or `(H, W, 3)` in `[0, 1]`.
        quality: int or `(low, high)` ints in `[1, 100]`. The JPEG quality,
            or the range it is drawn from uniformly. Defaults to `(60, 95)`.
        rng: `numpy.random.Generator`, int seed or `None`, used when
            `quality` is a range.

    Returns:
        A float32 array of the same shape, in `[0, 1]`.
    """
    low, high = check_range("quality", quality, minimum=1, maximum=100, integer=True)
    image = as_image(image)
    if image.ndim == 3 and image.shape[-1] not in (1, 3):
        raise ValueError(
            "`image` must have 1 or 3 channels for JPEG. "
            f"Received: image with shape {image.shape}"
        )
    value = low if low == high else int(as_generator(rng).integers(low, high + 1))
    pixels = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype("uint8")
    channel_axis = pixels.ndim == 3 and pixels.shape[-1] == 1
    buffer = io.BytesIO()
    Image.fromarray(pixels[:, :, 0] if channel_axis else pixels).save(
        buffer, format="JPEG", quality=value
    )
    buffer.seek(0)
    decoded = np.asarray(Image.open(buffer), dtype="float32") / 255.0
    return decoded[:, :, None] if channel_axis else decoded
