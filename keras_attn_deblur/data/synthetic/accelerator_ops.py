"""The image operations of `PairSynthesizer`, batched, in pure `keras.ops`.

Each is the accelerator twin of a step of the NumPy synthesis in this
package, applied to a whole batch with per-example parameters given as
tensors, and traceable inside a jitted step (no per-example Python loop,
the same program on every backend):

- `gather_crops`: per-example crops of a stack of images or frame windows,
  as one gather, scaled to `[0, 1]`;
- `tone_jitter`: exposure, white balance and tone curve in linear light
  (the camera response of `inverse_crf` / `apply_crf`);
- `fft_blur`: `blur_image` of each image by each of its kernels;
- `mixture_masks`: smooth random masks that sum to one at every pixel, the
  blend of `nonuniform_blur`'s smooth mode;
- `dihedral`: per-example flips and transposes (`numpy.rot90`,
  `numpy.flip`).
"""

import math

import keras
from keras import ops

from keras_attn_deblur.data.synthetic.nonuniform import next_fast_length

# Dihedral transforms as bits: 1 flips left-right, 2 upside down, 4 transposes
# (applied first). np.rot90(k=1) is code 6, k=2 code 3, k=3 code 5.
FLIP_LEFT_RIGHT, FLIP_UP_DOWN, TRANSPOSE = 1, 2, 4


def gather_crops(images, image_index, top, left, size):
    """`images[image_index[b, t], top[b]:top[b] + size, left[b]:left[b] + size]` as float32.

    One gather over the flattened images (no per-example loop), so it is the
    same program on every backend. Integer images are scaled to `[0, 1]`.
    """
    count, height, width, channels = images.shape
    steps = ops.arange(size, dtype="int32")
    rows = ops.cast(top, "int32")[:, None] + steps[None, :]
    cols = ops.cast(left, "int32")[:, None] + steps[None, :]
    index = (
        ops.cast(image_index, "int32")[:, :, None, None] * (height * width)
        + rows[:, None, :, None] * width
        + cols[:, None, None, :]
    )
    flat = ops.reshape(images, (count * height * width, channels))
    crops = ops.take(flat, ops.reshape(index, (-1,)), axis=0)
    crops = ops.reshape(crops, (*index.shape, channels))
    return _to_unit_float(crops)


def _to_unit_float(images):
    dtype = keras.backend.standardize_dtype(images.dtype)
    scale = {"uint8": 255.0, "uint16": 65535.0}.get(dtype)
    images = ops.cast(images, "float32")
    return images / scale if scale else images


def tone_jitter(images, gain, tone, gamma):
    """Per-example exposure, colour and tone: `clip(x ** gamma * gain, 0, 1) ** (tone / gamma)`.

    `x ** gamma` is the linear light of the `[0, 1]` images (the camera
    response `inverse_crf`); `gain` multiplies it per example and channel
    (exposure times white balance), the clip is the sensor's saturation, and
    the power `tone / gamma` returns to the display curve with a tone change.

    Args:
        images: float `(batch, ..., C)` in `[0, 1]`.
        gain: float `(batch, C)`.
        tone: float `(batch,)`.
        gamma: float. The camera response's gamma.

    Returns:
        float32, the shape of `images`, in `[0, 1]`.
    """
    images = ops.cast(images, "float32")
    gain, tone = ops.cast(gain, "float32"), ops.cast(tone, "float32")
    for _ in range(len(images.shape) - 2):
        gain = ops.expand_dims(gain, 1)
    for _ in range(len(images.shape) - 1):
        tone = ops.expand_dims(tone, -1)
    light = ops.power(ops.maximum(images, 0.0), gamma) * gain
    return ops.power(ops.clip(light, 0.0, 1.0), tone / gamma)


def dihedral(images, transform):
    """Applies per-example flips/transposes: `transform` bits 4 (transpose,
    first), 1 (left-right), 2 (upside down), to `(batch, size, size, C)`."""
    transform = ops.cast(transform, "int32")[:, None, None, None]

    def chosen(bit):
        return ops.not_equal(ops.bitwise_and(transform, bit), 0)

    images = ops.where(chosen(TRANSPOSE), ops.transpose(images, (0, 2, 1, 3)), images)
    images = ops.where(chosen(FLIP_LEFT_RIGHT), ops.flip(images, axis=2), images)
    return ops.where(chosen(FLIP_UP_DOWN), ops.flip(images, axis=1), images)


