"""A truncated, altered or foreign file is a ValueError saying so, before
anything is rebuilt; a newer format version is refused with the versions."""

import io
import json
import os
import zipfile

import keras
import numpy as np
import pytest
from _saved_cases import LABELS, X

import keraslearn
from keraslearn import MLPClassifier


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    keras.utils.set_random_seed(0)
    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, LABELS)
    return clf, keraslearn.save(clf, tmp_path_factory.mktemp("integrity") / "clf.keraslearn")


def _rewrite(source, target, change):
    """Copy an archive member by member, ``change(name, data)`` giving each new
    content (None drops the member)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = change(name, old.read(name))
            if data is not None:
                new.writestr(name, data)
    return target


def test_intact_file_loads(saved):
    clf, path = saved
    np.testing.assert_array_equal(keraslearn.load(path).predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file_is_refused(saved, tmp_path, keep):
    _, path = saved
    data = path.read_bytes()
    cut = tmp_path / "cut.keraslearn"
    cut.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(ValueError, match="truncated or damaged"):
        keraslearn.load(cut)


@pytest.mark.parametrize("where", [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95])
def test_flipped_bytes_are_refused(saved, tmp_path, where):
    _, path = saved
    data = bytearray(path.read_bytes())
    i = int(len(data) * where)
    data[i:i + 4] = bytes(b ^ 0xFF for b in data[i:i + 4])
    bad = tmp_path / "flipped.keraslearn"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"damaged|altered|truncated|not a file written"):
        keraslearn.load(bad)


def test_member_replaced_with_a_consistent_zip_is_refused_by_its_digest(saved, tmp_path):
    _, path = saved

    def swap_weights(name, data):
        if not name.endswith(".keras"):
            return data
        other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        other.save(tmp_path / "other.keras")
        return (tmp_path / "other.keras").read_bytes()

    bad = _rewrite(path, tmp_path / "swapped.keraslearn", swap_weights)
    with pytest.raises(ValueError, match=r"altered: .*networks/0\.keras has the wrong size|"
                                         r"SHA-256 digest of networks/0\.keras"):
        keraslearn.load(bad)


def test_a_rewritten_copy_still_loads(saved, tmp_path):
    # The refusals below come from what each one changes, not from rewriting.
    clf, path = saved
    copy = _rewrite(path, tmp_path / "copy.keraslearn", lambda name, data: data)
    np.testing.assert_array_equal(keraslearn.load(copy).predict(X), clf.predict(X))


def test_missing_member_is_refused(saved, tmp_path):
    _, path = saved
    bad = _rewrite(path, tmp_path / "missing.keraslearn",
                   lambda name, data: None if name == "object.skops" else data)
    with pytest.raises(ValueError, match=r"members missing \['object\.skops'\]"):
        keraslearn.load(bad)


def test_extra_member_is_refused(saved, tmp_path):
    _, path = saved
    bad = _rewrite(path, tmp_path / "extra.keraslearn", lambda name, data: data)
    with zipfile.ZipFile(bad, "a") as archive:
        archive.writestr("networks/1.keras", b"not listed")
    with pytest.raises(ValueError, match=r"not in its manifest \['networks/1\.keras'\]"):
        keraslearn.load(bad)


def test_newer_format_version_is_refused_with_the_versions(saved, tmp_path):
    _, path = saved

    def newer(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["format_version"] = 2
        manifest["versions"]["keraslearn"] = "9.0"
        return json.dumps(manifest)

    bad = _rewrite(path, tmp_path / "newer.keraslearn", newer)
    with pytest.raises(ValueError, match=r"format version 2, written by keraslearn 9\.0; this "
                                         r"keraslearn .* reads format versions up to 1\. "
                                         "Upgrade keraslearn"):
        keraslearn.load(bad)
    with pytest.raises(ValueError, match="format version 2"):
        keraslearn.get_untrusted_types(bad)

    def newer_odd_versions(name, data):  # whatever a later format holds there
        if name != "manifest.json":
            return data
        return json.dumps({**json.loads(data), "format_version": 2, "versions": "9.0"})

    odd = _rewrite(path, tmp_path / "odd.keraslearn", newer_odd_versions)
    with pytest.raises(ValueError, match="format version 2, written by a newer keraslearn; "
                                         "this keraslearn"):
        keraslearn.load(odd)


@pytest.mark.parametrize("content, words", [
    (b"just some text", "not a readable zip archive"),
    (b"", "not a readable zip archive"),
])
def test_files_that_are_not_archives_are_refused(tmp_path, content, words):
    bad = tmp_path / "model.keraslearn"
    bad.write_bytes(content)
    with pytest.raises(ValueError, match=words):
        keraslearn.load(bad)


def test_zip_without_a_manifest_or_of_another_format_is_refused(tmp_path):
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("data.txt", "hello")
    with pytest.raises(ValueError, match="has no manifest.json"):
        keraslearn.load(plain)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("manifest.json", json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="does not say format 'keraslearn'"):
        keraslearn.load(other)


def test_files_of_keras_and_skops_are_told_how_they_load(saved, tmp_path):
    # Found in an audit: each was "not a file written by keraslearn.save: it
    # has no manifest.json", saying nothing of what reads it.
    import skops.io

    clf, _ = saved
    clf.model_.save(tmp_path / "net.keras")
    skops.io.dump({"a": 1}, tmp_path / "obj.skops")
    for path, hint in (("net.keras", "It is a Keras model file: load it with "
                                     "keras.saving.load_model."),
                       ("obj.skops", "It is a skops file: load it with skops.io.load.")):
        with pytest.raises(ValueError, match=f"has no manifest.json. {hint}"):
            keraslearn.load(tmp_path / path)
    # A pickle of it (joblib.dump) holds the network's .keras archive, which
    # zipfile found inside it: told to load it as a Keras model file (found in an
    # audit), which gives the network without the pipeline's preprocessing.
    import joblib

    joblib.dump(clf, tmp_path / "clf.joblib")
    with pytest.raises(ValueError, match=r"is not a file written by keraslearn.save: it is a "
                                         r"pickle \(pickle.dump, joblib.dump\)\. Load it with "
                                         "joblib.load or pickle.load, and only from a source"):
        keraslearn.load(tmp_path / "clf.joblib")
    (tmp_path / "text.keraslearn").write_text("not an archive")
    with pytest.raises(ValueError, match="not a readable zip archive: File is not a zip file"):
        keraslearn.load(tmp_path / "text.keraslearn")


def test_a_manifest_nested_past_the_recursion_limit_is_a_value_error(saved, tmp_path):
    # json's RecursionError escaped as such, where load documents a ValueError.
    deep = b"[" * 100_000 + b"]" * 100_000
    path = _rewrite(saved[1], tmp_path / "deep.keraslearn",
                    lambda name, data: deep if name == "manifest.json" else data)
    with pytest.raises(ValueError, match="is damaged: its manifest.json is not JSON"):
        keraslearn.load(path)


def test_directory_and_missing_path(tmp_path):
    (tmp_path / "exported").mkdir()
    (tmp_path / "exported" / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ValueError, match="is a directory.*SavedModel.*tf.saved_model.load"):
        keraslearn.load(tmp_path / "exported")
    with pytest.raises(FileNotFoundError, match="No such file"):
        keraslearn.load(tmp_path / "missing.keraslearn")
    if hasattr(os, "mkfifo"):  # a pipe: load waited for a writer for ever
        os.mkfifo(tmp_path / "pipe")
        for read in (keraslearn.load, keraslearn.get_untrusted_types):
            with pytest.raises(ValueError, match="'.*pipe' is not a regular file"):
                read(tmp_path / "pipe")


@pytest.mark.parametrize("content", [b"not a skops document", "zip"])
def test_a_member_that_is_not_skops_behind_a_consistent_manifest_is_refused(saved, tmp_path,
                                                                           content):
    # The manifest's sizes and digests fit: skops' own zipfile and KeyError
    # messages came out raw, where a ValueError is promised.
    from keraslearn._persistence import _archive

    if content == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("hello.txt", "not skops")
        content = buffer.getvalue()
    _, path = saved
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        members = {name: archive.read(name) for name in archive.namelist()
                   if name != "manifest.json"}
    bad = tmp_path / "foreign.keraslearn"
    _archive.write(bad, manifest, {**members, "object.skops": content})
    for read in (keraslearn.load, keraslearn.get_untrusted_types):
        with pytest.raises(ValueError, match="damaged: a part of it is not a skops document"):
            read(bad)
