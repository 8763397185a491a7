"""`Deblurrer`: one set of inference options, and the network that restores with them.

```python
from keras_attn_deblur import AttnDeblurNet, Deblurrer

model = AttnDeblurNet.from_pretrained("org/attn-deblur")
deblurrer = Deblurrer(model, precision="bfloat16")  # options checked once, here
restored = deblurrer("IMG_0042.jpg")                # a PIL image, same size and mode
restored = deblurrer(array)                         # uint8 in, uint8 out
```

How a photo is restored:

1. **Padding and tiles** (`tiling.plan_tiles`): the image is reflect-padded
   by `tile_overlap // 2` on every side and up to a multiple of 16, and cut
   into overlapping tiles when it does not fit the memory budget.
2. **Blending.** Each tile's output is weighted by a separable window that
   rises as `sin^2` over the first `tile_overlap` pixels next to a
   neighbouring tile and falls the same way before the next one (1 in
   between, 1 up to the padded border). The weights add to exactly 1
   everywhere: no seams, and the tile edges, where the convolutions saw
   zero padding instead of image, get almost no weight. A pixel farther
   than `tile_overlap` from every seam is computed from tiles in which it
   has more than `tile_overlap` pixels of context on every side; when
   `tile_overlap` is at least the network's receptive-field radius
   (`model.receptive_field()[1]`: 190 px for the SPEC network) such pixels
   equal the whole-image output up to float rounding. With the default
   overlap of 32 they differ by at most 1.2e-4 and every pixel by at most
   1.4e-3, below 1/255 (measured with trained weights of the SPEC network
   on a 3840 x 2160 photo by `benchmarks/inference.py`).
3. **Streaming.** Tile rows are processed top to bottom; the rows that no
   later tile touches are converted to the output type at once, so the
   process holds the input, the output, one band of float32 sums and one
   tile's activations, never a float copy of a whole large photo.
"""

import os
import weakref

import numpy as np
from PIL import Image

from keras_attn_deblur.inference import int8
from keras_attn_deblur.inference.precision import choose_precision
from keras_attn_deblur.inference.progress import ProgressLine
from keras_attn_deblur.hub import safety
from keras_attn_deblur.inference.tiling import DEFAULT_TILE_OVERLAP
from keras_attn_deblur.inference.tiling import activation_bytes_per_pixel
from keras_attn_deblur.inference.tiling import axis_weights
from keras_attn_deblur.inference.tiling import check_tiling_options
from keras_attn_deblur.inference.tiling import reflect
from keras_attn_deblur.inference.tiling import tile_grid
from keras_attn_deblur.io import png16
from keras_attn_deblur.io.convert import INTEGER_MAXIMA
from keras_attn_deblur.io.convert import from_float
from keras_attn_deblur.io.convert import maximum_of
from keras_attn_deblur.io.decode import image_samples
from keras_attn_deblur.io.decode import load_image_samples
from keras_attn_deblur.io.encode import to_pil
from keras_attn_deblur.models.precision import PRECISION_POLICIES
from keras_attn_deblur.models.precision import with_dtype

_FLOAT_DTYPES = (np.dtype("float16"), np.dtype("float32"), np.dtype("float64"))
# The `precision` values of `Deblurrer`: float16 is for GPUs and training only.
_PRECISIONS = ("auto", None, "float32", "bfloat16", "mixed_bfloat16", "int8")
# With `progress=True`, an image shows the progress line of its tiles once it
# has taken this long.
PROGRESS_AFTER_SECONDS = 3.0
# Identity, horizontal, vertical, both: (flip rows, flip columns).
_FLIPS = ((False, False), (False, True), (True, False), (True, True))

# model -> {policy: the model rebuilt under that policy}; see `_model_for_precision`.
_PRECISION_MODELS = weakref.WeakKeyDictionary()


