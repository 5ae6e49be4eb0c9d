"""TensorFlow's eager kernel cache is emptied every so many networks built
(``keraslearn._engine._kernel_cache``): the cache really empties, the setting
turns it off, TensorFlow's global seed is left as it was, and models compute
what they computed before."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import keraslearn
from builders import tiny_mlp
from keraslearn import KerasClassifier, MLPClassifier
from keraslearn._engine import _kernel_cache
from keraslearn._random import reapply_tensorflow_seed

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 4)).astype("float32")
y = (X[:, 0] - X[:, 2] > 0).astype(int)


def _draw():
    # An op seed of its own: its kernel, kept in the cache, carries the
    # sequence on from call to call until the cache is emptied.
    return tf.random.uniform([4], seed=4321).numpy()


def _unseeded_fit():
    KerasClassifier(tiny_mlp, loss="binary_crossentropy", epochs=1, verbose=0).fit(X, y)


@pytest.fixture
def release_every(monkeypatch):
    def set_to(n):
        monkeypatch.setattr(_kernel_cache, "RELEASE_EVERY", n)
        monkeypatch.setattr(_kernel_cache, "_built", 0)
    return set_to


def test_the_cache_is_emptied_once_enough_networks_were_built(release_every):
    release_every(3)
    reapply_tensorflow_seed()
    first, second = _draw(), _draw()
    assert not np.array_equal(first, second)
    _unseeded_fit()
    _unseeded_fit()
    assert not np.array_equal(_draw(), first)  # 2 networks: nothing released yet
    _unseeded_fit()
    np.testing.assert_array_equal(_draw(), first)  # the 3rd: the kernel was made anew


def test_the_setting_turns_the_release_off(release_every):
    release_every(1)
    reapply_tensorflow_seed()
    first = _draw()
    with keraslearn.config_context(release_tensorflow_caches=False):
        _unseeded_fit()
        _unseeded_fit()
    assert not np.array_equal(_draw(), first)
    _unseeded_fit()
    np.testing.assert_array_equal(_draw(), first)


def test_networks_that_load_and_save_load_count_as_built(release_every, tmp_path):
    # A service reloading models grew TensorFlow's cache by every loaded network's
    # kernels without limit: only fits counted.
    fitted = KerasClassifier(tiny_mlp, loss="binary_crossentropy", epochs=1,
                             random_state=0).fit(X, y)
    path = keraslearn.save(fitted, tmp_path / "model.keraslearn")  # (loads it back: 1)
    release_every(3)
    reapply_tensorflow_seed()
    first = _draw()
    keraslearn.load(path)
    keraslearn.load(path)
    assert not np.array_equal(_draw(), first)  # 2 networks loaded: nothing released yet
    loaded = keraslearn.load(path)
    np.testing.assert_array_equal(_draw(), first)  # the 3rd: the kernel was made anew
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    keraslearn.save(fitted, tmp_path / "again.keraslearn")  # its check loads one back
    keraslearn.save(fitted, tmp_path / "third.keraslearn")
    assert not np.array_equal(_draw(), first)
    keraslearn.save(fitted, tmp_path / "fourth.keraslearn")
    np.testing.assert_array_equal(_draw(), first)


def test_networks_an_unpickling_or_deep_copy_makes_again_count_as_built(release_every):
    # Found in an audit: pickle, joblib and deepcopy round trips grew RSS by
    # ~0.14 MiB each without limit (the networks they make counted nowhere).
    import copy
    import pickle

    fitted = KerasClassifier(tiny_mlp, loss="binary_crossentropy", epochs=1,
                             random_state=0).fit(X, y)
    blob = pickle.dumps(fitted)
    release_every(3)
    reapply_tensorflow_seed()
    first = _draw()
    pickle.loads(blob)
    copied = copy.deepcopy(fitted)
    assert not np.array_equal(_draw(), first)  # 2 networks made again: nothing released
    loaded = pickle.loads(blob)
    np.testing.assert_array_equal(_draw(), first)  # the 3rd: the kernel was made anew
    for again in (loaded, copied):
        np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    pickle.loads(pickle.dumps(KerasClassifier(tiny_mlp)))  # (no network: not counted)
    assert _kernel_cache._built == 0


def _dropout_net(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)),
                             keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dropout(0.3),
                             keras.layers.Dense(1, activation="sigmoid")])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("make", [
    lambda: MLPClassifier(hidden_layer_sizes=(6,), max_iter=4, batch_size=16, random_state=0),
    lambda: KerasClassifier(_dropout_net, loss="binary_crossentropy", epochs=3, batch_size=16,
                            metrics=["accuracy"], verbose=0, random_state=0),
], ids=["mlp_dense_chain", "dropout_through_keras_fit"])
def test_models_compute_the_same_after_a_release(make):
    before = make().fit(X, y)
    model = before.model_  # handed out: predicted by TensorFlow from now on
    proba, raw = before.predict_proba(X), model.predict(X, verbose=0)
    reapply_tensorflow_seed()
    np.testing.assert_array_equal(before.predict_proba(X), proba)
    np.testing.assert_array_equal(model.predict(X, verbose=0), raw)
    after = make().fit(X, y)  # the same seeded fit, its kernels made anew
    after.model_  # noqa: B018 -- predicted by TensorFlow too
    np.testing.assert_array_equal(after.predict_proba(X), proba)


_SEEDS = """
import json
import tensorflow as tf
from keraslearn._random import reapply_tensorflow_seed
out = {}
reapply_tensorflow_seed()
out["none"] = tf.compat.v1.random.get_seed(None)
tf.random.set_seed(5)
reapply_tensorflow_seed()
out["five"] = tf.compat.v1.random.get_seed(0)
tf.random.set_seed(87654321)  # what TensorFlow also reports when no seed is set
reapply_tensorflow_seed()
out["default"] = tf.compat.v1.random.get_seed(None)[0]
print(json.dumps(out))
"""


def test_the_global_seed_is_left_as_it_was():
    out = subprocess.run([sys.executable, "-c", _SEEDS], capture_output=True, text=True,
                         check=True, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": ""})
    seeds = json.loads(out.stdout.strip().splitlines()[-1])
    assert seeds["none"] == [None, None]  # unseeded stays unseeded
    assert seeds["five"] == [5, 0]
    assert seeds["default"] == 87654321  # a seed equal to the default stays set
