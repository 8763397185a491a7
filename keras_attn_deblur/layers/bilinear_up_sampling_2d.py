"""Bilinear x2 upsampling written with `keras.ops`, for run-time image sizes."""

import keras
from keras import ops


def _upsample_axis(inputs, axis):
    """Doubles `axis` of a 4-D tensor by half-pixel-centred linear interpolation.

    Output `2k` is `0.75 x[k] + 0.25 x[k - 1]` and output `2k + 1` is
    `0.75 x[k] + 0.25 x[k + 1]`, with the edge sample repeated outside the
    tensor: exactly `tf.image.resize(..., "bilinear")` and
    `jax.image.resize(..., "bilinear")` for a factor of 2.
    """
    size = ops.shape(inputs)[axis]
    first = ops.take(inputs, ops.convert_to_tensor([0]), axis=axis)
    last = ops.take(inputs, ops.reshape(size - 1, (1,)), axis=axis)
    body_before = ops.take(inputs, ops.arange(size - 1), axis=axis)
    body_after = ops.take(inputs, ops.arange(1, size), axis=axis)
    previous = ops.concatenate([first, body_before], axis=axis)
    following = ops.concatenate([body_after, last], axis=axis)
    even = 0.75 * inputs + 0.25 * previous
    odd = 0.75 * inputs + 0.25 * following
    interleaved = ops.stack([even, odd], axis=axis + 1)
    shape = ops.shape(inputs)
    new_shape = [shape[0], shape[1], shape[2], shape[3]]
    new_shape[axis] = size * 2
    return ops.reshape(interleaved, new_shape)


@keras.saving.register_keras_serializable(package="keras_attn_deblur")
class BilinearUpSampling2D(keras.layers.Layer):
    """Doubles height and width by bilinear interpolation (half-pixel centres).

    Gives the same values as `tf.image.resize(images, (2 * H, 2 * W),
    "bilinear")`, but is built from `keras.ops` slicing and reshapes only, so
    it works when H and W are known only at run time on every backend and
    exports cleanly to SavedModel, ONNX and LiteRT. (Keras'
    `UpSampling2D(interpolation="bilinear")` needs static sizes in a
    TensorFlow graph.)

    Args:
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Example:
    ```python
    import numpy as np
    from keras_attn_deblur.layers import BilinearUpSampling2D

    BilinearUpSampling2D()(np.zeros((1, 5, 7, 8))).shape  # (1, 10, 14, 8)
    ```
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs):
        return _upsample_axis(_upsample_axis(inputs, 1), 2)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (
            batch,
            None if height is None else 2 * height,
            None if width is None else 2 * width,
            channels,
        )
