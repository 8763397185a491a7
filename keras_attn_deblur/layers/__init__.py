"""Reusable layers of the attention deblurring network."""

from keras_attn_deblur.layers.bilinear_up_sampling_2d import BilinearUpSampling2D
from keras_attn_deblur.layers.crop_to_reference import CropToReference
from keras_attn_deblur.layers.pad_to_multiple import PadToMultiple
from keras_attn_deblur.layers.spatial_attention_block import SpatialAttentionBlock

__all__ = [
    "BilinearUpSampling2D",
    "CropToReference",
    "PadToMultiple",
    "SpatialAttentionBlock",
]
