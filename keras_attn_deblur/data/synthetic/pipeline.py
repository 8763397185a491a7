"""From sharp photos to (blurry, sharp) training pairs on the host (NumPy).

- `SyntheticMotionBlur`: the configurable blur, one call per image: a kernel
  size, linear light or not, uniform or non-uniform blur, shot and read
  noise, JPEG, each drawn from a seeded generator.
- `synthetic_example`: one aligned patch pair cut from a photo, the blur
  seeing `margin` pixels of real context around the patch.
- `default_margin`, `check_blur_and_margin`: the blur and margin options as
  `data.SyntheticBlurDataset` and `data.make_tf_synthetic_dataset` take them.
- `list_photos`: the sharp photos of a folder (searched recursively) or list.

Both input pipelines (`py_dataset.py`, `tf_pipeline.py`) build their
synthetic batches from these.

References: Boracchi and Foi (2012) for the camera-shake trajectories;
DeblurGAN (Kupyn et al., 2018) for their use as training data.
"""

import os

import numpy as np

from keras_attn_deblur._utils.paths import IMAGE_EXTENSIONS
from keras_attn_deblur._utils.paths import is_image_name
from keras_attn_deblur._utils.validation import check_non_negative_int
from keras_attn_deblur._utils.validation import check_probability
from keras_attn_deblur._utils.validation import is_integer
from keras_attn_deblur.data.augment import center_crop_pair
from keras_attn_deblur.data.augment import random_crop_pair
from keras_attn_deblur.data.augment import random_flip_pair
from keras_attn_deblur.data.augment import random_rot90_pair
from keras_attn_deblur.data.synthetic._checks import as_generator
from keras_attn_deblur.data.synthetic._checks import as_image
from keras_attn_deblur.data.synthetic._checks import check_number
from keras_attn_deblur.data.synthetic._checks import check_range
from keras_attn_deblur.data.synthetic.camera import add_gaussian_noise
from keras_attn_deblur.data.synthetic.camera import add_poisson_noise
from keras_attn_deblur.data.synthetic.camera import apply_crf
from keras_attn_deblur.data.synthetic.camera import inverse_crf
from keras_attn_deblur.data.synthetic.camera import jpeg_compress
from keras_attn_deblur.data.synthetic.kernels import camera_shake_kernel
from keras_attn_deblur.data.synthetic.nonuniform import blur_image
from keras_attn_deblur.data.synthetic.nonuniform import nonuniform_blur

# Context pixels around a patch when the blur does not say its kernel size.
DEFAULT_MARGIN = 32


# --------------------------------------------------------------------------
# The configurable blur
# --------------------------------------------------------------------------


