"""Problem-type detection and the metrics of each problem type: plain NumPy,
pandas and scikit-learn, nothing drawn."""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.base import is_classifier, is_regressor
from sklearn.utils.multiclass import type_of_target

from ..utils._labels import DIVERGED, unique_labels
from ..utils._text import listed

PROBLEM_TYPES = ("binary", "multiclass", "multilabel", "regression")


@dataclass
class Evaluation:
    """Everything :func:`evaluate` computed, before anything is drawn."""

    problem_type: str
    y_true: np.ndarray
    y_pred: np.ndarray
    metrics: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    labels: np.ndarray | None = None
    pos_label: object = None
    scores: np.ndarray | None = None
    score_source: str | None = None
    per_class: pd.DataFrame | None = None
    per_output: pd.DataFrame | None = None
    confusion_matrix: np.ndarray | None = None
    classification_report: str | None = None


def _estimator_type(estimator):
    """Return ``"classifier"``, ``"regressor"`` or None from the estimator's tags."""
    try:  # (no tags: not a scikit-learn estimator, which scikit-learn 1.7 warns of)
        if hasattr(estimator, "__sklearn_tags__") and is_classifier(estimator):
            return "classifier"
        if hasattr(estimator, "__sklearn_tags__") and is_regressor(estimator):
            return "regressor"
    except AttributeError:
        pass
    return None


def detect_problem_type(estimator, y):
    """Name the problem an estimator solves on targets ``y``.

    Parameters
    ----------
    estimator : estimator instance
        A fitted estimator. Its tags (``is_classifier`` / ``is_regressor``)
        decide first; the targets decide when the tags are silent.

    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True targets.

    Returns
    -------
    problem_type : {"binary", "multiclass", "multilabel", "regression"}

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression, Ridge
    >>> from keraslearn.evaluation import detect_problem_type
    >>> detect_problem_type(LogisticRegression(), ["a", "b", "c"])
    'multiclass'
    >>> detect_problem_type(Ridge(), [1, 0, 1])
    'regression'
    """
    kind = _estimator_type(estimator)
    if kind == "regressor":
        return "regression"
    target = type_of_target(y)
    if kind is None and target.startswith("continuous"):
        return "regression"
    if target == "multilabel-indicator":
        from ._evaluate import _one_hot_classes  # (that module imports this one)

        dense = y.toarray() if hasattr(y, "toarray") else np.asarray(y)  # (sparse rows too)
        classes = _one_hot_classes(estimator, dense)  # one-hot rows of classes
        return "multilabel" if classes is None else (
            "binary" if len(classes) <= 2 else "multiclass")
    if target not in ("binary", "multiclass"):
        raise ValueError(
            f"Cannot evaluate a classifier on targets of type {target!r}; "
            "expected binary, multiclass or multilabel-indicator targets."
        )
    return "binary" if len(known_labels(estimator, y)) <= 2 else "multiclass"


def known_labels(estimator, *ys):
    """The labels of ``ys`` (as :func:`~sklearn.utils.multiclass.unique_labels`)
    and the estimator's single-output ``classes_``, sorted."""
    labels = unique_labels(*ys)
    classes = getattr(estimator, "classes_", None)
    if classes is not None and np.ndim(classes) == 1:
        classes = np.asarray(classes)
        kinds = {isinstance(label, str) for label in (*classes.tolist(), *labels.tolist())}
        if len(kinds) > 1:  # union1d would turn the numbers into strings
            raise ValueError(
                f"y holds {'strings' if isinstance(labels[0], str) else 'numbers'} as labels, "
                f"but the estimator's classes are [{listed(classes.tolist(), 5)}]: give y in "
                "the labels it "
                "was fitted on.")
        labels = np.union1d(classes, labels)
    return labels


def _match_shape(y_pred, y_true, what="predict"):
    """Reshape ``y_pred`` like ``y_true`` ((n, 1) and (n,) are interchangeable)."""
    y_pred = np.asarray(y_pred)
    if y_pred.shape == y_true.shape:
        return y_pred
    if y_pred.size == y_true.size and y_pred.shape[:1] == y_true.shape[:1]:
        return y_pred.reshape(y_true.shape)
    raise ValueError(
        f"{what} returned an array of shape {y_pred.shape}, which does not "
        f"match the targets of shape {y_true.shape}."
    )


def _response(estimator, X):
    """Return ``(method_name, scores)`` from predict_proba, else decision_function."""
    for method in ("predict_proba", "decision_function"):
        if hasattr(estimator, method):
            return method, getattr(estimator, method)(X)
    return None, None


