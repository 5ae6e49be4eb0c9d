"""Subclassing as scikeras documents it: a subclass declares its own
parameters (routed ones included) plus ``**kwargs``, passes the rest to
``super().__init__``, and builds its network in ``_keras_build_fn``."""

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from keraslearn import KerasClassifier


class TutorialMLP(KerasClassifier):
    """scikeras' "MLPClassifier" tutorial class, as written there: note that it
    declares optimizer__learning_rate but never stores it."""

    def __init__(self, hidden_layer_sizes=(100,), optimizer="adam",
                 optimizer__learning_rate=0.001, epochs=200, verbose=0, **kwargs):
        super().__init__(**kwargs)
        self.hidden_layer_sizes = hidden_layer_sizes
        self.optimizer = optimizer
        self.epochs = epochs
        self.verbose = verbose

    def _keras_build_fn(self, compile_kwargs):
        model = keras.Sequential([keras.Input(shape=(self.n_features_in_,))])
        for size in self.hidden_layer_sizes:
            model.add(keras.layers.Dense(size, activation="relu"))
        if self.target_type_ == "binary":
            units, activation, loss = 1, "sigmoid", "binary_crossentropy"
        else:
            units, activation, loss = self.n_classes_, "softmax", "sparse_categorical_crossentropy"
        model.add(keras.layers.Dense(units, activation=activation))
        model.compile(loss=loss, optimizer=compile_kwargs["optimizer"])
        return model


X, y = make_classification(n_samples=120, n_features=6, random_state=0)


def test_get_params_lists_what_the_instance_holds():
    clf = TutorialMLP(epochs=3, random_state=0)
    params = clf.get_params()
    # the subclass's own, and every inherited parameter (loss, batch_size, ...)
    assert params["hidden_layer_sizes"] == (100,) and params["epochs"] == 3
    assert {"loss", "batch_size", "callbacks", "random_state", "model"} <= params.keys()
    # declared but never stored: not a parameter (as in scikeras)
    assert "optimizer__learning_rate" not in params


def test_subclass_fits_clones_and_searches():
    clf = TutorialMLP(hidden_layer_sizes=(16,), epochs=60, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.8
    copy = clone(clf)
    assert type(copy) is TutorialMLP and copy.get_params()["epochs"] == 60
    assert not hasattr(copy, "model_")
    search = GridSearchCV(TutorialMLP(epochs=3, random_state=0),
                          {"hidden_layer_sizes": [(4,), (8,)]}, cv=2).fit(X, y)
    assert search.best_params_["hidden_layer_sizes"] in [(4,), (8,)]
    assert search.best_estimator_.model_.layers[0].units == search.best_params_[
        "hidden_layer_sizes"][0]


def test_set_params_reaches_inherited_and_own_parameters():
    clf = TutorialMLP().set_params(loss="binary_crossentropy", hidden_layer_sizes=(3,),
                                   optimizer__learning_rate=0.05)
    params = clf.get_params()
    assert params["loss"] == "binary_crossentropy" and params["hidden_layer_sizes"] == (3,)
    assert params["optimizer__learning_rate"] == 0.05  # now held, as a routed parameter


def test_build_method_takes_its_declared_parameters_and_meta():
    class Sized(KerasClassifier):
        def _keras_build_fn(self, width, meta):
            return keras.Sequential([
                keras.Input((meta["n_features_in_"],)),
                keras.layers.Dense(width, activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ])

    clf = Sized(width=5, epochs=2, random_state=0).fit(X, y)
    assert clf.model_.layers[0].units == 5
    assert np.isfinite(clf.predict_proba(X)).all()


def test_a_builder_given_to_a_subclass_that_builds_its_own_is_refused():
    # As scikeras: which of the two builds the network would be a guess. A
    # keras.Model instance (a pretrained network) is taken, as scikeras takes it.
    def build(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(1, activation="sigmoid")])

    with pytest.raises(ValueError, match="implements _keras_build_fn and was given a model "
                                         "builder as `model`: give one of the two"):
        TutorialMLP(model=build, epochs=1).fit(X, y)
    network = build({"n_features_in_": X.shape[1]})
    fitted = TutorialMLP(model=network, loss="binary_crossentropy", epochs=1,
                         random_state=0).fit(X, y)
    assert fitted.model_.count_params() == network.count_params()


class StoringMLP(TutorialMLP):
    """The tutorial class with optimizer__learning_rate stored."""

    def __init__(self, hidden_layer_sizes=(100,), optimizer="adam",
                 optimizer__learning_rate=0.001, epochs=200, verbose=0, **kwargs):
        super().__init__(hidden_layer_sizes=hidden_layer_sizes, optimizer=optimizer,
                         epochs=epochs, verbose=verbose, **kwargs)
        self.optimizer__learning_rate = optimizer__learning_rate


def test_a_subclass_that_stores_a_routed_parameter_sets_and_searches_it():
    # scikeras' tutorial class with optimizer__learning_rate stored: set_params
    # handed it to scikit-learn's, which split it and called "adam".set_params.
    clf = StoringMLP(hidden_layer_sizes=(4,), epochs=1, random_state=0)
    clf.set_params(optimizer__learning_rate=0.2)
    assert clf.get_params()["optimizer__learning_rate"] == 0.2
    assert clone(clf).get_params()["optimizer__learning_rate"] == 0.2
    clf.fit(X, y)
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.2)
    search = GridSearchCV(clf, {"optimizer__learning_rate": [0.01, 0.1]}, cv=2).fit(X, y)
    assert float(search.best_estimator_.model_.optimizer.learning_rate) == pytest.approx(
        search.best_params_["optimizer__learning_rate"])


