"""Tests for keraslearn.datasets.load_image_folder."""

import os
import re
import sys
import types

import numpy as np
import pytest
from PIL import Image

from keraslearn.datasets import load_image_folder
from keraslearn.preprocessing import ImageLoader

EXPECTED = ["cats/a.jpg", "cats/b.png", "cats/sub/c.png", "dogs/y.PNG", "dogs/z.png"]


def _write(path, colour, size=(9, 7)):
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
    Image.new("RGB", size, colour).save(path, format=fmt)
    return path


@pytest.fixture
def folder(tmp_path):
    """Two classes, a nested folder, and files that must be skipped."""
    root = tmp_path / "photos"
    for i, rel in enumerate(EXPECTED):
        _write(root / rel, (40 * i, 255 - 40 * i, 100), size=(9 + i, 7))
    _write(root / "cats" / ".hidden.png", (0, 0, 0))
    _write(root / ".ipynb_checkpoints" / "x.png", (0, 0, 0))
    (root / "cats" / "notes.txt").write_text("not an image")
    (root / "README.txt").write_text("top-level file")
    return root


def _stamp(path):
    """Identity of a file's current version: replaced or rewritten files differ."""
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns, st.st_size


def _refuse(*args, **kwargs):
    raise AssertionError("an image was read although the cache is valid")


def test_paths_and_labels_are_sorted(folder):
    paths, y = load_image_folder(folder)
    assert paths.tolist() == [str(folder / rel) for rel in EXPECTED]
    assert y.tolist() == ["cats"] * 3 + ["dogs"] * 2
    assert y.dtype.kind == "U" and paths.dtype.kind == "U"
    paths2, y2, paths3 = load_image_folder(str(folder), return_paths=True)
    np.testing.assert_array_equal(paths2, paths)
    np.testing.assert_array_equal(paths3, paths)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"color_mode": "grayscale"},
        {"scale": False, "dtype": "uint8"},
        {"dtype": "float64"},
    ],
)
def test_arrays_match_image_loader(folder, options):
    X, y, paths = load_image_folder(
        folder, target_size=(5, 6), return_paths=True, **options
    )
    expected = ImageLoader(target_size=(5, 6), **options).fit_transform(paths)
    assert X.dtype == expected.dtype
    np.testing.assert_array_equal(X, expected)
    assert y.tolist() == ["cats"] * 3 + ["dogs"] * 2


def test_extensions(folder):
    paths, _ = load_image_folder(folder, extensions=".png")
    assert [p.endswith("a.jpg") for p in paths].count(True) == 0
    assert len(paths) == 4  # case-insensitive: y.PNG is kept
    paths, _ = load_image_folder(folder, extensions=["JPG", "png"])
    assert len(paths) == 5
    with pytest.raises(ValueError, match="extensions"):
        load_image_folder(folder, extensions=[])


def test_cache_is_reused_without_reading_images(folder, tmp_path, monkeypatch):
    cache = tmp_path / "cache" / "photos.npz"
    X1, y1 = load_image_folder(folder, target_size=(4, 4), cache=cache)
    assert cache.is_file()
    assert not [p for p in cache.parent.iterdir() if p.name.endswith(".tmp")]
    stamp = _stamp(cache)

    monkeypatch.setattr(Image, "open", _refuse)
    X2, y2 = load_image_folder(folder, target_size=(4, 4), cache=cache)
    np.testing.assert_array_equal(X2, X1)
    np.testing.assert_array_equal(y2, y1)
    # scale and dtype are applied after the cache: it still serves them.
    X3, _ = load_image_folder(
        folder, target_size=(4, 4), cache=cache, scale=False, dtype="uint8"
    )
    np.testing.assert_array_equal(X3, np.rint(X1 * 255).astype(np.uint8))
    assert _stamp(cache) == stamp


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file names are UTF-8 only")
def test_a_file_name_that_is_not_utf8_is_cached(tmp_path):
    # A Latin-1 name from an old archive: the cache's fingerprint raised
    # UnicodeEncodeError, where the same folder loaded without the cache.
    root = tmp_path / "photos"
    _write(root / "cats" / os.fsdecode(b"caf\xe9.png"), (200, 10, 10))
    _write(root / "dogs" / "d.png", (10, 10, 200))
    cache = tmp_path / "photos.npz"
    X, y = load_image_folder(root, target_size=(4, 4), cache=cache)
    X2, y2 = load_image_folder(root, target_size=(4, 4), cache=cache)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    assert y.tolist() == ["cats", "dogs"]


