"""The trace cache shares Keras' traced training functions, and never changes
what is computed: models with classes of the user's own are not shared, and a
warm copy rebuilt from a config that leaves something out is caught by the
probe and not used."""

import contextlib
import copy
import warnings

import keras
import numpy as np
import pytest

import keraslearn
from builders import ColumnTargets, tiny_mlp
from keraslearn import KerasClassifier, KerasRegressor
from keraslearn._engine import _trace_cache, _warm_keys
from keraslearn._engine._trace_cache import trace_cache


class Scale(keras.layers.Layer):
    """Multiplies by ``factor``, which its config leaves out: rebuilt from the
    config, the layer multiplies by 1."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor


def scaled(factor):
    def build(meta):
        inputs = keras.Input((1,))
        # Fixed initial weights: unseeded fits (seeded fits of models with layers
        # of their own never share) start alike.
        dense = keras.layers.Dense(1, kernel_initializer="ones")
        return keras.Model(inputs, dense(Scale(factor)(inputs)))

    return build


X = np.linspace(-1, 1, 64, dtype="float32").reshape(-1, 1)
y = 2.0 * X[:, 0]


def _fit(factor, share=True):
    with keraslearn.config_context(share_traced_functions=share):
        return KerasRegressor(scaled(factor), optimizer="sgd", optimizer__learning_rate=0.05,
                              epochs=4, batch_size=16, shuffle=False).fit(X, y)


class TrainingOnlyScale(keras.layers.Layer):
    """Multiplies by ``factor`` in training only (its config leaves it out):
    no probe of the outputs sees it."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x, training=False):
        return x * self.factor if training else x


class ScaledSteps(keras.Model):
    """A model whose own train_step reads a setting its config leaves out."""

    grad_scale = 1.0

    def train_step(self, data):
        import tensorflow as tf

        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply([g * self.grad_scale for g in grads], self.trainable_variables)
        return {"loss": loss}


def _own_class_builders():
    def layer(meta):
        inputs = keras.Input((1,))
        hidden = keras.layers.Dense(2, kernel_initializer="ones")(inputs)
        out = keras.layers.Dense(1, kernel_initializer="ones")(TrainingOnlyScale(0.0)(hidden))
        return keras.Model(inputs, out)

    def steps(meta):
        inputs = keras.Input((1,))
        model = ScaledSteps(inputs, keras.layers.Dense(1, kernel_initializer="ones")(inputs))
        model.grad_scale = 0.0  # set by the builder: a copy from the config has 1.0
        return model

    return {"a training-only layer setting": layer, "a train_step setting": steps,
            "a setting its config leaves out": scaled(10.0)}


@pytest.mark.parametrize("case", list(_own_class_builders()))
def test_models_with_classes_of_ones_own_train_themselves(case):
    """A copy rebuilt from the config of a class of the user's own may compute
    something else, in ways no probe sees: such a model is never shared, and
    trains as with sharing off (and as Keras' fit trains it)."""
    build = _own_class_builders()[case]
    trace_cache.clear()
    fits = []
    for share in (True, True, False):
        with keraslearn.config_context(share_traced_functions=share):
            fits.append(KerasRegressor(build, optimizer="sgd", optimizer__learning_rate=0.05,
                                       epochs=3, batch_size=16, shuffle=False).fit(X, y))
    assert len(trace_cache) == 0
    for shared in fits[:2]:
        for a, b in zip(shared.model_.get_weights(), fits[2].model_.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-6)
    if case != "a setting its config leaves out":  # nothing trains what the setting stops
        start = build(None)
        trained = fits[0].model_.get_weights()
        assert np.allclose(trained[0], start.get_weights()[0])


def test_probe_compares_outputs_and_gradients():
    model = scaled(10.0)(None)
    model.compile(optimizer="sgd", loss="mse")
    same = scaled(10.0)(None)
    same.compile(optimizer="sgd", loss="mse")
    same.set_weights(model.get_weights())
    other = scaled(1.0)(None)
    other.compile(optimizer="sgd", loss="mse")
    other.set_weights(model.get_weights())
    probe = (X[:8], y[:8].reshape(-1, 1))
    assert _trace_cache.same_computation(model, same, probe)
    assert not _trace_cache.same_computation(model, other, probe)
    # Equal outputs, different gradients (a penalty the config leaves out).
    penalised = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
        1, kernel_regularizer=keras.regularizers.L2(1.0))])
    plain = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    for m in (penalised, plain):
        m.compile(optimizer="sgd", loss="mse")
    plain.set_weights(penalised.get_weights())
    assert not _trace_cache.same_computation(penalised, plain, probe)


@pytest.mark.parametrize("share", [True, False])
def test_sharing_switch_is_read_at_every_fit(share):
    trace_cache.clear()
    with keraslearn.config_context(share_traced_functions=share):
        assert keraslearn.get_config()["share_traced_functions"] is share
        KerasRegressor(_batch_normalised, epochs=1).fit(X, y)
    warm = [entry for entry in trace_cache._entries.values() if entry is not None]
    assert len(warm) == (1 if share else 0)


def test_a_warm_fit_interrupted_drops_its_copy():
    # Ctrl-C inside TensorFlow's call may leave the copy's traced function
    # locked, and a later fit in another thread would wait on it for ever.
    trace_cache.clear()
    est = KerasRegressor(_batch_normalised, epochs=1, random_state=0).fit(X, y)
    before = est.predict(X)
    (warm,) = [entry for entry in trace_cache._entries.values() if entry is not None]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    warm.model.fit = interrupted
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    assert not [entry for entry in trace_cache._entries.values() if entry is not None]
    np.testing.assert_array_equal(est.predict(X), before)  # as it was
    est.fit(X, y)
    (again,) = [entry for entry in trace_cache._entries.values() if entry is not None]
    assert again is not warm and warm.lock.acquire(blocking=False)


