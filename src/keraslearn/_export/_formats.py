"""Writing a pipeline's graph in each format, and reading it back to check it.

- ``tf_saved_model``: ``keras.export.ExportArchive`` with one endpoint, which
  is also the ``serving_default`` signature. (A plain ``tf.Module`` holding
  the Keras network saves, but TFLite's converter then reads its weights
  wrongly; the archive tracks Keras variables as the converters expect.)
- ``litert``: that SavedModel through TensorFlow's own converter
  (``tf.lite.TFLiteConverter.from_saved_model``, the converter Keras itself
  uses for LiteRT), restricted to LiteRT's builtin ops so that the file runs
  on the plain interpreter of ``ai-edge-litert``.
- ``onnx``: ``tf2onnx.convert.from_keras`` at opset 17 (tf2onnx goes up to
  18); it is the tf2onnx entry point that carries lookup tables over (as
  ONNX-ML ``CategoryMapper``), which string one-hot encoding needs.

Every artifact is loaded back with its own runtime and run on probe rows; it
must give the TensorFlow graph's outputs, since converters can fail silently
(tf2onnx leaves an op it cannot convert in the graph and carries on).
"""

import contextlib
import logging
import os
import re
import threading

import numpy as np

from .._tf import keras, tf

FORMATS = ("tf_saved_model", "litert", "onnx")
ALIASES = {"tflite": "litert", "saved_model": "tf_saved_model"}
ONNX_OPSET = 17
# The Python packages each format needs beyond TensorFlow, and the extra providing them.
_EXTRAS = {
    # (the interpreter module: the package itself loads none of LiteRT's native code)
    "litert": (("ai_edge_litert.interpreter", "ai-edge-litert"),),
    "onnx": (("tf2onnx", "tf2onnx"), ("onnx", "onnx"), ("onnxruntime", "onnxruntime")),
}
# Probe outputs must agree within float32 arithmetic differences between runtimes.
RTOL, ATOL = 1e-3, 1e-4


def check_format(fmt):
    """The canonical name of an export format."""
    if isinstance(fmt, str) and ALIASES.get(fmt, fmt) in FORMATS:
        return ALIASES.get(fmt, fmt)
    raise ValueError(f"Unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}.")


def require_extra(fmt):
    """Import the packages a format needs, or say which extra brings them.

    For ONNX, onnxruntime's telemetry is switched off first unless the user set
    ``ORT_DISABLE_TELEMETRY``: keraslearn runs onnxruntime only to check the file
    it wrote, and onnxruntime would otherwise upload usage events and keep a
    device id under the home folder (read once, when it is first imported).
    """
    import importlib

    if fmt == "onnx":
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

    for module, package in _EXTRAS.get(fmt, ()):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            missing = (exc.name or module).split(".")[0]  # (or a package it imports)
            what = (f"the {package!r} package" if missing == module.split(".")[0]
                    else f"the {missing!r} package ({package!r} imports it)")
            raise ImportError(f"Exporting to {fmt!r} needs {what}: "
                              f"pip install 'keraslearn[{fmt}]'") from exc


def write_saved_model(graph, directory):
    archive = keras.export.ExportArchive()
    archive.track(graph.model)
    # The network on its own too: with the preprocessing's string tables, Keras'
    # search for lookup tables did not reach a keras IntegerLookup's in it (found
    # on reading the export again: TensorFlow's "untracked resource" error).
    archive.track(graph.model.network)
    for table in graph.tables:
        archive.track(table)
    model = graph.model
    archive.add_endpoint("serve", lambda inputs: model(inputs), input_signature=[graph.signature])
    with _quiet():
        archive.write_out(str(directory), verbose=False)


def write_litert(saved_model_dir, path):
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        with _quiet():
            flatbuffer = converter.convert()
    except Exception as exc:  # the converter raises its own ConverterError
        missing = sorted(set(re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op",
                                        str(exc))))
        if missing:
            reason = f"LiteRT's builtin ops have no {', '.join(missing)}"
        elif "TensorList" in str(exc):  # a recurrent layer's loop over its steps
            reason = ("its builtin ops take a loop over steps (a recurrent layer: LSTM, GRU, "
                      "...) only at a fixed batch size, and the artifact takes any number of "
                      "rows; export it with format='tf_saved_model' or 'onnx'")
        else:
            reason = _first_line(exc)
        raise ValueError(f"LiteRT's converter cannot convert this pipeline: {reason}.") from exc
    path.write_bytes(flatbuffer)


def write_onnx(graph, path, metadata_json):
    import onnx
    import tf2onnx

    with _quiet():
        proto, _ = tf2onnx.convert.from_keras(
            graph.model, input_signature=[graph.signature], opset=ONNX_OPSET
        )
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as exc:
        raise ValueError(
            f"tf2onnx could not convert this pipeline to ONNX: {_first_line(exc)}"
        ) from exc
    entry = proto.metadata_props.add()
    entry.key, entry.value = "keraslearn", metadata_json
    onnx.save(proto, str(path))


def run_artifact(fmt, path, feed):
    """The outputs of an exported artifact on ``feed`` (input name -> array)."""
    if fmt == "tf_saved_model":
        serve = tf.saved_model.load(str(path)).signatures["serving_default"]
        outputs = serve(**{k: tf.constant(v) for k, v in feed.items()})
        return {k: v.numpy() for k, v in outputs.items()}
    if fmt == "litert":
        from ai_edge_litert.interpreter import Interpreter

        runner = Interpreter(model_path=str(path)).get_signature_runner("serving_default")
        return dict(runner(**feed))
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, feed)))


