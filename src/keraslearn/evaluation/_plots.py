"""PNG figures for :func:`evaluate`, drawn with scikit-learn's display classes.

matplotlib is imported inside the functions that draw, never at import time.
Figures are created as :class:`matplotlib.figure.Figure` objects on an Agg
canvas, so drawing touches neither pyplot's list of open figures nor the
user's backend.
"""

import contextlib
import threading
import unicodedata
from collections.abc import Mapping

import numpy as np

from .._keras_fit import is_validation_freq, scored_epochs
from ..utils._text import cut, printable

# where a meta-estimator keeps the fitted estimator that trained: a search's
# best one, a self-training classifier's, a transformed-target regressor's
# (not a bagging or boosting ensemble's estimator_: the template it cloned)
_HISTORY_OWNERS = ("best_estimator_", "estimator_", "regressor_")
FIGURES = ("learning_curves", "actual_vs_predicted", "residuals", "confusion_matrix",
           "roc_curve")  # every figure :func:`draw_figures` may draw


_MOST_VALUES = 10  # per epoch of a metric drawn as curves of its own (one per class)


def training_history(estimator):
    """Return the per-epoch training history of an estimator, or None.

    Reads ``history_`` (a dict of per-epoch lists, or a Keras ``History``
    callback), else scikit-learn's ``loss_curve_`` / ``validation_scores_``.
    The last step of a pipeline and the best estimator of a search are
    searched too.

    Parameters
    ----------
    estimator : estimator instance
        A fitted estimator.

    Returns
    -------
    history : dict of str to ndarray, or None
        One 1-D float array per recorded quantity (a metric of several values
        an epoch, such as Keras' ``F1Score(average=None)``, one per value:
        ``"f1_score[0]"``, ..., where it has at most 10; one of more values is
        left out); None when nothing was recorded.

    Examples
    --------
    >>> from keraslearn.evaluation import training_history
    >>> class Fitted:
    ...     history_ = {"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]}
    >>> sorted(training_history(Fitted()))
    ['loss', 'val_loss']
    >>> training_history(object()) is None
    True
    """
    return _owned_history(estimator)[1]


def _owned_history(estimator):
    """(the estimator that trained, :func:`training_history`), or (None, None)."""
    history = getattr(estimator, "history_", None)
    history = getattr(history, "history", history)  # a keras.callbacks.History
    if history is None and getattr(estimator, "loss_curve_", None) is not None:
        history = {"loss": estimator.loss_curve_}
        if getattr(estimator, "validation_scores_", None) is not None:
            history["val_score"] = estimator.validation_scores_
    if history is None:
        from sklearn.ensemble import BaseEnsemble

        inner = [getattr(estimator, attr, None) for attr in _HISTORY_OWNERS
                 if not (attr == "estimator_" and isinstance(estimator, BaseEnsemble))]
        if getattr(estimator, "steps", None):
            inner.append(estimator.steps[-1][1])
        for owner in inner:
            if owner is not None and owner is not estimator:
                found = _owned_history(owner)
                if found[1]:
                    return found
        return None, None
    if not isinstance(history, Mapping):
        return None, None
    curves = {}
    for key, values in history.items():
        try:
            values = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            continue
        if values.ndim == 1 and values.size:
            curves[str(key)] = values
        elif values.ndim == 2 and values.size and values.shape[1] <= _MOST_VALUES:
            curves.update({f"{key}[{i}]": column for i, column in enumerate(values.T)})
    return (estimator, curves) if curves else (None, None)


def curve_epochs(estimator):
    """:func:`training_history` of ``estimator`` and the epoch (counted from 0)
    of each value of every curve: every epoch, but for the held-out curves of
    a fit scoring them only at the epochs Keras' ``validation_freq`` names (a
    wrapper's ``fit__validation_freq``, or fit's argument), those epochs."""
    owner, history = _owned_history(estimator)
    if not history:
        return None, None
    n = len(history.get("loss", ()))
    state = getattr(owner, "__dict__", {})
    scored = state.get("_validated_epochs")  # keraslearn's fits record them, per curve
    if not isinstance(scored, dict):  # placed by the fit's validation_freq, read here
        freq = state.get("_validation_freq")  # (a fit saved by an earlier version)
        if freq is None and hasattr(owner, "get_params"):  # scikeras'
            freq = owner.get_params().get("fit__validation_freq")
        scored = scored_epochs(history, freq if is_validation_freq(freq) else None, 0)
    return history, {key: _epochs_of(key, values.size, n,  # f1[0]: the epochs of f1
                                      scored.get(key, scored.get(key.partition("[")[0])))
                     for key, values in history.items()}


