"""Optimizers, losses and metrics from names, classes or instances, with their
routed parameters (``optimizer__learning_rate=0.01``, ...); callbacks are
``_keras_callbacks``'. ``check_*`` functions validate names without creating
anything, so that a mistake is reported before TensorFlow runs; ``make_*``
functions create the objects for one fit. The structures (a loss or metrics per
output) and the routing rules are those of ``_routed_objects``."""

import copy
import functools
import hashlib
import inspect
import pickle
import warnings

import numpy as np

from .._stacklevel import user_stacklevel
from .._tf import keras
from ..utils import accepted_kwargs, suggest
from ..utils._introspection import spelling_hint as _spelling_hint
from . import _nested as nested
from . import _routed_objects as routed_objects
from ._layers import keras_own
from ._losses import picked_by_shape

_LOSS_ALIASES = {
    "mse": "MeanSquaredError", "mae": "MeanAbsoluteError",
    "mape": "MeanAbsolutePercentageError", "msle": "MeanSquaredLogarithmicError",
    "kld": "KLDivergence", "kl_divergence": "KLDivergence", "bce": "BinaryCrossentropy",
}

# Strings Keras resolves from the loss and output shape at compile time
# ("accuracy" -> binary, sparse or categorical accuracy), not to one class.
_CONTEXT_METRICS = ("accuracy", "acc")  # ("ce": of losses only, found in an audit)


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


# ---------------------------------------------------------------- optimizer
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
    """Refuse no optimizer, or a class or object that is none (another class given
    its arguments failed in their words; a config, compile would rebuild unsafely)."""
    cls = optimizer if inspect.isclass(optimizer) else type(optimizer)
    if optimizer is None or not (isinstance(optimizer, str)
                                 or issubclass(cls, keras.optimizers.Optimizer)):
        got = f"the class {cls.__name__}" if inspect.isclass(optimizer) else f"a {cls.__name__}"
        raise TypeError("optimizer must be a Keras optimizer: a name such as 'adam', or a "
                        "keras.optimizers.Optimizer class or instance (a config: keras."
                        f"optimizers.deserialize(config)); got {got}.")
    routed_objects.check(optimizer_class(optimizer) if isinstance(optimizer, str) else optimizer,
                         kwargs, "optimizer", kind="optimizer")


def _takes_name(cls):
    names, var_kw = accepted_kwargs(cls)
    return var_kw or "name" in names


def make_optimizer(optimizer, kwargs):
    """A new optimizer instance; the user's instance is never shared or changed.

    One made from a name or a class is named after its class ("adam"), not
    Keras' next unique name ("adam_57"): its variables' names then repeat
    from fit to fit, and TensorFlow keeps a cached kernel per variable name
    it has seen, for the life of the process (``_trace_cache``'s docstring)."""
    kwargs = {k: make_optimizer(v, {}) if isinstance(v, keras.optimizers.Optimizer) else v
              for k, v in kwargs.items()}  # (LossScaleOptimizer's inner_optimizer: a copy too)
    if isinstance(optimizer, keras.optimizers.Optimizer):
        kwargs = routed_objects.keras_numbers(type(optimizer), kwargs)
        return type(optimizer).from_config({**optimizer.get_config(), **kwargs})
    if isinstance(optimizer, str):
        optimizer = optimizer_class(optimizer)
    if inspect.isclass(optimizer) and "name" not in kwargs and _takes_name(optimizer):
        kwargs = {**kwargs, "name": optimizer.__name__.lower()}
    return routed_objects.make(optimizer, kwargs, "optimizer", kind="optimizer")


# --------------------------------------------------------------------- loss
def loss_class(loss):
    if inspect.isclass(loss):
        return loss
    if isinstance(loss, str):
        return _lookup(loss, keras.losses, keras.losses.Loss, _LOSS_ALIASES)
    if isinstance(loss, keras.losses.Loss):
        return type(loss)
    return None


