"""Estimator parameters as MLflow parameters: flat, short, and free of memory addresses.

``get_params(deep=True)`` already flattens a pipeline, a search or an ensemble into
``step__param`` keys, routed parameters (``kerasclassifier__optimizer__learning_rate``)
included. What is left is to write each key as MLflow takes it and each value as
MLflow stores it, a string: simple values as they are, a nested estimator as its
class with the parameters it was given (as scikit-learn prints it, so that the
candidates of a search over estimators tell apart), Keras' losses, optimizers and
metrics by their config, functions and classes by their import path, other objects
by their ``repr``, without the memory addresses Python's default ``repr`` shows
(they differ at every run); then a long value is cut to MLflow's limit.
"""

import inspect
import numbers
import re
import warnings

import numpy as np

from ..utils._text import cut

# MLflow's limits on a parameter's value and on a key.
MAX_VALUE_LENGTH = 6000
MAX_KEY_LENGTH = 250
_SIMPLE = (str, bool, int, float, type(None))
# Characters MLflow refuses in a key on some system (it takes ':' except on Windows).
_REFUSED_IN_KEYS = re.compile(r"[^/\w.\- ]")
_ADDRESS = re.compile(r" at 0x[0-9A-Fa-f]+")


def mlflow_key(name):
    """``name`` as MLflow takes a metric or parameter key on every system: the
    characters it refuses replaced by ``_``, and, as MLflow reads keys as paths,
    no empty or ``.`` segment (``fit//loss`` is ``fit/loss``) and none starting
    with ``..``.

    Parameters
    ----------
    name : str
        A metric or parameter name.

    Returns
    -------
    key : str

    Examples
    --------
    >>> mlflow_key("auc(roc)"), mlflow_key("/fit//val loss")
    ('auc_roc_', 'fit/val loss')
    """
    segments = []
    for part in _REFUSED_IN_KEYS.sub("_", str(name)).split("/"):
        if part not in ("", "."):
            segments.append("__" + part[2:] if part.startswith("..") else part)
    return "/".join(segments) or "_"


def _is_estimator(value):
    return not inspect.isclass(value) and callable(getattr(value, "get_params", None))


def _qualified_name(obj):
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if name is None:
        return repr(obj)
    return f"{module}.{name}" if module and module != "builtins" else name


def describe(value):
    """A short, stable text for a parameter value that is not a simple type.

    Parameters
    ----------
    value : object
        A parameter value.

    Returns
    -------
    text : str
        An estimator's class with the parameters it was given
        (``StandardScaler(with_mean=False)``), a Keras loss, optimizer,
        metric, schedule, regularizer, initializer or constraint's class with
        its config, the import path of a function or a class, ``[...]`` /
        ``(...)`` / ``{...}`` of the items described the same way, a frozen
        SciPy distribution's name and arguments (``loguniform(0.0001, 0.1)``), an array's
        ``repr``, else the object's ``repr`` without memory addresses
        (Python's default ``<module.Class object at 0x...>`` becomes
        ``<module.Class>``).

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> describe([("scale", StandardScaler(with_mean=False)), ("n", 3)])
    "[('scale', StandardScaler(with_mean=False)), ('n', 3)]"
    >>> describe(len)
    'len'
    """
    if isinstance(value, str):  # NumPy's too, as the text: 'cat', not np.str_('cat')
        return repr(str(value))
    if isinstance(value, _SIMPLE):
        return str(value)
    if isinstance(value, np.generic):
        return str(value.item())
    if _is_estimator(value):
        return _given(type(value).__name__, _changed_params(value))
    from .._engine._keras_objects import settings_of

    config = settings_of(value)
    if config is not None:
        name = _named_by_user(value)
        return _given(type(value).__name__, config if name is None else {"name": name, **config})
    if _is_keras_layer(value):  # a model or layer: its repr holds a per-process name
        return f"<{_qualified_name(type(value))}>"
    if _is_frozen_distribution(value):  # a search's space: its repr names no parameter
        given = [describe(v) for v in value.args]
        given += [f"{k}={describe(v)}" for k, v in value.kwds.items()]
        return f"{value.dist.name}({', '.join(given)})"
    if inspect.isclass(value) or inspect.isroutine(value):
        return _qualified_name(value)
    if isinstance(value, (list, tuple)):
        items = ", ".join(describe(v) for v in value)
        if isinstance(value, tuple):
            return f"({items},)" if len(value) == 1 else f"({items})"
        return f"[{items}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{describe(k)}: {describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, np.ndarray):
        return np.array2string(value, threshold=20, separator=", ")
    if type(value).__repr__ is object.__repr__:
        return f"<{_qualified_name(type(value))}>"
    return _ADDRESS.sub("", repr(value))


def _given(name, params):
    return f"{name}({', '.join(f'{k}={describe(v)}' for k, v in params.items())})"


