"""Tests of `keras_attn_deblur.inference`: tiling, memory, types, bf16, ensemble, folders.

The network is a tiny `AttnDeblurNet` whose output convolution (zeros at
initialisation, which would make the network the identity) gets small random
weights. References are independent of the code under test where one
exists: the model's own `predict_on_batch` on the whole image, flips
computed here by hand, a receptive field measured by perturbing input pixels,
a 16-bit PNG writer written from the PNG specification, Pillow's readers.
"""

import functools
import inspect
import io
import os
import subprocess
import sys
import textwrap
import warnings

import keras
import numpy as np
import pytest
from PIL import Image
from PIL import ImageCms

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import Deblurrer
from keras_attn_deblur import inference
from keras_attn_deblur import psnr
from keras_attn_deblur._utils import machine
from keras_attn_deblur.inference import FolderSummary
from keras_attn_deblur.inference import batch
from keras_attn_deblur.inference import deblur
from keras_attn_deblur.inference import deblur_file
from keras_attn_deblur.inference import deblur_folder
from keras_attn_deblur.inference import plan_tiles
from keras_attn_deblur.inference import tiling
from keras_attn_deblur.io import encode
from keras_attn_deblur.io.decode import ImageReadError
from keras_attn_deblur.io.decode import load_image_samples
from tests._utils import test_machine
from tests.io.test_decode import _write_png16

TINY = {"filters": (4, 8, 8), "blocks_per_stage": 1, "kernel_size": 3}
EXIF_ORIENTATION = 0x0112
EXIF_MAKE = 0x010F


def _tiny_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = AttnDeblurNet(**TINY)
    output_conv = model.get_layer("output_conv")
    kernel, bias = output_conv.get_weights()
    rng = np.random.default_rng(seed)
    output_conv.set_weights([rng.normal(0.0, 0.05, kernel.shape).astype("float32"), bias])
    return model


@pytest.fixture(scope="module")
def model():
    return _tiny_model()


def _photo(height, width, seed=0, dtype="uint8"):
    """A smooth picture with texture, in [0, 1] (float) or full range (integers)."""
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[0:height, 0:width].astype("float32")
    base = 0.5 + 0.25 * np.sin(columns / 37.0) * np.cos(rows / 23.0)
    image = base[:, :, None] + np.float32(0.2) * rng.random((height, width, 3), dtype="float32")
    image = np.clip(image - 0.1, 0.0, 1.0)
    if dtype in ("uint8", "uint16"):
        return np.rint(image * np.iinfo(dtype).max).astype(dtype)
    return image.astype(dtype)


def _seam_distance(plan):
    """(H, W) distance of every pixel to the nearest row or column seam."""

    def axis_distance(seams, size):
        positions = np.arange(size)
        distance = np.full(size, size)
        for seam in seams:  # the rows seam - 1 and seam are both on the seam
            to_seam = np.minimum(abs(positions - seam), abs(positions - seam + 1))
            distance = np.minimum(distance, to_seam)
        return distance

    rows, columns = plan.seams()
    return np.minimum(
        axis_distance(rows, plan.height)[:, None], axis_distance(columns, plan.width)[None, :]
    )


def _assert_one_line_error(error, path, *words):
    message = str(error.value)
    assert "\n" not in message
    assert os.path.basename(path) in message
    for word in words:
        assert word in message


# === Receptive field and tile grid ===


def test_receptive_field_matches_a_perturbation_measurement(model):
    size, radius = model.receptive_field()
    image = _photo(128, 128, dtype="float32")[None]
    base = model.predict_on_batch(image)[0]
    extents, reaches = [], []
    for phase in range(4):  # every position modulo the downsampling factor 4
        centre = 60 + phase
        perturbed = image.copy()
        perturbed[0, centre, centre] += 0.5
        changed = np.abs(model.predict_on_batch(perturbed)[0] - base).max(axis=-1) > 0
        rows = np.nonzero(changed.any(axis=1))[0]
        extents.append(rows.max() - rows.min() + 1)
        reaches.append(max(centre - rows.min(), rows.max() - centre))
    # The outputs one input pixel reaches lie within `radius` of it (inactive
    # ReLUs can only shrink the measured footprint).
    assert max(reaches) <= radius and max(extents) <= 2 * radius + 1
    assert max(reaches) >= radius - 3 and max(extents) >= size - 4
    assert (size, radius) == (81, 42)
    assert AttnDeblurNet().receptive_field() == (377, 190)


