"""Which types a file may hold for ``keraslearn.load`` to rebuild them without being told.

skops refuses any type it does not trust unless the caller lists it. Trusted by
default here, besides what skops trusts itself (Python's containers and
primitives, NumPy arrays and scalars, every public scikit-learn estimator):

- SciPy's sparse matrices and arrays (a sampler's or a neighbours model's
  fitted sparse X), which skops stores with SciPy's own ``save_npz`` and reads
  back without pickle, yet trusts only by their base classes' names;

- keraslearn's own classes that a saved estimator holds, by their exact
  names (its estimators and transformers, target encoders, ``DriftDetector``,
  and the references of ``_references``): never a name merely inside the
  ``keraslearn`` package, which a crafted file could use to reach a function
  or a module keraslearn imports (``keraslearn.<module>.pickle.loads``);
- imbalanced-learn's public estimators (its ``Pipeline``, samplers and
  ensembles), trusted for the same reason skops trusts scikit-learn's: they
  are estimators of a library keraslearn already depends on and imports;
- scikit-learn's cross-validation splitters (``KFold``, ``StratifiedKFold``,
  ...; numbers and seeds) and the scorers a search holds: with the
  estimator's own ``score`` (``_PassthroughScorer``, holding only the
  estimator), or by name (``scoring="roc_auc"``: a ``_Scorer`` holding one of
  the public functions of ``sklearn.metrics``, referenced, never called at
  load, and its keyword arguments; a ``TunedThresholdClassifierCV``'s
  ``_CurveScorer`` likewise, with the metadata-request records it holds), so
  that a fitted ``GridSearchCV`` loads as its best estimator does;
- the fitted records of scikit-learn's ``CalibratedClassifierCV``
  (``_CalibratedClassifier``: an estimator and its calibrators;
  ``_SigmoidCalibration`` and ``_TemperatureScaling``: numbers), so that a
  calibrated network loads as the network does;
- scikit-learn's experimental estimators (``IterativeImputer``, with the
  ``_ImputerTriplet`` records of its fitted steps, and the halving searches),
  by name: skops trusts the estimators scikit-learn lists, and it lists them
  only in a process that enabled them, so that a file saved where they were
  enabled would not load where they are not (``keraslearn serve``, an MLflow
  worker);
- ``numpy.dtype``, which skops stores as an empty NumPy array and reads back
  with NumPy's own loader (no code runs); skops does not trust it by default
  only because it has not yet decided to (an open question in its source).

Anything else (a transformer of the user's own, a function) is refused and
listed, and passes only when the user names it in ``trusted``.

``keraslearn.save`` also refuses a document naming code ``load`` could not
import (:func:`check_parts_load`), and names metadata-routing requests, which
skops cannot store (:func:`has_routing_requests`).
"""

import functools
import importlib
import sys

from packaging.version import InvalidVersion, Version


