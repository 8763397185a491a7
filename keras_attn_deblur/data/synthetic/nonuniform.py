"""Blurring an image: FFT convolution, and blur that varies across the image (NumPy).

- `blur_image`: a true convolution with one kernel, FFT-based, reflect padding.
- `nonuniform_blur`: a spatially varying blur, either several camera-shake
  kernels blended over smooth random masks (`mode="smooth"`), or an object
  moving differently from the background (`mode="object"`).

`next_fast_length` picks FFT sizes; the accelerator twin of `blur_image`
(`PairSynthesizer`'s `fft_blur`) uses it too, so both pad alike.
"""

import numpy as np
from PIL import Image

from keras_attn_deblur._utils.validation import check_choice
from keras_attn_deblur.data.synthetic._checks import as_generator
from keras_attn_deblur.data.synthetic._checks import as_image
from keras_attn_deblur.data.synthetic._checks import check_number
from keras_attn_deblur.data.synthetic._checks import check_odd_size
from keras_attn_deblur.data.synthetic._checks import check_range
from keras_attn_deblur.data.synthetic.kernels import camera_shake_kernel
from keras_attn_deblur.data.synthetic.kernels import linear_motion_kernel

_NONUNIFORM_MODES = ("smooth", "object")


# --------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------


def blur_image(image, kernel):
    """Convolves an image with a blur kernel; the output has the input's size.

    A true convolution (the kernel is flipped), with the kernel's centre at
    `(kh // 2, kw // 2)` and the image extended by reflection without repeating
    the edge pixel (`numpy.pad(mode="reflect")`, which is `mode="mirror"` in
    `scipy.ndimage` and `REFLECT` in TensorFlow). Computed with real FFTs, so
    the cost hardly depends on the kernel size. Equal to
    `scipy.ndimage.convolve(image, kernel[..., None], mode="mirror")` up to
    float32 rounding.

    Args:
        image: float array of shape `(H, W)` or `(H, W, C)`.
        kernel: float array of shape `(kh, kw)`.

    Returns:
        A float32 array of the image's shape.

    Example:

    ```python
    import numpy as np
    from keras_attn_deblur.data import blur_image
    from keras_attn_deblur.data import camera_shake_kernel

    sharp = np.random.default_rng(0).uniform(size=(64, 64, 3))
    blurry = blur_image(sharp, camera_shake_kernel(15, rng=0))
    ```
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 2:
        raise ValueError(
            "`kernel` must be a 2-D array (kh, kw). "
            f"Received: kernel with shape {kernel.shape}"
        )
    return _blur_with_kernels(image, kernel[None])[0]


def _blur_with_kernels(image, kernels):
    """Blurs one image with each of several same-shape kernels.

    The padded image is transformed once and multiplied by each kernel's
    transform, so K kernels cost one forward FFT and K inverse FFTs.
    """
    image = as_image(image)
    squeeze = image.ndim == 2
    if squeeze:
        image = image[:, :, None]
    height, width = image.shape[:2]
    kernel_height, kernel_width = kernels.shape[1:]
    top = kernel_height - 1 - kernel_height // 2
    left = kernel_width - 1 - kernel_width // 2
    # Channels first, so that both FFT axes are contiguous in memory.
    padded = np.pad(
        np.moveaxis(image, -1, 0),
        ((0, 0), (top, kernel_height // 2), (left, kernel_width // 2)),
        mode="reflect",
    )
    fft_shape = (
        next_fast_length(padded.shape[1]),
        next_fast_length(padded.shape[2]),
    )
    image_spectrum = np.fft.rfft2(padded, s=fft_shape)
    blurred = []
    for kernel in kernels.astype("float32"):
        kernel_spectrum = np.fft.rfft2(kernel, s=fft_shape)
        full = np.fft.irfft2(image_spectrum * kernel_spectrum, s=fft_shape)
        valid = full[
            :,
            kernel_height - 1 : kernel_height - 1 + height,
            kernel_width - 1 : kernel_width - 1 + width,
        ]
        valid = np.ascontiguousarray(np.moveaxis(valid, 0, -1), dtype="float32")
        blurred.append(valid[:, :, 0] if squeeze else valid)
    return blurred


def next_fast_length(length):
    """The smallest 2^a 3^b 5^c >= length (fast sizes for the FFT)."""
    best = 2 ** int(np.ceil(np.log2(length)))
    power5 = 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            candidate = power35
            while candidate < length:
                candidate *= 2
            best = min(best, candidate)
            power35 *= 3
        power5 *= 5
    return best


# --------------------------------------------------------------------------
# Non-uniform blur
# --------------------------------------------------------------------------


def nonuniform_blur(
    image,
    rng=None,
    *,
    mode="smooth",
    kernel_size=31,
    num_kernels=(2, 4),
    mask_grid=(2, 4),
    mask_sharpness=4.0,
    object_scale=(0.2, 0.4),
    object_length=(0.5, 1.0),
    background_length=(0.05, 0.5),
    return_details=False,
):
    """A spatially varying motion blur.

    Two models of why blur changes across a photo:

    - `mode="smooth"`: the blur of the camera varies smoothly over the frame
      (rotation, depth). `K` camera-shake kernels of deliberately different
      lengths (stratified over `[0.05, 1] * (kernel_size - 1)`) are applied
      to the whole image, and the results are blended per pixel by `K` smooth
      random masks that sum to 1 at every pixel: a softmax, with temperature
      `1 / mask_sharpness`, of `K` Gaussian random fields drawn on a coarse
      grid (`mask_grid` cells across the short side) and upsampled bicubically.
    - `mode="object"`: an object moves differently from the background. A
      random smooth-edged blob (an ellipse with a wobbly, feathered outline)
      is blurred by a long linear motion (`object_length * kernel_size`
      pixels, any direction), the background by a shorter camera shake
      (`background_length * (kernel_size - 1)` pixels of path). They are
      composited as moving layers: the object's colour and
      its mask are blurred by the object's kernel, so its outline smears over
      the background, `blurry = k_obj * (m x) + (1 - k_obj * m) (k_bg * x)`.

    Args:
        image: float array `(H, W)` or `(H, W, C)` in `[0, 1]`.
        rng: `numpy.random.Generator`, int seed or `None`.
        mode: str. `"smooth"` or `"object"`. Defaults to `"smooth"`.
        kernel_size: int. Size of every kernel, odd, >= 3. Defaults to `31`.
        num_kernels: int or `(low, high)` ints. Number of kernels blended in
            `"smooth"` mode, drawn uniformly in the range. Defaults to
            `(2, 4)`.
        mask_grid: int or `(low, high)` ints. Cells of the coarse random grid
            along the short side (`"smooth"` mode); more cells, smaller
            regions. Defaults to `(2, 4)`.
        mask_sharpness: float. Softmax gain of the masks (`"smooth"` mode);
            larger gives more distinct regions. Defaults to `4.0`.
        object_scale: `(low, high)` floats. Semi-axes of the object as a
            fraction of the short side (`"object"` mode). Defaults to
            `(0.2, 0.4)`.
        object_length: `(low, high)` floats in `[0, 1]`. Length of the
            object's linear motion as a fraction of `kernel_size` (`"object"`
            mode). Defaults to `(0.5, 1.0)`.
        background_length: `(low, high)` floats in `[0, 1]`. Path length of
            the background's camera shake as a fraction of `kernel_size - 1`
            (`"object"` mode); `(0, 0)` keeps the background sharp. Defaults
            to `(0.05, 0.5)`.
        return_details: bool. Also return the masks and kernels. Defaults to
            `False`.

    Returns:
        The float32 blurry image, the input's shape. With
        `return_details=True`, a tuple `(blurry, masks, kernels)`: `masks` is
        `(H, W, K)` and sums to 1 per pixel (in `"object"` mode `K = 2`: the
        background's weight, then the blurred object mask), `kernels` is
        `(K, kernel_size, kernel_size)`.

    Example:

    ```python
    import numpy as np
    from keras_attn_deblur.data import nonuniform_blur

    sharp = np.random.default_rng(0).uniform(size=(128, 128, 3))
    blurry = nonuniform_blur(sharp, rng=0, mode="object", kernel_size=21)
    ```
    """
    check_choice("mode", mode, _NONUNIFORM_MODES)
    check_odd_size("kernel_size", kernel_size, minimum=3)
    num_kernels = check_range("num_kernels", num_kernels, minimum=1, integer=True)
    mask_grid = check_range("mask_grid", mask_grid, minimum=1, integer=True)
    check_number("mask_sharpness", mask_sharpness, minimum=0.0)
    object_scale = check_range("object_scale", object_scale, minimum=0.0)
    if object_scale[0] <= 0.0:
        raise ValueError(
            f"`object_scale` must be positive. Received: object_scale={object_scale}"
        )
    object_length = check_range(
        "object_length", object_length, minimum=0.0, maximum=1.0
    )
    background_length = check_range(
        "background_length", background_length, minimum=0.0, maximum=1.0
    )
    image = as_image(image)
    rng = as_generator(rng)
    if mode == "smooth":
        blurry, masks, kernels = _smooth_mixture_blur(
            image, rng, kernel_size, num_kernels, mask_grid, mask_sharpness
        )
    else:
        blurry, masks, kernels = _object_motion_blur(
            image, rng, kernel_size, object_scale, object_length, background_length
        )
    if return_details:
        return blurry, masks, kernels
    return blurry


def _smooth_mixture_blur(image, rng, kernel_size, num_kernels, mask_grid, sharpness):
    count = int(rng.integers(num_kernels[0], num_kernels[1] + 1))
    # Stratified lengths so that the regions really differ in blur size.
    strata = (np.arange(count) + rng.random(count)) / count
    lengths = (0.05 + 0.95 * rng.permutation(strata)) * (kernel_size - 1)
    kernels = np.stack(
        [
            camera_shake_kernel(kernel_size, rng, max_length=max(length, 0.5))
            for length in lengths
        ]
    )
    height, width = image.shape[:2]
    cells = int(rng.integers(mask_grid[0], mask_grid[1] + 1))
    fields = np.stack(
        [_smooth_random_field(height, width, cells, rng) for _ in range(count)],
        axis=-1,
    )
    logits = sharpness * fields
    logits -= logits.max(axis=-1, keepdims=True)
    masks = np.exp(logits)
    masks /= masks.sum(axis=-1, keepdims=True)
    masks = masks.astype("float32")
    blurred = _blur_with_kernels(image, kernels)
    blurry = np.zeros_like(blurred[0])
    for index, layer in enumerate(blurred):
        weight = masks[:, :, index]
        blurry += layer * (weight[:, :, None] if layer.ndim == 3 else weight)
    return blurry, masks, kernels


def _object_motion_blur(
    image, rng, kernel_size, object_scale, object_length, background_length
):
    height, width = image.shape[:2]
    background_kernel = camera_shake_kernel(
        kernel_size,
        rng,
        max_length=max(rng.uniform(*background_length) * (kernel_size - 1), 1e-3),
    )
    object_kernel = linear_motion_kernel(
        kernel_size,
        length=max(rng.uniform(*object_length) * kernel_size, 1.0),
        angle=rng.uniform(0.0, 180.0),
    )
    mask = _random_blob_mask(height, width, object_scale, rng)
    channels = image[:, :, None] if image.ndim == 2 else image
    layer = np.concatenate([channels * mask[:, :, None], mask[:, :, None]], axis=-1)
    blurred_layer = _blur_with_kernels(layer, object_kernel[None])[0]
    blurred_background = _blur_with_kernels(channels, background_kernel[None])[0]
    object_weight = np.clip(blurred_layer[:, :, -1:], 0.0, 1.0)
    blurry = blurred_layer[:, :, :-1] + (1.0 - object_weight) * blurred_background
    if image.ndim == 2:
        blurry = blurry[:, :, 0]
    masks = np.concatenate([1.0 - object_weight, object_weight], axis=-1)
    kernels = np.stack([background_kernel, object_kernel])
    return blurry.astype("float32"), masks.astype("float32"), kernels


def _smooth_random_field(height, width, cells, rng):
    """A zero-mean, unit-variance Gaussian field, smooth at `cells` per side."""
    short = min(height, width)
    grid_height = max(2, int(round(cells * height / short)) + 1)
    grid_width = max(2, int(round(cells * width / short)) + 1)
    coarse = rng.standard_normal((grid_height, grid_width)).astype("float32")
    field = Image.fromarray(coarse, mode="F").resize((width, height), Image.BICUBIC)
    field = np.asarray(field, dtype="float32")
    return (field - field.mean()) / (field.std() + 1e-6)


def _random_blob_mask(height, width, object_scale, rng):
    """A feathered ellipse with a wobbly outline, values in [0, 1]."""
    short = min(height, width)
    centre_row = rng.uniform(0.3, 0.7) * height
    centre_col = rng.uniform(0.3, 0.7) * width
    semi_axes = rng.uniform(object_scale[0], object_scale[1], size=2) * short
    rotation = rng.uniform(0.0, np.pi)
    rows, cols = np.mgrid[0:height, 0:width].astype("float32")
    rows -= centre_row
    cols -= centre_col
    along = cols * np.cos(rotation) + rows * np.sin(rotation)
    across = -cols * np.sin(rotation) + rows * np.cos(rotation)
    radius = np.sqrt((along / semi_axes[0]) ** 2 + (across / semi_axes[1]) ** 2)
    theta = np.arctan2(across, along)
    outline = np.ones_like(theta)
    for harmonic in (2, 3, 4):
        outline += rng.uniform(0.0, 0.12) * np.cos(
            harmonic * theta + rng.uniform(0.0, 2 * np.pi)
        )
    feather = 0.04
    distance = np.clip((radius / outline - 1.0) / feather, -50.0, 50.0)
    return (1.0 / (1.0 + np.exp(distance))).astype("float32")
