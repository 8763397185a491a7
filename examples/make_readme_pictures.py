"""
Title: README pictures: before/after with zoomed crops, and attention maps
Description: Draws the two pictures of the README with
`keras_attn_deblur.visualize` on a real frame-averaged GoPro pair the network
never saw: with the bundled pretrained weights (`--model patent`), or after
training a small AttnDeblurNet for about a minute.

How to run:
    python examples/make_readme_pictures.py --model patent --downscale 1   # the README's
    python examples/make_readme_pictures.py                   # a 1-minute model, ~1.5 min
    python examples/make_readme_pictures.py --seconds 10 --output-dir /tmp/pictures

The pairs are made the way the GoPro dataset was made (Nah et al. 2017): 7 to
13 consecutive 240 fps frames averaged in linear light (the `blur/` folders),
the middle frame being the sharp target. Frames 1-200 of sequence
GOPR0477_11_00 (in `../shared/data`) train; the picture's pair is frames
245-255, so no frame is in both. A minute of CPU training on one scene is
very little: the pictures show what the tools draw, not what a trained
network achieves.
"""

import argparse
import glob
import os
import time

import keras
import numpy as np

import keras_attn_deblur as kad
from keras_attn_deblur import data
from keras_attn_deblur import visualize
from keras_attn_deblur.inference import deblur

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FRAMES = os.path.join(ROOT, "..", "shared", "data", "gopro_GOPR0477_11_00", "frames")


def frame_paths(folder):
    paths = sorted(
        glob.glob(os.path.join(folder, "*.jpg")) + glob.glob(os.path.join(folder, "*.png"))
    )
    if not paths:
        raise SystemExit(f"No frames (*.jpg, *.png) in '{folder}'.")
    return paths


# ## Data: frame-averaged pairs, random crops


def downscale(image, factor):
    """Averages `factor x factor` blocks (the blur shrinks by `factor` too)."""
    if factor == 1:
        return image
    height = image.shape[0] // factor * factor
    width = image.shape[1] // factor * factor
    blocks = image[:height, :width].reshape(height // factor, factor, width // factor, factor, 3)
    return blocks.mean(axis=(1, 3)).astype("float32")


def training_pairs(paths, stride, factor, seed):
    pairs = data.frame_averaged_pairs(paths, frames_per_pair=(7, 13), stride=stride,
                                      space="linear", rng=seed)
    return [(downscale(blurry, factor), downscale(sharp, factor)) for blurry, sharp, _ in pairs]


def random_patches(pairs, batch_size, patch_size, seed):
    """Endless batches of aligned random crops with random flips."""
    rng = np.random.default_rng(seed)
    while True:
        blurry_batch, sharp_batch = [], []
        for _ in range(batch_size):
            blurry, sharp = pairs[rng.integers(len(pairs))]
            blurry, sharp = data.random_crop_pair(blurry, sharp, patch_size, rng)
            blurry, sharp = data.random_flip_pair(blurry, sharp, rng)
            blurry_batch.append(blurry)
            sharp_batch.append(sharp)
        yield np.stack(blurry_batch), np.stack(sharp_batch)


class StopAfter(keras.callbacks.Callback):
    """Stops training after a wall-clock budget."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self.started = time.time()
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if time.time() - self.started > self.seconds:
            self.model.stop_training = True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--frames", default=DEFAULT_FRAMES, help="folder of consecutive frames")
    parser.add_argument("--train-frames", type=int, default=200, help="first N frames train")
    parser.add_argument("--picture-middle", type=int, default=250, help="1-based middle frame")
    parser.add_argument("--picture-frames", type=int, default=11, help="frames averaged")
    parser.add_argument(
        "--model", default=None,
        help="draw with this trained model (a preset with bundled weights, a folder, a "
        ".keras file) instead of training one",
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="training time budget")
    parser.add_argument("--max-steps", type=int, default=100_000)
    parser.add_argument("--patch-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--stride", type=int, default=5, help="frames between training windows")
    parser.add_argument("--downscale", type=int, default=2,
                        help="shrink frames by this factor (the blur too): 1280x720 -> 640x360")
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--dpi", type=int, default=140, help="picture resolution")
    parser.add_argument("--output-dir", default=os.path.join(ROOT, "docs", "images"))
    args = parser.parse_args(argv)

    paths = frame_paths(args.frames)
    half = args.picture_frames // 2
    window = paths[args.picture_middle - 1 - half : args.picture_middle + half]
    if len(window) != args.picture_frames or args.picture_middle - 1 - half < args.train_frames:
        raise SystemExit("The picture's frames must exist and come after the training frames.")
    # Averaged at full size, then shrunk: as the training pairs were made.
    frames = [data.load_image(path) for path in window]
    blurry = downscale(data.average_frames(frames, space="linear"), args.downscale)
    sharp = downscale(frames[half], args.downscale)

    if args.model:  # a bundled name, a save_pretrained folder, a .keras file or a Hub id
        model = kad.AttnDeblurNet.from_pretrained(args.model)
    else:
        model = train_for(paths, args)
    draw(model, blurry, sharp, args)


def train_for(paths, args):
    """A narrow network, the recipe with MSE (fast on short runs), for a time budget."""
    pairs = training_pairs(paths[: args.train_frames], args.stride, args.downscale, seed=0)
    keras.utils.set_random_seed(0)
    model = kad.AttnDeblurNet(filters=(16, 32, 32), blocks_per_stage=1, kernel_size=3)
    model = kad.compile_for_deblurring(model, learning_rate=args.learning_rate, loss="mse")

    # ## Training for a fixed time budget
    stopper = StopAfter(args.seconds)
    model.fit(
        random_patches(pairs, args.batch_size, args.patch_size, seed=0),
        steps_per_epoch=args.max_steps,
        epochs=1,
        shuffle=False,  # the generator draws random patches itself
        callbacks=[stopper],
        verbose=0,
    )
    print(f"trained {stopper.steps} steps of {args.batch_size} x {args.patch_size}^2 patches "
          f"from {len(pairs)} pairs in {time.time() - stopper.started:.0f} s")
    return model


def draw(model, blurry, sharp, args):
    """The side-by-side comparison and the attention overlay, into `--output-dir`."""
    restored = deblur(model, blurry)
    os.makedirs(args.output_dir, exist_ok=True)
    comparison = os.path.join(args.output_dir, "side_by_side.jpg")
    figure = visualize.side_by_side(blurry, restored, sharp, path=comparison, dpi=args.dpi)
    for axis in figure.axes:
        if axis.get_title().startswith(("blurry", "restored")):
            print(axis.get_title().replace("\n", ": "))
    attention = os.path.join(args.output_dir, "attention_overlay.jpg")
    visualize.attention_overlay(model, blurry, path=attention, dpi=args.dpi)
    print(f"pictures written to '{comparison}' and '{attention}'")


if __name__ == "__main__":
    main()
