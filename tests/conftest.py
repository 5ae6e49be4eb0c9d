"""Fixtures shared by every test: a seed. Model builders live in builders.py."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# MLflow reads it when imported (test modules import it at collection): the
# tests send nothing anywhere and keep no id under the home folder.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
    np.random.seed(0)
    yield
