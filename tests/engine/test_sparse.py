"""scipy sparse X is densified whole when small, else one batch at a time: a
fit equals the same fit on the dense array (through the same path), and text
pipelines work."""

import warnings

import keras
import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline

import keraslearn
from builders import tiny_mlp
from keraslearn import ImageClassifier, KerasClassifier, KerasRegressor, MLPRegressor
from keraslearn._engine import _feed

rng = np.random.default_rng(0)
X_SPARSE = sp.random(300, 40, density=0.1, format="csr", random_state=0, dtype=np.float32)
ROW_SUMS = np.asarray(X_SPARSE.sum(axis=1)).ravel()
Y = (ROW_SUMS > np.median(ROW_SUMS)).astype(int)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("small_data_bytes", [_feed.SMALL_DATA_BYTES, 0],
                         ids=["small-densified-whole", "batch-by-batch"])
def test_sparse_fit_equals_the_dense_fit_on_the_same_path(fmt, small_data_bytes, monkeypatch):
    # Small data (under SMALL_DATA_BYTES once dense) is densified whole and takes the
    # in-memory path; larger data is densified batch by batch on the gathering path,
    # where the dense array goes too when the limit is 0.
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", small_data_bytes)
    params = dict(optimizer="adam", epochs=3, batch_size=32, random_state=0)
    sparse_fit = KerasClassifier(tiny_mlp, **params).fit(X_SPARSE.asformat(fmt), Y)
    dense_fit = KerasClassifier(tiny_mlp, **params).fit(X_SPARSE.toarray(), Y)
    assert sparse_fit.history_ == dense_fit.history_
    np.testing.assert_allclose(sparse_fit.predict_proba(X_SPARSE.asformat(fmt)),
                               dense_fit.predict_proba(X_SPARSE.toarray()), rtol=1e-6)


def test_sparse_predict_and_partial_fit():
    reg = KerasRegressor(tiny_mlp, optimizer="adam", random_state=0)
    for start in range(0, 300, 100):
        rows = X_SPARSE[start:start + 100]
        reg.partial_fit(rows, rows[:, 0].toarray()[:, 0])
    assert reg.current_epoch == 3
    pred = reg.predict(X_SPARSE)
    # Both through TensorFlow (sparse rows and a few dense ones take NumPy's
    # forward pass otherwise, equal to float32 rounding).
    with keraslearn.config_context(fast_small_predictions=False):
        through_tf = reg.predict(X_SPARSE)
        np.testing.assert_allclose(through_tf, reg.predict(X_SPARSE.toarray()), rtol=1e-6)
    np.testing.assert_allclose(pred, through_tf, rtol=1e-5, atol=1e-6)
    assert pred.dtype == np.float64


def test_a_text_pipeline_trains_on_tfidf_features():
    docs = ["good movie great fun", "bad film awful plot", "great acting good story",
            "awful boring bad", "fun good great", "plot bad boring"] * 20
    labels = np.array([1, 0, 1, 0, 1, 0] * 20)
    pipe = make_pipeline(TfidfVectorizer(), KerasClassifier(
        lambda meta: keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                       keras.layers.Dense(8, activation="relu"),
                                       keras.layers.Dense(1, activation="sigmoid")]),
        optimizer="adam", optimizer__learning_rate=0.05, epochs=10, random_state=0))
    assert pipe.fit(docs, labels).score(docs, labels) == 1.0


def test_ready_networks_take_sparse_input_and_images_do_not():
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X_SPARSE, Y.astype(float))
    assert reg.predict(X_SPARSE[:3]).shape == (3,)
    with pytest.raises(TypeError, match="[Ss]parse"):
        ImageClassifier().fit(X_SPARSE, Y)


def test_a_sparse_model_input_gets_sparse_batches_never_dense_ones():
    def sparse_net(meta):
        inputs = keras.Input((meta["n_features_in_"],), sparse=True)
        return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(
            keras.layers.Dense(8, activation="relu")(inputs)))

    params = dict(optimizer="adam", epochs=2, batch_size=32, random_state=0)
    fitted = KerasClassifier(sparse_net, **params).fit(X_SPARSE, Y)
    dense_twin = KerasClassifier(tiny_mlp, **params).fit(X_SPARSE, Y)
    assert len(fitted.history_["loss"]) == len(dense_twin.history_["loss"]) == 2
    proba = fitted.predict_proba(X_SPARSE)
    expected = fitted.model_(_to_sparse_tensor(X_SPARSE), training=False).numpy()[:, 0]
    np.testing.assert_allclose(proba[:, 1], expected, rtol=1e-5)


