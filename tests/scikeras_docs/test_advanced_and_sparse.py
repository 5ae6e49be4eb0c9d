"""scikeras' Advanced Usage page (compilation, builder arguments, routed
parameters) and its sparse-input tutorial, with only the import changed."""

import warnings

import keras
import numpy as np
import pytest
from sklearn.base import TransformerMixin
from sklearn.datasets import make_classification
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from keraslearn import KerasClassifier, KerasRegressor
from keraslearn.wrappers import BaseWrapper

X, y = make_classification(200, 8, random_state=0)


def test_builder_compiles_with_compile_kwargs_or_leaves_it_to_the_wrapper():
    def compiled_by_builder(compile_kwargs):
        optimizer = compile_kwargs["optimizer"]
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=optimizer, loss="binary_crossentropy")
        return model

    clf = KerasClassifier(model=compiled_by_builder, optimizer=keras.optimizers.SGD,
                          optimizer__learning_rate=0.05).fit(X, y)
    assert type(clf.model_.optimizer).__name__ == "SGD"
    assert float(clf.model_.optimizer.learning_rate.numpy()) == pytest.approx(0.05)

    def not_compiled():
        return keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])

    clf = KerasClassifier(model=not_compiled, optimizer=keras.optimizers.Adam).fit(X, y)
    assert type(clf.model_.optimizer).__name__ == "Adam"


def test_builder_receives_meta_compile_kwargs_and_params():
    seen = {}

    def model_build_fn(my_param, meta, compile_kwargs, params):
        seen.update(my_param=my_param, meta=meta, compile_kwargs=compile_kwargs, params=params)
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(1, activation="sigmoid")])

    KerasClassifier(model=model_build_fn, my_param=10, optimizer="sgd").fit(X, y)
    assert seen["my_param"] == 10 and seen["meta"]["n_features_in_"] == 8
    assert isinstance(seen["compile_kwargs"]["optimizer"], keras.optimizers.SGD)
    assert seen["params"]["optimizer"] == "sgd"  # the raw parameter


def test_routed_losses_metrics_and_callbacks():
    def two_units():
        return keras.Sequential([keras.Input((8,)), keras.layers.Dense(2, activation="softmax")])

    clf = KerasClassifier(
        model=two_units, loss=keras.losses.CategoricalCrossentropy, loss__label_smoothing=0.1,
        metrics=[keras.metrics.CategoricalAccuracy, keras.metrics.AUC],
        metrics__1__num_thresholds=50,
        callbacks=[keras.callbacks.TerminateOnNaN, keras.callbacks.EarlyStopping],
        callbacks__1__monitor="loss", epochs=2,
    ).fit(X, y)
    assert clf.model_.loss.label_smoothing == pytest.approx(0.1)
    assert "categorical_accuracy" in clf.history_
    assert any(key.startswith("auc") for key in clf.history_)  # Keras numbers repeated names


def test_a_metric_class_alone_with_routed_parameters():
    clf = KerasClassifier(
        model=lambda: keras.Sequential([keras.Input((8,)),
                                        keras.layers.Dense(1, activation="sigmoid")]),
        loss="binary_crossentropy", metrics=keras.metrics.BinaryAccuracy,
        metrics__threshold=0.65, epochs=1,
    ).fit(X, y)
    assert "binary_accuracy" in clf.history_


def test_base_wrapper_has_no_default_scorer():
    est = BaseWrapper(lambda: keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)]),
                      loss="mse").fit(X, y.astype(float))
    with pytest.raises(NotImplementedError, match="scorer"):
        est.score(X, y)


def get_sparse_model(meta):
    return keras.Sequential([keras.Input(shape=(meta["n_features_in_"],)),
                             keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(1)])


