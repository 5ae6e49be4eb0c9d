"""How fitting behaves: reproducibility, warm_start, partial_fit, initialize,
the large-data feeding path and the training-template cache."""

import pickle
import random
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError

import keraslearn
from builders import NOT_CHAINED_METRIC, output_layer, tiny_mlp
from keraslearn import BaseWrapper, KerasClassifier, KerasRegressor, _random, _tf
from keraslearn._engine import _feed, _layers, _predict, _trace_cache

X, y = make_classification(n_samples=80, n_features=4, n_informative=3, n_redundant=0,
                           class_sep=2.0, random_state=0)
ADAM = dict(optimizer="adam", optimizer__learning_rate=0.01)


def _same_weights(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


# ------------------------------------------------------------ random_state
def test_same_random_state_same_predictions():
    params = dict(epochs=3, batch_size=16, validation_split=0.2, random_state=7, **ADAM)
    a = KerasClassifier(tiny_mlp, **params).fit(X, y)
    keras.utils.set_random_seed(123)  # global state must not matter
    b = KerasClassifier(tiny_mlp, **params).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.history_ == b.history_
    c = KerasClassifier(tiny_mlp, **{**params, "random_state": 8}).fit(X, y)
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))


def _dropout_mlp(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                             keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dropout(0.3), output_layer(meta)])


def test_repeated_seed_skips_tensorflow_reset_and_still_repeats(monkeypatch):
    resets = []
    set_random_seed = keras.utils.set_random_seed
    monkeypatch.setattr(keras.utils, "set_random_seed",
                        lambda seed: (resets.append(seed), set_random_seed(seed)))
    params = dict(epochs=3, batch_size=16, random_state=5, **ADAM)
    first = KerasClassifier(_dropout_mlp, **params).fit(X, y).predict_proba(X)
    for _ in range(2):
        # Draws the user makes between fits from every global generator.
        tf.random.uniform([3])
        keras.random.normal([3])
        np.random.rand(3)
        random.random()
        again = KerasClassifier(_dropout_mlp, **params).fit(X, y).predict_proba(X)
        np.testing.assert_array_equal(again, first)
    # TensorFlow's seed (and its kernel caches) was reset for the first fit only.
    assert resets == [5]
    other = KerasClassifier(_dropout_mlp, **{**params, "random_state": 6}).fit(X, y)
    assert resets == [5, 6]
    assert not np.allclose(other.predict_proba(X), first)


def test_seeded_fit_leaves_the_global_generators_alone():
    np.random.seed(100)
    random.seed(100)
    expected = np.random.rand(), random.random()
    np.random.seed(100)
    random.seed(100)
    KerasClassifier(_dropout_mlp, epochs=1, random_state=0, **ADAM).fit(X, y)
    assert (np.random.rand(), random.random()) == expected


def test_unseeded_fits_differ():
    a, b = (KerasClassifier(tiny_mlp, epochs=1, **ADAM).fit(X, y) for _ in range(2))
    assert not np.allclose(a.predict_proba(X), b.predict_proba(X))


def test_seeded_fits_in_threads_repeat():
    from concurrent.futures import ThreadPoolExecutor

    def fit(seed):
        clf = KerasClassifier(_dropout_mlp, epochs=2, random_state=seed, **ADAM).fit(X, y)
        return clf.predict_proba(X)

    seeds = [1, 2, 1, 2, 1, 2]
    sequential = [fit(seed) for seed in seeds]
    with ThreadPoolExecutor(2) as pool:
        threaded = list(pool.map(fit, seeds))
    for a, b in zip(sequential, threaded):
        np.testing.assert_array_equal(a, b)


def test_seeded_fits_in_threads_inside_tensorflow_random_state_repeat(monkeypatch):
    # The block used to hold the seeding lock to its end: fits in other
    # threads waited for it at every seeded step, then went on without it.
    from concurrent.futures import ThreadPoolExecutor

    from keraslearn.utils.random_state import tensorflow_random_state

    # Shorter than the block (which held the lock to its end), longer than any
    # seeding on a loaded machine.
    monkeypatch.setattr(_random, "SEED_LOCK_WAIT_S", 2.0)

    def fit(seed):
        return KerasClassifier(_dropout_mlp, epochs=2, random_state=seed, **ADAM).fit(
            X, y).predict_proba(X)

    seeds = [1, 2, 1, 2]
    sequential = [fit(seed) for seed in seeds]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with tensorflow_random_state(0):
            with ThreadPoolExecutor(2) as pool:
                threaded = list(pool.map(fit, seeds))
            a = np.random.rand()
    assert not [w for w in caught if "seeding lock" in str(w.message)]
    for a_, b in zip(sequential, threaded):
        np.testing.assert_array_equal(a_, b)
    with tensorflow_random_state(0):
        assert np.random.rand() == a  # the block still seeds NumPy


@pytest.mark.parametrize("seed", [0, 12345])
def test_seeds_apart_by_tensorflow_s_modulus_order_the_rows_apart(seed):
    # TensorFlow reduces seeds modulo 2**31 - 1: seed and seed + 2**31 - 1 (both
    # NumPy seeds, which random_state takes) shuffled alike.
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])

    def fit(random_state):
        return KerasClassifier(net, epochs=2, batch_size=8, random_state=random_state,
                               **ADAM).fit(X, y).predict_proba(X)

    assert not np.array_equal(fit(seed), fit(seed + 2**31 - 1))
    np.testing.assert_array_equal(fit(seed + 2**31 - 1), fit(seed + 2**31 - 1))


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_seed_numpy_refuses_leaves_every_generator_as_it_was(seed):
    # Python's generator had taken the seed before NumPy refused it, and stayed so.
    import random

    from keraslearn.utils.random_state import tensorflow_random_state

    python, numpy = random.getstate(), np.random.get_state()
    with pytest.raises(ValueError):
        with tensorflow_random_state(seed):
            pass
    assert random.getstate() == python
    assert np.array_equal(np.random.get_state()[1], numpy[1])


