"""Drift monitoring: test whether new data still looks like the training data.

:class:`DriftDetector` tests each feature of a batch against a bounded summary of
the reference data (Kolmogorov–Smirnov, chi-square, population stability index);
:class:`RecentRows` keeps the last rows a server has seen, to test them;
:func:`drift_report` draws per-feature histograms and writes an HTML page.

matplotlib is imported only when a report draws figures.
"""

from ._detector import DriftDetector
from ._report import DriftReport, drift_report
from ._window import RecentRows

__all__ = ["DriftDetector", "DriftReport", "RecentRows", "drift_report"]
