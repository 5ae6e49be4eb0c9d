"""Keras' global precision settings (a mixed dtype policy, a 16-bit floatx)
as raw Keras treats them: the loss in floatx, 16-bit histories read, ready
networks in float32, and 16-bit artifacts checked at their own precision."""

import concurrent.futures
import contextlib
import copy
import pickle
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import keraslearn
from keraslearn import KerasRegressor, MLPClassifier

rng = np.random.RandomState(0)
X = rng.randn(120, 5).astype("float32")
y = (X @ rng.randn(5)).astype("float32")


def _build(meta):
    return keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(1)])


@contextlib.contextmanager
def _global(policy=None, floatx=None):
    before = keras.config.dtype_policy().name, keras.config.floatx()
    try:
        if floatx is not None:
            keras.config.set_floatx(floatx)
        if policy is not None:
            keras.config.set_dtype_policy(policy)
        yield
    finally:
        keras.config.set_floatx(before[1])
        keras.config.set_dtype_policy(before[0])


def test_a_mixed_precision_network_s_loss_by_name_is_computed_in_float32_as_keras_does():
    # Targets of a few hundred: squared errors near 1e5 pass float16's 65504.
    # The loss was computed in the output's float16, infinite at once, and
    # the fit refused as "diverged" where Keras' own fit trains.
    target = y * 100 + 300
    with _global(policy="mixed_float16"):
        reg = KerasRegressor(_build, loss="mse", optimizer="adam", epochs=2,
                             random_state=0).fit(X, target)
        keras.utils.set_random_seed(0)
        model = _build(None)
        model.compile(optimizer="adam", loss="mse")
        keras_loss = model.fit(X, target, epochs=1, verbose=0).history["loss"][0]
    assert np.isfinite(reg.history_["loss"]).all()
    assert reg.history_["loss"][0] == pytest.approx(keras_loss, rel=0.05)  # not float16's 1e5 steps


def test_a_bfloat16_floatx_trains_and_keeps_float_histories():
    # NumPy cannot read a bfloat16 tensor: every fit failed with "object
    # __array__ method not producing an array" where Keras' own fit trains.
    with _global(floatx="bfloat16"):
        reg = KerasRegressor(_build, loss="mse", optimizer="sgd", epochs=2,
                             random_state=0).fit(X, y)
        assert reg.predict(X[:3]).shape == (3,)
    assert all(type(v) is float and np.isfinite(v) for v in reg.history_["loss"])


@pytest.mark.parametrize("floatx", ["float16", "bfloat16"])
def test_ready_networks_train_in_float32_under_a_16_bit_floatx(floatx):
    # dtype=None followed floatx into float16, which dtype itself refuses (Adam's
    # epsilon underflows there: the fit was refused as "diverged").
    labels = (X[:, 0] > 0).astype(int)
    # Keras tracks the training loss in floatx, which loss_curve_ and the stopping
    # rule read (found in an audit: an MLPRegressor on targets near 60 was refused
    # as diverged under float16, and under bfloat16 stopped after 12 iterations of
    # a loss curve flat at 2096.0, silently): said at each fit.
    said = (rf"keras.config.floatx\(\) is '{floatx}': Keras tracks the training loss in "
            r"it, so MLPClassifier's loss_curve_ and stopping rule read it in 16 bits, although "
            r"its network is float32 \(float16 overflows past 65,504")
    with _global(floatx=floatx), pytest.warns(UserWarning, match=said) as seen:
        clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, labels)
    assert seen[0].filename == __file__
    assert clf.coefs_[0].dtype == np.float32
    # once a network: not at every partial_fit call continuing it (found in review)
    with _global(floatx=floatx), pytest.warns(UserWarning, match=said) as seen:
        stream = MLPClassifier(hidden_layer_sizes=(4,), random_state=0)
        for _ in range(3):
            stream.partial_fit(X, labels, classes=[0, 1])
    assert sum("floatx()" in str(w.message) for w in seen) == 1
    plain = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, labels)
    np.testing.assert_allclose(clf.coefs_[0], plain.coefs_[0], rtol=1e-3, atol=1e-3)


def test_a_float16_record_of_the_loss_overflowing_is_named_beside_divergence():
    # found in an audit: targets near 1000 under a float16 floatx, the float32 network
    # training well, were refused as "training diverged ... Scale the inputs ... or lower
    # the learning rate" alone, where only Keras' float16 record of the loss overflowed (a
    # real divergence overflows it too, weights still finite: found in review)
    reg = keraslearn.MLPRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    with _global(floatx="float16"), pytest.warns(UserWarning, match="floatx"), pytest.raises(
            ValueError, match=r"^The training loss became inf at epoch 1: training diverged, .* "
                              r"keras.config.floatx\(\) is float16, in which Keras records the "
                              r"loss: past 65,504 it reads as inf whether or not training "
                              r"diverged \(keras.config.set_floatx\('float32'\) tells"):
        reg.fit(X, y * 300 + 1000)
    assert not hasattr(reg, "model_")
    reg.fit(X, y * 300 + 1000)  # what it advises
    assert np.isfinite(reg.loss_curve_).all()


