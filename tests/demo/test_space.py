"""The demo Space (keras_attn_deblur.demo.space): its files, the push, and the Space running.

The push goes through the loopback Hub (`hub` fixture) with the real
`huggingface_hub` client. The Space's own `app.py` is then run as the Hub
would run it, in a fresh process from the pushed files, loading the model
from the (loopback) Hub, and answers a request through `gradio_client`.
"""

import ast
import importlib.metadata
import os
import pathlib
import socket
import subprocess
import sys
import time
import tomllib

import huggingface_hub
import pytest
import yaml

from keras_attn_deblur import demo
from keras_attn_deblur.cli import main
from keras_attn_deblur.demo import space
from tests.hub.conftest import hub  # noqa: F401  (the loopback Hub fixture)
from tests.hub.helpers import REPO
from tests.hub.helpers import tiny_model

pytest.importorskip("gradio", reason="the demo extra (gradio) is not installed")

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPACE = "me/attn-deblur-demo"


def _front_matter(text):
    assert text.startswith("---\n")
    return yaml.safe_load(text[4 : text.index("\n---\n", 4)])


def _space_files(hub_server, space_id=SPACE):
    repo = hub_server.repos[f"spaces/{space_id}"]
    return repo.commits[repo.refs["main"]]


def test_write_space_holds_the_app_the_front_matter_and_the_package(tmp_path):
    folder = demo.write_space(tmp_path / "space", "org/model", title="Try it")
    app = (folder / "app.py").read_text()
    calls = [node for node in ast.walk(ast.parse(app)) if isinstance(node, ast.Call)]
    assert any(
        isinstance(call.func, ast.Attribute) and call.func.attr == "build_app"
        and [arg.value for arg in call.args] == ["org/model"]
        for call in calls
    )  # fmt: skip
    meta = _front_matter((folder / "README.md").read_text())
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert meta["sdk_version"] == importlib.metadata.version("gradio")
    assert meta["models"] == ["org/model"] and meta["title"] == "Try it"
    # requirements.txt: every base dependency of pyproject.toml, and JAX for the CPU.
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    required = (folder / "requirements.txt").read_text().split()
    assert "jax[cpu]" in required
    assert {name.split("<")[0].split(">")[0] for name in declared} <= {
        name.split("<")[0].split(">")[0] for name in required
    }
    # The package's source, without the bundled weights or caches.
    package = ROOT / "keras_attn_deblur"
    sources = {path.relative_to(package) for path in package.rglob("*.py")}
    copied = folder / "keras_attn_deblur"
    assert {path.relative_to(copied) for path in copied.rglob("*.py")} == sources
    assert (copied / "demo" / "examples" / "gopro_000241_blurry.png").is_file()
    assert not (copied / "weights").exists()
    assert not list(copied.rglob("__pycache__"))
    with pytest.raises(ValueError, match="not an empty folder"):
        demo.write_space(folder, "org/model")
    with pytest.raises(ValueError, match="namespace/name"):
        demo.write_space(tmp_path / "other", "just-a-name")


def test_push_space_creates_a_gradio_space_and_links_it_from_the_model_card(hub):
    tiny_model().push_to_hub(REPO)
    url = demo.push_space(SPACE, REPO)

    assert url == f"{hub.url}/spaces/{SPACE}"
    assert hub.repos[f"spaces/{SPACE}"].sdk == "gradio"
    files = _space_files(hub)
    assert {"app.py", "requirements.txt", "README.md"} <= set(files)
    assert "keras_attn_deblur/demo/app.py" in files
    assert _front_matter(files["README.md"].content.decode())["models"] == [REPO]
    card = hub.file(REPO, "README.md").content.decode()
    assert card.count(space.LINK_START) == 1 and f"({url})" in card

    # Pushed again with another title: a new Space commit, and still one link on the card.
    commits = len(hub.repos[f"spaces/{SPACE}"].commits)
    demo.push_space(SPACE, REPO, title="Second")
    assert len(hub.repos[f"spaces/{SPACE}"].commits) == commits + 1
    assert _front_matter(_space_files(hub)["README.md"].content.decode())["title"] == "Second"
    assert hub.file(REPO, "README.md").content.decode() == card


def test_push_space_refuses_a_model_that_is_not_on_the_hub(hub):
    with pytest.raises(FileNotFoundError, match="attn-deblur push me/missing"):
        demo.push_space(SPACE, "me/missing")
    assert f"spaces/{SPACE}" not in hub.repos  # nothing was created


def test_a_hand_written_model_card_is_left_alone(hub, tmp_path):
    tiny_model().push_to_hub(REPO)
    api = huggingface_hub.HfApi(endpoint=hub.url, token=hub.token)
    api.upload_file(path_or_fileobj=b"# My own card\n", path_in_repo="README.md", repo_id=REPO)
    with pytest.warns(UserWarning, match="link the Space yourself"):
        demo.push_space(SPACE, REPO)
    assert hub.file(REPO, "README.md").content == b"# My own card\n"


def test_link_card_text_goes_before_the_first_section():
    text = "---\na: 1\n---\n# Model\n\nIntro.\n\n## Usage\n\ncode\n"
    linked = space.link_card_text(text, "o/s", "https://hub/spaces/o/s")
    assert linked.index(space.LINK_START) < linked.index("## Usage")
    assert linked.index("Intro.") < linked.index(space.LINK_START)
    again = space.link_card_text(linked, "o/t", "https://hub/spaces/o/t")
    assert again.count(space.LINK_START) == 1 and "spaces/o/t" in again and "o/s)" not in again


def test_push_space_command(hub, capsys):
    tiny_model().push_to_hub(REPO)
    assert main(["push-space", SPACE, "--model", REPO, "--no-card-link"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"{hub.url}/spaces/{SPACE}")
    assert space.LINK_START not in hub.file(REPO, "README.md").content.decode()
    assert main(["push-space", SPACE, "--model", "me/missing"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("attn-deblur: error: The model 'me/missing' is not on the Hub")
    assert len(err.strip().splitlines()) == 1


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_the_pushed_space_runs_and_restores_a_photo(hub, tmp_path):
    """The Space's files, downloaded from the Hub, run as a Space runs them."""
    from gradio_client import Client
    from gradio_client import handle_file

    tiny_model().push_to_hub(REPO)
    demo.push_space(SPACE, REPO)
    folder = pathlib.Path(
        huggingface_hub.snapshot_download(SPACE, repo_type="space", cache_dir=tmp_path / "dl")
    )
    port = _free_port()
    environment = {
        **os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1",
        "PYTHONPATH": "", "KERAS_BACKEND": "jax",
    }  # fmt: skip
    log = open(tmp_path / "space.log", "w")
    process = subprocess.Popen(
        [sys.executable, "app.py"], cwd=folder, env=environment, stdout=log, stderr=log
    )
    try:
        client = None
        for _ in range(240):
            if process.poll() is not None:
                break
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:
                time.sleep(0.5)
        assert client is not None, (tmp_path / "space.log").read_text()[-3000:]
        (before, after), download, report = client.predict(
            handle_file(str(demo.EXAMPLE_BLURRY)), None, "auto", False, "auto",
            api_name="/deblur",
        )  # fmt: skip
        assert "Restored **gopro_000241_blurry.png** (1280×720)" in report
        assert os.path.basename(download["value"]) == "gopro_000241_blurry_deblurred.png"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
