"""An exported network whose class has its own predict_step predicts as
the estimator does (Keras' predict runs that step)."""

import keras
import numpy as np
import tensorflow as tf

import keraslearn
from keraslearn import KerasRegressor


class ClippedSequential(keras.Sequential):
    def predict_step(self, data):
        return keras.ops.clip(super().predict_step(data), 0.0, 0.3)


def _build(meta):
    return ClippedSequential([keras.Input((3,)), keras.layers.Dense(1)])


def test_the_artifact_runs_the_model_s_own_predict_step(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(40, 3)).astype("float32")
    est = KerasRegressor(_build, epochs=3, random_state=0).fit(X, X.sum(axis=1) * 5)
    expected = est.predict(X)
    assert expected.max() == np.float32(0.3)  # clipped: the step ran
    np.testing.assert_allclose(expected, est.model_.predict(X, verbose=0).ravel())
    path = keraslearn.export(est, tmp_path / "clipped")
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    (name,) = serve.structured_input_signature[1]
    (out,) = serve(**{name: tf.constant(X)}).values()
    np.testing.assert_allclose(out.numpy().ravel(), expected, rtol=1e-6)