class Deblurrer:
    """Restores blurry photos of any size with a model; returns the same kind, size and mode.

    The options are checked once, here, and the network to run is chosen
    once: the model, or a cached copy rebuilt under `precision`'s dtype
    policy, whose weights are refreshed from the model's for every image
    (milliseconds), so training in between is seen. Calling the `Deblurrer`
    restores one image (see `__call__`). `deblur(model, image, **options)`
    is `Deblurrer(model, **options)(image)`.

    Args:
        model: `keras.Model`. A deblurring network taking float RGB in
            `[0, 1]`, e.g. `AttnDeblurNet.from_pretrained(...)`.
        tile_size: int or `None`. Largest tile side in pixels (rounded down
            to a multiple of 16, more than `2 * tile_overlap`). Tiles still
            fit `memory_budget_mb`: a `tile_size` whose tiles would need more
            is lowered for that image, with a warning naming the memory it
            would take (raise `memory_budget_mb` to allow it). Defaults to
            `None`: the whole image when it fits `memory_budget_mb`, else
            the cheapest grid of tiles that fit.
        tile_overlap: int. Least overlap of neighbouring tiles, in pixels;
            the border is reflect-padded by half of it. From
            `model.receptive_field()[1]` (190 for `AttnDeblurNet()`) tiles
            equal the whole-image output away from the seams up to float
            rounding; the default already stays within 1/255 everywhere.
            Defaults to `32`.
        precision: `"auto"`, `None`, `"float32"`, `"bfloat16"` or
            `"int8"`. Run a
            copy of the model rebuilt with the `"float32"` or
            `"mixed_bfloat16"` dtype policy and the same weights (built once
            per model, then cached). `None` runs the model as it is.
            `"auto"` chooses once, here, the faster of the two for this
            machine without going below the model's own precision (see
            `choose_precision`): a model that computes in bfloat16 (the
            bundled weights do) runs in bfloat16 where the CPU has AMX or
            the GPU computes it natively (compute capability 8.0 and
            later, TPUs); on a CPU with int8 dot-product units (AVX-512
            VNNI, AVX-VNNI, AMX-INT8) and no AMX, in its int8 build when
            it has one (the bundled weights do: 2.5x float32 and 1.4x
            bfloat16 on AVX-512 BF16 + VNNI, within the fidelity gate);
            else in bfloat16 with AVX-512 BF16, and in float32 elsewhere,
            where bfloat16 is emulated and no faster (within 10% on an
            AVX2-only CPU, measured) but less precise. A float32 model
            stays float32. `"int8"` runs the int8 build of the model's
            weights (`int8_model`, or the one shipped with the bundled
            weights) through ONNX Runtime, tiled like the others.
            `precision_choice` says what was chosen and why. Defaults to
            `"auto"`.
        int8_model: str, path or `None`. The int8 build to run with
            `precision="int8"`, written by `attn-deblur export
            M.int8.onnx --model M --quantize int8`; it must be of the
            model's weights; other precisions ignore it. Defaults to
            `None`: the build shipped with the bundled weights.
        ensemble: bool. Flip self-ensemble: restore the image as it is,
            flipped left-right, upside down, and both, flip the results back
            and average them; 4 times the compute. Defaults to `False`.
        memory_budget_mb: float or `None`. Activation memory allowed for one
            prediction, in MiB, with or without a `tile_size`. Defaults to
            `None` (`DEFAULT_MEMORY_BUDGET_MB`, 2,048).
        batch_size: int. Tiles (and flips) predicted together. Defaults to
            `1`.
        progress: bool. Once an image has taken `PROGRESS_AFTER_SECONDS`
            (3 s), show the progress of its tiles with the time left on
            stderr: one line rewritten in place on a terminal (erased when
            the image is done), plain lines, about 20 per image, in a log.
            A callable instead is called as `progress(done, total)` after
            every prediction of every image (`done` tiles or flipped tiles
            of `total`), with nothing shown on stderr: how a page or a
            notebook shows its own progress (the demo's progress bar).
            Defaults to `False`.

    Raises:
        TypeError: `model` is not a Keras model.
        ValueError: an option is out of range (naming it), or the model's
            weights are not all finite (a diverged training run).

    Example:
    ```python
    from keras_attn_deblur import AttnDeblurNet, Deblurrer

    deblurrer = Deblurrer(AttnDeblurNet.from_pretrained("org/attn-deblur"), ensemble=True)
    photo = deblurrer("IMG_0042.jpg")  # a PIL image
    restored = deblurrer(blurry_uint8_array)  # a uint8 array
    ```
    """

    def __init__(
        self,
        model,
        *,
        tile_size=None,
        tile_overlap=DEFAULT_TILE_OVERLAP,
        precision="auto",
        ensemble=False,
        memory_budget_mb=None,
        batch_size=1,
        progress=False,
        int8_model=None,
    ):
        if not hasattr(model, "predict_on_batch"):
            raise TypeError(
                "`model` must be a Keras model, e.g. AttnDeblurNet.from_preset('patent'). "
                f"Received: model of type {type(model).__name__}"
            )
        if precision not in _PRECISIONS:
            raise ValueError(
                f"`precision` must be one of {list(_PRECISIONS)}. Received: precision={precision!r}"
            )
        if not isinstance(ensemble, bool):
            raise ValueError(f"`ensemble` must be True or False. Received: ensemble={ensemble!r}")
        if not (isinstance(progress, bool) or callable(progress)):
            raise ValueError(
                "`progress` must be True, False or a callable `progress(done, total)`. "
                f"Received: progress={progress!r}"
            )
        check_tiling_options(tile_size, tile_overlap, memory_budget_mb, batch_size)
        safety.check_finite_model(
            model, f"the model '{model.name}'", refusing="to restore images with it"
        )
        self.model = model
        self.tile_size = tile_size
        self.tile_overlap = tile_overlap
        self.precision = precision
        self.ensemble = ensemble
        self.memory_budget_mb = memory_budget_mb
        self.batch_size = batch_size
        self.progress = progress
        self.int8_model = int8_model
        if precision == "auto":
            self._run_precision, reason = choose_precision(model, int8_model)
            reason = f"auto: {reason}"
        else:
            self._run_precision = precision
            reason = "the model's own" if precision is None else f"precision={precision!r}"
        if self._run_precision == "int8":
            build = int8.find_int8_build(model, int8_model)
            if build is None:
                raise ValueError(
                    f"precision='int8' needs an int8 build of the model '{model.name}', and "
                    "only the bundled weights ship with one. Build it with `attn-deblur export "
                    "M.int8.onnx --model M --quantize int8` and pass int8_model='M.int8.onnx' "
                    "(--int8-model)."
                )
            self.network = int8.Int8Network(build)
            computes = "int8"
        else:
            self.network = _model_for_precision(model, self._run_precision)
            computes = self.network.dtype_policy.compute_dtype
        #: What the network computes in and why, e.g. "float32 (auto: ...)".
        self.precision_choice = f"{computes} ({reason})"
        self._flips = _FLIPS if ensemble else _FLIPS[:1]
        self._bytes_per_tile_pixel = activation_bytes_per_pixel(model) * batch_size

    def options(self):
        """The options as a dict of keyword arguments (`Deblurrer(model, **options)`)."""
        return {
            "tile_size": self.tile_size,
            "tile_overlap": self.tile_overlap,
            "precision": self.precision,
            "ensemble": self.ensemble,
            "memory_budget_mb": self.memory_budget_mb,
            "batch_size": self.batch_size,
            "progress": self.progress,
            "int8_model": self.int8_model,
        }

    def __repr__(self):
        options = ", ".join(f"{key}={value!r}" for key, value in self.options().items())
        return f"Deblurrer({self.model.name!r}, {options})"

    def plan(self, height, width):
        """The `TilePlan` of an image of this size (see `tiling.plan_tiles`)."""
        return tile_grid(
            height,
            width,
            tile_size=self.tile_size,
            tile_overlap=self.tile_overlap,
            memory_budget_mb=self.memory_budget_mb,
            bytes_per_tile_pixel=self._bytes_per_tile_pixel,
        )

    def __call__(self, image):
        """Restores one image; returns the same kind, size and mode.

        The output is clamped to `[0, 1]` and rounded back to the input's
        integer type (`np.rint`).

        - A NumPy array `(H, W)`, `(H, W, 1)`, `(H, W, 3)` or `(H, W, 4)` of
          uint8, uint16 or float in `[0, 1]` gives an array of the same
          shape and dtype.
        - A `PIL.Image` (`L`, `LA`, `RGB`, `RGBA`, `I;16`, `I`, `CMYK`, ...)
          gives a `PIL.Image` of the same size and mode (`1` gives `L`, `P`
          gives `RGB` or `RGBA`), carrying its `info` (ICC profile, EXIF,
          dpi).
        - A file path gives a `PIL.Image` in the file's mode after the EXIF
          orientation (16-bit grayscale as `I;16`), with the file's ICC
          profile and EXIF (orientation reset to 1) in `info`; a 16-bit
          *colour* PNG, which Pillow cannot hold, gives a uint16 array
          `(H, W, 3 or 4)`.

        Grayscale runs through the network as three identical channels, and
        the three outputs are averaged back to one. Alpha is passed through
        untouched.

        Args:
            image: str, path-like, `PIL.Image.Image` or NumPy array. The
                blurry image.

        Returns:
            The restored image, as described above.

        Raises:
            ImageReadError: `image` is a path that is missing, empty, not an
                image, truncated, or over Pillow's decompression-bomb limit
                (one line, naming the file and the fix).
            ValueError: an array of another shape or dtype, float values
                outside `[0, 1]`, or a network output that is not finite
                (NaN or inf; naming the image), never written as black.
        """
        if isinstance(image, (str, os.PathLike)):
            samples, mode, info = load_image_samples(image)
            restored = self.restore_samples(samples, name=os.path.basename(os.fspath(image)))
            if mode in png16.SIXTEEN_BIT_COLOUR_MODES.values():
                return restored
            return to_pil(restored, mode, info)
        if isinstance(image, Image.Image):
            samples, mode, info = _pil_samples(image)
            return to_pil(self.restore_samples(samples), mode, info)
        if isinstance(image, np.ndarray):
            return self.restore_samples(_checked_array(image))
        raise TypeError(
            "`image` must be a file path, a PIL image or a NumPy array. "
            f"Received: image of type {type(image).__name__}"
        )

    def restore_samples(self, samples, name=None):
        """Restores `(H, W)` or `(H, W, 1|2|3|4)` samples; same shape and dtype out.

        One or two channels are gray (+ alpha), three or four RGB (+ alpha).
        Alpha is copied untouched. `name` (a file name) labels the progress
        line; it defaults to the image size.
        """
        # The weights as they are now (a copy made under `precision` is refreshed);
        # an int8 build is of the weights it was built from.
        if self._run_precision != "int8":
            self.network = _model_for_precision(self.model, self._run_precision)
        squeeze = samples.ndim == 2
        if squeeze:
            samples = samples[:, :, None]
        channels = samples.shape[-1]
        colour_channels = 1 if channels in (1, 2) else 3
        restored = np.empty_like(samples)
        if channels in (2, 4):
            restored[:, :, -1] = samples[:, :, -1]
        label = name or f"{samples.shape[1]}x{samples.shape[0]}"
        try:
            self._run_tiles(samples[:, :, :colour_channels], restored[:, :, :colour_channels], label)
        except _NonFiniteOutputError:
            image = f"'{name}'" if name else f"the {label} image"
            raise ValueError(
                f"The model returned NaN or infinite values for {image}, so the restored "
                "image would be black or blotched: its computation overflowed or its weights "
                "are no longer finite. Try precision='float32' (--precision float32), or "
                "another model."
            ) from None
        return restored[:, :, 0] if squeeze else restored

    def _predict(self, batch):
        outputs = np.asarray(self.network.predict_on_batch(batch), dtype=np.float32)
        if not np.isfinite(outputs).all():
            raise _NonFiniteOutputError
        return outputs

    def _run_tiles(self, colour, restored, name):
        """Fills `restored` (H, W, C) from `colour` (H, W, C), C = 1 (gray) or 3."""
        height, width, channels = colour.shape
        plan = self.plan(height, width)
        scale = maximum_of(colour.dtype)
        margin = plan.margin
        tile_shape = (plan.tile_height, plan.tile_width, 3)
        row_weights = axis_weights(
            plan.row_starts, plan.tile_height, plan.padded_height, plan.overlap
        )
        column_weights = axis_weights(
            plan.column_starts, plan.tile_width, plan.padded_width, plan.overlap
        )
        column_indices = [
            reflect(np.arange(start, start + plan.tile_width) - margin, width)
            for start in plan.column_starts
        ]
        work = [(column, flip) for column in range(len(plan.column_starts)) for flip in self._flips]
        # Preallocated, reused buffers: the network's input batch, one weighted
        # output, and the sums of weighted outputs for padded rows
        # band_top:band_top + tile_height.
        batch = np.empty((min(self.batch_size, len(work)),) + tile_shape, np.float32)
        weighted = np.empty(tile_shape, np.float32)
        band = np.zeros((plan.tile_height, plan.padded_width, 3), np.float32)
        unit = "tile" if len(self._flips) == 1 else "flipped tile"
        # One prediction has no progress to show: only its end.
        predictions = len(plan.row_starts) * len(work)
        report = self.progress if callable(self.progress) else None
        progress = ProgressLine(
            predictions, f"deblur {name}: {unit}",
            enabled=self.progress is True and predictions > 1,
            after_seconds=PROGRESS_AFTER_SECONDS, transient=True,
        )  # fmt: skip
        for row, band_top in enumerate(plan.row_starts):
            row_indices = np.arange(band_top, band_top + plan.tile_height) - margin
            rows = colour[reflect(row_indices, height)]
            for first in range(0, len(work), self.batch_size):
                chunk = work[first : first + self.batch_size]
                for index, (column, flip) in enumerate(chunk):
                    tile = _flip(rows[:, column_indices[column]], flip)
                    np.multiply(tile, np.float32(1.0 / scale), out=batch[index], casting="unsafe")
                outputs = self._predict(batch[: len(chunk)])
                progress.update(count=len(chunk))
                if report is not None:
                    report(progress.done, predictions)
                for (column, flip), output in zip(chunk, outputs):
                    weight = np.outer(row_weights[row], column_weights[column])
                    weight *= np.float32(1.0 / len(self._flips))
                    np.multiply(_flip(output, flip), weight[:, :, None], out=weighted)
                    left = plan.column_starts[column]
                    band[:, left : left + plan.tile_width] += weighted
            # Rows above the next tile row are final: convert and store them.
            last = row == len(plan.row_starts) - 1
            next_top = plan.padded_height if last else plan.row_starts[row + 1]
            first_row = max(band_top - margin, 0)
            end_row = min(next_top - margin, height)
            if end_row > first_row:
                finished = band[first_row + margin - band_top : end_row + margin - band_top,
                                margin : margin + width]  # fmt: skip
                if channels == 1:
                    finished = finished.mean(axis=-1, keepdims=True)
                restored[first_row:end_row] = from_float(finished, restored.dtype)
            if not last:
                carried = next_top - band_top
                band[: plan.tile_height - carried] = band[carried:]
                band[plan.tile_height - carried :] = 0.0
        progress.close()