def test_turning_sharing_off_drops_what_was_kept():
    """set_config(share_traced_functions=False) frees the warm copies and the
    dense chains' traced functions; a block of config_context keeps them (it
    ends), and fitted estimators keep their networks."""
    import gc
    import weakref

    from keraslearn._engine._dense_chain import dense_chains

    trace_cache.clear()
    chained = KerasRegressor(tiny_mlp, epochs=1, random_state=0).fit(X, y)
    warmed = KerasRegressor(_batch_normalised, epochs=1, random_state=0).fit(X, y)
    before = warmed.predict(X[:5])
    copies = [weakref.ref(e.model) for e in trace_cache._entries.values() if e is not None]
    assert len(copies) == 1 and len(dense_chains) >= 1
    with keraslearn.config_context(share_traced_functions=False):
        assert len(trace_cache) == 1 and len(dense_chains) >= 1
    try:
        keraslearn.set_config(share_traced_functions=False)
        assert len(trace_cache) == 0 and len(dense_chains) == 0
        gc.collect()
        assert copies[0]() is None
        np.testing.assert_array_equal(warmed.predict(X[:5]), before)
        assert chained.predict(X[:5]).shape == (5,)
    finally:
        keraslearn.set_config(share_traced_functions=True)


def test_steps_per_epoch_and_validation_steps_limit_a_warm_copy_as_they_limit_keras_fit():
    # A warm copy runs several steps per traced call, whose steps Keras runs
    # whole: with those limits it runs one step per call, as the model would.
    fits = []
    for share in (True, False):
        with keraslearn.config_context(share_traced_functions=share):
            fits.append(KerasRegressor(_batch_normalised, epochs=2, batch_size=8, shuffle=False,
                                       validation_split=0.25, random_state=0).fit(
                X, y, steps_per_epoch=1, validation_steps=1))
    assert [int(f.model_.optimizer.iterations) for f in fits] == [2, 2]
    assert fits[0].history_["val_loss"] == pytest.approx(fits[1].history_["val_loss"], rel=1e-6)


def _batch_normalised(meta):
    """Keras' own layers, and not a plain Dense stack (the dense chain's)."""
    return keras.Sequential([keras.Input((1,)), keras.layers.Dense(4),
                             keras.layers.BatchNormalization(), keras.layers.Dense(1)])


# ------------------------------------- what configs leave out, kept by every path
def _huber_fits(delta, *, chain, share):
    """A regressor on Huber(delta) given as an instance; ``chain``: a plain Dense
    stack (the dense chain trainer), else one with BatchNormalization (a warm copy)."""
    def build(meta):
        layers = [keras.Input((1,)), keras.layers.Dense(4, activation="relu")]
        if not chain:
            layers.append(keras.layers.BatchNormalization())
        return keras.Sequential([*layers, keras.layers.Dense(1)])

    with keraslearn.config_context(share_traced_functions=share):
        return KerasRegressor(build, loss=keras.losses.Huber(delta=delta), epochs=2,
                              batch_size=16, random_state=0).fit(X, 40 * y)


