"""Crops a tensor back to the height and width of a reference tensor."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_attn_deblur")
class CropToReference(keras.layers.Layer):
    """Crops `inputs` to the top-left `height x width` of `reference`.

    The counterpart of `PadToMultiple`: called as `layer([inputs,
    reference])`, it returns `inputs[:, :H, :W, :]` where `H, W` are the
    (possibly run-time) height and width of `reference`.

    It takes the base layer's keyword arguments, such as `name` and `dtype`.

    Example:
    ```python
    import numpy as np
    from keras_attn_deblur.layers import CropToReference

    padded = np.zeros((1, 8, 8, 3))
    original = np.zeros((1, 5, 7, 3))
    CropToReference()([padded, original]).shape  # (1, 5, 7, 3)
    ```
    """

    def call(self, inputs):
        tensor, reference = inputs
        shape = ops.shape(reference)
        return ops.slice(
            tensor,
            (0, 0, 0, 0),
            (ops.shape(tensor)[0], shape[1], shape[2], ops.shape(tensor)[3]),
        )

    def compute_output_shape(self, input_shape):
        tensor_shape, reference_shape = input_shape
        return (tensor_shape[0], reference_shape[1], reference_shape[2], tensor_shape[3])
