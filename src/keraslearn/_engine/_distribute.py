"""The ``distribute`` parameter, and where one fit runs (:class:`Placement`).

Every estimator takes ``distribute``:

- ``None`` (the default): no strategy; the fit runs on ``device``;
- ``"mirrored"``: ``tf.distribute.MirroredStrategy`` over every GPU
  TensorFlow sees (on a machine without one, TensorFlow's choice: the CPU);
- a list or tuple of devices, in the forms ``device`` takes
  (``["gpu:0", "gpu:1"]``): a ``MirroredStrategy`` over exactly those;
- a callable that takes no argument and returns a ``tf.distribute.Strategy``
  (``tf.distribute.MirroredStrategy`` itself, a ``functools.partial`` of a
  strategy class, a function of your own), called at every fit. A callable
  rather than a strategy object, so that ``clone``, ``get_params`` and
  pickling treat the parameter as plain data.

A fit under a strategy:

- builds and compiles the network inside ``strategy.scope()`` (Keras records
  the strategy then) and trains it with Keras' own ``fit``, which splits each
  batch across the replicas: ``batch_size`` is the global batch, as in Keras.
  Keras averages a fit's first batch over the replicas, which fails in
  TensorFlow when they hold different numbers of rows: a batch size the
  replicas cannot share at first, or whose last batch leaves a replica
  without rows, is refused, or, where keraslearn chooses it, made a multiple
  of them that does not (:meth:`Placement.evenly_split`).
  With equal shares per replica, an update equals the one-device update up to
  float rounding (tested over two logical CPU devices). Rows are visited in
  another order when they are shuffled: Keras reads one batch before
  training under a strategy, which starts a pass of tf.data's shuffle, so a
  seeded fit that shuffles repeats itself but is not the one-device fit;
- continues a fitted network (``warm_start``, ``partial_fit``) from a copy
  of ``model_`` made inside the scope, weights and optimizer state included;
- does not use the trace cache (``_trace_cache.py``);
- ends by copying the trained network out of the strategy, under ``device``,
  into an ordinary Keras model: ``model_`` holds plain variables and belongs
  to no strategy, so it predicts on ``device``, pickles and saves as any
  model, and a later fit may use another strategy or none. Both copies go
  through Keras' own serialisation (what pickling a Keras model does); a
  network with layers of its own whose copy does not give the same outputs
  on the first training rows (a layer whose config leaves something out) is
  kept as trained instead, as is one Keras cannot serialise.
"""

import contextlib
import dataclasses
import pickle
from typing import Any

import numpy as np

from .. import _random
from .._tf import numpy_reads_of_variables, tf
from ..utils import suggest
from . import _nested as nested
from ._data import CheckedValidation
from ._devices import DEVICE_FORMS, available_devices, resolve_device
from ._layers import built_optimizer, keras_layers_only, own_optimizer
from ._plan import count_rows
from ._predict import input_kinds

# Training rows that check a copy of a network with layers of its own.
PROBE_ROWS = 8

MIRRORED = "mirrored"

# The two parameters as every estimator's docstring describes them.
PLACEMENT_DOC = """\
    device : str or None, default="auto"
        Where the network is built, trained and run: ``"auto"`` (the first
        GPU TensorFlow sees, else the CPU; None means the same), ``"cpu"``,
        ``"gpu"``, ``"gpu:N"``, or a TensorFlow device name such as
        ``"/GPU:1"``. ``fit`` raises a ValueError listing the available
        devices when this one does not exist; ``predict`` runs on
        ``"auto"`` there instead, so a fitted model predicts on any machine.

    distribute : None, "mirrored", list of str or callable, default=None
        Train under a ``tf.distribute`` strategy: ``"mirrored"`` mirrors the
        network over every GPU, a list of devices (``["gpu:0", "gpu:1"]``)
        over those, and a callable returning a ``tf.distribute.Strategy``
        (``tf.distribute.MirroredStrategy`` itself, a ``functools.partial``)
        is called at every fit. The network is built, compiled and trained
        in the strategy's scope, and ``batch_size`` is the global batch,
        split across the replicas: one whose first batch they cannot share
        evenly, or whose last leaves a replica without rows, is refused.
        ``model_`` is then copied out of the strategy onto ``device``, where
        ``predict`` runs."""

# One MirroredStrategy per set of devices in a process, shared by every fit
# that asks for it (a search makes many): "mirrored" and the list of the
# devices it mirrors over are one strategy. Two strategies reducing with
# TensorFlow's collective ops (its choice on CPU devices) cannot both run in
# one process: the second's fits abort on the first's collective instances.
# Over CPU devices the strategies reduce to one device instead.
_mirrored = {}


def _mirrored_strategy(devices):
    if devices not in _mirrored:
        strategy = tf.distribute.MirroredStrategy(
            devices=None if devices is None else list(devices))
        names = tuple(strategy.extended.worker_devices)
        if names in _mirrored:
            strategy = _mirrored[names]
        elif all("CPU" in tf.DeviceSpec.from_string(name).device_type for name in names):
            strategy = tf.distribute.MirroredStrategy(
                devices=list(names), cross_device_ops=tf.distribute.ReductionToOneDevice())
        _mirrored[devices] = _mirrored[names] = strategy
    return _mirrored[devices]


