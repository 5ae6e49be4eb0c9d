"""Plain dense networks trained by one traced function per depth, whatever
their widths.

A search over layer widths builds one architecture per candidate, and Keras
traces its train function again for each (a few tenths of a second: most of
a small fit), which the trace cache cannot share, as its warm copies hold
variables of fixed shapes. A *plain dense chain* is trained here instead:

- a ``Sequential`` or functional model of Keras' ``Dense`` layers only, one
  after the other, with no regulariser, constraint, LoRA or quantisation, in
  float32 or float64, with a built-in activation;
- compiled with ``Adam`` (no AMSGrad), ``SGD`` or ``RMSprop`` (not centred) at a
  constant learning rate,
  with no weight decay, clipping, EMA, loss scaling or gradient accumulation,
  one of Keras' own losses, no metrics, no XLA, not run eagerly;
- for a fit with nothing per batch or per epoch to call back (no callbacks,
  no validation, nothing printed) on data a ``tf.data`` pipeline holds whole.

The layers' weights and the optimizer's slots are arguments of a traced
function whose shapes are left open, so one trace serves every width (one
per depth, activations, loss, update rule, data spec and device). It runs
what Keras' ``train_step`` and the optimizer's ``update_step`` run, op for
op (``matmul``, bias, activation; the compiled loss cast to float32; the
optimizers' updates as Keras writes them), on the same batches in the same
order (the dataset's iterators made as Keras' epoch iterator makes them),
and averages the epoch's loss over batches weighted by their rows, as
Keras' loss tracker does. The trained weights and optimizer state are then
assigned to the model's own variables: the fitted network is the one Keras'
fit gives, to float32 rounding (TensorFlow may fuse a layer's matmul, bias
and activation into one kernel in one graph and not in the other, which
rounds differently); ``tests/engine/test_dense_chain.py`` compares them.
"""

import json
import threading
from collections import OrderedDict

from .._tf import keras, tf
from ._layers import keras_layers_only

MAX_TRACES = 8  # traced functions kept (least recently used dropped)

_FIT_KWARGS = frozenset({"epochs", "verbose", "callbacks", "shuffle"})
_FLOATS = ("float32", "float64")

# Keras' loss functions, and the loss class that computes the same (a loss
# compiled by name is wrapped by Keras into a Loss of the same reduction).
_LOSS_CLASSES = {
    keras.losses.binary_crossentropy: keras.losses.BinaryCrossentropy,
    keras.losses.categorical_crossentropy: keras.losses.CategoricalCrossentropy,
    keras.losses.sparse_categorical_crossentropy: keras.losses.SparseCategoricalCrossentropy,
    keras.losses.mean_squared_error: keras.losses.MeanSquaredError,
    keras.losses.mean_absolute_error: keras.losses.MeanAbsoluteError,
}

# Optimizer settings that add work to the plain update rule.
_PLAIN_OPTIMIZER = {
    "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
    "use_ema": False, "loss_scale_factor": None, "gradient_accumulation_steps": None,
}


def _dense_layers(model):
    """The model's Dense layers in the order they run, or None when the model
    is not a plain chain of them."""
    if type(model).__name__ not in ("Sequential", "Functional") or not keras_layers_only(model):
        return None
    if not model.built or not all(layer.built for layer in model.layers):
        return None
    try:
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            return None
    except (AttributeError, ValueError):  # a Sequential model without an input
        return None
    if model.non_trainable_variables:
        return None
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if not layers or any(type(layer) is not keras.layers.Dense for layer in layers):
        return None
    try:
        previous = model.inputs[0]
        for layer in layers:
            if layer.input is not previous:
                return None
            previous = layer.output
        if previous is not model.outputs[0]:
            return None
    except (AttributeError, ValueError):  # a layer called more than once
        return None
    for layer in layers:
        plain = (
            layer.trainable and layer.kernel_regularizer is None
            and layer.bias_regularizer is None and layer.activity_regularizer is None
            and layer.kernel_constraint is None and layer.bias_constraint is None
            and not layer.lora_enabled and layer.quantization_mode is None
            and layer.compute_dtype == layer.variable_dtype and layer.compute_dtype in _FLOATS
            and isinstance(keras.activations.serialize(layer.activation), str)
            and keras.activations.get(keras.activations.serialize(layer.activation))
            is layer.activation
        )
        if not plain:
            return None
    if len({layer.compute_dtype for layer in layers}) != 1:
        return None
    return layers


