"""Training with pairs made on the device vs. pairs made on the host (JAX), patches/s.

Compares, for the same network, loss, batch and patch size, on this machine's
default JAX device:

1. **on-device synthesis**: `SynthesisTrainer` (one jitted step:
   `PairSynthesizer` makes the batch from sources in device memory, then
   forward, loss, gradients, update), with synthetic blur of photo crops only
   and with the release mixture (75% GoPro frame averaging);
2. **host PyDataset**: `model.fit` on `data.SyntheticBlurDataset` (the NumPy
   `SyntheticMotionBlur` in worker threads) over the same photo crops.

Also printed: the time the device spends making one batch, and the time the
host takes to make one batch alone (one thread). On a CPU both paths share
the same two cores, so the gain shows as the synthesis cost; on a GPU the
host path leaves the device waiting whenever a batch takes longer to make
than a step.

How to run (after `python release/pack_device.py`, which writes `.device/`):
    KERAS_BACKEND=jax python benchmarks/device_synthesis.py
    KERAS_BACKEND=jax python benchmarks/device_synthesis.py --preset lite --patch 64 --steps 3
"""

import argparse
import glob
import os
import sys
import time


PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(PROJECT_ROOT, "release"))

import device_train  # noqa: E402  (release/device_train.py: reads .device/)


def on_device(model_config, sources, batch, patch, steps, frame_fraction):
    import jax
    import keras

    from keras_attn_deblur import AttnDeblurNet
    from keras_attn_deblur import PSNRLoss
    from keras_attn_deblur.data import PairSynthesizer
    from keras_attn_deblur.jax_training import SynthesisTrainer

    model = AttnDeblurNet.from_config(model_config)
    synthesizer = PairSynthesizer(patch_size=patch, frame_fraction=frame_fraction, seed=0)
    trainer = SynthesisTrainer(model, keras.optimizers.AdamW(1e-4), PSNRLoss(), synthesizer, batch)
    if frame_fraction == 0:
        sources = {key: value for key, value in sources.items() if key != "frames"}
    sources = trainer.put(**sources)
    trainer.compile(sources)
    for _ in range(2):
        jax.block_until_ready(trainer.step(sources, 1e-4))
    started = time.perf_counter()
    for _ in range(steps):
        metrics = trainer.step(sources, 1e-4)
    jax.block_until_ready(metrics)
    seconds = (time.perf_counter() - started) / steps
    return batch / seconds, trainer.synthesis_seconds(sources)


def on_host(model_config, photo_paths, batch, patch, steps, workers):
    from keras_attn_deblur import AttnDeblurNet
    from keras_attn_deblur import data
    from keras_attn_deblur import training

    def dataset(count):
        return data.SyntheticBlurDataset(
            photo_paths, batch_size=batch, patch_size=patch, margin=20, rotate=True, seed=0,
            steps_per_epoch=count, workers=workers,
        )  # fmt: skip

    alone = dataset(steps)
    started = time.perf_counter()
    for index in range(steps):
        alone[index]
    making = (time.perf_counter() - started) / steps

    model = training.compile_for_deblurring(
        AttnDeblurNet.from_config(model_config), loss="psnr", optimizer="adamw",
        learning_rate=1e-4, ssim_variants=(),
    )  # fmt: skip
    model.fit(dataset(2), epochs=1, verbose=0)  # compilation
    started = time.perf_counter()
    model.fit(dataset(steps), epochs=1, verbose=0)
    seconds = (time.perf_counter() - started) / steps
    return batch / seconds, making


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device-dir", default=os.path.join(PROJECT_ROOT, ".device"))
    parser.add_argument("--preset", default="patent")
    parser.add_argument("--patch", type=int, default=128)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--frames", type=int, default=40, help="frames loaded (40)")
    parser.add_argument("--workers", type=int, default=2, help="host data threads (2)")
    args = parser.parse_args()

    import jax
    import keras

    from keras_attn_deblur import AttnDeblurNet
    from keras_attn_deblur._utils.machine import describe_cpu

    if keras.backend.backend() != "jax":
        raise SystemExit("device_synthesis: error: run with KERAS_BACKEND=jax")
    config = AttnDeblurNet.from_preset(args.preset).get_config()
    sources = device_train.load_sources(args.device_dir, max_frames=args.frames)
    photo_paths = sorted(glob.glob(os.path.join(args.device_dir, "photos", "*.jpg")))
    rows = []
    for label, fraction in (("on device: synthetic blur of photo crops", 0.0),
                            ("on device: 75% frame averaging + 25% photos", 0.75)):  # fmt: skip
        rate, making = on_device(config, sources, args.batch, args.patch, args.steps, fraction)
        rows.append((label, rate, f"{1000 * making:.0f} ms on the device"))
    rate, making = on_host(config, photo_paths, args.batch, args.patch, args.steps, args.workers)
    rows.append((f"host PyDataset ({args.workers} threads): synthetic blur", rate,
                 f"{1000 * making:.0f} ms on the host (1 thread)"))  # fmt: skip

    device = jax.devices()[0]
    print(f"\n{args.preset} network, float32, batch {args.batch} x {args.patch}x{args.patch}, "
          f"{args.steps} steps; {device.platform} ({device.device_kind}), "
          f"{describe_cpu()}, JAX {jax.__version__}\n")  # fmt: skip
    print("| training path | patches/s | making one batch |")
    print("|---|---|---|")
    for label, rate, making in rows:
        print(f"| {label} | {rate:.2f} | {making} |")


if __name__ == "__main__":
    main()
