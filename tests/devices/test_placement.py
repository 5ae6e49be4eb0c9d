"""``device`` and ``distribute`` on every estimator, in this process (one CPU
device): ordinary parameters, checked before TensorFlow trains, honoured by
fit and predict. Several devices are tested in test_logical_devices.py."""

import functools
import json
import pickle

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

import keraslearn
from builders import NOT_CHAINED_METRIC, tiny_mlp
from keraslearn import (
    ImageClassifier,
    KerasClassifier,
    KerasRegressor,
    MLPClassifier,
    MLPRegressor,
)
from keraslearn._engine._dense_chain import dense_chains
from keraslearn._engine._trace_cache import trace_cache
from keraslearn.wrappers import BaseWrapper

X, y = make_classification(n_samples=64, n_features=6, random_state=0)
X = X.astype("float32")
CPU = "/device:CPU:0"

ESTIMATORS = [KerasClassifier, KerasRegressor, BaseWrapper, MLPClassifier, MLPRegressor,
              ImageClassifier]


# Two epochs are far from convergence, on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _wrapper(**params):
    return KerasClassifier(tiny_mlp, **{"epochs": 2, "batch_size": 16, "random_state": 0,
                                        **params})


def _ready(**params):
    return MLPClassifier(**{"hidden_layer_sizes": (8,), "max_iter": 2, "batch_size": 16,
                            "random_state": 0, **params})


MAKERS = pytest.mark.parametrize("make", [_wrapper, _ready], ids=["wrapper", "ready"])


def _is_distributed(model):
    return any(isinstance(v.value, tf.distribute.DistributedValues) for v in model.weights)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_estimator_takes_device_and_distribute(cls):
    est = cls()
    assert est.get_params()["device"] == "auto"
    assert est.get_params()["distribute"] is None
    strategy = functools.partial(tf.distribute.MirroredStrategy, devices=["/cpu:0"])
    est.set_params(device="cpu:0", distribute=strategy)
    for copy in (clone(est), pickle.loads(pickle.dumps(est))):
        assert copy.get_params()["device"] == "cpu:0"
        assert copy.get_params()["distribute"].func is tf.distribute.MirroredStrategy
        assert copy.get_params()["distribute"].keywords == {"devices": ["/cpu:0"]}


@MAKERS
def test_fit_builds_and_trains_on_the_device(make):
    est = make(device="cpu").fit(X, y)
    assert all(v.value.device.endswith("CPU:0") for v in est.model_.weights)
    auto = make().fit(X, y)
    np.testing.assert_allclose(est.predict_proba(X), auto.predict_proba(X), rtol=1e-6)


def test_grid_search_sets_the_device_of_each_fit():
    search = GridSearchCV(_wrapper(), {"device": ["cpu", "/CPU:0", None]}, cv=2).fit(X, y)
    assert list(search.cv_results_["param_device"]) == ["cpu", "/CPU:0", None]
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] == scores[1] == scores[2]  # the same device, the same seed


def test_traced_functions_are_bound_to_the_device():
    trace_cache.clear()
    dense_chains.clear()
    _wrapper(device="/CPU:0", random_state=None, **NOT_CHAINED_METRIC).fit(X, y)
    assert [key[-1] for key in trace_cache.keys()] == [CPU]
    # A plain dense chain (no metric it does not compute) trains through a function of its own.
    _wrapper(device="/CPU:0", random_state=None).fit(X, y)
    [key] = dense_chains._traces
    assert json.loads(key)[-1] == CPU


@pytest.mark.parametrize("device, message", [
    ("cpu:7", r"device='cpu:7' is not available here; devices: \['/device:CPU:0'"),
    ("gpu:99", r"device='gpu:99' is not available here.*devices: \['/device:CPU:0'"),
    ("/job:worker/device:GPU:0", "not a TensorFlow device name of this process"),
    ("nowhere", r"device='nowhere' is not a TensorFlow device name.*'gpu:N'"),
])
@MAKERS
def test_a_device_that_does_not_exist_is_refused_before_training(make, device, message):
    built = []

    def build(meta):
        built.append(1)
        return tiny_mlp(meta)

    est = make(device=device)
    if isinstance(est, KerasClassifier):
        est.set_params(model=build)
    with pytest.raises(ValueError, match=message):
        est.fit(X, y)
    assert not built and not hasattr(est, "model_")


