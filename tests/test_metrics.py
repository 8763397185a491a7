"""Tests for `keras_attn_deblur.metrics` against independent references.

References: scikit-image (`peak_signal_noise_ratio`, `structural_similarity`),
`tf.image.psnr` / `tf.image.ssim`, and, for MATLAB's 3-D SSIM, a float64 SciPy
transcription of MathWorks' `ssim.m` written below. The images are real
photographs with blur, noise and JPEG distortions (`photo_pairs.py`).
"""

import functools
import re

import keras
import numpy as np
import pytest
from keras import ops
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio
from skimage.metrics import structural_similarity

from keras_attn_deblur.metrics import PSNR
from keras_attn_deblur.metrics import SSIM
from keras_attn_deblur.metrics import psnr
from keras_attn_deblur.metrics import ssim
from tests.photo_pairs import photo_pairs
from tests.photo_pairs import to_uint8

PSNR_TOLERANCE_DB = 1e-3
SSIM_TOLERANCE = 1e-4


# --------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------


def _stacked_pairs():
    pairs = photo_pairs()
    sharp = np.stack([pair[1] for pair in pairs])
    distorted = np.stack([pair[2] for pair in pairs])
    return [pair[0] for pair in pairs], sharp, distorted


def _images(max_val):
    """The photo pairs as [0, 1] floats (max_val 1) or 8-bit values (255)."""
    labels, sharp, distorted = _stacked_pairs()
    if max_val == 255:
        return labels, to_uint8(sharp), to_uint8(distorted)
    return labels, sharp, distorted


def skimage_psnr(sharp, distorted, max_val):
    return np.array(
        [
            peak_signal_noise_ratio(a, b, data_range=max_val)
            for a, b in zip(sharp, distorted)
        ]
    )


def skimage_ssim(sharp, distorted, max_val):
    return np.array(
        [
            structural_similarity(
                a,
                b,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                data_range=max_val,
                channel_axis=-1,
            )
            for a, b in zip(sharp, distorted)
        ]
    )


