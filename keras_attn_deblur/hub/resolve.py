"""One loader for every kind of model handle (keras-hub's `from_preset(handle)`).

`from_pretrained(cls, name_or_path)` takes, in this order:

1. `"hf://org/name"`: a Hub repo.
2. A path ending in `.keras`: a file written by `model.save()`.
3. An existing folder: written by `save_pretrained`.
4. A preset name (`PRESETS`): its bundled weights; without any, the
   untrained architecture when `allow_untrained=True` (with an
   `UntrainedWeightsWarning`), else a `FileNotFoundError`.
5. A bundled name: a folder of `layout.BUNDLED_WEIGHTS_DIR`.
6. `"org/name"`: a Hub repo (unless it looks like a path: `./x`, `~/x`, `/x`).

A folder (local, bundled or downloaded) is checked before any layer is built
(`keras_attn_deblur.hub.safety`); only then does
`keras.saving.load_model(folder, safe_mode=True, compile=False)` build it.
Whatever the handle, a model whose weights are not all finite (NaN or inf, as
a diverged training run leaves them) is refused once built.
The model class `cls` is given by the caller (`AttnDeblurNet`, through
`HubMixin`): this package never imports the model module.
"""

import copy
import difflib
import os
import pathlib
import warnings

import keras

from keras_attn_deblur._utils.errors import one_line
from keras_attn_deblur.hub import download
from keras_attn_deblur.hub import layout
from keras_attn_deblur.hub import safety
from keras_attn_deblur.models.presets import PRESETS


class UntrainedWeightsWarning(UserWarning):
    """A preset was loaded without trained weights: the model is untrained."""


