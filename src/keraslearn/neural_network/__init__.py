"""Ready networks with scikit-learn's vocabulary: dense MLPs and a small CNN."""

from ._image import ImageClassifier
from ._mlp import MLPClassifier, MLPRegressor

__all__ = ["ImageClassifier", "MLPClassifier", "MLPRegressor"]
