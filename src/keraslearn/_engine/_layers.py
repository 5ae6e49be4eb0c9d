"""Walking a model's layers, and the variables that hold a network's state."""

import contextlib
import os
import tempfile
import weakref

# Keras layers that run code Keras does not own (which may draw from
# TensorFlow's stateful random ops).
_FOREIGN_KERAS_LAYERS = ("Lambda", "TFSMLayer")


def all_layers(model):
    """The model itself and every layer in it, nested models' layers included."""
    pending = [model]
    while pending:
        layer = pending.pop()
        yield layer
        pending.extend(getattr(layer, "layers", ()))


def computing_layers(model):
    """``all_layers`` but the input layers and the Sequential and functional
    containers (models built on inputs: ``model.inputs``), which call their
    layers as those are, without casting to a dtype policy of their own (the
    global one when the model was built)."""
    from .._tf import keras

    for layer in all_layers(model):
        if not (isinstance(layer, keras.layers.InputLayer) or (
                isinstance(layer, keras.Model) and _built_on_inputs(layer))):
            yield layer


def _built_on_inputs(model):
    try:
        return bool(model.inputs)
    except (AttributeError, ValueError):  # a subclassed model: its call computes
        return False


def defined_by_keras(obj):
    """Whether a class or function is Keras' own (defined in a ``keras.`` module)."""
    return (getattr(obj, "__module__", None) or "").startswith("keras.")  # (None: exec'd)


def compile_config(model):
    """``model.get_compile_config()`` ({} when uncompiled), or None where Keras
    cannot serialise what it was compiled with (an object it does not know; a
    lambda whose source Python cannot find, as on a worker: OSError)."""
    try:
        return model.get_compile_config() or {}
    except Exception:  # noqa: BLE001 - whatever Keras' serialisation raises
        return None


def defined_by_keras_or_keraslearn(obj):
    """Whether a class or function is Keras' own or keraslearn's (defined in a
    ``keras.`` or ``keraslearn.`` module): code whose settings its config holds."""
    return (getattr(obj, "__module__", None) or "").startswith(("keras.", "keraslearn."))


def refuse_unpicklable(est, model):
    """Refuse to pickle ``est`` when ``model`` (its network) or its parameters
    hold a class of the user's that Keras, which makes a pickled network (or
    metric, optimizer) again from its config, finds only registered: the pickle
    was made, and failed where it was loaded (a Dask client waited on it for
    ever; a search's workers broke) with Keras' "Could not locate class"."""
    from ._cloning import unregistered_parameters  # (which imports this module)

    held = [] if model is None else _unregistered(model) + _unregistered_in_configs(model)
    names = sorted(set(held) | set(unregistered_parameters(est)))
    if names:
        raise TypeError(
            f"Cannot pickle {type(est).__name__}: its network or parameters hold {names}, "
            "classes or functions (activations, initializers, losses, metrics, ...) Keras "
            "makes again from their configs only when registered. Register them with "
            "@keras.saving.register_keras_serializable() in a module the pickling and the "
            "unpickling processes import: one registered in a script or notebook is not "
            "registered in a worker process (a search's, Dask's), which gets it by value.")


def _unregistered_in_configs(model):
    """The names of the user's unregistered objects the network's configs name
    (an activation function, an initializer, a loss or metric it was compiled
    with): Keras writes them without a package, and cannot find them again."""
    found = []

    def walk(part):
        if isinstance(part, dict):
            if "class_name" in part and "registered_name" in part and not str(
                    part.get("module") or "").startswith(("keras", "keraslearn")):
                name = (part.get("config") if part["class_name"] == "function"
                        else part.get("registered_name"))
                if isinstance(name, str) and ">" not in name:  # (registered: "package>name")
                    found.append(name)
            parts = part.values()
        else:
            parts = part if isinstance(part, (list, tuple)) else ()
        for inner in parts:
            walk(inner)

    for config in (model.get_config, model.get_compile_config):
        try:
            walk(config())
        except Exception:  # (a subclassed network without a config of its own)
            continue
    return found


# Where Keras' own layers hold the layers their configs name (a model's, a
# wrapper's, a recurrent layer's cell or cells).
_HELD_LAYERS = ("layers", "layer", "cell", "cells", "forward_layer", "backward_layer")


def _unregistered(layer):
    """The names of the unregistered classes of the user's among ``layer`` and
    the layers Keras makes again from its config: those Keras' own classes hold,
    and a registered class of the user's holds where it is one of Keras' models
    built on inputs (a Sequential or functional subclass), wrappers or recurrent
    layers; any other registered class makes its insides with its own code
    (``cls(**config)``)."""
    from .._tf import keras

    cls = type(layer)
    if not defined_by_keras_or_keraslearn(cls):
        registered = keras.saving.get_registered_object(keras.saving.get_registered_name(cls))
        if registered is not cls:
            return [cls.__name__]
        if not (isinstance(layer, (keras.layers.Wrapper, keras.layers.RNN))
                or isinstance(layer, keras.Model) and _built_on_inputs(layer)):
            return []
    found = []
    for name in _HELD_LAYERS:
        held = getattr(layer, name, None)
        for child in held if isinstance(held, (list, tuple)) else [held]:
            if isinstance(child, keras.layers.Layer):
                found += _unregistered(child)
    return found


