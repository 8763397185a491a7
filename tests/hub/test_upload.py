"""push_to_hub and push_folder (keras_attn_deblur.hub.upload), through the loopback Hub.

Every Hub test runs the real `huggingface_hub` client against the loopback
server of `hub_server.py` (the `hub` fixture); nothing of huggingface_hub or
Keras is mocked.
"""

import hashlib
import os

import huggingface_hub
import keras
import numpy as np
import pytest

from keras_attn_deblur import AttnDeblurNet
from tests.hub.helpers import METRICS
from tests.hub.helpers import REPO
from tests.hub.helpers import outputs
from tests.hub.helpers import snapshot_folders
from tests.hub.helpers import tiny_model


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


def test_push_without_a_token_is_refused(hub, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(PermissionError, match="write access"):
        tiny_model().push_to_hub(REPO)


def test_a_model_with_non_finite_weights_is_refused_before_the_hub_is_touched(hub):
    model = tiny_model()
    kernel = model.get_layer("output_conv").kernel
    kernel.assign(np.full(kernel.shape, np.nan, "float32"))
    with pytest.raises(ValueError, match="non-finite weights"):
        model.push_to_hub(REPO)
    assert hub.repos == {}  # no empty repo left behind
    assert hub.requests == []  # not a single request reached the Hub