@pytest.mark.parametrize("chain", [True, False], ids=["dense-chain", "warm-copy"])
def test_a_loss_setting_its_config_leaves_out_is_kept(chain):
    # Keras' Huber leaves delta out of its config: a copy made from it, or a trace
    # keyed by it, would compute Huber(1.0) for every delta of a search.
    trace_cache.clear()
    for delta in (1.0, 0.1):
        shared = _huber_fits(delta, chain=chain, share=True)
        direct = _huber_fits(delta, chain=chain, share=False)
        assert shared.model_.loss.get_config() == direct.model_.loss.get_config()
        assert float(shared.model_.loss(np.ones(1), np.zeros(1))) == pytest.approx(
            delta * (1 - delta / 2))  # Huber(delta) of an error of 1: the given delta
        np.testing.assert_allclose(shared.history_["loss"], direct.history_["loss"], rtol=1e-6)
        for a, b in zip(shared.model_.get_weights(), direct.model_.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def _three_targets():
    rng = np.random.RandomState(0)
    X3 = rng.normal(size=(64, 4)).astype("float32")
    return X3, np.c_[X3[:, 0] + X3[:, 1], 2 * X3[:, 2], -X3[:, 3]].astype("float32")


@pytest.mark.parametrize("chain", [True, False], ids=["dense-chain", "warm-copy"])
@pytest.mark.parametrize("given", ["compiled", "parameter"])
def test_a_metric_setting_its_config_leaves_out_is_kept(chain, given):
    # Keras' CosineSimilarity leaves axis out of its config: a warm copy compiled
    # from it (a network compiled by its builder), or the copy made of a metric
    # given as a parameter, reported the metric over the last axis, and an
    # EarlyStopping reading it stopped at another epoch.
    X3, Y3 = _three_targets()

    def network():
        hidden = [] if chain else [keras.layers.BatchNormalization()]
        return keras.Sequential([keras.Input((4,)), *hidden, keras.layers.Dense(3)])

    def metric():
        return keras.metrics.CosineSimilarity(axis=0, name="cos0")

    def build(meta, compile_kwargs):
        model = network()
        if given == "compiled":
            model.compile(optimizer="adam", loss="mse", metrics=[metric()])
        return model

    extra = {} if given == "compiled" else {"loss": "mse", "metrics": [metric()]}
    # (one metric instance for all the fits: each is given a copy holding its axis)
    def told():
        return (pytest.warns(UserWarning, match="'cos0' .CosineSimilarity. holds settings its "
                                                "Keras config leaves out.*a clone of the estimator")
                if given == "parameter" else contextlib.nullcontext())
    keras.utils.set_random_seed(0)
    plain = network()
    plain.compile(optimizer="adam", loss="mse", metrics=[metric()])
    expected = plain.fit(X3, Y3, epochs=3, batch_size=64, shuffle=False, verbose=0).history
    trace_cache.clear()
    for share in (True, True, False):  # (the second: through the warm copy the first made)
        with keraslearn.config_context(share_traced_functions=share), told():
            reg = KerasRegressor(build, optimizer="adam", epochs=3, batch_size=64,
                                 shuffle=False, random_state=0, **extra).fit(X3, Y3)
        np.testing.assert_allclose(reg.history_["cos0"], expected["cos0"], rtol=1e-5, atol=1e-6)


def test_a_look_alike_of_another_metric_setting_fitted_first_lends_nothing():
    # found in an audit: a network logging CosineSimilarity() fitted first made
    # the warm copy that one logging CosineSimilarity(axis=0) then trained (the
    # key, made of configs, left the axis out): its history_ was the other axis'.
    X3, Y3 = _three_targets()

    def fit(axis):
        def build(meta):
            model = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization(),
                                      keras.layers.Dense(3)])
            model.compile(optimizer="adam", loss="mse",
                          metrics=[keras.metrics.CosineSimilarity(axis=axis, name="cos")])
            return model

        return KerasRegressor(build, epochs=3, batch_size=64, shuffle=False,
                              random_state=0).fit(X3, Y3).history_["cos"]

    trace_cache.clear()
    fit(-1)
    after = fit(0)
    with keraslearn.config_context(share_traced_functions=False):
        alone = fit(0)
    np.testing.assert_allclose(after, alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("chain", [True, False], ids=["dense-chain", "warm-copy"])
@pytest.mark.parametrize("what", ["regularizer", "constraint"])
def test_a_penalty_or_constraint_set_on_a_built_layer_is_left_out_as_keras_leaves_it(chain, what):
    # found in an audit: Keras computes with the penalty and constraint a
    # variable was made with, not one set on its built layer afterwards (as when
    # adding a penalty to a trained network); a warm copy, made from the config,
    # trained with it (or with a look-alike's), and so did the dense chain.
    rng = np.random.RandomState(0)
    X4 = rng.normal(size=(96, 4)).astype("float32")
    y4 = X4 @ np.array([1.0, -2.0, 0.5, 0.0], "float32")

    def made():
        return (keras.regularizers.L2(0.5) if what == "regularizer"
                else keras.constraints.MaxNorm(0.2))

    def fit(given):
        def build(meta):
            hidden = [] if chain else [keras.layers.BatchNormalization()]
            model = keras.Sequential([
                keras.Input((4,)),
                keras.layers.Dense(4, activation="relu", **{f"kernel_{what}": made()} if given
                                   else {}),
                *hidden, keras.layers.Dense(1)])
            if not given:
                setattr(model.layers[0], f"kernel_{what}", made())
            return model

        return KerasRegressor(build, optimizer="adam", optimizer__learning_rate=0.05, epochs=3,
                              batch_size=32, random_state=0).fit(X4, y4)

    trace_cache.clear()
    fit(True)  # a look-alike built with it
    after = fit(False)
    with keraslearn.config_context(share_traced_functions=False):
        alone = fit(False)
    np.testing.assert_allclose(after.history_["loss"], alone.history_["loss"], rtol=1e-5)
    for a, b in zip(after.model_.get_weights(), alone.model_.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_metric_used_before_is_copied_without_a_warning():
    # What a metric sets once used (AUC's number of labels) was read as settings
    # its config leaves out: a false warning, and those copied onto the new one.
    auc = keras.metrics.AUC(multi_label=True, name="mauc")
    auc.update_state(np.eye(3)[[0, 1, 2, 1]], np.full((4, 3), 0.5))
    Xm = np.random.RandomState(0).normal(size=(30, 4))
    ym = np.eye(3, dtype=int)[np.arange(30) % 3] | np.eye(3, dtype=int)[(np.arange(30) + 1) % 3]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = KerasClassifier(tiny_mlp, metrics=[auc], epochs=2, random_state=0).fit(Xm, ym)
    assert not [w for w in caught if "holds settings" in str(w.message)]
    assert np.isfinite(clf.history_["mauc"]).all()


@pytest.mark.parametrize("scaled", [False, True], ids=["adamw", "loss-scaled-adamw"])
def test_weight_decay_exclusions_are_kept(scaled):
    # exclude_from_weight_decay is not in the optimizer's config either; found
    # in an audit: inside a LossScaleOptimizer (which mixed precision wraps
    # around the optimizer too) the check missed it, and the warm copy decayed biases.
    def build(meta):
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(3, activation="relu"),
                                  keras.layers.BatchNormalization(), keras.layers.Dense(1)])
        optimizer = keras.optimizers.AdamW(0.05, weight_decay=0.5)
        optimizer.exclude_from_weight_decay(var_names=["bias"])
        if scaled:
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        model.compile(optimizer=optimizer, loss="mse")
        return model

    def fit(share):
        with keraslearn.config_context(share_traced_functions=share):
            return KerasRegressor(build, epochs=2, batch_size=16, random_state=0).fit(X, y)

    trace_cache.clear()
    shared, direct = fit(True), fit(False)
    for a, b in zip(shared.model_.get_weights(), direct.model_.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


class _Keep(keras.callbacks.Callback):
    def on_train_end(self, logs=None):
        self.kept = self.model


def test_a_users_callback_sees_the_estimators_model(tmp_path):
    def build(meta):
        return keras.Sequential([keras.Input((1,)), keras.layers.Dense(3, activation="relu"),
                                 keras.layers.BatchNormalization(), keras.layers.Dense(1)])

    trace_cache.clear()
    keep = _Keep()
    first = KerasRegressor(build, epochs=1, random_state=0, callbacks=[keep]).fit(X, y)
    assert keep.kept is first.model_
    weights = [w.copy() for w in first.model_.get_weights()]
    KerasRegressor(build, epochs=1, random_state=1, callbacks=[_Keep()]).fit(X, -y)
    for a, b in zip(keep.kept.get_weights(), weights):
        np.testing.assert_array_equal(a, b)  # not overwritten by the next fit
    # Keras' own callbacks still train through the warm copy, and are then
    # pointed at the estimator's network, as Keras' fit leaves them.
    early, log = (keras.callbacks.EarlyStopping(monitor="loss", patience=1),
                  keras.callbacks.CSVLogger(str(tmp_path / "log.csv")))
    est = KerasRegressor(build, epochs=2, random_state=0, callbacks=[early, log]).fit(X, y)
    assert len(trace_cache) == 1
    assert early.model is est.model_ and log.model is est.model_
    KerasRegressor(build, epochs=2, random_state=1,
                   callbacks=[keras.callbacks.EarlyStopping(monitor="loss")]).fit(X, -y)
    assert len(trace_cache) == 1 and early.model is est.model_
    # TensorBoard's set_model writes the network out: it sees the network itself.
    board = keras.callbacks.TensorBoard(log_dir=str(tmp_path / "board"))
    trace_cache.clear()
    est = KerasRegressor(build, epochs=1, random_state=0, callbacks=[board]).fit(X, y)
    assert len(trace_cache) == 0 and board.model is est.model_


def _dense(meta):
    return keras.Sequential([keras.Input((1,)), keras.layers.Dense(4, activation="relu"),
                             keras.layers.Dense(1)])


def test_a_fit_resumed_by_backup_and_restore_leaves_later_fits_whole(tmp_path):
    # BackupAndRestore resumes a fit by setting the network's first epoch:
    # it trains the estimator's network, as Keras' fit does, so a shared
    # warm copy never carries that epoch into later fits of the architecture.
    backup = str(tmp_path / "backup")
    trace_cache.clear()
    KerasRegressor(_dense, epochs=3, random_state=0, callbacks=[
        keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False)]).fit(X, y)
    resumed = KerasRegressor(_dense, epochs=5, random_state=0,
                             callbacks=[keras.callbacks.BackupAndRestore(backup)]).fit(X, y)
    # Keras' fit resumed so trains epochs 3 and 4, and numbers them so.
    assert len(resumed.history_["loss"]) == 2
    assert resumed.model_.history.epoch == [3, 4]
    # A later fit of the architecture through a warm copy (Keras' callbacks,
    # or printing per epoch) trains every epoch it asks for.
    for kwargs in (dict(callbacks=[keras.callbacks.TerminateOnNaN()]), dict(verbose=2), {}):
        later = KerasRegressor(_dense, epochs=5, random_state=1, **kwargs).fit(X, y)
        assert len(later.history_["loss"]) == 5, kwargs
        assert later.model_.history.epoch == [0, 1, 2, 3, 4]
        assert int(later.model_.optimizer.iterations) == 5 * 2  # 64 rows, batches of 32


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_seeded_initializers_and_dropouts_do_not_part_architectures(dropout):
    # Initializers run at build time only, and a seeded Dropout's seed only starts
    # its seed generator (a variable, copied as weights are): fits of one
    # architecture seeded differently share a warm copy (with a dropout, each seed
    # had one of its own, traced anew), and each starts from its own weights.
    from keraslearn import MLPRegressor

    def fit(seed):
        return MLPRegressor(hidden_layer_sizes=(3,), batch_normalization=True,
                            dropout=dropout, max_iter=2, random_state=seed).fit(X, y)

    trace_cache.clear()
    fits = [fit(seed) for seed in (0, 1, 2)]
    assert len(trace_cache) == 1
    assert not np.allclose(fits[0].predict(X), fits[1].predict(X))
    with keraslearn.config_context(share_traced_functions=False):
        for seed in (1, 2):
            direct = fit(seed)
            np.testing.assert_allclose(fits[seed].loss_curve_, direct.loss_curve_, rtol=1e-6)
            np.testing.assert_allclose(fits[seed].predict(X), direct.predict(X), rtol=1e-5,
                                       atol=1e-6)


