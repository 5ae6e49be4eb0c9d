"""Fit time on 200,000 x 64, side by side in one process (a short run).

Usage::

    python benchmarks/large_fit.py          # ~3 min: benchmarks/large_fit_results.md
    python benchmarks/large_fit.py --quick  # 60,000 rows, 1 epoch; prints only

Every contestant trains 64 features -> Dense(256, relu) -> Dense(256, relu) ->
Dense(1, sigmoid) with Adam (learning rate 1e-3), batch 256, 3 epochs, no L2
penalty, shuffled every epoch, on the same rows:

- scikit-learn's ``MLPClassifier(hidden_layer_sizes=(256, 256), alpha=0)``,
  in a process of its own without TensorFlow (beside TensorFlow's thread
  pools its BLAS threads ran 15x slower on the 2-core machine), with its BLAS
  threads as they come and with one (faster on a busy 2-core machine);
- raw Keras ``model.fit`` on the NumPy arrays, with ``steps_per_execution``
  1 (the default) and 32 (raw Keras' best), fitting one compiled model again
  (reset to its first weights and optimizer state): its traces are Keras' own;
- keraslearn's ``KerasClassifier`` (a builder of that network) and
  ``MLPClassifier`` (``alpha=0``).

Each contestant first fits 5,000 rows once (its traces are then warm, as in
any process that has fitted the architecture before: raw Keras' in its kept
model, keraslearn's in its own cache); then each is timed on
the whole data in turn, and scored on 20,000 held-out rows. One run, not a
best of several: the figures are for orientation.
"""

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "large_fit_results.md"
HIDDEN, BATCH, LR = (256, 256), 256, 1e-3


def data(n_rows, seed=0):
    """``n_rows`` x 64 float32 features and a binary target (benchmarks/scaling.py too);
    another ``seed`` draws held-out rows of the same rule."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 64)).astype(np.float32)
    y = (X[:, :8].sum(axis=1) + 0.5 * rng.normal(size=n_rows) > 0).astype(int)
    return X, y


# The contestants' fits, ``fit(X, y, n_epochs)``: each trains the network above
# on all the rows for exactly ``n_epochs`` epochs (no early stop, no held-out rows)
# and returns ``predict(X) -> labels``.
def sklearn_mlp(X, y, n_epochs):
    from sklearn.neural_network import MLPClassifier as SkMLP

    return SkMLP(hidden_layer_sizes=HIDDEN, batch_size=BATCH, max_iter=n_epochs, alpha=0.0,
                 learning_rate_init=LR, early_stopping=False, tol=0.0,
                 n_iter_no_change=n_epochs + 1).fit(X, y).predict


def build(meta=None):
    import keras

    n = 64 if meta is None else meta["n_features_in_"]
    return keras.Sequential([keras.Input((n,))] + [
        keras.layers.Dense(u, activation="relu") for u in HIDDEN
    ] + [keras.layers.Dense(1, activation="sigmoid")])


def raw_keras(steps):
    """Raw Keras' ``model.fit`` on the NumPy arrays, ``steps_per_execution=steps``,
    as one fitting an architecture again and again runs it at its fastest: one
    compiled model, whose traced train function Keras keeps, each fit starting
    from the weights and optimizer state it was built with. (A new model per
    fit traces again: ~0.5 s a fit with 1 step per call, ~1 s with 32.)"""
    kept = {}

    def fit(X, y, n_epochs):
        import keras

        if not kept:  # the first fit (the warm-up) builds and traces
            model = build()
            model.compile(optimizer=keras.optimizers.Adam(LR), loss="binary_crossentropy",
                          steps_per_execution=steps)
            model.optimizer.build(model.trainable_variables)
            state = [*model.variables, *model.optimizer.variables]
            kept.update(model=model, state=state, start=[v.numpy() for v in state])
        for variable, value in zip(kept["state"], kept["start"]):
            variable.assign(value)
        model = kept["model"]
        model.fit(X, y, batch_size=BATCH, epochs=n_epochs, verbose=0)
        return lambda X: (model.predict(X, batch_size=4096, verbose=0)[:, 0] > 0.5).astype(int)
    return fit


def keraslearn_classifier(X, y, n_epochs):
    import keras

    import keraslearn

    return keraslearn.KerasClassifier(build, loss="binary_crossentropy",
                                      optimizer=keras.optimizers.Adam(LR), batch_size=BATCH,
                                      epochs=n_epochs, verbose=0).fit(X, y).predict


def keraslearn_mlp(X, y, n_epochs):
    import keraslearn

    return keraslearn.MLPClassifier(
        hidden_layer_sizes=HIDDEN, batch_size=BATCH, max_iter=n_epochs, alpha=0.0,
        learning_rate_init=LR, early_stopping=False, tol=0.0, n_iter_no_change=n_epochs + 1,
    ).fit(X, y).predict


TEST_ROWS = 20_000  # held-out rows of the same rule (seed 1)


def _sklearn_run(n_rows, epochs, threads=None):
    """scikit-learn's MLP timed in a fresh process that never imports TensorFlow:
    (seconds, held-out accuracy)."""
    env = dict(os.environ)
    if threads:
        env.update(OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, "--sklearn", str(n_rows), str(epochs)],
                         capture_output=True, text=True, check=True, env=env)
    seconds, accuracy = out.stdout.strip().splitlines()[-1].split()
    return float(seconds), float(accuracy)


def _sklearn_fit(n_rows, epochs):
    X, y = data(n_rows)
    sklearn_mlp(X[:5000], y[:5000], 1)
    t0 = time.perf_counter()
    predict = sklearn_mlp(X, y, epochs)
    seconds = time.perf_counter() - t0
    X_test, y_test = data(TEST_ROWS, seed=1)
    print(seconds, float((predict(X_test) == y_test).mean()))


def _contestants():
    return {
        "raw Keras, steps_per_execution=1": raw_keras(1),
        "raw Keras, steps_per_execution=32": raw_keras(32),
        "keraslearn KerasClassifier": keraslearn_classifier,
        "keraslearn MLPClassifier": keraslearn_mlp,
    }


def _busy_cpu_seconds():
    """CPU seconds the whole machine spent busy (not idle or waiting), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def measure(n_rows, epochs):
    """(seconds, held-out accuracy) per contestant, and the cores other processes
    kept busy on average meanwhile (None where /proc/stat cannot tell)."""
    import resource

    def own_cpu():
        return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
                   for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))

    busy, mine, wall = _busy_cpu_seconds(), own_cpu(), time.perf_counter()
    results = {
        "scikit-learn MLPClassifier (own process)": _sklearn_run(n_rows, epochs),
        "scikit-learn MLPClassifier (own process, 1 BLAS thread)": _sklearn_run(
            n_rows, epochs, threads=1),
    }
    X, y = data(n_rows)
    X_test, y_test = data(TEST_ROWS, seed=1)
    contestants = _contestants()
    for fit in contestants.values():
        fit(X[:5000], y[:5000], 1)
    for name, fit in contestants.items():
        t0 = time.perf_counter()
        predict = fit(X, y, epochs)
        seconds = time.perf_counter() - t0
        results[name] = seconds, float((predict(X_test) == y_test).mean())
        print(f"{name}: {seconds:.2f} s", file=sys.stderr, flush=True)
    end = _busy_cpu_seconds()
    others = None if busy is None or end is None else max(
        0.0, (end - busy - (own_cpu() - mine)) / (time.perf_counter() - wall))
    return results, others


