"""A fresh process using keraslearn prints nothing on a CPU-only machine.

TensorFlow's C++ start-up lines (CPU features, "Could not find cuda drivers",
"failed call to cuInit") read as failures to newcomers; keraslearn installs
TensorFlow's CPU build where PyPI has one, and sets TF_CPP_MIN_LOG_LEVEL=2
(INFO and WARNING hidden, errors shown) at import unless the user set it;
joblib's worker processes inherit the setting.
"""

import os
import re
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


# TensorFlow's notice that its oneDNN operations are on (they are by default
# on recent Intel CPUs), logged through absl before TensorFlow's logging
# settings apply: no setting hides it (TF_CPP_MIN_LOG_LEVEL=3 neither), short
# of turning oneDNN off (TF_ENABLE_ONEDNN_OPTS=0), which would change the
# user's numerics and speed. keraslearn leaves it; anything else fails.
_ONEDNN_NOTICE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to "
    r"STDERR|I\d{4} [\d:.]+ +\d+ port\.cc:\d+\] oneDNN custom operations are on\. .*")


def _stderr_lines(stderr):
    """The lines of stderr but TensorFlow's oneDNN notice."""
    return [line for line in stderr.splitlines() if not _ONEDNN_NOTICE.fullmatch(line)]


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
    assert _stderr_lines(result.stderr) == []


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


def test_only_tensorflows_onednn_notice_is_let_through():
    notice = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796123737.199063   28949 port.cc:153] oneDNN custom operations are on. "
        "You may see slightly different numerical results due to floating-point round-off "
        "errors from different computation orders. To turn them off, set the environment "
        "variable `TF_ENABLE_ONEDNN_OPTS=0`.\n")
    assert _stderr_lines(notice) == []
    other = ("I0000 00:00:1796123737.2 28949 cpu_feature_guard.cc:227] This TensorFlow binary "
             "is optimized to use available CPU instructions")
    assert _stderr_lines(notice + other + "\nE0000 cuda_dnn.cc:1] failed\n") == [
        other, "E0000 cuda_dnn.cc:1] failed"]
