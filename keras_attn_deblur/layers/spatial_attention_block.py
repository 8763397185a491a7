"""The residual block with a spatial attention map (SPEC "attention block")."""

import keras
from keras import ops

from keras_attn_deblur._utils.validation import check_positive_int


@keras.saving.register_keras_serializable(package="keras_attn_deblur")
class SpatialAttentionBlock(keras.layers.Layer):
    """Residual block whose features are weighted by a per-pixel attention map.

    The block computes, for an input `x` with `C_in` channels:

    ```
    features  = conv_b(relu(conv_a(x)))                  # two k x k convolutions
    attention = sigmoid(conv1x1_2(relu(conv1x1_1(features))))   # H x W x 1
    output    = shortcut(x) + attention * features
    ```

    `attention` holds one weight in (0, 1) per spatial position, so regions
    with different blur are processed differently. `shortcut` is the identity
    when `C_in == filters` and a 1x1 convolution otherwise.

    This is the attention block of the spatial-attention deblurring network
    (South China University of Technology, 2021, "an image motion-deblurring
    method based on an attention network"), with the internal details fixed
    as in the project's SPEC, open point 1.

    Args:
        filters: int. Number of output channels of both k x k convolutions
            and of the block.
        kernel_size: int. Size of the two square convolutions. Defaults to
            `5`.
        attention_reduction: int. Ratio between `filters` and the width of
            the first 1x1 attention convolution (width
            `max(1, filters // attention_reduction)`). Defaults to `4`.
        return_attention: bool. If `True`, the layer returns the tuple
            `(output, attention)`, where `attention` has shape
            `(batch, height, width, 1)`. Defaults to `False`.
        kernel_initializer: str or initializer. Initializer of every
            convolution kernel. Defaults to `"glorot_uniform"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    ```python
    import numpy as np
    from keras_attn_deblur import SpatialAttentionBlock

    block = SpatialAttentionBlock(filters=32, return_attention=True)
    output, attention = block(np.random.rand(1, 64, 64, 16).astype("float32"))
    output.shape     # (1, 64, 64, 32)
    attention.shape  # (1, 64, 64, 1)
    ```
    """

    def __init__(
        self,
        filters,
        kernel_size=5,
        attention_reduction=4,
        return_attention=False,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        for arg_name, value in (
            ("filters", filters),
            ("kernel_size", kernel_size),
            ("attention_reduction", attention_reduction),
        ):
            check_positive_int(arg_name, value)
        self.filters = filters
        self.kernel_size = kernel_size
        self.attention_reduction = attention_reduction
        self.return_attention = bool(return_attention)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.attention_width = max(1, filters // attention_reduction)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def _conv(self, filters, kernel_size, name):
        return keras.layers.Conv2D(
            filters,
            kernel_size,
            padding="same",
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, input_shape):
        input_channels = input_shape[-1]
        if input_channels is None:
            raise ValueError(
                "The channel dimension of the input of SpatialAttentionBlock "
                f"must be known. Received: input_shape={input_shape}"
            )
        feature_shape = tuple(input_shape[:-1]) + (self.filters,)

        self.conv_a = self._conv(self.filters, self.kernel_size, "conv_a")
        self.conv_a.build(input_shape)
        self.conv_b = self._conv(self.filters, self.kernel_size, "conv_b")
        self.conv_b.build(feature_shape)
        self.attention_conv_1 = self._conv(self.attention_width, 1, "attention_conv_1")
        self.attention_conv_1.build(feature_shape)
        self.attention_conv_2 = self._conv(1, 1, "attention_conv_2")
        self.attention_conv_2.build(
            tuple(input_shape[:-1]) + (self.attention_width,)
        )
        if input_channels != self.filters:
            self.shortcut = self._conv(self.filters, 1, "shortcut")
            self.shortcut.build(input_shape)
        else:
            self.shortcut = None
        self.built = True

    def call(self, inputs):
        features = self.conv_b(ops.relu(self.conv_a(inputs)))
        attention = ops.sigmoid(
            self.attention_conv_2(ops.relu(self.attention_conv_1(features)))
        )
        residual = inputs if self.shortcut is None else self.shortcut(inputs)
        outputs = residual + attention * features
        if self.return_attention:
            return outputs, attention
        return outputs

    def compute_output_shape(self, input_shape):
        output_shape = tuple(input_shape[:-1]) + (self.filters,)
        if self.return_attention:
            return output_shape, tuple(input_shape[:-1]) + (1,)
        return output_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "attention_reduction": self.attention_reduction,
                "return_attention": self.return_attention,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
