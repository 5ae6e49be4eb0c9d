"""The rest of scikeras' public API: callback routing by position and name,
callbacks in predict, history key names, utilities, current_epoch,
initialized_, batch_size=-1, and clear errors when partial_fit data changes."""

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

    def on_predict_end(self, logs=None):
        self.calls.append("predict_end")


def test_callbacks_run_in_predict_and_fit_or_predict_only_ones():
    shared, fit_only, predict_only = Counting(), Counting(), Counting()
    clf = KerasClassifier(tiny_mlp, epochs=1, random_state=0, callbacks=[shared],
                          fit__callbacks=[fit_only], predict__callbacks=[predict_only]).fit(X, y)
    clf.predict(X[:3])
    clf.predict_proba(X[:3])
    assert shared.calls == ["train", "predict_begin", "predict_end"] * 1 + [
        "predict_begin", "predict_end"]
    assert fit_only.calls == ["train"]
    assert predict_only.calls == ["predict_begin", "predict_end"] * 2


def test_history_keys_are_named_as_scikeras_names_them():
    def regressor(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(1)])

    reg = KerasRegressor(regressor, loss="mse", metrics=["mae"], epochs=2,
                         validation_split=0.25).fit(X, X[:, 0])
    assert set(reg.history_) == {"loss", "mean_absolute_error", "val_loss", "val_mae"}


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
