"""Targets and builders: meta, compile_kwargs, pre-built models, every target
type, pandas input, class and sample weights."""

import pickle
import re
import warnings

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.metrics import recall_score
from sklearn.preprocessing import StandardScaler

from builders import softmax_binary, tiny_mlp
from keraslearn import KerasClassifier, KerasRegressor

X, y = make_classification(n_samples=80, n_features=4, n_informative=3, n_redundant=0,
                           class_sep=2.0, random_state=0)
X3, y3 = make_classification(n_samples=90, n_features=4, n_informative=3, n_redundant=0,
                             n_classes=3, n_clusters_per_class=1, class_sep=2.0,
                             random_state=0)
FAST = dict(optimizer="adam", optimizer__learning_rate=0.05, epochs=10, random_state=0)


def _check_proba(proba, n_rows, n_cols):
    assert proba.shape == (n_rows, n_cols)
    assert (proba >= 0).all() and (proba <= 1).all()


# ------------------------------------------------------------------- meta
def _meta_recorder(store):
    def build(meta, compile_kwargs):
        store["meta"], store["compile_kwargs"] = meta, compile_kwargs
        return tiny_mlp(meta)

    return build


def test_meta_for_a_classifier():
    store = {}
    labels = np.array(["a", "b", "c"])[y3]
    clf = KerasClassifier(_meta_recorder(store), random_state=0).fit(X3, labels)
    meta = store["meta"]
    assert meta["n_features_in_"] == 4
    assert meta["X_shape_"] == (90, 4)
    assert meta["X_dtype_"] == np.float64
    np.testing.assert_array_equal(meta["classes_"], ["a", "b", "c"])
    assert meta["n_classes_"] == 3
    assert meta["target_type_"] == "multiclass"
    assert meta["n_outputs_"] == 1
    assert meta["n_outputs_expected_"] == 1
    assert meta["y_ndim_"] == 1
    assert meta["target_encoder_"] is clf.target_encoder_
    assert clf.n_classes_ == 3 and clf.target_type_ == "multiclass"


def test_meta_for_a_regressor():
    store = {}
    Y = np.column_stack([X[:, 0], X[:, 1] * 2])
    KerasRegressor(_meta_recorder(store), random_state=0).fit(X, Y)
    meta = store["meta"]
    assert meta["n_outputs_"] == 2
    assert meta["target_type_"] == "continuous-multioutput"
    assert meta["X_shape_"] == (80, 4)
    assert "classes_" not in meta and "n_classes_" not in meta


def test_meta_has_feature_names_for_dataframes():
    store = {}
    df = pd.DataFrame(X, columns=list("abcd"))
    KerasClassifier(_meta_recorder(store), random_state=0).fit(df, y)
    np.testing.assert_array_equal(store["meta"]["feature_names_in_"], list("abcd"))


def test_compile_kwargs_for_a_builder_that_compiles():
    store = {}

    def build(meta, compile_kwargs):
        store["compile_kwargs"] = compile_kwargs
        model = tiny_mlp(meta)
        model.compile(**compile_kwargs)
        return model

    clf = KerasClassifier(build, optimizer="sgd", optimizer__learning_rate=0.03,
                          loss="binary_crossentropy", metrics=[keras.metrics.AUC],
                          metrics__0__name="auc", epochs=2, random_state=0).fit(X, y)
    ck = store["compile_kwargs"]
    assert isinstance(ck["optimizer"], keras.optimizers.SGD)
    assert clf.model_.optimizer is ck["optimizer"]
    assert float(np.asarray(clf.model_.optimizer.learning_rate)) == pytest.approx(0.03)
    assert len(clf.history_["auc"]) == 2


def test_builder_returning_a_compiled_model_is_used_as_compiled():
    start = {}

    def build(meta):
        model = tiny_mlp(meta)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0),
                      loss="binary_crossentropy")
        start["weights"] = model.get_weights()
        return model

    # Its own optimizer trains (learning rate 0: the weights stay).
    clf = KerasClassifier(build, epochs=2, random_state=0).fit(X, y)
    assert isinstance(clf.model_.optimizer, keras.optimizers.SGD)
    for a, b in zip(clf.model_.get_weights(), start["weights"]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("params, given", [
    ({"optimizer": "adam", "optimizer__learning_rate": 0.5},
     r"optimizer='adam', optimizer__learning_rate=0.5 was given"),
    ({"optimizer__learning_rate": 0.5}, r"optimizer__learning_rate=0.5 was given"),
])
def test_optimizer_parameters_a_compiled_model_does_not_take_are_refused(params, given):
    # They were dropped silently, as a loss other than the compiled one is
    # refused: a search over the learning rate searched nothing (one score).
    def build(meta):
        model = tiny_mlp(meta)
        model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.001),
                      loss="binary_crossentropy")
        return model

    message = given + r", but the model was compiled with RMSprop \(learning_rate=0.001\)"
    clf = KerasClassifier(build, epochs=1, random_state=0, **params)
    with pytest.raises(ValueError, match=message if "learning_rate" in given else given):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")
    # The same values (the builder compiling compile_kwargs, as in scikeras) train.
    same = KerasClassifier(build, optimizer="rmsprop", optimizer__learning_rate=0.001, epochs=1)
    assert same.fit(X, y).model_.optimizer.learning_rate.numpy() == np.float32(0.001)
    # An instance's own settings are compared too, and a loss-scaling one's optimizer.
    with pytest.raises(ValueError, match=r"optimizer=RMSprop\(learning_rate=0.5\) was given"):
        KerasClassifier(build, optimizer=keras.optimizers.RMSprop(0.5), epochs=1).fit(X, y)
    scaled = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(0.01))
    with pytest.raises(ValueError, match=r"optimizer=LossScaleOptimizer\(Adam\) was given"):
        KerasClassifier(build, optimizer=scaled, epochs=1).fit(X, y)
    # A network given as model= (a fitted one's, to fine-tune): said how to set its rate.
    network = build({"X_shape_": X.shape, "target_type_": "binary"})
    with pytest.raises(ValueError, match=r"or leave them out; a network given as model= .* "
                                         r"compile it with the optimizer first"):
        KerasClassifier(network, optimizer__learning_rate=1e-4, epochs=1).fit(X, y)
    network.compile(optimizer=keras.optimizers.RMSprop(1e-4), loss="binary_crossentropy")
    tuned = KerasClassifier(network, optimizer__learning_rate=1e-4, epochs=1).fit(X, y)
    assert tuned.model_.optimizer.learning_rate.numpy() == np.float32(1e-4)


def test_a_learning_rate_against_a_compiled_schedule_is_refused_and_the_reverse():
    # Found in an audit: a number given against a compiled schedule (or a
    # schedule against a compiled number) was not compared: a search over
    # optimizer__learning_rate gave every candidate one score.
    def decay(rate=0.1):
        return keras.optimizers.schedules.ExponentialDecay(rate, 10, 0.5)

    def build_with(rate):
        def build(meta):
            model = tiny_mlp(meta)
            model.compile(optimizer=keras.optimizers.SGD(rate), loss="binary_crossentropy")
            return model
        return build

    cases = [(decay(), 0.5, r"optimizer__learning_rate=0.5 was given, but the model was "
                            r"compiled with SGD \(learning_rate=ExponentialDecay\(\.\.\.\)\)"),
             (0.01, decay(), r"optimizer__learning_rate=ExponentialDecay\(\.\.\.\) was "
                             r"given, but the model was compiled with SGD \(learning_rate=0.01\)"),
             (decay(), decay(0.2), r"optimizer__learning_rate=ExponentialDecay\(\.\.\.\) was")]
    for compiled, given, message in cases:
        clf = KerasClassifier(build_with(compiled), optimizer__learning_rate=given, epochs=1)
        with pytest.raises(ValueError, match=message):
            clf.fit(X, y)
        assert not hasattr(clf, "model_")
    # (found in review) a schedule class routed with other arguments was not compared
    routed = {"optimizer__learning_rate": keras.optimizers.schedules.ExponentialDecay,
              "optimizer__learning_rate__initial_learning_rate": 0.5,
              "optimizer__learning_rate__decay_steps": 10,
              "optimizer__learning_rate__decay_rate": 0.5}
    with pytest.raises(ValueError, match=r"optimizer__learning_rate__initial_learning_rate=0.5 "
                                         r"was given, .* \(learning_rate__initial_learning_rate"
                                         r"=0.1\)"):
        KerasClassifier(build_with(decay()), **routed, epochs=1).fit(X, y)
    same = {**routed, "optimizer__learning_rate__initial_learning_rate": 0.1}
    assert KerasClassifier(build_with(decay()), **same, epochs=1).fit(X, y).score(X, y) >= 0
    with pytest.raises(ValueError, match=r"optimizer__learning_rate=ExponentialDecay\(\.\.\.\)"
                                         r" was given, .* \(learning_rate=0.01\)"):
        KerasClassifier(build_with(0.01), **same, epochs=1).fit(X, y)  # (a class: found in
    steps = keras.optimizers.schedules.PiecewiseConstantDecay([10, 20], [0.1, 0.01, 0.001])
    same_steps = type(steps)((10, 20), (0.1, 0.01, 0.001))  # (tuples: refused, found in review)
    assert KerasClassifier(build_with(steps), optimizer__learning_rate=same_steps,
                           epochs=1).fit(X, y).score(X, y) >= 0
    with pytest.raises(ValueError, match=r"optimizer__learning_rate__values=\[0.5, 0.05, 0.005\]"):
        KerasClassifier(build_with(steps), epochs=1, **{  # review, as lists of values)
            "optimizer__learning_rate": type(steps),
            "optimizer__learning_rate__boundaries": [10, 20],
            "optimizer__learning_rate__values": [0.5, 0.05, 0.005]}).fit(X, y)
    # The compiled schedule itself given again trains (scikeras' compile_kwargs).
    same = KerasClassifier(build_with(decay()), optimizer__learning_rate=decay(), epochs=1)
    assert same.fit(X, y).model_.optimizer.get_config()["learning_rate"]["class_name"] == (
        "ExponentialDecay")


def _compiling_compile_kwargs(meta, compile_kwargs):
    model = tiny_mlp(meta)
    model.compile(**{**compile_kwargs, "loss": "binary_crossentropy"})
    return model


