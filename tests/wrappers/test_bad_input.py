"""Bad input: a clear ValueError/TypeError/NotFittedError naming the problem,
raised before any TensorFlow work (the builder never runs, no model is made)."""

import datetime
import re
import warnings

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from scipy import sparse
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline

from builders import tiny_mlp
from keraslearn import KerasClassifier, KerasRegressor, MLPClassifier

X, y = make_classification(n_samples=40, n_features=4, n_informative=3, n_redundant=0,
                           random_state=0)
y_reg = X[:, 0] * 2.0


def _with_nan(a, value=np.nan):
    a = np.array(a, dtype=float)
    a[(3, 1) if a.ndim == 2 else 3] = value
    return a


def _framework_frames(excinfo):
    """Traceback entries inside TensorFlow or Keras."""
    return [
        str(entry.path) for entry in excinfo.traceback
        if any(part in str(entry.path) for part in ("/tensorflow/", "/keras/"))
    ]


class Builder:
    """tiny_mlp that counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, meta, hidden=8):
        self.calls += 1
        return tiny_mlp(meta, hidden=hidden)


C, R = KerasClassifier, KerasRegressor
# (estimator class, constructor kwargs, X, y, fit kwargs, error, message)
_FIT_ERRORS = {
    "nan-X": (C, {}, _with_nan(X), y, {}, ValueError, "Input X contains NaN"),
    "inf-X": (C, {}, _with_nan(X, np.inf), y, {}, ValueError, "Input X contains infinity"),
    "nan-y-regressor": (R, {}, X, _with_nan(y_reg), {}, ValueError, "Input y contains NaN"),
    "inf-y-regressor": (R, {}, X, _with_nan(y_reg, np.inf), {}, ValueError,
                        "Input y contains infinity"),
    "nan-y-classifier": (C, {}, X, _with_nan(y), {}, ValueError, "Input y contains NaN"),
    # the label as the user wrote it (0.0, not np.float64(0.0))
    "single-class": (C, {}, X, np.zeros(40), {}, ValueError, r"only one class \(0\.0\)"),
    "single-class-strings": (C, {}, X, np.array(["a"] * 40), {}, ValueError,
                             r"only one class \('a'\)"),
    "single-class-one-hot": (C, {}, X, np.tile([0, 1, 0], (40, 1)), {}, ValueError,
                             r"only one class \(one-hot rows of 3 columns, all in column 1\)"),
    "continuous-y-classifier": (C, {}, X, y_reg, {}, ValueError, "Unknown label type"),
    "multiclass-multioutput": (C, {}, X, np.c_[y, y + np.arange(40) % 3], {}, ValueError,
                               "multiclass-multioutput"),
    "string-y-regressor": (R, {}, X, np.array(["a", "b"] * 20), {}, ValueError,
                           r"needs numeric targets; y has dtype <U1.*y.astype\(float\)"),
    # strings of numbers as well, on every path (scikit-learn's dtype="numeric")
    "numeric-string-y-regressor": (R, {}, X, y_reg.astype(str), {}, ValueError,
                                   r"needs numeric targets; y has dtype <U"),
    "timedelta-y-regressor": (R, {}, X, np.arange(40).astype("timedelta64[s]"), {}, ValueError,
                              r"y has dtype timedelta64\[s\].*np.timedelta64\(1, 'h'\)"),
    "datetime-y-regressor": (R, {}, X, np.arange(40).astype("datetime64[D]"), {}, ValueError,
                             r"y has dtype datetime64\[D\]"),
    # object arrays are converted with X: the message still names y
    "object-string-y-regressor": (R, {}, X, np.array(["a", "b"] * 20, dtype=object), {},
                                  ValueError, "needs numeric targets; y holds text"),
    "string-X-and-y-regressor": (R, {}, np.array([["a", "b"]] * 40),
                                 np.array(["a", "b"] * 20, dtype=object), {}, ValueError,
                                 r"X holds text"),
    # as scikit-learn's regressors and scikeras refuse it (sparse y is multilabel rows)
    "sparse-y-regressor": (R, {}, X, sparse.csr_matrix(y_reg[:, None]), {}, TypeError,
                           "Sparse data was passed for y, but dense data is required"),
    # per-step targets of a sequence (an autoencoder's fit(X, X)): scikit-learn's
    # "Found array with dim 3 ... required by KerasRegressor" read as if X were wrong
    "3d-y-regressor": (R, {}, X, np.zeros((40, 2, 2)), {}, ValueError,
                       r"^y has 3 dimensions \(shape \(40, 2, 2\)\); targets have at most 2.*"
                       r"y.reshape\(len\(y\), -1\).*Flatten"),
    "empty-X": (C, {}, X[:0], y[:0], {}, ValueError, "0 sample"),
    "lengths-differ": (C, {}, X, y[:-1], {}, ValueError, "inconsistent numbers of samples"),
    "1d-X": (C, {}, X[:, 0], y, {}, ValueError, "Expected 2D array"),
    "string-X": (C, {}, np.array([["a", "b"]] * 40), y, {}, ValueError,
                 r"X holds text \(could not convert string to float: .*'a'.*in a Pipeline: a "
                 r"vectorizer such as TfidfVectorizer, or an encoder \(a feature_encoder gets X "
                 r"checked already\)\.$"),
    # image files' paths were told to use a text vectorizer
    "image-paths-X": (C, {}, np.array([[f"photos/{i}.JPG"] for i in range(40)]), y, {},
                      ValueError, r"^X holds image file paths \('photos/0.JPG'\): .*keraslearn"
                                  r"\.preprocessing\.ImageLoader .*or use ImageClassifier"),
    "image-paths-bytes-X": (C, {}, np.array([[b"photos/%d.png" % i] for i in range(40)]), y,
                            {}, ValueError, r"^X holds image file paths \('photos/0.png'\)"),
    # (a format Pillow only writes: text, found in review)
    "pdf-paths-X": (C, {}, np.array([[f"contracts/{i}.pdf"] for i in range(40)]), y, {},
                    ValueError, r"^X holds text \(could not convert string to float"),
    # beside a bool (or Int64) column pandas says only "Cannot cast str dtype to float32"
    "category-X-beside-bool": (C, {}, pd.DataFrame({"b": X[:, 0] > 0, "c": pd.Categorical(
        np.where(X[:, 1] > 0, "u", "v"))}), y, {}, ValueError,
        r"X holds text \(could not convert string to float: '[uv]'\)"),
    "unknown-prefix": (C, {"foo__bar": 1}, X, y, {}, ValueError, "'foo' is not a routing prefix"),
    "unknown-plain": (C, {"colour": 1}, X, y, {}, ValueError, "'colour'"),
    "unknown-fit-kwarg": (C, {}, X, y, {"epoch": 2}, ValueError, "Did you mean 'epochs'"),
    "validation-split-1": (C, {"validation_split": 1.0}, X, y, {}, ValueError,
                           r"validation_split must be a float in \[0, 1\)"),
    "validation-split-negative": (C, {"validation_split": -0.1}, X, y, {}, ValueError,
                                  "validation_split"),
    "validation-split-str": (C, {"validation_split": "0.2"}, X, y, {}, ValueError,
                             "validation_split"),
    "epochs-0": (C, {"epochs": 0}, X, y, {}, ValueError, "epochs must be a positive int"),
    "epochs-negative": (C, {"epochs": -2}, X, y, {}, ValueError, "epochs must be a positive"),
    "epochs-float": (C, {"epochs": 2.5}, X, y, {}, ValueError, "epochs must be a positive"),
    "fit-epochs-0": (C, {"fit__epochs": 0}, X, y, {}, ValueError, "epochs must be a positive"),
    "fit-kwarg-epochs-0": (C, {}, X, y, {"epochs": 0}, ValueError, "epochs must be a positive"),
    "batch-size-0": (C, {"batch_size": 0}, X, y, {}, ValueError, "batch_size must be a positive"),
    # Keras' compile failed with "'NoneType' object has no attribute 'loss'"
    "loss-list-of-none": (R, {"loss": [None]}, X, y_reg, {}, ValueError,
                          r"loss gives no output a loss \(\[None\]\): give at least one"),
    "loss-dict-of-none": (R, {"loss": {"out": None}}, X, y_reg, {}, ValueError,
                          r"loss gives no output a loss \(\{'out': None\}\)"),
    "class-weight-list": (C, {"class_weight": [1, 2]}, X, y, {}, ValueError,
                          "class_weight must be a dict, a list of dicts"),
    "class-weight-str": (C, {"class_weight": "balance"}, X, y, {}, ValueError,
                         "class_weight must be"),
    "class-weight-unknown-class": (C, {"class_weight": {0: 1.0, 5: 2.0}}, X, y, {},
                                   ValueError, r"keys \[5\] that are not labels of y"),
    "sample-weight-negative": (C, {}, X, y, {"sample_weight": -np.ones(40)}, ValueError,
                               "Negative values"),
    "sample-weight-length": (C, {}, X, y, {"sample_weight": np.ones(39)}, ValueError,
                             "sample_weight"),
    "sample-weight-zeros": (R, {}, X, y_reg, {"sample_weight": np.zeros(40)}, ValueError,
                            "at least one non-zero"),
    "fit-class-weight": (C, {}, X, y, {"class_weight": {0: 1, 1: 2}}, ValueError,
                         "class_weight: use the classifier's class_weight parameter"),
    # a regressor was sent from one to the other: fit__class_weight, then the
    # classifier's class_weight parameter, which it has not
    "regressor-class-weight": (R, {"class_weight": {0: 1}}, X, y_reg, {}, ValueError,
                               r"'class_weight' for estimator KerasRegressor: class weights are "
                               r"a classifier's \(KerasClassifier\): weigh the samples with "
                               r"fit\(X, y, sample_weight"),
    "regressor-fit-class-weight": (R, {"fit__class_weight": {0: 1}}, X, y_reg, {}, ValueError,
                                   r"fit__class_weight: class weights are a classifier's"),
    "regressor-fit-call-class-weight": (R, {}, X, y_reg, {"class_weight": {0: 1}}, ValueError,
                                        r"class_weight: class weights are a classifier's"),
    "sample-weight-parameter": (R, {"sample_weight": np.ones(40)}, X, y_reg, {}, ValueError,
                                r"'sample_weight' for estimator KerasRegressor: pass it as "
                                r"fit\(X, y, sample_weight=\.\.\.\)"),
    "fit-routed-sample-weight": (C, {"fit__sample_weight": np.ones(40)}, X, y, {}, ValueError,
                                 r"fit__sample_weight: pass it as fit\(X, y, sample_weight"),
    "fit-x": (C, {}, X, y, {"x": X}, ValueError, r"pass the data as fit\(X, y\)"),
    "random-state-str": (C, {"random_state": "seed"}, X, y, {}, TypeError, "random_state"),
    "callback-not-callback": (C, {"callbacks": [42]}, X, y, {}, TypeError,
                              "keras.callbacks.Callback"),
    "unknown-loss-param": (C, {"loss": "binary_crossentropy", "loss__smoothing": 0.1}, X, y, {},
                           ValueError, "loss__smoothing"),
    # named as what they are (the weights were taken for sample_weight's)
    "class-weight-negative": (C, {"class_weight": {0: -1.0, 1: 2.0}}, X, y, {}, ValueError,
                              "class_weight gives the class 0 the weight -1.0"),
    "class-weight-nan": (C, {"class_weight": {0: 1.0, 1: np.nan}}, X, y, {}, ValueError,
                         "class_weight gives the class 1 the weight nan"),
    "class-weight-bytes": (C, {"class_weight": {0: b"2", 1: 1.0}}, X, y, {}, ValueError,
                           "class_weight gives the class 0 the weight b'2'"),
    "class-weight-huge": (C, {"class_weight": {0: 10**400, 1: 1.0}}, X, y, {}, ValueError,
                          "class_weight gives the class 0 the weight"),
    "class-weight-list-negative": (C, {"class_weight": [{0: 1, 1: 1}, {0: 1, 1: -2}]}, X,
                                   np.column_stack([y, X[:, 0] > 0]).astype(int), {}, ValueError,
                                   "class_weight gives the class 1 the weight -2"),
    # refused once the network was built, by Keras' own messages
    "validation-data-one": (C, {}, X, y, {"validation_data": (X,)}, ValueError,
                            r"validation_data must be \(X_val, y_val\).*got a tuple of 1"),
    "unknown-metric": (C, {"metrics": ["accuracyy"]}, X, y, {}, ValueError,
                       "Unknown metric 'accuracyy'.*Did you mean 'accuracy'"),
    # spellings of a Keras class (case and underscores aside) that Keras' compile
    # refuses: they failed inside Keras, once the network was built
    "loss-spelling": (R, {"loss": "logcosh"}, X, X[:, 0], {}, ValueError,
                      r"Unknown loss 'logcosh' \(loss\)\. Did you mean 'log_cosh'"),
    "loss-capitals": (R, {"loss": "HUBER"}, X, X[:, 0], {}, ValueError,
                      r"Unknown loss 'HUBER' \(loss\)\. Did you mean 'huber'"),
    # (a class name typed in other capitals was pointed at another metric: 'acc')
    "metric-capitals": (C, {"metrics": ["Auc"]}, X, y, {}, ValueError,
                        r"Unknown metric 'Auc' in metrics__0\. Did you mean 'AUC'"),
    "metric-spelling": (R, {"metrics": ["meansquarederror"]}, X, X[:, 0], {}, ValueError,
                        "Unknown metric 'meansquarederror' in metrics__0. Did you mean "
                        "'mean_squared_error'"),
    # found in an audit: functions of keras.metrics that Keras' compile refuses by
    # name were suggested ("Unknown metric 'log_cosh'. Did you mean 'log_cosh'?")
    "metric-function-by-name": (R, {"metrics": ["log_cosh"]}, X, X[:, 0], {}, ValueError,
                                r"compile does not take the metric 'log_cosh' by name \(in "
                                r"metrics__0\): give the function itself, keras.metrics.log_cosh"),
    # (found in review: keras.metrics.get, serialize, ... were pointed at)
    "metric-keras-utility": (R, {"metrics": ["serialize"]}, X, X[:, 0], {}, ValueError,
                             r"^Unknown metric 'serialize' in metrics__0\.$"),
    "metric-spelling-of-a-function": (R, {"metrics": ["logcosh"]}, X, X[:, 0], {}, ValueError,
                                      "Unknown metric 'logcosh' in metrics__0. Did you mean "
                                      "'LogCoshError'"),
    # found in an audit: Keras takes "ce" and "crossentropy" as names of losses only
    # (it failed inside Keras' fit), yet a misspelt metric was told "Did you mean 'ce'?"
    "metric-ce": (C, {"metrics": ["ce"]}, X, y, {}, ValueError,
                  r"Unknown metric 'ce' in metrics__0\. Keras takes it as a loss's name only"),
    "metric-near-ce": (C, {"metrics": ["cce"]}, X, y, {}, ValueError,
                       r"^Unknown metric 'cce' in metrics__0\.(?!.*'ce')"),
    # (pointed at another metric: 'binary_accuracy' for scikit-learn's balanced_accuracy)
    "sklearn-scorer": (C, {"metrics": ["balanced_accuracy"]}, X, y, {}, ValueError,
                       r"Unknown metric 'balanced_accuracy' in metrics__0\. 'balanced_accuracy' "
                       r"is a scikit-learn scorer: give it to a search's scoring="),
    "sklearn-scorer-with-keras-counterpart": (
        C, {"metrics": ["roc_auc"]}, X, y, {}, ValueError,
        r"'roc_auc' is a scikit-learn scorer: .* \(its counterpart: 'AUC'\)\.$"),
    "verbose-str": (C, {"verbose": "loud"}, X, y, {}, ValueError, "verbose must be an int"),
    "fit-verbose-negative": (C, {}, X, y, {"verbose": -1}, ValueError, "verbose must be an int"),
    # taken for True, silently
    "shuffle-str": (C, {"shuffle": "no"}, X, y, {}, ValueError, "shuffle must be a bool"),
    # (the class was given the optimizer's arguments: "'name' is an invalid keyword
    # argument for int()")
    "optimizer-int": (C, {"optimizer": int}, X, y, {}, TypeError,
                      "optimizer must be a Keras optimizer: .* got the class int"),
    "optimizer-loss": (C, {"optimizer": keras.losses.MeanSquaredError()}, X, y, {}, TypeError,
                       "optimizer must be a Keras optimizer: .* got a MeanSquaredError"),
    # A config reached Keras' compile, which rebuilt it where safe mode may be off (a
    # file's code ran: found in review); a routed parameter was told of class_name__.
    "optimizer-config": (C, {"optimizer": {"class_name": "Adam", "config": {}},
                             "optimizer__learning_rate": 0.5}, X, y, {}, TypeError,
                         r"\(a config: keras.optimizers.deserialize\(config\)\); got a dict"),
    # (Keras' "Could not interpret metric identifier: 3", once the network was built)
    "metric-number": (C, {"metrics": ["accuracy", 3]}, X, y, {}, TypeError,
                      r"^metrics__1 is 3: a metric is a name \('accuracy'\), a function"),
    "warm-start-str": (C, {"warm_start": "False"}, X, y, {}, ValueError,
                       "warm_start must be a bool, got 'False'"),
    "run-eagerly-str": (C, {"run_eagerly": "no"}, X, y, {}, ValueError,
                        "run_eagerly must be a bool, got 'no'"),
    # failed inside the training loop (a TypeError, a ZeroDivisionError), or
    # trained more epochs than asked (initial_epoch=-1)
    "epochs-none": (C, {"epochs": None}, X, y, {}, ValueError,
                    "epochs must be a positive int, got None"),
    "fit-epochs-none": (C, {}, X, y, {"epochs": None}, ValueError,
                        "epochs must be a positive int, got None"),
    "routed-epochs-none": (C, {"fit__epochs": None}, X, y, {}, ValueError,
                           "epochs must be a positive int, got None"),
    "validation-freq-zero": (C, {"fit__validation_freq": 0, "validation_split": 0.2}, X, y, {},
                             ValueError, "validation_freq must be a positive int .* got 0"),
    "validation-freq-epochs": (C, {}, X, y, {"validation_freq": [1, 0]}, ValueError,
                               r"validation_freq must be .* got \[1, 0\]"),
    "initial-epoch-negative": (C, {}, X, y, {"initial_epoch": -1}, ValueError,
                               "initial_epoch must be an int of 0 or more, got -1"),
    "steps-per-epoch-zero": (C, {"fit__steps_per_epoch": 0}, X, y, {}, ValueError,
                             "steps_per_epoch must be a positive int, got 0"),
    # streams of batches (NumPy failed on them: "float() argument must be ...")
    "dataset-X": (C, {}, tf.data.Dataset.from_tensor_slices(X).batch(8), y, {}, TypeError,
                  "X is a tf.data.Dataset: keraslearn estimators take rows"),
    "named-dataset-X": (C, {}, {"a": tf.data.Dataset.from_tensor_slices(X)}, y, {}, TypeError,
                        r"X\['a'\] is a tf.data.Dataset"),
}


@pytest.mark.parametrize("metric", ["PrecisionAtRecall", "precision_at_recall"])
def test_a_metric_named_whose_class_needs_arguments_takes_them_routed(metric):
    # Keras' get makes the class without arguments (a TypeError): it was taken for unknown.
    clf = KerasClassifier(tiny_mlp, metrics=[metric], metrics__0__recall=0.5, epochs=1,
                          random_state=0).fit(X, y)
    assert any("precision_at_recall" in key for key in clf.history_)


def test_run_eagerly_none_is_taken_as_keras_2s_default():
    # (found in review: refused by the check of bools)
    assert not KerasClassifier(tiny_mlp, run_eagerly=None, epochs=1).fit(X, y).model_.run_eagerly


@pytest.mark.parametrize("case", list(_FIT_ERRORS))
def test_fit_error_raised_before_tensorflow(case):
    cls, kwargs, X_, y_, fit_kwargs, error, message = _FIT_ERRORS[case]
    builder = Builder()
    est = cls(builder, **kwargs)
    with pytest.raises(error, match=message) as excinfo:
        est.fit(X_, y_, **fit_kwargs)
    assert builder.calls == 0
    assert not hasattr(est, "model_")
    assert _framework_frames(excinfo) == []


@pytest.fixture(scope="module")
def fitted():
    return KerasClassifier(tiny_mlp, random_state=0).fit(X, y)


@pytest.mark.parametrize("X_, message", [
    (X[:, :3], "X has 3 features, but KerasClassifier is expecting 4"),
    (_with_nan(X), "Input X contains NaN"),
    (X[:0], "0 sample"),
    (X[:, 0], "Expected 2D array"),
], ids=["n-features", "nan", "empty", "1d"])
@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba"])
def test_predict_errors(fitted, method, X_, message):
    with pytest.raises(ValueError, match=message) as excinfo:
        getattr(fitted, method)(X_)
    assert _framework_frames(excinfo) == []


class _Batches(keras.utils.PyDataset):
    def __len__(self):
        return 1

    def __getitem__(self, index):
        return X, y


@pytest.mark.parametrize("stream, kind", [
    (lambda: tf.data.Dataset.from_tensor_slices(X).batch(8), "a tf.data.Dataset"),
    (lambda: _Batches(), "a keras.utils.PyDataset"), (lambda: (row for row in X), "a generator"),
    (lambda: map(list, X), "an iterator"), (lambda: iter(X.tolist()), "an iterator"),
], ids=["dataset", "pydataset", "generator", "map", "iter"])
@pytest.mark.parametrize("est", [
    KerasClassifier(tiny_mlp, epochs=1, random_state=0), MLPClassifier(max_iter=5, random_state=0),
], ids=["wrapper", "mlp"])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_streams_of_batches_are_refused_naming_what_to_give(est, stream, kind):
    # NumPy failed on them, saying "float() argument must be a string or a real number"
    est = clone(est)
    with pytest.raises(TypeError, match=f"X is {kind}: .* Give arrays") as excinfo:
        est.fit(stream(), y)
    assert not hasattr(est, "model_") and _framework_frames(excinfo) == []
    est.fit(X, y)
    before = est.predict_proba(X)
    with pytest.raises(TypeError, match=f"X is {kind}: "):
        est.predict(stream())
    np.testing.assert_array_equal(est.predict_proba(X), before)


@pytest.mark.parametrize("tensor, fix", [
    (lambda: tf.sparse.from_dense(X.astype("float32")), r"a scipy.sparse matrix of its values"),
    (lambda: tf.RaggedTensor.from_tensor(X), r"X.to_tensor\(\)"),
], ids=["sparse", "ragged"])
def test_composite_tensors_are_refused_naming_what_to_give(tensor, fix):
    # Found in an audit: NumPy's "float() argument must be a string or a real
    # number, not 'SparseTensor'" and "setting an array element with a sequence".
    from keraslearn import ImageClassifier

    for est in (KerasClassifier(tiny_mlp, epochs=1), MLPClassifier(max_iter=1),
                ImageClassifier(epochs=1)):  # (its images were read as NumPy's first)
        with pytest.raises(TypeError, match=r"X is a tf\.\w+Tensor: .*give " + fix):
            est.fit(tensor(), y)
        assert not hasattr(est, "model_")
    import scipy.sparse

    given = tf.sparse.from_dense(X.astype("float32"))  # (the recipe the message gives)
    rows = scipy.sparse.csr_matrix((given.values.numpy(), given.indices.numpy().T),
                                   shape=given.dense_shape.numpy())
    np.testing.assert_array_equal(rows.toarray(), X.astype("float32"))


def test_wrong_shape_per_sample_for_nd_input():
    images = np.random.RandomState(0).rand(20, 4, 3)
    labels = np.arange(20) % 2

    def build(meta):
        return keras.Sequential([keras.Input(meta["X_shape_"][1:]), keras.layers.Flatten(),
                                 keras.layers.Dense(1, activation="sigmoid")])

    clf = KerasClassifier(build, random_state=0).fit(images, labels)
    with pytest.raises(ValueError, match=r"shape \(4, 5\) per sample.*\(4, 3\)"):
        clf.predict(np.zeros((2, 4, 5)))


def test_dataframe_with_other_columns(fitted):
    df_fitted = KerasClassifier(tiny_mlp, random_state=0).fit(
        pd.DataFrame(X, columns=list("abcd")), y)
    with pytest.raises(ValueError, match="feature names"):
        df_fitted.predict(pd.DataFrame(X, columns=list("abce")))


@pytest.mark.parametrize("est, method", [
    (KerasClassifier(tiny_mlp), "predict"),
    (KerasClassifier(tiny_mlp), "predict_proba"),
    (KerasClassifier(tiny_mlp), "predict_log_proba"),
    (KerasClassifier(tiny_mlp), "score"),
    (KerasRegressor(tiny_mlp), "predict"),
    (KerasRegressor(tiny_mlp), "score"),
])
def test_use_before_fit_is_not_fitted_error(est, method):
    args = (X, y) if method == "score" else (X,)
    with pytest.raises(NotFittedError, match="not fitted"):
        getattr(est, method)(*args)
    try:
        getattr(est, method)(*args)
    except NotFittedError:  # the usual scikit-learn idiom keeps working
        pass


def test_builder_returning_no_model_is_type_error():
    def no_model(meta):
        return "a model"

    clf = KerasClassifier(no_model)
    with pytest.raises(TypeError, match="'no_model' returned str, not a keras.Model"):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")


def test_builder_needing_an_unsupplied_argument():
    calls = []

    def needs_units(meta, units):
        calls.append(units)

    with pytest.raises(TypeError, match="'needs_units' needs argument 'units'.*model__units"):
        KerasClassifier(needs_units).fit(X, y)
    assert calls == []
    # Found in an audit: a fitted attribute as an argument was told to be given as a
    # parameter, which then shadowed the data's (a refit on 2 classes was refused);
    # meta given as a parameter was told "the builder does not take 'meta'".
    def sized(n_features_in_):
        calls.append(n_features_in_)

    with pytest.raises(TypeError, match=r"needs argument 'n_features_in_': the estimator "
                                        r"learns it from the data: declare an argument meta "
                                        r"and read meta\['n_features_in_'\]"):
        KerasClassifier(sized).fit(X, y)
    def reads(meta):
        calls.append(meta)

    for given in ({"model__meta": {}}, {"meta": {}}):
        with pytest.raises(ValueError, match="Invalid parameter 'meta': the estimator gives "
                                             "the model builder 'reads' its meta itself"):
            KerasClassifier(reads, **given).fit(X, y)
    assert calls == []


def test_the_refusals_of_a_network_s_shape_and_output_name_what_was_given():
    # Found in an audit: a model instance was told to size its input from meta,
    # which only a builder gets; a linear output under binary_crossentropy was
    # given SparseCategoricalCrossentropy(from_logits=True) as the way out.
    wide = keras.Sequential([keras.Input((X.shape[1] + 1,)),
                             keras.layers.Dense(2, activation="softmax")])
    with pytest.raises(ValueError, match=r"Size the model's input to X's samples \(a builder "
                                         r"reads meta\['n_features_in_'\]"):
        KerasClassifier(wide).fit(X, y)
    linear = keras.Sequential([keras.Input((X.shape[1],)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"e\.g\. keras\.losses\.BinaryCrossentropy\("
                                         r"from_logits=True\)"):
        KerasClassifier(linear, loss="binary_crossentropy").fit(X, y)


@pytest.mark.parametrize("model, error, message", [
    (None, ValueError, "needs a model"),
    (42, TypeError, "model must be a keras.Model or a callable"),
])
def test_missing_or_invalid_model(model, error, message):
    with pytest.raises(error, match=message):
        KerasClassifier(model).fit(X, y)


def test_output_layer_not_matching_the_target():
    def three_units(meta):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])

    clf = KerasClassifier(three_units)
    with pytest.raises(ValueError, match=r"3 output unit\(s\).*needs 2.*meta\['n_classes_'\]"):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")
    with pytest.raises(ValueError, match=r"3 output unit\(s\) but y has 1"):
        KerasRegressor(three_units).fit(X, y_reg)


def test_a_model_of_several_outputs_points_to_a_target_encoder():
    def two_heads(meta):
        inputs = keras.Input((4,))
        return keras.Model(inputs, [keras.layers.Dense(1)(inputs), keras.layers.Dense(1)(inputs)])

    reg = KerasRegressor(two_heads, loss="mse")
    with pytest.raises(ValueError, match="The model has 2 outputs.*For several outputs, "
                                         "subclass the wrapper with a target_encoder"):
        reg.fit(X, np.column_stack([y_reg, y_reg]))
    assert not hasattr(reg, "model_")


@pytest.mark.parametrize("targets", [list, tuple])
def test_targets_given_as_a_list_by_output_are_named(targets):
    # fit(X, [y1, y2]) failed in scikit-learn with "inconsistent numbers of
    # samples: [n, 2]", a count of outputs read as one of rows.
    reg = KerasRegressor(tiny_mlp, loss="mse", epochs=1)
    with pytest.raises(ValueError, match=r"y is a list of 2 arrays of 40 rows each \(targets "
                                         r"by output\? as rows, 2 samples for X's 40\), but y "
                                         r"is one array.*column_stack"):
        reg.fit(X, targets([y_reg, y_reg]))
    assert not hasattr(reg, "model_")
    # A list of labels, or of rows, is y as scikit-learn takes it.
    assert KerasRegressor(tiny_mlp, loss="mse", epochs=1, random_state=0).fit(
        X, list(y_reg)).n_outputs_ == 1
    rows = [[a, b] for a, b in zip(y_reg, y_reg)]
    assert KerasRegressor(tiny_mlp, loss="mse", epochs=1, random_state=0).fit(
        X, rows).n_outputs_ == 2
    with pytest.raises(ValueError, match=r"y is a list of 2 arrays of \d+ rows each"):
        reg.fit(X, [list(y_reg), list(y_reg)])  # lists of targets too


def test_x_the_models_fixed_input_does_not_take_is_refused_before_training():
    # Keras' own error came from inside training.
    def five_inputs(meta):
        return keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, activation="sigmoid")])

    message = (r"X has 4 features, but the model's input takes 5 features.*"
               r"meta\['n_features_in_'\]")
    for model in (five_inputs, five_inputs(None)):
        _Began.began = False
        clf = KerasClassifier(model, loss="binary_crossentropy", callbacks=[_Began()])
        with pytest.raises(ValueError, match=message):
            clf.fit(X, y)
        assert not _Began.began and not hasattr(clf, "model_")
    images = np.zeros((len(y), 4, 4, 1))
    with pytest.raises(ValueError, match=r"samples of shape \(4, 4, 1\), but the model's "
                                         r"input takes samples of shape \(4, 3, 1\)"):
        KerasClassifier(keras.Sequential([keras.Input((4, 3, 1)), keras.layers.Flatten(),
                                          keras.layers.Dense(1, activation="sigmoid")]),
                        loss="binary_crossentropy").fit(images, y)
    # Dimensions the model leaves open take any size.
    open_width = keras.Sequential([keras.Input((None, 1)), keras.layers.GlobalAveragePooling1D(),
                                   keras.layers.Dense(1, activation="sigmoid")])
    KerasClassifier(open_width, loss="binary_crossentropy", epochs=1).fit(X[:, :, None], y)
    # A width of 1 too (a grayscale model given colour images, say), though
    # some layers would broadcast it.
    gray = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match=r"samples of shape \(4, 4, 3\), but the model's "
                                         r"input takes samples of shape \(4, 4, 1\)"):
        KerasClassifier(gray, loss="binary_crossentropy").fit(np.zeros((len(y), 4, 4, 3)), y)


def test_x_of_another_rank_than_the_models_input_is_refused_before_training():
    # Flat rows of 4 values given to a model of (2, 2, 1) images: Keras' own
    # "Invalid input shape" came from inside training.
    def images(meta):
        return keras.Sequential([keras.Input((2, 2, 1)), keras.layers.Flatten(),
                                 keras.layers.Dense(1, activation="sigmoid")])

    clf = KerasClassifier(images, loss="binary_crossentropy", callbacks=[_Began()])
    _Began.began = False
    with pytest.raises(ValueError, match=r"X has 4 features, but the model's input takes "
                                         r"samples of shape \(2, 2, 1\): reshape X to "
                                         r"\(n_samples, 2, 2, 1\), or give the model "
                                         r"keras.Input\(meta\['X_shape_'\]\[1:\]\) followed "
                                         r"by keras.layers.Reshape\(\(2, 2, 1\)\)"):
        clf.fit(X, y)
    assert not _Began.began and not hasattr(clf, "model_")
    with pytest.raises(ValueError, match=r"X has 4 features, .*\(3, 3\): size the model's "
                                         r"input to X's samples \(a builder reads "
                                         r"meta\['X_shape_'\]\)"):
        KerasClassifier(keras.Sequential([keras.Input((3, 3)), keras.layers.Flatten(),
                                          keras.layers.Dense(1, activation="sigmoid")]),
                        loss="binary_crossentropy").fit(X, y)
    # A last axis of 1 Keras adds or drops itself: trained as before, lengths
    # left open included (found in review: refused).
    for shape, X_ in (((4, 1), X), ((4,), X[:, :, None]), ((None, 1), X),
                      ((None,), X[:, :, None])):
        model = keras.Sequential([keras.Input(shape), keras.layers.Reshape((-1, 1)),
                                  keras.layers.GlobalAveragePooling1D(),
                                  keras.layers.Dense(1, activation="sigmoid")])
        fitted = KerasClassifier(model, loss="binary_crossentropy", epochs=1).fit(X_, y)
        assert fitted.predict(X_).shape == y.shape


class _Began(keras.callbacks.Callback):
    began = False

    def on_train_begin(self, logs=None):
        _Began.began = True


_USE_BINARY = r"1 output unit for the 2 classes\. Use loss='binary_crossentropy'"


@pytest.mark.parametrize("loss, encoding, says", [
    ("sparse_categorical_crossentropy", "auto", "takes a class index per sample.*" + _USE_BINARY),
    (keras.losses.SparseCategoricalCrossentropy(), "auto", "index per sample.*" + _USE_BINARY),
    # These trained on a loss of 0 whatever the model output (accuracy ~0.5).
    ("categorical_crossentropy", "auto", "spread over the classes.*" + _USE_BINARY),
    (keras.losses.CategoricalCrossentropy(), "onehot", "spread over the classes.*" + _USE_BINARY),
    ([keras.losses.CategoricalFocalCrossentropy], "auto", "spread over the classes"),
    ("binary_crossentropy", "onehot", "target_encoding='onehot' gives one-hot rows.*1 output "
     "unit for the 2 classes, which takes 0/1 targets: leave target_encoding='auto'"),
])
def test_one_sigmoid_unit_with_a_loss_of_a_score_per_class_is_refused_before_training(
        loss, encoding, says):
    def one_unit(meta):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])

    _Began.began = False
    clf = KerasClassifier(one_unit, loss=loss, target_encoding=encoding, callbacks=[_Began()])
    with pytest.raises(ValueError, match=says):
        clf.fit(X, y)
    assert not _Began.began and not hasattr(clf, "model_")


def test_model_with_two_outputs_is_refused():
    def two_heads(meta):
        inp = keras.Input((4,))
        return keras.Model(inp, [keras.layers.Dense(1)(inp), keras.layers.Dense(1)(inp)])

    with pytest.raises(ValueError, match="2 outputs"):
        KerasRegressor(two_heads).fit(X, y_reg)


def test_continuing_with_other_targets():
    reg = KerasRegressor(tiny_mlp, random_state=0).fit(X, y_reg)
    with pytest.raises(ValueError, match=r"y has 2 output\(s\).*fitted with 1"):
        reg.partial_fit(X, np.c_[y_reg, y_reg])
    clf = KerasClassifier(tiny_mlp, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"labels not in classes: \['x'\]"):
        clf.partial_fit(X[:2], np.array(["x", "x"]))


def test_validation_split_leaving_no_validation_or_training_rows():
    # Checked once the split is made (ready estimators split their own way).
    clf = KerasClassifier(tiny_mlp, validation_split=1e-17)
    with pytest.raises(ValueError, match="leaves no samples for validation with 40 samples"):
        clf.fit(X, y)
    with pytest.raises(ValueError, match="leaves no samples for training with 40 samples"):
        clf.set_params(validation_split=0.99).fit(X, y)


def test_builder_compiling_without_a_loss():
    def build(meta, compile_kwargs):
        model = tiny_mlp(meta)
        model.compile(**compile_kwargs)  # loss=None: the estimator's loss was not set
        return model

    clf = KerasClassifier(build)
    with pytest.raises(ValueError, match="compiled without a loss. Pass loss=") as excinfo:
        clf.fit(X, y)
    assert _framework_frames(excinfo) == []
    assert not hasattr(clf, "model_")


def test_validation_data_with_unknown_labels():
    clf = KerasClassifier(tiny_mlp)
    with pytest.raises(ValueError, match=r"labels not in classes: \[7\]"):
        clf.fit(X, y, validation_data=(X, np.full(40, 7)))


@pytest.mark.parametrize("cls, y_val, message", [
    (KerasRegressor, _with_nan(y_reg[:8]), "validation_data: Input y contains NaN"),
    (KerasRegressor, np.array([None, *y_reg[1:8]], dtype=object),
     "validation_data: Input y contains NaN"),
    (KerasRegressor, y_reg[:8, None, None], "validation_data: Found array with dim 3"),
    (KerasClassifier, _with_nan(y[:8]), "validation_data: Input y contains NaN"),
    (KerasRegressor, sparse.csr_matrix(y_reg[:8, None]), "validation_data: Sparse data"),
], ids=["nan", "none", "3-d", "nan-classifier", "sparse"])
def test_validation_targets_are_checked_as_the_training_targets(cls, y_val, message):
    # Before, a NaN there gave a NaN val_loss at every epoch, which stopped
    # early stopping on val_loss at its patience, without a word.
    est = cls(tiny_mlp, epochs=3, callbacks=[keras.callbacks.EarlyStopping(patience=1)])
    y_fit = y_reg if cls is KerasRegressor else y
    with pytest.raises((TypeError, ValueError), match=message):
        est.fit(X, y_fit, validation_data=(X[:8], y_val))
    assert not hasattr(est, "model_")


@pytest.mark.parametrize("given, message", [
    ((X[:8], y[:8], np.ones(7)), "validation_data: sample_weight has 7 weights but X has 8"),
    ((X[:8], y[:8], -np.ones(8)), "validation_data: Negative values in sample_weight"),
    ((X[:8, :3], y[:8]), "validation_data: X has 3 features"),
    ((X[:8], y[:7]), "validation_data: X has 8 samples but y has 7"),
    # targets by output, refused as fit refuses them (before: "y has 8 output(s) but the
    # estimator was fitted with 1", Keras' scalar-array error quoting the dict, or, through a
    # target encoder of the user's, "X has 8 samples but y has 2")
    ((X[:8], [y[:8], y[:8]]), r"validation_data: y_val is a list of 2 arrays of 8 rows each "
                              r"\(targets by output\? as rows, 2 samples for X_val's 8\), but "
                              r"y_val is one array"),
    ((X[:8], (y[:8], y[:8], y[:8])), r"y_val is a list of 3 arrays of 8 rows"),
    ((X[:8], {"out": y[:8]}), r"validation_data: y_val is a dict \(targets by output\?\), "
                              r"but y_val is one array"),
], ids=["weights-length", "negative-weights", "features", "rows", "by-output-list",
        "by-output-tuple", "by-output-dict"])
def test_validation_data_is_checked_before_the_network_is_built(given, message):
    built = []

    def build(meta):
        built.append(meta)
        return tiny_mlp(meta)

    clf = KerasClassifier(build, epochs=1)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y, validation_data=given)
    assert built == [] and not hasattr(clf, "model_")


def test_y_val_by_output_is_told_without_the_hint_on_routing_x_val():
    # found in review: "column_stack" in the message drew the hint that a Pipeline or
    # bagging may not route X_val, which is not what is wrong
    clf = KerasClassifier(tiny_mlp, epochs=1)
    with pytest.raises(ValueError, match=r"^X_val, y_val: y_val is a list of 2 arrays") as error:
        clf.fit(X, y, X_val=X[:8], y_val=[y[:8], y[:8]])
    assert "Pipeline" not in str(error.value)
    with pytest.raises(ValueError, match=r"Pipeline"):  # (the hint, where it is X_val's width)
        clf.fit(X, y, X_val=X[:8, :3], y_val=y[:8])


@pytest.mark.parametrize("at", ["X", "y"])
@pytest.mark.parametrize("given_as", ["validation_data", "X_val, y_val"])
def test_validation_values_beyond_float32_are_named_as_validation_rows(at, given_as):
    # found in a review of the left items: held-out X beyond float32's range gave a
    # val_loss of inf, silently; held-out y was named without saying which y
    X_val, y_val = X[:8].copy(), y_reg[:8].copy()
    if at == "X":
        X_val[3, 1] = 1e39
    else:
        y_val[3] = 1e39
    reg = KerasRegressor(tiny_mlp, epochs=1, random_state=0).fit(X, y_reg)
    before = reg.predict(X)
    given = ({"validation_data": (X_val, y_val)} if given_as == "validation_data"
             else {"X_val": X_val, "y_val": y_val})
    with pytest.raises(ValueError, match=rf"^{given_as}: {at} holds values beyond the range of "
                                         r"float32.*1e\+39"):
        reg.fit(X, y_reg, **given)
    np.testing.assert_array_equal(reg.predict(X), before)


def test_float32_x_beyond_a_float16_input_is_refused_as_float64_x_is():
    # Found in an audit: float32 X was never compared (predicted -inf, with
    # NumPy's overflow warning only), where float64 X of the same values was refused.
    def half(meta):
        return keras.Sequential([keras.Input((X.shape[1],), dtype="float16"),
                                 keras.layers.Dense(1, dtype="float16")])

    reg = KerasRegressor(half, loss="mse", epochs=1, random_state=0).fit(X, y_reg)
    for dtype in ("float64", "float32"):
        wide = X[:3].astype(dtype)
        wide[1, 0] = 1e5
        with pytest.raises(ValueError, match=r"beyond the range of float16, the network's "
                                             r"input type \(largest \|x\| = 1e\+05"):
            reg.predict(wide)
    assert np.isfinite(reg.predict(X[:3].astype("float32"))).all()


def test_x_beyond_float16_is_refused_where_a_mixed_policy_computes_in_it():
    # Found in an audit: under mixed_float16 the input is float32 and the first
    # layer computes in float16: X of 1e5 was told as NaN outputs from weights or
    # inputs "not finite" (a classifier), or predicted NaN in silence (a regressor).
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        reg = KerasRegressor(tiny_mlp, loss="mse", epochs=1, random_state=0).fit(X, y_reg)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    wide = X[:3].copy()
    wide[1, 0] = 1e5
    with pytest.raises(ValueError, match=r"beyond the range of float16, the type the network's "
                                         r"first layer computes in \(largest \|x\| = 1e\+05"):
        reg.predict(wide)
    with pytest.raises(ValueError, match=r"beyond the range of float16, .* = 6\.55e\+04 >"):
        reg.predict(np.full((2, X.shape[1]), 65_535, dtype="uint16"))  # (found in review)
    assert np.isfinite(reg.predict(X[:3])).all()
    # Ids an Embedding reads (as integers), values a Discretization reads (in
    # float32) are no float16 values (found in review: refused); integer ids a
    # Dense layer casts are (found in review: not checked).
    def first(make):
        return lambda meta: keras.Sequential([keras.Input((2,)), make(), keras.layers.Flatten(),
                                              keras.layers.Dense(1)])

    ids = np.array([[1, 99_999], [70_000, 3]] * 4)
    for make, refused in ((lambda: keras.layers.Embedding(100_000, 2), False),
                          (lambda: keras.layers.Discretization(bin_boundaries=[1e4, 5e4]), False),
                          (lambda: keras.layers.Dense(2), True),
                          # (it casts its input to float16 inside a model: found in review)
                          (lambda: keras.layers.CategoryEncoding(100_000), True)):
        for given in (ids.astype(float), ids):
            keras.mixed_precision.set_global_policy("mixed_float16")
            try:  # (fitted on small ids; a fit's X is read once more only if it diverges)
                net = KerasRegressor(first(make), loss="mse", epochs=1, random_state=0)
                net.fit(given % 1000 if refused else given, np.ones(8))
            finally:
                keras.mixed_precision.set_global_policy("float32")
            if refused:
                with pytest.raises(ValueError, match=r"beyond the range of float16, the type "
                                                     r".* = 1e\+05"):
                    net.predict(given)
            else:
                assert np.isfinite(net.predict(given)).all()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:  # an integer input cast by its first layer (found in review: not checked)
        net = KerasRegressor(lambda meta: keras.Sequential([
            keras.Input((2,), dtype="int32"), keras.layers.Dense(1)]), loss="mse", epochs=1,
            random_state=0).fit(ids % 1000, np.ones(8))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    with pytest.raises(ValueError, match=r"beyond the range of float16, the type .* = 1e\+05"):
        net.predict(ids)


def test_encoded_validation_data_is_refused_saying_it_is_given_as_fit_data_is():
    # Keras' encoded form (class codes for string labels, which scikeras passes on
    # as they are) is refused; the message says to give it as fit's y is.
    labels = np.array(["no", "yes"])[y]
    clf = KerasClassifier(tiny_mlp, epochs=1)
    with pytest.raises(ValueError, match=r"labels not in classes.*validation_data is given "
                                         r"as fit's X and y are"):
        clf.fit(X, labels, validation_data=(X[:8], y[:8]))
    clf.fit(X, labels, validation_data=(X[:8], labels[:8]))
    assert len(clf.history_["val_loss"]) == 1
    with pytest.raises(ValueError, match="validation_data: Input X contains NaN") as refused:
        clf.fit(X, labels, validation_data=(np.full((8, 4), np.nan), labels[:8]))
    assert "given as fit's" not in str(refused.value)  # where encoding is not the matter


class _CastL2(keras.regularizers.L2):
    """An L2 penalty returned in Keras' float type."""

    def __call__(self, x):
        return keras.ops.cast(super().__call__(x), keras.config.floatx())


