"""Scores trained weights by the SPEC protocol; ships them only if they are better.

How to run (from the project root, with `runs/release/data` from build_data.py):

    python release/evaluate.py --run-dir runs/release/patent-2   # a CPU run
    python release/evaluate.py --model out/device/model      # a lent accelerator's weights

1. The model (`--model`: a `.keras` file or a `save_pretrained` folder;
   default the CPU run's `best.keras`) is written with
   `save_pretrained(weights_dtype="float16")` to a staging folder: these
   are the weights that would ship.
2. `evaluation.evaluate_pairs` scores the model loaded back from that
   folder, with the blurry-input and unsharp-mask baselines, on both
   validation sets (a per-image CSV each; the card holds the CSV's means);
   the float32 model is scored too, to measure what float16 storage costs.
3. The bundled weights are scored again in the same run, on this machine
   and at the same precision (float32 by default), and the restored PSNR of
   the new weights is compared with theirs: unless both sets improve by at
   least `--min-gain` dB (0.02, the scatter of re-scoring the same float16
   weights: see `release/patent/RESULTS.md`), nothing is written and the
   bundled weights stay (`--force` overrides). Every such gain ships, so
   that the next run, on any machine, starts from it.
4. Otherwise the folder is written, with the measured numbers, the training
   data and every run's budget (`release/<preset>/budget.json`) in its model
   card, to `--output` (by default the package's
   `keras_attn_deblur/weights/<preset>/`, which `from_pretrained("<preset>")`
   loads offline), and the per-image CSVs in `release/<preset>/evaluation/`,
   `release/<preset>/RESULTS.md` and the training-curve plot
   `docs/images/training_curve.png` are written.

The run's budget comes from `train_log.json` beside a device run's model
folder, or from a CPU run folder's `release_recipe.json` (which records the
machine; `--hardware` names it for runs that predate that) and `log.csv`. A
run that started from another unshipped run's weights brings that run's
budget along (`earlier_runs`).
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

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import data
from keras_attn_deblur import evaluation
from keras_attn_deblur import hub
from keras_attn_deblur.models.presets import PRESETS

import device_train  # noqa: E402  (release/, this script's folder)
import train  # noqa: E402

HUB_ID = "keras-attn-deblur/attn-deblur-{preset}"
SETS = (
    # (key, folder under the data dir, dataset name for the card, configuration)
    ("gopro_val", "val_gopro", "GoPro GOPR0477_11_00 frames 201-299",
     "frame-averaged (7-13 frames, gamma 2.2), 22 pairs, 1280x720"),
    ("cbsd68_val", "val_photos", "CBSD68 synthetic blur",
     "SyntheticMotionBlur with fixed seeds on the 68 whole photos"),
)  # fmt: skip
MEASURES = ("psnr", "ssim", "ssim_matlab")
# What re-scoring the same float16 weights moves the restored PSNR by (another machine, float32
# against bfloat16 compute, float16 against float32 storage), measured in RESULTS.md: a smaller
# gain is not a gain.
MIN_GAIN = 0.02


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
    parser.add_argument(
        "--hardware", default=None,
        help="what it was trained on (default: what the device log or release_recipe.json "
        "records)",
    )
    parser.add_argument(
        "--device-log", default=None,
        help="train_log.json of a device run (default: the one beside --model's folder)",
    )
    parser.add_argument(
        "--min-gain", type=float, default=MIN_GAIN,
        help="replace the bundled weights only if the restored PSNR of both validation sets "
        f"gains at least this much (dB) over the bundled weights scored in the same run "
        f"({MIN_GAIN}: the re-scoring scatter)",
    )
    parser.add_argument(
        "--precision", choices=("float32", "bfloat16"), default="float32",
        help="the compute precision of every score, new and bundled weights alike (float32)",
    )
    parser.add_argument("--force", action="store_true", help="replace them anyway")
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


def validation_words(crop, val_set):
    """What a CPU run validated on, for its curve's title."""
    where = f"{crop}x{crop} centre crops" if crop else "whole images"
    sets = {"all": "both sets", "gopro": "the GoPro frames", "photos": "CBSD68"}[val_set]
    return f"validation on {where} of {sets}"


