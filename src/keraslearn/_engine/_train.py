"""Running one planned fit: the datasets, the callbacks, and Keras' ``fit`` on
a warm copy from the trace cache or on the model itself, or, for a plain
dense chain, the dense chain trainer."""

import warnings

import numpy as np

from .. import _config, _tf
from .._tf import keras, tf
from . import _feed
from . import _nested as nested
from . import _targets as targets
from ._data import CheckedValidation, float_overflow, unchecked_non_finite
from ._dense_chain import dense_chains
from ._feed import decodes_in_python_per_batch, make_dataset, releasing
from ._forward import hand_out
from ._input_dtypes import check_integer_inputs
from ._layers import (
    keras_layers_only,
    optimizer_of_another,
    output_keys,
    own_optimizer,
    training_variables,
)
from ._network_checks import check_class_weight_columns, check_targets_fit_outputs
from ._predict import input_kinds
from ._sources import HeldRows, reported_read_errors, sources
from ._trace_cache import PROBE_ROWS, trace_cache

# Modules of the callbacks keraslearn makes for each fit (no user code holds them).
_OWN_CALLBACK_MODULES = frozenset({"keraslearn.neural_network._callbacks", __name__})


class NonFiniteLoss(keras.callbacks.Callback):
    """Stops training at the end of the first epoch whose loss is not finite
    (NaN or infinity); the estimator then raises instead of returning a
    network that predicts NaN. Checked per epoch, not per batch, so that it
    never stops Keras from running many steps per call."""

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):  # (a bfloat16 tensor too)
            self.model.stop_training = True


def _outputs_of(plan, model, encoded):
    """``model``'s output tensors, and its one target of ``encoded`` (else
    None); a subclassed model's from one call on ``plan.sample`` where that target
    holds labels per position (found in review: its weights were shaped for
    none, and a fit per pixel failed inside TensorFlow)."""
    from ._build import called_outputs

    target = nested.sole(encoded)
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):  # a subclassed model not yet called
        outputs = None
    if not outputs and getattr(target, "ndim", 0) > 2:
        outputs = called_outputs(model, *plan.sample)
    return list(outputs or []), target


def _loss_axes_per_sample(model, outputs, target):
    """The axes per sample a one-output model's loss may keep (its output has
    more than one axis per sample: a sequence's steps give loss values of
    shape (n, steps)), else 0. Weights of shape (n, 1) broadcast over such
    values, and Keras squeezes them to (n,) for a loss of one value a sample.
    Where the output has more than two axes per sample, the loss's are measured
    on the ``target`` (found in review: a segmentation's class indices
    per pixel, (n, h, w) under sparse_categorical_crossentropy, failed against
    weights of (n, 1), and Dice(axis=(1, 2, 3)) keeps none); one that cannot be
    measured is taken to keep one at most (keraslearn's encoders' targets have
    two axes)."""
    from ._losses import loss_axes_kept

    if len(outputs) != 1 or outputs[0].shape is None:
        return 0
    rank = len(outputs[0].shape)
    if rank <= 3:
        return int(rank > 2)
    kept = loss_axes_kept(getattr(model, "loss", None), target, tuple(outputs[0].shape))
    return kept if kept is not None else 1


def _validation_dataset(given, encoder, batch_size, inputs, weight_axes, model, non_finite,
                        features):
    """``validation_data``: the user's dataset, or the rows checked before the
    network was built (``_data.CheckedValidation``) encoded as y is, checked
    as the training rows are against the network's float type (values beyond
    it made the validation loss infinite, silently; ``non_finite``: NaN too;
    ``features``: the feature encoder that made X_val)."""
    if not isinstance(given, CheckedValidation):
        return given  # a tf.data.Dataset: the user encoded it
    X_val, y_val, sw = given
    overflow = float_overflow(X_val, model, non_finite, features)
    if overflow is not None:
        raise ValueError(f"{given.name}: {overflow}")
    try:  # (ids an integer input would take truncated, or its Embedding lacks)
        check_integer_inputs(nested.normalise(X_val), inputs)
    except ValueError as exc:
        raise ValueError(f"{given.name}: {exc}") from None
    try:
        y_val = targets.encode(encoder, y_val)
    except ValueError as exc:
        raise ValueError(f"{given.name}: {exc}") from None
    return make_dataset(
        X_val, y_val, sw, batch_size=batch_size,
        shuffle=False, seed=None, inputs=inputs, weight_axes=weight_axes,
    )


