"""Plain dense networks train through one traced function per depth, whatever
their widths, and end exactly where Keras' own fit ends: the same weights, the
same optimizer state, the same history."""

import functools
import gc
import weakref
from unittest import mock

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

import keraslearn
from keraslearn import KerasClassifier, KerasRegressor, MLPClassifier, MLPRegressor
from keraslearn._engine._dense_chain import dense_chains
from keraslearn._engine._plain_networks import chain_metrics
from keraslearn.wrappers import BaseWrapper

X, y = make_classification(90, 5, n_informative=3, n_classes=3, random_state=0)
X = X.astype("float32")
y_binary = (y == 1).astype(int)
Xr, yr = make_regression(90, 4, n_targets=2, noise=1.0, random_state=0)


def stack(meta, hidden=7, depth=1, activation="relu", dtype="float32", regularizer=None,
          dropout=None):
    """``depth`` hidden layers of ``hidden`` units, each followed by a Dropout
    of rate ``dropout`` if given (scikeras' MLP example), then the output the
    target needs."""
    layers = [keras.Input((meta["n_features_in_"],), dtype=dtype)]
    for _ in range(depth):
        layers.append(keras.layers.Dense(hidden, activation=activation, dtype=dtype,
                                         kernel_regularizer=regularizer))
        if dropout is not None:
            layers.append(keras.layers.Dropout(dropout, dtype=dtype))
    if meta["target_type_"] == "binary":
        layers.append(keras.layers.Dense(1, activation="sigmoid", dtype=dtype))
    elif "classes_" in meta:
        layers.append(keras.layers.Dense(meta["n_classes_"], activation="softmax", dtype=dtype))
    else:
        layers.append(keras.layers.Dense(meta["n_outputs_"], dtype=dtype))
    return keras.Sequential(layers)


def added(meta, hidden_layer_sizes=(6, 5), dropout=0.2):
    """scikeras' tutorial builder: layers given one by one to ``add`` (Keras
    builds the graph again at each, so the layers' first calls do not link)."""
    model = keras.Sequential()
    model.add(keras.layers.Input(shape=(meta["n_features_in_"],)))
    for size in hidden_layer_sizes:
        model.add(keras.layers.Dense(size, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(meta["n_classes_"], activation="softmax"))
    return model


def functional(meta, hidden=6):
    inputs = keras.Input((meta["n_features_in_"],))
    hidden_out = keras.layers.Dense(hidden, activation="elu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(meta["n_classes_"], activation="softmax")(
        hidden_out))


def _fit_both(make, data, fit=lambda est, X, y: est.fit(X, y)):
    """The estimator fitted through the dense chain, and through Keras' fit."""
    out = []
    for share in (True, False):
        with keraslearn.config_context(share_traced_functions=share), mock.patch.object(
            dense_chains, "fit", wraps=dense_chains.fit
        ) as spy:
            est = fit(make(), *data)
        out.append((est, spy.call_count))
    (chained, calls), (keras_fit, _) = out
    assert calls > 0, "the fit did not take the dense chain"
    return chained, keras_fit


def _assert_same_state(a, b):
    # The network's variables hold its dropouts' seed states too.
    for u, v in zip(a.model_.variables + a.model_.optimizer.variables,
                    b.model_.variables + b.model_.optimizer.variables, strict=True):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-6, atol=1e-7,
                                   err_msg=u.path)
    assert a.history_.keys() == b.history_.keys()
    for key in a.history_:
        np.testing.assert_allclose(a.history_[key], b.history_[key], rtol=1e-6, err_msg=key)


