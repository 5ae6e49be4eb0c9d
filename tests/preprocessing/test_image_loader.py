"""Tests for keraslearn.preprocessing.ImageLoader."""

import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFile
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils import estimator_checks, get_tags

from keraslearn.preprocessing import ImageLoader
from versions import STRING_DTYPE


def _save(path, pixels, fmt=None):
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path, format=fmt)
    return path


@pytest.fixture
def image_paths(tmp_path):
    """Three small random RGB images of different sizes, as PNG and JPEG."""
    rng = np.random.default_rng(0)
    shapes = [(12, 10, 3), (7, 15, 3), (20, 20, 3)]
    names = ["a.png", "b.jpg", "c.png"]
    return [
        _save(tmp_path / name, rng.integers(0, 256, shape))
        for name, shape in zip(names, shapes)
    ]


@pytest.mark.parametrize("color_mode, channels", [("rgb", 3), ("grayscale", 1)])
def test_shape_dtype_and_range(image_paths, color_mode, channels):
    loader = ImageLoader(target_size=(6, 9), color_mode=color_mode)
    X = loader.fit_transform(image_paths)
    assert loader.n_channels_ == channels
    assert X.shape == (3, 6, 9, channels)
    assert X.dtype == np.float32
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert X.max() > 0.5  # scaled, not all zero


@STRING_DTYPE
def test_paths_in_numpy_s_string_dtype_are_paths(image_paths):
    # Found in an audit: NumPy 2's StringDType array (kind "T") was called numeric,
    # and ImageClassifier told the user to use ImageClassifier.
    from keraslearn import ImageClassifier

    given = np.array([str(p) for p in image_paths], dtype=np.dtypes.StringDType())
    loader = ImageLoader(target_size=(6, 9))
    np.testing.assert_array_equal(loader.fit_transform(given),
                                  ImageLoader(target_size=(6, 9)).fit_transform(image_paths))
    clf = ImageClassifier(image_shape=(6, 9, 3), conv_filters=(2,), dense_units=4, epochs=1,
                          random_state=0).fit(given, ["a", "b", "a"])
    assert clf.predict(given).shape == (3,)


def test_flatten_matches_reshaped_images(image_paths):
    images = ImageLoader(target_size=(5, 4)).fit_transform(image_paths)
    rows = ImageLoader(target_size=(5, 4), flatten=True).fit_transform(image_paths)
    assert rows.shape == (3, 5 * 4 * 3)
    np.testing.assert_array_equal(rows, images.reshape(3, -1))


def test_flattened_pixels_are_named_columns_beside_tabular_ones(image_paths):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import StandardScaler

    table = pd.DataFrame({"photo": [str(p) for p in image_paths], "age": [30.0, 41.0, 52.0]})
    both = ColumnTransformer([("photo", ImageLoader(target_size=(2, 3), flatten=True), "photo"),
                              ("age", StandardScaler(), ["age"])])
    both.set_output(transform="pandas")
    out = both.fit_transform(table)
    names = [f"photo__imageloader{i}" for i in range(2 * 3 * 3)] + ["age__age"]
    assert list(out.columns) == names and list(both.get_feature_names_out()) == names
    pixels = ImageLoader(target_size=(2, 3), flatten=True).fit_transform(image_paths)
    np.testing.assert_array_equal(out.iloc[:, :-1].to_numpy(), pixels)
    with pytest.raises(ValueError, match="need flatten=True"):
        ImageLoader(target_size=(2, 3)).fit(image_paths).get_feature_names_out()


@pytest.mark.parametrize("flatten", [False, True])
def test_pipelines_configured_for_tables_take_the_loader(image_paths, flatten):
    # scikit-learn's pandas output made the loader's transform fail on images
    # (not columns): they stay an array; flattened rows are a table of pixels.
    import sklearn
    from sklearn.preprocessing import StandardScaler

    names = [f"imageloader{i}" for i in range(2 * 3 * 3)]
    expected = ImageLoader(target_size=(2, 3), flatten=flatten).fit_transform(image_paths)
    with sklearn.config_context(transform_output="pandas"):
        out = ImageLoader(target_size=(2, 3), flatten=flatten).fit_transform(image_paths)
    assert type(out) is (pd.DataFrame if flatten else np.ndarray)
    assert not flatten or list(out.columns) == names
    np.testing.assert_array_equal(np.asarray(out), expected)
    # Pipeline.set_output sets every step: accepted, pixels reach the next step named.
    loader = ImageLoader(target_size=(2, 3), flatten=flatten)
    pipe = Pipeline([("load", loader), ("scale", StandardScaler())])
    if flatten:
        pipe.set_output(transform="pandas").fit(image_paths)
        assert list(pipe[-1].feature_names_in_) == names
    else:
        pipe[:1].set_output(transform="pandas")
        assert type(loader.fit_transform(image_paths)) is np.ndarray
    assert type(ImageLoader(target_size=(2, 3), flatten=flatten).set_output(
        transform="default").fit_transform(image_paths)) is np.ndarray


