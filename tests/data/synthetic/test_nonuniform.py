"""Tests for `keras_attn_deblur.data.synthetic.nonuniform`, pure NumPy.

References: `scipy.ndimage.convolve` (convolution and boundary), and impulse
images whose local blur is the local kernel.
"""

import numpy as np
import pytest
from scipy import ndimage

from keras_attn_deblur.data.synthetic.kernels import camera_shake_kernel
from keras_attn_deblur.data.synthetic.nonuniform import blur_image
from keras_attn_deblur.data.synthetic.nonuniform import nonuniform_blur
from tests.data.synthetic.images import gradient_energy
from tests.data.synthetic.images import impulses
from tests.data.synthetic.images import moments
from tests.data.synthetic.images import photo
from tests.data.synthetic.images import texture

# --------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kernel_shape", [(5, 5), (7, 3), (4, 6), (21, 21)])
def test_blur_image_matches_scipy_mirror_convolution(kernel_shape):
    image = texture(40, 52)
    kernel = np.random.default_rng(1).uniform(size=kernel_shape)
    kernel /= kernel.sum()
    reference = ndimage.convolve(
        image.astype("float64"), kernel[:, :, None], mode="mirror"
    )
    blurry = blur_image(image, kernel)
    assert blurry.shape == image.shape and blurry.dtype == np.float32
    np.testing.assert_allclose(blurry, reference, atol=1e-5)
    # 2-D images too.
    reference_gray = ndimage.convolve(
        image[:, :, 0].astype("float64"), kernel, mode="mirror"
    )
    np.testing.assert_allclose(
        blur_image(image[:, :, 0], kernel), reference_gray, atol=1e-5
    )


def test_blur_image_with_camera_shake_is_a_true_convolution():
    image = photo()
    kernel = camera_shake_kernel(15, 2)
    reference = ndimage.convolve(
        image.astype("float64"), kernel[:, :, None], mode="mirror"
    )
    np.testing.assert_allclose(blur_image(image, kernel), reference, atol=1e-5)
    # A delta at offset (-1, -1) from the kernel centre moves the image by
    # (-1, -1), up and left (a correlation would move it down and right).
    shift = np.zeros((3, 3), dtype="float32")
    shift[0, 0] = 1.0
    shifted = blur_image(image, shift)
    np.testing.assert_allclose(shifted[:-1, :-1], image[1:, 1:], atol=1e-5)


# --------------------------------------------------------------------------
# Non-uniform blur
# --------------------------------------------------------------------------


def local_kernel(blurry, row, col, size):
    """The blurred impulse at (row, col): the local blur kernel."""
    half = size // 2
    return blurry[row - half : row + half + 1, col - half : col + half + 1]


