"""Synthetic motion blur and frame averaging, in NumPy (no TensorFlow).

Two ways to make (blurry, sharp) training pairs when only sharp images or a
high-frame-rate video are at hand:

1. **Synthetic blur of a sharp photo** (`SyntheticMotionBlur`, and the
   functions it is built from):
   - `camera_shake_kernel`: a hand-shake trajectory after Boracchi and Foi
     (2012), the model DeblurGAN's `Trajectory`/`PSF` classes implement: a
     random walk with inertia, a pull back to the start, Gaussian jitter and
     rare impulsive shakes, of random length and curvature. It is rasterised
     with sub-pixel (bilinear) accumulation and centred on its centre of mass.
   - `linear_motion_kernel`: a straight, sub-pixel line.
   - `blur_image`: FFT convolution with reflect padding.
   - `nonuniform_blur`: several kernels blended over smooth random masks, or
     an object moving differently from the background.
   - `apply_crf` / `inverse_crf`, `add_gaussian_noise`, `add_poisson_noise`,
     `jpeg_compress`: the camera pipeline around the blur.
2. **Frame averaging** (`average_frames`, `frame_averaged_pairs`): the way the
   GoPro dataset was made (Nah et al., 2017), averaging 7 to 13 consecutive
   240 fps frames; the sharp target is the middle frame.

Every random function takes a `numpy.random.Generator` or an integer seed, so
the same seed always gives the same result. Images are float arrays in
`[0, 1]`, shape `(H, W, C)` or `(H, W)`; results are float32. The only
dependencies are NumPy and Pillow.

References:
- G. Boracchi and A. Foi, "Modeling the performance of image restoration from
  motion blur", IEEE Transactions on Image Processing 21(8), 2012.
- O. Kupyn et al., "DeblurGAN: Blind motion deblurring using conditional
  adversarial networks", CVPR 2018 (`motion_blur/generate_trajectory.py`).
- S. Nah, T. H. Kim and K. M. Lee, "Deep multi-scale convolutional neural
  network for dynamic scene deblurring", CVPR 2017 (the GoPro dataset).
"""

import io
import numbers
import os

import numpy as np
from PIL import Image

from keras_attn_deblur.io.decode import load_image

_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
_NONUNIFORM_MODES = ("smooth", "object")
_AVERAGING_SPACES = ("linear", "gamma")


# --------------------------------------------------------------------------
# Blur kernels
# --------------------------------------------------------------------------


def camera_shake_kernel(
    size,
    rng=None,
    *,
    max_length=None,
    anxiety=None,
    num_steps=2000,
):
    """A random camera-shake blur kernel (Boracchi and Foi, 2012).

    The camera path is a random walk of `num_steps` steps of equal length
    (`max_length / (num_steps - 1)`), so the path is exactly `max_length`
    pixels long. At each step the velocity changes by Gaussian jitter, a pull
    back towards the starting point (the hand returns to where it aimed), and,
    rarely, an impulsive shake that reverses the direction. `anxiety` scales
    all three: about `0.0005` gives a nearly straight stroke, `0.003` a
    smooth curve, `0.01` loops, and `0.02` or more a tangled ball. The
    strength of each term is drawn at random per kernel, as in Boracchi and
    Foi's `createTrajectory.m` and DeblurGAN's `Trajectory` (whose training
    data used `anxiety` between `0.003` and `0.01`).

    The path is then drawn into the kernel with bilinear (sub-pixel)
    accumulation, every step carrying the same weight (constant exposure), and
    translated so that the kernel's centre of mass is exactly at its centre
    pixel `(size // 2, size // 2)`: the blur does not shift the image. A path
    that does not fit in the kernel is shrunk about its centre of mass until
    it does.

    Args:
        size: int. Width and height of the (square) kernel, odd, >= 3.
        rng: `numpy.random.Generator`, int seed or `None` (fresh entropy).
        max_length: float. Length of the camera path in pixels, > 0. Defaults
            to `None`: drawn uniformly in `[0.25, 1] * (size - 1)`.
        anxiety: float. Amount of jitter and shake, in `[0, 1]`. Defaults to
            `None`: drawn log-uniformly in `[0.0005, 0.01]`, from straight
            strokes to loops.
        num_steps: int. Number of steps of the random walk, >= 2. Defaults to
            `2000` (Boracchi and Foi's value; the curvature statistics depend
            on it).

    Returns:
        A float32 array of shape `(size, size)`, non-negative, summing to 1.

    Example:

    ```python
    from keras_attn_deblur.data import camera_shake_kernel

    kernel = camera_shake_kernel(31, rng=0)  # (31, 31), sums to 1
    ```
    """
    _check_odd_size("size", size, minimum=3)
    if max_length is not None:
        _check_number("max_length", max_length, minimum=0.0, inclusive=False)
    if anxiety is not None:
        _check_number("anxiety", anxiety, minimum=0.0, maximum=1.0)
    if not _is_integer(num_steps) or num_steps < 2:
        raise ValueError(
            f"`num_steps` must be an integer >= 2. Received: num_steps={num_steps}"
        )
    rng = _as_generator(rng)
    if max_length is None:
        max_length = rng.uniform(0.25, 1.0) * (size - 1)
    if anxiety is None:
        anxiety = np.exp(rng.uniform(np.log(0.0005), np.log(0.01)))
    path = _shake_trajectory(rng, float(max_length), float(anxiety), int(num_steps))
    return _rasterize_path(path, size)


