"""Every public estimator, tiny and seeded, and the small data sets the integration tests use.

The integration tests are parametrised over ``FACTORIES`` (or the ``CLASSIFIERS`` /
``REGRESSORS`` views of it), so an estimator added here runs through every
scikit-learn and imbalanced-learn combination. Each factory builds a network
small enough to fit the data below in well under a second.

Imported as ``from _factories import ...``: pytest (``--import-mode=prepend``, no
``__init__.py``) puts this directory on ``sys.path`` when it imports a test module
from it.
"""

import functools
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.model_selection import train_test_split

from builders import tiny_mlp
from keraslearn import KerasClassifier, KerasRegressor

SEED = 0


def _optional(name):
    """``keraslearn.neural_network.<name>``, or None while that package does not exist.

    Once the package exists, an error importing it fails the tests loudly.
    """
    if importlib.util.find_spec("keraslearn.neural_network") is None:
        return None
    return getattr(importlib.import_module("keraslearn.neural_network"), name, None)


MLPClassifier = _optional("MLPClassifier")
MLPRegressor = _optional("MLPRegressor")
ImageClassifier = _optional("ImageClassifier")


@dataclass(frozen=True, eq=False)
class Factory:
    """How to build one public estimator for the integration tests.

    name : test id.
    kind : "classifier" or "regressor".
    build : ``build(**overrides)`` returns a fresh, unfitted estimator.
    grid : a 2x2 search space over routed / searchable parameters.
    hidden_key : the parameter in ``grid`` that sets the hidden layer.
    hidden_units : hidden_key's value -> the Dense units it must produce.
    tabular : False where tabular combinations make no sense; ``reason`` says why.
    """

    name: str
    kind: str
    build: Callable
    grid: dict
    hidden_key: str
    hidden_units: Callable
    tabular: bool = True
    reason: str = ""

    def __call__(self, **overrides):
        return self.build(**overrides)

    def __repr__(self):
        return self.name

    __str__ = __repr__


def _keras_classifier(**overrides):
    params = dict(
        model__hidden=8, optimizer="adam", optimizer__learning_rate=0.05,
        epochs=15, batch_size=32, random_state=SEED,
    )
    return KerasClassifier(tiny_mlp, **{**params, **overrides})


def _keras_regressor(**overrides):
    params = dict(
        model__hidden=8, optimizer="adam", optimizer__learning_rate=0.05,
        epochs=15, batch_size=32, random_state=SEED,
    )
    return KerasRegressor(tiny_mlp, **{**params, **overrides})


def _mlp(cls):
    def build(**overrides):
        params = dict(
            hidden_layer_sizes=(8,), learning_rate_init=0.05, max_iter=15,
            batch_size=32, random_state=SEED,
        )
        return cls(**{**params, **overrides})

    return build


def _image_classifier(**overrides):
    params = dict(
        conv_filters=(8,), dense_units=16, dropout=0.0, epochs=8, batch_size=32,
        learning_rate=0.01, random_state=SEED,
    )
    return ImageClassifier(**{**params, **overrides})


_WRAPPER_GRID = {"optimizer__learning_rate": [0.01, 0.05], "model__hidden": [4, 8]}
_MLP_GRID = {"learning_rate_init": [0.01, 0.05], "hidden_layer_sizes": [(4,), (8,)]}


def _units_of_hidden(value):
    return [value]


def _units_of_sizes(value):
    return list(value)


FACTORIES = [
    Factory("KerasClassifier", "classifier", _keras_classifier, _WRAPPER_GRID,
            "model__hidden", _units_of_hidden),
    Factory("KerasRegressor", "regressor", _keras_regressor, _WRAPPER_GRID,
            "model__hidden", _units_of_hidden),
]
if MLPClassifier is not None:
    FACTORIES.append(Factory("MLPClassifier", "classifier", _mlp(MLPClassifier), _MLP_GRID,
                             "hidden_layer_sizes", _units_of_sizes))
if MLPRegressor is not None:
    FACTORIES.append(Factory("MLPRegressor", "regressor", _mlp(MLPRegressor), _MLP_GRID,
                             "hidden_layer_sizes", _units_of_sizes))
if ImageClassifier is not None:
    FACTORIES.append(Factory(
        "ImageClassifier", "classifier", _image_classifier, {}, "", _units_of_sizes,
        tabular=False,
        reason=(
            "a CNN over (height, width, channels) images: scalers, one-hot columns, "
            "SMOTE and tabular toy sets have no spatial structure for it, so it gets "
            "its own combinations on 8x8 digit images (test_image_classifier_*)"
        ),
    ))

CLASSIFIERS = [f for f in FACTORIES if f.kind == "classifier" and f.tabular]
REGRESSORS = [f for f in FACTORIES if f.kind == "regressor" and f.tabular]
TABULAR = [f for f in FACTORIES if f.tabular]
ALL_CLASSIFIERS = [f for f in FACTORIES if f.kind == "classifier"]
NOT_TABULAR = {f.name: f.reason for f in FACTORIES if not f.tabular}


def by_name(name):
    """The factory called ``name``; skips the test while that estimator does not exist."""
    for factory in FACTORIES:
        if factory.name == name:
            return factory
    pytest.skip(f"keraslearn.{name} is not available (keraslearn.neural_network missing)")


def params(factories):
    """``pytest.param`` entries with readable ids."""
    return [pytest.param(f, id=f.name) for f in factories]