def test_clones_keep_the_output_container_and_a_misspelt_one_is_refused(image_paths):
    # clone (searches, cross-validation) dropped it: a pipeline taking pixel
    # columns by name failed in cross_val_score, though its own fit worked.
    from sklearn.base import clone
    from sklearn.compose import ColumnTransformer

    loader = ImageLoader(target_size=(2, 3), flatten=True).set_output(transform="pandas")
    assert type(clone(loader).fit_transform(image_paths)) is pd.DataFrame
    pipe = Pipeline([("load", ImageLoader(target_size=(2, 3), flatten=True)),
                     ("red", ColumnTransformer([("r", "passthrough", ["imageloader0"])]))])
    pipe.set_output(transform="pandas")
    np.testing.assert_array_equal(clone(pipe).fit_transform(image_paths),
                                  pipe.fit_transform(image_paths))
    assert "_output_container" not in clone(ImageLoader()).__dict__  # unset stays unset
    with pytest.raises(ValueError, match=r"set_output\(transform='panda'\): the output "
                                         r"container must be one of \['default', 'pandas'"):
        ImageLoader().set_output(transform="panda")


def test_scale_false_and_dtypes(image_paths):
    raw = ImageLoader(target_size=(5, 4), scale=False, dtype="uint8").fit_transform(
        image_paths
    )
    assert raw.dtype == np.uint8
    scaled = ImageLoader(target_size=(5, 4), dtype="float64").fit_transform(image_paths)
    assert scaled.dtype == np.float64
    np.testing.assert_allclose(scaled, raw / 255.0)


def test_same_size_keeps_pixels_exactly(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 256, (6, 8, 3))
    path = _save(tmp_path / "exact.png", pixels)
    X = ImageLoader(target_size=(6, 8), scale=False).fit_transform([path])
    np.testing.assert_array_equal(X[0], pixels)


@pytest.mark.parametrize("size", [(3, 5), (40, 30)])
def test_resize_keeps_a_solid_colour(tmp_path, size):
    path = tmp_path / "solid.png"
    Image.new("RGB", (23, 11), (10, 200, 30)).save(path)
    X = ImageLoader(target_size=size, scale=False).fit_transform([path])
    assert X.shape == (1, *size, 3)
    assert np.all(X[0] == [10, 200, 30])


def test_target_size_is_height_then_width(tmp_path):
    # 20 wide, 10 high: top half white, bottom half black.
    pixels = np.zeros((10, 20), dtype=np.uint8)
    pixels[:5] = 255
    path = _save(tmp_path / "half.png", pixels)
    X = ImageLoader(target_size=(6, 4), color_mode="grayscale").fit_transform([path])
    assert X.shape == (1, 6, 4, 1)
    np.testing.assert_array_equal(X[0, 0, :, 0], 1.0)
    np.testing.assert_array_equal(X[0, -1, :, 0], 0.0)


def test_grayscale_uses_luminance(tmp_path):
    path = tmp_path / "red.png"
    Image.new("RGB", (4, 4), (255, 0, 0)).save(path)
    X = ImageLoader(target_size=(2, 2), color_mode="grayscale", scale=False)
    # ITU-R 601-2 luma: L = 0.299 R + 0.587 G + 0.114 B
    assert np.all(X.fit_transform([path]) == 76)


@pytest.mark.parametrize("color_mode", ["grayscale", "rgb"])
def test_16_bit_and_float_images_are_rescaled_not_clipped(tmp_path, color_mode):
    ramp = np.linspace(0, 65535, 64).astype(np.uint16).reshape(8, 8)
    path16 = tmp_path / "ramp16.png"
    Image.fromarray(ramp).save(path16)
    halves = tmp_path / "half.tiff"
    Image.new("F", (8, 8), 0.5).save(halves)
    loader = ImageLoader(target_size=(8, 8), color_mode=color_mode)
    sixteen, half = loader.fit_transform([path16, halves])
    channel = sixteen[..., 0]
    np.testing.assert_allclose(channel, ramp / 65535.0, atol=1 / 255)
    np.testing.assert_allclose(half, 0.5, atol=1 / 255)


