"""Paths: image file names, output folders, and writing files so that nothing half-written is
ever left under a real name."""

import contextlib
import io
import os
import re
import tempfile

# The image files the package reads and writes, by extension (lower case).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def is_image_name(name):
    """Whether `name` is a visible image file name (an `IMAGE_EXTENSIONS` extension)."""
    base = os.path.basename(name)
    return not base.startswith(".") and os.path.splitext(base)[1].lower() in IMAGE_EXTENSIONS


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

    The temporary file is hidden (`.name.*.part`) and in the same folder, so
    the rename is atomic; it is removed when anything fails, including
    KeyboardInterrupt. Only a killed process can leave one behind, never a
    partial file under `path`, and the next write of `path` removes it. The
    file gets the usual permissions (0o666 less the umask), not `mkstemp`'s
    0o600.

    Args:
        path: str or path. The file to write.
        write: callable taking the open file.
        text: bool. Open the file as UTF-8 text (newlines untranslated, as
            the `csv` module wants) instead of binary. Defaults to `False`.
    """
    folder, name = os.path.split(os.path.abspath(path))
    remove_stale_parts(folder, name)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            if text:
                wrapper = io.TextIOWrapper(file, encoding="utf-8", newline="")
                write(wrapper)
                wrapper.flush()
                wrapper.detach()  # leaves `file` open for the `with`
            else:
                write(file)
            file.flush()
            os.fsync(file.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    return os.fspath(path)


def remove_stale_parts(folder, name):
    """Removes `.name.*.part` files that an earlier, killed write of `name` left in `folder`."""
    # mkstemp's names: the prefix, 8 random characters, the suffix.
    pattern = re.compile(rf"\.{re.escape(name)}\.[A-Za-z0-9_]{{8}}\.part")
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if pattern.fullmatch(entry.name) and entry.is_file():
                with contextlib.suppress(OSError):
                    os.remove(entry.path)
