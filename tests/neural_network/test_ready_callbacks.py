"""Keras callbacks on the ready networks: the `callbacks` parameter and fit(callbacks=...)."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from keraslearn import ImageClassifier, MLPClassifier, MLPRegressor

rng = np.random.RandomState(0)
X = rng.normal(size=(120, 4))
y_class = (X[:, 0] + X[:, 1] > 0).astype(int)
y_reg = X @ np.array([1.0, -2.0, 0.5, 0.0])


class Recorder(keras.callbacks.Callback):
    """Records, per epoch, the logs it sees and the learning rate at the start and end."""

    def __init__(self):
        super().__init__()
        self.logs, self.lr_begin, self.lr_end = [], [], []

    def _lr(self):
        return float(self.model.optimizer.learning_rate.numpy())

    def on_epoch_begin(self, epoch, logs=None):
        self.lr_begin.append(self._lr())

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append(dict(logs))
        self.lr_end.append(self._lr())


def _fit(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


@pytest.mark.parametrize("Est, y, score", [
    (MLPClassifier, y_class, "val_accuracy"),
    (MLPRegressor, y_reg, "val_r2_score"),
])
def test_callbacks_run_before_the_own_stopping_and_learning_rate_rules(Est, y, score):
    recorder = Recorder()
    # A plateau "improving" by never less than 10 halves the rate every other epoch.
    est = Est(hidden_layer_sizes=(8,), max_iter=12, learning_rate_init=0.01,
              early_stopping=True, n_iter_no_change=100,
              reduce_lr_on_plateau={"patience": 1, "min_delta": 10.0},
              callbacks=[recorder], random_state=0)
    _fit(est, X, y)
    assert len(recorder.logs) == est.n_iter_ == 12
    # The held-out score and loss are in the logs the user's callback sees.
    assert all({"loss", "val_loss", score} <= set(logs) for logs in recorder.logs)
    assert [logs[score] for logs in recorder.logs] == est.validation_scores_
    # The learning rate was lowered by ReduceLROnPlateau, always after the
    # user's callback had seen the epoch end.
    assert recorder.lr_begin[-1] < recorder.lr_begin[0]
    assert recorder.lr_end == recorder.lr_begin


class TestHooks(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_test_begin(self, logs=None):
        self.calls.append("begin")

    def on_test_batch_end(self, batch, logs=None):
        self.calls.append(("batch", batch, sorted(logs)))

    def on_test_end(self, logs=None):
        self.calls.append(("end", dict(logs)))


@pytest.mark.parametrize("Est, y, score", [
    (MLPClassifier, y_class, "accuracy"),
    (MLPRegressor, y_reg, "r2_score"),
])
def test_the_held_out_scoring_runs_the_test_hooks_as_keras_evaluate(Est, y, score):
    # It replaced Keras' evaluate without its hooks: users' validation hooks
    # never ran, and SwapEMAWeights scored the raw weights, silently.
    hooks, recorder = TestHooks(), Recorder()
    _fit(Est(hidden_layer_sizes=(8,), max_iter=3, early_stopping=True, n_iter_no_change=100,
             callbacks=[hooks, recorder], random_state=0), X, y)
    assert hooks.calls.count("begin") == 3
    ends = [call[1] for call in hooks.calls if call[0] == "end"]
    assert [end["loss"] for end in ends] == [logs["val_loss"] for logs in recorder.logs]
    assert [end[score] for end in ends] == [logs["val_" + score] for logs in recorder.logs]
    assert ("batch", 0, ["loss"]) in hooks.calls

    def ema_fit(callbacks):
        optimizer = keras.optimizers.Adam(0.05, use_ema=True, ema_momentum=0.9)
        return _fit(Est(hidden_layer_sizes=(8,), max_iter=4, batch_size=16, early_stopping=True,
                        n_iter_no_change=100, optimizer=optimizer, callbacks=callbacks,
                        random_state=0), X, y).history_["val_loss"]

    raw, averaged = ema_fit([]), ema_fit([keras.callbacks.SwapEMAWeights()])
    assert raw[0] != averaged[0]  # the held-out rows scored with the averaged weights


def test_wide_sparse_held_out_rows_are_densified_a_few_hundred_rows_at_a_time():
    # 4096 rows were densified at once: 100,000 x 20,000 sparse rows (8 MiB)
    # grew a fit by 1 GiB with early stopping, 50 MiB without.
    from scipy import sparse

    wide = sparse.random(2000, 40_000, density=1e-4, format="csr", random_state=0,
                         dtype=np.float32)
    labels = np.arange(2000) % 2
    hooks = TestHooks()
    est = _fit(MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, early_stopping=True,
                             validation_fraction=0.5, callbacks=[hooks], random_state=0),
               wide, labels)
    batches = [call[1] for call in hooks.calls if call[0] == "batch"]
    # 16 MiB of float32 rows of 40,000 features: 104 rows a chunk, 1000 held out
    assert batches == list(range(10))
    assert np.isfinite(est.validation_scores_).all()


def test_tensorboard_writes_training_and_validation_events(tmp_path):
    est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, early_stopping=True,
                       reduce_lr_on_plateau=True,
                       callbacks=[keras.callbacks.TensorBoard(log_dir=str(tmp_path))],
                       random_state=0)
    _fit(est, X, y_reg)
    tags = {}
    for part in ("train", "validation"):
        files = list((tmp_path / part).glob("events.out.tfevents.*"))
        assert files, f"no {part} events"
        tags[part] = {
            value.tag
            for event in tf.compat.v1.train.summary_iterator(str(files[0]))
            for value in event.summary.value
        }
    assert "epoch_loss" in tags["train"]
    assert {"epoch_loss", "epoch_r2_score"} <= tags["validation"]


def test_image_classifier_takes_callbacks(tmp_path):
    digits = load_digits()
    log = tmp_path / "log.csv"
    clf = ImageClassifier(conv_filters=(4,), dense_units=8, epochs=3, early_stopping=True,
                          reduce_lr_on_plateau=True, random_state=0,
                          callbacks=[keras.callbacks.CSVLogger(str(log))])
    clf.fit(digits.images[:200] / 16.0, digits.target[:200])
    lines = log.read_text().splitlines()
    assert len(lines) == 1 + clf.n_iter_ and "val_loss" in lines[0]


def test_fit_callbacks_replace_the_parameter_for_that_fit():
    given, for_fit = Recorder(), Recorder()
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, callbacks=[given], random_state=0)
    with pytest.warns(UserWarning, match=r"The callbacks given to this call replace "
                                         r"MLPClassifier's own callbacks \['Recorder'\]"):
        _fit(est, X, y_class, callbacks=[for_fit])
    assert len(for_fit.logs) == 3 and given.logs == []
    _fit(est, X, y_class)
    assert len(given.logs) == 3 and len(for_fit.logs) == 3
    _fit(est, X, y_class, callbacks=None)  # (as scikit-learn reads None: not given)
    assert len(given.logs) == 6


def test_a_callback_class_is_created_for_each_fit():
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2,
                        callbacks=[keras.callbacks.TerminateOnNaN], random_state=0)
    _fit(est, X, y_class)
    assert est.n_iter_ == 2
    assert clone(est).get_params()["callbacks"] == [keras.callbacks.TerminateOnNaN]


@pytest.mark.parametrize("Est, y", [(MLPClassifier, y_class), (MLPRegressor, y_reg),
                                    (ImageClassifier, y_class)])
def test_an_unknown_fit_keyword_names_the_public_class(Est, y):
    with pytest.raises(TypeError) as info:
        Est().fit(X.reshape(-1, 2, 2) if Est is ImageClassifier else X, y, epochs=3)
    message = str(info.value)
    assert f"{Est.__name__}.fit() got an unexpected keyword argument 'epochs'" in message
    assert "ReadyNetwork" not in message


def test_image_classifier_partial_fit_names_the_keywords_it_takes():
    # found in an audit: its docstring said every keyword went to keras.Model.fit,
    # and the refusal left out the epochs it takes
    images = X.reshape(-1, 2, 2)
    clf = ImageClassifier(conv_filters=(2,), dense_units=2, random_state=0)
    with pytest.raises(TypeError, match=r"ImageClassifier\.partial_fit\(\) got an unexpected "
                                        r"keyword argument 'batch_size'; it takes X, y, "
                                        r"sample_weight, callbacks, classes and epochs\."):
        clf.partial_fit(images, y_class, classes=np.unique(y_class), batch_size=5)
    clf.partial_fit(images, y_class, classes=np.unique(y_class), epochs=2)
    assert clf.n_iter_ == 2
    doc = " ".join(ImageClassifier.partial_fit.__doc__.split())
    assert "a ready network (ImageClassifier) takes ``epochs`` and ``callbacks``" in doc


def test_a_fit_keyword_that_is_a_constructor_parameter_says_where_it_goes():
    with pytest.raises(TypeError) as info:
        MLPClassifier().fit(X, y_class, batch_size=5)
    message = str(info.value)
    assert "'batch_size' is one: set it as MLPClassifier(batch_size=...) or with set_params" \
        in message
    assert "Did you mean" not in message


def test_partial_fit_keywords_are_checked_too():
    with pytest.raises(TypeError, match=r"ImageClassifier.partial_fit\(\) got an unexpected "
                                        "keyword argument 'batch'"):
        ImageClassifier().partial_fit(X.reshape(-1, 2, 2), y_class, classes=[0, 1], batch=3)


@pytest.mark.parametrize("Est, y", [(MLPClassifier, y_class), (MLPRegressor, y_reg),
                                    (ImageClassifier, y_class)])
def test_partial_fit_numbers_its_epochs_on_so_that_schedules_and_logs_go_on(Est, y, tmp_path):
    # Each call was Keras' epoch 0: a LearningRateScheduler never left its first
    # rate, and CSVLogger (TensorBoard too) wrote every call as epoch 0, though
    # the wrappers' partial_fit numbers on (as scikeras' does).
    images = Est is ImageClassifier
    data = X.reshape(-1, 2, 2) if images else X
    recorder, log = Recorder(), tmp_path / "log.csv"
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (1 + epoch))
    options = ({"epochs": 2} if images else
               {"solver": "sgd", "hidden_layer_sizes": (3,), "max_iter": 2})
    est = Est(callbacks=[recorder, schedule, keras.callbacks.CSVLogger(log, append=True)],
              random_state=0, **options)
    fit = est.partial_fit if Est is MLPRegressor else (
        lambda X, y: est.partial_fit(X, y, classes=[0, 1]))
    for _ in range(3):
        fit(data, y)
    assert [round(lr, 6) for lr in recorder.lr_end] == [0.1, 0.05, round(0.1 / 3, 6)]
    assert [line.split(",")[0] for line in log.read_text().splitlines()[1:]] == ["0", "1", "2"]
    assert len(est.loss_curve_) == 3 and est.n_iter_ == 1  # scikit-learn's counts, unchanged
    if images:
        with pytest.raises(TypeError, match="takes no initial_epoch"):
            est.partial_fit(data, y, initial_epoch=0)
    assert len(est.loss_curve_) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(data, y)  # a fit numbers its epochs from 0 again
    assert [round(lr, 6) for lr in recorder.lr_end[3:]] == [0.1, 0.05]


def test_a_bad_callback_fails_before_training(monkeypatch):
    def no_build(self, meta, plan):
        raise AssertionError("the network was built")

    monkeypatch.setattr(MLPClassifier, "_keras_build_fn", no_build)
    with pytest.raises(TypeError, match="keras.callbacks.Callback class(es)? or instance"):
        MLPClassifier(callbacks=[42]).fit(X, y_class)
    with pytest.raises(TypeError, match="keras.callbacks.Callback class(es)? or instance"):
        MLPClassifier().fit(X, y_class, callbacks=["tensorboard"])