def fft_blur(images, kernels):
    """Each image blurred by each of its kernels: true convolution, reflect padding.

    The same operation as NumPy `blur_image` (kernel centre at `(k // 2, k // 2)`,
    `numpy.pad(mode="reflect")`), computed with FFTs of the padded image.

    Args:
        images: float `(batch, H, W, C)`.
        kernels: float `(batch, K, kh, kw)`.

    Returns:
        float32 `(batch, K, H, W, C)`.
    """
    _, height, width, _ = images.shape
    kernel_height, kernel_width = kernels.shape[2:]
    top, left = kernel_height - 1 - kernel_height // 2, kernel_width - 1 - kernel_width // 2
    padded = ops.pad(
        ops.transpose(ops.cast(images, "float32"), (0, 3, 1, 2)),
        ((0, 0), (0, 0), (top, kernel_height // 2), (left, kernel_width // 2)),
        mode="reflect",
    )
    fft_height = next_fast_length(height + kernel_height - 1)
    fft_width = next_fast_length(width + kernel_width - 1)
    padded = ops.pad(
        padded,
        ((0, 0), (0, 0), (0, fft_height - padded.shape[2]), (0, fft_width - padded.shape[3])),
    )
    kernels = ops.pad(
        ops.cast(kernels, "float32"),
        ((0, 0), (0, 0), (0, fft_height - kernel_height), (0, fft_width - kernel_width)),
    )
    image_real, image_imag = ops.fft2((padded, ops.zeros_like(padded)))
    kernel_real, kernel_imag = ops.fft2((kernels, ops.zeros_like(kernels)))
    image_real, image_imag = image_real[:, None], image_imag[:, None]
    kernel_real, kernel_imag = kernel_real[:, :, None], kernel_imag[:, :, None]
    product = (
        image_real * kernel_real - image_imag * kernel_imag,
        image_real * kernel_imag + image_imag * kernel_real,
    )
    full, _ = ops.ifft2(product)
    valid = full[
        :, :, :, kernel_height - 1 : kernel_height - 1 + height,
        kernel_width - 1 : kernel_width - 1 + width,
    ]  # fmt: skip
    return ops.transpose(valid, (0, 1, 3, 4, 2))


def mixture_masks(frequency, angle, phase, count, size, sharpness):
    """Smooth random masks that sum to 1 at every pixel, `(batch, K, size, size)`.

    Mask `k` of an example is the softmax over its first `count` slots of
    `sharpness * field_k`, where each field is a unit-variance sum of W
    random plane cosines (`frequency` cycles across the window, direction
    `angle`, offset `phase`; each `(batch, K, W)`, `PairSynthesizer` draws
    `MASK_WAVES`): the random-Fourier-feature form of a smooth Gaussian
    random field. Slots from `count` on get weight 0, so `count = 1` is a
    uniform blur by slot 0.
    """
    coordinates = ops.arange(size, dtype="float32") / size
    radians = 2 * math.pi * frequency
    along_rows = radians * ops.sin(angle)
    along_cols = radians * ops.cos(angle)
    row_phase = along_rows[..., None] * coordinates + phase[..., None]
    col_phase = along_cols[..., None] * coordinates
    # cos(a + b) = cos a cos b - sin a sin b: separable, no (K, waves, size, size) tensor.
    field = ops.einsum("bkwr,bkwc->bkrc", ops.cos(row_phase), ops.cos(col_phase)) - ops.einsum(
        "bkwr,bkwc->bkrc", ops.sin(row_phase), ops.sin(col_phase)
    )
    field = field * math.sqrt(2.0 / frequency.shape[-1])
    slots = ops.arange(frequency.shape[1], dtype="int32")
    active = slots[None, :] < ops.cast(count, "int32")[:, None]
    logits = ops.where(active[:, :, None, None], sharpness * field, -1e9)
    return ops.softmax(logits, axis=1)