def test_builder_waiting_for_a_fit_in_another_thread_does_not_hang(monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(_random, "SEED_LOCK_WAIT_S", 0.2)

    def build(meta):
        with ThreadPoolExecutor(1) as pool:
            inner = pool.submit(lambda: KerasClassifier(tiny_mlp, epochs=1).fit(X, y))
            inner.result(timeout=120)  # a TimeoutError here would mean a deadlock
        return tiny_mlp(meta)

    # The inner fit waits for the seeding lock, then goes on without it -- and says so.
    with pytest.warns(RuntimeWarning, match="waited 0.2 s for the seeding lock"):
        clf = KerasClassifier(build, epochs=1, random_state=0).fit(X, y)
    assert clf.predict(X).shape == y.shape


def test_seeded_builds_queued_in_threads_wait_their_turn_and_repeat(monkeypatch):
    # Each slow build held the lock past the wait of the third in the queue,
    # which went on without it and reseeded the generators under another's build.
    import time
    from concurrent.futures import ThreadPoolExecutor

    # Shorter than the queue (the fifth waits four builds), longer than one
    # build on a loaded machine.
    monkeypatch.setattr(_random, "SEED_LOCK_WAIT_S", 1.5)

    def slow(meta):
        time.sleep(0.6)
        return _dropout_mlp(meta)

    def weights(seed):
        return KerasClassifier(slow, random_state=seed).initialize(X, y).model_.get_weights()

    seeds = [1, 2, 3, 4, 5]
    sequential = [weights(seed) for seed in seeds]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ThreadPoolExecutor(5) as pool:
            threaded = list(pool.map(weights, seeds))
    assert not [w for w in caught if "seeding lock" in str(w.message)]
    for one, other in zip(sequential, threaded):
        for a, b in zip(one, other):
            np.testing.assert_array_equal(a, b)


class _TFNoise(keras.layers.Layer):
    """Training noise from TensorFlow's stateful random op (no Keras seed generator)."""

    def call(self, x, training=False):
        return x + tf.random.uniform(tf.shape(x), -0.5, 0.5) if training else x


class _KerasNoise(keras.layers.Layer):
    """Training noise from Keras' global seed generator (an unseeded keras.random call)."""

    def call(self, x, training=False):
        return x + keras.random.normal(keras.ops.shape(x), stddev=0.5) if training else x


@pytest.mark.parametrize("noise", [_TFNoise, _KerasNoise], ids=["tf.random", "keras.random"])
def test_layers_of_their_own_get_tensorflow_reset_on_every_seeded_fit(noise):
    def build(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)), noise(),
                                 keras.layers.Dense(16, activation="relu"), output_layer(meta)])

    params = dict(epochs=3, batch_size=16, random_state=5, **ADAM)
    first = KerasClassifier(build, **params).fit(X, y).predict_proba(X)
    tf.random.uniform([3])
    keras.random.normal([3])
    again = KerasClassifier(build, **params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(again, first)


def test_which_models_count_as_keras_layers_only():
    inputs = keras.Input((4,))
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    assert _layers.keras_layers_only(keras.Model(inputs, inner(inputs)))
    for odd in (keras.layers.Lambda(lambda t: t * 2), _TFNoise()):
        nested = keras.Sequential([keras.Input((4,)), odd, keras.layers.Dense(2)])
        assert not _layers.keras_layers_only(keras.Model(inputs, nested(inputs)))


def test_random_state_instance_is_accepted():
    a = KerasRegressor(tiny_mlp, random_state=np.random.RandomState(3)).fit(X, y * 1.0)
    b = KerasRegressor(tiny_mlp, random_state=np.random.RandomState(3)).fit(X, y * 1.0)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_shuffle_changes_batch_order():
    params = dict(epochs=2, batch_size=8, random_state=0, **ADAM)
    shuffled = KerasClassifier(tiny_mlp, **params).fit(X, y)
    ordered = KerasClassifier(tiny_mlp, shuffle=False, **params).fit(X, y)
    assert not np.allclose(shuffled.predict_proba(X), ordered.predict_proba(X))


# --------------------------------------------------------------- warm_start
def test_warm_start_continues_from_learned_weights():
    params = dict(epochs=5, random_state=0, **ADAM)
    warm = KerasClassifier(tiny_mlp, warm_start=True, **params).fit(X, y)
    first = list(warm.history_["loss"])
    warm.fit(X, y)
    loss = warm.history_["loss"]
    assert len(loss) == 10 and loss[:5] == first
    # The second fit starts where the first ended, not from a fresh network.
    assert loss[5] < first[-1] < first[0]
    cold = KerasClassifier(tiny_mlp, **params).fit(X, y)
    assert cold.history_["loss"] == first
    cold.fit(X, y)  # warm_start=False: starts afresh, same result
    assert cold.history_["loss"] == first
    assert not _same_weights(cold.model_, warm.model_)


def test_a_continued_fit_warns_of_build_and_compile_parameters_changed_since():
    # As scikeras, it trains the network as built and compiled: a lower learning
    # rate or another builder argument set between fits (fine-tuning) did not
    # reach it, silently.
    clf = KerasClassifier(tiny_mlp, warm_start=True, epochs=1, random_state=0, **ADAM).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.set_params(epochs=2, batch_size=16).fit(X, y)  # how it trains: taken
    clf.set_params(optimizer__learning_rate=1e-5, hidden=4)
    match = (r"A fit with warm_start=True trained the fitted network further: hidden, "
             r"optimizer__learning_rate changed since it was built and compiled")
    for copy in (clf, pickle.loads(pickle.dumps(clf))):
        with pytest.warns(UserWarning, match=match):
            copy.fit(X, y)
        assert float(copy.model_.optimizer.learning_rate) == pytest.approx(0.01)
        with pytest.warns(UserWarning, match=r"partial_fit trained .* call fit"):
            copy.partial_fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.set_params(warm_start=False).fit(X, y)  # a new network, with the new values
    assert clf.model_.layers[0].units == 4


def test_a_continued_fit_warns_of_a_loss_or_optimizer_instance_of_other_settings():
    # Another instance of the same class was not seen: the network trained on
    # with the loss and optimizer compiled first, silently.
    clf = KerasClassifier(tiny_mlp, loss=keras.losses.BinaryCrossentropy(),
                          optimizer=keras.optimizers.Adam(0.01), epochs=1, random_state=0)
    clf.partial_fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # equal settings, other instances: nothing changed
        clf.set_params(loss=keras.losses.BinaryCrossentropy(),
                       optimizer=keras.optimizers.Adam(0.01)).partial_fit(X, y)
    clf.set_params(loss=keras.losses.BinaryCrossentropy(label_smoothing=0.3))
    with pytest.warns(UserWarning, match=r"partial_fit trained the fitted network further: "
                                         r"loss changed since"):
        clf.partial_fit(X, y)
    clf.set_params(optimizer=keras.optimizers.Adam(0.5))
    with pytest.warns(UserWarning, match=r"further: loss, optimizer changed since"):
        clf.partial_fit(X, y)
    # A class replaced by an instance of other settings (fine-tuning: a lower rate).
    fresh = KerasClassifier(tiny_mlp, optimizer=keras.optimizers.SGD, epochs=1, random_state=0)
    fresh.partial_fit(X, y).set_params(optimizer=keras.optimizers.SGD(learning_rate=0.5))
    with pytest.warns(UserWarning, match=r"further: optimizer changed since"):
        fresh.partial_fit(X, y)
    # An estimator fitted by a version that recorded such objects by their class
    # alone (pickled, or saved) goes on without a warning.
    clf.set_params(warm_start=False).fit(X, y)
    clf._built_with = {key: token[:2] if key in ("loss", "optimizer") else token
                       for key, token in clf._built_with.items() if key != "__format__"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.partial_fit(X, y)


@keras.saving.register_keras_serializable(package="test_fit_behaviour")
class _WeightedSquares(keras.losses.Loss):
    """A loss whose config holds an array."""

    def __init__(self, weights=(1.0, 1.0), **kwargs):
        super().__init__(**kwargs)
        self.weights = np.asarray(weights, dtype="float32")

    def call(self, y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1) * self.weights[0]

    def get_config(self):
        return {**super().get_config(), "weights": self.weights}


def test_array_builder_arguments_are_compared_by_value_nan_included():
    def scaled(meta, scale):
        return tiny_mlp(meta)

    for scale in (np.array([2.0, np.nan]), np.nan):
        clf = KerasClassifier(scaled, model__scale=scale, epochs=1, random_state=0)
        clf.partial_fit(X, y)
        recorded = clf._built_with
        older = {k: v for k, v in recorded.items() if k != "__format__"}
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            clf.partial_fit(X, y)  # (NaN warned "changed" at every call)
            # as recorded before: an array by its type, a NaN as itself
            clf._built_with = {**older, "model__scale": ("numpy", "ndarray") if np.ndim(scale)
                               else float("nan")}
            clf.partial_fit(X, y)
    clf._built_with = recorded
    with pytest.warns(UserWarning, match=r"further: model__scale changed since"):
        clf.set_params(model__scale=np.array([3.0, np.nan])).partial_fit(X, y)


def test_a_continued_fit_sees_a_change_in_an_array_of_a_loss_s_config():
    from keraslearn import KerasRegressor

    reg = KerasRegressor(tiny_mlp, loss=_WeightedSquares([1.0, 2.0]), epochs=1, random_state=0)
    reg.partial_fit(X, y.astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg.set_params(loss=_WeightedSquares([1.0, 2.0])).partial_fit(X, y.astype(float))
        reg.set_params(loss=_WeightedSquares([1.0, np.nan])).fit(X, y.astype(float))
        reg.set_params(loss=_WeightedSquares([1.0, np.nan]), warm_start=True).fit(
            X, y.astype(float))  # (NaN is no change)
        # nor to a failed fit, which compiled the network again (and could not)
        loss = reg.model_.loss
        with pytest.raises(RuntimeError, match="stop"):
            reg.fit(X, y.astype(float), callbacks=[keras.callbacks.LambdaCallback(
                on_epoch_end=lambda *_: (_ for _ in ()).throw(RuntimeError("stop")))])
        assert reg.model_.loss is loss
    with pytest.warns(UserWarning, match=r"further: loss changed since"):
        reg.set_params(loss=_WeightedSquares([5.0, 9.0])).partial_fit(X, y.astype(float))


class _Widths(KerasClassifier):
    """scikeras' subclass pattern: its own parameter, read from self by the builder."""

    def __init__(self, hidden=8, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden

    def _keras_build_fn(self, meta):
        return tiny_mlp(meta, hidden=self.hidden)


def test_a_continued_fit_warns_of_a_subclass_parameter_changed_since():
    clf = _Widths(warm_start=True, epochs=1, random_state=0, **ADAM).fit(X, y)
    with pytest.warns(UserWarning, match=r"trained the fitted network further: hidden changed"):
        clf.set_params(hidden=2).fit(X, y)
    assert clf.model_.layers[0].units == 8


class _Thresholded(KerasClassifier):
    """A subclass parameter read by predict only, beside a builder given as model."""

    def __init__(self, model=None, threshold=0.5, **kwargs):
        super().__init__(model=model, **kwargs)
        self.threshold = threshold


def test_a_continued_fit_does_not_warn_of_a_subclass_parameter_the_builder_does_not_take():
    clf = _Thresholded(tiny_mlp, warm_start=True, epochs=1, random_state=0, **ADAM).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.set_params(threshold=0.9).fit(X, y)
    with pytest.warns(UserWarning, match=r"further: hidden changed"):
        clf.set_params(hidden=2).fit(X, y)  # the builder's own argument still counts


def test_warm_start_rejects_a_new_feature_count():
    clf = KerasClassifier(tiny_mlp, warm_start=True, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.fit(X[:, :3], y)


# -------------------------------------------------------------- partial_fit
def test_partial_fit_keeps_learning():
    clf = KerasClassifier(tiny_mlp, random_state=0, **ADAM)
    for _ in range(5):
        clf.partial_fit(X, y)
    loss = clf.history_["loss"]
    assert len(loss) == 5
    assert np.all(np.diff(loss) < 0)
    assert int(clf.model_.optimizer.iterations.numpy()) == 5 * 3  # 80 rows, batches of 32


@pytest.mark.parametrize("share", [True, False])
def test_partial_fit_weighs_validation_data_as_it_weighs_training(share):
    # partial_fit hands its weights to Keras as given, and validation_data's
    # were scaled to a mean of 1: the same rows and weights gave val_loss a
    # third of loss, which early stopping or ReduceLROnPlateau compare.
    rng = np.random.default_rng(0)
    X_r = rng.normal(size=(60, 4)).astype("float32")
    y_r = (X_r @ [1.0, -2.0, 0.5, 0.0]).astype("float32")
    w = np.linspace(1.0, 5.0, 60)

    def build(meta):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])

    with keraslearn.config_context(share_traced_functions=share):
        reg = KerasRegressor(build, loss="mse", optimizer="sgd", optimizer__learning_rate=0.0,
                             batch_size=60, shuffle=False, random_state=0)
        reg.partial_fit(X_r, y_r, sample_weight=w, validation_data=(X_r, y_r, w))
    assert reg.history_["val_loss"][-1] == pytest.approx(reg.history_["loss"][-1], rel=1e-6)
    expected = reg.model_.evaluate(X_r, y_r[:, None], sample_weight=w, batch_size=60, verbose=0)
    assert reg.history_["val_loss"][-1] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("n, fraction", [(10, 0.25), (4, 0.2), (7, 0.5)])
def test_validation_split_holds_out_the_rows_keras_holds_out(n, fraction):
    # floor(n * fraction) rows were held out, where Keras trains on the first
    # floor(n * (1 - fraction)): 8 training rows of 10 instead of 7, and 4 rows
    # with 0.2 were refused ("no samples for validation") where Keras trains on 3.
    rng = np.random.default_rng(0)
    X_r = rng.normal(size=(n, 3)).astype("float32")
    y_r = X_r @ np.float32([1.0, -2.0, 0.5]) + np.arange(n, dtype="float32")

    def build(meta):
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])

    reg = KerasRegressor(build, loss="mse", optimizer="sgd", optimizer__learning_rate=0.0,
                         batch_size=n, epochs=1, shuffle=False, validation_split=fraction,
                         random_state=0).fit(X_r, y_r)
    raw = keras.models.clone_model(reg.model_)
    raw.set_weights(reg.model_.get_weights())
    raw.compile(loss="mse", optimizer=keras.optimizers.SGD(0.0))
    keras_fit = raw.fit(X_r, y_r, batch_size=n, epochs=1, shuffle=False,
                        validation_split=fraction, verbose=0).history
    for key in ("loss", "val_loss"):
        assert reg.history_[key][0] == pytest.approx(keras_fit[key][0], rel=1e-6), key


def test_partial_fit_classes_on_first_call():
    X3, y3 = make_classification(n_samples=90, n_features=4, n_informative=3, n_redundant=0,
                                 n_classes=3, n_clusters_per_class=1, random_state=0)
    first = y3 != 2
    clf = KerasClassifier(tiny_mlp, random_state=0)
    clf.partial_fit(X3[first], y3[first], classes=[0, 1, 2])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.model_.output_shape[-1] == 3
    clf.partial_fit(X3, y3)
    assert clf.predict_proba(X3).shape == (90, 3)
    with pytest.raises(ValueError, match=r"\[5\]"):
        clf.partial_fit(X3[:4], np.array([0, 1, 5, 2]))
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2, 7\] is not the same"):
        clf.partial_fit(X3, y3, classes=[0, 1, 2, 7])
    with pytest.raises(ValueError, match=r"classes=\[0, 1\] is not the same"):
        clf.partial_fit(X3, y3, classes=[1, 0])
    clf.partial_fit(X3, y3, classes=[2, 0, 1])  # the same classes, in any order
    assert len(clf.history_["loss"]) == 3


