"""Input checks, all made before TensorFlow runs, and the cheap path for the
common case of predicting on a few float rows. scipy sparse X is accepted
as CSR and never densified whole (see ``_feed``).

Training data goes through scikit-learn's ``validate_data`` (recording
``n_features_in_`` and ``feature_names_in_``), and a sample's shape is recorded
(images, sequences). At predict time a float ndarray (or a DataFrame of float
columns named as in fit) that passes every check skips ``validate_data``: on
one row its cost would exceed the network's.

Arrays mapped from files (``np.load(path, mmap_mode="r")``, ``np.memmap``)
are checked without being read into memory: their shape and dtype as
``validate_data`` checks them, but with no conversion (an integer or float16
map stays as it is and each batch is cast to the model's dtype when it is
read), and NaN or infinity block by block from the file, so that the
resident set stays bounded whatever the file's size (``_sources``). The same
error as for an array in memory is raised before TensorFlow runs; like
scikit-learn, ``sklearn.config_context(assume_finite=True)`` skips that pass
over the file. Copy-on-write maps (``mode="c"``) are checked as arrays in
memory are. A row source (image files) is checked for its shape only.
"""

import numpy as np
import pandas as pd
from scipy.sparse import issparse
from sklearn import get_config
from sklearn.utils import assert_all_finite, check_array, check_consistent_length
from sklearn.utils.validation import check_is_fitted, validate_data

from .._multi_input import MultiInput, is_named_inputs
from ..utils import _input_errors as errors
from ..utils._columns import string_names, warn_unnamed
from ..utils._validation import check_sample_weight, is_sparse_targets
from ._input_dtypes import (
    CHECK_BLOCK_BYTES,
    FLOATS,
    as_checked,
    fitted_dtype,
    holds_exactly,
    mapped,
    x_dtype,
    x_params,
)
from ._sources import RowSource, blocks


def _check_finite_in_blocks(est, X, input_name="X"):
    """NaN and infinity refused with scikit-learn's own error, one block of a mapped X at a time."""
    if X.dtype.kind != "f" or get_config()["assume_finite"]:
        return
    for block in blocks(X, CHECK_BLOCK_BYTES):
        assert_all_finite(block, input_name=input_name, estimator_name=type(est).__name__)


def _sparse(est):
    """scipy sparse X is taken as CSR (rows are densified one batch at a
    time), by estimators whose model takes rows of features."""
    return "csr" if getattr(est, "_takes_sparse", True) else False


def _validate_inputs(est, X, reset, fitting=True):
    """A dict of named inputs (:class:`~keraslearn.MultiInput`), each array
    checked as X would be; its shapes are recorded by input name."""
    if not getattr(est, "_takes_named_inputs", False):
        raise TypeError(
            f"{type(est).__name__} takes X as one array; named inputs (a dict or a "
            "MultiInput) need a model of your own with inputs of those names "
            "(KerasClassifier, KerasRegressor or BaseWrapper)."
        )
    if not X.keys():  # (a MultiInput's len is its rows)
        raise ValueError("X is an empty dict: it holds no input.")
    arrays, names = {}, {}
    for name, value in X.items():
        with errors.explained_input_errors(value, what=f"X[{name!r}]", ragged=errors.ONE_SHAPE):
            arrays[name] = check_array(value, allow_nd=True, ensure_2d=False, input_name=f"X["
                                       f"{name!r}]", **x_params(est, value, reset, name))
        names[name] = _string_columns(value)
        if mapped(value):
            _check_finite_in_blocks(est, arrays[name], f"X[{name!r}]")
        if arrays[name].ndim < 2:
            arrays[name] = arrays[name].reshape(-1, 1)
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"The inputs of X hold different numbers of rows: {lengths}.")
    shapes = {name: a.shape for name, a in arrays.items()}
    if reset:
        est.X_shape_ = shapes
        est.X_dtype_ = {name: as_checked(est, a.dtype) for name, a in arrays.items()}
        est.n_features_in_ = {name: int(np.prod(s[1:])) for name, s in shapes.items()}
        est.__dict__.pop("feature_names_in_", None)
        est._input_feature_names = {k: v for k, v in names.items() if v is not None}
    else:
        fitted = getattr(est, "X_shape_", None)
        if not isinstance(fitted, dict) or set(fitted) != set(shapes):
            expected = sorted(fitted) if isinstance(fitted, dict) else "one array"
            raise ValueError(f"X has the inputs {sorted(shapes)}, but {type(est).__name__} "
                             f"was fitted with {expected}.")
        for name, shape in shapes.items():
            if shape[1:] != tuple(fitted[name][1:]):
                raise ValueError(
                    f"X[{name!r}] has shape {shape[1:]} per sample, but {type(est).__name__} "
                    f"was fitted with {tuple(fitted[name][1:])}.")
            arrays[name] = check_same_dtype(est, arrays[name], name, fitting=fitting)
            _check_input_names(est, name, names[name])
    return MultiInput(arrays)


