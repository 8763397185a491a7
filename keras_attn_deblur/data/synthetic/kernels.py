"""Motion-blur kernels: camera shake, straight lines, and a bank of both (NumPy).

- `camera_shake_kernel`: a hand-shake trajectory after Boracchi and Foi
  (2012), the model DeblurGAN's `Trajectory`/`PSF` classes implement: a
  random walk with inertia, a pull back to the start, Gaussian jitter and
  rare impulsive shakes, of random length and curvature. It is rasterised
  with sub-pixel (bilinear) accumulation and centred on its centre of mass.
- `linear_motion_kernel`: a straight, sub-pixel line.
- `kernel_bank`: a stack of both kinds, drawn on the host for
  `PairSynthesizer` to sample on the accelerator.

Every kernel is a float32 `(size, size)` array that sums to 1, with its centre
of mass at the centre pixel, so blurring with it does not shift the image.

References:
- G. Boracchi and A. Foi, "Modeling the performance of image restoration from
  motion blur", IEEE Transactions on Image Processing 21(8), 2012.
- O. Kupyn et al., "DeblurGAN: Blind motion deblurring using conditional
  adversarial networks", CVPR 2018 (`motion_blur/generate_trajectory.py`).
"""

import numpy as np

from keras_attn_deblur._utils.validation import check_positive_int
from keras_attn_deblur._utils.validation import check_probability
from keras_attn_deblur._utils.validation import is_integer
from keras_attn_deblur.data.synthetic._checks import as_generator
from keras_attn_deblur.data.synthetic._checks import check_number
from keras_attn_deblur.data.synthetic._checks import check_odd_size
from keras_attn_deblur.data.synthetic._checks import check_range


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
    check_odd_size("size", size, minimum=3)
    if max_length is not None:
        check_number("max_length", max_length, minimum=0.0, inclusive=False)
    if anxiety is not None:
        check_number("anxiety", anxiety, minimum=0.0, maximum=1.0)
    if not is_integer(num_steps) or num_steps < 2:
        raise ValueError(
            f"`num_steps` must be an integer >= 2. Received: num_steps={num_steps}"
        )
    rng = as_generator(rng)
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
    check_odd_size("size", size, minimum=1)
    check_number("length", length, minimum=1.0, maximum=float(size))
    check_number("angle", angle)
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
    check_positive_int("count", count)
    check_odd_size("size", size, minimum=3)
    low, high = check_range("kernel_size", kernel_size, minimum=3, maximum=size, integer=True)
    check_probability("linear_probability", linear_probability)
    rng = as_generator(rng)
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
