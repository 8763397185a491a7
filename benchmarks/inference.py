"""Inference speed and memory of `deblur`, against the machine's measured peak.

Measures, on this machine and Keras backend, for the SPEC network
`AttnDeblurNet()` ("patent"; random weights, with a random output
convolution so that the network is not the identity):

1. the machine's peak in the same framework: GFLOP/s of a large matrix
   product (`keras.ops.matmul`, n x n x n) and of a large 5 x 5 convolution
   (`keras.ops.conv`), in float32 and bfloat16, best of 3, measured before
   and after the rows (the faster op and run is the peak);
2. `deblur` on 256 x 256, 1280 x 720 and 3840 x 2160 (tiled, tile size
   chosen from the default memory budget) in float32, bfloat16 and int8
   (the int8 rows only for a model with an int8 build: `--model patent`),
   and a 24-megapixel photo (6000 x 4000, tiled, bfloat16): milliseconds per
   megapixel of the image, achieved GFLOP/s (FLOPs per pixel = 2 x
   `model.multiply_adds_per_pixel()`, counted from the model, over the
   image's pixels, so padding and tile overlaps count against it), the
   fraction of the matching peak, and the peak resident memory
   (VmHWM) of a fresh process per row;
3. on a real photo (a GoPro frame pair from ../shared/data when present: 11
   consecutive 240 fps frames averaged, the middle frame sharp; else a
   generated picture): the PSNR change from float32 to bfloat16, between the
   two outputs and against the sharp frame; the same for int8 when the
   model has an int8 build;
4. tiled vs whole image with the same network on that photo resized to
   3840 x 2160 (4K): the PSNR between them and the largest difference
   farther than the overlap from any seam, with the default overlap (32) and
   tile size and with an overlap of the network's receptive-field radius
   (seams far from every pixel's receptive field).

`--model` measures a trained model (a preset with bundled weights, a
`save_pretrained` folder or a `.keras` file) instead of the random-weight
SPEC network; the quality numbers (3, 4) mean most with trained weights.
`--part speed` runs 1-2 only, `--part quality` 3-4 only.

Each timed row first runs the network once on the row's tile shape
(tracing and compilation), then times `deblur` on a uint8 photo. Other jobs
on the machine make timings noisy; rerun for stable numbers.

How to run:
    KERAS_BACKEND=tensorflow python benchmarks/inference.py
    KERAS_BACKEND=jax python benchmarks/inference.py --backend-note "JAX 0.10, CPU"
    KERAS_BACKEND=tensorflow python benchmarks/inference.py --quick   # smoke run, small sizes
    KERAS_BACKEND=tensorflow python benchmarks/inference.py --part quality --model patent
    KERAS_BACKEND=tensorflow python benchmarks/inference.py --part speed --model patent --rows 1280x720
"""

import argparse
import datetime
import json
import os
import sys
import time

import numpy as np
from PIL import Image

import _fresh_process  # benchmarks/_fresh_process.py, next to this script

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOPRO_FRAMES = os.path.join(PROJECT_ROOT, "..", "shared", "data", "gopro_GOPR0477_11_00", "frames")
FIRST_FRAME = 200  # frames 201-299 are the validation range of ../shared/data
FRAMES_AVERAGED = 11