def _float64_net(regularizer):
    def build(meta):
        return keras.Sequential([
            keras.Input((meta["n_features_in_"],), dtype="float64"),
            keras.layers.Dense(4, activation="relu", dtype="float64", name="hidden",
                               kernel_regularizer=regularizer),
            keras.layers.Dense(1, activation="sigmoid", dtype="float64"),
        ])
    return build


def test_float64_penalty_keras_cannot_add_is_named():
    clf = KerasClassifier(_float64_net(keras.regularizers.L2(1e-3)), loss="binary_crossentropy",
                          epochs=1)
    with pytest.raises(ValueError, match=r"'hidden' \(float64\) are not in Keras' float type "
                                         r"'float32'.*keras.ops.cast") as excinfo:
        clf.fit(X, y)
    assert _framework_frames(excinfo) == []
    assert not hasattr(clf, "model_")
    # The fix the message names trains.
    clf.set_params(model=_float64_net(_CastL2(1e-3))).fit(X, y)
    assert clf.model_.layers[0].kernel.dtype == "float64"
    assert np.isfinite(clf.history_["loss"]).all()


def test_outputs_that_are_not_probabilities_are_named():
    def own_relu(x):  # an activation of one's own, which the fit's check cannot read
        return keras.ops.relu(x)

    def relu_head(meta):  # zero for every row: no class has any probability
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(3, activation=own_relu,
                                                    kernel_initializer="zeros",
                                                    bias_initializer=keras.initializers.Constant(-1.0))])

    X3 = np.random.RandomState(0).rand(30, 4)
    clf = KerasClassifier(relu_head, loss="sparse_categorical_crossentropy", epochs=1,
                          optimizer="sgd", optimizer__learning_rate=0.0)
    clf.fit(X3, np.arange(30) % 3)
    with pytest.raises(ValueError, match="not probabilities.*softmax.*from_logits=True"):
        clf.predict_proba(X3)


