"""A failed or interrupted fit leaves the estimator exactly as it was: every
attribute fit sets, and the weights and optimizer state of a network that a
warm or partial fit trains further."""

import keras
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from builders import tiny_mlp
from keraslearn import KerasClassifier, MLPClassifier, MLPRegressor

X5, y = make_classification(n_samples=60, n_features=5, random_state=0)
X7 = np.random.default_rng(0).normal(size=(60, 7))


class Fails(keras.callbacks.Callback):
    """Raises ``error`` at the end of the first epoch (inside Keras' fit)."""

    def __init__(self, error):
        super().__init__()
        self.error = error

    def on_epoch_end(self, epoch, logs=None):
        raise self.error


def failing_builder(meta, hidden=8):
    if meta["n_features_in_"] == 7:
        raise RuntimeError("the builder failed")
    return tiny_mlp(meta, hidden=hidden)


def _continue(clf, mode, **kwargs):
    """A continued fit of ``clf`` on X5: a warm start, or a partial_fit."""
    return (clf.fit if mode == "warm" else clf.partial_fit)(X5, y, **kwargs)


def _snapshot(est):
    weights = [np.array(v) for v in est.model_.weights]
    optimizer = [np.array(v) for v in est.model_.optimizer.variables]
    return dict(est.__dict__), weights, optimizer, est.predict_proba(X5)


def _assert_unchanged(est, snapshot):
    attributes, weights, optimizer, proba = snapshot
    assert est.__dict__.keys() == attributes.keys()
    for key, value in attributes.items():
        assert est.__dict__[key] is value, key
    for now, before in zip(est.model_.weights, weights):
        np.testing.assert_array_equal(np.array(now), before)
    for now, before in zip(est.model_.optimizer.variables, optimizer):
        np.testing.assert_array_equal(np.array(now), before)
    np.testing.assert_array_equal(est.predict_proba(X5), proba)


