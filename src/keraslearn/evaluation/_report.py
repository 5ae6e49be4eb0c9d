"""The :class:`EvaluationReport` returned by :func:`evaluate`: text, dict, HTML."""

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..utils._text import printable

_TITLES = {
    "binary": "binary classification",
    "multiclass": "multiclass classification",
    "multilabel": "multilabel classification",
    "regression": "regression",
}

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: right; }
th { background: #f3f3f3; }
figure { display: inline-block; margin: 0.5em 1em 1em 0; }
img { max-width: 100%; }
"""


def _frame_to_dict(frame):
    """A DataFrame as ``{row: {column: value}}`` of JSON types (NaN -> None),
    its numbers at full precision (``to_json`` keeps 10 decimals)."""
    if frame is None:
        return None
    return {str(row): {str(column): _json_value(value) for column, value in values.items()}
            for row, values in frame.to_dict(orient="index").items()}


def _number_format(digits):
    """Writes a value with ``digits`` after the decimal point, in scientific
    notation where that would write a nonzero value as 0 (small targets' errors)."""
    def written(value):
        if value != 0 and abs(value) < 0.5 * 10.0 ** -digits:
            return f"{value:.{max(digits - 1, 0)}e}"
        return f"{value:.{digits}f}"
    return written


def _json_value(value):
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _json_labels(labels, dtype=None):
    """Labels as JSON values: numbers, text and bools as they are, others
    (dates) as the tables by class write them (``str`` of pandas' value)."""
    return [label if isinstance(label, (str, int, float, bool)) else str(label)
            for label in pd.Index(np.asarray(labels, dtype=dtype)).tolist()]


# Classes beyond which the confusion matrix is left out of the text and the page
# (its figure is drawn as a color map past 40).
_MAX_TABLE_CLASSES = 40


@dataclass(repr=False)
class EvaluationReport:
    """Metrics, tables and figures from evaluating a fitted estimator.

    Returned by :func:`evaluate`; ``str(report)`` is a text summary.

    Attributes
    ----------
    name : str
        The name the estimator is reported under.

    problem_type : {"binary", "multiclass", "multilabel", "regression"}
        The detected problem type.

    n_samples : int
        Number of evaluated samples.

    metrics : dict of str to float
        Flat mapping of metric name to value (undefined metrics are left out
        and explained in ``notes``).

    per_class : pandas.DataFrame or None
        One row per class (per label for multilabel problems) with precision,
        recall, f1, support and, where scores exist and it is defined for
        more than two classes, roc_auc. None for regression.

    per_output : pandas.DataFrame or None
        One row per output of a multi-output regression; None otherwise.

    confusion_matrix : ndarray or None
        Of shape (n_classes, n_classes), rows true and columns predicted, or
        (n_labels, 2, 2) for multilabel problems. None for regression. The text
        summary and the page show it as a table up to 40 classes.

    classes : ndarray or None
        Class (or label) order of ``per_class`` and ``confusion_matrix``.

    pos_label : object or None
        The positive class of a binary problem, whose precision, recall, F1
        and ROC AUC are reported; None for other problems.

    classification_report : str or None
        scikit-learn's text classification report.

    notes : list of str
        Why a metric or figure was skipped.

    figures : dict of str to pathlib.Path
        PNG files written, by name (empty without ``output_dir``).

    html_path : pathlib.Path or None
        The HTML page written (None without ``output_dir``).
    """

    name: str
    problem_type: str
    n_samples: int
    metrics: dict
    per_class: pd.DataFrame | None = None
    per_output: pd.DataFrame | None = None
    confusion_matrix: np.ndarray | None = None
    classes: np.ndarray | None = None
    pos_label: object = None
    classification_report: str | None = None
    notes: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    html_path: Path | None = None

    def __repr__(self):
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in self.metrics.items())
        return (f"EvaluationReport(name={self.name!r}, problem_type={self.problem_type!r}, "
                f"n_samples={self.n_samples}, metrics={{{metrics}}})")

    def __str__(self):
        return self.format()

    def _confusion_frame(self):
        """The confusion matrix as a table, or, of more classes than a table shows
        (its cells grow as their square: 17 MB of HTML at 1,000 classes), a
        sentence saying where it is."""
        if self.confusion_matrix is None:
            return None
        if self.problem_type != "multilabel" and len(self.classes) > _MAX_TABLE_CLASSES:
            return (f"{len(self.classes)} classes, too many for a table here: see the "
                    "report's confusion_matrix (and its figure, with output_dir).")
        labels = [str(c) for c in self.classes]
        if self.problem_type == "multilabel":
            flat = self.confusion_matrix.reshape(len(labels), 4)
            return pd.DataFrame(flat, columns=["tn", "fp", "fn", "tp"],
                                index=pd.Index(labels, name="label"))
        return pd.DataFrame(self.confusion_matrix, index=pd.Index(labels, name="true"),
                            columns=pd.Index(labels, name="predicted"))

    def format(self, digits=4):
        """Return a readable text summary.

        Parameters
        ----------
        digits : int, default=4
            Digits after the decimal point of floating-point values (or
            significant digits, in scientific notation, of those too small
            for them: an error of 1e-05).

        Returns
        -------
        text : str
        """
        fmt = _number_format(digits)
        lines = [f"{self.name}: {_TITLES[self.problem_type]} on {self.n_samples} samples"]
        if self.pos_label is not None:
            lines.append(f"Positive class: {self.pos_label!r}")
        lines += ["", "Metrics"]
        width = max((len(k) for k in self.metrics), default=0)
        lines += [f"  {k:<{width}}  {fmt(v)}" for k, v in self.metrics.items()]
        tables = (("Per class", self.per_class), ("Per output", self.per_output),
                  ("Confusion matrix (rows: true, columns: predicted)"
                   if self.problem_type != "multilabel" else "Confusion counts per label",
                   self._confusion_frame()))
        for title, frame in tables:
            if isinstance(frame, str):
                lines += ["", title, frame]
            elif frame is not None:
                lines += ["", title, frame.to_string(float_format=fmt)]
        if self.notes:
            lines += ["", "Notes"] + [f"  - {note}" for note in self.notes]
        if self.figures:
            lines += ["", "Figures"] + [f"  {k}: {v}" for k, v in self.figures.items()]
        if self.html_path is not None:
            lines += ["", f"HTML report: {self.html_path}"]
        return printable("\n".join(lines))

    def to_dict(self):
        """Return the report as a dict of JSON-serialisable values.

        Returns
        -------
        report : dict
            Keys ``name``, ``problem_type``, ``n_samples``, ``metrics``,
            ``per_class``, ``per_output`` (``{row: {column: value}}`` or
            None), ``confusion_matrix`` (nested lists or None), ``classes``,
            ``pos_label``, ``classification_report``, ``notes``, ``figures`` and
            ``html_path`` (paths as strings); labels JSON does not hold (dates)
            are written as the tables by class write them.
        """
        return {
            "name": self.name,
            "problem_type": self.problem_type,
            "n_samples": int(self.n_samples),
            "metrics": {k: _json_value(float(v)) for k, v in self.metrics.items()},
            "per_class": _frame_to_dict(self.per_class),
            "per_output": _frame_to_dict(self.per_output),
            "confusion_matrix": (None if self.confusion_matrix is None
                                 else self.confusion_matrix.tolist()),
            "classes": None if self.classes is None else _json_labels(self.classes),
            "pos_label": None if self.pos_label is None else _json_labels(
                [self.pos_label], None if self.classes is None else np.asarray(self.classes).dtype
            )[0],
            "classification_report": self.classification_report,
            "notes": list(self.notes),
            "figures": {k: str(v) for k, v in self.figures.items()},
            "html_path": None if self.html_path is None else str(self.html_path),
        }

    def to_html(self, *, embed=True, digits=4):
        """Return the report as a self-contained HTML page.

        Parameters
        ----------
        embed : bool, default=True
            Embed the figures as base64 data (the page survives being moved);
            otherwise link them by file name, relative to the page.

        digits : int, default=4
            Digits after the decimal point of floating-point values (or
            significant digits, in scientific notation, of those too small
            for them: an error of 1e-05).

        Returns
        -------
        page : str
        """
        fmt = _number_format(digits)
        title = html.escape(f"{self.name}: evaluation")
        parts = [f"<h1>{title}</h1>",
                 f"<p>{_TITLES[self.problem_type]} on {self.n_samples} samples"
                 + ("" if self.pos_label is None
                    else f"; positive class: {html.escape(repr(self.pos_label))}") + "</p>",
                 "<h2>Metrics</h2>",
                 pd.DataFrame({"value": self.metrics}, dtype=float).rename_axis("metric")
                 .to_html(float_format=fmt, border=0)]
        tables = (("Per class", self.per_class), ("Per output", self.per_output),
                  ("Confusion matrix", self._confusion_frame()))
        for heading, frame in tables:
            if isinstance(frame, str):
                parts += [f"<h2>{heading}</h2>", f"<p>{html.escape(frame)}</p>"]
            elif frame is not None:
                parts += [f"<h2>{heading}</h2>", frame.to_html(float_format=fmt, border=0)]
        if self.classification_report:
            parts += ["<h2>Classification report</h2>",
                      f"<pre>{_isolated_labels(self.classification_report)}</pre>"]
        if self.notes:
            parts += ["<h2>Notes</h2><ul>"]
            parts += [f"<li>{html.escape(note)}</li>" for note in self.notes] + ["</ul>"]
        if self.figures:
            parts.append("<h2>Figures</h2>")
        for key, path in self.figures.items():
            if embed:
                data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
                src = f"data:image/png;base64,{data}"
            else:
                src = html.escape(Path(path).name)
            label = html.escape(key.replace("_", " "))
            parts.append(f'<figure><img src="{src}" alt="{label}">'
                         f"<figcaption>{label}</figcaption></figure>")
        body = "\n".join(parts)
        return printable(f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                         f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n"
                         f"<body>\n{body}\n</body>\n</html>\n")


def _isolated_labels(text):
    """scikit-learn's classification report, escaped for a page, each row's label
    isolated (``<bdi>``): a label in Hebrew or Arabic took the numbers after it
    into its right-to-left run, which a browser showed in reverse column order.
    The labels fill the lines' first columns, up to two before the header's
    "precision"; a line that does not (a label holding a newline) is as it is."""
    lines = text.split("\n")
    width = lines[0].find("precision") - 2
    if width < 1:
        return html.escape(text)
    rows = []
    for line in lines[1:]:
        label = line[:width].lstrip(" ")
        if not label or len(line) <= width or line[width] != " ":
            rows.append(html.escape(line))
            continue
        rows.append(html.escape(line[:width - len(label)]) + f"<bdi>{html.escape(label)}</bdi>"
                    + html.escape(line[width:]))
    return "\n".join([html.escape(lines[0]), *rows])
