"""tf.data input pipelines of (blurry, sharp) batches.

TensorFlow is imported inside these functions, when they run; besides the
TFDS builder (`data.tfds_gopro`), no other data module imports it, and
`keras_attn_deblur.data` loads this module only on first use. A
`tf.data.Dataset` feeds `model.fit` on the TensorFlow backend and also works
as input under JAX (Keras converts each batch to arrays).

Decoding goes through `tf.numpy_function(data.load_image)` rather than
`tf.io.decode_image`: the same decoder as the PyDataset path, so both paths
accept exactly the same files (16-bit PNG, grayscale, RGBA, JPEG with EXIF
orientation, which `tf.io` ignores) and raise the same errors that name the
bad file. Pillow releases the GIL while it decodes, so the parallel map
still decodes on several cores (see `benchmarks/data_pipeline.py`).

The random crop and flips are one `tf.gather` of computed row and column
indices, applied to both images: one window, one flip decision, and the
reflection padding of images smaller than the patch, without copying the
full image. The indices, and the optional rotation, come from stateless
random ops seeded per example by `tf.data.Dataset.random(seed)`.
"""

import os

import numpy as np

from keras_attn_deblur._utils.validation import check_positive_int
from keras_attn_deblur.data import _inputs
from keras_attn_deblur.data.augment import center_crop_pair
from keras_attn_deblur.data.augment import normalize_size
from keras_attn_deblur.io.decode import load_image
from keras_attn_deblur.data.synthetic.pipeline import check_blur_and_margin
from keras_attn_deblur.data.synthetic.pipeline import list_photos
from keras_attn_deblur.data.synthetic.pipeline import synthetic_example

# Decoded images held by the shuffle buffer that follows a cache.
_CACHED_SHUFFLE_BUFFER = 64


def import_tensorflow():
    try:
        import tensorflow as tf
    except ImportError as error:
        raise ImportError(
            "The tf.data pipeline needs TensorFlow, which is not installed. "
            'Install it with `pip install "keras-attn-deblur[tensorflow]"`, or use '
            'the TensorFlow-free path: `pipeline="python"` (a keras.utils.PyDataset).'
        ) from error
    return tf


def _reflect_indices(tf, size, start, length, reverse):
    """Indices `start .. start + length` into a centred, reflect-padded axis.

    The axis of `size` pixels is (virtually) padded by reflection to at least
    `length`, with the padding split evenly before and after, like
    `numpy.pad(mode="reflect")` in `augment.reflect_pad_to`. Gathering these
    indices crops and pads in one step, without copying the whole image.
    """
    before = tf.maximum(length - size, 0) // 2
    positions = tf.range(length) + start - before
    period = tf.maximum(2 * (size - 1), 1)
    folded = tf.math.floormod(positions, period)
    indices = tf.where(folded < size, folded, period - folded)
    return tf.cond(reverse, lambda: tf.reverse(indices, [0]), lambda: indices)


def _paired_augment(tf, patch_size, rotate):
    patch_height, patch_width = patch_size

    def augment(blurry, sharp, seed):
        seeds = tf.random.split(seed, 4)
        height, width = tf.shape(blurry)[0], tf.shape(blurry)[1]
        top = tf.random.stateless_uniform(
            [], seeds[0], 0, tf.maximum(height - patch_height, 0) + 1, dtype=tf.int32
        )
        left = tf.random.stateless_uniform(
            [], seeds[1], 0, tf.maximum(width - patch_width, 0) + 1, dtype=tf.int32
        )
        flip_vertical, flip_horizontal = tf.unstack(
            tf.random.stateless_uniform([2], seeds[2]) < 0.5
        )
        rows = _reflect_indices(tf, height, top, patch_height, flip_vertical)
        columns = _reflect_indices(tf, width, left, patch_width, flip_horizontal)
        # One window and one flip decision, gathered from both images.
        stacked = tf.concat(
            [
                tf.gather(tf.gather(blurry, rows, axis=0), columns, axis=1),
                tf.gather(tf.gather(sharp, rows, axis=0), columns, axis=1),
            ],
            axis=-1,
        )
        if rotate:
            quarter_turns = tf.random.stateless_uniform([], seeds[3], 0, 4, dtype=tf.int32)
            if patch_height != patch_width:
                quarter_turns = quarter_turns // 2 * 2
            stacked = tf.image.rot90(stacked, quarter_turns)
        stacked = tf.ensure_shape(stacked, [patch_height, patch_width, 6])
        return stacked[..., :3], stacked[..., 3:]

    return augment


