"""Optimizers, losses, metrics and callbacks from names, classes or instances,
with their routed parameters (``optimizer__learning_rate=0.01``, ...).

``check_*`` functions validate names without creating anything, so that a
mistake is reported before TensorFlow runs; ``make_*`` functions create the
objects for one fit.
"""

import copy
import functools
import inspect

from .._tf import keras
from ..utils import accepted_kwargs, check_kwargs, suggest

_LOSS_ALIASES = {
    "mse": "MeanSquaredError",
    "mae": "MeanAbsoluteError",
    "mape": "MeanAbsolutePercentageError",
    "msle": "MeanSquaredLogarithmicError",
    "kld": "KLDivergence",
    "kl_divergence": "KLDivergence",
    "bce": "BinaryCrossentropy",
}


@functools.cache
def _classes(module, base):
    """{lower-case class name: class} of ``base``'s subclasses a Keras module exports
    (computed once per module: it is read at every fit)."""
    found = {}
    for name in dir(module):
        obj = getattr(module, name)
        if inspect.isclass(obj) and issubclass(obj, base) and obj is not base:
            found[name.lower()] = obj
    return found


def _lookup(name, module, base, aliases=None):
    """The class a Keras string identifier names, or None."""
    table = _classes(module, base)
    key = (aliases or {}).get(name.lower(), name).lower().replace("_", "")
    return table.get(key)


def _copy_with(obj, kwargs):
    """A new Keras object like ``obj`` (from its config), with ``kwargs`` changed."""
    return type(obj).from_config({**obj.get_config(), **kwargs})


def optimizer_class(optimizer):
    if inspect.isclass(optimizer):
        return optimizer
    if isinstance(optimizer, str):
        cls = _lookup(optimizer, keras.optimizers, keras.optimizers.Optimizer)
        if cls is None:
            known = sorted(_classes(keras.optimizers, keras.optimizers.Optimizer))
            raise ValueError(
                f"Unknown optimizer {optimizer!r}.{suggest(optimizer.lower(), known)}"
            )
        return cls
    return type(optimizer)


def check_optimizer(optimizer, kwargs):
    if optimizer is None:
        raise ValueError("optimizer must be set (a name such as 'adam', a class or an instance).")
    check_kwargs(optimizer_class(optimizer).__init__, kwargs, "optimizer", strict=True)


def make_optimizer(optimizer, kwargs):
    """A new optimizer instance; the user's instance is never shared or changed."""
    cls = optimizer_class(optimizer)
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return _copy_with(optimizer, kwargs)
    return cls(**kwargs)


def loss_class(loss):
    if inspect.isclass(loss):
        return loss
    if isinstance(loss, str):
        return _lookup(loss, keras.losses, keras.losses.Loss, _LOSS_ALIASES)
    if isinstance(loss, keras.losses.Loss):
        return type(loss)
    return None


def check_loss(loss, kwargs):
    if not kwargs:
        return
    cls = loss_class(loss)
    if cls is None:
        raise ValueError(
            f"loss__ parameters need a loss given as a Keras loss class, instance or "
            f"a name with a matching class; {loss!r} has none."
        )
    check_kwargs(cls.__init__, kwargs, "loss", strict=True)


def make_loss(loss, kwargs):
    if not kwargs and not inspect.isclass(loss):
        return copy.deepcopy(loss) if isinstance(loss, keras.losses.Loss) else loss
    cls = loss_class(loss)
    if isinstance(loss, keras.losses.Loss):
        return _copy_with(loss, kwargs)
    return cls(**kwargs)


def loss_in_dtype(loss, dtype):
    """``loss`` computed in ``dtype`` when that is not Keras' default float type."""
    if dtype == keras.config.floatx() or not isinstance(loss, str):
        return loss
    cls = loss_class(loss)
    if cls is None or "dtype" not in inspect.signature(cls.__init__).parameters:
        return loss
    return cls(dtype=dtype)


def _metric_entries(metrics):
    if metrics is None:
        return []
    if isinstance(metrics, (list, tuple)):
        return list(metrics)
    return [metrics]


def _entry_kwargs(kwargs, key):
    """Routed kwargs for one metric or callback: the ones given for all
    (``metrics__name``), then its own (``metrics__<key>__name``), which win."""
    own = {k: v for k, v in kwargs.items() if "__" not in k}
    prefix = f"{key}__"
    own.update({k[len(prefix):]: v for k, v in kwargs.items() if k.startswith(prefix)})
    return own


