"""How :class:`~keraslearn.serving.ExportedModel` reads the columns a request
sends, before its graph runs."""

from decimal import Decimal

import numpy as np


def refuse_unreal(X, values=None):
    """Refuse dates, times and complex numbers, as the estimator refuses them
    (found in review: the graph answered them as counts of their unit, and
    complex numbers without their imaginary part). ``values``: X as an array,
    where the model takes rows of numbers; a DataFrame's own columns are read
    (found in review: np.asarray made them objects)."""
    from ..utils._input_errors import refuse_dates

    frame = hasattr(X, "columns") and hasattr(X, "dtypes")
    refuse_dates(X if frame or values is None else values)
    kinds = ([getattr(dtype, "kind", None) for dtype in X.dtypes] if frame else
             [values.dtype.kind])
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
    try:
        if dtype.kind == "f" and hasattr(column, "array"):  # (a pandas Series)
            return column.to_numpy(dtype=dtype, na_value=np.nan)
        return column.to_numpy().astype(dtype, copy=False)
    except (TypeError, ValueError, OverflowError) as exc:  # (NumPy's first failure)
        raise unread(column.to_numpy()[:, None], [feature]) or exc from None


def cast(values, dtype, keys=None):
    """Rows of numbers sent as one array (of the features ``keys``: all, by
    default), as the graph's input ``dtype``; pandas' NA (of a nullable column,
    made objects) as NaN, as a DataFrame's own are read (found in review:
    NumPy's TypeError, where the pipeline's imputer fills it)."""
    import pandas as pd

    if values.dtype == object and dtype.kind == "f" and (missing := pd.isna(values)).any():
        values = np.where(missing, np.nan, values)
    try:
        return values.astype(dtype, copy=False)
    except (TypeError, ValueError, OverflowError) as exc:  # (NumPy's first failure)
        keys = range(values.shape[1]) if keys is None else keys
        raise unread(values, keys) or exc from None


def unread(values, keys):
    """The error for the first of ``values`` (rows of the features ``keys``)
    that is no number: NumPy's said neither feature nor row, and a Python date
    (found in an audit) only that float() takes none."""
    import pandas as pd

    for row, cells in enumerate(values):
        for key, value in zip(keys, cells):
            if value is None or value is pd.NA:
                continue  # (a missing value: refused after, as one)
            try:
                float(value)
            except OverflowError:
                continue  # (a whole number past float64's range: a number, read as such)
            except (TypeError, ValueError):
                return ValueError(f"Input X holds {_shown(value)} in feature {key!r}, row "
                                  f"{row}, which is not a number: the exported graph takes "
                                  "numbers there")
    return None


def _shown(value):
    """``value`` as a message quotes it: its repr, cut to 60 characters."""
    return repr(value) if len(repr(value)) <= 60 else f"{repr(value)[:57]}..."


def numbers(given, key):
    """Column ``key`` of a request for a network's ids as the numbers it holds,
    read exactly before any check or cast (found in reviews: NumPy's errors for
    an infinity among objects, number strings read through float64, a Decimal
    2.5 read as 2; -2**63 - 1 as -2**63): int64 (or uint64) where each is a
    whole number within its range, else float64 (NaN for None, fractions,
    numbers past 64-bit integers, negative ones beside some past int64: all
    refused after). Text and objects that are no number, and whole numbers
    below int64's range, float64 would read as -2**63, are refused here."""
    given = np.asarray(given)
    if given.dtype.kind not in "OUS":
        return given
    sent = given.ravel().tolist()
    read = [_exact(value) for value in sent]
    for row, (value, number) in enumerate(zip(sent, read)):
        if number is None or isinstance(number, Decimal):  # (not a number; or a fraction
            what = "a number" if number is None else "a whole number"  # float64 rounds)
            raise ValueError(f"Input X holds {_shown(value)} in feature {key!r}, row {row}, "
                             f"which is not {what}: the exported network takes ids")
    if all(isinstance(n, int) for n in read):
        low, high = min(read, default=0), max(read, default=0)
        for dtype in (np.int64, np.uint64):
            if np.iinfo(dtype).min <= low and high <= np.iinfo(dtype).max:
                return np.array(read, dtype=dtype).reshape(given.shape)
        if low < -2**63:
            row = next(row for row, n in enumerate(read) if n < -2**63)
            raise ValueError(f"Input X holds {read[row]} in feature {key!r}, row {row}, past "
                             "int64's range: the exported network takes ids")
    return np.array([_float(n) for n in read], dtype=np.float64).reshape(given.shape)


def _exact(value):
    """``value`` as a Python int (a whole number) or float (NaN, infinity, a
    fraction float64 keeps one); a Decimal for a fraction float64 reads as a
    whole number; None for what is no number."""
    import pandas as pd

    if value is None or value is pd.NA:
        return float("nan")
    if isinstance(value, (np.datetime64, np.timedelta64)):  # (the second an np.integer)
        return None
    if isinstance(value, (bool, np.bool_, int, np.integer)):  # (past 64 bits: a float, refused
        return int(value) if -2**64 <= value < 2**64 else _float(int(value))  # by its range)
    try:
        number = Decimal(value.decode() if isinstance(value, bytes) else
                         float(value) if isinstance(value, np.floating) else value)
    except (TypeError, ValueError, ArithmeticError, UnicodeDecodeError):
        return None  # (text of no number, complex numbers, dates, ...)
    if not number.is_finite():
        return float("nan") if number.is_nan() else float(number)
    if number.adjusted() > 19 and not number.is_zero():  # past uint64: a float at once (found
        return float(number)  # in review: int() of '1e800000' took seconds; '0e19' is 0)
    if number == number.to_integral_value():
        return int(number)
    return float(number) if not float(number).is_integer() else number


def _float(number):
    try:
        return float(number)
    except OverflowError:  # (an int past float64's range: as far as it goes, refused)
        return float("inf") if number > 0 else float("-inf")
