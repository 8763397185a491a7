"""Tests for `keras_attn_deblur.data.synthetic.kernels`, pure NumPy.

References: hand-derived kernels and moments (a straight segment of length L
has variance L^2 / 12).
"""

import numpy as np
import pytest

from keras_attn_deblur.data.synthetic.kernels import camera_shake_kernel
from keras_attn_deblur.data.synthetic.kernels import linear_motion_kernel
from tests.data.synthetic.images import moments

# --------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------


@pytest.mark.parametrize("size", [3, 15, 31])
def test_camera_shake_kernel_is_a_centred_distribution(size):
    for seed in range(10):
        kernel = camera_shake_kernel(size, seed)
        assert kernel.shape == (size, size)
        assert kernel.dtype == np.float32
        assert kernel.min() >= 0.0
        np.testing.assert_allclose(kernel.sum(), 1.0, atol=1e-5)
        centre, _ = moments(kernel)
        np.testing.assert_allclose(centre, [(size - 1) / 2] * 2, atol=0.5)


def test_camera_shake_kernel_reproducible():
    first = camera_shake_kernel(21, np.random.default_rng(7))
    np.testing.assert_array_equal(
        first, camera_shake_kernel(21, np.random.default_rng(7))
    )
    np.testing.assert_array_equal(first, camera_shake_kernel(21, 7))
    assert np.abs(first - camera_shake_kernel(21, 8)).max() > 1e-3


def test_camera_shake_kernels_vary_in_length_and_curvature():
    # Extent: the larger eigenvalue of the covariance (length^2 / 12 for a
    # line). Curvature: the ratio of the two eigenvalues (0 for a line).
    extents, ratios = [], []
    for seed in range(30):
        _, covariance = moments(camera_shake_kernel(31, seed))
        minor, major = np.linalg.eigvalsh(covariance)
        extents.append(major)
        ratios.append(minor / major)
    assert max(extents) / min(extents) > 4.0
    assert min(ratios) < 0.05  # nearly straight strokes
    assert max(ratios) > 0.25  # curved or looping paths


def test_camera_shake_without_anxiety_is_a_straight_stroke():
    length = 20.0
    _, covariance = moments(camera_shake_kernel(31, 3, max_length=length, anxiety=0.0))
    minor, major = np.linalg.eigvalsh(covariance)
    # A segment of length L has variance L^2 / 12 along it; bilinear drawing
    # adds at most 1/4 pixel^2 across it.
    np.testing.assert_allclose(major, length**2 / 12, rtol=0.03)
    assert minor < 0.25


def test_camera_shake_longer_path_than_kernel_is_shrunk_to_fit():
    kernel = camera_shake_kernel(9, 0, max_length=60.0, anxiety=0.0)
    np.testing.assert_allclose(kernel.sum(), 1.0, atol=1e-5)
    assert (
        kernel[0].sum() + kernel[-1].sum() + kernel[:, 0].sum() + kernel[:, -1].sum()
        > 0
    )


@pytest.mark.parametrize("length", [1, 3, 7, 11])
def test_linear_motion_kernel_horizontal_matches_hand_drawing(length):
    kernel = linear_motion_kernel(15, length, 0.0)
    centre = 7
    # Off the centre row there is nothing; on it, `length` taps.
    assert np.count_nonzero(np.delete(kernel, centre, axis=0)) == 0
    assert np.count_nonzero(kernel[centre]) == length
    # Bilinear drawing of a motion of length - 1 pixels: half-weight ends.
    expected = np.zeros(15)
    expected[centre - length // 2 : centre + length // 2 + 1] = 1.0
    if length > 1:
        expected[[centre - length // 2, centre + length // 2]] = 0.5
    np.testing.assert_allclose(kernel[centre], expected / expected.sum(), atol=1e-6)


def test_linear_motion_kernel_vertical_diagonal_and_fractional():
    vertical = linear_motion_kernel(11, 5, 90.0)
    np.testing.assert_allclose(vertical, linear_motion_kernel(11, 5, 0.0).T, atol=1e-6)
    for angle in (30.0, 45.0, 123.0):
        kernel = linear_motion_kernel(21, 12.5, angle)
        np.testing.assert_allclose(kernel.sum(), 1.0, atol=1e-5)
        centre, covariance = moments(kernel)
        np.testing.assert_allclose(centre, [10.0, 10.0], atol=1e-3)
        minor, major = np.linalg.eigvalsh(covariance)
        np.testing.assert_allclose(major, (12.5 - 1) ** 2 / 12, rtol=0.05)
    # Support of a fractional horizontal length stays within one pixel of it.
    assert abs(np.count_nonzero(linear_motion_kernel(15, 6.0, 0.0)) - 6) <= 1


# --------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: camera_shake_kernel(4, 0), "size"),
        (lambda: camera_shake_kernel(1, 0), "size"),
        (lambda: camera_shake_kernel(15, 0, max_length=-1.0), "max_length"),
        (lambda: camera_shake_kernel(15, 0, anxiety=2.0), "anxiety"),
        (lambda: camera_shake_kernel(15, 0, num_steps=1), "num_steps"),
        (lambda: camera_shake_kernel(15, "seed"), "rng"),
        (lambda: linear_motion_kernel(9, 0.5, 0.0), "length"),
        (lambda: linear_motion_kernel(9, 11, 0.0), "length"),
    ],
)
def test_bad_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        call()
