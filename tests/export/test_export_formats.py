"""Each exported artifact, run by its own runtime alone, predicts as the pipeline does.

Every case is exported once per format; the artifacts of a format are then run
together in one fresh process (``load_artifacts.py``) where scikit-learn and
keraslearn cannot be imported, with TensorFlow, ``ai_edge_litert`` or
``onnxruntime`` alone, on rows held out from fit.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _cases import CASES, feed_for, fit_case

import keraslearn

FORMATS = ("tf_saved_model", "litert", "onnx")
SUFFIX = {"tf_saved_model": "", "litert": ".tflite", "onnx": ".onnx"}
LOADER = Path(__file__).with_name("load_artifacts.py")
# float32 graph vs the pipeline's float64 preprocessing and float32 network.
RTOL, ATOL = 1e-4, 2e-5


def read_metadata(path, fmt):
    if fmt == "tf_saved_model":
        return json.loads((path / "assets.extra" / "keraslearn.json").read_text())
    if fmt == "litert":
        return json.loads(path.with_name(path.name + ".json").read_text())
    import onnx

    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    return json.loads(props["keraslearn"])


def export_and_run(cases, fmt, folder):
    """{case: (outputs, metadata) or the exception its export raised}."""
    results, manifest = {}, []
    for name, case in cases.items():
        path = folder / f"{name}{SUFFIX[fmt]}"
        try:
            keraslearn.export(case.pipeline, path, format=fmt)
        except Exception as exc:  # reported by that case's test, not by all of them
            results[name] = exc
            continue
        metadata = read_metadata(path, fmt)
        np.savez(folder / f"{name}.feed.npz", **feed_for(case.X_test, metadata["inputs"]))
        manifest.append({"format": fmt, "path": str(path), "feed": str(folder / f"{name}.feed.npz"),
                         "out": str(folder / f"{name}.out.npz")})
        results[name] = metadata
    (folder / "manifest.json").write_text(json.dumps(manifest))
    run = subprocess.run([sys.executable, str(LOADER), str(folder / "manifest.json")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    # A LiteRT or ONNX artifact needs no TensorFlow to run.
    assert ("tensorflow loaded: True" in run.stdout) == (fmt == "tf_saved_model")
    for entry in manifest:
        name = Path(entry["out"]).name.split(".")[0]
        with np.load(entry["out"], allow_pickle=True) as out:
            results[name] = ({k: out[k] for k in out.files}, results[name])
    return results


@pytest.fixture(scope="module")
def cases():
    return {name: fit_case(name) for name in CASES}


@pytest.fixture(scope="module")
def artifacts(cases, tmp_path_factory):
    done = {}

    def get(fmt):
        if fmt not in done:
            done[fmt] = export_and_run(cases, fmt, tmp_path_factory.mktemp(fmt))
        return done[fmt]

    return get


def assert_same_labels(got, expected, proba):
    """Equal labels, except where two classes tie within float32 rounding."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape
    differ = (got.astype(str) != expected.astype(str)).reshape(len(got), -1).any(axis=1)
    top = np.sort(proba, axis=1)
    ties = top[:, -1] - top[:, -2] < 1e-4
    assert not (differ & ~ties).any(), f"labels differ in rows {np.flatnonzero(differ & ~ties)}"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(CASES))
def test_artifact_predicts_as_the_pipeline(artifacts, cases, name, fmt):
    result = artifacts(fmt)[name]
    if isinstance(result, BaseException):
        raise result
    outputs, metadata = result
    pipe, X_test = cases[name].pipeline, cases[name].X_test
    assert [o["name"] for o in metadata["outputs"]] == sorted(outputs)
    if hasattr(pipe, "classes_"):
        assert set(outputs) == {"label", "probabilities"}
        proba = pipe.predict_proba(X_test)
        np.testing.assert_allclose(outputs["probabilities"], proba, rtol=RTOL, atol=ATOL)
        expected = pipe.predict(X_test)
        assert_same_labels(outputs["label"], expected, proba)
        # Labels keep their type: strings as strings, integers as integers.
        assert outputs["label"].dtype.kind == ("O" if expected.dtype.kind in "OU" else "i")
        assert metadata["classes"] == pipe.classes_.tolist()
    else:
        assert set(outputs) == {"predictions"}
        expected = pipe.predict(X_test)
        assert outputs["predictions"].shape == expected.shape
        np.testing.assert_allclose(outputs["predictions"], expected, rtol=RTOL, atol=1e-4)


