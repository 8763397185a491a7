"""Image files, both directions: decoding to samples or float RGB, encoding back.

- `decode`: `load_image` (float32 RGB in [0, 1]), `load_image_samples`
  (the file's own bit depth, channels and metadata), `image_size`,
  `ImageReadError`.
- `encode`: `write_image`, keeping format, bit depth and metadata.
- `png16`: the 16-bit colour PNG reader and writer Pillow lacks.
- `convert`: any image to float RGB in [0, 1], and float back to 8/16 bits.

Nothing here imports TensorFlow or Keras.
"""

from keras_attn_deblur.io.convert import from_float
from keras_attn_deblur.io.convert import to_float_rgb
from keras_attn_deblur.io.decode import ImageReadError
from keras_attn_deblur.io.decode import image_samples
from keras_attn_deblur.io.decode import image_size
from keras_attn_deblur.io.decode import load_image
from keras_attn_deblur.io.decode import load_image_samples
from keras_attn_deblur.io.encode import write_image

__all__ = [
    "ImageReadError",
    "from_float",
    "image_samples",
    "image_size",
    "load_image",
    "load_image_samples",
    "to_float_rgb",
    "write_image",
]
