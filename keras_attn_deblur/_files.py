"""Writing files so that nothing half-written is ever left under a real name."""

import contextlib
import io
import os
import tempfile


def write_atomically(path, write, *, text=False):
    """Calls `write(file)` on a temporary file next to `path`, then renames it to `path`.

    The temporary file is hidden (`.name.*.part`) and in the same folder, so
    the rename is atomic; it is removed when anything fails, including
    KeyboardInterrupt. Only a killed process can leave one behind, never a
    partial file under `path`. The file gets the usual permissions (0o666
    less the umask), not `mkstemp`'s 0o600.

    Args:
        path: str or path. The file to write.
        write: callable taking the open file.
        text: bool. Open the file as UTF-8 text (newlines untranslated, as
            the `csv` module wants) instead of binary. Defaults to `False`.
    """
    folder, name = os.path.split(os.path.abspath(path))
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