def plot_curve(log_path, plot_path, title, input_psnr, loss="mse"):
    """Draws a CPU run's `log.csv` to `plot_path`; returns the figure."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    with open(log_path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    epochs = [int(row["epoch"]) + 1 for row in rows]
    figure, (loss_axis, psnr_axis) = pyplot.subplots(1, 2, figsize=(9, 3.2), dpi=110)
    losses = [float(row["loss"]) for row in rows]
    loss_axis.plot(epochs, losses, marker=".")
    # The PSNR loss is minus a PSNR: negative, so on a linear axis.
    loss_axis.set(xlabel="epoch", ylabel=f"training loss ({loss.upper()})",
                  yscale="log" if min(losses) > 0 else "linear")  # fmt: skip
    psnr_axis.plot(epochs, [float(row["val_psnr"]) for row in rows], marker=".",
                   label="validation, restored")  # fmt: skip
    psnr_axis.axhline(input_psnr, color="gray", linestyle="--", label="validation, blurry input")
    psnr_axis.set(xlabel="epoch", ylabel="PSNR (dB)")
    psnr_axis.legend()
    _save_figure(figure, title, plot_path)
    return figure


def describe_run(model_path, *, run_dir, preset, device_log=None, hardware=None,
                 default_hardware=None, hours=None):
    """The training run behind `model_path`, for the budget: a dict (see `_budget`).

    A device run (`release/device_train.sh`) is read from the `train_log.json`
    beside its model folder (or `device_log`); a CPU run from `run_dir`'s
    `release_recipe.json` and `log.csv`. Its hardware: `hardware`, else what
    the log or recipe records, else `default_hardware`.
    """
    if device_log is None and os.path.isdir(model_path):
        beside = os.path.join(os.path.dirname(os.path.abspath(model_path)), device_train.LOG_NAME)
        device_log = beside if os.path.isfile(beside) else None
    if device_log is not None:
        with open(device_log, encoding="utf-8") as file:
            log = json.load(file)
        arguments = log["arguments"]
        steps = log.get("steps") or (log["rows"][-1]["step"] if log["rows"] else 0)
        started = arguments.get("started")
        return {
            "preset": preset, "from_model": log.get("init") or arguments.get("init"),
            "started": started and train.utc_stamp(started),
            "steps": steps, "steps_done": steps, "batch_size": log["batch_size"],
            "patch_size": log["patch_size"], "loss": "psnr", "optimizer": "AdamW",
            "learning_rate": arguments["learning_rate"], "mixed_precision": "bfloat16",
            "hours": (log.get("train_seconds") or 0) / 3600,
            "hardware": hardware or log["device"], "schedule": "warm-up and cosine decay",
            "log": "curve", "rows": log["rows"], "folder": os.path.dirname(device_log),
        }  # fmt: skip
    log_path = os.path.join(run_dir, "log.csv")
    with open(log_path, newline="", encoding="utf-8") as file:
        epochs = len(list(csv.DictReader(file)))
    with open(os.path.join(run_dir, train.RECIPE_FILE), encoding="utf-8") as file:
        recipe = json.load(file)
    recipe["steps_done"] = epochs * math.ceil(recipe["steps"] / recipe["epochs"])
    if hours is not None:
        recipe["hours"] = hours
    hardware = hardware or recipe.get("hardware") or default_hardware
    if not hardware:
        raise SystemExit(
            f"evaluate: error: '{run_dir}' does not record what it trained on: pass --hardware "
            "(e.g. '2 CPU cores (Intel Xeon, AVX-512 BF16, no AMX), TensorFlow 2.21')"
        )
    schedule = cpu_schedule(recipe)
    recipe.update(hardware=hardware, optimizer="Adam", schedule=schedule, log=log_path,
                  folder=run_dir)  # fmt: skip
    return recipe


def cpu_schedule(recipe):
    """A CPU run's learning-rate schedule (and weight average) in words, from its recipe."""
    steps, warmup = f"{recipe['steps']:,}", recipe.get("warmup_steps")
    if recipe.get("final_lr_ratio", 0.01) == 1.0:  # the peak held: a constant rate
        schedule = (f"{warmup:,}-step linear warm-up, then a constant rate" if warmup
                    else "a constant rate")  # fmt: skip
    elif warmup:
        schedule = f"{steps}-step schedule: {warmup:,}-step linear warm-up, then cosine decay"
    else:
        schedule = f"{steps}-step cosine schedule"
    if recipe.get("ema_momentum"):
        schedule += f", moving average of the weights (momentum {recipe['ema_momentum']:g})"
    return schedule


