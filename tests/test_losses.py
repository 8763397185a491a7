"""Tests for `keras_attn_deblur.losses` against independent references.

References: NumPy formulas (Charbonnier, `numpy.fft.fft2` for the frequency
loss) and scikit-image's PSNR, on real photographs with blur, noise and JPEG
distortions (`photo_pairs.py`).
"""

import keras
import numpy as np
import pytest
from keras import ops
from skimage.metrics import peak_signal_noise_ratio

from keras_attn_deblur.losses import CharbonnierLoss
from keras_attn_deblur.losses import FrequencyLoss
from keras_attn_deblur.losses import PSNRLoss
from keras_attn_deblur.losses import WeightedSumLoss
from tests.photo_pairs import photo_pairs
from tests.photo_pairs import to_uint8


def _stacked_pairs():
    pairs = photo_pairs()
    sharp = np.stack([pair[1] for pair in pairs])
    distorted = np.stack([pair[2] for pair in pairs])
    return sharp, distorted


def charbonnier_reference(y_true, y_pred, epsilon):
    difference = y_pred.astype(np.float64) - y_true.astype(np.float64)
    values = np.sqrt(difference**2 + epsilon**2)
    return values.mean(axis=(1, 2, 3))


def frequency_reference(y_true, y_pred):
    """MIMO-UNet's FFT loss: L1 over the stacked real and imaginary parts."""
    spectrum_true = np.fft.fft2(y_true.astype(np.float64), axes=(1, 2))
    spectrum_pred = np.fft.fft2(y_pred.astype(np.float64), axes=(1, 2))
    stacked_true = np.stack([spectrum_true.real, spectrum_true.imag], axis=-1)
    stacked_pred = np.stack([spectrum_pred.real, spectrum_pred.imag], axis=-1)
    return np.abs(stacked_pred - stacked_true).mean(axis=(1, 2, 3, 4))


def per_image(loss, y_true, y_pred):
    """The unreduced values of a loss: one per image."""
    config = loss.get_config()
    config["reduction"] = None
    unreduced = loss.__class__.from_config(config)
    values = ops.convert_to_numpy(unreduced(y_true, y_pred))
    assert values.shape == (len(y_true),)
    return values


# --------------------------------------------------------------------------
# Values against references
# --------------------------------------------------------------------------


@pytest.mark.parametrize("epsilon", [1e-3, 0.05])
def test_charbonnier_matches_numpy_formula(epsilon):
    sharp, distorted = _stacked_pairs()
    loss = CharbonnierLoss(epsilon=epsilon)
    expected = charbonnier_reference(sharp, distorted, epsilon)
    np.testing.assert_allclose(
        per_image(loss, sharp, distorted), expected, rtol=1e-5
    )
    np.testing.assert_allclose(
        float(loss(sharp, distorted)), expected.mean(), rtol=1e-5
    )
    # Identical images give epsilon, not zero.
    np.testing.assert_allclose(float(loss(sharp, sharp)), epsilon, rtol=1e-5)


@pytest.mark.parametrize("max_val", [1.0, 255])
def test_psnr_loss_is_minus_skimage_psnr(max_val):
    sharp, distorted = _stacked_pairs()
    if max_val == 255:
        sharp = to_uint8(sharp).astype("float32")
        distorted = to_uint8(distorted).astype("float32")
    expected = -np.array(
        [
            peak_signal_noise_ratio(a, b, data_range=max_val)
            for a, b in zip(sharp, distorted)
        ]
    )
    values = per_image(PSNRLoss(max_val=max_val), sharp, distorted)
    np.testing.assert_allclose(values, expected, atol=1e-3)


def test_psnr_loss_is_finite_for_identical_images():
    sharp, _ = _stacked_pairs()
    value = float(PSNRLoss()(sharp[:2], sharp[:2]))
    # 10 * log10(1e-8), as NAFNet's PSNR loss.
    np.testing.assert_allclose(value, -80.0, atol=1e-4)


def test_frequency_loss_matches_numpy_fft2():
    sharp, distorted = _stacked_pairs()
    expected = frequency_reference(sharp, distorted)
    loss = FrequencyLoss()
    np.testing.assert_allclose(
        per_image(loss, sharp, distorted), expected, rtol=1e-4
    )
    np.testing.assert_allclose(
        float(loss(sharp, distorted)), expected.mean(), rtol=1e-4
    )
    assert float(loss(sharp, sharp)) == 0.0


def test_weighted_sum_loss_matches_weighted_sum_of_references():
    sharp, distorted = _stacked_pairs()
    loss = WeightedSumLoss(
        [CharbonnierLoss(epsilon=1e-3), FrequencyLoss(), "mae"],
        weights=(1.0, 0.1, 0.5),
    )
    expected = (
        charbonnier_reference(sharp, distorted, 1e-3)
        + 0.1 * frequency_reference(sharp, distorted)
        + 0.5 * np.abs(distorted - sharp).mean(axis=(1, 2, 3), dtype=np.float64)
    )
    np.testing.assert_allclose(
        per_image(loss, sharp, distorted), expected, rtol=1e-4
    )
    np.testing.assert_allclose(
        float(loss(sharp, distorted)), expected.mean(), rtol=1e-4
    )


