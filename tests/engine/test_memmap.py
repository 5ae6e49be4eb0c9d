"""Memory-mapped arrays (np.load(..., mmap_mode="r")): read batch by batch from
their file, never whole; the same training and predictions as in memory."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import keraslearn
from keraslearn import KerasRegressor, MLPClassifier
from keraslearn._engine import _feed, _predict, _sources
from keraslearn._tf import keras

rng = np.random.default_rng(0)
X = rng.normal(size=(300, 6)).astype(np.float32)
y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)  # 3 classes
MLP = dict(hidden_layer_sizes=(8,), max_iter=3, batch_size=32, random_state=0)


def _through_tensorflow():
    """Predictions of arrays in memory as of mapped ones: through TensorFlow,
    not the NumPy forward pass (equal up to float rounding)."""
    return keraslearn.config_context(fast_small_predictions=False)


@pytest.fixture
def mapped(tmp_path):
    np.save(tmp_path / "X.npy", X)
    return np.load(tmp_path / "X.npy", mmap_mode="r")


def _file_unchanged(array, expected):
    np.testing.assert_array_equal(np.asarray(array), expected)


@pytest.mark.parametrize("gathered", [False, True], ids=["small-data", "batch-path"])
def test_fit_partial_fit_and_predict_equal_those_in_memory(mapped, gathered, monkeypatch):
    if gathered:  # data this small is read whole first; 0 reads every batch from the file
        monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    ours = MLPClassifier(**MLP).fit(mapped, y)
    theirs = MLPClassifier(**MLP).fit(X, y)
    with _through_tensorflow():  # as a mapped X is predicted
        np.testing.assert_array_equal(ours.predict_proba(mapped), theirs.predict_proba(X))
    for a, b in zip(ours.model_.get_weights(), theirs.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    ours.partial_fit(mapped[:100], y[:100])
    theirs.partial_fit(X[:100], y[:100])
    np.testing.assert_array_equal(ours.predict(mapped), theirs.predict(X))
    assert type(mapped) is np.memmap
    _file_unchanged(mapped, X)


def test_a_few_mapped_rows_are_predicted_a_chunk_at_a_time(tmp_path, monkeypatch):
    # Up to 1,024 rows took the NumPy forward pass, which cast the whole map:
    # a float32 copy of a wide file (here 47 MB) in memory at once.
    import tracemalloc

    from keraslearn._engine import _inputs

    monkeypatch.setattr(_inputs, "CHECK_BLOCK_BYTES", 2**20)  # the NaN check's blocks
    wide = np.random.default_rng(1).normal(size=(1024, 12000))
    np.save(tmp_path / "wide.npy", wide)
    mapped = np.load(tmp_path / "wide.npy", mmap_mode="r")
    clf = MLPClassifier(**dict(MLP, max_iter=1)).fit(wide[:64], np.arange(64) % 2)
    expected = clf.predict_proba(wide)  # in memory: the NumPy path
    for _ in range(3):  # past the eager calls and the trace
        clf.predict_proba(mapped)
    tracemalloc.start()
    try:
        found = clf.predict_proba(mapped)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-7)
    assert peak < mapped.nbytes / 8, f"{peak / 2**20:.1f} MB for a {mapped.nbytes / 2**20} MB map"


def test_held_out_rows_and_a_float64_network(mapped, monkeypatch):
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    params = dict(MLP, early_stopping=True, dtype="float64")
    ours = MLPClassifier(**params).fit(mapped, y)
    theirs = MLPClassifier(**params).fit(X, y)
    assert ours.validation_scores_ == theirs.validation_scores_
    np.testing.assert_allclose(ours.predict_proba(mapped), theirs.predict_proba(X), rtol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # (max_iter=1)
def test_a_held_out_split_of_a_large_array_in_memory_copies_no_training_rows(monkeypatch):
    # Found in an audit: early stopping copied the training rows whole (X[rows]),
    # where the README says data beyond the threshold is not copied; they are
    # read batch by batch, as a mapped array's, training as they did.
    import tracemalloc

    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 2**20)
    big = np.random.default_rng(2).normal(size=(40_000, 50)).astype(np.float32)  # 8 MB
    labels = (big[:, 0] > 0).astype(int)
    params = dict(hidden_layer_sizes=(4,), max_iter=1, batch_size=1000, random_state=0,
                  early_stopping=True)
    mapped = MLPClassifier(**params).fit(_mapped_copy(big, monkeypatch), labels)
    tracemalloc.start()
    try:
        fitted = MLPClassifier(**params).fit(big, labels)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.6 * big.nbytes, f"{peak / 2**20:.1f} MB for {big.nbytes / 2**20:.1f} MB of X"
    assert fitted.validation_scores_ == mapped.validation_scores_
    for a, b in zip(fitted.coefs_, mapped.coefs_):
        np.testing.assert_array_equal(a, b)


def _mapped_copy(array, monkeypatch):
    import tempfile

    folder = tempfile.mkdtemp()
    monkeypatch.chdir(folder)
    np.save("big.npy", array)
    return np.load("big.npy", mmap_mode="r")


def _tiny(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(2)])


def test_integer_maps_and_wrappers_with_validation_split(tmp_path, monkeypatch):
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    ints = np.round(X * 10).astype(np.int16)
    np.save(tmp_path / "ints.npy", ints)
    mapped = np.load(tmp_path / "ints.npy", mmap_mode="r")
    Y = np.column_stack([X[:, 0], X[:, 1]])
    params = dict(model=_tiny, loss="mse", optimizer="adam", epochs=2, batch_size=16,
                  validation_split=0.2, random_state=0, verbose=0)
    ours = KerasRegressor(**params).fit(mapped, Y)
    theirs = KerasRegressor(**params).fit(ints.astype(np.float32), Y)
    assert ours.history_["val_loss"] == theirs.history_["val_loss"]
    for a, b in zip(ours.model_.get_weights(), theirs.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    # (the mapped rows are read in batches of their own, the rows in memory take keraslearn's
    # NumPy forward pass: float32 rounding apart on some CPUs; found failing on an AVX2 host)
    np.testing.assert_allclose(ours.predict(mapped), theirs.predict(ints.astype(np.float32)),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_the_small_data_threshold_counts_the_bytes_the_network_is_fed(tmp_path, monkeypatch,
                                                                      dtype):
    # A threshold between the rows' own bytes and their bytes as float32: a
    # mapped uint8 file was counted in uint8 and read whole (as 4x the floats),
    # shuffled otherwise than the same rows in memory, which check_array makes
    # float32; float64 rows fed to a float32 network were counted twice over.
    rows = np.round(np.abs(np.tile(X, 10)) * 40).astype(dtype)  # 300 x 60
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", (rows.nbytes + rows.size * 4) // 2)
    np.save(tmp_path / "rows.npy", rows)
    mapped = np.load(tmp_path / "rows.npy", mmap_mode="r")
    inputs = [_predict.InputKind(np.dtype("float32"))]
    for a in (mapped, rows):
        assert _feed._small(_feed.sources(a), y, inputs) == (dtype == np.float64)
    fits = [MLPClassifier(**MLP).fit(a, y) for a in (mapped, rows)]
    for a, b in zip(fits[0].model_.get_weights(), fits[1].model_.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_views_and_fortran_order_maps_read_the_right_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    wide = np.concatenate([X, X[:, :2] * 3], axis=1)
    np.save(tmp_path / "C.npy", wide)
    np.save(tmp_path / "F.npy", np.asfortranarray(wide))
    clf = MLPClassifier(**MLP).fit(X[50:250:2], y[50:250:2])
    with _through_tensorflow():  # as a mapped X is predicted
        expected = clf.predict_proba(X[50:250:2])
    for name, block in (("C.npy", None), ("F.npy", None), ("F.npy", 2000)):
        if block is not None:  # a Fortran-order map read a few columns at a time
            monkeypatch.setattr(_sources, "_MAPPED_BLOCK_BYTES", block)
        view = np.load(tmp_path / name, mmap_mode="r")[50:250:2, :6]  # strided rows, columns
        np.testing.assert_array_equal(clf.predict_proba(view), expected)
        again = MLPClassifier(**MLP).fit(view, y[50:250:2])
        with _through_tensorflow():
            np.testing.assert_array_equal(again.predict_proba(X[50:250:2]), expected)


def test_a_file_replaced_after_mapping_is_not_read(mapped, tmp_path, monkeypatch):
    # Written anew and renamed over the path (as atomic savers do): the array
    # still holds the mapped data, which is what the fit and predict must read.
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    np.save(tmp_path / "new.npy", np.full_like(X, np.nan))
    os.replace(tmp_path / "new.npy", tmp_path / "X.npy")
    _file_unchanged(mapped, X)
    ours = MLPClassifier(**MLP).fit(mapped, y)  # no NaN found: the mapping has none
    theirs = MLPClassifier(**MLP).fit(X, y)
    for a, b in zip(ours.model_.get_weights(), theirs.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(_feed.in_memory(_feed.sources(mapped)), X)


def test_nan_in_the_file_is_refused_before_tensorflow(tmp_path):
    bad = X.copy()
    bad[-1, 3] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    mapped = np.load(tmp_path / "bad.npy", mmap_mode="r")
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MLPClassifier(**MLP).fit(mapped, y)
    clf = MLPClassifier(**MLP).fit(X, y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.predict(mapped)
    with pytest.raises(ValueError, match="6 features"):
        clf.predict(np.load(tmp_path / "bad.npy", mmap_mode="r")[:, :5])
    assert np.isnan(np.load(tmp_path / "bad.npy")[-1, 3])  # the file as it was


# Runs in its own process: its resident set is measured, and it must not hold
# the pages of the file written by the test.
_RSS_SCRIPT = textwrap.dedent("""
    import sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    from keraslearn import MLPClassifier

    def status(key):
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) * 1024 for l in f if l.startswith(key + ":"))

    X = np.load(sys.argv[1], mmap_mode="r")
    y = np.arange(len(X)) % 3
    params = dict(hidden_layer_sizes=(8,), max_iter=1, batch_size=512, random_state=0)
    warm = MLPClassifier(**params).fit(np.array(X[:2048]), y[:2048])  # imports, traces
    warm.predict(np.array(X[:2048]))
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak (VmHWM) starts again from here
    before = status("VmRSS")
    clf = MLPClassifier(**params).fit(X, y)
    clf.partial_fit(X[len(X) // 2:], y[len(X) // 2:])  # a view of the map
    clf.predict(X)
    print(status("VmHWM") - before)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_fit_partial_fit_and_predict_on_a_large_file_keep_memory_bounded(tmp_path):
    rows, columns = 112 * 1024, 1024  # 448 MB of float32
    path = tmp_path / "big.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, columns))
    block = rng.standard_normal((8192, columns), dtype=np.float32)
    for start in range(0, rows, 8192):
        out[start:start + 8192] = block + start / rows
    out.flush()
    del out
    size = os.path.getsize(path)
    result = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, str(path)], capture_output=True, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    growth = int(result.stdout.split()[-1])
    # Batches, chunks read ahead and checking blocks: a few MB each, never the
    # file (about 20 MB in all; glibc's per-thread arenas keep some freed
    # batches, which brings the peak to 50-80 MB here).
    assert growth < size / 4, f"peak RSS grew by {growth / 2**20:.0f} MB for a " \
                              f"{size / 2**20:.0f} MB file"


def test_the_arrays_a_fit_or_predict_read_batch_by_batch_are_freed_after_it(tmp_path,
                                                                            monkeypatch):
    # TensorFlow keeps every function given to tf.numpy_function for the rest of
    # the process: each fit over data past SMALL_DATA_BYTES kept its training
    # arrays, and each predict of a mapped file its mapping, until the process
    # ended (a search over large data held a copy per fit).
    import gc
    import weakref

    np.save(tmp_path / "X.npy", X)
    clf = MLPClassifier(**MLP).fit(X, y)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    kept = weakref.ref(mapped)
    with _through_tensorflow():
        np.testing.assert_array_equal(clf.predict(mapped), clf.predict(X))
    del mapped
    gc.collect()
    assert kept() is None
    monkeypatch.setattr(_feed, "SMALL_DATA_BYTES", 0)
    rows, labels = X.copy(), y.copy()
    kept = [weakref.ref(rows), weakref.ref(labels)]
    MLPClassifier(**MLP, early_stopping=True).fit(rows, labels)
    KerasRegressor(model=_tiny, loss="mse", epochs=2, validation_split=0.2, random_state=0,
                   verbose=0).fit(rows, np.column_stack([labels, labels]).astype("float32"))
    del rows, labels
    gc.collect()
    assert [ref() for ref in kept] == [None, None]
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    kept = weakref.ref(mapped)
    MLPClassifier(**MLP).fit(mapped, y).partial_fit(mapped, y)
    del mapped
    gc.collect()
    assert kept() is None
    if sys.platform.startswith("linux"):  # (no mapping of the file left either)
        assert not [line for line in open("/proc/self/maps") if "X.npy" in line]
