"""keraslearn.save, keraslearn.load and keraslearn.get_untrusted_types."""

import os

from ..utils import _files
from . import _archive, _networks, _state, _trust


def save(obj, path, *, drift_detector=None, overwrite=False):
    """Save a fitted estimator, pipeline or ensemble to one file, without pickle.

    Each Keras network inside ``obj`` -- the ``model_`` of every keraslearn
    estimator, wherever it sits: a pipeline step, a ``ColumnTransformer``
    transformer, a search's ``best_estimator_``, an ensemble's members, a
    stacking ``final_estimator_`` -- is stored in Keras' ``.keras`` format;
    everything else is stored with skops, which stores data, not code. A model
    builder (the ``model`` parameter, a function) and other code the estimators'
    parameters hold (a loss function, a callback class) are stored by name and
    are needed only to fit again (see :func:`load`).

    Parameters
    ----------
    obj : estimator
        What to save: a keraslearn estimator, or a scikit-learn or
        imbalanced-learn object holding some (``Pipeline``,
        ``ColumnTransformer``, ``GridSearchCV``, ``VotingClassifier``,
        ``StackingClassifier``, ...), fitted or not.

    path : str or path-like
        The file to write (``.keraslearn`` by convention). Its directory must exist.

    drift_detector : object, default=None
        A fitted drift detector (e.g. :class:`keraslearn.monitoring.DriftDetector`)
        to store beside ``obj``; ``load(path, return_drift_detector=True)`` gives
        it back, and ``keraslearn serve PATH`` answers ``GET /monitoring/drift``
        with it.

    overwrite : bool, default=False
        Replace an existing file at ``path``. Without it an existing path is an
        error; a directory or a symbolic link is never replaced.

    Returns
    -------
    path : pathlib.Path
        Where the file was written.

    Raises
    ------
    ValueError
        A network cannot be saved, or loaded back with Keras' ``safe_mode`` (a
        ``Lambda`` layer, an unregistered custom layer or loss), or skops cannot
        store a part of ``obj`` or it names code ``load`` could not import (a
        lambda held by a scikit-learn object). Nothing is written then.

    FileExistsError, FileNotFoundError, IsADirectoryError
        ``path`` exists (without ``overwrite``; a directory or link: always), has
        no folder, or names a folder (ends in a separator).

    TypeError
        ``obj`` is a Keras model, or ``drift_detector`` has no ``test`` method.

    See Also
    --------
    load : Read the file back.
    keraslearn.export : The pipeline as one SavedModel, LiteRT or ONNX model.

    Notes
    -----
    The file is a zip archive: ``manifest.json`` (format ``"keraslearn"``,
    ``format_version`` 1, library versions, the networks, the code referred to by
    name, and the size and SHA-256 of every member), ``object.skops``,
    ``drift_detector.skops`` when given, and ``networks/<i>.keras``, written
    beside ``path`` and renamed into place once complete, each network loaded
    back with ``safe_mode=True`` first (a failed save leaves ``path`` as it was).
    Nothing in ``obj`` is changed; the networks are stored without device
    placement (a file saved on a GPU machine loads on a CPU-only one).

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import keraslearn
    >>> X, y = load_iris(return_X_y=True)
    >>> pipe = make_pipeline(StandardScaler(), keraslearn.MLPClassifier(
    ...     hidden_layer_sizes=(8,), max_iter=5, random_state=0)).fit(X, y)
    >>> path = keraslearn.save(pipe, os.path.join(tempfile.mkdtemp(), "iris.keraslearn"))
    >>> path.name
    'iris.keraslearn'
    >>> loaded = keraslearn.load(path)
    >>> bool((loaded.predict(X) == pipe.predict(X)).all())
    True
    """
    import keras
    import skops.io

    from .._export import _files  # staging beside the target
    from ..utils._files import commit  # the final rename

    if isinstance(obj, keras.Model):
        raise TypeError("keraslearn.save takes estimators and pipelines; save a Keras model "
                        "itself with model.save('model.keras').")
    text = os.fspath(path)
    if str(text).endswith(("/", os.sep)) or str(text) == "":  # (Path drops the separator)
        raise IsADirectoryError(f"Cannot save to {text!r}: it names a directory; give the "
                                "file's name too (e.g. 'models/model.keraslearn').")
    path = _files.user_path(text)
    _archive.check_destination(path, overwrite)
    if drift_detector is not None and not callable(getattr(drift_detector, "test", None)):
        raise TypeError(
            f"drift_detector ({type(drift_detector).__name__}) has no test method; give a "
            "fitted keraslearn.monitoring.DriftDetector."
        )
    if drift_detector is not None:  # what `keraslearn serve` refuses, told at the save
        from ..serving._drift import check_saved_detector

        check_saved_detector(obj, drift_detector)
    with _files.staging(path) as tmp:
        parts = {_archive.OBJECT: obj}
        if drift_detector is not None:
            parts[_archive.DRIFT_DETECTOR] = drift_detector
        blobs = {}
        with _state.saving(tmp) as session:
            for member, part in parts.items():
                try:
                    blobs[member] = skops.io.dumps(part)
                except (ValueError, OSError, Warning):  # (a warning: the user's filters')
                    raise
                except Exception as exc:  # (RecursionError: a cycle, or scipy's randint)
                    # (a cycle fails as a RecursionError, or near the limit as
                    # whatever skops was calling then: a TypeError from copyreg)
                    if _trust.has_routing_requests(part, set()):
                        raise ValueError(
                            f"keraslearn.save cannot store {type(part).__name__}: it holds "
                            "metadata-routing requests (set_fit_request, set_score_request, "
                            "...), each of which refers back to its estimator, and skops "
                            "cannot store such a cycle. Pickle it (joblib.dump) instead, or "
                            "save a model fitted without set_*_request calls."
                        ) from None  # (skops' recursion: thousands of lines of traceback)
                    raise _unstorable(part, exc) from exc
        _networks.check_networks_load(tmp, session.networks, path)
        _trust.check_parts_load(blobs, path)
        manifest = {
            "format": _archive.FORMAT, "format_version": _archive.FORMAT_VERSION,
            "versions": _archive.versions(),
            "object": {"member": _archive.OBJECT, "type": _type_name(obj)},
            "drift_detector": (None if drift_detector is None else
                               {"member": _archive.DRIFT_DETECTOR,
                                "type": _type_name(drift_detector)}),
            "networks": session.networks,
            "code_references": sorted(session.code_references),
            "unstored_parameters": session.unstored,
        }
        members = {**blobs, **{n["member"]: tmp / n["member"] for n in session.networks}}
        staged = _files.staged_path(tmp, path.name)
        _archive.write(staged, manifest, members)
        commit([(staged, path)], tmp, overwrite)
    return path


