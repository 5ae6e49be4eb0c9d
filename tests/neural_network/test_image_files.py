"""ImageClassifier on image file paths: decoded batch by batch as ImageLoader
decodes them (or, with image_decoder="tensorflow", as Keras' own loader
does), the same training; clear errors before training starts."""

import hashlib
import os

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.base import clone

from keraslearn import ImageClassifier
from keraslearn._engine import _feed
from keraslearn._engine._predict import InputKind
from keraslearn._engine._trace_cache import trace_cache
from keraslearn._tf import keras
from keraslearn.preprocessing import ImageLoader, _image_files
from keraslearn.preprocessing._image_files import image_files

SMALL = dict(conv_filters=(4,), dense_units=8, dropout=0.0, epochs=2, batch_size=8,
             random_state=0)


def _write(folder, n=36, size=(12, 10), mode="RGB", fmt="png", sizes=None):
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    paths, labels = [], []
    for i in range(n):
        width, height = sizes[i % len(sizes)] if sizes else size
        label = i % 3
        shape = (height, width) if mode == "L" else (height, width, 3)
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        pixels[: height // 2] //= (label + 1)  # a little to learn
        path = folder / f"{i:03d}.{fmt}"
        Image.fromarray(pixels, mode=mode).save(path)
        paths.append(str(path))
        labels.append(label)
    return paths, np.array(labels)


def _digest(paths):
    return [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths]


@pytest.mark.parametrize("gathered", [False, True], ids=["read-whole", "batch-by-batch"])
def test_fit_and_predict_on_paths_equal_those_on_imageloader_arrays(tmp_path, gathered,
                                                                   monkeypatch):
    if gathered:  # so few images are decoded whole first; 0 decodes every batch in tf.data
        monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    paths, y = _write(tmp_path)
    before = _digest(paths)
    arrays = ImageLoader(target_size=(10, 12)).fit_transform(paths)
    ours = ImageClassifier(**SMALL).fit(paths, y)
    theirs = ImageClassifier(**SMALL).fit(arrays, y)
    assert ours.image_shape_ == theirs.image_shape_ == (10, 12, 3)
    for a, b in zip(ours.model_.get_weights(), theirs.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ours.predict_proba(paths), theirs.predict_proba(arrays))
    np.testing.assert_array_equal(ours.predict_proba(arrays), theirs.predict_proba(paths))
    ours.partial_fit(paths[:12], y[:12])
    theirs.partial_fit(arrays[:12], y[:12])
    np.testing.assert_array_equal(ours.predict(paths), theirs.predict(arrays))
    assert _digest(paths) == before  # the files as they were


@pytest.mark.parametrize("decoder", ["pillow", "tensorflow"])
def test_only_a_fit_decoding_files_in_python_trains_the_model_itself(tmp_path, monkeypatch,
                                                                     decoder):
    # Pillow's batch by batch: no warm copy, so one step per call, as Keras'
    # fit runs (decoding bounds such a fit); small data read whole first still
    # trains through one, and so do files TensorFlow decodes (no Python in a
    # step: several steps per call).
    paths, y = _write(tmp_path, n=12, fmt="jpg")
    for small_data_bytes in (0, _feed.SMALL_DATA_BYTES):
        monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", small_data_bytes)
        trace_cache.clear()
        ImageClassifier(**SMALL, image_decoder=decoder).fit(paths, y)
        warm = decoder == "tensorflow" or small_data_bytes > 0
        assert (len(trace_cache) == 1) == warm


def test_image_shape_resizes_files_of_any_size_and_grayscale_stays_grayscale(tmp_path,
                                                                            monkeypatch):
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    paths, y = _write(tmp_path, mode="L", fmt="jpg", sizes=[(12, 10), (20, 9), (7, 7)])
    arrays = ImageLoader(target_size=(8, 8), color_mode="grayscale").fit_transform(paths)
    ours = ImageClassifier(**SMALL, image_shape=(8, 8)).fit(np.array(paths), y)
    theirs = ImageClassifier(**SMALL, image_shape=(8, 8)).fit(arrays, y)
    assert ours.image_shape_ == (8, 8, 1)
    np.testing.assert_array_equal(ours.predict_proba(paths[::-1]),
                                  theirs.predict_proba(arrays[::-1]))
    # Without image_shape, grayscale files are read with one channel.
    same_size, y2 = _write(tmp_path / "gray", n=6, mode="L")
    assert ImageClassifier(**SMALL).fit(same_size, y2).image_shape_ == (10, 12, 1)


class _Started(keras.callbacks.Callback):
    started = False

    def on_train_begin(self, logs=None):
        _Started.started = True


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("images"), n=9)