def _seeds(tf, seed, rerandomize):
    """An endless dataset of `[2]` int64 seeds for the stateless random ops."""
    return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=rerandomize).batch(2)


def _numpy_rng(seed_pair):
    return np.random.default_rng(np.asarray(seed_pair, dtype=np.int64).view(np.uint64))


def _check_cache(cache):
    if cache is False or cache is None:
        return None
    if cache is True:
        return ""
    if isinstance(cache, (str, os.PathLike)):
        return os.fspath(cache)
    raise ValueError(
        "`cache` must be False, True (in memory) or a file path prefix. "
        f"Received: cache={cache!r}"
    )


def _options(training, batch_size, size, repeat, steps_per_epoch, shuffle_buffer, seed,
             deterministic):
    batch_size = check_positive_int("batch_size", batch_size)
    if steps_per_epoch is not None:
        check_positive_int("steps_per_epoch", steps_per_epoch)
        repeat = True
    seed = _inputs.check_seed(seed)
    shuffle_buffer = check_positive_int("shuffle_buffer", shuffle_buffer, allow_none=True)
    if training and not repeat and size < batch_size:
        raise ValueError(
            f"Training batches are full batches, but there are only {size} images "
            f"for batch_size={batch_size}, so an epoch would be empty. Use "
            "`steps_per_epoch=N`, `repeat=True` or a smaller `batch_size`."
        )
    if deterministic is None:
        deterministic = seed is not None
    return batch_size, repeat, seed, shuffle_buffer, bool(deterministic)


def _batch(tf, examples, batch_size, training, steps_per_epoch):
    batches = examples.batch(batch_size, drop_remainder=training)
    if steps_per_epoch is not None:
        batches = batches.take(steps_per_epoch)
    return batches.prefetch(tf.data.AUTOTUNE)


def _shuffled_decode(tf, sources, decode, size, training, cache, shuffle_buffer, seed,
                     deterministic):
    """Shuffle file names, decode in parallel, optionally cache.

    Without a cache the (cheap) file list is shuffled before decoding. A
    cache must come after decoding and would freeze a shuffled order, so with
    a cache the decoded images are shuffled after it instead, in a smaller
    buffer.
    """
    autotune = tf.data.AUTOTUNE
    if training and cache is None:
        sources = sources.shuffle(
            shuffle_buffer or size, seed=seed, reshuffle_each_iteration=True
        )
    images = sources.map(decode, num_parallel_calls=autotune, deterministic=deterministic)
    if cache is not None:
        images = images.cache(cache)
        if training:
            images = images.shuffle(
                shuffle_buffer or min(size, _CACHED_SHUFFLE_BUFFER),
                seed=seed,
                reshuffle_each_iteration=True,
            )
    return images


