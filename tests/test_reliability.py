"""Nothing lost, nothing surprising: one test per case that probing as a new user found.

Each test reproduces the case as it was reported (the command line through
`main([...])`, the library through its public calls) and checks the
promised behaviour: one-line errors, exit codes, and files that stay as they
were (compared byte for byte or by hash).
"""

import csv
import hashlib
import json
import os
import subprocess
import sys
import tracemalloc

import keras
import numpy as np
import pytest
from PIL import Image

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import data
from keras_attn_deblur import hub
from keras_attn_deblur import inference
from keras_attn_deblur import training
from keras_attn_deblur.cli import main
from tests.test_cli import blur
from tests.test_cli import one_error_line
from tests.test_cli import save
from tests.test_cli import scene
from tests.test_cli import write_pairs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tiny_model(seed=0):
    keras.utils.set_random_seed(seed)
    model = AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3)
    conv = model.get_layer("output_conv")
    conv.kernel.assign(np.random.default_rng(seed).normal(scale=0.02, size=conv.kernel.shape))
    return model


@pytest.fixture(scope="module")
def tiny_keras(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny.keras"
    tiny_model().save(path)
    return str(path)


def digest(path):
    """SHA-256 of a file, or of every file below a folder (by relative name)."""
    if os.path.isfile(path):
        with open(path, "rb") as file:
            return hashlib.sha256(file.read()).hexdigest()
    return {
        os.path.relpath(os.path.join(root, name), path): digest(os.path.join(root, name))
        for root, _, names in os.walk(path)
        for name in names
    }


# === 1. export --overwrite replaces only an earlier export ===


def test_export_overwrite_never_removes_the_working_directory(tmp_path, tiny_keras, monkeypatch,
                                                              capsys):  # fmt: skip
    folder = tmp_path / "v"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    monkeypatch.chdir(folder)
    assert main(["export", ".", "--model", tiny_keras, "--overwrite"]) == 1
    assert "working directory" in one_error_line(capsys)
    assert (folder / "notes.txt").read_text() == "mine"


def test_export_overwrite_never_replaces_the_model_being_exported(tmp_path, capsys):
    model_dir = tmp_path / "mymodel"
    tiny_model().save_pretrained(model_dir)
    before = digest(model_dir)
    assert main(["export", str(model_dir), "--model", str(model_dir), "--overwrite"]) == 1
    assert f"'{model_dir}'" in one_error_line(capsys)
    assert digest(model_dir) == before


def test_export_overwrite_refuses_a_folder_that_is_not_an_export(tmp_path, tiny_keras, capsys):
    photos = tmp_path / "holiday"
    photos.mkdir()
    save(photos / "beach.png", scene(0))
    before = digest(photos)
    assert main(["export", str(photos), "--model", tiny_keras, "--overwrite"]) == 1
    assert "not an earlier saved_model export" in one_error_line(capsys)
    assert digest(photos) == before


# === 2. 16-bit colour PNGs decode in memory linear in the pixel count ===


def test_tall_16_bit_png_decodes_in_bounded_memory(tmp_path):
    from tests.io.test_decode import _write_png16  # an encoder written from the PNG spec

    samples = np.random.default_rng(0).integers(0, 65536, (6000, 3, 3), dtype=np.uint16)
    path = tmp_path / "tall16.png"
    _write_png16(path, samples, colour_type=2)
    tracemalloc.start()
    try:
        image = data.load_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(image, samples / 65535.0, atol=1e-7)
    # Quadratic in the height this was 6000 x 6000 x 12 bytes twice (0.9 GB).
    assert peak < 300 * 2**20, f"peak {peak / 2**20:.0f} MiB"


# === 3. a diverged run exits non-zero and never publishes NaN weights ===


def _train_command(gopro_root, model, run_dir, *extra):
    return ["train", "--gopro", gopro_root, "--model", model, "--steps", "2", "--epochs", "2",
            "--batch-size", "2", "--patch-size", "16", "--val-limit", "1", "--val-crop", "16",
            "--run-dir", str(run_dir), "--quiet", *extra]  # fmt: skip


@pytest.fixture(scope="module")
def gopro_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("GOPRO_Large")
    for split, sequence in (("train", "GOPR0001_00_00"), ("test", "GOPR0003_00_00")):
        folder = root / split / sequence
        write_pairs(folder / "blur", folder / "sharp", count=2, height=32, width=40)
    return str(root)


def test_diverged_training_fails_and_publishes_nothing(tmp_path, gopro_root, tiny_keras, capsys):
    run_dir = tmp_path / "run"
    command = _train_command(gopro_root, tiny_keras, run_dir, "--learning-rate", "1e6",
                             "--loss", "mse")  # fmt: skip
    assert main(command) == 1
    assert "training diverged" in one_error_line(capsys)
    assert not (run_dir / "final.keras").exists() and not (run_dir / "model").exists()
    if (run_dir / "best.keras").exists():
        best = keras.saving.load_model(run_dir / "best.keras", compile=False)
        assert training.weights_are_finite(best)


def test_non_finite_weights_are_never_saved_or_pushed(tmp_path):
    model = tiny_model()
    folder = tmp_path / "good"
    model.save_pretrained(folder)
    kernel = model.get_layer("output_conv").kernel
    kernel.assign(np.full(kernel.shape, np.nan, "float32"))
    with pytest.raises(ValueError, match="non-finite weights"):
        model.save_pretrained(tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    # A folder whose weights were made NaN afterwards (hash updated): push refuses it.
    _make_weights_nan(folder)
    with pytest.raises(ValueError, match="non-finite weights"):
        hub.push_folder(folder, "someone/model", endpoint="http://127.0.0.1:9")


# === 4. a kill during the backup never makes a run impossible to resume ===


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, after_epoch):
        super().__init__()
        self.after_epoch = after_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.after_epoch:
            raise KeyboardInterrupt  # a kill after this epoch's backup


def _interrupted_run(monkeypatch, command, after_epoch):
    original = training.deblurring_callbacks
    monkeypatch.setattr(training.runner, "deblurring_callbacks",
                        lambda *a, **k: original(*a, **k) + [_Interrupt(after_epoch)])  # fmt: skip
    assert main(command) == 130
    monkeypatch.setattr(training.runner, "deblurring_callbacks", original)


def test_a_damaged_latest_backup_resumes_from_the_previous_one(tmp_path, gopro_root, tiny_keras,
                                                              monkeypatch, capsys):  # fmt: skip
    run_dir = tmp_path / "run"
    command = _train_command(gopro_root, tiny_keras, run_dir).copy()
    command[command.index("--steps") + 1] = "3"
    command[command.index("--epochs") + 1] = "3"
    _interrupted_run(monkeypatch, command, after_epoch=2)
    backup = run_dir / "backup"
    assert (backup / "latest").is_dir() and (backup / "previous").is_dir()
    weights = backup / "latest" / "latest.weights.h5"
    weights.write_bytes(weights.read_bytes()[:1000])  # truncated, as by a kill mid-write
    (backup / "next").mkdir()  # a half-written next backup is ignored
    (backup / "next" / "latest.weights.h5").write_bytes(b"partial")
    capsys.readouterr()
    assert main(command) == 0
    with open(run_dir / "log.csv", newline="") as file:
        epochs = [row["epoch"] for row in csv.DictReader(file)]
    assert epochs == ["0", "1", "1", "2"]  # epoch 2 ran again from the previous backup


def test_an_unreadable_backup_is_a_one_line_error_naming_the_fix(tmp_path, gopro_root, tiny_keras,
                                                                 monkeypatch, capsys):  # fmt: skip
    run_dir = tmp_path / "run"
    command = _train_command(gopro_root, tiny_keras, run_dir)
    _interrupted_run(monkeypatch, command, after_epoch=1)
    weights = run_dir / "backup" / "latest" / "latest.weights.h5"
    weights.write_bytes(weights.read_bytes()[:1000])
    capsys.readouterr()
    assert main(command) == 1
    message = one_error_line(capsys)
    assert "cannot be read" in message and f"delete '{run_dir / 'backup'}'" in message


# === 5. visualize and evaluate never overwrite without asking, never an input ===


def test_visualize_refuses_to_overwrite_inputs_and_existing_pictures(tmp_path, tiny_keras, capsys):
    photo = save(tmp_path / "photo.png", blur(scene(1)))
    before = digest(photo)
    assert main(["visualize", photo, "--model", tiny_keras, "--side-by-side", photo,
                 "--overwrite"]) == 1  # fmt: skip
    assert "is one of the inputs" in one_error_line(capsys)
    assert digest(photo) == before
    picture = tmp_path / "comparison.png"
    picture.write_bytes(b"an older picture")
    assert main(["visualize", photo, "--model", tiny_keras, "--side-by-side", str(picture)]) == 1
    assert "--overwrite" in one_error_line(capsys)
    assert picture.read_bytes() == b"an older picture"
    assert main(["visualize", photo, "--model", tiny_keras, "--side-by-side", str(picture),
                 "--overwrite", "--dpi", "30"]) == 0  # fmt: skip
    assert picture.read_bytes().startswith(b"\x89PNG")


def test_evaluate_refuses_to_write_its_csv_over_an_image(tmp_path, tiny_keras, capsys):
    write_pairs(tmp_path / "ev" / "blur", tmp_path / "ev" / "sharp", count=2)
    target = tmp_path / "ev" / "sharp" / "000001.png"
    before = digest(target)
    command = ["evaluate", "--blurry", str(tmp_path / "ev" / "blur"), "--sharp",
               str(tmp_path / "ev" / "sharp"), "--model", tiny_keras, "--quiet"]  # fmt: skip
    assert main(command + ["--csv", str(target), "--overwrite"]) == 1
    assert "is one of the inputs" in one_error_line(capsys)
    assert digest(target) == before
    scores = tmp_path / "scores.csv"
    scores.write_text("keep")
    assert main(command + ["--csv", str(scores)]) == 1
    assert "--overwrite" in one_error_line(capsys)
    assert scores.read_text() == "keep"


# === 6. a finished run is not trained again from scratch ===


def test_rerunning_a_finished_run_changes_nothing(tmp_path, gopro_root, tiny_keras, capsys):
    run_dir = tmp_path / "run"
    command = _train_command(gopro_root, tiny_keras, run_dir)
    assert main(command) == 0
    before = digest(run_dir)
    capsys.readouterr()
    assert main(command) == 0
    assert "has finished" in capsys.readouterr().out
    assert digest(run_dir) == before
    with open(run_dir / "log.csv", newline="") as file:
        assert [row["epoch"] for row in csv.DictReader(file)] == ["0", "1"]


# === 7. fit checks the targets ===


def test_fit_checks_the_targets():
    model = tiny_model()
    model.compile(optimizer="adam", loss="mse")
    blurry = np.random.default_rng(0).uniform(size=(2, 16, 16, 3)).astype("float32")
    with pytest.raises(ValueError, match="divide integer images by 255"):
        model.fit(blurry, (blurry * 255).astype("uint8"), verbose=0)
    with pytest.raises(ValueError, match=r"range from .* to .*expects \[0, 1\]"):
        model.fit(blurry, np.round(blurry * 255), verbose=0)
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.fit(blurry, np.where(blurry > 0.99, np.nan, blurry).astype("float32"), verbose=0)


def test_fit_checks_a_tf_data_dataset_of_mismatched_pairs():
    tf = pytest.importorskip("tensorflow")
    model = tiny_model()
    model.compile(optimizer="adam", loss="mse")
    dataset = tf.data.Dataset.from_tensors((tf.zeros((2, 16, 16, 3)), tf.zeros((2, 12, 16, 3))))
    with pytest.raises(ValueError, match="different shapes") as error:
        model.fit(dataset, verbose=0)
    assert "\n" not in str(error.value)


# === 8. predict refuses NaN, 0-255 and empty input ===


def test_predict_refuses_nan_scale_and_empty_input():
    model = tiny_model()
    images = np.full((1, 16, 16, 3), 0.5, "float32")
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.predict(np.where(np.arange(16)[None, :, None, None] == 3, np.nan, images),
                      verbose=0)  # fmt: skip
    with pytest.raises(ValueError, match="divide 8-bit values by 255"):
        model.predict(images * 255, verbose=0)
    with pytest.raises(ValueError, match="empty batch"):
        model.predict(np.zeros((0, 16, 16, 3), "float32"), verbose=0)
    assert model.predict(images, verbose=0).shape == images.shape


# === 9. clear errors for an infinite budget and for damaged weights ===


def test_infinite_memory_budget_is_a_usage_error(tmp_path, tiny_keras, capsys):
    photo = save(tmp_path / "p.png", scene(2))
    assert main(["deblur", photo, str(tmp_path / "o.png"), "--model", tiny_keras,
                 "--memory-budget", "inf"]) == 2  # fmt: skip
    assert "positive, finite number" in one_error_line(capsys)


@pytest.mark.parametrize("record", ["matching", "absent"])
def test_truncated_weights_whose_hash_matches_or_is_absent(tmp_path, record):
    folder = tmp_path / "model"
    tiny_model().save_pretrained(folder)
    weights = folder / hub.WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    metadata = json.loads((folder / hub.METADATA_FILE).read_text())
    if record == "matching":
        metadata[hub.METADATA_KEY].update(weights_sha256=digest(weights),
                                          weights_size=weights.stat().st_size)  # fmt: skip
    else:
        del metadata[hub.METADATA_KEY]
    (folder / hub.METADATA_FILE).write_text(json.dumps(metadata))
    with pytest.warns(UserWarning) if record == "absent" else _nothing():
        with pytest.raises(ValueError, match="cannot be read .*truncated or damaged") as error:
            AttnDeblurNet.from_pretrained(folder)
    assert "\n" not in str(error.value)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# === 10. animations are refused, naming the frame count ===


def test_an_animated_gif_is_refused_with_its_frame_count(tmp_path, tiny_keras, capsys):
    frames = [Image.fromarray((scene(seed) * 255).astype("uint8")) for seed in range(3)]
    path = tmp_path / "clip.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with pytest.raises(data.ImageReadError, match="holds 3 frames"):
        data.load_image(path)
    assert main(["deblur", str(path), str(tmp_path / "out.png"), "--model", tiny_keras]) == 1
    assert "holds 3 frames" in one_error_line(capsys)
    single = tmp_path / "still.gif"
    frames[0].save(single)
    assert data.load_image(single).shape == (40, 52, 3)


# === 11. a re-run removes the temporary files a killed run left ===


def test_a_rerun_removes_stale_temporary_files(tmp_path):
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    for index in range(2):
        save(inputs / f"{index}.png", blur(scene(index)))
    outputs.mkdir()
    stale = outputs / ".0.png.k1ll3d_x.part"
    stale.write_bytes(b"half an image")
    unrelated = outputs / ".notes.txt.swp"
    unrelated.write_text("not ours")
    summary = inference.deblur_folder(tiny_model(), inputs, outputs, progress=False)
    assert summary.processed == 2 and not summary.failed
    assert not stale.exists() and unrelated.read_text() == "not ours"
    assert sorted(os.listdir(outputs)) == [".notes.txt.swp", "0.png", "1.png"]


# === 12. the bundled weights are the default model ===


def test_deblur_evaluate_and_visualize_default_to_the_bundled_weights(tmp_path, capsys):
    photo = save(tmp_path / "photo.png", blur(scene(3, height=24, width=32)))
    assert main(["deblur", photo, str(tmp_path / "restored.png"), "--quiet"]) == 0
    restored = np.asarray(Image.open(tmp_path / "restored.png"), "float32") / 255
    expected = inference.deblur(AttnDeblurNet.from_pretrained("patent"),
                                np.asarray(Image.open(photo), "float32") / 255)  # fmt: skip
    assert np.abs(restored - np.clip(np.asarray(expected), 0, 1)).max() <= 1 / 255 + 1e-6
    write_pairs(tmp_path / "ev" / "blur", tmp_path / "ev" / "sharp", count=1, height=24, width=32)
    assert main(["evaluate", "--blurry", str(tmp_path / "ev" / "blur"), "--sharp",
                 str(tmp_path / "ev" / "sharp"), "--quiet"]) == 0  # fmt: skip
    assert "model" in capsys.readouterr().out
    assert main(["visualize", photo, "--attention", str(tmp_path / "attention.png"),
                 "--dpi", "30"]) == 0  # fmt: skip


# === 13. no native log noise on the terminal ===


def test_no_tensorflow_or_cuda_log_lines_unless_debug(tmp_path, tiny_keras):
    pytest.importorskip("tensorflow")
    photo = save(tmp_path / "photo.png", scene(4))
    environment = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)
    command = [sys.executable, "-m", "keras_attn_deblur", "deblur", photo,
               str(tmp_path / "out.png"), "--model", tiny_keras]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for noise in ("cudart_stub", "cpu_feature_guard", "cuInit", "I0000", "absl::InitializeLog"):
        assert noise not in result.stderr
    assert result.stderr.strip() == ""
    assert "deblurred" in result.stdout
    # Errors still come through, on one line.
    result = subprocess.run(command[:4] + [str(tmp_path / "missing.png"), "o.png"], cwd=ROOT,
                            env=environment, capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().startswith("attn-deblur: error: ")
    assert len(result.stderr.strip().splitlines()) == 1


# === 14. non-finite weights are never checkpointed, loaded or run (issue 23) ===


def _nan_weights(model):
    """`model` with the output convolution's kernel set to NaN (as a diverged run leaves it)."""
    kernel = model.get_layer("output_conv").kernel
    kernel.assign(np.full(kernel.shape, np.nan, "float32"))
    return model


def _every_weight_finite(path):
    """Read back with Keras itself, not with this package's loader."""
    loaded = keras.saving.load_model(path, compile=False)
    return all(np.isfinite(weight).all() for weight in loaded.get_weights())


def _nan_folder(folder):
    """A save_pretrained folder whose weights file holds a NaN (its recorded hash updated)."""
    tiny_model().save_pretrained(folder)
    _make_weights_nan(folder)
    return folder


def _make_weights_nan(folder):
    """Puts a NaN into a save_pretrained folder's weights file and records its new hash."""
    import h5py

    with h5py.File(folder / hub.WEIGHTS_FILE, "r+") as file:
        names = []
        file.visit(lambda name: names.append(name) if isinstance(file[name], h5py.Dataset)
                   and file[name].dtype.kind == "f" else None)  # fmt: skip
        file[names[0]][...] = np.nan
    metadata = json.loads((folder / hub.METADATA_FILE).read_text())
    metadata[hub.METADATA_KEY]["weights_sha256"] = digest(folder / hub.WEIGHTS_FILE)
    metadata[hub.METADATA_KEY]["weights_size"] = os.path.getsize(folder / hub.WEIGHTS_FILE)
    (folder / hub.METADATA_FILE).write_text(json.dumps(metadata))
    return folder


def _best_checkpoint(directory):
    (callback,) = training.deblurring_callbacks(
        directory, monitor="psnr", backup=False, csv_log=False, terminate_on_nan=False
    )
    return callback


@pytest.mark.slow
def test_a_run_diverging_in_its_first_epoch_writes_no_best_keras(tmp_path):
    keras.utils.set_random_seed(0)
    model = training.compile_for_deblurring(
        AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3),
        learning_rate=1e30, loss="mse",
    )  # fmt: skip
    rng = np.random.default_rng(0)
    blurry, sharp = rng.random((2, 4, 16, 16, 3), dtype="float32")
    callbacks = training.deblurring_callbacks(tmp_path, monitor="psnr", backup=False)
    model.fit(blurry, sharp, batch_size=2, epochs=1, callbacks=callbacks, verbose=0)
    assert not all(np.isfinite(weight).all() for weight in model.get_weights())  # it diverged
    assert not (tmp_path / "best.keras").exists()


