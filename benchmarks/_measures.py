"""Benchmark measures for one library, run in a fresh process.

``python benchmarks/_measures.py MEASURES LIB CONFIG_JSON OUT_JSON`` runs the
measures (comma-separated, in order, in this one process) and writes a JSON
dict of their results to OUT_JSON. A sub-measure that raises is recorded as
``{"na": "reason"}`` and the others still run.

Measures: ``core`` (fit time, accuracy, predict latency, batch predict),
``grid`` (GridSearchCV of small fits, n_jobs=1), ``floor`` (what
any Keras-based wrapper must spend on those fits, timed on raw Keras), ``njobs`` (a larger
GridSearchCV with n_jobs=1, then n_jobs=2), ``dask`` (that search with n_jobs=1,
n_jobs=2 on loky, and on a two-worker Dask cluster) and ``memory`` (peak extra
resident memory during one fit on large data).
"""

import json
import logging
import os
import resource
import statistics
import sys
import threading
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
warnings.filterwarnings("ignore")

import _libs  # noqa: E402
import numpy as np  # noqa: E402


def _na(exc):
    text = " ".join(str(exc).split())
    return {"na": f"{type(exc).__name__}: {text[:120]}"}


def _try(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any failure of a competitor is a result
        return _na(exc)


def classification(n_samples, n_features, seed):
    """A float32 binary problem that a small MLP learns to ~90% accuracy."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n_samples, n_features=n_features, n_informative=n_features // 2,
        n_redundant=n_features // 8, flip_y=0.03, class_sep=0.8, random_state=seed,
    )
    return X.astype(np.float32), y.astype(np.int64)


# ------------------------------------------------------------------------ core
def _fit_times(lib, X, y, cfg):
    times, est = [], None
    for _ in range(1 + cfg["fit_repeats"]):
        est = _libs.make(lib, batch_size=cfg["batch_size"], epochs=cfg["epochs"])
        t0 = time.perf_counter()
        est.fit(X, y)
        times.append(time.perf_counter() - t0)
    # Best of the timed fits: the machine may be shared, and other work only adds time.
    result = {"cold_s": times[0], "runs_s": times[1:], "s": min(times[1:])}
    return result, est


def _latency_ms(fn, x, cfg):
    for _ in range(cfg["latency_warmup"]):
        fn(x)
    times = []
    deadline = time.perf_counter() + cfg["latency_budget_s"]
    while len(times) < cfg["latency_max_calls"] and (
        len(times) < cfg["latency_min_calls"] or time.perf_counter() < deadline
    ):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return {"ms": 1000 * statistics.median(times), "calls": len(times)}


def _batch_predict(est, X, cfg):
    est.predict(X)  # warm-up
    times = []
    for _ in range(cfg["batch_repeats"]):
        t0 = time.perf_counter()
        est.predict(X)
        times.append(time.perf_counter() - t0)
    return {"s": min(times), "runs_s": times}


def _accuracy(est, X, y):
    return {"value": float(np.mean(np.asarray(est.predict(X)).ravel() == y))}


def measure_core(lib, cfg):
    n_train, n_test = cfg["n_train"], cfg["n_test"]
    X, y = classification(n_train + n_test, cfg["n_features"], seed=0)
    X_train, y_train, X_test, y_test = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    out = {}
    try:
        out["fit"], est = _fit_times(lib, X_train, y_train, cfg)
    except Exception as exc:  # noqa: BLE001
        na = _na(exc)
        return {key: na for key in ("fit", "accuracy", "latency", "batch_predict")}
    out["accuracy"] = _try(_accuracy, est, X_test, y_test)
    latency = {}
    for method in ("predict", "predict_proba"):
        fn = getattr(est, method, None)
        for n in (1, 100):
            key = f"{method}_{n}"
            if fn is None:
                latency[key] = {"na": f"{type(est).__name__} has no {method}"}
            else:
                latency[key] = _try(_latency_ms, fn, X_test[:n], cfg)
    out["latency"] = latency
    out["batch_predict"] = _try(_batch_predict, est, X_train[: cfg["n_batch_predict"]], cfg)
    return out


# ------------------------------------------------------------------------ grid
def _cv_splits(X, y, cv):
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(cv).split(X, y))


def _search(lib, X, y, grid_cfg, n_jobs, seed=None, widths=None):
    """Seconds for one search (no refit) and the number of fits it made.

    ``seed=None``: no library seeds its fits (the process was seeded once);
    an int is passed as each fit's seed (``random_state`` for keraslearn).
    ``widths``: search over the hidden layer's width (at the first learning
    rate and batch size) instead of over learning rates and batch sizes.
    """
    from sklearn.model_selection import GridSearchCV, ParameterGrid

    lrs, sizes, epochs = grid_cfg["learning_rates"], grid_cfg["batch_sizes"], grid_cfg["epochs"]
    if lib == "keras":  # no estimator: the same fits and scores, hand-written
        grid = ({"lr": lrs, "bs": sizes, "hidden": [_libs.HIDDEN]} if widths is None else
                {"lr": lrs[:1], "bs": sizes[:1], "hidden": widths})
        t0 = time.perf_counter()
        fits = 0
        for params in ParameterGrid(grid):
            for train, test in _cv_splits(X, y, grid_cfg["cv"]):
                est = _libs.RawKeras(params["lr"], params["bs"], epochs, seed, params["hidden"])
                np.mean(est.fit(X[train], y[train]).predict(X[test]) == y[test])
                fits += 1
        return time.perf_counter() - t0, fits
    est = _libs.make(lib, learning_rate=lrs[0], batch_size=sizes[0], epochs=epochs, seed=seed)
    if lib == "scikeras" and seed is not None:
        est.set_params(random_state=seed)
    grid = (_libs.param_grid(lib, lrs, sizes, epochs) if widths is None else
            _libs.width_grid(lib, widths, epochs, lrs[0], sizes[0]))
    search = GridSearchCV(est, grid, cv=grid_cfg["cv"], n_jobs=n_jobs, refit=False,
                          error_score="raise")
    t0 = time.perf_counter()
    search.fit(X, y)
    return time.perf_counter() - t0, len(search.cv_results_["params"]) * grid_cfg["cv"]


def measure_grid(lib, cfg):
    g = cfg["grid"]
    X, y = classification(g["n_samples"], cfg["n_features"], seed=1)
    _libs.seed_everything(0)
    first, fits = _search(lib, X, y, g, n_jobs=1)
    again, _ = _search(lib, X, y, g, n_jobs=1)
    out = {"s": first, "again_s": again, "fits": fits}
    if lib in ("keraslearn", "scikeras"):  # what random_state=0 on every fit costs
        seeded = _try(_search, lib, X, y, g, 1, seed=0)
        out["seeded_s"] = seeded if isinstance(seeded, dict) else seeded[0]
    return {"grid": out}


def measure_widths(lib, cfg):
    """The grid's search over 4 widths of the hidden layer (4 architectures x cv
    folds), first in a fresh process, then again."""
    g = cfg["grid"]
    X, y = classification(g["n_samples"], cfg["n_features"], seed=1)
    _libs.seed_everything(0)
    first, fits = _search(lib, X, y, g, n_jobs=1, widths=g["widths"])
    again, _ = _search(lib, X, y, g, n_jobs=1, widths=g["widths"])
    return {"widths": {"s": first, "again_s": again, "fits": fits}}


def _median_ms(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def measure_floor(lib, cfg):
    """What any Keras-based wrapper must spend on the grid's fits, with no wrapper at all.

    In a fresh process, with raw Keras on the grid's network and data: tracing
    Keras' train function for the first model of the process and for a later
    one (a new model's first epoch minus its second), and per fit: calling the
    builder and compiling, building the optimizer's state, and the grid's epochs
    through an already traced train function. The optimizer is built before the
    first epoch, as keraslearn does (building it while tracing costs ~0.15 s more).
    """
    import keras
    import tensorflow as tf

    if lib != "keraslearn":
        return {}
    g = cfg["grid"]
    X, y = classification(g["n_samples"], cfg["n_features"], seed=1)
    n_train = len(_cv_splits(X, y, g["cv"])[0][0])
    data = tf.data.Dataset.from_tensor_slices(
        (X[:n_train], y[:n_train].astype(np.float32))
    ).batch(min(g["batch_sizes"]))
    meta = {"n_features_in_": X.shape[1]}

    def new_model(build_optimizer=True):
        model = _libs.keraslearn_build(meta)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy",
                      steps_per_execution=64)
        if build_optimizer:
            model.optimizer.build(model.trainable_variables)
        return model

    def trace_seconds():
        model = new_model()
        t0 = time.perf_counter()
        model.fit(data, epochs=1, verbose=0)
        t1 = time.perf_counter()
        model.fit(data, epochs=1, verbose=0)
        return (t1 - t0) - (time.perf_counter() - t1), model

    first_trace, warm = trace_seconds()
    later_trace = statistics.median(trace_seconds()[0] for _ in range(3))
    fresh = [new_model(build_optimizer=False) for _ in range(7)]

    def build_optimizer():
        model = fresh.pop()
        model.optimizer.build(model.trainable_variables)

    return {"floor": {
        "first_trace_s": first_trace,
        "trace_s": later_trace,
        "build_ms": _median_ms(lambda: new_model(build_optimizer=False), 7),
        "optimizer_build_ms": _median_ms(build_optimizer, 7),
        "epochs_ms": _median_ms(lambda: warm.fit(data, epochs=g["epochs"], verbose=0), 7),
        "epochs": g["epochs"],
    }}


def _cpu_seconds():
    """CPU time of this process and of its reaped children (joblib's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure_njobs(lib, cfg):
    """The same search with n_jobs=1, then n_jobs=2 (a fresh joblib pool: start-up included).

    CPU seconds are counted too (the workers are shut down after the timed search
    so that theirs are included): unlike wall time, they hardly change when other
    processes share the machine.
    """
    from joblib.externals.loky import get_reusable_executor

    g = cfg["njobs"]["scikeras" if lib == "scikeras" else "default"]
    X, y = classification(g["n_samples"], cfg["n_features"], seed=2)
    out = {}
    for n_jobs in (1, 2):
        _libs.seed_everything(0)
        cpu = _cpu_seconds()
        try:
            seconds, fits = _search(lib, X, y, g, n_jobs=n_jobs)
            get_reusable_executor().shutdown(wait=True)
            out[f"njobs_{n_jobs}"] = {"s": seconds, "fits": fits, "cpu_s": _cpu_seconds() - cpu}
        except Exception as exc:  # noqa: BLE001
            out[f"njobs_{n_jobs}"] = _na(exc)
    return out


def measure_dask(lib, cfg):
    """The n_jobs search with n_jobs=1, n_jobs=2 (loky), then on a Dask
    ``LocalCluster`` of two single-threaded worker processes on 127.0.0.1,
    through joblib's Dask backend.

    The cluster is started before its search is timed (``start_s`` apart), but
    its workers are fresh: like loky's, they import keraslearn and TensorFlow
    inside the timed search. The Dask run's CPU seconds include the cluster's
    start (its workers' CPU is counted once they exit).
    """
    import joblib
    from distributed import Client, LocalCluster
    from joblib.externals.loky import get_reusable_executor

    g = cfg["njobs"]["default"]
    X, y = classification(g["n_samples"], cfg["n_features"], seed=2)
    out = {}
    for key, n_jobs in (("njobs_1", 1), ("loky_2", 2)):
        _libs.seed_everything(0)
        cpu = _cpu_seconds()
        seconds, fits = _search(lib, X, y, g, n_jobs=n_jobs)
        get_reusable_executor().shutdown(wait=True)
        out[key] = {"s": seconds, "fits": fits, "cpu_s": _cpu_seconds() - cpu}
    _libs.seed_everything(0)
    cpu = _cpu_seconds()
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        client.wait_for_workers(2, timeout=120)
        start = time.perf_counter() - t0
        with joblib.parallel_config(backend="dask"):
            seconds, fits = _search(lib, X, y, g, n_jobs=-1)
    finally:
        client.close()
        cluster.close()
    out["dask_2"] = {"s": seconds, "fits": fits, "start_s": start,
                     "cpu_s": _cpu_seconds() - cpu}
    return {"dask": out}


# ---------------------------------------------------------------------- memory
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def _maxrss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


class _PeakPoller(threading.Thread):
    """Polls the resident set size, in case ru_maxrss was set higher before the fit."""

    def __init__(self, interval=0.002):
        super().__init__(daemon=True)
        self.interval, self.peak, self._done = interval, _rss(), threading.Event()

    def run(self):
        while not self._done.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(self.interval)

    def stop(self):
        self._done.set()
        self.join()
        self.peak = max(self.peak, _rss())


def _large_data(n, n_features, seed):
    """float32 rows made in place, without float64 temporaries that would raise ru_maxrss."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, n_features), dtype=np.float32)
    y = np.empty(n, dtype=np.int64)
    w = rng.standard_normal(n_features).astype(np.float32)
    for s in range(0, n, 100_000):
        X[s:s + 100_000] = rng.standard_normal((min(100_000, n - s), n_features), dtype=np.float32)
        y[s:s + 100_000] = X[s:s + 100_000] @ w > 0
    return X, y


def peak_extra_bytes(fit):
    """Run ``fit()`` and return (peak RSS during it minus RSS before it, seconds).

    RSS is sampled every 2 ms; ``ru_maxrss`` catches a peak between samples when
    the process's high-water mark was reached during the call.
    """
    import gc

    gc.collect()
    base, maxrss_before = _rss(), _maxrss()
    poller = _PeakPoller()
    poller.start()
    t0 = time.perf_counter()
    try:
        fit()
    finally:
        poller.stop()
    seconds = time.perf_counter() - t0
    maxrss_after = _maxrss()
    peak = poller.peak
    if maxrss_after > maxrss_before:  # the high-water mark was reached during the call
        peak = max(peak, maxrss_after)
    return max(0, peak - base), seconds


def measure_memory(lib, cfg):

    m = cfg["memory"]
    X, y = _large_data(m["n_samples"], m["n_features"], seed=3)
    # A small fit first, so the runtime (thread pools, traced functions) is not counted.
    small = _libs.make(lib, batch_size=m["batch_size"], epochs=1)
    small.fit(X[:4096], y[:4096])
    est = _libs.make(lib, batch_size=m["batch_size"], epochs=1)
    extra, seconds = peak_extra_bytes(lambda: est.fit(X, y))
    return {"memory": {"extra_bytes": extra, "data_bytes": int(X.nbytes),
                       "ratio": extra / X.nbytes, "fit_s": seconds}}


MEASURES = {"core": measure_core, "grid": measure_grid, "widths": measure_widths,
            "floor": measure_floor,
            "njobs": measure_njobs, "dask": measure_dask, "memory": measure_memory}


def main(argv):
    measures, lib, cfg_json, out_path = argv[1:5]
    cfg = json.loads(cfg_json)
    try:  # quiet TensorFlow (imported in every worker, scikit-learn's MLP's too)
        import absl.logging
        import tensorflow as tf

        absl.logging.set_verbosity(absl.logging.ERROR)
        tf.get_logger().setLevel("ERROR")
    except ImportError:
        pass
    result = {}
    for measure in measures.split(","):
        result.update(MEASURES[measure](lib, cfg))
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv)
