"""Tests for `keras_attn_deblur.data.synthetic.pipeline` (`SyntheticMotionBlur`), pure NumPy."""

import numpy as np
import pytest

from keras_attn_deblur.data.synthetic.pipeline import SyntheticMotionBlur
from tests.data.synthetic.images import gradient_energy
from tests.data.synthetic.images import photo
from tests.data.synthetic.images import texture

# --------------------------------------------------------------------------
# SyntheticMotionBlur
# --------------------------------------------------------------------------


def test_synthetic_motion_blur_output_and_reproducibility():
    blur = SyntheticMotionBlur(kernel_size=(7, 15))
    sharp = photo()
    for seed in range(6):
        blurry = blur(sharp, np.random.default_rng(seed))
        assert blurry.shape == sharp.shape and blurry.dtype == np.float32
        assert blurry.min() >= 0.0 and blurry.max() <= 1.0
        np.testing.assert_array_equal(blurry, blur(sharp, np.random.default_rng(seed)))
    assert np.abs(blur(sharp, 0) - blur(sharp, 1)).max() > 1e-2


@pytest.mark.parametrize("nonuniform_probability", [0.0, 1.0])
def test_synthetic_motion_blur_blurs(nonuniform_probability):
    blur = SyntheticMotionBlur(
        kernel_size=(15, 15),
        nonuniform_probability=nonuniform_probability,
        noise_sigma=0.0,
        poisson_probability=0.0,
        jpeg_probability=0.0,
    )
    sharp = texture()
    for seed in range(3):
        assert gradient_energy(blur(sharp, seed)) < 0.7 * gradient_energy(sharp)


def test_synthetic_motion_blur_config_round_trip():
    blur = SyntheticMotionBlur(kernel_size=(9, 21), jpeg_quality=80, noise_sigma=0.01)
    config = blur.get_config()
    assert config["kernel_size"] == (9, 21)
    assert config["jpeg_quality"] == (80, 80)
    restored = SyntheticMotionBlur.from_config(config)
    assert restored.get_config() == config
    sharp = photo(48, 64)
    np.testing.assert_array_equal(blur(sharp, 3), restored(sharp, 3))


# --------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: SyntheticMotionBlur(kernel_size=(41, 11)), "kernel_size"),
        (lambda: SyntheticMotionBlur(kernel_size=2), "kernel_size"),
        (
            lambda: SyntheticMotionBlur(nonuniform_probability=1.5),
            "nonuniform_probability",
        ),
        (lambda: SyntheticMotionBlur(object_probability=-0.1), "object_probability"),
        (
            lambda: SyntheticMotionBlur(linear_light_probability="half"),
            "linear_light_probability",
        ),
        (lambda: SyntheticMotionBlur(noise_sigma=(-0.1, 0.1)), "noise_sigma"),
        (lambda: SyntheticMotionBlur(photons=0.0), "photons"),
        (lambda: SyntheticMotionBlur(jpeg_quality=(50, 101)), "jpeg_quality"),
    ],
)
def test_bad_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        call()
