"""Models: the attention deblurring network, its presets and its dtype switch.

`AttnDeblurNet` is imported on first use, so that the presets and the dtype
switch (which `keras_attn_deblur.hub` reads) load without the model module.
"""

from keras_attn_deblur.models.precision import with_dtype
from keras_attn_deblur.models.presets import PRESETS

__all__ = ["PRESETS", "AttnDeblurNet", "with_dtype"]


def __getattr__(name):
    if name == "AttnDeblurNet":
        from keras_attn_deblur.models.attn_deblur_net import AttnDeblurNet

        return AttnDeblurNet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + ["AttnDeblurNet"])
