"""Tests for `keras_attn_deblur.data.PairSynthesizer` (on-accelerator pairs) and `kernel_bank`.

The reference is the NumPy implementation in `data.synthetic`
(`average_frames`, `blur_image`, `inverse_crf` / `apply_crf`,
`add_poisson_noise`) and `numpy.rot90` / `numpy.flip`, applied to the same
frames, photos and kernels with the parameters the layer drew. Runs on the
backend of KERAS_BACKEND (CI runs TensorFlow and JAX).
"""

import keras
import numpy as np
import pytest
from keras import ops

from keras_attn_deblur.data import PairSynthesizer
from keras_attn_deblur.data import kernel_bank
from keras_attn_deblur.data.synthetic.camera import add_poisson_noise
from keras_attn_deblur.data.synthetic.camera import apply_crf
from keras_attn_deblur.data.synthetic.camera import inverse_crf
from keras_attn_deblur.data.synthetic.frames import average_frames
from keras_attn_deblur.data.synthetic.nonuniform import blur_image
from keras_attn_deblur.data.synthetic.pair_synthesizer import dihedral
from keras_attn_deblur.data.synthetic.pair_synthesizer import fft_blur
from keras_attn_deblur.data.synthetic.pair_synthesizer import mixture_masks
from keras_attn_deblur.data.synthetic.pair_synthesizer import tone_jitter


def _numpy(tensor):
    return np.asarray(ops.convert_to_numpy(tensor))


def _numpy_dihedral(image, code):
    if code & 4:
        image = image.transpose(1, 0, 2)
    if code & 1:
        image = image[:, ::-1]
    if code & 2:
        image = image[::-1]
    return image


def _sources(seed=0, frames=15, frame_size=(40, 56), photos=3, photo_size=(60, 64)):
    rng = np.random.default_rng(seed)
    # Smooth-ish content plus texture, uint8 as on the device.
    return {
        "frames": rng.integers(0, 256, (frames, *frame_size, 3), dtype="uint8"),
        "photos": rng.integers(0, 256, (photos, *photo_size, 3), dtype="uint8"),
        "kernels": kernel_bank(12, size=11, rng=seed, kernel_size=(3, 11)),
    }


# === Building blocks ===


@pytest.mark.parametrize("kernel_shape", [(11, 11), (5, 9), (1, 1)])
def test_fft_blur_equals_numpy_blur_image(kernel_shape):
    rng = np.random.default_rng(1)
    images = rng.uniform(size=(2, 23, 31, 3)).astype("float32")
    kernels = rng.uniform(size=(2, 3, *kernel_shape)).astype("float32")
    kernels /= kernels.sum(axis=(2, 3), keepdims=True)
    blurred = _numpy(fft_blur(images, kernels))
    assert blurred.shape == (2, 3, 23, 31, 3)
    for index in range(2):
        for slot in range(3):
            expected = blur_image(images[index], kernels[index, slot])
            np.testing.assert_allclose(blurred[index, slot], expected, atol=2e-5)


def test_dihedral_codes_are_the_numpy_rotations_and_flips():
    images = np.random.default_rng(2).uniform(size=(8, 5, 5, 2)).astype("float32")
    result = _numpy(dihedral(images, np.arange(8)))
    expected = {
        0: images[0], 1: np.flip(images[1], 1), 2: np.flip(images[2], 0),
        3: np.rot90(images[3], 2), 5: np.rot90(images[5], 3), 6: np.rot90(images[6], 1),
        4: images[4].transpose(1, 0, 2), 7: np.rot90(images[7].transpose(1, 0, 2), 2),
    }  # fmt: skip
    for code, image in expected.items():
        np.testing.assert_array_equal(result[code], image)


