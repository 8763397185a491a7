"""`DeblurDemo`: the Gradio page, a thin view over `Deblurrer` and the package's image files.

The page holds no image logic of its own. An upload reaches the same
decoder as `attn-deblur deblur` (`io.decode.load_image_samples`, so EXIF
orientation, 16-bit PNGs, ICC profiles and the one-line errors are the
command line's), is restored by a `Deblurrer`, written in the upload's own
format by `io.encode.write_image` (what `deblur_file` writes, byte for
byte), and scored against an optional sharp photo by
`evaluation.score`, the evaluation protocol. This module imports Gradio:
import it through `keras_attn_deblur.demo.build_app`.

What protects the machine it runs on:

- `launch()` binds 127.0.0.1 unless told otherwise (`server_name`, or
  `GRADIO_SERVER_NAME` as a Hugging Face Space sets it).
- One restoration runs at a time; the others wait in a queue of at most
  `QUEUE_SIZE`, each visitor seeing their position.
- An image is refused, before it is decoded, when its pixels would need
  more than the memory budget (`max_megapixels`); uploads larger than a
  file of that many 16-bit RGB pixels are refused by Gradio
  (`max_file_size`).
- The restored files are written in the app's own temporary folder, which
  is removed when the process ends; nothing is written in the current
  folder, and Gradio serves no file outside its cache and the examples.
"""

import atexit
import os
import shutil
import tempfile
import time
import types
import uuid

import gradio as gr

from keras_attn_deblur import evaluation
from keras_attn_deblur._utils.errors import one_line
from keras_attn_deblur.demo.example_photos import EXAMPLE_BLURRY
from keras_attn_deblur.demo.example_photos import EXAMPLE_SHARP
from keras_attn_deblur.inference import DEFAULT_MEMORY_BUDGET_MB
from keras_attn_deblur.inference import Deblurrer
from keras_attn_deblur.inference.deblurrer import as_deblurrer
from keras_attn_deblur.io.convert import samples_to_float_rgb
from keras_attn_deblur.io.decode import ImageReadError
from keras_attn_deblur.io.decode import image_size
from keras_attn_deblur.io.decode import load_image_samples
from keras_attn_deblur.io.encode import format_for
from keras_attn_deblur.io.encode import write_image

# Bytes the page holds per pixel of one request besides the network's tile
# activations (which `Deblurrer` keeps within the budget): the decoded
# blurry and restored samples (up to 8 bytes each, 16-bit RGBA), float32 RGB
# copies of blurry, restored and sharp for the scores (36), and the two 8-bit
# pictures of the slider (6); rounded up.
BYTES_PER_PIXEL = 64
# Visitors waiting for their turn; more are turned away until one is served.
QUEUE_SIZE = 16
TILE_SIZES = ("auto", "256", "512", "1024")
PRECISIONS = ("auto", "float32", "bfloat16", "int8")
# Formats every browser displays: the slider shows the upload and the restored file
# themselves; other formats (TIFF, ...) are shown as 8-bit PNG pictures.
BROWSER_FORMATS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")


