"""Data-parallel training on two CPU devices, against single-device training.

The device count is fixed when the backend starts, so the cases run in
`tests/two_devices.py`, a fresh interpreter with two CPU devices (XLA's
`--xla_force_host_platform_device_count=2` for JAX, two logical CPU devices
for TensorFlow), under the backend of this test run: the TensorFlow run
checks `MirroredStrategy` with a tf.data pipeline, the JAX run
`keras.distribution.DataParallel` with the TensorFlow-free `PyDataset`.
The reference is the same recipe on one device, from the same initial
weights, on the same global batches.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_attn_deblur import distribute
from keras_attn_deblur.cli import main

BACKEND = keras.backend.backend()
WORKER = os.path.join(os.path.dirname(__file__), "two_devices.py")

needs_jax_or_tensorflow = pytest.mark.skipif(
    BACKEND not in ("jax", "tensorflow"), reason="data parallelism needs JAX or TensorFlow"
)


@pytest.fixture(scope="module")
def two_devices(tmp_path_factory):
    """The results of `tests/two_devices.py`: `{"fit": ..., "cli": ...}`."""
    environment = {**os.environ, "KERAS_BACKEND": BACKEND, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, WORKER, str(tmp_path_factory.mktemp("two_devices"))],
        capture_output=True, text=True, timeout=300, env=environment,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_same_weights(actual, expected):
    assert len(actual) == len(expected)
    for actual_weight, expected_weight in zip(actual, expected):
        np.testing.assert_allclose(
            np.array(actual_weight), np.array(expected_weight), rtol=1e-4, atol=1e-6
        )


def largest_change(weights, initial):
    return max(float(np.max(np.abs(np.array(w) - np.array(i)))) for w, i in zip(weights, initial))


@needs_jax_or_tensorflow
def test_data_parallel_fit_equals_single_device_training(two_devices):
    result = two_devices["fit"]
    single, parallel = result["None"], result["data_parallel"]

    if BACKEND == "tensorflow":
        assert result["engine"]["type"] == "MirroredStrategy"
        assert "Dataset" in parallel["dataset_type"]  # a tf.data.Dataset
    else:
        assert result["engine"]["type"] == "DataParallel"
        assert parallel["dataset_type"] == "PairedImageDataset"  # no TensorFlow
        assert result["engine"]["weight_devices"] == 2  # weights replicated on both
    assert result["engine"]["replicas"] == 2
    # Each device computes on half of the global batch of 4.
    assert single["per_device_batch"] == [4]
    assert parallel["per_device_batch"] == [2]

    assert single["loss"][1] < single["loss"][0]  # the reference run learns
    np.testing.assert_allclose(parallel["loss"], single["loss"], rtol=1e-4)
    np.testing.assert_allclose(parallel["psnr"], single["psnr"], rtol=1e-4)
    assert_same_weights(parallel["weights"], single["weights"])


@needs_jax_or_tensorflow
def test_cli_trains_data_parallel(two_devices):
    result = two_devices["cli"]
    parallel = result["data_parallel"]
    assert parallel["code"] == 0
    assert parallel["evaluated"] == 3  # every pair, on a single-device copy
    assert "data parallel on 2 devices (2 patches each)" in parallel["first_line"]
    assert largest_change(parallel["weights"], result["initial"]) > 1e-4
    if BACKEND == "jax":
        # The PyDataset draws each batch from (seed, epoch, batch): both runs
        # see the same batches. (tf.data does not promise the same order
        # under a strategy; the fit test above covers TensorFlow's numbers.)
        single = result["none"]
        assert single["code"] == 0 and "data parallel" not in single["first_line"]
        assert_same_weights(parallel["weights"], single["weights"])


def test_cli_rejects_an_unknown_distribute_value(tmp_path, capsys):
    assert main(["train", "--photos", str(tmp_path), "--distribute", "mirrored"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("attn-deblur: error: ")
    assert "--distribute" in error[0] and "data_parallel" in error[0]


def test_cli_batch_must_split_over_the_devices(tmp_path, monkeypatch, capsys):
    requested = []

    def two_devices(value):
        requested.append(value)
        return ["cpu:0", "cpu:1"]

    monkeypatch.setattr(distribute, "resolve_devices", two_devices)
    code = main(["train", "--photos", str(tmp_path), "--batch-size", "3",
                 "--distribute", "data_parallel"])  # fmt: skip
    assert code == 2
    assert requested == ["data_parallel"]  # the option reaches the recipe
    assert "pass a multiple of 2" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["mirrored", (), ("gpu:0", 1)])
def test_resolve_devices_rejects_bad_values(value):
    with pytest.raises(ValueError, match="distribute="):
        distribute.resolve_devices(value)


def test_no_distribution_changes_nothing():
    assert distribute.resolve_devices(None) is None
    assert distribute.resolve_devices("none") is None
    with distribute.distribution_scope("none") as engine:
        assert engine is None
    assert distribute.replica_count(engine) == 1
    assert distribute.process_index() == 0


@needs_jax_or_tensorflow
def test_single_device_copy_keeps_the_weights():
    from keras_attn_deblur import AttnDeblurNet

    model = AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3)
    output_conv = model.get_layer("output_conv")
    output_conv.set_weights([np.full_like(w, 0.01) for w in output_conv.get_weights()])
    images = np.random.default_rng(0).random((1, 16, 16, 3)).astype("float32")
    copy = distribute.single_device_copy(model)
    assert copy is not model
    np.testing.assert_allclose(copy.predict_on_batch(images), model.predict_on_batch(images))


def test_one_host_needs_no_initialization(monkeypatch):
    monkeypatch.delenv("KERAS_DISTRIBUTION_NUM_PROCESSES", raising=False)
    assert distribute.initialize_hosts() == 1


@pytest.mark.skipif(BACKEND != "tensorflow", reason="on JAX this would join a cluster")
def test_several_hosts_need_jax(monkeypatch):
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    with pytest.raises(ValueError, match="keras-team/keras#20585"):
        distribute.initialize_hosts()
