"""
Title: Publish a deblurring model on the Hugging Face Hub
Description: Train a small AttnDeblurNet, score it, save it with its
evaluation in a generated model card, push it in one commit, pull it back
into an empty cache and check that it restores images exactly as before.

How to run:
    hf auth login                                    # a token with write access
    python examples/push_to_hub.py --repo <your-name>/attn-deblur-demo   # ~20 s on 2 CPU cores

    # Any Hub-compatible server (the smoke test starts one on 127.0.0.1):
    HF_HUB_DISABLE_XET=1 python examples/push_to_hub.py \\
        --endpoint http://127.0.0.1:8080 --repo me/attn-deblur-demo --steps 2

The card's numbers are the ones this script measures (`metrics=`); nothing
on it is typed by hand. The pairs are synthetic (sharp-edged shapes under a
7-pixel diagonal motion blur), so the published model only knows that blur:
the card says so.
"""

import argparse
import os
import tempfile

import keras
import numpy as np

import keras_attn_deblur as kad

# ## Data: generated sharp scenes and their motion-blurred copies


def make_pairs(count, size, seed, blur_length=7):
    """Smooth colour gradients with sharp-edged rectangles, blurred diagonally."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size] / size
    sharp = np.empty((count, size, size, 3), "float32")
    for index in range(count):
        image = np.stack(
            [rng.uniform(0.2, 0.8) + rng.uniform(-0.2, 0.2) * (rows + cols) for _ in range(3)], -1
        )
        for _ in range(rng.integers(4, 9)):
            top, left = rng.integers(0, size - 4, size=2)
            height, width = rng.integers(3, size // 2, size=2)
            image[top : top + height, left : left + width] = rng.uniform(0, 1, size=3)
        sharp[index] = np.clip(image, 0, 1)
    pad = blur_length // 2
    padded = np.pad(sharp, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")
    blurry = np.mean([padded[:, i : i + size, i : i + size] for i in range(blur_length)], axis=0)
    return blurry.astype("float32"), sharp


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--repo", required=True, help="Hub repo id, 'namespace/name'")
    parser.add_argument(
        "--endpoint", default=None, help="Hub address (default: HF_ENDPOINT or huggingface.co)"
    )
    parser.add_argument(
        "--token", default=None, help="write token (default: HF_TOKEN or `hf auth login`)"
    )
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument("--steps", type=int, default=320, help="training steps")
    parser.add_argument(
        "--output", default="runs/push_to_hub", help="where save_pretrained writes the folder"
    )
    args = parser.parse_args()

    train_blurry, train_sharp = make_pairs(128, 32, seed=0)
    val_blurry, val_sharp = make_pairs(16, 32, seed=1)
    keras.utils.set_random_seed(0)

    # ## Model and training: a narrow AttnDeblurNet and the package's recipe
    model = kad.AttnDeblurNet(filters=(8, 16, 16), blocks_per_stage=1, kernel_size=3)
    model = kad.compile_for_deblurring(
        model, learning_rate=2e-3, total_steps=args.steps, loss="mse"
    )
    steps_per_epoch = min(args.steps, len(train_blurry) // 8)
    model.fit(
        train_blurry,
        train_sharp,
        batch_size=8,
        epochs=max(1, args.steps // steps_per_epoch),
        steps_per_epoch=steps_per_epoch,
        verbose=0,
    )

    # ## Evaluation: the numbers the model card will carry
    # Outputs clamped to [0, 1] and quantised to 8 bits, as GoPro papers score.
    restored = np.round(np.clip(model.predict(val_blurry, verbose=0), 0, 1) * 255) / 255
    metrics = {
        "dataset": "Synthetic shapes",
        "dataset_type": "synthetic-shapes",
        "split": "validation",
        "num_images": len(val_sharp),
        "psnr": float(np.mean(kad.psnr(val_sharp, restored))),
        "ssim": float(np.mean(kad.ssim(val_sharp, restored, variant="gaussian"))),
        "ssim_matlab": float(np.mean(kad.ssim(val_sharp, restored, variant="matlab"))),
        "input_psnr": float(np.mean(kad.psnr(val_sharp, val_blurry))),
        "input_ssim": float(np.mean(kad.ssim(val_sharp, val_blurry, variant="gaussian"))),
        "input_ssim_matlab": float(np.mean(kad.ssim(val_sharp, val_blurry, variant="matlab"))),
        "protocol": "32x32 generated scenes, 7-pixel diagonal blur, outputs quantised to 8 bits",
    }
    print(
        f"validation PSNR: blurry {metrics['input_psnr']:.2f} dB -> restored {metrics['psnr']:.2f} dB"
    )

    # ## Saving: Keras's folder format plus a generated model card
    card = {"metrics": metrics, "datasets": ("synthetic",)}
    folder = model.save_pretrained(args.output, repo_id=args.repo, **card)
    print(f"saved {sorted(os.listdir(folder))} to {folder}")

    # ## Publishing: create the repo if needed, then one commit
    commit = model.push_to_hub(
        args.repo, endpoint=args.endpoint, token=args.token, private=args.private, **card
    )
    print(f"pushed commit {commit.oid}: {commit.commit_url}")

    # ## Inference from the Hub: pull into an empty cache and compare
    with tempfile.TemporaryDirectory() as cache_dir:
        pulled = kad.AttnDeblurNet.from_pretrained(
            args.repo,
            endpoint=args.endpoint,
            token=args.token,
            cache_dir=cache_dir,
            revision=commit.oid,
        )
        difference = np.max(
            np.abs(pulled.predict(val_blurry, verbose=0) - model.predict(val_blurry, verbose=0))
        )
    print(f"pulled {args.repo}@{commit.oid[:8]}: largest output difference {difference:.1e}")
    if difference != 0.0:
        raise SystemExit("the pulled model differs from the pushed one")


if __name__ == "__main__":
    main()
