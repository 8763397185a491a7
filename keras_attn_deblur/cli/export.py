"""`attn-deblur export`: a model as a SavedModel, ONNX or LiteRT file."""

import os

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
        LiteRT need the TensorFlow backend (KERAS_BACKEND=tensorflow).""",
        (
            f"{PROG} export attn_deblur_savedmodel --model runs/gopro/model",
            f"{PROG} export attn_deblur.onnx --model org/attn-deblur --verify",
            f"{PROG} export attn_deblur.tflite --model m.keras --format litert",
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
