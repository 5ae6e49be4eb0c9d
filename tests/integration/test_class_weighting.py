"""Class weighting for every classifier, and SMOTE as the alternative.

On two overlapping classes (90% / 10%) an unweighted network mostly predicts
the majority class; weighting the classes (or oversampling the minority) must
raise the minority class' recall, with the same seed and the same data.
"""

import functools

import numpy as np
import pytest
from _factories import (
    ALL_CLASSIFIERS,
    CLASSIFIERS,
    by_name,
    digits_images,
    imbalanced,
    imbalanced_multiclass,
    params,
    split,
)
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline as make_imb_pipeline
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

# MLP* warn like scikit-learn's MLP when max_iter epochs end unconverged; tiny max_iter here.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# How much the minority recall must rise, and where it must end up at least.
MIN_GAIN = 0.2
MIN_MINORITY_RECALL = 0.35


def _minority_recall(model, X_test, y_test, label=1):
    return recall_score(y_test, model.predict(X_test), labels=[label], average=None)[0]


@pytest.fixture(scope="module")
def data():
    X, y = imbalanced(hard=True)
    assert np.bincount(y)[1] / len(y) < 0.15
    return split(X, y)


@pytest.mark.parametrize(
    "class_weight", ["balanced", {0: 1.0, 1: 9.0}], ids=["balanced", "dict"]
)
@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_class_weight_raises_minority_recall(factory, class_weight, data):
    X_train, X_test, y_train, y_test = data
    plain = make_pipeline(StandardScaler(), factory()).fit(X_train, y_train)
    weighted = make_pipeline(StandardScaler(), factory(class_weight=class_weight))
    weighted.fit(X_train, y_train)
    before = _minority_recall(plain, X_test, y_test)
    after = _minority_recall(weighted, X_test, y_test)
    assert after > before + MIN_GAIN, (before, after)
    assert after > MIN_MINORITY_RECALL
    assert balanced_accuracy_score(y_test, weighted.predict(X_test)) > balanced_accuracy_score(
        y_test, plain.predict(X_test)
    )


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_smote_in_imblearn_pipeline_raises_minority_recall(factory, data):
    X_train, X_test, y_train, y_test = data
    plain = make_imb_pipeline(StandardScaler(), factory()).fit(X_train, y_train)
    smote = make_imb_pipeline(StandardScaler(), SMOTE(random_state=0), factory())
    smote.fit(X_train, y_train)
    before = _minority_recall(plain, X_test, y_test)
    after = _minority_recall(smote, X_test, y_test)
    assert after > before + MIN_GAIN, (before, after)
    assert after > MIN_MINORITY_RECALL


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_class_weight_is_a_sample_weight_multiplier(factory, data):
    """Same seed, same data: class weights act exactly as the matching sample weights
    (documented: "Weights of the classes, multiplied into sample_weight")."""
    X_train, X_test, y_train, _ = data
    n = len(y_train)

    def proba(**kwargs):
        sample_weight = kwargs.pop("sample_weight", None)
        est = factory(**kwargs).fit(X_train, y_train, sample_weight=sample_weight)
        return est.predict_proba(X_test)

    def close(a, b):
        np.testing.assert_allclose(a, b, atol=1e-6)

    unweighted = proba()
    balanced = proba(class_weight="balanced")
    assert np.abs(balanced - unweighted).max() > 0.05
    close(balanced, proba(sample_weight=compute_sample_weight("balanced", y_train)))
    close(proba(class_weight={0: 2.0, 1: 2.0}), proba(sample_weight=np.full(n, 2.0)))
    # Both given: multiplied.
    sw = np.where(np.arange(n) % 2 == 0, 1.0, 3.0)
    close(
        proba(class_weight={0: 1.0, 1: 5.0}, sample_weight=sw),
        proba(sample_weight=sw * np.where(y_train == 1, 5.0, 1.0)),
    )


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_weights_whose_sum_overflows_weigh_as_their_ratios_say(factory, data):
    # Weights of 1e307 summed to inf, and were scaled to 0: nothing was learnt
    # (a loss curve of zeros), with NumPy's overflow warning alone.
    X_train, X_test, y_train, _ = data
    n = len(y_train)
    ratios = np.where(np.arange(n) % 3 == 0, 1.0, 2.0)
    # (1e300, summing to a finite total: as large, for the MLPs, whose L2 penalty
    # weighs by the mean weight as scikit-learn's does)
    expected = factory().fit(X_train, y_train, sample_weight=ratios * 1e300).predict_proba(X_test)
    huge = factory().fit(X_train, y_train, sample_weight=ratios * 1e307)
    np.testing.assert_allclose(huge.predict_proba(X_test), expected, atol=1e-6)


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_balanced_classes_count_rows_by_their_sample_weight(factory, data):
    # As scikit-learn's LogisticRegression balances them: rows of weight 0 count for
    # nothing, so weighing them 0 equals dropping them (one full batch: same steps).
    X_train, X_test, y_train, _ = data
    n = len(y_train)
    dropped = np.arange(n) % 3 == 0
    make = functools.partial(factory, class_weight="balanced", batch_size=n)
    weighted = make().fit(X_train, y_train, sample_weight=np.where(dropped, 0.0, 1.0))
    kept = make().fit(X_train[~dropped], y_train[~dropped])
    np.testing.assert_allclose(weighted.predict_proba(X_test), kept.predict_proba(X_test),
                               atol=1e-5)
    # A class whose every row weighs 0 gets no weight (not an infinite one).
    only_zeros = np.where(y_train == 1, 0.0, 1.0)
    assert np.isfinite(make().fit(X_train, y_train, sample_weight=only_zeros)
                       .predict_proba(X_test)).all()


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_class_weight_dict_keyed_by_string_labels(factory, data):
    X_train, X_test, y_train, _ = data
    names = np.array(["common", "rare"], dtype=object)
    by_label = factory(class_weight={"common": 1.0, "rare": 9.0}).fit(X_train, names[y_train])
    by_index = factory(class_weight={0: 1.0, 1: 9.0}).fit(X_train, y_train)
    assert list(by_label.classes_) == ["common", "rare"]
    np.testing.assert_array_equal(by_label.predict(X_test), names[by_index.predict(X_test)])
    np.testing.assert_allclose(
        by_label.predict_proba(X_test), by_index.predict_proba(X_test), atol=1e-6
    )


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_class_weight_dict_keyed_by_date_labels(factory, data):
    # Keys of np.datetime64 were told to name no label: the labels were compared
    # as datetime.date (a day's) or as numbers (a finer unit's).
    import pandas as pd

    X_train, X_test, y_train, _ = data
    by_index = factory(class_weight={0: 1.0, 1: 9.0}).fit(X_train, y_train).predict_proba(X_test)
    days = np.array(["2024-01-01", "2024-06-30"], dtype="datetime64[D]")
    for labels, rare in ((days, days[1]), (days.astype("datetime64[ns]"), pd.Timestamp(days[1]))):
        keyed = factory(class_weight={labels[0]: 1.0, rare: 9.0}).fit(X_train, labels[y_train])
        np.testing.assert_allclose(keyed.predict_proba(X_test), by_index, atol=1e-6)
    with pytest.raises(ValueError, match="that are not labels of y"):  # (noon is no day)
        factory(class_weight={days[0]: 1.0, np.datetime64("2024-06-30T12"): 9.0}).fit(
            X_train, days[y_train])
    with pytest.raises(ValueError, match="Keras' class_weight takes class indices"):
        factory(class_weight={0: 1.0, 1: 9.0}).fit(X_train, days[y_train])  # (not dates)
    # partial_fit's classes in one unit, y in another: the weights still reach y's rows.
    by_index = factory(class_weight={0: 1.0, 1: 9.0}).partial_fit(X_train, y_train,
                                                                  classes=[0, 1])
    for labels, classes in ((days.astype("datetime64[ns]"), days),
                            (days, days.astype("datetime64[ns]"))):
        keyed = factory(class_weight={pd.Timestamp(days[1]): 9.0}).partial_fit(
            X_train, labels[y_train], classes=classes)
        np.testing.assert_allclose(keyed.predict_proba(X_test),
                                   by_index.predict_proba(X_test), atol=1e-6)


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_class_weight_balanced_on_imbalanced_multiclass(factory):
    # The rare class has 20 test rows (a recall step is 0.05): averaged over seeds.
    X_train, X_test, y_train, y_test = split(*imbalanced_multiclass())
    gains, balanced_gains = [], []
    for seed in range(4):
        plain = factory(random_state=seed).fit(X_train, y_train)
        weighted = factory(class_weight="balanced", random_state=seed).fit(X_train, y_train)
        gains.append(_minority_recall(weighted, X_test, y_test, label=2)
                     - _minority_recall(plain, X_test, y_test, label=2))
        balanced_gains.append(balanced_accuracy_score(y_test, weighted.predict(X_test))
                              - balanced_accuracy_score(y_test, plain.predict(X_test)))
    assert np.mean(gains) > 0.1 and min(gains) >= 0, gains
    assert np.mean(balanced_gains) > 0, balanced_gains


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_class_weight_is_searchable(factory, data):
    X_train, _, y_train, _ = data
    search = GridSearchCV(
        make_pipeline(StandardScaler(), factory()),
        {f"{factory.name.lower()}__class_weight": [None, "balanced"]},
        scoring="balanced_accuracy",
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    ).fit(X_train, y_train)
    assert search.best_params_ == {f"{factory.name.lower()}__class_weight": "balanced"}


