"""Reading one image file into a float32 RGB array in [0, 1], without TensorFlow.

`load_image` decodes with Pillow and normalises every layout real deblurring
datasets contain to one shape, `(height, width, 3)`:

- 8-bit images (PNG, JPEG, BMP, TIFF, WebP) are divided by 255; 16-bit
  grayscale PNGs (Pillow modes `I;16*` and `I`) by 65535.
- Grayscale is repeated to three channels, palette images are expanded to RGB,
  and an alpha channel is dropped without compositing, so the RGB values are
  the stored ones.
- The EXIF orientation is honoured (`PIL.ImageOps.exif_transpose`), the way a
  photo viewer shows the picture.

16-bit colour PNGs (RGB, RGBA and grayscale with alpha) are the one case
Pillow cannot read at full precision: it opens them as 8-bit `RGB`/`RGBA` and
keeps only the high byte of each sample. Those files are decoded here instead
by a small PNG reader that uses only `zlib` and NumPy (`io.png16`), which
keeps all 16 bits. Pillow still reads the header, so the
size, the decompression-bomb limit and the EXIF orientation are checked the
same way for every file.

`image_size` reads only the header, which makes checking thousands of pairs
cheap. `load_image_samples` keeps the file's own bit depth, channels and
metadata (ICC profile, EXIF), for writing a restored photo back. Every
failure is an `ImageReadError` whose one-line message names the file, the
problem and the fix.
"""

import os
import struct
import zlib

import numpy as np
from PIL import Image
from PIL import ImageOps

from keras_attn_deblur._utils.errors import one_line
from keras_attn_deblur.io import png16
from keras_attn_deblur.io.convert import SIXTEEN_BIT_GRAY_MODES
from keras_attn_deblur.io.convert import pil_to_float_rgb
from keras_attn_deblur.io.convert import samples_to_float_rgb

_EXIF_ORIENTATION_TAG = 0x0112
_SWAPPED_ORIENTATIONS = (5, 6, 7, 8)
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error, struct.error)
_REMOVE_FIX = "Re-download or re-export the file, or remove it from the dataset."
# Pillow modes kept as they are by `load_image_samples`, and the modes that
# are converted first (to the nearest mode that can hold restored pixels).
_KEPT_MODES = ("L", "LA", "RGB", "RGBA")
_CONVERTED_MODES = {"1": "L", "La": "LA", "PA": "RGBA", "RGBa": "RGBA", "RGBX": "RGB"}
_FLOAT_FIX = "Save it as an 8- or 16-bit PNG."
# Lossless TIFF compressions worth carrying over to a rewritten file.
_TIFF_COMPRESSIONS = ("tiff_lzw", "tiff_deflate", "tiff_adobe_deflate", "packbits")


class ImageReadError(ValueError):
    """An image file that cannot be read.

    Raised by `load_image`, `load_image_samples` and `image_size` for a
    missing file, an empty file, a file that is not an image, a truncated or
    corrupt image, and an image larger than Pillow's decompression-bomb
    limit. The message is one line: the file, the problem and the fix.

    Args:
        path: str. The file that could not be read.
        problem: str. What is wrong, worded to follow the file name
            (`"does not exist"`).
        fix: str. What to do about it, as a sentence.

    Example:

    ```python
    from keras_attn_deblur.io.decode import ImageReadError, load_image

    try:
        load_image("/datasets/missing.png")
    except ImageReadError as error:
        print(error.path, error.problem)
    ```
    """

    def __init__(self, path, problem, fix):
        self.path = os.fspath(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"Image file '{self.path}' {problem}. {fix}")

    def __reduce__(self):
        # Keeps the error picklable, so it crosses worker processes intact.
        return type(self), (self.path, self.problem, self.fix)


