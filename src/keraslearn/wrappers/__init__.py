"""Bring-your-own-model wrappers: any Keras model as a scikit-learn estimator."""

from ._base import BaseWrapper
from ._classifier import KerasClassifier
from ._regressor import KerasRegressor

__all__ = ["BaseWrapper", "KerasClassifier", "KerasRegressor"]
