"""Scores a trained model by the SPEC protocol and packages it as the bundled weights.

How to run (from the project root, after `python release/train.py`):

    python release/evaluate.py --hours 2.0 --hardware "2 CPU cores (AMD EPYC)"

1. The model (`--model`, default the run's `best.keras`) is written with
   `save_pretrained(weights_dtype="float16")` to a staging folder: these
   are the weights that ship.
2. `attn-deblur evaluate` scores that folder, with the blurry-input and
   unsharp-mask baselines, on both validation sets; the per-image CSVs go to
   `release/<preset>/evaluation/`.
3. The float32 model is scored too, to measure what float16 storage costs.
4. The folder is written again, with the measured numbers, the training data
   and the budget in its model card, to `--output` (by default the package's
   `keras_attn_deblur/weights/<preset>/`, which `from_pretrained("<preset>")`
   loads offline), and `release/<preset>/RESULTS.md` and the training-curve
   plot `docs/images/training_curve.png` are written.
"""

import argparse
import csv
import json
import math
import os
import shutil
import sys
import tempfile
import textwrap

import numpy as np

from keras_attn_deblur import cli
from keras_attn_deblur import data
from keras_attn_deblur import evaluation
from keras_attn_deblur import hub

HUB_ID = "keras-attn-deblur/attn-deblur-{preset}"
SETS = (
    # (key, folder under the data dir, dataset name for the card, configuration)
    ("gopro_val", "val_gopro", "GoPro GOPR0477_11_00 frames 201-299",
     "frame-averaged (7-13 frames, gamma 2.2), 22 pairs, 1280x720"),
    ("cbsd68_val", "val_photos", "CBSD68 synthetic blur",
     "SyntheticMotionBlur with fixed seeds on the 68 whole photos"),
)  # fmt: skip
MEASURES = ("psnr", "ssim", "ssim_matlab")


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="patent")
    parser.add_argument("--run-dir", default=os.path.join("runs", "release", "patent"))
    parser.add_argument("--model", default=None, help="default: <run-dir>/best.keras")
    parser.add_argument("--data-dir", default=os.path.join("runs", "release", "data"))
    parser.add_argument("--output", default=None, help="default: the package's weights folder")
    parser.add_argument("--release-dir", default=None, help="default: release/<preset>")
    parser.add_argument(
        "--hours", type=float, default=None,
        help="training wall time (default: the run's release_recipe.json)",
    )
    parser.add_argument("--hardware", required=True, help="what it was trained on")
    parser.add_argument("--plot", default=os.path.join("docs", "images", "training_curve.png"))
    return parser


def read_means(csv_path):
    """Means over images of every score column of an evaluation CSV."""
    with open(csv_path, newline="", encoding="utf-8") as file:
        rows = [row for row in csv.DictReader(file) if not row.get("error")]
    columns = [key for key in rows[0] if key != "name" and key != "error"]
    return len(rows), {key: float(np.mean([float(row[key]) for row in rows])) for key in columns}


def card_entry(name, config, count, means, method=""):
    prefix = f"{method}_" if method else ""
    entry = {"dataset": name, "split": "validation", "dataset_config": config,
             "num_images": count, "protocol": evaluation.PROTOCOL}  # fmt: skip
    for key in MEASURES:
        entry[key] = means[prefix + key]
        entry[f"input_{key}"] = means[f"input_{key}"]
    return entry


def crop_input_psnr(folder, crop):
    """Mean PSNR of the blurry inputs on the centre crops that training validated on."""
    values = []
    for pair in data.folder_pairs(os.path.join(folder, "blur"), os.path.join(folder, "sharp")):
        blurry, sharp = data.load_image(pair.blurry), data.load_image(pair.sharp)
        if crop:
            blurry, sharp = data.center_crop_pair(blurry, sharp, crop)
        error = np.mean((np.float64(blurry) - np.float64(sharp)) ** 2)
        values.append(10 * np.log10(1.0 / error))
    return float(np.mean(values))


