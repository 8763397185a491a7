"""
Title: What the training blur looks like: a contact sheet
Description: Blurs a few sharp photos with the package's synthetic motion blur
(uniform camera shake, smoothly varying shake, an object moving over the
background) and averages real 240 fps video frames the way the GoPro dataset
was made, then saves them side by side with the blur kernels as insets.

How to run:
    python examples/make_contact_sheet.py       # the picture of docs/guides/train.md, in docs/images/
    python examples/make_contact_sheet.py --photos a.jpg b.png --output /tmp/sheet.jpg
    python examples/make_contact_sheet.py --size 300 --gopro none    # no video row

By default the photos are CC0 Lomiri wallpapers from `../shared/data/train_photos`
(scikit-image's CC0 samples when that folder is absent), and the video row uses
frames of GoPro sequence GOPR0477_11_00 from `../shared/data` when present.
Each row is one photo; the columns are the sharp photo, a uniform camera shake,
a blur that varies smoothly over the frame (the inset colours the region each
kernel dominates) and an object moving differently from the background (the
inset shows the object mask). All blurs are computed in linear light.
"""

import argparse
import glob
import os

import numpy as np
from PIL import Image

from keras_attn_deblur.data import apply_crf
from keras_attn_deblur.data import average_frames
from keras_attn_deblur.data import blur_image
from keras_attn_deblur.data import camera_shake_kernel
from keras_attn_deblur.data import inverse_crf
from keras_attn_deblur.data import nonuniform_blur

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(ROOT, "..", "shared", "data")
DEFAULT_OUTPUT = os.path.join(
    ROOT, "docs", "images", "synthetic_blur_contact_sheet.jpg"
)
DEFAULT_GOPRO = os.path.join(SHARED_DATA, "gopro_GOPR0477_11_00", "frames")
# CC0 photos (Lomiri wallpapers in Debian); the author is in the file name.
DEFAULT_PHOTOS = (
    "debian/lomiri-wallpapers-16.04__friends_by_Aitzol_Berasategi.jpg",
    "debian/lomiri-wallpapers-16.04__Picture_1A_by_freespace.jpg",
    "debian/lomiri-wallpapers-16.04__Dragonfly_by_Bolly.jpg",
)
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea")
GOPRO_MIDDLE_FRAME = 250
MASK_COLOURS = np.array(
    [[0.95, 0.35, 0.2], [0.2, 0.6, 0.95], [0.95, 0.8, 0.15], [0.4, 0.85, 0.35]]
)
ASPECT = 2.0 / 3.0  # tile height / width


# ## Data: sharp photos and video frames


def load_photo(source, width):
    """A photo path or a scikit-image sample name, cropped to 3:2, in [0, 1]."""
    if os.path.exists(source):
        image = Image.open(source).convert("RGB")
    else:
        from skimage import data

        image = Image.fromarray(getattr(data, source)()).convert("RGB")
    return crop_and_resize(image, width)


def crop_and_resize(image, width):
    height = max(2, int(round(width * ASPECT)))
    source_width, source_height = image.size
    crop_width = min(source_width, int(source_height / ASPECT))
    crop_height = int(crop_width * ASPECT)
    left = (source_width - crop_width) // 2
    top = (source_height - crop_height) // 2
    image = image.crop((left, top, left + crop_width, top + crop_height))
    image = image.resize((width, height), Image.LANCZOS)
    return np.asarray(image, dtype="float32") / 255.0


def default_photos():
    photos_dir = os.path.join(SHARED_DATA, "train_photos")
    paths = [os.path.join(photos_dir, name) for name in DEFAULT_PHOTOS]
    if all(os.path.exists(path) for path in paths):
        return paths
    return list(SKIMAGE_PHOTOS)


def attribution(source):
    """'<title> by <author>' from a Lomiri file name, else a generic line."""
    name = os.path.splitext(os.path.basename(source))[0]
    if "lomiri" in name and "_by_" in name:
        title, author = name.split("__", 1)[1].split("_by_", 1)
        return f"'{title.replace('_', ' ')}' by {author.replace('_', ' ')} (CC0)"
    if not os.path.exists(source):
        return f"scikit-image '{source}' (CC0)"
    return name


# ## Blur: the three synthetic kinds and the frame average


