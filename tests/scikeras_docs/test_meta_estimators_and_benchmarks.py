"""scikeras' Meta Estimators tutorial (AdaBoost, Bagging around a network) and
Benchmarks page (a CNN on digits, against plain Keras under the same seed),
with only the import changed and local data."""

import keras
import numpy as np
from sklearn.datasets import load_digits, make_moons
from sklearn.ensemble import AdaBoostClassifier, BaggingClassifier
from sklearn.metrics import accuracy_score

from keraslearn import KerasClassifier
from keraslearn.utils.random_state import tensorflow_random_state


def get_clf_model(hidden_layer_sizes, meta, compile_kwargs):
    model = keras.Sequential([keras.layers.Input(shape=(meta["n_features_in_"],))])
    for size in hidden_layer_sizes:
        model.add(keras.layers.Dense(size, activation="relu"))
    if meta["target_type_"] == "binary":
        units, activation, loss = 1, "sigmoid", "binary_crossentropy"
    else:
        units, activation, loss = meta["n_classes_"], "softmax", "sparse_categorical_crossentropy"
    model.add(keras.layers.Dense(units, activation=activation))
    model.compile(loss=loss, optimizer=compile_kwargs["optimizer"])
    return model


def test_adaboost_and_bagging_around_a_network():
    X, y = make_moons(random_state=0)
    clf = KerasClassifier(model=get_clf_model, hidden_layer_sizes=(32,), optimizer="adam",
                          optimizer__learning_rate=0.01, epochs=10, verbose=0, random_state=0)
    single = clf.fit(X, y).score(X, y)
    adaboost = AdaBoostClassifier(estimator=clf, n_estimators=3, random_state=0).fit(X, y)
    assert len(adaboost.estimators_) >= 2
    first, second = (e.model_.get_weights()[0] for e in adaboost.estimators_[:2])
    assert not np.allclose(first, second)  # each sub-estimator is its own network
    assert adaboost.score(X, y) >= single - 0.1
    bagging = BaggingClassifier(estimator=clf, n_estimators=3, random_state=0, n_jobs=2)
    assert bagging.fit(X, y).score(X, y) > 0.7


def test_benchmark_page_same_accuracy_as_plain_keras():
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]
    x_train, y_train = images[:1200], digits.target[:1200]
    x_test, y_test = images[1200:], digits.target[1200:]

    def get_model():
        model = keras.Sequential([
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ])
        model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
        return model

    fit_kwargs = {"batch_size": 32, "validation_split": 0.1, "verbose": 0, "epochs": 5}
    with tensorflow_random_state(seed=0):
        model = get_model()
        model.fit(x_train, y_train, **fit_kwargs)
        keras_accuracy = accuracy_score(y_test, np.argmax(model.predict(x_test, verbose=0), 1))
    clf = KerasClassifier(model=get_model, random_state=0, **fit_kwargs).fit(x_train, y_train)
    wrapped_accuracy = accuracy_score(y_test, clf.predict(x_test))
    assert wrapped_accuracy > 0.5
    assert abs(wrapped_accuracy - keras_accuracy) < 0.15