def _fingerprint(cache):
    with np.load(cache) as data:
        return str(data["fingerprint"])


@pytest.mark.parametrize("change", ["add", "remove", "modify"])
def test_cache_is_rebuilt_when_the_folder_changes(folder, tmp_path, change):
    cache = tmp_path / "photos.npz"
    X1, y1 = load_image_folder(folder, target_size=(4, 4), cache=cache)
    before = _fingerprint(cache)
    if change == "add":
        _write(folder / "dogs" / "new.png", (1, 2, 3))
    elif change == "remove":
        (folder / "cats" / "b.png").unlink()
    else:
        target = folder / "dogs" / "z.png"
        mtime = os.stat(target).st_mtime_ns
        _write(target, (255, 255, 255))
        os.utime(target, ns=(mtime + 10**9, mtime + 10**9))

    X2, y2 = load_image_folder(folder, target_size=(4, 4), cache=cache)
    assert _fingerprint(cache) != before
    fresh, _ = load_image_folder(folder, target_size=(4, 4))
    np.testing.assert_array_equal(X2, fresh)
    expected_n = {"add": 6, "remove": 4, "modify": 5}[change]
    assert len(X2) == len(y2) == expected_n
    if change == "modify":
        assert np.all(X2[-1] == 1.0) and not np.all(X1[-1] == 1.0)


@pytest.mark.parametrize(
    "options, shape",
    [
        ({"target_size": (3, 2)}, (5, 3, 2, 3)),
        ({"color_mode": "grayscale"}, (5, 4, 4, 1)),
    ],
)
def test_cache_is_rebuilt_when_options_change(folder, tmp_path, options, shape):
    cache = tmp_path / "photos.npz"
    load_image_folder(folder, target_size=(4, 4), cache=cache)
    stamp = _stamp(cache)
    X, _ = load_image_folder(folder, **{"target_size": (4, 4), **options}, cache=cache)
    assert X.shape == shape
    assert _stamp(cache) != stamp
    with np.load(cache) as data:
        assert data["pixels"].shape == shape


@pytest.mark.parametrize("content", ["garbage", "arrays", "array"])
def test_a_file_that_is_not_a_cache_is_refused_and_kept(folder, tmp_path, content):
    # Any file there was replaced: a user's features.npz, given by mistake, was lost.
    cache = tmp_path / "photos.npz"
    if content == "garbage":
        cache.write_bytes(b"garbage")
    elif content == "arrays":
        np.savez(cache, X_train=np.arange(3.0))
    else:
        with open(cache, "wb") as f:
            np.save(f, np.arange(3.0))
    before = cache.read_bytes()
    with pytest.raises(ValueError, match=r"photos\.npz' exists and is not an image cache that "
                                         r"load_image_folder wrote; it is left as it is"):
        load_image_folder(folder, target_size=(4, 4), cache=cache)
    assert cache.read_bytes() == before
    assert not list(tmp_path.glob("*.tmp"))  # nothing was written beside it


def test_cache_argument_errors(folder, tmp_path):
    with pytest.raises(ValueError, match="cache requires target_size"):
        load_image_folder(folder, cache=tmp_path / "c.npz")
    with pytest.raises(ValueError, match=r"\.npz"):
        load_image_folder(folder, target_size=(4, 4), cache=tmp_path / "data.csv")
    assert not (tmp_path / "data.csv").exists()


