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
from keraslearn import MLPClassifier

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
    refused(StandardScaler().fit(X), tmp_path, TypeError, match="got StandardScaler")


def test_unknown_format(mlp, tmp_path):
    refused(mlp, tmp_path, ValueError, match="'pmml'.*tf_saved_model, litert, onnx", fmt="pmml")


def test_missing_values_in_a_string_column(mlp, tmp_path):
    data = STRINGS.astype(object)
    data.loc[0, "c"] = None
    encoder = OneHotEncoder().fit(data[["c"]])
    refused(Pipeline([("ohe", encoder), ("net", mlp)]), tmp_path, match="mix strings")


def test_strings_and_numbers_without_column_names(mlp, tmp_path):
    mixed = np.column_stack([STRINGS["c"].to_numpy(object), X[:, 0]])
    ct = ColumnTransformer([("ohe", OneHotEncoder(), [0])], remainder="passthrough").fit(mixed)
    refused(Pipeline([("ct", ct), ("net", mlp)]), tmp_path, match="pandas DataFrame")


def test_infrequent_categories(mlp, tmp_path):
    encoder = OneHotEncoder(min_frequency=25).fit(STRINGS)
    refused(Pipeline([("ohe", encoder), ("net", mlp)]), tmp_path, match="infrequent")


def test_imputing_strings(mlp, tmp_path):
    imputer = SimpleImputer(strategy="most_frequent").fit(STRINGS.astype(object))
    refused(Pipeline([("imp", imputer), ("net", mlp)]), tmp_path, match="non-numeric")
