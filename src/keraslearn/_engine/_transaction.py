"""A failed or interrupted fit leaves the estimator exactly as it was."""

import contextlib

import numpy as np

from ._forward import forget
from ._layers import (
    built_optimizer,
    compile_config,
    set_trainable_flags,
    trainable_flags,
    training_variables,
)
from ._train import tell_failed

_ABSENT = object()


class _Snapshot:
    """What a fit may change in place: the estimator's attributes, and the
    training state of a fitted network it trains further (:meth:`protect`)
    or that the network it builds shares (:meth:`protect_shared`)."""

    def __init__(self, est):
        self.est = est
        self.before = dict(est.__dict__)
        # And the contents of a wrapper's own store of routed and builder
        # parameters, put back into it: set_params writes them there in place (a
        # loaded estimator's references resolved by the fit, for one). Dicts the
        # user gave (class_weight) are the user's: never written.
        store = self.before.get("_kwargs")
        self.kwargs = dict(store) if type(store) is dict else None
        # (network, [(variable, saved value)], Keras history, its settings a
        # callback may change: the layers' trainable flags, what it was compiled
        # with) or None: set in one assignment, so that an interrupt (Ctrl-C)
        # while the values are read leaves either none or all of them to restore.
        self.saved = None
        self.held = False  # the fitted network's state, until a new one is built
        self.trained = None  # the fitted network, trained further by this fit (protect)
        self.callbacks = ()  # told when the fit fails (see _train.tell_failed)
        # The user's RandomState given as random_state, which a fit draws its seed from.
        generator = self.before.get("random_state")
        self.generator = ((generator, generator.get_state())
                          if isinstance(generator, np.random.RandomState) else None)

    def protect(self, model):
        """Save ``model``'s weights, optimizer state and Keras history, to be
        restored if the fit fails. Its optimizer is built first: the state a
        fit would create (Adam's moments) is then saved as it starts."""
        built_optimizer(model)
        self._save(model, training_variables(model))
        self.trained = model

    def hold(self, current):
        """Before a new network is built: save the fitted network ``current``'s
        weights and optimizer state, which a builder reusing its layers (a
        pretrained base, which it may reset; the model itself) would change,
        kept by :meth:`protect_shared` where the new network holds them."""
        self._save(current, training_variables(current))
        self.held = True

    def protect_shared(self, model):
        """Once the new network ``model`` is built: keep saved, to be restored
        if the fit fails, only the held variables that ``model`` trains too.
        A first fit (nothing held, nor protected) saves ``model``'s training
        state: its builder may have reused layers the user holds (a pretrained
        base), or a model the user compiled and trained (its optimizer's state),
        which a failed fit would leave part-trained."""
        if not self.held:
            if self.saved is None:
                self._save(model, training_variables(model))
            return
        self.held = False
        ids = {id(v) for v in training_variables(model)}
        current, values, *rest = self.saved
        kept = [(v, value) for v, value in values if id(v) in ids]
        self.saved = (current, kept, *rest) if kept else None

    def restore_as(self, name, value):
        """Have a failed fit leave attribute ``name`` set to ``value``."""
        self.before[name] = value

    def retrace(self):
        """After an interrupt (Ctrl-C): Keras' traced train and test functions
        of the fitted network the fit trained further, which TensorFlow may
        have left locked inside the call it cut (every later fit in another
        thread would wait on them for ever), are dropped, to be traced anew by
        the next fit (its predict function, which a prediction in another
        thread may be calling, is the fit's to keep)."""
        if self.trained is not None:
            for name in ("train_function", "test_function"):
                if getattr(self.trained, name, None) is not None:
                    setattr(self.trained, name, None)

    def _save(self, model, variables):
        values = [(v, v.numpy()) for v in variables]
        optimizer = getattr(model, "optimizer", None)
        compiled = (optimizer, model.loss, compile_config(model)) if optimizer else None
        self.saved = (model, values, getattr(model, "history", _ABSENT), trainable_flags(model),
                      compiled)

    def restore(self):
        """Put everything back; a Ctrl-C meanwhile (pressed again as the first
        seemed slow) is raised once all is back, not halfway through the weights."""
        interrupted = None
        while True:
            try:
                self._restore()
                break
            except KeyboardInterrupt as exc:  # (each step may be done again)
                interrupted = exc
        if interrupted is not None:
            raise interrupted

    def _restore(self):
        if self.generator is not None:
            self.generator[0].set_state(self.generator[1])
        self.est.__dict__.clear()
        self.est.__dict__.update(self.before)
        if self.kwargs is not None:
            self.before["_kwargs"].clear()
            self.before["_kwargs"].update(self.kwargs)
        if self.saved is None:
            return
        model, values, history, flags, compiled = self.saved
        for variable, value in values:
            variable.assign(value)
        forget(model)  # a snapshot a prediction took of the weights meanwhile
        if history is not _ABSENT:
            model.history = history
        elif hasattr(model, "history"):
            del model.history
        set_trainable_flags(model, flags)
        if compiled is not None and (model.optimizer is not compiled[0] or model.loss is not
                                     compiled[1] or _text(compile_config(model)) != _text(
                                         compiled[2])):
            _compiled_again(model, *compiled)  # by a callback of the user's


