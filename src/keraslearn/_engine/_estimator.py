"""KerasEstimator: the fit and predict every keraslearn estimator runs.

A fit reads in the order the data flows::

    settings = self._training_settings(...)     # parameters, in Keras' words
    data     = training_data(self, X, y, ...)    # validate, encode targets, weights
    plan     = make_plan(settings, data, ...)    # every decision of this fit
    model    = self._network(plan, data, ...)    # build, continue or rebuild
    history  = train(self, model, data, plan)    # feed and train
    self._commit(...)                            # fitted attributes, all at once

inside :func:`restore_on_failure`, so that a failed or interrupted fit leaves the
estimator as it was. The network is built and trained where the ``device`` and
``distribute`` parameters say (:class:`Placement`, ``_distribute.py``), checked first;
prediction runs on ``device`` (``_devices.py``), or, for a few rows and a network of
known layers on the CPU, in NumPy (``_forward.py``).
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.preprocessing import FunctionTransformer

from .. import _config, _keras_fit, _random, _tf
from .._persistence import _state as _saved
from .._stacklevel import user_stacklevel
from .._tf import keras, tf
from ..utils import check_kwargs
from ..utils._names import history_names, history_value
from . import _compiled_loss as compiled_loss
from . import _kernel_cache, _layers
from . import _nested as nested
from . import _targets as targets
from ._build import check_continued, computes_own_loss, finish_network, make_meta, network_sample
from ._cloning import clone_of, without_networks
from ._data import float_overflow, model_inputs, ready_for_training, training_data
from ._devices import device_scope, resolve_device
from ._distribute import placement
from ._forward import forget, forward_of, hand_out, might_take
from ._layers import keras_layers_only
from ._model_copy import check_trainable_unchanged, continue_into
from ._plan import CONTINUE, NEW, REBUILD, choose_network, last_rows_split, make_plan, numbered_on
from ._predict import Predictor
from ._train import tell_starting, train
from ._transaction import restore_on_failure


class KerasEstimator(BaseEstimator):
    """The engine of every keraslearn estimator (not for direct use).

    A family defines ``_check_parameters``, ``_training_settings`` and ``_build_network``;
    a classifier or regressor behaviour defines the target encoder and how predictions
    are read. See the module docstring.
    """

    _requires_y = True  # whether fit needs a y (classifiers, regressors)
    _y_numeric = False
    # Whether keraslearn builds the network itself from the parameters (no code
    # of the user's can hold it): its small predictions may then take the NumPy
    # path of ``_forward`` from a snapshot of its weights, read once, not at every call.
    _private_network = False
    # Whether a batch's loss is its weighted mean (scikit-learn's MLP), not its sum (Keras).
    _weights_per_batch = False
    # Keras callbacks given to fit (and partial_fit) may be routed by scikit-learn's
    # metadata routing, once requested: ``set_fit_request(callbacks=True)``.
    __metadata_request__fit = {"callbacks": None}

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
        return targets.IdentityTargetEncoder()

    @property
    def target_encoder(self):
        """A new transformer of targets: y -> what the model trains on, and its
        outputs back (``inverse_transform``). Override it with any scikit-learn
        transformer (scikeras' interface); its ``get_metadata()`` joins ``meta``."""
        return self._new_target_encoder()

    @property
    def feature_encoder(self):
        """A new transformer of features: X -> what the model takes (X itself by
        default). Override it, e.g. to split X into arrays for several inputs."""
        return FunctionTransformer()

    def _input_source(self, X, reset):
        """X as the engine reads it: X itself, or a row source read batch by batch
        (``_sources``; image file paths). ``reset``: for a fit that starts anew."""
        return X

    def _prepare_training_data(self, X, y, reset):
        """Family checks of validated data before encoding (flattening (n, 1) y)."""
        return X, y

    def _training_weights(self, y, sample_weight, classes=None):
        """The sample weights as the user means them (times class weights)."""
        return sample_weight

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

    def _loss_from_parameters(self):
        """The loss the parameters compile a network with, where the estimator
        has a loss parameter (see ``_compiled_loss``); None otherwise."""
        return None

    def _carried_progress(self, continuing):
        """This fit's copy of the training state a warm-started fit continues
        (stopping rules); None when the family keeps none."""
        return None

    def _fitted_attributes(self, plan, history):
        """Attributes the family sets once a fit has succeeded."""
        return {}

    def _placement(self):
        """Where this fit runs: the ``device`` and ``distribute`` parameters,
        checked (TypeError or ValueError before TensorFlow trains)."""
        return placement(getattr(self, "device", None), getattr(self, "distribute", None))

    def _device_scope(self):
        """Where inference runs: ``device``, or the ``"auto"`` device where this
        process does not have it (a model fitted on another machine)."""
        return device_scope(getattr(self, "device", None), strict=False)

    # ------------------------------------------------------------------ fit
    def __sklearn_is_fitted__(self):
        return "model_" in self.__dict__

    @property
    def model_(self):
        """The fitted Keras network. Reading it hands the network out: its weights
        may change outside keraslearn from then on, so predictions of a few rows
        read them at every call, not a NumPy snapshot (see ``set_config``)."""
        try:
            model = self.__dict__["model_"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute 'model_'") from None
        hand_out(model)
        return model

    @model_.setter
    def model_(self, model):
        # Only user code sets it (keraslearn writes __dict__): the user holds it.
        hand_out(model)
        self.__dict__["model_"] = model
        self.__dict__.pop("_predictor", None)  # it calls the network it was made for

    def _fit(self, X, y, sample_weight, *, mode, fit_kwargs=None, classes=None):
        """Fit in one of the modes "fit", "warm" (warm_start), "partial",
        "initialize" (build only) or "initialized" (train what ``initialize``
        built, as a fresh fit: see BaseWrapper._initialize)."""
        try:
            with restore_on_failure(self) as snapshot:
                _saved.resolve_parameters(self)  # a loaded estimator's builder, if need be
                fit_kwargs = dict(fit_kwargs or {})
                self._check_parameters(fit_kwargs)
                where = self._placement()
                settings = self._training_settings(fit_kwargs)
                fitted = self.__sklearn_is_fitted__()
                continuing = fitted and mode in ("warm", "partial", "initialized")
                in_place = choose_network(mode, fitted, settings) == CONTINUE
                forget(self.__dict__.get("model_"))  # this fit may change its weights
                data = training_data(self, X, y, sample_weight, reset=not continuing,
                                     classes=classes, as_given=mode == "partial")
                randomness = _random.fit_randomness(settings.random_state)  # (data checked)
                plan = make_plan(
                    settings, sample=network_sample(self, data), mode=mode, fitted=fitted, y=data.y,
                    weight_mean=data.weight_mean, seed=randomness.split_seed,
                    split=self._validation_split, progress=self._carried_progress(continuing),
                    n_samples=nested.n_rows(data.X))  # (its encoded X checked first)
                data, plan = ready_for_training(self, data, plan)
                plan = where.evenly_split(self._complete_plan(plan, data), auto=(
                    settings.batch_size is None or getattr(self, "batch_size", None) == "auto"))
                _tf.configure_threads()
                if in_place:  # made ready (see _continued_network) and saved, off any strategy
                    with tf.device(where.device):
                        snapshot.protect(self._continued_network(plan, data, snapshot))
                elif fitted:  # saved too: a builder may reuse (and reset) its layers
                    snapshot.hold(self.__dict__["model_"])
                with where.scope():
                    model, encoder = self._network(plan, data, randomness, where)
                    snapshot.protect_shared(model)
                    # told that it starts, and if it fails (before training, or after)
                    snapshot.callbacks = tell_starting(plan.callbacks)
                    history = (train(self, model, data, plan, encoder, randomness, where)
                               if plan.train else {})
                model = where.settled(model, data.X)
                self._commit(plan, data, model, encoder, history)
            after = self.__dict__.pop("_warning_after_fit", None)  # the fit is kept
        finally:  # a fit that built a network may be due to release TensorFlow's
            _kernel_cache.release_if_due()  # kernel cache (see _engine/_kernel_cache)
        if after is not None:
            warnings.warn(*after, stacklevel=user_stacklevel())
        return self

    def _network(self, plan, data, randomness, where=None):
        """The network this fit trains, and the target encoder configured for it."""
        encoder = data.encoder
        if plan.network == CONTINUE:  # made ready by _fit (_continued_network)
            current = self.__dict__["model_"]
            return (current if where is None else where.continued(
                current, data.X, partial=plan.mode == "partial")), encoder
        with randomness.building():
            meta = make_meta(self, encoder, data)
            model, compile_kwargs = self._build_network(meta, plan)
            # the model the user gave to initialize() is used as it is
            model = self._finish(model, compile_kwargs, encoder, plan, meta, compile=not (
                plan.mode == "initialize" and getattr(self, "model", None) is model))
        _kernel_cache.network_built()
        if data.y is None and getattr(model, "loss", None) is not None and not (
                computes_own_loss(model)):
            raise ValueError(
                "fit(X) without y trains a model that computes its own loss from X (layers "
                "calling add_loss, loss=None), but this model is compiled with a loss, which "
                "needs targets. Give y (fit(X, X) for an autoencoder), or loss=None."
            )
        if plan.network == NEW:
            randomness.settle(own_random_ops=not keras_layers_only(model))
        elif plan.network == REBUILD:
            continue_into(self, model, partial=plan.mode == "partial")
        return model, encoder

    def _continued_network(self, plan, data, snapshot):
        """The fitted network, ready to be trained further."""
        current = self.__dict__["model_"]
        check_trainable_unchanged(self, current)
        compiled_loss.before_continuing(self, current)  # a loaded network's loss
        check_continued(current, data.encoder)  # (a compile of the user's since)
        if self.__dict__.pop("_compile_anew", False) or not getattr(current, "compiled", False):
            # The model initialize() took as it was: compiled to be trained, as a model a builder
            # returns uncompiled is (anew by the next fit, if this one fails), with the compile
            snapshot.restore_as("_compile_anew", True)  # settings of now (wrappers/_continued)
            self.__dict__["_compiled_now"] = True
            self._finish(current, self._compile_kwargs(), data.encoder, plan,
                         make_meta(self, data.encoder, data), anew=True)
        return current

    def _finish(self, model, compile_kwargs, encoder, plan, meta, **options):
        return finish_network(
            model, compile_kwargs, encoder, sample_shape=plan.sample[0],
            sample_dtype=plan.sample[1], encoding=plan.target_encoding,
            needs_rows=not isinstance(encoder, targets.IdentityTargetEncoder),
            expected_outputs=meta.get("n_outputs_expected_"), **options)

    def _partial_fit_kwargs(self, kwargs):  # Keras' fit arguments: one epoch, numbered on
        return numbered_on({"epochs": 1, **kwargs}, self)

    def _compile_kwargs(self):
        """``keras.Model.compile`` arguments the parameters give (none by default)."""
        return {}

    def _commit(self, plan, data, model, encoder, history):
        """Set every fitted attribute of a successful fit."""
        previous = {} if plan.fresh_history else self.history_
        merged = {k: list(v) for k, v in previous.items()}
        outputs = _layers.output_keys(model)  # (a dict of outputs' keys)
        for key, name in history_names(history, outputs).items():
            # Keys as scikeras names them: "mae" -> "mean_absolute_error".
            merged.setdefault(name, []).extend(map(history_value, history[key]))
        attributes = {
            "model_": model,
            "target_encoder_": encoder,
            "feature_encoder_": data.features if data.features is not None else (
                self.__dict__.get("feature_encoder_")),
            "history_": merged, "_trainable": _layers.trainable_positions(model),
            "_validated_epochs": _keras_fit.validated_epochs(  # (for curves)
                None if plan.fresh_history else self.__dict__, history, plan.keras_fit_kwargs),
        }
        for key in ("target_type_", "n_outputs_", "n_outputs_expected_", "y_dtype_", "y_ndim_",
                    "classes_", "n_classes_"):
            if hasattr(encoder, key):
                attributes[key] = getattr(encoder, key)
        # What the encoders learnt (scikeras sets it on the estimator too).
        attributes.update(data.metadata)
        predictor = self.__dict__.get("_predictor")
        forget(model)
        for stale in (compiled_loss.SAVED, "_compile_anew"):  # its network compiled, or new
            self.__dict__.pop(stale, None)
        self.__dict__.update(attributes)
        if plan.network != CONTINUE or predictor is None or predictor.model is not model:
            self._predictor = Predictor(model)
        self.__dict__.update(self._fitted_attributes(plan, history))

    # -------------------------------------------------------------- predict
    def _get_predictor(self):
        predictor = self.__dict__.get("_predictor")
        if predictor is None:  # unpickled: the traced function is not carried over
            predictor = self._predictor = Predictor(self.__dict__["model_"])
        return predictor

    def _predict_kwargs(self):
        """``keras.Model.predict`` arguments (routed ``predict__`` parameters)."""
        return {}

    def _prediction_callbacks(self):
        """Callbacks whose ``on_predict_*`` hooks run around a prediction."""
        return []

    def _raw_predict(self, X, **call_kwargs):
        """The network's outputs for X, validated as in fit. ``call_kwargs``:
        ``keras.Model.predict`` arguments for this call only (the wrappers'
        ``predict(X, **kwargs)``, as scikeras takes them)."""
        if call_kwargs:
            check_kwargs(keras.Model.predict, call_kwargs, None, strict=True)
        X = model_inputs(self, X)
        # before the network (a sigmoid output would hide infinities as 0 or 1); NaN unchecked
        # (assume_finite) reaches a user's network, which may take it; model_ would hand it out
        overflow = float_overflow(X, self.__dict__["model_"], self._private_network,
                                  self.__dict__.get("feature_encoder_"))
        if overflow is not None:
            raise ValueError(overflow)
        return self._network_outputs(X, call_kwargs)

    def _network_outputs(self, X, call_kwargs):
        kwargs = {**self._predict_kwargs(), **call_kwargs}
        given = kwargs.pop("callbacks", None)  # replacing the estimator's, as in scikeras
        callbacks = self._prediction_callbacks() if given is None else list(given)
        forward = self._small_forward(X, kwargs, callbacks)
        if forward is not None:
            return forward(X)
        if kwargs.get("batch_size") == -1:  # as in scikeras: every row in one batch
            kwargs = {**kwargs, "batch_size": max(1, nested.n_rows(X))}
        with self._device_scope(), _tf.expected_retracing():
            if set(kwargs) - {"batch_size"}:
                kwargs.setdefault("verbose", 0)
                return np.asarray(self.model_.predict(X, callbacks=callbacks, **kwargs))
            if not callbacks:
                return self._get_predictor()(X, kwargs.get("batch_size"))
            # Callbacks get a batch hook per chunk, as Keras' predict per batch.
            hooks = keras.callbacks.CallbackList(callbacks, model=self.model_)
            return self._get_predictor()(X, kwargs.get("batch_size"), hooks=hooks)

    def _small_forward(self, X, kwargs, callbacks):
        """The NumPy forward pass that predicts X, or None for TensorFlow:
        a few rows of a float ndarray or scipy sparse rows, no prediction
        callbacks or Keras arguments, a network known to ``_forward`` on the
        CPU (a private one from its snapshot, any other read at this call)."""
        if (callbacks or set(kwargs) - {"batch_size"}
                or not might_take(X)
                or getattr(self, "distribute", None) is not None
                or not _config.get_config()["fast_small_predictions"]
                or "CPU" not in resolve_device(getattr(self, "device", None), strict=False)):
            return None
        forward = forward_of(self.__dict__["model_"], self._private_network)
        return forward if forward is not None and forward.accepts(X) else None

    def __getstate__(self):
        # A copy (the default is the live __dict__), less what predict makes again.
        state = {k: v for k, v in super().__getstate__().items()
                 if k not in ("_predictor", "_predict_callbacks")}
        if "callbacks" in state:  # a fit's network and open files are not the parameter
            state["callbacks"] = without_networks(state["callbacks"])
        if "_kwargs" in state:  # nor are they routed ones' (fit__callbacks)
            state["_kwargs"] = {k: without_networks(v) for k, v in state["_kwargs"].items()}
        state = compiled_loss.carried(self, state, saving=_saved.saving_now())
        # keraslearn.save stores the networks as .keras files and code by name.
        return _saved.portable_state(self, _layers.with_trainable_flags(state))

    def __setstate__(self, state):
        super().__setstate__(compiled_loss.restore(_saved.restored_state(self, state)))
        if "model_" in self.__dict__ and not _saved.loading_now():  # (load counts its own)
            _kernel_cache.network_built()  # unpickled, deep-copied: a network made again
            _kernel_cache.release_if_due()
        _layers.restore_trainable_flags(self.__dict__)
        _layers.own_optimizer(self.__dict__.get("model_"), unless_known=True)  # (loaded)
        compiled_loss.compile_loaded(self)

    def __sklearn_clone__(self):
        return clone_of(self, BaseEstimator.__sklearn_clone__)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.required = self._requires_y
        tags.input_tags.sparse = getattr(self, "_takes_sparse", True)
        tags.non_deterministic = False
        return tags
