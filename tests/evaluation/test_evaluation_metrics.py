"""Numbers of keraslearn.evaluation.evaluate against scikit-learn's metric functions."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    hamming_loss,
    mean_absolute_error,
    mean_squared_error,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC

from keraslearn.evaluation import detect_problem_type, evaluate

pytestmark = pytest.mark.filterwarnings("error")


def binary_data(labels=(0, 1), n=80):
    X, y = make_classification(n, 5, n_informative=3, random_state=0, flip_y=0.1)
    return X, np.asarray(labels)[y]


def multiclass_data(labels=(0, 1, 2), n=90):
    X, y = make_classification(n, 6, n_informative=4, n_classes=3, random_state=1)
    return X, np.asarray(labels)[y]


class MajorityClassifier(ClassifierMixin, BaseEstimator):
    """A classifier with predict only: no predict_proba, no decision_function."""

    def fit(self, X, y):
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


@pytest.mark.parametrize("labels", [(0, 1), ("no", "yes")])
def test_binary_metrics_match_sklearn(labels):
    X, y = binary_data(labels)
    clf = LogisticRegression().fit(X, y)
    pred, proba = clf.predict(X), clf.predict_proba(X)[:, 1]
    report = evaluate(clf, X, y)
    pos = labels[1]
    expected = {
        "accuracy": accuracy_score(y, pred),
        "balanced_accuracy": balanced_accuracy_score(y, pred),
        "precision": precision_score(y, pred, pos_label=pos),
        "recall": recall_score(y, pred, pos_label=pos),
        "f1": f1_score(y, pred, pos_label=pos),
        "roc_auc": roc_auc_score(y, proba),
    }
    assert report.problem_type == "binary"
    assert report.metrics == pytest.approx(expected)
    np.testing.assert_array_equal(report.confusion_matrix, confusion_matrix(y, pred))
    assert list(report.classes) == list(labels)
    assert list(report.per_class.index) == list(labels)
    assert list(report.per_class.columns) == ["precision", "recall", "f1", "support"]
    p, r, f, s = precision_recall_fscore_support(y, pred)
    np.testing.assert_allclose(report.per_class[["precision", "recall", "f1"]], np.c_[p, r, f])
    np.testing.assert_array_equal(report.per_class["support"], s)
    assert "precision" in report.classification_report


def test_binary_pos_label_chooses_positive_class():
    X, y = binary_data(("neg", "pos"))
    clf = LogisticRegression().fit(X, y)
    pred, proba = clf.predict(X), clf.predict_proba(X)
    report = evaluate(clf, X, y, pos_label="neg")
    assert report.metrics["precision"] == pytest.approx(precision_score(y, pred, pos_label="neg"))
    assert report.metrics["roc_auc"] == pytest.approx(roc_auc_score(y == "neg", proba[:, 0]))
    with pytest.raises(ValueError, match="pos_label"):
        evaluate(clf, X, y, pos_label="maybe")


@pytest.mark.parametrize("pos_label", [None, "neg"])
def test_the_positive_class_is_named_in_every_form_of_the_report(pos_label):
    # Precision, recall and F1 are the positive class's: the report did not say which.
    X, y = binary_data(("neg", "pos"))
    report = evaluate(LogisticRegression().fit(X, y), X, y, pos_label=pos_label)
    expected = pos_label or "pos"  # the greater label, as in scikit-learn
    assert report.pos_label == expected
    assert f"Positive class: {expected!r}" in str(report)
    assert report.to_dict()["pos_label"] == expected
    assert json.loads(json.dumps(report.to_dict()))["pos_label"] == expected
    assert f"positive class: {expected!r}".replace("'", "&#x27;") in report.to_html()
    numbers = evaluate(LogisticRegression().fit(X, y == "pos"), X, y == "pos")
    assert numbers.pos_label is True and numbers.to_dict()["pos_label"] is True
    X, y = multiclass_data()
    assert evaluate(LogisticRegression().fit(X, y), X, y).pos_label is None


class RefusingPredict(LogisticRegression):
    def predict(self, X):
        raise AssertionError("predict was called")


def test_labels_of_another_kind_than_the_classes_are_refused_before_predicting():
    # Numbers against string classes were made strings: a binary problem was
    # reported as a 4-class one, and the real error came after predict.
    X, y = binary_data(("neg", "pos"))
    clf = RefusingPredict().fit(X, y)
    with pytest.raises(ValueError, match=r"y holds numbers as labels, but the estimator's "
                                         r"classes are \['neg', 'pos'\]"):
        evaluate(clf, X, (y == "pos").astype(int))
    clf = RefusingPredict().fit(X, (y == "pos").astype(int))
    with pytest.raises(ValueError, match=r"y holds strings as labels, .* \[0, 1\]"):
        evaluate(clf, X, y)


class DuckClassifier:
    """A fitted classifier that is not a scikit-learn BaseEstimator (no tags)."""

    def fit(self, X, y):
        self.inner_ = LogisticRegression().fit(X, y)
        self.classes_ = self.inner_.classes_
        self.predict, self.predict_proba = self.inner_.predict, self.inner_.predict_proba
        return self


def test_an_estimator_without_scikit_learn_tags_is_evaluated():
    # "any fitted estimator": scikit-learn's fitted check reads tags, which it has not.
    from sklearn.exceptions import NotFittedError

    X, y = binary_data()
    duck = DuckClassifier().fit(X, y)
    report = evaluate(duck, X, y)
    assert report.metrics == evaluate(duck.inner_, X, y).metrics
    with pytest.raises(NotFittedError, match="DuckClassifier instance is not fitted"):
        evaluate(DuckClassifier(), X, y)

    class Slotted:  # no __dict__ (found in review)
        __slots__ = ("classes_", "predict")

    slotted = Slotted()
    with pytest.raises(NotFittedError, match="Slotted instance is not fitted"):
        evaluate(slotted, X, y)
    slotted.classes_, slotted.predict = duck.classes_, duck.predict
    assert evaluate(slotted, X, y).metrics["accuracy"] == report.metrics["accuracy"]

    class Child(Slotted):  # slots of a base class, and given as one string
        __slots__ = "predict_proba"

    child = Child()
    child.classes_, child.predict, child.predict_proba = (duck.classes_, duck.predict,
                                                           duck.predict_proba)
    assert evaluate(child, X, y).metrics == report.metrics


def test_binary_roc_auc_from_decision_function():
    X, y = binary_data()
    clf = LinearSVC().fit(X, y)
    report = evaluate(clf, X, y)
    assert report.metrics["roc_auc"] == pytest.approx(roc_auc_score(y, clf.decision_function(X)))
    assert report.notes == []


def test_roc_auc_skipped_with_note_without_scores():
    X, y = binary_data()
    report = evaluate(MajorityClassifier().fit(X, y), X, y, zero_division=0.0)
    assert "roc_auc" not in report.metrics
    assert any("neither predict_proba nor decision_function" in n for n in report.notes)


def test_one_vs_one_scores_are_not_taken_for_one_score_per_class():
    # With 3 classes, SVC's 3 pairwise columns gave a ROC AUC of 0.5 for a
    # classifier whose one-vs-rest AUC is near 1, without a note.
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    X, y = make_classification(n_samples=150, n_informative=4, n_classes=3, random_state=0)
    for clf in (SVC(decision_function_shape="ovo"),
                make_pipeline(StandardScaler(), SVC(decision_function_shape="ovo"))):
        report = evaluate(clf.fit(X, y), X, y)
        assert "roc_auc_ovr" not in report.metrics and report.metrics["accuracy"] > 0.8
        assert any("one-vs-one scores" in note for note in report.notes)
    ovr = evaluate(SVC().fit(X, y), X, y)  # decision_function_shape="ovr": one per class
    assert ovr.metrics["roc_auc_ovr"] > 0.9
    # The fitted estimator decides: a search's best one, not the one searched over;
    # one-vs-rest over pairwise SVCs scores one column per class.
    from sklearn.model_selection import GridSearchCV
    from sklearn.multiclass import OneVsRestClassifier

    for shape in ("ovo", "ovr"):
        search = GridSearchCV(SVC(decision_function_shape="ovr" if shape == "ovo" else "ovo"),
                              {"decision_function_shape": [shape]}, cv=2).fit(X, y)
        assert ("roc_auc_ovr" in evaluate(search, X, y).metrics) == (shape == "ovr")
    wrapped = OneVsRestClassifier(SVC(decision_function_shape="ovo")).fit(X, y)
    assert evaluate(wrapped, X, y).metrics["roc_auc_ovr"] > 0.9
    # Meta-estimators handing on one fitted estimator's pairwise scores.
    from sklearn.frozen import FrozenEstimator
    from sklearn.semi_supervised import SelfTrainingClassifier

    with pytest.warns(UserWarning, match="no unlabeled samples"):  # (scores need none)
        self_training = SelfTrainingClassifier(SVC(decision_function_shape="ovo")).fit(X, y)
    for clf in (self_training,
                FrozenEstimator(SVC(decision_function_shape="ovo").fit(X, y))):
        report = evaluate(clf, X, y)
        assert "roc_auc_ovr" not in report.metrics
        assert any("one-vs-one scores" in note for note in report.notes)
    from sklearn.ensemble import StackingClassifier

    stack = StackingClassifier([("lr", LogisticRegression())],
                               final_estimator=SVC(decision_function_shape="ovo")).fit(X, y)
    assert "roc_auc_ovr" not in evaluate(stack, X, y).metrics


class NaNScores(LogisticRegression):
    """Scores that are NaN (a diverged model of the user's own)."""

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), np.nan)


