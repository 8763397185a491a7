"""Builds the training and validation pairs of the released weights.

How to run (from the project root, after installing the package):

    python release/build_data.py                       # ../shared/data -> runs/release/data

Every pair is written once as an 8-bit PNG pair, so `attn-deblur train
--pairs` and `attn-deblur evaluate --pairs` read them like any folder of
pairs, and a second run skips what exists. The same seed gives the same
files on every machine.

    train/         frame-averaged pairs from video frames 1-200 (a window of
                   7, 9, 11 or 13 consecutive frames averaged in gamma space,
                   the middle frame as target, one window starting at every
                   frame) and synthetic non-uniform motion blur on crops of
                   the sharp training photos (`SyntheticMotionBlur`)
    val_gopro/     frame-averaged pairs from frames 201-299 (never trained on)
    val_photos/    synthetic blur on the whole validation photos (CBSD68)
    val_all/       both validation sets together (validation during training)

Nothing in `val_*` comes from an image in `train/`: the frames are split by
index and the photo folders are separate.
"""

import argparse
import os
import shutil
import sys

import numpy as np
from PIL import Image

from keras_attn_deblur import data
from keras_attn_deblur.data import IMAGE_EXTENSIONS
from keras_attn_deblur.data.synthetic.pipeline import default_margin
from keras_attn_deblur.data.synthetic.pipeline import synthetic_example

FRAME_COUNTS = (7, 9, 11, 13)
SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")


def _image_paths(folder):
    """Every image below `folder`, sorted, hidden files skipped."""
    if not os.path.isdir(folder):
        raise SystemExit(f"build_data: error: image folder '{folder}' does not exist")
    paths = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder)
        for name in names
        if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")
    )
    if not paths:
        raise SystemExit(f"build_data: error: no images in '{folder}'")
    return paths


def _save_png(image, path):
    """Writes a float [0, 1] image as an 8-bit PNG (temp file + rename)."""
    array = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype("uint8")
    partial = path + ".partial.png"
    Image.fromarray(array).save(partial)
    os.replace(partial, path)


def _write_pair(folder, name, make_pair):
    blurry_path = os.path.join(folder, "blur", name + ".png")
    sharp_path = os.path.join(folder, "sharp", name + ".png")
    if os.path.exists(blurry_path) and os.path.exists(sharp_path):
        return False
    blurry, sharp = make_pair()
    _save_png(sharp, sharp_path)
    _save_png(blurry, blurry_path)
    return True


def _make_folders(*folders):
    for folder in folders:
        for side in ("blur", "sharp"):
            os.makedirs(os.path.join(folder, side), exist_ok=True)


def frame_windows(num_frames, stride, seed):
    """(start, count) of every averaging window: one per `stride` frames."""
    rng = np.random.default_rng(seed)
    windows = []
    for start in range(0, num_frames, stride):
        count = int(rng.choice(FRAME_COUNTS))
        if start + count <= num_frames:
            windows.append((start, count))
    return windows


