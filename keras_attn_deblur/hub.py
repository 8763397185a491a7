"""Sharing models: `from_pretrained`, `save_pretrained` and `push_to_hub`.

`AttnDeblurNet.from_pretrained`, `.save_pretrained` and `.push_to_hub` call
the functions of this module (imported on first use).

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
  `weights_file`, `weights_sha256`, `weights_size` and the `evaluation`
  results given to `save_pretrained` (or `null`).
- `README.md`: the model card, see `keras_attn_deblur.card`.

**Loading** checks, in this order, before any layer is built: the files are
there; `model.weights.h5` has the recorded size and SHA-256; `config.json`
names only classes of the `keras` and `keras_attn_deblur` packages and no
`Lambda` layer (whose Python code Keras would run). Only then does
`keras.saving.load_model(folder, safe_mode=True, compile=False)` build the
model. From the Hub, only the four files above are downloaded, and a repo
whose file list holds a path that leaves its folder (`../x`, `/etc/x`) is
refused. (`huggingface_hub` itself refuses to write such a file; this module
refuses the whole repo.)

**Environment**: downloads go through `huggingface_hub.snapshot_download`,
so `HF_HOME`/`HF_HUB_CACHE` (the cache), `HF_ENDPOINT` (the Hub's address),
`HF_HUB_OFFLINE` (cache only) and `HF_TOKEN` apply. `huggingface_hub` reads
these when it is first imported; later changes of `os.environ` are not seen
by it, so pass `endpoint=`, `cache_dir=`, `token=` or `local_files_only=`
to change them at run time.

**Bundled weights**: `from_pretrained("<name>")` loads the folder
`BUNDLED_WEIGHTS_DIR / "<name>"` (`keras_attn_deblur/weights/<name>/`), a
folder written by `save_pretrained`. `BUNDLED_WEIGHTS_DIR` is a module
attribute so that packagers and tests can point it elsewhere.
"""

import hashlib
import json
import os
import pathlib
import re
import shutil
import sys
import tempfile
import warnings

import keras
import numpy as np

from keras_attn_deblur import card as model_card
from keras_attn_deblur.models.precision import with_dtype
from keras_attn_deblur.models.presets import PRESETS
from keras_attn_deblur.version import __version__

CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.weights.h5"
CARD_FILE = "README.md"
# The files of a saved folder, and the only ones downloaded from a repo.
REPO_FILES = (CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE, CARD_FILE)
# The key of this package's record in metadata.json.
METADATA_KEY = "keras_attn_deblur"
INPUT_RANGE = (0.0, 1.0)

_WEIGHTS_DTYPES = ("float32", "float16")

# Where `from_pretrained("<name>")` looks for bundled weights: one folder per
# name, each written by `save_pretrained`.
BUNDLED_WEIGHTS_DIR = pathlib.Path(__file__).resolve().parent / "weights"

_HUB_PREFIX = "hf://"
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_BUNDLED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")
# Packages whose classes a config.json may name.
_ALLOWED_PACKAGES = ("keras", "keras_attn_deblur")
# Keras's serialized plain data (arrays, bytes, tuples, slices, references to
# graph tensors): no class is resolved for them.
_DATA_CLASS_NAMES = (
    "__tensor__",
    "__numpy__",
    "__bytes__",
    "__ellipsis__",
    "__slice__",
    "__tuple__",
    "__keras_tensor__",
)
_LAMBDA_CLASS_NAMES = ("Lambda", "__lambda__")


# === Loading ===