CLASSIFIERS = {
    "adam-sparse": dict(loss="sparse_categorical_crossentropy"),
    "adam-onehot-two-layers-tanh": dict(loss="categorical_crossentropy", depth=2,
                                        activation="tanh"),
    "sgd-nesterov-balanced": dict(loss="sparse_categorical_crossentropy", optimizer="sgd",
                                  optimizer__momentum=0.9, optimizer__nesterov=True,
                                  class_weight="balanced"),
    "sgd-plain-loss-object": dict(loss=keras.losses.CategoricalCrossentropy(
        label_smoothing=0.1), optimizer="sgd", optimizer__learning_rate=0.1),
    "rmsprop-momentum": dict(loss="sparse_categorical_crossentropy", optimizer="rmsprop",
                             optimizer__momentum=0.5),
    "functional": dict(model=functional, loss="sparse_categorical_crossentropy"),
    "sequential-add": dict(model=added, loss="sparse_categorical_crossentropy",
                           model__dropout=0.3),
    # Compiled accuracies, chosen by Keras from the targets' and outputs' shapes.
    "accuracy-sparse": dict(loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
    "accuracy-onehot-acc-too": dict(loss="categorical_crossentropy", metrics=["accuracy", "acc"],
                                    class_weight="balanced"),
    # scikeras' MLP example: Dropout after each hidden layer.
    "dropout": dict(loss="sparse_categorical_crossentropy", dropout=0.3,
                    metrics=["accuracy"]),
    "dropout-two-layers-sgd": dict(loss="sparse_categorical_crossentropy", depth=2,
                                   dropout=0.5, optimizer="sgd"),
    "dropout-rate-zero": dict(loss="sparse_categorical_crossentropy", dropout=0.0),
    # Other metrics by name that Keras computes as means over samples.
    "named-metrics-sparse": dict(loss="sparse_categorical_crossentropy", metrics=[
        "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy",
        "sparse_categorical_crossentropy"]),
    "named-metrics-onehot": dict(loss="categorical_crossentropy", optimizer="sgd",
                                 metrics=["categorical_accuracy", "kl_divergence"]),
    # Objects of Keras' own metric classes, made again from their configs.
    "metric-objects": dict(loss="sparse_categorical_crossentropy", metrics=[
        "accuracy", keras.metrics.SparseCategoricalAccuracy(name="accuracy_object"),
        keras.metrics.SparseCategoricalCrossentropy(name="xent")]),
}


@pytest.mark.parametrize("kwargs", CLASSIFIERS.values(), ids=CLASSIFIERS.keys())
def test_a_classifier_trains_as_keras_fit_trains_it(kwargs):
    kwargs = {"model": stack, "optimizer": "adam", **kwargs}
    chained, keras_fit = _fit_both(
        lambda: KerasClassifier(**kwargs, epochs=3, batch_size=16, random_state=1), (X, y)
    )
    _assert_same_state(chained, keras_fit)


@pytest.mark.parametrize("metrics", [
    None, ["accuracy"], ["binary_accuracy", "mse", "accuracy"],
    ["auc", "precision", "recall", "accuracy"],
    ["accuracy", keras.metrics.AUC(num_thresholds=50, from_logits=False),
     keras.metrics.BinaryAccuracy(threshold=0.3), keras.metrics.Precision(thresholds=0.3)],
], ids=["no-metric", "accuracy", "named-metrics", "counting-metrics", "metric-objects"])
def test_binary_sample_weights_and_float64(metrics):
    weights = np.linspace(0.5, 2.0, len(y))
    # KerasClassifier's default optimizer, as scikeras': RMSprop.
    chained, keras_fit = _fit_both(
        lambda: KerasClassifier(stack, dtype="float64", loss="binary_crossentropy",
                                epochs=3, batch_size=32, random_state=2, metrics=metrics),
        (X, y_binary), lambda est, X, y: est.fit(X, y, sample_weight=weights),
    )
    assert chained.model_.weights[0].dtype == "float64"
    assert ("accuracy" in chained.history_) == bool(metrics)
    _assert_same_state(chained, keras_fit)


def test_a_float64_floatx_trains_through_keras_fit():
    """Keras' fit keeps its loss, metrics and learning rate in floatx, which
    the chain keeps in float32: with floatx float64 the fit goes through Keras'
    fit, and its history and weights are those of Keras' fit exactly."""
    keras.config.set_floatx("float64")
    try:
        fits = []
        for share in (True, False):
            with keraslearn.config_context(share_traced_functions=share), mock.patch.object(
                    dense_chains, "fit", wraps=dense_chains.fit) as spy:
                fits.append(KerasRegressor(stack, dtype="float64", epochs=3, batch_size=16,
                                           random_state=0).fit(Xr, yr))
            assert spy.call_count == 0
    finally:
        keras.config.set_floatx("float32")
    assert fits[0].history_["loss"] == fits[1].history_["loss"]
    for u, v in zip(fits[0].model_.weights, fits[1].model_.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


@pytest.mark.parametrize("metrics, dropout", [
    (None, None), (["mae", "mean_squared_logarithmic_error"], None), (None, 0.2)],
    ids=["no-metric", "named-metrics", "dropout"])
def test_a_regressor_and_its_partial_fits(metrics, dropout):
    """Each partial fit starts from the state the last one left: weights,
    optimizer, and the dropouts' seed generators."""
    def fit(est, X, y):
        for _ in range(3):
            est.partial_fit(X, y)
        return est

    chained, keras_fit = _fit_both(
        lambda: KerasRegressor(stack, hidden=5, loss="mse", optimizer="adam", batch_size=20,
                               random_state=3, metrics=metrics, dropout=dropout),
        (Xr, yr), fit,
    )
    assert int(chained.model_.optimizer.iterations) == 3 * 5
    # history_ names metrics in full, as scikeras does.
    named = {"mean_absolute_error", "mean_squared_logarithmic_error"} if metrics else set()
    assert set(chained.history_) == {"loss"} | named
    _assert_same_state(chained, keras_fit)
    np.testing.assert_allclose(chained.predict(Xr), keras_fit.predict(Xr), rtol=1e-6)


def test_one_trace_serves_every_dropout_rate_of_a_search():
    dense_chains.clear()
    GridSearchCV(
        KerasClassifier(stack, dropout=0.1, loss="sparse_categorical_crossentropy", epochs=2,
                        batch_size=16, random_state=0),
        {"dropout": [0.1, 0.25, 0.5], "hidden": [4, 9]}, cv=2,
    ).fit(X, y)
    (traced,) = dense_chains._traces.values()
    assert traced.fit.experimental_get_tracing_count() == 1


def test_one_trace_serves_every_width_of_a_search():
    dense_chains.clear()
    search = GridSearchCV(
        KerasClassifier(stack, loss="sparse_categorical_crossentropy", epochs=2,
                        batch_size=16, random_state=0),
        {"hidden": [3, 8, 16, 32]}, cv=2,
    ).fit(X, y)
    assert search.best_estimator_.model_.layers[0].units == search.best_params_["hidden"]
    assert len(dense_chains) == 1
    (traced,) = dense_chains._traces.values()
    assert traced.fit.experimental_get_tracing_count() == 1


def test_a_call_interrupted_drops_its_traced_functions():
    # found in an audit: Ctrl-C inside TensorFlow's call of a traced function may
    # leave its lock held, and every later fit of that depth in another thread
    # (joblib's threading backend) waited on it for ever. The interrupted call's
    # functions are dropped: later fits trace their own.
    dense_chains.clear()
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    before = est.predict_proba(X)
    ((key, traced),) = dense_chains._traces.items()

    def interrupted(*args):
        raise KeyboardInterrupt

    dense_chains._traces[key] = traced._replace(fit=interrupted)
    with pytest.raises(KeyboardInterrupt):
        est.set_params(hidden_layer_sizes=(6,)).fit(X, y)
    assert key not in dense_chains._traces
    np.testing.assert_array_equal(est.predict_proba(X), before)  # as it was
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    assert dense_chains._traces[key].fit is not interrupted
    assert est.model_.layers[0].units == 6


class _Count(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


@keras.saving.register_keras_serializable("keraslearn_tests")
class _OwnAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """A metric class of the user's (it may compute what its config leaves out)."""


def _predicted(y_true, y_pred):
    return y_pred


class _BatchCount(_Count):
    def on_train_batch_end(self, batch, logs=None):
        pass


class _Doubled:
    """An activation given as an object (no get_config)."""

    def __call__(self, x):
        return keras.ops.relu(x) * 2.0


NOT_PLAIN = {
    "a callback of the user's": dict(callbacks=[_Count()]),
    # found in an audit: asking Keras to name them failed the fit ("Cannot serialize")
    "a partial activation": dict(activation=functools.partial(keras.activations.leaky_relu,
                                                              negative_slope=0.9)),
    "an activation object": dict(activation=_Doubled()),
    "a batch callback": dict(callbacks=[_BatchCount()]),
    "a metric class of the user's": dict(metrics=["accuracy", _OwnAccuracy()]),
    "weighted metrics": dict(compile__weighted_metrics=["accuracy"]),
    "an L1 penalty": dict(regularizer="l1"),
    "AdamW": dict(optimizer="adamw"),
    "a schedule": dict(optimizer__learning_rate=keras.optimizers.schedules.ExponentialDecay(
        0.01, 10, 0.9)),
    "printing": dict(verbose=1),
}


def test_only_metrics_keras_averages_over_samples_are_computed_in_the_chain():
    binary = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    assert chain_metrics(binary, {"metrics": ["acc", "mae", "binary_crossentropy"]},
                         (None, 1)) == [("binary_accuracy", "acc"), ("mae", "mae"),
                                        ("binary_crossentropy", "binary_crossentropy")]
    softmax = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="softmax")])
    assert chain_metrics(softmax, {"metrics": "accuracy"}, (None,)) == [
        ("sparse_categorical_accuracy", "accuracy")]
    assert chain_metrics(softmax, {"metrics": ["accuracy"]}, (None, 4)) == [
        ("categorical_accuracy", "accuracy")]
    assert chain_metrics(softmax, {"metrics": None}, (None,)) == []
    # Counts over thresholds start at zeros too.
    assert chain_metrics(binary, {"metrics": ["accuracy", "auc", "precision"]}, (None, 1)) == [
        ("binary_accuracy", "accuracy"), ("auc", "auc"), ("precision", "precision")]
    # State made at the first update (R2's sums, F1's), or no such name.
    for metrics in (["r2_score"], ["accuracy", "f1_score"], ["no_such_metric"]):
        assert chain_metrics(binary, {"metrics": metrics}, (None, 1)) is None, metrics
    # Objects of Keras' own classes, named by their configs; not a function of
    # the user's inside Keras' wrapper, nor AUC's state made at its first update.
    for objects, expected in [
        ([keras.metrics.AUC(name="auc_21"), keras.metrics.MeanSquaredError()],
         ["auc_21", "mean_squared_error"]),
        ([keras.metrics.MeanMetricWrapper(_predicted, name="mine")], None),
        ([keras.metrics.AUC(multi_label=True)], None),
        # (its config names from_sorted_ids only when True: found in review)
        ([keras.metrics.SparseTopKCategoricalAccuracy(2, name="top2")], ["top2"]),
        # results of several numbers, or in another dtype than the metric's (the
        # chain failed where Keras' fit gives them: found in review)
        ([keras.metrics.Recall(thresholds=[0.3, 0.7])], None),
        ([keras.metrics.AUC(dtype="float64")], None),
        ([keras.metrics.R2Score()], None),
        # (two named alike: Keras' compile logs the second as precision_1)
        ([keras.metrics.Precision(name="p"), keras.metrics.Recall(name="p")], None),
    ]:
        config = {"metrics": [keras.metrics.serialize(m) for m in objects]}
        got = chain_metrics(binary, config, (None, 1))
        assert (got if got is None else [name for _, name in got]) == expected


