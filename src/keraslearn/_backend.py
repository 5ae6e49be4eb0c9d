"""keraslearn runs Keras on TensorFlow: another Keras backend is named before
Keras starts on it (its own error was a deep ModuleNotFoundError, or nothing)."""

import os
import sys


def check_keras_backend():
    """Refuse a Keras backend other than TensorFlow: the one Keras started on,
    else the one ``KERAS_BACKEND`` or Keras' ``keras.json`` asks for."""
    started = getattr(getattr(sys.modules.get("keras"), "backend", None), "backend", None)
    if callable(started):
        backend, source = started(), "keras.backend.backend()"
    elif os.environ.get("KERAS_BACKEND"):
        backend, source = os.environ["KERAS_BACKEND"], "KERAS_BACKEND"
    else:
        backend, source = _configured_backend(), "keras.json"
    if backend and backend != "tensorflow":
        raise ImportError(
            f"keraslearn runs Keras on TensorFlow, but Keras' backend is {backend!r} "
            f"({source}). Set "
            "KERAS_BACKEND=tensorflow in the environment of the process before Keras is "
            "imported (or \"backend\": \"tensorflow\" in ~/.keras/keras.json).")


def _configured_backend():
    """The backend Keras' ``keras.json`` names (under ``KERAS_HOME``, else
    ``~/.keras``), which Keras reads at import; None without one."""
    import json

    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as f:
            backend = json.load(f).get("backend")
    except (OSError, ValueError, AttributeError):
        return None
    return backend if isinstance(backend, str) else None

