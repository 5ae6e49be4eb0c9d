"""Prediction latency on 1 and 100 rows, side by side in one process.

Usage::

    python benchmarks/latency.py          # ~1.5 min: benchmarks/latency_results.md
    python benchmarks/latency.py --quick  # smoke run, a few seconds, prints only

Every contestant predicts with the same network: 32 features -> Dense(64,
relu) -> Dense(1, sigmoid), trained briefly on the same 2,000 rows:

- scikit-learn's ``MLPClassifier(hidden_layer_sizes=(64,))``;
- keraslearn's ``MLPClassifier`` (the same parameters): its NumPy path for
  small predictions, and the same estimator with
  ``config_context(fast_small_predictions=False)`` (TensorFlow, as before);
- keraslearn's ``KerasClassifier`` with a builder of that network: NumPy's
  forward pass over the weights read at every call (the user's code builds
  the network and may keep it), and the same with TensorFlow's path;
- keraslearn's ``MLPClassifier`` once its network is handed out (``model_``
  read): weights read at every call too;
- raw Keras: ``model.predict(x, verbose=0)`` and the eager call ``model(x)``.

Calls are interleaved: each round times every contestant in turn (after
warm-up calls), so that the load of a shared machine falls on all alike; the
figure is the median of all calls of all rounds.
"""

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "latency_results.md"
N_FEATURES, HIDDEN, N_TRAIN = 32, 64, 2_000


def _contestants(X, y):
    """name -> (predict, predict_proba) callables taking an array."""
    import keras
    from sklearn.neural_network import MLPClassifier as SkMLP

    import keraslearn

    sk = SkMLP(hidden_layer_sizes=(HIDDEN,), max_iter=5, random_state=0).fit(X, y)
    kl = keraslearn.MLPClassifier(hidden_layer_sizes=(HIDDEN,), max_iter=5,
                                  random_state=0).fit(X, y)

    def build(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(HIDDEN, activation="relu"),
                                 keras.layers.Dense(1, activation="sigmoid")])

    wrapper = keraslearn.KerasClassifier(build, loss="binary_crossentropy", epochs=2,
                                         verbose=0, random_state=0).fit(X, y)
    handed_out = keraslearn.MLPClassifier(hidden_layer_sizes=(HIDDEN,), max_iter=5,
                                          random_state=0).fit(X, y)
    handed_out.model_  # noqa: B018 (reading it hands the network out)
    raw = build({"n_features_in_": N_FEATURES})
    raw.compile(optimizer="adam", loss="binary_crossentropy")
    raw.fit(X, y, epochs=2, verbose=0)

    def plain(method):
        def call(x):
            with keraslearn.config_context(fast_small_predictions=False):
                return method(x)
        return call

    def raw_predict(x):
        return (raw.predict(x, verbose=0) > 0.5).astype(int).ravel()

    def raw_proba(x):
        return raw.predict(x, verbose=0)

    def raw_call(x):
        return np.asarray(raw(x, training=False))

    return {
        "scikit-learn MLPClassifier": (sk.predict, sk.predict_proba),
        "keraslearn MLPClassifier (NumPy path)": (kl.predict, kl.predict_proba),
        "keraslearn MLPClassifier, fast_small_predictions=False":
            (plain(kl.predict), plain(kl.predict_proba)),
        "keraslearn MLPClassifier, network handed out (NumPy, weights read per call)":
            (handed_out.predict, handed_out.predict_proba),
        "keraslearn KerasClassifier (NumPy, weights read per call)":
            (wrapper.predict, wrapper.predict_proba),
        "keraslearn KerasClassifier, fast_small_predictions=False":
            (plain(wrapper.predict), plain(wrapper.predict_proba)),
        "raw Keras `model.predict(x)`": (raw_predict, raw_proba),
        "raw Keras `model(x)` (eager)": (None, raw_call),
    }, (kl, wrapper)


