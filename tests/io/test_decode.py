import pickle
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from keras_attn_deblur.io.decode import ImageReadError
from keras_attn_deblur.io.decode import image_size
from keras_attn_deblur.io.decode import load_image

HEIGHT, WIDTH = 24, 32
EXIF_ORIENTATION = 0x0112


def _random_uint8(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def _random_uint16(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 65536, size=shape, dtype=np.uint16)


def _smooth_uint8(height, width):
    """A smooth picture (JPEG keeps it well) whose left half is dark."""
    rows, columns = np.mgrid[0:height, 0:width]
    red = 40 + 150 * (columns >= width // 2) + 2 * rows
    green = 4 * columns + rows
    blue = np.full_like(rows, 128)
    return np.stack([red, green, blue], axis=-1).astype(np.uint8)


# A PNG encoder written from the PNG specification, independent of the code
# under test: 16-bit samples, every row filter and Adam7 interlacing.


def _png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _paeth(left, up, up_left):
    estimate = left + up - up_left
    distance_left = np.abs(estimate - left)
    distance_up = np.abs(estimate - up)
    distance_up_left = np.abs(estimate - up_left)
    return np.where(
        (distance_left <= distance_up) & (distance_left <= distance_up_left),
        left,
        np.where(distance_up <= distance_up_left, up, up_left),
    )


def _filter_rows(pixels, first_filter):
    """Filters (rows, columns, bpp) bytes, cycling through filter types 0-4."""
    rows, columns, bytes_per_pixel = pixels.shape
    current = pixels.reshape(rows, -1).astype(np.int32)
    scanlines = []
    for row in range(rows):
        line = current[row]
        up = current[row - 1] if row else np.zeros_like(line)
        left = np.concatenate([np.zeros(bytes_per_pixel, np.int32), line[:-bytes_per_pixel]])
        up_left = np.concatenate([np.zeros(bytes_per_pixel, np.int32), up[:-bytes_per_pixel]])
        kind = (first_filter + row) % 5
        prediction = [0, left, up, (left + up) // 2, _paeth(left, up, up_left)][kind]
        scanlines.append(bytes([kind]) + ((line - prediction) % 256).astype(np.uint8).tobytes())
    return b"".join(scanlines)


def _write_png16(path, samples, colour_type, interlace=False, exif=None):
    """Writes uint16 samples (H, W, C) as a 16-bit PNG of the given colour type."""
    height, width, channels = samples.shape
    pixels = samples.astype(">u2").view(np.uint8).reshape(height, width, 2 * channels)
    if interlace:
        passes = ((0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4),
                  (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1))  # fmt: skip
    else:
        passes = ((0, 0, 1, 1),)
    data = b""
    for index, (top, left, row_step, column_step) in enumerate(passes):
        sub_image = pixels[top::row_step, left::column_step]
        if sub_image.size:
            data += _filter_rows(sub_image, first_filter=index)
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, int(interlace))
    chunks = _png_chunk(b"IHDR", header)
    if exif is not None:
        chunks += _png_chunk(b"eXIf", exif)
    chunks += _png_chunk(b"IDAT", zlib.compress(data)) + _png_chunk(b"IEND", b"")
    with open(path, "wb") as file:
        file.write(b"\x89PNG\r\n\x1a\n" + chunks)


def _exif_bytes(orientation):
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    return exif.tobytes()


def _assert_one_line_error(error, path, *words):
    message = str(error.value)
    assert "\n" not in message
    assert path.name in message
    for word in words:
        assert word in message


# Formats and layouts.


def test_8_bit_png(tmp_path):
    pixels = _random_uint8((HEIGHT, WIDTH, 3))
    Image.fromarray(pixels).save(tmp_path / "image.png")
    image = load_image(tmp_path / "image.png")
    assert image.dtype == np.float32
    assert image.shape == (HEIGHT, WIDTH, 3)
    np.testing.assert_allclose(image, pixels / 255.0, rtol=0, atol=1e-7)
    assert image_size(tmp_path / "image.png") == (HEIGHT, WIDTH)


def test_16_bit_grayscale_png(tmp_path):
    samples = _random_uint16((HEIGHT, WIDTH))
    Image.fromarray(samples).save(tmp_path / "gray16.png")
    image = load_image(tmp_path / "gray16.png")
    assert image.shape == (HEIGHT, WIDTH, 3)
    for channel in range(3):
        np.testing.assert_allclose(image[:, :, channel], samples / 65535.0, rtol=0, atol=1e-7)


@pytest.mark.parametrize("interlace", [False, True], ids=["plain", "adam7"])
@pytest.mark.parametrize("colour_type", [2, 6], ids=["rgb", "rgba"])
def test_16_bit_colour_png_keeps_all_16_bits(tmp_path, colour_type, interlace):
    channels = 3 if colour_type == 2 else 4
    # 13 x 11 is not a multiple of the Adam7 8 x 8 tile: every pass is ragged.
    samples = _random_uint16((13, 11, channels), seed=colour_type)
    path = tmp_path / "colour16.png"
    _write_png16(path, samples, colour_type, interlace=interlace)
    image = load_image(path)
    assert image.shape == (13, 11, 3)
    # 1 / 65535 is about 1.5e-5; 8-bit precision would be off by up to 1 / 256.
    np.testing.assert_allclose(image, samples[:, :, :3] / 65535.0, rtol=0, atol=1e-7)


def test_16_bit_gray_alpha_png(tmp_path):
    samples = _random_uint16((HEIGHT, WIDTH, 2), seed=4)
    _write_png16(tmp_path / "gray_alpha16.png", samples, colour_type=4)
    image = load_image(tmp_path / "gray_alpha16.png")
    expected = np.repeat(samples[:, :, :1] / 65535.0, 3, axis=-1)
    np.testing.assert_allclose(image, expected, rtol=0, atol=1e-7)


def test_16_bit_rgb_png_written_by_libpng(tmp_path):
    tf = pytest.importorskip("tensorflow")
    # A smooth 16-bit picture, so libpng's adaptive filtering uses several filters.
    rows, columns = np.mgrid[0:40, 0:56]
    samples = np.stack([rows * 1500 + columns, columns * 1100, (rows * columns * 29) % 65536], -1)
    samples = samples.astype(np.uint16)
    tf.io.write_file(str(tmp_path / "libpng16.png"), tf.io.encode_png(samples))
    image = load_image(tmp_path / "libpng16.png")
    np.testing.assert_allclose(image, samples / 65535.0, rtol=0, atol=1e-7)


def test_jpeg_matches_pillow_decode(tmp_path):
    pixels = _smooth_uint8(HEIGHT, WIDTH)
    Image.fromarray(pixels).save(tmp_path / "photo.jpg", quality=90)
    image = load_image(tmp_path / "photo.jpg")
    with Image.open(tmp_path / "photo.jpg") as reference:
        expected = np.asarray(reference.convert("RGB"), dtype=np.float64) / 255.0
    np.testing.assert_allclose(image, expected, rtol=0, atol=1e-6)
    assert np.abs(image - pixels / 255.0).mean() < 0.03  # and close to what was saved


def test_grayscale_becomes_three_identical_channels(tmp_path):
    gray = _random_uint8((HEIGHT, WIDTH))
    Image.fromarray(gray, mode="L").save(tmp_path / "gray.png")
    image = load_image(tmp_path / "gray.png")
    assert image.shape == (HEIGHT, WIDTH, 3)
    for channel in range(3):
        np.testing.assert_allclose(image[:, :, channel], gray / 255.0, rtol=0, atol=1e-7)


def test_rgba_alpha_is_dropped_and_rgb_kept(tmp_path):
    rgba = _random_uint8((HEIGHT, WIDTH, 4))
    rgba[0, :, 3] = 0  # fully transparent pixels keep their stored colour too
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "rgba.png")
    image = load_image(tmp_path / "rgba.png")
    np.testing.assert_allclose(image, rgba[:, :, :3] / 255.0, rtol=0, atol=1e-7)


def test_grayscale_with_alpha(tmp_path):
    gray_alpha = _random_uint8((HEIGHT, WIDTH, 2))
    Image.fromarray(gray_alpha, mode="LA").save(tmp_path / "la.png")
    image = load_image(tmp_path / "la.png")
    np.testing.assert_allclose(
        image, np.repeat(gray_alpha[:, :, :1] / 255.0, 3, axis=-1), rtol=0, atol=1e-7
    )


def test_palette_is_expanded_to_rgb(tmp_path):
    palette = _random_uint8((16, 3), seed=1)
    indices = _random_uint8((HEIGHT, WIDTH), seed=2) % 16
    paletted = Image.fromarray(indices, mode="P")
    paletted.putpalette(palette.flatten().tolist())
    paletted.save(tmp_path / "palette.png")
    image = load_image(tmp_path / "palette.png")
    np.testing.assert_allclose(image, palette[indices] / 255.0, rtol=0, atol=1e-7)


def test_exif_orientation_6_is_applied(tmp_path):
    pixels = _smooth_uint8(HEIGHT, WIDTH)
    path = tmp_path / "rotated.jpg"
    Image.fromarray(pixels).save(path, quality=95, exif=_exif_bytes(6))
    image = load_image(path)
    # Orientation 6: the stored picture is shown turned 90 degrees clockwise.
    assert image.shape == (WIDTH, HEIGHT, 3)
    assert image_size(path) == (WIDTH, HEIGHT)
    with Image.open(path) as stored:
        stored_pixels = np.asarray(stored.convert("RGB"), dtype=np.float64) / 255.0
    np.testing.assert_allclose(image, np.rot90(stored_pixels, k=-1), rtol=0, atol=1e-6)
    assert np.abs(image - np.rot90(pixels, k=-1) / 255.0).mean() < 0.03
    # The dark left half of the stored picture is now the top half.
    assert image[: WIDTH // 2].mean() < image[WIDTH // 2 :].mean()


def test_exif_orientation_of_a_16_bit_png(tmp_path):
    samples = _random_uint16((HEIGHT, WIDTH, 3), seed=5)
    path = tmp_path / "rotated16.png"
    exif = _exif_bytes(8).removeprefix(b"Exif\x00\x00")
    _write_png16(path, samples, colour_type=2, exif=exif)
    image = load_image(path)
    assert image_size(path) == (WIDTH, HEIGHT)
    # Orientation 8: shown turned 90 degrees counter-clockwise.
    np.testing.assert_allclose(image, np.rot90(samples, k=1) / 65535.0, rtol=0, atol=1e-7)


def test_image_size_reads_only_the_header(tmp_path, monkeypatch):
    from PIL import JpegImagePlugin
    from PIL import PngImagePlugin

    pixels = _random_uint8((HEIGHT, WIDTH, 3))
    Image.fromarray(pixels).save(tmp_path / "image.png")
    Image.fromarray(pixels).save(tmp_path / "image.jpg", exif=_exif_bytes(6))

    def no_decoding(self):
        raise AssertionError("image_size decoded the pixels")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", no_decoding)
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", no_decoding)
    assert image_size(tmp_path / "image.png") == (HEIGHT, WIDTH)
    assert image_size(tmp_path / "image.jpg") == (WIDTH, HEIGHT)


# Bad input: one line that names the file, the problem and the fix.


def test_missing_file(tmp_path):
    path = tmp_path / "missing_frame.png"
    for read in (load_image, image_size):
        with pytest.raises(ImageReadError) as error:
            read(path)
        _assert_one_line_error(error, path, "does not exist")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty_frame.png"
    path.write_bytes(b"")
    for read in (load_image, image_size):
        with pytest.raises(ImageReadError) as error:
            read(path)
        _assert_one_line_error(error, path, "empty", "0 bytes")


def test_text_file_named_png(tmp_path):
    path = tmp_path / "not_really.png"
    path.write_text("<html><body>Quota exceeded</body></html>\n")
    for read in (load_image, image_size):
        with pytest.raises(ImageReadError) as error:
            read(path)
        _assert_one_line_error(error, path, "not an image", "text")


def test_truncated_png(tmp_path):
    Image.fromarray(_random_uint8((HEIGHT, WIDTH, 3))).save(tmp_path / "whole.png")
    path = tmp_path / "cut_short.png"
    path.write_bytes((tmp_path / "whole.png").read_bytes()[:-300])
    assert image_size(path) == (HEIGHT, WIDTH)  # the header alone is intact
    with pytest.raises(ImageReadError) as error:
        load_image(path)
    _assert_one_line_error(error, path, "truncated", "Re-download")


def test_truncated_16_bit_colour_png(tmp_path):
    _write_png16(tmp_path / "whole16.png", _random_uint16((HEIGHT, WIDTH, 3)), colour_type=2)
    path = tmp_path / "cut_short16.png"
    path.write_bytes((tmp_path / "whole16.png").read_bytes()[:-600])
    with pytest.raises(ImageReadError) as error:
        load_image(path)
    _assert_one_line_error(error, path, "truncated")


def test_decompression_bomb(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    Image.fromarray(_random_uint8((HEIGHT, WIDTH, 3))).save(path)
    # Pillow refuses images over twice the limit: 768 pixels > 2 * 100.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    for read in (load_image, image_size):
        with pytest.raises(ImageReadError) as error:
            read(path)
        _assert_one_line_error(error, path, "decompression-bomb", "MAX_IMAGE_PIXELS")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(ImageReadError, match="is a folder"):
        load_image(tmp_path)


def test_image_read_error_is_a_value_error_and_pickles():
    error = ImageReadError("/data/a.png", "does not exist", "Check the path.")
    assert isinstance(error, ValueError)
    restored = pickle.loads(pickle.dumps(error))
    assert str(restored) == str(error)
    assert (restored.path, restored.problem) == (error.path, error.problem)
    assert restored.fix == error.fix


# `load_image_samples`: the stored samples, bit depth and metadata.


def test_samples_keep_bit_depth_channels_and_alpha(tmp_path):
    from keras_attn_deblur.io.decode import load_image_samples

    rgba = _random_uint8((HEIGHT, WIDTH, 4))
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    gray = _random_uint8((HEIGHT, WIDTH))
    Image.fromarray(gray).save(tmp_path / "gray.png")
    colour16 = _random_uint16((HEIGHT, WIDTH, 3))
    _write_png16(tmp_path / "colour16.png", colour16, colour_type=2)
    gray16 = _random_uint16((HEIGHT, WIDTH))
    Image.fromarray(gray16).save(tmp_path / "gray16.png")
    Image.fromarray(rgba[:, :, :3]).convert("P").save(tmp_path / "palette.png")
    expected = {
        "rgba.png": (rgba, "RGBA"),
        "gray.png": (gray, "L"),
        "colour16.png": (colour16, "RGB;16"),
        "gray16.png": (gray16, "I;16"),
    }
    for name, (stored, mode) in expected.items():
        samples, read_mode, info = load_image_samples(tmp_path / name)
        assert (read_mode, info["format"], samples.dtype) == (mode, "PNG", stored.dtype)
        np.testing.assert_array_equal(samples, stored)
    samples, mode, _ = load_image_samples(tmp_path / "palette.png")
    assert mode == "RGB" and samples.shape == (HEIGHT, WIDTH, 3)


def test_samples_turn_upright_and_keep_exif_and_icc(tmp_path):
    from PIL import ImageCms

    from keras_attn_deblur.io.decode import load_image_samples

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    exif[0x010F] = "TestCam"  # Make
    path = tmp_path / "portrait.jpg"
    Image.fromarray(_smooth_uint8(HEIGHT, WIDTH)).save(
        path, exif=exif.tobytes(), icc_profile=profile, subsampling=0, dpi=(300, 300)
    )
    samples, mode, info = load_image_samples(path)
    assert samples.shape == (WIDTH, HEIGHT, 3) and mode == "RGB"
    assert np.abs(samples / 255.0 - load_image(path)).max() < 1e-6
    kept = Image.Exif()
    kept.load(info["exif"])
    assert kept[EXIF_ORIENTATION] == 1 and kept[0x010F] == "TestCam"
    assert info["icc_profile"] == profile and info["subsampling"] == 0
    assert tuple(round(value) for value in info["dpi"]) == (300, 300)


def test_samples_of_float_images_are_refused(tmp_path):
    from keras_attn_deblur.io.decode import load_image_samples

    path = tmp_path / "depth.tif"
    Image.fromarray(np.zeros((HEIGHT, WIDTH), np.float32)).save(path)
    with pytest.raises(ImageReadError) as error:
        load_image_samples(path)
    _assert_one_line_error(error, path, "floating-point")


@pytest.mark.parametrize("interlace", [False, True], ids=["plain", "adam7"])
def test_16_bit_colour_png_decoded_in_bands_of_rows(tmp_path, monkeypatch, interlace):
    # Bands of 8 rows (the smallest): each band starts from the row above it, so
    # every filter that reads the upper row crosses a band border.
    from keras_attn_deblur.io import png16

    monkeypatch.setattr(png16, "_BAND_ELEMENTS", 1)
    samples = _random_uint16((37, 9, 3), seed=7)
    path = tmp_path / "tall16.png"
    _write_png16(path, samples, colour_type=2, interlace=interlace)
    np.testing.assert_allclose(load_image(path), samples / 65535.0, rtol=0, atol=1e-7)
