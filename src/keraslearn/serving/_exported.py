"""An exported SavedModel as a model the server takes (:class:`ExportedModel`)."""

import json
import re
from pathlib import Path

import numpy as np
from sklearn.utils.metaestimators import available_if

from ..utils._files import user_path
from ..utils._labels import refuse_nan
from . import _sent


def _classifies(model):
    return model.task_ == "classification"


class ExportedModel:
    """A pipeline exported with ``keraslearn.export(..., format="tf_saved_model")``,
    predicting as the pipeline did, for :func:`make_app` and ``keraslearn serve``.

    The SavedModel is loaded with ``tf.saved_model.load`` and called through its
    ``serving_default`` signature: nothing of scikit-learn's fitted objects is
    read, and no Python object is unpickled. Its features, their dtypes and the
    classes are those the export recorded (``assets.extra/keraslearn.json``).
    A SavedModel is a TensorFlow program, whose graph may read and write files
    where it runs: load only exports from a source you trust.

    Parameters
    ----------
    path : str or path-like
        The directory ``keraslearn.export`` wrote.

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        The columns the exported graph takes (only for a pipeline fitted on a
        DataFrame). Columns the pipeline dropped are not among them.

    unused_features_ : list of str
        The columns the pipeline was fitted on and dropped (only for a
        pipeline fitted on a DataFrame): a request to :func:`make_app` may
        hold them, as one to the pipeline itself must, and they are not read.

    n_features_in_ : int
        How many features each row has.

    imputed_features_ : list
        The features (names, or indices for a pipeline fitted on an array)
        whose NaN the exported graph takes: number columns whose NaN its
        preprocessing makes finite (an imputer, an encoder that learnt NaN),
        text columns a ``SimpleImputer`` reads first. :func:`make_app` takes
        missing values there, and :meth:`predict` refuses them elsewhere.

    classes_ : ndarray
        The class labels, for a classifier.

    input_dtypes_ : dict
        Feature name (or index) to the dtype its values are sent as:
        ``"float32"`` for numbers, ``"str"`` for strings one-hot encoded in the
        graph, the network's integer dtype where its network reads integer
        columns as they come (ids). :func:`make_app` reads it when given no ``dtypes``.

    task_ : {"classification", "regression"}
        What the exported estimator does.

    metadata_ : dict
        The export's metadata document.

    Notes
    -----
    The graph computes in float32 and encodes a category unseen in fit as zeros
    (see :func:`keraslearn.export`), so its answers can differ from the
    pipeline's in the last float32 digits, and it never refuses an unknown
    category. Image models are not served: the server takes tables. Infinity
    is refused, as the pipeline refuses it, and so is a missing value (NaN,
    None) outside ``imputed_features_``.

    Examples
    --------
    >>> from keraslearn.serving import ExportedModel, make_app
    >>> app = make_app(ExportedModel("exported/"))  # doctest: +SKIP
    """

    def __init__(self, path):
        path = user_path(path)
        self.path = path
        self.metadata_ = meta = _read_metadata(path)
        from .._export._api import METADATA_NAME

        record = str(path / "assets.extra" / METADATA_NAME)
        try:
            self._read_inputs(meta)
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise ValueError(f"{record!r} is damaged ({type(exc).__name__}: {exc})") from None
        import tensorflow as tf

        try:
            self._loaded = tf.saved_model.load(str(path))  # keeps the signature's variables
            self._serve = self._loaded.signatures[meta["signature"]]
        except (OSError, RuntimeError, KeyError, TypeError, tf.errors.OpError) as exc:
            raise ValueError(f"{path} holds keraslearn's export record, but TensorFlow cannot "
                             f"load its SavedModel (damaged or incomplete: "
                             f"{type(exc).__name__}: {str(exc).strip()[:300]})") from exc
        mismatch = self._mismatch(meta)
        if mismatch:  # (edited, or another export's: answers would be wrong or fail)
            raise ValueError(f"{record!r} does not describe the SavedModel beside it: {mismatch}")

    def _mismatch(self, meta):
        """What the metadata says that the graph's signature contradicts, or None."""
        taken = self._serve.structured_input_signature[1]
        given = {entry["name"]: entry["dtype"] for entry in meta["inputs"]}
        if set(given) != set(taken):
            return f"inputs {sorted(given)}, where the graph takes {sorted(taken)}"
        for name, dtype in given.items():
            if taken[name].dtype.name != dtype:
                return f"input {name!r} of {dtype}, where the graph takes {taken[name].dtype.name}"
        outputs = self._serve.structured_outputs
        needs = ("label", "probabilities") if self.task_ == "classification" else ("predictions",)
        if not set(needs) <= set(outputs):
            return (f"a {self.task_} model, whose graph answers {sorted(outputs)} (not "
                    f"{list(needs)})")
        width = outputs["probabilities"].shape[-1] if self.task_ == "classification" else None
        if width is not None and width != len(self.classes_):
            return f"{len(self.classes_)} classes, where the graph gives {width} probabilities"
        return None

    def _read_inputs(self, meta):
        """The features, dtypes and classes the export's metadata records."""
        inputs = meta["inputs"]
        if len(inputs) == 1 and inputs[0]["feature"] is None:
            shape = inputs[0]["shape"]
            if len(shape) != 2:
                raise ValueError(f"{str(self.path)!r} takes inputs of shape {shape} (images, or "
                                 "sequences: samples of several dimensions); "
                                 f"the server takes tables of rows")
            self._names = None
            if not isinstance(shape[1], int):
                raise TypeError(f"the input's shape is {shape}")
            self.n_features_in_ = shape[1]
            dtype = _wire_dtype(inputs[0]["dtype"])
            self.input_dtypes_ = {j: dtype for j in range(self.n_features_in_)}
        else:
            self._names = [entry["name"] for entry in inputs]
            self.feature_names_in_ = np.asarray([entry["feature"] for entry in inputs],
                                                dtype=object)
            self.n_features_in_ = len(inputs)
            self.input_dtypes_ = {entry["feature"]: _wire_dtype(entry["dtype"])
                                  for entry in inputs}
            # Columns the pipeline was fitted on and dropped: a request may hold them.
            self.unused_features_ = list(meta.get("unused_features") or [])
        # Exports older than this record do not say: missing values are refused.
        self.imputed_features_ = list(meta.get("imputed_features") or [])
        self._imputed_unrecorded = "imputed_features" not in meta
        self._dtypes = [_graph_dtype(entry["dtype"]) for entry in inputs]
        self.task_ = meta["task"]
        self._network_reads = meta.get("network_reads")  # (a 16-bit float, or None)
        self._network_ids = ids = meta.get("network_ids")  # (a network of integer ids)
        if ids is not None:  # sent as whole numbers (a server parses them so), in the
            # columns reaching the network as sent (all, unless the record names them)
            self._ids_in = set(self.input_dtypes_ if ids.get("columns") is None
                               else ids["columns"])
            self.input_dtypes_ = {key: ids["dtype"] if key in self._ids_in else dtype
                                  for key, dtype in self.input_dtypes_.items()}
        if self.task_ == "classification":
            self.classes_ = np.asarray(meta["classes"])

    def __sklearn_is_fitted__(self):
        return True

    def predict(self, X):
        """The labels (classifier) or values (regressor) the exported graph gives.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Rows with the exported pipeline's columns (a DataFrame when it was
            fitted on one).

        Returns
        -------
        y : ndarray
            Strings come back as ``str``.
        """
        outputs = self._run(X)
        if self.task_ == "classification":
            return _text(outputs["label"])
        return outputs["predictions"]

    @available_if(_classifies)
    def predict_proba(self, X):
        """The class probabilities the exported graph gives (classifiers only).

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            As for :meth:`predict`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._run(X)["probabilities"]

    def _run(self, X):
        import tensorflow as tf

        if self._names is None:
            from scipy import sparse

            # The graph takes dense rows; a sparse matrix, as the estimator
            # took it, is densified (np.asarray made it a 0-d object array).
            values = X.toarray() if sparse.issparse(X) else np.asarray(X)
            if values.ndim != 2 or values.shape[1] != self.n_features_in_:
                raise ValueError(f"X has shape {values.shape}, but this ExportedModel takes "
                                 f"rows of {self.n_features_in_} features")
            _sent.refuse_unreal(X, values)
            keys = range(self.n_features_in_)
        else:
            keys, values = self.feature_names_in_, None
            absent = [f for f in keys if not hasattr(X, "columns") or f not in X.columns]
            if hasattr(X, "columns") and absent:
                raise ValueError(f"X lacks the exported column(s) {absent}")
            if hasattr(X, "columns"):
                _sent.refuse_unreal(X[list(keys)])
        if self._network_ids is not None:  # ids checked as the numbers sent, before any cast
            # (each column's graph input: found on reading the change again, the
            # first input's was taken for all, a text one hiding float32's rounding)
            dtypes = self._dtypes * len(keys) if self._names is None else self._dtypes
            sent = [self._read(X, values, key, i, dtype)
                    for i, (key, dtype) in enumerate(zip(keys, dtypes))]
            self._refuse_before(sent, keys)
            for key, given, dtype in zip(keys, sent, dtypes):
                if key in self._ids_in:
                    self._refuse_ids(given, key, dtype)
            columns = [given.astype(dtype, copy=False) for given, dtype in zip(sent, dtypes)]
            values = np.stack(columns, axis=1) if self._names is None else None
        else:
            if self._names is None:
                values = _sent.cast(values, self._dtypes[0])
                columns = values.T
            else:
                columns = [_sent.column(X, f, dtype) for f, dtype in zip(keys, self._dtypes)]
            self._refuse_before(columns, keys)
        feed = ({"inputs": tf.constant(values)} if self._names is None else
                {name: tf.constant(c) for name, c in zip(self._names, columns)})
        try:
            outputs = {k: v.numpy() for k, v in self._serve(**feed).items()}
        except tf.errors.InvalidArgumentError as exc:
            # An id beyond the rows of an Embedding (a gather's index) is the
            # input's fault, not the server's (found in an audit: a 500 carrying
            # TensorFlow's function and node names); other graph errors stay the
            # model's (found in review).
            said = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", exc.message).splitlines()
            if not said or not re.match(r"indices\[[\d,]*\] = -?\d+ is not in \[", said[0]):
                raise
            raise ValueError("The exported model's graph refuses these values: "
                             f"{said[0].strip()} (an id beyond an Embedding's rows)") from None
        if self.task_ == "classification":  # (NaN probabilities gave the first class)
            refuse_nan(outputs["probabilities"], "The exported model", self._nan_cause())
        return outputs

    def _read(self, X, values, key, i, dtype):
        """Column ``key`` (the ``i``-th, the graph's input ``dtype``) of a request
        to a network of ids: the numbers sent where it reaches the network as
        sent, as others' otherwise."""
        if key not in self._ids_in:
            return (_sent.cast(values[:, i:i + 1], dtype, [key])[:, 0]
                    if self._names is None else _sent.column(X, key, dtype))
        return _sent.numbers(values[:, i] if self._names is None else
                             _sent.named(X, key).to_numpy(), key)

    def _nan_cause(self):
        if self._network_reads is None:
            return ""
        largest = float(np.finfo(self._network_reads).max)
        return (f", or beyond {largest:,.6g} after the pipeline's preprocessing: its network "
                f"reads {self._network_reads}, where they become infinite")

    def _refuse_before(self, columns, keys):
        """Infinity, which the pipeline refuses anywhere, and a missing value
        (NaN, None) in a feature whose NaN the graph does not take (see
        ``imputed_features_``): it would answer a row with one something that
        means nothing, and TensorFlow cannot take None in a text column."""
        import pandas as pd

        imputed = set(self.imputed_features_)
        for key, column in zip(keys, columns):
            checks = [(np.isinf(column), "infinity")] if column.dtype.kind == "f" else []
            if key not in imputed:
                checks.append((np.isnan(column) if column.dtype.kind == "f" else
                               pd.isna(column), "a missing value (NaN or None)"))
            for bad, what in checks:
                if bad.any():
                    why = (f" (it takes missing values in "
                           f"{sorted(imputed, key=str) or 'no feature'})")
                    if what != "infinity" and self._imputed_unrecorded:
                        why = ("; it was exported by a keraslearn that did not record which "
                               "features its graph imputes: export the pipeline again to "
                               "send missing values")
                    raise ValueError(
                        f"Input X contains {what} in feature {key!r}, row "
                        f"{int(np.flatnonzero(bad)[0])}, which the exported pipeline does not "
                        f"take{why}")

    def _refuse_ids(self, given, key, graph_dtype):
        """Values ``given`` for a feature the network's integer input would take
        truncated or wrapped, or ids outside the rows of the Embedding reading
        them, as the estimator refuses them; and, where the graph's input
        (``graph_dtype``) is float32 (earlier keraslearn's exports, and those whose
        columns do not all reach the network as sent), ids float32 does not hold
        exactly where a layer reads them as ids (found in review: 16777217 was
        read as 16777216); compared as the numbers :func:`._sent.numbers` gives."""
        if given.dtype.kind not in "biuf":
            return  # (not numbers: the graph's own error)
        given = given.astype(np.int64) if given.dtype.kind == "b" else given
        ids = self._network_ids
        dtype, rows = np.dtype(ids["dtype"]), ids["rows"]
        low, high = (0, rows) if rows is not None else (
            np.iinfo(dtype).min, np.iinfo(dtype).max + 1)
        lookup = ids.get("lookup", True)  # (an export recording none: as one of ids)
        with np.errstate(invalid="ignore", over="ignore"):
            bad = (given < low) | (given >= high)
            if given.dtype.kind == "f":
                bad |= given != np.floor(given)
            column = given.astype(graph_dtype)  # (the graph's input)
            read = column.astype(np.float64)  # as the graph casts it back: out of range, read
            outside = (read < low) | (read >= high)  # past the top, wrapped (found in review)
            rounded = ~bad & (column.astype(given.dtype) != given) & (lookup | outside)
        takes = (f"ids of the {rows} rows of the Embedding reading them" if rows is not None
                 else f"whole numbers within {dtype}'s range")
        for odd, why in ((bad, f"the exported network takes {takes}"),
                         (rounded, "the exported graph's float32 input cannot hold it exactly")):
            if odd.any():
                row = int(np.flatnonzero(odd)[0])
                value = given[row].item()  # (as sent)
                shown = int(value) if abs(value) < 2**64 and value == int(value) else value
                raise ValueError(f"Input X holds {shown} in feature {key!r}, row {row}, but "
                                 f"{why} (its graph would read it as another value, or fail)")

    def __repr__(self):
        return f"ExportedModel({str(self.path)!r})"


def is_exported(path):
    """Whether ``path`` is a directory holding a SavedModel."""
    return Path(path, "saved_model.pb").is_file()


def _read_metadata(path):
    from .._export._api import EXPORT_FORMAT_VERSION, METADATA_NAME

    if not is_exported(path):
        raise ValueError(f"{str(path)!r} is not a SavedModel directory (it has no "
                         f"saved_model.pb)")
    file = path / "assets.extra" / METADATA_NAME
    if not file.is_file():
        raise ValueError(f"{str(path)!r} is a SavedModel that keraslearn.export did not write "
                         f"(it has no assets.extra/{METADATA_NAME}): its features and "
                         f"classes are unknown")
    try:
        meta = json.loads(file.read_text())
        version = int(meta["export_format_version"])
        meta["inputs"], meta["signature"]  # noqa: B018 - present
        if meta["task"] not in ("classification", "regression") or not meta["inputs"]:
            raise ValueError(f"task {meta['task']!r} with {len(meta['inputs'])} inputs is not "
                             "what keraslearn.export writes")
    except (ValueError, KeyError, TypeError, OverflowError) as exc:
        raise ValueError(f"{str(file)!r} is damaged ({type(exc).__name__}: {exc})") from None
    if version > EXPORT_FORMAT_VERSION:
        raise ValueError(f"{str(path)!r} was exported in format version {version}, newer than "
                         f"this keraslearn reads ({EXPORT_FORMAT_VERSION}): upgrade keraslearn")
    return meta


def _graph_dtype(name):
    return np.dtype(object) if name == "string" else np.dtype(name)


def _wire_dtype(name):
    return "str" if name == "string" else name


def _text(values):
    if values.dtype.kind == "O":  # TensorFlow's strings are bytes
        return np.vectorize(lambda v: v.decode("utf-8"), otypes=[object])(values)
    return values
