"""Integer and boolean X reach a wrapper's model as given, as in scikeras:
ids above 2**24 were rounded by a cast to float32 before the network saw
them, so an ``int64`` input got other ids than the user's."""

import keras
import numpy as np
import pandas as pd
import pytest

from keraslearn import KerasClassifier, KerasRegressor, MLPClassifier, MultiInput

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
    clf = KerasClassifier(dense, loss="binary_crossentropy", epochs=1, random_state=0)
    assert clf.fit(ints, PARITY).X_dtype_ == np.int64
    mixed = ints.assign(b=0.5)
    assert KerasClassifier(**clf.get_params()).fit(mixed, PARITY).X_dtype_ == np.float64


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