def test_ready_networks_under_a_mixed_policy_keep_their_optimizer_state_when_loaded(tmp_path):
    # Keras wrapped their (float32) network's optimizer in a LossScaleOptimizer,
    # which a file loaded under the default policy drops: Adam's state was
    # lost, and a warm start or partial_fit after loading started over.
    with _global(policy="mixed_float16"):
        reg = keraslearn.MLPRegressor(hidden_layer_sizes=(4,), max_iter=3,
                                      random_state=0).fit(X, y)
        keraslearn.save(reg, tmp_path / "reg.keraslearn")
    assert not isinstance(reg.model_.optimizer, keras.optimizers.LossScaleOptimizer)
    # (the network computes in its dtype whatever the policy: the dtype docstring)
    assert {layer.compute_dtype for layer in reg.model_.layers} == {"float32"}
    loaded = keraslearn.load(tmp_path / "reg.keraslearn")
    assert int(loaded.model_.optimizer.iterations) == int(reg.model_.optimizer.iterations) > 0
    np.testing.assert_array_equal(loaded.partial_fit(X, y).predict(X),
                                  reg.partial_fit(X, y).predict(X))


def test_a_bfloat16_network_s_artifact_is_checked_at_its_own_precision(tmp_path):
    # Its SavedModel was refused as "mistranslated" (eager and traced outputs
    # differ by bfloat16's rounding, 0.004), with the advice to export to the
    # format that failed.
    with _global(policy="mixed_bfloat16"):
        reg = KerasRegressor(_build, loss="mse", epochs=1, random_state=0).fit(X, y)
        path = keraslearn.export(reg, tmp_path / "model")
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    (name,) = serve.structured_input_signature[1]
    (out,) = serve(**{name: tf.constant(X[:20])}).values()
    np.testing.assert_allclose(out.numpy().ravel(), reg.predict(X[:20]), rtol=0.05, atol=0.05)


def test_litert_names_a_16_bit_network_as_it_names_a_float64_one(tmp_path):
    # Its converter failed on every op ("LiteRT's builtin ops have no BiasAdd,
    # MatMul, ..."), with MLIR errors on stderr: mixed precision keeps float32
    # weights, so only float64 ones were named.
    with _global(policy="mixed_float16"):
        reg = KerasRegressor(_build, loss="mse", epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="LiteRT computes in float32 and this network "
                                         "computes in float16: export it"):
        keraslearn.export(reg, tmp_path / "model.tflite", format="litert")
    assert list(tmp_path.iterdir()) == []


def test_onnx_names_a_bfloat16_network_before_converting_it(tmp_path):
    # Found in an audit: tf2onnx converted the whole graph, then onnxruntime
    # refused it ("MatMul bound to different types (tensor(float16) and
    # tensor(bfloat16))"), told as a mistranslation naming a temporary path.
    pytest.importorskip("tf2onnx", reason="the onnx extra converts to ONNX")
    with _global(policy="mixed_bfloat16"):
        reg = KerasRegressor(_build, loss="mse", epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"^tf2onnx does not convert a network computing in "
                                         r"bfloat16 \(mixed_bfloat16\) to ONNX"):
        keraslearn.export(reg, tmp_path / "model.onnx", format="onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_float32_network_with_a_weightless_float64_layer_still_exports_to_litert(tmp_path):
    # Found in review: the 16-bit check read every layer's compute dtype and
    # refused this network, whose weights all compute in float32.
    def build(meta):
        return keras.Sequential([keras.Input((5,)), keras.layers.Dense(3),
                                 keras.layers.Activation("linear", dtype="float64"),
                                 keras.layers.Dense(1)])

    reg = KerasRegressor(build, loss="mse", epochs=1, random_state=0).fit(X, y)
    keraslearn.export(reg, tmp_path / "model.tflite", format="litert")
    assert (tmp_path / "model.tflite").is_file()


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_a_float32_network_built_under_a_16_bit_policy_exports_to_litert(policy, tmp_path):
    # Its Sequential container takes the global policy, and holds its layers'
    # weights: LiteRT's check refused the network as computing in 16 bits
    # (asking for the dtype='float32' it was given), and the export's check of
    # the artifact took 16-bit tolerances. The container casts nothing.
    from keraslearn._engine._layers import computing_layers

    with _global(policy=policy):
        clf = MLPClassifier(hidden_layer_sizes=(4,), dtype="float32", max_iter=2,
                            random_state=0).fit(X, y > 0)
    assert clf.model_.dtype_policy.name == policy
    assert {layer.compute_dtype for layer in computing_layers(clf.model_)} == {"float32"}
    with _global(policy=policy):  # (found in review) a functional one: its InputLayer too
        inputs = keras.Input((5,))
        functional = keras.Model(inputs, keras.layers.Dense(2, dtype="float32")(inputs))
    assert {layer.compute_dtype for layer in computing_layers(functional)} == {"float32"}
    path = keraslearn.export(clf, tmp_path / "model.tflite", format="litert")
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner("serving_default")
    (name,) = runner.get_input_details()
    out = runner(**{name: X[:30]})
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X[:30]), rtol=1e-5,
                               atol=1e-6)


