import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from keras_attn_deblur import data
from tests.data.aligned_pairs import check_batch_aligned
from tests.data.aligned_pairs import coordinate_image
from tests.data.aligned_pairs import orientation
from tests.data.aligned_pairs import save_png
from tests.data.aligned_pairs import to_uint8
from tests.data.aligned_pairs import write_coordinate_pair
from tests.data.aligned_pairs import write_coordinate_pairs

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZES = ((40, 50), (60, 36), (33, 33), (48, 48), (36, 70), (52, 40))


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return write_coordinate_pairs(str(tmp_path_factory.mktemp("pairs")), SIZES)


def _identity_blur(sharp, rng):
    return sharp.copy()


def _assert_same_batches(first, second):
    for array_a, array_b in zip(first, second):
        np.testing.assert_array_equal(array_a, array_b)


def test_training_crops_are_aligned_and_varied(pairs):
    dataset = data.PairedImageDataset(
        pairs, batch_size=3, patch_size=16, rotate=True, seed=0, steps_per_epoch=10
    )
    assert len(dataset) == 10
    origins, orientations = set(), set()
    for _ in range(3):
        for index in range(len(dataset)):
            blurry, sharp = dataset[index]
            assert blurry.shape == sharp.shape == (3, 16, 16, 3)
            assert blurry.dtype == sharp.dtype == np.float32
            assert 0.0 <= blurry.min() and blurry.max() <= 1.0
            origins.update(check_batch_aligned(blurry, sharp))
            orientations.update(orientation(patch) for patch in sharp)
        dataset.on_epoch_end()
    assert {tag for tag, _, _ in origins} == set(range(len(SIZES)))
    assert len(origins) > 60  # Many different windows, not always a corner.
    assert len(orientations) == 8  # Every flip and rotation of the square.


def test_every_pair_once_per_epoch_in_a_new_order(pairs):
    dataset = data.PairedImageDataset(pairs, batch_size=2, patch_size=8, seed=3)
    assert len(dataset) == 3
    orders = []
    for _ in range(3):
        tags = [tag for index in range(3) for tag, _, _ in check_batch_aligned(*dataset[index])]
        assert sorted(tags) == list(range(6))
        orders.append(tags)
        dataset.on_epoch_end()
    assert orders[0] != orders[1] or orders[1] != orders[2]


def test_small_epochs_still_give_full_batches(pairs):
    dataset = data.PairedImageDataset(pairs[:2], batch_size=5, patch_size=8, seed=0)
    assert len(dataset) == 1
    blurry, sharp = dataset[0]
    assert blurry.shape == (5, 8, 8, 3)
    check_batch_aligned(blurry, sharp)


def test_images_smaller_than_the_patch_are_padded(tmp_path):
    pair = write_coordinate_pair(str(tmp_path / "b.png"), str(tmp_path / "s.png"), 6, 5)
    blurry, sharp = data.PairedImageDataset([pair], batch_size=1, patch_size=12, seed=0)[0]
    assert blurry.shape == sharp.shape == (1, 12, 12, 3)
    np.testing.assert_array_equal((to_uint8(blurry) - to_uint8(sharp)) % 256, 37)


