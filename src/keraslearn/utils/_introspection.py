"""Helpers shared across sub-packages: close-match suggestions, the keyword
arguments a callable takes, and docstring entries written once."""

import difflib
import inspect


def suggest(name, candidates):
    """``" Did you mean 'x'?"`` for the closest of ``candidates``, or ``""``.

    Parameters
    ----------
    name : str
        The name given, unknown.
    candidates : iterable
        The names accepted; each is compared as ``str``.

    Returns
    -------
    str
        A sentence to append to an error message, starting with a space, or
        ``""`` when no candidate is close (``difflib``'s ratio below 0.6).

    Examples
    --------
    >>> from keraslearn.utils import suggest
    >>> suggest("optimizer__learnin_rate", ["optimizer__learning_rate", "epochs"])
    " Did you mean 'optimizer__learning_rate'?"
    """
    match = difflib.get_close_matches(name, [str(c) for c in candidates], n=1, cutoff=0.6)
    return f" Did you mean {match[0]!r}?" if match else ""


def spelling_hint(name, known):
    """:func:`suggest`'s hint among Keras' names ``known``; in other capitals
    (HUBER), the closest compared in lower case, as Keras spells it (snake
    case first)."""
    hint = suggest(name, known)
    if hint:
        return hint
    spelt = {}
    for key in sorted(known, key=lambda k: k != k.lower()):
        spelt.setdefault(key.lower(), key)
    match = difflib.get_close_matches(name.lower(), list(spelt), n=1, cutoff=0.6)
    return f" Did you mean {spelt[match[0]]!r}?" if match else ""


def accepted_kwargs(func):
    """The names ``func`` takes by keyword, and whether it takes ``**kwargs``.

    Parameters
    ----------
    func : callable
        A function, method or class (its constructor's names); ``self`` is
        left out.

    Returns
    -------
    names : set of str
        The positional-or-keyword and keyword-only parameter names.
    var_kw : bool
        Whether ``func`` also takes ``**kwargs``; ``True`` (with no names) for
        a callable whose signature cannot be read: it may take anything.

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
    """Raise ValueError naming any key of ``kwargs`` that ``func`` cannot take.

    Parameters
    ----------
    func : callable
        What will be called with ``kwargs``.
    kwargs : dict
        The keyword arguments to check.
    where : str or None
        The prefix of the routed parameters that gave them: a key is reported
        as ``where__key``; None for arguments given to the call itself (a key
        is reported as it is).
    strict : bool, default=False
        Whether a ``**kwargs`` catch-all of ``func`` still refuses names it
        does not list: Keras classes forward it to a base that rejects unknown
        names only once TensorFlow runs.

    Returns
    -------
    None

    Raises
    ------
    ValueError
        For the first key ``func`` does not take, with the closest name it
        takes when one is close.

    Examples
    --------
    >>> import keras
    >>> from keraslearn.utils import check_kwargs
    >>> check_kwargs(keras.optimizers.SGD, {"momentum": 0.9}, "optimizer")
    >>> check_kwargs(keras.optimizers.SGD, {"momentun": 0.9}, "optimizer",
    ...              strict=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Invalid parameter optimizer__momentun: SGD does not accept 'momentun'. Did ...
    """
    names, var_kw = accepted_kwargs(func)
    if var_kw and not strict:
        return
    for key in kwargs:
        if key not in names:
            name = getattr(func, "__qualname__", None) or type(func).__name__
            given = f"parameter {where}__{key}" if where else f"argument {key}"
            raise ValueError(
                f"Invalid {given}: {name} does not accept {key!r}.{suggest(key, names)}"
            )


def substitute(entries):
    """A decorator filling shared parameter descriptions into a docstring.

    Parameters
    ----------
    entries : dict of str to str
        Descriptions by name: each docstring line holding only ``{name}``
        (indented by four spaces) is replaced by ``entries[name]``.

    Returns
    -------
    callable
        The decorator: it sets the ``__doc__`` of the class or function it
        decorates and returns it.

    Examples
    --------
    >>> from keraslearn.utils import substitute
    >>> @substitute({"seed": "    seed : int, default=0"})
    ... def draw(seed=0):
    ...     '''Draw.
    ...
    ...     {seed}
    ...     '''
    >>> draw.__doc__.splitlines()[2]
    '    seed : int, default=0'
    """

    def fill(obj):
        doc = obj.__doc__
        for name, text in entries.items():
            doc = doc.replace("    {" + name + "}", text)
        obj.__doc__ = doc
        return obj

    return fill