def make_tf_dataset(
    pairs,
    *,
    batch_size=8,
    patch_size=256,
    training=True,
    rotate=False,
    center_crop=None,
    shuffle_buffer=None,
    cache=False,
    repeat=False,
    steps_per_epoch=None,
    seed=None,
    deterministic=None,
):
    """A `tf.data.Dataset` of `(blurry, sharp)` float32 batches from image pairs.

    Training: file names shuffled every epoch, decoded in parallel, then one
    random `patch_size` window and one pair of flip decisions (and, with
    `rotate`, one rotation) applied to both images; full batches only.
    Validation (`training=False`): every pair once, in order, whole or
    centre-cropped. Images are float32 in `[0, 1]`; images smaller than the
    patch are padded by reflection. See `data.make_dataset` for the
    backend-neutral entry point.

    Args:
        pairs: list of `data.ImagePair` (or `(blurry, sharp)` path tuples).
        batch_size: int. Defaults to `8`.
        patch_size: int or `(height, width)`. Training crop size. Defaults to
            `256`.
        training: bool. Defaults to `True`.
        rotate: bool. Random multiples of 90 degrees (0/180 for non-square
            patches). Defaults to `False`.
        center_crop: int, `(height, width)` or `None`. Validation only.
            Defaults to `None` (whole images).
        shuffle_buffer: int or `None`. Defaults to `None`: every pair (the
            file names are shuffled), or 64 decoded images after a cache.
        cache: bool or str. Cache decoded images (before cropping) in memory
            (`True`) or in files with this path prefix. Defaults to `False`.
        repeat: bool. Repeat forever; then give `steps_per_epoch` to `fit`.
            Defaults to `False` (one pass over the pairs per epoch).
        steps_per_epoch: int or `None`. Training only: make every pass over
            the dataset (every `fit` epoch) exactly this many batches, the
            pairs repeating in new orders as needed, as with
            `PairedImageDataset`. Defaults to `None`.
        seed: int or `None`. Seeds the shuffle and the augmentations.
            Defaults to `None`.
        deterministic: bool or `None`. Keep the element order of the
            parallel maps. Defaults to `None` (`True` when `seed` is set).

    Returns:
        A `tf.data.Dataset` of `(blurry, sharp)` tuples of shape
        `(batch, height, width, 3)`.
    """
    tf = import_tensorflow()
    path_pairs = _inputs.as_path_pairs(pairs)
    _inputs.check_mode_options(training, center_crop, steps_per_epoch)
    patch_size = normalize_size(patch_size, "patch_size")
    crop_size = None if center_crop is None else normalize_size(center_crop, "center_crop")
    cache = _check_cache(cache)
    batch_size, repeat, seed, shuffle_buffer, deterministic = _options(
        training, batch_size, len(path_pairs), repeat, steps_per_epoch, shuffle_buffer, seed,
        deterministic,
    )
    if not training and crop_size is None:
        _inputs.check_full_image_batching(path_pairs, batch_size)

    def load(blurry_path, sharp_path):
        blurry, sharp = _inputs.load_pair(os.fsdecode(blurry_path), os.fsdecode(sharp_path))
        if crop_size is not None:
            blurry, sharp = center_crop_pair(blurry, sharp, crop_size)
            blurry, sharp = np.ascontiguousarray(blurry), np.ascontiguousarray(sharp)
        return blurry, sharp

    def decode(blurry_path, sharp_path):
        blurry, sharp = tf.numpy_function(
            load, [blurry_path, sharp_path], [tf.float32, tf.float32], stateful=False
        )
        shape = [None, None, 3] if crop_size is None else [*crop_size, 3]
        return tf.ensure_shape(blurry, shape), tf.ensure_shape(sharp, shape)

    blurry_paths, sharp_paths = (list(paths) for paths in zip(*path_pairs))
    sources = tf.data.Dataset.from_tensor_slices((blurry_paths, sharp_paths))
    images = _shuffled_decode(
        tf, sources, decode, len(path_pairs), training, cache, shuffle_buffer, seed,
        deterministic,
    )
    if repeat:
        images = images.repeat()
    if training:
        augment = _paired_augment(tf, patch_size, rotate)
        images = tf.data.Dataset.zip(images, _seeds(tf, seed, rerandomize=True)).map(
            lambda pair, seed_pair: augment(*pair, seed_pair),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=deterministic,
        )
    return _batch(tf, images, batch_size, training, steps_per_epoch)


