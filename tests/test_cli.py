"""The `attn-deblur` command line, end to end through `main([...])`.

Every subcommand runs on generated images and a tiny saved model; errors
must be exactly one line on stderr with a non-zero exit code.
"""

import csv
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from keras_attn_deblur import PRESETS
from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import training
from keras_attn_deblur.cli._common import load_model
from keras_attn_deblur.cli import main
from tests.hub.conftest import hub  # noqa: F401  (the loopback Hub fixture)

COMMANDS = ("deblur", "evaluate", "train", "visualize", "export", "push", "demo", "push-space")


def scene(seed, height=40, width=52):
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width] / width
    image = np.stack([0.2 + 0.5 * rng.uniform() * (rows + cols) for _ in range(3)], axis=-1)
    for _ in range(4):
        top, left = rng.integers(0, height - 8), rng.integers(0, width - 8)
        image[top : top + 8, left : left + 8] = rng.uniform(size=3)
    return np.clip(image, 0, 1)


def blur(image):
    padded = np.pad(image, ((0, 0), (2, 2), (0, 0)), mode="edge")
    return np.mean([padded[:, shift : shift + image.shape[1]] for shift in range(5)], axis=0)


def save(path, image):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(image * 255).astype("uint8")).save(path)
    return str(path)


def write_pairs(blurry_dir, sharp_dir, count, first_seed=0, **size):
    for index in range(count):
        sharp = scene(first_seed + index, **size)
        save(sharp_dir / f"{index:06d}.png", sharp)
        save(blurry_dir / f"{index:06d}.png", blur(sharp))


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """A tiny AttnDeblurNet whose output differs from its input, saved as .keras."""
    keras.utils.set_random_seed(0)
    model = AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3)
    conv = model.get_layer("output_conv")
    conv.kernel.assign(np.random.default_rng(0).normal(scale=0.02, size=conv.kernel.shape))
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    model.save(path)
    return str(path)


@pytest.fixture(scope="module")
def gopro_root(tmp_path_factory):
    """A GOPRO_Large-layout tree: train/ with 2 sequences, test/ with 1."""
    root = tmp_path_factory.mktemp("GOPRO_Large")
    layout = (("train", ("GOPR0001_00_00", "GOPR0002_00_00")), ("test", ("GOPR0003_00_00",)))
    for split, sequences in layout:
        for number, sequence in enumerate(sequences):
            folder = root / split / sequence
            write_pairs(folder / "blur", folder / "sharp", count=2, first_seed=10 * number,
                        height=32, width=40)
    return str(root)


def one_error_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("attn-deblur: error: "), lines[0]
    return lines[0]


# === --help ===


def test_python_m_help_lists_the_commands():
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-m", "keras_attn_deblur", "--help"],
        capture_output=True, text=True, timeout=120, env=environment,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("usage: attn-deblur")
    for command in COMMANDS:
        assert f"    {command}" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples(command, capsys):
    assert main([command, "--help"]) == 0
    output = capsys.readouterr().out
    assert output.startswith(f"usage: attn-deblur {command}")
    assert f"examples:\n  attn-deblur {command}" in output


# === deblur ===


def test_deblur_a_file_and_a_folder(tmp_path, model_path, capsys):
    source = tmp_path / "photos"
    save(source / "a.png", blur(scene(1)))
    save(source / "b.jpg", blur(scene(2, height=33, width=47)))
    output = tmp_path / "a_sharp.png"
    assert main(["deblur", str(source / "a.png"), str(output), "--model", model_path]) == 0
    with Image.open(output) as restored, Image.open(source / "a.png") as original:
        assert restored.size == original.size and restored.mode == original.mode
        assert np.asarray(restored).astype(int).sum() != np.asarray(original).astype(int).sum()

    # Existing output: refused without --overwrite.
    assert main(["deblur", str(source / "a.png"), str(output), "--model", model_path]) == 1
    assert "--overwrite" in one_error_line(capsys)

    assert main(["deblur", str(source), str(tmp_path / "out"), "--model", model_path,
                 "--tile-size", "32", "--tile-overlap", "8", "--quiet"]) == 0
    assert sorted(os.listdir(tmp_path / "out")) == ["a.png", "b.jpg"]
    with Image.open(tmp_path / "out" / "b.jpg") as restored:
        assert restored.size == (47, 33)


