"""A long search stays lean: what keraslearn holds of a dropped estimator is
released, networks it builds itself keep the same variable names from fit to
fit (TensorFlow caches a kernel per variable name for the life of the
process), and a model the user still holds keeps working however many other
architectures are fitted after it."""

import gc
import weakref

import keras
import numpy as np
import pytest

from builders import NOT_CHAINED_METRIC, tiny_mlp
from keraslearn import KerasClassifier, MLPClassifier, MLPRegressor
from keraslearn._engine._trace_cache import MAX_ENTRIES, trace_cache

rng = np.random.default_rng(0)
X = rng.normal(size=(64, 4)).astype("float32")
y = (X[:, 0] + X[:, 1] > 0).astype(int)


def network(width):
    def build(meta):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(width, activation="relu"),
                                 keras.layers.Dense(1, activation="sigmoid")])
    return build


def _classifier(width, **kwargs):
    # A compiled metric the dense chain trainer does not compute: other plain
    # dense chains train through it, with no warm copy.
    return KerasClassifier(network(width), loss="binary_crossentropy", epochs=1, batch_size=32,
                           verbose=0, random_state=0, **NOT_CHAINED_METRIC, **kwargs)


def _variable_paths(model):
    return sorted(v.path for v in model.variables + model.optimizer.variables)


def test_dropped_estimators_and_evicted_warm_copies_are_released():
    trace_cache.clear()
    models = []
    for width in range(1, MAX_ENTRIES + 3):
        est = _classifier(width).fit(X, y)
        est.predict(X)
        models.append(weakref.ref(est.model_))
        if width == 1:
            [first_warm] = [weakref.ref(entry.model) for entry in trace_cache._entries.values()]
        del est
    gc.collect()
    assert len(trace_cache) == MAX_ENTRIES
    assert all(ref() is None for ref in models)
    assert first_warm() is None  # evicted: its variables and traced functions go with it


@pytest.mark.parametrize("make", [
    lambda: MLPClassifier(hidden_layer_sizes=(3, 2), max_iter=1, random_state=0),
    lambda: MLPRegressor(hidden_layer_sizes=(3,), max_iter=1, batch_normalization=True,
                         solver="sgd"),
], ids=["classifier", "regressor-batch-normalization"])
def test_refits_of_a_ready_network_reuse_a_few_variable_names(make):
    est = make()
    target = y if isinstance(est, MLPClassifier) else X[:, 0]
    names = set()
    gc.collect()  # networks of earlier tests' estimators, not collected yet, hold names
    for _ in range(5):  # a refit replaces the network, which is released
        est.fit(X, target)
        names.add(tuple(_variable_paths(est.model_)))
        gc.collect()
    # The previous network is alive while the next is built: two names in turn.
    assert len(names) == 2


def test_two_live_ready_networks_sit_in_one_keras_model():
    # Names are unique among the networks alive, as a Keras model needs them.
    a = MLPClassifier(hidden_layer_sizes=(5,), max_iter=2, random_state=0).fit(X, y)
    b = MLPClassifier(hidden_layer_sizes=(6,), max_iter=2, random_state=1).fit(X, y)
    assert a.model_.name != b.model_.name
    inputs = keras.Input((4,))
    both = keras.Model(inputs, keras.layers.Average()([a.model_(inputs), b.model_(inputs)]))
    expected = (a.model_.predict(X, verbose=0) + b.model_.predict(X, verbose=0)) / 2
    np.testing.assert_allclose(both.predict(X, verbose=0), expected, rtol=1e-6)


def test_an_optimizer_made_from_a_name_is_named_after_its_class():
    first = _classifier(2, optimizer="adam").fit(X, y).model_.optimizer
    second = _classifier(2, optimizer="adam").fit(X, y).model_.optimizer
    assert first.name == second.name == "adam"
    named = _classifier(2, optimizer=keras.optimizers.SGD, optimizer__name="mine").fit(X, y)
    assert named.model_.optimizer.name == "mine"


def test_a_model_the_user_holds_predicts_the_same_after_many_other_fits():
    kept = _classifier(5, optimizer="adam").fit(X, y)
    mlp = MLPClassifier(hidden_layer_sizes=(5,), max_iter=2, random_state=0).fit(X, y)
    before = kept.predict_proba(X), kept.model_.predict(X, verbose=0), mlp.predict_proba(X)
    for width in range(6, 6 + MAX_ENTRIES + 2):  # every warm copy of before is evicted
        _classifier(width).fit(X, y)
        MLPClassifier(hidden_layer_sizes=(5,), max_iter=1).fit(X, y)  # names reused
    after = kept.predict_proba(X), kept.model_.predict(X, verbose=0), mlp.predict_proba(X)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    # Both still train: a further fit continues from their weights.
    kept.partial_fit(X, y)
    mlp.partial_fit(X, y)
    assert np.isfinite(kept.predict_proba(X)).all() and np.isfinite(mlp.predict_proba(X)).all()


def test_an_optimizer_class_without_a_name_argument_is_not_given_one():
    class PlainSGD(keras.optimizers.SGD):
        def __init__(self, learning_rate=0.01):
            super().__init__(learning_rate=learning_rate)

    clf = KerasClassifier(tiny_mlp, optimizer=PlainSGD, optimizer__learning_rate=0.05,
                          epochs=1, random_state=0).fit(X, y)
    assert isinstance(clf.model_.optimizer, PlainSGD)
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.05)
