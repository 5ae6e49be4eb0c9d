"""Medium data is shuffled by gathering permuted batches from its tensors (no
shuffle buffer): every row once per epoch, rows kept whole, the same order
for the same seed -- the order the NumPy gathering of large data draws -- and
the same trained weights as that path."""

import keras
import numpy as np
import pytest

from keraslearn import MLPClassifier, config_context
from keraslearn._engine import _feed
from keraslearn._engine._predict import InputKind
from keraslearn._engine._trace_cache import trace_cache

N = 203


@pytest.fixture(autouse=True)
def _released():
    """Datasets gathering rows in NumPy are made where a fit or predict would
    make them: in a block that frees their arrays at its end."""
    with _feed.releasing():
        yield


def _data():
    X = np.arange(N * 2, dtype="float32").reshape(N, 2)  # row i holds 2i, 2i + 1
    y = np.arange(N, dtype="float32") * 10
    w = np.arange(N, dtype="float32") / 100
    return X, y, w


def _epochs(ds, n_epochs=2):
    out = []
    for _ in range(n_epochs):
        batches = list(ds)
        out.append([tuple(np.asarray(t) for t in batch) for batch in batches])
    return out


def _dataset(seed, batch_size=16):
    X, y, w = _data()
    return _feed.make_dataset(X, y, w, batch_size=batch_size, shuffle=True, seed=seed,
                              inputs=InputKind("float32"))


def test_each_epoch_is_a_new_permutation_of_whole_rows(monkeypatch):
    monkeypatch.setattr(_feed, "GATHER_ROWS", 10)
    epochs = _epochs(_dataset(seed=3))
    orders = []
    for batches in epochs:
        assert [len(b[0]) for b in batches] == [16] * (N // 16) + [N % 16]
        x = np.concatenate([b[0] for b in batches])
        y = np.concatenate([b[1] for b in batches])
        w = np.concatenate([b[2] for b in batches])
        rows = (x[:, 0] / 2).astype(int)
        np.testing.assert_array_equal(np.sort(rows), np.arange(N))
        np.testing.assert_array_equal(x[:, 1], x[:, 0] + 1)
        np.testing.assert_array_equal(y, rows * 10)
        np.testing.assert_allclose(w, rows / 100)
        orders.append(rows)
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[0], np.arange(N))


def test_the_same_order_as_the_numpy_gathering_of_large_data(monkeypatch):
    monkeypatch.setattr(_feed, "GATHER_ROWS", 10)
    in_tensorflow = _epochs(_dataset(seed=5))
    again = _epochs(_dataset(seed=5))
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    from_numpy = _epochs(_dataset(seed=5))
    for a, b, c in zip(in_tensorflow, again, from_numpy):
        for batch_a, batch_b, batch_c in zip(a, b, c, strict=True):
            for u, v, t in zip(batch_a, batch_b, batch_c):
                np.testing.assert_array_equal(u, v)
                np.testing.assert_array_equal(u, t)


def test_below_the_threshold_the_shuffle_buffer_is_kept(monkeypatch):
    monkeypatch.setattr(_feed, "GATHER_ROWS", N + 1)
    with_buffer = _epochs(_dataset(seed=5), n_epochs=1)[0]
    monkeypatch.setattr(_feed, "GATHER_ROWS", N)
    gathered = _epochs(_dataset(seed=5), n_epochs=1)[0]
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(with_buffer, gathered))


def _fit_weights(**params):
    X = np.random.default_rng(0).normal(size=(600, 4)).astype("float32")
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    est = MLPClassifier(hidden_layer_sizes=(5,), batch_size=8, max_iter=2, random_state=0,
                        **params).fit(X, y)
    return est.coefs_ + est.intercepts_


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_trained_weights_equal_those_of_the_numpy_gathering(monkeypatch):
    monkeypatch.setattr(_feed, "GATHER_ROWS", 100)
    gathered = _fit_weights()
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    from_numpy = _fit_weights()
    for a, b in zip(gathered, from_numpy):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_ready_estimators_run_many_steps_per_call_with_the_same_weights():
    # 75 steps an epoch: a warm copy runs them 64 to a call; the network
    # trained by itself (no sharing), one step a call. (A callback of the
    # user's, so that the fit goes through Keras' fit and not the dense chain
    # trainer.)
    trace_cache.clear()
    many = _fit_weights(callbacks=[keras.callbacks.Callback()])
    assert [key[3] for key in trace_cache.keys()] == [64]
    with config_context(share_traced_functions=False):
        one = _fit_weights(callbacks=[keras.callbacks.Callback()])
    for a, b in zip(many, one):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("path", ["shuffle buffer", "gathered from tensors", "from NumPy"])
def test_weights_per_batch_sum_to_the_batch_s_rows(monkeypatch, path):
    """The ready MLPs' batches: each batch's loss is its weighted mean, as
    scikit-learn's MLP divides it by the batch's total weight."""
    if path == "gathered from tensors":
        monkeypatch.setattr(_feed, "GATHER_ROWS", 10)
    elif path == "from NumPy":
        monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    X, y, w = _data()
    w[:16] = 0.0  # the first batch (rows in order) weighs nothing
    for shuffle in (False, True):
        ds = _feed.make_dataset(X, y, w, batch_size=16, shuffle=shuffle, seed=0,
                                inputs=InputKind("float32"), weights_per_batch=True)
        batches = _epochs(ds, n_epochs=1)[0]
        assert sum(len(b[2]) for b in batches) == N
        for x, _, weights in batches:
            given = w[(x[:, 0] / 2).astype(int)]
            if given.sum() == 0:
                np.testing.assert_array_equal(weights, 0.0)
            else:
                np.testing.assert_allclose(weights, given * len(given) / given.sum(), rtol=1e-6)
        if not shuffle:
            np.testing.assert_array_equal(batches[0][2], np.zeros(16))


def test_rows_read_ahead_after_the_block_ends_are_none_and_the_arrays_freed(monkeypatch):
    # TensorFlow keeps the function reading the rows for the rest of the process:
    # the arrays are freed when the fit's block ends, and a read ahead after it
    # (a fit stopped by an exception still prefetching) gets no rows, where an
    # error was logged by TensorFlow (found in review).
    import gc
    import weakref

    from scipy import sparse

    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    X, y, w = _data()
    for make in (np.copy, sparse.csr_matrix):  # (made in the loop: held by nothing else)
        rows = make(X)
        kept = weakref.ref(rows)
        with _feed.releasing():
            ds = _feed.make_dataset(rows, y, w, batch_size=16, shuffle=False, seed=0,
                                    inputs=InputKind("float32", sparse=sparse.issparse(rows)))
            assert len(next(iter(ds))[1]) == 16
        batches = list(ds)
        assert batches and all(len(batch[1]) == 0 for batch in batches)
        del rows, ds, batches
        gc.collect()
        assert kept() is None