# (label, height, width, precision, extra deblur options)
FULL_ROWS = (
    ("256x256", 256, 256, "float32", {}),
    ("1280x720", 720, 1280, "float32", {}),
    ("3840x2160 (4K), tiled", 2160, 3840, "float32", {}),
    ("256x256", 256, 256, "bfloat16", {}),
    ("1280x720", 720, 1280, "bfloat16", {}),
    ("3840x2160 (4K), tiled", 2160, 3840, "bfloat16", {}),
    ("6000x4000 (24 MP), tiled", 4000, 6000, "bfloat16", {}),
    ("256x256", 256, 256, "int8", {}),
    ("1280x720", 720, 1280, "int8", {}),
    ("3840x2160 (4K), tiled", 2160, 3840, "int8", {}),
)
# A smoke run: small sizes; a small memory budget forces tiling.
QUICK_ROWS = (
    ("64x64", 64, 64, "float32", {}),
    ("256x144", 144, 256, "float32", {}),
    ("512x288, tiled", 288, 512, "float32", {"memory_budget_mb": 48}),
    ("64x64", 64, 64, "bfloat16", {}),
    ("256x144", 144, 256, "bfloat16", {}),
    ("512x288, tiled", 288, 512, "bfloat16", {"memory_budget_mb": 48}),
    ("900x600, tiled", 600, 900, "bfloat16", {"memory_budget_mb": 48}),
    ("256x144", 144, 256, "int8", {}),
    ("512x288, tiled", 288, 512, "int8", {"memory_budget_mb": 48}),
)
PHOTO_SIZES = {"full": (720, 1280), "quick": (144, 256)}
TILING_SIZES = {"full": (2160, 3840), "quick": (288, 512)}


# === Child processes: one measurement each, so that each peak RSS is its own ===


def _peak_rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load_model(spec=None):
    """The model of a measurement: `spec` loaded, or the random-weight SPEC network."""
    import keras

    from keras_attn_deblur import AttnDeblurNet

    if spec:  # a preset, a bundled name, a save_pretrained folder, a .keras file or a Hub id
        return AttnDeblurNet.from_pretrained(spec, allow_untrained=True)
    keras.utils.set_random_seed(0)
    model = AttnDeblurNet()
    output_conv = model.get_layer("output_conv")
    kernel, bias = output_conv.get_weights()
    rng = np.random.default_rng(0)
    output_conv.set_weights([rng.normal(0.0, 0.02, kernel.shape).astype("float32"), bias])
    return model


def _photo(height, width):
    """A blurry uint8 photo of this size: averaged GoPro frames, resized; or generated."""
    if _has_gopro():
        blurry, _ = _gopro_pair()
        image = Image.fromarray(blurry)
    else:
        rng = np.random.default_rng(0)
        image = Image.fromarray((rng.random((45, 80, 3)) * 255).astype("uint8"))
    if image.size != (width, height):
        image = image.resize((width, height), Image.BICUBIC)
    return np.asarray(image)


def _has_gopro():
    names = sorted(os.listdir(GOPRO_FRAMES)) if os.path.isdir(GOPRO_FRAMES) else []
    return len(names) >= FIRST_FRAME + FRAMES_AVERAGED


