"""Types not trusted by default are refused and listed; ``trusted=`` lets them in."""

import io
import json

import numpy as np
import pytest
import skops.io
from _saved_cases import LABELS, X, members, zipped
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import keraslearn
from keraslearn import MLPClassifier
from keraslearn._persistence import _archive
from keraslearn.monitoring import DriftDetector
from versions import SKLEARN_1_8


class Doubler(TransformerMixin, BaseEstimator):
    """A transformer of the user's own: its type is not trusted by default."""

    def fit(self, X, y=None):
        self.n_features_in_ = np.shape(X)[1]
        return self

    def transform(self, X):
        return np.asarray(X) * 2


DOUBLER = f"{__name__}.Doubler"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    pipe = make_pipeline(Doubler(), MLPClassifier(hidden_layer_sizes=(3,), max_iter=2,
                                                  random_state=0)).fit(X, LABELS)
    return pipe, keraslearn.save(pipe, tmp_path_factory.mktemp("trust") / "pipe.keraslearn")


def test_untrusted_type_is_listed(saved):
    _, path = saved
    assert keraslearn.get_untrusted_types(path) == [DOUBLER]


def test_untrusted_type_is_refused_with_the_list_and_the_way_out(saved):
    _, path = saved
    with pytest.raises(ValueError) as error:
        keraslearn.load(path)
    message = str(error.value)
    assert f"[{DOUBLER!r}]" in message
    assert "trusted=[...]" in message and "get_untrusted_types(path)" in message


@pytest.mark.parametrize("trusted", [[DOUBLER], [Doubler], (DOUBLER, "other.Type")])
def test_trusted_types_load(saved, trusted):
    pipe, path = saved
    loaded = keraslearn.load(path, trusted=trusted)
    assert isinstance(loaded[0], Doubler)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


@pytest.mark.parametrize("trusted", [DOUBLER, Doubler, [3]])
def test_trusted_must_be_a_list_of_names_or_types(saved, trusted):
    _, path = saved
    with pytest.raises(TypeError, match="trusted"):
        keraslearn.load(path, trusted=trusted)


def test_defaults_trust_keraslearn_and_its_libraries(tmp_path):
    detector = DriftDetector(random_state=0).fit(X)
    path = keraslearn.save(detector, tmp_path / "detector.keraslearn")
    assert keraslearn.get_untrusted_types(path) == []
    restored = keraslearn.load(path)
    assert restored.test(X[:30]).equals(detector.test(X[:30]))


class OwnDetector(BaseEstimator):
    """A drift detector of the user's own."""

    def test(self, X):
        return None


def test_untrusted_drift_detector_is_refused_too(tmp_path):
    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, LABELS)
    path = keraslearn.save(clf, tmp_path / "watched.keraslearn", drift_detector=OwnDetector())
    assert keraslearn.get_untrusted_types(path) == [f"{__name__}.OwnDetector"]
    with pytest.raises(ValueError, match="OwnDetector"):
        keraslearn.load(path, return_drift_detector=True)
    _, detector = keraslearn.load(path, trusted=[OwnDetector], return_drift_detector=True)
    assert isinstance(detector, OwnDetector)


def test_a_keraslearn_function_is_code_and_is_refused(tmp_path):
    """Only keraslearn's classes are trusted, by their exact names: a function
    of the package (here one that writes files) is code, as skops says."""
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's data")
    pipe = make_pipeline(FunctionTransformer(), LogisticRegression()).fit(X, LABELS)
    # Swapped in after fit: it would save X over the victim file at predict.
    step = FunctionTransformer(keraslearn.save, kw_args={"path": str(victim), "overwrite": True})
    pipe.steps[0] = ("functiontransformer", step.fit(X))
    path = keraslearn.save(pipe, tmp_path / "pipe.keraslearn")
    assert keraslearn.get_untrusted_types(path) == ["keraslearn._persistence._api.save"]
    with pytest.raises(ValueError, match=r"keraslearn\._persistence\._api\.save"):
        keraslearn.load(path)
    assert victim.read_text() == "the user's data"


def test_a_name_reaching_through_a_keraslearn_module_is_refused(tmp_path):
    """A crafted file naming pickle.loads as a method of the pickle module a
    keraslearn module imports (``keraslearn.<module>.pickle.loads``)."""
    fitted = FunctionTransformer(np.negative).fit(X)
    files = _skops_files(fitted)
    schema = json.loads(files["schema.json"])
    via = {"__class__": "pickle", "__module__": "keraslearn._engine._keras_objects",
           "__loader__": "FunctionNode"}
    schema["content"]["content"]["func"] = {
        "__class__": "pickle", "__module__": "keraslearn._engine._keras_objects",
        "__loader__": "MethodNode", "content": {"func": "loads", "obj": via}}
    files["schema.json"] = json.dumps(schema).encode()
    path = tmp_path / "crafted.keraslearn"
    manifest = {"format": "keraslearn", "format_version": 1, "versions": _archive.versions(),
                "object": {"member": "object.skops", "type": "x"}, "drift_detector": None,
                "networks": [], "code_references": [], "unstored_parameters": []}
    _archive.write(path, manifest, {"object.skops": zipped(files)})
    untrusted = keraslearn.get_untrusted_types(path)
    assert "keraslearn._engine._keras_objects.pickle.loads" in untrusted
    with pytest.raises(ValueError, match="refused this file"):
        keraslearn.load(path)


def _skops_files(obj):
    return members(io.BytesIO(skops.io.dumps(obj)))


