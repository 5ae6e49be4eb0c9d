"""Plain dense networks trained by one traced function per depth, whatever
their widths.

A search over layer widths builds one architecture per candidate, and Keras
traces its train function again for each (a few tenths of a second: most of
a small fit), which the trace cache cannot share, as its warm copies hold
variables of fixed shapes. A *plain dense chain* is trained here instead:

- a ``Sequential`` or functional model of Keras' ``Dense`` layers only, one
  after the other, with no constraint, LoRA or quantisation and no penalty
  but an L2 one on kernels, in float32 or float64, with a built-in
  activation (the ready MLPs' networks are such chains);
- compiled with ``Adam`` (no AMSGrad), ``SGD`` or ``RMSprop`` (not centred)
  at a constant learning rate, with no weight decay, clipping, EMA, loss
  scaling or gradient accumulation, one of Keras' own losses (or the ready
  MLPs' half squared error), metrics given by names of Keras' means over
  samples only (``"accuracy"``, ``"binary_accuracy"``, ``"mae"``, ``"mse"``,
  ...: Keras' own metric objects, made as its compile makes them, updated
  statelessly in the loop), no XLA, not run eagerly;
- for a fit with nothing per batch to call back (callbacks with epoch-level
  hooks only), no validation by Keras and nothing printed, on data a
  ``tf.data`` pipeline holds whole. With no callback but keraslearn's
  stopping rule on the training loss (``NoImprovementStopping``: ``tol``,
  ``n_iter_no_change``, the adaptive learning rate), every epoch runs in one
  call and that rule inside the traced loop, in float64 as its callback
  computes it, its state handed back to the callback. With other callbacks
  (Keras' ``EarlyStopping``, ``ReduceLROnPlateau`` or
  ``LearningRateScheduler``; the ready MLPs' held-out score for
  ``early_stopping`` and their learning rate rules; ``MLflowCallback``;
  not the user's own,
  which may read what only Keras' fit keeps), each call runs one epoch, the
  model then holds its trained state, and the callbacks run between calls
  as Keras' fit runs them.

The layers' weights and the optimizer's slots are arguments of a traced
function whose shapes are left open, so one trace serves every width (one
per depth, activations, loss, update rule, data spec and device). It runs
what Keras' ``train_step`` and the optimizer's ``update_step`` run, op for
op (``matmul``, bias, activation; the compiled loss cast to float32, plus
the L2 penalties as Keras sums a model's losses; the optimizers' updates as
Keras writes them, ``_update_rules.py``), on the same batches in the same
order (the dataset's iterators made as Keras' epoch iterator makes them),
and averages the epoch's loss over batches weighted by their rows, as
Keras' loss tracker does. The trained weights and optimizer state are then
assigned to the model's own variables: the fitted network is the one Keras'
fit gives, to float32 rounding (TensorFlow may fuse a layer's matmul, bias
and activation into one kernel in one graph and not in the other, which
rounds differently); ``tests/engine/test_dense_chain.py`` compares them.
"""

import json
import math
import threading
import weakref
from collections import OrderedDict

import numpy as np

from .._tf import keras, tf
from ._plain_networks import (
    build_compiled_metrics,
    chain_callbacks,
    chain_loss,
    chain_metric,
    chain_metrics,
    dense_layers,
    penalty_kind,
    plain_compile,
)
from ._update_rules import optimizer_rule, slot_names, slot_variables, update

MAX_TRACES = 8  # traced functions kept (least recently used dropped)

_FIT_KWARGS = frozenset({"epochs", "verbose", "callbacks", "shuffle"})


class _Chain:
    """What one fit trains: layers, loss, update rule, and the trace's key."""

    def __init__(self, model, layers, loss, metrics, rule, element_spec, device, stopping):
        self.model = model
        self.layers = layers
        self.loss = loss
        self.metrics = metrics  # (identifier, name) of each compiled metric
        self.kind, self.constants = rule
        self.stopping = stopping  # the ready MLPs' stopping rule, or None
        self.dtype = layers[0].compute_dtype
        self.activations = tuple(keras.activations.serialize(la.activation) for la in layers)
        self.biases = tuple(la.use_bias for la in layers)
        self.penalties = tuple(penalty_kind(la) for la in layers)
        # The penalties' strengths are arguments: a search over alpha traces once.
        self.strengths = [0.0 if kind == "none" else float(la.kernel_regularizer.l2)
                          for la, kind in zip(layers, self.penalties)]
        self.key = json.dumps([
            self.activations, self.biases, self.penalties, self.dtype, type(loss).__module__,
            type(loss).__name__, keras.losses.serialize(loss),
            str(getattr(loss, "dtype", None)), self.kind, self.constants,
            metrics, repr(element_spec), device,
        ], sort_keys=True, default=repr)

    def weights(self):
        out = []
        for layer, bias in zip(self.layers, self.biases):
            out.append(layer.kernel)
            if bias:
                out.append(layer.bias)
        return out


