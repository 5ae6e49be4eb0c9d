"""KerasEstimator: the fit and predict every keraslearn estimator runs.

A fit reads in the order the data flows::

    settings = self._training_settings(...)     # parameters, in Keras' words
    data     = self._training_data(X, y, ...)    # validate, encode targets, weights
    plan     = make_plan(settings, data, ...)    # every decision of this fit
    model    = self._network(plan, data, ...)    # build, continue or rebuild
    history  = train(self, model, data, plan)    # feed and train
    self._commit(...)                            # fitted attributes, all at once

inside :func:`restore_on_failure`, so that a failed or interrupted fit leaves
the estimator as it was.
"""

import contextlib
import copy
import dataclasses
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .. import _random, _tf
from ._build import finish_network, make_meta
from ._inputs import normalised_weights, validate_training_data, validate_X
from ._layers import copy_network_state, keras_layers_only
from ._plan import CONTINUE, NEW, REBUILD, choose_network, last_rows_split, make_plan
from ._predict import Predictor
from ._targets import IdentityTargetEncoder
from ._train import train
from ._transaction import restore_on_failure


@dataclasses.dataclass(frozen=True)
class TrainingData:
    """The validated training data of one fit (targets as labels, not yet encoded)."""

    X: Any
    y: Any
    sample_weight: Any
    weight_mean: float
    encoder: Any
    classes: np.ndarray | None = None


