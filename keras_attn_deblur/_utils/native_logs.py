"""Keeps the native libraries' log lines (TensorFlow, XLA, CUDA stubs) off a user's terminal.

TensorFlow prints lines such as `I0000 ... cudart_stub.cc:31] Could not find
cuda drivers`, `cpu_feature_guard.cc ... To enable the following
instructions` and `E0000 ... failed call to cuInit` on every start, straight
to file descriptor 2, most of them before its own log level is read.
`filtered_stderr()` routes descriptor 2 through a pipe (a pseudo-terminal
when it is a terminal, so that progress lines still see one) and forwards
every line except those, so the program's own messages, warnings and errors
still appear, in order.

Where it applies (`quiet_start`, called when the package is imported):
in the command line, the whole process (`attn-deblur --debug` skips the
filter); in any other program, the moments those lines are printed, the
first import of TensorFlow or JAX and TensorFlow's first look for devices.

`KERAS_ATTN_DEBLUR_NATIVE_LOGS=1` in the environment shows every line, in
the library and on the command line alike.
"""

import atexit
import contextlib
import os
import re
import sys
import threading

from keras_attn_deblur._utils import import_hooks

SHOW_VARIABLE = "KERAS_ATTN_DEBLUR_NATIVE_LOGS"

# absl/glog lines: a severity letter, a date (or 0000), a time (or seconds since
# the epoch), a thread id, file:line]: "I0000 00:00:1795799411.651234    8295 port.cc:153]"
_NATIVE_LINE = re.compile(rb"^[IWEF]\d{4} [\d:.]+\s+\d+ [^\s\]]+:\d+\]")
_NOISE_PREFIXES = (
    b"WARNING: All log messages before absl::InitializeLog() is called",
    b"To enable the following instructions:",
)


def shown():
    """Whether the user asked for the native lines: `KERAS_ATTN_DEBLUR_NATIVE_LOGS=1`."""
    value = os.environ.get(SHOW_VARIABLE, "").strip().lower()
    return value not in ("", "0", "false", "no", "off")


def is_native_log_line(line):
    """Whether `line` (bytes) is a native library's log line, not the program's output."""
    return bool(_NATIVE_LINE.match(line)) or line.startswith(_NOISE_PREFIXES)


def _could_become_noise(partial):
    """A line still being written that may turn out to be a log line: hold it back."""
    if not partial:
        return False
    if partial[:1] in b"IWEF" and (len(partial) < 2 or partial[1:2].isdigit()):
        return True
    return any(prefix.startswith(partial[: len(prefix)]) for prefix in _NOISE_PREFIXES)


def _pipe_like(original):
    """(read end, write end) for descriptor 2: a raw pseudo-terminal when `original` is a terminal.

    A program asks `sys.stderr.isatty()` to choose between a line rewritten
    in place and plain lines; behind a plain pipe it would always choose the
    plain lines.
    """
    if os.isatty(original):
        try:
            import fcntl
            import pty
            import termios
            import tty
        except ImportError:  # not POSIX
            return os.pipe()
        read_end, write_end = pty.openpty()
        tty.setraw(write_end)  # bytes pass unchanged: no "\n" -> "\r\n", no echo
        with contextlib.suppress(OSError):
            size = fcntl.ioctl(original, termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(write_end, termios.TIOCSWINSZ, size)
        return read_end, write_end
    return os.pipe()


class _StderrFilter:
    """Descriptor 2 routed through a pipe; a thread forwards all but native log lines."""

    def __init__(self):
        self.original = os.dup(2)
        try:
            self.read_end, write_end = _pipe_like(self.original)
        except OSError:
            os.close(self.original)
            raise
        sys.stderr.flush()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.thread = threading.Thread(target=self._forward, name="stderr-filter", daemon=True)
        self.thread.start()

    def _read(self):
        try:
            return os.read(self.read_end, 65536)
        except OSError:  # a pseudo-terminal whose other end is closed (EIO): the end
            return b""

    def _forward(self):
        pending = b""
        while True:
            chunk = self._read()
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            out = b"".join(line + b"\n" for line in lines if not is_native_log_line(line))
            if pending and not _could_become_noise(pending):
                out, pending = out + pending, b""
            self._write(out)
        if not is_native_log_line(pending):
            self._write(pending)
        os.close(self.read_end)

    def _write(self, data):
        """Writes all of `data`; drops it when the terminal is gone (the writers never block)."""
        with contextlib.suppress(OSError):
            while data:
                data = data[os.write(self.original, data) :]

    def stop(self):
        with contextlib.suppress(ValueError, OSError):
            sys.stderr.flush()
        os.dup2(self.original, 2)  # closes the last write end of the pipe: the thread sees EOF
        self.thread.join(timeout=5)
        os.close(self.original)


_PROCESS_FILTER = None


def quiet_start(argv):
    """Keeps the native start-up lines off stderr; called first thing by the package's `__init__`.

    Unless `shown()`, `TF_CPP_MIN_LOG_LEVEL` defaults to 2 (TensorFlow and
    XLA then skip their INFO and WARNING lines; a value the user set is
    kept), and:

    - in the `attn-deblur` command line (`argv[0]` is the script, or `-m`
      for `python -m keras_attn_deblur` while the package is imported)
      without `--debug`, the whole process's stderr is filtered until the
      interpreter exits;
    - in any other program, the first import of TensorFlow and of JAX runs
      inside `filtered_stderr()`, for the lines printed before that level
      is read. TensorFlow's first look for devices (the `failed call to
      cuInit` line on a machine without a GPU) runs there too:
      `tf.config.list_physical_devices()`, which leaves devices
      configurable. A library imported already is left alone.
    """
    global _PROCESS_FILTER
    command_line = bool(argv) and os.path.basename(argv[0]) in ("attn-deblur", "-m")
    if shown() or (command_line and "--debug" in argv) or _PROCESS_FILTER is not None:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not command_line:
        import_hooks.wrap_first_import("tensorflow", _quiet_tensorflow_start)
        import_hooks.wrap_first_import("jax", filtered_stderr)
        return
    try:
        _PROCESS_FILTER = _StderrFilter()
    except OSError:  # no descriptor 2: nothing to filter
        return
    atexit.register(_PROCESS_FILTER.stop)


@contextlib.contextmanager
def filtered_stderr():
    """Forwards file descriptor 2, without native log lines, while the block runs."""
    if shown() or _PROCESS_FILTER is not None:  # shown, or the whole process is filtered
        yield
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        active = _StderrFilter()
    except OSError:  # no descriptor 2: nothing to filter
        yield
        return
    try:
        yield
    finally:
        active.stop()


@contextlib.contextmanager
def _quiet_tensorflow_start():
    with filtered_stderr():
        yield
        with contextlib.suppress(Exception):  # quieting never breaks an import
            sys.modules["tensorflow"].config.list_physical_devices()
