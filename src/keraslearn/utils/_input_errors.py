"""What to give instead, when X (or a regressor's y) cannot be read: a list of
arrays of different shapes, or text where the network takes numbers. Light
(NumPy only), for the preprocessing steps too."""

import contextlib
import os
import re

import numpy as np

SEVERAL_INPUTS = (
    "For a model with several inputs, give a dict of arrays by input name, or "
    "keraslearn.MultiInput (which scikit-learn can split), or a feature_encoder that makes "
    "the list from one array.")


# What to give instead of samples of different shapes.
ONE_SHAPE = ("Give samples of one shape (keras.utils.pad_sequences pads sequences to one "
             "length).")


@contextlib.contextmanager
def explained_input_errors(X, y=None, what="X", ragged=SEVERAL_INPUTS, per_sample=ONE_SHAPE):
    """Say what to give instead when X is a list of arrays of different shapes
    (a model's inputs, as Keras takes them; ``ragged`` says what to give), or a
    1-D object array or Series of arrays (one per sample; ``per_sample`` says
    what to give where their shapes differ), which scikit-learn reads as rows,
    y has more than 2 dimensions, or X (``what``: X or one of its named
    inputs) or a regressor's y holds text, which the network does not take.
    A stream (a tf.data.Dataset, a Keras PyDataset, a generator) is refused
    on entry."""
    refuse_streams(X, what)
    try:
        yield
    except TypeError as exc:  # NumPy's float() of an object it takes no number from
        # (not scikit-learn's of column names of several types: found in review)
        spans = None if "Feature names" in str(exc) else _spans(X)
        if spans:
            raise ValueError(
                f"{what} has columns of dates, times, periods or intervals {spans}, which are "
                "not numbers. Convert them to numbers of your choice first, e.g. "
                "(pd.to_datetime(when) - pd.Timestamp('2020-01-01')) / pd.Timedelta(days=1) "
                "for dates, pd.to_timedelta(when) / pd.Timedelta(days=1) for durations, "
                "when.dt.month for periods, pd.IntervalIndex(when).mid for intervals.") from exc
        told = _target_type_error(exc, y, X)  # (pd.NA or complex numbers in y, not in X)
        if told is not None:
            raise told from exc
        # pd.NA (or NaT) among objects or text, where NaN is told; with what makes them
        # NaN a SimpleImputer fills (found in review: it fails on them as they are)
        missing = next((shown for name, shown in (("NAType", "pd.NA"), ("NaTType", "pd.NaT"))
                        if name in str(exc)), None)
        if missing:
            given = what if what.startswith("X[") else "X"  # (a named input's, by its name)
            how = (f"{given}.mask({given}.isna()).astype(float) on the columns holding them"
                   if hasattr(X, "isna") else f"np.where(pd.isna({given}), np.nan, {given})"
                   ".astype(float)")  # (not a NumPy masked array's mask: found in review)
            raise ValueError(f"{what} holds missing values ({missing}), which the network does "
                             f"not take: make them NaN first ({how}), then impute them "
                             "(sklearn.impute.SimpleImputer) or drop those rows.") from exc
        if "'complex'" in str(exc):  # (found in an audit: NumPy's TypeError, as objects)
            raise ValueError(f"{what} holds complex numbers, which the network does not take: "
                             "give real numbers (their real part, np.real, or magnitude, np.abs, "
                             "as columns).") from exc
        raise
    except ValueError as exc:
        refuse_mixed_images(X, what)
        parts = _arrays_in(X)
        shapes = {_shape(a) for a in parts or ()}
        kind = ("list" if isinstance(X, (list, tuple)) else "1-D object array"
                if isinstance(X, np.ndarray) else type(X).__name__)
        items = "arrays" if all(hasattr(a, "shape") for a in parts or ()) else "sequences"
        if len(shapes) >= 2:  # (a list as long as y: its samples, not inputs)
            samples = kind != "list" or _rows(y) == len(parts)
            raise ValueError(
                f"{what} is a {kind} of {len(parts)} {items} of different shapes, which "
                "scikit-learn takes as rows of one array. "
                + (per_sample if samples else ragged)) from exc
        if shapes and kind != "list":  # (a list of arrays of one shape is stacked)
            raise ValueError(
                f"{what} is a {kind} of {len(parts)} {items} of shape {shapes.pop()}, one per "
                "sample?, which scikit-learn cannot read as rows: stack them into one array "
                "(numpy.stack(list(X)))."
            ) from exc
        if y is not None and "Found array with dim" in str(exc) and np.ndim(y) > 2:
            raise ValueError(
                f"y has {np.ndim(y)} dimensions (shape {np.shape(y)}); targets have at most 2, "
                "one row per sample, as in scikit-learn. Give y.reshape(len(y), -1), and end "
                "the network in keras.layers.Flatten() (or a Reshape) to match (a sequence's "
                "per-step targets too; a mask, of Masking or mask_zero, does not pass them: "
                "padded steps would count in the loss)."
            ) from exc
        text = _text_error(exc)
        if text is not None:
            if y is not None and not _holds_text(X) and _holds_text(y):
                raise _numeric_targets_error(text) from exc
            path = _image_path(text)
            if path is not None:
                raise ValueError(
                    f"{what} holds image file paths ({path!r}): keraslearn feeds the network "
                    "numbers. Read the images in a Pipeline with keraslearn.preprocessing."
                    "ImageLoader (flatten=True before Dense layers), or use ImageClassifier, "
                    "which takes paths.") from exc
            raise ValueError(
                f"{what} holds text ({text}): keraslearn feeds the network numbers. Turn the "
                "text into numbers first, in a Pipeline: a vectorizer such as "
                "TfidfVectorizer, or an encoder (a feature_encoder gets X checked already)."
            ) from exc
        raise