def linear_motion_kernel(size, length, angle):
    """A straight-line motion blur kernel, drawn with sub-pixel accuracy.

    The line is centred on the kernel's centre pixel and its end points are
    `(length - 1) / 2` pixels away on either side, so that a horizontal or
    vertical line of odd integer `length` covers exactly `length` pixels,
    `[0.5, 1, ..., 1, 0.5] / (length - 1)`: the exact bilinear drawing of a
    motion of `length - 1` pixels. `length=1` is the identity kernel. The
    line is sampled every 1/8 pixel (trapezoidal weights) and each sample is
    spread over its four neighbouring pixels with bilinear weights.

    Args:
        size: int. Width and height of the (square) kernel, odd, >= 1.
        length: float. Number of pixels the line covers, in `[1, size]`.
        angle: float. Direction of the motion in degrees, counter-clockwise
            from the horizontal (image rows grow downwards).

    Returns:
        A float32 array of shape `(size, size)`, non-negative, summing to 1.

    Example:

    ```python
    from keras_attn_deblur.data import linear_motion_kernel

    kernel = linear_motion_kernel(15, length=9, angle=30.0)
    ```
    """
    _check_odd_size("size", size, minimum=1)
    _check_number("length", length, minimum=1.0, maximum=float(size))
    _check_number("angle", angle)
    half = (float(length) - 1.0) / 2.0
    num_samples = max(2, int(np.ceil(8 * (length - 1))) + 1)
    offsets = np.linspace(-half, half, num_samples)
    radians = np.deg2rad(float(angle))
    path = offsets * np.cos(radians) - 1j * offsets * np.sin(radians)
    # Trapezoidal weights: the samples integrate the continuous line exactly.
    weights = np.ones(num_samples)
    weights[[0, -1]] = 0.5
    return _rasterize_path(path, size, weights)


def kernel_bank(count, size=41, rng=None, *, kernel_size=(11, 41), linear_probability=0.25):
    """A stack of random motion-blur kernels, for blurring on an accelerator.

    Kernels are drawn on the host once, with the generators of this module,
    and then sampled per training example on the device (see
    `keras_attn_deblur.data.PairSynthesizer`). Each kernel is a
    `camera_shake_kernel` (probability `1 - linear_probability`) or a
    `linear_motion_kernel` of a random length (half to all of its size) and
    direction, of an odd size drawn from `kernel_size`, zero-padded, centred,
    to `size` x `size`; so the centre of mass of every kernel is the centre
    pixel and a stack of them blurs without shifting the image.

    Args:
        count: int. Number of kernels, >= 1.
        size: int. Side of every kernel in the stack, odd, >= 3. Defaults to
            `41`.
        rng: `numpy.random.Generator`, int seed or `None`.
        kernel_size: int or `(low, high)` ints. Size of each drawn kernel
            before padding (even draws are rounded up to odd), at most
            `size`. Defaults to `(11, 41)`.
        linear_probability: float in `[0, 1]`. Share of straight-line kernels.
            Defaults to `0.25`.

    Returns:
        A float32 array `(count, size, size)`; every kernel sums to 1.

    Example:

    ```python
    from keras_attn_deblur.data import kernel_bank

    kernels = kernel_bank(256, size=31, rng=0, kernel_size=(9, 31))
    ```
    """
    if not _is_integer(count) or count < 1:
        raise ValueError(f"`count` must be a positive integer. Received: count={count!r}")
    _check_odd_size("size", size, minimum=3)
    low, high = _check_range("kernel_size", kernel_size, minimum=3, maximum=size, integer=True)
    _check_probability("linear_probability", linear_probability)
    rng = _as_generator(rng)
    bank = np.zeros((count, size, size), dtype="float32")
    for index in range(count):
        drawn = int(rng.integers(low, high + 1))
        drawn = min(drawn + 1 - drawn % 2, size)
        if rng.random() < linear_probability:
            kernel = linear_motion_kernel(
                drawn, length=rng.uniform(0.5, 1.0) * drawn, angle=rng.uniform(0.0, 180.0)
            )
        else:
            kernel = camera_shake_kernel(drawn, rng)
        offset = (size - drawn) // 2
        bank[index, offset : offset + drawn, offset : offset + drawn] = kernel
    return bank


