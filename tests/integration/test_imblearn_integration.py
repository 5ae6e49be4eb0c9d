"""Every classifier inside imbalanced-learn's pipeline, samplers and ensembles."""

import numpy as np
import pytest
from _factories import (
    CLASSIFIERS,
    REGRESSORS,
    hidden_units,
    imbalanced,
    params,
    regression,
    split,
    spy,
)
from imblearn.ensemble import BalancedBaggingClassifier
from imblearn.metrics import classification_report_imbalanced
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline, make_pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from versions import SKLEARN_1_8

# MLP* warn like scikit-learn's MLP when max_iter epochs end unconverged; tiny max_iter here.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

MIN_BALANCED_ACCURACY = 0.7


@pytest.mark.parametrize(
    "sampler", [SMOTE(random_state=0), RandomUnderSampler(random_state=0)],
    ids=["SMOTE", "RandomUnderSampler"],
)
@SKLEARN_1_8
@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_imblearn_pipeline_with_sampler(factory, sampler):
    X, y = imbalanced()
    X_train, X_test, y_train, y_test = split(X, y)
    pipe = make_pipeline(StandardScaler(), sampler, spy(factory())).fit(X_train, y_train)
    counts = np.bincount(y_train)
    assert counts[1] < counts[0] / 5
    # The network was trained on the resampled, balanced classes.
    seen = np.bincount(pipe[-1].seen_["y"])
    assert seen[0] == seen[1]
    expected = 2 * (counts[0] if isinstance(sampler, SMOTE) else counts[1])
    assert pipe[-1].seen_["n_samples"] == expected
    pred = pipe.predict(X_test)
    # ... and predict bypasses the sampler: one prediction per test row.
    assert pred.shape == y_test.shape
    assert set(np.unique(pred)) == {0, 1}
    assert balanced_accuracy_score(y_test, pred) > MIN_BALANCED_ACCURACY
    report = classification_report_imbalanced(y_test, pred, output_dict=True)
    assert report["1"]["rec"] > 0.5


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_imblearn_grid_search_over_sampler_and_network_parameters(factory):
    X_train, X_test, y_train, y_test = split(*imbalanced())
    pipe = Pipeline([("smote", SMOTE(random_state=0)), ("net", factory())])
    # Step prefix + routed name, e.g. net__optimizer__learning_rate, net__model__hidden.
    (rate_key, rates), (hidden_key, sizes) = sorted(
        factory.grid.items(), key=lambda item: item[0] == factory.hidden_key
    )
    grid = {"smote__k_neighbors": [3, 5], f"net__{rate_key}": rates[-1:],
            f"net__{hidden_key}": sizes[:1]}
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    search = GridSearchCV(pipe, grid, scoring="balanced_accuracy", cv=cv).fit(X_train, y_train)
    assert len(search.cv_results_["params"]) == 2
    best = search.best_estimator_
    assert best["smote"].k_neighbors in (3, 5)
    assert best["net"].get_params()[rate_key] == rates[-1]
    assert hidden_units(best["net"]) == factory.hidden_units(sizes[0])
    assert search.score(X_test, y_test) > MIN_BALANCED_ACCURACY


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_balanced_bagging_classifier(factory):
    X_train, X_test, y_train, y_test = split(*imbalanced())
    bag = BalancedBaggingClassifier(factory(), n_estimators=3, random_state=0)
    bag.fit(X_train, y_train)
    assert len(bag.estimators_) == 3
    proba = bag.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    assert balanced_accuracy_score(y_test, bag.predict(X_test)) > MIN_BALANCED_ACCURACY


@pytest.mark.parametrize("factory", params(REGRESSORS))
def test_imblearn_pipeline_takes_regressors(factory):
    X_train, X_test, y_train, y_test = split(*regression())
    pipe = make_pipeline(StandardScaler(), factory()).fit(X_train, y_train)
    assert pipe.predict(X_test).shape == y_test.shape
    assert pipe.score(X_test, y_test) > 0.8
