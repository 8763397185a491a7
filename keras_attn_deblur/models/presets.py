"""The named configurations of `AttnDeblurNet`, as data.

Card and Hub code read them without importing the model. Each preset is the
constructor arguments of `AttnDeblurNet`; `AttnDeblurNet.from_preset(name)`
builds one.
"""

# Stage names, in graph order. Encoder stages 1-3, then decoder stages 3-1.
# A block is named f"{stage}_attn{index}", starting at 1.
STAGES = ("enc1", "enc2", "enc3", "dec3", "dec2", "dec1")
# Each stage's resolution, as the factor its feature maps are downsampled by.
STAGE_STRIDES = {"enc1": 1, "enc2": 2, "enc3": 4, "dec3": 4, "dec2": 2, "dec1": 1}
STAGE_TITLES = {
    "enc1": "encoder, full resolution",
    "enc2": "encoder, 1/2 resolution",
    "enc3": "encoder, 1/4 resolution",
    "dec3": "decoder, 1/4 resolution",
    "dec2": "decoder, 1/2 resolution",
    "dec1": "decoder, full resolution",
}
# The network reflect-pads its input to a multiple of this (two stride-2 stages).
PAD_MULTIPLE = 4

PRESETS = {
    # The network of the SPEC table: 18 attention blocks, 32/64/128 filters,
    # 5x5 kernels. About 7.0 M parameters and 1.1 M multiply-adds per pixel.
    "patent": {
        "filters": (32, 64, 128),
        "blocks_per_stage": 3,
        "kernel_size": 5,
        "attention_reduction": 4,
        "upsampling": "bilinear",
        "global_residual": True,
    },
    # Half the width everywhere: about a quarter of the compute and of the
    # parameters, for CPU users.
    "lite": {
        "filters": (16, 32, 64),
        "blocks_per_stage": 3,
        "kernel_size": 5,
        "attention_reduction": 4,
        "upsampling": "bilinear",
        "global_residual": True,
    },
}
"""The named configurations of `AttnDeblurNet` (`AttnDeblurNet.from_preset(name)`): a dict of
preset name -> the constructor's keyword arguments."""


def block_counts(blocks_per_stage):
    """`blocks_per_stage` (an int or one int per stage) as a tuple of one count per stage."""
    if isinstance(blocks_per_stage, int) and not isinstance(blocks_per_stage, bool):
        return (blocks_per_stage,) * len(STAGES)
    return tuple(blocks_per_stage)
