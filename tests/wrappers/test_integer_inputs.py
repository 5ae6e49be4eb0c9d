"""Integer and boolean X reach a wrapper's model as given, as in scikeras:
ids above 2**24 were rounded by a cast to float32 before the network saw
them, so an ``int64`` input got other ids than the user's."""

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from keraslearn import KerasClassifier, KerasRegressor, MLPClassifier, MultiInput
from keraslearn._engine._inputs import validate_X

IDS = (np.arange(40, dtype=np.int64) + 2**24).reshape(-1, 1)  # odd ids round to even in float32
PARITY = IDS[:, 0] % 2


def parity_model(meta):
    ids = keras.Input((1,), dtype=meta["X_dtype_"], name="ids")
    odd = keras.layers.Lambda(lambda x: keras.ops.cast(keras.ops.mod(x, 2), "float32"))(ids)
    out = keras.layers.Dense(2, activation="softmax")(odd)
    return keras.Model(ids, out)


def test_ids_above_float32_precision_reach_an_integer_input_unrounded():
    clf = KerasClassifier(parity_model, loss="sparse_categorical_crossentropy",
                          optimizer="adam", optimizer__learning_rate=0.1, epochs=40,
                          random_state=0).fit(IDS, PARITY)
    assert clf.X_dtype_ == np.int64  # what scikeras records, and what meta gave the model
    np.testing.assert_array_equal(clf.predict(IDS), PARITY)  # rounded ids were all even
    np.testing.assert_allclose(clf.predict_proba(IDS), clf.model_(IDS), rtol=1e-6)
    many = np.repeat(IDS, 30, axis=0)  # beyond the few rows predicted in NumPy
    np.testing.assert_array_equal(clf.predict(many), np.repeat(PARITY, 30))


def test_tensorflow_tensors_of_ids_reach_the_input_as_numpy_arrays_do():
    # Found in an audit: a tf.Tensor's dtype (a tf.DType) was not read, so its
    # ids were rounded through float32, and a float64 tensor became float32.
    import tensorflow as tf

    clf = KerasClassifier(parity_model, loss="sparse_categorical_crossentropy",
                          optimizer="adam", optimizer__learning_rate=0.1, epochs=40,
                          random_state=0).fit(tf.constant(IDS), PARITY)
    assert clf.X_dtype_ == np.int64
    np.testing.assert_array_equal(clf.predict(tf.Variable(IDS)), PARITY)
    floats = KerasRegressor(dense, loss="mse", epochs=1, random_state=0).fit(
        tf.constant(IDS / 2**24), PARITY * 1.0)
    assert floats.X_dtype_ == np.float64


def test_named_integer_inputs_are_kept_too():
    def named(meta):
        assert meta["X_dtype_"] == {"ids": np.int64}
        return parity_model({"X_dtype_": meta["X_dtype_"]["ids"]})

    clf = KerasClassifier(named, loss="sparse_categorical_crossentropy", optimizer="adam",
                          optimizer__learning_rate=0.1, epochs=40, random_state=0)
    clf.fit(MultiInput(ids=IDS), PARITY)
    np.testing.assert_array_equal(clf.predict(MultiInput(ids=IDS)), PARITY)


def dense(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                             keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])