def test_partial_fit_streams_single_class_batches():
    # As scikit-learn's online learners: a batch may hold one of the declared classes.
    clf = KerasClassifier(tiny_mlp, random_state=0)
    clf.partial_fit(X[y == 0], y[y == 0], classes=[0, 1])
    clf.partial_fit(X[y == 1], y[y == 1])
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert len(clf.history_["loss"]) == 2
    # A fresh fit still needs two classes.
    with pytest.raises(ValueError, match="at least 2 classes"):
        KerasClassifier(tiny_mlp).fit(X[y == 0], y[y == 0])


def test_partial_fit_without_classes_rejects_a_new_label():
    clf = KerasClassifier(tiny_mlp, random_state=0).partial_fit(X, y)
    # (found in an audit: not told that the first call's y fixed them)
    with pytest.raises(ValueError, match=r"labels not in classes: \[2\] .*The classes are "
                       r"those of the first fit .*classes=np\.unique\(y_all\)"):
        clf.partial_fit(X[:3], np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="got classes, which a classifier's partial_fit takes"):
        KerasRegressor(tiny_mlp).partial_fit(X, y.astype(float), classes=[0, 1])


# -------------------------------------------------------------- initialize
def test_initialize_builds_without_training():
    clf = KerasClassifier(tiny_mlp, random_state=0).initialize(X, y)
    assert clf.history_ == {}
    assert int(clf.model_.optimizer.iterations.numpy()) == 0
    assert clf.predict_proba(X).shape == (80, 2)
    again = KerasClassifier(tiny_mlp, random_state=0).initialize(X, y)
    assert _same_weights(clf.model_, again.model_)
    # Training after initialize continues from those weights.
    clf.partial_fit(X, y)
    assert len(clf.history_["loss"]) == 1


