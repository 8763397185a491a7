"""Progress that a user sees: the tiles of one large photo, and training logs.

A photo that takes more than a few seconds shows its tiles with the time
left on stderr: one line rewritten in place on a terminal, plain lines in a
log. Training writes plain lines into a log, never Keras's `\\b` and `\\r`.
The number of tiles is counted independently, by wrapping the network's
`predict_on_batch`.
"""

import io
import re

import keras
import numpy as np
import pytest
from PIL import Image

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import Deblurrer
from keras_attn_deblur.cli import main
from keras_attn_deblur.inference import deblurrer as deblurrer_module
from keras_attn_deblur.inference import progress as progress_module
from keras_attn_deblur.inference.progress import ProgressLine

TINY = {"filters": (4, 8, 8), "blocks_per_stage": 1, "kernel_size": 3}
# Tiles of at most 48 pixels overlapping by 8: a 96 x 128 image needs several.
TILING = {"tile_size": 48, "tile_overlap": 8}
TILE_LINE = re.compile(r"deblur (\S+): tile (\d+)/(\d+) \[\d+ s, \d+ s left\]")
CONTROL = ("\r", "\x1b", "\x08")


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self):
        return True


def _counting_model():
    """A tiny float32 model and the list its `predict_on_batch` appends each batch size to."""
    keras.utils.set_random_seed(0)
    model = AttnDeblurNet(**TINY)
    predicted = []
    predict = model.predict_on_batch
    model.predict_on_batch = lambda batch: predicted.append(len(batch)) or predict(batch)
    return model, predicted


def _photo(height=96, width=128):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.fixture
def no_delay(monkeypatch):
    """Progress from the first tile on, as for a photo that takes minutes."""
    monkeypatch.setattr(deblurrer_module, "PROGRESS_AFTER_SECONDS", 0.0, raising=False)


def test_tile_progress_in_a_log_is_plain_lines(no_delay, capsys):
    model, predicted = _counting_model()
    Deblurrer(model, progress=True, **TILING)(_photo())
    err = capsys.readouterr().err
    assert not any(character in err for character in CONTROL), repr(err)
    lines = err.splitlines()
    tiles = len(predicted)
    assert tiles > 4
    # One line per tile (fewer than 20 tiles), counting up to the last.
    assert [TILE_LINE.fullmatch(line).group(1, 2, 3) for line in lines] == [
        ("128x96", str(done), str(tiles)) for done in range(1, tiles + 1)
    ]


def test_tile_progress_on_a_terminal_is_one_line_rewritten_then_erased(no_delay, monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    model, predicted = _counting_model()
    Deblurrer(model, progress=True, **TILING)(_photo())
    written = terminal.getvalue()
    assert "\n" not in written
    updates = written.split("\r\x1b[K")
    assert updates[0] == "" and updates[-1] == ""  # starts and ends on a cleared line
    tiles = len(predicted)
    assert [TILE_LINE.fullmatch(update).group(2) for update in updates[1:-1]] == [
        str(done) for done in range(1, tiles + 1)
    ]


def test_ensemble_counts_flipped_tiles(no_delay, capsys):
    model, predicted = _counting_model()
    Deblurrer(model, progress=True, ensemble=True, batch_size=2, **TILING)(_photo())
    lines = capsys.readouterr().err.splitlines()
    passes = sum(predicted)  # tiles x 4 flips, predicted 2 at a time
    assert lines[-1].startswith(f"deblur 128x96: flipped tile {passes}/{passes} [")
    assert len(lines) == len(predicted)


def test_a_progress_callable_is_called_after_every_prediction_and_nothing_is_printed(capsys):
    model, predicted = _counting_model()
    calls = []
    Deblurrer(model, progress=lambda done, total: calls.append((done, total)), batch_size=2,
              ensemble=True, **TILING)(_photo())  # fmt: skip
    passes = sum(predicted)
    assert len(predicted) > 2
    # One call per batch, counting flipped tiles done of all of them, up to the last.
    assert calls == [(sum(predicted[: index + 1]), passes) for index in range(len(predicted))]
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError, match="progress"):
        Deblurrer(model, progress="yes")