@pytest.mark.parametrize("kind", ["int8", "int64", "uint16", "bool"])
def test_a_float_network_learns_from_integer_X_what_it_learns_from_its_float32_cast(kind):
    # The feed casts each batch to the input's dtype: the same numbers as the
    # whole X converted first, in fit, in predict of a few rows (NumPy) and of
    # many (Keras).
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2 if kind == "bool" else 100, size=(1500, 3)).astype(kind)
    y = X.astype("float32") @ np.array([1.0, -2.0, 0.5]) / 50
    reg = KerasRegressor(dense, loss="mse", epochs=2, batch_size=64, random_state=0)
    as_ints = reg.fit(X, y)
    assert as_ints.X_dtype_ == np.dtype(kind)
    weights, few, many = as_ints.model_.get_weights(), as_ints.predict(X[:5]), as_ints.predict(X)
    as_floats = KerasRegressor(**reg.get_params()).fit(X.astype("float32"), y)
    for a, b in zip(weights, as_floats.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(few, as_floats.predict(X[:5].astype("float32")))
    np.testing.assert_array_equal(many, as_floats.predict(X.astype("float32")))


def test_frames_keep_integer_columns_and_mixed_ones_are_floats():
    ints = pd.DataFrame({"a": IDS[:, 0], "b": IDS[:, 0] * 0 + 1})
    clf = KerasClassifier(dense, loss=keras.losses.BinaryCrossentropy(from_logits=True),
                          epochs=1, random_state=0)
    assert clf.fit(ints, PARITY).X_dtype_ == np.int64
    mixed = ints.assign(b=0.5)
    assert KerasClassifier(**clf.get_params()).fit(mixed, PARITY).X_dtype_ == np.float64


def test_pandas_nullable_columns_keep_integers_and_float64():
    # Int64 and boolean columns were made float32 (ids rounded), Float64 ones too.
    ints = pd.DataFrame({"a": pd.array(IDS[:, 0], dtype="Int64")})
    clf = KerasClassifier(parity_model, loss="sparse_categorical_crossentropy",
                          optimizer="adam", optimizer__learning_rate=0.1, epochs=40,
                          random_state=0).fit(ints, PARITY)
    assert clf.X_dtype_ == np.int64
    np.testing.assert_array_equal(clf.predict(ints), PARITY)
    flags = pd.DataFrame({"a": pd.array(PARITY == 1, dtype="boolean")})
    reg = KerasRegressor(dense, loss="mse", epochs=1, random_state=0)
    assert reg.fit(flags, PARITY.astype(float)).X_dtype_ == np.bool_
    floats = pd.DataFrame({"a": pd.array(IDS[:, 0] + 0.5, dtype="Float64")})
    assert KerasRegressor(**reg.get_params()).fit(floats, PARITY.astype(float)).X_dtype_ == (
        np.float64)


@pytest.mark.parametrize("column", [
    lambda ids: pd.DataFrame({"a": pd.Categorical(ids)}),
    lambda ids: pd.DataFrame({"a": ids.astype(object)}),
    lambda ids: ids.astype(object).reshape(-1, 1),  # (found in a later audit)
], ids=["category", "object", "object-array"])
def test_ids_in_a_category_or_object_column_reach_an_integer_input_unrounded(column):
    # found in an audit: they were made float32, odd ids rounded to even ones, in
    # silence (the network learnt nothing), a NumPy int64 column beside them too
    frame = column(IDS[:, 0])
    clf = KerasClassifier(parity_model, loss="sparse_categorical_crossentropy",
                          optimizer="adam", optimizer__learning_rate=0.1, epochs=40,
                          random_state=0).fit(frame, PARITY)
    assert clf.X_dtype_ == np.int64
    np.testing.assert_array_equal(clf.predict(frame), PARITY)
    np.testing.assert_array_equal(clf.predict(IDS.astype(object)), PARITY)
    if isinstance(frame, pd.DataFrame):
        np.testing.assert_array_equal(clf.predict(pd.DataFrame({"a": IDS[:, 0]})), PARITY)
    words = pd.DataFrame({"a": pd.Categorical(["x", "y"] * 20)})  # (text: refused, as before)
    with pytest.raises(ValueError, match="holds text"):
        clone(clf).fit(words, PARITY)
    # found in review: integers past int64's range failed with NumPy's OverflowError;
    # they are left as they were before
    from keraslearn.preprocessing import ColumnGroups
    from keraslearn.utils._columns import integer_dtype

    huge = pd.DataFrame({"a": np.array([2**63 + 5, 1] * 20, dtype=object)})
    assert integer_dtype(huge) is False
    assert ColumnGroups({"a": ["a"]}, dtype=None).fit_transform(huge)["a"].shape == (40, 1)


@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")
def test_a_nullable_column_beside_float64_ones_keeps_them_float64():
    # A boolean, Int64 or category column beside float64 ones made the whole
    # frame float32 (the values rounded, then partial_fit on the same data
    # given as NumPy dtypes refused as "fitted on float32").
    def identity(meta):  # passes column f through: the values the network got
        inputs = keras.Input((2,), dtype=meta["X_dtype_"])
        out = keras.layers.Dense(1, dtype=meta["X_dtype_"], trainable=False,
                                 kernel_initializer=keras.initializers.Constant([[0.0], [1.0]]),
                                 bias_initializer="zeros")(inputs)
        return keras.Model(inputs, out)

    f = np.array([0.1, 0.2, 0.3, 1234567.89, 5.0, 6.0])
    plain = pd.DataFrame({"flag": [True, False] * 3, "f": f})
    reg = KerasRegressor(identity, loss="mse", optimizer="sgd", epochs=1, random_state=0)
    for column in ("boolean", "Int64", "category"):
        nullable = plain.astype({"flag": column})
        fitted = KerasRegressor(**reg.get_params()).fit(nullable, f)
        assert fitted.X_dtype_ == np.float64
        np.testing.assert_array_equal(fitted.predict(nullable), f)
        fitted.partial_fit(plain, f)  # the same data as NumPy dtypes
    assert KerasRegressor(**reg.get_params()).fit(
        plain.astype({"f": "float32", "flag": "boolean"}), f).X_dtype_ == np.float32
    import polars as pl  # a polars frame of the same columns, as the pandas one

    as_polars = pl.DataFrame({"flag": plain["flag"].to_numpy(), "f": f})
    fitted = KerasRegressor(**reg.get_params()).fit(as_polars, f)
    assert fitted.X_dtype_ == np.float64
    np.testing.assert_array_equal(fitted.predict(as_polars), f)


def test_polars_integer_columns_keep_integers_as_pandas_ones():
    # A polars frame of ids was made float32: odd ids rounded to even.
    import polars as pl

    ids = pl.DataFrame({"a": IDS[:, 0]})
    clf = KerasClassifier(parity_model, loss="sparse_categorical_crossentropy",
                          optimizer="adam", optimizer__learning_rate=0.1, epochs=40,
                          random_state=0).fit(ids, PARITY)
    assert clf.X_dtype_ == np.int64 and list(clf.feature_names_in_) == ["a"]
    np.testing.assert_array_equal(clf.predict(ids), PARITY)
    flags = pl.DataFrame({"a": PARITY == 1, "b": IDS[:, 0] % 3 == 0})
    reg = KerasRegressor(dense, loss="mse", epochs=1, random_state=0)
    assert reg.fit(flags, PARITY.astype(float)).X_dtype_ == np.bool_
    with_null = pl.DataFrame({"a": [*IDS[:-1, 0].tolist(), None]})  # NaN as floats: refused
    with pytest.raises(ValueError, match="Input X contains NaN"):
        KerasClassifier(**clf.get_params()).fit(with_null, PARITY)


def test_sparse_pandas_columns_still_fit_and_predict():
    # (found in review) Sparse[bool] dummies passed for integers, and np.result_type
    # refused their dtype.
    def sigmoid(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(1, activation="sigmoid")])

    X = pd.get_dummies(pd.DataFrame({"city": list("abcab") * 8}), sparse=True)
    clf = KerasClassifier(sigmoid, loss="binary_crossentropy", epochs=1, random_state=0)
    clf.fit(X, np.arange(40) % 2)
    np.testing.assert_allclose(clf.predict_proba(X), clf.predict_proba(X.sparse.to_dense()))