def test_metrics_of_several_numbers_or_another_dtype_train_through_keras_fit():
    def build(meta):
        model = stack(meta)
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[
            keras.metrics.Recall(thresholds=[0.3, 0.7], name="recall"),
            keras.metrics.AUC(dtype="float64", name="auc"),
            keras.metrics.BinaryAccuracy(dtype="float64", name="hits")])
        return model

    fits = []
    for share in (True, False):
        with keraslearn.config_context(share_traced_functions=share):
            fits.append(KerasClassifier(build, epochs=2, batch_size=32, random_state=0).fit(
                X, y_binary))
    assert np.shape(fits[0].history_["recall"]) == (2, 2)
    for key in ("recall", "auc", "hits", "loss"):
        np.testing.assert_allclose(fits[0].history_[key], fits[1].history_[key], rtol=1e-6)


def test_metric_objects_a_builder_makes_anew_share_one_trace():
    # Keras numbers each new AUC() ("auc_21"): every fit of such a builder was
    # traced anew through Keras' fit (0.4 s against 0.04 s); each logs its own name.
    def build(meta):
        model = stack(meta)
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[keras.metrics.AUC()])
        return model

    dense_chains.clear()
    fits = [KerasClassifier(build, epochs=2, batch_size=32, random_state=0).fit(X, y_binary)
            for _ in range(2)]
    assert len(dense_chains) == 1
    names = [next(k for k in fit.history_ if k.startswith("auc")) for fit in fits]
    assert names[0] != names[1] and set(fits[1].history_) == {"loss", names[1]}
    np.testing.assert_allclose(fits[0].history_[names[0]], fits[1].history_[names[1]])
    with keraslearn.config_context(share_traced_functions=False):
        alone = KerasClassifier(build, epochs=2, batch_size=32, random_state=0).fit(X, y_binary)
    name = next(k for k in alone.history_ if k.startswith("auc"))
    np.testing.assert_allclose(fits[1].history_[names[1]], alone.history_[name], rtol=1e-6)


