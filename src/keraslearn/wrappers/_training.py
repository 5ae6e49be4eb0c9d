"""Training with a low fixed cost per fit.

For a small model most of a short fit is spent tracing Keras' train function,
and every new model (every clone in a grid search) traces again. Here the
first fit of an architecture keeps a *template*: a clone of the model compiled
the same way, whose traced train and test functions stay warm. A later fit of
the same architecture copies its fresh weights and optimizer state into the
template, trains it with ``fit`` (callbacks, validation and history as usual),
and copies the trained state back. Results are those of training the model
itself; only the tracing is shared.

Models that cannot be cloned from their config, large models, and concurrent
fits of one architecture in threads train directly instead.
"""

import json
import threading
import types
from collections import OrderedDict

from .. import _runtime
from .._runtime import keras

MAX_TEMPLATES = 8
MAX_TEMPLATE_PARAMS = 2_000_000
STEPS_PER_EXECUTION = 64

_templates = OrderedDict()
_templates_lock = threading.Lock()


class _Template:
    def __init__(self, model, steps_per_execution):
        self.model = keras.models.clone_model(model)
        config = keras.saving.deserialize_keras_object(model.get_compile_config())
        # Losses are stateless: share the object, whose dtype a config drops.
        config["loss"] = model.loss
        config["steps_per_execution"] = steps_per_execution
        self.model.compile(**config)
        self.model.optimizer.build(self.model.trainable_variables)
        self.lock = threading.Lock()


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


def _canonical(obj, rename):
    if isinstance(obj, dict):
        return {k: _canonical(v, rename) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_canonical(v, rename) for v in obj]
    if isinstance(obj, str):
        return rename.get(obj, obj)
    return obj


def architecture_key(model):
    """A key equal for models built the same way, whatever their layer names.

    Returns None when the model cannot be described by its config.
    """
    try:
        config = model.get_config()
        names = _layer_names(config, [model.name])
        rename = {name: f"#{i}" for i, name in enumerate(dict.fromkeys(names))}
        config = _canonical(config, rename)
        compile_config = dict(model.get_compile_config() or {})
        optimizer = dict(compile_config.get("optimizer") or {})
        opt_config = dict(optimizer.get("config") or {})
        # The learning rate lives in an optimizer variable (copied per fit), and
        # the optimizer's name does not change what is computed.
        if isinstance(opt_config.get("learning_rate"), (int, float)):
            opt_config.pop("learning_rate")
        opt_config.pop("name", None)
        optimizer["config"] = opt_config
        compile_config["optimizer"] = optimizer
        loss_dtype = getattr(model.loss, "dtype", None)
        return json.dumps(
            [type(model).__name__, config, compile_config, str(loss_dtype)],
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


# Keras layers that run code Keras does not own (which may draw from
# TensorFlow's stateful random ops).
_FOREIGN_KERAS_LAYERS = ("Lambda", "TFSMLayer")


def _all_layers(model):
    """The model itself and every layer in it, nested models' layers included."""
    pending = [model]
    while pending:
        layer = pending.pop()
        yield layer
        pending.extend(getattr(layer, "layers", ()))


def keras_layers_only(model):
    """Whether every layer of ``model`` (nested ones included) and the model
    itself are Keras' own classes, none of which runs foreign code: their
    random ops then draw from Keras' seed generators only."""
    return all(
        type(layer).__module__.startswith("keras.")
        and type(layer).__name__ not in _FOREIGN_KERAS_LAYERS
        for layer in _all_layers(model)
    )


def code_identity(model):
    """The classes and functions the model's computation runs, as objects.

    Two models with equal configs run different code when a class or function
    they use was redefined in between (a notebook cell run again): their
    traced functions must not be shared.
    """
    out = []
    for layer in _all_layers(model):
        out.append(type(layer))
        out.extend(_code(getattr(layer, name, None)) for name in _CODE_ATTRIBUTES)
    loss = getattr(model, "loss", None)
    for item in loss if isinstance(loss, (list, tuple)) else [loss]:
        out.append(_code(item))
    return tuple(out)


def _variables(model):
    out = []
    for layer in model.layers:
        out.extend(layer.variables)
    return out


def _same_shapes(a, b):
    return len(a) == len(b) and all(tuple(u.shape) == tuple(v.shape) for u, v in zip(a, b))


def copy_network_state(src, dst):
    """Assign src's layer variables (weights, statistics, seed states) to dst's,
    or only its weights when dst adds or drops layers that hold none (dropout,
    augmentation).

    Raises ValueError when the two networks' weights differ in number or shape.
    """
    if _same_shapes(_variables(src), _variables(dst)):
        pairs = zip(_variables(src), _variables(dst))
    elif _same_shapes(src.weights, dst.weights):
        pairs = zip(src.weights, dst.weights)
    else:
        raise ValueError("the networks' weights differ in number or shape")
    for a, b in pairs:
        b.assign(a)


def copy_state(src, dst):
    """Assign src's layer variables and optimizer variables to dst's."""
    pairs = list(zip(_variables(src), _variables(dst)))
    pairs += list(zip(src.optimizer.variables, dst.optimizer.variables))
    for a, b in pairs:
        b.assign(a)


def _compatible(a, b):
    return _same_shapes(_variables(a), _variables(b)) and _same_shapes(
        a.optimizer.variables, b.optimizer.variables
    )


def _steps_per_execution(model, fit_kwargs):
    """Steps run per call of the traced train function.

    Several steps per call (in one TensorFlow loop) remove most of Keras'
    per-step Python cost and compute exactly the same updates; only batch-level
    callbacks would notice (they see every n-th batch), so it is used only when
    no callback has batch-level hooks, nothing is printed per batch, and the
    user left the model's own setting at 1.
    """
    config = model.get_compile_config() or {}
    if config.get("steps_per_execution", 1) != 1 or fit_kwargs.get("verbose", 0):
        return config.get("steps_per_execution", 1)
    base = keras.callbacks.Callback
    for callback in fit_kwargs.get("callbacks") or ():
        for hook in ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin",
                     "on_batch_end", "on_test_batch_begin", "on_test_batch_end"):
            if getattr(type(callback), hook, None) is not getattr(base, hook):
                return 1
    return STEPS_PER_EXECUTION


