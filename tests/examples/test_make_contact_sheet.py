"""Smoke test for `examples/make_contact_sheet.py` on tiny generated images."""

import importlib.util
import os

import numpy as np
from PIL import Image

SCRIPT = os.path.join(
    os.path.dirname(__file__), os.pardir, os.pardir, "examples", "make_contact_sheet.py"
)


def load_script():
    spec = importlib.util.spec_from_file_location("make_contact_sheet", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_image(path, image):
    Image.fromarray(image).save(path)
    return str(path)


def test_contact_sheet_from_generated_photos_and_frames(tmp_path):
    rng = np.random.default_rng(0)
    photos = [
        write_image(
            tmp_path / f"photo{index}.png",
            rng.integers(0, 256, (60, 90, 3), dtype="uint8"),
        )
        for index in range(2)
    ]
    frames_dir = tmp_path / "frames"
    frames_dir.mkdir()
    for index in range(5):
        frame = np.roll(rng.integers(0, 256, (45, 80, 3), dtype="uint8"), index, axis=1)
        write_image(frames_dir / f"{index:06d}.png", frame)
    output = tmp_path / "sheet" / "contact_sheet.jpg"

    load_script().main(
        [
            "--photos",
            *photos,
            "--output",
            str(output),
            "--size",
            "64",
            "--gopro",
            str(frames_dir),
            "--frames",
            "3",
        ]
    )

    with Image.open(output) as sheet:
        assert sheet.format == "JPEG"
        width, height = sheet.size
    # Four tiles of 64 pixels per row, three rows (two photos and the video).
    assert 4 * 64 <= width <= 4 * 64 + 60
    assert height > 3 * 64 * 2 / 3


def test_contact_sheet_without_video(tmp_path):
    rng = np.random.default_rng(1)
    photo = write_image(
        tmp_path / "photo.jpg", rng.integers(0, 256, (50, 50, 3), dtype="uint8")
    )
    output = tmp_path / "sheet.jpg"
    load_script().main(
        ["--photos", photo, "--output", str(output), "--size", "48", "--gopro", "none"]
    )
    assert output.stat().st_size > 0
