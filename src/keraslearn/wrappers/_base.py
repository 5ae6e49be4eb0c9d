"""BaseWrapper: the work shared by KerasClassifier and KerasRegressor."""

import inspect

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _runtime
from .._runtime import keras
from ..utils import check_sample_weight
from . import _keras_objects as objects
from ._data import make_dataset
from ._predict import Predictor
from ._routing import (
    ROUTING_PREFIXES, accepted_kwargs, check_kwargs, check_prefix, routed, split_routed, suggest,
)
from ._training import copy_network_state, fit_model, keras_layers_only

# What the builder may receive besides its own parameters.
_BUILDER_SPECIAL = ("meta", "compile_kwargs", "params")

# What a fresh fit sets; restored when that fit fails.
_FIT_STATE = ("model_", "target_encoder_", "history_", "_predictor")

# Model.fit arguments the estimator supplies itself, and where to give them instead.
_REFUSED_FIT_KWARGS = {
    "x": "pass the data as fit(X, y)",
    "y": "pass the data as fit(X, y)",
    "sample_weight": "pass it as fit(X, y, sample_weight=...)",
    "class_weight": "use the classifier's class_weight parameter",
}


def _computes_own_loss(model):
    """Whether a model subclass overrides how Keras computes its loss."""
    return any(
        getattr(type(model), name, None) is not getattr(keras.Model, name, None)
        for name in ("train_step", "compute_loss")
    )


def _check_loss_dtypes(model):
    """Refuse, before training, penalties Keras cannot add to the compiled loss.

    Keras computes the compiled loss in ``floatx`` and sums the layers' own
    losses (regularizers, ``add_loss``) with it as they are: a float64 layer's
    penalty under the default float32 makes that sum fail deep inside tracing.
    """
    floatx = keras.config.floatx()
    if all(v.dtype == floatx for v in model.weights):
        return
    odd = []
    for layer in model.layers:
        dtypes = {keras.backend.standardize_dtype(loss.dtype) for loss in layer.losses}
        if dtypes - {floatx}:
            odd.append(f"{layer.name!r} ({', '.join(sorted(dtypes))})")
    if odd:
        raise ValueError(
            f"Layer losses (regularizers or add_loss) of {', '.join(odd)} are not in "
            f"Keras' float type {floatx!r}, so Keras cannot add them to the compiled loss. "
            f"Return the penalty in {floatx} (e.g. keras.ops.cast(penalty, {floatx!r}) in a "
            "custom regularizer) or call keras.config.set_floatx() with the layers' dtype "
            "before building the model."
        )