def _held_model(kind):
    if kind == "sequential":
        return keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    inputs = keras.Input((2,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs))


@pytest.mark.parametrize("wrapped", ["bidirectional", "time_distributed", "cell",
                                     "time_distributed_sequential", "time_distributed_model"])
def test_layers_held_by_a_layer_do_not_part_architectures(wrapped):
    # Found in an audit: the layers a Bidirectional, a TimeDistributed or an RNN
    # holds are named by Keras' counter at each build, and their names were kept
    # in the key: every refit traced anew (10x a fit) and kept a dead warm copy;
    # found in review, a model a TimeDistributed holds too.
    def build():
        inner = {"bidirectional": lambda: keras.layers.Bidirectional(keras.layers.LSTM(2)),
                 "time_distributed": lambda: keras.layers.TimeDistributed(
                     keras.layers.Dense(2)),
                 "time_distributed_sequential": lambda: keras.layers.TimeDistributed(
                     _held_model("sequential")),
                 "time_distributed_model": lambda: keras.layers.TimeDistributed(
                     _held_model("functional")),
                 "cell": lambda: keras.layers.RNN(keras.layers.GRUCell(2))}[wrapped]()
        layers = [keras.Input((3, 2)), inner]
        if wrapped.startswith("time_distributed"):
            layers.append(keras.layers.Flatten())
        return keras.Sequential(layers + [keras.layers.Dense(1)])

    Xs = np.random.RandomState(0).rand(16, 3, 2).astype("float32")
    ys = Xs.sum(axis=(1, 2))

    def fit(seed):
        return KerasRegressor(build, epochs=2, batch_size=8, random_state=seed).fit(Xs, ys)

    trace_cache.clear()
    fits = [fit(seed) for seed in (0, 1)]
    assert len(trace_cache) == 1
    with keraslearn.config_context(share_traced_functions=False):
        direct = fit(1)
    np.testing.assert_allclose(fits[1].history_["loss"], direct.history_["loss"], rtol=1e-5)
    np.testing.assert_allclose(fits[1].predict(Xs), direct.predict(Xs), rtol=1e-5, atol=1e-6)


