"""Keras objects made from a parameter and its routed parameters.

A parameter such as ``callbacks``, ``loss``, ``metrics`` or ``optimizer``
holds a class, an instance, a name, or a list or dict of them (one per output,
or several callbacks), and routed parameters say how to make each, as scikeras
documents:

- ``metrics__threshold=0.6`` goes to every entry of a list or dict,
  ``metrics__0__threshold`` (by position) or ``metrics__out1__threshold``
  (by key) to one entry, and wins;
- a digit names a positional argument of a class: with
  ``callbacks=LearningRateScheduler``, ``callbacks__0=Schedule`` passes
  ``Schedule(...)`` as its first argument, itself made with
  ``callbacks__0__coef=0.2``;
- an instance given routed parameters is made again with them: from its
  config for Keras objects that have one, else through its constructor with
  the arguments it keeps (the user's instance is never changed);
- a metric made from a class is named as Keras names the first of its kind
  (``keras.metrics.AUC``: ``auc``), unless routed a ``name``: Keras' own
  names count instances across the process (``auc_2`` in the second fit,
  ``auc_9`` after a search), so history keys and EarlyStopping's ``monitor``
  would change from fit to fit.

:func:`check` walks the same structure and validates every name against the
constructors, without making anything, so that a mistake is reported before
TensorFlow runs; :func:`make` makes the objects for one fit.
"""

import inspect
import re

import numpy as np

from ..utils import accepted_kwargs, check_kwargs, suggest
from ._layers import defined_by_keras


def _metric_naming(cls):
    """How a metric class takes a name: ``"named"`` (its constructor's own
    argument), ``"passed"`` (through ``**kwargs``, to a base the class may name
    itself), or None (no metric, or no name)."""
    from .._tf import keras

    if not issubclass(cls, keras.metrics.Metric):
        return None
    names, var_kw = accepted_kwargs(cls.__init__)
    return "named" if "name" in names else "passed" if var_kw else None


def first_name(cls):
    """The name Keras gives the first instance of ``cls``: its constructor's
    default (``FBetaScore``: ``fbeta_score``), else its class name in snake
    case by Keras' own rule (``AUC``: ``auc``, ``F1Score``: ``f1_score``,
    ``Top5AUC``: ``top5auc``)."""
    try:
        default = inspect.signature(cls.__init__).parameters["name"].default
    except (KeyError, TypeError, ValueError):
        default = None
    if isinstance(default, str):
        return default
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", cls.__name__))
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _split(params):
    """(this level's own parameters, {head: the parameters routed below it})."""
    own, below = {}, {}
    for key, value in params.items():
        head, sep, rest = key.partition("__")
        if sep:
            below.setdefault(head, {})[rest] = value
        else:
            own[key] = value
    return own, below


def _path(where, head):
    return f"{where}__{head}"


def _is_positional(name):
    return name.isdigit()


def keras_numbers(cls, kwargs):
    """Routed numbers as Keras' own constructors check them (by ``isinstance``):
    a NumPy scalar as Python's (a grid of np.float32 learning rates was refused),
    a whole number as a float where the argument's default is a float (SGD's
    ``momentum=0``: "must be a float"). A class of the user's takes them as given."""
    if not defined_by_keras(cls.__init__):
        return kwargs
    defaults = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()}

    def plain(name, value):
        value = value.item() if isinstance(value, np.generic) else value
        value = float(value) if isinstance(value, np.floating) else value  # (a longdouble)
        return float(value) if type(value) is int and type(defaults.get(name)) is float else value

    return {name: plain(name, value) for name, value in kwargs.items()}


def _rebuild_args(obj, kwargs, where):
    """The constructor arguments that make ``obj`` again with ``kwargs``: the
    config of a Keras object, else each argument read from the attribute of
    its name (ValueError naming one it does not keep)."""
    if hasattr(obj, "get_config") and hasattr(type(obj), "from_config"):
        try:
            return {**obj.get_config(), **kwargs}, True
        except NotImplementedError:
            pass
    cls = type(obj)
    names, _ = accepted_kwargs(cls.__init__)
    args = {}
    for name in sorted(names):
        if name in kwargs:
            args[name] = kwargs[name]
        elif hasattr(obj, name):
            args[name] = getattr(obj, name)
        else:  # the class instead, with what it needs, was given and was routed
            needed = dict.fromkeys([*_required(cls), *_set_here(obj, names), *kwargs])
            example = ", ".join(f"{where}__{n}=..." for n in needed) + (
                "" if name in needed else
                f"; {where}__{name}=... too where the instance was given one")
            raise ValueError(
                f"Routed parameters {sorted(kwargs)} cannot be applied to the {cls.__name__} "
                f"instance: it does not keep its constructor argument {name!r}, so it "
                f"cannot be built again. Give the class {cls.__name__} in its place, with its "
                f"arguments routed ({example}).")
    return args, False