@pytest.mark.parametrize("fmt", FORMATS)
def test_dataframe_inputs_are_named_after_the_columns_it_uses(artifacts, fmt):
    outputs, metadata = artifacts(fmt)["dataframe"]
    inputs = {spec["feature"]: (spec["name"], spec["dtype"]) for spec in metadata["inputs"]}
    assert inputs == {
        "age": ("age", "float32"), "monthly income": ("monthly_income", "float32"),
        "city": ("city", "string"), "rooms": ("rooms", "float32"),
        "country": ("country", "string"), "label": ("label_2", "float32"),
    }
    assert metadata["unused_features"] == ["id"]
    assert metadata["steps"] == [{"name": "columntransformer", "class": "ColumnTransformer"}]


@pytest.mark.parametrize("fmt", FORMATS)
def test_samplers_are_dropped_and_reported(artifacts, fmt):
    _, metadata = artifacts(fmt)["imblearn_smote"]
    assert metadata["dropped_steps"] == [{"name": "smote", "class": "SMOTE"}]
    assert [s["class"] for s in metadata["steps"]] == ["StandardScaler"]


def test_image_model_takes_images(artifacts, cases, tmp_path):
    _, metadata = artifacts("tf_saved_model")["image"]
    assert metadata["inputs"] == [
        {"name": "inputs", "feature": None, "dtype": "float32", "shape": [None, 8, 8, 1]}
    ]
    # How predictions read image files, which a runtime of images alone must
    # reproduce (it had to guess 0-1 or 0-255): followed, it gives predict's.
    assert metadata["image_files"] == {
        "decoder": "pillow", "color": "grayscale", "resized_to": None,
        "resampling": "bilinear, anti-aliased when shrinking",
        "scale": "float32 divided by 255: values in [0, 1]"}
    assert "image_files" not in artifacts("tf_saved_model")["dataframe"][1]
    import tensorflow as tf
    from PIL import Image

    clf = cases["image"].pipeline
    paths = []
    for i, image in enumerate(cases["image"].X_test[:3, :, :, 0]):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(np.rint(image * 255).astype(np.uint8)).save(paths[-1])
    keraslearn.export(clf, tmp_path / "model")
    decoded = np.stack([np.asarray(Image.open(p).convert("L"), np.float32) / 255 for p in paths])
    served = tf.saved_model.load(str(tmp_path / "model")).signatures["serving_default"](
        inputs=tf.constant(decoded[..., None]))
    np.testing.assert_allclose(served["probabilities"], clf.predict_proba([str(p) for p in paths]),
                               rtol=1e-5, atol=1e-6)


def _declared_output_shapes(path, fmt):
    if fmt == "tf_saved_model":
        import tensorflow as tf

        outputs = tf.saved_model.load(str(path)).signatures["serving_default"].structured_outputs
        return {k: list(v.shape) for k, v in outputs.items()}
    if fmt == "litert":
        from ai_edge_litert.interpreter import Interpreter

        runner = Interpreter(model_path=str(path)).get_signature_runner("serving_default")
        return {k: [None if d == -1 else int(d) for d in v["shape_signature"]]
                for k, v in runner.get_output_details().items()}
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return {o.name: [d if isinstance(d, int) else None for d in o.shape]
            for o in session.get_outputs()}


@pytest.mark.parametrize("fmt", FORMATS)
def test_several_targets_are_declared_with_their_number(cases, fmt, tmp_path):
    path = tmp_path / f"two{SUFFIX[fmt]}"
    keraslearn.export(cases["regressor_two_outputs"].pipeline, path, format=fmt)
    assert _declared_output_shapes(path, fmt) == {"predictions": [None, 2]}


