"""Input checks, all made before TensorFlow runs, and the cheap path for the
common case of predicting on a few float rows.

Training data goes through scikit-learn's ``validate_data`` (which records
``n_features_in_`` and ``feature_names_in_`` as scikit-learn's estimators
do); the shape of a sample is recorded too, since images and other
n-dimensional samples are accepted. At predict time a float ndarray (or a
DataFrame of float columns named as in fit) that passes every check
``validate_data`` would make skips it: on one row its cost would exceed the
network's.
"""

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils import check_sample_weight

_FLOATS = (np.float32, np.float64)


def validate_training_data(est, X, y, *, reset, y_numeric):
    """(X, y) checked for a fit; ``y=None`` is allowed only for estimators
    whose targets are optional (``est._requires_y`` False)."""
    if y is None and not est._requires_y:
        X = validate_data(est, X, reset=reset, dtype=_FLOATS, allow_nd=True)
    else:
        X, y = validate_data(
            est, X, y, reset=reset, dtype=_FLOATS, allow_nd=True,
            multi_output=True, y_numeric=y_numeric,
        )
    if reset:
        est.X_shape_ = X.shape
        est.X_dtype_ = X.dtype
    else:
        check_sample_shape(est, X)
    return X, y


def check_sample_shape(est, X):
    if tuple(X.shape[1:]) != tuple(est.X_shape_[1:]):
        raise ValueError(
            f"X has shape {X.shape[1:]} per sample, but {type(est).__name__} was "
            f"fitted with {tuple(est.X_shape_[1:])}."
        )


def validate_X(est, X):
    """X checked for prediction against what the fit saw."""
    check_is_fitted(est)
    if _plain_float_array(est, X):
        return X
    plain = _plain_float_frame(est, X)
    if plain is not None:
        return plain
    X = validate_data(est, X, reset=False, dtype=_FLOATS, allow_nd=True)
    check_sample_shape(est, X)
    return X


def _passes_checks(est, X):
    """Whether the ndarray X is float, shaped as in fit and finite: every
    check ``validate_data`` would make, at a fraction of its cost."""
    return (
        X.dtype in _FLOATS
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
    if any(dtype not in _FLOATS for dtype in X.dtypes):
        return None
    array = X.to_numpy()
    return array if _passes_checks(est, array) else None


def normalised_weights(sample_weight, X):
    """Sample weights scaled to mean 1 (what Keras averages the loss over),
    and the mean of the weights as given."""
    sw = check_sample_weight(sample_weight, X, ensure_non_negative=True)
    total = sw.sum()
    if not total > 0:
        raise ValueError("sample_weight sums to zero: no sample would be learned from.")
    return sw * (len(sw) / total), float(total / len(sw))