def test_a_float64_ready_network_gets_other_X_as_float64():
    # check_array converted int, object and list X to float32, the first float
    # it was given, whatever the network's: ids 2**24 + 1 and 2**24 were one.
    from sklearn.exceptions import ConvergenceWarning

    from keraslearn import MLPRegressor

    for X in (IDS[:4], IDS[:4].astype(object), IDS[:4].tolist(),
              pd.DataFrame({"a": pd.array(IDS[:4, 0], dtype="Int64")})):
        with pytest.warns(ConvergenceWarning):
            reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0,
                               dtype="float64").fit(X, np.arange(4.0))
        assert reg.X_dtype_ == np.float64
        assert len(np.unique(reg.predict(X))) == 4


def test_a_float64_network_gets_wider_floats_and_number_objects_as_float64():
    # found in an audit: longdouble X and Decimal objects were made float32
    # first, then cast to the network's float64 (80 values became 9)
    from decimal import Decimal

    def float64_model(meta):
        inputs = keras.Input((1,), dtype="float64")
        return keras.Model(inputs, keras.layers.Dense(1, dtype="float64")(inputs))

    X = 1 + np.arange(80).reshape(-1, 1) * 1e-9
    # (found in a later audit: a list of Python floats, doubles, was made float32 too)
    for given in (X.astype(np.longdouble), np.vectorize(Decimal)(X).astype(object),
                  X.tolist()):
        reg = KerasRegressor(float64_model, epochs=1, random_state=0).fit(given, X[:, 0])
        assert reg.X_dtype_ == np.float64
        assert len(np.unique(reg.predict(given))) == 80
    # (found in review) object columns beside others follow them: float64 ones
    # stay float64, float32 ones float32 (X is not doubled for the objects)
    def two_inputs(meta):
        inputs = keras.Input((2,), dtype=meta["X_dtype_"])
        return keras.Model(inputs, keras.layers.Dense(1, dtype=meta["X_dtype_"])(inputs))

    for floats in (np.float64, np.float32):
        frame = pd.DataFrame({"x": X[:, 0].astype(floats), "n": pd.Series([1.5] * 80,
                                                                            dtype=object)})
        reg = KerasRegressor(two_inputs, epochs=1, random_state=0).fit(frame, X[:, 0])
        assert reg.X_dtype_ == floats