@pytest.mark.parametrize("data", [binary_data, multiclass_data])
def test_roc_auc_skipped_with_note_for_nan_scores(data):
    X, y = data()
    clf = NaNScores().fit(X, y)
    report = evaluate(clf, X, y)
    assert not any(key.startswith("roc_auc") for key in report.metrics)
    assert report.notes == ["ROC AUC skipped: predict_proba returned NaN or infinite scores."]
    assert report.metrics["accuracy"] == accuracy_score(y, clf.predict(X))


def test_metrics_undefined_with_zero_division_nan_are_left_out_and_noted():
    X, y = binary_data()
    clf = MajorityClassifier().fit(X, y)
    report = evaluate(clf, X, y, pos_label=0, zero_division=np.nan)  # 0 is never predicted
    assert np.isnan(precision_score(y, clf.predict(X), pos_label=0, zero_division=np.nan))
    assert "precision" not in report.metrics and "recall" in report.metrics
    assert any("Left out: precision" in note for note in report.notes)
    json.dumps(report.to_dict(), allow_nan=False)  # strict JSON


@pytest.mark.parametrize("labels", [(0, 1, 2), ("cat", "dog", "eel")])
def test_multiclass_metrics_match_sklearn(labels):
    X, y = multiclass_data(labels)
    clf = LogisticRegression(max_iter=500).fit(X, y)
    pred, proba = clf.predict(X), clf.predict_proba(X)
    report = evaluate(clf, X, y)
    assert report.problem_type == "multiclass"
    m = report.metrics
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["f1_macro"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["precision_macro"] == pytest.approx(precision_score(y, pred, average="macro"))
    assert m["recall_macro"] == pytest.approx(recall_score(y, pred, average="macro"))
    assert m["f1_weighted"] == pytest.approx(f1_score(y, pred, average="weighted"))
    assert m["roc_auc_ovr"] == pytest.approx(roc_auc_score(y, proba, multi_class="ovr"))
    table = report.per_class
    assert list(table.index) == sorted(labels)
    assert list(table.columns) == ["precision", "recall", "f1", "support", "roc_auc"]
    p, r, f, s = precision_recall_fscore_support(y, pred)
    np.testing.assert_allclose(table[["precision", "recall", "f1"]], np.c_[p, r, f])
    np.testing.assert_array_equal(table["support"], s)
    for i, label in enumerate(clf.classes_):
        assert table.loc[label, "roc_auc"] == pytest.approx(roc_auc_score(y == label, proba[:, i]))
    np.testing.assert_array_equal(report.confusion_matrix, confusion_matrix(y, pred))


def test_multiclass_with_a_class_missing_from_y():
    X, y = multiclass_data()
    clf = LogisticRegression(max_iter=500).fit(X, y)
    keep = y != 2
    with pytest.warns(UserWarning, match="y_pred contains classes not in y_true"):
        report = evaluate(clf, X[keep], y[keep], zero_division=0.0)  # balanced accuracy
    assert report.problem_type == "multiclass"  # the estimator knows three classes
    assert list(report.classes) == [0, 1, 2]
    assert report.confusion_matrix.shape == (3, 3)
    assert np.isnan(report.per_class.loc[2, "roc_auc"])
    assert any("undefined for 2" in note for note in report.notes)


def test_sample_weight_is_used():
    X, y = binary_data()
    clf = LogisticRegression().fit(X, y)
    w = np.linspace(0.1, 2.0, len(y))
    pred = clf.predict(X)
    report = evaluate(clf, X, y, sample_weight=w)
    assert report.metrics["accuracy"] == pytest.approx(accuracy_score(y, pred, sample_weight=w))
    assert report.metrics["f1"] == pytest.approx(f1_score(y, pred, sample_weight=w))
    np.testing.assert_allclose(report.confusion_matrix,
                               confusion_matrix(y, pred, sample_weight=w))


def test_multilabel_metrics_match_sklearn():
    X, Y = make_multilabel_classification(
        60, 5, n_classes=3, allow_unlabeled=False, random_state=0)
    Y = pd.DataFrame(Y, columns=["red", "green", "blue"])
    clf = KNeighborsClassifier(5).fit(X, Y)
    pred = clf.predict(X)
    proba = np.column_stack([p[:, 1] for p in clf.predict_proba(X)])
    report = evaluate(clf, X, Y)
    assert report.problem_type == "multilabel"
    m = report.metrics
    assert m["accuracy"] == pytest.approx(accuracy_score(Y, pred))
    assert m["hamming_loss"] == pytest.approx(hamming_loss(Y, pred))
    assert m["f1_macro"] == pytest.approx(f1_score(Y, pred, average="macro"))
    assert m["f1_micro"] == pytest.approx(f1_score(Y, pred, average="micro"))
    assert m["roc_auc_macro"] == pytest.approx(roc_auc_score(Y, proba, average="macro"))
    assert list(report.per_class.index) == ["red", "green", "blue"]
    np.testing.assert_array_equal(report.confusion_matrix, multilabel_confusion_matrix(Y, pred))


def test_regression_metrics_match_sklearn():
    X, y = make_regression(50, 4, noise=10.0, random_state=0)
    reg = Ridge(alpha=10.0).fit(X, y)
    pred = reg.predict(X)
    report = evaluate(reg, X, y)
    assert report.problem_type == "regression"
    assert report.metrics == pytest.approx({
        "mae": mean_absolute_error(y, pred),
        "mse": mean_squared_error(y, pred),
        "rmse": np.sqrt(mean_squared_error(y, pred)),
        "r2": r2_score(y, pred),
        "pearson_r": pearsonr(y, pred)[0],
    })
    assert report.per_class is None and report.confusion_matrix is None
    assert report.per_output is None and report.classification_report is None


def test_weighted_pearson_matches_weighted_covariance():
    X, y = make_regression(40, 3, noise=20.0, random_state=2)
    reg = Ridge().fit(X, y)
    w = np.linspace(0.5, 3.0, len(y))
    cov = np.cov(y, reg.predict(X), aweights=w)
    report = evaluate(reg, X, y, sample_weight=w)
    assert report.metrics["pearson_r"] == pytest.approx(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]))
    assert report.metrics["r2"] == pytest.approx(r2_score(y, reg.predict(X), sample_weight=w))