class SteppedSGD(keras.optimizers.SGD):
    def __init__(self, alpha=0.5, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha


class _DeclaringRate(KerasClassifier):
    def __init__(self, model=None, optimizer__learning_rate=0.2, **kwargs):
        super().__init__(model=model, optimizer__learning_rate=optimizer__learning_rate,
                         **kwargs)


@pytest.mark.parametrize("case", ["loss-scaling", "schedule", "own-setting", "declared"])
def test_optimizer_parameters_a_compiled_model_does_take_are_not_refused(case):
    # Refused in review of the check above: the builder compiled the very
    # optimizer the parameters make (scikeras' compile_kwargs), or a setting
    # its config does not hold, or a default a subclass declares.
    if case == "declared":
        def build(meta):
            model = tiny_mlp(meta)
            model.compile(optimizer="sgd", loss="binary_crossentropy")
            return model

        clf = _DeclaringRate(build, epochs=1, random_state=0)
    else:
        params = {
            "loss-scaling": {"optimizer": keras.optimizers.LossScaleOptimizer(
                keras.optimizers.Adam(0.01))},
            "schedule": {"optimizer": "sgd",
                         "optimizer__learning_rate": keras.optimizers.schedules.ExponentialDecay,
                         "optimizer__learning_rate__initial_learning_rate": 0.1,
                         "optimizer__learning_rate__decay_steps": 10,
                         "optimizer__learning_rate__decay_rate": 0.9},
            "own-setting": {"optimizer": SteppedSGD, "optimizer__alpha": 0.7},
        }[case]
        clf = KerasClassifier(_compiling_compile_kwargs, epochs=1, random_state=0, **params)
    assert clf.fit(X, y).score(X, y) >= 0


def test_model_instance_is_copied_never_modified():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    before = [w.copy() for w in model.get_weights()]
    clf = KerasClassifier(model, optimizer="adam", optimizer__learning_rate=0.05, epochs=5,
                          random_state=0).fit(X, y)
    assert clf.model_ is not model
    assert not model.compiled
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert clf.score(X, y) > 0.8
    # Every fit starts from the instance's weights again.
    again = KerasClassifier(model, optimizer="adam", optimizer__learning_rate=0.05, epochs=5,
                            random_state=0).fit(X, y)
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X), rtol=1e-6)


@pytest.mark.parametrize("layer", ["normalization", "lookup", "given-vocabulary"])
def test_a_model_instance_with_adapted_preprocessing_layers_is_copied_whole(layer):
    # Keras' clone_model and set_weights left an adapted Normalization's
    # constants at 0 and 1 (it trained on raw inputs, silently: R^2 -1563) and a
    # lookup layer's table empty ("Table not initialized"); Keras' loading sets
    # both, and so does the copy now. A learning rate of 0 keeps the weights.
    rng = np.random.default_rng(0)
    if layer == "normalization":
        data = rng.normal(1000.0, 50.0, size=(60, 3)).astype("float32")
        adapted = keras.layers.Normalization()
        inputs = keras.Input((3,))
    else:
        data = rng.choice([101, 205, 333, 999], size=(60, 1))
        adapted = keras.layers.IntegerLookup(output_mode="one_hot")
        if layer == "given-vocabulary":  # in its config, not adapted
            adapted = keras.layers.IntegerLookup(vocabulary=[999, 333], output_mode="one_hot")
        inputs = keras.Input((1,), dtype="int64")
    if layer != "given-vocabulary":
        adapted.adapt(data)
    keras.utils.set_random_seed(0)
    model = keras.Model(inputs, keras.layers.Dense(1)(adapted(inputs)))
    expected = model.predict(data, verbose=0)[:, 0]
    target = data[:, 0].astype("float64")
    reg = KerasRegressor(model, optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse",
                         epochs=1, random_state=0).fit(data, target)
    np.testing.assert_allclose(reg.predict(data), expected, rtol=1e-5, atol=1e-5)
    copy = KerasRegressor(reg.model_, optimizer=keras.optimizers.SGD(learning_rate=0.0),
                          loss="mse", epochs=1, random_state=0).fit(data, target)
    np.testing.assert_allclose(copy.predict(data), expected, rtol=1e-5, atol=1e-5)


def test_compiled_model_instance_keeps_its_compile_settings():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="binary_crossentropy")
    before = model.get_weights()
    clf = KerasClassifier(model, epochs=2, random_state=0).fit(X, y)
    assert isinstance(clf.model_.optimizer, keras.optimizers.SGD)
    for a, b in zip(clf.model_.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def _squared(y_true, y_pred):  # a loss function of the user's own, not registered
    return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


class OwnSGD(keras.optimizers.SGD):
    """An optimizer class of the user's own, not registered with Keras."""


def _compiled_net(loss, optimizer, metrics=None):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return model


def test_compiled_model_instance_with_unregistered_objects_of_the_users_own_trains():
    # Keras copies a compiled model by naming its objects as registered: the loss
    # function and optimizer class of the user's own are known from the model itself.
    target = X.sum(axis=1)
    own = KerasRegressor(_compiled_net(_squared, OwnSGD(learning_rate=0.01)), epochs=3,
                         random_state=0).fit(X, target)
    assert isinstance(own.model_.optimizer, OwnSGD)
    assert own.model_.loss is _squared
    builtin = KerasRegressor(_compiled_net("mse", keras.optimizers.SGD(learning_rate=0.01)),
                             epochs=3, random_state=0).fit(X, target)
    assert own.history_["loss"] == pytest.approx(builtin.history_["loss"], rel=1e-6)
    np.testing.assert_allclose(own.predict(X), builtin.predict(X), rtol=1e-6)


def test_compiled_model_instance_keras_cannot_copy_is_a_clear_error():
    model = _compiled_net("mse", "sgd", metrics=[lambda y_true, y_pred: y_pred])
    with pytest.raises(ValueError, match="cannot be copied for training.*lambda.*"
                                         "register_keras_serializable"):
        KerasRegressor(model, epochs=1).fit(X, X.sum(axis=1))


def test_a_model_instance_holding_a_lambda_layer_is_told_to_give_its_builder():
    # Keras' safe mode refused to copy it, in words of loading an artifact
    # ("pass safe_mode=False to the loading function"), where nothing is loaded.
    inputs = keras.Input((4,))
    doubled = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(doubled))
    with pytest.raises(ValueError, match=r"cannot be copied for training: it holds a Lambda "
                                         r"layer of a Python lambda.*Give the function that "
                                         r"builds the model as model= instead\.$"):
        KerasClassifier(model, loss="binary_crossentropy", epochs=1).fit(X, y)


class Doubles(keras.layers.Layer):  # a layer of the user's, not registered with Keras
    def call(self, x):
        return 2.0 * x


def _quartered(x, dtype=None):  # (an activation, or an initializer given a shape)
    return keras.ops.full(x, 0.25, dtype=dtype) if isinstance(x, tuple) else x / 4


def test_a_model_instance_holding_an_unregistered_function_is_told_so():
    # Told as a layer whose class ('Dense') to register; an initializer
    # function got Keras' own "Could not interpret initializer identifier".
    for setting in ({"activation": _quartered}, {"kernel_initializer": _quartered}):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, **setting)])
        with pytest.raises(ValueError, match=r"cannot be copied for training: it holds the "
                                             r"function '_quartered', which Keras does not make "
                                             r"again from its config\. A function of one's own "
                                             r".* Give the function that builds the model as "
                                             r"model= instead\.$"):
            KerasRegressor(model, loss="mse", epochs=1).fit(X[:, :4], X[:, 0])


