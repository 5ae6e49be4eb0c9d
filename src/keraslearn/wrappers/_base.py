"""BaseWrapper: any Keras model as a scikit-learn estimator, its outputs as
they are. KerasClassifier and KerasRegressor add a target behaviour to it."""

import inspect

import numpy as np

from .._engine import KerasEstimator, TrainingSettings
from .._engine import _keras_objects as objects
from .._engine._targets import TARGET_ENCODINGS
from .._tf import keras
from ..utils import check_kwargs, suggest
from ._docstrings import fill_doc
from ._params import RoutedParams
from ._routing import builder_names, check_prefix, routed, unknown_name_error

# What the builder may receive besides its own parameters.
_BUILDER_SPECIAL = ("meta", "compile_kwargs", "params")

# Model.fit arguments the estimator supplies itself, and where to give them instead.
_REFUSED_FIT_KWARGS = {
    "x": "pass the data as fit(X, y)",
    "y": "pass the data as fit(X, y)",
    "sample_weight": "pass it as fit(X, y, sample_weight=...)",
    "class_weight": "use the classifier's class_weight parameter",
}

# What fit sets on the estimator before the builder runs, as scikeras does, so
# that a builder method of a subclass may read it.
_META_ATTRIBUTES = ("target_type_", "n_outputs_", "n_outputs_expected_", "y_dtype_",
                    "y_ndim_", "classes_", "n_classes_")


