"""Keras layers computing what fitted scikit-learn transformers compute.

Each layer holds a fitted transformer's statistics as NumPy constants and
applies them with TensorFlow ops in float32, so the constants become part of
the exported graph. The ops are chosen so that the same graph converts to
LiteRT's builtin op set and to ONNX (opset 17, through tf2onnx):

- missing values are found with ``tf.math.is_nan`` (``x != x`` is folded to
  "never" by ONNX Runtime's optimiser);
- string categories are looked up in a ``tf.lookup.StaticHashTable`` (tf2onnx
  turns it into ONNX-ML's ``CategoryMapper``; ONNX's ``Equal`` takes strings
  only from opset 19, which tf2onnx does not emit), and one-hot columns are
  built by comparing the category index with ``0 .. k-1`` (ONNX's ``OneHot``
  would wrap an index of -1 round to the last column instead of all zeros).

The trade-off: the layers are TensorFlow-only (they hold ``tf.lookup`` tables
and string tensors, which ``keras.ops`` does not cover), which is what every
export format here consumes anyway.
"""

import numpy as np

from .._tf import keras, tf

# sklearn's _handle_zeros_in_scale: norms below 10 float64 epsilons count as 0.
_TINY_NORM = 10 * np.finfo(np.float64).eps


def _const(values, dtype=tf.float32):
    return tf.constant(np.asarray(values), dtype=dtype)


class _Fixed(keras.layers.Layer):
    """A layer without weights: its constants are fixed at construction. It
    computes in float32, its constants' dtype, whatever Keras' global dtype
    policy (which would cast its inputs to float64 or float16)."""

    def __init__(self, **kwargs):
        super().__init__(trainable=False, dtype="float32", **kwargs)


class Standardize(_Fixed):
    """``(x - center) / scale`` per column (StandardScaler, RobustScaler, MaxAbsScaler)."""

    def __init__(self, center=None, scale=None, **kwargs):
        super().__init__(**kwargs)
        self.center = None if center is None else np.asarray(center, dtype=np.float32)
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float32)

    def call(self, x):
        if self.center is not None:
            x = x - _const(self.center)
        if self.scale is not None:
            x = x / _const(self.scale)
        return x


class Weigh(_Fixed):
    """``x * weight`` (a ColumnTransformer's ``transformer_weights``)."""

    def __init__(self, weight, **kwargs):
        super().__init__(**kwargs)
        self.weight = float(weight)

    def call(self, x):
        return x * self.weight


class MinMax(_Fixed):
    """``x * scale + offset`` per column, clipped to ``clip`` when given (MinMaxScaler)."""

    def __init__(self, scale, offset, clip=None, **kwargs):
        super().__init__(**kwargs)
        self.scale_factor = np.asarray(scale, dtype=np.float32)
        self.offset = np.asarray(offset, dtype=np.float32)
        self.clip = None if clip is None else tuple(float(v) for v in clip)

    def call(self, x):
        x = x * _const(self.scale_factor) + _const(self.offset)
        if self.clip is not None:
            x = tf.clip_by_value(x, self.clip[0], self.clip[1])
        return x


class Impute(_Fixed):
    """Missing entries replaced by a per-column value (SimpleImputer).

    Parameters
    ----------
    missing : float
        The value that marks a missing entry (NaN, or a number).
    fill : ndarray of shape (n_columns,)
        The replacement of each column.
    keep : ndarray of int or None
        Columns kept in the output (the others had no value at fit), None for all.
    indicator : ndarray of int or None
        Columns whose missing-value mask is appended (``add_indicator=True``).
    """

    def __init__(self, missing, fill, keep=None, indicator=None, **kwargs):
        super().__init__(**kwargs)
        self.missing = float(missing)
        self.fill = np.nan_to_num(np.asarray(fill, dtype=np.float32), nan=0.0)
        self.keep = None if keep is None else np.asarray(keep, dtype=np.int32)
        self.indicator = None if indicator is None else np.asarray(indicator, dtype=np.int32)

    def call(self, x):
        if np.isnan(self.missing):
            mask = tf.math.is_nan(x)
        else:
            mask = tf.equal(x, self.missing)
        out = tf.where(mask, _const(self.fill)[None, :], x)
        if self.keep is not None:
            out = tf.gather(out, _const(self.keep, tf.int32), axis=1)
        if self.indicator is None:
            return out
        flags = tf.gather(mask, _const(self.indicator, tf.int32), axis=1)
        return tf.concat([out, tf.cast(flags, tf.float32)], axis=1)


class Normalize(_Fixed):
    """Each row divided by its l1, l2 or max norm; rows of norm 0 unchanged (Normalizer)."""

    def __init__(self, norm, **kwargs):
        super().__init__(**kwargs)
        if norm not in ("l1", "l2", "max"):
            raise ValueError(f"Unknown norm {norm!r}; expected 'l1', 'l2' or 'max'.")
        self.norm = norm

    def call(self, x):
        if self.norm == "l1":
            norms = tf.reduce_sum(tf.abs(x), axis=1, keepdims=True)
        elif self.norm == "l2":
            norms = tf.sqrt(tf.reduce_sum(x * x, axis=1, keepdims=True))
        else:
            norms = tf.reduce_max(tf.abs(x), axis=1, keepdims=True)
        norms = tf.where(norms < _TINY_NORM, tf.ones_like(norms), norms)
        return x / norms


