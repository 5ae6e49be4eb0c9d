"""Drift monitoring: test whether new data still looks like the training data.

:class:`DriftDetector` tests each feature of a batch against a bounded summary of
the reference data (Kolmogorov–Smirnov, chi-square, population stability index).
"""

from ._detector import DriftDetector

__all__ = ["DriftDetector"]