FAILURES = {
    "builder": (RuntimeError, None),
    "keras-fit": (RuntimeError, RuntimeError("failed inside Keras' fit")),
    "interrupt": (KeyboardInterrupt, KeyboardInterrupt()),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_failed_fresh_fit_on_other_data_keeps_the_fitted_estimator(failure):
    error, raised = FAILURES[failure]
    clf = KerasClassifier(failing_builder, epochs=2, random_state=0).fit(X5, y)
    network = clf.__dict__["model_"]
    network.predict(X5, verbose=0)  # (Keras' predict function, as another thread may call it)
    functions = network.train_function, network.predict_function
    snapshot = _snapshot(clf)
    # Another shape of data, and the fit fails at the builder or inside Keras.
    X_new = X7 if failure == "builder" else X7[:, :6]
    callbacks = [] if raised is None else [Fails(raised)]
    with pytest.raises(error):
        clf.fit(X_new, y, callbacks=callbacks)
    _assert_unchanged(clf, snapshot)
    # found in review: an interrupt dropped the functions of the fitted network,
    # which this fit never ran, under a prediction running in another thread
    assert (network.train_function, network.predict_function) == functions
    assert clf.n_features_in_ == 5 and clf.X_shape_ == (60, 5)


@pytest.mark.parametrize("failure", ["keras-fit", "interrupt"])
@pytest.mark.parametrize("mode", ["warm", "partial"])
def test_failed_continued_fit_keeps_weights_and_optimizer_state(mode, failure):
    error, raised = FAILURES[failure]
    clf = KerasClassifier(tiny_mlp, epochs=2, random_state=0, optimizer="adam",
                          warm_start=mode == "warm")
    _continue(clf, mode)
    snapshot = _snapshot(clf)
    with pytest.raises(error):
        _continue(clf, mode, callbacks=[Fails(raised)])
    _assert_unchanged(clf, snapshot)
    # found in an audit: Ctrl-C may leave the traced train function it cut
    # locked by TensorFlow, and the next fit in another thread waited for ever:
    # after an interrupt, Keras traces its functions anew.
    network = clf.__dict__["model_"]
    assert (network.train_function is None) == (failure == "interrupt")
    # The estimator keeps working: the next fit continues from the kept state.
    steps = int(clf.model_.optimizer.iterations.numpy())
    clf.partial_fit(X5, y)
    assert int(clf.model_.optimizer.iterations.numpy()) > steps


class ChangesTheNetworkThenFails(keras.callbacks.Callback):
    """Freezes the first layer and compiles the network anew (a staged
    fine-tuning schedule; with its own optimizer, or another), then is
    interrupted."""

    def __init__(self, same_optimizer=False):
        super().__init__()
        self.same_optimizer = same_optimizer

    def on_epoch_end(self, epoch, logs=None):
        self.model.layers[0].trainable = False
        self.model.compile(self.model.optimizer if self.same_optimizer else
                           keras.optimizers.SGD(0.5), "mse", metrics=["mae"])
        raise KeyboardInterrupt


@pytest.mark.parametrize("same_optimizer", [False, True], ids=["new-optimizer", "same-optimizer"])
@pytest.mark.parametrize("mode", ["warm", "partial"])
def test_a_failed_continued_fit_puts_back_trainable_flags_and_compile_settings(
        mode, same_optimizer):
    # Only the weights came back: the frozen layer made the next partial_fit
    # refuse the network ("a layer's trainable flag changed"), and it trained
    # on with the callback's SGD and loss.
    make = lambda: KerasClassifier(  # noqa: E731
        tiny_mlp, epochs=2, random_state=0, optimizer="adam", metrics=["accuracy"],
        warm_start=mode == "warm", shuffle=False)
    clf, twin = make().fit(X5, y), make().fit(X5, y)
    snapshot = _snapshot(clf)
    optimizer, loss = clf.model_.optimizer, clf.model_.loss
    with pytest.raises(KeyboardInterrupt):
        _continue(clf, mode, callbacks=[ChangesTheNetworkThenFails(same_optimizer)])
    _assert_unchanged(clf, snapshot)
    assert all(layer.trainable for layer in clf.model_.layers)
    assert clf.model_.optimizer is optimizer and clf.model_.loss == loss
    # It trains on as the network that never met the callback does.
    clf.partial_fit(X5, y), twin.partial_fit(X5, y)
    np.testing.assert_allclose(clf.history_["loss"], twin.history_["loss"], rtol=1e-5)
    assert sorted(clf.history_) == sorted(twin.history_) == ["accuracy", "loss"]
    np.testing.assert_allclose(clf.predict_proba(X5), twin.predict_proba(X5), rtol=1e-5)


def test_a_network_compiled_with_an_unregistered_metric_is_restored_all_the_same():
    # Compiling it as before read its metric from Keras' config, which cannot
    # find the user's function: that error replaced the fit's own, and the
    # weights were left as the failed fit made them.
    def my_metric(y_true, y_pred):
        return keras.ops.mean(keras.ops.abs(y_true - y_pred))

    clf = KerasClassifier(tiny_mlp, epochs=2, random_state=0, optimizer="adam",
                          metrics=[my_metric], warm_start=True).fit(X5, y)
    snapshot = _snapshot(clf)

    class Fails(ChangesTheNetworkThenFails):
        def on_epoch_end(self, epoch, logs=None):
            try:
                super().on_epoch_end(epoch, logs)
            except KeyboardInterrupt:
                raise RuntimeError("the user's failure") from None

    with pytest.warns(RuntimeWarning, match=r"compiled as before with its optimizer and loss "
                                            r"but not its other settings.*my_metric"):
        with pytest.raises(RuntimeError, match="the user's failure"):
            clf.fit(X5, y, callbacks=[Fails()])
    _assert_unchanged(clf, snapshot)
    assert all(layer.trainable for layer in clf.model_.layers)


def test_failed_fit_of_a_fresh_estimator_leaves_it_unfitted():
    clf = KerasClassifier(failing_builder)
    before = dict(clf.__dict__)
    with pytest.raises(RuntimeError):
        clf.fit(X7, y)
    assert clf.__dict__ == before
    assert not hasattr(clf, "n_features_in_")


def test_failed_warm_start_of_a_ready_network_keeps_its_state():
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, warm_start=True, random_state=0,
                        tol=0).fit(X5, y)
    clf.set_params(hidden_layer_sizes=(5,))
    snapshot = _snapshot(clf)
    with pytest.raises(ValueError, match="warm_start=True continues the fitted network"):
        clf.fit(X5, y)
    _assert_unchanged(clf, snapshot)


