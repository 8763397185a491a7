"""AttnDeblurNet: the encoder-decoder of SPEC, as a functional Keras model."""

import copy
import math

import keras
import numpy as np
from keras import ops

from keras_attn_deblur.layers.bilinear_up_sampling_2d import BilinearUpSampling2D
from keras_attn_deblur.layers.crop_to_reference import CropToReference
from keras_attn_deblur.layers.pad_to_multiple import PadToMultiple
from keras_attn_deblur.layers.spatial_attention_block import SpatialAttentionBlock

# Stage names, in graph order. Encoder stages 1-3, then decoder stages 3-1.
# A block is named f"{stage}_attn{index}", starting at 1.
STAGES = ("enc1", "enc2", "enc3", "dec3", "dec2", "dec1")

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

_UPSAMPLING_MODES = ("bilinear", "transposed")
_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


def _normalize_blocks_per_stage(blocks_per_stage):
    if isinstance(blocks_per_stage, int) and not isinstance(blocks_per_stage, bool):
        counts = (blocks_per_stage,) * len(STAGES)
    elif isinstance(blocks_per_stage, (tuple, list)) and len(blocks_per_stage) == len(
        STAGES
    ):
        counts = tuple(blocks_per_stage)
    else:
        counts = None
    if counts is None or not all(
        isinstance(count, int) and not isinstance(count, bool) and count >= 1
        for count in counts
    ):
        raise ValueError(
            "`blocks_per_stage` must be a positive integer or a tuple of "
            f"{len(STAGES)} positive integers (one per stage {STAGES}). "
            f"Received: blocks_per_stage={blocks_per_stage!r}"
        )
    return counts


@keras.saving.register_keras_serializable(package="keras_attn_deblur")
class AttnDeblurNet(keras.Model):
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
            and all(isinstance(f, int) and not isinstance(f, bool) and f >= 1 for f in filters)
        ):
            raise ValueError(
                "`filters` must be a tuple of 3 positive integers (full-, half- "
                f"and quarter-resolution widths). Received: filters={filters!r}"
            )
        block_counts = _normalize_blocks_per_stage(blocks_per_stage)
        if not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 1:
            raise ValueError(
                f"`kernel_size` must be a positive integer. Received: kernel_size={kernel_size!r}"
            )
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

        pad = PadToMultiple(4, dtype=dtype, name="pad")
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
    def __call__(self, *args, **kwargs):
        if args:
            _validate_images(args[0])
        return super().__call__(*args, **kwargs)

    def call(self, inputs, training=None, mask=None, **kwargs):
        _validate_images(inputs)
        return super().call(inputs, training=training, mask=mask, **kwargs)

    def fit(self, x=None, y=None, *args, **kwargs):
        _validate_array_pair(x, y)
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        _validate_array_pair(x, y)
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        _validate_array_pair(x, None)
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
        resolution = {"enc1": 1.0, "dec1": 1.0, "enc2": 0.25, "dec2": 0.25,
                      "enc3": 1 / 16, "dec3": 1 / 16, "output": 1.0}
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

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """Builds a model from a named configuration in `PRESETS`.

        Args:
            preset: str. One of `"patent"` (the SPEC network) or `"lite"`.
            **kwargs: Constructor arguments that override the preset's.
        """
        if preset not in PRESETS:
            raise ValueError(
                f"Unknown preset. Available presets: {sorted(PRESETS)}. "
                f"Received: preset={preset!r}"
            )
        config = copy.deepcopy(PRESETS[preset])
        config.update(kwargs)
        return cls(**config)

    # === Sharing (keras_attn_deblur.hub, imported on first use) ===
    @classmethod
    def from_pretrained(
        cls,
        name_or_path,
        *,
        revision=None,
        cache_dir=None,
        token=None,
        endpoint=None,
        local_files_only=False,
        force_download=False,
    ):
        """Loads trained weights: a folder, a bundled name or a Hub repo.

        `name_or_path` is a folder written by `save_pretrained`, a bundled
        name, or a Hub repo id (`"org/name"` or `"hf://org/name"`). The
        weights' SHA-256 and the config's classes are checked before the
        model is built. See `keras_attn_deblur.hub.from_pretrained` for
        every argument.

        Example:
        ```python
        model = AttnDeblurNet.from_pretrained("org/attn-deblur")
        model = AttnDeblurNet.from_pretrained("out/attn-deblur")  # a folder
        ```
        """
        from keras_attn_deblur import hub

        return hub.from_pretrained(
            cls,
            name_or_path,
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            endpoint=endpoint,
            local_files_only=local_files_only,
            force_download=force_download,
        )

    def save_pretrained(self, directory, *, metrics=None, overwrite_card=False, **card_kwargs):
        """Writes a folder: config.json, metadata.json, model.weights.h5, README.md.

        `metrics` (the results of an evaluation run) go into the model card
        and metadata.json; a README.md not generated by this package is kept
        unless `overwrite_card=True`. `card_kwargs`: `repo_id`,
        `model_name`, `license`, `tags`, `datasets`, `base_model`,
        `training`, and `weights_dtype` (`"float16"` halves the weights
        file). See `keras_attn_deblur.hub.save_pretrained`.
        """
        from keras_attn_deblur import hub

        return hub.save_pretrained(
            self, directory, metrics=metrics, overwrite_card=overwrite_card, **card_kwargs
        )

    def push_to_hub(
        self,
        repo_id,
        *,
        private=False,
        token=None,
        revision=None,
        commit_message=None,
        create_pr=False,
        endpoint=None,
        **save_kwargs,
    ):
        """Publishes the model to a Hub repo in one commit.

        Creates the repo if needed, then uploads the `save_pretrained`
        folder with one `upload_folder` commit. `save_kwargs` are those of
        `save_pretrained`. See `keras_attn_deblur.hub.push_to_hub`.
        """
        from keras_attn_deblur import hub

        return hub.push_to_hub(
            self,
            repo_id,
            private=private,
            token=token,
            revision=revision,
            commit_message=commit_message,
            create_pr=create_pr,
            endpoint=endpoint,
            **save_kwargs,
        )

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