def test_a_held_layer_named_like_a_setting_does_not_join_two_architectures():
    # Found in review: held layers' names were renamed as every equal string, so
    # TimeDistributed(Dense(4, activation=a, name=a)) had one key for "tanh" and
    # "relu", and the relu network trained the tanh network's warm copy.
    def key(activation):
        return _trace_cache.architecture_key(keras.Sequential([
            keras.Input((3, 2)), keras.layers.TimeDistributed(
                keras.layers.Dense(4, activation=activation, name=activation)),
            keras.layers.Flatten(), keras.layers.Dense(1)]))

    assert key("tanh") is not None and key("tanh") != key("relu")
    assert key("tanh") == key("tanh")

    # nor does one name for every held layer join a layer two wrappers share with
    # two layers of their own (found in review: trained on the other's warm copy)
    def twice(shared):
        inputs = keras.Input((3, 2))
        first = keras.layers.Dense(2)
        second = first if shared else keras.layers.Dense(2)
        outputs = keras.layers.Add()([keras.layers.TimeDistributed(first)(inputs),
                                      keras.layers.TimeDistributed(second)(inputs)])
        return _trace_cache.architecture_key(keras.Model(inputs, outputs))

    assert twice(True) != twice(False)
    assert twice(True) == twice(True) and twice(False) == twice(False)


def test_a_layer_named_like_a_setting_trains_itself():
    # Found in review: Conv1D(3, 3, padding=p, name=p) had one key for "same" and
    # "causal" (the renaming of the layer's name renamed the padding too), and the
    # causal network trained the other's warm copy. Such a network shares nothing.
    def build(padding):
        def network(meta):
            return keras.Sequential([keras.Input((5, 2)), keras.layers.Conv1D(
                3, 3, padding=padding, name=padding), keras.layers.GlobalAveragePooling1D(),
                keras.layers.Dense(1)])
        return network

    Xs = np.random.RandomState(0).rand(16, 5, 2).astype("float32")
    ys = Xs.sum(axis=(1, 2))
    assert _trace_cache.architecture_key(build("same")(None)) is None
    trace_cache.clear()
    KerasRegressor(build("same"), epochs=2, random_state=0).fit(Xs, ys)
    shared = KerasRegressor(build("causal"), epochs=2, random_state=0).fit(Xs, ys)
    with keraslearn.config_context(share_traced_functions=False):
        direct = KerasRegressor(build("causal"), epochs=2, random_state=0).fit(Xs, ys)
    np.testing.assert_allclose(shared.history_["loss"], direct.history_["loss"], rtol=1e-5)


@keras.saving.register_keras_serializable(package="tests")
class ShiftedMean(keras.metrics.Mean):
    """The mean prediction plus ``shift``, which its config leaves out."""

    def __init__(self, shift=0.0, name="shifted", **kwargs):
        super().__init__(name=name, **kwargs)
        self.shift = shift

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(y_pred + self.shift, sample_weight=sample_weight)


def test_a_metric_of_ones_own_is_logged_as_compiled():
    trace_cache.clear()
    histories = []
    for share in (True, False):
        with keraslearn.config_context(share_traced_functions=share):
            histories.append(KerasRegressor(_batch_normalised, metrics=[ShiftedMean(100.0)],
                                            epochs=2, random_state=0).fit(X, y).history_)
    assert len(trace_cache) == 0
    assert histories[0]["shifted"] == histories[1]["shifted"]
    assert min(histories[0]["shifted"]) > 50


@keras.saving.register_keras_serializable(package="tests")
class ScaledConstraint(keras.constraints.Constraint):
    """Multiplies the kernel by ``factor`` after each update (its config
    leaves it out): a Keras layer holding an object of one's own."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def __call__(self, w):
        return w * self.factor


def test_objects_of_ones_own_in_keras_layers_or_in_main_train_themselves():
    """A Keras layer's constraint of one's own, and a class defined in the
    training script (its config names no module), are as foreign as a layer
    of one's own; Keras' own metric functions are not."""
    def constrained(meta):
        return keras.Sequential([keras.Input((1,)),
                                 keras.layers.Dense(4, kernel_constraint=ScaledConstraint(0.0)),
                                 keras.layers.BatchNormalization(), keras.layers.Dense(1)])

    trace_cache.clear()
    fitted = KerasRegressor(constrained, epochs=2, random_state=0).fit(X, y)
    assert len(trace_cache) == 0 or all(e is None for e in trace_cache._entries.values())
    assert np.abs(fitted.model_.layers[0].kernel.numpy()).max() == 0.0
    compiled = {"metrics": [{"module": None, "class_name": "Mine", "config": {},
                             "registered_name": "mine>Mine"}]}
    assert not _warm_keys._keras_objects_only(compiled)
    trace_cache.clear()
    KerasRegressor(_batch_normalised, metrics=["mae", keras.metrics.MeanSquaredError()],
                   epochs=1, random_state=0).fit(X, y)
    assert [e is not None for e in trace_cache._entries.values()] == [True]


def mean_absolute_error(y_true, y_pred):
    """A metric of one's own named like Keras' (a function is stored by its
    name: a copy compiled from the config would log Keras' one)."""
    return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1) + 42.0


def test_a_metric_function_of_ones_own_named_like_keras_is_logged_as_given():
    trace_cache.clear()
    histories = [KerasRegressor(_batch_normalised, metrics=[mean_absolute_error], epochs=2,
                                random_state=0).fit(X, y).history_ for _ in range(2)]
    assert not [e for e in trace_cache._entries.values() if e is not None]
    for history in histories:
        assert min(history["mean_absolute_error"]) > 40


