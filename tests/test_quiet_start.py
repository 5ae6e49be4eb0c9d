"""A fresh process using keraslearn prints nothing on a CPU-only machine.

TensorFlow's C++ start-up lines (CPU features, "Could not find cuda drivers",
"failed call to cuInit") read as failures to newcomers; keraslearn installs
TensorFlow's CPU build where PyPI has one, and sets TF_CPP_MIN_LOG_LEVEL=2
(INFO and WARNING hidden, errors shown) at import unless the user set it;
joblib's worker processes inherit the setting.
"""

import os
import subprocess
import sys
import textwrap

import pytest
import tensorflow as tf

_SCRIPT = textwrap.dedent("""
    import keraslearn  # first, then the user's own import of Keras
    import keras
    import numpy as np

    def build(meta):
        return keras.Sequential([keras.Input(meta["X_shape_"][1:]),
                                 keras.layers.Dense(2, activation="softmax")])

    X = np.random.RandomState(0).normal(size=(40, 4))
    y = (X[:, 0] > 0).astype(int)
    clf = keraslearn.KerasClassifier(build, epochs=2, random_state=0).fit(X, y)
    clf.predict(X[:3])
""")


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(extra)
    return env


@pytest.mark.slow
@pytest.mark.skipif(bool(tf.config.list_physical_devices("GPU")),
                    reason="the quiet start is promised on CPU-only machines")
def test_a_fresh_process_prints_nothing():
    result = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                            env=_env(), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == ""
    assert result.stderr == ""


@pytest.mark.slow
def test_the_users_level_is_kept_and_errors_are_not_hidden():
    # Level 0 (the user's choice) is kept: TensorFlow's INFO lines come back.
    script = "import keraslearn, os; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=_env(TF_CPP_MIN_LOG_LEVEL="0"), timeout=120)
    assert result.stdout.strip() == "0"
    # Left unset, the level hides INFO and WARNING only (2, not 3): errors print.
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=_env(), timeout=120)
    assert result.stdout.strip() == "2"
