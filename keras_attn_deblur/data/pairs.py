"""Finding (blurry, sharp) image pairs on disk, and checking them before training.

Each discovery function knows one dataset layout, lists its pairs, and checks
them with `validate_pairs` before returning a list of `ImagePair` sorted by
name:

- `gopro_pairs`: GOPRO_Large (Nah et al., CVPR 2017),
  `root/{train,test}/<SEQUENCE>/{blur,blur_gamma,sharp}/*.png`.
- `realblur_pairs`: RealBlur-J and RealBlur-R (Rim et al., ECCV 2020), through
  the dataset's own train/test list files.
- `hide_pairs`: HIDE (Shen et al., ICCV 2019), `root/test/test-close-ups`,
  `root/test/test-long-shot` and `root/train` against `root/GT`.
- `folder_pairs`: any two folders whose images share file names.

A bad pair (a missing partner, a size mismatch, an empty, unreadable or, with
`verify="full"`, truncated file) is never dropped silently: all of them are
reported in one `PairError`, or skipped with one warning that counts them
when `on_error="skip"`.

Paths in the pairs are the given root joined with the relative paths, as
strings. Files and folders whose names start with "." are ignored (macOS
`._*` files, `.DS_Store`). The file system is read with `os`, so the roots
must be local (or mounted) folders.
"""

import collections
import concurrent.futures
import dataclasses
import functools
import os
import pathlib
import warnings

from keras_attn_deblur._utils.paths import IMAGE_EXTENSIONS
from keras_attn_deblur._utils.paths import is_image_name
from keras_attn_deblur.io.decode import ImageReadError
from keras_attn_deblur.io.decode import image_size
from keras_attn_deblur.io.decode import load_image

_ON_ERROR_OPTIONS = ("raise", "skip")
_VERIFY_OPTIONS = ("header", "full")
_SPLITS = ("train", "test")
_GOPRO_BLUR_FOLDERS = ("blur", "blur_gamma")
_REALBLUR_VARIANTS = ("J", "R")
_HIDE_SUBSETS = {"close-ups": "test-close-ups", "long-shot": "test-long-shot"}
_NAMED_IN_WARNING = 3
# Header checks wait on the disk; full decodes hold two float images each.
_HEADER_WORKERS = 16
_FULL_DECODE_WORKERS = 8


@dataclasses.dataclass(frozen=True)
class ImagePair:
    """One training or evaluation example: a blurry image and its sharp target.

    Args:
        blurry: str. Path of the blurry image.
        sharp: str. Path of the sharp image of the same scene and size.
        name: str. A short identifier, unique within a dataset, used in
            messages and for ordering, e.g. `"GOPR0384_11_00/000001.png"`.

    Example:

    ```python
    from keras_attn_deblur.data.pairs import ImagePair, validate_pairs

    pairs = [ImagePair(blurry="blur/0001.png", sharp="sharp/0001.png", name="0001.png")]
    pairs = validate_pairs(pairs)
    ```
    """

    blurry: str
    sharp: str
    name: str


class PairError(ValueError):
    """Some image pairs cannot be used; the message lists every one of them.

    The first line reads "N of M pairs are unusable: ..." and says what to do;
    each following line names one bad pair, its file(s) and what is wrong.

    Args:
        problems: sequence of `(name, reason)` string tuples, one per bad pair.
        num_pairs: int. How many pairs were checked in all.

    Example:

    ```python
    from keras_attn_deblur.data import pairs as pairs_lib

    try:
        pairs = pairs_lib.gopro_pairs("/datasets/GOPRO_Large")
    except pairs_lib.PairError as error:
        print(len(error.problems), "bad pairs")
        pairs = pairs_lib.gopro_pairs("/datasets/GOPRO_Large", on_error="skip")
    ```
    """

    def __init__(self, problems, num_pairs):
        self.problems = tuple(tuple(problem) for problem in problems)
        self.num_pairs = num_pairs
        num_bad = len(self.problems)
        if num_bad >= num_pairs:
            fix = "none is usable; check that the paths point at the dataset you meant"
        else:
            fix = (
                "fix or remove the files below, or pass on_error=\"skip\" to use the "
                f"other {num_pairs - num_bad} pairs (a warning counts the skipped ones)"
            )
        lines = [f"{num_bad} of {num_pairs} pairs are unusable: {fix}."]
        lines += [f"  {name}: {reason}" for name, reason in self.problems]
        super().__init__("\n".join(lines))

    def __reduce__(self):
        return type(self), (self.problems, self.num_pairs)


