"""Running one benchmark measurement in a fresh interpreter (shared by the benchmark scripts)."""

import json
import os
import subprocess
import sys

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_child(script, spec, timeout=3600):
    """Runs `script --child <spec as JSON>` in a fresh interpreter; returns its JSON result.

    A fresh process per measurement keeps each peak resident memory its own
    and each compilation cache cold.
    """
    result = subprocess.run(
        [sys.executable, os.path.abspath(script), "--child", json.dumps(spec)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"measurement {spec} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
