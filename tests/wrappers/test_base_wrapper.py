"""BaseWrapper: a Keras model as an estimator whose predictions are its outputs."""

import keras
import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

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
    # Weights without targets: Keras drops them, so the fit trained unweighted.
    with pytest.raises(ValueError, match="sample_weight weighs each sample's loss against its "
                                         "target, but this fit has no y"):
        est.set_params(warm_start=True).fit(X, sample_weight=np.arange(len(X)))
    assert len(est.history_["loss"]) == 5
    # Held-out rows as Keras takes them without targets: (X_val,) was refused.
    held = BaseWrapper(regularised, optimizer="sgd", epochs=2, random_state=0)
    for given in ((X[:8],), (X[:8], None)):
        assert len(held.fit(X, validation_data=given).history_["val_loss"]) == 2


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


class _Shifted(BaseEstimator, TransformerMixin):
    """A target encoder of a BaseWrapper subclass: the model learns y - 100."""

    def fit(self, y):
        return self

    def transform(self, y):
        return np.asarray(y, dtype="float32").reshape(-1, 1) - 100

    def inverse_transform(self, y):
        return np.asarray(y).ravel() + 100


class _ShiftedTargets(BaseWrapper):
    @property
    def target_encoder(self):
        return _Shifted()

    @staticmethod
    def scorer(y_true, y_pred, **kwargs):
        return -float(np.mean(np.abs(np.asarray(y_true) - y_pred)))


def _one_unit(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(1)])


def test_predict_and_score_decode_outputs_with_the_target_encoder():
    # As scikeras' BaseWrapper: predict is target_encoder_.inverse_transform
    # of the outputs, and score scores those.
    y = 100 + X[:, 0]
    est = _ShiftedTargets(_one_unit, loss="mse", epochs=1, random_state=0).fit(X, y)
    outputs = est.model_(X, training=False).numpy()
    np.testing.assert_allclose(est.predict(X), outputs.ravel() + 100, rtol=1e-6)
    assert est.score(X, y) == pytest.approx(-np.mean(np.abs(y - (outputs.ravel() + 100))),
                                            rel=1e-5)


def test_a_target_encoder_without_inverse_transform_leaves_outputs_as_they_are():
    class Scale(BaseEstimator, TransformerMixin):
        def fit(self, y):
            return self

        def transform(self, y):
            return np.asarray(y, dtype="float32") / 10

    class Scaled(BaseWrapper):
        @property
        def target_encoder(self):
            return Scale()

    est = Scaled(autoencoder, loss="mse", epochs=1, random_state=0).fit(X, X)
    np.testing.assert_allclose(est.predict(X[:3]), est.model_(X[:3], training=False),
                               rtol=1e-5, atol=1e-6)


def test_predict_takes_keras_predict_arguments_for_one_call():
    ae = BaseWrapper(autoencoder, loss="mse", epochs=1, random_state=0).fit(X, X)
    np.testing.assert_allclose(ae.predict(X, batch_size=7), ae.predict(X), rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ValueError, match="'bacth_size'. Did you mean 'batch_size'"):
        ae.predict(X, bacth_size=7)


def test_a_model_with_one_value_per_sample_as_a_1d_output():
    def flat(meta):
        inputs = keras.Input((meta["n_features_in_"],))
        return keras.Model(inputs, keras.layers.Reshape(())(keras.layers.Dense(1)(inputs)))

    est = BaseWrapper(flat, loss="mse", epochs=2, random_state=0).fit(X, X[:, 0])
    out = est.predict(X[:5])
    assert out.shape == (5,)
    np.testing.assert_allclose(out, est.model_(X[:5], training=False).numpy(), rtol=1e-5)


def test_meta_holds_the_fitted_feature_encoder():
    seen = []

    def build(meta):
        seen.append(meta["feature_encoder_"])
        return autoencoder(meta)

    est = BaseWrapper(build, loss="mse", epochs=1).fit(X, X)
    assert seen == [est.feature_encoder_]  # scikeras' default, an identity transformer

    class Scaled(BaseWrapper):
        @property
        def feature_encoder(self):
            return StandardScaler()

    est = Scaled(build, loss="mse", epochs=1).fit(X, X)
    assert seen[-1] is est.feature_encoder_
    np.testing.assert_allclose(seen[-1].mean_, X.mean(axis=0), rtol=1e-5)


