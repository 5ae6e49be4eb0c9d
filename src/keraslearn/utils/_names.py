"""Full names of Keras losses and metrics, as scikeras' ``scikeras.utils``
gives them (``"mse"`` -> ``"mean_squared_error"``); the wrappers name the
keys of ``history_`` with them."""

import inspect
import re

import numpy as np


def _snake(name):
    """CamelCase -> snake_case, keeping acronyms whole (AUC -> auc, R2Score -> r2_score)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _keras_object_name(value, module, base, kind):
    """``(name, None)`` for a ``value`` that is (or names, or ``module.get``
    makes) an object of class ``base``: its class's snake-case name, read from
    the class (``MeanIoU`` needs ``num_classes`` to be made); ``(None, function)``
    for one ``module.get`` resolves to a function."""
    if isinstance(value, str) and inspect.isclass(getattr(module, value, None)):
        value = getattr(module, value)  # a class by its name ("MeanIoU")
    if inspect.isclass(value) and issubclass(value, base):
        return _snake(value.__name__), None
    if inspect.isclass(value) or not (isinstance(value, (str, base)) or callable(value)):
        path = f"keras.{module.__name__.rsplit('.', 1)[-1]}.{base.__name__}"
        raise TypeError(f"{kind} must be a string, a function, a {path} instance or a "
                        f"subclass of {path}; got {type(value).__name__}.")
    found = module.get(value)
    if isinstance(found, base):
        return _snake(type(found).__name__), None
    return None, found


def loss_name(loss):
    """The full snake-case name of a Keras loss.

    Parameters
    ----------
    loss : str, keras.losses.Loss instance or class, or callable
        A loss by shorthand (``"mse"``), name, class, instance or function.

    Returns
    -------
    name : str
        Its full name, such as ``"mean_squared_error"``.

    Raises
    ------
    TypeError
        If ``loss`` is none of those.
    ValueError
        If Keras knows no loss by that name.

    Examples
    --------
    >>> import keras
    >>> from keraslearn.utils import loss_name
    >>> loss_name("BinaryCrossentropy"), loss_name("mse")
    ('binary_crossentropy', 'mean_squared_error')
    >>> loss_name(keras.losses.BinaryCrossentropy)
    'binary_crossentropy'
    """
    import keras

    name, found = _keras_object_name(loss, keras.losses, keras.losses.Loss, "loss")
    return name or _snake(getattr(found, "__name__", str(found)))


def metric_name(metric):
    """The full name of a Keras metric.

    Parameters
    ----------
    metric : str, keras.metrics.Metric instance or class, or callable
        A metric by shorthand (``"mae"``), name, class, instance or function.

    Returns
    -------
    name : str
        Its full name: ``"mean_absolute_error"`` for ``"mae"``, the snake-case
        class name for a metric object.

    Raises
    ------
    TypeError
        If ``metric`` is none of those.
    ValueError
        If Keras knows no metric by that name.

    Examples
    --------
    >>> from keraslearn.utils import metric_name
    >>> metric_name("mae"), metric_name("binary_accuracy")
    ('mean_absolute_error', 'binary_accuracy')
    """
    import keras

    name, found = _keras_object_name(metric, keras.metrics, keras.metrics.Metric, "metric")
    return name or getattr(found, "__name__", str(found))


def history_key(key, output_names=()):
    """A key of Keras' History as scikeras names it in ``history_``: a metric
    given by shorthand gets its full name (``"mae"`` -> ``"mean_absolute_error"``,
    and ``"out_mae"`` -> ``"out_mean_absolute_error"`` for the output ``out`` of
    a model of several, among ``output_names``); ``loss``, ``val_*`` keys and
    names Keras does not know stay as they are."""
    if key == "loss" or key.startswith("val_"):
        return key
    for name in sorted(output_names, key=len, reverse=True):
        if key.startswith(f"{name}_") and key != f"{name}_loss":
            return f"{name}_{history_key(key[len(name) + 1:])}"
    try:
        return metric_name(key)
    except (ValueError, TypeError):
        return key


def history_names(keys, output_names=()):
    """``{key: history_key(key)}`` for the keys of one fit's History, each
    name given once: a key another key's full name would take (``"mae"`` and
    ``"mean_absolute_error"`` both compiled; ``"AUC"`` and ``"auc"``) keeps
    Keras' own (found in an audit: their values were joined in one list of
    twice the epochs). Keys named as they are come first."""
    named = {key: history_key(key, output_names) for key in keys}
    out, taken = {}, set()
    for key in sorted(named, key=lambda k: named[k] != k):
        name = named[key] if named[key] not in taken else key
        out[key] = name
        taken.add(name)
    return {key: out[key] for key in keys}


def history_value(value):
    """An entry of Keras' History as ``history_`` keeps it: a float; a NumPy
    array for a metric of several values (``F1Score(average=None)``, one per
    class); anything else a callback wrote in the logs, as it is."""
    # A tensor by its own conversion (NumPy cannot take a bfloat16 one), and
    # ml_dtypes' floats (bfloat16) as float32.
    array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    if array.dtype.kind == "V" and "float" in array.dtype.name:
        array = array.astype(np.float32)
    if array.dtype.kind in "biuf":
        return float(array) if array.ndim == 0 else array.copy()
    return value


# scikit-learn scorers whose quantity a Keras metric computes (during training).
_KERAS_COUNTERPARTS = {"roc_auc": "AUC", "r2": "R2Score", "f1": "F1Score",
                       "neg_mean_squared_error": "mean_squared_error",
                       "neg_mean_absolute_error": "mean_absolute_error",
                       "neg_root_mean_squared_error": "root_mean_squared_error",
                       "neg_mean_squared_log_error": "mean_squared_logarithmic_error",
                       "neg_mean_absolute_percentage_error": "mean_absolute_percentage_error"}


def scorer_hint(name):
    """Where a scikit-learn scorer's ``name``, given as a Keras metric, goes (and
    its Keras counterpart, where one computes it); "" for another name."""
    from sklearn.metrics import get_scorer_names

    if name not in get_scorer_names():
        return ""
    counterpart = _KERAS_COUNTERPARTS.get(name)
    return (f" {name!r} is a scikit-learn scorer: give it to a search's scoring= (or "
            "cross_validate's), which scores the fitted estimator; Keras' metrics here are "
            "computed during training" + (f" (its counterpart: {counterpart!r})." if counterpart
                                          else "."))