@fill_doc
class BaseWrapper(RoutedParams, KerasEstimator):
    """A Keras model as a scikit-learn estimator whose predictions are the
    model's outputs as they are (scikeras' ``BaseWrapper``).

    Use it for models that are neither a classifier nor a regressor, such as
    autoencoders; ``fit(X)`` without y suits a model that computes its loss
    from X alone, and ``fit(X, X)`` an autoencoder trained to rebuild X.

    Parameters
    ----------
    {model}

    {fit_parameters}

    {training_parameters}

    {placement}

    {kwargs}

    Attributes
    ----------
    {fitted_attributes}

    See Also
    --------
    KerasClassifier : A Keras model as a classifier.
    KerasRegressor : A Keras model as a regressor.

    Examples
    --------
    >>> import keras
    >>> import numpy as np
    >>> from keraslearn.wrappers import BaseWrapper
    >>> def autoencoder(meta):
    ...     n = meta["n_features_in_"]
    ...     return keras.Sequential([keras.Input((n,)), keras.layers.Dense(2),
    ...                              keras.layers.Dense(n)])
    >>> X = np.random.default_rng(0).normal(size=(100, 4)).astype("float32")
    >>> ae = BaseWrapper(autoencoder, loss="mse", epochs=2, random_state=0).fit(X, X)
    >>> ae.predict(X[:3]).shape
    (3, 4)
    """

    _requires_y = False

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
        device="auto",
        distribute=None,
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
        self.device = device
        self.distribute = distribute
        # Builder arguments and routed parameters: parameters like the others
        # (get_params/set_params/clone), kept apart from the signature's.
        self._kwargs = dict(kwargs)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, sample_weight=None, **kwargs):
        """Train the Keras model on (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Training data; arrays of more dimensions (images) are accepted.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets (required by classifiers and regressors).

        sample_weight : array-like of shape (n_samples,), default=None
            Relative weights of the samples (normalised to mean 1).

        **kwargs : dict
            Passed to ``keras.Model.fit`` for this call (e.g. ``epochs``).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        mode = "warm" if self.warm_start else "fit"
        return self._fit(X, y, sample_weight, mode=mode, fit_kwargs=kwargs)

    def partial_fit(self, X, y=None, sample_weight=None, **kwargs):
        """Train for one epoch, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Training data.

        y : array-like of shape (n_samples, ...), default=None
            Targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Relative weights of the samples.

        **kwargs : dict
            Passed to ``keras.Model.fit`` for this call.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, mode="partial", fit_kwargs={"epochs": 1, **kwargs})

    def initialize(self, X, y=None):
        """Build the model for (X, y) without training it (scikeras' ``initialize``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Data the model is built for.

        y : array-like of shape (n_samples, ...), default=None
            Targets the model is built for.

        Returns
        -------
        self : object
            The estimator, with an untrained ``model_``.
        """
        return self._fit(X, y, None, mode="initialize")

    def predict(self, X):
        """The model's outputs for X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Samples, shaped as in fit.

        Returns
        -------
        outputs : ndarray of shape (n_samples, ...)
            What the model returns.
        """
        return self._raw_predict(X)

    # -------------------------------------------------------- engine hooks
    def _check_parameters(self, fit_kwargs):
        """Validate every routed and extra parameter name, before TensorFlow runs."""
        params = self.get_params(deep=False)
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
            self._builder_kwargs(builder, params, None, None, dry=True)
        objects.check_optimizer(params["optimizer"], routed(params, "optimizer"))
        objects.check_loss(params["loss"], routed(params, "loss"))
        objects.check_metrics(params["metrics"], routed(params, "metrics"))
        objects.check_callbacks(params["callbacks"], routed(params, "callbacks"))
        for name, func in (("fit", keras.Model.fit), ("predict", keras.Model.predict),
                           ("compile", keras.Model.compile)):
            check_kwargs(func, routed(params, name), name)
        check_kwargs(keras.Model.fit, fit_kwargs, "fit")
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
        encoding = params.get("target_encoding", "auto")
        if encoding not in TARGET_ENCODINGS:
            raise ValueError(
                f"target_encoding must be one of {TARGET_ENCODINGS}, got {encoding!r}."
                + suggest(str(encoding), TARGET_ENCODINGS)
            )

    def _training_settings(self, fit_kwargs):
        params = self.get_params(deep=False)
        args = {**routed(params, "fit"), **fit_kwargs}
        callbacks = objects.make_callbacks(
            args.pop("callbacks", params["callbacks"]), routed(params, "callbacks")
        )
        return TrainingSettings(
            epochs=args.pop("epochs", params["epochs"]),
            batch_size=args.pop("batch_size", None) or params["batch_size"],
            validation_batch_size=(args.pop("validation_batch_size", None)
                                   or params["validation_batch_size"]),
            shuffle=args.pop("shuffle", params["shuffle"]),
            verbose=args.pop("verbose", params["verbose"]),
            random_state=params["random_state"],
            validation_split=args.pop("validation_split", params["validation_split"]),
            validation_data=args.pop("validation_data", None),
            callbacks=tuple(callbacks),
            keras_fit_kwargs=args,
            target_encoding=params.get("target_encoding", "auto"),
        )

    def _build_network(self, meta, plan):
        params = self.get_params(deep=False)
        for key in _META_ATTRIBUTES:
            if key in meta:
                setattr(self, key, meta[key])
        builder = self._builder(params)
        compile_kwargs = self._compile_kwargs(params)
        if isinstance(builder, keras.Model):
            model = keras.models.clone_model(builder)
            if builder.weights:
                model.set_weights(builder.get_weights())
            if getattr(builder, "compiled", False):
                model.compile_from_config(builder.get_compile_config())
            return model, compile_kwargs
        model = builder(**self._builder_kwargs(builder, params, meta, compile_kwargs))
        if not isinstance(model, keras.Model):
            raise TypeError(
                f"The model builder {getattr(builder, '__name__', builder)!r} returned "
                f"{type(model).__name__}, not a keras.Model."
            )
        return model, compile_kwargs

    def _predict_kwargs(self):
        # Read without get_params, which is slow for a one-row predict.
        return routed(self.__dict__.get("_kwargs", {}), "predict")

    # -------------------------------------------------------------- building
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

    def _compile_kwargs(self, params):
        loss = params["loss"]
        kwargs = {
            "optimizer": objects.make_optimizer(params["optimizer"], routed(params, "optimizer")),
            "loss": objects.make_loss(loss, routed(params, "loss")) if loss is not None else None,
            "metrics": objects.make_metrics(params["metrics"], routed(params, "metrics")),
            "run_eagerly": bool(params["run_eagerly"]),
        }
        kwargs.update(routed(params, "compile"))
        return kwargs

    def _builder_kwargs(self, builder, params, meta, compile_kwargs, dry=False):
        """The arguments the builder declares, from the parameters; with
        ``dry`` only checked (names that go nowhere raise, before TensorFlow)."""
        names, var_kw = builder_names(builder)
        model_kwargs = routed(params, "model")
        extras = {k: v for k, v in self._kwargs.items() if "__" not in k}
        declared = set(inspect.signature(builder).parameters)
        special = {"meta": meta, "compile_kwargs": compile_kwargs, "params": params}
        kwargs = {name: value for name, value in special.items() if name in declared}
        for name in names:
            if name in model_kwargs:
                kwargs[name] = model_kwargs[name]
            elif name in params and name not in ("model", "build_fn"):
                kwargs[name] = params[name]
            elif inspect.signature(builder).parameters[name].default is inspect.Parameter.empty:
                raise TypeError(
                    f"The model builder {getattr(builder, '__name__', builder)!r} needs "
                    f"argument {name!r}: pass it to the estimator as {name}=... or "
                    f"model__{name}=..."
                )
        if var_kw:
            # As in scikeras, ``**kwargs`` also receives meta, compile_kwargs and params.
            kwargs.update({k: v for k, v in special.items() if k not in kwargs})
            kwargs.update({k: v for k, v in model_kwargs.items() if k not in kwargs})
            kwargs.update({k: v for k, v in extras.items() if k not in kwargs})
            return kwargs
        builder_name = getattr(builder, "__name__", type(builder).__name__)
        for key in model_kwargs:
            if key not in names:
                raise ValueError(
                    f"Invalid parameter model__{key}: the model builder {builder_name!r} "
                    f"does not take {key!r}.{suggest(key, names)}"
                )
        for key in extras:
            if key not in names:
                raise unknown_name_error(self, key, names, params["optimizer"], params["loss"])
        return kwargs
