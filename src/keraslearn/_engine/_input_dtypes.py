"""Which dtype training and prediction X is checked to (``check_array``'s
``dtype``), and which dtype a fit records for it (``X_dtype_``)."""

import numpy as np
from scipy.sparse import issparse

from ..utils._columns import column_dtypes, integer_dtype, values_dtype
from ..utils._input_errors import refuse_dates
from . import _nested as nested
from ._sources import blocks, is_mapped

FLOATS = (np.float32, np.float64)
CHECK_BLOCK_BYTES = 8 * 2**20  # of a file-mapped array read at a time for NaN and infinity


def mapped(X):
    """Whether X is a file-mapped array of numbers, checked without reading it whole."""
    return isinstance(X, np.ndarray) and X.dtype.kind in "biuf" and is_mapped(X)


def x_params(est, X, reset=True, name=None):
    """``check_array`` arguments for X: a mapped X is neither converted nor
    checked for finiteness there (``_inputs`` checks it block by block)."""
    if mapped(X):
        return {"dtype": None, "ensure_all_finite": False}
    return {"dtype": x_dtype(est, X, reset, name)}


def x_dtype(est, X, reset=True, name=None):
    """The dtype X (its input ``name``) is converted to: float, except integer or
    boolean X given to a wrapper, which its model gets as given (scikeras' rule: an
    id above 2**24 would be rounded in float32), each batch cast to the model
    input's dtype. After a fit on floats (``reset`` False), the fit's float.
    Dates and times, which have no dtype to become, are refused here."""
    refuse_dates(X, name)
    network = getattr(est, "_dtype", None)
    rows = None
    if not callable(network) and isinstance(X, (list, tuple)):
        try:  # rows of numbers, as scikit-learn takes them (Python's floats: float64)
            rows = np.asarray(X)
        except (TypeError, ValueError):  # ragged: check_array says what it is
            pass
    # Other X becomes the first: a ready network's float, else float64 where the
    # columns hold float64 numbers together, as NumPy ones would be kept
    first = (network() if callable(network) else
             "float64" if _float64(X if rows is None else rows) else "float32")
    floats = tuple(sorted(FLOATS, key=lambda f: np.dtype(f) != first))
    if not getattr(est, "_keeps_integer_X", False):
        return floats
    fitted = None if reset else fitted_dtype(est, name)
    if fitted is not None and np.dtype(fitted).kind == "f":  # integers become the fit's floats
        return tuple(sorted(FLOATS, key=lambda f: np.dtype(f) != fitted))
    if isinstance(X, (list, tuple)) and rows is None:  # (ragged)
        return floats
    kept = integer_dtype(X if rows is None else rows)
    return floats if kept is False else kept


def _float64(X):
    """Whether X's columns hold float64 numbers together, pandas' nullable and
    categorical ones taken as the NumPy dtype of their values: ``check_array``
    converts a frame holding any of them to the first dtype it is given, but
    keeps float64 NumPy columns (a boolean or Int64 column beside float64 ones
    must not make them float32). A polars frame's columns are read as NumPy
    holds them together. Wider floats (longdouble) are float64's too, and so is X
    of Python objects only (Decimal, Fraction: as scikit-learn converts them);
    object columns beside others follow those: float32 would round float64 or
    Decimal values before a float64 network got them."""
    given = [values_dtype(dtype) for dtype in column_dtypes(X)]
    found = [d for d in given if not (isinstance(d, np.dtype) and d.kind == "O")]
    if given and not found:
        return True
    if not all(isinstance(dtype, np.dtype) and dtype.kind in "biuf" for dtype in found):
        return False
    merged = np.result_type(*found) if found else None
    return merged is not None and merged.kind == "f" and merged.itemsize >= 8


def as_checked(est, dtype):
    """The dtype X was checked to (see :func:`x_dtype`)."""
    dtype = np.dtype(dtype)
    if dtype in FLOATS or (dtype.kind in "biu" and getattr(est, "_keeps_integer_X", False)):
        return dtype
    return np.dtype(FLOATS[0])