@pytest.mark.parametrize("share", [True, False], ids=["shared-traces", "keras-fit"])
def test_a_model_initialize_took_uncompiled_is_compiled_to_be_trained(share):
    # As scikeras: partial_fit or a warm start trains the model given to
    # initialize() as a fit trains one, compiled with the estimator's settings.
    # It used to stay uncompiled and the training step failed.
    def given():
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])

    params = dict(loss="binary_crossentropy", shuffle=False, random_state=0, **ADAM)
    with keraslearn.config_context(share_traced_functions=share):
        model = given()
        clf = KerasClassifier(model, **params).initialize(X, y)
        assert not model.compiled  # initialize uses it as it is
        clf.partial_fit(X, y)
        assert clf.model_ is model and clf.current_epoch == 1
        fitted = KerasClassifier(given(), epochs=1, **params).fit(X, y)
        np.testing.assert_allclose(clf.predict_proba(X), fitted.predict_proba(X), rtol=1e-5)
        warm = KerasClassifier(given(), warm_start=True, epochs=1, **params).initialize(X, y)
        np.testing.assert_allclose(warm.fit(X, y).predict_proba(X), fitted.predict_proba(X),
                                   rtol=1e-5)


@pytest.mark.parametrize("continued", ["partial_fit", "warm start"])
def test_compile_settings_changed_after_initialize_reach_the_network_it_compiles(continued):
    # found in an audit: the network initialize() took uncompiled is compiled
    # at the first continued fit, with the settings of then, which were warned
    # of as not reaching it (its advice, fit anew, would drop the user's network).
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    clf = KerasClassifier(model, loss="binary_crossentropy", epochs=1, random_state=0,
                          warm_start=continued == "warm start", **ADAM).initialize(X, y)
    clf.set_params(optimizer__learning_rate=0.3, loss="mse")
    train = clf.partial_fit if continued == "partial_fit" else clf.fit
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train(X, y)
        train(X, y)  # compiled with them: nothing changed since
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.3)
    assert clf.model_.loss == "mse"
    clf.set_params(optimizer__learning_rate=0.01)  # once compiled, a change is told
    with pytest.warns(UserWarning, match=r"further: optimizer__learning_rate changed since"
                      ) as told:
        train(X, y)
    assert told[0].filename == __file__  # the user's line, not keraslearn's


def test_initialize_with_a_pretrained_model_predicts_with_it():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.set_weights([np.array([[1.0], [-1.0], [0.5], [2.0]]), np.array([0.1])])
    clf = KerasClassifier(model).initialize(X, y)
    expected = model(X.astype("float32")).numpy()[:, 0]
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], expected, rtol=1e-6)


