"""Input handling for the drift detector: tables in, one checked 1-D array per column out.

Arrays, lists and DataFrames (pandas' or polars') are all read as a pandas DataFrame,
column by column, so that a numeric column stays a float array and a text column stays
text: a mixed table is never turned into one array of strings or of Python objects.
Object columns (of lists, object arrays and DataFrames alike) get pandas' per-column
type inference (``infer_objects``): numbers stay numbers; nothing the caller passed is
modified.

Which columns are categorical is decided once, at fit, from ``categorical_features``
or from the column types; afterwards every batch is read with that fixed mask.
"""

import decimal
import warnings

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from scipy import sparse

from .._stacklevel import user_stacklevel
from ..utils._columns import is_polars_frame, polars_as_pandas
from ..utils._input_errors import refuse_streams
from ..utils._validation import is_number as _is_number


def as_frame(X, owner, min_rows=1):
    """``X`` as a DataFrame with at least ``min_rows`` rows and one column (no copy of a
    DataFrame)."""
    if sparse.issparse(X):
        raise TypeError(f"{owner} needs dense data: got a sparse {type(X).__name__}. "
                        "Densify the columns to monitor (e.g. X.toarray()) first.")
    if isinstance(X, dict):  # (np.asarray made a scalar of it)
        raise TypeError(
            f"{owner} monitors one table of columns; got a {type(X).__name__} of named inputs "
            f"{sorted(map(str, X))[:5]}. Give it the DataFrame the inputs are taken from "
            "(before ColumnGroups), or one input's array.")
    if isinstance(X, pd.Series):
        raise ValueError(f"{owner} expects 2D data (rows × features), got a pandas Series; "
                         "use X.to_frame() for a single feature.")
    if isinstance(X, pd.DataFrame) or is_polars_frame(X):
        frame = polars_as_pandas(X)
        if any(map(ptypes.is_object_dtype, frame.dtypes)):  # numbers held as objects: numbers
            frame = frame.infer_objects()
    else:
        refuse_streams(X, what=f"The data given to {owner}")
        # An array-like (dask, h5py) as its own dtype; rows of Python values as
        # objects (NumPy would make numbers beside text strings).
        array = np.asarray(X) if hasattr(X, "dtype") else np.asarray(X, dtype=object)
        if array.ndim != 2:
            shape = (f"a {array.ndim}D array of shape {array.shape}" if array.ndim else
                     "a scalar" if np.isscalar(X) or getattr(X, "ndim", None) == 0 else
                     "None" if X is None else f"an object of type {type(X).__name__}, which "
                     "NumPy reads as a single value")
            hint = (" Reshape with X.reshape(-1, 1) for a single feature or X.reshape(1, -1) "
                    "for a single sample." if array.ndim == 1 else
                    " Collect it first (X.collect())." if callable(getattr(X, "collect", None))
                    else "")
            raise ValueError(f"{owner} expects 2D data (rows × features), got {shape}.{hint}")
        frame = pd.DataFrame(array, copy=False)
        if array.dtype == object:
            frame = frame.infer_objects()
    if frame.shape[1] == 0:
        raise ValueError(f"{owner} got 0 feature(s) (shape={frame.shape}) while a minimum of "
                         "1 is required.")
    if frame.shape[0] < min_rows:
        raise ValueError(f"{owner} got data with 0 rows: at least one sample is needed.")
    if not frame.columns.is_unique:
        duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise ValueError(f"{owner} got duplicated column names: {duplicated}.")
    return frame


def _numbers_as_text(column):
    """Whether a text column holds floats written out as Python writes them,
    some not whole (NumPy's text of a stacked float column). Codes are not:
    whole numbers (zip codes), or written otherwise ("3.10", "003.7")."""
    if isinstance(column.dtype, pd.CategoricalDtype) or ptypes.is_bool_dtype(column.dtype):
        return False
    values = column.dropna()
    for part in (values.iloc[:1000], values):  # (most text columns are told by their start)
        if not len(part) or not all(isinstance(v, str) and _float_text(v) for v in part):
            return False
    return bool((np.mod(pd.to_numeric(values), 1) != 0).any())


def _float_text(text):
    try:
        return str(float(text)) == text
    except ValueError:
        return False


def _decimals(column):
    """Whether ``column`` holds ``decimal.Decimal`` values only (money, as databases
    give it): numbers, which pandas' inference leaves as objects (read as floats
    when the column is tested as numbers)."""
    values = column.dropna() if ptypes.is_object_dtype(column.dtype) else ()
    return len(values) > 0 and all(isinstance(v, decimal.Decimal) for v in values)


def is_categorical_dtype(dtype):
    """Text, category and bool columns are categorical; numbers are not."""
    return (ptypes.is_bool_dtype(dtype) or ptypes.is_object_dtype(dtype)
            or ptypes.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype))


def _is_numeric_dtype(dtype):
    return (ptypes.is_numeric_dtype(dtype) and not ptypes.is_bool_dtype(dtype)
            and not ptypes.is_complex_dtype(dtype))


