import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_attn_deblur import PRESETS, AttnDeblurNet

# --- The SPEC table, written out --------------------------------------------
# (layer, kernel shape) for every convolution outside the attention blocks.
SPEC_PLAIN_CONVS = [
    ("enc1_conv", (5, 5, 3, 32)),  # 1  conv 1, stride 1
    ("enc2_conv", (5, 5, 32, 64)),  # 5  conv 2, stride 2
    ("enc3_conv", (5, 5, 64, 128)),  # 9  conv 3, stride 2
    ("dec2_conv", (5, 5, 128, 64)),  # 17 conv 4 (after x2 upsampling)
    ("dec1_conv", (5, 5, 64, 32)),  # 23 conv 5 (after x2 upsampling)
    ("output_conv", (5, 5, 32, 3)),  # 28 conv 6
]
# (block, input channels, filters) for the 18 attention blocks.
SPEC_BLOCKS = [
    ("enc1_attn1", 32, 32), ("enc1_attn2", 32, 32), ("enc1_attn3", 32, 32),  # 2-4
    ("enc2_attn1", 64, 64), ("enc2_attn2", 64, 64), ("enc2_attn3", 64, 64),  # 6-8
    ("enc3_attn1", 128, 128), ("enc3_attn2", 128, 128), ("enc3_attn3", 128, 128),  # 10-12
    ("dec3_attn1", 128, 128), ("dec3_attn2", 128, 128), ("dec3_attn3", 128, 128),  # 13-15
    ("dec2_attn1", 128, 64), ("dec2_attn2", 64, 64), ("dec2_attn3", 64, 64),  # 19-21, concat(S2, conv 4)
    ("dec1_attn1", 64, 32), ("dec1_attn2", 32, 32), ("dec1_attn3", 32, 32),  # 25-27, concat(S1, conv 5)
]


def _expected_block_kernels(name, in_channels, filters):
    hidden = filters // 4  # attention_reduction = 4
    kernels = [
        (f"{name}/conv_a/kernel", (5, 5, in_channels, filters)),
        (f"{name}/conv_b/kernel", (5, 5, filters, filters)),
        (f"{name}/attention_conv_1/kernel", (1, 1, filters, hidden)),
        (f"{name}/attention_conv_2/kernel", (1, 1, hidden, 1)),
    ]
    if in_channels != filters:
        kernels.append((f"{name}/shortcut/kernel", (1, 1, in_channels, filters)))
    return kernels


# Parameters counted by hand: k*k*in*out + out per convolution.
#   conv 1           5*5*3*32+32                               =     2,432
#   AB 32->32        2*(5*5*32*32+32) + (32*8+8) + (8*1+1)      =    51,537  x5 (1-1..1-3, 6-2, 6-3)
#   conv 2           5*5*32*64+64                              =    51,264
#   AB 64->64        2*(5*5*64*64+64) + (64*16+16) + (16+1)     =   205,985  x5 (2-1..2-3, 5-2, 5-3)
#   conv 3           5*5*64*128+128                            =   204,928
#   AB 128->128      2*(5*5*128*128+128) + (128*32+32) + (32+1) =   823,617  x6 (3-x, 4-x)
#   conv 4           5*5*128*64+64                             =   204,864
#   AB 5-1 128->64   (5*5*128*64+64) + (5*5*64*64+64) + (128*64+64) + 1,040 + 17 = 316,641
#   conv 5           5*5*64*32+32                              =    51,232
#   AB 6-1 64->32    (5*5*64*32+32) + (5*5*32*32+32) + (64*32+32) + 264 + 9     =  79,217
#   conv 6           5*5*32*3+3                                =     2,403
HAND_COUNT = (
    2_432 + 51_537 * 5 + 51_264 + 205_985 * 5 + 204_928 + 823_617 * 6
    + 204_864 + 316_641 + 51_232 + 79_217 + 2_403
)


def _tiny_model(**kwargs):
    config = {"filters": (4, 8, 8), "blocks_per_stage": 1, "kernel_size": 3}
    config.update(kwargs)
    return AttnDeblurNet(**config)


