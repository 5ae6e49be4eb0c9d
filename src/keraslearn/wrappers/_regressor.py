"""KerasRegressor: a Keras model as a scikit-learn regressor."""

from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ._base import BaseWrapper
from ._targets import RegressorTargetEncoder


class KerasRegressor(RegressorMixin, BaseWrapper):
    """A Keras model as a scikit-learn regressor (single or multi-output).

    Takes the same parameters as :class:`KerasClassifier` except
    ``class_weight``; ``loss=None`` means mean squared error, and the builder's
    ``meta`` carries ``n_outputs_`` to size the output layer.

    Attributes
    ----------
    model_ : keras.Model
        The trained network.

    history_ : dict of list
        Per-epoch loss and metrics.

    n_outputs_ : int
        Number of regression targets.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of str
        Column names, when X was a pandas DataFrame.

    See Also
    --------
    KerasClassifier : The classification counterpart, with every parameter described.
    keraslearn.MLPRegressor : A ready network with scikit-learn's MLP parameters.

    Examples
    --------
    >>> import keras
    >>> from sklearn.datasets import make_regression
    >>> from keraslearn import KerasRegressor
    >>> def build(meta):
    ...     return keras.Sequential([
    ...         keras.Input(meta["X_shape_"][1:]),
    ...         keras.layers.Dense(16, activation="relu"),
    ...         keras.layers.Dense(meta["n_outputs_"]),
    ...     ])
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    >>> reg = KerasRegressor(build, optimizer="adam", epochs=3, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _target_encoder_class = RegressorTargetEncoder
    _y_numeric = True

    def partial_fit(self, X, y, sample_weight=None, **kwargs):
        """Train for one epoch, continuing from the current weights."""
        return self._partial_fit(X, y, sample_weight, None, kwargs)

    def predict(self, X):
        """Predicted targets, shaped like the y given to fit."""
        check_is_fitted(self)
        return self.target_encoder_.inverse_transform(self._raw_predict(X))