# ------------------------------------------------------ large-data feeding
# Unshuffled, both paths feed the same batches, so training is identical. Shuffled,
# each draws its own (reproducible) order: the large path permutes indices
# without a buffer, the small one uses tf.data's shuffle buffer.
@pytest.mark.parametrize("kwargs", [
    dict(batch_size=16, epochs=3, shuffle=False, validation_split=0.25,
         class_weight="balanced"),
    dict(batch_size=16, epochs=2, shuffle=False),
], ids=["validation-weights", "ordered"])
def test_large_data_path_trains_like_the_small_data_path(kwargs, monkeypatch):
    params = dict(random_state=0, **ADAM, **kwargs)
    small = KerasClassifier(tiny_mlp, **params).fit(X, y)
    gathered = []
    original = _feed._gather_from_numpy
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    monkeypatch.setattr(_feed, "_gather_from_numpy",
                        lambda *a, **k: gathered.append(1) or original(*a, **k))
    large = KerasClassifier(tiny_mlp, **params).fit(X, y)
    assert gathered  # the numpy_function path really ran
    assert large.history_.keys() == small.history_.keys()
    for key in small.history_:
        np.testing.assert_allclose(large.history_[key], small.history_[key], rtol=1e-6)
    np.testing.assert_allclose(large.predict_proba(X), small.predict_proba(X), rtol=1e-6)


def test_large_data_path_visits_every_row_once_per_epoch_in_a_seeded_order():
    def epochs(seed, n_epochs=3):
        ds = _feed._index_batches(10, 4, True, seed)
        return [np.concatenate([b.numpy() for b in ds]) for _ in range(n_epochs)]

    first = epochs(seed=3)
    for order in first:
        assert sorted(order.tolist()) == list(range(10))
    assert not np.array_equal(first[0], first[1])  # reshuffled every epoch
    assert all(np.array_equal(a, b) for a, b in zip(first, epochs(seed=3)))
    assert not all(np.array_equal(a, b) for a, b in zip(first, epochs(seed=4)))


def test_large_data_order_is_well_mixed_for_few_rows():
    # A random permutation leaves about one row in place, whatever the number of rows.
    for seed in range(5):
        order = np.concatenate([b.numpy() for b in _feed._index_batches(500, 64, True, seed)])
        assert sorted(order.tolist()) == list(range(500))
        assert (order == np.arange(500)).sum() <= 6


def test_large_data_path_shuffled_training_is_reproducible_and_learns(monkeypatch):
    params = dict(random_state=0, batch_size=16, epochs=20, **ADAM)
    small = KerasClassifier(tiny_mlp, **params).fit(X, y)
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    large = KerasClassifier(tiny_mlp, **params).fit(X, y)
    again = KerasClassifier(tiny_mlp, **params).fit(X, y)
    np.testing.assert_array_equal(large.predict_proba(X), again.predict_proba(X))
    assert abs(large.score(X, y) - small.score(X, y)) <= 0.1
    assert large.history_["loss"][-1] < 0.8 * large.history_["loss"][0]


def test_large_data_path_keeps_float64_and_multioutput_targets(monkeypatch):
    Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
    params = dict(random_state=0, dtype="float64", batch_size=16, epochs=2, shuffle=False,
                  **ADAM)
    small = KerasRegressor(tiny_mlp, **params).fit(X, Y)
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    large = KerasRegressor(tiny_mlp, **params).fit(X, Y)
    np.testing.assert_allclose(large.predict(X), small.predict(X), rtol=1e-12)


# ---------------------------------------------------------- template cache
# A compiled metric the dense chain trainer does not compute: other plain
# dense chains train through it (tests/engine/test_dense_chain.py), not
# through a warm copy.
METRIC = NOT_CHAINED_METRIC


def test_fits_of_one_architecture_share_a_template():
    _trace_cache.trace_cache.clear()
    for seed in range(3):
        KerasClassifier(tiny_mlp, random_state=seed, **ADAM, **METRIC).fit(X, y)
    assert len(_trace_cache.trace_cache) == 1
    # The learning rate is copied per fit, so it shares the template too.
    KerasClassifier(tiny_mlp, optimizer="adam", optimizer__learning_rate=0.5, **METRIC).fit(X, y)
    assert len(_trace_cache.trace_cache) == 1
    KerasClassifier(tiny_mlp, hidden=5, **ADAM, **METRIC).fit(X, y)
    assert len(_trace_cache.trace_cache) == 2


def _scaled_input_net(layer_class):
    def build(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)), layer_class(),
                                 keras.layers.Dense(1)])
    return build


def _first_kernel_moves(build, **params):
    params = dict(random_state=0, epochs=2, **ADAM, **params)
    start = KerasRegressor(build, **params).initialize(X, y * 1.0).model_.layers[1].kernel
    fitted = KerasRegressor(build, **params).fit(X, y * 1.0).model_.layers[1].kernel
    return float(np.abs(np.asarray(fitted) - np.asarray(start)).max())


