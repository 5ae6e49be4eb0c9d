"""Keras callbacks given to the estimators: checked, made with their routed
parameters (the routing rules are those of ``_routed_objects``), and read for
the hooks they run."""

import inspect
import warnings

from .._stacklevel import user_stacklevel
from .._tf import keras
from . import _routed_objects as routed_objects


def _flat_callbacks(made):
    """A list of callbacks from one callback, a list (of lists) or a dict of them."""
    if made is None:
        return []
    if isinstance(made, dict):
        made = list(made.values())
    if not isinstance(made, (list, tuple)):
        made = [made]
    out = []
    for item in made:
        out.extend(_flat_callbacks(item) if isinstance(item, (list, tuple, dict)) else [item])
    return out


def _check_callback_types(callbacks, where):
    for cb in _flat_callbacks(callbacks):
        if not (inspect.isclass(cb) or isinstance(cb, keras.callbacks.Callback)):
            raise TypeError(
                f"{where} must hold keras.callbacks.Callback classes or instances (one, a "
                f"list or a dict of them), got {type(cb).__name__}."
            )


def check_callbacks(callbacks, kwargs, where="callbacks"):
    _check_callback_types(callbacks, where)
    routed_objects.check(callbacks, kwargs, where, kind="callback")


def make_callbacks(callbacks, kwargs, where="callbacks"):
    """Callback instances: classes are created with their routed parameters;
    instances are used as given (Keras users read their state after fit), or,
    when routed parameters change them, built again by their constructor with
    those parameters (so that its checks and derived state apply)."""
    return _flat_callbacks(routed_objects.make(callbacks, kwargs, where, kind="callback"))


BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end",
               "on_test_batch_begin", "on_test_batch_end")
PREDICT_HOOKS = ("on_predict_begin", "on_predict_end", "on_predict_batch_begin",
                 "on_predict_batch_end")


def runs_hooks(callback, hooks, inert=()):
    """Whether a Keras callback does anything in one of ``hooks``: one its class
    overrides, or one set on the object (``LambdaCallback``). ``inert``: hooks its
    class overrides that do nothing for its settings (only one set on it counts)."""
    for hook in hooks:
        if hook in inert and hook not in vars(callback):
            continue
        own = getattr(callback, hook, None)
        if getattr(own, "__func__", own) is not getattr(keras.callbacks.Callback, hook):
            return True
    return False


def replaced_callbacks(est, *own):
    """Warn that callbacks given to ``fit`` (or ``partial_fit``) replace the
    estimator's ``own`` ones (its parameters' callbacks) for that call: they
    do not run (a search over their routed parameters would search nothing)."""
    names = [c.__name__ if inspect.isclass(c) else type(c).__name__
             for c in _flat_callbacks(list(own)) if c is not None]
    if not names:
        return
    warnings.warn(
        f"The callbacks given to this call replace {type(est).__name__}'s own callbacks "
        f"{names} for it: those do not run. Give them all to the call, or all as the "
        "callbacks parameter.", UserWarning, stacklevel=user_stacklevel())


def chosen(given, own):
    """The callbacks of a fit: ``given`` to it where not None (as scikit-learn
    reads None: not given), replacing the estimator's ``own``, else ``own``."""
    return own if given is None else given