def test_quick_image_shows_nothing_and_progress_is_off_by_default(capsys):
    model, _ = _counting_model()
    Deblurrer(model, **TILING)(_photo())  # traced and compiled: the next runs take ~0.1 s
    Deblurrer(model, progress=True, **TILING)(_photo())
    assert capsys.readouterr().err == ""


def test_a_single_tile_shows_nothing(no_delay, capsys):
    model, predicted = _counting_model()
    Deblurrer(model, progress=True)(_photo())  # whole, in one prediction
    assert predicted == [1]
    assert capsys.readouterr().err == ""


def test_progress_waits_for_the_delay(monkeypatch):
    clock = iter(range(100))  # each reading of the clock is one second later
    monkeypatch.setattr(progress_module.time, "perf_counter", lambda: float(next(clock)))
    stream = io.StringIO()
    line = ProgressLine(6, "deblur a.jpg: tile", stream=stream, after_seconds=3.0)
    for _ in range(6):
        line.update()
    line.close()
    # Started at 0 s; items done at 1, 2, 3, ... s: shown from the third on.
    assert stream.getvalue().splitlines() == [
        "deblur a.jpg: tile 3/6 [3 s, 3 s left]",
        "deblur a.jpg: tile 4/6 [4 s, 2 s left]",
        "deblur a.jpg: tile 5/6 [5 s, 1 s left]",
        "deblur a.jpg: tile 6/6 [6 s, 0 s left]",
    ]


def test_time_left_leaves_out_the_first_item(monkeypatch):
    # The first tile also traces the network: 10 s, then 1 s a tile.
    clock = iter([0.0, 10.0, 11.0, 12.0])
    monkeypatch.setattr(progress_module.time, "perf_counter", lambda: next(clock))
    stream = io.StringIO()
    line = ProgressLine(12, "deblur a.jpg: tile", stream=stream)
    for _ in range(3):
        line.update()
    assert stream.getvalue().splitlines() == [
        "deblur a.jpg: tile 1/12 [10 s, 110 s left]",
        "deblur a.jpg: tile 2/12 [11 s, 10 s left]",
        "deblur a.jpg: tile 3/12 [12 s, 9 s left]",
    ]


# === The command line ===


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    AttnDeblurNet(**TINY).save(path)
    return str(path)


def test_deblur_command_shows_tile_progress_unless_quiet(no_delay, model_path, tmp_path, capsys):
    photo = tmp_path / "big.png"
    Image.fromarray(_photo()).save(photo)
    options = ["--model", model_path, "--tile-size", "48", "--tile-overlap", "8"]
    assert main(["deblur", str(photo), str(tmp_path / "out.png"), *options]) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) > 4 and all(TILE_LINE.fullmatch(line) for line in lines), captured.err
    assert TILE_LINE.fullmatch(lines[-1]).group(1) == "big.png"
    assert captured.out.strip() == f"deblurred '{photo}' -> '{tmp_path / 'out.png'}'"
    assert main(["deblur", str(photo), str(tmp_path / "out2.png"), *options, "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_training_log_has_no_progress_bar_control_characters(model_path, tmp_path, capsys):
    for index in range(2):
        Image.fromarray(_photo(48, 48)).save(tmp_path / f"{index}.png")
    code = main(["train", "--photos", str(tmp_path), "--model", model_path, "--steps", "1",
                 "--epochs", "1", "--batch-size", "2", "--patch-size", "16", "--no-val",
                 "--run-dir", str(tmp_path / "run")])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert not any(character in out for character in CONTROL), repr(out)
    # One plain line for the epoch (Keras's verbose=2).
    assert re.search(r"^1/1 - \d+s - .*loss: ", out, re.MULTILINE), out
