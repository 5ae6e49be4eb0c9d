"""Run exported artifacts with their own runtime only, in a fresh process.

Usage: python load_artifacts.py MANIFEST.json

The manifest lists ``{"format", "path", "feed", "out"}`` entries: ``feed`` is
an ``.npz`` of named inputs, ``out`` where the outputs are written (``.npz``).
This script imports TensorFlow only for SavedModels, ``ai_edge_litert`` only
for LiteRT files, ``onnxruntime`` only for ONNX files. scikit-learn and
keraslearn are made unimportable first (a ``None`` entry in ``sys.modules``
makes ``import`` raise ImportError, as Python documents), so an artifact that
needed either would fail here. (``import tensorflow`` alone would otherwise
load scikit-learn, through Keras' own scikit-learn wrappers.)
"""

import json
import sys

import numpy as np


def run_saved_model(path, feed):
    import tensorflow as tf

    serve = tf.saved_model.load(path).signatures["serving_default"]
    return {k: v.numpy() for k, v in serve(**{k: tf.constant(v) for k, v in feed.items()}).items()}


def run_litert(path, feed):
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=path).get_signature_runner("serving_default")
    return dict(runner(**feed))


def run_onnx(path, feed):
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feed)))


RUNNERS = {"tf_saved_model": run_saved_model, "litert": run_litert, "onnx": run_onnx}


def main(manifest):
    with open(manifest) as f:
        entries = json.load(f)
    for entry in entries:
        with np.load(entry["feed"], allow_pickle=True) as data:
            feed = {k: data[k] for k in data.files}
        outputs = RUNNERS[entry["format"]](entry["path"], feed)
        # Strings as str, whichever runtime returned them (bytes or str).
        outputs = {
            k: np.array([x.decode() if isinstance(x, bytes) else x for x in np.ravel(v)],
                        dtype=object).reshape(np.shape(v)) if np.asarray(v).dtype.kind in "OS"
            else np.asarray(v)
            for k, v in outputs.items()
        }
        np.savez(entry["out"], **outputs)
    print("tensorflow loaded:", "tensorflow" in sys.modules)


if __name__ == "__main__":
    # Blocked only when run as the script: importing this module (pytest's
    # doctest collection does) must not block them in the importing process.
    for _blocked in ("sklearn", "keraslearn"):
        sys.modules[_blocked] = None
    main(sys.argv[1])
