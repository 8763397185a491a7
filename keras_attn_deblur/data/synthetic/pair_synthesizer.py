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
- colour and exposure jitter of the sources (optional, off by default): a
  per-example exposure gain and per-channel gains in linear light, sensor
  clipping, and a per-example tone curve (`tone_jitter`), applied before the
  blur so that both images of a pair share it;
- random crops, flips and 90 degree rotations, the same for both images.
  Photos of different sizes travel as one zero-padded stack with their
  sizes (`"photo_sizes"`): each example crops at random inside its photo.

Everything random is drawn once per batch by `sample_parameters` (from the
layer's `keras.random.SeedGenerator`); `synthesize` is a pure function of
those draws and the sources. That split is what the tests use: given the
same draws, the result equals the NumPy implementation in
`keras_attn_deblur.data.synthetic` within float32 rounding. The batched
image operations the synthesis is made of (crops, jitter, FFT blur, masks,
flips) are in `accelerator_ops`.

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
from keras_attn_deblur.data.synthetic.accelerator_ops import dihedral
from keras_attn_deblur.data.synthetic.accelerator_ops import fft_blur
from keras_attn_deblur.data.synthetic.accelerator_ops import gather_crops
from keras_attn_deblur.data.synthetic.accelerator_ops import mixture_masks
from keras_attn_deblur.data.synthetic.accelerator_ops import tone_jitter
from keras_attn_deblur.data.synthetic.frames import odd_frame_counts

# The `dihedral` codes drawn, by (flip, rotate): np.rot90(k=1) is code 6, k=2
# code 3, k=3 code 5.
_TRANSFORMS = {
    (True, True): tuple(range(8)),
    (True, False): (0, 1, 2, 3),
    (False, True): (0, 3, 5, 6),
    (False, False): (0,),
}
MASK_WAVES = 8  # random cosines summed into each smooth mask field
SOURCE_KEYS = {"frames": 4, "photos": 4, "kernels": 3, "photo_sizes": 2}  # key: rank


@keras.saving.register_keras_serializable(package="keras_attn_deblur")
class PairSynthesizer(keras.layers.Layer):
    """Makes (blurry, sharp) training patches on the accelerator.

    Call it on a dict of sources held in device memory, any of:

    - `"frames"`: `(N, H, W, C)` consecutive video frames in time order
      (uint8, uint16 or float in `[0, 1]`), `N >= frames_per_pair[1]`;
    - `"photos"` and `"kernels"`: `(M, S, S', C)` sharp photos (or crops of
      them) and a `(K, k, k)` kernel bank from `kernel_bank`, photos at least
      `patch_size + k - 1` pixels on each side (a margin of `k // 2` around
      the patch is blurred too, so the patch border sees real content);
    - `"photo_sizes"` (optional, with photos): `(M, 2)` integers, the height
      and width of each photo when photos of different sizes are stacked
      top-left aligned and zero-padded to `(S, S')`. Crops are then drawn
      inside each photo's own size; without it, every photo fills the stack.

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
        exposure: float or `(low, high)` floats. Exposure gain in linear
            light, drawn log-uniformly per example (clipped at 1 like a
            sensor). Defaults to `1.0` (no jitter).
        channel_gain: float or `(low, high)` floats. Gain of each colour
            channel in linear light (a white-balance shift), drawn uniformly
            per example and channel. Defaults to `1.0` (no jitter).
        tone_gamma: float or `(low, high)` floats. Exponent of a per-example
            tone curve applied to the jittered image (`x ** tone_gamma`),
            drawn log-uniformly. Defaults to `1.0` (no jitter).
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
        exposure=1.0,
        channel_gain=1.0,
        tone_gamma=1.0,
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
        self.exposure = check_range("exposure", exposure, minimum=1e-3)
        self.channel_gain = check_range("channel_gain", channel_gain, minimum=1e-3)
        self.tone_gamma = check_range("tone_gamma", tone_gamma, minimum=1e-3)
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
        frames, photos, kernels, photo_sizes = _sources(sources)
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
            index = keras.random.randint((from_photos,), 0, count, seed=seed)
            if photo_sizes is None:
                heights = widths = None
            else:
                photo_sizes = ops.cast(photo_sizes, "int32")
                heights = ops.take(photo_sizes[:, 0], index)
                widths = ops.take(photo_sizes[:, 1], index)
            parameters.update(
                photo_index=index,
                photo_top=self._offsets(from_photos, height, heights, window),
                photo_left=self._offsets(from_photos, width, widths, window),
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
        # Drawn last, and only when asked for, so that the draws above stay the same.
        if self.jitters:
            for kind, count, images in (("frame", from_frames, frames),
                                        ("photo", from_photos, photos)):  # fmt: skip
                if count:
                    exposure = _log_uniform((count, 1), self.exposure, seed)
                    channels = keras.random.uniform(
                        (count, images.shape[-1]), *self.channel_gain, seed=seed
                    )
                    parameters[f"{kind}_gain"] = exposure * channels
                    parameters[f"{kind}_tone"] = _log_uniform((count,), self.tone_gamma, seed)
        return parameters

    @property
    def jitters(self):
        """Whether colour and exposure jitter is on (any of its ranges is not 1)."""
        return (self.exposure, self.channel_gain, self.tone_gamma) != ((1.0, 1.0),) * 3

    def _offsets(self, count, size, sizes, window):
        """Top (or left) offsets of `window`-sided crops: inside `size`, or inside each
        example's own photo size `sizes` (an int tensor) when photos differ in size."""
        seed = self.seed_generator
        if sizes is None:
            return keras.random.randint((count,), 0, size - window + 1, seed=seed)
        room = ops.cast(sizes - window + 1, "float32")
        drawn = ops.cast(ops.floor(keras.random.uniform((count,), seed=seed) * room), "int32")
        return ops.clip(drawn, 0, sizes - window)

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

    def _check_photos(self, photos, kernels, photo_sizes=None):
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
        if count * height * width >= 2**31:
            raise ValueError(
                f"PairSynthesizer: 'photos' holds {count * height * width:,} pixels, more than "
                "2**31 (int32 indices): pass fewer or smaller photos"
            )
        if photo_sizes is not None:
            if tuple(photo_sizes.shape) != (count, 2):
                raise ValueError(
                    f"PairSynthesizer: 'photo_sizes' must have shape ({count}, 2), one "
                    f"(height, width) per photo. Received: shape {tuple(photo_sizes.shape)}"
                )
            sizes = _concrete(photo_sizes)
            if sizes is not None and (
                sizes.min(initial=window) < window
                or (sizes[:, 0] > height).any()
                or (sizes[:, 1] > width).any()
            ):
                raise ValueError(
                    f"PairSynthesizer: 'photo_sizes' must lie between the blurred window "
                    f"({window}) and the stack's {height}x{width}. Received: sizes from "
                    f"{sizes.min()} to {sizes.max()}"
                )
        return count, height, width, window

    # === The synthesis: a pure function of the draws ===

    def synthesize(self, parameters, sources):
        """The batch `(blurry, sharp)` that `parameters` describe."""
        frames, photos, kernels, _ = _sources(sources)
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
        window = gather_crops(
            frames,
            parameters["frame_centre"][:, None] + offsets[None, :],
            parameters["frame_top"],
            parameters["frame_left"],
            self.patch_size,
        )  # (batch, 2 half + 1, patch, patch, channels)
        if "frame_gain" in parameters:
            window = tone_jitter(
                window, parameters["frame_gain"], parameters["frame_tone"], self.gamma
            )
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
        crops = gather_crops(
            photos,
            parameters["photo_index"][:, None],
            parameters["photo_top"],
            parameters["photo_left"],
            window,
        )[:, 0]
        if "photo_gain" in parameters:
            crops = tone_jitter(
                crops, parameters["photo_gain"], parameters["photo_tone"], self.gamma
            )
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
        frames, photos, kernels, photo_sizes = _sources(sources)
        from_frames, from_photos = self.split(batch_size, frames is not None, photos is not None)
        if from_frames:
            self._check_frames(frames)
        if from_photos:
            self._check_photos(photos, kernels, photo_sizes)

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
            exposure=self.exposure,
            channel_gain=self.channel_gain,
            tone_gamma=self.tone_gamma,
            flip=self.flip,
            rotate=self.rotate,
            seed=self.seed,
        )
        return config


# === Sources and draws ===


def _sources(sources):
    if not isinstance(sources, dict) or not set(sources) <= set(SOURCE_KEYS):
        keys = sorted(sources) if isinstance(sources, dict) else type(sources).__name__
        raise ValueError(
            "PairSynthesizer takes a dict with the keys 'frames', 'photos' and 'kernels' "
            f"(and 'photo_sizes'). Received: {keys}"
        )
    # Arrays and tensors pass as they are: the checks and draws need only their
    # shapes, and the synthesis converts each source once, where it gathers from it.
    tensors = []
    for key, rank in SOURCE_KEYS.items():
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


def _concrete(value):
    """`value` as a NumPy array when its values are known here (not inside a traced step)."""
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(ops.convert_to_numpy(value))
    except Exception:  # a tracer or a symbolic tensor: checked where it was made
        return None


def _log_uniform(shape, bounds, seed):
    low, high = math.log(bounds[0]), math.log(bounds[1])
    return ops.exp(keras.random.uniform(shape, low, high, seed=seed))
