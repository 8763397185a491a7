import os
import pickle
import warnings

import numpy as np
import pytest
from PIL import Image

from keras_attn_deblur.data.pairs import ImagePair
from keras_attn_deblur.data.pairs import PairError
from keras_attn_deblur.data.pairs import folder_pairs
from keras_attn_deblur.data.pairs import gopro_pairs
from keras_attn_deblur.data.pairs import hide_pairs
from keras_attn_deblur.data.pairs import realblur_pairs
from keras_attn_deblur.data.pairs import validate_pairs

HEIGHT, WIDTH = 24, 32


def _write_image(path, size=(HEIGHT, WIDTH), seed=0, **save_kwargs):
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, size=(*size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, **save_kwargs)
    return path


def _make_gopro_tree(root):
    """GOPRO_Large layout: train has 2 sequences x 3 frames, test 1 sequence x 2."""
    layout = {
        "train": {"GOPR0372_07_00": 3, "GOPR0374_11_00": 3},
        "test": {"GOPR0384_11_00": 2},
    }
    for split, sequences in layout.items():
        for sequence, num_frames in sequences.items():
            for frame in range(1, num_frames + 1):
                for folder in ("blur", "blur_gamma", "sharp"):
                    _write_image(root / split / sequence / folder / f"{frame:06d}.png", seed=frame)


def _gopro_pair(root, split, sequence, frame, blur_folder="blur"):
    return ImagePair(
        blurry=os.path.join(root, split, sequence, blur_folder, frame),
        sharp=os.path.join(root, split, sequence, "sharp", frame),
        name=f"{sequence}/{frame}",
    )


# GoPro.


def test_gopro_train_pairs(tmp_path):
    _make_gopro_tree(tmp_path)
    expected_names = [
        "GOPR0372_07_00/000001.png",
        "GOPR0372_07_00/000002.png",
        "GOPR0372_07_00/000003.png",
        "GOPR0374_11_00/000001.png",
        "GOPR0374_11_00/000002.png",
        "GOPR0374_11_00/000003.png",
    ]
    pairs = gopro_pairs(tmp_path, split="train")
    assert [pair.name for pair in pairs] == expected_names
    assert pairs == [
        _gopro_pair(str(tmp_path), "train", *name.split("/")) for name in expected_names
    ]


def test_gopro_blur_gamma_and_test_split(tmp_path):
    _make_gopro_tree(tmp_path)
    pairs = gopro_pairs(str(tmp_path), split="test", blur_folder="blur_gamma")
    assert pairs == [
        _gopro_pair(str(tmp_path), "test", "GOPR0384_11_00", "000001.png", "blur_gamma"),
        _gopro_pair(str(tmp_path), "test", "GOPR0384_11_00", "000002.png", "blur_gamma"),
    ]


def test_gopro_missing_sharp_partner_is_a_listed_bad_pair(tmp_path):
    _make_gopro_tree(tmp_path)
    orphan = tmp_path / "train" / "GOPR0374_11_00" / "sharp" / "000002.png"
    orphan.unlink()
    with pytest.raises(PairError) as error:
        gopro_pairs(tmp_path)
    message = str(error.value)
    assert message.startswith("1 of 6 pairs are unusable")
    assert "GOPR0374_11_00/000002.png" in message
    assert str(orphan) in message


def test_gopro_wrong_root(tmp_path):
    root = tmp_path / "no_such_dataset"
    with pytest.raises(FileNotFoundError, match="train/ and test/") as error:
        gopro_pairs(root)
    assert str(root) in str(error.value)


def test_gopro_missing_split_folder(tmp_path):
    _make_gopro_tree(tmp_path)
    os.rename(tmp_path / "test", tmp_path / "elsewhere")
    with pytest.raises(FileNotFoundError) as error:
        gopro_pairs(tmp_path, split="test")
    assert str(tmp_path / "test") in str(error.value)


def test_gopro_split_folder_passed_as_root(tmp_path):
    _make_gopro_tree(tmp_path)
    with pytest.raises(FileNotFoundError, match="pass its parent"):
        gopro_pairs(tmp_path / "train")


def test_gopro_root_without_blur_folders(tmp_path):
    for frame in ("000001.png", "000002.png"):
        _write_image(tmp_path / "train" / "GOPR0372_07_00" / "sharp" / frame)
    with pytest.raises(ValueError, match="has a 'blur' folder") as error:
        gopro_pairs(tmp_path)
    assert str(tmp_path / "train") in str(error.value)


