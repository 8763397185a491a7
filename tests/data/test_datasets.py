import os

import keras
import numpy as np
import pytest

import keras_attn_deblur
from keras_attn_deblur import data
from keras_attn_deblur.data import datasets
from tests.data.aligned_pairs import check_batch_aligned
from tests.data.aligned_pairs import coordinate_image
from tests.data.aligned_pairs import save_png
from tests.data.aligned_pairs import write_gopro_tree

PIPELINES = ("tf", "python")


@pytest.fixture(scope="module")
def gopro_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("GOPRO_Large"))
    write_gopro_tree(root, "train", frames=2, size=(40, 52))
    write_gopro_tree(root, "test", sequences=("GOPR0003_00",), frames=2, size=(40, 52))
    return root


def _first_batch(dataset):
    if isinstance(dataset, keras.utils.PyDataset):
        return dataset[0]
    blurry, sharp = next(iter(dataset))
    return blurry.numpy(), sharp.numpy()


@pytest.fixture(scope="module")
def tiny_model():
    # One model for both pipelines: its train step compiles once (seconds).
    keras.utils.set_random_seed(0)
    model = keras_attn_deblur.AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mae")
    return model


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_gopro_tree_trains_through_the_pipeline(gopro_root, tiny_model, pipeline):
    train_pairs = data.gopro_pairs(gopro_root, split="train")
    val_pairs = data.gopro_pairs(gopro_root, split="test")
    assert len(train_pairs) == 4 and len(val_pairs) == 2
    train_ds = data.make_dataset(
        train_pairs, batch_size=2, patch_size=32, pipeline=pipeline, steps_per_epoch=2, seed=0
    )
    val_ds = data.make_dataset(val_pairs, batch_size=2, training=False, pipeline=pipeline)
    model = tiny_model
    before = [weight.copy() for weight in model.get_weights()]
    iterations = int(model.optimizer.iterations.numpy())
    history = model.fit(train_ds, validation_data=val_ds, epochs=1, shuffle=False, verbose=0)
    assert model.optimizer.iterations.numpy() - iterations == 2  # Two training steps.
    assert np.isfinite(history.history["loss"][0])
    assert np.isfinite(history.history["val_loss"][0])
    assert any(not np.array_equal(old, new) for old, new in zip(before, model.get_weights()))


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_entry_points_return_the_chosen_pipeline(gopro_root, tmp_path, pipeline):
    pairs = data.gopro_pairs(gopro_root)
    dataset = data.make_dataset(pairs, batch_size=2, patch_size=16, pipeline=pipeline,
                                rotate=True, seed=0)
    if pipeline == "tf":
        import tensorflow as tf

        assert isinstance(dataset, tf.data.Dataset)
    else:
        assert isinstance(dataset, data.PairedImageDataset)
    blurry, sharp = _first_batch(dataset)
    assert blurry.shape == sharp.shape == (2, 16, 16, 3)
    check_batch_aligned(blurry, sharp)

    photos = [pair.sharp for pair in pairs]
    synthetic = data.synthetic_dataset(photos, batch_size=2, patch_size=16,
                                       pipeline=pipeline, seed=0)
    blurry, sharp = _first_batch(synthetic)
    assert blurry.shape == sharp.shape == (2, 16, 16, 3)
    assert blurry.dtype == sharp.dtype == np.float32


def test_auto_picks_tf_data_on_tensorflow_and_jax(monkeypatch):
    monkeypatch.setattr(datasets, "_tensorflow_installed", lambda: True)
    for backend, expected in (("tensorflow", "tf"), ("jax", "tf"), ("torch", "python")):
        monkeypatch.setattr(keras.backend, "backend", lambda backend=backend: backend)
        assert data.resolve_pipeline("auto") == expected
    monkeypatch.setattr(datasets, "_tensorflow_installed", lambda: False)
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    assert data.resolve_pipeline("auto") == "python"
    assert data.resolve_pipeline("python") == "python"
    with pytest.raises(ImportError, match=r"pip install \"keras-attn-deblur\[tensorflow\]\""):
        data.resolve_pipeline("tf")


