"""Pads height and width up to a multiple, by reflection, inside the graph."""

import keras
from keras import ops

from keras_attn_deblur._utils.validation import check_positive_int


def _reflect_indices(size, padded_size):
    """Row indices that extend `range(size)` to `padded_size` by reflection.

    Index `i >= size` maps to `2 * (size - 1) - i` (reflection without
    repeating the edge, like `numpy.pad(mode="reflect")`), clipped at 0 so
    that images only 1 or 2 pixels wide still pad (by repeating the edge).
    """
    positions = ops.arange(padded_size, dtype="int32")
    reflected = ops.where(positions < size, positions, 2 * (size - 1) - positions)
    return ops.maximum(reflected, 0)


@keras.saving.register_keras_serializable(package="keras_attn_deblur")
class PadToMultiple(keras.layers.Layer):
    """Reflect-pads the bottom and right edges so that H and W divide evenly.

    An encoder with two stride-2 stages needs height and width divisible by
    4. This layer pads any `(batch, height, width, channels)` input up to the
    next multiple of `multiple` by reflection; `CropToReference` removes the
    padding again at the end of the network. The padding is a gather with
    computed indices, so it works for sizes only known at run time and for
    images narrower than the padding (down to 1 pixel).

    Args:
        multiple: int. Height and width are padded to a multiple of this.
            Defaults to `4`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    ```python
    import numpy as np
    from keras_attn_deblur.layers import PadToMultiple

    PadToMultiple(4)(np.zeros((1, 5, 7, 3))).shape  # (1, 8, 8, 3)
    ```
    """

    def __init__(self, multiple=4, **kwargs):
        super().__init__(**kwargs)
        self.multiple = check_positive_int("multiple", multiple)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs):
        if self.multiple == 1:
            return inputs
        shape = ops.shape(inputs)
        height, width = shape[1], shape[2]
        padded_height = (height + self.multiple - 1) // self.multiple * self.multiple
        padded_width = (width + self.multiple - 1) // self.multiple * self.multiple
        padded = ops.take(inputs, _reflect_indices(height, padded_height), axis=1)
        return ops.take(padded, _reflect_indices(width, padded_width), axis=2)

    def compute_output_shape(self, input_shape):
        def padded(size):
            if size is None:
                return None
            return -(-size // self.multiple) * self.multiple

        batch, height, width, channels = input_shape
        return (batch, padded(height), padded(width), channels)

    def get_config(self):
        config = super().get_config()
        config.update({"multiple": self.multiple})
        return config
