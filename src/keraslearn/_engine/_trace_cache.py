"""The trace cache: Keras' traced training functions shared across fits.

For a small model most of a short fit is spent tracing Keras' train function,
and every new model (every clone in a grid search) traces again. The first fit
of an architecture therefore keeps a *warm copy*: a clone of the model compiled
the same way, whose traced train and test functions stay warm. A later fit of
the same architecture copies its fresh weights and optimizer state into the
warm copy, trains it with ``fit`` (callbacks, validation and history as usual),
and copies the trained state back. Only the tracing is shared.

Sharing must never change what is computed. A warm copy is rebuilt from the
model's config, so only models whose configs describe them completely are
shared: Keras' own model and layer classes, compiled with Keras' own
optimizers, metrics and losses. A class or function of the user's may hold a
setting its config leaves out, use one only in training (``train_step``, a
``training=True`` branch), or read Python state a trace keeps: such models
train themselves. A warm copy is run beside its model on a probe batch of the
fit's own rows when it is made: outputs, loss gradients and metrics must be equal.

A warm copy is made inside the fit's device scope, so its variables live on
that device: the device (the estimator's ``device``, resolved) is part of the
key, and a fit on another device gets a warm copy of its own there.

Not shared: models over ``MAX_PARAMS`` parameters, fits decoding image files
batch by batch, models that cannot be cloned from their config or run eagerly,
concurrent fits of one architecture in threads, fits under a ``distribute``
strategy (a warm copy would belong to one strategy), fits with a callback that
keeps or changes the model (:func:`_model_unseen`), and every fit while
``share_traced_functions=False``.

Memory. A warm copy holds its variables and traced functions until it is dropped
(least recently used, past ``MAX_ENTRIES``); a fitted estimator's model and predict
function go with the estimator. TensorFlow keeps two things for the life of the
process, and no public API of it releases them:

- every traced Keras train step, whole graph included (about 2 MiB for a
  small network): the all-reduce of the default strategy registers a
  ``tf.custom_gradient`` in TensorFlow's global gradient registry. A warm
  copy traces one per architecture; raw Keras one or two per fit.
- a cached kernel (about 35 KiB) per variable name and shape ever created.
  Keras names each new layer and optimizer uniquely ("dense_57"), so every fit
  of a user's builder adds names. The ready MLPs' networks ("mlp", "mlp_1"...)
  and optimizers made from a name or class reuse a few: refits add nothing.

``benchmarks/arch_memory.py`` measures both beside raw Keras.
"""

import threading
from collections import OrderedDict

from .. import _random, _tf
from .._tf import keras
from ._keras_callbacks import BATCH_HOOKS, runs_hooks
from ._layers import (
    built_optimizer,
    compile_config,
    copy_training_state,
    defined_by_keras_or_keraslearn,
    layer_variables,
    same_shapes,
)
from ._same_computation import same_computation
from ._warm_keys import architecture_key, code_identity

# Tuning constants of the cache, together.
MAX_ENTRIES = 8  # architectures kept warm in a process (least recently used dropped)
MAX_PARAMS = 2_000_000  # larger models train themselves
STEPS_PER_EXECUTION = 64  # train steps per call of a traced function, when allowed
PROBE_ROWS = 8  # rows of the fit's data that probe a warm copy (see _same_computation)


class _WarmCopy:
    def __init__(self, model, steps_per_execution):
        self.model = keras.models.clone_model(model)
        config = keras.saving.deserialize_keras_object(model.get_compile_config())
        # Losses are stateless: share the object, whose dtype a config drops.
        config["loss"] = model.loss
        config["steps_per_execution"] = steps_per_execution
        config["jit_compile"] = model.jit_compile  # (as set after compile too)
        self.model.compile(**config)
        self.model.optimizer.build(self.model.trainable_variables)
        self.lock = threading.Lock()


def _compatible(a, b):
    return same_shapes(layer_variables(a), layer_variables(b)) and same_shapes(
        a.optimizer.variables, b.optimizer.variables) and all(
        _settings(getattr(u, kind, None)) == _settings(getattr(v, kind, None))
        for u, v in zip(layer_variables(a), layer_variables(b))
        for kind in ("regularizer", "constraint"))


def _settings(obj):
    """A variable's regularizer or constraint by its class and config. Keras
    computes with those its variables were made with; a regularizer or
    constraint set on a built layer changes only the config, from which a warm
    copy is made (found in an audit: such a network trained with it, or with a
    look-alike's)."""
    try:
        return None if obj is None else (type(obj), repr(obj.get_config()))
    except Exception:  # noqa: BLE001 - one without a config: itself
        return obj


def steps_per_execution(model, fit_kwargs):
    """Steps run per call of the traced train function.

    Several steps per call (in one TensorFlow loop) remove most of Keras'
    per-step Python cost and compute exactly the same updates; only batch-level
    callbacks would notice (they see every n-th batch), so it is used only when
    no callback has batch-level hooks, nothing is printed per batch, the
    user left the model's own setting at 1, and neither ``steps_per_epoch``,
    ``validation_steps`` nor ``max_steps_per_epoch`` limits the steps (Keras
    runs a call's steps whole, and ``max_steps_per_epoch`` counts calls).
    """
    config = compile_config(model)
    if config is None:  # what Keras cannot serialise: no warm copy
        return 1
    limited = any(fit_kwargs.get(key) is not None for key in (
        "steps_per_epoch", "validation_steps")) or _tf.fit_limited()
    if config.get("steps_per_execution", 1) != 1 or fit_kwargs.get("verbose", 0) or limited:
        return config.get("steps_per_execution", 1)
    if any(runs_hooks(callback, BATCH_HOOKS) for callback in fit_kwargs.get("callbacks") or ()):
        return 1
    return STEPS_PER_EXECUTION


