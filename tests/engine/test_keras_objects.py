"""Callbacks, optimizers and losses made from the routed parameters."""

import keras
import numpy as np
import pytest
from sklearn.datasets import make_classification

from builders import ColumnTargets, ScaledSquares, tiny_mlp
from keraslearn import KerasClassifier, KerasRegressor
from keraslearn._engine import _keras_objects as objects
from keraslearn._engine import _routed_objects

X, y = make_classification(n_samples=60, n_features=4, random_state=0)


def test_routed_parameters_rebuild_a_callback_instance_through_its_constructor():
    given = keras.callbacks.ReduceLROnPlateau()
    clf = KerasClassifier(tiny_mlp, callbacks=[given], callbacks__0__factor=1.5)
    # ReduceLROnPlateau's own check of its factor runs, before TensorFlow trains.
    with pytest.raises(ValueError, match="factor >= 1.0"):
        clf.fit(X, y)
    assert given.factor == 0.1  # the user's instance is never changed


def test_rebuilt_callback_has_the_state_its_constructor_derives():
    given = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=10)
    clf = KerasClassifier(
        tiny_mlp, optimizer="sgd", optimizer__learning_rate=0.1, epochs=4, random_state=0,
        callbacks=[given], callbacks__0__monitor="loss", callbacks__0__patience=0,
        callbacks__0__min_delta=1e9, callbacks__0__factor=0.5, callbacks__0__min_lr=0.0,
    ).fit(X, y)
    # monitor="loss" with a huge min_delta: no epoch improves, so the rate halves
    # after every epoch -- the callback really monitors the routed quantity.
    lr = float(clf.model_.optimizer.learning_rate.numpy())
    # The first epoch improves on no loss at all; each of the three others halves it.
    assert lr == pytest.approx(0.1 * 0.5**3)
    assert given.monitor == "val_loss" and given.patience == 10


def test_a_callback_that_does_not_keep_its_arguments_is_a_clear_error():
    class Opaque(keras.callbacks.Callback):
        def __init__(self, threshold=1.0, scale=1.0):
            super().__init__()
            self.threshold = threshold
            self._scale = scale  # kept under another name

    clf = KerasClassifier(tiny_mlp, callbacks=[Opaque(scale=3.0)], callbacks__0__threshold=2.0)
    with pytest.raises(ValueError, match="does not keep its constructor argument 'scale'"):
        clf.fit(X, y)
    # Keras' ModelCheckpoint is one: the class's example names what it needs (it
    # named an argument the user never gave, and not the file path).
    checkpoint = KerasClassifier(tiny_mlp, callbacks=[keras.callbacks.ModelCheckpoint(
        "best.keras")], callbacks__0__save_best_only=True)
    with pytest.raises(ValueError, match=r"Give the class ModelCheckpoint in its place, with "
                                         r"its arguments routed \(callbacks__0__"
                                         r"filepath=\.\.\., callbacks__0__save_best_only="
                                         r"\.\.\.; callbacks__0__initial_value_threshold=\.\.\. "
                                         r"too where the instance was given one\)\.$"):
        checkpoint.fit(X, y)
    # fit__ callbacks are named as such (as "fit=[Opaque]" before; found in review), and
    # the argument the instance does not keep, which it may have been given
    opaque = KerasClassifier(tiny_mlp, fit__callbacks=[Opaque(scale=3.0)],
                             fit__callbacks__0__threshold=2.0)
    with pytest.raises(ValueError, match=r"Opaque in its place.*\(fit__callbacks__0__"
                                         r"threshold=\.\.\.; fit__callbacks__0__scale=\.\.\. too "
                                         r"where the instance was given one\)\.$"):
        opaque.fit(X, y)
    kept = KerasClassifier(tiny_mlp, epochs=1, callbacks=[keras.callbacks.EarlyStopping(
        monitor="loss", patience=7)], callbacks__0__min_delta=0.5)
    with pytest.raises(ValueError, match=r"CSVLogger in its place.*\(callbacks__0__filename="
                                         r"\.\.\., callbacks__0__append=\.\.\.; "):
        KerasClassifier(tiny_mlp, callbacks=[keras.callbacks.CSVLogger("log.csv")],
                        callbacks__0__append=True).fit(X, y)
    assert kept.fit(X, y).model_ is not None  # (one that keeps them is built again)

    class Scaled:  # a loss of one's own, not in a list (it was told as loss=[Scaled])
        def __init__(self, scale=1.0, hidden=0):
            self.scale, self._hidden = scale, hidden

        def __call__(self, y_true, y_pred):
            return keras.losses.binary_crossentropy(y_true, y_pred) * self.scale

    with pytest.raises(ValueError, match=r"Scaled in its place, with its arguments routed "
                                         r"\(loss__scale=\.\.\.; loss__hidden="):
        KerasClassifier(tiny_mlp, loss=Scaled(), loss__scale=2.0).fit(X, y)


