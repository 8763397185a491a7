"""Tests of `keras_attn_deblur.visualize`: the pictures, their panels and their numbers."""

import os
import sys

import keras
import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio
from skimage.metrics import structural_similarity

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import visualize


def scene(height=48, width=64, seed=0):
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width] / width
    image = np.stack([0.2 + 0.5 * rng.uniform() * (rows + cols) for _ in range(3)], axis=-1)
    for _ in range(5):
        top, left = rng.integers(0, height - 10), rng.integers(0, width - 10)
        image[top : top + 10, left : left + 10] = rng.uniform(size=3)
    return np.clip(image, 0, 1).astype("float32")


def quantised(image):
    return np.round(np.clip(image, 0, 1) * 255).astype("uint8")


def skimage_caption_numbers(sharp, image):
    sharp_8bit, image_8bit = quantised(sharp), quantised(image)
    value_psnr = peak_signal_noise_ratio(sharp_8bit, image_8bit, data_range=255)
    value_ssim = structural_similarity(
        sharp_8bit, image_8bit, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False, data_range=255, channel_axis=-1,
    )
    return f"PSNR {value_psnr:.2f} dB", f"SSIM {value_ssim:.4f}"


def visible_axes(figure):
    return [axis for axis in figure.axes if axis.get_visible()]


def test_side_by_side_captions_hold_independent_scores_and_zooms_find_the_change(tmp_path):
    sharp = scene()
    blurry = np.clip(sharp + 0.05, 0, 1)
    restored = blurry.copy()
    restored[30:42, 40:52] = sharp[30:42, 40:52]  # the only region the "network" changed
    path = tmp_path / "comparison.png"
    figure = visualize.side_by_side(
        blurry, restored, sharp, num_zooms=1, zoom_size=12, path=path, dpi=50
    )

    axes = visible_axes(figure)
    assert len(axes) == 6  # 3 panels, each with 1 zoomed crop
    panels = [axis for axis in axes if not axis.get_title().startswith("zoom")]
    crops = [axis for axis in axes if axis.get_title().startswith("zoom")]
    titles = [axis.get_title() for axis in panels]
    for title, image in ((titles[0], blurry), (titles[1], restored)):
        for number in skimage_caption_numbers(sharp, image):
            assert number in title, (number, title)
    assert titles[2].startswith("sharp")
    assert {axis.get_title() for axis in crops} == {"zoom 1: y 30-41, x 40-51"}

    with Image.open(path) as picture:
        width, height = picture.size
    figure_width, figure_height = figure.get_size_inches()
    assert abs(width - figure_width * 50) <= 1 and abs(height - figure_height * 50) <= 1
    assert width > height  # three panels side by side
    assert os.listdir(tmp_path) == ["comparison.png"]  # written atomically, no temp left


def test_side_by_side_without_sharp_has_two_panels_and_no_scores():
    blurry = scene(seed=1)
    figure = visualize.side_by_side(blurry, blurry * 0.9, zoom_boxes=None)
    axes = visible_axes(figure)
    assert len(axes) == 2
    assert all("PSNR" not in axis.get_title() for axis in axes)


def test_side_by_side_takes_user_boxes_and_8_bit_input():
    sharp = quantised(scene(seed=2))
    boxes = [(0, 0, 8, 16), (20, 30, 10, 10)]
    figure = visualize.side_by_side(sharp, sharp, sharp, zoom_boxes=boxes)
    titles = [axis.get_title() for axis in visible_axes(figure)]
    assert len(titles) == 9  # 3 panels, each with 2 crops
    assert "PSNR inf dB" in titles[0]
    assert titles.count("zoom 2: y 20-29, x 30-39") == 3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(zoom_boxes=[(40, 60, 16, 16)]), "does not fit"),
        (dict(zoom_boxes="everywhere"), "zoom_boxes"),
    ],
)
def test_side_by_side_rejects_bad_boxes(kwargs, message):
    image = scene()
    with pytest.raises(ValueError, match=message):
        visualize.side_by_side(image, image, **kwargs)


def test_side_by_side_rejects_images_of_different_sizes():
    with pytest.raises(ValueError, match="one size"):
        visualize.side_by_side(scene(), scene(height=40))


def tiny_model():
    keras.utils.set_random_seed(0)
    return AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=(1, 1, 1, 1, 1, 2), kernel_size=3)


def test_attention_overlay_has_one_panel_per_stage_and_colour_bars(tmp_path):
    model = tiny_model()
    path = tmp_path / "attention.png"
    figure = visualize.attention_overlay(model, scene(height=30, width=42), path=path, dpi=40)
    titles = [axis.get_title() for axis in visible_axes(figure) if axis.get_title()]
    expected_blocks = ["enc1_attn1", "enc2_attn1", "enc3_attn1", "dec3_attn1", "dec2_attn1",
                       "dec1_attn2"]
    assert titles[0] == "input"
    assert [title.split(" ")[0] for title in titles[1:]] == expected_blocks
    # 7 image panels, one colour bar per heat map, and the hidden 8th grid cell.
    assert len(figure.axes) == 7 + 6 + 1
    with Image.open(path) as picture:
        assert picture.size[0] > picture.size[1] > 50


def test_attention_overlay_on_one_shared_scale():
    model = tiny_model()
    figure = visualize.attention_overlay(
        model, scene(height=30, width=42), block_names=["enc1_attn1", "dec1_attn2"],
        value_range=(0, 1),
    )
    assert len(figure.axes) == 3 + 1  # three panels in one row, one colour bar
    colorbar_axis = figure.axes[-1]
    assert "attention weight" in colorbar_axis.get_ylabel()
    assert colorbar_axis.get_ylim() == (0.0, 1.0)
    with pytest.raises(ValueError, match="value_range"):
        visualize.attention_overlay(model, scene(), value_range="rainbow")


def test_attention_maps_are_cropped_to_the_image_and_match_the_model():
    model = tiny_model()
    image = scene(height=30, width=42)  # padded to 32 x 44 inside the model
    maps = visualize.attention_maps(model, image, block_names=["enc1_attn1", "enc3_attn1"])
    assert list(maps) == ["enc1_attn1", "enc3_attn1"]
    raw = model.attention_model(["enc1_attn1", "enc3_attn1"])(image[None])
    full_resolution = keras.ops.convert_to_numpy(raw["enc1_attn1"])[0, :, :, 0]
    assert full_resolution.shape == (32, 44)
    np.testing.assert_allclose(maps["enc1_attn1"], full_resolution[:30, :42], atol=1e-6)
    quarter = keras.ops.convert_to_numpy(raw["enc3_attn1"])[0, :, :, 0]
    assert quarter.shape == (8, 11)
    assert maps["enc3_attn1"].shape == (30, 42)
    # Bilinear upsampling stays within the range of the coarse map.
    assert quarter.min() - 1e-6 <= maps["enc3_attn1"].min()
    assert maps["enc3_attn1"].max() <= quarter.max() + 1e-6


def test_unknown_block_is_an_error_that_lists_the_blocks():
    with pytest.raises(ValueError, match="Unknown attention block names"):
        visualize.attention_maps(tiny_model(), scene(), block_names=["enc9_attn1"])


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"keras-attn-deblur\[viz\]"):
        visualize.side_by_side(scene(), scene())


def test_saving_into_a_missing_folder_is_an_error(tmp_path):
    image = scene()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        visualize.side_by_side(image, image, path=tmp_path / "missing" / "x.png")