@pytest.mark.parametrize(
    "height, width, tile_size, overlap",
    [(2160, 3840, 512, 32), (1000, 777, 256, 42), (3, 5000, 256, 32), (1, 1, None, 32),
     (100, 124, 48, 20), (4000, 6000, None, 32), (720, 1280, None, 0)],  # fmt: skip
)
def test_tile_grid_covers_the_padded_image(model, height, width, tile_size, overlap):
    plan = plan_tiles(
        AttnDeblurNet(), height, width, tile_size=tile_size, tile_overlap=overlap
    )
    for starts, tile, length in (
        (plan.row_starts, plan.tile_height, plan.padded_height),
        (plan.column_starts, plan.tile_width, plan.padded_width),
    ):
        assert length % 16 == 0
        assert starts[0] == 0 and starts[-1] + tile == length
        assert all(start % 4 == 0 for start in starts) and tile % 16 == 0
        assert all(earlier + tile - later >= overlap for earlier, later in zip(starts, starts[1:]))
        if tile_size is not None:
            assert tile <= tile_size
        weights = tiling.axis_weights(starts, tile, length, overlap)
        total = np.zeros(length)
        for start, weight in zip(starts, weights):
            total[start : start + tile] += weight
        np.testing.assert_allclose(total, 1.0, atol=1e-6)
    assert plan.padded_height == -(-(height + 2 * (overlap // 2)) // 16) * 16


def test_auto_tiles_fit_the_memory_budget():
    patent = AttnDeblurNet()
    plan = plan_tiles(patent, 4000, 6000)
    tile_bytes = plan.tile_height * plan.tile_width * patent.activation_bytes_per_pixel()
    band_bytes = plan.tile_height * plan.padded_width * tiling._BAND_BYTES_PER_PIXEL
    assert plan.tile_count > 1
    assert tile_bytes + band_bytes <= inference.DEFAULT_MEMORY_BUDGET_MB * 2**20
    assert plan.computed_pixels < 1.1 * plan.padded_height * plan.padded_width
    assert plan_tiles(patent, 720, 1280).tile_count == 1  # a GoPro frame runs whole
    assert patent.activation_bytes_per_pixel() == 4 * (6 * 64 + 16)


# === Whole image, tiles, ensemble, precision ===


def test_whole_image_is_the_model_output(model):
    image = _photo(96, 128, dtype="float32")
    restored = deblur(model, image, tile_overlap=0)  # no border padding, one tile
    expected = np.clip(model.predict_on_batch(image[None])[0], 0.0, 1.0)
    np.testing.assert_allclose(restored, expected, atol=1e-6)
    assert np.abs(restored - image).max() > 0.01  # the network is not the identity


def test_tiled_matches_whole_image(model):
    # 2048 x 1152 keeps CI fast; benchmarks/inference.py measures 4K with the
    # SPEC network.
    height, width = 1152, 2048
    image = _photo(height, width, dtype="float32")
    _, radius = model.receptive_field()
    for overlap, tolerance in ((radius, 1e-5), (32, 1.0 / 255.0)):
        whole = deblur(model, image, tile_overlap=overlap, memory_budget_mb=10**6)
        tiled = deblur(model, image, tile_overlap=overlap, tile_size=512)
        plan = plan_tiles(model, height, width, tile_size=512, tile_overlap=overlap)
        far = _seam_distance(plan) > overlap
        difference = np.abs(whole - tiled).max(axis=-1)
        decibels = float(psnr(whole[None], tiled[None], max_val=1.0)[0])
        print(
            f"{width}x{height}, {plan.tile_count} tiles of {plan.tile_height}x{plan.tile_width}, "
            f"overlap {overlap}: max |tiled - whole| {difference[far].max():.2e} away from "
            f"seams ({far.mean():.0%} of pixels), {difference.max():.2e} anywhere; "
            f"PSNR(tiled, whole) {decibels:.1f} dB"
        )
        assert plan.tile_count > 1
        assert difference[far].max() <= tolerance
        assert decibels > 60.0


def test_ensemble_is_the_mean_of_four_flipped_passes(model):
    image = _photo(64, 96, dtype="float32")
    passes = []
    for flip_rows, flip_columns in ((False, False), (False, True), (True, False), (True, True)):
        flipped = image[::-1] if flip_rows else image
        flipped = flipped[:, ::-1] if flip_columns else flipped
        restored = model.predict_on_batch(np.ascontiguousarray(flipped)[None])[0]
        restored = restored[::-1] if flip_rows else restored
        passes.append(restored[:, ::-1] if flip_columns else restored)
    expected = np.clip(np.mean(passes, axis=0), 0.0, 1.0)
    ensembled = deblur(model, image, ensemble=True, tile_overlap=0)
    np.testing.assert_allclose(ensembled, expected, atol=1e-6)
    assert np.abs(ensembled - deblur(model, image, tile_overlap=0)).max() > 1e-4
    # Batched flips give the same result.
    batched = deblur(model, image, ensemble=True, tile_overlap=0, batch_size=4)
    np.testing.assert_allclose(batched, expected, atol=1e-6)


def test_bfloat16_is_close_to_float32_and_cached(model):
    image = _photo(96, 128, dtype="float32")
    full = deblur(model, image)
    half = deblur(model, image, precision="bfloat16")
    decibels = float(psnr(full[None], half[None], max_val=1.0)[0])
    print(f"PSNR(bfloat16, float32) = {decibels:.1f} dB")
    assert decibels > 35.0
    copy = Deblurrer(model, precision="bfloat16").network
    assert copy is Deblurrer(model, precision="bfloat16").network
    assert copy is not model and copy.dtype_policy.name == "mixed_bfloat16"
    assert Deblurrer(model, precision="float32").network is model
    # Weights changed after caching reach the copy.
    other = _tiny_model(seed=1)
    weights = model.get_weights()
    try:
        model.set_weights(other.get_weights())
        np.testing.assert_allclose(
            deblur(model, image, precision="bfloat16"),
            deblur(other, image, precision="bfloat16"),
            atol=1e-6,
        )
    finally:
        model.set_weights(weights)
    # So do they for a Deblurrer built before the change (its copy is refreshed per image).
    kept = Deblurrer(model, precision="bfloat16")
    kept(image)
    try:
        model.set_weights(other.get_weights())
        np.testing.assert_allclose(
            kept(image), deblur(other, image, precision="bfloat16"), atol=1e-6
        )
    finally:
        model.set_weights(weights)


# === Same kind, size and mode out ===


def test_uint8_uint16_and_float_arrays_keep_dtype_and_shape(model):
    float_image = _photo(40, 52, dtype="float32")
    restored_float = deblur(model, float_image)
    for dtype, maximum in (("uint8", 255), ("uint16", 65535)):
        image = np.rint(float_image * maximum).astype(dtype)
        restored = deblur(model, image)
        assert restored.dtype == dtype and restored.shape == image.shape
        from_float = deblur(model, image.astype("float32") / maximum)
        reference = np.rint(np.clip(from_float, 0, 1) * maximum)
        assert np.abs(restored.astype("int64") - reference).max() <= 1
    for dtype in ("float16", "float64"):
        restored = deblur(model, float_image.astype(dtype))
        assert restored.dtype == dtype
        np.testing.assert_allclose(restored, restored_float, atol=2e-3)


def test_gray_runs_as_three_equal_channels_and_is_averaged_back(model):
    gray = _photo(48, 64)[:, :, 1]
    restored = deblur(model, gray)
    assert restored.shape == gray.shape and restored.dtype == np.uint8
    as_rgb = np.repeat(gray[:, :, None], 3, axis=-1).astype("float32") / 255
    outputs = model.predict_on_batch(as_rgb[None])[0]  # 48 x 64: whole, no padding
    expected = np.rint(np.clip(outputs.mean(axis=-1), 0.0, 1.0) * 255)
    whole = deblur(model, gray, tile_overlap=0)
    assert np.abs(whole.astype(int) - expected).max() <= 1
    single_channel = deblur(model, gray[:, :, None])
    assert single_channel.shape == (48, 64, 1)
    np.testing.assert_array_equal(single_channel[:, :, 0], restored)


def test_rgba_alpha_is_passed_through(model):
    rgb = _photo(40, 52)
    alpha = np.random.default_rng(3).integers(0, 256, (40, 52, 1), dtype=np.uint8)
    restored = deblur(model, np.concatenate([rgb, alpha], axis=-1))
    assert restored.shape == (40, 52, 4)
    np.testing.assert_array_equal(restored[:, :, 3:], alpha)
    np.testing.assert_array_equal(restored[:, :, :3], deblur(model, rgb))


@pytest.mark.parametrize(
    "mode, expected_mode",
    [("RGB", "RGB"), ("L", "L"), ("RGBA", "RGBA"), ("LA", "LA"), ("I;16", "I;16"),
     ("I", "I"), ("P", "RGB"), ("CMYK", "CMYK"), ("1", "L")],  # fmt: skip
)
def test_pil_input_gives_the_same_size_and_mode(model, mode, expected_mode):
    picture = Image.fromarray(_photo(40, 52)).convert("RGBA" if mode in ("RGBA", "LA") else "RGB")
    if mode == "I;16":
        picture = Image.fromarray(_photo(40, 52, dtype="uint16")[:, :, 0])
    elif mode == "I":
        picture = Image.fromarray(_photo(40, 52, dtype="uint16")[:, :, 0].astype(np.int32))
    else:
        picture = picture.convert(mode)
    picture.info["dpi"] = (300, 300)
    restored = deblur(model, picture)
    assert isinstance(restored, Image.Image)
    assert restored.mode == expected_mode and restored.size == picture.size
    assert restored.info["dpi"] == (300, 300)
    if mode in ("RGBA", "LA"):
        np.testing.assert_array_equal(
            np.asarray(restored)[:, :, -1], np.asarray(picture)[:, :, -1]
        )
    if mode == "I;16":
        restored_samples = np.asarray(restored)
        assert restored_samples.max() > 255 and np.any(restored_samples % 257)  # 16 bits used


def test_path_with_exif_orientation_6_gives_the_turned_size(model, tmp_path):
    path = tmp_path / "portrait.jpg"
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6  # stored landscape, shown rotated 90 degrees clockwise
    exif[EXIF_MAKE] = "TestCam"
    Image.fromarray(_photo(40, 60)).save(path, exif=exif.tobytes(), quality=95)
    restored = deblur(model, path)
    assert isinstance(restored, Image.Image)
    assert restored.mode == "RGB" and restored.size == (40, 60)  # width, height: turned
    kept = Image.Exif()
    kept.load(restored.info["exif"])
    assert kept[EXIF_ORIENTATION] == 1 and kept[EXIF_MAKE] == "TestCam"


def test_16_bit_png_round_trip_keeps_16_bits(model, tmp_path):
    samples = _photo(36, 44, dtype="uint16")
    source = tmp_path / "scan16.png"
    _write_png16(source, samples, colour_type=2)
    as_array = deblur(model, source)  # Pillow cannot hold 16-bit colour: an array
    assert as_array.dtype == np.uint16 and as_array.shape == (36, 44, 3)
    np.testing.assert_array_equal(as_array, deblur(model, samples))
    output = tmp_path / "out" / "scan16.png"
    deblur_file(model, source, output)
    written, mode, info = load_image_samples(output)
    assert (mode, info["format"], written.dtype) == ("RGB;16", "PNG", np.uint16)
    np.testing.assert_array_equal(written, as_array)
    assert np.any(written % 257)  # not 8-bit values scaled up
    # 16-bit gray and 16-bit RGBA too.
    gray_path = tmp_path / "gray16.png"
    Image.fromarray(samples[:, :, 0]).save(gray_path)
    assert deblur(model, gray_path).mode == "I;16"
    rgba = np.concatenate([samples, samples[:, :, :1]], axis=-1)
    _write_png16(tmp_path / "rgba16.png", rgba, colour_type=6)
    deblur_file(model, tmp_path / "rgba16.png", tmp_path / "out" / "rgba16.png")
    written, mode, _ = load_image_samples(tmp_path / "out" / "rgba16.png")
    assert mode == "RGBA;16"
    np.testing.assert_array_equal(written[:, :, 3], rgba[:, :, 3])


# === Bad input ===


def test_tiny_and_strip_images_work(model):
    assert deblur(model, np.full((1, 1, 3), 128, np.uint8)).shape == (1, 1, 3)
    assert deblur(model, np.full((1, 1), 0.5, np.float32)).shape == (1, 1)
    assert deblur(model, Image.new("RGB", (1, 1), (10, 20, 30))).size == (1, 1)
    strip = _photo(3, 5000)
    whole = deblur(model, strip, memory_budget_mb=10**6)
    tiled = deblur(model, strip, tile_size=256, tile_overlap=42)
    plan = plan_tiles(model, 3, 5000, tile_size=256, tile_overlap=42)
    assert plan.tile_height < 256 and len(plan.column_starts) > 1  # tiles taller than the strip
    assert tiled.shape == whole.shape == strip.shape
    assert deblur(model, strip).shape == strip.shape
    tall = deblur(model, _photo(300, 2)[:, :, 0])
    assert tall.shape == (300, 2)


@pytest.mark.parametrize(
    "content, words",
    [(b"", ("empty", "0 bytes")), (b"<html>Quota exceeded</html>", ("not an image", "text"))],
)
def test_bad_files_give_one_line_naming_the_file(model, tmp_path, content, words):
    path = tmp_path / "holiday.png"
    path.write_bytes(content)
    with pytest.raises(ImageReadError) as error:
        deblur(model, path)
    _assert_one_line_error(error, path, *words)


def test_truncated_file_and_decompression_bomb(model, tmp_path, monkeypatch):
    whole = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (24, 32, 3), np.uint8)).save(
        whole, format="PNG"
    )
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(whole.getvalue()[:-300])
    with pytest.raises(ImageReadError) as error:
        deblur(model, truncated)
    _assert_one_line_error(error, truncated, "truncated")
    huge = tmp_path / "huge.png"
    huge.write_bytes(whole.getvalue())
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 768 pixels > 2 x 100
    with pytest.raises(ImageReadError) as error:
        deblur(model, huge)
    _assert_one_line_error(error, huge, "decompression-bomb", "MAX_IMAGE_PIXELS")


@pytest.mark.parametrize(
    "array, words",
    [(np.zeros((8, 8, 2), np.uint8), ("shape=(8, 8, 2)",)),
     (np.zeros((8, 8, 5), np.uint8), ("shape=(8, 8, 5)",)),
     (np.zeros((1, 8, 8, 3), np.uint8), ("shape=(1, 8, 8, 3)",)),
     (np.zeros((0, 8, 3), np.uint8), ("shape=(0, 8, 3)",)),
     (np.zeros((8, 8, 3), np.int32), ("dtype=int32",)),
     (np.zeros((8, 8, 3), bool), ("dtype=bool",)),
     (np.full((8, 8, 3), 200.0, np.float32), ("divide by 255", "dtype=float32")),
     (np.full((8, 8, 3), np.nan, np.float32), ("[0, 1]", "nan"))],  # fmt: skip
)
def test_bad_arrays_name_shape_or_dtype(model, array, words):
    with pytest.raises(ValueError) as error:
        deblur(model, array)
    assert "\n" not in str(error.value)
    for word in words:
        assert word in str(error.value)


@pytest.mark.parametrize(
    "options, word",
    [({"tile_size": 10}, "tile_size=10"), ({"tile_size": 64}, "tile_size=64"),
     ({"tile_overlap": -1}, "tile_overlap=-1"), ({"precision": "float8"}, "precision='float8'"),
     ({"batch_size": 0}, "batch_size=0"), ({"memory_budget_mb": 0.01}, "memory_budget_mb=0.01"),
     ({"ensemble": "yes"}, "ensemble='yes'")],  # fmt: skip
)
def test_bad_arguments_are_named(model, options, word):
    with pytest.raises(ValueError, match=word.replace("[", r"\[").replace(".", r"\.")):
        deblur(model, _photo(300, 300), **options)


def test_deblurrer_gives_what_deblur_gives(model):
    image = _photo(96, 128)
    for options in ({}, {"tile_size": 64, "tile_overlap": 8}, {"ensemble": True, "batch_size": 2}):
        deblurrer = Deblurrer(model, **options)
        np.testing.assert_array_equal(deblurrer(image), deblur(model, image, **options))
        np.testing.assert_array_equal(deblur(deblurrer, image), deblurrer(image))
        assert Deblurrer(model, **deblurrer.options()).options() == deblurrer.options()
    picture = Image.fromarray(image)
    np.testing.assert_array_equal(
        np.asarray(Deblurrer(model)(picture)), np.asarray(deblur(model, picture))
    )
    with pytest.raises(TypeError, match="not along with a Deblurrer"):
        deblur(Deblurrer(model), image, ensemble=True)


@pytest.mark.parametrize(
    "options, word",
    [({"tile_size": 10}, "tile_size=10"), ({"tile_overlap": -1}, "tile_overlap=-1"),
     ({"precision": "float8"}, "precision='float8'"), ({"batch_size": 0}, "batch_size=0"),
     ({"memory_budget_mb": float("inf")}, "memory_budget_mb=inf"),
     ({"ensemble": "yes"}, "ensemble='yes'")],  # fmt: skip
)
def test_deblurrer_checks_its_options_once_at_construction(model, monkeypatch, options, word):
    with pytest.raises(ValueError, match=word.replace("[", r"\[").replace(".", r"\.")):
        Deblurrer(model, **options)
    # Built once, a Deblurrer does not check its options again for each image.
    checks = []
    real_check = tiling.check_tiling_options
    for module in ("deblurrer", "tiling"):
        monkeypatch.setattr(
            f"keras_attn_deblur.inference.{module}.check_tiling_options",
            lambda *args: checks.append(args) or real_check(*args),
        )
    deblurrer = Deblurrer(model, tile_size=64, tile_overlap=8)
    for seed in range(3):
        deblurrer(_photo(40, 52, seed=seed))
    assert len(checks) == 1


# === Memory ===


_MEMORY_CHILD = textwrap.dedent(
    """
    import numpy as np
    from tests.test_inference import _tiny_model
    from keras_attn_deblur.inference import deblur, plan_tiles

    model = _tiny_model()
    photo = np.random.default_rng(0).integers(0, 256, (4000, 6000, 3), dtype=np.uint8)
    restored = deblur(model, photo)
    plan = plan_tiles(model, 4000, 6000)
    with open("/proc/self/status") as status:
        peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    print(restored.shape, restored.dtype, plan.tile_count, peak_kib // 1024)
    """
)


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmHWM from /proc")
def test_24_megapixel_photo_stays_under_4_gb():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD],
        cwd=root, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    shape, dtype, tiles, peak_mib = result.stdout.strip().splitlines()[-1].rsplit(" ", 3)
    print(f"24 MP ({keras.backend.backend()}): {tiles} tiles, peak RSS {peak_mib} MiB")
    assert (shape, dtype) == ("(4000, 6000, 3)", "uint8")
    assert int(tiles) > 1
    assert int(peak_mib) < 4096


