"""Every public estimator inside scikit-learn's composites, searches and tools.

Each combination fits, predicts and scores on small, easy data, and asserts
behaviour beyond "it ran": shapes, better-than-chance scores, parameters that
reach the network, fitted sub-estimators.
"""

import numpy as np
import pandas as pd
import pytest
from _factories import (
    CLASSIFIERS,
    NOT_TABULAR,
    REGRESSORS,
    TABULAR,
    by_name,
    classification,
    data_for,
    digits_images,
    frame,
    hidden_units,
    params,
    regression,
    split,
)
from sklearn.base import clone, is_classifier
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import (
    AdaBoostClassifier,
    BaggingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
    StackingClassifier,
    StackingRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LinearRegression, LogisticRegression, RidgeCV
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_validate,
    learning_curve,
)
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, Normalizer, OneHotEncoder, StandardScaler
from sklearn.svm import SVC, SVR

# MLP* warn like scikit-learn's MLP when max_iter epochs end unconverged; tiny max_iter here.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Held-out score every model must beat on the easy data sets (chance: 0.5 / 0.0).
MIN_ACCURACY = 0.8
MIN_R2 = 0.8


def _good(factory, score):
    return score > (MIN_ACCURACY if factory.kind == "classifier" else MIN_R2)


def _cv(factory, n_splits=3):
    cls = StratifiedKFold if factory.kind == "classifier" else KFold
    return cls(n_splits=n_splits, shuffle=True, random_state=0)


def test_image_classifier_is_kept_out_of_tabular_combinations_for_a_reason():
    for name, reason in NOT_TABULAR.items():
        assert len(reason) > 20, f"{name} left out of tabular combinations without a reason"


# ---------------------------------------------------------------------- pipelines
@pytest.mark.parametrize(
    "scaler", [StandardScaler(), MinMaxScaler(), Normalizer()],
    ids=["StandardScaler", "MinMaxScaler", "Normalizer"],
)
@pytest.mark.parametrize("factory", params(TABULAR))
def test_pipeline_with_scaler(factory, scaler):
    X, y = data_for(factory)
    if isinstance(scaler, Normalizer):
        # Rows scaled to unit norm lose their magnitude: keep the informative
        # columns only, so that a point's direction still carries most of the
        # signal (a lower bar for regressors: y also depends on the magnitude).
        X = X[:, :3]
    X_train, X_test, y_train, y_test = split(X, y)
    pipe = make_pipeline(clone(scaler), factory()).fit(X_train, y_train)
    pred = pipe.predict(X_test)
    assert pred.shape == y_test.shape
    if isinstance(scaler, Normalizer):
        assert pipe.score(X_test, y_test) > (0.8 if factory.kind == "classifier" else 0.6)
    else:
        assert _good(factory, pipe.score(X_test, y_test))
    assert pipe[-1].n_features_in_ == X.shape[1]


@pytest.mark.parametrize("factory", params(TABULAR))
def test_column_transformer_over_a_dataframe(factory):
    df, y = frame(factory.kind)
    X_train, X_test, y_train, y_test = split(df, y)
    pre = ColumnTransformer([
        ("num", StandardScaler(), ["a", "b", "c", "d"]),
        ("cat", OneHotEncoder(sparse_output=False, handle_unknown="ignore"), ["colour"]),
    ])
    pipe = Pipeline([("pre", pre), ("net", factory())])
    pipe.fit(X_train, y_train)
    assert pipe["net"].n_features_in_ == 4 + 3  # 4 numeric + red/green/blue
    assert pipe.predict(X_test).shape == (len(X_test),)
    assert _good(factory, pipe.score(X_test, y_test))


