"""Trains the bundled weights further on a lent accelerator, until a wall-clock deadline.

Run by `bash release/device_train.sh` (which installs the carried wheels and
sets the JAX backend), on the accelerator machine, with `.device/` from
`python release/pack_device.py` carried along. `--rehearse` runs the same
path on this CPU with a tiny model and a few seconds of training.

1. Loads the sources into device memory: GoPro GOPR0477 frames 1-200
   (uint8), the sharp photo crops and the kernel bank of `.device/`.
2. Starts from `--init` (default: the bundled `patent` weights) in mixed
   bfloat16 and measures the device's bf16 matmul peak.
3. Compiles one XLA step (`SynthesisTrainer`: `PairSynthesizer` makes the
   batch on the device, then forward, PSNR loss, gradients, AdamW) for the
   largest batch up to `--max-batch` that XLA's memory analysis says fits
   (one compile when it does; no out-of-memory trials).
4. Trains until `--deadline` seconds after the start: linear warm-up, then a
   cosine decay re-fitted to the time left, so it ends at the deadline.
5. Every `--save-every` seconds and at the end, writes `$OUT/model/` (a
   `save_pretrained` folder, float16 weights) and `$OUT/train_log.json`
   (steps, loss, PSNR, patches/s, TFLOP/s, MFU against the measured peak,
   the share of step time spent making data, the 1280x720 inference time):
   a timeout still leaves weights. Nothing else is written under `$OUT`.
"""

import argparse
import concurrent.futures
import glob
import json
import math
import os
import sys
import tempfile
import time

import numpy as np

LOG_NAME = "train_log.json"
MODEL_DIR = "model"


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device-dir", default=".device", help="from release/pack_device.py")
    parser.add_argument("--out", default=os.environ.get("OUT") or os.path.join("out", "device"))
    parser.add_argument(
        "--init", default="patent",
        help="start from these weights: a bundled name, a save_pretrained folder or a .keras file",
    )  # fmt: skip
    parser.add_argument(
        "--started", type=float, default=None,
        help="epoch seconds the run started (device_train.sh passes its own start)",
    )  # fmt: skip
    parser.add_argument("--deadline", type=float, default=560.0,
                        help="stop training this many seconds after the start (560)")  # fmt: skip
    parser.add_argument("--save-every", type=float, default=60.0, help="seconds (60)")
    parser.add_argument("--log-every", type=int, default=25, help="steps (25)")
    parser.add_argument("--patch-size", type=int, default=256)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--frame-fraction", type=float, default=0.5,
                        help="share of each batch from the GoPro frames (0.5)")  # fmt: skip
    parser.add_argument(
        "--frames-per-pair", type=int, nargs=2, default=(7, 41), metavar=("LOW", "HIGH"),
        help="frames averaged per GoPro pair, odd counts (7 41): frames 1-200 move slowly, "
        "so GoPro's 7-13 blur them far less than the validation frames",
    )  # fmt: skip
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rehearse", action="store_true",
                        help="this CPU: a tiny model, 32x32 patches, a few seconds")  # fmt: skip
    parser.add_argument("--rehearse-seconds", type=float, default=6.0)
    return parser


# === Sources ===


def _decode_all(paths):
    from PIL import Image

    def decode(path):
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 4) as pool:
        return np.stack(list(pool.map(decode, paths)))


def load_sources(device_dir, max_frames=None):
    """The frames (the first `max_frames`), photo crops and kernel bank of pack_device.py."""
    manifest_path = os.path.join(device_dir, "manifest.json")
    if not os.path.isfile(manifest_path):
        raise SystemExit(
            f"device_train: error: '{manifest_path}' is missing: run "
            "'python release/pack_device.py' first and carry .device"
        )
    with open(manifest_path, encoding="utf-8") as file:
        manifest = json.load(file)
    frames = sorted(glob.glob(os.path.join(device_dir, "frames", "*.jpg")))
    photos = sorted(glob.glob(os.path.join(device_dir, "photos", "*.jpg")))
    if len(frames) != manifest["frames"] or len(photos) != manifest["photos"]:
        raise SystemExit(
            f"device_train: error: '{device_dir}' holds {len(frames)} frames and "
            f"{len(photos)} photos, the manifest says {manifest['frames']} and "
            f"{manifest['photos']}: run 'python release/pack_device.py' again"
        )
    with np.load(os.path.join(device_dir, "kernels.npz")) as bank:
        kernels = bank["kernels"].astype("float32")
    kernels /= kernels.sum(axis=(1, 2), keepdims=True)
    return {"frames": _decode_all(frames[:max_frames]), "photos": _decode_all(photos),
            "kernels": kernels}  # fmt: skip


# === Device measurements ===


def measure_peak(size):
    """TFLOP/s of an n x n x n bfloat16 matmul, best of 3 (the MFU denominator)."""
    import jax
    import jax.numpy as jnp

    left = jnp.ones((size, size), "bfloat16")
    right = jnp.ones((size, size), "bfloat16")
    matmul = jax.jit(jnp.matmul)
    matmul(left, right).block_until_ready()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        matmul(left, right).block_until_ready()
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e12