def _open_shapes(chain):
    """Specs of the chain's weights (kernels and biases), of any width."""
    out = []
    for bias in chain.biases:
        out.append(tf.TensorSpec([None, None], chain.dtype))
        if bias:
            out.append(tf.TensorSpec([None], chain.dtype))
    return out


def _network(chain):
    """``(forward, penalised)``: the network's outputs for weights and rows,
    and the compiled loss with the kernels' L2 penalties."""
    ops = keras.ops
    dtype, biases, penalties = chain.dtype, chain.biases, chain.penalties
    activations = [keras.activations.get(name) for name in chain.activations]

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

    kernels = [sum(1 + b for b in biases[:i]) for i in range(len(biases))]

    def penalised(loss, weights, strengths):
        """The compiled loss with the kernels' L2 penalties, summed as Keras'
        compute_loss sums a model's losses."""
        terms = [loss]
        for i, (index, kind) in enumerate(zip(kernels, penalties)):
            if kind != "none":
                term = ops.cast(strengths[i], dtype) * ops.sum(ops.square(weights[index]))
                terms.append(ops.cast(term, "float32") if kind == "cast_l2" else term)
        return terms[0] if len(terms) == 1 else ops.sum(terms)

    return forward, penalised


def _make_held_out(chain, element_spec):
    """A traced function: ``(outputs, loss)`` of held-out rows ``(x, y, w)``,
    as the model's ``compute_loss`` gives them, for weights of any width."""
    forward, penalised = _network(chain)
    loss_fn = chain.loss

    @tf.function(input_signature=[
        _open_shapes(chain), tf.TensorSpec([len(chain.biases)], tf.float64), *element_spec,
    ], autograph=False)
    def held_out(weights, strengths, x, y, sample_weight):
        y_pred = forward(weights, x)
        loss = keras.ops.cast(loss_fn(y, y_pred, sample_weight), "float32")
        return y_pred, penalised(loss, weights, strengths)

    return held_out