def validate_pairs(pairs, *, on_error="raise", verify="header"):
    """Checks that every pair can be trained on.

    For each pair: both files exist, are not empty and have a readable image
    header, and both images have the same (height, width) after their EXIF
    orientation. `verify="full"` decodes both images completely instead, which
    also catches truncated files (slower; it runs on a thread pool).

    Args:
        pairs: iterable of `ImagePair`.
        on_error: str. `"raise"` raises one `PairError` that lists every bad
            pair; `"skip"` drops the bad pairs with one warning that counts
            them and names the first few. When no pair is usable, `PairError`
            is raised either way. Defaults to `"raise"`.
        verify: str. `"header"` reads image headers only; `"full"` decodes
            every image. Defaults to `"header"`.

    Returns:
        The list of usable pairs, in the given order.

    Raises:
        PairError: some pairs are unusable and `on_error="raise"`, or no pair
            is usable.
        ValueError: `on_error` or `verify` is not a known option.

    Example:

    ```python
    from keras_attn_deblur.data.pairs import validate_pairs

    good_pairs = validate_pairs(pairs, on_error="skip", verify="full")
    ```
    """
    _check_options(on_error=on_error, verify=verify)
    pairs = list(pairs)
    for pair in pairs:
        if not isinstance(pair, ImagePair):
            raise TypeError(
                f"validate_pairs() expects `ImagePair` items. Received: {pair!r}"
            )
    return _validate(pairs, on_error=on_error, verify=verify)


def gopro_pairs(root, split="train", blur_folder="blur", *, on_error="raise", verify="header"):
    """Lists the pairs of the GOPRO_Large dataset.

    Expects the layout of the unzipped `GOPRO_Large.zip`:
    `root/{train,test}/<SEQUENCE>/{blur,blur_gamma,sharp}/<frame>.png`. A
    frame is paired with the file of the same name in the sequence's `sharp/`
    folder. A frame present on one side only is a bad pair (see
    `validate_pairs`).

    Args:
        root: str or path-like. The folder that contains `train/` and `test/`.
        split: str. `"train"` (2,103 pairs) or `"test"` (1,111 pairs).
            Defaults to `"train"`.
        blur_folder: str. `"blur"`, frames averaged in linear space (the one
            papers report on), or `"blur_gamma"`, averaged after a gamma
            curve. Defaults to `"blur"`.
        on_error: str. See `validate_pairs`. Defaults to `"raise"`.
        verify: str. See `validate_pairs`. Defaults to `"header"`.

    Returns:
        A list of `ImagePair` sorted by name, `"<SEQUENCE>/<frame>.png"`.

    Example:

    ```python
    from keras_attn_deblur.data.pairs import gopro_pairs

    pairs = gopro_pairs("/datasets/GOPRO_Large", split="test")
    pairs[0].name  # "GOPR0384_11_00/000001.png"
    ```

    Reference: S. Nah, T. H. Kim and K. M. Lee, "Deep Multi-Scale
    Convolutional Neural Network for Dynamic Scene Deblurring", CVPR 2017.
    """
    _check_options(split=split, blur_folder=blur_folder, on_error=on_error, verify=verify)
    root = os.fspath(root)
    fix = "pass the folder that contains train/ and test/ (the unzipped GOPRO_Large)"
    if not os.path.isdir(root):
        raise FileNotFoundError(f"GoPro root '{root}' does not exist or is not a folder; {fix}.")
    split_dir = os.path.join(root, split)
    if not os.path.isdir(split_dir):
        hint = ""
        if _subfolders_with(root, blur_folder):
            hint = " It looks like you passed a split folder itself; pass its parent."
        raise FileNotFoundError(f"GoPro split folder '{split_dir}' does not exist; {fix}.{hint}")
    if not _subfolders_with(split_dir, blur_folder):
        hint = ""
        other_folder = "blur_gamma" if blur_folder == "blur" else "blur"
        if _subfolders_with(split_dir, other_folder):
            hint = f", or pass blur_folder=\"{other_folder}\""
        raise ValueError(
            f"No sequence folder in '{split_dir}' has a '{blur_folder}' folder; expected "
            f"{os.path.join(split_dir, '<SEQUENCE>', blur_folder, '*.png')} next to "
            f"{os.path.join(split_dir, '<SEQUENCE>', 'sharp', '*.png')}. Check that root is "
            f"the unzipped GOPRO_Large folder{hint}."
        )
    pairs = []
    for sequence in _list_entries(split_dir, want_folders=True):
        blur_dir = os.path.join(split_dir, sequence, blur_folder)
        sharp_dir = os.path.join(split_dir, sequence, "sharp")
        # A frame on one side only becomes a pair with a missing file, which
        # validation reports: nothing is dropped silently.
        frames = set(_list_images(blur_dir)) | set(_list_images(sharp_dir))
        pairs += _same_name_pairs(blur_dir, sharp_dir, frames, prefix=f"{sequence}/")
    return _validate(_sorted(pairs), on_error=on_error, verify=verify)


