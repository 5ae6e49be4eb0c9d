"""Which networks and compile settings the dense chain trainer can run
(``_dense_chain.py``): a chain of Keras' own ``Dense`` layers, the kernel
penalties, losses and compile settings whose computation it writes as Keras
runs it. Anything else answers None, and trains through Keras' fit.
"""

import functools
import json

from .._tf import keras, tf
from ._keras_callbacks import BATCH_HOOKS, runs_hooks
from ._layers import defined_by_keras_or_keraslearn, keras_layers_only
from ._losses import INDEX, picked_by_shape, target_kind
from ._warm_keys import config_says_all

_CAST_L2 = ("keraslearn.neural_network._callbacks", "CastL2")
_FLOATS = ("float32", "float64")
# Activations that read their input's static width, which the chain leaves open.
_WIDTH_BOUND_ACTIVATIONS = ("glu",)
# Reductions of a loss to one number (None and "none" keep one value a row).
_SCALAR_REDUCTIONS = ("sum", "sum_over_batch_size", "mean", "mean_with_sample_weight")

# Keras' loss functions, and the loss class that computes the same (a loss
# compiled by name is wrapped by Keras into a Loss of the same reduction).
_LOSS_CLASSES = {
    keras.losses.binary_crossentropy: keras.losses.BinaryCrossentropy,
    keras.losses.categorical_crossentropy: keras.losses.CategoricalCrossentropy,
    keras.losses.sparse_categorical_crossentropy: keras.losses.SparseCategoricalCrossentropy,
    keras.losses.mean_squared_error: keras.losses.MeanSquaredError,
    keras.losses.mean_absolute_error: keras.losses.MeanAbsoluteError,
}


def dense_layers(model):
    """``(dense, dropouts)``: the model's Dense layers in the order they run,
    and for each position between them (before the first, ..., after the
    last) the Dropout layers of a positive rate run there, in order; None
    when the model is not a plain chain of them."""
    if not keras_layers_only(model):
        return None
    layers = layers_in_order(model)
    if layers is None or not all(layer.built for layer in model.layers):
        return None
    kinds = (keras.layers.Dense, keras.layers.Dropout)
    if not layers or any(type(layer) not in kinds for layer in layers):
        return None
    # A layer a Sequential runs twice would share its weights.
    if len({id(layer) for layer in layers}) != len(layers):
        return None
    dense, dropouts, here = [], [], []
    for layer in layers:
        if type(layer) is keras.layers.Dropout:
            if not _plain_dropout(layer):
                return None
            if layer.rate > 0:  # else it returns its inputs, drawing no seed
                here.append(layer)
        elif _plain_dense(layer):
            dense.append(layer)
            dropouts.append(tuple(here))
            here = []
        else:
            return None
    dropouts.append(tuple(here))
    if not dense or len({layer.compute_dtype for layer in layers}) != 1:
        return None
    # Only the dropouts' seed states may be other variables than the weights.
    seeds = {id(d.seed_generator.state) for group in dropouts for d in group}
    if {id(v) for v in model.non_trainable_variables} != seeds:
        return None
    return dense, tuple(dropouts)


def layers_in_order(model):
    """The layers a built model of one input and one output runs, in order,
    each on the last one's outputs: a ``keras.Sequential``'s (its graph is
    made again at every ``add``, so layers' first calls need not link up),
    or a functional model's of Keras' own layers calling them once each from
    its input to its output; else None."""
    if not getattr(model, "built", False):
        return None
    sequential = type(model) is keras.Sequential
    if not sequential and (type(model).__name__ != "Functional"
                           or not keras_layers_only(model)):
        return None
    try:
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            return None
    except (AttributeError, ValueError):  # a model without an input of its own
        return None
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if sequential:
        return layers
    try:
        previous = model.inputs[0]
        for layer in layers:
            if layer.input is not previous:
                return None
            previous = layer.output
    except (AttributeError, ValueError):  # a layer called more than once
        return None
    return layers if previous is model.outputs[0] else None


