"""Frame averaging: blurry images from consecutive video frames, as GoPro was made (NumPy).

A long exposure collects the light of every instant, so averaging 7 to 13
consecutive 240 fps frames gives a realistic motion-blurred image whose sharp
target is the middle frame (Nah et al., 2017).

- `average_frames`: the mean of a window of frames, in linear or gamma space.
- `frame_averaged_pairs`: (blurry, sharp, name) pairs from a folder or list of
  frames in time order.
- `odd_frame_counts`: the window lengths a `frames_per_pair` range allows;
  `PairSynthesizer` follows the same rule on the accelerator.

Reference: S. Nah, T. H. Kim and K. M. Lee, "Deep multi-scale convolutional
neural network for dynamic scene deblurring", CVPR 2017 (the GoPro dataset).
"""

import os

import numpy as np

from keras_attn_deblur._utils.paths import IMAGE_EXTENSIONS
from keras_attn_deblur._utils.validation import check_choice
from keras_attn_deblur._utils.validation import check_positive_int
from keras_attn_deblur.io.decode import load_image
from keras_attn_deblur.data.synthetic._checks import as_generator
from keras_attn_deblur.data.synthetic._checks import check_number
from keras_attn_deblur.data.synthetic._checks import check_range

_AVERAGING_SPACES = ("linear", "gamma")


def average_frames(frames, space="gamma", gamma=2.2):
    """Averages consecutive video frames into one motion-blurred image.

    A long exposure collects the light of every instant, so a blurry image is
    the mean of the sharp frames seen during the exposure. The frames are
    stored through the camera response (gamma-encoded), hence two choices,
    the two blur folders of the GoPro dataset:

    - `space="linear"`: assume a linear camera response and take the plain
      mean of the stored values. This is GoPro_Large's `blur/` folder, the one
      papers train and evaluate on.
    - `space="gamma"`: assume a gamma-`gamma` response: linearise
      (`x ** gamma`), take the mean, and re-encode (`** (1 / gamma)`). This is
      GoPro_Large's `blur_gamma/` folder ("blurred images generated with gamma
      correction", gamma 2.2 per Nah et al.); it is the physically closer
      model, with brighter streaks from highlights.

    Args:
        frames: a sequence of float arrays of one shape, or one array
            `(N, H, W, C)`, values in `[0, 1]`.
        space: str. `"linear"` or `"gamma"`, as above. Defaults to `"gamma"`.
        gamma: float. The camera-response gamma for `space="gamma"`.
            Defaults to `2.2`.

    Returns:
        A float32 array of one frame's shape.

    Example:

    ```python
    import numpy as np
    from keras_attn_deblur.data import average_frames

    dark, bright = np.zeros((4, 4, 3)), np.ones((4, 4, 3))
    average_frames([dark, bright], space="linear")  # 0.5 everywhere
    average_frames([dark, bright], space="gamma")   # 0.5 ** (1 / 2.2) = 0.73
    ```
    """
    check_choice("space", space, _AVERAGING_SPACES)
    check_number("gamma", gamma, minimum=0.0, inclusive=False)
    if len(frames) == 0:
        raise ValueError(
            "`frames` must contain at least one frame. Received: frames=[]"
        )
    shape = np.shape(frames[0])
    total = np.zeros(shape, dtype="float64")
    for index, frame in enumerate(frames):
        frame = np.asarray(frame, dtype="float64")
        if frame.shape != shape:
            raise ValueError(
                "All frames must have the same shape. Received: frame 0 with "
                f"shape {shape} and frame {index} with shape {frame.shape}"
            )
        total += np.power(np.maximum(frame, 0.0), gamma) if space == "gamma" else frame
    mean = total / len(frames)
    if space == "gamma":
        mean = np.power(mean, 1.0 / gamma)
    return mean.astype("float32")


