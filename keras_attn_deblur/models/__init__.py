"""Models: the attention deblurring network and its presets."""

from keras_attn_deblur.models.attn_deblur_net import PRESETS, AttnDeblurNet

__all__ = ["PRESETS", "AttnDeblurNet"]
