"""Running an int8 build of a model: an ONNX Runtime session that `Deblurrer` tiles like a model.

An int8 build is an ONNX file written by `keras_attn_deblur.quantization`
(`attn-deblur export m.int8.onnx --quantize int8`): the float32 export of a
model with its convolutions quantized to 8 bits and the rest kept in float,
checked against the float32 output by a fidelity gate before it was
written. The file records the fingerprint of the weights it was built from
and the gate's numbers, so a build is only ever run for its own weights.

The bundled `patent` weights ship with their build (`model.int8.onnx` next
to `model.weights.h5`); `find_int8_build(model)` finds it for a model with
those weights. Running a build needs only `onnxruntime`.
"""

import hashlib
import json
import os

import numpy as np

from keras_attn_deblur._utils import machine

# The file name of an int8 build inside a saved-model folder (next to `model.weights.h5`).
INT8_FILE_NAME = "model.int8.onnx"
# Metadata keys of an int8 build.
FINGERPRINT_KEY = "keras_attn_deblur.weights_sha256"
GATE_KEY = "keras_attn_deblur.fidelity_gate"
# CPU flags of the int8 dot-product units that ONNX Runtime's quantized
# convolutions use, and their names.
_INT8_UNITS = (("amx_int8", "AMX-INT8"), ("avx512_vnni", "AVX-512 VNNI"), ("avx_vnni", "AVX-VNNI"))
_BUNDLED_FOLDERS = ("patent",)
_INSTALL = 'pip install onnxruntime (or "keras-attn-deblur[export]")'


def weights_fingerprint(model):
    """The SHA-256 of `model`'s weights (shapes and float32 values), as hex.

    The same weights give the same fingerprint whatever the dtype policy the
    model runs in (the variables are float32 under `mixed_bfloat16` too)
    and whatever the backend.
    """
    digest = hashlib.sha256()
    for weight in model.get_weights():
        values = np.ascontiguousarray(weight, dtype=np.float32)
        digest.update(repr(values.shape).encode())
        digest.update(values.tobytes())
    return digest.hexdigest()


def int8_units():
    """The names of the CPU's int8 dot-product units, e.g. `("AVX-512 VNNI",)`; may be empty."""
    _, flags = machine.cpu_info()
    return tuple(name for flag, name in _INT8_UNITS if flag in flags)


def read_build_metadata(path):
    """`(fingerprint, gate)` recorded in the int8 build at `path` (`gate` a dict)."""
    session_class = _session_class()
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = session_class(os.fspath(path), options, providers=["CPUExecutionProvider"])
    properties = session.get_modelmeta().custom_metadata_map
    return properties.get(FINGERPRINT_KEY), json.loads(properties.get(GATE_KEY, "{}"))


def bundled_builds():
    """The int8 builds shipped with the package's bundled weights (paths that exist)."""
    root = os.path.join(os.path.dirname(os.path.dirname(__file__)), "weights")
    paths = (os.path.join(root, folder, INT8_FILE_NAME) for folder in _BUNDLED_FOLDERS)
    return tuple(path for path in paths if os.path.isfile(path))


def find_int8_build(model, int8_model=None):
    """The int8 build to run for `model`: `int8_model`, checked, or the bundled one of its weights.

    Args:
        model: `keras.Model`. The network whose weights the build must be of.
        int8_model: str, path or `None`. An int8 build written by
            `quantization.build_int8`. `None` looks for the build shipped
            with the bundled weights.

    Returns:
        The path of the build, or `None` when `int8_model` is `None` and no
        bundled build matches the weights.

    Raises:
        FileNotFoundError: `int8_model` does not exist.
        ValueError: `int8_model` is not an int8 build of these weights.
        ImportError: onnxruntime is not installed.
    """
    fingerprint = weights_fingerprint(model)
    if int8_model is None:
        for path in bundled_builds():
            if read_build_metadata(path)[0] == fingerprint:
                return path
        return None
    path = os.fspath(int8_model)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"int8 model '{path}' does not exist. Build one with `attn-deblur export "
            f"{os.path.basename(path)} --model MODEL --quantize int8`."
        )
    try:
        recorded, _ = read_build_metadata(path)
    except ImportError:
        raise
    except Exception as error:  # onnxruntime's own exception types
        raise ValueError(
            f"'{path}' is not an ONNX model that onnxruntime can load "
            f"({str(error).splitlines()[0][:120]}). Build it again with --quantize int8."
        ) from None
    if recorded is None:
        raise ValueError(
            f"'{path}' is not an int8 build of this package (no weights fingerprint in its "
            "metadata). Build one with `attn-deblur export M.int8.onnx --model M --quantize int8`."
        )
    if recorded != fingerprint:
        raise ValueError(
            f"The int8 model '{path}' was built from other weights than the model "
            f"'{model.name}' has (fingerprint {recorded[:12]} vs {fingerprint[:12]}); build "
            "it again from this model with --quantize int8."
        )
    return path


class Int8Network:
    """An int8 build behind the one method `Deblurrer` calls: `predict_on_batch`.

    Args:
        path: str or path. The int8 ONNX build.
        threads: int or `None`. Intra-op threads; `None` uses the cores this
            process may run on.
    """

    def __init__(self, path, threads=None):
        session_class = _session_class()
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or machine.cpu_cores()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.path = os.fspath(path)
        self.session = session_class(self.path, options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def predict_on_batch(self, batch):
        """Restores a float32 batch `(N, H, W, 3)` in `[0, 1]`; float32 out, not clamped."""
        feed = {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)}
        return self.session.run(None, feed)[0]


def _session_class():
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError(
            f"precision='int8' runs through ONNX Runtime, which is not installed: {_INSTALL}."
        ) from error
    return onnxruntime.InferenceSession
