"""int8 builds of a deblurring model: quantized where 8 bits are enough, gated before they are written.

```python
from keras_attn_deblur import quantization

report = quantization.build_int8(model, "model.int8.onnx",
                                 calibration=blurry_images, gate_pairs=pairs)
Deblurrer(model, precision="int8", int8_model="model.int8.onnx")
```

How a build is made (measured on the bundled weights; docs/guides/export.md, "int8"):

1. The model is exported to float32 ONNX (`export.export_model`).
2. ONNX Runtime's static quantization (QDQ) turns every convolution except
   the first and the last into an int8 one: per-channel int8 weights,
   uint8 activations whose ranges are the min-max of calibration crops
   (min-max kept the restored-vs-sharp PSNR within 0.02 dB; percentile
   and entropy ranges clip the rare large activations at sharp edges and
   cost up to 0.12 dB). The adds, the attention sigmoids and products,
   the skip concatenations, the upsampling and the global residual stay
   float32.
3. ORT's quantizer makes every reader of a quantized tensor read the
   8-bit copy, so the float residual adds and concatenations would read
   rounded values too. `keep_float_readers` points them back at the float
   tensor (+4.5 dB against the float32 output). Keeping the first and last
   convolution float adds another 4 dB; keeping the attention convolutions
   float adds nothing, so they are int8.
4. **The gate.** The build and the float32 export restore the gate pairs;
   the build is refused (`FidelityGateError`, nothing written) unless, on
   every set, its output is within `MIN_OUTPUT_PSNR` (40 dB) PSNR of the
   float32 output for every image and its restored-vs-sharp PSNR is
   within `MAX_PSNR_CHANGE` (0.05 dB) of float32's.

The build records the weights' fingerprint and the gate's numbers in its
metadata (`inference.int8`). Needs the `export` extra (TensorFlow,
tf2onnx, onnx, onnxruntime) and the TensorFlow backend, as ONNX export
does; running a build needs only onnxruntime.
"""

import json
import os
import shutil
import tempfile

import numpy as np

from keras_attn_deblur import export
from keras_attn_deblur._utils.paths import write_atomically
from keras_attn_deblur.inference import int8

# The gate (the issue's bar): every image's int8 output within this PSNR of float32's...
MIN_OUTPUT_PSNR = 40.0
# ...and the mean restored-vs-sharp PSNR of every set within this of float32's.
MAX_PSNR_CHANGE = 0.05
# Calibration: this many random crops of this side, from the calibration images.
CALIBRATION_CROPS = 48
CALIBRATION_CROP = 256


class FidelityGateError(ValueError):
    """An int8 build failed the fidelity gate; it was not written."""


def calibration_crops(images, count=CALIBRATION_CROPS, size=CALIBRATION_CROP, seed=0):
    """`count` random `size` x `size` crops of `images`, float32 `(count, size, size, 3)`.

    The images (float RGB in `[0, 1]`) are taken in turn; a crop side is
    lowered to the smallest image side (a multiple of 4) so that every crop
    has the same shape.
    """
    images = [np.asarray(image, dtype=np.float32) for image in images]
    if not images:
        raise ValueError("Calibration needs at least one image. Received: no images")
    size = min([size] + [min(image.shape[:2]) for image in images]) // 4 * 4
    if size < 16:
        raise ValueError(
            f"Calibration images must be at least 16 pixels on each side; the smallest is "
            f"{min(min(image.shape[:2]) for image in images)}. Use larger images."
        )
    rng = np.random.default_rng(seed)
    crops = []
    for index in range(count):
        image = images[index % len(images)]
        top = rng.integers(0, image.shape[0] - size + 1)
        left = rng.integers(0, image.shape[1] - size + 1)
        crops.append(image[top : top + size, left : left + size, :3])
    return np.stack(crops)


def quantize_onnx(float_path, int8_path, crops):
    """Writes the int8 QDQ model of the float32 ONNX model `float_path` (steps 2 and 3).

    Args:
        float_path: str. A float32 export (`export.export_model(..., "onnx")`).
        int8_path: str. Where to write the int8 model.
        crops: float32 array `(N, H, W, 3)`. Calibration crops.

    Returns:
        The number of float readers pointed back at float tensors.
    """
    import onnx
    from onnxruntime import quantization as ort_quantization

    graph = onnx.load(float_path).graph
    convolutions = [node.name for node in graph.node if node.op_type == "Conv"]
    input_name = graph.input[0].name
    # Nodes are in topological order: the first convolution reads the image,
    # the last writes the residual that is added to it.
    keep_float = [convolutions[0], convolutions[-1]]
    ort_quantization.quantize_static(
        float_path,
        int8_path,
        _CropReader(input_name, crops),
        quant_format=ort_quantization.QuantFormat.QDQ,
        op_types_to_quantize=["Conv", "Relu"],
        per_channel=True,
        reduce_range=False,
        activation_type=ort_quantization.QuantType.QUInt8,
        weight_type=ort_quantization.QuantType.QInt8,
        nodes_to_exclude=keep_float,
        calibrate_method=ort_quantization.CalibrationMethod.MinMax,
        # Calibrates four crops at a time: bounded memory.
        extra_options={"ForceQuantizeNoInputCheck": True, "CalibStridedMinMax": 4},
    )
    quantized = onnx.load(int8_path)
    rerouted = keep_float_readers(quantized.graph)
    onnx.save(quantized, int8_path)
    return rerouted


