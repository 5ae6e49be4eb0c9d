"""Routed parameters: ``model__``, ``optimizer__``, ``loss__``, ``metrics__``,
``callbacks__``, ``fit__`` and ``predict__``.

A routed parameter is an ordinary estimator parameter (``get_params`` lists it,
``set_params`` sets it, ``GridSearchCV`` searches it) whose prefix says where
its value goes. Names are checked before TensorFlow runs; a misspelt one gets
a suggestion.
"""

import difflib
import inspect

ROUTING_PREFIXES = (
    "model",
    "optimizer",
    "loss",
    "metrics",
    "callbacks",
    "fit",
    "predict",
    "compile",
)


def suggest(name, candidates):
    """Return ``" Did you mean 'x'?"`` for the closest candidate, or ``""``."""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" Did you mean {match[0]!r}?" if match else ""


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


def accepted_kwargs(func):
    """(names func takes by keyword, whether it also takes ``**kwargs``)."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return set(), True
    names, var_kw = set(), False
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            var_kw = True
        elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            names.add(p.name)
    names.discard("self")
    return names, var_kw


def check_kwargs(func, kwargs, where, *, strict=False):
    """Raise ValueError naming any key of ``kwargs`` that ``func`` cannot take.

    With ``strict``, a ``**kwargs`` catch-all does not count: Keras classes
    forward it to a base that rejects unknown names only once TensorFlow runs.
    """
    names, var_kw = accepted_kwargs(func)
    if var_kw and not strict:
        return
    for key in kwargs:
        if key not in names:
            raise ValueError(
                f"Invalid parameter {where}__{key}: {_qualname(func)} does not "
                f"accept {key!r}.{suggest(key, names)}"
            )


def _qualname(func):
    return getattr(func, "__qualname__", None) or type(func).__name__