@pytest.mark.parametrize("units, loss", [(3, "sparse_categorical_crossentropy"),
                                         (3, keras.losses.CategoricalCrossentropy()),
                                         (1, "binary_crossentropy")])
def test_a_linear_output_under_a_loss_taking_probabilities_is_refused_before_training(units,
                                                                                    loss):
    # It trained on clipped scores; predict_proba then refused some rows only
    # (those with no positive score, or one outside [0, 1]).
    def linear_head(meta, activation=None):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(units, activation=activation)])

    X3, y3 = np.random.RandomState(0).rand(30, 4), np.arange(30) % (3 if units == 3 else 2)
    fitted = KerasClassifier(linear_head, model__activation="softmax" if units == 3
                             else "sigmoid", loss=loss, epochs=1, random_state=0).fit(X3, y3)
    before = fitted.predict_proba(X3)
    with pytest.raises(ValueError, match=r"output layer has no activation \(linear\), but the "
                                         r"loss .* takes probabilities.*from_logits=True"):
        fitted.set_params(model__activation=None).fit(X3, y3)
    np.testing.assert_array_equal(fitted.predict_proba(X3), before)  # the fitted one kept
    for other in ("tanh", "relu", "softplus", "elu"):  # (trained whole, then predict failed)
        with pytest.raises(ValueError, match=rf"output layer has activation='{other}', whose "
                                             r"outputs are not probabilities, but the loss.*"
                                             r"or remove it and give the loss from_logits=True"):
            fitted.set_params(model__activation=other).fit(X3, y3)

    def relu6(x):  # one's own, in [0, 1], of a Keras activation's name (found in review)
        return keras.ops.relu6(x) / 6

    if units == 1:  # (a sigmoid's stand-in for one unit)
        fitted.set_params(model__activation=relu6).fit(X3, y3)
    with pytest.raises(ValueError, match="activation='relu', whose outputs are not"):
        fitted.set_params(model__activation=tf.nn.relu).fit(X3, y3)  # (TensorFlow's: Keras' name)
    for function, name in ((tf.nn.log_softmax, "log_softmax"), (tf.nn.silu, "silu")):
        with pytest.raises(ValueError, match=f"activation='{name}', whose outputs are not"):
            fitted.set_params(model__activation=function).fit(X3, y3)  # (not named by Keras)
    if units == 1:
        with pytest.raises(ValueError, match="ends in a softmax over 1 unit"):
            fitted.set_params(model__activation=tf.nn.softmax).fit(X3, y3)
    else:  # (TensorFlow's softmax taken as Keras' is)
        fitted.set_params(model__activation=tf.nn.softmax).fit(X3, y3)
    logits = {"sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
              "binary_crossentropy": keras.losses.BinaryCrossentropy}.get(loss, type(loss))(
        from_logits=True)
    # (as logits, the same network trains and its scores are made probabilities)
    proba = KerasClassifier(linear_head, loss=logits, epochs=1, random_state=0).fit(
        X3, y3).predict_proba(X3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("loss", ["poisson", keras.losses.Poisson(), keras.losses.poisson,
                                  [keras.losses.Poisson]])
def test_a_linear_output_under_the_poisson_loss_is_refused_before_training(loss):
    # Its logarithm of the negative predictions was NaN at the first step, and
    # the fit said to scale the inputs or lower the learning rate.
    def counts(meta, activation=None):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(1, activation=activation)])

    Xc = np.random.RandomState(0).rand(30, 4)
    yc = np.random.RandomState(1).poisson(2.0, 30).astype(float)
    with pytest.raises(ValueError, match=r"output layer has no activation \(linear\), but the "
                                         r"loss .* takes the logarithm of the predictions.*"
                                         "activation='exponential' or 'softplus'"):
        KerasRegressor(counts, loss=loss, epochs=1, random_state=0).fit(Xc, yc)
    # (with a positive output it trains, its loss finite)
    fitted = KerasRegressor(counts, model__activation="exponential", loss=loss, epochs=2,
                            random_state=0).fit(Xc, yc)
    assert np.isfinite(fitted.history_["loss"]).all()
    assert (fitted.predict(Xc) > 0).all()
    # a negative count trained to a negative loss, silently
    for method in ("fit", "partial_fit"):
        with pytest.raises(ValueError, match=r"reads counts or rates, but y holds negative "
                                             r"values \(the least -1\.0\)"):
            getattr(clone(fitted), method)(Xc, np.r_[yc[:-1], -1.0])


