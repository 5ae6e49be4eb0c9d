"""The model a wrapper builds: which builder, with which arguments, compiled how.

The builder is ``model`` (a function, or a ``keras.Model`` instance), else
``build_fn`` (scikeras' old name), else a ``_keras_build_fn`` method of a
subclass. It receives the arguments it declares: estimator parameters by name
(a wrapper parameter left at None leaving the builder's own default, as in
scikeras), ``model__`` parameters, and the special ``meta``, ``compile_kwargs``
and ``params``; a builder with ``**kwargs`` receives them all, as in scikeras.
"""

import inspect
import numbers
import warnings
import weakref

import numpy as np

from .._engine import _keras_objects as objects
from .._engine._build import compiled_by_user
from .._stacklevel import user_stacklevel
from .._tf import keras
from ..utils import suggest
from ._params import init_parameters
from ._routing import builder_names, routed, unknown_name_error, without_routed

# What the builder may receive besides its own parameters.
BUILDER_SPECIAL = ("meta", "compile_kwargs", "params")

# compile__ parameters made and checked as the metrics parameter is
COMPILED_METRICS = ("metrics", "weighted_metrics")


def resolve_builder(est, params):
    """``model``, ``build_fn`` or the subclass's ``_keras_build_fn``, checked."""
    builder = params.get("model")
    if builder is None:
        builder = params.get("build_fn")
    if (builder is not None and not isinstance(builder, keras.Model)
            and est._default_builder() is not None):
        # As scikeras: two builders, and no saying which one the user meant.
        raise ValueError(
            f"{type(est).__name__} implements _keras_build_fn and was given a model "
            "builder as `model`: give one of the two."
        )
    if builder is None:
        builder = est._default_builder()
    if builder is None:
        raise ValueError(
            f"{type(est).__name__} needs a model: pass a keras.Model or a function "
            "that builds one as `model`."
        )
    if not (isinstance(builder, keras.Model) or callable(builder)):
        raise TypeError(
            f"model must be a keras.Model or a callable returning one, "
            f"got {type(builder).__name__}."
        )
    return builder


# The networks fitted estimators hold (their model_, weakly held: a network no
# longer used is not kept), to name one a builder returns again.
_HELD = weakref.WeakSet()
# Their variables, by id: a builder reusing a layer made outside it (a pretrained base
# loaded once, wrapped as it may be) would train it on from fit to fit (frozen then or not).
_HELD_VARIABLES = weakref.WeakValueDictionary()


def hold(model):
    """Record ``model`` as a fitted estimator's network (see :func:`build_with`)."""
    _HELD.add(model)
    _HELD_VARIABLES.update((id(v), v) for v in model.weights)


def build_with(est, builder, params, meta, compile_args):
    """The network ``builder`` returns given its arguments (``builder_kwargs``);
    refused where it is no keras.Model, or the network of a fitted estimator (one
    network made outside the builder, compiled there or not), or trains weights
    of one (a pretrained base made outside the builder): every fit, clone
    and fold would go on from the last one's weights and share them, a
    cross-validation's folds seeing each other's test rows, and one estimator's
    fit changing another's predictions."""
    model = builder(**builder_kwargs(est, builder, params, meta, compile_args))
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"The model builder {getattr(builder, '__name__', builder)!r} returned "
            f"{type(model).__name__}, not a keras.Model."
        )
    if model in _HELD:
        raise ValueError(
            f"The model builder {getattr(builder, '__name__', builder)!r} returned the "
            "network of an estimator fitted before (one network made outside the builder): "
            "each fit would go on from the weights of the last, and estimators (clones, a "
            "search's or cross-validation's folds) would share it. Make the network inside "
            "the builder (loading pretrained weights there, if any), or give the network "
            "itself as model=, which each fit copies.")
    shared = next((v for v in model.trainable_weights if _HELD_VARIABLES.get(id(v)) is v), None)
    if shared is not None:
        raise ValueError(
            f"The model builder {getattr(builder, '__name__', builder)!r} returned a network "
            f"training the weights {shared.path!r} of an estimator's network fitted "
            "before (made outside the builder: a pretrained base loaded once, say): each fit "
            "would train it on from the last, and estimators (clones, a search's or "
            "cross-validation's folds) would share it. Make it inside the builder (loading "
            "its weights there), or freeze it (trainable=False).")
    return model


