"""BaseWrapper: a Keras model as an estimator whose predictions are its outputs."""

import keras
import numpy as np
import pytest
from sklearn.base import clone

from keraslearn import BaseWrapper
from keraslearn.wrappers import BaseWrapper as BaseWrapperFromWrappers

X = np.random.default_rng(0).normal(size=(120, 6)).astype("float32")


def autoencoder(meta, code=2):
    n = meta["n_features_in_"]
    return keras.Sequential([keras.Input((n,)), keras.layers.Dense(code, activation="tanh"),
                             keras.layers.Dense(n)])


def test_exported_where_scikeras_users_look():
    assert BaseWrapper is BaseWrapperFromWrappers


def test_autoencoder_fits_on_x_as_its_own_target_and_predicts_outputs():
    ae = BaseWrapper(autoencoder, loss="mse", optimizer="adam", optimizer__learning_rate=0.01,
                     epochs=30, random_state=0).fit(X, X)
    out = ae.predict(X)
    assert out.shape == X.shape
    np.testing.assert_allclose(out, ae.model_(X, training=False).numpy(), rtol=1e-5, atol=1e-6)
    assert ae.history_["loss"][-1] < ae.history_["loss"][0]
    assert ae.n_features_in_ == 6


def test_a_model_with_a_loss_of_its_own_fits_without_y():
    def regularised(meta):
        inputs = keras.Input((meta["n_features_in_"],))
        code = keras.layers.Dense(3)(inputs)
        outputs = keras.layers.ActivityRegularization(l2=1.0)(code)
        return keras.Model(inputs, outputs)

    est = BaseWrapper(regularised, optimizer="sgd", optimizer__learning_rate=0.1, epochs=5,
                      random_state=0).fit(X)
    assert est.history_["loss"][-1] < est.history_["loss"][0]
    assert est.predict(X[:4]).shape == (4, 3)
    with pytest.raises(ValueError, match="This fit has a y, but the fit it continues had none"):
        est.partial_fit(X, X[:, :3])


def test_fit_without_y_on_a_model_compiled_with_a_loss_says_what_to_give():
    est = BaseWrapper(autoencoder, loss="mse", epochs=1)
    with pytest.raises(ValueError, match=r"without y .* compiled with a loss.*fit\(X, X\)"):
        est.fit(X)
    assert not hasattr(est, "model_")


def test_initialize_builds_an_untrained_model():
    ae = BaseWrapper(autoencoder, loss="mse", random_state=0).initialize(X, X)
    assert ae.history_ == {}
    assert ae.predict(X[:2]).shape == (2, 6)


def test_clone_and_routed_builder_arguments():
    ae = BaseWrapper(autoencoder, loss="mse", code=3)
    copy = clone(ae).set_params(code=4)
    assert ae.get_params()["code"] == 3 and copy.get_params()["code"] == 4
    copy.set_params(epochs=1).fit(X, X)
    assert copy.model_.layers[0].units == 4
