"""ReadyNetwork: what the ready networks share over the engine -- parameter checks,
the stopping rule and its state, the stratified held-out rows and the optimizer
built from scikit-learn's names (``device`` and ``distribute``: the engine's).

The ready estimators (:class:`MLPClassifier`, :class:`MLPRegressor`,
:class:`ImageClassifier`) build their own network, so they have no ``model``
parameter and no routed parameters: their constructor names every parameter,
and :meth:`_training_settings` says what they mean in Keras' words.
"""

import itertools
import math
import random
from numbers import Real

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from .._engine import KerasEstimator, TrainingSettings
from .._engine import _keras_callbacks as keras_callbacks
from .._engine import _keras_objects as objects
from .._engine._plan import REBUILD
from .._tf import keras
from ..utils import accepted_kwargs, suggest, validate_parameters
from ._callbacks import NoImprovementStopping, PlateauLearningRate, warn_16_bit_floatx
from ._continued import RebuiltToContinue
from ._pixels import eight_bit_top, warn_at_fit
from ._refusals import RefusedInItsOwnName


def _target_quantiles(y, n_val):
    """Strata of a single-output regression target: up to 10 bins between its
    quantiles, at least 2 rows each (None when y cannot be stratified).

    Held out at random, a few dozen rows can have a mean far from the
    training rows': the validation R² of a network that has learnt something
    is then still negative, and early stopping ends the fit before it has
    learnt anything. Rows drawn from each range of y in proportion keep the
    held-out targets spread as the training targets are.
    """
    y = np.asarray(y)
    if y.ndim > 1 and (y.ndim > 2 or y.shape[1] != 1):
        return None
    y = y.ravel()
    n_bins = min(10, n_val // 2)
    if n_bins < 2:
        return None
    edges = np.quantile(y, np.linspace(0, 1, n_bins + 1)[1:-1])
    strata = np.searchsorted(edges, y, side="right")
    _, counts = np.unique(strata, return_counts=True)
    if len(counts) < 2 or counts.min() < 2:
        return None
    return strata


class ReadyNetwork(RefusedInItsOwnName, RebuiltToContinue, KerasEstimator):
    """Shared implementation of the ready networks (not for direct use).

    Subclasses define ``__init__``, ``_parameter_constraints``, ``_epochs``,
    ``_batch_size``, ``_keras_build_fn``, ``_optimizer_spec`` and
    ``_stopping_monitor``.
    """

    _fitted_properties = ()
    # Warn like scikit-learn's MLP when max_iter epochs ran without converging.
    _warn_max_iter = False
    # A warm start's y holds every fitted class, as in scikit-learn (see _engine/_data).
    _warm_start_needs_every_class = True

    def __getattr__(self, name):
        # A fitted property (coefs_, ...) read before fit lands here: say so.
        if name in type(self)._fitted_properties and "model_" not in self.__dict__:
            check_is_fitted(self)
        hidden = next((vars(k)[name] for k in type(self).__mro__ if name in vars(k)), None)
        if hasattr(hidden, "__get__"):  # a refusing descriptor (available_if's): its reason
            hidden.__get__(self, type(self))
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @staticmethod
    def _layer_seeds(plan):
        """Seeds of the network's initializers and random layers, in the order
        the builder asks for them: drawn from the fit's seed by a generator of
        their own (None each for an unseeded fit). Keras draws a seed left out
        from Python's global generator, which another thread may draw from
        while the network is built (a Dask worker's does): a seeded fit would
        then not repeat."""
        if plan.seed is None:
            return itertools.repeat(None)
        rng = random.Random(plan.seed)
        return (rng.randrange(1, 2**31 - 1) for _ in itertools.count())

    # ------------------------------------------------------------- fitting
    # Keyword arguments fit takes beyond (X, y, sample_weight).
    _fit_params = ("callbacks",)
    _weights_per_batch = True  # each batch's loss divided by its total weight

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Train the network on (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values: class labels or label indicators for a classifier,
            real values for a regressor.

        sample_weight : array-like of shape (n_samples,), default=None
            Relative weights of the samples. Each batch's loss is the sum of
            its weighted sample losses divided by the batch's total weight,
            as in scikit-learn's MLP. An MLP's L2 penalty is divided by a full
            batch's mean total weight (scikit-learn: by the batch's own): the
            same for unweighted rows in full batches, while an epoch's last,
            shorter batch is penalised as a full one (see ``alpha``).

        **fit_params : dict
            ``callbacks``: Keras callbacks (instances or classes) for this
            fit only, used instead of the ``callbacks`` parameter.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._check_fit_params(fit_params, "fit")
        return self._fit(X, y, sample_weight, mode="warm" if self.warm_start else "fit",
                         fit_kwargs=fit_params)

    # Whether float or integer X in the range of 8-bit pixel values (as
    # keras.utils.img_to_array and image_dataset_from_directory give) is warned
    # about too: images only.
    _warns_wide_pixels = False

    def initialize(self, X, y):
        """Build the network for (X, y) without training it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Data the network is built for.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets the network is built for.

        Returns
        -------
        self : object
            The estimator, with an untrained ``model_``.
        """
        return self._fit(X, y, None, mode="initialize")

    def _fit(self, X, y, sample_weight, *, mode, fit_kwargs=None, classes=None):
        wide = self._warns_wide_pixels
        warn_16_bit_floatx(self, continued=mode == "partial" and self.__sklearn_is_fitted__())
        eight_bit = (eight_bit_top(X, wide=wide) is not None if mode == "initialize"
                     else warn_at_fit(self, X, wide=wide))
        if mode == "partial":
            self._check_fit_params({k: v for k, v in (fit_kwargs or {}).items()
                                    if k not in ("epochs", "initial_epoch")}, "partial_fit")
        if mode == "partial" and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True.")
        fitted = super()._fit(X, y, sample_weight, mode=mode, fit_kwargs=fit_kwargs,
                              classes=classes)
        if mode != "partial" or "_fitted_on_8bit" not in self.__dict__:
            self._fitted_on_8bit = eight_bit  # what predict's X is compared with
        return fitted

    # ------------------------------------------------------------- checks
    def _check_parameters(self, fit_kwargs):
        validate_parameters(self, self._parameter_constraints)
        self._check_extra_params()
        keras_callbacks.check_callbacks(self._user_callbacks(fit_kwargs), {})
        if fit_kwargs.get("callbacks") is not None:  # they replace the parameter's (warned)
            keras_callbacks.replaced_callbacks(self, self.callbacks)

    def _user_callbacks(self, fit_kwargs):
        """The callbacks of this fit: fit's ``callbacks`` if given, else the parameter."""
        return keras_callbacks.chosen(fit_kwargs.get("callbacks"), self.callbacks)

    def _check_extra_params(self):
        """Checks beyond ``_parameter_constraints`` (subclasses extend it)."""
        if self.early_stopping and self.validation_fraction == 0:
            raise ValueError(
                "early_stopping holds out validation_fraction of the training data to "
                "score, but validation_fraction=0: the validation set is too small. Give "
                "a fraction in (0, 1), or early_stopping=False.")
        plateau = self.reduce_lr_on_plateau
        optimizer = getattr(self, "optimizer", None)
        if optimizer is not None:  # (None: the solver's)
            objects.check_optimizer(optimizer, {})
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # (loss scaling)
        if plateau not in (False, None) and isinstance(optimizer, keras.optimizers.Optimizer) \
                and isinstance(optimizer.get_config().get("learning_rate"), dict):
            raise ValueError(  # (Keras' callback failed once it fired: "not settable")
                "reduce_lr_on_plateau sets the learning rate, but the optimizer's learning "
                "rate is a schedule, which sets it itself: give one or the other "
                "(reduce_lr_on_plateau=False, or a constant learning rate).")
        if isinstance(plateau, dict):
            names, _ = accepted_kwargs(keras.callbacks.ReduceLROnPlateau.__init__)
            for key in plateau:
                if key not in names:
                    raise ValueError(
                        f"reduce_lr_on_plateau has an unknown key {key!r}: "
                        f"keras.callbacks.ReduceLROnPlateau takes {sorted(names)}."
                        + suggest(key, names))

    def _dtype(self):  # None: floatx, but float32 for a 16-bit one (as dtype takes no such)
        return self.dtype or ("float64" if keras.config.floatx() == "float64" else "float32")

    # --------------------------------------------------------- the plan
    def _training_settings(self, fit_kwargs):
        return TrainingSettings(
            epochs=fit_kwargs.get("epochs", self._epochs()),
            batch_size=self._batch_size,
            shuffle=self._shuffle(),
            verbose=self._keras_verbose(),
            random_state=self.random_state,
            validation_split=float(self.validation_fraction) if self.early_stopping else 0.0,
            callbacks=tuple(keras_callbacks.make_callbacks(self._user_callbacks(fit_kwargs), {})),
            keras_fit_kwargs={k: v for k, v in fit_kwargs.items() if k == "initial_epoch"},
            warm_start_rebuilds=True,
        )

    def _shuffle(self):
        return True

    def _keras_verbose(self):
        return int(self.verbose)

    def _validation_split(self, y, n, fraction, seed):
        """A random split of at least 2 held-out rows, stratified where it can
        be: by class for single-output classifiers (scikit-learn's MLP
        stratifies binary targets), by target quantile for single-output
        regressors; else plain (a class of one row, fewer held-out rows than
        classes), as scikit-learn's MLP splits multiclass targets."""
        n_val = math.ceil(fraction * n)
        if n_val < 2 or n - n_val < 1:
            fix = ("Increase 'validation_fraction' or" if n_val < 2 else
                   "Decrease 'validation_fraction' or increase")
            raise ValueError(
                f"early_stopping with validation_fraction={fraction} holds out {n_val} of "
                f"{n} samples: the validation set is too small (it needs 2 or more) or "
                f"leaves nothing to train on. {fix} the size of your dataset."
            )
        if is_classifier(self):
            stratify = y if np.ndim(y) == 1 else None
        else:
            stratify = _target_quantiles(y, n_val)
        if seed is None:  # drawn as Keras draws its seeds (keras.utils.set_random_seed
            seed = random.getrandbits(32)  # repeats it), not from NumPy's global generator
        try:
            try:
                train, val = train_test_split(
                    np.arange(n), test_size=fraction, random_state=seed, stratify=stratify
                )
            except ValueError:
                if stratify is None:
                    raise
                train, val = train_test_split(np.arange(n), test_size=fraction,
                                              random_state=seed)
        except ValueError as exc:
            raise ValueError(
                f"early_stopping cannot hold out validation_fraction={fraction} of {n} "
                f"samples: {exc}"
            ) from None
        # Held-in rows in the split's random order when the epochs do not shuffle
        # them (as scikit-learn's MLP trains): sorted, rows ordered by class
        # (load_iris) made batches of one class each.
        return (np.sort(train) if self._shuffle() else train), np.sort(val)

    def _carried_progress(self, continuing):
        # Carried across warm-started fits, as scikit-learn's MLP does; the
        # stopping rule's best and count only while it watches the same
        # quantity (set_params may switch early_stopping between fits).
        monitor = self._stopping_monitor()[0]
        progress = {"best": -np.inf, "count": 0, "t": 0, "monitor": monitor}
        if continuing and "_progress" in self.__dict__:
            carried = dict(self._progress)
            if carried.get("monitor", monitor) != monitor:
                carried.update(best=-np.inf, count=0, monitor=monitor)
            progress.update(carried)
        progress["stopped"] = False
        return progress

    def _complete_plan(self, plan, data):
        """The user's callbacks between the estimator's: a held-out score first
        (when the family computes it itself, Keras does not evaluate the
        held-out rows), the stopping rule and learning-rate changes last."""
        scorer = self._held_out_scorer(plan, data)
        others = plan.callbacks + tuple(self._own_callbacks(plan))
        if scorer is not None:
            scorer.others = others  # (their test hooks, as Keras' evaluate calls them)
        return plan.replace(callbacks=(scorer,) + others if scorer else others,
                            keras_validation=scorer is None)

    def _held_out_scorer(self, plan, data):
        """A callback adding the validation score to the epoch's logs, or None
        to let Keras evaluate the held-out rows."""
        return None

    # scikit-learn's rule: with tol=0 a score equal to the best one resets the count.
    _ties_improve = True

    def _own_callbacks(self, plan):
        callbacks = []
        monitor, lower_is_better, restore = self._stopping_monitor()
        if monitor is not None:
            callbacks.append(NoImprovementStopping(
                monitor, lower_is_better=lower_is_better, tol=self._tol(),
                ties_improve=self._ties_improve,
                n_iter_no_change=self.n_iter_no_change, state=plan.progress,
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
            callbacks.append(PlateauLearningRate(**kwargs))
        return callbacks

    def _tol(self):
        return float(getattr(self, "tol", 0.0))  # ImageClassifier has none

    def _adaptive_learning_rate(self):
        return False

    # ------------------------------------------------------------ building
    def _build_network(self, meta, plan):
        optimizer, kwargs = self._optimizer_spec()
        if plan.network == REBUILD and plan.mode == "partial":  # partial_fit goes on with
            optimizer, kwargs = self.__dict__["model_"].optimizer, {}  # the fitted optimizer
        compile_kwargs = {
            "optimizer": objects.make_optimizer(optimizer, kwargs),
            "loss": self._keras_loss(meta),
            # Computed in 32 or 64 bits whatever the global policy: Keras' loss
            # scaling (under mixed_float16) gains nothing, and its files drop it.
            "auto_scale_loss": False,
        }
        compile_kwargs.update(self._compile_extras())
        return self._keras_build_fn(meta, plan), compile_kwargs

    def _keras_loss(self, meta):
        return None  # chosen from the target by the engine

    def _compile_extras(self):
        return {}

    def _optimizer_and_kwargs(self, default, learning_rate, default_kwargs=None):
        """The optimizer to compile with and its arguments: a name or class gets
        ``learning_rate``; an instance is used as configured. Numbers are given
        to Keras as Python floats, which its optimizers require (an int or
        NumPy float passes scikit-learn's checks)."""
        learning_rate = float(learning_rate)
        default_kwargs = {k: float(v) if isinstance(v, Real) and not isinstance(v, bool) else v
                          for k, v in (default_kwargs or {}).items()}
        if self.optimizer is None:
            return default, {"learning_rate": learning_rate, **default_kwargs}
        return self.optimizer, ({"learning_rate": learning_rate} if isinstance(
            self.optimizer, (str, type)) else {})

    # ------------------------------------------------------------- results
    def _fitted_attributes(self, plan, history):
        n_iter = len(history.get("loss", []))
        attributes = {
            "loss_curve_": list(self.history_.get("loss", [])),
            "n_iter_": n_iter,
            "_progress": plan.progress,
        }
        attributes.update(self._family_attributes(plan, n_iter))
        if (self._warn_max_iter and plan.mode != "partial" and plan.train
                and n_iter == plan.epochs and not plan.progress["stopped"]):
            # scikit-learn's words, so that its users' warning filters apply; given
            # once the fit is kept (a filter raising it leaves the estimator fitted)
            attributes["_warning_after_fit"] = (
                f"Stochastic Optimizer: Maximum iterations ({plan.epochs}) reached and the "
                "optimization hasn't converged yet.", ConvergenceWarning)
        return attributes

    def _family_attributes(self, plan, n_iter):
        """Fitted attributes of a subclass (``t_``, ``coefs_`` sources, ...)."""
        return {}

    def _dense_layers(self):
        check_is_fitted(self)
        # Not through model_, which hands the network out: the layers stay inside.
        network = self.__dict__["model_"]
        return [layer for layer in network.layers if isinstance(layer, keras.layers.Dense)]