def measure_inference(trainer, height, width, repeats=5):
    """Milliseconds per frame of the trained network at height x width (bf16, jitted)."""
    import jax

    model = trainer.model
    trainable, non_trainable = trainer.state[0], trainer.state[1]

    @jax.jit
    def predict(frame):
        return model.stateless_call(trainable, non_trainable, frame, training=False)[0]

    frame = jax.numpy.full((1, height, width, 3), 0.5, "float32")
    predict(frame).block_until_ready()
    started = time.perf_counter()
    for _ in range(repeats):
        output = predict(frame)
    output.block_until_ready()
    return 1000 * (time.perf_counter() - started) / repeats


def _device_memory():
    import jax

    try:
        stats = jax.devices()[0].memory_stats() or {}
    except Exception:
        stats = {}
    return stats.get("bytes_limit")


# === Training ===


class RunLog:
    """`$OUT/train_log.json`, rewritten atomically at every change."""

    def __init__(self, path, **header):
        self.path = path
        self.record = {**header, "rows": [], "saves": [], "status": "starting"}

    def update(self, **fields):
        self.record.update(fields)
        self.write()

    def write(self):
        partial = self.path + ".partial"
        with open(partial, "w", encoding="utf-8") as file:
            json.dump(self.record, file, indent=1)
        os.replace(partial, self.path)


def learning_rate(step, peak, warmup, total):
    """Linear warm-up from 0 at step 0 to `peak` at step `warmup`, then cosine to 1% of
    `peak` at `total`: the schedule `compile_for_deblurring` gives Keras (`CosineDecay`)."""
    if step < warmup:
        return peak * step / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))


def make_trainer(model, args, batch_size):
    import keras

    from keras_attn_deblur import PSNRLoss
    from keras_attn_deblur.data import PairSynthesizer
    from keras_attn_deblur.jax_training import SynthesisTrainer

    optimizer = keras.optimizers.AdamW(
        learning_rate=args.learning_rate, weight_decay=args.weight_decay, beta_2=0.99
    )
    synthesizer = PairSynthesizer(
        patch_size=args.patch_size, frame_fraction=args.frame_fraction,
        frames_per_pair=tuple(args.frames_per_pair), seed=args.seed,
    )  # fmt: skip
    return SynthesisTrainer(model, optimizer, PSNRLoss(), synthesizer, batch_size)


def choose_batch(model, args, sources, log):
    """The largest batch up to --max-batch whose compiled step fits in 85% of device memory."""
    limit = _device_memory()
    batch = args.max_batch
    while True:
        trainer = make_trainer(model, args, batch)
        memory = trainer.compile(sources)
        need = None
        if memory:
            need = memory.get("argument_size_in_bytes", 0) + memory.get(
                "temp_size_in_bytes", 0
            ) + memory.get("output_size_in_bytes", 0) - memory.get("alias_size_in_bytes", 0)
        log.update(batch_size=batch, compile_seconds=round(trainer.compile_seconds, 1),
                   memory_analysis=memory, device_memory_bytes=limit)  # fmt: skip
        if limit is None or need is None or need <= 0.85 * limit or batch == 1:
            return trainer
        batch = max(1, 2 ** int(math.log2(batch * 0.85 * limit / need)))


def save(trainer, out, log, step, elapsed, training_text):
    from keras_attn_deblur import hub

    model = trainer.write_back()
    started = time.perf_counter()
    hub.save_pretrained(
        model, os.path.join(out, MODEL_DIR), weights_dtype="float16", training=training_text,
        overwrite_card=True,
    )  # fmt: skip
    log.record["saves"].append(
        {"step": step, "seconds": round(elapsed, 1), "save_seconds": round(time.perf_counter() - started, 2)}
    )
    log.write()