def check_metrics(metrics, kwargs):
    entries = _metric_entries(metrics)
    for key in kwargs:
        head = key.split("__", 1)[0]
        if "__" in key and (not head.isdigit() or int(head) >= len(entries)):
            raise ValueError(
                f"Invalid parameter metrics__{key}: {head!r} is not the index of a metric "
                f"(metrics has {len(entries)})."
            )
    for i, entry in enumerate(entries):
        own = _entry_kwargs(kwargs, i)
        if own:
            cls = _metric_class(entry)
            if cls is None:
                raise ValueError(
                    f"metrics__ parameters need metric {i} ({entry!r}) to be a Keras "
                    "metric class or instance (e.g. keras.metrics.BinaryAccuracy)."
                )
            check_kwargs(cls.__init__, own, "metrics", strict=True)


# Strings Keras resolves from the loss and output shape at compile time
# ("accuracy" -> binary, sparse or categorical accuracy), not to one class.
_CONTEXT_METRICS = ("accuracy", "acc", "crossentropy", "ce")


def _metric_class(entry):
    if inspect.isclass(entry):
        return entry
    if isinstance(entry, keras.metrics.Metric):
        return type(entry)
    if isinstance(entry, str) and entry.lower() not in _CONTEXT_METRICS:
        return _lookup(entry, keras.metrics, keras.metrics.Metric)
    return None


def make_metrics(metrics, kwargs):
    if metrics is None:
        return None
    out = []
    for i, entry in enumerate(_metric_entries(metrics)):
        own = _entry_kwargs(kwargs, i)
        if inspect.isclass(entry) or (own and isinstance(entry, str)):
            out.append(_metric_class(entry)(**own))
        elif isinstance(entry, keras.metrics.Metric):
            out.append(_copy_with(entry, own))
        else:
            out.append(entry)
    return out


def _callback_items(callbacks):
    if callbacks is None:
        return []
    if isinstance(callbacks, dict):
        return list(callbacks.items())
    if isinstance(callbacks, (list, tuple)):
        return [(str(i), cb) for i, cb in enumerate(callbacks)]
    return [("0", callbacks)]


def _constructor_args(cb, own):
    """The arguments that build ``cb`` again with ``own`` changed: each
    constructor argument not in ``own`` is read from the attribute of its name.

    Raises ValueError naming an argument the instance does not keep.
    """
    cls = type(cb)
    names, _ = accepted_kwargs(cls.__init__)
    args = {}
    for name in sorted(names):
        if name in own:
            args[name] = own[name]
        elif hasattr(cb, name):
            args[name] = getattr(cb, name)
        else:
            raise ValueError(
                f"Routed parameters {sorted(own)} cannot be applied to the {cls.__name__} "
                f"instance: it does not keep its constructor argument {name!r}, so it "
                "cannot be built again. Pass the class instead, with every argument "
                f"routed (callbacks=[{cls.__name__}], callbacks__0__{name}=...)."
            )
    return args


def check_callbacks(callbacks, kwargs):
    items = _callback_items(callbacks)
    keys = [k for k, _ in items]
    for key in kwargs:
        if "__" in key and key.split("__", 1)[0] not in keys:
            head = key.split("__", 1)[0]
            raise ValueError(
                f"Invalid parameter callbacks__{key}: no callback named {head!r} "
                f"(callbacks: {keys}).{suggest(head, keys)}"
            )
    for key, cb in items:
        own = _entry_kwargs(kwargs, key)
        if not (inspect.isclass(cb) or isinstance(cb, keras.callbacks.Callback)):
            raise TypeError(
                f"callbacks[{key}] must be a keras.callbacks.Callback class or instance, "
                f"got {type(cb).__name__}."
            )
        if own:
            cls = cb if inspect.isclass(cb) else type(cb)
            check_kwargs(cls.__init__, own, "callbacks", strict=True)
            if not inspect.isclass(cb):
                _constructor_args(cb, own)


def make_callbacks(callbacks, kwargs):
    """Callback instances: classes are created with their routed parameters;
    instances are used as given (Keras users read their state after fit), or,
    when routed parameters change them, built again by their constructor with
    those parameters (so that its checks and derived state apply)."""
    out = []
    for key, cb in _callback_items(callbacks):
        own = _entry_kwargs(kwargs, key)
        if inspect.isclass(cb):
            out.append(cb(**own))
        elif own:
            out.append(type(cb)(**_constructor_args(cb, own)))
        else:
            out.append(cb)
    return out
