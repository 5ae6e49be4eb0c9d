"""Model builders and other code an estimator's parameters hold: stored by name,
never imported by a load, needed (and asked for) only by a fit."""

import pickle
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from _saved_cases import LABELS, X
from sklearn.base import clone
from sklearn.model_selection import cross_val_score

import keraslearn
from builders import tiny_mlp
from keraslearn import KerasClassifier
from keraslearn._persistence._references import CodeReference

TRAIN = textwrap.dedent("""
    import sys
    import keras
    import numpy as np
    import keraslearn
    from keraslearn import KerasClassifier

    def build(meta, hidden=4):
        return keras.Sequential([keras.Input(meta["X_shape_"][1:]),
                                 keras.layers.Dense(hidden, activation="relu"),
                                 keras.layers.Dense(meta["n_classes_"], activation="softmax")])

    X = np.random.default_rng(0).normal(size=(60, 3))
    y = np.where(X[:, 0] > 0, "yes", "no")
    clf = KerasClassifier(build, epochs=2, random_state=0).fit(X, y)
    keraslearn.save(clf, sys.argv[1])
    np.save(sys.argv[2], X)
    np.save(sys.argv[3], clf.predict_proba(X))
""")

SERVE = textwrap.dedent("""
    import sys
    import numpy as np
    import keraslearn
    from sklearn.base import clone

    X, expected = np.load(sys.argv[2]), np.load(sys.argv[3])
    for trusted in (None, ["__main__.build"]):
        clf = keraslearn.load(sys.argv[1], trusted=trusted)
        assert (clf.predict_proba(X) == expected).all(), "predict_proba differs"
        assert (clf.predict(X) == np.where(expected[:, 1] > 0.5, "yes", "no")).all()
        assert 0.0 <= clf.score(X, clf.predict(X)) <= 1.0
        print("builder:", clf.get_params()["model"])
        for est in (clf, clone(clf)):
            try:
                est.fit(X, clf.predict(X))
            except ValueError as exc:
                print("fit:", exc)
            else:
                raise AssertionError("fit without the builder did not raise")
        assert (clf.predict_proba(X) == expected).all(), "a failed fit changed the estimator"
""")


