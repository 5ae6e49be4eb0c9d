"""Stacking a network, a random forest and an SVM under a logistic regression.

scikit-learn's ``StackingClassifier`` trains each base model on the training
data, collects their out-of-fold scores (5-fold cross-validation, so the
meta-model never sees a prediction made on a model's own training rows):
``predict_proba`` of the network and the forest, ``decision_function`` of the
SVM, and fits a ``LogisticRegression`` on them. The Keras network is one base
model among the others: it is cloned, refitted per fold and asked for
probabilities like any scikit-learn classifier. The stack is compared with
each base model on held-out breast-cancer data.
"""

import argparse

# keraslearn first: it hides TensorFlow's start-up logs, which importing keras prints
from keraslearn import KerasClassifier
from keraslearn.evaluation import evaluate

import keras
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier, StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def build(meta, hidden=32, dropout=0.2):
    return keras.Sequential([
        keras.Input(meta["X_shape_"][1:]),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(1, activation="sigmoid"),
    ])


def main(output=None, quick=False):
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    base_models = [
        ("network", make_pipeline(StandardScaler(), KerasClassifier(
            build, hidden=32, optimizer="adam", optimizer__learning_rate=3e-3,
            epochs=15 if quick else 30, batch_size=32, random_state=0))),
        ("random_forest", RandomForestClassifier(n_estimators=100 if quick else 300,
                                                 random_state=0)),
        ("svm", make_pipeline(StandardScaler(), SVC())),
    ]
    stack = StackingClassifier(
        base_models, final_estimator=LogisticRegression(),
        cv=StratifiedKFold(3 if quick else 5, shuffle=True, random_state=0),
    ).fit(X_train, y_train)

    rows = []
    for name, model in [*stack.named_estimators_.items(), ("stack", stack)]:
        has_proba = hasattr(model, "predict_proba")
        score = (model.predict_proba(X_test)[:, 1] if has_proba
                 else model.decision_function(X_test))
        rows.append({
            "model": name,
            "accuracy": accuracy_score(y_test, model.predict(X_test)),
            "ROC AUC": roc_auc_score(y_test, score),
            "log loss": log_loss(y_test, score) if has_proba else float("nan"),
        })
    print(f"held-out breast-cancer data: {len(y_test)} patients\n")
    table = pd.DataFrame(rows).set_index("model")
    print(table.to_string(float_format="{:.4f}".format, na_rep="-"))
    weights = stack.final_estimator_.coef_.ravel()
    print("\nlogistic-regression weight of each base model's score:",
          ", ".join(f"{name} {w:.2f}" for name, w in zip(stack.named_estimators_, weights)))
    print()
    report = evaluate(stack, X_test, y_test, output_dir=output, name="stacking",
                      overwrite=True)
    print(report)
    return {"stack": report, "base models": table}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=None)
    parser.add_argument("--quick", action="store_true",
                        help="fewer folds, trees and epochs, for a smoke test")
    args = parser.parse_args()
    main(args.output, quick=args.quick)