def test_a_layer_adapted_to_each_fits_data_is_kept():
    # Normalization computes with constants made from the data it adapted to,
    # which its config leaves out: a warm copy made by the first fit kept its
    # mean and variance for every later fit of the architecture.
    def build(meta, data):
        norm = keras.layers.Normalization()
        norm.adapt(data)
        return keras.Sequential([keras.Input((1,)), norm, keras.layers.Dense(4),
                                 keras.layers.BatchNormalization(), keras.layers.Dense(1)])

    trace_cache.clear()
    standard = (X - X.mean()) / X.std()  # what a copy made from the config computes
    for data in (standard, 5 * standard + 3):
        fitted = []
        for share in (True, False):
            with keraslearn.config_context(share_traced_functions=share):
                fitted.append(KerasRegressor(build, model__data=data, epochs=2, batch_size=16,
                                             random_state=0).fit(data, y))
        np.testing.assert_allclose(fitted[0].history_["loss"], fitted[1].history_["loss"],
                                   rtol=1e-6)
        np.testing.assert_allclose(fitted[0].predict(data), fitted[1].predict(data),
                                   rtol=1e-5, atol=1e-6)


def test_a_first_fit_of_layers_drawing_at_inference_repeats():
    # The probe comparing a warm copy ran the user's network at inference,
    # which moved the seed state of recurrent dropout: the first seeded fit of
    # such an architecture differed from every later one.
    sequences = np.random.default_rng(0).normal(size=(48, 4, 2)).astype("float32")

    def build(meta):
        return keras.Sequential([keras.Input((4, 2)), keras.layers.GRU(3, dropout=0.3),
                                 keras.layers.Dense(1)])

    trace_cache.clear()
    fits = [KerasRegressor(build, epochs=2, batch_size=16, random_state=0).fit(
        sequences, sequences[:, 0, 0]) for _ in range(2)]
    with keraslearn.config_context(share_traced_functions=False):
        fits.append(KerasRegressor(build, epochs=2, batch_size=16, random_state=0).fit(
            sequences, sequences[:, 0, 0]))
    for est in fits[1:]:
        for a, b in zip(fits[0].model_.get_weights(), est.model_.get_weights()):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("share", [True, False])
def test_a_history_among_the_callbacks_is_the_networks_history(share):
    # Keras' fit leaves a History given among its callbacks on the model,
    # filled; a fit through a warm copy or the dense chain does too.
    from keraslearn import MLPRegressor

    with keraslearn.config_context(share_traced_functions=share):
        for est in (KerasRegressor(_dense, epochs=3, random_state=0),
                    MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0)):
            history = keras.callbacks.History()
            est.set_params(callbacks=[history]).fit(X, y)
            assert est.model_.history is history and history.model is est.model_
            assert history.epoch == [0, 1, 2]
            np.testing.assert_allclose(history.history["loss"], est.history_["loss"]
                                       if hasattr(est, "history_") else est.loss_curve_,
                                       rtol=1e-6)


@pytest.mark.parametrize("share", [True, False])
def test_a_history_kept_across_fits_gives_each_fit_its_own_logs(share):
    # Keras' fit adds to a History's logs from fit to fit (it empties only its
    # epoch list): a second fit's history_ held both fits' epochs, partial_fit
    # counted all of them, and one diverged fit failed every later one.
    from sklearn.base import clone

    from keraslearn import MLPRegressor

    with keraslearn.config_context(share_traced_functions=share):
        history = keras.callbacks.History()
        reg = KerasRegressor(_dense, epochs=2, random_state=0, callbacks=[history])
        for _ in range(2):
            reg.fit(X, y)
            assert len(reg.history_["loss"]) == 2 and history.epoch == [0, 1]
        assert len(history.history["loss"]) == 4  # the user's History, as Keras fills it
        reg.partial_fit(X, y)
        assert reg.current_epoch == 3 and len(reg.history_["loss"]) == 3
        assert len(clone(reg).fit(X, y).history_["loss"]) == 2
        mlp = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0,
                           callbacks=[keras.callbacks.History()])
        with pytest.warns(UserWarning, match="Maximum iterations"):
            mlp.fit(X, y)
            mlp.fit(X, y)
        assert mlp.n_iter_ == 2 and len(mlp.loss_curve_) == 2
        diverging = KerasRegressor(_dense, epochs=2, random_state=0, callbacks=[history],
                                   optimizer="sgd", optimizer__learning_rate=1e30)
        with pytest.raises(ValueError, match="training loss became"):
            diverging.fit(X, y * 1e10)
        diverging.set_params(optimizer__learning_rate=0.01).fit(X, y)
        assert np.isfinite(diverging.history_["loss"]).all()
        # A fit with held-out rows, then one without: no empty val_loss left.
        reg.set_params(validation_split=0.25).fit(X, y)
        assert "val_loss" in reg.history_
        assert "val_loss" not in reg.set_params(validation_split=0.0).fit(X, y).history_

        class Fresh(keras.callbacks.History):  # empties its logs at each fit
            def on_train_begin(self, logs=None):
                super().on_train_begin(logs)
                self.history = {}

        fresh = KerasRegressor(_dense, epochs=2, random_state=0, callbacks=[Fresh()])
        assert len(fresh.fit(X, y).fit(X, y).history_["loss"]) == 2


