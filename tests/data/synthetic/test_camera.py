"""Tests for `keras_attn_deblur.data.synthetic.camera`, pure NumPy.

References: Pillow's own JPEG encoder, and the sample statistics of the noise.
"""

import io

import numpy as np
import pytest
from PIL import Image

from keras_attn_deblur.data.synthetic.camera import add_gaussian_noise
from keras_attn_deblur.data.synthetic.camera import add_poisson_noise
from keras_attn_deblur.data.synthetic.camera import apply_crf
from keras_attn_deblur.data.synthetic.camera import inverse_crf
from keras_attn_deblur.data.synthetic.camera import jpeg_compress
from tests.data.synthetic.images import photo

# --------------------------------------------------------------------------
# Camera response, noise, JPEG
# --------------------------------------------------------------------------


def test_crf_values_and_round_trip():
    values = np.array([0.0, 0.25, 0.5, 1.0], dtype="float32")
    np.testing.assert_allclose(inverse_crf(values), values**2.2, rtol=1e-6)
    np.testing.assert_allclose(apply_crf(values), values ** (1 / 2.2), rtol=1e-6)
    np.testing.assert_allclose(
        apply_crf(inverse_crf(values, 2.4), 2.4), values, atol=1e-6
    )


def test_gaussian_noise_has_the_requested_std():
    flat = np.full((256, 256, 3), 0.5, dtype="float32")
    for sigma in (0.01, 0.05):
        noisy = add_gaussian_noise(flat, sigma, 0)
        np.testing.assert_allclose(np.std(noisy - flat), sigma, rtol=0.02)
        np.testing.assert_allclose(np.mean(noisy), 0.5, atol=sigma / 50)
    np.testing.assert_array_equal(
        add_gaussian_noise(flat, 0.1, 3), add_gaussian_noise(flat, 0.1, 3)
    )


def test_poisson_noise_follows_the_photon_count():
    flat = np.full((256, 256, 3), 0.5, dtype="float32")
    noisy = add_poisson_noise(flat, 100.0, 0)
    # Poisson(50) / 100: mean 0.5, std sqrt(50) / 100.
    np.testing.assert_allclose(np.mean(noisy), 0.5, atol=2e-3)
    np.testing.assert_allclose(np.std(noisy), np.sqrt(50) / 100, rtol=0.02)
    np.testing.assert_array_equal(noisy, add_poisson_noise(flat, 100.0, 0))


def test_jpeg_compress_matches_pillow_and_is_reproducible():
    image = photo()
    compressed = jpeg_compress(image, 40)
    pixels = np.round(image * 255).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=40)
    reference = np.asarray(Image.open(buffer), dtype="float32") / 255.0
    np.testing.assert_array_equal(compressed, reference)
    assert np.abs(compressed - image).mean() > 1e-3
    # A range draws the quality from the generator: same seed, same result.
    drawn = jpeg_compress(image, (30, 90), np.random.default_rng(5))
    np.testing.assert_array_equal(
        drawn, jpeg_compress(image, (30, 90), np.random.default_rng(5))
    )
    worse = np.abs(jpeg_compress(image, 10) - image).mean()
    better = np.abs(jpeg_compress(image, 95) - image).mean()
    assert worse > 2 * better
    gray = jpeg_compress(image[:, :, :1], 50)
    assert gray.shape == (96, 128, 1)


# --------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: apply_crf(np.zeros(3), gamma=0.0), "gamma"),
        (lambda: add_gaussian_noise(np.zeros(3), -0.1), "sigma"),
        (lambda: add_poisson_noise(np.zeros(3), 0.0), "photons"),
        (lambda: jpeg_compress(np.zeros((8, 8, 3)), 0), "quality"),
        (lambda: jpeg_compress(np.zeros((8, 8, 3)), (50, 101)), "quality"),
    ],
)
def test_bad_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        call()
