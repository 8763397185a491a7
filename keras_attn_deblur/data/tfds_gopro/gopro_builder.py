"""The GoproLarge TFDS builder: GOPRO_Large from a manually downloaded copy.

The builder reads the files through `gopro_pairs`, so a missing partner, a
size mismatch or an unreadable file stops the preparation with one error that
lists every bad pair, instead of writing a partial dataset.
"""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from keras_attn_deblur.data.pairs import gopro_pairs

_HOMEPAGE = "https://seungjunnah.github.io/Datasets/gopro"

_CITATION = """\
@InProceedings{Nah_2017_CVPR,
  author = {Nah, Seungjun and Kim, Tae Hyun and Lee, Kyoung Mu},
  title = {Deep Multi-Scale Convolutional Neural Network for Dynamic Scene Deblurring},
  booktitle = {Proceedings of the IEEE Conference on Computer Vision
               and Pattern Recognition (CVPR)},
  month = {July},
  year = {2017}
}
"""

_DESCRIPTION = """\
GOPRO_Large: 3,214 pairs of blurry and sharp 1280x720 frames from 33 videos
recorded with a GoPro Hero 4 at 240 fps (2,103 training pairs from 22
sequences, 1,111 test pairs from 11 sequences). Each blurry frame averages 7
to 13 consecutive sharp frames; the middle one is its sharp target. The
`linear` config averages in linear space (the `blur/` folders, the ones papers
report on); the `gamma` config uses the `blur_gamma/` folders, averaged after
a gamma curve. Each example holds `blur`, `sharp`, the `sequence` name and the
`frame` file name.

License: Creative Commons Attribution 4.0 International (CC BY 4.0).
"""

_SPLITS = ("train", "test")


@dataclasses.dataclass(eq=False)
class GoproLargeConfig(tfds.core.BuilderConfig):
    """A GoproLarge variant: which folder the blurry frames come from.

    Args:
        blur_folder: str. `"blur"` (linear averaging) or `"blur_gamma"`.
            Defaults to `"blur"`.
    """

    blur_folder: str = "blur"


class GoproLarge(tfds.core.GeneratorBasedBuilder):
    """GOPRO_Large blurry/sharp pairs (Nah et al., CVPR 2017), from a manual download.

    Configs: `linear` (default, the `blur/` folders) and `gamma` (the
    `blur_gamma/` folders). Features: `blur` and `sharp` (uint8 RGB images,
    stored as PNG), `sequence` and `frame` (text). Splits: `train` and `test`.

    Example:

    ```python
    import tensorflow_datasets as tfds
    import keras_attn_deblur.data.tfds_gopro  # registers "gopro_large"

    train = tfds.load(
        "gopro_large/linear",
        split="train",
        download_and_prepare_kwargs={
            "download_config": tfds.download.DownloadConfig(manual_dir="/datasets/GOPRO_Large")
        },
    )
    ```

    Reference: S. Nah, T. H. Kim and K. M. Lee, "Deep Multi-Scale
    Convolutional Neural Network for Dynamic Scene Deblurring", CVPR 2017.
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = [
        GoproLargeConfig(
            name="linear",
            description="Blurry frames averaged in linear space (blur/ folders).",
            blur_folder="blur",
        ),
        GoproLargeConfig(
            name="gamma",
            description="Blurry frames averaged after a gamma curve (blur_gamma/ folders).",
            blur_folder="blur_gamma",
        ),
    ]
    DEFAULT_BUILDER_CONFIG_NAME = "linear"
    MANUAL_DOWNLOAD_INSTRUCTIONS = """\
    Download GOPRO_Large.zip (about 9 GB) from the dataset's page,
    https://seungjunnah.github.io/Datasets/gopro (it links the file on
    Google Drive and SNU CVLab's server), and unzip it. Then point the
    manual directory at the folder that contains train/ and test/, e.g.
    `tfds.download.DownloadConfig(manual_dir="/datasets/GOPRO_Large")`, or
    unzip into `~/tensorflow_datasets/downloads/manual/`. A manual directory
    that holds a GOPRO_Large/ folder is accepted too.
    """

    def _info(self):
        return self.dataset_info_from_configs(
            description=_DESCRIPTION,
            features=tfds.features.FeaturesDict(
                {
                    "blur": _rgb_image(),
                    "sharp": _rgb_image(),
                    "sequence": tfds.features.Text(),
                    "frame": tfds.features.Text(),
                }
            ),
            supervised_keys=("blur", "sharp"),
            homepage=_HOMEPAGE,
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager):
        root = dl_manager.manual_dir
        if not (root / "train").exists() and (root / "GOPRO_Large" / "train").exists():
            root = root / "GOPRO_Large"
        return {split: self._generate_examples(root, split) for split in _SPLITS}

    def _generate_examples(self, root, split):
        pairs = gopro_pairs(root, split=split, blur_folder=self.builder_config.blur_folder)
        for pair in pairs:
            sequence, frame = pair.name.split("/")
            # The key is the relative name, never a local path: the example
            # order must not depend on where the data lives.
            yield pair.name, {
                "blur": pair.blurry,
                "sharp": pair.sharp,
                "sequence": sequence,
                "frame": frame,
            }


def _rgb_image():
    """An 8-bit RGB image feature of any size, stored as PNG (lossless)."""
    return tfds.features.Image(shape=(None, None, 3), dtype=np.uint8, encoding_format="png")
