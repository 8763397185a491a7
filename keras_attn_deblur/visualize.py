"""Pictures: before/after comparisons and attention-map overlays.

```python
from keras_attn_deblur import visualize
from keras_attn_deblur.inference import deblur

restored = deblur(model, blurry)
visualize.side_by_side(blurry, restored, sharp, path="comparison.png")
visualize.attention_overlay(model, blurry, path="attention.png")
```

- `side_by_side`: blurry | restored | sharp (when given), each caption with
  the PSNR and SSIM against the sharp image, scored as `evaluation` does
  (8-bit quantised, PSNR peak 255, per-channel Gaussian SSIM), and zoomed
  crops below: by default where the restored image differs most from the
  blurry one, i.e. where the network changed the most.
- `attention_overlay`: the spatial attention weights of chosen blocks (by
  default the last block of each stage) as heat maps over the photo, one
  panel per block, on one colour scale: where each stage of the network
  applies its correction, i.e. where it sees blur.

Both return a `matplotlib.figure.Figure` (no pyplot state is touched, so
they work in scripts, servers and notebooks alike) and, given `path`, write
it atomically (a temporary file renamed into place). Matplotlib is an
optional dependency: `pip install "keras-attn-deblur[viz]"`.
"""

import math
import os

import numpy as np
from PIL import Image

from keras_attn_deblur import evaluation
from keras_attn_deblur._utils.paths import check_output_folder
from keras_attn_deblur._utils.paths import write_atomically
from keras_attn_deblur.io.convert import to_float_rgb
from keras_attn_deblur.io.decode import load_image