def test_gopro_suggests_blur_gamma_when_only_it_exists(tmp_path):
    for folder in ("blur_gamma", "sharp"):
        _write_image(tmp_path / "train" / "GOPR0372_07_00" / folder / "000001.png")
    with pytest.raises(ValueError, match='blur_folder="blur_gamma"'):
        gopro_pairs(tmp_path)


@pytest.mark.parametrize(
    "kwargs, received",
    [
        ({"split": "validation"}, "split='validation'"),
        ({"blur_folder": "gamma"}, "blur_folder='gamma'"),
        ({"on_error": "ignore"}, "on_error='ignore'"),
        ({"verify": "none"}, "verify='none'"),
    ],
)
def test_gopro_bad_options(tmp_path, kwargs, received):
    with pytest.raises(ValueError, match=f"Received: {received}"):
        gopro_pairs(tmp_path, **kwargs)


# RealBlur.


def _make_realblur_tree(root):
    lines = {}
    for variant in ("J", "R"):
        folder = f"RealBlur-{variant}_ECC_IMCORR_centroid_itensity_ref"
        for split, scenes in (("train", ("scene001", "scene002")), ("test", ("scene230",))):
            rows = []
            for scene in scenes:
                for index in (1, 2):
                    sharp = f"{folder}/{scene}/gt/gt_{index}.png"
                    blurry = f"{folder}/{scene}/blur/blur_{index}.png"
                    _write_image(root / sharp, seed=index)
                    _write_image(root / blurry, seed=index + 10)
                    rows.append(f"{sharp} {blurry}")
            lines[variant, split] = rows
            (root / f"RealBlur_{variant}_{split}_list.txt").write_text("\n".join(rows) + "\n")
    return lines


def test_realblur_pairs_follow_the_list_files(tmp_path):
    _make_realblur_tree(tmp_path)
    pairs = realblur_pairs(tmp_path, split="test", variant="J")
    folder = "RealBlur-J_ECC_IMCORR_centroid_itensity_ref"
    assert pairs == [
        ImagePair(
            blurry=os.path.join(str(tmp_path), f"{folder}/scene230/blur/blur_{index}.png"),
            sharp=os.path.join(str(tmp_path), f"{folder}/scene230/gt/gt_{index}.png"),
            name=f"scene230/blur/blur_{index}.png",
        )
        for index in (1, 2)
    ]
    train_r = realblur_pairs(tmp_path, split="train", variant="R")
    assert [pair.name for pair in train_r] == [
        "scene001/blur/blur_1.png",
        "scene001/blur/blur_2.png",
        "scene002/blur/blur_1.png",
        "scene002/blur/blur_2.png",
    ]
    assert all("RealBlur-R_" in pair.blurry and "/gt/" in pair.sharp for pair in train_r)


def test_realblur_missing_list_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="RealBlur_J_train_list.txt") as error:
        realblur_pairs(tmp_path)
    assert str(tmp_path) in str(error.value)


def test_realblur_malformed_line(tmp_path):
    _make_realblur_tree(tmp_path)
    list_path = tmp_path / "RealBlur_J_test_list.txt"
    list_path.write_text(list_path.read_text() + "only_one_path.png\n")
    with pytest.raises(ValueError, match="Line 3 of") as error:
        realblur_pairs(tmp_path, split="test")
    assert str(list_path) in str(error.value)


def test_realblur_listed_file_missing(tmp_path):
    _make_realblur_tree(tmp_path)
    missing = tmp_path / "RealBlur-J_ECC_IMCORR_centroid_itensity_ref/scene230/gt/gt_2.png"
    missing.unlink()
    with pytest.raises(PairError, match="1 of 2 pairs are unusable") as error:
        realblur_pairs(tmp_path, split="test")
    assert str(missing) in str(error.value)


# HIDE.


def _make_hide_tree(root):
    blurry = {
        "test/test-close-ups": ("10_0.png", "11_0.png"),
        "test/test-long-shot": ("1fromGOPR0950.png",),
        "train": ("2fromGOPR0951.png", "3fromGOPR0952.png"),
    }
    for folder, names in blurry.items():
        for index, name in enumerate(names):
            _write_image(root / folder / name, seed=index)
            _write_image(root / "GT" / name, seed=index + 50)


