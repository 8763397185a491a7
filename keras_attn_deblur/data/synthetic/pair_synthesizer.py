"""Training pairs made on the accelerator, inside the training step (`keras.ops` only).

`PairSynthesizer` turns sources held in device memory into a batch of
(blurry, sharp) patches, so that a GPU or TPU never waits for a host-side
data loader:

- **frame averaging** of consecutive video frames, the way the GoPro dataset
  was made (`average_frames`): a random window of 7 to 13 frames, averaged in
  gamma (2.2) or linear space, the middle frame sharp;
- **synthetic non-uniform motion blur** of sharp photo crops: kernels drawn
  from a bank made on the host by the NumPy generators (`kernel_bank`),
  applied per example by FFT convolution with reflect padding (`blur_image`),
  several of them blended over smooth random masks that sum to one at every
  pixel (`nonuniform_blur`'s smooth mode), in linear light through the
  camera response (`inverse_crf` / `apply_crf`), then Poisson-Gaussian noise
  and clipping to `[0, 1]` (sensor saturation);
- random crops, flips and 90 degree rotations, the same for both images.

Everything random is drawn once per batch by `sample_parameters` (from the
layer's `keras.random.SeedGenerator`); `synthesize` is a pure function of
those draws and the sources. That split is what the tests use: given the
same draws, the result equals the NumPy implementation in
`keras_attn_deblur.data.synthetic` within float32 rounding.

On JAX, call it through `stateless_call` inside a jitted step (its only
state is the seed); on TensorFlow, call it inside a `tf.function`.
"""

import math

import keras
import numpy as np
from keras import ops

from keras_attn_deblur._utils.validation import check_positive_int
from keras_attn_deblur._utils.validation import check_probability
from keras_attn_deblur.data.synthetic._checks import check_range
from keras_attn_deblur.data.synthetic.frames import odd_frame_counts
from keras_attn_deblur.data.synthetic.nonuniform import next_fast_length

# Dihedral transforms as bits: 1 flips left-right, 2 upside down, 4 transposes
# (applied first). np.rot90(k=1) is code 6, k=2 code 3, k=3 code 5.
FLIP_LEFT_RIGHT, FLIP_UP_DOWN, TRANSPOSE = 1, 2, 4
_TRANSFORMS = {
    (True, True): tuple(range(8)),
    (True, False): (0, 1, 2, 3),
    (False, True): (0, 3, 5, 6),
    (False, False): (0,),
}
MASK_WAVES = 8  # random cosines summed into each smooth mask field


