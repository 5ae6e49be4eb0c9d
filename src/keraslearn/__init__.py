"""keraslearn: Keras 3 models as first-class scikit-learn estimators.

The estimators are imported lazily, so ``import keraslearn`` stays fast and
TensorFlow is loaded only when an estimator is first used.
"""

from ._config import config_context, get_config, set_config
from ._version import __version__

_LAZY = {
    "BaseWrapper": "keraslearn.wrappers",
    "KerasClassifier": "keraslearn.wrappers",
    "KerasRegressor": "keraslearn.wrappers",
    "MLPClassifier": "keraslearn.neural_network",
    "MLPRegressor": "keraslearn.neural_network",
    "ImageClassifier": "keraslearn.neural_network",
    "MultiInput": "keraslearn._multi_input",
    "export": "keraslearn._export",
    "save": "keraslearn._persistence",
    "load": "keraslearn._persistence",
    "get_untrusted_types": "keraslearn._persistence",
}

__all__ = sorted(_LAZY) + ["__version__", "config_context", "get_config", "set_config"]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'keraslearn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