@functools.cache
def default_trusted():
    """The type names keraslearn trusts beyond skops' defaults (keraslearn's own
    are recognised by their module, see :func:`is_own`)."""
    import importlib

    import imblearn
    import imblearn.pipeline
    from sklearn.base import BaseEstimator

    names = {"numpy.dtype"}
    for package in ("combine", "ensemble", "over_sampling", "under_sampling"):
        module = importlib.import_module(f"imblearn.{package}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, BaseEstimator):
                names.add(_type_name(obj))
    names.update(_type_name(cls) for cls in (imblearn.pipeline.Pipeline,
                                             imblearn.FunctionSampler))
    names.update(_splitters())
    names.update(("sklearn.metrics._scorer._PassthroughScorer",
                  "sklearn.metrics._scorer._Scorer", "sklearn.metrics._scorer._CurveScorer",
                  "sklearn.utils._metadata_requests.MetadataRequest",
                  "sklearn.utils._metadata_requests.MethodMetadataRequest"))
    names.update(_metric_functions())
    names.update(("sklearn.calibration._CalibratedClassifier",
                  "sklearn.calibration._SigmoidCalibration",
                  "sklearn.calibration._TemperatureScaling"))
    names.update(_EXPERIMENTAL)
    names.update(_sparse_types())
    return frozenset(names)


def _sparse_types():
    """SciPy's sparse matrices and arrays of every format skops stores (with
    ``scipy.sparse.save_npz``, read back by ``load_npz`` without pickle): skops
    trusts their base classes, never the concrete csr_matrix a file names."""
    import scipy.sparse

    return {_type_name(getattr(scipy.sparse, f"{fmt}_{kind}"))
            for fmt in ("csr", "csc", "coo", "bsr", "dia") for kind in ("matrix", "array")
            if hasattr(scipy.sparse, f"{fmt}_{kind}")}


# scikit-learn's experimental estimators, which it lists only once enabled.
_EXPERIMENTAL = (
    "sklearn.impute._iterative.IterativeImputer",
    "sklearn.impute._iterative._ImputerTriplet",  # (column, neighbours, fitted estimator)
    "sklearn.model_selection._search_successive_halving.HalvingGridSearchCV",
    "sklearn.model_selection._search_successive_halving.HalvingRandomSearchCV",
)


def _metric_functions():
    """The public functions of ``sklearn.metrics``, which named scorers hold,
    and the two its likelihood-ratio scorers hold of their module's own."""
    import inspect

    import sklearn.metrics as metrics

    return {f"{obj.__module__}.{obj.__qualname__}" for obj in map(
        functools.partial(getattr, metrics), metrics.__all__) if inspect.isfunction(obj)} | {
        f"sklearn.metrics._scorer.{side}_likelihood_ratio" for side in ("positive", "negative")}


def _splitters():
    """Type names of scikit-learn's public cross-validation splitters."""
    import sklearn.model_selection as selection
    from sklearn.base import BaseEstimator

    found = []
    for name in selection.__all__:
        if name.startswith("Base") or "Halving" in name:  # experimental: needs an import
            continue
        obj = getattr(selection, name)
        if (isinstance(obj, type) and hasattr(obj, "split") and hasattr(obj, "get_n_splits")
                and not issubclass(obj, BaseEstimator)):
            found.append(_type_name(obj))
    return found


@functools.cache
def _own_types():
    """The names of keraslearn's classes a saved estimator may hold."""
    from .. import (
        BaseWrapper,
        ImageClassifier,
        KerasClassifier,
        KerasRegressor,
        MLPClassifier,
        MLPRegressor,
    )
    from .._engine._targets import IdentityTargetEncoder
    from .._multi_input import MultiInput
    from ..monitoring import DriftDetector
    from ..preprocessing import ColumnGroups, ImageLoader
    from ..utils.transformers import (
        ClassifierLabelEncoder,
        RegressorTargetEncoder,
        TargetReshaper,
    )
    from . import _references as refs

    return frozenset(_type_name(cls) for cls in (
        BaseWrapper, KerasClassifier, KerasRegressor, MLPClassifier, MLPRegressor,
        ImageClassifier, ColumnGroups, ImageLoader, DriftDetector, ClassifierLabelEncoder,
        RegressorTargetEncoder, TargetReshaper, IdentityTargetEncoder, MultiInput,
        refs.NetworkReference,
        refs.CodeReference, refs.KerasObjectConfig, refs.UnstoredObject))


def is_own(name):
    """Whether a type name is one of keraslearn's own classes that saved
    estimators hold (the exact name: not any name in the package)."""
    return name in _own_types()


def _type_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def untrusted(skops_data, trusted=()):
    """Type names in a skops document that neither skops, keraslearn nor
    ``trusted`` trusts, sorted."""
    allowed = default_trusted() | set(trusted)
    return sorted(name for name in skops_trusted(skops_data)
                  if not is_own(name) and name not in allowed)


def skops_trusted(skops_data):
    """Every type name of a document that :func:`untrusted` left, to give skops;
    a ValueError when it is not a skops document."""
    import skops.io

    try:
        return sorted(skops.io.get_untrusted_types(data=skops_data))
    except Exception as exc:  # zipfile's, json's or KeyError: not what save wrote
        raise ValueError(f"the file is damaged: a part of it is not a skops document "
                         f"({type(exc).__name__}: {exc}).") from None


def check_trusted(parts, trusted, written=None):
    """Raise a ValueError listing every untrusted type of the documents ``parts``
    ({member: skops bytes}) of a file ``written`` by that keraslearn version."""
    refused = sorted({name for data in parts.values() for name in untrusted(data, trusted)})
    if refused:
        raise UntrustedTypesError(refused, written)
    # Trusted by the caller, keraslearn's names this keraslearn lacks still cannot load.
    gone = sorted({name for data in parts.values() for name in skops_trusted(data)
                   if _is_keraslearns(name) and not _found(name)})
    if gone:
        raise ValueError(f"keraslearn.load cannot load this file, trusted or not: {gone} "
                         + _missing_classes(written))


def _later(written, version):
    """Whether the version text ``written`` names a later release than ``version``
    (False where it is not a version)."""
    try:
        return Version(str(written)) > Version(version)
    except InvalidVersion:
        return False


def _is_keraslearns(name):
    return name.split(".", 1)[0] == "keraslearn"


def _found(name):
    """Whether the dotted ``name`` (module, then qualified name) is found here."""
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:i])
        try:
            found = importlib.import_module(module)
        except ImportError as exc:
            if exc.name is not None and not module.startswith(exc.name):
                return True  # it is here, needing another package: skops says which
            continue
        for attribute in parts[i:]:
            found = getattr(found, attribute, None)
        return found is not None
    return False


