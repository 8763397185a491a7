"""from_pretrained / save_pretrained / push_to_hub, end to end and offline.

Every Hub test runs the real `huggingface_hub` client against the loopback
server of `hub_server.py` (the `hub` fixture); nothing of huggingface_hub or
Keras is mocked.
"""

import hashlib
import json
import os
import socket
import subprocess
import sys
import warnings

import huggingface_hub
import keras
import numpy as np
import pytest

import keras_attn_deblur
from keras_attn_deblur import PRESETS
from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import hub as hub_module

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


# --- The round trip -----------------------------------------------------------


def test_push_then_pull_into_an_empty_cache_gives_identical_outputs(hub):
    model = tiny_model()
    info = model.push_to_hub(REPO, metrics=METRICS)

    assert hub.requested("POST", "/commit/") == 1  # one commit
    assert hub.requested("POST", "/api/validate-yaml") >= 1  # the card's metadata passed
    assert info.oid == hub.head(REPO)
    assert snapshot_folders(hub.cache_dir) == []
    loaded = AttnDeblurNet.from_pretrained(REPO)
    np.testing.assert_array_equal(outputs(loaded), outputs(model))
    # Downloaded into $HF_HOME/hub, only the folder's files.
    (snapshot,) = snapshot_folders(hub.cache_dir)
    assert snapshot.name == info.oid
    assert sorted(os.listdir(snapshot)) == [
        "README.md",
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]


def test_keras_load_model_reads_the_pushed_repo(hub):
    model = tiny_model()
    model.push_to_hub(f"hf://{REPO}")
    loaded = keras.saving.load_model(f"hf://{REPO}")
    assert isinstance(loaded, AttnDeblurNet)
    np.testing.assert_array_equal(outputs(loaded), outputs(model))
    loaded = AttnDeblurNet.from_pretrained(f"hf://{REPO}")
    np.testing.assert_array_equal(outputs(loaded), outputs(model))


def test_a_second_push_is_a_new_revision_and_revision_pins_the_old_one(hub):
    first, second = tiny_model(seed=1), tiny_model(seed=2)
    first_commit = first.push_to_hub(REPO).oid
    second_commit = second.push_to_hub(REPO, commit_message="Fine-tuned").oid
    assert first_commit != second_commit

    latest = AttnDeblurNet.from_pretrained(REPO)
    pinned = AttnDeblurNet.from_pretrained(REPO, revision=first_commit)
    np.testing.assert_array_equal(outputs(latest), outputs(second))
    np.testing.assert_array_equal(outputs(pinned), outputs(first))
    assert np.abs(outputs(latest) - outputs(pinned)).max() > 1e-3


def test_push_to_a_branch_and_as_a_pull_request(hub):
    main, branch, proposal = tiny_model(1), tiny_model(2), tiny_model(3)
    main.push_to_hub(REPO)
    branch.push_to_hub(REPO, revision="v2")
    info = proposal.push_to_hub(REPO, create_pr=True)
    assert info.pr_url is not None
    np.testing.assert_array_equal(outputs(AttnDeblurNet.from_pretrained(REPO)), outputs(main))
    np.testing.assert_array_equal(
        outputs(AttnDeblurNet.from_pretrained(REPO, revision="v2")), outputs(branch)
    )
    np.testing.assert_array_equal(
        outputs(AttnDeblurNet.from_pretrained(REPO, revision="refs/pr/1")), outputs(proposal)
    )


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


def test_weights_go_through_the_lfs_upload_path(hub, tmp_path):
    model = tiny_model()
    folder = model.save_pretrained(tmp_path / "saved")
    weights_sha256 = hashlib.sha256((folder / "model.weights.h5").read_bytes()).hexdigest()
    model.push_to_hub(REPO)

    assert hub.lfs_uploads == [weights_sha256]
    assert hub.requested("POST", f"/{REPO}.git/info/lfs/objects/batch") == 1
    assert hub.requested("PUT", f"/__lfs/{weights_sha256}") == 1
    assert hub.file(REPO, "model.weights.h5").lfs
    assert not hub.file(REPO, "config.json").lfs
    loaded = AttnDeblurNet.from_pretrained(REPO)
    np.testing.assert_array_equal(outputs(loaded), outputs(model))


def test_weights_go_inline_when_the_hub_says_regular(hub):
    hub.lfs_patterns = ()
    model = tiny_model()
    model.push_to_hub(REPO)
    assert hub.lfs_uploads == []
    assert not hub.file(REPO, "model.weights.h5").lfs
    np.testing.assert_array_equal(outputs(AttnDeblurNet.from_pretrained(REPO)), outputs(model))


