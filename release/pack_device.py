"""Packs everything a lent accelerator needs into `.device/` and checks that it travels.

How to run (from the project root, with `../shared` beside it and pip able to
reach PyPI):

    python release/pack_device.py                              # from the bundled weights
    python release/pack_device.py --init out/device-1/model    # from a returned run's weights

Writes the ignored folder `.device/`:

    wheels/         keras, namex and optree for the device's Python 3.12
                    (manylinux x86-64); the device has JAX, NumPy, Pillow,
                    h5py, jinja2 and huggingface_hub but not these
    wheels-local/   the compiled ones (optree) for this Python, for the rehearsal
    frames/         GoPro GOPR0477_11_00 frames 1-200 (CC BY 4.0), re-encoded as
                    JPEG q90 4:4:4 (about 48 dB from the q95 originals, 30 % fewer
                    bytes, so that the shipped int8 build leaves photos room;
                    `--frame-quality 0` copies them byte for byte); frames
                    201-299 stay home for validation
    photos/         the sharp training photos of every source folder in turn,
                    scaled down to at most 768 px on their longer side and turned
                    landscape (JPEG q90), as many as the travel limit leaves room
                    for: the device crops each example at random inside them
    kernels.npz     a bank of motion-blur kernels (`kernel_bank`, plus the real
                    kernels of ../shared/data/kernels that fit)
    init/           with `--init FOLDER`: that save_pretrained folder (the
                    returned `$OUT/model` of an earlier device call, 14 MB of
                    float16 weights), its weights packed (`device_sources.pack_weights`:
                    byte planes in xz, about 11 MB, unpacked byte for byte on the
                    device), the run's `train_log.json` (its schedule position) and
                    `source.json`; photos, then if need be the last frames, make room
    manifest.json   counts, sources and licences

and prints what would travel to the device (tracked files, untracked files
that git does not ignore, and `.device/`): it exits 1 if that exceeds the
64 MiB limit. Then `python release/device_plan.py --used SECONDS` prints the
device tool calls (`bash release/device_train.sh ...`, carry `.device`); here:
`bash release/device_train.sh --rehearse`.
"""

import argparse
import importlib.metadata
import io
import json
import os
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image

from keras_attn_deblur import data, metrics
from keras_attn_deblur.data import IMAGE_EXTENSIONS
from keras_attn_deblur.inference.int8 import INT8_FILE_NAME

import device_sources  # release/, this script's folder: how the device reads the pack

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "data")
LIMIT_MIB = 64
WHEELS = ("keras", "namex", "optree")
DEVICE_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
                    "manylinux2014_x86_64", "manylinux1_x86_64")  # fmt: skip
MIB = 2**20


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=os.path.join(ROOT, ".device"))
    parser.add_argument(
        "--frames", default=os.path.join(SHARED, "gopro_GOPR0477_11_00", "frames"),
        help="video frames in time order (GOPR0477_11_00)",
    )  # fmt: skip
    parser.add_argument("--train-frames", type=int, default=200,
                        help="the first N frames train; the rest stay home for validation")  # fmt: skip
    parser.add_argument(
        "--frame-quality", type=int, default=90,
        help="re-encode the frames as JPEG of this quality, 4:4:4 (90); 0 copies them byte "
        "for byte",
    )  # fmt: skip
    parser.add_argument("--photos", default=os.path.join(SHARED, "train_photos"))
    parser.add_argument("--kernel-files", default=os.path.join(SHARED, "kernels"))
    parser.add_argument("--photo-side", type=int, default=768,
                        help="longest photo side; larger photos are scaled down (768)")  # fmt: skip
    parser.add_argument("--photo-quality", type=int, default=90, help="JPEG quality (90)")
    parser.add_argument(
        "--min-photo-side", type=int, default=296,
        help="shorter sides below this are left out: the device's blurred window, patch "
        "256 + kernel 41 - 1 (296)",
    )  # fmt: skip
    parser.add_argument("--max-photos", type=int, default=1000)
    parser.add_argument("--init", default=None, metavar="FOLDER",
                        help="carry these weights (a save_pretrained folder) as .device/init")  # fmt: skip
    parser.add_argument(
        "--min-photo-mib", type=float, default=2.0,
        help="with --init, the room kept for photos: the last frames are left out if need be "
        "(2 MiB)",
    )  # fmt: skip
    parser.add_argument("--min-frames", type=int, default=100,
                        help="never fewer training frames than this (100)")  # fmt: skip
    parser.add_argument("--kernel-count", type=int, default=2048)
    parser.add_argument("--kernel-size", type=int, default=41)
    parser.add_argument("--reserve-mib", type=float, default=1.0,
                        help="room left under the limit (1 MiB)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    return parser


def _fail(message):
    raise SystemExit(f"pack_device: error: {message}")


def _folder_bytes(folder):
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(folder)
        for name in names
    )


