"""Small predictions: the NumPy path gives what TensorFlow gives, from a
snapshot only for a network no other code holds, and otherwise from the
network as it is at each call, whatever code changed it."""

import copy
import pickle

import keras
import numpy as np
import pytest
from scipy import sparse
from scipy.special import expit, softmax

import keraslearn
from keraslearn import KerasClassifier, KerasRegressor, MLPClassifier, MLPRegressor
from keraslearn._engine import _forward

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(80, 5)).astype("float32")
Y_BINARY = (X[:, 0] + X[:, 1] > 0).astype(int)
Y_MULTI = np.digitize(X[:, 0], [-0.5, 0.5])
Y_LABELS = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 2] > 0]).astype(int)
Y_REG = np.column_stack([X[:, 0] * 2 + X[:, 1], X[:, 2] - X[:, 3]])
SMALL = {"hidden_layer_sizes": (6,), "max_iter": 3, "random_state": 0}


def _forward_of(est, X):
    return est._small_forward(X, est._predict_kwargs(), est._prediction_callbacks())


def _uses_numpy(est, X):
    return _forward_of(est, X) is not None


def _uses_a_snapshot(est, X):
    forward = _forward_of(est, X)
    return forward is not None and forward is _forward._SNAPSHOTS.get(est.__dict__["model_"])


def _outputs(est, X):
    if hasattr(est, "predict_proba"):
        return est.predict(X), est.predict_proba(X)
    return (est.predict(X),)


def _assert_same_as_tensorflow(est, X):
    assert _uses_numpy(est, X)
    fast = _outputs(est, X)
    with keraslearn.config_context(fast_small_predictions=False):
        assert not _uses_numpy(est, X)
        plain = _outputs(est, X)
    for a, b in zip(fast, plain):
        if a.dtype.kind in "iub":  # labels
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    return fast


