"""Is the input pipeline ever the bottleneck? Pairs/s of the data paths vs. training.

Measures, on this machine:

1. the training step's consumption: patches/s of `train_on_batch` for the
   SPEC network `AttnDeblurNet()` ("patent"), batch 4 at 256 x 256, in
   float32 and in mixed_bfloat16, a few steps after warm-up;
2. the throughput of each input pipeline at patch 256, in (blurry, sharp)
   pairs per second: 1280 x 720 PNG file pairs (frame-averaged from the GoPro
   frames in ../shared/data when present, else generated) and synthetic blur
   of sharp photos, each through tf.data and through the PyDataset with
   worker threads (measured through Keras' own PyDataset adapter, as `fit`
   consumes it).

Every pipeline row gets its ratio to the faster of the two training rates and
"OK" when it is at least 5 times that rate (the project's target), else
"BOTTLENECK". The pipelines are measured alone: during training they share
the CPU with the training step.

How to run:
    KERAS_BACKEND=tensorflow python benchmarks/data_pipeline.py
    KERAS_BACKEND=tensorflow python benchmarks/data_pipeline.py --pairs 8 --batches 4 --steps 2
"""

import argparse
import os
import shutil
import tempfile
import time

import keras
import numpy as np
from PIL import Image

import keras_attn_deblur
from keras_attn_deblur import data

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATA = os.path.join(PROJECT_ROOT, "..", "shared", "data")
GOPRO_FRAMES = os.path.join(SHARED_DATA, "gopro_GOPR0477_11_00", "frames")
PHOTO_FOLDERS = ("urban100", "sunhays80", "cbsd432")
PATCH_SIZE = 256
TARGET_RATIO = 5.0


def _save_png(path, image):
    Image.fromarray(np.rint(np.clip(image, 0, 1) * 255).astype("uint8")).save(path)


def make_file_pairs(directory, count):
    """`count` 1280 x 720 PNG pairs: 7 GoPro frames averaged, or generated."""
    os.makedirs(os.path.join(directory, "blur"))
    os.makedirs(os.path.join(directory, "sharp"))
    frames = sorted(os.listdir(GOPRO_FRAMES)) if os.path.isdir(GOPRO_FRAMES) else []
    rng = np.random.default_rng(0)
    for index in range(count):
        name = f"{index:04d}.png"
        if len(frames) >= 7 * count:
            window = [
                data.load_image(os.path.join(GOPRO_FRAMES, frame))
                for frame in frames[7 * index : 7 * index + 7]
            ]
            blurry, sharp = data.average_frames(window, space="linear"), window[3]
        else:
            small = rng.random((45, 80, 3))
            sharp = np.asarray(
                Image.fromarray((small * 255).astype("uint8")).resize((1280, 720))
            ) / 255.0
            blurry = data.blur_image(sharp, data.linear_motion_kernel(15, 12.0, 30.0))
        _save_png(os.path.join(directory, "blur", name), blurry)
        _save_png(os.path.join(directory, "sharp", name), sharp)
    source = "GoPro frames, 7 averaged" if len(frames) >= 7 * count else "generated"
    return data.folder_pairs(
        os.path.join(directory, "blur"), os.path.join(directory, "sharp")
    ), source


def sharp_photos(directory, count):
    """Sharp photos from ../shared/data/train_photos, else generated ones."""
    for folder in PHOTO_FOLDERS:
        folder = os.path.join(SHARED_DATA, "train_photos", folder)
        if os.path.isdir(folder):
            names = sorted(os.listdir(folder))[:count]
            return [os.path.join(folder, name) for name in names], os.path.basename(folder)
    os.makedirs(os.path.join(directory, "photos"))
    rng = np.random.default_rng(1)
    paths = []
    for index in range(count):
        image = Image.fromarray((rng.random((48, 64, 3)) * 255).astype("uint8"))
        path = os.path.join(directory, "photos", f"{index:04d}.png")
        image.resize((1024, 768)).save(path)
        paths.append(path)
    return paths, "generated"


def training_rate(policy, batch_size, steps):
    """Patches/s of `train_on_batch` for the patent network under `policy`."""
    keras.utils.set_random_seed(0)
    model = keras_attn_deblur.AttnDeblurNet(dtype=policy)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mae")
    rng = np.random.default_rng(0)
    shape = (batch_size, PATCH_SIZE, PATCH_SIZE, 3)
    blurry = rng.random(shape, dtype="float32")
    sharp = rng.random(shape, dtype="float32")
    model.train_on_batch(blurry, sharp)  # Warm-up: tracing and compilation.
    model.train_on_batch(blurry, sharp)
    started = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(blurry, sharp)
    return steps * batch_size / (time.perf_counter() - started)


