"""Deblurring real photos: any size in bounded memory, bf16, flip ensemble, folders.

```python
from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur.inference import deblur, deblur_folder

model = AttnDeblurNet.from_pretrained("org/attn-deblur")
restored = deblur(model, "IMG_0042.jpg")                 # a PIL image, same size and mode
restored = deblur(model, array, precision="bfloat16")    # uint8 in, uint8 out
summary = deblur_folder(model, "phone_photos/", "restored/")
print(summary)  # 12 restored, 3 skipped (exist), 1 failed: a.png: is empty (0 bytes) ...
```

How a photo is restored (`deblur`):

1. **Padding.** The image is reflect-padded by `tile_overlap // 2` pixels on
   every side (the least context any pixel gets at a tile seam, see 3), and
   by reflection at the bottom and right up to a multiple of 16 (4 is the
   network's downsampling factor; 16 keeps the quarter-resolution width
   even, which oneDNN's bfloat16 convolutions need to run at full speed).
   The padding is cropped off the result.
2. **Tiles.** When the padded image needs more activation memory than the
   budget allows (`activation_bytes_per_pixel(model)` times its pixels), it
   is cut into a grid of equal tiles that overlap by at least
   `tile_overlap` pixels. Tiles measure multiples of 16 and start at
   multiples of 4, so every tile sees the same stride-2 sampling grid as
   the whole image; the grid is spread evenly so that the last tile ends
   exactly at the padded border; all tiles have one shape, so the compiled
   prediction function is traced once per image size (on JAX each new
   size is compiled anew, a few seconds). `tile_size=None` chooses the
   grid with the fewest computed pixels whose tiles fit the budget
   (`plan_tiles`).
3. **Blending.** Each tile's output is weighted by a separable window that
   rises as `sin^2` over the first `tile_overlap` pixels next to a
   neighbouring tile and falls the same way before the next one (1 in
   between, 1 up to the padded border). The weights are normalised by their
   sum, so they add to exactly 1 everywhere: no seams, and the tile edges,
   where the convolutions saw zero padding instead of image, get almost no
   weight. A pixel farther than `tile_overlap` from every seam is computed
   from tiles in which it has more than `tile_overlap` pixels of context on
   every side; when `tile_overlap` is at least the network's receptive-field
   radius (`receptive_field(model)[1]`: 190 px for the SPEC network) such
   pixels equal the whole-image output up to float rounding. With the
   default overlap of 32 they differ by at most 1.2e-4 and every pixel by at
   most 1.4e-3, below 1/255 (measured with trained weights of the SPEC
   network on a 3840 x 2160 photo by `benchmarks/inference.py`).
4. **Streaming.** Tile rows are processed top to bottom; the rows that no
   later tile touches are converted to the output type at once, so the
   process holds the input, the output, one band of float32 sums and one
   tile's activations, never a float copy of a whole large photo.

Memory: the peak activation memory of one prediction is estimated as
`4 bytes x (6 x widest + 16)` per input pixel, where `widest` is the
channel count of the widest full-resolution feature map (the `dec1`
concatenation, `2 x filters[0]`; 64 for the SPEC network, so 1,600 bytes per
pixel). The factor 6 and the 16 were calibrated by measuring the resident
memory of `predict_on_batch` on 512^2 to 2048^2 inputs (TensorFlow 2.21 and
JAX 0.10 on CPU): 1,310-1,425 bytes per pixel for the SPEC network in
float32 (TensorFlow; JAX 880-1,060), 540-960 in mixed bfloat16, 130-210 for
a `filters=(4, 8, 8)` network, so the estimate is an upper bound within
about 15% for TensorFlow float32. The default budget,
`DEFAULT_MEMORY_BUDGET_MB` = 2,048 MB of activations, keeps the whole
process (about 0.9 GB for Python and TensorFlow, the photo, the band) under
4 GB for a 24-megapixel photo: measured peak resident memory 2.6 GB in
float32 and 2.0 GB in bfloat16 on TensorFlow, 2.2 GB in bfloat16 on JAX
(`benchmarks/inference.py`).
"""

import contextlib
import dataclasses
import math
import os
import struct
import sys
import tempfile
import time
import weakref
import zlib

import numpy as np
from PIL import Image

from keras_attn_deblur._utils.paths import write_atomically
from keras_attn_deblur.data.decode import image_samples
from keras_attn_deblur.data.decode import load_image_samples
from keras_attn_deblur.models.precision import PRECISION_POLICIES
from keras_attn_deblur.models.precision import policy_for
from keras_attn_deblur.models.precision import with_dtype

DEFAULT_MEMORY_BUDGET_MB = 2048
# File extensions `deblur_folder` picks up (case-insensitive).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")

# Tiles start at multiples of this: the network's total downsampling factor
# (two stride-2 convolutions), so that every tile sees the whole image's
# sampling grid.
_ALIGNMENT = 4
# Tiles (and the padded image) measure multiples of this. oneDNN's bfloat16
# convolutions ran twice as slow on 832 x 1532 tiles (383 wide at quarter
# resolution) as on 832 x 1536 (TensorFlow 2.21, this project's CPU).
_TILE_MULTIPLE = 16
# Memory of the band of rows being blended, per padded pixel: float32 RGB
# sums and the source rows (up to 16-bit RGBA).
_BAND_BYTES_PER_PIXEL = 20
_INTEGER_MAXIMA = {np.dtype("uint8"): 255, np.dtype("uint16"): 65535}
_FLOAT_DTYPES = (np.dtype("float16"), np.dtype("float32"), np.dtype("float64"))
# The `precision` values of `deblur`: float16 is for GPUs and training only.
_PRECISIONS = (None, "float32", "bfloat16", "mixed_bfloat16")
# Identity, horizontal, vertical, both: (flip rows, flip columns).
_FLIPS = ((False, False), (False, True), (True, False), (True, True))
_SIXTEEN_BIT_COLOUR_MODES = ("LA;16", "RGB;16", "RGBA;16")
_JPEG_QUALITY = 95