def realblur_pairs(root, split="train", variant="J", *, on_error="raise", verify="header"):
    """Lists the pairs of RealBlur-J or RealBlur-R from the dataset's list files.

    Assumes the layout of the unpacked `RealBlur.tar.gz`: the list files
    `RealBlur_J_train_list.txt`, `RealBlur_J_test_list.txt`,
    `RealBlur_R_train_list.txt` and `RealBlur_R_test_list.txt` sit in `root`
    next to the image folders, and each non-blank line holds two paths
    relative to `root`, separated by white space, the sharp image first:

    ```
    RealBlur-J_ECC_IMCORR_centroid_itensity_ref/scene230/gt/gt_1.png RealBlur-J_ECC_IMCORR_centroid_itensity_ref/scene230/blur/blur_1.png
    ```

    (The same list files are in the `datalist/` folder of
    github.com/rimchang/RealBlur.)

    Args:
        root: str or path-like. The folder that holds the list files.
        split: str. `"train"` or `"test"`. Defaults to `"train"`.
        variant: str. `"J"` (camera JPEGs) or `"R"` (developed from RAW).
            Defaults to `"J"`.
        on_error: str. See `validate_pairs`. Defaults to `"raise"`.
        verify: str. See `validate_pairs`. Defaults to `"header"`.

    Returns:
        A list of `ImagePair` sorted by name: the blurry path without its
        first folder, e.g. `"scene230/blur/blur_1.png"`.

    Example:

    ```python
    from keras_attn_deblur.data.pairs import realblur_pairs

    pairs = realblur_pairs("/datasets/RealBlur", split="test", variant="J")
    ```

    Reference: J. Rim, H. Lee, J. Won and S. Cho, "Real-World Blur Dataset
    for Learning and Benchmarking Deblurring Algorithms", ECCV 2020.
    """
    _check_options(split=split, variant=variant, on_error=on_error, verify=verify)
    root = os.fspath(root)
    list_name = f"RealBlur_{variant}_{split}_list.txt"
    if not os.path.isdir(root):
        raise FileNotFoundError(
            f"RealBlur root '{root}' does not exist or is not a folder; pass the unpacked "
            f"RealBlur folder, the one that contains {list_name}."
        )
    list_path = os.path.join(root, list_name)
    if not os.path.isfile(list_path):
        raise FileNotFoundError(
            f"RealBlur list file '{list_path}' does not exist; pass the unpacked RealBlur "
            f"folder as root, or copy {list_name} into it from the datalist/ folder of "
            "github.com/rimchang/RealBlur."
        )
    pairs = []
    with open(list_path, encoding="utf-8") as list_file:
        for line_number, line in enumerate(list_file, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise ValueError(
                    f"Line {line_number} of '{list_path}' should hold two paths, "
                    f"'<sharp> <blurry>'. Received: {line.strip()!r}. Restore the "
                    "original list file."
                )
            sharp, blurry = fields
            parts = pathlib.PurePosixPath(blurry).parts
            name = "/".join(parts[1:]) if len(parts) > 1 else blurry
            pairs.append(
                ImagePair(
                    blurry=os.path.join(root, blurry), sharp=os.path.join(root, sharp), name=name
                )
            )
    if not pairs:
        raise ValueError(
            f"RealBlur list file '{list_path}' lists no pairs; restore the original list file."
        )
    return _validate(_sorted(pairs), on_error=on_error, verify=verify)


def hide_pairs(root, subset=None, *, split="test", on_error="raise", verify="header"):
    """Lists the pairs of the HIDE dataset.

    Assumes the layout of the unzipped `HIDE_dataset`: blurry test images in
    `root/test/test-close-ups/` and `root/test/test-long-shot/`, blurry
    training images in `root/train/`, and every sharp image in `root/GT/`
    under the same file name as its blurry image.

    Args:
        root: str or path-like. The folder that contains `GT/`, `test/` and
            `train/`.
        subset: str or `None`. For the test split, `"close-ups"` or
            `"long-shot"`; `None` takes both. Must be `None` for the train
            split. Defaults to `None`.
        split: str. `"test"` (2,025 pairs) or `"train"` (6,397 pairs).
            Defaults to `"test"`.
        on_error: str. See `validate_pairs`. Defaults to `"raise"`.
        verify: str. See `validate_pairs`. Defaults to `"header"`.

    Returns:
        A list of `ImagePair` sorted by name: `"test-close-ups/<file>"` and
        `"test-long-shot/<file>"` for the test split, the file name for the
        train split.

    Example:

    ```python
    from keras_attn_deblur.data.pairs import hide_pairs

    pairs = hide_pairs("/datasets/HIDE_dataset", subset="long-shot")
    ```

    Reference: Z. Shen, W. Wang, X. Lu, J. Shen, H. Ling, T. Xu and L. Shao,
    "Human-Aware Motion Deblurring", ICCV 2019.
    """
    _check_options(split=split, on_error=on_error, verify=verify)
    if subset is not None and subset not in _HIDE_SUBSETS:
        raise ValueError(
            f"`subset` must be None, \"close-ups\" or \"long-shot\". Received: subset={subset!r}"
        )
    if split == "train" and subset is not None:
        raise ValueError(
            "`subset` selects part of the HIDE test split; pass subset=None with "
            f"split=\"train\". Received: subset={subset!r}"
        )
    root = os.fspath(root)
    fix = "pass the folder that contains GT/, test/ and train/ (the unzipped HIDE_dataset)"
    if not os.path.isdir(root):
        raise FileNotFoundError(f"HIDE root '{root}' does not exist or is not a folder; {fix}.")
    gt_dir = os.path.join(root, "GT")
    if split == "train":
        blurry_dirs = [(os.path.join(root, "train"), "")]
    else:
        names = [_HIDE_SUBSETS[subset]] if subset else sorted(_HIDE_SUBSETS.values())
        blurry_dirs = [(os.path.join(root, "test", name), f"{name}/") for name in names]
    for folder in [gt_dir] + [folder for folder, _ in blurry_dirs]:
        if not os.path.isdir(folder):
            hint = ""
            nested = os.path.join(root, "HIDE_dataset")
            if os.path.isdir(nested):
                hint = f" It looks like the dataset is one level down, in '{nested}'."
            raise FileNotFoundError(f"HIDE folder '{folder}' does not exist; {fix}.{hint}")
    pairs = []
    for blurry_dir, prefix in blurry_dirs:
        file_names = _list_images(blurry_dir)
        if not file_names:
            raise ValueError(_no_images_message(blurry_dir, "HIDE folder"))
        pairs += _same_name_pairs(blurry_dir, gt_dir, file_names, prefix=prefix)
    return _validate(_sorted(pairs), on_error=on_error, verify=verify)


def folder_pairs(blurry_dir, sharp_dir, *, on_error="raise", verify="header"):
    """Pairs the images of two folders by file name.

    `blurry_dir/0001.png` pairs with `sharp_dir/0001.png`. When no file has
    exactly the same name, a single file with the same stem and another image
    suffix is accepted (`0001.jpg` with `0001.png`). The match is
    case-sensitive. Images on one side only, and blurry images whose stem
    matches several sharp images, are bad pairs (see `validate_pairs`).
    Only the images directly in each folder are used, not those in
    subfolders; image suffixes are .png, .jpg, .jpeg, .bmp, .tif, .tiff and
    .webp in any letter case.

    Args:
        blurry_dir: str or path-like. The folder of blurry images.
        sharp_dir: str or path-like. The folder of sharp images.
        on_error: str. See `validate_pairs`. Defaults to `"raise"`.
        verify: str. See `validate_pairs`. Defaults to `"header"`.

    Returns:
        A list of `ImagePair` sorted by name, the blurry file name.

    Example:

    ```python
    from keras_attn_deblur.data.pairs import folder_pairs

    pairs = folder_pairs("my_photos/blurry", "my_photos/sharp")
    ```
    """
    _check_options(on_error=on_error, verify=verify)
    blurry_dir, sharp_dir = os.fspath(blurry_dir), os.fspath(sharp_dir)
    listings = {}
    for role, folder in (("Blurry", blurry_dir), ("Sharp", sharp_dir)):
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                f"{role} folder '{folder}' does not exist or is not a folder; pass the "
                f"folder that holds the {role.lower()} images."
            )
        listings[role] = _list_images(folder)
        if not listings[role]:
            raise ValueError(_no_images_message(folder, f"{role} folder"))
    blurry_names, sharp_names = listings["Blurry"], listings["Sharp"]

    sharp_set = set(sharp_names)
    matches = {name: name for name in blurry_names if name in sharp_set}
    # The sharp images left after exact matches, by stem, for the suffix fallback.
    unclaimed_by_stem = collections.defaultdict(list)
    for name in sorted(sharp_set - set(matches)):
        unclaimed_by_stem[os.path.splitext(name)[0]].append(name)
    problems = []
    for name in blurry_names:
        if name in matches:
            continue
        candidates = unclaimed_by_stem.pop(os.path.splitext(name)[0], [])
        if len(candidates) == 1:
            matches[name] = candidates[0]
        elif len(candidates) > 1:
            problems.append(
                (
                    name,
                    f"blurry image '{os.path.join(blurry_dir, name)}' matches several sharp "
                    f"images by stem ({', '.join(candidates)}); rename the one that belongs "
                    "to it to the same file name",
                )
            )
    unclaimed = [name for names in unclaimed_by_stem.values() for name in names]
    ambiguous = {name for name, _ in problems}
    # An image on one side only becomes a pair with a missing file, which
    # validation reports: nothing is dropped silently.
    pairs = [
        ImagePair(
            blurry=os.path.join(blurry_dir, name),
            sharp=os.path.join(sharp_dir, matches.get(name, name)),
            name=name,
        )
        for name in blurry_names
        if name not in ambiguous
    ]
    pairs += _same_name_pairs(blurry_dir, sharp_dir, unclaimed)
    return _validate(_sorted(pairs), on_error=on_error, verify=verify, problems=problems)