def frame_averaged_pairs(
    frame_paths,
    *,
    frames_per_pair=(7, 13),
    stride=None,
    space="gamma",
    gamma=2.2,
    rng=None,
):
    """Yields (blurry, sharp, name) pairs made from consecutive video frames.

    The frames are taken in the given order in windows of an odd number of
    consecutive frames, drawn from `frames_per_pair` for each pair (GoPro used
    7 to 13 frames of 240 fps video). The blurry image is `average_frames` of
    the window, the sharp image is its middle frame, and `name` is the middle
    frame's file name without extension. Windows do not overlap by default.
    A last window that would run past the final frame is dropped.

    Args:
        frame_paths: a sequence of image paths in time order, or a directory
            whose image files (sorted by name) are the frames.
        frames_per_pair: int or `(low, high)` ints. Frames averaged per pair;
            only odd counts are used (the middle frame must exist). Defaults
            to `(7, 13)`.
        stride: int or `None`. Frames between the starts of two windows;
            `None` starts each window right after the previous one ends.
            Defaults to `None`.
        space: str. `"linear"` (GoPro's `blur/`) or `"gamma"` (GoPro's
            `blur_gamma/`); see `average_frames`. Defaults to `"gamma"`.
        gamma: float. The camera-response gamma. Defaults to `2.2`.
        rng: `numpy.random.Generator`, int seed or `None`; draws the window
            lengths. Defaults to `None`.

    Yields:
        Tuples `(blurry, sharp, name)`: two float32 `(H, W, 3)` arrays in
        `[0, 1]` and a string.

    Example:

    ```python
    from keras_attn_deblur.data import frame_averaged_pairs

    for blurry, sharp, name in frame_averaged_pairs("video_frames/", rng=0):
        ...
    ```
    """
    odd_counts = list(odd_frame_counts(frames_per_pair))
    check_positive_int("stride", stride, allow_none=True)
    check_choice("space", space, _AVERAGING_SPACES)
    frame_paths = _frame_list(frame_paths)
    rng = as_generator(rng)
    return _frame_pair_generator(frame_paths, odd_counts, stride, space, gamma, rng)


def odd_frame_counts(frames_per_pair):
    """The odd window lengths a `frames_per_pair` int or `(low, high)` allows, as a tuple."""
    low, high = check_range("frames_per_pair", frames_per_pair, minimum=1, integer=True)
    counts = tuple(count for count in range(low, high + 1) if count % 2 == 1)
    if not counts:
        raise ValueError(
            "`frames_per_pair` must allow an odd number of frames (the sharp "
            "target is the middle frame). "
            f"Received: frames_per_pair={frames_per_pair}"
        )
    return counts


def _frame_pair_generator(frame_paths, odd_counts, stride, space, gamma, rng):
    cache = {}
    start = 0
    while True:
        count = odd_counts[int(rng.integers(len(odd_counts)))]
        if start + count > len(frame_paths):
            return
        window = range(start, start + count)
        for index in window:
            if index not in cache:
                cache[index] = load_image(frame_paths[index])
        frames = [cache[index] for index in window]
        middle = start + count // 2
        name = os.path.splitext(os.path.basename(str(frame_paths[middle])))[0]
        yield average_frames(frames, space=space, gamma=gamma), cache[middle], name
        start += count if stride is None else stride
        for index in [index for index in cache if index < start]:
            del cache[index]


def _frame_list(frame_paths):
    if isinstance(frame_paths, (str, os.PathLike)):
        directory = os.fspath(frame_paths)
        if not os.path.isdir(directory):
            raise ValueError(
                "`frame_paths` must be a directory of frames or a list of image "
                f"paths. Received: frame_paths={directory!r}, not a directory"
            )
        frame_paths = [
            os.path.join(directory, name)
            for name in sorted(os.listdir(directory))
            if name.lower().endswith(IMAGE_EXTENSIONS)
        ]
    frame_paths = list(frame_paths)
    if not frame_paths:
        raise ValueError(
            "`frame_paths` holds no image files; pass the frames of a video in "
            "time order. Received: frame_paths=[]"
        )
    return frame_paths