def _gopro_pair():
    """(blurry, sharp) uint8 1280 x 720: 11 frames averaged (GoPro's `blur/`), the middle one."""
    from keras_attn_deblur import data

    names = sorted(os.listdir(GOPRO_FRAMES))[FIRST_FRAME : FIRST_FRAME + FRAMES_AVERAGED]
    frames = [data.load_image(os.path.join(GOPRO_FRAMES, name)) for name in names]
    blurry = data.average_frames(frames, space="linear")
    sharp = frames[FRAMES_AVERAGED // 2]
    return (np.rint(np.clip(blurry, 0, 1) * 255).astype("uint8"),
            np.rint(sharp * 255).astype("uint8"))  # fmt: skip


def measure_peak(size):
    """GFLOP/s of the framework's fastest large ops, float32 and bfloat16, best of 3.

    An n x n x n `keras.ops.matmul` and a 5 x 5, 64 -> 64 channel
    `keras.ops.conv` on a 1 x 512 x 512 x 64 input (the network's own kind
    of operation; 53.7 GFLOP).
    """
    import keras

    rng = np.random.default_rng(0)

    def best_rate(operation, flops):
        keras.ops.convert_to_numpy(operation())  # warm-up
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            keras.ops.convert_to_numpy(operation())
            best = min(best, time.perf_counter() - started)
        return flops / best / 1e9

    def tensor(shape, dtype):
        return keras.ops.cast(keras.ops.convert_to_tensor(rng.random(shape, "float32")), dtype)

    result = {}
    for dtype in ("float32", "bfloat16"):
        left, right = tensor((size, size), dtype), tensor((size, size), dtype)
        features, kernel = tensor((1, 512, 512, 64), dtype), tensor((5, 5, 64, 64), dtype)
        result[dtype] = {
            "matmul": best_rate(lambda: keras.ops.matmul(left, right), 2 * size**3),
            "conv": best_rate(
                lambda: keras.ops.conv(features, kernel, padding="same"), 2 * 25 * 64 * 64 * 512**2
            ),
        }
    return result


def measure_row(height, width, precision, options, model=None):
    """Times `deblur` on a uint8 photo; returns the numbers of one table row."""
    from keras_attn_deblur import inference

    model = _load_model(model)
    photo = _photo(height, width)
    deblurrer = inference.Deblurrer(model, precision=precision, **options)
    plan = deblurrer.plan(height, width)
    network = deblurrer.network
    # Warm-up on the row's tile shape: tracing and compilation are not timed.
    network.predict_on_batch(np.zeros((1, plan.tile_height, plan.tile_width, 3), "float32"))
    repeats = 3 if height * width <= 256 * 256 else 1
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        deblurrer(photo)
        best = min(best, time.perf_counter() - started)
    return {
        "seconds": best,
        "tiles": plan.tile_count,
        "tile": f"{plan.tile_height}x{plan.tile_width}",
        "computed_pixels": plan.computed_pixels,
        "peak_rss_mib": _peak_rss_mib(),
        "multiply_adds_per_pixel": model.multiply_adds_per_pixel(),
    }


def measure_precision(height, width, model=None):
    """float32 vs bfloat16 outputs on the photo, and their PSNR to its sharp frame."""
    from keras_attn_deblur import inference

    model = _load_model(model)
    photo = _photo(height, width)
    precisions = ("float32", "bfloat16") + (("int8",) if _has_int8_build(model) else ())
    outputs = {
        precision: inference.deblur(model, photo, precision=precision) / 255.0
        for precision in precisions
    }
    result = {"between": _psnr(outputs["float32"], outputs["bfloat16"])}
    if "int8" in outputs:
        result["between_int8"] = _psnr(outputs["float32"], outputs["int8"])
    if _has_gopro() and (height, width) == (720, 1280):
        blurry, sharp = (image / 255.0 for image in _gopro_pair())
        result["input"] = _psnr(sharp, blurry)
        for precision, output in outputs.items():
            result[precision] = _psnr(sharp, output)
    return result


def _has_int8_build(model):
    from keras_attn_deblur.inference import int8

    try:
        return int8.find_int8_build(model) is not None
    except ImportError:
        return False


def measure_tiling(height, width, tile_size=None, model=None):
    """Tiled vs whole (float32): PSNR and the largest far-from-seam difference."""
    from keras_attn_deblur import inference

    model = _load_model(model)
    photo = _photo(height, width).astype("float32") / 255
    _, radius = model.receptive_field()
    whole = inference.deblur(model, photo, memory_budget_mb=10**6)
    default_tile = inference.plan_tiles(model, height, width, tile_size=tile_size).tile_height
    results = []
    for overlap, size in ((32, tile_size), (radius, max(default_tile, 4 * radius))):
        tiled = inference.deblur(model, photo, tile_overlap=overlap, tile_size=size)
        plan = inference.plan_tiles(model, height, width, tile_overlap=overlap, tile_size=size)
        far = _seam_distance(plan) > overlap
        difference = np.abs(whole - tiled).max(axis=-1)
        results.append({
            "overlap": overlap,
            "tiles": plan.tile_count,
            "tile": f"{plan.tile_height}x{plan.tile_width}",
            "psnr": _psnr(whole, tiled),
            "max_far": float(difference[far].max()) if far.any() else float("nan"),
            "max_all": float(difference.max()),
            "far_fraction": float(far.mean()),
        })  # fmt: skip
    return {"radius": radius, "results": results, "peak_rss_mib": _peak_rss_mib()}


def _seam_distance(plan):
    def axis_distance(seams, size):
        positions = np.arange(size)
        distance = np.full(size, size)
        for seam in seams:  # the rows seam - 1 and seam are both on the seam
            to_seam = np.minimum(abs(positions - seam), abs(positions - seam + 1))
            distance = np.minimum(distance, to_seam)
        return distance

    rows, columns = plan.seams()
    return np.minimum(
        axis_distance(rows, plan.height)[:, None], axis_distance(columns, plan.width)[None, :]
    )


def _psnr(reference, image, max_val=1.0):
    error = np.mean((np.asarray(reference, "float64") - np.asarray(image, "float64")) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(max_val**2 / error))


def _child(spec):
    kind = spec.pop("kind")
    if kind == "peak":
        return measure_peak(**spec)
    if kind == "row":
        return measure_row(**spec)
    if kind == "precision":
        return measure_precision(**spec)
    if kind == "has_int8":
        return _has_int8_build(_load_model(spec["model"]))
    if kind == "tiling":
        return measure_tiling(**spec)
    raise ValueError(f"Unknown measurement {kind!r}")


def run_child(spec, timeout=3600):
    """Runs one measurement of this script in a fresh interpreter; returns its JSON result."""
    return _fresh_process.run_child(__file__, spec, timeout)


# === Report ===


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--part", choices=("all", "speed", "quality"), default="all",
        help="speed: peak and timed rows; quality: bfloat16 change and tiled vs whole (all)",
    )
    parser.add_argument(
        "--model", default=None,
        help="a trained model (preset with bundled weights, folder, .keras file); "
        "default: the SPEC network with random weights",
    )
    parser.add_argument(
        "--rows", nargs="+", default=None, metavar="LABEL",
        help="only the speed rows whose input label starts with one of these, e.g. 1280x720",
    )
    parser.add_argument("--backend-note", default="", help="free text added to the header")
    parser.add_argument("--matmul-size", type=int, default=None, help="n of the peak matmul")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return

    import keras  # only for the backend's name and version

    from keras_attn_deblur._utils.machine import describe_cpu

    started = time.perf_counter()
    model_name = args.model or "AttnDeblurNet() (SPEC), random weights"
    print(
        f"# deblur benchmark, {datetime.date.today()}: Keras {keras.__version__}, backend "
        f"{keras.backend.backend()}{', ' + args.backend_note if args.backend_note else ''}; "
        f"{describe_cpu()}; model {model_name}; "
        "other jobs may share the machine",
        flush=True,
    )
    size = "quick" if args.quick else "full"
    if args.part in ("all", "speed"):
        report_speed(args)
    if args.part in ("all", "quality"):
        report_quality(args, PHOTO_SIZES[size], TILING_SIZES[size])
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


