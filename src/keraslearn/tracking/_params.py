"""Estimator parameters as MLflow parameters: flat, short, and free of memory addresses.

``get_params(deep=True)`` already flattens a pipeline, a search or an ensemble into
``step__param`` keys, routed parameters (``kerasclassifier__optimizer__learning_rate``)
included. What is left is to write each value as MLflow stores it, a string: simple
values as they are, a nested estimator by its class name (its own parameters have
keys of their own), functions and classes by their import path, other objects by
their ``repr`` unless that ``repr`` is Python's default, which shows a memory
address that differs at every run; then a long value is cut to MLflow's limit.
"""

import inspect
import numbers
import warnings

import numpy as np

# MLflow's limits on a parameter's value and on a key.
MAX_VALUE_LENGTH = 6000
MAX_KEY_LENGTH = 250
_SIMPLE = (str, bool, int, float, type(None))


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
        The class name of an estimator, the import path of a function or a
        class, ``[...]`` / ``(...)`` / ``{...}`` of the items described the
        same way, an array's ``repr``, else the object's ``repr`` unless it is
        Python's default one (``<module.Class object at 0x...>``), which becomes
        ``<module.Class>``.

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> describe([("scale", StandardScaler()), ("n", 3)])
    "[('scale', StandardScaler), ('n', 3)]"
    >>> describe(len)
    'len'
    """
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, _SIMPLE):
        return str(value)
    if isinstance(value, np.generic):
        return str(value.item())
    if _is_estimator(value):
        return type(value).__name__
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
    return repr(value)


def param_value(value):
    """A parameter value as logged: simple values kept, others described and cut."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, numbers.Real, type(None))):
        return value
    text = value if isinstance(value, str) else describe(value)
    if len(text) > MAX_VALUE_LENGTH:
        text = text[:MAX_VALUE_LENGTH - 3] + "..."
    return text


def flatten_params(estimator, prefix=""):
    """The parameters of an estimator as a flat dict of MLflow parameter values.

    Every key of ``estimator.get_params(deep=True)`` -- a pipeline's or a
    search's nested parameters and routed parameters such as
    ``kerasclassifier__optimizer__learning_rate`` included -- with its value
    as MLflow can store it: None, booleans, numbers and strings as they are;
    anything else as a short text (see :func:`describe`), cut to MLflow's
    6000 characters.

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
    >>> params = flatten_params(make_pipeline(StandardScaler(), LogisticRegression(C=0.5)))
    >>> params["logisticregression__C"], params["logisticregression"]
    (0.5, 'LogisticRegression')
    >>> params["steps"]
    "[('standardscaler', StandardScaler), ('logisticregression', LogisticRegression)]"
    """
    params = estimator.get_params(deep=True)
    flat = {}
    for key in sorted(params):
        name = f"{prefix}{key}"
        if len(name) > MAX_KEY_LENGTH:
            warnings.warn(f"Parameter {name[:60]}... is not logged: MLflow takes keys of at "
                          f"most {MAX_KEY_LENGTH} characters.", UserWarning, stacklevel=2)
            continue
        flat[name] = param_value(params[key])
    return flat
