"""One progress line for long loops: images (`deblur_folder`, `evaluate_pairs`) and tiles.

```
deblur 3/12 photo.jpg: restored [123 s, 369 s left]
evaluate 40/1111 GOPR0384_11_00/000040.png: 29.14 dB [52 s, 1393 s left]
deblur IMG_0042.jpg: tile 5/12 [19 s, 27 s left]
```

It is written to stderr, so that stdout keeps only results (the summary
table of `evaluate_pairs`, the paths a script prints), which is why it is
not `keras.utils.Progbar` (stdout, and `\\b` and `\\r` in logs: Keras takes
any POSIX system for a terminal). On a terminal the line is rewritten in
place after every item; in a log (stderr not a terminal), plain lines
without control characters, about 20 for the whole loop.
"""

import sys
import time


class ProgressLine:
    """A one-line progress display on stderr.

    Args:
        total: int. How many items the loop has.
        label: str. What the loop does, first on the line, e.g. `"deblur"`.
        enabled: bool. `False` shows nothing. Defaults to `True`.
        stream: text stream. Defaults to `None` (`sys.stderr` at the time
            of the call).
        after_seconds: float. Show nothing until the loop has run this
            long (a quick loop stays silent). Defaults to `0`.
        transient: bool. On a terminal, erase the line at `close()` instead
            of keeping it (for a line inside another loop's line). Defaults
            to `False`.
    """

    def __init__(
        self, total, label, *, enabled=True, stream=None, after_seconds=0.0, transient=False
    ):
        self.total = total
        self.label = label
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.after_seconds = after_seconds
        self.transient = transient
        self.done = 0
        self.shown = False
        self._first = None  # (done, elapsed) after the first update
        self.started = time.perf_counter()
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        # Without a terminal, about 20 lines for the whole run.
        self.every = 1 if self.interactive else max(1, total // 20)
        self._next_line = self.every

    def update(self, name=None, status=None, *, count=1):
        """Counts `count` items done: `name` (a file name) and its `status` text, if any."""
        self.done += count
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        if self._first is None:
            self._first = (self.done, elapsed)
        if elapsed < self.after_seconds:
            return
        if self.done < self._next_line and self.done < self.total:
            return
        self._next_line = (self.done // self.every + 1) * self.every
        # The rate after the first item, which also paid for tracing the network.
        first_done, first_elapsed = self._first
        if self.done > first_done:
            rate = (elapsed - first_elapsed) / (self.done - first_done)
        else:
            rate = elapsed / self.done
        remaining = rate * (self.total - self.done)
        line = f"{self.label} {self.done}/{self.total}"
        if name is not None:
            line += f" {name}: {status}"
        line += f" [{elapsed:.0f} s, {remaining:.0f} s left]"
        if self.interactive:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.shown = True

    def close(self):
        """Ends the line on a terminal (or erases it, when `transient`)."""
        if self.enabled and self.interactive and self.shown:
            self.stream.write("\r\033[K" if self.transient else "\n")
            self.stream.flush()
