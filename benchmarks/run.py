"""keraslearn beside raw Keras, scikeras, Keras' wrappers and scikit-learn's MLP.

Usage::

    python benchmarks/run.py          # full run, ~20 min on 2 cores: benchmarks/latest_run.md
    python benchmarks/run.py --quick  # smoke run of every measure at tiny sizes, < 2 min
    python benchmarks/run.py --only grid,memory --libs keraslearn,scikeras

Prediction latency of the ready estimators' small-prediction path beside
scikit-learn's MLP and raw Keras, all in one process: ``benchmarks/latency.py``
(benchmarks/latency_results.md).

Every library trains the same network (Dense(64, relu) -> Dense(1, sigmoid) on
32 features; Keras' wrappers need Dense(2, softmax)) with Adam at the same
learning rate, batch size and epochs. Each measure of each library runs in its
own fresh Python process, one after the other (never two at once), so that
imports, traced functions, thread pools and peak memory do not leak between
libraries. A library that is missing or fails a measure gets "n/a (reason)".
Ratios in the main table are the other library's value divided by
keraslearn's: above 1 means keraslearn is faster (or leaner).

A full run writes its report to ``benchmarks/latest_run.md`` (or ``--output``);
``benchmarks/results.md`` is the kept record: the full run the README quotes, the
reruns after it and what was done for each target, edited by hand from such reports.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _report  # noqa: E402
from _libs import LABELS, LIBS  # noqa: E402
from _report import BASE  # noqa: E402

GRID_LRS = [1e-3, 1e-2]
WIDTH_RUNS = 3  # fresh processes per library for the width search

WORK_ON_TARGETS = """\
What was done for each target, what was tried without gain, and the reruns since the full run
the README quotes: [results.md](results.md)."""


FULL = {
    "n_features": 32,
    # fit / accuracy / predict latency / batch predict
    "n_train": 20_000, "n_test": 5_000, "batch_size": 32, "epochs": 5, "fit_repeats": 3,
    "latency_warmup": 5, "latency_budget_s": 2.0, "latency_max_calls": 300,
    "latency_min_calls": 15, "n_batch_predict": 20_000, "batch_repeats": 5,
    # 2 learning rates x 2 batch sizes x cv=3 = 12 fits
    "grid": {"n_samples": 300, "epochs": 3, "cv": 3, "learning_rates": GRID_LRS,
             "batch_sizes": [16, 32], "widths": [8, 16, 32, 64]},
    # about a minute serially with keraslearn (each worker's start-up, some 5 s, is then a
    # small part); scikeras, slower per fit, gets a quarter of the candidates (the same
    # epochs and rows: compare speed-ups and per-fit times, not totals)
    "njobs": {
        "default": {"n_samples": 6_000, "epochs": 150, "cv": 3,
                    "learning_rates": [1e-3, 3e-3, 1e-2, 3e-2], "batch_sizes": [32, 64]},
        "scikeras": {"n_samples": 6_000, "epochs": 150, "cv": 3,
                     "learning_rates": GRID_LRS[:1], "batch_sizes": [32, 64]},
    },
    "memory": {"n_samples": 2_000_000, "n_features": 50, "batch_size": 1024},
}

QUICK = {
    "n_features": 32,
    "n_train": 1_000, "n_test": 500, "batch_size": 32, "epochs": 1, "fit_repeats": 1,
    "latency_warmup": 3, "latency_budget_s": 0.2, "latency_max_calls": 20,
    "latency_min_calls": 3, "n_batch_predict": 1_000, "batch_repeats": 1,
    "grid": {"n_samples": 150, "epochs": 1, "cv": 2, "learning_rates": GRID_LRS[:1],
             "batch_sizes": [32], "widths": [8, 16]},
    "njobs": {
        "default": {"n_samples": 400, "epochs": 1, "cv": 2, "learning_rates": GRID_LRS,
                    "batch_sizes": [32]},
        "scikeras": {"n_samples": 400, "epochs": 1, "cv": 2, "learning_rates": GRID_LRS,
                     "batch_sizes": [32]},
    },
    "memory": {"n_samples": 100_000, "n_features": 50, "batch_size": 1024},
}

# Which result keys a measure fills, so that a crashed process marks each n/a.
KEYS = {"core": ("fit", "accuracy", "latency", "batch_predict"), "grid": ("grid",),
        "widths": ("widths",),
        "floor": ("floor",),
        "njobs": ("njobs_1", "njobs_2"), "dask": ("dask",), "memory": ("memory",)}
NJOBS_LIBS = ("keraslearn", "scikeras")


def plan(quick):
    """(measures, library, timeout in s) in run order, one process each.

    A quick run saves process start-ups by running a library's measures in one
    process (memory first, so that the others do not raise its baseline).
    """
    if quick:
        jobs = [("memory,core,grid,widths", lib, 180) for lib in LIBS]
        return jobs + [("floor", BASE, 180)] + [("njobs", lib, 180) for lib in NJOBS_LIBS] + [
            ("dask", BASE, 180)]
    jobs = [("core", lib, 300) for lib in LIBS]
    jobs += [("grid", lib, 300) for lib in LIBS]
    # Alternated runs of the width search (a first search is one sample of a
    # noisy start-up): each library's run of median time is reported.
    jobs += [("widths", lib, 300) for _ in range(WIDTH_RUNS) for lib in LIBS]
    jobs += [("floor", BASE, 300)]
    jobs += [("njobs", lib, 600) for lib in NJOBS_LIBS]
    jobs += [("dask", BASE, 600)]
    return jobs + [("memory", lib, 300) for lib in LIBS]


def _worker_env():
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PYTHONWARNINGS"] = "ignore"
    # Thread pools as TensorFlow sizes them by default, the same for every library;
    # joblib's workers still get OMP_NUM_THREADS from joblib itself.
    for var in ("OMP_NUM_THREADS", "KERASLEARN_NUM_THREADS"):
        env.pop(var, None)
    return env


def _failure(proc_or_reason):
    if isinstance(proc_or_reason, str):
        return proc_or_reason
    lines = [ln for ln in (proc_or_reason.stderr or "").splitlines() if ln.strip()]
    for line in reversed(lines):  # the exception line of a traceback
        if not line.startswith((" ", "\t")) and ("Error" in line or "Exception" in line):
            return " ".join(line.split())[:160]
    return f"exit code {proc_or_reason.returncode}"


def run_job(measures, lib, cfg, timeout):
    """Run one worker process; its results, or every expected key n/a."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, str(HERE / "_measures.py"), measures, lib, json.dumps(cfg),
               str(out)]
        try:
            proc = subprocess.run(cmd, cwd=HERE, env=_worker_env(), capture_output=True,
                                  text=True, timeout=timeout)
            if proc.returncode == 0 and out.exists():
                return json.loads(out.read_text())
            reason = _failure(proc)
        except subprocess.TimeoutExpired:
            reason = f"timed out after {timeout} s"
    keys = [k for m in measures.split(",") for k in KEYS[m]]
    return {k: {"na": reason} for k in keys}