class _Walker:
    """One walk over a parameter's structure, making objects or only checking."""

    def __init__(self, resolve, kind, dry):
        self.resolve = resolve  # name -> class (or None: keep the name as it is)
        self.kind = kind  # "callback", "metric", ... for messages
        self.dry = dry

    def __call__(self, spec, params, where, base=None):
        if isinstance(spec, str):
            cls = self.resolve(spec, where)
            if cls is not None and (params or base):
                spec = cls
            elif params or base:
                raise ValueError(
                    f"{where}__ parameters need {spec!r} to be given as a class or an "
                    f"instance: Keras resolves the name {spec!r} from the model itself."
                )
        if inspect.isclass(spec):
            return self._make_class(spec, params, where, base)
        if isinstance(spec, (list, tuple)):
            return self._sequence(spec, params, where)
        if isinstance(spec, dict):
            return self._mapping(spec, params, where)
        return self._instance(spec, params, where, base)

    def _children(self, keys, params, where, kind):
        own, below = _split(params)
        for head in below:
            if head not in keys:
                known = list(keys)
                raise ValueError(
                    f"Invalid parameter {_path(where, head)}__{next(iter(below[head]))}: "
                    f"no {self.kind} {kind} {head!r} ({where}: {known})."
                    + suggest(head, known)
                )
        return own, below

    def _sequence(self, spec, params, where):
        keys = [str(i) for i in range(len(spec))]
        own, below = self._children(keys, params, where, "at position")
        out = [self(item, below.get(key, {}), _path(where, key), base=own)
               for key, item in zip(keys, spec)]
        return None if self.dry else type(spec)(out)

    def _mapping(self, spec, params, where):
        own, below = self._children([str(k) for k in spec], params, where, "named")
        out = {key: self(item, below.get(str(key), {}), _path(where, key), base=own)
               for key, item in spec.items()}
        return None if self.dry else out

    def _make_class(self, cls, params, where, base):
        own, below = _split(params)
        args = {**(base or {}), **own}
        for head in below:
            if head not in args:
                raise ValueError(
                    f"Invalid parameter {_path(where, head)}__{next(iter(below[head]))}: "
                    f"{cls.__name__}'s argument {head!r} is not given "
                    f"(set {_path(where, head)}=... too)."
                )
        keywords = {k: v for k, v in args.items() if not _is_positional(k)}
        # Keras' own constructors forward **kwargs to a base that refuses unknown
        # names only when made: checked against their signature. A constructor of
        # the user's own taking **kwargs takes what it is given (its bases' names,
        # or its own options), as scikeras routes them.
        check_kwargs(cls.__init__, keywords, where, strict=defined_by_keras(cls.__init__))
        _check_required(cls, len(args) - len(keywords), keywords, where, self.kind)
        values = {k: self._value(v, below.get(k, {}), _path(where, k)) for k, v in args.items()}
        if self.dry:
            return None
        positional = [values[k] for k in sorted((k for k in values if _is_positional(k)), key=int)]
        keywords = keras_numbers(cls, {k: v for k, v in values.items() if not _is_positional(k)})
        naming = (_metric_naming(cls) if self.kind == "metric" and "name" not in values
                  and not _named_by_position(cls, len(positional)) else None)
        if naming == "named":  # (Keras suffixes a repeated one)
            return cls(*positional, **keywords, name=first_name(cls))
        made = cls(*positional, **keywords)
        first = first_name(cls) if naming == "passed" else None
        if first and re.fullmatch(re.escape(first) + r"_\d+", made.name):
            try:  # named by Keras' count, not by the class (its own default, its base's)
                return cls(*positional, **keywords, name=first)
            except TypeError:  # (a class giving its base a name of its own, by position)
                pass
        return made

    def _value(self, value, params, where):
        """An argument's value: a class or structure with routed parameters is
        made too; anything else is passed as it is."""
        if params or inspect.isclass(value):
            return _Walker(lambda name, w: None, "argument", self.dry)(value, params, where)
        return value

    def _instance(self, obj, params, where, base):
        if self.kind == "metric" and not (obj is None or isinstance(obj, str) or callable(obj)):
            # (refused by Keras' compile, once the network was built)
            raise TypeError(
                f"{where} is {obj!r}: a metric is a name ('accuracy'), a function, or a "
                "keras.metrics.Metric class or instance.")
        own, below = _split(params)
        kwargs = {**(base or {}), **own}
        if below:
            head = next(iter(below))
            raise ValueError(
                f"Invalid parameter {_path(where, head)}__{next(iter(below[head]))}: "
                f"{type(obj).__name__} is an instance; route parameters to a class."
            )
        if not kwargs:
            return obj
        if inspect.isroutine(obj):
            name = getattr(obj, "__name__", repr(obj))
            raise ValueError(
                f"{where}__ parameters {sorted(kwargs)} cannot be applied to the function "
                f"{name}: a function has no constructor. Give a {self.kind} class with them "
                f"(or functools.partial({name}, ...))."
            )
        if any(_is_positional(k) for k in kwargs):
            raise ValueError(
                f"{where}: positional arguments ({where}__0=...) need a class, not an instance."
            )
        # An instance is made again from what it keeps: names its constructor
        # takes by **kwargs alone could not reach it (or would reset it).
        check_kwargs(type(obj).__init__, kwargs, where, strict=True)
        args, from_config = _rebuild_args(obj, keras_numbers(type(obj), kwargs), where)
        if self.dry:
            return None
        return type(obj).from_config(args) if from_config else type(obj)(**args)


