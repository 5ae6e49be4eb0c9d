"""Estimator parameters flattened for MLflow: routed ones kept, values short and stable."""

import keras
import numpy as np
from _mlflow_store import pipeline
from sklearn.model_selection import GridSearchCV

from builders import tiny_mlp
from keraslearn.tracking import flatten_params
from keraslearn.tracking._params import MAX_VALUE_LENGTH, describe


def build(meta, hidden=4):
    return tiny_mlp(meta, hidden)


def test_pipeline_parameters_are_flat_with_routed_ones_and_simple_values_kept():
    pipe = pipeline(callbacks=[keras.callbacks.EarlyStopping(patience=2)])
    pipe.set_params(kerasclassifier__model=build)
    params = flatten_params(pipe)
    assert set(params) == set(pipe.get_params(deep=True))
    assert params["kerasclassifier__optimizer__learning_rate"] == 0.01
    assert params["kerasclassifier__hidden"] == 4
    assert params["kerasclassifier__epochs"] == pipe[-1].epochs
    assert params["standardscaler__with_mean"] is True
    assert params["memory"] is None
    # Objects as text: an estimator as its class with the parameters it was given,
    # a function by its import path, a callback without the memory address of
    # its default repr.
    assert params["kerasclassifier"].startswith(
        "KerasClassifier(model=test_params.build, random_state=0, optimizer='adam', callbacks=")
    assert params["steps"].startswith("[('standardscaler', StandardScaler()), "
                                      "('kerasclassifier', KerasClassifier(model=")
    assert params["kerasclassifier__model"] == "test_params.build"
    assert params["kerasclassifier__callbacks"] == \
        "[<keras.src.callbacks.early_stopping.EarlyStopping>]"
    assert not any(" at 0x" in str(v) for v in params.values())


def test_a_search_is_flattened_through_its_estimator():
    search = GridSearchCV(pipeline(), {"kerasclassifier__hidden": [2, 4]}, cv=2)
    params = flatten_params(search, prefix="search.")
    assert params["search.estimator__kerasclassifier__optimizer__learning_rate"] == 0.01
    assert params["search.param_grid"] == "{'kerasclassifier__hidden': [2, 4]}"
    assert params["search.cv"] == 2


def test_long_values_are_cut_to_mlflows_limit_and_numpy_values_become_python():
    class Holder:
        def __init__(self, a, b, c):
            self.a, self.b, self.c = a, b, c

        def get_params(self, deep=True):
            return {"a": self.a, "b": self.b, "c": self.c}

    params = flatten_params(Holder("x" * 10_000, np.float32(0.5), np.arange(100)))
    assert len(params["a"]) == MAX_VALUE_LENGTH and params["a"].endswith("...")
    assert params["b"] == 0.5 and type(params["b"]) is float
    assert params["c"].startswith("[ 0,  1,") and "..." in params["c"]
    assert describe((build, tiny_mlp)) == "(test_params.build, tiny_mlp)"  # its own repr
    assert describe({"k": None}) == "{'k': None}"
    # A class_weight keyed by NumPy's labels (dict(zip(classes_, weights))) is
    # logged as one keyed by Python's: one text for one setting.
    classes = np.array(["cat", "dog"])
    assert describe(dict(zip(classes, np.array([1.5, 0.75])))) == describe(
        {"cat": 1.5, "dog": 0.75}) == "{'cat': 1.5, 'dog': 0.75}"


def test_estimators_keras_objects_and_reprs_are_told_apart_without_addresses():
    import functools

    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    # The candidates of a search over estimators: before, all "StandardScaler".
    assert [describe(v) for v in (StandardScaler(), StandardScaler(with_mean=False),
                                  MinMaxScaler(feature_range=(-1, 1)))] == [
        "StandardScaler()", "StandardScaler(with_mean=False)",
        "MinMaxScaler(feature_range=(-1, 1))"]
    adam = describe(keras.optimizers.Adam(learning_rate=0.0123))
    # The rate as the optimizer holds it (a float32 variable); no name, which Keras
    # numbers per process ("adam_2").
    assert adam.startswith("Adam(learning_rate=0.01229999") and "beta_1=0.9" in adam
    assert describe(keras.optimizers.Adam(learning_rate=0.0123)) == adam
    loss = describe(keras.losses.BinaryCrossentropy(label_smoothing=0.1))
    assert loss.startswith("BinaryCrossentropy(") and "label_smoothing=0.1" in loss
    wrapped = describe(keras.losses.get("binary_crossentropy"))  # a function inside
    partial = describe(functools.partial(build, hidden=3))
    assert " at 0x" not in wrapped + partial and "hidden=3" in partial
    network = keras.Sequential([keras.layers.Dense(1)])  # named sequential_<n> per process
    assert describe(network) == "<keras.src.models.sequential.Sequential>"
    # Schedules and regularizers of other settings logged the same text:
    # "<keras.src.optimizers.schedules.learning_rate_schedule.ExponentialDecay>".
    decay = keras.optimizers.schedules.ExponentialDecay
    texts = [describe(v) for v in (decay(0.1, 10, 0.9), decay(0.001, 10, 0.9),
                                   keras.regularizers.L2(0.01), keras.regularizers.L2(0.1))]
    assert len(set(texts)) == len(texts) and "initial_learning_rate=0.1," in texts[0]
    # A metric's or loss's own name (it names the history's curves) is kept; Keras'
    # names, numbered per process, are not (found in an audit: name="acc" was lost).
    assert describe(keras.metrics.SparseCategoricalAccuracy(name="acc")).startswith(
        "SparseCategoricalAccuracy(name='acc', ")
    assert "name=" in describe(keras.losses.MeanSquaredError(name="squares"))
    for generated in (keras.metrics.AUC(), keras.metrics.AUC(), keras.metrics.MeanIoU(2),
                      keras.metrics.SparseCategoricalAccuracy(), keras.losses.Huber()):
        assert "name=" not in describe(generated)


