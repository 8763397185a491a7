"""Runs one data-parallel check on two CPU devices, in a fresh interpreter.

`python tests/two_devices.py FOLDER` prints one JSON line. The device
count is fixed when the backend starts (`XLA_FLAGS` before JAX is imported,
logical devices before TensorFlow runs anything), hence a process of its
own; `tests/test_distribute.py` starts it. It runs two cases:

- `fit`: the recipe's `fit` on two devices against one device, same initial
  weights and the same global batches (tf.data on TensorFlow, the
  TensorFlow-free `PyDataset` on JAX).
- `cli`: `attn-deblur train --distribute data_parallel`, and on JAX (whose
  PyDataset gives both runs the same batches) `--distribute none` as the
  reference.
"""

import json
import os
import sys

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
).strip()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
if BACKEND == "tensorflow":
    import tensorflow as tf

    _cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

GLOBAL_BATCH = 4
PATCH = 16
STEPS = 2


def write_pairs(folder, count, size=24, first_seed=0):
    """`count` (blurry, sharp) PNG pairs: smooth random scenes, blurred sideways."""
    for index in range(count):
        rng = np.random.default_rng(first_seed + index)
        rows, cols = np.mgrid[0:size, 0:size] / size
        sharp = np.stack([rng.uniform() * rows + rng.uniform() * cols for _ in range(3)], -1)
        top = rng.integers(0, size - 6)
        sharp[top : top + 6, 4:10] = rng.uniform(size=3)
        padded = np.pad(sharp, ((0, 0), (2, 2), (0, 0)), mode="edge")
        blurry = np.mean([padded[:, shift : shift + size] for shift in range(5)], axis=0)
        for name, image in (("blurry", blurry), ("sharp", sharp)):
            os.makedirs(os.path.join(folder, name), exist_ok=True)
            pixels = np.round(np.clip(image, 0, 1) * 255).astype("uint8")
            Image.fromarray(pixels).save(os.path.join(folder, name, f"{index:03d}.png"))
    return os.path.join(folder, "blurry"), os.path.join(folder, "sharp")


def tiny_model():
    from keras_attn_deblur import AttnDeblurNet

    keras.utils.set_random_seed(0)
    model = AttnDeblurNet(filters=(8, 8, 8), blocks_per_stage=1, kernel_size=3)
    # A non-zero output convolution, so that every layer gets gradients.
    output_conv = model.get_layer("output_conv")
    kernel, bias = output_conv.get_weights()
    rng = np.random.default_rng(0)
    output_conv.set_weights([rng.normal(0, 0.05, kernel.shape).astype("float32"), bias])
    return model


def per_device_batches(model, seen):
    """Wraps `model.train_step` to record the batch size each device computes on."""
    original = model.train_step
    if BACKEND == "jax":
        import jax

        def train_step(state, data):
            blurry = data[0]
            jax.debug.inspect_array_sharding(
                blurry, callback=lambda sharding: seen.append(sharding.shard_shape(blurry.shape)[0])
            )
            return original(state, data)
    else:
        import tensorflow as tf

        def record(size):
            seen.append(int(size))
            return size

        def train_step(data):  # runs once per replica and step
            tf.numpy_function(record, [tf.shape(data[0])[0]], tf.int32, stateful=True)
            return original(data)

    model.train_step = train_step


def case_fit(folder):
    from keras_attn_deblur import data
    from keras_attn_deblur import training

    pairs = data.folder_pairs(*write_pairs(folder, 2 * GLOBAL_BATCH))
    if BACKEND == "tensorflow":
        # tf.data reshuffles (and redraws crops) on every iteration, and Keras
        # makes its iterators differently under a strategy, so one seed does
        # not give both runs the same batches. Centre crops in a fixed order do.
        def make_dataset():
            return data.make_dataset(pairs, training=False, batch_size=GLOBAL_BATCH,
                                     center_crop=PATCH, pipeline="tf")  # fmt: skip
    else:
        # The PyDataset draws each batch from (seed, epoch, batch index).
        def make_dataset():
            return data.make_dataset(pairs, training=True, batch_size=GLOBAL_BATCH,
                                     patch_size=PATCH, seed=0, steps_per_epoch=STEPS,
                                     pipeline="python", workers=1)  # fmt: skip
    initial = tiny_model()
    results = {}
    for distribute in (None, "data_parallel"):
        model = tiny_model()
        model.set_weights(initial.get_weights())
        model = training.compile_for_deblurring(
            model, learning_rate=1e-3, loss="mse", distribute=distribute
        )
        seen = []
        per_device_batches(model, seen)
        dataset = make_dataset()
        history = model.fit(dataset, epochs=2, shuffle=False, verbose=0).history
        results[str(distribute)] = {
            "loss": history["loss"],
            "psnr": history["psnr"],
            "weights": [w.tolist() for w in model.get_weights()],
            "per_device_batch": sorted(set(seen)),
            "dataset_type": type(dataset).__name__,
        }
        if distribute:
            results["engine"] = engine_summary(model)
    if BACKEND == "jax":  # compile_for_deblurring(distribute=...) left it set
        keras.distribution.set_distribution(None)
    return results


def engine_summary(model):
    if BACKEND == "tensorflow":
        strategy = model.distribute_strategy
        return {
            "type": type(strategy).__name__,
            "replicas": strategy.num_replicas_in_sync,
        }
    distribution = keras.distribution.distribution()
    kernel = model.get_layer("enc1_attn1").weights[0].value
    return {
        "type": type(distribution).__name__,
        "replicas": int(distribution.device_mesh.devices.size),
        "weight_devices": len(kernel.sharding.device_set),
    }


def case_cli(folder):
    import contextlib
    import io

    from keras_attn_deblur.cli import main

    blurry, sharp = write_pairs(os.path.join(folder, "train"), 6)
    # 3 validation pairs: fit validates on 2 (batches of one per device), the
    # final evaluation scores all 3 on a single-device copy.
    val_blurry, val_sharp = write_pairs(os.path.join(folder, "val"), 3, first_seed=50)
    model_path = os.path.join(folder, "tiny.keras")
    initial = tiny_model()
    initial.save(model_path)
    pipeline = "tf" if BACKEND == "tensorflow" else "python"
    results = {"initial": [w.tolist() for w in initial.get_weights()]}
    runs = ("none", "data_parallel") if BACKEND == "jax" else ("data_parallel",)
    for distribute in runs:
        run_dir = os.path.join(folder, f"run_{distribute}")
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            code = main([
                "train", "--pairs", blurry, sharp, "--val-pairs", val_blurry, val_sharp,
                "--model", model_path, "--steps", str(STEPS), "--epochs", "1",
                "--batch-size", str(GLOBAL_BATCH), "--patch-size", str(PATCH),
                "--val-crop", str(PATCH), "--pipeline", pipeline, "--learning-rate", "1e-3",
                "--loss", "mse", "--run-dir", run_dir, "--quiet", "--distribute", distribute,
            ])  # fmt: skip
        final = keras.saving.load_model(os.path.join(run_dir, "final.keras"), compile=False)
        with open(os.path.join(run_dir, "final_evaluation.csv")) as evaluation:
            evaluated = len(evaluation.readlines()) - 1
        results[distribute] = {
            "code": code,
            "first_line": output.getvalue().splitlines()[0],
            "weights": [w.tolist() for w in final.get_weights()],
            "evaluated": evaluated,
        }
    return results


if __name__ == "__main__":
    folder = sys.argv[1]
    result = {
        "fit": case_fit(os.path.join(folder, "fit")),
        "cli": case_cli(os.path.join(folder, "cli")),
    }
    print(json.dumps(result))
