"""Hostile inputs: a generated corpus of bad files, bad arguments and bad model folders,
walked through `deblur_folder`, the command line and `from_pretrained`.

Every case must end in a one-line error (or a one-line entry in a folder run's
summary) naming the thing and the fix, with the right exit code, and no file
that existed before may change (the whole corpus is hashed before and after).
"""

import hashlib
import json
import os
import struct
import zlib

import pytest
from PIL import Image

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import hub
from keras_attn_deblur import inference
from keras_attn_deblur.cli import main
from tests.test_cli import blur
from tests.test_cli import one_error_line
from tests.test_cli import save
from tests.test_cli import scene
from tests.test_cli import write_pairs
from tests.test_reliability import tiny_model


def _png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width, height, bits, raw, cut=None):
    """An RGB PNG of the given header around `raw` scanline bytes (compressed, maybe cut)."""
    body = zlib.compress(raw)[:cut]
    header = struct.pack(">IIBBBBB", width, height, bits, 2, 0, 0, 0)
    ending = b"" if cut else _png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", body) + ending


def _tree_digest(folder):
    digests = {}
    for root, dirs, names in os.walk(folder):
        for name in names + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = os.path.join(root, name)
            if os.path.islink(path):
                digests[os.path.relpath(path, folder)] = "link:" + os.readlink(path)
            else:
                with open(path, "rb") as file:
                    digests[os.path.relpath(path, folder)] = hashlib.sha256(file.read()).hexdigest()
    return digests