def _get_template(model, data_spec, steps_per_execution):
    if model.count_params() > MAX_TEMPLATE_PARAMS:
        return None
    key = architecture_key(model)
    if key is None:
        return None
    # One template per element spec too: a traced step is specific to it.
    key = (key, code_identity(model), repr(data_spec), steps_per_execution)
    with _templates_lock:
        template = _templates.get(key)
        if template is not None:
            _templates.move_to_end(key)
            return template
    try:
        # Cloning draws layer seeds, which the copied state then replaces.
        with _runtime.generators_untouched():
            template = _Template(model, steps_per_execution)
    except Exception:  # noqa: BLE001 - fall back to training the model itself
        return None
    if not _compatible(model, template.model):
        return None
    with _templates_lock:
        _templates[key] = template
        while len(_templates) > MAX_TEMPLATES:
            _templates.popitem(last=False)
    return template


def fit_model(model, dataset, share=True, **fit_kwargs):
    """Train a compiled ``model`` on ``dataset``; return Keras' History dict.

    ``share=False`` trains the model itself, never a template: a template's
    traced function keeps the random state it captured (Keras' global seed
    generator, for layers that draw from it), which a seeded fit must reset.
    """
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    template = share and _get_template(
        model, dataset.element_spec, _steps_per_execution(model, fit_kwargs)
    )
    if not template or not template.lock.acquire(blocking=False):
        return model.fit(dataset, **fit_kwargs).history
    try:
        copy_state(model, template.model)
        template.model.stop_training = False
        history = template.model.fit(dataset, **fit_kwargs).history
        copy_state(template.model, model)
        return history
    finally:
        template.lock.release()


def clear_templates():
    """Forget every template (frees their variables and traced functions)."""
    with _templates_lock:
        _templates.clear()
