"""AttnDeblurNet: the encoder-decoder of SPEC, as a functional Keras model."""

import math

import keras
import numpy as np

from keras_attn_deblur._utils.validation import check_positive_int
from keras_attn_deblur._utils.validation import is_integer
from keras_attn_deblur.hub.mixin import HubMixin
from keras_attn_deblur.layers.bilinear_up_sampling_2d import BilinearUpSampling2D
from keras_attn_deblur.layers.crop_to_reference import CropToReference
from keras_attn_deblur.layers.pad_to_multiple import PadToMultiple
from keras_attn_deblur.layers.spatial_attention_block import SpatialAttentionBlock
from keras_attn_deblur.models.input_checks import CheckedSteps
from keras_attn_deblur.models.input_checks import validate_array_pair
from keras_attn_deblur.models.input_checks import validate_images
from keras_attn_deblur.models.presets import PAD_MULTIPLE
from keras_attn_deblur.models.presets import STAGE_STRIDES
from keras_attn_deblur.models.presets import STAGE_TITLES
from keras_attn_deblur.models.presets import STAGES
from keras_attn_deblur.models.presets import block_counts

_UPSAMPLING_MODES = ("bilinear", "transposed")


def _normalize_blocks_per_stage(blocks_per_stage):
    counts = None
    if is_integer(blocks_per_stage) or (
        isinstance(blocks_per_stage, (tuple, list)) and len(blocks_per_stage) == len(STAGES)
    ):
        counts = block_counts(blocks_per_stage)
    if counts is None or not all(is_integer(count) and count >= 1 for count in counts):
        raise ValueError(
            "`blocks_per_stage` must be a positive integer or a tuple of "
            f"{len(STAGES)} positive integers (one per stage {STAGES}). "
            f"Received: blocks_per_stage={blocks_per_stage!r}"
        )
    return counts


