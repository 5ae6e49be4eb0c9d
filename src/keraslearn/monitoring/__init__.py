"""Drift monitoring: test whether new data still looks like the training data.

:class:`DriftDetector` tests each feature of a batch against a bounded summary of
the reference data (Kolmogorov–Smirnov, chi-square, population stability index);
:class:`RecentRows` keeps the last rows a server has seen, to test them.
"""

from ._detector import DriftDetector
from ._window import RecentRows

__all__ = ["DriftDetector", "RecentRows"]
