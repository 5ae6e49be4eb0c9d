"""The traced functions of the dense chain trainer (``_dense_chain.py``, whose
docstring says what they compute): one fit function running every epoch of
a fit, one held-out step, and one evaluation of validation data, for a
chain's weights of any width."""

from .._tf import keras, tf
from ._plain_networks import chain_metric
from ._update_rules import slot_names, update


def _open_shapes(chain):
    """Specs of the chain's weights (kernels and biases), of any width."""
    out = []
    for bias in chain.biases:
        out.append(tf.TensorSpec([None, None], chain.dtype))
        if bias:
            out.append(tf.TensorSpec([None], chain.dtype))
    return out


def _dropout(x, state, rate, scale):
    """``(outputs, next_state)``: Keras' Dropout in training on ``x`` with
    its seed generator's ``state`` (the seed it draws, then the state
    advanced as ``SeedGenerator.next`` advances it), as TensorFlow's
    stateless dropout computes it for a rate given as a number (``scale``
    is ``1 / (1 - rate)`` computed in Python)."""
    seed = tf.cast(tf.math.floormod(state, tf.int32.max - 1), tf.int32)
    kept = tf.random.stateless_uniform(tf.shape(x), seed=seed, dtype=x.dtype, alg=None) >= rate
    out = tf.where(kept, x * scale, tf.zeros((), x.dtype))
    return out, state + tf.constant([0, 1], tf.int64)


def _network(chain):
    """``(forward, total_loss)``: the network's outputs for weights and rows
    (in training, with ``dropout=(states, rates, scales)`` of its dropouts:
    ``(outputs, next_states)``), and the compiled loss (cast to float32) with
    the kernels' L2 penalties, summed as Keras' compute_loss sums a model's
    losses."""
    ops = keras.ops
    dtype, biases, penalties, loss_fn = chain.dtype, chain.biases, chain.penalties, chain.loss
    activations = [keras.activations.get(name) for name in chain.activations]
    counts = chain.dropout_counts

    def forward(weights, x, dropout=None):
        out, i, k, states = x, 0, 0, []
        for position, count in enumerate(counts):
            for _ in range(count if dropout is not None else 0):
                out, state = _dropout(out, dropout[0][k], dropout[1][k], dropout[2][k])
                states.append(state)
                k += 1
            if position == len(biases):
                break
            out = ops.matmul(out, weights[i])
            i += 1
            if biases[position]:
                # Keras' Dense adds its bias by broadcasting (AddV2): the same
                # sums; BiasAdd's gradient is one op where AddV2's, over
                # shapes left open, takes seven.
                out = tf.nn.bias_add(out, weights[i])
                i += 1
            out = activations[position](out)
        return out if dropout is None else (out, states)

    kernels = [sum(1 + b for b in biases[:i]) for i in range(len(biases))]

    def total_loss(y, y_pred, sample_weight, weights, strengths):
        terms = [ops.cast(loss_fn(y, y_pred, sample_weight), "float32")]
        for i, (index, kind) in enumerate(zip(kernels, penalties)):
            if kind != "none":
                term = ops.cast(strengths[i], dtype) * ops.sum(ops.square(weights[index]))
                terms.append(ops.cast(term, "float32") if kind == "cast_l2" else term)
        return terms[0] if len(terms) == 1 else ops.sum(terms)

    return forward, total_loss


def make_held_out(chain, element_spec):
    """A traced function: ``(outputs, loss)`` of held-out rows ``(x, y, w)``,
    as the model's ``compute_loss`` gives them, for weights of any width."""
    forward, total_loss = _network(chain)

    @tf.function(input_signature=[
        _open_shapes(chain), tf.TensorSpec([len(chain.biases)], tf.float64), *element_spec,
    ], autograph=False)
    def held_out(weights, strengths, x, y, sample_weight):
        y_pred = forward(weights, x)
        return y_pred, total_loss(y, y_pred, sample_weight, weights, strengths)

    return held_out


def _fresh_states(metrics):
    """The metrics' starting states: zeros (a total and a count, or counts
    over thresholds; ``chain_metrics`` takes no metric starting otherwise)."""
    return [[tf.zeros(v.shape, v.dtype) for v in m.variables] for m in metrics]