def test_a_device_of_the_wrong_type_is_refused():
    with pytest.raises(TypeError, match="device must be a str"):
        _wrapper(device=0).fit(X, y)
    with pytest.raises(TypeError, match="'device' parameter of MLPClassifier"):
        _ready(device=0).fit(X, y)


@pytest.mark.parametrize("distribute, error, message", [
    ("mirorred", ValueError, "is not a strategy.*Did you mean 'mirrored'"),
    ([], ValueError, "names no device"),
    (["cpu", "/CPU:0"], ValueError, "names a device twice"),
    (["cpu:3"], ValueError, r"distribute=\['cpu:3'\]: device='cpu:3' is not available here"),
    # named as distribute's (the message named the device parameter)
    ([0, 1], TypeError, r"distribute=\[0, 1\]: device must be a str \(.*\), got 0\."),
    (["cuda"], ValueError, r"distribute=\['cuda'\]: device='cuda' is not a TensorFlow device name"),
    (lambda: "mirrored", TypeError, "returned str, not a tf.distribute.Strategy"),
    (3, TypeError, "distribute must be None, 'mirrored'"),
    (tf.distribute.OneDeviceStrategy("/cpu:0"), TypeError,
     r"A strategy itself cannot be cloned .*distribute=lambda: strategy"),
])
@MAKERS
def test_a_wrong_distribute_is_refused_before_training(make, distribute, error, message):
    est = make(distribute=distribute)
    with pytest.raises(error, match=message):
        est.fit(X, y)
    assert not hasattr(est, "model_")


def test_prediction_runs_on_the_auto_device_where_the_device_does_not_exist():
    # A model fitted elsewhere on "gpu:1" predicts here (fit alone insists).
    est = _wrapper(device="cpu").fit(X, y)
    expected = est.predict_proba(X)
    est.set_params(device="gpu:1")
    np.testing.assert_array_equal(est.predict_proba(X), expected)
    with pytest.raises(ValueError, match="not available"):
        est.fit(X, y)


@MAKERS
def test_a_mirrored_fit_leaves_a_plain_network_that_predicts_and_pickles(make):
    # One CPU device: a mirrored strategy of one replica, the same computation
    # (rows in order: under a strategy a shuffle takes another seeded order).
    plain = make(shuffle=False).fit(X, y)
    est = make(distribute="mirrored", shuffle=False).fit(X, y)
    assert not _is_distributed(est.model_)
    np.testing.assert_allclose(est.predict_proba(X), plain.predict_proba(X), rtol=1e-5,
                               atol=1e-6)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))


def test_a_mirrored_fit_runs_under_the_strategy_the_callable_returns():
    made = []

    class Replicas(keras.callbacks.Callback):
        seen = []

        def on_train_begin(self, logs=None):
            Replicas.seen.append(self.model.distribute_strategy)

    def strategy():
        made.append(tf.distribute.MirroredStrategy(["/cpu:0"]))
        return made[-1]

    est = _wrapper(distribute=strategy, callbacks=[Replicas()]).fit(X, y)
    assert len(made) == 1 and Replicas.seen == made
    assert not _is_distributed(est.model_)