def test_an_unchanged_push_uploads_nothing_new(hub):
    model = tiny_model()
    first = model.push_to_hub(REPO).oid
    hub.lfs_uploads.clear()
    second = model.push_to_hub(REPO).oid
    # At most metadata.json changes (Keras's date_saved), never the weights.
    assert hub.lfs_uploads == []
    assert (
        hub.file(REPO, "model.weights.h5", revision=second).sha256
        == hub.file(REPO, "model.weights.h5", revision=first).sha256
    )


# --- The folder ---------------------------------------------------------------


def test_save_pretrained_writes_the_keras_folder_and_metadata(tmp_path, monkeypatch):
    # A preset of the tiny configuration (PRESETS is a plain dict of configs).
    monkeypatch.setitem(
        PRESETS,
        "tiny",
        {
            "filters": (4, 8, 8),
            "blocks_per_stage": 1,
            "kernel_size": 3,
            "attention_reduction": 4,
            "upsampling": "bilinear",
            "global_residual": True,
        },
    )
    folder = tiny_model().save_pretrained(tmp_path / "tiny", metrics=METRICS)

    assert sorted(os.listdir(folder)) == [
        "README.md",
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["keras_version"] == keras.version()
    record = metadata["keras_attn_deblur"]
    weights = (folder / "model.weights.h5").read_bytes()
    assert record["weights_sha256"] == hashlib.sha256(weights).hexdigest()
    assert record["weights_size"] == len(weights)
    assert record["preset"] == "tiny"
    assert record["input_range"] == [0.0, 1.0]
    assert record["version"] == keras_attn_deblur.__version__
    assert record["evaluation"][0]["psnr"] == METRICS["psnr"]
    config = json.loads((folder / "config.json").read_text())
    assert config["registered_name"] == "keras_attn_deblur>AttnDeblurNet"
    # Keras reads the folder as its own format.
    assert isinstance(keras.saving.load_model(folder), AttnDeblurNet)


def test_save_pretrained_drops_the_training_state(tmp_path):
    model = tiny_model()
    plain = model.save_pretrained(tmp_path / "plain")
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)  # what a training step creates
    trained = model.save_pretrained(tmp_path / "trained")

    config = json.loads((trained / "config.json").read_text())
    assert not config.get("compile_config")
    assert (trained / "model.weights.h5").stat().st_size == (
        plain / "model.weights.h5"
    ).stat().st_size
    np.testing.assert_array_equal(outputs(AttnDeblurNet.from_pretrained(trained)), outputs(model))


def test_from_pretrained_loads_a_local_folder(tmp_path):
    model = tiny_model()
    folder = model.save_pretrained(tmp_path / "out" / "attn-deblur")
    for name_or_path in (folder, str(folder)):
        loaded = AttnDeblurNet.from_pretrained(name_or_path)
        np.testing.assert_array_equal(outputs(loaded), outputs(model))
    assert not [name for name in os.listdir(folder) if name.startswith(".")]  # no staging left
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["keras_attn_deblur"]["preset"] is None  # no preset has this configuration


def test_save_pretrained_replaces_an_older_save(tmp_path):
    folder = tiny_model(1).save_pretrained(tmp_path / "out")
    newer = tiny_model(2)
    newer.save_pretrained(folder)
    np.testing.assert_array_equal(outputs(AttnDeblurNet.from_pretrained(folder)), outputs(newer))


def test_bundled_weights_are_found_by_name(tmp_path, monkeypatch):
    monkeypatch.setattr(hub_module, "BUNDLED_WEIGHTS_DIR", tmp_path / "weights")
    model = tiny_model()
    model.save_pretrained(tmp_path / "weights" / "lite")
    np.testing.assert_array_equal(outputs(AttnDeblurNet.from_pretrained("lite")), outputs(model))
    with pytest.raises(ValueError, match="revision"):
        AttnDeblurNet.from_pretrained("lite", revision="main")


def test_a_preset_without_bundled_weights_points_to_from_preset(tmp_path, monkeypatch):
    monkeypatch.setattr(hub_module, "BUNDLED_WEIGHTS_DIR", tmp_path / "no_weights")
    with pytest.raises(
        FileNotFoundError,
        match=r"No pretrained weights are bundled for preset 'patent'.*from_preset\('patent'\)",
    ):
        AttnDeblurNet.from_pretrained("patent")


def test_an_unknown_name_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="neither a folder nor a bundled name"):
        AttnDeblurNet.from_pretrained("no-such-model")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        AttnDeblurNet.from_pretrained("./missing/folder/here")


# --- The model card -------------------------------------------------------------


