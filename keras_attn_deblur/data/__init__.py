"""Paired deblurring data: discovery, decoding, augmentation, synthetic blur, pipelines.

```python
from keras_attn_deblur import data

pairs = data.gopro_pairs("/datasets/GOPRO_Large", split="train")
train_ds = data.make_dataset(pairs, batch_size=8, patch_size=256, training=True)
synth_ds = data.synthetic_dataset("/my/sharp/photos", batch_size=8, patch_size=256)
```

Importing this package does not import TensorFlow: the tf.data pipeline
(`data.make_tf_dataset`, `data.make_tf_synthetic_dataset`) and the TFDS
builder (`data.tfds_gopro`) are imported on first use.
"""

import importlib

from keras_attn_deblur._utils.paths import IMAGE_EXTENSIONS
from keras_attn_deblur.data.augment import center_crop_pair
from keras_attn_deblur.data.augment import random_crop_pair
from keras_attn_deblur.data.augment import random_flip_pair
from keras_attn_deblur.data.augment import random_rot90_pair
from keras_attn_deblur.data.datasets import make_dataset
from keras_attn_deblur.data.datasets import resolve_pipeline
from keras_attn_deblur.data.datasets import synthetic_dataset
from keras_attn_deblur.io.decode import ImageReadError
from keras_attn_deblur.io.decode import image_samples
from keras_attn_deblur.io.decode import image_size
from keras_attn_deblur.io.decode import load_image
from keras_attn_deblur.io.decode import load_image_samples
from keras_attn_deblur.data.pairs import ImagePair
from keras_attn_deblur.data.pairs import PairError
from keras_attn_deblur.data.pairs import folder_pairs
from keras_attn_deblur.data.pairs import gopro_pairs
from keras_attn_deblur.data.pairs import hide_pairs
from keras_attn_deblur.data.pairs import realblur_pairs
from keras_attn_deblur.data.pairs import validate_pairs
from keras_attn_deblur.data.py_dataset import PairedImageDataset
from keras_attn_deblur.data.py_dataset import SyntheticBlurDataset
from keras_attn_deblur.data.synthetic import PairSynthesizer
from keras_attn_deblur.data.synthetic import SyntheticMotionBlur
from keras_attn_deblur.data.synthetic import add_gaussian_noise
from keras_attn_deblur.data.synthetic import add_poisson_noise
from keras_attn_deblur.data.synthetic import apply_crf
from keras_attn_deblur.data.synthetic import average_frames
from keras_attn_deblur.data.synthetic import blur_image
from keras_attn_deblur.data.synthetic import camera_shake_kernel
from keras_attn_deblur.data.synthetic import frame_averaged_pairs
from keras_attn_deblur.data.synthetic import inverse_crf
from keras_attn_deblur.data.synthetic import jpeg_compress
from keras_attn_deblur.data.synthetic import kernel_bank
from keras_attn_deblur.data.synthetic import linear_motion_kernel
from keras_attn_deblur.data.synthetic import nonuniform_blur
from keras_attn_deblur.data.validation_sets import spread
from keras_attn_deblur.data.validation_sets import synthetic_validation_pairs
from keras_attn_deblur.data.validation_sets import validation_data
from keras_attn_deblur.data.validation_sets import validation_set

__all__ = [
    "IMAGE_EXTENSIONS",
    "ImagePair",
    "ImageReadError",
    "PairError",
    "PairSynthesizer",
    "PairedImageDataset",
    "SyntheticBlurDataset",
    "SyntheticMotionBlur",
    "add_gaussian_noise",
    "add_poisson_noise",
    "apply_crf",
    "average_frames",
    "blur_image",
    "camera_shake_kernel",
    "center_crop_pair",
    "folder_pairs",
    "frame_averaged_pairs",
    "gopro_pairs",
    "hide_pairs",
    "image_samples",
    "image_size",
    "inverse_crf",
    "jpeg_compress",
    "kernel_bank",
    "linear_motion_kernel",
    "load_image",
    "load_image_samples",
    "make_dataset",
    "nonuniform_blur",
    "random_crop_pair",
    "random_flip_pair",
    "random_rot90_pair",
    "realblur_pairs",
    "resolve_pipeline",
    "spread",
    "synthetic_dataset",
    "synthetic_validation_pairs",
    "validate_pairs",
    "validation_data",
    "validation_set",
]

# Names served on first access, so that TensorFlow (and TFDS) load only when used.
_LAZY_ATTRIBUTES = {
    "make_tf_dataset": "keras_attn_deblur.data.tf_pipeline",
    "make_tf_synthetic_dataset": "keras_attn_deblur.data.tf_pipeline",
    "tf_pipeline": None,
    "tfds_gopro": None,
}


def __getattr__(name):
    if name not in _LAZY_ATTRIBUTES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name = _LAZY_ATTRIBUTES[name]
    if module_name is None:
        return importlib.import_module(f"{__name__}.{name}")
    return getattr(importlib.import_module(module_name), name)


def __dir__():
    return sorted(list(globals()) + list(_LAZY_ATTRIBUTES))