def test_a_model_of_several_outputs_logs_under_its_own_output_names():
    # Keras logs each output's loss and metrics under its name: a warm copy made
    # from an earlier fit's network (dense_1, dense_2) gave a later fit's
    # history_ those names, not its own (a monitor on "val_dense_4_loss" saw none).
    from sklearn.base import clone

    class TwoOutputs(KerasRegressor):
        @property
        def target_encoder(self):
            return ColumnTargets()

    def build():
        inputs = keras.Input((1,))
        hidden = keras.layers.Dense(4, activation="tanh")(inputs)
        model = keras.Model(inputs, [keras.layers.Dense(1)(hidden),
                                     keras.layers.Dense(1)(hidden)])
        model.compile(optimizer="adam", loss=["mse", "mse"], metrics=[["mae"], ["mae"]])
        return model

    Y = np.c_[y, -y]
    est = TwoOutputs(build, epochs=2, random_state=0, validation_split=0.25)
    fits = [clone(est).fit(X, Y) for _ in range(2)]
    with keraslearn.config_context(share_traced_functions=False):
        alone = clone(est).fit(X, Y)
    for fit in [*fits, alone]:
        first, second = fit.model_.output_names
        assert set(fit.history_) == {"loss", "val_loss"} | {
            key for name in (first, second) for key in (
                f"{name}_loss", f"val_{name}_loss", f"{name}_mean_absolute_error",
                f"val_{name}_mae")}
    for key, values in fits[1].history_.items():
        renamed = key
        for mine, its in zip(fits[1].model_.output_names, alone.model_.output_names):
            renamed = renamed.replace(mine, its)
        np.testing.assert_allclose(values, alone.history_[renamed], rtol=1e-5)


# ---------------------------- what a warm copy must not carry from fit to fit
def test_muon_picks_rules_by_layer_name_so_its_fits_train_themselves():
    # Muon trains a kernel whose path holds "embedding" by AdamW's rule: a warm
    # copy made by one builder (layer names are no part of the key) trained the
    # other's kernel by the wrong rule, from the wrong slots.
    def build(name):
        def network(meta):
            return keras.Sequential([
                keras.Input((1,)), keras.layers.Dense(4, activation="relu", name="first"),
                keras.layers.BatchNormalization(),
                keras.layers.Dense(2, use_bias=False, name=name)])
        return network

    def fit(name, share):
        with keraslearn.config_context(share_traced_functions=share):
            return KerasRegressor(build(name), optimizer=keras.optimizers.Muon(weight_decay=None),
                                  epochs=2, batch_size=16, random_state=0).fit(X, np.c_[y, -y])

    trace_cache.clear()
    fit("patch_embedding", share=True)
    shared, direct = fit("body", share=True), fit("body", share=False)
    for a, b in zip(shared.model_.get_weights(), direct.model_.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("chain", [True, False], ids=["dense-chain", "warm-copy"])
def test_keras_epsilon_set_between_fits_is_read_by_the_next(chain):
    # MAPE divides by max(|y|, epsilon): a trace of the first fit kept its epsilon.
    def build(meta):
        layers = [keras.Input((1,)), keras.layers.Dense(4, activation="relu")]
        return keras.Sequential([*layers, *([] if chain else [
            keras.layers.BatchNormalization()]), keras.layers.Dense(1)])

    def fit(share):
        with keraslearn.config_context(share_traced_functions=share):
            return KerasRegressor(build, loss="mape", epochs=2, batch_size=16,
                                  random_state=0).fit(X, y)

    before = keras.config.epsilon()
    trace_cache.clear()
    fit(True)
    try:
        keras.config.set_epsilon(0.5)
        shared, direct = fit(True), fit(False)
    finally:
        keras.config.set_epsilon(before)
    np.testing.assert_allclose(shared.history_["loss"], direct.history_["loss"], rtol=1e-5)


def test_a_users_history_does_not_keep_a_deleted_estimators_network():
    import gc
    import weakref

    # The warm copy kept Keras' last History, which was pointed at the network.
    trace_cache.clear()
    est = KerasRegressor(_batch_normalised, epochs=1, random_state=0,
                         callbacks=[keras.callbacks.History()]).fit(X, y)
    assert len(trace_cache) == 1  # trained through a warm copy
    network = weakref.ref(est.model_)
    del est
    gc.collect()
    assert network() is None


def test_a_checkpoint_of_whole_models_saves_the_estimators_network(tmp_path):
    # Written through a warm copy, it held the first fit's model and layer names.
    def build(tag):
        def network(meta):
            return keras.Sequential([
                keras.Input((1,)), keras.layers.Dense(4, name=f"hidden_{tag}"),
                keras.layers.BatchNormalization(), keras.layers.Dense(1, name=f"head_{tag}")],
                name=f"net_{tag}")
        return network

    trace_cache.clear()
    for tag in "ab":
        path = tmp_path / f"{tag}.keras"
        est = KerasRegressor(build(tag), epochs=1, random_state=0, callbacks=[
            keras.callbacks.ModelCheckpoint(str(path))]).fit(X, y)
        saved = keras.saving.load_model(path)
        assert saved.name == f"net_{tag}"
        assert [layer.name for layer in saved.layers] == [
            layer.name for layer in est.model_.layers]


@pytest.mark.parametrize("names", [False, True], ids=["keras-names", "fixed-names"])
def test_an_optimizer_another_network_built_is_refused_as_keras_refuses_it(names):
    # found in an audit: a builder compiling every model with one optimizer made
    # outside it trained each new network from the last fit's Adam moments and
    # step count (a warm copy, or the dense chain, took them on); Keras' fit
    # refuses an optimizer built for other variables.
    from keraslearn import KerasClassifier

    rng = np.random.default_rng(0)
    X, optimizer = rng.normal(size=(80, 4)).astype("float32"), keras.optimizers.Adam(0.05)
    y = (X[:, 0] > 0).astype(int)

    def build(meta):
        model = keras.Sequential([
            keras.Input((4,)),
            keras.layers.Dense(5, activation="relu", name="h" if names else None),
            keras.layers.Dense(1, activation="sigmoid", name="out" if names else None),
        ])
        model.compile(optimizer=optimizer, loss="binary_crossentropy")
        return model

    # (found in a review: networks initialize() built before the optimizer was
    # built, then trained one after the other, went on too)
    waiting = KerasClassifier(build, epochs=2, random_state=0).initialize(X, y)
    first = KerasClassifier(build, epochs=2, random_state=0).fit(X, y)
    weights, steps = first.model_.get_weights(), int(optimizer.iterations.numpy())
    for est in (KerasClassifier(build, epochs=2, random_state=0), first):
        with pytest.raises(ValueError, match="Unknown variable.*originally built with"):
            est.fit(X, y)
    for est in (waiting, copy.copy(waiting)):  # (a shallow copy claimed it: a review)
        with pytest.raises(ValueError, match="Unknown variable.*originally built with"):
            est.partial_fit(X, y)
    assert int(optimizer.iterations.numpy()) == steps == 6
    for a, b in zip(first.model_.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


SCALE = {"value": 1.0}


@keras.saving.register_keras_serializable(package="keraslearn_tests_trace_cache")
def scaled_mse(y_true, y_pred):
    return SCALE["value"] * keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


def test_a_loss_of_the_users_reading_python_state_is_traced_per_network_as_keras_does():
    # found in an audit: a registered loss reading a setting its builder writes
    # (a searched hyperparameter) kept the first fit's value in the shared trace:
    # every later candidate trained with it, where Keras traces each new model
    def build(meta, scale):
        SCALE["value"] = scale
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
            1, kernel_initializer="ones", bias_initializer="zeros")])
        model.compile(optimizer="sgd", loss=scaled_mse)
        return model

    y = 2 * X.ravel()
    losses = [KerasRegressor(build, scale=scale, epochs=1, batch_size=64).fit(X, y).history_[
        "loss"][0] for scale in (1.0, 0.0, 10.0)]
    assert losses[1] == 0.0 and losses[2] == pytest.approx(10 * losses[0], rel=1e-5), losses
    model = build(None, 1.0)
    assert _trace_cache.architecture_key(model) is None  # (trains itself)
    model.compile(optimizer="sgd", loss="mse")
    assert _trace_cache.architecture_key(model) is not None