@pytest.mark.parametrize("kwargs", NOT_PLAIN.values(), ids=NOT_PLAIN.keys())
def test_anything_else_trains_through_keras_fit(kwargs, capsys):
    with mock.patch.object(dense_chains, "fit", wraps=dense_chains.fit) as spy:
        est = KerasClassifier(stack, loss="sparse_categorical_crossentropy", epochs=2,
                              batch_size=32, random_state=0, **kwargs).fit(X, y)
    assert spy.call_count == 0
    assert len(est.history_["loss"]) == 2
    for callback in kwargs.get("callbacks", ()):
        assert callback.epochs == 2


def _dense(input_shape, *units, activation=None, input_dtype=None):
    """A builder: Dense layers of ``units`` on inputs of ``input_shape``."""
    def build(meta):
        layers = [keras.Input(input_shape, dtype=input_dtype)]
        layers += [keras.layers.Dense(u, activation="relu") for u in units[:-1]]
        return keras.Sequential(layers + [keras.layers.Dense(units[-1], activation=activation)])

    return build


rng = np.random.default_rng(0)
X3 = rng.normal(size=(80, 1, 5)).astype("float32")
# Data the chain's open widths would read otherwise than Keras does (Keras
# reads the output's static width to give targets its rank and to check their
# shape), or layers reading static shapes: each trains through Keras' fit.
# (builder, loss, X, y, metrics)
SHAPE_BOUND = {
    # BaseWrapper (or a user's target encoder) passes 1-D targets on as they
    # are: through the chain, binary cross-entropy failed and the squared
    # error broadcast y against (n, 1) outputs into an (n, n) matrix.
    "1d-y-one-unit-bce": (_dense((5,), 4, 1, activation="sigmoid"), "binary_crossentropy",
                          X, y_binary, None),
    "1d-y-one-unit-mse": (_dense((5,), 4, 1), "mse", X, y_binary, None),
    "1d-y-one-unit-hinge": (_dense((5,), 4, 1), keras.losses.Hinge(), X, y_binary, None),
    # (n, 1, 1) outputs of 3-D inputs, squeezed by Keras to y's (n, 1)
    "3d-x-one-unit": (_dense((1, 5), 4, 1), "mse", X3, X3[:, 0, :1] * 2, None),
    "3d-x-top-k": (_dense((1, 5), 4, 3, activation="softmax"), keras.losses.
                   SparseCategoricalCrossentropy(), X3, y[:80, None],
                   ["sparse_top_k_categorical_accuracy"]),
    # a float64 input to float32 layers: Keras casts it to float32
    "float64-input": (_dense((5,), 4, 2, input_dtype="float64"), "mse", X, Xr[:, :2],
                      None),
    # glu halves its input's static width
    "glu": (_dense((5,), 4, 4, activation="glu"), "mse", X, Xr[:, :2], None),
    # a loss reduced to one value a row
    "no-reduction": (_dense((5,), 4, 2), keras.losses.MeanSquaredError(reduction=None), X,
                     Xr[:, :2], None),
}


@pytest.mark.parametrize("case", SHAPE_BOUND.values(), ids=SHAPE_BOUND.keys())
def test_data_the_open_widths_would_misread_train_as_keras_fit_trains_them(case):
    build, loss, features, targets, metrics = case
    fitted = []
    for share in (True, False):
        with keraslearn.config_context(share_traced_functions=share), mock.patch.object(
                dense_chains, "fit", wraps=dense_chains.fit) as spy:
            fitted.append(BaseWrapper(build, loss=loss, metrics=metrics, optimizer="adam",
                                      epochs=2, batch_size=16, random_state=1).fit(
                features[:80], targets[:80]))
        assert spy.call_count == 0
    _assert_same_state(*fitted)


