"""The rest of scikeras' public API: callback routing by position and name,
callbacks in predict, history key names, utilities, current_epoch,
initialized_, batch_size=-1, and clear errors when partial_fit data changes."""

import re
import warnings

import keras
import numpy as np
import pytest
from sklearn.datasets import make_classification

from builders import tiny_mlp
from keraslearn import KerasClassifier, KerasRegressor
from keraslearn.utils import loss_name, metric_name
from keraslearn.utils.random_state import tensorflow_random_state
from keraslearn.utils.transformers import ClassifierLabelEncoder, RegressorTargetEncoder

X, y = make_classification(n_samples=80, n_features=4, random_state=0)


class Schedule:
    """Keeps the rate for ``wait`` epochs, then multiplies it by ``coef``."""

    def __init__(self, wait=1, coef=0.5):
        self.wait, self.coef = wait, coef

    def __call__(self, epoch, lr):
        return lr if epoch < self.wait else lr * self.coef


def test_positional_routing_makes_nested_classes():
    clf = KerasClassifier(
        tiny_mlp, optimizer="sgd", optimizer__learning_rate=0.1, epochs=3, random_state=0,
        callbacks=keras.callbacks.LearningRateScheduler,
        callbacks__0=Schedule,  # the scheduler's first positional argument
        callbacks__0__coef=0.2,
    ).fit(X, y)
    assert float(clf.model_.optimizer.learning_rate.numpy()) == pytest.approx(0.1 * 0.2**2)


def test_single_class_and_dict_syntax():
    single = KerasClassifier(tiny_mlp, epochs=5, random_state=0,
                             callbacks=keras.callbacks.EarlyStopping,
                             callbacks__monitor="loss", callbacks__patience=0,
                             callbacks__min_delta=1e9).fit(X, y)
    assert len(single.history_["loss"]) == 2  # stopped after the second epoch
    named = KerasClassifier(tiny_mlp, epochs=5, random_state=0,
                            callbacks={"stop": keras.callbacks.EarlyStopping,
                                       "nan": keras.callbacks.TerminateOnNaN},
                            callbacks__stop__monitor="loss", callbacks__stop__patience=0,
                            callbacks__stop__min_delta=1e9).fit(X, y)
    assert len(named.history_["loss"]) == 2