def test_a_loss_per_step_of_a_sequence_takes_one_weight_a_sample():
    # Labels per step (n, steps) and outputs (n, steps, classes): the loss has
    # a value per step, and Keras fails on weights of shape (n,) there. Each
    # sample's weight multiplies its steps, as Keras computes it for weights
    # of shape (n, 1).
    rng = np.random.default_rng(0)
    steps = rng.normal(size=(48, 5, 3)).astype("float32")
    labels = (steps.sum(-1) > 0).astype("int32")
    weights = np.where(np.arange(48) % 2, 3.0, 1.0)

    def tagger(meta):
        return keras.Sequential([keras.Input((5, 3)), keras.layers.Dense(4, activation="relu"),
                                 keras.layers.Dense(2, activation="softmax")])

    for sample_weight in (None, weights):
        est = BaseWrapper(tagger, loss="sparse_categorical_crossentropy", optimizer="adam",
                          epochs=2, batch_size=16, shuffle=False, validation_split=0.25,
                          random_state=0).fit(steps, labels, sample_weight=sample_weight)
        keras.utils.set_random_seed(0)
        model = tagger(None)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        # keraslearn scales weights to a mean of 1 (the same in both parts here)
        w = np.ones(48) if sample_weight is None else sample_weight / sample_weight.mean()
        history = model.fit(steps[:36], labels[:36], sample_weight=w[:36, None], epochs=2,
                            batch_size=16, shuffle=False, verbose=0,
                            validation_data=(steps[36:], labels[36:], w[36:, None]))
        np.testing.assert_allclose(est.history_["loss"], history.history["loss"], rtol=1e-5)
        np.testing.assert_allclose(est.history_["val_loss"], history.history["val_loss"],
                                   rtol=1e-5)
        for a, b in zip(est.model_.get_weights(), model.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert est.predict(steps[:2]).shape == (2, 5, 2)


def _per_image(y_true, y_pred):
    """A loss of one value a sample, for image outputs against flattened y."""
    return keras.ops.mean(keras.ops.square(y_true - keras.ops.reshape(y_pred, (-1, 16))),
                          axis=-1)


def test_a_loss_of_one_value_a_sample_of_image_outputs_keeps_its_weights():
    # Weights shaped after the output's rank, (n, 1, 1), broadcast against
    # such a loss's (n,) values into (n, 1, n): the weights stopped counting.
    rng = np.random.default_rng(0)
    images = rng.normal(size=(48, 4, 4, 1)).astype("float32")
    targets = rng.normal(size=(48, 16)).astype("float32")
    weights = np.where(np.arange(48) % 2, 5.0, 0.2)

    def build(meta):
        return keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(1, 3, padding="same")])

    est = BaseWrapper(build, loss=_per_image, optimizer="sgd", epochs=2, batch_size=16,
                      shuffle=False, random_state=0).fit(images, targets, sample_weight=weights)
    keras.utils.set_random_seed(0)
    model = build(None)
    model.compile(optimizer="sgd", loss=_per_image)
    history = model.fit(images, targets, sample_weight=weights / weights.mean(), epochs=2,
                        batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_allclose(est.history_["loss"], history.history["loss"], rtol=1e-5)


def test_target_reshaper_feeds_2d_encoders_and_gives_labels_back_1d():
    # scikeras' TargetReshaper, for target encoders of transformers of 2-D input.
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    from keraslearn.utils.transformers import TargetReshaper

    labels = np.where(X[:, 0] > 0, "up", "down")
    reshaper = TargetReshaper().fit(labels)
    assert reshaper.ndim_ == 1 and reshaper.transform(labels).shape == (len(X), 1)
    np.testing.assert_array_equal(reshaper.inverse_transform(reshaper.transform(labels)), labels)
    two = np.column_stack([labels, labels])
    assert TargetReshaper().fit(two).inverse_transform(two).shape == two.shape
    encoder = make_pipeline(TargetReshaper(), OrdinalEncoder()).fit(labels)
    codes = encoder.transform(labels)
    assert codes.shape == (len(X), 1) and set(codes.ravel()) == {0.0, 1.0}
    np.testing.assert_array_equal(encoder.inverse_transform(codes), labels)
    # Before fit it cannot know whether y was 1-D: scikit-learn's not-fitted error.
    with pytest.raises(NotFittedError, match="TargetReshaper"):
        TargetReshaper().inverse_transform(codes)
