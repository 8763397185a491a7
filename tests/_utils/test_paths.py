import errno
import json
import os
import subprocess
import sys
import time

import pytest

from keras_attn_deblur._utils import paths

try:
    import fcntl
except ImportError:
    fcntl = None


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


# === Two writers of one file: neither removes the other's temporary file ===

_WRITER = """
import importlib.util, json, os, sys, time

spec = importlib.util.spec_from_file_location("paths", sys.argv[1])
paths = importlib.util.module_from_spec(spec)
spec.loader.exec_module(paths)
target, go, mine, rounds = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
payloads = {bytes([value]) * 65536 for value in (1, 2)}


def write(file):  # slowly, so that the other writer starts while this one writes
    for start in range(0, 65536, 8192):
        file.write(bytes([mine]) * 8192)
        file.flush()
        time.sleep(0.0005)


while not os.path.exists(go):
    time.sleep(0.001)
failures = []
for _ in range(rounds):
    try:
        paths.write_atomically(target, write)
    except OSError as error:
        failures.append(f"{type(error).__name__}: {error}")
    with open(target, "rb") as file:
        if file.read() not in payloads:
            failures.append("torn output")
print(json.dumps(failures))
"""


def test_two_processes_writing_one_file_both_succeed_and_leave_it_whole(tmp_path):
    target, go = tmp_path / "out.png", tmp_path / "go"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, paths.__file__, target, go, str(value), "40"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        for value in (1, 2)
    ]
    time.sleep(0.5)  # both started and waiting
    go.write_text("")
    failures = []
    for writer in writers:
        stdout, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr[-2000:]
        failures += json.loads(stdout)
    assert not failures, failures[:5]
    assert target.read_bytes() in (bytes([1]) * 65536, bytes([2]) * 65536)
    assert sorted(os.listdir(tmp_path)) == ["go", "out.png"]


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


def test_only_temporary_files_of_dead_writers_are_removed(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = tmp_path / f".out.png.{_dead_pid()}.k1ll3d_x.part"
        alive = tmp_path / f".out.png.{sleeper.pid}.wr1t1ng_.part"
        mine = tmp_path / f".out.png.{os.getpid()}.wr1t1ng_.part"  # another thread's
        older = tmp_path / ".out.png.abcd1234.part"  # named without a pid, by version 0.1.0
        other = tmp_path / f".out.png.old.{_dead_pid()}.k1ll3d_x.part"  # out.png.old's
        for path in (dead, alive, mine, older, other):
            path.write_bytes(b"half an image")
        paths.write_atomically(tmp_path / "out.png", lambda file: file.write(b"whole"))
        assert sorted(os.listdir(tmp_path)) == sorted(["out.png", alive.name, mine.name,
                                                       other.name])
        assert (tmp_path / "out.png").read_bytes() == b"whole"
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.skipif(fcntl is None, reason="no flock on this platform")
def test_a_locked_temporary_file_is_left_alone_even_if_its_pid_is_gone(tmp_path):
    """A writer on another machine sharing the folder: its pid means nothing here, its lock does."""
    remote = tmp_path / f".out.png.{_dead_pid()}.r3m0t3__.part"
    unnamed = tmp_path / ".out.png.r3m0t3__.part"  # no pid in the name at all
    for path in (remote, unnamed):
        path.write_bytes(b"being written elsewhere")
    with open(remote, "rb") as held, open(unnamed, "rb") as also_held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        fcntl.flock(also_held.fileno(), fcntl.LOCK_EX)
        paths.write_atomically(tmp_path / "out.png", lambda file: file.write(b"whole"))
        assert remote.exists() and unnamed.exists()
    paths.write_atomically(tmp_path / "out.png", lambda file: file.write(b"whole"))
    assert sorted(os.listdir(tmp_path)) == ["out.png"]


# === Errors name the file, never its temporary file ===


def _assert_names_the_output(error, path, reason):
    message = str(error)
    assert message.startswith(f"Cannot write '{path}': {reason}"), message
    assert ".part" not in message and "\n" not in message, message


def test_a_folder_in_the_way_is_an_error_naming_the_output(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(NotADirectoryError) as caught:
        paths.write_atomically(tmp_path / "file" / "out.png", lambda file: file.write(b"x"))
    _assert_names_the_output(caught.value, tmp_path / "file" / "out.png", "Not a directory")
    (tmp_path / "out.png").mkdir()
    (tmp_path / "out.png" / "kept").write_text("kept")
    with pytest.raises(IsADirectoryError) as caught:
        paths.write_atomically(tmp_path / "out.png", lambda file: file.write(b"x"))
    _assert_names_the_output(caught.value, tmp_path / "out.png", "Is a directory")
    assert sorted(os.listdir(tmp_path)) == ["file", "out.png"]


def test_a_locked_output_is_an_error_naming_it(tmp_path, monkeypatch):
    """A file that cannot be replaced (locked on Windows, immutable here): os.replace fails."""
    target = tmp_path / "out.jpg"
    target.write_bytes(b"locked")

    def refuse(source, destination):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), source, destination)

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError) as caught:
        paths.write_atomically(target, lambda file: file.write(b"new"))
    _assert_names_the_output(caught.value, target, "Permission denied")
    assert caught.value.errno == errno.EACCES
    assert target.read_bytes() == b"locked" and os.listdir(tmp_path) == ["out.jpg"]


def test_an_immutable_output_is_an_error_naming_it(tmp_path):
    """The same, for real: `chattr +i` (root cannot replace an immutable file either)."""
    target = tmp_path / "out.jpg"
    target.write_bytes(b"locked")
    if subprocess.run(["chattr", "+i", target], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here (needs root and ext4/xfs/btrfs)")
    try:
        with pytest.raises(PermissionError) as caught:
            paths.write_atomically(target, lambda file: file.write(b"new"))
    finally:
        subprocess.run(["chattr", "-i", target], check=True)
    _assert_names_the_output(caught.value, target, "Operation not permitted")
    assert target.read_bytes() == b"locked" and os.listdir(tmp_path) == ["out.jpg"]
