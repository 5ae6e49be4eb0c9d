"""The ready MLPs learn as well as scikit-learn's MLP on the same call, with early stopping.

Both libraries run the same pipeline on the same folds; scikit-learn's result is
computed here, not remembered. benchmarks/quality.py prints the wider table.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from keraslearn import MLPClassifier, MLPRegressor

CALL = dict(hidden_layer_sizes=(64, 64), max_iter=300, early_stopping=True, random_state=0)


def _cross_validate(mlp_class, X, y, cv, metric):
    """Per-fold test scores and fitted MLPs of StandardScaler -> mlp_class(**CALL)."""
    scores, mlps = [], []
    for train, test in cv.split(X, y):
        pipe = make_pipeline(StandardScaler(), mlp_class(**CALL))
        # One BLAS thread: on 2 shared cores more only slow scikit-learn's MLP down.
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore", ConvergenceWarning)
            pipe.fit(X[train], y[train])
        scores.append(metric(y[test], pipe.predict(X[test])))
        mlps.append(pipe[-1])
    return np.array(scores), mlps


@pytest.mark.slow
def test_diabetes_early_stopping_as_good_as_scikit_learn():
    X, y = load_diabetes(return_X_y=True)
    cv = KFold(5, shuffle=True, random_state=0)
    sk_mae, _ = _cross_validate(SkMLPRegressor, X, y, cv, mean_absolute_error)
    kl_mae, mlps = _cross_validate(MLPRegressor, X, y, cv, mean_absolute_error)
    assert kl_mae.mean() <= 1.05 * sk_mae.mean(), (kl_mae, sk_mae)
    # No fold stopped before it had learnt anything: its best validation R² is positive.
    best = [mlp.best_validation_score_ for mlp in mlps]
    assert min(best) > 0, best
    for mlp in mlps:
        assert mlp.best_validation_score_ == max(mlp.validation_scores_)
        assert len(mlp.validation_scores_) == mlp.n_iter_


@pytest.mark.slow
@pytest.mark.parametrize("load", [load_breast_cancer, load_digits],
                         ids=["breast_cancer", "digits"])
def test_classifier_early_stopping_as_good_as_scikit_learn(load):
    X, y = load(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    sk_acc, _ = _cross_validate(SkMLPClassifier, X, y, cv, accuracy_score)
    kl_acc, mlps = _cross_validate(MLPClassifier, X, y, cv, accuracy_score)
    # Within one point of accuracy, or better.
    assert kl_acc.mean() >= sk_acc.mean() - 0.01, (kl_acc, sk_acc)
    chance = np.bincount(y).max() / len(y)
    assert min(mlp.best_validation_score_ for mlp in mlps) > chance


class _RecordingSplit(MLPRegressor):
    """MLPRegressor keeping the held-out rows it chose (for the test to score them)."""

    def _validation_split(self, y, n, fraction, seed):
        self.split_ = super()._validation_split(y, n, fraction, seed)
        return self.split_


def test_validation_score_is_scikit_learns_score_of_the_held_out_rows():
    # After every epoch the held-out rows are scored with scikit-learn's r2_score
    # on what predict returns; the network restored at the end is the best one.
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    est = _RecordingSplit(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=30,
                          early_stopping=True, n_iter_no_change=100, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert set(est.history_) == {"loss", "val_loss", "val_r2_score"}
    assert est.validation_scores_ == est.history_["val_r2_score"]
    assert len(est.validation_scores_) == est.n_iter_ == 30
    assert est.best_validation_score_ == max(est.validation_scores_)
    val = est.split_[1]
    assert r2_score(y[val], est.predict(X[val])) == pytest.approx(
        est.best_validation_score_, abs=1e-5)


def test_regression_held_out_rows_spread_like_the_targets():
    # Stratified by target quantile: each tenth of the targets' range gives its
    # share of held-out rows, so their mean stays close to the training mean.
    rng = np.random.RandomState(0)
    y = rng.lognormal(size=400)
    est = MLPRegressor()
    for seed in range(20):
        train, val = est._validation_split(y, len(y), 0.1, seed)
        assert len(val) == 40 and len(np.intersect1d(train, val)) == 0
        deciles = np.searchsorted(np.quantile(y, np.linspace(0, 1, 11)[1:-1]), y[val],
                                  side="right")
        assert np.bincount(deciles, minlength=10).tolist() == [4] * 10


def test_with_early_stopping_a_regressor_starts_from_the_target_mean():
    # The output bias starts at the weighted mean of the training rows' targets
    # (held-out rows left out): the untrained network already predicts it.
    # Without early stopping it starts at Keras' 0, as before.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    y = 150 + 50 * X[:, 0]
    w = rng.uniform(0.5, 2, size=200)
    frozen = dict(hidden_layer_sizes=(8,), max_iter=1, learning_rate_init=1e-12,
                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = _RecordingSplit(early_stopping=True, **frozen).fit(X, y, sample_weight=w)
        plain = MLPRegressor(**frozen).fit(X, y, sample_weight=w)
    train = est.split_[0]
    mean = np.average(y[train], weights=w[train])
    assert est.intercepts_[-1][0] == pytest.approx(mean, rel=1e-5)
    assert abs(est.predict(X).mean() - mean) < 5
    assert abs(plain.intercepts_[-1][0]) < 1e-6


def test_the_held_out_step_does_not_keep_networks_alive():
    # The traced scoring step is cached per network; a network no one holds any
    # more is freed with its step (200 fits in a process must not pile up).
    import gc
    import weakref

    from keraslearn import config_context

    X, y = np.random.RandomState(0).normal(size=(60, 3)), np.arange(60) % 2
    refs = []
    with config_context(share_traced_functions=False), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for units in (3, 4, 5):
            est = MLPClassifier(hidden_layer_sizes=(units,), max_iter=2, early_stopping=True,
                                random_state=0).fit(X, y)
            assert len(est.validation_scores_) == 2
            refs.append(weakref.ref(est.model_))
            del est
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]
