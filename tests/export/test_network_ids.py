"""Ids a network of them reads, passed to it by a pipeline's ColumnTransformer:
the exported graph takes them as the network's own integers."""

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

import keraslearn
from keraslearn import KerasRegressor
from keraslearn.serving import ExportedModel


def looked_up(meta):
    inputs = keras.Input((meta["n_features_in_"],), dtype="int64")
    found = keras.layers.IntegerLookup(vocabulary=[0, 1, 2, *(2**25 + np.arange(9))],
                                       output_mode="multi_hot")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1)(found))


def embedded(meta):
    inputs = keras.Input((meta["n_features_in_"],), dtype="int64")
    found = keras.layers.Flatten()(keras.layers.Embedding(3, 2)(inputs))
    return keras.Model(inputs, keras.layers.Dense(1)(found))


def fitted(columns, X, network=looked_up):
    rng = np.random.default_rng(0)
    return make_pipeline(ColumnTransformer(columns), KerasRegressor(
        network, epochs=3, random_state=0, optimizer__learning_rate=0.1)).fit(
        X, rng.normal(size=len(X)))


def test_ids_passed_through_a_column_transformer_are_exported_as_integers(tmp_path):
    # left in a note: the graph took float32 columns, and answered ids past
    # 2**24 as others (2**25 + 1 read as 2**25), silently
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"note": rng.normal(size=40), "user": 2**25 + np.arange(40) % 3,
                      "item": rng.integers(0, 3, 40)})
    # ("note" dropped: by the ColumnTransformer, or by one nested in another,
    # found in review: the nested one's dropped column was taken as an id)
    nested = ColumnTransformer([("ids", "passthrough", ["user", "item"])])
    for i, columns in enumerate(([("ids", "passthrough", ["user", "item"])],
                                 [("all", nested, ["note", "user", "item"])])):
        pipe = fitted(columns, X)
        model = ExportedModel(keraslearn.export(pipe, tmp_path / f"model{i}"))
        signature = tf.saved_model.load(str(tmp_path / f"model{i}")).signatures[
            "serving_default"].structured_input_signature[1]
        assert {name: spec.dtype for name, spec in signature.items()} == {
            "user": tf.int64, "item": tf.int64}
        assert model.input_dtypes_ == {"user": "int64", "item": "int64"}
        assert model.unused_features_ == ["note"]
        np.testing.assert_allclose(model.predict(X), pipe.predict(X), rtol=1e-5, atol=1e-6)
        one_item = X[:3].assign(item=0, user=2**25 + np.arange(3))  # (only the ids differ)
        assert len(np.unique(np.round(model.predict(one_item), 5))) == 3
    with pytest.raises(ValueError, match=r"^Input X holds 1.5 in feature 'user', row 0, but "
                                         r"the exported network takes whole numbers"):
        model.predict(X.assign(user=1.5))
    # every column of an array, passed through (its positions in their own order)
    ids = X[["user", "item"]].to_numpy()
    pipe = fitted([("ids", "passthrough", [1, 0])], ids)
    model = ExportedModel(keraslearn.export(pipe, tmp_path / "array"))
    signature = tf.saved_model.load(str(tmp_path / "array")).signatures["serving_default"]
    assert signature.structured_input_signature[1]["inputs"].dtype == tf.int64
    np.testing.assert_allclose(model.predict(ids), pipe.predict(ids), rtol=1e-5, atol=1e-6)
    # ... and in ONNX, reloaded by its own runtime (an Embedding, of small ids:
    # ONNX has no lookup tables)
    import onnxruntime

    X = X.assign(user=X["user"] - 2**25)
    pipe = fitted([("ids", "passthrough", ["item", "user"])], X, network=embedded)
    session = onnxruntime.InferenceSession(
        str(keraslearn.export(pipe, tmp_path / "m.onnx", format="onnx")))
    assert {i.name: i.type for i in session.get_inputs()} == {
        "user": "tensor(int64)", "item": "tensor(int64)"}
    served = session.run(["predictions"], {c: X[c].to_numpy() for c in ("user", "item")})[0]
    np.testing.assert_allclose(served.ravel(), pipe.predict(X), rtol=1e-5, atol=1e-6)