def _model_unseen(callback):
    """Whether a callback may run on a warm copy instead of the model: Keras' and
    keraslearn's own, which use their ``model`` only while it trains (weights,
    ``stop_training``, the learning rate), and are pointed at the model when
    the fit ends (:func:`_point_at`). A user's callback may keep it, or reach
    the model through the estimator (``LambdaCallback``'s functions), and one
    whose ``set_model`` does more than keep the model (``TensorBoard`` writes
    it out) would do it twice; ``BackupAndRestore`` sets the model's first
    epoch, which later fits would keep, and a ``ModelCheckpoint`` of whole
    models would save the warm copy's names: those see the model itself."""
    return defined_by_keras_or_keraslearn(type(callback)) and not isinstance(
        callback, (keras.callbacks.LambdaCallback, keras.callbacks.BackupAndRestore)
    ) and type(callback).set_model is keras.callbacks.Callback.set_model and not (
        isinstance(callback, keras.callbacks.ModelCheckpoint) and not callback.save_weights_only)


def _point_at(model, callbacks, warm_model):
    """Point the callbacks that ran on ``warm_model`` at ``model``, the network
    trained (as after Keras' fit), not a warm copy that later fits train."""
    for callback in callbacks or ():
        if callback.model is warm_model:
            callback.set_model(model)


class TraceCache:
    """Warm copies of models, keyed by architecture, compile settings, the code
    they run, the data's element spec, the steps per call and the device."""

    def __init__(self):
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._entries)

    def keys(self):
        with self._lock:
            return list(self._entries)

    def clear(self):
        """Forget every warm copy (frees their variables and traced functions)."""
        with self._lock:
            self._entries.clear()

    def _warm_copy(self, model, data_spec, steps, probe, device):
        if model.count_params() > MAX_PARAMS or any(
                getattr(optimizer, "weight_decay", None)
                or isinstance(optimizer, getattr(keras.optimizers, "Muon", ()))
                for optimizer in (model.optimizer,
                                  getattr(model.optimizer, "inner_optimizer", None))):
            # Weight decay may exclude variables (exclude_from_weight_decay), which
            # the optimizer's config, and so a copy made from it, leaves out; Muon
            # picks each variable's rule by its path (its layer's name: not in the key).
            # (A loss-scale wrapper's, which mixed precision adds, holds them.)
            return None
        key = architecture_key(model)
        if key is None:
            return None
        # keras.config.epsilon(): read where a loss is traced (clipping probabilities)
        key = (key, code_identity(model), repr(data_spec), steps, keras.config.epsilon(), device)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        try:
            # Cloning draws layer seeds, which the copied state then replaces.
            with _random.generators_untouched():
                warm = _WarmCopy(model, steps)
        except Exception:  # noqa: BLE001 - fall back to training the model itself
            warm = None
        if warm is not None and not _compatible(model, warm.model):
            warm = None
        if warm is not None:
            copy_training_state(model, warm.model)
            if not same_computation(model, warm.model, probe):
                warm = None
        with self._lock:
            # A refused architecture is remembered too: it trains itself from now on.
            self._entries[key] = warm
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
        return warm

    def fit(self, model, dataset, probe, *, device=None, **fit_kwargs):
        """Train compiled ``model`` on ``dataset`` through a warm copy when one
        computes the same thing; return Keras' History dict.

        ``device``: the device the fit runs on (its scope is entered by the
        caller), which a warm copy's variables are bound to.
        """
        built_optimizer(model)
        if not all(map(_model_unseen, fit_kwargs.get("callbacks") or ())):
            return model.fit(dataset, **fit_kwargs).history
        warm = self._warm_copy(
            model, dataset.element_spec, steps_per_execution(model, fit_kwargs), probe, device
        )
        if warm is None or not _compatible(model, warm.model) or not warm.lock.acquire(
                blocking=False):
            return model.fit(dataset, **fit_kwargs).history
        try:
            copy_training_state(model, warm.model)
            warm.model.stop_training = False
            history = warm.model.fit(dataset, **fit_kwargs).history
            copy_training_state(warm.model, model)
            return history
        except BaseException:
            # An interrupt (Ctrl-C) inside TensorFlow's call may leave the copy's traced
            # function locked, for every later fit in another thread: the copy is dropped.
            with self._lock:
                for key in [k for k, v in self._entries.items() if v is warm]:
                    del self._entries[key]
            raise
        finally:
            _point_at(model, fit_kwargs.get("callbacks"), warm.model)
            if hasattr(warm.model, "history"):  # a user's History(), pointed at model
                del warm.model.history
            warm.lock.release()


# The process's cache.
trace_cache = TraceCache()