def test_mixture_masks_sum_to_one_and_are_smooth():
    rng = np.random.default_rng(3)
    shape = (4, 3, 8)
    frequency = rng.uniform(0.5, 2.0, shape).astype("float32")
    angle = rng.uniform(0, 2 * np.pi, shape).astype("float32")
    phase = rng.uniform(0, 2 * np.pi, shape).astype("float32")
    count = np.array([1, 2, 3, 3], "int32")
    masks = _numpy(mixture_masks(frequency, angle, phase, count, 64, sharpness=4.0))
    assert masks.shape == (4, 3, 64, 64)
    np.testing.assert_allclose(masks.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(masks[0, 0], 1.0, atol=1e-6)  # one kernel: uniform blur
    np.testing.assert_allclose(masks[1, 2], 0.0, atol=1e-6)  # slot past the count: unused
    # Smooth: at most 2 cycles across the window, so neighbours differ little;
    # and the regions really differ (each used slot dominates somewhere).
    assert np.abs(np.diff(masks, axis=-1)).max() < 0.5
    assert masks[3].max(axis=(1, 2)).min() > 0.5


def _numpy_jitter(image, gain, tone, gamma=2.2):
    """Exposure and white balance in linear light, sensor clipping, then a tone curve."""
    linear = np.clip(inverse_crf(image, gamma) * gain, 0.0, 1.0)
    return apply_crf(linear, gamma) ** tone


def test_tone_jitter_equals_numpy_exposure_colour_and_tone():
    rng = np.random.default_rng(11)
    images = rng.uniform(size=(3, 2, 9, 7, 3)).astype("float32")  # frame windows: rank 5
    gain = rng.uniform(0.5, 2.0, (3, 3)).astype("float32")
    tone = np.array([0.8, 1.0, 1.25], "float32")
    jittered = _numpy(tone_jitter(images, gain, tone, 2.2))
    for index in range(3):
        expected = _numpy_jitter(images[index], gain[index], tone[index])
        np.testing.assert_allclose(jittered[index], expected, atol=2e-5)
    assert jittered.max() <= 1.0 and (jittered == 1.0).any()  # a gain of 2 saturates
    identity = _numpy(tone_jitter(images[:, 0], np.ones((3, 3)), np.ones(3), 2.2))
    np.testing.assert_allclose(identity, images[:, 0], atol=2e-6)


def test_kernel_bank_kernels_are_normalised_and_centred():
    bank = kernel_bank(40, size=21, rng=0, kernel_size=(5, 21), linear_probability=0.5)
    assert bank.shape == (40, 21, 21) and bank.dtype == np.float32
    assert (bank >= 0).all()
    np.testing.assert_allclose(bank.sum(axis=(1, 2)), 1.0, atol=1e-5)
    rows, cols = np.mgrid[0:21, 0:21]
    np.testing.assert_allclose((bank * rows).sum(axis=(1, 2)), 10.0, atol=1e-3)
    np.testing.assert_allclose((bank * cols).sum(axis=(1, 2)), 10.0, atol=1e-3)
    np.testing.assert_array_equal(bank, kernel_bank(40, size=21, rng=0, kernel_size=(5, 21),
                                                    linear_probability=0.5))  # fmt: skip
    with pytest.raises(ValueError, match="kernel_size"):
        kernel_bank(4, size=11, kernel_size=(5, 21))


# === Whole batches against the NumPy pipeline ===


def test_frame_pairs_equal_numpy_frame_averaging():
    sources = _sources()
    synthesizer = PairSynthesizer(patch_size=24, frames_per_pair=(7, 13), seed=4)
    parameters = synthesizer.sample_parameters({"frames": sources["frames"]}, batch_size=12)
    blurry, sharp = synthesizer.synthesize(parameters, {"frames": sources["frames"]})
    blurry, sharp = _numpy(blurry), _numpy(sharp)
    drawn = {key: _numpy(value) for key, value in parameters.items()}
    frames = sources["frames"].astype("float64") / 255.0
    assert set(drawn["frame_count"]) <= {7, 9, 11, 13}
    assert drawn["frame_gamma"].any() and not drawn["frame_gamma"].all()
    for index in range(12):
        centre, half = drawn["frame_centre"][index], drawn["frame_count"][index] // 2
        top, left = drawn["frame_top"][index], drawn["frame_left"][index]
        window = frames[centre - half : centre + half + 1, top : top + 24, left : left + 24]
        space = "gamma" if drawn["frame_gamma"][index] else "linear"
        code = drawn["frame_transform"][index]
        expected_blurry = _numpy_dihedral(average_frames(window, space=space), code)
        expected_sharp = _numpy_dihedral(window[half], code)
        np.testing.assert_allclose(blurry[index], expected_blurry, atol=2e-5)
        np.testing.assert_allclose(sharp[index], expected_sharp, atol=1e-6)


def test_photo_pairs_equal_numpy_blur_pipeline():
    sources = _sources()
    synthesizer = PairSynthesizer(
        patch_size=32, noise_sigma=0.0, poisson_probability=0.0, nonuniform_probability=0.7,
        seed=5,
    )  # fmt: skip
    photo_sources = {"photos": sources["photos"], "kernels": sources["kernels"]}
    parameters = synthesizer.sample_parameters(photo_sources, batch_size=10)
    blurry, sharp = synthesizer.synthesize(parameters, photo_sources)
    blurry, sharp = _numpy(blurry), _numpy(sharp)
    drawn = {key: _numpy(value) for key, value in parameters.items()}
    window, margin = 32 + 10, 5
    masks = _numpy(mixture_masks(
        parameters["mask_frequency"], parameters["mask_angle"], parameters["mask_phase"],
        parameters["photo_kernel_count"], window, 4.0,
    ))  # fmt: skip
    assert set(drawn["photo_kernel_count"]) > {1}  # uniform and non-uniform blur both drawn
    for index in range(10):
        top, left = drawn["photo_top"][index], drawn["photo_left"][index]
        photo = sources["photos"][drawn["photo_index"][index]].astype("float32") / 255.0
        crop = photo[top : top + window, left : left + window]
        linear = bool(drawn["photo_linear"][index])
        light = inverse_crf(crop) if linear else crop
        mixed = sum(
            blur_image(light, sources["kernels"][kernel]) * masks[index, slot][:, :, None]
            for slot, kernel in enumerate(drawn["photo_kernels"][index])
        )
        mixed = apply_crf(mixed) if linear else mixed
        inner = (slice(margin, margin + 32), slice(margin, margin + 32))
        code = drawn["photo_transform"][index]
        np.testing.assert_allclose(
            blurry[index], _numpy_dihedral(np.clip(mixed[inner], 0, 1), code), atol=5e-5
        )
        np.testing.assert_allclose(sharp[index], _numpy_dihedral(crop[inner], code), atol=1e-6)


def test_jittered_frame_pairs_equal_numpy_frame_averaging_of_jittered_frames():
    sources = {"frames": _sources()["frames"]}
    synthesizer = PairSynthesizer(
        patch_size=20, frames_per_pair=(3, 7), exposure=(0.5, 2.0), channel_gain=(0.8, 1.2),
        tone_gamma=(0.8, 1.25), seed=12,
    )  # fmt: skip
    parameters = synthesizer.sample_parameters(sources, batch_size=8)
    blurry, sharp = (_numpy(image) for image in synthesizer.synthesize(parameters, sources))
    drawn = {key: _numpy(value) for key, value in parameters.items()}
    assert drawn["frame_gain"].shape == (8, 3) and drawn["frame_tone"].shape == (8,)
    assert 0.8 * 0.5 <= drawn["frame_gain"].min() and drawn["frame_gain"].max() <= 1.2 * 2.0
    assert drawn["frame_gain"].std(axis=1).min() > 0  # the channels differ: a colour shift
    frames = sources["frames"].astype("float64") / 255.0
    for index in range(8):
        centre, half = drawn["frame_centre"][index], drawn["frame_count"][index] // 2
        top, left = drawn["frame_top"][index], drawn["frame_left"][index]
        window = frames[centre - half : centre + half + 1, top : top + 20, left : left + 20]
        window = _numpy_jitter(window, drawn["frame_gain"][index], drawn["frame_tone"][index])
        space = "gamma" if drawn["frame_gamma"][index] else "linear"
        code = drawn["frame_transform"][index]
        expected_blurry = _numpy_dihedral(average_frames(window, space=space), code)
        np.testing.assert_allclose(blurry[index], expected_blurry, atol=5e-5)
        np.testing.assert_allclose(sharp[index], _numpy_dihedral(window[half], code), atol=2e-5)


def test_photos_of_different_sizes_are_cropped_inside_their_own_size_and_jittered():
    rng = np.random.default_rng(13)
    kernels = kernel_bank(6, size=5, rng=0, kernel_size=(3, 5))
    sizes = np.array([[40, 90], [70, 44], [36, 36]], "int32")  # window: 32 + 4 = 36
    photos = np.zeros((3, 70, 90, 3), "uint8")  # zero padding right and below each photo
    for index, (height, width) in enumerate(sizes):
        photos[index, :height, :width] = rng.integers(1, 256, (height, width, 3))
    sources = {"photos": photos, "kernels": kernels, "photo_sizes": sizes}
    synthesizer = PairSynthesizer(
        patch_size=32, noise_sigma=0.0, poisson_probability=0.0, exposure=(0.7, 1.4),
        channel_gain=(0.9, 1.1), tone_gamma=(0.9, 1.1), seed=14,
    )  # fmt: skip
    parameters = synthesizer.sample_parameters(sources, batch_size=64)
    blurry, sharp = (_numpy(image) for image in synthesizer.synthesize(parameters, sources))
    drawn = {key: _numpy(value) for key, value in parameters.items()}
    heights, widths = sizes[drawn["photo_index"], 0], sizes[drawn["photo_index"], 1]
    assert (drawn["photo_top"] >= 0).all() and (drawn["photo_top"] <= heights - 36).all()
    assert (drawn["photo_left"] >= 0).all() and (drawn["photo_left"] <= widths - 36).all()
    wide = drawn["photo_index"] == 0  # 40x90: left offsets 0-54, top offsets 0-4
    assert len(set(drawn["photo_left"][wide])) > 5 and drawn["photo_top"][wide].max() <= 4
    assert (sharp > 0).all()  # never the zero padding (content is 1..255)
    masks = _numpy(mixture_masks(
        parameters["mask_frequency"], parameters["mask_angle"], parameters["mask_phase"],
        parameters["photo_kernel_count"], 36, 4.0,
    ))  # fmt: skip
    for index in range(0, 64, 7):
        top, left = drawn["photo_top"][index], drawn["photo_left"][index]
        photo = photos[drawn["photo_index"][index]].astype("float32") / 255.0
        crop = _numpy_jitter(photo[top : top + 36, left : left + 36],
                             drawn["photo_gain"][index], drawn["photo_tone"][index])  # fmt: skip
        linear = bool(drawn["photo_linear"][index])
        light = inverse_crf(crop) if linear else crop
        mixed = sum(
            blur_image(light, kernels[kernel]) * masks[index, slot][:, :, None]
            for slot, kernel in enumerate(drawn["photo_kernels"][index])
        )
        mixed = apply_crf(mixed) if linear else mixed
        code = drawn["photo_transform"][index]
        np.testing.assert_allclose(
            blurry[index], _numpy_dihedral(np.clip(mixed[2:34, 2:34], 0, 1), code), atol=5e-5
        )
        np.testing.assert_allclose(sharp[index], _numpy_dihedral(crop[2:34, 2:34], code),
                                   atol=2e-5)  # fmt: skip


def test_jitter_is_off_by_default_and_leaves_the_other_draws_as_they_were():
    sources = _sources()
    plain = PairSynthesizer(patch_size=16, seed=15)
    jittered = PairSynthesizer(patch_size=16, exposure=(0.5, 2.0), seed=15)
    assert not plain.jitters and jittered.jitters
    without = plain.sample_parameters(sources, batch_size=6)
    with_jitter = jittered.sample_parameters(sources, batch_size=6)
    assert not {"frame_gain", "photo_gain", "frame_tone", "photo_tone"} & set(without)
    assert {"frame_gain", "photo_gain", "frame_tone", "photo_tone"} <= set(with_jitter)
    for key, value in without.items():
        np.testing.assert_array_equal(_numpy(value), _numpy(with_jitter[key]))


def test_mixed_batch_splits_and_is_reproducible():
    sources = _sources()
    first = PairSynthesizer(patch_size=16, frame_fraction=0.75, seed=6)
    blurry, sharp = first(sources, batch_size=8)
    assert tuple(blurry.shape) == tuple(sharp.shape) == (8, 16, 16, 3)
    assert first.split(8, True, True) == (6, 2)
    again, _ = PairSynthesizer(patch_size=16, frame_fraction=0.75, seed=6)(sources, batch_size=8)
    np.testing.assert_array_equal(_numpy(blurry), _numpy(again))
    following, _ = first(sources, batch_size=8)  # the seed advanced: a new batch
    assert np.abs(_numpy(following) - _numpy(blurry)).mean() > 0.01
    values = _numpy(blurry)
    assert values.min() >= 0.0 and values.max() <= 1.0


def test_poisson_gaussian_noise_matches_numpy_statistics():
    identity = np.zeros((1, 3, 3), "float32")
    identity[0, 1, 1] = 1.0
    grey = np.full((1, 80, 80, 3), 128, "uint8")
    synthesizer = PairSynthesizer(
        patch_size=64, nonuniform_probability=0.0, linear_light_probability=0.0,
        poisson_probability=1.0, photons=400.0, noise_sigma=0.01, seed=7,
    )  # fmt: skip
    blurry, sharp = synthesizer({"photos": grey, "kernels": identity}, batch_size=4)
    noise = _numpy(blurry) - _numpy(sharp)
    value = 128 / 255
    reference = add_poisson_noise(np.full((4, 64, 64, 3), value), 400.0, rng=0) - value
    expected_variance = reference.var() + 0.01**2
    assert abs(noise.mean()) < 2e-3
    assert noise.var() == pytest.approx(expected_variance, rel=0.05)


def test_jitted_stateless_call_draws_a_new_batch_each_step():
    if keras.backend.backend() != "jax":
        pytest.skip("stateless_call inside jax.jit is the JAX path")
    import jax

    sources = _sources()
    synthesizer = PairSynthesizer(patch_size=16, seed=8)

    @jax.jit
    def step(state, sources):
        (blurry, sharp), state = synthesizer.stateless_call([], state, sources, batch_size=4)
        return blurry, sharp, state

    state = [variable.value for variable in synthesizer.non_trainable_variables]
    first, _, state = step(state, sources)
    second, _, _ = step(state, sources)
    assert first.shape == (4, 16, 16, 3)
    assert np.abs(np.asarray(first) - np.asarray(second)).mean() > 0.01


def test_tf_function_graph():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.function is the TensorFlow path")
    import tensorflow as tf

    sources = _sources()
    synthesizer = PairSynthesizer(patch_size=16, seed=9)
    blurry, sharp = tf.function(lambda: synthesizer(sources, batch_size=4))()
    assert blurry.shape == (4, 16, 16, 3) and sharp.shape == (4, 16, 16, 3)


def test_config_round_trip():
    synthesizer = PairSynthesizer(patch_size=48, frame_fraction=0.25, num_kernels=(1, 3),
                                  exposure=(0.7, 1.4), tone_gamma=(0.9, 1.1), seed=3)  # fmt: skip
    restored = PairSynthesizer.from_config(synthesizer.get_config())
    assert restored.get_config() == synthesizer.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(synthesizer))
    assert isinstance(restored, PairSynthesizer) and restored.patch_size == 48


