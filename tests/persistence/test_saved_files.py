"""Writing is atomic and never replaces what it must not; a failed save leaves
the file that was there, and nothing else, behind."""

import errno
import stat
import threading
import warnings

import keras
import numpy as np
import pytest
from _saved_cases import LABELS, X
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import keraslearn
from builders import tiny_mlp, two_inputs
from keraslearn import KerasClassifier, MLPClassifier
from keraslearn.monitoring import DriftDetector
from versions import SKLEARN_1_8


@pytest.fixture(scope="module")
def clf():
    keras.utils.set_random_seed(0)
    return MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, LABELS)


def lambda_network(meta):
    """A network Keras saves but refuses to load with safe_mode (a Python lambda)."""
    return keras.Sequential([keras.Input(meta["X_shape_"][1:]),
                             keras.layers.Lambda(lambda x: x * 2.0),
                             keras.layers.Dense(meta["n_classes_"], activation="softmax")])


def test_existing_file_is_kept_without_overwrite(clf, tmp_path):
    path = tmp_path / "model.keraslearn"
    path.write_bytes(b"the user's file")
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        keraslearn.save(clf, path)
    assert path.read_bytes() == b"the user's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keraslearn"]


def test_saving_leaves_python_s_and_numpy_s_generators_as_they_were(tmp_path):
    # save loads each network back to check it, and Keras draws the seeds of
    # unseeded layers from Python's generator: a script seeded with random.seed
    # got other numbers after a save (after log_fit and log_model too).
    import random

    def unseeded(meta):
        return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                                 keras.layers.Dense(4), keras.layers.Dropout(0.5),
                                 keras.layers.Dense(meta["n_classes_"], activation="softmax")])

    clf = KerasClassifier(unseeded, epochs=1).fit(X, LABELS)
    random.seed(123)
    np.random.seed(7)
    keraslearn.save(clf, tmp_path / "unseeded.keraslearn")
    after = random.random(), np.random.random()
    random.seed(123)
    np.random.seed(7)
    assert after == (random.random(), np.random.random())


def test_overwrite_replaces_a_file(clf, tmp_path):
    path = keraslearn.save(MLPClassifier(), tmp_path / "model.keraslearn")  # unfitted
    assert keraslearn.save(clf, path, overwrite=True) == path
    np.testing.assert_array_equal(keraslearn.load(path).predict(X), clf.predict(X))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keraslearn"]


