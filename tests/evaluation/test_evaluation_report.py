"""Figures, HTML page, text summary and input validation of keraslearn.evaluation."""

import base64
import html
import pickle
import re
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from keraslearn.evaluation import EvaluationReport, evaluate, training_history
from versions import SKLEARN_1_9

pytestmark = pytest.mark.filterwarnings("error")

HISTORY = {
    "loss": [0.9, 0.6, 0.45, 0.4],
    "accuracy": [0.55, 0.7, 0.8, 0.82],
    "val_loss": [1.0, 0.75, 0.6, 0.62],
    "val_accuracy": [0.5, 0.65, 0.72, 0.71],
}


class HistoryClassifier(LogisticRegression):
    """A fitted-classifier stand-in for a Keras wrapper: it records ``history_``."""

    def fit(self, X, y):
        super().fit(X, y)
        self.history_ = {key: list(values) for key, values in HISTORY.items()}
        return self


class PredictOnly(ClassifierMixin, BaseEstimator):
    """A classifier without predict_proba or decision_function."""

    def fit(self, X, y):
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


class CountingRidge(Ridge):
    """Counts predict calls, to show that validation happens before any work."""

    n_predict = 0

    def predict(self, X):
        type(self).n_predict += 1
        return super().predict(X)


@pytest.fixture
def binary():
    X, y = make_classification(60, 4, n_informative=3, n_redundant=0, random_state=0)
    return X, np.where(y == 1, "malignant", "benign")


@pytest.fixture
def regression():
    return make_regression(50, 3, noise=5.0, random_state=0)