def plot_curve(log_path, plot_path, title, input_psnr):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    with open(log_path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    epochs = [int(row["epoch"]) + 1 for row in rows]
    figure, (loss_axis, psnr_axis) = pyplot.subplots(1, 2, figsize=(9, 3.2), dpi=110)
    loss_axis.plot(epochs, [float(row["loss"]) for row in rows], marker=".")
    loss_axis.set(xlabel="epoch", ylabel="training loss (MSE)", yscale="log")
    psnr_axis.plot(epochs, [float(row["val_psnr"]) for row in rows], marker=".",
                   label="validation, restored")  # fmt: skip
    psnr_axis.axhline(input_psnr, color="gray", linestyle="--", label="validation, blurry input")
    psnr_axis.set(xlabel="epoch", ylabel="PSNR (dB)")
    psnr_axis.legend()
    figure.suptitle(textwrap.fill(title, 110), fontsize=9)
    figure.tight_layout()
    os.makedirs(os.path.dirname(plot_path) or ".", exist_ok=True)
    partial = plot_path + ".partial.png"
    figure.savefig(partial)
    os.replace(partial, plot_path)


def main(argv=None):
    args = build_parser().parse_args(argv)
    model_path = args.model or os.path.join(args.run_dir, "best.keras")
    output = args.output or os.fspath(hub.BUNDLED_WEIGHTS_DIR / args.preset)
    release_dir = args.release_dir or os.path.join("release", args.preset)
    evaluation_dir = os.path.join(release_dir, "evaluation")
    os.makedirs(evaluation_dir, exist_ok=True)
    model = cli.load_model(model_path, warn_untrained=False)
    log_path = os.path.join(args.run_dir, "log.csv")
    with open(log_path, newline="", encoding="utf-8") as file:
        epochs = len(list(csv.DictReader(file)))
    with open(os.path.join(args.run_dir, "release_recipe.json"), encoding="utf-8") as file:
        recipe = json.load(file)
    recipe["steps_done"] = epochs * math.ceil(recipe["steps"] / recipe["epochs"])
    if args.hours is not None:
        recipe["hours"] = args.hours
    recipe["hardware"] = args.hardware

    staging = tempfile.mkdtemp(prefix="release-")
    try:
        shipped = os.path.join(staging, "model")
        model.save_pretrained(shipped, weights_dtype="float16")
        results = {}
        for key, folder, name, config in SETS:
            blurry = os.path.join(args.data_dir, folder, "blur")
            sharp = os.path.join(args.data_dir, folder, "sharp")
            csv_path = os.path.join(evaluation_dir, f"{key}.csv")
            command = ["evaluate", "--blurry", blurry, "--sharp", sharp, "--model", shipped,
                       "--baseline", "input", "unsharp", "--csv", csv_path, "--quiet"]  # fmt: skip
            print("attn-deblur " + " ".join(command), flush=True)
            if cli.main(command) != 0:
                raise SystemExit(f"evaluate: error: scoring {key} failed")
            count, means = read_means(csv_path)
            full = evaluation.evaluate_pairs(
                model, data.folder_pairs(blurry, sharp), progress=False
            ).means["model"]
            results[key] = (name, config, count, means, full)

        shipped_model = hub.from_pretrained(type(model), shipped)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    training = (
        f"Trained with the package's own recipe by `python release/train.py` "
        f"(`attn-deblur train`): {_budget(recipe)}. The checkpoint with the best "
        "validation PSNR is shipped, its weights stored in float16.\n\n"
        "This is a small training budget for a network of this size (papers train "
        "deblurring networks for days on GPUs); the numbers below are what it reached, "
        "and later releases resume from these weights.\n\n"
        "Reproduce: `python release/build_data.py && python release/train.py` (the same "
        "command resumes a killed run), then `python release/evaluate.py --hours H "
        "--hardware TEXT`. Training pairs: frames 1-200 of the GoPro sequence "
        "GOPR0477_11_00 averaged over 7-13 frames (190 pairs) and 128 crops of the sharp "
        "training photos with synthetic non-uniform motion blur. No validation image or "
        "frame was trained on."
    )
    metrics = [card_entry(name, config, count, means)
               for name, config, count, means, _ in results.values()]  # fmt: skip
    shipped_model.save_pretrained(
        output,
        metrics=metrics,
        repo_id=HUB_ID.format(preset=args.preset),
        model_name=f"AttnDeblurNet ({args.preset}), keras-attn-deblur release",
        datasets=("gopro_sequence", "synthetic_photos"),
        training=training,
        weights_dtype="float16",
        overwrite_card=True,
    )
    report = _report(results, args, recipe)
    with open(os.path.join(release_dir, "RESULTS.md"), "w", encoding="utf-8") as file:
        file.write(report)
    print(report)
    input_psnr = crop_input_psnr(os.path.join(args.data_dir, "val_all"), recipe["val_crop"])
    plot_curve(log_path, args.plot, f"AttnDeblurNet ({args.preset}): {recipe['steps_done']:,} "
               f"steps, {args.hardware}; validation on {recipe['val_crop']}x{recipe['val_crop']} "
               "centre crops of both sets", input_psnr)  # fmt: skip
    print(f"bundled model written to '{output}'; training curve '{args.plot}'")
    return 0


def _budget(recipe):
    """The training budget in words, from the run's release_recipe.json."""
    start = f"from `{recipe['from_model']}`" if recipe.get("from_model") else "from scratch"
    precision = recipe["mixed_precision"]
    precision = "float32" if precision in (None, "none") else f"mixed {precision}"
    return (
        f"preset `{recipe['preset']}` {start}, {recipe['steps_done']:,} steps of batch "
        f"{recipe['batch_size']} ({recipe['steps_done'] * recipe['batch_size']:,} patches of "
        f"{recipe['patch_size']}x{recipe['patch_size']}) out of a {recipe['steps']:,}-step "
        f"cosine schedule, {recipe['loss'].upper()} loss, Adam with a peak learning rate of "
        f"{recipe['learning_rate']:g}, {precision}, on {recipe['hardware']} in "
        f"{recipe['hours']:.2f} hours"
    )


def _report(results, args, recipe):
    lines = [
        f"# Release evaluation: AttnDeblurNet ({args.preset})",
        "",
        f"Budget: {_budget(recipe)}. Weights stored in float16. "
        f"Protocol: {evaluation.PROTOCOL}.",
        "",
        "| validation set | images | method | PSNR (dB) | SSIM | SSIM (matlab) | PSNR vs input |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, _, count, means, _ in results.values():
        for method, title in (("", "restored"), ("input", "blurry input"),
                              ("unsharp", "unsharp mask")):  # fmt: skip
            prefix = f"{method}_" if method else ""
            gain = means[prefix + "psnr"] - means["input_psnr"]
            lines.append(
                f"| {name} | {count} | {title} | {means[prefix + 'psnr']:.2f} | "
                f"{means[prefix + 'ssim']:.4f} | {means[prefix + 'ssim_matlab']:.4f} | "
                + ("" if method == "input" else f"{gain:+.2f} dB") + " |"
            )
    lines += ["", "float16 weight storage against the float32 checkpoint (restored PSNR):", ""]
    for name, _, _, means, full in results.values():
        lines.append(
            f"- {name}: float32 {full['psnr']:.3f} dB, float16 {means['psnr']:.3f} dB "
            f"(change {means['psnr'] - full['psnr']:+.3f} dB)"
        )
    lines += ["", "Per-image scores: `evaluation/*.csv` next to this file.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
