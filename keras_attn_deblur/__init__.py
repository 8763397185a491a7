"""keras-attn-deblur: spatial-attention motion deblurring for Keras 3."""

from keras_attn_deblur.layers import SpatialAttentionBlock
from keras_attn_deblur.models import PRESETS, AttnDeblurNet
from keras_attn_deblur.version import __version__
