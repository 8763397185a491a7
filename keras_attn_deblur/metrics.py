"""PSNR and SSIM, per image and as stateful Keras metrics.

Everything here is written with `keras.ops`, so it runs on every Keras backend.
NumPy is used only to build the constant Gaussian filters.

`psnr` and `ssim` return one value per image; `PSNR` and `SSIM` accumulate the
sum of those values and the number of images, so their `result()` is the mean
over every image seen (the number papers report on GoPro), not a mean of batch
means.

Two SSIM definitions are in use in the deblurring literature and they give
different numbers (see "Quality measures" in the project's design notes):

- `variant="gaussian"`: per-channel 2-D SSIM averaged over channels, over the
  VALID region of an 11x11 Gaussian window. This is `tf.image.ssim` and
  scikit-image's `structural_similarity(..., gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, channel_axis=-1)`.
- `variant="matlab"`: MATLAB's `ssim(A, ref)` on an H x W x 3 array, which
  treats the image as a 3-D volume: an 11x11x11 Gaussian window that also
  mixes the colour channels, 'replicate' padding, and the mean of the
  full-size SSIM map.

Reference: Z. Wang, A. C. Bovik, H. R. Sheikh and E. P. Simoncelli, "Image
quality assessment: from error visibility to structural similarity", IEEE
Transactions on Image Processing 13(4), 2004.
"""

import numbers

import keras
import numpy as np
from keras import ops

_FILTER_SIZE = 11
_FILTER_SIGMA = 1.5
_K1 = 0.01
_K2 = 0.03
_SSIM_VARIANTS = ("gaussian", "matlab")


def psnr(y_true, y_pred, max_val=1.0):
    """Peak signal-to-noise ratio of each image, in dB.

    `PSNR = 10 * log10(max_val ** 2 / MSE)`, where `MSE` is the mean squared
    difference over the height, width and channels of one image. The
    computation runs in float32 whatever the input dtype, so the bfloat16 or
    float16 outputs of a mixed-precision model are scored at full precision.

    Identical images have `MSE = 0` and give `+inf`, as
    `skimage.metrics.peak_signal_noise_ratio` and `tf.image.psnr` do.

    Args:
        y_true: tensor. The reference (sharp) images, shape `(B, H, W, C)` or
            a single image `(H, W, C)`.
        y_pred: tensor. The restored images, the same shape as `y_true`.
        max_val: float. The peak pixel value: `1.0` for images in `[0, 1]`,
            `255` for 8-bit values. It is never guessed from the data.
            Defaults to `1.0`.

    Returns:
        A float32 tensor of shape `(B,)`, or a scalar for a single image.

    Example:

    ```python
    import numpy as np
    from keras_attn_deblur import psnr

    sharp = np.random.uniform(size=(2, 64, 64, 3)).astype("float32")
    restored = np.clip(sharp + 0.01, 0.0, 1.0)
    psnr(sharp, restored, max_val=1.0)  # shape (2,), about 40 dB
    ```
    """
    _validate_max_val(max_val)
    y_true, y_pred, batched = _prepare_images(y_true, y_pred)
    max_val = ops.cast(max_val, "float32")
    mse = ops.mean(ops.square(y_true - y_pred), axis=(1, 2, 3))
    values = 10.0 * ops.log10(ops.square(max_val) / mse)
    return values if batched else values[0]


