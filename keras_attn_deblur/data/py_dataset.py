"""TensorFlow-free input pipelines: `keras.utils.PyDataset`s of (blurry, sharp).

These run on any Keras backend and on machines without TensorFlow (JAX-only
GPU hosts). `workers=N` builds batches in N threads (processes with
`use_multiprocessing=True`); Pillow's decoders and most numpy work release
the GIL, so threads do run in parallel. `data.make_dataset` picks one thread
per CPU core, up to 8.
"""

import math

import keras
import numpy as np

from keras_attn_deblur._utils.validation import check_positive_int
from keras_attn_deblur.data import _inputs
from keras_attn_deblur.data.augment import center_crop_pair
from keras_attn_deblur.data.augment import normalize_size
from keras_attn_deblur.data.augment import random_crop_pair
from keras_attn_deblur.data.augment import random_flip_pair
from keras_attn_deblur.data.augment import random_rot90_pair
from keras_attn_deblur.io.decode import load_image
from keras_attn_deblur.data.synthetic.pipeline import check_blur_and_margin
from keras_attn_deblur.data.synthetic.pipeline import list_photos
from keras_attn_deblur.data.synthetic.pipeline import synthetic_example


def augment_pair(blurry, sharp, patch_size, rotate, rng):
    """The training augmentation: random crop, flips and optional rot90."""
    blurry, sharp = random_crop_pair(blurry, sharp, patch_size, rng)
    blurry, sharp = random_flip_pair(blurry, sharp, rng)
    if rotate:
        blurry, sharp = random_rot90_pair(blurry, sharp, rng)
    return blurry, sharp


class _SeededPyDataset(keras.utils.PyDataset):
    """Epoch counter and per-batch generators shared by both datasets."""

    def __init__(self, size, batch_size, training, seed, steps_per_epoch, **kwargs):
        super().__init__(**kwargs)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.steps_per_epoch = check_positive_int(
            "steps_per_epoch", steps_per_epoch, allow_none=True
        )
        self.training = bool(training)
        self.seed = _inputs.check_seed(seed)
        # Without a seed, draw one now: every worker (thread or process) sees
        # the same value, so batches still do not depend on scheduling.
        self._base_seed = seed if seed is not None else np.random.SeedSequence().entropy
        self._size = size
        self.epoch = 0
        self._order = self._epoch_order(0)

    def __len__(self):
        if not self.training:
            return math.ceil(self._size / self.batch_size)
        if self.steps_per_epoch is not None:
            return self.steps_per_epoch
        return math.ceil(self._size / self.batch_size)

    def on_epoch_end(self):
        if self.training:
            self.epoch += 1
            self._order = self._epoch_order(self.epoch)

    def _epoch_order(self, epoch):
        """Item indices of an epoch: concatenated shuffles when training."""
        if not self.training:
            return np.arange(self._size)
        rng = _inputs.batch_rng(self._base_seed, _inputs.ORDER_STREAM, epoch, 0)
        needed = len(self) * self.batch_size
        rounds = math.ceil(needed / self._size)
        return np.concatenate([rng.permutation(self._size) for _ in range(rounds)])

    def _batch_items(self, index):
        """(item indices, Generator) of batch `index` of the current epoch."""
        if not 0 <= index < len(self):
            raise IndexError(
                f"Batch index out of range: this dataset has {len(self)} batches. "
                f"Received: index={index}"
            )
        start = index * self.batch_size
        stop = start + self.batch_size
        if not self.training:
            stop = min(stop, self._size)
        # Validation batches get the same generator in every epoch.
        epoch = self.epoch if self.training else 0
        rng = _inputs.batch_rng(self._base_seed, _inputs.BATCH_STREAM, epoch, index)
        return self._order[start:stop], rng