class DeblurDemo(gr.Blocks):
    """A page to restore your own photos with a model, with a before/after slider.

    Upload, paste or take a photo (or click the shipped example), press
    Deblur, and drag the slider between the blurry photo and the restored
    one; download the restored image at full resolution in the upload's
    format. With a sharp photo of the same scene, the page also shows the
    PSNR and SSIM of both against it and the gain. The options (precision,
    flip ensemble, tile size) start from the `Deblurrer`'s, whose defaults
    suit the machine (`precision="auto"`).

    Args:
        model: str, `keras.Model` or `Deblurrer`. See `demo.build_app`.
        max_megapixels: float or `None`. Largest image accepted, in
            megapixels. Defaults to `None`: what the memory budget holds
            (`memory_budget_mb / BYTES_PER_PIXEL`: 33.5 MP for the default
            2,048 MB).
        examples: tuple of (blurry, sharp or `None`) paths. One-click
            examples. Defaults to the shipped GoPro pair.
        title: str. The page's heading. Defaults to one naming the model.

    Example:
    ```python
    from keras_attn_deblur import AttnDeblurNet, Deblurrer, demo

    model = AttnDeblurNet.from_pretrained("patent")
    demo.build_app(Deblurrer(model, ensemble=True)).launch()
    ```
    """

    def __init__(self, model, *, max_megapixels=None, examples=None, title=None):
        deblurrer = _as_deblurrer(model)
        budget_mb = deblurrer.memory_budget_mb or DEFAULT_MEMORY_BUDGET_MB
        if max_megapixels is None:
            max_megapixels = budget_mb * 2**20 / BYTES_PER_PIXEL / 1e6
        if not (isinstance(max_megapixels, (int, float)) and max_megapixels > 0):
            raise ValueError(
                f"`max_megapixels` must be a positive number. Received: {max_megapixels!r}"
            )
        self.deblurrer = deblurrer
        self.max_pixels = int(max_megapixels * 1e6)
        self.memory_budget_mb = budget_mb
        # Any file that can hold an accepted image: 16-bit RGB, uncompressed.
        self.max_file_size = self.max_pixels * 6 + 2**20
        self.folder = tempfile.mkdtemp(prefix="attn_deblur_demo_")
        atexit.register(shutil.rmtree, self.folder, ignore_errors=True)
        if examples is None:
            examples = ((str(EXAMPLE_BLURRY), str(EXAMPLE_SHARP)),)
        name = model if isinstance(model, (str, os.PathLike)) else deblurrer.model.name
        super().__init__(analytics_enabled=False, title="keras-attn-deblur demo")
        with self:
            self._layout(title or f"Deblur your photos with the model '{name}'", examples)
        self.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)

    def _layout(self, title, examples):
        gr.Markdown(
            f"# {title}\n"
            "Upload, paste or take a blurry photo, press **Deblur**, then drag the slider "
            "between before and after. Add the sharp photo of the same scene to see how "
            "much closer the result is (PSNR/SSIM). Photos up to "
            f"{self.max_pixels / 1e6:.0f} MP."
        )
        with gr.Row():
            with gr.Column():
                blurry = _image_input(
                    label="Blurry photo", sources=["upload", "clipboard", "webcam"],
                    elem_id="blurry",
                )
                with gr.Accordion(
                    "Sharp reference (optional, for PSNR/SSIM)", open=False, elem_id="sharp-reference"
                ):
                    sharp = _image_input(
                        label="Sharp photo", sources=["upload", "clipboard"], elem_id="sharp"
                    )
                with gr.Accordion("Options", open=False):
                    precision = gr.Radio(
                        PRECISIONS, value=self.deblurrer.precision or "auto", label="Precision",
                        info=f"auto chooses for this machine: {self.deblurrer.precision_choice}",
                    )  # fmt: skip
                    ensemble = gr.Checkbox(
                        value=self.deblurrer.ensemble,
                        label="Flip ensemble (4x the time, a little sharper)",
                    )
                    default_tile = str(self.deblurrer.tile_size or "auto")
                    tile_size = gr.Dropdown(
                        sorted({*TILE_SIZES, default_tile}, key=_tile_order),
                        value=default_tile, label="Tile size",
                        info=f"auto: whole image when it fits {self.memory_budget_mb:.0f} MB",
                    )  # fmt: skip
                run = gr.Button("Deblur", variant="primary")
            with gr.Column():
                slider = gr.ImageSlider(
                    label="Before / after", format="png", interactive=False,
                    buttons=["fullscreen"], elem_id="before-after",
                )  # fmt: skip
                download = gr.DownloadButton(
                    "Download the restored image", visible=False, elem_id="download"
                )
                report = gr.Markdown(elem_id="report")
        gr.Examples(
            [[blurry_path, sharp_path] for blurry_path, sharp_path in examples],
            inputs=[blurry, sharp], label="Example (real GoPro blur, never seen in training)",
            cache_examples=False,
        )  # fmt: skip
        run.click(
            self.restore,
            inputs=[blurry, sharp, precision, ensemble, tile_size],
            outputs=[slider, download, report],
            api_name="deblur",
            concurrency_limit=1,
        )

    def restore(self, blurry, sharp, precision, ensemble, tile_size, progress=gr.Progress()):
        """Restores one upload; returns (before, after), the download and the report text.

        Errors are shown on the page as one line (`gr.Error`); the app goes on
        serving the next request.
        """
        try:
            return self._restore(blurry, sharp, precision, ensemble, tile_size, progress)
        except (ValueError, OSError) as error:
            raise gr.Error(_page_message(error), print_exception=False) from None

    def _restore(self, blurry, sharp, precision, ensemble, tile_size, progress):
        if blurry is None:
            raise ValueError("Upload a blurry photo first (or click the example below it).")
        name = _upload_name(blurry)
        self._check_size(blurry, name)
        samples, mode, info = load_image_samples(blurry)
        sharp_samples = None
        if sharp is not None:
            self._check_size(sharp, _upload_name(sharp))
            sharp_samples = load_image_samples(sharp)[0]
            _check_same_size(samples, sharp_samples, name, _upload_name(sharp))
        deblurrer = Deblurrer(self.deblurrer.model, **{
            **self.deblurrer.options(),
            "precision": precision,
            "ensemble": bool(ensemble),
            "tile_size": None if tile_size in (None, "auto") else int(tile_size),
            "progress": lambda done, total: progress((done, total), desc="restoring", unit="tiles"),
        })  # fmt: skip
        progress(0, desc="restoring")
        started = time.perf_counter()
        restored = deblurrer.restore_samples(samples, name=name)
        seconds = time.perf_counter() - started
        output = self._write(restored, mode, info, name)
        height, width = samples.shape[:2]
        plan = deblurrer.plan(height, width)
        tiles = len(plan.row_starts) * len(plan.column_starts)
        lines = [
            f"Restored **{name}** ({width}×{height}) in **{seconds:.1f} s**: "
            f"{deblurrer.precision_choice}, {tiles} tile{'s' if tiles > 1 else ''}"
            + (", flip ensemble" if deblurrer.ensemble else "") + "."
        ]
        if sharp_samples is not None:
            lines.append(_score_table(samples, restored, sharp_samples))
        if _browser_shows(name):  # the files themselves: nothing to encode again
            before, after = blurry, output
        else:
            before, after = _picture(samples), _picture(restored)
        download = gr.DownloadButton(
            f"Download {os.path.basename(output)}", value=output, visible=True
        )
        return (before, after), download, "\n\n".join(lines)

    def _check_size(self, path, name):
        height, width = image_size(path)
        if height * width > self.max_pixels:
            raise ValueError(
                f"'{name}' is {width}×{height} ({height * width / 1e6:.1f} MP); this page "
                f"restores photos up to {self.max_pixels / 1e6:.1f} MP within its memory "
                f"budget of {self.memory_budget_mb:.0f} MB. Resize or crop it, or restore it "
                "with 'attn-deblur deblur', which tiles any size."
            )

    def _write(self, restored, mode, info, name):
        """The restored image as a file in the upload's format, in the app's own folder."""
        stem, extension = os.path.splitext(name)
        try:
            format_for(f"x{extension}")
        except ValueError:
            extension = ".png"  # a format Pillow reads but does not write
        folder = os.path.join(self.folder, uuid.uuid4().hex)
        os.makedirs(folder)
        output = os.path.join(folder, f"{stem}_deblurred{extension}")
        write_image(output, restored, mode, info)
        return output

    def launch(self, **options):
        """`gr.Blocks.launch` with this page's safe defaults; any of them can be overridden.

        Binds 127.0.0.1 (unless `GRADIO_SERVER_NAME` is set, as on a Space),
        limits uploads to `max_file_size`, and renders the page in the
        browser without Node (`ssr_mode=False`).
        """
        options.setdefault("server_name", os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
        options.setdefault("max_file_size", self.max_file_size)
        options.setdefault("ssr_mode", False)
        options.setdefault("footer_links", ["api"])
        return super().launch(**options)


def _image_input(**options):
    """A `gr.Image` that passes the uploaded file itself to the package's decoder.

    Gradio's own preprocessing opens the file with Pillow first, and may
    convert it; the page instead reads the uploaded bytes with the same
    decoder, and gets the same one-line errors, as `attn-deblur deblur`.
    (The instance's `preprocess` is replaced rather than subclassing
    `gr.Image`: Gradio writes a `.pyi` stub beside the module of every
    component class it sees defined.)
    """
    image = gr.Image(type="filepath", image_mode=None, **options)
    image.preprocess = types.MethodType(_uploaded_file, image)
    return image


def _uploaded_file(image, payload):
    if payload is None:
        return None
    if payload.path is None:  # a data: URL, which the browser's upload does not send
        return gr.Image.preprocess(image, payload)
    return payload.path


def _as_deblurrer(model):
    """A `Deblurrer` of a model handle (loaded as `attn-deblur --model` loads it), or as given."""
    if isinstance(model, (str, os.PathLike)):
        import keras

        from keras_attn_deblur.hub import resolve
        from keras_attn_deblur.models import AttnDeblurNet

        handle = os.fspath(model)
        model_class = keras.Model if handle.lower().endswith(".keras") else AttnDeblurNet
        model = resolve.from_pretrained(model_class, handle)
    return as_deblurrer(model, {})


def _tile_order(choice):
    return -1 if choice == "auto" else int(choice)


def _browser_shows(name):
    """Whether a browser displays this file format itself (else the slider gets a PNG)."""
    return os.path.splitext(name)[1].lower() in BROWSER_FORMATS


def _upload_name(path):
    return os.path.basename(path) or "image"


def _check_same_size(blurry, sharp, blurry_name, sharp_name):
    if blurry.shape[:2] != sharp.shape[:2]:
        raise ValueError(
            f"The sharp photo '{sharp_name}' is {sharp.shape[1]}×{sharp.shape[0]} but the "
            f"blurry photo '{blurry_name}' is {blurry.shape[1]}×{blurry.shape[0]}: give the "
            "sharp photo of the same scene, at the same size, or leave it out."
        )


def _picture(samples):
    """The 8-bit RGB picture of decoded samples for the slider (alpha dropped)."""
    rgb = samples_to_float_rgb(samples)
    return evaluation.quantize(rgb)


def _score_table(blurry, restored, sharp):
    """PSNR/SSIM of the blurry and restored images against the sharp one, by the protocol."""
    reference = _picture(sharp)
    before = evaluation.score(reference, _picture(blurry))
    after = evaluation.score(reference, _picture(restored))
    gain = after["psnr"] - before["psnr"]
    return (
        "| against the sharp photo | PSNR (dB) | SSIM |\n|---|---|---|\n"
        f"| blurry | {before['psnr']:.2f} | {before['ssim']:.4f} |\n"
        f"| restored | {after['psnr']:.2f} | {after['ssim']:.4f} |\n\n"
        f"PSNR gain: **{gain:+.2f} dB**, SSIM gain: **{after['ssim'] - before['ssim']:+.4f}**"
    )


def _page_message(error):
    """An error as one line for the page, naming the upload by its own name."""
    if isinstance(error, ImageReadError):
        return f"'{os.path.basename(error.path)}' {error.problem}. {error.fix}"
    return one_line(error, max_lines=2)
