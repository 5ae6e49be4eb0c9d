"""Each fit settled once: what the parameters say (:class:`TrainingSettings`)
and what this fit will do with this data (:class:`FitPlan`).

Both are immutable and made before TensorFlow runs. An estimator family says
what its parameters mean in Keras' words (``_training_settings``); the engine
turns those settings and the validated data into the plan; building, feeding
and training only read the plan.
"""

import dataclasses
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from ..utils._validation import check_positive_int

# How a fit treats the network it may already have.
NEW = "new"  # build a new network
CONTINUE = "continue"  # train the fitted network further
REBUILD = "rebuild"  # build from the current parameters, carrying the fitted state over

EMPTY = types.MappingProxyType({})


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """What an estimator's parameters say about training, in Keras' words.

    ``batch_size`` may be a function of the number of training rows (the
    ready networks' ``"auto"``), or -1 for all of them in one batch;
    ``validation_split`` is a fraction held out from the training rows,
    ``validation_data`` data given instead.
    ``keras_fit_kwargs`` are further ``keras.Model.fit`` arguments
    (``initial_epoch``, ...), ``callbacks`` the user's callback instances,
    ``estimator_callbacks`` those of them made from the estimator's own
    ``callbacks`` parameter (None where fit's replaced them), which a wrapper
    keeps for its predictions (as scikeras: one instance per fit).
    """

    epochs: int
    batch_size: Any = None
    validation_batch_size: int | None = None
    shuffle: bool = True
    verbose: int = 0
    random_state: Any = None
    validation_split: float = 0.0
    validation_data: Any = None
    callbacks: tuple = ()
    keras_fit_kwargs: Any = dataclasses.field(default_factory=lambda: EMPTY)
    warm_start_rebuilds: bool = False  # a warm start rebuilds from the current parameters
    target_encoding: str = "auto"
    estimator_callbacks: tuple | None = None


@dataclasses.dataclass(frozen=True)
class FitPlan:
    """Every decision of one fit.

    ``network`` is NEW, CONTINUE or REBUILD. ``train_rows`` and
    ``validation_rows`` index the validated training data (None: all rows, or
    no held-out rows); ``keras_validation`` says whether Keras evaluates the
    held-out rows after each epoch (False when a callback of the estimator
    scores them itself). ``callbacks`` are the user's and the estimator's own,
    in the order Keras calls them. ``progress`` is this fit's copy of the
    state a stopping rule carries across warm-started fits (the estimator
    keeps it only if the fit succeeds). ``sample`` is (shape, dtype) of one
    sample the network takes (:func:`_build.network_sample`).
    """

    mode: str  # "fit", "warm", "partial", "initialize" or "initialized"
    network: str
    train: bool
    epochs: int
    batch_size: int
    validation_batch_size: int
    shuffle: bool
    verbose: int
    seed: int | None
    n_train: int
    weight_mean: float
    train_rows: Any = None
    validation_rows: Any = None
    keras_validation: bool = True
    validation_data: Any = None
    callbacks: tuple = ()
    keras_fit_kwargs: Any = dataclasses.field(default_factory=lambda: EMPTY)
    target_encoding: str = "auto"
    progress: Any = None
    estimator_callbacks: tuple | None = None
    sample: Any = (None, None)

    @property
    def fresh_history(self):
        """Whether ``history_`` starts anew (else this fit's epochs extend it)."""
        return self.network == NEW or self.mode == "initialized"

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def choose_network(mode, fitted, settings):
    """NEW, CONTINUE or REBUILD for a fit in ``mode``: "fit", "warm" (warm
    start), "partial", "initialize" (build only) or "initialized" (train the
    network ``initialize`` just built, as a fresh fit)."""
    if not fitted or mode in ("fit", "initialize"):
        return NEW
    if mode == "warm" and settings.warm_start_rebuilds:
        return REBUILD
    return CONTINUE


