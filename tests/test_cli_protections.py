"""`--overwrite` replaces only what the command wrote, and inputs that cannot be scored are refused.

Issue 23, finding 5: `evaluate --csv PATH --overwrite` wrote over the
model's `model.weights.h5`; `export --overwrite` deleted extra files of a
SavedModel look-alike; `evaluate` scored a folder against itself and printed
`inf dB`. Each case runs as a user would, through `main([...])`, and the
files it must not touch are compared by hash before and after.
"""

import csv
import os

import numpy as np
import pytest
from PIL import Image

from keras_attn_deblur import evaluation
from keras_attn_deblur import export
from keras_attn_deblur.cli import main
from tests.test_cli import one_error_line
from tests.test_cli import save
from tests.test_cli import scene
from tests.test_cli import write_pairs
from tests import test_reliability
from tests.test_reliability import digest


@pytest.fixture(scope="module")
def tiny_model():
    return test_reliability.tiny_model()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_model):
    """A save_pretrained folder: config.json, metadata.json, model.weights.h5, README.md."""
    folder = tmp_path_factory.mktemp("model") / "mymodel"
    tiny_model.save_pretrained(folder)
    return folder


@pytest.fixture
def pairs_dir(tmp_path):
    write_pairs(tmp_path / "ev" / "blur", tmp_path / "ev" / "sharp", count=2)
    return tmp_path / "ev"


def _evaluate(pairs_dir, *extra):
    return ["evaluate", "--blurry", str(pairs_dir / "blur"), "--sharp", str(pairs_dir / "sharp"),
            "--quiet", *extra]  # fmt: skip


# === evaluate --csv --overwrite replaces only a CSV that evaluate wrote ===


def test_evaluate_csv_overwrite_never_replaces_the_models_own_files(pairs_dir, model_dir, capsys):
    before = digest(model_dir)
    for name in ("model.weights.h5", "config.json", "metadata.json", "README.md"):
        target = model_dir / name
        command = _evaluate(pairs_dir, "--model", str(model_dir), "--csv", str(target),
                            "--overwrite")  # fmt: skip
        assert main(command) == 1, name
        assert f"'{target}'" in one_error_line(capsys)
    # Not even a new file inside the model's folder (push would upload it).
    assert main(_evaluate(pairs_dir, "--model", str(model_dir), "--csv",
                          str(model_dir / "scores.csv"))) == 1  # fmt: skip
    assert "inside the model" in one_error_line(capsys)
    assert digest(model_dir) == before


def test_evaluate_csv_overwrite_refuses_model_image_and_foreign_files(tmp_path, pairs_dir,
                                                                      tiny_model, capsys):
    other_model = tmp_path / "other.keras"
    tiny_model.save(other_model)
    weights = tmp_path / "other.weights.h5"
    tiny_model.save_weights(weights)
    photo = save(tmp_path / "holiday.png", scene(5))  # an image that is not an input
    ledger = tmp_path / "ledger.csv"
    ledger.write_text("date,amount\n2026-01-02,12.50\n")
    command = _evaluate(pairs_dir, "--model", "none", "--baseline", "input", "--overwrite")
    for target, reason in (
        (other_model, "a model or config file"),
        (weights, "a model or config file"),
        (photo, "an image"),
        (ledger, "not a CSV written by evaluate"),
    ):
        before = digest(target)
        assert main(command + ["--csv", str(target)]) == 1, target
        line = one_error_line(capsys)
        assert f"'{target}'" in line and reason in line, line
        assert digest(target) == before


def test_evaluate_csv_overwrite_replaces_an_earlier_evaluation_csv(tmp_path, pairs_dir, capsys):
    # The header `evaluate --model none --baseline input` writes, by hand.
    scores = tmp_path / "scores.csv"
    scores.write_text("name,input_psnr,input_ssim,input_ssim_matlab,seconds,error\nold,1,2,3,,\n")
    command = _evaluate(pairs_dir, "--model", "none", "--baseline", "input", "--csv", str(scores))
    assert main(command + ["--overwrite"]) == 0
    with open(scores, newline="") as stream:
        assert [row["name"] for row in csv.DictReader(stream)] == ["000000.png", "000001.png"]


def test_evaluate_pairs_refuses_to_replace_a_file_it_did_not_write(tmp_path):
    write_pairs(tmp_path / "blur", tmp_path / "sharp", count=1)
    pairs = [(str(tmp_path / "blur" / "000000.png"), str(tmp_path / "sharp" / "000000.png"))]
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    with pytest.raises(FileExistsError, match="not a CSV written by evaluate"):
        evaluation.evaluate_pairs(None, pairs, baselines=("input",), csv_path=notes,
                                  progress=False)  # fmt: skip
    assert notes.read_text() == "my notes\n"


# === export --overwrite replaces only a tree of files an export writes ===