def fitted_dtype(est, name=None):
    """The dtype the fit recorded for X (for its input ``name``), or None."""
    fitted = getattr(est, "X_dtype_", None)
    return (None if name is None else fitted.get(name)) if isinstance(fitted, dict) else fitted


def holds_exactly(X, dtype):
    """Whether X's values (a sparse X's stored ones; a mapped X block by block)
    cast to ``dtype`` unchanged, and are integers X's own dtype holds exactly
    (float32 cannot tell 2**24 + 1 from 2**24: such ids were rounded already)."""
    values = X.data if issparse(X) else X
    top = 2.0 ** (np.finfo(values.dtype).nmant + 1) if values.dtype.kind == "f" else np.inf
    for block in _parts(values):
        with np.errstate(invalid="ignore", over="ignore"):
            if not (np.array_equal(block.astype(dtype), block) and np.all(np.abs(block) < top)):
                return False
    return True


def check_integer_inputs(X, kinds):
    """Refuse rows an integer input of the model (an Embedding's ids) would take
    truncated or wrapped, as Keras casts them: 0.7 as 0, 2**32 + 1 as 1 in int32;
    and ids outside the rows of the Embedding reading the input (TensorFlow
    fails on one on a CPU, reads it as zeros on a GPU, and a negative one from
    the end). ``kinds``: how each input takes rows (``_predict.input_kinds``)."""
    arrays, taken = nested.leaves(X), nested.leaves(kinds)
    names = ([f"X[{key!r}]" for key in sorted(X)] if nested._is_dict(X) and len(X) == len(arrays)
             else ["X"] * len(arrays))
    for name, array, kind in zip(names, arrays, taken):
        values = array.data if issparse(array) else getattr(array, "mapped_array", array)
        dtype = kind.dtype
        if (dtype.kind not in "iu" or not isinstance(values, np.ndarray)
                or values.dtype.kind not in "fiu"):
            continue
        odd = None if np.can_cast(values.dtype, dtype) else _first_cast_otherwise(values, dtype)
        if odd is not None:
            raise ValueError(
                f"{name} holds values the model's {dtype} input cannot take as they are "
                f"({odd!r}, of {values.dtype}): Keras would cast them truncated or wrapped. "
                f"Give whole numbers within {dtype}'s range, or give the model a float input "
                "(keras.Input(..., dtype='float32')).")
        if kind.ids is not None and values.size:
            _check_ids(name, values, kind.ids)


def _check_ids(name, values, rows):
    """Refuse ``values`` (ids) outside ``range(rows)``, naming the first."""
    for block in _parts(values):
        odd = block[(block < 0) | (block >= rows)]
        if odd.size:
            first = odd.flat[0].item()  # (a whole float as the id it is)
            first = int(first) if isinstance(first, float) and first.is_integer() else first
            raise ValueError(
                f"{name} holds an id outside the {rows} rows of the Embedding reading it "
                f"({first!r}): TensorFlow fails on it (or, on a GPU, reads it "
                f"as zeros; a negative id from the end). Give ids in [0, {rows}), or an "
                "Embedding with input_dim above the largest id.")


def _first_cast_otherwise(values, dtype):
    """The first of ``values`` that ``dtype`` does not hold as it is, or None."""
    for block in _parts(values):
        with np.errstate(invalid="ignore", over="ignore"):
            odd = block[block.astype(dtype) != block]
        if odd.size:
            return odd.flat[0].item()
    return None


def _parts(values):
    """``values`` (an array in memory or mapped from a file) about
    ``CHECK_BLOCK_BYTES`` at a time: a check casting them copies no more."""
    if mapped(values):
        yield from map(np.asarray, blocks(values, CHECK_BLOCK_BYTES))
        return
    step = max(1, CHECK_BLOCK_BYTES // max(1, values[:1].nbytes))
    for start in range(0, len(values), step):
        yield values[start:start + step]