def _shake_trajectory(rng, max_length, anxiety, num_steps):
    """The Boracchi-Foi random walk, as complex positions (x + i y)."""
    centripetal = 0.7 * rng.random()
    prob_big_shake = 0.2 * rng.random()
    gaussian_shake = 10.0 * rng.random()
    init_angle = 2.0 * np.pi * rng.random()
    num_moves = num_steps - 1
    step = max_length / num_moves
    big_shake = (rng.random(num_moves) < prob_big_shake * anxiety).tolist()
    shake_angles = (np.pi + rng.random(num_moves) - 0.5).tolist()
    jitter = rng.standard_normal((num_moves, 2))
    jitter = (jitter[:, 0] + 1j * jitter[:, 1]).tolist()

    velocity = complex(np.cos(init_angle), np.sin(init_angle)) * step
    position = 0j
    path = [position]
    drift = anxiety * step
    for move in range(num_moves):
        change = drift * (gaussian_shake * jitter[move] - centripetal * position)
        if big_shake[move]:
            change += (
                2.0
                * velocity
                * complex(np.cos(shake_angles[move]), np.sin(shake_angles[move]))
            )
        velocity += change
        magnitude = abs(velocity)
        if magnitude > 0.0:
            velocity *= step / magnitude
        position += velocity
        path.append(position)
    return np.asarray(path)


def _rasterize_path(path, size, weights=None):
    """Bilinear accumulation of weighted points, centred and fitted.

    Bilinear splatting preserves the (weighted) mean position, so translating
    the points to a mean of `centre` puts the kernel's centre of mass at
    `centre`.
    """
    centre = (size - 1) / 2.0
    if weights is None:
        weights = np.ones(len(path))
    weights = weights / weights.sum()
    cols = path.real - np.dot(weights, path.real)
    rows = path.imag - np.dot(weights, path.imag)
    extent = max(np.abs(cols).max(), np.abs(rows).max())
    if extent > centre:
        cols = cols * (centre / extent)
        rows = rows * (centre / extent)
    cols = np.clip(cols + centre, 0.0, size - 1.0)
    rows = np.clip(rows + centre, 0.0, size - 1.0)
    if size == 1:
        return np.ones((1, 1), dtype="float32")
    col0 = np.minimum(np.floor(cols), size - 2).astype("int64")
    row0 = np.minimum(np.floor(rows), size - 2).astype("int64")
    d_col = cols - col0
    d_row = rows - row0
    index = row0 * size + col0
    cells = size * size
    kernel = (
        np.bincount(index, weights * (1 - d_row) * (1 - d_col), minlength=cells)
        + np.bincount(index + 1, weights * (1 - d_row) * d_col, minlength=cells)
        + np.bincount(index + size, weights * d_row * (1 - d_col), minlength=cells)
        + np.bincount(index + size + 1, weights * d_row * d_col, minlength=cells)
    )
    kernel = kernel.reshape(size, size)
    return (kernel / kernel.sum()).astype("float32")


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
    image = _as_image(image)
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
        _next_fast_length(padded.shape[1]),
        _next_fast_length(padded.shape[2]),
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