@pytest.fixture(autouse=True)
def no_open_figures():
    """No test may leave a pyplot figure open."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def assert_valid_png(path):
    assert path.is_file() and path.stat().st_size > 0
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size[0] > 100 and image.size[1] > 100


def embedded_images(page):
    return re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)


def test_without_output_dir_nothing_is_written(binary, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    X, y = binary
    report = evaluate(LogisticRegression().fit(X, y), X, y)
    assert isinstance(report, EvaluationReport)
    assert report.figures == {} and report.html_path is None
    assert list(tmp_path.iterdir()) == []


def test_binary_figures_and_html(binary, tmp_path):
    X, y = binary
    report = evaluate(LogisticRegression().fit(X, y), X, y, output_dir=tmp_path / "out")
    assert set(report.figures) == {"confusion_matrix", "roc_curve"}
    for path in report.figures.values():
        assert path.parent == tmp_path / "out"
        assert_valid_png(path)
    assert report.html_path == tmp_path / "out" / "LogisticRegression_report.html"
    page = report.html_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for value in report.metrics.values():
        assert f"{value:.4f}" in page
    for metric in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert f"<th>{metric}</th>" in page
    assert "malignant" in page and "Classification report" in page
    images = embedded_images(page)
    assert len(images) == len(report.figures)
    assert sorted(base64.b64decode(data) for data in images) == sorted(
        path.read_bytes() for path in report.figures.values())


def test_html_survives_being_moved(binary, tmp_path):
    X, y = binary
    report = evaluate(LogisticRegression().fit(X, y), X, y, output_dir=tmp_path)
    for path in report.figures.values():
        path.unlink()
    page = report.html_path.read_text(encoding="utf-8")
    assert ".png" not in page  # nothing refers to the files
    assert len(embedded_images(page)) == 2


def test_to_html_can_link_instead_of_embed(binary, tmp_path):
    X, y = binary
    report = evaluate(LogisticRegression().fit(X, y), X, y, output_dir=tmp_path)
    page = report.to_html(embed=False)
    assert embedded_images(page) == []
    for path in report.figures.values():
        assert f'src="{path.name}"' in page


def test_learning_curves_only_with_history(binary, tmp_path):
    X, y = binary
    plain = evaluate(LogisticRegression().fit(X, y), X, y, output_dir=tmp_path, name="plain")
    assert "learning_curves" not in plain.figures
    fake = evaluate(HistoryClassifier().fit(X, y), X, y, output_dir=tmp_path, name="fake")
    assert_valid_png(fake.figures["learning_curves"])
    assert fake.figures["learning_curves"].name == "fake_learning_curves.png"
    assert len(embedded_images(fake.html_path.read_text(encoding="utf-8"))) == 3
    assert not (tmp_path / "plain_learning_curves.png").exists()


def test_curves_of_a_metric_of_several_values_are_at_its_epochs_and_few():
    # Each class's held-out curve was placed at the history's last epochs
    # instead of those validation_freq scored; a metric of one value per class
    # of many classes drew a panel per class, unbounded.
    import keras

    from builders import tiny_mlp
    from keraslearn import KerasClassifier
    from keraslearn.evaluation._plots import curve_epochs

    X, _ = make_classification(n_samples=60, n_features=4, random_state=0)
    labels = np.arange(60) % 3
    clf = KerasClassifier(tiny_mlp, loss="categorical_crossentropy", epochs=4,
                          metrics=[keras.metrics.F1Score()], validation_split=0.25,
                          fit__validation_freq=2, random_state=0).fit(X, labels)
    history, epochs = curve_epochs(clf)
    assert {f"val_f1_score[{i}]" for i in range(3)} <= set(history)
    for i in range(3):
        np.testing.assert_array_equal(epochs[f"val_f1_score[{i}]"], epochs["val_loss"])
    np.testing.assert_array_equal(epochs["val_loss"], [1, 3])
    clf.history_ = {"loss": [1.0, 0.5], "f1_score": [np.zeros(11), np.ones(11)]}
    assert list(training_history(clf)) == ["loss"]  # eleven values an epoch: left out


def test_training_history_sources(binary):
    X, y = binary
    clf = HistoryClassifier().fit(X, y)
    history = training_history(clf)
    assert list(history) == list(HISTORY)
    np.testing.assert_allclose(history["val_loss"], HISTORY["val_loss"])

    class KerasLikeHistory:  # a keras.callbacks.History carries the dict as .history
        history = {"loss": [1.0, 0.5]}

    clf.history_ = KerasLikeHistory()
    assert list(training_history(clf)) == ["loss"]
    # a metric of several values an epoch (F1Score(average=None)) was dropped
    clf.history_ = {"loss": [1.0, 0.5], "f1_score": [np.array([0.2, 0.4]), np.array([0.3, 0.6])]}
    history = training_history(clf)
    assert list(history) == ["loss", "f1_score[0]", "f1_score[1]"]
    np.testing.assert_array_equal(history["f1_score[1]"], [0.4, 0.6])
    pipe = make_pipeline(StandardScaler(), HistoryClassifier()).fit(X, y)
    assert list(training_history(pipe)) == list(HISTORY)
    assert training_history(LogisticRegression().fit(X, y)) is None
    # a transformed-target regressor's own regressor trained (regressor_)
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPRegressor

    target = TransformedTargetRegressor(
        regressor=MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0), func=np.log1p,
        inverse_func=np.expm1)
    with pytest.warns(ConvergenceWarning):  # the MLP stops at max_iter
        target.fit(X, X[:, 0] ** 2)
    np.testing.assert_allclose(training_history(target)["loss"], target.regressor_.loss_curve_)


def test_a_bagging_ensemble_has_no_curves_of_the_template_it_cloned(binary, tmp_path):
    # Its estimator_ is the estimator the user gave, fitted beforehand here, not
    # a member: its curves were drawn and logged as the ensemble's.
    from sklearn.ensemble import BaggingClassifier

    X, y = binary
    template = HistoryClassifier().fit(X, y)
    bagging = BaggingClassifier(template, n_estimators=2, random_state=0).fit(X, y)
    assert bagging.estimator_ is template
    assert training_history(bagging) is None
    report = evaluate(bagging, X, y, output_dir=tmp_path, name="bagging")
    assert "learning_curves" not in report.figures


@SKLEARN_1_9
def test_learning_curves_from_sklearn_mlp(binary, tmp_path):
    X, y = binary
    mlp = MLPClassifier((8,), max_iter=300, early_stopping=True, random_state=0).fit(X, y)
    history = training_history(mlp)
    assert set(history) == {"loss", "val_score"}
    assert len(history["loss"]) == mlp.n_iter_
    report = evaluate(mlp, X, y, output_dir=tmp_path)
    assert_valid_png(report.figures["learning_curves"])


def test_multiclass_figures(tmp_path):
    X, y = make_classification(90, 5, n_informative=4, n_redundant=0, n_classes=4, random_state=0)
    labels = np.array(["glass", "metal", "paper", "plastic"])[y]
    clf = LogisticRegression(max_iter=500).fit(X, labels)
    report = evaluate(clf, X, labels, output_dir=tmp_path)
    assert set(report.figures) == {"confusion_matrix", "roc_curve"}
    for path in report.figures.values():
        assert_valid_png(path)
    page = report.html_path.read_text(encoding="utf-8")
    assert "plastic" in page and f"{report.metrics['roc_auc_ovr']:.4f}" in page


@pytest.mark.parametrize("shape", ["frame", "column"])
def test_labels_in_one_column_are_evaluated_as_a_vector_of_them(tmp_path, shape):
    # The report's figures failed on them ("too many indices for array") where
    # score and evaluate without output_dir took them.
    X, y = make_classification(90, 5, n_informative=4, n_redundant=0, n_classes=3, random_state=0)
    labels = np.array(["glass", "metal", "paper"])[y]
    clf = LogisticRegression(max_iter=500).fit(X, labels)
    weights = np.arange(90) % 3 + 1.0
    column = pd.DataFrame({"material": labels}) if shape == "frame" else labels[:, None]
    given = evaluate(clf, X, column, sample_weight=weights, output_dir=tmp_path / shape)
    flat = evaluate(clf, X, labels, sample_weight=weights)
    assert given.metrics == flat.metrics
    pd.testing.assert_frame_equal(given.per_class, flat.per_class)
    assert set(given.figures) == {"confusion_matrix", "roc_curve"}


def test_multilabel_figures(tmp_path):
    X, Y = make_multilabel_classification(60, 5, n_classes=3, allow_unlabeled=False,
                                          random_state=0)
    clf = KNeighborsClassifier(5).fit(X, Y)
    report = evaluate(clf, X, Y, output_dir=tmp_path)
    assert report.problem_type == "multilabel"
    assert set(report.figures) == {"confusion_matrix", "roc_curve"}
    for path in report.figures.values():
        assert_valid_png(path)


def test_classifier_without_scores_has_no_roc_figure(binary, tmp_path):
    from sklearn.svm import SVC

    X, y = binary
    clf = make_pipeline(StandardScaler(), SVC()).fit(X, y)  # decision_function only
    assert "roc_curve" in evaluate(clf, X, y, output_dir=tmp_path / "svc").figures

    report = evaluate(PredictOnly().fit(X, y), X, y, output_dir=tmp_path / "bare")
    assert set(report.figures) == {"confusion_matrix"}
    assert "roc_auc" not in report.metrics
    assert "neither predict_proba nor decision_function" in report.html_path.read_text()


def test_regression_figures(regression, tmp_path):
    X, y = regression
    report = evaluate(Ridge().fit(X, y), X, y, output_dir=tmp_path, name="house prices")
    assert set(report.figures) == {"actual_vs_predicted", "residuals"}
    for path in report.figures.values():
        assert_valid_png(path)
        assert path.name.startswith("house_prices_")
    page = report.html_path.read_text(encoding="utf-8")
    assert f"{report.metrics['rmse']:.4f}" in page and "Per class" not in page


def test_multioutput_regression_figures(tmp_path):
    X, Y = make_regression(40, 3, n_targets=3, random_state=0)
    report = evaluate(Ridge().fit(X, Y), X, Y, output_dir=tmp_path)
    assert_valid_png(report.figures["actual_vs_predicted"])
    assert "Per output" in report.html_path.read_text(encoding="utf-8")


def test_text_summary(binary, tmp_path):
    X, y = binary
    report = evaluate(HistoryClassifier().fit(X, y), X, y, output_dir=tmp_path, name="demo")
    text = str(report)
    assert text.startswith("demo: binary classification on 60 samples")
    for metric, value in report.metrics.items():
        assert re.search(rf"{metric}\s+{value:.4f}", text)
    assert "Confusion matrix" in text and "benign" in text
    assert str(report.html_path) in text and "learning_curves" in text
    assert f"{report.metrics['f1']:.2f}" in report.format(digits=2)
    assert "demo" in repr(report) and "binary" in repr(report)


def test_output_dict(regression):
    X, y = regression
    result = evaluate(Ridge().fit(X, y), X, y, output_dict=True)
    assert isinstance(result, dict)
    assert result["problem_type"] == "regression" and result["per_class"] is None
    assert set(result["metrics"]) == {"mae", "mse", "rmse", "r2", "pearson_r"}


def test_estimator_and_data_are_not_modified(binary, tmp_path):
    X, y = binary
    X_df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    y_s = pd.Series(y, name="diagnosis")
    clf = HistoryClassifier().fit(X_df, y_s)
    before = pickle.dumps(clf), X_df.copy(), y_s.copy()
    report = evaluate(clf, X_df, y_s, output_dir=tmp_path)
    assert report.metrics["accuracy"] > 0.5
    assert pickle.dumps(clf) == before[0]
    pd.testing.assert_frame_equal(X_df, before[1])
    pd.testing.assert_series_equal(y_s, before[2])


def test_unfitted_estimator_raises_not_fitted(binary, tmp_path):
    X, y = binary
    with pytest.raises(NotFittedError):
        evaluate(LogisticRegression(), X, y, output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_one_row_given_1_d_is_told_as_such():
    # Found in an audit: "inconsistent numbers of samples: [4, 1]", its 4 values
    # counted as 4 samples; 1-D text stays the samples of a text pipeline.
    from sklearn.feature_extraction.text import CountVectorizer

    X, y = make_classification(40, 4, random_state=0)
    clf = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match=r"X is 1-D \(4 values\) but y has 1 sample: .*"
                                         r"X\.reshape\(1, -1\) for a single sample"):
        evaluate(clf, X[0], y[:1])
    with pytest.raises(ValueError, match=r"X is 1-D \(4 values\) but y has 1 sample: give X "
                                         r"as rows, \[X\] for a single sample"):
        evaluate(clf, list(X[0]), [y[0]])  # (a list of numbers: one row too)
    texts = np.array(["good film", "bad film", "good", "bad"] * 5)
    labels = np.array([1, 0, 1, 0] * 5)
    pipe = make_pipeline(CountVectorizer(), LogisticRegression()).fit(texts, labels)
    assert evaluate(pipe, texts, labels).metrics["accuracy"] == 1.0
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):  # (3 documents)
        evaluate(pipe, ["11", "22", "33"], [1])
    # Lists of rows of several lengths (found in review: NumPy's "inhomogeneous
    # shape" error, where they were evaluated).
    from sklearn.feature_extraction import FeatureHasher

    tokens = [["good", "film"], ["bad"], ["good"], ["bad", "film", "ever"]] * 5
    hashed = make_pipeline(FeatureHasher(8, input_type="string"),
                           LogisticRegression()).fit(tokens, labels)
    assert evaluate(hashed, tokens, labels).n_samples == 20


@pytest.mark.parametrize("which", ["y", "sample_weight"])
def test_length_mismatch_raises_before_predict(regression, which):
    X, y = regression
    reg = CountingRidge().fit(X, y)
    CountingRidge.n_predict = 0
    kwargs = {"sample_weight": np.ones(len(y) - 1)} if which == "sample_weight" else {}
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        evaluate(reg, X, y[:-1] if which == "y" else y, **kwargs)
    assert CountingRidge.n_predict == 0


@pytest.mark.parametrize("bad, match", [
    ({"y": np.nan}, "Input y contains NaN"), ({"y": np.inf}, "Input y contains infinity"),
    ({"sample_weight": 0.0}, "sample_weight sums to zero"),
    ({"y": "n/a"}, "y holds values that are not numbers \\(e.g. 'n/a'\\)"),
])
def test_bad_targets_and_weights_of_a_regressor_are_refused_before_predict(regression, bad,
                                                                          match):
    # They were refused by scikit-learn's metrics, after a prediction pass.
    X, y = regression
    reg = CountingRidge().fit(X, y)
    CountingRidge.n_predict = 0
    y = np.where(np.arange(len(y)) == 0, bad["y"], y) if "y" in bad else y
    weights = np.full(len(y), bad["sample_weight"]) if "sample_weight" in bad else None
    with pytest.raises(ValueError, match=match):
        evaluate(reg, X, y, sample_weight=weights)
    assert CountingRidge.n_predict == 0


@pytest.mark.parametrize("columns, named", [(["price", "price"], r"\['price'\]"),
                                           ([1, "1"], r"\['1'\]")])
def test_outputs_named_twice_are_refused_before_predict(columns, named):
    # The report had two rows of one name, and to_dict() (output_dict=True,
    # log_fit) then failed, after the files were written.
    X, Y = make_regression(n_samples=40, n_features=3, n_targets=2, random_state=0)
    reg = CountingRidge().fit(X, Y)
    CountingRidge.n_predict = 0
    with pytest.raises(ValueError, match=rf"y names its columns {named} more than once"):
        evaluate(reg, X, pd.DataFrame(Y, columns=columns), output_dict=True)
    assert CountingRidge.n_predict == 0


def test_targets_of_another_shape_than_fitted_are_refused_before_predict():
    # They were refused after a whole prediction pass.
    import keras

    from keraslearn import KerasClassifier, KerasRegressor
    from keraslearn import MLPClassifier as OurMLP

    X, y = make_classification(n_samples=40, n_features=4, random_state=0)

    def build(meta):
        classes = meta.get("n_classes_")
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(
            classes or meta["n_outputs_"], activation="softmax" if classes else None)])

    one_hot = KerasClassifier(build, loss="categorical_crossentropy", epochs=1, random_state=0)
    two = KerasRegressor(build, loss="mse", epochs=1, random_state=0)
    Y3 = (np.random.default_rng(0).random((40, 3)) > 0.5).astype(int)
    with pytest.warns(ConvergenceWarning):
        multilabel = OurMLP(hidden_layer_sizes=(3,), max_iter=1, random_state=0).fit(X, Y3)
    smoothed = np.eye(2)[y] * 0.9 + 0.05  # rows of the shape, but not one-hot
    cases = [(one_hot.fit(X, np.eye(2)[y]), y, r"fitted on one-hot rows of 2 columns"),
             (one_hot, smoothed, r"fitted on one-hot rows; row 0 of y is not one \(\[0\.\d+, "
                                 r"0\.\d+\]\): each row holds one 1, the rest 0\.$"),
             (two.fit(X, np.c_[y, y]), y.astype(float), r"y has 1 column\(s\), but "
                                                        r"KerasRegressor was fitted on 2"),
             (multilabel, Y3[:, :2], r"y has 2 column\(s\), but MLPClassifier was fitted "
                                     r"on 3 output\(s\)")]
    labels = KerasClassifier(build, epochs=1, random_state=0).fit(X, y)
    cases.append((labels, np.eye(2)[y], r"y has 2 columns, but KerasClassifier was fitted "
                                        r"on one column of binary labels"))
    for est, y_wrong, match in cases:
        calls = []
        predict = est.predict
        est.predict = lambda X_, predict=predict, calls=calls: calls.append(1) or predict(X_)
        with pytest.raises(ValueError, match=match):
            evaluate(est, X, y_wrong)
        assert calls == []
    assert evaluate(one_hot, X, np.eye(2)[y]).problem_type == "binary"  # as fitted


def test_a_long_name_gives_file_names_the_file_system_takes(binary, tmp_path):
    # A 275-character name failed in savefig (File name too long), after predicting.
    X, y = binary
    clf = LogisticRegression().fit(X, y)
    name = "experiment " + "lr=0.001 batch=32 hidden=(64,32) dropout=0.2 " * 6
    evaluate(clf, X, y, output_dir=tmp_path, name=name)
    other = evaluate(clf, X, y, output_dir=tmp_path, name=name + "b")  # cut alike, told apart
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 * len(other.figures) + 2  # figures and a page each
    assert max(len(f.encode()) for f in files) < 140


def test_names_in_other_scripts_give_files_of_their_own(binary, tmp_path):
    # Every name wholly in non-Latin letters wrote the same "model_*" files: the
    # second was refused as existing (or, with overwrite=True, replaced the first).
    X, y = binary
    clf = LogisticRegression().fit(X, y)
    first = evaluate(clf, X, y, output_dir=tmp_path, name="μοντέλο")
    second = evaluate(clf, X, y, output_dir=tmp_path, name="модель")
    assert not set(first.figures.values()) & set(second.figures.values())
    assert len(list(tmp_path.iterdir())) == 2 * len(first.figures) + 2


def test_labels_no_page_or_figure_can_show_are_written_as_escapes(tmp_path):
    # A class folder named in Latin-1 ("caf\xe9"), which Python reads with a
    # surrogate, failed in matplotlib (set_text) and then in writing the UTF-8
    # page; a NUL went into the page as it was.
    rng = np.random.default_rng(0)
    labels = np.array(["caf\udce9", "t\x00ea", "שלום"])
    y = labels[np.arange(90) % 3]
    X = rng.normal(size=(90, 3)) + (np.arange(90) % 3)[:, None]
    report = evaluate(LogisticRegression().fit(X, y), X, y, output_dir=tmp_path, name="caf\udce9")
    page = report.html_path.read_text(encoding="utf-8")
    assert "caf\\xe9" in page and "t\\x00ea" in page and "\x00" not in page
    for path in report.figures.values():
        assert_valid_png(path)
    assert "caf\\xe9" in report.format() and "\udce9" not in report.format()
    assert list(report.per_class.index) == list(labels)  # the values themselves, as fitted


def test_right_to_left_labels_keep_their_rows_numbers_in_order(binary):
    # A Hebrew or Arabic label at a row's start took the row's numbers into its
    # right-to-left run: a browser showed the support under "precision".
    X, y = binary
    names = np.array(["שלום", "مرحبا"])
    y = names[(y == "malignant").astype(int)]
    report = evaluate(LogisticRegression().fit(X, y), X, y)
    pre = re.search("<pre>(.*)</pre>", report.to_html(), re.S).group(1)
    rows = [line for line in pre.split("\n") if "0." in line]
    assert any("<bdi>שלום</bdi>" in r for r in rows) and any("<bdi>مرحبا</bdi>" in r for r in rows)
    text = report.classification_report.split("\n")  # the same columns, but for the marks
    assert [html.unescape(re.sub("</?bdi>", "", line)) for line in pre.split("\n")] == text
    # A label holding a newline breaks its row: the lines are as they are.
    y = np.array(["new\nline", "plain"])[(y == "مرحبا").astype(int)]
    report = evaluate(LogisticRegression().fit(X, y), X, y)
    pre = re.search("<pre>(.*)</pre>", report.to_html(), re.S).group(1)
    assert html.unescape(re.sub("</?bdi>", "", pre)) == report.classification_report
    assert "<bdi>plain</bdi>" in pre and pre.count("new") == 1


@pytest.mark.parametrize("names", [("модель v2", "модуль v2"), ("acc>0.9", "acc<0.9")])
def test_names_differing_in_replaced_characters_give_files_of_their_own(binary, tmp_path, names):
    # Both names of a pair gave "v2_*" (or "acc_0.9_*") files: the second was
    # refused as existing, or with overwrite=True replaced the first in silence.
    X, y = binary
    clf = LogisticRegression().fit(X, y)
    first, second = (evaluate(clf, X, y, output_dir=tmp_path, name=n, overwrite=True)
                     for n in names)
    assert first.html_path != second.html_path and first.html_path.is_file()
    page = first.html_path.read_text(encoding="utf-8")
    assert f"<title>{html.escape(names[0])}: evaluation" in page
    assert second.html_path.name.startswith(("v2_", "acc_0.9_"))  # still readable


def test_named_inputs_in_a_dict_are_counted_by_rows(binary):
    # A dict X, as the wrappers take it, was counted by its keys.
    from sklearn.preprocessing import FunctionTransformer

    from keraslearn import MultiInput

    X, y = binary
    joined = FunctionTransformer(lambda d: np.hstack([d["a"], d["b"]]))
    clf = make_pipeline(joined, LogisticRegression()).fit(MultiInput(a=X[:, :2], b=X[:, 2:]), y)
    as_dict = evaluate(clf, {"a": X[:, :2], "b": X[:, 2:]}, y)
    assert as_dict.metrics == evaluate(clf, MultiInput(a=X[:, :2], b=X[:, 2:]), y).metrics
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        evaluate(clf, {"a": X[:, :2], "b": X[:, 2:]}, y[:-1])


def test_output_dir_that_is_a_file_raises_before_predict(regression, tmp_path):
    X, y = regression
    reg = CountingRidge().fit(X, y)
    CountingRidge.n_predict = 0
    a_file = tmp_path / "report.txt"
    a_file.write_text("not a directory")
    with pytest.raises(ValueError, match="not a directory"):
        evaluate(reg, X, y, output_dir=a_file)
    assert CountingRidge.n_predict == 0


def test_output_dir_below_a_file_raises_before_predict(regression, tmp_path):
    X, y = regression
    reg = CountingRidge().fit(X, y)
    CountingRidge.n_predict = 0
    (tmp_path / "notes.txt").write_text("a file of the user's")
    with pytest.raises(ValueError, match="notes.txt' is a file, not a directory"):
        evaluate(reg, X, y, output_dir=tmp_path / "notes.txt" / "report")
    assert CountingRidge.n_predict == 0
    assert (tmp_path / "notes.txt").read_text() == "a file of the user's"


def test_output_dir_where_nothing_can_be_written_raises_before_predict(regression, tmp_path):
    # It predicted every row and computed every metric first, then failed naming a
    # hidden temporary folder or the folder alone.
    X, y = regression
    reg = CountingRidge().fit(X, y)
    CountingRidge.n_predict = 0
    unwritable = tmp_path / "new" / ("x" * 300)  # a name longer than file systems take
    with pytest.raises(OSError, match=r"output_dir='.*new/x+' cannot be written: "):
        evaluate(reg, X, y, output_dir=unwritable)
    assert CountingRidge.n_predict == 0
    assert list(tmp_path.iterdir()) == []  # the folder made for the try is removed
    (tmp_path / "gone").symlink_to(tmp_path / "missing")  # a link to nothing (told "File exists")
    for below in (tmp_path / "gone", tmp_path / "gone" / "report"):
        with pytest.raises(OSError, match="cannot be written: a symbolic link on its path leads "
                                          "nowhere"):
            evaluate(reg, X, y, output_dir=below)
    (tmp_path / "gone").unlink()
    report = evaluate(reg, X, y, output_dir=tmp_path / "a" / "b")  # the check leaves nothing
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == sorted(
        [report.html_path.name, *(p.name for p in report.figures.values())])


def test_without_matplotlib_figures_are_refused_before_predict(regression, tmp_path,
                                                               monkeypatch):
    # It failed after predicting and computing every metric, with a bare
    # ModuleNotFoundError, the folder created.
    X, y = regression
    reg = CountingRidge().fit(X, y)
    CountingRidge.n_predict = 0
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'keraslearn\[plots\]'"):
        evaluate(reg, X, y, output_dir=tmp_path / "figures")
    assert CountingRidge.n_predict == 0 and not (tmp_path / "figures").exists()
    assert evaluate(reg, X, y).metrics  # without figures, matplotlib is not needed


def test_names_and_labels_are_drawn_as_given_not_as_mathtext(tmp_path):
    # "$" began mathtext, which failed to parse after the estimator predicted.
    X, y = make_classification(60, 4, n_informative=3, n_redundant=0, random_state=0)
    labels = np.array(["$10 or less", "over $10^"])[y]
    report = evaluate(LogisticRegression().fit(X, labels), X, labels, name="cost $x^$",
                      output_dir=tmp_path)
    assert set(report.figures) == {"confusion_matrix", "roc_curve"}
    for path in report.figures.values():
        assert_valid_png(path)


def test_the_confusion_matrix_of_many_classes_keeps_a_bounded_size(tmp_path):
    # Its side grew with the classes (120 classes: 6950 x 6850 pixels, 1.6 GB, 30 s).
    X = np.arange(180, dtype=float)[:, None]
    y = np.arange(180) % 60
    report = evaluate(KNeighborsClassifier(1).fit(X, y), X, y, output_dir=tmp_path)
    with Image.open(report.figures["confusion_matrix"]) as image:
        assert max(image.size) <= 1700  # 16 inches and the color bar, at 100 dpi
    assert report.confusion_matrix.shape == (60, 60)
    # 60 one-vs-rest curves: a legend of 60 names had no room (the layout failed)
    assert_valid_png(report.figures["roc_curve"])
    # The page and the text held every cell (17 MB of HTML at 1,000 classes):
    # beyond 40 classes, a sentence saying where the matrix is.
    page = report.html_path.read_text(encoding="utf-8")
    said = "60 classes, too many for a table here: see the report's confusion_matrix"
    assert said in str(report) and html.escape(said) in page
    assert page.count("<td>") < 60 * 20  # the per-class table's cells, not 60 x 60 more
    few = evaluate(KNeighborsClassifier(1).fit(X, y % 40), X, y % 40)
    assert "predicted" in str(few) and "too many" not in str(few)  # (40: still a table)


def test_one_vs_rest_curves_of_many_classes_are_drawn_without_a_legend_each(tmp_path,
                                                                          monkeypatch):
    # Each labelled curve drew the legend of every curve so far: time grew with the
    # square of the classes (200 classes: 10 s of legends, all removed at the end).
    import matplotlib.legend

    built, init = [], matplotlib.legend.Legend.__init__

    def counted(self, *args, **kwargs):
        built.append(1)
        init(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.legend.Legend, "__init__", counted)
    X = np.arange(180, dtype=float)[:, None]
    y = np.arange(180) % 60
    report = evaluate(KNeighborsClassifier(1).fit(X, y), X, y, output_dir=tmp_path)
    assert_valid_png(report.figures["roc_curve"])
    assert len(built) <= 2  # (the chance level's, on the last curve)


def _written_counts(monkeypatch):
    """The texts of the cells of every confusion matrix drawn from now on."""
    from sklearn.metrics import ConfusionMatrixDisplay

    written, plot = [], ConfusionMatrixDisplay.plot

    def recorded(self, *args, **kwargs):
        shown = plot(self, *args, **kwargs)
        written.append([t.get_text() for t in shown.text_.ravel()])
        return shown

    monkeypatch.setattr(ConfusionMatrixDisplay, "plot", recorded)
    return written


@pytest.mark.parametrize("weights, cells", [
    (None, {"20", "0"}), ("whole", {"1300", "0"}), ("fraction", {"0.05", "0"}),
    ("both", {"1500.0", "0.3", "0.0"}),  # (a cell of 1000 or more: one decimal)
])
def test_weighted_counts_are_written_whole_or_to_four_digits(tmp_path, monkeypatch, weights,
                                                             cells):
    # Weighted counts are floats: scikit-learn's ".2g" drew 1030 as "1e+03".
    written = _written_counts(monkeypatch)
    X = np.arange(40, dtype=float)[:, None]
    y = (X[:, 0] >= 20).astype(int)
    sw = {None: None, "whole": np.full(40, 65.0), "fraction": np.full(40, 0.0025),
          "both": np.where(y == 0, 75.0, 0.015)}[weights]
    evaluate(KNeighborsClassifier(1).fit(X, y), X, y, sample_weight=sw, output_dir=tmp_path)
    assert set(written[0]) == cells


def test_errors_too_small_for_the_digits_are_written_in_scientific_notation(tmp_path):
    # Targets of ~1e-4: mae, mse and rmse were all written 0.0000.
    X, y = make_regression(60, 3, noise=5.0, random_state=0)
    y = y * 1e-6
    report = evaluate(Ridge().fit(X, y), X, y, output_dir=tmp_path)
    mse = report.metrics["mse"]
    assert 0 < mse < 5e-5
    written = f"{mse:.3e}"
    assert written in str(report) and written in report.to_html()
    assert f"{report.metrics['r2']:.4f}" in str(report)  # (others as before)


def test_long_class_names_are_drawn_cut_and_kept_whole_in_the_tables(tmp_path, monkeypatch):
    # Names of ~50 characters shrank the confusion matrix's axes to a corner and
    # the ROC legend over the curves.
    from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay

    drawn, names = [], []
    plot, roc = ConfusionMatrixDisplay.plot, RocCurveDisplay.from_predictions
    monkeypatch.setattr(ConfusionMatrixDisplay, "plot", lambda self, **kw: (
        drawn.append(list(self.display_labels)), plot(self, **kw))[1])
    monkeypatch.setattr(RocCurveDisplay, "from_predictions", classmethod(
        lambda cls, *a, **kw: (names.append(kw["name"]), roc(*a, **kw))[1]))
    long = [f"Passenger vehicle, kind {k}: sedan or hatchback, four doors" for k in "ABC"]
    X = np.arange(60, dtype=float)[:, None]
    y = np.array(long)[np.arange(60) % 3]
    report = evaluate(KNeighborsClassifier(1).fit(X, y), X, y, output_dir=tmp_path)
    cut = [f"Passenger vehicle, kind {k}: ..." for k in "ABC"]
    assert drawn == [cut] and names == [f"{c} vs rest" for c in cut]
    assert list(report.per_class.index) == long  # the table's names whole
    # names alike in their first 27 characters are numbered, to be told apart
    drawn.clear()
    y = np.array([f"Passenger vehicle, four doors, kind {k}" for k in "ABC"])[np.arange(60) % 3]
    evaluate(KNeighborsClassifier(1).fit(X, y), X, y, output_dir=tmp_path, overwrite=True)
    assert drawn == [[f"{i}: Passenger vehicle, four doo..." for i in range(3)]]


def test_names_that_would_read_alike_on_a_figure_are_numbered():
    # Found in an audit: "a" and "a ", an accent's two Unicode spellings, and an
    # empty name were drawn unnumbered: two rows of the matrix read the same.
    from keraslearn.evaluation._plots import _drawn

    for labels in (["a", "a "], ["caf\u00e9", "cafe\u0301"], ["", "x"], ["a", "a\u200b"],
                   ["a b", "a  b"]):
        assert _drawn(labels) == [f"{i}: {label}" for i, label in enumerate(labels)]
    assert _drawn(["cat", "dog", "caf\u00e9"]) == ["cat", "dog", "caf\u00e9"]


def test_one_vs_rest_curves_leave_out_a_class_of_no_weight_and_name_their_axes(
        tmp_path, monkeypatch):
    # A class whose samples all weigh 0 was drawn as "dog vs rest (AUC = nan)",
    # and every axis read "(Positive label: 1)" whatever the classes.
    from sklearn.metrics import RocCurveDisplay

    from keraslearn.evaluation import _plots

    names, labels = [], []
    roc, save = RocCurveDisplay.from_predictions, _plots._save
    monkeypatch.setattr(RocCurveDisplay, "from_predictions", classmethod(
        lambda cls, *a, **kw: (names.append(kw["name"]), roc(*a, **kw))[1]))
    monkeypatch.setattr(_plots, "_save", lambda fig, path: (
        labels.append([(ax.get_xlabel(), ax.get_ylabel()) for ax in fig.axes]),
        save(fig, path))[1])
    X = np.arange(60, dtype=float)[:, None]
    y = np.array(["bird", "cat", "dog"])[np.arange(60) % 3]
    weight = np.where(y == "dog", 0.0, 1.0)
    clf = LogisticRegression().fit(X, y)
    with warnings.catch_warnings():  # (scikit-learn's, of a class weighing nothing)
        warnings.simplefilter("ignore")
        report = evaluate(clf, X, y, sample_weight=weight, output_dir=tmp_path)
    assert names == ["bird vs rest", "cat vs rest"]
    assert [("False Positive Rate", "True Positive Rate")] in labels
    assert "roc_curve" in report.figures


def test_figures_of_many_labels_or_outputs_show_the_first_twelve(tmp_path):
    # One panel each: 30 labels made a figure 32 inches tall (the table holds them all).
    from sklearn.linear_model import LinearRegression

    X, Y = make_multilabel_classification(90, 5, n_classes=30, random_state=0)
    labels = evaluate(KNeighborsClassifier(3).fit(X, Y), X, Y, output_dir=tmp_path,
                      zero_division=0.0)
    X, Y = make_regression(60, 4, n_targets=20, random_state=0)
    outputs = evaluate(LinearRegression().fit(X, Y), X, Y, output_dir=tmp_path)
    for path, height in ((labels.figures["confusion_matrix"], 3.2 * 4),
                         (outputs.figures["residuals"], 4.2 * 4)):
        with Image.open(path) as image:
            assert image.size[1] <= height * 100  # 4 rows of 3 panels, at 100 dpi
    assert labels.per_class.shape[0] == 30 and outputs.per_output.shape[0] == 20


@pytest.mark.parametrize("weights, match", [
    (lambda n: np.ones((n, 2)), "1-D"),
    (lambda n: -np.ones(n), "non-negative"),
])
def test_bad_sample_weight(regression, weights, match):
    X, y = regression
    with pytest.raises(ValueError, match=match):
        evaluate(Ridge().fit(X, y), X, y, sample_weight=weights(len(y)))


def test_empty_input_raises(regression):
    X, y = regression
    with pytest.raises(ValueError, match="0 samples"):
        evaluate(Ridge().fit(X, y), X[:0], y[:0])


def test_import_stays_light():
    code = ("import sys, keraslearn.evaluation; "
            "heavy = [m for m in ('matplotlib', 'tensorflow', 'keras') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_evaluating_a_scikit_learn_estimator_does_not_start_tensorflow():
    # found in an audit: evaluate read labels through keraslearn's estimator
    # machinery, which started TensorFlow (seconds) for a LogisticRegression
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        from keraslearn.evaluation import evaluate
        X = np.random.default_rng(0).normal(size=(30, 2))
        y = np.where(X[:, 0] > 0, "yes", "no")
        report = evaluate(LogisticRegression().fit(X, y), X, y)
        assert report.metrics["accuracy"] > 0.8, report.metrics
        heavy = [m for m in ('tensorflow', 'keras') if m in sys.modules]
        assert not heavy, heavy
    """)
    subprocess.run([sys.executable, "-c", code], check=True)


