"""What a served model takes as input, and how request rows become its input.

A fitted scikit-learn estimator records its feature names (``feature_names_in_``,
when it was fitted on a DataFrame) or only their number (``n_features_in_``),
but not their dtypes. The server therefore takes every feature as a finite
number unless told otherwise by ``input_example`` (a DataFrame like the
training data: its column dtypes are recorded) or ``dtypes`` (a mapping from
column name to dtype), or unless the model's first step learnt strings from a
column (an encoder's categories, an imputer's fill value, a text vectorizer's
vocabulary; that step, or one of a ``ColumnTransformer`` first): that column
takes strings. That
covers the usual cases, a scaler and a network on numeric columns, and a
pipeline with encoders on string columns (as ``keraslearn serve`` serves a
saved one), with no argument.

Every feature gets one of five kinds, checked per value before the model runs:
``number`` (a JSON number, stored as the recorded float dtype), ``integer`` (a
JSON number with an integral value), ``boolean`` (``true``/``false``),
``string``, and ``any`` (any of those or ``null``: a column the model's
``ColumnTransformer`` drops, which it does not read, unless ``input_example``
or ``dtypes`` says its type). ``null``, NaN and infinities are refused, except that a feature
the model imputes or encodes (see ``keraslearn.utils._first_steps``: a scikit-learn
imputer whose ``missing_values`` is NaN, an encoder giving them numbers; or the column
is dropped) takes ``null``
and NaN as a missing value, stored as that step's marker. A string column whose
first step is an encoder refusing unknown categories (``handle_unknown="error"``)
takes the categories it learnt only: another is refused naming the column,
before the model runs.
"""

import numpy as np

from ..utils._first_steps import (
    REFUSED,
    dropped_columns,
    first_readers,
    fitted_features,
    is_nan,
    known_categories,
    missing_markers,
    object_numbers,
    string_columns,
)
from ..utils._text import cut, listed

KINDS = ("number", "integer", "boolean", "string", "any")