class NumberCategories(_Fixed):
    """One column of numbers -> one indicator column per kept category.

    A value that is none of the categories gives a row of zeros. A NaN
    category matches NaN values.
    """

    def __init__(self, categories, **kwargs):
        super().__init__(**kwargs)
        self.categories = np.asarray(categories, dtype=np.float32)

    def call(self, x):
        cats = self.categories
        hits = tf.equal(x[:, None], _const(cats)[None, :])
        if np.isnan(cats).any():
            nan_cat = _const(np.isnan(cats), tf.bool)[None, :]
            hits = tf.logical_or(hits, tf.logical_and(tf.math.is_nan(x)[:, None], nan_cat))
        return tf.cast(hits, tf.float32)


class StringCategories(_Fixed):
    """One column of strings -> one indicator column per kept category.

    A string that is none of the categories gives a row of zeros; no category
    (a constant column whose one is dropped) gives no column.
    """

    def __init__(self, categories, **kwargs):
        super().__init__(**kwargs)
        self.categories = [str(c) for c in categories]
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(self.categories, dtype=tf.string),
                tf.range(len(self.categories), dtype=tf.int64),
            ),
            default_value=-1,
        ) if self.categories else None  # (TensorFlow refuses an empty table)

    def call(self, x):
        if self.table is None:
            return tf.zeros([tf.shape(x)[0], 0], tf.float32)
        index = self.table.lookup(x)
        positions = tf.range(len(self.categories), dtype=tf.int64)
        return tf.cast(tf.equal(index[:, None], positions[None, :]), tf.float32)


class OneHotColumns(_Fixed):
    """A list of columns -> their indicator columns side by side (OneHotEncoder)."""

    def __init__(self, encoders, **kwargs):
        super().__init__(**kwargs)
        self.encoders = list(encoders)

    def call(self, columns):
        return tf.concat([enc(col) for enc, col in zip(self.encoders, columns)], axis=1)


def lookup_tables(layers):
    """The lookup tables held by these layers (they must be tracked at export)."""
    tables = []
    for layer in layers:
        if isinstance(layer, StringCategories) and layer.table is not None:
            tables.append(layer.table)
        tables.extend(lookup_tables(getattr(layer, "encoders", ())))
    return tables


class ClassifierOutputs(_Fixed):
    """Network outputs -> ``{"label", "probabilities"}``, as keraslearn's
    classifiers decode them (``predict_proba`` then ``predict``).

    Parameters
    ----------
    mode : {"binary", "sparse", "onehot", "multilabel"}
        How the network's output units encode the target.
    from_logits : bool
        Whether the network outputs logits.
    classes : ndarray
        The labels, gathered by class index.
    one_hot_labels : bool
        Labels are one-hot rows (targets given as one-hot rows at fit).
    label_dtype : tf.DType
        The dtype the labels are output in.
    """

    def __init__(self, mode, from_logits, classes, one_hot_labels, label_dtype, **kwargs):
        super().__init__(**kwargs)
        self.mode = mode
        self.from_logits = bool(from_logits)
        self.classes = np.asarray(classes)
        self.one_hot_labels = one_hot_labels
        self.label_dtype = label_dtype

    def call(self, raw):
        raw = tf.cast(raw, tf.float32)
        if self.mode in ("binary", "multilabel"):
            p = tf.sigmoid(raw) if self.from_logits else raw
            if self.mode == "multilabel":
                return {"label": tf.cast(p > 0.5, tf.int64), "probabilities": p}
            p = tf.reshape(p, [-1])
            proba = tf.stack([1.0 - p, p], axis=1)
        else:
            if self.from_logits:
                e = tf.exp(raw - tf.reduce_max(raw, axis=1, keepdims=True))
            else:
                e = tf.maximum(raw, 0.0)
            proba = e / tf.reduce_sum(e, axis=1, keepdims=True)
        n = len(self.classes)
        if n == 2:
            index = tf.cast(proba[:, 1] > 0.5, tf.int32)
        else:
            index = tf.cast(tf.argmax(proba, axis=1), tf.int32)
        if self.one_hot_labels:
            label = tf.cast(tf.equal(index[:, None], tf.range(n)[None, :]), tf.int64)
        else:
            label = tf.gather(tf.constant(self.classes.tolist(), dtype=self.label_dtype), index)
        return {"label": label, "probabilities": proba}


class RegressorOutputs(_Fixed):
    """Network outputs -> ``{"predictions"}`` shaped as ``predict`` returns them."""

    def __init__(self, one_dimensional, **kwargs):
        super().__init__(**kwargs)
        self.one_dimensional = bool(one_dimensional)

    def call(self, raw):
        raw = tf.cast(raw, tf.float32)
        if self.one_dimensional:
            return {"predictions": tf.reshape(raw, [-1])}
        width = raw.shape[1:].num_elements()  # static: the signature declares it
        return {"predictions": tf.reshape(raw, [-1, width] if width else [tf.shape(raw)[0], -1])}