def _string_columns(value):
    """The column names of a pandas DataFrame whose names are all strings (as
    scikit-learn records them), else None."""
    names = string_names(value, value)
    return None if names is None else np.asarray(names, dtype=object)


def _check_input_names(est, name, names):
    """The named input ``name``'s column names checked against fit's, as
    scikit-learn checks one DataFrame X's."""
    fitted = est.__dict__.get("_input_feature_names", {}).get(name)
    what, owner = f"X[{name!r}]", type(est).__name__
    warn_unnamed(fitted is not None, names is not None, owner, what)
    if fitted is not None and names is not None and list(names) != list(fitted):
        raise ValueError(f"The feature names of {what} should match those that were passed "
                         f"during fit: {owner} was fitted with {list(fitted)}, got "
                         f"{list(names)}.")


_ONE_Y = ("but {0} is one array (scikit-learn splits y by rows). For a model of several outputs, "
          "give their targets as columns of one {0} (numpy.column_stack) and subclass the "
          "wrapper with a target_encoder that makes one target per output of them.")


def validate_training_data(est, X, y, *, reset, y_numeric):
    """(X, y) checked for a fit; ``y=None`` is allowed only for estimators
    whose targets are optional (``est._requires_y`` False)."""
    refuse_targets_by_output(X, y)
    errors.require_targets(est, y)
    if reset:  # sparse indicator rows are predicted sparse, as scikit-learn's MLP does
        est._sparse_y = is_sparse_targets(y)
    if is_named_inputs(X):
        X = _validate_inputs(est, X, reset)
        if y is None:  # (here only where targets are optional: require_targets told the rest)
            return X, None
        y = validate_targets(y, y_numeric)
        check_consistent_length(X, y)
        return X, y
    if not reset:
        _check_one_array_fitted(est)
    if isinstance(X, RowSource):
        return _validate_source(est, X, y, reset=reset, y_numeric=y_numeric)
    if not reset:
        _sample_shape_first(est, X)
    if y_numeric and issparse(y):  # validate_data's multi_output y takes it
        validate_targets(y, y_numeric)
    is_mapped = mapped(X)
    if y is None:  # (here only where targets are optional: require_targets told the rest)
        X = validate_data(est, X, reset=reset, allow_nd=True, accept_sparse=_sparse(est),
                          **x_params(est, X, reset))
    elif is_mapped:
        with errors.explained_target_errors(y):  # (y, as X is mapped numbers)
            X, y = validate_data(est, X, y, reset=reset, validate_separately=(
                {"allow_nd": True, **x_params(est, X, reset)}, _TARGET_PARAMS[y_numeric]))
        check_consistent_length(X, y)
    else:
        with errors.explained_input_errors(X, y, **_ragged(est)):
            X, y = validate_data(
                est, X, y, reset=reset, dtype=x_dtype(est, X, reset), allow_nd=True,
                multi_output=True, y_numeric=y_numeric, accept_sparse=_sparse(est),
            )
    if is_mapped:
        _check_finite_in_blocks(est, X)
    if issparse(y):  # sparse indicator rows (multilabel), as scikit-learn takes them
        y = y.toarray()
    if reset:
        est.X_shape_ = X.shape
        est.X_dtype_ = as_checked(est, X.dtype)
    else:
        check_same_dtype(est, X)
        check_sample_shape(est, X)
    return X, y


# check_array arguments for y, as validate_data(multi_output=True) checks it
# (keyed by y_numeric).
# Sparse y is label indicator rows (multilabel); a regressor's targets are
# dense, as scikit-learn's regressors and scikeras take them.
_TARGET_PARAMS = {
    False: {"accept_sparse": "csr", "ensure_2d": False, "dtype": None},
    True: {"accept_sparse": False, "ensure_2d": False, "dtype": "numeric"},
}


def _ragged(est):
    """What ``est`` takes instead of X as arrays of different shapes, as a list
    (``ragged``: several inputs where it takes them) and one per sample
    (``per_sample``), its own ``_ragged_hint`` for both where it has one."""
    if getattr(est, "_ragged_hint", None):
        return dict.fromkeys(("ragged", "per_sample"), est._ragged_hint)
    if getattr(est, "_takes_named_inputs", False):  # (a model of the user's own)
        return {"ragged": errors.SEVERAL_INPUTS, "per_sample": errors.ONE_SHAPE}
    return dict.fromkeys(("ragged", "per_sample"), "Give one array of rows, each sample's "
                         "values of one length.")


