import keras
import numpy as np
import pytest

from keras_attn_deblur.layers import CropToReference, PadToMultiple
from tests.keras_test_case import TestCase


class PadToMultipleTest(TestCase):
    def test_layer_behaviors(self):
        self.run_layer_test(
            PadToMultiple,
            init_kwargs={"multiple": 4},
            input_shape=(2, 5, 7, 3),
            expected_output_shape=(2, 8, 8, 3),
            expected_num_trainable_weights=0,
            run_training_check=False,
        )

    def test_matches_numpy_reflect_padding(self):
        rng = np.random.default_rng(0)
        for height, width in ((5, 7), (4, 4), (9, 3), (6, 13)):
            images = rng.random((2, height, width, 3)).astype("float32")
            pad_h, pad_w = -height % 4, -width % 4
            expected = np.pad(images, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="reflect")
            self.assertAllClose(PadToMultiple(4)(images), expected)

    def test_images_narrower_than_the_padding_repeat_the_edge(self):
        images = np.arange(1 * 1 * 2 * 1, dtype="float32").reshape(1, 1, 2, 1)
        padded = np.asarray(PadToMultiple(4)(images))[0, :, :, 0]
        # numpy cannot reflect-pad these (it needs size > pad); edge values fill.
        self.assertAllClose(padded, np.array([[0, 1, 0, 0]] * 4, dtype="float32"))

    def test_invalid_multiple(self):
        with pytest.raises(ValueError, match="multiple=0"):
            PadToMultiple(0)


class CropToReferenceTest(TestCase):
    def test_crops_to_the_reference_size_with_dynamic_shapes(self):
        padded = keras.Input((None, None, 3))
        original = keras.Input((None, None, 3))
        model = keras.Model([padded, original], CropToReference()([padded, original]))
        values = np.random.default_rng(0).random((2, 8, 12, 3)).astype("float32")
        cropped = model.predict([values, values[:, :5, :9]], verbose=0)
        self.assertAllClose(cropped, values[:, :5, :9])

    def test_round_trip_with_padding(self):
        images = np.random.default_rng(1).random((1, 5, 7, 3)).astype("float32")
        padded = PadToMultiple(4)(images)
        self.assertAllClose(CropToReference()([padded, images]), images)