@pytest.mark.parametrize("cls", [
    keras.callbacks.EarlyStopping, keras.callbacks.ReduceLROnPlateau,
    keras.callbacks.TerminateOnNaN, keras.callbacks.LearningRateScheduler,
])
def test_keras_callbacks_are_rebuilt_with_the_same_arguments(cls):
    cb = cls(lambda epoch, lr: lr) if cls is keras.callbacks.LearningRateScheduler else cls()
    args = _routed_objects._rebuild_args(cb, {}, "callbacks__0")[0]
    rebuilt = cls(**args)
    for name, value in args.items():
        assert getattr(rebuilt, name) == value


def test_optimizer_instances_are_copied_with_routed_parameters():
    given = keras.optimizers.Adam(learning_rate=0.5)
    made = objects.make_optimizer(given, {"learning_rate": 0.01})
    assert made is not given
    assert float(made.learning_rate) == pytest.approx(0.01)
    assert float(given.learning_rate) == pytest.approx(0.5)
    assert np.isfinite(float(made.beta_1))


class _OwnBinaryLoss(keras.losses.Loss):
    """A loss class of the user's own, not registered with Keras."""

    def call(self, y_true, y_pred):
        return keras.ops.mean(keras.losses.binary_crossentropy(y_true, y_pred))


def test_whole_and_numpy_numbers_reach_keras_optimizers_as_floats():
    # Found in an audit: Keras' optimizers check their settings by type, so
    # a grid of {"optimizer__momentum": [0, 0.9]} or of np.float32 learning
    # rates failed inside Keras ("must be a float"), each candidate scoring NaN.
    from sklearn.model_selection import GridSearchCV

    grid = {"optimizer__momentum": [0, np.float32(0.5)],
            "optimizer__learning_rate": [1, *np.array([0.05], dtype=np.float32)]}
    for optimizer in ("sgd", keras.optimizers.SGD(0.1)):
        clf = KerasClassifier(tiny_mlp, loss="binary_crossentropy", optimizer=optimizer,
                              epochs=1, random_state=0)
        search = GridSearchCV(clf, grid, cv=2, error_score="raise").fit(X, y)
        config = search.best_estimator_.model_.optimizer.get_config()
        assert config["momentum"] in (0.0, 0.5) and type(config["momentum"]) is float
        assert float(config["learning_rate"]) in (1.0, pytest.approx(0.05))
    made = objects.make_optimizer("adam", {"learning_rate": np.longdouble(0.01)})
    assert float(made.learning_rate) == pytest.approx(0.01)
    # A class of the user's gets the values as given.
    made = objects.make_optimizer(SteppedSGD, {"alpha": 1, "learning_rate": 0.5})
    assert type(made.alpha) is int
    made = objects.make_optimizer("sgd", {"momentum": np.float64(0), "nesterov": np.bool_(True)})
    assert made.momentum == 0.0 and made.nesterov is True