def test_the_card_carries_the_evaluation_it_was_given(tmp_path):
    folder = tiny_model().save_pretrained(
        tmp_path / "out", metrics=METRICS, datasets=("gopro",), repo_id=REPO
    )
    card = huggingface_hub.ModelCard.load(folder / "README.md")
    metadata = huggingface_hub.metadata_load(folder / "README.md")

    assert metadata["library_name"] == "keras"
    assert metadata["pipeline_tag"] == "image-to-image"
    assert metadata["license"] == "apache-2.0"
    assert metadata["datasets"] == ["gopro"]
    assert {"keras", "image-deblurring"} <= set(metadata["tags"])
    (model_index,) = metadata["model-index"]
    (result,) = model_index["results"]
    assert result["task"] == {"type": "image-to-image", "name": "Deblurring"}
    assert result["dataset"] == {"name": "GoPro", "type": "gopro", "split": "test"}
    values = {
        (metric["type"], metric.get("config")): metric["value"] for metric in result["metrics"]
    }
    assert values == {
        ("psnr", None): METRICS["psnr"],
        ("ssim", "gaussian"): METRICS["ssim"],
        ("ssim", "matlab"): METRICS["ssim_matlab"],
    }
    assert {result.metric_value for result in card.data.eval_results} == {
        METRICS["psnr"],
        METRICS["ssim"],
        METRICS["ssim_matlab"],
    }
    body = card.text
    assert "28.12" in body and "25.61" in body and "1,111" in body
    assert f'from_pretrained("{REPO}")' in body
    assert "CC BY 4.0" in body  # GoPro's license
    assert "defocus" in body  # what it was not trained on
    assert "Not evaluated" not in body


def test_a_card_without_metrics_has_no_model_index(tmp_path):
    folder = tiny_model().save_pretrained(tmp_path / "out")
    metadata = huggingface_hub.metadata_load(folder / "README.md")
    assert "model-index" not in metadata
    assert metadata["library_name"] == "keras"
    assert "Not evaluated" in (folder / "README.md").read_text()


def test_several_evaluations_and_numpy_numbers(tmp_path):
    metrics = [
        {"dataset": "GoPro", "split": "test", "psnr": np.float32(28.5)},
        {"dataset": "RealBlur-J", "split": "test", "psnr": 27.0, "ssim_matlab": 0.83},
    ]
    folder = tiny_model().save_pretrained(tmp_path / "out", metrics=metrics)
    (model_index,) = huggingface_hub.metadata_load(folder / "README.md")["model-index"]
    assert [result["dataset"]["type"] for result in model_index["results"]] == [
        "gopro",
        "realblur-j",
    ]


@pytest.mark.parametrize(
    "metrics, message",
    [
        ({"dataset": "GoPro", "split": "test"}, "missing"),
        ({"dataset": "GoPro", "split": "test", "psnr": 30.0, "psnr_db": 30.0}, "Unknown keys"),
        ({"dataset": "GoPro", "split": "test", "psnr": float("inf")}, "finite"),
        ({"dataset": "GoPro", "split": "test", "psnr": 30.0, "ssim": 93.1}, r"\[-1, 1\]"),
    ],
)
def test_malformed_metrics_are_refused_before_writing(tmp_path, metrics, message):
    with pytest.raises(ValueError, match=message):
        tiny_model().save_pretrained(tmp_path / "out", metrics=metrics)
    assert not (tmp_path / "out").exists()


def test_a_readme_written_by_hand_is_kept_unless_told(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "README.md").write_text("# My own notes\n")
    with pytest.warns(UserWarning, match="overwrite_card=True"):
        tiny_model().save_pretrained(folder, metrics=METRICS)
    assert (folder / "README.md").read_text() == "# My own notes\n"
    assert (folder / "model.weights.h5").is_file()

    tiny_model().save_pretrained(folder, metrics=METRICS, overwrite_card=True)
    assert "model-index" in huggingface_hub.metadata_load(folder / "README.md")
    # A generated card is rewritten without being asked.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        tiny_model().save_pretrained(folder)
    assert "model-index" not in huggingface_hub.metadata_load(folder / "README.md")


def test_push_keeps_a_readme_edited_on_the_hub(hub):
    tiny_model().push_to_hub(REPO, metrics=METRICS)
    api = huggingface_hub.HfApi(endpoint=hub.url, token=hub.token)
    api.upload_file(
        path_or_fileobj=b"---\nlicense: mit\n---\n# Edited on the Hub\n",
        path_in_repo="README.md",
        repo_id=REPO,
    )
    with pytest.warns(UserWarning, match="Kept the README.md"):
        tiny_model(2).push_to_hub(REPO, metrics=METRICS)
    assert b"Edited on the Hub" in hub.file(REPO, "README.md").content
    tiny_model(2).push_to_hub(REPO, metrics=METRICS, overwrite_card=True)
    assert b"model-index" in hub.file(REPO, "README.md").content


# --- Errors and safety ------------------------------------------------------------


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