def _next_fast_length(length):
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
    if mode not in _NONUNIFORM_MODES:
        raise ValueError(
            f"`mode` must be one of {_NONUNIFORM_MODES}. Received: mode={mode!r}"
        )
    _check_odd_size("kernel_size", kernel_size, minimum=3)
    num_kernels = _check_range("num_kernels", num_kernels, minimum=1, integer=True)
    mask_grid = _check_range("mask_grid", mask_grid, minimum=1, integer=True)
    _check_number("mask_sharpness", mask_sharpness, minimum=0.0)
    object_scale = _check_range("object_scale", object_scale, minimum=0.0)
    if object_scale[0] <= 0.0:
        raise ValueError(
            f"`object_scale` must be positive. Received: object_scale={object_scale}"
        )
    object_length = _check_range(
        "object_length", object_length, minimum=0.0, maximum=1.0
    )
    background_length = _check_range(
        "background_length", background_length, minimum=0.0, maximum=1.0
    )
    image = _as_image(image)
    rng = _as_generator(rng)
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


# --------------------------------------------------------------------------
# Camera response, noise and compression
# --------------------------------------------------------------------------


def apply_crf(image, gamma=2.2):
    """Linear light to display values with a gamma camera response.

    `display = linear ** (1 / gamma)`; negative values are clipped to 0 first.
    The inverse of `inverse_crf`. A gamma of 2.2 is the CRF approximation the
    GoPro dataset used for its `blur_gamma` images.

    Args:
        image: float array in `[0, 1]`, linear light.
        gamma: float. The gamma, > 0. Defaults to `2.2`.

    Returns:
        A float32 array of the same shape.
    """
    _check_number("gamma", gamma, minimum=0.0, inclusive=False)
    return np.power(np.maximum(_as_float(image), 0.0), 1.0 / gamma).astype("float32")


def inverse_crf(image, gamma=2.2):
    """Display values to linear light: `linear = display ** gamma`.

    Args:
        image: float array in `[0, 1]`, display (gamma-encoded) values.
        gamma: float. The gamma, > 0. Defaults to `2.2`.

    Returns:
        A float32 array of the same shape.
    """
    _check_number("gamma", gamma, minimum=0.0, inclusive=False)
    return np.power(np.maximum(_as_float(image), 0.0), gamma).astype("float32")


def add_gaussian_noise(image, sigma, rng=None):
    """Adds white Gaussian noise of standard deviation `sigma` (not clipped).

    Args:
        image: float array.
        sigma: float. Standard deviation in the image's units, >= 0.
        rng: `numpy.random.Generator`, int seed or `None`.

    Returns:
        A float32 array of the same shape.
    """
    _check_number("sigma", sigma, minimum=0.0)
    image = _as_float(image)
    rng = _as_generator(rng)
    noise = rng.standard_normal(image.shape, dtype="float32") * np.float32(sigma)
    return image + noise


def add_poisson_noise(image, photons, rng=None):
    """Photon shot noise: `poisson(image * photons) / photons`.

    A pixel of value 1 collects `photons` photons on average, so the noise
    standard deviation at value `v` is `sqrt(v / photons)`.

    Args:
        image: float array in `[0, 1]` (negative values count as 0).
        photons: float. Mean photon count at full scale, > 0.
        rng: `numpy.random.Generator`, int seed or `None`.

    Returns:
        A float32 array of the same shape.
    """
    _check_number("photons", photons, minimum=0.0, inclusive=False)
    image = _as_float(image)
    rng = _as_generator(rng)
    counts = rng.poisson(np.maximum(image, 0.0).astype("float64") * photons)
    return (counts / photons).astype("float32")


def jpeg_compress(image, quality=(60, 95), rng=None):
    """Round-trips an image through Pillow's JPEG encoder.

    The image is clipped to `[0, 1]` and quantised to 8 bits first. Pillow's
    encoder is deterministic, so the result depends only on the image and the
    quality.

    Args:
        image: float array `(H, W)`, `(H, W, 1)` or `(H, W, 3)` in `[0, 1]`.
        quality: int or `(low, high)` ints in `[1, 100]`. The JPEG quality,
            or the range it is drawn from uniformly. Defaults to `(60, 95)`.
        rng: `numpy.random.Generator`, int seed or `None`, used when
            `quality` is a range.

    Returns:
        A float32 array of the same shape, in `[0, 1]`.
    """
    low, high = _check_range("quality", quality, minimum=1, maximum=100, integer=True)
    image = _as_image(image)
    if image.ndim == 3 and image.shape[-1] not in (1, 3):
        raise ValueError(
            "`image` must have 1 or 3 channels for JPEG. "
            f"Received: image with shape {image.shape}"
        )
    value = low if low == high else int(_as_generator(rng).integers(low, high + 1))
    pixels = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype("uint8")
    channel_axis = pixels.ndim == 3 and pixels.shape[-1] == 1
    buffer = io.BytesIO()
    Image.fromarray(pixels[:, :, 0] if channel_axis else pixels).save(
        buffer, format="JPEG", quality=value
    )
    buffer.seek(0)
    decoded = np.asarray(Image.open(buffer), dtype="float32") / 255.0
    return decoded[:, :, None] if channel_axis else decoded