def matlab_ssim_reference(reference, image, dynamic_range):
    """MathWorks' ssim.m for an H x W x 3 (3-D) array, in float64.

    `ssim(A, ref)` with the defaults: Radius 1.5, filter size
    2 * ceil(3 * 1.5) + 1 = 11, a 3-D Gaussian built with ndgrid and
    normalised, `imfilter(..., 'conv', 'replicate')` (the kernel is symmetric,
    so correlation equals convolution; SciPy's 'nearest' is MATLAB's
    'replicate'), C1 = (0.01 L)^2, C2 = (0.03 L)^2, Equation 13, and
    `mean(ssimmap(:))`.
    """
    image = np.asarray(image, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    radius = 1.5
    filter_radius = int(np.ceil(3 * radius))
    grid = np.arange(-filter_radius, filter_radius + 1)
    x, y, z = np.meshgrid(grid, grid, grid, indexing="ij")  # ndgrid
    gauss = np.exp(-(x * x + y * y + z * z) / (2 * radius * radius))
    gauss[gauss < np.finfo(np.float64).eps * gauss.max()] = 0
    gauss = gauss / gauss.sum()

    def imfilter(volume):
        return ndimage.correlate(volume, gauss, mode="nearest")

    c1 = (0.01 * dynamic_range) ** 2
    c2 = (0.03 * dynamic_range) ** 2
    mux = imfilter(image)
    muy = imfilter(reference)
    muxy = mux * muy
    mux2 = mux**2
    muy2 = muy**2
    sigmax2 = imfilter(image**2) - mux2
    sigmay2 = imfilter(reference**2) - muy2
    sigmaxy = imfilter(image * reference) - muxy
    num = (2 * muxy + c1) * (2 * sigmaxy + c2)
    den = (mux2 + muy2 + c1) * (sigmax2 + sigmay2 + c2)
    return np.mean(num / den)


@functools.lru_cache(maxsize=None)
def reference_values(measure, max_val):
    """Per-pair reference values (cached: the MATLAB one takes seconds)."""
    _, sharp, distorted = _images(max_val)
    if measure == "psnr":
        return skimage_psnr(sharp, distorted, max_val)
    if measure == "ssim":
        return skimage_ssim(sharp, distorted, max_val)
    return np.array(
        [
            matlab_ssim_reference(a, b, max_val)
            for a, b in zip(sharp, distorted)
        ]
    )


def assert_close_per_pair(labels, actual, expected, atol, what):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    deviation = np.abs(actual - expected)
    worst = int(np.argmax(deviation))
    assert deviation[worst] <= atol, (
        f"{what}: largest deviation {deviation[worst]:.3g} > {atol} on "
        f"{labels[worst]} (got {actual[worst]}, expected {expected[worst]})"
    )


# --------------------------------------------------------------------------
# psnr
# --------------------------------------------------------------------------


@pytest.mark.parametrize("max_val", [1.0, 255])
def test_psnr_matches_skimage_and_tf_image(max_val):
    import tensorflow as tf

    labels, sharp, distorted = _images(max_val)
    values = ops.convert_to_numpy(psnr(sharp, distorted, max_val=max_val))
    assert values.dtype == np.float32
    assert len(labels) >= 10
    assert_close_per_pair(
        labels,
        values,
        reference_values("psnr", max_val),
        PSNR_TOLERANCE_DB,
        "psnr vs skimage",
    )
    tf_values = tf.image.psnr(sharp, distorted, max_val=max_val).numpy()
    assert_close_per_pair(
        labels, values, tf_values, PSNR_TOLERANCE_DB, "psnr vs tf.image"
    )


def test_psnr_of_a_single_image_is_a_scalar():
    labels, sharp, distorted = _images(1.0)
    value = psnr(sharp[3], distorted[3])
    assert tuple(value.shape) == ()
    expected = peak_signal_noise_ratio(sharp[3], distorted[3], data_range=1.0)
    np.testing.assert_allclose(float(value), expected, atol=PSNR_TOLERANCE_DB)


def test_psnr_of_identical_images_is_inf_like_references():
    import tensorflow as tf

    _, sharp, _ = _images(1.0)
    values = ops.convert_to_numpy(psnr(sharp[:2], sharp[:2]))
    assert np.all(np.isposinf(values))
    assert np.all(np.isposinf(tf.image.psnr(sharp[:2], sharp[:2], 1.0)))
    with np.errstate(divide="ignore"):
        assert np.isposinf(
            peak_signal_noise_ratio(sharp[0], sharp[0], data_range=1.0)
        )


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_psnr_and_ssim_compute_in_float32_for_low_precision_inputs(dtype):
    labels, sharp, distorted = _images(1.0)
    sharp, distorted = sharp[:4], distorted[:4]
    low_precision = ops.cast(distorted, dtype)
    # The reference scores exactly the values the low-precision tensor holds.
    held = ops.convert_to_numpy(ops.cast(low_precision, "float32"))
    psnr_values = psnr(sharp, low_precision)
    ssim_values = ssim(sharp, low_precision)
    assert ops.convert_to_numpy(psnr_values).dtype == np.float32
    assert ops.convert_to_numpy(ssim_values).dtype == np.float32
    assert_close_per_pair(
        labels,
        ops.convert_to_numpy(psnr_values),
        skimage_psnr(sharp, held, 1.0),
        PSNR_TOLERANCE_DB,
        f"psnr of {dtype} input",
    )
    assert_close_per_pair(
        labels,
        ops.convert_to_numpy(ssim_values),
        skimage_ssim(sharp, held, 1.0),
        SSIM_TOLERANCE,
        f"ssim of {dtype} input",
    )


# --------------------------------------------------------------------------
# ssim
# --------------------------------------------------------------------------


@pytest.mark.parametrize("max_val", [1.0, 255])
def test_ssim_gaussian_matches_skimage_and_tf_image(max_val):
    import tensorflow as tf

    labels, sharp, distorted = _images(max_val)
    values = ops.convert_to_numpy(ssim(sharp, distorted, max_val=max_val))
    assert values.dtype == np.float32
    assert_close_per_pair(
        labels,
        values,
        reference_values("ssim", max_val),
        SSIM_TOLERANCE,
        "ssim gaussian vs skimage",
    )
    tf_values = tf.image.ssim(
        sharp,
        distorted,
        max_val=max_val,
        filter_size=11,
        filter_sigma=1.5,
        k1=0.01,
        k2=0.03,
    ).numpy()
    assert_close_per_pair(
        labels, values, tf_values, SSIM_TOLERANCE, "ssim gaussian vs tf.image"
    )


def test_ssim_matlab_matches_transcription_of_ssim_m():
    labels, sharp, distorted = _images(1.0)
    values = ssim(sharp, distorted, max_val=1.0, variant="matlab")
    assert_close_per_pair(
        labels,
        ops.convert_to_numpy(values),
        reference_values("ssim_matlab", 1.0),
        SSIM_TOLERANCE,
        "ssim matlab vs ssim.m transcription",
    )


def test_ssim_matlab_of_8_bit_values_matches_transcription_of_ssim_m():
    labels, sharp, distorted = _images(255)
    # One distortion per photograph keeps the float64 reference quick.
    chosen = [0, 5, 10, 15]
    labels = [labels[index] for index in chosen]
    sharp, distorted = sharp[chosen], distorted[chosen]
    values = ssim(sharp, distorted, max_val=255, variant="matlab")
    expected = [
        matlab_ssim_reference(a, b, 255) for a, b in zip(sharp, distorted)
    ]
    assert_close_per_pair(
        labels,
        ops.convert_to_numpy(values),
        expected,
        SSIM_TOLERANCE,
        "ssim matlab (8-bit) vs ssim.m transcription",
    )


def test_ssim_variants_are_different_quantities():
    gaussian = reference_values("ssim", 1.0)
    matlab = reference_values("ssim_matlab", 1.0)
    labels, sharp, distorted = _images(1.0)
    ours_gaussian = ops.convert_to_numpy(ssim(sharp, distorted))
    ours_matlab = ops.convert_to_numpy(ssim(sharp, distorted, variant="matlab"))
    assert np.max(np.abs(gaussian - matlab)) > 1e-3
    assert np.max(np.abs(ours_gaussian - ours_matlab)) > 1e-3


def test_ssim_matlab_handles_images_smaller_than_the_window():
    labels, sharp, distorted = _images(1.0)
    sharp, distorted = sharp[:2, 40:47, 60:69], distorted[:2, 40:47, 60:69]
    values = ssim(sharp, distorted, variant="matlab")
    expected = [
        matlab_ssim_reference(a, b, 1.0) for a, b in zip(sharp, distorted)
    ]
    assert_close_per_pair(
        labels, ops.convert_to_numpy(values), expected, SSIM_TOLERANCE, "small"
    )


def test_ssim_of_a_single_image_is_a_scalar():
    labels, sharp, distorted = _images(1.0)
    value = ssim(sharp[5], distorted[5])
    assert tuple(value.shape) == ()
    np.testing.assert_allclose(
        float(value), reference_values("ssim", 1.0)[5], atol=SSIM_TOLERANCE
    )
    np.testing.assert_allclose(ssim(sharp[5], sharp[5]), 1.0, atol=1e-6)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TensorFlow graph shapes"
)
@pytest.mark.parametrize("variant", ["gaussian", "matlab"])
def test_ssim_in_a_tf_function_with_unknown_image_size(variant):
    import tensorflow as tf

    labels, sharp, distorted = _images(1.0)
    spec = tf.TensorSpec((None, None, None, 3), tf.float32)

    @tf.function(input_signature=[spec, spec])
    def score(y_true, y_pred):
        return ssim(y_true, y_pred, variant=variant)

    measure = "ssim" if variant == "gaussian" else "ssim_matlab"
    assert_close_per_pair(
        labels[:3],
        score(sharp[:3], distorted[:3]).numpy(),
        reference_values(measure, 1.0)[:3],
        SSIM_TOLERANCE,
        f"ssim {variant} in tf.function",
    )