def refuse_targets_by_output(X, y, name="y"):
    """Targets by output (a dict, or a list of arrays each as long as X) named as such,
    not left to scikit-learn's "inconsistent numbers of samples" (y_val: to other counts)."""
    if is_named_inputs(y):  # fit(X, X) of named inputs, or targets by output name
        raise ValueError(f"{name} is a dict (targets by output?), " + _ONE_Y.format(name))
    if not isinstance(y, (list, tuple)) or len(y) < 2 or not all(
            hasattr(part, "shape") or isinstance(part, (list, tuple)) for part in y):
        return
    try:  # (a dict of named inputs: the rows of one)
        n_rows = len(next(iter(X.values())) if is_named_inputs(X) else X)
        lengths = {len(part) for part in y}
    except (TypeError, StopIteration):
        return
    if len(y) != n_rows and lengths == {n_rows}:
        raise ValueError(
            f"{name} is a list of {len(y)} arrays of {n_rows} rows each (targets by output? as "
            f"rows, {len(y)} samples for {name.replace('y', 'X', 1)}'s {n_rows}), "
            + _ONE_Y.format(name))


def _validate_source(est, X, y, *, reset, y_numeric):
    """A row source (image files) checked for its shape only: its rows are
    checked as they are read."""
    if len(X) == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum "
                         f"of 1 is required by {type(est).__name__}.")
    if y is None:  # (here only where targets are optional: require_targets told the rest)
        validate_data(est, X, reset=reset, skip_check_array=True)
    else:
        validate_data(est, X, y, reset=reset, skip_check_array=True)
        y = validate_targets(y, y_numeric)
        check_consistent_length(X, y)
    if reset:
        est.X_shape_ = X.shape
        est.X_dtype_ = X.dtype
    else:
        check_same_dtype(est, X)
        check_sample_shape(est, X)
    return X, y


def check_same_dtype(est, X, name=None, fitting=True):
    """A fit that continues (partial_fit, warm start) takes X (its input
    ``name``, for named inputs) of a dtype the first fit's casts to safely,
    as scikeras requires. Prediction (``fitting`` False) after a fit on
    integers takes X whose values the fit's dtype holds exactly (whole
    numbers in its range: a server's float64 columns of ids), refusing what
    would reach the model truncated or wrapped, and casts what it takes to the
    fit's dtype (a subclassed model takes integer rows as they come, float ones
    as float32: ids past 2**24 rounded); floats are cast to the fit's float
    dtype. Returns X."""
    fitted = fitted_dtype(est, name)
    if not getattr(est, "_same_dtype_to_continue", False) or fitted is None or (
            not fitting and np.dtype(fitted).kind not in "biu"):
        return X
    what = "X" if name is None else f"X[{name!r}]"
    if not fitting and not np.can_cast(X.dtype, fitted) and not holds_exactly(X, fitted):
        raise ValueError(
            f"{what} holds values that {fitted}, the dtype {type(est).__name__} was fitted "
            f"on, cannot hold exactly (it has dtype {X.dtype}): the model would get them "
            f"truncated or wrapped. Give {what} as {fitted} values (to predict at other "
            f"values, such as a decision-boundary grid, fit on {what}.astype(float))."
        )
    if fitting and not np.can_cast(X.dtype, fitted):
        raise ValueError(
            f"{what} has dtype {X.dtype}, but {type(est).__name__} was fitted on {fitted}, "
            f"and casting {X.dtype} to {fitted} is not safe. Give {what} as {fitted} "
            f"(.astype({str(fitted)!r})), or fit anew."
        )
    if not fitting and X.dtype != fitted and not mapped(X):
        return X.astype(fitted)
    if not fitting and X.dtype.kind == "f" and not getattr(
            est.__dict__.get("model_"), "inputs", None) and not _float32_exact(X):
        # (a mapped file is not cast whole; a subclassed model takes float32: ids rounded)
        raise ValueError(
            f"{what} is mapped from a file of {X.dtype}, but {type(est).__name__} was fitted "
            f"on {fitted} and its network takes rows as they are given: give {what} as "
            f"{fitted} values (a file of {fitted}).")
    return X


def _float32_exact(X):
    """Whether the mapped float X's values are all below 2**24 (float32's exact ints)."""
    return all(np.abs(np.asarray(block)).max(initial=0) < 2.0**24
               for block in blocks(X, CHECK_BLOCK_BYTES))