def test_redefined_code_gets_its_own_template():
    """A notebook cell run again redefines a class or function under the same
    name: the same config, other code. Training must run the new code."""
    class Scale(keras.layers.Layer):
        def call(self, x):
            return x * 1.0

    assert _first_kernel_moves(_scaled_input_net(Scale)) > 0

    class Scale(keras.layers.Layer):  # noqa: F811 - the redefinition under test
        def call(self, x):
            return x * 0.0  # the next layer's kernel gets no gradient

    assert _first_kernel_moves(_scaled_input_net(Scale)) == 0.0

    def loss(y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    plain = _scaled_input_net(keras.layers.Identity)
    assert _first_kernel_moves(plain, loss=loss) > 0

    def loss(y_true, y_pred):  # noqa: F811
        return 0.0 * keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    assert _first_kernel_moves(plain, loss=loss) == 0.0


def _without_templates(monkeypatch, make):
    with keraslearn.config_context(share_traced_functions=False):
        return make()


def test_template_gives_the_results_of_direct_training(monkeypatch):
    def make():
        return KerasClassifier(tiny_mlp, random_state=3, epochs=3, batch_size=16,
                               validation_split=0.25, **NOT_CHAINED_METRIC, **ADAM).fit(X, y)

    make()  # leave a warm template behind
    cached = make()
    direct = _without_templates(monkeypatch, make)
    assert cached.history_ == direct.history_
    np.testing.assert_array_equal(cached.predict_proba(X), direct.predict_proba(X))


def test_user_callbacks_work_through_the_template(monkeypatch):
    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs, self.losses = [], []

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append(epoch)
            self.losses.append(logs["loss"])

    def make(stop, record):
        return KerasClassifier(tiny_mlp, epochs=40, validation_split=0.25, random_state=0,
                               optimizer="adam", optimizer__learning_rate=0.3,
                               callbacks=[stop, record]).fit(X, y)

    def stopper():
        return keras.callbacks.EarlyStopping(monitor="val_loss", patience=2,
                                             restore_best_weights=True)

    make(stopper(), Recorder())  # warm the template
    stop, record = stopper(), Recorder()
    clf = make(stop, record)
    n = len(clf.history_["loss"])
    assert 0 < stop.stopped_epoch < 39 and n == stop.stopped_epoch + 1
    assert record.epochs == list(range(n))
    assert record.losses == pytest.approx(clf.history_["loss"])
    # restore_best_weights reached the estimator's model.
    val_loss = clf.model_.evaluate(X[60:], y[60:], verbose=0)
    assert val_loss == pytest.approx(min(clf.history_["val_loss"]), rel=1e-4)
    assert val_loss < clf.history_["val_loss"][-1]
    direct = _without_templates(monkeypatch, lambda: make(stopper(), Recorder()))
    np.testing.assert_array_equal(clf.predict_proba(X), direct.predict_proba(X))


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_continued_training_keeps_optimizer_state(how, monkeypatch):
    def make():
        clf = KerasClassifier(tiny_mlp, random_state=0, warm_start=how == "warm_start",
                              epochs=2, **ADAM)
        for _ in range(3):
            clf.fit(X, y) if how == "warm_start" else clf.partial_fit(X, y)
        return clf

    cached = make()
    direct = _without_templates(monkeypatch, make)
    steps = 3 * 3 * (2 if how == "warm_start" else 1)
    assert int(cached.model_.optimizer.iterations.numpy()) == steps
    # Equal to float32 rounding: the dense chain's graph may fuse a layer's
    # matmul, bias and activation where Keras' does not, or the reverse.
    np.testing.assert_allclose(cached.history_["loss"], direct.history_["loss"], rtol=1e-6)
    np.testing.assert_allclose(cached.predict_proba(X), direct.predict_proba(X), rtol=1e-6)
    for a, b in zip(cached.model_.optimizer.variables, direct.model_.optimizer.variables,
                    strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-8)


class _BatchCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def test_several_steps_per_call_train_exactly_like_one_step_per_call():
    params = dict(random_state=0, batch_size=8, epochs=3, **ADAM, **METRIC)
    _trace_cache.trace_cache.clear()
    # trace cache keys: (architecture, code, data spec, steps per call, device)
    fast = KerasClassifier(tiny_mlp, **params).fit(X, y)
    assert [k[3] for k in _trace_cache.trace_cache.keys()] == [_trace_cache.STEPS_PER_EXECUTION]
    # A batch-level callback must see every batch: one step per call then.
    slow = KerasClassifier(tiny_mlp, callbacks=[keras.callbacks.TerminateOnNaN()],
                           **params).fit(X, y)
    steps = sorted(k[3] for k in _trace_cache.trace_cache.keys())
    assert steps == [1, _trace_cache.STEPS_PER_EXECUTION]
    # A user's callback sees the model itself train (not a warm copy), every batch.
    counter = _BatchCounter()
    own = KerasClassifier(tiny_mlp, callbacks=[counter], **params).fit(X, y)
    assert counter.batches == 3 * 10
    for other in (slow, own):
        np.testing.assert_allclose(fast.predict_proba(X), other.predict_proba(X), rtol=1e-6)
        np.testing.assert_allclose(fast.history_["loss"], other.history_["loss"], rtol=1e-6)
    # A hook given to the callback object itself (Keras' LambdaCallback) counts too.
    seen = []
    hooked = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(
        batch))
    KerasClassifier(tiny_mlp, callbacks=[hooked], **params).fit(X, y)
    assert seen == list(range(10)) * 3


def test_input_pipeline_keeps_to_the_worker_thread_share(monkeypatch):
    sw = np.ones(len(X))
    free = _feed.make_dataset(X, y, sw, batch_size=8, shuffle=True, seed=0,
                              inputs=_predict.InputKind("float32"))
    assert free.options().threading.private_threadpool_size in (None, 0)
    monkeypatch.setattr(_tf, "_THREAD_LIMIT", 1)
    capped = _feed.make_dataset(X, y, sw, batch_size=8, shuffle=True, seed=0,
                              inputs=_predict.InputKind("float32"))
    assert capped.options().threading.private_threadpool_size == 1
    assert capped.options().autotune.enabled is False
    # Same batches either way.
    for a, b in zip(free, capped):
        np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())


def test_learning_rate_set_by_a_callback_reaches_model_and_stays_there():
    def make(**kwargs):
        return KerasClassifier(tiny_mlp, epochs=3, random_state=0, optimizer="adam",
                               optimizer__learning_rate=0.08, **kwargs).fit(X, y)

    halve = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr / 2)
    scheduled = make(callbacks=[halve])
    assert float(scheduled.model_.optimizer.learning_rate) == pytest.approx(0.01)
    assert int(scheduled.model_.optimizer.iterations) > 0
    # The next fit of the same architecture starts from its own learning rate.
    plain = make()
    assert float(plain.model_.optimizer.learning_rate) == pytest.approx(0.08)
    assert float(scheduled.model_.optimizer.learning_rate) == pytest.approx(0.01)


def _batch_normalised(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(4),
                             keras.layers.BatchNormalization(),
                             keras.layers.Dense(1, activation="sigmoid")])


@pytest.mark.parametrize("build", [tiny_mlp, _batch_normalised],
                         ids=["dense-chain", "warm-copy"])
def test_the_model_keeps_its_history_as_keras_fit_leaves_it(build):
    def fit(share, **kwargs):
        with keraslearn.config_context(share_traced_functions=share):
            return KerasClassifier(build, metrics=["accuracy"], validation_split=0.25,
                                   epochs=2, random_state=0, **ADAM, **kwargs).fit(X, y)

    ours, keras_fit = fit(True), fit(False)
    assert ours.model_.history.model is ours.model_
    assert ours.model_.history.epoch == keras_fit.model_.history.epoch == [0, 1]
    assert ours.model_.history.params == keras_fit.model_.history.params
    # Keras counts steps_per_epoch's steps (it gave the dataset's batches).
    assert fit(True, fit__steps_per_epoch=1).model_.history.params["steps"] == 1
    assert ours.model_.history.history.keys() == keras_fit.model_.history.history.keys()
    for key, values in keras_fit.model_.history.history.items():
        np.testing.assert_allclose(ours.model_.history.history[key], values, rtol=1e-5)