def _to_sparse_tensor(matrix):
    import tensorflow as tf

    coo = matrix.tocoo()
    indices = np.column_stack([coo.row, coo.col]).astype(np.int64)
    return tf.sparse.reorder(tf.SparseTensor(indices, coo.data, coo.shape))


class SubclassedNet(keras.Model):
    """A subclassed network: it declares no inputs, so sparse rows reach it dense."""

    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(8, activation="relu")
        self.out = keras.layers.Dense(1, activation="sigmoid")

    def call(self, x):
        return self.out(self.hidden(x))


def test_large_sparse_rows_reach_a_declared_dense_input_sparse(monkeypatch):
    # Batch by batch, a model that declares its inputs gets sparse tensors, which
    # Keras densifies in the traced step (keras.Input(sparse=False) documents it):
    # no dense batch waits in the input pipeline. A subclassed model, which
    # declares nothing, gets dense batches; both train.
    from keraslearn._engine._predict import input_kinds

    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    w = np.ones(len(Y), dtype=np.float32)
    meta = {"X_shape_": X_SPARSE.shape, "target_type_": "binary"}
    for model, spec in [(tiny_mlp(meta), tf.SparseTensorSpec), (SubclassedNet(), tf.TensorSpec)]:
        with _feed.releasing():
            ds = _feed.make_dataset(X_SPARSE, Y, w, batch_size=32, shuffle=True, seed=0,
                                    inputs=input_kinds(model, X_SPARSE))
            assert isinstance(ds.element_spec[0], spec)
            x, _, _ = next(iter(ds))
        assert x.shape[1] == X_SPARSE.shape[1]
    clf = KerasClassifier(SubclassedNet, loss="binary_crossentropy", epochs=2, batch_size=32,
                          random_state=0).fit(X_SPARSE, Y)
    assert len(clf.history_["loss"]) == 2
    np.testing.assert_allclose(clf.predict_proba(X_SPARSE),
                               clf.predict_proba(X_SPARSE.toarray()), rtol=1e-6)


class OwnTrainStep(keras.Model):
    """A network of declared inputs whose train_step is its own: it may read
    the batch before the model does, so the batch must reach it dense."""

    seen = []

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        OwnTrainStep.seen.append(type(x))
        return super().train_step((tf.convert_to_tensor(x) * 1.0, y, sample_weight))


def own_train_step_net(meta):
    inputs = keras.Input((meta["n_features_in_"],))
    return OwnTrainStep(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))


def test_large_sparse_rows_reach_a_train_step_of_the_users_own_dense(monkeypatch):
    # Keras' own train_step hands a sparse batch to the declared input, which
    # densifies it; a train_step of the user's own gets what the pipeline
    # gives, so the pipeline densifies (tf.convert_to_tensor above would fail
    # on a sparse tensor).
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    OwnTrainStep.seen.clear()
    params = dict(loss="binary_crossentropy", epochs=2, batch_size=32, random_state=0)
    clf = KerasClassifier(own_train_step_net, **params).fit(X_SPARSE, Y)
    assert OwnTrainStep.seen and all(t is not tf.SparseTensor for t in OwnTrainStep.seen)
    dense = KerasClassifier(own_train_step_net, **params).fit(X_SPARSE.toarray(), Y)
    assert clf.history_ == dense.history_


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("Estimator", [keraslearn.MLPClassifier, MLPRegressor])
def test_early_stopping_scores_sparse_held_out_rows_as_their_dense_equal(fmt, Estimator):
    # The held-out rows of early stopping are densified chunk by chunk at every epoch.
    params = dict(hidden_layer_sizes=(5,), max_iter=4, early_stopping=True, random_state=0)
    target = Y if Estimator is keraslearn.MLPClassifier else ROW_SUMS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sparse_fit = Estimator(**params).fit(X_SPARSE.asformat(fmt), target)
        dense_fit = Estimator(**params).fit(X_SPARSE.toarray(), target)
    assert len(sparse_fit.validation_scores_) == 4
    assert sparse_fit.validation_scores_ == dense_fit.validation_scores_
    assert sparse_fit.loss_curve_ == dense_fit.loss_curve_
