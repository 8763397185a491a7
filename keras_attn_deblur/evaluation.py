"""Scoring a deblurring model on paired images by the papers' protocol.

```python
from keras_attn_deblur import AttnDeblurNet, data, evaluation

model = AttnDeblurNet.from_pretrained("org/attn-deblur")
pairs = data.gopro_pairs("/datasets/GOPRO_Large", split="test")
summary = evaluation.evaluate_pairs(model, pairs, baselines=("input", "unsharp"),
                                    csv_path="gopro_test.csv")
summary.means["model"]["psnr"]  # mean PSNR over the 1,111 test pairs, dB
```

The protocol (the "Quality measures" of the project's design notes, which is
how deblurring papers report GoPro numbers):

- Whole images: no resizing, no border crop, RGB.
- The restored image is clamped to `[0, 1]` and quantised to 8 bits
  (`round(255 * x)` as `uint8`) before scoring, exactly as if it had been
  saved to a PNG; the sharp image is scored as 8-bit values too.
- PSNR with peak 255 on the 8-bit values, and SSIM in both variants,
  always named: `ssim` is the per-channel 2-D Gaussian SSIM (`tf.image`,
  scikit-image) and `ssim_matlab` the 3-D Gaussian SSIM of MATLAB's `ssim`
  on the H x W x 3 array (see `keras_attn_deblur.metrics.ssim`).
- Means are over images (every image counts once, whatever its size).
- The blurry input's scores against the sharp image are on every row
  (`input_psnr`, `input_ssim`, `input_ssim_matlab`), so a reader sees what
  the network gained.

Baselines, each scored by the same protocol so that users see what the
network adds over doing (almost) nothing:

- `"input"`: the blurry image itself. Its numbers are the `input_*`
  columns; asking for it adds its row to the summary table.
- `"unsharp"`: an unsharp mask, `sharpened = blurry + amount * (blurry -
  gaussian(blurry, sigma))` with `sigma = 1.5` pixels and `amount = 0.75`
  (Gaussian truncated at 4 sigma, reflect padding), clamped to `[0, 1]`: the
  "sharpen" filter of photo editors, which does not undo motion. Columns
  `unsharp_psnr`, `unsharp_ssim`, `unsharp_ssim_matlab`. See
  `unsharp_mask`.
"""

import csv
import dataclasses
import math
import os
import time

import numpy as np

from keras_attn_deblur._utils.errors import one_line
from keras_attn_deblur._utils.paths import IMAGE_EXTENSIONS
from keras_attn_deblur._utils.paths import check_output_folder
from keras_attn_deblur._utils.paths import is_inside
from keras_attn_deblur._utils.paths import write_atomically
from keras_attn_deblur.inference.deblurrer import as_deblurrer
from keras_attn_deblur.inference.progress import ProgressLine
from keras_attn_deblur.io.convert import from_float
from keras_attn_deblur.io.decode import load_image
from keras_attn_deblur.metrics import psnr
from keras_attn_deblur.metrics import ssim

BASELINES = ("input", "unsharp")
MEASURES = ("psnr", "ssim", "ssim_matlab")
UNSHARP_SIGMA = 1.5
UNSHARP_AMOUNT = 0.75
PROTOCOL = (
    "whole images, RGB, no resizing or border crop; output clamped to [0, 1] and "
    "quantised to 8 bits; PSNR peak 255; SSIM 11x11 Gaussian (sigma 1.5) per "
    "channel ('ssim') and 3-D as MATLAB ('ssim_matlab'); means over images"
)
_MODEL = "model"
# Suffixes of model, weights and config files: an existing one is never replaced by a CSV.
_MODEL_SUFFIXES = (".h5", ".keras", ".safetensors", ".json", ".pb", ".onnx", ".tflite")
_MEASURE_TITLES = {"psnr": "PSNR (dB)", "ssim": "SSIM", "ssim_matlab": "SSIM (matlab)"}
_METHOD_TITLES = {_MODEL: "model", "input": "input (blurry)", "unsharp": "unsharp mask"}