def _frozen_first(meta):
    return keras.Sequential([keras.Input((X.shape[1],)), keras.layers.Dense(4, trainable=False),
                             keras.layers.BatchNormalization(),
                             keras.layers.Dense(1, activation="sigmoid")])


@pytest.mark.parametrize("share", [True, False], ids=["shared", "own-trace"])
def test_a_network_whose_trainable_layers_changed_is_not_continued(share):
    # Keras trains another set of weights only once compiled again with a new
    # optimizer: its fit failed (through a warm copy) or kept training the
    # old set (with its own traced function), the unfrozen layer untouched.
    with keraslearn.config_context(share_traced_functions=share):
        clf = KerasClassifier(_frozen_first, loss="binary_crossentropy", epochs=1,
                              warm_start=True, **ADAM).fit(X, y)
        clf.model_.layers[0].trainable = True
        weights = [w.copy() for w in clf.model_.get_weights()]
        for again in (lambda: clf.fit(X, y), lambda: clf.partial_fit(X, y)):
            with pytest.raises(ValueError, match="trainable flag changed.*model=est.model_"):
                again()
        for a, b in zip(weights, clf.model_.get_weights()):
            np.testing.assert_array_equal(a, b)
        # a copy of the network, compiled anew, trains the unfrozen layer
        tuned = KerasClassifier(clf.model_, loss="binary_crossentropy", epochs=1,
                                **ADAM).fit(X, y)
        assert not np.allclose(tuned.model_.layers[0].kernel, weights[0])
    # an initialized network, its optimizer not built yet, may change before training
    fresh = KerasClassifier(_frozen_first, loss="binary_crossentropy", epochs=1,
                            warm_start=True, **ADAM).initialize(X, y)
    fresh.model_.layers[0].trainable = True
    kernel = fresh.model_.layers[0].kernel.numpy()
    fresh.fit(X, y)
    assert not np.allclose(fresh.model_.layers[0].kernel, kernel)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # (max_iter=2)
def test_a_ready_network_frozen_since_its_fit_is_not_unfrozen_by_a_warm_start():
    # Found in an audit: a ready estimator's warm start rebuilt the network and
    # copied its weights only, so the layer frozen in model_ was trained; and the
    # refusal's advice named MLPClassifier(model=...), which takes no model.
    from keraslearn import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, warm_start=True,
                        random_state=0).fit(X, y)
    clf.model_.layers[0].trainable = False
    kernel = clf.model_.layers[0].kernel.numpy()
    for again in (lambda: clf.fit(X, y), lambda: clf.partial_fit(X, y)):
        with pytest.raises(ValueError, match=r"trainable flag changed.*Fit a copy instead "
                                             r"\(KerasClassifier\(model=est\.model_, .*compile "
                                             r"est\.model_ with the optimizer"):
            again()
    assert not clf.model_.layers[0].trainable
    np.testing.assert_array_equal(clf.model_.layers[0].kernel, kernel)
    # The advice, followed: compiled at a fine-tuning rate, the copy keeps the freeze
    # (the warm start still refuses: it rebuilds the network, found in review); the
    # network outputs logits, which its own compiled loss takes
    clf.model_.compile(optimizer=keras.optimizers.Adam(1e-4), loss=clf.model_.loss)
    with pytest.raises(ValueError, match="trainable flag changed"):
        clf.fit(X, y)
    # partial_fit trains the compiled network itself, the layer kept frozen; a warm
    # start after it still refuses (found in an audit: the partial_fit's record of
    # the flags let the rebuilt network unfreeze the layer silently)
    clf.partial_fit(X, y)
    np.testing.assert_array_equal(clf.model_.layers[0].kernel, kernel)
    with pytest.raises(ValueError, match="other weights than the network its parameters build"):
        clf.fit(X, y)
    assert not clf.model_.layers[0].trainable
    tuned = KerasClassifier(clf.model_, epochs=1).fit(X, y)
    assert tuned.target_encoder_.from_logits_
    np.testing.assert_array_equal(tuned.model_.layers[0].kernel, kernel)
    assert not np.allclose(tuned.model_.layers[-1].kernel, clf.model_.layers[-1].kernel)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # (max_iter=2)