class PairedImageDataset(_SeededPyDataset):
    """Batches of aligned (blurry, sharp) image pairs, without TensorFlow.

    Training (`training=True`): every batch holds `batch_size` random
    `patch_size` crops; the crop window, the horizontal and vertical flips
    and (with `rotate=True`) a rotation by a multiple of 90 degrees are drawn
    once per pair and applied to both images. The order of the pairs is
    reshuffled every epoch; when an epoch asks for more crops than there are
    pairs (`steps_per_epoch`), the order is a concatenation of shuffles.
    Images smaller than the patch are padded by reflection.

    Validation (`training=False`): every pair once, in order, as whole
    images or as centre crops of `center_crop`. Whole images can only be
    batched (`batch_size > 1`) when they all have the same size; this is
    checked from the file headers when the dataset is built.

    Determinism: every batch is built with a `numpy.random.Generator` seeded
    by `(seed, epoch, batch index)`, so with a `seed` the batches are the
    same whatever the number of workers and their scheduling (Keras may
    still request them in a shuffled order: `fit(shuffle=True)`).

    Images are decoded by `data.load_image` (8/16-bit PNG, JPEG, grayscale,
    RGBA, EXIF orientation) to float32 in `[0, 1]`.

    Args:
        pairs: list of `data.ImagePair` (or `(blurry_path, sharp_path)`
            tuples), e.g. from `data.gopro_pairs`.
        batch_size: int. Pairs per batch. Defaults to `8`.
        patch_size: int or `(height, width)` tuple. Training crop size.
            Defaults to `256`.
        training: bool. Random crops and flips (`True`) or whole images /
            centre crops in a fixed order (`False`). Defaults to `True`.
        rotate: bool. Also rotate training crops by a random multiple of 90
            degrees (0 or 180 degrees for non-square patches). Defaults to
            `False`.
        center_crop: int, `(height, width)` tuple or `None`. Validation only:
            crop the centre of every image to this size. Defaults to `None`
            (whole images).
        seed: int or `None`. Makes the crops, flips and order reproducible.
            Defaults to `None`.
        steps_per_epoch: int or `None`. Training only: batches per epoch.
            Defaults to `None` (`ceil(len(pairs) / batch_size)`).
        workers: int. Threads (or processes) that build batches in parallel.
            Defaults to `1`.
        use_multiprocessing: bool. Use processes instead of threads.
            Defaults to `False`.
        max_queue_size: int. Batches prepared ahead. Defaults to `10`.

    Example:
    ```python
    from keras_attn_deblur import data

    pairs = data.gopro_pairs("/datasets/GOPRO_Large", split="train")
    train_ds = data.PairedImageDataset(pairs, batch_size=8, patch_size=256,
                                       seed=0, workers=4)
    blurry, sharp = train_ds[0]  # two (8, 256, 256, 3) float32 arrays
    ```
    """

    def __init__(
        self,
        pairs,
        *,
        batch_size=8,
        patch_size=256,
        training=True,
        rotate=False,
        center_crop=None,
        seed=None,
        steps_per_epoch=None,
        workers=1,
        use_multiprocessing=False,
        max_queue_size=10,
    ):
        path_pairs = _inputs.as_path_pairs(pairs)
        _inputs.check_mode_options(training, center_crop, steps_per_epoch)
        self.pairs = path_pairs
        self.patch_size = normalize_size(patch_size, "patch_size")
        self.rotate = bool(rotate)
        self.center_crop = None if center_crop is None else normalize_size(
            center_crop, "center_crop"
        )
        super().__init__(
            len(path_pairs),
            batch_size,
            training,
            seed,
            steps_per_epoch,
            workers=workers,
            use_multiprocessing=use_multiprocessing,
            max_queue_size=max_queue_size,
        )
        if not self.training and self.center_crop is None:
            _inputs.check_full_image_batching(path_pairs, self.batch_size)

    def __getitem__(self, index):
        items, rng = self._batch_items(index)
        blurry_batch, sharp_batch = [], []
        for item in items:
            blurry, sharp = _inputs.load_pair(*self.pairs[item])
            if self.training:
                blurry, sharp = augment_pair(blurry, sharp, self.patch_size, self.rotate, rng)
            elif self.center_crop is not None:
                blurry, sharp = center_crop_pair(blurry, sharp, self.center_crop)
            blurry_batch.append(blurry)
            sharp_batch.append(sharp)
        return (
            np.stack(blurry_batch).astype("float32", copy=False),
            np.stack(sharp_batch).astype("float32", copy=False),
        )