def odd(value):
    value = max(3, int(round(value)))
    return value + 1 - value % 2


def in_linear_light(blur, sharp):
    """Runs `blur` on the linearised image and re-applies the gamma."""
    result = blur(inverse_crf(sharp))
    if isinstance(result, tuple):
        return (apply_crf(np.clip(result[0], 0, 1)),) + result[1:]
    return apply_crf(np.clip(result, 0, 1))


def synthetic_blurs(sharp, rng):
    width = sharp.shape[1]
    shake_size = odd(width / 14)
    shake = camera_shake_kernel(shake_size, rng, max_length=0.9 * (shake_size - 1))
    uniform = in_linear_light(lambda image: blur_image(image, shake), sharp)
    smooth = in_linear_light(
        lambda image: nonuniform_blur(
            image,
            rng,
            mode="smooth",
            kernel_size=odd(width / 8),
            num_kernels=3,
            mask_grid=2,
            mask_sharpness=8.0,
            return_details=True,
        ),
        sharp,
    )
    moving = in_linear_light(
        lambda image: nonuniform_blur(
            image,
            rng,
            mode="object",
            kernel_size=odd(width / 9),
            object_scale=(0.25, 0.35),
            object_length=(0.7, 1.0),
            background_length=(0.0, 0.2),
            return_details=True,
        ),
        sharp,
    )
    return (uniform, shake[None]), smooth, moving