def keep_float_readers(graph):
    """Points the float readers of quantized tensors back at the float tensors.

    For each QuantizeLinear -> DequantizeLinear pair, every reader of the
    dequantized copy other than a convolution or a quantizer reads the
    original float tensor instead. A tensor written by a convolution is left
    alone: ORT fuses DequantizeLinear -> Conv -> QuantizeLinear into one
    int8 convolution only when the quantizer is the convolution's only
    reader.

    Args:
        graph: `onnx.GraphProto`, changed in place.

    Returns:
        The number of inputs changed.
    """
    writers = {output: node for node in graph.node for output in node.output}
    readers = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    changed = 0
    for dequantize in (node for node in graph.node if node.op_type == "DequantizeLinear"):
        quantize = writers.get(dequantize.input[0])
        if quantize is None or quantize.op_type != "QuantizeLinear":
            continue
        source = quantize.input[0]
        source_writer = writers.get(source)
        if source_writer is not None and source_writer.op_type == "Conv":
            continue
        for reader in readers.get(dequantize.output[0], []):
            if reader.op_type in ("Conv", "QuantizeLinear"):
                continue
            for index, name in enumerate(reader.input):
                if name == dequantize.output[0]:
                    reader.input[index] = source
                    changed += 1
    return changed


def fidelity_gate(run_int8, run_float, gate_sets):
    """The gate's numbers: the int8 and float32 functions on every set's pairs.

    Args:
        run_int8: the int8 network, a function `run(images) -> restored`
            on float32 `(1, H, W, 3)` arrays.
        run_float: the float32 network, the same kind of function.
        gate_sets: dict of set name -> list of `(blurry, sharp)` float32
            `(H, W, 3)` arrays in `[0, 1]`.

    Returns:
        A dict: per set, `images`, `output_psnr_mean` and `output_psnr_min`
        (int8 against float32), `float32_psnr` and `int8_psnr` (mean
        restored-vs-sharp) and `psnr_change`; and `passed`, the verdict.
    """
    report = {"min_output_psnr": MIN_OUTPUT_PSNR, "max_psnr_change": MAX_PSNR_CHANGE, "sets": {}}
    passed = True
    for name, pairs in gate_sets.items():
        output, float_scores, int8_scores = [], [], []
        for blurry, sharp in pairs:
            float_out = np.clip(run_float(blurry[None])[0], 0.0, 1.0)
            int8_out = np.clip(run_int8(blurry[None])[0], 0.0, 1.0)
            output.append(_psnr(int8_out, float_out))
            float_scores.append(_psnr(float_out, sharp))
            int8_scores.append(_psnr(int8_out, sharp))
        entry = {
            "images": len(pairs),
            "output_psnr_mean": float(np.mean(output)),
            "output_psnr_min": float(np.min(output)),
            "float32_psnr": float(np.mean(float_scores)),
            "int8_psnr": float(np.mean(int8_scores)),
        }
        entry["psnr_change"] = entry["int8_psnr"] - entry["float32_psnr"]
        passed &= entry["output_psnr_min"] >= MIN_OUTPUT_PSNR
        passed &= abs(entry["psnr_change"]) <= MAX_PSNR_CHANGE
        report["sets"][name] = entry
    report["passed"] = bool(passed)
    return report


