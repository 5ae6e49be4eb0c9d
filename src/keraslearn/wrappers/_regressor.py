"""KerasRegressor: a Keras model as a scikit-learn regressor."""

import numpy as np
from scipy.sparse import issparse
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score

from .._engine import RegressorBehaviour
from .._engine._losses import (
    clips_negative_targets,
    loss_description,
    reads_unit_targets,
    takes_logarithm,
)
from .._engine._network_checks import trains_scores
from .._engine._targets import is_native
from ._base import BaseWrapper
from ._docstrings import fill_doc


@fill_doc
class KerasRegressor(RegressorMixin, RegressorBehaviour, BaseWrapper):
    """A Keras model as a scikit-learn regressor (single or multi-output).

    Predictions are float64, whatever the network's float type, and shaped
    like the y given to fit, as scikit-learn's regressors shape them.

    Parameters
    ----------
    {model}

    {fit_parameters}
        None means mean squared error; a subclass's own
        ``target_encoder`` not built on keraslearn's encoders gives no default:
        give the loss.

    {training_parameters}

    {placement}

    {kwargs}

    Attributes
    ----------
    {fitted_attributes}

    n_outputs_ : int
        Number of regression targets (``meta["n_outputs_"]`` sizes the output layer).

    See Also
    --------
    KerasClassifier : The classification counterpart.
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

    # scikeras' scoring hook; score (BaseWrapper's, ahead of the mixin's) uses it.
    score = BaseWrapper.score

    def _prepare_training_data(self, X, y, reset):
        values = np.asarray(y) if not issparse(y) else None
        if values is None or values.dtype.kind not in "iuf" or not values.size or not (
                is_native(self.target_encoder)):  # (a subclass's encoder may scale y)
            return X, y
        _refuse_targets_outside_the_loss(self.loss, values)
        # Keras' Poisson loss reads counts or rates: on a negative target it trains
        # to a negative loss, silently (scikit-learn's Poisson models refuse one);
        # its mean squared logarithmic error learns a negative target as 0.
        if not (values < 0).any():
            return X, y
        least = values.min().item()
        if takes_logarithm(self.loss):
            raise ValueError(f"The loss {loss_description(self.loss)} reads counts or rates, "
                             f"but y holds negative values (the least {least!r}).")
        if clips_negative_targets(self.loss):
            raise ValueError(
                f"The loss {loss_description(self.loss)} reads a target below 0 as 0, but y "
                f"holds negative values (the least {least!r}), which it would learn as 0: "
                "shift y to 0 or above (a TransformedTargetRegressor), or use another loss.")
        return X, y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # y below 0 is refused for these losses (scikit-learn's checks then give y >= 0)
        tags.target_tags.positive_only = takes_logarithm(self.loss) or clips_negative_targets(
            self.loss)
        return tags

    @fill_doc
    def predict(self, X, **kwargs):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, shaped as in fit.

        {predict_kwargs}

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions in float64, shaped like the y given to fit.
        """
        return self._targets(X, **kwargs)

    @staticmethod
    def scorer(y_true, y_pred, **kwargs):
        """R² of the predictions (``sklearn.metrics.r2_score``).

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.

        y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Predictions.

        **kwargs : dict
            ``sample_weight`` and the routed ``score__`` parameters.

        Returns
        -------
        score : float
            The score.
        """
        return r2_score(y_true, y_pred, **kwargs)


def _refuse_targets_outside_the_loss(loss, values):
    """Refuse regression targets a classification loss cannot learn: values
    outside [0, 1] for a loss reading probabilities (its loss falls below 0
    without end), or other than -1, 0 and 1 for a hinge loss (it trains the
    outputs' signs, 0 read as -1 only where y holds 0 and 1): each trained on in
    silence, learning nothing."""
    if reads_unit_targets(loss):
        least, most = values.min().item(), values.max().item()
        if least < 0 or most > 1:
            raise ValueError(
                f"The loss {loss_description(loss)} reads targets as probabilities in [0, 1], "
                f"but y holds values from {least!r} to {most!r}: it cannot learn them. Give a "
                "regression loss (loss='mse', 'mae', 'huber'), or scale y into [0, 1] "
                "(a TransformedTargetRegressor with a MinMaxScaler).")
    if trains_scores(loss) and not (np.isin(values, (-1, 1)).all()
                                    or np.isin(values, (0, 1)).all()):
        raise ValueError(
            f"The loss {loss_description(loss)} trains the outputs' signs to labels -1 and "
            "1 (or 0 and 1), but y holds other values: it cannot learn them. Give a "
            "regression loss (loss='mse', 'mae', 'huber'), or use KerasClassifier.")
