"""keraslearn: Keras 3 models as first-class scikit-learn estimators.

The estimators are imported lazily, so ``import keraslearn`` stays fast and
TensorFlow is loaded only when an estimator (or export, save, load) is
first taken from it: ``keraslearn.evaluation`` and ``keraslearn.monitoring``
never start it for scikit-learn's own estimators or a drift check.
"""

import os
import threading

# Keep TensorFlow's C++ INFO and WARNING start-up lines off the terminal (its
# errors still show), unless the user set the level: done at import, before
# the user's own `import keras` or `import tensorflow` can start TensorFlow.
# Child processes (joblib's workers) inherit it. Python's logging is untouched.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ._config import config_context, get_config, set_config  # noqa: E402
from ._version import __version__  # noqa: E402

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


# One first import at a time: threads first using two names at once (a web
# app loading a model while another request trains one) would each import
# half of keraslearn's modules, which import each other, and fail.
_importing = threading.RLock()


def __getattr__(name):
    if name in _LAZY:
        import importlib

        with _importing:
            value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'keraslearn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
