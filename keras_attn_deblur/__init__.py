"""keras-attn-deblur: spatial-attention motion deblurring for Keras 3.

The public API. TensorFlow is not imported here: the package works on the
JAX backend without TensorFlow installed.
"""

from keras_attn_deblur import inference
from keras_attn_deblur import training
from keras_attn_deblur.inference import deblur
from keras_attn_deblur.inference import deblur_file
from keras_attn_deblur.inference import deblur_folder
from keras_attn_deblur.layers import SpatialAttentionBlock
from keras_attn_deblur.losses import CharbonnierLoss
from keras_attn_deblur.losses import FrequencyLoss
from keras_attn_deblur.losses import PSNRLoss
from keras_attn_deblur.losses import WeightedSumLoss
from keras_attn_deblur.metrics import PSNR
from keras_attn_deblur.metrics import SSIM
from keras_attn_deblur.metrics import psnr
from keras_attn_deblur.metrics import ssim
from keras_attn_deblur.models import PRESETS
from keras_attn_deblur.models import AttnDeblurNet
from keras_attn_deblur.training import compile_for_deblurring
from keras_attn_deblur.training import deblurring_callbacks
from keras_attn_deblur.version import __version__

__all__ = [
    "PRESETS",
    "PSNR",
    "SSIM",
    "AttnDeblurNet",
    "CharbonnierLoss",
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
