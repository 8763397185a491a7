"""Writing images (keras_attn_deblur.io.encode) on a disk that fills part-way, in every format.

Each image is first written where there is room (its size is what the disk
must hold), then where the disk fills before its end: a file object that
runs out of room, the kernel's file-size limit, and a real tmpfs. Every
time, `write_image` must raise an OSError that names the output and says
the disk is full, and leave no file under the output's name and no
temporary file; an earlier file under that name stays as it was.
"""

import errno
import os
import pickle

import numpy as np
import pytest
from PIL import Image
from PIL.TiffImagePlugin import STRIPBYTECOUNTS
from PIL.TiffImagePlugin import STRIPOFFSETS

from keras_attn_deblur.io.encode import write_image
from tests.full_disk import disk_with_room
from tests.full_disk import mounted_tmpfs
from tests.full_disk import one_page_short
from tests.full_disk import run_with_file_size_limit


def _noise(shape, dtype, seed):
    """Random samples: no encoder compresses them, so every file is tens of kilobytes."""
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)


# Output name: (samples, mode, info), as `load_image_samples` gives them; one per kind of
# writer (Pillow through `write`, Pillow on the descriptor, libtiff, the 16-bit PNG writer).
CASES = {
    "rgb.png": (_noise((160, 160, 3), np.uint8, 0), "RGB", {}),
    "gray16.png": (_noise((160, 160), np.uint16, 1), "I;16", {}),
    "rgb16.png": (_noise((120, 120, 3), np.uint16, 2), "RGB;16", {}),
    "rgb.jpg": (_noise((160, 160, 3), np.uint8, 3), "RGB", {}),
    "gray.jpeg": (_noise((200, 200), np.uint8, 4), "L", {}),
    "rgb.webp": (_noise((160, 160, 3), np.uint8, 5), "RGB", {}),
    "rgb.tif": (_noise((160, 160, 3), np.uint8, 6), "RGB", {}),
    "deflate.tif": (_noise((160, 160, 3), np.uint8, 7), "RGB", {"compression": "tiff_deflate"}),
    "rgb.bmp": (_noise((160, 160, 3), np.uint8, 8), "RGB", {}),
}


def _full_size(folder, name):
    """The size of `name`'s file, written where there is room (in `folder/with_room`)."""
    with_room = folder / "with_room"
    with_room.mkdir(exist_ok=True)
    return os.path.getsize(write_image(with_room / name, *CASES[name]))