def keras_own(obj):
    """Whether ``obj`` is of a class of Keras' own (its config describes it
    completely), not one of the user's."""
    return defined_by_keras(type(obj))


def keras_layers_only(model):
    """Whether every layer of ``model`` (nested ones included) and the model
    itself are Keras' own classes, none of which runs foreign code: their
    random ops then draw from Keras' seed generators only, and their configs
    describe them completely."""
    return all(
        keras_own(layer) and type(layer).__name__ not in _FOREIGN_KERAS_LAYERS
        for layer in all_layers(model)
    )


def layer_variables(model):
    """The variables of the model's layers: weights, statistics and seed states,
    then those a subclassed model made itself (``self.add_weight`` in its build)."""
    out = []
    for layer in model.layers:
        out.extend(layer.variables)
    held = {id(v) for v in out}
    return out + [v for v in model.variables if id(v) not in held]


def same_shapes(a, b):
    return len(a) == len(b) and all(tuple(u.shape) == tuple(v.shape) for u, v in zip(a, b))


def copy_network_state(src, dst):
    """Assign src's layer variables (weights, statistics, seed states) to dst's,
    or only its weights when dst adds or drops layers that hold none (dropout,
    augmentation).

    Raises ValueError when the two networks' weights differ in number or shape.
    """
    if same_shapes(layer_variables(src), layer_variables(dst)):
        pairs = zip(layer_variables(src), layer_variables(dst))
    elif same_shapes(src.weights, dst.weights):
        pairs = zip(src.weights, dst.weights)
    else:
        raise ValueError("the networks' weights differ in number or shape")
    for a, b in pairs:
        b.assign(a)


def copy_loaded_state(src, dst):
    """Give dst, a copy of src holding its weights, what Keras' loading sets
    beside weights, layer by layer as it loads them: the state of layers that
    derive it from their variables or assets (an adapted ``Normalization``'s
    constants, a lookup layer's vocabulary), through their own
    ``save_own_variables`` / ``load_own_variables`` and ``save_assets`` /
    ``load_assets``."""
    pairs = [(a, b) for a, b in zip(all_layers(src), all_layers(dst))
             if type(a) is type(b) and (hasattr(b, "finalize_state") or hasattr(b, "load_assets"))]
    with tempfile.TemporaryDirectory() if pairs else contextlib.nullcontext() as folder:
        for i, (a, b) in enumerate(pairs):
            store = {}
            a.save_own_variables(store)
            b.load_own_variables(store)
            if hasattr(a, "save_assets") and hasattr(b, "load_assets"):
                path = os.path.join(folder, str(i))
                os.mkdir(path)
                a.save_assets(path)
                b.load_assets(path)


def built_optimizer(model):
    """Build the optimizer's state of a compiled ``model`` (its slots colocated
    with the variables they follow), as its first training step would."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        another = optimizer_of_another(model)  # (a loss-scale wrapper's inner one)
        optimizer.build(model.trainable_variables)
        if not another:
            own_optimizer(model)


# The network each built optimizer is known to serve: built by keraslearn for it,
# by Keras for a copy or a loaded network, or trained with it by Keras' fit.
_OWNERS = weakref.WeakKeyDictionary()


def _optimizers(model):
    """``model``'s optimizer, and the one a loss-scale wrapper holds (mixed
    precision wraps the optimizer given to each compile anew)."""
    optimizer = getattr(model, "optimizer", None)
    inner = getattr(optimizer, "inner_optimizer", None)
    return [o for o in (optimizer, inner) if o is not None and getattr(o, "built", False)]


def own_optimizer(model, unless_known=False):
    """Record that ``model``'s optimizer, if built, is built for ``model``'s
    variables (``unless_known``: unless another network is known to own it)."""
    for optimizer in _optimizers(model):
        if not (unless_known and optimizer in _OWNERS):
            _OWNERS[optimizer] = weakref.ref(model)


def optimizer_of_another(model):
    """Whether ``model``'s optimizer is built and not known to serve ``model``
    (one instance a builder compiles every model with): Keras' fit checks it."""
    owners = [_OWNERS.get(optimizer) for optimizer in _optimizers(model)]
    return any(owner is None or owner() is not model for owner in owners)


def trainable_flags(model):
    """The trainable flag of each layer of ``model`` (``all_layers``' order)."""
    return [layer.trainable for layer in all_layers(model)]


def set_trainable_flags(model, flags):
    """Set ``model``'s layers' trainable flags (of a model of the same layers),
    from the outside in: a layer's flag sets the flags of the layers in it.
    Keras makes a subclassed model again from its ``__init__`` arguments
    (copied, cloned, pickled or loaded) without the layers frozen since."""
    layers = list(all_layers(model))
    if len(layers) == len(flags):
        for layer, flag in zip(layers, flags):
            if layer.trainable != flag:
                layer.trainable = flag


_FLAGS = "_trainable_flags"  # beside the networks of a pickled or saved estimator
_SEEDS = "_seed_states"