@pytest.mark.parametrize(
    "loss",
    [CharbonnierLoss(), PSNRLoss(), FrequencyLoss()],
    ids=["charbonnier", "psnr", "frequency"],
)
def test_sample_weight_weights_each_image(loss):
    sharp, distorted = _stacked_pairs()
    sharp, distorted = sharp[:6], distorted[:6]
    weights = np.array([0.0, 1.0, 2.0, 0.5, 1.0, 3.0], "float32")
    values = per_image(loss, sharp, distorted)
    # "sum_over_batch_size": the weighted sum divided by the batch size.
    np.testing.assert_allclose(
        float(loss(sharp, distorted, sample_weight=weights)),
        np.sum(values * weights) / len(weights),
        rtol=1e-5,
    )


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_losses_compute_in_float32_for_low_precision_outputs(dtype):
    sharp, distorted = _stacked_pairs()
    sharp, distorted = sharp[:4], distorted[:4]
    low_precision = ops.cast(distorted, dtype)
    held = ops.convert_to_numpy(ops.cast(low_precision, "float32"))
    value = CharbonnierLoss()(sharp, low_precision)
    assert ops.convert_to_numpy(value).dtype == np.float32
    np.testing.assert_allclose(
        float(value),
        charbonnier_reference(sharp, held, 1e-3).mean(),
        rtol=1e-5,
    )
    value = FrequencyLoss()(sharp, low_precision)
    np.testing.assert_allclose(
        float(value), frequency_reference(sharp, held).mean(), rtol=1e-4
    )


# --------------------------------------------------------------------------
# Serialization
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "loss, expected_config",
    [
        (
            CharbonnierLoss(epsilon=1e-2),
            {
                "epsilon": 1e-2,
                "reduction": "sum_over_batch_size",
                "name": "charbonnier_loss",
                "dtype": "float32",
            },
        ),
        (
            PSNRLoss(max_val=255, name="psnr_8bit"),
            {
                "max_val": 255,
                "reduction": "sum_over_batch_size",
                "name": "psnr_8bit",
                "dtype": "float32",
            },
        ),
        (
            FrequencyLoss(reduction="sum"),
            {"reduction": "sum", "name": "frequency_loss", "dtype": "float32"},
        ),
    ],
    ids=["charbonnier", "psnr", "frequency"],
)
def test_get_config_holds_the_constructor_arguments(loss, expected_config):
    assert loss.get_config() == expected_config
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(restored) is type(loss)
    assert restored.get_config() == expected_config


def test_weighted_sum_loss_serialization_round_trip():
    sharp, distorted = _stacked_pairs()
    loss = WeightedSumLoss(
        [CharbonnierLoss(epsilon=1e-2), FrequencyLoss()], weights=(1.0, 0.1)
    )
    serialized = keras.losses.serialize(loss)
    assert serialized["registered_name"] == "keras_attn_deblur>WeightedSumLoss"
    assert sorted(serialized["config"]) == [
        "dtype",
        "losses",
        "name",
        "reduction",
        "weights",
    ]
    restored = keras.losses.deserialize(serialized)
    assert isinstance(restored, WeightedSumLoss)
    assert [type(term) for term in restored.losses] == [
        CharbonnierLoss,
        FrequencyLoss,
    ]
    assert restored.losses[0].epsilon == 1e-2
    assert restored.weights == (1.0, 0.1)
    assert restored.get_config() == loss.get_config()
    expected = charbonnier_reference(
        sharp, distorted, 1e-2
    ) + 0.1 * frequency_reference(sharp, distorted)
    np.testing.assert_allclose(
        float(restored(sharp, distorted)), expected.mean(), rtol=1e-4
    )


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_loss",
    [
        lambda: CharbonnierLoss(),
        lambda: PSNRLoss(),
        lambda: WeightedSumLoss(
            [CharbonnierLoss(), FrequencyLoss()], weights=(1.0, 0.1)
        ),
    ],
    ids=["charbonnier", "psnr", "charbonnier_plus_frequency"],
)
def test_loss_trains_a_model_one_step(make_loss):
    sharp, distorted = _stacked_pairs()
    sharp, distorted = sharp[:4, :32, :32], distorted[:4, :32, :32]
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(32, 32, 3))
    outputs = keras.layers.Conv2D(3, 3, padding="same")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=make_loss())
    before = [ops.convert_to_numpy(w).copy() for w in model.weights]
    history = model.fit(distorted, sharp, batch_size=4, epochs=1, verbose=0)
    loss_value = history.history["loss"][0]
    assert np.isfinite(loss_value)
    after = [ops.convert_to_numpy(w) for w in model.weights]
    assert all(np.all(np.isfinite(w)) for w in after)
    assert any(not np.array_equal(b, a) for b, a in zip(before, after))


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("epsilon", [0, -1e-3])
def test_non_positive_epsilon_raises(epsilon):
    with pytest.raises(ValueError, match=f"Received: epsilon={epsilon}"):
        CharbonnierLoss(epsilon=epsilon)


def test_non_positive_max_val_raises():
    with pytest.raises(ValueError, match="Received: max_val=0"):
        PSNRLoss(max_val=0)


def test_weighted_sum_loss_needs_one_weight_per_loss():
    with pytest.raises(ValueError, match="len\\(weights\\)=1"):
        WeightedSumLoss([CharbonnierLoss(), FrequencyLoss()], weights=(1.0,))


def test_frequency_loss_needs_batched_images():
    image = np.zeros((16, 16, 3), "float32")
    with pytest.raises(ValueError, match="shape=\\(16, 16, 3\\)"):
        FrequencyLoss()(image, image)
