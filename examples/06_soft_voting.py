"""Soft voting over three networks of different architectures and seeds.

Three Keras networks (one wide hidden layer; two layers; two layers with batch
normalisation), each with dropout and its own seed, are combined by
scikit-learn's ``VotingClassifier(voting="soft")``, which averages their
``predict_proba``. Trained on 40% of the digits, the ensemble is compared with
each of its members on the other 60%.
"""

import argparse

# keraslearn first: it hides TensorFlow's start-up logs, which importing keras prints
from keraslearn import KerasClassifier
from keraslearn.evaluation import evaluate

import keras
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.ensemble import VotingClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split


def build(meta, hidden=(64,), dropout=0.0, batch_norm=False):
    layers = [keras.Input(meta["X_shape_"][1:])]
    for units in hidden:
        layers.append(keras.layers.Dense(units, use_bias=not batch_norm))
        if batch_norm:
            layers.append(keras.layers.BatchNormalization())
        layers.append(keras.layers.Activation("relu"))
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(meta["n_classes_"], activation="softmax"))
    return keras.Sequential(layers)


def network(epochs, seed, **architecture):
    return KerasClassifier(build, **architecture, optimizer="adam",
                           optimizer__learning_rate=2e-3, epochs=epochs, batch_size=32,
                           random_state=seed)


def main(output=None, quick=False):
    epochs = 8 if quick else 15
    digits = load_digits()
    X = digits.data / 16.0  # 64 pixel values in [0, 1]
    X_train, X_test, y_train, y_test = train_test_split(
        X, digits.target, test_size=0.6, stratify=digits.target, random_state=1
    )
    members = [
        ("wide", network(epochs, seed=1, hidden=(256,), dropout=0.2)),
        ("deep", network(epochs, seed=2, hidden=(128, 64), dropout=0.2)),
        ("deep_bn", network(epochs, seed=3, hidden=(128, 64), dropout=0.3, batch_norm=True)),
    ]
    ensemble = VotingClassifier(members, voting="soft").fit(X_train, y_train)

    rows = []
    for name, model in [*ensemble.named_estimators_.items(), ("soft vote", ensemble)]:
        rows.append({
            "model": name,
            "accuracy": accuracy_score(y_test, model.predict(X_test)),
            "log loss": log_loss(y_test, model.predict_proba(X_test)),
        })
    table = pd.DataFrame(rows).set_index("model")
    print(f"held-out digits: {len(y_test)} images; {epochs} epochs per network\n")
    print(table.to_string(float_format="{:.4f}".format))
    vote, members_only = table.iloc[-1], table.iloc[:-1]
    print(f"\nsoft vote vs mean member: {vote['accuracy'] - members_only['accuracy'].mean():+.4f} "
          f"accuracy, {vote['log loss'] - members_only['log loss'].mean():+.4f} log loss")
    print(f"soft vote vs best member: {vote['accuracy'] - members_only['accuracy'].max():+.4f} "
          f"accuracy, {vote['log loss'] - members_only['log loss'].min():+.4f} log loss\n")
    report = evaluate(ensemble, X_test, y_test, output_dir=output,
                      name="soft_voting", overwrite=True)
    print(report)
    return {"soft vote": report, "members": table}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=None)
    parser.add_argument("--quick", action="store_true", help="fewer epochs, for a smoke test")
    args = parser.parse_args()
    main(args.output, quick=args.quick)
