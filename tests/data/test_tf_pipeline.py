import numpy as np
import pytest

from keras_attn_deblur import data
from tests.data.aligned_pairs import check_batch_aligned
from tests.data.aligned_pairs import coordinate_image
from tests.data.aligned_pairs import orientation
from tests.data.aligned_pairs import reflect_indices
from tests.data.aligned_pairs import save_png
from tests.data.aligned_pairs import to_uint8
from tests.data.aligned_pairs import write_coordinate_pair
from tests.data.aligned_pairs import write_coordinate_pairs

tf = pytest.importorskip("tensorflow")

SIZES = ((40, 50), (60, 36), (33, 33), (48, 48), (36, 70), (52, 40))


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return write_coordinate_pairs(str(tmp_path_factory.mktemp("pairs")), SIZES)


def _batches(dataset, count=None):
    dataset = dataset if count is None else dataset.take(count)
    return [(blurry.numpy(), sharp.numpy()) for blurry, sharp in dataset]


def _assert_same(first, second):
    assert len(first) == len(second)
    for (blurry_a, sharp_a), (blurry_b, sharp_b) in zip(first, second):
        np.testing.assert_array_equal(blurry_a, blurry_b)
        np.testing.assert_array_equal(sharp_a, sharp_b)


def test_training_crops_are_aligned_and_varied(pairs):
    dataset = data.make_tf_dataset(
        pairs, batch_size=4, patch_size=16, rotate=True, repeat=True, seed=0
    )
    assert isinstance(dataset, tf.data.Dataset)
    assert dataset.element_spec[0].shape.as_list() == [4, 16, 16, 3]
    origins, orientations = set(), set()
    for blurry, sharp in _batches(dataset, 30):
        assert blurry.dtype == sharp.dtype == np.float32
        assert 0.0 <= blurry.min() and blurry.max() <= 1.0
        origins.update(check_batch_aligned(blurry, sharp))
        orientations.update(orientation(patch) for patch in sharp)
    assert {tag for tag, _, _ in origins} == set(range(len(SIZES)))
    assert len(origins) > 60
    assert len(orientations) == 8  # Every flip and rotation of the square.


def test_non_square_patches_keep_their_shape(pairs):
    dataset = data.make_tf_dataset(
        pairs, batch_size=3, patch_size=(12, 20), rotate=True, repeat=True, seed=1
    )
    orientations = set()
    for blurry, sharp in _batches(dataset, 10):
        assert sharp.shape == (3, 12, 20, 3)
        check_batch_aligned(blurry, sharp)
        orientations.update(orientation(patch) for patch in sharp)
    assert {x_axis for x_axis, _, _ in orientations} == {1}  # Only 0 or 180 degrees.
    assert len(orientations) == 4


def test_one_pass_per_epoch_in_a_new_order(pairs):
    dataset = data.make_tf_dataset(pairs, batch_size=2, patch_size=8, seed=4)
    orders = []
    for _ in range(3):
        batches = _batches(dataset)
        assert len(batches) == 3
        tags = [tag for batch in batches for tag, _, _ in check_batch_aligned(*batch)]
        assert sorted(tags) == list(range(6))
        orders.append(tags)
    assert orders[0] != orders[1] or orders[1] != orders[2]


def test_small_images_are_padded_by_reflection(tmp_path):
    pair = write_coordinate_pair(str(tmp_path / "b.png"), str(tmp_path / "s.png"), 5, 3)
    (blurry, sharp), = _batches(data.make_tf_dataset([pair], batch_size=1, patch_size=9, seed=2))
    np.testing.assert_array_equal((to_uint8(blurry) - to_uint8(sharp)) % 256, 37)
    # Whatever the flips, the rows and columns are the centred reflection.
    sharp = to_uint8(sharp[0])
    rows, columns = sharp[:, 0, 1], sharp[0, :, 0]
    assert list(rows) in (reflect_indices(5, 9), reflect_indices(5, 9)[::-1])
    assert list(columns) in (reflect_indices(3, 9), reflect_indices(3, 9)[::-1])


def test_seeded_datasets_are_reproducible(pairs):
    def make(seed):
        return data.make_tf_dataset(
            pairs, batch_size=2, patch_size=16, rotate=True, repeat=True, seed=seed
        )

    first = _batches(make(11), 6)
    _assert_same(first, _batches(make(11), 6))
    assert not np.array_equal(_batches(make(12), 1)[0][1], first[0][1])
    # A finite dataset gives new crops in its second epoch.
    finite = data.make_tf_dataset(pairs, batch_size=6, patch_size=16, seed=11)
    epoch_1, epoch_2 = _batches(finite), _batches(finite)
    assert not np.array_equal(epoch_1[0][1], epoch_2[0][1])
    _assert_same(
        epoch_1, _batches(data.make_tf_dataset(pairs, batch_size=6, patch_size=16, seed=11))
    )


