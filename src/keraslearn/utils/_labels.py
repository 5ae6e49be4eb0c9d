"""Class labels and label-indicator rows, checked as scikit-learn checks them
(the targets :class:`~._label_encoder.ClassifierLabelEncoder` takes)."""

import contextlib
import datetime
import warnings

import numpy as np
import sklearn
from packaging.version import Version
from scipy.sparse import issparse
from scipy.special import expit
from sklearn.utils import check_array, multiclass
from sklearn.utils.multiclass import type_of_target

from ._text import listed


def not_one_hot(y, n_classes):
    """The refusal of ``y`` (an array) that is not one-hot rows of ``n_classes``
    columns, as the first fit's were."""
    text = (f"y must be one-hot rows of {n_classes} columns, as in the first fit; got shape "
            f"{y.shape}")
    if y.ndim != 2:
        return text + "."
    several = np.isin(y, (0, 1)).all() and (np.asarray(y).sum(axis=1) > 1).any()
    if y.shape[1] != n_classes or not several:
        return text + " with rows that are not one-hot."
    return text + (
        " with rows that are not one-hot (rows of several labels: the first fit's rows each "
        "held one, so they were read as one-hot classes, as scikeras reads them. For "
        "multilabel targets, give a subclass of the estimator a target_encoder of "
        "keraslearn.utils.transformers.ClassifierLabelEncoder(indicator_rows='multilabel'), "
        "or use MLPClassifier).")


def one_hot_rows(y):
    """Whether ``y`` is a 2-D 0/1 array of two or more columns with a single 1 per row."""
    return (
        y.ndim == 2 and y.shape[1] >= 2 and bool(np.isin(y, (0, 1)).all())
        and bool((y.sum(axis=1) == 1).all())
    )


def encoder_classes(encoder, classes):
    """The classes a :class:`ClassifierLabelEncoder` is given: ``classes``
    (partial_fit's), else its ``categories`` ("auto": those of y; else a list
    of one array of them, as OneHotEncoder takes them); its ``indicator_rows``
    checked too (a mistyped one was taken for "multilabel")."""
    from ._validation import OneOf, validate_parameters

    validate_parameters(encoder, {"indicator_rows": [OneOf("onehot", "multilabel")]})
    categories = encoder.categories
    if classes is not None or isinstance(categories, str) and categories == "auto":
        return classes
    if not (isinstance(categories, (list, tuple, np.ndarray)) and len(categories) == 1
            and np.ndim(categories[0]) == 1):
        raise ValueError("categories must be 'auto' or a list of one array of the classes "
                         f"([['a', 'b', 'c']]), got {repr(categories)[:200]}.")
    return np.asarray(categories[0])


def indicator_rows(y):
    """Label-indicator rows as ints, refused when they hold other values than 0 and 1
    (two other integers pass for indicators with scikit-learn's type_of_target)."""
    y = y.toarray() if issparse(y) else y
    if not np.isin(y, (0, 1)).all():
        bad = np.unique(y[~np.isin(y, (0, 1))])[:5].tolist()
        raise ValueError(f"Multilabel targets are rows of 0 and 1 (one column per label); "
                         f"y holds {bad}.")
    return y.astype(int, copy=False)


# scikit-learn 1.7's type_of_target warns that a target of more classes than half its
# samples may be a regression one; from 1.8 on it gives no such warning.
_WARNS_OF_LISTED_LABELS = Version(sklearn.__version__).release < (1, 8)


@contextlib.contextmanager
def _labels_listed():
    """A context in which that warning is not given: a list of labels (each once)
    is no target. Where it is never given, the context changes nothing (warning
    filters are the process's, not a thread's)."""
    if not _WARNS_OF_LISTED_LABELS:
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The number of unique classes is greater than 50%",
                                UserWarning)
        yield


def unique_labels(*ys):
    """:func:`sklearn.utils.multiclass.unique_labels`, of labels listed once each
    too (see :func:`_labels_listed`)."""
    with _labels_listed():
        return multiclass.unique_labels(*ys)


def class_labels(classes):
    """``classes`` of a first partial_fit, sorted: a 1-D array of class labels."""
    classes = np.asarray(classes)
    if classes.ndim != 1:
        raise ValueError(f"classes must be a 1-D array of class labels; got shape "
                         f"{classes.shape}.")
    with _labels_listed():
        kind = type_of_target(classes, input_name="classes")
    if kind not in ("binary", "multiclass"):
        raise ValueError(f"classes must be class labels (strings, integers, booleans); got "
                         f"values of type {kind!r}: {classes.tolist()[:5]}.")
    return np.unique(classes)


def as_array(y):
    """Targets as one ndarray: a pandas object's values, a sparse matrix dense.
    A DataFrame's columns are read as ``check_array`` reads them at fit: nullable
    ones (``boolean``, ``Int64``) as numbers, not as objects, which scikit-learn's
    metrics do not take for label-indicator rows."""
    if issparse(y):
        return y.toarray()
    if hasattr(y, "iloc") and getattr(y, "ndim", 1) == 2:
        y = check_array(y, accept_sparse=True, dtype=None, ensure_2d=False,
                        ensure_all_finite=False, ensure_min_samples=0, ensure_min_features=0,
                        input_name="y")
        return y.toarray() if issparse(y) else y
    return y.to_numpy() if hasattr(y, "iloc") else np.asarray(y)