@pytest.mark.parametrize("loss", ["msle", "mean_squared_logarithmic_error",
                                  keras.losses.MeanSquaredLogarithmicError(),
                                  keras.losses.mean_squared_logarithmic_error])
def test_negative_targets_under_a_logarithmic_error_are_refused(loss):
    # Keras' MSLE reads a target below 0 as 0: half of y learnt as 0, R2 0.73
    # against 1.0 under MSE, silently (scikit-learn's mean_squared_log_error refuses).
    X = np.random.RandomState(0).rand(30, 3)
    y = 3 * X[:, 0] - 1.5
    reg = KerasRegressor(tiny_mlp, loss=loss, epochs=1, random_state=0)
    for method in ("fit", "partial_fit"):
        with pytest.raises(ValueError, match=r"reads a target below 0 as 0, but y holds "
                                             r"negative values \(the least -1\.38"):
            getattr(clone(reg), method)(X, y)
    assert np.isfinite(reg.fit(X, y - y.min()).predict(X)).all()  # from 0 up it trains


def test_losses_refusing_negative_targets_tag_the_regressor_positive_only():
    # Found in an audit: the tag said otherwise, so scikit-learn's checks fed
    # negative y and ten of them failed on the refusal (MLPRegressor tags it).
    from sklearn.utils import get_tags
    from sklearn.utils.estimator_checks import check_fit_check_is_fitted, check_n_features_in

    def counts(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(1, activation="softplus")])

    for loss, positive in [("poisson", True), (keras.losses.Poisson(), True), ("msle", True),
                           ("mse", False), (None, False)]:
        assert get_tags(KerasRegressor(loss=loss)).target_tags.positive_only is positive
    for check in (check_n_features_in, check_fit_check_is_fitted):  # (they draw y from tags)
        check("poisson", KerasRegressor(counts, loss="poisson", epochs=1, random_state=0))