def test_image_classifier_class_weight():
    factory = by_name("ImageClassifier")
    X, y = digits_images()
    # Class 3 becomes rare (10% of its images).
    rng = np.random.RandomState(0)
    keep = (y != 3) | (rng.rand(len(y)) < 0.1)
    X_train, X_test, y_train, y_test = split(X[keep], y[keep])
    plain = factory().fit(X_train, y_train)
    for class_weight in ("balanced", {0: 1.0, 1: 1.0, 2: 1.0, 3: 10.0}):
        weighted = factory(class_weight=class_weight).fit(X_train, y_train)
        assert np.abs(weighted.predict_proba(X_test) - plain.predict_proba(X_test)).max() > 1e-3
        assert _minority_recall(weighted, X_test, y_test, label=3) >= _minority_recall(
            plain, X_test, y_test, label=3
        )
        assert balanced_accuracy_score(y_test, weighted.predict(X_test)) > 0.7


def test_every_classifier_takes_class_weight():
    for factory in ALL_CLASSIFIERS:
        assert "class_weight" in factory().get_params(), factory.name


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_partial_fit_weighs_batches_lacking_a_class_by_every_class_s_weight(factory):
    """As scikit-learn's online learners check a class_weight dict: against
    every class (``classes=``, then ``classes_``), not one batch's labels."""
    X, y = imbalanced_multiclass()
    weights = {label: float(label + 1) for label in np.unique(y)}
    batches = [np.flatnonzero(y != 2)[:60], np.flatnonzero(y != 0)[:60]]
    weighted = factory(class_weight=weights, random_state=0)
    by_rows = factory(random_state=0)
    for rows in batches:
        weighted.partial_fit(X[rows], y[rows], classes=np.unique(y))
        by_rows.partial_fit(X[rows], y[rows], classes=np.unique(y),
                            sample_weight=[weights[label] for label in y[rows]])
    np.testing.assert_allclose(weighted.predict_proba(X), by_rows.predict_proba(X), rtol=1e-6)


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_partial_fit_refuses_balanced_class_weight_before_training(factory):
    X, y = imbalanced_multiclass()
    clf = factory(class_weight="balanced")
    with pytest.raises(ValueError, match="'balanced' is not supported by partial_fit"):
        clf.partial_fit(X[:50], y[:50], classes=np.unique(y))
    assert not hasattr(clf, "model_")


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_a_fold_without_a_weighted_class_fits_as_scikit_learn_s_fit_does(factory):
    """A class_weight key of a class the fold lacks is accepted (as
    LogisticRegression accepts it); a class of y with no weight beside keys
    of no class is refused, as scikit-learn refuses it."""
    X, y = imbalanced_multiclass()
    labels = np.unique(y)
    rare = labels[-1]
    kept = y != rare
    weights = {label: 1.0 + (label == rare) for label in labels}
    fitted = factory(class_weight=weights, random_state=0).fit(X[kept], y[kept])
    same = factory(class_weight={k: v for k, v in weights.items() if k != rare},
                   random_state=0).fit(X[kept], y[kept])
    np.testing.assert_allclose(fitted.predict_proba(X), same.predict_proba(X), rtol=1e-6)
    LogisticRegression(class_weight=weights).fit(X[kept], y[kept])  # the reference accepts
    shifted = {label + 10: 1.0 for label in labels}
    with pytest.raises(ValueError, match=r"class_weight has keys \[.*\] that are not labels"):
        factory(class_weight=shifted).fit(X, y)
    with pytest.raises(ValueError, match="are not in class_weight"):
        LogisticRegression(class_weight=shifted).fit(X, y)


@pytest.mark.parametrize("factory", params(CLASSIFIERS))
def test_class_weights_that_zero_every_sample_are_named_with_or_without_sample_weight(factory):
    # With sample weights of its own, the error blamed them: "Sample weights must
    # contain at least one non-zero number", for ones.
    X, y = imbalanced_multiclass()
    clf = factory(class_weight={label: 0.0 for label in np.unique(y)})
    for sample_weight, given in [(None, ""), (np.ones(len(y)), " times the sample_weight given")]:
        with pytest.raises(ValueError, match=rf"class_weight \{{.*\}}{given} weighs every "
                                             "sample 0: no sample would be learned from"):
            clf.fit(X, y, sample_weight=sample_weight)
        assert not hasattr(clf, "model_")
