"""Sample-weight checks and a small declarative parameter-constraint checker.

Constraints map a parameter name to a list of what it accepts, valid if any entry is
met: an :class:`Interval`, a :class:`OneOf`, ``None``, a type (any instance of it),
"boolean", "array-like", "random_state" or "verbose"."""

from numbers import Integral, Real

import numpy as np


class InvalidParameterError(ValueError, TypeError):
    """A parameter has a value of the wrong type or outside its valid range."""


class Interval:
    """A constraint: numbers of one type within a range.

    Parameters
    ----------
    type : {numbers.Integral, numbers.Real}
        The numbers accepted (``Real`` takes ints too; NaN is never in range).
    left : number or None
        The lower bound; ``None``: unbounded.
    right : number or None
        The upper bound; ``None``: unbounded.
    closed : {"left", "right", "both", "neither"}
        Which bounds are in the range.

    Examples
    --------
    >>> from numbers import Real
    >>> from keraslearn.utils import Interval
    >>> rate = Interval(Real, 0, 1, closed="left")
    >>> rate.is_satisfied_by(0.0), rate.is_satisfied_by(1.0)
    (True, False)
    >>> str(rate)
    'a float in the range [0.0, 1.0)'
    """

    def __init__(self, type, left, right, *, closed):
        if type not in (Integral, Real) or closed not in ("left", "right", "both", "neither"):
            raise ValueError(f"Bad Interval type={type!r} or closed={closed!r}.")
        if left is not None and right is not None and right <= left:
            raise ValueError(f"Interval right ({right}) must be greater than left ({left}).")
        self.type, self.left, self.right, self.closed = type, left, right, closed

    def is_satisfied_by(self, value):
        if not isinstance(value, self.type) or (not isinstance(value, Integral)
                                                 and np.isnan(value)):
            return False
        left = -np.inf if self.left is None else self.left
        right = np.inf if self.right is None else self.right
        above = value >= left if self.closed in ("left", "both") else value > left
        below = value <= right if self.closed in ("right", "both") else value < right
        return bool(above and below)

    def __str__(self):
        integral = self.type is Integral
        left = "-inf" if self.left is None else (self.left if integral else float(self.left))
        right = "inf" if self.right is None else (self.right if integral else float(self.right))
        open_ = "[" if self.closed in ("left", "both") else "("
        close = "]" if self.closed in ("right", "both") else ")"
        return f"{'an int' if integral else 'a float'} in the range {open_}{left}, {right}{close}"


class OneOf:
    """A constraint: one of a few values, of their type too.

    Parameters
    ----------
    *options : object
        The values accepted. When all are strings only a ``str`` passes; when
        all are numbers only a number (not a bool): ``True`` does not pass for
        ``1``, nor ``1`` for ``"1"``.

    Examples
    --------
    >>> from keraslearn.utils import OneOf
    >>> solver = OneOf("adam", "sgd")
    >>> solver.is_satisfied_by("sgd"), solver.is_satisfied_by(1)
    (True, False)
    >>> str(solver)
    "a str among {'adam', 'sgd'}"
    """

    def __init__(self, *options):
        self.options = options
        numbers = all(isinstance(o, Real) and not isinstance(o, bool) for o in options)
        self.type = str if all(isinstance(o, str) for o in options) else (
            Real if numbers else object)

    def is_satisfied_by(self, value):
        if not isinstance(value, self.type) or (self.type is Real and isinstance(value, bool)):
            return False
        try:
            return any(bool(value == option) for option in self.options)
        except (TypeError, ValueError):  # e.g. an array compared to a scalar
            return False

    def __str__(self):
        name = {str: "a str", Real: "a float"}.get(self.type, "a value")
        return f"{name} among {{{', '.join(sorted(repr(o) for o in self.options))}}}"


def _is_array_like(value):
    has_len = hasattr(value, "__len__") or hasattr(value, "shape") or hasattr(value, "__array__")
    return has_len and not np.isscalar(value)


_NAMED = {
    "boolean": (lambda v: isinstance(v, (bool, np.bool_)), "a bool"),
    "array-like": (_is_array_like, "an array-like"),
    "random_state": (lambda v: v is None or isinstance(v, np.random.RandomState)
                     or Interval(Integral, 0, 2**32 - 1, closed="both").is_satisfied_by(v),
                     "an int in the range [0, 4294967295], a numpy.random.RandomState or None"),
    "verbose": (lambda v: isinstance(v, (bool, np.bool_))
                or Interval(Integral, 0, None, closed="left").is_satisfied_by(v),
                "an int in the range [0, inf) or a bool"),
}


def _check(constraint, value):
    """(whether ``value`` satisfies ``constraint``, how to describe it)."""
    if constraint is None:
        return value is None, "None"
    if isinstance(constraint, str):
        if constraint not in _NAMED:  # (the estimator's author's mistake: said as one)
            raise ValueError(f"Unknown parameter constraint {constraint!r}: the named ones are "
                             f"{sorted(_NAMED)}.")
        test, text = _NAMED[constraint]
        return bool(test(value)), text
    if isinstance(constraint, type):
        module = "" if constraint.__module__ == "builtins" else constraint.__module__ + "."
        name = module + constraint.__qualname__
        return isinstance(value, constraint), f"an instance of {name!r}"
    return constraint.is_satisfied_by(value), str(constraint)