def test_int32_and_float_images_with_edge_values():
    eight_bit = np.arange(64, dtype=np.int32).reshape(8, 8) * 4  # 0..252 in mode "I"
    floats = np.full((8, 8), 0.5, dtype=np.float32)
    floats[0, 0] = np.inf
    images = [Image.fromarray(eight_bit), Image.fromarray(floats)]
    assert [img.mode for img in images] == ["I", "F"]
    loader = ImageLoader(target_size=(8, 8), color_mode="grayscale")
    as_i, as_f = loader.fit_transform(images)[..., 0]
    np.testing.assert_allclose(as_i, eight_bit / 255.0, atol=1e-6)
    np.testing.assert_allclose(as_f.ravel()[1:], 0.5, atol=1 / 255)  # inf is not a scale


def test_dark_16_bit_files_opened_as_32_bit_integers_are_read_as_16_bit(tmp_path):
    # Pillow opens a 16-bit PGM and a 32-bit integer TIFF in mode "I": read as
    # 8-bit when no pixel passed 255, a dark frame came out 257 times brighter
    # than the same frame as a 16-bit PNG (and than the brighter frames beside it).
    dark = np.arange(64, dtype=np.uint16).reshape(8, 8) * 3  # 0..189 of 65535
    png, pgm, tiff = tmp_path / "dark.png", tmp_path / "dark.pgm", tmp_path / "dark.tiff"
    Image.fromarray(dark).save(png)
    pgm.write_bytes(b"P5 8 8 65535\n" + dark.astype(">u2").tobytes())
    Image.fromarray(dark.astype(np.int32)).save(tiff)
    assert [Image.open(p).mode for p in (pgm, tiff)] == ["I", "I"]
    loader = ImageLoader(target_size=(8, 8), color_mode="grayscale", scale=False)
    X = loader.fit_transform([png, pgm, tiff])[..., 0]
    np.testing.assert_array_equal(X[0], np.rint(dark / 257.0))
    np.testing.assert_array_equal(X[1], X[0])
    np.testing.assert_array_equal(X[2], X[0])


@pytest.mark.parametrize("color_mode", ["grayscale", "rgb"])
def test_lab_and_premultiplied_gray_images_convert(tmp_path, color_mode):
    # Pillow converts neither La nor LAB to L (nor La to RGB): they failed.
    lab = Image.new("LAB", (4, 4), (140, 100, 160))
    lab.save(tmp_path / "lab.tiff")
    images = [Image.new("La", (4, 4), (128, 255)), lab, tmp_path / "lab.tiff"]
    X = ImageLoader(target_size=(4, 4), color_mode=color_mode, scale=False).fit_transform(images)
    mode = "L" if color_mode == "grayscale" else "RGB"
    gray_ = np.asarray(Image.new("L", (4, 4), 128).convert(mode))
    lab_ = np.asarray(lab.convert("RGB").convert(mode))
    for got, expected in zip(X, [gray_, lab_, lab_]):
        np.testing.assert_array_equal(got.reshape(expected.shape), expected)


def test_pil_images_mixed_with_paths(image_paths):
    gray = Image.new("L", (9, 9), 128)
    palette = Image.new("RGB", (9, 9), (0, 0, 255)).convert("P")
    X = ImageLoader(target_size=(4, 4), scale=False).fit_transform(
        [gray, image_paths[0], palette]
    )
    assert np.all(X[0] == 128)
    assert np.all(X[2] == [0, 0, 255])
    assert gray.mode == "L" and gray.size == (9, 9)  # the caller's image is untouched


@pytest.mark.parametrize(
    "container",
    [
        tuple,
        lambda p: [str(v) for v in p],
        lambda p: np.array([str(v) for v in p]),
        lambda p: np.array(p, dtype=object),
        lambda p: np.array([[str(v)] for v in p]),
        lambda p: [[v] for v in p],
        pd.Series,
        lambda p: pd.DataFrame({"path": [str(v) for v in p]}),
    ],
    ids=["tuple", "str-list", "str-array", "object-array", "column", "2d-list",
         "series", "dataframe"],
)
def test_input_containers(image_paths, container):
    loader = ImageLoader(target_size=(4, 3)).fit(None)
    expected = loader.transform(image_paths)
    np.testing.assert_array_equal(loader.transform(container(image_paths)), expected)