def _plain_dense(layer):
    return (
        layer.trainable and penalty_kind(layer) is not None
        and layer.bias_regularizer is None and layer.activity_regularizer is None
        and layer.kernel_constraint is None and layer.bias_constraint is None
        # Keras computes with those its variables were made with (set on a
        # built layer, the layer's own are not used)
        and all(getattr(v, "constraint", None) is None for v in layer.trainable_variables)
        and layer.kernel.regularizer is layer.kernel_regularizer
        and (layer.bias is None or layer.bias.regularizer is None)
        and not layer.lora_enabled and layer.quantization_mode is None
        and layer.compute_dtype == layer.variable_dtype and layer.compute_dtype in _FLOATS
        # (one of the user's, a partial or an object, is not serialized: that fails,
        # or warns of a lambda)
        and defined_by_keras_or_keraslearn(layer.activation)
        and isinstance(keras.activations.serialize(layer.activation), str)
        and keras.activations.get(keras.activations.serialize(layer.activation))
        is layer.activation
        and keras.activations.serialize(layer.activation) not in _WIDTH_BOUND_ACTIVATIONS
    )


def shapes_as_keras(spec, dense, loss):
    """Whether the chain, whose traces leave widths open, computes on data of
    ``spec`` ``(x, y, sample_weight)`` what Keras' fit computes: Keras reads
    the output's static width to give targets the output's rank and to check
    their shape. Rows of features (2-D x, in the layers' dtype) with targets
    of the output's width, or class indices for a loss that takes them, and
    as many features as the first kernel has rows; any other data trains
    through Keras' fit."""
    x, y, units = spec[0], spec[1], dense[-1].units
    if x.shape.rank != 2 or x.dtype.name != dense[0].compute_dtype:
        return False
    if x.shape[-1] != dense[0].kernel.shape[0]:
        return False  # Keras' fit says that the input has the wrong width
    if y.shape.rank == 2 and y.shape[-1] == units:
        return True
    return units > 1 and target_kind(loss) == INDEX and (
        y.shape.rank == 1 or y.shape.rank == 2 and y.shape[-1] == 1)


def _plain_dropout(layer):
    """Whether a Dropout layer drops units of the whole input (no noise
    shape) at a rate below 1, from its own seed generator's state."""
    if layer.noise_shape is not None or not 0 <= layer.rate < 1:
        return False
    if layer.rate == 0:
        return True
    state = getattr(getattr(layer, "seed_generator", None), "state", None)
    return state is not None and state.dtype == "int64" and tuple(state.shape) == (2,)


def penalty_kind(layer):
    """How the layer's kernel penalty joins the loss: "none", "l2" (Keras'
    L2, in float32 networks) or "cast_l2" (keraslearn's L2 cast to float32,
    for float64 networks); None for any other regularizer."""
    regularizer = layer.kernel_regularizer
    if regularizer is None:
        return "none"
    if type(regularizer) is keras.regularizers.L2 and layer.variable_dtype == "float32":
        return "l2"
    if (type(regularizer).__module__, type(regularizer).__name__) == _CAST_L2:
        return "cast_l2"
    return None


def chain_loss(model):
    """The Loss object Keras' compiled loss calls, or None."""
    identifier = model.loss
    if picked_by_shape(identifier):
        return None  # chosen by Keras from the targets' shape
    try:
        loss = keras.losses.get(identifier)
    except (ValueError, TypeError):
        return None
    if isinstance(loss, keras.losses.Loss):
        # Keras' own, or keraslearn's (the ready MLPs' half squared error).
        own = defined_by_keras_or_keraslearn(type(loss))
        return loss if own and loss.reduction in _SCALAR_REDUCTIONS else None
    cls = _LOSS_CLASSES.get(loss)
    return None if cls is None else cls()