def test_multioutput_regression_per_output():
    X, Y = make_regression(50, 4, n_targets=2, noise=5.0, random_state=0)
    Y = pd.DataFrame(Y, columns=["price", "rent"])
    reg = Ridge().fit(X, Y)
    pred = reg.predict(X)
    report = evaluate(reg, X, Y)
    table = report.per_output
    assert list(table.index) == ["price", "rent"]
    assert list(table.columns) == ["mae", "mse", "rmse", "r2", "pearson_r"]
    np.testing.assert_allclose(table["mae"], mean_absolute_error(Y, pred, multioutput="raw_values"))
    np.testing.assert_allclose(table["r2"], r2_score(Y, pred, multioutput="raw_values"))
    assert table.loc["rent", "pearson_r"] == pytest.approx(pearsonr(Y["rent"], pred[:, 1])[0])
    assert report.metrics["r2"] == pytest.approx(r2_score(Y, pred))


def test_targets_constant_where_weighed_skip_pearson_with_note():
    # Rows of zero weight counted in the constancy check: the weighted mean of
    # the constant rows rounded off 0.1, and the report gave pearson_r 2e-16.
    from keraslearn.evaluation._metrics import regression_metrics

    rng = np.random.default_rng(0)
    y = rng.normal(size=60)
    y[:7] = 0.1
    weights = np.r_[np.ones(7), np.zeros(53)]
    report = regression_metrics(y, y + rng.normal(size=60), sample_weight=weights)
    assert "pearson_r" not in report.metrics
    assert any("Pearson correlation skipped" in note for note in report.notes)
    weights[7] = 0.5  # a row of another target weighs: defined again
    report = regression_metrics(y, y, sample_weight=weights)
    assert report.metrics["pearson_r"] == pytest.approx(1.0)


