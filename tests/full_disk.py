"""Disks that fill up part-way through a write, for the tests that no truncated file is left.

- `disk_with_room(monkeypatch, room)`: the temporary files that
  `_utils/paths.write_atomically` opens can grow to `room` bytes; a write
  past that is cut short, and the next one fails with ENOSPC, as on a real
  full disk. The file keeps its descriptor, as a real one does, so an encoder
  that writes to the descriptor directly goes around it.
- `run_with_file_size_limit(script)`: runs a Python script in a subprocess
  where `set_file_size_limit(n)` lowers `RLIMIT_FSIZE`: the kernel then cuts
  `write(2)` short at `n` bytes and fails the next one (EFBIG), whoever
  calls it. The package is imported without its `__init__` (which imports
  Keras, seconds); `io` and `_utils` need none of it.
- `mounted_tmpfs(folder, size)`: a real tmpfs of `size` bytes on `folder`;
  skips the test where it cannot be mounted (it needs root or CAP_SYS_ADMIN).
  `one_page_short(size)` sizes it to fill on a file's last page.
"""

import contextlib
import errno
import io
import json
import os
import subprocess
import sys

import pytest

import keras_attn_deblur
from keras_attn_deblur._utils import paths

PACKAGE = os.path.dirname(os.path.abspath(keras_attn_deblur.__file__))
PAGE = 4096  # tmpfs counts its room in pages


class _FullDisk(io.RawIOBase):
    """A file on a disk with room for `room` bytes: writes past it are cut short, then fail.

    `silent=True` models bytes that never reach the disk although `write`
    said so (a filesystem that drops them): the count is not cut short.
    """

    def __init__(self, descriptor, room, silent=False):
        super().__init__()
        self._file = io.FileIO(descriptor, "wb")
        self._room = room
        self._silent = silent

    def write(self, data):
        data = memoryview(data).cast("B")
        fits = max(0, self._room - self._file.tell())
        if not fits and len(data) and not self._silent:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = self._file.write(data[:fits])
        return len(data) if self._silent else written

    def writable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=os.SEEK_SET):
        return self._file.seek(offset, whence)

    def tell(self):
        return self._file.tell()

    def fileno(self):
        return self._file.fileno()

    def close(self):
        self._file.close()
        super().close()


class _OsWithFullDisk:
    """`os` as `_utils/paths` sees it, with `fdopen` opening files on a full disk."""

    def __init__(self, room, silent):
        self._room, self._silent = room, silent

    def fdopen(self, descriptor, mode="r", *args, **kwargs):
        if "w" not in mode:
            return os.fdopen(descriptor, mode, *args, **kwargs)
        return io.BufferedWriter(_FullDisk(descriptor, self._room, self._silent))

    def __getattr__(self, name):
        return getattr(os, name)


def disk_with_room(monkeypatch, room, *, silent=False):
    """Every file that `write_atomically` writes from now on has room for `room` bytes."""
    monkeypatch.setattr(paths, "os", _OsWithFullDisk(room, silent))


_PRELUDE = f"""
import json, os, resource, signal, sys, types
package = types.ModuleType("keras_attn_deblur")
package.__path__ = [{PACKAGE!r}]
sys.modules["keras_attn_deblur"] = package
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing


def set_file_size_limit(size):
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))
"""


def run_with_file_size_limit(script, *args):
    """Runs `script` (which may call `set_file_size_limit`) and returns its JSON stdout."""
    if os.name != "posix":
        pytest.skip("RLIMIT_FSIZE is POSIX only")
    result = subprocess.run(
        [sys.executable, "-c", _PRELUDE + script, *map(str, args)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@contextlib.contextmanager
def mounted_tmpfs(folder, size):
    """A tmpfs of `size` bytes (a multiple of `PAGE`) mounted on `folder`, unmounted after."""
    os.makedirs(folder, exist_ok=True)
    try:
        mount = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", os.fspath(folder)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    except OSError as error:
        pytest.skip(f"cannot mount a tmpfs here: {error}")
    if mount.returncode:
        pytest.skip(
            "cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN; the file-object and "
            f"RLIMIT_FSIZE variants still run): {' '.join(mount.stderr.split())}"
        )
    try:
        yield folder
    finally:
        subprocess.run(["umount", os.fspath(folder)], check=True, timeout=30)


def one_page_short(size):
    """The largest tmpfs size that cannot hold a file of `size` bytes: one page short.

    The disk then fills on the file's last page, so the last `write(2)` is
    cut short when the last block of the encoder is more than one page (the
    case that left truncated JPEGs: nothing retries a short last write).
    """
    return (size - 1) // PAGE * PAGE
