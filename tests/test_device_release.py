"""The accelerator run, rehearsed on this CPU: `release/pack_device.py`, then
`bash release/device_train.sh --rehearse`, exactly as on the device but for the model size.

Needs `../shared/data` beside the project (CI has it) and pip able to reach
PyPI (the pack downloads the wheels the device lacks). The rehearsal forces
the JAX backend in its own process, so it runs once, under KERAS_BACKEND=jax.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_attn_deblur import AttnDeblurNet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "data")
MIB = 2**20

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(keras.backend.backend() != "jax", reason="the rehearsal runs on JAX"),
    pytest.mark.skipif(not os.path.isdir(SHARED), reason="needs ../shared/data beside the project"),
]


def _environment(**extra):
    # The rehearsal's `python3` is this interpreter (the project's virtual environment).
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    return {**os.environ, "PATH": path, **extra}


def _run(command, **extra):
    return subprocess.run(command, cwd=ROOT, env=_environment(**extra), capture_output=True,
                          text=True, timeout=900)  # fmt: skip


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    output = tmp_path_factory.mktemp("pack") / ".device"
    result = _run([sys.executable, "release/pack_device.py", "--output", str(output)])
    assert result.returncode == 0, result.stderr[-3000:]
    return output, result.stdout


def test_pack_fits_the_travel_limit(packed):
    output, printed = packed
    total = [line for line in printed.splitlines() if line.startswith("total (limit 64 MiB)")]
    assert total and float(total[0].split()[-1]) <= 64.0
    manifest = json.loads((output / "manifest.json").read_text())
    assert manifest["frames"] == 200 and manifest["frame_names"] == ["000001.jpg", "000200.jpg"]
    assert manifest["photos"] > 100 and manifest["kernels"] >= 2048
    # Byte for byte the training frames, and none of the validation frames (201-299).
    frames = sorted(os.listdir(output / "frames"))
    assert frames[-1] == "000200.jpg" and len(frames) == 200
    source = os.path.join(SHARED, "gopro_GOPR0477_11_00", "frames", "000123.jpg")
    with open(source, "rb") as file:
        assert (output / "frames" / "000123.jpg").read_bytes() == file.read()
    wheels = sorted(os.listdir(output / "wheels"))
    assert any(name.startswith("keras-") for name in wheels)
    assert any(name.startswith("optree-") and "cp312" in name for name in wheels)
    with np.load(output / "kernels.npz") as bank:
        kernels = bank["kernels"].astype("float64")
    np.testing.assert_allclose(kernels.sum(axis=(1, 2)), 1.0, atol=2e-2)  # stored in float16


def test_rehearsal_returns_loadable_weights_and_a_log(packed, tmp_path):
    output, _ = packed
    out = tmp_path / "out"
    result = _run(["bash", "release/device_train.sh", "--rehearse", "--rehearse-seconds", "3"],
                  OUT=str(out), DEVICE_DIR=str(output))  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    # What comes back from a device: at most 8 files of at most 16 MiB, 2 folders down.
    files = [os.path.join(root, name) for root, _, names in os.walk(out) for name in names]
    assert 0 < len(files) <= 8
    assert all(os.path.getsize(path) <= 16 * MIB for path in files)
    assert all(os.path.relpath(path, out).count(os.sep) <= 2 for path in files)

    model = AttnDeblurNet.from_pretrained(out / "model")
    weights = model.get_weights()
    assert all(np.isfinite(weight).all() for weight in weights)
    metadata = json.loads((out / "model" / "metadata.json").read_text())["keras_attn_deblur"]
    assert metadata["weights_dtype"] == "float16"
    # The card says what the run trained on: the default recipe's frame windows and mix.
    card = (out / "model" / "README.md").read_text()
    assert "50% GoPro GOPR0477 frames 1-200 averaged over 7-41 frames" in card

    log = json.loads((out / "train_log.json").read_text())
    assert log["status"] == "finished" and log["steps"] >= 1
    assert log["patches"] == log["steps"] * log["batch_size"]
    assert log["patches_per_second"] > 0 and 0 < log["mfu"]
    assert log["rows"] and {"step", "loss", "psnr", "patches_per_second", "tflops", "mfu",
                            "host_fraction"} <= set(log["rows"][-1])  # fmt: skip
    assert 0 <= log["synthesis_fraction"] and log["inference_ms"] > 0
    assert log["sources"]["frames"] == [200, 720, 1280, 3]


def test_missing_pack_is_a_one_line_error(tmp_path):
    result = _run(["bash", "release/device_train.sh", "--rehearse"],
                  OUT=str(tmp_path / "out"), DEVICE_DIR=str(tmp_path / "nothing"))  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "run 'python release/pack_device.py' first" in result.stderr


def test_a_window_range_without_an_odd_count_is_a_one_line_error(packed, tmp_path):
    output, _ = packed
    result = _run(["bash", "release/device_train.sh", "--rehearse", "--frames-per-pair", "8", "8"],
                  OUT=str(tmp_path / "out"), DEVICE_DIR=str(output))  # fmt: skip
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("device_train: error: --frames-per-pair:") and "odd" in last
    assert not (tmp_path / "out" / "model").exists()


def test_pack_refuses_a_folder_it_did_not_write(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    result = _run([sys.executable, "release/pack_device.py", "--output", str(foreign)])
    assert result.returncode != 0 and "is not a folder this script wrote" in result.stderr
    assert (foreign / "notes.txt").read_text() == "keep me"
