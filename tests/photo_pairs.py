"""Real photographs with realistic distortions, for the metric and loss tests.

The sharp images are colour photographs bundled inside scikit-image (no
network needed), centre-cropped to a 4:5 aspect ratio and downscaled to
128 x 160 to keep the tests fast. Each one is distorted four ways, all
deterministic: Gaussian blur, a linear motion-blur kernel, additive Gaussian
noise and JPEG re-compression with Pillow.
"""

import functools
import io

import numpy as np
from PIL import Image
from scipy import ndimage

HEIGHT = 128
WIDTH = 160
PHOTO_NAMES = ("astronaut", "coffee", "chelsea", "rocket")
DISTORTIONS = ("gaussian_blur", "motion_blur", "noise", "jpeg")


def _load_photo(name):
    from skimage import data

    photo = getattr(data, name)()
    height, width = photo.shape[:2]
    # Centre crop to the target aspect ratio, then downscale.
    crop_height = min(height, width * HEIGHT // WIDTH)
    crop_width = crop_height * WIDTH // HEIGHT
    top = (height - crop_height) // 2
    left = (width - crop_width) // 2
    photo = photo[top : top + crop_height, left : left + crop_width]
    photo = Image.fromarray(photo).resize((WIDTH, HEIGHT), Image.LANCZOS)
    return np.asarray(photo, dtype="float64") / 255.0


def _motion_blur_kernel(length=11, angle_degrees=30.0):
    """A normalised linear motion-blur kernel, drawn with bilinear splats."""
    kernel = np.zeros((length, length))
    centre = (length - 1) / 2
    angle = np.deg2rad(angle_degrees)
    for t in np.linspace(-centre, centre, 8 * length + 1):
        row = centre - t * np.sin(angle)
        col = centre + t * np.cos(angle)
        row0, col0 = int(np.floor(row)), int(np.floor(col))
        d_row, d_col = row - row0, col - col0
        for r, wr in ((row0, 1 - d_row), (row0 + 1, d_row)):
            for c, wc in ((col0, 1 - d_col), (col0 + 1, d_col)):
                if 0 <= r < length and 0 <= c < length:
                    kernel[r, c] += wr * wc
    return kernel / kernel.sum()


def _distort(sharp, distortion, seed):
    if distortion == "gaussian_blur":
        distorted = ndimage.gaussian_filter(sharp, sigma=(1.6, 1.6, 0))
    elif distortion == "motion_blur":
        kernel = _motion_blur_kernel()[:, :, None]
        distorted = ndimage.convolve(sharp, kernel, mode="reflect")
    elif distortion == "noise":
        rng = np.random.default_rng(seed)
        distorted = sharp + rng.normal(0.0, 0.04, size=sharp.shape)
    elif distortion == "jpeg":
        buffer = io.BytesIO()
        image = Image.fromarray(to_uint8(sharp))
        image.save(buffer, format="JPEG", quality=25)
        distorted = np.asarray(Image.open(buffer), dtype="float64") / 255.0
    else:
        raise ValueError(
            f"Unknown distortion. Received: distortion={distortion}"
        )
    return np.clip(distorted, 0.0, 1.0)


def to_uint8(images):
    """Quantises `[0, 1]` floats to 8-bit values."""
    return np.round(np.clip(images, 0.0, 1.0) * 255.0).astype("uint8")


@functools.lru_cache(maxsize=None)
def photo_pairs():
    """The 16 `(label, sharp, distorted)` pairs: float32, [0, 1], 128x160x3."""
    pairs = []
    for photo_index, name in enumerate(PHOTO_NAMES):
        sharp = _load_photo(name)
        for distortion_index, distortion in enumerate(DISTORTIONS):
            seed = 100 * photo_index + distortion_index
            distorted = _distort(sharp, distortion, seed)
            pairs.append(
                (
                    f"{name}-{distortion}",
                    sharp.astype("float32"),
                    distorted.astype("float32"),
                )
            )
    return tuple(pairs)


def pair_labels():
    return [label for label, _, _ in photo_pairs()]
