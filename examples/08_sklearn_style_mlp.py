"""scikit-learn's MLPClassifier, swapped for keraslearn's: same code, Keras training.

The same constructor arguments (``hidden_layer_sizes``, ``alpha``,
``learning_rate_init``, ``max_iter``, ``early_stopping``, ...) and the same
fitted attributes (``n_iter_``, ``loss_curve_``, ``validation_scores_``,
``best_validation_score_``) work with both classes. keraslearn adds Keras-only
options under their own names; here ``dropout``, and ``reduce_lr_on_plateau``
halving the learning rate whenever the validation accuracy (the score
scikit-learn's early stopping watches) has not improved for 3 epochs.
"""

import argparse

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from keraslearn import MLPClassifier
from keraslearn.evaluation import evaluate


def sparkline(values, width=12, fmt="{:.3f}"):
    """A few evenly spaced values of a curve (first and last included), for printing."""
    idx = np.unique(np.linspace(0, len(values) - 1, min(width, len(values))).astype(int))
    return " ".join(fmt.format(values[i]) for i in idx)


def main(output=None, quick=False):
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=0.25, stratify=digits.target, random_state=0
    )
    common = dict(  # scikit-learn's names and meanings
        hidden_layer_sizes=(128, 64), alpha=1e-4, learning_rate_init=2e-3,
        max_iter=40 if quick else 100, early_stopping=True, validation_fraction=0.15,
        n_iter_no_change=8, random_state=0,
    )
    models = {
        "sklearn MLPClassifier": SklearnMLPClassifier(**common),
        "keraslearn MLPClassifier": MLPClassifier(
            **common, dropout=0.1,
            # Keras' ReduceLROnPlateau arguments; it watches val_loss unless told
            reduce_lr_on_plateau={"monitor": "val_accuracy", "mode": "max", "patience": 3}),
    }
    reports, rows, learning_rates = {}, [], []
    for name, mlp in models.items():
        model = make_pipeline(StandardScaler(), mlp)
        model.fit(X_train, y_train)
        report = evaluate(model, X_test, y_test, output_dir=output,
                          name=name.replace(" ", "_"), overwrite=True)
        reports[name] = report
        rows.append({
            "model": name, "epochs run": mlp.n_iter_,
            "test accuracy": report.metrics["accuracy"],
            "test macro F1": report.metrics["f1_macro"],
        })
        print(f"{name}: stopped after {mlp.n_iter_} of at most {common['max_iter']} epochs")
        print(f"  loss_curve_:        {sparkline(mlp.loss_curve_)}")
        print(f"  validation_scores_: {sparkline(mlp.validation_scores_)}"
              f" (best {mlp.best_validation_score_:.4f}: each on its own held-out rows,"
              " so compare the test scores below)")
        if hasattr(mlp, "history_"):  # keraslearn's: Keras' history, per epoch
            learning_rates = mlp.history_["learning_rate"]
            print(f"  learning rate:      {sparkline(learning_rates, fmt='{:.2g}')}"
                  " (reduce_lr_on_plateau)")
    print()
    print(pd.DataFrame(rows).set_index("model").to_string(float_format="{:.4f}".format))
    print()
    print(reports["keraslearn MLPClassifier"])
    return {**reports, "learning_rates": learning_rates}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=None)
    parser.add_argument("--quick", action="store_true", help="fewer epochs, for a smoke test")
    args = parser.parse_args()
    main(args.output, quick=args.quick)
