"""Paths: image file names, output folders, and writing files so that nothing half-written is
ever left under a real name."""

import contextlib
import errno
import io
import os
import re
import tempfile

try:
    import fcntl
except ImportError:  # Windows: a file open for writing cannot be removed there anyway
    fcntl = None

# The image files the package reads and writes, by extension (lower case).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
"""The file extensions read as images (lower case; matched case-insensitively)."""


def is_image_name(name):
    """Whether `name` is a visible image file name (an `IMAGE_EXTENSIONS` extension)."""
    base = os.path.basename(name)
    return not base.startswith(".") and os.path.splitext(base)[1].lower() in IMAGE_EXTENSIONS


def is_inside(path, folder):
    """Whether `path` is `folder` or lies inside it (after resolving links)."""
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_output_folder(path, *, what="", writable=True):
    """Raises a one-line OSError unless `path`'s folder exists (and is writable).

    Args:
        path: str. The file about to be written.
        what: str. What the file is, for the message, e.g. `"the CSV "`.
        writable: bool. Also check write permission. Defaults to `True`.
    """
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot write {what}'{path}': the folder '{folder}' does not exist. Create it first."
        )
    if not writable:
        return
    try:  # a real file, not os.access: read-only mounts and ACLs count too
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise PermissionError(
            f"Cannot write {what}'{path}': the folder '{folder}' is not writable "
            f"({error.strerror or error}). Choose another output path."
        ) from error


def write_atomically(path, write, *, text=False):
    """Calls `write(file)` on a temporary file next to `path`, then renames it to `path`.

    The temporary file is hidden (`.name.<pid>.<random>.part`) and in the
    same folder, so the rename is atomic; it is removed when anything fails,
    including KeyboardInterrupt. Only a killed process can leave one behind,
    never a partial file under `path`, and the next write of `path` removes
    it (`remove_stale_parts`), but never one that a live process is writing:
    two runs writing the same file both finish, and the last rename wins.

    A full disk is an error, whatever writes the bytes: `file` has no
    `fileno()`, so every byte goes through Python's `write`, which retries a
    short write and raises when nothing more fits (an encoder handed the
    descriptor, as Pillow's JPEG, BMP and TIFF writers are, ignores a short
    last `write(2)` and leaves a truncated file). The file is then flushed,
    synced, and its size on disk compared with the bytes written, before the
    rename. The file gets the usual permissions (0o666 less the umask), not
    `mkstemp`'s 0o600.

    Args:
        path: str or path. The file to write.
        write: callable taking the open file: binary, seekable, write-only.
        text: bool. Open the file as UTF-8 text (newlines untranslated, as
            the `csv` module wants) instead of binary. Defaults to `False`.

    Returns:
        `path`, as a str.

    Raises:
        OSError: the file cannot be written (a full disk, no permission, a
            folder in the way). The same `OSError` subclass and `errno` as
            the failure underneath, with a one-line message that names
            `path`, never the temporary file; `path` is left as it was.
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    remove_stale_parts(folder, name)
    try:
        handle, temporary = tempfile.mkstemp(
            dir=folder, prefix=f".{name}.{os.getpid()}.", suffix=".part"
        )
    except OSError as error:
        raise _write_error(path, error) from error
    try:
        with os.fdopen(handle, "wb") as file:
            _lock(file)
            checked = _CheckedFile(file)
            if text:
                wrapper = io.TextIOWrapper(checked, encoding="utf-8", newline="")
                write(wrapper)
                wrapper.flush()
                wrapper.detach()  # leaves `file` open for the `with`
            else:
                write(checked)
            file.flush()
            os.fsync(file.fileno())
            size = os.fstat(file.fileno()).st_size
            if size != checked.size:
                raise OSError(
                    errno.ENOSPC, f"only {size} of its {checked.size} bytes reached the disk"
                )
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        if isinstance(error, OSError):
            raise _write_error(path, error) from error
        raise
    return path


def remove_stale_parts(folder, name):
    """Removes the temporary files that killed writes of `name` left in `folder`.

    A temporary file `.name.<pid>.<random>.part` is stale when process
    `pid` is not running and no process holds the file's lock (the lock
    covers a writer on another machine sharing the folder). A live
    writer's file is left alone. `.name.<random>.part` files, named
    without a pid by version 0.1.0, are always stale.
    """
    pattern = re.compile(rf"\.{re.escape(name)}\.(?:(\d+)\.)?[A-Za-z0-9_]{{8}}\.part")
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            match = pattern.fullmatch(entry.name)
            if match and entry.is_file() and not _process_alive(match.group(1)):
                _remove_unless_locked(entry.path)


# === Helpers ===

# The errnos of a write that did not fit: a full disk, a full quota.
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


class _CheckedFile(io.BufferedIOBase):
    """The temporary file as `write` sees it: no `fileno()`, and a count of the bytes written.

    Without a descriptor, an encoder writes through `write`, whose short
    writes Python retries and whose failures it raises. `size` is the end
    of the data written, what the file's size must be.
    """

    def __init__(self, file):
        super().__init__()
        self._file = file
        self._position = 0
        self.size = 0

    def writable(self):
        return True

    def seekable(self):
        return True

    def write(self, data):
        written = self._file.write(data)
        self._position += written
        self.size = max(self.size, self._position)
        return written

    def seek(self, offset, whence=os.SEEK_SET):
        self._position = self._file.seek(offset, whence)
        return self._position

    def tell(self):
        return self._position

    def flush(self):
        if not self._file.closed:
            self._file.flush()

    def close(self):  # the file is `write_atomically`'s to close, not the writer's
        pass


def _write_error(path, error):
    """`error`, naming `path` instead of its temporary file: the same class and errno."""
    reason = error.strerror or " ".join(str(error).split()) or type(error).__name__
    if error.errno in _DISK_FULL:
        reason = f"the disk is full ({reason}); free some space or choose another folder"
    message = f"Cannot write '{path}': {reason}. Nothing was written under that name."
    try:
        raised = type(error)(message)
    except TypeError:  # an OSError subclass with its own arguments
        raised = OSError(message)
    raised.errno = error.errno  # only `errno`: `strerror` would bring back "[Errno n]"
    return raised


def _lock(file):
    """Locks the temporary file while it is written, where the filesystem has locks."""
    if fcntl is not None:
        with contextlib.suppress(OSError):  # a filesystem without locks: the pid still protects
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def _process_alive(pid):
    """Whether the process `pid` (a str, or `None` for a name without one) may still be running."""
    if pid is None or os.name != "posix":  # on Windows, os.kill(pid, 0) would end the process
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # running, as another user
        return True
    except (OverflowError, OSError):
        return False
    return True


def _remove_unless_locked(path):
    """Removes the temporary file `path` unless a writer holds its lock."""
    with contextlib.suppress(OSError):
        if fcntl is None:
            os.remove(path)
            return
        with open(path, "rb") as file:
            try:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # a writer on another machine, or in another pid namespace
            except OSError:
                pass  # a filesystem without locks: the dead pid decides
            os.remove(path)
