"""Shared pieces of the hub tests: a tiny model, its outputs, the loopback Hub's cache."""

import socket

import huggingface_hub
import keras
import numpy as np

from keras_attn_deblur import AttnDeblurNet

REPO = "me/attn-deblur"
IMAGES = np.random.default_rng(7).random((2, 12, 13, 3)).astype("float32")
METRICS = {
    "dataset": "GoPro",
    "split": "test",
    "psnr": 28.123456789,
    "ssim": 0.8765,
    "ssim_matlab": 0.9012,
    "input_psnr": 25.61,
    "num_images": 1111,
    "protocol": "whole 1280x720 images, outputs clamped and quantised to 8 bits",
}


def tiny_model(seed=0):
    """A small AttnDeblurNet with random (non-identity) weights."""
    model = AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3)
    rng = np.random.default_rng(seed)
    model.set_weights(
        [rng.normal(0.0, 0.2, w.shape).astype("float32") for w in model.get_weights()]
    )
    return model


def outputs(model):
    return keras.ops.convert_to_numpy(model(IMAGES))


def snapshot_folders(cache_dir, repo_id=REPO):
    folder = cache_dir / f"models--{repo_id.replace('/', '--')}" / "snapshots"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def closed_port_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def go_offline(monkeypatch):
    """HF_HUB_OFFLINE=1, for this process too (see conftest.py on constants)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def upload_folder(hub, folder, repo_id=REPO):
    """Publishes a folder as is, with the real client (for damaged folders)."""
    api = huggingface_hub.HfApi(endpoint=hub.url, token=hub.token)
    api.create_repo(repo_id, exist_ok=True)
    return api.upload_folder(repo_id=repo_id, folder_path=folder)