@keras.saving.register_keras_serializable(package="keras_attn_deblur")
class AttnDeblurNet(HubMixin, CheckedSteps, keras.Model):
    """Encoder-decoder with spatial-attention residual blocks for deblurring.

    With the default arguments this builds the network of the project's SPEC
    table exactly: conv 1 (5x5, 32), three attention blocks, conv 2 (stride 2,
    64), three blocks, conv 3 (stride 2, 128), six blocks at the bottleneck,
    bilinear x2 upsampling, conv 4 (64), concatenation with the stage-2 skip,
    three blocks, upsampling, conv 5 (32), concatenation with the stage-1
    skip, three blocks and conv 6 (3 channels). Convolutions 1-5 use ReLU.
    Conv 6 predicts a residual that is added to the blurry input (global
    residual learning); turn it off with `global_residual=False` to make conv
    6 output the image itself.

    The model takes float RGB images in `[0, 1]` of any height and width
    (at least 1 pixel): it reflect-pads them inside the graph to a multiple
    of 4 and crops the result back, so `restored.shape == blurry.shape`.

    Sharing (`from_preset`, `from_pretrained`, `save_pretrained`,
    `push_to_hub`) comes from `keras_attn_deblur.hub.HubMixin`.

    Design: "an image motion-deblurring method based on an attention
    network", South China University of Technology, 2021 (see SPEC.md).

    Args:
        filters: tuple of 3 ints. Filters of the full-, half- and
            quarter-resolution stages. Defaults to `(32, 64, 128)`.
        blocks_per_stage: int or tuple of 6 ints. Attention blocks in each
            stage, in the order `enc1, enc2, enc3, dec3, dec2, dec1`.
            Defaults to `3`.
        kernel_size: int. Kernel size of every convolution except the 1x1
            convolutions of the attention branch and the shortcuts.
            Defaults to `5`.
        attention_reduction: int. Width ratio of the attention branch, see
            `SpatialAttentionBlock`. Defaults to `4`.
        upsampling: str. `"bilinear"` (x2 bilinear resize) or
            `"transposed"` (x2 transposed convolution). Defaults to
            `"bilinear"`.
        global_residual: bool. Whether conv 6 predicts a residual added to
            the input. Defaults to `True`.
        dtype: str or `keras.DTypePolicy`. The dtype policy of every layer,
            e.g. `"mixed_bfloat16"`. The output is always float32.
            Defaults to `None` (the global policy).
        **kwargs: Base model keyword arguments, such as `name`.

    Example:
    ```python
    import numpy as np
    from keras_attn_deblur import AttnDeblurNet, CharbonnierLoss, PSNR, SSIM

    model = AttnDeblurNet()                  # the SPEC network
    lite = AttnDeblurNet.from_preset("lite")  # a quarter of the compute
    model.compile(optimizer="adam", loss=CharbonnierLoss(),
                  metrics=[PSNR(), SSIM()])
    restored = model.predict(np.random.rand(1, 77, 121, 3))  # any H x W
    trained = AttnDeblurNet.from_pretrained("patent")  # the bundled weights
    ```
    """

    def __init__(
        self,
        filters=(32, 64, 128),
        blocks_per_stage=3,
        kernel_size=5,
        attention_reduction=4,
        upsampling="bilinear",
        global_residual=True,
        dtype=None,
        **kwargs,
    ):
        filters = tuple(filters) if isinstance(filters, (tuple, list)) else filters
        if not (
            isinstance(filters, tuple)
            and len(filters) == 3
            and all(is_integer(width) and width >= 1 for width in filters)
        ):
            raise ValueError(
                "`filters` must be a tuple of 3 positive integers (full-, half- "
                f"and quarter-resolution widths). Received: filters={filters!r}"
            )
        block_counts = _normalize_blocks_per_stage(blocks_per_stage)
        check_positive_int("kernel_size", kernel_size)
        if upsampling not in _UPSAMPLING_MODES:
            raise ValueError(
                f"`upsampling` must be one of {_UPSAMPLING_MODES}. "
                f"Received: upsampling={upsampling!r}"
            )
        width_1, width_2, width_3 = filters

        # === Layers ===
        def conv(width, name, strides=1, activation="relu", initializer="glorot_uniform"):
            return keras.layers.Conv2D(
                width,
                kernel_size,
                strides=strides,
                padding="same",
                activation=activation,
                kernel_initializer=initializer,
                dtype=dtype,
                name=name,
            )

        def attention_blocks(stage, width):
            count = block_counts[STAGES.index(stage)]
            return [
                SpatialAttentionBlock(
                    width,
                    kernel_size=kernel_size,
                    attention_reduction=attention_reduction,
                    return_attention=True,
                    dtype=dtype,
                    name=f"{stage}_attn{index}",
                )
                for index in range(1, count + 1)
            ]

        def upsample(width, name):
            if upsampling == "bilinear":
                return BilinearUpSampling2D(dtype=dtype, name=name)
            return keras.layers.Conv2DTranspose(
                width, 4, strides=2, padding="same", dtype=dtype, name=name
            )

        pad = PadToMultiple(PAD_MULTIPLE, dtype=dtype, name="pad")
        enc1_conv = conv(width_1, "enc1_conv")
        enc1_blocks = attention_blocks("enc1", width_1)
        enc2_conv = conv(width_2, "enc2_conv", strides=2)
        enc2_blocks = attention_blocks("enc2", width_2)
        enc3_conv = conv(width_3, "enc3_conv", strides=2)
        enc3_blocks = attention_blocks("enc3", width_3)
        dec3_blocks = attention_blocks("dec3", width_3)
        dec2_upsample = upsample(width_3, "dec2_upsample")
        dec2_conv = conv(width_2, "dec2_conv")
        dec2_concat = keras.layers.Concatenate(dtype=dtype, name="dec2_concat")
        dec2_blocks = attention_blocks("dec2", width_2)
        dec1_upsample = upsample(width_2, "dec1_upsample")
        dec1_conv = conv(width_1, "dec1_conv")
        dec1_concat = keras.layers.Concatenate(dtype=dtype, name="dec1_concat")
        dec1_blocks = attention_blocks("dec1", width_1)
        # With global residual learning, a zero-initialised conv 6 makes the
        # untrained network the identity: training starts from the blurry
        # input's PSNR instead of from noise.
        output_conv = conv(
            3,
            "output_conv",
            activation=None,
            initializer="zeros" if global_residual else "glorot_uniform",
        )
        # The last layers run in float32 so that mixed-precision models still
        # return float32 images to the loss and the metrics.
        residual_add = keras.layers.Add(dtype="float32", name="global_residual")
        crop = CropToReference(dtype="float32", name="crop")

        # === Functional graph ===
        def run_blocks(blocks, features):
            for block in blocks:
                features, _ = block(features)
            return features

        blurry = keras.Input(shape=(None, None, 3), name="blurry")
        padded = pad(blurry)
        skip_1 = run_blocks(enc1_blocks, enc1_conv(padded))
        skip_2 = run_blocks(enc2_blocks, enc2_conv(skip_1))
        bottleneck = run_blocks(enc3_blocks, enc3_conv(skip_2))
        bottleneck = run_blocks(dec3_blocks, bottleneck)
        decoded_2 = dec2_conv(dec2_upsample(bottleneck))
        decoded_2 = run_blocks(dec2_blocks, dec2_concat([skip_2, decoded_2]))
        decoded_1 = dec1_conv(dec1_upsample(decoded_2))
        decoded_1 = run_blocks(dec1_blocks, dec1_concat([skip_1, decoded_1]))
        restored = output_conv(decoded_1)
        if global_residual:
            restored = residual_add([padded, restored])
        restored = crop([restored, blurry])
        super().__init__(inputs=blurry, outputs=restored, **kwargs)
        if dtype is not None:
            # Functional models ignore `dtype`; the model's own policy matters
            # for `compile` (loss scaling under "mixed_float16") and config.
            self.dtype_policy = dtype

        # === Config ===
        self.filters = filters
        self.blocks_per_stage = blocks_per_stage
        self.kernel_size = kernel_size
        self.attention_reduction = attention_reduction
        self.upsampling = upsampling
        self.global_residual = global_residual

    # The functional graph runs the layers. The overrides below only check
    # the images first, so that bad input fails with a one-line message
    # instead of a silent cast or a shape error deep inside a convolution:
    # `__call__` for direct calls, `call` for JAX's stateless training path,
    # and the array inputs of `fit`/`evaluate`/`predict` before tracing.
    # `CheckedSteps` checks every batch of any source again inside the train
    # and test steps (tf.data, generators, `PyDataset`, `train_on_batch`).
    def __call__(self, *args, **kwargs):
        if args:
            validate_images(args[0])
        return super().__call__(*args, **kwargs)

    def call(self, inputs, training=None, mask=None, **kwargs):
        validate_images(inputs)
        return super().call(inputs, training=training, mask=mask, **kwargs)

    def fit(self, x=None, y=None, *args, **kwargs):
        validate_array_pair(x, y)
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        validate_array_pair(x, y)
        return super().evaluate(x, y, *args, **kwargs)

    def train_on_batch(self, x, y=None, *args, **kwargs):
        validate_array_pair(x, y)
        return super().train_on_batch(x, y, *args, **kwargs)

    def test_on_batch(self, x, y=None, *args, **kwargs):
        validate_array_pair(x, y)
        return super().test_on_batch(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        validate_array_pair(x, None)
        return super().predict(x, *args, **kwargs)

    @property
    def attention_block_names(self):
        """Names of every `SpatialAttentionBlock`, in graph order."""
        return [
            layer.name
            for layer in self.layers
            if isinstance(layer, SpatialAttentionBlock)
        ]

    def attention_model(self, block_names=None):
        """Returns a model that maps blurry images to attention maps.

        The returned `keras.Model` shares this model's weights and outputs a
        dict `{block_name: attention}`, one `(batch, h, w, 1)` map per
        block, at the block's resolution of the padded input (`h = ceil(H /
        4) * 4 / s` for a stage of stride `s`; crop to the image's extent to
        overlay it).

        Args:
            block_names: list of str. Names of the blocks to expose, e.g.
                `["enc1_attn1", "dec1_attn3"]`. Defaults to `None`, every
                block.
        """
        names = self.attention_block_names if block_names is None else list(block_names)
        known = set(self.attention_block_names)
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(
                f"Unknown attention block names {unknown}; this model has "
                f"{sorted(known)}. Received: block_names={block_names!r}"
            )
        outputs = {name: self.get_layer(name).output[1] for name in names}
        return keras.Model(self.input, outputs, name=f"{self.name}_attention")

    def multiply_adds_per_pixel(self):
        """Counts the multiply-adds the network spends per input pixel.

        Sums, over every convolution (including those inside the attention
        blocks), the kernel size times the number of output positions per
        input pixel: 1 at full resolution (`enc1`, `dec1`, output), 1/4 in
        the half-resolution stage, 1/16 in the quarter-resolution stage.
        Padding to a multiple of 4, activations, bilinear resizing and bias
        additions are not counted. Two FLOPs per multiply-add.
        """
        resolution = {name: 1 / stride**2 for name, stride in STAGE_STRIDES.items()}
        resolution["output"] = 1.0
        total = 0.0
        for layer in self.layers:
            stage = layer.name.split("_")[0]
            if stage not in resolution:
                continue
            for sublayer in [layer] + list(layer._flatten_layers(include_self=False)):
                if isinstance(sublayer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
                    kernel_size = math.prod(sublayer.kernel.shape)
                    if isinstance(sublayer, keras.layers.Conv2DTranspose):
                        # Each input position of a x2 transposed convolution
                        # scatters its kernel: count at the input resolution.
                        total += kernel_size * resolution[stage] / 4
                    else:
                        total += kernel_size * resolution[stage]
        return total

    # === What the network is (asked by inference, visualization and the card) ===
    @property
    def stages(self):
        """The stages in graph order: `(name, title, stride, blocks, filters)` per stage.

        `stride` is the factor the stage's feature maps are downsampled by;
        `blocks` its count of attention blocks, named `f"{name}_attn{i}"`.
        """
        widths = {1: self.filters[0], 2: self.filters[1], 4: self.filters[2]}
        return tuple(
            (name, STAGE_TITLES[name], STAGE_STRIDES[name], count, widths[STAGE_STRIDES[name]])
            for name, count in zip(STAGES, block_counts(self.blocks_per_stage))
        )

    @property
    def pad_multiple(self):
        """The network reflect-pads images to a multiple of this inside its graph (4)."""
        return PAD_MULTIPLE

    def activation_bytes_per_pixel(self):
        """Estimated peak memory of one prediction, in bytes per input pixel.

        `4 x (6 x widest + 16)`, where `widest` is the channel count of the
        widest full-resolution feature map, the `dec1` concatenation of
        `2 * filters[0]` channels: 1,600 bytes for the SPEC network. 4 bytes
        per element also under mixed precision, whose bfloat16 activations
        measure no smaller on JAX's CPU backend. Calibrated by
        `benchmarks/memory.py` (see `keras_attn_deblur.inference`).
        """
        return 4 * (6 * 2 * self.filters[0] + 16)

    def receptive_field(self):
        """The receptive field: `(size, radius)` in input pixels along one axis.

        `size`: the most input pixels that one output pixel depends on.
        `radius`: the farthest an input pixel it depends on lies from it, on
        either side. Stride-2 convolutions with "same" padding and
        half-pixel bilinear upsampling are not centred, so `radius` can
        exceed `(size - 1) // 2`. Tiles give the whole-image result exactly
        (up to float rounding) at pixels more than `tile_overlap >= radius`
        pixels from every seam.

        Computed by following, along one axis, the interval of input pixels
        that each position of each layer depends on (convolutions with
        TensorFlow/XLA "same" padding, the x2 bilinear upsampling with
        half-pixel centres, concatenations and residual additions as
        unions), for positions far from the image border. The SPEC network
        (`AttnDeblurNet()`) gives `(377, 190)`.

        Raises:
            ValueError: the model upsamples with transposed convolutions.
        """
        if self.upsampling != "bilinear":
            raise ValueError(
                "receptive_field() supports bilinear upsampling only. "
                f"Received: upsampling={self.upsampling!r}"
            )
        blocks = block_counts(self.blocks_per_stage)
        kernel = self.kernel_size
        # Long enough that the middle half is unaffected by the image border.
        length = PAD_MULTIPLE * 64 * (1 + sum(blocks)) * kernel

        def conv(field, stride=1):
            size = len(field[0])
            pad_before = max(kernel - stride, 0) // 2  # "same" padding of an even size
            first = np.arange(0, size, stride) - pad_before
            last = first + kernel - 1
            first, last = np.clip(first, 0, size - 1), np.clip(last, 0, size - 1)
            return field[0][first], field[1][last]

        def convs(field, count):
            for _ in range(count):
                field = conv(field)
            return field

        def block(field, count):
            for _ in range(count):
                features = convs(field, 2)  # the 1x1 convolutions add nothing
                field = union(features, field)
            return field

        def upsample(field):
            size = len(field[0])
            source = (np.arange(2 * size) + 0.5) / 2 - 0.5
            first = np.clip(np.floor(source).astype(int), 0, size - 1)
            last = np.clip(first + 1, 0, size - 1)
            return field[0][first], field[1][last]

        def union(one, other):
            return np.minimum(one[0], other[0]), np.maximum(one[1], other[1])

        pixels = np.arange(length)
        image = (pixels, pixels)
        skip_1 = block(conv(image), blocks[0])
        skip_2 = block(conv(skip_1, stride=2), blocks[1])
        bottom = block(block(conv(skip_2, stride=2), blocks[2]), blocks[3])
        decoded_2 = block(union(skip_2, conv(upsample(bottom))), blocks[4])
        decoded_1 = block(union(skip_1, conv(upsample(decoded_2))), blocks[5])
        first, last = union(image, conv(decoded_1))
        middle = slice(length // 4, 3 * length // 4)
        size = int(np.max(last[middle] - first[middle]) + 1)
        reach = max(np.max(pixels[middle] - first[middle]), np.max(last[middle] - pixels[middle]))
        radius = int(reach)
        return size, radius

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
            "filters": self.filters,
            "blocks_per_stage": self.blocks_per_stage,
            "kernel_size": self.kernel_size,
            "attention_reduction": self.attention_reduction,
            "upsampling": self.upsampling,
            "global_residual": self.global_residual,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "dtype" in config and isinstance(config["dtype"], dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)
