"""Keeps the native libraries' log lines (TensorFlow, XLA, CUDA stubs) off a user's terminal.

TensorFlow prints lines such as `I0000 ... cudart_stub.cc:31] Could not find
cuda drivers`, `cpu_feature_guard.cc ... To enable the following
instructions` and `E0000 ... failed call to cuInit` on every start, some of
them before its own log level is read, straight to file descriptor 2.
`filtered_stderr()` routes descriptor 2 through a pipe for the duration of a
command and forwards every line except those, so the command's own messages,
warnings and errors still appear, in order. `attn-deblur --debug` skips the
filter.
"""

import atexit
import contextlib
import os
import re
import sys
import threading

# absl/glog lines: a severity letter, a date (or 0000), a time (or seconds since
# the epoch), a thread id, file:line]: "I0000 00:00:1795799411.651234    8295 port.cc:153]"
_NATIVE_LINE = re.compile(rb"^[IWEF]\d{4} [\d:.]+\s+\d+ [^\s\]]+:\d+\]")
_NOISE_PREFIXES = (
    b"WARNING: All log messages before absl::InitializeLog() is called",
    b"To enable the following instructions:",
)


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


class _StderrFilter:
    """Descriptor 2 routed through a pipe; a thread forwards all but native log lines."""

    def __init__(self):
        self.original = os.dup(2)
        self.read_end, write_end = os.pipe()
        sys.stderr.flush()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.thread = threading.Thread(target=self._forward, name="stderr-filter", daemon=True)
        self.thread.start()

    def _forward(self):
        pending = b""
        while True:
            chunk = os.read(self.read_end, 65536)
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            out = b"".join(line + b"\n" for line in lines if not is_native_log_line(line))
            if pending and not _could_become_noise(pending):
                out, pending = out + pending, b""
            if out:
                os.write(self.original, out)
        if pending and not is_native_log_line(pending):
            os.write(self.original, pending)
        os.close(self.read_end)

    def stop(self):
        with contextlib.suppress(ValueError, OSError):
            sys.stderr.flush()
        os.dup2(self.original, 2)  # closes the last write end of the pipe: the thread sees EOF
        self.thread.join(timeout=5)
        os.close(self.original)


_PROCESS_FILTER = None


def filter_command_line_process(argv):
    """Filters this whole process's stderr when it is the `attn-deblur` command line.

    Called first thing by the package's `__init__`, because TensorFlow prints
    some of its lines while it is imported: when the program is the
    `attn-deblur` script or `python -m keras_attn_deblur` (whose `argv[0]` is
    `-m` while the package is imported), and `--debug` is not among the
    arguments. The filter stays until the interpreter exits.
    """
    global _PROCESS_FILTER
    program = os.path.basename(argv[0]) if argv else ""
    if _PROCESS_FILTER is not None or program not in ("attn-deblur", "-m") or "--debug" in argv:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        _PROCESS_FILTER = _StderrFilter()
    except OSError:
        return
    atexit.register(_PROCESS_FILTER.stop)


@contextlib.contextmanager
def filtered_stderr():
    """Forwards file descriptor 2, without native log lines, while the block runs."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if _PROCESS_FILTER is not None:  # the whole process is filtered already
        yield
        return
    try:
        active = _StderrFilter()
    except OSError:  # no descriptor 2: nothing to filter
        yield
        return
    try:
        yield
    finally:
        active.stop()