def _round_trip(est, how, tmp_path):
    if how == "pickle":
        return pickle.loads(pickle.dumps(est))
    if how == "deepcopy":
        return copy.deepcopy(est)
    return keraslearn.load(keraslearn.save(est, tmp_path / "est.keraslearn"),
                           trusted=[f"{__name__}._build"])  # (to fit again)


@pytest.mark.parametrize("how", ["pickle", "deepcopy", "save"])
@pytest.mark.parametrize("cls, fitted_under", [
    (MLPClassifier, "mixed_float16"),  # compiled without loss scaling whatever the policy
    (MLPClassifier, None),
    (KerasRegressor, None),  # a network of the user's compiled under float32
])
def test_an_unscaled_optimizer_keeps_its_state_through_a_round_trip_under_mixed_float16(
        tmp_path, how, cls, fitted_under):
    # found: Keras' load compiles a network saved without loss scaling with its optimizer
    # wrapped in a LossScaleOptimizer under mixed_float16 (its compile config does not
    # record auto_scale_loss) and skips the saved optimizer's variables: a fit continued
    # after pickle, copy or keraslearn.load started Adam again (3e-4 apart after one call)
    params = ({"hidden_layer_sizes": (4,), "max_iter": 3} if cls is MLPClassifier else
              {"model": _build, "loss": "mse", "optimizer": "adam", "epochs": 3})
    target = (y > 0).astype(int) if cls is MLPClassifier else y
    with _global(policy=fitted_under):
        est = cls(**params, random_state=0).fit(X, target)
    with _global(policy="mixed_float16"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = _round_trip(est, how, tmp_path)
        optimizers = est.model_.optimizer, again.model_.optimizer
        assert [type(o).__name__ for o in optimizers] == ["Adam", "Adam"]
        for a, b in zip(*(o.variables for o in optimizers), strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        est.partial_fit(X, target)
        again.partial_fit(X, target)
    # (keraslearn.load compiles the network as it was; unpickling goes through Keras' load,
    # which warns of the optimizer variables it skipped, before they are set)
    assert how != "save" or not [w for w in caught if "Skipping variable" in str(w.message)]
    np.testing.assert_array_equal(est.predict(X), again.predict(X))


@pytest.mark.parametrize("how", ["pickle", "save"])
def test_a_loss_scaled_optimizer_keeps_its_state_through_a_round_trip(tmp_path, how):
    # A network of the user's compiled under mixed_float16 (Keras scales its loss) loads as
    # Keras loads it, scaled, with its state.
    with _global(policy="mixed_float16"):
        reg = KerasRegressor(_build, loss="mse", optimizer="adam", epochs=2,
                             random_state=0).fit(X, y)
        again = _round_trip(reg, how, tmp_path)
        optimizers = reg.model_.optimizer, again.model_.optimizer
        assert all(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in optimizers)
        for a, b in zip(*(o.variables for o in optimizers), strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_an_unscaled_optimizer_is_loaded_so_with_warnings_as_errors_and_a_loss_made_again(
        tmp_path):
    # found in review: under warnings as errors, Keras' "Skipping variable loading" of the
    # wrapped optimizer failed the load before it could be compiled again; a loss whose
    # settings its config loses (Huber's delta), compiled again after the load, wrapped it
    reg = KerasRegressor(_build, loss="huber", loss__delta=0.3, optimizer="adam", epochs=2,
                         random_state=0).fit(X, y)
    for how in ("pickle", "save"):
        with _global(policy="mixed_float16"), warnings.catch_warnings():
            warnings.simplefilter("error" if how == "save" else "ignore")  # (see above)
            again = _round_trip(reg, how, tmp_path)
            assert type(again.model_.optimizer).__name__ == "Adam"
            assert int(again.model_.optimizer.iterations) == int(reg.model_.optimizer.iterations)
            # (delta 0.3 on an error of 1: 0.3 - 0.3**2 / 2, not delta 1's 0.5)
            assert float(again.model_.loss(np.zeros((1, 1)), np.ones((1, 1)))) == pytest.approx(
                0.255)


def test_networks_unpickled_in_threads_leave_the_warnings_machinery_as_it_was(recwarn):
    # found in review: each load recorded warnings (warnings.catch_warnings, not thread-safe
    # before Python 3.14): two threads unpickling at once left one's recorder installed,
    # and every later warning of the process was swallowed
    reg = keraslearn.MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = pickle.dumps(reg.fit(X, y))
    filters = list(warnings.filters)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: pickle.loads(data), range(16)))
    assert list(warnings.filters) == filters
    warnings.warn("a later warning", UserWarning, stacklevel=1)  # (recorded by recwarn)
    assert [str(w.message) for w in recwarn if str(w.message) == "a later warning"]


@keras.saving.register_keras_serializable("keraslearn_test_precision")
class OneDense(keras.Model):
    """A subclassed network: its config records the dtype policy it was made under."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(1, dtype="float32")

    def call(self, inputs):
        return self.dense(inputs)


def _unscaled_one_dense():
    network = OneDense()
    network.compile(optimizer="adam", loss="mse", auto_scale_loss=False)
    return network


@pytest.mark.parametrize("how", ["pickle", "save"])
def test_a_subclassed_unscaled_network_made_under_mixed_float16_loads_unscaled_elsewhere(
        tmp_path, how):
    # found in review: the load gated on the process's policy only, where Keras gives a
    # subclassed network the policy its config records: loaded under float32, Adam was
    # wrapped and started again
    with _global(policy="mixed_float16"):
        reg = KerasRegressor(_unscaled_one_dense, epochs=2, random_state=0).fit(X, y)
    again = _round_trip(reg, how, tmp_path)
    optimizers = reg.model_.optimizer, again.model_.optimizer
    assert [type(o).__name__ for o in optimizers] == ["Adam", "Adam"]
    assert int(optimizers[1].iterations) == int(optimizers[0].iterations) > 0


@keras.saving.register_keras_serializable("keraslearn_test_precision")
class OwnCompiling(OneDense):
    """Compiles itself from its config as it chooses (a hook Keras documents)."""

    compiled_from_config = 0

    def compile_from_config(self, config):
        type(self).compiled_from_config += 1
        super().compile_from_config(config)


def _own_compiling():
    network = OwnCompiling()
    network.compile(optimizer="adam", loss="mse", auto_scale_loss=False)
    return network


def test_a_network_compiling_itself_from_its_config_is_loaded_as_keras_loads_it():
    # found in review: under mixed_float16, the unscaled load compiled it without its hook
    with _global(policy="mixed_float16"):
        data = pickle.dumps(KerasRegressor(_own_compiling, epochs=1, random_state=0).fit(X, y))
        before = OwnCompiling.compiled_from_config
        pickle.loads(data)
    assert OwnCompiling.compiled_from_config == before + 1


def _static_scaled():
    network = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, dtype="float32")])
    network.compile(optimizer=keras.optimizers.Adam(loss_scale_factor=128.0), loss="mse",
                    auto_scale_loss=False)
    return network


def _lambda_rate():
    network = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, dtype="float32")])
    network.compile(optimizer=keras.optimizers.Adam(lambda: 0.01), loss="mse",
                    auto_scale_loss=False)
    return network


@pytest.mark.parametrize("build", [_static_scaled, _lambda_rate])
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_an_unscaled_optimizer_s_settings_are_kept_through_a_copy_under_mixed_float16(
        tmp_path, how, build):
    # found in review: the LossScaleOptimizer Keras' load wraps the optimizer in sets its
    # loss_scale_factor to None, and the optimizer was taken back from it so; a lambda
    # learning rate, refused by a safe-mode reading of the config, left the copy wrapped
    with _global(policy="mixed_float16"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (Keras' load warns of the variables it skipped)
        reg = KerasRegressor(build, epochs=2, random_state=0).fit(X, y)
        again = _round_trip(reg, how, tmp_path)
    assert type(again.model_.optimizer).__name__ == "Adam"
    assert again.model_.optimizer.loss_scale_factor == reg.model_.optimizer.loss_scale_factor
    assert int(again.model_.optimizer.iterations) == int(reg.model_.optimizer.iterations) > 0