@dataclasses.dataclass
class EvaluationSummary:
    """The result of `evaluate_pairs`: per-image rows and their means.

    Args:
        rows: list of dict. One per pair, in the order given, with the keys
            of `columns` (a pair that failed has only `name` and `error`).
        columns: tuple of str. The CSV columns, in order.
        methods: tuple of str. What was scored: `"model"` (when a model was
            given), then the requested baselines.
        means: dict. `{method: {"psnr": ..., "ssim": ..., "ssim_matlab":
            ...}}`, means over the images that were scored; `means["input"]`
            is always there (the blurry input, for reference).
        count: int. How many pairs were scored.
        failed: list of `(name, reason)`. Pairs that could not be scored;
            they are not in the means.
        seconds: float. Wall time of the whole evaluation.
        csv_path: str. Where the per-image CSV was written, or `None`.
    """

    rows: list
    columns: tuple
    methods: tuple
    means: dict
    count: int
    failed: list
    seconds: float
    csv_path: str = None

    def table(self):
        """The summary table as text: one row per method, means over images."""
        shown = list(self.methods)
        header = ["method", "images"] + [_MEASURE_TITLES[key] for key in MEASURES]
        header.append("PSNR vs input")
        lines = []
        for method in shown:
            means = self.means[method]
            gain = means["psnr"] - self.means["input"]["psnr"]
            lines.append(
                [_METHOD_TITLES.get(method, method), str(self.count)]
                + [_format_measure(key, means[key]) for key in MEASURES]
                + ["" if method == "input" else f"{gain:+.2f} dB".replace("-0.00", "+0.00")]
            )
        widths = [
            max(len(header[i]), *(len(line[i]) for line in lines)) for i in range(len(header))
        ]
        text = ["  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                          for i, cell in enumerate(row)) for row in [header] + lines]
        footer = f"{self.count} image(s) scored"
        if self.failed:
            footer += f", {len(self.failed)} failed: " + "; ".join(
                f"{name} ({reason})" for name, reason in self.failed[:3]
            )
            if len(self.failed) > 3:
                footer += f"; and {len(self.failed) - 3} more (see the CSV)"
        footer += f", {self.seconds:.1f} s. Protocol: {PROTOCOL}."
        return "\n".join(text + [footer])

    def card_metrics(self, dataset, split, *, method=_MODEL, **extra):
        """The means of one method in the model-card schema of `keras_attn_deblur.hub.card`.

        Args:
            dataset: str. Name of the evaluation set, e.g. `"GoPro"`.
            split: str. E.g. `"test"`.
            method: str. Which method's means. Defaults to `"model"`.
            **extra: other keys of the schema, e.g. `dataset_config="linear"`.

        Returns:
            A dict for `save_pretrained(metrics=...)`.
        """
        if method not in self.means:
            raise ValueError(
                f"No results for method {method!r}; this evaluation scored "
                f"{sorted(self.means)}. Received: method={method!r}"
            )
        if self.count == 0:
            raise ValueError("No image was scored, so there are no metrics to report.")
        metrics = {"dataset": dataset, "split": split, **self.means[method]}
        metrics.update({f"input_{key}": value for key, value in self.means["input"].items()})
        metrics.update(num_images=self.count, protocol=PROTOCOL)
        metrics.update(extra)
        return metrics

    def __str__(self):
        return self.table()


def evaluate_pairs(
    model,
    pairs,
    *,
    baselines=(),
    csv_path=None,
    progress=True,
    **options,
):
    """Scores a model (and/or baselines) on (blurry, sharp) pairs by the papers' protocol.

    Each pair is read whole, the blurry image is restored by one
    `keras_attn_deblur.Deblurrer` for the whole evaluation (so large images
    are tiled as asked), the result is clamped and quantised to 8 bits, and PSNR (peak
    255), SSIM (`variant="gaussian"`) and SSIM (`variant="matlab"`) are
    computed with `keras_attn_deblur.psnr`/`ssim` against the 8-bit sharp
    image. A pair that cannot be read or scored (a corrupt file, an image
    smaller than SSIM's 11 x 11 window) is reported in `failed` and the
    evaluation goes on.

    Args:
        model: `keras.Model`, `Deblurrer` or `None`. The deblurring model
            (a `Deblurrer` brings its own options); `None` scores only the
            `baselines`.
        pairs: list of `data.ImagePair` (from `data.gopro_pairs`,
            `data.folder_pairs`, ...) or of `(blurry, sharp)` tuples, each a
            path or a float `(H, W, 3)` array in `[0, 1]`.
        baselines: tuple of str. `"input"` and/or `"unsharp"`, see the module
            docstring. Defaults to `()`.
        csv_path: str or path. Write one row per image there (atomically:
            a temporary file renamed into place). An existing file there is
            replaced only if it is a CSV this function wrote (see
            `check_csv_output`). Defaults to `None`.
        progress: bool. Print progress to stderr and the summary table to
            stdout. Defaults to `True`.
        **options: Options of `Deblurrer` for the model (`tile_size`,
            `tile_overlap`, `precision`, `ensemble`, `memory_budget_mb`,
            `batch_size`).

    Returns:
        An `EvaluationSummary`.

    Example:

    ```python
    from keras_attn_deblur import data, evaluation

    pairs = data.folder_pairs("photos/blurry", "photos/sharp")
    summary = evaluation.evaluate_pairs(model, pairs, baselines=("input", "unsharp"),
                                        csv_path="scores.csv")
    print(summary.table())
    ```
    """
    baselines = _check_baselines(baselines)
    if model is None and not baselines:
        raise ValueError(
            "Nothing to evaluate: pass a model, or baselines such as "
            f"baselines=('input', 'unsharp'). Received: model=None, baselines={baselines!r}"
        )
    items = _as_items(pairs)
    if csv_path is not None:
        check_output_folder(csv_path, what="the CSV ")
        check_csv_output(csv_path)
    # The methods being compared, each a restore callable: float RGB in, float RGB out.
    restorers = {}
    if model is not None:
        deblurrer = as_deblurrer(model, options)
        restorers[_MODEL] = lambda blurry: np.asarray(deblurrer(blurry), dtype="float32")
    if "unsharp" in baselines:
        restorers["unsharp"] = unsharp_mask
    methods = ((_MODEL,) if model is not None else ()) + baselines
    columns = _columns(model is not None, baselines)
    started = time.perf_counter()
    bar = ProgressLine(len(items), "evaluate", enabled=progress)
    rows, failed = [], []
    for name, blurry_source, sharp_source in items:
        try:
            row = _score_item(name, blurry_source, sharp_source, restorers)
        except (ValueError, OSError) as error:
            reason = one_line(error, max_lines=1)
            failed.append((name, reason))
            rows.append({"name": name, "error": reason})
            bar.update(name, "failed")
            continue
        rows.append(row)
        bar.update(name, f"{row.get('psnr', row['input_psnr']):.2f} dB")
    bar.close()

    scored = [row for row in rows if not row.get("error")]
    means = {}
    for method in ("input",) + methods:
        prefix = "" if method == _MODEL else f"{method}_"
        means[method] = {
            key: _mean([row[prefix + key] for row in scored]) for key in MEASURES
        }
    summary = EvaluationSummary(
        rows=rows,
        columns=columns,
        methods=methods,
        means=means,
        count=len(scored),
        failed=failed,
        seconds=time.perf_counter() - started,
        csv_path=None if csv_path is None else os.fspath(csv_path),
    )
    if csv_path is not None:
        write_csv(summary, csv_path)
    if progress:
        print(summary.table(), flush=True)
    return summary


def quantize(image):
    """Clamps a float image to `[0, 1]` and rounds it to 8 bits (`uint8`).

    `round(255 * clip(x, 0, 1))`, what saving the image as an 8-bit PNG does;
    the protocol scores these values.
    """
    return from_float(np.asarray(image, dtype="float32"), np.uint8)


def score(sharp, restored):
    """PSNR, SSIM and SSIM (matlab) of one 8-bit image against its sharp target.

    Both images are `uint8` `(H, W, 3)` arrays (see `quantize`); the scores
    are `keras_attn_deblur.psnr` and `ssim` with `max_val=255`.

    Returns:
        A dict `{"psnr": float, "ssim": float, "ssim_matlab": float}`.
    """
    sharp = np.asarray(sharp)
    restored = np.asarray(restored)
    if sharp.dtype != np.uint8 or restored.dtype != np.uint8:
        raise ValueError(
            "score() takes 8-bit images; quantise float images with quantize() first. "
            f"Received: dtypes {sharp.dtype} and {restored.dtype}"
        )
    if sharp.shape != restored.shape:
        raise ValueError(
            "The sharp and restored images must have the same shape. Received: "
            f"{sharp.shape} and {restored.shape}"
        )
    height, width = sharp.shape[:2]
    if min(height, width) < 11:
        raise ValueError(
            f"the image is {height}x{width} pixels; SSIM needs at least 11x11 "
            "(its Gaussian window), so it cannot be scored by the protocol"
        )
    sharp = sharp.astype("float32")
    restored = restored.astype("float32")
    return {
        "psnr": _to_float(psnr(sharp, restored, max_val=255.0)),
        "ssim": _to_float(ssim(sharp, restored, max_val=255.0, variant="gaussian")),
        "ssim_matlab": _to_float(ssim(sharp, restored, max_val=255.0, variant="matlab")),
    }


def unsharp_mask(image, sigma=UNSHARP_SIGMA, amount=UNSHARP_AMOUNT):
    """Sharpens an image with an unsharp mask (the "input + sharpening" baseline).

    `sharpened = image + amount * (image - gaussian(image, sigma))`, clamped
    to `[0, 1]`. The Gaussian is separable, truncated at 4 sigma and uses
    reflect padding (`numpy.pad(mode="reflect")`). NumPy only.

    Args:
        image: float array `(H, W, C)` in `[0, 1]`.
        sigma: float. Standard deviation of the Gaussian, in pixels.
            Defaults to `1.5`.
        amount: float. Strength of the sharpening. Defaults to `0.75`.

    Returns:
        A float32 array of the same shape, in `[0, 1]`.
    """
    if not sigma > 0:
        raise ValueError(f"`sigma` must be positive. Received: sigma={sigma!r}")
    image = np.asarray(image, dtype="float32")
    radius = max(1, int(math.ceil(4.0 * sigma)))
    offsets = np.arange(-radius, radius + 1, dtype="float64")
    taps = np.exp(-(offsets**2) / (2.0 * sigma**2))
    taps = (taps / taps.sum()).astype("float32")
    blurred = image
    for axis in (0, 1):
        blurred = _filter_reflect(blurred, taps, axis)
    return np.clip(image + amount * (image - blurred), 0.0, 1.0).astype("float32")


def check_csv_output(path, protected_paths=()):
    """Raises unless the per-image CSV may be written to `path`.

    A new file may be written anywhere but inside `protected_paths` (the
    model's own file or folder). An existing file is replaced only if it is a
    CSV that `evaluate_pairs` wrote, its first line one of the headers it
    writes; a model file, an image or any other file is refused, in one line
    naming it.

    Args:
        path: str or path. Where the CSV is about to be written.
        protected_paths: paths that `path` must not be or lie inside.
            Defaults to `()`.
    """
    path = os.fspath(path)
    for protected in protected_paths:
        if protected and os.path.lexists(protected) and is_inside(path, protected):
            raise ValueError(
                f"Refusing to write the CSV '{path}': it is or lies inside the model "
                f"'{os.fspath(protected)}'. Choose a CSV path outside the model."
            )
    if not os.path.lexists(path):
        return
    suffix = _suffix(path)
    if suffix in IMAGE_EXTENSIONS or suffix in _MODEL_SUFFIXES:
        kind = "an image" if suffix in IMAGE_EXTENSIONS else "a model or config file"
        raise FileExistsError(
            f"Refusing to replace '{path}' with the CSV: it is {kind} ({suffix}). "
            "Choose a CSV path ending in .csv."
        )
    if not _is_evaluation_csv(path):
        raise FileExistsError(
            f"Refusing to replace '{path}': it is not a CSV written by evaluate (its first "
            "line is not an evaluation header). Remove it yourself or choose another CSV path."
        )


def write_csv(summary, path):
    """Writes the per-image rows of an `EvaluationSummary` as CSV, atomically.

    The file is written next to `path` under a temporary name and renamed
    into place, so a killed run never leaves a half-written CSV. Numbers are
    written with 6 decimals; a failed pair has empty numbers and its reason
    in the `error` column. An existing file is replaced only if it is such a
    CSV (see `check_csv_output`).
    """
    path = os.fspath(path)
    check_output_folder(path, what="the CSV ")
    check_csv_output(path)

    def write(stream):
        writer = csv.writer(stream)
        writer.writerow(summary.columns)
        for row in summary.rows:
            writer.writerow([_format_cell(row.get(column)) for column in summary.columns])

    return write_atomically(path, write, text=True)


# === Helpers ===


def _check_baselines(baselines):
    if isinstance(baselines, str):
        baselines = (baselines,)
    baselines = tuple(baselines or ())
    unknown = [name for name in baselines if name not in BASELINES]
    if unknown:
        raise ValueError(
            f"Unknown baseline(s) {unknown}; the baselines are {list(BASELINES)}. "
            f"Received: baselines={baselines!r}"
        )
    return tuple(dict.fromkeys(baselines))


def _columns(with_model, baselines):
    columns = ["name"]
    if with_model:
        columns += list(MEASURES)
    columns += [f"input_{key}" for key in MEASURES]
    for baseline in baselines:
        if baseline != "input":
            columns += [f"{baseline}_{key}" for key in MEASURES]
    columns += ["seconds", "error"]
    return tuple(columns)


def _suffix(path):
    """The file's last suffix in lower case (`.h5` for `model.weights.h5`)."""
    return os.path.splitext(os.fspath(path))[1].lower()


def _is_evaluation_csv(path):
    """Whether the file's first line is a header that `write_csv` writes."""
    if not os.path.isfile(path):
        return False
    with open(path, "rb") as file:
        head = file.read(4096)
    try:
        first_line = head.decode("utf-8").splitlines()[0]
    except (UnicodeDecodeError, IndexError):
        return False
    header = tuple(next(csv.reader([first_line]), ()))
    return header in {
        _columns(with_model, baselines)
        for with_model in (True, False)
        for baselines in ((), ("unsharp",))
    }


def _as_items(pairs):
    """`(name, blurry, sharp)` for ImagePairs and `(blurry, sharp)` tuples."""
    if isinstance(pairs, (str, os.PathLike)):
        raise ValueError(
            "`pairs` must be a list of pairs, not a folder. Build it with "
            "`data.folder_pairs(blurry_dir, sharp_dir)`, `data.gopro_pairs(root, "
            f"split='test')` or similar. Received: pairs={os.fspath(pairs)!r}"
        )
    items = []
    for index, pair in enumerate(pairs):
        if hasattr(pair, "blurry") and hasattr(pair, "sharp"):
            name = getattr(pair, "name", None) or os.path.basename(os.fspath(pair.blurry))
            items.append((name, pair.blurry, pair.sharp))
        elif isinstance(pair, (tuple, list)) and len(pair) == 2:
            blurry, sharp = pair
            if isinstance(blurry, (str, os.PathLike)):
                name = os.path.basename(os.fspath(blurry))
            else:
                name = f"pair_{index:05d}"
            items.append((name, blurry, sharp))
        else:
            raise ValueError(
                "Every element of `pairs` must be an `ImagePair` or a `(blurry, sharp)` "
                f"tuple of paths or arrays. Received: {pair!r}"
            )
    if not items:
        raise ValueError(
            "`pairs` is empty: there is nothing to evaluate. Check the folders or the "
            "dataset root and split."
        )
    return items


def _read(source, role):
    if isinstance(source, (str, os.PathLike)):
        return load_image(source)
    image = np.asarray(source)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(
            f"The {role} image must be an RGB array of shape (height, width, 3). "
            f"Received: shape={image.shape}"
        )
    if np.issubdtype(image.dtype, np.integer):
        raise ValueError(
            f"The {role} image must be a float array in [0, 1]; divide 8-bit images "
            f"by 255. Received: dtype={image.dtype}"
        )
    return image.astype("float32")


def _score_item(name, blurry_source, sharp_source, restorers):
    """One CSV row: the input's scores, then each method's (model columns unprefixed)."""
    if _same_file(blurry_source, sharp_source):
        raise ValueError(
            f"the blurry and the sharp image are the same file '{os.fspath(blurry_source)}'; "
            "a pair needs the sharp image as its target"
        )
    blurry = _read(blurry_source, "blurry")
    sharp = _read(sharp_source, "sharp")
    if blurry.shape != sharp.shape:
        raise ValueError(
            f"the blurry image is {blurry.shape[0]}x{blurry.shape[1]} but the sharp one "
            f"is {sharp.shape[0]}x{sharp.shape[1]}; a pair must have one size"
        )
    sharp_8bit = quantize(sharp)
    row = {"name": name}
    row.update(_prefixed("input_", score(sharp_8bit, quantize(blurry))))
    seconds = None
    for method, restore in restorers.items():
        started = time.perf_counter()
        restored = restore(blurry)
        if method == _MODEL:
            seconds = time.perf_counter() - started
        prefix = "" if method == _MODEL else f"{method}_"
        row.update(_prefixed(prefix, score(sharp_8bit, quantize(restored))))
    row["seconds"] = seconds
    row["error"] = ""
    return row


def _same_file(blurry_source, sharp_source):
    """Whether two sources are paths of one existing file (any spelling or link)."""
    paths = (blurry_source, sharp_source)
    if not all(isinstance(path, (str, os.PathLike)) and os.path.exists(path) for path in paths):
        return False
    return os.path.samefile(*paths)


def _prefixed(prefix, scores):
    return {f"{prefix}{key}": value for key, value in scores.items()}


def _filter_reflect(image, taps, axis):
    """Correlates `image` with 1-D `taps` along `axis`, reflect padding, same size."""
    radius = len(taps) // 2
    length = image.shape[axis]
    pad = [(0, 0)] * image.ndim
    pad[axis] = (radius, radius)
    mode = "reflect" if length > radius else "symmetric"
    if length == 1:
        mode = "edge"
    padded = np.pad(image, pad, mode=mode)
    filtered = np.zeros_like(image)
    for offset, tap in enumerate(taps):
        index = [slice(None)] * image.ndim
        index[axis] = slice(offset, offset + length)
        filtered += tap * padded[tuple(index)]
    return filtered


def _to_float(value):
    return float(np.asarray(value))


def _mean(values):
    return float(np.mean(values)) if values else float("nan")


def _format_measure(key, value):
    if math.isnan(value):
        return "n/a"
    return f"{value:.2f}" if key == "psnr" else f"{value:.4f}"


def _format_cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)