class Counting(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("train")

    def on_predict_begin(self, logs=None):
        self.calls.append("predict_begin")
        self.params_seen = dict(self.params)

    def on_predict_end(self, logs=None):
        self.calls.append("predict_end")

    def on_predict_batch_end(self, batch, logs=None):
        self.calls.append(("batch", batch, len(logs["outputs"])))


def test_callbacks_run_in_predict_and_fit_or_predict_only_ones():
    shared, fit_only, predict_only = Counting(), Counting(), Counting()
    clf = KerasClassifier(tiny_mlp, epochs=1, random_state=0, callbacks=[shared],
                          fit__callbacks=[fit_only], predict__callbacks=[predict_only]).fit(X, y)
    clf.predict(X[:3])
    clf.predict_proba(X[:3])
    one_call = ["predict_begin", ("batch", 0, 3), "predict_end"]
    assert shared.calls == ["train", *one_call, *one_call]
    assert fit_only.calls == ["train"]
    assert predict_only.calls == one_call * 2
    # The batch hooks run for each of Keras' batches, as Keras' predict runs them
    # (scikeras passes the callbacks to it); they used to run once per call.
    predict_only.calls.clear()
    clf.set_params(predict__batch_size=20).predict(X[:50])
    assert predict_only.calls == ["predict_begin", ("batch", 0, 20), ("batch", 1, 20),
                                  ("batch", 2, 10), "predict_end"]


class _Made(Counting):
    made = []

    def __init__(self):
        super().__init__()
        _Made.made.append(self)


def test_a_callback_class_is_made_once_a_fit_and_predicts_as_the_one_that_trained():
    # It was made for training, then again for predict's hooks: a class opening
    # a file or a run did so twice a fit (scikeras makes one).
    _Made.made.clear()
    clf = KerasClassifier(tiny_mlp, epochs=1, random_state=0, callbacks=[_Made]).fit(X, y)
    assert len(_Made.made) == 1
    clf.predict(X[:3])
    assert _Made.made[0].calls == ["train", "predict_begin", ("batch", 0, 3), "predict_end"]
    clf.partial_fit(X, y)
    assert len(_Made.made) == 2
    clf.predict(X[:3])
    assert _Made.made[1].calls[0] == "train" and _Made.made[1].calls[-1] == "predict_end"
    clf.fit(X, y, callbacks=[])  # fit's own replace them: made for predict only
    assert len(_Made.made) == 3 and _Made.made[2].calls == []
    clf.predict(X[:3])
    assert _Made.made[2].calls[-1] == "predict_end"


def test_a_lambda_callback_s_predict_hooks_run_as_keras_predict_runs_them():
    # Given to the object (Keras' LambdaCallback takes them as keyword arguments),
    # not by its class: predict ran none of them.
    seen = []
    hooks = keras.callbacks.LambdaCallback(
        on_predict_begin=lambda logs: seen.append("begin"),
        on_predict_batch_end=lambda batch, logs: seen.append(("batch", batch)))
    clf = KerasClassifier(tiny_mlp, epochs=1, random_state=0, callbacks=[hooks]).fit(X, y)
    clf.predict(X[:3])
    in_keras = list(seen)
    seen.clear()
    clf.model_.predict(X[:3], callbacks=[hooks], verbose=0)
    assert in_keras == seen == ["begin", ("batch", 0)]


def test_prediction_callbacks_get_the_params_keras_predict_gives_them():
    # They got the fit's params (its epochs and steps), or none at all.
    shared, predict_only, in_keras = Counting(), Counting(), Counting()
    clf = KerasClassifier(tiny_mlp, epochs=3, random_state=0, callbacks=[shared],
                          predict__callbacks=[predict_only], predict__batch_size=20).fit(X, y)
    clf.predict(X[:50])
    clf.model_.predict(X[:50], batch_size=20, callbacks=[in_keras], verbose=0)
    assert in_keras.params_seen == {"verbose": 0, "epochs": 1, "steps": 3}
    assert shared.params_seen == predict_only.params_seen == in_keras.params_seen


def test_prediction_callbacks_follow_the_parameters_in_and_out_of_pickle():
    # They were made at fit and kept until the estimator was pickled: predict
    # ran callbacks the parameters no longer held, unlike its unpickled copy.
    import pickle

    at_fit, later = Counting(), Counting()
    clf = KerasClassifier(tiny_mlp, epochs=1, random_state=0, callbacks=[at_fit]).fit(X, y)
    clf.predict(X[:3])
    assert at_fit.calls[-1] == "predict_end"
    clf.set_params(callbacks=[later])
    for est in (clf, pickle.loads(pickle.dumps(clf))):
        at_fit.calls.clear()
        est.predict(X[:3])
        assert at_fit.calls == [] and "predict_end" in (
            later.calls if est is clf else est.callbacks[0].calls)
    clf.set_params(callbacks=None)
    later.calls.clear()
    clf.predict(X[:3])
    assert later.calls == []


def test_callbacks_given_to_predict_replace_the_estimator_s_for_that_call():
    # They ran beside the estimator's own (callbacks and predict__callbacks);
    # scikeras, Keras' predict and keraslearn's fit take them in their place.
    own, routed, given = Counting(), Counting(), Counting()
    clf = KerasClassifier(tiny_mlp, epochs=1, random_state=0, callbacks=[own],
                          predict__callbacks=[routed]).fit(X, y)
    own.calls.clear()
    clf.predict(X[:3], callbacks=[given])
    assert "predict_end" in given.calls and own.calls == routed.calls == []
    clf.predict(X[:3])
    assert "predict_end" in own.calls and "predict_end" in routed.calls


def test_history_keys_are_named_as_scikeras_names_them():
    def regressor(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(1)])

    reg = KerasRegressor(regressor, loss="mse", metrics=["mae"], epochs=2,
                         validation_split=0.25).fit(X, X[:, 0])
    assert set(reg.history_) == {"loss", "mean_absolute_error", "val_loss", "val_mae"}