def main(argv=None):
    args = build_parser().parse_args(argv)
    started = args.started or time.time()
    os.makedirs(args.out, exist_ok=True)
    import jax
    import keras

    from keras_attn_deblur import AttnDeblurNet
    from keras_attn_deblur import hub
    from keras_attn_deblur.data.synthetic import odd_frame_counts
    from keras_attn_deblur.models import with_dtype

    if keras.backend.backend() != "jax":
        raise SystemExit("device_train: error: set KERAS_BACKEND=jax (device_train.sh does)")
    try:  # before any device time goes to loading and compiling
        odd_frame_counts(args.frames_per_pair)
    except ValueError as error:
        raise SystemExit(f"device_train: error: --frames-per-pair: {error}") from None
    device = jax.devices()[0]
    log = RunLog(
        os.path.join(args.out, LOG_NAME),
        device=f"{device.platform}: {device.device_kind}", jax=jax.__version__,
        keras=keras.__version__, arguments=vars(args),
    )  # fmt: skip
    # A busy CPU rehearsal can measure well under 0.05 TFLOP/s: keep significant digits, not
    # decimals, and divide by the exact figure.
    peak = measure_peak(512 if args.rehearse else 8192)
    log.update(peak_bf16_tflops=float(f"{peak:.4g}"))

    init = args.init
    if args.rehearse:  # a tiny model through the same loading path as the real weights
        args.patch_size, args.max_batch, args.log_every = 32, 2, 2
        init = os.path.join(tempfile.mkdtemp(prefix="rehearse-"), "tiny")
        tiny = AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3)
        hub.save_pretrained(tiny, init)
    sources = load_sources(args.device_dir)
    model = AttnDeblurNet.from_pretrained(init)
    model = with_dtype(model, "mixed_bfloat16")
    multiply_adds = model.multiply_adds_per_pixel()
    log.update(
        init=args.init if not args.rehearse else "rehearsal tiny model", parameters=model.count_params(),
        multiply_adds_per_pixel=multiply_adds, patch_size=args.patch_size,
        sources={key: list(value.shape) for key, value in sources.items()},
        load_seconds=round(time.time() - started, 1),
    )  # fmt: skip

    for key in ("frames", "photos", "kernels"):
        sources[key] = jax.device_put(sources[key])
    trainer = choose_batch(model, args, sources, log)
    batch = trainer.batch_size
    log.update(synthesis_ms=round(1000 * trainer.synthesis_seconds(sources), 2))
    deadline = started + args.deadline
    if args.rehearse:
        deadline = time.time() + args.rehearse_seconds
    flops_per_patch = 3 * 2 * multiply_adds * args.patch_size**2  # forward + ~2x backward
    training_text = (
        f"Continued from `{args.init}` on {log.record['device']} by `release/device_train.sh`: "
        f"PairSynthesizer batches made on the device ({args.frame_fraction:.0%} GoPro GOPR0477 "
        f"frames 1-200 averaged over {args.frames_per_pair[0]}-{args.frames_per_pair[1]} "
        "frames, the rest synthetic non-uniform blur of "
        f"sharp photo crops), batch {batch} x {args.patch_size}x{args.patch_size}, PSNR loss, "
        f"AdamW (peak {args.learning_rate:g}, weight decay {args.weight_decay:g}), warm-up "
        "then cosine decay to the deadline, mixed bfloat16."
    )

    step, total = 0, None
    train_started = time.time()
    last_log_time, last_log_step = train_started, 0
    host_seconds = 0.0
    next_save = train_started + args.save_every
    log.update(status="training", train_started_seconds=round(train_started - started, 1))
    while time.time() < deadline:
        host_started = time.perf_counter()
        rate = learning_rate(step, args.learning_rate, args.warmup_steps, total or 10**9)
        metrics = trainer.step(sources, rate)
        host_seconds += time.perf_counter() - host_started
        step += 1
        if step % args.log_every and time.time() < next_save:
            continue
        values = {key: float(value) for key, value in metrics.items()}  # waits for the step
        now = time.time()
        seconds = now - last_log_time
        patches_per_second = (step - last_log_step) * batch / seconds
        tflops = patches_per_second * flops_per_patch / 1e12
        steps_per_second = (step - last_log_step) / seconds
        total = step + int(max(0.0, deadline - now) * steps_per_second)
        log.record["rows"].append({
            "step": step, "seconds": round(now - started, 1), "loss": round(values["loss"], 4),
            "psnr": round(values["psnr"], 3), "input_psnr": round(values["input_psnr"], 3),
            "learning_rate": rate, "patches_per_second": round(patches_per_second, 2),
            "tflops": round(tflops, 2), "mfu": round(tflops / peak, 4),
            "host_fraction": round(host_seconds / seconds, 4),
        })  # fmt: skip
        log.write()
        print(f"step {step}: loss {values['loss']:.3f}, psnr {values['psnr']:.2f} "
              f"(input {values['input_psnr']:.2f}), {patches_per_second:.1f} patches/s, "
              f"{tflops:.1f} TFLOP/s", flush=True)  # fmt: skip
        last_log_time, last_log_step, host_seconds = now, step, 0.0
        if now >= next_save:
            save(trainer, args.out, log, step, now - started, training_text)
            next_save = time.time() + args.save_every

    train_seconds = time.time() - train_started
    patches = step * batch
    log.update(status="saving", steps=step, patches=patches,
               train_seconds=round(train_seconds, 1))  # fmt: skip
    save(trainer, args.out, log, step, time.time() - started, training_text)
    rows = log.record["rows"]
    steady = rows[1:] or rows
    if steady:
        mean_rate = float(np.mean([row["patches_per_second"] for row in steady]))
        log.update(patches_per_second=round(mean_rate, 2),
                   mfu=round(float(np.mean([row["mfu"] for row in steady])), 4),
                   synthesis_fraction=round(log.record["synthesis_ms"] / 1000 * mean_rate / batch, 4))  # fmt: skip
    frame = (144, 256) if args.rehearse else (720, 1280)
    log.update(inference_ms=round(measure_inference(trainer, *frame), 1),
               inference_size=f"{frame[1]}x{frame[0]}", status="finished",
               total_seconds=round(time.time() - started, 1))  # fmt: skip
    print(f"finished: {step} steps x {batch} = {patches} patches in {train_seconds:.0f} s; "
          f"weights '{os.path.join(args.out, MODEL_DIR)}', log '{log.path}'")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