# Bad image files: name -> (what to write, a phrase the error must contain).
def _write_corpus(folder):
    folder.mkdir()
    good = save(folder / "good.png", blur(scene(0)))
    save(folder / "blurry photo é.png", blur(scene(1)))  # a space and an accent: fine
    png = open(good, "rb").read()
    Image.fromarray((scene(2) * 255).astype("uint8")).save(folder / "photo.jpg", quality=90)
    jpeg = (folder / "photo.jpg").read_bytes()
    (folder / "photo.jpg").unlink()
    bad = {
        "empty.png": (b"", "is empty (0 bytes)"),
        "truncated.png": (png[: len(png) // 2], "truncated or corrupt"),
        # Cut halfway through the compressed data, after the headers and tables (whose
        # length varies with the encoder's version).
        "truncated.jpg": (jpeg[: (jpeg.index(b"\xff\xda") + len(jpeg)) // 2],
                          "truncated or corrupt"),  # fmt: skip
        "page.jpg": (b"<!DOCTYPE html><html><body>Not found</body></html>", "not an image"),
        "random.webp": (os.urandom(2048), "not an image"),
        # Headers claiming 1.6 and 0.9 billion pixels (8 and 16 bits), and a cut 16-bit file.
        "bomb.png": (_png(40000, 40000, 8, b"\0" * 100), "pixels"),
        "bomb16.png": (_png(30000, 30000, 16, b"\0" * 100), "pixels"),
        "truncated16.png": (_png(64, 64, 16, b"\1" * 5000, cut=200), "truncated or corrupt"),
    }
    for name, (content, _) in bad.items():
        (folder / name).write_bytes(content)
    frames = [Image.fromarray((scene(seed) * 255).astype("uint8")) for seed in range(3)]
    frames[0].save(folder / "clip.gif", save_all=True, append_images=frames[1:], duration=80)
    bad["clip.gif"] = (None, "holds 3 frames")
    frames[0].save(folder / "pages.tiff", save_all=True, append_images=frames[1:])
    bad["pages.tiff"] = (None, "holds 3 frames")
    (folder / "folder.png").mkdir()
    os.symlink(folder / "gone.png", folder / "dangling.png")
    bad["dangling.png"] = (None, "does not exist")
    return bad


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    bad = _write_corpus(root / "images")
    write_pairs(root / "pairs" / "blur", root / "pairs" / "sharp", count=1)
    model_path = root / "tiny.keras"
    tiny_model().save(model_path)
    return root, bad, str(model_path)


def test_a_folder_run_reports_each_bad_file_on_one_line_and_goes_on(corpus, tmp_path):
    root, bad, _ = corpus
    before = _tree_digest(root)
    summary = inference.deblur_folder(tiny_model(), root / "images", tmp_path / "out",
                                      progress=False)  # fmt: skip
    failed = {os.path.basename(path): message for path, message in summary.failed}
    assert summary.processed == 2  # good.png and the accented name
    for name, (_, phrase) in bad.items():
        if os.path.splitext(name)[1] not in inference.IMAGE_EXTENSIONS:
            assert name not in failed  # not an image extension of folder runs: left alone
            continue
        assert name in failed, name
        assert phrase in failed[name] and "\n" not in failed[name], (name, failed[name])
    assert sorted(os.listdir(tmp_path / "out")) == ["blurry photo é.png", "good.png"]
    assert _tree_digest(root) == before


def test_each_bad_file_is_one_line_exit_1_from_the_command_line(corpus, tmp_path, capsys):
    root, bad, model_path = corpus
    before = _tree_digest(root)
    for name, (_, phrase) in bad.items():
        output = tmp_path / f"{name}.out.png"
        code = main(["deblur", str(root / "images" / name), str(output), "--model", model_path])
        line = one_error_line(capsys)
        assert code == 1 and phrase in line and name in line, (name, line)
        assert not output.exists()
    assert _tree_digest(root) == before


@pytest.mark.parametrize(
    "arguments, code, phrase",
    [
        (["--tile-size", "0"], 2, "positive integer"),
        (["--tile-size", "abc"], 2, "positive integer"),
        (["--tile-overlap", "-3"], 2, "integer >= 0"),
        (["--memory-budget", "inf"], 2, "positive, finite"),
        (["--memory-budget", "nan"], 2, "positive, finite"),
        (["--memory-budget", "-5"], 2, "positive, finite"),
        (["--precision", "float8"], 2, "invalid choice"),
        (["--model", "patnet"], 1, "Did you mean 'patent'"),
        (["--model", "./no/such/folder"], 1, "does not exist"),
        (["--model", "missing.keras"], 1, "does not exist"),
        (["--tile-size", "16", "--tile-overlap", "8"], 1, "tile_size"),
    ],
)  # fmt: skip
def test_bad_deblur_arguments(corpus, tmp_path, capsys, arguments, code, phrase):
    root, _, model_path = corpus
    before = _tree_digest(root)
    command = ["deblur", str(root / "images" / "good.png"), str(tmp_path / "out.png")]
    if "--model" not in arguments:
        command += ["--model", model_path]
    assert main(command + arguments) == code
    assert phrase in one_error_line(capsys)
    assert not (tmp_path / "out.png").exists()
    assert _tree_digest(root) == before


@pytest.mark.parametrize(
    "command, code, phrase",
    [
        (["train", "--steps", "0"], 2, "positive integer"),
        (["train", "--pairs", "nowhere/blur", "nowhere/sharp", "--steps", "1"], 1,
         "does not exist"),
        (["evaluate", "--blurry", "IMAGES"], 2, "--blurry and --sharp go together"),
        (["evaluate", "--blurry", "PAIRS/blur", "--sharp", "PAIRS/sharp", "--csv",
          "PAIRS/sharp/000000.png", "--overwrite", "--model", "none", "--baseline", "input"], 1,
         "is one of the inputs"),
        (["visualize", "IMAGES/good.png"], 2, "nothing to draw"),
        (["visualize", "IMAGES/good.png", "--side-by-side", "IMAGES/good.png", "--overwrite"],
         1, "is one of the inputs"),
        (["export", "IMAGES", "--overwrite", "--model", "MODEL"], 1, "not an earlier"),
        (["push", "not a repo id", "--model", "MODEL"], 1, ""),
    ],
)  # fmt: skip
def test_bad_command_lines(corpus, capsys, command, code, phrase):
    root, _, model_path = corpus
    before = _tree_digest(root)
    command = [part.replace("IMAGES", str(root / "images")).replace("MODEL", model_path)
               .replace("PAIRS", str(root / "pairs")) for part in command]  # fmt: skip
    assert main(command) == code
    assert phrase in one_error_line(capsys)
    assert _tree_digest(root) == before


def _damage(folder, how):
    config, weights = folder / hub.CONFIG_FILE, folder / hub.WEIGHTS_FILE
    metadata = folder / hub.METADATA_FILE
    if how == "no config":
        config.unlink()
    elif how == "config not JSON":
        config.write_text("{not json")
    elif how == "tampered weights":
        content = bytearray(weights.read_bytes())
        content[len(content) // 2] ^= 0xFF
        weights.write_bytes(bytes(content))
    elif how == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:4096])
    elif how == "text as weights, hash updated":
        weights.write_text("<html>rate limited</html>")
        record = json.loads(metadata.read_text())
        record[hub.METADATA_KEY].update(
            weights_sha256=hashlib.sha256(weights.read_bytes()).hexdigest(),
            weights_size=weights.stat().st_size,
        )
        metadata.write_text(json.dumps(record))
    elif how in ("os.system", "Lambda"):
        record = json.loads(config.read_text())
        if how == "os.system":
            record["module"], record["class_name"], record["registered_name"] = "os", "system", None
        else:
            record["config"]["name"] = "x"
            record["class_name"], record["module"] = "Lambda", "keras.layers"
        config.write_text(json.dumps(record))


@pytest.mark.parametrize(
    "how, phrase",
    [
        ("no config", "has no config.json"),
        ("config not JSON", "not valid JSON"),
        ("tampered weights", "SHA-256"),
        ("truncated weights", "truncated"),
        ("text as weights, hash updated", "cannot be read"),
        ("os.system", "outside the packages"),
        ("Lambda", "Lambda"),
    ],
)  # fmt: skip
def test_damaged_model_folders_are_refused_in_one_line(tmp_path, how, phrase, capsys):
    folder = tmp_path / "model"
    tiny_model().save_pretrained(folder)
    _damage(folder, how)
    before = _tree_digest(folder)
    with pytest.raises((ValueError, FileNotFoundError, TypeError)) as error:
        AttnDeblurNet.from_pretrained(folder)
    message = str(error.value)
    assert phrase in message and "\n" not in message, message
    # The command line says the same in one line, exit code 1.
    photo = save(tmp_path / "p.png", scene(5))
    assert main(["deblur", photo, str(tmp_path / "o.png"), "--model", str(folder)]) == 1
    assert phrase in one_error_line(capsys)
    assert _tree_digest(folder) == before