def test_continued_fits_take_integers_that_cast_safely_and_refuse_floats():
    clf = KerasRegressor(dense, loss="mse", epochs=1, random_state=0, warm_start=True)
    clf.fit(IDS, PARITY.astype(float))
    clf.partial_fit(IDS.astype(np.int32), PARITY.astype(float))  # int32 -> int64 is safe
    with pytest.raises(ValueError, match="X has dtype float64, but KerasRegressor was fitted "
                                         "on int64"):
        clf.partial_fit(IDS.astype(np.float64), PARITY.astype(float))


def test_the_ready_estimators_still_train_on_floats():
    # Their networks are float, as scikit-learn's MLP converts X.
    mlp = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with pytest.warns(UserWarning):  # (values of this size learn poorly: it says so)
        mlp.fit(IDS, PARITY)
    assert mlp.X_dtype_ == np.float32


def embedding_model(meta, name=None):
    ids = keras.Input((1,), dtype=meta["X_dtype_"], name=name)
    vectors = keras.layers.Flatten()(keras.layers.Embedding(300, 4)(ids))
    return keras.Model(ids, keras.layers.Dense(2, activation="softmax")(vectors))


CODES = np.arange(100, dtype=np.int8).reshape(-1, 1)  # pandas' category codes are int8


def test_predict_refuses_x_an_integer_fit_would_get_truncated_or_wrapped():
    # As scikeras refuses it: 2.9 reached the model as id 2, and 300 as int8's 44.
    clf = KerasClassifier(embedding_model, loss="sparse_categorical_crossentropy", epochs=1,
                          random_state=0).fit(CODES, CODES[:, 0] % 2)
    for X in (np.array([[2.9]]), np.array([[300]]), np.array([[-129.0]])):
        with pytest.raises(ValueError, match=rf"X holds values that int8, the dtype "
                                             rf"KerasClassifier was fitted on, cannot hold "
                                             rf"exactly \(it has dtype {X.dtype}\).*fit on "
                                             rf"X\.astype\(float\)"):
            clf.predict(X)
    # Whole numbers in its range are its values: a server's float64 columns, say.
    np.testing.assert_array_equal(clf.predict_proba(CODES.astype(float)),
                                  clf.predict_proba(CODES))
    np.testing.assert_array_equal(clf.predict(CODES.astype(np.int64)), clf.predict(CODES))
    np.testing.assert_array_equal(clf.predict(CODES.astype(np.uint8)[:3].astype(bool)),
                                  clf.predict(np.array([[0], [1], [1]], dtype=np.int8)))
    named = KerasClassifier(
        lambda meta: embedding_model({"X_dtype_": meta["X_dtype_"]["codes"]}, "codes"),
        loss="sparse_categorical_crossentropy", epochs=1, random_state=0,
    ).fit(MultiInput(codes=CODES), CODES[:, 0] % 2)
    with pytest.raises(ValueError, match=r"X\['codes'\] holds values that int8"):
        named.predict(MultiInput(codes=CODES + 0.5))


