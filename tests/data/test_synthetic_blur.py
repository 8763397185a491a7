"""Tests for `keras_attn_deblur.data.synthetic_blur`, pure NumPy.

References: `scipy.ndimage.convolve` (convolution and boundary), hand-derived
kernels and moments (a straight segment of length L has variance L^2 / 12),
impulse images whose local blur is the local kernel, Pillow's own JPEG
encoder, and the sample statistics of the noise.
"""

import io
import os

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from keras_attn_deblur.data.synthetic_blur import SyntheticMotionBlur
from keras_attn_deblur.data.synthetic_blur import add_gaussian_noise
from keras_attn_deblur.data.synthetic_blur import add_poisson_noise
from keras_attn_deblur.data.synthetic_blur import apply_crf
from keras_attn_deblur.data.synthetic_blur import average_frames
from keras_attn_deblur.data.synthetic_blur import blur_image
from keras_attn_deblur.data.synthetic_blur import camera_shake_kernel
from keras_attn_deblur.data.synthetic_blur import frame_averaged_pairs
from keras_attn_deblur.data.synthetic_blur import inverse_crf
from keras_attn_deblur.data.synthetic_blur import jpeg_compress
from keras_attn_deblur.data.synthetic_blur import linear_motion_kernel
from keras_attn_deblur.data.synthetic_blur import nonuniform_blur

# --------------------------------------------------------------------------
# Test images and measurements
# --------------------------------------------------------------------------


def texture(height=96, width=128, seed=0):
    """Fine random texture: every pixel independent, so blur is measurable."""
    return (
        np.random.default_rng(seed).uniform(size=(height, width, 3)).astype("float32")
    )


def photo(height=96, width=128):
    from skimage import data

    image = Image.fromarray(data.astronaut()).resize((width, height), Image.LANCZOS)
    return np.asarray(image, dtype="float32") / 255.0