def with_trainable_flags(state):
    """An estimator's state with its networks' trainable flags beside them, and
    where a layer is frozen in a subclassed model, its optimizer's variables:
    Keras loads such a network with every layer trainable, builds the optimizer
    for all of them, and drops the saved state it then does not match. And the
    states of their seed generators (Dropout's draws so far), which Keras'
    files do not keep: a fit continued after a round trip drew the first fit's
    masks again."""
    from .._tf import keras

    def kept(model):
        flags = trainable_flags(model)
        # (a subclass building a functional network in its __init__ too: Keras
        # makes it again by calling that __init__, not from the layers' configs)
        subclassed = not all(flags) and any(
            isinstance(layer, keras.Model) and not defined_by_keras(type(layer))
            for layer in all_layers(model))
        return flags, [v.numpy() for v in _optimizer_state(model)] if subclassed else None

    models = {key: value for key, value in state.items() if isinstance(value, keras.Model)}
    if not models:
        return state
    # (beside the flags, not in their entries: a version that knows no seeds reads them)
    seeds = {key: [v.numpy() for v in _seed_states(model)] for key, model in models.items()}
    return {**state, _FLAGS: {key: kept(model) for key, model in models.items()},
            _SEEDS: seeds}


def restore_trainable_flags(state):
    """Put back (and take out of ``state``) what ``with_trainable_flags`` kept."""
    seeds = state.pop(_SEEDS, {})  # (none in files of older versions)
    for key, (flags, optimizer_state) in state.pop(_FLAGS, {}).items():
        model = state.get(key)
        if hasattr(model, "layers"):
            set_trainable_flags(model, flags)
            held, kept = _seed_states(model), seeds.get(key, ())
            if same_shapes(held, kept):
                for variable, value in zip(held, kept):
                    variable.assign(value)
            if (optimizer_state and getattr(model, "optimizer", None) is not None
                    and len(_optimizer_state(model)) != len(optimizer_state)):
                _rebuilt_optimizer(model, optimizer_state)


def _seed_states(model):
    """The states of ``model``'s seed generators: its variables that are not
    weights (Keras counts a generator's draws in its state)."""
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def _optimizer_state(model):
    optimizer = getattr(model, "optimizer", None)
    return list(optimizer.variables) if getattr(optimizer, "built", False) else []


def _rebuilt_optimizer(model, values):
    """Give ``model`` an optimizer built for the variables it trains, holding ``values``
    (its saved state), where they fit; else leave the one Keras built."""
    optimizer = model.optimizer
    try:
        fresh = type(optimizer).from_config(optimizer.get_config())
        fresh.build(model.trainable_variables)
        if not same_shapes(fresh.variables, values):
            return
        for variable, value in zip(fresh.variables, values):
            # (skops gives back bfloat16 arrays as raw 2-byte records)
            variable.assign(value.view(variable.dtype) if value.dtype.kind == "V" else value)
    except (TypeError, ValueError):  # (a dtype the stored values cannot take back)
        return
    model.optimizer = fresh


def copy_trainable_flags(src, dst):
    """Give dst, a copy of src made from its config, src's trainable flags.

    Raises ValueError when dst still trains other weights than src.
    """
    set_trainable_flags(dst, trainable_flags(src))
    if _trained(src) != _trained(dst):
        raise ValueError(
            "The keras.Model given as model cannot be copied for training: its copy, made "
            "from its config as Keras copies a model, trains other weights than it does (a "
            "weight frozen by itself, or a frozen layer Keras does not list in any "
            "model.layers). Give the function that builds the model as model= instead.")


def _trained(model):
    trainable = {id(v) for v in model.trainable_weights}
    return [id(v) in trainable for v in model.weights]


def training_variables(model):
    """Everything training changes: layer variables and the optimizer's."""
    optimizer = getattr(model, "optimizer", None)
    return layer_variables(model) + (list(optimizer.variables) if optimizer else [])


def copy_training_state(src, dst):
    """Assign src's layer variables and optimizer variables to dst's."""
    for a, b in zip(training_variables(src), training_variables(dst), strict=True):
        b.assign(a)


def trainable_positions(model):
    """Which of ``model``'s variables it trains, by position (its variables'
    paths change when it is copied, pickled or loaded; their order does not)."""
    trainable = {id(v) for v in model.trainable_variables}
    return [i for i, v in enumerate(model.variables) if id(v) in trainable]


def output_keys(model):
    """The names targets and losses are given by for each of ``model.outputs``:
    the keys of a model whose outputs are a dict (Keras names those outputs
    after their layers), else its output names."""
    from .._tf import keras

    names = list(getattr(model, "output_names", None) or ())
    try:
        structure = model.output
    except (AttributeError, ValueError):
        return names
    if not isinstance(structure, dict):
        return names
    # (by position, in the order Keras flattens them into model.outputs: one
    # tensor given twice is two outputs; found in review)
    paths = [path for path, _ in keras.tree.flatten_with_path(structure)]
    if len(paths) != len(names) or any(len(path) != 1 for path in paths):
        return names  # (nested dicts: as Keras names them)
    return [str(path[0]) for path in paths]
