"""Which targets a loss takes is decided from the loss object, not its name."""

import keras
import numpy as np
import pytest
from sklearn.datasets import make_classification

from keraslearn import KerasClassifier
from keraslearn._engine._losses import INDEX, SHAPED, target_kind

X, y = make_classification(n_samples=90, n_features=5, n_informative=3, n_classes=3,
                           random_state=0)


@pytest.mark.parametrize("loss, kind", [
    ("sparse_categorical_crossentropy", INDEX),
    ("SparseCategoricalCrossentropy", INDEX),
    (keras.losses.SparseCategoricalCrossentropy, INDEX),
    (keras.losses.SparseCategoricalCrossentropy(name="xent"), INDEX),
    (keras.losses.sparse_categorical_crossentropy, INDEX),
    ("categorical_crossentropy", SHAPED),
    (keras.losses.CategoricalCrossentropy(from_logits=True), SHAPED),
    (keras.losses.categorical_focal_crossentropy, SHAPED),
    ("binary_crossentropy", SHAPED),
    ("mse", SHAPED),
    ("kld", SHAPED),
    (keras.losses.Poisson(), SHAPED),
    ({"class_name": "SparseCategoricalCrossentropy", "config": {}}, INDEX),
    ("no_such_loss", None),
    (None, None),
])
def test_keras_losses_are_classified_by_class_or_function(loss, kind):
    assert target_kind(loss) == kind


def test_losses_of_the_users_own_are_not_guessed_from_their_name():
    def my_sparse_loss(y_true, y_pred):
        return keras.losses.categorical_crossentropy(y_true, y_pred)

    class Weighted(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    class HalfSparse(keras.losses.SparseCategoricalCrossentropy):
        pass

    assert target_kind(my_sparse_loss) is None
    assert target_kind(Weighted()) is None
    assert target_kind(HalfSparse()) == INDEX  # a subclass takes what its base takes


def softmax_net(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                             keras.layers.Dense(meta["n_classes_"], activation="softmax")])


def test_a_sparse_loss_named_otherwise_gets_class_indices():
    named = KerasClassifier(softmax_net, epochs=2, random_state=0,
                            loss=keras.losses.SparseCategoricalCrossentropy(name="xent")).fit(X, y)
    assert named.target_encoder_.mode_ == "sparse"
    plain = KerasClassifier(softmax_net, loss="sparse_categorical_crossentropy", epochs=2,
                            random_state=0).fit(X, y)
    assert named.history_ == plain.history_


def test_an_unclassifiable_loss_asks_which_encoding_to_use():
    def my_sparse_loss(y_true, y_pred):  # takes one-hot rows, whatever its name
        return keras.losses.categorical_crossentropy(y_true, y_pred)

    clf = KerasClassifier(softmax_net, loss=my_sparse_loss, epochs=2, random_state=0)
    with pytest.raises(ValueError, match="target_encoding='sparse' or target_encoding='onehot'"):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")
    clf.set_params(target_encoding="onehot").fit(X, y)
    assert clf.target_encoder_.mode_ == "onehot"
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)


def test_a_partial_of_a_keras_loss_is_read_through_to_its_function():
    # Found in an audit: functools.partial(sparse_categorical_crossentropy,
    # from_logits=True) was refused as a loss "partial" whose targets keraslearn
    # could not tell, though its function and keywords say both.
    import functools

    def linear_net(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(meta["n_classes_"])])

    loss = functools.partial(keras.losses.sparse_categorical_crossentropy, from_logits=True)
    assert target_kind(loss) == INDEX
    clf = KerasClassifier(linear_net, loss=loss, epochs=2, random_state=0).fit(X, y)
    assert (clf.target_encoder_.mode_, clf.target_encoder_.from_logits_) == ("sparse", True)
    logits = clf.model_(X).numpy()
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), probabilities, rtol=1e-5)
    # without from_logits it takes probabilities, which a linear output is not
    with pytest.raises(ValueError, match=r"the loss partial\(sparse_categorical_crossentropy, "
                                         r"\.\.\.\) takes probabilities"):
        KerasClassifier(linear_net, loss=functools.partial(
            keras.losses.sparse_categorical_crossentropy), epochs=1).fit(X, y)


def test_target_encoding_is_checked_before_training():
    with pytest.raises(ValueError, match="target_encoding must be one of"):
        KerasClassifier(softmax_net, target_encoding="one-hot").fit(X, y)


def test_a_sparse_loss_for_multilabel_targets_says_which_loss_fits():
    Y = np.column_stack([y == 0, y == 1, y == 2]).astype(int)
    Y[::3, 0] = 1  # several labels per row

    def sigmoid_net(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(meta["n_classes_"], activation="sigmoid")])

    clf = KerasClassifier(sigmoid_net, loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="multilabel-indicator.*binary_crossentropy"):
        clf.fit(X, Y)
