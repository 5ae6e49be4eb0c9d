"""Resident memory of a long search: many architectures fitted in one process.

Usage::

    python benchmarks/arch_memory.py          # 10-20 min on 2 cores: arch_memory_results.md
    python benchmarks/arch_memory.py --quick  # 10/20/30 fits, ~1 min; prints only
    python benchmarks/arch_memory.py --only kerasclassifier   # those rows; prints only

A randomized search fits many networks of different shapes in one process and
drops each fitted estimator once it is scored. Every contestant here does the
same, in a fresh process of its own (three at a time): fit a network of width
8, then 9, 10, ... (each width once, so each fit is a new architecture), on 320
rows x 32 float32 features, 1 epoch, batch 32, Adam; predict the 320 rows
once; drop the fitted model. The resident set size (RSS, after
``gc.collect()``) is recorded after the first fit and after 50, 200 and 500
fits:

- raw Keras: ``Sequential([Input(32), Dense(width, relu), Dense(1,
  sigmoid)])``, ``compile``, ``fit``, ``predict``, dropped;
- keraslearn's ``KerasClassifier`` with a builder of that network, the same
  with ``metrics=["accuracy"]`` (computed by keraslearn's dense chain
  trainer too, as every metric Keras averages over samples), with
  ``metrics=["auc"]`` (computed there too, as the counts over thresholds
  are), with a builder compiling ``keras.metrics.AUC()`` made anew at each
  call (Keras names each by a count over the process: ``auc_57``), and as
  scikeras documents early stopping:
  ``validation_split=0.2`` with ``metrics=["accuracy"]`` and
  ``EarlyStopping(monitor="val_loss")``, 3 epochs, and with a
  ``Dropout(0.2)`` after the hidden layer;
- keraslearn's ``MLPClassifier(hidden_layer_sizes=(width,))``, the same
  with every fit repeated 5 times (a 5-fold search: 1 architecture per 5 fits),
  and with ``early_stopping=True`` for 3 epochs (its held-out score after
  each epoch).

``--diagnose`` (about 3 minutes, prints only) attributes keraslearn's growth:
the ``KerasClassifier`` run again with TensorFlow's gradient registry emptied
of the entries each fit added, and with TensorFlow's eager kernel cache
cleared after every fit. Both use TensorFlow internals and reset state other
code may rely on: they are measurements, never something to run in a real
process.
"""

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

HERE = Path(__file__).resolve().parent
OUT = HERE / "arch_memory_results.md"
N_ROWS, N_FEATURES, BATCH, FIRST_WIDTH = 320, 32, 32, 8
CHECKPOINTS = (50, 200, 500)
QUICK_CHECKPOINTS = (10, 20, 30)
CONTESTANTS = {
    "keras": "raw Keras",
    "kerasclassifier": "keraslearn KerasClassifier",
    "kerasclassifier_accuracy": "keraslearn KerasClassifier with metrics=[\"accuracy\"]",
    "kerasclassifier_metrics": "keraslearn KerasClassifier with metrics=[\"auc\"]",
    "kerasclassifier_auc_object": "keraslearn KerasClassifier, a builder compiling "
                                  "metrics=[keras.metrics.AUC()]",
    "kerasclassifier_validation": "keraslearn KerasClassifier with validation_split=0.2, "
                                  "metrics=[\"accuracy\"], EarlyStopping on val_loss, "
                                  "3 epochs",
    "kerasclassifier_dropout": "keraslearn KerasClassifier with Dropout(0.2) after the hidden "
                               "layer (scikeras' MLP example)",
    "mlp": "keraslearn MLPClassifier",
    "mlp_5fold": "keraslearn MLPClassifier, each width fitted 5 times",
    "mlp_early_stopping": "keraslearn MLPClassifier(early_stopping=True, max_iter=3)",
}
DIAGNOSES = {
    "kerasclassifier": "KerasClassifier as it is",
    "kerasclassifier:registry": "gradient registry emptied after each fit",
    "kerasclassifier:registry,kernels": "that, and the kernel cache cleared after each fit",
}
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE / 2**20