def check_artifact(fmt, path, graph):
    """Raise if the artifact does not compute the graph's outputs on the probe rows."""
    advice = (": report this to keraslearn." if fmt == "tf_saved_model" else ": its converter "
              "mistranslated the graph. Export to 'tf_saved_model' instead, or report this "
              "to keraslearn.")
    try:
        got = run_artifact(fmt, path, graph.probe)
    except Exception as exc:  # the runtime cannot run what the converter wrote
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        if "Could not find an implementation" in text:  # no kernel of that op and dtype
            advice = (": the runtime has no kernel for one of the network's operations in "
                      f"{graph.model.network_dtype}. Export to 'tf_saved_model' instead, or fit "
                      "a float32 network for it (dtype='float32' for the ready estimators).")
        raise RuntimeError(f"The {fmt} artifact does not run in its runtime "
                           f"({type(exc).__name__}: {text}){advice}") from exc
    problem = _compare(graph.expected, got, *graph.tolerance)
    if problem:
        raise RuntimeError(f"The {fmt} artifact does not compute what the pipeline's graph "
                           f"computes ({problem}){advice}")


def _compare(expected, got, rtol=RTOL, atol=ATOL):
    if set(got) != set(expected):
        return f"outputs {sorted(got)} instead of {sorted(expected)}"
    proba = expected.get("probabilities")
    for name, want in expected.items():
        have = _plain(got[name])
        want = _plain(want)
        if have.shape != want.shape:
            return f"{name!r} has shape {have.shape} instead of {want.shape}"
        if want.dtype.kind == "f":
            if not np.allclose(have, want, rtol=rtol, atol=atol, equal_nan=True):
                return f"{name!r} differs by up to {np.nanmax(np.abs(have - want)):.3g}"
        else:
            differ = have != want
            rows = differ.reshape(len(differ), -1).any(axis=1)
            if rows.any() and not (proba is not None and _near_tie(proba, rtol)[rows].all()):
                return f"{name!r} differs in {int(rows.sum())} row(s)"
    return None


def _plain(values):
    """Strings as str whichever runtime returned them (bytes or str)."""
    values = np.asarray(values)
    if values.dtype.kind in "OS":
        return np.vectorize(lambda v: v.decode() if isinstance(v, bytes) else str(v),
                            otypes=[object])(values)
    return values


def _near_tie(proba, rtol=RTOL):
    """Rows whose label may differ between runtimes by rounding."""
    proba = np.asarray(proba, dtype=np.float64)
    top = np.sort(proba, axis=1)
    gap = top[:, -1] - top[:, -2] if proba.shape[1] > 1 else np.full(len(proba), np.inf)
    return (gap < rtol) | (np.abs(proba - 0.5) < rtol).any(axis=1)


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__


_QUIET_LOGGERS = ("tf2onnx", "tensorflow", "absl")
_quiet_lock = threading.Lock()
_quieted = {"depth": 0, "levels": ()}  # exports under way, and the levels they found


class _LastResort(logging.Handler):
    """What a root logger without handlers does (logging.lastResort: WARNING
    and above to stderr), as a handler, so that basicConfig() leaves it be."""

    def emit(self, record):
        # Python's own: only where no logger on the record's way has a handler. Read
        # without logging's lock (getLogger takes it, under this handler's: a
        # dictConfig in another thread takes them the other way round).
        known, name = logging.Logger.manager.loggerDict, record.name
        while name and name != "root":
            logger = known.get(name)
            if isinstance(logger, logging.Logger) and logger.handlers:
                return
            name = name.rpartition(".")[0]
        last = logging.lastResort
        if last is not None and record.levelno >= last.level:
            last.handle(record)


_ROOT_PLACEHOLDER = _LastResort()


@contextlib.contextmanager
def _quiet():
    """Silence the converters' Python logging for the duration. Exports in
    several threads share one silence: the first saves the loggers' levels and
    the last restores them (each restoring its own left ERROR behind).
    TensorFlow's C++ log level, which tf2onnx sets in the environment (3, when
    its converter is first imported), is restored too: it would hide
    TensorFlow's C++ errors from every process started later. A root logger
    without handlers gets one meanwhile, doing what Python's logging does
    without (:class:`_LastResort`): TensorFlow's SavedModel writer logs through
    absl, which configured the root logger (basicConfig), so the user's own
    logging.basicConfig() did nothing afterwards."""
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    with _quiet_lock:
        if not _quieted["depth"]:
            _quieted["levels"] = [logger.level for logger in loggers]
            _quieted["cpp"] = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
            for logger in loggers:
                logger.setLevel(logging.ERROR)
            if not logging.root.handlers:
                logging.root.addHandler(_ROOT_PLACEHOLDER)
        _quieted["depth"] += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quieted["depth"] -= 1
            if not _quieted["depth"]:
                for logger, level in zip(loggers, _quieted["levels"]):
                    logger.setLevel(level)
                logging.root.removeHandler(_ROOT_PLACEHOLDER)
                if _quieted["cpp"] is None:
                    os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
                else:
                    os.environ["TF_CPP_MIN_LOG_LEVEL"] = _quieted["cpp"]