@pytest.fixture(scope="module")
def fitted(images):
    return ImageClassifier(**SMALL).fit(*images)


@pytest.mark.parametrize("spoil, error, match", [
    (lambda p, d: p[:4] + [str(d / "missing.png")] + p[5:], FileNotFoundError,
     r"Image file X\[4\] not found.*missing\.png"),
    (lambda p, d: (d / "note.png").write_text("not an image") and p[:-1] + [str(d / "note.png")],
     ValueError, r"Could not read image file .*note\.png.* \(X\[8\]\)"),
    (lambda p, d: p[:-1] + [str(d)], ValueError, r"X\[8\] is a folder"),
    (lambda p, d: p[:3] + [3.5] + p[4:], TypeError, r"X\[3\] is a float"),
    # (a missing first path hid the others: X was read as numbers, and told to use
    # ImageClassifier, which takes paths)
    (lambda p, d: pd.Series([None, *p[1:]], dtype=object), TypeError,
     r"every element must be a file path or a PIL image; X\[0\] is missing\.$"),
    (lambda p, d: p[:2] + _write(d / "other", n=1, size=(13, 10))[0] + p[3:], ValueError,
     r"X\[2\] .* is 10x13 pixels .* but (X\[0\] is|the images of fit are) 10x12"
     r".*image_shape="),
    # (NumPy's "inhomogeneous shape" before; a PIL image of the arrays' size was read
    # as an array of its 0-255 pixels, silently)
    (lambda p, d: [np.zeros((10, 12, 3))] + p[1:], ValueError,
     r"X mixes arrays and image files: X\[1\] is a str after arrays"),
    (lambda p, d: [np.zeros((10, 12, 3)), Image.open(p[1])], ValueError,
     r"X mixes arrays and image files: X\[1\] is a PngImageFile after arrays"),
    (lambda p, d: np.array([np.zeros((10, 12, 3)), p[1]], dtype=object), ValueError,
     r"X mixes arrays and image files: X\[1\] is a str after arrays"),
], ids=["missing", "not-an-image", "folder", "not-a-path", "missing-first", "mixed-sizes",
        "array-then-paths", "array-then-pil", "object-array"])
def test_bad_files_are_refused_before_training_starts(images, fitted, tmp_path, spoil, error,
                                                      match):
    paths, y = images
    bad = spoil(paths, tmp_path)
    _Started.started = False
    clf = ImageClassifier(**SMALL, callbacks=[_Started()])
    with pytest.raises(error, match=match):
        clf.fit(bad, y)
    assert not _Started.started and not hasattr(clf, "model_")
    with pytest.raises(error, match=match):
        fitted.predict(bad)


def test_paths_are_recognised_by_their_first_value_that_is_not_missing():
    # (found in review: a 2-D object array was read across its rows, so a table
    # whose second column held text counted as paths; polars and pandas columns
    # of numbers are not scanned)
    import polars as pl

    from keraslearn.preprocessing._image_files import holds_images

    for paths in (pd.Series([None, "a.png"]), pl.Series([None, "a.png"]), [np.nan, "a.png"],
                  [np.float32("nan"), "a.png"],
                  pl.DataFrame({"p": [None, "a.png"]}), np.array([[None], ["a.png"]])):
        assert holds_images(paths)
    for other in (np.array([[np.nan, "a.png"], [np.nan, "b.png"]], dtype=object),
                  pd.Series(np.full(10, np.nan)), [np.float32("nan"), 1.0]):
        assert not holds_images(other)


def test_an_image_over_pillows_pixel_limit_names_the_setting_that_raises_it(images, fitted,
                                                                          monkeypatch):
    # Keras' own loader (TensorFlow's decoder) reads a 13,400-pixel-square scan that
    # Pillow refuses as a possible decompression bomb: the message named no way out.
    from PIL import Image

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20)  # the images are 10x12 pixels
    with pytest.raises(ValueError, match=r"Could not read image file .* decompression bomb"
                                         r".*PIL\.Image\.MAX_IMAGE_PIXELS raises it"):
        fitted.predict(images[0])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_a_path_that_is_not_a_regular_file_is_refused_before_it_is_opened(images, fitted,
                                                                         tmp_path):
    # A served pipeline reads the paths its clients send: opening a FIFO blocked
    # the model's thread, every other request waiting behind it.
    from keraslearn.preprocessing import ImageLoader

    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    paths = [*images[0][:2], str(fifo)]
    for read in (fitted.predict, ImageLoader().fit_transform,
                 ImageLoader(image_decoder="tensorflow").fit_transform):
        with pytest.raises(ValueError, match=r"X\[2\] is not a regular file .*pipe\.png"):
            read(paths)