def test_columns_named_like_python_keywords_get_a_suffix(tmp_path):
    import warnings

    import pandas as pd
    import tensorflow as tf
    from sklearn.exceptions import ConvergenceWarning

    from keraslearn import MLPClassifier

    rng = np.random.default_rng(0)
    values = rng.normal(size=(40, 4))
    # "self" is no keyword, but the traced method's own argument: TypeError; names
    # alike but for their case ("ID", "id"): TensorFlow's signature refused them.
    for i, (columns, expected) in enumerate([
            (["class", "None", "lambda x", "self"], ["class_", "None_", "lambda_x", "self_"]),
            (["ID", "id", "Class", "class"], ["ID", "id_2", "Class", "class_"])]):
        X = pd.DataFrame(values, columns=columns)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = MLPClassifier(hidden_layer_sizes=(3,), max_iter=1, random_state=0).fit(
                X, values[:, 0] > 0)
        path = keraslearn.export(model, tmp_path / f"names{i}")
        names = [spec["name"] for spec in read_metadata(path, "tf_saved_model")["inputs"]]
        assert names == expected
        serve = tf.saved_model.load(str(path)).signatures["serving_default"]
        out = serve(**{n: tf.constant(X[c].to_numpy(np.float32))
                       for n, c in zip(names, X.columns)})
        np.testing.assert_allclose(out["probabilities"].numpy(), model.predict_proba(X),
                                   atol=1e-5)


