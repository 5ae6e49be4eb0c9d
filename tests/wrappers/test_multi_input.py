"""Several named inputs as one X that scikit-learn can split: MultiInput, and
ColumnGroups turning a DataFrame's column groups into one."""

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline

from keraslearn import KerasClassifier, MLPClassifier, MultiInput
from keraslearn.preprocessing import ColumnGroups

rng = np.random.default_rng(0)
N = 150
IMAGES = rng.uniform(size=(N, 4, 4, 1)).astype("float32")
META = rng.normal(size=(N, 2)).astype("float32")
y = (IMAGES.mean(axis=(1, 2, 3)) - 0.5 + 0.3 * META[:, 0] > 0).astype(int)


def image_and_meta(meta, width=8):
    image = keras.Input((4, 4, 1), name="image")
    tabular = keras.Input((2,), name="meta")
    hidden = keras.layers.Concatenate()([keras.layers.Flatten()(image), tabular])
    hidden = keras.layers.Dense(width, activation="relu")(hidden)
    output = keras.layers.Dense(1, activation="sigmoid")(hidden)
    return keras.Model({"image": image, "meta": tabular}, output)


def make():
    return KerasClassifier(image_and_meta, optimizer="adam", optimizer__learning_rate=0.02,
                           epochs=15, random_state=0)


def test_multi_input_indexes_like_one_array():
    X = MultiInput(image=IMAGES, meta=META)
    assert len(X) == N and X.shape == (N,)
    part = X[np.array([3, 1])]
    assert isinstance(part, MultiInput)
    np.testing.assert_array_equal(part["meta"], META[[3, 1]])
    np.testing.assert_array_equal(X[2:4]["image"], IMAGES[2:4])
    # no rows, as IMAGES[[]] gives (found in an audit: IndexError, [] being float64)
    assert len(X[[]]) == 0 and X[[]]["meta"].shape == (0, *META.shape[1:])
    with pytest.raises(ValueError, match="as many rows"):
        MultiInput(image=IMAGES, meta=META[:10])


def test_inputs_set_or_updated_are_checked_as_those_given():
    # found in an audit: dict's own methods took lists (repr then failed on
    # their missing shape) and inputs of other lengths, told only at fit
    X = MultiInput(a=np.zeros((4, 2)), b=np.ones((4, 3)))
    X["c"] = [[1.0], [2.0], [3.0], [4.0]]
    X.setdefault("d", range(4))
    X |= {"e": np.arange(4)}
    assert all(isinstance(X[name], np.ndarray) for name in "abcde")
    assert repr(X) == "MultiInput(a=(4, 2), b=(4, 3), c=(4, 1), d=(4,), e=(4,))"
    assert isinstance(X | {"f": np.arange(4)}, MultiInput)
    assert isinstance({"f": np.arange(4)} | X, MultiInput)  # (found in review: a dict)
    with pytest.raises(TypeError):  # (not read as inputs: found in review)
        X | [("f", np.arange(4))]
    for change in (lambda: X.update(b=np.zeros((7, 2))), lambda: X.__setitem__("f", [1, 2]),
                   lambda: X.update({"f": np.zeros(3)}), lambda: X | {"f": np.zeros(5)}):
        with pytest.raises(ValueError, match="must hold as many rows each"):
            change()
    with pytest.raises(ValueError, match="input 'g' is a scalar"):
        X.setdefault("g", "text")
    with pytest.raises(TypeError, match="input names must be strings"):
        X[0] = np.arange(4)
    assert list(X) == ["a", "b", "c", "d", "e"]  # (nothing refused was kept)
    X["a"] = np.ones((4, 1))  # (replaced, of the same length)
    assert X["a"].shape == (4, 1)


