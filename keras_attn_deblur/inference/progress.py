"""One progress line for long loops over images (`deblur_folder`, `evaluate_pairs`).

```
deblur 3/12 photo.jpg: restored [123 s, 369 s left]
evaluate 40/1111 GOPR0384_11_00/000040.png: 29.14 dB [52 s, 1393 s left]
```

It is written to stderr, so that stdout keeps only results (the summary
table of `evaluate_pairs`, the paths a script prints), which is why it is
not `keras.utils.Progbar` (stdout). On a terminal the line is rewritten in
place after every image; in a log, about 20 lines are written for the whole
run.
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
    """

    def __init__(self, total, label, *, enabled=True, stream=None):
        self.total = total
        self.label = label
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.perf_counter()
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        # Without a terminal, about 20 lines for the whole run.
        self.every = 1 if self.interactive else max(1, total // 20)

    def update(self, name, status):
        """Counts one item done: `name` (a file name) and its `status` text."""
        self.done += 1
        if not self.enabled:
            return
        if not (self.done % self.every == 0 or self.done == self.total):
            return
        elapsed = time.perf_counter() - self.started
        remaining = elapsed / self.done * (self.total - self.done)
        line = (
            f"{self.label} {self.done}/{self.total} {name}: {status} "
            f"[{elapsed:.0f} s, {remaining:.0f} s left]"
        )
        if self.interactive:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self):
        """Ends the line on a terminal."""
        if self.enabled and self.interactive and self.done:
            self.stream.write("\n")
            self.stream.flush()