def test_odd_paths_are_named_cut_short_with_their_row(fitted, tmp_path):
    # A path with a NUL character lost its row and path ("embedded null byte"); a
    # long one came back twice, whole, in the message (a served answer echoes it).
    with pytest.raises(ValueError, match=r"Could not read image file 'a\.png\\x00b' \(X\[0\]\)"
                                         r": embedded null byte"):
        fitted.predict(["a.png\x00b"])
    long = str(tmp_path / ("x" * 100_000))
    for path in (long, long + "\x00", str(tmp_path / ("y" * 200) / "z.png")):
        with pytest.raises((FileNotFoundError, ValueError)) as raised:  # (too long, NUL, absent)
            fitted.predict([path])
        assert len(str(raised.value)) < 1000


def test_predict_on_files_of_another_size_than_fit(images, fitted, tmp_path):
    paths, y = images
    other, _ = _write(tmp_path / "small", n=2, size=(6, 6))
    with pytest.raises(ValueError, match=r"is 6x6 pixels .* the images of fit are 10x12"):
        fitted.predict(other)
    resized = ImageClassifier(**SMALL, image_shape=(10, 12, 3)).fit(paths, y)
    assert resized.predict(other).shape == (2,)
    with pytest.raises(ValueError, match="for image files it is the size every image"):
        ImageClassifier(**SMALL, image_shape=(-1, 12, 3)).fit(paths, y)


