"""The :func:`evaluate` entry point: validate, predict, measure, draw, write."""

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from .._multi_input import MultiInput, is_named_inputs
from ..utils._columns import is_polars_frame
from ..utils._files import (
    check_new_files,
    check_output_dir,
    not_a_page_of_another_report,
    remove_unwritten,
    slug,
    staged,
)
from ..utils._input_errors import refuse_streams
from ..utils._labels import date_label
from ..utils._text import cut
from ..utils._validation import is_number
from ._metrics import (
    _estimator_type,
    classification_metrics,
    detect_problem_type,
    known_labels,
    regression_metrics,
)
from ._plots import FIGURES, draw_figures
from ._report import EvaluationReport


def check_report_files(output_dir, name, overwrite):
    """Where :func:`evaluate` may write, ``({figure: png path}, html path)``;
    existing files there refused unless ``overwrite`` (before any work)."""
    stem = slug(name) or "model"
    figures = {key: output_dir / f"{stem}_{key}.png" for key in FIGURES}
    html_path = output_dir / f"{stem}_report.html"
    check_new_files([*figures.values(), html_path], overwrite,
                    not_a_page_of_another_report("evaluation"))
    return figures, html_path


def _check_sample_weight(sample_weight):
    if sample_weight is None:
        return None
    sample_weight = np.asarray(sample_weight, dtype=float)
    if sample_weight.ndim != 1:
        raise ValueError(f"sample_weight must be 1-D, got shape {sample_weight.shape}.")
    if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
        raise ValueError("sample_weight must be finite and non-negative.")
    if not sample_weight.sum() > 0:
        raise ValueError("sample_weight sums to zero: no sample would be evaluated.")
    return sample_weight


def _check_zero_division(zero_division):
    if isinstance(zero_division, str) and zero_division == "warn":
        return
    if isinstance(zero_division, numbers.Real) and (
            zero_division in (0, 1) or np.isnan(zero_division)):
        return
    raise ValueError(
        f"zero_division must be 'warn', 0.0, 1.0 or np.nan, got {zero_division!r}.")


def _check_fitted(estimator):
    """scikit-learn's check, which reads tags; for an estimator without them
    (not a BaseEstimator: "any fitted estimator" is evaluated), its own rule:
    ``__sklearn_is_fitted__``, else attributes ending in ``_``."""
    if hasattr(estimator, "__sklearn_tags__"):
        return check_is_fitted(estimator)
    is_fitted = getattr(estimator, "__sklearn_is_fitted__", None)
    slots = [(s,) if isinstance(s, str) else s for s in (  # (slots hold no __dict__)
        vars(cls).get("__slots__", ()) for cls in type(estimator).__mro__)]
    names = [*getattr(estimator, "__dict__", ()),
             *(n for group in slots for n in group if hasattr(estimator, n))]
    fitted = is_fitted() if is_fitted is not None else any(
        name.endswith("_") and not name.startswith("__") for name in names)
    if not fitted:
        raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet: "
                             "fit it before evaluating it.")


def _regression_targets(y):
    """Regression targets as floats, refused (before predicting) when not numbers."""
    try:
        y = np.asarray(y, dtype=float)
    except (TypeError, ValueError):
        example = next(v for v in np.ravel(y).tolist() if not is_number(v))
        raise ValueError(f"y holds values that are not numbers (e.g. {example!r}); a "
                         "regressor is evaluated on numeric targets.") from None
    assert_all_finite(y, input_name="y")
    return y


def _final_estimator(estimator):
    """The estimator that predicts at the end of pipelines, fitted searches and
    the meta-estimators predicting with their fitted ``estimator_`` (RFE,
    self-training, a threshold's; not an ensemble's: the template it cloned)."""
    from sklearn.ensemble import BaseEnsemble
    from sklearn.pipeline import Pipeline

    while True:
        if hasattr(estimator, "best_estimator_"):
            estimator = estimator.best_estimator_
        elif isinstance(estimator, Pipeline):
            estimator = estimator[-1]
        elif hasattr(estimator, "estimator_") and not isinstance(estimator, BaseEnsemble):
            estimator = estimator.estimator_
        else:
            return estimator


