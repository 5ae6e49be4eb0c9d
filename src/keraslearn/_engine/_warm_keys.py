"""Keys of the trace cache's warm copies (``_trace_cache.py``): what makes two
networks alike enough to share one, whatever their layers' names, and the
code they run.
"""

import functools
import inspect
import json
import types

from .._tf import keras
from . import _nested as nested
from ._keras_objects import _settings_held, loss_key
from ._layers import all_layers, defined_by_keras_or_keraslearn, keras_layers_only, output_keys


def _layer_names(config, names):
    """Every layer name in a model config, nested models and input layers included."""
    if isinstance(config, dict):
        for layer in config.get("layers", ()) if isinstance(config.get("layers"), list) else ():
            if isinstance(layer, dict):
                name = layer.get("name") or (layer.get("config") or {}).get("name")
                if isinstance(name, str):
                    names.append(name)
        for value in config.values():
            _layer_names(value, names)
    elif isinstance(config, list):
        for value in config:
            _layer_names(value, names)
    return names


# Where a model config names layers (their own names, and the references to them).
_NAMING = ("name", "inbound_nodes", "input_layers", "output_layers")


def _named_like_settings(config, names):
    """Whether a setting in ``config`` (a string anywhere but where layers are
    named) spells one of the layer ``names``: Conv1D(padding="same",
    name="same") and Conv1D(padding="causal", name="causal") made one key."""
    if isinstance(config, dict):
        return any(_named_like_settings(value, names) for key, value in config.items()
                   if key not in _NAMING)
    if isinstance(config, list):
        return any(_named_like_settings(value, names) for value in config)
    return isinstance(config, str) and config in names


def _canonical(obj, rename, held_names=None):
    if isinstance(obj, dict):
        # Initializers run when a model is built, never while it trains (a warm
        # copy is given the model's weights), and a layer's seed (Dropout's) only
        # starts its seed generator, whose state is a variable copied with them:
        # seeded ones do not part architectures.
        held_names = {} if held_names is None else held_names
        canonical = {k: _canonical(v, rename, held_names) for k, v in obj.items()
                     if not (isinstance(k, str) and (k.endswith("_initializer") or k == "seed"))}
        held = canonical.get("config")
        module = str(obj.get("module", ""))
        if (module.startswith("keras.layers") or module.startswith("keras") and obj.get(
                "class_name") in ("Sequential", "Functional")) and isinstance(held, dict) and (
                isinstance(held.get("name"), str) and not held["name"].startswith("#")):
            # A layer (or model) a layer holds (Bidirectional's, TimeDistributed's,
            # an RNN's cell): Keras numbers its name at each build, so refits never matched.
            # Its name alone is numbered by first appearance (a renaming of every
            # equal string took an activation named alike too; one number for
            # all joined two wrappers sharing a layer with two holding their own).
            held["name"] = held_names.setdefault(held["name"], f"#held{len(held_names)}")
        return canonical
    if isinstance(obj, (list, tuple)):
        return [_canonical(v, rename, held_names) for v in obj]
    if isinstance(obj, str):
        return rename.get(obj, obj)
    return obj


def architecture_key(model):
    """A key equal for models built the same way, whatever their layer names.

    Returns None when the model cannot be described by its config: one that
    holds a class or function of the user's own (their configs may leave
    things out), or that the config API cannot describe.
    """
    try:
        config = model.get_config()
        compile_config = dict(model.get_compile_config() or {})
        # All Keras' (or keraslearn's): layers and what they hold, optimizer, metrics,
        # loss (a user's may read Python state a trace keeps). Eager: nothing to share.
        if model.run_eagerly or not (
                keras_layers_only(model) and _keras_objects_only(config)
                and all(map(_keras_code, nested.leaves(model.loss)))
                and _keras_objects_only({k: v for k, v in compile_config.items() if k != "loss"})):
            return None
        if not all(map(_made_alike, _serialised_metrics(compile_config.get("metrics")))):
            return None  # (a warm copy is compiled from the config, keyed by it)
        compile_config["jit_compile"] = model.jit_compile
        if any(hasattr(layer, "adapt") for layer in all_layers(model)):
            # A preprocessing layer adapted to data (Normalization, lookups)
            # computes with constants made from it, which no config names.
            return None
        names = _layer_names(config, [model.name])
        if _named_like_settings(config, set(names)):
            return None  # (renamed, a layer "relu" would rename a relu activation too)
        rename = {name: f"#{i}" for i, name in enumerate(dict.fromkeys(names))}
        config = _canonical(config, rename)
        optimizer = dict(compile_config.get("optimizer") or {})
        opt_config = dict(optimizer.get("config") or {})
        # The learning rate lives in an optimizer variable (copied per fit), and
        # the optimizer's name does not change what is computed.
        if isinstance(opt_config.get("learning_rate"), (int, float)):
            opt_config.pop("learning_rate")
        opt_config.pop("name", None)
        optimizer["config"] = opt_config
        compile_config["optimizer"] = optimizer
        # A model of several outputs logs each one's loss and metrics under its
        # name: a warm copy's names ("dense_1_loss") were the history's.
        outputs = output_keys(model)  # (a dict of outputs' keys)
        return json.dumps(
            [type(model).__name__, config, compile_config, loss_key(model.loss),
             list(outputs) if len(outputs) > 1 else None],
            sort_keys=True, default=repr,
        )
    except Exception:  # noqa: BLE001 - any model the config API cannot describe
        return None