def compile_kwargs(params):
    """``keras.Model.compile`` arguments: optimizer, loss and metrics made from
    the parameters and their routed ones, then ``compile__`` parameters."""
    loss = params["loss"]
    kwargs = {
        "optimizer": objects.make_optimizer(params["optimizer"], routed(params, "optimizer")),
        "loss": objects.make_loss(loss, routed(params, "loss")) if loss is not None else None,
        "metrics": objects.make_metrics(params["metrics"], routed(params, "metrics")),
        "run_eagerly": bool(params["run_eagerly"]),
    }
    compiled = routed(params, "compile")
    for key in COMPILED_METRICS:  # made as metrics are (found in an audit: a class
        if compiled.get(key) is not None:  # failed at save, "AUC" logged val_AUC)
            compiled[key] = objects.make_metrics(compiled[key], routed(compiled, key),
                                                 f"compile__{key}")
    kwargs.update(without_routed(compiled, COMPILED_METRICS))
    return kwargs


def loss_checked_against(est, model, compile_args):
    """``compile_args`` with the loss a compiled ``model``'s is checked against
    (see ``finish_network``): none where it is the default the estimator's
    class declares, as scikeras compares only a loss given (a subclass's
    ``loss="binary_crossentropy"`` with a builder compiling another). The
    optimizer parameters are checked against its optimizer here."""
    if not compiled_by_user(model):
        return compile_args
    _check_compiled_optimizer(est, model)
    default = _declared_default(est, "loss")
    if default in (None, inspect.Parameter.empty):
        return compile_args
    same = _same(est.loss, default)  # (objects comparing to arrays, ...: by identity)
    return {**compile_args, "loss": None} if same else compile_args


def _declaring(est, name):
    """The classes of ``est``'s whose own ``__init__`` declares parameter
    ``name``, nearest first, with its ``inspect.Parameter`` there (every
    ``__init__`` of the hierarchy is read, as ``get_params`` reads them)."""
    return [(cls, p) for cls, p in init_parameters(type(est)) if p.name == name]


def _declared_default(est, name):
    """The default of parameter ``name`` the nearest class declaring it gives."""
    declaring = _declaring(est, name)
    return declaring[0][1].default if declaring else None


def _wrapper_default(est, name):
    """The default of ``name`` (the nearest declaring class's) where it is one of
    keraslearn's wrappers' own parameters (``optimizer``, ``loss``, ...), a
    subclass declaring it again included; else ``empty``."""
    declaring = _declaring(est, name)
    if not any(cls.__module__.startswith("keraslearn.") for cls, _ in declaring):
        return inspect.Parameter.empty
    return declaring[0][1].default


def _builder_value(est, builder, name, value, own, warn=True):
    """Whether the builder's argument ``name`` (its own default ``own``) gets the
    estimator's ``value``: not where it is a wrapper parameter left at None
    (``loss``, ``random_state``: the builder's default stands, as scikeras gives
    builders those only as ``model__`` parameters); a wrapper default of another
    value (``optimizer="rmsprop"``) replacing the builder's own is warned."""
    default = _wrapper_default(est, name)
    if own is inspect.Parameter.empty or default is inspect.Parameter.empty:
        return True
    if value is None and default is None:
        return False
    if warn and _same(value, default) and not _same(value, own):
        warnings.warn(
            f"The model builder {getattr(builder, '__name__', builder)!r} takes the "
            f"estimator's {name}={value!r}, the estimator's default, over its own "
            f"{name}={own!r}; where that is not your choice, give the estimator {name}=... "
            "(scikeras leaves a builder its own default).",
            UserWarning, stacklevel=user_stacklevel())
    return True