@pytest.mark.parametrize("dtype", [np.float64, np.uint8])
def test_sparse_tutorial_pipelines(dtype):
    X_ids = np.arange(0, 2_000).reshape(-1, 1)
    target = np.random.default_rng(0).uniform(0, 1, size=(X_ids.shape[0],))
    sparse_pipe = Pipeline([
        ("encoder", OneHotEncoder(sparse_output=True, dtype=dtype)),
        ("model", KerasRegressor(get_sparse_model, loss="mse", epochs=2, verbose=False,
                                 random_state=0)),
    ]).fit(X_ids, target)
    dense_pipe = Pipeline([
        ("encoder", OneHotEncoder(sparse_output=False)),
        ("model", KerasRegressor(get_sparse_model, loss="mse", epochs=2, verbose=False,
                                 random_state=0)),
    ]).fit(X_ids, target)
    # same network, same data: the sparse pipeline learns what the dense one does
    assert sparse_pipe.predict(X_ids[:5]).shape == (5,)
    assert abs(sparse_pipe[-1].history_["loss"][-1] - dense_pipe[-1].history_["loss"][-1]) < 0.05


class _Subclass(KerasClassifier):  # no __init__ of its own
    pass


class _MixedIn(TransformerMixin, KerasClassifier):  # a mixin first (found in review)
    pass


class _OwnInit(KerasClassifier):  # an __init__ without **kwargs (found in review)
    def __init__(self, model=None, epochs=1):
        super().__init__(model, epochs=epochs)


def test_a_subclass_init_without_kwargs_reads_the_wrappers_parameters_as_its_own():
    # Its __init__ ended the walk for the declaring class: a builder's loss got
    # None, and a builder's own Adam was refused against optimizer='rmsprop'.
    def compiled(loss="binary_crossentropy"):
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(loss=loss, optimizer="adam")
        return model

    clf = _OwnInit(compiled).fit(X, y)
    assert clf.model_.loss == "binary_crossentropy"
    assert type(clf.model_.optimizer).__name__ == "Adam"


class _Redeclared(KerasClassifier):  # a wrapper parameter declared again
    def __init__(self, model=None, loss=None, **kwargs):
        super().__init__(model, loss=loss, **kwargs)


@pytest.mark.parametrize("cls", [KerasClassifier, _Subclass, _MixedIn, _Redeclared])
def test_a_builder_s_own_defaults_stand_for_wrapper_parameters_left_at_none(cls):
    # Advanced Usage: KerasClassifier(optimizer="sgd") does not give the builder
    # optimizer="sgd"; its arguments come from model__ parameters. A builder's
    # loss="binary_crossentropy" got the wrapper's None (refused as compiled
    # without a loss) and random_state=42 got None (other weights at every build).
    def create_model(optimizer="adam", loss="binary_crossentropy", random_state=42):
        init = keras.initializers.GlorotUniform(seed=random_state)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(
            1, activation="sigmoid", kernel_initializer=init)])
        model.compile(loss=loss, optimizer=optimizer)
        return model

    with pytest.warns(UserWarning, match=r"The model builder 'create_model' takes the "
                                         r"estimator's optimizer='rmsprop', the estimator's "
                                         r"default, over its own optimizer='adam'; where that "
                                         r"is not your choice, give the estimator optimizer="):
        first, again = (cls(create_model, epochs=1).initialize(X, y) for _ in range(2))
    np.testing.assert_array_equal(first.model_.get_weights()[0], again.model_.get_weights()[0])
    assert first.model_.loss == "binary_crossentropy"
    # A value given (a search's "rmsprop" too) reaches the builder, unwarned but
    # for the wrapper's default itself; model__ routes it as in scikeras.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sgd = cls(create_model, optimizer="sgd", epochs=1).fit(X, y)
        routed = cls(create_model, model__optimizer="sgd", epochs=1).fit(X, y)
        seeded = cls(create_model, random_state=0, optimizer="adam", epochs=1).initialize(X, y)
    assert type(sgd.model_.optimizer).__name__ == type(routed.model_.optimizer).__name__ == "SGD"
    assert not np.array_equal(seeded.model_.get_weights()[0], first.model_.get_weights()[0])
    with pytest.warns(UserWarning, match="the estimator's default"):
        plain = cls(create_model, optimizer="rmsprop", epochs=1).fit(X, y)
    assert type(plain.model_.optimizer).__name__ == "RMSprop"