def test_kernel_shapes_match_the_spec_table():
    model = AttnDeblurNet()
    actual = {w.path: tuple(w.shape) for w in model.weights if w.path.endswith("kernel")}
    expected = {f"{name}/kernel": shape for name, shape in SPEC_PLAIN_CONVS}
    for block in SPEC_BLOCKS:
        expected.update(_expected_block_kernels(*block))
    assert actual == expected
    assert len(model.attention_block_names) == 18
    strides = {name: model.get_layer(name).strides for name, _ in SPEC_PLAIN_CONVS}
    assert strides == {
        "enc1_conv": (1, 1), "enc2_conv": (2, 2), "enc3_conv": (2, 2),
        "dec2_conv": (1, 1), "dec1_conv": (1, 1), "output_conv": (1, 1),
    }
    activations = {name: model.get_layer(name).activation.__name__ for name, _ in SPEC_PLAIN_CONVS}
    assert activations == {**{name: "relu" for name, _ in SPEC_PLAIN_CONVS[:5]}, "output_conv": "linear"}


def test_parameter_count_matches_hand_count():
    assert HAND_COUNT == 7_142_293
    assert AttnDeblurNet().count_params() == HAND_COUNT


def test_skip_connections_follow_the_spec():
    model = AttnDeblurNet()
    # concat(S2, conv 4): the skip first, 64 + 64 = 128 channels into AB 5-1.
    inbound = [t._keras_history.operation.name for t in model.get_layer("dec2_concat")._inbound_nodes[0].input_tensors]
    assert inbound == ["enc2_attn3", "dec2_conv"]
    inbound = [t._keras_history.operation.name for t in model.get_layer("dec1_concat")._inbound_nodes[0].input_tensors]
    assert inbound == ["enc1_attn3", "dec1_conv"]


def test_lite_preset_costs_about_a_quarter():
    patent, lite = AttnDeblurNet.from_preset("patent"), AttnDeblurNet.from_preset("lite")
    ratio = lite.multiply_adds_per_pixel() / patent.multiply_adds_per_pixel()
    assert 0.22 < ratio < 0.28
    # ~1.1 M multiply-adds (2.2 MFLOP) per pixel for the SPEC network.
    assert 1.05e6 < patent.multiply_adds_per_pixel() < 1.2e6
    assert sorted(PRESETS) == ["lite", "patent"]
    default_config = {**AttnDeblurNet().get_config(), "name": None}
    assert {**AttnDeblurNet.from_preset("patent").get_config(), "name": None} == default_config


@pytest.mark.parametrize("shape", [(1, 1, 1, 3), (2, 5, 7, 3), (1, 3, 50, 3), (1, 16, 16, 3), (1, 13, 9, 3)])
def test_any_height_and_width(shape):
    model = _tiny_model()
    images = np.random.default_rng(0).random(shape).astype("float32")
    assert tuple(model(images).shape) == shape
    assert model.predict(images, verbose=0).shape == shape


def test_global_residual_and_literal_output():
    images = np.random.default_rng(0).random((1, 10, 6, 3)).astype("float32")
    for global_residual, expected in ((True, images), (False, np.zeros_like(images))):
        model = _tiny_model(global_residual=global_residual)
        output_conv = model.get_layer("output_conv")
        output_conv.set_weights([np.zeros_like(w) for w in output_conv.get_weights()])
        # A zero conv 6 leaves the input (residual) or a black image (literal).
        np.testing.assert_allclose(model.predict(images, verbose=0), expected, atol=1e-6)


def test_transposed_upsampling_option():
    model = _tiny_model(upsampling="transposed")
    assert isinstance(model.get_layer("dec2_upsample"), keras.layers.Conv2DTranspose)
    assert model.predict(np.zeros((1, 7, 9, 3), "float32"), verbose=0).shape == (1, 7, 9, 3)