def test_auto_on_this_machine(gopro_root):
    # TensorFlow is installed for the test suite and the backend is tf or jax.
    assert keras.backend.backend() in ("tensorflow", "jax")
    dataset = data.make_dataset(data.gopro_pairs(gopro_root), batch_size=2, patch_size=16)
    assert not isinstance(dataset, keras.utils.PyDataset)


def test_bad_pipeline_name(gopro_root):
    pairs = data.gopro_pairs(gopro_root)
    with pytest.raises(ValueError, match=r"`pipeline` must be one of .* pipeline='tfdata'"):
        data.make_dataset(pairs, pipeline="tfdata")
    with pytest.raises(ValueError, match="Received: pipeline='torch'"):
        data.synthetic_dataset([pairs[0].sharp], pipeline="torch")


def test_options_of_the_other_pipeline_are_named(gopro_root):
    pairs = data.gopro_pairs(gopro_root)
    with pytest.raises(TypeError, match="`cache` is an option of the 'tf' pipeline"):
        data.make_dataset(pairs, pipeline="python", cache=True)
    with pytest.raises(TypeError, match="`workers` is an option of the 'python' pipeline"):
        data.make_dataset(pairs, pipeline="tf", workers=4)
    with pytest.raises(TypeError, match="Unknown option `shuffle`"):
        data.synthetic_dataset([pairs[0].sharp], pipeline="python", shuffle=True)


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_empty_inputs_are_clear_errors(tmp_path, pipeline):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="`pairs` is empty"):
        data.make_dataset([], pipeline=pipeline)
    with pytest.raises(ValueError, match=r"No photos found in .*empty"):
        data.synthetic_dataset(str(tmp_path / "empty"), pipeline=pipeline)
    with pytest.raises(ValueError, match="is not a folder"):
        data.synthetic_dataset(str(tmp_path / "missing"), pipeline=pipeline)
    # Discovery on an empty folder fails before any dataset is built.
    with pytest.raises(ValueError):
        data.folder_pairs(tmp_path / "empty", tmp_path / "empty")


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_pair_of_different_sizes_names_the_files(tmp_path, pipeline):
    blurry = save_png(str(tmp_path / "blur" / "0001.png"), coordinate_image(24, 32))
    sharp = save_png(str(tmp_path / "sharp" / "0001.png"), coordinate_image(24, 30))
    # Discovery reports it first ...
    with pytest.raises(data.PairError, match="0001.png"):
        data.folder_pairs(tmp_path / "blur", tmp_path / "sharp")
    # ... and a dataset built on unchecked pairs names both files.
    pairs = [data.ImagePair(blurry=blurry, sharp=sharp, name="0001.png")]
    dataset = data.make_dataset(pairs, batch_size=1, patch_size=8, pipeline=pipeline)
    with pytest.raises(Exception, match="different sizes") as error:
        _first_batch(dataset)
    assert blurry in str(error.value) and sharp in str(error.value)


def test_data_package_does_not_import_tensorflow_eagerly():
    import keras_attn_deblur.data as data_package

    assert "make_tf_dataset" in dir(data_package)
    source = open(os.path.join(os.path.dirname(data_package.__file__), "__init__.py")).read()
    assert "tf_pipeline import" not in source and "tfds_gopro import" not in source
    with pytest.raises(AttributeError):
        data_package.no_such_name


def test_python_pipeline_uses_worker_threads_by_default(gopro_root):
    pairs = data.gopro_pairs(gopro_root)
    dataset = data.make_dataset(pairs, batch_size=2, patch_size=16, pipeline="python")
    assert dataset.workers == min(8, os.cpu_count()) and not dataset.use_multiprocessing
    dataset = data.make_dataset(pairs, batch_size=2, patch_size=16, pipeline="python", workers=1)
    assert dataset.workers == 1
