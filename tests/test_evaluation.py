"""Tests of `keras_attn_deblur.evaluation`: the papers' protocol, checked against scikit-image."""

import csv
import os

import keras
import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio
from skimage.metrics import structural_similarity

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import evaluation
from keras_attn_deblur.data import ImagePair
from tests.test_metrics import matlab_ssim_reference


def make_pair(seed, height=40, width=52):
    """A smooth scene with sharp-edged squares, and a horizontally motion-blurred copy."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width] / max(height, width)
    sharp = np.stack([0.3 + 0.4 * rng.uniform() * (rows + cols) for _ in range(3)], axis=-1)
    for _ in range(4):
        top, left = rng.integers(0, height - 8), rng.integers(0, width - 8)
        sharp[top : top + 8, left : left + 8] = rng.uniform(size=3)
    sharp = np.round(np.clip(sharp, 0, 1) * 255) / 255
    blurry = ndimage.uniform_filter1d(sharp, size=5, axis=1, mode="reflect")
    return blurry.astype("float32"), sharp.astype("float32")


def write_png(path, image):
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype("uint8")).save(path)
    return str(path)


def write_pairs(folder, count=2, **size):
    (folder / "blur").mkdir(parents=True)
    (folder / "sharp").mkdir()
    pairs = []
    for index in range(count):
        blurry, sharp = make_pair(index, **size)
        name = f"{index:04d}.png"
        pairs.append(
            ImagePair(
                blurry=write_png(folder / "blur" / name, blurry),
                sharp=write_png(folder / "sharp" / name, sharp),
                name=name,
            )
        )
    return pairs


def tiny_model():
    """A small model whose output differs from its input (the output conv is not zero)."""
    keras.utils.set_random_seed(1)
    model = AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3)
    conv = model.get_layer("output_conv")
    kernel = np.random.default_rng(0).normal(scale=0.02, size=conv.kernel.shape)
    conv.kernel.assign(kernel.astype("float32"))
    return model


def skimage_scores(sharp_8bit, image_8bit):
    return {
        "psnr": peak_signal_noise_ratio(sharp_8bit, image_8bit, data_range=255),
        "ssim": structural_similarity(
            sharp_8bit, image_8bit, gaussian_weights=True, sigma=1.5,
            use_sample_covariance=False, data_range=255, channel_axis=-1,
        ),
        "ssim_matlab": matlab_ssim_reference(sharp_8bit, image_8bit, 255),
    }


def quantize_reference(image):
    return np.round(np.clip(np.asarray(image, dtype="float64"), 0, 1) * 255).astype("uint8")


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def test_scores_equal_scikit_image_on_the_quantised_images(tmp_path):
    from keras_attn_deblur.inference import deblur

    pairs = write_pairs(tmp_path, count=2)
    model = tiny_model()
    summary = evaluation.evaluate_pairs(
        model, pairs, baselines=("input", "unsharp"), csv_path=tmp_path / "scores.csv",
        progress=False,
    )
    rows = read_csv(tmp_path / "scores.csv")
    assert [row["name"] for row in rows] == ["0000.png", "0001.png"]
    for pair, row in zip(pairs, rows):
        sharp_8bit = np.asarray(Image.open(pair.sharp).convert("RGB"))
        blurry_8bit = np.asarray(Image.open(pair.blurry).convert("RGB"))
        restored = deblur(model, blurry_8bit.astype("float32") / 255)
        expected = {
            "": skimage_scores(sharp_8bit, quantize_reference(restored)),
            "input_": skimage_scores(sharp_8bit, blurry_8bit),
        }
        # The unsharp baseline, rebuilt with SciPy: numpy's "reflect" is SciPy's "mirror".
        blurry = blurry_8bit / 255.0
        smooth = ndimage.gaussian_filter(blurry, sigma=(1.5, 1.5, 0), mode="mirror", truncate=4.0)
        unsharp = blurry + 0.75 * (blurry - smooth)
        expected["unsharp_"] = skimage_scores(sharp_8bit, quantize_reference(unsharp))
        for prefix, scores in expected.items():
            for key, value in scores.items():
                tolerance = 1e-4 if key == "psnr" else 2e-5
                assert float(row[prefix + key]) == pytest.approx(value, abs=tolerance), prefix + key
        # The network changed the image, so the model and input rows differ.
        assert row["psnr"] != row["input_psnr"]
    assert summary.count == 2 and not summary.failed
    assert summary.methods == ("model", "input", "unsharp")
    for key in evaluation.MEASURES:
        assert summary.means["model"][key] == pytest.approx(
            np.mean([float(row[key]) for row in rows]), abs=1e-5
        )
        assert summary.means["unsharp"][key] == pytest.approx(
            np.mean([float(row["unsharp_" + key]) for row in rows]), abs=1e-5
        )


def test_csv_columns_and_summary_table(tmp_path):
    pairs = write_pairs(tmp_path, count=2)
    summary = evaluation.evaluate_pairs(
        None, pairs, baselines=("unsharp",), csv_path=tmp_path / "baseline.csv", progress=False
    )
    with open(tmp_path / "baseline.csv", encoding="utf-8") as stream:
        header = stream.readline().strip().split(",")
    assert header == [
        "name", "input_psnr", "input_ssim", "input_ssim_matlab", "unsharp_psnr",
        "unsharp_ssim", "unsharp_ssim_matlab", "seconds", "error",
    ]
    table = summary.table()
    assert "unsharp mask" in table and "PSNR (dB)" in table and "SSIM (matlab)" in table
    assert f"{summary.means['unsharp']['psnr']:.2f}" in table
    assert "2 image(s) scored" in table
    # No temporary file is left next to the CSV.
    assert sorted(os.listdir(tmp_path)) == ["baseline.csv", "blur", "sharp"]


def test_summary_table_is_printed_with_progress(tmp_path, capsys):
    pairs = write_pairs(tmp_path, count=1)
    evaluation.evaluate_pairs(None, pairs, baselines=("input",), progress=True)
    captured = capsys.readouterr()
    assert "input (blurry)" in captured.out
    assert "evaluate 1/1 0000.png" in captured.err


def test_a_bad_pair_is_reported_and_the_others_are_scored(tmp_path):
    pairs = write_pairs(tmp_path, count=2)
    with open(pairs[0].blurry, "wb") as stream:
        stream.write(b"\x89PNG\r\n\x1a\n corrupt")
    tiny = np.random.default_rng(0).uniform(size=(6, 6, 3)).astype("float32")
    pairs.append((tiny, tiny))
    summary = evaluation.evaluate_pairs(
        None, pairs, baselines=("input",), csv_path=tmp_path / "scores.csv", progress=False
    )
    assert summary.count == 1
    names = [name for name, _ in summary.failed]
    assert names == ["0000.png", "pair_00002"]
    assert "0000.png" in summary.failed[0][1]
    assert "SSIM needs at least 11x11" in summary.failed[1][1]
    rows = read_csv(tmp_path / "scores.csv")
    assert [row["error"] != "" for row in rows] == [True, False, True]
    assert summary.means["input"]["psnr"] == pytest.approx(float(rows[1]["input_psnr"]), abs=1e-5)
    assert "2 failed" in summary.table()


def test_card_metrics_follow_the_model_card_schema(tmp_path):
    from keras_attn_deblur.hub import card

    pairs = write_pairs(tmp_path, count=1)
    summary = evaluation.evaluate_pairs(tiny_model(), pairs, progress=False)
    metrics = summary.card_metrics("GoPro", "test", dataset_config="linear")
    (validated,) = card.validate_metrics(metrics)
    assert validated["num_images"] == 1
    assert validated["psnr"] == pytest.approx(summary.means["model"]["psnr"])
    assert validated["input_ssim_matlab"] == pytest.approx(summary.means["input"]["ssim_matlab"])


def test_quantize_rounds_like_saving_an_8_bit_png():
    image = np.array([[[-0.2, 0.0, 0.5 / 255]], [[0.501, 1.0, 1.7]]], dtype="float32")
    np.testing.assert_array_equal(
        evaluation.quantize(image), np.array([[[0, 0, 0]], [[128, 255, 255]]], dtype="uint8")
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(model=None, baselines=()), "Nothing to evaluate"),
        (dict(model=None, baselines=("sharpen",)), "Unknown baseline"),
    ],
)
def test_bad_arguments_raise_one_clear_error(tmp_path, kwargs, message):
    pairs = write_pairs(tmp_path, count=1)
    with pytest.raises(ValueError, match=message):
        evaluation.evaluate_pairs(pairs=pairs, progress=False, **kwargs)


def test_empty_pairs_and_missing_csv_folder_are_errors(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        evaluation.evaluate_pairs(None, [], baselines=("input",), progress=False)
    pairs = write_pairs(tmp_path, count=1)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        evaluation.evaluate_pairs(
            None, pairs, baselines=("input",), csv_path=tmp_path / "missing" / "x.csv",
            progress=False,
        )
