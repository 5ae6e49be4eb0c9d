"""Models whose class has steps of its own predict as Keras' predict does."""

import keras
import numpy as np
import pytest
from sklearn.metrics import r2_score

from keraslearn import KerasRegressor


class ClippedPredictions(keras.Model):
    """Predictions clipped at 0 by the model's own predict_step (training
    and ``model(x)`` are left as they are)."""

    def predict_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        return keras.ops.maximum(self(x, training=False), 0.0)


def _build(meta):
    inputs = keras.Input(meta["X_shape_"][1:])
    outputs = keras.layers.Dense(1)(keras.layers.Dense(8, activation="relu")(inputs))
    return ClippedPredictions(inputs, outputs)


def test_predict_runs_the_model_s_own_predict_step():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)).astype("float32")
    y = X @ np.array([1.0, -2.0, 0.5], dtype="float32")
    reg = KerasRegressor(_build, loss="mse", epochs=2, random_state=0).fit(X, y)
    raw = reg.model_(X, training=False).numpy().ravel()
    assert raw.min() < 0  # the clipping is what is checked
    expected = reg.model_.predict(X, verbose=0).ravel()
    # Called eagerly first, then through one traced function; and per chunk.
    for _ in range(3):
        np.testing.assert_allclose(reg.predict(X), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(reg.predict(X[:1]), expected[:1], rtol=1e-6, atol=1e-6)
    reg.set_params(predict__batch_size=64)
    np.testing.assert_allclose(reg.predict(X), expected, rtol=1e-6, atol=1e-6)
    # Scored on the clipped predictions too.
    np.testing.assert_allclose(reg.score(X, y), r2_score(y, expected), rtol=1e-5)


class JoinedInputs(keras.Model):
    """A subclassed model of named inputs, built at its first call."""

    def __init__(self, units):
        super().__init__()
        self.hidden = keras.layers.Dense(4, activation="relu")
        self.out = keras.layers.Dense(units)

    def call(self, inputs):
        return self.out(self.hidden(keras.ops.concatenate([inputs["a"], inputs["b"]], axis=-1)))


def test_a_subclassed_model_of_named_inputs_is_probed_with_them():
    # Before, it was not called before its outputs were read: "0 outputs".
    rng = np.random.default_rng(0)
    X = {"a": rng.normal(size=(40, 2)), "b": rng.normal(size=(40, 1))}
    y = X["a"][:, 0] - X["b"][:, 0]
    reg = KerasRegressor(lambda meta: JoinedInputs(meta["n_outputs_"]), loss="mse", epochs=2,
                         random_state=0).fit(X, y)
    expected = reg.model_.predict({k: v.astype("float32") for k, v in X.items()}, verbose=0)
    np.testing.assert_allclose(reg.predict(X), expected.ravel(), rtol=1e-5, atol=1e-6)


class RecordedFit(keras.Model):
    """A model class overriding fit, recording what it is given."""

    given = []

    def fit(self, *args, **kwargs):
        RecordedFit.given.append((args, kwargs))
        return super().fit(*args, **kwargs)


def test_a_fit_the_model_class_overrides_gets_a_dataset_as_the_readme_says():
    # README, "Documented differences from scikeras": scikeras passes arrays.
    import tensorflow as tf

    def build(meta):
        inputs = keras.Input(meta["X_shape_"][1:])
        return RecordedFit(inputs, keras.layers.Dense(1)(inputs))

    X = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    RecordedFit.given.clear()
    reg = KerasRegressor(build, loss="mse", epochs=2, random_state=0).fit(X, X[:, 0])
    (args, kwargs), = RecordedFit.given
    assert isinstance(args[0], tf.data.Dataset) and "y" not in kwargs
    assert "sample_weight" not in kwargs and len(reg.history_["loss"]) == 2


class _Ids(keras.Model):
    """A subclassed model of integer ids, whose call needs ``training`` and
    returns a dict; its ``**kwargs`` go to Keras' base."""

    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.table = keras.layers.Embedding(50, 4)
        self.out = keras.layers.Dense(units, activation="softmax")

    def call(self, ids, training):
        return {"proba": self.out(keras.ops.mean(self.table(ids), axis=1))}


def test_a_subclassed_model_is_probed_as_keras_fit_calls_it():
    # Found in an audit: its output was probed on float32 zeros (tf.gather refused
    # them), without training= (a required argument), and a dict of one output was
    # counted as no tensor ("'dict' object has no attribute 'shape'"); a keras.Model
    # class given as model got meta, compile_kwargs and params in its **kwargs.
    from keraslearn import KerasClassifier

    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, size=(60, 3))
    y = ids[:, 0] % 2
    keras.utils.set_random_seed(0)
    plain = _Ids(name="ids")
    plain.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    plain.fit(ids, y, epochs=2, batch_size=32, shuffle=False, verbose=0)
    clf = KerasClassifier(_Ids, model__name="ids", loss="sparse_categorical_crossentropy",
                          optimizer="adam", epochs=2, batch_size=32, shuffle=False,
                          random_state=0).fit(ids, y)
    assert clf.model_.name == "ids" and clf.X_dtype_ == np.int64
    # Its parameters given unrouted reach it too; one it does not take is named by Keras.
    three = ids[:, 0] % 3
    assert KerasClassifier(_Ids, units=3, epochs=1).initialize(ids, three).model_.units == 3
    with pytest.raises(ValueError, match=r"Unrecognized keyword arguments passed to _Ids: "
                                         r"\{'unist': 3\}"):
        KerasClassifier(_Ids, unist=3, epochs=1).fit(ids, y)
    expected = plain.predict(ids, verbose=0)["proba"]
    assert np.abs(expected - 0.5).max() > 1e-3  # trained
    np.testing.assert_allclose(clf.predict_proba(ids), expected, rtol=1e-5, atol=1e-6)