def epochs_trained(est):
    """The epochs an estimator's fits have trained (``history_``'s), 0 unfitted:
    its longest record, which is ``loss`` unless a model's own ``train_step``
    names its loss otherwise."""
    return max(map(len, est.__dict__.get("history_", {}).values()), default=0)


def numbered_on(kwargs, est):
    """A ``partial_fit``'s Keras fit arguments ``kwargs`` with its epochs numbered
    on from those ``est`` trained (Keras' ``initial_epoch``), as scikeras numbers
    them, so that callbacks (a schedule, TensorBoard, CSVLogger) go on. An
    ``initial_epoch`` given to the call is refused, one routed to every fit
    (``fit__initial_epoch``) replaced: it would make ``epochs`` Keras' absolute
    end, so that ``partial_fit`` trained nothing."""
    if "initial_epoch" in kwargs:
        raise TypeError(
            "partial_fit() trains from the number of epochs already trained "
            "(len(history_['loss']): Keras' initial_epoch) and takes no initial_epoch; "
            "epochs= says how many epochs it trains.")
    check_positive_int(kwargs["epochs"], "epochs", none=False)  # (as given: the sum is Keras')
    trained = epochs_trained(est)
    return {**kwargs, "epochs": trained + kwargs["epochs"], "initial_epoch": trained}


def last_rows_split(n, fraction):
    """Keras' ``validation_split``: the last ``fraction`` of the rows, counted
    as Keras counts them (it trains on ``floor(n * (1 - fraction))`` rows)."""
    split_at = int(np.floor(n * (1.0 - fraction)))
    if split_at < 1 or split_at >= n:
        raise ValueError(
            f"validation_split={fraction} leaves no samples for "
            f"{'validation' if split_at >= n else 'training'} with {n} samples."
        )
    return slice(0, split_at), slice(split_at, n)


def make_plan(settings, *, mode, fitted, y, n_samples, weight_mean, seed,
              split: Callable, progress=None, sample=(None, None)):
    """The plan of a fit from the settings and the validated data.

    ``split(y, n, fraction, seed)`` chooses the held-out rows (an estimator
    family's rule: the last rows for Keras' ``validation_split``, a stratified
    random split for the ready networks' ``validation_fraction``).
    """
    train = mode != "initialize"
    validation_data = settings.validation_data
    fraction = 0.0 if validation_data is not None else settings.validation_split
    train_rows = validation_rows = None
    n_train = n_samples
    if train and fraction:
        train_rows, validation_rows = split(y, n_samples, fraction, seed)
        n_train = count_rows(train_rows, n_samples)
    batch_size = settings.batch_size
    if callable(batch_size):
        batch_size = batch_size(n_train)
    # -1, as in scikeras: all the rows in one batch.
    batch_size = n_train if batch_size == -1 else (batch_size or 32)
    validation_batch_size = settings.validation_batch_size or batch_size
    if validation_batch_size == -1:
        held_out = n_samples - n_train if train_rows is not None else n_samples
        validation_batch_size = max(1, held_out)
    epochs = settings.epochs
    return FitPlan(
        mode=mode,
        network=choose_network(mode, fitted, settings),
        train=train,
        epochs=epochs,
        batch_size=int(batch_size),
        validation_batch_size=int(validation_batch_size),
        shuffle=bool(settings.shuffle),
        verbose=int(settings.verbose),
        seed=seed,
        n_train=n_train,
        weight_mean=weight_mean,
        train_rows=train_rows,
        validation_rows=validation_rows,
        validation_data=validation_data,
        callbacks=tuple(settings.callbacks),
        keras_fit_kwargs=types.MappingProxyType({  # (NumPy's ints, a search's: Keras' int)
            key: int(value) if isinstance(value, np.integer) else value
            for key, value in settings.keras_fit_kwargs.items()}),
        target_encoding=settings.target_encoding,
        progress=progress,
        estimator_callbacks=settings.estimator_callbacks,
        sample=sample,
    )


def count_rows(rows, n):
    """How many of ``n`` rows a slice or an index array selects."""
    if isinstance(rows, slice):
        return len(range(*rows.indices(n)))
    return len(rows)