def test_deblur_folder_goes_on_past_a_bad_file_and_fails_at_the_end(tmp_path, model_path, capsys):
    source = tmp_path / "photos"
    save(source / "good.png", blur(scene(3)))
    (source / "empty.png").write_bytes(b"")
    code = main(["deblur", str(source), str(tmp_path / "out"), "--model", model_path])
    assert code == 1
    assert os.path.exists(tmp_path / "out" / "good.png")
    assert "could not be deblurred" in capsys.readouterr().err.strip().splitlines()[-1]


def test_a_keras_file_may_hold_any_keras_model(tmp_path, capsys):
    # deblur and evaluate take any image-to-image Keras model saved with model.save();
    # push needs an AttnDeblurNet and says so in one line.
    inputs = keras.Input((None, None, 3))
    halved = keras.layers.Rescaling(0.5)(inputs)
    path = tmp_path / "plain.keras"
    keras.Model(inputs, halved).save(path)
    source = save(tmp_path / "in.png", scene(3))
    output = tmp_path / "out.png"
    assert main(["deblur", source, str(output), "--model", str(path), "--quiet"]) == 0
    with Image.open(output) as restored, Image.open(source) as original:
        expected = np.rint(np.asarray(original, dtype="float32") / 2).astype(int)
        assert np.abs(np.asarray(restored).astype(int) - expected).max() <= 1
    pairs = tmp_path / "pairs"
    write_pairs(pairs / "blurry", pairs / "sharp", count=1, first_seed=5, height=24, width=24)
    assert main(["evaluate", "--blurry", str(pairs / "blurry"), "--sharp", str(pairs / "sharp"),
                 "--model", str(path), "--quiet"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["push", "org/plain", "--model", str(path)]) == 1
    assert "push needs an AttnDeblurNet" in one_error_line(capsys)


def test_a_preset_without_bundled_weights_loads_untrained_with_a_warning(monkeypatch, capsys):
    # A tiny preset keeps the test fast; "patent" and "lite" take the same path.
    tiny = {"filters": (4, 8, 8), "blocks_per_stage": 1, "kernel_size": 3}
    monkeypatch.setitem(PRESETS, "tiny_test", tiny)
    model = load_model("tiny_test")
    assert model.filters == (4, 8, 8)
    warning = capsys.readouterr().err
    assert "no trained weights are bundled for preset 'tiny_test'" in warning
    assert "UNTRAINED" in warning


def test_deblur_tile_size_over_the_memory_budget_warns_naming_the_memory(tmp_path, model_path,
                                                                          capsys):
    photo = save(tmp_path / "photo.png", blur(scene(5, height=200, width=300)))
    options = ["--model", model_path, "--tile-size", "1024", "--quiet"]
    # The tiny model needs 256 bytes a pixel (4 x (6 x 8 + 16)); the photo padded
    # to 240 x 336 in one tile, with its band of 20 bytes a pixel: 240 x 336 x 276
    # bytes, 22 MB, over a budget of 8 MB.
    code = main(["deblur", photo, str(tmp_path / "small.png"), *options, "--memory-budget", "8"])
    assert code == 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("attn-deblur: warning: tile_size=1024 "), lines
    for words in ("240x336", "22 MB", "budget of 8 MB", "--memory-budget"):
        assert words in lines[0], lines[0]
    # Within the default budget, the tile size is obeyed without a word.
    assert main(["deblur", photo, str(tmp_path / "whole.png"), *options]) == 0
    assert capsys.readouterr().err == ""
    with Image.open(tmp_path / "small.png") as small, Image.open(tmp_path / "whole.png") as whole:
        assert small.size == whole.size == (300, 200)


def test_deblur_verbose_prints_the_precision_chosen(tmp_path, model_path, monkeypatch, capsys):
    from keras_attn_deblur._utils import machine
    from tests._utils import test_machine

    cpuinfo = test_machine.write_cpuinfo(tmp_path, *test_machine.EPYC_ZEN2)
    monkeypatch.setattr(machine, "CPUINFO_PATH", cpuinfo, raising=False)
    monkeypatch.setattr(machine, "accelerator", lambda: None, raising=False)
    keras.utils.set_random_seed(0)
    half = AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3,
                         dtype="mixed_bfloat16")  # fmt: skip
    half.save(tmp_path / "half.keras")
    photo = save(tmp_path / "photo.png", blur(scene(6)))
    command = ["deblur", photo, str(tmp_path / "out.png"), "--model", str(tmp_path / "half.keras"),
               "--quiet"]  # fmt: skip
    assert main([*command, "--verbose"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "attn-deblur: precision float32 (auto: this CPU (AMD EPYC 7B12) has no AMX or "
        "AVX-512 BF16, so bfloat16 would be emulated, no faster than float32 and less precise)"
    ]
    assert main([*command, "--overwrite", "--precision", "bfloat16", "--verbose"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "attn-deblur: precision bfloat16 (precision='bfloat16')"
    ]
    assert main([*command, "--overwrite"]) == 0
    assert capsys.readouterr().err == ""


# === evaluate ===


def test_evaluate_paired_folders_with_baselines_and_csv(tmp_path, model_path, capsys):
    write_pairs(tmp_path / "blur", tmp_path / "sharp", count=2)
    csv_path = tmp_path / "scores.csv"
    code = main(["evaluate", "--blurry", str(tmp_path / "blur"), "--sharp", str(tmp_path / "sharp"),
                 "--model", model_path, "--baseline", "input", "unsharp", "--csv", str(csv_path)])
    assert code == 0
    output = capsys.readouterr().out
    for row in ("model", "input (blurry)", "unsharp mask", "SSIM (matlab)"):
        assert row in output
    with open(csv_path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["name"] for row in rows] == ["000000.png", "000001.png"]
    assert {"psnr", "ssim", "ssim_matlab", "input_psnr", "unsharp_psnr", "seconds"} <= set(rows[0])


def test_evaluate_gopro_root_with_limit_and_baselines_only(gopro_root, capsys):
    assert main(["evaluate", "--gopro", gopro_root, "--baseline", "input", "--limit", "1",
                 "--quiet"]) == 0
    output = capsys.readouterr().out
    assert "input (blurry)" in output and "1 image(s) scored" in output


def test_evaluate_needs_one_source_and_something_to_score(tmp_path, gopro_root, capsys):
    assert main(["evaluate", "--gopro", gopro_root, "--model", "none"]) == 2
    assert "nothing to score" in one_error_line(capsys)
    assert main(["evaluate", "--baseline", "input"]) == 2
    assert "exactly one source" in one_error_line(capsys)


# === train ===


def test_train_resumes_after_an_interruption(tmp_path, gopro_root, model_path, monkeypatch, capsys):
    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt  # like a kill after the first epoch's backup

    original = training.deblurring_callbacks
    monkeypatch.setattr(
        training.runner, "deblurring_callbacks", lambda *a, **k: original(*a, **k) + [Interrupt()]
    )
    run_dir = tmp_path / "run"
    command = ["train", "--gopro", gopro_root, "--model", model_path, "--steps", "2",
               "--epochs", "2", "--batch-size", "2", "--patch-size", "16", "--val-limit", "1",
               "--val-crop", "16", "--run-dir", str(run_dir), "--quiet"]
    assert main(command) == 130
    assert os.path.isdir(run_dir / "backup")
    assert "interrupted" in capsys.readouterr().err

    monkeypatch.setattr(training.runner, "deblurring_callbacks", original)
    assert main(command) == 0
    output = capsys.readouterr().out
    assert output.startswith("resuming: GoPro, 2 steps (2 epochs x 1)")
    with open(run_dir / "log.csv", newline="") as stream:
        epochs = [row["epoch"] for row in csv.DictReader(stream)]
    assert epochs == ["0", "1"]  # the second run did not repeat the first epoch
    for name in ("final.keras", "best.keras", "final_evaluation.csv", "model/config.json",
                 "model/README.md"):
        assert (run_dir / name).exists(), name
    assert "PSNR (dB)" in output


def test_train_on_photos_with_synthetic_blur(tmp_path, model_path):
    for index in range(2):
        save(tmp_path / "photos" / f"{index}.png", scene(20 + index, height=48, width=48))
    save(tmp_path / "val" / "v.png", scene(30, height=40, width=40))
    code = main(["train", "--photos", str(tmp_path / "photos"),
                 "--val-photos", str(tmp_path / "val"),
                 "--model", model_path, "--steps", "1", "--epochs", "1", "--batch-size", "2",
                 "--patch-size", "16", "--val-crop", "24", "--run-dir", str(tmp_path / "run"),
                 "--quiet"])
    assert code == 0
    with open(tmp_path / "run" / "final_evaluation.csv", newline="") as stream:
        assert len(list(csv.DictReader(stream))) == 1


def test_train_warmup_longer_than_the_run_is_a_usage_error(tmp_path, capsys):
    code = main(["train", "--photos", str(tmp_path), "--steps", "5", "--warmup-steps", "5",
                 "--run-dir", str(tmp_path / "run")])
    assert code == 2
    assert "--warmup-steps 5 must be fewer than the 5 training steps: lower it or raise --steps" in (
        one_error_line(capsys)
    )
    assert not (tmp_path / "run").exists()


# === visualize and export ===


def test_visualize_writes_both_pictures(tmp_path, model_path):
    sharp = scene(5)
    blurry = save(tmp_path / "blurry.png", blur(sharp))
    save(tmp_path / "sharp.png", sharp)
    code = main(["visualize", blurry, "--sharp", str(tmp_path / "sharp.png"), "--model", model_path,
                 "--side-by-side", str(tmp_path / "comparison.png"),
                 "--attention", str(tmp_path / "attention.png"), "--dpi", "40"])
    assert code == 0
    for name in ("comparison.png", "attention.png"):
        with Image.open(tmp_path / name) as picture:
            assert picture.size[0] > 100


def test_export_saved_model_and_verify(tmp_path, model_path, capsys):
    pytest.importorskip("tensorflow", reason="export needs TensorFlow")
    output = tmp_path / "saved_model"
    # --verify runs the SavedModel; under JAX that costs more than the export, and
    # tests/test_export.py checks the artefacts on every backend already.
    verify = ["--verify"] if keras.backend.backend() == "tensorflow" else []
    assert main(["export", str(output), "--model", model_path] + verify) == 0
    output_text = capsys.readouterr().out
    assert "exported saved_model" in output_text
    assert ("max abs difference to Keras" in output_text) == bool(verify)
    assert (output / "saved_model.pb").exists()
    assert main(["export", str(output), "--model", model_path]) == 1
    assert "--overwrite" in one_error_line(capsys)


# === push ===


def test_push_a_folder_then_deblur_with_the_hub_id(tmp_path, model_path, hub, capsys):  # noqa: F811
    folder = tmp_path / "pretrained"
    keras.saving.load_model(model_path).save_pretrained(folder)
    assert main(["push", "test-org/tiny-deblur", "--model", str(folder)]) == 0
    assert "unchanged to 'test-org/tiny-deblur'" in capsys.readouterr().out
    # The folder went up byte for byte: the card and metadata were not re-rendered.
    from huggingface_hub import snapshot_download

    pulled = snapshot_download("test-org/tiny-deblur", cache_dir=tmp_path / "cache")
    for name in ("config.json", "metadata.json", "model.weights.h5", "README.md"):
        assert (tmp_path / "pretrained" / name).read_bytes() == open(
            os.path.join(pulled, name), "rb"
        ).read()
    source = save(tmp_path / "in.png", blur(scene(6)))
    assert main(["deblur", source, str(tmp_path / "out.png"), "--model", "test-org/tiny-deblur",
                 "--quiet"]) == 0
    assert os.path.exists(tmp_path / "out.png")


# === Bad input: one line on stderr, non-zero exit ===


def test_missing_input_is_one_line(tmp_path, model_path, capsys):
    code = main(["deblur", str(tmp_path / "nope.png"), str(tmp_path / "o.png"),
                 "--model", model_path])
    assert code == 1
    assert "nope.png' does not exist" in one_error_line(capsys)


def test_corrupt_file_is_one_line_naming_it(tmp_path, model_path, capsys):
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert main(["deblur", str(corrupt), str(tmp_path / "o.png"), "--model", model_path]) == 1
    assert "corrupt.png" in one_error_line(capsys)


def test_missing_model_folder_is_one_line(tmp_path, capsys):
    source = save(tmp_path / "in.png", scene(7))
    missing = str(tmp_path / "no_such_model")
    assert main(["deblur", source, str(tmp_path / "o.png"), "--model", missing]) == 1
    assert f"Model folder '{missing}' does not exist" in one_error_line(capsys)


def test_unknown_preset_is_one_line_with_a_suggestion(tmp_path, capsys):
    source = save(tmp_path / "in.png", scene(8))
    assert main(["deblur", source, str(tmp_path / "o.png"), "--model", "patnet"]) == 1
    line = one_error_line(capsys)
    assert "Unknown model 'patnet'" in line and "Did you mean 'patent'?" in line


def test_corrupt_model_file_is_one_line(tmp_path, capsys):
    source = save(tmp_path / "in.png", scene(9))
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip")
    assert main(["deblur", source, str(tmp_path / "o.png"), "--model", str(broken)]) == 1
    assert "broken.keras" in one_error_line(capsys)


def test_unusable_pairs_are_one_line_and_can_be_skipped(tmp_path, capsys):
    write_pairs(tmp_path / "blur", tmp_path / "sharp", count=2)
    (tmp_path / "blur" / "000001.png").write_bytes(b"")
    command = ["evaluate", "--blurry", str(tmp_path / "blur"), "--sharp", str(tmp_path / "sharp"),
               "--baseline", "input", "--quiet"]
    assert main(command) == 1
    line = one_error_line(capsys)
    assert "1 of 2 pairs are unusable" in line and "000001.png" in line
    assert main(command + ["--skip-bad-pairs"]) == 0
    assert "1 image(s) scored" in capsys.readouterr().out


def test_missing_picture_folder_is_one_line(tmp_path, model_path, capsys):
    source = save(tmp_path / "in.png", scene(10))
    code = main(["visualize", source, "--model", model_path,
                 "--side-by-side", str(tmp_path / "missing" / "c.png")])
    assert code == 1
    assert "does not exist" in one_error_line(capsys)


def test_usage_error_is_one_line_with_exit_code_2(capsys):
    assert main(["deblur", "--tile-size", "-3", "a.png", "b.png", "--model", "lite"]) == 2
    assert "--tile-size" in one_error_line(capsys)
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in one_error_line(capsys)


def test_debug_shows_the_traceback(tmp_path, model_path):
    with pytest.raises(FileNotFoundError):
        main(["deblur", str(tmp_path / "nope.png"), str(tmp_path / "o.png"), "--model", model_path,
              "--debug"])
