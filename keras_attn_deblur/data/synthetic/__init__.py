"""Synthetic training pairs: motion blur of sharp photos, and frame averaging.

Two ways to make (blurry, sharp) training pairs when only sharp images or a
high-frame-rate video are at hand, each on the host (NumPy, seeded) and on
the accelerator (`PairSynthesizer`, `keras.ops`):

- `kernels.py`: motion-blur kernels (`camera_shake_kernel`,
  `linear_motion_kernel`, `kernel_bank`).
- `nonuniform.py`: blurring with them (`blur_image`) and blur that varies
  across the image (`nonuniform_blur`).
- `camera.py`: the camera pipeline around the blur (`apply_crf`,
  `inverse_crf`, `add_poisson_noise`, `add_gaussian_noise`, `jpeg_compress`).
- `frames.py`: frame averaging, the way GoPro was made (`average_frames`,
  `frame_averaged_pairs`).
- `pipeline.py`: `SyntheticMotionBlur`, which chains the above, and the patch
  pairs the input pipelines cut from photos.
- `pair_synthesizer.py`: `PairSynthesizer`, the same synthesis as a Keras
  layer inside the training step, made of the batched `keras.ops` twins in
  `accelerator_ops.py`.

Every random NumPy function takes a `numpy.random.Generator` or an integer
seed, so the same seed always gives the same result. Images are float arrays
in `[0, 1]`, shape `(H, W, C)` or `(H, W)`; results are float32.

```python
import numpy as np
from keras_attn_deblur import data

sharp = np.random.default_rng(0).uniform(size=(128, 128, 3))
blurry = data.SyntheticMotionBlur(kernel_size=(9, 25))(sharp, rng=1)
```
"""

from keras_attn_deblur.data.synthetic.camera import add_gaussian_noise
from keras_attn_deblur.data.synthetic.camera import add_poisson_noise
from keras_attn_deblur.data.synthetic.camera import apply_crf
from keras_attn_deblur.data.synthetic.camera import inverse_crf
from keras_attn_deblur.data.synthetic.camera import jpeg_compress
from keras_attn_deblur.data.synthetic.frames import average_frames
from keras_attn_deblur.data.synthetic.frames import frame_averaged_pairs
from keras_attn_deblur.data.synthetic.frames import odd_frame_counts
from keras_attn_deblur.data.synthetic.kernels import camera_shake_kernel
from keras_attn_deblur.data.synthetic.kernels import kernel_bank
from keras_attn_deblur.data.synthetic.kernels import linear_motion_kernel
from keras_attn_deblur.data.synthetic.nonuniform import blur_image
from keras_attn_deblur.data.synthetic.nonuniform import nonuniform_blur
from keras_attn_deblur.data.synthetic.pair_synthesizer import PairSynthesizer
from keras_attn_deblur.data.synthetic.pipeline import SyntheticMotionBlur

__all__ = [
    "PairSynthesizer",
    "SyntheticMotionBlur",
    "add_gaussian_noise",
    "add_poisson_noise",
    "apply_crf",
    "average_frames",
    "blur_image",
    "camera_shake_kernel",
    "frame_averaged_pairs",
    "inverse_crf",
    "jpeg_compress",
    "kernel_bank",
    "linear_motion_kernel",
    "nonuniform_blur",
    "odd_frame_counts",
]