def _resolve_loss(name, where):
    if picked_by_shape(name):
        return None  # Keras picks the cross-entropy from the targets' and output's shapes
    cls = loss_class(name)
    # A spelling the lookup above matches (case and underscores aside) that
    # Keras' compile refuses ("logcosh"): refused here, with Keras' spelling.
    if cls is None or not _keras_knows(keras.losses, name):
        if not _keras_knows(keras.losses, name):
            known = [n for n in dir(keras.losses) if not n.startswith("_")
                     and n not in ("get", "serialize", "deserialize", "Loss")]
            raise ValueError(f"Unknown loss {name!r} ({where}).{_spelling_hint(name, known)}")
        raise ValueError(
            f"{where}__ parameters need a loss given as a Keras loss class, instance or a "
            f"name with a matching class; {name!r} has none."
        )
    return cls


def check_loss(loss, kwargs):
    per_output = (dict(enumerate(loss)) if isinstance(loss, (list, tuple)) else loss
                  if isinstance(loss, dict) and "class_name" not in loss else {})
    if per_output and all(value is None for value in per_output.values()):
        # (Keras trains the outputs given a loss, and fails where none is: "'NoneType'
        # object has no attribute 'loss'")
        raise ValueError(f"loss gives no output a loss ({loss!r}): give at least one a loss "
                         "(a name, a function or a keras.losses.Loss), or loss=None for the "
                         "one the targets call for.")
    routed_objects.check(loss, kwargs, "loss", resolve=_resolve_loss, kind="loss")
    # Routed parameters rebuild an instance from its config.
    inexact = [leaf for leaf in nested.leaves(loss) if not copies_exactly(leaf)] if kwargs else []
    if inexact:
        name = type(inexact[0]).__name__
        raise ValueError(
            f"Routed loss__ parameters cannot be applied to the {name} instance given as "
            f"loss: its config leaves out settings it holds (Keras' Huber drops its "
            f"delta), which rebuilding it would lose. Give the class or its name with "
            f"every setting routed (loss={name}, loss__...=...).")


def loss_key(loss, depth=0):
    """What a loss computes with, for the keys of traced functions shared between
    fits: a loss object's settings as it holds them (its attributes), not its
    config, which may leave some out (Keras' ``Huber`` drops its ``delta``).
    Functions are named by their ``repr`` (their identity while alive: whoever
    keys with this holds the loss); arrays by their contents."""
    if loss is None or isinstance(loss, (bool, int, float, str)):
        return loss
    if isinstance(loss, (list, tuple)):
        return [loss_key(v, depth + 1) for v in loss]
    if isinstance(loss, dict):
        return [[str(k), loss_key(v, depth + 1)] for k, v in sorted(loss.items(), key=str)]
    if isinstance(loss, (np.ndarray, np.generic)) or hasattr(loss, "numpy"):
        values = np.asarray(loss)
        return ["array", str(values.dtype), list(values.shape),
                hashlib.sha1(np.ascontiguousarray(values).tobytes()).hexdigest()]
    if isinstance(loss, functools.partial):
        return ["partial", loss_key(loss.func, depth + 1), loss_key(loss.args, depth + 1),
                loss_key(loss.keywords, depth + 1)]
    state = getattr(loss, "__dict__", None)
    if callable(loss) and not isinstance(loss, keras.losses.Loss) or state is None or depth > 3:
        # Known by identity: equal to itself only (alive while its holder keys with it).
        return f"{type(loss).__module__}.{type(loss).__qualname__} at {id(loss):#x}"
    return [type(loss).__module__, type(loss).__qualname__,
            loss_key({k: v for k, v in state.items() if not k.startswith("__")}, depth + 1)]


class ExactLoss:
    """A loss object as pickle carries it: its class and what it holds. Keras
    copies a loss through its config, which may leave settings out (``Huber``'s
    ``delta``): a clone, or an estimator sent to a worker process, would train
    with the default."""

    def __init__(self, loss):
        self.cls, self.state = type(loss), dict(vars(loss))

    @classmethod
    def of(cls, loss):
        """The loss as pickle should carry it: an ExactLoss where its attributes are
        all it holds and pickle can carry them, else the loss itself (Keras' way)."""
        if any("__slots__" in vars(k) for k in type(loss).__mro__[:-1]):
            return loss
        try:
            pickle.dumps(vars(loss))
        except Exception:  # noqa: BLE001 - a lambda, a lock, ...: Keras' way then
            return loss
        return cls(loss)

    def made(self):
        loss = object.__new__(self.cls)
        loss.__dict__.update(self.state)
        return loss


