"""Full names of Keras losses and metrics, as scikeras' ``scikeras.utils``
gives them (``"mse"`` -> ``"mean_squared_error"``); the wrappers name the
keys of ``history_`` with them."""

import inspect
import re

import numpy as np


def _snake(name):
    """CamelCase -> snake_case, keeping acronyms whole (AUC -> auc, R2Score -> r2_score)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _class_of(value, module):
    """``value``, or the class it names in ``module`` ("MeanIoU")."""
    if isinstance(value, str) and inspect.isclass(getattr(module, value, None)):
        return getattr(module, value)
    return value


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

    loss = _class_of(loss, keras.losses)
    if inspect.isclass(loss) and issubclass(loss, keras.losses.Loss):
        return _snake(loss.__name__)  # named from the class: it may need arguments
    if inspect.isclass(loss) or not (isinstance(loss, (str, keras.losses.Loss))
                                     or callable(loss)):
        raise TypeError(
            "loss must be a string, a function, a keras.losses.Loss instance or a "
            f"subclass of keras.losses.Loss; got {type(loss).__name__}."
        )
    found = keras.losses.get(loss)
    if isinstance(found, keras.losses.Loss):
        return _snake(type(found).__name__)
    return _snake(getattr(found, "__name__", str(found)))


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

    metric = _class_of(metric, keras.metrics)
    if inspect.isclass(metric) and issubclass(metric, keras.metrics.Metric):
        return _snake(metric.__name__)  # named from the class: MeanIoU needs num_classes
    if inspect.isclass(metric) or not (isinstance(metric, (str, keras.metrics.Metric))
                                       or callable(metric)):
        raise TypeError(
            "metric must be a string, a function, a keras.metrics.Metric instance or a "
            f"subclass of keras.metrics.Metric; got {type(metric).__name__}."
        )
    found = keras.metrics.get(metric)
    if isinstance(found, keras.metrics.Metric):
        return _snake(type(found).__name__)
    return getattr(found, "__name__", str(found))


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


def history_value(value):
    """An entry of Keras' History as ``history_`` keeps it: a float; a NumPy
    array for a metric of several values (``F1Score(average=None)``, one per
    class); anything else a callback wrote in the logs, as it is."""
    array = np.asarray(value)
    if array.dtype.kind in "biuf":
        return float(array) if array.ndim == 0 else array.copy()
    return value