CASES = {
    "binary, relu": (MLPClassifier, Y_BINARY, {}),
    "multiclass, tanh, dropout": (MLPClassifier, Y_MULTI, {"activation": "tanh",
                                                            "dropout": 0.3}),
    "multilabel, logistic": (MLPClassifier, Y_LABELS, {"activation": "logistic"}),
    "regression, identity, batch norm": (MLPRegressor, Y_REG, {"activation": "identity",
                                                               "batch_normalization": True}),
    "regression, two layers": (MLPRegressor, Y_REG[:, 0], {"hidden_layer_sizes": (6, 4)}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_numpy_predictions_equal_tensorflow_ones(name):
    cls, y, params = CASES[name]
    est = cls(**{**SMALL, **params}).fit(X, y)
    for rows in (1, 100):
        x = RNG.normal(size=(rows, 5)).astype("float32")
        _assert_same_as_tensorflow(est, x)
        _assert_same_as_tensorflow(est, x.astype("float64"))
    # Sparse rows, of any number (text features: TensorFlow densifies them).
    for rows in (1, 2500):
        x = sparse.random(rows, 5, density=0.4, format="csr", random_state=rows)
        _assert_same_as_tensorflow(est, x)
    # and what the network itself outputs (reading model_ ends the snapshot:
    # the network is read at every call from then on)
    x = X[:7]
    assert _uses_a_snapshot(est, x)
    raw = est._raw_predict(x)
    np.testing.assert_allclose(raw, est.model_(x, training=False), rtol=1e-5, atol=1e-6)
    assert _uses_numpy(est, x) and not _uses_a_snapshot(est, x)
    _assert_same_as_tensorflow(est, x)


def test_weights_changed_through_model_are_seen():
    est = MLPClassifier(**SMALL).fit(X, Y_MULTI)
    x = X[:3]
    before = est.predict_proba(x)
    network = est.model_
    network.set_weights([w * 0.5 for w in network.get_weights()])
    after = est.predict_proba(x)
    assert not np.allclose(after, before)
    # (the network outputs logits, to which predict_proba applies the softmax)
    np.testing.assert_allclose(after, softmax(est.model_(x, training=False), axis=1),
                               rtol=1e-5, atol=1e-6)
    # a later partial_fit trains the same network: still read at every call,
    # since the reference taken above may change it again
    est.partial_fit(X, Y_MULTI)
    assert _uses_numpy(est, x) and not _uses_a_snapshot(est, x)
    network.set_weights([w * 0.0 for w in network.get_weights()])
    np.testing.assert_allclose(est.predict_proba(x), 1 / 3, rtol=1e-6)
    # a layer's activation changed in place is seen too
    network.set_weights([RNG.normal(size=w.shape) for w in network.get_weights()])
    network.layers[0].activation = keras.activations.tanh
    np.testing.assert_allclose(_assert_same_as_tensorflow(est, x)[1],
                               softmax(network(x, training=False), axis=1), rtol=1e-5,
                               atol=1e-6)


def test_a_network_the_user_sets_is_theirs():
    est = MLPRegressor(**SMALL).fit(X, Y_REG)
    assert _uses_a_snapshot(est, X[:1])
    network = est.__dict__["model_"]
    est.model_ = network  # e.g. a network of their own, kept
    assert _uses_numpy(est, X[:1]) and not _uses_a_snapshot(est, X[:1])
    network.layers[-1].bias.assign([5.0, -5.0])
    np.testing.assert_allclose(_assert_same_as_tensorflow(est, X[:3])[0],
                               network(X[:3], training=False), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda seed: MLPRegressor(**{**SMALL, "random_state": seed}).fit(X, Y_REG),
    lambda seed: KerasRegressor(_functional, loss="mse", epochs=1, random_state=seed).fit(
        X, Y_REG),
], ids=["ready", "wrapper"])
def test_another_network_set_as_model_predicts_every_row(make):
    # Small rows (NumPy) and many rows (TensorFlow) alike come from the new
    # network; TensorFlow's path used to keep calling the old one.
    est, other = make(0), make(1).model_
    est.predict(np.vstack([X] * 13))  # TensorFlow's path made for the old network
    est.model_ = other
    many = np.vstack([X] * 13)
    expected = np.asarray(other(many, training=False))
    np.testing.assert_allclose(est.predict(many), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(est.predict(X[:3]), expected[:3], rtol=1e-5, atol=1e-6)


def test_coefs_set_while_another_thread_predicts_are_what_it_predicts_with(monkeypatch):
    # A few rows predicted (by another thread) as coefs_ is set: a snapshot
    # taken between dropping the old one and assigning the weights was kept.
    from keraslearn.neural_network import _dense

    est = MLPRegressor(**SMALL).fit(X, Y_REG)
    forget = _dense.forget

    def forget_then_predict(model):
        forget(model)
        est.predict(X[:3])

    monkeypatch.setattr(_dense, "forget", forget_then_predict)
    est.coefs_ = [2 * w for w in est.coefs_]
    monkeypatch.undo()
    _assert_same_as_tensorflow(est, X[:3])


def test_partial_fit_warm_start_and_refit_take_a_new_snapshot():
    est = MLPClassifier(**SMALL, warm_start=True).fit(X, Y_BINARY)
    x = X[:4]
    first = _assert_same_as_tensorflow(est, x)[1]
    est.partial_fit(X, Y_BINARY)
    second = _assert_same_as_tensorflow(est, x)[1]
    assert not np.allclose(first, second)
    est.fit(X, Y_BINARY)  # warm start: the same network, trained further
    third = _assert_same_as_tensorflow(est, x)[1]
    assert not np.allclose(second, third)
    est.set_params(warm_start=False, hidden_layer_sizes=(3,)).fit(X, Y_BINARY)
    _assert_same_as_tensorflow(est, x)


def test_a_copy_sharing_the_network_sees_the_other_train_it():
    est = MLPRegressor(**SMALL).fit(X, Y_REG)
    twin = copy.copy(est)  # the same network object
    x = X[:2]
    before = twin.predict(x)
    est.partial_fit(X, Y_REG)
    after = _assert_same_as_tensorflow(twin, x)[0]
    assert not np.allclose(before, after)


def test_a_loaded_estimator_predicts_with_numpy_from_its_own_weights(tmp_path):
    est = MLPClassifier(**SMALL).fit(X, Y_MULTI)
    x = X[:5]
    expected = est.predict_proba(x)
    for loaded in (pickle.loads(pickle.dumps(est)),):
        got = _assert_same_as_tensorflow(loaded, x)[1]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    keraslearn.save(est, tmp_path / "est")
    loaded = keraslearn.load(tmp_path / "est")
    np.testing.assert_allclose(_assert_same_as_tensorflow(loaded, x)[1], expected,
                               rtol=1e-5, atol=1e-6)


class KeepsTheNetwork(keras.callbacks.Callback):
    pass


def test_a_callback_of_the_users_hands_the_network_out():
    for est in (MLPClassifier(**SMALL, callbacks=[KeepsTheNetwork()]).fit(X, Y_BINARY),
                MLPClassifier(**SMALL).fit(X, Y_BINARY, callbacks=[kept := KeepsTheNetwork()])):
        assert _uses_numpy(est, X[:2]) and not _uses_a_snapshot(est, X[:2])
    # what the callback kept, changed after the fit, is what predicts (a fit
    # training the network itself: a warm copy's fit gives callbacks the copy)
    with keraslearn.config_context(share_traced_functions=False):
        est = MLPClassifier(**SMALL).fit(X, Y_BINARY, callbacks=[kept := KeepsTheNetwork()])
    assert kept.model is est.__dict__["model_"]
    kept.model.layers[0].kernel.assign(np.zeros((5, 6), "float32"))
    np.testing.assert_allclose(_assert_same_as_tensorflow(est, X[:2])[1][:, 1:],
                               expit(kept.model(X[:2], training=False)), rtol=1e-5, atol=1e-6)


def test_large_inputs_are_predicted_by_tensorflow():
    est = MLPRegressor(**SMALL).fit(X, Y_REG[:, 0])
    big = RNG.normal(size=(1025, 5)).astype("float32")
    assert not _uses_numpy(est, big)
    assert _uses_numpy(est, big[:1024])
    assert _uses_numpy(est, sparse.csr_matrix(big))  # its product is scipy's: any number


# Wrappers: the user's builder may keep the network, so it is read at every call.
KEPT = []


def _sequential(meta):
    model = keras.Sequential([keras.Input((meta["n_features_in_"],)),
                              keras.layers.Dense(6, "relu"), keras.layers.Dropout(0.2),
                              keras.layers.Dense(1, "sigmoid")])
    KEPT.append(model)
    return model


def _functional(meta):
    inputs = keras.Input((meta["n_features_in_"],))
    hidden = keras.layers.Dense(6, "tanh")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    KEPT.append(model)
    return model


def test_a_wrapper_predicts_with_numpy_from_the_network_as_it_is_now():
    clf = KerasClassifier(_sequential, loss="binary_crossentropy", epochs=2, verbose=0,
                          random_state=0).fit(X, Y_BINARY)
    x = X[:3]
    assert _uses_numpy(clf, x) and not _uses_a_snapshot(clf, x)
    for rows in (1, 100):
        _assert_same_as_tensorflow(clf, RNG.normal(size=(rows, 5)).astype("float32"))
    kept = KEPT[-1]  # the builder's own reference: never seen by keraslearn
    assert kept is clf.__dict__["model_"]
    kept.layers[-1].bias.assign([-50.0])
    assert (clf.predict(x) == clf.classes_[0]).all()
    kept.layers[-1].bias.assign([50.0])
    assert (clf.predict(x) == clf.classes_[1]).all()
    _assert_same_as_tensorflow(clf, x)

    reg = KerasRegressor(_functional, loss="mse", epochs=2, verbose=0,
                         random_state=0).fit(X, Y_REG)
    assert _uses_numpy(reg, x)
    got = _assert_same_as_tensorflow(reg, x)[0]
    np.testing.assert_allclose(got, KEPT[-1](x, training=False), rtol=1e-5, atol=1e-6)
    KEPT[-1].set_weights([w + 1.0 for w in KEPT[-1].get_weights()])
    np.testing.assert_allclose(_assert_same_as_tensorflow(reg, x)[0],
                               KEPT[-1](x, training=False), rtol=1e-5, atol=1e-6)
    KEPT.clear()


def test_a_pretrained_network_given_to_initialize_stays_the_users():
    # scikeras' pattern: initialize() takes the model itself, which the user holds.
    pretrained = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, "relu"),
                                   keras.layers.Dense(1, "sigmoid")])
    pretrained.compile(loss="binary_crossentropy")
    clf = KerasClassifier(pretrained, verbose=0).initialize(X, Y_BINARY)
    assert clf.__dict__["model_"] is pretrained and _uses_numpy(clf, X[:4])
    for bias in (-30.0, 30.0):
        pretrained.layers[-1].bias.assign([bias])
        proba = _assert_same_as_tensorflow(clf, X[:4])[1]
        np.testing.assert_allclose(proba[:, 1:], pretrained(X[:4], training=False),
                                   rtol=1e-5, atol=1e-6)
        assert (proba[:, 1] > 0.5).all() == (bias > 0)


