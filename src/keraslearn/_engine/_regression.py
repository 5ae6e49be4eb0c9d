"""RegressorBehaviour: what makes a keraslearn estimator a regressor."""


from ._targets import RegressorTargetEncoder


class RegressorBehaviour:
    """Numeric targets (one or several outputs) and float64 predictions shaped
    like y (a mixin for :class:`~keraslearn._engine.KerasEstimator` families)."""

    _y_numeric = True
    _requires_y = True

    def _new_target_encoder(self):
        return RegressorTargetEncoder()

    def partial_fit(self, X, y, sample_weight=None, **kwargs):
        """Train for one epoch (or ``epochs``), continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples, taken as given (``fit`` scales its own to a
            mean of 1), so that weights keep their ratios across calls.

        **kwargs : dict
            ``keras.Model.fit`` arguments for this call: ``epochs`` (how many
            epochs it trains, 1 by default) and, for the wrappers, Keras' others
            (``batch_size``, ``verbose``, ...); a ready network (ImageClassifier)
            takes ``epochs`` and ``callbacks``.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if "classes" in kwargs:  # (told by Keras as a fit argument "class_weight"?)
            raise TypeError("partial_fit() got classes, which a classifier's partial_fit "
                            "takes: a regressor has none.")
        return self._fit(X, y, sample_weight, mode="partial",
                         fit_kwargs=self._partial_fit_kwargs(kwargs))

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, shaped as in fit.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions in float64, shaped like the y given to fit (but for
            MLPRegressor, which predicts a one-column y as (n_samples,), as
            scikit-learn's MLPRegressor does).
        """
        return self._targets(X)

    def _targets(self, X, **predict_kwargs):
        """``predict``; ``predict_kwargs``: see ``_raw_predict``."""
        outputs = self._raw_predict(X, **predict_kwargs)  # checks that the estimator is fitted
        return self.target_encoder_.inverse_transform(outputs)