def refuse_streams(X, what="X"):
    """Refuse X given as a stream of batches, which scikit-learn can neither
    count nor split into folds (it failed in NumPy, "float() argument must be
    a string or a real number")."""
    import collections.abc
    import inspect

    dataset, py_dataset = _loaded("tensorflow", "data", "Dataset"), _loaded(
        "keras", "utils", "PyDataset")
    streams = {"a tf.data.Dataset": dataset is not None and isinstance(X, dataset),
               "a keras.utils.PyDataset": py_dataset is not None and isinstance(X, py_dataset),
               "a generator": inspect.isgenerator(X),
               "an iterator": isinstance(X, collections.abc.Iterator)}  # (map, iter, chain)
    for name, fix in _COMPOSITE_TENSORS.items():  # (NumPy: "float() argument must be ...")
        if isinstance(X, _loaded("tensorflow", name) or ()):
            raise TypeError(f"{what} is a tf.{name}: keraslearn estimators take rows as "
                            f"scikit-learn does; give {fix}.")
    kind = next((kind for kind, found in streams.items() if found), None)
    if kind is not None:
        raise TypeError(
            f"{what} is {kind}: keraslearn estimators take rows as scikit-learn does, so that "
            "searches and cross-validation can split them. Give arrays (NumPy, pandas, scipy "
            "sparse); for data beyond memory a np.load(path, mmap_mode='r') array, or image "
            "file paths for ImageClassifier.")


_COMPOSITE_TENSORS = {
    "SparseTensor": "a scipy.sparse matrix of its values (scipy.sparse.csr_matrix(("
                    "X.values.numpy(), X.indices.numpy().T), shape=X.dense_shape.numpy())), "
                    "or tf.sparse.to_dense(X)",
    "RaggedTensor": "X.to_tensor() (rows padded with zeros to one length, as "
                    "keras.utils.pad_sequences pads sequences)"}


def _loaded(module, *names):
    """The class ``module.names...`` where that module is imported, else None:
    not imported (none of its objects can be X), or still importing in another
    thread, whose half-made module lacks it."""
    import sys

    found = sys.modules.get(module)
    for name in names:
        found = getattr(found, name, None)
    return found if isinstance(found, type) else None