def _validate(pairs, *, on_error, verify, problems=()):
    """Checks `pairs`; `problems` are bad pairs already found during discovery.

    Called directly by every public function, so that `stacklevel=3` points
    the warning at the user's call.
    """
    check = functools.partial(_pair_problem, verify=verify)
    workers = _FULL_DECODE_WORKERS if verify == "full" else _HEADER_WORKERS
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        reasons = list(pool.map(check, pairs))
    good = [pair for pair, reason in zip(pairs, reasons) if reason is None]
    problems = sorted(
        list(problems) + [(pair.name, reason) for pair, reason in zip(pairs, reasons) if reason]
    )
    if not problems:
        return good
    num_pairs = len(good) + len(problems)
    if on_error == "raise" or not good:
        raise PairError(problems, num_pairs)
    named = "; ".join(f"{name}: {reason}" for name, reason in problems[:_NAMED_IN_WARNING])
    more = len(problems) - _NAMED_IN_WARNING
    warnings.warn(
        f"Skipped {len(problems)} of {num_pairs} image pairs that are unusable, kept "
        f"{len(good)}. {named}{f'; and {more} more' if more > 0 else ''}. Pass "
        "on_error=\"raise\" to get the full list.",
        stacklevel=3,
    )
    return good


def _pair_problem(pair, *, verify):
    """What is wrong with one pair, as one line, or `None` when it is usable."""
    sizes = {}
    problems = []
    for role, path in (("blurry", pair.blurry), ("sharp", pair.sharp)):
        try:
            if verify == "full":
                sizes[role] = load_image(path).shape[:2]
            else:
                sizes[role] = image_size(path)
        except ImageReadError as error:
            problems.append(f"{role} image '{error.path}' {error.problem}")
    if not problems and sizes["blurry"] != sizes["sharp"]:
        problems.append(
            f"size mismatch, blurry '{pair.blurry}' is {_size_text(sizes['blurry'])} but sharp "
            f"'{pair.sharp}' is {_size_text(sizes['sharp'])} (height x width)"
        )
    return "; ".join(problems) or None