def make_strategy(distribute):
    """The ``tf.distribute.Strategy`` the ``distribute`` parameter asks for, or None.

    Raises TypeError or ValueError naming what is wrong.
    """
    if distribute is None:
        return None
    if isinstance(distribute, str):
        if distribute.strip().lower() == MIRRORED:
            available_devices()  # thread pools sized before TensorFlow starts
            return _mirrored_strategy(None)
        raise ValueError(
            f"distribute={distribute!r} is not a strategy: use None, 'mirrored', a list of "
            "devices, or a callable returning a tf.distribute.Strategy."
            + suggest(distribute, [MIRRORED])
        )
    if isinstance(distribute, (list, tuple)):
        if not distribute:
            raise ValueError("distribute=[] names no device: give one or more devices.")
        what = f"distribute={list(distribute)!r}: device"  # (the list as given)
        names = tuple(resolve_device(d, what=what) for d in distribute)
        if len(set(names)) < len(names):
            raise ValueError(f"distribute={list(distribute)!r} names a device twice.")
        return _mirrored_strategy(names)
    if callable(distribute):
        available_devices()
        strategy = distribute()
        if not isinstance(strategy, tf.distribute.Strategy):
            raise TypeError(
                f"distribute={distribute!r} returned {type(strategy).__name__}, not a "
                "tf.distribute.Strategy."
            )
        return strategy
    hint = (" A strategy itself cannot be cloned or stored with the estimator: give a "
            "function that makes it (distribute=lambda: strategy, or its class)."
            if isinstance(distribute, tf.distribute.Strategy) else "")
    raise TypeError(
        f"distribute must be None, 'mirrored', a list of devices ({DEVICE_FORMS}) or a "
        f"callable returning a tf.distribute.Strategy, got {distribute!r}.{hint}"
    )


