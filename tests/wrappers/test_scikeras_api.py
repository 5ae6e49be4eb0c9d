"""scikeras' documented public API: a scikeras user migrates by changing one import.

scikeras itself is not installed; its documented names and defaults are
written down here. One deliberate difference: ``verbose`` defaults to 0
(quiet, as scikit-learn estimators are), where scikeras prints progress.
"""

import inspect

import keras
import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from keraslearn import KerasClassifier, KerasRegressor

# scikeras.wrappers.BaseWrapper.__init__ (0.13), keyword-only after ``model``.
SCIKERAS_DEFAULTS = {
    "model": None,
    "build_fn": None,
    "warm_start": False,
    "random_state": None,
    "optimizer": "rmsprop",
    "loss": None,
    "metrics": None,
    "batch_size": None,
    "validation_batch_size": None,
    "verbose": 1,
    "callbacks": None,
    "validation_split": 0.0,
    "shuffle": True,
    "run_eagerly": False,
    "epochs": 1,
}
DELIBERATE = {"verbose": 0}


@pytest.mark.parametrize("cls, extra", [
    (KerasClassifier, {"class_weight": None}),
    (KerasRegressor, {}),
])
def test_constructor_names_and_defaults(cls, extra):
    sig = inspect.signature(cls.__init__).parameters
    expected = {**SCIKERAS_DEFAULTS, **extra, **DELIBERATE}
    for name, default in expected.items():
        assert name in sig, name
        assert sig[name].default == default, name
    assert sig["model"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    for name in set(expected) - {"model"}:
        assert sig[name].kind is inspect.Parameter.KEYWORD_ONLY, name
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.values())
    params = cls().get_params()
    assert expected.keys() <= params.keys()


# A scikeras-style script, as its quick-start documents it.
def get_clf(meta, hidden_layer_sizes, dropout):
    n_features_in_ = meta["n_features_in_"]
    n_classes_ = meta["n_classes_"]
    model = keras.models.Sequential()
    model.add(keras.layers.Input(shape=(n_features_in_,)))
    for hidden_layer_size in hidden_layer_sizes:
        model.add(keras.layers.Dense(hidden_layer_size, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(n_classes_, activation="softmax"))
    return model


def get_reg(meta, hidden_layer_sizes, dropout, compile_kwargs):
    model = keras.models.Sequential()
    model.add(keras.layers.Input(shape=(meta["n_features_in_"],)))
    for hidden_layer_size in hidden_layer_sizes:
        model.add(keras.layers.Dense(hidden_layer_size, activation="relu"))
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(1))
    model.compile(
        optimizer=compile_kwargs["optimizer"], loss=compile_kwargs["loss"],
        metrics=compile_kwargs["metrics"],
    )
    return model


def test_scikeras_quickstart_classifier_runs_unchanged():
    X, y = make_classification(200, 10, n_informative=5, n_classes=3, random_state=0)
    clf = KerasClassifier(
        model=get_clf,
        loss="sparse_categorical_crossentropy",
        hidden_layer_sizes=(16,),
        dropout=0.2,
        optimizer="adam",
        optimizer__learning_rate=0.01,
        epochs=5,
        verbose=0,
        random_state=0,
    )
    params = {"hidden_layer_sizes": [(8,), (16,)], "optimizer__learning_rate": [0.01]}
    search = GridSearchCV(clf, params, cv=2, scoring="accuracy").fit(X, y)
    assert search.best_score_ > 0.5
    best = search.best_estimator_
    assert best.predict_proba(X[:3]).shape == (3, 3)
    # Fitted attributes a scikeras user reads.
    assert isinstance(best.model_, keras.Model)
    assert set(best.history_) == {"loss"} and len(best.history_["loss"]) == 5
    np.testing.assert_array_equal(best.classes_, [0, 1, 2])
    assert best.n_classes_ == 3
    assert best.n_features_in_ == 10
    assert best.X_shape_ == (200, 10)
    assert best.n_outputs_expected_ == 1
    assert best.target_type_ == "multiclass"
    assert best.target_encoder_ is not None