def test_same_seed_same_batches_whatever_the_request_order(pairs):
    make = lambda seed: data.PairedImageDataset(  # noqa: E731
        pairs, batch_size=2, patch_size=16, rotate=True, seed=seed
    )
    first, second = make(7), make(7)
    in_order = [first[index] for index in range(3)]
    reverse = [second[index] for index in (2, 1, 0)][::-1]
    for batch_a, batch_b in zip(in_order, reverse):
        _assert_same_batches(batch_a, batch_b)
    # Built concurrently by threads, as PyDataset workers do.
    threaded = [None] * 3

    def build(index):
        threaded[index] = second[index]

    threads = [threading.Thread(target=build, args=(index,)) for index in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for batch_a, batch_b in zip(in_order, threaded):
        _assert_same_batches(batch_a, batch_b)
    # Another seed, or another epoch, gives other crops.
    assert not np.array_equal(make(8)[0][1], in_order[0][1])
    first.on_epoch_end()
    assert not np.array_equal(first[0][1], in_order[0][1])


def test_unseeded_datasets_differ(pairs):
    first = data.PairedImageDataset(pairs, batch_size=6, patch_size=16)
    second = data.PairedImageDataset(pairs, batch_size=6, patch_size=16)
    assert not np.array_equal(first[0][1], second[0][1])


def test_keras_workers_give_the_same_batches(pairs):
    # Keras' own multi-worker path (threads) yields the seeded batches.
    reference = data.PairedImageDataset(pairs, batch_size=2, patch_size=16, seed=5)
    threaded = data.PairedImageDataset(pairs, batch_size=2, patch_size=16, seed=5, workers=3)
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    adapter = PyDatasetAdapter(threaded, shuffle=False)
    adapter.on_epoch_begin()
    batches = list(adapter.get_numpy_iterator())
    adapter.on_epoch_end()
    assert len(batches) == 3
    for index, batch in enumerate(batches):
        _assert_same_batches(reference[index], batch)


def test_validation_whole_images(tmp_path, pairs):
    same_size = write_coordinate_pairs(str(tmp_path), [(20, 30)] * 3)
    dataset = data.PairedImageDataset(same_size, batch_size=2, training=False)
    assert len(dataset) == 2
    blurry, sharp = dataset[0]
    assert blurry.shape == (2, 20, 30, 3)
    assert dataset[1][0].shape == (1, 20, 30, 3)  # The last batch is partial.
    np.testing.assert_array_equal(to_uint8(sharp[1]), coordinate_image(20, 30, tag=1))
    assert check_batch_aligned(blurry, sharp) == [(0, 0, 0), (1, 0, 0)]
    # Validation batches are the same in every epoch.
    dataset.on_epoch_end()
    _assert_same_batches(dataset[0], (blurry, sharp))
    # Images of several sizes: one at a time.
    sizes = [
        data.PairedImageDataset(pairs, batch_size=1, training=False)[index][1].shape
        for index in range(len(SIZES))
    ]
    assert sizes == [(1, *size, 3) for size in SIZES]


def test_validation_of_mixed_sizes_needs_batch_one_or_a_crop(pairs):
    with pytest.raises(ValueError, match="center_crop"):
        data.PairedImageDataset(pairs, batch_size=2, training=False)


def test_validation_center_crop(pairs):
    dataset = data.PairedImageDataset(pairs, batch_size=4, training=False, center_crop=(20, 30))
    blurry, sharp = dataset[0]
    assert sharp.shape == (4, 20, 30, 3)
    expected = [
        (tag, (height - 20) // 2, (width - 30) // 2)
        for tag, (height, width) in enumerate(SIZES[:4])
    ]
    assert check_batch_aligned(blurry, sharp) == expected


def test_argument_errors(pairs):
    with pytest.raises(ValueError, match="`pairs` is empty"):
        data.PairedImageDataset([])
    with pytest.raises(ValueError, match="not a folder"):
        data.PairedImageDataset("/some/folder")
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        data.PairedImageDataset(pairs, batch_size=0)
    with pytest.raises(ValueError, match="center_crop"):
        data.PairedImageDataset(pairs, center_crop=64)
    with pytest.raises(ValueError, match="steps_per_epoch"):
        data.PairedImageDataset(pairs, batch_size=1, training=False, steps_per_epoch=3)
    with pytest.raises(ValueError, match="seed"):
        data.PairedImageDataset(pairs, seed=-1)
    with pytest.raises(IndexError):
        data.PairedImageDataset(pairs, batch_size=6)[1]


def test_pair_of_different_sizes_names_both_files(tmp_path):
    blurry_path = save_png(str(tmp_path / "blur" / "a.png"), coordinate_image(20, 20))
    sharp_path = save_png(str(tmp_path / "sharp" / "a.png"), coordinate_image(20, 24))
    dataset = data.PairedImageDataset([(blurry_path, sharp_path)], batch_size=1, patch_size=8)
    with pytest.raises(ValueError, match="different sizes") as error:
        dataset[0]
    assert blurry_path in str(error.value) and sharp_path in str(error.value)


def test_synthetic_blur_dataset(tmp_path):
    photos = tmp_path / "photos"
    rng = np.random.default_rng(0)
    for index, size in enumerate([(90, 120), (70, 64), (100, 100)]):
        save_png(str(photos / f"{index}.png"), (rng.random((*size, 3)) * 255).astype("uint8"))
    (photos / "notes.txt").write_text("not an image")
    dataset = data.SyntheticBlurDataset(
        str(photos), batch_size=2, patch_size=32, seed=0, steps_per_epoch=3
    )
    assert len(dataset.photos) == 3 and len(dataset) == 3
    assert dataset.margin == 41 // 2 + 1  # Half the default blur's largest kernel.
    blurry, sharp = dataset[0]
    assert blurry.shape == sharp.shape == (2, 32, 32, 3)
    assert blurry.dtype == sharp.dtype == np.float32
    assert 0.0 <= blurry.min() and blurry.max() <= 1.0
    assert np.abs(blurry - sharp).mean() > 0.02  # Blurring random noise changes it.
    _assert_same_batches(dataset[0], data.SyntheticBlurDataset(
        str(photos), batch_size=2, patch_size=32, seed=0, steps_per_epoch=3
    )[0])
    dataset.on_epoch_end()
    assert not np.array_equal(dataset[0][0], blurry)
    # Validation: fixed blur, every photo once.
    validation = data.SyntheticBlurDataset(str(photos), batch_size=2, patch_size=32,
                                           training=False, seed=0)
    first = validation[1]
    assert first[0].shape == (1, 32, 32, 3)
    validation.on_epoch_end()
    _assert_same_batches(first, validation[1])


def test_synthetic_blur_sees_the_margin_and_crops_back(tmp_path):
    path = save_png(str(tmp_path / "photo.png"), coordinate_image(100, 120, tag=9))
    seen_shapes = []

    def shifting_blur(sharp, rng):
        seen_shapes.append(sharp.shape)
        # Blurry pixel = sharp pixel 3 columns to the left: needs the margin.
        return np.roll(sharp, 3, axis=1)

    dataset = data.SyntheticBlurDataset([path], blur=shifting_blur, batch_size=1,
                                        patch_size=16, margin=5, training=False)
    blurry, sharp = dataset[0]
    assert seen_shapes == [(26, 26, 3)]  # The patch plus 5 pixels on each side.
    columns = to_uint8(sharp[0])[..., 0]
    # The blurry patch is the sharp one moved by 3 columns: its left edge
    # comes from the margin (real pixels), not from padding.
    np.testing.assert_array_equal(to_uint8(blurry[0])[..., 0], columns - 3)
    np.testing.assert_array_equal(columns[0], np.arange(52, 68))  # Centre of 120.
    identity = data.SyntheticBlurDataset(
        [path], blur=_identity_blur, batch_size=8, patch_size=24, seed=1
    )
    blurry, sharp = identity[0]
    np.testing.assert_array_equal(blurry, sharp)
    sharp = to_uint8(sharp)
    origins = {(patch[..., 1].min(), patch[..., 0].min()) for patch in sharp}
    assert len(origins) > 4  # Random windows of the photo.


def test_synthetic_blur_dataset_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No photos found in .*empty"):
        data.SyntheticBlurDataset(str(tmp_path / "empty"))
    with pytest.raises(ValueError, match="is not a folder"):
        data.SyntheticBlurDataset(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="empty list"):
        data.SyntheticBlurDataset([])
    photo = save_png(str(tmp_path / "p.png"), coordinate_image(8, 8))
    with pytest.raises(ValueError, match="callable"):
        data.SyntheticBlurDataset([photo], blur="gaussian")
    with pytest.raises(ValueError, match="margin"):
        data.SyntheticBlurDataset([photo], margin=-1)


def test_works_without_tensorflow(tmp_path):
    pair = write_coordinate_pair(str(tmp_path / "b.png"), str(tmp_path / "s.png"), 30, 40)
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["tensorflow"] = None  # A machine without TensorFlow.
        import numpy as np
        from keras_attn_deblur import data

        assert data.resolve_pipeline("auto") == "python"
        blurry, sharp = data.make_dataset([{pair!r}], batch_size=2, patch_size=16, seed=0)[0]
        assert blurry.shape == sharp.shape == (2, 16, 16, 3), blurry.shape
        dataset = data.SyntheticBlurDataset([{pair[1]!r}], batch_size=2, patch_size=16, seed=0)
        blurry, sharp = dataset[0]
        assert blurry.shape == sharp.shape == (2, 16, 16, 3), blurry.shape
        try:
            data.make_dataset([{pair!r}], pipeline="tf")
        except ImportError as error:
            assert "keras-attn-deblur[tensorflow]" in str(error), error
        else:
            raise AssertionError("pipeline='tf' without TensorFlow did not raise")
        assert sys.modules["tensorflow"] is None
        print("OK")
        """
    )
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")