def configured_kinds():
    """The Keras objects made from a config of their settings: losses,
    optimizers, metrics, schedules, regularizers, initializers, constraints."""
    return (keras.losses.Loss, keras.optimizers.Optimizer, keras.metrics.Metric,
            keras.optimizers.schedules.LearningRateSchedule, keras.regularizers.Regularizer,
            keras.initializers.Initializer, keras.constraints.Constraint)


def settings_of(obj):
    """The config of such an object without its name (Keras numbers it per
    process: ``adam_2``) and unset entries: the same settings give the same
    dict in every process. None for another object, or one whose own
    ``get_config`` fails."""
    if not isinstance(obj, configured_kinds()):
        return None
    try:
        config = obj.get_config()
    except Exception:  # noqa: BLE001 - a subclass's own get_config
        return None
    return {k: v for k, v in config.items() if v is not None and k != "name"}


def copies_exactly(obj):
    """Whether ``obj`` made again from its config (as Keras copies, pickles and
    stores it) holds what it holds: a loss, or a metric (``CosineSimilarity``'s
    config leaves out its axis); always for other objects, whose configs say all
    (tested)."""
    if not isinstance(obj, (keras.losses.Loss, keras.metrics.Metric)):
        return True
    key = loss_key if isinstance(obj, keras.losses.Loss) else _settings_held
    try:
        return key(type(obj).from_config(obj.get_config())) == key(obj)
    except Exception:  # noqa: BLE001 - a config its class cannot make again
        return False


def _settings_held(metric):
    """The settings a metric holds in dicts of plain values: the keyword
    arguments of its function (``CosineSimilarity``'s axis), which its config
    may leave out; not what it sets once used (``AUC``'s number of labels)."""
    def plain(value):
        if value is None or isinstance(value, (bool, int, float, str)):
            return True
        if isinstance(value, (list, tuple)):
            return all(map(plain, value))
        return isinstance(value, dict) and all(
            isinstance(k, str) and plain(v) for k, v in value.items())

    return {k: v for k, v in vars(metric).items() if isinstance(v, dict) and plain(v)}


def map_leaves(fn, value):
    """``value`` (a parameter: a loss, or a list, tuple or dict of them) with ``fn``
    applied to each leaf, its containers' types kept (``get_params`` compares them)."""
    if type(value) in (list, tuple):
        return type(value)(map_leaves(fn, v) for v in value)
    if type(value) is dict:
        return {k: map_leaves(fn, v) for k, v in value.items()}
    return fn(value)


def exact_losses(value, keep):
    """``value`` with each loss object Keras would copy with other settings
    replaced by ``keep(loss)``."""
    return map_leaves(lambda leaf: keep(leaf) if isinstance(leaf, keras.losses.Loss)
                       and not copies_exactly(leaf) else leaf, value)


def made_losses(value):
    """``value`` with every :class:`ExactLoss` made into its loss again."""
    return map_leaves(lambda leaf: leaf.made() if isinstance(leaf, ExactLoss) else leaf, value)


def recompile(model, loss):
    """Compile ``model`` again with ``loss``, every other compile setting and the
    optimizer (with its state) kept, not wrapped for loss scaling (found in review)."""
    settings = keras.saving.deserialize_keras_object(model.get_compile_config())
    if isinstance(settings, dict):
        model.compile(**{**settings, "optimizer": model.optimizer, "loss": loss,
                         "auto_scale_loss": False})


def make_loss(loss, kwargs):
    # A loss object given is used as it is, as Keras' compile and scikeras use it:
    # Keras copies one through its config, which may leave settings out.
    return routed_objects.make(loss, kwargs, "loss", resolve=_resolve_loss, kind="loss")


def loss_in_dtype(loss, dtype):
    """``loss`` computed in ``dtype`` when wider than Keras' default float type (a
    float64 network; float16 ones in floatx, as Keras'): a loss named by a string."""
    bits = {"float16": 16, "bfloat16": 16, "float32": 32, "float64": 64}
    if bits.get(str(dtype), 0) <= bits.get(keras.config.floatx(), 32):
        return loss
    return map_leaves(lambda leaf: _named_loss_in_dtype(leaf, dtype), loss)