def test_diverging_fit_is_an_error_that_leaves_the_estimator_as_it_was():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3)) * 1e3
    target = X @ np.array([3.0, -2.0, 1.0]) * 1e3
    reg = MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=10.0,
                       max_iter=20, random_state=0)
    with pytest.raises(ValueError, match="training loss became (nan|inf) at epoch .*"
                                         "Scale the inputs"):
        reg.fit(X, target)
    assert not hasattr(reg, "model_") and not hasattr(reg, "n_features_in_")
    # Fitted first, then a diverging warm start: the fitted state stays.
    with pytest.warns(ConvergenceWarning):
        reg.set_params(learning_rate_init=1e-4, warm_start=True, max_iter=2).fit(
            X / 1e3, target / 1e6)
    before = reg.predict(X[:5] / 1e3)
    with pytest.raises(ValueError, match="diverged"):
        reg.set_params(learning_rate_init=10.0).fit(X, target)
    np.testing.assert_array_equal(reg.predict(X[:5] / 1e3), before)
    assert np.isfinite(before).all()


@pytest.mark.parametrize("warm_start", [False, True])
def test_weights_left_nan_behind_a_finite_loss_are_a_divergence_too(warm_start):
    # Each epoch's mean loss is taken before its last update: huge inputs make
    # the last update NaN while every logged loss is finite.
    X, labels = np.random.RandomState(0).rand(*X5.shape), y
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0,
                        warm_start=warm_start)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, labels)
    snapshot, before = _snapshot(clf), clf.predict_proba(X)
    with pytest.raises(ValueError, match="left NaN or infinite values in the network's "
                       "weights.* diverged"):
        clf.fit(X * 1e30, labels)
    _assert_unchanged(clf, snapshot)
    np.testing.assert_array_equal(clf.predict_proba(X), before)


@pytest.mark.parametrize("mode", ["warm", "partial"])
def test_a_failed_first_training_after_initialize_leaves_no_optimizer_state(mode):
    # The first training step builds the optimizer's moments: a failed fit left
    # them behind (restored were only the variables that existed before it),
    # and the next fit then differed from one of an estimator that never failed.
    def initialized():
        return KerasClassifier(tiny_mlp, optimizer="adam", random_state=0, shuffle=False,
                               warm_start=mode == "warm").initialize(X5, y)

    failed = initialized()
    with pytest.raises(RuntimeError):
        _continue(failed, mode, callbacks=[Fails(RuntimeError("boom"))])
    assert not hasattr(failed.model_, "history")  # Keras' record of the failed fit: gone
    np.testing.assert_array_equal(_continue(failed, mode).predict_proba(X5),
                                  _continue(initialized(), mode).predict_proba(X5))


def test_optimizer_state_left_infinite_behind_finite_weights_is_a_divergence():
    # Adam's moments overflowed while weights and loss stayed finite: the fit
    # was accepted, and every later fit then failed, blaming well-scaled data.
    clf = MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
    clf.partial_fit(X5, y, classes=[0, 1])
    snapshot = _snapshot(clf)
    with pytest.raises(ValueError, match="optimizer state.* diverged"):
        clf.partial_fit(X5 * 1e20, y)
    _assert_unchanged(clf, snapshot)
    clf.partial_fit(X5, y)  # still trains


def test_a_failed_warm_fit_leaves_keras_history_of_the_last_fit():
    clf = KerasClassifier(tiny_mlp, epochs=2, warm_start=True, random_state=0).fit(X5, y)
    before = clf.model_.history
    with pytest.raises(RuntimeError):
        clf.fit(X5, y, callbacks=[Fails(RuntimeError("boom"))])
    assert clf.model_.history is before
    assert before.history["loss"] == clf.history_["loss"]


def test_a_clone_carries_no_network_a_fit_left_on_a_callback():
    # Keras leaves the network on each callback it trained with: the unfitted
    # clone (each candidate of a search) carried a copy of the trained network.
    import pickle

    from sklearn.base import clone

    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=5)
    clf = KerasClassifier(tiny_mlp, epochs=2, callbacks=[stop], random_state=0).fit(X5, y)
    assert stop.model is not None  # Keras' own, left as it is
    copy = clone(clf)
    assert copy.callbacks[0] is not stop and copy.callbacks[0].model is None
    assert copy.callbacks[0].patience == 5 and not hasattr(copy, "model_")
    assert len(pickle.dumps(copy)) < len(pickle.dumps(clf)) / 4
    np.testing.assert_array_equal(copy.fit(X5, y).predict_proba(X5), clf.predict_proba(X5))