class SteppedSGD(keras.optimizers.SGD):
    def __init__(self, alpha=0.5, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha


def test_a_loss_instance_of_an_unregistered_class_of_the_users_own_trains():
    # Keras copies a Loss through its serialised form, which needs a registered
    # class: the instance is used as it is, as Keras' compile uses it.
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    loss = _OwnBinaryLoss()
    given = KerasClassifier(tiny_mlp, loss=loss, epochs=2, random_state=0).fit(X, y)
    from_class = KerasClassifier(tiny_mlp, loss=_OwnBinaryLoss, epochs=2,
                                 random_state=0).fit(X, y)
    assert given.history_ == from_class.history_
    assert given.model_.loss is loss  # used as given, as Keras' compile uses it
    assert isinstance(given.model_.loss, _OwnBinaryLoss)


def test_a_loss_instance_is_used_as_given():
    # As Keras' compile and scikeras use it: a copy made from its config would
    # lose what the config leaves out (Huber's delta, a user class's own settings).
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    huber = keras.losses.Huber(delta=0.1)
    reg = KerasRegressor(tiny_mlp, loss=huber, epochs=1, random_state=0).fit(X, y.astype(float))
    assert reg.model_.loss is huber
    assert huber.get_config() == keras.losses.Huber(delta=0.1).get_config()  # untouched


def test_clones_and_pickles_keep_what_a_loss_config_leaves_out(tmp_path):
    # Keras copies a loss through its config, and Huber's leaves its delta out:
    # GridSearchCV's clones and worker processes' copies trained Huber(1.0).
    import pickle

    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    import keraslearn

    X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    y = 30.0 * (y + X[:, 0])
    given = KerasRegressor(tiny_mlp, loss=keras.losses.Huber(delta=0.1), epochs=2,
                           random_state=0)
    routed = KerasRegressor(tiny_mlp, loss="huber", loss__delta=0.1, epochs=2, random_state=0)
    in_a_list = given.set_params(loss=[given.loss])  # a loss per output: the same
    for copied in (clone(in_a_list), pickle.loads(pickle.dumps(in_a_list))):
        assert float(copied.loss[0](np.ones(1), np.zeros(1))) == pytest.approx(0.095)
    given.set_params(loss=given.loss[0])
    for copied in (clone(given), pickle.loads(pickle.dumps(given))):
        assert float(copied.loss(np.ones(1), np.zeros(1))) == pytest.approx(0.095)
    np.testing.assert_array_equal(cross_val_score(given, X, y, cv=2),
                                  cross_val_score(routed, X, y, cv=2))
    # keraslearn.save cannot store it by its config: the file says so, and predicts.
    fitted = given.fit(X, y)
    loaded = keraslearn.load(keraslearn.save(fitted, tmp_path / "huber.keraslearn"))
    np.testing.assert_allclose(loaded.predict(X), fitted.predict(X), rtol=1e-6)
    with pytest.raises(ValueError, match="its config leaves out settings it holds"):
        loaded.fit(X, y)


def test_a_loss_class_keras_cannot_find_by_name_is_cloned_and_searched():
    # Registering a loss matters for saving a model; a search clones its
    # estimator, which used to copy the loss through Keras' config and fail.
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    class Unregistered(keras.losses.Loss):  # local: Keras cannot find it by name
        def __init__(self, scale=2.0, **kwargs):
            super().__init__(**kwargs)
            self.scale = scale

        def call(self, y_true, y_pred):
            return self.scale * keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    loss = Unregistered(3.0)
    reg = KerasRegressor(tiny_mlp, loss=[loss], epochs=1, random_state=0)
    copied = clone(reg)
    assert copied.loss[0] is loss and copied.get_params()["epochs"] == 1
    search = GridSearchCV(reg.set_params(loss=loss), {"epochs": [1, 2]}, cv=2).fit(X, y * 1.0)
    assert search.best_estimator_.loss is loss
    assert clone(search.best_estimator_).loss is loss


def test_metrics_and_optimizers_of_unregistered_classes_are_cloned_and_searched():
    # Keras copies a metric or optimizer through its config and finds its class
    # by its registered name: clone (every search's) failed for a class of the
    # user's not registered. The copy is made from its config with its class.
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    class Total(keras.metrics.Metric):  # local: Keras cannot find them by name
        def __init__(self, name="total", scale=1.0, **kwargs):
            super().__init__(name=name, **kwargs)
            self.scale = scale
            self.total = self.add_weight(name="total", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.total.assign_add(self.scale * keras.ops.sum(keras.ops.cast(y_true, "float32")))

        def result(self):
            return self.total

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    class SlowAdam(keras.optimizers.Adam):
        pass

    metric, optimizer = Total(scale=2.0), SlowAdam(learning_rate=0.003)
    clf = KerasClassifier(tiny_mlp, loss="binary_crossentropy",
                          metrics=[metric, "accuracy"], optimizer=optimizer, epochs=1,
                          random_state=0, fit__callbacks=[keras.callbacks.History()])
    copied = clone(clf)
    (copied_metric, accuracy), copied_optimizer = copied.metrics, copied.optimizer
    assert type(copied_metric) is Total and copied_metric is not metric
    assert copied_metric.scale == 2.0 and accuracy == "accuracy"
    assert type(copied_optimizer) is SlowAdam and copied_optimizer is not optimizer
    assert float(copied_optimizer.learning_rate) == pytest.approx(0.003)
    search = GridSearchCV(clf, {"epochs": [1, 2]}, cv=2).fit(X, y)
    history = search.best_estimator_.history_
    assert history["total"][-1] == pytest.approx(2.0 * y.sum())
    assert type(search.best_estimator_.model_.optimizer) is SlowAdam
    assert clf.metrics[0] is metric and clf.optimizer is optimizer

    class Forgetful(Total):  # (found in review: a bare TypeError from __init__)
        def get_config(self):
            return {"name": self.name}

        def __init__(self, scale, **kwargs):
            super().__init__(scale=scale, **kwargs)

    with pytest.raises(TypeError, match=r"clone makes the Forgetful instance again from its "
                                        r"get_config\(\), as Keras copies one \(TypeError: .*"
                                        r"scale.*every argument its __init__ takes"):
        clone(clf.set_params(metrics=[Forgetful(3.0)]))


def test_a_pickled_network_continues_with_the_loss_it_was_compiled_with():
    # model_'s compile config leaves Huber's delta out too: a warm start of the
    # unpickled copy trained with Huber(1.0), a loss ten times the original's.
    import pickle

    X, y = make_classification(n_samples=64, n_features=4, random_state=0)
    y = 30.0 * (y + X[:, 0])
    reg = KerasRegressor(tiny_mlp, loss="huber", loss__delta=0.1, epochs=2, random_state=0,
                         warm_start=True).fit(X, y)
    copy = pickle.loads(pickle.dumps(reg))
    assert float(copy.model_.loss(np.ones(1), np.zeros(1))) == pytest.approx(0.095)
    np.testing.assert_allclose(copy.fit(X, y).history_["loss"], reg.fit(X, y).history_["loss"],
                               rtol=1e-6)


class _TwoOutputs(KerasRegressor):
    @property
    def target_encoder(self):
        return ColumnTargets("ab")


def _two_outputs(meta):
    inputs = keras.Input((3,))
    return keras.Model(inputs, {name: keras.layers.Dense(1, name=name)(inputs) for name in "ab"})


def test_a_pickled_network_keeps_a_loss_given_per_output():
    # Keras holds a compiled loss per output in a dict of its own, which pickle's
    # carrying of the exact loss passed over: the copy evaluated with Huber(1.0).
    import pickle

    X = np.random.RandomState(0).rand(30, 3)
    Y = np.c_[X.sum(axis=1), 2 * X.sum(axis=1)]
    est = _TwoOutputs(_two_outputs, loss={"a": "huber", "b": "mse"}, loss__a__delta=0.2,
                      epochs=2, random_state=0).fit(X, Y)
    copy = pickle.loads(pickle.dumps(est))
    # Huber(0.2) of an error of 1: 0.2 * (1 - 0.2 / 2)
    assert float(copy.model_.loss["a"](np.ones((1, 1)), np.zeros((1, 1)))) == pytest.approx(0.18)
    targets = {"a": Y[:, 0], "b": Y[:, 1]}
    np.testing.assert_allclose(copy.model_.evaluate(X, targets, verbose=0),
                               est.model_.evaluate(X, targets, verbose=0), rtol=1e-6)


def _huber_compiled_by_the_builder(meta):
    model = tiny_mlp(meta)
    model.compile(loss=keras.losses.Huber(delta=0.1), optimizer="adam")
    return model


def test_a_loaded_network_continues_with_the_loss_it_was_compiled_with(tmp_path):
    # The .keras file's compile config leaves Huber's delta out as pickle's did:
    # a warm start or partial_fit of the loaded estimator trained with Huber(1.0).
    import pickle

    import keraslearn

    X, y = make_classification(n_samples=64, n_features=4, random_state=0)
    y = 30.0 * (y + X[:, 0])
    trust = ["builders.tiny_mlp", f"{__name__}._huber_compiled_by_the_builder"]
    reg = KerasRegressor(tiny_mlp, loss="huber", loss__delta=0.1, epochs=2, random_state=0,
                         warm_start=True).fit(X, y)
    path = keraslearn.save(reg, tmp_path / "routed.keraslearn")
    pickled = pickle.dumps(reg)  # pickle carries the loss (tested above)
    np.testing.assert_allclose(keraslearn.load(path, trusted=trust).partial_fit(X, y).predict(X),
                               pickle.loads(pickled).partial_fit(X, y).predict(X), rtol=1e-5)
    loaded = keraslearn.load(path, trusted=trust)
    # compiled with it at load: the network's own loss and evaluate say what it trained with
    assert float(loaded.model_.loss(np.ones(1), np.zeros(1))) == pytest.approx(0.095)
    np.testing.assert_allclose(loaded.model_.evaluate(X, y, verbose=0),
                               reg.model_.evaluate(X, y, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(loaded.fit(X, y).history_["loss"],
                               reg.fit(X, y).history_["loss"], rtol=1e-6)

    # A loss instance is not stored: given again, the warm start trains with it.
    given = KerasRegressor(tiny_mlp, loss=keras.losses.Huber(delta=0.1), epochs=2,
                           random_state=0, warm_start=True).fit(X, y)
    loaded = keraslearn.load(keraslearn.save(given, tmp_path / "given.keraslearn"),
                             trusted=trust)
    loaded.set_params(loss=keras.losses.Huber(delta=0.1))
    np.testing.assert_allclose(loaded.fit(X, y).history_["loss"],
                               given.fit(X, y).history_["loss"], rtol=1e-6)

    # A builder's own compiled Huber: the file cannot say its delta, so
    # continuing is refused (and the estimator kept); a new fit is not.
    own = KerasRegressor(_huber_compiled_by_the_builder, epochs=2, random_state=0,
                         warm_start=True).fit(X, y)
    loaded = keraslearn.load(keraslearn.save(own, tmp_path / "own.keraslearn"), trusted=trust)
    before = loaded.predict(X)
    with pytest.raises(ValueError, match="compiled with a Huber loss compiled by the model "
                       "builder.*warm_start=False"):
        loaded.fit(X, y)
    np.testing.assert_array_equal(loaded.predict(X), before)
    loaded.set_params(warm_start=False).fit(X, y)
    assert float(loaded.model_.loss(np.ones(1), np.zeros(1))) == pytest.approx(0.095)
    loaded.set_params(warm_start=True).fit(X, y)  # its own network now: continued


@pytest.mark.parametrize("cls, loss", [(KerasRegressor, "mse"), (KerasClassifier, None),
                                       (KerasClassifier, ["binary_crossentropy"]),
                                       (KerasRegressor,
                                        keras.losses.MeanSquaredError(dtype="float64"))],
                         ids=["regressor-mse", "classifier-default", "classifier-per-output",
                              "regressor-float64-instance"])
def test_a_loaded_float64_network_continues_with_its_loss_in_float64(tmp_path, cls, loss):
    # Its loss, made in float64 by the estimator, has a config that leaves the
    # dtype out: the file marked it as compiled by the builder, and partial_fit
    # and warm starts of the loaded estimator were refused.
    import pickle

    import keraslearn

    X, y = make_classification(n_samples=64, n_features=4, random_state=0)
    y = y if cls is KerasClassifier else 3.0 * (y + X[:, 0])
    est = cls(tiny_mlp, dtype="float64", loss=loss, epochs=2, random_state=0,
              warm_start=True).fit(X, y)
    loaded = keraslearn.load(keraslearn.save(est, tmp_path / "f64.keraslearn"),
                             trusted=["builders.tiny_mlp"])
    pickled = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.partial_fit(X, y).predict(X),
                                  pickled.partial_fit(X, y).predict(X))
    compiled = loaded.model_.loss
    for leaf in compiled if isinstance(compiled, list) else [compiled]:  # per output too
        assert keras.backend.standardize_dtype(leaf.dtype) == "float64"
    if isinstance(loss, keras.losses.Loss):  # the parameter itself: stored with its dtype
        assert keras.backend.standardize_dtype(loaded.loss.dtype) == "float64"
    loaded = keraslearn.load(tmp_path / "f64.keraslearn", trusted=["builders.tiny_mlp"])
    np.testing.assert_allclose(loaded.fit(X, y).history_["loss"], est.fit(X, y).history_["loss"],
                               rtol=1e-12)


def test_routed_parameters_cannot_rebuild_a_loss_its_config_leaves_settings_of():
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    est = KerasRegressor(tiny_mlp, loss=keras.losses.Huber(delta=0.1), loss__reduction="sum")
    with pytest.raises(ValueError, match="cannot be applied to the Huber instance.*loss=Huber"):
        est.fit(X, y.astype(float))
    assert not hasattr(est, "model_")
    # An instance whose config says all is rebuilt with them, as before.
    KerasRegressor(tiny_mlp, loss=keras.losses.MeanSquaredError(), loss__reduction="sum",
                   epochs=1).fit(X, y.astype(float))


def test_what_keys_and_copies_of_losses_tell_apart():
    import functools

    import pandas as pd

    # Routed parameters rebuild an instance whose config says all, registered or not.
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    reg = KerasRegressor(tiny_mlp, loss=ScaledSquares(), loss__scale=3.0, epochs=1,
                         random_state=0).fit(X, y.astype(float))
    assert reg.model_.loss.scale == 3.0
    # Keys: values Keras' config or a repr would not show part them.
    assert objects.loss_key(functools.partial(np.dot, np.zeros(2000))) != objects.loss_key(
        functools.partial(np.dot, np.ones(2000)))
    series = [keras.losses.MeanSquaredError(), keras.losses.MeanSquaredError()]
    series[0].weights, series[1].weights = pd.Series([1.0, 1.0]), pd.Series([1.0, 1000.0])
    assert objects.loss_key(series[0]) != objects.loss_key(series[1])
    # A loss whose attributes pickle cannot carry is left to Keras' own pickling.
    huber = keras.losses.Huber(delta=0.1)
    assert isinstance(objects.ExactLoss.of(huber), objects.ExactLoss)
    huber.lock = __import__("threading").Lock()
    assert objects.ExactLoss.of(huber) is huber
    # A functools.partial loss trains (its compile config is one Keras cannot write).
    half = functools.partial(keras.losses.huber, delta=0.5)
    KerasRegressor(tiny_mlp, loss=half, epochs=1, random_state=0).fit(X, y.astype(float))


def test_a_class_made_without_an_argument_it_needs_is_refused_before_training():
    # MLPClassifier(callbacks=[ModelCheckpoint]) failed with Python's bare
    # "__init__() missing 1 required positional argument: 'filepath'".
    from keraslearn import MLPClassifier

    for est in (MLPClassifier(max_iter=1, callbacks=[keras.callbacks.ModelCheckpoint]),
                KerasClassifier(tiny_mlp, callbacks=[keras.callbacks.ModelCheckpoint]),
                KerasClassifier(tiny_mlp, metrics=[keras.metrics.MeanMetricWrapper])):
        with pytest.raises(ValueError, match=r"__0: (ModelCheckpoint|MeanMetricWrapper) needs "
                                             r"the argument\(s\) \['(filepath|fn)'\], which it "
                                             r"is made without: give an instance, (ModelCheckpoint"
                                             r"\(filepath=\.\.\.\), or, where the estimator "
                                             r"routes parameters, callbacks__0__filepath=|"
                                             r"MeanMetricWrapper)"):
            est.fit(X, y)
        assert not hasattr(est, "model_")

    class NamedCallback(keras.callbacks.Callback):  # a name only metrics are given
        def __init__(self, name):
            super().__init__()
            self.name = name

    with pytest.raises(ValueError, match=r"NamedCallback needs the argument\(s\) \['name'\]"):
        KerasClassifier(tiny_mlp, callbacks=[NamedCallback]).fit(X, y)

    class PlainMetric:  # a metric function object, not a keras.metrics.Metric: no name given
        def __init__(self, name):
            self.name = name

    with pytest.raises(ValueError, match=r"PlainMetric needs the argument\(s\) \['name'\]"):
        KerasClassifier(tiny_mlp, metrics=[PlainMetric]).fit(X, y)
    routed = KerasClassifier(tiny_mlp, epochs=1, callbacks=[keras.callbacks.LambdaCallback],
                             callbacks__0__on_train_end=lambda logs: None).fit(X, y)
    assert routed.model_ is not None  # (one whose arguments all have defaults, as before)

    class Named(keras.metrics.MeanSquaredError):  # a name needed: given (found in review)
        def __init__(self, name, dtype=None):
            super().__init__(name=name, dtype=dtype)

    named = KerasClassifier(tiny_mlp, epochs=1, metrics=[Named]).fit(X, y)
    assert len(named.history_) == 2