# ---------------------------------------------------------------- the worker
def _fitter(lib):
    """A callable fitting, predicting with and dropping one network of a width."""
    import keras
    import numpy as np

    import keraslearn

    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_ROWS, N_FEATURES)).astype(np.float32)
    y = (X[:, :4].sum(axis=1) + 0.5 * rng.normal(size=N_ROWS) > 0).astype(np.int64)

    def network(width, dropout=None):
        return keras.Sequential([keras.Input((N_FEATURES,)),
                                 keras.layers.Dense(width, activation="relu"),
                                 *([keras.layers.Dropout(dropout)] if dropout else []),
                                 keras.layers.Dense(1, activation="sigmoid")])

    def raw(width):
        model = network(width)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
        model.fit(X, y, batch_size=BATCH, epochs=1, verbose=0)
        model.predict(X, verbose=0)

    def wrapper(width, dropout=None, **kwargs):
        est = keraslearn.KerasClassifier(lambda meta: network(width, dropout),
                                         loss="binary_crossentropy",
                                         optimizer="adam", batch_size=BATCH, verbose=0,
                                         **{"epochs": 1, **kwargs})
        est.fit(X, y).predict(X)

    def wrapper_accuracy(width):
        wrapper(width, metrics=["accuracy"])

    def wrapper_metrics(width):
        wrapper(width, metrics=["auc"])

    def wrapper_auc_object(width):
        def build(meta):  # a metric object made at each call, as builders make them
            model = network(width)
            model.compile(optimizer="adam", loss="binary_crossentropy",
                          metrics=[keras.metrics.AUC()])
            return model

        keraslearn.KerasClassifier(build, batch_size=BATCH, verbose=0, epochs=1).fit(
            X, y).predict(X)

    def wrapper_validation(width):
        # scikeras' documented pattern: a held-out fraction watched by EarlyStopping.
        wrapper(width, metrics=["accuracy"], validation_split=0.2, epochs=3, callbacks=[
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=1,
                                          restore_best_weights=True)])

    def wrapper_dropout(width):
        wrapper(width, dropout=0.2)

    def mlp(width, **kwargs):
        est = keraslearn.MLPClassifier(hidden_layer_sizes=(width,), batch_size=BATCH,
                                       **{"max_iter": 1, **kwargs})
        est.fit(X, y).predict(X)

    def mlp_early_stopping(width):
        mlp(width, early_stopping=True, max_iter=3)

    return {"keras": raw, "kerasclassifier": wrapper, "kerasclassifier_accuracy": wrapper_accuracy,
            "kerasclassifier_metrics": wrapper_metrics,
            "kerasclassifier_auc_object": wrapper_auc_object,
            "kerasclassifier_validation": wrapper_validation,
            "kerasclassifier_dropout": wrapper_dropout,
            "mlp": mlp, "mlp_5fold": mlp, "mlp_early_stopping": mlp_early_stopping}[lib]


def _diagnosis_hooks(options):
    """Callables run after each fit that undo one of TensorFlow's growths
    (internal APIs: for attribution only)."""
    hooks = []
    if "registry" in options:
        from tensorflow.python.framework import ops

        registry = ops._gradient_registry._registry
        before = set(registry)

        def empty_registry():
            for name in [name for name in registry if name not in before]:
                del registry[name]
        hooks.append(empty_registry)
    if "kernels" in options:
        from tensorflow.python.eager import context

        hooks.append(lambda: context.context().clear_kernel_cache())
    return hooks


def worker(spec, checkpoints):
    """Fit ``max(checkpoints)`` networks; print one JSON line per checkpoint."""
    import keras

    lib, _, options = spec.partition(":")
    keras.utils.set_random_seed(0)
    fit = _fitter(lib)
    hooks = _diagnosis_hooks(options.split(","))
    repeats = 5 if lib == "mlp_5fold" else 1
    t0 = time.perf_counter()
    for i in range(max(checkpoints)):
        fit(FIRST_WIDTH + i // repeats)
        for hook in hooks:
            hook()
        if i == 0 or i + 1 in checkpoints:
            gc.collect()
            models = sum(isinstance(o, keras.Model) for o in gc.get_objects())
            print(json.dumps({"fits": i + 1, "rss_mib": _rss_mib(), "live_models": models,
                              "seconds": time.perf_counter() - t0}), flush=True)


# ---------------------------------------------------------------- the parent
def _run(spec, checkpoints):
    args = [sys.executable, __file__, "--worker", spec, ",".join(map(str, checkpoints))]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(HERE.parent / "src")] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    out = subprocess.run(args, capture_output=True, text=True, env=env)
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode:
        print(out.stderr[-2000:], file=sys.stderr)
    print(f"{spec}: {rows[-1] if rows else 'failed'}", file=sys.stderr, flush=True)
    return {row["fits"]: row for row in rows}


