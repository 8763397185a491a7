"""int8 builds (`quantization`, `inference.int8`): the gate on a trained model, tiles, refusals.

A small `AttnDeblurNet` is trained here for a few seconds to undo a
horizontal box blur, so that its convolutions carry real ranges; its int8
build must pass the fidelity gate, and the gate's numbers are checked
again independently (scikit-image's PSNR on images the gate did not see).
Building needs ONNX export (the TensorFlow backend); the shipped build of
the bundled weights is checked on every backend.
"""

import json
import os

import keras
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur._utils import machine
from keras_attn_deblur.demo.example_photos import EXAMPLE_BLURRY
from keras_attn_deblur.demo.example_photos import EXAMPLE_SHARP
from keras_attn_deblur.inference import Deblurrer
from keras_attn_deblur.inference import int8
from keras_attn_deblur.io.decode import load_image
from tests._utils import test_machine

pytest.importorskip("onnxruntime", reason="int8 builds run through onnxruntime")
BACKEND = keras.backend.backend()
needs_tensorflow_backend = pytest.mark.skipif(
    BACKEND != "tensorflow",
    reason=f"building an int8 model exports ONNX, which needs the TensorFlow backend ({BACKEND})",
)
TINY = {"filters": (8, 16, 16), "blocks_per_stage": 1, "kernel_size": 3}
ICE_LAKE = (
    "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
    "fpu vme sse sse2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni",
)