# Layer attributes holding code (functions or objects) that a config names but
# does not carry: a notebook that redefines one keeps the same config.
_CODE_ATTRIBUTES = (
    "activation", "kernel_initializer", "bias_initializer", "kernel_regularizer",
    "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint",
)


def _code(obj):
    """What identifies the code of ``obj``: a function itself, else its class."""
    if obj is None:
        return None
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        return obj
    fn = getattr(obj, "fn", None)  # Keras' LossFunctionWrapper / MeanMetricWrapper
    return (type(obj), _code(fn)) if callable(fn) else type(obj)


def code_identity(model):
    """The classes and functions the model's computation runs, as objects.

    Two models with equal configs run different code when a class or function
    they use was redefined in between (a notebook cell run again): their
    traced functions must not be shared.
    """
    out = []
    for layer in all_layers(model):
        out.append(type(layer))
        out.extend(_code(getattr(layer, name, None)) for name in _CODE_ATTRIBUTES)
    loss = getattr(model, "loss", None)
    for item in loss if isinstance(loss, (list, tuple)) else [loss]:
        out.append(_code(item))
    return tuple(out)


def _keras_code(loss):
    """Whether a loss (a name, or a function or loss object) is Keras' or keraslearn's."""
    return loss is None or isinstance(loss, str) or defined_by_keras_or_keraslearn(
        loss if inspect.isroutine(loss) else type(loss))


def _keras_objects_only(config):
    """Whether every object a serialised config names is Keras' (or
    keraslearn's) own: a class of the user's (its module another package, or
    None for the training script's ``__main__``; a name registered under a
    package of the user's) is not, and neither is any function given as one
    (stored by its name alone, a function of the user's may share a Keras
    name; Keras' own, given by their names as strings, are plain strings)."""
    if isinstance(config, dict):
        if "class_name" in config and "module" in config:
            module, name = config["module"], config.get("registered_name")
            if config["class_name"] == "function" or not (isinstance(module, str) and (
                    module == "keras" or module.startswith(("keras.", "keraslearn.")))):
                return False
            if isinstance(name, str) and ">" in name and not name.startswith("keraslearn>"):
                return False
        return all(_keras_objects_only(value) for value in config.values())
    if isinstance(config, (list, tuple)):
        return all(map(_keras_objects_only, config))
    return True


def _serialised_metrics(value):
    """The serialised metric objects in a compile config's metrics (nested
    per output in lists or dicts)."""
    if isinstance(value, dict) and "class_name" in value:
        yield value
    elif isinstance(value, (list, tuple, dict)):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _serialised_metrics(item)


def _made_alike(config):
    """Whether the metric a serialised ``config`` makes is one its config
    describes whole (Keras' CosineSimilarity leaves its axis out: fits of
    axis=-1 and of axis=0 were keyed alike)."""
    try:
        return config_says_all(keras.metrics.deserialize(config))
    except Exception:  # noqa: BLE001 - one its class cannot make again: no warm copy
        return False


def config_says_all(metric):
    """Whether a metric's config names every setting it holds in dicts of plain
    values (a function's keyword arguments), so that one made from it computes
    alike: each is in the config, or its class writes it there once it differs
    (SparseTopKCategoricalAccuracy's from_sorted_ids only when True)."""
    config = metric.get_config()
    return all(key in config or _written_once_set(type(metric), key, value)
               for held in _settings_held(metric).values() for key, value in held.items())


def _written_once_set(cls, key, value):
    """Whether ``cls`` made with setting ``key`` other than ``value`` (a bool or
    an int) names it in its config: CosineSimilarity(axis=0)'s leaves it out."""
    if type(value) not in (bool, int):
        return False
    return _names_other(cls, key, (not value) if type(value) is bool else value + 1)


@functools.lru_cache(maxsize=64)
def _names_other(cls, key, other):
    try:
        return key in cls(**{key: other}).get_config()
    except Exception:  # noqa: BLE001 - not an argument of its constructor
        return False
