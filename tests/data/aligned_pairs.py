"""Image pairs whose alignment can be checked pixel by pixel.

The sharp image of a pair encodes where each pixel comes from: red is the
column `x`, green the row `y` (both < 256) and blue a tag that names the
pair. The blurry image is the same picture plus a constant `OFFSET` (modulo
256). Both are saved as lossless 8-bit PNGs, so after any crop, flip or
rotation:

- `blurry - sharp == OFFSET (mod 256)` at every pixel iff the two patches
  were cut and turned identically;
- the (x, y) values of a patch tell its window in the original image, so
  tests can check that crops come from many positions.
"""

import os

import numpy as np
from PIL import Image

OFFSET = 37


def coordinate_image(height, width, tag=0):
    """uint8 `(height, width, 3)`: R = x, G = y, B = tag."""
    if height > 256 or width > 256:
        raise ValueError("Coordinate images are at most 256 x 256 pixels.")
    rows, columns = np.mgrid[0:height, 0:width]
    tags = np.full((height, width), tag)
    return np.stack([columns, rows, tags], axis=-1).astype("uint8")


def blurry_counterpart(sharp):
    """The "blurry" image of a coordinate pair: sharp + OFFSET (mod 256)."""
    return ((sharp.astype("int64") + OFFSET) % 256).astype("uint8")


def save_png(path, image):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def write_coordinate_pair(blurry_path, sharp_path, height, width, tag=0):
    sharp = coordinate_image(height, width, tag)
    save_png(sharp_path, sharp)
    save_png(blurry_path, blurry_counterpart(sharp))
    return blurry_path, sharp_path


def write_coordinate_pairs(directory, sizes):
    """One pair per `(height, width)` in `sizes`, tagged 0, 1, 2, ..."""
    pairs = []
    for tag, (height, width) in enumerate(sizes):
        pairs.append(
            write_coordinate_pair(
                os.path.join(directory, "blur", f"{tag:03d}.png"),
                os.path.join(directory, "sharp", f"{tag:03d}.png"),
                height,
                width,
                tag,
            )
        )
    return pairs


def write_gopro_tree(root, split="train", sequences=("GOPR0001_00", "GOPR0002_00"),
                     frames=2, size=(48, 64)):
    """A GOPRO_Large-layout tree: root/split/SEQ/{blur,sharp}/NNNNNN.png."""
    tag = 0
    for sequence in sequences:
        for frame in range(frames):
            name = f"{frame:06d}.png"
            write_coordinate_pair(
                os.path.join(root, split, sequence, "blur", name),
                os.path.join(root, split, sequence, "sharp", name),
                *size,
                tag,
            )
            tag += 1
    return root


def to_uint8(image):
    """Float `[0, 1]` image from the pipeline -> the integers that were saved."""
    image = np.asarray(image, dtype="float64")
    assert image.min() >= 0.0 and image.max() <= 1.0
    return np.rint(image * 255.0).astype("int64")


def check_aligned(blurry, sharp):
    """Asserts the patches are aligned windows; returns (tag, top, left).

    `blurry` and `sharp` are float `(height, width, 3)` patches of one
    coordinate pair after identical cropping, flipping and rotation.
    """
    blurry, sharp = to_uint8(blurry), to_uint8(sharp)
    np.testing.assert_array_equal((blurry - sharp) % 256, OFFSET)
    columns, rows, tags = sharp[..., 0], sharp[..., 1], sharp[..., 2]
    assert np.all(tags == tags[0, 0]), "a patch mixes two pairs"
    # A window, possibly flipped or rotated: x and y each step by the same
    # +1 or -1 along one axis of the patch, and along different axes.
    assert _changing_axis(columns) != _changing_axis(rows), "x and y change together"
    return int(tags[0, 0]), int(rows.min()), int(columns.min())


def _changing_axis(coordinate):
    for axis in (0, 1):
        steps = np.diff(coordinate, axis=axis)
        across = np.diff(coordinate, axis=1 - axis)
        if steps.size and abs(steps.flat[0]) == 1 and np.all(steps == steps.flat[0]):
            if np.all(across == 0):
                return axis
    raise AssertionError("the patch is not a (flipped or rotated) window of the image")


def orientation(sharp):
    """How a coordinate patch is turned: (axis along which x changes, x step, y step)."""
    sharp = to_uint8(sharp)
    columns, rows = sharp[..., 0], sharp[..., 1]
    x_axis = _changing_axis(columns)
    x_step = int(np.diff(columns, axis=x_axis).flat[0])
    y_step = int(np.diff(rows, axis=1 - x_axis).flat[0])
    return x_axis, x_step, y_step


def check_batch_aligned(blurry_batch, sharp_batch):
    """`check_aligned` on every example; returns the list of (tag, top, left)."""
    blurry_batch, sharp_batch = np.asarray(blurry_batch), np.asarray(sharp_batch)
    assert blurry_batch.shape == sharp_batch.shape
    return [check_aligned(b, s) for b, s in zip(blurry_batch, sharp_batch)]


def reflect_indices(size, target):
    """Hand-written centred reflection: indices of a `size` axis padded to `target`."""
    before = (target - size) // 2
    if size == 1:
        return [0] * target
    indices = []
    for position in range(-before, target - before):
        index = position
        while index < 0 or index >= size:  # Mirror at the edges, edge not repeated.
            index = -index if index < 0 else 2 * (size - 1) - index
        indices.append(index)
    return indices