def validate_parameters(estimator, constraints):
    """Check an estimator's parameters against the values each accepts.

    Parameters
    ----------
    estimator : estimator instance
        Its ``get_params(deep=False)`` are checked.
    constraints : dict of str to list
        For each parameter name, what it accepts: it is valid if any entry is
        met (an :class:`Interval`, a :class:`OneOf`, ``None``, a type, or one of
        "boolean", "array-like", "random_state", "verbose"). Names the
        estimator does not have are skipped.

    Returns
    -------
    None

    Raises
    ------
    InvalidParameterError
        Both a ValueError and a TypeError, for the first parameter meeting none
        of its entries: the message names the parameter, the estimator, what
        it accepts and the value given.
    ValueError
        For a constraint named otherwise than the names above.

    Examples
    --------
    >>> from numbers import Integral
    >>> from sklearn.base import BaseEstimator
    >>> from keraslearn.utils import Interval, validate_parameters
    >>> class Net(BaseEstimator):
    ...     def __init__(self, epochs=1):
    ...         self.epochs = epochs
    >>> epochs = Interval(Integral, 1, None, closed="left")
    >>> try:
    ...     validate_parameters(Net(epochs=0), {"epochs": [epochs]})
    ... except ValueError as exc:
    ...     print(exc)
    The 'epochs' parameter of Net must be an int in the range [1, inf). Got 0 instead.
    """
    params = estimator.get_params(deep=False)
    for name, accepted in ((n, c) for n, c in constraints.items() if n in params):
        value = params[name]
        results = [_check(constraint, value) for constraint in accepted]
        if any(ok for ok, _ in results):
            continue
        texts = [text for _, text in results]  # "a, b or c"
        expected = texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} or {texts[-1]}"
        raise InvalidParameterError(f"The {name!r} parameter of {type(estimator).__name__} "
                                    f"must be {expected}. Got {value!r} instead.")


def check_sample_weight(sample_weight, X, *, ensure_non_negative=True):
    """Check sample weights and return them as a new float64 array.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,), float or None
        The weights; ``None`` gives ones, a scalar fills the array.
    X : array-like of shape (n_samples, ...)
        The samples weighted (only their number is read).
    ensure_non_negative : bool, default=True
        Whether negative weights are refused.

    Returns
    -------
    ndarray of shape (n_samples,), dtype float64
        A new array: the caller's is never changed.

    Raises
    ------
    ValueError
        If the weights are not real numbers, not 1-D, not one per sample, not
        finite, all zero, or (with ``ensure_non_negative``) negative.

    Examples
    --------
    >>> import numpy as np
    >>> from keraslearn.utils import check_sample_weight
    >>> check_sample_weight(2, np.zeros((3, 1)))
    array([2., 2., 2.])
    """
    n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    try:
        sw = np.asarray(sample_weight)
        if np.iscomplexobj(sw):
            raise TypeError("complex values are not weights")
        sw = sw.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sample_weight must hold real numbers: {exc}.") from None
    if sw.ndim == 0:
        sw = np.full(n_samples, float(sw), dtype=np.float64)
    elif sw.ndim != 1:
        raise ValueError(f"sample_weight must be a 1D array or a scalar, got a {sw.ndim}D "
                         f"array of shape {sw.shape}; expected a scalar or {n_samples} weights.")
    elif sw.shape[0] != n_samples:
        raise ValueError(f"sample_weight has {sw.shape[0]} weights but X has "
                         f"{n_samples} samples: expected one weight per sample.")
    if not np.isfinite(sw).all():
        bad = "NaN" if np.isnan(sw).any() else "infinity"
        raise ValueError(f"sample_weight contains {bad}: every weight must be finite.")
    if n_samples and not sw.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    if ensure_non_negative and (sw < 0).any():
        raise ValueError(f"Negative values in sample_weight (the smallest is "
                         f"{float(sw.min())!r}): sample weights must be non-negative.")
    return sw


def check_positive_int(value, name, *, minus_one=False, none=True):
    """Raise ValueError unless ``value`` is an int of 1 or more (NumPy's too, a
    bool not), or -1 where ``minus_one`` (every row in one batch), or None
    where ``none``."""
    integer = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if (value is None and none) or (integer and (value >= 1 or minus_one and value == -1)):
        return
    raise ValueError(f"{name} must be a positive int" + (" or -1" if minus_one else "")
                     + f", got {value!r}.")


def is_sparse_targets(y):
    """Whether ``y`` is sparse as scikit-learn's checks read it: a SciPy sparse
    matrix or array, or a pandas DataFrame whose columns are all sparse (which
    ``check_array`` turns into a sparse matrix)."""
    from scipy.sparse import issparse

    if issparse(y):
        return True
    dtypes = getattr(y, "dtypes", None)
    if not hasattr(y, "sparse") or getattr(y, "ndim", 0) < 2 or dtypes is None:
        return False
    import pandas as pd

    return len(dtypes) > 0 and all(isinstance(dtype, pd.SparseDtype) for dtype in dtypes)


def is_missing(value):
    """Whether one value is missing: None, a float NaN or pandas' NA (cheap
    enough to ask of every value of a column)."""
    return (value is None or isinstance(value, (float, np.floating)) and value != value
            or type(value).__name__ == "NAType")


def is_number(value):
    """Whether ``float(value)`` works (numbers, NumPy scalars, numeric strings)."""
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def refuse_unrouted(estimator, params, hints):
    """Refuse ``set_params(name__key=...)`` where ``name`` holds no estimator
    (a string, class or Keras object: scikit-learn would call its missing
    ``set_params``, an AttributeError), with ``hints[name]`` on what to set."""
    valid = estimator.get_params(deep=False)
    for key in params:
        name = key.split("__", 1)[0]  # (not a parameter: scikit-learn's own error names it)
        if key != name and name in valid and not hasattr(params.get(name, valid[name]),
                                                         "set_params"):
            raise ValueError(f"{type(estimator).__name__} routes no parameters to {name} "
                             f"({key!r}): {hints.get(name, f'set {name} itself')}.")