def test_targets_not_of_the_output_width_are_refused_as_keras_refuses_them():
    est = BaseWrapper(_dense((5,), 4, 2, activation="sigmoid"), loss="binary_crossentropy",
                      epochs=1)
    with pytest.raises(ValueError, match="must have the same shape"):
        est.fit(X, y_binary[:, None])


def test_features_of_another_width_than_the_input_are_refused_before_the_chain():
    # The chain's traces leave the width of x open: before, the fit failed in
    # a matrix product deep in TensorFlow (In[0]: [16,3], In[1]: [5,4]).
    est = KerasRegressor(_dense((5,), 4, 1), loss="mse", epochs=1, batch_size=16)
    with mock.patch.object(dense_chains, "fit", wraps=dense_chains.fit) as spy, \
            pytest.raises(ValueError, match="X has 3 features, but the model's input takes 5 "):
        est.fit(Xr[:, :3], yr[:, 0])
    assert spy.call_count == 0


@pytest.mark.parametrize("noise", [
    lambda: keras.layers.Dropout(0.3, noise_shape=(None, 1)),
    lambda: keras.layers.GaussianNoise(0.1),
    lambda: keras.layers.AlphaDropout(0.2),
], ids=["dropout-with-a-noise-shape", "gaussian-noise", "alpha-dropout"])
def test_random_layers_other_than_plain_dropout_train_through_keras_fit(noise):
    def build(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(5, activation="relu"), noise(),
                                 keras.layers.Dense(meta["n_classes_"], activation="softmax")])

    with mock.patch.object(dense_chains, "fit", wraps=dense_chains.fit) as spy:
        est = KerasClassifier(build, loss="sparse_categorical_crossentropy", epochs=2,
                              random_state=0).fit(X, y)
    assert spy.call_count == 0
    assert len(est.history_["loss"]) == 2


def test_a_hook_given_to_a_callback_object_sends_the_fit_through_keras_fit():
    seen = []
    hooked = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(
        batch))
    with mock.patch.object(dense_chains, "fit", wraps=dense_chains.fit) as spy:
        KerasClassifier(stack, loss="sparse_categorical_crossentropy", epochs=2, batch_size=32,
                        random_state=0, callbacks=[hooked]).fit(X, y)
    assert spy.call_count == 0
    assert seen == [0, 1, 2] * 2


def test_epoch_callbacks_run_between_epochs_as_keras_fit_runs_them():
    """Keras' own epoch-level callbacks (stopping, a learning rate schedule on
    a plateau) and the user's: the same epochs, logs, weights and state."""
    stoppers = []

    def make():
        stoppers.append(keras.callbacks.EarlyStopping(
            monitor="accuracy", patience=2, min_delta=0.02, restore_best_weights=True))
        return KerasClassifier(
            stack, loss="sparse_categorical_crossentropy", optimizer="adam", epochs=12,
            batch_size=16, random_state=4, metrics=["accuracy"], callbacks=[
                keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.9),
                keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0,
                                                  min_delta=0.05),
                stoppers[-1]])

    chained, keras_fit = _fit_both(make, (X, y))
    _assert_same_state(chained, keras_fit)
    ours, theirs = stoppers
    assert 2 < len(chained.history_["loss"]) < 12  # stopped early, as Keras' fit stopped
    assert ours.stopped_epoch == theirs.stopped_epoch and ours.best_epoch == theirs.best_epoch
    # The schedule took 10% off at every epoch, the plateau rule half at some.
    ratios = np.divide(chained.history_["learning_rate"][1:],
                       chained.history_["learning_rate"][:-1])
    assert np.isclose(ratios, 0.9, rtol=1e-5).any() and np.isclose(ratios, 0.45, rtol=1e-5).any()


def test_validation_rows_are_scored_between_epochs_as_keras_fit_scores_them():
    """scikeras' most common pattern: validation_split with metrics and
    EarlyStopping on val_loss restoring the best weights, trained through
    the chain: the same val_ logs, stopping epoch, weights and state."""
    stoppers = []

    def make():
        stoppers.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=1, min_delta=0.01, restore_best_weights=True))
        return KerasClassifier(
            stack, loss="sparse_categorical_crossentropy", optimizer="adam",
            optimizer__learning_rate=0.05, epochs=30, batch_size=16, random_state=1,
            metrics=["accuracy"], validation_split=0.3, callbacks=[stoppers[-1]])

    chained, keras_fit = _fit_both(make, (X, y))
    _assert_same_state(chained, keras_fit)
    assert set(chained.history_) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert 2 < len(chained.history_["val_loss"]) < 30  # stopped early, as Keras' fit stopped
    ours, theirs = stoppers
    assert ours.stopped_epoch == theirs.stopped_epoch and ours.best_epoch == theirs.best_epoch
    # The best epoch's weights were restored: not those of the last epoch.
    assert ours.best_epoch < len(chained.history_["val_loss"]) - 1