class SyntheticBlurDataset(_SeededPyDataset):
    """Batches of (blurry, sharp) patches made from sharp photos, without TensorFlow.

    For users with sharp photos only. Each example crops a window of
    `patch_size + 2 * margin` out of a photo (random position and flips when
    training, the centre otherwise), blurs it with `blur` (a
    `SyntheticMotionBlur` by default: camera-shake kernels, non-uniform
    blending, noise) and crops both images back to `patch_size`, so the
    blur at the patch border sees real image content.

    Training: photos in a new random order every epoch, new blur every
    epoch. Validation (`training=False`): every photo once, in order, with a
    blur that is the same in every epoch (a fixed validation set).
    Determinism follows the rules of `PairedImageDataset`: each batch
    depends only on `(seed, epoch, batch index)`.

    Args:
        photos: str or path (a folder, searched recursively) or list of image
            paths.
        blur: callable `(sharp, rng) -> blurry` on float32 `(H, W, 3)` arrays.
            Defaults to `None` (`data.SyntheticMotionBlur()`).
        batch_size: int. Patches per batch. Defaults to `8`.
        patch_size: int or `(height, width)` tuple. Defaults to `256`.
        margin: int or `None`. Context pixels around the patch that the blur
            sees. Defaults to `None` (half the blur's largest kernel when the
            blur exposes `max_kernel_size` or `kernel_size`, else 32).
        training: bool. Random windows and a new blur each epoch, or a fixed
            validation set. Defaults to `True`.
        rotate: bool. Also rotate training windows by multiples of 90
            degrees. Defaults to `False`.
        seed: int or `None`. Makes the patches and blurs reproducible.
            Defaults to `None`.
        steps_per_epoch: int or `None`. Training only: batches per epoch.
            Defaults to `None` (`ceil(len(photos) / batch_size)`).
        workers: int. Threads (or processes) that build batches. Defaults to
            `1`.
        use_multiprocessing: bool. Use processes instead of threads.
            Defaults to `False`.
        max_queue_size: int. Batches prepared ahead. Defaults to `10`.

    Example:
    ```python
    from keras_attn_deblur import data

    train_ds = data.SyntheticBlurDataset("/my/sharp/photos", batch_size=8,
                                         patch_size=256, seed=0, workers=4)
    blurry, sharp = train_ds[0]
    ```
    """

    def __init__(
        self,
        photos,
        *,
        blur=None,
        batch_size=8,
        patch_size=256,
        margin=None,
        training=True,
        rotate=False,
        seed=None,
        steps_per_epoch=None,
        workers=1,
        use_multiprocessing=False,
        max_queue_size=10,
    ):
        paths = list_photos(photos)
        _inputs.check_mode_options(training, None, steps_per_epoch)
        self.photos = paths
        self.blur, self.margin = check_blur_and_margin(blur, margin)
        self.patch_size = normalize_size(patch_size, "patch_size")
        self.rotate = bool(rotate)
        super().__init__(
            len(paths),
            batch_size,
            training,
            seed,
            steps_per_epoch,
            workers=workers,
            use_multiprocessing=use_multiprocessing,
            max_queue_size=max_queue_size,
        )

    def __getitem__(self, index):
        items, rng = self._batch_items(index)
        blurry_batch, sharp_batch = [], []
        for item in items:
            photo = load_image(self.photos[item])
            blurry, sharp = synthetic_example(
                photo, self.blur, self.patch_size, self.margin, self.training, self.rotate, rng
            )
            blurry_batch.append(blurry)
            sharp_batch.append(sharp)
        return np.stack(blurry_batch), np.stack(sharp_batch)
