"""The target transformers of the wrappers, under the names
``scikeras.utils.transformers`` gives them, so that code importing (or
subclassing) them changes only the import."""

from .._engine._label_encoder import ClassifierLabelEncoder
from .._engine._targets import RegressorTargetEncoder

__all__ = ["ClassifierLabelEncoder", "RegressorTargetEncoder"]
