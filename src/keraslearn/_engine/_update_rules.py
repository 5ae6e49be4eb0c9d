"""Keras' optimizers' update rules, written on values.

The dense chain trainer (``_dense_chain.py``) passes a network's weights and
its optimizer's slots to a traced function as values of any shape; these are
the rules it applies to them: ``update_step`` of Keras' ``Adam``, ``SGD`` and
``RMSprop``, op for op as Keras 3 writes them (a Python float multiplies a
tensor where Keras' does, casts where Keras casts), for the optimizer
settings that add nothing to the plain rule.
"""

from .._tf import keras

# Optimizer settings that add work to the plain update rule.
_PLAIN_OPTIMIZER = {
    "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
    "use_ema": False, "loss_scale_factor": None, "gradient_accumulation_steps": None,
}


def optimizer_rule(optimizer):
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


def _adam(constants, dtype, lr, iterations):
    ops = keras.ops
    beta_1, beta_2, epsilon = constants
    local_step = ops.cast(iterations + 1, dtype)
    beta_1_power = ops.power(ops.cast(beta_1, dtype), local_step)
    beta_2_power = ops.power(ops.cast(beta_2, dtype), local_step)
    alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
    # The Python numbers Keras' rule writes, as tensors of the weights' dtype
    # (what Keras converts them to), made once for every weight.
    one_minus_beta_1, one_minus_beta_2, epsilon = (
        ops.convert_to_tensor(c, dtype) for c in (1 - beta_1, 1 - beta_2, epsilon))

    def step(w, g, slots):
        m, v = slots
        m = m + ops.multiply(ops.subtract(g, m), one_minus_beta_1)
        v = v + ops.multiply(ops.subtract(ops.square(g), v), one_minus_beta_2)
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


# Each optimizer's update_step on values: given the step's constants, the
# update of one weight and its slots.
_RULES = {"adam": _adam, "sgd": _sgd, "rmsprop": _rmsprop}


def slot_names(kind, constants):
    """The names Keras gives each weight's slot variables, in the rule's order."""
    if kind == "adam":
        return ("momentum", "velocity")
    if kind == "sgd":
        return () if constants[0] == 0 else ("momentum",)
    return ("velocity", "momentum") if constants[1] > 0 else ("velocity",)


def update(kind, constants, dtype, weights, slots, grads, lr, iterations):
    """(new weights, new slots) after one step of the ``kind`` rule."""
    step = _RULES[kind](constants, dtype, keras.ops.cast(lr, dtype), iterations)
    new_weights, new_slots = [], []
    for w, g, own in zip(weights, grads, slots):
        w, own = step(w, keras.ops.cast(g, dtype), own)
        new_weights.append(w)
        new_slots.append(own)
    return new_weights, new_slots


def slot_variables(optimizer, variables, kind, constants):
    """The optimizer's slot variables of each of ``variables``, in the order
    the update rule takes them, or None when they are not found by the
    names Keras gives them."""
    by_path = {v.path: v for v in optimizer.variables}
    out = []
    for variable in variables:
        own = []
        for name in slot_names(kind, constants):
            slot = by_path.get(f"{optimizer.name}/{variable.path.replace('/', '_')}_{name}")
            if slot is None or tuple(slot.shape) != tuple(variable.shape):
                return None
            own.append(slot)
        out.append(own)
    return out