def from_pretrained(
    cls,
    name_or_path,
    *,
    revision=None,
    cache_dir=None,
    token=None,
    endpoint=None,
    local_files_only=False,
    force_download=False,
):
    """Loads a saved model: a local folder, a bundled name or a Hub repo.

    Args:
        cls: the model class, `AttnDeblurNet` or a subclass. The loaded
            model must be an instance of it.
        name_or_path: str or path. In this order: a local folder written by
            `save_pretrained`; a bundled name (a folder of
            `BUNDLED_WEIGHTS_DIR`, or a `PRESETS` name, which is an error
            while no weights are bundled for it); a Hub repo id
            `"org/name"` or `"hf://org/name"`.
        revision: str. Hub branch, tag or commit. Defaults to `None`, the
            default branch. Only for Hub repos.
        cache_dir: str or path. Hub cache folder. Defaults to `None`
            (`HF_HUB_CACHE`, `$HF_HOME/hub`).
        token: str or bool. Hub token; `False` sends none. Defaults to
            `None` (`HF_TOKEN` or the saved login).
        endpoint: str. Hub address. Defaults to `None` (`HF_ENDPOINT`, or
            https://huggingface.co).
        local_files_only: bool. Use the cache only, never the network.
            Defaults to `False`.
        force_download: bool. Download again even if cached. Defaults to
            `False`.

    Returns:
        An uncompiled model; compile it (`compile_for_deblurring`) to
        fine-tune it.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ValueError(
            "`name_or_path` must be a folder, a bundled name, or a Hub repo id "
            f"such as 'org/name'. Received: name_or_path={name_or_path!r}"
        )
    name = os.fspath(name_or_path)
    if name.startswith(_HUB_PREFIX):
        repo_id = name[len(_HUB_PREFIX) :]
        if not _REPO_ID.match(repo_id):
            raise ValueError(
                "A Hub address must read 'hf://<namespace>/<name>'. "
                f"Received: name_or_path={name!r}"
            )
    elif os.path.isdir(name):
        _reject_hub_options("a local folder", revision=revision)
        return _load_folder(cls, name, source=f"folder '{name}'")
    elif _BUNDLED_NAME.match(name):
        _reject_hub_options(f"the bundled name '{name}'", revision=revision)
        return _load_bundled(cls, name)
    elif _REPO_ID.match(name):
        repo_id = name
    else:
        raise FileNotFoundError(
            f"'{name}' is not a folder, a bundled name ({_bundled_names() or 'none bundled'}) "
            "or a Hub repo id ('org/name'): check the path or the id."
        )
    folder = _download(
        repo_id,
        revision=revision,
        cache_dir=cache_dir,
        token=token,
        endpoint=endpoint,
        local_files_only=local_files_only,
        force_download=force_download,
    )
    source = f"Hub repo '{repo_id}'" + (f" (revision '{revision}')" if revision else "")
    _check_repo_listing(repo_id, folder, cache_dir, source)
    blobs = pathlib.Path(folder).resolve().parent.parent / "blobs"
    _check_files_stay_inside(folder, (pathlib.Path(folder), blobs), source)
    return _load_folder(cls, folder, source=source)


def _reject_hub_options(what, revision):
    if revision is not None:
        raise ValueError(
            f"`revision` applies to Hub repos only, not to {what}. Received: revision={revision!r}"
        )


def _bundled_names():
    root = pathlib.Path(BUNDLED_WEIGHTS_DIR)
    if not root.is_dir():
        return []
    return sorted(path.name for path in root.iterdir() if (path / CONFIG_FILE).is_file())


def _load_bundled(cls, name):
    folder = pathlib.Path(BUNDLED_WEIGHTS_DIR) / name
    if (folder / CONFIG_FILE).is_file():
        return _load_folder(cls, folder, source=f"bundled weights '{name}'")
    bundled = ", ".join(_bundled_names()) or "none yet"
    if name in PRESETS:
        raise FileNotFoundError(
            f"No pretrained weights are bundled for preset '{name}' (bundled: {bundled}). "
            f"For an untrained model of this configuration use "
            f"AttnDeblurNet.from_preset('{name}'); for trained weights pass a Hub "
            "repo id ('org/name') or a folder written by save_pretrained."
        )
    raise FileNotFoundError(
        f"'{name}' is neither a folder nor a bundled name (bundled: {bundled}; "
        f"presets for untrained models: {sorted(PRESETS)}). Pass a folder, a bundled "
        "name or a Hub repo id ('org/name')."
    )


def _download(repo_id, *, revision, cache_dir, token, endpoint, local_files_only, force_download):
    """`snapshot_download` of the folder's files, with one-line errors."""
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub import errors

    hub = (endpoint or constants.ENDPOINT).rstrip("/")
    what = f"'{repo_id}'" + (f" (revision '{revision}')" if revision else "")
    cache = os.fspath(cache_dir) if cache_dir is not None else constants.HF_HUB_CACHE
    login_hint = "pass token= (or set HF_TOKEN, or run `hf auth login`)"
    try:
        return huggingface_hub.snapshot_download(
            repo_id,
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            endpoint=endpoint,
            local_files_only=local_files_only,
            force_download=force_download,
            allow_patterns=list(REPO_FILES),
            library_name="keras_attn_deblur",
            library_version=__version__,
        )
    except errors.RevisionNotFoundError as error:
        raise FileNotFoundError(
            f"Hub repo '{repo_id}' at {hub} has no revision '{revision}': pass an "
            "existing branch, tag or commit, or revision=None for the default branch."
        ) from error
    except errors.GatedRepoError as error:
        raise PermissionError(
            f"Hub repo '{repo_id}' at {hub} is gated: accept its conditions on its "
            f"page, then {login_hint}."
        ) from error
    except errors.RepositoryNotFoundError as error:
        if _status(error) == 401:
            raise PermissionError(
                f"Hub repo '{repo_id}' at {hub} does not exist or is private and no "
                f"valid token was sent: check the repo id, or {login_hint}."
            ) from error
        raise FileNotFoundError(
            f"Hub repo '{repo_id}' was not found at {hub}: check the repo id (and, "
            "if it is private, that your token can read it)."
        ) from error
    except errors.LocalEntryNotFoundError as error:
        if local_files_only or _offline_mode():
            reason = (
                "HF_HUB_OFFLINE is set" if _offline_mode() else "local_files_only=True was passed"
            )
            raise ConnectionError(
                f"{what} is not (completely) in the Hub cache at {cache} and {reason}, "
                "so nothing was downloaded: download it once with network access, or "
                "point cache_dir= (or HF_HOME) at a cache that has it."
            ) from error
        raise ConnectionError(
            f"Could not reach the Hub at {hub} to download {what}, and it is not in "
            f"the cache at {cache}: check the network connection and HF_ENDPOINT "
            "(or endpoint=), or download it once while online."
        ) from error
    except errors.HfHubHTTPError as error:
        if _status(error) in (401, 403):
            raise PermissionError(
                f"The Hub at {hub} refused the token for {what} (HTTP {_status(error)}): "
                f"{login_hint} with a token that can read the repo."
            ) from error
        raise ConnectionError(
            f"The Hub at {hub} failed to serve {what} (HTTP {_status(error)}): try again later."
        ) from error