# === Folders ===


@functools.lru_cache(maxsize=None)
def _icc_profile():
    """An sRGB profile (its header holds the creation time: made once)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _make_folder(folder):
    folder.mkdir()
    Image.fromarray(_photo(40, 52, seed=1)).save(folder / "a.png")
    exif = Image.Exif()
    exif[EXIF_MAKE] = "TestCam"
    Image.fromarray(_photo(48, 64, seed=2)).save(
        folder / "b.jpg", quality=90, subsampling=0, exif=exif.tobytes(), icc_profile=_icc_profile()
    )
    Image.fromarray(_photo(40, 52, seed=3)[:, :, 0]).save(folder / "c.png")
    Image.fromarray(_photo(24, 36, seed=4)).save(folder / "d.tif", compression="tiff_lzw")
    (folder / "notes.txt").write_text("not an image, not picked up")
    (folder / ".hidden.png").write_bytes(b"")
    return ["a.png", "b.jpg", "c.png", "d.tif"]


def test_folder_outputs_metadata_and_skipping(model, tmp_path, capsys):
    names = _make_folder(tmp_path / "in")
    output_dir = tmp_path / "missing" / "out"  # created
    summary = deblur_folder(model, tmp_path / "in", output_dir, progress=True)
    assert isinstance(summary, FolderSummary)
    assert (summary.processed, summary.skipped, summary.failed) == (4, 0, [])
    assert sorted(os.listdir(output_dir)) == names  # no temporary files left
    assert "4 restored, 0 skipped (exist), 0 failed" in capsys.readouterr().err
    for name in names:
        with Image.open(tmp_path / "in" / name) as source, Image.open(output_dir / name) as output:
            assert (output.format, output.mode) == (source.format, source.mode)
            assert output.size == source.size
    with Image.open(output_dir / "d.tif") as output:
        assert output.info["compression"] == "tiff_lzw"
    with Image.open(output_dir / "b.jpg") as output:
        from PIL import JpegImagePlugin

        assert output.info["icc_profile"] == _icc_profile()
        assert output.getexif()[EXIF_MAKE] == "TestCam"
        assert JpegImagePlugin.get_sampling(output) == 0  # 4:4:4 kept
    np.testing.assert_array_equal(
        np.asarray(Image.open(output_dir / "a.png")),
        deblur(model, np.asarray(Image.open(tmp_path / "in" / "a.png"))),
    )

    modified = os.path.getmtime(output_dir / "a.png")
    again = deblur_folder(model, tmp_path / "in", output_dir, progress=False)
    assert (again.processed, again.skipped) == (0, 4)
    assert os.path.getmtime(output_dir / "a.png") == modified
    forced = deblur_folder(model, tmp_path / "in", output_dir, overwrite=True, progress=False)
    assert (forced.processed, forced.skipped) == (4, 0)
    suffixed = deblur_folder(model, tmp_path / "in", output_dir, suffix="_sharp", progress=False)
    assert suffixed.processed == 4 and (output_dir / "a_sharp.png").exists()


def test_folder_continues_past_bad_files(model, tmp_path):
    _make_folder(tmp_path / "in")
    (tmp_path / "in" / "empty.png").write_bytes(b"")
    (tmp_path / "in" / "page.jpg").write_text("<html>404</html>")
    summary = deblur_folder(model, tmp_path / "in", tmp_path / "out", progress=False)
    assert summary.processed == 4
    assert [os.path.basename(path) for path, _ in summary.failed] == ["empty.png", "page.jpg"]
    line = str(summary)
    assert "\n" not in line
    assert line.startswith("4 restored, 0 skipped (exist), 2 failed: empty.png: is empty")
    assert "page.jpg: is not an image" in line
    assert not (tmp_path / "out" / "empty.png").exists()


def test_folder_recursive_mirrors_subfolders(model, tmp_path):
    _make_folder(tmp_path / "in")
    (tmp_path / "in" / "trip").mkdir()
    Image.fromarray(_photo(24, 28)).save(tmp_path / "in" / "trip" / "d.png")
    flat = deblur_folder(model, tmp_path / "in", tmp_path / "flat", progress=False)
    assert flat.processed == 4 and not (tmp_path / "flat" / "trip").exists()
    # The output folder inside the input folder is not walked.
    nested = tmp_path / "in" / "restored"
    deep = deblur_folder(model, tmp_path / "in", nested, recursive=True, progress=False)
    assert deep.processed == 5 and (nested / "trip" / "d.png").exists()
    again = deblur_folder(model, tmp_path / "in", nested, recursive=True, progress=False)
    assert (again.processed, again.skipped) == (0, 5)


@pytest.mark.parametrize("failure", ["rename", "encoder", "interrupt"])
def test_a_crash_while_writing_leaves_no_partial_image(model, tmp_path, monkeypatch, failure):
    _make_folder(tmp_path / "in")
    output_dir = tmp_path / "out"
    real_encode = encode.encode_image

    def half_written(file, *args):
        buffer = io.BytesIO()
        real_encode(buffer, *args)
        file.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        if failure == "interrupt":
            raise KeyboardInterrupt
        raise OSError(28, "No space left on device")

    def failing_replace(source, target):
        raise OSError(28, "No space left on device")

    if failure == "rename":
        monkeypatch.setattr(os, "replace", failing_replace)
    else:
        monkeypatch.setattr(encode, "encode_image", half_written)
    if failure == "interrupt":
        with pytest.raises(KeyboardInterrupt):
            deblur_folder(model, tmp_path / "in", output_dir, progress=False)
    else:
        summary = deblur_folder(model, tmp_path / "in", output_dir, progress=False)
        assert summary.processed == 0 and len(summary.failed) == 4
        assert all("No space left" in message for _, message in summary.failed)
    assert os.listdir(output_dir) == []  # neither partial images nor temporary files


def test_folder_refuses_to_overwrite_inputs(model, tmp_path):
    _make_folder(tmp_path / "in")
    for same in (tmp_path / "in", tmp_path / "in" / ".", str(tmp_path / "in") + "/"):
        with pytest.raises(ValueError, match="is the input folder"):
            deblur_folder(model, tmp_path / "in", same, progress=False)
    os.symlink(tmp_path / "in", tmp_path / "link")
    with pytest.raises(ValueError, match="is the input folder"):
        deblur_folder(model, tmp_path / "in", tmp_path / "link", progress=False)
    with pytest.raises(ValueError, match="overwrite the input"):
        deblur_file(model, tmp_path / "in" / "a.png", tmp_path / "link" / "a.png", overwrite=True)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        deblur_file(model, tmp_path / "in" / "a.png", tmp_path / "in" / "c.png")


def test_output_folder_that_is_a_file_fails_at_start(model, tmp_path, monkeypatch):
    _make_folder(tmp_path / "in")
    not_a_folder = tmp_path / "out.png"
    not_a_folder.write_bytes(b"a file")
    calls = []
    monkeypatch.setattr(batch, "load_image_samples", lambda path: calls.append(path))
    with pytest.raises(NotADirectoryError) as error:
        deblur_folder(model, tmp_path / "in", not_a_folder, progress=False)
    _assert_one_line_error(error, not_a_folder, "is a file, not a folder")
    assert calls == []  # failed before reading any image
    with pytest.raises(NotADirectoryError, match="does not exist"):
        deblur_folder(model, tmp_path / "nowhere", tmp_path / "out", progress=False)


def test_read_only_output_folder_fails_at_start(model, tmp_path):
    _make_folder(tmp_path / "in")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: chmod does not stop writes")
        with pytest.raises(PermissionError) as error:
            deblur_folder(model, tmp_path / "in", locked, progress=False)
        _assert_one_line_error(error, locked, "Cannot write to the output folder")
        with pytest.raises(PermissionError):
            deblur_folder(model, tmp_path / "in", locked / "sub", progress=False)
    finally:
        locked.chmod(0o700)


# === precision="auto" ===


def _twin_models():
    """The tiny network in float32 and in mixed bfloat16, with the same weights."""
    full = _tiny_model()
    half = AttnDeblurNet(**TINY, dtype="mixed_bfloat16")
    half.set_weights(full.get_weights())
    return full, half


@pytest.mark.parametrize(
    "cpu, expected",
    [(test_machine.SAPPHIRE_RAPIDS, "bfloat16"), (test_machine.COOPER_LAKE, "bfloat16"),
     (test_machine.EPYC_ZEN2, "float32")],  # fmt: skip
)
def test_auto_precision_follows_the_cpu_flags(tmp_path, monkeypatch, cpu, expected):
    cpuinfo = test_machine.write_cpuinfo(tmp_path, *cpu)
    monkeypatch.setattr(machine, "CPUINFO_PATH", cpuinfo, raising=False)
    # The CPU, also on a GPU host.
    monkeypatch.setattr(machine, "accelerator", lambda: None, raising=False)
    full, half = _twin_models()
    image = _photo(64, 96, dtype="float32")
    deblurrer = Deblurrer(half, tile_overlap=0)  # the default precision: "auto"
    assert deblurrer.network.dtype_policy.compute_dtype == expected
    assert deblurrer.precision == "auto"
    assert deblurrer.precision_choice.startswith(f"{expected} (auto: this CPU")
    # The output is the network's in that precision (its own predict_on_batch).
    reference = full if expected == "float32" else half
    expected_output = np.clip(
        np.asarray(reference.predict_on_batch(image[None])[0], "float32"), 0.0, 1.0
    )
    np.testing.assert_allclose(deblurrer(image), expected_output, atol=1e-6)
    # A float32 model is never lowered to bfloat16, whatever the CPU.
    assert Deblurrer(full).network is full
    assert Deblurrer(full).precision_choice.startswith("float32 (auto: the model computes in")


@pytest.mark.parametrize(
    "device, expected",
    [(("GPU (Tesla V100-SXM2-16GB)", False), "float32"), (("GPU (NVIDIA H100)", True), "bfloat16"),
     (("TPU", True), "bfloat16")],  # fmt: skip
)
def test_auto_precision_on_accelerators(monkeypatch, device, expected):
    monkeypatch.setattr(machine, "accelerator", lambda: device, raising=False)
    _, half = _twin_models()
    assert Deblurrer(half).network.dtype_policy.compute_dtype == expected


def test_auto_is_the_default_precision():
    from keras_attn_deblur.cli import build_parser

    assert inspect.signature(Deblurrer).parameters["precision"].default == "auto"
    for command in (["deblur", "a.png", "b.png"], ["evaluate", "--gopro", "a"]):
        assert build_parser().parse_args(command).precision == "auto"


# === tile_size within the memory budget ===


def test_tile_size_over_the_memory_budget_is_lowered_with_a_warning():
    patent = AttnDeblurNet()  # 1,600 bytes per pixel: 4 x (6 x 64 + 16)
    with pytest.warns(UserWarning) as caught:
        plan = plan_tiles(patent, 3000, 4000, tile_size=4096)
    # By hand: the image padded by 16 on every side and up to a multiple of 16
    # is 3040 x 4032; one such tile needs 3040 x 4032 x 1,600 bytes plus a band
    # of 3040 rows x 4032 x 20 bytes: 18.5 GiB.
    message = str(caught[0].message)
    for words in ("tile_size=4096", "3040x4032", "18.5 GB", "2048 MB", "--memory-budget"):
        assert words in message, message
    assert plan.tile_count > 1
    assert plan.tile_height <= 4096 and plan.tile_width <= 4096
    needed = plan.tile_height * (plan.tile_width * 1600 + plan.padded_width * 20)
    assert needed <= 2048 * 2**20
    assert f"{plan.tile_height}x{plan.tile_width} instead" in message
    # With the budget raised, the tile size is obeyed, without a warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plan = plan_tiles(patent, 3000, 4000, tile_size=4096, memory_budget_mb=19_000)
        assert (plan.tile_height, plan.tile_width, plan.tile_count) == (3040, 4032, 1)
        # Tiles of a tile size within the budget are at most that size.
        plan = plan_tiles(patent, 3000, 4000, tile_size=512)
        assert max(plan.tile_height, plan.tile_width) <= 512


def test_deblurrer_keeps_its_tiles_within_the_budget(monkeypatch):
    model = _tiny_model()  # 256 bytes per pixel: 4 x (6 x 8 + 16)
    predicted = []
    predict = model.predict_on_batch
    monkeypatch.setattr(model, "predict_on_batch", lambda batch: predicted.append(batch.shape)
                        or predict(batch))  # fmt: skip
    image = _photo(200, 300)
    with pytest.warns(UserWarning, match=r"memory budget of 8 MB"):
        deblur(model, image, tile_size=1024, memory_budget_mb=8)
    assert len(predicted) > 1
    for _, tile_height, tile_width, _ in predicted:
        # The tile and its band of padded rows (336 wide, 20 bytes a pixel) fit 8 MiB.
        assert tile_height * (tile_width * 256 + 336 * 20) <= 8 * 2**20
