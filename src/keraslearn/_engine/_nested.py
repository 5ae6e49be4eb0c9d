"""Model inputs and targets as one array, or as a tuple or dict of arrays
(a model with several inputs or outputs), handled alike row by row.

Lists become tuples: ``tf.data`` would stack a list of arrays into one tensor,
while Keras takes a tuple, like a list, as one array per input or output.
"""

import numpy as np
from scipy import sparse

from .._multi_input import is_named_inputs as _is_dict


def dense(array, dtype):
    """A block of rows as a dense array of ``dtype`` (sparse rows densified)."""
    if sparse.issparse(array):  # cast the stored values, then densify once, in dtype
        return array.astype(dtype, copy=False).toarray()
    return np.asarray(array, dtype=dtype)


def has_sparse(data):
    return any(sparse.issparse(leaf) for leaf in leaves(data)) if data is not None else False


def is_nested(data):
    return isinstance(data, (list, tuple)) or _is_dict(data)


def sole(data):
    """The one item of a one-element list or tuple, or of a one-key dict (a
    value given per output of a one-output model, as Keras takes it); ``data``
    as it is otherwise."""
    if isinstance(data, (list, tuple)) and len(data) == 1:
        return data[0]
    if _is_dict(data) and len(data) == 1:
        return next(iter(data.values()))
    return data


def normalise(data):
    """Lists as tuples and dict subclasses as dicts, recursively; arrays as they are."""
    if _is_dict(data):
        return {k: normalise(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return tuple(normalise(v) for v in data)
    return data


def leaves(data):
    """The arrays of ``data``, in order (a dict's by sorted key, as ``tf.nest``)."""
    if _is_dict(data):
        return [leaf for k in sorted(data) for leaf in leaves(data[k])]
    if isinstance(data, (list, tuple)):
        return [leaf for v in data for leaf in leaves(v)]
    return [data]


def map_arrays(fn, data):
    """``data`` with ``fn`` applied to each array, structure kept."""
    if _is_dict(data):
        return {k: map_arrays(fn, v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return tuple(map_arrays(fn, v) for v in data)
    return fn(data)


def map_pairs(fn, data, other):
    """``fn(a, b)`` over the arrays of two structures alike (``other`` may be
    one value for every array)."""
    if _is_dict(data):
        return {k: map_pairs(fn, v, other[k] if _is_dict(other) else other)
                for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        others = other if isinstance(other, (list, tuple)) else [other] * len(data)
        return tuple(map_pairs(fn, v, o) for v, o in zip(data, others))
    return fn(data, other)


def n_rows(data):
    return leaves(data)[0].shape[0]


def _leaf_bytes(leaf):
    if sparse.issparse(leaf):
        return sum(a.nbytes for a in (leaf.data, leaf.indices, leaf.indptr)
                   if isinstance(a, np.ndarray))
    return getattr(leaf, "nbytes", 0)


def nbytes(data):
    return sum(_leaf_bytes(leaf) for leaf in leaves(data)) if data is not None else 0


def take(data, rows):
    """The rows ``rows`` (an index array or a slice) of every array."""
    if data is None or rows is None:
        return data
    return map_arrays(lambda a: a[rows], data)


def concatenate(parts):
    """Chunks of outputs (arrays, or structures of arrays) joined row-wise."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if _is_dict(first):
        return {k: concatenate([p[k] for p in parts]) for k in first}
    if isinstance(first, (list, tuple)):
        return [concatenate([p[i] for p in parts]) for i in range(len(first))]
    return np.concatenate(parts, axis=0)