def _python_batches(py_dataset):
    """Batches as `fit` gets them: through Keras' PyDataset adapter (workers)."""
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    adapter = PyDatasetAdapter(py_dataset, shuffle=False)
    adapter.on_epoch_begin()
    try:
        yield from adapter.get_numpy_iterator()
    finally:
        adapter.on_epoch_end()


def _tf_batches(dataset):
    for blurry, sharp in dataset:
        yield blurry.numpy(), sharp.numpy()


def pipeline_rate(batches, warmup, count):
    """Pairs/s over `count` batches after `warmup` batches."""
    iterator = iter(batches)
    for _ in range(warmup):
        next(iterator)
    started = time.perf_counter()
    pairs = 0
    for _ in range(count):
        blurry, _ = next(iterator)
        pairs += len(blurry)
    return pairs / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description="Input pipeline vs. training throughput.")
    parser.add_argument("--pairs", type=int, default=16, help="1280x720 file pairs to write")
    parser.add_argument("--photos", type=int, default=24, help="sharp photos for synthetic blur")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--batches", type=int, default=12, help="timed batches per pipeline")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="data_pipeline_bench_")
    try:
        pairs, pair_source = make_file_pairs(workdir, args.pairs)
        photos, photo_source = sharp_photos(workdir, args.photos)
        steps = args.batches + 2
        common = {"batch_size": args.batch_size, "patch_size": PATCH_SIZE, "seed": 0,
                  "steps_per_epoch": steps}
        python = {"pipeline": "python", "workers": args.workers}
        rows = [
            (f"file pairs ({pair_source})", "tf.data",
             lambda: _tf_batches(data.make_dataset(pairs, pipeline="tf", **common))),
            (f"file pairs ({pair_source})", f"PyDataset, {args.workers} workers",
             lambda: _python_batches(data.make_dataset(pairs, **python, **common))),
            (f"synthetic blur ({photo_source})", "tf.data",
             lambda: _tf_batches(data.synthetic_dataset(photos, pipeline="tf", **common))),
            (f"synthetic blur ({photo_source})", f"PyDataset, {args.workers} workers",
             lambda: _python_batches(data.synthetic_dataset(photos, **python, **common))),
        ]
        rates = [
            (source, path, pipeline_rate(make(), warmup=2, count=args.batches))
            for source, path, make in rows
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    consumption = {
        policy: training_rate(policy, args.batch_size, args.steps)
        for policy in ("float32", "mixed_bfloat16")
    }
    fastest = max(consumption.values())

    print(
        f"\nInput pipelines vs. training on this machine: {os.cpu_count()} CPU cores, "
        f"Keras {keras.__version__}, backend {keras.backend.backend()}, patch "
        f"{PATCH_SIZE}x{PATCH_SIZE}, batch {args.batch_size}.\n"
    )
    print("Training consumption, AttnDeblurNet() (the patent network), train_on_batch:")
    for policy, rate in consumption.items():
        print(f"  {policy:<15} {rate:8.3f} patches/s  ({args.batch_size / rate:6.2f} s/step)")
    print(
        f"\nPipelines (pairs/s, measured alone), ratio to the faster training rate "
        f"({fastest:.3f}/s), target >= {TARGET_RATIO:.0f}x:\n"
    )
    header = ("source", "pipeline", "pairs/s", "x float32", "x bf16", "verdict")
    widths = (38, 22, 8, 9, 8, 10)
    print(" | ".join(title.ljust(width) for title, width in zip(header, widths)))
    print("-+-".join("-" * width for width in widths))
    for source, path, rate in rates:
        verdict = "OK" if rate >= TARGET_RATIO * fastest else "BOTTLENECK"
        cells = (
            source,
            path,
            f"{rate:.1f}",
            f"{rate / consumption['float32']:.0f}x",
            f"{rate / consumption['mixed_bfloat16']:.0f}x",
            verdict,
        )
        print(" | ".join(cell.ljust(width) for cell, width in zip(cells, widths)))


if __name__ == "__main__":
    main()