class FeatureSchema:
    """The features a model takes: names (or None), kinds and build dtypes.

    Parameters
    ----------
    names : tuple of str or None
        The feature names in the model's order, or None for a model fitted
        without names (it takes rows of values in its feature order).

    dtypes : tuple of numpy.dtype
        The dtype each feature's values are stored as, one per feature.

    ignored : iterable of str, default=()
        Column names a request may hold beside ``names``, not read.

    missing : tuple, default=None
        Per feature, the value a missing value (``null``, NaN, an empty CSV
        cell) is stored as, or :data:`REFUSED` where missing values are
        refused; None refuses them everywhere.

    categories : tuple, default=None
        Per feature, the frozenset of strings the model's encoder knows and
        refuses any other of, or None where any string goes on to the model.

    unread : iterable of int, default=()
        Features the model does not read (its ColumnTransformer drops them):
        of kind ``any``, they take any number, string, boolean or ``null``.

    booleans : iterable of int, default=()
        Features of kind ``boolean`` whose float ``dtypes`` store ``true`` and
        ``false`` as 1 and 0 (and a missing value as NaN, where ``missing``
        says so): pandas' nullable booleans, which an imputer read as floats.
    """

    def __init__(self, names, dtypes, ignored=(), missing=None, categories=None, unread=(),
                 booleans=(), objects=(), categorical=None):
        self.names = names
        self.objects = frozenset(objects)  # numbers the model takes in object columns
        # {j: the pandas categories dtypes gave (their order too)}, which steps may read
        self.categorical = dict(categorical or {})
        self.ignored = frozenset(ignored)
        self.n_features = len(dtypes)
        unread, booleans = set(unread), set(booleans)
        self.dtypes = tuple(np.dtype(object) if j in unread else d for j, d in enumerate(dtypes))
        self.kinds = tuple("any" if j in unread else "boolean" if j in booleans else _kind(d)
                           for j, d in enumerate(self.dtypes))
        if missing is None:
            missing = (REFUSED,) * self.n_features
        # Numbers (and booleans stored as floats) store a missing value as NaN
        # only; strings (object arrays) the imputer's own marker; unread
        # features None; integers and booleans stored as such none.
        self.missing = tuple(
            None if kind == "any" else
            m if (d.kind == "f" and is_nan(m)) or (kind == "string" and d.kind == "O")
            else REFUSED for m, kind, d in zip(missing, self.kinds, self.dtypes))
        # Every feature a number of one dtype: requests are (n_features, n_rows) blocks.
        self.uniform = set(self.kinds) == {"number"} and len(set(self.dtypes)) == 1 and (
            not self.objects and not self.categorical)
        self.index = {name: i for i, name in enumerate(names)} if names is not None else None
        # Columns not read (kind any) may be left out of a request by name, as
        # scikit-learn's ColumnTransformer takes a frame without those it drops.
        self.optional = frozenset(name for name, kind in zip(names or (), self.kinds)
                                  if kind == "any")
        self.known = tuple((j, known) for j, (known, kind) in enumerate(
            zip(categories or (None,) * self.n_features, self.kinds))
            if known is not None and kind == "string")

    @classmethod
    def from_model(cls, model, *, input_example=None, dtypes=None):
        """Read the schema from a fitted model, with optional dtypes.

        Parameters
        ----------
        model : estimator
            A fitted estimator or pipeline.

        input_example : pandas.DataFrame or array-like, default=None
            Rows like the training data; only their column dtypes are kept.

        dtypes : dict or None, default=None
            Column name (or index, for a model without names) to dtype; over
            those a model records (an ExportedModel's ``input_dtypes_``).

        Returns
        -------
        schema : FeatureSchema
        """
        import pandas as pd
        from sklearn.utils.validation import check_is_fitted

        if hasattr(model, "fit"):  # an ExportedModel is not an estimator, and is fitted
            check_is_fitted(model)
        names, n = fitted_features(model)
        names = tuple(str(n) for n in names) if names is not None else None
        n = len(names) if names is not None else n
        readers = first_readers(model)
        if n is None and not any(hasattr(step, "X_shape_") for step in readers):
            first = ", ".join(sorted({type(step).__name__ for step in readers}))
            raise ValueError(
                f"make_app: the server takes rows of features, but {type(model).__name__} "
                f"says nothing of its features: the step reading its X first ({first}) has "
                "neither feature_names_in_ nor n_features_in_ (a text vectorizer takes "
                "documents, not rows of features)")
        if n is None or isinstance(n, dict) or any(
                len(getattr(step, "X_shape_", ())) > 2 for step in readers):
            raise ValueError(
                f"make_app: the server takes rows of features, but {type(model).__name__} "
                "takes named inputs or images (or sequences: samples of several "
                "dimensions)")
        n = int(n)
        if input_example is not None and dtypes is not None:
            raise ValueError("make_app: give input_example or dtypes, not both")
        recorded = getattr(model, "input_dtypes_", None)  # an ExportedModel knows its own
        if input_example is None and recorded is not None:
            dtypes = {**recorded, **(dtypes or {})}  # the ones given override them
        given = dtypes
        keys = names if names is not None else range(n)
        if dtypes is not None:
            known = set(keys)
            unknown = [k for k in dtypes if k not in known]
            if unknown:
                raise ValueError(f"make_app: dtypes names {unknown!r}, which the model does not "
                                 f"take (its features: {shown(keys)})")
        objects = object_numbers(model, keys)
        if input_example is not None:
            dtypes = _example_dtypes(input_example, names, n)
        else:  # detected, then those given
            learnt = string_columns(model, keys) + [  # an export's graph encodes strings
                k for k, d in (recorded or {}).items() if _numpy_dtype(d, k).kind == "O"]
            detected = dict.fromkeys(learnt, "object")
            numbers = [k for k in detected if k in (dtypes or {})
                       and _numpy_dtype(dtypes[k], k).kind in "biuf"]
            if numbers:  # its encoder compares strings: every request would fail
                raise ValueError(f"make_app: dtypes gives {numbers!r} a number dtype, but the "
                                 "model's first step learnt them as strings")
            detected.update({k: "int64" for k, kind in zip(keys, objects)
                             if kind == "i" and k not in detected})
            # a wrapper fitted on integers takes them, led by a pipeline or search too
            read = [getattr(step, "X_dtype_", None) for step in readers] or [None]
            fitted = read[0] if len({repr(dtype) for dtype in read}) == 1 else None
            if not detected and isinstance(fitted, np.dtype) and fitted.kind in "biu":
                detected = dict.fromkeys(keys, fitted)
            dtypes = {**detected, **(dtypes or {})}
        # Columns the model's ColumnTransformer drops (unless dtypes says their
        # type): any value is taken, and not read; input_example's type for
        # them would refuse what is not read (a null in an integer column).
        dropped = set() if names is None else dropped_columns(model, names) - set(given or ())
        found = [np.dtype(object) if k in dropped else
                 np.dtype(_numpy_dtype(dtypes.get(k, "float64"), k)) for k in keys]
        imputed = getattr(model, "imputed_features_", None)  # an exported graph's record
        if imputed is not None:
            imputed = set(imputed)
            missing = [np.nan if k in imputed else REFUSED for k in keys]
        else:
            missing = missing_markers(model, keys)
        # Integers and booleans (pandas' nullable ones, categories of them, NumPy's)
        # that the model imputes: floats with NaN, as scikit-learn's imputer reads them.
        held = [_held_kind(dtypes.get(k)) if is_nan(m) else None
                for k, m in zip(keys, missing)]
        found = [np.dtype("float64") if h else d for d, h in zip(found, held)]
        categories = known_categories(model, keys)
        categorical = {j: dtypes[k] for j, k in enumerate(keys) if k not in dropped  # (text)
                       and isinstance(dtypes.get(k), pd.CategoricalDtype)
                       and all(isinstance(c, str) for c in dtypes[k].categories)}
        for j, dtype in categorical.items():  # a string outside them is refused, named
            categories[j] = frozenset(dtype.categories) & (categories[j] or frozenset(
                dtype.categories))
        return cls(names, found, getattr(model, "unused_features_", ()) if names else (),
                   missing, categories, [j for j, key in enumerate(keys) if key in dropped],
                   [j for j, h in enumerate(held) if h == "b"],
                   [j for j, kind in enumerate(objects) if kind], categorical)

    def unknown_category(self, columns):
        """What to say of the first string in validated ``columns`` that the
        model's encoder refuses, not knowing it (answered before the model
        runs, naming the column); None when there is none."""
        for j, known in self.known:
            if known.issuperset(columns[j]):
                continue
            marker = self.missing[j]  # which an imputer ahead of the encoder fills
            row, value = next(((i, v) for i, v in enumerate(columns[j])
                               if v not in known and v is not marker), (None, None))
            if row is not None:  # (a long value cut: the answer does not echo a body)
                if isinstance(value, str):
                    value = cut(value, 40)
                return (f"{self.field(j)} holds {value!r} (row {row}), which is not one of the "
                        f"{len(known)} categories the model was fitted on: "
                        f"{shown(sorted(known))}")
        return None

    def describe(self):
        """The features as JSON: one ``{"name", "dtype", "kind", "nullable"}`` per feature."""
        names = self.names or [None] * self.n_features
        return [{"name": name, "dtype": str(d), "kind": k, "nullable": m is not REFUSED}
                for name, d, k, m in zip(names, self.dtypes, self.kinds, self.missing)]

    def complete_rows(self, columns, only=None):
        """A boolean mask of the rows of validated ``columns`` holding no missing
        value (in the features ``only`` lists, when given)."""
        import pandas as pd

        complete = np.ones(len(columns[0]), dtype=bool)
        for j, (column, marker) in enumerate(zip(columns, self.missing)):
            if marker is not REFUSED and (only is None or j in only):
                complete &= ~pd.isna(column)
        return complete

    def field(self, j):
        """How a message names feature ``j``."""
        return f"column {self.names[j]!r}" if self.names is not None else f"feature {j}"

    def assemble(self, parts):
        """One model input from the validated parts of several requests.

        Parameters
        ----------
        parts : list
            Per request, its columns: a list of one array per feature, or a 2-D
            array of shape (n_features, n_rows) when the schema is uniform.

        Returns
        -------
        X : pandas.DataFrame or numpy.ndarray
            A DataFrame with the model's column names and dtypes, or a 2-D
            array for a model fitted without names.
        """
        import pandas as pd

        if self.uniform:
            block = np.concatenate(parts, axis=1) if len(parts) > 1 else np.asarray(parts[0])
            if self.names is None:
                return np.ascontiguousarray(block.T)
            return pd.DataFrame(block.T, columns=list(self.names), copy=False)
        columns = [parts[0][j] if len(parts) == 1 else np.concatenate([p[j] for p in parts])
                   for j in range(self.n_features)]
        if self.names is None:
            return np.column_stack([c.astype(object) if j in self.objects else c
                                    for j, c in enumerate(columns)])
        # Text columns stay object columns where an imputer reads None as missing
        # (pandas would make them strings, None NaN), as do numbers an encoder
        # fitted on objects takes.
        columns = [pd.Series(c, dtype=object) if m is None or j in self.objects else c
                   for j, (c, m) in enumerate(zip(columns, self.missing))]
        for j, dtype in self.categorical.items():
            columns[j] = pd.Series(columns[j]).astype(dtype)
        return pd.DataFrame(dict(zip(self.names, columns)), copy=False)