def _loss(model):
    """The Loss object Keras' compiled loss calls, or None."""
    identifier = model.loss
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        return None  # chosen by Keras from the targets' shape
    try:
        loss = keras.losses.get(identifier)
    except (ValueError, TypeError):
        return None
    if isinstance(loss, keras.losses.Loss):
        return loss if type(loss).__module__.startswith("keras.") else None
    cls = _LOSS_CLASSES.get(loss)
    return None if cls is None else cls()


def _optimizer_rule(optimizer):
    """(kind, constants) of the optimizer's update rule, or None."""
    if type(optimizer) not in (keras.optimizers.Adam, keras.optimizers.SGD,
                               keras.optimizers.RMSprop):
        return None
    config = optimizer.get_config()
    if any(config.get(name) != value for name, value in _PLAIN_OPTIMIZER.items()):
        return None
    if not isinstance(config.get("learning_rate"), float):
        return None  # a schedule
    if isinstance(optimizer, keras.optimizers.Adam):
        if config["amsgrad"]:
            return None
        return "adam", (config["beta_1"], config["beta_2"], config["epsilon"])
    if isinstance(optimizer, keras.optimizers.RMSprop):
        if config["centered"]:
            return None
        return "rmsprop", (config["rho"], config["momentum"], config["epsilon"])
    return "sgd", (config["momentum"], config["nesterov"])


def _plain_compile(model):
    config = model.get_compile_config() or {}
    return (
        not config.get("metrics") and not config.get("weighted_metrics")
        and config.get("loss_weights") is None and not config.get("run_eagerly")
        and not model.jit_compile
    )


def _spec_key(spec):
    return repr(spec)


class _Chain:
    """What one fit trains: layers, loss, update rule, and the trace's key."""

    def __init__(self, model, layers, loss, rule, element_spec, device):
        self.model = model
        self.layers = layers
        self.loss = loss
        self.kind, self.constants = rule
        self.dtype = layers[0].compute_dtype
        self.activations = tuple(keras.activations.serialize(la.activation) for la in layers)
        self.biases = tuple(la.use_bias for la in layers)
        self.key = json.dumps([
            self.activations, self.biases, self.dtype, type(loss).__name__,
            keras.losses.serialize(loss), str(getattr(loss, "dtype", None)), self.kind,
            self.constants, _spec_key(element_spec), device,
        ], sort_keys=True, default=repr)

    def weights(self):
        out = []
        for layer, bias in zip(self.layers, self.biases):
            out.append(layer.kernel)
            if bias:
                out.append(layer.bias)
        return out


def _adam(constants, dtype, lr, iterations):
    ops = keras.ops
    beta_1, beta_2, epsilon = constants
    local_step = ops.cast(iterations + 1, dtype)
    beta_1_power = ops.power(ops.cast(beta_1, dtype), local_step)
    beta_2_power = ops.power(ops.cast(beta_2, dtype), local_step)
    alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)

    def step(w, g, slots):
        m, v = slots
        m = m + ops.multiply(ops.subtract(g, m), 1 - beta_1)
        v = v + ops.multiply(ops.subtract(ops.square(g), v), 1 - beta_2)
        return w - ops.divide(ops.multiply(m, alpha), ops.add(ops.sqrt(v), epsilon)), [m, v]

    return step


def _sgd(constants, dtype, lr, iterations):
    ops = keras.ops
    momentum, nesterov = constants

    def step(w, g, slots):
        if momentum == 0:
            return w - ops.multiply(g, lr), []
        m = ops.subtract(ops.multiply(slots[0], ops.cast(momentum, dtype)), ops.multiply(g, lr))
        if nesterov:
            return w + ops.subtract(ops.multiply(m, ops.cast(momentum, dtype)),
                                    ops.multiply(g, lr)), [m]
        return w + m, [m]

    return step


def _rmsprop(constants, dtype, lr, iterations):
    ops = keras.ops
    rho, momentum, epsilon = constants

    def step(w, g, slots):
        velocity = ops.add(ops.multiply(rho, slots[0]), ops.multiply(1 - rho, ops.square(g)))
        increment = ops.divide(ops.multiply(lr, g), ops.sqrt(ops.add(velocity, epsilon)))
        if momentum > 0:
            m = ops.add(ops.multiply(momentum, slots[1]), increment)
            return w - m, [velocity, m]
        return w - increment, [velocity]

    return step


