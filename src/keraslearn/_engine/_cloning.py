"""Cloning a keraslearn estimator (``__sklearn_clone__``): scikit-learn's clone,
with loss objects shared rather than copied and callbacks copied without the
network a fit left on them."""

import contextlib
import copy
import csv
import io
import types

from .._tf import keras, tf
from . import _nested as nested
from ._keras_objects import map_leaves
from ._layers import keras_own, set_trainable_flags, trainable_flags


class Shared:
    """A parameter value ``copy.deepcopy`` (as ``sklearn.base.clone`` copies a
    parameter that is not an estimator) passes on as it is."""

    def __init__(self, value):
        self.value = value

    def __deepcopy__(self, memo):
        return self


def shared_losses(value):
    """``value`` with each loss object wrapped in :class:`Shared` (None when
    it holds none)."""
    if not any(isinstance(leaf, keras.losses.Loss) for leaf in nested.leaves(value)):
        return None
    return map_leaves(lambda leaf: Shared(leaf) if isinstance(leaf, keras.losses.Loss)
                      else leaf, value)


def unshared(value):
    """``value`` with each :class:`Shared` replaced by what it holds."""
    return map_leaves(lambda leaf: leaf.value if isinstance(leaf, Shared) else leaf, value)


class Remade:
    """A metric or optimizer of an unregistered class of the user's, which
    ``copy.deepcopy`` copies as Keras copies a registered one (made again
    from its config), from its class itself: Keras cannot find the class
    from the config's name."""

    def __init__(self, value):
        self.value = value

    def __deepcopy__(self, memo):
        cls = type(self.value)
        try:
            return cls.from_config(self.value.get_config())
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"clone makes the {cls.__name__} instance again from its get_config(), as "
                f"Keras copies one ({type(exc).__name__}: {exc}): its get_config must give "
                "every argument its __init__ takes.") from exc


def _unregistered_object(leaf, kinds=(keras.metrics.Metric, keras.optimizers.Optimizer)):
    if not isinstance(leaf, kinds) or keras_own(leaf):
        return False
    name = keras.saving.get_registered_name(type(leaf))
    return keras.saving.get_registered_object(name) is not type(leaf)


def unregistered_parameters(est):
    """The class names of the metrics, optimizers and losses of unregistered
    classes ``est``'s parameters hold (Keras pickles them by their config)."""
    values = [getattr(est, name, None) for name in ("metrics", "optimizer", "loss")]
    values += list((est.__dict__.get("_kwargs") or {}).values())
    kinds = (keras.metrics.Metric, keras.optimizers.Optimizer, keras.losses.Loss)
    return sorted({type(leaf).__name__ for value in values for leaf in nested.leaves(value)
                   if _unregistered_object(leaf, kinds)})


def remade(value):
    """``value`` (a parameter) with each metric or optimizer of an
    unregistered class in :class:`Remade`; None when it holds none."""
    if not any(map(_unregistered_object, nested.leaves(value))):
        return None
    return map_leaves(lambda leaf: Remade(leaf) if _unregistered_object(leaf) else leaf, value)


def _keras_callbacks(callbacks):
    return [leaf for leaf in nested.leaves(callbacks)
            if isinstance(leaf, keras.callbacks.Callback)]


def _is_run_handle(value):
    """A file, a module, a CSV writer, TensorBoard's summary writers (alone or
    by name), or the contexts a callback entered and has not left yet (those a
    fit interrupted before ``on_train_end`` leaves: a list of tuples of them)."""
    if isinstance(value, (io.IOBase, types.ModuleType, csv.DictWriter)):
        return True
    if isinstance(value, list) and value:
        return all(isinstance(entry, tuple) and entry and all(
            isinstance(c, contextlib.AbstractContextManager) for c in entry) for entry in value)
    writers = list(value.values()) if isinstance(value, dict) and value else [value]
    return all(isinstance(w, tf.summary.SummaryWriter) for w in writers)


# Keras callbacks opening their handles again at each fit: subclasses too (a
# TensorBoard logging more), whose base class makes the handles.
_REOPENING = (keras.callbacks.CSVLogger, keras.callbacks.TensorBoard)


