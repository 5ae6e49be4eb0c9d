"""Evaluation reports: metrics, figures and an HTML page for a fitted estimator.

matplotlib is needed only when figures are drawn (``output_dir`` given) and is
imported then, not when this module is imported.
"""

from ._evaluate import evaluate
from ._metrics import detect_problem_type
from ._plots import training_history
from ._report import EvaluationReport

__all__ = ["EvaluationReport", "detect_problem_type", "evaluate", "training_history"]
