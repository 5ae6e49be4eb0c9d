"""Tables of the results, the design targets with pass/fail, and the machine.

``results`` maps a library to its measures, each a dict of numbers or
``{"na": "reason"}``. Nothing here imports TensorFlow.
"""

import datetime
import os
import platform
from importlib import metadata

from _libs import LABELS, LIBS

BASE = "keraslearn"
OTHERS = [lib for lib in LIBS if lib != BASE]


# ------------------------------------------------------------------- reading
def _get(results, lib, path):
    """The number at ``path`` ("latency.predict_1.ms") or the n/a reason as a str."""
    node = results.get(lib, {})
    for key in path.split("."):
        if isinstance(node, dict) and "na" in node:
            return f"n/a ({node['na']})"
        if not isinstance(node, dict) or key not in node:
            return "not run"
        node = node[key]
    return node


def _num(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def speedup(results, lib):
    """(n_jobs=1 seconds / n_jobs=2 seconds, the two runs) or an n/a str."""
    one, two = _get(results, lib, "njobs_1"), _get(results, lib, "njobs_2")
    for run in (one, two):
        if isinstance(run, str):
            return run
        if "na" in run:
            return f"n/a ({run['na']})"
    return one["s"] / two["s"], one, two


# -------------------------------------------------------------------- format
def _fmt(value, unit):
    if not _num(value):
        return str(value)
    if unit == "ms":
        return f"{value:.2f} ms" if value < 10 else f"{value:.1f} ms"
    if unit == "s":
        if value < 0.1:
            return f"{1000 * value:.1f} ms"
        return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"
    if unit == "x data":
        return f"{value:.2f}× data"
    if unit == "acc":
        return f"{value:.4f}"
    return f"{value:.2f}{unit}"


def _n(count):
    """20000 -> "20k", 2000000 -> "2M"."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if count >= size and count % (size // 10) == 0:
            return f"{count / size:g}{suffix}"
    return str(count)


def rows(cfg):
    """Rows of the main table: label, path, unit. Lower is better except accuracy."""
    g, m = cfg["grid"], cfg["memory"]
    fits = len(g["learning_rates"]) * len(g["batch_sizes"]) * g["cv"]
    mb = m["n_samples"] * m["n_features"] * 4 / 1e6
    return [
        (f"fit {_n(cfg['n_train'])}×{cfg['n_features']}, batch {cfg['batch_size']}, "
         f"{cfg['epochs']} epochs: best of {cfg['fit_repeats']} after 1 warm-up",
         "fit.s", "s"),
        ("first fit in a fresh process (includes tracing)", "fit.cold_s", "s"),
        ("`predict`, 1 row: median over a loop", "latency.predict_1.ms", "ms"),
        ("`predict_proba`, 1 row", "latency.predict_proba_1.ms", "ms"),
        ("`predict`, 100 rows", "latency.predict_100.ms", "ms"),
        ("`predict_proba`, 100 rows", "latency.predict_proba_100.ms", "ms"),
        (f"batch `predict`, {_n(cfg['n_batch_predict'])} rows: best of "
         f"{cfg['batch_repeats']}", "batch_predict.s", "s"),
        (f"GridSearchCV, {fits} fits ({_n(g['n_samples'])} rows, {g['epochs']} epochs), "
         "n_jobs=1: first search in the process", "grid.s", "s"),
        ("same search again in the same process", "grid.again_s", "s"),
        ("same search again with `random_state=0` on every fit",
         "grid.seeded_s", "s"),
        (f"GridSearchCV over {len(g['widths'])} widths of the hidden layer "
         f"({', '.join(map(str, g['widths']))}; {len(g['widths']) * g['cv']} fits), "
         "first search in a fresh process (median of the runs)", "widths.s", "s"),
        ("same width search again in the same process", "widths.again_s", "s"),
        (f"peak extra memory, fit {_n(m['n_samples'])}×{m['n_features']} float32 "
         f"({mb:g} MB), 1 epoch, batch {m['batch_size']}", "memory.ratio", "x data"),
        (f"accuracy on {_n(cfg['n_test'])} held-out rows after the {cfg['epochs']}-epoch fit",
         "accuracy.value", "acc"),
    ]


def _cell(results, lib, path, unit):
    value = _get(results, lib, path)
    text = _fmt(value, unit)
    base = _get(results, BASE, path)
    if lib == BASE or not (_num(value) and _num(base)):
        return text
    if unit == "acc":
        return f"{text} (Δ {100 * (base - value):+.1f} pt)"
    if base > 0:
        return f"{text} ({value / base:.2f}×)"
    return text


def _speedup_cell(results, lib):
    s = speedup(results, lib)
    if isinstance(s, str):
        return s
    ratio, one, two = s
    text = (f"{ratio:.2f}× ({one['s']:.1f} s → {two['s']:.1f} s, {one['fits']} fits, "
            f"{one['s'] / one['fits']:.2f} s/fit serial)")
    ceiling = cpu_ceiling(one, two)
    if ceiling is not None:
        text += (f"; CPU {one['cpu_s']:.1f} s → {two['cpu_s']:.1f} s, "
                 f"ceiling on 2 idle cores {ceiling:.2f}×")
    return text


def cpu_ceiling(one, two):
    """The best n_jobs=2 speed-up 2 idle cores allow, given the CPU work each run did.

    2 x min(wall, CPU)(n_jobs=1) / CPU(n_jobs=2): the parallel run can at best spread
    its CPU work (larger: worker start-up, tracing in each worker) evenly over two
    cores; the serial run took its wall time, or on a busy machine would have taken
    its CPU time with one core to itself.
    """
    if one.get("cpu_s") and two.get("cpu_s"):
        return 2 * min(one["s"], one["cpu_s"]) / two["cpu_s"]
    return None


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "/") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main_table(results, cfg):
    header = ["measure"] + [LABELS[lib] for lib in LIBS]
    table = [[label] + [_cell(results, lib, path, unit) for lib in LIBS]
             for label, path, unit in rows(cfg)]
    table.insert(10, ["GridSearchCV n_jobs=2 ÷ n_jobs=1: speed-up (a larger search)"]
                 + [_speedup_cell(results, lib) for lib in LIBS])
    return _table(header, table)


# ------------------------------------------------------------------- targets
def _ratio_line(a, b, a_label, b_label):
    """"keraslearn 1.20 s vs raw Keras 2.40 s: 2.00× faster" (b / a)."""
    word = "faster" if b >= a else "slower"
    factor = b / a if b >= a else a / b
    return f"{a_label} {_fmt(a, 's')} vs {b_label} {_fmt(b, 's')}: {factor:.2f}× {word}"


def targets(results):
    """Rows (measure, target, measured, verdict) for the DESIGN.md targets."""
    get = lambda lib, path: _get(results, lib, path)  # noqa: E731
    rows = []

    def add(measure, target, ok, measured):
        verdict = "n/a" if ok is None else ("**pass**" if ok else "**FAIL**")
        rows.append([measure, target, measured, verdict])

    kl, raw = get(BASE, "fit.s"), get("keras", "fit.s")
    if _num(kl) and _num(raw):
        add("fit, same model/batch/epochs", "no slower than raw Keras (aim: skorch)",
            kl <= raw, _ratio_line(kl, raw, "keraslearn", "raw Keras"))
    else:
        add("fit, same model/batch/epochs", "no slower than raw Keras", None, f"{kl} / {raw}")

    lat = [get(BASE, f"latency.{m}_1.ms") for m in ("predict", "predict_proba")]
    if all(_num(v) for v in lat):
        add("`predict` / `predict_proba`, 1 row", "≤ 0.5 ms", max(lat) <= 0.5,
            f"{lat[0]:.2f} ms / {lat[1]:.2f} ms")
    else:
        add("`predict` / `predict_proba`, 1 row", "≤ 0.5 ms", None, str(lat))

    kl, raw = get(BASE, "batch_predict.s"), get("keras", "batch_predict.s")
    if _num(kl) and _num(raw):
        add("batch predict, 20k rows", "at least as fast as raw `model.predict`", kl <= raw,
            _ratio_line(kl, raw, "keraslearn", "raw Keras"))
    else:
        add("batch predict, 20k rows", "at least as fast as raw `model.predict`", None,
            f"{kl} / {raw}")

    for label, path in (("GridSearchCV, 12 small fits", "grid.s"),
                        ("GridSearchCV over 4 widths", "widths.s")):
        kl, sk = get(BASE, path), get("scikeras", path)
        if _num(kl) and _num(sk):
            add(label, "≥ 10× faster than scikeras", sk / kl >= 10,
                _ratio_line(kl, sk, "keraslearn", "scikeras"))
        else:
            add(label, "≥ 10× faster than scikeras", None, f"{kl} / {sk}")

    s = speedup(results, BASE)
    if isinstance(s, str):
        add("GridSearchCV n_jobs=2 vs 1", "≥ 1.6× faster", None, s)
    else:
        sk = speedup(results, "scikeras")
        sk_text = sk if isinstance(sk, str) else f"{sk[0]:.2f}×"
        ceiling = cpu_ceiling(s[1], s[2])
        ceiling = "" if ceiling is None else f"; CPU-bound ceiling on 2 idle cores {ceiling:.2f}×"
        add("GridSearchCV n_jobs=2 vs 1", "≥ 1.6× faster", s[0] >= 1.6,
            f"keraslearn {s[0]:.2f}× (scikeras {sk_text}){ceiling}")

    kl = get(BASE, "memory.ratio")
    if _num(kl):
        others = ", ".join(
            f"{LABELS[lib]} {_fmt(get(lib, 'memory.ratio'), 'x data')}"
            for lib in ("keras", "scikeras") if _num(get(lib, "memory.ratio"))
        )
        add("peak extra memory during fit", "≤ 0.5× the data", kl <= 0.5,
            f"keraslearn {kl:.2f}× data" + (f" ({others})" if others else ""))
    else:
        add("peak extra memory during fit", "≤ 0.5× the data", None, str(kl))

    kl, raw = get(BASE, "accuracy.value"), get("keras", "accuracy.value")
    if _num(kl) and _num(raw):
        add("accuracy at equal epochs", "no drop vs raw Keras (≤ 1 pt lower)",
            kl >= raw - 0.01, f"keraslearn {kl:.4f} vs raw Keras {raw:.4f}")
    else:
        add("accuracy at equal epochs", "no drop vs raw Keras", None, f"{kl} / {raw}")
    return rows


def targets_table(results):
    return _table(["measure", "DESIGN.md target", "measured", "verdict"], targets(results))


# --------------------------------------------------------------------- floor
def floor_section(results):
    """What raw Keras alone spends on the grid's 12 fits, beside scikeras / 10 (markdown)."""
    floor = _get(results, BASE, "floor")
    if isinstance(floor, str) or "na" in floor:
        return f"Not measured: {floor if isinstance(floor, str) else floor['na']}."
    fits = _get(results, BASE, "grid.fits")
    fits = fits if _num(fits) else 12
    per_fit = floor["build_ms"] + floor["optimizer_build_ms"] + floor["epochs_ms"]
    total = floor["first_trace_s"] + fits * per_fit / 1000
    rows = [
        ["trace Keras' train function, first model of the process", "once",
         _fmt(floor["first_trace_s"], "s")],
        ["(the same for a later architecture)", "once per architecture",
         _fmt(floor["trace_s"], "s")],
        ["call the model builder and compile", "every fit", _fmt(floor["build_ms"], "ms")],
        ["build the optimizer's state", "every fit", _fmt(floor["optimizer_build_ms"], "ms")],
        [f"{floor['epochs']} epochs through the traced train function", "every fit",
         _fmt(floor["epochs_ms"], "ms")],
        [f"**floor of the first search: first trace + {fits} × per-fit**", "",
         f"**{_fmt(total, 's')}**"],
    ]
    ours, scikeras = _get(results, BASE, "grid.s"), _get(results, "scikeras", "grid.s")
    if _num(scikeras):
        rows.append(["scikeras ÷ 10 (the target)", "", _fmt(scikeras / 10, "s")])
    if _num(ours):
        rows.append(["keraslearn's first search, measured", "", _fmt(ours, "s")])
    text = _table(["raw Keras, same network and data", "paid", "time"], rows)
    if _num(scikeras) and _num(ours):
        text += (f"\n\nThe floor alone is {scikeras / total:.1f}× faster than scikeras' "
                 f"{_fmt(scikeras, 's')}; keraslearn's first search is {scikeras / ours:.1f}×.")
    return text


# ---------------------------------------------------------------------- dask
def dask_section(results):
    """The search of the n_jobs measure on n_jobs=1, loky n_jobs=2 and a
    two-worker Dask cluster (keraslearn), with speed-ups over n_jobs=1."""
    runs = _get(results, BASE, "dask")
    if isinstance(runs, str):
        return f"Not measured: {runs}."
    one = runs["njobs_1"]
    table = []
    for key, label in (("njobs_1", "n_jobs=1"), ("loky_2", "n_jobs=2, loky (fresh pool)"),
                       ("dask_2", "Dask LocalCluster, 2 workers × 1 thread")):
        run = runs[key]
        ceiling = None if key == "njobs_1" else cpu_ceiling(one, run)
        table.append([
            label, f"{run['s']:.1f} s", f"{one['s'] / run['s']:.2f}×", f"{run['cpu_s']:.1f} s",
            "" if ceiling is None else f"{ceiling:.2f}×",
            f"{run['start_s']:.1f} s" if "start_s" in run else "",
        ])
    text = _table(["search", "time", "speed-up vs n_jobs=1", "CPU s",
                   "ceiling on 2 idle cores", "cluster start (not in time)"], table)
    ratio = one["s"] / runs["dask_2"]["s"]
    verdict = "pass" if ratio >= 1.6 else "**not reached**"
    return (f"{text}\n\n{one['fits']} fits. Target ≥ 1.6× over n_jobs=1 on the Dask cluster: "
            f"{ratio:.2f}×, {verdict}.")


# ------------------------------------------------------------------- machine
def cpu_snapshot():
    """(busy CPU seconds of the whole machine, CPU seconds of our finished children, wall)."""
    import resource
    import time

    busy = 0.0
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal: everything but idle and iowait
        busy = (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return busy, ru.ru_utime + ru.ru_stime, time.perf_counter()


def others_cores(start, end):
    """Cores kept busy on average by processes other than the benchmark's, between snapshots."""
    wall = end[2] - start[2]
    if wall <= 0 or end[0] == start[0]:
        return None
    return max(0.0, ((end[0] - start[0]) - (end[1] - start[1])) / wall)


def _proc_field(path, field):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine(others=None):
    mem = _proc_field("/proc/meminfo", "MemTotal")
    if mem.endswith("kB"):
        mem = f"{int(mem.split()[0]) / 2**20:.1f} GiB"
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": _proc_field("/proc/cpuinfo", "model name"),
        "cores": f"{cores} ({usable} usable by this process)",
        "RAM": mem,
        "OS": platform.platform(),
        "cores used by other processes during the run (mean)": (
            "unknown" if others is None else f"{others:.2f}"),
        "python": platform.python_version(),
        # TensorFlow's CPU build is the distribution tensorflow-cpu (Linux x86-64).
        "tensorflow": _tensorflow_version(),
        **{name: _version(name) for name in
           ("keras", "scikit-learn", "scikeras", "numpy", "keraslearn")},
    }


def _tensorflow_version():
    version = _version("tensorflow")
    if version == "not installed":
        cpu = _version("tensorflow-cpu")
        version = cpu if cpu == "not installed" else f"{cpu} (tensorflow-cpu)"
    return version


def machine_table(info):
    return _table(["", ""], [(k, v) for k, v in info.items() if not k.startswith("_")])