def test_one_replica_strategies_take_a_sparse_input_and_their_own_scope():
    # (found in review) A sparse keras.Input fails in TensorFlow over several
    # replicas only: refused under any strategy, it no longer trained with
    # distribute="mirrored" on a one-device machine; and a distribute= giving the
    # strategy whose scope the fit runs in was refused as "another strategy".
    from scipy import sparse

    def sparse_input(meta):
        inputs = keras.Input((meta["n_features_in_"],), sparse=True)
        return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))

    rows = sparse.csr_matrix(X)
    for where in ("mirrored", lambda: tf.distribute.OneDeviceStrategy("/cpu:0")):
        est = KerasClassifier(sparse_input, epochs=2, batch_size=16, random_state=0,
                              distribute=where).fit(rows, y)
        assert len(est.history_["loss"]) == 2
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        est = _wrapper(distribute=lambda: strategy).fit(X, y)
        assert len(est.history_["loss"]) == 2
        with pytest.raises(ValueError, match="distribute= gives another strategy"):
            _wrapper(distribute=lambda: tf.distribute.MirroredStrategy(["/cpu:0"])).fit(X, y)


@MAKERS
def test_a_seeded_fit_under_a_strategy_repeats(make):
    first = make(distribute="mirrored").fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(make(distribute="mirrored").fit(X, y).predict_proba(X), first)


@MAKERS
def test_partial_fit_continues_under_a_strategy(make):
    est = make(distribute=["cpu"], shuffle=False).fit(X, y)
    steps = int(est.model_.optimizer.iterations)
    est.partial_fit(X, y)
    # partial_fit continues the optimizer state (one epoch: 4 more steps).
    assert int(est.model_.optimizer.iterations) == steps + 4
    assert not _is_distributed(est.model_)
    reference = make(shuffle=False).fit(X, y).partial_fit(X, y)
    np.testing.assert_allclose(est.predict_proba(X), reference.predict_proba(X), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("n_train, batch, auto, chosen", [
    (101, 100, True, 98), (33, 32, True, 30), (17, 8, True, 6), (96, 32, True, 32),
    (17, 8, False, None), (33, 32, False, None), (18, 8, False, 8), (8, 8, False, 8),
])
def test_no_replica_is_left_without_rows_in_a_last_batch(n_train, batch, auto, chosen):
    # A last batch of 1 row over 2 replicas aborted the process in an image
    # network's training (oneDNN's max-pooling gradient on a replica of no rows).
    from types import SimpleNamespace

    from keraslearn._engine._distribute import Placement
    from keraslearn._engine._plan import NEW, FitPlan

    plan = FitPlan(mode="fit", network=NEW, train=True, epochs=1, batch_size=batch,
                   validation_batch_size=batch, shuffle=False, verbose=0, seed=0,
                   n_train=n_train, weight_mean=1.0)
    where = Placement(CPU, SimpleNamespace(num_replicas_in_sync=2))
    if chosen is None:
        with pytest.raises(ValueError, match=rf"last training batch holds 1 row\(s\) "
                                             rf"\(batch_size={batch}, {n_train} training rows\)"):
            where.evenly_split(plan, auto=auto)
    else:
        assert where.evenly_split(plan, auto=auto).batch_size == chosen


@keras.saving.register_keras_serializable(package="keraslearn_tests_placement")
class Scale(keras.layers.Layer):
    """Multiplies by ``factor``, an attribute set after construction that its
    config leaves out: rebuilt from the config, the layer multiplies by 1."""

    factor = 1.0

    def call(self, x):
        return x * self.factor


def _scaled(factor):
    def build(meta):
        inputs = keras.Input((meta["n_features_in_"],))
        scale = Scale()
        scale.factor = factor
        return keras.Model(inputs, keras.layers.Dense(1)(scale(inputs)))

    return build


def test_a_network_whose_copy_would_compute_otherwise_is_kept_as_trained():
    kept = KerasRegressor(_scaled(3.0), epochs=1, distribute="mirrored").fit(X, y)
    assert _is_distributed(kept.model_)  # the copy would have multiplied by 1
    assert kept.predict(X).shape == (len(X),)
    copied = KerasRegressor(_scaled(1.0), epochs=1, distribute="mirrored").fit(X, y)
    assert not _is_distributed(copied.model_)


def test_the_docstrings_describe_both_parameters():
    for cls in ESTIMATORS:
        assert 'device : str or None, default="auto"' in cls.__doc__
        assert "distribute : None, \"mirrored\"" in cls.__doc__
    assert keraslearn.MLPClassifier().device == "auto"