def test_a_linear_activation_after_the_output_layer_is_read_through():
    # A float32 Activation("linear") casting a softmax (mixed precision's
    # idiom) was refused as a linear output, with from_logits=True as the fix,
    # which would apply the softmax twice; after a Dense without activation it
    # is refused still.
    def cast_output(meta, activation="softmax"):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation=activation),
                                 keras.layers.Activation("linear", dtype="float32")])

    X3, y3 = np.random.RandomState(0).rand(30, 4), np.arange(30) % 3
    clf = KerasClassifier(cast_output, loss="sparse_categorical_crossentropy", epochs=1,
                          random_state=0).fit(X3, y3)
    np.testing.assert_allclose(clf.predict_proba(X3), clf.model_(X3).numpy(), rtol=1e-5)
    with pytest.raises(ValueError, match=r"output layer has no activation \(linear\)"):
        KerasClassifier(cast_output, model__activation=None, epochs=1).fit(X3, y3)


def test_a_regressor_refuses_a_classification_loss_its_values_cannot_train_on():
    # Found in an audit: categorical_crossentropy over one unit is 0 whatever the
    # model learns (nothing learnt, in silence); a sparse one failed in TensorFlow.
    def one(meta):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])

    Xr, yr = np.random.RandomState(0).rand(30, 4), np.random.RandomState(1).rand(30)
    for loss, said in [("categorical_crossentropy", "over one unit is 0 whatever"),
                       (keras.losses.SparseCategoricalCrossentropy(), "class index per sample")]:
        reg = KerasRegressor(one, loss=loss, epochs=1)
        with pytest.raises(ValueError, match=f"{said}.*not a regressor's values"):
            reg.fit(Xr, yr)
        assert not hasattr(reg, "model_")
    # scores over several units (a distribution per row) still train
    def spread(meta):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])

    shares = np.random.RandomState(2).dirichlet(np.ones(3), 30)
    KerasRegressor(spread, loss="categorical_crossentropy", epochs=1).fit(Xr, shares)