class SyntheticMotionBlur:
    """Turns a sharp image into a realistically blurred one.

    One call draws, from `rng`:

    1. a kernel size in `kernel_size` (odd);
    2. whether to blur in linear light (`linear_light_probability`): the image
       is linearised with `inverse_crf`, blurred, and gamma-encoded again, as
       light really adds up on the sensor;
    3. the blur: with probability `nonuniform_probability` a spatially varying
       one (`nonuniform_blur`: an object moving over a shaking background with
       probability `object_probability`, otherwise several camera-shake
       kernels over smooth masks), else one camera-shake kernel
       (`camera_shake_kernel`) for the whole image;
    4. shot noise (`add_poisson_noise`, probability `poisson_probability`, a
       photon count in `photons`) and Gaussian noise of a standard deviation in
       `noise_sigma`, then clipping to `[0, 1]`;
    5. JPEG re-compression (`jpeg_compress`, probability `jpeg_probability`,
       a quality in `jpeg_quality`).

    Ranges are `(low, high)` tuples drawn uniformly; a single number fixes
    the value. The same seed always gives the same blurry image.

    Args:
        kernel_size: int or `(low, high)` ints. Blur kernel size in pixels;
            even draws are rounded up to odd. Defaults to `(11, 41)`.
        nonuniform_probability: float in `[0, 1]`. Probability of a spatially
            varying blur. Defaults to `0.5`.
        object_probability: float in `[0, 1]`. Given a spatially varying
            blur, the probability that it is a moving object rather than
            smoothly varying camera shake. Defaults to `0.5`.
        num_kernels: int or `(low, high)` ints. Kernels blended in the smooth
            non-uniform mode. Defaults to `(2, 4)`.
        linear_light_probability: float in `[0, 1]`. Probability of blurring
            in linear light. Defaults to `0.5`.
        gamma: float. Gamma of the camera response. Defaults to `2.2`.
        noise_sigma: float or `(low, high)` floats. Standard deviation of the
            Gaussian noise, in `[0, 1]` units. Defaults to `(0.0, 0.02)`.
        poisson_probability: float in `[0, 1]`. Probability of shot noise.
            Defaults to `0.3`.
        photons: float or `(low, high)` floats. Photon count at full scale
            for the shot noise. Defaults to `(300.0, 3000.0)`.
        jpeg_probability: float in `[0, 1]`. Probability of JPEG
            re-compression. Defaults to `0.3`.
        jpeg_quality: int or `(low, high)` ints in `[1, 100]`. Defaults to
            `(60, 95)`.

    Example:

    ```python
    import numpy as np
    from keras_attn_deblur.data import SyntheticMotionBlur

    make_blurry = SyntheticMotionBlur(kernel_size=(9, 25), jpeg_probability=0.0)
    sharp = np.random.default_rng(0).uniform(size=(256, 256, 3)).astype("float32")
    blurry = make_blurry(sharp, rng=np.random.default_rng(1))
    ```

    References: Boracchi and Foi (2012) for the camera-shake trajectories;
    DeblurGAN (Kupyn et al., 2018) for their use as training data.
    """

    def __init__(
        self,
        kernel_size=(11, 41),
        nonuniform_probability=0.5,
        object_probability=0.5,
        num_kernels=(2, 4),
        linear_light_probability=0.5,
        gamma=2.2,
        noise_sigma=(0.0, 0.02),
        poisson_probability=0.3,
        photons=(300.0, 3000.0),
        jpeg_probability=0.3,
        jpeg_quality=(60, 95),
    ):
        self.kernel_size = check_range(
            "kernel_size", kernel_size, minimum=3, integer=True
        )
        self.nonuniform_probability = check_probability(
            "nonuniform_probability", nonuniform_probability
        )
        self.object_probability = check_probability(
            "object_probability", object_probability
        )
        self.num_kernels = check_range(
            "num_kernels", num_kernels, minimum=1, integer=True
        )
        self.linear_light_probability = check_probability(
            "linear_light_probability", linear_light_probability
        )
        check_number("gamma", gamma, minimum=0.0, inclusive=False)
        self.gamma = float(gamma)
        self.noise_sigma = check_range("noise_sigma", noise_sigma, minimum=0.0)
        self.poisson_probability = check_probability(
            "poisson_probability", poisson_probability
        )
        self.photons = check_range("photons", photons, minimum=0.0)
        if self.photons[0] <= 0.0:
            raise ValueError(f"`photons` must be positive. Received: photons={photons}")
        self.jpeg_probability = check_probability("jpeg_probability", jpeg_probability)
        self.jpeg_quality = check_range(
            "jpeg_quality", jpeg_quality, minimum=1, maximum=100, integer=True
        )

    def __call__(self, sharp, rng=None):
        """Blurs `sharp`, a float `(H, W, C)` or `(H, W)` image in `[0, 1]`.

        Args:
            sharp: float array in `[0, 1]`.
            rng: `numpy.random.Generator`, int seed or `None`.

        Returns:
            The float32 blurry image, the same shape, clipped to `[0, 1]`.
        """
        sharp = as_image(sharp)
        rng = as_generator(rng)
        size = int(rng.integers(self.kernel_size[0], self.kernel_size[1] + 1))
        size += 1 - size % 2
        linear_light = rng.random() < self.linear_light_probability
        image = inverse_crf(sharp, self.gamma) if linear_light else sharp
        if rng.random() < self.nonuniform_probability:
            mode = "object" if rng.random() < self.object_probability else "smooth"
            blurry = nonuniform_blur(
                image, rng, mode=mode, kernel_size=size, num_kernels=self.num_kernels
            )
        else:
            blurry = blur_image(image, camera_shake_kernel(size, rng))
        if linear_light:
            blurry = apply_crf(blurry, self.gamma)
        if rng.random() < self.poisson_probability:
            blurry = add_poisson_noise(blurry, rng.uniform(*self.photons), rng)
        sigma = rng.uniform(*self.noise_sigma)
        if sigma > 0:
            blurry = add_gaussian_noise(blurry, sigma, rng)
        blurry = np.clip(blurry, 0.0, 1.0)
        if rng.random() < self.jpeg_probability:
            blurry = jpeg_compress(blurry, self.jpeg_quality, rng)
        return blurry.astype("float32")

    def get_config(self):
        return {
            "kernel_size": self.kernel_size,
            "nonuniform_probability": self.nonuniform_probability,
            "object_probability": self.object_probability,
            "num_kernels": self.num_kernels,
            "linear_light_probability": self.linear_light_probability,
            "gamma": self.gamma,
            "noise_sigma": self.noise_sigma,
            "poisson_probability": self.poisson_probability,
            "photons": self.photons,
            "jpeg_probability": self.jpeg_probability,
            "jpeg_quality": self.jpeg_quality,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        arguments = ", ".join(
            f"{name}={value!r}" for name, value in self.get_config().items()
        )
        return f"{type(self).__name__}({arguments})"


# --------------------------------------------------------------------------
# Patch pairs from photos
# --------------------------------------------------------------------------


def synthetic_example(photo, blur, patch_size, margin, training, rotate, rng):
    """One (blurry, sharp) patch pair made from a sharp photo.

    A window `margin` pixels larger than the patch on every side is cropped
    (at random when training, centred otherwise) and flipped, the blur is
    applied to it, and both images are cropped back to the patch, so that
    the blur near the patch border mixes in real image content instead of
    padding.
    """
    patch_height, patch_width = patch_size
    window = (patch_height + 2 * margin, patch_width + 2 * margin)
    if training:
        sharp, _ = random_crop_pair(photo, photo, window, rng)
        sharp, _ = random_flip_pair(sharp, sharp, rng)
        if rotate:
            sharp, _ = random_rot90_pair(sharp, sharp, rng)
    else:
        sharp, _ = center_crop_pair(photo, photo, window)
    sharp = np.ascontiguousarray(sharp, dtype="float32")
    blurry = np.asarray(blur(sharp, rng), dtype="float32")
    if blurry.shape != sharp.shape:
        raise ValueError(
            "The blur must return an image of the shape it receives. "
            f"Received: blurry.shape={blurry.shape}, sharp.shape={sharp.shape}"
        )
    inner = (slice(margin, margin + patch_height), slice(margin, margin + patch_width))
    return np.clip(blurry[inner], 0.0, 1.0), sharp[inner]


def default_margin(blur):
    """Half the largest kernel the blur can draw, when it says; else 32 pixels."""
    for attribute in ("max_kernel_size", "kernel_size"):
        size = getattr(blur, attribute, None)
        if is_integer(size):
            return int(size) // 2 + 1
        if isinstance(size, (tuple, list)) and size:
            return int(max(size)) // 2 + 1
    return DEFAULT_MARGIN


def check_blur_and_margin(blur, margin):
    """The `blur` and `margin` options of the synthetic datasets, checked.

    Args:
        blur: callable `(sharp, rng) -> blurry`, or `None` for a default
            `SyntheticMotionBlur()`.
        margin: int >= 0, or `None` for `default_margin(blur)`.

    Returns:
        A tuple `(blur, margin)`: the callable and an int.
    """
    blur = SyntheticMotionBlur() if blur is None else blur
    if not callable(blur):
        raise ValueError(
            "`blur` must be a callable `(sharp, rng) -> blurry`, such as "
            f"`data.SyntheticMotionBlur()`. Received: blur={blur!r}"
        )
    if margin is None:
        return blur, default_margin(blur)
    return blur, check_non_negative_int("margin", margin)


def list_photos(photos):
    """A folder (searched recursively) or a list of image paths -> sorted paths."""
    if isinstance(photos, (str, os.PathLike)):
        folder = os.fspath(photos)
        if not os.path.isdir(folder):
            raise ValueError(
                f"`photos` must be a folder of sharp photos or a list of image "
                f"paths. {folder!r} is not a folder."
            )
        paths = sorted(
            os.path.join(directory, name)
            for directory, _, names in os.walk(folder)
            for name in names
            if is_image_name(name)
        )
        if not paths:
            raise ValueError(
                f"No photos found in {folder!r} (searched recursively for "
                f"{', '.join(IMAGE_EXTENSIONS)} files). Point `photos` at a "
                "folder of sharp images."
            )
        return paths
    paths = [os.fspath(path) for path in photos]
    if not paths:
        raise ValueError("`photos` is an empty list: give at least one sharp image.")
    return paths