@pytest.mark.parametrize("factory", params(TABULAR))
def test_column_transformer_pandas_output_gives_feature_names(factory):
    df, y = frame(factory.kind)
    pre = ColumnTransformer([
        ("num", StandardScaler(), ["a", "b", "c", "d"]),
        ("cat", OneHotEncoder(sparse_output=False), ["colour"]),
    ]).set_output(transform="pandas")
    pipe = make_pipeline(pre, factory())
    pipe.fit(df, y)
    names = list(pipe[-1].feature_names_in_)
    assert names == list(pre.get_feature_names_out())
    assert "cat__colour_red" in names
    # Column order matters to the network: a reordered frame fails loudly.
    with pytest.raises(ValueError, match="feature names"):
        pipe[-1].predict(pipe[0].transform(df)[names[::-1]])


# ---------------------------------------------------------------------- searches
def _check_search(search, factory, grid, X_test, y_test):
    best = search.best_estimator_
    for key, value in search.best_params_.items():
        assert value in grid[key]
        assert best.get_params()[key] == value
    # The routed parameter reached the network that was built.
    assert hidden_units(best) == factory.hidden_units(search.best_params_[factory.hidden_key])
    (rate_key,) = set(factory.grid) - {factory.hidden_key}
    rate = float(np.asarray(best.model_.optimizer.learning_rate))
    assert rate == pytest.approx(search.best_params_[rate_key], rel=1e-6)
    if "epochs" in search.best_params_:
        assert len(best.history_["loss"]) == search.best_params_["epochs"]
    n_candidates = len(search.cv_results_["params"])
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert n_candidates == len(search.cv_results_["mean_test_score"])
    assert _good(factory, search.score(X_test, y_test))


def _random_space(factory):
    space = dict(factory.grid)
    epochs = "max_iter" if "max_iter" in factory().get_params() else "epochs"
    space.update({"batch_size": [16, 32], epochs: [10, 15]})
    return space


# n_jobs=2 starts worker processes that import TensorFlow (seconds each), so only
# one grid search (classifiers) and one randomised search (regressors) per family
# runs with n_jobs=2, and that case also runs n_jobs=1 and checks that the
# parallel search reproduces the sequential one.
_PARALLEL = {
    ("KerasClassifier", "grid"), ("MLPClassifier", "grid"),
    ("KerasRegressor", "random"), ("MLPRegressor", "random"),
}


def _search_cases(kind):
    cases = []
    for factory in TABULAR:
        if (factory.name, kind) in _PARALLEL:
            cases.append(pytest.param(factory, (2, 1), id=f"{factory.name}-n_jobs=2,1",
                                      marks=pytest.mark.slow))
        else:
            cases.append(pytest.param(factory, (1,), id=f"{factory.name}-n_jobs=1"))
    return cases


def _run_searches(make_search, factory, space, all_n_jobs):
    X_train, X_test, y_train, y_test = split(*data_for(factory))
    results = {}
    for n_jobs in all_n_jobs:
        search = make_search(n_jobs).fit(X_train, y_train)
        _check_search(search, factory, space, X_test, y_test)
        results[n_jobs] = search
    if 2 in results:
        par, seq = results[2], results[1]
        assert par.cv_results_["params"] == seq.cv_results_["params"]
        # Same random_state, same data: the worker processes train the same networks.
        np.testing.assert_allclose(
            par.cv_results_["mean_test_score"], seq.cv_results_["mean_test_score"], atol=1e-3
        )
        assert par.best_params_ == seq.best_params_
    return results[1]


@pytest.mark.parametrize("factory, all_n_jobs", _search_cases("grid"))
def test_grid_search_over_routed_parameters(factory, all_n_jobs):
    def make_search(n_jobs):
        return GridSearchCV(factory(), factory.grid, cv=_cv(factory, 2), n_jobs=n_jobs)

    search = _run_searches(make_search, factory, factory.grid, all_n_jobs)
    assert len(search.cv_results_["params"]) == 4


