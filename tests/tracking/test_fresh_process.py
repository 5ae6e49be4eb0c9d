"""The logged model in processes that share nothing with the one that logged it.

A fresh interpreter loads it with ``mlflow.pyfunc.load_model(uri).predict(df)``;
``mlflow models serve --env-manager local`` (this environment, nothing installed)
serves it on 127.0.0.1; and without MLflow, keraslearn still imports and says what
to install.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from _mlflow_store import (
    environment,
    frame,
    free_port,
    mlflow_store,
    pipeline,
    run_python,
    runs,
)

from keraslearn.tracking import log_fit

SERVE_START_S = 180  # the scoring server imports MLflow, TensorFlow and keraslearn


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """A pipeline logged once for the module: (store, model URI, test rows, predictions)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        for store in mlflow_store(tmp_path_factory.mktemp("store"), monkeypatch):
            pipe = pipeline().fit(*frame())
            X_test, y_test = frame(40, seed=1)
            uri = log_fit(pipe, X_test, y_test).model_uri
            yield store, uri, X_test, pipe.predict(X_test)


def test_a_fresh_interpreter_loads_the_model_and_predicts_a_frame(logged, server):
    # (``server`` only starts the model server, to start up while this test runs.)
    store, uri, X_test, expected = logged
    X_test.to_csv(store.folder / "rows.csv", index=False)
    code = f"""
import json, sys
import mlflow, pandas as pd
model = mlflow.pyfunc.load_model({uri!r})
inner = model.unwrap_python_model()
predictions = model.predict(pd.read_csv("rows.csv"))
print(json.dumps({{"predictions": predictions.tolist(), "class": type(inner).__name__,
                   "estimator": type(inner.estimator_).__name__,
                   "builders": "builders" in sys.modules}}))
"""
    answer = run_python(code, environment(store), cwd=store.folder)
    assert answer["class"] == "PyfuncModel" and answer["estimator"] == "Pipeline"
    assert not answer["builders"]  # the tests' model builder is not needed to load
    np.testing.assert_array_equal(answer["predictions"], expected)


