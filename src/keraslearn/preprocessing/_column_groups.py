"""ColumnGroups: a DataFrame's column groups as the named inputs of a model."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._multi_input import MultiInput


class ColumnGroups(TransformerMixin, BaseEstimator):
    """Split a DataFrame (or a 2-D array) into a :class:`~keraslearn.MultiInput`,
    one named input per group of columns, for a model with several inputs.

    Put it in a ``Pipeline`` before the estimator: scikit-learn then splits
    and searches the DataFrame as usual, and the network gets one array per
    input (an image's pixel columns reshaped to an image, say, beside the
    tabular columns).

    Parameters
    ----------
    groups : dict of str to list
        Input name -> its columns: names for a DataFrame, or indices.

    shapes : dict of str to tuple, default=None
        Input name -> the shape of one sample, for groups to reshape (pixel
        columns into ``(height, width, channels)``).

    dtype : str, default="float32"
        The arrays' dtype.

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        Column names, when X was a DataFrame.

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
        columns = getattr(X, "columns", None)
        if columns is not None:
            self.feature_names_in_ = np.asarray([str(c) for c in columns], dtype=object)
        self.n_features_in_ = np.shape(X)[1]
        for name, cols in self.groups.items():
            self._positions(cols, name)
        for name in (self.shapes or {}):
            if name not in self.groups:
                raise ValueError(f"shapes names {name!r}, which is not a group "
                                 f"({sorted(self.groups)}).")
        return self

    def _positions(self, cols, name):
        names = getattr(self, "feature_names_in_", None)
        out = []
        for col in cols:
            if names is not None and not isinstance(col, (int, np.integer)):
                found = np.flatnonzero(names == str(col))
                if not len(found):
                    raise ValueError(f"Group {name!r} names column {col!r}, which X lacks.")
                out.append(int(found[0]))
            elif isinstance(col, (int, np.integer)) and 0 <= col < self.n_features_in_:
                out.append(int(col))
            else:
                raise ValueError(f"Group {name!r} has column {col!r}, which X lacks "
                                 f"(X has {self.n_features_in_} columns).")
        return out

    def transform(self, X):
        """The groups' columns as named arrays.

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
        if np.shape(X)[1] != self.n_features_in_:
            raise ValueError(f"X has {np.shape(X)[1]} columns, but ColumnGroups was fitted "
                             f"with {self.n_features_in_}.")
        array = X.to_numpy() if hasattr(X, "iloc") else np.asarray(X)
        out = {}
        for name, cols in self.groups.items():
            part = array[:, self._positions(cols, name)].astype(self.dtype)
            shape = (self.shapes or {}).get(name)
            if shape is not None:
                part = part.reshape((len(part),) + tuple(shape))
            out[name] = part
        return MultiInput(out)