def make_tf_synthetic_dataset(
    photos,
    *,
    blur=None,
    batch_size=8,
    patch_size=256,
    margin=None,
    training=True,
    rotate=False,
    shuffle_buffer=None,
    cache=False,
    repeat=False,
    steps_per_epoch=None,
    seed=None,
    deterministic=None,
):
    """A `tf.data.Dataset` of synthetically blurred `(blurry, sharp)` batches.

    The tf.data twin of `data.SyntheticBlurDataset`: photos are shuffled and
    decoded in parallel (and optionally cached), then each example crops a
    window with `margin` pixels of context, blurs it with `blur` (numpy, run
    through `tf.numpy_function` with a generator seeded per example) and crops
    back to `patch_size`. With `training=False` every photo is used once, in
    order, centre-cropped, with the same blur in every epoch.

    Args:
        photos: str or path (a folder, searched recursively) or list of image
            paths.
        blur: callable `(sharp, rng) -> blurry`. Defaults to `None`
            (`data.SyntheticMotionBlur()`).
        batch_size: int. Defaults to `8`.
        patch_size: int or `(height, width)`. Defaults to `256`.
        margin: int or `None`. Context pixels around the patch. Defaults to
            `None` (see `SyntheticBlurDataset`).
        training: bool. Defaults to `True`.
        rotate: bool. Defaults to `False`.
        shuffle_buffer: int or `None`. Defaults to `None` (all photos, or 64
            decoded photos after a cache).
        cache: bool or str. Cache decoded photos. Defaults to `False`.
        repeat: bool. Repeat forever. Defaults to `False`.
        steps_per_epoch: int or `None`. Training only: batches per pass over
            the dataset (per `fit` epoch). Defaults to `None`.
        seed: int or `None`. Defaults to `None`.
        deterministic: bool or `None`. Defaults to `None` (`True` when `seed`
            is set).

    Returns:
        A `tf.data.Dataset` of `(blurry, sharp)` tuples of shape
        `(batch, patch_height, patch_width, 3)`.
    """
    tf = import_tensorflow()
    paths = list_photos(photos)
    blur, margin = check_blur_and_margin(blur, margin)
    patch_size = normalize_size(patch_size, "patch_size")
    cache = _check_cache(cache)
    _inputs.check_mode_options(training, None, steps_per_epoch)
    batch_size, repeat, seed, shuffle_buffer, deterministic = _options(
        training, batch_size, len(paths), repeat, steps_per_epoch, shuffle_buffer, seed,
        deterministic,
    )

    def decode(path):
        photo = tf.numpy_function(
            lambda path: load_image(os.fsdecode(path)), [path], tf.float32, stateful=False
        )
        return tf.ensure_shape(photo, [None, None, 3])

    def make_example(photo, seed_pair):
        blurry, sharp = synthetic_example(
            photo, blur, patch_size, margin, training, rotate, _numpy_rng(seed_pair)
        )
        return np.ascontiguousarray(blurry), np.ascontiguousarray(sharp)

    def blur_example(photo, seed_pair):
        blurry, sharp = tf.numpy_function(
            make_example, [photo, seed_pair], [tf.float32, tf.float32], stateful=False
        )
        shape = [*patch_size, 3]
        return tf.ensure_shape(blurry, shape), tf.ensure_shape(sharp, shape)

    photos_ds = _shuffled_decode(
        tf, tf.data.Dataset.from_tensor_slices(paths), decode, len(paths), training, cache,
        shuffle_buffer, seed, deterministic,
    )
    if repeat:
        photos_ds = photos_ds.repeat()
    # Validation examples get the same seeds, hence the same blur, every epoch.
    examples = tf.data.Dataset.zip(photos_ds, _seeds(tf, seed, rerandomize=training)).map(
        blur_example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic
    )
    return _batch(tf, examples, batch_size, training, steps_per_epoch)
