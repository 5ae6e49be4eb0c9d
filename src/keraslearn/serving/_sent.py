"""How :class:`~keraslearn.serving.ExportedModel` reads the columns a request
sends, before its graph runs."""

import numpy as np


def refuse_unreal(X, values=None):
    """Refuse dates, times and complex numbers, as the estimator refuses them
    (found in review: the graph answered them as counts of their unit, and
    complex numbers without their imaginary part). ``values``: X as an array,
    where the model takes rows of numbers; else X is a DataFrame."""
    from ..utils._input_errors import refuse_dates

    refuse_dates(X if values is None else values)
    kinds = ([values.dtype.kind] if values is not None else
             [getattr(dtype, "kind", None) for dtype in X.dtypes])
    if "c" in kinds:
        raise ValueError("Complex data not supported: the exported model takes real numbers")


def named(X, feature):
    if not hasattr(X, "columns"):
        raise TypeError(f"the exported model takes named columns: give a DataFrame with "
                        f"{feature!r} and the other exported columns")
    return X[feature]


def column(X, feature, dtype):
    """Column ``feature`` of X as the graph's input ``dtype``. Pandas' nullable
    columns give their NA as NaN to a float input (a pipeline's imputer fills
    it): a ``boolean`` column holding NA is an array of objects otherwise."""
    column = named(X, feature)
    if dtype.kind == "f" and hasattr(column, "array"):  # (a pandas Series)
        return column.to_numpy(dtype=dtype, na_value=np.nan)
    return column.to_numpy().astype(dtype, copy=False)


def numbers(given):
    """A column sent for ids as the numbers it holds, checked before the graph's
    cast (found in reviews: NumPy's errors for an infinity among objects, number
    strings): objects (None as NaN; ints past int64 as floats: range told), strings
    (whole ones exact: one past 2**53 beside a fraction left as given)."""
    given = np.asarray(given)
    given = np.asarray(given.tolist()) if given.dtype.kind == "O" else given  # (strings: "U")
    for dtype in (np.int64, np.float64) if given.dtype.kind in "OUS" else ():
        try:
            read = given.astype(dtype)
        except (TypeError, ValueError, OverflowError):
            continue
        if dtype is np.int64 or given.dtype.kind == "O" or not np.any(
                np.isfinite(read) & (np.abs(read) >= 2.0**53)):  # (whole numbers exact)
            return read
    return given