def _required(cls):
    """The names of the arguments ``cls``'s constructor needs (no default)."""
    return [n for n, p in inspect.signature(cls.__init__).parameters.items()
            if n != "self" and p.default is p.empty and p.kind in (
                p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _named_by_position(cls, n_positional):
    """Whether the first ``n_positional`` arguments of ``cls`` reach its ``name``
    (``metrics__0__0="mine"`` for a metric whose first argument is its name)."""
    try:
        bound = inspect.signature(cls).bind_partial(*range(n_positional))
    except (TypeError, ValueError):
        return False
    return "name" in bound.arguments


def _set_here(obj, names):
    """Those of ``names`` (constructor arguments) that ``obj`` keeps with another
    value than the constructor's default."""
    parameters = inspect.signature(type(obj).__init__).parameters
    changed = []
    for name in sorted(names):
        default = getattr(parameters.get(name), "default", inspect.Parameter.empty)
        try:
            if hasattr(obj, name) and bool(getattr(obj, name) != default):
                changed.append(name)
        except (TypeError, ValueError):  # (an array: compared element-wise)
            changed.append(name)
    return changed


def _check_required(cls, n_positional, keywords, where, kind):
    """Refuse, before TensorFlow runs, a class made without an argument it needs
    (``callbacks=[ModelCheckpoint]`` failed with Python's bare TypeError); a
    metric's or optimizer's ``name`` is given where they are made."""
    named = kind == "optimizer" or kind == "metric" and _metric_naming(cls) == "named"
    missing = [n for n in _required(cls)[n_positional:]
               if n not in keywords and not (named and n == "name")]
    if missing:
        raise ValueError(
            f"{where}: {cls.__name__} needs the argument(s) {missing}, which it is made "
            f"without: give an instance, {cls.__name__}({missing[0]}=...), or, where the "
            f"estimator routes parameters, {where}__{missing[0]}=....")


def _no_names(name, where):
    return None


def check(spec, params, where, *, resolve=_no_names, kind="entry"):
    """Validate ``spec`` and its routed ``params`` without making anything."""
    if spec is None:
        if params:
            raise ValueError(
                f"Invalid parameter {where}__{next(iter(params))}: {where} is None."
            )
        return
    _Walker(resolve, kind, dry=True)(spec, params, where)


def make(spec, params, where, *, resolve=_no_names, kind="entry"):
    """The objects ``spec`` and its routed ``params`` describe (None stays None)."""
    if spec is None:
        return None
    return _Walker(resolve, kind, dry=False)(spec, params, where)
