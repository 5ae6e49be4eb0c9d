"""Feeding arrays to Keras without copying the whole training set.

``model.fit(X, y)`` on NumPy arrays copies X into a tensor and holds a shuffle
buffer as large as the data: about twice the data at peak. Small data (below
``SMALL_DATA_BYTES``) goes that way all the same, as it is cheap and runs
without Python in the loop; from ``GATHER_ROWS`` rows on, its order is
not drawn by a shuffle buffer (which copies every row into the buffer one by
one, every epoch: a third of a 200,000-row epoch) but by a permutation of
row indices per epoch, each batch gathered from the tensors in TensorFlow.
Large data is never copied whole: each epoch's
order is a permutation of row indices (``stateless_shuffle``, reseeded every
epoch, 4 bytes a row, no buffer of rows), and each batch is gathered on
demand straight from the user's NumPy array, so only one batch at a time is
copied. Either way the order is
reproducible for a given seed; the two ways draw different orders.

scipy sparse X takes the first way when it is small once dense (then it
trains exactly as its dense equal), else the second: each batch of rows
leaves NumPy as a sparse tensor, which an input the model declares
(``keras.Input``) densifies inside the traced step and TensorFlow densifies
before a model that declares none; a fit holds the sparse data and one dense
batch, never the dense matrix (which for text features is often larger than
memory). A sparse model input always takes the second way, with sparse
batches, and multiplies them as they are.

Row sources (``_sources``: arrays mapped from files, image files) are read
the same way, each batch read from its file when the batch is needed, several
batches at once where the source allows it; a small one (below
``SMALL_DATA_BYTES`` once read) is read whole first and takes the first way,
so that it trains exactly as the same rows in memory do. Sizes are counted
in the dtype the network is fed, which is what a source read whole holds.

TensorFlow keeps every function given to ``tf.numpy_function`` for the rest of
the process (the outermost graph holds them, so that a graph never loses one),
and with it whatever the function refers to: batches gathered in NumPy read
their arrays through a holder that :func:`releasing` empties once the fit or
predict that made them ends, so that the user's arrays (and the files mapped
under them) are freed as they are after Keras' own fit."""

import contextlib
import contextvars
import math

import numpy as np
from scipy import sparse as scipy_sparse

from .. import _tf
from .._tf import tf
from . import _nested as nested
from ._predict import InputKind
from ._sources import RowSource, reported_read_errors, sources

# Below this many bytes the arrays are copied into tensors once: cheap, and
# the whole input pipeline then runs in TensorFlow.
SMALL_DATA_BYTES = 64 * 2**20

# From this many rows on, small data is shuffled by gathering permuted batches
# from its tensors rather than through a shuffle buffer.
GATHER_ROWS = 50_000

# Second half of the permutation key (the first is drawn per epoch).
_PERMUTATION_KEY = 0x6B6C

# The holders of the arrays datasets made in the current releasing() block read.
_HELD = contextvars.ContextVar("keraslearn_held_rows", default=None)


@contextlib.contextmanager
def releasing():
    """Datasets that gather batches in NumPy, made in the block, read their
    arrays until it ends; none may be made outside such a block."""
    held = []
    token = _HELD.set(held)
    try:
        yield
    finally:
        _HELD.reset(token)
        for holder in held:
            holder.clear()


def _holder(arrays):
    held = _HELD.get()
    if held is None:
        raise RuntimeError("a dataset gathering rows in NumPy is made inside releasing(), "
                           "which frees its arrays")
    holder = [arrays]
    held.append(holder)
    return holder