def write_frame_pairs(frames, folder, prefix, stride, seed):
    """Averaged-frame pairs of `frames` (paths in time order) into `folder`."""
    cache = {}

    def make_pair(start, count):
        for index in range(start, start + count):
            if index not in cache:
                cache[index] = data.load_image(frames[index])
        for index in [index for index in cache if index < start]:
            del cache[index]
        window = [cache[index] for index in range(start, start + count)]
        return data.average_frames(window, space="gamma"), cache[start + count // 2]

    written = 0
    for start, count in frame_windows(len(frames), stride, seed):
        middle = os.path.splitext(os.path.basename(frames[start + count // 2]))[0]
        name = f"{prefix}_{middle}_avg{count:02d}"
        written += _write_pair(folder, name, lambda: make_pair(start, count))
    return written


def write_synthetic_pairs(photos, folder, prefix, crop, seed):
    """Synthetic non-uniform motion blur of each photo (a random `crop` window
    when the photo is larger, else the whole photo) into `folder`."""
    blur = data.SyntheticMotionBlur()
    margin = default_margin(blur)
    written = 0
    for index, path in enumerate(photos):
        stem = os.path.splitext(os.path.relpath(path, os.path.dirname(os.path.dirname(path))))[0]
        name = f"{prefix}_{stem.replace(os.sep, '_')}"

        def make_pair(index=index, path=path):
            rng = np.random.default_rng([seed, index])
            photo = data.load_image(path)
            height, width = photo.shape[:2]
            size = (min(height, crop), min(width, crop)) if crop else (height, width)
            training = bool(crop) and (height > crop or width > crop)
            return synthetic_example(
                photo, blur, size, margin, training=training, rotate=False, rng=rng
            )

        written += _write_pair(folder, name, make_pair)
    return written


def _spread(items, count):
    """`count` items evenly spread over the list (every source folder)."""
    if count >= len(items):
        return list(items)
    return [items[int(index * len(items) / count)] for index in range(count)]


def _link_all(sources, target):
    """`target` holds every pair of `sources` (hard links where possible)."""
    _make_folders(target)
    for source in sources:
        for side in ("blur", "sharp"):
            for name in sorted(os.listdir(os.path.join(source, side))):
                destination = os.path.join(target, side, name)
                if not os.path.exists(destination):
                    try:
                        os.link(os.path.join(source, side, name), destination)
                    except OSError:
                        shutil.copyfile(os.path.join(source, side, name), destination)


def build(args):
    frames = _image_paths(args.frames)
    if len(frames) <= args.train_frames:
        raise SystemExit(
            f"build_data: error: '{args.frames}' holds {len(frames)} frames; need more than "
            f"--train-frames {args.train_frames} so that some are left for validation"
        )
    train = os.path.join(args.output, "train")
    val_gopro = os.path.join(args.output, "val_gopro")
    val_photos = os.path.join(args.output, "val_photos")
    _make_folders(train, val_gopro, val_photos)

    counts = {}
    counts["train frame-averaged"] = write_frame_pairs(
        frames[: args.train_frames], train, "gopro", stride=1, seed=args.seed
    )
    train_photos = _spread(_image_paths(args.photos), args.synthetic_pairs)
    counts["train synthetic"] = write_synthetic_pairs(
        train_photos, train, "synthetic", crop=args.crop, seed=args.seed
    )
    counts["val frame-averaged"] = write_frame_pairs(
        frames[args.train_frames :], val_gopro, "gopro", stride=args.val_stride,
        seed=args.seed + 1,
    )
    counts["val synthetic"] = write_synthetic_pairs(
        _image_paths(args.val_photos), val_photos, "val", crop=0, seed=args.seed + 1
    )
    _link_all((val_gopro, val_photos), os.path.join(args.output, "val_all"))
    for folder in (train, val_gopro, val_photos):
        total = len(os.listdir(os.path.join(folder, "blur")))
        print(f"{folder}: {total} pairs")
    print("newly written: " + ", ".join(f"{key} {value}" for key, value in counts.items()))


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=os.path.join("runs", "release", "data"))
    parser.add_argument(
        "--frames", default=os.path.join(SHARED, "gopro_GOPR0477_11_00", "frames"),
        help="video frames in time order (the GoPro sequence GOPR0477_11_00)",
    )
    parser.add_argument(
        "--train-frames", type=int, default=200,
        help="the first N frames are for training, the rest for validation (200)",
    )
    parser.add_argument(
        "--val-stride", type=int, default=4,
        help="a validation window starts every N frames (4)",
    )
    parser.add_argument(
        "--photos", default=os.path.join(SHARED, "train_photos"), help="sharp training photos"
    )
    parser.add_argument(
        "--synthetic-pairs", type=int, default=128,
        help="synthetic training pairs, from photos spread over every source (128)",
    )
    parser.add_argument(
        "--crop", type=int, default=512,
        help="training photos larger than this are cropped at random to it (512)",
    )
    parser.add_argument(
        "--val-photos", default=os.path.join(SHARED, "val_photos", "cbsd68"),
        help="sharp validation photos (CBSD68), blurred whole",
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv=None):
    build(build_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