def _tally(metrics, states, total, count, loss, x, y, y_pred):
    """``(total, count, states)`` after one batch: the loss summed weighted by
    the batch's rows, as Keras' loss tracker sums it, and the compiled
    metrics updated (they take no sample weight: Keras gives it to
    weighted_metrics only)."""
    rows = tf.cast(tf.shape(x)[0], tf.float32)
    states = [m.stateless_update_state(st, y, y_pred) for m, st in zip(metrics, states)]
    return total + loss * rows, count + rows, states


def make_evaluate(chain, element_spec):
    """A traced function: ``(loss, metric_results)`` of a dataset of
    held-out batches ``(x, y, w)``, as Keras' evaluate computes them in a
    fit's validation (the loss of each batch as ``compute_loss`` gives it,
    averaged over batches weighted by their rows; the compiled metrics
    updated batch by batch), for weights of any width."""
    forward, total_loss = _network(chain)
    metrics = [chain_metric(identifier, name) for identifier, name in chain.metrics]

    @tf.function(input_signature=[
        _open_shapes(chain), tf.TensorSpec([len(chain.biases)], tf.float64),
        tf.data.DatasetSpec(element_spec), tf.TensorSpec([], tf.int64),
    ], autograph=False)
    def evaluate(weights, strengths, dataset, steps):
        iterator = iter(dataset)

        def add(i, total, count, states):
            x, y, sample_weight = iterator.get_next()
            y_pred = forward(weights, x)
            loss = total_loss(y, y_pred, sample_weight, weights, strengths)
            return (i + 1, *_tally(metrics, states, total, count, loss, x, y, y_pred))

        zero = tf.zeros((), tf.float32)
        _, total, count, states = tf.while_loop(
            lambda i, *_: i < steps, add,
            (tf.constant(0, tf.int64), zero, zero, _fresh_states(metrics)))
        return (tf.math.divide_no_nan(total, count),
                [m.stateless_result(st) for m, st in zip(metrics, states)])

    return evaluate