def _median_run(values):
    """Of several runs' results for one key, the run of median time (``s``);
    a failed run counts only when every run failed."""
    timed = sorted((v for v in values if isinstance(v, dict) and "s" in v), key=lambda v: v["s"])
    if not timed:
        return values[-1]
    median = dict(timed[(len(timed) - 1) // 2])
    if len(timed) > 1:
        median["runs"] = [v["s"] for v in timed]
    return median


def run_all(cfg, quick, only=None, libs=None):
    results = {lib: {} for lib in LIBS}
    jobs = []
    for measures, lib, timeout in plan(quick):
        # a quick run's job holds several measures: keep only those asked for
        kept = [m for m in measures.split(",") if not only or m in only]
        if kept and (not libs or lib in libs):
            jobs.append((",".join(kept), lib, timeout))
    runs = {lib: {} for lib in LIBS}  # key -> its values, for measures run more than once
    for i, (measures, lib, timeout) in enumerate(jobs, 1):
        before = _report.cpu_snapshot()
        print(f"[{i:2}/{len(jobs)}] {measures:<16} {LABELS[lib]:<15}", end=" ", flush=True)
        got = run_job(measures, lib, cfg, timeout)
        for key, value in got.items():
            runs[lib].setdefault(key, []).append(value)
            results[lib][key] = _median_run(runs[lib][key])
        after = _report.cpu_snapshot()
        failed = [k for k, v in got.items() if isinstance(v, dict) and "na" in v]
        others = _report.others_cores(before, after)
        print(f"{after[2] - before[2]:6.1f} s"
              + ("" if others is None else f"  (other processes: {others:.1f} cores)")
              + (f"  n/a: {failed}" if failed else ""), flush=True)
    return results


NOTES = """\
How it is measured (sizes of the full run, from `FULL` in `benchmarks/run.py`):
- Same network for all: Dense(64, relu) → Dense(1, sigmoid) on 32 float32 features, Adam
  (lr 1e-3 unless searched), binary cross-entropy, no metrics. `keras.wrappers.SKLearnClassifier`
  one-hot encodes targets, so its network ends in Dense(2, softmax) with categorical
  cross-entropy; sklearn's `MLPClassifier` uses `hidden_layer_sizes=(64,)`, `solver="adam"`,
  `alpha=0`, `max_iter`=epochs with early stopping off.
- Every measure of every library runs in its own fresh Python process, one at a time.
- Fit: each timed fit starts from a new, unfitted estimator (raw Keras: builds and compiles a
  new model inside the timed region, as the wrappers do); best of 3 timed fits after one
  warm-up fit (best, not median: on a shared machine other work only adds time); the warm-up
  is reported as "first fit". Seeds: keraslearn `random_state=0`, the
  others `keras.utils.set_random_seed(0)` before each fit (scikeras' own `random_state` would
  also switch TensorFlow to deterministic ops, so it is left None).
- Latency: the same 1 or 100 rows predicted in a loop after 5 warm-up calls; median over up to
  300 calls or 2 s. Raw Keras is `model.predict(x, verbose=0)` (threshold 0.5 for `predict`);
  Keras' wrappers print a progress bar on each call and have no `predict_proba`.
- Batch predict: best of 5 after one warm-up, each library's default batch size (raw
  `model.predict` uses 32).
- GridSearchCV: learning rate {1e-3, 1e-2} × batch size {16, 32}, cv=3, `refit=False`, 300 rows,
  3 epochs; the process is seeded once and no fit is seeded (equal for all). "first search"
  includes the first tracing of the network in that process; the target is judged on it. Raw
  Keras runs the same 12 fits and scores in a hand-written loop. The `random_state=0` row gives
  keraslearn and scikeras a seed on every fit, as a user wanting reproducible searches would.
- n_jobs: learning rate {1e-3, 3e-3, 1e-2, 3e-2} × batch size {32, 64}, cv=3 (24 fits), 6,000
  rows, 150 epochs; scikeras runs the same search on 1 of the 4 learning rates (6 fits, the
  same rows and epochs) to keep the run short, so compare its speed-up and per-fit times.
  One fresh process per library runs n_jobs=1, then n_jobs=2 with a new joblib pool (worker
  start-up inside its time). CPU seconds of each run (workers included) give the "ceiling on
  2 idle cores", 2 × min(time, CPU seconds)(n_jobs=1) ÷ CPU seconds(n_jobs=2): the best
  speed-up the work each run did allows.
- Dask: the n_jobs search again in one fresh process, keraslearn only: n_jobs=1, n_jobs=2
  (loky), then on a `distributed.LocalCluster` of 2 worker processes with 1 thread each on
  127.0.0.1, through `joblib.parallel_config(backend="dask")`. The cluster is started before
  the timed search, its workers fresh (they import TensorFlow inside it, as loky's do); its
  start is reported apart. Each worker sizes TensorFlow's pools to its one thread.
- Memory: 2,000,000 × 50 float32 (400 MB) made in place; a 4,096-row fit first (runtime
  start-up not counted); then the RSS is sampled every 2 ms (and `ru_maxrss` checked) during
  one epoch at batch size 1024; reported as (peak RSS − RSS before the fit) / data size.
- Accuracy: on 5,000 held-out rows after the 5-epoch fit above.
"""


def render(results, info, cfg, cfg_name, elapsed):
    others = info.get("_others") or 0.0
    parts = [
        "# keraslearn benchmarks",
        "",
        f"`python benchmarks/run.py{' --quick' if cfg_name == 'quick' else ''}` "
        f"({cfg_name} run, {elapsed / 60:.1f} min)."
        + (" A smoke test at tiny sizes: these numbers measure nothing." if cfg_name == "quick"
           else ""),
        "",
        *([f"**Warning: the machine was shared: other processes kept {others:.1f} of its "
           f"{os.cpu_count()} cores busy on average during this run.** They inflate every time "
           "here, unevenly, and the n_jobs speed-up most of all: rerun on an idle machine before "
           "drawing conclusions from small differences.", ""] if others > 0.25 else []),
        "## Results",
        "",
        "Cells of other libraries: value (its value ÷ keraslearn's; above 1 means keraslearn is "
        "faster or leaner). Accuracy: Δ = keraslearn minus that library, in points. Speed-up: "
        "n_jobs=1 time ÷ n_jobs=2 time.",
        "",
        _report.main_table(results, cfg),
        "",
        "## DESIGN.md performance targets",
        "",
        _report.targets_table(results),
        "",
        WORK_ON_TARGETS,
        "",
        "## Searches on a Dask cluster",
        "",
        _report.dask_section(results),
        "",
        "### The 12-fit search on raw Keras: the floor",
        "",
        _report.floor_section(results),
        "",
        "## Machine",
        "",
        _report.machine_table(info),
        "",
        "## Method",
        "",
        NOTES,
    ]
    return "\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--output", type=Path, default=None,
                        help="markdown file to write (default: benchmarks/latest_run.md for a "
                             "full run, none for --quick)")
    parser.add_argument("--only", default="", help="comma-separated measures: "
                        + ",".join(KEYS))
    parser.add_argument("--libs", default="", help="comma-separated libraries: " + ",".join(LIBS))
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results")
    args = parser.parse_args(argv)
    only = [m for m in args.only.split(",") if m]
    libs = [lib for lib in args.libs.split(",") if lib]
    for name, allowed in ((only, KEYS), (libs, LIBS)):
        unknown = set(name) - set(allowed)
        if unknown:
            parser.error(f"unknown {sorted(unknown)}; choose from {list(allowed)}")

    cfg = QUICK if args.quick else FULL
    start = _report.cpu_snapshot()
    results = run_all(cfg, args.quick, only, libs)
    end = _report.cpu_snapshot()
    elapsed = end[2] - start[2]
    others = _report.others_cores(start, end)
    info = _report.machine(others)
    info["_others"] = others
    text = render(results, info, cfg, "quick" if args.quick else "full", elapsed)
    output = args.output
    if output is None and not args.quick and not only and not libs:
        output = HERE / "latest_run.md"
    if output is not None:
        output.write_text(text + "\n")
    if args.json is not None:
        args.json.write_text(json.dumps(
            {"machine": info, "elapsed_s": elapsed, "results": results}, indent=1))
    print()
    print(text)
    if output is not None:
        print(f"written: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
