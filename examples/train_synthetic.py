"""
Title: Train a deblurring network from sharp photos only
Description: No blurry/sharp pairs? Each training step blurs crops of your
sharp photos with realistic synthetic motion blur (camera-shake kernels,
spatially varying blur, moving objects, noise, JPEG), trains AttnDeblurNet on
the pairs, and the result restores a freshly blurred held-out photo.

How to run:
    python examples/train_synthetic.py --photos my_sharp_photos
    python examples/train_synthetic.py --photos ../shared/data/train_photos \\
        --val-photos ../shared/data/val_photos --preset lite --epochs 50 --steps 500
    python examples/train_synthetic.py --photos my_sharp_photos --tiny   # seconds

`--tiny` trains a very small network for two steps on 32-pixel crops: it only
shows that everything runs.
"""

import argparse
import os

import keras
import numpy as np
from PIL import Image

import keras_attn_deblur as kad
from keras_attn_deblur import data
from keras_attn_deblur.data import IMAGE_EXTENSIONS


def parse_args():
    parser = argparse.ArgumentParser(description="Train AttnDeblurNet on synthetic blur.")
    parser.add_argument("--photos", required=True, help="folder of sharp photos (recursive)")
    parser.add_argument("--val-photos", help="validation photos; default: 10%% of --photos")
    parser.add_argument("--preset", default="lite", choices=sorted(kad.PRESETS))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=200, help="training steps per epoch")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--patch-size", type=int, default=256)
    parser.add_argument("--pipeline", default="auto", choices=("auto", "tf", "python"))
    parser.add_argument("--output", default="runs/train_synthetic", help="run folder")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke run")
    args = parser.parse_args()
    if args.tiny:
        args.epochs, args.steps, args.batch_size, args.patch_size = 1, 2, 2, 32
    return args


def list_photos(folder):
    return sorted(
        os.path.join(directory, name)
        for directory, _, names in os.walk(folder)
        for name in names
        if name.lower().endswith(IMAGE_EXTENSIONS)
    )


def main():
    args = parse_args()
    keras.utils.set_random_seed(0)

    # ## Data: sharp photos in, synthetically blurred aligned pairs out
    blur = data.SyntheticMotionBlur()  # Every argument is a documented knob.
    photos = list_photos(args.photos)
    if not photos:
        raise SystemExit(f"No photos found in {args.photos!r} ({', '.join(IMAGE_EXTENSIONS)}).")
    if args.val_photos:
        train_photos, val_photos = photos, list_photos(args.val_photos)
    else:
        num_val = max(1, len(photos) // 10) if len(photos) > 1 else 0
        train_photos, val_photos = photos[num_val:], photos[:num_val]
    print(f"{len(train_photos)} training photos, {len(val_photos)} validation photos, "
          f"pipeline: {data.resolve_pipeline(args.pipeline)}")
    train_ds = data.synthetic_dataset(
        train_photos,
        batch_size=args.batch_size,
        patch_size=args.patch_size,
        blur=blur,
        steps_per_epoch=args.steps,
        pipeline=args.pipeline,
        seed=0,
    )
    # A fixed validation set: centre crops, the same blur every epoch.
    val_ds = None
    if val_photos:
        val_ds = data.synthetic_dataset(
            val_photos,
            batch_size=args.batch_size,
            patch_size=args.patch_size,
            blur=blur,
            training=False,
            pipeline=args.pipeline,
            seed=1,
        )

    # ## Model: AttnDeblurNet compiled with the training recipe
    if args.tiny:
        model = kad.AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3)
    else:
        model = kad.AttnDeblurNet.from_preset(args.preset)
    model = kad.compile_for_deblurring(
        model, learning_rate=2e-4, total_steps=args.epochs * args.steps
    )

    # ## Training: checkpoints, resume after a crash, CSV log in the run folder
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=args.epochs,
        shuffle=False,  # The datasets shuffle themselves.
        callbacks=kad.deblurring_callbacks(
            args.output, monitor="val_psnr" if val_ds is not None else "psnr"
        ),
        verbose=2,
    )
    model.save(os.path.join(args.output, "final.keras"))

    # ## Inference: blur a held-out photo, restore it, save the three side by side
    sharp = data.load_image((val_photos or train_photos)[0])
    blurry = blur(sharp, np.random.default_rng(2))
    restored = np.clip(model.predict(blurry[None], verbose=0)[0], 0.0, 1.0)
    blurry_psnr = float(kad.psnr(sharp[None], blurry[None], max_val=1.0)[0])
    restored_psnr = float(kad.psnr(sharp[None], restored[None], max_val=1.0)[0])
    path = os.path.join(args.output, "blurry_restored_sharp.png")
    strip = np.concatenate([blurry, restored, sharp], axis=1)
    Image.fromarray(np.rint(strip * 255).astype("uint8")).save(path)
    print(f"PSNR blurry {blurry_psnr:.2f} dB -> restored {restored_psnr:.2f} dB; saved {path}")


if __name__ == "__main__":
    main()
