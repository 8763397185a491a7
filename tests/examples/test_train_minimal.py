import os
import re
import subprocess
import sys

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "train_minimal.py")


def test_train_minimal_runs_end_to_end(tmp_path):
    result = subprocess.run(
        [sys.executable, EXAMPLE, "--steps", "4", "--patch-size", "24", "--output", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"validation PSNR: blurry \d+\.\d\d dB -> restored \d+\.\d\d dB", result.stdout)
    for name in ("final.keras", "best.keras", "log.csv"):
        assert (tmp_path / "run" / name).exists(), name