def load_image(path):
    """Decodes an image file to a float32 RGB array in `[0, 1]`.

    8-bit images are divided by 255 and 16-bit PNGs by 65535. Grayscale
    becomes three identical channels, palette images are expanded, alpha is
    dropped (the RGB values are kept as stored, not composited), and the EXIF
    orientation is applied. The whole file is decoded, so truncation is
    detected here.

    Args:
        path: str or path-like. The image file: PNG (8- or 16-bit), JPEG, or
            any other format Pillow reads.

    Returns:
        A float32 NumPy array of shape `(height, width, 3)` in `[0, 1]`, with
        `height` and `width` after the EXIF orientation.

    Raises:
        ImageReadError: the file is missing, empty, not an image, truncated or
            corrupt, or larger than `PIL.Image.MAX_IMAGE_PIXELS` allows.

    Example:

    ```python
    from keras_attn_deblur.io.decode import load_image

    sharp = load_image("GOPRO_Large/test/GOPR0384_11_00/sharp/000001.png")
    sharp.shape, sharp.dtype  # ((720, 1280, 3), dtype('float32'))
    ```
    """
    path = os.fspath(path)
    with _open_image(path) as image:
        orientation = _exif_orientation(image)
        if image.format == "PNG" and png16.sixteen_bit_colour_type(path) is not None:
            samples = _decode_png16(path)
            return np.ascontiguousarray(
                _apply_orientation(samples_to_float_rgb(samples), orientation)
            )
        image = _load_oriented(image, path)
        try:
            return pil_to_float_rgb(image)
        except ValueError as error:
            raise ImageReadError(path, str(error), _FLOAT_FIX) from error


def load_image_samples(path):
    """Decodes an image file to its stored samples, keeping bit depth and channels.

    Where `load_image` normalises every file to float RGB, this keeps what a
    photo editor would save back: 8-bit files give `uint8` samples and 16-bit
    PNGs `uint16` (all 16 bits, also for colour), grayscale stays one
    channel and alpha is kept. The EXIF orientation is applied to the pixels.

    | file mode (Pillow) | samples | returned `mode` |
    |---|---|---|
    | `L`, `LA`, `RGB`, `RGBA` | uint8, 1/2/3/4 channels | the same |
    | `I;16*`, `I` (16-bit gray) | uint16, 1 channel | `"I;16"` |
    | 16-bit colour PNG | uint16, 2/3/4 channels | `"LA;16"`, `"RGB;16"`, `"RGBA;16"` |
    | `1` | uint8 gray | `"L"` |
    | `P` | uint8 RGB, or RGBA with transparency | `"RGB"` / `"RGBA"` |
    | `CMYK`, `YCbCr`, `LAB`, `HSV` | uint8 RGB | the file's mode (convert back to save) |

    Args:
        path: str or path-like. The image file.

    Returns:
        A tuple `(samples, mode, info)`: `samples` a NumPy array of shape
        `(height, width)` or `(height, width, channels)` after the EXIF
        orientation; `mode` as in the table; `info` a dict with `"format"`
        (Pillow's name, e.g. `"JPEG"`) and, when the file has them,
        `"icc_profile"` (bytes), `"exif"` (bytes, orientation reset to 1
        since the pixels are already turned), `"dpi"`, for JPEG
        `"subsampling"` (0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0) and for TIFF a
        lossless `"compression"` (`"tiff_lzw"`, `"tiff_adobe_deflate"`, ...).

    Raises:
        ImageReadError: the file is missing, empty, not an image, truncated or
            corrupt, larger than `PIL.Image.MAX_IMAGE_PIXELS` allows, or holds
            32-bit samples whose range is unknown.

    Example:

    ```python
    from keras_attn_deblur.io.decode import load_image_samples

    samples, mode, info = load_image_samples("photo.jpg")
    samples.dtype, mode, info["format"]  # (dtype('uint8'), 'RGB', 'JPEG')
    ```
    """
    path = os.fspath(path)
    with _open_image(path) as image:
        orientation = _exif_orientation(image)
        info = _saved_metadata(image)
        if image.format == "PNG" and png16.sixteen_bit_colour_type(path) is not None:
            samples = _decode_png16(path)
            samples = _apply_orientation(samples.astype(np.uint16), orientation)
            mode = png16.SIXTEEN_BIT_COLOUR_MODES[samples.shape[-1]]
            return np.ascontiguousarray(samples), mode, info
        image = _load_oriented(image, path)
        try:
            samples, mode = image_samples(image)
        except ValueError as error:
            raise ImageReadError(path, str(error), _FLOAT_FIX) from error
        return samples, mode, info