def test_builder_from_main_does_not_stop_loading_and_refit_says_so(tmp_path):
    train, serve = tmp_path / "train", tmp_path / "serve"
    train.mkdir()
    serve.mkdir()
    (train / "train.py").write_text(TRAIN)
    files = [str(tmp_path / name) for name in ("model.keraslearn", "X.npy", "proba.npy")]
    done = subprocess.run([sys.executable, "train.py", *files], cwd=train,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    # Another process, elsewhere: train.py cannot be imported there.
    done = subprocess.run([sys.executable, "-c", SERVE, *files], cwd=serve,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines.count("builder: CodeReference('__main__.build')") == 2
    fits = [line for line in lines if line.startswith("fit:")]
    assert len(fits) == 4
    for line in fits[:2]:  # not trusted: never imported
        assert "__main__.build" in line and "trusted=['__main__.build']" in line
        assert "needed only to fit again" in line and "set_params(model=...)" in line
    for line in fits[2:]:  # trusted, but this process's __main__ has no build
        assert "__main__.build" in line and "cannot be found in this process" in line
        assert "training script (__main__)" in line and "needed only to fit again" in line


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    keras.utils.set_random_seed(0)
    clf = KerasClassifier(tiny_mlp, hidden=4, optimizer=keras.optimizers.Adam(0.01),
                          callbacks=[keras.callbacks.TerminateOnNaN],
                          epochs=3, random_state=0).fit(X, LABELS)
    path = keraslearn.save(clf, tmp_path_factory.mktemp("builders") / "clf.keraslearn")
    return clf, path


def test_parameters_are_kept_as_references_and_keras_objects(saved):
    clf, path = saved
    loaded = keraslearn.load(path)
    params = loaded.get_params()
    assert params.keys() == clf.get_params().keys()
    assert repr(params["model"]) == "CodeReference('builders.tiny_mlp')"
    (callback,) = params["callbacks"]
    assert callback.name == "keras.src.callbacks.terminate_on_nan.TerminateOnNaN"
    assert isinstance(params["optimizer"], keras.optimizers.Adam)  # rebuilt from its config
    assert float(params["optimizer"].learning_rate) == pytest.approx(0.01)
    assert (params["hidden"], params["epochs"], params["random_state"]) == (4, 3, 0)


def test_untrusted_builder_is_not_imported_and_fit_says_how_to_trust_it(saved):
    clf, path = saved
    loaded = keraslearn.load(path)
    with pytest.raises(ValueError, match=r"reference to builders\.tiny_mlp, which "
                       r"keraslearn\.load does not import unless it is trusted"):
        loaded.fit(X, LABELS)
    # (found in an audit: a loaded ensemble's member was told set_params(model=...),
    # which the ensemble does not take)
    from sklearn.ensemble import VotingClassifier

    vote = VotingClassifier([("net", loaded)], voting="soft")
    with pytest.raises(ValueError, match=r"through a pipeline, search or ensemble holding "
                       r"the KerasClassifier, by its path: set_params\(<step or member "
                       r"name>__model=\.\.\.\)"):
        vote.fit(X, LABELS)
    with pytest.raises(ValueError, match="does not import unless it is trusted"):
        clone(loaded).fit(X, LABELS)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("callback", ["keras.src.callbacks.terminate_on_nan.TerminateOnNaN",
                                      "keras.callbacks.TerminateOnNaN"])
def test_trusted_names_let_a_loaded_estimator_and_its_clones_fit_again(saved, callback):
    # Keras' public name of its class was not taken for the name of the module
    # that defines it (keras.src..., which changes between Keras versions).
    clf, path = saved
    loaded = keraslearn.load(path, trusted=["builders.tiny_mlp", callback])
    twin = clone(loaded)  # the trust travels with the copies (GridSearchCV clones)
    twin.fit(X, LABELS)
    assert twin.get_params()["model"] is tiny_mlp
    assert twin.get_params()["callbacks"] == [keras.callbacks.TerminateOnNaN]
    # Same parameters and seed as the original fit: the same network.
    np.testing.assert_array_equal(twin.predict_proba(X), clf.predict_proba(X))
    assert repr(loaded.get_params()["model"]) == "CodeReference('builders.tiny_mlp')"


def _four(meta):
    return 4


def _built_with(meta, width=None):
    return tiny_mlp(meta, hidden=width(meta))


def test_a_failed_fit_of_a_loaded_estimator_keeps_its_builder_arguments_as_references(
        tmp_path):
    # set_params writes builder arguments into the estimator in place: the
    # fit's restore point kept the resolved function for them.
    names = [f"{__name__}._built_with", f"{__name__}._four"]
    clf = KerasClassifier(_built_with, width=_four, epochs=1, random_state=0).fit(X, LABELS)
    loaded = keraslearn.load(keraslearn.save(clf, tmp_path / "w.keraslearn"), trusted=names)
    before = repr(loaded.get_params())
    assert "CodeReference" in repr(loaded.get_params()["width"])
    with pytest.raises(ValueError, match="features"):
        loaded.partial_fit(X[:, :2], LABELS)
    assert repr(loaded.get_params()) == before


def test_a_failed_fit_of_a_loaded_estimator_keeps_its_parameters_as_references(saved):
    # The builder was imported (model=CodeReference(...) became the function)
    # before the fit's restore point: a failed fit left get_params changed.
    clf, path = saved
    callback = "keras.src.callbacks.terminate_on_nan.TerminateOnNaN"
    loaded = keraslearn.load(path, trusted=["builders.tiny_mlp", callback])
    before = repr(loaded.get_params())
    with pytest.raises(ValueError, match="features"):
        loaded.partial_fit(X[:, :2], LABELS)
    assert repr(loaded.get_params()) == before
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_the_trust_travels_with_pickled_copies_and_never_into_a_file(saved, tmp_path):
    """A search with n_jobs > 1 pickles the estimator to its workers: the
    trust given at load goes with it, as with clone; a file saved again
    holds no trust."""
    clf, path = saved
    loaded = keraslearn.load(path, trusted=["builders.tiny_mlp",
                                            "keras.src.callbacks.terminate_on_nan.TerminateOnNaN"])
    scores = cross_val_score(loaded, X, LABELS, cv=2, n_jobs=2, error_score="raise")
    np.testing.assert_array_equal(scores, cross_val_score(loaded, X, LABELS, cv=2))
    pickle.loads(pickle.dumps(loaded)).fit(X, LABELS)
    untrusted = pickle.loads(pickle.dumps(keraslearn.load(path)))
    with pytest.raises(ValueError, match="does not import unless it is trusted"):
        untrusted.fit(X, LABELS)
    again = keraslearn.load(keraslearn.save(loaded, tmp_path / "again.keraslearn"))
    with pytest.raises(ValueError, match="does not import unless it is trusted"):
        again.fit(X, LABELS)


def test_only_some_names_trusted_names_the_missing_one(saved):
    _, path = saved
    loaded = keraslearn.load(path, trusted=["builders.tiny_mlp"])
    with pytest.raises(ValueError, match=r"parameter 'callbacks'.*TerminateOnNaN.*"
                       r"set_params\(callbacks=\.\.\.\)"):
        loaded.fit(X, LABELS)
    loaded.set_params(callbacks=None).fit(X, LABELS)
    assert loaded.get_params()["model"] is tiny_mlp


def test_a_file_cannot_grant_trust():
    reference = CodeReference("os", "system")
    reference.trusted = True
    state = {**reference.__getstate__(), "trusted": True}
    assert "trusted" not in reference.__getstate__()
    restored = CodeReference.__new__(CodeReference)
    restored.__setstate__(state)
    assert restored.trusted is False


def test_unnamed_code_and_callback_instances_are_described_and_asked_for(tmp_path):
    clf = KerasClassifier(lambda meta: tiny_mlp(meta, hidden=3), epochs=2, random_state=0,
                          callbacks=[keras.callbacks.EarlyStopping(monitor="loss")])
    clf.fit(X, LABELS)
    loaded = keraslearn.load(keraslearn.save(clf, tmp_path / "lambda.keraslearn"))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    with pytest.raises(ValueError, match=r"parameter 'model'.*the function .*<lambda>.*did not "
                       r"store.*set_params\(model=\.\.\.\)"):
        loaded.fit(X, LABELS)
    loaded.set_params(model=tiny_mlp)
    with pytest.raises(ValueError, match=r"parameter 'callbacks'.*an instance of EarlyStopping.*"
                       "Keras callbacks have no config to store; a callback class is stored"):
        loaded.fit(X, LABELS)
    loaded.set_params(callbacks=[keras.callbacks.EarlyStopping(monitor="loss")]).fit(X, LABELS)


def test_saving_does_not_change_the_estimator(saved, tmp_path):
    clf, _ = saved
    clf.predict(X)
    before = dict(vars(clf))
    keraslearn.save(clf, tmp_path / "again.keraslearn")
    assert vars(clf).keys() == before.keys()
    for key, value in vars(clf).items():
        assert value is before[key], key  # the same objects: nothing replaced or dropped


@pytest.mark.parametrize("callbacks, routed", [
    ([keras.callbacks.EarlyStopping], {"callbacks__0__monitor": "loss"}),
    ([keras.callbacks.EarlyStopping(monitor="loss")], {"callbacks__0__patience": 2}),
    ({"stop": keras.callbacks.EarlyStopping}, {"callbacks__stop__monitor": "loss"}),
    ([keras.callbacks.EarlyStopping], {"predict__callbacks": [keras.callbacks.History],
                                       "callbacks__monitor": "loss"}),
], ids=["class", "instance", "by name", "predict callbacks"])
def test_a_loaded_wrapper_with_routed_callback_parameters_predicts(tmp_path, callbacks, routed):
    """Its callbacks are references to code, made real only by a fit: predict
    runs without them (it made them from the references, and failed)."""
    clf = KerasClassifier(tiny_mlp, callbacks=callbacks, epochs=2, random_state=0, **routed)
    clf.fit(X, LABELS)
    loaded = keraslearn.load(keraslearn.save(clf, tmp_path / "routed.keraslearn"))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-6)
    assert loaded.score(X, LABELS) == clf.score(X, LABELS)


SEARCH = textwrap.dedent("""
    import sys
    import warnings
    import keras
    import numpy as np
    import keraslearn
    from sklearn.model_selection import GridSearchCV
    from keraslearn import KerasClassifier

    def small(meta):
        return keras.Sequential([keras.Input(meta["X_shape_"][1:]),
                                 keras.layers.Dense(meta["n_classes_"], activation="softmax")])

    def wide(meta):
        return keras.Sequential([keras.Input(meta["X_shape_"][1:]), keras.layers.Dense(8),
                                 keras.layers.Dense(meta["n_classes_"], activation="softmax")])

    X = np.random.default_rng(0).normal(size=(40, 3))
    y = np.where(X[:, 0] > 0, "yes", "no")
    search = GridSearchCV(KerasClassifier(small, epochs=1, random_state=0),
                          {"model": [small, wide]}, cv=2).fit(X, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        keraslearn.save(search, sys.argv[1])
    print([str(w.message) for w in caught if "keraslearn.save" in str(w.message)])
""")


def test_a_search_over_builders_of_the_training_script_is_saved_with_a_warning(tmp_path):
    # The estimators store their builders by name, but a search's param_grid
    # holds the functions, which load imports: the file loads only where
    # __main__ defines them again, which save now says.
    (tmp_path / "search.py").write_text(SEARCH)
    done = subprocess.run([sys.executable, "search.py", str(tmp_path / "s.keraslearn")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    warned = done.stdout.splitlines()[-1]
    assert "refers to ['__main__.small', '__main__.wide']" in warned
    assert "loads only where __main__ defines them" in warned


def test_a_loaded_estimator_takes_builder_arguments_it_was_not_given(saved):
    # set_params(dtype=...) was refused ("neither the estimator nor its model
    # builder takes it") while the builder was a reference not yet imported,
    # so a search over a builder argument failed on a loaded estimator.
    _, path = saved
    for trusted in (None, ["builders.tiny_mlp"]):
        loaded = keraslearn.load(path, trusted=trusted).set_params(
            dtype="float64", callbacks=None)
        assert loaded.get_params()["dtype"] == "float64"
    loaded.fit(X, LABELS)  # (trusted) the argument reaches the builder
    assert loaded.model_.layers[0].dtype == "float64"
    # A name the builder does not take is refused at fit, once it is imported.
    misspelt = keraslearn.load(path, trusted=["builders.tiny_mlp"]).set_params(
        hiden=3, callbacks=None)
    with pytest.raises(ValueError, match="Invalid parameter 'hiden'.*Did you mean 'hidden'"):
        misspelt.fit(X, LABELS)
    # Only a reference read from a file: a model that is no builder takes no names.
    with pytest.raises(ValueError, match="Invalid parameter 'hiden'"):
        KerasClassifier("tiny_mlp").set_params(hiden=3)