def test_a_regressor_refuses_targets_its_classification_loss_cannot_learn():
    # Found in an audit: binary crossentropy on y from 1.8 to 27.7 trained to a loss
    # of -1278 (R2 -6), the hinge losses and the KL divergence to 0, the cosine
    # similarity over one unit not at all (R2 -7): each in silence.
    def one(meta, activation=None):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation=activation)])

    Xr = np.random.RandomState(0).rand(30, 4)
    yr = 2 + 20 * np.random.RandomState(1).rand(30)
    unit = r"reads targets as probabilities in \[0, 1\], but y holds values from 2\.\d+ to 2\d\."
    for loss, said in [("binary_crossentropy", unit), (keras.losses.KLDivergence(), unit),
                       (keras.losses.binary_focal_crossentropy, unit), ("dice", unit),
                       (keras.losses.Tversky(), unit),
                       ("hinge", r"trains the outputs' signs to labels -1 and 1"),
                       (keras.losses.SquaredHinge(), "outputs' signs"),
                       ("cosine_similarity", "over one unit are 1 or -1 whatever its value")]:
        for method in ("fit", "partial_fit"):
            reg = KerasRegressor(one, loss=loss, epochs=1, random_state=0)
            with pytest.raises(ValueError, match=said):
                getattr(reg, method)(Xr, yr)
            assert not hasattr(reg, "model_")
    # hinge losses on -1, 0 and 1 at once (0 is no sign), and the cosine similarity
    # of one unit read across the samples (axis=0) are left alone (found in review)
    with pytest.raises(ValueError, match="outputs' signs"):
        KerasRegressor(one, loss="hinge", epochs=1).fit(Xr, np.arange(30) % 3 - 1.0)
    KerasRegressor(one, loss=keras.losses.CosineSimilarity(axis=0), epochs=1).fit(Xr, yr)

    class Scaled(KerasRegressor):  # an encoder of the user's own scales y into [0, 1]
        @property
        def target_encoder(self):
            from sklearn.preprocessing import FunctionTransformer

            return FunctionTransformer(lambda v: v / 25.0, lambda v: v * 25.0)

    scaled = Scaled(one, model__activation="sigmoid", loss="binary_crossentropy", epochs=1)
    assert np.isfinite(scaled.fit(Xr, yr).predict(Xr)).all()
    # on targets of their own range they train
    shares = np.random.RandomState(2).rand(30)
    KerasRegressor(one, model__activation="sigmoid", loss="binary_crossentropy",
                   epochs=1).fit(Xr, shares)
    KerasRegressor(one, loss="hinge", epochs=1).fit(Xr, np.sign(shares - 0.5))

    def two(meta):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])

    KerasRegressor(two, loss="cosine_similarity", epochs=1).fit(Xr, np.c_[yr, -yr])
    # found in an audit: the KL divergence of one output on targets in [0, 1]
    # trained to 1 whatever y (R2 -2.6); over several outputs it trains
    with pytest.raises(ValueError, match=r"a target of 0 adds nothing.*Give a regression loss"):
        KerasRegressor(one, model__activation="sigmoid", loss="kl_divergence",
                       epochs=1).fit(Xr, shares)
    KerasRegressor(two, loss="kl_divergence", epochs=1).fit(Xr, np.c_[shares, 1 - shares])
    # a partial's keywords are read (found in review: axis=0 was taken as -1)
    import functools

    KerasRegressor(one, loss=functools.partial(keras.losses.cosine_similarity, axis=0),
                   epochs=1).fit(Xr, yr)
    with pytest.raises(ValueError, match="over one unit are 1 or -1"):
        KerasRegressor(one, loss=functools.partial(keras.losses.cosine_similarity, axis=-1),
                       epochs=1).fit(Xr, yr)


def _ending_in(units, activation):
    def build(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(4),
                                 keras.layers.Dense(units, activation=activation)])

    return build


@pytest.mark.parametrize("units, activation, loss, target, said", [
    # found in an audit: each trained in silence (the KL divergence of a unit of its
    # own to "always 1", the cosine similarity of a sigmoid unit to a constant loss),
    # or passed fit for predict to refuse rows with no positive output
    (1, "sigmoid", "kl_divergence", "binary", r"a target of 0 adds nothing.*second class"),
    (3, "sigmoid", keras.losses.KLDivergence(), "multilabel",
     r"a target of 0 adds nothing.*multilabel-indicator \(3 labels\): every label"),
    (1, "sigmoid", "cosine_similarity", "binary",
     r"over one unit are 1 or -1 whatever its value.*Give a classification loss"),
    (3, "relu", "poisson", "multiclass",
     r"activation='relu', whose outputs may be 0 or negative, and the loss 'poisson' takes"),
    # (found in review: exponential units of their own passed fit, and predict refused
    # their outputs above 1; a linear one was pointed to them)
    (1, "exponential", "poisson", "binary", r"may be above 1.*activation='sigmoid'"),
    (3, "softplus", "poisson", "multilabel", r"may be above 1.*activation='sigmoid'"),
    (1, None, "poisson", "binary", r"activation='linear', whose outputs may be 0 or "
                                   r"negative.*activation='sigmoid'"),
    (3, None, "kl_divergence", "multiclass",
     r"no activation \(linear\), but the loss 'kl_divergence' takes probabilities.*or "
     r"train with a loss taking from_logits=True"),
])
def test_a_classifier_refuses_a_loss_its_output_cannot_learn(units, activation, loss, target,
                                                             said):
    from sklearn.datasets import make_multilabel_classification

    if target == "multilabel":
        Xc, yc = make_multilabel_classification(60, 4, n_classes=3, random_state=0)
    else:
        Xc, yc = make_classification(60, 4, n_informative=3, n_redundant=0, random_state=0,
                                     n_classes=2 if target == "binary" else 3)
    clf = KerasClassifier(_ending_in(units, activation), loss=loss, epochs=1)
    with pytest.raises(ValueError, match=said):
        clf.fit(Xc, yc)
    assert not hasattr(clf, "model_")


def test_losses_over_outputs_they_can_learn_still_train():
    # (beside the refusals above: the same losses where each trains)
    Xc, yc = make_classification(60, 4, n_informative=3, n_redundant=0, n_classes=3,
                                 random_state=0)
    # (found in review: exponential and softplus outputs under the Poisson loss,
    # which the linear output's refusal points to, were refused too)
    for activation, loss in [("softmax", "kl_divergence"), ("softmax", "poisson"),
                             ("exponential", "poisson"), ("softplus", "poisson"),
                             ("softmax", "cosine_similarity")]:
        clf = KerasClassifier(_ending_in(3, activation), loss=loss, epochs=1).fit(Xc, yc)
        assert np.allclose(clf.predict_proba(Xc).sum(axis=1), 1, atol=1e-5)


def test_nan_unchecked_under_assume_finite_reaches_the_user_s_network_whatever_x_s_type():
    # Found in an audit: a network replacing NaN itself trained on float64 X with NaN,
    # and predicted float32 X, but predict and score refused that float64 X as "the
    # network cannot ... predict with them". A ready network (it cannot) refuses it.
    import sklearn

    class NanToZero(keras.layers.Layer):
        def call(self, x):
            return keras.ops.where(keras.ops.isnan(x), keras.ops.zeros_like(x), x)

    def build():
        return keras.Sequential([keras.Input((5,)), NanToZero(),
                                 keras.layers.Dense(1, activation="sigmoid")])

    X, y = make_classification(60, 5, random_state=0)
    X[::7, 2] = np.nan
    with sklearn.config_context(assume_finite=True):
        clf = KerasClassifier(build, loss="binary_crossentropy", epochs=1, random_state=0)
        clf.fit(X, y, validation_data=(X[:10], y[:10]))  # (its rows too: found in review)
        np.testing.assert_array_equal(clf.predict_proba(X), clf.predict_proba(
            X.astype(np.float32)))
        assert 0 <= clf.score(X, y) <= 1
        # infinity is still told: a sigmoid would hide it as 0 or 1 (found in review)
        with pytest.raises(ValueError, match=r"^X holds NaN or infinity"):
            clf.predict(np.where(np.isnan(X), np.inf, X))
        # a user's network diverging on it is told of the NaN as a possible cause
        plain = KerasClassifier(tiny_mlp, epochs=1, random_state=0)
        with pytest.raises(ValueError, match=r"training diverged, .* lower the learning rate\. "
                           r"X holds NaN or infinity, which scikit-learn's check did not refuse "
                           r"\(sklearn.set_config\(assume_finite=True\)\): unless the network "
                           r"takes them, give X without them\.$"):
            plain.fit(X.astype(np.float32), y)
        mlp = MLPClassifier(hidden_layer_sizes=(3,), max_iter=1, random_state=0)
        mlp.fit(np.nan_to_num(X), y)
        with pytest.raises(ValueError, match=r"^X holds NaN or infinity: .*assume_finite"):
            mlp.predict(X)


def test_a_nested_head_s_output_activation_is_read_as_a_flat_network_s():
    # Found in an audit: a head given as a nested Sequential was not read, so a
    # linear output under a crossentropy trained every epoch on clipped scores,
    # then predict_proba refused the outputs as "no positive value".
    def headed(meta, activation=None):
        head = keras.Sequential([keras.layers.Dense(8, activation="relu"),
                                 keras.layers.Dense(3, activation=activation)])
        return keras.Sequential([keras.Input((4,)), head])

    X3, y3 = np.random.RandomState(0).rand(30, 4), np.arange(30) % 3
    clf = KerasClassifier(headed, loss="sparse_categorical_crossentropy", epochs=1)
    with pytest.raises(ValueError, match=r"output layer has no activation \(linear\)"):
        clf.fit(X3, y3)
    assert not hasattr(clf, "history_")
    clf.set_params(model__activation="softmax").fit(X3, y3)
    np.testing.assert_allclose(clf.predict_proba(X3).sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("estimator", [KerasClassifier, KerasRegressor])
def test_a_softmax_over_one_unit_is_refused_before_training(estimator):
    # Its output is 1 whatever the inputs: both trained and predicted a constant.
    def one_unit(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(1, activation="softmax")])

    X2 = np.random.RandomState(0).rand(30, 4)
    model = estimator(one_unit, epochs=1)
    with pytest.raises(ValueError, match="ends in a softmax over 1 unit, which is 1 whatever "
                                         "the inputs"):
        model.fit(X2, np.arange(30) % 2)
    assert not hasattr(model, "model_")


class _SchemaError(ValueError):
    """A user's error type whose constructor takes more than a message."""

    def __init__(self, column, reason):
        super().__init__(f"column {column}: {reason}")