def test_verbose_without_tqdm_reports_on_stderr(folder, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # "import tqdm" now fails
    cache = tmp_path / "c.npz"
    load_image_folder(folder, target_size=(4, 4), verbose=True, cache=cache)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Loading images: 5/5 (100%)" in captured.err
    assert "creating it" in captured.err
    load_image_folder(folder, target_size=(4, 4), verbose=True, cache=cache)
    err = capsys.readouterr().err
    assert "using it" in err and "Loading images" not in err


def test_verbose_uses_tqdm_when_installed(folder, monkeypatch):
    updates = []

    class FakeBar:
        def __init__(self, total, **kwargs):
            self.total, self.n = total, 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, k):
            self.n += k
            updates.append(self.n)

    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=FakeBar))
    load_image_folder(folder, target_size=(4, 4), verbose=True)
    assert updates == [1, 2, 3, 4, 5]


def test_quiet_by_default(folder, capsys):
    load_image_folder(folder, target_size=(4, 4))
    assert capsys.readouterr() == ("", "")


def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_image_folder(tmp_path / "missing")
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(ValueError, match="file.png.*not a directory"):
        load_image_folder(tmp_path / "file.png")
    with pytest.raises(ValueError, match="no class sub-folders"):
        load_image_folder(tmp_path)

    _write(tmp_path / "only" / "a.png", (0, 0, 0))
    with pytest.raises(ValueError, match="only one class.*'only'"):
        load_image_folder(tmp_path)

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / "empty"))):
        load_image_folder(tmp_path)


def test_unreadable_image_names_the_file(folder):
    (folder / "dogs" / "broken.png").write_text("not a png")
    with pytest.raises(ValueError, match="broken.png") as info:
        load_image_folder(folder, target_size=(4, 4))
    # The path is quoted as the user wrote it, not as NumPy's str_ prints.
    quoted = repr(str(folder / "dogs" / "broken.png"))
    assert f"Could not read image file {quoted}" in str(info.value)
    assert "np.str_" not in str(info.value)


def test_a_cache_that_cannot_be_written_is_named_before_any_image_is_decoded(
        folder, tmp_path, monkeypatch):
    # It failed after decoding every image, as mkdir's "File exists: notes.txt".
    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.setattr(Image, "open", _refuse)
    for cache in (tmp_path / "notes.txt" / "c.npz", tmp_path / "notes.txt" / "sub" / "c.npz"):
        with pytest.raises(OSError, match=re.escape(
                f"cache={str(cache)!r} cannot be written "
                f"({str(tmp_path / 'notes.txt')!r} is a file, not a folder)")):
            load_image_folder(folder, target_size=(4, 4), cache=cache)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_cache_name_as_long_as_the_file_system_takes_is_written(folder, tmp_path):
    # Its temporary name (the cache's and 32 hex digits) was over 255 bytes:
    # the fit failed after decoding every image.
    cache = tmp_path / ("c" * 240 + ".npz")
    X, _ = load_image_folder(folder, target_size=(4, 4), cache=cache)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([cache.name, "photos"])
    np.testing.assert_array_equal(load_image_folder(folder, target_size=(4, 4), cache=cache)[0], X)


def test_a_failed_decode_leaves_no_temporary_cache_file(folder, tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "open", _refuse)
    (tmp_path / "cache").mkdir()
    with pytest.raises(ValueError, match="Could not read image file"):
        load_image_folder(folder, target_size=(4, 4), cache=tmp_path / "cache" / "c.npz")
    assert list((tmp_path / "cache").iterdir()) == []
    # nor the folders it made for it (found in an audit); those it found stay
    with pytest.raises(ValueError, match="Could not read image file"):
        load_image_folder(folder, target_size=(4, 4),
                          cache=tmp_path / "cache" / "new" / "sub" / "c.npz")
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_folder_at_the_cache_path_is_named_for_what_it_is(folder, tmp_path):
    (tmp_path / "photos.npz").mkdir()
    with pytest.raises(IsADirectoryError):
        load_image_folder(folder, target_size=(4, 4), cache=tmp_path / "photos.npz")
