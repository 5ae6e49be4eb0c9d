"""Class labels and label-indicator rows, checked as scikit-learn checks them
(the targets :class:`~._label_encoder.ClassifierLabelEncoder` takes)."""

import numpy as np
from scipy.sparse import issparse
from sklearn.utils.multiclass import type_of_target


def one_hot_rows(y):
    """Whether ``y`` is a 2-D 0/1 array of two or more columns with a single 1 per row."""
    return (
        y.ndim == 2 and y.shape[1] >= 2 and bool(np.isin(y, (0, 1)).all())
        and bool((y.sum(axis=1) == 1).all())
    )


def indicator_rows(y):
    """Label-indicator rows as ints, refused when they hold other values than 0 and 1
    (two other integers pass for indicators with scikit-learn's type_of_target)."""
    y = y.toarray() if issparse(y) else y
    if not np.isin(y, (0, 1)).all():
        bad = np.unique(y[~np.isin(y, (0, 1))])[:5].tolist()
        raise ValueError(f"Multilabel targets are rows of 0 and 1 (one column per label); "
                         f"y holds {bad}.")
    return y.astype(int, copy=False)


def class_labels(classes):
    """``classes`` of a first partial_fit, sorted: a 1-D array of class labels."""
    classes = np.asarray(classes)
    if classes.ndim != 1:
        raise ValueError(f"classes must be a 1-D array of class labels; got shape "
                         f"{classes.shape}.")
    kind = type_of_target(classes, input_name="classes")
    if kind not in ("binary", "multiclass"):
        raise ValueError(f"classes must be class labels (strings, integers, booleans); got "
                         f"values of type {kind!r}: {classes.tolist()[:5]}.")
    return np.unique(classes)


def as_array(y):
    """Targets as one ndarray: a pandas object's values, a sparse matrix dense."""
    if issparse(y):
        return y.toarray()
    return y.to_numpy() if hasattr(y, "iloc") else np.asarray(y)
