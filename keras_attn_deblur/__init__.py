"""keras-attn-deblur: spatial-attention motion deblurring for Keras 3.

The public API. TensorFlow is not imported here: the package works on the
JAX backend without TensorFlow installed.
"""

import sys

from keras_attn_deblur._utils import native_logs

# First, before Keras imports TensorFlow: the command line keeps TensorFlow's and
# CUDA's native log lines off the terminal (attn-deblur --debug shows them).
native_logs.filter_command_line_process(sys.argv)

from keras_attn_deblur import inference  # noqa: E402
from keras_attn_deblur import training  # noqa: E402
from keras_attn_deblur.inference import Deblurrer  # noqa: E402
from keras_attn_deblur.inference import deblur  # noqa: E402
from keras_attn_deblur.inference import deblur_file  # noqa: E402
from keras_attn_deblur.inference import deblur_folder  # noqa: E402
from keras_attn_deblur.layers import SpatialAttentionBlock  # noqa: E402
from keras_attn_deblur.losses import CharbonnierLoss  # noqa: E402
from keras_attn_deblur.losses import FrequencyLoss  # noqa: E402
from keras_attn_deblur.losses import PSNRLoss  # noqa: E402
from keras_attn_deblur.losses import WeightedSumLoss  # noqa: E402
from keras_attn_deblur.metrics import PSNR  # noqa: E402
from keras_attn_deblur.metrics import SSIM  # noqa: E402
from keras_attn_deblur.metrics import psnr  # noqa: E402
from keras_attn_deblur.metrics import ssim  # noqa: E402
from keras_attn_deblur.models import PRESETS  # noqa: E402
from keras_attn_deblur.models import AttnDeblurNet  # noqa: E402
from keras_attn_deblur.training import compile_for_deblurring  # noqa: E402
from keras_attn_deblur.training import deblurring_callbacks  # noqa: E402
from keras_attn_deblur.version import __version__  # noqa: E402

__all__ = [
    "PRESETS",
    "PSNR",
    "SSIM",
    "AttnDeblurNet",
    "CharbonnierLoss",
    "Deblurrer",
    "FrequencyLoss",
    "PSNRLoss",
    "SpatialAttentionBlock",
    "WeightedSumLoss",
    "__version__",
    "compile_for_deblurring",
    "deblur",
    "deblur_file",
    "deblur_folder",
    "deblurring_callbacks",
    "inference",
    "psnr",
    "ssim",
    "training",
]
