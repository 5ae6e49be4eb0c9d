"""BaseWrapper: any Keras model as a scikit-learn estimator, its outputs as
they are. KerasClassifier and KerasRegressor add a target behaviour to it."""

from .._engine import KerasEstimator, TrainingSettings
from .._engine._build import check_input_shape
from .._engine._data import is_identity
from .._engine._inputs import validate_training_data
from .._engine._keras_callbacks import make_callbacks
from .._engine._keras_objects import make_loss
from .._engine._label_encoder import as_array
from .._engine._model_copy import copy_model
from .._engine._plan import epochs_trained
from .._engine._transaction import restore_on_failure
from .._tf import keras
from ..utils import accepted_kwargs
from . import _predict_callbacks as predict_callbacks
from ._builder import build_with, compile_kwargs, hold, loss_checked_against, resolve_builder
from ._checks import (
    check_batch_size,
    check_wrapper_parameters,
    keras_verbosity,
    with_validation_arrays,
    without_routed_callbacks,
)
from ._continued import built_with
from ._docstrings import fill_doc
from ._params import RoutedParams
from ._routing import routed


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
    # X may be a dict of arrays (a MultiInput) for a model with named inputs.
    _takes_named_inputs = True
    # partial_fit and warm starts take X of a dtype the first fit's casts to
    # safely, as in scikeras.
    _same_dtype_to_continue = True
    # Integer and boolean X reach the model as given, as in scikeras (ids).
    _keeps_integer_X = True
    # Keras' fit arguments that routing may pass (requested by the user:
    # set_fit_request(validation_data=True)), as it passes callbacks.
    __metadata_request__partial_fit = {"callbacks": None, "validation_data": None}
    __metadata_request__fit = {"validation_data": None}

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

    @property
    def current_epoch(self):
        """The number of epochs trained so far (0 before ``fit``), as in scikeras."""
        return epochs_trained(self)

    @property
    def initialized_(self):
        """Whether the estimator holds a model (after ``fit`` or ``initialize``)."""
        return self.__sklearn_is_fitted__()

    # ------------------------------------------------------------------ fit
    @fill_doc
    def fit(self, X, y=None, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None, **kwargs):
        """Train the Keras model on (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Training data; arrays of more dimensions (images) are accepted.
            Integer and boolean X (pandas' nullable ``Int64`` and ``boolean``
            columns too) reach the model as given (``X_dtype_``); other X as
            float32, or float64 as given.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets (required by classifiers and regressors).

        sample_weight : array-like of shape (n_samples,), default=None
            Relative weights of the samples (normalised to mean 1).

        {validation_arrays}

        **kwargs : dict
            Passed to ``keras.Model.fit`` for this call (e.g. ``epochs``);
            ``callbacks`` given here replace the estimator's for it (warned).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        kwargs = with_validation_arrays(self, kwargs, y, X_val, y_val, sample_weight_val)
        if self.warm_start and self.__sklearn_is_fitted__():
            return self._fit(X, y, sample_weight, mode="warm", fit_kwargs=kwargs)
        if type(self)._initialize is not BaseWrapper._initialize:
            # A subclass's own _initialize builds more (scikeras' autoencoder tutorial).
            with restore_on_failure(self):
                # A keras.Model given as model is copied, as fit copies it.
                self.__dict__["_initialize_a_copy"] = True
                try:
                    X, y = self._initialize(X, y)
                finally:
                    self.__dict__.pop("_initialize_a_copy", None)
                return self._fit(X, y, sample_weight, mode="initialized", fit_kwargs=kwargs)
        return self._fit(X, y, sample_weight, mode="fit", fit_kwargs=kwargs)

    def partial_fit(self, X, y=None, sample_weight=None, **kwargs):
        """Train for one epoch, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples, taken as given (``fit`` scales its own to a
            mean of 1), so that weights keep their ratios across calls.

        **kwargs : dict
            Passed to ``keras.Model.fit`` for this call.

        Returns
        -------
        self : object
            The updated estimator.

        Notes
        -----
        As in scikeras, the epoch continues from ``current_epoch``: Keras' fit
        runs with ``initial_epoch=current_epoch``, so that callbacks (a
        learning-rate schedule) see the epochs count on from call to call.
        """
        return self._fit(X, y, sample_weight, mode="partial",
                         fit_kwargs=self._partial_fit_kwargs(kwargs))

    def initialize(self, X, y=None):
        """Build the model for (X, y) without training it (scikeras' ``initialize``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Data the model is built for.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets the model is built for.

        Returns
        -------
        self : object
            The estimator, with an untrained ``model_``.
        """
        self._initialize(X, y)
        return self

    def _initialize(self, X, y=None):
        """Build the model for (X, y) and return them validated, as scikeras'
        ``_initialize``: a subclass may extend it (``X, y =
        super()._initialize(X, y)``) to build more, and ``fit`` then runs it."""
        self._fit(X, y, None, mode="initialize")
        return validate_training_data(self, X, y, reset=False, y_numeric=self._y_numeric)

    @staticmethod
    def scorer(y_true, y_pred, **kwargs):
        """The score ``score`` reports (scikeras' hook: override it in a subclass).

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.

        y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Predictions.

        **kwargs : dict
            ``sample_weight`` (None when ``score`` got none, as scikeras passes
            it, unless the scorer does not take it) and the routed ``score__``
            parameters.

        Returns
        -------
        score : float
            The score; BaseWrapper has none and raises NotImplementedError.
        """
        raise NotImplementedError("BaseWrapper has no score: subclass it and define "
                                  "scorer(y_true, y_pred, **kwargs).")

    def score(self, X, y, sample_weight=None):
        """``scorer(y, predict(X))``: accuracy for classifiers, R² for regressors,
        or a subclass's own ``scorer``, with the routed ``score__`` parameters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Samples.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.

        Returns
        -------
        score : float
            The score.
        """
        y_pred = self.predict(X)
        kwargs = routed(self.__dict__.get("_kwargs", {}), "score")
        names, var_kw = accepted_kwargs(self.scorer)
        if sample_weight is not None or var_kw or "sample_weight" in names:
            kwargs["sample_weight"] = sample_weight  # None too, as scikeras passes it
        return self.scorer(as_array(y), y_pred, **kwargs)

    @fill_doc
    def predict(self, X, **kwargs):
        """The model's outputs for X, decoded by ``target_encoder_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Samples, shaped as in fit.

        {predict_kwargs}

        Returns
        -------
        outputs : ndarray of shape (n_samples, ...)
            What the model returns, passed through the target encoder's
            ``inverse_transform`` as in scikeras (the outputs as they are with
            the default encoder, or a subclass's encoder without one; a
            subclass's ``target_encoder`` decodes them).
        """
        outputs = self._raw_predict(X, **kwargs)
        decode = getattr(self.target_encoder_, "inverse_transform", None)
        return outputs if decode is None else decode(outputs)

    # -------------------------------------------------------- engine hooks
    def _check_parameters(self, fit_kwargs):
        """Validate every routed and extra parameter name, before TensorFlow runs."""
        check_wrapper_parameters(self, fit_kwargs)

    def _training_settings(self, fit_kwargs):
        params = self.get_params(deep=False)
        fit_args = routed(params, "fit")
        if fit_kwargs.get("callbacks") is not None:  # given to fit: they replace the estimator's
            own, callbacks = None, make_callbacks(fit_kwargs["callbacks"], {})
        else:  # the estimator's callbacks, then those for fit only
            own = make_callbacks(params["callbacks"], routed(params, "callbacks"))
            callbacks = own + make_callbacks(
                fit_args.get("callbacks"), routed(fit_args, "callbacks"), "fit__callbacks")
        args = {**without_routed_callbacks(fit_args), **fit_kwargs}
        args.pop("callbacks", None)
        return TrainingSettings(
            epochs=args.pop("epochs", params["epochs"]),
            batch_size=args.pop("batch_size", None) or params["batch_size"],
            validation_batch_size=(args.pop("validation_batch_size", None)
                                   or params["validation_batch_size"]),
            shuffle=args.pop("shuffle", params["shuffle"]),
            verbose=keras_verbosity(args.pop("verbose", params["verbose"])),
            random_state=params["random_state"],
            validation_split=args.pop("validation_split", params["validation_split"]),
            validation_data=args.pop("validation_data", None),
            callbacks=tuple(callbacks),
            estimator_callbacks=None if own is None else tuple(own),
            keras_fit_kwargs=args,
            target_encoding=params.get("target_encoding", "auto"),
        )

    def _compile_kwargs(self):
        return compile_kwargs(self.get_params(deep=False))

    def _loss_from_parameters(self):
        params = self.get_params(deep=False)
        return None if params["loss"] is None else make_loss(params["loss"], routed(params, "loss"))

    def _build_network(self, meta, plan):
        params = self.get_params(deep=False)
        # Set before the builder runs, as scikeras sets it, so that a builder
        # method of a subclass reads this fit's (a failed fit puts it back).
        self.__dict__.update((key, value) for key, value in meta.items() if key not in params)
        meta = {**self._get_metadata(), **meta}  # (and what a subclass set or adds)
        builder = resolve_builder(self, params)
        compile_args = compile_kwargs(params)
        if isinstance(builder, keras.Model):
            # As in scikeras: initialize() takes the model itself (a pretrained
            # network, predicting as it is); fit trains a copy.
            model = builder if plan.mode == "initialize" and not self.__dict__.get(
                "_initialize_a_copy") else copy_model(builder)
        else:
            model = build_with(self, builder, params, meta, compile_args)
        check_input_shape(model, plan.sample[0], not is_identity(meta["feature_encoder_"]))
        return model, loss_checked_against(self, model, compile_args)

    def _network_outputs(self, X, call_kwargs):  # (fitted: X was read for model_)
        check_batch_size(call_kwargs.get("batch_size"), "batch_size")  # this call's
        return super()._network_outputs(X, call_kwargs)

    def _predict_kwargs(self):
        # Read without get_params, which is slow for a one-row predict; the batch
        # size checked here, as set_params may route one after the fit.
        kwargs = without_routed_callbacks(routed(self.__dict__.get("_kwargs", {}), "predict"))
        check_batch_size(kwargs.get("batch_size"), "predict__batch_size")
        return kwargs

    def _fitted_attributes(self, plan, history):
        attributes = super()._fitted_attributes(plan, history)
        if plan.train:  # (a builder returning it again is refused; initialize() trains not)
            hold(self.__dict__["model_"])
        attributes["_predict_callbacks"] = predict_callbacks.made_at_fit(
            self, plan.estimator_callbacks)
        return {**attributes, **built_with(self, plan)}

    def _prediction_callbacks(self):
        return predict_callbacks.for_predict(self, self.__dict__.get("_predict_callbacks"))
