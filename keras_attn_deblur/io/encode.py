"""Writing restored images: the format from the file name, bit depth, metadata, atomically.

```python
from keras_attn_deblur.io.decode import load_image_samples
from keras_attn_deblur.io.encode import write_image

samples, mode, info = load_image_samples("photo.jpg")
write_image("copy.jpg", samples, mode, info)  # JPEG quality 95, same subsampling, EXIF, ICC
```

The samples, `mode` and `info` are those of `io.decode.load_image_samples`:
8-bit files are written by Pillow, 16-bit colour samples (`"RGB;16"`, ...)
by `io.png16.encode_png16` (PNG only). What each format keeps: the ICC
profile (JPEG, PNG, TIFF, WebP), the EXIF block (JPEG, PNG, WebP), the dpi
(JPEG, PNG, TIFF), JPEG's chroma subsampling and TIFF's lossless
compression. JPEG and WebP are written at quality `JPEG_QUALITY` (95).
"""

import contextlib
import os

import numpy as np
from PIL import Image

from keras_attn_deblur._utils.paths import write_atomically
from keras_attn_deblur.io import png16

JPEG_QUALITY = 95
# The metadata `to_pil` carries in `PIL.Image.info`.
_CARRIED_KEYS = ("icc_profile", "exif", "dpi")


def format_for(path):
    """Pillow's format name for writing `path`, from its extension (`"PNG"`, `"JPEG"`, ...).

    Raises:
        ValueError: the extension names no format Pillow writes.
    """
    extension = os.path.splitext(path)[1].lower()
    format_name = Image.registered_extensions().get(extension)
    if format_name is None or format_name not in Image.SAVE:
        raise ValueError(
            f"Cannot tell which image format to write for '{path}' (extension "
            f"{extension or 'missing'!r}). Use .png, .jpg, .tif or .webp."
        )
    return format_name


def to_pil(samples, mode, info):
    """A Pillow image of `mode` from samples, carrying the ICC profile, EXIF and dpi of `info`.

    `mode` is one of `load_image_samples`'s 8- or 16-bit gray and 8-bit
    colour modes, or `"I"` (32-bit integer gray), or a mode the samples were
    converted from (`CMYK`, `YCbCr`, ...): RGB samples are converted back
    to it where Pillow can.
    """
    if mode == "I":
        image = Image.fromarray(samples.astype(np.int32))
    else:
        image = Image.fromarray(samples)
        if mode not in ("L", "LA", "RGB", "RGBA", "I;16"):
            with contextlib.suppress(ValueError):  # no direct conversion (LAB): stays RGB
                image = image.convert(mode)
    image.info.update({key: info[key] for key in _CARRIED_KEYS if info.get(key)})
    return image


def encode_image(file, samples, mode, info, format_name):
    """Writes samples to the open binary `file` in `format_name`, with the metadata it keeps."""
    if mode in png16.SIXTEEN_BIT_COLOUR_MODES.values():
        if format_name != "PNG":
            raise ValueError(
                f"16-bit colour images can only be written as PNG, not {format_name}; "
                "use a .png output name"
            )
        file.write(png16.encode_png16(samples, info))
        return
    image = to_pil(samples, mode, info)
    options = {}
    if format_name in ("JPEG", "PNG", "TIFF", "WEBP") and info.get("icc_profile"):
        options["icc_profile"] = info["icc_profile"]
    if format_name in ("JPEG", "PNG", "WEBP") and info.get("exif"):
        options["exif"] = info["exif"]
    if format_name in ("JPEG", "PNG", "TIFF") and info.get("dpi"):
        options["dpi"] = info["dpi"]
    if format_name == "JPEG":
        options["quality"] = JPEG_QUALITY
        if "subsampling" in info:
            options["subsampling"] = info["subsampling"]
    elif format_name == "WEBP":
        options["quality"] = JPEG_QUALITY
    elif format_name == "TIFF" and info.get("compression"):
        options["compression"] = info["compression"]
    image.save(file, format=format_name, **options)


def write_image(path, samples, mode, info):
    """Writes samples to `path` atomically, in the format its extension names.

    Args:
        path: str or path-like. The image file; its folder must exist.
        samples: array. `(H, W)` or `(H, W, C)` samples, as
            `load_image_samples` gives them.
        mode: str. Their mode, as `load_image_samples` gives it.
        info: dict. Their metadata, as `load_image_samples` gives it.

    Returns:
        `path`, as a str.

    Raises:
        ValueError: the extension names no format Pillow writes, or 16-bit
            colour samples are to be written in another format than PNG.
        OSError: the file cannot be written, a full disk included: one
            line naming `path`, which is left as it was, never truncated
            (`_utils.paths.write_atomically`).
    """
    format_name = format_for(os.fspath(path))
    return write_atomically(
        path, lambda file: encode_image(file, samples, mode, info, format_name)
    )