def _pairwise(estimator):
    """Whether the fitted estimator that scores (a pipeline's last step, a
    search's best estimator, a stack's final one) gives one-vs-one decision
    scores (scikit-learn's SVC and NuSVC): with 3 classes their 3 columns
    would pass for one score per class. Meta-estimators that hand on one
    fitted estimator's scores (``estimator_``: self-training, bagging's
    template) and a FrozenEstimator are looked through."""
    from sklearn.frozen import FrozenEstimator

    while True:
        if hasattr(estimator, "best_estimator_"):
            estimator = estimator.best_estimator_
        elif hasattr(estimator, "final_estimator_"):  # stacking
            estimator = estimator.final_estimator_
        elif isinstance(getattr(estimator, "steps", None), list) and estimator.steps:
            estimator = estimator.steps[-1][1]
        elif hasattr(estimator, "estimator_"):
            estimator = estimator.estimator_
        elif isinstance(estimator, FrozenEstimator):
            estimator = estimator.estimator
        else:
            return getattr(estimator, "decision_function_shape", None) == "ovo"


def _auc(y_bin, score, sample_weight):
    """ROC AUC of one binary problem, or NaN when one class is absent."""
    if np.unique(y_bin).size < 2:
        return np.nan
    return float(skm.roc_auc_score(y_bin, score, sample_weight=sample_weight))


def _score_columns(raw, estimator, labels, problem_type):
    """Arrange raw classifier scores as one column per label, or return None."""
    if isinstance(raw, list):  # multi-output predict_proba: one (n, 2) per label
        raw = np.column_stack([np.asarray(p)[:, -1] for p in raw])
    raw = np.asarray(raw, dtype=float)
    if raw.ndim == 1:
        raw = raw[:, None]
    if problem_type == "multilabel":
        return raw if raw.shape[1] == len(labels) else None
    classes = getattr(estimator, "classes_", None)
    if problem_type == "binary" and raw.shape[1] == 1:
        # scikit-learn's rule: a single score is that of classes_[1] (the greater
        # class when classes_ is sorted, as scikit-learn's estimators keep it).
        positive = classes[1] if classes is not None and np.ndim(classes) == 1 and len(
            classes) == 2 else labels[-1]
        return np.column_stack([-raw[:, 0], raw[:, 0]] if positive == labels[-1]
                               else [raw[:, 0], -raw[:, 0]])
    if classes is None or np.ndim(classes) != 1 or len(classes) != raw.shape[1]:
        return raw if raw.shape[1] == len(labels) else None
    columns = np.full((raw.shape[0], len(labels)), np.nan)
    for i, label in enumerate(labels):
        match = np.flatnonzero(np.asarray(classes) == label)
        if match.size:
            columns[:, i] = raw[:, match[0]]
    return columns