def test_experimental_estimators_are_trusted_where_they_were_never_enabled(tmp_path):
    # skops trusts the estimators scikit-learn lists, and scikit-learn lists its
    # experimental ones only once enabled: a file saved where they were (always,
    # as they were fitted there) was refused where they are not (keraslearn
    # serve, an MLflow worker), and _ImputerTriplet was refused everywhere.
    import subprocess
    import sys

    from sklearn.experimental import enable_halving_search_cv, enable_iterative_imputer  # noqa
    from sklearn.impute import IterativeImputer
    from sklearn.model_selection import HalvingGridSearchCV

    holes = X.copy()
    holes[::5, 0] = np.nan
    pipe = make_pipeline(IterativeImputer(max_iter=2, random_state=0), LogisticRegression())
    search = HalvingGridSearchCV(pipe, {"logisticregression__C": [0.1, 1.0]}, cv=2,
                                 random_state=0).fit(holes, LABELS)
    path = keraslearn.save(search, tmp_path / "search.keraslearn")
    assert keraslearn.get_untrusted_types(path) == []
    code = ("import sys, numpy as np, keraslearn; "
            "print(keraslearn.get_untrusted_types(sys.argv[1])); "
            "rows = np.load(sys.argv[3]); "
            "np.save(sys.argv[2], keraslearn.load(sys.argv[1]).predict_proba(rows))")
    np.save(tmp_path / "rows.npy", holes[:20])
    run = subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "out.npy"),
                          str(tmp_path / "rows.npy")], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "[]"
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), search.predict_proba(holes[:20]))


def test_keraslearns_public_target_transformers_are_trusted(tmp_path):
    # TargetReshaper, public beside the two encoders, was refused by load.
    from keraslearn.utils.transformers import (
        ClassifierLabelEncoder,
        RegressorTargetEncoder,
        TargetReshaper,
    )

    y = np.array([1.0, 2.0, 3.0])
    for i, fitted in enumerate((TargetReshaper().fit(y), RegressorTargetEncoder().fit(y),
                                ClassifierLabelEncoder().fit(LABELS))):
        path = keraslearn.save(fitted, tmp_path / f"{i}.keraslearn")
        assert keraslearn.get_untrusted_types(path) == []
        assert type(keraslearn.load(path)) is type(fitted)


@pytest.mark.parametrize("method", ["sigmoid", "isotonic",
                                    pytest.param("temperature", marks=SKLEARN_1_8)])
def test_a_calibrated_network_loads_without_naming_scikit_learns_records(tmp_path, method):
    # CalibratedClassifierCV's fitted records (_CalibratedClassifier,
    # _SigmoidCalibration) were refused: load asked for them in trusted=.
    from sklearn.calibration import CalibratedClassifierCV

    calibrated = CalibratedClassifierCV(
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0), method=method,
        cv=2).fit(X, LABELS)
    path = keraslearn.save(calibrated, tmp_path / "calibrated.keraslearn")
    assert keraslearn.get_untrusted_types(path) == []
    np.testing.assert_array_equal(keraslearn.load(path).predict_proba(X),
                                  calibrated.predict_proba(X))


def test_searches_scored_by_any_of_scikit_learns_scorer_names_load(tmp_path):
    # Scorers named by string hold scikit-learn's metric functions (the
    # likelihood-ratio ones, functions of its private scorer module); one of the
    # user's own stays refused.
    from sklearn.metrics import fbeta_score, make_scorer
    from sklearn.model_selection import GridSearchCV

    y = (X[:, 0] > 0).astype(int)
    scoring = {"plr": "positive_likelihood_ratio", "nlr": "neg_negative_likelihood_ratio",
               "auc": "roc_auc", "f2": make_scorer(fbeta_score, beta=2)}
    search = GridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=2, scoring=scoring,
                          refit="auc").fit(X, y)
    path = keraslearn.save(search, tmp_path / "search.keraslearn")
    assert keraslearn.get_untrusted_types(path) == []
    assert keraslearn.load(path).score(X, y) == search.score(X, y)
    own = GridSearchCV(LogisticRegression(), {"C": [1.0]}, cv=2,
                       scoring=make_scorer(_own_score)).fit(X, y)
    path = keraslearn.save(own, tmp_path / "own.keraslearn")
    assert keraslearn.get_untrusted_types(path) == [f"{__name__}._own_score"]


def _own_score(y_true, y_pred):
    return float(np.mean(y_true == y_pred))


def test_a_tuned_threshold_and_fitted_sparse_data_load_without_naming_them(tmp_path):
    # TunedThresholdClassifierCV's scorer (_CurveScorer, with scikit-learn's
    # metadata-request records) and the csr_matrix of a model fitted on sparse
    # X (SMOTE's neighbours on text features) were refused by default.
    import scipy.sparse
    from sklearn.model_selection import TunedThresholdClassifierCV
    from sklearn.neighbors import KNeighborsClassifier

    y = (X[:, 0] > 0).astype(int)
    tuned = TunedThresholdClassifierCV(
        MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0),
        scoring="balanced_accuracy", cv=2).fit(X, y)
    sparse = {fmt: KNeighborsClassifier(1).fit(getattr(scipy.sparse, fmt)(X), y)
              for fmt in ("csr_matrix", "csc_array")}
    for name, fitted in [("tuned", tuned), *sparse.items()]:
        path = keraslearn.save(fitted, tmp_path / f"{name}.keraslearn")
        assert keraslearn.get_untrusted_types(path) == [], name
        np.testing.assert_array_equal(keraslearn.load(path).predict(X), fitted.predict(X))