def test_ids_not_all_reaching_the_network_as_read_are_checked_in_float32_columns(tmp_path):
    # found in review: a column a second ColumnTransformer drops was taken as
    # an id (training rows refused), and a NaN in a column an array-fitted
    # pipeline drops was refused (it was answered before, as the pipeline does);
    # the graph takes float32 columns there, and ExportedModel checks the ids
    # (found in review: 1.7 and -1 were answered, which the pipeline refuses)
    import tensorflow as tf

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"note": rng.normal(size=40), "user": np.arange(40) % 3,
                      "item": np.arange(40) % 2})
    first = ColumnTransformer([("all", "passthrough", ["note", "user", "item"])],
                              verbose_feature_names_out=False).set_output(transform="pandas")
    pipe = fitted([("ids", "passthrough", ["user", "item"])], X, network=embedded)
    pipe.steps.insert(0, ("first", first))
    pipe.fit(X, np.arange(40.0))
    model = ExportedModel(keraslearn.export(pipe, tmp_path / "two"))
    signature = tf.saved_model.load(str(tmp_path / "two")).signatures[
        "serving_default"].structured_input_signature[1]
    assert {spec.dtype for spec in signature.values()} == {tf.float32}
    assert model.metadata_["network_ids"]["columns"] == ["user", "item"]
    assert model.input_dtypes_ == {"note": "float32", "user": "int64", "item": "int64"}
    np.testing.assert_allclose(model.predict(X), pipe.predict(X), rtol=1e-5, atol=1e-6)
    for odd, why in ((1.7, "takes ids of the 3 rows"), (-1, "takes ids of the 3 rows")):
        with pytest.raises(ValueError, match=rf"^Input X holds {odd} in feature 'user', row 0, "
                                             rf"but the exported network {why}"):
            model.predict(X[:2].assign(user=odd))
    # an array's column dropped: ids past 2**24 refused (float32 cannot hold
    # them), its other columns read as numbers, a NaN in the dropped one taken
    rows = X.assign(user=2**25 + 4 * X["user"]).to_numpy()  # (ids float32 holds)
    pipe = fitted([("ids", "passthrough", [1, 2])], rows)
    model = ExportedModel(keraslearn.export(pipe, tmp_path / "array"))
    assert model.metadata_["network_ids"]["columns"] == [1, 2]
    assert model.imputed_features_ == [0]
    rows[3, 0] = np.nan
    np.testing.assert_allclose(model.predict(rows), pipe.predict(rows), rtol=1e-5, atol=1e-6)
    rows[1, 1] = 2**25 + 1
    with pytest.raises(ValueError, match=rf"^Input X holds {2**25 + 1} in feature 1, row 1, but "
                                         r"the exported graph's float32 input cannot hold it"):
        model.predict(rows)


def test_ids_beside_a_step_are_checked_in_float32_columns(tmp_path):
    # a step's values (whole numbers the network takes) are no ids: the graph
    # takes float32 columns as before; the ids passed beside them are checked
    # (found in review: 1.5 was answered, which the pipeline refuses)
    X = pd.DataFrame({"user": np.arange(40) % 5, "color": np.arange(40) % 3})
    for columns in ([("ids", "passthrough", ["user"]), ("color", OneHotEncoder(), ["color"])],
                    [("both", make_pipeline(OneHotEncoder()), ["user", "color"])]):
        pipe = fitted(columns, X)
        pipe.steps.insert(1, ("kept", FunctionTransformer()))  # (found in review: it hid them)
        pipe.fit(X, np.arange(40.0))
        model = ExportedModel(keraslearn.export(pipe, tmp_path / str(len(columns))))
        np.testing.assert_allclose(model.predict(X), pipe.predict(X), rtol=1e-5, atol=1e-6)
        if len(columns) == 1:  # (no column reaches the network as sent)
            assert model.input_dtypes_ == {"user": "float32", "color": "float32"}
            assert "network_ids" not in model.metadata_
            continue
        assert model.input_dtypes_ == {"user": "int64", "color": "float32"}
        assert model.metadata_["network_ids"]["columns"] == ["user"]
        for predict in (pipe.predict, model.predict):
            with pytest.raises(ValueError, match=r"holds (values .*)?\(?1.5"):
                predict(X[:2].assign(user=1.5))


def test_ids_after_a_text_column_are_checked_as_their_own_float32_input(tmp_path):
    # found on reading the change again: the first input's dtype (text here) was
    # taken for every column, so ids float32 rounds were answered as others
    def hashed(meta):
        inputs = keras.Input((meta["n_features_in_"],), dtype="int64")
        found = keras.layers.Hashing(64, output_mode="multi_hot")(inputs)
        return keras.Model(inputs, keras.layers.Dense(1)(found))

    X = pd.DataFrame({"city": np.array(["a", "b"])[np.arange(40) % 2],
                      "user": 2**25 + 4 * (np.arange(40) % 3)})  # (ids float32 holds)
    # (found on reading again too: a network's IntegerLookup beside the strings'
    # tables failed the export, its table untracked in TensorFlow's SavedModel)
    for network in (hashed, looked_up):
        pipe = fitted([("city", OneHotEncoder(sparse_output=False), ["city"]),
                       ("ids", "passthrough", ["user"])], X, network=network)
        model = ExportedModel(keraslearn.export(pipe, tmp_path / network.__name__))
        assert model.input_dtypes_ == {"city": "str", "user": "int64"}
        np.testing.assert_allclose(model.predict(X), pipe.predict(X), rtol=1e-5, atol=1e-6)
        with pytest.raises(ValueError, match=rf"^Input X holds {2**25 + 1} in feature 'user', "
                           r"row 1, but the exported graph's float32 input cannot hold"):
            model.predict(X[:3].assign(user=[2**25, 2**25 + 1, 2**25 + 4]))
