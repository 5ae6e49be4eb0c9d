"""Request values checked against the feature kinds and made NumPy columns.

One converter per kind of :class:`~keraslearn.serving._schema.FeatureSchema`
(``number``, ``integer``, ``boolean``, ``string``, ``any``) takes a column of
decoded JSON values (or CSV cells read as JSON would give them) and returns
it as an array of the feature's dtype, or refuses the first value it cannot
take with a :class:`RequestError` naming the field and the row.
"""

import math

import numpy as np

from ..utils._text import cut
from ..utils._validation import is_missing as _is_missing
from ._schema import REFUSED

NUMBER_TYPES = {int, float}


class RequestError(Exception):
    """A request the server refuses; ``status`` is its HTTP status (4xx)."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.message = message
        self.status = status


def _within_float64(value):
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _numbers(values, dtype, field, marker):
    nullable = marker is not REFUSED
    if nullable and None in values:  # a missing value of an imputed column: NaN
        values = [math.nan if v is None else v for v in values]
    if not set(map(type, values)) <= NUMBER_TYPES:
        _refuse(values, field, "a number", lambda v: type(v) in NUMBER_TYPES)
    try:
        with np.errstate(over="ignore"):
            array = np.array(values, dtype=np.float64).astype(dtype, copy=False)
    except OverflowError:
        _refuse(values, field, "a number within float64's range",
                _within_float64)
    bad = ~np.isfinite(array)
    if nullable and bad.any():
        bad &= ~np.array([_is_missing(v) for v in values])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        if math.isfinite(values[i]):
            raise RequestError(f"{field}, row {i}: {_number_text(values[i])} overflows {dtype}")
        raise RequestError(f"{field}, row {i}: {describe(values[i])} is not allowed "
                           f"(values must be finite numbers){_no_imputer(values[i])}")
    return array


def _integers(values, dtype, field, marker):
    def integral(v):
        return type(v) is int or (type(v) is float and v.is_integer())

    def exact(v):  # a float from 2**53 on may be another integer rounded (2**53 + 1)
        return type(v) is int or abs(v) < 2.0**53

    if not all(map(integral, values)):
        _refuse(values, field, "an integer", integral)
    info = np.iinfo(dtype)
    if not all(info.min <= v <= info.max for v in values):
        _refuse(values, field, f"an integer that {dtype} can hold",
                lambda v: info.min <= v <= info.max)
    if not all(map(exact, values)):
        _refuse(values, field, "an integer written without a fraction (a float from 2**53 on "
                "may hold another integer, rounded)", exact)
    return np.array([int(v) for v in values], dtype=dtype)


def _booleans(values, dtype, field, marker):
    return np.array(_only(values, bool, field, marker, "true or false"), dtype=dtype)


def _strings(values, dtype, field, marker):
    values = _only(values, str, field, marker, "a string")
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array.astype(dtype, copy=False)


def _only(values, kind, field, marker, expected):
    """``values``, each of Python type ``kind`` or, where the column is imputed,
    missing (``null``, NaN): made the imputer's own ``marker``; else refused."""
    if set(map(type, values)) <= {kind}:
        return values
    if marker is not REFUSED and any(map(_is_missing, values)):
        values = [marker if _is_missing(v) else v for v in values]
        ok = lambda v: type(v) is kind or v is marker  # noqa: E731
    else:
        ok = lambda v: type(v) is kind  # noqa: E731
    if not all(map(ok, values)):
        _refuse(values, field, expected, ok)
    return values


def _anything(values, dtype, field, marker):
    """A column the model does not read: any JSON scalar, as it is."""
    def scalar(v):
        return v is None or type(v) in (str, int, float, bool)

    if not all(map(scalar, values)):
        _refuse(values, field, "a number, a string, true, false or null", scalar)
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


CONVERTERS = {"number": _numbers, "integer": _integers, "boolean": _booleans, "string": _strings,
            "any": _anything}


def _refuse(values, field, expected, ok):
    i = next(i for i, v in enumerate(values) if not ok(v))
    raise RequestError(f"{field}, row {i}: expected {expected}; got {describe(values[i])}"
                       f"{_no_imputer(values[i])}{_not_declared_boolean(values[i], expected)}")


def _not_declared_boolean(value, expected):
    """What true or false in a column of numbers is told: how to serve booleans
    (the model's own steps do not say which columns were)."""
    if type(value) is not bool or not expected.startswith(("a number", "an integer")):
        return ""
    return ("; a column of true and false is served as one where make_app is given "
            "dtypes={name: 'boolean'} (keraslearn serve --dtype name=boolean; null too "
            "where the model imputes it) or an input_example")


def _no_imputer(value):
    """What a refused missing value is told: where missing values are taken."""
    if not _is_missing(value):
        return ""
    return ("; missing values are taken only in the number, string and boolean (pandas' "
            "'boolean') columns that the model imputes (a scikit-learn imputer whose "
            "missing_values is NaN, after scalers or not) or encodes as numbers (a "
            "OneHotEncoder, OrdinalEncoder or TargetEncoder that learnt them, or takes "
            "unknown values, and codes them with a number or imputes their NaN code); an "
            "exported model's only in the number columns its graph imputes (those /metadata "
            "marks nullable)")


def describe(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, (int, float)):
        return f"the number {_number_text(value)}"
    if isinstance(value, str):
        return f"the string {cut(value, 40)!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _number_text(value):
    """A number as an error shows it: an integer of hundreds of digits cut short."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}... ({len(text)} digits)"