def refuse_dates(X, name=None, what=None):
    """A ValueError for datetime or timedelta X, which as numbers would be a
    count of their unit (seconds, micro- or nanoseconds: pandas' versions
    choose differently), as for a regressor's y. ``what``: X's name in the
    message (default "X", or X[name] for a model's input ``name``)."""
    import pandas as pd

    from ._columns import is_polars_frame, values_dtype

    def kind(dtype):  # (a categorical's: its categories', dates or not)
        return getattr(values_dtype(dtype), "kind", None)

    # Each library's way to numbers of one's choice, as an example.
    if isinstance(X, pd.DataFrame):
        dated = [str(c) for c, d in X.dtypes.items() if kind(d) in ("m", "M")]
        where = f"has date or time columns {dated}"
        how = ("(when - when.min()) / pd.Timedelta(days=1), or their parts "
               "(when.dt.dayofweek)") + (
            " (categorical ones read as their values first: when.astype("
            "when.cat.categories.dtype))" if any(
                isinstance(d, pd.CategoricalDtype) and kind(d) in ("m", "M")
                for d in X.dtypes) else "")
    elif is_polars_frame(X):  # (Date, Datetime, Duration and Time columns)
        dated = [name for name, d in X.schema.items() if d.is_temporal()]
        where = f"has date or time columns {dated}"
        how = ("(pl.col('when') - pl.col('when').min()).dt.total_days(), or their parts "
               "(pl.col('when').dt.weekday())")
    else:
        dtype = getattr(X, "dtype", None)
        dated = kind(dtype) in ("m", "M")
        categorical = isinstance(dtype, pd.CategoricalDtype)
        where = f"has dtype {dtype}" + (f" (of {values_dtype(dtype)})" if categorical else "")
        how = "(when - when.min()) / np.timedelta64(1, 'D')" + (
            " (read as its values first: when.astype(when.cat.categories.dtype))"
            if categorical else "")
    if dated:
        what = what or ("X" if name is None else f"X[{name!r}]")
        raise ValueError(
            f"{what} {where}: as numbers they would be a count of their unit (which differs "
            f"between pandas versions). Convert them to numbers of your choice first, e.g. "
            f"{how}.")


def _spans(X):
    """The names of a DataFrame's columns of periods or intervals, or of Python
    dates, times, periods or intervals as objects (NumPy's float() fails on
    them naming no column), or the positions of those of a 2-D object array
    (found in an audit: NumPy's TypeError told no column)."""
    import datetime

    import pandas as pd

    kinds = (datetime.date, datetime.time, datetime.timedelta, pd.Period, pd.Interval)

    def spanning(values):  # (NaT, a missing value, is a datetime too: found in review)
        return any(isinstance(v, kinds) and v is not pd.NaT for v in values)

    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 2:
        return [j for j in range(X.shape[1]) if spanning(X[:, j])]
    if not (hasattr(X, "dtypes") and hasattr(X, "iat") and hasattr(X, "columns")):
        return None  # (not a DataFrame: a Series has one dtype, found in review)
    found = []
    for i, (column, dtype) in enumerate(X.dtypes.items()):
        # An object column's values, read by position (names and labels may repeat).
        if isinstance(dtype, np.dtype) and dtype.kind == "O":
            spans = spanning(X.iloc[:, i])
        else:  # (a categorical's: its categories')
            dtype = dtype.categories.dtype if isinstance(dtype, pd.CategoricalDtype) else dtype
            spans = isinstance(dtype, (pd.PeriodDtype, pd.IntervalDtype))
        if spans:
            found.append(str(column))
    return found


@contextlib.contextmanager
def explained_target_errors(y):
    """Tell pd.NA or complex numbers among y's objects, and a regressor's text,
    where scikit-learn's check of y alone fails on them (beside named inputs or
    a mapped X, in validation_data: found in audits), as X's checks tell them."""
    try:
        yield
    except TypeError as exc:
        told = _target_type_error(exc, y)
        if told is None:
            raise
        raise told from exc
    except ValueError as exc:
        text = _text_error(exc)
        if text is None or not _holds_text(y):
            raise
        raise _numeric_targets_error(text) from exc


def require_targets(est, y):
    """scikit-learn's error for a fit without y by an estimator that needs one,
    told before X is read, for named inputs too (its validate_data tells it
    for one array; found in review: named inputs got NumPy's "at least 1
    dimension ... array(None)"), and before y_val is weighed against y."""
    if y is None and est._requires_y:
        raise ValueError(f"This {type(est).__name__} estimator requires y to be passed, but "
                         "the target y is None.")


