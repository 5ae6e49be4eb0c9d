"""Feeding arrays to Keras without copying the whole training set.

``model.fit(X, y)`` on NumPy arrays copies X into a tensor and holds a shuffle
buffer of the same size: about twice the data at peak. Small data goes the
same way (it is cheap, and runs without Python in the loop); for large data
the shuffle runs over row indices and each batch is gathered on demand
straight from the user's NumPy array, so only one batch is ever copied.
"""

import numpy as np

from .._runtime import tf

# Below this many bytes the arrays are copied into tensors once: cheap, and
# the whole input pipeline then runs in TensorFlow.
SMALL_DATA_BYTES = 64 * 2**20


def make_dataset(X, y, sample_weight, *, batch_size, shuffle, seed, x_dtype):
    """A batched ``tf.data.Dataset`` of ``(x, y, sample_weight)`` over rows of X.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
        Features; cast to ``x_dtype`` batch by batch.
    y : ndarray of shape (n_samples, ...)
        Encoded targets.
    sample_weight : ndarray of shape (n_samples,)
    batch_size : int
    shuffle : bool
        Reshuffle the rows at every epoch.
    seed : int or None
        Seed of the shuffle, for reproducible training.
    x_dtype : str
        The dtype the model's input takes.
    """
    n = X.shape[0]
    # Weights in the model's float type: float32 would round normalised weights.
    w_dtype = x_dtype if np.dtype(x_dtype).kind == "f" else "float32"
    sample_weight = np.asarray(sample_weight, dtype=w_dtype)
    if X.nbytes + y.nbytes <= SMALL_DATA_BYTES:
        ds = tf.data.Dataset.from_tensor_slices(
            (np.asarray(X, dtype=x_dtype), y, sample_weight)
        )
        if shuffle:
            ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size).prefetch(2)
    index = tf.data.Dataset.range(n)
    if shuffle:
        index = index.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    return _gather_from_numpy(index.batch(batch_size), X, y, sample_weight, x_dtype).prefetch(2)


def _gather_from_numpy(index, X, y, sample_weight, x_dtype):
    x_dtype = np.dtype(x_dtype)

    def take(i):
        return X[i].astype(x_dtype, copy=False), y[i], sample_weight[i]

    types = (tf.as_dtype(x_dtype), tf.as_dtype(y.dtype), tf.as_dtype(sample_weight.dtype))
    x_shape = (None,) + tuple(X.shape[1:])
    y_shape = (None,) + tuple(y.shape[1:])

    def load(i):
        xb, yb, wb = tf.numpy_function(take, [i], types, stateful=False)
        xb.set_shape(x_shape)
        yb.set_shape(y_shape)
        wb.set_shape((None,))
        return xb, yb, wb

    return index.map(load)
