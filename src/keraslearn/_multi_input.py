"""MultiInput: the inputs of a model with several named inputs, as one X that
scikit-learn can index and split (``cross_val_score``, ``GridSearchCV``)."""

import numpy as np
from scipy.sparse import issparse
from sklearn.utils import _safe_indexing

from .utils._columns import is_polars_frame
from .utils._input_errors import ONE_SHAPE, explained_input_errors


def is_named_inputs(X):
    """Whether X is a dict of named inputs (scipy's dok_matrix is a dict too)."""
    return isinstance(X, dict) and not issparse(X)


class MultiInput(dict):
    """Equally long arrays by input name, indexed by rows like one array.

    ``X["image"]`` is one input's array; ``X[rows]`` (an index array, a
    boolean mask or a slice, as scikit-learn's splitters give) is a new
    ``MultiInput`` holding those rows of every input. ``len(X)`` and
    ``X.shape[0]`` are the number of samples. A keraslearn estimator feeds
    each array to the model input of the same name. An input given as a
    pandas or polars DataFrame is kept as one: an estimator fitted on it
    records its column names, and refuses columns in another order or of
    other names, as scikit-learn does for one DataFrame X.

    Parameters
    ----------
    arrays : dict of str to array-like or DataFrame, default=None
        The inputs by name; keyword arguments are taken too.

    **kwargs : array-like
        More inputs by name.

    See Also
    --------
    keraslearn.preprocessing.ColumnGroups : Makes one from a DataFrame's column groups.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import KFold
    >>> from keraslearn import MultiInput
    >>> X = MultiInput(image=np.zeros((6, 4, 4, 1)), meta=np.arange(12.0).reshape(6, 2))
    >>> len(X), X.shape
    (6, (6,))
    >>> train, test = next(KFold(3).split(X))
    >>> X[test]["meta"]
    array([[0., 1.],
           [2., 3.]])
    """

    def __init__(self, arrays=None, **kwargs):
        # (none: empty, as a dict, which skops makes before filling it; an
        # estimator refuses an X of no input)
        super().__init__(self._checked({**(arrays if arrays is not None else {}), **kwargs}))

    def _checked(self, items):
        """``items`` (inputs by name) as arrays (frames kept), each holding as
        many rows as every other and those already held."""
        converted = {}
        for name, value in items.items():
            if not isinstance(name, str):
                raise TypeError(f"MultiInput's input names must be strings, got {name!r}.")
            if hasattr(value, "tocsr"):  # scipy sparse: np.asarray would make a scalar of it
                raise TypeError(f"MultiInput input {name!r} is a scipy sparse matrix; the "
                                "inputs of a MultiInput are dense arrays (toarray()).")
            if not (hasattr(value, "iloc") or is_polars_frame(value)):  # frames kept
                with explained_input_errors(value, what=f"MultiInput input {name!r}",
                                            ragged=ONE_SHAPE, per_sample=ONE_SHAPE):
                    value = np.asarray(value)
            if getattr(value, "ndim", 2) == 0:  # (a polars frame has no ndim)
                raise ValueError(f"MultiInput input {name!r} is a scalar, not one row per sample.")
            converted[name] = value
        # (found in an audit: an input set or updated afterwards was not checked)
        lengths = {name: len(v) for name, v in {**self, **converted}.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"MultiInput's inputs must hold as many rows each; got {lengths}."
            )
        return converted

    def __setitem__(self, name, value):
        super().update(self._checked({name: value}))

    def update(self, other=(), /, **kwargs):
        super().update(self._checked({**dict(other), **kwargs}))

    def setdefault(self, name, default=None):
        if name not in self:
            self[name] = default
        return self[name]

    def __ior__(self, other):
        self.update(other)
        return self

    def __or__(self, other):
        return MultiInput({**self, **other}) if is_named_inputs(other) else NotImplemented

    def __ror__(self, other):
        return MultiInput({**other, **self}) if is_named_inputs(other) else NotImplemented

    @property
    def shape(self):
        """``(n_samples,)``, as scikit-learn reads the length of an X."""
        return (len(self),)

    def __len__(self):
        return len(next(iter(self.values()), ()))

    def __getitem__(self, key):
        if isinstance(key, str):
            return super().__getitem__(key)
        if isinstance(key, tuple) and len(key) == 2 and key[1] is Ellipsis:
            key = key[0]  # scikit-learn's array[key, ...]
        if isinstance(key, (int, np.integer)):
            key = [key]
        if not isinstance(key, slice):  # (a list of NumPy ints or a polars Series too)
            key = np.asarray(key)
            if not key.size:  # (no rows: [] is float64 to NumPy)
                key = key.astype(np.intp)
        return MultiInput({name: _rows(value, key) for name, value in self.items()})

    def copy(self):
        return MultiInput({name: value.clone() if is_polars_frame(value) else value.copy()
                           for name, value in self.items()})

    def __reduce__(self):
        return type(self), (dict(self.items()),)

    def __repr__(self):
        shapes = ", ".join(f"{name}={value.shape}" for name, value in self.items())
        return f"MultiInput({shapes})"


def _rows(value, key):
    """The rows ``key`` (indices, a boolean mask or a slice) of one input."""
    if hasattr(value, "iloc"):
        return value.iloc[key]
    if is_polars_frame(value):  # (which takes no boolean mask in [])
        return _safe_indexing(value, key)
    return value[key]
