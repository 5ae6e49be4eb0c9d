"""Paths starting with ``~`` name the home folder, wherever keraslearn takes a path.

A literal ``~`` folder was made in the working directory by the writers that
create folders (evaluate, drift_report, the image folder's cache, the demo
image folder), while save and export refused the same path.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

import keraslearn
from keraslearn import MLPClassifier
from keraslearn.datasets import load_image_folder, make_digits_image_folder
from keraslearn.evaluation import evaluate
from keraslearn.monitoring import DriftDetector, drift_report


@pytest.fixture
def home(tmp_path, monkeypatch):
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.chdir(tmp_path)  # where a literal "~" folder would appear
    yield folder
    assert not (tmp_path / "~").exists()


@pytest.fixture(scope="module")
def fitted():
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    return MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, y), X, y


def test_save_load_and_export_read_the_home_folder(home, fitted):
    clf, X, _ = fitted
    path = keraslearn.save(clf, "~/clf.keraslearn")
    assert path == home / "clf.keraslearn" and path.is_file()
    assert keraslearn.get_untrusted_types("~/clf.keraslearn") == []
    np.testing.assert_array_equal(keraslearn.load("~/clf.keraslearn").predict(X), clf.predict(X))
    exported = keraslearn.export(clf, "~/exported")
    assert exported == home / "exported" and (exported / "saved_model.pb").is_file()
    from keraslearn.serving import ExportedModel

    assert ExportedModel("~/exported").predict(X[:3]).shape == (3,)


def test_reports_go_to_the_home_folder(home, fitted):
    clf, X, y = fitted
    report = evaluate(clf, X, y, output_dir="~/reports", name="clf")
    assert report.html_path == home / "reports" / "clf_report.html"
    frame = pd.DataFrame(X, columns=list("abcd"))
    detector = DriftDetector(random_state=0).fit(frame)
    drift = drift_report(detector, frame, output_dir="~/drift")
    assert drift.html_path.parent == home / "drift" and drift.html_path.is_file()


def test_image_folders_and_their_cache_go_to_the_home_folder(home):
    folder = make_digits_image_folder("~/digits", max_per_class=2, image_size=8)
    assert folder == home / "digits"
    X, _ = load_image_folder("~/digits", target_size=(8, 8), cache="~/cache/digits.npz")
    assert X.shape[0] == len(list(folder.rglob("*.png")))
    assert (home / "cache" / "digits.npz").is_file()


def test_a_name_starting_with_a_tilde_is_a_name_in_the_working_folder(tmp_path, monkeypatch,
                                                                      fitted):
    # "~draft" is no home folder (no user "draft"): pathlib raised "Could not
    # determine home directory" in save, load, export, evaluate and the image
    # folders; a shell, pandas and joblib take it as a name.
    clf, X, y = fitted
    monkeypatch.chdir(tmp_path)
    path = keraslearn.save(clf, "~draft.keraslearn")
    assert path.resolve() == (tmp_path / "~draft.keraslearn").resolve() and path.is_file()
    np.testing.assert_array_equal(keraslearn.load("~draft.keraslearn").predict(X), clf.predict(X))
    report = evaluate(clf, X, y, output_dir="~reports", name="clf")
    assert report.html_path.resolve() == (tmp_path / "~reports" / "clf_report.html").resolve()
    folder = make_digits_image_folder("~digits", max_per_class=2, image_size=8)
    assert (tmp_path / "~digits").is_dir() and folder.resolve() == (tmp_path / "~digits").resolve()


def test_a_report_written_to_a_relative_folder_reads_after_a_change_of_folder(
        tmp_path, monkeypatch, fitted):
    # Found in an audit: its figures kept relative paths, so to_html (which
    # embeds them) failed after os.chdir.
    clf, X, y = fitted
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    report = evaluate(clf, X, y, output_dir="reports", name="clf")
    frame = pd.DataFrame(X, columns=list("abcd"))
    drift = drift_report(DriftDetector(random_state=0).fit(frame), frame, output_dir="drift")
    monkeypatch.chdir(tmp_path / "elsewhere")
    for written, folder in ((report, "reports"), (drift, "drift")):
        assert written.html_path.parent == tmp_path / folder and written.figures
        assert "<img" in written.to_html()
