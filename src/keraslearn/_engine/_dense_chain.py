"""Plain dense networks trained by one traced function per depth, whatever
their widths.

A search over layer widths builds one architecture per candidate, and Keras
traces its train function again for each (a few tenths of a second: most of
a small fit), which the trace cache cannot share, as its warm copies hold
variables of fixed shapes. A *plain dense chain* is trained here instead:

- a ``Sequential`` or functional model of Keras' ``Dense`` layers only, one
  after the other, with no constraint, LoRA or quantisation and no penalty
  but an L2 one on kernels, in float32 or float64 (Keras' floatx float32),
  with a built-in activation (the ready MLPs' networks are such chains), and ``Dropout``
  layers (no noise shape) anywhere between them (scikeras' MLP example);
- compiled with ``Adam`` (no AMSGrad), ``SGD`` or ``RMSprop`` (not centred)
  at a constant learning rate, with no weight decay, clipping, EMA, loss
  scaling or gradient accumulation, one of Keras' own losses (or the ready
  MLPs' half squared error), metrics given by names or as objects of Keras'
  own classes, of Keras' means over samples (``"accuracy"``,
  ``"binary_accuracy"``, ``"mae"``, ``"mse"``, ...) or counts over thresholds
  (``"auc"``, ``AUC()``, ``"precision"``, ``"recall"``): Keras' own metric
  objects, made as its compile makes them (an object from its config),
  updated statelessly in the loop; no XLA, not run eagerly;
- for a fit with nothing per batch to call back (callbacks with epoch-level
  hooks only) and nothing printed, on data a ``tf.data`` pipeline holds
  whole, validated (``validation_split``, ``validation_data``) or not,
  at the epochs ``validation_freq`` names. With no callback or validation
  but keraslearn's stopping rule on the training loss
  (``NoImprovementStopping``: ``tol``, ``n_iter_no_change``, the adaptive
  learning rate), the epochs run several to a call (first those of about
  ``FIRST_CALL_STEPS`` steps, then as many as take about ``CALL_SECONDS``, so
  that Ctrl-C, which Python raises between calls, stops a fit soon) and that
  rule inside the traced loop, in float64 as its callback computes it, its
  state handed back to the callback. With other callbacks (Keras' ``EarlyStopping``,
  ``ReduceLROnPlateau``, ``LearningRateScheduler``, ``CSVLogger`` and
  ``ModelCheckpoint`` saving at epoch ends; the ready MLPs' held-out score
  for ``early_stopping`` and their learning rate rules; ``MLflowCallback``;
  not the user's own, which may read what only Keras' fit keeps) or
  validation data, each call runs one epoch, the model then holds its
  trained state (its optimizer's too when a callback saves the model), the
  validation rows are scored by a traced evaluation of the chain's own (the
  loss and compiled metrics Keras' evaluate gives, logged as ``val_...``),
  and the callbacks run between calls as Keras' fit runs them.

The layers' weights and the optimizer's slots are arguments of a traced
function whose shapes are left open, so one trace serves every width (one
per depth, activations, dropouts, loss, update rule, data spec and device;
the L2 strengths and dropout rates are arguments too). It runs what Keras'
``train_step`` and the optimizer's ``update_step`` run, op for op
(``matmul``, bias, activation; dropout as TensorFlow's stateless dropout
draws it from the seed generator's state, which advances as Keras advances
it; the compiled loss cast to float32, plus the L2 penalties as Keras sums a
model's losses; the optimizers' updates as Keras writes them,
``_update_rules.py``), on the same batches in the same
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
import time
import weakref
from collections import OrderedDict, namedtuple

import numpy as np

from .. import _tf
from .._keras_fit import validates
from .._tf import keras, tf
from ._chain_functions import make_evaluate, make_fit, make_held_out
from ._keras_objects import loss_key
from ._layers import built_optimizer, compile_config
from ._plain_networks import (
    build_compiled_metrics,
    chain_callbacks,
    chain_loss,
    chain_metrics,
    dense_layers,
    penalty_kind,
    plain_compile,
    saves_the_model,
    shapes_as_keras,
)
from ._update_rules import optimizer_rule, slot_variables

MAX_TRACES = 8  # traced functions kept (least recently used dropped)
# Epochs per call, with no callback (Python, and Ctrl-C, wait while a call runs):
FIRST_CALL_STEPS = 256  # the first call's, in steps (a small fit: all its epochs at once)
CALL_SECONDS = 0.5  # the next calls', in time, as long as the first took

_FIT_KWARGS = frozenset({"epochs", "initial_epoch", "verbose", "callbacks", "shuffle",
                         "validation_data", "validation_freq"})

# The traced functions of one chain key.
_Traced = namedtuple("_Traced", "fit held_out evaluate")


class _Chain:
    """What one fit trains: layers, loss, update rule, and the trace's key."""

    def __init__(self, model, layers, loss, metrics, rule, element_spec, device, stopping,
                 callbacks, validation, validation_freq):
        self.model = model
        # (dataset of the element spec, its number of batches), or None.
        self.validation = validation
        self.validation_freq = validation_freq
        layers, dropouts = layers
        self.layers = layers
        # Dropout layers drawing seeds, in the order they run; how many run
        # before each Dense layer (and after the last).
        self.dropouts = [d for group in dropouts for d in group]
        self.dropout_counts = tuple(len(group) for group in dropouts)
        self.loss = loss
        self.metrics = metrics  # (identifier, name) of each compiled metric
        self.kind, self.constants = rule
        self.stopping = stopping  # the ready MLPs' stopping rule, or None
        self.callbacks = callbacks  # run between epochs
        self.element_spec = element_spec
        self.dtype = layers[0].compute_dtype
        self.activations = tuple(keras.activations.serialize(la.activation) for la in layers)
        self.biases = tuple(la.use_bias for la in layers)
        self.penalties = tuple(penalty_kind(la) for la in layers)
        # The penalties' strengths are arguments: a search over alpha traces once.
        self.strengths = [0.0 if kind == "none" else float(la.kernel_regularizer.l2)
                          for la, kind in zip(layers, self.penalties)]
        self.key = json.dumps([
            self.activations, self.biases, self.penalties, self.dropout_counts, self.dtype,
            loss_key(loss), self.kind, self.constants, stopping is not None,
            # (the metrics' names only name the logs, each fit's its own)
            [identifier for identifier, _ in metrics],
            repr(element_spec), keras.config.epsilon(),  # (losses clip by it)
            device,
        ], sort_keys=True, default=repr)

    def dropout_rates(self):
        """``(rates, scales)`` of the dropouts, as arguments of the traced
        fit: ``scale = 1 / (1 - rate)`` computed in Python, as TensorFlow's
        dropout computes it for a rate given as a number."""
        rates = [float(d.rate) for d in self.dropouts]
        return (tf.constant(rates, self.dtype, shape=[len(rates)]),
                tf.constant([1 / (1 - rate) for rate in rates], self.dtype, shape=[len(rates)]))

    def weights(self):
        out = []
        for layer, bias in zip(self.layers, self.biases):
            out.append(layer.kernel)
            if bias:
                out.append(layer.bias)
        return out


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
        if _tf.fit_limited():
            return None  # Keras' fit stops there
        if keras.config.floatx() != "float32":
            return None  # Keras keeps its loss and learning rate in floatx, the chain in float32
        callbacks = chain_callbacks(fit_kwargs.get("callbacks") or ())
        if callbacks is None:
            return None
        stopping, callbacks = callbacks
        spec = dataset.element_spec
        if not isinstance(spec, tuple) or len(spec) != 3 or not all(
            isinstance(s, tf.TensorSpec) for s in spec
        ):
            return None
        validation = fit_kwargs.get("validation_data")
        if validation is not None:
            if not (isinstance(validation, tf.data.Dataset)
                    and validation.element_spec == spec):
                return None
            validation = validation, int(validation.cardinality())  # and its batches
            if validation[1] <= 0:
                return None
        freq = fit_kwargs.get("validation_freq", 1)
        if not (type(freq) is int and freq > 0 or type(freq) is list and all(
                type(epoch) is int for epoch in freq)):
            return None  # Keras' fit says what is wrong with it
        # Serialised by Keras at every call: read once (None: Keras' own fit).
        config = compile_config(model)
        if config is None or int(dataset.cardinality()) < 0 or not plain_compile(model, config):
            return None
        layers = dense_layers(model)
        if layers is None:
            return None
        loss, metrics = chain_loss(model), chain_metrics(model, config, spec[1].shape)
        rule = optimizer_rule(model.optimizer)
        if (loss is None or metrics is None or rule is None
                or not shapes_as_keras(spec, layers[0], loss)):
            return None
        chain = _Chain(model, layers, loss, metrics, rule, spec, device, stopping, callbacks,
                       validation, freq)
        built_optimizer(model)
        chain.slot_variables = slot_variables(model.optimizer, chain.weights(), chain.kind,
                                              chain.constants)
        return None if chain.slot_variables is None else chain

    def _traced(self, chain):
        """``(fit, held_out, evaluate)``: the traced functions of chain's key
        (each traced when first called)."""
        with self._lock:
            if chain.key in self._traces:
                self._traces.move_to_end(chain.key)
                return self._traces[chain.key]
        spec = chain.element_spec
        traced = _Traced(make_fit(chain, spec), make_held_out(chain, spec),
                         make_evaluate(chain, spec))
        with self._lock:
            self._traces[chain.key] = traced
            while len(self._traces) > MAX_TRACES:
                self._traces.popitem(last=False)
        return traced

    def _call(self, chain, function, *args):
        """Call the traced ``function`` ("fit", "held_out", "evaluate") of
        chain's key. An interrupt (Ctrl-C) inside TensorFlow's call may leave
        the function's lock held, and every later fit of that key in another
        thread would wait on it for ever: a call that fails drops its functions."""
        traced = self._traced(chain)
        try:
            return getattr(traced, function)(*args)
        except BaseException:
            with self._lock:
                if self._traces.get(chain.key) is traced:
                    del self._traces[chain.key]
            raise

    def held_out_step(self, model):
        """For a model training between epochs here: a function giving
        ``(outputs, loss)`` of held-out rows ``(x, y, sample_weight)`` as its
        ``compute_loss`` would, traced once for every width; else None."""
        chain = self._between_epochs.get(model)
        if chain is None:
            return None
        dtypes = [spec.dtype.as_numpy_dtype for spec in chain.element_spec]

        def step(x, y, sample_weight):
            weights = [tf.convert_to_tensor(v) for v in chain.weights()]
            data = [np.asarray(a, dtype=d) for a, d in zip((x, y, sample_weight), dtypes)]
            return self._call(chain, "held_out", weights,
                              tf.constant(chain.strengths, tf.float64), *data)

        return step

    def fit(self, chain, dataset, epochs, first=0):
        """Train ``chain.model`` on ``dataset``; return the per-epoch history
        as Keras' fit would, stopping where keraslearn's callbacks would stop
        it (a loss that is not finite; the ready MLPs' stopping rule, whose
        state and learning rate are then updated as the rule's callback
        updates them).

        With callbacks (those :meth:`chain` allows) or validation data, one
        call of the traced function trains each epoch, the validation rows
        are then scored, and the callbacks run between calls as Keras' fit
        runs them, on the model itself, which holds the epoch's trained
        state: they may read or set its weights, change the learning rate,
        or stop training. They see the epochs numbered from ``first`` (Keras'
        ``initial_epoch``).
        """
        if not chain.callbacks and chain.validation is None:
            history, optimizer_state, done = {}, None, 0
            step = max(1, FIRST_CALL_STEPS // max(1, int(dataset.cardinality())))
            chain.model.stop_training = False
            while done < epochs:
                started, asked = time.perf_counter(), min(step, epochs - done)
                part, optimizer_state = self._epochs(chain, dataset, asked, optimizer_state)
                for key, values in part.items():
                    history.setdefault(key, []).extend(values)
                ran = len(part["loss"])
                done += ran
                if ran < asked or chain.model.stop_training or not math.isfinite(
                        part["loss"][-1]):
                    break  # stopped by the rule, or by a loss that is not finite
                spent = (time.perf_counter() - started) / ran
                step = max(1, int(CALL_SECONDS / max(spent, 1e-6)))
            _assign_optimizer(chain, *optimizer_state)
            return history
        model = chain.model
        callbacks = keras.callbacks.CallbackList(
            chain.callbacks, add_history=True, add_progbar=False, model=model, verbose=0,
            epochs=first + epochs, steps=int(dataset.cardinality()))
        build_compiled_metrics(model, dataset.element_spec)
        model.stop_training = False
        self._between_epochs[model] = chain
        try:
            callbacks.on_train_begin()
            logs, optimizer_state = {}, None
            # A callback saving the model saves its optimizer's state too.
            assign = any(saves_the_model(cb) for cb in chain.callbacks)
            for epoch in range(first, first + epochs):
                callbacks.on_epoch_begin(epoch)
                history, optimizer_state = self._epochs(chain, dataset, 1, optimizer_state)
                if assign:
                    _assign_optimizer(chain, *optimizer_state)
                logs = {name: values[0] for name, values in history.items()}
                if chain.validation is not None and validates(chain.validation_freq, epoch):
                    logs.update(self._validate(chain, callbacks))
                callbacks.on_epoch_end(epoch, logs)
                if model.stop_training or not math.isfinite(logs["loss"]):
                    break
            if optimizer_state is not None:
                _assign_optimizer(chain, *optimizer_state)
            callbacks.on_train_end(logs)
        finally:
            del self._between_epochs[model]
        return model.history.history

    def _validate(self, chain, callbacks):
        """The ``val_`` logs of the epoch just trained: the validation rows
        scored as Keras' evaluate scores them in a fit."""
        callbacks.on_test_begin()
        dataset, steps = chain.validation
        loss, scores = self._call(
            chain, "evaluate", [tf.convert_to_tensor(v) for v in chain.weights()],
            tf.constant(chain.strengths, tf.float64), dataset, tf.constant(steps, tf.int64))
        logs = {"loss": float(loss)}
        logs.update((name, float(score)) for (_, name), score in zip(chain.metrics, scores))
        callbacks.on_test_end(logs)
        return {f"val_{name}": value for name, value in logs.items()}

    def _epochs(self, chain, dataset, epochs, optimizer_state=None):
        """Run ``epochs`` epochs in one call of the traced function and assign
        the trained weights; return the history and the optimizer's trained
        state ``(slots, iterations)`` as tensors, which the caller assigns
        (between epochs it is handed to the next call instead: callbacks do
        not read it). ``optimizer_state``: where to start, by default the
        optimizer's variables."""
        model, optimizer = chain.model, chain.model.optimizer
        rule = chain.stopping
        state = rule.state if rule is not None else {"best": -math.inf, "count": 0}
        if optimizer_state is None:
            optimizer_state = (
                [[tf.convert_to_tensor(v) for v in own] for own in chain.slot_variables],
                tf.convert_to_tensor(optimizer.iterations))
        (weights, slots, iterations, seeds, losses, scores, lr, best, count, stop) = self._call(
            chain, "fit", [tf.convert_to_tensor(v) for v in chain.weights()], *optimizer_state,
            tf.cast(tf.convert_to_tensor(optimizer.learning_rate), tf.float32),
            tf.constant(chain.strengths, tf.float64),
            ([tf.convert_to_tensor(d.seed_generator.state) for d in chain.dropouts],
             *chain.dropout_rates()),
            (tf.constant(rule is not None), tf.constant(getattr(rule, "tol", 0.0), tf.float64),
             tf.constant(getattr(rule, "n_iter_no_change", 0), tf.float64),
             tf.constant(bool(getattr(rule, "adaptive", False)))),
            tf.constant(state["best"], tf.float64), tf.constant(state["count"], tf.float64),
            dataset, tf.constant(int(dataset.cardinality()), tf.int64),
            tf.constant(epochs, tf.int64),
        )
        for variable, value in zip(chain.weights(), weights):
            variable.assign(value)
        for dropout, value in zip(chain.dropouts, seeds):
            dropout.seed_generator.state.assign(value)
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
        return history, (slots, iterations)


def _assign_optimizer(chain, slots, iterations):
    """The trained optimizer state into the optimizer's variables."""
    for own, values in zip(chain.slot_variables, slots):
        for variable, value in zip(own, values):
            variable.assign(value)
    chain.model.optimizer.iterations.assign(iterations)


# The process's trainer.
dense_chains = DenseChainTrainer()
