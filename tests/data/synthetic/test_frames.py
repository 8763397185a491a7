"""Tests for `keras_attn_deblur.data.synthetic.frames` (frame averaging), pure NumPy."""

import os

import numpy as np
import pytest
from PIL import Image

from keras_attn_deblur.data.synthetic.frames import average_frames
from keras_attn_deblur.data.synthetic.frames import frame_averaged_pairs

# --------------------------------------------------------------------------
# Frame averaging
# --------------------------------------------------------------------------


def test_average_frames_by_hand():
    constant = [np.full((4, 5, 3), 0.3, dtype="float32")] * 5
    for space in ("linear", "gamma"):
        np.testing.assert_allclose(
            average_frames(constant, space=space), 0.3, atol=1e-6
        )
    dark, bright = np.zeros((2, 2, 3)), np.ones((2, 2, 3))
    np.testing.assert_allclose(average_frames([dark, bright], space="linear"), 0.5)
    np.testing.assert_allclose(
        average_frames([dark, bright], space="gamma"), 0.5 ** (1 / 2.2), rtol=1e-6
    )
    frames = np.random.default_rng(0).uniform(size=(7, 6, 8, 3))
    np.testing.assert_allclose(
        average_frames(frames, space="gamma"),
        np.mean(frames**2.2, axis=0) ** (1 / 2.2),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        average_frames(list(frames), space="linear"), frames.mean(0), rtol=1e-5
    )


def write_frames(directory, count):
    """Frame i is a flat PNG of value 2 * i / 255, so a window is readable."""
    paths = []
    for index in range(count):
        path = os.path.join(directory, f"{index:06d}.png")
        Image.fromarray(np.full((8, 10, 3), 2 * index, dtype="uint8")).save(path)
        paths.append(path)
    return paths


def test_frame_averaged_pairs_windows(tmp_path):
    paths = write_frames(str(tmp_path), 60)
    pairs = list(
        frame_averaged_pairs(paths, frames_per_pair=(7, 13), space="gamma", rng=0)
    )
    assert len(pairs) >= 4
    next_start = 0
    lengths = set()
    for blurry, sharp, name in pairs:
        middle = int(name)
        assert sharp.shape == (8, 10, 3) and blurry.dtype == np.float32
        np.testing.assert_allclose(sharp, 2 * middle / 255, atol=1e-6)
        # Windows touch and do not overlap: this one starts where the last
        # ended, and the target is its middle frame.
        half = middle - next_start
        assert 3 <= half <= 6  # 7 to 13 frames
        window = 2 * np.arange(next_start, middle + half + 1) / 255.0
        np.testing.assert_allclose(blurry, np.mean(window**2.2) ** (1 / 2.2), rtol=1e-5)
        next_start = middle + half + 1
        lengths.add(2 * half + 1)
    assert len(lengths) >= 2  # the window length is drawn per pair
    # Same seed, same windows; another seed, other windows.
    names = [name for _, _, name in pairs]
    again = [name for _, _, name in frame_averaged_pairs(paths, rng=0)]
    assert names == again
    assert names != [name for _, _, name in frame_averaged_pairs(paths, rng=1)]


def test_frame_averaged_pairs_gamma_fixed_length_stride_and_directory(tmp_path):
    write_frames(str(tmp_path), 10)
    pairs = list(
        frame_averaged_pairs(str(tmp_path), frames_per_pair=3, stride=2, space="gamma")
    )
    # Windows [0, 1, 2], [2, 3, 4], ..., [6, 7, 8]: middles 1, 3, 5, 7.
    assert [name for _, _, name in pairs] == ["000001", "000003", "000005", "000007"]
    blurry, sharp, _ = pairs[0]
    values = np.array([0, 2, 4]) / 255.0
    np.testing.assert_allclose(blurry, np.mean(values**2.2) ** (1 / 2.2), rtol=1e-5)
    np.testing.assert_allclose(sharp, 2 / 255, atol=1e-6)


# --------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: average_frames([np.zeros(3)], space="log"), "space"),
        (lambda: average_frames([], space="linear"), "frames"),
        (lambda: average_frames([np.zeros(3), np.zeros(4)]), "frame"),
        (
            lambda: frame_averaged_pairs(["a.png"], frames_per_pair=(8, 8)),
            "frames_per_pair",
        ),
        (lambda: frame_averaged_pairs(["a.png"], stride=0), "stride"),
        (lambda: frame_averaged_pairs([]), "frame_paths"),
        (lambda: frame_averaged_pairs("/no/such/folder"), "frame_paths"),
    ],
)
def test_bad_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        call()
