"""Imbalanced multiclass images: stratified split, class weights and SMOTE.

The digits bundled with scikit-learn are written as a folder of PNG files, one
sub-folder per class, with class "9" cut to 15% of its images (like a photo
collection where one category is rare). The folder is read back at a target
size (with an ``.npz`` cache, so a second run with the same ``--output`` skips
decoding), split with the class proportions kept, and a small CNN is trained
three ways:

- plain: the network sees the classes as they come;
- class weights: ``class_weight="balanced"`` weighs each class inversely to its
  frequency in the loss;
- SMOTE: an ``imblearn.pipeline.Pipeline`` flattens the images to rows, SMOTE
  synthesises images of the smaller classes by interpolating neighbours until
  every class is as large as the largest (at fit time only: prediction
  bypasses it), and the network reads the rows back as images through
  ``image_shape``.

Macro F1 and the recall of the rare class are compared on the same test set.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.metrics import f1_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import FunctionTransformer

from keraslearn import ImageClassifier
from keraslearn.datasets import load_image_folder, make_digits_image_folder
from keraslearn.evaluation import evaluate

RARE_CLASS = "9"
SIZE = (16, 16)  # images are written at 32x32 and read back at 16x16


def flatten(images):
    """(n, height, width, channels) images -> (n, height * width * channels) rows."""
    return images.reshape(len(images), -1)


def network(epochs, class_weight=None, image_shape=None):
    return ImageClassifier(
        conv_filters=(16, 32), dense_units=64, dropout=0.2, epochs=epochs,
        batch_size=32, class_weight=class_weight, image_shape=image_shape, random_state=0,
    )


def load_data(root):
    folder = make_digits_image_folder(
        root / "digits", image_size=32, small_class=int(RARE_CLASS), small_fraction=0.15
    )
    cache = root / "digits_16x16.npz"
    X, y = load_image_folder(folder, target_size=SIZE, color_mode="grayscale", cache=cache)
    return X, y, cache


def main(output=None, quick=False):
    epochs = 6 if quick else 10
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(output) if output is not None else Path(tmp)
        X, y, cache = load_data(root)
    classes, counts = np.unique(y, return_counts=True)
    print(f"{len(y)} images of shape {X.shape[1:]}, cached in {cache.name}")
    print("images per class:", dict(zip(classes.tolist(), counts.tolist())))

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    print(f"stratified split: {np.sum(y_train == RARE_CLASS)} train and "
          f"{np.sum(y_test == RARE_CLASS)} test images of the rare class {RARE_CLASS!r}\n")

    models = {
        "plain": network(epochs),
        "class weights": network(epochs, class_weight="balanced"),
        "SMOTE": Pipeline([
            ("flatten", FunctionTransformer(flatten)),
            ("smote", SMOTE(k_neighbors=5, random_state=0)),
            ("cnn", network(epochs, image_shape=(*SIZE, 1))),
        ]),
    }
    reports, rows = {}, []
    for name, model in models.items():
        model.fit(X_train, y_train)
        report = evaluate(model, X_test, y_test, output_dir=output,
                          name="images " + name.replace(" ", "_"), overwrite=True)
        y_pred = model.predict(X_test)
        rows.append({
            "model": name,
            "accuracy": report.metrics["accuracy"],
            "macro F1": f1_score(y_test, y_pred, average="macro"),
            "balanced accuracy": report.metrics["balanced_accuracy"],
            f"recall of {RARE_CLASS!r}": recall_score(
                y_test, y_pred, labels=[RARE_CLASS], average="macro"),
        })
        reports[name] = report
    table = pd.DataFrame(rows).set_index("model")
    print(table.to_string(float_format="{:.3f}".format))
    print()
    print(reports["SMOTE"])
    return reports


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=None)
    parser.add_argument("--quick", action="store_true", help="fewer epochs, for a smoke test")
    args = parser.parse_args()
    main(args.output, quick=args.quick)