def test_cross_validation_and_search_split_named_inputs():
    X = MultiInput(image=IMAGES, meta=META)
    scores = cross_val_score(make(), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.7
    search = GridSearchCV(make(), {"width": [4, 8]}, cv=2).fit(X, y)
    best = search.best_estimator_
    assert best.X_shape_ == {"image": (N, 4, 4, 1), "meta": (N, 2)}
    proba = best.predict_proba(X[:5])
    model_out = best.model_({"image": IMAGES[:5], "meta": META[:5]}, training=False).numpy()
    np.testing.assert_allclose(proba[:, 1], model_out[:, 0], rtol=1e-5)


def test_column_groups_feed_named_inputs_from_a_dataframe():
    columns = [f"pixel{i}" for i in range(16)]
    frame = pd.DataFrame(np.column_stack([IMAGES.reshape(N, -1), META]),
                         columns=columns + ["age", "income"])
    groups = ColumnGroups({"image": columns, "meta": ["age", "income"]},
                          shapes={"image": (4, 4, 1)})
    pipe = make_pipeline(groups, make())
    frame_scores = cross_val_score(pipe, frame, y, cv=3)
    array_scores = cross_val_score(make(), MultiInput(image=IMAGES, meta=META), y, cv=3)
    np.testing.assert_allclose(frame_scores, array_scores)


def test_named_inputs_are_checked_against_the_fit():
    clf = make().set_params(epochs=1).fit(MultiInput(image=IMAGES, meta=META), y)
    fitted_with = r"inputs \['image'\], but .* fitted with \['image', 'meta'\]"
    with pytest.raises(ValueError, match=fitted_with):
        clf.predict(MultiInput(image=IMAGES))
    with pytest.raises(ValueError, match=r"X\['meta'\] has shape \(3,\) per sample"):
        clf.predict(MultiInput(image=IMAGES, meta=np.zeros((N, 3))))
    with pytest.raises(ValueError, match="fitted with the named inputs"):
        clf.predict(META)
    # partial_fit and warm starts said "expecting {'image': 64, 'meta': 2} features".
    clf.set_params(warm_start=True)
    for call in (clf.partial_fit, clf.fit):
        with pytest.raises(ValueError, match=r"fitted with the named inputs \['image', "
                                             r"'meta'\]; give X as a dict or MultiInput"):
            call(META, y)
    assert clf.current_epoch == 1
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(MultiInput(image=IMAGES, meta=np.full((N, 2), np.nan)))


def test_named_inputs_are_checked_against_the_models_inputs_before_training():
    # An extra input was taken (Keras warned and dropped it), and then predict
    # refused exactly the model's inputs; a wrong width, wrong names or one array
    # failed inside Keras.
    built = []

    def counted(meta):
        built.append(1)
        return image_and_meta(meta)

    def fit(X):
        return KerasClassifier(counted, epochs=1, random_state=0).fit(X, y)

    with pytest.raises(ValueError, match=r"X has the inputs \['image', 'meta', 'extra'\], but "
                                         r"the model takes \['image', 'meta'\]: \['extra'\] "
                                         "not taken"):
        fit(MultiInput(image=IMAGES, meta=META, extra=META))
    with pytest.raises(ValueError, match=r"\['meta'\] missing, \['tabular'\] not taken. Name "
                                         r"X's inputs as the model's keras.Input"):
        fit({"image": IMAGES, "tabular": META})
    with pytest.raises(ValueError, match=r"X\['meta'\] has 3 features, but the model's input "
                                         r"'meta' takes 2 features"):
        fit({"image": IMAGES, "meta": np.zeros((N, 3), "float32")})
    with pytest.raises(ValueError, match=r"X is one array, but the model takes 2 inputs, "
                                         r"\['image', 'meta'\]: give X as a dict"):
        fit(META)
    assert len(built) == 4  # (refused once built, before training)
    # One named input (a ColumnGroups of one group) for a model of one input named
    # otherwise: Keras' own error (found in an audit), now told in the same words.
    def one_input(meta):
        return keras.Sequential([keras.Input((2,), name="numbers"),
                                 keras.layers.Dense(2, activation="softmax")])

    with pytest.raises(ValueError, match=r"X has the inputs \['meta'\], but the model takes "
                                         r"\['numbers'\].*, or give X as one array\."):
        KerasClassifier(one_input, epochs=1).fit({"meta": META}, y)
    assert KerasClassifier(one_input, epochs=1).fit({"numbers": META}, y).predict(
        {"numbers": META}).shape == (N,)
    assert fit({"meta": META, "image": IMAGES}).predict(
        MultiInput(image=IMAGES, meta=META)).shape == (N,)  # (in any order)


def test_ready_networks_refuse_named_inputs():
    with pytest.raises(TypeError, match="MLPClassifier takes X as one array"):
        MLPClassifier().fit(MultiInput(image=IMAGES, meta=META), y)


@pytest.mark.parametrize("container", [list, tuple])
def test_a_list_of_inputs_says_what_to_give_instead(container):
    """Keras takes a model's inputs as a list; scikit-learn takes a list X as
    rows, so a list of inputs of different shapes cannot be one X."""
    clf = KerasClassifier(image_and_meta, epochs=1, random_state=0)
    with pytest.raises(ValueError, match=r"X is a list of 2 arrays of different shapes.*"
                                         r"dict of arrays by input name, or "
                                         r"keraslearn\.MultiInput"):
        clf.fit(container([IMAGES, META]), y)
    assert not hasattr(clf, "model_")
    # Samples of different lengths, one per row of a Series, as many as y's, or
    # one input of a dict: not several inputs.
    ragged = [np.zeros(2 + i % 3) for i in range(len(y))]
    for X, words in ((pd.Series(ragged), "X is a Series of \\d+ arrays"),
                     (pd.Series([list(r) for r in ragged]), "X is a Series of \\d+ sequences"),
                     ([list(r) for r in ragged], "X is a list of \\d+ sequences"),
                     ({"image": ragged, "meta": META}, r"X\['image'\] is a list of \d+ arrays")):
        with pytest.raises(ValueError, match=words + r" of different shapes.*Give samples of "
                                                     r"one shape \(keras\.utils\.pad_sequences"):
            clf.fit(X, y)
    # found in an audit: a MultiInput made of them got NumPy's "inhomogeneous shape"
    with pytest.raises(ValueError, match=r"^MultiInput input 'image' is a list of \d+ "
                                         r"sequences of different shapes.*pad_sequences"):
        MultiInput(image=[list(r) for r in ragged], meta=META)
    # A ragged y beside them: the hint still comes (NumPy's error on y's shape did).
    with pytest.raises(ValueError, match=r"X is a list of \d+ sequences of different shapes"):
        clf.fit([list(r) for r in ragged], [np.zeros(2), np.zeros((2, 2))])
    fitted = KerasClassifier(image_and_meta, epochs=1, random_state=0).fit(
        {"image": IMAGES, "meta": META}, y)
    with pytest.raises(ValueError, match="named inputs"):
        fitted.predict(container([IMAGES, META]))


def test_named_inputs_without_rows_or_dense_arrays_are_refused_for_what_they_are():
    # No rows was taken for no inputs (a MultiInput's len is its rows); a sparse
    # matrix for "a scalar".
    import scipy.sparse as sp

    fitted = make().set_params(epochs=1).fit(MultiInput(image=IMAGES, meta=META), y)
    empty = MultiInput(image=IMAGES[:0], meta=META[:0])
    for call in (lambda: fitted.predict(empty), lambda: make().fit(empty, y[:0])):
        with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
            call()
    with pytest.raises(TypeError, match="'meta' is a scipy sparse matrix; the inputs of a "
                                        r"MultiInput are dense arrays \(toarray\(\)\)"):
        MultiInput(image=IMAGES, meta=sp.csr_matrix(META))


def test_continued_fits_refuse_named_inputs_of_a_dtype_that_does_not_cast_safely():
    # As for one array: a float64 input after a float32 fit was taken silently.
    fitted = make().set_params(epochs=1, warm_start=True).fit(
        MultiInput(image=IMAGES, meta=META), y)
    wider = MultiInput(image=IMAGES, meta=META.astype("float64"))
    for call in (fitted.partial_fit, fitted.fit):
        with pytest.raises(ValueError, match=r"X\['meta'\] has dtype float64, but "
                                             r"KerasClassifier was fitted on float32"):
            call(wider, y)
    assert fitted.current_epoch == 1  # neither refused call trained
    fitted.partial_fit(MultiInput(image=IMAGES, meta=META.astype("float16")), y)  # casts safely


def test_a_named_input_given_as_a_dataframe_is_checked_by_its_column_names():
    # Its column names were dropped: the same frame with its columns swapped was
    # fed by position, silently (probabilities off by up to 0.8).
    meta = pd.DataFrame(META, columns=["age", "income"])
    X = MultiInput(image=IMAGES, meta=meta)
    assert X["meta"] is meta and isinstance(X[np.arange(3)]["meta"], pd.DataFrame)
    np.testing.assert_array_equal(X[np.arange(3)]["meta"], META[:3])
    clf = make().set_params(epochs=1, warm_start=True).fit(X, y)
    expected = clf.predict_proba(MultiInput(image=IMAGES, meta=META))
    np.testing.assert_array_equal(clf.predict_proba({"image": IMAGES, "meta": meta}),
                                  expected)
    swapped = MultiInput(image=IMAGES, meta=meta[["income", "age"]])
    for call in (clf.predict, lambda X: clf.partial_fit(X, y), lambda X: clf.fit(X, y)):
        with pytest.raises(ValueError, match=r"feature names of X\['meta'\] should match.*"
                                             r"fitted with \['age', 'income'\], got "
                                             r"\['income', 'age'\]"):
            call(swapped)
    assert clf.current_epoch == 1 and list(meta.columns) == ["age", "income"]
    # Names on one side only: scikit-learn's warnings, naming the input.
    with pytest.warns(UserWarning, match=r"X\['meta'\] does not have valid feature names, "
                                         "but KerasClassifier was fitted with feature names"):
        clf.predict(MultiInput(image=IMAGES, meta=META))
    unnamed = make().set_params(epochs=1).fit(MultiInput(image=IMAGES, meta=META), y)
    with pytest.warns(UserWarning, match=r"X\['meta'\] has feature names, but "
                                         "KerasClassifier was fitted without"):
        unnamed.predict(X)
    # Names mixing strings and numbers were matched by position, in silence (one
    # X of them is refused by scikit-learn).
    mixed = MultiInput(image=IMAGES, meta=meta.set_axis(["age", 1], axis=1))
    with pytest.raises(TypeError, match=r"Column names must all be strings, or none be: "
                                        r"these mix \['int', 'str'\]"):
        make().set_params(epochs=1).fit(mixed, y)


def test_a_polars_frame_in_named_inputs_is_checked_by_its_column_names_as_pandas_ones():
    # Its names were dropped (a MultiInput made it an array): the same frame with
    # its columns swapped was fed by position, silently.
    import polars as pl

    meta = pl.DataFrame({"age": META[:, 0], "income": META[:, 1]})
    mask = np.arange(N) % 3 > 0
    X = MultiInput(image=IMAGES, meta=meta)
    assert X["meta"] is meta and isinstance(X[mask]["meta"], pl.DataFrame)
    for rows in (mask, np.flatnonzero(mask), slice(1, 4), 2, np.int64(2)):
        np.testing.assert_array_equal(X[rows]["meta"].to_numpy(), META[rows].reshape(-1, 2))
    # keys NumPy and pandas inputs take: a polars mask, lists of NumPy scalars
    for rows in (meta["age"] > 0, list(mask), list(np.flatnonzero(mask))):
        np.testing.assert_array_equal(X[rows]["meta"].to_numpy(), META[np.asarray(rows)])
    assert isinstance(X.copy()["meta"], pl.DataFrame) and X.copy()["meta"] is not meta
    swapped = meta.select(["income", "age"])
    for given, shuffled in ((X, MultiInput(image=IMAGES, meta=swapped)),
                            ({"image": IMAGES, "meta": meta}, {"image": IMAGES, "meta": swapped})):
        clf = make().set_params(epochs=1).fit(given, y)
        assert list(clf._input_feature_names["meta"]) == ["age", "income"]
        with pytest.warns(UserWarning, match=r"X\['meta'\] does not have valid feature names"):
            unnamed = clf.predict(MultiInput(image=IMAGES, meta=META))
        np.testing.assert_array_equal(clf.predict(given), unnamed)
        with pytest.raises(ValueError, match=r"feature names of X\['meta'\] should match.*"
                                             r"got \['income', 'age'\]"):
            clf.predict(shuffled)
    scores = cross_val_score(make().set_params(epochs=1), X, y, cv=2)
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_text_in_a_named_input_is_explained_naming_the_input():
    words = np.array([["good"], ["bad"]] * (N // 2))
    with pytest.raises(ValueError, match=r"X\['meta'\] holds text \(could not convert string "
                                         r"to float.*Turn the text into numbers first"):
        make().fit(MultiInput(image=IMAGES, meta=words), y)


@pytest.mark.parametrize("named", [True, False], ids=["input-named-as-key", "unnamed-input"])
def test_a_float64_input_is_fed_by_the_key_of_the_dict_the_model_was_built_on(named):
    # An Input without name= (Keras feeds it by its dict key) was taken as one the
    # model does not declare, and its float64 values rounded to float32.
    from keraslearn import KerasRegressor

    def build():
        a = keras.Input((1,), dtype="float64", **({"name": "a"} if named else {}))
        b = keras.Input((1,), dtype="float64", **({"name": "b"} if named else {}))
        return keras.Model({"a": a, "b": b}, keras.layers.Add(dtype="float64")([a, b]))

    X = MultiInput(a=1e8 + np.arange(4.0)[:, None], b=np.zeros((4, 1)))
    reg = KerasRegressor(build, loss="mse", optimizer="sgd", optimizer__learning_rate=0.0,
                         epochs=1, random_state=0).fit(X, np.arange(4.0))
    np.testing.assert_array_equal(reg.predict(X) - 1e8, [0.0, 1.0, 2.0, 3.0])


def test_targets_of_named_inputs_listed_by_row_or_by_output():
    # A list of rows was refused as "targets by output" for a dict X, whose len()
    # counts its inputs, not its rows; a list by output got scikit-learn's error.
    rows = [np.array([label, 1 - label]) for label in y]
    for X in ({"image": IMAGES, "meta": META}, MultiInput(image=IMAGES, meta=META)):
        two = KerasClassifier(image_and_meta, loss="binary_crossentropy", epochs=1,
                              random_state=0).fit(X, rows)
        assert two.n_outputs_ == 1 and two.classes_ is not None
        with pytest.raises(ValueError, match=r"y is a list of 2 arrays of \d+ rows each"):
            KerasClassifier(image_and_meta, epochs=1).fit(X, [y, y])


def test_named_targets_are_refused_saying_y_is_one_array():
    # fit(X, X) of named inputs (an autoencoder) failed in check_array on "a scalar
    # array(MultiInput(...))".
    from keraslearn import BaseWrapper

    X = MultiInput(image=IMAGES, meta=META)
    for targets in (X, {"image": IMAGES, "meta": META}):
        est = BaseWrapper(image_and_meta, loss="mse", epochs=1)
        with pytest.raises(ValueError, match=r"y is a dict \(targets by output\?\), but y is "
                                             "one array.*subclass the wrapper with a "
                                             "target_encoder"):
            est.fit(X, targets)
        assert not hasattr(est, "model_")
