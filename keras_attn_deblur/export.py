"""Exporting a deblurring model for serving: TensorFlow SavedModel, ONNX and LiteRT.

```python
from keras_attn_deblur import export

export.export_model(model, "attn_deblur_savedmodel")                   # SavedModel folder
export.export_model(model, "attn_deblur.onnx", format="onnx")          # ONNX file
export.export_model(model, "attn_deblur.tflite", format="litert")      # LiteRT (TFLite)
```

Every artefact takes one input, `blurry`: float32 RGB in `[0, 1]` of shape
`(batch, height, width, 3)` with the batch, height and width left free, and
returns the restored images of the same shape (not clamped: clamp to
`[0, 1]` before converting to 8 bits). The reflect padding to a multiple of
4 and the crop back are inside the graph, so any size works.

- `"saved_model"`: `model.export(format="tf_saved_model")` with the input
  signature `(None, None, None, 3)` float32. Load it with
  `tf.saved_model.load(path)` and call `.serve(images)` or the
  `serving_default` signature (`{"output_0": restored}`). Works on the
  TensorFlow backend and on JAX (through `jax2tf` with symbolic shapes);
  TensorFlow must be installed either way.
- `"onnx"`: Keras's ONNX export, which on the TensorFlow backend converts
  the traced function with `tf2onnx` (dynamic batch, height and width). Run
  it with `onnxruntime.InferenceSession(path)`; the input is named
  `blurry`.
- `"litert"`: Keras's LiteRT export (`tf.lite.TFLiteConverter` on a
  SavedModel of the same function; only built-in ops). The file's input
  has shape `[1, 1, 1, 3]` with signature `[-1, -1, -1, 3]`: call
  `interpreter.resize_tensor_input(index, images.shape)` and
  `allocate_tensors()` before each new size.

Exported graphs compute in float32: a mixed-precision model is exported
from a float32 copy with the same weights. The artefact is written under a
temporary name next to `path` and renamed into place, so an interrupted
export never leaves a half-written model. Everything here needs TensorFlow,
imported on first use: `pip install "keras-attn-deblur[export]"` brings
TensorFlow, tf2onnx, onnx, onnxruntime and ai-edge-litert.
"""

import os
import re
import shutil
import tempfile

import keras
import numpy as np

from keras_attn_deblur._utils.paths import is_inside
from keras_attn_deblur.models.precision import with_dtype

FORMATS = ("saved_model", "onnx", "litert")
_SUFFIXES = {"onnx": ".onnx", "litert": ".tflite"}
_INSTALL = 'pip install "keras-attn-deblur[export]"'


# Every file and folder that `model.export` writes in a SavedModel folder (its `assets/`
# stays empty); only a folder holding nothing else is replaced.
_SAVED_MODEL_FILES = ("saved_model.pb", "fingerprint.pb")
_SAVED_MODEL_FOLDERS = ("variables", "assets")
_VARIABLES_FILE = re.compile(r"variables\.(index|data-\d{5}-of-\d{5})")
_LITERT_MAGIC = b"TFL3"


def _head(path, size):
    with open(path, "rb") as file:
        return file.read(size)


def _foreign_entry(folder):
    """The first file below `folder` that `model.export` does not write, or `None`.

    A symbolic link anywhere, a file in `assets/`, or a name that is not one
    of `_SAVED_MODEL_FILES` or a `variables/` shard counts as foreign; so does
    an empty folder other than `variables/` and `assets/` (a folder with
    files is named by its first file) and a folder that cannot be listed.
    Returned relative to `folder`.
    """
    unreadable = []
    for root, folders, files in os.walk(folder, onerror=unreadable.append):
        folders.sort()
        where = os.path.relpath(root, folder)
        for name in sorted(files) + folders:
            entry = os.path.join(root, name)
            if os.path.islink(entry):
                ours = False
            elif os.path.isdir(entry):  # judged by its files, which the walk visits next
                ours = (where == "." and name in _SAVED_MODEL_FOLDERS) or _not_empty(entry)
            elif where == ".":
                ours = name in _SAVED_MODEL_FILES
            else:
                ours = where == "variables" and _VARIABLES_FILE.fullmatch(name) is not None
            if not ours:
                return os.path.relpath(entry, folder)
    return os.path.relpath(unreadable[0].filename, folder) if unreadable else None


def _not_empty(folder):
    try:
        return bool(os.listdir(folder))
    except OSError:
        return True  # the walk reports it as unreadable