@keras.saving.register_keras_serializable(package="keras_attn_deblur")
class PairSynthesizer(keras.layers.Layer):
    """Makes (blurry, sharp) training patches on the accelerator.

    Call it on a dict of sources held in device memory, any of:

    - `"frames"`: `(N, H, W, C)` consecutive video frames in time order
      (uint8, uint16 or float in `[0, 1]`), `N >= frames_per_pair[1]`;
    - `"photos"` and `"kernels"`: `(M, S, S', C)` sharp photos (or crops of
      them) and a `(K, k, k)` kernel bank from `kernel_bank`, photos at least
      `patch_size + k - 1` pixels on each side (a margin of `k // 2` around
      the patch is blurred too, so the patch border sees real content).

    It returns `(blurry, sharp)`, two float32 `(batch_size, patch_size,
    patch_size, C)` tensors. With both kinds of sources, the first
    `round(batch_size * frame_fraction)` examples come from the frames.

    Args:
        patch_size: int. Side of the square patches. Defaults to `256`.
        frame_fraction: float in `[0, 1]`. Share of each batch made from
            frames when frames and photos are both given. Defaults to `0.5`.
        frames_per_pair: int or `(low, high)` ints. Frames averaged per pair;
            only odd counts are drawn (the sharp target is the middle frame).
            Defaults to `(7, 13)`, as GoPro.
        gamma_space_probability: float in `[0, 1]`. Probability that frames
            are averaged in gamma space (`average_frames(space="gamma")`,
            GoPro's `blur_gamma/`) rather than linearly (`blur/`). Defaults
            to `0.5`.
        gamma: float. Gamma of the camera response. Defaults to `2.2`.
        nonuniform_probability: float in `[0, 1]`. Probability that a photo
            is blurred by several kernels blended over smooth masks rather
            than one kernel. Defaults to `0.5`.
        num_kernels: int or `(low, high)` ints. Kernels blended in a
            non-uniform blur. Defaults to `(2, 4)`.
        mask_frequency: float or `(low, high)` floats. Spatial frequency of
            the masks' random cosines, in cycles across the blurred window;
            larger gives smaller regions. Defaults to `(0.5, 2.0)`.
        mask_sharpness: float. Softmax gain of the masks (as
            `nonuniform_blur`). Defaults to `4.0`.
        linear_light_probability: float in `[0, 1]`. Probability of blurring
            a photo in linear light (`inverse_crf`, blur, `apply_crf`).
            Defaults to `0.5`.
        noise_sigma: float or `(low, high)` floats. Standard deviation of the
            Gaussian read noise added to blurred photos. Defaults to
            `(0.0, 0.02)`.
        poisson_probability: float in `[0, 1]`. Probability of shot noise,
            modelled by its Gaussian approximation (standard deviation
            `sqrt(value / photons)`). Defaults to `0.3`.
        photons: float or `(low, high)` floats. Photon count at full scale.
            Defaults to `(300.0, 3000.0)`.
        flip: bool. Random flips. Defaults to `True`.
        rotate: bool. Random 90 degree rotations. Defaults to `True`.
        seed: int or `None`. Seed of the layer's random stream.

    Example:

    ```python
    import numpy as np
    from keras_attn_deblur.data import PairSynthesizer, kernel_bank

    synthesizer = PairSynthesizer(patch_size=64, seed=0)
    sources = {
        "frames": np.random.randint(0, 256, (16, 90, 160, 3), dtype="uint8"),
        "photos": np.random.randint(0, 256, (4, 128, 128, 3), dtype="uint8"),
        "kernels": kernel_bank(32, size=21, rng=0, kernel_size=(5, 21)),
    }
    blurry, sharp = synthesizer(sources, batch_size=8)  # (8, 64, 64, 3) each
    ```

    References: Nah et al., CVPR 2017 (frame averaging, GoPro); Boracchi and
    Foi, 2012 (camera-shake kernels); Foi et al., 2008 (Poisson-Gaussian
    noise).
    """

    def __init__(
        self,
        patch_size=256,
        frame_fraction=0.5,
        frames_per_pair=(7, 13),
        gamma_space_probability=0.5,
        gamma=2.2,
        nonuniform_probability=0.5,
        num_kernels=(2, 4),
        mask_frequency=(0.5, 2.0),
        mask_sharpness=4.0,
        linear_light_probability=0.5,
        noise_sigma=(0.0, 0.02),
        poisson_probability=0.3,
        photons=(300.0, 3000.0),
        flip=True,
        rotate=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.patch_size = check_positive_int("patch_size", patch_size)
        self.frame_fraction = check_probability("frame_fraction", frame_fraction)
        self.frames_per_pair = check_range(
            "frames_per_pair", frames_per_pair, minimum=1, integer=True
        )
        self.frame_counts = odd_frame_counts(self.frames_per_pair)
        self.gamma_space_probability = check_probability(
            "gamma_space_probability", gamma_space_probability
        )
        self.gamma = float(check_range("gamma", gamma, minimum=1e-3)[0])
        self.nonuniform_probability = check_probability(
            "nonuniform_probability", nonuniform_probability
        )
        self.num_kernels = check_range("num_kernels", num_kernels, minimum=1, integer=True)
        self.mask_frequency = check_range("mask_frequency", mask_frequency, minimum=0.0)
        self.mask_sharpness = float(check_range("mask_sharpness", mask_sharpness, minimum=0.0)[0])
        self.linear_light_probability = check_probability(
            "linear_light_probability", linear_light_probability
        )
        self.noise_sigma = check_range("noise_sigma", noise_sigma, minimum=0.0)
        self.poisson_probability = check_probability("poisson_probability", poisson_probability)
        self.photons = check_range("photons", photons, minimum=1e-6)
        self.flip = bool(flip)
        self.rotate = bool(rotate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    # === Random draws ===

    def split(self, batch_size, has_frames, has_photos):
        """How many examples of a batch come from frames and from photos."""
        check_positive_int("batch_size", batch_size)
        if not (has_frames or has_photos):
            raise ValueError(
                "PairSynthesizer needs sources: pass {'frames': ...} and/or "
                "{'photos': ..., 'kernels': ...}"
            )
        if has_frames and has_photos:
            from_frames = int(round(batch_size * self.frame_fraction))
        else:
            from_frames = batch_size if has_frames else 0
        return from_frames, batch_size - from_frames

    def sample_parameters(self, sources, batch_size):
        """Draws everything random about one batch (a dict of tensors)."""
        frames, photos, kernels = _sources(sources)
        from_frames, from_photos = self.split(batch_size, frames is not None, photos is not None)
        patch = self.patch_size
        seed = self.seed_generator
        parameters = {}
        if from_frames:
            count, height, width = self._check_frames(frames)
            half = self.frame_counts[-1] // 2
            parameters.update(
                frame_centre=keras.random.randint((from_frames,), half, count - half, seed=seed),
                frame_count=ops.take(
                    ops.convert_to_tensor(self.frame_counts, "int32"),
                    keras.random.randint((from_frames,), 0, len(self.frame_counts), seed=seed),
                ),
                frame_top=keras.random.randint((from_frames,), 0, height - patch + 1, seed=seed),
                frame_left=keras.random.randint((from_frames,), 0, width - patch + 1, seed=seed),
                frame_gamma=keras.random.uniform((from_frames,), seed=seed)
                < self.gamma_space_probability,
                frame_transform=self._transforms(from_frames),
            )  # fmt: skip
        if from_photos:
            count, height, width, window = self._check_photos(photos, kernels)
            slots = self.num_kernels[1]
            shape = (from_photos, slots, MASK_WAVES)
            nonuniform = keras.random.uniform((from_photos,), seed=seed) < self.nonuniform_probability
            blended = keras.random.randint(
                (from_photos,), self.num_kernels[0], self.num_kernels[1] + 1, seed=seed
            )
            sigma = keras.random.uniform((from_photos,), *self.noise_sigma, seed=seed)
            shot = keras.random.uniform((from_photos,), seed=seed) < self.poisson_probability
            noise_shape = (from_photos, patch, patch, photos.shape[-1])
            parameters.update(
                photo_index=keras.random.randint((from_photos,), 0, count, seed=seed),
                photo_top=keras.random.randint((from_photos,), 0, height - window + 1, seed=seed),
                photo_left=keras.random.randint((from_photos,), 0, width - window + 1, seed=seed),
                photo_kernels=keras.random.randint(
                    (from_photos, slots), 0, kernels.shape[0], seed=seed
                ),
                photo_kernel_count=ops.where(nonuniform, blended, 1),
                mask_frequency=keras.random.uniform(shape, *self.mask_frequency, seed=seed),
                mask_angle=keras.random.uniform(shape, 0.0, 2 * math.pi, seed=seed),
                mask_phase=keras.random.uniform(shape, 0.0, 2 * math.pi, seed=seed),
                photo_linear=keras.random.uniform((from_photos,), seed=seed)
                < self.linear_light_probability,
                shot_photons=ops.where(
                    shot, keras.random.uniform((from_photos,), *self.photons, seed=seed), 0.0
                ),
                shot_noise=keras.random.normal(noise_shape, seed=seed),
                read_sigma=sigma,
                read_noise=keras.random.normal(noise_shape, seed=seed),
                photo_transform=self._transforms(from_photos),
            )  # fmt: skip
        return parameters

    def _transforms(self, count):
        choices = ops.convert_to_tensor(_TRANSFORMS[(self.flip, self.rotate)], "int32")
        drawn = keras.random.randint((count,), 0, choices.shape[0], seed=self.seed_generator)
        return ops.take(choices, drawn)

    def _check_frames(self, frames):
        count, height, width = frames.shape[:3]
        if count < self.frame_counts[-1]:
            raise ValueError(
                f"PairSynthesizer: 'frames' holds {count} frames, fewer than the "
                f"{self.frame_counts[-1]} of the longest window: pass more frames or lower "
                "`frames_per_pair`"
            )
        if min(height, width) < self.patch_size:
            raise ValueError(
                f"PairSynthesizer: frames of {height}x{width} are smaller than the patch "
                f"({self.patch_size}): lower `patch_size`"
            )
        if count * height * width >= 2**31:
            raise ValueError(
                f"PairSynthesizer: 'frames' holds {count * height * width:,} pixels, more than "
                "2**31 (int32 indices): pass fewer frames per call"
            )
        return count, height, width

    def _check_photos(self, photos, kernels):
        if kernels is None or len(kernels.shape) != 3 or kernels.shape[1] != kernels.shape[2]:
            raise ValueError(
                "PairSynthesizer: 'photos' need 'kernels', a (K, k, k) stack from "
                "keras_attn_deblur.data.kernel_bank"
            )
        count, height, width = photos.shape[:3]
        window = self.patch_size + 2 * (kernels.shape[1] // 2)
        if min(height, width) < window:
            raise ValueError(
                f"PairSynthesizer: photos of {height}x{width} are smaller than the blurred "
                f"window ({window} = patch {self.patch_size} + kernel {kernels.shape[1]} - 1): "
                "pass larger photo crops, smaller kernels or a smaller `patch_size`"
            )
        return count, height, width, window

    # === The synthesis: a pure function of the draws ===

    def synthesize(self, parameters, sources):
        """The batch `(blurry, sharp)` that `parameters` describe."""
        frames, photos, kernels = _sources(sources)
        blurry, sharp = [], []
        if "frame_centre" in parameters:
            pair = self._frame_pairs(parameters, frames)
            blurry.append(pair[0])
            sharp.append(pair[1])
        if "photo_index" in parameters:
            pair = self._photo_pairs(parameters, photos, kernels)
            blurry.append(pair[0])
            sharp.append(pair[1])
        if len(blurry) == 1:
            return blurry[0], sharp[0]
        return ops.concatenate(blurry, axis=0), ops.concatenate(sharp, axis=0)

    def _frame_pairs(self, parameters, frames):
        half = self.frame_counts[-1] // 2
        offsets = ops.arange(-half, half + 1, dtype="int32")
        window = _crops(
            frames,
            parameters["frame_centre"][:, None] + offsets[None, :],
            parameters["frame_top"],
            parameters["frame_left"],
            self.patch_size,
        )  # (batch, 2 half + 1, patch, patch, channels)
        count = parameters["frame_count"]
        weights = ops.cast(ops.abs(offsets)[None, :] <= (count // 2)[:, None], "float32")
        weights = weights / ops.cast(count, "float32")[:, None]
        in_gamma = parameters["frame_gamma"][:, None, None, None]
        light = ops.where(
            in_gamma[:, None], ops.power(ops.maximum(window, 0.0), self.gamma), window
        )
        mean = ops.sum(light * weights[:, :, None, None, None], axis=1)
        blurry = ops.where(in_gamma, ops.power(mean, 1.0 / self.gamma), mean)
        sharp = window[:, half]
        transform = parameters["frame_transform"]
        return dihedral(blurry, transform), dihedral(sharp, transform)

    def _photo_pairs(self, parameters, photos, kernels):
        patch = self.patch_size
        margin = kernels.shape[1] // 2
        window = patch + 2 * margin
        crops = _crops(
            photos,
            parameters["photo_index"][:, None],
            parameters["photo_top"],
            parameters["photo_left"],
            window,
        )[:, 0]
        linear = parameters["photo_linear"][:, None, None, None]
        light = ops.where(linear, ops.power(ops.maximum(crops, 0.0), self.gamma), crops)
        blurred = fft_blur(light, ops.take(ops.cast(kernels, "float32"), parameters["photo_kernels"], axis=0))
        masks = mixture_masks(
            parameters["mask_frequency"],
            parameters["mask_angle"],
            parameters["mask_phase"],
            parameters["photo_kernel_count"],
            window,
            self.mask_sharpness,
        )
        mixed = ops.sum(blurred * masks[..., None], axis=1)
        mixed = ops.where(linear, ops.power(ops.maximum(mixed, 0.0), 1.0 / self.gamma), mixed)
        inner = (slice(None), slice(margin, margin + patch), slice(margin, margin + patch))
        blurry = mixed[inner]
        sharp = crops[inner]
        photons = parameters["shot_photons"][:, None, None, None]
        shot_std = ops.sqrt(ops.maximum(blurry, 0.0) / ops.maximum(photons, 1e-6))
        blurry = blurry + ops.where(photons > 0, shot_std * parameters["shot_noise"], 0.0)
        blurry = blurry + parameters["read_sigma"][:, None, None, None] * parameters["read_noise"]
        blurry = ops.clip(blurry, 0.0, 1.0)
        transform = parameters["photo_transform"]
        return dihedral(blurry, transform), dihedral(sharp, transform)

    # === Keras layer API ===

    def __call__(self, sources, batch_size, **kwargs):
        # Checked here too, so that bad sources give our one-line error rather
        # than Keras's multi-line wrapper of exceptions raised inside `call`.
        self.check_sources(sources, batch_size)
        return super().__call__(sources, batch_size=batch_size, **kwargs)

    def check_sources(self, sources, batch_size):
        """Raises a one-line `ValueError` for sources this layer cannot use."""
        frames, photos, kernels = _sources(sources)
        from_frames, from_photos = self.split(batch_size, frames is not None, photos is not None)
        if from_frames:
            self._check_frames(frames)
        if from_photos:
            self._check_photos(photos, kernels)

    def call(self, sources, batch_size):
        return self.synthesize(self.sample_parameters(sources, batch_size), sources)

    def get_config(self):
        config = super().get_config()
        config.update(
            patch_size=self.patch_size,
            frame_fraction=self.frame_fraction,
            frames_per_pair=self.frames_per_pair,
            gamma_space_probability=self.gamma_space_probability,
            gamma=self.gamma,
            nonuniform_probability=self.nonuniform_probability,
            num_kernels=self.num_kernels,
            mask_frequency=self.mask_frequency,
            mask_sharpness=self.mask_sharpness,
            linear_light_probability=self.linear_light_probability,
            noise_sigma=self.noise_sigma,
            poisson_probability=self.poisson_probability,
            photons=self.photons,
            flip=self.flip,
            rotate=self.rotate,
            seed=self.seed,
        )
        return config


# === Building blocks (pure keras.ops) ===


def _sources(sources):
    if not isinstance(sources, dict) or not set(sources) <= {"frames", "photos", "kernels"}:
        keys = sorted(sources) if isinstance(sources, dict) else type(sources).__name__
        raise ValueError(
            "PairSynthesizer takes a dict with the keys 'frames', 'photos' and 'kernels'. "
            f"Received: {keys}"
        )
    # Arrays and tensors pass as they are: the checks and draws need only their
    # shapes, and the synthesis converts each source once, where it gathers from it.
    tensors = []
    for key, rank in (("frames", 4), ("photos", 4), ("kernels", 3)):
        value = sources.get(key)
        if value is not None:
            if not (hasattr(value, "shape") and hasattr(value, "dtype")):
                value = np.asarray(value)
            if len(value.shape) != rank:
                raise ValueError(
                    f"PairSynthesizer: '{key}' must have rank {rank}. "
                    f"Received: shape {tuple(value.shape)}"
                )
        tensors.append(value)
    return tensors


def _crops(images, image_index, top, left, size):
    """`images[image_index[b, t], top[b]:top[b] + size, left[b]:left[b] + size]` as float32.

    One gather over the flattened images (no per-example loop), so it is the
    same program on every backend. Integer images are scaled to `[0, 1]`.
    """
    count, height, width, channels = images.shape
    steps = ops.arange(size, dtype="int32")
    rows = ops.cast(top, "int32")[:, None] + steps[None, :]
    cols = ops.cast(left, "int32")[:, None] + steps[None, :]
    index = (
        ops.cast(image_index, "int32")[:, :, None, None] * (height * width)
        + rows[:, None, :, None] * width
        + cols[:, None, None, :]
    )
    flat = ops.reshape(images, (count * height * width, channels))
    crops = ops.take(flat, ops.reshape(index, (-1,)), axis=0)
    crops = ops.reshape(crops, (*index.shape, channels))
    return _to_unit_float(crops)


def _to_unit_float(images):
    dtype = keras.backend.standardize_dtype(images.dtype)
    scale = {"uint8": 255.0, "uint16": 65535.0}.get(dtype)
    images = ops.cast(images, "float32")
    return images / scale if scale else images


def dihedral(images, transform):
    """Applies per-example flips/transposes: `transform` bits 4 (transpose,
    first), 1 (left-right), 2 (upside down), to `(batch, size, size, C)`."""
    transform = ops.cast(transform, "int32")[:, None, None, None]

    def chosen(bit):
        return ops.not_equal(ops.bitwise_and(transform, bit), 0)

    images = ops.where(chosen(TRANSPOSE), ops.transpose(images, (0, 2, 1, 3)), images)
    images = ops.where(chosen(FLIP_LEFT_RIGHT), ops.flip(images, axis=2), images)
    return ops.where(chosen(FLIP_UP_DOWN), ops.flip(images, axis=1), images)


def fft_blur(images, kernels):
    """Each image blurred by each of its kernels: true convolution, reflect padding.

    The same operation as NumPy `blur_image` (kernel centre at `(k // 2, k // 2)`,
    `numpy.pad(mode="reflect")`), computed with FFTs of the padded image.

    Args:
        images: float `(batch, H, W, C)`.
        kernels: float `(batch, K, kh, kw)`.

    Returns:
        float32 `(batch, K, H, W, C)`.
    """
    _, height, width, _ = images.shape
    kernel_height, kernel_width = kernels.shape[2:]
    top, left = kernel_height - 1 - kernel_height // 2, kernel_width - 1 - kernel_width // 2
    padded = ops.pad(
        ops.transpose(ops.cast(images, "float32"), (0, 3, 1, 2)),
        ((0, 0), (0, 0), (top, kernel_height // 2), (left, kernel_width // 2)),
        mode="reflect",
    )
    fft_height = next_fast_length(height + kernel_height - 1)
    fft_width = next_fast_length(width + kernel_width - 1)
    padded = ops.pad(
        padded,
        ((0, 0), (0, 0), (0, fft_height - padded.shape[2]), (0, fft_width - padded.shape[3])),
    )
    kernels = ops.pad(
        ops.cast(kernels, "float32"),
        ((0, 0), (0, 0), (0, fft_height - kernel_height), (0, fft_width - kernel_width)),
    )
    image_real, image_imag = ops.fft2((padded, ops.zeros_like(padded)))
    kernel_real, kernel_imag = ops.fft2((kernels, ops.zeros_like(kernels)))
    image_real, image_imag = image_real[:, None], image_imag[:, None]
    kernel_real, kernel_imag = kernel_real[:, :, None], kernel_imag[:, :, None]
    product = (
        image_real * kernel_real - image_imag * kernel_imag,
        image_real * kernel_imag + image_imag * kernel_real,
    )
    full, _ = ops.ifft2(product)
    valid = full[
        :, :, :, kernel_height - 1 : kernel_height - 1 + height,
        kernel_width - 1 : kernel_width - 1 + width,
    ]  # fmt: skip
    return ops.transpose(valid, (0, 1, 3, 4, 2))


def mixture_masks(frequency, angle, phase, count, size, sharpness):
    """Smooth random masks that sum to 1 at every pixel, `(batch, K, size, size)`.

    Mask `k` of an example is the softmax over its first `count` slots of
    `sharpness * field_k`, where each field is a unit-variance sum of
    `MASK_WAVES` random plane cosines (`frequency` cycles across the window,
    direction `angle`, offset `phase`; each `(batch, K, MASK_WAVES)`): the
    random-Fourier-feature form of a smooth Gaussian random field. Slots from
    `count` on get weight 0, so `count = 1` is a uniform blur by slot 0.
    """
    coordinates = ops.arange(size, dtype="float32") / size
    radians = 2 * math.pi * frequency
    along_rows = radians * ops.sin(angle)
    along_cols = radians * ops.cos(angle)
    row_phase = along_rows[..., None] * coordinates + phase[..., None]
    col_phase = along_cols[..., None] * coordinates
    # cos(a + b) = cos a cos b - sin a sin b: separable, no (K, waves, size, size) tensor.
    field = ops.einsum("bkwr,bkwc->bkrc", ops.cos(row_phase), ops.cos(col_phase)) - ops.einsum(
        "bkwr,bkwc->bkrc", ops.sin(row_phase), ops.sin(col_phase)
    )
    field = field * math.sqrt(2.0 / frequency.shape[-1])
    slots = ops.arange(frequency.shape[1], dtype="int32")
    active = slots[None, :] < ops.cast(count, "int32")[:, None]
    logits = ops.where(active[:, :, None, None], sharpness * field, -1e9)
    return ops.softmax(logits, axis=1)
