"""Track a training run with MLflow, serve the model, and watch its traffic drift.

Breast-cancer data as a DataFrame: a StandardScaler and a keraslearn MLPClassifier in
a Pipeline. The workflow a model goes through from training to production:

1. the pipeline is saved with a drift detector fitted on the training rows
   (``keraslearn.save(pipe, path, drift_detector=detector)``), and
   ``keraslearn serve PATH`` starts on a free port of 127.0.0.1 (it starts up while
   the next step runs);
2. the fit is logged to a local MLflow store under the output folder
   (``keraslearn.tracking.log_fit``): parameters, the loss per epoch, the
   evaluation's metrics and figures, and the model, which is loaded back with
   ``mlflow.pyfunc.load_model``;
3. the server gets normal traffic (the held-out rows), then shifted traffic (the
   same rows as if two measurements were recalibrated), and ``GET /monitoring/drift``
   tests the last rows it received each time;
4. the drift report of the shifted traffic (histograms and an HTML page,
   ``keraslearn.monitoring.drift_report``) is written and logged to the run.

Run with ``--output OUTPUT`` to keep the files, then browse the runs with MLflow's
UI (``pip install mlflow``): ``mlflow ui --backend-store-uri sqlite:///OUTPUT/mlflow/mlflow.db``.
"""

import argparse
import contextlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

# MLflow 3 sends usage telemetry, and keeps an id under your home folder, unless this
# is set before it is imported: this example keeps everything on this machine.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import keraslearn
from keraslearn import MLPClassifier
from keraslearn.monitoring import DriftDetector, drift_report
from keraslearn.tracking import log_fit

EXPERIMENT = "breast-cancer"
# The recalibrated measurements of the shifted traffic: column, factor, offset.
SHIFTS = [("mean texture", 1.0, 6.0), ("worst area", 1.4, 0.0)]