@pytest.mark.parametrize(
    "sources, message",
    [
        ({"frames": np.zeros((5, 64, 64, 3), "uint8")}, "holds 5 frames"),
        ({"frames": np.zeros((20, 10, 64, 3), "uint8")}, "smaller than the patch"),
        ({"photos": np.zeros((2, 64, 64, 3), "uint8")}, "need 'kernels'"),
        ({"photos": np.zeros((2, 20, 20, 3), "uint8"), "kernels": np.ones((2, 5, 5))},
         "smaller than the blurred window"),
        ({"video": np.zeros((20, 64, 64, 3))}, "keys 'frames', 'photos' and 'kernels'"),
        ({}, "needs sources"),
        ({"frames": np.zeros((64, 64, 3))}, "rank 4"),
        ({"photos": np.zeros((2, 40, 40, 3), "uint8"), "kernels": np.ones((2, 5, 5)),
          "photo_sizes": np.array([[40, 40]])}, r"must have shape \(2, 2\)"),
        ({"photos": np.zeros((2, 40, 40, 3), "uint8"), "kernels": np.ones((2, 5, 5)),
          "photo_sizes": np.array([[40, 40], [30, 40]])}, "between the blurred window"),
        ({"photos": np.zeros((2, 40, 40, 3), "uint8"), "kernels": np.ones((2, 5, 5)),
          "photo_sizes": np.array([[40, 40], [40, 41]])}, "between the blurred window"),
    ],
)  # fmt: skip
def test_bad_sources_give_one_line_errors(sources, message):
    with pytest.raises(ValueError, match=message) as error:
        PairSynthesizer(patch_size=32)(sources, batch_size=2)
    assert "\n" not in str(error.value)


def test_bad_arguments():
    with pytest.raises(ValueError, match="odd number"):
        PairSynthesizer(frames_per_pair=(8, 8))
    with pytest.raises(ValueError, match="patch_size"):
        PairSynthesizer(patch_size=0)
    with pytest.raises(ValueError, match="frame_fraction"):
        PairSynthesizer(frame_fraction=1.5)
    with pytest.raises(ValueError, match="exposure"):
        PairSynthesizer(exposure=(0.0, 2.0))
    with pytest.raises(ValueError, match="channel_gain"):
        PairSynthesizer(channel_gain=(1.2, 0.8))