def _kind(dtype):
    if dtype.kind == "f":
        return "number"
    if dtype.kind in "iu":
        return "integer"
    if dtype.kind == "b":
        return "boolean"
    if dtype.kind in "OUST":  # (T: NumPy 2's StringDType)
        return "string"
    raise ValueError(f"make_app: the server cannot take features of dtype {dtype}")


def _numpy_dtype(dtype, key):
    """A NumPy dtype to store values of ``dtype`` (pandas' string: object; its
    category: that of its categories, numbers or text; its nullable ``Int64``,
    ``boolean`` and ``Float64``: the NumPy type they hold)."""
    import pandas as pd

    if isinstance(dtype, pd.CategoricalDtype) and dtype.categories is not None:
        return _numpy_dtype(dtype.categories.dtype, key)
    name = str(dtype)
    if name in ("string", "str", "category") or name.startswith("string["):
        return np.dtype(object)

    try:  # (a type NumPy has none of, "int64[pyarrow]" without pyarrow; dates)
        found = np.dtype(getattr(pd.api.types.pandas_dtype(dtype), "numpy_dtype", dtype))
        _kind(found)
    except (TypeError, ValueError, ImportError, NameError) as exc:  # (pandas 2 without
        # pyarrow fails on "int64[pyarrow]" in a NameError of its own)
        raise ValueError(f"make_app: feature {key!r} has dtype {name}, which the server "
                         f"cannot take (numbers, booleans and strings only)") from exc
    # Strings of a NumPy width (an example array's <U4) are stored whole: a
    # longer one in a request would be cut to another value.
    return np.dtype(object) if found.kind in "UST" else found