def preset_config(preset, **overrides):
    """The constructor arguments of the preset `preset`, with `overrides` applied.

    Raises:
        ValueError: `preset` is not a key of `PRESETS`.
    """
    if preset not in PRESETS:
        close = difflib.get_close_matches(str(preset), list(PRESETS), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ValueError(
            f"Unknown preset. Available presets: {sorted(PRESETS)}.{hint} "
            f"Received: preset={preset!r}"
        )
    config = copy.deepcopy(PRESETS[preset])
    config.update(overrides)
    return config


def from_pretrained(cls, name_or_path, *, allow_untrained=False, **options):
    """Loads a model of class `cls` from any handle (see the module docstring).

    Args:
        cls: the model class, `AttnDeblurNet` or a subclass. The loaded
            model must be an instance of it.
        name_or_path: str or path. A preset or bundled name, a folder written by
            `save_pretrained`, a `.keras` file, or a Hub repo id
            (`"org/name"`, `"hf://org/name"`).
        allow_untrained: bool. For a preset without bundled weights, return
            the untrained architecture (with an `UntrainedWeightsWarning`)
            instead of raising. Defaults to `False`.
        **options: the Hub options `download.DOWNLOAD_OPTIONS`, see
            `keras_attn_deblur.hub.download.snapshot`. Only `revision` is
            refused for a handle that is not a Hub repo.

    Returns:
        An uncompiled model.
    """
    download.check_options(options)
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ValueError(
            "`name_or_path` must be a preset or bundled name, a folder, a .keras file, or a "
            f"Hub repo id such as 'org/name'. Received: name_or_path={name_or_path!r}"
        )
    name = os.fspath(name_or_path)
    path = os.path.expanduser(name)
    revision = options.get("revision")
    if name.startswith(layout.HUB_PREFIX):
        repo_id = layout.strip_prefix(name)
        if not layout.is_repo_id(repo_id):
            raise ValueError(
                "A Hub address must read 'hf://<namespace>/<name>'. "
                f"Received: name_or_path={name!r}"
            )
        return _load_repo(cls, repo_id, options)
    if path.lower().endswith(".keras") and not os.path.isdir(path):
        _reject_revision(f"the file '{name}'", revision)
        return _load_keras_file(cls, path, name)
    if os.path.isdir(path):
        _reject_revision("a local folder", revision)
        return _load_folder(cls, path, source=f"folder '{name}'")
    bundled = layout.bundled_folder(name)
    if layout.is_bundled_name(name) and (bundled / layout.CONFIG_FILE).is_file():
        _reject_revision(f"the bundled name '{name}'", revision)
        return _load_folder(cls, bundled, source=f"bundled weights '{name}'")
    if name in PRESETS:
        _reject_revision(f"the preset '{name}'", revision)
        return _untrained(cls, name, allow_untrained)
    looks_like_path = (os.sep in name and not layout.is_repo_id(name)) or name.startswith(
        (".", "~", os.sep)
    )
    if os.path.isfile(path) and (looks_like_path or not layout.is_repo_id(name)):
        raise ValueError(_not_a_model_file_message(name))
    if looks_like_path:
        raise FileNotFoundError(
            f"Model folder '{name}' does not exist: '{name}' is not a folder, a .keras file, "
            "a preset, a bundled name or a Hub repo id 'org/name'; check the path, or pass a "
            "folder written by save_pretrained."
        )
    if layout.is_repo_id(name):
        try:
            return _load_repo(cls, name, options)
        except (OSError, ValueError) as error:
            raise _same_kind(error)(
                f"{one_line(error)} (no local folder '{name}' exists either)"
            ) from error
    raise FileNotFoundError(_unknown_name_message(name))


def _reject_revision(what, revision):
    if revision is not None:
        raise ValueError(
            f"`revision` applies to Hub repos only, not to {what}. Received: revision={revision!r}"
        )


def _same_kind(error):
    """The built-in exception type to re-raise `error` as, with a longer message."""
    if type(error).__module__ == "builtins":
        return type(error)
    return OSError if isinstance(error, OSError) else ValueError


def _unknown_name_message(name):
    names = list(dict.fromkeys(sorted(PRESETS) + layout.bundled_names()))
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return (
        f"Unknown model '{name}': it is neither a folder nor a bundled name (bundled: "
        f"{', '.join(layout.bundled_names()) or 'none yet'}), a preset "
        f"({', '.join(sorted(PRESETS))}), a .keras file or a Hub repo id 'org/name'.{hint}"
    )


def _not_a_model_file_message(name):
    if name.lower().endswith(".h5"):
        what = "a weights file, not a model"
        fix = (
            "build the model and call model.load_weights() on it, or pass the .keras file "
            "or save_pretrained folder it came from"
        )
    else:
        what = "a file, but neither a .keras file nor a folder"
        fix = (
            "pass a .keras file written by model.save() (its name must end in .keras) or "
            "a folder written by save_pretrained"
        )
    return f"'{name}' is {what}, so it cannot be loaded as a model: {fix}."


def _untrained(cls, preset, allow_untrained):
    """The untrained architecture of a preset without bundled weights, if allowed."""
    if not allow_untrained:
        bundled = ", ".join(layout.bundled_names()) or "none yet"
        raise FileNotFoundError(
            f"No pretrained weights are bundled for preset '{preset}' (bundled: {bundled}). "
            f"For an untrained model of this configuration use "
            f"{cls.__name__}.from_preset('{preset}'); for trained weights pass a Hub "
            "repo id ('org/name') or a folder written by save_pretrained."
        )
    identity = ""
    if PRESETS[preset].get("global_residual", True):
        identity = " (the untrained network returns its input unchanged)"
    warnings.warn(
        f"no trained weights are bundled for preset '{preset}': this model is "
        f"UNTRAINED{identity}. Pass a trained model (a folder, a .keras file or a Hub id) "
        "for real results.",
        UntrainedWeightsWarning,
        stacklevel=4,
    )
    return cls(**preset_config(preset))


def _load_keras_file(cls, path, name):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file '{name}' does not exist.")
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # zipfile, h5py and Keras errors alike
        raise ValueError(
            f"Cannot load the model file '{name}' ({type(error).__name__}: "
            f"{one_line(error, max_lines=4)}); is it a complete .keras file written by "
            "model.save()?"
        ) from error
    return _checked(model, cls, f"the file '{name}'")


def _load_repo(cls, repo_id, options):
    """Downloads a Hub repo's folder, checks its file list and links, then loads it."""
    folder = download.snapshot(repo_id, **options)
    revision = options.get("revision")
    source = f"Hub repo '{repo_id}'" + (f" (revision '{revision}')" if revision else "")
    safety.check_repo_listing(repo_id, folder, options.get("cache_dir"), source)
    blobs = pathlib.Path(folder).resolve().parent.parent / "blobs"
    safety.check_files_stay_inside(folder, (pathlib.Path(folder), blobs), source)
    return _load_folder(cls, folder, source=source)


def _load_folder(cls, folder, source):
    """Checks a saved folder, then builds the model from it."""
    folder = pathlib.Path(folder)
    for name in (layout.CONFIG_FILE, layout.WEIGHTS_FILE):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"{source} has no {name}: expected a folder written by save_pretrained "
                f"({layout.CONFIG_FILE}, {layout.METADATA_FILE}, {layout.WEIGHTS_FILE})."
            )
    safety.verify_weights(folder, source)
    safety.read_weight_arrays(folder / layout.WEIGHTS_FILE, source)  # readable, complete HDF5
    safety.check_config_is_safe(layout.read_json(folder / layout.CONFIG_FILE, source), source)
    try:
        model = keras.saving.load_model(os.fspath(folder), compile=False, safe_mode=True)
    except Exception as error:  # Keras, h5py and config errors alike
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ValueError(
            f"{source}: could not build the model from {layout.CONFIG_FILE} and "
            f"{layout.WEIGHTS_FILE} ({type(error).__name__}: {detail[:300]}). The folder "
            "was written by another version or is damaged; save it again with "
            "save_pretrained."
        ) from error
    return _checked(model, cls, source)


def _checked(model, cls, source):
    """`model` if it is a `cls` whose weights are all finite; a one-line error else."""
    if not isinstance(model, cls):
        raise TypeError(
            f"{source} holds a {type(model).__name__} model, not an instance of "
            f"{cls.__name__}: load it with keras.saving.load_model, or pick one saved "
            f"from a {cls.__name__}."
        )
    safety.check_finite_model(model, source, refusing="to load it")
    return model