# --------------------------------------------------------------------------
# PSNR / SSIM metric classes
# --------------------------------------------------------------------------


def _metric_and_reference(kind, max_val=1.0):
    if kind == "psnr":
        return PSNR(max_val=max_val), reference_values("psnr", max_val)
    if kind == "ssim":
        return SSIM(max_val=max_val), reference_values("ssim", max_val)
    return (
        SSIM(max_val=max_val, variant="matlab"),
        reference_values("ssim_matlab", max_val),
    )


@pytest.mark.parametrize("kind", ["psnr", "ssim", "ssim_matlab"])
def test_metric_is_the_mean_over_images_across_unequal_batches(kind):
    metric, expected = _metric_and_reference(kind)
    _, sharp, distorted = _images(1.0)
    # Batches of 9, 2 and 5 images: a mean of batch means would differ.
    for start, stop in [(0, 9), (9, 11), (11, 16)]:
        metric.update_state(sharp[start:stop], distorted[start:stop])
    tolerance = PSNR_TOLERANCE_DB if kind == "psnr" else SSIM_TOLERANCE
    np.testing.assert_allclose(
        float(metric.result()), np.mean(expected), atol=tolerance
    )
    batch_means = [
        np.mean(expected[0:9]),
        np.mean(expected[9:11]),
        np.mean(expected[11:16]),
    ]
    assert abs(np.mean(batch_means) - np.mean(expected)) > tolerance


