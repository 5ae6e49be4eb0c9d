"""The graph decodes every kind of classifier output as predict and predict_proba do."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.datasets import make_classification, make_multilabel_classification

import keraslearn
from keraslearn import KerasClassifier
from keraslearn._export._graph import build_graph


def network(units, activation):
    def build(meta):
        return keras.Sequential([
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(units, activation=activation),
        ])
    return build


def data(n_classes=2):
    return make_classification(160, n_features=5, n_informative=3, n_classes=n_classes,
                               random_state=0)


def fit(clf, X, y):
    return clf.set_params(epochs=2, random_state=0).fit(X[:120], y[:120])


def one_sigmoid_float_classes():
    X, y = data()
    return fit(KerasClassifier(network(1, "sigmoid")), X, np.array([1.0, 3.0])[y]), X[120:]


def one_logit():
    X, y = data()
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    return fit(KerasClassifier(network(1, None), loss=loss), X, y), X[120:]


def two_softmax_units():
    X, y = data()
    return fit(KerasClassifier(network(2, "softmax")), X, np.array(["a", "b"])[y]), X[120:]


def multiclass_logits():
    X, y = data(3)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return fit(KerasClassifier(network(3, None), loss=loss), X, y), X[120:]


def one_hot_targets():
    X, y = data(3)
    clf = KerasClassifier(network(3, "softmax"), loss="categorical_crossentropy")
    return fit(clf, X, np.eye(3, dtype=int)[y]), X[120:]


def multilabel():
    X, Y = make_multilabel_classification(160, n_features=5, n_classes=3, random_state=0)
    return fit(KerasClassifier(network(3, "sigmoid")), X, Y), X[120:]


CASES = [one_sigmoid_float_classes, one_logit, two_softmax_units, multiclass_logits,
         one_hot_targets, multilabel]


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__)
def test_graph_outputs_equal_predict_and_predict_proba(case):
    keras.utils.set_random_seed(0)
    clf, X_test = case()
    graph = build_graph(clf)
    out = graph.model(tf.constant(X_test, tf.float32))
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(out["probabilities"], proba, rtol=1e-5, atol=1e-6)
    expected = clf.predict(X_test)
    label = out["label"].numpy()
    if label.dtype == object:
        label = label.astype(str)
    # float32 rounding could only matter at an exact tie, which these rows do not have.
    np.testing.assert_array_equal(label, expected)
    kinds = {label.dtype.kind, expected.dtype.kind}
    assert len(kinds) == 1 or kinds <= {"U", "O"}


def test_litert_outputs_float_labels_in_float32(tmp_path):
    keras.utils.set_random_seed(0)
    clf, X_test = one_sigmoid_float_classes()
    path = keraslearn.export(clf, tmp_path / "m.tflite", format="litert")
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner("serving_default")
    label = runner(inputs=X_test.astype(np.float32))["label"]
    # LiteRT's gather has no float64: float classes come out in float32.
    assert label.dtype == np.float32
    np.testing.assert_array_equal(label, clf.predict(X_test))


@pytest.mark.parametrize("labels, fmt, match", [
    # LiteRT's float32 labels: 2**24 + 1 became 2**24, one class answered for two
    (np.array([2.0**24, 2.0**24 + 1]), "litert",
     r"The classes \[16777217\.0\] are not exact in float32.*tf_saved_model or onnx"),
    # (a Keras error on converting a Python sequence, naming no labels, before)
    (np.array([1, 2**63 + 5], dtype=np.uint64), "tf_saved_model",
     r"The classes \[9223372036854775813\] pass int64's range"),
])
def test_labels_an_export_cannot_output_exactly_are_refused(tmp_path, labels, fmt, match):
    X, y = data()
    clf = fit(KerasClassifier(network(1, "sigmoid")), X, labels[y])
    target = tmp_path / ("m.tflite" if fmt == "litert" else "m")
    with pytest.raises(ValueError, match=match):
        keraslearn.export(clf, target, format=fmt)
    assert not target.exists()
