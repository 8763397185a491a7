"""Tests of `keras_attn_deblur.export`: each artefact run by its own runtime.

The SavedModel is loaded with `tf.saved_model.load`, the ONNX file with
`onnxruntime.InferenceSession` and the LiteRT file with the LiteRT
interpreter (`ai_edge_litert`, else `tf.lite.Interpreter`), never through
Keras or this package, and compared with the Keras model's outputs at two
image sizes (and two batch sizes): max abs difference <= 1e-4 in float32.
"""

import os
import sys

import keras
import numpy as np
import pytest

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import export

BACKEND = keras.backend.backend()
TOLERANCE = 1e-4
needs_tensorflow_backend = pytest.mark.skipif(
    BACKEND != "tensorflow",
    reason=f"ONNX and LiteRT export need the TensorFlow backend (this run: {BACKEND})",
)


def tensorflow_or_skip():
    return pytest.importorskip("tensorflow", reason="SavedModel export needs TensorFlow")


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    model = AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3)
    conv = model.get_layer("output_conv")
    conv.kernel.assign(np.random.default_rng(0).normal(scale=0.05, size=conv.kernel.shape))
    return model


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(1)
    # Two sizes that are not multiples of 4 (the in-graph padding), two batch sizes.
    return [rng.uniform(size=shape).astype("float32") for shape in ((1, 37, 45, 3), (2, 24, 58, 3))]


def keras_outputs(model, images):
    return [keras.ops.convert_to_numpy(model(batch, training=False)) for batch in images]


def assert_matches(outputs, expected, images):
    for output, reference, batch in zip(outputs, expected, images):
        assert output.shape == reference.shape
        assert output.dtype == np.float32
        assert np.max(np.abs(output - reference)) <= TOLERANCE
        # The network is not the identity, so the comparison means something.
        assert np.max(np.abs(reference - batch)) > 1e-2


@pytest.fixture(scope="module")
def saved_model(model, tmp_path_factory):
    tensorflow_or_skip()
    path = tmp_path_factory.mktemp("export") / "saved_model"
    assert export.export_model(model, path) == str(path)
    return path


def test_saved_model_serving_signature_takes_any_size(model, images, saved_model):
    tf = tensorflow_or_skip()
    path = saved_model
    loaded = tf.saved_model.load(str(path))
    serving = loaded.signatures["serving_default"]
    (input_spec,) = serving.structured_input_signature[1].values()
    assert input_spec.shape.as_list() == [None, None, None, 3]
    outputs = [next(iter(serving(blurry=tf.constant(batch)).values())).numpy() for batch in images]
    assert_matches(outputs, keras_outputs(model, images), images)
    assert sorted(os.listdir(path.parent)) == ["saved_model"]  # no staging folder left


@needs_tensorflow_backend
def test_onnx_runs_in_onnxruntime_at_any_size(model, images, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    pytest.importorskip("tf2onnx", reason="tf2onnx is not installed")
    path = tmp_path / "model.onnx"
    export.export_model(model, path, format="onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (model_input,) = session.get_inputs()
    assert model_input.name == "blurry"
    assert model_input.shape[3] == 3 and all(isinstance(dim, str) for dim in model_input.shape[:3])
    outputs = [session.run(None, {"blurry": batch})[0] for batch in images]
    assert_matches(outputs, keras_outputs(model, images), images)


def litert_interpreter(path):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        tf = pytest.importorskip("tensorflow", reason="no LiteRT interpreter is installed")
        Interpreter = tf.lite.Interpreter
    return Interpreter(model_path=str(path))


@needs_tensorflow_backend
def test_litert_runs_in_the_interpreter_after_resizing(model, images, tmp_path):
    path = tmp_path / "model.tflite"
    export.export_model(model, path, format="litert")
    interpreter = litert_interpreter(path)
    (details,) = interpreter.get_input_details()
    assert list(details["shape_signature"]) == [-1, -1, -1, 3]
    outputs = []
    for batch in images:
        interpreter.resize_tensor_input(details["index"], batch.shape, strict=True)
        interpreter.allocate_tensors()
        interpreter.set_tensor(details["index"], batch)
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
    assert_matches(outputs, keras_outputs(model, images), images)


def test_verify_export_and_load_exported(model, saved_model):
    assert export.verify_export(model, saved_model) <= TOLERANCE
    run = export.load_exported(saved_model)
    assert run(np.zeros((1, 5, 7, 3), "float32")).shape == (1, 5, 7, 3)


def test_mixed_precision_model_is_exported_in_float32(model, images, tmp_path):
    tf = tensorflow_or_skip()
    mixed = AttnDeblurNet.from_config({**model.get_config(), "dtype": "mixed_bfloat16"})
    mixed.set_weights(model.get_weights())
    path = tmp_path / "saved_model"
    export.export_model(mixed, path)
    serving = tf.saved_model.load(str(path)).signatures["serving_default"]
    output = next(iter(serving(blurry=tf.constant(images[0])).values())).numpy()
    # The float32 model with the same weights, not the bfloat16 computation.
    assert np.max(np.abs(output - keras_outputs(model, images[:1])[0])) <= TOLERANCE


def test_existing_output_needs_overwrite(model, tmp_path):
    tensorflow_or_skip()
    path = tmp_path / "saved_model"
    export.export_model(model, path)
    first = (path / "saved_model.pb").stat().st_mtime_ns
    with pytest.raises(FileExistsError, match="overwrite"):
        export.export_model(model, path)
    export.export_model(model, path, overwrite=True)  # an earlier export: replaced
    assert (path / "saved_model.pb").stat().st_mtime_ns != first
    # A folder of anything else is never replaced, even with overwrite=True.
    other = tmp_path / "photos"
    other.mkdir()
    (other / "keep.txt").write_text("old")
    with pytest.raises(FileExistsError, match="not an earlier saved_model export"):
        export.export_model(model, other, overwrite=True)
    assert (other / "keep.txt").read_text() == "old"


def test_bad_arguments_are_one_clear_error(model, tmp_path):
    with pytest.raises(ValueError, match="format"):
        export.export_model(model, tmp_path / "m.xyz", format="coreml")
    if BACKEND == "tensorflow":
        with pytest.raises(FileNotFoundError, match="does not exist"):
            export.export_model(model, tmp_path / "missing" / "m.onnx", format="onnx")


def test_missing_tensorflow_names_the_extra(model, tmp_path, monkeypatch):
    if BACKEND not in ("tensorflow", "jax"):
        pytest.skip(f"export supports the TensorFlow and JAX backends (this run: {BACKEND})")
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # as on a machine without it
    with pytest.raises(ImportError, match=r"keras-attn-deblur\[export\]"):
        export.export_model(model, tmp_path / "saved_model")


@pytest.mark.skipif(BACKEND == "tensorflow", reason="checks the message of other backends")
@pytest.mark.parametrize("export_format", ["onnx", "litert"])
def test_onnx_and_litert_name_the_tensorflow_backend_elsewhere(model, tmp_path, export_format):
    with pytest.raises(ValueError, match="KERAS_BACKEND=tensorflow"):
        export.export_model(model, tmp_path / "model.out", format=export_format)