def test_scikeras_regressor_with_compile_kwargs_and_build_fn():
    X, y = make_regression(200, 8, noise=1.0, random_state=0)
    reg = KerasRegressor(
        build_fn=get_reg,  # scikeras' deprecated alias keeps working
        loss="mse",
        metrics=[keras.metrics.MeanAbsoluteError],
        metrics__0__name="mae",
        hidden_layer_sizes=(32,),
        dropout=0.0,
        optimizer="adam",
        optimizer__learning_rate=0.05,
        epochs=20,
        random_state=0,
    )
    pipe = make_pipeline(StandardScaler(), reg).fit(X, y / y.std())
    assert pipe.score(X, y / y.std()) > 0.8
    fitted = pipe[-1]
    # Named as scikeras names history keys ("mae" -> "mean_absolute_error").
    assert fitted.history_["mean_absolute_error"][-1] < fitted.history_["mean_absolute_error"][0]
    assert fitted.n_outputs_ == 1 and fitted.n_features_in_ == 8


def test_meta_keys_scikeras_documents():
    X, y = make_classification(60, 4, random_state=0)
    seen = {}

    def build(meta, compile_kwargs, params):
        seen.update(meta=meta, compile_kwargs=compile_kwargs, params=params)
        return get_clf(meta, (4,), 0.0)

    KerasClassifier(build, loss="sparse_categorical_crossentropy", random_state=0).fit(X, y)
    assert {
        "n_features_in_", "X_dtype_", "X_shape_", "target_type_", "y_dtype_", "y_ndim_",
        "classes_", "n_classes_", "n_outputs_", "n_outputs_expected_", "target_encoder_",
    } <= seen["meta"].keys()
    assert {"optimizer", "loss", "metrics"} <= seen["compile_kwargs"].keys()
    assert seen["params"]["loss"] == "sparse_categorical_crossentropy"


def test_builder_taking_kwargs_receives_meta_as_in_scikeras():
    X, y = make_classification(60, 4, random_state=0)
    seen = {}

    def build(**kwargs):
        seen.update(kwargs)
        return get_clf(kwargs["meta"], (kwargs["width"],), 0.0)

    clf = KerasClassifier(build, width=5, random_state=0).fit(X, y)
    assert {"meta", "compile_kwargs", "params", "width"} <= seen.keys()
    assert clf.model_.layers[0].units == 5


def test_scikeras_routed_names_and_methods():
    X, y = make_classification(60, 4, random_state=0)
    clf = KerasClassifier(
        get_clf, hidden_layer_sizes=(4,), dropout=0.0, fit__batch_size=16,
        predict__batch_size=64, callbacks=[keras.callbacks.EarlyStopping],
        callbacks__0__monitor="loss", epochs=3, random_state=0,
    )
    clf.initialize(X, y)  # scikeras: build without fitting
    assert clf.history_ == {}
    clf.partial_fit(X, y)
    assert len(clf.history_["loss"]) == 1
    clf.fit(X, y, epochs=2)  # scikeras passes fit(**kwargs) to Model.fit
    assert len(clf.history_["loss"]) == 2
    assert 0.0 <= clf.score(X, y) <= 1.0


def _linear(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                             keras.layers.Dense(1, activation="sigmoid")])


class _PredictBatches(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ends = 0

    def on_predict_end(self, logs=None):
        self.ends += 1


def test_predict_takes_keras_predict_arguments_for_one_call_as_scikeras():
    # scikeras' predict(X, **kwargs) and predict_proba(X, **kwargs) pass them to
    # Model.predict; the same calls give the same outputs, and an argument
    # Model.predict does not take is named before TensorFlow runs.
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    clf = KerasClassifier(_linear, loss="binary_crossentropy", epochs=1,
                          random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.predict(X, batch_size=7), clf.predict(X))
    # verbose sends the call through Keras' predict: float32 rounding apart.
    np.testing.assert_allclose(clf.predict_proba(X, batch_size=7, verbose=0),
                               clf.predict_proba(X), atol=1e-6)
    hook = _PredictBatches()
    clf.predict(X, callbacks=[hook])
    assert hook.ends == 1
    with pytest.raises(ValueError, match="^Invalid argument batch_sise: .*does not accept "
                                         "'batch_sise'. Did you mean 'batch_size'"):
        clf.predict(X, batch_sise=7)  # (named as given, not predict__batch_sise)
    with pytest.raises(ValueError, match="^Invalid argument epoch: .*Did you mean 'epochs'"):
        KerasClassifier(_linear, epochs=1).fit(X, y, epoch=3)
    reg = KerasRegressor(_linear, epochs=1, random_state=0).fit(X, y.astype(float))
    np.testing.assert_allclose(reg.predict(X, batch_size=7), reg.predict(X), rtol=1e-6)
