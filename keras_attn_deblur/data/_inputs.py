"""Argument checks and loading shared by the PyDataset and tf.data paths.

Nothing here imports TensorFlow.
"""

import os

import numpy as np

from keras_attn_deblur._utils.validation import is_integer
from keras_attn_deblur.io.decode import image_size
from keras_attn_deblur.io.decode import load_image

# Independent random streams derived from one seed (see `batch_rng`).
ORDER_STREAM = 0
BATCH_STREAM = 1


def check_seed(seed):
    if seed is not None and (not is_integer(seed) or seed < 0):
        raise ValueError(
            f"`seed` must be None or a non-negative integer. Received: seed={seed!r}"
        )
    return seed


def check_mode_options(training, center_crop, steps_per_epoch):
    if training and center_crop is not None:
        raise ValueError(
            "`center_crop` applies to validation data (`training=False`); "
            "training crops random patches of `patch_size`. "
            f"Received: center_crop={center_crop!r} with training=True"
        )
    if not training and steps_per_epoch is not None:
        raise ValueError(
            "`steps_per_epoch` applies to training data only: validation data "
            "goes through every image once. "
            f"Received: steps_per_epoch={steps_per_epoch!r} with training=False"
        )


def as_path_pairs(pairs):
    """`ImagePair`s or `(blurry, sharp)` tuples -> list of `(str, str)`."""
    if isinstance(pairs, (str, os.PathLike)):
        raise ValueError(
            "`pairs` must be a list of `ImagePair`s (or `(blurry, sharp)` path "
            "tuples), not a folder. Build the list with `data.gopro_pairs(root)`, "
            "`data.folder_pairs(blurry_dir, sharp_dir)` or similar. "
            f"Received: pairs={pairs!r}"
        )
    path_pairs = []
    for pair in pairs:
        if hasattr(pair, "blurry") and hasattr(pair, "sharp"):
            path_pairs.append((os.fspath(pair.blurry), os.fspath(pair.sharp)))
        elif isinstance(pair, (tuple, list)) and len(pair) == 2:
            path_pairs.append((os.fspath(pair[0]), os.fspath(pair[1])))
        else:
            raise ValueError(
                "Every element of `pairs` must be an `ImagePair` or a "
                f"`(blurry_path, sharp_path)` tuple. Received: {pair!r}"
            )
    if not path_pairs:
        raise ValueError(
            "`pairs` is empty: there is nothing to train or validate on. Check "
            "the root folder and split given to the discovery function "
            "(`data.gopro_pairs`, `data.folder_pairs`, ...)."
        )
    return path_pairs


def check_full_image_batching(pairs, batch_size):
    """Whole validation images batch only when they all share one size."""
    if batch_size == 1:
        return
    sizes = {}
    for blurry_path, _ in pairs:
        sizes.setdefault(image_size(blurry_path), blurry_path)
    if len(sizes) > 1:
        examples = ", ".join(
            f"{height}x{width} ({path})" for (height, width), path in list(sizes.items())[:3]
        )
        raise ValueError(
            f"Whole validation images can only be batched when they all have the "
            f"same size, but these pairs have {len(sizes)} sizes, e.g. {examples}. "
            "Use `batch_size=1`, or `center_crop=SIZE` to validate on centre "
            f"crops. Received: batch_size={batch_size}"
        )


def load_pair(blurry_path, sharp_path):
    """Decodes both images of a pair and checks that their shapes agree."""
    blurry = load_image(blurry_path)
    sharp = load_image(sharp_path)
    if blurry.shape != sharp.shape:
        raise ValueError(
            f"The images of a pair have different sizes: blurry {blurry_path!r} is "
            f"{blurry.shape[0]}x{blurry.shape[1]} but sharp {sharp_path!r} is "
            f"{sharp.shape[0]}x{sharp.shape[1]}. Fix or remove this pair; "
            "`data.validate_pairs(pairs)` lists every such pair before training. "
            f"Received: blurry.shape={blurry.shape}, sharp.shape={sharp.shape}"
        )
    return blurry, sharp


def batch_rng(seed, stream, epoch, index):
    """A Generator that depends only on (seed, stream, epoch, index).

    Deriving it from the batch coordinates (not from a shared, advancing
    generator) makes each batch independent of which worker builds it and
    of the order in which batches are requested.
    """
    return np.random.default_rng([seed, stream, epoch, index])
