"""TensorFlow Datasets builder for GOPRO_Large (`tfds.load("gopro_large")`).

This subpackage imports TensorFlow Datasets; nothing else in the package
imports it, so `keras_attn_deblur` works without TensorFlow installed.
Importing it registers the dataset name "gopro_large" with TFDS.
"""

import importlib.util

if importlib.util.find_spec("tensorflow_datasets") is None:
    raise ImportError(
        "keras_attn_deblur.data.tfds_gopro needs TensorFlow Datasets. Install it with "
        "`pip install 'keras-attn-deblur[tensorflow]'`."
    )
if importlib.util.find_spec("importlib_resources") is None:
    # tensorflow-datasets 4.9 imports it to prepare any dataset, but declares
    # it only for Python < 3.9 (github.com/tensorflow/datasets/issues/11212).
    raise ImportError(
        "TensorFlow Datasets needs the `importlib_resources` package to build a dataset "
        "but does not install it on Python >= 3.9. Install it with "
        "`pip install importlib_resources`."
    )

from keras_attn_deblur.data.tfds_gopro.gopro_builder import GoproLarge  # noqa: E402
from keras_attn_deblur.data.tfds_gopro.gopro_builder import GoproLargeConfig  # noqa: E402

__all__ = [
    "GoproLarge",
    "GoproLargeConfig",
]
