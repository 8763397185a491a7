"""What does checking every training batch cost? ms/step with and without the check.

`AttnDeblurNet`'s train step checks each batch in keras.ops (NaN or infinite
pixels, values outside [-0.5, 1.5], an empty batch, blurry and sharp of
different shapes) and zeroes a bad one out of the weights; `fit` then reads
the flags on the host after every step (see `models/input_checks.py`).

Measures, on this machine and Keras backend, for the "lite" and the full
"patent" presets (random weights, float32, Adam + Charbonnier loss) at batch
4 x 128 x 128, in ms per step:

- "without": Keras's own train step, a plain `keras.Model` over the same
  layers (`keras.Model(model.inputs, model.outputs)`), so no check at all;
- "with": `AttnDeblurNet` itself, the check included;

on two input paths: `fit` on a `keras.utils.PyDataset` (streamed data, read
by the check only inside the step; on JAX the per-step host read also turns
off Keras's asynchronous dispatch) and `train_on_batch` on arrays (which are
also scanned on the host first). The two models alternate, step after
step (`train_on_batch`) or epoch after epoch (`fit`: the epoch's wall time,
until its weights are read back, over its steps); the table gives the
fastest and the median of each side, and the overhead with / without - 1 of
each. The fastest step is the one least
disturbed by other jobs. A last row times the check's own keras.ops alone,
compiled, on one batch.

Other jobs on the machine make timings noisy: the rounds alternate so that a
background job slows both sides alike; rerun for stable numbers.

How to run:
    KERAS_BACKEND=tensorflow python benchmarks/fit_checks.py
    KERAS_BACKEND=jax python benchmarks/fit_checks.py --rounds 5 --steps 4
    python benchmarks/fit_checks.py --presets lite --note "a training job shares the CPU"
"""

import argparse
import statistics
import time

import keras
import numpy as np

import keras_attn_deblur
from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import CharbonnierLoss
from keras_attn_deblur._utils.machine import describe_cpu
from keras_attn_deblur.models import input_checks

BATCH_SHAPE = (4, 128, 128, 3)


class _SameBatches(keras.utils.PyDataset):
    """`steps` copies of one (blurry, sharp) batch."""

    def __init__(self, blurry, sharp, steps):
        super().__init__()
        self.blurry, self.sharp, self.steps = blurry, sharp, steps

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        return self.blurry, self.sharp


def _models(preset):
    keras.utils.set_random_seed(0)
    checked = AttnDeblurNet.from_preset(preset)
    conv = checked.get_layer("output_conv")  # not the identity
    conv.kernel.assign(np.random.default_rng(0).normal(scale=0.02, size=conv.kernel.shape))
    plain = keras.Model(checked.inputs, checked.outputs, name="plain")
    for model in (plain, checked):
        model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=CharbonnierLoss())
    return {"without": plain, "with": checked}


def _fit_step_ms(model, dataset):
    """ms per step of one `fit` epoch, the weights read back at the end.

    One number per epoch: JAX dispatches steps asynchronously, so a callback's
    clock sees when a step was queued, not when it ran; only the read after
    `fit` waits for the last one.
    """
    start = time.perf_counter()
    model.fit(dataset, epochs=1, verbose=0)
    keras.ops.convert_to_numpy(model.trainable_weights[0])
    return [1000 * (time.perf_counter() - start) / len(dataset)]


def _train_on_batch_ms(model, blurry, sharp):
    start = time.perf_counter()
    model.train_on_batch(blurry, sharp)
    return [1000 * (time.perf_counter() - start)]


def measure(preset, rounds, steps):
    """Rows `(path, without, with)` for one preset; each side a list of ms per step.

    The two models alternate: a `fit` epoch of `steps` steps each, or one
    `train_on_batch` each, `rounds` times.
    """
    rng = np.random.default_rng(0)
    sharp = rng.uniform(size=BATCH_SHAPE).astype("float32")
    blurry = np.clip(sharp + rng.normal(scale=0.05, size=BATCH_SHAPE), 0, 1).astype("float32")
    dataset = _SameBatches(blurry, sharp, steps)
    models = _models(preset)
    paths = {
        "fit(PyDataset)": (lambda model: _fit_step_ms(model, dataset), rounds),
        "train_on_batch(arrays)": (
            lambda model: _train_on_batch_ms(model, blurry, sharp), rounds * steps
        ),
    }
    rows = []
    for path, (run, repeats) in paths.items():
        for model in models.values():
            run(model)  # warm-up: tracing and compilation
        times = {name: [] for name in models}
        for _ in range(repeats):
            for name, model in models.items():
                times[name].extend(run(model))
        rows.append((path, times["without"], times["with"]))
    return rows


def check_alone_ms(repeats=200):
    """ms of `batch_problems` + `left_out` on one batch, compiled (the check's own ops)."""
    blurry = keras.ops.convert_to_tensor(np.random.default_rng(0).uniform(size=BATCH_SHAPE))
    blurry = keras.ops.cast(blurry, "float32")
    sharp = blurry * 0.5

    def check(blurry, sharp):
        problems, sharp = input_checks.batch_problems(blurry, sharp)
        return (
            problems,
            input_checks.left_out(problems, blurry),
            input_checks.left_out(problems, sharp),
        )

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        compiled = jax.jit(check)
    elif backend == "tensorflow":
        import tensorflow as tf

        compiled = tf.function(check, jit_compile=True)
    else:
        compiled = check
    keras.ops.convert_to_numpy(compiled(blurry, sharp)[0])
    start = time.perf_counter()
    for _ in range(repeats):
        keras.ops.convert_to_numpy(compiled(blurry, sharp)[0])
    return 1000 * (time.perf_counter() - start) / repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["lite", "patent"])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per row")
    parser.add_argument("--steps", type=int, default=4, help="timed steps per round")
    parser.add_argument("--note", default="", help="what else ran on the machine")
    args = parser.parse_args()

    print(
        f"keras-attn-deblur {keras_attn_deblur.__version__}, Keras {keras.__version__}, "
        f"backend {keras.backend.backend()}, {describe_cpu()}"
        + (f"; {args.note}" if args.note else "")
    )
    print(f"batch {BATCH_SHAPE[0]} x {BATCH_SHAPE[1]}x{BATCH_SHAPE[2]}, float32, "
          f"{args.rounds} x {args.steps} steps per row and side")  # fmt: skip
    print()
    print("| preset | path | ms/step without check (min / median) | with check (min / median) "
          "| overhead (min / median) |")  # fmt: skip
    print("|---|---|---|---|---|")
    for preset in args.presets:
        for path, without, with_check in measure(preset, args.rounds, args.steps):
            lows = min(without), min(with_check)
            mids = statistics.median(without), statistics.median(with_check)
            print(
                f"| {preset} | {path} | {lows[0]:.0f} / {mids[0]:.0f} | {lows[1]:.0f} / "
                f"{mids[1]:.0f} | {100 * (lows[1] / lows[0] - 1):+.1f}% / "
                f"{100 * (mids[1] / mids[0] - 1):+.1f}% |"
            )
    print(f"| - | the check's keras.ops alone, compiled, one batch | - | {check_alone_ms():.2f} | - |")


if __name__ == "__main__":
    main()