def _missing_classes(written):
    """Why names inside keraslearn that it does not hold are in a file ``written``
    by that keraslearn version, and what to do."""
    from .. import __version__

    other = ("another build of it" if written == __version__
             else f"another version (it records keraslearn {written or 'unknown'})")
    since = ("this one renamed or removed; load it with the keraslearn that wrote it, and "
             "refit with this one." if not _later(written, __version__) else
             "this one does not have yet; upgrade keraslearn to load it.")
    return (f"are names inside keraslearn that the files of this keraslearn ({__version__}) "
            f"do not hold: the file was written by {other} whose classes {since}")


class UntrustedTypesError(ValueError):
    """A file holds types neither skops, keraslearn nor the caller trusts
    (``types``, sorted); its message says how to trust them from Python."""

    def __init__(self, types, written=None):
        self.types, self.written = list(types), written
        # keraslearn's own names it does not trust: classes another version saved
        # (since renamed or removed), which trusting would not make loadable.
        own = [name for name in self.types if _is_keraslearns(name)]
        self.version_hint = f" Of them, {own} {_missing_classes(written)}" if own else ""
        super().__init__(
            f"keraslearn.load refused this file: it holds {len(types)} type(s) that are "
            f"not trusted by default: {self.types}. Loading them could run their code. If "
            "you trust where the file comes from, pass them: keraslearn.load(path, "
            "trusted=[...]) (keraslearn.get_untrusted_types(path) lists them)."
            + self.version_hint)

    def __reduce__(self):  # (its message is not what __init__ takes: a worker's re-raise)
        return type(self), (self.types, self.written)


def normalise_trusted(trusted):
    """``trusted`` as a set of names: None, or a list of names and types."""
    if trusted is None:
        return set()
    if isinstance(trusted, (str, type)) or not hasattr(trusted, "__iter__"):
        raise TypeError(
            f"trusted must be None or a list of type names (or types), got {trusted!r}."
        )
    names = set()
    for item in trusted:
        if isinstance(item, str):
            names.add(item)
        elif isinstance(item, type):
            names.add(_type_name(item))
        elif callable(item) and hasattr(item, "__qualname__"):
            names.add(f"{item.__module__}.{item.__qualname__}")
        else:
            raise TypeError(f"trusted holds {item!r}: give type names as str, or types.")
    return names


