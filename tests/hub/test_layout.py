"""The saved folder's names and rules (keras_attn_deblur.hub.layout)."""

import pytest

from keras_attn_deblur.hub import layout
from tests.hub.helpers import tiny_model


@pytest.mark.parametrize(
    "name, expected",
    [("org/name", True), ("o.rg/na_me-2", True), ("hf://org/name", False), ("name", False),
     ("org/name/extra", False), ("./org/name", False), ("org/../name", False), ("", False)],
)  # fmt: skip
def test_one_rule_for_a_hub_repo_id(name, expected):
    assert layout.is_repo_id(name) is expected


def test_strip_prefix():
    assert layout.strip_prefix("hf://org/name") == "org/name"
    assert layout.strip_prefix("org/name") == "org/name"


def test_saved_folder_finds_folders_and_bundled_names(tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "BUNDLED_WEIGHTS_DIR", tmp_path / "weights")
    folder = tiny_model().save_pretrained(tmp_path / "weights" / "tiny")
    assert layout.saved_folder(folder) == folder
    assert layout.saved_folder("tiny") == folder
    assert layout.bundled_names() == ["tiny"]
    assert layout.saved_folder(tmp_path / "nothing") is None
    assert layout.saved_folder("nothing") is None


def test_read_json_names_the_damaged_file(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="folder 'x': config.json is not valid JSON"):
        layout.read_json(tmp_path / "config.json", "folder 'x'")
