"""Downloads from the loopback Hub (keras_attn_deblur.hub.download): cache, offline mode, errors."""

import os
import subprocess
import sys

import numpy as np
import pytest

from keras_attn_deblur import AttnDeblurNet
from tests.hub.helpers import IMAGES
from tests.hub.helpers import REPO
from tests.hub.helpers import closed_port_url
from tests.hub.helpers import go_offline
from tests.hub.helpers import outputs
from tests.hub.helpers import snapshot_folders
from tests.hub.helpers import tiny_model


# Runs in a fresh interpreter where `import tensorflow` fails (a JAX-only
# machine), configured only through the environment (HF_ENDPOINT, HF_HOME,
# HF_TOKEN), which that interpreter's huggingface_hub reads on import.
_PULL_WITHOUT_TENSORFLOW = """
import sys
sys.modules["tensorflow"] = None
import numpy as np
from keras_attn_deblur import AttnDeblurNet
model = AttnDeblurNet.from_pretrained(sys.argv[1])
np.save(sys.argv[2], np.asarray(model.predict(np.load(sys.argv[3]), verbose=0)))
"""


def test_pulling_needs_no_tensorflow_and_follows_the_environment(hub, tmp_path):
    model = tiny_model()
    model.push_to_hub(REPO)
    np.save(tmp_path / "images.npy", IMAGES)
    environment = {**os.environ, "KERAS_BACKEND": "jax", "HF_HOME": str(tmp_path / "other_home")}
    environment.pop("HF_HUB_CACHE")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _PULL_WITHOUT_TENSORFLOW,
            REPO,
            str(tmp_path / "restored.npy"),
            str(tmp_path / "images.npy"),
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "restored.npy"), outputs(model), atol=1e-5)
    assert snapshot_folders(tmp_path / "other_home" / "hub")  # HF_HOME was used


def test_a_damaged_cache_is_refused_and_force_download_repairs_it(hub):
    model = tiny_model()
    model.push_to_hub(REPO)
    AttnDeblurNet.from_pretrained(REPO)
    (snapshot,) = snapshot_folders(hub.cache_dir)
    blob = (snapshot / "model.weights.h5").resolve()
    blob.write_bytes(b"\0" * blob.stat().st_size)

    with pytest.raises(ValueError, match=r"SHA-256 .*force_download=True"):
        AttnDeblurNet.from_pretrained(REPO)
    repaired = AttnDeblurNet.from_pretrained(REPO, force_download=True)
    np.testing.assert_array_equal(outputs(repaired), outputs(model))


def test_offline_mode_uses_a_filled_cache_without_any_request(hub, monkeypatch):
    model = tiny_model()
    model.push_to_hub(REPO)
    AttnDeblurNet.from_pretrained(REPO)  # fills the cache
    hub.requests.clear()
    go_offline(monkeypatch)
    loaded = AttnDeblurNet.from_pretrained(REPO)
    np.testing.assert_array_equal(outputs(loaded), outputs(model))
    assert hub.requests == []


def test_offline_mode_with_an_empty_cache_fails_clearly(hub, monkeypatch):
    tiny_model().push_to_hub(REPO)
    hub.requests.clear()
    go_offline(monkeypatch)
    with pytest.raises(
        ConnectionError, match=r"not \(completely\) in the Hub cache .* HF_HUB_OFFLINE is set"
    ):
        AttnDeblurNet.from_pretrained(REPO)
    assert hub.requests == []


def test_local_files_only_needs_the_cache(hub):
    with pytest.raises(ConnectionError, match="local_files_only=True"):
        AttnDeblurNet.from_pretrained(REPO, local_files_only=True)


def test_an_unknown_repo_is_a_clear_error(hub):
    with pytest.raises(FileNotFoundError, match=f"Hub repo '{REPO}' was not found at {hub.url}"):
        AttnDeblurNet.from_pretrained(REPO)


def test_a_private_repo_needs_a_token(hub, monkeypatch):
    model = tiny_model()
    model.push_to_hub(REPO, private=True)
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(PermissionError, match="private and no valid token was sent"):
        AttnDeblurNet.from_pretrained(REPO)
    with pytest.raises(PermissionError, match="refused the token"):
        AttnDeblurNet.from_pretrained(REPO, token="hf_wrong")
    loaded = AttnDeblurNet.from_pretrained(REPO, token=hub.token)
    np.testing.assert_array_equal(outputs(loaded), outputs(model))


def test_no_network_is_a_clear_error(hub):
    endpoint = closed_port_url()
    with pytest.raises(ConnectionError, match=f"Could not reach the Hub at {endpoint}"):
        AttnDeblurNet.from_pretrained(REPO, endpoint=endpoint)
    with pytest.raises(ConnectionError, match=f"Could not reach the Hub at {endpoint}"):
        tiny_model().push_to_hub(REPO, endpoint=endpoint)