@pytest.fixture(scope="module")
def server(logged):
    """``mlflow models serve`` of the logged model on a free port of 127.0.0.1: (process, URL).

    Started when first asked for, and waited for only by the test that queries it, so
    that it starts up (importing MLflow, TensorFlow and keraslearn) while the
    fresh-interpreter test runs; stopped with the module.
    """
    store, uri, _, _ = logged
    mlflow_cli = shutil.which("mlflow", path=str(Path(sys.executable).parent))
    assert mlflow_cli, "MLflow's command line is not installed beside this Python"
    port = free_port()
    process = subprocess.Popen(
        [mlflow_cli, "models", "serve", "-m", uri, "--env-manager", "local",
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=environment(store), cwd=store.folder, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield process, f"http://127.0.0.1:{port}"
    # The CLI and the uvicorn process it started share the session it leads.
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _wait_until_up(process, url):
    deadline = time.monotonic() + SERVE_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mlflow models serve exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    pytest.fail(f"mlflow models serve did not answer within {SERVE_START_S} s")


def test_mlflow_models_serve_answers_as_the_pipeline(logged, server):
    _, _, X_test, expected = logged
    process, url = server
    _wait_until_up(process, url)
    split = _post(url + "/invocations", {"dataframe_split": {
        "columns": list(X_test.columns), "data": X_test.to_numpy().tolist()}})
    records = _post(url + "/invocations",
                    {"dataframe_records": X_test.iloc[:3].to_dict(orient="records")})
    np.testing.assert_array_equal(split["predictions"], expected)
    np.testing.assert_array_equal(records["predictions"], expected[:3])


def test_without_mlflow_keraslearn_imports_and_names_the_extra(tmp_path):
    # A fresh interpreter in which `import mlflow` fails, as where it is not installed.
    # (MLflowCallback asks for MLflow the same way, after importing Keras, which would
    # make this test import TensorFlow: it is left out.)
    code = """
import json, sys
sys.modules["mlflow"] = None
import keraslearn, keraslearn.tracking
messages = []
for attempt in (lambda: keraslearn.tracking.log_fit(None),
                lambda: keraslearn.tracking.log_search(None),
                lambda: keraslearn.tracking.log_model(None),
                lambda: keraslearn.tracking.PyfuncModel):
    try:
        attempt()
    except ImportError as exc:
        messages.append(str(exc))
print(json.dumps({"messages": messages, "mlflow": sys.modules["mlflow"] is None}))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    answer = run_python(code, env, cwd=tmp_path)
    assert answer["mlflow"] and len(answer["messages"]) == 4
    assert all("pip install 'keraslearn[mlflow]'" in m for m in answer["messages"])


def test_without_matplotlib_log_fit_logs_the_evaluation_but_its_figures(tmp_path,
                                                                         monkeypatch):
    # The mlflow extra alone: log_fit(X_test=...) raised "evaluate draws its figures
    # with matplotlib" (a function the user never called) and logged nothing.
    for store in mlflow_store(tmp_path, monkeypatch):
        code = """
import json, sys
sys.modules["matplotlib"] = None
import mlflow
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from keraslearn.tracking import log_fit
X, y = make_classification(n_samples=80, n_features=4, random_state=0)
logged = log_fit(LogisticRegression().fit(X, y), X, y, log_model=False)
client = mlflow.MlflowClient()
files = sorted(a.path for a in client.list_artifacts(logged.run_id, "evaluation"))
print(json.dumps({"files": files, "metrics": sorted(client.get_run(logged.run_id).data.metrics),
                  "matplotlib": sys.modules["matplotlib"] is None}))
"""
        answer = run_python(code, environment(store), cwd=tmp_path)
    assert answer["matplotlib"] and "test_accuracy" in answer["metrics"]
    assert answer["files"] == ["evaluation/LogisticRegression_report.html",
                               "evaluation/report.json"]


_CUSTOM_PARTS = '''
import keras


@keras.saving.register_keras_serializable(package="kl_tracking_parts")
class Doubled(keras.layers.Layer):
    def call(self, x):
        return 2 * x


def build(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)), Doubled(),
                             keras.layers.Dense(meta["n_classes_"], activation="softmax")])
'''


def test_a_network_of_custom_layers_loads_with_the_code_paths_it_was_logged_with(
        tmp_path, monkeypatch):
    # Keras finds a registered layer only once its module is imported: a fresh
    # process (or `mlflow models serve`) could not load the model at all.
    from keraslearn import KerasClassifier
    from keraslearn.tracking import log_model

    code = tmp_path / "code"
    code.mkdir()
    (code / "kl_tracking_parts.py").write_text(_CUSTOM_PARTS, encoding="utf-8")
    monkeypatch.syspath_prepend(str(code))
    import kl_tracking_parts

    X, y = frame()
    clf = KerasClassifier(kl_tracking_parts.build, epochs=2, random_state=0).fit(X, y)
    (tmp_path / "store").mkdir()
    for store in mlflow_store(tmp_path / "store", monkeypatch):
        import mlflow

        with pytest.raises(FileNotFoundError, match="code_paths names .*missing.py'"):
            log_model(clf, code_paths=[code / "missing.py"])
        with mlflow.start_run():
            uri = log_model(clf, code_paths=[code / "kl_tracking_parts.py"]).model_uri
        X.to_csv(store.folder / "rows.csv", index=False)
        child = f"""
import json, sys
import mlflow, pandas as pd
model = mlflow.pyfunc.load_model({uri!r})
print(json.dumps({{"predictions": model.predict(pd.read_csv("rows.csv")).tolist()}}))
"""
        answer = run_python(child, environment(store), cwd=store.folder)
        np.testing.assert_array_equal(answer["predictions"], clf.predict(X))
        assert len(runs(store)) == 1  # (the refused call logged nothing)