def _int32_ids(meta):
    ids = keras.Input((1,), dtype="int32")
    vectors = keras.layers.Flatten()(keras.layers.Embedding(300, 4)(ids))
    return keras.Model(ids, keras.layers.Dense(2, activation="softmax")(vectors))


def test_x_an_integer_input_would_take_truncated_or_wrapped_is_refused():
    # The model's own int32 input (not the fit's dtype): fractional floats were
    # truncated (2.7 as id 2) and int64 ids past its range wrapped (2**32 + 1 as
    # 1), in fit and predict alike, silently.
    y = CODES[:, 0] % 2
    clf = KerasClassifier(_int32_ids, loss="sparse_categorical_crossentropy", epochs=1,
                          random_state=0)
    for X, shown in ((CODES + 0.7, r"0\.7, of float64"),
                     (np.r_[CODES[:-1], [[2**32 + 1]]].astype(np.int64), r"4294967297, of int64")):
        with pytest.raises(ValueError, match=r"X holds values the model's int32 input cannot "
                                             rf"take as they are \({shown}\): Keras would cast"):
            clone(clf).fit(X, y)
    from scipy import sparse

    with pytest.raises(ValueError, match=r"\(0\.5, of float64\)"):  # (sparse: its stored values)
        clone(clf).fit(sparse.csr_matrix(CODES + 0.5), y)
    from keraslearn._engine._input_dtypes import check_integer_inputs
    from keraslearn._engine._predict import InputKind

    big = CODES.astype(np.float32) + 2**24  # (exact in float32, and in int32: ids as they are)
    check_integer_inputs(big, InputKind("int32"))  # (it raised IndexError)
    fitted = clf.fit(CODES.astype(float), y)  # (whole numbers: its ids)
    for X in (np.array([[2.7]]), np.array([[2**32 + 1]], dtype=np.int64)):
        with pytest.raises(ValueError, match="int32 input cannot take as they are"):
            fitted.predict(X)
    np.testing.assert_array_equal(fitted.predict_proba(np.array([[7]], dtype=np.int64)),
                                  fitted.predict_proba(np.array([[7.0]])))


def test_ids_outside_the_embedding_s_rows_are_refused_before_tensorflow_runs():
    # Found in an audit: served, id 50 of an Embedding of 10 rows answered HTTP 500
    # with TensorFlow's graph text, and -1 was read as the last row (a GPU reads ids
    # beyond the rows as zeros): in fit and predict, in silence or deep in the graph.
    from sklearn.pipeline import make_pipeline

    from keraslearn.preprocessing import ColumnGroups

    def two_inputs(meta):
        uid, num = keras.Input((1,), dtype="int32", name="uid"), keras.Input((2,), name="num")
        vectors = keras.layers.Flatten()(keras.layers.Embedding(10, 2)(uid))
        joined = keras.layers.Concatenate()([vectors, num])
        return keras.Model([uid, num], keras.layers.Dense(1, activation="sigmoid")(joined))

    rng = np.random.RandomState(0)
    frame = pd.DataFrame({"uid": rng.randint(0, 10, 40), "a": rng.rand(40), "b": rng.rand(40)})
    y = frame.uid > 4
    pipe = make_pipeline(ColumnGroups({"uid": ["uid"], "num": ["a", "b"]}), KerasClassifier(
        two_inputs, loss="binary_crossentropy", epochs=1, random_state=0)).fit(frame, y)
    for uid in (10, 50, -1):
        with pytest.raises(ValueError, match=rf"X\['uid'\] holds an id outside the 10 rows of "
                                             rf"the Embedding reading it \({uid}\)"):
            pipe.predict(frame.head(3).assign(uid=[1, uid, 2]))
        with pytest.raises(ValueError, match="outside the 10 rows"):
            clone(pipe).fit(frame.assign(uid=np.r_[frame.uid[:-1], uid]), y)
    assert pipe.predict_proba(frame.assign(uid=9)).shape == (40, 2)  # (the last row is one)
    # validation_data's rows too (found in review: they failed in TensorFlow after the epoch)
    with pytest.raises(ValueError, match=r"^validation_data: X\['uid'\] holds an id outside"):
        clone(pipe[-1]).fit(pipe[0].transform(frame), y, validation_data=(
            pipe[0].transform(frame.head(5).assign(uid=12)), y[:5]))

    class Folding(keras.layers.Embedding):  # a call of its own may take other ids
        def call(self, inputs):
            return super().call(keras.ops.mod(inputs, self.input_dim))

    def folding(meta):
        ids = keras.Input((1,), dtype="int32")
        vectors = keras.layers.Flatten()(Folding(10, 2)(ids))
        return keras.Model(ids, keras.layers.Dense(1, activation="sigmoid")(vectors))

    folded = KerasClassifier(folding, loss="binary_crossentropy", epochs=1, random_state=0)
    assert folded.fit(np.arange(40)[:, None] % 10, y).predict(np.array([[15]])).shape == (1,)


