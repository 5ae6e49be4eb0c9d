"""Quiet by default (no progress bars, no retracing warnings), and the fast
inference path agreeing with ``model.predict``."""

import logging
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

import keraslearn
from builders import tiny_mlp
from keraslearn import KerasClassifier, KerasRegressor
from keraslearn._engine import _inputs, _predict

X, y = make_classification(n_samples=80, n_features=4, n_informative=3, n_redundant=0,
                           random_state=0)


def _retracing_messages(caplog, recwarn):
    texts = [r.getMessage() for r in caplog.records] + [str(w.message) for w in recwarn]
    return [t for t in texts if "retracing" in t]


@pytest.fixture
def tf_log(caplog):
    caplog.set_level(logging.WARNING, logger="tensorflow")
    return caplog


# ----------------------------------------------------------- printed output
def test_predict_prints_nothing(capfd):
    clf = KerasClassifier(tiny_mlp, random_state=0).fit(X, y)
    capfd.readouterr()
    for _ in range(4):  # eager and traced paths
        clf.predict(X)
        clf.predict_proba(X[:1])
        clf.predict_log_proba(X)
        clf.score(X, y)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_verbose_zero_fit_prints_nothing(capfd):
    KerasClassifier(tiny_mlp, random_state=0).fit(X, y)  # first use of TensorFlow
    capfd.readouterr()
    KerasClassifier(tiny_mlp, epochs=3, validation_split=0.2, random_state=0).fit(X, y)
    KerasRegressor(tiny_mlp, epochs=2, random_state=0).fit(X, X[:, 0]).partial_fit(X, X[:, 0])
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_verbose_fit_shows_progress(capfd):
    KerasClassifier(tiny_mlp, epochs=2, verbose=2, random_state=0).fit(X, y)
    assert "Epoch 2/2" in capfd.readouterr().out  # the capture above really sees Keras


@pytest.mark.parametrize("where", ["param", "fit"])
def test_verbose_auto_is_a_progress_bar_as_in_keras(capfd, where):
    # Keras' fit takes verbose="auto" (its default): a scikeras user may pass it.
    auto = {"verbose": "auto"}
    params, fit_kwargs = (auto, {}) if where == "param" else ({}, auto)
    KerasClassifier(tiny_mlp, epochs=2, random_state=0, **params).fit(X, y, **fit_kwargs)
    out = capfd.readouterr().out
    assert "Epoch 2/2" in out and "━" in out  # a progress bar, as Keras' verbose=1


# ------------------------------------------------------- retracing warnings
def test_capture_sees_retracing_warnings(tf_log, recwarn):
    # Positive control: a function traced for ever new shapes is reported.
    f = tf.function(lambda x: x * 2)
    for n in range(1, 8):
        f(tf.zeros((n,)))
    assert _retracing_messages(tf_log, recwarn)


def test_repeated_fits_and_search_do_not_retrace(tf_log, recwarn):
    params = dict(optimizer="adam", validation_split=0.25)
    for hidden in (3, 4):  # first fits of each architecture may trace
        KerasClassifier(tiny_mlp, hidden=hidden, **params).fit(X, y)
    tf_log.clear()
    recwarn.clear()
    for seed in range(4):
        clf = KerasClassifier(tiny_mlp, hidden=3, random_state=seed, **params).fit(X, y)
        clf.predict_proba(X)
    grid = {"optimizer__learning_rate": [0.001, 0.01], "model__hidden": [3, 4]}
    GridSearchCV(KerasClassifier(tiny_mlp, **params), grid, cv=2).fit(X, y)
    warm = KerasClassifier(tiny_mlp, hidden=4, warm_start=True, **params)
    for _ in range(2):
        warm.fit(X, y)
        warm.partial_fit(X, y)
    assert _retracing_messages(tf_log, recwarn) == []