@pytest.mark.parametrize("factory, all_n_jobs", _search_cases("random"))
def test_randomized_search_over_routed_parameters(factory, all_n_jobs):
    space = _random_space(factory)

    def make_search(n_jobs):
        return RandomizedSearchCV(
            factory(), space, n_iter=3, cv=_cv(factory, 2), random_state=0, n_jobs=n_jobs
        )

    search = _run_searches(make_search, factory, space, all_n_jobs)
    assert len(search.cv_results_["params"]) == 3


# ----------------------------------------------------------------- cross-validation
@pytest.mark.parametrize("factory", params(TABULAR))
def test_cross_validate_with_several_scorers(factory):
    X, y = data_for(factory)
    if factory.kind == "classifier":
        scoring = {"roc_auc": 0.9, "f1_macro": MIN_ACCURACY, "accuracy": MIN_ACCURACY}
    else:
        scoring = {"neg_mean_absolute_error": -0.5, "r2": MIN_R2}
    result = cross_validate(
        factory(), X, y, cv=_cv(factory), scoring=list(scoring), return_train_score=True,
        return_estimator=True,
    )
    for name, minimum in scoring.items():
        assert result[f"test_{name}"].shape == (3,)
        assert result[f"test_{name}"].min() > minimum, (name, result[f"test_{name}"])
        assert np.all(np.isfinite(result[f"train_{name}"]))
    # Three independent fits: three different networks.
    models = [est.model_ for est in result["estimator"]]
    assert len({id(m) for m in models}) == 3


@pytest.mark.parametrize("factory", params(TABULAR))
def test_learning_curve(factory):
    X, y = data_for(factory)
    sizes, train_scores, test_scores = learning_curve(
        factory(), X, y, train_sizes=[0.4, 1.0], cv=_cv(factory, 2), shuffle=True,
        random_state=0,
    )
    assert list(sizes) == [40, 100]
    assert train_scores.shape == test_scores.shape == (2, 2)
    assert np.all(np.isfinite(test_scores))
    assert _good(factory, test_scores[-1].mean())


@pytest.mark.parametrize("factory", params(TABULAR))
def test_permutation_importance_finds_the_informative_features(factory):
    X_train, X_test, y_train, y_test = split(*data_for(factory))
    est = factory().fit(X_train, y_train)
    result = permutation_importance(est, X_test, y_test, n_repeats=3, random_state=0)
    assert result.importances.shape == (6, 3)
    informative, noise = result.importances_mean[:3], result.importances_mean[3:]
    # Columns 0-2 carry the signal, 3-5 are noise.
    assert informative.max() > 0.1
    assert informative.max() > noise.max() + 0.05
    assert noise.max() < 0.05