def test_push_without_a_token_is_refused(hub, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(PermissionError, match="write access"):
        tiny_model().push_to_hub(REPO)


def test_no_network_is_a_clear_error(hub):
    endpoint = closed_port_url()
    with pytest.raises(ConnectionError, match=f"Could not reach the Hub at {endpoint}"):
        AttnDeblurNet.from_pretrained(REPO, endpoint=endpoint)
    with pytest.raises(ConnectionError, match=f"Could not reach the Hub at {endpoint}"):
        tiny_model().push_to_hub(REPO, endpoint=endpoint)


def test_tampered_weights_are_refused_before_the_model_is_built(hub, tmp_path):
    folder = tiny_model().save_pretrained(tmp_path / "out")
    weights = bytearray((folder / "model.weights.h5").read_bytes())
    middle = len(weights) // 2
    weights[middle : middle + 16] = bytes(255 - value for value in weights[middle : middle + 16])
    (folder / "model.weights.h5").write_bytes(bytes(weights))
    upload_folder(hub, folder)

    with pytest.raises(ValueError, match="SHA-256 of model.weights.h5 .* tampered"):
        AttnDeblurNet.from_pretrained(REPO)
    with pytest.raises(ValueError, match="SHA-256"):
        AttnDeblurNet.from_pretrained(folder)


def test_truncated_weights_are_refused(tmp_path):
    folder = tiny_model().save_pretrained(tmp_path / "out")
    weights = (folder / "model.weights.h5").read_bytes()
    (folder / "model.weights.h5").write_bytes(weights[: len(weights) // 3])
    # The size check runs before Keras opens the (now unreadable) HDF5 file.
    with pytest.raises(ValueError, match="truncated"):
        AttnDeblurNet.from_pretrained(folder)


def _rewrite_config(folder, edit):
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda config: config["config"].update(
                dtype={
                    "module": "os",
                    "class_name": "system",
                    "config": {"command": "true"},
                    "registered_name": None,
                }
            ),
            "'os.system', outside the packages",
        ),
        (
            lambda config: config.update(module="subprocess", class_name="Popen"),
            "'subprocess.Popen', outside the packages",
        ),
        (
            lambda config: config.update(registered_name="evil_plugin>AttnDeblurNet"),
            "registered object 'evil_plugin>AttnDeblurNet'",
        ),
        (
            lambda config: config["config"].update(
                extra={
                    "module": "keras.layers",
                    "class_name": "Lambda",
                    "config": {},
                    "registered_name": None,
                }
            ),
            "Lambda layer",
        ),
    ],
)
def test_configs_naming_code_outside_keras_are_refused(tmp_path, edit, message):
    folder = tiny_model().save_pretrained(tmp_path / "out")
    _rewrite_config(folder, edit)
    with pytest.raises(ValueError, match=message):
        AttnDeblurNet.from_pretrained(folder)


def test_a_keras_model_with_a_lambda_layer_is_refused(tmp_path):
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Lambda(lambda images: images * 2.0)(inputs))
    keras.saving.save_model(model, tmp_path / "lambda", zipped=False)
    with pytest.warns(UserWarning, match="records no SHA-256"):
        with pytest.raises(ValueError, match="Lambda layer, which runs Python code"):
            AttnDeblurNet.from_pretrained(tmp_path / "lambda")


def test_a_bad_config_is_a_clear_error(tmp_path):
    folder = tiny_model().save_pretrained(tmp_path / "out")
    (folder / "config.json").write_text('{"module": "keras_attn_deblur')
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        AttnDeblurNet.from_pretrained(folder)
    folder = tiny_model().save_pretrained(tmp_path / "other")
    _rewrite_config(folder, lambda config: config["config"].update(filters=[4, 8]))
    with pytest.raises(ValueError, match="could not build the model"):
        AttnDeblurNet.from_pretrained(folder)
    (folder / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        AttnDeblurNet.from_pretrained(folder)


def test_a_folder_of_another_model_class_is_refused(tmp_path):
    inputs = keras.Input((None, None, 3))
    keras.saving.save_model(
        keras.Model(inputs, keras.layers.Conv2D(3, 3, padding="same")(inputs)),
        tmp_path / "conv",
        zipped=False,
    )
    with pytest.warns(UserWarning), pytest.raises(TypeError, match="not an instance of AttnDeblurNet"):
        AttnDeblurNet.from_pretrained(tmp_path / "conv")


def test_a_file_list_escaping_the_folder_is_refused(hub, tmp_path):
    tiny_model().push_to_hub(REPO)
    hub.commit_raw(REPO, {"../evil.txt": b"written outside the snapshot"})

    with pytest.raises(
        ValueError, match="lists the file '../evil.txt', whose path leaves the repository folder"
    ):
        AttnDeblurNet.from_pretrained(REPO)
    # The client alone refuses it too (keras.saving.load_model("hf://...") downloads everything).
    with pytest.raises(ValueError, match="evil.txt"):
        keras.saving.load_model(f"hf://{REPO}")
    assert not list(tmp_path.rglob("evil.txt"))
