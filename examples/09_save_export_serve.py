"""Save, export and serve one pipeline: from a training script to a REST endpoint.

Breast-cancer data as a DataFrame: a StandardScaler and a keraslearn MLPClassifier in
a Pipeline. The fitted pipeline is

1. saved with ``keraslearn.save`` (one file, no pickle: skops and Keras' .keras
   format), with a drift detector, and loaded back with ``keraslearn.load``;
2. exported with ``keraslearn.export`` as a SavedModel, a LiteRT file and an ONNX
   model, each run with its own runtime and compared with the pipeline;
3. served by ``keraslearn serve PATH`` in a process this example starts on a free
   port of 127.0.0.1, queried over HTTP (/predict, /monitoring/drift), and stopped.
"""

import argparse
import contextlib
import json
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

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import keraslearn
from keraslearn import MLPClassifier
from keraslearn.evaluation import evaluate
from keraslearn.monitoring import DriftDetector

FORMATS = {"tf_saved_model": "cancer_saved_model", "litert": "cancer.tflite",
           "onnx": "cancer.onnx"}


def run_export(fmt, path, X):
    """The labels an exported artifact gives for the rows of X, with its own runtime."""
    if fmt == "litert":
        metadata = json.loads(Path(f"{path}.json").read_text())
    elif fmt == "onnx":
        import onnx

        props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        metadata = json.loads(props["keraslearn"])
    else:
        metadata = json.loads((path / "assets.extra" / "keraslearn.json").read_text())
    # One float32 input per column, named as the metadata says.
    feed = {i["name"]: X[i["feature"]].to_numpy(np.float32) for i in metadata["inputs"]}
    if fmt == "tf_saved_model":
        import tensorflow as tf

        serve = tf.saved_model.load(str(path)).signatures["serving_default"]
        return serve(**{k: tf.constant(v) for k, v in feed.items()})["label"].numpy()
    if fmt == "litert":
        from ai_edge_litert.interpreter import Interpreter

        runner = Interpreter(model_path=str(path)).get_signature_runner("serving_default")
        return runner(**feed)["label"]
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["label"], feed)[0]


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
def serve(path):
    """``keraslearn serve PATH`` on a free loopback port until the block ends."""
    command = shutil.which("keraslearn", path=str(Path(sys.executable).parent))
    command = [command] if command else [sys.executable, "-m", "keraslearn.serving._cli"]
    server = subprocess.Popen([*command, "serve", str(path), "--port", "0",
                               "--log-level", "warning"], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        url = _address(server, deadline)
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"keraslearn serve exited with status {server.returncode}")
            try:
                _call(url + "/health")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise RuntimeError("keraslearn serve did not start") from None
                time.sleep(0.25)
        yield url
    finally:
        server.send_signal(signal.SIGINT)  # as Ctrl-C: a graceful shutdown
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main(output=None, quick=False):
    if output is None:  # a scratch folder for the artifacts, removed at the end
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
    folder = Path(output) / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)

    # 1. Save (with a drift detector for the server) and load.
    detector = DriftDetector(random_state=0).fit(X_train)
    path = keraslearn.save(pipe, folder / "cancer.keraslearn", drift_detector=detector,
                           overwrite=True)
    loaded = keraslearn.load(path)
    same = np.array_equal(loaded.predict_proba(X_test), pipe.predict_proba(X_test))
    print(f"saved {path.name} ({path.stat().st_size / 1024:.0f} KiB); loaded back, "
          f"identical probabilities on the test rows: {same}")
    if not same:
        raise RuntimeError("the loaded pipeline does not predict as the saved one")

    # 2. Export to the three formats, each run by its own runtime.
    expected = pipe.predict(X_test)
    for fmt, name in FORMATS.items():
        target = keraslearn.export(loaded, folder / name, format=fmt, overwrite=True)
        labels = np.asarray(run_export(fmt, target, X_test)).astype(int).ravel()
        print(f"exported {fmt:<14} {target.name:<20} labels equal to the pipeline's on "
              f"{np.mean(labels == expected):.1%} of {len(expected)} test rows")

    # 3. Serve the saved file over HTTP, query it, stop it.
    with serve(path) as url:
        answer = _call(url + "/predict", X_test.to_dict(orient="records"))
        drift = _call(url + "/monitoring/drift")
    served = np.asarray(answer["predictions"])
    print(f"keraslearn serve: /predict answered {served[:5].tolist()}... for the "
          f"{len(served)} test rows, equal to the pipeline's on "
          f"{np.mean(served == expected):.1%}")
    if not np.array_equal(served, expected):
        raise RuntimeError("the server does not answer as the pipeline")
    flagged = [r["feature"] for r in drift["report"] if r["drifted"]]
    print(f"keraslearn serve: /monitoring/drift tested the last {drift['rows']} rows it "
          f"received: {len(flagged)} feature(s) flagged")

    report = evaluate(loaded, X_test, y_test, output_dir=output, name="loaded",
                      overwrite=True)
    print(report)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=None)
    parser.add_argument("--quick", action="store_true", help="fewer epochs, for a smoke test")
    args = parser.parse_args()
    main(args.output, quick=args.quick)