def test_constant_predictions_skip_pearson_with_note():
    X, y = make_regression(30, 2, random_state=0)
    report = evaluate(DummyRegressor().fit(X, y), X, y)
    assert "pearson_r" not in report.metrics
    assert any("Pearson" in note for note in report.notes)


def test_column_vector_targets_are_handled():
    X, y = make_regression(30, 2, random_state=0)
    reg = Ridge().fit(X, y)
    report = evaluate(reg, X, y.reshape(-1, 1))
    assert report.per_output is None
    assert report.metrics["r2"] == pytest.approx(r2_score(y, reg.predict(X)))


@pytest.mark.parametrize(
    "estimator, y, expected",
    [
        (LogisticRegression(), [0, 1, 1, 0], "binary"),
        (LogisticRegression(), ["a", "b", "b", "a"], "binary"),
        (LogisticRegression(), ["a", "b", "c", "a"], "multiclass"),
        (LogisticRegression(), [[0, 1], [1, 1], [1, 0], [0, 0]], "multilabel"),
        (Ridge(), [0, 1, 1, 0], "regression"),
        (Ridge(), [0.5, 1.2, 3.3, 0.1], "regression"),
    ],
)
def test_detect_problem_type(estimator, y, expected):
    assert detect_problem_type(estimator, y) == expected