def gopro_row(frames_dir, width, num_frames):
    """The middle frame and the linear / gamma averages of `num_frames` frames."""
    paths = sorted(glob.glob(os.path.join(frames_dir, "*.jpg"))) + sorted(
        glob.glob(os.path.join(frames_dir, "*.png"))
    )
    if len(paths) < num_frames:
        return None
    middle = min(
        max(GOPRO_MIDDLE_FRAME, num_frames // 2), len(paths) - 1 - num_frames // 2
    )
    window = paths[middle - num_frames // 2 : middle + num_frames // 2 + 1]
    frames = [
        crop_and_resize(Image.open(path).convert("RGB"), width) for path in window
    ]
    return (
        frames[num_frames // 2],
        average_frames(frames, space="linear"),
        average_frames(frames, space="gamma"),
        os.path.basename(window[num_frames // 2]),
    )


# ## Figure


def credits(photos, video):
    """The attribution line printed under the sheet."""
    lines = []
    if any("lomiri" in source for source in photos):
        lines.append("Photos: Lomiri wallpapers (Debian), CC0")
    if any(not os.path.exists(source) for source in photos):
        lines.append("scikit-image samples, CC0")
    if video is not None:
        lines.append("video frames: GoPro dataset, Nah et al. 2017, CC BY 4.0")
    return "; ".join(lines) + "." if lines else ""


def show_kernels(axis, kernels, colours=None):
    """Draws kernels as small insets along the top-right corner of `axis`."""
    inset = 0.2
    for index, kernel in enumerate(kernels[::-1]):
        position = [
            1 - (index + 1) * (inset + 0.01),
            1 - inset * 1.5 - 0.01,
            inset,
            inset * 1.5,
        ]
        kernel_axis = axis.inset_axes(position)
        kernel_axis.imshow(np.sqrt(kernel / kernel.max()), cmap="gray", vmin=0, vmax=1)
        kernel_axis.set_xticks([])
        kernel_axis.set_yticks([])
        colour = "white" if colours is None else colours[len(kernels) - 1 - index]
        for spine in kernel_axis.spines.values():
            spine.set_edgecolor(colour)
            spine.set_linewidth(2)


def show_masks(axis, masks):
    """A thumbnail of the masks (each kernel's colour) in the bottom-left corner."""
    coloured = np.clip(masks @ MASK_COLOURS[: masks.shape[-1]], 0, 1)
    mask_axis = axis.inset_axes([0.01, 0.01, 0.26, 0.26])
    mask_axis.imshow(coloured)
    mask_axis.set_xticks([])
    mask_axis.set_yticks([])
    for spine in mask_axis.spines.values():
        spine.set_edgecolor("white")


def make_sheet(photos, output, size, gopro_dir, num_frames, seed):
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt
    except ImportError as error:
        raise ImportError(
            "This example draws with matplotlib: `pip install matplotlib`."
        ) from error

    rng = np.random.default_rng(seed)
    rows = []
    for source in photos:
        sharp = load_photo(source, size)
        rows.append((source, sharp, synthetic_blurs(sharp, rng)))
    video = gopro_row(gopro_dir, size, num_frames) if gopro_dir else None

    num_rows = len(rows) + (video is not None)
    dpi = 100
    figure, axes = plt.subplots(
        num_rows,
        4,
        figsize=(4 * size / dpi + 0.3, num_rows * size * ASPECT / dpi + 0.75),
        dpi=dpi,
        squeeze=False,
    )
    font = max(5, min(11, size / 36))
    titles = (
        "sharp",
        "uniform camera shake",
        "smoothly varying shake (inset: regions)",
        "object moving over background (inset: mask)",
    )
    for column, title in enumerate(titles):
        axes[0, column].set_title(title, fontsize=font)
    for row, (source, sharp, blurs) in enumerate(rows):
        (
            (uniform, shake),
            (smooth, masks, kernels),
            (moving, object_masks, object_kernels),
        ) = blurs
        axes[row, 0].imshow(sharp)
        axes[row, 1].imshow(uniform)
        show_kernels(axes[row, 1], shake)
        axes[row, 2].imshow(smooth)
        show_kernels(axes[row, 2], kernels, colours=MASK_COLOURS[: len(kernels)])
        show_masks(axes[row, 2], masks)
        axes[row, 3].imshow(moving)
        show_kernels(axes[row, 3], object_kernels, colours=MASK_COLOURS[:2])
        show_masks(axes[row, 3], object_masks)
        axes[row, 0].set_ylabel(attribution(source), fontsize=font * 0.7)
    if video is not None:
        sharp, linear, gamma, name = video
        row = len(rows)
        axes[row, 0].imshow(sharp)
        axes[row, 0].set_xlabel(
            f"video: middle frame {name} (the sharp target)", fontsize=font
        )
        axes[row, 1].imshow(linear)
        axes[row, 1].set_xlabel(
            f"plain mean of {num_frames} frames (GoPro blur/)", fontsize=font
        )
        axes[row, 2].imshow(gamma)
        axes[row, 2].set_xlabel(
            "mean in linear light, gamma 2.2 (blur_gamma/)", fontsize=font
        )
        axes[row, 3].imshow(np.clip(np.abs(gamma - sharp) * 3, 0, 1))
        axes[row, 3].set_xlabel("|blur_gamma - sharp| x 3", fontsize=font)
        axes[row, 0].set_ylabel("GoPro GOPR0477_11_00, 240 fps", fontsize=font * 0.7)
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    figure.text(
        0.5,
        0.005,
        credits(photos, video),
        ha="center",
        va="bottom",
        fontsize=font * 0.75,
    )
    figure.tight_layout(pad=0.3, h_pad=0.6, w_pad=0.2, rect=(0, 0.02, 1, 1))
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    figure.savefig(output, dpi=dpi, pil_kwargs={"quality": 85, "optimize": True})
    plt.close(figure)
    return output


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--photos", nargs="+", help="sharp photos (paths or scikit-image sample names)"
    )
    parser.add_argument(
        "--output", default=DEFAULT_OUTPUT, help="where to write the JPEG"
    )
    parser.add_argument(
        "--size", type=int, default=400, help="width of one tile in pixels"
    )
    parser.add_argument(
        "--gopro",
        default=DEFAULT_GOPRO,
        help="folder of consecutive video frames for the last row, or 'none'",
    )
    parser.add_argument("--frames", type=int, default=11, help="frames averaged (odd)")
    parser.add_argument("--seed", type=int, default=3)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.size < 32:
        raise ValueError(f"`--size` must be at least 32. Received: size={args.size}")
    if args.frames < 1 or args.frames % 2 == 0:
        raise ValueError(
            f"`--frames` must be a positive odd number. Received: frames={args.frames}"
        )
    photos = args.photos or default_photos()
    gopro = (
        None
        if args.gopro.lower() == "none" or not os.path.isdir(args.gopro)
        else args.gopro
    )
    output = make_sheet(photos, args.output, args.size, gopro, args.frames, args.seed)
    print(f"Wrote {output} ({os.path.getsize(output) // 1024} KB)")


if __name__ == "__main__":
    main()