def _size_text(size):
    return f"{size[0]}x{size[1]}"


def _same_name_pairs(blurry_dir, sharp_dir, file_names, prefix=""):
    """`ImagePair`s of the files named alike in both folders, named `prefix + file name`."""
    return [
        ImagePair(
            blurry=os.path.join(blurry_dir, file_name),
            sharp=os.path.join(sharp_dir, file_name),
            name=f"{prefix}{file_name}",
        )
        for file_name in file_names
    ]


def _sorted(pairs):
    return sorted(pairs, key=lambda pair: pair.name)


def _list_entries(folder, *, want_folders):
    """Sorted names of the visible sub-folders (or files) of `folder`; [] if it is missing."""
    if not os.path.isdir(folder):
        return []
    with os.scandir(folder) as entries:
        return sorted(
            entry.name
            for entry in entries
            if not entry.name.startswith(".")
            and (entry.is_dir() if want_folders else not entry.is_dir())
        )


def _list_images(folder):
    """Sorted names of the image files directly in `folder` (by suffix, any case)."""
    return [name for name in _list_entries(folder, want_folders=False) if is_image_name(name)]


def _subfolders_with(folder, child):
    """The sub-folders of `folder` that contain a folder named `child`."""
    return [
        name
        for name in _list_entries(folder, want_folders=True)
        if os.path.isdir(os.path.join(folder, name, child))
    ]


def _no_images_message(folder, what):
    hint = ""
    if _list_entries(folder, want_folders=True):
        hint = " Images in sub-folders are not searched; pass the folder that holds them."
    return (
        f"{what} '{folder}' contains no images (looked for {', '.join(IMAGE_EXTENSIONS)}); "
        f"pass the folder that holds the images.{hint}"
    )


def _check_options(**options):
    """Raises `ValueError` for an option outside its allowed values."""
    allowed = {
        "on_error": _ON_ERROR_OPTIONS,
        "verify": _VERIFY_OPTIONS,
        "split": _SPLITS,
        "blur_folder": _GOPRO_BLUR_FOLDERS,
        "variant": _REALBLUR_VARIANTS,
    }
    for name, value in options.items():
        if value not in allowed[name]:
            choices = ", ".join(f'"{choice}"' for choice in allowed[name])
            raise ValueError(f"`{name}` must be one of {choices}. Received: {name}={value!r}")