def categorical_mask(spec, frame, names, owner):
    """Resolve ``categorical_features`` (None, names, indices or a mask) to a bool array."""
    n = frame.shape[1]
    if spec is None:
        numbers = [_decimals(frame.iloc[:, j]) for j in range(n)]
        mask = np.array([is_categorical_dtype(dtype) and not numbers[j]
                         for j, dtype in enumerate(frame.dtypes)], dtype=bool)
        complex_ = [label(frame, j, names) for j in range(n)
                    if ptypes.is_complex_dtype(frame.dtypes.iloc[j])]
        if complex_:
            raise ValueError(f"Complex data not supported: {owner} got complex numbers in "
                             f"columns {complex_}.")
        unsupported = [f"{label(frame, j, names)} ({frame.dtypes.iloc[j]})" for j in range(n)
                       if not (mask[j] or numbers[j] or _is_numeric_dtype(frame.dtypes.iloc[j]))]
        if unsupported:
            _refuse_neither(owner, unsupported)
        texts = [j for j in range(n) if mask[j] and _numbers_as_text(frame.iloc[:, j])]
        if texts:
            warnings.warn(
                f"{owner} tests columns {[label(frame, j, names) for j in texts]} as categories: "
                "they hold text, but each value is a number, some with decimals (as "
                "np.column_stack of numbers and text makes them), and a shift of numbers "
                "tested as categories is seldom seen. Give them as numbers (a DataFrame of "
                "numeric columns), or list them in categorical_features to keep them "
                "categorical.", UserWarning, stacklevel=user_stacklevel())
        return mask
    if isinstance(spec, str) or np.ndim(spec) != 1:
        raise ValueError("categorical_features must be a list of column names or indices, "
                         f"or a boolean mask, got {spec!r}.")
    named = [isinstance(v, str) for v in spec]
    if any(named) and not all(named):  # (NumPy would make the indices names: '0')
        raise ValueError(f"categorical_features mixes column names and indices ({spec!r}): "
                         "give names only, or indices only.")
    spec = np.asarray(spec)
    mask = np.zeros(n, dtype=bool)
    if spec.size == 0:
        return mask
    if spec.dtype.kind == "b":
        if spec.size != n:
            raise ValueError(f"categorical_features is a boolean mask of length {spec.size}, "
                             f"but X has {n} columns.")
        return spec.copy()
    if spec.dtype.kind in "iu":
        bad = sorted({int(i) for i in spec if not 0 <= i < n})
        if bad:
            raise ValueError(f"categorical_features has column indices {bad} outside "
                             f"[0, {n}): X has {n} columns.")
        mask[spec] = True
        return mask
    if spec.dtype.kind in "UOT" and all(isinstance(s, str) for s in spec):
        if names is None:
            raise ValueError("categorical_features names columns, which needs X to be a "
                             "DataFrame with string column names; use indices or a mask.")
        unknown = [str(s) for s in spec if s not in names]
        if unknown:
            raise ValueError(f"categorical_features names columns that X does not have: "
                             f"{unknown}. X's columns are {names}.")
        mask[[names.index(s) for s in spec]] = True
        return mask
    raise ValueError("categorical_features must hold column names (str), indices (int) or "
                     f"booleans, got {spec.tolist()!r}.")


def _refuse_neither(owner, described):
    raise ValueError(f"{owner} tests numbers and categories only; these columns are "
                     f"neither: {', '.join(described)}. Convert them, drop them, or "
                     "list them in categorical_features.")


def _times(dtype):
    """Dates, durations, periods and intervals, which NumPy would read as numbers
    in their storage unit (the same instants in another unit would drift)."""
    return (ptypes.is_datetime64_any_dtype(dtype) or ptypes.is_timedelta64_dtype(dtype)
            or isinstance(dtype, (pd.PeriodDtype, pd.IntervalDtype)))


def label(frame, j, names):
    """How column ``j`` is named in messages and results: its name, else ``x{j}``."""
    return names[j] if names is not None else f"x{j}"


def column_values(frame, categorical, features, owner):
    """One 1-D array per column: float64 for numeric ones (float32 for float32
    ones), object for categorical ones.

    Raises a ValueError naming every column that holds missing values (NaN, None, NA),
    infinities (numeric columns) or text that is not a number (numeric columns).
    """
    values, missing, infinite, not_numbers = [], [], [], []
    times = [f"{name} ({frame.dtypes.iloc[j]})" for j, name in enumerate(features)
             if not categorical[j] and _times(frame.dtypes.iloc[j])]
    if times:
        _refuse_neither(owner, times)
    for j, name in enumerate(features):
        column = frame.iloc[:, j]
        numbers = None
        if not categorical[j]:
            try:
                # float32 kept as such: compared at its precision (see _sketch)
                numbers = column.to_numpy(dtype=np.float32 if column.dtype == np.float32
                                          else np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                example = next((v for v in column if not _is_number(v)), column.dtype)
                not_numbers.append(f"{name!r} (e.g. {example!r})")
        # NaN read from text ("nan") is missing too
        n_missing = int(column.isna().sum() if numbers is None else np.isnan(numbers).sum())
        if n_missing:
            missing.append(f"{name!r} ({n_missing} {'row' if n_missing == 1 else 'rows'})")
        if numbers is None:
            values.append(column.to_numpy(dtype=object) if categorical[j] else None)
            continue
        n_inf = int(np.isinf(numbers).sum())
        if n_inf:
            infinite.append(f"{name!r} ({n_inf} {'row' if n_inf == 1 else 'rows'})")
        values.append(numbers)
    if not_numbers:
        raise ValueError(f"{owner} found values that are not numbers in numeric columns "
                         f"{', '.join(not_numbers)}; list such columns in categorical_features "
                         "when fitting.")
    if missing:
        raise ValueError(f"{owner} found missing values (NaN or None) in columns "
                         f"{', '.join(missing)}. Drift is tested on complete rows only, as "
                         "keraslearn's server and RecentRows test them: drop the rows holding "
                         "one first (imputed values, piled at one value that served rows never "
                         "hold, would be flagged as drift).")
    if infinite:
        raise ValueError(f"{owner} found infinite values in columns {', '.join(infinite)}. "
                         "Numeric features must be finite.")
    return values