def test_run_eagerly_and_jit_compile_set_after_compile_are_honoured():
    # found in an audit: a warm copy was compiled from the compile config, which
    # keeps the values given to compile, not those set on the model afterwards
    def build():
        model = tiny_mlp({"X_shape_": (64, 1), "target_type_": "continuous", "n_outputs_": 1})
        model.compile(optimizer="sgd", loss="mse")
        return model

    plain, eager, xla = build(), build(), build()
    eager.run_eagerly, xla.jit_compile = True, True
    assert _trace_cache.architecture_key(eager) is None
    assert _trace_cache.architecture_key(xla) not in (None, _trace_cache.architecture_key(plain))
    from keraslearn._engine._plain_networks import plain_compile

    assert plain_compile(plain, plain.get_compile_config())
    assert not plain_compile(eager, eager.get_compile_config())


def test_compiled_models_given_or_built_with_their_own_optimizer_take_the_dense_chain():
    # found in a review: a compiled keras.Model given as model= (whose copy
    # Keras' clone_model compiles, building its optimizer) lost the speed paths
    # with the check above
    from unittest import mock

    from sklearn.base import clone

    from keraslearn import KerasClassifier
    from keraslearn._engine._dense_chain import dense_chains

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)).astype("float32")
    y = (X[:, 0] > 0).astype(int)

    def build(meta=None):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
        return model

    for est in (KerasClassifier(build(), epochs=2), KerasClassifier(build, epochs=2)):
        with mock.patch.object(dense_chains, "fit", wraps=dense_chains.fit) as spy:
            est.fit(X, y)
            clone(est).fit(X, y)
            est.partial_fit(X, y)
        assert spy.call_count == 3
    # A builder's network with its optimizer built (a compiled model's clone: for
    # itself, but unknown) trains once through Keras' fit, which checks it, then
    # goes on through the dense chain (found in a review: it never did again)
    template = build()
    est = KerasClassifier(lambda meta: keras.models.clone_model(template), epochs=2)
    with mock.patch.object(dense_chains, "fit", wraps=dense_chains.fit) as spy:
        est.partial_fit(X, y, classes=[0, 1])
        assert spy.call_count == 0
        est.partial_fit(X, y)
        assert spy.call_count == 1


def test_an_optimizer_shared_under_mixed_precision_is_refused_as_keras_refuses_it():
    # found in a review: Keras wraps the optimizer given to each compile in a new
    # LossScaleOptimizer, unbuilt, around the shared one built for another model
    from keraslearn import KerasClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4)).astype("float32")
    y = (X[:, 0] > 0).astype(int)
    optimizer = keras.optimizers.Adam(0.05)

    def build(meta):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu"),
                                  keras.layers.Dense(1, activation="sigmoid", dtype="float32")])
        model.compile(optimizer=optimizer, loss="binary_crossentropy")
        return model

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        KerasClassifier(build, epochs=1).fit(X, y)
        steps = int(optimizer.iterations.numpy())
        with pytest.raises(ValueError, match="Unknown variable"):
            KerasClassifier(build, epochs=1).fit(X, y)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert int(optimizer.iterations.numpy()) == steps


def test_a_network_fitted_under_a_strategy_goes_on_through_the_dense_chain():
    # found in a review: the plain copy kept after a distributed fit had an
    # optimizer no network was known to own, so its next fit took Keras' fit
    from unittest import mock

    import tensorflow as tf

    from keraslearn import MLPClassifier
    from keraslearn._engine._dense_chain import dense_chains

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4)).astype("float32")
    y = (X[:, 0] > 0).astype(int)
    est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=2, distribute=lambda: (
        tf.distribute.MirroredStrategy(["cpu:0"]))).fit(X, y)
    with mock.patch.object(dense_chains, "fit", wraps=dense_chains.fit) as spy:
        est.set_params(distribute=None).partial_fit(X, y)
    assert spy.call_count == 1