def load(path, *, trusted=None, return_drift_detector=False):
    """Load what :func:`save` wrote: the file is checked whole, then rebuilt.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    trusted : list of str or type, default=None
        Types to trust beyond the default ones (skops' -- Python's containers,
        NumPy, SciPy and scikit-learn's estimators -- imbalanced-learn's
        estimators and keraslearn's own), and names of code the file refers to
        (a model builder) that a later ``fit`` may import. None trusts only the
        defaults.

    return_drift_detector : bool, default=False
        Return ``(obj, drift_detector)``, the detector saved with the object or None.

    Returns
    -------
    obj : object
        The saved object, predicting as it did.

    drift_detector : object or None
        Only with ``return_drift_detector=True``.

    Raises
    ------
    ValueError
        The file is not one :func:`save` writes, is truncated or altered (checked
        against its members' recorded sizes and SHA-256 digests), has a newer format
        version, holds untrusted types (listed) or a network Keras' ``safe_mode``
        refuses. Nothing is loaded then.

    FileNotFoundError, TypeError
        No file at ``path``; ``trusted`` not a list of type names.

    See Also
    --------
    save : Write the file.
    get_untrusted_types : The types ``load`` would refuse.

    Notes
    -----
    Loading runs no code the file names: skops rebuilds only trusted types, and
    Keras loads the networks with ``safe_mode=True`` (custom layers and losses
    must be registered with ``keras.saving.register_keras_serializable`` and
    imported first, as Keras requires).

    **Model builders.** A loaded keraslearn estimator predicts without its model
    builder. Its ``model`` parameter holds a ``CodeReference`` to the builder's
    name (``module.qualname``); ``get_params``, ``clone`` and ``set_params``
    work with it, and ``fit`` imports the name only when it was given in
    ``trusted`` (a ValueError otherwise, saying so). A builder defined in the
    training script (``__main__``) or not importable here makes ``fit`` raise
    a ValueError naming it: give it again with ``set_params(model=build)``.
    Callback instances, lambdas and Keras layers holding weights are not
    stored (an ``UnstoredObject`` describes them, and ``fit`` asks for them
    the same way).

    **Continuing a loaded network.** Keras' config of some losses leaves settings
    out (``Huber``'s ``delta``). Where the estimator's ``loss`` parameters make
    the network's loss (``loss="huber", loss__delta=5.0``, or a loss instance
    given again with ``set_params``), a warm start or ``partial_fit`` compiles
    the network again with it, its optimizer state kept; one the builder compiled
    with such a loss cannot be continued (a ValueError says so).

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_iris
    >>> import keraslearn
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = keraslearn.MLPClassifier(hidden_layer_sizes=(8,), max_iter=5,
    ...                                random_state=0).fit(X, y)
    >>> path = keraslearn.save(clf, os.path.join(tempfile.mkdtemp(), "clf.keraslearn"))
    >>> keraslearn.get_untrusted_types(path)
    []
    >>> loaded = keraslearn.load(path)
    >>> bool((loaded.predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    names = _trust.normalise_trusted(trusted)
    path = _source(path)
    manifest, members = _archive.read(path)
    parts = _parts(manifest, members, path)
    _trust.check_trusted(parts, names, _archive.written_by(manifest))
    networks = _networks.load_networks(manifest, members, path)
    with _state.loading(networks, names):
        rebuilt = {member: _rebuild(data, member, path) for member, data in parts.items()}
    obj = rebuilt[_archive.OBJECT]
    if return_drift_detector:
        return obj, rebuilt.get(_archive.DRIFT_DETECTOR)
    return obj


def get_untrusted_types(path):
    """The types in a file that :func:`load` refuses unless they are passed in ``trusted``.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    types : list of str
        Fully qualified type names, sorted; empty when ``load(path)`` needs no
        ``trusted``. Review them before passing them to :func:`load`.

    Examples
    --------
    >>> import math, os, tempfile
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> import keraslearn
    >>> path = os.path.join(tempfile.mkdtemp(), "f.keraslearn")
    >>> _ = keraslearn.save(FunctionTransformer(math.sqrt), path)
    >>> keraslearn.get_untrusted_types(path)
    ['math.sqrt']
    >>> keraslearn.load(path, trusted=["math.sqrt"]).func is math.sqrt
    True
    """
    path = _source(path)
    manifest, members = _archive.read(path)
    found = set()
    for data in _parts(manifest, members, path).values():
        found.update(_trust.untrusted(data))
    return sorted(found)


def _type_name(obj):
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _unstorable(part, exc):
    """The ValueError for a ``part`` skops could not store (``exc``: why): the
    parameter at fault named where one is (a Dask array in fit__validation_data
    was told as a search's param_grid)."""
    import skops.io

    from .._tf import keras

    start = (f"keraslearn.save cannot store {type(part).__name__}: skops cannot store "
             f"{{}} ({type(exc).__name__}: {exc}).")
    try:
        params = part.get_params(deep=True) if hasattr(part, "get_params") else {}
    except Exception:  # noqa: BLE001 - a part whose parameters cannot be read: told generally
        params = {}
    for name, value in params.items():
        if _holds_estimators(value) or isinstance(value, keras.Model) or name.rsplit(
                "__", 1)[-1] in ("param_grid", "param_distributions"):
            continue  # (an estimator's own parameters come after it, a pipeline's steps'
            # too; a network is saved as a file, not written again here; a search's: below)
        try:
            skops.io.dumps(_state.portable_value(value))
        except Exception:  # noqa: BLE001 - whatever skops fails with names the parameter
            return ValueError(start.format(f"its parameter {name} (a {type(value).__name__})")
                              + " Give it values skops stores (NumPy arrays rather than another "
                              "library's: np.asarray(...)), or pickle the estimator "
                              "(joblib.dump).")
    searched = any(name.rsplit("__", 1)[-1] in ("param_grid", "param_distributions")
                   for name in params)
    return ValueError(start.format("a part of it") + (
        " A search's param_grid or param_distributions are "
        "stored with it, and skops cannot store Keras objects there (optimizer instances: "
        "search over names, 'adam', or routed parameters, optimizer__learning_rate) nor some "
        "SciPy distributions (scipy.stats.randint: give a list of values); or save the "
        "search's best_estimator_ alone." if searched else " Pickle it (joblib.dump) instead."))


def _holds_estimators(value):
    """Whether ``value`` is an estimator, or a list, tuple or dict holding one
    (a pipeline's steps, an ensemble's estimators)."""
    if isinstance(value, (list, tuple)):
        return any(map(_holds_estimators, value))
    if isinstance(value, dict):
        return any(map(_holds_estimators, value.values()))
    return hasattr(value, "get_params")


def _source(path):
    path = _files.user_path(path)
    if path.is_dir():
        hint = (" It is a SavedModel, as keraslearn.export writes: load it with "
                "tf.saved_model.load." if (path / "saved_model.pb").is_file() else "")
        raise ValueError(f"{str(path)!r} is a directory, not a file written by "
                         f"keraslearn.save.{hint}")
    if not path.exists():
        raise FileNotFoundError(f"No such file: {str(path)!r}.")
    if not path.is_file():  # (a pipe would wait for a writer, a device read without end)
        raise ValueError(f"{str(path)!r} is not a regular file (a pipe or a device), not a "
                         "file written by keraslearn.save.")
    return path


def _parts(manifest, members, path):
    """{member: skops bytes} of the object and the drift detector the manifest names."""
    parts = {}
    for key in ("object", "drift_detector"):
        entry = manifest.get(key)
        if entry is None and key == "drift_detector":
            continue
        member = entry.get("member") if isinstance(entry, dict) else None
        if member not in (_archive.OBJECT, _archive.DRIFT_DETECTOR) or member not in members:
            raise ValueError(f"{str(path)!r} is damaged: its manifest names no {key} it holds.")
        parts[member] = members[member]
    return parts


def _rebuild(data, member, path):
    import skops.io

    try:
        return skops.io.loads(data, trusted=_trust.skops_trusted(data))
    except (ValueError, Warning):
        raise
    except Exception as exc:
        raise ValueError(
            f"{str(path)!r}: {member} cannot be rebuilt ({type(exc).__name__}: {exc})."
        ) from None