def test_an_estimator_fitted_with_keras_file_writing_callbacks_clones_and_pickles(tmp_path):
    # A fit leaves a CSVLogger's closed file and a TensorBoard's writers and
    # summary module on them, which neither copy nor pickle: clone, searches
    # and pickle failed once the estimator was fitted.
    import pickle

    from sklearn.base import clone

    log = keras.callbacks.CSVLogger(str(tmp_path / "log.csv"))
    board = keras.callbacks.TensorBoard(log_dir=str(tmp_path / "board"))
    clf = KerasClassifier(tiny_mlp, epochs=2, callbacks=[log, board], random_state=0).fit(X5, y)
    left = log.csv_file
    copy = clone(clf)
    (tmp_path / "log.csv").unlink()
    refit = copy.fit(X5, y)
    assert (tmp_path / "log.csv").read_text().splitlines()[0].startswith("epoch")
    np.testing.assert_array_equal(refit.predict_proba(X5), clf.predict_proba(X5))
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X5), clf.predict_proba(X5))
    assert again.callbacks[1].log_dir == board.log_dir
    assert log.csv_file is left  # the user's callbacks themselves are not changed


class _Interrupt(keras.callbacks.Callback):  # Ctrl-C in the second epoch
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt


class _Board(keras.callbacks.TensorBoard):  # a subclass of the user's, logging more
    pass


class _Log(keras.callbacks.CSVLogger):
    pass


@pytest.mark.parametrize("kinds", [(keras.callbacks.CSVLogger, keras.callbacks.TensorBoard),
                                   (_Log, _Board)], ids=["keras", "subclasses"])
@pytest.mark.parametrize("fitted", [False, True], ids=["first-fit", "refit"])
def test_a_fit_interrupted_with_keras_file_writing_callbacks_clones_and_pickles(tmp_path,
                                                                               fitted, kinds):
    # An interrupted fit never reaches on_train_end: a CSVLogger keeps its open
    # file and CSV writer, a TensorBoard the summary contexts it entered (also
    # with update_freq="batch"). clone, searches and pickle failed with
    # "cannot pickle '_csv.writer' object" until a later fit ended.
    import pickle

    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    # Subclasses of them failed after any fit ("cannot pickle '_io.TextIOWrapper'").
    log = kinds[0](str(tmp_path / "log.csv"))
    board = kinds[1](log_dir=str(tmp_path / "board"), update_freq="batch")
    clf = KerasClassifier(tiny_mlp, epochs=3, callbacks=[log, board], random_state=0)
    if fitted:
        clf.fit(X5, y)
    before = clf.predict_proba(X5) if fitted else None
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X5, y, callbacks=[log, board, _Interrupt()])
    assert log.writer is not None  # what Keras left on the user's callback, kept
    copy = clone(clf)
    fresh = [keras.callbacks.CSVLogger(str(tmp_path / "other.csv")),
             keras.callbacks.TensorBoard(log_dir=str(tmp_path / "other"), update_freq="batch")]
    expected = KerasClassifier(tiny_mlp, epochs=3, callbacks=fresh, random_state=0).fit(X5, y)
    np.testing.assert_array_equal(copy.fit(X5, y).predict_proba(X5), expected.predict_proba(X5))
    assert (tmp_path / "log.csv").read_text().splitlines()[-1].startswith("2,")
    assert cross_val_score(clf, X5, y, cv=2).shape == (2,)
    again = pickle.loads(pickle.dumps(clf))
    assert again.callbacks[1].log_dir == board.log_dir
    if fitted:
        np.testing.assert_array_equal(again.predict_proba(X5), before)
    log.csv_file.close()


class _SeenByPredict(keras.callbacks.EarlyStopping):  # predict sets its model too
    def on_predict_end(self, logs=None):
        self.predicted = True


