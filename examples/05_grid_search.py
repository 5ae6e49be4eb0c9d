"""Grid search over batch size, epochs, learning rate, number of layers and units.

Every knob of a Keras network is an estimator parameter, so ``GridSearchCV``
searches them like any other: ``batch_size`` and ``epochs`` (fit settings),
``optimizer__learning_rate`` (routed to the optimizer) and ``n_layers`` /
``units`` (arguments of the model-building function). The network sits in a
``Pipeline`` after a ``StandardScaler``, so the scaler is refitted on each
training fold. The best pipeline, refitted on the whole training set, is
evaluated on held-out data.
"""

import argparse
import time

# keraslearn first: it hides TensorFlow's start-up logs, which importing keras prints
from keraslearn import KerasClassifier
from keraslearn.evaluation import evaluate

import keras
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def build(meta, n_layers=1, units=32):
    layers = [keras.Input(meta["X_shape_"][1:])]
    layers += [keras.layers.Dense(units, activation="relu") for _ in range(n_layers)]
    layers.append(keras.layers.Dense(1, activation="sigmoid"))
    return keras.Sequential(layers)


def main(output=None, quick=False):
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    pipe = Pipeline([
        ("scale", StandardScaler()),
        ("net", KerasClassifier(build, n_layers=1, units=32, optimizer="adam",
                                metrics=["accuracy"], random_state=0)),
    ])
    grid = {
        "net__batch_size": [32, 128],
        "net__epochs": [5, 15],
        "net__optimizer__learning_rate": [1e-3, 1e-2],
        "net__n_layers": [1, 2],
        "net__units": [16, 64],
    }
    if quick:  # 8 candidates instead of 32
        grid.update({"net__batch_size": [32], "net__epochs": [15]})
    search = GridSearchCV(pipe, grid, cv=StratifiedKFold(2, shuffle=True, random_state=0),
                          scoring="accuracy", n_jobs=1)
    start = time.perf_counter()
    search.fit(X_train, y_train)
    n_candidates = len(search.cv_results_["params"])
    print(f"{n_candidates} candidates x 2 folds = {2 * n_candidates} fits "
          f"in {time.perf_counter() - start:.1f} s")
    best = {k.removeprefix("net__"): v for k, v in search.best_params_.items()}
    print(f"best parameters: {best}")
    print(f"best cross-validated accuracy: {search.best_score_:.4f}\n")

    results = pd.DataFrame(search.cv_results_).sort_values("rank_test_score")
    columns = {f"param_{k}": k.removeprefix("net__").removeprefix("optimizer__")
               for k in grid}
    columns.update(mean_test_score="mean acc", std_test_score="std acc",
                   mean_fit_time="fit s", rank_test_score="rank")
    top = results[list(columns)].rename(columns=columns).head(5)
    print("top 5 of cv_results_:")
    print(top.to_string(index=False, float_format="{:.4g}".format))
    print()
    report = evaluate(search, X_test, y_test, output_dir=output,
                      name="grid_search_best", overwrite=True)
    print(report)
    return {"best": report, "search": search}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=None)
    parser.add_argument("--quick", action="store_true", help="a smaller grid, for a smoke test")
    args = parser.parse_args()
    main(args.output, quick=args.quick)