def test_early_stopping_on_validation_auc_as_keras_fit_stops():
    """AUC and precision on validation rows, EarlyStopping on val_auc: the
    counts over thresholds are tallied in the chain as Keras tallies them."""
    stoppers = []

    def make():
        stoppers.append(keras.callbacks.EarlyStopping(monitor="val_auc", mode="max",
                                                      patience=2))
        return KerasClassifier(
            stack, loss="binary_crossentropy", optimizer="adam", epochs=25, batch_size=16,
            random_state=4, metrics=["auc", "precision"], validation_split=0.3,
            callbacks=[stoppers[-1]])

    chained, keras_fit = _fit_both(make, (X, y_binary))
    _assert_same_state(chained, keras_fit)
    assert set(chained.history_) == {"loss", "auc", "precision", "val_loss", "val_auc",
                                     "val_precision"}
    assert 0.5 < chained.history_["val_auc"][-1] <= 1.0
    assert len(chained.history_["loss"]) < 25  # stopped early, where Keras' fit stopped
    assert stoppers[0].stopped_epoch == stoppers[1].stopped_epoch > 0


@pytest.mark.parametrize("freq", [2, [1, 4]], ids=["every-2-epochs", "epochs-1-and-4"])
def test_validation_at_some_epochs_only_as_keras_fit_validates(freq):
    chained, keras_fit = _fit_both(
        lambda: KerasClassifier(stack, loss="sparse_categorical_crossentropy", epochs=5,
                                batch_size=16, random_state=0, metrics=["accuracy"],
                                validation_split=0.2, fit__validation_freq=freq), (X, y))
    _assert_same_state(chained, keras_fit)
    assert len(chained.history_["val_loss"]) == 2 and len(chained.history_["loss"]) == 5


def test_validation_data_with_weights_and_penalties_as_keras_fit_scores_it():
    """validation_data=(X, y, sample_weight) and no callback: a regressor
    whose val_loss holds the L2 penalties and the rows' weights."""
    w_val = np.linspace(0.2, 2.0, 30)

    def fit(est, X_, y_):
        return est.fit(X_[:60], y_[:60], validation_data=(X_[60:], y_[60:], w_val))

    chained, keras_fit = _fit_both(
        lambda: KerasRegressor(stack, regularizer=keras.regularizers.L2(0.01),
                               loss="mse", optimizer="adam", metrics=["mae"], epochs=4,
                               batch_size=8, random_state=0),
        (Xr, yr), fit=fit)
    _assert_same_state(chained, keras_fit)
    assert {"val_loss", "val_mae"} <= set(chained.history_)
    # The weights count in the validation loss: unweighted, it differs.
    unweighted, _ = _fit_both(
        lambda: KerasRegressor(stack, regularizer=keras.regularizers.L2(0.01),
                               loss="mse", optimizer="adam", metrics=["mae"], epochs=4,
                               batch_size=8, random_state=0),
        (Xr, yr), fit=lambda est, X_, y_: est.fit(X_[:60], y_[:60],
                                                  validation_data=(X_[60:], y_[60:])))
    assert not np.allclose(unweighted.history_["val_loss"], chained.history_["val_loss"])
    np.testing.assert_allclose(unweighted.history_["loss"], chained.history_["loss"], rtol=1e-6)


def test_checkpoints_and_csv_logs_are_written_as_keras_fit_writes_them(tmp_path):
    """ModelCheckpoint (the best epoch on val_loss, the whole model with its
    optimizer's state) and CSVLogger run between the chain's epochs: the
    files equal those Keras' fit writes."""
    runs = iter(("chain", "keras"))

    def make():
        folder = tmp_path / next(runs)
        folder.mkdir()
        return KerasClassifier(
            stack, loss="sparse_categorical_crossentropy", optimizer="adam",
            optimizer__learning_rate=0.05, epochs=6, batch_size=16, random_state=2,
            metrics=["accuracy"], validation_split=0.3, callbacks=[
                keras.callbacks.ModelCheckpoint(folder / "best.keras", monitor="val_loss",
                                                save_best_only=True),
                keras.callbacks.CSVLogger(folder / "log.csv")])

    chained, keras_fit = _fit_both(make, (X, y))
    _assert_same_state(chained, keras_fit)
    logs = [np.genfromtxt(tmp_path / run / "log.csv", delimiter=",", names=True)
            for run in ("chain", "keras")]
    assert logs[0].dtype.names == logs[1].dtype.names
    assert "val_loss" in logs[0].dtype.names and len(logs[0]) == 6
    for name in logs[0].dtype.names:
        np.testing.assert_allclose(logs[0][name], logs[1][name], rtol=1e-6, err_msg=name)
    best = [keras.saving.load_model(tmp_path / run / "best.keras") for run in ("chain", "keras")]
    # The best epoch's network and optimizer state, not the last epoch's.
    assert best[0].optimizer.iterations.numpy() < chained.model_.optimizer.iterations.numpy()
    for u, v in zip(best[0].weights + best[0].optimizer.variables,
                    best[1].weights + best[1].optimizer.variables, strict=True):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-6, atol=1e-7,
                                   err_msg=u.path)


def test_a_checkpoint_saving_every_few_batches_sends_the_fit_through_keras_fit(tmp_path):
    checkpoint = keras.callbacks.ModelCheckpoint(tmp_path / "every.weights.h5",
                                                 save_weights_only=True, save_freq=2)
    with mock.patch.object(dense_chains, "fit", wraps=dense_chains.fit) as spy:
        KerasClassifier(stack, loss="sparse_categorical_crossentropy", epochs=1, batch_size=32,
                        random_state=0, callbacks=[checkpoint]).fit(X, y)
    assert spy.call_count == 0
    assert (tmp_path / "every.weights.h5").exists()


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_a_layer_called_twice_is_not_a_chain(kind):
    def twice(meta):
        inputs = keras.Input((meta["n_features_in_"],))
        square = keras.layers.Dense(meta["n_features_in_"], activation="relu")
        out = keras.layers.Dense(meta["n_classes_"], activation="softmax")
        if kind == "sequential":  # the same layer added twice: its weights shared
            return keras.Sequential([inputs, square, square, out])
        return keras.Model(inputs, out(square(square(inputs))))

    with mock.patch.object(dense_chains, "fit", wraps=dense_chains.fit) as spy:
        KerasClassifier(twice, loss="sparse_categorical_crossentropy", epochs=1,
                        random_state=0).fit(X, y)
    assert spy.call_count == 0


