"""Smoke test: `examples/train_synthetic.py --tiny` on generated sharp photos."""

import os
import subprocess
import sys

import numpy as np
from PIL import Image

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(PROJECT_ROOT, "examples", "train_synthetic.py")


def test_train_synthetic_tiny(tmp_path):
    rng = np.random.default_rng(0)
    photos = tmp_path / "photos" / "nested"
    photos.mkdir(parents=True)
    for index in range(3):
        # Smooth random photos: upscaled noise.
        small = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype="uint8"))
        small.resize((80, 60), Image.BILINEAR).save(photos / f"{index}.jpg", quality=95)
    output = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, SCRIPT, "--photos", str(tmp_path / "photos"), "--tiny",
         "--output", str(output)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 training photos, 1 validation photos" in result.stdout
    assert "PSNR blurry" in result.stdout
    for name in ("final.keras", "best.keras", "log.csv", "blurry_restored_sharp.png"):
        assert (output / name).exists(), name
    assert Image.open(output / "blurry_restored_sharp.png").size == (3 * 80, 60)