def _check_one_array_fitted(est):
    """X as one array is refused by an estimator fitted on named inputs."""
    if isinstance(getattr(est, "X_shape_", None), dict):
        raise ValueError(f"{type(est).__name__} was fitted with the named inputs "
                         f"{sorted(est.X_shape_)}; give X as a dict or MultiInput of them.")


def check_sample_shape(est, X, shape=None):
    shape, fitted = tuple(X.shape if shape is None else shape), tuple(est.X_shape_[1:])
    if shape[1:] != fitted:
        one = (f" X is one sample of shape {fitted}: give a batch of one, X[np.newaxis] "
               "(or [X] for a list)." if shape == fitted else "")
        raise ValueError(f"X has shape {shape[1:]} per sample, but {type(est).__name__} was "
                         f"fitted with {fitted}.{one}")


def _sample_shape_first(est, X):
    """Name the sample shapes where X or the fit's X has more than 2 dimensions (steps,
    rows), before scikit-learn counts ``X.shape[1]`` as features ("X has 5 features")."""
    shape = getattr(X, "shape", None)
    if shape is None and isinstance(X, (list, tuple)) and len(est.X_shape_) > 2:
        try:  # nested lists (JSON rows, .tolist()): their shape, where they have one
            shape = np.shape(X)
        except ValueError:  # (ragged: check_array names it)
            return
    if len(shape or ()) >= 2 and max(len(shape), len(est.X_shape_)) > 2:
        check_sample_shape(est, X, shape)


def validate_targets(y, y_numeric):
    """y checked as scikit-learn checks it beside an X, sparse rows made dense."""
    with errors.explained_target_errors(y):
        y = check_array(y, input_name="y", **_TARGET_PARAMS[y_numeric])
    return y.toarray() if issparse(y) else y


def validate_X(est, X, fitted=True):
    """X checked for prediction against what the fit saw (``fitted`` False:
    during the fit itself, which has recorded X's shape already)."""
    if fitted:
        check_is_fitted(est)
    if is_named_inputs(X):
        return _validate_inputs(est, X, reset=False, fitting=False)
    _check_one_array_fitted(est)
    if isinstance(X, RowSource):
        check_sample_shape(est, X)
        return X
    _sample_shape_first(est, X)
    if mapped(X):
        X = validate_data(est, X, reset=False, allow_nd=True, **x_params(est, X, False))
        check_sample_shape(est, X)
        _check_finite_in_blocks(est, X)
    elif _plain_float_array(est, X):
        pass
    elif (plain := _plain_float_frame(est, X)) is not None:
        X = plain
    else:
        with errors.explained_input_errors(X, **_ragged(est)):
            X = validate_data(est, X, reset=False, dtype=x_dtype(est, X, False),
                              allow_nd=True, accept_sparse=_sparse(est))
        check_sample_shape(est, X)
    return check_same_dtype(est, X, fitting=False)


def _passes_checks(est, X):
    """Whether the ndarray X is float, shaped as in fit and finite: every
    check ``validate_data`` would make, at a fraction of its cost."""
    return (
        X.dtype in FLOATS
        and X.shape[1:] == tuple(est.X_shape_[1:])
        and X.shape[0] > 0
        and X.ndim >= 2
        and bool(np.isfinite(X).all())
    )


def _plain_float_array(est, X):
    """Whether X is a float ndarray that needs no conversion and passes every
    check (the estimator was not fitted on named columns)."""
    return type(X) is np.ndarray and "feature_names_in_" not in est.__dict__ and (
        _passes_checks(est, X)
    )


def _plain_float_frame(est, X):
    """X as an array when it is a DataFrame of float columns named exactly as
    in fit that passes every check; else None."""
    names = est.__dict__.get("feature_names_in_")
    if names is None or not isinstance(X, pd.DataFrame) or X.shape[1] != len(names):
        return None
    if any(a != b for a, b in zip(X.columns, names)):
        return None
    if any(dtype not in FLOATS for dtype in X.dtypes):
        return None
    array = X.to_numpy()
    return array if _passes_checks(est, array) else None


def normalised_weights(sample_weight, X, scale=None):
    """Sample weights scaled to mean 1 (what Keras averages the loss over), or
    by ``scale`` when given; the mean of the weights as given; the factor."""
    sw = check_sample_weight(sample_weight, X, ensure_non_negative=True)
    top = sw.max(initial=0.0)
    if not top > 0:
        raise ValueError("sample_weight sums to zero: no sample would be learned from.")
    relative = sw / top  # (weights of 1e307 summed to inf, and were all scaled to 0)
    mean = relative.mean()
    if scale is None:
        return relative / mean, float(mean * top), float(1 / (mean * top))
    return sw * scale, float(mean * top), float(scale)