def test_detect_problem_type_uses_fitted_classes():
    X, y = multiclass_data()
    clf = LogisticRegression(max_iter=500).fit(X, y)
    assert detect_problem_type(clf, y[y != 2]) == "multiclass"


def test_detect_problem_type_falls_back_to_targets_without_tags():
    class Plain:
        def predict(self, X):
            return X

    assert detect_problem_type(Plain(), [0.5, 1.5, 2.25]) == "regression"
    assert detect_problem_type(Plain(), [0, 1, 2]) == "multiclass"


def test_classifier_on_continuous_targets_is_rejected():
    X, y = binary_data()
    clf = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="continuous"):
        evaluate(clf, X, y + 0.5)


@pytest.mark.parametrize("unit", ["D", "ns"])
def test_labels_of_dates_are_evaluated_and_written_as_the_tables_write_them(unit, tmp_path):
    # A binary report failed in scikit-learn ("The 'pos_label' parameter ... Got
    # np.datetime64"), in its metrics and its ROC figure; to_dict held datetime.date
    # (no JSON) or nanosecond counts; a pos_label of nanosecond dates was refused.
    X, y = binary_data(("neg", "pos"))
    days = np.array(["2024-01-01", "2024-01-02"], dtype=f"datetime64[{unit}]")
    dated = days[(y == "pos").astype(int)]
    clf = LogisticRegression().fit(X, y)
    expected = evaluate(clf, X, y).metrics
    on_dates = LogisticRegression().fit(X, dated)
    report = evaluate(on_dates, X, dated, output_dir=tmp_path)
    assert report.metrics == expected and set(report.figures) == {"confusion_matrix", "roc_curve"}
    assert report.pos_label == days[1]
    negative = evaluate(on_dates, X, dated, pos_label=pd.Timestamp("2024-01-01"))
    assert negative.metrics == evaluate(clf, X, y, pos_label="neg").metrics
    for other in (np.datetime64("2024-01-01T12"), [days[0], days[1]]):  # (noon is no day)
        with pytest.raises(ValueError, match=r"is not one of \['2024-01-01"):
            evaluate(on_dates, X, dated, pos_label=other)
    as_dict = json.loads(json.dumps(report.to_dict()))
    assert as_dict["classes"] == list(as_dict["per_class"]) == [
        "2024-01-01 00:00:00", "2024-01-02 00:00:00"]
    assert as_dict["pos_label"] == "2024-01-02 00:00:00"