def test_hide_test_pairs(tmp_path):
    _make_hide_tree(tmp_path)
    root = str(tmp_path)
    pairs = hide_pairs(tmp_path)
    assert pairs == [
        ImagePair(
            blurry=os.path.join(root, "test", "test-close-ups", "10_0.png"),
            sharp=os.path.join(root, "GT", "10_0.png"),
            name="test-close-ups/10_0.png",
        ),
        ImagePair(
            blurry=os.path.join(root, "test", "test-close-ups", "11_0.png"),
            sharp=os.path.join(root, "GT", "11_0.png"),
            name="test-close-ups/11_0.png",
        ),
        ImagePair(
            blurry=os.path.join(root, "test", "test-long-shot", "1fromGOPR0950.png"),
            sharp=os.path.join(root, "GT", "1fromGOPR0950.png"),
            name="test-long-shot/1fromGOPR0950.png",
        ),
    ]
    assert [pair.name for pair in hide_pairs(tmp_path, subset="long-shot")] == [
        "test-long-shot/1fromGOPR0950.png"
    ]
    assert [pair.name for pair in hide_pairs(tmp_path, subset="close-ups")] == [
        "test-close-ups/10_0.png",
        "test-close-ups/11_0.png",
    ]


def test_hide_train_pairs(tmp_path):
    _make_hide_tree(tmp_path)
    pairs = hide_pairs(tmp_path, split="train")
    assert [pair.name for pair in pairs] == ["2fromGOPR0951.png", "3fromGOPR0952.png"]
    assert pairs[0].sharp == os.path.join(str(tmp_path), "GT", "2fromGOPR0951.png")


def test_hide_errors(tmp_path):
    _make_hide_tree(tmp_path / "HIDE_dataset")
    with pytest.raises(FileNotFoundError, match="one level down") as error:
        hide_pairs(tmp_path)
    assert str(tmp_path / "GT") in str(error.value)
    with pytest.raises(ValueError, match="Received: subset='close-ups'"):
        hide_pairs(tmp_path / "HIDE_dataset", subset="close-ups", split="train")
    with pytest.raises(ValueError, match="Received: subset='closeups'"):
        hide_pairs(tmp_path / "HIDE_dataset", subset="closeups")


# Any two folders.


def test_folder_pairs_match_by_name_and_by_stem(tmp_path):
    blurry_dir, sharp_dir = tmp_path / "blurry", tmp_path / "sharp"
    for name in ("a.png", "b.jpg", "c.PNG"):
        _write_image(blurry_dir / name)
    for name in ("a.png", "b.png", "c.PNG"):
        _write_image(sharp_dir / name)
    (blurry_dir / "notes.txt").write_text("not an image, ignored")
    (sharp_dir / ".DS_Store").write_bytes(b"\x00\x01")
    pairs = folder_pairs(blurry_dir, sharp_dir)
    assert pairs == [
        ImagePair(str(blurry_dir / "a.png"), str(sharp_dir / "a.png"), "a.png"),
        ImagePair(str(blurry_dir / "b.jpg"), str(sharp_dir / "b.png"), "b.jpg"),
        ImagePair(str(blurry_dir / "c.PNG"), str(sharp_dir / "c.PNG"), "c.PNG"),
    ]


def test_folder_pairs_unmatched_and_ambiguous_files_are_listed(tmp_path):
    blurry_dir, sharp_dir = tmp_path / "blurry", tmp_path / "sharp"
    for name in ("a.png", "Case.png", "only_blurry.png", "two.bmp"):
        _write_image(blurry_dir / name)
    for name in ("a.png", "case.png", "only_sharp.png", "two.png", "two.jpg"):
        _write_image(sharp_dir / name)
    with pytest.raises(PairError) as error:
        folder_pairs(blurry_dir, sharp_dir)
    message = str(error.value)
    # Matching is case-sensitive: Case.png and case.png are both unmatched.
    assert message.startswith("5 of 6 pairs are unusable")
    for path in (
        sharp_dir / "Case.png",
        blurry_dir / "case.png",
        sharp_dir / "only_blurry.png",
        blurry_dir / "only_sharp.png",
        blurry_dir / "two.bmp",
    ):
        assert str(path) in message
    assert "two.jpg, two.png" in message


def test_folder_pairs_missing_and_empty_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    _write_image(tmp_path / "sharp" / "a.png")
    with pytest.raises(FileNotFoundError, match="Blurry folder") as error:
        folder_pairs(tmp_path / "absent", tmp_path / "sharp")
    assert str(tmp_path / "absent") in str(error.value)
    with pytest.raises(ValueError, match="contains no images") as error:
        folder_pairs(tmp_path / "empty", tmp_path / "sharp")
    assert str(tmp_path / "empty") in str(error.value)
    with pytest.raises(ValueError, match="Sharp folder .* contains no images"):
        folder_pairs(tmp_path / "sharp", tmp_path / "empty")


# Validation: every bad pair in one error, or skipped with one warning.