# model -> {policy: the model rebuilt under that policy}; see `_model_for_precision`.
_PRECISION_MODELS = weakref.WeakKeyDictionary()


# === Tiling ===


@dataclasses.dataclass(frozen=True)
class TilePlan:
    """Where the tiles of one image go, in the coordinates of the padded image.

    The padded image is the image reflect-padded by `margin` on every side
    and then at the bottom and right up to a multiple of 16. Every tile is
    `tile_height x tile_width`; tile `(i, j)` covers padded rows
    `row_starts[i]:row_starts[i] + tile_height` and the matching columns.

    Args:
        height: int. Image height.
        width: int. Image width.
        margin: int. Reflect padding on every side (`tile_overlap // 2`).
        overlap: int. The requested `tile_overlap`; neighbouring tiles
            overlap by at least this much.
        tile_height: int. Tile height, a multiple of 16.
        tile_width: int. Tile width, a multiple of 16.
        row_starts: tuple of ints. Top row of each tile row.
        column_starts: tuple of ints. Left column of each tile column.
    """

    height: int
    width: int
    margin: int
    overlap: int
    tile_height: int
    tile_width: int
    row_starts: tuple
    column_starts: tuple

    @property
    def padded_height(self):
        return _padded_length(self.height, self.margin)

    @property
    def padded_width(self):
        return _padded_length(self.width, self.margin)

    @property
    def tile_count(self):
        return len(self.row_starts) * len(self.column_starts)

    @property
    def computed_pixels(self):
        """Pixels the network computes, overlaps and padding included."""
        return self.tile_count * self.tile_height * self.tile_width

    def seams(self):
        """Image rows and columns where one tile ends or begins inside the image.

        Returns:
            A pair of sorted tuples `(rows, columns)`: for every tile edge
            strictly inside the image, its position in image coordinates
            (the first row or column of a tile, or one past its last).
        """

        def axis_seams(starts, tile, size):
            edges = set()
            for index, start in enumerate(starts):
                if index > 0:
                    edges.add(start - self.margin)
                if index < len(starts) - 1:
                    edges.add(start + tile - self.margin)
            return tuple(sorted(edge for edge in edges if 0 < edge < size))

        return (
            axis_seams(self.row_starts, self.tile_height, self.height),
            axis_seams(self.column_starts, self.tile_width, self.width),
        )


def plan_tiles(
    model,
    height,
    width,
    *,
    tile_size=None,
    tile_overlap=32,
    memory_budget_mb=None,
    batch_size=1,
):
    """Chooses the tile grid `deblur` uses for an image of this size.

    With `tile_size=None` the image runs whole when its padded size fits the
    activation budget; otherwise the grid with the fewest computed pixels
    whose tiles fit the budget is chosen (tiles need not be square: a
    3 x 5000 strip gets one row of wide tiles). With a `tile_size`, tiles
    are at most `tile_size` on each side, shrunk evenly so that the grid
    covers the padded image exactly with overlaps of at least
    `tile_overlap`.

    Args:
        model: `keras.Model`. The network; its width sets the memory per
            pixel (`activation_bytes_per_pixel`).
        height: int. Image height in pixels.
        width: int. Image width in pixels.
        tile_size: int or `None`. Largest tile side, rounded down to a
            multiple of 16; must be more than `2 * tile_overlap`. Defaults to
            `None` (from the memory budget).
        tile_overlap: int. Least overlap between neighbouring tiles, in
            pixels. Defaults to `32`.
        memory_budget_mb: float or `None`. Activation memory allowed for one
            prediction, in MiB. Defaults to `None`
            (`DEFAULT_MEMORY_BUDGET_MB`).
        batch_size: int. Tiles predicted together; the budget is shared
            between them. Defaults to `1`.

    Returns:
        A `TilePlan`.

    Example:
    ```python
    from keras_attn_deblur import AttnDeblurNet
    from keras_attn_deblur.inference import plan_tiles

    plan = plan_tiles(AttnDeblurNet(), 2160, 3840)
    plan.tile_height, plan.tile_width, plan.tile_count  # (752, 1312, 9)
    ```
    """
    _check_tiling_arguments(tile_size, tile_overlap, memory_budget_mb, batch_size)
    if height < 1 or width < 1:
        raise ValueError(
            f"The image must be at least 1 pixel high and wide. Received: height={height}, "
            f"width={width}"
        )
    margin = tile_overlap // 2
    padded_height = _padded_length(height, margin)
    padded_width = _padded_length(width, margin)
    if tile_size is not None:
        largest = tile_size // _TILE_MULTIPLE * _TILE_MULTIPLE
        tile_height, row_starts = _split_axis_at_most(padded_height, largest, tile_overlap)
        tile_width, column_starts = _split_axis_at_most(padded_width, largest, tile_overlap)
    else:
        budget_mb = DEFAULT_MEMORY_BUDGET_MB if memory_budget_mb is None else memory_budget_mb
        (tile_height, row_starts), (tile_width, column_starts) = _split_for_budget(
            padded_height,
            padded_width,
            budget_bytes=budget_mb * 2**20,
            bytes_per_tile_pixel=activation_bytes_per_pixel(model) * batch_size,
            bytes_per_band_row=_BAND_BYTES_PER_PIXEL * padded_width,
            overlap=tile_overlap,
            budget_mb=budget_mb,
        )
    return TilePlan(
        height=height,
        width=width,
        margin=margin,
        overlap=tile_overlap,
        tile_height=tile_height,
        tile_width=tile_width,
        row_starts=tuple(row_starts),
        column_starts=tuple(column_starts),
    )


