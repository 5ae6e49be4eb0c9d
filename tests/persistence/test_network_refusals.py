"""A network Keras refuses to load is refused by save (before writing) and by
load, naming Keras' cause: its message quotes whole configs, and the cause
ends it."""

import hashlib
import io
import json
import re

import keras
import pytest
from _saved_cases import LABELS, X, members, zipped

import keraslearn
from keraslearn import KerasClassifier


@keras.saving.register_keras_serializable(package="keraslearn_tests_refusals")
class Doubled(keras.layers.Layer):
    """Its config gives ``mode``, which its ``__init__`` does not take."""

    def call(self, x):
        return 2.0 * x

    def get_config(self):
        return {**super().get_config(), "mode": "fast"}


@keras.saving.register_keras_serializable(package="keraslearn_tests_refusals")
class Halved(keras.layers.Layer):
    def call(self, x):
        return 0.5 * x


def _with(layer):
    def build(meta):
        return keras.Sequential([keras.Input(meta["X_shape_"][1:]), layer(),
                                 keras.layers.Dense(meta["n_classes_"], activation="softmax")])
    return build


def test_a_config_its_class_does_not_take_is_named_at_save(tmp_path):
    # Keras' cause came after ~2,100 characters of config, cut at 600: the
    # refusal said to register the layer, which was registered.
    net = KerasClassifier(_with(Doubled), epochs=1, random_state=0).fit(X, LABELS)
    with pytest.raises(ValueError) as info:
        keraslearn.save(net, tmp_path / "doubled.keraslearn")
    message = str(info.value)
    assert re.search(r"with safe_mode=True \(TypeError: Unrecognized keyword arguments passed "
                     r"to Doubled: \{'mode': 'fast'\}\)\. A layer's \(or other object's\) "
                     r"get_config must give only what its __init__", message), message
    assert "must be registered" not in message and len(message) < 600
    assert list(tmp_path.iterdir()) == []


def test_a_class_registered_under_another_name_is_named_with_the_saved_one(tmp_path):
    net = KerasClassifier(_with(Halved), epochs=1, random_state=0).fit(X, LABELS)
    path = keraslearn.save(net, tmp_path / "halved.keraslearn")
    objects = keras.saving.get_custom_objects()  # Keras' live registry
    saved_as = "keraslearn_tests_refusals>Halved"
    held = objects.pop(saved_as)
    try:  # as in a process where the class is registered in another package
        with pytest.raises(ValueError, match=re.escape(
                f"(TypeError: Could not locate class 'Halved' (saved as {saved_as!r})). "
                "keraslearn loads networks only in Keras' safe mode")):
            keraslearn.load(path)
    finally:
        objects[saved_as] = held
    assert keraslearn.load(path).predict(X).shape == (len(X),)


def test_a_network_of_another_keras_says_which_keras_wrote_it(tmp_path):
    # A newer Keras writes settings this one does not take: the refusal named
    # only a registration, never the Keras versions.
    net = KerasClassifier(_with(Halved), epochs=1, random_state=0).fit(X, LABELS)
    path = keraslearn.save(net, tmp_path / "newer.keraslearn")
    files = members(path)
    network = next(name for name in files if name.endswith(".keras"))
    inner = members(io.BytesIO(files[network]))
    config = json.loads(inner["config.json"])
    config["config"]["layers"][-1]["config"]["a_setting_of_a_newer_keras"] = 1
    inner["config.json"] = json.dumps(config).encode()
    files[network] = data = zipped(inner)
    manifest = json.loads(files["manifest.json"])
    manifest["versions"]["keras"] = "9.0.0"
    manifest["members"][network] = {"size": len(data),
                                    "sha256": hashlib.sha256(data).hexdigest()}
    files["manifest.json"] = json.dumps(manifest).encode()
    path.write_bytes(zipped(files))
    with pytest.raises(ValueError, match=re.escape(
            "Unrecognized keyword arguments passed to Dense: {'a_setting_of_a_newer_keras': 1}"
            "). The file was written with Keras 9.0.0; this is Keras " + keras.__version__)):
        keraslearn.load(path)