# The optimizers' update_step, as Keras writes them, on values: (the rule
# for one fit step, the slot names of each weight in Keras' order).
_RULES = {"adam": _adam, "sgd": _sgd, "rmsprop": _rmsprop}


def _slot_names(kind, constants):
    if kind == "adam":
        return ("momentum", "velocity")
    if kind == "sgd":
        return () if constants[0] == 0 else ("momentum",)
    return ("velocity", "momentum") if constants[1] > 0 else ("velocity",)


def _update(kind, constants, dtype, weights, slots, grads, lr, iterations):
    step = _RULES[kind](constants, dtype, keras.ops.cast(lr, dtype), iterations)
    new_weights, new_slots = [], []
    for w, g, own in zip(weights, grads, slots):
        w, own = step(w, keras.ops.cast(g, dtype), own)
        new_weights.append(w)
        new_slots.append(own)
    return new_weights, new_slots


def _make_fit(chain, element_spec):
    """The traced function running the epochs of a fit of ``chain``'s
    architecture, for weights and slots of any width."""
    ops = keras.ops
    dtype = chain.dtype
    activations = [keras.activations.get(name) for name in chain.activations]
    biases, loss_fn, kind, constants = chain.biases, chain.loss, chain.kind, chain.constants
    open_shapes = []
    for bias in biases:
        open_shapes.append(tf.TensorSpec([None, None], dtype))
        if bias:
            open_shapes.append(tf.TensorSpec([None], dtype))
    per_weight = len(_slot_names(kind, constants))
    slot_shapes = [[spec] * per_weight for spec in open_shapes]

    def forward(weights, x):
        out, i = x, 0
        for activation, bias in zip(activations, biases):
            out = ops.matmul(out, weights[i])
            i += 1
            if bias:
                out = ops.add(out, weights[i])
                i += 1
            out = activation(out)
        return out

    def step(i, weights, slots, iterations, total, count, lr, iterator):
        x, y, sample_weight = iterator.get_next()
        with tf.GradientTape() as tape:
            tape.watch(weights)
            y_pred = forward(weights, x)
            loss = ops.cast(loss_fn(y, y_pred, sample_weight), "float32")
        grads = tape.gradient(loss, weights)
        weights, slots = _update(kind, constants, dtype, weights, slots, grads, lr, iterations)
        rows = tf.cast(tf.shape(x)[0], tf.float32)
        return i + 1, weights, slots, iterations + 1, total + loss * rows, count + rows

    def epoch(e, weights, slots, iterations, losses, previous, lr, dataset, steps):
        # Keras' epoch iterator makes an iterator when an epoch begins and
        # another, unused, as soon as it ends: each draws the dataset's next
        # shuffle. They are made here in that order (the control
        # dependencies), so that every epoch sees Keras' order.
        with tf.control_dependencies([previous]):
            iterator = iter(dataset)
        zero = tf.zeros((), tf.float32)
        _, weights, slots, iterations, total, count = tf.while_loop(
            lambda i, *_: i < steps,
            lambda *state: step(*state, lr, iterator),
            (tf.constant(0, tf.int64), weights, slots, iterations, zero, zero),
        )
        loss = tf.math.divide_no_nan(total, count)  # Keras' loss tracker
        graph = tf.compat.v1.get_default_graph()
        made = len(graph.get_operations())
        with tf.control_dependencies([loss]):
            iter(dataset)
        with tf.control_dependencies(graph.get_operations()[made:]):
            loss = tf.identity(loss)
        return e + 1, weights, slots, iterations, losses.write(tf.cast(e, tf.int32), loss), loss

    # Every epoch in one call, written as TensorFlow's loops themselves
    # (AutoGraph's conversion of Python loops would cost more than the trace).
    # Like keraslearn's guard in Keras' fit, it stops after the first epoch
    # whose loss is not finite.
    @tf.function(input_signature=[
        open_shapes, slot_shapes, tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.float32),
        tf.data.DatasetSpec(element_spec), tf.TensorSpec([], tf.int64),
        tf.TensorSpec([], tf.int64),
    ], autograph=False, reduce_retracing=False)
    def fit(weights, slots, iterations, lr, dataset, steps, epochs):
        losses = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        state = (tf.constant(0, tf.int64), weights, slots, iterations, losses,
                 tf.zeros((), tf.float32))
        _, weights, slots, iterations, losses, _ = tf.while_loop(
            lambda e, *rest: tf.logical_and(e < epochs, tf.math.is_finite(rest[-1])),
            lambda *state: epoch(*state, lr, dataset, steps),
            state,
        )
        return weights, slots, iterations, losses.stack()

    return fit


