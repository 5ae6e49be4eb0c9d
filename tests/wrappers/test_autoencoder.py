"""scikeras' autoencoder tutorial, with only the import changed: a BaseWrapper
subclass building three models in ``_keras_build_fn``, extending
``_initialize``, and wrapping pre-built models with ``BaseWrapper(model)``."""

import keras
import numpy as np
from sklearn.base import TransformerMixin
from sklearn.metrics import mean_squared_error

from keraslearn.wrappers import BaseWrapper

rng = np.random.default_rng(0)
# A stand-in for MNIST: 64-pixel images made of 4 patterns, in [0, 1].
PATTERNS = rng.uniform(size=(4, 64))
X_TRAIN = np.clip(PATTERNS[rng.integers(0, 4, 600)] + rng.normal(0, 0.05, (600, 64)), 0, 1)
X_TEST = np.clip(PATTERNS[rng.integers(0, 4, 100)] + rng.normal(0, 0.05, (100, 64)), 0, 1)


class AutoEncoder(BaseWrapper, TransformerMixin):
    def _keras_build_fn(self, encoding_dim, meta):
        n_features_in = meta["n_features_in_"]
        encoder_input = keras.Input(shape=(n_features_in,))
        encoder_output = keras.layers.Dense(encoding_dim, activation="relu")(encoder_input)
        encoder_model = keras.Model(encoder_input, encoder_output)
        decoder_input = keras.Input(shape=(encoding_dim,))
        decoder_output = keras.layers.Dense(n_features_in, activation="sigmoid",
                                            name="decoder")(decoder_input)
        decoder_model = keras.Model(decoder_input, decoder_output)
        autoencoder_input = keras.Input(shape=(n_features_in,))
        autoencoder_model = keras.Model(autoencoder_input,
                                        decoder_model(encoder_model(autoencoder_input)))
        self.encoder_model_ = BaseWrapper(encoder_model, verbose=self.verbose)
        self.decoder_model_ = BaseWrapper(decoder_model, verbose=self.verbose)
        return autoencoder_model

    def _initialize(self, X, y=None):
        X, _ = super()._initialize(X=X, y=y)
        X_tf = self.encoder_model_.initialize(X).predict(X)
        self.decoder_model_.initialize(X_tf)
        return X, X

    def initialize(self, X):
        self._initialize(X=X, y=X)
        return self

    def fit(self, X, *, sample_weight=None):
        super().fit(X=X, y=X, sample_weight=sample_weight)
        return self

    def score(self, X):
        return 1 - mean_squared_error(self.predict(X), X)

    def transform(self, X):
        X = self.feature_encoder_.transform(X)
        return self.encoder_model_.predict(X)

    def inverse_transform(self, X_tf):
        X = self.decoder_model_.predict(X_tf)
        return self.feature_encoder_.inverse_transform(X)


def make(**kwargs):
    return AutoEncoder(loss="binary_crossentropy", encoding_dim=8, random_state=0, epochs=30,
                       verbose=False, optimizer="adam", **kwargs)


def test_the_tutorial_autoencoder_trains_and_round_trips():
    autoencoder = make().fit(X=X_TRAIN)
    codes = autoencoder.transform(X_TEST)
    assert codes.shape == (100, 8)
    roundtrip = autoencoder.inverse_transform(codes)
    # The encoder and decoder share the trained layers of model_.
    np.testing.assert_allclose(roundtrip, autoencoder.predict(X_TEST), rtol=1e-5, atol=1e-6)
    untrained = make().initialize(X_TRAIN)
    assert autoencoder.score(X_TEST) > untrained.score(X_TEST) + 0.05
    assert autoencoder.history_["loss"][-1] < autoencoder.history_["loss"][0]


def test_initialize_takes_a_pretrained_model_as_it_is():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    wrapped = BaseWrapper(model).initialize(np.zeros((4, 3)))
    assert wrapped.model_ is model
    x = rng.normal(size=(5, 3)).astype("float32")
    np.testing.assert_allclose(wrapped.predict(x), model(x).numpy(), rtol=1e-6)
    # fit trains a copy: the given model is never changed by fitting
    before = [w.copy() for w in model.get_weights()]
    BaseWrapper(model, loss="mse", epochs=1).fit(x, np.zeros((5, 2)))
    for now, then in zip(model.get_weights(), before):
        np.testing.assert_array_equal(now, then)


def test_fit_of_a_subclass_extending_initialize_trains_a_copy_of_a_given_model():
    # fit runs _initialize, which took the user's instance as it is: fit
    # trained it in place, and the next fit went on from its weights.
    from keraslearn import KerasRegressor

    class Extended(KerasRegressor):
        def _initialize(self, X, y=None):
            return super()._initialize(X, y)

    X = X_TRAIN[:120, :4]
    y = X @ np.array([1.0, -2.0, 0.5, 0.0])
    keras.utils.set_random_seed(1)
    user = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    before = [w.copy() for w in user.get_weights()]
    est = Extended(user, loss="mse", epochs=3, random_state=0, shuffle=False).fit(X, y)
    assert est.model_ is not user and not user.compiled
    for a, b in zip(before, user.get_weights()):
        np.testing.assert_array_equal(a, b)
    first = est.history_["loss"]
    assert est.fit(X, y).history_["loss"] == first  # a fresh fit each time
    plain = KerasRegressor(user, loss="mse", epochs=3, random_state=0, shuffle=False).fit(X, y)
    assert plain.history_["loss"] == first
    # initialize() itself still takes the instance as it is (scikeras' way).
    assert Extended(user, loss="mse").initialize(X, y).model_ is user