def build_int8(model, path, *, calibration, gate_sets, format="onnx", overwrite=False):
    """Builds, gates and writes the int8 model of `model` (module docstring).

    Args:
        model: `keras.Model`. The network (any dtype policy; its float32
            copy is exported).
        path: str or path. The `.onnx` or `.tflite` file to write.
        calibration: list of float32 `(H, W, 3)` blurry images in `[0, 1]`
            (never validation images): `CALIBRATION_CROPS` crops are taken.
        gate_sets: dict of set name -> list of `(blurry, sharp)` float32
            arrays: the images the gate is measured on.
        format: str. `"onnx"`: the ONNX Runtime build that
            `Deblurrer(precision="int8")` runs (int8 convolutions, float
            elsewhere). `"litert"`: a full-integer LiteRT model for phones
            (every operation int8, float32 input and output kept), gated
            through the LiteRT interpreter against the float32 SavedModel.
            Defaults to `"onnx"`.
        overwrite: bool. Replace an existing file at `path`. Defaults to
            `False`.

    Returns:
        The gate report (`fidelity_gate`).

    Raises:
        FidelityGateError: the build failed the gate (the message gives the
            numbers); nothing is written.
        FileExistsError: `path` exists and `overwrite` is `False`.
    """
    if format not in ("onnx", "litert"):
        raise ValueError(f"`format` must be 'onnx' or 'litert'. Received: format={format!r}")
    path = os.fspath(path)
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(
            f"'{path}' already exists; pass overwrite=True (--overwrite) to replace it, or "
            "choose another path."
        )
    if not gate_sets or not all(gate_sets.values()):
        raise ValueError("The fidelity gate needs at least one (blurry, sharp) pair in every set.")
    crops = calibration_crops(calibration)
    staging = tempfile.mkdtemp(prefix=".int8-", dir=os.path.dirname(os.path.abspath(path)))
    try:
        if format == "onnx":
            built, report = _build_onnx(model, staging, crops, gate_sets)
        else:
            built, report = _build_litert(model, staging, crops, gate_sets)
        report["format"] = format
        report["calibration_crops"] = [int(size) for size in crops.shape[:3]]
        if not report["passed"]:
            raise FidelityGateError(
                f"The int8 build of '{model.name}' failed the fidelity gate, so '{path}' was not "
                f"written: {describe_gate(report)}. Calibrate on more varied blurry images "
                "(--calibration), or run it in float32 or bfloat16."
            )
        if format == "onnx":
            _record(built, int8.weights_fingerprint(model), report)
        write_atomically(path, lambda file: _copy(built, file))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _build_onnx(model, staging, crops, gate_sets):
    float_path = os.path.join(staging, "float32.onnx")
    int8_path = os.path.join(staging, "int8.onnx")
    export.export_model(model, float_path, format="onnx")
    rerouted = quantize_onnx(float_path, int8_path, crops)
    report = fidelity_gate(
        export.load_exported(int8_path, "onnx"), export.load_exported(float_path, "onnx"), gate_sets
    )
    report["rerouted_inputs"] = rerouted
    return int8_path, report


def _build_litert(model, staging, crops, gate_sets):
    """Full-integer LiteRT: TFLiteConverter with the crops as its representative dataset."""
    tf = export._import_tensorflow()
    saved_path = os.path.join(staging, "float32_saved_model")
    int8_path = os.path.join(staging, "int8.tflite")
    export.export_model(model, saved_path)
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_path)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([crop[None]] for crop in crops)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.float32  # float in and out, for ease of use
    converter.inference_output_type = tf.float32
    with open(int8_path, "wb") as file:
        file.write(converter.convert())
    report = fidelity_gate(
        export.load_exported(int8_path, "litert"),
        export.load_exported(saved_path, "saved_model"),
        gate_sets,
    )
    return int8_path, report


def describe_gate(report):
    """The gate's numbers in one line, e.g. "gopro: 59.0 dB (worst 56.3) vs float32, -0.002 dB"."""
    parts = [
        f"{name}: int8 vs float32 {entry['output_psnr_mean']:.1f} dB (worst "
        f"{entry['output_psnr_min']:.1f}, needs {report['min_output_psnr']:g}), PSNR to sharp "
        f"{entry['psnr_change']:+.3f} dB (needs within {report['max_psnr_change']:g})"
        for name, entry in report["sets"].items()
    ]
    return "; ".join(parts)


def _record(path, fingerprint, report):
    import onnx

    model = onnx.load(path)
    for key, value in ((int8.FINGERPRINT_KEY, fingerprint), (int8.GATE_KEY, json.dumps(report))):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, path)


def _copy(source, file):
    with open(source, "rb") as handle:
        shutil.copyfileobj(handle, file)


def _psnr(image, reference):
    error = np.mean((image.astype(np.float64) - reference) ** 2)
    return 10.0 * np.log10(1.0 / error) if error > 0 else 100.0


class _CropReader:
    """ORT's `CalibrationDataReader` protocol over calibration crops, one crop per batch."""

    def __init__(self, input_name, crops):
        self.input_name = input_name
        self.crops = crops
        self.start, self.end = 0, len(crops)

    def get_next(self):
        if self.start >= self.end:
            return None
        self.start += 1
        return {self.input_name: self.crops[self.start - 1 : self.start]}

    def rewind(self):
        self.start = 0

    def __len__(self):
        return len(self.crops)

    def set_range(self, start_index, end_index):
        self.start, self.end = start_index, min(end_index, len(self.crops))
