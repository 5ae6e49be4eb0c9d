"""Tests for keraslearn.datasets.make_digits_image_folder."""

import os

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from keraslearn.datasets import load_image_folder, make_digits_image_folder

CLASSES = [str(d) for d in range(10)]


def _counts(folder):
    _, y = load_image_folder(folder)
    names, counts = np.unique(y, return_counts=True)
    return dict(zip(names.tolist(), counts.tolist()))


def _snapshot(folder):
    """Name -> (inode, mtime, bytes) of every file, to detect any rewrite."""
    return {
        p.relative_to(folder).as_posix(): (
            os.stat(p).st_ino,
            os.stat(p).st_mtime_ns,
            p.read_bytes(),
        )
        for p in sorted(folder.rglob("*.png"))
    }


def test_default_folder_has_one_small_class(tmp_path):
    folder = make_digits_image_folder(tmp_path / "digits")
    assert folder == tmp_path / "digits"
    assert sorted(p.name for p in folder.iterdir()) == CLASSES
    full = np.bincount(load_digits().target)
    counts = _counts(folder)
    assert [counts[c] for c in CLASSES[:9]] == full[:9].tolist()
    assert counts["9"] == round(0.2 * full[9]) == 36
    assert counts["9"] < min(counts[c] for c in CLASSES[:9]) / 4


def test_max_per_class_and_small_class_options(tmp_path):
    folder = make_digits_image_folder(
        tmp_path, small_class=3, small_fraction=0.3, max_per_class=10
    )
    assert _counts(folder) == {c: (3 if c == "3" else 10) for c in CLASSES}
    balanced = make_digits_image_folder(
        tmp_path / "balanced", small_class=None, max_per_class=4
    )
    assert _counts(balanced) == {c: 4 for c in CLASSES}


def test_images_are_readable_and_hold_the_digits(tmp_path):
    digits = load_digits()
    folder = make_digits_image_folder(tmp_path, image_size=8, max_per_class=3)
    paths, y = load_image_folder(folder)
    for path, label in zip(paths, y):
        index = int(os.path.basename(path).split(".")[0])
        assert digits.target[index] == int(label)
        with Image.open(path) as img:
            assert img.mode == "L" and img.size == (8, 8)
            expected = np.rint(digits.images[index] * 255 / 16)
            np.testing.assert_array_equal(np.asarray(img), expected)


def test_image_size_and_rgb(tmp_path):
    folder = make_digits_image_folder(
        tmp_path, image_size=20, color_mode="rgb", max_per_class=2
    )
    X, y = load_image_folder(folder, target_size=(20, 20), scale=False, dtype="uint8")
    assert X.shape == (len(y), 20, 20, 3)
    assert np.array_equal(X[..., 0], X[..., 2])  # gray digits stored as RGB
    assert X.max() == 255 and X.min() == 0


def test_deterministic_with_random_state(tmp_path):
    a = make_digits_image_folder(tmp_path / "a", max_per_class=20, random_state=7)
    b = make_digits_image_folder(tmp_path / "b", max_per_class=20, random_state=7)
    c = make_digits_image_folder(tmp_path / "c", max_per_class=20, random_state=8)
    snap_a, snap_b = _snapshot(a), _snapshot(b)
    assert list(snap_a) == list(snap_b)
    assert all(snap_a[k][2] == snap_b[k][2] for k in snap_a)
    assert list(_snapshot(c)) != list(snap_a)


def test_second_call_rewrites_nothing(tmp_path):
    folder = make_digits_image_folder(tmp_path, max_per_class=5)
    before = _snapshot(folder)
    make_digits_image_folder(tmp_path, max_per_class=5)
    assert _snapshot(folder) == before


def test_an_unseeded_second_call_says_why_its_files_differ(tmp_path):
    # "Same arguments, nothing new" holds for an int random_state only; the
    # refusal said the files "were not written with these arguments".
    folder = make_digits_image_folder(tmp_path, max_per_class=20, random_state=None)
    before = _snapshot(folder)
    with pytest.raises(ValueError, match=r"random_state=None draws other images at each "
                                         r"call: give an int"):
        make_digits_image_folder(tmp_path, max_per_class=20, random_state=None)
    assert _snapshot(folder) == before


def test_leftover_files_need_overwrite(tmp_path):
    make_digits_image_folder(tmp_path, small_fraction=0.5, max_per_class=10)
    with pytest.raises(ValueError, match="overwrite=True"):
        make_digits_image_folder(tmp_path, small_fraction=0.2, max_per_class=10)
    assert _counts(tmp_path)["9"] == 5  # nothing was written or deleted
    make_digits_image_folder(
        tmp_path, small_fraction=0.2, max_per_class=10, overwrite=True
    )
    assert _counts(tmp_path)["9"] == 2


def test_overwrite_must_be_a_bool(tmp_path):
    # The string "False" is true: it deleted the files the folder held.
    make_digits_image_folder(tmp_path, small_fraction=0.5, max_per_class=10)
    before = _snapshot(tmp_path)
    with pytest.raises(TypeError, match=r"overwrite must be True or False, got 'False' \(str\)"):
        make_digits_image_folder(tmp_path, small_fraction=0.2, max_per_class=10,
                                 overwrite="False")
    assert _snapshot(tmp_path) == before


def test_files_of_its_names_with_other_bytes_need_overwrite(tmp_path):
    # Another image_size writes the same names: they were replaced unasked, and
    # through a link, outside the folder.
    make_digits_image_folder(tmp_path, max_per_class=3, image_size=8)
    before = _snapshot(tmp_path)
    with pytest.raises(ValueError, match=r"\.png' and \d+ other file.*overwrite=True"):
        make_digits_image_folder(tmp_path, max_per_class=3, image_size=16)
    assert _snapshot(tmp_path) == before
    mine = tmp_path.parent / "mine.png"
    mine.write_bytes(b"the user's file")
    target = sorted((tmp_path / "0").iterdir())[0]
    target.unlink()
    target.symlink_to(mine)
    with pytest.raises(ValueError, match="overwrite=True"):
        make_digits_image_folder(tmp_path, max_per_class=3, image_size=8)
    make_digits_image_folder(tmp_path, max_per_class=3, image_size=16, overwrite=True)
    assert mine.read_bytes() == b"the user's file"
    assert not target.is_symlink()
    assert Image.open(target).size == (16, 16)


def test_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "cats").mkdir()
    with pytest.raises(ValueError, match="'cats'"):
        make_digits_image_folder(tmp_path, overwrite=True)
    assert not (tmp_path / "0").exists()
    (tmp_path / "cats").rmdir()
    (tmp_path / "0").symlink_to(tmp_path.parent, target_is_directory=True)
    with pytest.raises(ValueError, match="'0', which is not a digit class folder"):
        make_digits_image_folder(tmp_path, overwrite=True)
    (tmp_path / "0").unlink()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        make_digits_image_folder(tmp_path / "file")


@pytest.mark.parametrize(
    "params, match",
    [
        ({"image_size": 0}, "image_size"),
        ({"image_size": 8.5}, "image_size"),
        ({"color_mode": "cmyk"}, "color_mode"),
        ({"small_class": 10}, "small_class"),
        ({"small_fraction": 0}, "small_fraction"),
        ({"small_fraction": 1.5}, "small_fraction"),
        ({"max_per_class": 0}, "max_per_class"),
    ],
)
def test_invalid_params(tmp_path, params, match):
    with pytest.raises(ValueError, match=match):
        make_digits_image_folder(tmp_path / "out", **params)
    assert not (tmp_path / "out").exists()
