"""Tiny fitted objects for tests/persistence: every public estimator and the
meta-estimators a keraslearn network sits in.

Imported as ``from _saved_cases import ...`` (pytest puts this directory on
``sys.path``). Each case is fitted in a few epochs on a few dozen rows: the
tests compare predictions before and after a round trip, not their quality.
"""

import functools
import io
import warnings
import zipfile

import keras
import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline as make_imblearn_pipeline
from sklearn.compose import make_column_transformer
from sklearn.datasets import make_classification
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from builders import tiny_mlp
from keraslearn import (
    ImageClassifier,
    KerasClassifier,
    KerasRegressor,
    MLPClassifier,
    MLPRegressor,
)
from keraslearn.wrappers import BaseWrapper

X, y = make_classification(n_samples=80, n_features=4, n_informative=3, n_redundant=0,
                           n_classes=3, n_clusters_per_class=1, weights=[0.6, 0.25, 0.15],
                           random_state=0)
LABELS = np.array(["ant", "bee", "cow"])[y]
Y2 = np.column_stack([X[:, 0] + X[:, 1], X[:, 1] - X[:, 2]])
FRAME = pd.DataFrame(X, columns=["age", "income", "score", "ratio"]).assign(
    city=np.array(["Lyon", "Oslo", "Lima"])[np.arange(80) % 3])
IMAGES = np.random.default_rng(0).random((40, 8, 8, 1)).astype("float32")
IMAGE_LABELS = (IMAGES[:, :4].mean(axis=(1, 2, 3)) > IMAGES[:, 4:].mean(axis=(1, 2, 3))).astype(int)


def autoencoder(meta):
    n = meta["n_features_in_"]
    return keras.Sequential([keras.Input((n,)), keras.layers.Dense(2), keras.layers.Dense(n)])


def _mlp(**kwargs):
    return MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0, **kwargs)


def _keras_classifier(**kwargs):
    return KerasClassifier(tiny_mlp, hidden=4, optimizer="adam", epochs=3, random_state=0,
                           **kwargs)


@functools.cache
def _search():
    return GridSearchCV(_keras_classifier(), {"hidden": [2, 4]}, cv=2).fit(X, LABELS)


# name -> (build and fit, the X to predict, the types load needs trusted beyond the
# defaults: the ones skops leaves untrusted on purpose).
CASES = {
    "KerasClassifier": (lambda: _keras_classifier().fit(X, LABELS), X, []),
    "KerasClassifier-loss-instance": (
        lambda: _keras_classifier(loss=keras.losses.SparseCategoricalCrossentropy()).fit(
            X, LABELS), X, []),
    "KerasRegressor": (lambda: KerasRegressor(tiny_mlp, epochs=3, random_state=0).fit(X, Y2),
                       X, []),
    "BaseWrapper": (lambda: BaseWrapper(autoencoder, loss="mse", epochs=3,
                                        random_state=0).fit(X, X), X, []),
    "MLPClassifier-dataframe": (lambda: _mlp().fit(FRAME.drop(columns="city"), LABELS),
                                FRAME.drop(columns="city"), []),
    "MLPRegressor": (lambda: MLPRegressor(hidden_layer_sizes=(4,), max_iter=3,
                                          random_state=0).fit(X, Y2[:, 0]), X, []),
    "ImageClassifier": (lambda: ImageClassifier(conv_filters=(2,), dense_units=4, epochs=2,
                                                random_state=0).fit(IMAGES, IMAGE_LABELS),
                        IMAGES, []),
    "Pipeline-StandardScaler": (lambda: make_pipeline(StandardScaler(), _mlp()).fit(X, LABELS),
                                X, []),
    "imblearn-Pipeline-SMOTE": (
        lambda: make_imblearn_pipeline(StandardScaler(), SMOTE(k_neighbors=3, random_state=0),
                                       _keras_classifier()).fit(X, LABELS),
        # SMOTE's fitted nearest neighbours hold a KDTree, which skops does not trust
        # by default (its raw node indices are read without bounds checks).
        X, ["sklearn.metrics._dist_metrics.EuclideanDistance64",
            "sklearn.neighbors._kd_tree.KDTree"]),
    "ColumnTransformer-DataFrame": (
        lambda: make_pipeline(make_column_transformer(
            (OneHotEncoder(), ["city"]), remainder=StandardScaler()), _mlp()).fit(FRAME, LABELS),
        FRAME, []),
    "GridSearchCV-best_estimator_": (lambda: _search().best_estimator_, X, []),
    "GridSearchCV": (lambda: _search(), X, []),
    # Scored by name: scorers holding scikit-learn's metric functions.
    "GridSearchCV-scoring": (
        lambda: GridSearchCV(_mlp(), {"alpha": [1e-4, 1e-2]}, cv=2, refit="f1",
                             scoring={"f1": "f1_macro", "accuracy": "accuracy"}).fit(X, LABELS),
        X, []),
    "VotingClassifier-soft": (
        lambda: VotingClassifier([("mlp", _mlp()), ("net", _keras_classifier())],
                                 voting="soft").fit(X, LABELS),
        X, ["sklearn.utils._bunch.Bunch"]),
    "StackingClassifier": (
        lambda: StackingClassifier([("mlp", _mlp()), ("net", _keras_classifier())],
                                   final_estimator=LogisticRegression(), cv=2).fit(X, LABELS),
        X, ["sklearn.utils._bunch.Bunch"]),
    "MLPClassifier-device-CPU": (lambda: _mlp(device="/CPU:0").fit(X, LABELS), X, []),
    "KerasRegressor-float64": (
        lambda: KerasRegressor(tiny_mlp, model__dtype="float64", epochs=3,
                               random_state=0).fit(X, Y2), X, []),
}


def fitted(name):
    """The fitted object of a case (quietly: a few epochs do not converge)."""
    keras.utils.set_random_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return CASES[name][0]()


def predictions(obj, X_):
    """Every prediction the object offers, by method name."""
    out = {"predict": np.asarray(obj.predict(X_))}
    if hasattr(obj, "predict_proba"):
        out["predict_proba"] = np.asarray(obj.predict_proba(X_))
    return out


def members(source):
    """{name: bytes} of the zip archive ``source`` (a path or a file object)."""
    with zipfile.ZipFile(source) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zipped(files):
    """The bytes of a zip archive of ``files`` ({name: bytes})."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()