class KerasEstimator(BaseEstimator):
    """The engine of every keraslearn estimator (not for direct use).

    A family defines ``_check_parameters``, ``_training_settings`` and
    ``_build_network``; a classifier or regressor behaviour defines the target
    encoder and how predictions are read. See the module docstring.
    """

    # Estimators whose fit needs a y (classifiers, regressors).
    _requires_y = True
    _y_numeric = False

    # ------------------------------------------------------------ the hooks
    def _check_parameters(self, fit_kwargs):
        """Raise for any parameter or fit argument that is wrong, before TensorFlow."""

    def _training_settings(self, fit_kwargs):
        """The :class:`TrainingSettings` the parameters (and ``fit_kwargs``) give."""
        raise NotImplementedError

    def _build_network(self, meta, plan):
        """(a new keras.Model, its compile arguments) for the data in ``meta``."""
        raise NotImplementedError

    def _new_target_encoder(self):
        return IdentityTargetEncoder()

    def _prepare_training_data(self, X, y, reset):
        """Family checks and conversions of validated training data, before
        the targets are encoded (a ready regressor flattens a one-column y)."""
        return X, y

    def _training_weights(self, y, sample_weight):
        """The sample weights as the user means them (classifiers multiply in
        class weights); checked and normalised by the engine."""
        return sample_weight

    def _check_training_target(self, y, sample_weight):
        """Refuse targets that cannot be learnt (classifiers: a single class)."""

    def _validation_split(self, y, n, fraction, seed):
        """Held-out rows for ``validation_split``: the last ones, as in Keras."""
        return last_rows_split(n, fraction)

    def _own_callbacks(self, plan):
        """Callbacks of the estimator itself (stopping rules), after the user's."""
        return []

    def _complete_plan(self, plan, data):
        """The plan with the estimator's own callbacks added (a family that
        scores its held-out rows itself changes more, seeing the data)."""
        return plan.replace(callbacks=plan.callbacks + tuple(self._own_callbacks(plan)))

    def _carried_progress(self, continuing):
        """This fit's copy of the training state a warm-started fit continues
        (stopping rules); None when the family keeps none."""
        return None

    def _fitted_attributes(self, plan, history):
        """Attributes the family sets once a fit has succeeded."""
        return {}

    def _device_scope(self):
        """Where training and inference run (TensorFlow's choice by default)."""
        return contextlib.nullcontext()

    # ------------------------------------------------------------------ fit
    def __sklearn_is_fitted__(self):
        return "model_" in self.__dict__

    def _fit(self, X, y, sample_weight, *, mode, fit_kwargs=None, classes=None):
        """Fit in one of the modes "fit", "warm" (warm_start), "partial" or
        "initialize" (build only)."""
        fit_kwargs = dict(fit_kwargs or {})
        self._check_parameters(fit_kwargs)
        settings = self._training_settings(fit_kwargs)
        fitted = self.__sklearn_is_fitted__()
        continuing = fitted and mode in ("warm", "partial")
        # A network trained further in place is restored too if the fit fails.
        in_place = self.model_ if choose_network(mode, fitted, settings) == CONTINUE else None
        randomness = _random.fit_randomness(settings.random_state)
        with restore_on_failure(self, trained_in_place=in_place):
            data = self._training_data(X, y, sample_weight, reset=not continuing, classes=classes)
            plan = make_plan(
                settings, mode=mode, fitted=fitted, y=data.y, n_samples=data.X.shape[0],
                weight_mean=data.weight_mean, seed=randomness.split_seed,
                split=self._validation_split, progress=self._carried_progress(continuing),
            )
            plan = self._complete_plan(plan, data)
            _tf.configure_threads()
            with self._device_scope():
                model, encoder = self._network(plan, data, randomness)
                history = train(self, model, data, plan, encoder, randomness) if plan.train else {}
            self._commit(plan, data, model, encoder, history)
        return self

    def _training_data(self, X, y, sample_weight, *, reset, classes):
        X, y = validate_training_data(self, X, y, reset=reset, y_numeric=self._y_numeric)
        X, y = self._prepare_training_data(X, y, reset)
        if reset:
            encoder = self._new_target_encoder().fit(y, classes)
            y = encoder.validate(y, warn=False)
        else:
            # A copy: configuring it for a rebuilt network must not touch the fitted one.
            encoder = copy.copy(self.target_encoder_)
            y = encoder.validate(y)
        weights = self._training_weights(y, sample_weight)
        sw, weight_mean = normalised_weights(weights, X)
        if reset and classes is None:
            # Not for partial_fit: a batch may hold a single class of those declared.
            self._check_training_target(y, sw)
        return TrainingData(X, y, sw, weight_mean, encoder, classes)

    def _network(self, plan, data, randomness):
        """The network this fit trains, and the target encoder configured for it."""
        encoder = data.encoder
        if plan.network == CONTINUE:
            return self.model_, encoder
        with randomness.building():
            model, compile_kwargs = self._build_network(make_meta(self, encoder), plan)
            model = finish_network(
                model, compile_kwargs, encoder, sample_shape=self.X_shape_[1:],
                needs_rows=not isinstance(encoder, IdentityTargetEncoder),
                encoding=plan.target_encoding,
            )
        if plan.network == NEW:
            randomness.settle(own_random_ops=not keras_layers_only(model))
        elif plan.network == REBUILD:
            try:
                copy_network_state(self.model_, model)
            except ValueError as exc:
                raise ValueError(
                    f"warm_start=True continues the fitted network, but the current "
                    f"parameters build another one ({exc}). Set warm_start=False to fit "
                    "a new network."
                ) from None
        return model, encoder

    def _commit(self, plan, data, model, encoder, history):
        """Set every fitted attribute of a successful fit."""
        fresh = plan.network == NEW
        previous = {} if fresh else self.history_
        merged = {k: list(v) for k, v in previous.items()}
        for key, values in history.items():
            merged.setdefault(key, []).extend(float(v) for v in values)
        attributes = {
            "model_": model,
            "target_encoder_": encoder,
            "history_": merged,
        }
        for key in ("target_type_", "n_outputs_", "n_outputs_expected_", "y_dtype_", "y_ndim_",
                    "classes_", "n_classes_"):
            if hasattr(encoder, key):
                attributes[key] = getattr(encoder, key)
        self.__dict__.update(attributes)
        if plan.network != CONTINUE:
            self._predictor = Predictor(model)
        self.__dict__.update(self._fitted_attributes(plan, history))

    # -------------------------------------------------------------- predict
    def _get_predictor(self):
        predictor = self.__dict__.get("_predictor")
        if predictor is None:  # unpickled: the traced function is not carried over
            predictor = self._predictor = Predictor(self.model_)
        return predictor

    def _predict_kwargs(self):
        """``keras.Model.predict`` arguments (routed ``predict__`` parameters)."""
        return {}

    def _raw_predict(self, X):
        """The network's outputs for X, validated as in fit."""
        X = validate_X(self, X)
        kwargs = self._predict_kwargs()
        with self._device_scope(), _tf.expected_retracing():
            if set(kwargs) - {"batch_size"}:
                kwargs.setdefault("verbose", 0)
                return np.asarray(self.model_.predict(X, **kwargs))
            return self._get_predictor()(X, kwargs.get("batch_size"))

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_predictor", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.required = self._requires_y
        tags.non_deterministic = False
        return tags

