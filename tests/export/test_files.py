"""Where an export writes: no overwriting without consent, nothing half-written."""

import json
import logging
import os
import subprocess
import sys
import threading
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import keraslearn
from keraslearn import KerasRegressor, MLPClassifier

X, y = make_classification(120, n_features=4, random_state=0)


def fitted(seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=seed)
        return make_pipeline(StandardScaler(), clf).fit(X, y)


@pytest.fixture(scope="module")
def first():
    return fitted(0)


@pytest.fixture(scope="module")
def second():
    return fitted(1)


def proba_of_saved_model(path):
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    return serve(inputs=tf.constant(X[:5], tf.float32))["probabilities"].numpy()


def snapshot(folder):
    """Every file under folder with its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_export_returns_the_path_and_writes_only_it(first, tmp_path):
    path = keraslearn.export(first, str(tmp_path / "model"))
    assert path == tmp_path / "model"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    metadata = json.loads((path / "assets.extra" / "keraslearn.json").read_text())
    assert metadata["format"] == "tf_saved_model"
    assert metadata["versions"]["keraslearn"] == keraslearn.__version__


def test_an_existing_path_is_refused_without_overwrite(first, tmp_path):
    keraslearn.export(first, tmp_path / "model")
    before = snapshot(tmp_path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        keraslearn.export(first, tmp_path / "model")
    assert snapshot(tmp_path) == before


def test_overwrite_replaces_the_artifact(first, second, tmp_path):
    keraslearn.export(first, tmp_path / "model")
    keraslearn.export(second, tmp_path / "model", overwrite=True)
    np.testing.assert_allclose(proba_of_saved_model(tmp_path / "model"),
                               second.predict_proba(X[:5]), atol=1e-5)
    assert not np.allclose(first.predict_proba(X[:5]), second.predict_proba(X[:5]), atol=1e-3)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


@pytest.mark.parametrize("fmt, name", [
    ("litert", "saved_model"), ("onnx", "previous-0"), ("tf_saved_model", "artifacts"),
])
def test_an_artifact_of_any_name_is_written_and_replaced(first, second, tmp_path, fmt, name):
    # Names the export works under in its staging folder (a LiteRT file's
    # SavedModel, a replaced file set aside) are the user's to take: such an
    # artifact failed, or was silently left as the old one by overwrite=True.
    from load_artifacts import RUNNERS

    keraslearn.export(first, tmp_path / name, format=fmt)
    keraslearn.export(second, tmp_path / name, format=fmt, overwrite=True)
    out = RUNNERS[fmt](str(tmp_path / name), {"inputs": X[:5].astype("float32")})
    np.testing.assert_allclose(out["probabilities"], second.predict_proba(X[:5]), atol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [name, f"{name}.json"] if fmt == "litert" else [name])


def _write(path, text, inside=None):
    """A file of ``text`` at ``path``, or a folder holding one named ``inside``."""
    if inside is not None:
        path.mkdir()
        path = path / inside
    path.write_text(text)


@pytest.mark.parametrize("fmt, existing", [
    ("tf_saved_model", "directory"), ("tf_saved_model", "file"), ("onnx", "directory"),
])
def test_overwrite_never_replaces_what_is_not_an_artifact_of_the_format(
    first, tmp_path, fmt, existing
):
    target = tmp_path / "mine"
    _write(target, "precious", inside="notes.txt" if existing == "directory" else None)
    before = snapshot(tmp_path)
    with pytest.raises(FileExistsError, match="Refusing to replace"):
        keraslearn.export(first, target, format=fmt, overwrite=True)
    assert snapshot(tmp_path) == before


def test_overwrite_refuses_a_saved_model_folder_holding_files_of_the_users(first, tmp_path):
    # The whole folder is replaced: the user's files kept in it were deleted with it.
    target = keraslearn.export(first, tmp_path / "model")
    (target / "notes.md").write_text("precious")
    (target / "data").mkdir()
    before = snapshot(tmp_path)
    with pytest.raises(FileExistsError, match=r"it holds 'data', 'notes.md', not part of a "
                                              r"SavedModel, which replacing it would delete"):
        keraslearn.export(first, target, overwrite=True)
    assert snapshot(tmp_path) == before
    (target / "notes.md").unlink()
    (target / "data").rmdir()
    (target / "debug").mkdir()  # (TensorFlow's, SaveOptions(save_debug_info=True))
    assert keraslearn.export(first, target, overwrite=True) == target


def test_an_empty_folder_is_refused_naming_what_to_do(first, tmp_path):
    # Keras' export writes into one; keraslearn's replaces the folder whole (an
    # empty mount point or the working directory would not survive): it says so.
    target = tmp_path / "model"
    target.mkdir()
    with pytest.raises(FileExistsError, match="it is an empty folder, not a SavedModel "
                                              "directory: .* remove it, or export to a path"):
        keraslearn.export(first, target, overwrite=True)
    assert target.is_dir() and list(target.iterdir()) == []
    assert keraslearn.export(first, target / "model") == target / "model"


def test_a_litert_metadata_file_in_the_way_is_refused(first, tmp_path):
    (tmp_path / "m.tflite.json").write_text("{}")
    with pytest.raises(FileExistsError, match="m.tflite.json"):
        keraslearn.export(first, tmp_path / "m.tflite", format="litert")
    assert [p.name for p in tmp_path.iterdir()] == ["m.tflite.json"]


@pytest.mark.parametrize("name, fmt, named", [
    ("model.onnx", "tf_saved_model", "onnx"), ("model.TFLITE", "tf_saved_model", "litert"),
    ("model.onnx", "litert", "onnx"), ("model.tflite", "onnx", "litert")])
def test_a_path_whose_suffix_names_another_format_is_refused(first, tmp_path, name, fmt, named):
    # export(pipe, "model.onnx") wrote a SavedModel folder named model.onnx, which
    # ONNX Runtime then failed to parse; a LiteRT file could be named model.onnx.
    with pytest.raises(ValueError, match=rf"the suffix '{name[5:]}' names a '{named}' "
                                         rf"artifact. Give format='{named}'"):
        keraslearn.export(first, tmp_path / name, format=fmt)
    assert list(tmp_path.iterdir()) == []


def test_missing_parent_directory(first, tmp_path):
    with pytest.raises(FileNotFoundError, match="not a directory"):
        keraslearn.export(first, tmp_path / "absent" / "model")
    assert list(tmp_path.iterdir()) == []


def _bessel_network(meta):
    # Bessel functions are outside LiteRT's builtin ops.
    return keras.Sequential([
        keras.Input(meta["X_shape_"][1:]),
        keras.layers.Dense(4),
        keras.layers.Lambda(tf.math.special.bessel_i0e),
        keras.layers.Dense(meta["n_outputs_"]),
    ])


def test_a_failed_conversion_keeps_the_previous_artifact(first, tmp_path):
    keraslearn.export(first, tmp_path / "m.tflite", format="litert")
    before = snapshot(tmp_path)
    unconvertible = KerasRegressor(_bessel_network, epochs=1, random_state=0).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="LiteRT's builtin ops have no BesselI0e"):
        keraslearn.export(unconvertible, tmp_path / "m.tflite", format="litert", overwrite=True)
    assert snapshot(tmp_path) == before  # old file and metadata intact, no temporary left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tflite", "m.tflite.json"]


def test_export_leaves_the_pipeline_as_it_was(second, tmp_path):
    net = second[-1].model_
    weights = [w.copy() for w in net.get_weights()]
    proba, params = second.predict_proba(X), second.get_params(deep=True)
    keraslearn.export(second, tmp_path / "model.onnx", format="onnx")
    assert all(np.array_equal(a, b) for a, b in zip(weights, net.get_weights()))
    np.testing.assert_array_equal(second.predict_proba(X), proba)
    assert {k: repr(v) for k, v in second.get_params(deep=True).items()} == \
        {k: repr(v) for k, v in params.items()}
    assert second[-1].model_ is net


def test_export_keeps_the_fast_path_of_few_row_predictions(first, tmp_path):
    from keraslearn._engine import _forward

    estimator = first[-1] if hasattr(first, "steps") else first
    network = estimator.__dict__["model_"]
    first.predict(X[:3])
    assert network not in _forward._HANDED_OUT  # a snapshot predicts few rows
    keraslearn.export(first, tmp_path / "model")
    # The export reads the network without handing it out: the snapshot stays.
    assert network not in _forward._HANDED_OUT


@pytest.mark.parametrize("fmt, missing, package", [
    ("onnx", "tf2onnx", "'tf2onnx' package"),
    # (found in an audit: tf2onnx failing on its own import of onnx was told as tf2onnx)
    ("onnx", "onnx", "'onnx' package ('tf2onnx' imports it)"),
    # LiteRT's package loads none of its native code: a broken interpreter was found
    # once the graph was converted, and told as the converter's mistranslation.
    ("litert", "ai_edge_litert.interpreter", "'ai-edge-litert' package"),
])
def test_a_missing_extra_names_the_install_command(tmp_path, fmt, missing, package):
    # A None entry in sys.modules makes the import fail, as for an absent package.
    code = (
        f"import sys; sys.modules[{missing!r}] = None\n"
        "import keraslearn\n"
        "try:\n"
        f"    keraslearn.export(None, {str(tmp_path / 'm.out')!r}, format={fmt!r})\n"
        "except ImportError as exc:\n"
        "    print('ImportError:', exc)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert f"ImportError: Exporting to {fmt!r} needs the {package}: " \
           f"pip install 'keraslearn[{fmt}]'" in run.stdout, run.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []


def test_a_replaced_file_never_goes_missing_and_a_failed_commit_restores_all(tmp_path,
                                                                           monkeypatch):
    import os

    from keraslearn._export import _files
    from keraslearn.utils._files import commit

    target, folder, sidecar = tmp_path / "m.tflite", tmp_path / "saved", tmp_path / "m.json"
    target.write_text("old model")
    folder.mkdir()
    (folder / "saved_model.pb").write_text("old graph")
    with _files.staging(target) as tmp:
        (tmp / "new").write_text("new model")
        seen, replace = [], os.replace

        def watched(src, dst):
            seen.append(target.exists())
            replace(src, dst)

        monkeypatch.setattr(os, "replace", watched)
        commit([(tmp / "new", target)], tmp)
        monkeypatch.setattr(os, "replace", replace)
    assert target.read_text() == "new model" and all(seen)
    # All or none: a rename that fails puts back the file and the directory replaced before.
    with _files.staging(target) as tmp:
        (tmp / "a").write_text("newer model")
        (tmp / "b").mkdir()
        with pytest.raises(FileNotFoundError):
            commit([(tmp / "a", target), (tmp / "b", folder),
                           (tmp / "absent", sidecar)], tmp)
    assert target.read_text() == "new model"
    assert (folder / "saved_model.pb").read_text() == "old graph" and not sidecar.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tflite", "saved"]


# A folder is moved aside, then the new one placed; a file is linked aside
# (no rename) and replaced in one rename.
@pytest.mark.parametrize("kind, nth", [("folder", 1), ("folder", 2), ("file", 1)])
def test_ctrl_c_as_a_rename_returns_loses_nothing(tmp_path, monkeypatch, kind, nth):
    # found in an audit: Ctrl-C raised as the rename moving the old SavedModel
    # aside returned (before it was recorded) deleted it, and no export was left.
    import os

    from keraslearn._export import _files
    from keraslearn.utils._files import commit

    final, inside = tmp_path / "model", "saved_model.pb" if kind == "folder" else None
    _write(final, "old", inside)
    calls, replace = [], os.replace

    def interrupted_after(src, dst):
        replace(src, dst)
        calls.append(dst)
        if len(calls) == nth:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        with _files.staging(final) as tmp:
            staged = tmp / "new"
            _write(staged, "new", inside)
            monkeypatch.setattr(os, "replace", interrupted_after)
            commit([(staged, final)], tmp)
    monkeypatch.setattr(os, "replace", replace)
    assert (final / inside if inside else final).read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_ctrl_c_pressed_again_while_a_replacement_is_undone_loses_nothing(tmp_path,
                                                                         monkeypatch):
    # found in review: a second Ctrl-C, as the new SavedModel placed was removed,
    # stopped the undoing halfway: the old one, set aside in the staging folder,
    # was removed with it, and a broken folder left.
    import os
    import shutil

    from keraslearn._export import _files
    from keraslearn.utils._files import commit

    final = tmp_path / "model"
    _write(final, "old", "saved_model.pb")
    replace, rmtree, calls = os.replace, shutil.rmtree, []

    def interrupted_placing(src, dst):
        replace(src, dst)
        calls.append(dst)
        if len(calls) == 2:  # the new folder placed
            raise KeyboardInterrupt

    def interrupted_removing(path, **kwargs):
        if path == final and not [c for c in calls if c == "rm"]:
            calls.append("rm")
            (path / "saved_model.pb").unlink()  # halfway
            raise KeyboardInterrupt
        rmtree(path, **kwargs)

    with pytest.raises(KeyboardInterrupt):
        with _files.staging(final) as tmp:
            staged = tmp / "new"
            _write(staged, "new", "saved_model.pb")
            (staged / "variables").mkdir()
            monkeypatch.setattr(os, "replace", interrupted_placing)
            monkeypatch.setattr(shutil, "rmtree", interrupted_removing)
            commit([(staged, final)], tmp)
    monkeypatch.undo()
    assert "rm" in calls
    assert [p.name for p in final.iterdir()] == ["saved_model.pb"]
    assert (final / "saved_model.pb").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_ctrl_c_while_the_staging_folder_is_removed_leaves_none(tmp_path, monkeypatch):
    # found in an audit: it was left beside the artifact, holding a whole copy of
    # the artifact replaced.
    import shutil

    from keraslearn._export import _files

    rmtree, cut = shutil.rmtree, []

    def interrupted_once(path, **kwargs):
        if not cut:
            cut.append(path)
            raise KeyboardInterrupt
        rmtree(path, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        with _files.staging(tmp_path / "model") as tmp:
            (tmp / "previous-0").write_text("a copy")
    assert cut and list(tmp_path.iterdir()) == []


def test_a_directory_made_meanwhile_is_not_replaced_without_overwrite(tmp_path):
    """An export is checked against its path first; a SavedModel directory
    (which cannot be linked into place as a file is) that appears before the
    final rename is refused, not replaced."""
    from keraslearn._export import _files
    from keraslearn.utils._files import commit

    final = tmp_path / "model"
    with _files.staging(final) as tmp:
        staged = tmp / "model"
        staged.mkdir()
        (staged / "saved_model.pb").write_text("ours")
        final.mkdir()  # another export, meanwhile
        (final / "saved_model.pb").write_text("theirs")
        with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
            commit([(staged, final)], tmp, overwrite=False)
    assert (final / "saved_model.pb").read_text() == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_the_onnx_check_runs_onnxruntime_with_its_telemetry_off(tmp_path):
    # onnxruntime reads ORT_DISABLE_TELEMETRY once, at import: export sets it
    # first, so the check uploads nothing and keeps no device id in the home.
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import os, numpy as np, keraslearn\n"
        "X = np.random.default_rng(0).normal(size=(40, 3)); y = X[:, 0] > 0\n"
        "clf = keraslearn.MLPClassifier((3,), max_iter=1, random_state=0).fit(X, y)\n"
        f"keraslearn.export(clf, {str(tmp_path / 'm.onnx')!r}, format='onnx')\n"
        "print('ORT_DISABLE_TELEMETRY =', os.environ.get('ORT_DISABLE_TELEMETRY'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    run = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, timeout=300, env={**env, "HOME": str(home)})
    assert "ORT_DISABLE_TELEMETRY = 1" in run.stdout, run.stderr[-2000:]
    assert (tmp_path / "m.onnx").is_file()
    assert not (home / ".cache" / "Microsoft").exists()


def test_a_telemetry_setting_of_the_user_is_kept(first, tmp_path, monkeypatch):
    monkeypatch.setenv("ORT_DISABLE_TELEMETRY", "0")
    keraslearn.export(first, tmp_path / "m.onnx", format="onnx")
    assert os.environ["ORT_DISABLE_TELEMETRY"] == "0"


def test_exports_in_two_threads_leave_the_converters_loggers_as_they_were():
    # Each export set the converters' loggers to ERROR and restored the levels
    # it had found: the first to end restored them while the second ran, and
    # the second restored ERROR, for good (TensorFlow's warnings then lost).
    from keraslearn._export._formats import _quiet

    logger = logging.getLogger("tensorflow")
    before = logger.level
    logger.setLevel(logging.INFO)
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    during = []

    def first():
        with _quiet():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second():
        first_in.wait(10)
        with _quiet():
            second_in.set()
            first_out.wait(10)
            during.append(logger.level)

    try:
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        assert during == [logging.ERROR]  # still quiet while the second exports
        assert logger.level == logging.INFO  # the user's level, once both are done
    finally:
        logger.setLevel(before)


def test_an_export_leaves_the_root_logger_unconfigured():
    # Found in an audit: TensorFlow's SavedModel writer logs through absl, which
    # ran logging.basicConfig(): the user's own basicConfig afterwards did nothing.
    code = (
        "import logging, sys, tempfile, numpy as np, keraslearn\n"
        "X = np.random.default_rng(0).normal(size=(40, 3)); y = X[:, 0] > 0\n"
        "clf = keraslearn.MLPClassifier((3,), max_iter=1, random_state=0).fit(X, y)\n"
        "before = list(logging.root.handlers)\n"
        "keraslearn.export(clf, tempfile.mkdtemp() + '/m')\n"
        "print('handlers', before, logging.root.handlers)\n"
        "logging.basicConfig(format='MINE %(message)s', stream=sys.stdout)\n"
        "logging.warning('told')\n"
    )
    run = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, timeout=300)
    assert "handlers [] []" in run.stdout, run.stderr[-2000:]
    assert "MINE told" in run.stdout


def test_the_root_logger_s_placeholder_prints_what_python_prints_without_handlers(capsys):
    # Found in review: a NullHandler in its place swallowed the converters' errors
    # (left at ERROR to be seen) and other threads' during an export.
    from keraslearn._export._formats import _ROOT_PLACEHOLDER

    for level, text in ((logging.ERROR, "shown"), (logging.INFO, "hidden")):
        _ROOT_PLACEHOLDER.handle(logging.LogRecord("tf2onnx", level, __file__, 1, text, None,
                                                   None))
    told = capsys.readouterr().err
    assert "shown" in told and "hidden" not in told
    # a logger with a handler of its own printed it already (found in review: twice)
    own = logging.getLogger("keraslearn_tests_own")
    own.addHandler(logging.NullHandler())
    try:
        _ROOT_PLACEHOLDER.handle(logging.LogRecord(own.name, logging.ERROR, __file__, 1, "once",
                                                   None, None))
    finally:
        own.handlers.clear()
    assert "once" not in capsys.readouterr().err
    # read without logging's lock, nor making loggers (found in review: getLogger
    # under the handler's lock, the order dictConfig takes them the other way)
    _ROOT_PLACEHOLDER.handle(logging.LogRecord("keraslearn_tests_ghost.sub", logging.ERROR,
                                               __file__, 1, "ghost", None, None))
    assert "ghost" in capsys.readouterr().err
    assert "keraslearn_tests_ghost.sub" not in logging.Logger.manager.loggerDict