def travelling_bytes():
    """Bytes of the tracked files and the untracked files git does not ignore."""
    sizes = {}
    for kind, options in (("tracked", ()), ("untracked", ("--others", "--exclude-standard"))):
        try:
            listing = subprocess.run(
                ["git", "ls-files", "-z", *options], cwd=ROOT, check=True,
                capture_output=True, text=True,
            ).stdout  # fmt: skip
        except (OSError, subprocess.CalledProcessError) as error:
            _fail(f"cannot list the repository's files with git ({error}): run from a git checkout")
        paths = [os.path.join(ROOT, path) for path in listing.split("\0") if path]
        sizes[kind] = sum(os.path.getsize(path) for path in paths if os.path.isfile(path))
    return sizes


def _prepare_output(output):
    if os.path.exists(output):
        ours = os.path.isfile(os.path.join(output, "manifest.json")) or not os.listdir(output)
        if not ours:
            _fail(f"'{output}' exists and is not a folder this script wrote: remove it or pass "
                  "another --output")  # fmt: skip
        shutil.rmtree(output)
    os.makedirs(output)


def download_wheels(folder, device):
    """keras, namex and optree (the installed versions) for the device or for this Python."""
    os.makedirs(folder)
    specs = []
    for name in WHEELS:
        try:
            specs.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            specs.append(name)
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
               "--only-binary=:all:", "-d", folder, *specs]  # fmt: skip
    if device:
        command[5:5] = ["--python-version", "3.12", "--implementation", "cp"] + [
            option for platform in DEVICE_PLATFORMS for option in ("--platform", platform)
        ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        _fail(f"pip could not download {' '.join(specs)} ({last}): pip must reach PyPI")
    return sorted(os.listdir(folder))


def copy_frames(source, count, folder, quality):
    """The first `count` frames into `folder`, byte for byte (`quality` 0) or re-encoded
    as JPEG 4:4:4 of that quality; returns their names and the mean PSNR (dB) of the
    re-encoding against the originals (None when copied)."""
    frames = sorted(
        name for name in os.listdir(source) if name.lower().endswith((".jpg", ".jpeg", ".png"))
    ) if os.path.isdir(source) else []  # fmt: skip
    if len(frames) <= count:
        _fail(f"'{source}' holds {len(frames)} frames; need more than --train-frames {count} "
              "so that the rest stay home for validation")  # fmt: skip
    os.makedirs(folder)
    names, psnrs = [], []
    for name in frames[:count]:
        if not quality:
            shutil.copyfile(os.path.join(source, name), os.path.join(folder, name))
            names.append(name)
            continue
        with Image.open(os.path.join(source, name)) as image:
            original = np.asarray(image.convert("RGB"))
        names.append(os.path.splitext(name)[0] + ".jpg")
        Image.fromarray(original).save(os.path.join(folder, names[-1]), "JPEG",
                                       quality=quality, subsampling=0)  # fmt: skip
        with Image.open(os.path.join(folder, names[-1])) as image:
            psnrs.append(float(metrics.psnr(original, np.asarray(image), max_val=255.0)))
    return names, (round(float(np.mean(psnrs)), 2) if psnrs else None)


def write_kernels(path, count, size, kernel_files, seed):
    """The generated bank plus the real kernels that fit, float16, compressed."""
    kernels, names = [], []
    for root, _, files in sorted(os.walk(kernel_files)):
        for name in sorted(files):
            kernel_path = os.path.join(root, name)
            if name.endswith(".npy"):
                kernel = np.load(kernel_path).astype("float64")
            elif name.endswith(".png") and not os.path.exists(kernel_path[:-4] + ".npy"):
                kernel = np.asarray(Image.open(kernel_path).convert("L"), "float64")
            else:
                continue
            if max(kernel.shape) > size or kernel.sum() <= 0:
                continue  # larger than the bank's kernels
            padded = np.zeros((size, size))
            top, left = (size - kernel.shape[0]) // 2, (size - kernel.shape[1]) // 2
            padded[top : top + kernel.shape[0], left : left + kernel.shape[1]] = kernel
            kernels.append(padded / padded.sum())
            names.append(os.path.relpath(kernel_path, kernel_files))
    bank = data.kernel_bank(count, size=size, rng=seed)
    if kernels:
        bank = np.concatenate([bank, np.stack(kernels).astype("float32")])
    np.savez_compressed(path, kernels=bank.astype("float16"))
    return len(bank), names


def _photo_paths(folder):
    """Photos of every source folder, interleaved so that any prefix spreads over all."""
    groups = []
    for root, _, names in sorted(os.walk(folder)):
        paths = [os.path.join(root, name) for name in sorted(names)
                 if name.lower().endswith(IMAGE_EXTENSIONS)]  # fmt: skip
        if paths:
            groups.append(paths)
    if not groups:
        _fail(f"no photos in '{folder}'")
    order = []
    for index in range(max(len(group) for group in groups)):
        order += [group[index] for group in groups if index < len(group)]
    return order


def write_photos(source, folder, side, quality, min_side, budget, max_photos):
    """The photos of every folder in turn, scaled down to at most `side` pixels on their
    longer side, turned landscape and saved as JPEG `quality`, while they fit in `budget`
    bytes. Returns the sources written, their (height, width) and the count left out."""
    os.makedirs(folder)
    written, sizes, used, skipped, misfits = [], [], 0, 0, 0
    for path in _photo_paths(source):
        if len(written) >= max_photos or misfits >= 10:
            break
        with Image.open(path) as image:
            if image.mode not in ("RGB", "RGBA", "P"):
                skipped += 1  # grayscale
                continue
            photo = image.convert("RGB")
        if photo.height > photo.width:  # one orientation keeps the device's padded stack small
            photo = photo.transpose(Image.Transpose.ROTATE_90)
        if photo.width > side:
            height = round(photo.height * side / photo.width)
            photo = photo.resize((side, height), Image.Resampling.LANCZOS)
        if photo.height < min_side:
            skipped += 1  # smaller than the device's blurred window
            continue
        buffer = io.BytesIO()
        photo.save(buffer, "JPEG", quality=quality)
        if used + buffer.tell() > budget:
            misfits += 1  # a smaller photo may still fit
            continue
        misfits = 0
        name = f"{len(written):04d}_{os.path.basename(os.path.dirname(path))}.jpg"
        with open(os.path.join(folder, name), "wb") as file:
            file.write(buffer.getvalue())
        used += buffer.tell()
        written.append(os.path.relpath(path, source))
        sizes.append([photo.height, photo.width])
    return written, sizes, skipped


def copy_init(model_folder, folder):
    """A returned model folder into `folder`: its small files as they are (not an int8
    build: it belongs to the weights training will change), its weights packed
    (`device_sources.pack_weights`), the `train_log.json` beside it (its run's
    schedule position) and `source.json` (the folder's path, for the budget's chain)."""
    weights = os.path.join(model_folder, "model.weights.h5")
    if not (os.path.isfile(weights) and os.path.isfile(os.path.join(model_folder, "config.json"))):
        _fail(f"--init '{model_folder}' is not a save_pretrained folder (config.json and "
              "model.weights.h5): pass the returned $OUT/model folder")  # fmt: skip
    os.makedirs(folder)
    for name in sorted(os.listdir(model_folder)):
        path = os.path.join(model_folder, name)
        if os.path.isfile(path) and name not in ("model.weights.h5", INT8_FILE_NAME):
            shutil.copyfile(path, os.path.join(folder, name))
    packed_bytes = device_sources.pack_weights(
        weights, os.path.join(folder, device_sources.PACKED_WEIGHTS)
    )
    log = os.path.join(os.path.dirname(os.path.abspath(model_folder)), device_sources.LOG_NAME)
    if os.path.isfile(log):
        shutil.copyfile(log, os.path.join(folder, device_sources.LOG_NAME))
    absolute = os.path.abspath(model_folder)
    inside = os.path.commonpath([absolute, ROOT]) == ROOT
    source = {"model": os.path.relpath(absolute, ROOT) if inside else absolute,
              "weights_bytes": os.path.getsize(weights), "packed_bytes": packed_bytes,
              "train_log": os.path.isfile(log)}  # fmt: skip
    with open(os.path.join(folder, device_sources.INIT_SOURCE), "w", encoding="utf-8") as file:
        json.dump(source, file, indent=1)
    return source


def drop_frames(folder, frames, room, min_frames):
    """Removes the last frames until `room` bytes are free (never below `min_frames`);
    returns the frames kept and the bytes freed."""
    freed = 0
    while freed < room and len(frames) > min_frames:
        path = os.path.join(folder, frames.pop())
        freed += os.path.getsize(path)
        os.remove(path)
    return frames, freed


def main(argv=None):
    args = build_parser().parse_args(argv)
    output = os.path.abspath(args.output)
    _prepare_output(output)
    wheels = download_wheels(os.path.join(output, "wheels"), device=True)
    local_wheels = download_wheels(os.path.join(output, "wheels-local"), device=False)
    for name in set(local_wheels) & set(wheels):  # pure-Python wheels: one copy is enough
        os.remove(os.path.join(output, "wheels-local", name))
    local_wheels = sorted(set(local_wheels) - set(wheels))
    frames, frame_psnr = copy_frames(args.frames, args.train_frames,
                                     os.path.join(output, "frames"), args.frame_quality)  # fmt: skip
    kernel_count, real_kernels = write_kernels(
        os.path.join(output, "kernels.npz"), args.kernel_count, args.kernel_size,
        args.kernel_files, args.seed,
    )  # fmt: skip
    init = copy_init(args.init, os.path.join(output, "init")) if args.init else None
    sizes = travelling_bytes()
    budget = LIMIT_MIB * MIB - args.reserve_mib * MIB - sum(sizes.values()) - _folder_bytes(output)
    dropped = 0
    if init and budget < args.min_photo_mib * MIB:  # no other way: the last frames make room
        kept, freed = drop_frames(os.path.join(output, "frames"), list(frames),
                                  args.min_photo_mib * MIB - budget, args.min_frames)  # fmt: skip
        dropped, frames, budget = len(frames) - len(kept), kept, budget + freed
    if budget <= 0:
        _fail(f"no room for photos: the repository, frames and init already take "
              f"{(LIMIT_MIB * MIB - budget) / MIB:.1f} MiB; pass fewer --train-frames")  # fmt: skip
    photos, photo_sizes, skipped = write_photos(
        args.photos, os.path.join(output, "photos"), args.photo_side, args.photo_quality,
        args.min_photo_side, budget, args.max_photos,
    )  # fmt: skip
    manifest = {
        "frames": len(frames), "frame_names": [frames[0], frames[-1]],
        "frames_dropped_for_init": dropped, "frame_quality": args.frame_quality or None,
        "frame_psnr_to_originals": frame_psnr,
        "frames_source": "GoPro GOPRO_Large train/GOPR0477_11_00 (Nah et al. 2017), CC BY 4.0",
        "photos": len(photos), "photo_side": args.photo_side,
        "photo_quality": args.photo_quality, "photo_sizes": photo_sizes,
        "photo_sources": photos, "photos_skipped": skipped, "kernels": kernel_count,
        "kernel_size": args.kernel_size, "real_kernels": real_kernels, "wheels": wheels,
        "wheels_local": local_wheels, "init": init, "seed": args.seed,
    }  # fmt: skip
    with open(os.path.join(output, "manifest.json"), "w", encoding="utf-8") as file:
        json.dump(manifest, file, indent=1)

    parts = {name: _folder_bytes(os.path.join(output, name))
             for name in ("wheels", "wheels-local", "frames", "photos")}  # fmt: skip
    parts["kernels.npz"] = os.path.getsize(os.path.join(output, "kernels.npz"))
    if init:
        parts["init"] = _folder_bytes(os.path.join(output, "init"))
    total = sum(sizes.values()) + _folder_bytes(output)
    print(f"{'what travels':<34}{'MiB':>8}")
    print(f"{'tracked files':<34}{sizes['tracked'] / MIB:>8.2f}")
    print(f"{'untracked, not ignored':<34}{sizes['untracked'] / MIB:>8.2f}")
    details = {"frames": f"frames ({len(frames)}" + (f", {dropped} left out" if dropped else "")
               + (f", q{args.frame_quality})" if args.frame_quality else ")"),
               "photos": f"photos ({len(photos)})", "kernels.npz": f"kernels.npz ({kernel_count})",
               "init": "init (weights packed)"}  # fmt: skip
    for name, size in parts.items():
        print(f"{'  .device/' + details.get(name, name):<34}{size / MIB:>8.2f}")
    print(f"{'total (limit ' + str(LIMIT_MIB) + ' MiB)':<34}{total / MIB:>8.2f}")
    if total > LIMIT_MIB * MIB:
        print(f"pack_device: error: {total / MIB:.1f} MiB would travel, over the {LIMIT_MIB} MiB "
              "limit: pass fewer --train-frames or --max-photos", file=sys.stderr)  # fmt: skip
        return 1
    start = " --init .device/init" if init else ""
    print(f"'{output}' is ready: carry it (\"carry\": [\".device\"]) and run "
          f"'bash release/device_train.sh{start}' on the accelerator; "
          f"'python release/device_plan.py --used SECONDS{' --init' if init else ''}' "
          "prints the calls")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
