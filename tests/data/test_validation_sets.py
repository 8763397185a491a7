"""Validation sets: `spread`, fixed synthetic pairs, and what `fit` validates on."""

import numpy as np
import pytest
from PIL import Image

from keras_attn_deblur import data


def test_spread_keeps_short_lists_and_thins_long_ones_evenly():
    assert data.spread([1, 2, 3], 5) == [1, 2, 3]
    # Every len/limit-th item, by hand: 10 / 4 = 2.5 -> indices 0, 2, 5, 7.
    assert data.spread(list(range(10)), 4) == [0, 2, 5, 7]
    with pytest.raises(ValueError, match="limit"):
        data.spread([1], 0)


def test_synthetic_validation_pairs_are_the_same_every_time(tmp_path):
    rng = np.random.default_rng(0)
    for index in range(3):
        pixels = rng.integers(0, 256, (40, 48, 3), dtype="uint8")
        Image.fromarray(pixels).save(tmp_path / f"{index}.png")
    (tmp_path / ".hidden.png").write_bytes(b"")  # hidden files are not photos
    first = data.synthetic_validation_pairs(tmp_path, limit=2, crop=24, seed=3)
    second = data.synthetic_validation_pairs(tmp_path, limit=2, crop=24, seed=3)
    assert len(first) == 2
    for (blurry, sharp), (blurry_again, sharp_again) in zip(first, second):
        assert blurry.shape == sharp.shape == (24, 24, 3)
        np.testing.assert_array_equal(blurry, blurry_again)
        np.testing.assert_array_equal(sharp, sharp_again)
    blurry, sharp = data.validation_data(first)
    assert blurry.shape == sharp.shape == (2, 24, 24, 3)


def test_validation_set_needs_a_source(tmp_path):
    assert data.validation_set() == (None, None, None)
    assert data.validation_set(gopro=str(tmp_path)) == (None, None, None)  # no test/ split
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.validation_set(photos=str(tmp_path / "missing"))