def _fake_saved_model(folder):
    """The file names `model.export` writes (see test_export_overwrite_replaces_...)."""
    (folder / "variables").mkdir(parents=True)
    (folder / "assets").mkdir()
    for name in ("saved_model.pb", "fingerprint.pb", "variables/variables.index",
                 "variables/variables.data-00000-of-00001"):  # fmt: skip
        (folder / name).write_bytes(b"\x08\x01")
    return folder


@pytest.mark.parametrize(
    "extra", ["variables/notes.txt", "assets/vocab.txt", "notes.txt", "extra/data.bin",
              "variables/variables.data-00000-of-00001.bak", "variables/link", "empty"],
)  # fmt: skip
def test_check_replaceable_refuses_a_saved_model_look_alike_with_any_extra_file(tmp_path, extra):
    folder = _fake_saved_model(tmp_path / "export")
    export.check_replaceable(folder, "saved_model")  # only what an export writes: replaceable
    path = folder / extra
    path.parent.mkdir(exist_ok=True)
    if extra.endswith("link"):
        os.symlink(tmp_path, path)  # a link out of the tree
    elif extra == "empty":
        path.mkdir()
    else:
        path.write_bytes(b"keep me")
    before = digest(folder)
    with pytest.raises(FileExistsError) as raised:
        export.check_replaceable(folder, "saved_model")
    message = str(raised.value)
    assert "\n" not in message and os.path.join(str(folder), extra) in message, message
    assert digest(folder) == before


def test_export_overwrite_keeps_a_look_alike_with_extra_files(tmp_path, tiny_model, capsys):
    pytest.importorskip("tensorflow", reason="SavedModel export needs TensorFlow")
    model_file = tmp_path / "tiny.keras"
    tiny_model.save(model_file)
    output = tmp_path / "served"
    command = ["export", str(output), "--model", str(model_file), "--overwrite"]
    assert main(command) == 0
    capsys.readouterr()
    written = sorted(
        os.path.relpath(os.path.join(root, name), output)
        for root, _, names in os.walk(output)
        for name in names
    )
    # What model.export writes, the only files that --overwrite may delete.
    assert written == ["fingerprint.pb", "saved_model.pb", "variables/variables.data-00000-of-00001",
                       "variables/variables.index"]  # fmt: skip
    extra = output / "variables" / "my_notes.txt"
    extra.write_text("not from an export")
    before = digest(output)
    assert main(command) == 1
    assert str(extra) in one_error_line(capsys)
    assert digest(output) == before
    extra.unlink()  # an untouched earlier export is replaced
    old_graph = (output / "saved_model.pb").stat().st_mtime_ns
    assert main(command) == 0
    assert (output / "saved_model.pb").stat().st_mtime_ns != old_graph


# === evaluate refuses to score images against themselves ===


def test_evaluate_refuses_the_same_folder_as_blurry_and_sharp(tmp_path, pairs_dir, capsys):
    folder = pairs_dir / "blur"
    os.symlink(folder, tmp_path / "link")
    for other in (folder, f"{folder}{os.sep}", pairs_dir / "sharp" / ".." / "blur",
                  tmp_path / "link"):  # fmt: skip
        command = ["evaluate", "--blurry", str(folder), "--sharp", str(other), "--model", "none",
                   "--baseline", "input"]  # fmt: skip
        assert main(command) == 2, other
        assert "same folder" in one_error_line(capsys)


def test_evaluate_refuses_pairs_that_are_all_the_same_file(tmp_path, pairs_dir, capsys):
    # A "sharp" folder of links to the blurry images: every pair is one file twice.
    links = tmp_path / "links"
    links.mkdir()
    for name in os.listdir(pairs_dir / "blur"):
        os.symlink(pairs_dir / "blur" / name, links / name)
    command = ["evaluate", "--blurry", str(pairs_dir / "blur"), "--sharp", str(links),
               "--model", "none", "--baseline", "input"]  # fmt: skip
    assert main(command) == 2
    assert "same file" in one_error_line(capsys)
    # One such pair among good ones fails alone; no mean is infinite.
    summary = evaluation.evaluate_pairs(
        None,
        [(pairs_dir / "blur" / "000000.png", pairs_dir / "sharp" / "000000.png"),
         (pairs_dir / "blur" / "000001.png", links / "000001.png")],
        baselines=("input",), progress=False,
    )  # fmt: skip
    assert summary.count == 1 and "same file" in summary.failed[0][1]
    assert np.isfinite(summary.means["input"]["psnr"])
    expected = _psnr_by_hand(pairs_dir / "blur" / "000000.png", pairs_dir / "sharp" / "000000.png")
    assert summary.means["input"]["psnr"] == pytest.approx(expected, abs=1e-3)


def _psnr_by_hand(blurry_path, sharp_path):
    blurry = np.asarray(Image.open(blurry_path), dtype="float64")
    sharp = np.asarray(Image.open(sharp_path), dtype="float64")
    return 10 * np.log10(255.0**2 / np.mean((blurry - sharp) ** 2))
