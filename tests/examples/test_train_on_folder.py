"""Smoke test: `examples/train_on_folder.py --tiny` on generated pairs."""

import os
import subprocess
import sys

import numpy as np
from PIL import Image

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(PROJECT_ROOT, "examples", "train_on_folder.py")


def write_pairs(root, count=4, size=(40, 56)):
    rng = np.random.default_rng(0)
    for folder in ("blurry", "sharp"):
        (root / folder).mkdir(parents=True)
    for index in range(count):
        sharp = rng.random((*size, 3))
        # A 5-pixel horizontal motion blur (wrapping at the border).
        blurry = np.mean([np.roll(sharp, shift, axis=1) for shift in range(-2, 3)], axis=0)
        for folder, image in (("blurry", blurry), ("sharp", sharp)):
            Image.fromarray(np.rint(image * 255).astype("uint8")).save(
                root / folder / f"{index:04d}.png"
            )


def test_train_on_folder_tiny(tmp_path):
    write_pairs(tmp_path)
    output = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, SCRIPT, "--blurry", str(tmp_path / "blurry"),
         "--sharp", str(tmp_path / "sharp"), "--tiny", "--output", str(output)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "3 training pairs, 1 validation pairs" in result.stdout
    assert "PSNR blurry" in result.stdout
    for name in ("final.keras", "best.keras", "log.csv", "restored.png"):
        assert (output / name).exists(), name
    assert Image.open(output / "restored.png").size == (56, 40)