def _probe(X, y, inputs):
    """The first rows of the training data, to check a warm copy against."""
    rows = slice(0, PROBE_ROWS)
    x = nested.map_pairs(lambda a, kind: kind.tensor(a), nested.take(nested.normalise(X), rows),
                         inputs)
    if y is None:
        return x, None
    return x, nested.map_arrays(tf.convert_to_tensor, nested.take(nested.normalise(y), rows))


def _record(model, history, dataset, kwargs):
    """The fit's ``keras.callbacks.History`` on the model, as Keras' fit leaves it
    (``model.history``), for a fit that trained through a traced function of its own."""
    # A History among the callbacks is the one Keras' fit leaves on the model,
    # as the warm copy's fit filled it.
    record = next((c for c in kwargs["callbacks"] if isinstance(c, keras.callbacks.History)),
                  None)
    if record is None:
        record = keras.callbacks.History()
        steps = kwargs.get("steps_per_epoch") or int(dataset.cardinality())  # (as Keras')
        record.set_params({"verbose": kwargs.get("verbose", 0), "epochs": kwargs["epochs"],
                           "steps": steps if steps >= 0 else None})
        record.history = {key: list(values) for key, values in history.items()}
        first = kwargs.get("initial_epoch", 0)
        record.epoch = list(range(first, first + len(history.get("loss", ()))))
    record.set_model(model)
    model.history = record


def _this_fit(history, callbacks, lengths):
    """The logs of this fit in ``history``: Keras' fit returns a History of the
    user's among ``callbacks`` as its own, which keeps the logs of earlier fits
    (on_train_begin empties its epoch list, not its dict); ``lengths``: each
    list it held before this fit, with its length then (a list made anew since,
    by a History that empties its logs, is this fit's alone)."""
    for callback, before in zip(callbacks, lengths):
        if history is callback.history:
            kept = {}
            for key, values in history.items():
                old, n = before.get(key, (None, 0))
                if values is old:
                    values = values[n:]
                if values:  # (a key only earlier fits logged: not this fit's)
                    kept[key] = values
            return kept
    return history


def _held(array):
    """A NumPy array too large to be copied into tensors (``_feed``) as a row
    source, whose training rows are then taken without a copy of them all."""
    large = isinstance(array, np.ndarray) and array.ndim and (
        array.nbytes > _feed.SMALL_DATA_BYTES)
    return HeldRows(array) if large else array


def _check_strategy_holds(model, where):
    """Refuse to train, inside a strategy scope (the user's, or ``distribute``'s:
    ``where.strategy``), a network whose trainable variables are not that
    strategy's: built outside it (Keras fails there with a bare AssertionError).
    Frozen layers built outside (a pretrained base) train as in Keras."""
    if not tf.distribute.has_strategy():
        return
    strategy = tf.distribute.get_strategy()
    if all(strategy.extended.variable_created_in_scope(getattr(w, "value", w))
           for w in model.trainable_weights):
        return
    if getattr(where, "strategy", None) is not None:  # (a continued network is copied into it)
        raise ValueError(
            "The network trains over the devices of distribute=, but has trainable layers "
            "made outside its builder (reused from an earlier build): Keras cannot train "
            "them there. Make them inside the builder, freeze them (trainable=False), or "
            "train on one device (distribute=None).")
    raise ValueError(
        "This fit runs inside a tf.distribute strategy scope, but trains variables made "
        "outside it (a network continued by warm_start or partial_fit, or trainable "
        "layers the builder reuses): Keras cannot train them there. Continue the network "
        "outside the scope, build its trainable layers inside it, or give the strategy "
        "as distribute= rather than entering its scope.")


def train(est, model, data, plan, encoder, randomness, where=None):
    """Train ``model`` as ``plan`` says, in the scope of ``where`` (a
    :class:`Placement`); return Keras' per-epoch logs.

    Raises ValueError when the loss stops being finite.
    """
    with releasing():  # the arrays its datasets read, freed when it ends
        return _train(est, model, data, plan, encoder, randomness, where)