# ------------------------------------------------------------------------ ensembles
@pytest.mark.parametrize("voting", ["hard", "soft"])
@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_voting_classifier(factory, voting):
    X_train, X_test, y_train, y_test = split(*classification())
    vote = VotingClassifier(
        [("net1", factory()), ("net2", factory(random_state=1)), ("lr", LogisticRegression())],
        voting=voting,
    ).fit(X_train, y_train)
    assert [name for name in vote.named_estimators_] == ["net1", "net2", "lr"]
    assert vote.named_estimators_["net1"].model_ is not vote.named_estimators_["net2"].model_
    assert vote.predict(X_test).shape == y_test.shape
    if voting == "soft":
        proba = vote.predict_proba(X_test)
        assert proba.shape == (len(X_test), 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert vote.score(X_test, y_test) > MIN_ACCURACY


@pytest.mark.parametrize("factory", params(REGRESSORS))
def test_voting_regressor(factory):
    X_train, X_test, y_train, y_test = split(*regression())
    vote = VotingRegressor(
        [("net", factory()), ("lin", LinearRegression())]
    ).fit(X_train, y_train)
    pred = vote.predict(X_test)
    assert pred.shape == y_test.shape
    parts = [est.predict(X_test) for est in vote.estimators_]
    np.testing.assert_allclose(pred, np.mean(parts, axis=0), rtol=1e-5, atol=1e-6)
    assert vote.score(X_test, y_test) > MIN_R2


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_stacking_classifier_network_forest_svm_under_logistic_regression(factory):
    # A pandas frame and string labels, as read from a CSV file.
    X, y = classification()
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    y = pd.Series(np.array(["benign", "malignant"], dtype=object)[y], name="diagnosis")
    X_train, X_test, y_train, y_test = split(X, y)
    stack = StackingClassifier(
        [
            ("net", factory()),
            ("rf", RandomForestClassifier(n_estimators=20, random_state=0)),
            ("svm", make_pipeline(StandardScaler(), SVC(random_state=0))),
        ],
        final_estimator=LogisticRegression(),
        cv=_cv(factory),
    ).fit(X_train, y_train)
    # Binary: one column per base estimator (net: predict_proba, svm: decision_function).
    assert stack.transform(X_test).shape == (len(X_test), 3)
    assert stack.final_estimator_.coef_.shape == (1, 3)
    assert stack.predict_proba(X_test).shape == (len(X_test), 2)
    assert set(stack.predict(X_test)) == {"benign", "malignant"}
    assert list(stack.named_estimators_["net"].feature_names_in_) == list(X.columns)
    assert stack.score(X_test, y_test) > MIN_ACCURACY


@pytest.mark.parametrize("factory", params(REGRESSORS))
def test_stacking_regressor_network_forest_svm(factory):
    X_train, X_test, y_train, y_test = split(*regression())
    stack = StackingRegressor(
        [
            ("net", factory()),
            ("rf", RandomForestRegressor(n_estimators=20, random_state=0)),
            ("svm", SVR()),
        ],
        final_estimator=RidgeCV(),
        cv=_cv(factory),
    ).fit(X_train, y_train)
    assert stack.transform(X_test).shape == (len(X_test), 3)
    assert stack.predict(X_test).shape == y_test.shape
    assert stack.score(X_test, y_test) > MIN_R2


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_bagging_classifier(factory):
    X_train, X_test, y_train, y_test = split(*classification())
    bag = BaggingClassifier(factory(), n_estimators=3, random_state=0).fit(X_train, y_train)
    assert len(bag.estimators_) == 3
    assert len({id(est.model_) for est in bag.estimators_}) == 3
    proba = bag.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert bag.score(X_test, y_test) > MIN_ACCURACY


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_bagging_on_a_rare_class(factory):
    # Bagging draws its bootstraps as sample weights (counts, 0 for rows not drawn):
    # with 2 positives in 60 rows some bootstraps hold none, and every member must
    # still fit, as scikit-learn's own classifiers do, learning the classes of y.
    X, y = classification()
    X, y = X[:60], (np.arange(60) < 2).astype(int)
    bag = BaggingClassifier(factory(), n_estimators=8, random_state=0).fit(X, y)
    drawn = [np.isin([0, 1], rows).any() for rows in bag.estimators_samples_]
    assert not all(drawn)  # some member saw no positive row at all
    for member in bag.estimators_:
        np.testing.assert_array_equal(member.classes_, [0, 1])
    assert bag.predict_proba(X).shape == (60, 2)
    reference = BaggingClassifier(LogisticRegression(), n_estimators=8, random_state=0)
    assert reference.fit(X, y).predict_proba(X).shape == (60, 2)


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_adaboost_classifier_uses_sample_weight(factory):
    X_train, X_test, y_train, y_test = split(*classification())
    boost = AdaBoostClassifier(factory(), n_estimators=3, random_state=0)
    boost.fit(X_train, y_train)
    assert 1 <= len(boost.estimators_) <= 3
    assert np.all(boost.estimator_weights_[: len(boost.estimators_)] > 0)
    assert boost.predict_proba(X_test).shape == (len(X_test), 2)
    assert boost.score(X_test, y_test) > MIN_ACCURACY


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_calibrated_classifier_cv(factory, method):
    X_train, X_test, y_train, y_test = split(*classification())
    cal = CalibratedClassifierCV(factory(), method=method, cv=3).fit(X_train, y_train)
    assert len(cal.calibrated_classifiers_) == 3
    proba = cal.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert cal.score(X_test, y_test) > MIN_ACCURACY


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_one_vs_rest_classifier(factory):
    X_train, X_test, y_train, y_test = split(*classification(n_classes=3, n_samples=300))
    ovr = OneVsRestClassifier(factory()).fit(X_train, y_train)
    assert len(ovr.estimators_) == 3
    # Each sub-network is a binary problem.
    assert all(list(est.classes_) == [0, 1] for est in ovr.estimators_)
    assert ovr.predict_proba(X_test).shape == (len(X_test), 3)
    assert set(np.unique(ovr.predict(X_test))) <= {0, 1, 2}
    assert ovr.score(X_test, y_test) > MIN_ACCURACY


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_native_multiclass(factory):
    X_train, X_test, y_train, y_test = split(*classification(n_classes=3, n_samples=300))
    est = factory().fit(X_train, y_train)
    assert est.predict_proba(X_test).shape == (len(X_test), 3)
    assert est.score(X_test, y_test) > MIN_ACCURACY


@pytest.mark.parametrize("factory", params(REGRESSORS))
def test_multi_output_regressor(factory):
    X, y = regression(n_targets=2)
    X_train, X_test, y_train, y_test = split(X, y)
    multi = MultiOutputRegressor(factory()).fit(X_train, y_train)
    assert len(multi.estimators_) == 2
    assert all(est.n_outputs_ == 1 for est in multi.estimators_)
    pred = multi.predict(X_test)
    assert pred.shape == y_test.shape == (len(X_test), 2)
    assert r2_score(y_test, pred) > MIN_R2
    # The network also takes both targets at once.
    native = factory().fit(X_train, y_train)
    assert native.predict(X_test).shape == (len(X_test), 2)
    assert native.score(X_test, y_test) > MIN_R2


@pytest.mark.parametrize("factory", params(REGRESSORS))
def test_transformed_target_regressor(factory):
    # y in the thousands (house prices): the network learns the standardised
    # target, and the predictions come back in the original units.
    X, y = regression(standardize=False)
    y = 10.0 * y + 5000.0
    X_train, X_test, y_train, y_test = split(X, y)
    ttr = TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), factory()), transformer=StandardScaler()
    ).fit(X_train, y_train)
    pred = ttr.predict(X_test)
    assert pred.shape == y_test.shape
    assert abs(pred.std() / y_test.std() - 1) < 0.3
    assert r2_score(y_test, pred) > MIN_R2
    assert abs(ttr.transformer_.mean_[0] - y_train.mean()) < 1e-6