def probabilities(raw, mode, from_logits):
    """A classifier network's outputs as probabilities, (n, n_classes) or (n,
    n_labels), for the encoding ``mode``; outputs that are no probabilities (NaN,
    a sigmoid's outside [0, 1], a softmax row with no positive value) refused.
    One float64 copy of ``raw`` is made and worked on in place (a network's
    output of many classes was held five times over)."""
    raw = np.array(raw, dtype="float64")  # (a copy: ``raw`` may be the caller's own)
    if mode == "binary" and from_logits:
        # Each class's from the logit: 1 - p is 0 past a logit of ~37 in float64
        refuse_nan(raw.reshape(len(raw), -1))
        logit = raw.reshape(-1)
        return np.column_stack([expit(-logit), expit(logit)])
    if mode in ("binary", "multilabel"):
        p = raw
        if from_logits:  # (in place; np.exp of a logit past -709 warned of overflow)
            expit(raw, out=raw)
        refuse_nan(p.reshape(len(p), -1))
        outside = (p < 0.0) | (p > 1.0)
        if outside.any():
            raise ValueError(
                f"The model's outputs for {int(outside.reshape(len(p), -1).any(axis=1).sum())} "
                f"of {len(p)} rows are outside [0, 1] ({float(p[outside].flat[0])!r} first), "
                "so they are not probabilities: end the model with a sigmoid activation, or "
                "compile it with a loss given from_logits=True.")
        if mode == "multilabel":
            return p
        p = p.reshape(-1)
        return np.column_stack([1.0 - p, p])
    if from_logits:
        raw -= raw.max(axis=1, keepdims=True)
        np.exp(raw, out=raw)
    else:
        # float32 softmax rows sum to 1 only to ~1e-7; scikit-learn's
        # metrics expect float64 accuracy.
        np.clip(raw, 0.0, None, out=raw)
    total = raw.sum(axis=1, keepdims=True)
    refuse_nan(total)
    if not (total > 0).all():
        raise ValueError(
            "The model's outputs for some rows have no positive value, so they are "
            "not probabilities: end the model with a softmax activation, or compile "
            "it with a loss given from_logits=True."
        )
    raw /= total
    return raw


# Why finite weights and inputs give outputs that are not (a float32 network
# whose weights grew to ~1e19 in three epochs of too large a learning rate).
DIVERGED = "a fit that diverged, its weights grown huge: fit again with a smaller learning rate"


def refuse_nan(values, who="The model", why=""):
    """Refuse the rows of ``values`` (2-D) holding NaN, which no label or
    probability can be read from; ``why`` adds another cause to the message."""
    rows = np.flatnonzero(np.isnan(values).any(axis=1))
    if rows.size:
        raise ValueError(
            f"{who}'s outputs are NaN for {rows.size} of {len(values)} rows (row "
            f"{rows[0]} first): its weights, or those rows' inputs, are not finite{why}; "
            f"or values inside the network overflowed ({DIVERGED}).")


def check_outputs(raw, expected, fitted, one_of_two=False):
    """Refuse a network's outputs ``raw`` of another width than the ``expected``
    it was fitted with (``fitted`` says what on): its outputs changed since the
    fit (a layer popped or added). ``one_of_two``: one column stands for two
    classes too."""
    width = int(np.prod(np.shape(raw)[1:]))
    if np.ndim(raw) > 1 and width != expected and not (one_of_two and expected == 2
                                                        and width == 1):
        raise ValueError(
            f"The network outputs {width} value(s) a sample, but it was fitted on {fitted}: "
            "predictions are read from its outputs, which changed since its fit (a layer "
            "popped or added). Read a changed network's outputs with model_.predict.")


def class_codes(classes, labels):
    """The positions of ``labels`` (each one of them) among the sorted ``classes``."""
    labels = np.asarray(labels)
    if labels.dtype != classes.dtype and labels.dtype.kind in "iu" and classes.dtype.kind in "iu":
        # (each a class: of the classes' dtype) uint64 against int64 compared as
        # floats, 2**62 + 1 as 2**62: every such label the first class.
        labels = labels.astype(classes.dtype)
    return np.searchsorted(classes, labels)


def one_hot(codes, n_classes, dtype):
    """Rows of ``n_classes`` zeros with a one at each code (``np.eye(n)[codes]``
    made an n x n matrix first: 1.5 GiB for 20,000 classes)."""
    rows = np.zeros((len(codes), n_classes), dtype=dtype)
    rows[np.arange(len(codes)), codes] = 1
    return rows


def check_known(y, classes):
    """Refuse labels ``y`` that are not among ``classes``."""
    unseen = np.setdiff1d(np.unique(y), classes)
    if len(unseen):
        raise ValueError(f"y contains labels not in classes: [{listed(unseen.tolist())}] "
                         f"(known classes: [{listed(np.asarray(classes).tolist())}]).")


def date_label(value, dtype):
    """``value`` (np.datetime64, datetime.date, pd.Timestamp, a duration, or
    their text) as a label of the date or duration ``dtype``, a NumPy scalar,
    where that unit holds it exactly (noon is no day); None otherwise (other
    values, an index say, are no dates)."""
    if dtype.kind not in "mM" or not isinstance(value, (
            np.datetime64, np.timedelta64, datetime.date, datetime.timedelta, str)):
        return None
    try:  # (at pandas' finest unit, where NumPy's own unit is not given)
        given = np.asarray(value)
        given = given if given.dtype.kind in "mM" else given.astype(f"{dtype.kind}8[ns]")
        label = given.astype(dtype)[()]
    except (TypeError, ValueError, OverflowError):
        return None  # (beyond ns, say)
    return label if label == given else None