def measure(specs, checkpoints, jobs):
    with ThreadPoolExecutor(jobs) as pool:
        futures = {spec: pool.submit(_run, spec, checkpoints) for spec in specs}
        return {spec: future.result() for spec, future in futures.items()}


def _cell(rows, fits, first):
    if fits not in rows:
        return "n/a"
    rss = rows[fits]["rss_mib"]
    return f"{rss:,.0f} (+{rss - first:,.0f})"


def table(results, labels, checkpoints):
    lines = ["| contestant | after 1 fit | " + " | ".join(f"after {n}" for n in checkpoints)
             + " | MiB per fit, last interval | s per fit |",
             "|---|---|" + "---|" * len(checkpoints) + "---|---|"]
    for spec, rows in results.items():
        if 1 not in rows:
            lines.append(f"| {labels[spec]} | failed |" + " |" * (len(checkpoints) + 2))
            continue
        first = rows[1]["rss_mib"]
        cells = [_cell(rows, n, first) for n in checkpoints]
        a, b = checkpoints[-2], checkpoints[-1]
        slope = ((rows[b]["rss_mib"] - rows[a]["rss_mib"]) / (b - a)
                 if a in rows and b in rows else float("nan"))
        last = rows[max(rows)]
        lines.append(f"| {labels[spec]} | {first:,.0f} | " + " | ".join(cells)
                     + f" | {slope:.2f} | {last['seconds'] / last['fits']:.2f} |")
    return lines


def report(results, checkpoints, seconds, jobs):
    from _report import _tensorflow_version, _version

    lines = [
        "# Memory of a long search: RSS after many architecture fits",
        "",
        "Written by `python benchmarks/arch_memory.py` (see its docstring): in one fresh",
        "process per contestant, networks 32 -> Dense(width, relu) -> Dense(1, sigmoid) of",
        f"widths {FIRST_WIDTH}, {FIRST_WIDTH + 1}, {FIRST_WIDTH + 2}, ... fitted one after the"
        f" other ({N_ROWS} rows, 1 epoch,",
        f"batch {BATCH}, Adam), each predicting once and then dropped. Resident set size in MiB",
        "after `gc.collect()`; in brackets, the growth since the first fit.",
        "",
        *table(results, CONTESTANTS, checkpoints),
        "",
        f"Machine: {os.cpu_count()} CPU cores, **possibly shared with other jobs** ({jobs}"
        f" contestants ran at a time; {seconds / 60:.1f} minutes in all; load average"
        f" {os.getloadavg()[0]:.1f} at the end); {platform.platform()}, Python"
        f" {platform.python_version()}, TensorFlow {_tensorflow_version()}, Keras"
        f" {_version('keras')}; {time.strftime('%Y-%m-%d')}. Seconds per fit are for orientation"
        " only.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10/20/30 fits; writes nothing")
    parser.add_argument("--diagnose", action="store_true",
                        help="attribute keraslearn's growth (200 fits); writes nothing")
    parser.add_argument("--jobs", type=int, default=3, help="contestants run at once")
    parser.add_argument("--only", default="",
                        help="comma-separated contestants to run (" + ",".join(CONTESTANTS)
                        + "); prints their rows, writes nothing")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker[0], [int(n) for n in args.worker[1].split(",")])
    t0 = time.perf_counter()
    if args.diagnose:
        checkpoints = QUICK_CHECKPOINTS if args.quick else (50, 200)
        results = measure(list(DIAGNOSES), checkpoints, args.jobs)
        print("\n".join(table(results, DIAGNOSES, checkpoints)))
        return None
    checkpoints = QUICK_CHECKPOINTS if args.quick else CHECKPOINTS
    only = [name for name in args.only.split(",") if name]
    unknown = sorted(set(only) - set(CONTESTANTS))
    if unknown:
        parser.error(f"unknown contestants {unknown}; choose from {list(CONTESTANTS)}")
    results = measure(only or list(CONTESTANTS), checkpoints, args.jobs)
    text = report(results, checkpoints, time.perf_counter() - t0, args.jobs)
    print(text)
    if not args.quick and not only:
        OUT.write_text(text)
        print(f"written: {OUT}", file=sys.stderr)
    return None


if __name__ == "__main__":
    main()
