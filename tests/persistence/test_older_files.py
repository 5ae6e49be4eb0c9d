"""Files written by an earlier keraslearn: an estimator pickled or saved before
one of its parameters existed loads with that parameter's default; a file naming
a class keraslearn has since renamed is refused saying so."""

import hashlib
import io
import json
import pickle
import re
import zipfile

import numpy as np
import pytest
from _saved_cases import LABELS, X

import keraslearn
from builders import tiny_mlp
from keraslearn import KerasClassifier, MLPClassifier, MLPRegressor
from keraslearn._persistence._trust import UntrustedTypesError
from keraslearn.serving._cli import main


def _as_if_written_before(est, *missing):
    """The estimator as unpickling a file written before ``missing`` existed
    leaves it: pickle calls ``__setstate__`` with the state that file held."""
    state = pickle.loads(pickle.dumps(est)).__getstate__()
    for name in missing:
        del state[name]
    older = type(est).__new__(type(est))
    older.__setstate__(state)
    return older


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("make, missing", [
    (lambda: MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0),
     ("callbacks", "device")),
    (lambda: KerasClassifier(tiny_mlp, epochs=2, verbose=0, random_state=0),
     ("device", "distribute")),
])
def test_a_parameter_added_since_takes_its_default(make, missing, tmp_path):
    est = make()
    y = LABELS if isinstance(est, KerasClassifier) else np.arange(len(X), dtype=float)
    est.fit(X, y)
    older = _as_if_written_before(est, *missing)
    defaults = make().get_params()
    assert {name: older.get_params()[name] for name in missing} == {
        name: defaults[name] for name in missing}
    np.testing.assert_array_equal(older.predict(X), est.predict(X))
    assert repr(older) == repr(est)
    older.partial_fit(X, y)  # trains on, and saves as a file of today
    keraslearn.save(older, tmp_path / "again.keraslearn")
    again = keraslearn.load(tmp_path / "again.keraslearn", trusted=["builders.tiny_mlp"])
    np.testing.assert_array_equal(again.predict(X), older.predict(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("make", [
    lambda: KerasClassifier(tiny_mlp, epochs=2, verbose=0, random_state=0),
    lambda: MLPClassifier(hidden_layer_sizes=(3,), dropout=0.2, max_iter=2, random_state=0),
])
def test_a_file_written_before_seed_states_were_kept_loads(make):
    # Networks without a seed generator failed to load (KeyError: 'model_').
    est = make().fit(X, LABELS)
    state = est.__getstate__()
    older = _as_if_written_before(est, *[name for name in ("_seed_states", "_built_with")
                                         if name in state])
    np.testing.assert_array_equal(older.predict(X), est.predict(X))
    older.partial_fit(X, LABELS)


def _renamed(path, target, old, new, version="0.0.9"):
    """``path`` rewritten as a keraslearn whose class ``new`` was called ``old``
    (module, class) wrote it: the names in its skops document and the manifest's
    record of that member."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(io.BytesIO(members["object.skops"])) as inner:
        documents = {name: inner.read(name) for name in inner.namelist()}
    schema = documents["schema.json"].decode()
    for before, after in zip(old, new):
        assert f'"{after}"' in schema
        schema = schema.replace(f'"{after}"', f'"{before}"')
    documents["schema.json"] = schema.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as inner:
        for name, data in documents.items():
            inner.writestr(name, data)
    members["object.skops"] = buffer.getvalue()
    manifest = json.loads(members["manifest.json"])
    manifest["members"]["object.skops"] = {
        "size": len(buffer.getvalue()), "sha256": hashlib.sha256(buffer.getvalue()).hexdigest()}
    manifest["versions"]["keraslearn"] = version
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def _with_a_renamed_class(tmp_path, version):
    """A classifier's file as the keraslearn ``version`` wrote it, whose label
    encoder was then named ``keraslearn._engine._targets.ClassifierTargetEncoder``."""
    clf = MLPClassifier(hidden_layer_sizes=(2,), max_iter=1, random_state=0)
    with pytest.warns(Warning):
        clf.fit(X, LABELS)
    path = keraslearn.save(clf, tmp_path / "today.keraslearn")
    return _renamed(path, tmp_path / f"{version}.keraslearn",
                    ("keraslearn._engine._targets", "ClassifierTargetEncoder"),
                    ("keraslearn._engine._label_encoder", "ClassifierLabelEncoder"), version)


def test_a_class_renamed_since_is_refused_naming_the_version(tmp_path, capsys):
    older = _with_a_renamed_class(tmp_path, "0.0.9")
    with pytest.raises(UntrustedTypesError) as info:
        keraslearn.load(older)
    assert info.value.types == ["keraslearn._engine._targets.ClassifierTargetEncoder"]
    assert ("['keraslearn._engine._targets.ClassifierTargetEncoder'] are names inside "
            "keraslearn that the files of this keraslearn") in str(info.value)
    assert "written by another version (it records keraslearn 0.0.9)" in str(info.value)
    with pytest.raises(SystemExit):  # keraslearn serve says it too
        main(["serve", str(older)])
    error = capsys.readouterr().err
    assert "--trusted TYPE. Of them," in error and "keraslearn 0.0.9" in error
    # A type of the user's own is refused as before, with nothing about versions.
    assert "another version" not in str(UntrustedTypesError(["mymodule.Thing"]))
    # re-raised from a worker process, it says the same (its message was read as types)
    raised = UntrustedTypesError(info.value.types, "0.0.9")
    assert str(pickle.loads(pickle.dumps(raised))) == str(raised) == str(info.value)


def test_a_class_renamed_since_and_trusted_is_refused_naming_the_version(tmp_path):
    # Trusting the name, as the refusal's first sentence says to, gave skops'
    # "object.skops cannot be rebuilt (AttributeError: ...)", without the version.
    older = _with_a_renamed_class(tmp_path, "0.0.9")
    name = "keraslearn._engine._targets.ClassifierTargetEncoder"
    with pytest.raises(ValueError, match=re.escape(
            f"cannot load this file, trusted or not: ['{name}'] are names inside keraslearn "
            "that the files of this keraslearn")) as info:
        keraslearn.load(older, trusted=[name])
    assert "written by another version (it records keraslearn 0.0.9)" in str(info.value)
    assert not isinstance(info.value, UntrustedTypesError)


def test_a_keraslearn_name_needing_a_package_not_installed_is_not_told_as_removed(monkeypatch):
    # found in review: its module's ImportError (mlflow missing) read as "this
    # keraslearn lacks it", a class renamed or removed by another version
    import sys

    import keraslearn.tracking
    from keraslearn._persistence._trust import _found

    monkeypatch.delitem(sys.modules, "keraslearn.tracking._pyfunc", raising=False)
    monkeypatch.delattr(keraslearn.tracking, "_pyfunc", raising=False)  # (imported before)
    monkeypatch.setitem(sys.modules, "mlflow", None)
    assert _found("keraslearn.tracking._pyfunc.PyfuncModel")
    assert not _found("keraslearn.tracking._no_such_module.Thing")
    assert not _found("keraslearn.neural_network._mlp.NoSuchClass")


def test_a_class_from_a_newer_version_says_to_upgrade(tmp_path):
    # A newer keraslearn's class was told as one "this one renamed or removed".
    newer = _with_a_renamed_class(tmp_path, "99.0")
    with pytest.raises(UntrustedTypesError) as info:
        keraslearn.load(newer)
    message = str(info.value)
    assert "written by another version (it records keraslearn 99.0)" in message
    assert "this one does not have yet; upgrade keraslearn to load it." in message
    assert "renamed or removed" not in message
    # A version text that is not one is told as an older file's.
    assert "renamed or removed" in str(UntrustedTypesError(info.value.types, "custom build"))


def _written_before_logits(est):
    """A fitted MLPClassifier as a file written before its network output
    logits loads: the network ends in its sigmoid (softmax), compiled with a
    loss whose config has no from_logits, the target encoder reading
    probabilities. Optimizer state carried."""
    import keras

    new = est.__dict__["model_"]
    config = new.get_config()
    config["layers"][-1]["config"]["activation"] = (
        "softmax" if est.target_type_ == "multiclass" else "sigmoid")
    old = keras.Sequential.from_config(config)
    old.set_weights(new.get_weights())
    loss = {k: v for k, v in new.loss.get_config().items() if k != "from_logits"}
    old.compile(optimizer=type(new.optimizer).from_config(new.optimizer.get_config()),
                loss=type(new.loss).from_config(loss))
    old.optimizer.build(old.trainable_variables)
    for value, variable in zip(new.optimizer.variables, old.optimizer.variables):
        variable.assign(value)
    older = pickle.loads(pickle.dumps(est))
    older.__dict__["model_"] = old
    older.target_encoder_.from_logits_ = False
    return older


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("binary", [True, False])
def test_a_network_ending_in_its_activation_from_before_logits_goes_on(binary, tmp_path):
    # The ready classifiers' networks output logits since predict_proba applies
    # the logistic function (softmax) in float64; a file written before holds a
    # network ending in a float32 sigmoid (softmax): it predicts as it did,
    # saves as it is, and trains on, partial_fit building today's network.
    y = LABELS == "ant" if binary else LABELS
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    older = _written_before_logits(est)
    np.testing.assert_allclose(older.predict_proba(X), est.predict_proba(X), atol=1e-6)
    keraslearn.save(older, tmp_path / "older.keraslearn")
    loaded = keraslearn.load(tmp_path / "older.keraslearn")
    assert loaded.model_.layers[-1].get_config()["activation"] != "linear"
    np.testing.assert_array_equal(loaded.predict_proba(X), older.predict_proba(X))

    def again(e):
        return pickle.loads(pickle.dumps(e))

    for go_on in (lambda e: e.partial_fit(X, y),
                  lambda e: e.set_params(warm_start=True, max_iter=2).fit(X, y)):
        went_on, today = go_on(again(older)), go_on(again(est))
        np.testing.assert_allclose(went_on.predict_proba(X), today.predict_proba(X), atol=1e-6)
        assert went_on.target_encoder_.from_logits_
        assert went_on.model_.layers[-1].get_config()["activation"] == "linear"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_image_network_ending_in_its_activation_from_before_logits_goes_on():
    # As the MLPs' (above): partial_fit and a warm start build today's network
    # around its weights (found in review: partial_fit kept the float32 sigmoid).
    from keraslearn import ImageClassifier

    images = np.random.RandomState(0).rand(40, 6, 6, 1).astype("float32")
    y = (images.mean(axis=(1, 2, 3)) > 0.5).astype(int)
    est = ImageClassifier(conv_filters=(2,), dense_units=0, epochs=2, random_state=0).fit(
        images, y)
    older = _written_before_logits(est)
    np.testing.assert_allclose(older.predict_proba(images), est.predict_proba(images),
                               atol=1e-6)
    went_on = pickle.loads(pickle.dumps(older)).partial_fit(images, y)
    assert went_on.model_.layers[-1].get_config()["activation"] == "linear"
    assert went_on.target_encoder_.from_logits_
    logit = went_on.model_(images).numpy().astype("float64")
    np.testing.assert_allclose(went_on.predict_proba(images)[:, 1:], 1 / (1 + np.exp(-logit)),
                               rtol=1e-5, atol=1e-9)
    warm = pickle.loads(pickle.dumps(older)).set_params(warm_start=True, epochs=1).fit(images, y)
    assert warm.model_.layers[-1].get_config()["activation"] == "linear"
    assert warm.target_encoder_.from_logits_
    today = pickle.loads(pickle.dumps(est)).set_params(warm_start=True, epochs=1).fit(images, y)
    np.testing.assert_allclose(warm.predict_proba(images), today.predict_proba(images),
                               atol=1e-2)
