"""Digits the MNIST way: Flatten -> Dense(128, relu) -> Dense(10, softmax), 5 epochs.

The first network of most Keras tutorials, trained on the 8x8 digit images
bundled with scikit-learn (MNIST needs a download) and used as a scikit-learn
classifier: ``fit`` on images, ``score``, and a report with the confusion
matrix and one-vs-rest ROC curves.
"""

import argparse

# keraslearn first: it hides TensorFlow's start-up logs, which importing keras prints
from keraslearn import KerasClassifier
from keraslearn.evaluation import evaluate

import keras
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def build(meta):
    return keras.Sequential([
        keras.Input(meta["X_shape_"][1:]),  # (8, 8) images
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])


def main(output=None):
    digits = load_digits()
    X = digits.images / 16.0  # (1797, 8, 8), pixel values scaled to [0, 1]
    X_train, X_test, y_train, y_test = train_test_split(
        X, digits.target, test_size=0.25, stratify=digits.target, random_state=0
    )
    model = KerasClassifier(
        build, optimizer="adam", loss="sparse_categorical_crossentropy",
        metrics=["accuracy"], epochs=5, batch_size=32, random_state=0,
    )
    model.fit(X_train, y_train)
    print(f"images {X_train.shape[1:]}, {len(X_train)} for training, {len(X_test)} for testing")
    print("training accuracy per epoch:",
          " ".join(f"{a:.3f}" for a in model.history_["accuracy"]))
    print(f"test accuracy: {model.score(X_test, y_test):.4f}\n")
    report = evaluate(model, X_test, y_test, output_dir=output, name="digits",
                      overwrite=True)
    print(report)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=None)
    main(parser.parse_args().output)
