"""save_pretrained (keras_attn_deblur.hub.save): the folder, its metadata, atomic replacement."""

import hashlib
import json
import os
import warnings

import huggingface_hub
import keras
import numpy as np
import pytest

import keras_attn_deblur
from keras_attn_deblur import PRESETS
from keras_attn_deblur import AttnDeblurNet
from tests.hub.helpers import METRICS
from tests.hub.helpers import outputs
from tests.hub.helpers import tiny_model


def test_save_pretrained_writes_the_keras_folder_and_metadata(tmp_path, monkeypatch):
    # A preset of the tiny configuration (PRESETS is a plain dict of configs).
    monkeypatch.setitem(
        PRESETS,
        "tiny",
        {
            "filters": (4, 8, 8),
            "blocks_per_stage": 1,
            "kernel_size": 3,
            "attention_reduction": 4,
            "upsampling": "bilinear",
            "global_residual": True,
        },
    )
    folder = tiny_model().save_pretrained(tmp_path / "tiny", metrics=METRICS)

    assert sorted(os.listdir(folder)) == [
        "README.md",
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["keras_version"] == keras.version()
    record = metadata["keras_attn_deblur"]
    weights = (folder / "model.weights.h5").read_bytes()
    assert record["weights_sha256"] == hashlib.sha256(weights).hexdigest()
    assert record["weights_size"] == len(weights)
    assert record["preset"] == "tiny"
    assert record["input_range"] == [0.0, 1.0]
    assert record["version"] == keras_attn_deblur.__version__
    assert record["evaluation"][0]["psnr"] == METRICS["psnr"]
    config = json.loads((folder / "config.json").read_text())
    assert config["registered_name"] == "keras_attn_deblur>AttnDeblurNet"
    # Keras reads the folder as its own format.
    assert isinstance(keras.saving.load_model(folder), AttnDeblurNet)


def test_save_pretrained_drops_the_training_state(tmp_path):
    model = tiny_model()
    plain = model.save_pretrained(tmp_path / "plain")
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)  # what a training step creates
    trained = model.save_pretrained(tmp_path / "trained")

    config = json.loads((trained / "config.json").read_text())
    assert not config.get("compile_config")
    assert (trained / "model.weights.h5").stat().st_size == (
        plain / "model.weights.h5"
    ).stat().st_size
    np.testing.assert_array_equal(outputs(AttnDeblurNet.from_pretrained(trained)), outputs(model))


def test_save_pretrained_replaces_an_older_save(tmp_path):
    folder = tiny_model(1).save_pretrained(tmp_path / "out")
    newer = tiny_model(2)
    newer.save_pretrained(folder)
    np.testing.assert_array_equal(outputs(AttnDeblurNet.from_pretrained(folder)), outputs(newer))


@pytest.mark.parametrize(
    "metrics, message",
    [
        ({"dataset": "GoPro", "split": "test"}, "missing"),
        ({"dataset": "GoPro", "split": "test", "psnr": 30.0, "psnr_db": 30.0}, "Unknown keys"),
        ({"dataset": "GoPro", "split": "test", "psnr": float("inf")}, "finite"),
        ({"dataset": "GoPro", "split": "test", "psnr": 30.0, "ssim": 93.1}, r"\[-1, 1\]"),
    ],
)
def test_malformed_metrics_are_refused_before_writing(tmp_path, metrics, message):
    with pytest.raises(ValueError, match=message):
        tiny_model().save_pretrained(tmp_path / "out", metrics=metrics)
    assert not (tmp_path / "out").exists()


def test_a_readme_written_by_hand_is_kept_unless_told(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "README.md").write_text("# My own notes\n")
    with pytest.warns(UserWarning, match="overwrite_card=True"):
        tiny_model().save_pretrained(folder, metrics=METRICS)
    assert (folder / "README.md").read_text() == "# My own notes\n"
    assert (folder / "model.weights.h5").is_file()

    tiny_model().save_pretrained(folder, metrics=METRICS, overwrite_card=True)
    assert "model-index" in huggingface_hub.metadata_load(folder / "README.md")
    # A generated card is rewritten without being asked.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        tiny_model().save_pretrained(folder)
    assert "model-index" not in huggingface_hub.metadata_load(folder / "README.md")
