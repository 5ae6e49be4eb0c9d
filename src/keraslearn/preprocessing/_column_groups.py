"""ColumnGroups: a DataFrame's column groups as the named inputs of a model."""

import math

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, validate_data

from .._multi_input import MultiInput
from ..utils._columns import integer_dtype
from ..utils._input_errors import explained_input_errors, refuse_dates
from ._not_a_table import NotATable


class ColumnGroups(NotATable, TransformerMixin, BaseEstimator):
    """Split a DataFrame (or a 2-D array) into a :class:`~keraslearn.MultiInput`,
    one named input per group of columns, for a model with several inputs.

    Put it in a ``Pipeline`` before the estimator: scikit-learn then splits
    and searches the DataFrame as usual, and the network gets one array per
    input (an image's pixel columns reshaped to an image, say, beside the
    tabular columns).

    Parameters
    ----------
    groups : dict of str to list
        Input name -> its columns, as ``ColumnTransformer`` takes them: names
        for a DataFrame (whose column names are then all strings, as
        scikit-learn requires), or indices, from the end too (one name or
        index is a group of one column); a slice (of names: both ends
        included), a boolean mask, or a callable such as
        ``make_column_selector``, called on fit's X.

    shapes : dict of str to tuple, default=None
        Input name -> the shape of one sample, for groups to reshape (pixel
        columns into ``(height, width, channels)``).

    dtype : str or None, default="float32"
        The arrays' dtype; None keeps each group's own (a group of integer
        ids stays integers, which float32 rounds above 2**24, beside float
        features).

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        Column names, when X was a DataFrame whose column names are all
        strings.

    n_features_in_ : int
        Number of columns of X.

    See Also
    --------
    keraslearn.MultiInput : What ``transform`` returns.

    Examples
    --------
    >>> import pandas as pd
    >>> from keraslearn.preprocessing import ColumnGroups
    >>> frame = pd.DataFrame({"p0": [0.0, 1.0], "p1": [2.0, 3.0], "p2": [4.0, 5.0],
    ...                       "p3": [6.0, 7.0], "age": [30.0, 40.0]})
    >>> groups = ColumnGroups({"image": ["p0", "p1", "p2", "p3"], "meta": ["age"]},
    ...                       shapes={"image": (2, 2, 1)})
    >>> X = groups.fit_transform(frame)
    >>> X["image"].shape, X["meta"].shape
    ((2, 2, 2, 1), (2, 1))
    """

    def __init__(self, groups, *, shapes=None, dtype="float32"):
        self.groups = groups
        self.shapes = shapes
        self.dtype = dtype

    def fit(self, X, y=None):
        """Check the groups against X's columns.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The data whose columns are grouped.

        y : None
            Ignored.

        Returns
        -------
        self : ColumnGroups
            The fitted transformer.
        """
        if not isinstance(self.groups, dict) or not self.groups:
            raise ValueError("groups must be a non-empty dict of input name -> columns.")
        named = [name for name in self.groups if not isinstance(name, str)]
        if named:  # the names of the model's inputs, as MultiInput takes them
            raise ValueError(f"groups' names must be strings (the model's input names), "
                             f"got {named[0]!r}.")
        if self.shapes is not None and not isinstance(self.shapes, dict):
            raise ValueError("shapes must be None or a dict of input name -> the shape of one "
                             f"sample (such as {{'image': (28, 28, 1)}}), got {self.shapes!r}.")
        self._check_dtype()
        state = dict(self.__dict__)
        try:
            self._fit(X)
        except BaseException:  # a failed refit keeps the fitted groups
            self.__dict__.clear()
            self.__dict__.update(state)
            raise
        return self

    def _check_dtype(self):
        """None, or a dtype a network's input takes: numbers, bools, or text
        (a string input); a date dtype turned numbers into nanosecond dates."""
        try:
            kind = None if self.dtype is None else np.dtype(self.dtype).kind
        except TypeError as exc:
            raise ValueError(f"dtype={self.dtype!r} is not a NumPy dtype: {exc}") from None
        if kind in ("M", "m", "c", "V"):
            raise ValueError("dtype must be None, or a number, bool or text dtype (such as "
                             f"'float32'), got {self.dtype!r}.")

    def _fit(self, X):
        # Sets (or, for X without column names, removes) feature_names_in_; a
        # frame's columns are checked where groups take them (others may hold
        # anything, as ColumnTransformer allows).
        frame = hasattr(X, "columns")
        checked = validate_data(self, X, dtype=None, ensure_all_finite=False,
                                skip_check_array=frame)
        for name, shape in (self.shapes or {}).items():
            if name not in self.groups:
                raise ValueError(f"shapes names {name!r}, which is not a group "
                                 f"({sorted(self.groups)}).")
            if not (np.ndim(shape) == 1 and all(
                    isinstance(d, (int, np.integer)) and d > 0 for d in shape)):
                raise ValueError(f"shapes gives group {name!r} {shape!r}: the shape of one "
                                 "sample is a tuple of positive ints, such as (28, 28, 1).")
        lookup = self._lookup()
        # Callables (make_column_selector) are called on fit's X, as ColumnTransformer does.
        self._fitted_positions = {name: self._positions(name, lookup, X) for name in self.groups}
        for name, positions in self._fitted_positions.items():
            width = len(positions)
            if not width:
                raise ValueError(f"Group {name!r} has no columns.")
            # What transform will make of it (text refused), in fit already.
            group = _take(X, positions) if frame else checked[:, positions]
            refuse_dates(group, what=f"ColumnGroups' group {name!r}")
            with explained_input_errors(group, what=f"ColumnGroups' group {name!r}"):
                check_array(group, dtype=self.dtype, ensure_all_finite=False,
                            input_name=f"group {name!r}")
            shape = (self.shapes or {}).get(name)
            if shape is not None and math.prod(shape) != width:
                raise ValueError(f"shapes gives group {name!r} the sample shape {tuple(shape)} "
                                 f"({math.prod(shape)} values), but the group has {width} "
                                 f"columns.")

    def _columns(self, name, X):
        """Group ``name``'s columns as a list, or a slice: one name or index is
        a group of one column, as in ``ColumnTransformer``."""
        cols = self.groups[name]
        if callable(cols):
            cols = cols(X)
        if isinstance(cols, (str, int, np.integer)) and not isinstance(cols, (bool, np.bool_)):
            return [cols]
        if isinstance(cols, slice):
            return cols
        if not hasattr(cols, "__iter__") or isinstance(cols, (dict, set, frozenset)):
            raise ValueError(f"Group {name!r} must be a column name or index, a list of "
                             f"them, a slice, a boolean mask or a callable; got "
                             f"{type(cols).__name__}.")
        cols = list(cols)
        if cols and all(isinstance(c, (bool, np.bool_)) for c in cols):
            if len(cols) != self.n_features_in_:  # a mask, as ColumnTransformer takes it
                raise ValueError(f"Group {name!r} is a boolean mask of {len(cols)} values, "
                                 f"but X has {self.n_features_in_} columns.")
            return [int(i) for i in np.flatnonzero(cols)]
        return cols

    def _lookup(self):
        """Column name -> position in the X seen in fit (None without names)."""
        names = getattr(self, "feature_names_in_", None)
        return None if names is None else _positions_by_name(names)

    def _positions(self, name, lookup, X):
        """Group ``name``'s column positions in ``X``, fit's."""
        cols, n = self._columns(name, X), self.n_features_in_
        if isinstance(cols, slice):  # by position, or by name with both ends included
            ends = [cols.start, cols.stop]
            if all(end is None or isinstance(end, (int, np.integer)) for end in ends):
                return list(range(n)[cols])
            if cols.step not in (None, 1):  # as ColumnTransformer refuses them
                raise ValueError(f"Group {name!r} is a slice of column names with a step "
                                 f"({cols.step!r}); slices of names take none.")
            first, last = (None if end is None else self._position(name, end, lookup)
                           for end in ends)
            return list(range(n))[first:None if last is None else last + 1]
        return [self._position(name, col, lookup) for col in cols]

    def _unread_names(self, names):
        """Of ``names`` (fit's columns, in order), those no group reads: transform
        takes a frame without them (as ColumnTransformer drops its columns), so a
        server need not ask for them. None of them for X fitted without names."""
        positions = getattr(self, "_fitted_positions", None)
        if getattr(self, "feature_names_in_", None) is None or positions is None or len(
                names) != self.n_features_in_:
            return set()
        read = {int(i) for p in positions.values() for i in p}
        return {name for i, name in enumerate(names) if i not in read}

    def _position(self, name, col, lookup):
        """The position of column ``col`` (a name, or an index from either end)."""
        n = self.n_features_in_
        if lookup is not None and not isinstance(col, (int, np.integer)):
            if str(col) not in lookup:
                raise ValueError(f"Group {name!r} names column {col!r}, which X lacks.")
            return lookup[str(col)]
        if isinstance(col, (int, np.integer)) and -n <= col < n:
            return int(col) % n
        raise ValueError(f"Group {name!r} has column {col!r}, which X lacks "
                         f"(X has {n} columns).")

    def transform(self, X):
        """The groups' columns as named arrays.

        A DataFrame's columns are taken by name when the transformer was
        fitted on a DataFrame (their order may differ from fit's, and other
        columns are left out), as ``ColumnTransformer`` takes them; other X
        must have fit's columns in fit's order.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Data with the columns seen in fit.

        Returns
        -------
        X_split : MultiInput
            One array per group.
        """
        check_is_fitted(self, "n_features_in_")
        positions = self._fitted_positions
        names = getattr(self, "feature_names_in_", None)
        if names is not None and hasattr(X, "columns"):
            columns = _positions_by_name(X.columns)
            missing = sorted({names[i] for p in positions.values() for i in p} - set(columns))
            if missing:
                raise ValueError(f"X lacks the columns {missing}, which the groups name.")
            parts = {name: _take(X, [columns[names[i]] for i in p])
                     for name, p in positions.items()}
        else:
            array = validate_data(self, X, reset=False, dtype=None, ensure_all_finite=False)
            parts = {name: array[:, p] for name, p in positions.items()}
        out = {}
        for name, part in parts.items():
            refuse_dates(part, what=f"ColumnGroups' group {name!r}")
            # A copy, writable, never a view of the caller's frame.
            kept = integer_dtype(part) if self.dtype is None else False  # nullable Int64
            with explained_input_errors(part, what=f"ColumnGroups' group {name!r}"):
                part = check_array(part, dtype=self.dtype if kept is False else kept,
                                   ensure_all_finite=False, copy=True,
                                   input_name=f"group {name!r}")
            shape = (self.shapes or {}).get(name)
            if shape is not None:
                part = part.reshape((len(part),) + tuple(shape))
            out[name] = part
        return MultiInput(out)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _positions_by_name(names):
    """Column name (as a string) -> its position; a ValueError where a name
    repeats (which of its columns a group takes could not be told)."""
    positions = {}
    for i, name in enumerate(names):
        if positions.setdefault(str(name), i) != i:
            raise ValueError(f"X has more than one column named {name!r}: groups take "
                             "columns by name, so each name must be unique, as "
                             "ColumnTransformer requires.")
    return positions


def _take(frame, positions):
    """The columns at ``positions`` of a pandas or polars DataFrame."""
    if hasattr(frame, "iloc"):
        return frame.iloc[:, positions]
    return frame.select([frame.columns[i] for i in positions])
