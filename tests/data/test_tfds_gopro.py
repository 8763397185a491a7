import pathlib
import shutil
import tempfile

import numpy as np
import pytest
from PIL import Image

# `tfds.testing` also needs dill, which TFDS lists only in its own test extras.
tfds = pytest.importorskip("tensorflow_datasets")

from keras_attn_deblur.data.tfds_gopro import GoproLarge  # noqa: E402

HEIGHT, WIDTH = 24, 32
# GOPRO_Large layout: split -> sequence -> number of frames.
LAYOUT = {
    "train": {"GOPR0372_07_00": 2, "GOPR0374_11_00": 2},
    "test": {"GOPR0384_11_00": 1},
}
FOLDER_SEEDS = {"blur": 0, "blur_gamma": 1, "sharp": 2}


def _pixels(split, sequence, frame, folder):
    """Distinct, reproducible content for every file of the tree."""
    sequences = [name for names in LAYOUT.values() for name in names]
    seed = sequences.index(sequence) * 100 + frame * 10 + FOLDER_SEEDS[folder]
    return np.random.default_rng(seed).integers(0, 256, size=(HEIGHT, WIDTH, 3), dtype=np.uint8)


def _make_gopro_tree(root):
    for split, sequences in LAYOUT.items():
        for sequence, num_frames in sequences.items():
            for frame in range(1, num_frames + 1):
                for folder in FOLDER_SEEDS:
                    folder_path = root / split / sequence / folder
                    folder_path.mkdir(parents=True, exist_ok=True)
                    pixels = _pixels(split, sequence, frame, folder)
                    Image.fromarray(pixels).save(folder_path / f"{frame:06d}.png")


class GoproLargeTest(tfds.testing.DatasetBuilderTestCase):
    """TFDS's own checks, for both configs, on a tiny tree written by the test."""

    DATASET_CLASS = GoproLarge
    SPLITS = {"train": 4, "test": 1}
    BUILDER_CONFIG_NAMES_TO_TEST = ["linear", "gamma"]

    @classmethod
    def setUpClass(cls):
        cls._dummy_root = tempfile.mkdtemp(prefix="gopro_large_dummy_")
        _make_gopro_tree(pathlib.Path(cls._dummy_root))
        # `dummy_data` (the manual directory in the test) is read from EXAMPLE_DIR.
        cls.EXAMPLE_DIR = cls._dummy_root
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls._dummy_root, ignore_errors=True)


@pytest.mark.parametrize("config, folder", [("linear", "blur"), ("gamma", "blur_gamma")])
def test_examples_hold_the_pixels_of_their_files(tmp_path, config, folder):
    # The manual directory may hold the GOPRO_Large/ folder instead of train/.
    _make_gopro_tree(tmp_path / "manual" / "GOPRO_Large")
    builder = GoproLarge(config=config, data_dir=str(tmp_path / "tfds"))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(tmp_path / "manual"))
    )
    examples = list(tfds.as_numpy(builder.as_dataset(split="train")))
    assert len(examples) == 4
    found = set()
    for example in examples:
        sequence, frame = example["sequence"].decode(), example["frame"].decode()
        found.add(f"{sequence}/{frame}")
        frame_number = int(frame.split(".")[0])
        assert example["blur"].dtype == np.uint8
        np.testing.assert_array_equal(
            example["blur"], _pixels("train", sequence, frame_number, folder)
        )
        np.testing.assert_array_equal(
            example["sharp"], _pixels("train", sequence, frame_number, "sharp")
        )
    assert found == {
        "GOPR0372_07_00/000001.png",
        "GOPR0372_07_00/000002.png",
        "GOPR0374_11_00/000001.png",
        "GOPR0374_11_00/000002.png",
    }
    assert builder.info.supervised_keys == ("blur", "sharp")
    assert "CC BY 4.0" in builder.info.description
    assert "Nah" in builder.info.citation


def test_manual_download_instructions_say_where_to_point():
    instructions = GoproLarge.MANUAL_DOWNLOAD_INSTRUCTIONS
    assert "GOPRO_Large.zip" in instructions
    assert "train/ and test/" in instructions