def test_metric_accepts_a_single_image():
    metric, expected = _metric_and_reference("psnr")
    _, sharp, distorted = _images(1.0)
    metric.update_state(sharp[0], distorted[0])
    metric.update_state(sharp[1:3], distorted[1:3])
    np.testing.assert_allclose(
        float(metric.result()), np.mean(expected[:3]), atol=PSNR_TOLERANCE_DB
    )


@pytest.mark.parametrize("kind", ["psnr", "ssim"])
def test_metric_sample_weight_weights_each_image(kind):
    metric, expected = _metric_and_reference(kind)
    _, sharp, distorted = _images(1.0)
    weights = np.linspace(0.0, 2.0, len(sharp)).astype("float32")
    metric.update_state(sharp[:10], distorted[:10], sample_weight=weights[:10])
    # Weights of shape (batch, 1), as Keras' data adapters may pass them.
    metric.update_state(
        sharp[10:], distorted[10:], sample_weight=weights[10:, None]
    )
    tolerance = PSNR_TOLERANCE_DB if kind == "psnr" else SSIM_TOLERANCE
    np.testing.assert_allclose(
        float(metric.result()),
        np.average(expected, weights=weights),
        atol=tolerance,
    )


def test_psnr_metric_zero_weight_drops_an_identical_pair():
    metric = PSNR()
    _, sharp, distorted = _images(1.0)
    batch_true = np.stack([sharp[0], sharp[1]])
    batch_pred = np.stack([sharp[0], distorted[1]])  # first pair: inf PSNR
    metric.update_state(batch_true, batch_pred, sample_weight=[0.0, 1.0])
    expected = peak_signal_noise_ratio(sharp[1], distorted[1], data_range=1.0)
    np.testing.assert_allclose(
        float(metric.result()), expected, atol=PSNR_TOLERANCE_DB
    )


@pytest.mark.parametrize("kind", ["psnr", "ssim"])
def test_metric_reset_state(kind):
    metric, expected = _metric_and_reference(kind)
    _, sharp, distorted = _images(1.0)
    metric.update_state(sharp[:8], distorted[:8])
    metric.reset_state()
    assert float(metric.result()) == 0.0
    metric.update_state(sharp[8:], distorted[8:])
    tolerance = PSNR_TOLERANCE_DB if kind == "psnr" else SSIM_TOLERANCE
    np.testing.assert_allclose(
        float(metric.result()), np.mean(expected[8:]), atol=tolerance
    )


@pytest.mark.parametrize(
    "metric, expected_config",
    [
        (
            PSNR(),
            {"max_val": 1.0, "name": "psnr", "dtype": "float32"},
        ),
        (
            PSNR(max_val=255, name="psnr_8bit"),
            {"max_val": 255, "name": "psnr_8bit", "dtype": "float32"},
        ),
        (
            SSIM(),
            {
                "max_val": 1.0,
                "variant": "gaussian",
                "name": "ssim",
                "dtype": "float32",
            },
        ),
        (
            SSIM(max_val=255, variant="matlab"),
            {
                "max_val": 255,
                "variant": "matlab",
                "name": "ssim_matlab",
                "dtype": "float32",
            },
        ),
    ],
)
def test_metric_get_config_round_trips(metric, expected_config):
    assert metric.get_config() == expected_config
    restored = metric.__class__.from_config(metric.get_config())
    assert restored.get_config() == expected_config
    serialized = keras.metrics.serialize(metric)
    assert serialized["registered_name"].startswith("keras_attn_deblur>")
    restored = keras.metrics.deserialize(serialized)
    assert type(restored) is type(metric)
    assert restored.get_config() == expected_config


