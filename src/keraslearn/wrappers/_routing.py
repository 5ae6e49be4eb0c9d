"""Routed parameters: ``model__``, ``optimizer__``, ``loss__``, ``metrics__``,
``callbacks__``, ``fit__``, ``predict__``, ``compile__`` and ``score__``.

A routed parameter is an ordinary estimator parameter (``get_params`` lists it,
``set_params`` sets it, ``GridSearchCV`` searches it) whose prefix says where
its value goes. Names are checked before TensorFlow runs; a misspelt one gets
a suggestion, and a plain name that belongs elsewhere is told where to route it.
"""

import difflib

from .._engine._keras_objects import loss_class, optimizer_class
from .._tf import keras
from ..utils import accepted_kwargs, suggest

ROUTING_PREFIXES = (
    "model",
    "optimizer",
    "loss",
    "metrics",
    "callbacks",
    "fit",
    "predict",
    "compile",
    "score",
)


# Model.fit arguments the estimator supplies itself, and where to give them instead.
REFUSED_FIT_KWARGS = {
    "x": "pass the data as fit(X, y)",
    "y": "pass the data as fit(X, y)",
    "sample_weight": "pass it as fit(X, y, sample_weight=...)",
    "class_weight": "use the classifier's class_weight parameter",
}
NO_CLASSES = ("class weights are a classifier's (KerasClassifier): weigh the samples "
              "with fit(X, y, sample_weight=...)")


def split_routed(name):
    """``"optimizer__learning_rate"`` -> ``("optimizer", "learning_rate")``."""
    prefix, sep, rest = name.partition("__")
    if not sep or not rest:
        return None, name
    return prefix, rest


def check_prefix(name, known_params):
    """Raise ValueError when ``name`` has a ``__`` prefix that routes nowhere."""
    prefix, _ = split_routed(name)
    if prefix is None or prefix in ROUTING_PREFIXES or prefix in known_params:
        return
    routed_guess = suggest(prefix, ROUTING_PREFIXES)
    if routed_guess:
        fixed = difflib.get_close_matches(prefix, ROUTING_PREFIXES, n=1, cutoff=0.6)[0]
        routed_guess = f" Did you mean {fixed + name[len(prefix):]!r}?"
    raise ValueError(
        f"Invalid parameter {name!r}: {prefix!r} is not a routing prefix "
        f"(known prefixes: {', '.join(p + '__' for p in ROUTING_PREFIXES)})."
        + routed_guess
    )


def routed(params, prefix):
    """The parameters under ``prefix__``, with the prefix removed."""
    start = prefix + "__"
    return {k[len(start):]: v for k, v in params.items() if k.startswith(start)}


def without_routed(params, prefixes):
    """``params`` without those routed under any of ``prefixes`` (``prefix__...``)."""
    starts = tuple(f"{prefix}__" for prefix in prefixes)
    return {k: v for k, v in params.items() if not k.startswith(starts)}


def _destinations(optimizer, loss):
    """(prefix, callable) pairs a plain name may belong to, in the order hints
    are given: the optimizer and loss the estimator uses, then Keras' fit,
    compile and predict."""
    out = []
    for prefix, find in (("optimizer", optimizer_class), ("loss", loss_class)):
        try:
            cls = find(optimizer if prefix == "optimizer" else loss)
        except ValueError:
            cls = None
        if cls is not None:
            out.append((prefix, cls.__init__))
    out += [("fit", keras.Model.fit), ("compile", keras.Model.compile),
            ("predict", keras.Model.predict)]
    return out


def home_of(key, optimizer, loss):
    """(prefix, callable) of the first destination taking the plain name
    ``key`` (``validation_data``: Keras' fit), or None."""
    for prefix, func in _destinations(optimizer, loss):
        names, _ = accepted_kwargs(func)
        if key in names - {"self", "x", "y", "kwargs"}:
            return prefix, func
    return None


def unknown_name_error(est, key, builder_names, optimizer, loss):
    """The ValueError for a plain parameter name that neither the estimator nor
    its model builder takes: it names the routed parameter that exists
    (``optimizer__learning_rate``), or the closest known name."""
    where = type(est).__name__
    if key in ("class_weight", "sample_weight"):  # (fit's: refused there, named)
        why = NO_CLASSES if key == "class_weight" else REFUSED_FIT_KWARGS[key]
        return ValueError(f"Invalid parameter {key!r} for estimator {where}: {why}.")
    home = home_of(key, optimizer, loss)
    if home is not None:
        prefix, func = home
        return ValueError(
            f"Invalid parameter {key!r} for estimator {where}: neither the estimator "
            f"nor its model builder takes it. It is an argument of "
            f"{getattr(func, '__qualname__', prefix).replace('.__init__', '')}: "
            f"route it there as '{prefix}__{key}'."
        )
    hint = suggest(key, set(est._signature_params()) | set(builder_names))
    return ValueError(
        f"Invalid parameter {key!r} for estimator {where}: neither the estimator nor "
        f"its model builder takes it.{hint}"
    )


def builder_names(builder):
    """(names the model builder declares, whether it takes ``**kwargs``); a
    keras.Model instance takes none."""
    if builder is None or isinstance(builder, keras.Model) or not callable(builder):
        return set(), False
    names, var_kw = accepted_kwargs(builder)
    return names - {"meta", "compile_kwargs", "params"}, var_kw