# --------------------------------------------------------------------------
# The configurable pipeline
# --------------------------------------------------------------------------


class SyntheticMotionBlur:
    """Turns a sharp image into a realistically blurred one.

    One call draws, from `rng`:

    1. a kernel size in `kernel_size` (odd);
    2. whether to blur in linear light (`linear_light_probability`): the image
       is linearised with `inverse_crf`, blurred, and gamma-encoded again, as
       light really adds up on the sensor;
    3. the blur: with probability `nonuniform_probability` a spatially varying
       one (`nonuniform_blur`: an object moving over a shaking background with
       probability `object_probability`, otherwise several camera-shake
       kernels over smooth masks), else one camera-shake kernel
       (`camera_shake_kernel`) for the whole image;
    4. shot noise (`add_poisson_noise`, probability `poisson_probability`, a
       photon count in `photons`) and Gaussian noise of a standard deviation in
       `noise_sigma`, then clipping to `[0, 1]`;
    5. JPEG re-compression (`jpeg_compress`, probability `jpeg_probability`,
       a quality in `jpeg_quality`).

    Ranges are `(low, high)` tuples drawn uniformly; a single number fixes
    the value. The same seed always gives the same blurry image.

    Args:
        kernel_size: int or `(low, high)` ints. Blur kernel size in pixels;
            even draws are rounded up to odd. Defaults to `(11, 41)`.
        nonuniform_probability: float in `[0, 1]`. Probability of a spatially
            varying blur. Defaults to `0.5`.
        object_probability: float in `[0, 1]`. Given a spatially varying
            blur, the probability that it is a moving object rather than
            smoothly varying camera shake. Defaults to `0.5`.
        num_kernels: int or `(low, high)` ints. Kernels blended in the smooth
            non-uniform mode. Defaults to `(2, 4)`.
        linear_light_probability: float in `[0, 1]`. Probability of blurring
            in linear light. Defaults to `0.5`.
        gamma: float. Gamma of the camera response. Defaults to `2.2`.
        noise_sigma: float or `(low, high)` floats. Standard deviation of the
            Gaussian noise, in `[0, 1]` units. Defaults to `(0.0, 0.02)`.
        poisson_probability: float in `[0, 1]`. Probability of shot noise.
            Defaults to `0.3`.
        photons: float or `(low, high)` floats. Photon count at full scale
            for the shot noise. Defaults to `(300.0, 3000.0)`.
        jpeg_probability: float in `[0, 1]`. Probability of JPEG
            re-compression. Defaults to `0.3`.
        jpeg_quality: int or `(low, high)` ints in `[1, 100]`. Defaults to
            `(60, 95)`.

    Example:

    ```python
    import numpy as np
    from keras_attn_deblur.data import SyntheticMotionBlur

    make_blurry = SyntheticMotionBlur(kernel_size=(9, 25), jpeg_probability=0.0)
    sharp = np.random.default_rng(0).uniform(size=(256, 256, 3)).astype("float32")
    blurry = make_blurry(sharp, rng=np.random.default_rng(1))
    ```

    References: Boracchi and Foi (2012) for the camera-shake trajectories;
    DeblurGAN (Kupyn et al., 2018) for their use as training data.
    """

    def __init__(
        self,
        kernel_size=(11, 41),
        nonuniform_probability=0.5,
        object_probability=0.5,
        num_kernels=(2, 4),
        linear_light_probability=0.5,
        gamma=2.2,
        noise_sigma=(0.0, 0.02),
        poisson_probability=0.3,
        photons=(300.0, 3000.0),
        jpeg_probability=0.3,
        jpeg_quality=(60, 95),
    ):
        self.kernel_size = _check_range(
            "kernel_size", kernel_size, minimum=3, integer=True
        )
        self.nonuniform_probability = _check_probability(
            "nonuniform_probability", nonuniform_probability
        )
        self.object_probability = _check_probability(
            "object_probability", object_probability
        )
        self.num_kernels = _check_range(
            "num_kernels", num_kernels, minimum=1, integer=True
        )
        self.linear_light_probability = _check_probability(
            "linear_light_probability", linear_light_probability
        )
        _check_number("gamma", gamma, minimum=0.0, inclusive=False)
        self.gamma = float(gamma)
        self.noise_sigma = _check_range("noise_sigma", noise_sigma, minimum=0.0)
        self.poisson_probability = _check_probability(
            "poisson_probability", poisson_probability
        )
        self.photons = _check_range("photons", photons, minimum=0.0)
        if self.photons[0] <= 0.0:
            raise ValueError(f"`photons` must be positive. Received: photons={photons}")
        self.jpeg_probability = _check_probability("jpeg_probability", jpeg_probability)
        self.jpeg_quality = _check_range(
            "jpeg_quality", jpeg_quality, minimum=1, maximum=100, integer=True
        )

    def __call__(self, sharp, rng=None):
        """Blurs `sharp`, a float `(H, W, C)` or `(H, W)` image in `[0, 1]`.

        Args:
            sharp: float array in `[0, 1]`.
            rng: `numpy.random.Generator`, int seed or `None`.

        Returns:
            The float32 blurry image, the same shape, clipped to `[0, 1]`.
        """
        sharp = _as_image(sharp)
        rng = _as_generator(rng)
        size = int(rng.integers(self.kernel_size[0], self.kernel_size[1] + 1))
        size += 1 - size % 2
        linear_light = rng.random() < self.linear_light_probability
        image = inverse_crf(sharp, self.gamma) if linear_light else sharp
        if rng.random() < self.nonuniform_probability:
            mode = "object" if rng.random() < self.object_probability else "smooth"
            blurry = nonuniform_blur(
                image, rng, mode=mode, kernel_size=size, num_kernels=self.num_kernels
            )
        else:
            blurry = blur_image(image, camera_shake_kernel(size, rng))
        if linear_light:
            blurry = apply_crf(blurry, self.gamma)
        if rng.random() < self.poisson_probability:
            blurry = add_poisson_noise(blurry, rng.uniform(*self.photons), rng)
        sigma = rng.uniform(*self.noise_sigma)
        if sigma > 0:
            blurry = add_gaussian_noise(blurry, sigma, rng)
        blurry = np.clip(blurry, 0.0, 1.0)
        if rng.random() < self.jpeg_probability:
            blurry = jpeg_compress(blurry, self.jpeg_quality, rng)
        return blurry.astype("float32")

    def get_config(self):
        return {
            "kernel_size": self.kernel_size,
            "nonuniform_probability": self.nonuniform_probability,
            "object_probability": self.object_probability,
            "num_kernels": self.num_kernels,
            "linear_light_probability": self.linear_light_probability,
            "gamma": self.gamma,
            "noise_sigma": self.noise_sigma,
            "poisson_probability": self.poisson_probability,
            "photons": self.photons,
            "jpeg_probability": self.jpeg_probability,
            "jpeg_quality": self.jpeg_quality,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        arguments = ", ".join(
            f"{name}={value!r}" for name, value in self.get_config().items()
        )
        return f"{type(self).__name__}({arguments})"


# --------------------------------------------------------------------------
# Frame averaging (how the GoPro dataset was made)
# --------------------------------------------------------------------------


def average_frames(frames, space="gamma", gamma=2.2):
    """Averages consecutive video frames into one motion-blurred image.

    A long exposure collects the light of every instant, so a blurry image is
    the mean of the sharp frames seen during the exposure. The frames are
    stored through the camera response (gamma-encoded), hence two choices,
    the two blur folders of the GoPro dataset:

    - `space="linear"`: assume a linear camera response and take the plain
      mean of the stored values. This is GoPro_Large's `blur/` folder, the one
      papers train and evaluate on.
    - `space="gamma"`: assume a gamma-`gamma` response: linearise
      (`x ** gamma`), take the mean, and re-encode (`** (1 / gamma)`). This is
      GoPro_Large's `blur_gamma/` folder ("blurred images generated with gamma
      correction", gamma 2.2 per Nah et al.); it is the physically closer
      model, with brighter streaks from highlights.

    Args:
        frames: a sequence of float arrays of one shape, or one array
            `(N, H, W, C)`, values in `[0, 1]`.
        space: str. `"linear"` or `"gamma"`, as above. Defaults to `"gamma"`.
        gamma: float. The camera-response gamma for `space="gamma"`.
            Defaults to `2.2`.

    Returns:
        A float32 array of one frame's shape.

    Example:

    ```python
    import numpy as np
    from keras_attn_deblur.data import average_frames

    dark, bright = np.zeros((4, 4, 3)), np.ones((4, 4, 3))
    average_frames([dark, bright], space="linear")  # 0.5 everywhere
    average_frames([dark, bright], space="gamma")   # 0.5 ** (1 / 2.2) = 0.73
    ```
    """
    if space not in _AVERAGING_SPACES:
        raise ValueError(
            f"`space` must be one of {_AVERAGING_SPACES}. Received: space={space!r}"
        )
    _check_number("gamma", gamma, minimum=0.0, inclusive=False)
    if len(frames) == 0:
        raise ValueError(
            "`frames` must contain at least one frame. Received: frames=[]"
        )
    shape = np.shape(frames[0])
    total = np.zeros(shape, dtype="float64")
    for index, frame in enumerate(frames):
        frame = np.asarray(frame, dtype="float64")
        if frame.shape != shape:
            raise ValueError(
                "All frames must have the same shape. Received: frame 0 with "
                f"shape {shape} and frame {index} with shape {frame.shape}"
            )
        total += np.power(np.maximum(frame, 0.0), gamma) if space == "gamma" else frame
    mean = total / len(frames)
    if space == "gamma":
        mean = np.power(mean, 1.0 / gamma)
    return mean.astype("float32")


def frame_averaged_pairs(
    frame_paths,
    *,
    frames_per_pair=(7, 13),
    stride=None,
    space="gamma",
    gamma=2.2,
    rng=None,
):
    """Yields (blurry, sharp, name) pairs made from consecutive video frames.

    The frames are taken in the given order in windows of an odd number of
    consecutive frames, drawn from `frames_per_pair` for each pair (GoPro used
    7 to 13 frames of 240 fps video). The blurry image is `average_frames` of
    the window, the sharp image is its middle frame, and `name` is the middle
    frame's file name without extension. Windows do not overlap by default.
    A last window that would run past the final frame is dropped.

    Args:
        frame_paths: a sequence of image paths in time order, or a directory
            whose image files (sorted by name) are the frames.
        frames_per_pair: int or `(low, high)` ints. Frames averaged per pair;
            only odd counts are used (the middle frame must exist). Defaults
            to `(7, 13)`.
        stride: int or `None`. Frames between the starts of two windows;
            `None` starts each window right after the previous one ends.
            Defaults to `None`.
        space: str. `"linear"` (GoPro's `blur/`) or `"gamma"` (GoPro's
            `blur_gamma/`); see `average_frames`. Defaults to `"gamma"`.
        gamma: float. The camera-response gamma. Defaults to `2.2`.
        rng: `numpy.random.Generator`, int seed or `None`; draws the window
            lengths. Defaults to `None`.

    Yields:
        Tuples `(blurry, sharp, name)`: two float32 `(H, W, 3)` arrays in
        `[0, 1]` and a string.

    Example:

    ```python
    from keras_attn_deblur.data import frame_averaged_pairs

    for blurry, sharp, name in frame_averaged_pairs("video_frames/", rng=0):
        ...
    ```
    """
    odd_counts = list(odd_frame_counts(frames_per_pair))
    if stride is not None and (not _is_integer(stride) or stride < 1):
        raise ValueError(
            f"`stride` must be a positive integer or None. Received: stride={stride}"
        )
    if space not in _AVERAGING_SPACES:
        raise ValueError(
            f"`space` must be one of {_AVERAGING_SPACES}. Received: space={space!r}"
        )
    frame_paths = _frame_list(frame_paths)
    rng = _as_generator(rng)
    return _frame_pair_generator(frame_paths, odd_counts, stride, space, gamma, rng)


def odd_frame_counts(frames_per_pair):
    """The odd window lengths a `frames_per_pair` int or `(low, high)` allows, as a tuple."""
    low, high = _check_range("frames_per_pair", frames_per_pair, minimum=1, integer=True)
    counts = tuple(count for count in range(low, high + 1) if count % 2 == 1)
    if not counts:
        raise ValueError(
            "`frames_per_pair` must allow an odd number of frames (the sharp "
            "target is the middle frame). "
            f"Received: frames_per_pair={frames_per_pair}"
        )
    return counts


def _frame_pair_generator(frame_paths, odd_counts, stride, space, gamma, rng):
    cache = {}
    start = 0
    while True:
        count = odd_counts[int(rng.integers(len(odd_counts)))]
        if start + count > len(frame_paths):
            return
        window = range(start, start + count)
        for index in window:
            if index not in cache:
                cache[index] = load_image(frame_paths[index])
        frames = [cache[index] for index in window]
        middle = start + count // 2
        name = os.path.splitext(os.path.basename(str(frame_paths[middle])))[0]
        yield average_frames(frames, space=space, gamma=gamma), cache[middle], name
        start += count if stride is None else stride
        for index in [index for index in cache if index < start]:
            del cache[index]


def _frame_list(frame_paths):
    if isinstance(frame_paths, (str, os.PathLike)):
        directory = os.fspath(frame_paths)
        if not os.path.isdir(directory):
            raise ValueError(
                "`frame_paths` must be a directory of frames or a list of image "
                f"paths. Received: frame_paths={directory!r}, not a directory"
            )
        frame_paths = [
            os.path.join(directory, name)
            for name in sorted(os.listdir(directory))
            if name.lower().endswith(_IMAGE_EXTENSIONS)
        ]
    frame_paths = list(frame_paths)
    if not frame_paths:
        raise ValueError(
            "`frame_paths` holds no image files; pass the frames of a video in "
            "time order. Received: frame_paths=[]"
        )
    return frame_paths


# --------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------


def _as_generator(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or _is_integer(rng):
        return np.random.default_rng(rng)
    raise ValueError(
        "`rng` must be a numpy.random.Generator, an integer seed or None. "
        f"Received: rng={rng!r}"
    )


def _as_image(image):
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(
            "`image` must have shape (H, W) or (H, W, C). "
            f"Received: image with shape {image.shape}"
        )
    return image.astype("float32", copy=False)


def _as_float(image):
    return np.asarray(image).astype("float32", copy=False)


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_odd_size(name, value, minimum):
    if not _is_integer(value) or value < minimum or value % 2 == 0:
        raise ValueError(
            f"`{name}` must be an odd integer >= {minimum}. Received: {name}={value!r}"
        )


def _check_number(name, value, minimum=None, maximum=None, inclusive=True):
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not np.isfinite(value)
    ):
        raise ValueError(
            f"`{name}` must be a finite number. Received: {name}={value!r}"
        )
    too_low = minimum is not None and (
        value < minimum or (not inclusive and value == minimum)
    )
    too_high = maximum is not None and value > maximum
    if too_low or too_high:
        bounds = (
            f"{'>=' if inclusive else '>'} {minimum}" if minimum is not None else ""
        )
        if maximum is not None:
            bounds = f"{bounds} and <= {maximum}" if bounds else f"<= {maximum}"
        raise ValueError(f"`{name}` must be {bounds}. Received: {name}={value!r}")


def _check_probability(name, value):
    _check_number(name, value, minimum=0.0, maximum=1.0)
    return float(value)


def _check_range(name, value, minimum=None, maximum=None, integer=False):
    """A number or a (low, high) pair, returned as a (low, high) tuple."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, (tuple, list)) and len(value) == 2:
        low, high = value
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        low = high = value
    else:
        raise ValueError(
            f"`{name}` must be {kind} or a (low, high) pair. Received: {name}={value!r}"
        )
    for bound in (low, high):
        valid = (
            _is_integer(bound)
            if integer
            else (isinstance(bound, numbers.Real) and not isinstance(bound, bool))
        )
        if not valid or not np.isfinite(bound):
            raise ValueError(
                f"`{name}` must be {kind} or a (low, high) pair of them. "
                f"Received: {name}={value!r}"
            )
    if low > high:
        raise ValueError(f"`{name}` must have low <= high. Received: {name}={value!r}")
    if (minimum is not None and low < minimum) or (
        maximum is not None and high > maximum
    ):
        upper = "inf" if maximum is None else maximum
        raise ValueError(
            f"`{name}` must lie in [{minimum}, {upper}]. Received: {name}={value!r}"
        )
    cast = int if integer else float
    return (cast(low), cast(high))
