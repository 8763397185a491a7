"""Training and inference speed on a GPU (JAX), against the card's measured peak.

Measures, on this machine's default JAX device (a GPU when one is lent; the
CPU otherwise), for the SPEC network `AttnDeblurNet()` ("patent", random
weights):

1. the device's peak: TFLOP/s of an n x n x n `keras.ops.matmul` in float32
   and bfloat16, best of 3 (n = 8192; JAX runs float32 matmuls and
   convolutions on tensor cores in TF32 by default on Ampere and newer GPUs,
   so the float32 peak and the float32 rows share that precision);
2. training throughput: patches/s of `train_on_batch` with the package's
   recipe (`compile_for_deblurring`, Charbonnier loss, PSNR/SSIM metrics) at
   256 x 256, for the largest batch among 64, 32, 16, 8 that fits in memory
   (tried largest first, each in a fresh process), in mixed bfloat16 and in
   float32; achieved TFLOP/s counts 3 x the forward FLOPs per patch
   (forward, and a backward pass of about twice the forward);
3. inference: milliseconds per 1280 x 720 frame (`predict_on_batch`, one
   frame per batch) in float32 and bfloat16.

FLOPs per pixel = 2 x `model.multiply_adds_per_pixel()`, counted from the
model (convolutions only). Each measurement runs in a fresh process: one
out-of-memory batch does not disturb the next, and compilation is not
timed (two warm-up steps first).

`--distribute data_parallel` trains on every GPU of the host (the global
batch split over them); the peak is then one device's, times the count.

How to run:
    KERAS_BACKEND=jax python benchmarks/gpu_training.py
    KERAS_BACKEND=jax python benchmarks/gpu_training.py --distribute data_parallel
    KERAS_BACKEND=jax python benchmarks/gpu_training.py --quick   # smoke run on a CPU
"""

import argparse
import datetime
import json
import os
import sys
import time

import numpy as np

import _fresh_process  # benchmarks/_fresh_process.py, next to this script

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FULL = {
    "preset": "patent", "patch": 256, "batches": (64, 32, 16, 8), "steps": 20,
    "frame": (720, 1280), "frames": 10, "matmul": 8192,
}  # fmt: skip
# A smoke run: the small preset, small patches and frames.
QUICK = {
    "preset": "lite", "patch": 32, "batches": (4, 2), "steps": 3,
    "frame": (144, 256), "frames": 3, "matmul": 1024,
}  # fmt: skip
PRECISIONS = ("bfloat16", "float32")


# === Child processes: one measurement each ===


def _device():
    import keras

    if keras.backend.backend() == "jax":
        import jax

        devices = jax.devices()
        return {"name": devices[0].device_kind, "platform": devices[0].platform,
                "count": len(devices)}  # fmt: skip
    return {"name": "default device", "platform": keras.backend.backend(), "count": 1}


