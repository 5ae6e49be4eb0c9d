"""benchmarks/gpu_check.py on a machine without a GPU: it says so and exits 0."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"


def test_gpu_check_says_there_is_no_gpu_and_exits_0():
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("TensorFlow sees a GPU here: the script would run its full check, "
                    "minutes long, which is for benchmarks, not the test suite")
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("No GPU: TensorFlow ")
    assert "Nothing to check" in proc.stdout