def _decode_png16(path):
    """`png16.decode_png16(path)`, its failures as an `ImageReadError`."""
    try:
        return png16.decode_png16(path)
    except _DECODE_ERRORS as error:
        raise ImageReadError(
            path, f"is truncated or corrupt ({one_line(error)})", _REMOVE_FIX
        ) from error


def _load_oriented(image, path):
    """Decodes all of `image` (so truncation shows here) and applies its EXIF orientation."""
    try:
        image.load()
    except Image.DecompressionBombError as error:
        raise _bomb_error(path, error) from error
    except _DECODE_ERRORS as error:
        raise ImageReadError(
            path, f"is truncated or corrupt ({one_line(error)})", _REMOVE_FIX
        ) from error
    return ImageOps.exif_transpose(image)


def _saved_metadata(image):
    """What a writer should carry over: format, ICC profile, EXIF, dpi, JPEG subsampling."""
    info = {"format": image.format}
    for key in ("icc_profile", "dpi"):
        if image.info.get(key):
            info[key] = image.info[key]
    if "exif" in image.info:
        try:
            # A fresh copy: changing `image.getexif()` would change what
            # `exif_transpose` reads.
            exif = Image.Exif()
            exif.load(image.info["exif"])
            if _EXIF_ORIENTATION_TAG in exif:
                exif[_EXIF_ORIENTATION_TAG] = 1
            info["exif"] = exif.tobytes()
        except _DECODE_ERRORS:
            pass  # unreadable EXIF: the pixels are still good, the tags are dropped
    if image.format == "TIFF" and image.info.get("compression") in _TIFF_COMPRESSIONS:
        info["compression"] = image.info["compression"]
    if image.format == "JPEG":
        from PIL import JpegImagePlugin

        subsampling = JpegImagePlugin.get_sampling(image)
        if subsampling in (0, 1, 2):
            info["subsampling"] = subsampling
    return info


def image_samples(image):
    """Converts a loaded Pillow image to its samples, as `load_image_samples` does.

    Args:
        image: `PIL.Image.Image`. The image, already oriented if needed.

    Returns:
        A tuple `(samples, mode)`, see the table of `load_image_samples`.

    Raises:
        ValueError: the image holds 32-bit samples whose range is unknown
            (mode `"F"`, or mode `"I"` with values outside 0-65535). The
            message says what is wrong, worded to follow a file name.
    """
    mode = image.mode
    if mode in SIXTEEN_BIT_GRAY_MODES:
        samples = np.asarray(image)
        if samples.size and (samples.min() < 0 or samples.max() > 65535):
            raise ValueError(
                f"holds 32-bit integer samples outside the 16-bit range (mode {mode})"
            )
        return samples.astype(np.uint16), "I;16"
    if mode == "F":
        raise ValueError("holds 32-bit floating-point samples, whose value range is unknown")
    if mode in _KEPT_MODES:
        return np.asarray(image), mode
    if mode == "P":
        target = "RGBA" if "transparency" in image.info else "RGB"
        return np.asarray(image.convert(target)), target
    if mode in _CONVERTED_MODES:
        target = _CONVERTED_MODES[mode]
        return np.asarray(image.convert(target)), target
    # CMYK, YCbCr, LAB, HSV: restored in RGB; the caller converts back.
    return np.asarray(image.convert("RGB")), mode


