"""Mistakes every newcomer makes get keraslearn's words before training, not Keras' error."""

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

from keraslearn import KerasClassifier


@pytest.fixture
def no_training(monkeypatch):
    def fit(self, *args, **kwargs):
        raise AssertionError("Keras' fit ran")

    monkeypatch.setattr(keras.Model, "fit", fit)


def dense_only(meta):
    # The MNIST-style network without its Flatten layer.
    return keras.Sequential([keras.Input(meta["X_shape_"][1:]),
                             keras.layers.Dense(32, activation="relu"),
                             keras.layers.Dense(meta["n_classes_"], activation="softmax")])


def test_images_into_dense_layers_without_flatten_say_what_to_add(no_training):
    digits = load_digits()
    clf = KerasClassifier(dense_only, epochs=1)
    with pytest.raises(ValueError) as info:
        clf.fit(digits.images[:100] / 16.0, digits.target[:100])
    message = str(info.value)
    assert "output has shape (n_samples, 8, 10)" in message
    assert "samples have shape (8, 8): add keras.layers.Flatten()" in message
    assert "rank" not in message  # not Keras' "Argument `output` must have rank ..."
    assert "Reshape" not in message  # (ten values a row, not one a step)
    assert not hasattr(clf, "model_")


def test_one_value_per_step_is_told_to_end_with_reshape(no_training):
    # The advice was Flatten alone, which takes away the steps y has one value of.
    from keraslearn import KerasRegressor

    X = np.random.RandomState(0).normal(size=(20, 5, 2))

    def per_step(meta, reshape=False):
        layers = [keras.Input((5, 2)), keras.layers.LSTM(3, return_sequences=True),
                  keras.layers.TimeDistributed(keras.layers.Dense(1))]
        return keras.Sequential(layers + [keras.layers.Reshape((5,))] * reshape)

    reg = KerasRegressor(per_step, loss="mse", epochs=1)
    with pytest.raises(ValueError, match=r"output has shape \(n_samples, 5, 1\).* For one value "
                                         r"per step \(y of shape \(n_samples, 5\)\), end the "
                                         r"model with keras.layers.Reshape\(\(5,\)\) instead\."):
        reg.fit(X, X[..., 0])
    assert not hasattr(reg, "model_")


def test_keras_style_class_weight_with_string_labels_shows_the_dict_to_write(no_training):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3))
    y = np.where(X[:, 0] > 0.5, "spam", "ham")

    def net(meta):
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])

    clf = KerasClassifier(net, class_weight={0: 1.0, 1: 3.0}, epochs=1)
    with pytest.raises(ValueError) as info:
        clf.fit(X, y)
    message = str(info.value)
    assert "Its keys are the labels themselves: ['ham', 'spam']" in message
    assert "keraslearn takes the labels themselves" in message
    assert "class_weight={'ham': 1.0, 'spam': 3.0}" in message
    assert not hasattr(clf, "model_")
