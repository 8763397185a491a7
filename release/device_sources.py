"""What `.device/` holds and how the device reads it: the sources and the carried weights.

`release/pack_device.py` writes `.device/` here; `release/device_train.py`
reads it on the accelerator:

- `load_sources`: the training frames (uint8, one stack), the photos (of
  different sizes: one zero-padded stack and their `(height, width)`, the
  form `PairSynthesizer` crops from) and the kernel bank;
- `pack_weights` / `unpack_weights`: a returned model's float16 weights
  file, its even bytes then its odd bytes in xz (the high bytes of float16
  numbers compress, the low bytes barely), restored byte for byte, so that
  `from_pretrained`'s hash check holds;
- `resolve_init`: a `pack_device.py --init` folder as a loadable model
  folder, with the path it was packed from and its run's schedule position.
"""

import concurrent.futures
import glob
import json
import lzma
import os
import shutil
import sys

import numpy as np

LOG_NAME = "train_log.json"  # a device run's log, beside its returned model folder
PACKED_WEIGHTS = "model.weights.h5.shuffled.xz"
INIT_SOURCE = "source.json"


def _fail(message, code=1):
    print(f"device_train: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def _decode_all(paths):
    from PIL import Image

    def decode(path):
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 4) as pool:
        return list(pool.map(decode, paths))


def padded_stack(images):
    """Images of different sizes as one zero-padded `(N, H, W, C)` stack (top-left aligned)
    and their `(N, 2)` int32 sizes, the form `PairSynthesizer` crops from."""
    sizes = np.array([image.shape[:2] for image in images], "int32")
    stack = np.zeros((len(images), *sizes.max(axis=0), images[0].shape[2]), images[0].dtype)
    for index, image in enumerate(images):
        stack[index, : image.shape[0], : image.shape[1]] = image
    return stack, sizes


def load_sources(device_dir, max_frames=None):
    """The frames (the first `max_frames`), photos (a padded stack and their sizes) and
    kernel bank of pack_device.py."""
    manifest_path = os.path.join(device_dir, "manifest.json")
    if not os.path.isfile(manifest_path):
        _fail(f"'{manifest_path}' is missing: run 'python release/pack_device.py' first "
              "and carry .device", code=2)  # fmt: skip
    with open(manifest_path, encoding="utf-8") as file:
        manifest = json.load(file)
    frames = sorted(glob.glob(os.path.join(device_dir, "frames", "*.jpg")))
    photos = sorted(glob.glob(os.path.join(device_dir, "photos", "*.jpg")))
    if len(frames) != manifest["frames"] or len(photos) != manifest["photos"]:
        _fail(f"'{device_dir}' holds {len(frames)} frames and {len(photos)} photos, the "
              f"manifest says {manifest['frames']} and {manifest['photos']}: run "
              "'python release/pack_device.py' again")  # fmt: skip
    with np.load(os.path.join(device_dir, "kernels.npz")) as bank:
        kernels = bank["kernels"].astype("float32")
    kernels /= kernels.sum(axis=(1, 2), keepdims=True)
    photo_stack, photo_sizes = padded_stack(_decode_all(photos))
    return {"frames": np.stack(_decode_all(frames[:max_frames])), "photos": photo_stack,
            "photo_sizes": photo_sizes, "kernels": kernels}  # fmt: skip


def pack_weights(source, destination):
    """Writes the file `source` to `destination` compressed: its even bytes, then its odd
    bytes (the high bytes of float16 weights compress, the low bytes barely), in xz.
    `unpack_weights` gives back the same bytes. Returns the compressed size."""
    with open(source, "rb") as file:
        raw = np.frombuffer(file.read(), np.uint8)
    pairs = len(raw) // 2 * 2
    planes = np.concatenate([raw[:pairs:2], raw[1:pairs:2], raw[pairs:]])
    with open(destination, "wb") as file:
        file.write(lzma.compress(planes.tobytes(), preset=6))
    return os.path.getsize(destination)


def unpack_weights(source, destination):
    """The inverse of `pack_weights`: writes the original bytes of `source` to `destination`."""
    with open(source, "rb") as file:
        planes = np.frombuffer(lzma.decompress(file.read()), np.uint8)
    half = len(planes) // 2
    raw = np.empty_like(planes)
    raw[: 2 * half : 2], raw[1 : 2 * half : 2] = planes[:half], planes[half : 2 * half]
    raw[2 * half :] = planes[2 * half :]
    with open(destination, "wb") as file:
        file.write(raw.tobytes())


def resolve_init(init, folder):
    """`init`, or, for a `pack_device.py --init` folder, a loadable copy of it in `folder`;
    with what it says about itself: `(path, label, schedule)`. `label` is the folder the
    weights were packed from (evaluate.py follows it for the budget); `schedule` is that
    run's schedule position from its `train_log.json`, or `None`."""
    packed = os.path.join(init, PACKED_WEIGHTS)
    if not os.path.isfile(packed):
        return init, init, None
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(init):
        if name not in (PACKED_WEIGHTS, INIT_SOURCE, LOG_NAME):
            shutil.copyfile(os.path.join(init, name), os.path.join(folder, name))
    unpack_weights(packed, os.path.join(folder, "model.weights.h5"))
    with open(os.path.join(init, INIT_SOURCE), encoding="utf-8") as file:
        label = json.load(file)["model"]
    schedule = None
    if os.path.isfile(os.path.join(init, LOG_NAME)):
        with open(os.path.join(init, LOG_NAME), encoding="utf-8") as file:
            schedule = json.load(file).get("schedule")
    return folder, label, schedule