def ssim(y_true, y_pred, max_val=1.0, variant="gaussian"):
    """Structural similarity (SSIM) of each image.

    Both variants use a Gaussian window of 11 taps per axis with
    sigma 1.5, K1 = 0.01, K2 = 0.03, population (not sample) covariance and
    Equation 13 of Wang et al. (2004):

    `SSIM = ((2 mu_x mu_y + C1) (2 sigma_xy + C2)) /
    ((mu_x^2 + mu_y^2 + C1) (sigma_x^2 + sigma_y^2 + C2))`,

    with `C1 = (K1 L)^2` and `C2 = (K2 L)^2`. The inputs are divided by
    `max_val` first and everything runs in float32, so `L = 1`.

    - `variant="gaussian"` is the per-channel 2-D SSIM averaged over the
      channels and over the VALID region (the window never leaves the image):
      the definition of `tf.image.ssim` and of scikit-image's
      `structural_similarity(..., gaussian_weights=True, sigma=1.5,
      use_sample_covariance=False, data_range=max_val, channel_axis=-1)`
      (which filters with reflect padding and then crops 5 pixels, the same
      region). Images must be at least 11 x 11 pixels.
    - `variant="matlab"` is MATLAB's `ssim(A, ref)` on an H x W x C array,
      which treats the image as a 3-D volume: an 11 x 11 x 11 Gaussian
      window (normalised), 'replicate' padding on all three axes, and the
      mean of the full-size SSIM map over all H * W * C values. The 3-D
      window is applied separably: an 11-tap Gaussian along height and width
      with edge-replicate padding, and a C x C matrix along the channels
      that holds the same taps with the padding folded in. This variant was
      validated against a float64 SciPy transcription of MathWorks'
      `ssim.m` (3-D `ndgrid` kernel, `scipy.ndimage.correlate` with
      `mode="nearest"`), agreeing within 1e-4 on real photographs with
      blur, noise and JPEG distortions (`tests/test_metrics.py`).

    Args:
        y_true: tensor. The reference (sharp) images, shape `(B, H, W, C)` or
            a single image `(H, W, C)`.
        y_pred: tensor. The restored images, the same shape as `y_true`.
        max_val: float. The peak pixel value (`1.0` for `[0, 1]` images,
            `255` for 8-bit values). Defaults to `1.0`.
        variant: str. `"gaussian"` (per-channel 2-D SSIM, as `tf.image.ssim`
            and scikit-image) or `"matlab"` (3-D SSIM, as MATLAB's `ssim`
            on an RGB array). Defaults to `"gaussian"`.

    Returns:
        A float32 tensor of shape `(B,)`, or a scalar for a single image.

    Example:

    ```python
    import numpy as np
    from keras_attn_deblur import ssim

    sharp = np.random.uniform(size=(2, 64, 64, 3)).astype("float32")
    restored = np.clip(sharp + 0.05, 0.0, 1.0)
    ssim(sharp, restored)  # shape (2,)
    ssim(sharp, restored, variant="matlab")  # the MATLAB number
    ```
    """
    _validate_max_val(max_val)
    _validate_variant(variant)
    y_true, y_pred, batched = _prepare_images(y_true, y_pred)
    max_val = ops.cast(max_val, "float32")
    y_true = y_true / max_val
    y_pred = y_pred / max_val
    if variant == "gaussian":
        values = _ssim_gaussian(y_true, y_pred)
    else:
        values = _ssim_matlab(y_true, y_pred)
    return values if batched else values[0]