def plain_compile(model, config):
    """Whether the compile settings (``config``, the model's compile config)
    leave the chain's loss alone: no weighted metrics, loss weights, eager
    run or XLA."""
    return (
        not config.get("weighted_metrics") and config.get("loss_weights") is None
        and not model.run_eagerly and not model.jit_compile  # (as set after compile too)
    )


def chain_metrics(model, config, y_shape):
    """The compiled metrics (``config``, the model's compile config) as
    ``(identifier, name)`` pairs when each is a metric whose state starts at
    zeros, of fixed shapes, made with the metric (``MeanMetricWrapper``: the
    accuracies, ``"mae"``, ``"mse"``, the crossentropies, ...; and the counts
    over thresholds of ``"auc"``, ``"precision"``, ``"recall"``, ...), given
    by a name or as an object of Keras' own class: :func:`chain_metric` of
    the pair is the metric Keras' compile makes, with ``"accuracy"`` (or
    ``"acc"``) resolved as Keras resolves it for targets of shape
    ``y_shape``. An object's identifier is its serialised config without its
    name (``AUC()`` is named "auc_21" by Keras' counter: names do not change
    what is computed, and each fit logs its own). [] without metrics; None
    for any other metric."""
    metrics = config.get("metrics")
    if not metrics:
        return []
    metrics = [metrics] if isinstance(metrics, (str, dict)) else metrics
    if not isinstance(metrics, (list, tuple)):
        return None
    out = []
    for given in metrics:
        if isinstance(given, str):
            pair = (_accuracy(model, y_shape) if given.lower() in ("accuracy", "acc")
                    else given), given
        else:
            pair = _metric_object(given)
        if pair is None or not _zero_started(pair[0]):
            return None
        out.append(pair)
    # (two named alike: Keras' compile numbers the second's logs, precision_1)
    return out if len({name for _, name in out}) == len(out) else None


def _metric_object(config):
    """``(identifier, name)`` of a serialised metric object of Keras' own
    class whose settings are plain values (no function of the user's inside
    a ``MeanMetricWrapper``), or None."""
    if not (isinstance(config, dict) and config.get("module") == "keras.metrics"
            and config.get("registered_name") is None
            and isinstance(config.get("config"), dict)):
        return None
    settings = dict(config["config"])
    name = settings.pop("name", None)
    if not isinstance(name, str) or any(isinstance(v, dict) for v in settings.values()):
        return None
    return json.dumps({**config, "config": settings}, sort_keys=True), name


def _accuracy(model, y_shape):
    """The accuracy Keras compiles for ``"accuracy"``
    (``keras.src.trainers.compile_utils.get_metric``), by its metric name."""
    out_shape = model.outputs[0].shape
    if out_shape[-1] == 1:
        return "binary_accuracy"
    if len(y_shape) < len(out_shape) or y_shape[-1] == 1 and out_shape[-1] > 1:
        return "sparse_categorical_accuracy"
    return "categorical_accuracy"


# Keras' metrics counting over thresholds: their variables, made with them,
# start at zeros (metrics that make theirs at their first update, such as
# R2Score or F1Score, are not among them).
_COUNTING_METRICS = (
    keras.metrics.AUC, keras.metrics.Precision, keras.metrics.Recall,
    keras.metrics.TruePositives, keras.metrics.TrueNegatives, keras.metrics.FalsePositives,
    keras.metrics.FalseNegatives,
)


@functools.lru_cache(maxsize=64)
def _zero_started(identifier):
    """Whether metric ``identifier`` (of :func:`chain_metrics`) is a mean
    over samples (a total and a count) or one of the counting metrics, whose
    state starts at zeros and is made with it, of one number in the metric's
    dtype (the chain logs floats: not Recall(thresholds=[0.3, 0.7]), nor a
    float64 AUC, whose results are float32)."""
    try:
        metric = chain_metric(identifier, "metric")
    except (ValueError, TypeError):
        return False
    if not metric.variables or not (isinstance(metric, keras.metrics.MeanMetricWrapper)
                                    or type(metric) in _COUNTING_METRICS):
        return False
    result = metric.result()
    # (an object's copy is made from its config: one it describes whole)
    return (not identifier.startswith("{") or config_says_all(metric)) and (
        tuple(result.shape) == () and result.dtype == metric.dtype)