def _status(error):
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def _offline_mode():
    from huggingface_hub import constants

    is_offline = getattr(constants, "is_offline_mode", None)
    return bool(is_offline()) if callable(is_offline) else bool(constants.HF_HUB_OFFLINE)


def _check_repo_listing(repo_id, folder, cache_dir, source):
    """Refuses a repo whose file list (as cached by the download) leaves its folder."""
    try:
        from huggingface_hub import get_cached_repo_tree
        from huggingface_hub.errors import CachedRepoTreeNotFoundError
    except ImportError:  # huggingface_hub < 2 caches no listing: the file check remains.
        return
    try:
        entries = get_cached_repo_tree(
            repo_id, revision=pathlib.Path(folder).name, cache_dir=cache_dir
        )
    except CachedRepoTreeNotFoundError:
        return
    for entry in entries:
        if _escapes_folder(entry.path):
            raise ValueError(
                f"{source} lists the file '{entry.path}', whose path leaves the "
                "repository folder; refusing to load anything from it. Report the "
                "repo to its owner or to the Hub."
            )


def _escapes_folder(path):
    posix = pathlib.PurePosixPath(path)
    windows = pathlib.PureWindowsPath(path)
    return (
        not path
        or posix.is_absolute()
        or bool(windows.drive or windows.root)
        or ".." in path.replace("\\", "/").split("/")
    )


