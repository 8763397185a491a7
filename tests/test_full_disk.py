"""`attn-deblur deblur` on a full disk or a locked output: exit 1, one line naming the output.

The issue's case: on a 200 KB tmpfs a JPEG output was left truncated under
its real name with exit 0, and a folder run counted it as restored. Here
the disk fills two ways: a file object that runs out of room (always) and
a real tmpfs that fills on the output's last page (where the tests may
mount one). The library side, every format, is `tests/io/test_encode.py`.
A locked output (one that cannot be replaced) was an error naming the hidden
`.part` file instead of the output.
"""

import errno
import os
import shutil
import subprocess
import types

import numpy as np
import pytest
from PIL import Image

from keras_attn_deblur._utils import paths
from keras_attn_deblur.cli import main
from tests.full_disk import disk_with_room
from tests.full_disk import mounted_tmpfs
from tests.full_disk import one_page_short
from tests.test_cli import model_path  # noqa: F401 (a fixture)
from tests.test_cli import one_error_line


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A folder of two JPEG photos (noisy, so the restored JPEGs are tens of kilobytes)."""
    folder = tmp_path_factory.mktemp("photos")
    noise = np.random.default_rng(0).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "a.jpg", quality=95)
    shutil.copy(folder / "a.jpg", folder / "b.jpg")  # the same size restored
    return folder


def _deblur(*args, model):
    return main(["deblur", *map(str, args), "--model", model, "--quiet"])


def _assert_full_disk_line(line, output):
    assert f"Cannot write '{output}'" in line and "the disk is full" in line, line
    assert ".part" not in line, line


@pytest.fixture(scope="module")
def restored_size(tmp_path_factory, photos, model_path):
    """The size of a.jpg (and b.jpg) restored where there is room."""
    output = tmp_path_factory.mktemp("with_room") / "a.jpg"
    assert _deblur(photos / "a.jpg", output, model=model_path) == 0
    return os.path.getsize(output)


def test_deblur_to_a_full_disk_exits_1_and_leaves_nothing(tmp_path, photos, model_path,
                                                          restored_size, capsys, monkeypatch):
    output = tmp_path / "out" / "a.jpg"
    output.parent.mkdir()
    disk_with_room(monkeypatch, restored_size - 1)
    assert _deblur(photos / "a.jpg", output, model=model_path) == 1
    _assert_full_disk_line(one_error_line(capsys), output)
    assert os.listdir(output.parent) == []
    output.write_bytes(b"an earlier restored image")  # --overwrite keeps it when the disk is full
    assert _deblur(photos / "a.jpg", output, "--overwrite", model=model_path) == 1
    _assert_full_disk_line(one_error_line(capsys), output)
    assert output.read_bytes() == b"an earlier restored image"
    assert os.listdir(output.parent) == ["a.jpg"]


def test_a_folder_run_on_a_full_disk_counts_every_image_failed(tmp_path, photos, model_path,
                                                               restored_size, capsys, monkeypatch):
    disk_with_room(monkeypatch, restored_size - 1)
    assert _deblur(photos, tmp_path / "out", model=model_path) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("0 restored, 0 skipped (exist), 2 failed: a.jpg: Cannot "), (
        captured.out
    )
    assert captured.out.count("the disk is full") == 2 and ".part" not in captured.out
    assert os.listdir(tmp_path / "out") == []


def test_deblur_to_a_real_full_tmpfs(tmp_path, photos, model_path, restored_size, capsys):
    """The issue's case, for real: one image, then a folder of two."""
    disk = tmp_path / "disk"
    with mounted_tmpfs(disk, one_page_short(restored_size)):
        assert _deblur(photos / "a.jpg", disk / "a.jpg", model=model_path) == 1
        _assert_full_disk_line(one_error_line(capsys), disk / "a.jpg")
        assert os.listdir(disk) == []
        assert _deblur(photos, disk, model=model_path) == 1
        captured = capsys.readouterr()
        assert captured.out.startswith("0 restored, 0 skipped (exist), 2 failed"), captured.out
        assert os.listdir(disk) == []


def _refuse(source, destination):
    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), source, destination)


@pytest.mark.parametrize("lock", ["immutable", "refused"])
def test_deblur_over_a_locked_output_names_it(tmp_path, photos, model_path, capsys, monkeypatch,
                                              lock):
    """`chattr +i` (even root cannot replace it), or a rename refused as on Windows."""
    output = tmp_path / "a.jpg"
    output.write_bytes(b"locked")
    if lock == "immutable":
        if subprocess.run(["chattr", "+i", output], capture_output=True).returncode:
            pytest.skip("chattr +i is not available here (needs root and ext4/xfs/btrfs)")
    else:
        monkeypatch.setattr(paths, "os", types.SimpleNamespace(**{**vars(os), "replace": _refuse}))
    try:
        assert _deblur(photos / "a.jpg", output, "--overwrite", model=model_path) == 1
    finally:
        if lock == "immutable":
            subprocess.run(["chattr", "-i", output], check=True)
    line = one_error_line(capsys)
    reason = "Operation not permitted" if lock == "immutable" else "Permission denied"
    assert line == (
        f"attn-deblur: error: Cannot write '{output}': {reason}. Nothing was written under that name."
    )
    assert output.read_bytes() == b"locked" and os.listdir(tmp_path) == ["a.jpg"]