def chain_metric(identifier, name):
    """The metric Keras' compile makes for ``(identifier, name)`` of
    :func:`chain_metrics`."""
    if identifier.startswith("{"):  # an object's config (Keras' own class)
        config = json.loads(identifier)
        return keras.metrics.deserialize({**config, "config": {**config["config"], "name": name}})
    metric = keras.metrics.get(identifier)
    metric.name = name
    return metric


# keraslearn's own callbacks whose rules the traced loop runs itself: the
# guard against a loss that is not finite, and the ready MLPs' stopping rule
# on the training loss.
_GUARD = ("keraslearn._engine._train", "NonFiniteLoss")
_STOPPING = ("keraslearn.neural_network._callbacks", "NoImprovementStopping")
# Callbacks run between epochs: those whose every effect is known (they read
# the epoch's logs, the model's weights and its compiled metrics, save the
# model, and set the weights, the learning rate or stop_training). Others, the
# user's own, may read what only Keras' fit keeps (its metrics' states): they
# train through it.
_OWN_EPOCH_CALLBACKS = frozenset([
    *(("keraslearn.neural_network._callbacks", name)
      for name in ("NoImprovementStopping", "HeldOutScore", "InvScalingLearningRate",
                   "PlateauLearningRate")),  # (Keras' ReduceLROnPlateau)
    ("keraslearn.tracking._callback", "MLflowCallback"),  # logs the epoch's logs
])
_KERAS_EPOCH_CALLBACKS = (keras.callbacks.EarlyStopping, keras.callbacks.ReduceLROnPlateau,
                          keras.callbacks.LearningRateScheduler, keras.callbacks.CSVLogger)


def _kind(callback):
    return type(callback).__module__, type(callback).__name__


def saves_the_model(callback):
    """Whether the callback saves the model (its optimizer's state with it)."""
    return type(callback) is keras.callbacks.ModelCheckpoint


def _between_epochs(callback):
    """Whether ``callback`` can run between epochs of the chain's fit."""
    if saves_the_model(callback):
        # Its batch hook saves only for an integer save_freq.
        return callback.save_freq == "epoch" and not runs_hooks(
            callback, BATCH_HOOKS, inert=("on_train_batch_end",))
    return (_kind(callback) in _OWN_EPOCH_CALLBACKS or type(callback) in _KERAS_EPOCH_CALLBACKS
            ) and not runs_hooks(callback, BATCH_HOOKS)


def chain_callbacks(callbacks):
    """``(stopping, between_epochs)`` for a fit's callbacks: the ready MLPs'
    stopping rule on the training loss when it is the only one (the traced
    loop runs it), else None and the callbacks to run between epochs (the
    guard's rule is the loop's own); None when one of them cannot run so."""
    callbacks = [cb for cb in callbacks if _kind(cb) != _GUARD]
    if not all(_between_epochs(cb) for cb in callbacks):
        return None
    if len(callbacks) == 1 and _kind(callbacks[0]) == _STOPPING:
        rule = callbacks[0]
        if (rule.monitor == "loss" and rule.sign == -1.0 and not rule.restore_best
                and not rule.verbose):
            return rule, []
    return None, callbacks


def build_compiled_metrics(model, spec):
    """Build the model's compiled metrics, as Keras' fit does at its first
    step, on a batch of zeros of the data's ``spec`` (their states then
    reset): callbacks such as EarlyStopping read their directions from them."""
    x, y = (tf.zeros([1, *s.shape[1:]], s.dtype) for s in spec[:2])
    model.compute_metrics(x, y, model(x))
    model.reset_metrics()