class _PerImageMean(keras.metrics.Metric):
    """Weighted mean, over every image seen, of a per-image measure."""

    def __init__(self, max_val=1.0, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        _validate_max_val(max_val)
        self.max_val = max_val
        self.total = self.add_variable(
            shape=(), initializer="zeros", dtype="float32", name="total"
        )
        self.count = self.add_variable(
            shape=(), initializer="zeros", dtype="float32", name="count"
        )

    def per_image(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = ops.reshape(self.per_image(y_true, y_pred), (-1,))
        if sample_weight is None:
            weights = ops.ones_like(values)
        else:
            weights = _per_image_weights(sample_weight, values)
        # A zero weight drops an image even when its value is inf (PSNR of
        # identical images); inf * 0 would be NaN.
        weighted = ops.where(weights == 0, 0.0, values * weights)
        self.total.assign(self.total + ops.sum(weighted))
        self.count.assign(self.count + ops.sum(weights))

    def result(self):
        return ops.cast(ops.divide_no_nan(self.total, self.count), self.dtype)


@keras.saving.register_keras_serializable(package="keras_attn_deblur")
class PSNR(_PerImageMean):
    """Mean peak signal-to-noise ratio over all images seen, in dB.

    Each image scores `10 * log10(max_val ** 2 / MSE)` (see `psnr`); the
    metric keeps the (weighted) sum of these scores and the (weighted) number
    of images, and `result()` is their ratio: the mean over every image, not
    a mean of batch means, so batches of unequal size are counted correctly.
    Scores are computed in float32 whatever the model's dtype. A pair of
    identical images scores `+inf`, which makes the mean `+inf`.

    Args:
        max_val: float. The peak pixel value: `1.0` for images in `[0, 1]`,
            `255` for 8-bit values. Defaults to `1.0`.
        name: str. The name of the metric. Defaults to `"psnr"`.
        dtype: str. The dtype of `result()`; the state is always float32.
            Defaults to `None` (`keras.config.floatx()`).

    Example:

    ```python
    import keras
    import numpy as np
    from keras_attn_deblur import PSNR, SSIM, psnr, ssim

    metric = PSNR(max_val=1.0)
    sharp = np.random.uniform(size=(3, 32, 32, 3)).astype("float32")
    metric.update_state(sharp[:2], np.clip(sharp[:2] + 0.01, 0, 1))
    metric.update_state(sharp[2:], np.clip(sharp[2:] + 0.02, 0, 1))
    metric.result()  # mean of the three per-image values of psnr()

    model.compile(optimizer="adam", loss="mae", metrics=[PSNR(), SSIM()])
    ```
    """

    def __init__(self, max_val=1.0, name="psnr", dtype=None):
        super().__init__(max_val=max_val, name=name, dtype=dtype)

    def per_image(self, y_true, y_pred):
        return psnr(y_true, y_pred, max_val=self.max_val)

    def get_config(self):
        return {"max_val": self.max_val, "name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="keras_attn_deblur")
class SSIM(_PerImageMean):
    """Mean structural similarity (SSIM) over all images seen.

    Each image is scored with `ssim` (Gaussian window 11 x 11, sigma 1.5,
    K1 = 0.01, K2 = 0.03, Equation 13 of Wang et al. 2004):

    `SSIM = ((2 mu_x mu_y + C1) (2 sigma_xy + C2)) /
    ((mu_x^2 + mu_y^2 + C1) (sigma_x^2 + sigma_y^2 + C2))`.

    `variant="gaussian"` is the per-channel 2-D SSIM over the VALID region
    (`tf.image.ssim`, scikit-image); `variant="matlab"` is MATLAB's 3-D SSIM
    of an H x W x 3 array. The two give different numbers: always report
    which one was used. `result()` is the (weighted) mean over every image
    seen, not a mean of batch means.

    Args:
        max_val: float. The peak pixel value: `1.0` for images in `[0, 1]`,
            `255` for 8-bit values. Defaults to `1.0`.
        variant: str. `"gaussian"` or `"matlab"`, see `ssim`. Defaults to
            `"gaussian"`.
        name: str. The name of the metric. Defaults to `None`, which means
            `"ssim"` for the gaussian variant and `"ssim_matlab"` for the
            matlab variant.
        dtype: str. The dtype of `result()`; the state is always float32.
            Defaults to `None` (`keras.config.floatx()`).

    Example:

    ```python
    import keras
    import numpy as np
    from keras_attn_deblur import PSNR, SSIM, psnr, ssim

    metric = SSIM(variant="matlab")  # named "ssim_matlab"
    sharp = np.random.uniform(size=(2, 32, 32, 3)).astype("float32")
    metric.update_state(sharp, np.clip(sharp + 0.05, 0, 1))
    metric.result()

    model.compile(optimizer="adam", loss="mae", metrics=[PSNR(), SSIM()])
    ```
    """

    def __init__(self, max_val=1.0, variant="gaussian", name=None, dtype=None):
        _validate_variant(variant)
        if name is None:
            name = "ssim" if variant == "gaussian" else f"ssim_{variant}"
        super().__init__(max_val=max_val, name=name, dtype=dtype)
        self.variant = variant

    def per_image(self, y_true, y_pred):
        return ssim(y_true, y_pred, max_val=self.max_val, variant=self.variant)

    def get_config(self):
        return {
            "max_val": self.max_val,
            "variant": self.variant,
            "name": self.name,
            "dtype": self.dtype,
        }


def _validate_max_val(max_val):
    if isinstance(max_val, numbers.Real) and not max_val > 0:
        raise ValueError(
            "`max_val` must be the positive peak pixel value (1.0 for [0, 1] "
            f"images, 255 for 8-bit values). Received: max_val={max_val}"
        )


def _validate_variant(variant):
    if variant not in _SSIM_VARIANTS:
        raise ValueError(
            f"`variant` must be one of {_SSIM_VARIANTS}. "
            f"Received: variant={variant!r}"
        )


def _prepare_images(y_true, y_pred):
    """Checks shapes, casts to float32 and adds a batch axis if needed."""
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred)
    true_shape = tuple(y_true.shape)
    pred_shape = tuple(y_pred.shape)
    same = len(true_shape) == len(pred_shape) and all(
        a is None or b is None or a == b for a, b in zip(true_shape, pred_shape)
    )
    if not same:
        raise ValueError(
            "`y_true` and `y_pred` must have the same shape. Received: "
            f"y_true.shape={true_shape}, y_pred.shape={pred_shape}"
        )
    if len(true_shape) not in (3, 4):
        raise ValueError(
            "Expected images of shape (batch, height, width, channels) or "
            f"(height, width, channels). Received: shape={true_shape}"
        )
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    batched = len(true_shape) == 4
    if not batched:
        y_true = y_true[None]
        y_pred = y_pred[None]
    return y_true, y_pred, batched


def _per_image_weights(sample_weight, values):
    weights = ops.cast(ops.convert_to_tensor(sample_weight), "float32")
    shape = tuple(weights.shape)
    if len(shape) > 1 and any(dim != 1 for dim in shape[1:]):
        raise ValueError(
            "`sample_weight` must hold one weight per image, shape (batch,). "
            f"Received: sample_weight.shape={shape}"
        )
    if len(shape) > 0:
        weights = ops.reshape(weights, (-1,))
    return ops.broadcast_to(weights, ops.shape(values))


def _gaussian_taps():
    offsets = np.arange(_FILTER_SIZE, dtype="float64") - _FILTER_SIZE // 2
    taps = np.exp(-(offsets**2) / (2.0 * _FILTER_SIGMA**2))
    return taps / taps.sum()


def _filter_statistics(y_true, y_pred, filter_fn):
    """Filters x, y, x^2, y^2 and xy in one pass and applies Equation 13."""
    stacked = ops.concatenate(
        [y_true, y_pred, y_true * y_true, y_pred * y_pred, y_true * y_pred],
        axis=-1,
    )
    mu_x, mu_y, e_xx, e_yy, e_xy = ops.split(filter_fn(stacked), 5, axis=-1)
    var_x = e_xx - mu_x * mu_x
    var_y = e_yy - mu_y * mu_y
    cov_xy = e_xy - mu_x * mu_y
    c1 = _K1**2
    c2 = _K2**2
    numerator = (2.0 * mu_x * mu_y + c1) * (2.0 * cov_xy + c2)
    denominator = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    return ops.mean(numerator / denominator, axis=(1, 2, 3))


def _static_channels(images):
    channels = images.shape[-1]
    if channels is None:
        raise ValueError(
            "SSIM needs a known number of channels. Received: "
            f"shape={tuple(images.shape)}"
        )
    return channels


def _filter_valid(images, taps, axis):
    """Correlates `images` with the 1-D `taps` along `axis`, VALID region.

    A weighted sum of shifted slices: no convolution op, so it is fast on
    every backend (XLA's CPU depthwise convolution is slow) and works with
    unknown image sizes.
    """
    size = len(taps)
    filtered = None
    for offset, tap in enumerate(taps):
        stop = offset - (size - 1) or None
        index = [slice(None)] * len(images.shape)
        index[axis] = slice(offset, stop)
        term = float(tap) * images[tuple(index)]
        filtered = term if filtered is None else filtered + term
    return filtered


def _ssim_gaussian(y_true, y_pred):
    height, width = y_true.shape[1], y_true.shape[2]
    if (height is not None and height < _FILTER_SIZE) or (
        width is not None and width < _FILTER_SIZE
    ):
        raise ValueError(
            f"SSIM variant 'gaussian' needs images of at least {_FILTER_SIZE} "
            f"x {_FILTER_SIZE} pixels (its window size); use "
            "variant='matlab', which pads, for smaller images. Received: "
            f"shape={tuple(y_true.shape)}"
        )
    taps = _gaussian_taps()

    def filter_valid(images):
        return _filter_valid(_filter_valid(images, taps, 1), taps, 2)

    return _filter_statistics(y_true, y_pred, filter_valid)


def _replicate_filter_matrix(length, taps):
    """The `length x length` matrix of a 1-D filter with 'replicate' padding.

    Entry `[out, in]` is the sum of the taps `taps[j]` whose input position
    `clip(out + j - radius, 0, length - 1)` is `in`.
    """
    radius = len(taps) // 2
    matrix = np.zeros((length, length), dtype="float64")
    for out in range(length):
        for j, tap in enumerate(taps):
            matrix[out, min(max(out + j - radius, 0), length - 1)] += tap
    return matrix


def _replicate_pad(images, axis, radius):
    """Edge-replicate padding along `axis` (TensorFlow's pad has no 'edge')."""
    length = ops.shape(images)[axis]
    indices = ops.clip(ops.arange(-radius, length + radius), 0, length - 1)
    return ops.take(images, indices, axis=axis)


def _ssim_matlab(y_true, y_pred):
    channels = _static_channels(y_true)
    taps = _gaussian_taps()
    radius = _FILTER_SIZE // 2
    # Along the channels, the same taps as a matrix with the 'replicate'
    # padding folded in, applied to each of the five stacked statistics
    # separately (block-diagonal).
    channel_matrix = np.kron(
        np.eye(5), _replicate_filter_matrix(channels, taps)
    )
    channel_matrix = ops.convert_to_tensor(channel_matrix.T.astype("float32"))

    def filter_replicate(images):
        images = _filter_valid(_replicate_pad(images, 1, radius), taps, 1)
        images = _filter_valid(_replicate_pad(images, 2, radius), taps, 2)
        return ops.matmul(images, channel_matrix)

    return _filter_statistics(y_true, y_pred, filter_replicate)