def check_replaceable(path, format, protected_paths=()):
    """Raises unless `path` can be replaced by an export of `format`.

    Only an earlier export is replaced: a SavedModel folder every file of
    which `model.export` writes (`saved_model.pb`, `fingerprint.pb`,
    `variables/variables.index`, `variables/variables.data-*`, an empty
    `assets/`), an `.onnx` file, or a LiteRT file (its `TFL3` identifier).
    A look-alike holding any other file is refused, naming that file. Never
    the working directory or a folder that holds it, and never one of
    `protected_paths` (the model being exported) or a folder holding one.
    """
    target = os.path.abspath(path)
    for protected in (os.getcwd(), *protected_paths):
        if protected and os.path.lexists(protected) and is_inside(protected, target):
            what = "the working directory" if protected == os.getcwd() else f"'{protected}'"
            raise ValueError(
                f"Refusing to replace '{path}': it is or holds {what}. Export to a new path."
            )
    if os.path.islink(target):
        raise FileExistsError(f"'{path}' is a symbolic link; export to another path.")
    if format == "saved_model":
        ours = os.path.isdir(target) and os.path.isfile(os.path.join(target, "saved_model.pb"))
        foreign = _foreign_entry(target) if ours else None
        if foreign is not None:
            raise FileExistsError(
                f"Refusing to replace '{path}': it is not an earlier saved_model export "
                f"('{os.path.join(path, foreign)}' is not a file that an export writes). "
                "Remove it yourself or export to another path."
            )
    elif format == "litert":
        ours = os.path.isfile(target) and _head(target, 8)[4:8] == _LITERT_MAGIC
    else:
        ours = os.path.isfile(target) and target.lower().endswith(".onnx")
    if not ours:
        kind = "folder" if os.path.isdir(target) else "file"
        raise FileExistsError(
            f"Refusing to replace '{path}': the {kind} there is not an earlier {format} "
            "export. Remove it yourself or export to another path."
        )


