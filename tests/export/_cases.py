"""Small fitted pipelines to export, each with held-out rows to predict on."""

import warnings
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline as make_imblearn_pipeline
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    OneHotEncoder,
    RobustScaler,
    StandardScaler,
)

from keraslearn import ImageClassifier, KerasRegressor, MLPClassifier


@dataclass
class Case:
    pipeline: object
    X_test: object  # ndarray or DataFrame of held-out rows


def _mlp():
    return MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)


def _one_hidden(meta):
    return keras.Sequential([
        keras.Input(meta["X_shape_"][1:]),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(meta["n_outputs_"]),
    ])


def _regressor():
    return KerasRegressor(_one_hidden, optimizer="adam", epochs=3, random_state=0)


def binary_strings():
    X, y = make_classification(240, n_features=5, random_state=0)
    labels = np.array(["no", "yes"])[y]
    pipe = make_pipeline(StandardScaler(), _mlp()).fit(X[:200], labels[:200])
    return Case(pipe, X[200:])


def multiclass():
    X, y = make_classification(240, n_features=6, n_informative=4, n_classes=3, random_state=1)
    classes = np.array([3, 5, 7])[y]  # integer classes that are not 0..k-1
    pipe = make_pipeline(MinMaxScaler(clip=True), Normalizer(), _mlp())
    return Case(pipe.fit(X[:200], classes[:200]), X[200:])


def regressor():
    X, y = make_regression(240, n_features=4, noise=1.0, random_state=2)
    pipe = make_pipeline(RobustScaler(), _regressor()).fit(X[:200], y[:200] / 50)
    return Case(pipe, X[200:])


def regressor_two_outputs():
    X, y = make_regression(240, n_features=4, n_targets=2, random_state=3)
    X[::9, 1] = np.nan
    pipe = make_pipeline(SimpleImputer(strategy="median"), MaxAbsScaler(), _regressor())
    return Case(pipe.fit(X[:200], y[:200] / 50), X[200:])


def image():
    digits = load_digits()
    X = (digits.images / 16.0)[..., None]  # (n, 8, 8, 1)
    clf = ImageClassifier(conv_filters=(4,), dense_units=8, epochs=1, random_state=0)
    return Case(clf.fit(X[:300], digits.target[:300]), X[300:340])


def dataframe():
    rng = np.random.default_rng(4)
    n = 260
    df = pd.DataFrame({
        "age": rng.normal(40, 12, n),
        "monthly income": rng.normal(3000, 800, n),
        "city": rng.choice(["oslo", "paris", "rome"], n),
        "rooms": rng.integers(1, 5, n),
        "country": "no",  # one category, dropped: no column (TensorFlow refuses an empty table)
        "label": rng.uniform(0, 1, n),  # named like an output of the graph
        "id": np.arange(n),
    })
    df.loc[::6, "age"] = np.nan
    y = np.where(df["monthly income"] > 3200, "high",
                 np.where(df["city"] == "rome", "rome-low", "low"))
    ct = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "monthly income"]),
            ("city", OneHotEncoder(handle_unknown="ignore"), ["city"]),
            ("rooms", OneHotEncoder(drop="first", handle_unknown="ignore"), ["rooms"]),
            ("country", OneHotEncoder(drop="first"), ["country"]),
            ("id", "drop", ["id"]),
        ],
        remainder="passthrough",  # "label"
    )
    pipe = make_pipeline(ct, _mlp()).fit(df.iloc[:200], y[:200])
    test = df.iloc[200:].copy()
    test.iloc[:3, test.columns.get_loc("city")] = "lima"  # unseen in fit
    return Case(pipe, test)


def imblearn_smote():
    X, y = make_classification(300, n_features=5, weights=[0.85], random_state=5)
    pipe = make_imblearn_pipeline(StandardScaler(), SMOTE(random_state=0), _mlp())
    return Case(pipe.fit(X[:250], y[:250]), X[250:])


CASES = {f.__name__: f for f in (binary_strings, multiclass, regressor, regressor_two_outputs,
                                 image, dataframe, imblearn_smote)}


def fit_case(name):
    keras.utils.set_random_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return CASES[name]()


def feed_for(X, inputs):
    """The named inputs of an artifact (from its metadata) for rows X."""
    if isinstance(X, pd.DataFrame):
        return {
            spec["name"]: X[spec["feature"]].to_numpy().astype(
                object if spec["dtype"] == "string" else np.float32)
            for spec in inputs
        }
    (spec,) = inputs
    return {spec["name"]: np.asarray(X, dtype=np.float32)}