def test_smooth_nonuniform_blur_has_a_different_kernel_in_each_region():
    size, spacing = 15, 24
    image = impulses(192, 240, spacing)
    blurry, masks, kernels = nonuniform_blur(
        image,
        4,
        mode="smooth",
        kernel_size=size,
        num_kernels=3,
        mask_grid=2,
        mask_sharpness=30.0,
        return_details=True,
    )
    assert masks.shape == (192, 240, 3) and kernels.shape == (3, size, size)
    np.testing.assert_allclose(masks.sum(axis=-1), 1.0, atol=1e-5)
    # The kernels were drawn with different lengths.
    extents = [np.linalg.eigvalsh(moments(kernel)[1])[1] for kernel in kernels]
    assert max(extents) / min(extents) > 2.0
    # Where one mask covers a dot's whole neighbourhood, the blurred dot IS
    # that region's kernel: the blur is locally that kernel and no other.
    matched = set()
    for row in range(spacing // 2, 192 - size, spacing):
        for col in range(spacing // 2, 240 - size, spacing):
            if row < size or col < size:
                continue
            region = local_kernel(masks, row, col, size)
            dominant = np.flatnonzero(region.min(axis=(0, 1)) > 0.999)
            if dominant.size == 0:
                continue
            index = int(dominant[0])
            np.testing.assert_allclose(
                local_kernel(blurry, row, col, size), kernels[index], atol=2e-3
            )
            for other in set(range(3)) - {index}:
                assert (
                    np.abs(local_kernel(blurry, row, col, size) - kernels[other]).max()
                    > 0.01
                )
            matched.add(index)
    assert len(matched) >= 2


def test_smooth_nonuniform_blur_local_sharpness_differs_between_regions():
    image = texture(128, 160)
    blurry, masks, kernels = nonuniform_blur(
        image,
        1,
        mode="smooth",
        kernel_size=21,
        num_kernels=2,
        mask_sharpness=20.0,
        return_details=True,
    )
    extents = [np.linalg.eigvalsh(moments(kernel)[1])[1] for kernel in kernels]
    short, long = int(np.argmin(extents)), int(np.argmax(extents))
    in_short = masks[:, :, short] > 0.99
    in_long = masks[:, :, long] > 0.99
    assert in_short.sum() > 500 and in_long.sum() > 500
    # Independent reference: SciPy blurs with each kernel; the blend follows.
    for index, region in ((short, in_short), (long, in_long)):
        reference = ndimage.convolve(
            image.astype("float64"), kernels[index][:, :, None], mode="mirror"
        )
        np.testing.assert_allclose(blurry[region], reference[region], atol=0.02)
    ratio = gradient_energy(blurry, in_short) / gradient_energy(blurry, in_long)
    assert ratio > 2.0
    # A uniform blur of the same texture has one sharpness everywhere.
    uniform = blur_image(image, kernels[long])
    uniform_ratio = gradient_energy(uniform, in_short) / gradient_energy(
        uniform, in_long
    )
    assert abs(uniform_ratio - 1.0) < 0.25


def test_object_motion_blurs_the_object_not_the_background():
    size = 21
    image = texture(128, 160)
    blurry, masks, kernels = nonuniform_blur(
        image,
        5,
        mode="object",
        kernel_size=size,
        object_length=(1.0, 1.0),
        background_length=(0.0, 0.0),
        return_details=True,
    )
    assert masks.shape == (128, 160, 2) and kernels.shape == (2, size, size)
    np.testing.assert_allclose(masks.sum(axis=-1), 1.0, atol=1e-5)
    inside = masks[:, :, 1] > 0.999
    outside = masks[:, :, 1] < 1e-4
    assert inside.sum() > 500 and outside.sum() > 500
    # The background kernel is a single dot: the background stays sharp.
    assert kernels[0].max() > 0.99
    np.testing.assert_allclose(blurry[outside], image[outside], atol=1e-3)
    # Inside, the object is blurred by a 21-pixel line (SciPy reference).
    reference = ndimage.convolve(
        image.astype("float64"), kernels[1][:, :, None], mode="mirror"
    )
    object_core = ndimage.binary_erosion(inside, iterations=size)
    np.testing.assert_allclose(blurry[object_core], reference[object_core], atol=1e-4)
    # Local sharpness: the object is much softer than the background, while a
    # uniform blur treats both regions alike.
    assert gradient_energy(blurry, outside) / gradient_energy(blurry, inside) > 5.0
    uniform = blur_image(image, kernels[1])
    uniform_ratio = gradient_energy(uniform, outside) / gradient_energy(uniform, inside)
    assert abs(uniform_ratio - 1.0) < 0.3


def test_nonuniform_blur_reproducible_and_shapes():
    image = photo(64, 80)
    for mode in ("smooth", "object"):
        first = nonuniform_blur(image, 11, mode=mode, kernel_size=9)
        assert first.shape == image.shape and first.dtype == np.float32
        np.testing.assert_array_equal(
            first, nonuniform_blur(image, 11, mode=mode, kernel_size=9)
        )
        assert (
            np.abs(first - nonuniform_blur(image, 12, mode=mode, kernel_size=9)).max()
            > 1e-3
        )
        gray = nonuniform_blur(image[:, :, 0], 11, mode=mode, kernel_size=9)
        assert gray.shape == image.shape[:2]


# --------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: blur_image(np.zeros((8, 8)), np.ones(3)), "kernel"),
        (lambda: blur_image(np.zeros(8), np.ones((3, 3))), "image"),
        (lambda: nonuniform_blur(np.zeros((8, 8)), mode="swirl"), "mode"),
        (lambda: nonuniform_blur(np.zeros((8, 8)), num_kernels=(3, 2)), "num_kernels"),
        (lambda: nonuniform_blur(np.zeros((8, 8)), kernel_size=8), "kernel_size"),
        (
            lambda: nonuniform_blur(np.zeros((8, 8)), object_length=(0.5, 2.0)),
            "object_length",
        ),
    ],
)
def test_bad_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        call()