def _named_by_user(value):
    """The name of a Keras metric or loss that was given one (it names the
    history's curves), else None: not the name Keras gives one, its class's
    default or its class in snake case, numbered per process (``auc_1``)."""
    import keras

    if not isinstance(value, (keras.metrics.Metric, keras.losses.Loss)):
        return None
    name = getattr(value, "name", None)
    try:
        default = inspect.signature(type(value).__init__).parameters["name"].default
    except (KeyError, TypeError, ValueError):
        default = None
    words = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", type(value).__name__))
    bases = {re.sub(r"([a-z])([A-Z])", r"\1_\2", words).lower()}
    if isinstance(default, str):
        bases.add(default)
    if not isinstance(name, str) or any(re.fullmatch(re.escape(b) + r"(_\d+)?", name)
                                        for b in bases):
        return None
    return name


def _changed_params(estimator):
    """The parameters of ``estimator`` that differ from its constructor's
    defaults (all of those without a default), as scikit-learn's repr shows them."""
    params = estimator.get_params(deep=False)
    try:
        signature = inspect.signature(type(estimator).__init__).parameters
    except (TypeError, ValueError):
        return params
    changed = {}
    for key, value in params.items():
        default = signature[key].default if key in signature else inspect.Parameter.empty
        if default is inspect.Parameter.empty or not _same(value, default):
            changed[key] = value
    return changed


def _same(value, default):
    if value is default:
        return True
    if type(value) is not type(default) or not isinstance(value, (*_SIMPLE, np.generic)):
        return False
    return value == default or (value != value and default != default)  # NaN is NaN


def _is_frozen_distribution(value):
    """A frozen SciPy distribution, ``scipy.stats.loguniform(1e-4, 1e-1)``
    (its shape and location arguments, and its distribution's name)."""
    return (callable(getattr(value, "rvs", None))
            and isinstance(getattr(value, "args", None), tuple)
            and isinstance(getattr(value, "kwds", None), dict)
            and isinstance(getattr(getattr(value, "dist", None), "name", None), str))


def _is_keras_layer(value):
    import keras

    return isinstance(value, keras.layers.Layer)


def param_value(value):
    """A parameter value as logged: simple values kept, others described and cut."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, numbers.Real, type(None))):
        return value
    return cut(value if isinstance(value, str) else describe(value), MAX_VALUE_LENGTH)


def flatten_params(estimator, prefix=""):
    """The parameters of an estimator as a flat dict of MLflow parameter values.

    Every key of ``estimator.get_params(deep=True)`` -- a pipeline's or a
    search's nested parameters and routed parameters such as
    ``kerasclassifier__optimizer__learning_rate`` included, written as MLflow
    takes keys (the characters it refuses replaced by ``_``, no empty or
    ``.`` path segment; a key so written as another's gets ``_2``, with a
    warning, the other keeping its name) -- with its value as MLflow can
    store it: None, booleans, numbers and strings as they are; anything else
    as a short, stable text (an estimator with the parameters it was given,
    ``StandardScaler(with_mean=False)``; a Keras object's class with its
    config; a function or class by its import path), cut to MLflow's 6000
    characters.

    Parameters
    ----------
    estimator : estimator instance
        Any object with scikit-learn's ``get_params``, fitted or not.

    prefix : str, default=""
        Put before every key.

    Returns
    -------
    params : dict of str to object
        Sorted by key.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from keraslearn.tracking import flatten_params
    >>> params = flatten_params(make_pipeline(StandardScaler(), LogisticRegression(C=0.5)))
    >>> params["logisticregression__C"], params["logisticregression"]
    (0.5, 'LogisticRegression(C=0.5)')
    >>> params["steps"]
    "[('standardscaler', StandardScaler()), ('logisticregression', LogisticRegression(C=0.5))]"
    """
    params = estimator.get_params(deep=True)
    flat, names = {}, {}
    planned = {mlflow_key(f"{prefix}{key}") for key in params}  # (a suffixed key stays free)
    # A step before its parameters, which are logged under the step's key; a key
    # MLflow takes as it is before one rewritten to it (which then gets a suffix).
    for key in sorted(params, key=lambda k: (
            k.count("__"), mlflow_key(f"{prefix}{k}") != f"{prefix}{k}", k)):
        head, sep, last = key.rpartition("__")
        name = mlflow_key(names[head] + sep + last if head in names else f"{prefix}{key}")
        if name in flat:  # ("age:1" and "age;1" are both age_1 to MLflow)
            taken, n = name, 2
            while f"{taken}_{n}" in flat or f"{taken}_{n}" in planned:
                n += 1
            name = f"{taken}_{n}"
            warnings.warn(f"Parameter {key!r} is logged as {name!r}: MLflow's key for it, "
                          f"{taken!r}, is another parameter's.", UserWarning, stacklevel=2)
        names[key] = name
        if len(name) > MAX_KEY_LENGTH:
            warnings.warn(f"Parameter {name[:60]}... is not logged: MLflow takes keys of at "
                          f"most {MAX_KEY_LENGTH} characters.", UserWarning, stacklevel=2)
            continue
        flat[name] = param_value(params[key])
    return dict(sorted(flat.items()))