def test_keys_are_written_as_mlflow_takes_them_on_every_system():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from keraslearn.tracking._params import mlflow_key

    assert [mlflow_key(k) for k in ("auc(roc)", "fit//loss", "/fit/loss", "./loss",
                                    "../x", "a:b", "précision", "", "val loss")] == [
        "auc_roc_", "fit/loss", "fit/loss", "loss", "__/x", "a_b", "précision", "_", "val loss"]
    params = flatten_params(Pipeline([("scale+center", StandardScaler())]))
    assert "scale_center__with_mean" in params and "scale+center" not in str(list(params))


def test_keys_mlflow_writes_alike_are_kept_apart_with_a_warning():
    # "age:1" and "age;1" are both age_1 to MLflow: one step's entries were
    # silently lost under the other's.
    import pytest
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    ct = ColumnTransformer([("age:1", StandardScaler(with_mean=False), [0]),
                            ("age;1", MinMaxScaler(), [1])])
    with pytest.warns(UserWarning, match=r"Parameter 'age;1' is logged as 'age_1_2': MLflow's "
                                         r"key for it, 'age_1', is another parameter's"):
        params = flatten_params(ct)
    assert len(params) == len(ct.get_params(deep=True))
    assert params["age_1"] == "StandardScaler(with_mean=False)"
    assert params["age_1_2"] == "MinMaxScaler()"
    assert params["age_1__with_mean"] is False and params["age_1_2__feature_range"] == "(0, 1)"
    # A step of the user's named as the suffixed key keeps its name, prefixed too.
    ct.set_params(transformers=ct.transformers + [("age_1_2", StandardScaler(), [2])])
    for prefix in ("", "p/"):
        with pytest.warns(UserWarning, match=f"is logged as '{prefix}age_1_3'"):
            params = flatten_params(ct, prefix=prefix)
        assert params[f"{prefix}age_1_2"] == "StandardScaler()"
    # So does one named as a key rewritten to it (found in an audit: "scale:std", sorted
    # first, took "scale_std", and the step so named was logged as "scale_std_2").
    ct = ColumnTransformer([("scale:std", StandardScaler(with_mean=False), [0]),
                            ("scale_std", MinMaxScaler(), [1])])
    with pytest.warns(UserWarning, match="Parameter 'scale:std' is logged as 'scale_std_2'"):
        params = flatten_params(ct)
    assert params["scale_std"] == "MinMaxScaler()" and "scale_std__feature_range" in params
    assert params["scale_std_2"] == "StandardScaler(with_mean=False)"
    assert params["scale_std_2__with_mean"] is False


def test_a_randomized_search_s_distributions_are_logged_with_their_arguments():
    # Logged as <scipy.stats._distn_infrastructure.rv_continuous_frozen>: two
    # spaces told nothing apart.
    from scipy.stats import loguniform, randint, uniform
    from sklearn.model_selection import RandomizedSearchCV

    search = RandomizedSearchCV(pipeline(), {
        "kerasclassifier__optimizer__learning_rate": loguniform(1e-4, 1e-1),
        "kerasclassifier__hidden": randint(2, 8), "kerasclassifier__epochs": [1, 2],
        "kerasclassifier__batch_size": uniform(loc=8, scale=24)})
    assert flatten_params(search)["param_distributions"] == (
        "{'kerasclassifier__optimizer__learning_rate': loguniform(0.0001, 0.1), "
        "'kerasclassifier__hidden': randint(2, 8), 'kerasclassifier__epochs': [1, 2], "
        "'kerasclassifier__batch_size': uniform(loc=8, scale=24)}")