def _epochs_of(key, size, n, validated):
    """The epochs of a curve of ``size`` values in a history of ``n`` epochs."""
    if not key.startswith("val_") or size >= n:
        return np.arange(size)
    if validated is not None and size == len(validated):
        return np.asarray(validated, dtype=int)
    # Fewer held-out values than epochs otherwise: a warm start scored what an
    # earlier fit did not; they are the last epochs'.
    return np.arange(n - size, n)


_RC_LOCK = threading.RLock()  # rcParams are the process's: one context at a time


@contextlib.contextmanager
def plain_text():
    """A context in which text (titles, names, labels) is drawn as given:
    ``$`` in a name is not the start of mathtext, which can fail to parse.
    Contexts of several threads are taken one at a time: overlapping, each
    restored the rcParams the other had saved, leaving the change for good."""
    import matplotlib

    with _RC_LOCK, matplotlib.rc_context({"text.parse_math": False}):
        yield


def _figure(width, height):
    """A matplotlib Figure on an Agg canvas, unknown to pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    from matplotlib.text import Text

    for text in fig.findobj(Text):  # (titles, legends: a name matplotlib cannot draw)
        text.set_text(printable(text.get_text()))
    fig.savefig(path, format="png", dpi=100)
    fig.clear()
    return path


def _grid(fig, n, max_columns=3):
    columns = min(n, max_columns)
    rows = -(-n // columns)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]


def plot_learning_curves(history, path, title, epochs=None):
    """One panel per quantity (loss, each metric), train and ``val_`` curves,
    each value at its epoch (``epochs``, from :func:`curve_epochs`)."""
    groups = curve_groups(history)
    names = sorted(groups, key=lambda base: base != "loss")  # stable: loss first
    from matplotlib.ticker import MaxNLocator

    fig = _figure(4.5 * min(len(names), 3), 3.5 * -(-len(names) // 3))
    for ax, base in zip(_grid(fig, len(names)), names):
        for label, key in sorted(groups[base].items()):
            values = history[key]
            at = np.arange(values.size) if epochs is None else epochs[key]
            ax.plot(at + 1, values, marker="." if values.size < 30 else None, label=label)
        ax.set(title=base, xlabel="epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(f"{title}: learning curves")
    return _save(fig, path)


def curve_groups(history):
    """One panel's keys per quantity: ``{name: {"train": key, "validation": key}}``."""
    groups = {}
    for key in history:
        base = _trained_key(key, history) if key.startswith("val_") else key
        groups.setdefault(base, {})["validation" if key.startswith("val_") else "train"] = key
    return groups


def _trained_key(key, history):
    """The training key of ``history`` a ``val_`` key pairs with: ``history_``
    names a metric given by shorthand in full (``mean_squared_error``, and
    ``out_mean_squared_error`` for an output ``out``), as scikeras does, where
    Keras' validation key keeps it (``val_mse``, ``val_out_mse``)."""
    from ..utils._names import history_key

    rest = key[4:]
    splits = [f"{rest[:i]}_{history_key(rest[i + 1:])}" for i, c in enumerate(rest) if c == "_"]
    return next((k for k in (rest, history_key(rest), *splits)
                 if k in history and not k.startswith("val_")), rest)


_MAX_SIDE, _MAX_WRITTEN = 16.0, 40  # a confusion matrix's largest side (inches), written cells
_MAX_PANELS = 12  # per-label (per-output) panels of one figure
_MAX_LABEL = 30  # characters of a class name in a figure


def _first_of(shown, total, what):
    """A title's note that a figure shows only its first panels."""
    return "" if shown == total else f" (the first {shown} of {total} {what})"