@pytest.mark.parametrize("first", ["passthrough", None])
def test_a_pipeline_opened_by_passthrough_is_exported_with_its_readers_features(first, tmp_path):
    # Such a pipeline has neither feature_names_in_ nor n_features_in_ (scikit-learn
    # reads its first step): export failed with an AttributeError of 'str'.
    import warnings

    import pandas as pd
    import tensorflow as tf
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from keraslearn import MLPClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    model = Pipeline([("keep", first), ("scale", StandardScaler()), ("model", MLPClassifier(
        hidden_layer_sizes=(3,), max_iter=1, random_state=0))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, X["a"] > 0)
    path = keraslearn.export(model, tmp_path / "opened")
    names = [spec["name"] for spec in read_metadata(path, "tf_saved_model")["inputs"]]
    assert names == ["a", "b", "c"]
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    out = serve(**{c: tf.constant(X[c].to_numpy(np.float32)) for c in names})
    np.testing.assert_allclose(out["probabilities"].numpy(), model.predict_proba(X), atol=1e-5)


def test_exporting_to_onnx_leaves_tensorflow_s_log_level_as_it_was(tmp_path):
    # tf2onnx sets TF_CPP_MIN_LOG_LEVEL=3 when first imported: every process
    # started afterwards would lose TensorFlow's C++ errors. A fresh process,
    # as this one may have imported tf2onnx already.
    code = ("import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '1'\n"
            "import numpy as np, keraslearn\n"
            "X = np.random.default_rng(0).normal(size=(20, 3)).astype('float32')\n"
            "est = keraslearn.MLPRegressor(hidden_layer_sizes=(2,), max_iter=1).fit(X, X[:, 0])\n"
            f"keraslearn.export(est, {str(tmp_path / 'model.onnx')!r}, format='onnx')\n"
            "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "1"


def test_a_network_of_ids_an_embedding_bounds_exports(tmp_path):
    # found in an audit: the export's probe rows were normal draws, cast to
    # ids of -2..2 at the network's integer input: an Embedding over 2 ids
    # (or a CategoryEncoding) failed the export inside Keras, though it predicts
    import keras
    import tensorflow as tf

    from keraslearn import KerasClassifier, KerasRegressor

    def network(meta):
        inputs = keras.Input((20,), dtype="int32")
        hidden = keras.layers.Flatten()(keras.layers.Embedding(2, 2)(inputs))
        return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))

    ids = np.random.default_rng(0).integers(0, 2, (60, 20))
    clf = KerasClassifier(network, loss="binary_crossentropy", epochs=1, random_state=0).fit(
        ids, (ids.sum(axis=1) > 10).astype(int))
    keraslearn.export(clf, tmp_path / "model")
    # the graph takes the ids as the network's integers, as the estimator does
    signature = tf.saved_model.load(str(tmp_path / "model")).signatures["serving_default"]
    assert signature.structured_input_signature[1]["inputs"].dtype == tf.int32
    served = signature(inputs=tf.constant(ids[:5], tf.int32))
    np.testing.assert_allclose(served["probabilities"], clf.predict_proba(ids[:5]),
                               rtol=1e-5, atol=1e-6)
    # ... in ONNX and LiteRT too, reloaded by their own runtimes
    import onnxruntime
    from ai_edge_litert.interpreter import Interpreter

    session = onnxruntime.InferenceSession(
        str(keraslearn.export(clf, tmp_path / "m.onnx", format="onnx")))
    assert [i.type for i in session.get_inputs()] == ["tensor(int32)"]
    runner = Interpreter(model_path=str(keraslearn.export(
        clf, tmp_path / "m.tflite", format="litert"))).get_signature_runner("serving_default")
    for proba in (session.run(["probabilities"], {"inputs": ids[:5].astype(np.int32)})[0],
                  runner(inputs=ids[:5].astype(np.int32))["probabilities"]):
        np.testing.assert_allclose(proba, clf.predict_proba(ids[:5]), rtol=1e-5, atol=1e-6)
    # an id beyond the Embedding's rows, served from the export, is the input's
    # fault (found in an audit: a 500 carrying TensorFlow's node names)
    from keraslearn.serving import ExportedModel

    exported = ExportedModel(tmp_path / "model")
    np.testing.assert_allclose(exported.predict_proba(ids[:5]), clf.predict_proba(ids[:5]),
                               rtol=1e-5, atol=1e-6)
    # found in an audit: 0.5 was read as id 0 and -1 answered, where the
    # estimator refuses both: the export records the ids its network takes
    for odd in (0.5, -1, 7):
        with pytest.raises(ValueError, match=rf"^Input X holds {odd} in feature 0, row 0, "
                           r"but the exported network takes ids of the 2 rows of the Embedding "
                           r"reading them"):
            exported.predict(np.full((1, 20), odd))
    # found in review: ids float32 cannot hold (the graph's input) were read as
    # others, the opposite class here (a lookup behind other layers too), and of
    # two Embeddings the first's rows counted
    def looked_up(meta):
        inputs = keras.Input((1,), dtype="int64")
        found = keras.layers.IntegerLookup(vocabulary=[5, 2**24, 2**24 + 1, 2**53 + 1],
                                           output_mode="one_hot")(
            keras.layers.Reshape((1,))(inputs))
        return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(found))

    big = np.array([[5], [2**24], [2**24 + 1]] * 10)
    clf = KerasClassifier(looked_up, loss="binary_crossentropy", epochs=1, random_state=0).fit(
        big, np.arange(30) % 3 == 2)
    model = ExportedModel(keraslearn.export(clf, tmp_path / "lookup"))
    # the graph takes them as the network's int64 (left in a note: a float32
    # input read 2**24 + 1 as 2**24), ids past float64's whole numbers too, and
    # sent as text (found in review: read through float64)
    sent = np.vstack([big[:3], [[2**53 + 1], [2**53]]])
    served = model.predict_proba(sent)
    np.testing.assert_allclose(served, clf.predict_proba(sent), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.predict_proba(sent.astype(str).astype(object)), served)
    for a, b in ((1, 2), (3, 4)):  # (2**24 and 2**24 + 1 told apart, 2**53 + 1 and 2**53)
        assert abs(served[a, 1] - served[b, 1]) > 1e-4
    # an export whose graph took float32 columns (keraslearn's before: made
    # here as it was, casting them to the network's int64) refuses them
    recorded = json.loads((tmp_path / "lookup" / "assets.extra" / "keraslearn.json").read_text())
    assert [i["dtype"] for i in recorded["inputs"]] == ["int64"]
    recorded["inputs"] = [{**i, "dtype": "float32"} for i in recorded["inputs"]]
    old, serve = tf.Module(), model._serve
    old.loaded = model._loaded  # (its lookup table tracked)
    old.serve = tf.function(lambda inputs: serve(inputs=tf.cast(inputs, tf.int64)),
                            input_signature=[tf.TensorSpec((None, 1), tf.float32, "inputs")])
    tf.saved_model.save(old, str(tmp_path / "old"), signatures={"serving_default": old.serve})
    (tmp_path / "old" / "assets.extra").mkdir()
    for written in (recorded, {**recorded, "network_ids": {  # (an export recording no lookup)
            key: value for key, value in recorded["network_ids"].items() if key != "lookup"}}):
        (tmp_path / "old" / "assets.extra" / "keraslearn.json").write_text(json.dumps(written))
        model = ExportedModel(tmp_path / "old")
        np.testing.assert_allclose(model.predict_proba(big[:2]), served[:2], rtol=1e-6)
        for sent, row in ((big[1:3], 1), (np.array([[2**53 + 1]]), 0),  # (ints as sent)
                          (np.array([["16777217"], ["1e16"]], dtype=object), 0)):  # (text)
            with pytest.raises(ValueError, match=rf"^Input X holds {sent[row, 0]} in feature 0, "
                               rf"row {row}, but the exported graph's float32 input cannot hold "
                               r"it exactly \(its graph would read it as another value"):
                model.predict(sent)

    def timestamps(meta):  # (integers the network reads as numbers, not ids)
        inputs = keras.Input((1,), dtype="int64")
        return keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Rescaling(1e-9)(inputs)))

    seconds = 1_700_000_000 + np.arange(30)[:, None] * 86_400
    reg = KerasRegressor(timestamps, loss="mse", epochs=1, random_state=0).fit(
        seconds, np.arange(30.0))
    model = ExportedModel(keraslearn.export(reg, tmp_path / "seconds"))
    sent = np.vstack([seconds[:3] + 1, [[2**63 - 1]]])  # (int64's top: it was wrapped once)
    np.testing.assert_allclose(model.predict(sent), reg.predict(sent),
                               rtol=1e-5)  # (found in review: refused past 2**24)
    # ... but not Python ints past int64's top (told as floats past 64 bits)
    with pytest.raises(ValueError, match=re.escape(
            f"holds {float(2**70)} in feature 0, row 0, but the exported network takes whole "
            "numbers within int64's range")):
        model.predict(np.array([[2**70]], dtype=object))

    def two_tables(meta):
        inputs = keras.Input((20,), dtype="int32")
        wide, narrow = keras.layers.Embedding(10, 2)(inputs), keras.layers.Embedding(2, 2)(inputs)
        joined = keras.layers.Flatten()(keras.layers.Concatenate()([wide, narrow]))
        return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(joined))

    clf = KerasClassifier(two_tables, loss="binary_crossentropy", epochs=1).fit(
        ids, (ids.sum(axis=1) > 10).astype(int))
    for predict in (clf.predict, ExportedModel(keraslearn.export(clf, tmp_path / "two")).predict):
        with pytest.raises(ValueError, match=r"2 rows of the Embedding reading it \(5\)|holds 5 "
                           r"in feature 0, row 0, but the exported network takes ids of the 2 "):
            predict(np.full((1, 20), 5))
    # an export of a keraslearn recording none: the graph's own error, told as the input's
    record = tmp_path / "model" / "assets.extra" / "keraslearn.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "network_ids": None}))
    with pytest.raises(ValueError, match=r"^The exported model's graph refuses these values: "
                                         r"indices\[0,0\] = 7 is not in \[0, 2\) \(an id beyond an "
                                         r"Embedding's rows\)$"):
        ExportedModel(tmp_path / "model").predict(np.full((1, 20), 7))