def _check_compiled_optimizer(est, model):
    """Refuse optimizer parameters a compiled ``model``'s optimizer does not
    have, as a loss other than its compiled one is refused: its own optimizer
    trains, so a search over ``optimizer__learning_rate`` would search nothing.
    An ``optimizer`` (or ``optimizer__`` value) left at its default is not
    compared (a builder compiling its own, as in scikeras), nor a value that
    is not a number, a name or a learning-rate schedule, a setting the compiled
    optimizer's config does not hold, or a loss-scaling optimizer."""
    params = est.get_params(deep=False)
    compiled = getattr(model.optimizer, "inner_optimizer", model.optimizer)  # (loss scaling)
    given = params.get("optimizer")
    scaling = keras.optimizers.LossScaleOptimizer
    label = repr(given) if isinstance(given, str) else getattr(given, "__name__",
                                                               type(given).__name__)
    if isinstance(given, scaling):  # (its optimizer's class; what it scales by is its own)
        given = type(given.inner_optimizer)
        label = f"LossScaleOptimizer({given.__name__})"
    if compiled is None or (inspect.isclass(given) and issubclass(given, scaling)):
        return
    differs, held_shown = [], []
    config = compiled.get_config()
    if isinstance(given, (str, type, keras.optimizers.Optimizer)) and not _same(
            given, _declared_default(est, "optimizer")):
        if objects.optimizer_class(given) is not type(compiled):
            differs.append(f"optimizer={label}")
        elif isinstance(given, keras.optimizers.Optimizer):  # its settings, routed ones over
            wanted = {**given.get_config(), **routed(params, "optimizer")}
            unlike = [key for key in given.get_config() if key != "name" and (
                _unlike(wanted[key], config.get(key, wanted[key])))]
            if unlike:
                differs.append(f"optimizer={type(given).__name__}({unlike[0]}="
                               f"{wanted[unlike[0]]!r})")
    for key, value in routed(params, "optimizer").items():
        held = _compiled_setting(config, key)
        if key.count("__") > 1 or (key not in config and held is None) or _same(
                value, _declared_default(est, f"optimizer__{key}")):
            continue
        if _unlike(value, held):
            differs.append(f"optimizer__{key}={_shown(value)}")
            held_shown.append(f"{key}={held:.6g}" if _numeric(held) else f"{key}={_shown(held)}")
    if differs:
        held = f" ({', '.join(held_shown)})" if held_shown else ""
        raise ValueError(
            f"{', '.join(differs)} was given, but the model was compiled with "
            f"{type(compiled).__name__}{held}, which would train instead: the estimator's "
            "optimizer parameters reach only a model it compiles (a search over them would "
            "search nothing). Build the model uncompiled (the estimator then compiles it "
            "with them), or leave them out" + (
                "; a network given as model= (est.model_ to fine-tune, say) is trained as "
                "compiled: compile it with the optimizer first, model.compile(optimizer=..., "
                "loss=...)." if isinstance(getattr(est, "model", None), keras.Model) else "."))


def _compiled_setting(config, key):
    """The compiled optimizer's setting a routed ``key`` names: its own
    (``learning_rate``), or an argument of the schedule it holds
    (``learning_rate__decay_rate``, from the schedule's config); None where
    it holds none."""
    head, _, argument = key.partition("__")
    if not argument:
        return config.get(key)
    schedule = config.get(head)
    return schedule.get("config", {}).get(argument) if isinstance(schedule, dict) else None


def _unlike(value, held):
    """Whether a number, name or learning-rate schedule ``value`` differs from
    the compiled ``held`` (a schedule's config there, as a dict). Schedules are
    compared by class and config (one that gives none is not compared)."""
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        if not isinstance(held, dict):
            return True  # a schedule given, a constant rate compiled
        try:
            config = value.get_config()
        except NotImplementedError:
            return False
        held_config = held.get("config") or {}  # (setting by setting: tuples as lists)
        return held.get("class_name") != type(value).__name__ or any(
            _unlike(v, held_config.get(k, v)) for k, v in config.items() if k != "name")
    if isinstance(held, dict):  # a schedule compiled: a constant rate or another class given
        return _numeric(value) or (inspect.isclass(value) and value.__name__ != held.get(
            "class_name"))
    if inspect.isclass(value) and issubclass(value, keras.optimizers.schedules.
                                              LearningRateSchedule):
        return True  # a schedule class given, a constant rate compiled
    if isinstance(value, (list, tuple)) and isinstance(held, (list, tuple)):  # (boundaries)
        return len(value) != len(held) or any(map(_unlike, value, held))
    return (isinstance(value, (bool, str, numbers.Number))
            and not (_same(value, held) or _close(value, held)))


