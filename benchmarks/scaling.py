"""How a fit's cost grows with the rows: fit time and peak extra memory at 20,000,
200,000 and 2,000,000 rows, beside the machine's measured matrix-multiply rate.

Usage::

    python benchmarks/scaling.py          # ~6-9 min on 2 idle cores: benchmarks/scaling_results.md
    python benchmarks/scaling.py --quick  # 2,000 / 5,000 / 10,000 rows, 1 epoch; prints only

The network, data and training are benchmarks/large_fit.py's (imported from
it): 64 float32 features -> Dense(256, relu) -> Dense(256, relu) -> Dense(1,
sigmoid), Adam (learning rate 1e-3), batch 256, no L2 penalty, shuffled every
epoch, exactly 3 epochs at every size (the same epochs everywhere, so that the
time from one size to the next grows by the ratio of the rows when the cost is
linear). The contestants:

- keraslearn's ``KerasClassifier`` (a builder of that network) and
  ``MLPClassifier(hidden_layer_sizes=(256, 256), alpha=0)``, without early
  stopping or held-out rows (``early_stopping=False``, ``tol=0``,
  ``n_iter_no_change`` above the epochs);
- raw Keras ``model.fit`` on the NumPy arrays, ``steps_per_execution`` 1 (the
  default) and 32, fitting one compiled model again, reset to its first
  weights and optimizer state (``large_fit.raw_keras``: Keras keeps its traces);
- scikit-learn's ``MLPClassifier`` with the same settings, in a process that
  never imports TensorFlow, on one BLAS thread (threadpoolctl; faster than its
  default threads on a 2-core machine, see large_fit_results.md).

Each (contestant, size) runs in a fresh process: it makes the data (not
timed), fits 5,000 rows for one epoch (a warm-up: the runtime's start-up and
the architecture's traces are then out of the figure, as in any process that
has fitted it before: raw Keras' in its kept model, keraslearn's in its own
cache), then times the fit on all the rows and samples its
peak extra resident memory (``_measures.peak_extra_bytes``: peak RSS during
the fit minus RSS before it). One run each, not a best of several. Then each
fitted model predicts 20,000 held-out rows of the same rule: accuracy at equal
epochs, so that no contestant is faster by learning less.

Per fit: seconds; microseconds per row per epoch (flat when time grows
linearly); peak extra memory; the achieved rate, training FLOPs / seconds, with
training FLOPs = 3 x 2 x (64*256 + 256*256 + 256*1) per row per epoch (the
usual count: backward ~ twice the forward multiply-adds); and that rate as a
percentage of the machine's float32 matrix-multiply rate. That rate is
measured first, in processes of its own: TensorFlow's ``tf.linalg.matmul``
(its default thread pools: every core) on the shapes a training step
multiplies (a batch of 256 rows through the first layer, 256x64 @ 64x256, and
through a hidden layer, 256x256 @ 256x256) and on 2048x2048 matrices, and
NumPy's ``matmul`` on its default threads and on one; best of several runs of
chained multiplies. The reference ("the hardware's limit" here) is
TensorFlow's rate at the network's shapes: the two shapes' rates weighted by
their share of a row's multiply work (1:4; the 256->1 output layer, 0.3%, is
left out).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _report  # noqa: E402
import large_fit  # noqa: E402

OUT = HERE / "scaling_results.md"
FULL = {"sizes": (20_000, 200_000, 2_000_000), "epochs": 3, "timeout": 1800,
        "matmul_s": 0.5, "matmul_runs": 5}
QUICK = {"sizes": (2_000, 5_000, 10_000), "epochs": 1, "timeout": 300,
         "matmul_s": 0.05, "matmul_runs": 2}
WARMUP_ROWS = 5_000
TEST_ROWS = 20_000  # held-out rows of the same rule: accuracy at equal epochs
N_FEATURES = 64
CONTESTANTS = {
    "keraslearn": "keraslearn KerasClassifier",
    "keraslearn_mlp": "keraslearn MLPClassifier",
    "keras_1": "raw Keras, steps_per_execution=1",
    "keras_32": "raw Keras, steps_per_execution=32",
    "sklearn": "scikit-learn MLPClassifier (1 BLAS thread)",
}
KERASLEARN = ("keraslearn", "keraslearn_mlp")
RAW_KERAS = ("keras_1", "keras_32")

# Multiply-adds per row through each layer: input -> 256 -> 256 -> 1.
_LAYERS = [(N_FEATURES, large_fit.HIDDEN[0]), (large_fit.HIDDEN[0], large_fit.HIDDEN[1]),
           (large_fit.HIDDEN[1], 1)]
FLOPS_PER_ROW_EPOCH = 3 * 2 * sum(a * b for a, b in _LAYERS)
N_WEIGHTS = sum(a * b + b for a, b in _LAYERS)

# Matrix multiplies timed (label, m, k, n): x (m x k) times w (k x n). A square w
# is orthogonal and multiplied in a chain; otherwise x @ w @ w.T (w's rows
# orthonormal) so that the values neither grow nor vanish.
BATCH = large_fit.BATCH
MATMULS = [
    ("first layer: 256x64 @ 64x256, and back", BATCH, N_FEATURES, large_fit.HIDDEN[0]),
    ("hidden layer: 256x256 @ 256x256", BATCH, large_fit.HIDDEN[0], large_fit.HIDDEN[1]),
    ("large: 2048x2048 @ 2048x2048", 2048, 2048, 2048),
]
# The reference weights the two network shapes by their share of a row's multiply work.
_SHARES = {MATMULS[0][0]: _LAYERS[0][0] * _LAYERS[0][1],
           MATMULS[1][0]: _LAYERS[1][0] * _LAYERS[1][1]}


# ------------------------------------------------------------ matrix multiply
def _chain_weights(k, n, rng):
    import numpy as np

    q, _ = np.linalg.qr(rng.standard_normal((max(k, n), min(k, n))))
    w = (q if k >= n else q.T).astype(np.float32)  # k x n, orthonormal rows or columns
    return [w] if k == n else [w, np.ascontiguousarray(w.T)]


def _best_gflops(run, flops_per_rep, target_s, runs):
    """GFLOP/s of the fastest of ``runs`` calls of ``run(reps)``, each ~``target_s``."""
    run(1)  # warm: traced, buffers allocated
    t0 = time.perf_counter()
    run(1)
    reps = max(1, math.ceil(target_s / max(time.perf_counter() - t0, 1e-6)))
    best = math.inf
    for _ in range(runs):
        t0 = time.perf_counter()
        run(reps)
        best = min(best, time.perf_counter() - t0)
    return reps * flops_per_rep / best / 1e9


def _tf_chain(ws):
    import tensorflow as tf

    @tf.function
    def chain(x, reps):
        for _ in tf.range(reps):
            for w in ws:
                x = tf.linalg.matmul(x, w)
        return x

    return chain


def _matmul_tf(target_s, runs):
    import numpy as np
    import tensorflow as tf

    rates, rng = {}, np.random.default_rng(0)
    for label, m, k, n in MATMULS:
        ws = [tf.constant(w) for w in _chain_weights(k, n, rng)]
        x0 = tf.constant(rng.standard_normal((m, k)).astype(np.float32))
        chain = _tf_chain(ws)

        def run(reps, chain=chain, x0=x0):
            chain(x0, tf.constant(reps)).numpy()

        flops = sum(2 * m * w.shape[0] * w.shape[1] for w in ws)
        rates[label] = _best_gflops(run, flops, target_s, runs)
    return rates


def _numpy_chain(ws, m, k, rng):
    """``run(reps)``: the chain of multiplies, each into the buffer the last one read."""
    import numpy as np

    bufs = [rng.standard_normal((m, k)).astype(np.float32),
            np.empty((m, ws[0].shape[1]), np.float32)]

    def run(reps):
        for _ in range(reps):
            for w in ws:
                np.matmul(bufs[0], w, out=bufs[1])
                bufs.reverse()

    return run


def _matmul_numpy(target_s, runs):
    import numpy as np
    from threadpoolctl import threadpool_limits

    def rates():
        out, rng = {}, np.random.default_rng(0)
        for label, m, k, n in MATMULS:
            ws = _chain_weights(k, n, rng)
            out[label] = _best_gflops(_numpy_chain(ws, m, k, rng),
                                      sum(2 * m * w.shape[0] * w.shape[1] for w in ws),
                                      target_s, runs)
        return out

    default = rates()
    with threadpool_limits(limits=1, user_api="blas"):
        single = rates()
    return {"default": default, "1": single}


def reference_rate(tf_rates):
    """TensorFlow's rate at the network's shapes: weighted by their share of the work."""
    total = sum(_SHARES.values())
    return total / sum(share / tf_rates[label] for label, share in _SHARES.items())


# ------------------------------------------------------------------- one fit
def _one(name, n_rows, epochs):
    import _measures

    if name == "sklearn":
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(limits=1, user_api="blas")  # noqa: F841 - held to the end
        fit = large_fit.sklearn_mlp
    else:
        import absl.logging
        import tensorflow as tf

        absl.logging.set_verbosity(absl.logging.ERROR)
        tf.get_logger().setLevel("ERROR")
        fit = {"keraslearn": large_fit.keraslearn_classifier,
               "keraslearn_mlp": large_fit.keraslearn_mlp,
               "keras_1": large_fit.raw_keras(1),
               "keras_32": large_fit.raw_keras(32)}[name]
    t0 = time.perf_counter()
    X, y = large_fit.data(n_rows)
    data_s = time.perf_counter() - t0
    fit(X[:WARMUP_ROWS], y[:WARMUP_ROWS], 1)
    fitted = {}
    extra, seconds = _measures.peak_extra_bytes(lambda: fitted.setdefault("predict",
                                                                          fit(X, y, epochs)))
    if name == "sklearn" and "tensorflow" in sys.modules:
        raise RuntimeError("TensorFlow was imported in scikit-learn's process")
    X_test, y_test = large_fit.data(TEST_ROWS, seed=1)
    accuracy = float(np.mean(fitted["predict"](X_test) == y_test))
    return {"s": seconds, "extra_bytes": extra, "data_bytes": int(X.nbytes), "data_s": data_s,
            "accuracy": accuracy}


# ------------------------------------------------------------------- the runs
def _child(args, timeout):
    """The JSON a child process prints last, or {"error": reason}."""
    try:
        out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout} s"}
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        tail = out.stderr.strip().splitlines()
        return {"error": (tail[-1] if tail else f"exit {out.returncode}")[:200]}
    return json.loads(lines[-1])


def run_all(cfg):
    matmul = {}
    for lib in ("tensorflow", "numpy"):
        matmul[lib] = _child(["--matmul", lib, str(cfg["matmul_s"]), str(cfg["matmul_runs"])],
                             cfg["timeout"])
        print(f"matmul, {lib}: {matmul[lib]}", file=sys.stderr, flush=True)
    fits = {}
    for n_rows in cfg["sizes"]:
        for name in CONTESTANTS:
            t0 = time.perf_counter()
            result = _child(["--one", name, str(n_rows), str(cfg["epochs"])], cfg["timeout"])
            fits[name, n_rows] = result
            print(f"{CONTESTANTS[name]}, {n_rows:,} rows: {result} "
                  f"({time.perf_counter() - t0:.0f} s with start-up)", file=sys.stderr, flush=True)
    return matmul, fits


# -------------------------------------------------------------------- report
def _mib(n_bytes):
    return n_bytes / 2**20


def _ok(result):
    return "error" not in result


def fits_table(fits, cfg, reference):
    epochs, sizes = cfg["epochs"], cfg["sizes"]
    lines = ["| contestant | rows | fit (s) | µs / row / epoch | peak extra memory | GFLOP/s "
             "| % of matmul rate | ÷ raw Keras' best | ÷ scikit-learn | held-out accuracy |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, label in CONTESTANTS.items():
        for n_rows in sizes:
            r = fits[name, n_rows]
            if not _ok(r):
                lines.append(f"| {label} | {n_rows:,} | n/a ({r['error']}) | | | | | | | |")
                continue
            gflops = FLOPS_PER_ROW_EPOCH * n_rows * epochs / r["s"] / 1e9
            ratios = ["", ""]
            if name in KERASLEARN:
                raw = [fits[k, n_rows]["s"] for k in RAW_KERAS if _ok(fits[k, n_rows])]
                sk = fits["sklearn", n_rows]
                ratios = [f"{r['s'] / min(raw):.2f}x" if raw else "n/a",
                          f"{r['s'] / sk['s']:.2f}x" if _ok(sk) else "n/a"]
            percent = f"{100 * gflops / reference:.0f}%" if reference else "n/a"
            lines.append(
                f"| {label} | {n_rows:,} | {r['s']:.2f} | {1e6 * r['s'] / (n_rows * epochs):.1f} "
                f"| {_mib(r['extra_bytes']):.1f} MiB | {gflops:.1f} | {percent} "
                f"| {ratios[0]} | {ratios[1]} | {r.get('accuracy', float('nan')):.4f} |")
    return "\n".join(lines)


def growth_table(fits, cfg):
    sizes = cfg["sizes"]
    steps = list(zip(sizes, sizes[1:]))
    head = [f"time, {_report._n(a)} → {_report._n(b)} (linear: ×{b / a:g})" for a, b in steps]
    lines = ["| contestant | " + " | ".join(head) + " | peak extra memory, "
             + " / ".join(_report._n(n) for n in sizes) + f" | at {_report._n(sizes[-1])}, "
             "÷ its data |",
             "|---|" + "---|" * (len(steps) + 2)]
    for name, label in CONTESTANTS.items():
        rs = [fits[name, n] for n in sizes]
        cells = [f"×{b['s'] / a['s']:.1f}" if _ok(a) and _ok(b) else "n/a"
                 for a, b in zip(rs, rs[1:])]
        memory = " / ".join(f"{_mib(r['extra_bytes']):.0f}" if _ok(r) else "n/a" for r in rs)
        last = rs[-1]
        of_data = f"{last['extra_bytes'] / last['data_bytes']:.2f}x" if _ok(last) else "n/a"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {memory} MiB | {of_data} |")
    return "\n".join(lines)


def matmul_table(matmul):
    tf_rates, np_rates = matmul["tensorflow"], matmul["numpy"]
    lines = ["| float32 multiply | TensorFlow (default threads) | NumPy (default threads) "
             "| NumPy (1 thread) |", "|---|---|---|---|"]
    for label, *_ in MATMULS:
        cells = [f"{tf_rates[label]:.1f}" if _ok(tf_rates) else "n/a"]
        for threads in ("default", "1"):
            cells.append(f"{np_rates[threads][label]:.1f}" if _ok(np_rates) else "n/a")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\nGFLOP/s, best of several runs of chained multiplies."


def findings(fits, cfg, matmul, reference):
    """Bullet lines computed from the figures: linearity, flatness, hardware use."""
    sizes, epochs = cfg["sizes"], cfg["epochs"]
    mid, large = sizes[-2], sizes[-1]
    step = large / mid
    linear, more, flat, growing = [], [], [], []
    for name, label in CONTESTANTS.items():
        a, b, small = fits[name, mid], fits[name, large], fits[name, sizes[0]]
        if not (_ok(a) and _ok(b) and _ok(small)):
            continue
        growth = b["s"] / a["s"]
        (linear if growth <= 1.2 * step else more).append(f"{label} ×{growth:.1f}")
        added = b["extra_bytes"] - small["extra_bytes"]
        (flat if added <= 0.1 * b["data_bytes"] else growing).append(
            f"{label} {_mib(added):+.0f} MiB")
    bullets = [
        f"- Time from {mid:,} to {large:,} rows, linear: ×{step:g} (counted linear up to "
        f"×{1.2 * step:g}; below ×{step:g}, a fixed cost per fit is spread over more rows). "
        f"Linear: {'; '.join(linear) or 'none'}."
        + (f" More than linear, the cost per row rising: {'; '.join(more)}." if more else ""),
        f"- Extra memory from {sizes[0]:,} to {large:,} rows (counted flat when it grows by at "
        f"most a tenth of the {_mib(large * N_FEATURES * 4):.0f} MiB of data). "
        f"Flat: {'; '.join(flat) or 'none'}."
        + (f" Growing with the data: {'; '.join(growing)}." if growing else ""),
    ]
    rated = [(FLOPS_PER_ROW_EPOCH * n * epochs / r["s"] / 1e9, CONTESTANTS[name], n)
             for (name, n), r in fits.items() if _ok(r)]
    if rated and reference:
        best, label, n = max(rated)
        bullets.append(
            f"- The reference rate, TensorFlow's multiply at the network's shapes, is "
            f"{reference:.1f} GFLOP/s; the best fit reached {best:.1f} GFLOP/s "
            f"({100 * best / reference:.0f}%: {label}, {n:,} rows). A training step also "
            f"applies activations, the loss, Adam's update of {N_WEIGHTS:,} weights and the "
            "feeding of its batch, none of them counted in its FLOPs.")
    if _ok(matmul["numpy"]) and reference:
        one = matmul["numpy"]["1"]
        ceiling = sum(_SHARES.values()) / sum(s / one[k] for k, s in _SHARES.items())
        bullets.append(
            f"- scikit-learn's MLP multiplies through NumPy on one BLAS thread, whose rate at "
            f"the network's shapes, weighted as the reference is, is {ceiling:.1f} GFLOP/s "
            f"({100 * ceiling / reference:.0f}% of the reference).")
    bullets += [
        "- The FLOP count is the usual 3x the forward pass; the first layer needs no gradient "
        "of its input, so the exact count is 2.8x and every rate here is ~7% high.",
        "- keraslearn copies data of up to 64 MiB into tensors once (at 200,000 rows X is 49 "
        "MiB) and gathers each batch of larger data from the NumPy array, without a copy of "
        "the whole; raw Keras' `model.fit` copies the arrays into tensors at every size.",
    ]
    data_s = [r["data_s"] for r in fits.values() if _ok(r)]
    if data_s:
        bullets.append(f"- Making the data, not timed, took at most {max(data_s):.1f} s.")
    return "\n".join(bullets)


def report(matmul, fits, cfg, info, elapsed):
    reference = reference_rate(matmul["tensorflow"]) if _ok(matmul["tensorflow"]) else None
    others = info.get("_others") or 0.0
    method = (
        f"Written by `python benchmarks/scaling.py` ({elapsed / 60:.0f} min): {N_FEATURES} "
        f"float32 features, hidden (256, 256), batch {BATCH}, {cfg['epochs']} "
        f"epoch{'s' if cfg['epochs'] > 1 else ''} at every "
        "size, Adam, no L2 penalty (see the script's docstring). Each fit in a fresh process "
        "after a 5,000-row warm-up fit; one run each. GFLOP/s = 3 x 2 x (64·256 + 256·256 + "
        f"256·1) = {FLOPS_PER_ROW_EPOCH:,} FLOPs per row per epoch ÷ fit seconds; % of the "
        "machine's float32 matrix-multiply rate at the network's shapes ("
        + (f"{reference:.1f}" if reference else "n/a")
        + " GFLOP/s, TensorFlow, below). ÷ columns: keraslearn's time ÷ the faster raw Keras "
        "configuration's and ÷ scikit-learn's at the same size (below 1: keraslearn is faster).")
    parts = [
        f"# How cost grows: fit time and peak extra memory from {cfg['sizes'][0]:,} to "
        f"{cfg['sizes'][-1]:,} rows",
        "",
        method,
        "",
        *([f"**The machine was shared: other processes kept {others:.1f} of its "
           f"{os.cpu_count()} cores busy on average during this run.** Times are inflated, "
           "unevenly; rerun on an idle machine before drawing conclusions.", ""]
          if others > 0.25 else []),
        fits_table(fits, cfg, reference),
        "",
        "## Growth",
        "",
        growth_table(fits, cfg),
        "",
        findings(fits, cfg, matmul, reference),
        "",
        "## The machine's matrix-multiply rate",
        "",
        matmul_table(matmul),
        "",
        "The reference is TensorFlow's column at the two network shapes, weighted by their "
        "share of a row's multiply work (1:4).",
        "",
        "## Machine",
        "",
        _report.machine_table(info),
        "",
    ]
    return "\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, 1 epoch: a smoke run; writes nothing")
    parser.add_argument("--one", nargs=3, metavar=("CONTESTANT", "ROWS", "EPOCHS"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--matmul", nargs=3, metavar=("LIB", "SECONDS", "RUNS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        name, n_rows, epochs = args.one
        print(json.dumps(_one(name, int(n_rows), int(epochs))))
        return
    if args.matmul:
        lib, target_s, runs = args.matmul
        measure = _matmul_tf if lib == "tensorflow" else _matmul_numpy
        print(json.dumps(measure(float(target_s), int(runs))))
        return
    cfg = QUICK if args.quick else FULL
    start, t0 = _report.cpu_snapshot(), time.perf_counter()
    matmul, fits = run_all(cfg)
    others = _report.others_cores(start, _report.cpu_snapshot())
    info = {**_report.machine(others), "_others": others}
    text = report(matmul, fits, cfg, info, time.perf_counter() - t0)
    print(text)
    if not args.quick:
        OUT.write_text(text)
        print(f"written: {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
