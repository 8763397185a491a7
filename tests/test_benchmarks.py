"""The benchmark scripts' argument errors: one line, naming the fix, before any timing."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_inference_rows_that_match_nothing_name_the_rows():
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "inference.py"), "--part", "speed",
         "--rows", "256x256,1280x720"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("inference: error: --rows 256x256,1280x720 matches no row")
    assert "1280x720, 256x256" in last and "separate several by spaces" in last
    assert "measured peak" not in result.stdout  # refused before any timing
