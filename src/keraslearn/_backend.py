"""keraslearn runs Keras on TensorFlow: another Keras backend is named before
Keras starts on it (its own error was a deep ModuleNotFoundError, or nothing)."""

import os
import sys


def check_keras_backend():
    """Refuse a Keras backend other than TensorFlow: the one ``KERAS_BACKEND``
    asks for, or the one Keras started on (its ``keras.json`` setting)."""
    keras = sys.modules.get("keras")
    started = getattr(getattr(keras, "backend", None), "backend", None)
    backend = started() if callable(started) else os.environ.get("KERAS_BACKEND")
    if backend and backend.lower() != "tensorflow":
        raise ImportError(
            f"keraslearn runs Keras on TensorFlow, but Keras' backend is {backend!r} "
            f"({'KERAS_BACKEND' if keras is None else 'keras.backend.backend()'}). Set "
            "KERAS_BACKEND=tensorflow in the environment of the process before Keras is "
            "imported (or \"backend\": \"tensorflow\" in ~/.keras/keras.json).")