def make_dataset(X, y, sample_weight, *, batch_size, shuffle, seed, inputs,
                 weights_per_batch=False, weight_axes=0):
    """A batched ``tf.data.Dataset`` of ``(x, y, sample_weight)`` over rows of X.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...), or a tuple or dict of them
        Model inputs (one per input of a model with several); cast to
        each input's dtype batch by batch.
    y : ndarray of shape (n_samples, ...), a tuple or dict of them, or None
        Encoded targets; None for a model that computes its loss from x alone.
    sample_weight : ndarray of shape (n_samples,)
        Unused without targets.
    batch_size : int
    shuffle : bool
        Visit the rows in a new random order at every epoch.
    seed : int or None
        Seed of the order, for reproducible training.
    inputs : InputKind, or a structure of them like X
        How each model input takes rows (dtype; sparse or dense).
    weights_per_batch : bool, default=False
        Scale each batch's weights to sum to its number of rows, so that the
        loss Keras computes (the weighted sum over the rows) is the batch's
        weighted mean, as scikit-learn's MLP divides by each batch's total
        weight.
    weight_axes : int, default=0
        Axes of length 1 added to the weights, so that one weight a sample
        multiplies a loss of several values a sample (a sequence's steps):
        Keras fails on weights of shape (n_samples,) there.
    """
    X, y = sources(nested.normalise(X)), sources(nested.normalise(y))
    # Weights in the model's float type: float32 would round normalised weights.
    first = nested.leaves(inputs)[0].dtype
    w_dtype = first if first.kind == "f" else np.dtype("float32")
    sample_weight = np.asarray(sample_weight, dtype=w_dtype)
    sample_weight = sample_weight.reshape(sample_weight.shape + (1,) * weight_axes)
    n = nested.n_rows(X)
    if _small(X, y, inputs):
        # Built from TensorFlow's own ops only, so nothing is traced per fit:
        # the fixed cost of a small fit stays low. Small sparse data is
        # densified whole: it trains exactly as its dense equal.
        X = nested.map_pairs(_whole, X, inputs)
        y = None if y is None else nested.map_arrays(in_memory, y)
        structure = (X,) if y is None else (X, y, sample_weight)
        if shuffle and n >= GATHER_ROWS:
            index = _index_batches(n, batch_size, shuffle, seed)
            ds = _gather_from_tensors(index, structure)
        else:
            ds = tf.data.Dataset.from_tensor_slices(structure)
            if shuffle:
                ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
            ds = ds.batch(batch_size)
        ahead = 2
    else:
        index = _index_batches(n, batch_size, shuffle, seed)
        ds = _gather_from_numpy(index, X, y, sample_weight, inputs, for_fit=True,
                                rows_per_batch=batch_size)
        # Densified sparse batches can be large: one is prepared ahead, not two.
        ahead = 1 if nested.has_sparse(X) else 2
    if weights_per_batch and y is not None:
        ds = ds.map(_weighted_mean_per_batch)
    return limit_threads(ds.prefetch(ahead))


def _weighted_mean_per_batch(x, y, w):
    """The batch with its weights summing to its rows (a batch weighing
    nothing stays so)."""
    rows = tf.cast(tf.shape(w)[0], w.dtype)
    return x, y, w * tf.math.divide_no_nan(rows, tf.reduce_sum(w))


def _small(X, y, inputs):
    """Whether X and y (row sources already) are read whole for a fit."""
    return _in_memory_bytes(X, inputs) + nested.nbytes(y) <= SMALL_DATA_BYTES


def decodes_in_python_per_batch(X, y, inputs):
    """Whether a fit's dataset (:func:`make_dataset`) decodes X's rows batch by
    batch in Python, from a source that decodes them (image files Pillow
    reads): a fit bound by decoding, not by tracing or per-step overhead.
    Sources TensorFlow's ops read do not count: their batches need no Python."""
    X, y = sources(nested.normalise(X)), sources(nested.normalise(y))
    return any(getattr(a, "parallel_reads", False) and not getattr(a, "reads_in_tensorflow", False)
               for a in nested.leaves(X)) and not _small(X, y, inputs)


def _in_memory_bytes(X, inputs):
    """The bytes X takes once dense in the dtypes the model's inputs are fed
    (a mapped uint8 file or float64 pixels are read whole as the network's
    floats), or infinity when a sparse model input must get it sparse."""
    total = 0
    for a, kind in zip(nested.leaves(X), nested.leaves(inputs)):
        if scipy_sparse.issparse(a) and kind.sparse:
            return math.inf
        total += math.prod(a.shape) * kind.dtype.itemsize
    return total


def _whole(a, kind):
    return nested.dense(a, kind.dtype) if scipy_sparse.issparse(a) else in_memory(a, kind.dtype)


# Rows per read of a source read in order in parallel: small enough for
# several reads to share the cores.
_ROWS_PER_READ = 32


