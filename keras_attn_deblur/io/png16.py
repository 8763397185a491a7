"""16-bit colour PNG, both directions, with NumPy and zlib only.

Pillow reads 16-bit *colour* PNGs (RGB, RGBA, grayscale + alpha) as 8-bit,
keeping only the high byte of each sample, and writes 16 bits only for
grayscale. This module fills both gaps:

- `decode_png16` inflates the IDAT stream, undoes the five PNG row filters
  (in bands of rows, so memory grows with the pixel count, not with the
  height squared) and the Adam7 interlacing, and keeps all 16 bits.
- `encode_png16` writes 16-bit gray + alpha, RGB or RGBA samples with row
  filter 2 ("up"), carrying the ICC profile, dpi and EXIF.

```python
from keras_attn_deblur.io import png16

if png16.sixteen_bit_colour_type("scan.png") is not None:
    samples = png16.decode_png16("scan.png")  # uint16 (H, W, 2|3|4)
with open("restored.png", "wb") as file:
    file.write(png16.encode_png16(samples, {}))
```
"""

import math
import struct
import zlib

import numpy as np

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour type -> samples per pixel, for the 16-bit colour types that
# Pillow reduces to 8 bits: truecolour, grayscale + alpha, truecolour + alpha.
_SIXTEEN_BIT_COLOUR_TYPES = {2: 3, 4: 2, 6: 4}
# Samples per pixel -> the mode name `io.decode.load_image_samples` gives them.
SIXTEEN_BIT_COLOUR_MODES = {2: "LA;16", 3: "RGB;16", 4: "RGBA;16"}
# Adam7 passes: (first row, first column, row step, column step).
_ADAM7_PASSES = (
    (0, 0, 8, 8),
    (0, 4, 8, 8),
    (4, 0, 8, 4),
    (0, 2, 4, 4),
    (2, 0, 4, 2),
    (0, 1, 2, 2),
    (1, 0, 2, 1),
)


# === Reading ===


def sixteen_bit_colour_type(path):
    """The PNG colour type when the file is a 16-bit colour PNG, else `None`."""
    with open(path, "rb") as file:
        start = file.read(33)
    if len(start) < 33 or not start.startswith(_PNG_SIGNATURE) or start[12:16] != b"IHDR":
        return None
    bit_depth, colour_type = start[24], start[25]
    if bit_depth == 16 and colour_type in _SIXTEEN_BIT_COLOUR_TYPES:
        return colour_type
    return None