def activation_bytes_per_pixel(model):
    """Estimated peak memory of one prediction, in bytes per input pixel.

    `4 x (6 x widest + 16)`, where `widest` is the channel count of the
    widest full-resolution feature map: `2 * filters[0]` for an
    `AttnDeblurNet` (the `dec1` concatenation), else the widest output of
    any layer (an over-estimate for networks that downsample). 4 bytes per
    element also under mixed precision, whose bfloat16 activations measure
    no smaller on JAX's CPU backend. Calibration: see the module docstring.

    Args:
        model: `keras.Model`. The network.

    Returns:
        An int, e.g. 1,600 for `AttnDeblurNet()`.
    """
    if callable(getattr(model, "activation_bytes_per_pixel", None)):
        return model.activation_bytes_per_pixel()
    widest = max((_channels(layer) for layer in model.layers), default=3)
    return 4 * (6 * widest + 16)


def receptive_field(model):
    """The receptive field of an `AttnDeblurNet`: its size and its reach.

    `size`: the most input pixels (along one axis) that one output pixel
    depends on. `radius`: the farthest an input pixel it depends on lies
    from it, on either side. Stride-2 convolutions with "same" padding and
    half-pixel bilinear upsampling are not centred, so `radius` can exceed
    `(size - 1) // 2`. Tiles give the whole-image result exactly (up to
    float rounding) at pixels more than `tile_overlap >= radius` pixels
    from every seam.

    Both are computed by following, along one axis, the interval of input
    pixels that each position of each layer depends on (convolutions with
    TensorFlow/XLA "same" padding, the x2 bilinear upsampling with
    half-pixel centres, concatenations and residual additions as unions),
    for positions far from the image border. The SPEC network
    (`AttnDeblurNet()`) gives `(377, 190)`.

    Args:
        model: `AttnDeblurNet` with bilinear upsampling.

    Returns:
        A tuple of two ints, `(size, radius)`.
    """
    if not callable(getattr(model, "receptive_field", None)):
        raise ValueError(
            "receptive_field() follows the layers of an AttnDeblurNet; "
            f"{type(model).__name__} is not one. Received: model={model.name!r}"
        )
    return model.receptive_field()


def _channels(layer):
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return 0
    if isinstance(shape, (tuple, list)) and shape and isinstance(shape[-1], int):
        return shape[-1]
    return 0


