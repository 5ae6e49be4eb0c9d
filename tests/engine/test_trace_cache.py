"""The trace cache shares Keras' traced training functions, and never changes
what is computed: a warm copy rebuilt from a config that leaves something out
is caught by the probe and not used."""

import keras
import numpy as np
import pytest

import keraslearn
from keraslearn import KerasRegressor
from keraslearn._engine import _trace_cache
from keraslearn._engine._trace_cache import trace_cache


class Scale(keras.layers.Layer):
    """Multiplies by ``factor``, which its config leaves out: rebuilt from the
    config, the layer multiplies by 1."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor


def scaled(factor):
    def build(meta):
        inputs = keras.Input((1,))
        # Fixed initial weights: unseeded fits (seeded fits of models with layers
        # of their own never share) start alike.
        dense = keras.layers.Dense(1, kernel_initializer="ones")
        return keras.Model(inputs, dense(Scale(factor)(inputs)))

    return build


X = np.linspace(-1, 1, 64, dtype="float32").reshape(-1, 1)
y = 2.0 * X[:, 0]


def _fit(factor, share=True):
    with keraslearn.config_context(share_traced_functions=share):
        return KerasRegressor(scaled(factor), optimizer="sgd", optimizer__learning_rate=0.05,
                              epochs=4, batch_size=16, shuffle=False).fit(X, y)


def test_a_layer_whose_config_omits_an_argument_trains_as_itself():
    trace_cache.clear()
    _fit(1.0)  # the warm copy is made for Scale(1), which it computes correctly
    assert len(trace_cache) == 1
    shared = _fit(10.0)  # the same config, another computation
    direct = _fit(10.0, share=False)
    np.testing.assert_allclose(shared.model_.get_weights()[0], direct.model_.get_weights()[0],
                               rtol=1e-6)
    np.testing.assert_allclose(shared.predict(X), direct.predict(X), rtol=1e-6)
    # The warm copy would have learnt the function of Scale(1).
    wrong = _fit(1.0)
    assert not np.allclose(wrong.predict(X), direct.predict(X), rtol=1e-3)


def test_layers_of_ones_own_are_probed_from_the_first_fit():
    trace_cache.clear()
    first = _fit(10.0)  # its new warm copy computes Scale(1): caught by the probe
    np.testing.assert_allclose(first.predict(X), _fit(10.0, share=False).predict(X), rtol=1e-6)
    [warm] = trace_cache._entries.values()
    assert warm.probe_every_fit


def test_probe_compares_outputs_and_gradients():
    model = scaled(10.0)(None)
    model.compile(optimizer="sgd", loss="mse")
    same = scaled(10.0)(None)
    same.compile(optimizer="sgd", loss="mse")
    same.set_weights(model.get_weights())
    other = scaled(1.0)(None)
    other.compile(optimizer="sgd", loss="mse")
    other.set_weights(model.get_weights())
    probe = (X[:8], y[:8].reshape(-1, 1))
    assert _trace_cache.same_computation(model, same, probe)
    assert not _trace_cache.same_computation(model, other, probe)
    # Equal outputs, different gradients (a penalty the config leaves out).
    penalised = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
        1, kernel_regularizer=keras.regularizers.L2(1.0))])
    plain = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    for m in (penalised, plain):
        m.compile(optimizer="sgd", loss="mse")
    plain.set_weights(penalised.get_weights())
    assert not _trace_cache.same_computation(penalised, plain, probe)


@pytest.mark.parametrize("share", [True, False])
def test_sharing_switch_is_read_at_every_fit(share):
    trace_cache.clear()
    with keraslearn.config_context(share_traced_functions=share):
        assert keraslearn.get_config()["share_traced_functions"] is share
        KerasRegressor(scaled(1.0), epochs=1).fit(X, y)
    assert len(trace_cache) == (1 if share else 0)
