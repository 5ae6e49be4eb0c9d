"""DriftDetector as a scikit-learn estimator: the estimator checks, clone, pickle, plain
fitted state (for skops), memory bounded by the parameters, use beside a pipeline."""

import doctest
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import keraslearn.monitoring
from keraslearn.monitoring import DriftDetector, _detector, _report, _window

pytestmark = pytest.mark.filterwarnings("error")


# DriftDetector is neither a predictor nor a transformer, so the checks that need one
# do nothing; every other check runs and none is expected to fail.
@parametrize_with_checks([DriftDetector(random_state=0)])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


MERCHANTS = np.array([f"m{i}" for i in range(2000)], dtype=object)


def reference(n, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "amount": rng.lognormal(3.0, 1.0, n),
        "hour": rng.integers(0, 24, n),
        "channel": rng.choice(["web", "app", "shop", "phone"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "merchant": MERCHANTS[rng.integers(0, MERCHANTS.size, n)],  # more values than kept
    })


def fitted_nbytes(detector):
    """Bytes held by the fitted arrays, and the size of the pickled detector."""
    arrays = [a for name, value in vars(detector).items() if name.endswith("_")
              for a in (value.values() if isinstance(value, dict) else [value])
              if isinstance(a, np.ndarray)]
    return sum(a.nbytes for a in arrays), len(pickle.dumps(detector))


def test_fitted_state_is_bounded_by_the_parameters():
    params = {"max_samples": 2000, "max_categories": 50, "n_bins": 10, "random_state": 0}
    small = DriftDetector(**params).fit(reference(100_000))
    large = DriftDetector(**params).fit(reference(1_000_000, seed=1))
    small_bytes, small_pickle = fitted_nbytes(small)
    large_bytes, large_pickle = fitted_nbytes(large)
    assert large_bytes == small_bytes
    # category values are strings of a few characters whose length varies with the
    # values kept: allow a few bytes per kept category, nothing that grows with n
    assert abs(large_pickle - small_pickle) <= 2 * params["max_categories"]
    # the documented bound: 8 * (max_samples + 2 * n_bins) bytes per numeric
    # column, 8 * (max_categories + 1) per categorical one (besides the values)
    bound = 2 * 8 * (2000 + 2 * 10) + 2 * 8 * (50 + 1) + large.categorical_.nbytes
    assert large_bytes <= bound
    assert large.reference_sample_["amount"].size == 2000
    assert len(large.categories_["merchant"]) == 50


def test_sample_is_uniform_and_seeded():
    X = np.arange(100_000, dtype=float)[:, None]
    a = DriftDetector(max_samples=1000, random_state=3).fit(X).reference_sample_["x0"]
    b = DriftDetector(max_samples=1000, random_state=3).fit(X).reference_sample_["x0"]
    c = DriftDetector(max_samples=1000, random_state=4).fit(X).reference_sample_["x0"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(np.diff(a) > 0)  # sorted, distinct rows
    # a uniform sample: its deciles are those of the reference, within sampling error
    np.testing.assert_allclose(np.quantile(a, np.linspace(0.1, 0.9, 9)),
                               np.linspace(10_000, 90_000, 9), atol=4_000)


def test_small_reference_is_kept_whole():
    X = np.random.default_rng(0).normal(size=(50, 2))
    detector = DriftDetector(max_samples=100).fit(X)
    np.testing.assert_array_equal(detector.reference_sample_["x1"], np.sort(X[:, 1]))


PLAIN = (bool, int, float, str, np.bool_)


def assert_plain(value, where):
    """Only arrays of numbers or booleans, lists, dicts with str keys, str and numbers."""
    if isinstance(value, np.ndarray):
        assert value.dtype.kind in "biuf" or (
            value.dtype == object and all(isinstance(v, str) for v in value)), where
    elif isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), where
            assert_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            assert_plain(item, f"{where}[{i}]")
    else:
        assert value is None or isinstance(value, PLAIN), (where, type(value))


def test_fitted_state_holds_plain_types_only():
    detector = DriftDetector(max_categories=20, random_state=0).fit(reference(5000))
    detector.test(reference(500, seed=1))
    for name, value in vars(detector).items():
        assert_plain(value, name)
    assert isinstance(detector.drift_detected_, bool)


def test_pickle_round_trip_gives_the_same_result():
    detector = DriftDetector(random_state=0).fit(reference(5000))
    batch = reference(800, seed=2)
    restored = pickle.loads(pickle.dumps(detector))
    pd.testing.assert_frame_equal(restored.test(batch), detector.test(batch))


def test_skops_round_trip_gives_the_same_result():
    import skops.io as sio

    detector = DriftDetector(random_state=0).fit(reference(3000))
    data = sio.dumps(detector)
    untrusted = sio.get_untrusted_types(data=data)
    assert untrusted == ["keraslearn.monitoring._detector.DriftDetector"]
    restored = sio.loads(data, trusted=untrusted)
    batch = reference(500, seed=3)
    pd.testing.assert_frame_equal(restored.test(batch), detector.test(batch))


def test_clone_and_params():
    detector = DriftDetector(categorical_features=["channel", "merchant"], alpha=0.01,
                             correction="benjamini-hochberg", psi_threshold=0.2, n_bins=8,
                             max_samples=500, max_categories=10, random_state=5)
    detector.fit(reference(2000))
    copy = clone(detector)
    assert copy.get_params() == detector.get_params()
    assert not hasattr(copy, "categorical_")
    copy.set_params(alpha=0.2, correction=None)
    assert (copy.alpha, copy.correction, detector.alpha) == (0.2, None, 0.01)


def test_beside_a_pipeline_fitted_on_the_same_data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(1500, 4)), columns=["a", "b", "c", "d"])
    y = (X["a"] + X["b"] > 0).astype(int)
    X_train, X_new, y_train = X.iloc[:1000], X.iloc[1000:], y.iloc[:1000]
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train, y_train)
    detector = DriftDetector(random_state=0).fit(X_train)
    np.testing.assert_array_equal(detector.feature_names_in_, model.feature_names_in_)
    assert model.score(X_new, y.iloc[1000:]) > 0.9
    assert not detector.test(X_new)["drifted"].any()
    shifted = X_new.assign(c=X_new["c"] * 3)
    model.predict(shifted)  # the model still answers; the detector says why to worry
    assert detector.test(shifted)["drifted"].tolist() == [False, False, True, False]


@pytest.mark.parametrize("module", [_detector, _report, _window])
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_public_names():
    assert sorted(keraslearn.monitoring.__all__) == [
        "DriftDetector", "DriftReport", "RecentRows", "drift_report"]


def test_import_stays_light():
    code = ("import sys, keraslearn.monitoring; "
            "heavy = [m for m in ('matplotlib', 'tensorflow', 'keras') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