def decode_png16(path):
    """Decodes a 16-bit colour PNG to (H, W, C) uint16 with NumPy and zlib.

    Raises `ValueError` or `zlib.error` for a truncated or corrupt file.
    """
    with open(path, "rb") as file:
        data = file.read()
    header = None
    compressed = []
    position = len(_PNG_SIGNATURE)
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        if len(body) < length:
            break  # truncated chunk; the size check below reports it
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed.append(body)
        elif kind == b"IEND":
            break
        position += 12 + length
    if header is None or len(header) != 13:
        raise ValueError("the PNG header chunk is missing")
    width, height, _, colour_type, compression, filter_method, interlace = struct.unpack(
        ">IIBBBBB", header
    )
    if compression != 0 or filter_method != 0 or interlace not in (0, 1):
        raise ValueError("unknown PNG compression, filter or interlace method")
    channels = _SIXTEEN_BIT_COLOUR_TYPES[colour_type]
    bytes_per_pixel = 2 * channels
    if interlace:
        passes = [
            (top, left, row_step, column_step)
            for top, left, row_step, column_step in _ADAM7_PASSES
            if height > top and width > left
        ]
    else:
        passes = [(0, 0, 1, 1)]
    pass_shapes = [
        (-(-(height - top) // row_step), -(-(width - left) // column_step))
        for top, left, row_step, column_step in passes
    ]
    expected = sum(rows * (1 + columns * bytes_per_pixel) for rows, columns in pass_shapes)
    raw = zlib.decompressobj().decompress(b"".join(compressed), expected)
    if len(raw) < expected:
        raise ValueError(f"image data ends early ({len(raw)} of {expected} bytes)")
    pixels = np.empty((height, width, bytes_per_pixel), dtype=np.uint8)
    offset = 0
    for (top, left, row_step, column_step), (rows, columns) in zip(passes, pass_shapes):
        size = rows * (1 + columns * bytes_per_pixel)
        scanlines = np.frombuffer(raw, np.uint8, size, offset).reshape(rows, -1)
        pixels[top::row_step, left::column_step] = _unfilter_in_bands(scanlines, bytes_per_pixel)
        offset += size
    return pixels.reshape(height, -1).view(">u2").reshape(height, width, channels)


# Elements of int16 working memory per band of rows in `_unfilter` (64 MB an array).
_BAND_ELEMENTS = 2**25


def _unfilter_in_bands(scanlines, bytes_per_pixel):
    """`_unfilter` over bands of rows, so that memory grows with the pixel count.

    One band of `R` rows and `C` columns needs `(R + C) x R` working
    elements (the diagonal shear); bands keep that under `_BAND_ELEMENTS`, each
    band starting from the last decoded row of the one above.
    """
    rows = scanlines.shape[0]
    columns = (scanlines.shape[1] - 1) // bytes_per_pixel
    per_row = max(1, columns * bytes_per_pixel)
    band = int(min(_BAND_ELEMENTS / per_row, math.sqrt(_BAND_ELEMENTS / bytes_per_pixel)))
    band = max(8, min(rows, band))
    decoded = np.empty((rows, columns, bytes_per_pixel), dtype=np.uint8)
    previous = np.zeros((columns, bytes_per_pixel), dtype=np.int16)
    for start in range(0, rows, band):
        decoded[start : start + band] = _unfilter(scanlines[start : start + band],
                                                  bytes_per_pixel, previous)  # fmt: skip
        previous = decoded[min(start + band, rows) - 1].astype(np.int16)
    return decoded


def _unfilter(scanlines, bytes_per_pixel, previous=None):
    """Undoes PNG row filtering: (rows, 1 + columns * bpp) -> (rows, columns, bpp) uint8.

    Each byte is predicted from its left (a), upper (b) and upper-left (c)
    neighbours, already decoded; `previous` is the decoded row above the
    first one (zeros at the top of the image). Every pixel on an
    anti-diagonal `row + column = t` depends only on the diagonals `t - 1`
    and `t - 2`, so the rows are sheared until those diagonals are array rows
    and each step decodes one whole diagonal with NumPy: `rows + columns`
    steps, not `rows * columns`.
    """
    filters = scanlines[:, 0].astype(np.int16)
    if filters.size and filters.max() > 4:
        raise ValueError(f"unknown PNG row filter {int(filters.max())}")
    rows = scanlines.shape[0]
    columns = (scanlines.shape[1] - 1) // bytes_per_pixel
    filtered = scanlines[:, 1:].reshape(rows, columns, bytes_per_pixel).astype(np.int16)
    row_index = np.arange(rows)[:, None]
    diagonal_index = row_index + np.arange(columns)[None, :]
    # sheared[t, i] = filtered[i, t - i]; decoded[t + 2, i + 1] = pixel (i, t - i).
    # The zero border stands for the bytes outside the image, which PNG takes as 0;
    # column 0 holds the row above (pixel (-1, c) at decoded[c + 1, 0]).
    sheared = np.zeros((rows + columns, rows, bytes_per_pixel), dtype=np.int16)
    sheared[diagonal_index, row_index] = filtered
    decoded = np.zeros((rows + columns + 1, rows + 1, bytes_per_pixel), dtype=np.int16)
    if previous is not None:
        decoded[1 : columns + 1, 0] = previous
    filters = filters[:, None]
    for t in range(rows + columns - 1):
        first, last = max(0, t - columns + 1), min(rows - 1, t)
        kind = filters[first : last + 1]
        left = decoded[t + 1, first + 1 : last + 2]
        up = decoded[t + 1, first : last + 1]
        up_left = decoded[t, first : last + 1]
        estimate = left + up - up_left
        distance_left = np.abs(estimate - left)
        distance_up = np.abs(estimate - up)
        distance_up_left = np.abs(estimate - up_left)
        paeth = np.where(
            (distance_left <= distance_up) & (distance_left <= distance_up_left),
            left,
            np.where(distance_up <= distance_up_left, up, up_left),
        )
        prediction = np.select(
            [kind == 1, kind == 2, kind == 3, kind == 4],
            [left, up, (left + up) >> 1, paeth],
            0,
        )
        decoded[t + 2, first + 1 : last + 2] = (sheared[t, first : last + 1] + prediction) & 0xFF
    return decoded[diagonal_index + 2, row_index + 1].astype(np.uint8)


# === Writing ===


def _png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def encode_png16(samples, info):
    """A 16-bit gray + alpha, RGB or RGBA PNG file's bytes (Pillow writes only 16-bit gray).

    Args:
        samples: uint16 array `(H, W, C)`, C = 2, 3 or 4.
        info: dict. `"icc_profile"`, `"dpi"` and `"exif"` are written when
            present (see `io.decode.load_image_samples`).

    Returns:
        The PNG file as bytes.
    """
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
    return _PNG_SIGNATURE + b"".join(chunks)