def _check_files_stay_inside(folder, roots, source):
    """Refuses a folder file that resolves (through links) outside `roots`."""
    roots = [os.path.realpath(root) for root in roots]
    for name in REPO_FILES:
        path = os.path.join(folder, name)
        if not os.path.lexists(path):
            continue
        target = os.path.realpath(path)
        if not any(target == root or target.startswith(root + os.sep) for root in roots):
            raise ValueError(
                f"{source}: {name} resolves to '{target}', outside the downloaded "
                "folder and the cache's blobs; refusing to load it."
            )


def _load_folder(cls, folder, source):
    """Checks a saved folder, then builds the model from it."""
    folder = pathlib.Path(folder)
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"{source} has no {name}: expected a folder written by save_pretrained "
                f"({CONFIG_FILE}, {METADATA_FILE}, {WEIGHTS_FILE})."
            )
    _verify_weights(folder, source)
    read_weight_arrays(folder / WEIGHTS_FILE, source)  # a readable, complete HDF5 file
    config = _read_json(folder / CONFIG_FILE, source)
    _check_config_is_safe(config, source)
    try:
        model = keras.saving.load_model(os.fspath(folder), compile=False, safe_mode=True)
    except Exception as error:  # Keras, h5py and config errors alike
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ValueError(
            f"{source}: could not build the model from {CONFIG_FILE} and "
            f"{WEIGHTS_FILE} ({type(error).__name__}: {detail[:300]}). The folder "
            "was written by another version or is damaged; save it again with "
            "save_pretrained."
        ) from error
    if not isinstance(model, cls):
        raise TypeError(
            f"{source} holds a {type(model).__name__} model, not an instance of "
            f"{cls.__name__}: load it with keras.saving.load_model, or pick a folder "
            f"saved from a {cls.__name__}."
        )
    return model


def _read_json(path, source):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{source}: {path.name} is not valid JSON ({error}); the file is damaged. "
            "Download it again (force_download=True) or save the folder again."
        ) from error


def read_weight_arrays(weights_path, source):
    """Every dataset of a `.weights.h5` file as `(name, array)`; one-line error if damaged."""
    import h5py

    arrays = []

    def collect(name, item):
        if isinstance(item, h5py.Dataset):
            arrays.append((name, item[()]))

    try:
        with h5py.File(weights_path, "r") as file:
            file.visititems(collect)
    except Exception as error:  # truncated or not HDF5 at all
        detail = " ".join(str(error).split())[:200]
        raise ValueError(
            f"{source}: {pathlib.Path(weights_path).name} cannot be read ({detail}): the file "
            "is truncated or damaged. Download it again (force_download=True) or save the "
            "folder again."
        ) from error
    return arrays


def check_finite_weights(named_arrays, source):
    """Refuses NaN or infinite weights (a diverged training run) before they are published."""
    for name, array in named_arrays:
        array = np.asarray(array)
        if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
            raise ValueError(
                f"{source} holds non-finite weights (NaN or inf in '{name}'), as a diverged "
                "training run leaves them: refusing to save or publish them. Train again "
                "with a lower learning rate."
            )