def scenes(count, size, seed):
    """Sharp images with edges (rectangles on smooth gradients) and their horizontal box blur."""
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[0:size, 0:size] / size
    sharp = np.empty((count, size, size, 3), np.float32)
    for image in sharp:
        image[:] = (0.3 + 0.4 * rng.uniform() * rows + 0.3 * rng.uniform() * columns)[..., None]
        for _ in range(6):
            top, left = rng.integers(0, size - 8, 2)
            height, width = rng.integers(4, size // 2, 2)
            image[top : top + height, left : left + width] = rng.uniform(0.0, 1.0, 3)
    blurry = np.mean([np.roll(sharp, shift, axis=2) for shift in range(-3, 4)], axis=0)
    return blurry.astype(np.float32), sharp


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    model = AttnDeblurNet(**TINY)
    blurry, sharp = scenes(64, 48, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mae")
    history = model.fit(blurry, sharp, batch_size=8, epochs=20, verbose=0)
    return model, history.history["loss"]


@pytest.fixture(scope="module")
def build(trained, tmp_path_factory):
    from keras_attn_deblur import quantization

    model, _ = trained
    path = tmp_path_factory.mktemp("int8") / "tiny.int8.onnx"
    calibration, _ = scenes(24, 64, seed=1)
    gate = {"held_out": list(zip(*scenes(8, 64, seed=2)))}
    report = quantization.build_int8(model, path, calibration=list(calibration), gate_sets=gate)
    return path, report


def psnr(image, reference):
    return peak_signal_noise_ratio(reference.astype(np.float64), image.astype(np.float64),
                                   data_range=1.0)  # fmt: skip


@needs_tensorflow_backend
def test_the_gate_holds_on_a_small_trained_model(trained, build):
    model, losses = trained
    path, report = build
    assert losses[-1] < 0.9 * losses[0]  # it learnt something: its ranges are real
    entry = report["sets"]["held_out"]
    assert report["passed"] and entry["images"] == 8
    assert entry["output_psnr_min"] >= 40.0
    assert abs(entry["psnr_change"]) <= 0.05
    assert report["rerouted_inputs"] > 0  # float residual readers read float again
    # The build records its weights and its gate.
    fingerprint, recorded = int8.read_build_metadata(path)
    assert fingerprint == int8.weights_fingerprint(model)
    assert recorded["sets"]["held_out"] == json.loads(json.dumps(entry))
    # Independently, on scenes neither calibration nor the gate saw, through Deblurrer.
    blurry, sharp = scenes(6, 96, seed=3)
    run_int8 = Deblurrer(model, precision="int8", int8_model=path, tile_overlap=0)
    run_float = Deblurrer(model, precision="float32", tile_overlap=0)
    assert run_int8.precision_choice == "int8 (precision='int8')"
    restored_int8 = np.stack([run_int8(image) for image in blurry])
    restored_float = np.stack([run_float(image) for image in blurry])
    for a, b in zip(restored_int8, restored_float):
        assert psnr(a, b) >= 40.0
    # The model deblurs (so the comparison is not input against input)...
    gain = psnr(restored_float, sharp) - psnr(blurry, sharp)
    assert gain > 0.3, gain
    # ...and int8 keeps its score within the gate.
    assert abs(psnr(restored_int8, sharp) - psnr(restored_float, sharp)) <= 0.05
    # The quantized graph really is int8: ORT's optimizer fuses the int8 convolutions.
    onnx = pytest.importorskip("onnx")
    graph = onnx.load(str(path)).graph
    operators = [node.op_type for node in graph.node]
    assert operators.count("QuantizeLinear") > 0
    weights = [tensor.name for tensor in graph.initializer
               if tensor.data_type == onnx.TensorProto.INT8 and tensor.name.endswith("_quantized")]
    assert len(weights) == operators.count("Conv") - 2  # all but the first and the last


@needs_tensorflow_backend
def test_int8_tiles_large_images_like_the_other_precisions(trained, build):
    model, _ = trained
    path, _ = build
    blurry, _ = scenes(1, 200, seed=4)
    image = (blurry[0, :150] * 255).round().astype(np.uint8)
    whole = Deblurrer(model, precision="int8", int8_model=path)
    tiled = Deblurrer(model, precision="int8", int8_model=path, tile_size=64, tile_overlap=16)
    assert whole.plan(*image.shape[:2]).tile_count == 1
    assert tiled.plan(*image.shape[:2]).tile_count > 4
    one, many = whole(image), tiled(image)
    assert one.shape == many.shape == image.shape and one.dtype == np.uint8
    # Same blending as float32: tiles agree with the whole image to a level or two,
    # as float32 tiles do.
    float_tiled = Deblurrer(model, precision="float32", tile_size=64, tile_overlap=16)(image)
    float_whole = Deblurrer(model, precision="float32")(image)
    float_seams = np.abs(float_tiled.astype(int) - float_whole).max()
    assert np.abs(many.astype(int) - one).max() <= float_seams + 2
    assert psnr(many / 255.0, float_tiled / 255.0) >= 40.0


@needs_tensorflow_backend
def test_a_build_that_fails_the_gate_is_refused_and_not_written(trained, tmp_path):
    from keras_attn_deblur import quantization

    model, _ = trained
    # Calibrated on nearly black images, the ranges clip every brighter scene.
    dark, _ = scenes(8, 64, seed=5)
    gate = {"bright": list(zip(*scenes(4, 64, seed=6)))}
    path = tmp_path / "bad.int8.onnx"
    with pytest.raises(quantization.FidelityGateError) as caught:
        quantization.build_int8(model, path, calibration=list(dark * 0.05), gate_sets=gate)
    message = str(caught.value)
    assert "failed the fidelity gate" in message and "bright: int8 vs float32" in message
    assert "\n" not in message
    assert os.listdir(tmp_path) == []  # nothing written, no staging left


@needs_tensorflow_backend
def test_a_build_runs_only_with_its_own_weights(trained, build, tmp_path):
    from keras_attn_deblur import export

    model, _ = trained
    path, _ = build
    other = AttnDeblurNet(**TINY)
    with pytest.raises(ValueError, match="built from other weights"):
        Deblurrer(other, precision="int8", int8_model=path)
    float_export = export.export_model(model, tmp_path / "float.onnx", format="onnx")
    with pytest.raises(ValueError, match="not an int8 build of this package"):
        Deblurrer(model, precision="int8", int8_model=float_export)


def test_missing_and_unbuilt_int8_models_are_one_line_errors(tmp_path):
    model = AttnDeblurNet(**TINY)
    with pytest.raises(FileNotFoundError, match="does not exist. Build one with"):
        Deblurrer(model, precision="int8", int8_model=tmp_path / "none.onnx")
    with pytest.raises(ValueError, match="--quantize int8") as caught:
        Deblurrer(model, precision="int8")
    assert "\n" not in str(caught.value)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not an ONNX model"):
        Deblurrer(model, precision="int8", int8_model=tmp_path / "junk.onnx")


# === The build shipped with the bundled weights ===


@pytest.fixture(scope="module")
def patent():
    return AttnDeblurNet.from_pretrained("patent")


def test_the_bundled_weights_ship_with_their_gated_int8_build(patent):
    (path,) = int8.bundled_builds()
    assert int8.find_int8_build(patent) == path
    fingerprint, gate = int8.read_build_metadata(path)
    assert fingerprint == int8.weights_fingerprint(patent)  # rebuilt with the weights
    assert gate["passed"] and set(gate["sets"]) == {"val_gopro", "val_photos"}
    assert gate["sets"]["val_gopro"]["images"] == 22 and gate["sets"]["val_photos"]["images"] == 68
    for entry in gate["sets"].values():
        assert entry["output_psnr_min"] >= 40.0 and abs(entry["psnr_change"]) <= 0.05


def test_the_bundled_int8_build_restores_the_example_like_float32(patent):
    # A 256 x 256 crop of the shipped GoPro pair (the gate ran on other frames).
    blurry = load_image(EXAMPLE_BLURRY)[200:456, 500:756]
    sharp = load_image(EXAMPLE_SHARP)[200:456, 500:756]
    restored_int8 = Deblurrer(patent, precision="int8")(blurry)
    restored_float = Deblurrer(patent, precision="float32")(blurry)
    assert psnr(restored_int8, restored_float) >= 40.0
    assert abs(psnr(restored_int8, sharp) - psnr(restored_float, sharp)) <= 0.05
    assert psnr(restored_float, sharp) > psnr(blurry, sharp)


@pytest.mark.parametrize(
    "cpu, expected",
    [(ICE_LAKE, "int8"), (test_machine.COOPER_LAKE, "int8"),
     (test_machine.SAPPHIRE_RAPIDS, "bfloat16"), (test_machine.EPYC_ZEN2, "float32")],  # fmt: skip
)
def test_auto_runs_int8_where_the_cpu_has_vnni_but_no_amx(
    patent, tmp_path, monkeypatch, cpu, expected
):
    monkeypatch.setattr(machine, "CPUINFO_PATH", test_machine.write_cpuinfo(tmp_path, *cpu))
    monkeypatch.setattr(machine, "accelerator", lambda: None)
    deblurrer = Deblurrer(patent)
    assert deblurrer.precision_choice.split(" ")[0] == expected
    if expected == "int8":
        assert isinstance(deblurrer.network, int8.Int8Network)
        assert "AVX-512 VNNI and no AMX" in deblurrer.precision_choice
        # A model without a build runs as before: bfloat16 with AVX-512 BF16, else float32.
        half = AttnDeblurNet(**TINY, dtype="mixed_bfloat16")
        fallback = "bfloat16" if "avx512_bf16" in cpu[1] else "float32"
        assert Deblurrer(half).precision_choice.startswith(f"{fallback} (auto")


# === The command line ===


@needs_tensorflow_backend
def test_export_quantize_then_deblur_in_int8_on_the_command_line(trained, tmp_path, capsys):
    from PIL import Image

    from keras_attn_deblur.cli import main

    model, _ = trained
    model_path = tmp_path / "tiny.keras"
    model.save(model_path)
    folders = {name: tmp_path / name for name in ("calibration", "gate_blurry", "gate_sharp")}
    for folder in folders.values():
        folder.mkdir()
    calibration, _ = scenes(6, 64, seed=7)
    gate_blurry, gate_sharp = scenes(3, 64, seed=8)
    for index, image in enumerate(calibration):
        Image.fromarray((image * 255).round().astype(np.uint8)).save(
            folders["calibration"] / f"{index}.png")  # fmt: skip
    for index, (blurry, sharp) in enumerate(zip(gate_blurry, gate_sharp)):
        for folder, image in (("gate_blurry", blurry), ("gate_sharp", sharp)):
            Image.fromarray((image * 255).round().astype(np.uint8)).save(
                folders[folder] / f"{index}.png")  # fmt: skip
    build = tmp_path / "tiny.int8.onnx"
    assert main(["export", str(build), "--model", str(model_path), "--quantize", "int8",
                 "--calibration", str(folders["calibration"]),
                 "--gate", str(folders["gate_blurry"]), str(folders["gate_sharp"])]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert f"exported int8 onnx to '{build}': gate: int8 vs float32" in out
    assert int8.read_build_metadata(build)[1]["sets"]["gate"]["images"] == 3

    photo = tmp_path / "photo.png"
    Image.fromarray((scenes(1, 80, seed=9)[0][0] * 255).round().astype(np.uint8)).save(photo)
    restored = tmp_path / "restored.png"
    assert main(["deblur", str(photo), str(restored), "--model", str(model_path),
                 "--precision", "int8", "--int8-model", str(build), "--verbose"]) == 0  # fmt: skip
    assert "precision int8 (precision='int8')" in capsys.readouterr().err
    expected = Deblurrer(model, precision="int8", int8_model=build)(str(photo))
    assert np.array_equal(np.asarray(Image.open(restored)), np.asarray(expected))

    # A SavedModel stays float; --calibration needs --quantize.
    assert main(["export", str(tmp_path / "saved"), "--model", str(model_path),
                 "--quantize", "int8"]) == 1  # fmt: skip
    assert "a SavedModel stays float" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "m.onnx"), "--model", str(model_path),
                 "--calibration", str(folders["calibration"])]) == 1  # fmt: skip
    assert "--calibration and --gate go with --quantize int8" in capsys.readouterr().err