def test_a_ready_network_saved_by_keras_loads_in_keras_as_the_readme_says(tmp_path):
    # Its losses are keraslearn's own (registered in keraslearn.neural_network):
    # plain Keras could not find them, which the README now says.
    import subprocess
    import sys

    import numpy as np

    from keraslearn import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    with pytest.warns(Warning):
        clf.fit(X, LABELS)
    clf.model_.save(tmp_path / "net.keras")
    np.save(tmp_path / "X.npy", X.astype("float32"))
    load = ("import keras, numpy as np{}; net = keras.saving.load_model({!r}{}); "
            "print(np.asarray(net(np.load({!r}))).round(5).tolist())")
    expected = np.asarray(clf.model_(X.astype("float32"))).round(5).tolist()
    for imported, option in ((", keraslearn.neural_network", ""), ("", ", compile=False")):
        code = load.format(imported, str(tmp_path / "net.keras"), option, str(tmp_path / "X.npy"))
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=180)
        assert done.returncode == 0, done.stderr[-2000:]
        assert eval(done.stdout.strip().splitlines()[-1]) == expected


def test_a_parameters_keras_config_is_not_rebuilt_where_safe_mode_was_turned_off(tmp_path):
    # Found in an audit: a file holding no network was loaded in such a process,
    # and a parameter's Keras config holding a Python lambda was rebuilt (at load,
    # or at fit after a load in safe mode), running the lambda's code.
    from keraslearn._persistence._references import KerasObjectConfig

    marker = tmp_path / "ran"
    code = f"lambda x: (__import__('pathlib').Path({str(marker)!r}).write_text('!'), x)[1]"
    network = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(eval(code)),
                                keras.layers.Dense(2, activation="softmax")])
    config = KerasObjectConfig(json.dumps(keras.saving.serialize_keras_object(network)))
    path = keraslearn.save(KerasClassifier(model=config, loss="sparse_categorical_crossentropy"),
                           tmp_path / "clf.keraslearn")
    marker.unlink(missing_ok=True)  # (serialising ran nothing: made sure)
    # A file of no Keras object loads there (found in review: refused at first).
    from sklearn.preprocessing import StandardScaler

    scaler = keraslearn.save(StandardScaler().fit(X), tmp_path / "scaler.keraslearn")
    lines = _told_where_safe_mode_is_off(  # (loaded first in safe mode: not rebuilt)
        path, "keraslearn.load(sys.argv[1])", "est.fit(np.zeros((4, 4)), [0, 1, 0, 1])",
        f"keraslearn.load({str(scaler)!r})")
    assert lines == ["keras.config.enable_unsafe_deserialization() was called in t"] * 2
    assert not marker.exists()


def _told_where_safe_mode_is_off(path, *calls):
    """What each of ``calls`` (code over ``est``, ``path`` loaded in safe mode,
    and ``sys.argv[1]``, the path) is told after Keras' safe mode is turned off,
    in a process of its own (the switch cannot be turned back on): the text of
    each ValueError after its first colon."""
    import subprocess
    import sys

    program = (
        "import keras, keraslearn, numpy as np, sys\n"
        "est = keraslearn.load(sys.argv[1])\n"
        "keras.config.enable_unsafe_deserialization()\n"
        f"for act in ({', '.join(f'lambda: {call}' for call in calls)}):\n"
        "    try:\n"
        "        act()\n"
        "    except ValueError as exc:\n"
        "        print(str(exc).split(': ', 1)[1][:60])\n")
    done = subprocess.run([sys.executable, "-c", program, str(path)], capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()


def test_load_and_save_refuse_where_keras_safe_mode_was_turned_off(tmp_path):
    # Found in an audit: Keras' global switch wins over load_model(safe_mode=True),
    # so a process that called it loaded a file's Python lambda and ran its code.
    from keraslearn import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    with pytest.warns(Warning):
        clf.fit(X, LABELS)
    path = keraslearn.save(clf, tmp_path / "clf.keraslearn")
    lines = _told_where_safe_mode_is_off(path, "keraslearn.load(sys.argv[1])",
                                         "keraslearn.save(est, sys.argv[1] + '.again')")
    assert lines == ["keras.config.enable_unsafe_deserialization() was called in t"] * 2
    assert not (tmp_path / "clf.keraslearn.again").exists()
