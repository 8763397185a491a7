"""Builds the training and validation pairs of the released weights.

How to run (from the project root, after installing the package):

    python release/build_data.py                       # ../shared/data -> runs/release/data

Every pair is written once as an 8-bit PNG pair, so `attn-deblur train
--pairs` and `attn-deblur evaluate --pairs` read them like any folder of
pairs, and a second run skips what exists. The same seed gives the same
files on every machine. `build.json` records the settings: a run with other
settings on the same folder is refused rather than mixing two recipes' pairs.

    train/         frame-averaged pairs from video frames 1-200 (a window of
                   7 to 41 consecutive frames, odd counts, averaged in gamma
                   space, the middle frame as target, one window starting at
                   every frame) and synthetic non-uniform motion blur on crops
                   of the sharp training photos (`SyntheticMotionBlur`)
    val_gopro/     frame-averaged pairs from frames 201-299 (never trained on),
                   windows of 7, 9, 11 or 13 frames as the GoPro dataset's
    val_photos/    synthetic blur on the whole validation photos (CBSD68)
    val_all/       both validation sets together (validation during training)

Nothing in `val_*` comes from an image in `train/`: the frames are split by
index and the photo folders are separate.
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
from PIL import Image

from keras_attn_deblur import data
from keras_attn_deblur._utils.paths import write_atomically
from keras_attn_deblur.data import IMAGE_EXTENSIONS
from keras_attn_deblur.data.synthetic import odd_frame_counts
from keras_attn_deblur.data.synthetic.pipeline import default_margin
from keras_attn_deblur.data.synthetic.pipeline import synthetic_example

# Validation windows are the GoPro dataset's. Training windows are longer: the camera moves
# slowly in frames 1-200, whose 7-13 frame averages score 31.5 dB whole-frame against the
# 25.4 dB of frames 201-299 (and ~25.6 dB of the GoPro benchmark); 7-41 frames (0.03-0.17 s
# at 240 fps) cover that strength, as a longer exposure would.
GOPRO_FRAME_COUNTS = (7, 9, 11, 13)
TRAIN_FRAMES_PER_PAIR = (7, 41)
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


def frame_windows(num_frames, stride, seed, counts=GOPRO_FRAME_COUNTS):
    """(start, count) of every averaging window: one per `stride` frames, `count` from `counts`."""
    rng = np.random.default_rng(seed)
    windows = []
    for start in range(0, num_frames, stride):
        count = int(rng.choice(counts))
        if start + count <= num_frames:
            windows.append((start, count))
    return windows


def write_frame_pairs(frames, folder, prefix, stride, seed, counts=GOPRO_FRAME_COUNTS):
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
    for start, count in frame_windows(len(frames), stride, seed, counts):
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


MANIFEST = "build.json"


def check_manifest(args):
    """Refuses to add pairs to a folder built with other settings; records these ones.

    A second run only writes what is missing, so pairs of two settings (say
    7-13 and 7-41 frame windows) would otherwise end up side by side in
    `train/` without a word. `build.json` holds every setting but `--output`.
    """
    settings = {key: value for key, value in vars(args).items() if key != "output"}
    for key in ("frames", "photos", "val_photos"):
        settings[key] = os.path.realpath(settings[key])
    settings = json.loads(json.dumps(settings))  # as read back (tuples become lists)
    path = os.path.join(args.output, MANIFEST)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as file:
            recorded = json.load(file)
        changed = [key for key in settings if recorded.get(key) != settings[key]]
        if changed:
            key = changed[0]
            raise SystemExit(
                f"build_data: error: '{args.output}' was built with {key} {recorded.get(key)!r}, "
                f"not {settings[key]!r}: pass a new --output, or delete the folder to rebuild it"
            )
        return
    train_blur = os.path.join(args.output, "train", "blur")
    if os.path.isdir(train_blur) and os.listdir(train_blur):
        raise SystemExit(
            f"build_data: error: '{args.output}' holds pairs but no {MANIFEST} (an older "
            "build, settings unknown): pass a new --output, or delete the folder to rebuild it"
        )
    os.makedirs(args.output, exist_ok=True)
    write_atomically(path, lambda file: json.dump(settings, file, indent=1), text=True)


def build(args):
    frames = _image_paths(args.frames)
    if len(frames) <= args.train_frames:
        raise SystemExit(
            f"build_data: error: '{args.frames}' holds {len(frames)} frames; need more than "
            f"--train-frames {args.train_frames} so that some are left for validation"
        )
    try:
        train_counts = odd_frame_counts(args.train_frames_per_pair)
    except ValueError as error:
        raise SystemExit(f"build_data: error: --train-frames-per-pair: {error}") from None
    check_manifest(args)
    train = os.path.join(args.output, "train")
    val_gopro = os.path.join(args.output, "val_gopro")
    val_photos = os.path.join(args.output, "val_photos")
    _make_folders(train, val_gopro, val_photos)

    counts = {}
    counts["train frame-averaged"] = write_frame_pairs(
        frames[: args.train_frames], train, "gopro", stride=1, seed=args.seed,
        counts=train_counts,
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
        "--train-frames-per-pair", type=int, nargs=2, metavar=("LOW", "HIGH"),
        default=TRAIN_FRAMES_PER_PAIR,
        help="frames averaged per training pair, odd counts from LOW to HIGH (7 41); "
        "validation keeps the GoPro dataset's 7-13",
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
