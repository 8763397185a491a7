"""The `hub` fixture: a loopback Hub server, and the real client pointed at it.

`huggingface_hub` reads HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE,
HF_HUB_DISABLE_XET, HF_HUB_DISABLE_TELEMETRY and the token path into
`huggingface_hub.constants` once, when it is first imported (Keras imports it
with `keras.saving`, long before a fixture runs). Setting the environment
variables alone would therefore not reach a client already imported, so the
fixture sets both: the variables (for subprocesses, which import the client
afresh) and the values in `huggingface_hub.constants` (for this process),
each restored by `monkeypatch` afterwards. Only configuration is patched; no
function of huggingface_hub or Keras is replaced.

Xet storage is turned off (`HF_HUB_DISABLE_XET`): the client then uploads
weights through the Git LFS batch protocol, which the server implements.
"""

import pytest

from tests.hub.hub_server import HubServer

TOKEN = "hf_loopback_token"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A started `HubServer`; `hub.url`, `hub.token`, `hub.cache_dir`."""
    from huggingface_hub import constants

    server = HubServer(tokens=(TOKEN,)).start()
    hf_home = tmp_path / "hf_home"
    cache_dir = hf_home / "hub"
    server.token = TOKEN
    server.hf_home = hf_home
    server.cache_dir = cache_dir

    environment = {
        "HF_ENDPOINT": server.url,
        "HF_HOME": str(hf_home),
        "HF_HUB_CACHE": str(cache_dir),
        "HF_TOKEN": TOKEN,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for name in (
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_OIDC_RESOURCE",
    ):
        monkeypatch.delenv(name, raising=False)

    constants_values = {
        "ENDPOINT": server.url,
        "HUGGINGFACE_CO_URL_TEMPLATE": server.url + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HOME": str(hf_home),
        "HF_HUB_CACHE": str(cache_dir),
        "HUGGINGFACE_HUB_CACHE": str(cache_dir),
        "HF_TOKEN_PATH": str(hf_home / "token"),
        "HF_STORED_TOKENS_PATH": str(hf_home / "stored_tokens"),
        "HF_HUB_OFFLINE": False,
        "HF_HUB_DISABLE_XET": True,
        "HF_HUB_DISABLE_TELEMETRY": True,
    }
    for name, value in constants_values.items():
        monkeypatch.setattr(constants, name, value)

    yield server
    server.stop()