def batches_in_order(X, batch_rows, inputs):
    """A ``tf.data.Dataset`` of ``(x,)``: the rows of X in order, ``batch_rows``
    at a time, read ahead (in parallel where X's sources allow it)."""
    X = sources(nested.normalise(X))
    n = nested.n_rows(X)
    if not any(getattr(a, "parallel_reads", False) for a in nested.leaves(X)):
        ds = _gather_from_numpy(tf.data.Dataset.range(n).batch(batch_rows), X, None, None, inputs,
                                rows_per_batch=batch_rows)
    else:
        rows = min(batch_rows, _ROWS_PER_READ)
        reads = tf.data.Dataset.range(n).batch(rows)
        ds = _gather_from_numpy(reads, X, None, None, inputs,
                                rows_per_batch=rows).unbatch().batch(batch_rows)
    return limit_threads(ds.prefetch(2))


def in_memory(a, dtype=None):
    """``a`` as an array in memory: a row source read whole (in parallel
    where it allows it), an array as it is; cast to ``dtype`` if given."""
    if not isinstance(a, RowSource):
        return a if dtype is None else np.asarray(a, dtype=dtype)
    if not a.parallel_reads:
        out = a.read()
        return out if dtype is None else out.astype(dtype, copy=False)
    out = np.empty(a.shape, dtype=dtype or a.dtype)
    start = 0
    with reported_read_errors(a), releasing():
        for (rows,) in batches_in_order(a, 1024, InputKind(out.dtype)):
            out[start:start + len(rows)] = rows.numpy()
            start += len(rows)
    return out


