import numpy as np
import pytest

from keras_attn_deblur import SpatialAttentionBlock
from tests.keras_test_case import TestCase


def _conv_same(images, kernel, bias):
    """Reference 'same' convolution (cross-correlation) in numpy, float64."""
    size = kernel.shape[0]
    pad = size // 2
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    height, width = images.shape[1:3]
    output = np.zeros(images.shape[:3] + (kernel.shape[-1],))
    for dy in range(size):
        for dx in range(size):
            window = padded[:, dy : dy + height, dx : dx + width, :]
            output += np.einsum("bhwc,cf->bhwf", window, kernel[dy, dx])
    return output + bias


def _block_reference(block, images):
    """out = shortcut(x) + sigmoid(a2(relu(a1(f)))) * f, f = b(relu(a(x)))."""

    def conv(layer, values):
        kernel, bias = (np.asarray(w, dtype="float64") for w in layer.get_weights())
        return _conv_same(values, kernel, bias)

    features = conv(block.conv_b, np.maximum(conv(block.conv_a, images), 0))
    hidden = np.maximum(conv(block.attention_conv_1, features), 0)
    attention = 1 / (1 + np.exp(-conv(block.attention_conv_2, hidden)))
    shortcut = images if block.shortcut is None else conv(block.shortcut, images)
    return shortcut + attention * features, attention


class SpatialAttentionBlockTest(TestCase):
    def test_layer_behaviors_identity_shortcut(self):
        self.run_layer_test(
            SpatialAttentionBlock,
            init_kwargs={"filters": 8, "kernel_size": 3, "attention_reduction": 2},
            input_shape=(2, 8, 8, 8),
            expected_output_shape=(2, 8, 8, 8),
            # conv_a, conv_b, two attention 1x1 convs: kernel + bias each.
            expected_num_trainable_weights=8,
            expected_num_non_trainable_weights=0,
        )

    def test_layer_behaviors_projection_shortcut(self):
        self.run_layer_test(
            SpatialAttentionBlock,
            init_kwargs={"filters": 4, "kernel_size": 5},
            input_shape=(2, 6, 10, 8),
            expected_output_shape=(2, 6, 10, 4),
            # ... plus the 1x1 projection shortcut.
            expected_num_trainable_weights=10,
        )

    def test_layer_behaviors_returning_attention(self):
        self.run_layer_test(
            SpatialAttentionBlock,
            init_kwargs={"filters": 4, "kernel_size": 3, "return_attention": True},
            input_shape=(2, 6, 6, 4),
            expected_output_shape=((2, 6, 6, 4), (2, 6, 6, 1)),
            run_training_check=False,
        )

    def test_matches_numpy_reference(self):
        rng = np.random.default_rng(0)
        images = rng.random((2, 9, 7, 6)).astype("float32")
        for filters in (6, 4):  # identity and projection shortcut
            block = SpatialAttentionBlock(filters, kernel_size=3, return_attention=True)
            outputs, attention = block(images)
            expected_outputs, expected_attention = _block_reference(block, images)
            self.assertAllClose(outputs, expected_outputs, atol=1e-4)
            self.assertAllClose(attention, expected_attention, atol=1e-5)

    def test_attention_is_a_spatial_map_in_unit_interval(self):
        block = SpatialAttentionBlock(16, return_attention=True)
        images = np.random.default_rng(1).random((1, 12, 20, 16)).astype("float32")
        _, attention = block(images)
        attention = np.asarray(attention)
        self.assertEqual(attention.shape, (1, 12, 20, 1))
        self.assertTrue(np.all((attention > 0) & (attention < 1)))
        # One weight per position: it varies over space.
        self.assertGreater(attention.std(), 0)

    def test_attention_width(self):
        block = SpatialAttentionBlock(32, attention_reduction=4)
        block.build((None, None, None, 32))
        self.assertEqual(tuple(block.attention_conv_1.kernel.shape), (1, 1, 32, 8))
        self.assertEqual(tuple(block.attention_conv_2.kernel.shape), (1, 1, 8, 1))
        tiny = SpatialAttentionBlock(2, attention_reduction=4)
        tiny.build((None, None, None, 2))
        self.assertEqual(tuple(tiny.attention_conv_1.kernel.shape), (1, 1, 2, 1))

    def test_invalid_arguments(self):
        for kwargs, name in (
            ({"filters": 0}, "filters=0"),
            ({"filters": 8, "kernel_size": 2.5}, "kernel_size=2.5"),
            ({"filters": 8, "attention_reduction": -1}, "attention_reduction=-1"),
        ):
            with pytest.raises(ValueError, match=name):
                SpatialAttentionBlock(**kwargs)