def make_fit(chain, element_spec):
    """The traced function running the epochs of a fit of ``chain``'s
    architecture, for weights and slots of any width."""
    dtype = chain.dtype
    biases, kind, constants = chain.biases, chain.kind, chain.constants
    open_shapes = _open_shapes(chain)
    per_weight = len(slot_names(kind, constants))
    slot_shapes = [[spec] * per_weight for spec in open_shapes]
    # Keras' own metric objects, updated statelessly: their state is the loop's.
    metrics = [chain_metric(identifier, name) for identifier, name in chain.metrics]
    forward, total_loss = _network(chain)
    has_rule = chain.stopping is not None  # the traced loop runs it (part of the key)

    def step(i, weights, slots, iterations, seeds, total, count, states, lr, strengths,
             dropout, iterator):
        x, y, sample_weight = iterator.get_next()
        with tf.GradientTape() as tape:
            tape.watch(weights)
            y_pred, seeds = forward(weights, x, (seeds, *dropout))
            loss = total_loss(y, y_pred, sample_weight, weights, strengths)
        grads = tape.gradient(loss, weights)
        weights, slots = update(kind, constants, dtype, weights, slots, grads, lr, iterations)
        total, count, states = _tally(metrics, states, total, count, loss, x, y, y_pred)
        return i + 1, weights, slots, iterations + 1, seeds, total, count, states

    def stopping(loss, lr, best, count, rule):
        """keraslearn's stopping rule on the training loss, as
        NoImprovementStopping.on_epoch_end computes it (in float64); traced
        only for the chains that have one (the ready MLPs')."""
        if not has_rule:
            return lr, best, count, tf.constant(False)
        use, tol, patience, adaptive = rule
        score = -tf.cast(loss, tf.float64)
        count = tf.where(score < best + tol, count + 1, tf.zeros_like(count))
        best = tf.where(score > best, score, best)
        exceeded = tf.logical_and(use, count > patience)
        lr64 = tf.cast(lr, tf.float64)
        divide = tf.logical_and(tf.logical_and(exceeded, adaptive), lr64 > 1e-6)
        lr = tf.where(divide, tf.cast(lr64 / 5.0, tf.float32), lr)
        count = tf.where(divide, tf.zeros_like(count), count)
        return lr, best, count, tf.logical_and(exceeded, tf.logical_not(divide))

    def epoch(e, weights, slots, iterations, seeds, losses, scores, previous, lr, best, count,
              stop, strengths, dropout, rule, dataset, steps):
        # Keras' epoch iterator makes an iterator when an epoch begins and
        # another, unused, as soon as it ends: each draws the dataset's next
        # shuffle. They are made here in that order (the control
        # dependencies), so that every epoch sees Keras' order.
        with tf.control_dependencies([previous]):
            iterator = iter(dataset)
        zero = tf.zeros((), tf.float32)
        _, weights, slots, iterations, seeds, total, rows, states = tf.while_loop(
            lambda i, *_: i < steps,
            lambda *state: step(*state, lr, strengths, dropout, iterator),
            (tf.constant(0, tf.int64), weights, slots, iterations, seeds, zero, zero,
             _fresh_states(metrics)),
        )
        loss = tf.math.divide_no_nan(total, rows)  # Keras' loss tracker
        graph = tf.compat.v1.get_default_graph()
        made = len(graph.get_operations())
        with tf.control_dependencies([loss]):
            iter(dataset)
        with tf.control_dependencies(graph.get_operations()[made:]):
            loss = tf.identity(loss)
        lr, best, count, stop = stopping(loss, lr, best, count, rule)
        losses = losses.write(tf.cast(e, tf.int32), loss)
        scores = [ta.write(tf.cast(e, tf.int32), m.stateless_result(st))
                  for ta, m, st in zip(scores, metrics, states)]
        return (e + 1, weights, slots, iterations, seeds, losses, scores, loss, lr, best, count,
                stop)

    # Every epoch in one call, written as TensorFlow's loops themselves
    # (AutoGraph's conversion of Python loops would cost more than the trace).
    # As keraslearn's callbacks make Keras' fit do, it stops after the first
    # epoch whose loss is not finite, or when the stopping rule says so.
    # ``rule``: (use it, tol, n_iter_no_change, adaptive learning rate);
    # ``dropout``: (seed states, rates, scales) of the dropouts.
    n_drop = len(chain.dropouts)
    @tf.function(input_signature=[
        open_shapes, slot_shapes, tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.float32),
        tf.TensorSpec([len(biases)], tf.float64),
        ([tf.TensorSpec([2], tf.int64)] * n_drop, tf.TensorSpec([n_drop], dtype),
         tf.TensorSpec([n_drop], dtype)),
        (tf.TensorSpec([], tf.bool), tf.TensorSpec([], tf.float64),
         tf.TensorSpec([], tf.float64), tf.TensorSpec([], tf.bool)),
        tf.TensorSpec([], tf.float64), tf.TensorSpec([], tf.float64),
        tf.data.DatasetSpec(element_spec), tf.TensorSpec([], tf.int64),
        tf.TensorSpec([], tf.int64),
    ], autograph=False, reduce_retracing=False)
    def fit(weights, slots, iterations, lr, strengths, dropout, rule, best, count, dataset, steps,
            epochs):
        losses = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        scores = [tf.TensorArray(m.dtype, size=0, dynamic_size=True) for m in metrics]
        state = (tf.constant(0, tf.int64), weights, slots, iterations, dropout[0], losses, scores,
                 tf.zeros((), tf.float32), lr, best, count, tf.constant(False))

        def more(e, *state):
            previous, stop = state[6], state[-1]
            return tf.logical_and(tf.logical_and(e < epochs, tf.math.is_finite(previous)),
                                  tf.logical_not(stop))

        (_, weights, slots, iterations, seeds, losses, scores, _, lr, best, count,
         stop) = tf.while_loop(
            more, lambda *state: epoch(*state, strengths, dropout[1:], rule, dataset, steps),
            state)
        return (weights, slots, iterations, seeds, losses.stack(), [ta.stack() for ta in scores],
                lr, best, count, stop)

    return fit
