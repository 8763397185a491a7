"""The bundled pretrained weights: they load offline, they are the evaluated
ones, and they restore the shipped real blurry photo better than doing nothing.
"""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

from keras_attn_deblur import PRESETS
from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import hub
from keras_attn_deblur.inference import deblur

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGES = os.path.join(ROOT, "keras_attn_deblur", "demo", "examples")
BLURRY = os.path.join(IMAGES, "gopro_000241_blurry.png")
SHARP = os.path.join(IMAGES, "gopro_000241_sharp.jpg")
BUNDLED = hub.layout.BUNDLED_WEIGHTS_DIR / "patent"
EVALUATION = os.path.join(ROOT, "release", "patent", "evaluation")


@pytest.fixture(scope="module")
def model():
    return AttnDeblurNet.from_pretrained("patent")


def _pixels(path):
    return np.asarray(Image.open(path).convert("RGB"))


def test_patent_weights_are_bundled_in_float16(model):
    metadata = json.loads((BUNDLED / "metadata.json").read_text())["keras_attn_deblur"]
    assert metadata["preset"] == "patent" and metadata["weights_dtype"] == "float16"
    config = model.get_config()
    for key, value in PRESETS["patent"].items():
        assert config[key] == value or tuple(config[key]) == tuple(value)
    # float16 storage: two bytes per parameter plus the HDF5 overhead.
    size = (BUNDLED / "model.weights.h5").stat().st_size
    assert 2 * model.count_params() <= size < 2.2 * model.count_params()
    # Every weight is exactly representable in float16.
    for weight in model.get_weights():
        np.testing.assert_array_equal(weight.astype("float16").astype(weight.dtype), weight)


def test_loads_offline_in_a_fresh_process(tmp_path):
    code = (
        "from keras_attn_deblur import AttnDeblurNet; "
        "print(AttnDeblurNet.from_pretrained('patent').count_params())"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "empty_hf_home"),
               HF_ENDPOINT="http://127.0.0.1:9")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.split()[-1]) == 7_142_293


def test_restores_the_shipped_photo_better_than_the_input(model):
    blurry, sharp = _pixels(BLURRY), _pixels(SHARP)
    restored = deblur(model, blurry)
    assert restored.dtype == np.uint8 and restored.shape == blurry.shape
    gain = peak_signal_noise_ratio(sharp, restored) - peak_signal_noise_ratio(sharp, blurry)
    assert gain > 0.05


def test_card_numbers_are_the_committed_evaluation():
    metadata = json.loads((BUNDLED / "metadata.json").read_text())["keras_attn_deblur"]
    card = (BUNDLED / "README.md").read_text()
    entries = {entry["dataset"]: entry for entry in metadata["evaluation"]}
    assert len(entries) == 2
    for key, dataset in (("gopro_val", "GoPro GOPR0477_11_00 frames 201-299"),
                         ("cbsd68_val", "CBSD68 synthetic blur")):  # fmt: skip
        with open(os.path.join(EVALUATION, f"{key}.csv"), newline="") as file:
            rows = list(csv.DictReader(file))
        entry = entries[dataset]
        assert entry["num_images"] == len(rows)
        for column in ("psnr", "ssim", "ssim_matlab", "input_psnr"):
            mean = np.mean([float(row[column]) for row in rows])
            assert entry[column] == pytest.approx(mean, abs=1e-6)
        assert f"{entry['psnr']:.2f}" in card
        # The weights improve on the blurry input on both validation sets.
        assert entry["psnr"] > entry["input_psnr"]


def test_deblur_photo_example(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "deblur_photo.py"),
         "--output-dir", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    restored = _pixels(tmp_path / "gopro_000241_blurry_restored.png")
    assert Image.open(tmp_path / "gopro_000241_blurry_side_by_side.jpg").size[0] > 1280
    sharp = _pixels(SHARP)
    printed = [line.split() for line in result.stdout.splitlines() if line.startswith("restored ")]
    assert float(printed[-1][1]) == pytest.approx(
        peak_signal_noise_ratio(sharp, restored), abs=0.01
    )