def _shown(value):
    """A setting as messages show it: a schedule (or its config) by its class."""
    if isinstance(value, dict):
        return f"{value.get('class_name')}(...)"
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        return f"{type(value).__name__}(...)"
    if inspect.isclass(value):
        return f"{value.__name__}(...)"
    return repr(value)


def _same(a, b):
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def _numeric(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _close(a, b):
    return _numeric(a) and _numeric(b) and abs(a - b) <= 1e-6 * max(abs(a), abs(b))


def _learnt(name, meta):
    """Whether a builder's argument names what a fit learns (meta's keys:
    scikit-learn's fitted attributes end in an underscore)."""
    return name in (meta or ()) or (name.endswith("_") and not name.startswith("_"))


def _given(name, params, compile_args):
    """A builder's argument ``name``: the parameter, but for an optimizer
    instance, or one given with routed ``optimizer__`` values, the copy this fit
    compiles with (the user's own object never trains, as for a network
    keraslearn compiles; a name or a class alone stays as given)."""
    value = params[name]
    if name != "optimizer" or compile_args is None or (
            not isinstance(value, keras.optimizers.Optimizer)
            and not routed(params, "optimizer")):
        return value
    return compile_args["optimizer"]


def builder_kwargs(est, builder, params, meta, compile_args, dry=False):
    """The arguments the builder declares, from the parameters; with ``dry``
    only checked (names that go nowhere raise, before TensorFlow)."""
    names, var_kw = builder_names(builder)
    model_kwargs = routed(params, "model")
    extras = {k: v for k, v in est._kwargs.items() if "__" not in k}
    signature = inspect.signature(builder).parameters
    special = {"meta": meta, "compile_kwargs": compile_args, "params": params}
    kwargs = {name: value for name, value in special.items() if name in signature}
    for name in names:
        if name in model_kwargs:
            kwargs[name] = model_kwargs[name]
        elif name in params and name not in ("model", "build_fn"):
            if _builder_value(est, builder, name, params[name], signature[name].default,
                              warn=not dry):
                kwargs[name] = _given(name, params, compile_args)
        elif signature[name].default is inspect.Parameter.empty:
            raise TypeError(
                f"The model builder {getattr(builder, '__name__', builder)!r} needs "
                f"argument {name!r}: " + (
                    f"the estimator learns it from the data: declare an argument meta and "
                    f"read meta[{name!r}]" if _learnt(name, meta) else
                    f"pass it to the estimator as {name}=... or model__{name}=...")
            )
    if var_kw:
        # As in scikeras, ``**kwargs`` also receives meta, compile_kwargs and params,
        # but for a keras.Model class, whose ``**kwargs`` go to Keras' own base
        # (name, dtype, trainable), which refuses any other: the parameters given
        # (Keras names those it does not take), not meta (unless named).
        network_class = inspect.isclass(builder) and issubclass(builder, keras.Model)
        for given in ((model_kwargs, extras) if network_class else (special, model_kwargs,
                                                                    extras)):
            kwargs.update({k: v for k, v in given.items() if k not in kwargs})
        return kwargs
    builder_name = getattr(builder, "__name__", type(builder).__name__)
    given = [k for k in special if k in model_kwargs or k in extras]
    if given:
        raise ValueError(f"Invalid parameter {given[0]!r}: the estimator gives the model "
                         f"builder {builder_name!r} its {given[0]} itself, at each fit.")
    for key in model_kwargs:
        if key not in names:
            raise ValueError(
                f"Invalid parameter model__{key}: the model builder {builder_name!r} "
                f"does not take {key!r}.{suggest(key, names)}"
            )
    for key in extras:
        if key not in names:
            raise unknown_name_error(est, key, names, params["optimizer"], params["loss"])
    return kwargs
