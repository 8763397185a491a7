"""The saved folder: its file names, the Hub-id and bundled-name rules, its JSON files.

**The folder** is Keras's native unzipped format, what
`keras.saving.save_model(model, folder, zipped=False)` writes and
`keras.saving.load_model(folder)` or `load_model("hf://org/name")` reads,
plus a model card:

- `config.json`: the model's Keras config (an uncompiled copy of the model:
  no optimizer state or training configuration is published).
- `model.weights.h5`: the weights.
- `metadata.json`: Keras's `keras_version` and `date_saved`, and under
  `"keras_attn_deblur"`: the package `version`, the `preset` whose
  configuration the model has (or `null`), the `input_range` `[0.0, 1.0]`,
  `weights_file`, `weights_sha256`, `weights_size`, `weights_dtype` and the
  `evaluation` results given to `save_pretrained` (or `null`).
- `README.md`: the model card, see `keras_attn_deblur.hub.card`.

**Bundled weights**: the name `"<name>"` means the folder
`BUNDLED_WEIGHTS_DIR / "<name>"` (`keras_attn_deblur/weights/<name>/`), a
folder written by `save_pretrained`. `BUNDLED_WEIGHTS_DIR` is an attribute
of this module (`keras_attn_deblur.hub.layout`), read at each call, so that
packagers and tests can point it elsewhere.
"""

import json
import os
import pathlib
import re

CONFIG_FILE = "config.json"
"""The model's Keras config (`get_config`) in a saved folder."""
METADATA_FILE = "metadata.json"
"""The package's record (versions, weights hash, input range) in a saved folder."""
WEIGHTS_FILE = "model.weights.h5"
"""The weights in a saved folder (Keras `.weights.h5`)."""
CARD_FILE = "README.md"
"""The model card in a saved folder (the Hub shows it as the repo's page)."""
REPO_FILES = (CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE, CARD_FILE)
"""The files of a saved folder, and the only ones downloaded from a repo."""
METADATA_KEY = "keras_attn_deblur"
"""The key of this package's record in metadata.json."""
INPUT_RANGE = (0.0, 1.0)
"""The value range of the images the saved models take and give."""

# Where the name "<name>" finds bundled weights: one folder per name, each
# written by `save_pretrained`.
BUNDLED_WEIGHTS_DIR = pathlib.Path(__file__).resolve().parent.parent / "weights"

HUB_PREFIX = "hf://"
# The one rule for a Hub repo id, "namespace/name" (without the "hf://" prefix).
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_BUNDLED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def is_repo_id(name):
    """Whether `name` reads "namespace/name" (no "hf://" prefix)."""
    return isinstance(name, str) and bool(_REPO_ID.match(name))


def is_bundled_name(name):
    """Whether `name` could name a bundled folder (one path component, no dots first)."""
    return isinstance(name, str) and bool(_BUNDLED_NAME.match(name))


def strip_prefix(repo_id):
    """`repo_id` without its "hf://" prefix."""
    if isinstance(repo_id, str) and repo_id.startswith(HUB_PREFIX):
        return repo_id[len(HUB_PREFIX) :]
    return repo_id


def bundled_names():
    """The names of the bundled folders (those holding a config.json), sorted."""
    root = pathlib.Path(BUNDLED_WEIGHTS_DIR)
    if not root.is_dir():
        return []
    return sorted(path.name for path in root.iterdir() if (path / CONFIG_FILE).is_file())


def bundled_folder(name):
    """The folder the bundled name `name` means (it may not exist)."""
    return pathlib.Path(BUNDLED_WEIGHTS_DIR) / name


def saved_folder(name_or_path):
    """The folder of a `save_pretrained` folder or a bundled name, else `None`.

    A folder counts when it holds metadata.json and model.weights.h5, the
    files that `push_folder` uploads unchanged.
    """
    path = pathlib.Path(os.path.expanduser(os.fspath(name_or_path)))
    candidates = [path]
    if is_bundled_name(os.fspath(name_or_path)):
        candidates.append(bundled_folder(os.fspath(name_or_path)))
    for folder in candidates:
        if (folder / METADATA_FILE).is_file() and (folder / WEIGHTS_FILE).is_file():
            return folder
    return None


def read_json(path, source):
    """The parsed JSON file `path`; a one-line `ValueError` naming `source` if damaged."""
    path = pathlib.Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{source}: {path.name} is not valid JSON ({error}); the file is damaged. "
            "Download it again (force_download=True) or save the folder again."
        ) from error


def read_record(folder, source):
    """This package's record in the folder's metadata.json, or `None` if it has none."""
    metadata_path = pathlib.Path(folder) / METADATA_FILE
    if not metadata_path.is_file():
        return None
    metadata = read_json(metadata_path, source)
    if isinstance(metadata, dict) and isinstance(metadata.get(METADATA_KEY), dict):
        return metadata[METADATA_KEY]
    return None