class ParityNet(keras.Model):
    """A subclassed model: it declares no input, so nothing says its dtype."""

    def __init__(self):
        super().__init__()
        self.out = keras.layers.Dense(2, activation="softmax")

    def call(self, x):
        return self.out(keras.ops.cast(keras.ops.mod(x, 2), "float32"))


class NamedParityNet(ParityNet):
    def call(self, x):
        return super().call(x["ids"])


def test_a_subclassed_model_gets_integer_x_as_given():
    # It got float32 rows: ids above 2**24 rounded to even ones.
    clf = KerasClassifier(ParityNet, loss="sparse_categorical_crossentropy", optimizer="adam",
                          optimizer__learning_rate=0.1, epochs=40, random_state=0)
    clf.fit(IDS, PARITY)
    np.testing.assert_array_equal(clf.predict(IDS), PARITY)
    # The same ids as float64 (a merged column, a server's JSON numbers) reach
    # it as the fit's int64, not as float32 (every odd id rounded: a wrong class),
    # whatever came before: the traced predict took its first call's dtype and
    # failed on the other ("expected to be a float tensor but is a int64 tensor").
    many = np.repeat(IDS, 3, axis=0)
    for X in (IDS.astype(np.float64), IDS, many.astype(np.float64), many, IDS.astype(np.int32)):
        np.testing.assert_array_equal(clf.predict(X), PARITY if len(X) == len(IDS)
                                      else np.repeat(PARITY, 3))
    named = KerasClassifier(**{**clf.get_params(), "model": NamedParityNet})
    named.fit({"ids": IDS}, PARITY)
    np.testing.assert_array_equal(named.predict({"ids": IDS.astype(np.float64)}), PARITY)


def test_a_mapped_float_file_for_a_subclassed_model_fitted_on_integers_is_refused(tmp_path):
    # A mapped file is not cast whole: its floats reached the network as
    # float32, every odd id rounded (half the classes wrong, silently).
    clf = KerasClassifier(ParityNet, loss="sparse_categorical_crossentropy", optimizer="adam",
                          optimizer__learning_rate=0.1, epochs=40, random_state=0)
    clf.fit(IDS, PARITY)
    np.save(tmp_path / "ids.npy", IDS.astype(np.int32))  # other integers reach it exactly
    np.save(tmp_path / "floats.npy", IDS.astype(np.float64))
    np.save(tmp_path / "small.npy", IDS.astype(np.float64) - 2**24)  # float32 holds these
    np.testing.assert_array_equal(clf.predict(np.load(tmp_path / "ids.npy", mmap_mode="r")),
                                  PARITY)
    np.testing.assert_array_equal(clf.predict(np.load(tmp_path / "small.npy", mmap_mode="r")),
                                  PARITY)
    with pytest.raises(ValueError, match=r"X is mapped from a file of float64, but "
                                         r"KerasClassifier was fitted on int64"):
        clf.predict(np.load(tmp_path / "floats.npy", mmap_mode="r"))


