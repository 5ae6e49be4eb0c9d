"""Binary classification of tabular medical data in a Pipeline, with early stopping.

Breast-cancer data bundled with scikit-learn: scale the features, train a small
Keras network that stops when the validation loss has not improved for 8 epochs
(restoring the weights of its best epoch), then report accuracy, precision,
recall, F1 and ROC AUC.
"""

import argparse

# keraslearn first: it hides TensorFlow's start-up logs, which importing keras prints
from keraslearn import KerasClassifier
from keraslearn.evaluation import evaluate

import keras
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def build(meta, hidden=32, dropout=0.2):
    return keras.Sequential([
        keras.Input(meta["X_shape_"][1:]),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(1, activation="sigmoid"),
    ])


def main(output=None):
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    model = make_pipeline(
        StandardScaler(),
        KerasClassifier(
            build, hidden=32, optimizer="adam", optimizer__learning_rate=1e-2,
            epochs=100, batch_size=32, validation_split=0.2, metrics=["accuracy"],
            callbacks=[keras.callbacks.EarlyStopping],
            callbacks__monitor="val_loss", callbacks__patience=8,
            callbacks__restore_best_weights=True, random_state=0,
        ),
    )
    model.fit(X_train, y_train)
    val_loss = model[-1].history_["val_loss"]
    best = int(np.argmin(val_loss)) + 1
    print(f"early stopping: trained {len(val_loss)} of at most 100 epochs; the best "
          f"val_loss ({min(val_loss):.4f}) was at epoch {best}, whose weights were restored")
    report = evaluate(model, X_test, y_test, output_dir=output, name="binary",
                      overwrite=True)
    print(report)
    return {"binary": report, "epochs_run": len(val_loss), "best_epoch": best}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=None)
    main(parser.parse_args().output)