def test_attention_model_exposes_every_map():
    model = _tiny_model(blocks_per_stage=(1, 1, 1, 1, 1, 2))
    maps = model.attention_model()(np.random.default_rng(0).random((2, 13, 9, 3)).astype("float32"))
    assert list(maps) == ["enc1_attn1", "enc2_attn1", "enc3_attn1", "dec3_attn1", "dec2_attn1", "dec1_attn1", "dec1_attn2"]
    # Padded to 16 x 12, then halved per stage.
    assert tuple(maps["enc1_attn1"].shape) == (2, 16, 12, 1)
    assert tuple(maps["enc2_attn1"].shape) == (2, 8, 6, 1)
    assert tuple(maps["dec3_attn1"].shape) == (2, 4, 3, 1)
    values = np.concatenate([np.ravel(m) for m in maps.values()])
    assert np.all((values > 0) & (values < 1))
    with pytest.raises(ValueError, match="enc9_attn1"):
        model.attention_model(["enc9_attn1"])


def test_mixed_precision_computes_in_bfloat16_and_returns_float32():
    model = _tiny_model(dtype="mixed_bfloat16")
    assert model.get_layer("enc1_attn1").compute_dtype == "bfloat16"
    assert model.get_layer("enc1_attn1").conv_a.kernel.dtype == "float32"
    output = model(np.random.default_rng(0).random((1, 8, 8, 3)).astype("float32"))
    assert keras.backend.standardize_dtype(output.dtype) == "float32"


def test_config_round_trip():
    model = _tiny_model(blocks_per_stage=(1, 2, 1, 1, 2, 1), attention_reduction=2)
    config = model.get_config()
    assert json.loads(json.dumps(config)) == json.loads(json.dumps(config))
    clone = AttnDeblurNet.from_config(config)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()


def test_save_and_load_give_identical_outputs(tmp_path):
    model = _tiny_model()
    images = np.random.default_rng(0).random((2, 11, 7, 3)).astype("float32")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, AttnDeblurNet)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), model.predict(images, verbose=0))


_LOAD_ON_OTHER_BACKEND = """
import sys, numpy as np, keras, keras_attn_deblur
model = keras.saving.load_model(sys.argv[1])
np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))
print(keras.backend.backend())
"""


@pytest.mark.slow
def test_saved_model_loads_on_the_other_backend(tmp_path):
    other = "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"
    model = AttnDeblurNet.from_preset("lite")
    images = np.random.default_rng(0).random((1, 21, 30, 3)).astype("float32")
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "images.npy", images)
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_ON_OTHER_BACKEND, str(tmp_path / "model.keras"),
         str(tmp_path / "images.npy"), str(tmp_path / "restored.npy")],
        env={**os.environ, "KERAS_BACKEND": other}, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == other
    np.testing.assert_allclose(np.load(tmp_path / "restored.npy"), model.predict(images, verbose=0), atol=1e-5)


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((8, 8, 3), "float32"), r"shape=\(8, 8, 3\)"),
        (np.zeros((1, 8, 8, 1), "float32"), r"shape=\(1, 8, 8, 1\)"),
        (np.zeros((1, 8, 8, 4), "float32"), r"shape=\(1, 8, 8, 4\)"),
        (np.zeros((1, 8, 8, 3), "uint8"), "dtype=uint8"),
        (np.zeros((1, 0, 8, 3), "float32"), r"shape=\(1, 0, 8, 3\)"),
        (np.zeros((1, 8, 0, 3), "float32"), r"shape=\(1, 8, 0, 3\)"),
    ],
)
def test_bad_images_raise_clear_errors(images, message):
    model = _tiny_model()
    with pytest.raises(ValueError, match=message):
        model(images)
    with pytest.raises(ValueError, match=message):
        model.predict(images, verbose=0)


def test_mismatched_fit_pair_raises():
    model = _tiny_model()
    model.compile(loss="mae")
    with pytest.raises(ValueError, match=r"y.shape=\(2, 8, 6, 3\)"):
        model.fit(np.zeros((2, 8, 8, 3), "float32"), np.zeros((2, 8, 6, 3), "float32"), verbose=0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"filters": (32, 64)}, "filters="),
        ({"blocks_per_stage": (3, 3)}, "blocks_per_stage="),
        ({"blocks_per_stage": 0}, "blocks_per_stage=0"),
        ({"upsampling": "nearest"}, "upsampling='nearest'"),
        ({"kernel_size": 0}, "kernel_size=0"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AttnDeblurNet(**kwargs)


def test_unknown_preset_lists_the_available_ones():
    with pytest.raises(ValueError, match="lite.*patent"):
        AttnDeblurNet.from_preset("large")