@pytest.mark.parametrize("where", ["fit__callbacks", "predict__callbacks"])
def test_routed_callbacks_a_fit_left_files_and_networks_on_clone_and_pickle(tmp_path, where):
    # Only the callbacks parameter went without them: once fitted, clone,
    # searches and pickle failed on a CSVLogger given as fit__callbacks, and
    # each clone carried the trained network an EarlyStopping held.
    import pickle

    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    log = keras.callbacks.CSVLogger(str(tmp_path / "log.csv"))
    stop = _SeenByPredict(monitor="loss", patience=5)
    clf = KerasClassifier(tiny_mlp, epochs=2, random_state=0, **{where: [log, stop]})
    clf.fit(X5, y).predict(X5)
    assert isinstance(stop.model, keras.Model)
    copy = clone(clf)
    copied = copy.get_params()[where]
    assert copied[1] is not stop and copied[1].model is None and copied[1].patience == 5
    assert len(pickle.dumps(copy)) < len(pickle.dumps(clf)) / 4
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X5), clf.predict_proba(X5))
    assert cross_val_score(clf, X5, y, cv=2).shape == (2,)
    assert clf.get_params()[where][0] is log  # the user's callbacks themselves are kept


def test_small_predictions_made_during_a_failed_fit_are_not_kept(monkeypatch):
    # A prediction of a few rows while a partial_fit trains (another thread's)
    # snapshots the weights being trained; the failed fit's weights go back,
    # and so must that snapshot.
    from keraslearn._engine import _estimator

    est = MLPRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X5, X5[:, 0])
    before = est.predict(X5[:7])
    train = _estimator.train

    def train_then_predict_then_fail(est_, *args, **kwargs):
        train(est_, *args, **kwargs)
        est_.predict(X5[:7])
        raise KeyboardInterrupt

    monkeypatch.setattr(_estimator, "train", train_then_predict_then_fail)
    with pytest.raises(KeyboardInterrupt):
        est.partial_fit(X5, X5[:, 0])
    monkeypatch.undo()
    np.testing.assert_array_equal(est.predict(X5[:7]), before)


@pytest.mark.parametrize("mode", ["partial_fit", "refit", "warm_start"])
def test_ctrl_c_while_the_fitted_weights_are_saved_is_a_keyboard_interrupt(mode, monkeypatch):
    # Ctrl-C landing while the transaction read the fitted network's weights
    # left it half made: restoring then failed with an AttributeError, which
    # replaced the KeyboardInterrupt (a loop's `except KeyboardInterrupt` missed it).
    from keraslearn._engine import _transaction

    with pytest.warns(ConvergenceWarning):
        est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X5, y)
    before = _snapshot(est)
    read = _transaction.training_variables

    class CtrlC:
        def numpy(self):
            raise KeyboardInterrupt

    monkeypatch.setattr(_transaction, "training_variables", lambda m: [*read(m)[:1], CtrlC()])
    with pytest.raises(KeyboardInterrupt):
        if mode == "partial_fit":
            est.partial_fit(X5, y)
        else:
            est.set_params(warm_start=mode == "warm_start").fit(X5, y)
    monkeypatch.undo()
    est.set_params(warm_start=False)
    _assert_unchanged(est, before)


