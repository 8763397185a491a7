import os

import pytest

from keras_attn_deblur._utils import paths


@pytest.mark.parametrize(
    "name, expected",
    [("a.png", True), ("dir/B.JPG", True), ("c.tiff", True), ("d.webp", True),
     (".hidden.png", False), ("notes.txt", False), ("png", False), ("e.png.part", False)],
)  # fmt: skip
def test_image_names(name, expected):
    assert paths.is_image_name(name) is expected


def test_output_folder_checks_name_the_file_and_the_folder(tmp_path):
    paths.check_output_folder(tmp_path / "out.png")  # exists and writable: no error
    missing = tmp_path / "missing" / "out.png"
    with pytest.raises(FileNotFoundError, match=r"Cannot write the CSV '.*out\.png': the folder"):
        paths.check_output_folder(missing, what="the CSV ")
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        paths.check_output_folder(not_a_folder / "out.png")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_folder_is_refused(tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match="is not writable"):
            paths.check_output_folder(folder / "out.png")
    finally:
        folder.chmod(0o755)


def test_write_atomically_leaves_no_temporary_and_replaces_stale_ones(tmp_path):
    target = tmp_path / "out.txt"
    stale = tmp_path / ".out.txt.abcd1234.part"
    stale.write_text("left by a killed write")
    paths.write_atomically(target, lambda file: file.write("new"), text=True)
    assert target.read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["out.txt"]