@pytest.mark.parametrize("name", ["networks", "previous-0", "artifacts"])
def test_a_file_of_any_name_is_saved_and_replaced(clf, tmp_path, name):
    # Names the save works under in its staging folder (the networks' folder,
    # a replaced file set aside) are the user's to take: such a file failed,
    # or was silently left as the old one by overwrite=True.
    path = keraslearn.save(MLPClassifier(), tmp_path / name)
    keraslearn.save(clf, path, overwrite=True)
    np.testing.assert_array_equal(keraslearn.load(path).predict(X), clf.predict(X))
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_overwriting_a_private_file_keeps_it_private(clf, tmp_path):
    path = keraslearn.save(MLPClassifier(), tmp_path / "model.keraslearn")
    path.chmod(0o600)
    keraslearn.save(clf, path, overwrite=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    np.testing.assert_array_equal(keraslearn.load(path).predict(X), clf.predict(X))


def test_overwrite_takes_only_a_bool(clf, tmp_path):
    # overwrite="False" (read from a configuration) is true: the user's file was replaced.
    path = keraslearn.save(clf, tmp_path / "model.keraslearn")
    before = path.read_bytes()
    for flag in ("False", "no", None):
        with pytest.raises(TypeError, match=rf"overwrite must be True or False, got {flag!r}"):
            keraslearn.save(MLPClassifier(), path, overwrite=flag)
        with pytest.raises(TypeError, match=rf"overwrite must be True or False, got {flag!r}"):
            keraslearn.export(clf, tmp_path / "exported", overwrite=flag)
    assert path.read_bytes() == before and not (tmp_path / "exported").exists()
    keraslearn.save(clf, path, overwrite=np.bool_(True))  # NumPy's bool is one


def test_a_name_of_wide_characters_near_the_limit_is_saved(clf, tmp_path):
    # The staging folder took the name's first 64 characters: 4-byte ones made
    # it longer than the 255 bytes a file name may have ("File name too long").
    name = "\U0001F600" * 61 + ".kl"  # 247 bytes
    path = keraslearn.save(clf, tmp_path / name)
    assert [p.name for p in tmp_path.iterdir()] == [name]
    np.testing.assert_array_equal(keraslearn.load(path).predict(X), clf.predict(X))


def test_saves_racing_to_one_new_path_keep_the_first_without_overwrite(clf, tmp_path):
    """Each save checks the path first; the one to finish first keeps it, the
    others find it taken when they are done (not only when they start)."""
    path = tmp_path / "model.keraslearn"
    start = threading.Barrier(4)
    outcomes = []

    def save():
        start.wait()
        try:
            keraslearn.save(clf, path)
            outcomes.append("saved")
        except FileExistsError:
            outcomes.append("refused")

    threads = [threading.Thread(target=save) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 3 + ["saved"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keraslearn"]
    np.testing.assert_array_equal(keraslearn.load(path).predict(X), clf.predict(X))


def test_directories_links_and_missing_parents_are_refused(clf, tmp_path):
    (tmp_path / "folder").mkdir()
    for overwrite in (True, False):  # without: it said to pass overwrite=True
        with pytest.raises(FileExistsError, match="Refusing to replace .*not a regular file"):
            keraslearn.save(clf, tmp_path / "folder", overwrite=overwrite)
    # A name ending in a separator means a folder: it saved a file named "new".
    for folder in (f"{tmp_path / 'new'}/", ""):
        with pytest.raises(IsADirectoryError, match="it names a directory; give the file's"):
            keraslearn.save(clf, folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
    target = keraslearn.save(clf, tmp_path / "target.keraslearn")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(FileExistsError, match="Refusing to replace .*link': it is a symbolic link"):
        keraslearn.save(clf, tmp_path / "link", overwrite=True)
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        keraslearn.save(clf, tmp_path / "nowhere" / "model.keraslearn")


def test_failed_save_keeps_the_existing_file_and_leaves_nothing(clf, tmp_path):
    path = keraslearn.save(clf, tmp_path / "model.keraslearn")
    before = path.read_bytes()
    net = KerasClassifier(lambda_network, epochs=1, random_state=0).fit(X, LABELS)
    with pytest.raises(ValueError, match=r"refused to write .* cannot load the network "
                                         r"KerasClassifier\.model_ with safe_mode=True.*Lambda"):
        keraslearn.save(net, path, overwrite=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keraslearn"]


def test_unregistered_custom_loss_is_refused_at_save(tmp_path):
    def my_loss(y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_true - y_pred))

    net = KerasClassifier(tiny_mlp, loss=my_loss, target_encoding="onehot", epochs=1,
                          random_state=0).fit(X, LABELS)
    with pytest.raises(ValueError, match="the function 'my_loss' is not registered.*a loss.*"
                                         "registered with"):
        keraslearn.save(net, tmp_path / "loss.keraslearn")
    assert list(tmp_path.iterdir()) == []


def _small_start(shape, dtype=None):
    return keras.ops.full(shape, 0.01, dtype=dtype)


def _squared(w):
    return 0.01 * keras.ops.sum(w * w)


def _halved(x):
    return x / 2


@pytest.mark.parametrize("setting", [{"kernel_initializer": _small_start},
                                     {"kernel_regularizer": _squared},
                                     {"activation": _halved}])
def test_an_unregistered_function_of_a_layer_is_named_in_the_refusal(setting, tmp_path):
    # Keras' "Could not interpret initializer identifier: {'module': 'builtins',
    # 'class_name': 'function'" was quoted, and the advice named layers, losses and metrics.
    def network(meta):
        return keras.Sequential([keras.Input(meta["X_shape_"][1:]),
                                 keras.layers.Dense(4, **setting),
                                 keras.layers.Dense(meta["n_classes_"], activation="softmax")])

    net = KerasClassifier(network, epochs=1, random_state=0).fit(X, LABELS)
    name = next(iter(setting.values())).__name__
    with pytest.raises(ValueError, match=rf"\(TypeError: the function '{name}' is not registered"
                                         r"\)\. A function of one's own \(a layer's activation, "
                                         r"initializer, regularizer or constraint"):
        keraslearn.save(net, tmp_path / "fn.keraslearn")
    assert list(tmp_path.iterdir()) == []


class _Uniform(keras.initializers.Initializer):  # (unregistered)
    def __call__(self, shape, dtype=None):
        return keras.random.uniform(shape, -0.3, 0.3, dtype=dtype, seed=1)


def _initialized(meta):
    return keras.Sequential([keras.Input(meta["X_shape_"][1:]), keras.layers.Dense(
        meta["n_classes_"], activation="softmax", kernel_initializer=_Uniform())])


def test_an_unregistered_initializer_is_named_in_the_refusal(tmp_path):
    # found in an audit: Keras' cause came after 600 characters of the model's
    # config, cut off, and the refusal named nothing to register
    net = KerasClassifier(_initialized, epochs=1, random_state=0).fit(X, LABELS)
    with pytest.raises(ValueError, match=r"\(TypeError: Could not interpret initializer identifier"
                                         r": .*'class_name': '_Uniform'\)\. keraslearn loads"):
        keraslearn.save(net, tmp_path / "init.keraslearn")
    assert list(tmp_path.iterdir()) == []


@keras.saving.register_keras_serializable(package="keraslearn_tests_persistence")
class Scale(keras.layers.Layer):
    """A custom layer, registered as Keras asks."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def scaled_network(meta):
    return keras.Sequential([keras.Input(meta["X_shape_"][1:]), Scale(0.5),
                             keras.layers.Dense(meta["n_classes_"], activation="softmax")])


def test_registered_custom_layer_round_trips_and_is_needed_to_load(tmp_path):
    net = KerasClassifier(scaled_network, epochs=1, random_state=0).fit(X, LABELS)
    path = keraslearn.save(net, tmp_path / "custom.keraslearn")
    np.testing.assert_array_equal(keraslearn.load(path).predict_proba(X), net.predict_proba(X))
    registry = keras.saving.get_custom_objects()
    key = "keraslearn_tests_persistence>Scale"
    layer = registry.pop(key)  # as in a process that did not import the layer's module
    try:
        with pytest.raises(ValueError, match="load refused .*Could not locate class .Scale.*"
                                             "register_keras_serializable"):
            keraslearn.load(path)
    finally:
        registry[key] = layer


class LayerNotice(UserWarning):
    pass


@keras.saving.register_keras_serializable(package="keraslearn_tests_persistence")
class NoticedScale(Scale):
    """A layer whose config comes with a warning (a deprecated setting, say)."""

    def get_config(self):
        warnings.warn("factor will be renamed", LayerNotice, stacklevel=2)
        return super().get_config()


def test_a_warning_the_users_filters_raise_while_saving_is_theirs_not_a_refusal(tmp_path):
    # found in an audit: under `-W error`, a warning Keras' saving gave (NumPy 2's
    # on TensorFlow variables) became "Keras cannot save the network"
    net = KerasClassifier(lambda meta: keras.Sequential([
        keras.Input(meta["X_shape_"][1:]), NoticedScale(0.5),
        keras.layers.Dense(meta["n_classes_"], activation="softmax")]), epochs=1,
        random_state=0).fit(X, LABELS)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayerNotice)
        with pytest.raises(LayerNotice, match="factor will be renamed"):
            keraslearn.save(net, tmp_path / "noticed.keraslearn")
    assert list(tmp_path.iterdir()) == []
    with pytest.warns(LayerNotice):
        path = keraslearn.save(net, tmp_path / "noticed.keraslearn")
    np.testing.assert_array_equal(keraslearn.load(path).predict_proba(X), net.predict_proba(X))


@keras.saving.register_keras_serializable(package="keraslearn_tests_persistence")
class FullDisk(Scale):
    """A layer whose weights meet a full disk as they are written."""

    def save_own_variables(self, store):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_saving_is_an_os_error_and_keeps_the_file_there(clf, tmp_path):
    # found in an audit: it was a ValueError, "Keras cannot save the network",
    # where export and the reports raise the OSError as it is.
    net = KerasClassifier(lambda meta: keras.Sequential([
        keras.Input(meta["X_shape_"][1:]), FullDisk(0.5),
        keras.layers.Dense(meta["n_classes_"], activation="softmax")]), epochs=1,
        random_state=0).fit(X, LABELS)
    path = keraslearn.save(clf, tmp_path / "model.keraslearn")
    before = path.read_bytes()
    with pytest.raises(OSError, match="No space left on device") as raised:
        keraslearn.save(net, path, overwrite=True)
    assert raised.value.errno == errno.ENOSPC
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


@keras.saving.register_keras_serializable(package="keraslearn_tests_persistence")
class NoticedMSE(keras.losses.MeanSquaredError):
    """A loss whose config, written or read, comes with a warning."""

    def get_config(self):
        warnings.warn("written", LayerNotice, stacklevel=2)
        return super().get_config()

    @classmethod
    def from_config(cls, config):
        warnings.warn("read", LayerNotice, stacklevel=2)
        return super().from_config(config)


def test_a_warning_the_users_filters_raise_for_a_parameter_is_theirs_too(tmp_path):
    # found in a review: a parameter's was taken as "Keras cannot serialize it"
    # (the loss left out of the file), or at load as "cannot rebuild here"
    from keraslearn import KerasRegressor

    est = KerasRegressor(tiny_mlp, loss=NoticedMSE())
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayerNotice)
        with pytest.raises(LayerNotice, match="written"):
            keraslearn.save(est, tmp_path / "loss.keraslearn")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerNotice)
        path = keraslearn.save(est, tmp_path / "loss.keraslearn")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LayerNotice)
        with pytest.raises(LayerNotice, match="read"):
            keraslearn.load(path).get_params()["loss"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LayerNotice)
        assert isinstance(keraslearn.load(path).get_params()["loss"], NoticedMSE)


def test_drift_detector_travels_with_the_object(clf, tmp_path):
    detector = DriftDetector(random_state=0).fit(X)
    path = keraslearn.save(clf, tmp_path / "watched.keraslearn", drift_detector=detector)
    loaded, restored = keraslearn.load(path, return_drift_detector=True)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    batch = X[:40] + [0, 0, 3, 0]
    assert restored.test(batch).equals(detector.test(batch))
    assert restored.drifted_features_ == detector.drifted_features_
    assert not isinstance(keraslearn.load(path), tuple)
    plain = keraslearn.save(clf, tmp_path / "plain.keraslearn")
    assert keraslearn.load(plain, return_drift_detector=True)[1] is None
    with pytest.raises(TypeError, match="has no test method"):
        keraslearn.save(clf, tmp_path / "bad.keraslearn", drift_detector=clf)
    with pytest.raises(NotFittedError, match="DriftDetector instance is not fitted"):
        keraslearn.save(clf, tmp_path / "unfitted.keraslearn", drift_detector=DriftDetector())
    assert not (tmp_path / "unfitted.keraslearn").exists()
    # Saved, then `keraslearn serve` refused the file, in silence: told at the save.
    other = DriftDetector().fit(np.column_stack([X, X[:, 0]]))
    with pytest.warns(UserWarning, match=f"keraslearn.save: drift_detector was fitted on "
                                         f"{X.shape[1] + 1} features, but the model takes "
                                         f"{X.shape[1]}. Saved all the same.*keraslearn serve"):
        path = keraslearn.save(clf, tmp_path / "other.keraslearn", drift_detector=other)
    assert keraslearn.load(path, return_drift_detector=True)[1].n_features_in_ == X.shape[1] + 1


def test_a_bare_keras_model_is_pointed_to_keras_own_saving(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(TypeError, match=r"model\.save\('model\.keras'\)"):
        keraslearn.save(model, tmp_path / "model.keraslearn")
    assert list(tmp_path.iterdir()) == []


def test_what_would_not_load_is_refused_and_the_file_there_kept(clf, tmp_path):
    # A lambda held by a scikit-learn object (or a lock) was saved, even over a
    # good file with overwrite=True, and the file then never loaded.
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    path = keraslearn.save(clf, tmp_path / "model.keraslearn")
    good = path.read_bytes()
    pipe = make_pipeline(FunctionTransformer(lambda X: X * 2), LogisticRegression()).fit(
        X, LABELS)
    with pytest.raises(ValueError, match=r"refused to write .*object\.skops names \[.*<lambda>'\]"
                                         r", which load could not import.*define it at the top"):
        keraslearn.save(pipe, path, overwrite=True)
    locked = LogisticRegression().fit(X, LABELS)
    locked.lock_ = threading.Lock()
    with pytest.raises(ValueError, match=r"names \['_thread.lock'\], which load could not"):
        keraslearn.save(locked, path, overwrite=True)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keraslearn"]


def test_a_name_near_the_file_systems_limit_is_saved(clf, tmp_path):
    # The staging folder beside it (".<name>.<random>.tmp") was past 255 bytes.
    path = keraslearn.save(clf, tmp_path / ("m" * 240 + ".keraslearn"))
    np.testing.assert_array_equal(keraslearn.load(path).predict(X), clf.predict(X))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_keras_layer_parameter_holding_weights_is_asked_for_again_not_stored_empty(tmp_path):
    # Stored by its config, an adapted Normalization came back with mean 0 and a
    # pretrained layer with random weights: a refit of the loaded estimator
    # silently trained on them.
    norm = keras.layers.Normalization()
    norm.adapt(X * 100)

    def build(meta, norm):
        return keras.Sequential([keras.Input(meta["X_shape_"][1:]), norm,
                                 keras.layers.Dense(meta["n_classes_"], activation="softmax")])

    clf = KerasClassifier(build, model__norm=norm, epochs=2, random_state=0).fit(X * 100, LABELS)
    loaded = keraslearn.load(keraslearn.save(clf, tmp_path / "norm.keraslearn"))
    np.testing.assert_array_equal(loaded.predict_proba(X * 100), clf.predict_proba(X * 100))
    with pytest.raises(ValueError, match=r"Normalization.*layer holding weights.*set_params"):
        loaded.set_params(model=build).fit(X * 100, LABELS)
    loaded.set_params(model__norm=norm).fit(X * 100, LABELS)  # given again: it fits
    # a layer without weights is stored by its config, as before
    dropout = KerasClassifier(build, model__norm=keras.layers.Dropout(0.1), epochs=1,
                              random_state=0).fit(X, LABELS)
    again = keraslearn.load(keraslearn.save(dropout, tmp_path / "dropout.keraslearn"))
    assert isinstance(again.get_params()["model__norm"], keras.layers.Dropout)


def _over_optimizer_instances():
    from sklearn.model_selection import GridSearchCV

    return GridSearchCV(MLPClassifier(hidden_layer_sizes=(2,), max_iter=1, random_state=0),
                        {"optimizer": [keras.optimizers.Adam(0.01), keras.optimizers.SGD()]},
                        cv=2)


def _over_randint():
    from scipy.stats import randint
    from sklearn.model_selection import RandomizedSearchCV

    return RandomizedSearchCV(MLPClassifier(max_iter=1, random_state=0),
                              {"hidden_layer_sizes": randint(2, 4)}, n_iter=1, cv=2,
                              random_state=0)


@pytest.mark.parametrize("make, match", [
    # skops cannot store Keras objects a search's param_grid holds: the message
    # named only a __slots__ TypeError.
    (_over_optimizer_instances, r"cannot store GridSearchCV.*param_grid or "
                                r"param_distributions.*optimizer instances: search "
                                r"over names, 'adam'.*best_estimator_ alone"),
    # scipy's randint, on which skops recurses: a bare RecursionError 999 frames deep
    (_over_randint, r"cannot store RandomizedSearchCV: skops cannot store "
                    r"a part of it \(RecursionError: .*scipy\.stats\."
                    r"randint: give a list of values"),
])
def test_a_search_skops_cannot_store_is_refused_with_the_way_out(make, match, tmp_path):
    search = make()
    with pytest.warns(Warning):  # (one iteration: not converged)
        search.fit(X, LABELS)
    with pytest.raises(ValueError, match=match):
        keraslearn.save(search, tmp_path / "search.keraslearn")
    assert list(tmp_path.iterdir()) == []


def test_a_parameter_skops_cannot_store_is_named(tmp_path):
    # Found in an audit: Dask arrays as fit__validation_data were told as a
    # search's param_grid skops cannot store, though there was no search.
    import dask.array as da

    held_out = (da.from_array(X[:20], chunks=10), da.from_array(LABELS[:20], chunks=10))
    clf = KerasClassifier(tiny_mlp, optimizer=keras.optimizers.Adam(0.01), epochs=1,
                          random_state=0, fit__validation_data=held_out).fit(X, LABELS)
    with pytest.raises(ValueError, match=r"cannot store KerasClassifier: skops cannot store its "
                                         r"parameter fit__validation_data \(a tuple\)") as told:
        keraslearn.save(clf, tmp_path / "held.keraslearn")
    assert "param_grid" not in str(told.value)
    assert list(tmp_path.iterdir()) == []
    # in a pipeline, by its full name, not as the steps holding it (found in review)
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), clf)
    with pytest.raises(ValueError, match=r"its parameter kerasclassifier__fit__validation_data"):
        keraslearn.save(pipe, tmp_path / "pipe.keraslearn")


@SKLEARN_1_8
def test_metadata_routing_requests_skops_cannot_store_are_named_with_the_way_out(tmp_path):
    # scikit-learn's requests refer back to their estimator; skops recursed until
    # a RecursionError, and the message blamed a search's param_grid.
    import pickle

    import sklearn
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=False),
            MLPClassifier(hidden_layer_sizes=(2,), max_iter=1, random_state=0)
            .set_fit_request(sample_weight=True))
        with pytest.warns(Warning):  # (one iteration: not converged)
            pipe.fit(X, LABELS, sample_weight=np.ones(len(LABELS)))
    with pytest.raises(ValueError, match=r"cannot store Pipeline: it holds metadata-routing "
                                         r"requests.*Pickle it \(joblib.dump\) instead"):
        keraslearn.save(pipe, tmp_path / "routed.keraslearn")
    assert list(tmp_path.iterdir()) == []
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(pipe)).predict(X), pipe.predict(X))


@SKLEARN_1_8
@pytest.mark.parametrize("where", ["scoring-dict", "fitted-member"])
def test_routing_requests_beyond_the_parameters_are_named_too(tmp_path, where):
    # Requests held by the scorers of a search's scoring dict (weights used only
    # to score the candidates), or by a fitted member that is no parameter, came
    # out as skops' RecursionError (a traceback of a thousand frames).
    import sklearn
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, make_scorer
    from sklearn.model_selection import GridSearchCV
    from sklearn.multiclass import OneVsRestClassifier

    mlp = MLPClassifier(hidden_layer_sizes=(2,), max_iter=1, random_state=0)
    weights = np.linspace(0.5, 2.0, len(LABELS))
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if where == "scoring-dict":
            scoring = {name: make_scorer(metric).set_score_request(sample_weight="score_weight")
                       for name, metric in [("accuracy", accuracy_score),
                                            ("balanced", balanced_accuracy_score)]}
            fitted = GridSearchCV(mlp, {"alpha": [1e-4]}, cv=2, scoring=scoring,
                                  refit="accuracy").fit(X, LABELS, score_weight=weights)
        else:
            fitted = OneVsRestClassifier(mlp).fit(X, LABELS)
            fitted.estimators_[0].set_score_request(sample_weight=True)
    with pytest.raises(ValueError, match=f"cannot store {type(fitted).__name__}: it holds "
                                         "metadata-routing requests") as refused:
        keraslearn.save(fitted, tmp_path / "routed.keraslearn")
    assert list(tmp_path.iterdir()) == []
    # (found in an audit: skops' RecursionError was chained, thousands of lines of
    # traceback before this message)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


def test_named_inputs_held_in_the_parameters_load_as_they_were_saved(tmp_path):
    # found in an audit: fit__validation_data holding a MultiInput was saved, and
    # the file never loaded (MultiInput untrusted, then skops could not make it)
    from keraslearn import MultiInput

    named = MultiInput(a=X[:, :2], b=X[:, 2:])
    held_out = named[np.arange(30, 40)]
    clf = KerasClassifier(two_inputs, epochs=2, random_state=0,
                          fit__validation_data=(held_out, LABELS[30:40])).fit(named, LABELS)
    keraslearn.save(clf, tmp_path / "named.keraslearn")
    loaded = keraslearn.load(tmp_path / "named.keraslearn", trusted=["builders.named"])
    given = loaded.get_params()["fit__validation_data"][0]
    assert type(given) is MultiInput and len(given) == 10
    for name in ("a", "b"):
        np.testing.assert_array_equal(given[name], held_out[name])
    np.testing.assert_array_equal(loaded.predict_proba(named), clf.predict_proba(named))
    assert len(MultiInput()) == 0  # (as skops makes it: empty, then filled)
    # found in review: one of no rows given whole was read as no inputs
    assert list(MultiInput(named[np.arange(0)])) == ["a", "b"]


def test_a_dict_whose_keys_load_would_change_is_refused_naming_where(clf, tmp_path):
    # skops keeps a dict's keys as text and makes each again with its type:
    # class_weight={False: 1, True: 5} came back as {True: 5.0} (bool("false")),
    # so that a refit of the loaded estimator, and a search's records, changed.
    from sklearn.model_selection import GridSearchCV

    path = keraslearn.save(clf, tmp_path / "model.keraslearn")
    good = path.read_bytes()
    flags = X[:, 0] > 0
    for keys in ((False, True), (np.False_, np.True_)):
        weighted = MLPClassifier(hidden_layer_sizes=(2,), max_iter=1, random_state=0,
                                 class_weight=dict(zip(keys, (1.0, 5.0))))
        with pytest.warns(ConvergenceWarning):
            weighted.fit(X, flags)
        with pytest.raises(ValueError, match=r"refused to write .*object\.skops holds a dict "
                                             r"\(MLPClassifier > class_weight\) whose keys are "
                                             r"booleans \(False and True come back as True"):
            keraslearn.save(weighted, path, overwrite=True)
    search = GridSearchCV(MLPClassifier(), {"class_weight": [{1: 4.0, "1": 1.0}]})
    with pytest.raises(ValueError, match=r"\(GridSearchCV > param_grid > class_weight\) whose "
                                         r"keys are equal as text"):
        keraslearn.save(search, path, overwrite=True)
    with pytest.raises(ValueError, match=r"dict \(the object\) whose keys include None"):
        keraslearn.save({None: clf}, path, overwrite=True)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keraslearn"]
    kept = {1: 5.0, 0: 1.0, "a": 2.0, 2.5: 3.0, np.int64(7): 1.5}  # keys that come back
    assert keraslearn.load(keraslearn.save({"weights": kept}, tmp_path / "d.keraslearn")) == {
        "weights": kept}


@SKLEARN_1_8
def test_routing_requests_are_named_whatever_the_depth_of_the_call(tmp_path):
    # found in an audit: a FixedThresholdClassifier holding routing requests was
    # told as a search's unstorable param_grid when save was called a frame or
    # two deeper (skops then failed with a TypeError, not a RecursionError).
    import sklearn
    from sklearn.model_selection import FixedThresholdClassifier

    binary = (LABELS == LABELS[0]).astype(int)
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = FixedThresholdClassifier(
            MLPClassifier(hidden_layer_sizes=(2,), max_iter=1, random_state=0)
            .set_fit_request(sample_weight=True)
        ).fit(X, binary, sample_weight=np.ones(len(binary)))

    def save_at(depth):
        if depth:
            return save_at(depth - 1)
        with pytest.raises(ValueError) as refused:
            keraslearn.save(model, tmp_path / "routed.keraslearn")
        return str(refused.value)

    told = {depth: save_at(depth) for depth in range(16)}
    assert all("it holds metadata-routing requests" in message
               for message in told.values()), told
    assert list(tmp_path.iterdir()) == []