def test_to_dict_is_json_serialisable_and_matches_output_dict():
    X, y = multiclass_data(("a", "b", "c"))
    clf = LogisticRegression(max_iter=500).fit(X, y)
    report = evaluate(clf, X, y)
    as_dict = report.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert evaluate(clf, X, y, output_dict=True) == as_dict
    assert as_dict["classes"] == ["a", "b", "c"]
    assert set(as_dict["per_class"]) == {"a", "b", "c"}
    # At full precision: to_json's 10 decimals turned small metrics into 0.0.
    assert as_dict["per_class"] == {label: {k: (v.item() if hasattr(v, "item") else v)
                                            for k, v in row.items()}
                                    for label, row in report.per_class.to_dict("index").items()}
    small = np.column_stack([X[:, 0], X[:, 1]]) * 1e-6 + 1e-7 * np.sin(np.arange(len(X)))[:, None]
    tiny = evaluate(Ridge(alpha=1e-9).fit(X, small), X, small)
    per_output = tiny.to_dict()["per_output"]
    assert 0.0 < per_output["0"]["mse"] < 1e-12
    assert per_output == {str(k): {c: float(v) for c, v in row.items()}
                          for k, row in tiny.per_output.to_dict("index").items()}
    assert as_dict["confusion_matrix"] == report.confusion_matrix.tolist()
    assert as_dict["figures"] == {} and as_dict["html_path"] is None