def check_parts_load(blobs, path):
    """Refuse a skops part holding a dict whose keys load would change, or that
    names code load could not import (a lambda, a nested function or a lock
    held by a scikit-learn object): such a file would never load, or not as it
    was, and it must not replace a good one. Warn of code in
    ``__main__``, which loads only where ``__main__`` defines it again."""
    import warnings

    for member, data in blobs.items():
        _check_keys_load(data, member, path)
        names = skops_trusted(data)
        lost = [name for name in names if not _importable(name)]
        if lost:
            hint = (" A lambda or a nested function has no name to import it by: define "
                    "it at the top level of a module." if any(
                        "<lambda>" in name or "<locals>" in name for name in lost) else "")
            raise ValueError(
                f"keraslearn.save refused to write {str(path)!r}: its {member} names "
                f"{lost}, which load could not import.{hint}")
        in_main = [name for name in names if name.startswith("__main__.")]
        if in_main:
            warnings.warn(
                f"keraslearn.save: {str(path)!r} refers to {in_main}, defined in __main__ "
                "(the script or notebook saving it), which load imports: the file loads "
                "only where __main__ defines them again. Define them in a module to load "
                "the file anywhere.", UserWarning, stacklevel=3)


def _check_keys_load(data, member, path):
    """Refuse a dict skops would read back changed: it writes keys as JSON text
    and makes each again with its type, so that ``{False: 1, True: 5}`` comes
    back as ``{True: 5}`` (``bool("false")``), ``{1: a, "1": b}`` as one key, and
    a ``None`` key not at all (a class_weight keyed by boolean labels, and a
    search's records of it, silently changed)."""
    import io
    import json
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
    nodes = [(schema, ())]
    while nodes:
        node, where = nodes.pop()
        if isinstance(node, list):
            nodes.extend((child, where) for child in node)
        elif isinstance(node, dict) and "__loader__" not in node:  # a dict's content, by key
            nodes.extend((child, where + (str(key),)) for key, child in node.items())
        elif isinstance(node, dict):
            content = node.get("content")
            if node["__loader__"] == "DictNode" and isinstance(content, dict):
                _check_keys(node, content, member, where, path)
            if node["__loader__"] == "ObjectNode":
                where += (str(node.get("__class__")),)
            nodes.extend((child, where) for key, child in node.items()
                         if key not in ("key_types", "__class__", "__module__", "__loader__"))


def _check_keys(node, content, member, where, path):
    kinds = [kind.get("__class__") for kind in node["key_types"].get("content", [])]
    problem = ("are booleans (False and True come back as True alone)"
               if {"bool", "bool_"} & set(kinds)  # (NumPy 1's booleans: bool_)
               else "include None (it does not come back)" if "NoneType" in kinds
               else "are equal as text (1 and '1' come back as one key)"
               if len(content) < len(kinds) else None)
    if problem is not None:
        raise ValueError(
            f"keraslearn.save refused to write {str(path)!r}: its {member} holds a dict "
            f"({' > '.join(where[-4:]) or 'the object'}) whose keys {problem}: skops, which "
            "writes the file, keeps a dict's keys as text. Key it by numbers or strings (a "
            "class_weight of boolean labels: fit 0/1 labels), or store the object with "
            "pickle (joblib.dump).")


def _importable(name):
    """Whether skops' ``module.qualname`` resolves in this process, where the
    saved object's modules are imported."""
    parts = name.split(".")
    for i in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:i]))
        if module is None:
            continue
        try:
            functools.reduce(getattr, parts[i:], module)
        except AttributeError:
            return False
        return True
    return False


def has_routing_requests(obj, seen):
    """Whether ``obj``, or an estimator or scorer it holds, has routing requests."""
    if id(obj) in seen:
        return False
    seen.add(id(obj))
    values = list(obj.values()) if isinstance(obj, dict) else obj
    if isinstance(values, (list, tuple)):  # a search's scoring dict, a fitted estimators_
        return any(has_routing_requests(value, seen) for value in values)
    state = getattr(obj, "__dict__", {})  # scikit-learn keeps requests in _metadata_request
    # (scikit-learn 1.7's own requests name their owner, a search's default scorer's too:
    # no cycle; from 1.8 they refer to it)
    request = state.get("_metadata_request")
    return (request is not None and not isinstance(getattr(request, "owner", None), str)) or (
        hasattr(obj, "get_params") and any(
            has_routing_requests(value, seen) for value in state.values()))