def test_the_best_checkpoint_skips_non_finite_weights_with_a_finite_score(tmp_path):
    callback = _best_checkpoint(tmp_path)
    callback.set_model(_nan_weights(tiny_model()))
    callback.on_epoch_begin(0)
    callback.on_epoch_end(0, {"psnr": 20.0})
    assert not (tmp_path / "best.keras").exists()


def test_a_nan_score_never_becomes_the_best(tmp_path):
    callback = _best_checkpoint(tmp_path)
    first, second = tiny_model(seed=1), tiny_model(seed=2)
    callback.set_model(first)
    callback.on_epoch_begin(0)
    callback.on_epoch_end(0, {"psnr": float("nan")})
    assert not (tmp_path / "best.keras").exists()
    callback.set_model(second)  # the next epoch's weights, with a real score
    callback.on_epoch_begin(1)
    callback.on_epoch_end(1, {"psnr": 15.0})
    saved = keras.saving.load_model(tmp_path / "best.keras", compile=False)
    for saved_weight, weight in zip(saved.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(saved_weight, weight)
    assert _every_weight_finite(tmp_path / "best.keras")


@pytest.mark.slow
def test_the_diverged_message_says_there_is_no_best_keras(tmp_path, gopro_root, tiny_keras,
                                                          capsys):  # fmt: skip
    run_dir = tmp_path / "run"
    command = _train_command(gopro_root, tiny_keras, run_dir, "--learning-rate", "1e30",
                             "--loss", "mse", "--epochs", "1")  # fmt: skip
    assert main(command) == 1
    message = one_error_line(capsys)
    assert "training diverged" in message
    assert f"no finite model was checkpointed, so there is no '{run_dir / 'best.keras'}'" in message
    assert "it starts from the beginning (no finite backup was made)" in message
    assert not (run_dir / "best.keras").exists()


@pytest.mark.parametrize("kind", [".keras", "folder"])
def test_a_model_with_non_finite_weights_is_refused_when_loaded(tmp_path, capsys, kind):
    if kind == ".keras":
        handle = tmp_path / "diverged.keras"
        _nan_weights(tiny_model()).save(handle)
        assert not _every_weight_finite(handle)
    else:
        handle = _nan_folder(tmp_path / "diverged")
    with pytest.raises(ValueError, match="non-finite weights") as error:
        AttnDeblurNet.from_pretrained(handle)
    assert str(handle) in str(error.value) and "\n" not in str(error.value)
    photo = save(tmp_path / "photo.png", blur(scene(5)))
    output = tmp_path / "restored.png"
    assert main(["deblur", photo, str(output), "--model", str(handle)]) == 1
    message = one_error_line(capsys)
    assert "non-finite weights" in message and str(handle) in message
    assert not output.exists()
    write_pairs(tmp_path / "blur", tmp_path / "sharp", count=1, height=24, width=32)
    assert main(["evaluate", "--blurry", str(tmp_path / "blur"), "--sharp", str(tmp_path / "sharp"),
                 "--model", str(handle)]) == 1  # fmt: skip
    message = one_error_line(capsys)
    assert "non-finite weights" in message and str(handle) in message


def test_deblurrer_refuses_a_model_with_non_finite_weights():
    model = _nan_weights(tiny_model())
    with pytest.raises(ValueError, match=f"the model '{model.name}' holds non-finite weights"):
        inference.Deblurrer(model)


def _overflowing_model():
    """Finite weights (1e30, below float32's 3.4e38) whose activations overflow to inf/NaN."""
    model = tiny_model()
    model.set_weights([np.full(weight.shape, 1e30, weight.dtype) for weight in model.get_weights()])
    return model


def test_a_non_finite_output_is_an_error_not_a_black_image(tmp_path, capsys):
    model = _overflowing_model()
    blurry = blur(scene(6)).astype("float32")
    assert all(np.isfinite(weight).all() for weight in model.get_weights())
    assert not np.isfinite(keras.ops.convert_to_numpy(model(blurry[None]))).all()
    with pytest.raises(ValueError, match="NaN or infinite values for the 52x40 image"):
        inference.Deblurrer(model, precision=None)(blurry)
    path = tmp_path / "overflowing.keras"
    model.save(path)
    photo = save(tmp_path / "photo.png", blur(scene(6)))
    output = tmp_path / "restored.png"
    assert main(["deblur", photo, str(output), "--model", str(path)]) == 1
    assert "NaN or infinite values for 'photo.png'" in one_error_line(capsys)
    assert not output.exists()


def test_an_existing_file_that_is_no_model_is_named_for_what_it_is(tmp_path):
    notes = tmp_path / "passwd"
    notes.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(ValueError, match="is a file, but neither a .keras file") as error:
        AttnDeblurNet.from_pretrained(notes)
    assert "does not exist" not in str(error.value)
    assert f"'{notes}'" in str(error.value) and "save_pretrained" in str(error.value)
    weights = tmp_path / "model.weights.h5"
    weights.write_bytes(b"\x89HDF\r\n")
    with pytest.raises(ValueError, match="a weights file, not a model.*load_weights"):
        AttnDeblurNet.from_pretrained(weights)
