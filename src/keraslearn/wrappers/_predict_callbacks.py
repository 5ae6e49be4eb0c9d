"""The callbacks a wrapper runs in ``predict``: as scikeras runs them, those of
its ``callbacks`` and ``predict__callbacks`` with ``on_predict_*`` hooks.

They are made once per fit (:func:`made_at_fit`) and kept while the callback
parameters stay as they were; once those change (``set_params``), or after
unpickling, they are made from the parameters at each predict, and not kept,
so that predict leaves the estimator as it is (:func:`for_predict`).

A loaded estimator (``keraslearn.load``) holds callbacks given as classes or
instances as references to code, made real only by a fit: until then its
predictions run none of them.
"""

from .._engine import _keras_callbacks as keras_callbacks
from .._persistence._state import holds_saved
from .._tf import keras
from ._routing import routed


def _has_predict_hooks(callback):
    return isinstance(callback, keras.callbacks.Callback) and keras_callbacks.runs_hooks(
        callback, keras_callbacks.PREDICT_HOOKS)


def _made(est, made=None):
    """Those of ``callbacks`` (``made``: the instances a fit made of them) and
    of ``predict__callbacks`` with predict hooks."""
    params = est.get_params(deep=False)
    predict_args = routed(params, "predict")
    sources = [(predict_args.get("callbacks"), routed(predict_args, "callbacks"),
                "predict__callbacks")]
    if made is None:
        made, sources = [], [(params["callbacks"], routed(params, "callbacks"), "callbacks"),
                             *sources]
    made = list(made)
    for callbacks, args, where in sources:
        if not holds_saved(callbacks):  # code a loaded estimator does not hold
            made += keras_callbacks.make_callbacks(callbacks, args, where)
    return [cb for cb in made if _has_predict_hooks(cb)]


def _parameters(est):
    """The parameters they are made from (read without get_params, which is
    slow for a one-row predict)."""
    kwargs = est.__dict__.get("_kwargs", {})
    return (est.__dict__.get("callbacks"), {
        k: v for k, v in kwargs.items() if k.startswith(("callbacks__", "predict__callbacks"))})


def made_at_fit(est, made=None):
    """What a fit keeps: the parameters, and the callbacks made from them
    (``made``: the instances the fit trained with, of the estimator's own
    ``callbacks``; one instance per fit, as scikeras)."""
    return _parameters(est), _made(est, made)


def for_predict(est, kept):
    """The callbacks of this predict, given what the last fit ``kept``."""
    parameters = _parameters(est)
    try:
        if kept is not None and bool(kept[0] == parameters):
            return kept[1]
    except (TypeError, ValueError):  # values that do not compare: made again
        pass
    return _made(est) if parameters[0] is not None or parameters[1] else []
