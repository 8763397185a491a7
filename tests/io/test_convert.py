"""Tests of `keras_attn_deblur.io.convert`: one float RGB normaliser, one way back to integers."""

import numpy as np
import pytest
from PIL import Image

from keras_attn_deblur.io.convert import from_float
from keras_attn_deblur.io.convert import maximum_of
from keras_attn_deblur.io.convert import to_float_rgb


def test_arrays_and_pil_images_become_float_rgb_in_0_1():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    expected = rgb.astype(np.float64) / 255.0
    np.testing.assert_allclose(to_float_rgb(rgb), expected, atol=1e-7)
    np.testing.assert_allclose(to_float_rgb(Image.fromarray(rgb)), expected, atol=1e-7)
    rgba = np.concatenate([rgb, np.zeros((5, 7, 1), np.uint8)], axis=-1)
    np.testing.assert_allclose(to_float_rgb(rgba), expected, atol=1e-7)  # alpha dropped
    gray16 = np.arange(35, dtype=np.uint16).reshape(5, 7) * 1000
    for image in (gray16, Image.fromarray(gray16), gray16.astype(">u2")):
        converted = to_float_rgb(image)
        assert converted.shape == (5, 7, 3) and converted.dtype == np.float32
        np.testing.assert_allclose(converted[:, :, 1], gray16 / 65535.0, atol=1e-7)
    np.testing.assert_array_equal(to_float_rgb(np.full((2, 2, 3), 1.5)), np.ones((2, 2, 3)))


@pytest.mark.parametrize(
    "image, word",
    [(np.zeros((4, 4, 2), np.uint8), "shape=(4, 4, 2)"), (np.zeros((4, 4, 3), np.int32), "int32")],
)
def test_other_shapes_and_dtypes_name_the_role(image, word):
    with pytest.raises(ValueError, match=r"The sharp image .*" + word.replace("(", r"\(").replace(")", r"\)")):
        to_float_rgb(image, role="sharp")


def test_from_float_rounds_half_to_even_and_clamps():
    values = np.array([-0.2, 0.0, 0.5 / 255, 1.5 / 255, 0.501, 1.0, 1.7], dtype=np.float32)
    np.testing.assert_array_equal(from_float(values, np.uint8), [0, 0, 0, 2, 128, 255, 255])
    assert from_float(values, np.uint16)[-1] == 65535
    np.testing.assert_array_equal(from_float(values, np.float32), np.clip(values, 0, 1))
    assert (maximum_of(np.uint8), maximum_of(">u2"), maximum_of(np.float16)) == (255, 65535, 1.0)
