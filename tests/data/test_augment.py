import numpy as np
import pytest

from keras_attn_deblur import data
from tests.data.aligned_pairs import blurry_counterpart
from tests.data.aligned_pairs import check_aligned
from tests.data.aligned_pairs import coordinate_image
from tests.data.aligned_pairs import orientation
from tests.data.aligned_pairs import reflect_indices


def _pair(height, width, tag=0):
    sharp = coordinate_image(height, width, tag)
    return (blurry_counterpart(sharp) / 255.0).astype("float32"), (sharp / 255.0).astype(
        "float32"
    )


def test_random_crop_pair_cuts_the_same_window_from_varied_positions():
    blurry, sharp = _pair(40, 50)
    rng = np.random.default_rng(0)
    origins = set()
    for _ in range(300):
        blurry_patch, sharp_patch = data.random_crop_pair(blurry, sharp, (16, 24), rng)
        assert blurry_patch.shape == sharp_patch.shape == (16, 24, 3)
        _, top, left = check_aligned(blurry_patch, sharp_patch)
        assert orientation(sharp_patch) == (1, 1, 1)  # A crop does not turn.
        origins.add((top, left))
    tops, lefts = zip(*origins)
    # 25 x 27 possible positions, all edges reached.
    assert len(origins) > 150
    assert min(tops) == 0 and max(tops) == 40 - 16
    assert min(lefts) == 0 and max(lefts) == 50 - 24


def test_random_crop_pair_pads_small_images_by_reflection():
    blurry, sharp = _pair(5, 3)
    blurry_patch, sharp_patch = data.random_crop_pair(
        blurry, sharp, 9, np.random.default_rng(1)
    )
    expected = sharp[np.ix_(reflect_indices(5, 9), reflect_indices(3, 9))]
    np.testing.assert_array_equal(sharp_patch, expected)
    np.testing.assert_array_equal(
        blurry_patch, blurry[np.ix_(reflect_indices(5, 9), reflect_indices(3, 9))]
    )
    # Only the too-small dimension is padded: the other is still cropped.
    blurry, sharp = _pair(4, 30)
    _, sharp_patch = data.random_crop_pair(blurry, sharp, (8, 8), np.random.default_rng(2))
    assert sharp_patch.shape == (8, 8, 3)
    np.testing.assert_array_equal(
        np.rint(sharp_patch[:, 0, 1] * 255), reflect_indices(4, 8)
    )


def test_random_crop_pair_is_deterministic_given_the_generator():
    blurry, sharp = _pair(64, 64)
    first = data.random_crop_pair(blurry, sharp, 8, np.random.default_rng(5))
    second = data.random_crop_pair(blurry, sharp, 8, np.random.default_rng(5))
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_random_flip_pair_flips_both_images_the_same_way():
    blurry, sharp = _pair(12, 12)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(64):
        blurry_flipped, sharp_flipped = data.random_flip_pair(blurry, sharp, rng)
        check_aligned(blurry_flipped, sharp_flipped)
        seen.add(orientation(sharp_flipped))
    assert seen == {(1, 1, 1), (1, -1, 1), (1, 1, -1), (1, -1, -1)}


def test_random_flip_pair_axes_can_be_turned_off():
    blurry, sharp = _pair(12, 12)
    rng = np.random.default_rng(0)
    seen = {
        orientation(data.random_flip_pair(blurry, sharp, rng, vertical=False)[1])
        for _ in range(32)
    }
    assert seen == {(1, 1, 1), (1, -1, 1)}  # y never flips.
    seen = {
        orientation(data.random_flip_pair(blurry, sharp, rng, horizontal=False)[1])
        for _ in range(32)
    }
    assert seen == {(1, 1, 1), (1, 1, -1)}  # x never flips.


def test_random_rot90_pair_on_square_and_non_square_images():
    blurry, sharp = _pair(10, 10)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(64):
        blurry_turned, sharp_turned = data.random_rot90_pair(blurry, sharp, rng)
        check_aligned(blurry_turned, sharp_turned)
        seen.add(orientation(sharp_turned))
    assert len(seen) == 4  # 0, 90, 180 and 270 degrees.
    assert {x_axis for x_axis, _, _ in seen} == {0, 1}

    blurry, sharp = _pair(6, 10)
    for _ in range(32):
        blurry_turned, sharp_turned = data.random_rot90_pair(blurry, sharp, rng)
        assert sharp_turned.shape == (6, 10, 3)
        check_aligned(blurry_turned, sharp_turned)


def test_center_crop_pair_takes_the_central_window():
    blurry, sharp = _pair(21, 30)
    blurry_patch, sharp_patch = data.center_crop_pair(blurry, sharp, (10, 16))
    # Margins 11 and 14: the odd extra row goes to the bottom.
    assert check_aligned(blurry_patch, sharp_patch) == (0, 5, 7)
    assert sharp_patch.shape == (10, 16, 3)
    _, sharp_patch = data.center_crop_pair(blurry, sharp, 40)
    np.testing.assert_array_equal(
        sharp_patch, sharp[np.ix_(reflect_indices(21, 40), reflect_indices(30, 40))]
    )


def test_mismatched_pair_shapes_are_rejected():
    blurry = np.zeros((4, 4, 3), "float32")
    sharp = np.zeros((4, 5, 3), "float32")
    message = r"Received: blurry.shape=\(4, 4, 3\), sharp.shape=\(4, 5, 3\)"
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=message):
        data.random_crop_pair(blurry, sharp, 2, rng)
    with pytest.raises(ValueError, match=message):
        data.random_flip_pair(blurry, sharp, rng)
    with pytest.raises(ValueError, match=message):
        data.random_rot90_pair(blurry, sharp, rng)
    with pytest.raises(ValueError, match=message):
        data.center_crop_pair(blurry, sharp, 2)


@pytest.mark.parametrize("patch_size", [0, -3, (4,), (4, 0), 2.5, "256"])
def test_bad_patch_size_is_rejected(patch_size):
    blurry, sharp = _pair(8, 8)
    with pytest.raises(ValueError, match="Received: patch_size="):
        data.random_crop_pair(blurry, sharp, patch_size, np.random.default_rng(0))