def test_existing_files_are_refused_unless_overwrite(regression, tmp_path):
    X, y = regression
    reg = CountingRidge().fit(X, y)
    first = evaluate(reg, X, y, output_dir=tmp_path, name="model A")
    written = {p: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(written) == {*first.figures.values(), first.html_path}
    CountingRidge.n_predict = 0
    # Another name giving the same file names ("model_A") is refused as well,
    # before any prediction, and the first evaluation's files are untouched.
    for name in ("model A", "model_A"):
        with pytest.raises(FileExistsError, match="model_A_.*overwrite=True"):
            evaluate(reg, X, y, output_dir=tmp_path, name=name)
    assert CountingRidge.n_predict == 0
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == written
    # overwrite=True replaces them; the HTML page now names the new model.
    again = evaluate(reg, X, y, output_dir=tmp_path, name="model_A", overwrite=True)
    assert again.html_path == first.html_path and again.figures == first.figures
    assert "model_A" in again.html_path.read_text(encoding="utf-8")
    assert "model A" not in again.html_path.read_text(encoding="utf-8")


def test_overwrite_leaves_no_figure_of_the_replaced_evaluation(binary, regression, tmp_path):
    # A classifier's report replaced by a regressor's under the same name: its
    # ROC and confusion figures would otherwise sit beside the new report.
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "other_roc_curve.png").write_bytes(b"another report's")
    X, y = binary
    first = evaluate(LogisticRegression().fit(X, y), X, y, output_dir=tmp_path, name="m")
    Xr, yr = regression
    again = evaluate(Ridge().fit(Xr, yr), Xr, yr, output_dir=tmp_path, name="m", overwrite=True)
    assert set(first.figures) - set(again.figures)  # figures only the classifier draws
    assert set(tmp_path.iterdir()) == {*again.figures.values(), again.html_path,
                                       tmp_path / "notes.txt", tmp_path / "other_roc_curve.png"}
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_overwrite_never_replaces_a_directory(regression, tmp_path):
    X, y = regression
    (tmp_path / "ridge_report.html").mkdir()
    with pytest.raises(FileExistsError, match="not a regular file"):
        evaluate(Ridge().fit(X, y), X, y, output_dir=tmp_path, name="ridge", overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["ridge_report.html"]


def test_evaluations_in_threads_leave_matplotlib_s_settings_as_they_were(tmp_path):
    # Each figure is drawn with mathtext off (names holding "$"): the contexts of
    # several threads overlapped, each restoring what another had saved, and
    # rcParams["text.parse_math"] stayed False for the user's own figures after.
    from concurrent.futures import ThreadPoolExecutor

    import matplotlib

    X, y = make_classification(n_samples=120, n_features=4, random_state=0)
    clf = LogisticRegression().fit(X, y)
    assert matplotlib.rcParams["text.parse_math"] is True
    with ThreadPoolExecutor(4) as pool:
        reports = list(pool.map(lambda i: evaluate(clf, X, y, output_dir=tmp_path,
                                                   name=f"thread{i}"), range(8)))
    assert matplotlib.rcParams["text.parse_math"] is True
    assert all(report.figures for report in reports)


def test_an_interrupted_evaluation_leaves_no_files_to_refuse_the_next(tmp_path, monkeypatch):
    # Figures were written one by one: those drawn stayed, and the next try was
    # refused as "already exists".
    import keraslearn.evaluation._evaluate as evaluating

    X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    clf = LogisticRegression().fit(X, y)
    drawn = evaluating.draw_figures

    def interrupted(estimator, evaluation, paths, *args, **kwargs):
        drawn(estimator, evaluation, paths, *args, **kwargs)  # every figure written...
        raise KeyboardInterrupt  # ... and the page not

    with monkeypatch.context() as patch:
        patch.setattr(evaluating, "draw_figures", interrupted)
        with pytest.raises(KeyboardInterrupt):
            evaluate(clf, X, y, output_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert evaluate(clf, X, y, output_dir=tmp_path).figures
    # Replacing it (overwrite=True): the new figures were drawn over the old ones
    # one by one, and the old page stood beside them.
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with monkeypatch.context() as patch:
        patch.setattr(evaluating, "draw_figures", interrupted)
        with pytest.raises(KeyboardInterrupt):
            evaluate(clf, X[:40], y[:40], output_dir=tmp_path, overwrite=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    # Into folders it made: they were left behind, empty.
    with monkeypatch.context() as patch:
        patch.setattr(evaluating, "draw_figures", interrupted)
        with pytest.raises(KeyboardInterrupt):
            evaluate(clf, X, y, output_dir=tmp_path / "reports" / "run1")
    assert {p.name for p in tmp_path.iterdir()} == set(before)


@pytest.mark.parametrize("nth", [1, 2])
def test_a_replaced_report_interrupted_among_its_renames_is_the_old_one_whole(
        tmp_path, monkeypatch, nth):
    # found in an audit: a Ctrl-C after the first of the new files was moved into
    # place left it beside the old report's other files
    import os

    X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    clf = LogisticRegression().fit(X, y)
    evaluate(clf, X, y, output_dir=tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    replace, placed = os.replace, []

    def interrupted_after(src, dst):
        replace(src, dst)
        placed.append(dst)
        if len(placed) == nth:
            raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", interrupted_after)
        with pytest.raises(KeyboardInterrupt):
            evaluate(clf, X[:40], y[:40], output_dir=tmp_path, overwrite=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_overwrite_keeps_a_private_report_private_and_takes_only_a_bool(tmp_path):
    # A replaced report's files became readable by all (0o644); overwrite="False",
    # as a configuration file gives it, is true: the files were replaced.
    import stat

    X, y = make_classification(n_samples=80, n_features=4, random_state=0)
    clf = LogisticRegression().fit(X, y)
    first = evaluate(clf, X, y, output_dir=tmp_path, name="m")
    for path in (*first.figures.values(), first.html_path):
        path.chmod(0o600)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for flag in ("False", "no", 0, None):
        with pytest.raises(TypeError, match=rf"overwrite must be True or False, got {flag!r}"):
            evaluate(clf, X, y, output_dir=tmp_path, name="m", overwrite=flag)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    again = evaluate(clf, X[:40], y[:40], output_dir=tmp_path, name="m", overwrite=True)
    assert {stat.S_IMODE(p.stat().st_mode) for p in (*again.figures.values(),
                                                     again.html_path)} == {0o600}



def test_a_shorthand_metric_s_curves_share_one_panel(tmp_path):
    # Found in an audit: history_ names metrics=["mse"] in full, as scikeras
    # does, where Keras' validation key keeps "val_mse": the figure drew
    # "mean_squared_error" (train) and "mse" (validation) in two panels.
    from keraslearn import KerasRegressor
    from keraslearn.evaluation._plots import curve_groups

    X, y = make_regression(60, 3, random_state=0)
    reg = KerasRegressor(_regression_net, loss="mse", metrics=["mse", "mae"], epochs=2,
                         validation_split=0.25, random_state=0).fit(X, y)
    assert {"mean_squared_error", "val_mse"} <= set(reg.history_)
    assert curve_groups(reg.history_) == {
        "loss": {"train": "loss", "validation": "val_loss"},
        "mean_squared_error": {"train": "mean_squared_error", "validation": "val_mse"},
        "mean_absolute_error": {"train": "mean_absolute_error", "validation": "val_mae"}}
    # an output's metric, in a model of several (Keras' "val_out_mse")
    two = {"loss": [1.0], "out_mean_squared_error": [1.0], "val_out_mse": [1.0], "val_x": [1.0]}
    assert curve_groups(two) == {
        "loss": {"train": "loss"}, "x": {"validation": "val_x"},
        "out_mean_squared_error": {"train": "out_mean_squared_error",
                                   "validation": "val_out_mse"}}
    report = evaluate(reg, X, y, output_dir=tmp_path)
    assert_valid_png(report.figures["learning_curves"])


def _regression_net(meta):
    import keras

    return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(1)])
