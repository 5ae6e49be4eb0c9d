"""Peak extra memory of a fit on sparse input, keraslearn beside scikeras.

Usage::

    python benchmarks/sparse.py            # ~8 min on 2 cores: benchmarks/sparse_results.md
    python benchmarks/sparse.py --quick    # tiny sizes, to check that it runs

The data: a CSR matrix of density 0.1% (what TfidfVectorizer or OneHotEncoder
give), float64 values and int32 indices. Both libraries train on 100,000 x
50,000 (about 58 MiB sparse, 19 GiB as a dense float32 array) and on 20,000 x
10,000. keraslearn runs with a builder of dense layers (rows densified one
batch at a time) and with one whose input is ``keras.Input(sparse=True)``
(batches stay sparse). scikeras 0.13 keeps X sparse too: it converts it to
``lil_matrix`` and hands it to Keras 3, whose data adapter makes each batch a
sparse tensor. Each fit runs in a fresh process (1 epoch, batch 256, Adam,
Dense(64) -> Dense(1)), after a small warm-up fit that keeps the runtime's own
start-up out of the figure. Extra memory = peak resident set size during the
fit minus the size before it; the target is at most 2x the sparse data.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

FULL = {"large": (100_000, 50_000), "small": (20_000, 10_000), "density": 0.001}
# (the quick large case is 80 MB once dense: over the engine's small-data size, so
# that keraslearn's sparse rows are fed batch by batch as in the full run)
QUICK = {"large": (20_000, 1_000), "small": (2_000, 1_000), "density": 0.01}
RUNS = [("keraslearn", "dense", "large"), ("keraslearn", "sparse", "large"),
        ("scikeras", "dense", "large"), ("keraslearn", "dense", "small"),
        ("keraslearn", "sparse", "small"), ("scikeras", "dense", "small")]


def _data(n, m, density):
    """A CSR matrix of about ``density`` with uniform column positions, built row
    by row (scipy.sparse.random draws positions among all n*m cells at once,
    which needs tens of GB at the large size)."""
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    per_row = max(1, round(m * density))
    indices = np.sort(rng.integers(0, m, size=(n, per_row), dtype=np.int32), axis=1)
    X = sp.csr_matrix((rng.random(n * per_row), indices.ravel(),
                       np.arange(0, n * per_row + 1, per_row, dtype=np.int32)), shape=(n, m))
    X.sum_duplicates()  # the rare column drawn twice in a row
    X.indices = X.indices.astype(np.int32)
    X.indptr = X.indptr.astype(np.int32)
    y = (np.asarray(X.sum(axis=1)).ravel() > 0.5 * per_row).astype(int)
    return X, y


def _builder(sparse_input):
    import keras

    def build(meta):
        inputs = keras.Input((meta["n_features_in_"],), sparse=sparse_input)
        hidden = keras.layers.Dense(64, activation="relu")(inputs)
        return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))

    return build


def measure(lib, mode, n, m, density):

    import _measures

    X, y = _data(n, m, density)
    if lib == "keraslearn":
        from keraslearn import KerasClassifier
    else:
        from scikeras.wrappers import KerasClassifier

    def make():
        return KerasClassifier(_builder(mode == "sparse"), loss="binary_crossentropy",
                               optimizer="adam", batch_size=256, epochs=1, verbose=0)

    make().fit(X[:512], y[:512])  # warm-up: the runtime's start-up is not counted
    est = make()
    extra, seconds = _measures.peak_extra_bytes(lambda: est.fit(X, y))
    sparse_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return {"lib": lib, "mode": mode, "shape": [n, m], "sparse_mb": sparse_bytes / 2**20,
            "dense_mb": n * m * 4 / 2**20, "extra_mb": extra / 2**20,
            "ratio": extra / sparse_bytes, "fit_s": seconds}


def run_all(cfg, timeout):
    rows = []
    for lib, mode, size in RUNS:
        n, m = cfg[size]
        cmd = [sys.executable, __file__, "--one", lib, mode, str(n), str(m), str(cfg["density"])]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            if out.returncode != 0:
                raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
            rows.append({"lib": lib, "mode": mode, "shape": [n, m], "error": str(exc)[:200]})
    return rows


def table(rows):
    lines = ["| library | model input | X (rows x features) | sparse data | dense would be "
             "| peak extra memory | ÷ sparse data | fit |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        shape = f"{r['shape'][0]:,} x {r['shape'][1]:,}"
        if "error" in r:
            lines.append(f"| {r['lib']} | {r['mode']} | {shape} | | | n/a ({r['error']}) | | |")
            continue
        lines.append(
            f"| {r['lib']} | {r['mode']} | {shape} | {r['sparse_mb']:.1f} MiB | "
            f"{r['dense_mb']:,.0f} MiB | {r['extra_mb']:.1f} MiB | {r['ratio']:.2f}x | "
            f"{r['fit_s']:.1f} s |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one", nargs=5, metavar=("LIB", "MODE", "N", "M", "DENSITY"))
    args = parser.parse_args()
    if args.one:
        lib, mode, n, m, density = args.one
        print(json.dumps(measure(lib, mode, int(n), int(m), float(density))))
        return
    rows = run_all(QUICK if args.quick else FULL, timeout=120 if args.quick else 900)
    text = table(rows)
    print(text)
    if not args.quick:
        (HERE / "sparse_results.md").write_text(
            "# Sparse input: peak extra memory of a fit\n\n"
            f"`python benchmarks/sparse.py`, {time.strftime('%Y-%m-%d')}. "
            "Target: at most 2x the sparse data.\n\n" + text + "\n"
        )


if __name__ == "__main__":
    main()
