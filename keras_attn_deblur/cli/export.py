"""`attn-deblur export`: a model as a SavedModel, ONNX or LiteRT file."""

import os
import sys

from keras_attn_deblur._utils.paths import is_image_name
from keras_attn_deblur.cli._common import CommandError
from keras_attn_deblur.cli._common import PROG
from keras_attn_deblur.cli._common import add_command
from keras_attn_deblur.cli._common import add_model_option
from keras_attn_deblur.cli._common import load_model


def register(subparsers):
    parser = add_command(
        subparsers,
        "export",
        "export a model as a SavedModel, ONNX or LiteRT file",
        """\
        Export a model for serving. Every format takes float32 RGB images in [0, 1]
        of any batch size, height and width, shape (batch, height, width, 3), and
        returns the restored images. saved_model: a TensorFlow SavedModel folder
        (serving signature 'serving_default'); onnx: for onnxruntime; litert: a
        LiteRT/TFLite file (resize the input tensor to the image size). ONNX and
        LiteRT need the TensorFlow backend (KERAS_BACKEND=tensorflow). --quantize int8
        writes an int8 ONNX build (for --precision int8) or a full-integer LiteRT model,
        and refuses one whose output strays from float32's (the fidelity gate).""",
        (
            f"{PROG} export attn_deblur_savedmodel --model runs/gopro/model",
            f"{PROG} export attn_deblur.onnx --model org/attn-deblur --verify",
            f"{PROG} export attn_deblur.tflite --model m.keras --format litert",
            f"{PROG} export m.int8.onnx --model m.keras --quantize int8 --calibration blurry/ "
            "--gate blurry_val/ sharp_val/",
        ),
    )
    parser.add_argument("output", help="the SavedModel folder, or the .onnx / .tflite file")
    add_model_option(parser, required=True)
    parser.add_argument(
        "--format", choices=("saved_model", "onnx", "litert"), default=None,
        help="default: from the output's suffix (.onnx: onnx, .tflite: litert, else saved_model)",
    )
    parser.add_argument(
        "--overwrite", action="store_true",
        help="replace an earlier export at the output path (nothing else is ever replaced)",
    )
    parser.add_argument(
        "--verify", action="store_true",
        help="run the artefact with its runtime and compare with Keras on two image sizes",
    )
    group = parser.add_argument_group("int8")
    group.add_argument(
        "--quantize", choices=("int8",), default=None,
        help="onnx: int8 convolutions for --precision int8; litert: a full-integer model "
        "(float input and output); either is gated against float32 and refused if it strays",
    )
    group.add_argument(
        "--calibration", metavar="DIR", default=None,
        help="a folder of blurry photos to calibrate on, like the ones you will restore "
        "(default: the package's example photo)",
    )
    group.add_argument(
        "--gate", nargs=2, metavar=("BLURRY_DIR", "SHARP_DIR"), default=None,
        help="pairs (same file names) the fidelity gate is measured on; not calibration "
        "photos (default: the package's example pair)",
    )  # fmt: skip
    parser.set_defaults(handler=run)


def run(args):
    from keras_attn_deblur import export
    from keras_attn_deblur.hub.layout import saved_folder

    export_format = args.format
    if export_format is None:
        suffix = os.path.splitext(args.output)[1].lower()
        export_format = {".onnx": "onnx", ".tflite": "litert"}.get(suffix, "saved_model")
    if os.path.lexists(args.output) and not args.overwrite:
        raise CommandError(f"'{args.output}' already exists; pass --overwrite to replace it.")
    # The model's own files are never what --overwrite replaces.
    source = saved_folder(args.model) or os.path.expanduser(args.model)
    protected = (source,) if os.path.exists(source) else ()
    if os.path.lexists(args.output):
        export.check_replaceable(args.output, export_format, protected)
    if args.quantize is None and (args.calibration or args.gate):
        raise CommandError("--calibration and --gate go with --quantize int8.")
    if args.quantize is not None:
        if export_format == "saved_model":
            raise CommandError(
                "--quantize int8 writes an .onnx file (for --precision int8) or a full-integer "
                ".tflite file (LiteRT, for phones); a SavedModel stays float."
            )
        return _quantize(args, load_model(args.model), export_format)
    model = load_model(args.model)
    export.export_model(model, args.output, format=export_format, overwrite=args.overwrite,
                        protected_paths=protected)  # fmt: skip
    print(f"exported {export_format} to '{args.output}'")
    if args.verify:
        difference = export.verify_export(model, args.output, export_format)
        print(f"verified with its runtime: max abs difference to Keras {difference:.2e}")
        if not difference <= 1e-4:
            raise CommandError(
                f"the exported model differs from Keras by {difference:.2e} (> 1e-4)"
            )
    return 0


def _quantize(args, model, export_format):
    from keras_attn_deblur import quantization
    from keras_attn_deblur.data.pairs import folder_pairs
    from keras_attn_deblur.demo.example_photos import EXAMPLE_BLURRY
    from keras_attn_deblur.demo.example_photos import EXAMPLE_SHARP
    from keras_attn_deblur.io.decode import load_image

    if args.calibration is None:
        print(f"{PROG}: calibrating on the package's example photo; pass --calibration with "
              "blurry photos like yours for a build that fits them", file=sys.stderr)  # fmt: skip
        calibration = [load_image(EXAMPLE_BLURRY)]
    else:
        names = sorted(name for name in os.listdir(args.calibration) if is_image_name(name))
        if not names:
            raise CommandError(f"--calibration '{args.calibration}' holds no images.")
        calibration = [load_image(os.path.join(args.calibration, name)) for name in names]
    if args.gate is None:
        pairs = [(load_image(EXAMPLE_BLURRY), load_image(EXAMPLE_SHARP))]
    else:
        pairs = [(load_image(pair.blurry), load_image(pair.sharp))
                 for pair in folder_pairs(*args.gate)]  # fmt: skip
    report = quantization.build_int8(
        model, args.output, calibration=calibration, gate_sets={"gate": pairs},
        format=export_format, overwrite=args.overwrite,
    )  # fmt: skip
    print(f"exported int8 {export_format} to '{args.output}': "
          f"{quantization.describe_gate(report)}")  # fmt: skip
    return 0