def test_the_traced_predict_follows_the_rows_dtype():
    # An undeclared input takes integer rows as they come: a dtype other than
    # the traced call's is traced again instead of failing.
    from keraslearn._engine._predict import Predictor

    net = ParityNet()
    predict = Predictor(net)
    ints, floats = IDS[:4], IDS[:4].astype(np.float32)
    for X in (floats, floats, floats, ints, floats):
        np.testing.assert_allclose(predict(X), net(X), rtol=1e-6)


def test_rows_given_as_lists_of_integers_are_integers():
    clf = KerasClassifier(parity_model, loss="sparse_categorical_crossentropy",
                          optimizer="adam", optimizer__learning_rate=0.1, epochs=40,
                          random_state=0).fit(IDS.tolist(), PARITY)
    assert clf.X_dtype_ == np.int64
    np.testing.assert_array_equal(clf.predict(IDS.tolist()), PARITY)


def test_after_a_fit_on_floats_integer_x_is_taken_as_floats_again():
    # As before integers were kept: a batch of whole numbers (a CSV chunk read
    # as int64) continues a float32 fit, and predicts as its floats do.
    X = np.random.default_rng(0).integers(0, 9, size=(60, 3))
    y = X.sum(axis=1) / 10.0
    reg = KerasRegressor(dense, loss="mse", epochs=1, random_state=0).fit(X.astype("float32"), y)
    reg.partial_fit(X, y)
    assert reg.X_dtype_ == np.float32
    np.testing.assert_array_equal(reg.predict(X), reg.predict(X.astype("float32")))

    def named_input(meta):
        x = keras.Input((3,), name="x")
        return keras.Model(x, keras.layers.Dense(1)(x))

    named = KerasRegressor(named_input, loss="mse", epochs=1, random_state=0)
    named.fit(MultiInput(x=X.astype("float32")), y).partial_fit(MultiInput(x=X), y)
    assert named.X_dtype_ == {"x": np.float32}


def test_integers_after_a_float64_fit_reach_it_as_float64():
    # They went through float32 first: 2**24 + 1 became 2**24.
    def exact(meta):
        x = keras.Input((2,), dtype="float64")
        return keras.Model(x, keras.layers.Dense(1, kernel_initializer="ones",
                                                 dtype="float64", trainable=False)(x))

    reg = KerasRegressor(exact, loss="mse", epochs=1, random_state=0, warm_start=True)
    reg.fit(np.zeros((4, 2)), np.zeros(4))
    ids = np.array([[2**24 + 1, 0]])
    assert reg.predict(ids)[0] == 2**24 + 1 == reg.predict(ids.astype(float))[0]
    reg.partial_fit(ids, [0.0])
    assert reg.X_dtype_ == np.float64


def test_floats_that_may_hold_rounded_ids_are_refused_after_an_integer_fit(tmp_path,
                                                                            monkeypatch):
    clf = KerasClassifier(parity_model, loss="sparse_categorical_crossentropy", epochs=1,
                          random_state=0).fit(IDS, PARITY)
    # float32 cannot tell 2**24 + 1 from 2**24: the ids were rounded before predict.
    with pytest.raises(ValueError, match="cannot hold exactly"):
        clf.predict(IDS.astype(np.float32))
    np.testing.assert_array_equal(clf.predict_proba(IDS[:3] - 2**24 + 0.0),
                                  clf.predict_proba(IDS[:3] - 2**24))
    # A mapped file is checked block by block (of 64 KiB here), never read whole.
    import tracemalloc

    from keraslearn._engine import _input_dtypes, _inputs

    for module in (_inputs, _input_dtypes):
        monkeypatch.setattr(module, "CHECK_BLOCK_BYTES", 2**16)
    path = tmp_path / "ids.npy"
    np.save(path, np.arange(800_000, dtype=np.float64).reshape(-1, 1))  # 6.4 MB
    tracemalloc.start()
    try:
        validate_X(clf, np.load(path, mmap_mode="r"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.6e6, peak
    halves = np.lib.format.open_memmap(tmp_path / "halves.npy", "w+", np.float64, (10, 1))
    halves[:] = 0.5
    with pytest.raises(ValueError, match="cannot hold exactly"):
        validate_X(clf, np.load(tmp_path / "halves.npy", mmap_mode="r"))
