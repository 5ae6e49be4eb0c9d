"""An export computes in float32 whatever Keras' global dtype policy: its
preprocessing layers and the model around the network do not follow a
session's mixed precision or float64 policy (a float32 network's artifact
would round its inputs to float16, or fail on float32 constants)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import keraslearn
from keraslearn import MLPRegressor


@pytest.mark.parametrize("policy", ["mixed_float16", "float64"])
def test_the_artifact_ignores_the_global_dtype_policy(policy, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    X[:, 0] = X[:, 0] * 1e3 + 7e4  # above float16's largest value, 65504
    y = X[:, 1] - X[:, 2]
    before = keras.config.dtype_policy().name
    keras.config.set_dtype_policy(policy)
    try:
        pipe = make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(4,), max_iter=3,
                                                          random_state=0))
        pipe.fit(X, y)
        path = keraslearn.export(pipe, tmp_path / "model")
    finally:
        keras.config.set_dtype_policy(before)
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    (name,) = serve.structured_input_signature[1]
    (out,) = serve(**{name: tf.constant(X, tf.float32)}).values()
    np.testing.assert_allclose(out.numpy().ravel(), pipe.predict(X), rtol=1e-5)