LOCAL_KEYS = ("rows", "log", "folder")  # what a run's description holds for this script only


def _identity(entry):
    """What tells one run from another in budget.json: not its hardware, hours or sessions,
    which a later description may word or count differently."""
    ignored = ("hardware", "hours", "sessions", *LOCAL_KEYS)
    return json.dumps({k: v for k, v in entry.items() if k not in ignored}, sort_keys=True)


def earlier_runs(args, run, history):
    """The runs behind `run`'s starting model that `history` does not count yet, oldest first.

    A run that starts from another run's weights (a device run's model folder,
    a CPU run's `best.keras` or `model/`) carries that run's budget too, so
    that the card counts every step behind the weights it ships. The chain
    stops at a preset name (the bundled weights, already counted), at a run
    `history` already holds, or at `run`'s own folder. A start that is not
    here, or whose training nobody recorded, is refused: the card would
    undercount.
    """
    chain, source = [], run.get("from_model")
    folders = {os.path.abspath(run["folder"])}
    counted = {_identity(entry) for entry in history}
    while source and source not in PRESETS:
        path = train.located_source(source)
        folder = os.path.dirname(os.path.abspath(path))
        if folder in folders:  # a run folder that names itself: counted once
            break
        folders.add(folder)
        device_log = os.path.join(folder, device_train.LOG_NAME)
        recipe = os.path.join(folder, train.RECIPE_FILE)
        missing = (
            "it is not here" if not os.path.exists(path) else
            "no train_log.json beside it, no release_recipe.json in its folder"
            if not (os.path.isfile(device_log) or os.path.isfile(recipe)) else None
        )  # fmt: skip
        if missing:
            raise SystemExit(
                f"evaluate: error: the weights go back to '{source}', whose training is unknown "
                f"({missing}), so the card would undercount the budget: put that run's folder "
                "back, or record bundled weights by their preset name (--from-model patent)"
            )
        device_run = os.path.isfile(device_log)
        earlier = describe_run(
            path, run_dir=folder, preset=args.preset,
            device_log=device_log if device_run else None,
            default_hardware=None if device_run else args.hardware,
        )  # fmt: skip
        if _identity(earlier) in counted:
            break
        chain.insert(0, earlier)
        source = earlier.get("from_model")
    return chain


def bundled_psnr(folder, set_pairs, precision):
    """{dataset: restored PSNR} of the weights in `folder` now, scored here on `set_pairs`
    ({dataset: pairs}) at `precision`, as the new weights are (empty if there are none)."""
    if not os.path.isfile(os.path.join(folder, "metadata.json")):
        return {}
    model = AttnDeblurNet.from_pretrained(folder)
    scores = {}
    for name, pairs in set_pairs.items():
        print(f"scoring the bundled weights on {name}", flush=True)
        summary = evaluation.evaluate_pairs(model, pairs, progress=False, precision=precision)
        scores[name] = summary.means["model"]["psnr"]
    return scores


def compare(results, current, min_gain):
    """(replace?, lines): every set must improve on `current` by at least `min_gain` dB."""
    lines, better = [], True
    for name, _, _, means, _ in results.values():
        needed = min_gain
        before = current.get(name)
        gain = None if before is None else means["psnr"] - before
        ok = gain is None or gain >= needed
        better = better and ok
        lines.append(
            f"  {name}: {means['psnr']:.3f} dB"
            + ("" if before is None else f" vs bundled {before:.3f} dB ({gain:+.3f}; "
               f"needs {needed:+.2f})") + ("" if ok else "  NOT BETTER")
        )  # fmt: skip
    return better, lines