def _verify_weights(folder, source):
    """Compares model.weights.h5 with the size and SHA-256 of metadata.json."""
    metadata_path = folder / METADATA_FILE
    record = None
    if metadata_path.is_file():
        metadata = _read_json(metadata_path, source)
        if isinstance(metadata, dict) and isinstance(metadata.get(METADATA_KEY), dict):
            record = metadata[METADATA_KEY]
    if record is None or not isinstance(record.get("weights_sha256"), str):
        warnings.warn(
            f"{source}: {METADATA_FILE} records no SHA-256 of {WEIGHTS_FILE} (the "
            "folder was not written by save_pretrained), so the weights' integrity "
            "is not checked.",
            stacklevel=5,
        )
        return
    weights_path = folder / WEIGHTS_FILE
    expected_size = record.get("weights_size")
    size = weights_path.stat().st_size
    if isinstance(expected_size, int) and size != expected_size:
        raise ValueError(
            f"{source}: {WEIGHTS_FILE} has {size:,} bytes but {METADATA_FILE} records "
            f"{expected_size:,}: the file is truncated or was replaced. Download it "
            "again (force_download=True) or save the folder again."
        )
    digest = _sha256(weights_path)
    expected = record["weights_sha256"].lower()
    if digest != expected:
        raise ValueError(
            f"{source}: the SHA-256 of {WEIGHTS_FILE} is {digest[:16]}..., but "
            f"{METADATA_FILE} records {expected[:16]}...: the weights are corrupted or "
            "were tampered with. Download them again (force_download=True) or save "
            "the folder again."
        )


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_config_is_safe(config, source):
    """Refuses a config that names code outside keras/keras_attn_deblur."""
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(
            f"{source}: {CONFIG_FILE} does not describe a Keras model (no "
            "'class_name' at its top level); save the folder again with save_pretrained."
        )
    for location, node in _serialized_objects(config, CONFIG_FILE):
        class_name = node.get("class_name")
        module = node.get("module")
        registered_name = node.get("registered_name")
        if not isinstance(class_name, str):
            raise ValueError(f"{source}: {location} has a non-string class_name {class_name!r}.")
        if class_name in _LAMBDA_CLASS_NAMES:
            raise ValueError(
                f"{source}: {location} is a Lambda layer, which runs Python code "
                "stored in the file; refusing to load it. Load a model you trust with "
                "keras.saving.load_model(..., safe_mode=False) instead."
            )
        if class_name in _DATA_CLASS_NAMES:
            continue
        builtin_function = class_name == "function" and module == "builtins"
        if not (builtin_function or _in_allowed_package(module)):
            raise ValueError(
                f"{source}: {location} names '{module}.{class_name}', outside the "
                f"packages {_ALLOWED_PACKAGES}; refusing to build it. Only load "
                "models whose every class comes from keras or keras_attn_deblur."
            )
        if isinstance(registered_name, str) and ">" in registered_name:
            package = registered_name.split(">", 1)[0]
            if package not in _ALLOWED_PACKAGES:
                raise ValueError(
                    f"{source}: {location} names the registered object "
                    f"'{registered_name}', outside the packages {_ALLOWED_PACKAGES}; "
                    "refusing to build it."
                )


def _in_allowed_package(module):
    return isinstance(module, str) and any(
        module == package or module.startswith(package + ".") for package in _ALLOWED_PACKAGES
    )