def test_metrics_in_model_compile_give_the_per_image_mean():
    labels, sharp, distorted = _images(1.0)
    sharp, distorted = sharp[:7], distorted[:7]
    inputs = keras.Input(shape=(None, None, 3))
    correction = keras.layers.Conv2D(
        3,
        3,
        padding="same",
        kernel_initializer=keras.initializers.RandomNormal(
            stddev=0.02, seed=1
        ),
    )(inputs)
    outputs = keras.layers.Add()([inputs, correction])
    model = keras.Model(inputs, outputs)
    model.compile(
        loss="mse",
        metrics=[PSNR(), SSIM(), SSIM(variant="matlab")],
    )
    # batch_size 3 over 7 images: batches of 3, 3 and 1.
    results = model.evaluate(
        distorted, sharp, batch_size=3, return_dict=True, verbose=0
    )
    restored = model.predict(distorted, batch_size=3, verbose=0)
    np.testing.assert_allclose(
        results["psnr"],
        np.mean(skimage_psnr(sharp, restored, 1.0)),
        atol=PSNR_TOLERANCE_DB,
    )
    np.testing.assert_allclose(
        results["ssim"],
        np.mean(skimage_ssim(sharp, restored, 1.0)),
        atol=SSIM_TOLERANCE,
    )
    matlab = [matlab_ssim_reference(a, b, 1.0) for a, b in zip(sharp, restored)]
    np.testing.assert_allclose(
        results["ssim_matlab"], np.mean(matlab), atol=SSIM_TOLERANCE
    )


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("function", [psnr, ssim])
def test_mismatched_shapes_raise(function):
    y_true = np.zeros((2, 16, 16, 3), "float32")
    y_pred = np.zeros((2, 16, 17, 3), "float32")
    with pytest.raises(ValueError, match=re.escape("(2, 16, 16, 3)")) as error:
        function(y_true, y_pred)
    assert "(2, 16, 17, 3)" in str(error.value)
    with pytest.raises(ValueError, match=re.escape("(16, 16, 3)")):
        function(y_true[0], y_true)


@pytest.mark.parametrize("function", [psnr, ssim])
def test_wrong_rank_raises(function):
    image = np.zeros((16, 16), "float32")
    with pytest.raises(ValueError, match=re.escape("shape=(16, 16)")):
        function(image, image)
    volume = np.zeros((1, 2, 16, 16, 3), "float32")
    with pytest.raises(ValueError, match=re.escape("(1, 2, 16, 16, 3)")):
        function(volume, volume)


def test_unknown_ssim_variant_raises():
    images = np.zeros((1, 16, 16, 3), "float32")
    with pytest.raises(ValueError, match="Received: variant='matlab3d'"):
        ssim(images, images, variant="matlab3d")
    with pytest.raises(ValueError, match="Received: variant='mean'"):
        SSIM(variant="mean")


def test_gaussian_ssim_of_an_image_smaller_than_the_window_raises():
    images = np.zeros((2, 10, 32, 3), "float32")
    with pytest.raises(ValueError, match=re.escape("shape=(2, 10, 32, 3)")):
        ssim(images, images)
    narrow = np.zeros((1, 32, 8, 3), "float32")
    with pytest.raises(ValueError, match=re.escape("shape=(1, 32, 8, 3)")):
        ssim(narrow, narrow)


@pytest.mark.parametrize("max_val", [0, -1.0])
def test_non_positive_max_val_raises(max_val):
    images = np.zeros((1, 16, 16, 3), "float32")
    with pytest.raises(ValueError, match=f"Received: max_val={max_val}"):
        psnr(images, images, max_val=max_val)
    with pytest.raises(ValueError, match=f"Received: max_val={max_val}"):
        ssim(images, images, max_val=max_val)
    with pytest.raises(ValueError, match=f"Received: max_val={max_val}"):
        PSNR(max_val=max_val)


def test_metric_rejects_per_pixel_sample_weight():
    images = np.zeros((2, 16, 16, 3), "float32")
    with pytest.raises(ValueError, match=re.escape("(2, 16, 16)")):
        PSNR().update_state(images, images, sample_weight=np.ones((2, 16, 16)))


def test_metric_update_with_mismatched_shapes_raises():
    with pytest.raises(ValueError, match=re.escape("(2, 16, 17, 3)")):
        SSIM().update_state(
            np.zeros((2, 16, 16, 3), "float32"),
            np.zeros((2, 16, 17, 3), "float32"),
        )
