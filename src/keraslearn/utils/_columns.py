"""Columns of a table, read as scikit-learn reads them.

- :func:`column_positions`: a fitted ``ColumnTransformer``'s column selections
  as positions. ``transformers_`` keeps each selection as it was given (a name,
  a list of names or positions, a slice of either, a boolean mask) and resolves
  a callable to its result; the export folds them into a graph and the server
  reads which step takes each column.
- :func:`string_names` and :func:`warn_unnamed`: a DataFrame's column names as
  scikit-learn records them (pandas' or polars'), and its warnings where only
  one side had names; :func:`polars_as_pandas`, a polars frame read as pandas.
- :func:`integer_dtype`: the dtype integer columns keep (pandas' nullable ones
  included), where ``check_array`` would make them floats.
"""

import sys
import warnings

import numpy as np
import pandas as pd

from .._stacklevel import user_stacklevel


def column_positions(columns, names, n_features):
    """The positions of a ColumnTransformer's column selection.

    Parameters
    ----------
    columns : str, int, slice, array-like of str, int or bool
        The selection, as ``transformers_`` holds it.

    names : list of str or None
        The column names the transformer was fitted with (None for an array).

    n_features : int
        How many columns the transformer takes.

    Returns
    -------
    positions : list of int
        In the selection's order (negative positions counted from the end).

    Raises
    ------
    ValueError
        For a selection still callable, a name not among ``names``, or a
        position out of range.
    """
    if callable(columns):
        raise ValueError("A column selection is still a callable after fit; cannot resolve it.")
    if isinstance(columns, slice):
        start, stop = columns.start, columns.stop
        if isinstance(start, str) or isinstance(stop, str):
            # Label slices include their end, as in pandas.
            start = 0 if start is None else _position(start, names, n_features)
            stop = n_features if stop is None else _position(stop, names, n_features) + 1
            return list(range(n_features))[start:stop:columns.step]
        return list(range(n_features))[columns]
    values = np.atleast_1d(np.asarray(columns, dtype=object))
    if values.size and all(isinstance(v, (bool, np.bool_)) for v in values):
        return [int(i) for i in np.flatnonzero(values.astype(bool))]
    return [_position(v, names, n_features) for v in values]


def _position(column, names, n_features):
    if isinstance(column, str):
        if names is None or column not in names:
            raise ValueError(f"Column {column!r} is not among the fitted column names.")
        return names.index(column)
    position = int(column)  # a negative index counts from the end, as in NumPy
    if not -n_features <= position < n_features:
        raise ValueError(f"Column {position} is out of range for {n_features} columns.")
    return position + n_features if position < 0 else position


def warn_unnamed(fitted_with_names, named, owner, what="X"):
    """scikit-learn's warnings where ``what`` (X, or one of its named inputs) is
    matched to the fitted features by position while either side had names
    (columns swapped would go unseen)."""
    if fitted_with_names != named:
        warnings.warn(f"{what} does not have valid feature names, but {owner} was fitted "
                      "with feature names" if fitted_with_names else
                      f"{what} has feature names, but {owner} was fitted without feature names",
                      UserWarning, stacklevel=user_stacklevel())


def integer_dtype(X):
    """The dtype ``check_array`` keeps X of integers or booleans in: None for
    NumPy's own, their NumPy dtype for pandas' nullable ones (Int64, boolean),
    categories of integers and object columns holding integers only, which it
    would make floats (ids past 2**24 rounded in float32); False for other X (floats, text, sparse
    columns, and nullable ones holding NA, refused as NaN). A polars frame's
    columns are read as NumPy holds them together (a null makes them floats)."""
    if is_polars_frame(X) and any(X.null_count().row(0)):
        return False
    if isinstance(X, np.ndarray) and X.dtype == object:  # (as a frame's objects are read)
        return np.dtype(np.int64) if X.size and int64_objects(pd.Series(X.ravel())) else False
    given = column_dtypes(X)
    dtypes = [values_dtype(d) for d in given]
    if isinstance(X, pd.DataFrame):  # (objects that are all integers: ids, as NumPy's)
        dtypes = [np.dtype(np.int64) if getattr(d, "kind", None) == "O" and int64_objects(
            X.iloc[:, j]) else d for j, d in enumerate(dtypes)]
    if not (len(dtypes) and all(getattr(d, "kind", None) in ("b", "i", "u") for d in dtypes)
            and not any(isinstance(d, pd.SparseDtype) for d in given)):
        return False
    if all(isinstance(d, np.dtype) and d.kind != "O" for d in given):
        return None
    return False if X.isna().to_numpy().any() else np.result_type(*dtypes)