def test_missing_file_names_the_file(image_paths, tmp_path):
    missing = tmp_path / "nowhere.png"
    with pytest.raises(FileNotFoundError, match="nowhere.png") as info:
        ImageLoader().fit_transform([image_paths[0], missing])
    assert info.value.filename == str(missing)
    assert "X[1]" in str(info.value)


def test_not_an_image_names_the_file(image_paths, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="notes.png"):
        ImageLoader().fit_transform([image_paths[0], text])


def test_a_pil_image_whose_file_was_closed_says_so(image_paths, monkeypatch):
    with Image.open(image_paths[0]) as image:
        pass  # closed before its pixels were loaded: Pillow's error has no message
    # (older Pillow releases fail in an AttributeError of seek on None: told alike)
    with pytest.raises(ValueError, match=r"PIL image X\[0\]: (AssertionError|AttributeError) "
                                         r"\(was its file closed before loading\?\)"):
        ImageLoader().fit_transform([image])
    # Another error without words, of an image never read from a file, is not said to
    # be a closed file (found in review).
    from keraslearn.preprocessing import _image

    def fails(*args):
        raise RuntimeError()

    monkeypatch.setattr(_image, "_pixels", fails)
    with pytest.raises(ValueError, match=r"PIL image X\[0\]: RuntimeError$"):
        ImageLoader().fit_transform([Image.new("RGB", (4, 4))])


@pytest.mark.parametrize("fmt, name", [("PNG", "cut.png"), ("JPEG", "cut.jpg")])
def test_truncated_image_names_the_file(tmp_path, fmt, name):
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    pixels = np.random.default_rng(2).integers(0, 256, (32, 32, 3))
    whole = _save(tmp_path / f"whole.{fmt.lower()}", pixels, fmt).read_bytes()
    cut = tmp_path / name
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=re.escape(name)):
        ImageLoader(target_size=(8, 8)).fit_transform([cut])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_bad_inputs():
    loader = ImageLoader().fit(None)
    with pytest.raises(ValueError, match="empty"):
        loader.transform([])
    with pytest.raises(TypeError, match="single str"):
        loader.transform("a.png")
    with pytest.raises(TypeError, match="single PosixPath|single WindowsPath"):
        loader.transform(Path("a.png"))
    with pytest.raises(TypeError, match="numeric array"):
        loader.transform(np.zeros((2, 1)))
    with pytest.raises(ValueError, match="shape"):
        loader.transform(pd.DataFrame({"a": ["x.png"], "b": ["y.png"]}))
    with pytest.raises(TypeError, match=r"X\[1\].*int"):
        loader.transform([Image.new("RGB", (2, 2)), 3])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"target_size": (0, 5)}, "target_size"),
        ({"target_size": (5,)}, "target_size"),
        ({"target_size": (5.0, 5)}, "target_size"),
        ({"target_size": 32}, "target_size"),
        ({"target_size": (True, 2)}, "target_size"),
        ({"color_mode": "cmyk"}, "grayscale"),
        ({"color_mode": "RGB"}, "rgb"),
        ({"dtype": "uint8"}, "floating"),
        ({"dtype": "int8", "scale": False}, "0-255"),
        ({"dtype": "no-such-type"}, "dtype"),
        # taken for what they are not: None kept pixels of 0-255, "no" flattened
        ({"scale": None}, "The 'scale' parameter of ImageLoader must be a bool. Got None"),
        ({"flatten": "no"}, "The 'flatten' parameter of ImageLoader must be a bool. Got 'no'"),
    ],
)
def test_invalid_params_raise_at_fit(params, match):
    loader = ImageLoader(**params)  # __init__ does not validate
    with pytest.raises(ValueError, match=match):
        loader.fit(None)


def test_transform_before_fit_raises(image_paths):
    with pytest.raises(NotFittedError):
        ImageLoader().transform(image_paths)


def test_pipeline_clone_and_pickle(tmp_path):
    paths, labels = [], []
    for i in range(8):
        colour = (220, 40, 40) if i % 2 else (40, 40, 220)
        path = tmp_path / f"img{i}.png"
        Image.new("RGB", (10 + i, 9), colour).save(path)
        paths.append(str(path))
        labels.append("red" if i % 2 else "blue")
    pipe = Pipeline(
        [
            ("load", ImageLoader(target_size=(4, 4), flatten=True)),
            ("clf", LogisticRegression()),
        ]
    )
    pipe.fit(paths, labels)
    assert list(pipe.predict(paths)) == labels
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(
        restored.predict_proba(paths), pipe.predict_proba(paths)
    )
    unfitted = clone(pipe)
    assert unfitted.get_params()["load__target_size"] == (4, 4)
    assert not hasattr(unfitted.named_steps["load"], "n_channels_")