def test_a_diverging_chain_stops_and_leaves_the_estimator_as_it_was():
    est = KerasRegressor(stack, loss="mse", optimizer="sgd", optimizer__learning_rate=1e6,
                         epochs=5, random_state=0)
    with mock.patch.object(dense_chains, "fit", wraps=dense_chains.fit) as spy, \
            pytest.raises(ValueError, match="training diverged"):
        est.fit(Xr * 1e3, yr * 1e3)
    assert spy.call_count == 1
    assert not hasattr(est, "model_")


def test_rows_gathered_by_permutation_train_as_keras_fit_trains_them():
    """From GATHER_ROWS rows on, each epoch's order is a permutation drawn
    when the epoch's iterator is made: the chain makes them as Keras does."""
    from keraslearn._engine._feed import GATHER_ROWS

    rng = np.random.default_rng(0)
    X_big = rng.normal(size=(GATHER_ROWS, 3)).astype("float32")
    y_big = (X_big[:, 0] > 0).astype(int)
    chained, keras_fit = _fit_both(
        lambda: KerasClassifier(stack, hidden=4, loss="binary_crossentropy", optimizer="adam",
                                epochs=2, batch_size=4096, random_state=0),
        (X_big, y_big),
    )
    _assert_same_state(chained, keras_fit)


def test_the_traced_functions_hold_no_network():
    dense_chains.clear()
    fitted = []
    for width in (2, 3, 4):
        est = KerasClassifier(stack, hidden=width, loss="sparse_categorical_crossentropy",
                              epochs=1, random_state=0).fit(X, y)
        fitted.append(weakref.ref(est.model_))
        del est
    gc.collect()
    assert len(dense_chains) == 1
    assert all(ref() is None for ref in fitted)


Xr1 = Xr[:, :3]
yr1 = yr[:, 0] / 50
READY = {
    "classifier": lambda: (MLPClassifier(hidden_layer_sizes=(7,), max_iter=12, random_state=0),
                           X, y),
    "stopping rule": lambda: (MLPClassifier(hidden_layer_sizes=(7,), max_iter=60, tol=0.05,
                                            n_iter_no_change=2, random_state=0), X, y),
    "adaptive sgd": lambda: (MLPClassifier(hidden_layer_sizes=(5, 4), solver="sgd",
                                           learning_rate="adaptive", tol=0.05,
                                           n_iter_no_change=1, max_iter=30, random_state=0),
                             X, y),
    "regressor": lambda: (MLPRegressor(hidden_layer_sizes=(6,), alpha=0.01, max_iter=10,
                                       random_state=0), Xr1, yr1),
    "regressor float64": lambda: (MLPRegressor(hidden_layer_sizes=(6,), dtype="float64",
                                               max_iter=10, random_state=0), Xr1, yr1),
    # scikit-learn's held-out score and its stopping rule, run between epochs.
    "early stopping": lambda: (MLPClassifier(hidden_layer_sizes=(7,), early_stopping=True,
                                             validation_fraction=0.2, tol=0.02,
                                             n_iter_no_change=2, max_iter=40, random_state=0),
                               X, y),
    "early stopping regressor": lambda: (MLPRegressor(
        hidden_layer_sizes=(6,), early_stopping=True, tol=0.05, n_iter_no_change=1,
        max_iter=40, random_state=0), Xr1, yr1),
    "invscaling sgd": lambda: (MLPClassifier(hidden_layer_sizes=(5,), solver="sgd",
                                             learning_rate="invscaling", max_iter=4,
                                             random_state=0), X, y),
}


@pytest.mark.parametrize("make", READY.values(), ids=READY.keys())
def test_a_ready_network_trains_as_keras_fit_trains_it(make):
    """The ready MLPs' L2 penalty (alpha), half squared error and stopping
    rule (tol, n_iter_no_change, the adaptive learning rate) run in the
    dense chain: the stopping epoch, learning rate and state are Keras'."""
    est, X_, y_ = make()
    chained, keras_fit = _fit_both(lambda: clone(est), (X_, y_))
    assert chained.n_iter_ == keras_fit.n_iter_
    assert float(chained.model_.optimizer.learning_rate) == float(
        keras_fit.model_.optimizer.learning_rate)
    _assert_same_state(chained, keras_fit)
    np.testing.assert_allclose(chained.loss_curve_, keras_fit.loss_curve_, rtol=1e-6)
    if est.early_stopping:
        assert chained.n_iter_ < est.max_iter  # stopped by the held-out score
        np.testing.assert_allclose(chained.validation_scores_, keras_fit.validation_scores_,
                                   rtol=1e-6)
        assert chained.best_validation_score_ == pytest.approx(
            keras_fit.best_validation_score_, rel=1e-6)