def _target_type_error(exc, y, X=None):
    """The error to raise where scikit-learn's check failed (``exc``) on pd.NA
    among y's objects ("boolean value of NA is ambiguous" in its finiteness
    check, found in an audit; float() of it for numbers) or on complex numbers
    among them (found in review: told as X's), or None; None too where X,
    checked first, holds them."""
    import pandas as pd

    if "value of NA is ambiguous" in str(exc) or "'NAType'" in str(exc):
        test, told = (lambda value: value is pd.NA), (
            "y holds missing values (pd.NA): every row's target must be known. Drop those rows "
            "(or fill their targets) first.")
    elif "'complex'" in str(exc):
        test, told = (lambda value: isinstance(value, complex)), (
            "y holds complex numbers: the network's targets are real numbers (give their real "
            "part, np.real, or magnitude, np.abs).")
    else:
        return None
    return ValueError(told) if _holds(y, test) and not _holds(X, test) else None


def _numeric_targets_error(text):
    return ValueError(f"A regressor needs numeric targets; y holds text ({text}). For class "
                      "labels, use a classifier.")


def _holds(y, test):
    """Whether any of y's values (or X's: None holds none) passes ``test``."""
    if y is None:
        return False
    try:
        values = np.asarray(y, dtype=object).ravel()
    except ValueError:  # (arrays of different shapes: X given as a list of them)
        return False
    return any(test(value) for value in values)


def refuse_mixed_images(X, what="X"):
    """Refuse X (a list, tuple or 1-D object array) starting with arrays and
    holding a file path or PIL image after them (paths first: the image reader
    names the first array). NumPy made a PIL image of the arrays' size an array
    of its 0-255 pixels, silently; one of another size failed in NumPy."""
    import os

    if not (isinstance(X, (list, tuple)) or isinstance(X, np.ndarray) and X.ndim == 1
            and X.dtype == object) or not len(X) or not hasattr(X[0], "shape") or isinstance(
            X[0], (str, bytes)) or not np.ndim(X[0]):
        return  # (NumPy's str_ and bytes_ paths have a shape, of no dimension)
    path = next((i for i, item in enumerate(X) if isinstance(item, (str, bytes, os.PathLike))
                 or type(item).__module__.startswith("PIL.")), None)
    if path is not None:
        raise ValueError(
            f"{what} mixes arrays and image files: {what}[{path}] is a "
            f"{type(X[path]).__name__} after arrays. Give decoded images as one array, or "
            "every image as a file path or PIL image.")


def _arrays_in(X):
    """The items of X where X is a list, tuple, 1-D object array or Series of
    arrays (or of lists), else None."""
    if isinstance(X, (list, tuple)) or getattr(X, "ndim", None) == 1 and str(
            getattr(X, "dtype", "")) == "object":
        parts = list(X)
        if parts and all(isinstance(a, (list, tuple)) or hasattr(a, "shape") and np.ndim(a)
                         for a in parts):
            return parts
    return None


def _rows(y):
    """The number of rows of y, or None (no y, or one NumPy cannot shape)."""
    try:
        return None if y is None else np.shape(y)[0]
    except (ValueError, IndexError):
        return None


def _shape(part):
    """``part``'s shape; a nested sequence of ragged rows is a shape of its own."""
    try:
        return np.shape(part)
    except ValueError:
        return ("ragged", id(part))


def _text_error(exc):
    """The error saying a string could not become a float: ``exc`` or one it was
    raised from (pandas says "Cannot cast str dtype" of a frame of mixed
    column types, from NumPy's error naming the value), or None."""
    while exc is not None:
        if "could not convert string to float" in str(exc):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _image_path(error):
    """The value a text error names, where it is an image file's path (a suffix
    Pillow reads), else None."""
    found = re.search(r"could not convert string to float: (?:np\.(?:str|bytes)_\()?b?'(.+)'",
                      str(error))
    suffix = os.path.splitext(found.group(1))[1].lower() if found else ""
    if not suffix:
        return None
    from PIL import Image

    # (a format Pillow reads: it also names some it only writes, .pdf)
    return found.group(1) if Image.registered_extensions().get(suffix) in Image.OPEN else None


def _holds_text(a):
    """Whether ``a`` fails to convert to floats because it holds text."""
    try:
        np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        return _text_error(exc) is not None
    return False
