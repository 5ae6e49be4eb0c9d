"""What cannot be exported is refused with a clear error, before anything is written."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

import keraslearn
from builders import tiny_mlp
from keraslearn import KerasClassifier, KerasRegressor, MLPClassifier, MultiInput
from keraslearn._engine._targets import RegressorTargetEncoder
from keraslearn._tf import keras
from keraslearn.serving import ExportedModel
from versions import TF_2_18

X = np.random.default_rng(0).normal(size=(60, 3))
y = (X[:, 0] > 0).astype(int)
STRINGS = pd.DataFrame({"c": ["a", "b", "c"] * 20, "d": ["x", "y", "y"] * 20})


@pytest.fixture(scope="module")
def mlp():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0).fit(X, y)


def refused(pipeline, tmp_path, error=ValueError, match=None, fmt="tf_saved_model"):
    with pytest.raises(error, match=match) as info:
        keraslearn.export(pipeline, tmp_path / "model", format=fmt)
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary left
    return str(info.value)


def test_unsupported_step_is_named_with_what_is_supported(mlp, tmp_path):
    message = refused(Pipeline([("reduce", PCA(3).fit(X)), ("net", mlp)]), tmp_path)
    assert "'reduce' (PCA)" in message
    for name in ("StandardScaler", "OneHotEncoder", "ColumnTransformer", "SimpleImputer"):
        assert name in message


def test_unsupported_step_inside_a_column_transformer_is_named_by_its_path(mlp, tmp_path):
    ct = ColumnTransformer([("scale", StandardScaler(), [0]), ("reduce", PCA(1), [1, 2])]).fit(X)
    message = refused(Pipeline([("prep", ct), ("net", mlp)]), tmp_path)
    assert "'prep/reduce' (PCA)" in message


def test_function_transformer_must_be_the_identity(mlp, tmp_path):
    step = FunctionTransformer(np.log1p).fit(X)
    message = refused(Pipeline([("log", step), ("net", mlp)]), tmp_path, match="log1p")
    assert "identity" in message


def test_unfitted_pipeline(tmp_path):
    refused(make_pipeline(StandardScaler(), MLPClassifier()), tmp_path, NotFittedError)


def test_pipeline_must_end_in_a_keraslearn_estimator(tmp_path):
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    refused(pipe, tmp_path, TypeError, match="ending in LogisticRegression")
    refused(StandardScaler().fit(X), tmp_path, TypeError, match="got StandardScaler\\.$")


def test_a_search_or_an_ensemble_is_pointed_to_what_can_be_exported(mlp, tmp_path):
    from sklearn.ensemble import VotingClassifier
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=2).fit(X, y)
    refused(search, tmp_path, TypeError, match=r"got GridSearchCV\. Export its best_estimator_")
    vote = VotingClassifier([("a", LogisticRegression()), ("b", LogisticRegression(C=2))])
    refused(vote.fit(X, y), tmp_path, TypeError,
            match=r"got VotingClassifier\. An ensemble's several models are no one graph: "
                  r"save it with keraslearn.save")
    # Found in an audit: a member exported as advised answered 0, 1, 2 where the
    # ensemble answers its labels, without a word of it.
    clf = MLPClassifier(hidden_layer_sizes=(2,), max_iter=1, random_state=0)
    labels = np.array(["cat", "dog"])[y]
    members = VotingClassifier([("a", clf)]).fit(X, labels)
    assert members.estimators_[0].classes_.tolist() == [0, 1]
    refused(members, tmp_path, TypeError,
            match=r"voting, stacking and bagging classifiers fit their members on positions "
                  r"in classes_, not on the labels")
    # Wrappers of one keraslearn estimator got no hint; calibrated models none either.
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier

    refused(FrozenEstimator(mlp), tmp_path, TypeError,
            match=r"got FrozenEstimator\. Export its estimator: the graph lacks what "
                  r"FrozenEstimator adds; or save it with keraslearn.save\.$")
    fixed = FixedThresholdClassifier(mlp, threshold=0.3).fit(X, y)
    refused(fixed, tmp_path, TypeError, match=r"Export its estimator_: the graph lacks what "
                                              r"FixedThresholdClassifier adds")
    piped = FixedThresholdClassifier(make_pipeline(StandardScaler(), mlp)).fit(X, y)
    refused(piped, tmp_path, TypeError, match=r"Export its estimator_: the graph lacks")
    calibrated = CalibratedClassifierCV(FrozenEstimator(mlp)).fit(X, y)
    refused(calibrated, tmp_path, TypeError, match="several models are no one graph")
    # At a pipeline's end: its steps go with it (exporting the estimator alone lost them).
    refused(make_pipeline(StandardScaler(), fixed).fit(X, y), tmp_path, TypeError,
            match=r"ending in FixedThresholdClassifier\. Export the same pipeline with the "
                  r"FixedThresholdClassifier replaced by its estimator_: the graph lacks")
    # A search without refit has no best_estimator_: its estimator was not fitted.
    unrefitted = GridSearchCV(mlp, {"alpha": [1e-4]}, cv=2, refit=False).fit(X, y)
    refused(unrefitted, tmp_path, TypeError,
            match=r"got GridSearchCV\. Fit it with refit=True, then export its best_estimator_\.")


def test_unknown_format(mlp, tmp_path):
    refused(mlp, tmp_path, ValueError, match="'pmml'.*tf_saved_model, litert, onnx", fmt="pmml")


def test_missing_values_in_a_string_column(mlp, tmp_path):
    data = STRINGS.astype(object)
    data.loc[0, "c"] = None
    encoder = OneHotEncoder().fit(data[["c"]])
    fill = r"fill them before fitting \(X\[column\].fillna\('missing'\)\)"
    refused(Pipeline([("ohe", encoder), ("net", mlp)]), tmp_path,
            match=rf"Step 'ohe' \(OneHotEncoder\) has categories in column 0 .* mix strin.*{fill}")
    # Imputed by a SimpleImputer of strings, which the graph cannot hold either.
    imputer = SimpleImputer(strategy="most_frequent").fit(data[["c"]])
    refused(Pipeline([("impute", imputer), ("net", mlp)]), tmp_path,
            match=f"non-numeric statistics_.*{fill} and leave the text columns out of this "
                  "SimpleImputer")
    # Strings of digits (zip codes) too: they were read as numbers, and the text
    # column then reached the one-hot layer as float32 (TensorFlow's TypeError).
    zips = pd.DataFrame({"z": ["75001", "69002", None, "75001"] * 10}, dtype=object)
    digits = make_pipeline(SimpleImputer(strategy="most_frequent"),
                           OneHotEncoder(handle_unknown="ignore")).fit(zips)
    refused(Pipeline([("zip", digits), ("net", mlp)]), tmp_path,
            match=rf"Step 'zip/simpleimputer' \(SimpleImputer\) has non-numeric .*{fill}")
    # The way out it names exports (found in an audit: the hint spoke only of the
    # missing values, and filled ones were refused again for the imputer).
    filled = data[["c"]].fillna("missing")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        followed = make_pipeline(OneHotEncoder(handle_unknown="ignore"), MLPClassifier(
            hidden_layer_sizes=(2,), max_iter=1, random_state=0)).fit(filled, np.arange(60) % 2)
    exported = ExportedModel(keraslearn.export(followed, tmp_path / "followed"))
    np.testing.assert_array_equal(exported.predict(filled), followed.predict(filled))


@pytest.mark.parametrize("fmt", ["tf_saved_model", "onnx"])
def test_labels_and_categories_that_are_not_utf8_text_are_named(mlp, tmp_path, fmt):
    # Found in an audit: a folder named in Latin-1 ("caf\xe9"), read by Python as
    # 'caf\udce9', trained and saved, but export failed inside TensorFlow ("Error
    # converting unicode string while converting Python sequence to Tensor").
    latin = b"caf\xe9".decode("utf-8", "surrogateescape")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labelled = MLPClassifier(hidden_layer_sizes=(2,), max_iter=1, random_state=0).fit(
            X, np.where(y == 1, latin, "th\u00e9"))
    refused(labelled, tmp_path, fmt=fmt,
            match=r"The classes caf\\xe9 are not UTF-8 text .* Fit on labels that are")
    column = pd.DataFrame({"c": [latin, "plain", "th\u00e9"] * 20})
    encoder = OneHotEncoder().fit(column)
    refused(Pipeline([("ohe", encoder), ("net", mlp)]), tmp_path, fmt=fmt,
            match=r"Step 'ohe' \(OneHotEncoder\) has categories in column 0 that are not "
                  r"UTF-8 text \(caf\\xe9, escaped")


def test_strings_and_numbers_without_column_names(mlp, tmp_path):
    mixed = np.column_stack([STRINGS["c"].to_numpy(object), X[:, 0]])
    ct = ColumnTransformer([("ohe", OneHotEncoder(), [0])], remainder="passthrough").fit(mixed)
    refused(Pipeline([("ct", ct), ("net", mlp)]), tmp_path, match="pandas DataFrame")
    # A DataFrame labelled by numbers: told it was fitted on an array, which it was not.
    numbered = pd.DataFrame({0: mixed[:, 0], 1: X[:, 0]})
    ct = ColumnTransformer([("ohe", OneHotEncoder(), [0])], remainder="passthrough")
    refused(Pipeline([("ct", ct.fit(numbered)), ("net", mlp)]), tmp_path,
            match=r"or on a DataFrame whose column names are not all strings.*"
                  r"\(X\.columns = X\.columns\.astype\(str\)\)")


def test_infrequent_categories(mlp, tmp_path):
    encoder = OneHotEncoder(min_frequency=25).fit(STRINGS)
    refused(Pipeline([("ohe", encoder), ("net", mlp)]), tmp_path, match="infrequent")


def test_imputing_strings(mlp, tmp_path):
    imputer = SimpleImputer(strategy="most_frequent").fit(STRINGS.astype(object))
    refused(Pipeline([("imp", imputer), ("net", mlp)]), tmp_path, match="non-numeric")


class _ScaledFeatures(KerasRegressor):
    @property
    def feature_encoder(self):  # scikeras' data-transformer interface
        return StandardScaler()


class _ThousandsEncoder(RegressorTargetEncoder):
    def transform(self, y):
        return super().transform(np.asarray(y) / 1000)

    def inverse_transform(self, y):
        return super().inverse_transform(y) * 1000


class _Thousands(KerasRegressor):
    @property
    def target_encoder(self):
        return _ThousandsEncoder()


class _Thresholded(KerasClassifier):
    def __init__(self, model=None, threshold=0.5, **kwargs):
        super().__init__(model=model, **kwargs)
        self.threshold = threshold

    def predict(self, X):  # a threshold of the user's own, in Python
        return self.classes_[(self.predict_proba(X)[:, 1] > self.threshold).astype(int)]


class _LogTarget(KerasRegressor):
    def fit(self, X, y, **kwargs):
        return super().fit(X, np.log1p(y), **kwargs)

    def predict(self, X, **kwargs):
        return np.expm1(super().predict(X, **kwargs))


class _Tempered(KerasClassifier):
    def _probabilities(self, X, **kwargs):  # the hook predict_proba goes through
        scores = super()._probabilities(X, **kwargs) ** 0.5
        return scores / scores.sum(axis=1, keepdims=True)


class _Clipped(KerasRegressor):
    def _network_outputs(self, X, call_kwargs):  # the hook _raw_predict goes through
        return np.clip(super()._network_outputs(X, call_kwargs), 0.0, None)


class _OwnBuilder(KerasClassifier):
    def _keras_build_fn(self, meta):  # scikeras' subclassing: nothing after the network
        return tiny_mlp(meta)


@pytest.mark.parametrize("make, match", [
    (lambda: _Thresholded(tiny_mlp, threshold=0.9, epochs=1).fit(X, y), "_Thresholded.*predict"),
    (lambda: _LogTarget(tiny_mlp, epochs=1).fit(X, np.abs(X[:, 0])), "_LogTarget.*predict"),
    (lambda: _Tempered(tiny_mlp, epochs=1).fit(X, y), "_Tempered.*_probabilities"),
    (lambda: _Clipped(tiny_mlp, epochs=1).fit(X, X[:, 0]), "_Clipped.*_network_outputs"),
    (lambda: _ScaledFeatures(tiny_mlp, epochs=1).fit(X, X[:, 0]), "feature_encoder"),
    (lambda: _Thousands(tiny_mlp, epochs=1).fit(X, X[:, 0]), "target_encoder"),
    (lambda: KerasRegressor(_two_inputs, epochs=1).fit(
        MultiInput(a=X[:, :2], b=X[:, 2:]), X[:, 0]),
     r"fitted on named inputs \['a', 'b'\] \(a dict or MultiInput\)"),
], ids=["own-predict", "own-predict-regressor", "own-hook", "own-outputs",
        "feature-encoder", "target-encoder", "multi-input"])
def test_what_runs_in_python_beside_the_network_is_refused(tmp_path, make, match):
    # The graph would hold the network alone: its predictions would not be
    # the estimator's, and no error would say so.
    est = make()
    message = refused(est, tmp_path, TypeError, match)
    assert "keraslearn.save" in message


def test_a_subclass_building_its_own_network_exports(tmp_path):
    # Overriding the builder alone changes nothing after the network.
    est = _OwnBuilder(epochs=1, random_state=0).fit(X, y)
    keraslearn.export(est, tmp_path / "model")
    exported = ExportedModel(tmp_path / "model")
    np.testing.assert_allclose(exported.predict_proba(X), est.predict_proba(X), atol=1e-6)


def _two_inputs(meta):
    a, b = keras.Input((2,), name="a"), keras.Input((1,), name="b")
    return keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))


def test_a_float64_network_is_refused_for_litert_by_its_dtype(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        wide = MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, dtype="float64",
                             random_state=0).fit(X, y)
    message = refused(wide, tmp_path, fmt="litert")
    assert "LiteRT computes in float32" in message and "float32 network" in message
    # ONNX was offered as plainly, though its runtime cannot run a float64 convolution
    assert "(or 'onnx', whose runtime lacks float64 convolutions)" in message


@keras.saving.register_keras_serializable("keraslearn_tests")
class _LogGamma(keras.layers.Layer):
    def call(self, x):
        import tensorflow as tf

        return tf.math.lgamma(x)


def test_a_recurrent_network_is_refused_for_litert_with_the_reason(tmp_path):
    # The message was the first line of the converter's MLIR dump
    # ("'tf.TensorListReserve' op requires element_shape to be static ...").
    rng = np.random.default_rng(0)
    sequences = rng.normal(size=(16, 5, 2)).astype("float32")

    def build(meta):
        return keras.Sequential([keras.Input(meta["X_shape_"][1:]), keras.layers.LSTM(2),
                                 keras.layers.Dense(1)])

    reg = KerasRegressor(build, loss="mse", epochs=1, random_state=0).fit(
        sequences, sequences[:, :, 0].sum(1))
    message = refused(reg, tmp_path, fmt="litert")
    assert message == (
        "LiteRT's converter cannot convert this pipeline: its builtin ops take a loop over "
        "steps (a recurrent layer: LSTM, GRU, ...) only at a fixed batch size, and the artifact "
        "takes any number of rows; export it with format='tf_saved_model' or 'onnx'.")


@TF_2_18
def test_a_litert_file_its_runtime_cannot_run_is_refused_as_a_mistranslation(tmp_path):
    # The converter writes a file LiteRT's interpreter cannot prepare (lgamma):
    # the interpreter's own RuntimeError came out, saying nothing of what to do.
    def build(meta):
        return keras.Sequential([keras.Input((3,)), _LogGamma(), keras.layers.Dense(1)])

    positive = np.abs(X) + 0.1
    reg = KerasRegressor(build, loss="mse", epochs=1, random_state=0).fit(positive, X.sum(1))
    message = refused(reg, tmp_path, error=RuntimeError, fmt="litert")
    assert message.startswith("The litert artifact does not run in its runtime (RuntimeError:")
    assert "Export to 'tf_saved_model' instead" in message


def test_a_saved_model_its_runtime_cannot_run_is_reported_as_keraslearns_fault(
        mlp, tmp_path, monkeypatch):
    # It was blamed on a converter, with the advice to export to tf_saved_model.
    from keraslearn._export import _formats

    def fail(fmt, path, probe):
        raise ValueError("cannot run")

    monkeypatch.setattr(_formats, "run_artifact", fail)
    message = refused(mlp, tmp_path, error=RuntimeError)
    assert message == ("The tf_saved_model artifact does not run in its runtime (ValueError: "
                       "cannot run): report this to keraslearn.")


def test_a_float64_convolution_onnx_runtime_has_no_kernel_for_is_named(tmp_path):
    # ONNX Runtime convolves float32 only: the export's check failed with "its
    # converter mistranslated the graph ... report this to keraslearn".
    from keraslearn import ImageClassifier

    images = np.random.default_rng(0).random((8, 6, 6, 1))
    clf = ImageClassifier(conv_filters=(2,), dense_units=0, epochs=1, dtype="float64",
                          random_state=0).fit(images, np.arange(8) % 2)
    message = refused(clf, tmp_path, RuntimeError, fmt="onnx",
                      match=r"no kernel for one of the network's operations in float64\. "
                            r"Export to 'tf_saved_model' instead, or fit a float32 network")
    assert "report this" not in message
