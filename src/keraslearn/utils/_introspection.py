"""Helpers shared across sub-packages: close-match suggestions, the keyword
arguments a callable takes, and docstring entries written once."""

import difflib
import inspect


def suggest(name, candidates):
    """``" Did you mean 'x'?"`` for the closest of ``candidates``, or ``""``.

    Examples
    --------
    >>> from keraslearn.utils import suggest
    >>> suggest("optimizer__learnin_rate", ["optimizer__learning_rate", "epochs"])
    " Did you mean 'optimizer__learning_rate'?"
    """
    match = difflib.get_close_matches(name, [str(c) for c in candidates], n=1, cutoff=0.6)
    return f" Did you mean {match[0]!r}?" if match else ""


def accepted_kwargs(func):
    """(names ``func`` takes by keyword, whether it also takes ``**kwargs``).

    A callable whose signature cannot be read takes anything.

    Examples
    --------
    >>> from keraslearn.utils import accepted_kwargs
    >>> def build(meta, hidden=8, **kwargs): ...
    >>> names, var_kw = accepted_kwargs(build)
    >>> sorted(names), var_kw
    (['hidden', 'meta'], True)
    """
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
    """Raise ValueError naming any key of ``kwargs`` that ``func`` cannot take
    (reported as ``where__key``, the routed parameter that gave it).

    With ``strict``, a ``**kwargs`` catch-all does not count: Keras classes
    forward it to a base that rejects unknown names only once TensorFlow runs.
    """
    names, var_kw = accepted_kwargs(func)
    if var_kw and not strict:
        return
    for key in kwargs:
        if key not in names:
            name = getattr(func, "__qualname__", None) or type(func).__name__
            raise ValueError(
                f"Invalid parameter {where}__{key}: {name} does not "
                f"accept {key!r}.{suggest(key, names)}"
            )


def substitute(entries):
    """A class decorator replacing each ``{name}`` line of the docstring by
    ``entries[name]`` (shared parameter descriptions written once)."""

    def fill(obj):
        doc = obj.__doc__
        for name, text in entries.items():
            doc = doc.replace("    {" + name + "}", text)
        obj.__doc__ = doc
        return obj

    return fill