def _one_hot_classes(estimator, y):
    """The classes of a classifier fitted on one-hot rows (a keraslearn wrapper's
    ``target_type_ == "multiclass-onehot"``, scikeras' rule) when ``y`` holds such
    rows; None otherwise. Such targets are classes, not labels."""
    final = _final_estimator(estimator)
    if getattr(final, "target_type_", None) != "multiclass-onehot":
        return None
    classes = np.asarray(final.classes_)
    if y.ndim == 2 and y.shape[1] == len(classes) and np.isin(y, (0, 1)).all() and (
            y.sum(axis=1) == 1).all():
        return classes
    return None


def _check_target_columns(estimator, y):
    """Refuse, before predicting, targets of another shape than the estimator
    was fitted on, where it says (``n_outputs_``; one-hot rows)."""
    final = _final_estimator(estimator)
    name, target = type(final).__name__, getattr(final, "target_type_", None)
    columns = 1 if y.ndim == 1 else int(np.prod(y.shape[1:]))
    if target == "multiclass-onehot":
        n_classes = len(final.classes_)
        if y.shape[1:] == (n_classes,) and y.dtype.kind in "biuf":  # a row not one-hot
            row = int(np.flatnonzero(~(np.isin(y, (0, 1)).all(axis=1) & (y.sum(axis=1) == 1)))[0])
            raise ValueError(f"{name} was fitted on one-hot rows; row {row} of y is not one "
                             f"({cut(str(y[row].tolist()), 60)}): each row holds one 1, the "
                             "rest 0.")
        raise ValueError(f"{name} was fitted on one-hot rows of {n_classes} "
                         f"columns; y has shape {y.shape}: give y as such rows.")
    if target in ("binary", "multiclass") and columns > 1:
        raise ValueError(f"y has {columns} columns, but {name} was fitted on one column of "
                         f"{target} labels: give y as it was fitted.")
    # (a classifier's n_outputs_ counts its output units in scikit-learn's MLP)
    n_outputs = getattr(final, "n_outputs_", None)
    if (target == "multilabel-indicator" or _estimator_type(final) == "regressor") and (
            isinstance(n_outputs, numbers.Integral) and columns != n_outputs):
        raise ValueError(f"y has {columns} column(s), but {name} was fitted on "
                         f"{n_outputs} output(s) (n_outputs_): give y as it was fitted.")


def _pos_label_note(pos_label, estimator, y_true, problem_type):
    """What to say of ``pos_label`` in the report (None: nothing); a binary
    problem's that is neither a class of the estimator nor in y is refused."""
    if pos_label is None:
        return None
    if problem_type != "binary":
        return (f"pos_label={pos_label!r} is used for binary problems only; it is ignored "
                f"for this {problem_type} one.")
    known = known_labels(estimator, y_true)
    if np.ndim(pos_label) != 0 or not (as_label(pos_label, known) == known).any():
        shown = known.astype(str) if known.dtype.kind in "mM" else known  # (not as ints)
        raise ValueError(f"pos_label={pos_label!r} is not one of {shown.tolist()}.")
    return None


def as_label(value, labels):
    """``value`` as a label of ``labels``: a date or duration in their unit
    (:func:`~keraslearn.utils._labels.date_label`), else as it is."""
    label = date_label(value, labels.dtype)
    return value if label is None else label


def _refuse_one_row(X, y):
    """One row given 1-D (an array or list of numbers, and one target): said
    as scikit-learn's predict says it, not as counts of samples that differ
    (other lists are left as given: rows of tokens, images of several sizes)."""
    def rows(a):  # (a sparse matrix has a shape, and no len)
        return a.shape[0] if getattr(a, "shape", None) else len(a) if hasattr(a, "__len__") else 0

    if not (rows(y) == 1 and rows(X) > 1):
        return
    listed = isinstance(X, (list, tuple))  # (of numbers, not of texts of numbers)
    if (getattr(X, "ndim", None) == 1 and getattr(getattr(X, "dtype", None), "kind", None) in
            tuple("biuf")) or (listed and all(isinstance(v, (numbers.Number, np.number))
                                              for v in X)):
        raise ValueError(
            f"X is 1-D ({len(X)} values) but y has 1 sample: give X as rows, "
            f"{'[X]' if listed else 'X.reshape(1, -1)'} for a single sample.")