def report_speed(args):
    rows = QUICK_ROWS if args.quick else FULL_ROWS
    if args.rows:
        labels = sorted({row[0] for row in rows})
        rows = tuple(row for row in rows if row[0].startswith(tuple(args.rows)))
        if not rows:
            raise SystemExit(f"inference: error: --rows {' '.join(args.rows)} matches no row; "
                             f"the rows are {', '.join(labels)} (separate several by spaces)")
    matmul_size = args.matmul_size or (1024 if args.quick else 4096)
    peaks = [run_child({"kind": "peak", "size": matmul_size})]
    if not run_child({"kind": "has_int8", "model": args.model}):
        print("(no int8 rows: the model has no int8 build; --model patent has one)")
        rows = tuple(row for row in rows if row[3] != "int8")
    results = []
    for label, height, width, precision, options in rows:
        row = run_child({
            "kind": "row", "height": height, "width": width, "precision": precision,
            "options": options, "model": args.model,
        })  # fmt: skip
        results.append((label, height, width, precision, row))
        print(f"  {label} {precision}: {row['seconds']:.1f} s", file=sys.stderr, flush=True)

    # The peak is measured before and after the rows; the best of both counts.
    peaks.append(run_child({"kind": "peak", "size": matmul_size}))
    peak = {}
    for dtype in ("float32", "bfloat16"):
        rates = {op: max(measured[dtype][op] for measured in peaks) for op in ("matmul", "conv")}
        peak[dtype] = max(rates.values())
        print(
            f"measured peak, {dtype}: {rates['matmul']:.0f} GFLOP/s ({matmul_size}^3 matmul), "
            f"{rates['conv']:.0f} GFLOP/s (5x5 conv, 64->64 channels, 512x512); "
            f"best of runs before and after the rows"
        )
    flops_per_pixel = 2 * results[0][4]["multiply_adds_per_pixel"]
    print(f"network: {flops_per_pixel / 1e6:.2f} MFLOP per pixel "
          "(2 x multiply_adds_per_pixel())\n")  # fmt: skip
    print("| input | precision | tiles (size) | ms / MP | s / image | GFLOP/s | % of peak "
          "| peak RSS |\n|---|---|---|---|---|---|---|---|")  # fmt: skip
    speed = {}
    for label, height, width, precision, row in results:
        megapixels = height * width / 1e6
        milliseconds_per_megapixel = row["seconds"] * 1000 / megapixels
        achieved = flops_per_pixel * height * width / row["seconds"] / 1e9
        speed[(label, precision)] = milliseconds_per_megapixel
        print(
            f"| {label} | {precision} | {row['tiles']} ({row['tile']}) | "
            f"{milliseconds_per_megapixel:,.0f} | {row['seconds']:.1f} | {achieved:.0f} | "
            f"{_fraction(achieved, peak.get(precision))} | {row['peak_rss_mib'] / 1024:.2f} GB |"
        )
    print("(int8: no int8 peak is measured; its GFLOP/s count the float FLOPs of the network)")
    print()
    for label, _, _, precision, _ in results:
        for faster in ("bfloat16", "int8"):
            if precision == "float32" and (label, faster) in speed:
                ratio = speed[(label, "float32")] / speed[(label, faster)]
                print(f"{faster} speed-up over float32, {label}: x{ratio:.2f}")
        if precision == "bfloat16" and (label, "int8") in speed:
            ratio = speed[(label, "bfloat16")] / speed[(label, "int8")]
            print(f"int8 speed-up over bfloat16, {label}: x{ratio:.2f}")


