"""The checks a saved folder passes before any layer is built or any byte is published.

In the order `from_pretrained` makes them: `model.weights.h5` has the size
and SHA-256 that metadata.json records (`verify_weights`); it is a readable,
complete HDF5 file (`read_weight_arrays`); `config.json` names only classes
of the `keras` and `keras_attn_deblur` packages and no `Lambda` layer, whose
Python code Keras would run (`check_config_is_safe`). From the Hub, a repo
whose file list holds a path that leaves its folder (`../x`, `/etc/x`) is
refused (`check_repo_listing`; `huggingface_hub` itself refuses to write
such a file, this module refuses the whole repo), and so is a file that
resolves through links outside the snapshot and the cache's blobs
(`check_files_stay_inside`). Before loading, saving or publishing, the
weights must be finite (`check_finite_weights`, `check_finite_model`).
"""

import hashlib
import os
import pathlib
import warnings

import numpy as np

from keras_attn_deblur.hub import layout

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


def sha256(path):
    """The hex SHA-256 of the file `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_weights(folder, source):
    """Compares model.weights.h5 with the size and SHA-256 of metadata.json."""
    folder = pathlib.Path(folder)
    record = layout.read_record(folder, source)
    if record is None or not isinstance(record.get("weights_sha256"), str):
        warnings.warn(
            f"{source}: {layout.METADATA_FILE} records no SHA-256 of {layout.WEIGHTS_FILE} "
            "(the folder was not written by save_pretrained), so the weights' integrity "
            "is not checked.",
            stacklevel=5,
        )
        return
    weights_path = folder / layout.WEIGHTS_FILE
    expected_size = record.get("weights_size")
    size = weights_path.stat().st_size
    if isinstance(expected_size, int) and size != expected_size:
        raise ValueError(
            f"{source}: {layout.WEIGHTS_FILE} has {size:,} bytes but {layout.METADATA_FILE} "
            f"records {expected_size:,}: the file is truncated or was replaced. Download it "
            "again (force_download=True) or save the folder again."
        )
    digest = sha256(weights_path)
    expected = record["weights_sha256"].lower()
    if digest != expected:
        raise ValueError(
            f"{source}: the SHA-256 of {layout.WEIGHTS_FILE} is {digest[:16]}..., but "
            f"{layout.METADATA_FILE} records {expected[:16]}...: the weights are corrupted "
            "or were tampered with. Download them again (force_download=True) or save "
            "the folder again."
        )


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


def check_finite_weights(named_arrays, source, *, refusing="to save or publish them"):
    """Refuses NaN or infinite weights (a diverged training run) before they are used.

    Args:
        named_arrays: iterable of `(name, array)`.
        source: str. What holds the weights, for the message.
        refusing: str. What is refused, for the message. Defaults to
            `"to save or publish them"`.
    """
    for name, array in named_arrays:
        array = np.asarray(array)
        # NumPy's floats and ml_dtypes' (bfloat16, float8_*), which are not np.floating.
        is_float = array.dtype.name.startswith(("float", "bfloat"))
        if is_float and not np.isfinite(array).all():
            raise ValueError(
                f"{source} holds non-finite weights (NaN or inf in '{name}'), as a diverged "
                f"training run leaves them: refusing {refusing}. Use an earlier checkpoint, "
                "or train again with a lower learning rate."
            )


def check_finite_model(model, source, *, refusing):
    """`check_finite_weights` on the variables of a built Keras model."""
    check_finite_weights(
        ((weight.path, weight.numpy()) for weight in model.weights), source, refusing=refusing
    )


def check_config_is_safe(config, source):
    """Refuses a config that names code outside keras/keras_attn_deblur."""
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(
            f"{source}: {layout.CONFIG_FILE} does not describe a Keras model (no "
            "'class_name' at its top level); save the folder again with save_pretrained."
        )
    for location, node in _serialized_objects(config, layout.CONFIG_FILE):
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


def check_repo_listing(repo_id, folder, cache_dir, source):
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


def check_files_stay_inside(folder, roots, source):
    """Refuses a folder file that resolves (through links) outside `roots`."""
    roots = [os.path.realpath(root) for root in roots]
    for name in layout.REPO_FILES:
        path = os.path.join(folder, name)
        if not os.path.lexists(path):
            continue
        target = os.path.realpath(path)
        if not any(target == root or target.startswith(root + os.sep) for root in roots):
            raise ValueError(
                f"{source}: {name} resolves to '{target}', outside the downloaded "
                "folder and the cache's blobs; refusing to load it."
            )