def _label_item(label):
    """A label as Python's scalar, a date or duration as NumPy's (``item()``
    makes a nanosecond one an int)."""
    label = np.asarray(label)
    return label[()] if label.dtype.kind in "mM" else label.item()


def _dense(y):
    from scipy.sparse import issparse

    return y.toarray() if issparse(y) else y


def evaluate(estimator, X, y, *, sample_weight=None, output_dir=None, name=None,
             pos_label=None, zero_division="warn", output_dict=False, overwrite=False):
    """Evaluate a fitted estimator: metrics, tables, figures and an HTML page.

    The problem type is detected from the estimator's tags and from ``y``
    (see :func:`detect_problem_type`) and decides the metrics:

    - binary: accuracy, balanced accuracy, precision, recall, F1 (of
      ``pos_label``), ROC AUC; per-class table, confusion matrix,
      classification report;
    - multiclass: accuracy, balanced accuracy, macro and weighted
      precision/recall/F1, one-vs-rest macro ROC AUC; per-class table
      (with per-class ROC AUC), confusion matrix, classification report;
      a class of the estimator that is neither in ``y`` nor predicted is
      listed in the table and the matrix, not averaged (as in scikit-learn);
    - multilabel: subset accuracy, Hamming loss, micro/macro/weighted
      precision/recall/F1, macro ROC AUC; per-label table and 2×2 matrices;
    - regression: MAE, MSE, RMSE, R², Pearson's r (averaged over outputs,
      with a per-output table for multi-output targets).

    ROC AUC uses ``predict_proba``, else ``decision_function``, and is
    skipped (with a note) when the estimator has neither. Neither the
    estimator nor the data is modified.

    Parameters
    ----------
    estimator : estimator instance
        A fitted scikit-learn compatible classifier or regressor.

    X : array-like
        Input accepted by ``estimator.predict``; passed through unchanged.

    y : array-like or sparse matrix of shape (n_samples,) or (n_samples, n_outputs)
        True targets. The column names of a DataFrame name the outputs. One-hot
        rows given to a classifier fitted on one-hot rows (a keraslearn
        wrapper's ``target_type_ == "multiclass-onehot"``) are read as its
        classes, as it reads them: a multiclass (or binary) problem.

    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the samples in every metric.

    output_dir : str or path-like, default=None
        Directory (created if needed) where the PNG figures and the HTML page
        are written. When None nothing is drawn or written.

    name : str, default=None
        Name used in titles and file names; the estimator's class name when
        None.

    pos_label : object, default=None
        Positive class of a binary problem; the greater class when None.
        Ignored, with a warning and a note, for other problems (as
        scikit-learn's metrics ignore it when they average).

    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        Value of ill-defined precision, recall and F1, as in scikit-learn.

    output_dict : bool, default=False
        Return ``report.to_dict()`` instead of the report.

    overwrite : bool, default=False
        Replace files of the same names in ``output_dir``. When False an
        existing file (another evaluation's, whose name gives the same file
        names) is refused before the estimator predicts. When True the
        earlier evaluation's figures that this one does not draw are removed
        once this one is written, so that the folder holds one report.

    Returns
    -------
    report : EvaluationReport or dict

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When the estimator is not fitted.

    ValueError
        When ``X``, ``y`` and ``sample_weight`` differ in length, ``y`` is
        empty, ``output_dir`` is an existing file, ``zero_division`` or
        ``pos_label`` is not one it takes, ``y`` holds labels of another kind
        (strings, numbers) than the classifier's classes, has other columns
        than it was fitted on (a keraslearn estimator's or a regressor's
        ``n_outputs_``), names a column twice, or a regressor's ``y`` holds
        what is not a finite number (all before the estimator predicts),
        or a regressor predicts NaN or infinite values.

    FileExistsError
        When a file to write exists and ``overwrite`` is False.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from keraslearn.evaluation import evaluate
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=500).fit(X, y)
    >>> report = evaluate(clf, X, y)
    >>> report.problem_type
    'multiclass'
    >>> round(report.metrics["accuracy"], 2)
    0.97
    >>> report.per_class.shape
    (3, 5)
    """
    _check_fitted(estimator)
    for given, what in ((X, "X"), (y, "y")):
        refuse_streams(given, what)
    _refuse_one_row(X, y)
    # A dict of named inputs (as the wrappers take it) counts rows, not keys.
    rows = MultiInput(X) if is_named_inputs(X) else X
    check_consistent_length(*([rows, y] if sample_weight is None else [rows, y, sample_weight]))
    sample_weight = _check_sample_weight(sample_weight)
    _check_zero_division(zero_division)
    output_dir = check_output_dir(output_dir, drawn_by="evaluate")
    name = type(estimator).__name__ if name is None else str(name)
    output_names = ([str(c) for c in y.columns]  # (polars' too: its names name the outputs)
                    if isinstance(y, pd.DataFrame) or is_polars_frame(y) else None)
    from ..utils._labels import as_array  # (nullable columns as numbers, as fit reads them)

    y_true = np.asarray(as_array(y.set_axis(range(y.shape[1]), axis=1)  # (names: read above)
                                 if isinstance(y, pd.DataFrame) else y))
    if y_true.shape[0] == 0:
        raise ValueError("Cannot evaluate on 0 samples: y is empty.")
    one_hot = _one_hot_classes(estimator, y_true)
    if one_hot is not None:  # one-hot rows of classes, as the classifier reads them
        y_true, output_names = one_hot[y_true.argmax(axis=1)], None
    if output_names is not None and len(set(output_names)) < len(output_names):
        repeated = sorted({n for n in output_names if output_names.count(n) > 1})
        raise ValueError(f"y names its columns {repeated} more than once (names are read as "
                         "text): name each column once, as the report has a row for each.")
    if output_dir is not None:  # every file this name may write, refused before any work
        paths, html_path = check_report_files(output_dir, name, overwrite)
    if one_hot is None:
        _check_target_columns(estimator, y_true)
    problem_type = detect_problem_type(estimator, y_true)
    if problem_type == "regression":  # (classes are checked by detect_problem_type)
        y_true = _regression_targets(y_true)
    elif problem_type != "multilabel" and y_true.ndim == 2:  # a column of labels, as score reads it
        y_true = column_or_1d(y_true)
    ignored = _pos_label_note(pos_label, estimator, y_true, problem_type)
    if ignored is not None:
        warnings.warn(ignored, UserWarning, stacklevel=2)
    y_pred = _dense(estimator.predict(X))
    if one_hot is not None:
        y_pred = one_hot[np.asarray(y_pred).argmax(axis=1)]
    if problem_type == "regression":
        evaluation = regression_metrics(y_true, y_pred, sample_weight=sample_weight,
                                        output_names=output_names)
    else:
        evaluation = classification_metrics(
            estimator, X, y_true, y_pred, problem_type, sample_weight=sample_weight,
            labels=output_names if problem_type == "multilabel" else None,
            pos_label=None if pos_label is None else as_label(pos_label, y_true),
            zero_division=zero_division)
    if ignored is not None:
        evaluation.notes.append(ignored)
    report = EvaluationReport(
        name=name, problem_type=problem_type, n_samples=int(y_true.shape[0]),
        metrics=evaluation.metrics, per_class=evaluation.per_class,
        per_output=evaluation.per_output, confusion_matrix=evaluation.confusion_matrix,
        classes=None if problem_type == "regression" else evaluation.labels,
        pos_label=None if evaluation.pos_label is None else _label_item(evaluation.pos_label),
        classification_report=evaluation.classification_report, notes=evaluation.notes)
    if output_dir is not None:
        with staged([*paths.values(), html_path]) as stage:
            report.figures = draw_figures(estimator, evaluation, {
                key: stage[path] for key, path in paths.items()}, name,
                sample_weight=sample_weight)
            stage[html_path].write_text(report.to_html(), encoding="utf-8")
        report.figures = {key: paths[key] for key in report.figures}
        report.html_path = html_path
        remove_unwritten(paths.values(), report.figures.values())
    return report.to_dict() if output_dict else report