def _train(est, model, data, plan, encoder, randomness, where):
    _check_strategy_holds(model, where)
    # Arrays mapped from files are read batch by batch, and their held-out
    # rows are taken without reading them (``_sources``).
    X = sources(nested.normalise(data.X))
    inputs = input_kinds(model, X)
    check_integer_inputs(X, inputs)
    if tf.distribute.get_strategy().num_replicas_in_sync > 1 and any(  # (default strategy: 1)
            kind.sparse for kind in nested.leaves(inputs)):
        raise ValueError(  # (TensorFlow: "'SparseTensor' object has no attribute 'device'")
            "A sparse model input (keras.Input(sparse=True)) cannot train over several "
            "replicas of a tf.distribute strategy: TensorFlow's distributed batches are "
            "dense. Give the model a dense keras.Input (each sparse batch is densified in "
            "the training step), or train on one device (distribute=None, outside any "
            "strategy scope).")
    encoded = targets.encode(encoder, data.y)
    outputs, target = _outputs_of(plan, model, encoded)
    weight_axes = _loss_axes_per_sample(model, outputs, target)
    _check_target_names(model, encoded)
    if not targets.is_native(encoder):
        check_targets_fit_outputs(model, encoded)
        check_class_weight_columns(outputs, data.y, getattr(est, "class_weight", None))
    if plan.train_rows is not None:  # (a held-out split: large arrays' rows read by batch)
        X = nested.map_arrays(_held, X)
    X_train = nested.take(X, plan.train_rows)
    y_train = nested.take(encoded, plan.train_rows)
    w_train = nested.take(data.sample_weight, plan.train_rows)
    kwargs = dict(plan.keras_fit_kwargs)
    if plan.validation_rows is not None and plan.keras_validation:
        kwargs["validation_data"] = make_dataset(
            nested.take(X, plan.validation_rows), nested.take(encoded, plan.validation_rows),
            data.sample_weight[plan.validation_rows], batch_size=plan.validation_batch_size,
            shuffle=False, seed=None, inputs=inputs, weight_axes=weight_axes,
        )
    elif plan.validation_data is not None:
        kwargs["validation_data"] = _validation_dataset(
            plan.validation_data, encoder, plan.validation_batch_size, inputs, weight_axes,
            model, est._private_network, data.features)
    with randomness.data_order(plan.shuffle):
        dataset = make_dataset(
            X_train, y_train, w_train, batch_size=plan.batch_size, shuffle=plan.shuffle,
            seed=randomness.seed, inputs=inputs,
            weights_per_batch=est._weights_per_batch and not np.all(w_train == 1),
            weight_axes=weight_axes,
        )
    if any(type(cb).__module__ not in _OWN_CALLBACK_MODULES for cb in plan.callbacks):
        # A callback of the user's may keep the network it is given.
        hand_out(model)
    guard = NonFiniteLoss()
    # Keras' meaning: training runs from epoch number initial_epoch to epochs.
    first = kwargs.get("initial_epoch", 0)
    kwargs.update(
        epochs=plan.epochs, verbose=plan.verbose, callbacks=[*plan.callbacks, guard],
        # The dataset is already shuffled per epoch (seeded); Keras must not try.
        shuffle=False,
    )
    # Seeded fits of models with layers of their own train the model itself:
    # a warm copy's traced function keeps the random state it captured.
    # Warm copies are bound to a device, and to no strategy. Fits decoding
    # image files batch by batch in Python (Pillow) train the model itself
    # too, one step per call as Keras does: decoding bounds them, and a warm
    # copy's several steps per call there held more memory for little speed.
    # Files TensorFlow decodes train through one: with no Python in a step,
    # several steps per call spare them the slow spells of one step per call
    # (benchmarks/bigdata_results.md). A fit inside a strategy scope of the
    # user's own (distribute=None) trains the model itself, as Keras does: a
    # warm copy, bound to no strategy, would have its gradients scaled by it.
    # An optimizer built and not known to serve this network trains it itself:
    # Keras' fit refuses one built for another model's variables (one instance a
    # builder compiles every model with), where a warm copy would take its state.
    device = None if where is None else where.cache_key
    share = _config.get_config()["share_traced_functions"] and not optimizer_of_another(
        model) and (
        randomness.seed is None or keras_layers_only(model)
    ) and (where is None or device is not None) and not decodes_in_python_per_batch(
        X_train, y_train, inputs) and not tf.distribute.has_strategy()
    kept = [cb for cb in plan.callbacks if isinstance(cb, keras.callbacks.History)]
    lengths = [{key: (values, len(values)) for key, values in cb.history.items()}
               for cb in kept]
    with _tf.expected_retracing(), reported_read_errors(X):
        chain = (dense_chains.chain(model, dataset, kwargs, device)
                 if share and plan.epochs > first else None)
        if chain is not None:
            history = dense_chains.fit(chain, dataset, plan.epochs - first, first=first)
        elif share:
            history = trace_cache.fit(
                model, dataset, _probe(X_train, y_train, inputs), device=device, **kwargs
            )
        else:
            history = model.fit(dataset, **kwargs).history
            if plan.epochs > first:  # (trained: Keras' fit refuses another's optimizer;
                own_optimizer(model)  # the shared paths record it as they build it)
    history = _this_fit(history, kept, lengths)
    # Keras' fit leaves its History on the model (numbered from where a
    # BackupAndRestore resumed); a warm copy's or the chain's fit does not.
    if share and getattr(getattr(model, "history", None), "history", None) is not history:
        _record(model, history, dataset, kwargs)
    # The guard stopped Keras' fit there; the chain stops itself.
    diverged = next((i for i, loss in enumerate(history.get("loss", ()))
                     if not np.isfinite(float(loss))), None)
    if diverged is not None:
        what = (f"The training loss became {history['loss'][diverged]} at epoch "
                f"{first + diverged + 1}")
    elif not _finite_state(model):
        # The epoch's mean loss is computed before its last update: an update
        # may leave NaN weights behind a finite loss, or an optimizer's moments
        # overflow while the weights are finite (every later step then fails).
        what = "Training left NaN or infinite values in the network's weights or optimizer state"
    else:
        return history
    # (NaN unchecked is the cause for a network of keraslearn's, one for a user's)
    private = est._private_network
    unchecked = unchecked_non_finite(data.X)
    overflow = float_overflow(data.X, model, private, data.features) or (
        unchecked if private else None)
    if overflow is not None:
        raise ValueError(f"{what}: {overflow} {type(est).__name__} was left as it was "
                         "before this fit.")
    maybe = ("" if unchecked is None else " X holds NaN or infinity, which scikit-learn's "
             "check did not refuse (sklearn.set_config(assume_finite=True)): unless the "
             "network takes them, give X without them.")
    if diverged is not None and keras.config.floatx() == "float16":
        # (found in an audit: a float32 network training well was told as diverged where
        # only the float16 record of its loss overflowed; a real divergence overflows it too)
        maybe += (" keras.config.floatx() is float16, in which Keras records the loss: past "
                  "65,504 it reads as inf whether or not training diverged "
                  "(keras.config.set_floatx('float32') tells the two apart).")
    raise ValueError(
        f"{what}: training diverged, and {type(est).__name__} was left as it was before "
        "this fit. Scale the inputs (and, for a regressor, the targets, e.g. with "
        f"StandardScaler or TransformedTargetRegressor), or lower the learning rate.{maybe}"
    )