def test_metrics_named_alike_in_history_keep_one_list_each(tmp_path):
    # found in an audit: two metrics whose names history_ spells alike ("mae"
    # and "mean_absolute_error"; "AUC" compiled as "auc" beside weighted_metrics'
    # "AUC", which Keras then logged without its weighted_ prefix) were joined in
    # one list of twice the epochs; a metric class in compile__weighted_metrics
    # reached Keras as a class, and keraslearn.save failed on it
    import keraslearn

    def regressor(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(1)])

    reg = KerasRegressor(regressor, loss="mse", metrics=["mae", "mean_absolute_error"],
                         epochs=2).fit(X, X[:, 0])
    assert {key: len(v) for key, v in reg.history_.items()} == {
        "loss": 2, "mae": 2, "mean_absolute_error": 2}
    labels = (X[:, 0] > 0).astype(int)
    clf = KerasClassifier(tiny_mlp, loss="binary_crossentropy", metrics=["AUC"], epochs=2,
                          compile__weighted_metrics=["AUC", keras.metrics.Precision],
                          random_state=0).fit(X, labels, sample_weight=np.linspace(0.5, 2, len(X)))
    assert {key: len(v) for key, v in clf.history_.items()} == {
        "loss": 2, "auc": 2, "weighted_auc": 2, "precision": 2}
    keraslearn.save(clf, tmp_path / "clf.skops")
    # (found in review) routed to them, and compile__metrics made alike too
    routed = clf.set_params(compile__weighted_metrics=[keras.metrics.AUC],
                            compile__weighted_metrics__0__name="wauc",
                            compile__metrics=["AUC"], validation_split=0.25).fit(X, labels)
    assert set(routed.history_) == {"loss", "auc", "wauc", "val_loss", "val_auc", "val_wauc"}
    with pytest.raises(ValueError, match=r"Unknown metric 'nosuch' in compile__weighted_metrics"):
        clf.set_params(compile__weighted_metrics=["nosuch"]).fit(X, labels)