def main(argv=None):
    args = build_parser().parse_args(argv)
    model_path = args.model or os.path.join(args.run_dir, "best.keras")
    output = args.output or os.fspath(hub.layout.BUNDLED_WEIGHTS_DIR / args.preset)
    release_dir = args.release_dir or os.path.join("release", args.preset)
    evaluation_dir = os.path.join(release_dir, "evaluation")
    run = describe_run(
        model_path, run_dir=args.run_dir, preset=args.preset, device_log=args.device_log,
        hardware=args.hardware, hours=args.hours,
    )  # fmt: skip
    history = read_history(release_dir)
    earlier = earlier_runs(args, run, history)  # before the scoring, which takes minutes
    model = AttnDeblurNet.from_pretrained(model_path)

    staging = tempfile.mkdtemp(prefix="release-")
    try:
        shipped = os.path.join(staging, "model")
        model.save_pretrained(shipped, weights_dtype="float16")
        shipped_model = hub.from_pretrained(type(model), shipped)  # the float16 weights
        results, set_pairs = {}, {}
        for key, folder, name, config in SETS:
            blurry = os.path.join(args.data_dir, folder, "blur")
            sharp = os.path.join(args.data_dir, folder, "sharp")
            csv_path = os.path.join(staging, f"{key}.csv")
            pairs = set_pairs[name] = data.folder_pairs(blurry, sharp)
            print(f"scoring {key}: {len(pairs)} pairs", flush=True)
            summary = evaluation.evaluate_pairs(
                shipped_model, pairs, baselines=("input", "unsharp"), csv_path=csv_path,
                progress=False, precision=args.precision,
            )  # fmt: skip
            print(summary.table(), flush=True)
            if summary.failed:
                raise SystemExit(
                    f"evaluate: error: scoring {key} failed: {len(summary.failed)} pairs could "
                    f"not be scored (first: {summary.failed[0]})"
                )
            # The card holds the means of the per-image CSV that ships (6 decimals).
            count, means = read_means(csv_path)
            full = evaluation.evaluate_pairs(
                model, pairs, progress=False, precision=args.precision
            ).means["model"]
            results[key] = (name, config, count, means, full)

        current = bundled_psnr(output, set_pairs, args.precision)
        better, lines = compare(results, current, args.min_gain)
        print(f"restored PSNR of the new weights (float16, {args.precision}):\n" + "\n".join(lines))
        if not better and not args.force:
            print(f"kept the bundled weights in '{output}': the new ones are not better on "
                  "every validation set (--force replaces them anyway)")  # fmt: skip
            return 0
        os.makedirs(evaluation_dir, exist_ok=True)
        for key, *_ in SETS:
            shutil.copyfile(os.path.join(staging, f"{key}.csv"),
                            os.path.join(evaluation_dir, f"{key}.csv"))  # fmt: skip
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    counted = {_identity(entry) for entry in history}
    for entry in [*earlier, run]:  # a run shipped before (re-scored with --force) counts once
        if _identity(entry) not in counted:
            history.append({key: value for key, value in entry.items() if key not in LOCAL_KEYS})
    metrics = [card_entry(name, config, count, means)
               for name, config, count, means, _ in results.values()]  # fmt: skip
    shipped_model.save_pretrained(
        output,
        metrics=metrics,
        repo_id=HUB_ID.format(preset=args.preset),
        model_name=f"AttnDeblurNet ({args.preset}), keras-attn-deblur release",
        datasets=("gopro_sequence", "synthetic_photos"),
        training=training_text(history),
        weights_dtype="float16",
        overwrite_card=True,
    )
    write_history(release_dir, history)
    report = _report(results, args, history, current)
    with open(os.path.join(release_dir, "RESULTS.md"), "w", encoding="utf-8") as file:
        file.write(report)
    print(report)
    title = f"AttnDeblurNet ({args.preset}): {run['steps_done']:,} steps, {run['hardware']}"
    if run["log"] == "curve":
        plot_device_curve(run["rows"], args.plot, title + "; PSNR on the training batches")
    else:
        val_set = run.get("val_set", "all")  # the pairs training validated on
        crop = run["val_crop"]
        input_psnr = crop_input_psnr(os.path.join(args.data_dir, f"val_{val_set}"), crop)
        plot_curve(run["log"], args.plot, f"{title}; {validation_words(crop, val_set)}",
                   input_psnr, run["loss"])  # fmt: skip
    print(f"bundled model written to '{output}'; training curve '{args.plot}'")
    print("now rebuild its int8 build, which is of the old weights until then (a test checks): "
          "KERAS_BACKEND=tensorflow python release/build_int8.py")  # fmt: skip
    return 0


HISTORY_FILE = "budget.json"


def read_history(release_dir):
    """The runs that trained the bundled weights so far, oldest first."""
    path = os.path.join(release_dir, HISTORY_FILE)
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def write_history(release_dir, history):
    os.makedirs(release_dir, exist_ok=True)
    path = os.path.join(release_dir, HISTORY_FILE)
    with open(path + ".partial", "w", encoding="utf-8") as file:
        json.dump(history, file, indent=1)
    os.replace(path + ".partial", path)


