"""What the ready networks learn, beside scikit-learn's MLP on the same call.

Usage::

    python benchmarks/quality.py                 # seed 0, ~5 min on 2 cores
    python benchmarks/quality.py --seeds 0 1 2 --output benchmarks/quality_results.md
    python benchmarks/quality.py --quick         # smoke run: 20 epochs, 2 folds

Each library runs the same call,
``make_pipeline(StandardScaler(), MLP*(hidden_layer_sizes=(64, 64), max_iter=300,
early_stopping=..., random_state=seed))``, in the same folds (``KFold(5,
shuffle=True, random_state=0)``; stratified for classifiers), with and without
early stopping, on scikit-learn's diabetes, breast cancer and digits data and
on the generated house-price table of ``examples/03_house_prices.py`` (prices
in $100,000s, columns on scales from 0.001 to 10,000).

Reported per data set: the mean test score over folds and seeds (MAE for
regression, lower is better; accuracy for classification), keraslearn's score
relative to scikit-learn's, the epochs each fold ran, and the lowest
``best_validation_score_`` of any fold (a negative R² means that fold stopped
before it had learnt anything). scikit-learn's MLP runs with one BLAS thread:
on 2 shared cores more threads only make it slower.
"""

import argparse
import importlib.util
import os
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import accuracy_score, mean_absolute_error  # noqa: E402
from sklearn.model_selection import KFold, StratifiedKFold  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import keraslearn  # noqa: E402

HERE = Path(__file__).resolve().parent


def _houses():
    path = HERE.parent / "examples" / "03_house_prices.py"
    spec = importlib.util.spec_from_file_location("house_prices_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    houses, price = module.make_houses()
    return houses.to_numpy(), price.to_numpy()


# name -> (loader, task)
DATASETS = {
    "diabetes": (lambda: datasets.load_diabetes(return_X_y=True), "regression"),
    "houses": (_houses, "regression"),
    "breast_cancer": (lambda: datasets.load_breast_cancer(return_X_y=True), "classification"),
    "digits": (lambda: datasets.load_digits(return_X_y=True), "classification"),
}
LIBS = {
    "scikit-learn": {"regression": SkMLPRegressor, "classification": SkMLPClassifier},
    "keraslearn": {"regression": keraslearn.MLPRegressor,
                   "classification": keraslearn.MLPClassifier},
}


def run_one(lib, name, early_stopping, seed, *, max_iter=300, n_splits=5):
    """Per-fold scores, epochs, best validation scores and fit seconds."""
    load, task = DATASETS[name]
    X, y = load()
    cv = (KFold if task == "regression" else StratifiedKFold)(
        n_splits, shuffle=True, random_state=0)
    out = {"score": [], "n_iter": [], "best_val": [], "fit_s": []}
    for train, test in cv.split(X, y):
        est = make_pipeline(StandardScaler(), LIBS[lib][task](
            hidden_layer_sizes=(64, 64), max_iter=max_iter, early_stopping=early_stopping,
            random_state=seed))
        start = time.perf_counter()
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X[train], y[train])
        out["fit_s"].append(time.perf_counter() - start)
        predicted = est.predict(X[test])
        metric = mean_absolute_error if task == "regression" else accuracy_score
        out["score"].append(float(metric(y[test], predicted)))
        out["n_iter"].append(int(est[-1].n_iter_))
        best = est[-1].best_validation_score_
        out["best_val"].append(None if best is None else float(best))
    return out


def table(results, seeds, n_splits=5):
    lines = [
        "| data set | early stopping | metric | scikit-learn | keraslearn | keraslearn / "
        "scikit-learn | epochs per fold (sklearn; keraslearn) | lowest best validation "
        "score (sklearn; keraslearn) | fit s (sklearn; keraslearn) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, es), by_lib in results.items():
        task = DATASETS[name][1]
        metric = "MAE ↓" if task == "regression" else "accuracy ↑"
        sk, kl = by_lib["scikit-learn"], by_lib["keraslearn"]
        mean_sk, mean_kl = np.mean(sk["score"]), np.mean(kl["score"])

        def epochs(r):
            return " ".join(str(n) for n in r["n_iter"])

        def lowest(r):
            vals = [v for v in r["best_val"] if v is not None]
            return f"{min(vals):.3f}" if vals else "—"

        lines.append(
            f"| {name} | {'yes' if es else 'no'} | {metric} | {mean_sk:.4g} | {mean_kl:.4g} | "
            f"{mean_kl / mean_sk:.3f} | {epochs(sk)}; {epochs(kl)} | {lowest(sk)}; {lowest(kl)} "
            f"| {sum(sk['fit_s']):.1f}; {sum(kl['fit_s']):.1f} |"
        )
    seeds_text = ", ".join(str(s) for s in seeds)
    lines.append("")
    lines.append(
        f"Means over {n_splits} folds and random_state in ({seeds_text}); epochs are listed "
        "fold by "
        "fold, seed after seed. MAE: keraslearn / scikit-learn below 1 is better; accuracy: "
        "above 1 is better."
    )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--quick", action="store_true", help="20 epochs, 2 folds: a smoke run")
    parser.add_argument("--output", help="also write the table to this markdown file")
    args = parser.parse_args(argv)
    sizes = {"max_iter": 20, "n_splits": 2} if args.quick else {}
    results = {}
    for name in args.datasets:
        for es in (True, False):
            by_lib = {}
            for lib in LIBS:
                runs = [run_one(lib, name, es, seed, **sizes) for seed in args.seeds]
                by_lib[lib] = {k: [v for r in runs for v in r[k]] for k in runs[0]}
            results[name, es] = by_lib
            print(f"{name}, early_stopping={es}: done", flush=True)
    text = table(results, args.seeds, sizes.get("n_splits", 5))
    print(text)
    if args.output:
        Path(args.output).write_text(
            "# Ready networks beside scikit-learn's MLP\n\n"
            "`python benchmarks/quality.py "
            f"--seeds {' '.join(str(s) for s in args.seeds)}` on a 2-core CPU machine; "
            "see the script's docstring for the call.\n\n" + text + "\n"
        )


if __name__ == "__main__":
    main()