def int64_objects(column):
    """Whether an object column holds integers int64 holds, only."""
    if pd.api.types.infer_dtype(column, skipna=False) != "integer":
        return False
    try:  # (ids past int64's range: left to the floats, as before)
        column.to_numpy(dtype=np.int64)
    except OverflowError:
        return False
    return True


def tensor_values(X):
    """A TensorFlow tensor's (or variable's) values as a NumPy array; X itself
    when it is none (read by its dtype, a ``tf.DType``, without importing
    TensorFlow), or a ragged or sparse one (refused in words of its own)."""
    dtype = getattr(X, "dtype", None)
    plain = hasattr(X, "numpy") and not hasattr(X, "flat_values")
    return np.asarray(X) if hasattr(dtype, "as_numpy_dtype") and plain else X


def column_dtypes(X):
    """The dtypes of X's columns: a pandas frame's, a polars frame's as NumPy
    holds them together (one), else X's own dtype (None without one; a
    TensorFlow tensor's as NumPy's)."""
    if is_polars_frame(X):
        X = X.head(0).to_numpy()
    if isinstance(X, pd.DataFrame):
        return list(X.dtypes)
    dtype = getattr(X, "dtype", None)
    return [np.dtype(dtype.as_numpy_dtype) if hasattr(dtype, "as_numpy_dtype") else dtype]


def values_dtype(dtype):
    """The NumPy dtype a column of ``dtype`` holds its values in: a categorical's
    categories', pandas' nullable ones' (``Int64``: int64); NumPy's as it is."""
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    return getattr(dtype, "numpy_dtype", dtype)


def string_names(frame, X):
    """The column names of a pandas or polars DataFrame whose names are all
    strings (as scikit-learn records them), else None; names mixing strings
    and other types are refused, as scikit-learn refuses them (they would be
    matched by position, in silence)."""
    if not (isinstance(X, pd.DataFrame) or is_polars_frame(X)):
        return None
    named = [isinstance(c, str) for c in frame.columns]
    if all(named):
        return [str(c) for c in frame.columns]
    if any(named):
        kinds = sorted({type(c).__name__ for c in frame.columns})
        raise TypeError(f"Column names must all be strings, or none be: these mix {kinds}. "
                        "Make them strings (X.columns = X.columns.astype(str)).")
    return None


def is_polars_frame(X):
    """Whether ``X`` is a polars DataFrame (without importing polars)."""
    polars = sys.modules.get("polars")
    return polars is not None and isinstance(X, polars.DataFrame)


def polars_as_pandas(X, nullable=False):
    """A polars DataFrame as a pandas one with its names, column by column
    (polars' own ``to_pandas`` needs pyarrow); anything else as it is. With
    ``nullable``, its integer and boolean columns, which may hold nulls as
    every polars column may, become pandas' nullable ones (``Int64``,
    ``boolean``, ...); else NumPy's (floats with NaN where they hold nulls)."""
    if not is_polars_frame(X):
        return X
    return pd.DataFrame({name: _pandas_column(X.get_column(name), nullable)
                         for name in X.columns})


def _pandas_column(column, nullable):
    kind = column.dtype
    if nullable and (kind.is_integer() or kind == sys.modules["polars"].Boolean):
        name = "boolean" if not kind.is_integer() else str(kind)  # Int8, ..., UInt64
        try:
            return pd.array(column.to_list(), dtype=name)
        except TypeError:  # one pandas has no nullable version of (Int128)
            pass
    if kind == sys.modules["polars"].Decimal:  # (money): numbers, as the estimators read them
        column = column.cast(sys.modules["polars"].Float64)  # (to_numpy: Decimal objects)
    return column.to_numpy()