def test_metrics_given_as_classes_keep_their_names_in_every_fit():
    # Keras names an instance made without a name by a count over the process:
    # auc, then auc_2, auc_3, ... (auc_9 in a search's best estimator), so that
    # history keys changed and EarlyStopping(monitor="val_auc") never stopped.
    from sklearn.base import clone

    keras.metrics.AUC(), keras.metrics.Precision()  # (made earlier in the process)
    clf = KerasClassifier(tiny_mlp, loss="binary_crossentropy", epochs=3, random_state=0,
                          metrics=[keras.metrics.AUC, keras.metrics.Precision,
                                   keras.metrics.Precision], metrics__2__thresholds=0.9,
                          validation_split=0.25,
                          callbacks=[keras.callbacks.EarlyStopping(monitor="val_auc",
                                                                   patience=0, mode="max")])
    labels = (X[:, 0] > 0).astype(int)
    keys = {"loss", "auc", "precision", "precision_1"}
    for est in (clf, clf, clone(clf)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # (EarlyStopping warns of a metric it lacks)
            est.fit(X, labels)
        assert set(est.history_) == keys | {"val_" + key for key in keys}
    # found in an audit: given by their class names, Keras logged "AUC" and
    # "val_AUC" (history_: auc beside val_AUC), and the EarlyStopping saw nothing
    by_name = KerasClassifier(
        tiny_mlp, loss="binary_crossentropy", epochs=3, random_state=0, validation_split=0.25,
        metrics=["AUC", "Precision", "MeanSquaredError"],
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_auc", patience=0, mode="max")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        by_name.fit(X, labels)
    keys = {"loss", "auc", "precision", "mean_squared_error"}
    assert set(by_name.history_) == keys | {"val_" + key for key in keys}
    named = KerasClassifier(tiny_mlp, loss="binary_crossentropy", epochs=1,
                            metrics=[keras.metrics.AUC], metrics__name="area").fit(X, labels)
    assert "area" in named.history_
    # A class of one's own naming its base passes **kwargs on: its name is its
    # own (it was given name= too: "got multiple values", found in review).

    class HitRate(keras.metrics.MeanMetricWrapper):
        def __init__(self, **kwargs):
            super().__init__(fn=keras.metrics.binary_accuracy, name="hit_rate", **kwargs)

    own = KerasClassifier(tiny_mlp, loss="binary_crossentropy", epochs=1, metrics=[HitRate])
    assert set(own.fit(X, labels).history_) == {"loss", "hit_rate"}
    # One passing **kwargs on to a Keras metric it extends is named as its class,
    # in every fit (found in review: my_auc, my_auc_1, ...).

    class MyAUC(keras.metrics.AUC):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)

    class Top5AUC(MyAUC):  # (a digit before capitals: Keras' rule makes top5auc)
        pass

    for cls, key in ((MyAUC, "my_auc"), (Top5AUC, "top5auc")):
        mine = KerasClassifier(tiny_mlp, loss="binary_crossentropy", epochs=1, metrics=[cls])
        for _ in range(2):
            assert set(mine.fit(X, labels).history_) == {"loss", key}
    # One naming its base by position, or keeping a default name of its own, is
    # named as it names itself (found in review: a TypeError, "set_default").

    class Positional(keras.metrics.MeanMetricWrapper):
        def __init__(self, **kwargs):
            super().__init__(keras.metrics.binary_accuracy, "hit_rate", **kwargs)

    class Default(keras.metrics.MeanMetricWrapper):
        def __init__(self, **kwargs):
            kwargs.setdefault("name", "hits")
            super().__init__(fn=keras.metrics.binary_accuracy, **kwargs)

    for cls, key in ((Positional, "hit_rate"), (Default, "hits")):
        est = KerasClassifier(tiny_mlp, loss="binary_crossentropy", epochs=1, metrics=[cls])
        for _ in range(2):
            assert set(est.fit(X, labels).history_) == {"loss", key}


def test_metrics_of_several_values_and_text_in_the_logs_are_kept_in_history():
    # Keras' F1Score(average=None) gives one value per class an epoch, and a
    # callback may write text in the logs: the fit had failed once trained.
    class Note(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["note"] = f"epoch {epoch}"

    labels = np.arange(len(X)) % 3
    clf = KerasClassifier(tiny_mlp, loss="categorical_crossentropy", epochs=2,
                          metrics=[keras.metrics.F1Score()], callbacks=[Note()],
                          random_state=0).fit(X, labels)
    assert len(clf.history_["f1_score"]) == 2 and clf.history_["note"] == ["epoch 0", "epoch 1"]
    for value, keras_value in zip(clf.history_["f1_score"], clf.model_.history.history["f1_score"]):
        assert value.shape == (3,)
        np.testing.assert_array_equal(value, np.asarray(keras_value))
    assert all(isinstance(v, float) for v in clf.history_["loss"])


class _TwoOutputs:
    """A target encoder splitting y's two columns between outputs o1 and o2."""

    def fit(self, y):
        return self

    def transform(self, y):
        return {"o1": y[:, :1], "o2": y[:, 1:]}

    def inverse_transform(self, y):
        return np.column_stack([y["o1"], y["o2"]])


class _TwoOutputRegressor(KerasRegressor):
    @property
    def target_encoder(self):
        return _TwoOutputs()


def test_history_keys_of_each_output_are_named_as_scikeras_names_them():
    def two(meta):
        inputs = keras.Input((4,))
        hidden = keras.layers.Dense(3)(inputs)
        return keras.Model(inputs, {name: keras.layers.Dense(1, name=name)(hidden)
                                    for name in ("o1", "o2")})

    reg = _TwoOutputRegressor(two, loss="mse", metrics={"o1": "mae", "o2": "mse"}, epochs=1,
                              random_state=0).fit(X, X[:, :2])
    assert set(reg.history_) == {"loss", "o1_loss", "o1_mean_absolute_error", "o2_loss",
                                 "o2_mean_squared_error"}


@pytest.mark.parametrize("loss, match", [
    (["mse", "mse", "mse"], r"loss is a list of 3 losses, one per output, but the model has "
                            r"2 output\(s\): \['o1', 'o2'\]"),
    ({"o1": "mse", "out2": "mse"}, r"loss has keys \['out2'\] that name no output of the "
                                   r"model; its outputs are \['o1', 'o2'\]"),
])
def test_a_loss_per_output_that_names_other_outputs_is_refused_before_training(loss, match):
    def two(meta):
        inputs = keras.Input((4,))
        return keras.Model(inputs, {name: keras.layers.Dense(1, name=name)(inputs)
                                    for name in ("o1", "o2")})

    reg = _TwoOutputRegressor(two, loss=loss, epochs=1)
    with pytest.raises(ValueError, match=match):
        reg.fit(X, X[:, :2])
    assert not hasattr(reg, "model_")
    reg.set_params(loss=["mse", "mae"]).fit(X, X[:, :2])  # one per output: fine
    # None for one output trains the others, as Keras' compile does (found in review)
    for partial in ({"o1": "mse", "o2": None}, [None, "mse"]):
        assert set(reg.set_params(loss=partial).fit(X, X[:, :2]).history_) == {"loss"}


def test_utilities_under_scikeras_names():
    assert loss_name("mse") == "mean_squared_error"
    assert loss_name(keras.losses.CategoricalCrossentropy) == "categorical_crossentropy"
    assert metric_name("mae") == "mean_absolute_error"
    assert metric_name(keras.metrics.AUC()) == "auc"
    with pytest.raises(TypeError):
        loss_name(3)
    encoder = ClassifierLabelEncoder(loss="categorical_crossentropy").fit(np.array([1, 2, 3]))
    np.testing.assert_array_equal(encoder.transform(np.array([3])), [[0, 0, 1]])
    assert RegressorTargetEncoder().fit(np.zeros((3, 2))).get_metadata()["n_outputs_"] == 2
    with tensorflow_random_state(0):
        first = np.random.rand()
    with tensorflow_random_state(0):
        assert np.random.rand() == first


def test_names_of_classes_that_need_arguments_to_be_made():
    # The name was read from an instance made without arguments: a TypeError.
    class WeightedMSE(keras.losses.Loss):
        def __init__(self, weight, **kwargs):
            super().__init__(**kwargs)
            self.weight = weight

        def call(self, y_true, y_pred):
            return self.weight * keras.ops.mean((y_true - y_pred) ** 2, axis=-1)

    assert metric_name(keras.metrics.MeanIoU) == metric_name("MeanIoU") == "mean_io_u"
    assert metric_name(keras.metrics.MeanIoU(num_classes=2)) == "mean_io_u"
    assert loss_name(WeightedMSE) == loss_name(WeightedMSE(2.0)) == "weighted_mse"
    with pytest.raises(TypeError, match="subclass of keras.losses.Loss; got type"):
        loss_name(dict)
    with pytest.raises(TypeError, match="subclass of keras.metrics.Metric; got type"):
        metric_name(keras.losses.Hinge)


def test_tensorflow_random_state_puts_tensorflows_global_seed_back():
    import tensorflow as tf

    from keraslearn._random import _tensorflow_global_seed

    for before in (None, 5):
        tf.random.set_seed(before)
        with tensorflow_random_state(0):
            assert _tensorflow_global_seed() == 0
        assert _tensorflow_global_seed() == before  # it stayed 0


@pytest.mark.parametrize("loss", ["binary_crossentropy", "mse", keras.losses.Hinge(), None])
def test_a_label_encoder_on_its_own_gives_binary_targets_one_column(loss):
    # With binary cross-entropy it one-hot encoded them, and read a sigmoid
    # column back as class 0 for every row.
    encoder = ClassifierLabelEncoder(loss=loss).fit(np.array(["no", "yes", "yes"]))
    np.testing.assert_array_equal(encoder.transform(np.array(["yes", "no"])), [[1.0], [0.0]])
    assert encoder.inverse_transform(np.array([[0.9], [0.1]])).tolist() == ["yes", "no"]
    categorical = ClassifierLabelEncoder(loss="categorical_crossentropy").fit(
        np.array(["no", "yes"]))
    np.testing.assert_array_equal(categorical.transform(np.array(["yes"])), [[0, 1]])


def test_current_epoch_initialized_and_whole_data_batches():
    clf = KerasClassifier(tiny_mlp, epochs=2, batch_size=-1, predict__batch_size=-1,
                          random_state=0)
    assert clf.current_epoch == 0 and not clf.initialized_
    clf.fit(X, y)
    assert clf.current_epoch == 2 and clf.initialized_
    assert int(clf.model_.optimizer.iterations.numpy()) == 2  # one batch per epoch
    clf.partial_fit(X, y)
    assert clf.current_epoch == 3
    assert clf.predict(X).shape == y.shape
    with pytest.raises(ValueError, match="batch_size must be a positive int or -1"):
        KerasClassifier(tiny_mlp, batch_size=-2).fit(X, y)


@pytest.mark.parametrize("share", [True, False], ids=["shared-traces", "keras-fit"])
def test_partial_fit_epochs_count_on_as_callbacks_see_them(share):
    # As scikeras: each partial_fit is Keras' fit from initial_epoch=current_epoch,
    # so a learning-rate schedule goes on decaying. Every call used to be epoch 0.
    import keraslearn

    seen = []

    def schedule(epoch, learning_rate):
        seen.append(epoch)
        return 0.1 / (1 + epoch)

    clf = KerasClassifier(tiny_mlp, optimizer="sgd", random_state=0, shuffle=False,
                          callbacks=keras.callbacks.LearningRateScheduler, callbacks__0=schedule)
    with keraslearn.config_context(share_traced_functions=share):
        for _ in range(3):
            clf.partial_fit(X, y)
        assert seen == [0, 1, 2] and clf.current_epoch == 3
        assert float(clf.model_.optimizer.learning_rate.numpy()) == pytest.approx(0.1 / 3)
        assert clf.model_.history.epoch == [2] and len(clf.history_["loss"]) == 3
        # The same three epochs in one fit train the same network.
        once = KerasClassifier(tiny_mlp, optimizer="sgd", random_state=0, epochs=3, shuffle=False,
                               callbacks=keras.callbacks.LearningRateScheduler,
                               callbacks__0=schedule).fit(X, y)
        assert seen[3:] == [0, 1, 2]
        np.testing.assert_allclose(clf.history_["loss"], once.history_["loss"], rtol=1e-5)


class OwnLossName(keras.Sequential):
    """A model whose own train_step reports its loss under another name."""

    def train_step(self, data):
        return {"total": super().train_step(data)["loss"]}


def test_current_epoch_counts_epochs_of_a_train_step_reporting_no_loss_key():
    # It read len(history_["loss"]): 0 after every fit, so partial_fit
    # restarted Keras' epoch numbering at 0 each call.
    def build(meta):
        model = OwnLossName([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model

    seen = []
    clf = KerasClassifier(build, epochs=2, random_state=0, callbacks=[
        keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))])
    clf.fit(X, y)
    assert set(clf.history_) == {"total"} and clf.current_epoch == 2
    clf.partial_fit(X, y)
    assert clf.current_epoch == 3 and seen == [0, 1, 2]


def test_partial_fit_takes_no_initial_epoch():
    # It trains from current_epoch; an initial_epoch turned epochs into Keras'
    # absolute end, so that partial_fit(initial_epoch=current_epoch) trained nothing.
    clf = KerasClassifier(tiny_mlp, epochs=2, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match=r"trains from the number of epochs already trained "
                                        r"\(len\(history_\['loss'\]\): Keras' initial_epoch\) "
                                        "and takes no initial_epoch"):
        clf.partial_fit(X, y, initial_epoch=clf.current_epoch)
    assert clf.partial_fit(X, y, epochs=3).current_epoch == 5
    # One routed to every fit is for fit: partial_fit trained nothing with it.
    routed = KerasClassifier(tiny_mlp, epochs=1, random_state=0, fit__initial_epoch=2)
    assert routed.partial_fit(X, y).partial_fit(X, y).current_epoch == 2


@pytest.mark.parametrize("epochs", [0, -2, 1.5, None, True])
def test_partial_fit_refuses_epochs_that_are_no_positive_int_as_given(epochs):
    # It checked the running total: epochs=0 or -2 after 5 trained nothing in
    # silence, 1.5 was refused as "6.5", None failed adding it.
    from keraslearn import ImageClassifier

    clf = KerasClassifier(tiny_mlp, epochs=5, random_state=0).fit(X, y)
    weights = [w.copy() for w in clf.model_.get_weights()]
    images = np.random.default_rng(0).random((8, 6, 6, 1)).astype("float32")
    image = ImageClassifier(conv_filters=(2,), dense_units=4, epochs=1, random_state=0)
    for est, rows, labels in ((clf, X, y), (image, images, np.arange(8) % 2)):
        with pytest.raises(ValueError, match=rf"^epochs must be a positive int, got "
                                             rf"{re.escape(repr(epochs))}\.$"):
            est.partial_fit(rows, labels, classes=[0, 1], epochs=epochs)
    assert clf.current_epoch == 5 and not hasattr(image, "model_")
    for a, b in zip(clf.model_.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_partial_fit_refuses_data_that_changed():
    clf = KerasClassifier(tiny_mlp, random_state=0).partial_fit(X.astype("float32"), y)
    with pytest.raises(ValueError, match="X has dtype float64, but .* fitted on float32"):
        clf.partial_fit(X.astype("float64"), y)
    with pytest.raises(ValueError, match=r"labels not in classes: \[7\]"):
        clf.partial_fit(X.astype("float32"), np.where(y == 1, 7, 0))
    with pytest.raises(ValueError, match="y has 2 columns"):
        clf.partial_fit(X.astype("float32"), np.column_stack([y, y]))
    with pytest.raises(ValueError, match="X has 3 features, but KerasClassifier is expecting 4"):
        clf.partial_fit(X[:, :3].astype("float32"), y)
    assert clf.current_epoch == 1  # none of the refused calls trained


def _compiled_with(loss):
    def build(meta):
        model = keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                  keras.layers.Dense(meta["n_classes_"], activation="softmax")])
        model.compile(loss=loss, optimizer="adam")
        return model

    return build


def test_a_loss_the_compiled_model_does_not_use_is_refused_as_scikeras_refuses_it():
    # The builder's loss trained, and the estimator's went unused: a search
    # over loss searched nothing.
    sparse = _compiled_with("sparse_categorical_crossentropy")
    y3 = np.arange(len(X)) % 3
    clf = KerasClassifier(sparse, loss="categorical_crossentropy", epochs=1)
    with pytest.raises(ValueError, match=r"loss='categorical_crossentropy' was given, but the "
                                         r"model was compiled with the loss "
                                         r"'sparse_categorical_crossentropy'"):
        clf.fit(X, y3)
    assert not hasattr(clf, "model_")
    # Given as the one output's loss in a list, it was not compared: the
    # compiled one trained.
    with pytest.raises(ValueError, match=r"compiled with the loss "
                                         r"'sparse_categorical_crossentropy'"):
        KerasClassifier(sparse, loss=["categorical_crossentropy"], epochs=1).fit(X, y3)
    # The same loss by another name, or none, is the compiled one.
    for loss in (None, "SparseCategoricalCrossentropy", keras.losses.SparseCategoricalCrossentropy,
                 ["sparse_categorical_crossentropy"]):
        fitted = KerasClassifier(sparse, loss=loss, epochs=1, random_state=0).fit(X, y3)
        assert loss_name(fitted.model_.loss) == "sparse_categorical_crossentropy"


@pytest.mark.parametrize("given, compiled, message", [
    # found in an audit: compared by name only, the estimator's settings went unused
    (keras.losses.Huber(delta=2.0), "huber", r"given with delta=2 where it has 1\)"),
    (keras.losses.BinaryCrossentropy(label_smoothing=0.1), keras.losses.binary_crossentropy,
     r"given with label_smoothing=0.1 where it has 0\)"),
    (keras.losses.MeanSquaredError(reduction="sum"), keras.losses.MeanSquaredError(),
     r"given with reduction='sum' where it has 'sum_over_batch_size'"),
    ("huber", keras.losses.Huber(delta=2.0), None),  # (a name: the compiled loss's settings)
    (keras.losses.Huber(delta=2.0, name="mine"), keras.losses.Huber(delta=2.0), None),
    # found in review: settings Keras computes alike were refused, NumPy's were not read
    (keras.losses.MeanSquaredError(reduction="mean"), "mse", None),
    (keras.losses.MeanSquaredError(reduction=None), keras.losses.MeanSquaredError(
        reduction="none"), None),
    (keras.losses.BinaryCrossentropy(axis=1), "binary_crossentropy", None),  # (2-D: axis -1)
    (keras.losses.BinaryCrossentropy(label_smoothing=np.float32(0.1)), keras.losses.
     BinaryCrossentropy(label_smoothing=0.1), None),
    (keras.losses.BinaryCrossentropy(label_smoothing=np.float32(0.1)), "binary_crossentropy",
     r"given with label_smoothing=0.1 where it has 0\)"),
    (keras.losses.Huber(delta=np.float32(2.0)), keras.losses.Huber(),
     r"given with delta=2 where it has 1\)"),
])
def test_a_loss_given_with_settings_the_compiled_loss_lacks_is_refused(given, compiled, message):
    def build(meta):
        model = keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(loss=compiled, optimizer="adam")
        return model

    yb = (X[:, 0] > 0).astype(int)
    est = KerasRegressor(build, loss=given, epochs=1, random_state=0)
    if message is None:
        assert loss_name(est.fit(X, yb).model_.loss) == loss_name(compiled)
        return
    with pytest.raises(ValueError, match=r"^loss=\w+\(\.\.\.\) was given, but the model was "
                                         r"compiled with the loss '\w+' \(" + message):
        est.fit(X, yb)
    assert not hasattr(est, "model_")


def test_a_subclass_default_loss_is_not_held_against_the_loss_its_builder_compiles():
    """scikeras compares only a loss given, not the default a subclass declares:
    such a subclass with a builder compiling another loss was refused."""

    class Declaring(KerasClassifier):
        def __init__(self, model=None, loss="binary_crossentropy", **kwargs):
            super().__init__(model=model, loss=loss, **kwargs)

    y3 = np.arange(len(X)) % 3
    sparse = _compiled_with("sparse_categorical_crossentropy")
    fitted = Declaring(sparse, epochs=1, random_state=0).fit(X, y3)
    assert loss_name(fitted.model_.loss) == "sparse_categorical_crossentropy"
    with pytest.raises(ValueError, match="loss='categorical_crossentropy' was given"):
        Declaring(sparse, loss="categorical_crossentropy", epochs=1).fit(X, y3)
