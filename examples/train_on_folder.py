"""
Title: Train a deblurring network on your own blurry/sharp pairs
Description: Two folders of matching images (same file names) in, a trained
AttnDeblurNet and a restored image out: pairs are checked, cut into aligned
random crops, trained with the package's recipe, and one held-out image is
restored.

How to run:
    python examples/train_on_folder.py --blurry my_pairs/blurry --sharp my_pairs/sharp
    python examples/train_on_folder.py --blurry ... --sharp ... --preset lite \\
        --epochs 50 --steps 500 --output runs/my_pairs
    python examples/train_on_folder.py --blurry ... --sharp ... --tiny   # seconds

`--tiny` trains a very small network for two steps on 32-pixel crops: it only
shows that everything runs. A useful model needs thousands of steps of the
`patent` or `lite` preset (see the README for the GoPro recipe).
"""

import argparse
import os

import keras
import numpy as np
from PIL import Image

import keras_attn_deblur as kad
from keras_attn_deblur import data


def parse_args():
    parser = argparse.ArgumentParser(description="Train AttnDeblurNet on folders of pairs.")
    parser.add_argument("--blurry", required=True, help="folder of blurry images")
    parser.add_argument("--sharp", required=True, help="folder of sharp images, same names")
    parser.add_argument("--preset", default="lite", choices=sorted(kad.PRESETS))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--steps", type=int, default=200, help="training steps per epoch")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--patch-size", type=int, default=256)
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--pipeline", default="auto", choices=("auto", "tf", "python"))
    parser.add_argument("--output", default="runs/train_on_folder", help="run folder")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long smoke run")
    args = parser.parse_args()
    if args.tiny:
        args.epochs, args.steps, args.batch_size, args.patch_size = 1, 2, 2, 32
    return args


def main():
    args = parse_args()
    keras.utils.set_random_seed(0)

    # ## Data: matched pairs, checked, split, cut into aligned random crops
    # `folder_pairs` raises one error listing every bad pair (missing
    # partner, different sizes, unreadable file); `on_error="skip"` drops them.
    pairs = data.folder_pairs(args.blurry, args.sharp)
    num_val = max(1, round(len(pairs) * args.val_fraction)) if len(pairs) > 1 else 0
    train_pairs, val_pairs = pairs[num_val:], pairs[:num_val]
    print(f"{len(train_pairs)} training pairs, {len(val_pairs)} validation pairs, "
          f"pipeline: {data.resolve_pipeline(args.pipeline)}")
    train_ds = data.make_dataset(
        train_pairs,
        batch_size=args.batch_size,
        patch_size=args.patch_size,
        steps_per_epoch=args.steps,
        pipeline=args.pipeline,
        seed=0,
    )
    # Validation on centre crops, so that images of any size batch together.
    val_ds = None
    if val_pairs:
        val_ds = data.make_dataset(
            val_pairs,
            batch_size=args.batch_size,
            training=False,
            center_crop=args.patch_size,
            pipeline=args.pipeline,
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

    # ## Inference: restore one whole held-out image and compare
    pair = (val_pairs or train_pairs)[0]
    blurry = data.load_image(pair.blurry)
    sharp = data.load_image(pair.sharp)
    restored = np.clip(model.predict(blurry[None], verbose=0)[0], 0.0, 1.0)
    blurry_psnr = float(kad.psnr(sharp[None], blurry[None], max_val=1.0)[0])
    restored_psnr = float(kad.psnr(sharp[None], restored[None], max_val=1.0)[0])
    path = os.path.join(args.output, "restored.png")
    Image.fromarray(np.rint(restored * 255).astype("uint8")).save(path)
    print(f"{pair.name}: PSNR blurry {blurry_psnr:.2f} dB -> restored {restored_psnr:.2f} dB; "
          f"saved {path}")


if __name__ == "__main__":
    main()
