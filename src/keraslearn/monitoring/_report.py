"""The :func:`drift_report` entry point and the :class:`DriftReport` it returns.

The HTML page follows the evaluation report's (``keraslearn.evaluation``): the same
stylesheet, tables from pandas, figures embedded as base64 PNG or linked.
"""

import base64
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sklearn.utils.validation import check_is_fitted

from ..utils._files import (
    check_new_files,
    check_output_dir,
    not_a_page_of_another_report,
    slug,
    staged,
)
from ..utils._text import printable
from ._detector import DriftDetector
from ._sketch import plain


def _verdict(drifted_features, n_features):
    if not drifted_features:
        return f"No drift detected in the {n_features} features."
    return (f"Drift detected in {len(drifted_features)} of {n_features} features: "
            f"{', '.join(drifted_features)}.")


@dataclass(repr=False)
class DriftReport:
    """Results, verdict and figures of testing a batch with a :class:`DriftDetector`.

    Returned by :func:`drift_report`; ``str(report)`` is a text summary.

    Attributes
    ----------
    name : str
        The name the report is written under.

    n_samples : int
        Number of rows tested.

    n_reference : int
        Number of reference rows the detector was fitted on.

    results : pandas.DataFrame
        The table returned by :meth:`DriftDetector.test`.

    drift_detected : bool
        Whether any feature drifted.

    drifted_features : list of str
        The features that drifted.

    settings : dict
        The detector's ``alpha``, ``correction`` and ``psi_threshold``.

    figures : dict of str to pathlib.Path
        One PNG per feature, by feature name (empty without ``output_dir``).

    html_path : pathlib.Path or None
        The HTML page written (None without ``output_dir``).

    See Also
    --------
    drift_report : Builds this report.
    """

    name: str
    n_samples: int
    n_reference: int
    results: pd.DataFrame
    drift_detected: bool
    drifted_features: list
    settings: dict
    figures: dict = field(default_factory=dict)
    html_path: Path | None = None

    def __repr__(self):
        return (f"DriftReport(name={self.name!r}, n_samples={self.n_samples}, "
                f"drift_detected={self.drift_detected}, "
                f"drifted_features={self.drifted_features!r})")

    def __str__(self):
        return self.format()

    def _settings_text(self):
        correction = self.settings["correction"] or "no"
        text = f"{correction} correction at alpha={self.settings['alpha']}"
        if self.settings["psi_threshold"] is not None:
            text += f", flagged only with PSI >= {self.settings['psi_threshold']}"
        return text

    def format(self, digits=4):
        """Return a readable text summary.

        Parameters
        ----------
        digits : int, default=4
            Significant digits of floating-point values.

        Returns
        -------
        text : str
        """
        lines = [f"{self.name}: {self.n_samples} rows tested against {self.n_reference} "
                 f"reference rows ({self._settings_text()})",
                 _verdict(self.drifted_features, len(self.results)), "",
                 self.results.to_string(index=False, float_format=f"{{:.{digits}g}}".format)]
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
            Keys ``name``, ``n_samples``, ``n_reference``, ``results`` (a list
            of one dict per feature), ``drift_detected``, ``drifted_features``,
            ``settings``, ``figures`` and ``html_path`` (paths as strings).
        """
        return {
            "name": self.name,
            "n_samples": int(self.n_samples),
            "n_reference": int(self.n_reference),
            # Python's own numbers (pandas' JSON writes 15 decimals at most:
            # a p-value of 3e-20 would be 0), NaN as None.
            "results": [{k: _json_value(v) for k, v in row.items()}
                        for row in self.results.to_dict(orient="records")],
            "drift_detected": bool(self.drift_detected),
            "drifted_features": list(self.drifted_features),
            "settings": {k: _json_value(v) for k, v in self.settings.items()},
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
            Significant digits of floating-point values.

        Returns
        -------
        page : str
        """
        from ..evaluation._report import _CSS

        title = html.escape(f"{self.name}: drift report")
        verdict_class = "drift" if self.drift_detected else "no-drift"
        parts = [f"<h1>{title}</h1>",
                 f'<p class="{verdict_class}"><strong>'
                 f"{html.escape(_verdict(self.drifted_features, len(self.results)))}"
                 "</strong></p>",
                 f"<p>{self.n_samples} rows tested against {self.n_reference} reference rows; "
                 f"{html.escape(self._settings_text())}.</p>",
                 "<h2>Features</h2>",
                 self.results.to_html(index=False, border=0,
                                      float_format=f"{{:.{digits}g}}".format)]
        if self.figures:
            parts.append("<h2>Reference vs current</h2>")
        for feature, path in self.figures.items():
            if embed:
                data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
                src = f"data:image/png;base64,{data}"
            else:
                src = html.escape(Path(path).name)
            label = html.escape(str(feature))
            parts.append(f'<figure><img src="{src}" alt="{label}">'
                         f"<figcaption>{label}</figcaption></figure>")
        body = "\n".join(parts)
        css = _CSS + "p.drift { color: #b00; }\np.no-drift { color: #070; }\n"
        # The figure files the page was drawn with: what an overwrite replaces.
        names = html.escape(json.dumps([Path(p).name for p in self.figures.values()]))
        return printable(f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                         f'<meta name="{_FIGURES_META}" content="{names}">\n'
                         f"<title>{title}</title>\n<style>{css}</style>\n</head>\n"
                         f"<body>\n{body}\n</body>\n</html>\n")