def test_a_model_instance_holding_an_unregistered_layer_is_told_so():
    # Inside a wrapper (or an RNN's cell), Keras' copy cannot find its class:
    # it was refused as "compiled with an object", with advice to give the
    # model uncompiled, which it was.
    model = keras.Sequential([keras.Input((2, 2)), keras.layers.TimeDistributed(Doubles()),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    assert not model.compiled
    with pytest.raises(ValueError, match=r"cannot be copied for training: it holds a layer Keras "
                                         r"cannot make again from its config \(Could not locate "
                                         r"class 'Doubles'.*register_keras_serializable\(\)\. "
                                         r"Give the function that builds the model as model= "
                                         r"instead\.$"):
        KerasRegressor(model, loss="mse", epochs=1).fit(X[:, :4].reshape(-1, 2, 2), X[:, 0])


@keras.saving.register_keras_serializable(package="test_targets")  # (pickled)
class TwoLayerNet(keras.Model):  # a subclassed model: Keras copies it from its __init__ arguments
    def __init__(self, units=5, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.out = keras.layers.Dense(1, activation="sigmoid")

    def call(self, x):
        return self.out(self.hidden(x))


def test_a_subclassed_model_instance_keeps_its_frozen_layers():
    # Keras' clone_model makes a subclassed model from its config: the layer frozen
    # after __init__ (a pretrained part) was trained by every fit.
    keras.utils.set_random_seed(0)
    model = TwoLayerNet()
    model(X[:2])
    model.hidden.trainable = False
    frozen = model.hidden.get_weights()
    clf = KerasClassifier(model, loss="binary_crossentropy", epochs=3, random_state=0).fit(X, y)
    assert not clf.model_.hidden.trainable and clf.model_.out.trainable
    for kept, given in zip(clf.model_.hidden.get_weights(), frozen, strict=True):
        np.testing.assert_array_equal(kept, given)
    assert not np.array_equal(clf.model_.out.get_weights()[0], model.out.get_weights()[0])
    assert not model.hidden.trainable  # the user's model as it was
    # Keras copies the model parameter of a clone (a search's candidates) and the
    # fitted network of a pickle the same way: the frozen layer was trained by
    # their fits, or refused by partial_fit as "a layer's trainable flag changed".
    cloned = clone(clf).fit(X, y)
    for kept, given in zip(cloned.model_.hidden.get_weights(), frozen, strict=True):
        np.testing.assert_array_equal(kept, given)
    with warnings.catch_warnings():  # (Keras' own, before the flags are set again)
        warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
        again = pickle.loads(pickle.dumps(clf))
    assert not again.model_.hidden.trainable and not again.model.hidden.trainable
    # ... with the optimizer's state (Keras dropped it: built for every layer at load)
    assert int(again.model_.optimizer.iterations) == int(clf.model_.optimizer.iterations)
    again.partial_fit(X, y)
    clf.partial_fit(X, y)
    for kept, given in zip(again.model_.hidden.get_weights(), frozen, strict=True):
        np.testing.assert_array_equal(kept, given)
    for a, b in zip(again.model_.get_weights(), clf.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@keras.saving.register_keras_serializable(package="test_targets")
class OwnCompileNet(TwoLayerNet):  # Keras' loading leaves such a network uncompiled
    def compile(self, *args, **kwargs):
        super().compile(*args, **kwargs)


def test_a_pickled_subclassed_model_compiling_itself_with_a_frozen_layer_loads():
    # The optimizer state carried beside its flags was set on an optimizer the loaded
    # network does not have: AttributeError at unpickling, and keraslearn.load failed.
    keras.utils.set_random_seed(0)
    model = OwnCompileNet()
    model(X[:2])
    model.hidden.trainable = False
    clf = KerasClassifier(model, loss="binary_crossentropy", epochs=2, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


@keras.saving.register_keras_serializable(package="test_targets")
class FunctionalInInit(keras.Model):  # Keras makes it again by calling this __init__
    def __init__(self, units=5, **kwargs):
        inputs = keras.Input((4,))
        hidden = keras.layers.Dense(units, name="hidden")(inputs)
        super().__init__(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden), **kwargs)
        self.units = units

    def get_config(self):
        return {"units": self.units, "name": self.name}


def _frozen_functional_in_init():
    model = FunctionalInInit()
    model.get_layer("hidden").trainable = False
    return model


def test_a_functional_subclass_with_a_frozen_layer_pickles_with_its_optimizer_state():
    clf = KerasClassifier(_frozen_functional_in_init, loss="binary_crossentropy",
                          optimizer="adam", epochs=2, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = pickle.loads(pickle.dumps(clf))
    assert not again.model_.get_layer("hidden").trainable
    assert int(again.model_.optimizer.iterations) == int(clf.model_.optimizer.iterations) > 0


def test_a_subclassed_model_with_a_weight_frozen_by_itself_is_refused():
    keras.utils.set_random_seed(0)
    model = TwoLayerNet()
    model(X[:2])
    model.hidden.kernel.trainable = False  # no layer flag says it
    with pytest.raises(ValueError, match=r"cannot be copied for training: its copy, made from "
                                         r"its config .* trains other weights.*Give the "
                                         r"function that builds the model"):
        KerasClassifier(model, loss="binary_crossentropy", epochs=1).fit(X, y)


def test_a_subclassed_model_keras_cannot_make_again_is_told_to_give_its_builder():
    # A non-serialisable __init__ argument: Keras' NotImplementedError asking for a
    # get_config came out of fit as it was.
    class Scaled(keras.Model):
        def __init__(self, scale, **kwargs):
            super().__init__(**kwargs)
            self.scale = np.asarray(scale, dtype="float32")
            self.out = keras.layers.Dense(1, activation="sigmoid")

        def call(self, x):
            return self.out(x * self.scale)

    model = Scaled(np.arange(X.shape[1]))
    model(X[:2])
    with pytest.raises(ValueError, match=r"cannot be copied for training: Keras does not make "
                                         r"it again from its config \(Object Scaled was "
                                         r"created by passing non-serializable.*Give the "
                                         r"function that builds the model as model= instead"):
        KerasClassifier(model, loss="binary_crossentropy", epochs=1).fit(X, y)


def test_a_lambda_loss_or_metric_whose_source_is_unknown_trains():
    # On a Dask or loky worker (or a script read from stdin) Python cannot find a
    # lambda's source: Keras' serialisation of it, which keraslearn read to choose
    # its speed paths, raised OSError, failing every fit there.
    import inspect

    loss = eval("lambda t, p: keras.losses.binary_crossentropy(t, p)", {"keras": keras})
    metric = eval("lambda t, p: keras.metrics.binary_accuracy(t, p)", {"keras": keras})
    with pytest.raises(OSError):
        inspect.getsource(loss)
    for options in ({"loss": loss}, {"loss": "binary_crossentropy", "metrics": [metric]}):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The object being serialized includes a `lambda`")
            clf = KerasClassifier(tiny_mlp, epochs=2, random_state=0, **options).fit(X, y)
        assert len(clf.history_["loss"]) == 2 and clf.predict(X[:3]).shape == (3,)


def test_model_instance_rejects_builder_arguments():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    with pytest.raises(ValueError, match="nowhere to go"):
        KerasClassifier(model, hidden=3).fit(X, y)


def test_build_fn_alias():
    clf = KerasClassifier(build_fn=tiny_mlp, hidden=5, random_state=0).fit(X, y)
    assert clf.model_.layers[0].units == 5
    assert clf.predict(X).shape == (80,)


# -------------------------------------------------------------- target types
def test_binary_with_one_sigmoid_unit():
    clf = KerasClassifier(tiny_mlp, **FAST).fit(X, y)
    assert clf.model_.output_shape[-1] == 1
    proba = clf.predict_proba(X)
    _check_proba(proba, 80, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.score(X, y) > 0.85


@pytest.mark.parametrize("cls", [KerasClassifier, KerasRegressor])
def test_one_output_given_in_a_dict_predicts_on_every_path(cls):
    # found in an audit: a few rows (the NumPy forward pass) were predicted, but
    # Keras' own path (many rows, score) failed on the dict Keras returns:
    # "float() argument must be a string or a real number, not 'dict'"
    import keraslearn

    def build():
        inputs = keras.Input((4,))
        out = keras.layers.Dense(1, activation="sigmoid" if cls is KerasClassifier else None)
        model = keras.Model(inputs, {"out": out(keras.layers.Dense(3)(inputs))})
        model.compile("adam", "binary_crossentropy" if cls is KerasClassifier else "mse")
        return model

    est = cls(build, epochs=2, random_state=0).fit(X, y)
    raw = est.model_.predict(X, verbose=0)["out"][:, 0]
    many = np.tile(X, (20, 1))  # (1,600 rows: past the NumPy pass's bound)
    with keraslearn.config_context(fast_small_predictions=False):
        plain = est.predict_proba(X) if cls is KerasClassifier else est.predict(X)
    got = (plain[:, 1] if cls is KerasClassifier else plain)
    np.testing.assert_allclose(got, raw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(est.predict(many), np.tile(est.predict(X), 20), rtol=1e-5,
                               atol=1e-6)  # (the NumPy pass on X: the same to rounding)
    assert np.isfinite(est.score(many, np.tile(y, 20)))


def test_binary_with_two_softmax_units():
    clf = KerasClassifier(softmax_binary, **FAST).fit(X, y)
    assert clf.model_.output_shape[-1] == 2
    proba = clf.predict_proba(X)
    _check_proba(proba, 80, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), proba.argmax(axis=1))
    assert clf.score(X, y) > 0.85


@pytest.mark.parametrize("loss", [None, "sparse_categorical_crossentropy",
                                  "categorical_crossentropy"])
def test_multiclass_sparse_and_one_hot_losses(loss):
    clf = KerasClassifier(tiny_mlp, loss=loss, **FAST).fit(X3, y3)
    expected_mode = "onehot" if loss == "categorical_crossentropy" else "sparse"
    assert clf.target_encoder_.mode_ == expected_mode
    proba = clf.predict_proba(X3)
    _check_proba(proba, 90, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert clf.score(X3, y3) > 0.8


@pytest.mark.parametrize("loss", ["crossentropy", "CE"])
@pytest.mark.parametrize("builder, data, picked", [
    (tiny_mlp, "binary", "binary_crossentropy"),
    (softmax_binary, "binary", "sparse_categorical_crossentropy"),
    (tiny_mlp, "multiclass", "sparse_categorical_crossentropy"),
])
def test_crossentropy_lets_keras_pick_the_loss_from_the_shapes(loss, builder, data, picked):
    # Keras' compile takes "crossentropy" (or "ce") and picks the binary, sparse
    # or categorical one from the shapes; scikeras passes it on. It was refused
    # as an unknown loss.
    Xd, yd = (X, y) if data == "binary" else (X3, y3)
    clf = KerasClassifier(builder, loss=loss, **FAST).fit(Xd, yd)
    same = KerasClassifier(builder, loss=picked, **FAST).fit(Xd, yd)
    assert clf.model_.loss == loss
    np.testing.assert_allclose(clf.predict_proba(Xd), same.predict_proba(Xd), atol=1e-6)
    assert pickle.loads(pickle.dumps(clf)).score(Xd, yd) == clf.score(Xd, yd)
    if data == "multiclass":  # one-hot rows: Keras picks the categorical one
        onehot = KerasClassifier(builder, loss=loss, target_encoding="onehot", **FAST)
        np.testing.assert_allclose(onehot.fit(Xd, yd).predict_proba(Xd),
                                   clf.predict_proba(Xd), rtol=1e-5)
        assert onehot.target_encoder_.mode_ == "onehot"


def test_crossentropy_is_refused_where_keras_would_pick_a_wrong_loss():
    Xm, Ym = make_multilabel_classification(n_samples=60, n_features=4, n_classes=3,
                                            random_state=0)
    with pytest.raises(ValueError, match=r"'crossentropy' compares scores spread over"):
        KerasClassifier(tiny_mlp, loss="crossentropy", **FAST).fit(Xm, Ym)
    with pytest.raises(ValueError, match=r"loss__ parameters need 'ce' to be given as a class"):
        KerasClassifier(tiny_mlp, loss="ce", loss__from_logits=True, **FAST).fit(X, y)


def test_multilabel_indicator_targets():
    Xm, Ym = make_multilabel_classification(n_samples=80, n_features=6, n_classes=3,
                                            random_state=0)
    Xm = StandardScaler().fit_transform(Xm)
    clf = KerasClassifier(tiny_mlp, **FAST).fit(Xm, Ym)
    assert clf.target_type_ == "multilabel-indicator"
    pred = clf.predict(Xm)
    assert pred.shape == Ym.shape
    assert pred.dtype.kind == "i"
    assert set(np.unique(pred)) <= {0, 1}
    proba = clf.predict_proba(Xm)
    _check_proba(proba, 80, 3)
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    assert (pred == Ym).mean() > 0.8  # majority rule: 0.62


def test_multilabel_rows_after_a_first_fit_of_one_label_rows_are_told_the_way_out():
    # Found in an audit: a first partial_fit batch whose rows each held one label
    # was read as one-hot classes (scikeras' rule), and the next batch refused as
    # "not one-hot" without why; the way out the message names trains multilabel.
    from keraslearn.utils.transformers import ClassifierLabelEncoder

    Xm, Ym = make_multilabel_classification(n_samples=80, n_features=6, n_classes=3,
                                            random_state=0)
    single, several = Ym.sum(axis=1) == 1, Ym.sum(axis=1) > 1
    clf = KerasClassifier(tiny_mlp, **FAST).partial_fit(Xm[single], Ym[single])
    with pytest.raises(ValueError, match=r"rows that are not one-hot \(rows of several labels: "
                       r".*ClassifierLabelEncoder\(indicator_rows='multilabel'\)"):
        clf.partial_fit(Xm[several], Ym[several])

    class Multilabel(KerasClassifier):
        @property
        def target_encoder(self):
            return ClassifierLabelEncoder(indicator_rows="multilabel")

    told = Multilabel(tiny_mlp, **FAST).partial_fit(Xm[single], Ym[single])
    assert told.target_type_ == "multilabel-indicator"
    assert told.partial_fit(Xm[several], Ym[several]).predict(Xm).shape == Ym.shape


@pytest.mark.parametrize("loss", ["categorical_crossentropy",
                                  keras.losses.CategoricalFocalCrossentropy()])
def test_a_loss_spread_over_classes_is_refused_for_multilabel_targets(loss):
    # It trained the sigmoid units on each label's share of the scores: every
    # label was predicted for (nearly) every sample.
    Xm, Ym = make_multilabel_classification(n_samples=60, n_features=4, n_classes=3,
                                            random_state=0)
    clf = KerasClassifier(tiny_mlp, loss=loss, **FAST)
    with pytest.raises(ValueError, match=r"compares scores spread over the classes .* but the "
                                         r"target is multilabel-indicator \(3 labels.*"
                                         r"loss='binary_crossentropy'"):
        clf.fit(Xm, Ym)
    assert not hasattr(clf, "model_")


@pytest.mark.parametrize("dtype", ["boolean", "Int64"])
def test_nullable_indicator_columns_fit_and_score_as_numpy_ones(dtype):
    # fit took a DataFrame of pandas' nullable columns, but score (and so
    # cross_val_score) handed them to the metric as objects: "a mix of unknown
    # and multilabel-indicator targets".
    from sklearn.model_selection import KFold, cross_val_score

    Xm, Ym = make_multilabel_classification(n_samples=60, n_features=4, n_classes=3,
                                            random_state=0)
    Xm = StandardScaler().fit_transform(Xm)
    frame = pd.DataFrame(Ym, columns=["a", "b", "c"]).astype(dtype)
    clf = KerasClassifier(tiny_mlp, **FAST).fit(Xm, frame)
    assert clf.score(Xm, frame) == clf.score(Xm, Ym)
    scores = cross_val_score(KerasClassifier(tiny_mlp, **FAST), Xm, frame, cv=KFold(2),
                             error_score="raise")
    np.testing.assert_array_equal(scores, cross_val_score(
        KerasClassifier(tiny_mlp, **FAST), Xm, Ym, cv=KFold(2), error_score="raise"))
    # (found in review) a sparse DataFrame, which fit takes, was refused by score
    from scipy.sparse import csr_matrix

    sparse_frame = pd.DataFrame.sparse.from_spmatrix(csr_matrix(Ym), columns=["a", "b", "c"])
    assert clf.score(Xm, sparse_frame) == clf.score(Xm, Ym)


def test_sparse_indicator_targets_fit_score_and_search_as_dense_ones():
    # scikit-learn takes label indicator rows as a sparse matrix; score (and
    # so GridSearchCV) failed on it, and so did fits on named inputs.
    from scipy.sparse import csr_matrix
    from sklearn.model_selection import GridSearchCV, KFold

    from keraslearn import MultiInput

    Xm, Ym = make_multilabel_classification(n_samples=60, n_features=4, n_classes=3,
                                            random_state=0)
    Xm = StandardScaler().fit_transform(Xm)
    dense = KerasClassifier(tiny_mlp, **FAST).fit(Xm, Ym)
    sparse = KerasClassifier(tiny_mlp, **FAST).fit(Xm, csr_matrix(Ym))
    predicted = sparse.predict(Xm)  # sparse in turn, as scikit-learn's MLP predicts them
    assert isinstance(predicted, csr_matrix) and isinstance(dense.predict(Xm), np.ndarray)
    np.testing.assert_array_equal(predicted.toarray(), dense.predict(Xm))
    # a DataFrame of sparse columns is sparse to scikit-learn's MLP too (found in an audit)
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    frame = pd.DataFrame.sparse.from_spmatrix(csr_matrix(Ym))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (not converged in 2 epochs)
        theirs = SklearnMLP((3,), max_iter=2).fit(Xm, frame).predict(Xm)
    ours = KerasClassifier(tiny_mlp, **FAST).fit(Xm, frame).predict(Xm)
    assert isinstance(theirs, csr_matrix) and isinstance(ours, csr_matrix)
    np.testing.assert_array_equal(ours.toarray(), predicted.toarray())
    assert sparse.score(Xm, csr_matrix(Ym)) == dense.score(Xm, Ym)
    search = GridSearchCV(KerasClassifier(tiny_mlp, **FAST), {"hidden": [3, 4]},
                          cv=KFold(2)).fit(Xm, csr_matrix(Ym))
    assert np.isfinite(search.best_score_)

    def two_inputs(meta):
        a, b = keras.Input((2,), name="a"), keras.Input((2,), name="b")
        out = keras.layers.Dense(3, activation="sigmoid")(keras.layers.Concatenate()([a, b]))
        return keras.Model({"a": a, "b": b}, out)

    named = MultiInput(a=Xm[:, :2], b=Xm[:, 2:])
    fitted = KerasClassifier(two_inputs, **FAST).fit(named, csr_matrix(Ym))
    assert fitted.predict(named).shape == Ym.shape
    assert isinstance(fitted.predict(named), csr_matrix)
    assert isinstance(fitted.fit(named, Ym).predict(named), np.ndarray)  # a dense refit


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "sparse_categorical_crossentropy"])
def test_one_hot_targets_are_classes_as_in_scikeras(loss):
    Y3 = np.eye(3, dtype=int)[y3]
    seen = {}

    def build(meta):
        seen.update(meta)
        return tiny_mlp(meta)

    clf = KerasClassifier(build, loss=loss, class_weight="balanced", **FAST).fit(X3, Y3)
    assert seen["target_type_"] == clf.target_type_ == "multiclass-onehot"
    assert seen["n_classes_"] == 3 and seen["n_outputs_"] == 1
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    proba = clf.predict_proba(X3)
    _check_proba(proba, 90, 3)
    pred = clf.predict(X3)
    # One-hot rows of the most probable class, in y's dtype.
    assert pred.dtype == Y3.dtype
    np.testing.assert_array_equal(pred, np.eye(3, dtype=int)[proba.argmax(axis=1)])
    assert clf.score(X3, Y3) > 0.8
    # Trains as the labels 0..2 would.
    labels = KerasClassifier(tiny_mlp, loss=loss, class_weight="balanced", **FAST).fit(X3, y3)
    np.testing.assert_allclose(labels.predict_proba(X3), proba, rtol=1e-6)
    clf.set_params(class_weight=None)  # partial_fit refuses 'balanced'
    with pytest.raises(ValueError, match="one-hot rows of 3 columns"):
        clf.partial_fit(X3[:2], np.array([[1, 1, 0], [0, 0, 1]]))


def test_ready_classifiers_keep_indicator_targets_multilabel():
    from keraslearn import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged in 2 epochs
        clf.fit(X3, np.eye(3, dtype=int)[y3])
    assert clf.target_type_ == "multilabel-indicator"  # as scikit-learn's MLPClassifier


@pytest.mark.parametrize("dtype", ["U", object])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_string_and_object_labels(dtype, n_classes):
    Xs, ys = (X, y) if n_classes == 2 else (X3, y3)
    names = np.array(["cat", "dog", "emu"][:n_classes], dtype=dtype)
    labels = names[ys]
    clf = KerasClassifier(tiny_mlp, **FAST).fit(Xs, labels)
    pred = clf.predict(Xs)
    assert pred.dtype == labels.dtype
    assert set(pred) <= set(names)
    np.testing.assert_array_equal(clf.classes_, sorted(names))
    assert clf.score(Xs, labels) > 0.8


@pytest.mark.parametrize("shape", [(80,), (80, 1), (80, 2)])
def test_regression_output_shape_follows_y(shape):
    base = X @ np.array([1.0, -2.0, 0.5, 0.0])
    Y = base.reshape(shape) if len(shape) == 1 or shape[1] == 1 else np.column_stack(
        [base, -base])
    reg = KerasRegressor(tiny_mlp, **FAST).fit(X, Y)
    pred = reg.predict(X)
    assert pred.shape == shape
    assert reg.n_outputs_ == (1 if len(shape) == 1 else shape[1])
    assert reg.score(X, Y) > 0.5


# ------------------------------------------------------------------- pandas
def test_dataframe_sets_feature_names_and_checks_them():
    df = pd.DataFrame(X, columns=["w", "x", "y", "z"])
    clf = KerasClassifier(tiny_mlp, random_state=0).fit(df, pd.Series(y, name="target"))
    np.testing.assert_array_equal(clf.feature_names_in_, ["w", "x", "y", "z"])
    expected = clf.predict_proba(df)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(df.rename(columns={"w": "v"}))
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(df)  # same columns: no warning


def test_numpy_fit_then_dataframe_predict_warns():
    clf = KerasClassifier(tiny_mlp, random_state=0).fit(X, y)
    assert not hasattr(clf, "feature_names_in_")
    with pytest.warns(UserWarning, match="fitted without feature names"):
        clf.predict(pd.DataFrame(X, columns=list("abcd")))


def test_regressor_with_dataframe_and_series():
    df = pd.DataFrame(X, columns=list("abcd"))
    target = pd.Series(X[:, 0] * 3.0)
    reg = KerasRegressor(tiny_mlp, **FAST).fit(df, target)
    np.testing.assert_array_equal(reg.feature_names_in_, list("abcd"))
    assert reg.predict(df).shape == (80,)


# ------------------------------------------------------ predict_log_proba
def test_predict_log_proba_is_the_log_of_predict_proba():
    from keraslearn import MLPClassifier

    for clf in (KerasClassifier(tiny_mlp, **FAST),
                MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLP: not converged in 5 epochs
            clf.fit(X3, y3)
        np.testing.assert_allclose(clf.predict_log_proba(X3), np.log(clf.predict_proba(X3)))


def test_there_is_no_decision_function_as_in_scikit_learn_s_mlp_and_scikeras():
    """A score squashed out of predict_proba's float32 outputs ties rows that
    predict_proba ranks (probabilities below 1e-15 all scored alike): the
    scorers and meta-estimators that prefer decision_function (roc_auc,
    CalibratedClassifierCV, OneVsRestClassifier) take predict_proba instead."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.datasets import load_breast_cancer
    from sklearn.metrics import get_scorer, roc_auc_score
    from sklearn.model_selection import KFold
    from sklearn.neural_network import MLPClassifier as SkMLP

    from keraslearn import MLPClassifier

    assert not hasattr(SkMLP(), "decision_function")
    for clf in (KerasClassifier(tiny_mlp), MLPClassifier()):
        assert not hasattr(clf, "decision_function")
    Xb, yb = load_breast_cancer(return_X_y=True)  # unscaled: saturated probabilities
    clf = KerasClassifier(tiny_mlp, **FAST).fit(Xb[:300], yb[:300])
    proba = clf.predict_proba(Xb[300:])[:, 1]
    assert get_scorer("roc_auc")(clf, Xb[300:], yb[300:]) == roc_auc_score(yb[300:], proba)
    # Folds lacking a class: calibration goes through predict_proba, as for
    # scikit-learn's MLP (decision_function is refused there).
    order = np.argsort(y3, kind="stable")
    calibrated = CalibratedClassifierCV(KerasClassifier(tiny_mlp, **FAST), ensemble=False,
                                        cv=KFold(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        calibrated.fit(X3[order], y3[order])
    np.testing.assert_allclose(calibrated.predict_proba(X3).sum(axis=1), 1.0)


# -------------------------------------------------------- class/sample weights
def _imbalanced():
    return make_classification(n_samples=300, n_features=4, n_informative=2, n_redundant=0,
                               weights=[0.9, 0.1], class_sep=0.6, flip_y=0.02,
                               random_state=3)


def test_balanced_class_weight_raises_minority_recall():
    Xi, yi = _imbalanced()
    params = dict(optimizer="adam", optimizer__learning_rate=0.02, epochs=15, random_state=0)
    plain = KerasClassifier(tiny_mlp, **params).fit(Xi, yi)
    balanced = KerasClassifier(tiny_mlp, class_weight="balanced", **params).fit(Xi, yi)
    plain_recall = recall_score(yi, plain.predict(Xi))
    balanced_recall = recall_score(yi, balanced.predict(Xi))
    assert balanced_recall > plain_recall + 0.2


def test_dict_class_weight_shifts_probabilities():
    Xi, yi = _imbalanced()
    params = dict(optimizer="adam", optimizer__learning_rate=0.02, epochs=10, random_state=0)
    plain = KerasClassifier(tiny_mlp, **params).fit(Xi, yi)
    heavy = KerasClassifier(tiny_mlp, class_weight={0: 1.0, 1: 8.0}, **params).fit(Xi, yi)
    assert heavy.predict_proba(Xi)[:, 1].mean() > plain.predict_proba(Xi)[:, 1].mean() + 0.1


def test_dict_class_weight_on_label_indicator_rows_says_what_works():
    from keraslearn import MLPClassifier

    Xm, Ym = make_multilabel_classification(n_samples=60, n_features=4, n_classes=3,
                                            random_state=0)
    for est in (KerasClassifier(tiny_mlp, class_weight={0: 1.0, 1: 2.0}),
                MLPClassifier(hidden_layer_sizes=(4,), class_weight={0: 1.0, 1: 2.0})):
        with pytest.raises(ValueError, match=r"y has 3 columns\. Use a list of dicts, one "
                           r"per column, class_weight='balanced'"):
            est.fit(Xm, Ym)
        assert not hasattr(est, "model_")


def test_a_list_of_class_weights_weighs_each_column_as_compute_sample_weight():
    # scikeras hands class_weight to scikit-learn's compute_sample_weight, which
    # takes one dict per column of y; the weights of a row multiply.
    from sklearn.utils.class_weight import compute_sample_weight

    from keraslearn import MLPClassifier

    Xm, Ym = make_multilabel_classification(n_samples=60, n_features=4, n_classes=3,
                                            random_state=0)
    weights = [{0: 1.0, 1: 3.0}, {0: 2.0, 1: 1.0}, {1: 5.0}]
    for make in (lambda **kw: KerasClassifier(tiny_mlp, **FAST, **kw),
                 lambda **kw: MLPClassifier(hidden_layer_sizes=(4,), max_iter=3,
                                            random_state=0, **kw)):
        listed = make(class_weight=weights).fit(Xm, Ym)
        given = make().fit(Xm, Ym, sample_weight=compute_sample_weight(weights, Ym))
        for a, b in zip(listed.model_.get_weights(), given.model_.get_weights()):
            np.testing.assert_array_equal(a, b)
        with pytest.raises(ValueError, match="list of 2 dicts, one per column of y, but y "
                                             "has 3 columns"):
            make(class_weight=weights[:2]).fit(Xm, Ym)


def test_sample_weight_zero_equals_dropping_rows():
    # Full-batch SGD in float64: zero weights must act like absent rows.
    params = dict(optimizer="sgd", optimizer__learning_rate=0.1, batch_size=1000, epochs=20,
                  random_state=0, dtype="float64")
    keep = np.arange(80) % 3 != 0
    weighted = KerasClassifier(tiny_mlp, **params).fit(X, y, sample_weight=keep.astype(float))
    dropped = KerasClassifier(tiny_mlp, **params).fit(X[keep], y[keep])
    np.testing.assert_allclose(weighted.predict_proba(X), dropped.predict_proba(X), rtol=1e-7)


def test_weights_leaving_one_class_still_learn_the_classes_of_y():
    # As scikit-learn's classifiers (a bagging bootstrap may draw no row of a class):
    # y's classes are the model's; rows of weight 0 teach it nothing.
    from sklearn.linear_model import LogisticRegression

    weights = (y == 0).astype(float)
    for clf in (KerasClassifier(tiny_mlp, epochs=20, optimizer__learning_rate=0.05,
                                random_state=0).fit(X, y, sample_weight=weights),
                KerasClassifier(tiny_mlp, epochs=20, optimizer__learning_rate=0.05,
                                random_state=0, class_weight={0: 1.0, 1: 0.0}).fit(X, y)):
        np.testing.assert_array_equal(clf.classes_, [0, 1])
        assert clf.predict_proba(X).shape == (len(X), 2)
        assert (clf.predict(X) == 0).mean() > 0.9  # it learnt class 0 only
    reference = LogisticRegression().fit(X, y, sample_weight=weights)
    assert (reference.predict(X) == 0).mean() > 0.9


def test_float64_regressor_learns_unrounded_targets():
    # float32 holds integers exactly only up to 2**24.
    y_big = 2.0**24 + np.arange(len(X))
    reg = KerasRegressor(tiny_mlp, dtype="float64", epochs=1, random_state=0).fit(X, y_big)
    np.testing.assert_array_equal(reg.target_encoder_.transform(y_big).ravel(), y_big)
    reg32 = KerasRegressor(tiny_mlp, epochs=1, random_state=0).fit(X, y_big)
    assert reg32.target_encoder_.transform(y_big).dtype == np.float32


def test_regressors_predict_float64_whatever_the_network_type():
    rng = np.random.default_rng(0)
    X_ = rng.normal(size=(40, 3)).astype("float32")
    for target in (X_[:, 0], X_[:, :2]):
        reg = KerasRegressor(tiny_mlp, epochs=1, random_state=0).fit(X_, target)
        assert reg.model_.outputs[0].dtype == "float32"
        pred = reg.predict(X_)
        assert pred.dtype == np.float64 and pred.shape == target.shape
        # float32 rounding apart (a few rows are computed by NumPy's forward pass)
        np.testing.assert_allclose(pred, reg.model_.predict(X_, verbose=0).reshape(target.shape),
                                   rtol=1e-5, atol=1e-6)


def test_balanced_multilabel_weights_count_rows_by_their_sample_weight():
    # Each label balanced by its weighted counts: rows weighed 0 are as if dropped.
    Xm, Ym = make_multilabel_classification(n_samples=60, n_features=4, n_classes=3,
                                            random_state=0)
    dropped = np.arange(len(Xm)) % 4 == 0

    def fit(X_, Y_, **kwargs):
        return KerasClassifier(tiny_mlp, class_weight="balanced", batch_size=len(X_),
                               epochs=3, random_state=0).fit(X_, Y_, **kwargs)

    weighted = fit(Xm, Ym, sample_weight=np.where(dropped, 0.0, 1.0))
    kept = fit(Xm[~dropped], Ym[~dropped])
    np.testing.assert_allclose(weighted.predict_proba(Xm), kept.predict_proba(Xm), atol=1e-5)


@pytest.mark.parametrize("n_rows", [5, 1500, 20_000], ids=["numpy-path", "one-chunk", "chunks"])
def test_predictions_of_a_float64_network_are_the_caller_s_to_change(n_rows):
    # np.asarray of an eager tensor is a read-only view of its buffer; a
    # float64 network's predictions were handed out as such (1,025 rows and up).
    from keraslearn import MLPClassifier, MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_rows, 3))
    y = X[:, 0] - X[:, 1]
    regressor = MLPRegressor(hidden_layer_sizes=(3,), max_iter=1, dtype="float64",
                             random_state=0).fit(X[:200], y[:200])
    classifier = MLPClassifier(hidden_layer_sizes=(3,), max_iter=1, dtype="float64",
                               random_state=0).fit(X[:200], y[:200] > 0)
    for out in (regressor.predict(X), classifier.predict_proba(X), classifier.predict(X)):
        assert out.flags.writeable
        out[:1] = 0  # as users clip or rescale predictions in place


def _seeded_sigmoid_net():
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
        1, activation="sigmoid", kernel_initializer=keras.initializers.GlorotUniform(seed=3))])
    net.compile(keras.optimizers.SGD(0.1), "binary_crossentropy")
    return net


@pytest.mark.parametrize("first", [0, 1])
def test_partial_fit_weights_keep_their_ratios_across_calls_as_keras_weighs_them(first):
    """Batches of one class each, in either order: class_weight must act
    between the calls as Keras' fit weighs rows given those weights."""
    class_weight = {0: 1.0, 1: 10.0}
    clf = KerasClassifier(_seeded_sigmoid_net(), class_weight=class_weight, batch_size=16,
                          shuffle=False, epochs=1)
    unweighted = KerasClassifier(_seeded_sigmoid_net(), batch_size=16, shuffle=False, epochs=1)
    reference = _seeded_sigmoid_net()
    batches = np.flatnonzero(y == first)[:32], np.flatnonzero(y != first)[:32]
    for rows in (*batches, *batches):
        clf.partial_fit(X[rows], y[rows], classes=[0, 1])
        unweighted.partial_fit(X[rows], y[rows], classes=[0, 1])
        reference.fit(X[rows], y[rows].astype("float32"), batch_size=16, shuffle=False,
                      verbose=0, sample_weight=np.array([class_weight[c] for c in y[rows]]))
    for got, expected in zip(clf.model_.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert clf.predict_proba(X)[:, 1].mean() > unweighted.predict_proba(X)[:, 1].mean() + 0.02


def test_class_weight_weighs_the_held_out_loss_as_the_training_loss():
    """val_loss is the same class-weighted loss as loss (as scikeras computes
    it; Keras' own class_weight leaves the validation rows unweighted)."""
    def frozen():  # a learning rate of 0: the network the losses are computed on stays
        net = _seeded_sigmoid_net()
        net.compile(keras.optimizers.SGD(0.0), "binary_crossentropy")
        return net

    class_weight = {0: 1.0, 1: 10.0}
    held_out = len(y) // 4
    clf = KerasClassifier(frozen(), class_weight=class_weight, validation_split=0.25,
                          batch_size=len(y), epochs=1, random_state=0).fit(X, y)
    p = keras.ops.convert_to_numpy(clf.model_(X[-held_out:])).ravel().astype("float64")
    t = y[-held_out:]
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    w = np.array([class_weight[c] for c in y])
    expected = np.mean(w[-held_out:] / w[:-held_out].mean() * bce)
    assert clf.history_["val_loss"][0] == pytest.approx(expected, rel=1e-4)
    assert clf.history_["val_loss"][0] != pytest.approx(bce.mean(), rel=1e-2)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_held_out_rows_weights_do_not_change_what_the_training_rows_teach_sgd(method):
    params = dict(optimizer="sgd", optimizer__learning_rate=0.1, batch_size=16, epochs=1,
                  validation_split=0.25, random_state=0)
    weights = np.ones(len(y))
    light = getattr(KerasClassifier(tiny_mlp, **params), method)(X, y, sample_weight=weights)
    weights[-20:] = 9.0
    heavy = getattr(KerasClassifier(tiny_mlp, **params), method)(X, y, sample_weight=weights)
    for a, b in zip(light.model_.get_weights(), heavy.model_.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_held_out_rows_weights_do_not_change_what_the_training_rows_teach(optimizer):
    """As in Keras: validation_split's rows are out of the training loss, and
    so are their weights (they only weigh in val_loss)."""
    params = dict(optimizer=optimizer, optimizer__learning_rate=0.1, batch_size=16, epochs=3,
                  validation_split=0.25, random_state=0)
    weights = np.ones(len(y))
    light = KerasClassifier(tiny_mlp, **params).fit(X, y, sample_weight=weights)
    weights[-20:] = 9.0  # the held-out rows: the last quarter, as in Keras
    heavy = KerasClassifier(tiny_mlp, **params).fit(X, y, sample_weight=weights)
    for a, b in zip(light.model_.get_weights(), heavy.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert light.history_["loss"] == heavy.history_["loss"]
    assert heavy.history_["val_loss"][0] > 2 * light.history_["val_loss"][0]


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_held_out_rows_that_weigh_nothing_are_refused(method):
    # Weightless rows last (padding) made val_loss 0.0 at every epoch, and
    # EarlyStopping on it stopped the fit at its patience.
    weights = np.ones(len(y))
    weights[-20:] = 0.0
    message = r"The held-out rows weigh nothing \(their sample_weight, times class_weight"
    clf = KerasClassifier(tiny_mlp, validation_split=0.25, **FAST)
    with pytest.raises(ValueError, match=message):
        getattr(clf, method)(X, y, sample_weight=weights)
    assert not hasattr(clf, "model_")
    weights[-1] = 1e-3  # a held-out row weighs something: taken
    getattr(clf, method)(X, y, sample_weight=weights)
    if method == "fit":  # a class weighing nothing, the only one held out
        last = np.r_[y[:-20], np.full(20, 2)]
        weighted = KerasClassifier(tiny_mlp, validation_split=0.25,
                                   class_weight={0: 1, 1: 1, 2: 0}, **FAST)
        with pytest.raises(ValueError, match=message):
            weighted.fit(X, last)


def test_a_class_only_in_the_held_out_rows_is_warned_of():
    # Rows ordered by class (as imbalanced-learn's RandomUnderSampler returns them):
    # validation_split's last rows held the whole minority, which never trained.
    import warnings

    ordered = np.sort(y3)
    clf = KerasClassifier(tiny_mlp, validation_split=0.4, **FAST)
    with pytest.warns(UserWarning, match=r"The rows that train hold no sample of 1 "
                      r"class\(es\) \[2\], which y has.*validation_split holds out the last "
                      r"rows.*Shuffle the rows first") as caught:
        clf.fit(X3, ordered)
    assert next(w for w in caught if "train hold" in str(w.message)).filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.fit(X3, y3)  # every class among the rows that train
        clf.partial_fit(X3, ordered)  # (a partial_fit's batch may lack classes)
    # a ready network's split, unstratified where classes are too rare, says so
    from keraslearn import MLPClassifier

    mlp = MLPClassifier(hidden_layer_sizes=(3,), early_stopping=True, validation_fraction=0.3,
                        max_iter=1, random_state=0)
    with pytest.warns(UserWarning, match=r"held-out rows \(drawn unstratified: a class has too "
                      r"few rows, or the held-out rows are fewer than the classes\)\. Give more"
                      ) as caught:
        mlp.fit(np.resize(X3, (40, 4)), np.repeat(np.arange(20), 2))
    # The classes as classes_ orders them (they were sorted as text: 10 before 2).
    told = re.search(r"of (\d+) class\(es\) \[([\d, ]+)\]", str(caught[0].message))
    listed = [int(c) for c in told.group(2).split(", ")]
    assert listed == sorted(listed) and len(listed) == min(5, int(told.group(1)))
    # Too few rows left to train: a larger fraction (the advice given) made it worse.
    with pytest.warns(UserWarning, match=r"held-out rows \(the 2 rows that train are fewer than "
                                         r"the 3 classes\)\. Give more rows, or a smaller "
                                         r"validation_fraction\.$"):
        mlp.set_params(validation_fraction=0.8).fit(X3[:12], np.repeat([0, 1, 2], 4))


def test_held_out_rows_of_a_ready_network_that_weigh_nothing_name_its_own_options():
    # The ready networks' fit takes no validation_data, which the message gave as the fix.
    from keraslearn import MLPRegressor

    weights = np.zeros(len(y))
    weights[:2] = 1.0  # (two rows that the seeded split trains on)
    reg = MLPRegressor(hidden_layer_sizes=(2,), early_stopping=True, validation_fraction=0.25,
                       max_iter=2, random_state=0)
    with pytest.raises(ValueError, match=r"The held-out rows weigh nothing.*Drop the rows of "
                                         r"zero weight first, or hold out more rows "
                                         r"\(validation_fraction\)") as info:
        reg.fit(X, X[:, 0], sample_weight=weights)
    assert "validation_data" not in str(info.value)


# ------------------------------------------- checked on every call, as on the first
def _both(**params):
    from keraslearn import MLPClassifier

    return (KerasClassifier(tiny_mlp, **FAST, **params),
            MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0, **params))


def test_multilabel_values_other_than_0_and_1_are_refused_on_every_call():
    # After the first fit they were taken: 0.7 cut to 0, 2 and -1 trained on as targets.
    Xm, Ym = make_multilabel_classification(n_samples=40, n_features=4, n_classes=3,
                                            random_state=0)
    bad = Ym.astype(float)
    bad[0, 0], bad[1, 1], bad[2, 2] = 0.7, 2, -1
    for est in _both():
        est.fit(Xm, Ym)
        before = [w.copy() for w in est.model_.get_weights()]
        for method in ("partial_fit", "fit"):
            est.set_params(warm_start=method == "fit")
            with pytest.raises(ValueError, match=r"rows of 0 and 1 .* holds \[-1.0, 0.7, 2.0\]"):
                getattr(est, method)(Xm, bad)
        for a, b in zip(before, est.model_.get_weights()):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"validation_data: Multilabel targets are rows of 0"):
        KerasClassifier(tiny_mlp, **FAST).fit(Xm, Ym, validation_data=(Xm, bad))
    with pytest.raises(ValueError, match=r"y holds \[2\]"):  # two integers: not 0 and 1
        KerasClassifier(tiny_mlp, **FAST).fit(Xm, Ym * 2)


@pytest.mark.parametrize("classes, match", [
    ([0.0, 1.0, np.nan], "classes contains NaN"),
    ([[0, 1], [2, 3]], r"classes must be a 1-D array of class labels; got shape \(2, 2\)"),
    ([0, 1, 2.5], "classes must be class labels .* of type 'continuous'"),
])
def test_partial_fit_classes_are_checked_as_class_labels(classes, match):
    # They were taken as given: output units for classes that cannot occur.
    for est in _both():
        with pytest.raises(ValueError, match=match):
            est.partial_fit(X, y, classes=classes)
        assert not hasattr(est, "model_")


def test_partial_fit_takes_a_class_weight_dict_whose_keys_a_batch_lacks():
    # scikit-learn's compute_sample_weight refused a batch of 'b' and 'c' for
    # {'a': 2, 'b': 1} ('c' weighs 1), as the README says such keys are fine.
    labels = np.array(["a", "b", "c"])[y3]
    batch = labels != "a"
    weights = {"a": 2.0, "b": 3.0}
    for (weighted, plain) in zip(_both(class_weight=weights), _both()):
        weighted.partial_fit(X3[batch], labels[batch], classes=["a", "b", "c"])
        plain.partial_fit(X3[batch], labels[batch], classes=["a", "b", "c"],
                          sample_weight=np.where(labels[batch] == "b", 3.0, 1.0))
        for a, b in zip(weighted.model_.get_weights(), plain.model_.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_multilabel_partial_fit_classes_given_again_are_not_read():
    # As documented: the labels come from y's columns; repeating classes=[0, 1]
    # was refused as not the first call's [0, 1, 2].
    Xm, Ym = make_multilabel_classification(n_samples=40, n_features=4, n_classes=3,
                                            random_state=0)
    for est in _both():
        est.partial_fit(Xm, Ym, classes=[0, 1]).partial_fit(Xm, Ym, classes=[0, 1])
        assert est.classes_.tolist() == [0, 1, 2]


@pytest.mark.parametrize("class_weight", [{"a": 2.0}, "balanced"])
def test_sample_weight_is_checked_as_given_before_class_weights_multiply_it(class_weight):
    # A column of weights (n, 1) times the class weights broadcast to (n, n)
    # before the check (memory growing with n squared); one weight was spread
    # over every row; "balanced" failed on a scalar or spoke of NaN for infinity.
    labels = np.array(["a", "b"])[y]
    for est in _both(class_weight=class_weight):
        with pytest.raises(ValueError, match=r"1D array or a scalar, got a 2D array of shape "
                                             rf"\({len(X)}, 1\)"):
            est.fit(X, labels, sample_weight=np.ones((len(X), 1)))
        with pytest.raises(ValueError, match=f"sample_weight has 1 weights but X has {len(X)}"):
            est.fit(X, labels, sample_weight=[2.0])
        with pytest.raises(ValueError, match="sample_weight contains infinity"):
            est.fit(X, labels, sample_weight=np.r_[np.inf, np.ones(len(X) - 1)])
        with pytest.raises(ValueError, match=r"Negative values in sample_weight \(the smallest "
                                             r"is -1\.0\)"):
            est.fit(X, labels, sample_weight=-np.ones(len(X)))
        assert not hasattr(est, "classes_")
        scalar = clone(est).fit(X, labels, sample_weight=2.0)  # a scalar fills it, as sklearn
        np.testing.assert_array_equal(scalar.predict_proba(X),
                                      clone(est).fit(X, labels).predict_proba(X))
    for est in _both(class_weight={"a": 0.0, "b": 0.0}):
        with pytest.raises(ValueError, match=r"class_weight \{'a': 0.0, 'b': 0.0\} weighs every "
                                             "sample 0"):
            est.fit(X, labels)


def test_class_weight_messages_say_what_is_wrong():
    labels = np.array(["a", "b"])[y]
    for est in _both(class_weight=[{"a": 2.0}]):
        with pytest.raises(ValueError, match="y is a single output: give one dict"):
            est.fit(X, labels)
    for est in _both(class_weight={"a": 2.0, "z": 5.0}):
        with pytest.raises(ValueError, match=r"keys \['z'\] that are not labels of y\. Its keys "
                                             r"are the labels themselves: \['a', 'b'\]\.$"):
            est.fit(X, labels)
    for est in _both(class_weight={1: 5.0, 0: 1.0}):  # Keras' class indices
        with pytest.raises(ValueError, match=r"class_weight=\{'a': 1.0, 'b': 5.0\}"):
            est.fit(X, labels)
    for est in _both(class_weight={2: 1.0, 3: 5.0}):  # no class's index: no such hint
        with pytest.raises(ValueError, match=r"labels themselves: \['a', 'b'\]\.$"):
            est.fit(X, labels)  # (it suggested class_weight={})
    # Labels that are numbers written as text ("1" to "12", folder names) keyed by
    # the numbers: read as indices of the sorted text ('1', '10', '11', '12', '2',
    # ...), the hint moved the weights onto other classes.
    folders = np.array([str(k) for k in range(1, 13)])[np.arange(len(y)) % 12]
    for est in _both(class_weight={12: 5.0, 1: 1.0, **{k: 1.0 for k in range(2, 12)}}):
        with pytest.raises(ValueError, match=r"The labels are text .*: class_weight=\{'12': "
                                             r"5.0, '1': 1.0, '2': 1.0, .*'11': 1.0\}\.$"):
            est.fit(X, folders)


@pytest.mark.parametrize("loss, encoding, match", [
    ("sparse_categorical_crossentropy", "onehot",
     "target_encoding='onehot' contradicts the loss 'sparse_categorical_crossentropy', "
     "which takes class indices"),
    ("categorical_crossentropy", "sparse",
     "target_encoding='sparse' contradicts the loss 'categorical_crossentropy', which takes "
     "one-hot rows"),
])
def test_a_target_encoding_contradicting_the_loss_is_refused_before_training(loss, encoding,
                                                                             match):
    # It failed inside Keras' training step with a message about tensor ranks.
    clf = KerasClassifier(tiny_mlp, loss=loss, target_encoding=encoding, **FAST)
    with pytest.raises(ValueError, match=match):
        clf.fit(X3, y3)
    assert not hasattr(clf, "model_")
    # without a loss, one-hot rows asked for get the loss that takes them (found in review)
    onehot = KerasClassifier(tiny_mlp, target_encoding="onehot", **FAST).fit(X3, y3)
    assert onehot.model_.loss == "categorical_crossentropy" and onehot.score(X3, y3) > 0.8
    # one sigmoid unit for two classes takes 0/1 targets, whatever the loss says
    with pytest.raises(ValueError, match="target_encoding='sparse' gives class indices .* "
                                         "1 output unit for the 2 classes"):
        KerasClassifier(tiny_mlp, target_encoding="sparse", **FAST).fit(X, y)


@pytest.mark.parametrize("metric", ["auc", "precision", keras.metrics.Recall(),
                                    keras.metrics.AUC, keras.metrics.F1Score(),
                                    "categorical_accuracy", "kl_divergence"])
def test_metrics_that_need_one_hot_rows_are_refused_with_class_index_targets(metric):
    # With the default loss (class indices) they failed in the training step
    # with TensorFlow's message about segment_ids.
    for X_, y_, build in ((X3, y3, tiny_mlp), (X, y, softmax_binary)):
        clf = KerasClassifier(build, metrics=[metric], **FAST)
        with pytest.raises(ValueError, match=r"compares targets with outputs of the same shape"
                                             r".*loss='categorical_crossentropy'"):
            clf.fit(X_, y_)
        assert not hasattr(clf, "model_")
    one_hot = KerasClassifier(tiny_mlp, metrics=["auc"], loss="categorical_crossentropy",
                              **FAST).fit(X3, y3)
    sigmoid = KerasClassifier(tiny_mlp, metrics=["auc"], **FAST).fit(X, y)  # 0/1 column
    assert "auc" in one_hot.history_ and "auc" in sigmoid.history_


@pytest.mark.parametrize("metric, twin", [
    ("categorical_accuracy", "sparse_categorical_accuracy"),
    (keras.metrics.TopKCategoricalAccuracy(k=2), "sparse_top_k_categorical_accuracy")])
def test_a_categorical_metric_over_class_indices_names_its_sparse_twin(metric, twin):
    # categorical_accuracy took the argmax of each class index (0): its history
    # was silently wrong; top-k failed inside TensorFlow on tensor ranks.
    clf = KerasClassifier(tiny_mlp, metrics=[metric], **FAST)
    with pytest.raises(ValueError, match=f"Measure '{twin}', which reads them, or train on "
                                         "one-hot rows"):
        clf.fit(X3, y3)
    fitted = KerasClassifier(tiny_mlp, metrics=[twin], **FAST).fit(X3, y3)
    accuracy = fitted.history_[twin]
    assert len(accuracy) == FAST["epochs"] and 0 < accuracy[-1] <= 1


def _compiling(**compile_kwargs):
    def build(meta):
        model = tiny_mlp(meta)
        model.compile(optimizer=keras.optimizers.Adam(FAST["optimizer__learning_rate"]),
                      loss="sparse_categorical_crossentropy", **compile_kwargs)
        return model

    return build


@pytest.mark.parametrize("build, params", [
    (_compiling(weighted_metrics=["categorical_accuracy"]), {}),
    (tiny_mlp, {"compile__weighted_metrics": ["categorical_accuracy"]}),
    (tiny_mlp, {"metrics": {"output": ["categorical_accuracy"]}}),
], ids=["builder-compiled-weighted", "weighted", "by-output"])
def test_metrics_reading_other_targets_are_found_by_every_route(build, params):
    # (found in review) Weighted metrics and metrics by output name trained
    # silently, wrong.
    clf = KerasClassifier(build, **params, **FAST)
    with pytest.raises(ValueError, match="'categorical_accuracy' compares targets with "
                                         "outputs of the same shape"):
        clf.fit(X3, y3)
    assert not hasattr(clf, "model_")


def test_a_metric_function_of_ones_own_named_like_keras_one_trains():
    # (found in review) Keras serializes every function alike (module builtins):
    # one of the user's, compiled by the builder and reading class indices,
    # was refused as Keras' categorical_accuracy.
    def categorical_accuracy(y_true, y_pred):
        return keras.metrics.sparse_categorical_accuracy(y_true, y_pred)

    clf = KerasClassifier(_compiling(metrics=[categorical_accuracy]), **FAST).fit(X3, y3)
    assert len(clf.history_["categorical_accuracy"]) == FAST["epochs"]


@pytest.mark.parametrize("metric, twin", [
    ("sparse_categorical_accuracy", "categorical_accuracy"),
    (keras.metrics.SparseTopKCategoricalAccuracy(k=2), "top_k_categorical_accuracy"),
    (keras.metrics.sparse_categorical_accuracy, "categorical_accuracy")])
def test_a_sparse_metric_over_one_hot_rows_names_its_twin(metric, twin):
    # Integer labels under loss='categorical_crossentropy' train on one-hot
    # rows: a metric reading class indices failed inside TensorFlow
    # ("Incompatible shapes: [32] vs. [32,3]").
    clf = KerasClassifier(tiny_mlp, loss="categorical_crossentropy", metrics=[metric], **FAST)
    with pytest.raises(ValueError, match=f"reads class indices, but the loss "
                                         f"'categorical_crossentropy' trains on one-hot rows. "
                                         f"Measure '{twin}'"):
        clf.fit(X3, y3)
    assert not hasattr(clf, "model_")
    fitted = KerasClassifier(tiny_mlp, loss="categorical_crossentropy", metrics=[twin],
                             **FAST).fit(X3, y3)
    assert len(fitted.history_[twin]) == FAST["epochs"]


@pytest.mark.parametrize("metric, twin", [
    ("accuracy", "binary_accuracy"), ("categorical_accuracy", "binary_accuracy"),
    (keras.metrics.SparseCategoricalAccuracy(), "binary_accuracy"),
    ("categorical_crossentropy", "binary_crossentropy")])
def test_a_metric_reading_one_class_per_row_is_refused_for_multilabel_targets(metric, twin):
    # Keras reads "accuracy" over several units as categorical accuracy, the
    # argmax of each row: its history said 0.79 where each label was 0.99 right;
    # sparse categorical accuracy failed inside TensorFlow on shapes.
    Xm, Ym = make_multilabel_classification(n_samples=60, n_features=4, n_classes=3,
                                            random_state=0)
    clf = KerasClassifier(tiny_mlp, metrics=[metric], **FAST)
    with pytest.raises(ValueError, match=r"reads one class per row .* but the model has "
                                         rf"multilabel y, .* measure '{twin}'"):
        clf.fit(Xm, Ym)
    assert not hasattr(clf, "model_")
    fitted = KerasClassifier(tiny_mlp, metrics=[twin], **FAST).fit(Xm, Ym)
    if twin == "binary_accuracy":  # the share of labels right, as the network predicts
        right = (fitted.predict(Xm) == Ym).mean()
        assert fitted.model_.evaluate(Xm, Ym, verbose=0)[1] == pytest.approx(right, abs=1e-6)


@pytest.mark.parametrize("metric", ["categorical_accuracy", "sparse_categorical_accuracy",
                                    "sparse_categorical_crossentropy"])
def test_a_metric_reading_one_class_per_row_is_refused_over_one_sigmoid_unit(metric):
    # The argmax of one unit is 0: categorical accuracy said 1.0 every epoch, and
    # sparse categorical accuracy the share of class 0.
    clf = KerasClassifier(tiny_mlp, metrics=[metric], **FAST)
    with pytest.raises(ValueError, match=r"reads one class per row .* but the model has one "
                                         r"output unit for the two classes"):
        clf.fit(X, y)
    fitted = KerasClassifier(tiny_mlp, metrics=["accuracy"], **FAST).fit(X, y)
    accuracy = fitted.model_.evaluate(X, y, verbose=0)[1]  # Keras' binary accuracy here
    assert accuracy == pytest.approx(fitted.score(X, y), abs=1e-6)


@pytest.mark.parametrize("data, twin", [("binary", "BinaryAccuracy"),
                                        ("multiclass", "SparseCategoricalAccuracy")])
def test_keras_accuracy_class_over_probabilities_is_refused(data, twin):
    # keras.metrics.Accuracy compares the probabilities with the labels for
    # equality: its history said 0.0 where the classifier was 0.67 right.
    X_, y_ = (X, y) if data == "binary" else (X3, y3)
    for metric in (keras.metrics.Accuracy(), keras.metrics.Accuracy):
        clf = KerasClassifier(tiny_mlp, metrics=[metric], **FAST)
        with pytest.raises(ValueError, match=r"keras.metrics.Accuracy compares the outputs "
                                             rf".* or keras.metrics.{twin}\."):
            clf.fit(X_, y_)
    named = KerasClassifier(tiny_mlp, metrics=["accuracy"], **FAST).fit(X_, y_)
    assert named.model_.evaluate(X_, y_, verbose=0)[1] == pytest.approx(named.score(X_, y_),
                                                                        abs=1e-6)


def test_a_softmax_over_multilabel_targets_is_refused():
    # Its units sum to 1, so one label a row at most passes 0.5: it trained, and
    # predicted nearly no labels (score 0.375 where sigmoid units scored 0.985).
    Xm, Ym = make_multilabel_classification(n_samples=60, n_features=4, n_classes=3,
                                            random_state=0)

    def softmax(meta):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])

    clf = KerasClassifier(softmax, loss="binary_crossentropy", **FAST)
    with pytest.raises(ValueError, match=r"ends in a softmax, whose units sum to 1, but y is "
                                         r"multilabel.*activation='sigmoid'"):
        clf.fit(Xm, Ym)
    assert not hasattr(clf, "model_")


def test_metrics_of_ones_own_and_partials_still_train_with_class_indices():
    # (found in review) Keras cannot serialize a partial's config, and the check
    # read the compiled model's config; a metric of one's own named Recall may
    # read class indices.
    import functools

    class Recall(keras.metrics.Metric):
        def __init__(self, name="recall", **kwargs):
            super().__init__(name=name, **kwargs)
            self.seen = self.add_weight(name="seen", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.seen.assign_add(keras.ops.cast(keras.ops.shape(y_true)[0], "float32"))

        def result(self):
            return self.seen

    top2 = functools.partial(keras.metrics.sparse_top_k_categorical_accuracy, k=2)
    top2.__name__ = "top2"
    for params in ({"metrics": [Recall()]}, {"metrics": [top2]},
                   {"loss": functools.partial(keras.losses.sparse_categorical_crossentropy),
                    "target_encoding": "sparse"}):
        clf = KerasClassifier(tiny_mlp, **FAST, **params).fit(X3, y3)
        assert clf.score(X3, y3) > 0.5

    def compiled_with_a_partial(meta):
        model = tiny_mlp(meta)
        model.compile(optimizer=keras.optimizers.Adam(FAST["optimizer__learning_rate"]),
                      loss="sparse_categorical_crossentropy", metrics=[top2])
        return model

    compiled = KerasClassifier(compiled_with_a_partial, **FAST).fit(X3, y3)
    assert len(compiled.history_["loss"]) == FAST["epochs"]  # (its own optimizer: no score)


def test_one_output_that_is_not_a_probability_is_refused_as_softmax_rows_are():
    # tanh with hinge: predict_proba gave values from -1 to 2, and predict cut
    # them at 0.5 (found in an audit).
    def tanh_unit(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(1, activation="tanh")])

    def squared_error(y_true, y_pred):  # (Keras' own is refused at fit under tanh)
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)

    clf = KerasClassifier(tanh_unit, loss=squared_error, **FAST).fit(X, y)
    for method in (clf.predict_proba, clf.predict):
        with pytest.raises(ValueError, match=r"outputs for \d+ of 80 rows are outside \[0, 1\].*"
                                             r"sigmoid activation"):
            method(X)


def _logits(meta, activation=None, units=None, dropout=False):
    layers = [keras.Input((meta["n_features_in_"],)),
              keras.layers.Dense(units or meta["n_classes_"], activation=activation)]
    return keras.Sequential(layers + [keras.layers.Dropout(0.1)] * dropout)


def test_a_loss_function_given_from_logits_gives_softmax_probabilities():
    # functools.partial(loss, from_logits=True), the documented way to give a
    # loss of one's own: its outputs were read as probabilities, clipped at 0.
    import functools

    loss = functools.partial(keras.losses.sparse_categorical_crossentropy, from_logits=True)
    clf = KerasClassifier(_logits, loss=loss, target_encoding="sparse", **FAST).fit(X3, y3)
    assert clf.target_encoder_.from_logits_
    logits = np.asarray(clf.model_(X3), dtype="float64")
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(clf.predict_proba(X3), softmax / softmax.sum(axis=1, keepdims=True),
                               rtol=1e-6)


@pytest.mark.parametrize("activation, units, loss, match", [
    ("sigmoid", 1, keras.losses.BinaryCrossentropy(from_logits=True),
     r"ends in a sigmoid, whose outputs are probabilities, but the loss BinaryCrossentropy "
     r"takes logits \(from_logits=True\).*Remove the output layer's activation"),
    ("sigmoid+dropout", 1, keras.losses.BinaryCrossentropy(from_logits=True),
     r"ends in a sigmoid, whose outputs are probabilities"),  # (Dropout passes it on)
    ("relu", 1, "hinge", r"has a relu activation and the loss 'hinge' trains scores"),
    ("sparse_sigmoid", 1, "hinge", None),  # (outputs in [0, 1]: it fits)
    ("softmax", None, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
     r"ends in a softmax, whose outputs are probabilities, but the loss"),
    ("tanh", 1, "hinge", r"has a tanh activation and the loss 'hinge' trains scores, not "
                         r"probabilities.*activation='sigmoid'"),
    (None, None, "categorical_hinge", r"has a linear activation and the loss "
                                      r"'categorical_hinge' trains scores"),
    (None, 1, keras.losses.SquaredHinge(), r"the loss SquaredHinge trains scores"),
    # Regression losses (found in an audit): a linear or ReLU output of three
    # classes under the mean squared error fitted; rows of no positive value then
    # failed predict, and negative outputs were clipped into "probabilities".
    (None, None, "mse", r"has a linear activation and the loss 'mse' trains values, not "
                        r"probabilities"),
    ("relu", None, keras.losses.MeanSquaredError(), r"has a relu activation and the loss "
                                                    r"MeanSquaredError trains values"),
    (None, 1, "huber", r"the loss 'huber' trains values"),
    ("softmax", None, "mse", None),  # (probabilities under the squared error: it fits)
])
def test_outputs_the_loss_cannot_give_probabilities_of_are_refused_before_training(
        activation, units, loss, match):
    # A sigmoid under a loss from logits trained (and predict_proba read) a
    # sigmoid of a sigmoid, silently; hinge losses on scores trained every
    # epoch, then predict failed, advising from_logits (which they do not take).
    dropout = activation.endswith("+dropout") if activation else False
    clf = KerasClassifier(_logits, model__activation=activation and activation.split("+")[0],
                          model__units=units, model__dropout=dropout, loss=loss, **FAST)
    data = (X3, y3) if units is None else (X, y)
    if match is None:
        n_classes = 2 if units is not None else 3
        assert clf.fit(*data).predict_proba(data[0]).shape == (len(data[0]), n_classes)
        return
    with pytest.raises(ValueError, match=match):
        clf.fit(*data)
    assert not hasattr(clf, "model_")


def test_a_first_partial_fit_batch_of_one_hot_rows_of_one_class_needs_classes():
    single = np.tile([1, 0, 0], (len(X), 1))
    with pytest.raises(ValueError, match="only one class"):
        KerasClassifier(tiny_mlp, loss="categorical_crossentropy").partial_fit(X, single)
    clf = KerasClassifier(tiny_mlp, loss="categorical_crossentropy", random_state=0)
    clf.partial_fit(X, single, classes=[0, 1, 2])  # the batch of one class, the others given
    assert clf.classes_.tolist() == [0, 1, 2] and clf.predict_proba(X).shape == (len(X), 3)