def _make_mixed_folders(tmp_path):
    """Two good pairs and five bad ones, each bad in a different way."""
    blurry_dir, sharp_dir = tmp_path / "blurry", tmp_path / "sharp"
    for name in ("good_1.png", "good_2.png"):
        _write_image(blurry_dir / name)
        _write_image(sharp_dir / name)
    _write_image(blurry_dir / "no_partner.png")
    _write_image(blurry_dir / "mismatch.png")
    _write_image(sharp_dir / "mismatch.png", size=(HEIGHT, WIDTH - 2))
    _write_image(blurry_dir / "zero_byte.png")
    (sharp_dir / "zero_byte.png").write_bytes(b"")
    (blurry_dir / "text_as_png.png").write_text("this is a text file")
    _write_image(sharp_dir / "text_as_png.png")
    _write_image(blurry_dir / "truncated.png")
    whole = _write_image(tmp_path / "whole.png")
    with open(whole, "rb") as file:
        (sharp_dir / "truncated.png").write_bytes(file.read()[:-300])
    bad_files = {
        "no_partner.png": sharp_dir / "no_partner.png",
        "mismatch.png": sharp_dir / "mismatch.png",
        "zero_byte.png": sharp_dir / "zero_byte.png",
        "text_as_png.png": blurry_dir / "text_as_png.png",
        "truncated.png": sharp_dir / "truncated.png",
    }
    return blurry_dir, sharp_dir, bad_files


def test_pair_error_lists_every_bad_pair(tmp_path):
    blurry_dir, sharp_dir, bad_files = _make_mixed_folders(tmp_path)
    with pytest.raises(PairError) as error:
        folder_pairs(blurry_dir, sharp_dir, verify="full")
    message = str(error.value)
    lines = message.splitlines()
    assert lines[0].startswith("5 of 7 pairs are unusable")
    assert 'on_error="skip"' in lines[0]
    assert len(lines) == 6  # the summary and one line per bad pair
    for name, path in bad_files.items():
        assert any(line.startswith(f"  {name}: ") and str(path) in line for line in lines)
    assert "good_1.png" not in message and "good_2.png" not in message
    assert "size mismatch" in message and "24x30" in message
    assert "does not exist" in message and "empty" in message
    assert "not an image" in message and "truncated" in message
    assert len(error.value.problems) == 5


def test_header_check_does_not_see_truncation(tmp_path):
    blurry_dir, sharp_dir, _ = _make_mixed_folders(tmp_path)
    with pytest.raises(PairError, match="4 of 7 pairs are unusable") as error:
        folder_pairs(blurry_dir, sharp_dir)
    assert "truncated.png" not in str(error.value)


def test_skip_keeps_the_good_pairs_and_warns_once(tmp_path):
    blurry_dir, sharp_dir, _ = _make_mixed_folders(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pairs = folder_pairs(blurry_dir, sharp_dir, on_error="skip", verify="full")
    assert pairs == [
        ImagePair(str(blurry_dir / name), str(sharp_dir / name), name)
        for name in ("good_1.png", "good_2.png")
    ]
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "Skipped 5 of 7 image pairs" in message
    assert "mismatch.png" in message  # the first few are named
    assert caught[0].filename == __file__  # points at the caller


def test_skip_with_no_usable_pair_still_raises(tmp_path):
    pairs = [ImagePair(str(tmp_path / "a.png"), str(tmp_path / "b.png"), "a.png")]
    with pytest.raises(PairError, match="1 of 1 pairs are unusable: none is usable"):
        validate_pairs(pairs, on_error="skip")


def test_validate_pairs_accepts_exif_rotated_pairs(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 32 x 24, shown 24 x 32
    blurry = _write_image(tmp_path / "blurry.jpg", size=(WIDTH, HEIGHT), exif=exif.tobytes())
    sharp = _write_image(tmp_path / "sharp.png")
    pair = ImagePair(blurry, sharp, "rotated")
    assert validate_pairs([pair]) == [pair]
    assert validate_pairs([pair], verify="full") == [pair]


def test_validate_pairs_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="Received: on_error='warn'"):
        validate_pairs([], on_error="warn")
    with pytest.raises(ValueError, match="Received: verify='deep'"):
        validate_pairs([], verify="deep")
    with pytest.raises(TypeError, match="ImagePair"):
        validate_pairs([("blurry.png", "sharp.png")])
    assert validate_pairs([]) == []


def test_pair_error_pickles():
    error = PairError([("a.png", "sharp image '/x/a.png' does not exist")], 3)
    restored = pickle.loads(pickle.dumps(error))
    assert str(restored) == str(error)
    assert restored.problems == error.problems
