"""The one loader (keras_attn_deblur.hub.resolve): every kind of handle, and clear errors."""

import json
import os

import numpy as np
import pytest

from keras_attn_deblur import PRESETS
from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur.hub import UntrainedWeightsWarning
from keras_attn_deblur.hub import layout
from tests.hub.helpers import IMAGES
from tests.hub.helpers import REPO
from tests.hub.helpers import outputs
from tests.hub.helpers import snapshot_folders
from tests.hub.helpers import tiny_model

TINY_PRESET = {"filters": (4, 8, 8), "blocks_per_stage": 1, "kernel_size": 3}


def test_from_pretrained_loads_a_local_folder(tmp_path):
    model = tiny_model()
    folder = model.save_pretrained(tmp_path / "out" / "attn-deblur")
    for name_or_path in (folder, str(folder)):
        loaded = AttnDeblurNet.from_pretrained(name_or_path)
        np.testing.assert_array_equal(outputs(loaded), outputs(model))
    assert not [name for name in os.listdir(folder) if name.startswith(".")]  # no staging left
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["keras_attn_deblur"]["preset"] is None  # no preset has this configuration


def test_bundled_weights_are_found_by_name(tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "BUNDLED_WEIGHTS_DIR", tmp_path / "weights")
    model = tiny_model()
    model.save_pretrained(tmp_path / "weights" / "lite")
    np.testing.assert_array_equal(outputs(AttnDeblurNet.from_pretrained("lite")), outputs(model))
    with pytest.raises(ValueError, match="revision"):
        AttnDeblurNet.from_pretrained("lite", revision="main")


def test_a_preset_without_bundled_weights_points_to_from_preset(tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "BUNDLED_WEIGHTS_DIR", tmp_path / "no_weights")
    with pytest.raises(
        FileNotFoundError,
        match=r"No pretrained weights are bundled for preset 'patent'.*from_preset\('patent'\)",
    ):
        AttnDeblurNet.from_pretrained("patent")


def test_an_unknown_name_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="neither a folder nor a bundled name"):
        AttnDeblurNet.from_pretrained("no-such-model")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        AttnDeblurNet.from_pretrained("./missing/folder/here")


# --- Every kind of handle, through AttnDeblurNet.from_pretrained ---------------


def test_a_keras_file_loads(tmp_path):
    model = tiny_model()
    model.save(tmp_path / "tiny.keras")
    for handle in (tmp_path / "tiny.keras", str(tmp_path / "tiny.keras")):
        loaded = AttnDeblurNet.from_pretrained(handle)
        assert isinstance(loaded, AttnDeblurNet)
        np.testing.assert_array_equal(outputs(loaded), outputs(model))


def test_a_missing_or_broken_keras_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="Model file '.*missing.keras' does not exist"):
        AttnDeblurNet.from_pretrained(tmp_path / "missing.keras")
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="Cannot load the model file '.*broken.keras'"):
        AttnDeblurNet.from_pretrained(tmp_path / "broken.keras")


def test_a_preset_without_weights_loads_untrained_when_allowed(tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "BUNDLED_WEIGHTS_DIR", tmp_path / "no_weights")
    monkeypatch.setitem(PRESETS, "tiny", TINY_PRESET)
    with pytest.warns(UntrainedWeightsWarning, match="preset 'tiny': this model is UNTRAINED"):
        model = AttnDeblurNet.from_pretrained("tiny", allow_untrained=True)
    assert model.filters == (4, 8, 8)
    # Global residual learning with a zero output convolution: the identity.
    np.testing.assert_allclose(outputs(model), IMAGES, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="No pretrained weights are bundled"):
        AttnDeblurNet.from_pretrained("tiny")


def test_a_bundled_preset_loads_its_weights_not_the_untrained_model(tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "BUNDLED_WEIGHTS_DIR", tmp_path / "weights")
    monkeypatch.setitem(PRESETS, "tiny", TINY_PRESET)
    model = tiny_model()
    model.save_pretrained(tmp_path / "weights" / "tiny")
    loaded = AttnDeblurNet.from_pretrained("tiny", allow_untrained=True)
    np.testing.assert_array_equal(outputs(loaded), outputs(model))


def test_an_org_name_loads_from_the_hub(hub):
    model = tiny_model()
    model.push_to_hub(REPO)
    for handle in (REPO, f"hf://{REPO}"):
        np.testing.assert_array_equal(outputs(AttnDeblurNet.from_pretrained(handle)), outputs(model))


def test_a_local_folder_wins_over_a_hub_repo_of_the_same_name(hub, tmp_path, monkeypatch):
    tiny_model(1).push_to_hub(REPO)
    local = tiny_model(2)
    local.save_pretrained(tmp_path / REPO)
    monkeypatch.chdir(tmp_path)
    hub.requests.clear()
    np.testing.assert_array_equal(outputs(AttnDeblurNet.from_pretrained(REPO)), outputs(local))
    assert hub.requests == [] and snapshot_folders(hub.cache_dir) == []


def test_a_hub_error_says_no_local_folder_exists_either(hub):
    with pytest.raises(FileNotFoundError, match=f"no local folder '{REPO}' exists either"):
        AttnDeblurNet.from_pretrained(REPO)


def test_an_unknown_name_suggests_the_closest_preset():
    with pytest.raises(FileNotFoundError, match="Unknown model 'patnet'.*Did you mean 'patent'"):
        AttnDeblurNet.from_pretrained("patnet")


def test_from_preset_builds_the_architecture_with_overrides():
    model = AttnDeblurNet.from_preset("lite", blocks_per_stage=1, kernel_size=3)
    assert model.filters == tuple(PRESETS["lite"]["filters"]) and model.kernel_size == 3
    with pytest.raises(ValueError, match="Unknown preset. Available presets"):
        AttnDeblurNet.from_preset("patnet")


def test_options_of_another_kind_of_handle_are_refused(tmp_path):
    folder = tiny_model().save_pretrained(tmp_path / "out")
    with pytest.raises(ValueError, match="`revision` applies to Hub repos only"):
        AttnDeblurNet.from_pretrained(folder, revision="main")
    with pytest.raises(ValueError, match="`name_or_path` must be"):
        AttnDeblurNet.from_pretrained(42)