def test_an_image_broken_after_its_header_is_named_when_it_is_decoded(images, fitted, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    paths, y = images
    data = open(paths[5], "rb").read()
    with open(tmp_path / "cut.png", "wb") as f:
        f.write(data[: len(data) // 2])  # a valid header, half the pixels
    bad = paths[:5] + [str(tmp_path / "cut.png")] + paths[6:]
    with pytest.raises(ValueError, match=r"Could not read image file .*cut\.png.*X\[5\]"):
        ImageClassifier(**SMALL).fit(bad, y)
    with pytest.raises(ValueError, match=r"cut\.png"):
        fitted.predict(bad)
    assert os.path.getsize(tmp_path / "cut.png") == len(data) // 2


# ------------------------------------------------ image_decoder="tensorflow"
def _mixed_folder(folder, mode="RGB"):
    """Files of the formats TensorFlow reads in ``mode`` and of three sizes in
    one folder, in name order."""
    folder.mkdir()
    rng = np.random.default_rng(1)
    paths = []
    formats = ["png", "jpg", "gif", "bmp"] if mode == "RGB" else ["png", "jpg"]
    for i, (fmt, (width, height)) in enumerate(zip(
            formats * 3, [(12, 10), (20, 9), (7, 7)] * 4)):
        shape = (height, width) if mode == "L" else (height, width, 3)
        path = folder / f"{i:03d}.{fmt}"
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode=mode).save(path)
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("eager_decodes", [32, 2], ids=["one-by-one", "tf.data-map"])
@pytest.mark.parametrize("mode, color_mode", [("RGB", "rgb"), ("L", "grayscale")])
def test_the_tensorflow_decoder_gives_the_pixels_of_keras_image_dataset_from_directory(
        tmp_path, mode, color_mode, eager_decodes, monkeypatch):
    # Files read eagerly (read whole, probes) are decoded one by one, or, more
    # of them, in a tf.data map: the same pixels either way.
    monkeypatch.setattr(_image_files, "_EAGER_DECODES", eager_decodes)
    paths = _mixed_folder(tmp_path / "images", mode)
    channels = 3 if mode == "RGB" else 1
    keras_images = next(iter(keras.utils.image_dataset_from_directory(
        tmp_path / "images", labels=None, image_size=(8, 9), color_mode=color_mode,
        shuffle=False, batch_size=len(paths), verbose=False))).numpy() / 255.0
    source = image_files(paths, (8, 9, channels), decoder="tensorflow")
    assert source.reads_in_tensorflow
    np.testing.assert_array_equal(source.read(), keras_images)  # eagerly
    np.testing.assert_array_equal(_feed.in_memory(source), keras_images)  # in tf.data
    np.testing.assert_array_equal(source[[5, 0]].read(), keras_images[[5, 0]])
    # Pillow's pixels differ (anti-aliased resampling, its own rounding).
    pillow = image_files(paths, (8, 9, channels)).read()
    assert not np.array_equal(pillow, keras_images)


@pytest.mark.parametrize("gathered", [False, True], ids=["read-whole", "batch-by-batch"])
def test_a_fit_decoding_with_tensorflow_equals_a_fit_on_its_pixels(tmp_path, gathered,
                                                                    monkeypatch):
    if gathered:
        monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    paths, y = _write(tmp_path, fmt="jpg", sizes=[(12, 10), (15, 11)])
    before = _digest(paths)
    settings = dict(SMALL, image_shape=(10, 12, 3))
    arrays = image_files(paths, (10, 12, 3), decoder="tensorflow").read()
    ours = ImageClassifier(**settings, image_decoder="tensorflow").fit(paths, y)
    theirs = ImageClassifier(**settings).fit(arrays, y)
    for a, b in zip(ours.model_.get_weights(), theirs.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ours.predict_proba(paths[::-1]),
                                  theirs.predict_proba(arrays[::-1]))
    assert _digest(paths) == before
    # The default decoder reads other pixels: another fit.
    pillow = ImageClassifier(**settings).fit(paths, y)
    assert not np.array_equal(pillow.predict_proba(paths), ours.predict_proba(paths))


@pytest.mark.parametrize("gathered", [False, True], ids=["read-whole", "batch-by-batch"])
def test_a_float64_network_reads_tensorflow_decoded_files_as_float64(tmp_path, gathered,
                                                                     monkeypatch):
    if gathered:
        monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    paths, y = _write(tmp_path, fmt="jpg")
    settings = dict(SMALL, image_shape=(10, 12, 3), dtype="float64")
    arrays = image_files(paths, (10, 12, 3), decoder="tensorflow").read().astype("float64")
    ours = ImageClassifier(**settings, image_decoder="tensorflow").fit(paths, y)
    theirs = ImageClassifier(**settings).fit(arrays, y)
    for a, b in zip(ours.model_.get_weights(), theirs.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ours.predict_proba(paths), theirs.predict_proba(arrays))
    assert ours.predict_proba(paths).dtype == np.float64


def test_the_tensorflow_decoder_refuses_what_it_cannot_read_before_training(images, tmp_path):
    paths, y = images
    Image.new("RGB", (12, 10)).save(tmp_path / "scan.tiff")
    cases = [  # (NumPy's str_, as list(load_image_folder(...)[0]) gives: named as a str)
        (paths[:3] + [np.str_(tmp_path / "scan.tiff")] + paths[4:],
         r"X\[3\] \('.*scan\.tiff'\) is a TIFF file: image_decoder='tensorflow' reads JPEG, "
         r"PNG, GIF and BMP files only"),
        (paths[:1] + [Image.new("RGB", (12, 10))] + paths[2:], r"X\[1\] is a PIL image"),
    ]
    gray, y_gray = _write(tmp_path / "gray", n=6, mode="L", fmt="gif")
    with pytest.raises(ValueError, match=r"X\[0\] .* is a GIF file: image_decoder='tensorflow' "
                       r"reads grayscale images from JPEG and PNG files only"):
        ImageClassifier(**SMALL, image_shape=(10, 12), image_decoder="tensorflow").fit(
            gray, y_gray)
    for bad, match in cases:
        _Started.started = False
        clf = ImageClassifier(**SMALL, image_decoder="tensorflow", callbacks=[_Started()])
        with pytest.raises(ValueError, match=match):
            clf.fit(bad, y)
        assert not _Started.started and not hasattr(clf, "model_")
    (tmp_path / "not.png").write_bytes(b"not an image")
    with pytest.raises(ValueError) as error:
        ImageClassifier(**SMALL).fit(paths[:2] + [np.str_(tmp_path / "not.png")] + paths[3:], y)
    assert "not.png" in str(error.value) and "np.str_" not in str(error.value)
    with pytest.raises(ValueError, match="image_decoder"):
        ImageClassifier(**SMALL, image_decoder="opencv").fit(paths, y)
    # The parameter is an ordinary one: clones carry it.
    assert clone(ImageClassifier(image_decoder="tensorflow")).image_decoder == "tensorflow"


def _bmp(path, bits, compression=0, width=12, height=10):
    """A BMP file Pillow reads that Pillow does not write: 4 or 16 bits per
    pixel, or run-length compressed (its pixels: one run of colour 1 a row)."""
    import struct

    palette = b"".join(bytes((i, 255 - i, 7 * i % 256, 0)) for i in range(2 ** min(bits, 8)))
    if compression:
        data = b"".join(bytes((width, 1, 0, 0)) for _ in range(height - 1)) + bytes(
            (width, 1, 0, 1))
    else:
        row = bytes(-(-width * bits // 8))
        data = (row + bytes(-len(row) % 4)) * height
    palette = palette if bits <= 8 else b""
    offset = 14 + 40 + len(palette)
    path.write_bytes(
        struct.pack("<2sIHHI", b"BM", offset + len(data), 0, 0, offset)
        + struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, compression, len(data),
                      2835, 2835, len(palette) // 4, 0) + palette + data)


@pytest.mark.parametrize("mode, fmt, image_shape, what", [
    ("1", "BMP", (10, 12, 3), "a 1-bit BMP file"),
    ("CMYK", "JPEG", (10, 12), "a CMYK JPEG file read as grayscale"),
    (4, "BMP", (10, 12, 3), "a 4-bit BMP file"),
    (16, "BMP", (10, 12, 3), "a 16-bit BMP file"),
    ("rle8", "BMP", (10, 12, 3), r"a compressed \(run-length\) BMP file"),
    ("P", "BMP", (10, 12, 3), r"an 8-bit BMP file whose palette is not the gray levels in "
                              r"order \(its indices read as gray levels\)"),
])
def test_formats_tensorflow_reads_in_a_form_it_does_not_are_refused_first(
        images, tmp_path, monkeypatch, mode, fmt, image_shape, what):
    # Their headers are of formats it reads: the fit failed once training had
    # started (beyond the small data read whole: most of an epoch in).
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    paths, y = images
    odd = tmp_path / f"odd.{fmt.lower()}"
    if isinstance(mode, int) or mode == "rle8":
        _bmp(odd, 8, compression=1) if mode == "rle8" else _bmp(odd, mode)
        with Image.open(odd) as opened:  # Pillow reads it
            opened.load()
    else:
        Image.new("RGB", (12, 10), (200, 30, 90)).convert(mode).save(odd, fmt)
    _Started.started = False
    clf = ImageClassifier(**SMALL, image_shape=image_shape, image_decoder="tensorflow",
                          callbacks=[_Started()])
    with pytest.raises(ValueError, match=rf"X\[2\] .*odd\.{fmt.lower()}.* is {what}, which "
                       r"TensorFlow's decode_image cannot read"):
        clf.fit(paths[:2] + [str(odd)] + paths[3:], y)
    assert not _Started.started and not hasattr(clf, "model_")


def _bitfields_bmp(path, masks, pixels):
    """A 32-bit BMP of ``pixels`` (rows of 4 bytes a pixel, top first) whose
    channels are given by ``masks`` (red, green, blue, alpha) in a V4 header."""
    import struct

    height, width = pixels.shape[:2]
    data = pixels[::-1].tobytes()
    header = struct.pack("<IiiHHIIiiII", 108, width, height, 1, 32, 3, len(data), 2835, 2835,
                         0, 0) + struct.pack("<IIII", *masks) + b"sRGB" + bytes(48)
    offset = 14 + len(header)
    path.write_bytes(struct.pack("<2sIHHI", b"BM", offset + len(data), 0, 0, offset) + header
                     + data)


def test_bmp_files_tensorflow_reads_otherwise_than_pillow_are_refused(tmp_path):
    # found in an audit: they passed the check and were read otherwise than
    # Pillow (and the pixels) say, in silence: a 32-bit file of RGBA channel
    # masks with red and blue swapped, an 8-bit one of a gray palette in
    # another order (inverted) as its indices
    from keraslearn.preprocessing import ImageLoader

    pixel = np.array([200, 50, 10, 255], dtype=np.uint8)  # red, green, blue, alpha
    rgba, bgra = tmp_path / "rgba.bmp", tmp_path / "bgra.bmp"
    _bitfields_bmp(rgba, (0xFF, 0xFF00, 0xFF0000, 0xFF000000), np.tile(pixel, (2, 3, 1)))
    _bitfields_bmp(bgra, (0xFF0000, 0xFF00, 0xFF, 0xFF000000),
                   np.tile(pixel[[2, 1, 0, 3]], (2, 3, 1)))
    inverted, gray = tmp_path / "inverted.bmp", tmp_path / "gray.bmp"
    levels = np.array([[0, 85], [170, 255]], dtype=np.uint8)
    image = Image.fromarray(255 - levels, mode="P")
    image.putpalette([255 - i for i in range(256) for _ in range(3)])
    image.save(inverted)
    Image.fromarray(levels, mode="L").save(gray)
    pillow = ImageLoader(target_size=(2, 3), scale=False)
    tensorflow = ImageLoader(target_size=(2, 3), scale=False, image_decoder="tensorflow")
    np.testing.assert_array_equal(pillow.fit_transform([rgba])[0], np.tile(pixel[:3], (2, 3, 1)))
    np.testing.assert_array_equal(tensorflow.fit_transform([bgra]), pillow.fit_transform([bgra]))
    with pytest.raises(ValueError, match=r"rgba\.bmp.* is a BMP file of channel masks other "
                                         r"than blue, green, red in its bytes \(TensorFlow would "
                                         r"swap red and blue\)"):
        tensorflow.fit_transform([rgba])
    as_gray = dict(target_size=(2, 2), scale=False, color_mode="rgb")
    np.testing.assert_array_equal(ImageLoader(**as_gray).fit_transform([inverted])[0, ..., 0],
                                  levels)
    np.testing.assert_array_equal(
        ImageLoader(**as_gray, image_decoder="tensorflow").fit_transform([gray]),
        ImageLoader(**as_gray).fit_transform([gray]))
    with pytest.raises(ValueError, match=r"inverted\.bmp.* is an 8-bit BMP file whose palette "
                                         r"is not the gray levels in order"):
        ImageLoader(**as_gray, image_decoder="tensorflow").fit_transform([inverted])
    # (found in review) a palette of black and white, which Pillow opens as mode
    # "1" without a palette: TensorFlow read its pixels as 0 and 1
    import struct

    two_tone = tmp_path / "two_tone.bmp"
    palette, pixels = bytes((0, 0, 0, 0, 255, 255, 255, 0)), bytes((0, 1, 0, 1)) * 2
    offset = 14 + 40 + len(palette)
    two_tone.write_bytes(
        struct.pack("<2sIHHI", b"BM", offset + len(pixels), 0, 0, offset)
        + struct.pack("<IiiHHIIiiII", 40, 4, 2, 1, 8, 0, len(pixels), 2835, 2835, 2, 0)
        + palette + pixels)
    assert Image.open(two_tone).mode == "1"
    with pytest.raises(ValueError, match=r"two_tone\.bmp.* is an 8-bit BMP file whose palette "
                                         r"is not the gray levels in order"):
        ImageLoader(target_size=(2, 4), image_decoder="tensorflow").fit_transform([two_tone])


def test_after_a_tensorflow_decoder_fit_the_advice_is_what_prediction_takes(images):
    # Prediction reads as the fit did, whatever image_decoder is set to since:
    # the advice to use image_decoder='pillow' could not be followed.
    paths, y = images
    clf = ImageClassifier(**SMALL, image_decoder="tensorflow").fit(paths, y)
    pictures = [Image.open(p) for p in paths[:3]]
    for decoder in ("tensorflow", "pillow"):
        clf.set_params(image_decoder=decoder)
        with pytest.raises(ValueError, match=r"X\[0\] is a PIL image: .* This estimator reads "
                           r"images as its fit did \(image_decoder='tensorflow'\): give it files"):
            clf.predict(pictures)


def test_a_file_tensorflow_cannot_decode_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    paths, y = _write(tmp_path, n=9, fmt="jpg")
    data = open(paths[4], "rb").read()
    with open(tmp_path / "cut.jpg", "wb") as f:
        f.write(data[: len(data) * 9 // 10])  # a header Pillow reads, pixels cut short
    bad = paths[:4] + [np.str_(tmp_path / "cut.jpg")] + paths[5:]
    # (no advice to use Pillow's decoder, which cannot read it either: found in an audit)
    match = (r"TensorFlow could not decode image file '[^']*cut\.jpg' \(X\[4\]\): "
             r"jpeg::Uncompress failed[^(]*[^.]\.$")  # (one full stop: TensorFlow's dropped)
    clf = ImageClassifier(**SMALL, image_decoder="tensorflow")
    with pytest.raises(ValueError, match=match):
        clf.fit(bad, y)
    assert not hasattr(clf, "model_")
    clf.fit(paths, y)
    with pytest.raises(ValueError, match=match):
        clf.predict(bad)
    # A PNG whose pixel chunk's checksum is wrong: Pillow reads it, TensorFlow not.
    Image.open(paths[4]).save(tmp_path / "crc.png")
    data = bytearray((tmp_path / "crc.png").read_bytes())
    start = data.find(b"IDAT")
    data[start + 4 + int.from_bytes(data[start - 4:start], "big")] ^= 0xFF
    (tmp_path / "crc.png").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"'[^']*crc\.png' \(X\[4\]\): .* \(image_decoder="
                                         r"'pillow' reads what Pillow reads\)\.$"):
        clf.predict(paths[:4] + [np.str_(tmp_path / "crc.png")] + paths[5:])
    # A file removed while the fit reads them: FileNotFoundError, as from Pillow's
    # decoder (the advice to use it was given).
    import shutil

    shutil.copy(paths[4], tmp_path / "gone.jpg")

    class Remove(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            (tmp_path / "gone.jpg").unlink(missing_ok=True)

    with pytest.raises(FileNotFoundError, match=r"Image file X\[4\] not found"):
        ImageClassifier(**{**SMALL, "epochs": 2}, image_decoder="tensorflow",
                        callbacks=[Remove()]).fit(
            paths[:4] + [np.str_(tmp_path / "gone.jpg")] + paths[5:], y)


def test_a_multi_picture_jpeg_is_read_by_the_tensorflow_decoder(tmp_path):
    # Many phone cameras write JPEG files holding several pictures (Pillow: "MPO");
    # Keras' loader reads their first picture, and so does this decoder.
    paths, y = _write(tmp_path / "images", n=6, fmt="jpg")
    first = Image.open(paths[0])
    first.save(paths[0], format="MPO", save_all=True,
               append_images=[first.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    assert Image.open(paths[0]).format == "MPO"
    keras_images = next(iter(keras.utils.image_dataset_from_directory(
        tmp_path / "images", labels=None, image_size=(10, 12), shuffle=False,
        batch_size=len(paths), verbose=False))).numpy() / 255.0
    source = image_files(paths, (10, 12, 3), decoder="tensorflow")
    np.testing.assert_array_equal(source.read(), keras_images)
    clf = ImageClassifier(**SMALL, image_decoder="tensorflow").fit(paths, y)
    assert clf.predict(paths).shape == (6,)


def test_paths_held_as_numpy_strings_are_not_taken_for_arrays(images, fitted):
    # NumPy's str_ has a shape (of no dimension): a list of them was refused as
    # arrays followed by paths.
    paths, y = images
    as_numpy = list(np.array(paths))
    np.testing.assert_array_equal(fitted.predict(as_numpy), fitted.predict(paths))


def test_predict_takes_what_fit_took(tmp_path):
    """PIL images resized by image_shape, and one-column forms of paths."""
    paths, y = _write(tmp_path, n=8, sizes=[(12, 10), (9, 14)])
    pil = [Image.open(p) for p in paths]
    resized = ImageClassifier(**SMALL, image_shape=(8, 8, 3)).fit(pil, y)
    expected = resized.predict_proba(paths)
    np.testing.assert_array_equal(resized.predict_proba(pil), expected)
    resized.set_params(warm_start=True).fit(pil, y)  # a warm fit checks X as predict does
    same, _ = _write(tmp_path / "same", n=8)
    plain = ImageClassifier(**SMALL).fit(same, y)
    expected = plain.predict_proba(same)
    import polars as pl  # (its frames of paths were read as numbers: "X holds text")

    for column in (pd.DataFrame({"path": same}), np.array(same)[:, None],
                   [[p] for p in same], pl.DataFrame({"path": same}), pl.Series(same)):
        np.testing.assert_array_equal(
            ImageClassifier(**SMALL).fit(column, y).predict_proba(column), expected)
    with pytest.raises(TypeError, match="got a single str; wrap it in a list"):
        plain.predict(same[0])
    # An empty list is no images, not a 1-D array to reshape (scikit-learn's words).
    for empty in ([], np.array([], dtype=object)):
        with pytest.raises(ValueError, match="X holds no images: ImageClassifier needs"):
            plain.predict_proba(empty)
    with pytest.raises(ValueError, match="X holds no images"):
        ImageClassifier(**SMALL).fit([], [])


def test_predict_reads_images_as_fit_did_whatever_set_params_changed(tmp_path):
    paths, y = _write(tmp_path, n=8, sizes=[(12, 10), (9, 14)], fmt="jpg")
    clf = ImageClassifier(**SMALL, image_shape=(8, 8, 3)).fit(paths, y)
    expected = clf.predict_proba(paths)
    clf.set_params(image_shape=None, image_decoder="tensorflow")
    np.testing.assert_array_equal(clf.predict_proba(paths), expected)
    with pytest.raises(ValueError, match="must all have one size"):
        clf.fit(paths, y)  # a new fit reads by its parameters: no resizing now
    np.testing.assert_array_equal(clf.predict_proba(paths), expected)


def test_pil_images_given_more_than_once_are_loaded_by_one_thread(tmp_path, monkeypatch):
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)  # decoded batch by batch in the feed
    paths, _ = _write(tmp_path, n=2, size=(300, 300), fmt="jpg")
    # Lazily opened images, each given many times (as oversampling does):
    # Pillow loads an image in the first thread that reads it.
    lazy = [Image.open(p) for p in paths]
    X, y = [lazy[0]] * 24 + [lazy[1]] * 24, [0] * 24 + [1] * 24
    clf = ImageClassifier(**SMALL, image_shape=(8, 8, 3)).fit(X, y)
    arrays = ImageLoader(target_size=(8, 8)).fit_transform(paths)
    np.testing.assert_array_equal(clf.predict_proba(X[::23]), clf.predict_proba(arrays[[0, 0, 1]]))


def test_the_tensorflow_decoder_is_quiet(tmp_path, capfd):
    paths, y = _write(tmp_path, n=6, fmt="jpg")
    image_files(paths, (10, 12, 3), decoder="tensorflow").read()  # eagerly
    assert "parallel_iterations" not in capfd.readouterr().err


def test_tensorflow_decoded_files_batched_beside_rows_read_in_python(tmp_path, monkeypatch):
    # Files TensorFlow decodes in the pipeline, beside targets mapped from a
    # .npy file (read in Python batch by batch): each batch's images are those
    # of its targets' rows.
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    paths, _ = _write(tmp_path / "images", fmt="jpg", sizes=[(12, 10), (15, 11)])
    files = image_files(paths, (10, 12, 3), decoder="tensorflow")
    pixels = files.read()
    np.save(tmp_path / "rows.npy", np.arange(len(paths), dtype="float32"))
    rows = np.load(tmp_path / "rows.npy", mmap_mode="r")
    weights = np.ones(len(paths))
    seen = []
    with _feed.releasing():
        ds = _feed.make_dataset(files, rows, weights, batch_size=8, shuffle=True, seed=0,
                                inputs=InputKind("float32"))
        for x, y, _ in ds:
            y = np.asarray(y).astype(int)
            np.testing.assert_array_equal(np.asarray(x), pixels[y])
            seen.extend(y)
    assert sorted(seen) == list(range(len(paths))) and seen != sorted(seen)


def test_grayscale_files_tensorflow_reads_as_rgb_only_are_read_as_rgb(tmp_path):
    # Grayscale BMP and GIF files were taken for one channel, which
    # TensorFlow's decode_image gives for JPEG and PNG files only: refused.
    from keraslearn.preprocessing import ImageLoader

    for fmt, channels in (("bmp", 3), ("gif", 3), ("png", 1)):
        paths, y = _write(tmp_path / fmt, n=6, mode="L", fmt=fmt)
        clf = ImageClassifier(**SMALL, image_decoder="tensorflow").fit(paths, y)
        assert clf.image_shape_ == (10, 12, channels)
        pixels = ImageLoader(target_size=(10, 12), color_mode="rgb" if channels == 3 else
                             "grayscale", image_decoder="tensorflow").fit_transform(paths)
        np.testing.assert_allclose(clf.predict_proba(paths), clf.predict_proba(pixels),
                                   rtol=1e-6, atol=1e-7)


def test_an_image_of_another_size_at_predict_is_told_what_a_fitted_estimator_takes(tmp_path):
    # It was told to give image_shape, which a fitted estimator does not read.
    paths, y = _write(tmp_path, n=8, sizes=[(8, 8)], fmt="png")
    clf = ImageClassifier(**SMALL).fit(paths, y)
    other, _ = _write(tmp_path / "other", n=1, sizes=[(12, 10)], fmt="png")
    for image_shape in (None, (8, 8, 3)):
        clf.set_params(image_shape=image_shape)
        with pytest.raises(ValueError, match=r"reads images as its fit did: resize them to "
                                             r"8x8 first \(ImageLoader\(target_size"):
            clf.predict(other)
    with pytest.raises(ValueError, match=r"one size. Give image_shape=\(height, width"):
        ImageClassifier(**SMALL).fit(paths + other, [*y, 0])


def test_files_given_to_a_network_fitted_on_four_channel_arrays_are_refused_naming_the_fit(
        tmp_path):
    # The message blamed an image_shape=(8, 8, 4) the user never gave.
    rgba = np.random.default_rng(0).random((12, 8, 8, 4), dtype=np.float32)
    clf = ImageClassifier(**SMALL).fit(rgba, np.arange(12) % 2)
    assert clf.get_params()["image_shape"] is None
    paths, _ = _write(tmp_path, n=2, sizes=[(8, 8)])
    with pytest.raises(ValueError, match=r"fitted on images of 4 channels, but image files are "
                                         r"read with 1 channel .* arrays of shape \(n_images, "
                                         r"8, 8, 4\)"):
        clf.predict(paths)