def _text(config):
    """A compile config as comparable text (its NaN equal to NaN)."""
    import json

    try:
        return json.dumps(config, sort_keys=True, default=repr)
    except (TypeError, ValueError):  # (keys of several types)
        return repr(config)


def _compiled_again(model, optimizer, loss, config):
    """Compile ``model`` as it was, with its optimizer (its state restored
    already) and loss: its other settings (metrics, ...) from its config, as
    the warm copies of ``_trace_cache`` are compiled; where Keras cannot read
    them again (a metric function of the user's, unregistered), without them,
    with a warning. Its failure is no failure of the fit's own."""
    import warnings

    from .._tf import keras

    try:
        if config is None:
            raise ValueError("Keras could not write them in a config")
        settings = keras.saving.deserialize_keras_object(config) if config else {}
    except Exception as exc:  # noqa: BLE001 - Keras' words for an object it cannot find
        settings = {}
        warnings.warn(f"The failed fit's network was compiled again by a callback; it is "
                      f"compiled as before with its optimizer and loss but not its other "
                      f"settings, which Keras cannot read again ({exc}).", RuntimeWarning,
                      stacklevel=2)
    settings = {k: v for k, v in settings.items() if k not in ("optimizer", "loss")}
    try:
        model.compile(optimizer=optimizer, loss=loss, **settings)
    except Exception as exc:  # noqa: BLE001 - the fit's own error is the one to raise
        warnings.warn(f"The failed fit's network, compiled again by a callback, could not be "
                      f"compiled as before ({type(exc).__name__}: {exc}).", RuntimeWarning,
                      stacklevel=2)


@contextlib.contextmanager
def restore_on_failure(est):
    """Restore every attribute of ``est`` if the block raises (any exception,
    ``KeyboardInterrupt`` included), and the weights, optimizer state and
    Keras history of a fitted network the block trains further, given to the
    yielded snapshot's ``protect`` once the block knows it, before training it.

    A fit sets attributes as it goes (scikit-learn's ``validate_data`` records
    ``n_features_in_`` before TensorFlow runs, for example); the snapshot is
    the estimator's whole ``__dict__``, so that none of them, nor one a later
    change adds, can outlive a failed fit.
    """
    snapshot = _Snapshot(est)
    try:
        yield snapshot
    except BaseException as exc:
        try:
            snapshot.restore()
            if not isinstance(exc, Exception):
                snapshot.retrace()
        finally:  # (a Ctrl-C while restoring: the callbacks are told still)
            tell_failed(snapshot.callbacks, exc)
        raise
