"""Models: the attention deblurring network, its presets and its dtype switch."""

from keras_attn_deblur.models.attn_deblur_net import AttnDeblurNet
from keras_attn_deblur.models.precision import with_dtype
from keras_attn_deblur.models.presets import PRESETS

__all__ = ["PRESETS", "AttnDeblurNet", "with_dtype"]