def _assert_disk_full_error(error, path, expected_errno=errno.ENOSPC):
    """One line, naming the output (not its temporary file) and the full disk."""
    message = str(error)
    assert f"'{path}'" in message and ".part" not in message and "\n" not in message, message
    assert error.errno == expected_errno, (error.errno, message)
    if expected_errno == errno.ENOSPC:
        assert "the disk is full" in message, message


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("missing", [1, "half"])
def test_a_disk_that_fills_part_way_is_an_error_in_every_format(tmp_path, monkeypatch, name,
                                                                 missing):
    size = _full_size(tmp_path, name)
    disk_with_room(monkeypatch, size - 1 if missing == 1 else size // 2)
    output = tmp_path / "out" / name
    output.parent.mkdir()
    with pytest.raises(OSError) as caught:
        write_image(output, *CASES[name])
    _assert_disk_full_error(caught.value, output)
    assert os.listdir(output.parent) == []


@pytest.mark.parametrize("name", ["rgb.png", "rgb.jpg", "rgb16.png"])
def test_bytes_that_never_reach_the_disk_are_caught_before_the_rename(tmp_path, monkeypatch,
                                                                      name):
    size = _full_size(tmp_path, name)
    disk_with_room(monkeypatch, size // 2, silent=True)  # `write` reports every byte written
    output = tmp_path / "out" / name
    output.parent.mkdir()
    with pytest.raises(OSError, match=rf"only {size // 2} of its {size} bytes reached the disk"):
        write_image(output, *CASES[name])
    assert os.listdir(output.parent) == []


def test_an_earlier_output_survives_a_full_disk_unchanged(tmp_path, monkeypatch):
    size = _full_size(tmp_path, "rgb.jpg")
    output = tmp_path / "out" / "rgb.jpg"
    output.parent.mkdir()
    output.write_bytes(b"an earlier run's restored image")
    disk_with_room(monkeypatch, size - 1)
    with pytest.raises(OSError, match="the disk is full"):
        write_image(output, *CASES["rgb.jpg"])
    assert output.read_bytes() == b"an earlier run's restored image"
    assert os.listdir(output.parent) == ["rgb.jpg"]


def _without_tiff_padding(path):
    """The file's bytes, with the byte that aligns a TIFF's directory set to zero.

    libtiff starts the directory on an even offset; when the last strip ends on an odd
    one, the byte between them belongs to no tag, and Pillow leaves in it whatever its
    encoder's buffer held (zero in a fresh process, not always in a long one).
    """
    data = bytearray(path.read_bytes())
    if data[:4] == b"II*\x00":
        directory = int.from_bytes(data[4:8], "little")
        with Image.open(path) as image:
            strips_end = image.tag_v2[STRIPOFFSETS][-1] + image.tag_v2[STRIPBYTECOUNTS][-1]
        if strips_end == directory - 1:
            data[strips_end] = 0
    return bytes(data)


def test_a_disk_with_room_gets_the_whole_file(tmp_path, monkeypatch):
    """The full-disk file object itself writes every byte when there is room."""
    for name in CASES:
        size = _full_size(tmp_path, name)
        with monkeypatch.context() as patch:
            disk_with_room(patch, size)
            write_image(tmp_path / name, *CASES[name])
        written, with_room = tmp_path / name, tmp_path / "with_room" / name
        assert _without_tiff_padding(written) == _without_tiff_padding(with_room), name


_WRITE_UNDER_A_FILE_SIZE_LIMIT = """
import pickle
from keras_attn_deblur.io.encode import write_image

cases_file, folder = sys.argv[1:]
with open(cases_file, "rb") as file:
    cases = pickle.load(file)
results = []
for name, (samples, mode, info) in cases.items():
    with_room, output = os.path.join(folder, "with_room", name), os.path.join(folder, "out", name)
    os.makedirs(os.path.dirname(with_room), exist_ok=True)
    os.makedirs(os.path.dirname(output), exist_ok=True)
    size = os.path.getsize(write_image(with_room, samples, mode, info))
    for limit in (size - 1, size // 2):
        set_file_size_limit(limit)
        try:
            write_image(output, samples, mode, info)
            error = None
        except OSError as caught:
            error = {"errno": caught.errno, "message": str(caught)}
        finally:
            set_file_size_limit(resource.RLIM_INFINITY)
        left = sorted(os.listdir(os.path.dirname(output)))
        results.append({"name": name, "limit": limit, "error": error, "left": left})
        for leftover in left:
            os.remove(os.path.join(os.path.dirname(output), leftover))
print(json.dumps(results))
"""


def test_the_kernels_short_writes_are_errors_in_every_format(tmp_path):
    """RLIMIT_FSIZE: `write(2)` is cut short at the limit and the next one fails (EFBIG)."""
    cases_file = tmp_path / "cases.pickle"
    cases_file.write_bytes(pickle.dumps(CASES))
    results = run_with_file_size_limit(_WRITE_UNDER_A_FILE_SIZE_LIMIT, cases_file, tmp_path)
    assert len(results) == 2 * len(CASES)
    written = [result for result in results if result["error"] is None or result["left"]]
    assert not written, f"written or left behind past the limit: {written}"
    for result in results:
        output = os.path.join(tmp_path, "out", result["name"])
        message = result["error"]["message"]
        assert f"'{output}'" in message and ".part" not in message, message
        assert result["error"]["errno"] == errno.EFBIG, result


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_real_full_tmpfs_is_an_error_in_every_format(tmp_path, name):
    """The issue's case: a small tmpfs that fills on the file's last page."""
    size = _full_size(tmp_path, name)
    disk = tmp_path / "disk"
    with mounted_tmpfs(disk, one_page_short(size)):
        with pytest.raises(OSError) as caught:
            write_image(disk / name, *CASES[name])
        _assert_disk_full_error(caught.value, disk / name)
        assert os.listdir(disk) == []
        samples, mode, info = CASES["rgb.png"]
        write_image(disk / "small.png", samples[:8, :8], mode, info)
        assert os.listdir(disk) == ["small.png"]  # the room the failed write took is free again
