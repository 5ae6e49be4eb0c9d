"""Feeding arrays to Keras without copying the whole training set.

``model.fit(X, y)`` on NumPy arrays copies X into a tensor and holds a shuffle
buffer as large as the data: about twice the data at peak. Small data (below
``SMALL_DATA_BYTES``) goes that way all the same, as it is cheap and runs
without Python in the loop. Large data is never copied whole: each epoch's
order is a permutation of row indices (``stateless_shuffle``, reseeded every
epoch, 8 bytes a row, no buffer of rows), and each batch is gathered on
demand straight from the user's NumPy array, so only one batch at a time is
copied. Either way the order is
reproducible for a given seed; the two ways draw different orders."""

import math

import numpy as np

from .. import _tf
from .._tf import tf

# Below this many bytes the arrays are copied into tensors once: cheap, and
# the whole input pipeline then runs in TensorFlow.
SMALL_DATA_BYTES = 64 * 2**20

# Second half of the permutation key (the first is drawn per epoch).
_PERMUTATION_KEY = 0x6B6C


def make_dataset(X, y, sample_weight, *, batch_size, shuffle, seed, x_dtype):
    """A batched ``tf.data.Dataset`` of ``(x, y, sample_weight)`` over rows of X.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
        Features; cast to ``x_dtype`` batch by batch.
    y : ndarray of shape (n_samples, ...) or None
        Encoded targets; None for a model that computes its loss from x alone.
    sample_weight : ndarray of shape (n_samples,)
        Unused without targets.
    batch_size : int
    shuffle : bool
        Visit the rows in a new random order at every epoch.
    seed : int or None
        Seed of the order, for reproducible training.
    x_dtype : str
        The dtype the model's input takes.
    """
    # Weights in the model's float type: float32 would round normalised weights.
    w_dtype = x_dtype if np.dtype(x_dtype).kind == "f" else "float32"
    sample_weight = np.asarray(sample_weight, dtype=w_dtype)
    n = X.shape[0]
    if X.nbytes + (0 if y is None else y.nbytes) <= SMALL_DATA_BYTES:
        # Built from TensorFlow's own ops only, so nothing is traced per fit:
        # the fixed cost of a small fit stays low.
        X = np.asarray(X, dtype=x_dtype)
        ds = tf.data.Dataset.from_tensor_slices((X,) if y is None else (X, y, sample_weight))
        if shuffle:
            ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
        return _limit_threads(ds.batch(batch_size).prefetch(2))
    index = _index_batches(n, batch_size, shuffle, seed)
    return _limit_threads(_gather_from_numpy(index, X, y, sample_weight, x_dtype).prefetch(2))


def _limit_threads(ds):
    """Keep the input pipeline within the process's share of the cores.

    In a joblib worker TensorFlow's compute threads are capped already
    (``_tf.configure_threads``); tf.data has pools of its own, which would
    otherwise compete with the other workers for every core.
    """
    n = _tf.thread_limit()
    if n is None:
        return ds
    options = tf.data.Options()
    options.threading.private_threadpool_size = n
    options.threading.max_intra_op_parallelism = 1
    options.autotune.enabled = False
    return ds.with_options(options)


def _index_batches(n, batch_size, shuffle, seed):
    """Batches of row indices: in order, or permuted anew at every epoch.

    The permutation is drawn whole (8 bytes a row, a small fraction of any
    data large enough to come here): per-index permutations such as
    ``index_shuffle`` leave many rows in place when there are few of them.
    """
    if not shuffle:
        return tf.data.Dataset.range(n).batch(batch_size)
    starts = tf.data.Dataset.range(0, n, batch_size)

    def permuted(epoch_seed):
        key = tf.stack([epoch_seed, tf.constant(_PERMUTATION_KEY, tf.int64)])
        order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), key)
        return starts.map(lambda start: order[start:start + batch_size])

    epoch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    return epoch_seeds.flat_map(permuted).apply(
        tf.data.experimental.assert_cardinality(math.ceil(n / batch_size))
    )


def _gather_from_numpy(index, X, y, sample_weight, x_dtype):
    """Batches gathered from the arrays by the index batches: only one batch
    of rows is copied at a time. Without targets, elements are ``(x,)``."""
    x_dtype = np.dtype(x_dtype)
    arrays = (X,) if y is None else (X, y, sample_weight)
    types = (tf.as_dtype(x_dtype),) + tuple(tf.as_dtype(a.dtype) for a in arrays[1:])
    shapes = [(None,) + tuple(a.shape[1:]) for a in arrays]

    def take(i):
        return (X[i].astype(x_dtype, copy=False),) + tuple(a[i] for a in arrays[1:])

    def load(i):
        batch = tf.numpy_function(take, [i], types, stateful=False)
        for tensor, shape in zip(batch, shapes):
            tensor.set_shape(shape)
        return tuple(batch)

    return index.map(load)