def drift_report(detector, X, *, output_dir=None, name=None, overwrite=False):
    """Test a batch with a fitted detector and report it: table, verdict, figures, HTML.

    With ``output_dir``, one PNG per feature is written, overlaying the reference
    and the batch (numeric features: density histograms, the reference side drawn
    from the detector's stored sample; categorical features: each category's share,
    with the pooled and unseen values as bars of their own), and an HTML page with
    the verdict, the result table and the figures. The detector is not changed: its
    ``drift_detected_`` keeps the value of its last :meth:`~DriftDetector.test`.

    Parameters
    ----------
    detector : DriftDetector
        A fitted detector.

    X : {array-like, DataFrame} of shape (n_samples, n_features)
        The batch to test, as for :meth:`DriftDetector.test`.

    output_dir : str or path-like, default=None
        Directory (created if needed) for the PNG figures and the HTML page.
        When None nothing is drawn or written.

    name : str, default=None
        Name used in titles and file names; the detector's class name when None.

    overwrite : bool, default=False
        Replace files of the same names in ``output_dir``, and remove the
        figures named as this report's (``<name>_<number>_<feature>.png``) that
        it does not draw: an earlier report's of the same name, for features
        this detector does not have. When False an existing file (another report's,
        whose name gives the same file names) is refused before anything is
        written.

    Returns
    -------
    report : DriftReport

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When the detector is not fitted.

    ValueError
        When ``X`` does not match the detector (see :meth:`DriftDetector.test`)
        or ``output_dir`` is an existing file.

    FileExistsError
        When a file to write exists and ``overwrite`` is False.

    See Also
    --------
    DriftDetector.test : The same results, recorded on the detector.
    keraslearn.evaluation.evaluate : The evaluation report this page resembles.

    Examples
    --------
    >>> import numpy as np
    >>> from keraslearn.monitoring import DriftDetector, drift_report
    >>> rng = np.random.default_rng(0)
    >>> detector = DriftDetector(random_state=0).fit(rng.normal(size=(2000, 2)))
    >>> report = drift_report(detector, rng.normal([0.0, 1.0], 1.0, size=(300, 2)))
    >>> report.drifted_features
    ['x1']
    >>> print(report.format().splitlines()[1])
    Drift detected in 1 of 2 features: x1.
    """
    if not isinstance(detector, DriftDetector):
        raise TypeError(f"drift_report needs a DriftDetector, got {type(detector).__name__}.")
    check_is_fitted(detector)
    output_dir = check_output_dir(output_dir, drawn_by="drift_report")
    name = type(detector).__name__ if name is None else str(name)
    columns = detector._columns(X)
    results = detector._test(columns)
    drifted = results.loc[results["drifted"], "feature"].tolist()
    report = DriftReport(
        name=name, n_samples=len(columns[0]), n_reference=detector.n_samples_fit_,
        results=results, drift_detected=bool(drifted), drifted_features=drifted,
        settings={"alpha": detector.alpha, "correction": detector.correction,
                  "psi_threshold": detector.psi_threshold})
    if output_dir is None:
        return report
    from ..evaluation._plots import plain_text
    from ._plots import plot_categorical, plot_numeric

    stem = slug(name) or "drift"
    rows = results.to_dict("records")
    paths = [output_dir / f"{stem}_{j:02d}_{slug(row['feature']) or 'feature'}.png"
             for j, row in enumerate(rows)]
    html_path = output_dir / f"{stem}_report.html"
    check_new_files([*paths, html_path], overwrite, not_a_page_of_another_report("drift report"))
    replaced = _figures_of(html_path) if overwrite else []
    with staged([*paths, html_path]) as stage, plain_text():  # ("$" in names as given)
        for j, (row, values, path) in enumerate(zip(rows, columns, paths)):
            feature = row["feature"]
            if detector.categorical_[j]:
                plot_categorical(detector.categories_[feature],
                                 detector.category_counts_[feature],
                                 detector._pooled(feature), values, row, stage[path])
            else:
                plot_numeric(detector.reference_sample_[feature], values, row, stage[path])
            report.figures[feature] = stage[path]
        stage[html_path].write_text(report.to_html(), encoding="utf-8")
    report.figures = dict(zip(report.figures, paths))
    report.html_path = html_path
    _remove_stale_figures(output_dir, stem, replaced, paths)
    return report


def _figures_of(page):
    """The figure files an earlier report's page names (none if it names none)."""
    try:
        found = re.search(f'<meta name="{_FIGURES_META}" content="([^"]*)">',
                          page.read_text(encoding="utf-8", errors="replace"))
        names = json.loads(html.unescape(found.group(1))) if found else []
    except (OSError, ValueError):
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _remove_stale_figures(output_dir, stem, replaced, paths):
    """Delete the figures the replaced report of this name drew for features
    this one does not have (its detector had more, or others): they would pass
    for this report's. Only files that report's page names, as this report
    names its figures, are removed: never another report's or the user's."""
    pattern = re.compile(re.escape(stem) + r"_\d{2,}_[A-Za-z0-9_.-]+\.png")
    for name in set(replaced) - {p.name for p in paths}:
        path = output_dir / name
        if pattern.fullmatch(name) and path.is_file() and not path.is_symlink():
            path.unlink()


_FIGURES_META = "keraslearn-figures"


def _json_value(value):
    """A result's value as JSON takes it: a Python number, str or bool, NaN as None."""
    value = plain(value)
    return None if isinstance(value, float) and value != value else value