def _serialized_objects(value, location):
    """Yields (location, dict) for every serialized object in a config tree."""
    if isinstance(value, dict):
        if "class_name" in value:
            yield location, value
        for key, item in value.items():
            yield from _serialized_objects(item, f"{location}[{key!r}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _serialized_objects(item, f"{location}[{index}]")


# === Saving ===


def save_pretrained(
    model,
    directory,
    *,
    metrics=None,
    overwrite_card=False,
    repo_id=None,
    model_name=None,
    license=None,
    tags=None,
    datasets=None,
    base_model=None,
    training=None,
    weights_dtype="float32",
):
    """Writes `model` as a folder that `from_pretrained` and Keras load.

    The files are written to a temporary folder inside `directory` and then
    moved into place, `metadata.json` last, so an interrupted save leaves
    either the old files or a weights file whose hash does not match (which
    `from_pretrained` refuses), never a silently mixed folder.

    Args:
        model: `AttnDeblurNet`. Saved without its optimizer or compile
            configuration.
        directory: str or path. The folder; created if needed.
        metrics: dict or list of dicts. Results of an evaluation run for the
            card and metadata.json, in the schema of `keras_attn_deblur.card`.
            Defaults to `None` (the card says "Not evaluated").
        overwrite_card: bool. Replace a README.md that was not generated by
            this package. Defaults to `False`: such a README.md is kept.
        repo_id, model_name, license, tags, datasets, base_model, training:
            the model card's fields, see
            `keras_attn_deblur.card.render_model_card`.
        weights_dtype: `"float32"` or `"float16"`. How `model.weights.h5`
            stores the floating-point weights. `"float16"` halves the file;
            loading casts them back to the model's variable dtype (float32),
            so the loaded model computes in full precision with weights
            rounded to float16 (a relative change of at most 2**-11 per
            weight; measure its effect with an evaluation before
            publishing). Defaults to `"float32"`.

    Returns:
        The folder, a `pathlib.Path`.
    """
    evaluations = model_card.validate_metrics(metrics)
    check_finite_weights(
        [(weight.path, weight.numpy()) for weight in model.weights], f"the model '{model.name}'"
    )
    if weights_dtype not in _WEIGHTS_DTYPES:
        raise ValueError(
            f"`weights_dtype` must be one of {_WEIGHTS_DTYPES}. "
            f"Received: weights_dtype={weights_dtype!r}"
        )
    directory = pathlib.Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(
            f"save_pretrained writes a folder, but '{directory}' is a file: pass another path."
        )
    card_path = directory / CARD_FILE
    keep_card = (
        not overwrite_card
        and card_path.is_file()
        and not model_card.is_generated_card(
            card_path.read_text(encoding="utf-8", errors="replace")
        )
    )
    if keep_card:
        warnings.warn(
            f"Kept '{card_path}': it was not generated by keras_attn_deblur. Pass "
            "overwrite_card=True to replace it with a generated model card.",
            stacklevel=3,
        )
    card = None
    if not keep_card:
        card = model_card.render_model_card(
            model,
            metrics=evaluations or None,
            repo_id=repo_id,
            model_name=model_name,
            license=license,
            tags=tags,
            datasets=datasets,
            base_model=base_model,
            training=training,
        )

    directory.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=".save_pretrained-", dir=directory))
    try:
        keras.saving.save_model(_inference_copy(model), os.fspath(staging), zipped=False)
        assets = staging / "assets"
        if assets.is_dir() and not any(assets.iterdir()):
            assets.rmdir()
        if weights_dtype != "float32":
            _store_weights_as(staging / WEIGHTS_FILE, weights_dtype)
        metadata = json.loads((staging / METADATA_FILE).read_text(encoding="utf-8"))
        metadata[METADATA_KEY] = {
            "version": __version__,
            "preset": model_card.describe_model(model)["preset"],
            "input_range": list(INPUT_RANGE),
            "weights_file": WEIGHTS_FILE,
            "weights_sha256": _sha256(staging / WEIGHTS_FILE),
            "weights_size": (staging / WEIGHTS_FILE).stat().st_size,
            "weights_dtype": weights_dtype,
            "evaluation": evaluations or None,
        }
        (staging / METADATA_FILE).write_text(
            json.dumps(metadata, indent=2) + "\n", encoding="utf-8"
        )
        if card is not None:
            (staging / CARD_FILE).write_text(str(card), encoding="utf-8")
        _move_into_place(staging, directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory


def _store_weights_as(path, dtype):
    """Rewrites the float32 arrays of a Keras weights file in `dtype`.

    The file is copied group by group (attributes included) into a new file,
    which then replaces the old one, so the result holds no dead space.
    """
    import h5py
    import numpy as np

    def copy(source, target):
        for key, value in source.attrs.items():
            target.attrs[key] = value
        for name, item in source.items():
            if isinstance(item, h5py.Group):
                copy(item, target.create_group(name))
                continue
            array = item[()]
            if isinstance(array, np.ndarray) and array.dtype == np.float32:
                array = array.astype(dtype)
            dataset = target.create_dataset(name, data=array)
            for key, value in item.attrs.items():
                dataset.attrs[key] = value

    converted = path.with_name(path.name + ".converted")
    with h5py.File(path, "r") as source, h5py.File(converted, "w") as target:
        copy(source, target)
    os.replace(converted, path)


def _inference_copy(model):
    """The model itself, or an uncompiled copy when it carries training state."""
    if getattr(model, "optimizer", None) is None and not getattr(model, "compiled", False):
        return model
    return with_dtype(model, rebuild=True)


def _move_into_place(staging, directory):
    """Moves every file of `staging` into `directory`: weights first, metadata.json last."""
    order = {WEIGHTS_FILE: 0, CONFIG_FILE: 1, CARD_FILE: 2, METADATA_FILE: 3}
    names = sorted(os.listdir(staging), key=lambda name: order.get(name, 1))
    for name in names:
        target = directory / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(staging / name, target)


# === Publishing ===


def push_to_hub(
    model,
    repo_id,
    *,
    private=False,
    token=None,
    revision=None,
    commit_message=None,
    create_pr=False,
    endpoint=None,
    metrics=None,
    overwrite_card=False,
    model_name=None,
    license=None,
    tags=None,
    datasets=None,
    base_model=None,
):
    """Publishes `model` to a Hub repo in one commit.

    Creates the repo if needed (`create_repo(exist_ok=True)`), writes the
    folder of `save_pretrained` to a temporary directory and uploads it with
    one `upload_folder` commit. A README.md on the Hub that was not generated
    by this package is kept unless `overwrite_card=True`.

    Args:
        model: `AttnDeblurNet`.
        repo_id: str. `"namespace/name"` (or `"hf://namespace/name"`).
        private: bool. Create the repo private (an existing repo keeps its
            visibility). Defaults to `False`.
        token: str. A token with write access. Defaults to `None`
            (`HF_TOKEN` or the saved login).
        revision: str. Branch to commit to, created if missing. Defaults to
            `None`, the default branch.
        commit_message: str. Defaults to "Upload <name> with keras-attn-deblur".
        create_pr: bool. Open a pull request instead of committing to the
            default branch. Defaults to `False`.
        endpoint: str. Hub address. Defaults to `None` (`HF_ENDPOINT`).
        metrics, overwrite_card, model_name, license, tags, datasets,
            base_model: see `save_pretrained`.

    Returns:
        The `huggingface_hub.CommitInfo` of the commit (`.oid`,
        `.commit_url`, `.pr_url`).
    """
    model_card.validate_metrics(metrics)

    def stage(staging):
        save_pretrained(
            model,
            staging,
            metrics=metrics,
            overwrite_card=True,
            repo_id=_strip_prefix(repo_id),
            model_name=model_name,
            license=license,
            tags=tags,
            datasets=datasets,
            base_model=base_model,
        )

    return _publish(
        repo_id,
        stage,
        private=private,
        token=token,
        revision=revision,
        commit_message=commit_message
        or f"Upload {model_name or 'AttnDeblurNet'} with keras-attn-deblur {__version__}",
        create_pr=create_pr,
        endpoint=endpoint,
        overwrite_card=overwrite_card,
    )


def push_folder(
    folder,
    repo_id,
    *,
    private=False,
    token=None,
    revision=None,
    commit_message=None,
    create_pr=False,
    endpoint=None,
    overwrite_card=False,
):
    """Publishes a `save_pretrained` folder to a Hub repo unchanged, in one commit.

    This is how the bundled weights are published: their folder (config,
    metadata with the weights' hash, weights and the card with the
    measured numbers) is uploaded byte for byte, after the same checks
    `from_pretrained` makes (weights hash and size, safe config).

    Args:
        folder: str or path. A folder written by `save_pretrained`, or a
            bundled name (`"patent"`: `BUNDLED_WEIGHTS_DIR / "patent"`).
        repo_id, private, token, revision, commit_message, create_pr,
            endpoint, overwrite_card: see `push_to_hub`.

    Returns:
        The `huggingface_hub.CommitInfo` of the commit.
    """
    path = pathlib.Path(os.fspath(folder))
    if not path.is_dir() and isinstance(folder, str) and _BUNDLED_NAME.match(folder):
        path = pathlib.Path(BUNDLED_WEIGHTS_DIR) / folder
    source = f"folder '{folder}'"
    if not (path / METADATA_FILE).is_file() or not (path / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(
            f"{source} is not a folder written by save_pretrained (no {METADATA_FILE} or "
            f"{WEIGHTS_FILE}; bundled: {_bundled_names() or 'none'}). Save the model with "
            "save_pretrained first, or push the model with push_to_hub."
        )
    _verify_weights(path, source)
    check_finite_weights(read_weight_arrays(path / WEIGHTS_FILE, source), source)
    _check_config_is_safe(_read_json(path / CONFIG_FILE, source), source)
    files = [name for name in (CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE, CARD_FILE)
             if (path / name).is_file()]  # fmt: skip

    def stage(staging):
        for name in files:
            shutil.copyfile(path / name, pathlib.Path(staging) / name)

    return _publish(
        repo_id,
        stage,
        private=private,
        token=token,
        revision=revision,
        commit_message=commit_message
        or f"Upload {path.name} with keras-attn-deblur {__version__}",
        create_pr=create_pr,
        endpoint=endpoint,
        overwrite_card=overwrite_card,
    )


def _strip_prefix(repo_id):
    if isinstance(repo_id, str) and repo_id.startswith(_HUB_PREFIX):
        return repo_id[len(_HUB_PREFIX) :]
    return repo_id


def _publish(
    repo_id, stage, *, private, token, revision, commit_message, create_pr, endpoint,
    overwrite_card,
):  # fmt: skip
    """Creates the repo if needed and uploads what `stage(folder)` writes, in one commit."""
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub import errors

    repo_id = _strip_prefix(repo_id)
    if not isinstance(repo_id, str) or not _REPO_ID.match(repo_id):
        raise ValueError(f"`repo_id` must read 'namespace/name'. Received: repo_id={repo_id!r}")
    if create_pr and revision not in (None, "main"):
        raise ValueError(
            "Pull requests are opened against the default branch: pass create_pr=True "
            f"without `revision`. Received: revision={revision!r}"
        )
    hub = (endpoint or constants.ENDPOINT).rstrip("/")
    api = huggingface_hub.HfApi(
        endpoint=endpoint,
        token=token,
        library_name="keras_attn_deblur",
        library_version=__version__,
    )
    login_hint = (
        "pass a token with write access as token= (or set HF_TOKEN, or run `hf auth login`)"
    )
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        if (
            revision not in (None, "main")
            and not _COMMIT_SHA.match(revision)
            and not revision.startswith("refs/")
        ):
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        keep_remote_card = not overwrite_card and _hub_card_is_handwritten(api, repo_id, revision)
        if keep_remote_card:
            warnings.warn(
                f"Kept the README.md of Hub repo '{repo_id}': it was not generated by "
                "keras_attn_deblur. Pass overwrite_card=True to replace it.",
                stacklevel=4,
            )
        with tempfile.TemporaryDirectory(prefix="keras_attn_deblur_push_") as staging:
            stage(staging)
            if keep_remote_card and os.path.exists(os.path.join(staging, CARD_FILE)):
                os.remove(os.path.join(staging, CARD_FILE))
            return api.upload_folder(
                repo_id=repo_id,
                folder_path=staging,
                revision=revision,
                commit_message=commit_message,
                create_pr=create_pr,
            )
    except errors.HfHubHTTPError as error:
        if _status(error) in (401, 403):
            raise PermissionError(
                f"The Hub at {hub} refused to write to '{repo_id}' (HTTP "
                f"{_status(error)}): {login_hint}."
            ) from error
        raise
    except _connection_errors() as error:
        raise ConnectionError(
            f"Could not reach the Hub at {hub} to push '{repo_id}': check the network "
            "connection and HF_ENDPOINT (or endpoint=)."
        ) from error


def _hub_card_is_handwritten(api, repo_id, revision):
    """Whether the repo's README.md exists and was not generated by this package."""
    from huggingface_hub import errors

    with tempfile.TemporaryDirectory(prefix="keras_attn_deblur_card_") as cache:
        try:
            path = api.hf_hub_download(repo_id, CARD_FILE, revision=revision, cache_dir=cache)
        except (errors.EntryNotFoundError, errors.RevisionNotFoundError):
            return False
        text = pathlib.Path(path).read_text(encoding="utf-8", errors="replace")
    return not model_card.is_generated_card(text)


def _connection_errors():
    """The network errors of the HTTP client huggingface_hub uses."""
    types = [ConnectionError]
    for module_name, names in (
        ("httpx2", ("ConnectError", "TimeoutException")),
        ("httpx", ("ConnectError", "TimeoutException")),
        ("requests", ("ConnectionError", "Timeout")),
    ):
        module = sys.modules.get(module_name)
        for name in names:
            error_type = getattr(module, name, None)
            if isinstance(error_type, type) and issubclass(error_type, BaseException):
                types.append(error_type)
    return tuple(types)