def _held_kind(dtype):
    """The NumPy kind (``"i"``, ``"u"`` or ``"b"``) of the values ``dtype`` holds,
    for integers or booleans: NumPy's, pandas' nullable ones (``Int64``,
    ``boolean``, ...) or a category of them; else None."""
    import pandas as pd

    try:
        dtype = pd.api.types.pandas_dtype(dtype)
    except (TypeError, ValueError):
        return None
    if isinstance(dtype, np.dtype):
        kind = dtype.kind
    elif isinstance(dtype, pd.CategoricalDtype):  # ("category" alone names no categories)
        kind = None if dtype.categories is None else dtype.categories.dtype.kind
    else:
        held = getattr(dtype, "numpy_dtype", None)  # (pandas' string dtype has none)
        kind = (np.dtype(held).kind if pd.api.types.is_extension_array_dtype(dtype)
                and held is not None else None)
    return kind if kind in ("i", "u", "b") else None


def _example_dtypes(example, names, n):
    import pandas as pd

    if isinstance(example, pd.DataFrame):
        if names is None:
            raise ValueError("make_app: input_example is a DataFrame but the model was fitted "
                             "without feature names; give an array")
        missing = [c for c in names if c not in example.columns]
        if missing:
            raise ValueError(f"make_app: input_example lacks the model's column(s) "
                             f"{shown(missing)}")
        return {c: _object_dtype(example[c]) if example[c].dtype.kind == "O"
                else example[c].dtype for c in names}
    example = np.asarray(example)
    if example.ndim != 2 or example.shape[1] != n:
        raise ValueError(f"make_app: input_example must be a table of rows with {n} "
                         f"features, not shape {example.shape}")
    keys = names if names is not None else range(example.shape[1])
    if example.dtype.kind == "O":  # (strings beside numbers: each column its own)
        return {k: _object_dtype(pd.Series(example[:, j])) for j, k in enumerate(keys)}
    return {k: example.dtype for k in keys}


def _object_dtype(column):
    """How the server stores an object column of an input example: as the model
    reads it, integer ids as int64 (as the wrappers take them), other numbers
    (floats, Decimals) as float64 and booleans as bool (as scikit-learn converts
    them); text, or a mix of text and numbers, as object."""
    import pandas as pd

    from ..utils._columns import int64_objects

    kind = pd.api.types.infer_dtype(column, skipna=True)
    if kind == "integer" and int64_objects(column):
        return np.dtype(np.int64)
    if kind in ("integer", "floating", "decimal", "mixed-integer-float"):
        return np.dtype(np.float64)
    return np.dtype(bool) if kind == "boolean" else column.dtype


def shown(values, limit=10):
    """The first ``limit`` of ``values`` for a message, each cut to 120 characters (an
    answer to a request does not echo its body), as text."""
    return listed(values, limit, as_text=lambda value: repr(cut(value, 120)), width=None)