class _StrictEncoder:
    """A feature encoder of the user's, refusing rows with a large first value."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        if (np.asarray(X)[:, 0] > 100).any():
            raise _SchemaError(0, "out of range")
        return np.asarray(X, dtype="float32")


def test_a_feature_encoder_s_own_error_on_validation_data_comes_through_as_it_is():
    class Strict(KerasClassifier):
        @property
        def feature_encoder(self):
            return _StrictEncoder()

    X_val = X[:8].copy()
    X_val[0, 0] = 1e3
    with pytest.raises(_SchemaError, match="column 0: out of range"):
        Strict(tiny_mlp, epochs=1).fit(X, y, validation_data=(X_val, y[:8]))


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_a_random_state_numpy_cannot_take_is_refused_before_anything_runs(seed):
    import random

    built = []

    def build(meta):
        built.append(meta)
        return tiny_mlp(meta)

    keras.utils.set_random_seed(5)
    before = (random.random(), np.random.rand(), float(keras.random.uniform(())))
    keras.utils.set_random_seed(5)
    clf = KerasClassifier(build, random_state=seed)
    with pytest.raises(ValueError, match=r"random_state must be .* from 0 to 2\*\*32 - 1"):
        clf.fit(X, y)
    assert built == [] and not hasattr(clf, "model_")
    # No global generator was touched (Keras' set_random_seed fails half-way at -1).
    assert (random.random(), np.random.rand(), float(keras.random.uniform(()))) == before


def test_random_state_true_is_seed_1_as_for_scikit_learn():
    from sklearn.utils import check_random_state

    assert check_random_state(True).randint(100) == check_random_state(1).randint(100)
    a = KerasClassifier(tiny_mlp, epochs=1, random_state=True).fit(X, y)
    b = KerasClassifier(tiny_mlp, epochs=1, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_class_weights_and_verbose_of_other_number_types_are_taken():
    # The checks added for negative or NaN class weights and for verbose must
    # not refuse what scikit-learn and Keras take.
    from decimal import Decimal

    clf = KerasClassifier(Builder(), epochs=1, verbose=np.False_,
                          class_weight={0: Decimal("1.5"), 1: np.float32(1)}).fit(X, y)
    assert clf.history_["loss"]


@pytest.mark.parametrize("when", [
    pd.DataFrame({"when": pd.date_range("2020-01-01", periods=40, freq="D"), "x": 1.0}),
    pd.DataFrame({"age": pd.to_timedelta(np.arange(40), unit="D")}),
    np.arange(40).astype("datetime64[D]").reshape(-1, 1),
    # found in an audit: categoricals of them trained as microseconds since 1970
    pd.DataFrame({"when": pd.Categorical(pd.date_range("2020-01-01", periods=40, freq="D"))}),
    pd.DataFrame({"age": pd.Categorical(pd.to_timedelta(np.arange(40), unit="D"))}),
], ids=["datetime-column", "timedelta-column", "datetime64-array", "categorical-dates",
        "categorical-timedeltas"])
def test_dates_in_x_are_refused_as_in_y(when):
    # They were read as a count of their storage unit (seconds, us or ns, 1000x
    # apart across pandas versions), rounded to float32: a regressor diverged.
    from keraslearn import MLPClassifier, MLPRegressor

    target = np.arange(40.0)
    # found in an audit: MLPClassifier read the frame's dtypes first and failed
    # with NumPy's DTypePromotionError on a date column beside a number one
    clf = MLPClassifier(max_iter=1)
    calls = [(est, est.fit, {}) for est in (KerasRegressor(tiny_mlp), MLPRegressor(max_iter=1))]
    calls += [(clf, clf.fit, {}), (clf, clf.partial_fit, {"classes": [0.0, 1.0]})]
    for est, fit, kwargs in calls:
        y = target % 2 if est is clf else target
        with pytest.raises(ValueError, match=r"X has (date or time columns \['(when|age)'\]|"
                                             r"dtype datetime64\[D\]): as numbers they would "
                                             "be a count of their unit"):
            fit(when, y, **kwargs)
        assert not hasattr(est, "n_features_in_")
    fitted = KerasRegressor(tiny_mlp, epochs=1).fit(np.zeros((40, when.shape[1])), target)
    with pytest.raises(ValueError, match="count of their unit"):
        fitted.predict(when)


def test_the_way_out_offered_for_categorical_dates_and_durations_works():
    # found in review: (when - when.min()) fails on a categorical ("Categorical
    # is not ordered"), and durations were offered pd.to_datetime
    from keraslearn import MLPRegressor

    days = pd.date_range("2020-01-01", periods=40, freq="D")
    X = pd.DataFrame({"when": pd.Categorical(days)})
    with pytest.raises(ValueError, match=r"categorical ones read as their values first: "
                                         r"when\.astype\(when\.cat\.categories\.dtype\)"):
        MLPRegressor(max_iter=1).fit(X, np.arange(40.0))
    when = X["when"].astype(X["when"].cat.categories.dtype)
    assert ((when - when.min()) / pd.Timedelta(days=1)).tolist() == list(range(40))
    from keraslearn.utils._input_errors import refuse_dates

    with pytest.raises(ValueError, match=r"has dtype category \(of datetime64.*read as its "
                                         r"values first: when\.astype\(when\.cat\.categories"):
        refuse_dates(X["when"])  # (found in review: a Series of them, told as a frame's)
    durations = pd.DataFrame({"x": 1.0, "took": pd.Series(
        [datetime.timedelta(days=i) for i in range(40)], dtype=object)})
    with pytest.raises(ValueError, match=r"pd\.to_timedelta\(when\) / pd\.Timedelta\(days=1\) "
                                         r"for durations"):
        MLPRegressor(max_iter=1).fit(durations, np.arange(40.0))
    took = pd.to_timedelta(durations["took"]) / pd.Timedelta(days=1)
    assert took.tolist() == list(range(40))


@pytest.mark.parametrize("X", [
    pd.DataFrame({"x": pd.array([1, None] * 20, dtype="Int64").astype(object)}),
    pd.DataFrame({"x": pd.array(["1.5", None] * 20, dtype="string")}),
], ids=["objects", "text"])
def test_pd_na_among_objects_or_text_is_told_as_missing_values(X):
    # NumPy's "float() argument must be a string or a real number, not
    # 'NAType'", where NaN is told "Input X contains NaN".
    from keraslearn import MLPRegressor

    for est in (KerasRegressor(tiny_mlp), MLPRegressor(max_iter=1)):
        with pytest.raises(ValueError, match=r"^X holds missing values \(pd\.NA\), which the "
                                             r"network does not take: make them NaN first "
                                             r"\(X.mask\(X.isna\(\)\).astype\(float\) on the "
                                             r"columns holding them\), then impute them"):
            est.fit(X, np.arange(40.0))
        assert not hasattr(est, "n_features_in_")
        # found in review: a NumPy masked array was told a DataFrame's way (its mask
        # is no method), and a Series (one column) failed in keraslearn's scan
        for sent, how in ((np.ma.masked_array(X.to_numpy()), r"\(np.where\(pd.isna\(X\)"),
                          (X.iloc[:, 0], r"\(X.mask\(X.isna\(\)\)")):
            with pytest.raises(ValueError, match=r"^X holds missing values \(pd\.NA\), which "
                               rf"the network does not take: make them NaN first {how}"):
                est.fit(sent, np.arange(40.0))
        # ... as told, a SimpleImputer fills them (found in review: not as they are)
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            assert make_pipeline(SimpleImputer(), est).fit(X.mask(X.isna()).astype(float),
                                                           np.arange(40.0))
    # A named input's advice names it (found in an audit: X, the dict, has no isna)
    from builders import two_inputs

    for sent, how in ((X, r"X\['b'\].mask\(X\['b'\].isna\(\)\)"),
                      (X.to_numpy(), r"np.where\(pd.isna\(X\['b'\]\), np.nan, X\['b'\]\)")):
        with pytest.raises(ValueError, match=r"^X\['b'\] holds missing values \(pd\.NA\), "
                           rf"which the network does not take: make them NaN first \({how}"):
            KerasRegressor(two_inputs).fit({"a": np.ones((40, 1)), "b": sent}, np.arange(40.0))


@pytest.mark.parametrize("when", [
    [datetime.date(2020, 1, 1 + i % 28) for i in range(40)],
    [None] + [datetime.time(i % 24) for i in range(39)],
    pd.period_range("2020-01", periods=40, freq="M"),
    pd.interval_range(0, 40),
    # found in an audit: NumPy's TypeError, naming no column
    pd.Categorical(pd.period_range("2020-01", periods=40, freq="M")),
    pd.Categorical(pd.interval_range(0, 40)),
    pd.Series([datetime.timedelta(days=i) for i in range(40)], dtype=object),
], ids=["dates", "times", "periods", "intervals", "categorical-periods", "categorical-intervals",
        "timedelta-objects"])
def test_columns_of_dates_periods_or_intervals_are_named(when):
    # NumPy's "float() argument must be a string or a real number, not
    # 'datetime.date'" named no column.
    from keraslearn import MLPRegressor

    X = pd.DataFrame({"x": np.ones(40), "when": when})
    # found in an audit: as objects after numbers, or in an array of objects, they
    # were NumPy's TypeError again
    late = X.astype(object)
    late.iloc[:5, 1] = 1.0
    for est in (KerasRegressor(tiny_mlp), MLPRegressor(max_iter=1)):
        for sent, named in ((X, "'when'"), (late, "'when'"), (late.to_numpy(), "1")):
            with pytest.raises(ValueError, match=r"^X has columns of dates, times, periods or "
                               rf"intervals \[{named}\], which are not numbers"):
                est.fit(sent, np.arange(40.0))
            assert not hasattr(est, "n_features_in_")
        # found in review: NaT among numbers was named a column of dates, and
        # column names of several types were told as dates too
        missing = X.assign(when=1.0).astype(object)
        missing.iloc[3, 1] = pd.NaT
        for sent, how in ((missing, r"X.mask\(X.isna\(\)\).astype\(float\) on the columns "),
                          (missing.to_numpy(), r"np.where\(pd.isna\(X\), np.nan, X\)")):
            with pytest.raises(ValueError, match=r"^X holds missing values \(pd.NaT\), which "
                               rf"the network does not take: make them NaN first \({how}"):
                est.fit(sent, np.arange(40.0))
        sent = missing.to_numpy()
        for told in (missing.mask(missing.isna()).astype(float),
                     np.where(pd.isna(sent), np.nan, sent).astype(float)):
            assert make_pipeline(SimpleImputer(), est).fit(told, np.arange(40.0))
        with pytest.raises(TypeError, match="Feature names are only supported if all input "):
            est.fit(late.rename(columns={"x": 0}), np.arange(40.0))
    # Asked for as text, they stay what ColumnGroups makes of them (found in review).
    from keraslearn.preprocessing import ColumnGroups

    text = ColumnGroups({"when": ["when"]}, dtype="str").fit_transform(X)["when"]
    assert text[5, 0] == str(X["when"].iloc[5])
    numbers = ColumnGroups({"when": ["x"]}).fit(X.assign(x=1.0))  # then given them
    with pytest.raises(ValueError, match=r"^ColumnGroups' group 'when' has columns of dates"):
        numbers.transform(X.drop(columns="x").rename(columns={"when": "x"}))


def test_pd_na_among_targets_is_told_as_missing_targets():
    # found in an audit: scikit-learn's "boolean value of NA is ambiguous"
    from keraslearn import MLPRegressor

    y = pd.Series(np.arange(40.0), dtype=object)
    y[3] = pd.NA
    for est in (KerasRegressor(tiny_mlp), MLPRegressor(max_iter=1), MLPClassifier(max_iter=1)):
        with pytest.raises(ValueError, match=r"^y holds missing values \(pd.NA\): every row's "
                                             r"target must be known"):
            est.fit(np.ones((40, 2)), y)
        assert not hasattr(est, "n_features_in_")


def test_pd_na_among_targets_beside_named_inputs_or_held_out_is_told_so(tmp_path):
    # found in an audit: scikit-learn's TypeError (boolean value of NA is
    # ambiguous; float() of NAType) beside named inputs, and in validation_data
    from builders import two_inputs

    X = np.random.RandomState(0).rand(40, 2)
    told = r"y holds missing values \(pd.NA\): every row's target must be known"
    for est, y in ((KerasClassifier(two_inputs), np.array(["a", "b"] * 20, dtype=object)),
                   (KerasRegressor(two_inputs), np.arange(40.0).astype(object))):
        missing = y.copy()
        missing[3] = pd.NA
        with pytest.raises(ValueError, match="^" + told):
            est.fit({"a": X, "b": X}, missing)
        assert not hasattr(est, "model_")
        plain = type(est)(tiny_mlp, epochs=1)
        for given in ({"validation_data": (X, missing)}, {"X_val": X, "y_val": missing}):
            with pytest.raises(ValueError, match=r"^(validation_data|X_val, y_val): " + told):
                plain.fit(X, y, **given)
            assert not hasattr(plain, "model_")
        fitted = plain.fit(X, y).model_  # (a fitted estimator stays as it was)
        with pytest.raises(ValueError, match=r"^validation_data: " + told):
            plain.fit(X, y, validation_data=(X, missing))
        assert plain.model_ is fitted
        # found in review: beside X mapped from a file, scikit-learn's TypeError too
        np.save(tmp_path / "X.npy", X)
        with pytest.raises(ValueError, match="^" + told):
            plain.fit(np.load(tmp_path / "X.npy", mmap_mode="r"), missing)
        assert plain.model_ is fitted
        # the same targets known fit there (a classifier's labels as text too)
        assert plain.fit(np.load(tmp_path / "X.npy", mmap_mode="r"), y).model_ is not fitted
        assert est.fit({"a": X, "b": X}, y).predict({"a": X, "b": X}).shape == (40,)


def test_a_fit_without_y_beside_named_inputs_is_told_as_for_one_array():
    # found in review: NumPy's "Input should have at least 1 dimension ... got
    # scalar array(None)" where one array X gets scikit-learn's own error
    from builders import two_inputs
    from keraslearn import BaseWrapper, MultiInput

    X = np.random.RandomState(0).rand(40, 2)
    told = "This {} estimator requires y to be passed, but the target y is None."
    for est, y in ((KerasClassifier(two_inputs, epochs=1), [0, 1] * 20),
                   (KerasRegressor(two_inputs, epochs=1), np.arange(40.0))):
        for named in ({"a": X, "b": X}, MultiInput({"a": X, "b": X})):
            for call in (est.fit, est.partial_fit):
                with pytest.raises(ValueError, match="^" + re.escape(told.format(
                        type(est).__name__)) + "$"):
                    call(named, None)
                assert not hasattr(est, "model_")
        # found in review: y_val without y was told as a model's trained without targets
        with pytest.raises(ValueError, match="requires y to be passed"):
            est.fit({"a": X, "b": X}, None, X_val={"a": X, "b": X}, y_val=y)
        # a fitted estimator, continued or not, stays as it was
        fitted = est.set_params(warm_start=True).fit({"a": X, "b": X}, y).model_
        weights = [w.copy() for w in fitted.get_weights()]
        for call in (est.fit, est.partial_fit):
            with pytest.raises(ValueError, match="requires y to be passed"):
                call({"a": X, "b": X}, None)
            assert est.model_ is fitted
            for before, now in zip(weights, est.model_.get_weights(), strict=True):
                np.testing.assert_array_equal(now, before)

    def regularised(meta):
        inputs = [keras.Input((2,), name=name) for name in ("a", "b")]
        code = keras.layers.Dense(3)(keras.layers.Concatenate()(inputs))
        return keras.Model(inputs, keras.layers.ActivityRegularization(l2=1.0)(code))

    # an estimator whose targets are optional still fits named inputs without y
    est = BaseWrapper(regularised, optimizer="sgd", epochs=2, random_state=0)
    assert est.fit({"a": X, "b": X}).predict({"a": X[:4], "b": X[:4]}).shape == (4, 3)
    with pytest.raises(ValueError, match="y_val is given, but y is not: a model trained without "
                                         "targets is validated on X_val alone"):
        est.fit({"a": X, "b": X}, X_val={"a": X, "b": X}, y_val=np.zeros((40, 3)))


def test_a_regressor_s_text_or_complex_targets_are_told_wherever_y_is_checked(tmp_path):
    # found in review: beside named inputs, a mapped X or in validation_data, y's
    # text was NumPy's "could not convert string to float" and its complex numbers
    # NumPy's TypeError; and on the plain path, complex numbers in y were told as X's
    from builders import two_inputs

    X = np.random.RandomState(0).rand(40, 2)
    np.save(tmp_path / "X.npy", X)
    text = np.array([f"s{i}" for i in range(40)], dtype=object)
    complex_ = np.arange(40.0).astype(object)
    complex_[2] = 1 + 2j
    for y, told in ((text, r"A regressor needs numeric targets; y holds text \(could not "
                           r"convert string to float: 's0'\)\. For class labels, use a "
                           r"classifier\.$"),
                    (complex_, r"y holds complex numbers: the network's targets are real "
                               r"numbers \(give their real part")):
        est = KerasRegressor(two_inputs)
        with pytest.raises(ValueError, match="^" + told):
            est.fit({"a": X, "b": X}, y)
        assert not hasattr(est, "model_")
        plain = KerasRegressor(tiny_mlp, epochs=1)
        for sent in (X, np.load(tmp_path / "X.npy", mmap_mode="r")):
            with pytest.raises(ValueError, match="^" + told):
                plain.fit(sent, y)
        with pytest.raises(ValueError, match="^validation_data: " + told):  # (no hint of
            plain.fit(X, np.arange(40.0), validation_data=(X, y))  # X's pipeline steps)
        assert not hasattr(plain, "model_")


def test_complex_numbers_among_objects_are_refused_as_such():
    # found in an audit: NumPy's "float() argument must be a string or a real
    # number, not 'complex'" (a complex array: scikit-learn's own refusal)
    from keraslearn import MLPRegressor

    X = pd.DataFrame({"x": np.ones(40), "z": np.ones(40)}).astype(object)
    X.iloc[7, 1] = 1 + 2j
    for est in (KerasRegressor(tiny_mlp), MLPRegressor(max_iter=1)):
        for sent in (X, X.to_numpy()):
            with pytest.raises(ValueError, match=r"^X holds complex numbers, which the network "
                                                 r"does not take: give real numbers"):
                est.fit(sent, np.arange(40.0))
            assert not hasattr(est, "n_features_in_")


def test_polars_date_and_duration_columns_are_refused_as_pandas_ones():
    # They reached the network as counts of microseconds: a regressor diverged.
    import polars as pl

    from keraslearn import MLPRegressor

    when = pl.DataFrame({"x": np.ones(40), "when": np.arange(40).astype("datetime64[D]"),
                         "age": np.arange(40).astype("timedelta64[ms]")})
    for est in (KerasRegressor(tiny_mlp), MLPRegressor(max_iter=1)):
        with pytest.raises(ValueError, match=r"X has date or time columns \['when', 'age'\]: "
                                             "as numbers they would be a count of their unit"
                                             r".* e\.g\. \(pl\.col\('when'\) - ") as error:
            est.fit(when, np.arange(40.0))
        assert "pd." not in str(error.value)  # (pandas' code, for a polars frame)
        assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("loss, error, match", [
    (["binary_crossentropy", "mse"], ValueError,
     r"loss is a list of 2 losses, one per output, but the model has 1 output"),
    (42, TypeError, r"loss=42 is not a loss: give a name \('mse'\), a function"),
    (keras.losses, TypeError, r"is not a loss"),
    ({"dense": "binary_crossentropy"}, ValueError,  # (Keras: "'NoneType' object is not iterable")
     r"is given by output name, but a Sequential model does not name its output to Keras"),
])
def test_a_loss_unfit_for_the_model_s_one_output_is_named(loss, error, match):
    # Each was reported as a loss (ListWrapper, int, module) whose targets
    # keraslearn could not tell, with target_encoding as the fix; the list then
    # trained silently, and 42 failed inside Keras' fit.
    clf = KerasClassifier(tiny_mlp, loss=loss, epochs=1)
    with pytest.raises(error, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")
    if isinstance(loss, dict):  # compiled so by a builder (found in an audit: Keras' error)
        def compiling(meta):
            model = tiny_mlp(meta)
            model.compile(loss=loss)
            return model

        with pytest.raises(error, match=r"loss=\{'dense': .*" + match):
            KerasClassifier(compiling, epochs=1).fit(X, y)


def test_a_validation_split_of_numpy_s_float32_is_taken_as_keras_takes_it():
    # A search over np.linspace(..., dtype="float32") values was refused: "must be a
    # float", where Keras' fit and the ready estimators' validation_fraction take it.
    given = KerasClassifier(tiny_mlp, epochs=2, validation_split=np.float32(0.25),
                            random_state=0).fit(X, y)
    plain = KerasClassifier(tiny_mlp, epochs=2, validation_split=0.25, random_state=0).fit(X, y)
    assert given.history_["val_loss"] == pytest.approx(plain.history_["val_loss"])
    with pytest.raises(ValueError, match=r"validation_split must be a float in \[0, 1\), got "
                                         r"False"):
        KerasClassifier(tiny_mlp, validation_split=False).fit(X, y)


def _reading_text(name, width):
    def build():
        words = keras.Input((width,), dtype="string", name=name)
        counts = keras.layers.StringLookup(vocabulary=["a", "b"], output_mode="count")(words)
        return keras.Model(words, keras.layers.Dense(1, activation="sigmoid")(counts))
    return build


class _TextEncoded(KerasClassifier):
    @property
    def feature_encoder(self):
        from sklearn.preprocessing import FunctionTransformer

        return FunctionTransformer(lambda X: np.where(X[:, :1] > 0, "a", "b"))


@pytest.mark.parametrize("cls, name, which", [
    (KerasClassifier, "word", "input 'word'"),  # numbers given, the network reads text
    (_TextEncoded, None, "input"),  # text made by the feature encoder (Keras' own name left out)
])
def test_a_network_reading_text_is_refused_by_name_before_training(cls, name, which):
    # found: NumPy's "TypeError: data type 'string' not understood" from the input pipeline
    clf = cls(_reading_text(name, 1 if name is None else X.shape[1]),
              loss="binary_crossentropy", epochs=1)
    with pytest.raises(ValueError, match=rf"^The network's {which} reads text \(dtype string\), "
                                         "but keraslearn feeds the network numbers"):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")