class BaseWrapper(BaseEstimator):
    """Shared implementation of the Keras wrappers (not for direct use)."""

    _target_encoder_class = None

    def __init__(
        self,
        model=None,
        *,
        build_fn=None,
        warm_start=False,
        random_state=None,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        batch_size=None,
        validation_batch_size=None,
        verbose=0,
        callbacks=None,
        validation_split=0.0,
        shuffle=True,
        run_eagerly=False,
        epochs=1,
        **kwargs,
    ):
        self.model = model
        self.build_fn = build_fn
        self.warm_start = warm_start
        self.random_state = random_state
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.batch_size = batch_size
        self.validation_batch_size = validation_batch_size
        self.verbose = verbose
        self.callbacks = callbacks
        self.validation_split = validation_split
        self.shuffle = shuffle
        self.run_eagerly = run_eagerly
        self.epochs = epochs
        # Builder arguments and routed parameters: parameters like the others
        # (get_params/set_params/clone), kept apart from the signature's.
        self._kwargs = dict(kwargs)

    def __getattr__(self, name):
        # ``est.hidden`` / ``est.optimizer__learning_rate`` read the extra parameters.
        kwargs = self.__dict__.get("_kwargs")
        if kwargs is not None and name in kwargs:
            return kwargs[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ------------------------------------------------------------------ params
    def _signature_params(self):
        return set(self._get_param_names())

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update(self.__dict__.get("_kwargs", {}))
        return params

    def set_params(self, **params):
        """Set parameters, routed ones (``optimizer__learning_rate``, ...) included."""
        own = {}
        signature = self._signature_params()
        for key, value in params.items():
            prefix, _ = split_routed(key)
            if key in signature:
                own[key] = value
            elif prefix in ROUTING_PREFIXES or key in self._kwargs or self._builder_takes(key):
                self._kwargs[key] = value
            elif prefix is None:
                hint = suggest(key, signature | set(self._kwargs) | self._builder_names())
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {type(self).__name__}: "
                    "neither the estimator nor its model builder takes it."
                    + (hint or f" Route it to the builder's **kwargs as 'model__{key}'.")
                )
            else:
                check_prefix(key, signature)
                own[key] = value
        if own:
            super().set_params(**own)
        return self

    def _builder_names(self):
        """The argument names the model builder declares (none for a Model)."""
        builder = self.model if self.model is not None else self.build_fn
        if builder is None or isinstance(builder, keras.Model) or not callable(builder):
            return set()
        return accepted_kwargs(builder)[0] - set(_BUILDER_SPECIAL)

    def _builder_takes(self, name):
        """Whether the model builder declares an argument ``name`` (so that
        ``set_params(hidden=...)`` works like ``set_params(model__hidden=...)``)."""
        return name in self._builder_names()

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_predictor", None)
        return state

    # ---------------------------------------------------------- hooks for subclasses
    def _new_target_encoder(self):
        return self._target_encoder_class()

    def _default_builder(self):
        """The builder used when ``model`` and ``build_fn`` are both None."""
        return getattr(self, "_keras_build_fn", None)

    def _fit_callbacks(self, params):
        """Callbacks the estimator adds to the user's (ready estimators use it)."""
        return []

    def _keras_params(self):
        """The parameters fit reads, in the wrappers' (Keras) vocabulary.

        Ready estimators with scikit-learn's parameter names translate theirs here.
        """
        return self.get_params(deep=False)

    def _predict_kwargs(self):
        """Routed ``predict__`` parameters (read without ``get_params``: it is slow)."""
        return routed(self.__dict__.get("_kwargs", {}), "predict")

    def _validation_split(self, X, y, split, seed):
        """(train rows, validation rows): the last ``split`` of the data, as Keras does.

        Returns slices, so no copy of X is made.
        """
        n = X.shape[0]
        n_val = int(np.floor(n * split))
        if n_val < 1 or n - n_val < 1:
            raise ValueError(
                f"validation_split={split} leaves no samples for "
                f"{'validation' if n_val < 1 else 'training'} with {n} samples."
            )
        return slice(0, n - n_val), slice(n - n_val, n)

    def _device_scope(self):
        """Context manager placing training and inference on a device."""
        import contextlib

        return contextlib.nullcontext()

    # ------------------------------------------------------------------ checks
    def _builder(self, params):
        builder = params.get("model")
        if builder is None:
            builder = params.get("build_fn")
        if builder is None:
            builder = self._default_builder()
        if builder is None:
            raise ValueError(
                f"{type(self).__name__} needs a model: pass a keras.Model or a function "
                "that builds one as `model`."
            )
        if not (isinstance(builder, keras.Model) or callable(builder)):
            raise TypeError(
                f"model must be a keras.Model or a callable returning one, "
                f"got {type(builder).__name__}."
            )
        return builder

    def _check_params(self, params, fit_kwargs):
        """Validate every routed and extra parameter name, before TensorFlow runs."""
        known = self._signature_params()
        for key in params:
            check_prefix(key, known)
        builder = self._builder(params)
        model_kwargs = routed(params, "model")
        extras = {k: v for k, v in self._kwargs.items() if "__" not in k}
        if isinstance(builder, keras.Model):
            if model_kwargs or extras:
                unused = [f"model__{k}" for k in model_kwargs] + list(extras)
                raise ValueError(
                    f"Parameters {unused} have nowhere to go: `model` is a keras.Model "
                    "instance, not a function that builds one."
                )
        else:
            self._builder_kwargs(builder, params, model_kwargs, extras, None, None, dry=True)
        objects.check_optimizer(params["optimizer"], routed(params, "optimizer"))
        objects.check_loss(params["loss"], routed(params, "loss"))
        objects.check_metrics(params["metrics"], routed(params, "metrics"))
        objects.check_callbacks(params["callbacks"], routed(params, "callbacks"))
        check_kwargs(keras.Model.fit, routed(params, "fit"), "fit")
        check_kwargs(keras.Model.fit, fit_kwargs, "fit")
        check_kwargs(keras.Model.predict, routed(params, "predict"), "predict")
        check_kwargs(keras.Model.compile, routed(params, "compile"), "compile")
        for where, kwargs in (("fit__", routed(params, "fit")), ("", fit_kwargs)):
            for key in sorted(kwargs.keys() & _REFUSED_FIT_KWARGS.keys()):
                raise ValueError(
                    f"Invalid fit parameter {where}{key}: {_REFUSED_FIT_KWARGS[key]}."
                )
        split = params["validation_split"]
        if not (isinstance(split, (int, float)) and 0.0 <= split < 1.0):
            raise ValueError(f"validation_split must be a float in [0, 1), got {split!r}.")
        for name in ("epochs", "batch_size", "validation_batch_size"):
            value = fit_kwargs.get(name, routed(params, "fit").get(name, params.get(name)))
            if value is not None and not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ValueError(f"{name} must be a positive int, got {value!r}.")

    def _builder_kwargs(self, builder, params, model_kwargs, extras, meta, compile_kwargs, dry=False):
        names, var_kw = accepted_kwargs(builder)
        sig = inspect.signature(builder)
        special = {"meta": meta, "compile_kwargs": compile_kwargs, "params": params}
        kwargs, used = {}, set()
        for name in names:
            if name in special:
                kwargs[name] = special[name]
            elif name in model_kwargs:
                kwargs[name] = model_kwargs[name]
            elif name in params and name not in ("model", "build_fn"):
                kwargs[name] = params[name]
            elif sig.parameters[name].default is inspect.Parameter.empty:
                raise TypeError(
                    f"The model builder {getattr(builder, '__name__', builder)!r} needs "
                    f"argument {name!r}: pass it to the estimator as {name}=... or "
                    f"model__{name}=..."
                )
            used.add(name)
        if var_kw:
            # As in scikeras, ``**kwargs`` also receives meta, compile_kwargs and params.
            kwargs.update({k: v for k, v in special.items() if k not in kwargs})
            kwargs.update({k: v for k, v in model_kwargs.items() if k not in kwargs})
            kwargs.update({k: v for k, v in extras.items() if k not in kwargs})
            return kwargs
        builder_name = getattr(builder, "__name__", type(builder).__name__)
        for key in model_kwargs:
            if key not in used:
                raise ValueError(
                    f"Invalid parameter model__{key}: the model builder {builder_name!r} "
                    f"does not take {key!r}.{suggest(key, names)}"
                )
        for key in extras:
            if key not in used:
                candidates = (names - set(_BUILDER_SPECIAL)) | self._signature_params()
                raise ValueError(
                    f"Invalid parameter {key!r}: the model builder {builder_name!r} does "
                    f"not take it and {type(self).__name__} has no such parameter."
                    + suggest(key, candidates)
                )
        return kwargs

    # -------------------------------------------------------------------- data
    def _validate_X_y(self, X, y, reset):
        X, y = validate_data(
            self, X, y, reset=reset, dtype=(np.float32, np.float64), allow_nd=True,
            multi_output=True, y_numeric=self._y_numeric,
        )
        if reset:
            self.X_shape_ = X.shape
            self.X_dtype_ = X.dtype
        else:
            self._check_X_shape(X)
        return X, y

    def _check_X_shape(self, X):
        if tuple(X.shape[1:]) != tuple(self.X_shape_[1:]):
            raise ValueError(
                f"X has shape {X.shape[1:]} per sample, but {type(self).__name__} was "
                f"fitted with {tuple(self.X_shape_[1:])}."
            )

    def _validate_X(self, X):
        check_is_fitted(self)
        if self._plain_float_array(X):
            return X
        plain = self._plain_float_frame(X)
        if plain is not None:
            return plain
        X = validate_data(self, X, reset=False, dtype=(np.float32, np.float64), allow_nd=True)
        self._check_X_shape(X)
        return X

    def _passes_checks(self, X):
        """Whether the ndarray X is float, shaped as in fit and finite: every
        check ``validate_data`` would make, at a fraction of its cost."""
        return (
            X.dtype in (np.float32, np.float64)
            and X.shape[1:] == tuple(self.X_shape_[1:])
            and X.shape[0] > 0
            and X.ndim >= 2
            and bool(np.isfinite(X).all())
        )

    def _plain_float_array(self, X):
        """Whether X is a float ndarray that needs no conversion and passes every
        check ``validate_data`` would make (the common case of predicting on a
        few rows, where validation would cost more than the network)."""
        return (
            type(X) is np.ndarray
            and not hasattr(self, "feature_names_in_")
            and self._passes_checks(X)
        )

    def _plain_float_frame(self, X):
        """X as an array when it is a DataFrame of float columns named exactly as
        in fit, that passes every check ``validate_data`` would make; else None.
        (Feature-name checks would cost more than the network on a few rows.)"""
        names = self.__dict__.get("feature_names_in_")
        if names is None or not isinstance(X, pd.DataFrame) or X.shape[1] != len(names):
            return None
        if any(a != b for a, b in zip(X.columns, names)):
            return None
        if any(dtype not in (np.float32, np.float64) for dtype in X.dtypes):
            return None
        array = X.to_numpy()
        return array if self._passes_checks(array) else None

    def _sample_weight(self, X, y, sample_weight):
        sw = check_sample_weight(sample_weight, X, ensure_non_negative=True)
        total = sw.sum()
        if not total > 0:
            raise ValueError("sample_weight sums to zero: no sample would be learned from.")
        return sw * (len(sw) / total)

    # --------------------------------------------------------------------- fit
    def fit(self, X, y, sample_weight=None, **kwargs):
        """Train the Keras model on (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Training data; arrays of more dimensions (images) are accepted.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Relative weights of the samples (normalised to mean 1).
        **kwargs : dict
            Passed to ``keras.Model.fit`` for this call (e.g. ``epochs``).

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, keep=self.warm_start, fit_kwargs=kwargs)

    def _partial_fit(self, X, y, sample_weight, classes, kwargs):
        kwargs = dict(kwargs)
        kwargs.setdefault("epochs", 1)
        return self._fit(X, y, sample_weight, keep=True, classes=classes, fit_kwargs=kwargs)

    def _fit(self, X, y, sample_weight, *, keep, fit_kwargs, classes=None, refresh=False):
        params = self._keras_params()
        self._check_params(params, fit_kwargs)
        reset = not (keep and self.__sklearn_is_fitted__())
        X, y = self._validate_X_y(X, y, reset)
        if reset:
            encoder = self._new_target_encoder().fit(y, classes)
            y = encoder.validate(y, warn=False)
        else:
            y = self.target_encoder_.validate(y)
            encoder = self.target_encoder_
        sw = self._sample_weight(X, y, sample_weight)
        if reset and classes is None:
            # Not for partial_fit: a batch may hold a single class of those declared.
            self._check_weighted_target(y, sw)
        fit_args = {**routed(params, "fit"), **fit_kwargs}
        seed = _runtime.seed_from_random_state(params["random_state"])
        train = not self.__dict__.get("_initializing")  # initialize() builds only
        # Held-out rows are chosen (and a split too small for the data refused)
        # before any TensorFlow work.
        split = fit_args.pop("validation_split", params["validation_split"])
        if fit_args.get("validation_data") is not None:
            split = 0.0  # as in Keras, validation_data overrides validation_split
        split_rows = self._validation_split(X, y, split, seed) if split and train else None
        _runtime.configure_threads()
        fitted_before = {k: self.__dict__[k] for k in _FIT_STATE if k in self.__dict__}
        try:
            with self._device_scope():
                if reset:
                    with _runtime.seeded_build(seed):
                        self.target_encoder_ = encoder
                        self.model_ = self._build_and_compile(params, encoder)
                    if seed is not None and not keras_layers_only(self.model_):
                        _runtime.seed_tensorflow(seed)
                    self.history_ = {}
                    self._predictor = Predictor(self.model_)
                elif refresh:
                    self._refresh_model(params, encoder, seed)
                history = {}
                if train:
                    history = self._train(
                        X, encoder.transform(y), sw, params, fit_args, seed, split_rows
                    )
        except BaseException:
            if reset or refresh:  # a failed fresh or warm fit leaves the estimator as it was
                for key in _FIT_STATE:
                    self.__dict__.pop(key, None)
                self.__dict__.update(fitted_before)
            raise
        for key, values in history.items():
            self.history_.setdefault(key, []).extend(float(v) for v in values)
        return self

    def _refresh_model(self, params, encoder, seed):
        """Rebuild ``model_`` from the current parameters (optimizer, penalty, ...)
        and carry the fitted network's state into it."""
        # Seeded as a fresh fit: layers it adds (dropout) draw reproducible seeds.
        with _runtime.seeded_build(seed):
            model = self._build_and_compile(params, encoder)
        try:
            copy_network_state(self.model_, model)
        except ValueError as exc:
            raise ValueError(
                f"warm_start=True continues the fitted network, but the current parameters "
                f"build another one ({exc}). Set warm_start=False to fit a new network."
            ) from None
        self.model_ = model
        self._predictor = Predictor(model)

    def _check_weighted_target(self, y, sw):
        """Classifiers refuse weights that leave a single class."""

    def _meta(self, encoder):
        meta = {
            "n_features_in_": self.n_features_in_,
            "X_shape_": self.X_shape_,
            "X_dtype_": self.X_dtype_,
            "target_type_": encoder.target_type_,
            "n_outputs_": encoder.n_outputs_,
            "n_outputs_expected_": encoder.n_outputs_expected_,
            "y_dtype_": encoder.y_dtype_,
            "y_ndim_": encoder.y_ndim_,
            "target_encoder_": encoder,
        }
        if hasattr(self, "feature_names_in_"):
            meta["feature_names_in_"] = self.feature_names_in_
        for key in ("classes_", "n_classes_"):
            if hasattr(encoder, key):
                meta[key] = getattr(encoder, key)
        return meta

    def _compile_kwargs(self, params, loss):
        kwargs = {
            "optimizer": objects.make_optimizer(params["optimizer"], routed(params, "optimizer")),
            "loss": objects.make_loss(loss, routed(params, "loss")) if loss is not None else None,
            "metrics": objects.make_metrics(params["metrics"], routed(params, "metrics")),
            "run_eagerly": bool(params["run_eagerly"]),
        }
        kwargs.update(routed(params, "compile"))
        return kwargs

    def _build_and_compile(self, params, encoder):
        builder = self._builder(params)
        meta = self._meta(encoder)
        for key, value in meta.items():
            if key not in ("X_shape_", "X_dtype_", "n_features_in_", "feature_names_in_", "target_encoder_"):
                setattr(self, key, value)
        compile_kwargs = self._compile_kwargs(params, params["loss"])
        if isinstance(builder, keras.Model):
            model = keras.models.clone_model(builder)
            if builder.weights:
                model.set_weights(builder.get_weights())
            if getattr(builder, "compiled", False):
                model.compile_from_config(builder.get_compile_config())
        else:
            extras = {k: v for k, v in self._kwargs.items() if "__" not in k}
            kwargs = self._builder_kwargs(
                builder, params, routed(params, "model"), extras, meta, compile_kwargs
            )
            model = builder(**kwargs)
            if not isinstance(model, keras.Model):
                raise TypeError(
                    f"The model builder {getattr(builder, '__name__', builder)!r} returned "
                    f"{type(model).__name__}, not a keras.Model."
                )
        n_units, out_dtype = self._output_spec(model)
        if not getattr(model, "compiled", False):
            loss = compile_kwargs["loss"]
            if loss is None:
                loss = encoder.default_loss(n_units)
            # A float64 network gets its loss computed in float64 too (Keras
            # losses otherwise cast predictions to floatx).
            compile_kwargs["loss"] = objects.loss_in_dtype(loss, out_dtype)
            model.compile(**compile_kwargs)
        elif model.loss is None and not _computes_own_loss(model):
            raise ValueError(
                "The model was compiled without a loss. Pass loss=... to the estimator "
                "(compile_kwargs['loss'] is None until it is set) or compile with a loss."
            )
        _check_loss_dtypes(model)
        encoder.configure(n_units, model.loss, out_dtype)
        return model

    def _output_spec(self, model):
        """(number of output units, output dtype name) of a one-output model."""
        try:
            outputs = model.outputs
        except (AttributeError, ValueError):
            outputs = None
        if not outputs:
            sample = np.zeros((1,) + tuple(self.X_shape_[1:]), dtype="float32")
            outputs = model(sample)
            outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        if len(outputs) != 1:
            raise ValueError(
                f"The model has {len(outputs)} outputs; keraslearn estimators take a model "
                "with one output tensor."
            )
        dtype = getattr(outputs[0].dtype, "name", outputs[0].dtype)
        return int(outputs[0].shape[-1]), str(dtype)

    def _train(self, X, y, sw, params, fit_args, seed, split_rows=None):
        batch_size = fit_args.pop("batch_size", None) or params["batch_size"] or 32
        epochs = fit_args.pop("epochs", params["epochs"])
        shuffle = fit_args.pop("shuffle", params["shuffle"])
        verbose = fit_args.pop("verbose", params["verbose"])
        val_batch = fit_args.pop("validation_batch_size", None) or params["validation_batch_size"] or batch_size
        callbacks = objects.make_callbacks(
            fit_args.pop("callbacks", params["callbacks"]), routed(params, "callbacks")
        ) + self._fit_callbacks(params)
        x_dtype = self._get_predictor().x_dtype
        if fit_args.get("validation_data") is not None:
            fit_args["validation_data"] = self._validation_data(
                fit_args["validation_data"], val_batch, x_dtype
            )
        if split_rows is not None:
            train_idx, val_idx = split_rows
            train_part = (X[train_idx], y[train_idx], sw[train_idx])
            fit_args["validation_data"] = make_dataset(
                X[val_idx], y[val_idx], sw[val_idx], batch_size=val_batch,
                shuffle=False, seed=None, x_dtype=x_dtype,
            )
        else:
            train_part = (X, y, sw)
        with _runtime.tensorflow_seed(seed if shuffle else None):
            train = make_dataset(
                *train_part, batch_size=batch_size, shuffle=shuffle, seed=seed, x_dtype=x_dtype
            )
        # The dataset is already shuffled per epoch (seeded); Keras must not try.
        # Seeded fits of models with layers of their own train the model itself
        # (see fit_model).
        share = seed is None or keras_layers_only(self.model_)
        return fit_model(
            self.model_, train, share=share, epochs=epochs, verbose=verbose,
            callbacks=callbacks, shuffle=False, **fit_args
        )

    def _validation_data(self, data, batch_size, x_dtype):
        """``validation_data=(X, y[, sample_weight])`` checked and encoded as y is."""
        if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
            return data  # a tf.data.Dataset: the user encoded it
        X_val = self._validate_X(data[0])
        y_val = self.target_encoder_.validate(data[1])
        sw = data[2] if len(data) == 3 else None
        sw = check_sample_weight(sw, X_val, ensure_non_negative=True)
        if len(y_val) != len(X_val):
            raise ValueError(
                f"validation_data has {len(X_val)} samples in X but {len(y_val)} in y."
            )
        return make_dataset(
            X_val, self.target_encoder_.transform(y_val), sw, batch_size=batch_size,
            shuffle=False, seed=None, x_dtype=x_dtype,
        )

    # ----------------------------------------------------------------- predict
    def _get_predictor(self):
        predictor = self.__dict__.get("_predictor")
        if predictor is None:  # unpickled: the traced function is not carried over
            predictor = self._predictor = Predictor(self.model_)
        return predictor

    def _raw_predict(self, X):
        X = self._validate_X(X)
        predictor = self._get_predictor()
        kwargs = self._predict_kwargs()
        with self._device_scope():
            if set(kwargs) - {"batch_size"}:
                kwargs.setdefault("verbose", 0)
                return np.asarray(self.model_.predict(X, **kwargs))
            return predictor(X, kwargs.get("batch_size"))

    def initialize(self, X, y):
        """Build the model for (X, y) without training it (scikeras' ``initialize``)."""
        # A flag rather than an argument: subclasses override _fit and call super().
        self._initializing = True
        try:
            return self._fit(X, y, None, keep=False, fit_kwargs={})
        finally:
            del self._initializing

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.non_deterministic = False
        return tags