# --------------------------------------------------------------- ImageClassifier
def test_image_classifier_on_digit_images_in_cross_validate():
    factory = by_name("ImageClassifier")
    X, y = digits_images()
    assert X.shape[1:] == (8, 8, 1)
    X_train, X_test, y_train, y_test = split(X, y)
    result = cross_validate(
        factory(), X_train, y_train, cv=StratifiedKFold(2, shuffle=True, random_state=0),
        scoring=["accuracy", "f1_macro"],
    )
    assert result["test_accuracy"].min() > MIN_ACCURACY
    assert result["test_f1_macro"].min() > MIN_ACCURACY
    est = factory().fit(X_train, y_train)
    assert is_classifier(est)
    assert list(est.classes_) == [0, 1, 2, 3]
    assert est.predict_proba(X_test).shape == (len(X_test), 4)
    assert accuracy_score(y_test, est.predict(X_test)) > MIN_ACCURACY
    # Flattened rows are accepted as well, given the image shape: same network,
    # same seed, same predictions.
    flat = factory(image_shape=(8, 8, 1)).fit(X_train.reshape(len(X_train), -1), y_train)
    flat_pred = flat.predict(X_test.reshape(len(X_test), -1))
    np.testing.assert_array_equal(flat_pred, est.predict(X_test))
