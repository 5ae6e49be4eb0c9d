"""ImageClassifier: input layouts, layers, augmentation, and a Pipeline from image files."""

import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from keraslearn import ImageClassifier, MLPClassifier
from keraslearn._tf import keras
from keraslearn.datasets import load_image_folder, make_digits_image_folder
from keraslearn.preprocessing import ImageLoader

# A small, fast network for the tests.
SMALL = dict(conv_filters=(8,), dense_units=16, dropout=0.0, epochs=2, random_state=0)


@pytest.fixture(scope="module")
def digit_images():
    digits = load_digits()
    return digits.images[:300] / 16.0, digits.target[:300]


def _layer_types(est):
    return [type(layer).__name__ for layer in est.model_.layers]


def test_digits_accuracy():
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.images / 16.0, digits.target, random_state=0, stratify=digits.target)
    clf = ImageClassifier(conv_filters=(16,), dense_units=32, epochs=8, random_state=0)
    clf.fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.9
    assert clf.image_shape_ == (8, 8, 1)
    assert _layer_types(clf) == ["Reshape", "Conv2D", "Activation", "MaxPooling2D", "Dropout",
                                 "Flatten", "Dense", "Dropout", "Dense"]
    # the network outputs logits, to which predict_proba applies the softmax in float64
    assert clf.model_.layers[-1].get_config()["activation"] == "linear"
    logits = clf.model_(X_test[:20, :, :, None].astype("float32")).numpy().astype("float64")
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X_test[:20]), expected, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize(
    "layout, image_shape, expected",
    [
        ("4d", None, (8, 8, 1)),
        ("3d", None, (8, 8, 1)),
        ("flat", None, (8, 8, 1)),
        ("flat", (8, 8), (8, 8, 1)),
        ("flat", (8, 8, 1), (8, 8, 1)),
        ("flat", (4, 16, 1), (4, 16, 1)),
    ],
)
def test_input_layouts(digit_images, layout, image_shape, expected):
    images, y = digit_images
    X = {"4d": images[..., None], "3d": images, "flat": images.reshape(len(images), -1)}[layout]
    clf = ImageClassifier(image_shape=image_shape, **SMALL).fit(X, y)
    assert clf.image_shape_ == expected
    conv = next(layer for layer in clf.model_.layers if type(layer).__name__ == "Conv2D")
    assert tuple(conv.input.shape[1:]) == expected
    assert clf.predict(X[:5]).shape == (5,)
    assert ("Reshape" in _layer_types(clf)) == (layout != "4d")