def training_text(history):
    """The card's Training section: every run, then the totals."""
    runs = "\n".join(f"{index}. {_budget(run)}." for index, run in enumerate(history, 1))
    patches = sum(run["steps_done"] * run["batch_size"] for run in history)
    hours = sum(run["hours"] for run in history)
    return (
        f"Trained in {len(history)} run{'s' if len(history) > 1 else ''} with the package's own "
        "recipes (`release/train.py` on a CPU, `release/device_train.sh` on a lent "
        "accelerator), each resuming from the weights before it:\n\n"
        f"{runs}\n\nIn all: {patches:,} patches in {hours:.2f} hours. The weights are stored "
        "in float16; a run replaces them only when both validation sets improve.\n\n"
        "This is a small training budget for a network of this size (papers train "
        "deblurring networks for days on GPUs); the numbers below are what it reached.\n\n"
        "Reproduce: `python release/build_data.py && python release/train.py --from-model "
        "patent` on a CPU, or `python release/pack_device.py` and `bash "
        "release/device_train.sh` on an accelerator, then `python release/evaluate.py`. "
        "Training pairs: frames 1-200 of the GoPro sequence GOPR0477_11_00 averaged over "
        "7-13 frames and sharp training photos with synthetic non-uniform motion blur. No "
        "validation image or frame was trained on."
    )


def _save_figure(figure, title, plot_path):
    """Titles the figure and writes it (temp file + rename)."""
    figure.suptitle(textwrap.fill(title, 110), fontsize=9)
    figure.tight_layout()
    os.makedirs(os.path.dirname(plot_path) or ".", exist_ok=True)
    partial = plot_path + ".partial.png"
    figure.savefig(partial)
    os.replace(partial, plot_path)


def plot_device_curve(rows, plot_path, title):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    steps = [row["step"] for row in rows]
    figure, (loss_axis, psnr_axis) = pyplot.subplots(1, 2, figsize=(9, 3.2), dpi=110)
    loss_axis.plot(steps, [row["loss"] for row in rows], marker=".")
    loss_axis.set(xlabel="step", ylabel="training loss (PSNR loss, -dB)")
    psnr_axis.plot(steps, [row["psnr"] for row in rows], marker=".", label="restored")
    psnr_axis.plot(steps, [row["input_psnr"] for row in rows], color="gray", linestyle="--",
                   label="blurry input")  # fmt: skip
    psnr_axis.set(xlabel="step", ylabel="PSNR on the batch (dB)")
    psnr_axis.legend()
    _save_figure(figure, title, plot_path)


def _budget(run):
    """One run's budget in words (a `budget.json` entry)."""
    start = f"from `{run['from_model']}`" if run.get("from_model") else "from scratch"
    precision = run["mixed_precision"]
    precision = "float32" if precision in (None, "none") else f"mixed {precision}"
    return (
        f"preset `{run['preset']}` {start}, {run['steps_done']:,} steps of batch "
        f"{run['batch_size']} ({run['steps_done'] * run['batch_size']:,} patches of "
        f"{run['patch_size']}x{run['patch_size']}), {run.get('schedule', 'cosine schedule')}, "
        f"{run['loss'].upper()} loss, {run.get('optimizer', 'Adam')} with a peak learning rate "
        f"of {run['learning_rate']:g}, {precision}, on {run['hardware']} in "
        f"{run['hours']:.2f} hours"
    )


def _report(results, args, history, replaced):
    runs = "; ".join(f"({index}) {_budget(run)}" for index, run in enumerate(history, 1))
    lines = [
        f"# Release evaluation: AttnDeblurNet ({args.preset})",
        "",
        f"Budget, run by run: {runs}. Weights stored in float16. "
        f"Protocol: {evaluation.PROTOCOL}; computed in {args.precision}.",
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
    if replaced:
        lines += ["", f"The weights these replaced, scored in the same run ({args.precision}):",
                  ""]  # fmt: skip
        for name, _, _, means, _ in results.values():
            if name in replaced:
                lines.append(f"- {name}: {replaced[name]:.3f} dB, now {means['psnr']:.3f} dB "
                             f"({means['psnr'] - replaced[name]:+.3f} dB)")  # fmt: skip
    lines += ["", "Per-image scores: `evaluation/*.csv` next to this file.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