def image_size(path):
    """Reads the `(height, width)` of an image from its header only.

    The size is the one `load_image` returns: for EXIF orientations 5 to 8
    (the rotated ones) height and width are swapped. Nothing but the header
    is read, so truncation is not detected here; `load_image` detects it.
    (A PNG whose EXIF chunk comes after the pixel data, which the PNG
    specification allows but writers rarely do, is sized as unrotated.)

    Args:
        path: str or path-like. The image file.

    Returns:
        A tuple of two ints, `(height, width)`.

    Raises:
        ImageReadError: the file is missing, empty, not an image, or larger
            than `PIL.Image.MAX_IMAGE_PIXELS` allows.

    Example:

    ```python
    from keras_attn_deblur.io.decode import image_size

    image_size("GOPRO_Large/test/GOPR0384_11_00/blur/000001.png")  # (720, 1280)
    ```
    """
    path = os.fspath(path)
    with _open_image(path) as image:
        width, height = image.size
        if _exif_orientation(image) in _SWAPPED_ORIENTATIONS:
            height, width = width, height
    return height, width


def _open_image(path):
    """Opens `path` with Pillow (header only), turning each failure into one line."""
    if not os.path.exists(path):
        raise ImageReadError(
            path,
            "does not exist",
            "Check the path, or list the pairs again if files were moved or deleted.",
        )
    if os.path.isdir(path):
        raise ImageReadError(
            path, "is a folder, not an image file", "Pass the path of an image file."
        )
    if os.path.getsize(path) == 0:
        raise ImageReadError(
            path,
            "is empty (0 bytes), probably an interrupted download or copy",
            "Copy the file again, or remove it from the dataset.",
        )
    try:
        image = Image.open(path)
    except Image.DecompressionBombError as error:
        raise _bomb_error(path, error) from error
    except PermissionError as error:
        raise ImageReadError(
            path, "cannot be opened (permission denied)", "Make the file readable."
        ) from error
    except _DECODE_ERRORS as error:
        raise ImageReadError(
            path,
            f"is not an image Pillow can read{_text_hint(path)}",
            "Replace it with a valid PNG or JPEG file, or remove it from the dataset.",
        ) from error
    frames = getattr(image, "n_frames", 1)
    if image.format in _MULTI_FRAME_FORMATS and frames > 1:
        image.close()
        raise ImageReadError(
            path,
            f"holds {frames} frames (an animation or a multi-page {image.format} file), "
            "and only still images are restored",
            "Extract the frames first (for example 'ffmpeg -i INPUT frame_%04d.png') and "
            "deblur the folder of frames.",
        )
    return image


# Formats whose extra frames are more pictures (refused); a JPEG's extra MPO
# frames are previews or depth maps of the primary image, which is read.
_MULTI_FRAME_FORMATS = ("GIF", "PNG", "WEBP", "TIFF")


def _text_hint(path):
    """Says so when a file that should be an image holds text (say, an HTML page)."""
    with open(path, "rb") as file:
        start = file.read(512)
    try:
        text = start.decode("utf-8")
    except UnicodeDecodeError:
        return " (unknown format or damaged header)"
    if all(char.isprintable() or char.isspace() for char in text):
        return f" (it holds text, starting {text[:40].strip()!r}, not image data)"
    return " (unknown format or damaged header)"


def _bomb_error(path, error):
    return ImageReadError(
        path,
        f"is larger than Pillow's decompression-bomb limit ({one_line(error).rstrip('.')})",
        "If you trust the file, raise the limit before loading, e.g. "
        "`PIL.Image.MAX_IMAGE_PIXELS = 500_000_000` (or `None` to switch the check off).",
    )


def _exif_orientation(image):
    """The EXIF orientation tag (1 to 8), or 1 when there is none or it is unreadable."""
    if image.format == "PNG" and "exif" not in image.info:
        # Pillow's PNG `getexif()` decodes the whole image to look for an
        # eXIf chunk after the pixels; only the header's chunks are read here.
        return 1
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except _DECODE_ERRORS:
        return 1
    return orientation if orientation in range(1, 9) else 1


def _apply_orientation(array, orientation):
    """Applies an EXIF orientation to an (H, W, C) array, as `exif_transpose` does."""
    if orientation == 2:
        return array[:, ::-1]
    if orientation == 3:
        return array[::-1, ::-1]
    if orientation == 4:
        return array[::-1]
    if orientation == 5:
        return array.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(array, k=-1)
    if orientation == 7:
        return array[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:
        return np.rot90(array, k=1)
    return array
