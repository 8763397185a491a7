import os
import re
import subprocess
import sys

import huggingface_hub

from tests.hub.hub_server import HubServer

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "push_to_hub.py")
TOKEN = "hf_example_token"


def test_push_to_hub_round_trips_through_a_loopback_hub(tmp_path):
    # The example runs in a fresh interpreter, so the environment reaches
    # huggingface_hub when it is imported; --endpoint is passed explicitly.
    environment = {
        **os.environ,
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_TOKEN": TOKEN,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    for name in ("HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_HUB_CACHE"):
        environment.pop(name, None)
    with HubServer(tokens=(TOKEN,)) as hub:
        result = subprocess.run(
            [
                sys.executable,
                EXAMPLE,
                "--endpoint",
                hub.url,
                "--repo",
                "me/example",
                "--steps",
                "2",
                "--output",
                str(tmp_path / "saved"),
            ],
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert hub.requested("POST", "/api/models/me/example/commit/") == 1
        card = hub.file("me/example", "README.md").content.decode()

    printed_psnr = float(re.search(r"-> restored (\d+\.\d\d) dB", result.stdout).group(1))
    assert re.search(
        r"pulled me/example@[0-9a-f]{8}: largest output difference 0\.0e\+00", result.stdout
    )
    (card_path := tmp_path / "README.md").write_text(card)
    (model_index,) = huggingface_hub.metadata_load(card_path)["model-index"]
    psnr = next(m["value"] for m in model_index["results"][0]["metrics"] if m["type"] == "psnr")
    assert round(psnr, 2) == printed_psnr
    assert sorted(os.listdir(tmp_path / "saved")) == [
        "README.md",
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
