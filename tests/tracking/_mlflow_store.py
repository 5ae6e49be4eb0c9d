"""A real MLflow store in a temporary folder, and tiny fitted models, for tests/tracking.

Imported as ``from _mlflow_store import ...`` (``tests/`` and this directory are on
``sys.path``; a second ``conftest`` module would shadow ``tests/conftest.py``).

One SQLite database per test process (creating MLflow's tables takes seconds);
each test gets an experiment of its own in it, whose artifacts go under the test's
``tmp_path``. The tracking URI and the experiment are set through MLflow's
environment variables with ``monkeypatch``, so they are restored after each test
(as is MLflow's active experiment, which ``mlflow.set_experiment`` sets);
MLflow's usage telemetry is switched off the same way.
"""

import atexit
import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from types import SimpleNamespace

import mlflow
import numpy as np
import pandas as pd
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from builders import tiny_mlp
from keraslearn import KerasClassifier

COLUMNS = ["age", "income", "score", "ratio"]
EPOCHS = 3


@functools.cache
def _database_uri():
    folder = tempfile.mkdtemp(prefix="keraslearn-mlflow-tests-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return f"sqlite:///{folder}/mlflow.db"


def mlflow_store(tmp_path, monkeypatch):
    """MLflow pointed at the test database and a fresh experiment (restored afterwards).

    A generator for a test module's ``store`` fixture: ``yield from mlflow_store(...)``.
    """
    uri = _database_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")  # tests send nothing anywhere
    client = mlflow.MlflowClient(uri)
    experiment_id = client.create_experiment(
        f"test-{uuid.uuid4().hex}", artifact_location=(tmp_path / "artifacts").as_uri())
    monkeypatch.setenv("MLFLOW_EXPERIMENT_ID", experiment_id)
    # mlflow.set_experiment also sets an active experiment that outlives the variable
    # and would send the next tests' runs there; MLflow has no public call to clear
    # it, so the test runs without one and the one before is restored afterwards.
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    yield SimpleNamespace(uri=uri, client=client, experiment_id=experiment_id, folder=tmp_path)
    while mlflow.active_run() is not None:  # a failed test leaves no run behind
        mlflow.end_run(status="FAILED")


def runs(store):
    """Every run of the test's experiment, oldest first."""
    found = store.client.search_runs([store.experiment_id], order_by=["attributes.start_time"])
    return list(found)


def frame(n=160, seed=0):
    """Four numeric columns of different scales and a binary target."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)) * [10, 1000, 1, 0.1] + [40, 3000, 0, 1],
                     columns=COLUMNS)
    y = ((X["age"] - 40) / 10 + (X["income"] - 3000) / 1000 > 0).astype(int).to_numpy()
    return X, y


def pipeline(**params):
    """A scaler and a tiny KerasClassifier with a routed optimizer parameter."""
    params = {"epochs": EPOCHS, "optimizer": "adam", "optimizer__learning_rate": 0.01,
              "random_state": 0, **params}
    return make_pipeline(StandardScaler(), KerasClassifier(tiny_mlp, hidden=4, **params))


def metric_steps(store, run_id, key):
    """(steps, values) of a metric's history, by step."""
    history = sorted(store.client.get_metric_history(run_id, key), key=lambda m: m.step)
    return [m.step for m in history], [m.value for m in history]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(store):
    """The environment of a subprocess that reaches the test's store and experiment
    (MLflow's Default one keeps its artifacts in an mlruns folder of the working
    folder the database was created in: the repository's, left behind)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_TRACKING_URI"] = store.uri
    env["MLFLOW_EXPERIMENT_ID"] = store.experiment_id
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def run_python(code, env, cwd, timeout=240):
    """Run ``code`` in a fresh interpreter; its last stdout line is JSON."""
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fit_setting_own_store(est, X, y, uri):
    """In a process of the user's own (spawned): set MLflow's store and an
    experiment there, then fit ``est``."""
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("own")
    est.fit(X, y)
