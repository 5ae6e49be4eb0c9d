"""Running one planned fit: the datasets, the callbacks, and Keras' ``fit`` on
a warm copy from the trace cache or on the model itself."""

import numpy as np

from .. import _config, _tf
from .._tf import keras, tf
from ._feed import make_dataset
from ._inputs import check_sample_shape, normalised_weights
from ._layers import keras_layers_only
from ._predict import input_dtype
from ._trace_cache import PROBE_ROWS, trace_cache


class NonFiniteLoss(keras.callbacks.Callback):
    """Stops training at the end of the first epoch whose loss is not finite
    (NaN or infinity); the estimator then raises instead of returning a
    network that predicts NaN. Checked per epoch, not per batch, so that it
    never stops Keras from running many steps per call."""

    def __init__(self):
        super().__init__()
        self.epoch = None

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            self.epoch = epoch
            self.model.stop_training = True


def _rows(array, rows):
    return array if rows is None or array is None else array[rows]


def _validation_dataset(est, data, encoder, batch_size, x_dtype):
    """``validation_data=(X, y[, sample_weight])`` checked and encoded as y is."""
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        return data  # a tf.data.Dataset: the user encoded it
    X_val, y_val = data[0], data[1]
    from sklearn.utils.validation import validate_data

    X_val = validate_data(est, X_val, reset=False, dtype=(np.float32, np.float64), allow_nd=True)
    check_sample_shape(est, X_val)
    y_val = encoder.validate(y_val)
    if y_val is not None and len(y_val) != len(X_val):
        raise ValueError(
            f"validation_data has {len(X_val)} samples in X but {len(y_val)} in y."
        )
    sw, _ = normalised_weights(data[2] if len(data) == 3 else None, X_val)
    return make_dataset(
        X_val, encoder.transform(y_val), sw, batch_size=batch_size,
        shuffle=False, seed=None, x_dtype=x_dtype,
    )


def _probe(X, targets, x_dtype):
    """The first rows of the training data, to check a warm copy against."""
    x = tf.convert_to_tensor(np.asarray(X[:PROBE_ROWS], dtype=x_dtype))
    return x, None if targets is None else tf.convert_to_tensor(targets[:PROBE_ROWS])


def train(est, model, data, plan, encoder, randomness):
    """Train ``model`` as ``plan`` says; return Keras' per-epoch logs.

    Raises ValueError when the loss stops being finite.
    """
    x_dtype = input_dtype(model)
    targets = encoder.transform(data.y)
    X_train = _rows(data.X, plan.train_rows)
    y_train = _rows(targets, plan.train_rows)
    w_train = _rows(data.sample_weight, plan.train_rows)
    kwargs = dict(plan.keras_fit_kwargs)
    if plan.validation_rows is not None and plan.keras_validation:
        kwargs["validation_data"] = make_dataset(
            data.X[plan.validation_rows], _rows(targets, plan.validation_rows),
            data.sample_weight[plan.validation_rows], batch_size=plan.validation_batch_size,
            shuffle=False, seed=None, x_dtype=x_dtype,
        )
    elif plan.validation_data is not None:
        kwargs["validation_data"] = _validation_dataset(
            est, plan.validation_data, encoder, plan.validation_batch_size, x_dtype
        )
    with randomness.data_order(plan.shuffle):
        dataset = make_dataset(
            X_train, y_train, w_train, batch_size=plan.batch_size, shuffle=plan.shuffle,
            seed=randomness.seed, x_dtype=x_dtype,
        )
    guard = NonFiniteLoss()
    kwargs.update(
        epochs=plan.epochs, verbose=plan.verbose, callbacks=[*plan.callbacks, guard],
        # The dataset is already shuffled per epoch (seeded); Keras must not try.
        shuffle=False,
    )
    # Seeded fits of models with layers of their own train the model itself:
    # a warm copy's traced function keeps the random state it captured.
    share = _config.get_config()["share_traced_functions"] and (
        randomness.seed is None or keras_layers_only(model)
    )
    with _tf.expected_retracing():
        if share:
            history = trace_cache.fit(model, dataset, _probe(X_train, y_train, x_dtype), **kwargs)
        else:
            history = model.fit(dataset, **kwargs).history
    if guard.epoch is not None:
        raise ValueError(
            f"The training loss became {history['loss'][guard.epoch]} at epoch "
            f"{guard.epoch + 1}: training diverged, and {type(est).__name__} was left as "
            "it was before this fit. Scale the inputs (and, for a regressor, the targets, "
            "e.g. with StandardScaler or TransformedTargetRegressor), or lower the "
            "learning rate."
        )
    return history