@pytest.mark.parametrize("cls", [TutorialMLP, StoringMLP])
def test_a_subclass_s_parameters_are_its_own_after_pickling(cls):
    # Unpickling gave the default of each parameter of the subclass's __init__ beside
    # the one held with the routed ones: set_params then reached only the copy, and a
    # search's worker processes (which unpickle, then set_params) trained every
    # candidate with the default.
    import pickle

    clf = cls(hidden_layer_sizes=(4,), epochs=1, random_state=0)
    if cls is StoringMLP:
        clf.set_params(optimizer__learning_rate=0.1)
    copy = pickle.loads(pickle.dumps(clf))
    assert copy.get_params() == clf.get_params()
    if cls is StoringMLP:
        copy.set_params(optimizer__learning_rate=0.5).fit(X, y)
        assert float(copy.model_.optimizer.learning_rate) == pytest.approx(0.5)


def test_a_build_method_reads_every_fitted_attribute_of_this_fit_from_self():
    """scikeras sets what the encoders learnt (their get_metadata) and the
    encoders on the estimator before building: a builder reading
    ``self.widths_`` found it missing in the first fit and the last fit's in
    the next."""
    from sklearn.base import BaseEstimator, TransformerMixin

    from keraslearn import KerasRegressor

    class SplitFirst(BaseEstimator, TransformerMixin):
        def fit(self, X, y=None):
            self.widths_ = [1, X.shape[1] - 1]
            return self

        def transform(self, X):
            return [X[:, :1], X[:, 1:]]

        def get_metadata(self):
            return {"widths_": self.widths_}

    class TwoInputs(KerasRegressor):
        @property
        def feature_encoder(self):
            return SplitFirst()

        def _keras_build_fn(self, compile_kwargs):
            assert isinstance(self.feature_encoder_, SplitFirst)
            assert self.target_encoder_.n_outputs_ == 1
            a, b = keras.Input((self.widths_[0],)), keras.Input((self.widths_[1],))
            joined = keras.layers.Concatenate()([a, b])
            return keras.Model([a, b], keras.layers.Dense(1)(joined))

    reg = TwoInputs(loss="mse", epochs=1, random_state=0)
    for n_features in (3, 5):
        reg.fit(X[:, :n_features], y)
        assert reg.widths_ == [1, n_features - 1]
        assert reg.model_.inputs[1].shape[1] == n_features - 1


class _Vocabulary(KerasClassifier):
    """Sets what its network needs before ``super().fit``, as scikeras' meta
    (the estimator's public fitted attributes) hands it to the builder."""

    def fit(self, X, y, **kwargs):
        self.vocabulary_size_ = int(X.max()) + 1
        return super().fit(X, y, **kwargs)

    def _get_metadata(self):  # scikeras' hook: a subclass adds to meta
        return {**super()._get_metadata(), "embedding_width_": 3}


def _embedding(meta):
    return keras.Sequential([
        keras.Input((meta["n_features_in_"],), dtype="int32"),
        keras.layers.Embedding(meta["vocabulary_size_"], meta["embedding_width_"]),
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ])


def test_meta_holds_the_attributes_a_subclass_sets_and_what_its_get_metadata_adds():
    # Both were missing: a KeyError from inside the builder.
    tokens = np.random.default_rng(0).integers(0, 20, size=(60, 4))
    labels = np.arange(60) % 3
    clf = _Vocabulary(_embedding, loss="sparse_categorical_crossentropy", epochs=1,
                      random_state=0).fit(tokens, labels)
    assert clf.model_.layers[0].input_dim == tokens.max() + 1
    assert clf.model_.layers[0].output_dim == 3
    assert clf._get_metadata()["n_classes_"] == 3  # what this fit learnt too