class _NonFiniteOutputError(ValueError):
    """The network returned NaN or inf; `restore_samples` names the image."""


def _model_for_precision(model, precision):
    """`model`, or a cached copy rebuilt under `precision`'s policy with its weights.

    The copy is built once per model and policy; its weights are copied from
    `model` on every call (a plain array copy, milliseconds), so weights
    changed after the first call are used too.
    """
    policy = PRECISION_POLICIES[precision]
    if policy is None or model.dtype_policy.name == policy:
        return model
    copies = _PRECISION_MODELS.setdefault(model, {})
    if policy not in copies:
        copies[policy] = with_dtype(model, policy)
    else:
        copies[policy].set_weights(model.get_weights())
    return copies[policy]


def _flip(tile, flip):
    flip_rows, flip_columns = flip
    if flip_rows:
        tile = tile[::-1]
    if flip_columns:
        tile = tile[:, ::-1]
    return tile


def _checked_array(array):
    if array.dtype not in INTEGER_MAXIMA and array.dtype not in _FLOAT_DTYPES:
        raise ValueError(
            "deblur() takes uint8, uint16 or float (values in [0, 1]) arrays. "
            f"Received: dtype={array.dtype}"
        )
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (1, 3, 4))):
        raise ValueError(
            "deblur() takes arrays of shape (height, width) or (height, width, C) "
            f"with C = 1 (gray), 3 (RGB) or 4 (RGBA). Received: shape={array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            "deblur() needs an image at least 1 pixel high and wide. "
            f"Received: shape={array.shape}"
        )
    if array.dtype in _FLOAT_DTYPES:
        colour = array if array.ndim == 2 or array.shape[-1] != 4 else array[:, :, :3]
        low, high = float(np.min(colour)), float(np.max(colour))
        if not (0.0 <= low and high <= 1.0):
            hint = " (it looks like 0-255 values: divide by 255)" if high > 1.0 else ""
            raise ValueError(
                "deblur() takes float images with values in [0, 1]; this one ranges from "
                f"{low:g} to {high:g}{hint}. Received: dtype={array.dtype}, shape={array.shape}"
            )
    return array