# === Full-integer LiteRT, for phones ===


@needs_tensorflow_backend
def test_full_integer_litert_passes_the_gate_through_the_litert_interpreter(trained, tmp_path):
    from keras_attn_deblur import export
    from keras_attn_deblur import quantization

    model, _ = trained
    path = tmp_path / "tiny.int8.tflite"
    calibration, _ = scenes(24, 64, seed=1)
    gate = {"held_out": list(zip(*scenes(8, 64, seed=2)))}
    report = quantization.build_int8(model, path, calibration=list(calibration), gate_sets=gate,
                                     format="litert")  # fmt: skip
    assert report["passed"] and report["format"] == "litert"
    # Float in and out; every convolution computes on int8 tensors (full integer).
    interpreter = export._litert_interpreter(path)
    assert interpreter.get_input_details()[0]["dtype"] == np.float32
    assert interpreter.get_output_details()[0]["dtype"] == np.float32
    tensors = {tensor["index"]: tensor for tensor in interpreter.get_tensor_details()}
    operations = interpreter._get_ops_details()
    convolutions = [op for op in operations if op["op_name"] == "CONV_2D"]
    assert len(convolutions) >= 10
    for op in convolutions:
        assert tensors[op["inputs"][0]]["dtype"] == np.int8
        assert tensors[op["inputs"][1]]["dtype"] == np.int8
    float_ops = {op["op_name"] for op in operations
                 if tensors[op["outputs"][0]]["dtype"] == np.float32}  # fmt: skip
    assert float_ops == {"DEQUANTIZE"}, float_ops  # only the float output
    # Independently: the LiteRT interpreter against Keras, on unseen scenes, any size.
    run = export.load_exported(path, "litert")
    blurry, sharp = scenes(4, 96, seed=3)
    for image, target in zip(blurry, sharp):
        restored = np.clip(run(image[None, :90, :70])[0], 0.0, 1.0)
        expected = np.clip(keras.ops.convert_to_numpy(model(image[None, :90, :70]))[0], 0.0, 1.0)
        assert restored.shape == (90, 70, 3)
        assert psnr(restored, expected) >= 40.0
        assert abs(psnr(restored, target[:90, :70]) - psnr(expected, target[:90, :70])) <= 0.1
