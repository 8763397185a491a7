"""Where the tiles of a large photo go, and how much memory one prediction needs.

Pure arithmetic, no Keras calls: `plan_tiles` turns an image size and the
tiling options into a `TilePlan`; `axis_weights` gives the blending windows
and `reflect` the reflect-padding indices that `Deblurrer` uses.

1. **Padding.** The image is reflect-padded by `tile_overlap // 2` pixels on
   every side (the least context any pixel gets at a tile seam), and by
   reflection at the bottom and right up to a multiple of 16 (4 is the
   network's downsampling factor; 16 keeps the quarter-resolution width
   even, which oneDNN's bfloat16 convolutions need to run at full speed).
2. **Tiles.** When the padded image needs more activation memory than the
   budget allows, it is cut into a grid of equal tiles that overlap by at
   least `tile_overlap` pixels. Tiles measure multiples of 16 and start at
   multiples of 4, so every tile sees the same stride-2 sampling grid as
   the whole image; the grid is spread evenly so that the last tile ends
   exactly at the padded border; all tiles have one shape, so the compiled
   prediction function is traced once per image size. `tile_size=None`
   chooses the grid with the fewest computed pixels whose tiles fit the
   budget.
3. **Blending weights.** Each tile's output is weighted by a separable
   window that rises as `sin^2` over the first `tile_overlap` pixels next
   to a neighbouring tile and falls the same way before the next one,
   normalised so that the weights add to exactly 1 everywhere.

Memory: the peak activation memory of one prediction is estimated as
`4 bytes x (6 x widest + 16)` per input pixel, where `widest` is the
channel count of the widest full-resolution feature map (the model answers
this itself: `AttnDeblurNet.activation_bytes_per_pixel()`, 1,600 bytes for
the SPEC network). The factor 6 and the 16 were calibrated by measuring the
resident memory of `predict_on_batch` on 512^2 to 2048^2 inputs (TensorFlow
2.21 and JAX 0.10 on CPU): 1,310-1,425 bytes per pixel for the SPEC network
in float32 (TensorFlow; JAX 880-1,060), 540-960 in mixed bfloat16, 130-210
for a `filters=(4, 8, 8)` network, so the estimate is an upper bound within
about 15% for TensorFlow float32. The default budget,
`DEFAULT_MEMORY_BUDGET_MB` = 2,048 MB of activations, keeps the whole
process (about 0.9 GB for Python and TensorFlow, the photo, the band) under
4 GB for a 24-megapixel photo: measured peak resident memory 2.6 GB in
float32 and 2.0 GB in bfloat16 on TensorFlow, 2.2 GB in bfloat16 on JAX
(`benchmarks/inference.py`).
"""

import dataclasses
import math
import warnings

import numpy as np

from keras_attn_deblur._utils.validation import check_non_negative_int
from keras_attn_deblur._utils.validation import check_positive_float
from keras_attn_deblur._utils.validation import check_positive_int
from keras_attn_deblur._utils.validation import is_integer

DEFAULT_MEMORY_BUDGET_MB = 2048
"""The memory (MB) one inference may use unless told otherwise: larger photos go in tiles."""
DEFAULT_TILE_OVERLAP = 32
"""The least overlap of neighbouring tiles, in pixels, unless told otherwise."""

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
    tile_overlap=DEFAULT_TILE_OVERLAP,
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
    `tile_overlap`; when such tiles would need more memory than the budget,
    a `UserWarning` names the memory they would take and the grid is chosen
    as for `tile_size=None` among tiles of at most `tile_size` (raise
    `memory_budget_mb` to allow larger tiles).

    Args:
        model: `keras.Model`. The network; its width sets the memory per
            pixel (`model.activation_bytes_per_pixel()` where it has one).
        height: int. Image height in pixels.
        width: int. Image width in pixels.
        tile_size: int or `None`. Largest tile side, rounded down to a
            multiple of 16; must be more than `2 * tile_overlap`. Defaults to
            `None` (from the memory budget).
        tile_overlap: int. Least overlap between neighbouring tiles, in
            pixels. Defaults to `32`.
        memory_budget_mb: float or `None`. Activation memory allowed for one
            prediction, in MiB; it bounds the tiles with or without a
            `tile_size`. Defaults to `None` (`DEFAULT_MEMORY_BUDGET_MB`).
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
    check_tiling_options(tile_size, tile_overlap, memory_budget_mb, batch_size)
    return tile_grid(
        height,
        width,
        tile_size=tile_size,
        tile_overlap=tile_overlap,
        memory_budget_mb=memory_budget_mb,
        bytes_per_tile_pixel=activation_bytes_per_pixel(model) * batch_size,
    )