def classification_metrics(
    estimator, X, y_true, y_pred, problem_type, *, sample_weight=None,
    labels=None, pos_label=None, zero_division="warn",
):
    """Compute the metrics of a classification problem.

    Returns an :class:`Evaluation`; ``labels`` name the output columns of a
    multilabel problem and default to the classes found otherwise.
    """
    result = Evaluation(problem_type, y_true, _match_shape(y_pred, y_true))
    y_pred, sw, zd = result.y_pred, sample_weight, zero_division
    m = result.metrics
    if problem_type == "multilabel":
        labels = np.arange(y_true.shape[1]) if labels is None else np.asarray(labels)
        average_args = {}
    else:
        present = unique_labels(y_true, y_pred)
        labels = known_labels(estimator, present)
        average_args = {"labels": present}
        absent = np.setdiff1d(labels, present)
        if absent.size:
            result.notes.append(
                f"Classes {listed(absent.tolist(), as_text=str)} are neither in y nor predicted: "
                "listed in the per-class table and the confusion matrix, left out of "
                "the averages and the classification report, as scikit-learn leaves them.")
    result.labels = labels
    m["accuracy"] = float(skm.accuracy_score(y_true, y_pred, sample_weight=sw))
    averaged = dict(sample_weight=sw, zero_division=zd, **average_args)
    if problem_type == "binary":
        # A pos_label given is one of the labels: evaluate checked it before predicting.
        pos_label = labels[-1] if pos_label is None else pos_label
        result.pos_label = pos_label
        m["balanced_accuracy"] = float(
            skm.balanced_accuracy_score(y_true, y_pred, sample_weight=sw))
        p, r, f, _ = skm.precision_recall_fscore_support(  # (indicators: labels may be dates)
            np.asarray(y_true) == pos_label, np.asarray(y_pred) == pos_label,
            average="binary", pos_label=True, **averaged)
        m.update(precision=float(p), recall=float(r), f1=float(f))
    else:
        if problem_type == "multiclass":
            m["balanced_accuracy"] = float(
                skm.balanced_accuracy_score(y_true, y_pred, sample_weight=sw))
        else:
            m["hamming_loss"] = float(skm.hamming_loss(y_true, y_pred, sample_weight=sw))
        for average in ("macro", "weighted", "micro"):
            if average == "micro" and problem_type == "multiclass":
                continue  # equals accuracy
            p, r, f, _ = skm.precision_recall_fscore_support(
                y_true, y_pred, average=average, **averaged)
            m.update({f"precision_{average}": float(p),
                      f"recall_{average}": float(r), f"f1_{average}": float(f)})
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, average=None, **averaged)
    index_name = "label" if problem_type == "multilabel" else "class"
    per_class = pd.DataFrame(
        {"precision": p, "recall": r, "f1": f, "support": s},
        index=pd.Index(labels if problem_type == "multilabel" else present, name=index_name),
    )
    if len(per_class) < len(labels):  # a class neither in y nor predicted: its 0/0 scores
        undefined = 0.0 if isinstance(zd, str) else float(zd)
        per_class = per_class.reindex(pd.Index(labels, name=index_name), fill_value=undefined)
        per_class.loc[~per_class.index.isin(present), "support"] = 0
    if sw is None:
        per_class["support"] = per_class["support"].astype(int)
    if problem_type == "multilabel":
        result.confusion_matrix = skm.multilabel_confusion_matrix(y_true, y_pred, sample_weight=sw)
        names = {"target_names": [str(label) for label in labels]}
    else:
        result.confusion_matrix = skm.confusion_matrix(
            y_true, y_pred, labels=labels, sample_weight=sw)
        names = {}
    result.classification_report = skm.classification_report(
        y_true, y_pred, digits=4, **averaged, **names)
    leave_out_undefined(result, "with zero_division=nan (a class never predicted or never "
                        "present)")
    _roc_auc(estimator, X, result, per_class, sw)
    result.per_class = per_class
    return result


def leave_out_undefined(result, why):
    """Remove the NaN metrics of ``result``, named in a note that says ``why``."""
    undefined = [key for key, value in result.metrics.items() if np.isnan(value)]
    for key in undefined:
        del result.metrics[key]
    if undefined:
        result.notes.append(f"Left out: {', '.join(undefined)}, undefined here {why}.")


def _roc_auc(estimator, X, result, per_class, sample_weight):
    """Add ROC AUC (binary, or one-vs-rest macro) to ``result`` when scores exist."""
    method, raw = _response(estimator, X)
    if method is None:
        result.notes.append("ROC AUC skipped: the estimator has neither "
                            "predict_proba nor decision_function.")
        return
    if not all(np.isfinite(np.asarray(part, dtype=float)).all()
               for part in (raw if isinstance(raw, list) else [raw])):
        result.notes.append(f"ROC AUC skipped: {method} returned NaN or infinite scores.")
        return
    if method == "decision_function" and result.problem_type == "multiclass" and _pairwise(
            estimator):
        result.notes.append("ROC AUC skipped: decision_function returned one-vs-one scores "
                            "(decision_function_shape='ovo'), one per pair of classes.")
        return
    scores = _score_columns(raw, estimator, result.labels, result.problem_type)
    if scores is None:
        result.notes.append(f"ROC AUC skipped: {method} returned {np.shape(raw)} "
                            f"scores, which do not match the {len(result.labels)} labels.")
        return
    result.scores, result.score_source = scores, method
    y_true = result.y_true
    if result.problem_type == "binary":
        column = int(np.flatnonzero(result.labels == result.pos_label)[0])
        value = _auc(y_true == result.pos_label, scores[:, column], sample_weight)
        if np.isnan(value):
            one = len(np.unique(y_true)) < 2
            result.notes.append("ROC AUC skipped: y contains only one class." if one else
                                "ROC AUC skipped: one class has no weight in sample_weight.")
        else:
            result.metrics["roc_auc"] = value
        return
    if result.problem_type == "multilabel":
        columns = [y_true[:, i] for i in range(len(result.labels))]
    else:
        columns = [y_true == label for label in result.labels]
    aucs = np.array([  # a column of NaN: a label that is not one of the estimator's classes
        np.nan if np.isnan(scores[:, i]).any() else _auc(col, scores[:, i], sample_weight)
        for i, col in enumerate(columns)
    ])
    per_class["roc_auc"] = aucs
    if np.isnan(aucs).all():
        result.notes.append("ROC AUC skipped: no class has both positive and "
                            "negative samples in y.")
        return
    key = "roc_auc_ovr" if result.problem_type == "multiclass" else "roc_auc_macro"
    result.metrics[key] = float(np.nanmean(aucs))
    if np.isnan(aucs).any():
        missing = [str(label) for label, a in zip(result.labels, aucs) if np.isnan(a)]
        result.notes.append(f"{key} averages the classes where it is defined; "
                            f"undefined for {listed(missing, as_text=str)}.")