def _fraction(achieved, peak):
    return f"{100 * achieved / peak:.0f}%" if peak else "–"


def report_quality(args, photo_size, tiling_size):
    height, width = photo_size
    change = run_child(
        {"kind": "precision", "height": height, "width": width, "model": args.model}
    )
    line = (
        f"PSNR(bfloat16 output, float32 output) on the {width}x{height} photo: "
        f"{change['between']:.1f} dB"
    )
    if "float32" in change:
        line += (
            f"; PSNR to the sharp middle frame: input {change['input']:.2f} dB, float32 "
            f"{change['float32']:.2f} dB, bfloat16 {change['bfloat16']:.2f} dB (change "
            f"{change['bfloat16'] - change['float32']:+.3f} dB)"
        )
    print(line, flush=True)
    if "between_int8" in change:
        line = (
            f"PSNR(int8 output, float32 output) on the {width}x{height} photo: "
            f"{change['between_int8']:.1f} dB"
        )
        if "int8" in change:
            line += (
                f"; PSNR to the sharp middle frame: int8 {change['int8']:.2f} dB (change "
                f"{change['int8'] - change['float32']:+.3f} dB)"
            )
        print(line, flush=True)

    height, width = tiling_size
    tiling = run_child({
        "kind": "tiling", "height": height, "width": width, "model": args.model,
        "tile_size": 128 if args.quick else None,  # None: chosen from the memory budget
    })  # fmt: skip
    print(f"receptive field radius: {tiling['radius']} px")
    for result in tiling["results"]:
        print(
            f"tiled vs whole, {width}x{height} float32, overlap {result['overlap']}, "
            f"{result['tiles']} tiles of {result['tile']}: PSNR {result['psnr']:.1f} dB, "
            f"max |difference| {result['max_far']:.1e} farther than the overlap from a seam "
            f"({100 * result['far_fraction']:.0f}% of pixels), {result['max_all']:.1e} anywhere "
            f"(1/255 = 3.9e-03)"
        )
    print(f"peak RSS of the tiling comparison (whole image included): "
          f"{tiling['peak_rss_mib'] / 1024:.2f} GB")  # fmt: skip


if __name__ == "__main__":
    main()