class OwnWeights(keras.Model):
    """A subclassed model whose weights are its own, not a layer's."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 1), initializer="glorot_uniform")
        self.b = self.add_weight(shape=(1,), initializer="zeros")

    def call(self, x):
        return keras.ops.sigmoid(keras.ops.matmul(x, self.w) + self.b)


def own_weights(meta):
    model = OwnWeights()
    model.build((None, meta["n_features_in_"]))
    return model


@pytest.mark.parametrize("mode", ["warm", "partial"])
def test_a_failed_continued_fit_restores_weights_a_subclassed_model_holds_itself(mode):
    # Only its layers' variables were restored: it had kept the failed fit's training.
    clf = KerasClassifier(own_weights, loss="binary_crossentropy", epochs=2, random_state=0,
                          warm_start=mode == "warm")
    _continue(clf, mode)
    snapshot = _snapshot(clf)
    assert len(snapshot[1]) == 2
    with pytest.raises(KeyboardInterrupt):
        _continue(clf, mode, callbacks=[Fails(KeyboardInterrupt())])
    _assert_unchanged(clf, snapshot)


@pytest.mark.parametrize("reuse", ["a layer", "a layer reset", "the model", "the compiled model"])
def test_a_failed_refit_restores_weights_a_builder_reuses_from_the_fitted_network(reuse):
    # A pretrained base fine-tuned by every network the builder makes (reset to its
    # pretrained weights first, or not), or one model it hands back each time: the
    # failed refit trained (or reset) the fitted network's weights, and moved the
    # optimizer of a model handed back compiled.
    base = keras.layers.Dense(4, activation="relu")
    shared = keras.Sequential([keras.Input((5,)), base, keras.layers.Dense(1, "sigmoid")])
    pretrained = [w.copy() for w in base.get_weights()]

    def build():
        if reuse.startswith("the"):
            if reuse == "the compiled model" and not shared.compiled:
                shared.compile(optimizer="adam", loss="binary_crossentropy")
            return shared
        if reuse == "a layer reset":
            base.set_weights(pretrained)
        inputs = keras.Input((5,))
        return keras.Model(inputs, keras.layers.Dense(1, "sigmoid")(base(inputs)))

    clf = KerasClassifier(build, loss="binary_crossentropy", optimizer="adam", epochs=2,
                          random_state=0).fit(X5, y)
    weights = [v.numpy() for v in clf.model_.weights]
    optimizer = [v.numpy() for v in clf.model_.optimizer.variables]
    proba = clf.predict_proba(X5)
    # One model handed back trained is refused before training (it would go on
    # from the fitted weights), and so is a new network around a trainable layer
    # of it (the fitted network's predictions would change with the refit's).
    error = (ValueError, "returned the network of an estimator fitted") if reuse.startswith(
        "the") else (ValueError, "training the weights")
    with pytest.raises(error[0], match=error[1]):
        clf.fit(X5, y, callbacks=[Fails(KeyboardInterrupt())])
    for now, before in zip(clf.model_.weights, weights):
        np.testing.assert_array_equal(now.numpy(), before)
    np.testing.assert_array_equal(clf.predict_proba(X5), proba)
    if reuse == "the compiled model":  # its optimizer, the fitted network's, goes on as it was
        for now, before in zip(clf.model_.optimizer.variables, optimizer, strict=True):
            np.testing.assert_array_equal(now.numpy(), before)


@pytest.mark.parametrize("Est", [KerasClassifier, "partial_fit"])
def test_a_failed_first_fit_restores_a_pretrained_layer_the_builder_reuses(Est):
    # Only a refit restored it: a first fit interrupted in its second epoch left
    # the user's pretrained base part-trained (a retry started elsewhere).
    base = keras.layers.Dense(4, activation="relu")
    base.build((None, 5))
    pretrained = [w.copy() for w in base.get_weights()]

    def build():
        inputs = keras.Input((5,))
        return keras.Model(inputs, keras.layers.Dense(1, "sigmoid")(base(inputs)))

    clf = KerasClassifier(build, loss="binary_crossentropy", optimizer="adam", epochs=3,
                          random_state=0)
    with pytest.raises(KeyboardInterrupt):
        if Est == "partial_fit":
            clf.partial_fit(X5, y, callbacks=[Fails(KeyboardInterrupt())])
        else:
            clf.fit(X5, y, callbacks=[Fails(KeyboardInterrupt())])
    assert not hasattr(clf, "model_")
    for now, before in zip(base.get_weights(), pretrained, strict=True):
        np.testing.assert_array_equal(now, before)
    clf.fit(X5, y)  # a retry trains it, from where the user had it
    assert not np.array_equal(base.get_weights()[0], pretrained[0])


def test_a_failed_first_fit_restores_the_optimizer_of_a_trained_model_the_builder_returns():
    # The weights came back, the optimizer's state not: Adam's moments and
    # iterations of the failed training beside the user's pretrained weights.
    inputs = keras.Input((5,))
    mine = keras.Model(inputs, keras.layers.Dense(1, "sigmoid")(
        keras.layers.Dense(4, "relu")(inputs)))
    mine.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    mine.fit(X5, y, epochs=2, verbose=0)
    weights = [w.copy() for w in mine.get_weights()]
    state = [v.numpy() for v in mine.optimizer.variables]
    clf = KerasClassifier(lambda: mine, epochs=3, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X5, y, callbacks=[Fails(KeyboardInterrupt())])
    for now, before in zip(mine.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(now, before)
    for now, before in zip(mine.optimizer.variables, state, strict=True):
        np.testing.assert_array_equal(now.numpy(), before)


def test_a_failed_partial_fit_leaves_a_model_initialize_took_to_be_compiled_anew():
    # partial_fit compiles the uncompiled model initialize() took; once it had
    # failed, the next partial_fit trained it as compiled then, not as compiled now.
    start = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, "sigmoid")])

    def initialized(learning_rate):
        network = keras.models.clone_model(start)
        network.set_weights(start.get_weights())
        return KerasClassifier(network, loss="binary_crossentropy", optimizer="sgd",
                               optimizer__learning_rate=learning_rate, random_state=0,
                               shuffle=False).initialize(X5, y)

    failed = initialized(0.5)
    with pytest.raises(KeyboardInterrupt):
        failed.partial_fit(X5, y, callbacks=[Fails(KeyboardInterrupt())])
    failed.set_params(optimizer__learning_rate=0.01).partial_fit(X5, y)
    assert float(failed.model_.optimizer.learning_rate) == pytest.approx(0.01)
    np.testing.assert_array_equal(failed.predict_proba(X5),
                                  initialized(0.01).partial_fit(X5, y).predict_proba(X5))
    # Compiled anew once only: a fit of a new network after the failed partial_fit
    # left that due, and the next partial_fit lost the fit's optimizer state.
    failed = initialized(0.5)
    with pytest.raises(KeyboardInterrupt):
        failed.partial_fit(X5, y, callbacks=[Fails(KeyboardInterrupt())])
    failed.fit(X5, y)
    optimizer = failed.model_.optimizer
    iterations = int(optimizer.iterations)
    failed.partial_fit(X5, y)
    assert failed.model_.optimizer is optimizer and int(optimizer.iterations) > iterations


def test_a_ctrl_c_while_the_weights_are_put_back_is_raised_once_all_are_back(monkeypatch):
    # The second Ctrl-C (the first seemed slow) stopped the restore halfway: the
    # estimator's attributes back, its weights a mix of old and trained ones.
    from keraslearn._engine import _transaction

    est = KerasClassifier(tiny_mlp, epochs=2, random_state=0).fit(X5, y)
    est.set_params(warm_start=True)  # (trained in place)
    before = _snapshot(est)
    read = _transaction.training_variables

    class SecondCtrlC:  # the last variable put back; Ctrl-C on the first try
        def __init__(self, variable):
            self.variable, self.tries = variable, 0

        def numpy(self):
            return self.variable.numpy()

        def assign(self, value):
            self.tries += 1
            if self.tries == 1:
                raise KeyboardInterrupt
            self.variable.assign(value)

    class Told(keras.callbacks.Callback):  # as MLflowCallback ends its run
        failed = None

        def _fit_failed(self, interrupted):
            self.failed = interrupted

    monkeypatch.setattr(_transaction, "training_variables",
                        lambda m: [*read(m)[1:], SecondCtrlC(read(m)[0])])
    told = Told()
    with pytest.raises(KeyboardInterrupt):
        est.fit(X5, y, callbacks=[Fails(RuntimeError("failed inside Keras' fit")), told])
    monkeypatch.undo()
    _assert_unchanged(est, before)
    assert told.failed is False  # told of the fit's own failure, restore interrupted or not


@pytest.mark.parametrize("failure", ["bad-y", "keras-fit"])
def test_a_failed_fit_leaves_the_users_random_state_where_it_was(failure):
    # The fit drew its seed from the RandomState before checking y, and kept the
    # draw when training failed: the next fit differed from a fresh one.
    generator = np.random.RandomState(7)
    state = generator.get_state()[1].copy()
    est = KerasClassifier(tiny_mlp, epochs=1, random_state=generator)
    with pytest.raises((ValueError, RuntimeError)):
        if failure == "bad-y":
            est.fit(X5, np.where(y == 1, np.nan, 0.0))
        else:
            est.fit(X5, y, callbacks=[Fails(RuntimeError("failed inside Keras' fit"))])
    np.testing.assert_array_equal(generator.get_state()[1], state)
    fresh = KerasClassifier(tiny_mlp, epochs=1, random_state=np.random.RandomState(7))
    np.testing.assert_array_equal(est.fit(X5, y).predict_proba(X5),
                                  fresh.fit(X5, y).predict_proba(X5))