def tell_starting(callbacks):
    """Tell keraslearn's own callbacks that a fit training with them starts: a
    failure from here on, even before training (its data refused), concerns
    this fit (see :func:`tell_failed`), not the run their last one ended.
    Returns ``callbacks``."""
    for callback in callbacks:
        if hasattr(callback, "_fit_starting"):
            callback._fit_starting()
    return callbacks


def tell_failed(callbacks, exc):
    """Tell keraslearn's own callbacks that hold something open (an MLflow run)
    that the fit failed: Keras calls no callback when training raises, and a
    fit may fail after training ended (a divergence found then). They are
    told that training starts first (``_fit_starting``)."""
    for callback in callbacks:
        if hasattr(callback, "_fit_failed"):
            try:
                callback._fit_failed(interrupted=isinstance(exc, KeyboardInterrupt))
            except Exception as failure:  # the fit's own error is the one to see
                warnings.warn(f"{type(callback).__name__} could not record the failed "
                              f"fit: {failure}", RuntimeWarning, stacklevel=2)


def _finite_state(model):
    return all(bool(np.isfinite(v.numpy()).all()) for v in training_variables(model))


def _check_target_names(model, encoded):
    """Targets given by name (a target encoder of the user's returning a dict)
    name the model's outputs: Keras failed with "Expected float32, but got a of
    type 'str'" (found in an audit)."""
    names = output_keys(model)  # (a dict of outputs' keys: found in review)
    if isinstance(encoded, dict) and names and sorted(map(str, encoded)) != sorted(names):
        raise ValueError(
            f"The target encoder gives targets named {sorted(map(str, encoded))}, but the "
            f"model's outputs are named {names}: name the output layers as the targets "
            "(keras.layers.Dense(..., name='a')), or give the targets as a list in the "
            "outputs' order.")
