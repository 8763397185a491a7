"""`attn-deblur demo`: the demo page on this machine, in the browser."""

from keras_attn_deblur.cli._common import DEFAULT_MODEL
from keras_attn_deblur.cli._common import PROG
from keras_attn_deblur.cli._common import add_command
from keras_attn_deblur.cli._common import add_inference_options
from keras_attn_deblur.cli._common import add_model_option
from keras_attn_deblur.cli._common import load_model
from keras_attn_deblur.cli._common import make_deblurrer
from keras_attn_deblur._utils.validation import positive_float
from keras_attn_deblur._utils.validation import positive_int


def register(subparsers):
    parser = add_command(
        subparsers,
        "demo",
        "try a model in the browser: upload a photo, drag a before/after slider",
        """\
        Start the demo page (Gradio) on this machine: upload, paste or take a
        photo, press Deblur, drag the slider between before and after, download the
        restored image at full resolution; add the sharp photo to see the PSNR/SSIM
        gain. The page binds 127.0.0.1 (only this machine) unless --host says
        otherwise, restores one photo at a time (the others queue), and refuses
        photos larger than the memory budget holds. The inference options below are
        the page's defaults. Needs Gradio: pip install "keras-attn-deblur[demo]".""",
        (
            f"{PROG} demo",
            f"{PROG} demo --model runs/gopro/model --port 7861",
            f"{PROG} demo --model org/attn-deblur --host 0.0.0.0 --memory-budget 4096",
        ),
    )
    add_model_option(parser, required=False, default=DEFAULT_MODEL)
    parser.add_argument(
        "--host", default="127.0.0.1",
        help="address to listen on: 0.0.0.0 lets other machines of the network in (127.0.0.1)",
    )  # fmt: skip
    parser.add_argument(
        "--port", type=positive_int, default=None,
        help="port to listen on (default: the first free one from 7860)",
    )  # fmt: skip
    parser.add_argument(
        "--share", action="store_true",
        help="also open a temporary public link through Gradio's share servers (needs the "
        "internet; anyone with the link can use the page)",
    )  # fmt: skip
    parser.add_argument("--no-share", dest="share", action="store_false", help="no public link")
    parser.add_argument(
        "--max-megapixels", type=positive_float, default=None, metavar="MP",
        help="largest photo accepted (default: what --memory-budget holds, 33.5 MP for 2048 MB)",
    )  # fmt: skip
    parser.add_argument(
        "--no-browser", dest="browser", action="store_false",
        help="do not open the page in a browser",
    )  # fmt: skip
    add_inference_options(parser)
    parser.set_defaults(handler=run)


def run(args):
    from keras_attn_deblur import demo

    demo.import_gradio()  # before the model loads: a missing Gradio is said at once
    app = demo.build_app(
        make_deblurrer(load_model(args.model), args), max_megapixels=args.max_megapixels,
        title=f"Deblur your photos with the model '{args.model}'",
    )
    print(f"{PROG}: demo of '{args.model}'; press Ctrl+C to stop", flush=True)
    app.launch(
        server_name=args.host, server_port=args.port, share=args.share,
        inbrowser=args.browser,
    )  # fmt: skip
    return 0