class DenseChainTrainer:
    """Traced fit functions of plain dense chains, keyed by depth,
    activations, loss, update rule, the data's element spec and the device."""

    def __init__(self):
        self._traces = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._traces)

    def clear(self):
        with self._lock:
            self._traces.clear()

    def chain(self, model, dataset, fit_kwargs, device=None):
        """The :class:`_Chain` to train ``model`` with, or None when this fit
        must go through Keras' fit."""
        if set(fit_kwargs) - _FIT_KWARGS or fit_kwargs.get("verbose"):
            return None
        if any(type(cb).__module__ != "keraslearn._engine._train"
               for cb in fit_kwargs.get("callbacks") or ()):
            return None
        spec = dataset.element_spec
        if not isinstance(spec, tuple) or len(spec) != 3 or not all(
            isinstance(s, tf.TensorSpec) for s in spec
        ):
            return None
        if int(dataset.cardinality()) < 0 or not _plain_compile(model):
            return None
        layers = _dense_layers(model)
        if layers is None:
            return None
        loss = _loss(model)
        rule = _optimizer_rule(model.optimizer)
        if loss is None or rule is None:
            return None
        chain = _Chain(model, layers, loss, rule, spec, device)
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        chain.slot_variables = _slot_variables(model.optimizer, chain.weights(), chain)
        return None if chain.slot_variables is None else chain

    def _traced(self, chain, element_spec):
        with self._lock:
            if chain.key in self._traces:
                self._traces.move_to_end(chain.key)
                return self._traces[chain.key]
        fit = _make_fit(chain, element_spec)
        with self._lock:
            self._traces[chain.key] = fit
            while len(self._traces) > MAX_TRACES:
                self._traces.popitem(last=False)
        return fit

    def fit(self, chain, dataset, epochs):
        """Train ``chain.model`` on ``dataset``; return the per-epoch history
        as Keras' fit would (stopping after the first epoch whose loss is not
        finite, as keraslearn's guard makes Keras do)."""
        optimizer = chain.model.optimizer
        fit = self._traced(chain, dataset.element_spec)
        variables, slot_variables = chain.weights(), chain.slot_variables
        weights = [tf.convert_to_tensor(v) for v in variables]
        slots = [[tf.convert_to_tensor(v) for v in own] for own in slot_variables]
        iterations = tf.convert_to_tensor(optimizer.iterations)
        lr = tf.cast(tf.convert_to_tensor(optimizer.learning_rate), tf.float32)
        steps = tf.constant(int(dataset.cardinality()), tf.int64)
        weights, slots, iterations, losses = fit(
            weights, slots, iterations, lr, dataset, steps, tf.constant(epochs, tf.int64)
        )
        for variable, value in zip(variables, weights):
            variable.assign(value)
        for own, values in zip(slot_variables, slots):
            for variable, value in zip(own, values):
                variable.assign(value)
        optimizer.iterations.assign(iterations)
        return {"loss": [float(loss) for loss in losses.numpy()]}


def _slot_variables(optimizer, variables, chain):
    """The optimizer's slot variables of each of ``variables``, in the order
    the update rule takes them, or None when they are not found by the
    names Keras gives them."""
    by_path = {v.path: v for v in optimizer.variables}
    out = []
    for variable in variables:
        own = []
        for name in _slot_names(chain.kind, chain.constants):
            slot = by_path.get(f"{optimizer.name}/{variable.path.replace('/', '_')}_{name}")
            if slot is None or tuple(slot.shape) != tuple(variable.shape):
                return None
            own.append(slot)
        out.append(own)
    return out


# The process's trainer.
dense_chains = DenseChainTrainer()
