"""Validation sets of a training run: which pairs, and the data `fit` validates on.

```python
from keras_attn_deblur import data

pairs, name, split = data.validation_set(gopro="/datasets/GOPRO_Large", limit=100)
val_data = data.validation_data(pairs, crop=256)
model.fit(train_ds, validation_data=val_data, epochs=100)
```

A validation set is either pairs on disk (`ImagePair`s, read whole by the
final evaluation and centre-cropped while training) or fixed `(blurry,
sharp)` arrays made from sharp photos with synthetic motion blur, the same
every run (a seed per photo). Large sets are thinned evenly (`spread`), so
that every sequence of a dataset is represented.
"""

import os

import numpy as np

from keras_attn_deblur._utils.paths import is_image_name
from keras_attn_deblur._utils.validation import check_non_negative_int
from keras_attn_deblur._utils.validation import check_positive_int
from keras_attn_deblur.data.datasets import make_dataset
from keras_attn_deblur.data.pairs import folder_pairs
from keras_attn_deblur.data.pairs import gopro_pairs
from keras_attn_deblur.data.synthetic.pipeline import SyntheticMotionBlur
from keras_attn_deblur.data.synthetic.pipeline import default_margin
from keras_attn_deblur.data.synthetic.pipeline import synthetic_example
from keras_attn_deblur.io.decode import load_image


def spread(items, limit):
    """At most `limit` items, evenly spread over the list (every sequence of a dataset).

    Args:
        items: sequence. The items, e.g. the `ImagePair`s of a test split.
        limit: int. How many to keep at most.

    Returns:
        A list: `items` itself when it is short enough, else every
        `len(items) / limit`-th item.

    Example:
    ```python
    from keras_attn_deblur import data

    data.spread(list(range(10)), 4)  # [0, 2, 5, 7]
    ```
    """
    check_positive_int("limit", limit)
    if len(items) <= limit:
        return list(items)
    step = len(items) / limit
    return [items[int(index * step)] for index in range(limit)]


def synthetic_validation_pairs(folder, *, limit=100, crop=256, seed=0):
    """Fixed `(blurry, sharp)` arrays from sharp validation photos, the same every run.

    Each photo (at most `limit`, spread over the sorted folder tree) is
    centre-cropped to a `crop` square (or its largest square when `crop` is
    0) and blurred with `SyntheticMotionBlur` seeded by `(seed, index)`.

    Args:
        folder: str. A folder of sharp photos (searched recursively).
        limit: int. At most this many photos. Defaults to `100`.
        crop: int. Side of the square crop, `0` for the largest square.
            Defaults to `256`.
        seed: int. The seed of the blur. Defaults to `0`.

    Returns:
        A list of `(blurry, sharp)` float32 arrays in `[0, 1]`.

    Example:
    ```python
    from keras_attn_deblur import data

    pairs = data.synthetic_validation_pairs("my_val_photos/", limit=20)
    ```
    """
    crop = check_non_negative_int("crop", crop)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Validation photo folder '{folder}' does not exist.")
    paths = spread(sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder)
        for name in names
        if is_image_name(name)
    ), limit)  # fmt: skip
    if not paths:
        raise ValueError(f"No images in the validation photo folder '{folder}'.")
    blur = SyntheticMotionBlur()
    margin = default_margin(blur)
    pairs = []
    for index, path in enumerate(paths):
        photo = load_image(path)
        size = crop or min(photo.shape[:2])
        blurry, sharp = synthetic_example(
            photo, blur, (size, size), margin, training=False, rotate=False,
            rng=np.random.default_rng([seed, index]),
        )  # fmt: skip
        pairs.append((blurry, sharp))
    return pairs


def validation_set(
    *,
    pairs=None,
    photos=None,
    gopro=None,
    blur_folder="blur",
    limit=100,
    crop=256,
    seed=0,
):
    """The validation pairs of a training run, with the name and split for its model card.

    In this order: the pair folders `pairs`; the sharp `photos`
    (`synthetic_validation_pairs`); the `test/` split of a GoPro root
    `gopro`, when it has one. At most `limit` pairs, spread over the set.

    Args:
        pairs: tuple of two str. Folders of blurry and sharp validation
            images, matched by name. Defaults to `None`.
        photos: str. A folder of sharp validation photos. Defaults to `None`.
        gopro: str. A GOPRO_Large root. Defaults to `None`.
        blur_folder: str. GoPro's blurry folder, `"blur"` or `"blur_gamma"`.
            Defaults to `"blur"`.
        limit: int. At most this many pairs. Defaults to `100`.
        crop: int. Crop of the synthetic pairs (see
            `synthetic_validation_pairs`). Defaults to `256`.
        seed: int. Seed of the synthetic blur. Defaults to `0`.

    Returns:
        `(pairs, dataset name, split)`, or `(None, None, None)` when there is
        no validation set. `pairs` are `ImagePair`s or `(blurry, sharp)`
        arrays, both accepted by `validation_data` and
        `evaluation.evaluate_pairs`.

    Example:
    ```python
    from keras_attn_deblur import data

    pairs, name, split = data.validation_set(pairs=("val/blur", "val/sharp"), limit=50)
    ```
    """
    if pairs:
        return spread(folder_pairs(*pairs), limit), "custom", "validation"
    if photos:
        synthetic = synthetic_validation_pairs(photos, limit=limit, crop=crop, seed=seed)
        return synthetic, "synthetic blur", "validation"
    if gopro and os.path.isdir(os.path.join(gopro, "test")):
        test_pairs = gopro_pairs(gopro, split="test", blur_folder=blur_folder)
        return spread(test_pairs, limit), "GoPro", "test"
    return None, None, None


def validation_data(pairs, *, batch_size=1, crop=256, pipeline="auto"):
    """What `fit(validation_data=...)` takes for the pairs of `validation_set`.

    Args:
        pairs: list or `None`. `ImagePair`s (read by a `make_dataset`
            pipeline, centre-cropped to `crop` unless it is 0) or `(blurry,
            sharp)` arrays (stacked into two arrays).
        batch_size: int. Validation batch size of a pipeline. Defaults to `1`.
        crop: int. Centre crop of pairs on disk, `0` for whole images.
            Defaults to `256`.
        pipeline: str. `"auto"`, `"tf"` or `"python"`, see
            `data.make_dataset`. Defaults to `"auto"`.

    Returns:
        A dataset, a `(blurry, sharp)` tuple of arrays, or `None` when
        `pairs` is `None`.

    Example:
    ```python
    from keras_attn_deblur import data

    val_data = data.validation_data(data.folder_pairs("val/blur", "val/sharp"), crop=256)
    ```
    """
    if pairs is None:
        return None
    if not isinstance(pairs[0], tuple):  # ImagePairs on disk
        options = dict(batch_size=batch_size, training=False, pipeline=pipeline)
        if crop:
            options["center_crop"] = crop
        return make_dataset(pairs, **options)
    blurry = np.stack([pair[0] for pair in pairs])
    sharp = np.stack([pair[1] for pair in pairs])
    return blurry, sharp