def test_networks_numpy_cannot_run_are_predicted_by_tensorflow():
    def noisy(meta):
        return keras.Sequential([keras.Input((5,)), keras.layers.GaussianNoise(0.1),
                                 keras.layers.Dense(1, "sigmoid")])

    def two_inputs_in_one(meta):  # a functional model that is not a chain
        inputs = keras.Input((5,))
        hidden = keras.layers.Dense(4, "relu")(inputs)
        both = keras.layers.Concatenate()([inputs, hidden])
        return keras.Model(inputs, keras.layers.Dense(1, "sigmoid")(both))

    def custom_activation(meta):
        return keras.Sequential([keras.Input((5,)),
                                 keras.layers.Dense(1, activation=lambda z: keras.ops.sigmoid(z))])

    for build in (noisy, two_inputs_in_one, custom_activation):
        clf = KerasClassifier(build, loss="binary_crossentropy", epochs=1, verbose=0,
                              random_state=0).fit(X, Y_BINARY)
        assert not _uses_numpy(clf, X[:1]), build.__name__
        assert clf.predict_proba(X[:1]).shape == (1, 2)


def test_a_network_whose_outputs_changed_since_its_fit_is_told_so_at_predict():
    # After model_.pop(), a regressor flattened its (n, 4) hidden outputs into
    # 4n "predictions"; a classifier failed with an IndexError.
    def build(meta, units):
        return keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                                 keras.layers.Dense(units, activation=None if units == 1
                                                    else "softmax")])

    reg = KerasRegressor(build, model__units=1, loss="mse", epochs=1, random_state=0)
    clf = KerasClassifier(build, model__units=3, epochs=1, random_state=0)
    mlp = MLPRegressor(hidden_layer_sizes=(4,), max_iter=1, random_state=0)
    y3 = np.arange(len(X)) % 3
    with pytest.warns(Warning):  # (MLPRegressor: one iteration, not converged)
        mlp.fit(X, Y_REG[:, 0])
    for est in (reg.fit(X, Y_REG[:, 0]), clf.fit(X, y3), mlp):
        est.model_.pop()
        for rows in (X[:2], np.tile(X, (50, 1))):  # (a few rows, NumPy's; many, TensorFlow's)
            with pytest.raises(ValueError, match=r"The network outputs 4 value\(s\) a sample, "
                                                 r"but it was fitted on (1 target|3 classes)"):
                est.predict(rows)