def _sync(tensor):
    """Waits for `tensor` (on JAX without copying it to the host)."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return jax.block_until_ready(tensor)
    return keras.ops.convert_to_numpy(tensor)


def measure_peak(size):
    """TFLOP/s of an n x n x n matmul, float32 and bfloat16, best of 3."""
    import keras

    rng = np.random.default_rng(0)
    result = {}
    for dtype in PRECISIONS:
        left = keras.ops.cast(rng.random((size, size), "float32"), dtype)
        right = keras.ops.cast(rng.random((size, size), "float32"), dtype)
        _sync(keras.ops.matmul(left, right))  # warm-up
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            _sync(keras.ops.matmul(left, right))
            best = min(best, time.perf_counter() - started)
        result[dtype] = 2 * size**3 / best / 1e12
    return {"peak_tflops": result, "device": _device()}


def measure_training(preset, precision, batch, patch, steps, distribute=None):
    """Patches/s of `train_on_batch`; `{"oom": True}` when the batch does not fit."""
    from keras_attn_deblur import AttnDeblurNet
    from keras_attn_deblur import training

    model = AttnDeblurNet.from_preset(preset)
    multiply_adds = model.multiply_adds_per_pixel()
    rng = np.random.default_rng(0)
    sharp = rng.random((batch, patch, patch, 3), dtype="float32")
    blurry = np.clip(sharp + rng.normal(0, 0.05, sharp.shape), 0, 1).astype("float32")
    try:
        model = training.compile_for_deblurring(
            model, mixed_precision=precision, jit_compile=True, distribute=distribute
        )
        for _ in range(2):  # tracing and compilation
            model.train_on_batch(blurry, sharp)
        started = time.perf_counter()
        for _ in range(steps):
            loss = model.train_on_batch(blurry, sharp)  # returns floats: synchronous
        seconds = (time.perf_counter() - started) / steps
    except Exception as error:  # JAX: XlaRuntimeError RESOURCE_EXHAUSTED
        if "RESOURCE_EXHAUSTED" in str(error) or "out of memory" in str(error).lower():
            return {"oom": True}
        raise
    return {
        "seconds_per_step": seconds,
        "loss": float(np.ravel(loss)[0]),
        "multiply_adds_per_pixel": multiply_adds,
    }


def measure_inference(preset, precision, height, width, frames):
    """Milliseconds per frame of `predict_on_batch`, one frame per batch."""
    from keras_attn_deblur import AttnDeblurNet

    policy = "mixed_bfloat16" if precision == "bfloat16" else "float32"
    model = AttnDeblurNet.from_preset(preset, dtype=policy)
    output_conv = model.get_layer("output_conv")  # not the identity
    kernel, bias = output_conv.get_weights()
    rng = np.random.default_rng(0)
    output_conv.set_weights([rng.normal(0, 0.02, kernel.shape).astype(kernel.dtype), bias])
    frame = rng.random((1, height, width, 3), dtype="float32")
    _sync(model.predict_on_batch(frame))  # tracing and compilation
    started = time.perf_counter()
    for _ in range(frames):
        _sync(model.predict_on_batch(frame))
    seconds = (time.perf_counter() - started) / frames
    return {
        "seconds_per_frame": seconds,
        "multiply_adds_per_pixel": model.multiply_adds_per_pixel(),
    }


def _child(spec):
    kind = spec.pop("kind")
    measurements = {
        "peak": measure_peak, "training": measure_training, "inference": measure_inference,
    }  # fmt: skip
    if kind not in measurements:
        raise ValueError(f"Unknown measurement {kind!r}")
    return measurements[kind](**spec)


def run_child(spec, timeout):
    """Runs one measurement of this script in a fresh interpreter; returns its JSON result."""
    return _fresh_process.run_child(__file__, spec, timeout)


# === Report ===


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--distribute", choices=("none", "data_parallel"), default="none",
        help="train data-parallel on every device of the host (none)",
    )
    parser.add_argument("--preset", default=None, help="patent (lite with --quick)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per measurement")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return

    import keras  # only for the backend's name and version

    sizes = dict(QUICK if args.quick else FULL)
    if args.preset:
        sizes["preset"] = args.preset
    started = time.perf_counter()
    peak = run_child({"kind": "peak", "size": sizes["matmul"]}, args.timeout)
    device = peak["device"]
    devices_used = device["count"] if args.distribute == "data_parallel" else 1
    print(
        f"# GPU training benchmark, {datetime.date.today()}: Keras {keras.__version__}, "
        f"backend {keras.backend.backend()}; {device['count']} x {device['name']} "
        f"({device['platform']}), {devices_used} used for training; model "
        f"AttnDeblurNet.from_preset('{sizes['preset']}'), random weights",
        flush=True,
    )
    peak_tflops = peak["peak_tflops"]
    print(
        f"measured peak ({sizes['matmul']}^3 matmul, one device): float32 "
        f"{peak_tflops['float32']:.1f} TFLOP/s, bfloat16 {peak_tflops['bfloat16']:.1f} TFLOP/s"
    )

    rows = []
    patch = sizes["patch"]
    for precision in PRECISIONS:
        for batch in sizes["batches"]:
            if batch % devices_used:
                continue
            result = run_child({
                "kind": "training", "preset": sizes["preset"], "precision": precision,
                "batch": batch, "patch": patch, "steps": sizes["steps"],
                "distribute": None if args.distribute == "none" else args.distribute,
            }, args.timeout)  # fmt: skip
            if result.get("oom"):
                print(f"  training {precision}, batch {batch}: out of memory", file=sys.stderr)
                continue
            patches_per_second = batch / result["seconds_per_step"]
            flops = 3 * 2 * result["multiply_adds_per_pixel"] * patch * patch * patches_per_second
            rows.append((f"training {patch}x{patch}", precision, str(batch),
                         f"{patches_per_second:,.1f} patches/s",
                         flops / 1e12, peak_tflops[precision] * devices_used))  # fmt: skip
            break  # the largest batch that fits
        else:
            rows.append((f"training {patch}x{patch}", precision, "none fits", "-", None, None))
    height, width = sizes["frame"]
    for precision in PRECISIONS:
        result = run_child({
            "kind": "inference", "preset": sizes["preset"], "precision": precision,
            "height": height, "width": width, "frames": sizes["frames"],
        }, args.timeout)  # fmt: skip
        seconds = result["seconds_per_frame"]
        flops = 2 * result["multiply_adds_per_pixel"] * height * width / seconds
        rows.append((f"inference {width}x{height}", precision, "1",
                     f"{seconds * 1000:,.1f} ms/frame", flops / 1e12,
                     peak_tflops[precision]))  # fmt: skip

    print("\n| measurement | precision | batch | speed | TFLOP/s | % of peak |")
    print("|---|---|---|---|---|---|")
    for label, precision, batch, speed, achieved, row_peak in rows:
        if achieved is None:
            print(f"| {label} | {precision} | {batch} | {speed} | - | - |")
            continue
        print(f"| {label} | {precision} | {batch} | {speed} | {achieved:.2f} | "
              f"{100 * achieved / row_peak:.0f}% |")  # fmt: skip
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