@pytest.mark.parametrize("cache", [True, "file"])
def test_cache_keeps_epochs_random(pairs, tmp_path, cache):
    cache = str(tmp_path / "cache") if cache == "file" else cache
    dataset = data.make_tf_dataset(pairs, batch_size=3, patch_size=16, cache=cache, seed=0)
    epochs = [_batches(dataset) for _ in range(2)]
    for batches in epochs:
        tags = [tag for batch in batches for tag, _, _ in check_batch_aligned(*batch)]
        assert sorted(tags) == list(range(6))
    assert not np.array_equal(epochs[0][0][1], epochs[1][0][1])


def test_validation_whole_images_and_center_crop(tmp_path, pairs):
    same_size = write_coordinate_pairs(str(tmp_path), [(20, 30)] * 3)
    batches = _batches(data.make_tf_dataset(same_size, batch_size=2, training=False))
    assert [batch[1].shape for batch in batches] == [(2, 20, 30, 3), (1, 20, 30, 3)]
    np.testing.assert_array_equal(to_uint8(batches[0][1][1]), coordinate_image(20, 30, tag=1))
    assert check_batch_aligned(*batches[1]) == [(2, 0, 0)]

    whole = _batches(data.make_tf_dataset(pairs, batch_size=1, training=False))
    assert [batch[1].shape[1:3] for batch in whole] == list(SIZES)

    cropped = data.make_tf_dataset(pairs, batch_size=6, training=False, center_crop=(20, 30))
    (blurry, sharp), = _batches(cropped)
    expected = [
        (tag, (height - 20) // 2, (width - 30) // 2) for tag, (height, width) in enumerate(SIZES)
    ]
    assert check_batch_aligned(blurry, sharp) == expected
    # The same crops as the PyDataset path.
    python_batch = data.PairedImageDataset(
        pairs, batch_size=6, training=False, center_crop=(20, 30)
    )[0]
    np.testing.assert_array_equal(python_batch[1], sharp)
    with pytest.raises(ValueError, match="center_crop"):
        data.make_tf_dataset(pairs, batch_size=2, training=False)


def test_errors(pairs, tmp_path):
    with pytest.raises(ValueError, match="`pairs` is empty"):
        data.make_tf_dataset([])
    with pytest.raises(ValueError, match="repeat=True"):
        data.make_tf_dataset(pairs, batch_size=8)
    with pytest.raises(ValueError, match="cache"):
        data.make_tf_dataset(pairs, batch_size=2, cache=3)
    blurry_path = save_png(str(tmp_path / "blur" / "a.png"), coordinate_image(20, 20))
    sharp_path = save_png(str(tmp_path / "sharp" / "a.png"), coordinate_image(20, 24))
    dataset = data.make_tf_dataset([(blurry_path, sharp_path)], batch_size=1, patch_size=8)
    with pytest.raises(Exception, match="different sizes") as error:
        _batches(dataset)
    assert blurry_path in str(error.value) and sharp_path in str(error.value)


def test_synthetic_dataset(tmp_path):
    rng = np.random.default_rng(0)
    for index, size in enumerate([(90, 120), (70, 64), (100, 100)]):
        save_png(
            str(tmp_path / "photos" / f"{index}.png"),
            (rng.random((*size, 3)) * 255).astype("uint8"),
        )
    photos = str(tmp_path / "photos")

    def make(**options):
        return data.make_tf_synthetic_dataset(photos, batch_size=2, patch_size=32, **options)

    dataset = make(seed=0, repeat=True)
    first = _batches(dataset, 3)
    for blurry, sharp in first:
        assert blurry.shape == sharp.shape == (2, 32, 32, 3)
        assert blurry.dtype == np.float32
        assert 0.0 <= blurry.min() and blurry.max() <= 1.0
        assert np.abs(blurry - sharp).mean() > 0.02
    _assert_same(first, _batches(make(seed=0, repeat=True), 3))
    validation = make(seed=0, training=False)
    _assert_same(_batches(validation), _batches(validation))  # A fixed validation set.
    assert [batch[0].shape[0] for batch in _batches(validation)] == [2, 1]

    def identity(sharp, rng):
        return sharp.copy()

    (blurry, sharp), = _batches(make(blur=identity, seed=0, cache=True))
    np.testing.assert_array_equal(blurry, sharp)


def test_steps_per_epoch_makes_every_pass_that_long(pairs):
    dataset = data.make_tf_dataset(pairs, batch_size=4, patch_size=16, steps_per_epoch=5, seed=0)
    epochs = [_batches(dataset) for _ in range(2)]
    assert [len(batches) for batches in epochs] == [5, 5]
    for batches in epochs:
        tags = [tag for batch in batches for tag, _, _ in check_batch_aligned(*batch)]
        assert set(tags) == set(range(6))  # 20 crops: the pairs repeat.
    assert not np.array_equal(epochs[0][0][1], epochs[1][0][1])
    with pytest.raises(ValueError, match="steps_per_epoch"):
        data.make_tf_dataset(pairs, training=False, steps_per_epoch=3)