def report(results, others, n_rows, epochs):
    base = results["raw Keras, steps_per_execution=32"][0]
    load = ("the machine was otherwise idle" if others is not None and others < 0.25 else
            f"**other processes kept {others:.1f} of its {os.cpu_count()} cores busy on "
            "average**: read the figures as orientation" if others is not None else
            "its load by other processes is unknown")
    lines = [
        "# Fit time on medium data: keraslearn beside raw Keras and scikit-learn's MLP",
        "",
        f"Written by `python benchmarks/large_fit.py`: {n_rows:,} rows x 64 float32 features,",
        f"hidden (256, 256), batch {BATCH}, {epochs} epochs, Adam, no L2 penalty (see the",
        "script's docstring). Seconds for the whole fit, one run each in one process after a",
        "warm-up fit; in brackets, ÷ raw Keras' best (`steps_per_execution=32`); accuracy on",
        f"{TEST_ROWS:,} held-out rows. During the run {load}; single runs vary by 10-30% on a",
        "2-core machine. `benchmarks/scaling.py` times the same fits at three sizes, each in",
        "a fresh process.",
        "",
        "| contestant | fit (s) | held-out accuracy |",
        "|---|---|---|",
    ]
    for name, (seconds, accuracy) in results.items():
        lines.append(f"| {name} | {seconds:.2f} ({seconds / base:.2f}x) | {accuracy:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run; writes nothing")
    parser.add_argument("--sklearn", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sklearn:
        return _sklearn_fit(*args.sklearn)
    n_rows, epochs = (60_000, 1) if args.quick else (200_000, 3)
    text = report(*measure(n_rows, epochs), n_rows, epochs)
    print(text)
    if not args.quick:
        OUT.write_text(text)
        print(f"written: {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