def test_a_network_compiled_by_the_user_since_its_fit_is_checked_as_a_fit_checks_it():
    # found in an audit: model_ compiled with a loss taking probabilities over the
    # ready network's logits trained on by partial_fit (its loss stuck)
    from keraslearn import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    weights = [w.copy() for w in clf.model_.get_weights()]
    clf.model_.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    with pytest.raises(ValueError, match=r"output layer has no activation \(linear\), but "
                                         r"the loss 'binary_crossentropy' takes probabilities"):
        clf.partial_fit(X, y)
    for a, b in zip(weights, clf.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    clf.model_.compile(optimizer=keras.optimizers.Adam(1e-2),
                       loss=keras.losses.BinaryCrossentropy(from_logits=True))
    clf.partial_fit(X, y)  # the loss the logits take trains
    assert not np.allclose(weights[0], clf.model_.get_weights()[0])
    # a 1-D output, one value per sample (found in review: its units were read as
    # the batch axis, None, and partial_fit failed with a TypeError)

    def one_value(meta):
        inputs = keras.Input((X.shape[1],))
        return keras.Model(inputs, keras.layers.Reshape(())(keras.layers.Dense(1)(inputs)))

    reg = BaseWrapper(one_value, loss="mse", epochs=1, warm_start=True, random_state=0)
    reg.fit(X, y.astype("float32")).partial_fit(X, y.astype("float32"))
    reg.fit(X, y.astype("float32"))


def test_callbacks_see_the_network_they_train_and_the_estimator_its_last_fit():
    # As the README says: the fitted attributes are set when a fit ends, so the
    # estimator a callback reads is the previous fit's (a failed fit leaves it).
    seen = []

    class Probe(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            try:
                previous = clf.predict_proba(X[:5])
            except NotFittedError:
                previous = None
            seen.append((self.model, previous, self.model.predict(X[:5], verbose=0)))

    clf = KerasClassifier(tiny_mlp, epochs=2, callbacks=[Probe()], random_state=0, **ADAM)
    clf.fit(X, y)
    assert [previous for _, previous, _ in seen] == [None, None]
    network, _, outputs = seen[-1]
    assert network is clf.model_  # trained by the callback's fit
    np.testing.assert_allclose(outputs[:, 0], clf.predict_proba(X[:5])[:, 1], rtol=1e-5)
    first = clf.predict_proba(X[:5])
    seen.clear()
    clf.fit(X, y)
    for network, previous, _ in seen:
        assert network is clf.model_
        np.testing.assert_array_equal(previous, first)


@pytest.mark.parametrize("normalised", [False, True], ids=["dense-chain", "keras-fit"])
def test_a_builder_returning_a_fitted_estimator_s_network_is_refused(normalised, tmp_path):
    # A network made once and returned by a lambda (or by a builder compiling
    # it anew each call): every fold of a cross-validation went on from the
    # last one's weights (trained on its test rows), and fitting one estimator
    # changed another's predictions.
    from sklearn.model_selection import cross_val_score

    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    layers = [keras.Input((4,)), keras.layers.Dense(4, activation="relu")]
    layers += [keras.layers.BatchNormalization()] if normalised else []
    net = keras.Sequential(layers + [keras.layers.Dense(2, activation="softmax")])

    def compiling():
        net.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return net

    shared = KerasClassifier(lambda: net, epochs=2, random_state=0)
    # A fit that failed (before training) leaves no estimator holding it.
    net.compile(loss="mse")
    with pytest.raises(ValueError, match="compiled with the loss"):
        KerasClassifier(lambda: net, loss="hinge", epochs=2).fit(X, y)
    net.compile(loss="sparse_categorical_crossentropy")
    first = shared.fit(X, y).predict_proba(X)
    assert shared.model_ is net
    message = "returned the network of an estimator fitted before"
    for builder in (lambda: net, compiling):
        with pytest.raises(ValueError, match=message):
            KerasClassifier(builder, epochs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(shared.predict_proba(X), first)  # not trained further
    with pytest.raises(ValueError, match=message):
        shared.fit(X, y)
    assert shared.model_ is net
    # initialize() trains nothing: the scikeras way to predict with a pretrained
    # network returned by a builder, again and in clones (found in review)
    pretrained = keras.models.clone_model(net)
    ready = KerasClassifier(lambda: pretrained, random_state=0).initialize(X, y)
    assert ready.model_ is pretrained
    from sklearn.base import clone

    assert clone(ready).initialize(X, y).model_ is pretrained
    # a builder loading the same saved network each call makes a new one each time
    net.save(tmp_path / "net.keras")
    scores = cross_val_score(KerasClassifier(
        lambda: keras.models.load_model(tmp_path / "net.keras"), epochs=2, random_state=0),
        X, y, cv=3, error_score="raise")
    assert np.isfinite(scores).all()


def test_a_network_a_failed_fit_compiled_is_compiled_anew_by_the_next_fit():
    # Found in an audit: a builder's network made outside it, left compiled by a
    # failed fit (a refused loss, an interrupt), was then taken as compiled by the
    # user: the corrected fit was refused as contradicting "the user's" compile.
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        KerasClassifier(lambda: net, loss="categorical_crossentropy").fit(X, y)
    assert net.compiled  # (Keras has no way back)
    fixed = KerasClassifier(lambda: net, loss="binary_crossentropy", optimizer="adam",
                            epochs=1).fit(X, y)
    assert fixed.model_ is net and net.loss == "binary_crossentropy"
    assert type(net.optimizer).__name__ == "Adam"
    # A network the user compiled stays the user's, compiled since a failed fit too:
    # a loss contradicting it is refused (found in review: recompiled in silence).
    own = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match="categorical_crossentropy"):
        KerasClassifier(lambda: own, loss="categorical_crossentropy").fit(X, y)
    own.compile(loss="binary_crossentropy", optimizer="sgd")
    with pytest.raises(ValueError, match="compiled with the loss"):
        KerasClassifier(lambda: own, loss="hinge").fit(X, y)
    KerasClassifier(lambda: own, epochs=1).fit(X, y)
    assert own.loss == "binary_crossentropy" and type(own.optimizer).__name__ == "SGD"


def test_a_builder_reusing_a_trainable_base_of_a_fitted_network_is_refused():
    # Found in an audit: a pretrained base loaded once, wrapped in a new model at
    # each build, was trained on by every fit: a clone's fit changed the first
    # estimator's predictions (by up to 0.69), and folds went on from each other.
    from sklearn.base import clone

    base = keras.Sequential([keras.Input((X.shape[1],)), keras.layers.Dense(4, name="base")])

    def build():
        inputs = keras.Input((X.shape[1],))
        return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(base(inputs)))

    first = KerasClassifier(build, loss="sparse_categorical_crossentropy", epochs=1,
                            random_state=0).fit(X, y)
    proba = first.predict_proba(X)
    with pytest.raises(ValueError, match=r"returned a network training the weights "
                                         r"'[\w/]*base/kernel' of an estimator's network fitted "
                                         r"before.*or freeze it \(trainable=False\)"):
        clone(first).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), proba)
    # Wrapped in another layer too (found in review: only .layers were walked).
    with pytest.raises(ValueError, match=r"training the weights '[\w/]*base/kernel'"):
        KerasClassifier(lambda: keras.Sequential([
            keras.Input((3, X.shape[1])), keras.layers.TimeDistributed(base),
            keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")]),
            loss="sparse_categorical_crossentropy", epochs=1).fit(np.stack([X] * 3, 1), y)
    base.trainable = False  # a frozen base is shared harmlessly
    clone(first).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), proba)
    # Frozen when a fit held it, unfrozen since (found in review).
    base = keras.Sequential([keras.Input((X.shape[1],)), keras.layers.Dense(4)])
    base.trainable = False
    frozen_first = KerasClassifier(build, loss="sparse_categorical_crossentropy", epochs=1,
                                   random_state=0).fit(X, y)
    base.trainable = True
    with pytest.raises(ValueError, match="training the weights"):
        clone(frozen_first).fit(X, y)


class _NumPyClip(keras.layers.Layer):
    """Reads its input as NumPy: it runs eagerly only (run_eagerly=True)."""

    def call(self, x):
        return keras.ops.convert_to_tensor(np.clip(np.asarray(x), -1.0, 1.0))


def test_a_model_compiled_to_run_eagerly_predicts_eagerly_on_every_call():
    # The third predict traced the model, run_eagerly or not: such a layer
    # failed there ("Cannot convert a symbolic tf.Tensor"), on every later call.
    def build(meta):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), _NumPyClip(),
                                 keras.layers.Dense(1)])

    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    reg = KerasRegressor(build, loss="mse", epochs=1, run_eagerly=True, random_state=0)
    reg.fit(X, y.astype("float32"))
    expected = reg.model_(X.astype("float32")).numpy().ravel()
    for _ in range(4):
        np.testing.assert_allclose(reg.predict(X), expected, rtol=1e-6)
    assert reg.score(X, y) == reg.score(X, y)