def test_tags_describe_path_input():
    tags = get_tags(ImageLoader())
    assert tags.transformer_tags is not None
    assert tags.input_tags.one_d_array and tags.input_tags.string
    assert not tags.input_tags.two_d_array
    assert tags.requires_fit  # transform checks that fit was called
    assert tags.transformer_tags.preserves_dtype == []


@pytest.mark.parametrize(
    "check",
    [
        estimator_checks.check_estimator_cloneable,
        estimator_checks.check_estimator_repr,
        estimator_checks.check_estimator_tags_renamed,
        estimator_checks.check_valid_tag_types,
        estimator_checks.check_no_attributes_set_in_init,
        estimator_checks.check_parameters_default_constructible,
        estimator_checks.check_get_params_invariance,
        estimator_checks.check_set_params,
        estimator_checks.check_do_not_raise_errors_in_init_or_set_params,
        estimator_checks.check_mixin_order,
    ],
    ids=lambda check: check.__name__,
)
def test_sklearn_api_checks(check):
    # The data-driven common checks need numeric 2-D input, which ImageLoader
    # does not take (its tags say so); these checks need no data.
    check("ImageLoader", ImageLoader())


@pytest.mark.parametrize("color_mode", ["rgb", "grayscale"])
def test_the_tensorflow_decoder_gives_keras_loaders_pixels(image_paths, tmp_path, color_mode):
    from keraslearn._tf import keras

    keras_images = next(iter(keras.utils.image_dataset_from_directory(
        tmp_path, labels=None, image_size=(6, 9), color_mode=color_mode, shuffle=False,
        batch_size=8, verbose=False))).numpy()  # a.png, b.jpg, c.png: name order
    loader = ImageLoader(target_size=(6, 9), color_mode=color_mode, image_decoder="tensorflow")
    np.testing.assert_array_equal(loader.fit_transform(image_paths), keras_images / 255.0)
    raw = clone(loader).set_params(scale=False, dtype="float64", flatten=True)
    raw = raw.fit_transform(image_paths)
    assert raw.dtype == np.float64 and raw.shape == (3, 6 * 9 * keras_images.shape[-1])
    np.testing.assert_array_equal(raw, keras_images.reshape(3, -1))
    # Pillow's anti-aliased pixels are others.
    pillow = ImageLoader(target_size=(6, 9), color_mode=color_mode).fit_transform(image_paths)
    assert not np.array_equal(pillow, keras_images / 255.0)


def test_the_tensorflow_decoder_refuses_what_it_cannot_give(image_paths, tmp_path):
    loader = ImageLoader(target_size=(6, 9), image_decoder="tensorflow").fit(image_paths)
    with pytest.raises(ValueError, match=r"X\[1\] is a PIL image: image_decoder='tensorflow'"):
        loader.transform([image_paths[0], Image.new("RGB", (5, 5))])
    tiff = _save(tmp_path / "d.tiff", np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match=r"X\[0\] .*d\.tiff.* is a TIFF file"):
        loader.transform([tiff])
    with pytest.raises(ValueError, match="dtype must be a floating type"):
        ImageLoader(scale=False, dtype="uint8", image_decoder="tensorflow").fit(image_paths)
    with pytest.raises(ValueError, match="image_decoder must be one of"):
        ImageLoader(image_decoder="cv2").fit(image_paths)


def test_a_polars_column_of_paths_in_a_column_transformer_is_read_as_pandas_one(image_paths):
    # A polars frame of one column was read as a list of its columns: "X[0] must
    # be a file path or a PIL image, got Series".
    import polars as pl
    from sklearn.compose import ColumnTransformer

    expected = ImageLoader(target_size=(2, 3), flatten=True).fit_transform(image_paths)
    for kind, frame in (("pandas", pd.DataFrame({"path": image_paths})),
                        ("polars", pl.DataFrame({"path": image_paths}))):
        columns = ColumnTransformer([("img", ImageLoader(target_size=(2, 3), flatten=True),
                                      ["path"])]).set_output(transform=kind)
        np.testing.assert_array_equal(np.asarray(columns.fit_transform(frame)), expected)