def _networks_and_run_state(callback):
    """What a fit left on ``callback`` that copies of it go without: its
    network (``model``), and on Keras' own callbacks (and subclasses of
    ``CSVLogger`` and ``TensorBoard``) the handles of a run,
    which cannot be copied and which they make again at the next fit (a
    ``CSVLogger``'s file and writer, a ``TensorBoard``'s writers, module and
    entered summary contexts)."""
    model = getattr(callback, "model", None)
    left = [model] if isinstance(model, keras.Model) else []
    if isinstance(callback, _REOPENING) or keras_own(callback):
        left += [value for value in vars(callback).values() if _is_run_handle(value)]
    return left


class WithoutNetworks:
    """Callbacks ``copy.deepcopy`` copies without the network Keras left on
    each (its ``model`` after a fit), nor the run-time state a fit left on
    Keras' own (:func:`_networks_and_run_state`): a clone is not fitted, and
    would carry a copy of the trained network into every candidate of a search."""

    def __init__(self, value):
        self.value = value

    def __deepcopy__(self, memo):
        for callback in _keras_callbacks(self.value):
            for left in _networks_and_run_state(callback):
                memo[id(left)] = [] if isinstance(left, list) else None  # a list: appended to
        return copy.deepcopy(self.value, memo)


def holds_networks(callbacks):
    """Whether a callbacks parameter holds a callback Keras left a network or
    run-time state on (see :class:`WithoutNetworks`)."""
    return any(_networks_and_run_state(callback) for callback in _keras_callbacks(callbacks))


def without_networks(callbacks):
    """A copy of a callbacks parameter without networks or run-time state."""
    return copy.deepcopy(WithoutNetworks(callbacks)) if holds_networks(callbacks) else callbacks


def clone_of(est, clone):
    """``clone(est)`` (scikit-learn's clone) with loss objects shared, not
    copied, callbacks (the ``callbacks`` parameter, and a wrapper's routed
    ones: ``fit__callbacks``, ...) copied without the network a fit left on
    them, and a ``keras.Model`` parameter's copy frozen where it is (Keras
    copies a subclassed model from its ``__init__`` arguments).

    Losses hold no state, and Keras copies one through its config, which may
    leave settings out (Huber's delta) or name a class it cannot find (one not
    registered). A metric or optimizer of an unregistered class of the user's
    is made again from its config with its class (Keras' copy needs the class
    registered). ``clone`` runs on a stand-in whose parameters
    ``copy.deepcopy`` (as scikit-learn's clone copies them) copies so.
    """
    made = _clone_of(est, clone)
    for name, value in est.get_params(deep=False).items():
        copied = getattr(made, name, None)
        if isinstance(value, keras.Model) and isinstance(copied, keras.Model):
            set_trainable_flags(copied, trainable_flags(value))
    return made


def _for_copy(value):
    """A parameter's value as :func:`clone_of` copies it (itself when as is)."""
    value = WithoutNetworks(value) if holds_networks(value) else value
    return remade(value) or value


def _clone_of(est, clone):
    shared = shared_losses(getattr(est, "loss", None))
    own = {name: _for_copy(getattr(est, name)) for name in ("callbacks", "metrics", "optimizer")
           if hasattr(est, name)}
    routed = est.__dict__.get("_kwargs") or {}  # a wrapper's fit__callbacks, ...
    kwargs = {key: _for_copy(value) for key, value in routed.items()}
    changed = {name: value for name, value in own.items() if value is not getattr(est, name)}
    if any(kwargs[key] is not routed[key] for key in routed):
        changed["_kwargs"] = kwargs
    if shared is None and not changed:
        return clone(est)
    stand_in = object.__new__(type(est))
    stand_in.__dict__.update(est.__dict__)
    stand_in.__dict__.update(changed)
    if shared is None:
        return clone(stand_in)
    stand_in.__dict__["loss"] = shared
    made = clone(stand_in)
    return made.set_params(loss=unshared(made.loss))
