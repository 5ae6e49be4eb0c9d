"""What the ready networks share: the stopping rule's state, the held-out
validation rows, device placement and the parameter plumbing over BaseWrapper.

The ready estimators (:class:`MLPClassifier`, :class:`MLPRegressor`,
:class:`ImageClassifier`) build their own network, so they have no ``model``
parameter and no routed ``model__``/``optimizer__`` parameters: their
constructor names every parameter, and :meth:`_keras_params` translates them
into the wrappers' Keras vocabulary.
"""

import math
import warnings

import numpy as np
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from .. import _runtime
from .._runtime import keras, tf
from ..utils import validate_parameters
from ..wrappers._base import BaseWrapper
from ..wrappers._routing import accepted_kwargs, suggest
from ._callbacks import NoImprovementStopping


class ReadyNetwork(BaseWrapper):
    """Shared implementation of the ready networks (not for direct use).

    Subclasses define ``__init__``, ``_parameter_constraints``,
    ``_keras_params``, ``_keras_build_fn`` and ``_stopping_monitor``.
    """

    _fitted_properties = ()
    # Indicator targets are multilabel, as for scikit-learn's estimators.
    _one_hot_targets = False
    # Warn like scikit-learn's MLP when max_iter epochs ran without converging.
    _warn_max_iter = False

    # No routed or builder parameters: plain scikit-learn parameter handling.
    get_params = BaseEstimator.get_params
    set_params = BaseEstimator.set_params

    @property
    def _kwargs(self):
        return {}

    def __getattr__(self, name):
        # A fitted property (coefs_, ...) read before fit lands here: say so.
        if name in type(self)._fitted_properties and "model_" not in self.__dict__:
            check_is_fitted(self)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ------------------------------------------------------------- checks
    def _check_extra_params(self):
        """Checks beyond ``_parameter_constraints`` (subclasses extend it)."""
        plateau = self.reduce_lr_on_plateau
        if isinstance(plateau, dict):
            names, _ = accepted_kwargs(keras.callbacks.ReduceLROnPlateau.__init__)
            for key in plateau:
                if key not in names:
                    raise ValueError(
                        f"reduce_lr_on_plateau has an unknown key {key!r}: "
                        f"keras.callbacks.ReduceLROnPlateau takes {sorted(names)}."
                        + suggest(key, names)
                    )

    def _check_device(self):
        if self.device is None:
            return
        try:
            spec = tf.DeviceSpec.from_string(self.device)
        except ValueError:
            spec = None
        if spec is None or spec.device_type is None:
            raise ValueError(
                f"device={self.device!r} is not a TensorFlow device name such as "
                "'/CPU:0' or '/GPU:0'."
            )
        available = tf.config.list_logical_devices(spec.device_type.upper())
        if (spec.device_index or 0) >= len(available):
            names = [d.name for d in tf.config.list_logical_devices()]
            raise ValueError(f"device={self.device!r} is not available here; devices: {names}.")

    def _device_scope(self):
        if self.device is None:
            return super()._device_scope()
        return tf.device(self.device)

    def _dtype(self):
        return self.dtype or keras.config.floatx()

    # ---------------------------------------------------------------- fit
    def fit(self, X, y, sample_weight=None):
        """Train the network on (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values (class labels, label indicators, or real values).

        sample_weight : array-like of shape (n_samples,), default=None
            Relative weights of the samples.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, keep=self.warm_start, fit_kwargs={})

    def _fit(self, X, y, sample_weight, *, keep, fit_kwargs, classes=None, partial=False):
        validate_parameters(self, self._parameter_constraints)
        self._check_extra_params()
        if partial and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True.")
        _runtime.configure_threads()  # before the device check starts TensorFlow
        self._check_device()
        reset = not (keep and self.__sklearn_is_fitted__())
        n_before = 0 if reset else len(self.history_.get("loss", []))
        if reset:
            # Carried across warm-started fits, as scikit-learn's MLP does.
            self._progress = {"best": -np.inf, "count": 0, "t": 0}
        self._progress["stopped"] = False
        # A warm-started fit (not partial_fit) takes the current parameters, as
        # scikit-learn's MLP does: a new optimizer and penalty on the fitted weights.
        super()._fit(X, y, sample_weight, keep=keep, fit_kwargs=fit_kwargs, classes=classes,
                     refresh=not partial)
        self.loss_curve_ = list(self.history_.get("loss", []))
        self.n_iter_ = len(self.loss_curve_) - n_before
        self._set_fit_attributes()
        epochs = fit_kwargs.get("epochs", self._keras_params()["epochs"])
        if (self._warn_max_iter and not partial and epochs and self.n_iter_ == epochs
                and not self._progress["stopped"]):
            warnings.warn(
                f"Maximum iterations ({epochs}) reached and the optimization hasn't "
                "converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _set_fit_attributes(self):
        """Subclasses set their own fitted attributes after training."""

    def _validate_X_y(self, X, y, reset):
        X, y = super()._validate_X_y(X, y, reset)
        if self.early_stopping:
            n = X.shape[0]
            n_val = self._validation_rows(n)
            if n_val < 2 or n - n_val < 1:
                raise ValueError(
                    f"early_stopping with validation_fraction={self.validation_fraction} "
                    f"holds out {n_val} of {n} samples: the validation set is too small "
                    "(it needs 2 or more) or leaves nothing to train on. Increase "
                    "'validation_fraction' or the size of your dataset."
                )
        return X, y

    def _partial_fit(self, X, y, sample_weight, classes, kwargs):
        return self._fit(X, y, sample_weight, keep=True, fit_kwargs={"epochs": 1, **kwargs},
                         classes=classes, partial=True)

    def _validation_rows(self, n):
        """How many rows early stopping holds out (as train_test_split counts)."""
        return math.ceil(self.validation_fraction * n) if self.early_stopping else 0

    def _train(self, X, y, sw, params, fit_args, seed, split_rows=None):
        self._n_train = X.shape[0] - self._validation_rows(X.shape[0])
        params = {**params, "batch_size": self._batch_size(self._n_train)}
        return super()._train(X, y, sw, params, fit_args, seed, split_rows)

    def _validation_split(self, X, y, split, seed):
        """A random split, stratified for single-output classifiers (as scikit-learn's MLP)."""
        n = X.shape[0]
        stratify = None
        if is_classifier(self) and np.ndim(y) == 1:  # labels, not a label matrix
            stratify = y
        try:
            train, val = train_test_split(
                np.arange(n), test_size=split, random_state=seed, stratify=stratify
            )
        except ValueError as exc:
            raise ValueError(
                f"early_stopping cannot hold out validation_fraction={split} of {n} "
                f"samples: {exc}"
            ) from None
        return np.sort(train), np.sort(val)

    def _fit_callbacks(self, params):
        callbacks = []
        monitor, lower_is_better, restore = self._stopping_monitor()
        if monitor is not None:
            callbacks.append(NoImprovementStopping(
                monitor, lower_is_better=lower_is_better, tol=self._tol(),
                n_iter_no_change=self.n_iter_no_change, state=self._progress,
                adaptive=self._adaptive_learning_rate(), restore_best=restore,
                verbose=bool(self.verbose),
            ))
        plateau = self.reduce_lr_on_plateau
        if plateau is not False and plateau is not None:
            n = self.n_iter_no_change
            kwargs = {
                "monitor": "val_loss" if self.early_stopping else "loss",
                "factor": 0.5,
                "patience": max(1, n // 2) if np.isfinite(n) else 5,
                "min_delta": self._tol(),
                "min_lr": 1e-6,
            }
            if isinstance(plateau, dict):
                kwargs.update(plateau)
            callbacks.append(keras.callbacks.ReduceLROnPlateau(**kwargs))
        return callbacks

    def _tol(self):
        return self.tol

    def _adaptive_learning_rate(self):
        return False

    def _optimizer_and_kwargs(self, default, learning_rate, default_kwargs=None):
        """The optimizer to compile with and its routed ``optimizer__`` parameters.

        A name or class gets ``learning_rate``; an instance is used as configured.
        """
        optimizer = self.optimizer if self.optimizer is not None else default
        if self.optimizer is None:
            kwargs = {"learning_rate": learning_rate, **(default_kwargs or {})}
        elif isinstance(optimizer, (str, type)):
            kwargs = {"learning_rate": learning_rate}
        else:
            kwargs = {}
        return optimizer, {f"optimizer__{k}": v for k, v in kwargs.items()}

    def _base_keras_params(self):
        """The wrapper parameters every ready network sets the same way."""
        return {
            "model": None, "build_fn": None, "warm_start": self.warm_start,
            "random_state": self.random_state, "loss": None, "metrics": None,
            "batch_size": None, "validation_batch_size": None, "callbacks": None,
            "validation_split": self.validation_fraction if self.early_stopping else 0.0,
            "run_eagerly": False,
            "class_weight": getattr(self, "class_weight", None),
        }

    def _dense_layers(self):
        check_is_fitted(self)
        return [layer for layer in self.model_.layers if isinstance(layer, keras.layers.Dense)]
