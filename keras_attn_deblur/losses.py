"""Image-restoration losses, written with `keras.ops` for every backend.

Each loss returns one value per image (shape `(B,)`) and leaves the batch
reduction to Keras, so `sample_weight` and the `reduction` argument behave as
for Keras' own losses. The computation runs in float32 whatever the dtype of
the model's outputs (mixed-precision models output bfloat16 or float16).
"""

import numbers

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_attn_deblur")
class CharbonnierLoss(keras.losses.Loss):
    """Charbonnier loss, a differentiable variant of L1.

    Per image: `mean(sqrt((y_pred - y_true) ** 2 + epsilon ** 2))` over the
    height, width and channels. It behaves like L2 for errors much smaller
    than `epsilon` and like L1 above, which makes it robust to outliers while
    keeping a smooth gradient at zero. It never reaches zero: identical
    images give `epsilon`.

    Reference: W.-S. Lai, J.-B. Huang, N. Ahuja and M.-H. Yang, "Deep
    Laplacian Pyramid Networks for Fast and Accurate Super-Resolution"
    (LapSRN), CVPR 2017.

    Args:
        epsilon: float. The smoothing constant, in pixel units. Must be
            positive. Defaults to `1e-3`.
        reduction: str. How Keras reduces the per-image values over the
            batch, as for `keras.losses.Loss`. Defaults to
            `"sum_over_batch_size"`.
        name: str. The name of the loss. Defaults to `"charbonnier_loss"`.
        dtype: str. The dtype Keras converts the inputs and the reduced loss
            to; the loss itself is computed in float32. Defaults to `None`
            (`keras.config.floatx()`).

    Example:

    ```python
    import numpy as np
    from keras_attn_deblur.losses import CharbonnierLoss

    loss = CharbonnierLoss(epsilon=1e-3)
    sharp = np.random.uniform(size=(2, 32, 32, 3)).astype("float32")
    loss(sharp, np.clip(sharp + 0.1, 0, 1))

    model.compile(optimizer="adam", loss=CharbonnierLoss())
    ```
    """

    def __init__(
        self,
        epsilon=1e-3,
        reduction="sum_over_batch_size",
        name="charbonnier_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not isinstance(epsilon, numbers.Real) or not epsilon > 0:
            raise ValueError(
                "`epsilon` must be a positive number. "
                f"Received: epsilon={epsilon}"
            )
        self.epsilon = epsilon

    def call(self, y_true, y_pred):
        y_true, y_pred = _as_float32(y_true, y_pred)
        values = ops.sqrt(ops.square(y_pred - y_true) + self.epsilon**2)
        return _mean_per_image(values)

    def get_config(self):
        return {
            "epsilon": self.epsilon,
            "reduction": self.reduction,
            "name": self.name,
            "dtype": self.dtype,
        }


@keras.saving.register_keras_serializable(package="keras_attn_deblur")
class PSNRLoss(keras.losses.Loss):
    """Negative peak signal-to-noise ratio, in dB.

    Per image: `10 * log10(MSE / max_val ** 2 + 1e-8)`, where `MSE` is the
    mean squared difference over the height, width and channels. This is
    `-PSNR` up to the `1e-8`, which keeps the loss finite (about -80 dB)
    when the images are identical, as in NAFNet's `PSNRLoss`. Minimising it
    maximises the PSNR of each image, rather than of the batch's mean MSE.

    Reference: L. Chen, X. Chu, X. Zhang and J. Sun, "Simple Baselines for
    Image Restoration" (NAFNet), ECCV 2022.

    Args:
        max_val: float. The peak pixel value: `1.0` for images in `[0, 1]`,
            `255` for 8-bit values. Defaults to `1.0`.
        reduction: str. How Keras reduces the per-image values over the
            batch, as for `keras.losses.Loss`. Defaults to
            `"sum_over_batch_size"`.
        name: str. The name of the loss. Defaults to `"psnr_loss"`.
        dtype: str. The dtype Keras converts the inputs and the reduced loss
            to; the loss itself is computed in float32. Defaults to `None`
            (`keras.config.floatx()`).

    Example:

    ```python
    import numpy as np
    from keras_attn_deblur.losses import PSNRLoss

    loss = PSNRLoss(max_val=1.0)
    sharp = np.random.uniform(size=(2, 32, 32, 3)).astype("float32")
    loss(sharp, np.clip(sharp + 0.01, 0, 1))  # about -40.0
    ```
    """

    def __init__(
        self,
        max_val=1.0,
        reduction="sum_over_batch_size",
        name="psnr_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not isinstance(max_val, numbers.Real) or not max_val > 0:
            raise ValueError(
                "`max_val` must be the positive peak pixel value (1.0 for "
                f"[0, 1] images, 255 for 8-bit values). Received: "
                f"max_val={max_val}"
            )
        self.max_val = max_val

    def call(self, y_true, y_pred):
        y_true, y_pred = _as_float32(y_true, y_pred)
        scale = 1.0 / float(self.max_val)
        mse = _mean_per_image(ops.square((y_pred - y_true) * scale))
        return 10.0 * ops.log10(mse + 1e-8)

    def get_config(self):
        return {
            "max_val": self.max_val,
            "reduction": self.reduction,
            "name": self.name,
            "dtype": self.dtype,
        }


@keras.saving.register_keras_serializable(package="keras_attn_deblur")
class FrequencyLoss(keras.losses.Loss):
    """L1 distance between the 2-D Fourier transforms of two images.

    Per image: with `F` the unnormalised 2-D FFT over height and width,
    taken per channel, the loss is the mean absolute difference of the real
    and imaginary parts:

    `(mean(|Re F(y_pred) - Re F(y_true)|)
    + mean(|Im F(y_pred) - Im F(y_true)|)) / 2`,

    the means running over channels and all frequencies. This is
    MIMO-UNet's FFT loss (an L1 loss on the stacked real and imaginary parts
    of the full, two-sided FFT). The FFT is linear, so it is taken once, of
    `y_pred - y_true`. Its scale grows with the image area: MIMO-UNet adds it
    to the pixel loss with a weight of 0.1 (see `WeightedSumLoss`).

    Reference: S.-J. Cho, S.-W. Ji, J.-P. Hong, S.-W. Jung and S.-J. Ko,
    "Rethinking Coarse-to-Fine Approach in Single Image Deblurring"
    (MIMO-UNet), ICCV 2021.

    Args:
        reduction: str. How Keras reduces the per-image values over the
            batch, as for `keras.losses.Loss`. Defaults to
            `"sum_over_batch_size"`.
        name: str. The name of the loss. Defaults to `"frequency_loss"`.
        dtype: str. The dtype Keras converts the inputs and the reduced loss
            to; the loss itself is computed in float32. Defaults to `None`
            (`keras.config.floatx()`).

    Example:

    ```python
    import numpy as np
    from keras_attn_deblur.losses import FrequencyLoss

    loss = FrequencyLoss()
    sharp = np.random.uniform(size=(2, 32, 32, 3)).astype("float32")
    loss(sharp, np.clip(sharp + 0.1, 0, 1))
    ```
    """

    def __init__(
        self,
        reduction="sum_over_batch_size",
        name="frequency_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        y_true, y_pred = _as_float32(y_true, y_pred)
        if len(y_pred.shape) != 4:
            raise ValueError(
                "FrequencyLoss expects images of shape (batch, height, width, "
                f"channels). Received: shape={tuple(y_pred.shape)}"
            )
        # Channels first, so that the FFT runs over height and width.
        difference = ops.transpose(y_pred - y_true, (0, 3, 1, 2))
        real, imag = ops.fft2((difference, ops.zeros_like(difference)))
        return 0.5 * (
            _mean_per_image(ops.abs(real)) + _mean_per_image(ops.abs(imag))
        )

    def get_config(self):
        return {
            "reduction": self.reduction,
            "name": self.name,
            "dtype": self.dtype,
        }


@keras.saving.register_keras_serializable(package="keras_attn_deblur")
class WeightedSumLoss(keras.losses.Loss):
    """A weighted sum of losses, per image.

    Per image: `sum_i weights[i] * losses[i](y_true, y_pred)`. Each term is
    the per-image value of its loss (its `call()`, averaged over any axes
    left besides the batch axis); this loss's own `reduction` then applies to
    the sum, and the terms' reductions are not used. With the default
    reductions the result equals the weighted sum of the terms' batch means.
    MIMO-UNet trains with `WeightedSumLoss([CharbonnierLoss(),
    FrequencyLoss()], weights=(1.0, 0.1))` (with L1 in place of Charbonnier).

    Args:
        losses: sequence. The terms: `keras.losses.Loss` instances, or
            identifiers accepted by `keras.losses.get` (such as `"mae"`).
        weights: sequence of float. One weight per term.
        reduction: str. How Keras reduces the per-image values over the
            batch, as for `keras.losses.Loss`. Defaults to
            `"sum_over_batch_size"`.
        name: str. The name of the loss. Defaults to `"weighted_sum_loss"`.
        dtype: str. The dtype Keras converts the inputs and the reduced loss
            to; the terms are computed in float32. Defaults to `None`
            (`keras.config.floatx()`).

    Example:

    ```python
    from keras_attn_deblur.losses import (
        CharbonnierLoss,
        FrequencyLoss,
        WeightedSumLoss,
    )

    loss = WeightedSumLoss(
        [CharbonnierLoss(), FrequencyLoss()], weights=(1.0, 0.1)
    )
    model.compile(optimizer="adam", loss=loss)
    ```
    """

    def __init__(
        self,
        losses,
        weights,
        reduction="sum_over_batch_size",
        name="weighted_sum_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        losses = tuple(keras.losses.get(loss) for loss in losses)
        weights = tuple(float(weight) for weight in weights)
        if not losses or len(losses) != len(weights):
            raise ValueError(
                "`losses` and `weights` must be non-empty and of equal "
                f"length. Received: len(losses)={len(losses)}, "
                f"len(weights)={len(weights)}"
            )
        self.losses = losses
        self.weights = weights

    def call(self, y_true, y_pred):
        y_true, y_pred = _as_float32(y_true, y_pred)
        total = 0.0
        for loss, weight in zip(self.losses, self.weights):
            if isinstance(loss, keras.losses.Loss):
                values = loss.call(y_true, y_pred)
            else:
                values = loss(y_true, y_pred)
            total = total + weight * _mean_per_image(values)
        return total

    def get_config(self):
        return {
            "losses": [keras.losses.serialize(loss) for loss in self.losses],
            "weights": list(self.weights),
            "reduction": self.reduction,
            "name": self.name,
            "dtype": self.dtype,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["losses"] = [
            keras.losses.deserialize(loss) for loss in config["losses"]
        ]
        return cls(**config)


def _as_float32(y_true, y_pred):
    return ops.cast(y_true, "float32"), ops.cast(y_pred, "float32")


def _mean_per_image(values):
    """Averages every axis but the first (the batch axis)."""
    values = ops.cast(values, "float32")
    if len(values.shape) <= 1:
        return values
    return ops.mean(values, axis=tuple(range(1, len(values.shape))))