@contextlib.contextmanager
def tracking_store(folder):
    """MLflow's tracking URI set to a SQLite store in ``folder`` for the block.

    Through MLflow's environment variable, restored afterwards, so that the caller's
    MLflow settings are left as they were (a script of your own would simply call
    ``mlflow.set_tracking_uri``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    before = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'mlflow.db'}"
    try:
        client = mlflow.MlflowClient()
        experiment = client.get_experiment_by_name(EXPERIMENT)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(
            EXPERIMENT, artifact_location=(folder / "artifacts").as_uri())
        yield experiment_id
    finally:
        if before is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = before


def _address(server, deadline):
    """The address ``keraslearn serve --port 0`` prints once it listens on a free port."""
    with selectors.DefaultSelector() as output:
        output.register(server.stdout, selectors.EVENT_READ)
        while not output.select(timeout=0.25):
            if time.monotonic() > deadline:
                raise RuntimeError("keraslearn serve did not start")
    line = server.stdout.readline()  # (nothing at all: it exited)
    if not line.startswith("keraslearn serve: listening on "):
        raise RuntimeError(f"keraslearn serve exited with status {server.wait()}")
    return line.split()[-1]


def _call(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def serve(path, window):
    """``keraslearn serve PATH`` on a free loopback port until the block ends; the drift
    test covers the last ``window`` rows received.

    Yields ``ready()``, which waits until the server answers and returns its URL: the
    block can do other work while the server starts up.
    """
    command = shutil.which("keraslearn", path=str(Path(sys.executable).parent))
    command = [command] if command else [sys.executable, "-m", "keraslearn.serving._cli"]
    server = subprocess.Popen([*command, "serve", str(path), "--port", "0",
                               "--drift-window", str(window), "--log-level", "warning"],
                              stdout=subprocess.PIPE, text=True)

    def ready():
        deadline = time.monotonic() + 240
        url = _address(server, deadline)
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"keraslearn serve exited with status {server.returncode}")
            try:
                _call(url + "/health")
                return url
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise RuntimeError("keraslearn serve did not start") from None
                time.sleep(0.25)

    try:
        yield ready
    finally:
        server.send_signal(signal.SIGINT)  # as Ctrl-C: a graceful shutdown
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def shift(X):
    """The rows as two recalibrated instruments would send them."""
    shifted = X.copy()
    for column, factor, offset in SHIFTS:
        shifted[column] = shifted[column] * factor + offset
    return shifted


def _flagged(answer):
    return sorted(r["feature"] for r in answer["report"] if r["drifted"])


def main(output=None, quick=False):
    if output is None:  # a scratch folder, removed at the end
        with tempfile.TemporaryDirectory() as scratch:
            result = main(scratch, quick)
        print("(the files named above were in a scratch folder, now removed: "
              "--output DIR keeps them)")
        return result
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0)
    # A fixed epoch budget: as scikit-learn's MLP, it warns (ConvergenceWarning)
    # that the training loss was still falling when the budget ran out.
    pipe = make_pipeline(StandardScaler(), MLPClassifier(
        hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=20 if quick else 50,
        random_state=0))
    pipe.fit(X_train, y_train)
    output = Path(output).resolve()
    folder = output / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)

    # 1. Save with a drift detector fitted on the training rows; start serving it.
    detector = DriftDetector(random_state=0).fit(X_train)
    path = keraslearn.save(pipe, folder / "cancer.keraslearn", drift_detector=detector,
                           overwrite=True)
    with tracking_store(output / "mlflow") as experiment_id, \
            mlflow.start_run(experiment_id=experiment_id, run_name="mlp") as run:
        with serve(path, window=len(X_test)) as ready:
            # 2. Log the run: parameters, curves, evaluation (written to output too), model.
            logged = log_fit(pipe, X_test, y_test, output_dir=output, run_name="tracked",
                             overwrite=True)
            data = mlflow.MlflowClient().get_run(run.info.run_id).data
            print(f"MLflow run {run.info.run_id} in {mlflow.get_tracking_uri()}: "
                  f"{len(data.params)} parameters, test accuracy "
                  f"{data.metrics['test_accuracy']:.3f}, loss per epoch for "
                  f"{len(pipe[-1].history_['loss'])} epochs")
            model = mlflow.pyfunc.load_model(logged.model_uri)
            same = np.array_equal(model.predict(X_test), pipe.predict(X_test))
            print(f"mlflow.pyfunc.load_model({logged.model_uri!r}) predicts as the "
                  f"pipeline: {same}")
            if not same:
                raise RuntimeError("the logged model does not predict as the pipeline")

            # 3. Normal traffic, then shifted traffic; the server tests the last rows.
            url = ready()
            shifted = shift(X_test)
            _call(url + "/predict", X_test.to_dict(orient="records"))
            normal = _call(url + "/monitoring/drift")
            _call(url + "/predict", shifted.to_dict(orient="records"))
            drifted = _call(url + "/monitoring/drift")
        print(f"normal traffic:  /monitoring/drift on the last {normal['rows']} rows "
              f"flags {_flagged(normal) or 'nothing'}")
        print(f"shifted traffic: /monitoring/drift on the last {drifted['rows']} rows "
              f"flags {_flagged(drifted) or 'nothing'}")
        expected = sorted(column for column, _, _ in SHIFTS)
        if _flagged(normal) or not set(expected) <= set(_flagged(drifted)):
            raise RuntimeError("the drift monitor missed the shift or raised a false alarm")

        # 4. The drift report of the shifted traffic, kept with the run.
        report = drift_report(detector, shifted, output_dir=output / "drift",
                              name="shifted traffic", overwrite=True)
        if report.drifted_features != _flagged(drifted):
            raise RuntimeError("the report and the server disagree")
        mlflow.log_artifacts(str(output / "drift"), artifact_path="drift")
        mlflow.log_metric("drifted_features", len(report.drifted_features))
        print(report.format().splitlines()[1])
        print(f"drift report: {report.html_path}")

    print(logged.evaluation)
    return logged.evaluation


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=None)
    parser.add_argument("--quick", action="store_true", help="fewer epochs, for a smoke test")
    args = parser.parse_args()
    main(args.output, quick=args.quick)