def _time_calls(fn, x, n_calls):
    times = []
    for _ in range(n_calls):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return times


def measure(quick):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_TRAIN, N_FEATURES)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] - X[:, 2] > 0).astype(int)
    contestants, (kl, wrapper) = _contestants(X, y)
    rounds, calls, warmup = (2, 5, 3) if quick else (7, 60, 10)
    results = {}
    for rows in (1, 100):
        x = X[:rows]
        # Same answers before any timing: the NumPy path is the network's own.
        for est, name in ((kl, "MLPClassifier"), (wrapper, "KerasClassifier")):
            np.testing.assert_allclose(est.predict_proba(x), contestants[
                f"keraslearn {name}, fast_small_predictions=False"][1](x), rtol=1e-5,
                atol=1e-6)
        for fns in contestants.values():
            for fn in fns:
                if fn is not None:
                    _time_calls(fn, x, warmup)
        for _ in range(rounds):
            for name, fns in contestants.items():
                for method, fn in zip(("predict", "predict_proba"), fns):
                    if fn is None:
                        continue
                    # model.predict costs ~100x the others: fewer calls per round.
                    n = max(3, calls // 10) if "model.predict" in name else calls
                    results.setdefault((name, method, rows), []).extend(
                        _time_calls(fn, x, n))
    return {key: float(np.median(v)) * 1e3 for key, v in results.items()}


def _cpu_name():
    from _report import _proc_field

    name = _proc_field("/proc/cpuinfo", "model name")
    return platform.processor() or platform.machine() if name == "unknown" else name


def report(ms):
    names = list(dict.fromkeys(name for name, _, _ in ms))
    base = "scikit-learn MLPClassifier"
    lines = [
        "# Prediction latency: keraslearn beside scikit-learn's MLP and raw Keras",
        "",
        "Written by `python benchmarks/latency.py`. Median milliseconds per call (lower is",
        "better); in brackets, the time divided by scikit-learn's MLP's for the same call",
        "(the target: at most 1.5x). Same network everywhere: 32 features -> Dense(64, relu)",
        "-> Dense(1, sigmoid).",
        "",
        f"Taken {time.strftime('%Y-%m-%d', time.gmtime())} on {_cpu_name()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}. The contestants were",
        "timed interleaved, round by round, in one process, so that other load on the machine",
        "falls on all alike: the ratios are the meaningful part.",
        "",
        "| contestant | `predict`, 1 row | `predict_proba`, 1 row | `predict`, 100 rows "
        "| `predict_proba`, 100 rows |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        cells = []
        for rows in (1, 100):
            for method in ("predict", "predict_proba"):
                value = ms.get((name, method, rows))
                if value is None:
                    cells.append("n/a")
                    continue
                ratio = value / ms[(base, method, rows)]
                cells.append(f"{value:.3f} ({ratio:.2f}x)")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "- keraslearn's NumPy path: up to 1,024 rows are predicted with a NumPy forward pass",
        "  (networks made only of Dense, Activation, Dropout, BatchNormalization and Flatten",
        "  layers, Sequential or a functional chain). A ready estimator uses a snapshot of its",
        "  network's weights taken after each keraslearn fit, `partial_fit` or load; the",
        "  wrappers' networks (built by the user's code, which may keep them) and a ready",
        "  estimator's network once handed out (reading `model_`, a callback of the user's) are",
        "  read at every call, each variable straight from its handle, so that any change to",
        "  them is seen. Outputs are checked equal to TensorFlow's before timing.",
        "- `fast_small_predictions=False` is the TensorFlow path keraslearn took before (one",
        "  traced call per prediction), timed in the same run.",
        "- Raw Keras `model(x)` is an eager call (no `predict`): only probabilities.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run; writes nothing")
    args = parser.parse_args(argv)
    text = report(measure(args.quick))
    print(text)
    if not args.quick:
        OUT.write_text(text)
        print(f"written: {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