def test_a_function_of_the_user_s_retracing_during_a_fit_is_still_reported(tf_log, recwarn):
    # Only Keras' and keraslearn's own traces are expected: a tf.function of the
    # user's, traced anew at every epoch by a callback, is reported as Keras' fit
    # reports it.
    @tf.function
    def scaled_mean(x, scale):  # a Python float argument: a new trace per value
        return tf.reduce_mean(x) * scale

    class Retraces(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            scaled_mean(tf.ones(3), epoch + 0.5)

    KerasClassifier(tiny_mlp, epochs=7, callbacks=[Retraces()], random_state=0).fit(X, y)
    reported = _retracing_messages(tf_log, recwarn)
    assert reported and all("scaled_mean" in text for text in reported)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_search_of_ready_networks_scoring_held_out_rows_does_not_retrace(tf_log, recwarn):
    # early_stopping with a callback of the user's: Keras' fit, and the held-out
    # rows scored by a traced step of keraslearn's own per network.
    from keraslearn import MLPClassifier

    class Own(keras.callbacks.Callback):  # any callback class of the user's
        pass

    grid = {"hidden_layer_sizes": [(h,) for h in (3, 4, 5, 6, 7, 8)]}
    GridSearchCV(MLPClassifier(early_stopping=True, max_iter=3, random_state=0,
                               callbacks=[Own()]), grid, cv=2).fit(X, y)
    assert _retracing_messages(tf_log, recwarn) == []


def test_predict_on_many_sizes_does_not_retrace(tf_log, recwarn):
    clf = KerasClassifier(tiny_mlp, random_state=0).fit(X, y)
    rng = np.random.RandomState(0)
    for n in [1, 2, 3, 5, 7, 11, 13, 17, 33, 64, 80, 129, 1000]:
        assert clf.predict_proba(rng.randn(n, 4)).shape == (n, 2)
        clf.predict(rng.randn(n, 4))
    assert _retracing_messages(tf_log, recwarn) == []


_SESSION = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    import keras
    import numpy as np
    from builders import tiny_mlp
    from sklearn.datasets import make_classification
    from sklearn.model_selection import GridSearchCV
    from keraslearn import KerasClassifier, KerasRegressor

    # A typical session: seeded fits, predictions of many sizes, a search.
    X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    for seed in range(6):
        clf = KerasClassifier(tiny_mlp, validation_split=0.2, random_state=seed).fit(X, y)
        for n in (1, 3, 10, 50, 80):
            clf.predict_proba(X[:n])
    grid = {{"optimizer__learning_rate": [0.001, 0.01]}}
    GridSearchCV(KerasClassifier(tiny_mlp), grid, cv=2).fit(X, y)
    for seed in range(3):
        KerasRegressor(tiny_mlp, random_state=seed).fit(X, X[:, 0]).predict(X[:seed + 1])

    # Many architectures in a row: ten widths, then a grid over depth and width.
    def build(meta, hidden=8, layers=1):
        model = keras.Sequential([keras.Input(meta["X_shape_"][1:])])
        for _ in range(layers):
            model.add(keras.layers.Dense(hidden, activation="relu"))
        model.add(keras.layers.Dense(1, activation="sigmoid"))
        return model

    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    for hidden in range(4, 44, 4):  # ten architectures in a row
        KerasClassifier(build, hidden=hidden, epochs=3, verbose=0).fit(X, y).score(X, y)
    grid = {{"layers": [1, 2, 3], "hidden": [6, 10]}}
    GridSearchCV(KerasClassifier(build, epochs=2), grid, cv=2).fit(X, y)
    print("done")
""")


def test_a_fresh_session_of_many_fits_and_architectures_prints_nothing():
    # A fresh interpreter: TensorFlow's retracing detector starts empty, as a
    # user's does. Keras traces its train function once per architecture, and
    # TensorFlow's detector counts those traces together: it would warn about
    # "retracing" across ten architectures in a row.
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-c", _SESSION.format(tests=tests)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == "done\n"
    startup = ("WARNING: All log messages before absl", "I0000 ", "W0000 ", "E0000 ")
    printed = [line for line in result.stderr.splitlines() if not line.startswith(startup)]
    assert printed == []


# ------------------------------------------------------------ fast inference
@pytest.fixture(scope="module")
def regressor():
    Y = np.column_stack([X[:, 0], X[:, 1] * X[:, 2]])
    return KerasRegressor(tiny_mlp, hidden=16, random_state=0).fit(X, Y)


@pytest.mark.parametrize("n_rows", [1, 100, _predict.MAX_CHUNK_ROWS + 808])
def test_fast_inference_matches_model_predict(regressor, n_rows):
    data = np.random.RandomState(n_rows).randn(n_rows, 4)
    reference = regressor.model_.predict(data, verbose=0)
    regressor._predictor = _predict.Predictor(regressor.model_)  # start eager again
    # TensorFlow's path (up to 1024 rows take NumPy's forward pass otherwise)
    with keraslearn.config_context(fast_small_predictions=False):
        for call in range(1, 5):
            np.testing.assert_allclose(regressor.predict(data), reference, rtol=1e-5, atol=1e-6)
            traced = regressor._predictor._traced is not None
            assert traced == (call > _predict.EAGER_CALLS)
    np.testing.assert_allclose(regressor.predict(data), reference, rtol=1e-5, atol=1e-6)


def test_chunks_hold_the_layers_outputs_under_a_bound(monkeypatch):
    # Chunks were sized by their input alone: 1,365 small images a step, some
    # 4 GB of a ResNet50's layer outputs where Keras' predict holds 32 rows'.
    def wide(meta):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(250, activation="relu"),
                                 keras.layers.Dense(2)])  # 252 float32 outputs a row

    est = KerasRegressor(wide, epochs=1, random_state=0).fit(X, X[:, :2])
    data = np.random.RandomState(0).randn(3000, 4)
    expected = est.predict(data)
    monkeypatch.setattr(_predict, "ACTIVATION_BYTES", 252 * 4 * 1000)
    est._predictor = _predict.Predictor(est.model_)
    batches = []
    counter = keras.callbacks.LambdaCallback(
        on_predict_batch_end=lambda batch, logs: batches.append(batch))
    with keraslearn.config_context(fast_small_predictions=False):
        np.testing.assert_allclose(est.predict(data, callbacks=[counter]), expected, rtol=1e-6)
    assert est._predictor._rows_of_activations() == 1000 and batches == [0, 1, 2]
    # More than EAGER_CHUNKS chunks: traced at the first call (a deep network's
    # eager chunks took twice its traced ones, the trace included).
    assert est._predictor.n_calls == 1 and est._predictor._traced is not None
    est._predictor = _predict.Predictor(est.model_)
    with keraslearn.config_context(fast_small_predictions=False):
        est.predict(data[:2000])
    assert est._predictor._traced is None  # two chunks: eager, as small calls
    # Never fewer rows than Keras' predict takes (a 224x224 ResNet50 predicted
    # one row a step: 2.5 times slower than before the bound).
    monkeypatch.setattr(_predict, "ACTIVATION_BYTES", 252 * 4 * 10)
    assert _predict.Predictor(est.model_)._rows_of_activations() == _predict.KERAS_BATCH == 32


def test_a_network_computing_in_16_bits_answers_every_call_as_model_predict():
    """Eager and traced bfloat16 outputs may differ by a step of bfloat16 (a
    few percent): such a network is traced from its first call, so that the
    same rows always get the same answer, model.predict's."""
    def build(meta):
        return keras.Sequential([keras.Input((4,)), *(
            keras.layers.Dense(units, activation="tanh", dtype="mixed_bfloat16")
            for units in (32, 16)), keras.layers.Dense(1, dtype="float32")])

    data = np.random.RandomState(0).randn(64, 4)
    est = KerasRegressor(build, epochs=2, random_state=0).fit(X, X[:, 0] * 3 - X[:, 1])
    reference = est.model_.predict(data, verbose=0).ravel()
    est._predictor = _predict.Predictor(est.model_)
    for _ in range(4):
        np.testing.assert_array_equal(est.predict(data), reference)
        assert est._predictor._traced is not None


def test_fast_inference_with_routed_batch_size(regressor):
    data = np.random.RandomState(1).randn(50, 4)
    reference = regressor.model_.predict(data, verbose=0)
    regressor.set_params(predict__batch_size=7)
    try:
        for _ in range(4):
            np.testing.assert_allclose(regressor.predict(data), reference, rtol=1e-5, atol=1e-6)
    finally:
        regressor.set_params(predict__batch_size=None)


def test_fast_inference_for_a_classifier_equals_model_predict():
    clf = KerasClassifier(tiny_mlp, random_state=0).fit(X, y)
    reference = clf.model_.predict(X, verbose=0)[:, 0]
    for _ in range(4):
        np.testing.assert_allclose(clf.predict_proba(X)[:, 1], reference, rtol=1e-5, atol=1e-6)


def test_dataframe_fast_path_equals_full_validation():
    import pandas as pd

    frame = pd.DataFrame(X, columns=list("abcd"))
    clf = KerasClassifier(tiny_mlp, random_state=0).fit(frame, y)
    reference = clf.model_.predict(X, verbose=0)[:, 0]
    # Float columns named as in fit take the fast path: same predictions.
    assert _inputs._plain_float_frame(clf, frame) is not None
    np.testing.assert_allclose(clf.predict_proba(frame)[:, 1], reference, rtol=1e-5, atol=1e-6)
    # Any other frame gets scikit-learn's full validation, with its conversions and errors.
    as_int = frame.assign(a=np.arange(len(frame)))
    assert _inputs._plain_float_frame(clf, as_int) is None
    assert clf.predict_proba(as_int).shape == (len(frame), 2)
    for other, message in [(frame[list("bacd")], "order"), (frame.assign(b=np.nan), "NaN")]:
        assert _inputs._plain_float_frame(clf, other) is None
        with pytest.raises(ValueError, match=message):
            clf.predict(other)