def test_a_search_over_alpha_traces_once():
    dense_chains.clear()
    GridSearchCV(MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0),
                 {"alpha": [0.0, 1e-4, 1e-2], "hidden_layer_sizes": [(4,), (9,)]},
                 cv=2).fit(X, y)
    # alpha=0 leaves the layers without a penalty: another computation.
    assert len(dense_chains) == 2
    traces = dense_chains._traces.values()
    assert all(traced.fit.experimental_get_tracing_count() == 1 for traced in traces)


@pytest.mark.parametrize("case", ["stopping rule", "adaptive sgd", "regressor float64",
                                  "dropout"])
def test_epochs_run_several_to_a_call_or_one_to_a_call_alike(case, monkeypatch):
    # Epochs run several to a call (Ctrl-C is raised between calls): one
    # epoch per call gives the state one call of them all gives.
    from keraslearn._engine import _dense_chain

    def make():
        if case == "dropout":
            return (KerasClassifier(added, loss="sparse_categorical_crossentropy", epochs=9,
                                    random_state=0), X, y)
        return READY[case]()

    fitted = []
    for steps, seconds in ((10**9, 1e9), (0, 0.0)):
        monkeypatch.setattr(_dense_chain, "FIRST_CALL_STEPS", steps)
        monkeypatch.setattr(_dense_chain, "CALL_SECONDS", seconds)
        est, X_, y_ = make()
        with mock.patch.object(dense_chains, "_epochs", wraps=dense_chains._epochs) as spy:
            fitted.append(est.fit(X_, y_))
        epochs = len(est.history_["loss"]) if hasattr(est, "history_") else est.n_iter_
        assert spy.call_count == (1 if steps else epochs)
    for u, v in zip(fitted[0].model_.variables + fitted[0].model_.optimizer.variables,
                    fitted[1].model_.variables + fitted[1].model_.optimizer.variables,
                    strict=True):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v), err_msg=u.path)


_INTERRUPTED = """
import os, signal, threading, time
# Ctrl-C as a terminal's reaches a process: not ignored or blocked, whatever the
# test runner's process (which starts this one) had left of SIGINT's handling.
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
import numpy as np
from keraslearn import MLPClassifier

rng = np.random.default_rng(0)
X = rng.normal(size=(256, 4)).astype("float32")
y = (X[:, 0] > 0).astype(int)
MLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, y)  # traced once
clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=10**6, n_iter_no_change=10**6,
                    random_state=0)
sent = []
threading.Timer(1.0, lambda: (sent.append(time.perf_counter()),
                              os.kill(os.getpid(), signal.SIGINT))).start()
try:
    clf.fit(X, y)
except KeyboardInterrupt:
    print(time.perf_counter() - sent[0], hasattr(clf, "model_"))
"""


def test_ctrl_c_stops_a_chain_fit_soon_and_leaves_the_estimator_as_it_was():
    # Every epoch ran in one call, and Python raises KeyboardInterrupt only
    # between calls: Ctrl-C took effect once all the epochs had run.
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _INTERRUPTED], capture_output=True,
                            text=True, timeout=120,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    waited, fitted = result.stdout.split()
    assert float(waited) < 10 and fitted == "False", result.stdout


def test_keras_epoch_and_step_limits_bound_a_chain_s_fit_as_keras_fit():
    # keras.config.set_max_epochs / set_max_steps_per_epoch (a debugging switch):
    # the chain ran every epoch the estimator asked for.
    limits = keras.config.max_epochs(), keras.config.max_steps_per_epoch()
    try:
        keras.config.set_max_epochs(1)
        clf = KerasClassifier(stack, loss="sparse_categorical_crossentropy", epochs=4,
                              random_state=0).fit(X, y)
        mlp = MLPRegressor(hidden_layer_sizes=(3,), max_iter=4, random_state=0)
        with pytest.warns(UserWarning):  # stopped before max_iter
            mlp.fit(Xr, yr)
        keras.config.set_max_epochs(None)
        keras.config.set_max_steps_per_epoch(1)
        one_step = KerasClassifier(stack, loss="sparse_categorical_crossentropy", epochs=2,
                                   batch_size=30, random_state=0, optimizer="sgd").fit(X, y)
    finally:
        keras.config.set_max_epochs(limits[0])
        keras.config.set_max_steps_per_epoch(limits[1])
    assert len(clf.history_["loss"]) == 1 and mlp.n_iter_ == 1
    assert one_step.model_.optimizer.iterations.numpy() == 2  # one batch an epoch


def test_a_keras_without_fit_limits_trains_every_way(monkeypatch):
    # Keras before 3.10 has neither keras.config function (pyproject asks for 3.14 now;
    # the fallback stays for an environment that holds another Keras).
    monkeypatch.delattr(keras.config, "max_epochs")
    monkeypatch.delattr(keras.config, "max_steps_per_epoch")

    def batch_normalised(meta):  # through a warm copy, not the chain
        return keras.Sequential([keras.Input((5,)), keras.layers.Dense(4),
                                 keras.layers.BatchNormalization(),
                                 keras.layers.Dense(3, activation="softmax")])

    for build in (stack, batch_normalised):
        clf = KerasClassifier(build, loss="sparse_categorical_crossentropy", epochs=2,
                              random_state=0).fit(X, y)
        assert len(clf.history_["loss"]) == 2