class PerfectOnKnownClasses(ClassifierMixin, BaseEstimator):
    """Knows the classes it was given and predicts the true label of every row."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.asarray(X)[:, 0].astype(int)


def test_averages_leave_out_a_known_class_absent_from_y_and_predictions():
    y_fit = np.array([0, 1, 2] * 10)
    clf = PerfectOnKnownClasses().fit(y_fit[:, None], y_fit)
    y = np.array([0, 1] * 20)  # class 2 is neither in y nor predicted
    report = evaluate(clf, y[:, None], y)
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(y, y, average=average)
        assert report.metrics[f"precision_{average}"] == pytest.approx(p) == 1.0
        assert report.metrics[f"recall_{average}"] == pytest.approx(r)
        assert report.metrics[f"f1_{average}"] == pytest.approx(f)
    assert report.metrics["balanced_accuracy"] == 1.0
    assert list(report.classes) == [0, 1, 2]  # still in the table and the matrix
    assert report.confusion_matrix.shape == (3, 3) and report.per_class.loc[2, "support"] == 0
    assert "1.0000" in report.classification_report.splitlines()[-2]  # macro avg
    assert any("Classes 2 are neither in y nor predicted" in note for note in report.notes)


class ScoresForClassesOneFirst(ClassifierMixin, BaseEstimator):
    """A binary classifier whose classes_ are not sorted: its one score is for classes_[1]."""

    def fit(self, X, y):
        self.classes_ = np.array(["yes", "no"])
        return self

    def decision_function(self, X):
        return -np.asarray(X)[:, 0]  # high: "no"

    def predict(self, X):
        return np.where(self.decision_function(X) > 0, "no", "yes")


def test_a_single_score_is_for_classes_1_as_in_scikit_learn():
    import matplotlib.pyplot as plt
    from sklearn.metrics import RocCurveDisplay

    rng = np.random.default_rng(0)
    y = np.where(rng.random(80) < 0.5, "yes", "no")
    X = ((y == "yes") + rng.normal(0, 0.8, 80))[:, None]
    clf = ScoresForClassesOneFirst().fit(X, y)
    report = evaluate(clf, X, y)  # pos_label: the greater class, "yes"
    expected = roc_auc_score(y == "yes", -clf.decision_function(X))
    assert report.metrics["roc_auc"] == pytest.approx(expected)
    display = RocCurveDisplay.from_estimator(clf, X, y, pos_label="yes")
    plt.close(display.figure_)
    assert expected == pytest.approx(display.roc_auc)
    assert expected > 0.6  # the score of "no" read as that of "yes" would be below 0.4


def test_regression_predicting_nan_names_the_predictions():
    X, y = make_regression(30, 3, random_state=0)

    class Diverged(Ridge):
        def predict(self, X):
            return np.where(np.arange(len(X)) == 4, np.nan, 0.0)

    with pytest.raises(ValueError, match=r"NaN or infinite values for 1 of 30 rows \(row 4"):
        evaluate(Diverged().fit(X, y), X, y)


def test_an_undefined_r2_is_left_out_and_noted():
    X, y = make_regression(30, 3, random_state=0)
    with pytest.warns(Warning, match="(?i)less than two samples"):  # scikit-learn's own
        report = evaluate(Ridge().fit(X, y), X[:1], y[:1])
        assert np.isnan(r2_score(y[:1], y[:1]))
    assert "r2" not in report.metrics and "mae" in report.metrics
    assert any(note.startswith("Left out: r2") for note in report.notes)
    json.dumps(report.to_dict(), allow_nan=False)  # strict JSON


def test_pearson_of_some_constant_outputs_is_noted():
    X, Y = make_regression(40, 3, n_targets=2, random_state=0)
    Y[:, 1] = 5.0
    report = evaluate(Ridge().fit(X, Y), X, pd.DataFrame(Y, columns=["a", "b"]))
    first = Ridge().fit(X, Y).predict(X)[:, 0]
    assert report.metrics["pearson_r"] == pytest.approx(pearsonr(Y[:, 0], first)[0])
    assert any("undefined (constant targets or predictions) for b" in n for n in report.notes)


def test_pos_label_of_a_multiclass_problem_warns_and_is_noted():
    X, y = multiclass_data()
    clf = LogisticRegression(max_iter=500).fit(X, y)
    with pytest.warns(UserWarning, match="pos_label=1 is used for binary problems only"):
        report = evaluate(clf, X, y, pos_label=1)
    assert any("pos_label=1" in note for note in report.notes)
    assert report.metrics["f1_macro"] == pytest.approx(f1_score(y, clf.predict(X),
                                                                average="macro"))


class CountsCalls(LogisticRegression):
    def predict(self, X):
        self.predicted_ = True
        return super().predict(X)


@pytest.mark.parametrize("kwargs, match", [
    (dict(zero_division="nan"), "zero_division must be"),
    (dict(zero_division=0.5), "zero_division must be"),
    (dict(pos_label=7), r"pos_label=7 is not one of \[0, 1\]"),
])
def test_bad_arguments_are_refused_before_predicting(kwargs, match):
    X, y = binary_data()
    clf = CountsCalls().fit(X, y)
    with pytest.raises(ValueError, match=match):
        evaluate(clf, X, y, **kwargs)
    assert not hasattr(clf, "predicted_")


def test_sparse_multilabel_targets_are_read():
    from scipy.sparse import csr_matrix

    X, Y = make_multilabel_classification(60, 5, n_classes=3, random_state=0)
    clf = KNeighborsClassifier().fit(X, Y)
    report = evaluate(clf, X, csr_matrix(Y), zero_division=0.0)
    assert report.problem_type == "multilabel"
    assert report.metrics["f1_macro"] == pytest.approx(
        f1_score(csr_matrix(Y), clf.predict(X), average="macro", zero_division=0.0))


def test_targets_whose_squares_overflow_are_told_so_and_the_dict_stays_json():
    # Targets of ~1e160: the notes said R² "needs two samples or more" and the
    # targets were "constant", and to_dict held inf, which strict JSON refuses.
    X = np.arange(50.0)[:, None]
    y = np.linspace(-1, 1, 50) * 1e160
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (NumPy's and scikit-learn's overflow warnings)
        report = evaluate(DummyRegressor(strategy="constant", constant=0.0).fit(X, y), X, y)
    assert report.metrics["mse"] == np.inf and "r2" not in report.metrics
    assert all("overflow float64: rescale the targets" in note for note in report.notes)
    assert len(report.notes) == 2
    metrics = json.loads(json.dumps(report.to_dict(), allow_nan=False))["metrics"]
    assert metrics["mse"] is None and metrics["mae"] == pytest.approx(report.metrics["mae"])


def test_nullable_multilabel_columns_are_read_as_the_classifier_fitted_them():
    # A DataFrame of pandas' Int64/boolean columns fits (read as numbers) but its
    # values were read as objects here: "targets of type 'unknown'".
    X, Y = make_multilabel_classification(60, 5, n_classes=3, random_state=0)
    clf = KNeighborsClassifier().fit(X, Y)
    frame = pd.DataFrame({"a": pd.array(Y[:, 0], dtype="Int64"),
                          "b": pd.array(Y[:, 1].astype(bool), dtype="boolean"),
                          "c": pd.array(Y[:, 2], dtype="Int64")})
    report = evaluate(clf, X, frame, zero_division=0.0)
    assert report.problem_type == "multilabel"
    assert list(report.per_class.index) == ["a", "b", "c"]
    import polars as pl  # a polars frame's names name the outputs too (they were 0, 1, 2)

    report = evaluate(clf, X, pl.DataFrame({"a": Y[:, 0], "b": Y[:, 1], "c": Y[:, 2]}),
                      zero_division=0.0)
    assert list(report.per_class.index) == ["a", "b", "c"]
    assert report.metrics["f1_macro"] == pytest.approx(
        f1_score(Y, clf.predict(X), average="macro", zero_division=0.0))


def _softmax_net(meta):
    import keras

    model = keras.Sequential([keras.Input((meta["n_features_in_"],)),
                              keras.layers.Dense(meta["n_classes_"], activation="softmax")])
    model.compile("adam", "categorical_crossentropy")
    return model


def test_one_hot_targets_of_a_one_hot_classifier_are_classes():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from keraslearn import KerasClassifier

    X, y = multiclass_data()
    Y = np.eye(3, dtype=int)[y]
    clf = make_pipeline(StandardScaler(), KerasClassifier(_softmax_net, epochs=3,
                                                          random_state=0)).fit(X, Y)
    assert clf[-1].target_type_ == "multiclass-onehot"
    report = evaluate(clf, X, Y)
    pred = clf.predict(X).argmax(axis=1)
    assert report.problem_type == "multiclass" and list(report.classes) == [0, 1, 2]
    # The public detect_problem_type, which evaluate's docstring points to, agrees
    # (it said "multilabel").
    from scipy import sparse

    assert detect_problem_type(clf, Y) == detect_problem_type(clf, pd.DataFrame(Y)) == (
        detect_problem_type(clf, sparse.csr_matrix(Y))) == "multiclass"
    np.testing.assert_array_equal(report.confusion_matrix, confusion_matrix(y, pred))
    assert report.metrics["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert report.metrics["roc_auc_ovr"] == pytest.approx(
        roc_auc_score(y, clf.predict_proba(X), multi_class="ovr"))
    # scikit-learn's own multilabel classifiers keep reading such rows as labels.
    knn = KNeighborsClassifier().fit(X, Y)
    assert evaluate(knn, X, Y, zero_division=0.0).problem_type == "multilabel"
    assert detect_problem_type(knn, Y) == "multilabel"


def test_a_network_inside_rfe_is_read_as_it_is_inside_a_pipeline():
    # Found in an audit: evaluate looked through pipelines and searches only, so
    # a one-hot classifier inside RFE was reported as multilabel (Hamming loss,
    # 2x2 matrices), and a regressor's y of the wrong width failed after predict.
    from sklearn.feature_selection import RFE

    from keraslearn import KerasClassifier, MLPRegressor

    X, y = multiclass_data()
    Y = np.eye(3, dtype=int)[y]
    weights = lambda est: np.abs(est.model_.layers[0].get_weights()[0]).sum(axis=1)  # noqa: E731
    rfe = RFE(KerasClassifier(_softmax_net, epochs=3, random_state=0),
              n_features_to_select=X.shape[1], importance_getter=weights).fit(X, Y)
    report = evaluate(rfe, X, Y)
    assert report.problem_type == detect_problem_type(rfe, Y) == "multiclass"
    np.testing.assert_array_equal(report.confusion_matrix,
                                  confusion_matrix(y, rfe.predict(X).argmax(axis=1)))
    reg = RFE(MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0),
              importance_getter=lambda est: np.abs(est.coefs_[0]).sum(axis=1))
    with pytest.warns(Warning):
        reg.fit(X, X[:, 0])
    with pytest.raises(ValueError, match=r"y has 2 column\(s\), but MLPRegressor was fitted "
                                         r"on 1 output\(s\)"):
        evaluate(reg, X, X[:, :2])


def test_a_network_with_nan_outputs_is_named_so():
    from keraslearn import KerasClassifier

    X, y = multiclass_data()
    clf = KerasClassifier(_softmax_net, epochs=1, random_state=0).fit(X, y)
    clf.model_.set_weights([np.full_like(w, np.nan) for w in clf.model_.get_weights()])
    with pytest.raises(ValueError, match=r"outputs are NaN for 90 of 90 rows \(row 0 first\)"):
        evaluate(clf, X, y)


def test_roc_auc_skipped_for_a_class_without_weight_says_so():
    # y held both classes, but the note said "y contains only one class".
    X, y = make_classification(n_samples=60, random_state=0)
    clf = LogisticRegression().fit(X, y)
    with warnings.catch_warnings():  # (scikit-learn's: y_pred holds a class y lacks)
        warnings.simplefilter("ignore", UserWarning)
        report = evaluate(clf, X, y, sample_weight=(y == 0).astype(float))
        one_class = evaluate(clf, X[y == 0], y[y == 0])
    assert "roc_auc" not in report.metrics
    assert "ROC AUC skipped: one class has no weight in sample_weight." in report.notes
    assert "ROC AUC skipped: y contains only one class." in one_class.notes