def tile_grid(height, width, *, tile_size, tile_overlap, memory_budget_mb, bytes_per_tile_pixel):
    """`plan_tiles` for checked options (`check_tiling_options`) and a known memory per pixel.

    `Deblurrer` checks its options and asks the model for its memory once,
    then plans each image with this.
    """
    if height < 1 or width < 1:
        raise ValueError(
            f"The image must be at least 1 pixel high and wide. Received: height={height}, "
            f"width={width}"
        )
    margin = tile_overlap // 2
    padded_height = _padded_length(height, margin)
    padded_width = _padded_length(width, margin)
    budget_mb = DEFAULT_MEMORY_BUDGET_MB if memory_budget_mb is None else memory_budget_mb
    bytes_per_band_row = _BAND_BYTES_PER_PIXEL * padded_width
    largest = None
    if tile_size is not None:
        largest = tile_size // _TILE_MULTIPLE * _TILE_MULTIPLE
        tile_height, row_starts = _split_axis_at_most(padded_height, largest, tile_overlap)
        tile_width, column_starts = _split_axis_at_most(padded_width, largest, tile_overlap)
        needed = tile_height * (tile_width * bytes_per_tile_pixel + bytes_per_band_row)
        if needed <= budget_mb * 2**20:
            starts = (tuple(row_starts), tuple(column_starts))
            return TilePlan(height, width, margin, tile_overlap, tile_height, tile_width, *starts)
        asked = f"{tile_height}x{tile_width}"
    (tile_height, row_starts), (tile_width, column_starts) = _split_for_budget(
        padded_height,
        padded_width,
        budget_bytes=budget_mb * 2**20,
        bytes_per_tile_pixel=bytes_per_tile_pixel,
        bytes_per_band_row=bytes_per_band_row,
        overlap=tile_overlap,
        budget_mb=budget_mb,
        largest=largest,
    )
    if tile_size is not None:
        warnings.warn(
            f"tile_size={tile_size} (--tile-size) asks for tiles of {asked} pixels, which "
            f"would take up to about {_memory_text(needed)} of memory for this "
            f"{width}x{height} image, over the memory budget of {budget_mb:g} MB: using "
            f"tiles of {tile_height}x{tile_width} instead. To allow the larger tiles, raise "
            f"memory_budget_mb (--memory-budget) to {math.ceil(needed / 2**20)}.",
            stacklevel=2,
        )
    starts = (tuple(row_starts), tuple(column_starts))
    return TilePlan(height, width, margin, tile_overlap, tile_height, tile_width, *starts)


def check_tiling_options(tile_size, tile_overlap, memory_budget_mb, batch_size):
    """Raises a `ValueError` naming the first tiling option that is out of range."""
    check_non_negative_int("tile_overlap", tile_overlap)
    if tile_size is not None and (
        not is_integer(tile_size)
        or tile_size < 16
        or tile_size // _TILE_MULTIPLE * _TILE_MULTIPLE <= 2 * tile_overlap
    ):
        raise ValueError(
            "`tile_size` must be None (from the memory budget) or an integer >= 16 "
            f"and more than 2 * tile_overlap = {2 * tile_overlap} (after rounding down to "
            f"a multiple of 16). Received: tile_size={tile_size!r}"
        )
    check_positive_float("memory_budget_mb", memory_budget_mb, allow_none=True)
    check_positive_int("batch_size", batch_size)


def activation_bytes_per_pixel(model):
    """The model's own estimate of one prediction's memory per pixel, else a generic one.

    The generic estimate, for a `keras.Model` that does not answer
    `activation_bytes_per_pixel()`: `4 x (6 x widest + 16)` with `widest`
    the widest output of any layer (an over-estimate for networks that
    downsample).
    """
    if callable(getattr(model, "activation_bytes_per_pixel", None)):
        return model.activation_bytes_per_pixel()
    widest = max((_channels(layer) for layer in model.layers), default=3)
    return 4 * (6 * widest + 16)


def _channels(layer):
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return 0
    if isinstance(shape, (tuple, list)) and shape and isinstance(shape[-1], int):
        return shape[-1]
    return 0


def _memory_text(size):
    """Bytes in words: `"18.5 GB"`, `"40 MB"`."""
    return f"{size / 2**30:.1f} GB" if size >= 2**30 else f"{math.ceil(size / 2**20)} MB"


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
    height,
    width,
    *,
    budget_bytes,
    bytes_per_tile_pixel,
    bytes_per_band_row,
    overlap,
    budget_mb,
    largest=None,
):
    """The grid with the fewest computed pixels whose memory fits `budget_bytes`.

    A grid of `tile_height x tile_width` tiles needs `tile_height *
    tile_width * bytes_per_tile_pixel` for one prediction plus `tile_height
    * bytes_per_band_row` for the band of rows being blended. Tile sides
    are at most `largest` pixels when it is not `None`.
    """
    largest = max(height, width) if largest is None else largest

    def widest_tile(tile_height):
        room = budget_bytes - tile_height * bytes_per_band_row
        widest = int(room // (tile_height * bytes_per_tile_pixel))
        return min(widest // _TILE_MULTIPLE * _TILE_MULTIPLE, largest)

    if height <= largest and widest_tile(height) >= width:
        return (height, [0]), (width, [0])
    smallest = 2 * overlap + _TILE_MULTIPLE
    best = None
    row_count = 1
    while True:
        tile_height, row_starts = _split_axis(height, row_count, overlap)
        if tile_height < smallest and row_count > 1:
            break
        widest = widest_tile(tile_height) if tile_height <= largest else 0
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


def axis_weights(starts, tile, length, overlap):
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


def reflect(indices, size):
    """Maps positions outside `range(size)` back inside by reflection (`np.pad` "reflect")."""
    if size == 1:
        return np.zeros_like(indices)
    period = 2 * (size - 1)
    indices = np.abs(indices) % period
    return np.where(indices < size, indices, period - indices)
