"""scikeras' documented MLP, searched as its users search it: keraslearn beside scikeras.

Usage::

    python benchmarks/scikeras_example.py          # ~3 min: scikeras_example_results.md
    python benchmarks/scikeras_example.py --quick  # 1 run each, fewer fits; prints only

The model is the builder of scikeras' MLPClassifier tutorial: ``Input``, then
for each hidden layer ``Dense(size, relu)`` followed by ``Dropout(dropout)``,
then ``Dense(n_classes_, softmax)``; ``loss="sparse_categorical_crossentropy"``,
Adam, ``verbose=False``, with the early stopping scikeras documents:
``validation_split=0.2`` and ``EarlyStopping(monitor="val_loss", patience=2)``.
The very same estimator code runs with ``from scikeras.wrappers import
KerasClassifier`` and ``from keraslearn import KerasClassifier`` (the one-import
switch). ``GridSearchCV`` over ``model__hidden_layer_sizes`` (4 architectures:
one or two layers of 32 or 64 units) and ``model__dropout`` (0.2, 0.5), cv=3
(24 fits, 1,000 rows of 20 features, 3 classes, at most 10 epochs), no refit,
``n_jobs=1``: the first search in a fresh process, as a user's script runs it.
Each library runs in 3 fresh processes, alternated; the table gives every run
and the median. The search's best mean score is reported too: both wrappers
train the same networks, so it must be alike (the fits are not seeded: equal
up to the draw of initial weights and dropout masks).
"""

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIBS = ("keraslearn", "scikeras")


def _worker(lib, quick):
    import keras
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.model_selection import GridSearchCV

    if lib == "scikeras":
        from scikeras.wrappers import KerasClassifier
    else:
        from keraslearn import KerasClassifier

    def get_clf(meta, hidden_layer_sizes, dropout):
        model = keras.models.Sequential()
        model.add(keras.layers.Input(shape=(meta["n_features_in_"],)))
        for size in hidden_layer_sizes:
            model.add(keras.layers.Dense(size, activation="relu"))
            model.add(keras.layers.Dropout(dropout))
        model.add(keras.layers.Dense(meta["n_classes_"], activation="softmax"))
        return model

    X, y = make_classification(1000, 20, n_informative=8, n_classes=3, random_state=0)
    X = X.astype(np.float32)
    clf = KerasClassifier(
        model=get_clf, loss="sparse_categorical_crossentropy", optimizer="adam",
        optimizer__learning_rate=0.01, model__hidden_layer_sizes=(32,), model__dropout=0.2,
        epochs=10, batch_size=32, verbose=False, validation_split=0.2,
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)],
    )
    grid = {"model__hidden_layer_sizes": [(32,), (64,), (32, 32), (64, 64)],
            "model__dropout": [0.2, 0.5]}
    if quick:
        grid = {"model__hidden_layer_sizes": [(32,), (32, 32)], "model__dropout": [0.2]}
    search = GridSearchCV(clf, grid, cv=3, refit=False, n_jobs=1, error_score="raise")
    t0 = time.perf_counter()
    search.fit(X, y)
    seconds = time.perf_counter() - t0
    return {"s": seconds, "fits": 3 * len(search.cv_results_["params"]),
            "best_score": float(search.best_score_)}


def _run(lib, quick):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", lib]
    if quick:
        cmd.append("--quick")
    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                          env={**__import__("os").environ, **env})
    if proc.returncode != 0:
        raise RuntimeError(f"{lib} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _versions():
    import importlib.metadata as md

    out = {}
    for name in ("keras", "scikeras", "scikit-learn"):
        out[name] = md.version(name)
    for name in ("tensorflow-cpu", "tensorflow"):
        try:
            out["tensorflow"] = f"{md.version(name)} ({name})"
            break
        except md.PackageNotFoundError:
            continue
    return out


def report(runs, seconds):
    medians = {lib: statistics.median(r["s"] for r in runs[lib]) for lib in LIBS}
    ratio = medians["scikeras"] / medians["keraslearn"]
    fits = runs["keraslearn"][0]["fits"]
    rows = []
    for lib in LIBS:
        times = ", ".join(f"{r['s']:.2f}" for r in runs[lib])
        scores = ", ".join(f"{r['best_score']:.3f}" for r in runs[lib])
        rows.append(f"| {lib} | {medians[lib]:.2f} s | {times} | {scores} |")
    versions = ", ".join(f"{k} {v}" for k, v in _versions().items())
    return "\n".join([
        "# scikeras' documented MLP, searched: keraslearn beside scikeras",
        "",
        f"`python benchmarks/scikeras_example.py` ({seconds / 60:.1f} min; see its docstring): "
        f"`GridSearchCV` of {fits} fits over scikeras' tutorial MLP (`Dense` + `Dropout` "
        "layers) with `validation_split=0.2` and `EarlyStopping(monitor=\"val_loss\")`, the "
        "same code under either import, first search in a fresh process, 3 processes per "
        "library, alternated.",
        "",
        "| library | median search time | the runs (s) | best mean CV score, per run |",
        "|---|---|---|---|",
        *rows,
        "",
        f"keraslearn is **{ratio:.1f}x** faster than scikeras on this search (median against "
        "median).",
        "",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, {versions}; "
        f"{time.strftime('%Y-%m-%d', time.gmtime())}.",
        "",
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", choices=LIBS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker, args.quick)))
        return
    start = time.perf_counter()
    runs = {lib: [] for lib in LIBS}
    for _ in range(1 if args.quick else 3):
        for lib in LIBS:
            runs[lib].append(_run(lib, args.quick))
            print(lib, runs[lib][-1], flush=True)
    text = report(runs, time.perf_counter() - start)
    print(text)
    if not args.quick:
        (HERE / "scikeras_example_results.md").write_text(text)
        print("written:", HERE / "scikeras_example_results.md")


if __name__ == "__main__":
    main()
