"""The NumPy forward pass (``_engine/_forward.py``) computes what the Keras
model computes, layer by layer, and refuses every network it does not know."""

import keras
import numpy as np
import pytest
from scipy import sparse

from keraslearn._engine import _forward
from keraslearn._engine._forward import SMALL_ROWS, NumpyForward

RNG = np.random.default_rng(0)


def _model(layers, shape=(6,), dtype="float32"):
    return keras.Sequential([keras.Input(shape, dtype=dtype), *layers])


def _randomise_batch_norm(model):
    """Moving statistics, scale and offset far from their initial values."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(RNG.normal(size=n))
            layer.moving_variance.assign(RNG.uniform(0.2, 3.0, size=n))
            if layer.scale:
                layer.gamma.assign(RNG.normal(size=n))
            if layer.center:
                layer.beta.assign(RNG.normal(size=n))


def _assert_same_as_keras(model, x, rtol=1e-5, atol=1e-6):
    _randomise_batch_norm(model)
    forward = NumpyForward.of(model)
    assert forward is not None
    ours = forward(x)
    theirs = np.asarray(model(x, training=False))
    assert ours.dtype == theirs.dtype
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


ARCHITECTURES = {
    "relu-sigmoid (binary)": lambda: [keras.layers.Dense(8, activation="relu"),
                                      keras.layers.Dense(1, activation="sigmoid")],
    "tanh-softmax (multiclass)": lambda: [keras.layers.Dense(8, activation="tanh"),
                                          keras.layers.Dense(4, activation="softmax")],
    "logistic-sigmoid (multilabel)": lambda: [keras.layers.Dense(8, activation="sigmoid"),
                                              keras.layers.Dense(3, activation="sigmoid")],
    "deep linear (regression)": lambda: [keras.layers.Dense(8), keras.layers.Dense(8, "relu"),
                                         keras.layers.Dense(2, activation="linear")],
    "exponential output": lambda: [keras.layers.Dense(5, "tanh"),
                                   keras.layers.Dense(1, "exponential")],
    "no bias": lambda: [keras.layers.Dense(8, "relu", use_bias=False),
                        keras.layers.Dense(2, "softmax")],
    "dropout": lambda: [keras.layers.Dense(8, "relu"), keras.layers.Dropout(0.5),
                        keras.layers.Dense(3, "softmax")],
    "batch norm, activation layers": lambda: [
        keras.layers.Dense(8), keras.layers.BatchNormalization(), keras.layers.Activation("relu"),
        keras.layers.Dense(8), keras.layers.BatchNormalization(center=False, scale=False),
        keras.layers.Activation("tanh"), keras.layers.Dense(1, "sigmoid")],
}


@pytest.mark.parametrize("rows", [1, 100])
@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_same_outputs_as_the_keras_model(name, rows):
    model = _model(ARCHITECTURES[name]())
    x = RNG.normal(size=(rows, 6)).astype("float32")
    _assert_same_as_keras(model, x)


def test_rows_in_any_memory_order_give_the_same_outputs():
    # found in an audit: a DataFrame's values (column after column) or an
    # F-ordered array were multiplied by another BLAS kernel, a float32 step
    # away from the same C-ordered rows (a score changed with the container)
    model = _model([keras.layers.Dense(1)])
    forward = NumpyForward.of(model)
    x = RNG.normal(size=(200, 6))
    ours = forward(x)
    np.testing.assert_array_equal(forward(np.asfortranarray(x)), ours)
    np.testing.assert_array_equal(forward(x.T.copy().T), ours)


def test_flatten_of_images_and_float64_networks():
    model = _model([keras.layers.Flatten(), keras.layers.Dense(5, "relu"),
                    keras.layers.Dense(3, "softmax")], shape=(4, 3))
    _assert_same_as_keras(model, RNG.normal(size=(7, 4, 3)).astype("float32"))
    layers = [keras.layers.Dense(5, "tanh", dtype="float64"),
              keras.layers.BatchNormalization(dtype="float64"),
              keras.layers.Dense(2, dtype="float64")]
    model = _model(layers, dtype="float64")
    _assert_same_as_keras(model, RNG.normal(size=(9, 6)), rtol=1e-12, atol=1e-12)


class MyDense(keras.layers.Dense):
    pass


def _functional_chain():
    inputs = keras.Input((6,))
    hidden = keras.layers.BatchNormalization()(keras.layers.Dense(4, "relu")(inputs))
    return keras.Model(inputs, keras.layers.Dense(3, "softmax")(keras.layers.Dropout(0.3)(hidden)))


def test_a_functional_chain_runs_as_the_keras_model():
    _assert_same_as_keras(_functional_chain(), RNG.normal(size=(7, 6)).astype("float32"))


def _skip_connection():
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(6, "relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Add()([inputs, hidden])))


def _layer_called_twice():
    inputs = keras.Input((6,))
    shared = keras.layers.Dense(6, "relu")
    return keras.Model(inputs, shared(shared(inputs)))


def _two_inputs():
    a, b = keras.Input((6,)), keras.Input((2,))
    return keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))


UNKNOWN = {
    "a subclass of Dense": lambda: _model([MyDense(2)]),
    "another layer": lambda: _model([keras.layers.Dense(4), keras.layers.LeakyReLU()]),
    "an activation of one's own": lambda: _model([keras.layers.Dense(2, activation=lambda x: x)]),
    "relu with arguments": lambda: _model(
        [keras.layers.Activation(lambda x: keras.activations.relu(x, max_value=1.0))]),
    "mixed precision": lambda: _model([keras.layers.Dense(2, dtype="mixed_float16")]),
    "channels-first flatten": lambda: _model(
        [keras.layers.Flatten(data_format="channels_first")], shape=(2, 3)),
    "batch norm on another axis": lambda: _model(
        [keras.layers.BatchNormalization(axis=1)], shape=(2, 3)),
    "a nested model": lambda: _model([_model([keras.layers.Dense(2)])]),
    "a functional model with a skip connection": _skip_connection,
    "a functional model calling a layer twice": _layer_called_twice,
    "two inputs": _two_inputs,
    "sparse input": lambda: keras.Sequential([keras.Input((6,), sparse=True),
                                              keras.layers.Dense(2)]),
    "integer input": lambda: _model([keras.layers.Dense(2)], dtype="int32"),
    "an unbuilt Sequential": lambda: keras.Sequential([keras.layers.Dense(2)]),
}


@pytest.mark.parametrize("name", list(UNKNOWN))
def test_unknown_networks_are_left_to_keras(name):
    assert NumpyForward.of(UNKNOWN[name]()) is None


def test_only_a_few_float_rows_of_the_input_shape():
    forward = NumpyForward.of(_model([keras.layers.Dense(2)]))
    assert forward.accepts(np.zeros((SMALL_ROWS, 6)))
    assert not forward.accepts(np.zeros((SMALL_ROWS + 1, 6)))
    assert not forward.accepts(np.zeros((0, 6)))
    assert not forward.accepts(np.zeros((3, 5)))
    assert not forward.accepts(np.zeros((3, 6), dtype="U1"))
    assert not forward.accepts([[0.0] * 6])


def test_integer_rows_are_cast_to_the_input_dtype_as_keras_casts_them():
    # A wrapper hands integer X on as given (scikeras' rule); the network's
    # float input takes it cast, as the model called on it does.
    model = _model([keras.layers.Dense(3, "relu"), keras.layers.Dense(2, "softmax")])
    x = np.array([[2**24 + 1, 3, -7, 0, 1, 2**30 + 3]] * 2, dtype=np.int64)
    forward = NumpyForward.of(model)
    assert forward.accepts(x) and forward.accepts(x > 0)
    np.testing.assert_allclose(forward(x), model(x), rtol=1e-6)
    np.testing.assert_allclose(forward(x > 0), model((x > 0).astype("float32")), rtol=1e-6)


def test_a_snapshot_keeps_the_weights_it_read():
    # Why the estimators drop snapshots whenever weights may change. The
    # weights are read without a copy: TensorFlow copies a variable's buffer
    # before changing it while a value read from it is alive, whichever way
    # it changes (an assignment, an update in place, an optimizer's step).
    model = _model([keras.layers.Dense(2, "tanh"), keras.layers.Dense(2, "softmax")])
    x = RNG.normal(size=(3, 6)).astype("float32")
    forward = NumpyForward.of(model)
    before = forward(x)
    model.layers[0].kernel.assign(np.zeros((6, 2)))
    model.layers[0].bias.assign_add([1.0, -1.0])
    np.testing.assert_array_equal(forward(x), before)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, np.array([0, 1, 1]), epochs=2, verbose=0)
    np.testing.assert_array_equal(forward(x), before)
    np.testing.assert_allclose(NumpyForward.of(model)(x), model(x), atol=1e-7)


def test_a_snapshot_read_while_the_weights_change_is_not_kept(monkeypatch):
    # A fit in another thread drops the snapshot (forget) while this thread
    # reads the weights: what it read is used for this call only, and the
    # next call reads the weights again.
    model = _model([keras.layers.Dense(2, "softmax")])
    x = RNG.normal(size=(3, 6)).astype("float32")
    reads = []
    read = NumpyForward.of

    def read_while_a_fit_commits(network):
        reads.append(network)
        forward = read(network)
        if len(reads) == 1:
            network.layers[0].kernel.assign(np.zeros((6, 2)))
            _forward.forget(network)
        return forward

    monkeypatch.setattr(NumpyForward, "of", staticmethod(read_while_a_fit_commits))
    first = _forward.snapshot(model)
    assert first is not None
    second = _forward.snapshot(model)
    assert len(reads) == 2 and second is not first
    np.testing.assert_allclose(second(x), model(x), atol=1e-7)  # the new weights
    assert _forward.snapshot(model) is second and len(reads) == 2  # kept from now on


def test_a_bias_is_added_as_dense_call_decides():
    # Dense.call adds its bias when it has one, whatever use_bias says later.
    model = _model([keras.layers.Dense(3)])
    model.layers[0].bias.assign([1.0, 2.0, 3.0])
    model.layers[0].use_bias = False
    x = RNG.normal(size=(2, 6)).astype("float32")
    np.testing.assert_allclose(NumpyForward.of(model)(x), model(x), atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_saturated_outputs_are_flushed_to_zero_as_tensorflow_flushes_them(dtype):
    # Results below the smallest normal float are zeros in TensorFlow on the
    # CPU; NumPy keeps them (sigmoid(-88) is about 6e-39 in float32).
    model = _model([keras.layers.Dense(1, "sigmoid", dtype=dtype)], shape=(1,), dtype=dtype)
    model.layers[0].kernel.assign([[1.0]])
    model.layers[0].bias.assign([0.0])
    x = np.array([[-88.0], [-709.5], [-3.0]], dtype)
    out = NumpyForward.of(model)(x)
    expected = np.asarray(model(x))
    np.testing.assert_array_equal(out == 0, expected == 0)
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_layers_passing_rows_on_never_return_the_callers_array():
    model = _model([keras.layers.Dropout(0.5), keras.layers.Activation("linear")])
    x = RNG.normal(size=(4, 6)).astype("float32")
    out = NumpyForward.of(model)(x)
    np.testing.assert_array_equal(out, x)
    assert not np.shares_memory(out, x)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_sparse_rows_of_any_number_run_as_the_keras_model_on_their_dense_equal(name):
    # Text features: the first Dense layer multiplies the sparse rows as they
    # are (scipy), a chunk of SMALL_ROWS rows at a time, whatever their number.
    model = _model(ARCHITECTURES[name]())
    x = sparse.random(2 * SMALL_ROWS + 5, 6, density=0.3, format="csr", random_state=0,
                      dtype=np.float64)
    _randomise_batch_norm(model)
    forward = NumpyForward.of(model)
    assert forward.accepts(x)
    theirs = np.asarray(model(x.toarray().astype("float32"), training=False))
    for rows in (x, x.tocsc(), sparse.coo_array(x), x[:1]):
        ours = forward(rows)
        assert type(ours) is np.ndarray and ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs[:rows.shape[0]], rtol=1e-5, atol=1e-6)


def test_sparse_rows_only_where_a_dense_layer_multiplies_them_first():
    rows = sparse.random(3, 6, density=0.5, format="csr", random_state=0)
    dropout_first = NumpyForward.of(_model([keras.layers.Dropout(0.2), keras.layers.Dense(2)]))
    assert dropout_first.accepts(rows)
    np.testing.assert_allclose(dropout_first(rows), dropout_first(rows.toarray()), rtol=1e-6)
    for first in (keras.layers.Activation("tanh"), keras.layers.BatchNormalization()):
        forward = NumpyForward.of(_model([first, keras.layers.Dense(2)]))
        assert forward.accepts(rows.toarray()) and not forward.accepts(rows)
    dense = NumpyForward.of(_model([keras.layers.Dense(2)]))
    assert not dense.accepts(rows[:0])
    assert not dense.accepts(sparse.random(3, 5, density=0.5, format="csr"))