# ---------------------------------------------------------------------------- data
@functools.cache
def _classification(n_classes, n_samples):
    X, y = make_classification(
        n_samples=n_samples, n_features=6, n_informative=3, n_redundant=0,
        n_classes=n_classes, n_clusters_per_class=1, class_sep=2.0,
        shuffle=False, random_state=SEED,
    )
    # shuffle=False keeps the informative features first (columns 0-2); shuffle rows.
    order = np.random.RandomState(SEED).permutation(n_samples)
    return X[order], y[order]


def classification(n_classes=2, n_samples=200):
    """An easy, nearly separable set; columns 0-2 informative, 3-5 noise."""
    X, y = _classification(n_classes, n_samples)
    return X.copy(), y.copy()


@functools.cache
def _regression(n_targets, n_samples):
    X, y = make_regression(
        n_samples=n_samples, n_features=6, n_informative=3, n_targets=n_targets,
        noise=5.0, shuffle=False, random_state=SEED,
    )
    order = np.random.RandomState(SEED).permutation(n_samples)
    return X[order], y[order]


def regression(n_targets=1, n_samples=200, standardize=True):
    """A linear target plus noise; columns 0-2 informative, 3-5 noise.

    ``standardize`` scales y to mean 0 and unit variance (raw y: std about 40).
    """
    X, y = _regression(n_targets, n_samples)
    X, y = X.copy(), y.copy()
    if standardize:
        y = (y - y.mean(axis=0)) / y.std(axis=0)
    return X, y


def data_for(factory, **kwargs):
    return classification(**kwargs) if factory.kind == "classifier" else regression(**kwargs)


def split(X, y, stratify=True):
    """A seeded 70/30 split (stratified for classification)."""
    strat = y if stratify and np.asarray(y).ndim == 1 and y.dtype.kind in "iubOU" else None
    return train_test_split(X, y, test_size=0.3, random_state=SEED, stratify=strat)


@functools.cache
def _imbalanced(n_samples, n_informative, class_sep):
    return make_classification(
        n_samples=n_samples, n_features=6, n_informative=n_informative, n_redundant=0,
        n_clusters_per_class=1, weights=[0.9, 0.1], class_sep=class_sep, flip_y=0.0,
        random_state=SEED,
    )


def imbalanced(n_samples=600, hard=False):
    """Two classes, 90% / 10%.

    ``hard=True``: 2 informative features and strongly overlapping classes, on
    which an unweighted model neglects class 1 (minority recall near 0).
    """
    if hard:
        X, y = _imbalanced(800, 2, 0.5)
    else:
        X, y = _imbalanced(n_samples, 3, 0.7)
    return X.copy(), y.copy()


@functools.cache
def _imbalanced_multiclass():
    return make_classification(
        n_samples=800, n_features=6, n_informative=3, n_redundant=0, n_classes=3,
        n_clusters_per_class=1, weights=[0.6, 0.32, 0.08], class_sep=0.5, random_state=SEED,
    )


def imbalanced_multiclass():
    """Three overlapping classes, 60% / 32% / 8%."""
    X, y = _imbalanced_multiclass()
    return X.copy(), y.copy()


def frame(kind="classifier", n_samples=200):
    """A pandas DataFrame with 4 numeric columns and 1 categorical column (plus y).

    ``a``-``c`` are the informative features (``b`` in a 100x larger scale), ``d``
    is noise; the categorical column ``colour`` mostly follows the target.
    """
    rng = np.random.RandomState(SEED)
    if kind == "classifier":
        X, y = classification(n_samples=n_samples)
        signal = y.astype(bool)
    else:
        X, y = regression(n_samples=n_samples)
        signal = y > 0
    agree = rng.rand(n_samples) < 0.85
    colour = np.where(signal == agree, "red", "blue").astype(object)
    colour[rng.rand(n_samples) < 0.2] = "green"
    df = pd.DataFrame(
        {"a": X[:, 0], "b": X[:, 1] * 100.0, "c": X[:, 2], "d": X[:, 3], "colour": colour}
    )
    return df, y


@functools.cache
def _digits_images():
    digits = load_digits()
    keep = digits.target < 4
    images = (digits.images[keep] / 16.0).astype("float32")[..., None]
    return images, digits.target[keep]


def digits_images():
    """8x8 grey digit images of classes 0-3, shape (n, 8, 8, 1), values in [0, 1]."""
    X, y = _digits_images()
    return X.copy(), y.copy()


# ------------------------------------------------------------------------ inspection
def dense_units(estimator):
    """Units of every Dense layer of a fitted estimator's network, output layer last."""
    return [layer.units for layer in estimator.model_.layers
            if isinstance(layer, keras.layers.Dense)]


def hidden_units(estimator):
    return dense_units(estimator)[:-1]


# ------------------------------------------------------------------------------ spies
_SPY_CLASSES = {}


def _spy_class(cls):
    if cls not in _SPY_CLASSES:
        def fit(self, X, y, sample_weight=None, **kwargs):
            y_arr = np.asarray(y)
            self.seen_ = {
                "n_samples": len(X),
                "y": y_arr.copy(),
                "sample_weight": (
                    None if sample_weight is None else np.asarray(sample_weight).copy()
                ),
            }
            return cls.fit(self, X, y, sample_weight=sample_weight, **kwargs)

        fit.__doc__ = cls.fit.__doc__
        namespace = {"fit": fit, "__module__": __name__}
        _SPY_CLASSES[cls] = type(f"Spy{cls.__name__}", (cls,), namespace)
    return _SPY_CLASSES[cls]


def spy(estimator):
    """The same estimator, recording in ``seen_`` what its ``fit`` received
    (number of rows, y, sample_weight)."""
    return _spy_class(type(estimator))(**estimator.get_params(deep=False))