def limit_threads(ds):
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

    The permutation is drawn whole (4 bytes a row, a small fraction of any
    data large enough to come here): per-index permutations such as
    ``index_shuffle`` leave many rows in place when there are few of them.
    """
    # 32-bit row indices where they suffice: half the memory, the same order.
    dtype = tf.int32 if n < 2**31 else tf.int64
    if not shuffle:
        return tf.data.Dataset.range(n, output_type=dtype).batch(batch_size)
    starts = tf.data.Dataset.range(0, n, batch_size, output_type=dtype)

    def permuted(epoch_seed):
        key = tf.stack([epoch_seed, tf.constant(_PERMUTATION_KEY, tf.int64)])
        order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=dtype), key)
        return starts.map(lambda start: order[start:start + batch_size])

    epoch_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    return epoch_seeds.flat_map(permuted).apply(
        tf.data.experimental.assert_cardinality(math.ceil(n / batch_size))
    )


def _gather_from_tensors(index, structure):
    """Batches gathered in TensorFlow from the arrays of ``structure``, copied
    into tensors once, by the index batches."""
    tensors = tf.nest.map_structure(tf.convert_to_tensor, structure)
    return index.map(lambda i: tf.nest.map_structure(lambda t: tf.gather(t, i), tensors))


def _gather_from_numpy(index, X, y, sample_weight, inputs, for_fit=False, rows_per_batch=None):
    """Batches gathered from the arrays by the index batches: only one batch
    of rows is copied at a time (a row source's rows read; scipy sparse rows
    leave NumPy as a sparse tensor, given as it is to a sparse model input and
    densified by TensorFlow, in one block of the input's dtype, for a dense
    one; for a fit, a dense input the model declares gets them sparse and
    Keras densifies them in the traced step, see :class:`InputKind`).
    Without targets, elements are ``(x,)``. ``rows_per_batch``: the index
    batches' size (all but the last)."""
    structure = (X,) if y is None else (X, y, sample_weight)
    arrays = nested.leaves(structure)
    n_x = len(nested.leaves(X))
    kinds = nested.leaves(inputs) + [None] * (len(arrays) - n_x)
    as_sparse = [kind is not None and (kind.sparse or scipy_sparse.issparse(a))
                 for kind, a in zip(kinds, arrays)]
    densify = [sparse_part and not (kind.takes_sparse_batches if for_fit else kind.sparse)
               for kind, sparse_part in zip(kinds, as_sparse)]
    dtypes = [kind.dtype if kind is not None else a.dtype for kind, a in zip(kinds, arrays)]
    # Sources read by TensorFlow ops (image files the "tensorflow" decoder
    # reads) run without Python; the arrays beside them (targets, weights) are
    # then gathered from tensors, so that no batch needs Python at all.
    in_tf = [getattr(a, "reads_in_tensorflow", False) for a in arrays]
    if any(in_tf):
        in_tf = [t or (type(a) is np.ndarray and not sparse_part)
                 for t, a, sparse_part in zip(in_tf, arrays, as_sparse)]
    types = []
    for sparse_part, dtype, tf_read in zip(as_sparse, dtypes, in_tf):
        if not tf_read:
            types += ([tf.int64, tf.as_dtype(dtype), tf.int64] if sparse_part
                      else [tf.as_dtype(dtype)])
    with tf.init_scope():  # made once, outside the traced map function
        tensors = [tf.constant(a.astype(d, copy=False)) if t and not isinstance(a, RowSource)
                   else None for a, d, t in zip(arrays, dtypes, in_tf)]
    held = _holder(arrays)  # (take is kept by TensorFlow: the arrays only until released)
    # What a read ahead after the end gets (a fit stopped by an exception whose
    # pipeline still prefetches): no rows, quietly, where an error would be
    # logged by TensorFlow for a batch nobody reads.
    none = []
    for a, d, sparse_part, tf_read in zip(arrays, dtypes, as_sparse, in_tf):
        if not tf_read:
            none += ([np.zeros((0, 2), np.int64), np.zeros(0, d),
                      np.array([0, *a.shape[1:]], np.int64)] if sparse_part
                     else [np.zeros((0, *a.shape[1:]), d)])

    def take(i):
        if not held:
            return tuple(none)
        out = []
        for a, d, sparse_part, tf_read in zip(held[0], dtypes, as_sparse, in_tf):
            if tf_read:
                continue
            rows = a.read(i) if isinstance(a, RowSource) else a[i]
            if sparse_part:
                coo = (rows.tocoo() if hasattr(rows, "tocoo") else
                       scipy_sparse.coo_matrix(np.asarray(rows)))
                coo.sum_duplicates()  # a fresh copy of the rows: canonical, as TensorFlow needs
                out += [np.column_stack([coo.row, coo.col]).astype(np.int64),
                        coo.data.astype(d), np.asarray(coo.shape, dtype=np.int64)]
            else:
                out.append(nested.dense(rows, d))
        return tuple(out)

    def load(i):
        flat = list(tf.numpy_function(take, [i], types, stateful=False)) if types else []
        out = []
        for a, d, sparse_part, dense, tf_read, tensor in zip(arrays, dtypes, as_sparse, densify,
                                                             in_tf, tensors):
            if tf_read:  # a source's rows in the input's dtype (float64 pixels, say)
                tensor = tf.cast(a.tf_read(i), d) if tensor is None else tf.gather(tensor, i)
            elif sparse_part:
                indices, values, shape = flat[:3]
                del flat[:3]
                tensor = tf.sparse.reorder(tf.SparseTensor(indices, values, shape))
                tensor.set_shape((None,) + tuple(a.shape[1:]))
                if dense:
                    tensor = tf.sparse.to_dense(tensor)
            else:
                tensor = flat.pop(0)
            tensor.set_shape((None,) + tuple(a.shape[1:]))
            out.append(tensor)
        return tf.nest.pack_sequence_as(structure, out)

    if all(in_tf) and rows_per_batch is not None:
        # Every part read by TensorFlow's ops: row by row, several at once,
        # then batched again, as Keras' own image loader reads files.
        def load_row(i):
            return tf.nest.pack_sequence_as(structure, [
                tf.cast(a.tf_read_row(i), d) if tensor is None else tf.gather(tensor, i)
                for a, d, tensor in zip(arrays, dtypes, tensors)])

        rows = index.unbatch().map(load_row, num_parallel_calls=tf.data.AUTOTUNE,
                                   deterministic=True).batch(rows_per_batch)
        batches = int(index.cardinality())  # unbatching forgets it; Keras' fit reads it
        return rows if batches < 0 else rows.apply(
            tf.data.experimental.assert_cardinality(batches))
    if any(getattr(a, "parallel_reads", False) for a in arrays):
        return index.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return index.map(load)