def _pil_samples(image):
    """`(samples, mode, info)` of a PIL image, as `load_image_samples` gives them for a file."""
    try:
        samples, mode = image_samples(image)
    except ValueError as error:
        raise ValueError(
            f"deblur() cannot restore this PIL image: it {error}. Received: mode={image.mode!r}"
        ) from error
    if image.mode == "I":
        mode = "I"
    info = {key: image.info[key] for key in ("icc_profile", "exif", "dpi") if key in image.info}
    return samples, mode, info


def deblur(model, image, **options):
    """Restores a blurry photo of any size; returns the same kind, size and mode.

    `Deblurrer(model, **options)(image)`: see `Deblurrer` for the options
    and `Deblurrer.__call__` for what comes back for arrays, PIL images and
    file paths. To restore many images with one set of options, make the
    `Deblurrer` once and call it.

    Args:
        model: `keras.Model` (or a `Deblurrer`, then without options). The
            deblurring network, e.g. `AttnDeblurNet.from_pretrained(...)`.
        image: str, path-like, `PIL.Image.Image` or NumPy array. The blurry
            image.
        **options: `tile_size`, `tile_overlap`, `precision`, `ensemble`,
            `memory_budget_mb`, `batch_size`, `progress` (see `Deblurrer`).

    Returns:
        The restored image.

    Example:
    ```python
    from keras_attn_deblur import AttnDeblurNet
    from keras_attn_deblur.inference import deblur

    model = AttnDeblurNet.from_pretrained("org/attn-deblur")
    photo = deblur(model, "IMG_0042.jpg", precision="bfloat16")  # a PIL image
    restored = deblur(model, blurry_uint8_array, ensemble=True)  # a uint8 array
    ```
    """
    return as_deblurrer(model, options)(image)


def as_deblurrer(model, options):
    """`model` if it is a `Deblurrer` (and `options` is empty), else a `Deblurrer` of it."""
    if isinstance(model, Deblurrer):
        if options:
            raise TypeError(
                "Pass the options to Deblurrer(...), not along with a Deblurrer. "
                f"Received: {sorted(options)}"
            )
        return model
    return Deblurrer(model, **options)
