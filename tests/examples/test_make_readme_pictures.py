"""Smoke test for `examples/make_readme_pictures.py` on tiny generated video frames."""

import importlib.util
import os

import numpy as np
from PIL import Image

SCRIPT = os.path.join(
    os.path.dirname(__file__), os.pardir, os.pardir, "examples", "make_readme_pictures.py"
)


def load_script():
    spec = importlib.util.spec_from_file_location("make_readme_pictures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pictures_from_generated_frames(tmp_path, capsys):
    rng = np.random.default_rng(0)
    background = rng.integers(0, 256, (48, 64, 3), dtype="uint8")
    frames_dir = tmp_path / "frames"
    frames_dir.mkdir()
    for index in range(24):  # a bright square moving right over a still background
        frame = background.copy()
        frame[16:32, index : index + 16] = 250
        Image.fromarray(frame).save(frames_dir / f"{index + 1:06d}.png")

    load_script().main([
        "--frames", str(frames_dir), "--train-frames", "16", "--picture-middle", "20",
        "--picture-frames", "5", "--seconds", "1", "--max-steps", "2", "--patch-size", "16",
        "--batch-size", "2", "--stride", "4", "--dpi", "30", "--output-dir", str(tmp_path / "out"),
    ])

    output = capsys.readouterr().out
    assert "blurry: PSNR" in output and "restored: PSNR" in output
    for name in ("side_by_side.jpg", "attention_overlay.jpg"):
        with Image.open(tmp_path / "out" / name) as picture:
            assert picture.format == "JPEG" and picture.size[0] > 100