def _make_fit(chain, element_spec):
    """The traced function running the epochs of a fit of ``chain``'s
    architecture, for weights and slots of any width."""
    ops = keras.ops
    dtype = chain.dtype
    biases, loss_fn, kind, constants = chain.biases, chain.loss, chain.kind, chain.constants
    open_shapes = _open_shapes(chain)
    per_weight = len(slot_names(kind, constants))
    slot_shapes = [[spec] * per_weight for spec in open_shapes]
    # Keras' own metric objects, updated statelessly: their state is the loop's.
    metrics = [chain_metric(identifier, name) for identifier, name in chain.metrics]
    forward, penalised = _network(chain)

    def fresh_metrics():
        return [[tf.zeros(v.shape, v.dtype) for v in m.variables] for m in metrics]

    def step(i, weights, slots, iterations, total, count, states, lr, strengths, iterator):
        x, y, sample_weight = iterator.get_next()
        with tf.GradientTape() as tape:
            tape.watch(weights)
            y_pred = forward(weights, x)
            loss = ops.cast(loss_fn(y, y_pred, sample_weight), "float32")
            loss = penalised(loss, weights, strengths)
        grads = tape.gradient(loss, weights)
        weights, slots = update(kind, constants, dtype, weights, slots, grads, lr, iterations)
        # Compiled metrics take no sample weight (Keras gives it to weighted_metrics only).
        states = [m.stateless_update_state(st, y, y_pred) for m, st in zip(metrics, states)]
        rows = tf.cast(tf.shape(x)[0], tf.float32)
        return i + 1, weights, slots, iterations + 1, total + loss * rows, count + rows, states

    def stopping(loss, lr, best, count, rule):
        """keraslearn's stopping rule on the training loss, as
        NoImprovementStopping.on_epoch_end computes it (in float64)."""
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

    def epoch(e, weights, slots, iterations, losses, scores, previous, lr, best, count, stop,
              strengths, rule, dataset, steps):
        # Keras' epoch iterator makes an iterator when an epoch begins and
        # another, unused, as soon as it ends: each draws the dataset's next
        # shuffle. They are made here in that order (the control
        # dependencies), so that every epoch sees Keras' order.
        with tf.control_dependencies([previous]):
            iterator = iter(dataset)
        zero = tf.zeros((), tf.float32)
        _, weights, slots, iterations, total, rows, states = tf.while_loop(
            lambda i, *_: i < steps,
            lambda *state: step(*state, lr, strengths, iterator),
            (tf.constant(0, tf.int64), weights, slots, iterations, zero, zero, fresh_metrics()),
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
        return e + 1, weights, slots, iterations, losses, scores, loss, lr, best, count, stop

    # Every epoch in one call, written as TensorFlow's loops themselves
    # (AutoGraph's conversion of Python loops would cost more than the trace).
    # As keraslearn's callbacks make Keras' fit do, it stops after the first
    # epoch whose loss is not finite, or when the stopping rule says so.
    # ``rule``: (use it, tol, n_iter_no_change, adaptive learning rate).
    @tf.function(input_signature=[
        open_shapes, slot_shapes, tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.float32),
        tf.TensorSpec([len(biases)], tf.float64),
        (tf.TensorSpec([], tf.bool), tf.TensorSpec([], tf.float64),
         tf.TensorSpec([], tf.float64), tf.TensorSpec([], tf.bool)),
        tf.TensorSpec([], tf.float64), tf.TensorSpec([], tf.float64),
        tf.data.DatasetSpec(element_spec), tf.TensorSpec([], tf.int64),
        tf.TensorSpec([], tf.int64),
    ], autograph=False, reduce_retracing=False)
    def fit(weights, slots, iterations, lr, strengths, rule, best, count, dataset, steps,
            epochs):
        losses = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        scores = [tf.TensorArray(m.dtype, size=0, dynamic_size=True) for m in metrics]
        state = (tf.constant(0, tf.int64), weights, slots, iterations, losses, scores,
                 tf.zeros((), tf.float32), lr, best, count, tf.constant(False))

        def more(e, weights, slots, iterations, losses, scores, previous, lr, best, count, stop):
            return tf.logical_and(tf.logical_and(e < epochs, tf.math.is_finite(previous)),
                                  tf.logical_not(stop))

        _, weights, slots, iterations, losses, scores, _, lr, best, count, stop = tf.while_loop(
            more, lambda *state: epoch(*state, strengths, rule, dataset, steps), state)
        return (weights, slots, iterations, losses.stack(), [ta.stack() for ta in scores], lr,
                best, count, stop)

    return fit


