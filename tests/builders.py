"""Tiny model builders shared by the tests (``from builders import tiny_mlp``;
``tests/`` is on the path through pytest's ``pythonpath`` setting)."""

import functools

import keras


class named:
    """A builder with a stable repr, so test ids are the same in every worker."""

    def __init__(self, fn):
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def __repr__(self):
        return self.__name__.lstrip("_")


def output_layer(meta):
    """The output layer a builder needs for the target described by ``meta``."""
    if meta["target_type_"] == "multilabel-indicator":
        return keras.layers.Dense(meta["n_classes_"], activation="sigmoid")
    if meta["target_type_"] == "binary":
        return keras.layers.Dense(1, activation="sigmoid")
    if "classes_" in meta:
        return keras.layers.Dense(meta["n_classes_"], activation="softmax")
    return keras.layers.Dense(meta["n_outputs_"])


def _tiny_mlp(meta, hidden=8, dtype=None):
    """One hidden layer; ``dtype="float64"`` for checks that need exact arithmetic."""
    kw = {"dtype": dtype} if dtype else {}
    out = output_layer(meta)
    if dtype:
        out = type(out).from_config({**out.get_config(), "dtype": dtype})
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:], dtype=dtype or "float32"),
            keras.layers.Dense(hidden, activation="relu", **kw),
            out,
        ]
    )


def _softmax_binary(meta, hidden=8):
    """Binary targets with two softmax units."""
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )


def _two_inputs(meta):
    """Named inputs "a" and "b" of the widths fit saw, joined before the output."""
    inputs = [keras.Input(meta["X_shape_"][name][1:], name=name) for name in ("a", "b")]
    joined = keras.layers.Concatenate()(inputs)
    return keras.Model(inputs, output_layer(meta)(keras.layers.Dense(4)(joined)))


tiny_mlp = named(_tiny_mlp)
softmax_binary = named(_softmax_binary)
two_inputs = named(_two_inputs)


class ScaledSquares(keras.losses.Loss):
    """A loss of the user's own, subclassed as Keras documents (its base's
    arguments through ``**kwargs``), unregistered, whose config says all it holds."""

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, y_true, y_pred):
        return self.scale * keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


# A compiled metric keraslearn's dense chain trainer does not compute (F1Score
# makes its state at its first update): a plain dense network compiled with it
# trains through Keras' fit, and through the trace cache's warm copies.
NOT_CHAINED_METRIC = {"metrics": [keras.metrics.F1Score], "metrics__0__average": "micro",
                      "metrics__0__threshold": 0.5, "metrics__0__name": "f1"}


class ColumnTargets:
    """A target encoder of the user's own (scikeras' interface) for a network
    of one output per column of y: the columns as a dict by output ``names``,
    or in output order (a list) without names."""

    def __init__(self, names=None, n_outputs=2):
        self.names, self.n_outputs = names, n_outputs

    def fit(self, y):
        return self

    def transform(self, y):
        columns = [y[:, i] for i in range(y.shape[1])]
        return columns if self.names is None else dict(zip(self.names, columns))

    def inverse_transform(self, y):
        import numpy as np

        values = [y[name] for name in self.names] if isinstance(y, dict) else y
        return np.column_stack([np.ravel(v) for v in values])

    def get_metadata(self):
        return {"n_outputs_expected_": self.n_outputs}