def _serialised_copy(model):
    """A new model from Keras' own serialisation of ``model`` (architecture,
    compile settings, weights, optimizer state), created in the current
    device or strategy scope; layer seeds it draws leave the user's
    generators as they were."""
    with numpy_reads_of_variables():
        payload = pickle.dumps(model)
    with _random.generators_untouched():
        return pickle.loads(payload)


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where one fit runs: ``device`` (a canonical TensorFlow name), under
    ``strategy`` when there is one. See the module docstring."""

    device: str
    strategy: Any = None

    @property
    def cache_key(self):
        """What a warm copy of the trace cache is bound to (None: not shareable)."""
        return None if self.strategy is not None else self.device

    @contextlib.contextmanager
    def scope(self):
        """Build, compile and train here."""
        if self.strategy is None:
            with tf.device(self.device):
                yield
        elif tf.distribute.has_strategy() and tf.distribute.get_strategy() is not self.strategy:
            # (TensorFlow: "Mixing different tf.distribute.Strategy objects")
            raise ValueError(
                "This fit runs inside a tf.distribute strategy scope of your own, and "
                "distribute= gives another strategy: enter no scope (distribute= enters "
                "its own), or leave distribute=None to train in yours.")
        else:
            with self.strategy.scope():
                yield

    def evenly_split(self, plan, *, auto):
        """``plan`` with first batches the strategy's replicas share evenly.

        Keras under ``tf.distribute`` reads the first batch of a fit, and of
        its validation, averaged over the replicas, which TensorFlow cannot do
        when they hold different numbers of rows. A batch size keraslearn
        chooses (``auto``: the ready estimators' ``"auto"``, the wrappers'
        default when no ``batch_size`` is given; the held-out
        rows', which evaluation does not depend on) is made a multiple of the
        replicas; a training batch the user gave that they cannot share is
        refused (ValueError) before TensorFlow runs. So is a last training
        batch of fewer rows than replicas, which leaves a replica without rows:
        some of TensorFlow's kernels fail there (synchronized batch
        normalisation of images, oneDNN's max-pooling gradient aborts the
        process); a batch size keraslearn chooses is made one that leaves none.
        Too few rows for any batch size to do both are refused as such.
        """
        # (else the scope's: the user's own strategy, or the default one of 1 replica)
        own = self.strategy is not None
        replicas = (self.strategy if own else tf.distribute.get_strategy()).num_replicas_in_sync
        if replicas == 1 or not plan.train:
            return plan
        whose, fewer = (("distribute", "distribute=None trains on one") if own
                        else ("your strategy", "outside the scope"))
        batch, n = plan.batch_size, plan.n_train
        if not any(n % size in (0, *range(replicas, size)) for size in range(
                replicas, max(n, replicas) + 1, replicas)):  # (a few sizes, for few rows)
            raise ValueError(
                f"The {n} training rows cannot be batched so that the {replicas} replicas "
                f"of {whose} all train: every batch size leaves a first batch they cannot "
                f"share evenly or a last one of fewer than {replicas} rows. Train on more "
                f"rows, or on fewer devices ({fewer}).")
        first = min(batch, n)
        if auto and first % replicas and first > replicas:
            batch = first = first // replicas * replicas
        if first % replicas:
            raise ValueError(
                f"The first training batch holds {first} rows (batch_size={batch}, "
                f"{n} training rows), which the {replicas} replicas of "
                f"{whose} cannot share evenly: Keras under tf.distribute fails on it. "
                f"Give a batch_size that is a multiple of {replicas}, at most the number "
                "of training rows.")
        while auto and batch > replicas and 0 < n % batch < replicas:
            batch -= replicas
        if batch < n and 0 < n % batch < replicas:
            split = plan.train_rows is not None  # (rows held out by the estimator)
            raise ValueError(
                f"The last training batch holds {n % batch} row(s) (batch_size={batch}, {n} "
                f"training rows{', those the held-out split leaves' * split}), fewer than the "
                f"{replicas} replicas of {whose}: one would train on no rows, where some of "
                "TensorFlow's kernels fail. Give a batch_size that leaves no last batch of "
                f"under {replicas} rows" + (", or hold out another fraction "
                "(validation_fraction, validation_split)." if split else "."))
        n_val = _held_out_rows(plan)
        val_batch = min(plan.validation_batch_size, n_val or 1)
        if n_val and val_batch % replicas:
            if n_val < replicas:
                raise ValueError(
                    f"The {n_val} held-out row(s) cannot be shared by the {replicas} "
                    f"replicas of {whose}: hold out more rows.")
            val_batch = val_batch // replicas * replicas or replicas
        return plan.replace(batch_size=batch, validation_batch_size=val_batch)

    def continued(self, model, X, partial=False):
        """The fitted ``model`` to train further, in this placement; ``X`` is the
        training data, whose first rows check the copy (of a ``partial`` fit)."""
        if self.strategy is None:
            return model
        how = ("fit it anew" if partial else "set warm_start=False to fit a new network")
        why = ("A fit under `distribute` continues the fitted network from a copy made "
               "under the strategy, and ")
        try:
            with tf.device(self.device):
                built_optimizer(model)
            with self.strategy.scope():
                copy = _serialised_copy(model)
        except Exception as exc:  # noqa: BLE001 - any model Keras cannot serialise
            said = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:300]
            raise ValueError(
                f"{why}Keras could not copy this one ({said}). Register the functions and "
                "layers of your own with keras.saving.register_keras_serializable, or "
                f"{how}.") from None
        # (judged where the network's own outputs repeat: not a Monte Carlo dropout's)
        repeats, copied = (True, True) if keras_layers_only(model) else _agree(
            model, (model, copy), X)
        if repeats and not copied:
            raise ValueError(  # (a layer holding state its config does not give)
                f"{why}Keras' copy of this one computes otherwise than it (a layer of your "
                f"own keeping state its get_config does not give): {how}.")
        return copy

    def settled(self, model, X):
        """The trained ``model`` as the estimator keeps it: under a strategy,
        a copy with plain variables on ``device`` (see the module docstring);
        ``X`` is the training data, whose first rows check the copy."""
        if self.strategy is None:
            return model
        try:
            with self.strategy.scope():
                built_optimizer(model)
            with tf.device(self.device):
                plain = _serialised_copy(model)
        except Exception:  # noqa: BLE001 - kept as trained
            return model
        if keras_layers_only(model) or _agree(model, (plain,), X)[0]:
            own_optimizer(plain)  # (Keras built the copy's for it)
            return plain
        return model


def _held_out_rows(plan):
    """How many rows Keras evaluates after each epoch of ``plan`` (None: none,
    or a dataset of the user's). ``validation_data=(X, y[, w])`` is checked
    before the plan is split (``_data.ready_for_training``)."""
    if plan.validation_rows is not None and plan.keras_validation:
        rows = plan.validation_rows  # a slice of held-out rows ends at the last row
        return count_rows(rows, getattr(rows, "stop", None))
    given = plan.validation_data  # of a fit that trains: checked (X as the model takes it)
    if isinstance(given, CheckedValidation):
        return nested.n_rows(given[0])
    return None


def _agree(model, others, X):
    """For each of ``others``, whether its outputs on the first rows of ``X``
    are ``model``'s, computed once (all False where they cannot be computed:
    what cannot be checked is not trusted)."""
    try:
        X = nested.normalise(X)
        x = nested.map_pairs(lambda a, kind: kind.tensor(a),
                             nested.take(X, slice(0, PROBE_ROWS)), input_kinds(model, X))
        a = tf.nest.flatten(model(x, training=False))
        outputs = [tf.nest.flatten(other(x, training=False)) for other in others]
    except Exception:  # noqa: BLE001 - what cannot be checked is not trusted
        return [False] * len(others)
    return [len(a) == len(b) and all(
        np.allclose(np.asarray(u), np.asarray(v), rtol=1e-5, atol=1e-7, equal_nan=True)
        for u, v in zip(a, b)) for b in outputs]


def placement(device, distribute):
    """The :class:`Placement` of a fit for these parameter values (checked:
    TypeError or ValueError before TensorFlow trains)."""
    strategy = make_strategy(distribute)
    return Placement(resolve_device(device), strategy)