def _drawn(labels):
    """Class names as figures write them: their start, where long (the axes of a
    confusion matrix of 50-character names shrank to a corner; the tables keep
    the names whole), numbered by position where two would then read alike (cut
    alike, or told apart only by spaces, characters of no width or Unicode's two
    spellings of an accent), or one would read as nothing."""
    drawn = [cut(printable(label), _MAX_LABEL) for label in labels]
    seen = [" ".join(unicodedata.normalize("NFC", "".join(
        c for c in label if unicodedata.category(c) != "Cf")).split()) for label in drawn]
    if len(set(seen)) < len(seen) or "" in seen:
        drawn = [f"{i}: {label}" for i, label in enumerate(drawn)]
    return drawn


def _counts_format(matrix):
    """How a confusion matrix's cells are written: weighted counts (floats) whole
    where they all are, else to 4 significant digits below 1000, to 1 decimal
    beyond (scikit-learn's default for floats, ``.2g``, wrote 1030 as 1e+03)."""
    matrix = np.asarray(matrix)
    if matrix.dtype.kind != "f":
        return None  # counts: scikit-learn's "d"
    if np.array_equal(matrix, np.round(matrix)):
        return ".0f"
    return ".4g" if np.abs(matrix).max() < 999.95 else ".1f"


def plot_confusion_matrix(evaluation, path, title):
    """Confusion matrix (one 2×2 matrix per label for multilabel problems)."""
    from sklearn.metrics import ConfusionMatrixDisplay

    labels = _drawn(evaluation.labels)
    if evaluation.problem_type == "multilabel":
        shown = labels[:_MAX_PANELS]  # the whole table is the report's
        fig = _figure(3.5 * min(len(shown), 3), 3.2 * -(-len(shown) // 3))
        for ax, label, matrix in zip(_grid(fig, len(shown)), shown, evaluation.confusion_matrix):
            ConfusionMatrixDisplay(matrix, display_labels=["0", "1"]).plot(
                ax=ax, colorbar=False, values_format=_counts_format(matrix))
            ax.set_title(label)
        title += _first_of(len(shown), len(labels), "labels")
    else:
        # Grows with the classes up to 16 inches; the counts are written in the
        # cells while they stay legible (up to 40 classes), as a color map beyond.
        side = min(max(4.5, 0.55 * len(labels) + 2.5), _MAX_SIDE)
        fig = _figure(side + 1, side)
        ax = fig.subplots()
        rotate = len(labels) > 6 or max(map(len, labels)) > 8
        many = len(labels) > _MAX_WRITTEN
        ConfusionMatrixDisplay(
            evaluation.confusion_matrix, display_labels=None if many else labels).plot(
            ax=ax, xticks_rotation="vertical" if rotate else "horizontal",
            include_values=not many, values_format=_counts_format(evaluation.confusion_matrix))
        if many:  # a tick every few classes, named
            ticks = np.unique(np.linspace(0, len(labels) - 1, _MAX_WRITTEN).round().astype(int))
            ax.set_xticks(ticks, [labels[i] for i in ticks], rotation="vertical")
            ax.set_yticks(ticks, [labels[i] for i in ticks])
    fig.suptitle(f"{title}: confusion matrix")
    return _save(fig, path)


_MAX_NAMED_CURVES = 10  # one-vs-rest ROC curves named in a legend


def _labels_scikit_learn_takes(y_true, pos_label):
    """``y_true`` and ``pos_label`` as scikit-learn's curves take them: labels
    of dates (a pos_label of numbers, text or bools only) as their text."""
    if np.asarray(y_true).dtype.kind not in "mM":
        return y_true, pos_label
    return np.asarray(y_true).astype(str), str(np.asarray(pos_label).astype(y_true.dtype))


def plot_roc_curve(evaluation, path, title, sample_weight=None):
    """ROC curve (binary) or one-vs-rest curves (multiclass, multilabel)."""
    from sklearn.metrics import RocCurveDisplay, roc_curve

    fig = _figure(5.5, 5)
    ax = fig.subplots()
    y_true, scores, curves = evaluation.y_true, evaluation.scores, ()
    if evaluation.problem_type == "binary":
        column = int(np.flatnonzero(evaluation.labels == evaluation.pos_label)[0])
        y_true, positive = _labels_scikit_learn_takes(y_true, evaluation.pos_label)
        RocCurveDisplay.from_predictions(
            y_true, y_score=scores[:, column], pos_label=positive,
            sample_weight=sample_weight, name=title, ax=ax, plot_chance_level=True)
    else:
        curves = []
        weight = np.ones(len(y_true)) if sample_weight is None else np.asarray(sample_weight)
        for i, (label, name) in enumerate(zip(evaluation.labels, _drawn(evaluation.labels))):
            y_bin = (y_true[:, i] if evaluation.problem_type == "multilabel"
                     else y_true == label).astype(int)
            # (a class of no weight, or weighing all: its curve and AUC are undefined)
            if weight[y_bin == 1].sum() > 0 and weight[y_bin == 0].sum() > 0 and not np.isnan(
                    scores[:, i]).any():
                curves.append((name, y_bin, scores[:, i]))
        many = len(curves) > _MAX_NAMED_CURVES  # a legend taller than the figure: none
        for k, (label, y_bin, score) in enumerate(curves):
            last = k == len(curves) - 1
            if many:  # unlabelled: a labelled curve redraws the legend of all (quadratic)
                fpr, tpr, _ = roc_curve(y_bin, score, pos_label=1, sample_weight=sample_weight)
                RocCurveDisplay(fpr=fpr, tpr=tpr).plot(ax=ax, plot_chance_level=last)
            else:
                RocCurveDisplay.from_predictions(
                    y_bin, y_score=score, pos_label=1, sample_weight=sample_weight,
                    name=f"{label} vs rest", ax=ax, plot_chance_level=last)
        # (each curve's own labels name its positive label, 1, not its class)
        ax.set(xlabel="False Positive Rate", ylabel="True Positive Rate")
        if many:
            if ax.get_legend() is not None:  # (the chance level's)
                ax.get_legend().remove()
            title = f"{title}: ROC curves of {len(curves)} classes vs rest"
    ax.set_title(title if len(curves) > _MAX_NAMED_CURVES else f"{title}: ROC curve")
    return _save(fig, path)


def plot_prediction_error(evaluation, path, title, kind):
    """Actual vs predicted, or residuals vs predicted, one panel per output."""
    from sklearn.metrics import PredictionErrorDisplay

    y_true = evaluation.y_true.reshape(len(evaluation.y_true), -1)
    y_pred = evaluation.y_pred.reshape(len(evaluation.y_pred), -1)
    names = evaluation.labels if evaluation.labels is not None else [None]
    shown = names[:_MAX_PANELS]
    fig = _figure(4.5 * min(len(shown), 3), 4.2 * -(-len(shown) // 3))
    title += _first_of(len(shown), len(names), "outputs")
    for j, (ax, name) in enumerate(zip(_grid(fig, len(shown)), shown)):
        PredictionErrorDisplay.from_predictions(
            y_true[:, j], y_pred[:, j], kind=kind, ax=ax, random_state=0)
        if name is not None:
            ax.set_title(str(name))
    label = "actual vs predicted" if kind == "actual_vs_predicted" else "residuals"
    fig.suptitle(f"{title}: {label}")
    return _save(fig, path)


def draw_figures(estimator, evaluation, paths, title, sample_weight=None):
    """Draw every figure that fits the problem, each to ``paths[name]`` (a path
    for every name of :data:`FIGURES`); return ``{name: path}`` of those drawn."""
    if len(title) > _TITLE_CHARACTERS:  # a long name left no room for the axes
        title = title[:_TITLE_CHARACTERS - 1].rstrip() + "\u2026"
    with plain_text():
        return _draw_figures(estimator, evaluation, paths, title, sample_weight)


_TITLE_CHARACTERS = 48


def _draw_figures(estimator, evaluation, paths, title, sample_weight):
    drawn = {}
    history, epochs = curve_epochs(estimator)
    if history:
        drawn["learning_curves"] = plot_learning_curves(history, paths["learning_curves"], title,
                                                        epochs)
    if evaluation.problem_type == "regression":
        for kind, name in (("actual_vs_predicted", "actual_vs_predicted"),
                           ("residual_vs_predicted", "residuals")):
            drawn[name] = plot_prediction_error(evaluation, paths[name], title, kind)
        return drawn
    drawn["confusion_matrix"] = plot_confusion_matrix(
        evaluation, paths["confusion_matrix"], title)
    if any(key.startswith("roc_auc") for key in evaluation.metrics):
        drawn["roc_curve"] = plot_roc_curve(evaluation, paths["roc_curve"], title, sample_weight)
    return drawn