def test_rgb_images_and_binary_target():
    rng = np.random.RandomState(0)
    X = rng.rand(40, 6, 6, 3).astype("float32")
    y = (X[:, :, :, 0].mean(axis=(1, 2)) > 0.5).astype(int)
    clf = ImageClassifier(**SMALL).fit(X, y)
    assert clf.image_shape_ == (6, 6, 3)
    last = clf.model_.layers[-1]
    assert last.units == 1 and last.get_config()["activation"] == "linear"
    assert clf.predict_proba(X).shape == (40, 2)
    # confident rows are told apart, as by the ready MLPs (a float32 sigmoid's
    # 1.0 tied them: predict_log_proba gave -inf)
    logit = clf.model_(X).numpy().astype("float64")[:, 0]
    np.testing.assert_allclose(clf.predict_proba(X)[:, 0], 1 / (1 + np.exp(logit)),
                               rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("n_features", [4 * 4 + 1, 10, 3])
def test_rows_that_are_not_square_images_are_refused(n_features, monkeypatch):
    def no_build(self, meta, plan):
        raise AssertionError("the network was built")

    monkeypatch.setattr(ImageClassifier, "_keras_build_fn", no_build)
    X, y = np.random.RandomState(0).rand(30, n_features), np.arange(30) % 2
    with pytest.raises(ValueError, match=rf"rows of {n_features} values, which are not "
                                         r"square.*image_shape=\(height, width, channels\)"):
        ImageClassifier(**SMALL).fit(X, y)


@pytest.mark.parametrize("image_shape, expected", [
    ((-1, 1, 1), (10, 1, 1)), ((2, -1), (2, 5, 1)), ((-1, 5, 1), (2, 5, 1)),
])
def test_image_shape_may_leave_one_size_to_the_row_length(image_shape, expected):
    X, y = np.random.RandomState(0).rand(30, 10), np.arange(30) % 2
    clf = ImageClassifier(image_shape=image_shape, **SMALL).fit(X, y)
    assert clf.image_shape_ == expected
    assert clf.predict(X[:4]).shape == (4,)


def test_image_shape_with_a_size_that_does_not_divide_the_rows_is_refused():
    X, y = np.random.RandomState(0).rand(30, 10), np.arange(30) % 2
    with pytest.raises(ValueError, match=r"image_shape=\(3, -1\) does not match X"):
        ImageClassifier(image_shape=(3, -1), **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="image_shape must hold positive integers"):
        ImageClassifier(image_shape=(-1, -1), **SMALL).fit(X, y)


@pytest.mark.parametrize("fit_shape, predict_shape, match", [
    ((8, 8), (10, 10), r"X holds images of shape \(10, 10\), but ImageClassifier was "
                       r"fitted on images of shape \(8, 8\)"),
    ((64,), (100,), r"X has 100 features, but ImageClassifier is expecting 64 features as "
                    r"input: it was fitted on flattened 8x8x1 images \(64 values a row\)"),
    ((64,), (8, 8), r"X holds images of shape \(8, 8\), but ImageClassifier was fitted on "
                    r"flattened 8x8x1 images .* as many values: give them in fit's form, "
                    r"X\.reshape\(len\(X\), 64\)"),
    ((8, 8, 1), (64,), r"X holds rows of 64 values.*X\.reshape\(len\(X\), 8, 8, 1\)"),
    ((8, 8, 1), (1, 8, 8), r"images of shape \(1, 8, 8\).*size used in fit"),  # no reshape
    ((8, 8, 1), (8, 8, 3), r"images of shape \(8, 8, 3\).*images of shape \(8, 8, 1\)\. "
                           r"They have 3 channel\(s\) where fit's had 1: convert them"),
    ((8, 8), (8, 8, 3), r"fitted on images of shape \(8, 8\)\. They have 3 channel\(s\) "
                        r"where fit's had 1"),
])
def test_images_of_another_size_are_refused_in_words_of_images(digit_images, fit_shape,
                                                              predict_shape, match):
    images, y = digit_images
    clf = ImageClassifier(**{**SMALL, "epochs": 1}).fit(images.reshape(-1, *fit_shape), y)
    X_new = np.zeros((3, *predict_shape))
    for method in (clf.predict, clf.predict_proba, clf.partial_fit):
        with pytest.raises(ValueError, match=match) as info:
            method(X_new, y[:3]) if method == clf.partial_fit else method(X_new)
        assert re.search("size used in fit|fit's form|convert them", str(info.value))


def test_one_pil_image_at_predict_is_told_to_be_wrapped_in_a_list(digit_images):
    # It was read as an array of its pixels: "give X[np.newaxis]", which a PIL
    # image cannot take, or images "of shape (12, 3)" for a 12x12 RGB one.
    from PIL import Image

    images, y = digit_images
    clf = ImageClassifier(**{**SMALL, "epochs": 1}).fit(images, y)
    for image in (Image.new("L", (8, 8)), Image.new("RGB", (12, 12))):
        for method in (clf.predict, clf.predict_proba):
            with pytest.raises(TypeError, match=r"got a single Image; wrap it in a list"):
                method(image)
    assert clf.predict([Image.new("L", (8, 8))]).shape == (1,)


def test_images_of_different_sizes_or_held_one_by_one_are_told_what_to_give(digit_images):
    # A list of images of two sizes was told to give a dict of named inputs (which
    # ImageClassifier refuses); a Series or object array of images got NumPy's
    # "setting an array element with a sequence".
    images, y = digit_images
    images, y = images[:6], y[:6]
    ragged = [image if i % 2 else image[:6, :6] for i, image in enumerate(images)]
    held = np.empty(len(images), dtype=object)
    held[:] = list(images)
    cases = [(ragged, r"X is a list of 6 arrays of different shapes.*Images of different "
                      r"sizes\? Give them as file paths or PIL images with image_shape="),
             (held, r"X is a 1-D object array of 6 arrays of shape \(8, 8\), one per "
                    r"sample\?.*numpy\.stack\(list\(X\)\)"),
             (pd.Series(list(images)), r"X is a Series of 6 arrays of shape \(8, 8\)")]
    for X, match in cases:
        clf = ImageClassifier(**{**SMALL, "epochs": 1})
        with pytest.raises(ValueError, match=match):
            clf.fit(X, y)
        assert not hasattr(clf, "model_")
    # A table's estimator is told of rows, not of images nor of named inputs.
    with pytest.raises(ValueError, match=r"different shapes.*Give one array of rows, each "
                                         r"sample's values of one length\.$"):
        MLPClassifier().fit([row.ravel() if i % 2 else row.ravel()[:5]
                             for i, row in enumerate(images)], y)
    # Images of two sizes one per sample, in a Series: told of images too.
    with pytest.raises(ValueError, match=r"X is a Series of 6 arrays of different shapes.*"
                                         r"Images of different sizes\?"):
        ImageClassifier(**{**SMALL, "epochs": 1}).fit(pd.Series(ragged), y)
    # Numbers in an object array are no arrays: scikit-learn's own words (1-D X).
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        MLPClassifier().fit(np.array([np.float64(v) for v in range(6)], dtype=object), y)


@pytest.mark.parametrize("make", [
    lambda: ImageClassifier(**{**SMALL, "epochs": 1}),
    lambda: MLPClassifier(hidden_layer_sizes=(8,), max_iter=1, random_state=0),
], ids=["ImageClassifier", "MLPClassifier"])
def test_8_bit_pixel_values_get_a_warning(digit_images, make):
    images, y = digit_images
    pixels = np.round(images * 255).astype(np.uint8)
    if isinstance(make(), MLPClassifier):
        pixels = pixels.reshape(len(pixels), -1)
    with pytest.warns(UserWarning, match=r"values up to 255, as 8-bit pixel values.*X / 255.0"):
        make().fit(pixels, y)
    quiet = [pixels / 255.0, (pixels - 127.5) / 64.0]  # scaled; standardised
    if isinstance(make(), ImageClassifier):
        # Floats of 0-255 as keras.utils.img_to_array gives them, and integers (an
        # image read into int64): images only.
        for wide in (np.float32, np.int64):
            with pytest.warns(UserWarning, match=r"values up to 255, as 8-bit pixel values"):
                make().fit(pixels.astype(wide), y)
    else:
        quiet.append(pixels.astype(np.float32))  # a table of counts, say
    for X in quiet:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=1, on purpose
            make().fit(X, y)


def test_8_bit_pixel_values_at_predict_after_a_fit_on_scaled_images_get_a_warning(
        digit_images, tmp_path):
    # A network fitted on images in [0, 1] (arrays, or files it decodes so) gave
    # confident, meaningless predictions for 0-255 pixels, silently.
    from PIL import Image

    images, y = digit_images
    pixels = np.round(images * 255).astype(np.uint8)
    clf = ImageClassifier(**{**SMALL, "epochs": 1}).fit(images, y)
    for X in (pixels, pixels.astype(np.float32)):
        with pytest.warns(UserWarning, match=r"values up to 255.*fitted on images scaled to "
                          r"\[0, 1\].*X / 255.0") as seen:
            clf.predict(X)
        assert seen[0].filename == __file__  # the user's line
    paths = []
    for i, image in enumerate(pixels[:20]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(image).save(paths[-1])
    on_files = ImageClassifier(**{**SMALL, "epochs": 1}).fit(paths, y[:20])
    with pytest.warns(UserWarning, match="fitted on images scaled"):
        on_files.predict_proba(pixels[:3])
    # Grayscale images with or without their channel axis are the same images.
    assert on_files.image_shape_ == (8, 8, 1)
    np.testing.assert_array_equal(on_files.predict_proba(images[:5]),
                                  on_files.predict_proba(images[:5, :, :, None]))
    np.testing.assert_array_equal(clf.predict_proba(images[:5, :, :, None]),
                                  clf.predict_proba(images[:5]))
    clf.partial_fit(images[:40, :, :, None], y[:40])
    # Fitted on 8-bit values (warned then), or predicting on scaled ones: quiet.
    with pytest.warns(UserWarning, match="learns poorly"):
        eight_bit = ImageClassifier(**{**SMALL, "epochs": 1}).fit(pixels, y)
    # TensorFlow tensors are read as NumPy arrays of them (found in an audit: 8-bit
    # pixels went unwarned, and a tensor of paths was told to use ImageClassifier).
    from keraslearn._tf import tf

    with pytest.warns(UserWarning, match="learns poorly"):
        ImageClassifier(**{**SMALL, "epochs": 1}).fit(tf.constant(pixels), y)
    on_tensor = ImageClassifier(**{**SMALL, "epochs": 1}).fit(tf.constant(paths), y[:20])
    np.testing.assert_array_equal(on_tensor.predict_proba(tf.constant(paths[:5])),
                                  on_files.predict_proba(paths[:5]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        eight_bit.predict(pixels)
        clf.predict(images)
        on_files.predict(paths[:3])
        clf.predict(paths[:3])
    # Files are read in [0, 1]: for a network fitted on 8-bit values they mean
    # nothing, and the user cannot scale them as at fit.
    with pytest.warns(UserWarning, match=r"fitted on 8-bit pixel values \(0-255\), but image "
                                         r"files and PIL images are read scaled to \[0, 1\]"):
        eight_bit.predict(paths[:3])
    # So do arrays scaled to [0, 1] (found in an audit: quiet, scoring 0.15).
    for scaled in (images, pixels.astype(np.float32) / 255.0):
        with pytest.warns(UserWarning, match=r"fitted on 8-bit pixel values \(0-255\), but X "
                          r"holds values in \[0, 1\], as images scaled to it do") as seen:
            eight_bit.predict_proba(scaled[:3])
        assert seen[0].filename == __file__


@pytest.mark.parametrize("fit_shape, one", [
    ((8, 8, 1), (8, 8, 1)), ((8, 8, 1), (8, 8)), ((8, 8), (8, 8, 1)), ((8, 8, 3), (8, 8, 3))])
def test_one_image_without_its_batch_axis_is_refused_saying_so(digit_images, fit_shape, one):
    # It was read as 8 images of shape (8, 1) and refused as "of another size".
    images, y = digit_images
    X = images[..., None].repeat(fit_shape[-1], axis=-1) if fit_shape[-1] == 3 else images
    clf = ImageClassifier(**{**SMALL, "epochs": 1}).fit(X.reshape(-1, *fit_shape), y)
    with pytest.raises(ValueError, match=re.escape(
            f"X is one image of shape {one}, but ImageClassifier takes a batch of images: "
            f"give X[np.newaxis], of shape {(1, *one)}")):
        clf.predict(np.zeros(one))
    assert clf.predict(np.zeros((1, *one))).shape == (1,)


@pytest.mark.parametrize("form", ["list of images", "DataFrame of pixel columns"])
def test_8_bit_pixels_in_a_list_or_a_frame_are_judged_as_in_an_array(digit_images, form):
    """Fit and predict judge the values, whatever holds them: a fit on a list
    (or a frame) of 8-bit images warns, and predicting such images is quiet."""
    images, y = digit_images
    pixels = np.round(images * 255).astype(np.uint8)
    params = {**SMALL, "epochs": 1}
    if form == "list of images":
        X = list(pixels)
    else:
        X = pd.DataFrame(pixels.reshape(len(pixels), -1))
        params["image_shape"] = (8, 8)
    with pytest.warns(UserWarning, match="values up to 255, as 8-bit pixel values"):
        clf = ImageClassifier(**params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        clf.predict(X[:5] if form == "list of images" else X.iloc[:5])
    scaled = ImageClassifier(**params).fit(images if form == "list of images" else X / 255.0, y)
    with pytest.warns(UserWarning, match="fitted on images scaled to"):
        scaled.predict(X[:5] if form == "list of images" else X.iloc[:5])


def test_continuing_refuses_parameters_that_read_images_otherwise(digit_images, tmp_path):
    from PIL import Image

    images, y = digit_images
    clf = ImageClassifier(warm_start=True, **{**SMALL, "epochs": 1}).fit(images, y)
    refused = r"reads images as its first fit did \(image_shape=None, image_decoder='pillow'\)"
    clf.set_params(image_shape=(4, 16))
    for continuing in (lambda: clf.fit(images, y), lambda: clf.partial_fit(images, y)):
        with pytest.raises(ValueError, match=refused):
            continuing()
    # Arrays are not decoded: a decoder, or the fitted shape written out, was
    # refused all the same.
    for harmless in ({"image_shape": (8, 8)}, {"image_shape": (8, -1, 1)},
                     {"image_decoder": "tensorflow"}):
        clf.set_params(image_shape=None, image_decoder="pillow").set_params(**harmless)
        clf.fit(images, y).partial_fit(images, y)
    assert len(clf.loss_curve_) == 7
    # Files are: read by another decoder than the fit's, refused.
    paths = [str(tmp_path / f"{i}.png") for i in range(20)]
    for path, image in zip(paths, images):
        Image.fromarray(np.rint(image * 255).astype(np.uint8)).save(path)
    with pytest.raises(ValueError, match=refused):
        clf.partial_fit(paths, y[:20])
    clf.set_params(image_shape=None, image_decoder="pillow")
    assert len(clf.partial_fit(paths, y[:20]).loss_curve_) == 8


def test_tags_say_it_takes_grayscale_images_and_paths():
    tags = ImageClassifier().__sklearn_tags__()
    assert tags.input_tags.three_d_array and tags.input_tags.string


def test_layers_with_batch_norm_and_blocks(digit_images):
    X, y = digit_images
    clf = ImageClassifier(conv_filters=(4, 8), batch_normalization=True, dropout=0.5,
                          dense_units=0, epochs=1, random_state=0).fit(X, y)
    assert _layer_types(clf) == ["Reshape"] + ["Conv2D", "BatchNormalization", "Activation",
                                               "MaxPooling2D"] * 2 + ["Dropout", "Flatten", "Dense"]
    convs = [layer for layer in clf.model_.layers if type(layer).__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [4, 8] and convs[0].kernel_size == (3, 3)


def test_conv_filters_as_one_int_is_one_block(digit_images):
    # As MLPClassifier(hidden_layer_sizes=8) is one layer (found in an audit: refused
    # as "must be an array-like").
    X, y = digit_images
    one = ImageClassifier(**{**SMALL, "conv_filters": np.int64(8)}).fit(X, y)
    convs = [layer for layer in one.model_.layers if type(layer).__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [8]
    np.testing.assert_array_equal(one.predict_proba(X[:10]),
                                  ImageClassifier(**SMALL).fit(X, y).predict_proba(X[:10]))


def test_augmentation_acts_only_in_training(digit_images):
    X, y = digit_images
    clf = ImageClassifier(augmentation={"flip": "horizontal", "rotation": 0.2, "zoom": 0.2},
                          **SMALL).fit(X, y)
    types = _layer_types(clf)
    assert types[1:4] == ["RandomFlip", "RandomRotation", "RandomZoom"]
    sample = X[:16].astype("float32")
    train_out = np.asarray(clf.model_(sample, training=True))
    infer_out = np.asarray(clf.model_(sample, training=False))
    assert not np.allclose(train_out, infer_out)
    first = clf.predict_proba(X[:16])
    np.testing.assert_array_equal(first, clf.predict_proba(X[:16]))
    logits = infer_out.astype("float64")  # (softmax in float64 of the network's logits)
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(first, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("augmentation, names", [
    (True, ["RandomFlip", "RandomRotation", "RandomZoom"]),
    (("zoom",), ["RandomZoom"]),
    ("flip", ["RandomFlip"]),
])
def test_augmentation_forms(digit_images, augmentation, names):
    X, y = digit_images
    clf = ImageClassifier(augmentation=augmentation, **{**SMALL, "epochs": 1}).fit(X[:50], y[:50])
    assert [t for t in _layer_types(clf) if t.startswith("Random")] == names


def test_rotation_under_a_float64_floatx_fits_or_is_refused_by_name(digit_images):
    """Keras' RandomRotation fails while floatx is float64 in some Keras versions
    (float32 mixed into its ops): the fit refuses it, named, before training;
    where the layer runs there, the fit trains."""
    X, y = digit_images
    keras.config.set_floatx("float64")
    try:
        try:
            keras.layers.RandomRotation(0.1, seed=0, dtype="float64")(np.zeros((1, 4, 4, 1)),
                                                                      training=True)
            runs = True
        except Exception:  # noqa: BLE001 - Keras' own failure, whatever it is
            runs = False
        clf = ImageClassifier(augmentation="rotation", **{**SMALL, "epochs": 1})
        if runs:
            assert clf.fit(X[:50], y[:50]).model_.dtype == "float64"
        else:
            with pytest.raises(ValueError, match=r"augmentation 'rotation'.*floatx\(\) is "
                               r"'float64'.*set_floatx\('float32'\)"):
                clf.fit(X[:50], y[:50])
        # The other augmentations train there.
        ImageClassifier(augmentation=("flip", "zoom"), **{**SMALL, "epochs": 1}).fit(X[:50], y[:50])
    finally:
        keras.config.set_floatx("float32")
    # dtype="float64" with a float32 floatx: the way the error names.
    ImageClassifier(augmentation="rotation", dtype="float64", **{**SMALL, "epochs": 1}).fit(
        X[:50], y[:50])


def test_the_rotation_check_leaves_keras_global_dtype_policy_unset():
    # Found in an audit: the check made a layer without a dtype, which fixes
    # Keras' global policy at the floatx of the moment: after the refusal's own
    # advice (set_floatx('float32')), new layers were still float64. In a
    # process of its own, where no layer was made before.
    import subprocess
    import sys

    code = ("import keras, numpy as np\n"
            "from keraslearn import ImageClassifier\n"
            "X = np.random.RandomState(0).rand(20, 8, 8, 1); y = np.arange(20) % 2\n"
            "keras.config.set_floatx('float64')\n"
            "try:\n"
            "    ImageClassifier(augmentation='rotation', epochs=1, random_state=0).fit(X, y)\n"
            "except ValueError:\n"
            "    pass\n"
            "keras.config.set_floatx('float32')\n"
            "print(keras.config.dtype_policy().name, keras.layers.Dense(2).dtype)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["float32", "float32"]


# Keras pickles a model through its saving code, which reads variables with
# np.array(variable), deprecated by NumPy 2.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_pipeline_from_image_files(tmp_path):
    folder = make_digits_image_folder(tmp_path / "digits", image_size=16, max_per_class=12,
                                      small_class=None)
    paths, labels = load_image_folder(folder)
    train_paths, new_paths, y_train, _ = train_test_split(
        paths, labels, test_size=20, random_state=0, stratify=labels)
    pipe = Pipeline([
        ("load", ImageLoader(target_size=(16, 16), color_mode="grayscale")),
        ("cnn", ImageClassifier(**{**SMALL, "epochs": 3})),
    ]).fit(train_paths, y_train)
    assert pipe[-1].image_shape_ == (16, 16, 1)
    predicted = pipe.predict(new_paths)
    assert predicted.shape == (20,) and set(predicted) <= set(labels)
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict(new_paths), predicted)
    np.testing.assert_array_equal(restored.predict_proba(new_paths), pipe.predict_proba(new_paths))


def test_same_random_state_same_predictions(digit_images):
    X, y = digit_images
    clf = ImageClassifier(augmentation=True, **{**SMALL, "dropout": 0.25})
    first = clone(clf).fit(X, y).predict_proba(X[:20])
    np.testing.assert_array_equal(first, clone(clf).fit(X, y).predict_proba(X[:20]))


def test_early_stopping_and_class_weight(digit_images):
    X, y = digit_images
    clf = ImageClassifier(early_stopping=True, n_iter_no_change=1, class_weight="balanced",
                          device="/CPU:0", **{**SMALL, "epochs": 20}).fit(X, y)
    assert len(clf.history_["val_loss"]) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.n_iter_ <= 20


def test_early_stopping_stops_on_a_loss_that_stays_the_same(digit_images):
    # Keras' rule: a validation loss equal to the best is no improvement (an
    # equal loss reset the count, and a flat loss never stopped).
    from sklearn.model_selection import train_test_split

    X, y = digit_images
    clf = ImageClassifier(early_stopping=True, n_iter_no_change=2, learning_rate=1e-30,
                          optimizer="sgd", **{**SMALL, "epochs": 12}).fit(X, y)
    assert len(set(clf.history_["val_loss"])) == 1  # the weights did not move
    assert clf.n_iter_ == 4  # the best epoch, then more than 2 without improvement
    # The same as Keras' EarlyStopping, one epoch of patience more, on the same split.
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=0.1, stratify=y, random_state=0)
    stop = keras.callbacks.EarlyStopping(patience=3)
    history = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                                keras.layers.Dense(10, activation="softmax")])
    history.compile(keras.optimizers.SGD(1e-30), "sparse_categorical_crossentropy")
    history = history.fit(X_train, y_train, validation_data=(X_val, y_val), epochs=12,
                          callbacks=[stop], verbose=0)
    assert len(history.history["loss"]) == clf.n_iter_
    # A warm start goes on counting, as scikit-learn's MLP does: one more epoch.
    clf.set_params(warm_start=True).fit(X, y)
    assert len(clf.loss_curve_) == 5


def test_partial_fit_and_warm_start(digit_images):
    X, y = digit_images
    clf = ImageClassifier(**SMALL).partial_fit(X, y, classes=np.arange(10))
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 2
    clf = ImageClassifier(warm_start=True, **SMALL).fit(X, y).fit(X, y)
    assert len(clf.loss_curve_) == 4
    # As MLPClassifier (and scikit-learn's MLP): a warm start needs every class.
    with pytest.raises(ValueError, match="warm_start can only be used where y has the same"):
        clf.fit(X[y < 9], y[y < 9])
    assert len(clf.loss_curve_) == 4


def test_partial_fit_after_the_layers_changed_refuses_or_rebuilds(digit_images):
    # The old network trained on, whatever the parameters said (as MLPClassifier:
    # other layers are refused, another dropout rate built again).
    X, y = digit_images[0][:64], digit_images[1][:64]
    clf = ImageClassifier(**SMALL).partial_fit(X, y, classes=np.arange(10))
    network = clf.model_
    clf.partial_fit(X, y)
    assert clf.model_ is network  # unchanged parameters: the same network goes on
    for change in ({"conv_filters": (4,)}, {"kernel_size": 5}, {"dense_units": 8},
                   {"batch_normalization": True}):
        with pytest.raises(ValueError, match="current parameters build another one"):
            ImageClassifier(**SMALL).partial_fit(X, y, classes=np.arange(10)).set_params(
                **change).partial_fit(X, y)
    clf.set_params(dropout=0.5).partial_fit(X, y)
    assert [layer.rate for layer in clf.model_.layers if layer.name.startswith("dropout")] \
        == [0.5, 0.5]
    assert int(clf.model_.optimizer.iterations) == 3 * int(np.ceil(64 / 32))
    # Augmentation layers hold no weights either: another augmentation is built
    # again (it had trained on without), the optimizer's state carried over.
    steps = int(clf.model_.optimizer.iterations)
    for augmentation, layers in [("flip", [("RandomFlip", "horizontal")]),
                                 ({"flip": "vertical", "zoom": 0.2},
                                  [("RandomFlip", "vertical"), ("RandomZoom", 0.2)]),
                                 (None, [])]:
        clf.set_params(augmentation=augmentation).partial_fit(X[:32], y[:32])
        steps += 1
        config = [(type(layer).__name__, layer.get_config()) for layer in clf.model_.layers]
        assert [(name, c.get("mode", c.get("height_factor"))) for name, c in config
                if name.startswith("Random")] == layers
        assert int(clf.model_.optimizer.iterations) == steps


@pytest.mark.parametrize(
    "params, match",
    [
        ({"conv_filters": (8, 0)}, "conv_filters must hold positive integers"),
        ({"conv_filters": 0}, "'conv_filters' parameter"),
        ({"kernel_size": 0}, "'kernel_size' parameter"),
        # (the count is wrong, not the values; shown as given, not as a list)
        ({"kernel_size": (3, 3, 3)}, r"kernel_size must hold 1 or 2 values, got 3: \(3, 3, 3\)"),
        ({"image_shape": (64,)}, r"image_shape must hold 2 or 3 values, got 1: \(64,\)\.$"),
        ({"image_shape": (0, -1)}, r"image_shape must hold positive integers, got \(0, -1\)"),
        ({"dense_units": -1}, "'dense_units' parameter"),
        ({"dropout": 1.5}, "'dropout' parameter"),
        ({"image_shape": (0, 8)}, "image_shape must hold positive integers"),
        ({"image_shape": (8, 9)}, "image_shape=\\(8, 9\\) does not match X"),
        ({"augmentation": {"flipp": True}}, "Did you mean 'flip'"),
        ({"augmentation": {"zoom": 2.0}}, "augmentation 'zoom' must be a factor"),
        ({"augmentation": {"flip": "diagonal"}}, "augmentation 'flip' must be one of"),
        ({"optimizer": "sgdd"}, "Unknown optimizer"),
        ({"validation_fraction": 1.0}, "'validation_fraction' parameter"),
        ({"device": "/GPU:9"}, "is not available"),
        # a grid's typo read as its values, where MLP refuses hidden_layer_sizes=[[3, 2]]
        ({"conv_filters": [[2, 4]]}, r"conv_filters must hold positive integers, got "
                                     r"\[\[2, 4\]\]"),
        ({"kernel_size": [[3, 3]]}, r"kernel_size must hold positive integers"),
        ({"image_shape": [[8, 8]]}, r"image_shape must hold positive integers, got "
                                    r"\[\[8, 8\]\]"),
    ],
)
def test_bad_params_fail_before_tensorflow(digit_images, params, match, monkeypatch):
    def no_build(self, meta):
        raise AssertionError("the network was built")

    monkeypatch.setattr(ImageClassifier, "_keras_build_fn", no_build)
    X, y = digit_images
    with pytest.raises(ValueError, match=match):
        ImageClassifier(**params).fit(X.reshape(len(X), -1), y)


def test_five_dimensional_input_is_refused():
    X = np.zeros((4, 2, 2, 2, 1))
    with pytest.raises(ValueError, match="got 5 dimensions"):
        ImageClassifier().fit(X, [0, 1, 0, 1])


def test_keras_channels_first_setting_does_not_change_the_network(digit_images):
    # Keras' image_data_format (set in code or in ~/.keras/keras.json) made
    # the layers read (height, width, channels) images as channels first:
    # an 8 x 8 x 3 image was convolved as 8 channels of 8 x 3, silently.
    import keras

    X, y = digit_images
    X = np.repeat(X[:120, :, :6, None], 3, axis=-1)  # 8 x 6 images of 3 channels
    params = dict(SMALL, augmentation="flip", random_state=0)
    last = ImageClassifier(**params).fit(X, y[:120])
    before = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    try:
        first = ImageClassifier(**params).fit(X, y[:120])
        proba = first.predict_proba(X)
    finally:
        keras.config.set_image_data_format(before)
    assert [layer.output.shape for layer in first.model_.layers] == [
        layer.output.shape for layer in last.model_.layers]
    np.testing.assert_allclose(proba, last.predict_proba(X), rtol=1e-5, atol=1e-7)