def _padded_length(size, margin):
    return -(-(size + 2 * margin) // _TILE_MULTIPLE) * _TILE_MULTIPLE


def _split_axis(length, count, overlap):
    """The smallest tile (a multiple of 16) for `count` tiles over `length`.

    Returns `(tile, starts)`: starts are multiples of 4, the first 0 and the
    last `length - tile`, consecutive starts at most `tile - overlap`
    apart, spread as evenly as multiples of 4 allow.
    """
    if count == 1:
        return length, [0]
    tile = -(-(length + (count - 1) * overlap) // count)
    tile = -(-tile // _TILE_MULTIPLE) * _TILE_MULTIPLE
    while True:
        units = (length - tile) // _ALIGNMENT
        largest_step = -(-units // (count - 1)) * _ALIGNMENT
        if largest_step <= tile - overlap:
            break
        tile += _TILE_MULTIPLE
    starts = [
        _ALIGNMENT * ((index * units * 2 + (count - 1)) // (2 * (count - 1)))
        for index in range(count)
    ]
    return tile, starts


def _split_axis_at_most(length, largest, overlap):
    """The fewest tiles of at most `largest` pixels over `length`."""
    if length <= largest:
        return length, [0]
    count = max(2, math.ceil((length - overlap) / (largest - overlap)))
    while True:
        tile, starts = _split_axis(length, count, overlap)
        if tile <= largest:
            return tile, starts
        count += 1


def _split_for_budget(
    height, width, *, budget_bytes, bytes_per_tile_pixel, bytes_per_band_row, overlap, budget_mb
):
    """The grid with the fewest computed pixels whose memory fits `budget_bytes`.

    A grid of `tile_height x tile_width` tiles needs `tile_height *
    tile_width * bytes_per_tile_pixel` for one prediction plus `tile_height
    * bytes_per_band_row` for the band of rows being blended.
    """

    def widest_tile(tile_height):
        room = budget_bytes - tile_height * bytes_per_band_row
        return int(room // (tile_height * bytes_per_tile_pixel)) // _TILE_MULTIPLE * _TILE_MULTIPLE

    if widest_tile(height) >= width:
        return (height, [0]), (width, [0])
    smallest = 2 * overlap + _TILE_MULTIPLE
    best = None
    row_count = 1
    while True:
        tile_height, row_starts = _split_axis(height, row_count, overlap)
        if tile_height < smallest and row_count > 1:
            break
        widest = widest_tile(tile_height)
        if widest >= smallest:
            tile_width, column_starts = _split_axis_at_most(width, widest, overlap)
            count = len(row_starts) * len(column_starts)
            cost = (count * tile_height * tile_width, count)
            if best is None or cost < best[0]:
                best = (cost, (tile_height, row_starts), (tile_width, column_starts))
        if row_count >= height // _ALIGNMENT:
            break
        row_count += 1
    if best is None:
        raise ValueError(
            f"memory_budget_mb={budget_mb} is too small for tiles of at least "
            f"{smallest} x {smallest} pixels (2 x tile_overlap + 16). Raise the budget or "
            "lower tile_overlap."
        )
    return best[1], best[2]


def _axis_weights(starts, tile, length, overlap):
    """Blending windows of the tiles along one axis, normalised to sum to 1."""
    position = np.arange(overlap, dtype=np.float64)
    rise = np.sin(np.pi * (position + 0.5) / (2 * overlap)) ** 2 if overlap else position
    windows = []
    total = np.zeros(length)
    for index, start in enumerate(starts):
        # Tiles of a multi-tile axis are longer than the overlap (`_split_axis`).
        window = np.ones(tile)
        if overlap and index > 0:
            window[:overlap] = np.minimum(window[:overlap], rise)
        if overlap and index < len(starts) - 1:
            window[-overlap:] = np.minimum(window[-overlap:], rise[::-1])
        windows.append(window)
        total[start : start + tile] += window
    return [
        (window / total[start : start + tile]).astype(np.float32)
        for start, window in zip(starts, windows)
    ]


def _reflect(indices, size):
    """Maps positions outside `range(size)` back inside by reflection (`np.pad` "reflect")."""
    if size == 1:
        return np.zeros_like(indices)
    period = 2 * (size - 1)
    indices = np.abs(indices) % period
    return np.where(indices < size, indices, period - indices)


# === Prediction ===


def _model_for_precision(model, precision):
    """`model`, or a cached copy rebuilt under `precision`'s policy with its weights.

    The copy is built once per model and policy; its weights are copied from
    `model` on every call (a plain array copy, milliseconds), so weights
    changed after the first call are used too.
    """
    policy = PRECISION_POLICIES[precision]
    if policy is None or model.dtype_policy.name == policy:
        return model
    copies = _PRECISION_MODELS.setdefault(model, {})
    if policy not in copies:
        copies[policy] = with_dtype(model, policy)
    else:
        copies[policy].set_weights(model.get_weights())
    return copies[policy]


class _Restorer:
    """One `deblur` configuration, checked once: options and the network to run."""

    def __init__(
        self,
        model,
        *,
        tile_size,
        tile_overlap,
        precision,
        ensemble,
        memory_budget_mb,
        batch_size,
    ):
        if not hasattr(model, "predict_on_batch"):
            raise TypeError(
                "`model` must be a Keras model, e.g. AttnDeblurNet.from_preset('patent'). "
                f"Received: model of type {type(model).__name__}"
            )
        policy_for(precision, choices=_PRECISIONS)
        if not isinstance(ensemble, bool):
            raise ValueError(f"`ensemble` must be True or False. Received: ensemble={ensemble!r}")
        _check_tiling_arguments(tile_size, tile_overlap, memory_budget_mb, batch_size)
        self.model = model
        self.network = _model_for_precision(model, precision)
        self.tile_size = tile_size
        self.tile_overlap = tile_overlap
        self.memory_budget_mb = memory_budget_mb
        self.batch_size = batch_size
        self.flips = _FLIPS if ensemble else _FLIPS[:1]

    def plan(self, height, width):
        return plan_tiles(
            self.model,
            height,
            width,
            tile_size=self.tile_size,
            tile_overlap=self.tile_overlap,
            memory_budget_mb=self.memory_budget_mb,
            batch_size=self.batch_size,
        )

    def restore_samples(self, samples):
        """Restores `(H, W)` or `(H, W, 1|2|3|4)` samples; same shape and dtype out.

        One or two channels are gray (+ alpha), three or four RGB (+ alpha).
        Alpha is copied untouched.
        """
        squeeze = samples.ndim == 2
        if squeeze:
            samples = samples[:, :, None]
        channels = samples.shape[-1]
        colour_channels = 1 if channels in (1, 2) else 3
        restored = np.empty_like(samples)
        if channels in (2, 4):
            restored[:, :, -1] = samples[:, :, -1]
        self._run_tiles(samples[:, :, :colour_channels], restored[:, :, :colour_channels])
        return restored[:, :, 0] if squeeze else restored

    def _predict(self, batch):
        return np.asarray(self.network.predict_on_batch(batch), dtype=np.float32)

    def _run_tiles(self, colour, restored):
        """Fills `restored` (H, W, C) from `colour` (H, W, C), C = 1 (gray) or 3."""
        height, width, channels = colour.shape
        plan = self.plan(height, width)
        scale = _INTEGER_MAXIMA.get(colour.dtype, 1.0)
        margin = plan.margin
        tile_shape = (plan.tile_height, plan.tile_width, 3)
        row_weights = _axis_weights(
            plan.row_starts, plan.tile_height, plan.padded_height, plan.overlap
        )
        column_weights = _axis_weights(
            plan.column_starts, plan.tile_width, plan.padded_width, plan.overlap
        )
        column_indices = [
            _reflect(np.arange(start, start + plan.tile_width) - margin, width)
            for start in plan.column_starts
        ]
        work = [(column, flip) for column in range(len(plan.column_starts)) for flip in self.flips]
        # Preallocated, reused buffers: the network's input batch, one weighted
        # output, and the sums of weighted outputs for padded rows
        # band_top:band_top + tile_height.
        batch = np.empty((min(self.batch_size, len(work)),) + tile_shape, np.float32)
        weighted = np.empty(tile_shape, np.float32)
        band = np.zeros((plan.tile_height, plan.padded_width, 3), np.float32)
        for row, band_top in enumerate(plan.row_starts):
            row_indices = np.arange(band_top, band_top + plan.tile_height) - margin
            rows = colour[_reflect(row_indices, height)]
            for first in range(0, len(work), self.batch_size):
                chunk = work[first : first + self.batch_size]
                for index, (column, flip) in enumerate(chunk):
                    tile = _flip(rows[:, column_indices[column]], flip)
                    np.multiply(tile, np.float32(1.0 / scale), out=batch[index], casting="unsafe")
                outputs = self._predict(batch[: len(chunk)])
                for (column, flip), output in zip(chunk, outputs):
                    weight = np.outer(row_weights[row], column_weights[column])
                    weight *= np.float32(1.0 / len(self.flips))
                    np.multiply(_flip(output, flip), weight[:, :, None], out=weighted)
                    left = plan.column_starts[column]
                    band[:, left : left + plan.tile_width] += weighted
            # Rows above the next tile row are final: convert and store them.
            last = row == len(plan.row_starts) - 1
            next_top = plan.padded_height if last else plan.row_starts[row + 1]
            first_row = max(band_top - margin, 0)
            end_row = min(next_top - margin, height)
            if end_row > first_row:
                finished = band[first_row + margin - band_top : end_row + margin - band_top,
                                margin : margin + width]  # fmt: skip
                if channels == 1:
                    finished = finished.mean(axis=-1, keepdims=True)
                restored[first_row:end_row] = _from_float(finished, restored.dtype)
            if not last:
                carried = next_top - band_top
                band[: plan.tile_height - carried] = band[carried:]
                band[plan.tile_height - carried :] = 0.0


def _flip(tile, flip):
    flip_rows, flip_columns = flip
    if flip_rows:
        tile = tile[::-1]
    if flip_columns:
        tile = tile[:, ::-1]
    return tile


def _from_float(values, dtype):
    """Clamps float samples in [0, 1] to `dtype`: rounded (np.rint) for integer types."""
    values = np.clip(values, 0.0, 1.0)
    if dtype in _INTEGER_MAXIMA:
        return np.rint(values * _INTEGER_MAXIMA[dtype]).astype(dtype)
    return values.astype(dtype)


def _check_tiling_arguments(tile_size, tile_overlap, memory_budget_mb, batch_size):
    def is_int(value):
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

    if not is_int(tile_overlap) or tile_overlap < 0:
        raise ValueError(
            "`tile_overlap` must be an integer >= 0 (pixels). "
            f"Received: tile_overlap={tile_overlap!r}"
        )
    if tile_size is not None and (
        not is_int(tile_size)
        or tile_size < 16
        or tile_size // _TILE_MULTIPLE * _TILE_MULTIPLE <= 2 * tile_overlap
    ):
        raise ValueError(
            "`tile_size` must be None (from the memory budget) or an integer >= 16 "
            f"and more than 2 * tile_overlap = {2 * tile_overlap} (after rounding down to "
            f"a multiple of 16). Received: tile_size={tile_size!r}"
        )
    if memory_budget_mb is not None and (
        isinstance(memory_budget_mb, bool)
        or not isinstance(memory_budget_mb, (int, float))
        or not 0 < memory_budget_mb < float("inf")
    ):
        raise ValueError(
            "`memory_budget_mb` must be None or a positive, finite number of MiB. "
            f"Received: memory_budget_mb={memory_budget_mb!r}"
        )
    if not is_int(batch_size) or batch_size < 1:
        raise ValueError(
            f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}"
        )


# === One image ===


def deblur(
    model,
    image,
    *,
    tile_size=None,
    tile_overlap=32,
    precision=None,
    ensemble=False,
    memory_budget_mb=None,
    batch_size=1,
):
    """Restores a blurry photo of any size; returns the same kind, size and mode.

    The image is reflect-padded at its borders, cut into overlapping tiles
    when it does not fit the memory budget, and the tiles' outputs are
    blended with a smooth window (see the module docstring). The output is
    clamped to `[0, 1]` and rounded back to the input's integer type
    (`np.rint`).

    - A NumPy array `(H, W)`, `(H, W, 1)`, `(H, W, 3)` or `(H, W, 4)` of
      uint8, uint16 or float in `[0, 1]` gives an array of the same shape
      and dtype.
    - A `PIL.Image` (`L`, `LA`, `RGB`, `RGBA`, `I;16`, `I`, `CMYK`, ...)
      gives a `PIL.Image` of the same size and mode (`1` gives `L`, `P`
      gives `RGB` or `RGBA`), carrying its `info` (ICC profile, EXIF, dpi).
    - A file path gives a `PIL.Image` in the file's mode after the EXIF
      orientation (16-bit grayscale as `I;16`), with the file's ICC profile
      and EXIF (orientation reset to 1) in `info`; a 16-bit *colour* PNG,
      which Pillow cannot hold, gives a uint16 array `(H, W, 3 or 4)`.

    Grayscale runs through the network as three identical channels, and the
    three outputs are averaged back to one. Alpha is passed through
    untouched.

    Args:
        model: `keras.Model`. A deblurring network taking float RGB in
            `[0, 1]`, e.g. `AttnDeblurNet.from_pretrained(...)`.
        image: str, path-like, `PIL.Image.Image` or NumPy array. The blurry
            image.
        tile_size: int or `None`. Largest tile side in pixels (rounded down
            to a multiple of 16, more than `2 * tile_overlap`). Defaults to
            `None`: the whole image when it fits `memory_budget_mb`, else
            the cheapest grid of tiles that fit.
        tile_overlap: int. Least overlap of neighbouring tiles, in pixels;
            the border is reflect-padded by half of it. From
            `receptive_field(model)[1]` (190 for `AttnDeblurNet()`) tiles
            equal the whole-image output away from the seams up to float
            rounding; the default already stays within 1/255 everywhere.
            Defaults to `32`.
        precision: `None`, `"float32"` or `"bfloat16"`. Run a copy of the
            model rebuilt with the `"float32"` or `"mixed_bfloat16"` dtype
            policy and the same weights (built once per model, then cached).
            `None` runs the model as it is. Defaults to `None`.
        ensemble: bool. Flip self-ensemble: restore the image as it is,
            flipped left-right, upside down, and both, flip the results back
            and average them; 4 times the compute. Defaults to `False`.
        memory_budget_mb: float or `None`. Activation memory allowed for one
            prediction, in MiB, when `tile_size` is `None`. Defaults to
            `None` (`DEFAULT_MEMORY_BUDGET_MB`, 2,048).
        batch_size: int. Tiles (and flips) predicted together. Defaults to
            `1`.

    Returns:
        The restored image, as described in the table above.

    Raises:
        ImageReadError: `image` is a path that is missing, empty, not an
            image, truncated, or over Pillow's decompression-bomb limit (one
            line, naming the file and the fix).
        ValueError: an array of another shape or dtype, float values outside
            `[0, 1]`, or a bad argument (naming it).

    Example:
    ```python
    from keras_attn_deblur import AttnDeblurNet
    from keras_attn_deblur.inference import deblur

    model = AttnDeblurNet.from_pretrained("org/attn-deblur")
    photo = deblur(model, "IMG_0042.jpg", precision="bfloat16")  # a PIL image
    restored = deblur(model, blurry_uint8_array, ensemble=True)  # a uint8 array
    ```
    """
    restorer = _Restorer(
        model,
        tile_size=tile_size,
        tile_overlap=tile_overlap,
        precision=precision,
        ensemble=ensemble,
        memory_budget_mb=memory_budget_mb,
        batch_size=batch_size,
    )
    if isinstance(image, (str, os.PathLike)):
        samples, mode, info = load_image_samples(image)
        restored = restorer.restore_samples(samples)
        if mode in _SIXTEEN_BIT_COLOUR_MODES:
            return restored
        return _to_pil(restored, mode, info)
    if isinstance(image, Image.Image):
        return _deblur_pil(restorer, image)
    if isinstance(image, np.ndarray):
        return restorer.restore_samples(_checked_array(image))
    raise TypeError(
        "`image` must be a file path, a PIL image or a NumPy array. "
        f"Received: image of type {type(image).__name__}"
    )


def _checked_array(array):
    if array.dtype not in _INTEGER_MAXIMA and array.dtype not in _FLOAT_DTYPES:
        raise ValueError(
            "deblur() takes uint8, uint16 or float (values in [0, 1]) arrays. "
            f"Received: dtype={array.dtype}"
        )
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (1, 3, 4))):
        raise ValueError(
            "deblur() takes arrays of shape (height, width) or (height, width, C) "
            f"with C = 1 (gray), 3 (RGB) or 4 (RGBA). Received: shape={array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            "deblur() needs an image at least 1 pixel high and wide. "
            f"Received: shape={array.shape}"
        )
    if array.dtype in _FLOAT_DTYPES:
        colour = array if array.ndim == 2 or array.shape[-1] != 4 else array[:, :, :3]
        low, high = float(np.min(colour)), float(np.max(colour))
        if not (0.0 <= low and high <= 1.0):
            hint = " (it looks like 0-255 values: divide by 255)" if high > 1.0 else ""
            raise ValueError(
                "deblur() takes float images with values in [0, 1]; this one ranges from "
                f"{low:g} to {high:g}{hint}. Received: dtype={array.dtype}, shape={array.shape}"
            )
    return array


def _deblur_pil(restorer, image):
    try:
        samples, mode = image_samples(image)
    except ValueError as error:
        raise ValueError(
            f"deblur() cannot restore this PIL image: it {error}. Received: mode={image.mode!r}"
        ) from error
    if image.mode == "I":
        mode = "I"
    info = {key: image.info[key] for key in ("icc_profile", "exif", "dpi") if key in image.info}
    return _to_pil(restorer.restore_samples(samples), mode, info)


def _to_pil(samples, mode, info):
    """A Pillow image of `mode` from restored samples, carrying the saved metadata."""
    if mode == "I":
        image = Image.fromarray(samples.astype(np.int32))
    elif mode in ("L", "LA", "RGB", "RGBA", "I;16"):
        image = Image.fromarray(samples)
    else:  # CMYK, YCbCr, LAB, HSV were restored in RGB
        image = Image.fromarray(samples)
        with contextlib.suppress(ValueError):  # no direct conversion (LAB): stays RGB
            image = image.convert(mode)
    image.info.update(
        {key: info[key] for key in ("icc_profile", "exif", "dpi") if info.get(key)}
    )
    return image


# === Files ===


def deblur_file(model, input_path, output_path, *, overwrite=False, **deblur_kwargs):
    """Restores one image file and writes it atomically, keeping format and metadata.

    The output format follows `output_path`'s extension (PNG, JPEG, TIFF,
    WebP, BMP, ...). Bit depth and channels are kept (a 16-bit PNG stays
    16-bit, gray stays gray, alpha is kept), and so are the ICC profile,
    the dpi and the EXIF block where the format stores them (EXIF
    orientation reset to 1, since the pixels are written upright). JPEG is
    written at quality 95 with the original's chroma subsampling, WebP at
    quality 95 (lossy), TIFF with the original's lossless compression. The
    file is written to a temporary name in the output folder and renamed
    into place, so an interrupted run never leaves a partial image under
    `output_path`.

    Args:
        model: `keras.Model`. The network.
        input_path: str or path-like. The blurry image file.
        output_path: str or path-like. Where to write the restored image;
            missing folders are created.
        overwrite: bool. Replace an existing `output_path`. Defaults to
            `False`.
        **deblur_kwargs: Options of `deblur` (`tile_size`, `precision`,
            `ensemble`, ...).

    Returns:
        `output_path`, as a str.

    Raises:
        ImageReadError: the input cannot be read.
        FileExistsError: `output_path` exists and `overwrite` is `False`.
        ValueError: `output_path` is the input file, or its extension names
            no format Pillow writes.
        OSError: the output cannot be written (one line, naming it).
    """
    restorer = _Restorer(model, **_deblur_options(deblur_kwargs))
    input_path, output_path = os.fspath(input_path), os.fspath(output_path)
    if _same_path(input_path, output_path):
        raise ValueError(
            f"Refusing to overwrite the input image '{input_path}'. Choose another output path."
        )
    if os.path.exists(output_path) and not overwrite:
        raise FileExistsError(
            f"Output image '{output_path}' exists. Pass overwrite=True (--overwrite) to replace it."
        )
    folder = os.path.dirname(os.path.abspath(output_path))
    _prepare_output_folder(folder)
    _restore_file(restorer, input_path, output_path)
    return output_path


def _deblur_options(kwargs):
    options = {
        "tile_size": None,
        "tile_overlap": 32,
        "precision": None,
        "ensemble": False,
        "memory_budget_mb": None,
        "batch_size": 1,
    }
    unknown = sorted(set(kwargs) - set(options))
    if unknown:
        raise TypeError(f"Unknown deblur() options {unknown}; known: {sorted(options)}")
    options.update(kwargs)
    return options


def _restore_file(restorer, input_path, output_path):
    format_name = _format_for(output_path)
    samples, mode, info = load_image_samples(input_path)
    restored = restorer.restore_samples(samples)
    write_atomically(
        output_path, lambda file: _encode(file, restored, mode, info, format_name)
    )


def _format_for(path):
    extension = os.path.splitext(path)[1].lower()
    format_name = Image.registered_extensions().get(extension)
    if format_name is None or format_name not in Image.SAVE:
        raise ValueError(
            f"Cannot tell which image format to write for '{path}' (extension "
            f"{extension or 'missing'!r}). Use .png, .jpg, .tif or .webp."
        )
    return format_name


def _encode(file, samples, mode, info, format_name):
    """Writes restored samples in `format_name`, with the metadata the format keeps."""
    if mode in _SIXTEEN_BIT_COLOUR_MODES:
        if format_name != "PNG":
            raise ValueError(
                f"16-bit colour images can only be written as PNG, not {format_name}; "
                "use a .png output name"
            )
        file.write(_encode_png_16_bit(samples, info))
        return
    image = _to_pil(samples, mode, info)
    options = {}
    if format_name in ("JPEG", "PNG", "TIFF", "WEBP") and info.get("icc_profile"):
        options["icc_profile"] = info["icc_profile"]
    if format_name in ("JPEG", "PNG", "WEBP") and info.get("exif"):
        options["exif"] = info["exif"]
    if format_name in ("JPEG", "PNG", "TIFF") and info.get("dpi"):
        options["dpi"] = info["dpi"]
    if format_name == "JPEG":
        options["quality"] = _JPEG_QUALITY
        if "subsampling" in info:
            options["subsampling"] = info["subsampling"]
    elif format_name == "WEBP":
        options["quality"] = _JPEG_QUALITY
    elif format_name == "TIFF" and info.get("compression"):
        options["compression"] = info["compression"]
    image.save(file, format=format_name, **options)


def _png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _encode_png_16_bit(samples, info):
    """A 16-bit gray+alpha/RGB/RGBA PNG (Pillow writes only 16-bit gray)."""
    height, width, channels = samples.shape
    colour_type = {2: 4, 3: 2, 4: 6}[channels]
    rows = samples.astype(">u2").view(np.uint8).reshape(height, width * channels * 2)
    # Row filter 2 ("up"): each byte minus the byte above, modulo 256.
    filtered = np.empty((height, rows.shape[1] + 1), np.uint8)
    filtered[:, 0] = 2
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    chunks = [
        _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0))
    ]
    if info.get("icc_profile"):
        chunks.append(_png_chunk(b"iCCP", b"ICC Profile\0\0" + zlib.compress(info["icc_profile"])))
    if info.get("dpi"):
        per_metre = [round(value / 0.0254) for value in info["dpi"][:2]]
        chunks.append(_png_chunk(b"pHYs", struct.pack(">IIB", *per_metre, 1)))
    if info.get("exif"):
        exif = info["exif"]
        chunks.append(_png_chunk(b"eXIf", exif[6:] if exif.startswith(b"Exif\0\0") else exif))
    chunks.append(_png_chunk(b"IDAT", zlib.compress(filtered.tobytes(), 6)))
    chunks.append(_png_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def _same_path(first, second):
    if os.path.exists(first) and os.path.exists(second):
        return os.path.samefile(first, second)
    return os.path.realpath(first) == os.path.realpath(second)


def _prepare_output_folder(folder):
    """Creates `folder` if needed and checks that files can be written in it."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise NotADirectoryError(
            f"Output folder '{folder}' is a file, not a folder. Choose another output folder."
        )
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise PermissionError(
            f"Cannot write to the output folder '{folder}' ({error.strerror or error}). "
            "Make it writable or choose another output folder."
        ) from error


# === Folders ===


@dataclasses.dataclass
class FolderSummary:
    """What `deblur_folder` did.

    Args:
        processed: int. Images restored and written.
        skipped: int. Images whose output existed (without `overwrite`).
        failed: list of `(input_path, message)`. Images that could not be
            restored or written; the run went on past them.
        seconds: float. Wall time of the run.
        input_dir: str. The input folder, for relative names in `str()`.
    """

    processed: int = 0
    skipped: int = 0
    failed: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    input_dir: str = ""

    def __str__(self):
        line = (
            f"{self.processed} restored, {self.skipped} skipped (exist), "
            f"{len(self.failed)} failed"
        )
        if self.failed:
            details = "; ".join(
                f"{os.path.relpath(path, self.input_dir or '.')}: "
                f"{message.removeprefix(f'Image file {path!r} ')}"
                for path, message in self.failed
            )
            line += f": {details}"
        return f"{line} ({self.seconds:.1f} s)"


def deblur_folder(
    model,
    input_dir,
    output_dir,
    *,
    overwrite=False,
    suffix=None,
    recursive=False,
    progress=True,
    **deblur_kwargs,
):
    """Restores every image in a folder into another folder.

    Images are the files with an extension in `IMAGE_EXTENSIONS` (hidden
    files are ignored); with `recursive=True` subfolders are walked too and
    mirrored under `output_dir` (which is never walked itself). Each output
    keeps its input's name (plus `suffix` before the extension), format, bit
    depth, channels, ICC profile and EXIF (see `deblur_file`), and is
    written atomically: a killed run never leaves a half-written image under
    a final name.

    Before any image is read, the output folder is created if missing and
    checked to be writable; an output folder that is the input folder is
    refused, so no input is ever overwritten. A file that cannot be read
    or restored is recorded in `failed` and the run goes on.

    Args:
        model: `keras.Model`. The network.
        input_dir: str or path-like. The folder of blurry images.
        output_dir: str or path-like. Where to write the restored images.
        overwrite: bool. Restore images whose output exists again. Defaults
            to `False` (skip them, so an interrupted run resumes).
        suffix: str or `None`. Added to each output's name before the
            extension, e.g. `"_sharp"`. Defaults to `None`.
        recursive: bool. Include subfolders. Defaults to `False`.
        progress: bool. Print a progress line per image and the summary
            line to stderr. Defaults to `True`.
        **deblur_kwargs: Options of `deblur` (`tile_size`, `tile_overlap`,
            `precision`, `ensemble`, `memory_budget_mb`, `batch_size`).

    Returns:
        A `FolderSummary`; `str(summary)` is the summary line, e.g.
        `"12 restored, 3 skipped (exist), 1 failed: a.png: ... (81.2 s)"`.

    Raises:
        NotADirectoryError: `input_dir` is not a folder, or `output_dir` is
            a file.
        ValueError: `output_dir` is `input_dir`.
        PermissionError: `output_dir` cannot be created or written.

    Example:
    ```python
    from keras_attn_deblur import AttnDeblurNet
    from keras_attn_deblur.inference import deblur_folder

    model = AttnDeblurNet.from_pretrained("org/attn-deblur")
    summary = deblur_folder(model, "phone_photos/", "restored/", precision="bfloat16")
    ```
    """
    started = time.perf_counter()
    input_dir, output_dir = os.fspath(input_dir), os.fspath(output_dir)
    if not os.path.isdir(input_dir):
        raise NotADirectoryError(
            f"Input folder '{input_dir}' "
            f"{'is a file, not a folder' if os.path.exists(input_dir) else 'does not exist'}. "
            "Pass a folder of images."
        )
    if _same_path(input_dir, output_dir):
        raise ValueError(
            f"Output folder '{output_dir}' is the input folder; restored images would "
            "overwrite or mix with the inputs. Choose another output folder."
        )
    restorer = _Restorer(model, **_deblur_options(deblur_kwargs))
    _prepare_output_folder(output_dir)
    jobs = _folder_jobs(input_dir, output_dir, suffix or "", recursive)
    inputs = {os.path.realpath(input_path) for input_path, _ in jobs}
    for input_path, output_path in jobs:
        if os.path.realpath(output_path) in inputs:
            raise ValueError(
                f"Output image '{output_path}' would overwrite an input image. "
                "Choose another output folder or suffix."
            )
    summary = FolderSummary(input_dir=input_dir)
    bar = _ProgressLine(len(jobs)) if progress else None
    for index, (input_path, output_path) in enumerate(jobs):
        name = os.path.relpath(input_path, input_dir)
        if os.path.exists(output_path) and not overwrite:
            summary.skipped += 1
            status = "skipped (exists)"
        else:
            try:
                os.makedirs(os.path.dirname(output_path), exist_ok=True)
                _restore_file(restorer, input_path, output_path)
                summary.processed += 1
                status = "restored"
            except Exception as error:  # noqa: BLE001 - one bad file must not stop the batch
                summary.failed.append((input_path, _one_line(error)))
                status = "FAILED"
        if bar is not None:
            bar.update(index + 1, name, status)
    summary.seconds = time.perf_counter() - started
    if bar is not None:
        bar.close()
        print(summary, file=sys.stderr)
    return summary


def _folder_jobs(input_dir, output_dir, suffix, recursive):
    """Sorted `(input_path, output_path)` pairs of the images under `input_dir`."""
    output_real = os.path.realpath(output_dir)
    jobs = []
    for folder, subfolders, files in os.walk(input_dir):
        subfolders[:] = sorted(
            name
            for name in subfolders
            if recursive
            and not name.startswith(".")
            and os.path.realpath(os.path.join(folder, name)) != output_real
        )
        relative = os.path.relpath(folder, input_dir)
        for name in sorted(files):
            stem, extension = os.path.splitext(name)
            if name.startswith(".") or extension.lower() not in IMAGE_EXTENSIONS:
                continue
            output_path = os.path.normpath(
                os.path.join(output_dir, relative, f"{stem}{suffix}{extension}")
            )
            jobs.append((os.path.join(folder, name), output_path))
    return jobs


def _one_line(error):
    message = " ".join(str(error).split())
    return message or type(error).__name__


class _ProgressLine:
    """`[  3/12] 25% photo.jpg restored, 41.0 s/image, ETA 6:09` on stderr."""

    def __init__(self, total, stream=None):
        self.total = total
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, done, name, status):
        elapsed = time.perf_counter() - self.started
        per_image = elapsed / done
        remaining = int(per_image * (self.total - done))
        line = (
            f"[{done:>{len(str(self.total))}}/{self.total}] {100 * done // self.total:3d}% "
            f"{name} {status}, {per_image:.1f} s/image, ETA {remaining // 60}:{remaining % 60:02d}"
        )
        if self.interactive:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self):
        if self.interactive and self.total:
            self.stream.write("\n")
            self.stream.flush()