def test_more_rows_follow_layers_changed_outside_keraslearn_as_a_few_rows_do():
    # TensorFlow's traced function kept the layers it was traced with: after an
    # activation set, or model_.pop() and add, many rows were answered by the old
    # network, a few rows (the NumPy path) by the new one.
    def build():
        return keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="relu"),
                                 keras.layers.Dense(2)])

    many = np.tile(X, (_forward.SMALL_ROWS // len(X) + 1, 1))
    est = KerasRegressor(build, loss="mse", epochs=1, random_state=0).fit(X, Y_REG)
    for _ in range(3):  # two eager calls, then the traced function
        est.predict(many)
    network = est.model_
    network.layers[0].activation = keras.activations.tanh
    np.testing.assert_allclose(est.predict(many), network(many, training=False), rtol=1e-5,
                               atol=1e-6)
    network.pop()
    network.add(keras.layers.Dense(2, activation="sigmoid"))
    for rows in (many, many[:3]):
        np.testing.assert_allclose(est.predict(rows), network(rows, training=False), rtol=1e-5,
                                   atol=1e-6)
    # A layer a wrapper layer runs (TimeDistributed's) was not looked into.
    sequences = many.reshape(len(many), 1, 5)
    wrapped = keras.layers.TimeDistributed(keras.layers.Dense(4, activation="relu"))
    est = KerasRegressor(lambda: keras.Sequential([
        keras.Input((1, 5)), wrapped, keras.layers.Flatten(), keras.layers.Dense(2)]),
        loss="mse", epochs=1, random_state=0).fit(sequences[:80], Y_REG)
    for _ in range(3):
        est.predict(sequences)
    wrapped.layer.activation = keras.activations.tanh
    np.testing.assert_allclose(est.predict(sequences), est.model_(sequences, training=False),
                               rtol=1e-5, atol=1e-6)


def test_outputs_overflowing_the_float_type_are_as_tensorflow_s_without_a_warning():
    # found in an audit: the NumPy pass warned "overflow encountered in exp" where
    # TensorFlow's path gives the same infinities silently
    import warnings

    reg = MLPRegressor(hidden_layer_sizes=(), loss="poisson", max_iter=2,
                       random_state=0).fit(np.abs(X), np.ones(len(X)))
    reg.coefs_ = [np.full((5, 1), 50.0)]
    rows = np.abs(X[:20])
    with keraslearn.config_context(fast_small_predictions=False):
        expected = reg.predict(rows)
    assert np.isinf(expected).any() and np.isfinite(expected).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for given in (rows, sparse.csr_matrix(rows)):
            np.testing.assert_allclose(reg.predict(given), expected, rtol=1e-6)