# Colours of the zoom boxes, in order (matplotlib's tab10).
_BOX_COLORS = ("#ff7f0e", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#17becf")
_PANEL_INCHES = 4.5


def side_by_side(
    blurry,
    restored,
    sharp=None,
    *,
    zoom_boxes="auto",
    num_zooms=2,
    zoom_size=None,
    titles=("blurry", "restored", "sharp"),
    path=None,
    dpi=100,
):
    """A figure: blurry | restored | sharp, scores in the captions, zoomed crops below.

    Each caption of the blurry and restored panels holds the image's PSNR
    (peak 255) and SSIM (per-channel Gaussian, `variant="gaussian"`) against
    `sharp`, computed by `evaluation.score` on 8-bit quantised images: the
    numbers `attn-deblur evaluate` reports for the same pair. Under each
    panel, its zoomed crops sit side by side: nearest-neighbour enlargements
    of the same boxes in every panel, framed in the colours of the boxes
    drawn on the full images.

    Args:
        blurry: the blurry image: a path, a PIL image, or an `(H, W, 3)`
            array (float in `[0, 1]`, or `uint8`).
        restored: the restored image, same kinds and size.
        sharp: the sharp reference, same kinds and size. Defaults to `None`
            (two panels, no scores).
        zoom_boxes: `"auto"`, `None` (no crops) or a sequence of `(top, left,
            height, width)` boxes in pixels. `"auto"` picks `num_zooms`
            non-overlapping square boxes of `zoom_size` where `|restored -
            blurry|` summed over the box is largest. Defaults to `"auto"`.
        num_zooms: int. Number of automatic boxes. Defaults to `2`.
        zoom_size: int. Side of the automatic boxes. Defaults to `None`:
            a quarter of the shorter image side (at least 16 pixels).
        titles: tuple of 3 str. Panel names. Defaults to `("blurry",
            "restored", "sharp")`.
        path: str or path. Write the figure there (PNG, JPEG, PDF or SVG,
            from the suffix). Defaults to `None`.
        dpi: int. Resolution of the written file. Defaults to `100`.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:

    ```python
    from keras_attn_deblur import visualize

    figure = visualize.side_by_side("blurry.png", restored, "sharp.png",
                                    path="comparison.png")
    ```
    """
    Figure = _import_matplotlib()
    images = [_as_rgb(blurry, "blurry"), _as_rgb(restored, "restored")]
    if sharp is not None:
        images.append(_as_rgb(sharp, "sharp"))
    shapes = {image.shape for image in images}
    if len(shapes) != 1:
        raise ValueError(
            "The blurry, restored and sharp images must have one size. Received: "
            f"shapes {[image.shape for image in images]}"
        )
    height, width = images[0].shape[:2]
    boxes = _zoom_boxes(zoom_boxes, images[0], images[1], num_zooms, zoom_size)

    captions = [titles[0], titles[1]]
    if sharp is not None:
        sharp_8bit = evaluation.quantize(images[2])
        for index in (0, 1):
            captions[index] += "\n" + _score_text(sharp_8bit, evaluation.quantize(images[index]))
        captions.append(f"{titles[2]}\n(reference)")

    columns = len(images)
    # Below each panel, its zoomed crops side by side, each 1/len(boxes) wide.
    main_height = _PANEL_INCHES * height / width
    crop_height = max(
        (_PANEL_INCHES / len(boxes) * box[2] / box[3] for box in boxes), default=0.0
    )
    row_heights = [main_height] + ([crop_height] if boxes else [])
    figure = Figure(
        figsize=(_PANEL_INCHES * columns, sum(row_heights) + 0.7 + 0.35 * bool(boxes)),
        layout="constrained",
    )
    grid = figure.add_gridspec(len(row_heights), columns, height_ratios=row_heights)
    from matplotlib.patches import Rectangle

    for column, (image, caption) in enumerate(zip(images, captions)):
        axis = figure.add_subplot(grid[0, column])
        axis.imshow(image, interpolation="antialiased")
        axis.set_title(caption, fontsize=11)
        _no_ticks(axis)
        for index, (top, left, box_height, box_width) in enumerate(boxes):
            color = _BOX_COLORS[index % len(_BOX_COLORS)]
            axis.add_patch(
                Rectangle((left - 0.5, top - 0.5), box_width, box_height,
                          fill=False, edgecolor=color, linewidth=2)
            )
        if not boxes:
            continue
        crop_grid = grid[1, column].subgridspec(1, len(boxes))
        for index, (top, left, box_height, box_width) in enumerate(boxes):
            crop_axis = figure.add_subplot(crop_grid[0, index])
            crop_axis.imshow(
                image[top : top + box_height, left : left + box_width], interpolation="nearest"
            )
            color = _BOX_COLORS[index % len(_BOX_COLORS)]
            for spine in crop_axis.spines.values():
                spine.set_edgecolor(color)
                spine.set_linewidth(3)
            crop_axis.set_title(
                f"zoom {index + 1}: y {top}-{top + box_height - 1}, "
                f"x {left}-{left + box_width - 1}",
                fontsize=8,
            )
            _no_ticks(crop_axis)
    if path is not None:
        save_figure(figure, path, dpi=dpi)
    return figure


def attention_overlay(
    model,
    image,
    *,
    block_names=None,
    alpha=0.6,
    cmap="inferno",
    value_range="per_panel",
    path=None,
    dpi=100,
):
    """Heat maps of the spatial attention weights over the photo, one panel per block.

    Runs `model.attention_model(block_names)` on the image, crops each map to
    the image's extent (the model reflect-pads the bottom and right edges
    to a multiple of 4), resizes it bilinearly to the image size and draws
    it over a grey copy of the photo, with a colour bar (see
    `value_range`). A block's weight `w` in (0, 1) multiplies its
    correction at each pixel (`output = shortcut(x) + w * features`), so
    bright regions are where that stage of the network acts: where it sees
    blur.

    Args:
        model: `AttnDeblurNet` (any model with `attention_model` and
            `attention_block_names`).
        image: the blurry photo: a path, a PIL image or an `(H, W, 3)`
            array (float in `[0, 1]`, or `uint8`).
        block_names: list of str. The blocks to show, e.g. `["enc1_attn1",
            "dec1_attn3"]`. Defaults to `None`: the last block of each
            stage (`enc1` ... `dec1`), six panels.
        alpha: float. Opacity of the heat map. Defaults to `0.6`.
        cmap: str. Matplotlib colour map. Defaults to `"inferno"`.
        value_range: `"per_panel"`, `"shared"` or `(low, high)`. The
            colour scale: each panel from its own smallest to largest weight
            with its own colour bar (shows *where* within each block; read
            the bars to compare blocks), one scale from the smallest to the
            largest weight of all panels, or fixed bounds (`(0, 1)`: the
            whole range of a sigmoid). The last two draw one colour bar.
            Defaults to `"per_panel"`.
        path: str or path. Write the figure there. Defaults to `None`.
        dpi: int. Resolution of the written file. Defaults to `100`.

    Returns:
        A `matplotlib.figure.Figure`.

    Example:

    ```python
    from keras_attn_deblur import visualize

    visualize.attention_overlay(model, "blurry.jpg", path="attention.png")
    visualize.attention_overlay(model, "blurry.jpg", block_names=["enc1_attn1"])
    ```
    """
    Figure = _import_matplotlib()
    names = default_attention_blocks(model) if block_names is None else list(block_names)
    if not names:
        raise ValueError(
            "`block_names` is empty: name at least one attention block, e.g. "
            f"{default_attention_blocks(model)[:2]}, or pass None for one per stage."
        )
    maps = attention_maps(model, image, block_names=names)
    photo = _as_rgb(image, "image")
    height, width = photo.shape[:2]
    gray = photo @ np.array([0.299, 0.587, 0.114], dtype="float32")
    ranges = _attention_ranges(maps, value_range)
    stage_titles = {stage[0]: stage[1] for stage in getattr(model, "stages", ())}

    panels = 1 + len(names)
    columns = min(panels, 4)
    rows = math.ceil(panels / columns)
    panel_height = _PANEL_INCHES * height / width
    figure = Figure(
        figsize=(_PANEL_INCHES * columns + 1.0, (panel_height + 0.6) * rows + 0.6),
        layout="constrained",
    )
    axes = figure.subplots(rows, columns, squeeze=False)
    axes[0][0].imshow(photo)
    axes[0][0].set_title("input", fontsize=11)
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    scales = []
    for index, name in enumerate(names, start=1):
        axis = axes[index // columns][index % columns]
        low, high = ranges[name]
        axis.imshow(gray, cmap="gray", vmin=0.0, vmax=1.0)
        axis.imshow(maps[name], cmap=cmap, vmin=low, vmax=high, alpha=alpha)
        stage = name.split("_")[0]
        axis.set_title(f"{name} ({stage_titles.get(stage, stage)})", fontsize=10)
        # Opaque colour bars: the overlays' transparency would wash them out.
        scales.append((axis, ScalarMappable(norm=Normalize(vmin=low, vmax=high), cmap=cmap)))
    for index, axis in enumerate(axes.flat):
        axis.set_xticks([])
        axis.set_yticks([])
        if index >= panels:
            axis.set_visible(False)
    label = "attention weight (0: block off, 1: full correction)"
    if value_range == "per_panel":
        for axis, scale in scales:
            figure.colorbar(scale, ax=axis, shrink=0.9, pad=0.01).ax.tick_params(labelsize=8)
        figure.text(0.5, 0.005, f"colour: {label}; each panel has its own scale",
                    ha="center", va="bottom", fontsize=10)
    else:
        colorbar = figure.colorbar(scales[-1][1], ax=axes.ravel().tolist(), shrink=0.8)
        colorbar.set_label(label)
    figure.suptitle("Spatial attention: where each stage of the network acts", fontsize=13)
    if path is not None:
        save_figure(figure, path, dpi=dpi)
    return figure


def attention_maps(model, image, *, block_names=None):
    """The attention maps of `block_names` at the image's size, as NumPy arrays.

    Each map, computed at its stage's resolution of the padded input, is
    resized bilinearly (half-pixel centres) to the padded size and cropped
    to the image, so pixel `(i, j)` of a map belongs to pixel `(i, j)` of the
    photo.

    Args:
        model: `AttnDeblurNet`.
        image: a path, a PIL image or an `(H, W, 3)` array.
        block_names: list of str. Defaults to `None`: the last block of each
            stage.

    Returns:
        A dict `{block_name: float32 array (H, W)}` in graph order.
    """
    names = default_attention_blocks(model) if block_names is None else list(block_names)
    photo = _as_rgb(image, "image")
    height, width = photo.shape[:2]
    outputs = model.attention_model(names)(photo[None], training=False)
    multiple = model.pad_multiple
    padded_height = -(-height // multiple) * multiple
    padded_width = -(-width // multiple) * multiple
    maps = {}
    for name in names:
        weights = np.asarray(outputs[name], dtype="float32")[0, :, :, 0]
        resized = Image.fromarray(np.ascontiguousarray(weights)).resize(
            (padded_width, padded_height), Image.BILINEAR
        )
        maps[name] = np.asarray(resized, dtype="float32")[:height, :width]
    return maps


def default_attention_blocks(model):
    """The last attention block of each stage, in graph order (six names)."""
    names = list(model.attention_block_names)
    last = {}
    for name in names:
        last[name.split("_")[0]] = name
    return [name for name in names if last[name.split("_")[0]] == name]


def save_figure(figure, path, *, dpi=100):
    """Saves a figure atomically: a temporary file next to `path`, renamed into place."""
    path = os.fspath(path)
    check_output_folder(path)
    file_format = (os.path.splitext(path)[1].lstrip(".") or "png").lower()
    return write_atomically(
        path, lambda file: figure.savefig(file, dpi=dpi, format=file_format)
    )


# === Helpers ===


def _attention_ranges(maps, value_range):
    """`{name: (low, high)}`: the colour scale of each panel."""
    def widened(low, high):
        return (low - 0.5e-6, high + 0.5e-6) if high - low < 1e-6 else (low, high)

    if isinstance(value_range, str):
        if value_range == "per_panel":
            return {
                name: widened(float(weights.min()), float(weights.max()))
                for name, weights in maps.items()
            }
        if value_range == "shared":
            low = min(float(weights.min()) for weights in maps.values())
            high = max(float(weights.max()) for weights in maps.values())
            return {name: widened(low, high) for name in maps}
    elif (
        isinstance(value_range, (tuple, list))
        and len(value_range) == 2
        and float(value_range[0]) < float(value_range[1])
    ):
        return {name: (float(value_range[0]), float(value_range[1])) for name in maps}
    raise ValueError(
        "`value_range` must be 'per_panel', 'shared' or (low, high) with low < high. "
        f"Received: value_range={value_range!r}"
    )


def _no_ticks(axis):
    axis.set_xticks([])
    axis.set_yticks([])


def _import_matplotlib():
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "Pictures need matplotlib, which is not installed. Install it with "
            '`pip install "keras-attn-deblur[viz]"`.'
        ) from error
    return Figure


def _as_rgb(image, role):
    """A path, PIL image or array -> float32 (H, W, 3) in [0, 1]."""
    if isinstance(image, (str, os.PathLike)):
        return load_image(image)
    return to_float_rgb(image, role=role)


def _score_text(sharp_8bit, image_8bit):
    try:
        scores = evaluation.score(sharp_8bit, image_8bit)
    except ValueError:  # smaller than the SSIM window: PSNR only
        mse = np.mean((sharp_8bit.astype("float64") - image_8bit) ** 2)
        value = float("inf") if mse == 0 else 10 * math.log10(255.0**2 / mse)
        return f"PSNR {value:.2f} dB"
    return f"PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.4f}"


def _zoom_boxes(zoom_boxes, blurry, restored, num_zooms, zoom_size):
    height, width = blurry.shape[:2]
    if zoom_boxes is None:
        return []
    if isinstance(zoom_boxes, str):
        if zoom_boxes != "auto":
            raise ValueError(
                "`zoom_boxes` must be 'auto', None or a list of (top, left, height, "
                f"width) boxes. Received: zoom_boxes={zoom_boxes!r}"
            )
        return _auto_boxes(blurry, restored, num_zooms, zoom_size)
    boxes = []
    for box in zoom_boxes:
        if len(box) != 4 or any(int(value) != value for value in box):
            raise ValueError(
                f"Each zoom box must be 4 integers (top, left, height, width). Received: {box!r}"
            )
        top, left, box_height, box_width = (int(value) for value in box)
        if (top < 0 or left < 0 or box_height < 1 or box_width < 1
                or top + box_height > height or left + box_width > width):
            raise ValueError(
                f"Zoom box {tuple(box)} (top, left, height, width) does not fit in the "
                f"{height}x{width} image."
            )
        boxes.append((top, left, box_height, box_width))
    return boxes


def _auto_boxes(blurry, restored, num_zooms, zoom_size):
    """Non-overlapping square boxes where |restored - blurry| sums highest."""
    height, width = blurry.shape[:2]
    if zoom_size is None:
        zoom_size = max(16, min(height, width) // 4)
    size = int(min(zoom_size, height, width))
    change = np.abs(restored - blurry).mean(axis=-1).astype("float64")
    # Box sums of every size x size window from an integral image.
    integral = np.pad(change.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    sums = (integral[size:, size:] - integral[:-size, size:]
            - integral[size:, :-size] + integral[:-size, :-size])
    boxes = []
    for _ in range(num_zooms):
        if not np.isfinite(sums).any():
            break
        top, left = np.unravel_index(np.argmax(sums), sums.shape)
        boxes.append((int(top), int(left), size, size))
        # No later box may overlap this one.
        sums[max(0, top - size + 1) : top + size, max(0, left - size + 1) : left + size] = -np.inf
    return boxes