def _named_loss_in_dtype(loss, dtype):
    if not isinstance(loss, str):
        return loss
    cls = loss_class(loss)
    if cls is None or "dtype" not in inspect.signature(cls.__init__).parameters:
        return loss
    return cls(dtype=dtype)


# ------------------------------------------------------------------ metrics
def _resolve_metric(name, where):
    if name.lower() in _CONTEXT_METRICS:
        return None  # Keras chooses the class from the loss and output shape
    found = _lookup(name, keras.metrics, keras.metrics.Metric)
    if not _keras_knows(keras.metrics, name):  # "mae" is taken; "meansquarederror" is not
        from ..utils._names import scorer_hint
        function = getattr(keras.metrics, name, None)  # (log_cosh: a metric function only)
        if inspect.isfunction(function) and "y_pred" in accepted_kwargs(function)[0]:
            raise ValueError(f"Keras' compile does not take the metric {name!r} by name (in "
                             f"{where}): give the function itself, keras.metrics.{name}.")
        known = list(_CONTEXT_METRICS) + [n for n in dir(keras.metrics) if n[0] != "_"
                                          and _keras_knows(keras.metrics, n)]
        hint = (" Keras takes it as a loss's name only: measure 'binary_crossentropy' or "
                "'(sparse_)categorical_crossentropy'." if picked_by_shape(name) else
                scorer_hint(name) or _spelling_hint(name, known))
        raise ValueError(f"Unknown metric {name!r} in {where}.{hint}")
    return found


@functools.cache
def _keras_knows(module, name):
    """Whether Keras' compile takes the loss or metric ``name`` (``module``:
    ``keras.losses`` or ``keras.metrics``; asked once a name)."""
    try:
        module.get(name)
    except ValueError:
        return False
    except Exception:  # noqa: BLE001 - a class its get makes without the arguments it needs
        return True
    return True


def check_metrics(metrics, kwargs, where="metrics"):
    routed_objects.check(metrics, kwargs, where, resolve=_resolve_metric, kind="metric")


def make_metrics(metrics, kwargs, where="metrics"):
    made = _fresh_metrics(map_leaves(_keras_spelling, routed_objects.make(
        metrics, kwargs, where, resolve=_resolve_metric, kind="metric")))
    if made is None or isinstance(made, (list, tuple, dict)):
        return made
    return [made]  # one metric for the whole model


def _keras_spelling(name):
    """A name of a class of Keras' own as Keras names its first metric ("AUC" ->
    "auc": history_ had auc and val_AUC, EarlyStopping(monitor="val_auc") saw nothing)."""
    if not isinstance(name, str) or name.lower() in _CONTEXT_METRICS:
        return name
    cls = _lookup(name, keras.metrics, keras.metrics.Metric)
    first = routed_objects.first_name(cls) if inspect.isclass(cls) else None
    return first if first and _keras_knows(keras.metrics, first) else name


def _fresh_metrics(made):
    """A copy of each instance of Keras' own metrics (of the user's parameter:
    its state would be the fit's, and every refit's), as optimizer instances
    are copied; a class of one's own, whose config may leave out what it
    holds, is used as it is. One of Keras' whose config does is copied with
    the settings it holds (warned: clones and pickles are made from its config)."""
    if isinstance(made, (list, tuple)):
        return type(made)(map(_fresh_metrics, made))
    if isinstance(made, dict):
        return {key: _fresh_metrics(value) for key, value in made.items()}
    if isinstance(made, keras.metrics.Metric) and keras_own(made):
        try:
            fresh = type(made).from_config(made.get_config())
        except (TypeError, ValueError):
            return made
        held = _settings_held(made)
        if _settings_held(fresh) == held:
            return fresh
        warnings.warn(
            f"The metric {made.name!r} ({type(made).__name__}) holds settings its Keras "
            "config leaves out: this fit computes it as given, but a clone of the estimator "
            "(a search's, cross_validate's), a pickle or a saved copy computes it as its "
            "config says (Keras makes them from it).", UserWarning, stacklevel=user_stacklevel())
        for name, value in held.items():  # (CosineSimilarity's axis: in what it holds)
            setattr(fresh, name, copy.deepcopy(value))
        return fresh if _settings_held(fresh) == held else made
    return made