def export_model(
    model, path, format="saved_model", *, overwrite=False, verbose=False, protected_paths=()
):
    """Writes `model` as a SavedModel folder, an ONNX file or a LiteRT file.

    The exported function takes float32 images of any batch size, height and
    width (`(None, None, None, 3)`) and returns the restored images; see the
    module docstring for how to run each artefact.

    Args:
        model: `keras.Model`. An `AttnDeblurNet` or any Keras model with one
            image input.
        path: str or path. The SavedModel folder, or the `.onnx` / `.tflite`
            file, to write. Its parent folder must exist.
        format: str. `"saved_model"`, `"onnx"` or `"litert"`. Defaults to
            `"saved_model"`.
        overwrite: bool. Replace an existing `path`, if it is an earlier
            export (see `check_replaceable`: a folder or file of anything
            else, the working directory and `protected_paths` are never
            replaced). Defaults to `False`.
        verbose: bool. Let Keras and the converters print their messages.
            Defaults to `False`.
        protected_paths: paths that `path` must not be or contain (the
            model's own files). Defaults to `()`.

    Returns:
        The path written, a str.

    Raises:
        ValueError: an unknown format, or ONNX/LiteRT on a backend other
            than TensorFlow.
        FileExistsError: `path` exists and `overwrite` is `False`.
        FileNotFoundError: the parent folder of `path` does not exist.
        ImportError: TensorFlow (or, for ONNX, tf2onnx and onnx) is missing.

    Example:

    ```python
    from keras_attn_deblur import AttnDeblurNet, export

    model = AttnDeblurNet.from_pretrained("org/attn-deblur")
    export.export_model(model, "attn_deblur.onnx", format="onnx")
    ```
    """
    if format not in FORMATS:
        raise ValueError(f"`format` must be one of {FORMATS}. Received: format={format!r}")
    backend = keras.backend.backend()
    if backend not in ("tensorflow", "jax") or (backend == "jax" and format != "saved_model"):
        raise ValueError(
            f"Export to {format!r} needs the TensorFlow Keras backend; this process runs "
            f"{backend!r}. Run it again with KERAS_BACKEND=tensorflow (a model saved "
            "under another backend loads there unchanged)"
            + (", or export a SavedModel, which also works under JAX." if backend == "jax" else ".")
        )
    path = os.fspath(path)
    target = os.path.abspath(path)
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        raise FileNotFoundError(
            f"Cannot export to '{path}': the folder '{parent}' does not exist. Create "
            "it first or pass another path."
        )
    if os.path.lexists(target) and not overwrite:
        raise FileExistsError(
            f"'{path}' already exists; pass overwrite=True (--overwrite on the command "
            "line) to replace it, or choose another path."
        )
    if os.path.lexists(target):
        check_replaceable(path, format, protected_paths)
    tf = _import_tensorflow()
    if format == "onnx":
        _require("tf2onnx", "ONNX export")
        _require("onnx", "ONNX export")

    model = _float32_model(model)
    signature = [tf.TensorSpec((None, None, None, 3), tf.float32, name="blurry")]
    staging = tempfile.mkdtemp(prefix=".export-", dir=parent)
    try:
        written = os.path.join(staging, "model" + _SUFFIXES.get(format, ""))
        keras_format = "tf_saved_model" if format == "saved_model" else format
        model.export(written, format=keras_format, input_signature=signature, verbose=verbose)
        _move_into_place(written, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def load_exported(path, format="saved_model"):
    """Loads an exported artefact with its own runtime, as a NumPy function.

    `"saved_model"` runs through `tf.saved_model.load`, `"onnx"` through
    `onnxruntime`, `"litert"` through the LiteRT interpreter
    (`ai_edge_litert`, or `tf.lite.Interpreter` when it is not installed).
    None of them needs Keras or this package's code.

    Args:
        path: str or path. What `export_model` wrote.
        format: str. `"saved_model"`, `"onnx"` or `"litert"`. Defaults to
            `"saved_model"`.

    Returns:
        A function `run(images) -> restored` on float32 NumPy arrays of
        shape `(batch, height, width, 3)`.
    """
    if format not in FORMATS:
        raise ValueError(f"`format` must be one of {FORMATS}. Received: format={format!r}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"Exported model '{path}' does not exist.")
    if format == "saved_model":
        tf = _import_tensorflow()
        serving = tf.saved_model.load(path).signatures["serving_default"]

        def run(images):
            outputs = serving(blurry=tf.constant(np.asarray(images, dtype="float32")))
            return next(iter(outputs.values())).numpy()

        return run
    if format == "onnx":
        onnxruntime = _require("onnxruntime", "running an ONNX model")
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        input_name = session.get_inputs()[0].name

        def run(images):
            feed = {input_name: np.asarray(images, dtype="float32")}
            return session.run(None, feed)[0]

        return run
    interpreter = _litert_interpreter(path)

    def run(images):
        images = np.asarray(images, dtype="float32")
        input_index = interpreter.get_input_details()[0]["index"]
        interpreter.resize_tensor_input(input_index, images.shape, strict=True)
        interpreter.allocate_tensors()
        interpreter.set_tensor(input_index, images)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()

    return run


def verify_export(model, path, format="saved_model", *, sizes=((37, 45), (64, 50)), seed=0):
    """Runs the artefact with its runtime and the Keras model on random images.

    Args:
        model: the Keras model that was exported.
        path: str or path. The artefact.
        format: str. Its format. Defaults to `"saved_model"`.
        sizes: tuple of `(height, width)`. Image sizes to try (different
            sizes check that the input size is free). Defaults to two odd
            sizes.
        seed: int. Seed of the random images. Defaults to `0`.

    Returns:
        The largest absolute difference between the two, over all sizes.
    """
    run = load_exported(path, format)
    rng = np.random.default_rng(seed)
    largest = 0.0
    for height, width in sizes:
        images = rng.uniform(size=(1, height, width, 3)).astype("float32")
        expected = keras.ops.convert_to_numpy(model(images, training=False))
        largest = max(largest, float(np.max(np.abs(run(images) - expected))))
    return largest


# === Helpers ===


def _import_tensorflow():
    try:
        import tensorflow as tf
    except ImportError as error:
        raise ImportError(
            "Export needs TensorFlow, which is not installed. Install it with "
            f"`{_INSTALL}` (or the `tensorflow` extra)."
        ) from error
    return tf


def _require(module_name, purpose):
    import importlib

    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        raise ImportError(
            f"{purpose[0].upper() + purpose[1:]} needs the `{module_name}` package, which "
            f"is not installed. Install it with `{_INSTALL}`."
        ) from error


def _litert_interpreter(path):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            import tensorflow as tf

            Interpreter = tf.lite.Interpreter
        except (ImportError, AttributeError) as error:
            raise ImportError(
                "Running a LiteRT model needs `ai-edge-litert` (or TensorFlow's "
                f"tf.lite.Interpreter). Install it with `{_INSTALL}`."
            ) from error
    return Interpreter(model_path=os.fspath(path))


def _float32_model(model):
    """The model, or a float32 copy with its weights when it computes in mixed precision."""
    policy = getattr(model, "dtype_policy", None)
    if policy is None or policy.name == "float32" or "dtype" not in model.get_config():
        return model
    return with_dtype(model, "float32")


def _move_into_place(written, target):
    """Renames `written` onto `target`, replacing a file or folder that was there."""
    if not os.path.lexists(target):
        os.replace(written, target)
        return
    # Keep the old artefact until the new one is in place.
    old = tempfile.mkdtemp(prefix=".export-old-", dir=os.path.dirname(target))
    old_target = os.path.join(old, "old")
    os.replace(target, old_target)
    try:
        os.replace(written, target)
    except BaseException:
        os.replace(old_target, target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)