def _validate_array_pair(images, targets):
    """Checks the inputs of fit/evaluate/predict: arrays fully, tf.data specs by shape.

    NumPy arrays are also checked for values (NaN or infinite pixels, a 0-255
    scale), in chunks, which costs one pass over the data; tensors and
    generators are checked by shape and dtype only.
    """
    spec = getattr(images, "element_spec", None)
    if spec is not None:
        _validate_dataset_spec(spec)
        return
    if not hasattr(images, "shape") or not hasattr(images, "dtype"):
        return
    _validate_images(images)
    if images.shape[0] == 0:
        raise ValueError(
            "AttnDeblurNet received an empty batch (0 images). Received: "
            f"shape={tuple(images.shape)}"
        )
    _validate_values(images, "blurry images (x)")
    if targets is None or not hasattr(targets, "shape"):
        return
    if tuple(targets.shape) != tuple(images.shape):
        raise ValueError(
            "Blurry and sharp images must have the same shape. Received: "
            f"x.shape={tuple(images.shape)}, y.shape={tuple(targets.shape)}"
        )
    dtype = keras.backend.standardize_dtype(targets.dtype)
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(
            "The sharp targets (y) must be float images in [0, 1]; divide integer images "
            f"by 255 (8-bit) or 65535 (16-bit). Received: y.dtype={dtype}"
        )
    _validate_values(targets, "sharp targets (y)")


# Values outside this range are not [0, 1] images with a little noise: a 0-255 scale.
_VALUE_RANGE = (-0.5, 1.5)


def _validate_values(array, what, chunk=64):
    """NaN/inf or a 0-255 scale in a NumPy array give a one-line ValueError."""
    if not isinstance(array, np.ndarray):
        return
    low, high = np.inf, -np.inf
    for start in range(0, array.shape[0], chunk):
        part = array[start : start + chunk]
        bad = int(np.size(part) - np.count_nonzero(np.isfinite(part)))
        if bad:
            raise ValueError(
                f"The {what} hold NaN or infinite values (first in image {start} or after); "
                "AttnDeblurNet needs finite [0, 1] pixels: fix or drop those images "
                "(numpy.nan_to_num)."
            )
        low, high = min(low, float(part.min())), max(high, float(part.max()))
    if low < _VALUE_RANGE[0] or high > _VALUE_RANGE[1]:
        raise ValueError(
            f"The {what} range from {low:g} to {high:g}, but AttnDeblurNet expects [0, 1]: "
            "divide 8-bit values by 255 (16-bit by 65535)."
        )


def _validate_dataset_spec(spec):
    """A tf.data dataset of (blurry, sharp): shapes that must match, float dtypes."""
    if not isinstance(spec, tuple) or len(spec) < 2:
        return
    blurry, sharp = spec[0], spec[1]
    if not (hasattr(blurry, "shape") and hasattr(sharp, "shape")):
        return
    for name, item in (("blurry", blurry), ("sharp", sharp)):
        dtype = keras.backend.standardize_dtype(item.dtype)
        if dtype not in _FLOAT_DTYPES:
            raise ValueError(
                f"The dataset yields {name} images of dtype {dtype}; AttnDeblurNet needs "
                "float images in [0, 1]: map them with tf.cast(x, 'float32') / 255."
            )
    try:
        blurry_shape, sharp_shape = blurry.shape.as_list(), sharp.shape.as_list()
    except (AttributeError, ValueError):  # unknown rank
        return
    mismatch = len(blurry_shape) != len(sharp_shape) or any(
        a is not None and b is not None and a != b for a, b in zip(blurry_shape, sharp_shape)
    )
    if mismatch:
        raise ValueError(
            "The dataset yields blurry and sharp images of different shapes: "
            f"{tuple(blurry_shape)} and {tuple(sharp_shape)}; crop or resize the pairs "
            "together (keras_attn_deblur.data.make_dataset does)."
        )


def _validate_images(images):
    """Raises `ValueError` unless `images` is a float (batch, H, W, 3) array.

    Dimensions unknown at trace time (None) are not checked.
    """
    if isinstance(images, (list, tuple, dict)):
        raise ValueError(
            "AttnDeblurNet takes a single image batch of shape (batch, height, "
            f"width, 3). Received: a {type(images).__name__}"
        )
    try:
        shape = tuple(images.shape)
    except (TypeError, ValueError):  # a TensorFlow tensor of unknown rank
        shape = None
    dtype = keras.backend.standardize_dtype(images.dtype)
    if shape is not None and (len(shape) != 4 or shape[-1] not in (3, None)):
        raise ValueError(
            "AttnDeblurNet expects RGB images of shape (batch, height, width, 3); "
            f"add a batch axis or convert grayscale/RGBA to RGB. Received: shape={shape}"
        )
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(
            "AttnDeblurNet expects float images in [0, 1]; divide integer images "
            f"by 255 (8-bit) or 65535 (16-bit). Received: dtype={dtype}"
        )
    if shape is not None and any(size == 0 for size in shape[1:3]):
        raise ValueError(
            "AttnDeblurNet needs images at least 1 pixel high and wide. "
            f"Received: shape={shape}"
        )