def impulses(height, width, spacing):
    """Isolated single-pixel dots on a grid, `spacing` pixels apart."""
    image = np.zeros((height, width), dtype="float32")
    image[spacing // 2 :: spacing, spacing // 2 :: spacing] = 1.0
    return image


def moments(kernel):
    """Centre of mass (row, col) and the 2x2 covariance of a kernel."""
    rows, cols = np.mgrid[0 : kernel.shape[0], 0 : kernel.shape[1]]
    points = np.stack([rows.ravel(), cols.ravel()])
    weights = kernel.ravel().astype("float64")
    centre = points @ weights / weights.sum()
    covariance = np.cov(points, aweights=weights, bias=True)
    return centre, covariance


def gradient_energy(image, mask=None):
    """Mean squared horizontal + vertical difference, optionally under a mask."""
    d_row = np.diff(image, axis=0)[:, :-1]
    d_col = np.diff(image, axis=1)[:-1, :]
    energy = d_row**2 + d_col**2
    if energy.ndim == 3:
        energy = energy.mean(axis=-1)
    if mask is None:
        return energy.mean()
    return energy[mask[:-1, :-1]].mean()


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
# Frame averaging
# --------------------------------------------------------------------------


def test_average_frames_by_hand():
    constant = [np.full((4, 5, 3), 0.3, dtype="float32")] * 5
    for space in ("linear", "gamma"):
        np.testing.assert_allclose(
            average_frames(constant, space=space), 0.3, atol=1e-6
        )
    dark, bright = np.zeros((2, 2, 3)), np.ones((2, 2, 3))
    np.testing.assert_allclose(average_frames([dark, bright], space="linear"), 0.5)
    np.testing.assert_allclose(
        average_frames([dark, bright], space="gamma"), 0.5 ** (1 / 2.2), rtol=1e-6
    )
    frames = np.random.default_rng(0).uniform(size=(7, 6, 8, 3))
    np.testing.assert_allclose(
        average_frames(frames, space="gamma"),
        np.mean(frames**2.2, axis=0) ** (1 / 2.2),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        average_frames(list(frames), space="linear"), frames.mean(0), rtol=1e-5
    )


def write_frames(directory, count):
    """Frame i is a flat PNG of value 2 * i / 255, so a window is readable."""
    paths = []
    for index in range(count):
        path = os.path.join(directory, f"{index:06d}.png")
        Image.fromarray(np.full((8, 10, 3), 2 * index, dtype="uint8")).save(path)
        paths.append(path)
    return paths


def test_frame_averaged_pairs_windows(tmp_path):
    paths = write_frames(str(tmp_path), 60)
    pairs = list(
        frame_averaged_pairs(paths, frames_per_pair=(7, 13), space="gamma", rng=0)
    )
    assert len(pairs) >= 4
    next_start = 0
    lengths = set()
    for blurry, sharp, name in pairs:
        middle = int(name)
        assert sharp.shape == (8, 10, 3) and blurry.dtype == np.float32
        np.testing.assert_allclose(sharp, 2 * middle / 255, atol=1e-6)
        # Windows touch and do not overlap: this one starts where the last
        # ended, and the target is its middle frame.
        half = middle - next_start
        assert 3 <= half <= 6  # 7 to 13 frames
        window = 2 * np.arange(next_start, middle + half + 1) / 255.0
        np.testing.assert_allclose(blurry, np.mean(window**2.2) ** (1 / 2.2), rtol=1e-5)
        next_start = middle + half + 1
        lengths.add(2 * half + 1)
    assert len(lengths) >= 2  # the window length is drawn per pair
    # Same seed, same windows; another seed, other windows.
    names = [name for _, _, name in pairs]
    again = [name for _, _, name in frame_averaged_pairs(paths, rng=0)]
    assert names == again
    assert names != [name for _, _, name in frame_averaged_pairs(paths, rng=1)]


def test_frame_averaged_pairs_gamma_fixed_length_stride_and_directory(tmp_path):
    write_frames(str(tmp_path), 10)
    pairs = list(
        frame_averaged_pairs(str(tmp_path), frames_per_pair=3, stride=2, space="gamma")
    )
    # Windows [0, 1, 2], [2, 3, 4], ..., [6, 7, 8]: middles 1, 3, 5, 7.
    assert [name for _, _, name in pairs] == ["000001", "000003", "000005", "000007"]
    blurry, sharp, _ = pairs[0]
    values = np.array([0, 2, 4]) / 255.0
    np.testing.assert_allclose(blurry, np.mean(values**2.2) ** (1 / 2.2), rtol=1e-5)
    np.testing.assert_allclose(sharp, 2 / 255, atol=1e-6)


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
        (lambda: blur_image(np.zeros((8, 8)), np.ones(3)), "kernel"),
        (lambda: blur_image(np.zeros(8), np.ones((3, 3))), "image"),
        (lambda: nonuniform_blur(np.zeros((8, 8)), mode="swirl"), "mode"),
        (lambda: nonuniform_blur(np.zeros((8, 8)), num_kernels=(3, 2)), "num_kernels"),
        (lambda: nonuniform_blur(np.zeros((8, 8)), kernel_size=8), "kernel_size"),
        (
            lambda: nonuniform_blur(np.zeros((8, 8)), object_length=(0.5, 2.0)),
            "object_length",
        ),
        (lambda: apply_crf(np.zeros(3), gamma=0.0), "gamma"),
        (lambda: add_gaussian_noise(np.zeros(3), -0.1), "sigma"),
        (lambda: add_poisson_noise(np.zeros(3), 0.0), "photons"),
        (lambda: jpeg_compress(np.zeros((8, 8, 3)), 0), "quality"),
        (lambda: jpeg_compress(np.zeros((8, 8, 3)), (50, 101)), "quality"),
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
        (lambda: average_frames([np.zeros(3)], space="log"), "space"),
        (lambda: average_frames([], space="linear"), "frames"),
        (lambda: average_frames([np.zeros(3), np.zeros(4)]), "frame"),
        (
            lambda: frame_averaged_pairs(["a.png"], frames_per_pair=(8, 8)),
            "frames_per_pair",
        ),
        (lambda: frame_averaged_pairs(["a.png"], stride=0), "stride"),
        (lambda: frame_averaged_pairs([]), "frame_paths"),
        (lambda: frame_averaged_pairs("/no/such/folder"), "frame_paths"),
    ],
)
def test_bad_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        call()