class DenseChainTrainer:
    """Traced fit functions of plain dense chains, keyed by depth,
    activations, loss, update rule, the data's element spec and the device."""

    def __init__(self):
        self._traces = OrderedDict()
        self._lock = threading.Lock()
        # model -> its chain, while it trains with callbacks between epochs.
        self._between_epochs = weakref.WeakKeyDictionary()

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
        callbacks = chain_callbacks(fit_kwargs.get("callbacks") or ())
        if callbacks is None:
            return None
        stopping, callbacks = callbacks
        spec = dataset.element_spec
        if not isinstance(spec, tuple) or len(spec) != 3 or not all(
            isinstance(s, tf.TensorSpec) for s in spec
        ):
            return None
        # Serialised by Keras at every call: read once.
        config = model.get_compile_config() or {}
        if int(dataset.cardinality()) < 0 or not plain_compile(model, config):
            return None
        layers = dense_layers(model)
        if layers is None:
            return None
        loss, metrics = chain_loss(model), chain_metrics(model, config, spec[1].shape)
        rule = optimizer_rule(model.optimizer)
        if loss is None or metrics is None or rule is None:
            return None
        chain = _Chain(model, layers, loss, metrics, rule, spec, device, stopping)
        chain.callbacks, chain.element_spec = callbacks, spec
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        chain.slot_variables = slot_variables(model.optimizer, chain.weights(), chain.kind,
                                              chain.constants)
        return None if chain.slot_variables is None else chain

    def _traced(self, chain, element_spec):
        """``(fit, held_out)``: the traced functions of chain's key."""
        with self._lock:
            if chain.key in self._traces:
                self._traces.move_to_end(chain.key)
                return self._traces[chain.key]
        traced = _make_fit(chain, element_spec), _make_held_out(chain, element_spec)
        with self._lock:
            self._traces[chain.key] = traced
            while len(self._traces) > MAX_TRACES:
                self._traces.popitem(last=False)
        return traced

    def held_out_step(self, model):
        """For a model training between epochs here: a function giving
        ``(outputs, loss)`` of held-out rows ``(x, y, sample_weight)`` as its
        ``compute_loss`` would, traced once for every width; else None."""
        chain = self._between_epochs.get(model)
        if chain is None:
            return None
        held_out = self._traced(chain, chain.element_spec)[1]
        dtypes = [spec.dtype.as_numpy_dtype for spec in chain.element_spec]

        def step(x, y, sample_weight):
            weights = [tf.convert_to_tensor(v) for v in chain.weights()]
            data = [np.asarray(a, dtype=d) for a, d in zip((x, y, sample_weight), dtypes)]
            return held_out(weights, tf.constant(chain.strengths, tf.float64), *data)

        return step

    def fit(self, chain, dataset, epochs):
        """Train ``chain.model`` on ``dataset``; return the per-epoch history
        as Keras' fit would, stopping where keraslearn's callbacks would stop
        it (a loss that is not finite; the ready MLPs' stopping rule, whose
        state and learning rate are then updated as the rule's callback
        updates them).

        With callbacks (those :meth:`chain` allows), one call
        of the traced function trains each epoch, and the callbacks run
        between calls as Keras' fit runs them, on the model itself, which
        holds the epoch's trained state: they may read or set its weights,
        change the learning rate, or stop training.
        """
        if not chain.callbacks:
            return self._epochs(chain, dataset, epochs)
        model = chain.model
        callbacks = keras.callbacks.CallbackList(
            chain.callbacks, add_history=True, add_progbar=False, model=model, verbose=0,
            epochs=epochs, steps=int(dataset.cardinality()))
        build_compiled_metrics(model, dataset.element_spec)
        model.stop_training = False
        self._between_epochs[model] = chain
        try:
            callbacks.on_train_begin()
            logs, carried = {}, []
            for epoch in range(epochs):
                callbacks.on_epoch_begin(epoch)
                history = self._epochs(chain, dataset, 1, carried)
                logs = {name: values[0] for name, values in history.items()}
                callbacks.on_epoch_end(epoch, logs)
                if model.stop_training or not math.isfinite(logs["loss"]):
                    break
            if carried:
                _assign_optimizer(chain, *carried)
            callbacks.on_train_end(logs)
        finally:
            del self._between_epochs[model]
        return model.history.history

    def _epochs(self, chain, dataset, epochs, carried=None):
        """Run ``epochs`` epochs in one call of the traced function. With
        ``carried`` (a list), the optimizer's state is taken from and left in
        it, as tensors, instead of the optimizer's variables (which callbacks
        do not read): the model's weights alone are assigned."""
        model, optimizer = chain.model, chain.model.optimizer
        fit = self._traced(chain, dataset.element_spec)[0]
        rule = chain.stopping
        state = rule.state if rule is not None else {"best": -math.inf, "count": 0}
        final = carried is None  # else the caller assigns the optimizer's state
        carried = [] if final else carried
        if not carried:
            carried[:] = ([[tf.convert_to_tensor(v) for v in own] for own in chain.slot_variables],
                          tf.convert_to_tensor(optimizer.iterations))
        (weights, slots, iterations, losses, scores, lr, best, count, stop) = fit(
            [tf.convert_to_tensor(v) for v in chain.weights()], *carried,
            tf.cast(tf.convert_to_tensor(optimizer.learning_rate), tf.float32),
            tf.constant(chain.strengths, tf.float64),
            (tf.constant(rule is not None), tf.constant(getattr(rule, "tol", 0.0), tf.float64),
             tf.constant(getattr(rule, "n_iter_no_change", 0), tf.float64),
             tf.constant(bool(getattr(rule, "adaptive", False)))),
            tf.constant(state["best"], tf.float64), tf.constant(state["count"], tf.float64),
            dataset, tf.constant(int(dataset.cardinality()), tf.int64),
            tf.constant(epochs, tf.int64),
        )
        for variable, value in zip(chain.weights(), weights):
            variable.assign(value)
        carried[:] = slots, iterations
        if final:
            _assign_optimizer(chain, slots, iterations)
        if rule is not None:
            state["best"], state["count"] = float(best), int(count)
            if bool(stop):
                state["stopped"] = True
                model.stop_training = True
            if float(lr) != float(optimizer.learning_rate.numpy()):
                optimizer.learning_rate = float(lr)
        history = {"loss": [float(loss) for loss in losses.numpy()]}
        for (_, name), values in zip(chain.metrics, scores):
            history[name] = [float(v) for v in values.numpy()]
        return history


def _assign_optimizer(chain, slots, iterations):
    """The trained optimizer state into the optimizer's variables."""
    for own, values in zip(chain.slot_variables, slots):
        for variable, value in zip(own, values):
            variable.assign(value)
    chain.model.optimizer.iterations.assign(iterations)


# The process's trainer.
dense_chains = DenseChainTrainer()