def _pearson(y_true, y_pred, sample_weight):
    """Weighted Pearson correlation of two 1-D arrays; NaN when one is constant where weighed."""
    w = np.ones_like(y_true, dtype=float) if sample_weight is None else sample_weight
    y_true, y_pred, w = y_true[w != 0], y_pred[w != 0], w[w != 0]
    if not len(w) or np.ptp(y_true) == 0 or np.ptp(y_pred) == 0:
        return np.nan
    dt = y_true - np.average(y_true, weights=w)
    dp = y_pred - np.average(y_pred, weights=w)
    var_t, var_p = np.average(dt**2, weights=w), np.average(dp**2, weights=w)
    if var_t <= 0 or var_p <= 0:
        return np.nan
    return float(np.clip(np.average(dt * dp, weights=w) / np.sqrt(var_t * var_p), -1, 1))


def regression_metrics(y_true, y_pred, *, sample_weight=None, output_names=None):
    """Compute MAE, MSE, RMSE, R² and Pearson's r (per output when several).

    Returns an :class:`Evaluation`.
    """
    y_true = np.asarray(y_true, dtype=float)
    if y_true.ndim == 2 and y_true.shape[1] == 1:
        y_true = y_true.ravel()
    y_pred = _match_shape(np.asarray(y_pred, dtype=float), y_true)
    bad = ~np.isfinite(y_pred.reshape(len(y_pred), -1)).all(axis=1)
    if bad.any():
        raise ValueError(
            f"predict returned NaN or infinite values for {int(bad.sum())} of {len(bad)} "
            f"rows (row {int(np.flatnonzero(bad)[0])} first), so no metric is defined: the "
            f"model's weights or those rows' inputs are not finite, or values inside the "
            f"network overflowed ({DIVERGED}).")
    result, sw = Evaluation("regression", y_true, y_pred), sample_weight
    y_t2, y_p2 = y_true.reshape(len(y_true), -1), y_pred.reshape(len(y_pred), -1)
    table = pd.DataFrame({
        "mae": skm.mean_absolute_error(y_t2, y_p2, sample_weight=sw, multioutput="raw_values"),
        "mse": skm.mean_squared_error(y_t2, y_p2, sample_weight=sw, multioutput="raw_values"),
        "rmse": skm.root_mean_squared_error(y_t2, y_p2, sample_weight=sw, multioutput="raw_values"),
        "r2": skm.r2_score(y_t2, y_p2, sample_weight=sw, multioutput="raw_values"),
        "pearson_r": [_pearson(y_t2[:, j], y_p2[:, j], sw) for j in range(y_t2.shape[1])],
    })
    for column in ("mae", "mse", "rmse", "r2"):
        result.metrics[column] = float(table[column].mean())
    constant = table["pearson_r"].isna()
    # Targets of ~1e155 and more: squares past float64's range, not fewer samples.
    with np.errstate(over="ignore", invalid="ignore"):
        squares = np.concatenate([table["mse"], np.var(y_t2, axis=0), np.var(y_p2, axis=0)])
    overflow = ("the squares of the targets or errors overflow float64: rescale the targets"
                if np.isinf(squares).any() else None)
    if constant.all():
        result.notes.append("Pearson correlation skipped: "
                            + (overflow or "the targets or the predictions are constant."))
    else:
        result.metrics["pearson_r"] = float(table["pearson_r"].mean())
        if constant.any():
            outputs = range(len(table)) if output_names is None else output_names
            result.notes.append(
                "pearson_r averages the outputs where it is defined; undefined (constant "
                "targets or predictions) for "
                f"{', '.join(str(n) for n, c in zip(outputs, constant) if c)}.")
    leave_out_undefined(result, f"({overflow or 'R² needs two samples or more'})")
    if y_true.ndim == 2:
        names = output_names if output_names is not None else range(y_true.shape[1])
        table.index = pd.Index([str(n) for n in names], name="output")
        result.per_output = table
        result.labels = np.asarray(table.index)
    return result
