import numpy as np

from keras_attn_deblur.layers import BilinearUpSampling2D
from tests.keras_test_case import TestCase


class BilinearUpSampling2DTest(TestCase):
    def test_layer_behaviors(self):
        self.run_layer_test(
            BilinearUpSampling2D,
            init_kwargs={},
            input_shape=(2, 3, 5, 4),
            expected_output_shape=(2, 6, 10, 4),
            expected_num_trainable_weights=0,
            run_training_check=False,
        )

    def test_matches_tf_image_resize(self):
        tf = __import__("tensorflow")
        rng = np.random.default_rng(0)
        for height, width in ((1, 1), (1, 4), (3, 5), (8, 8)):
            images = rng.random((2, height, width, 3)).astype("float32")
            expected = tf.image.resize(images, (2 * height, 2 * width), "bilinear")
            self.assertAllClose(BilinearUpSampling2D()(images), expected, atol=1e-6)

    def test_matches_jax_image_resize(self):
        jax = __import__("jax")
        images = np.random.default_rng(1).random((1, 6, 4, 2)).astype("float32")
        expected = jax.image.resize(images, (1, 12, 8, 2), "bilinear")
        self.assertAllClose(BilinearUpSampling2D()(images), np.asarray(expected), atol=1e-6)
