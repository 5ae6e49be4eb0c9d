"""What ``GET /metadata`` says about a served model: features, classes, versions."""

import json
import platform
import sys

import numpy as np

# (distribution, module): a version is read from the loaded module, else from the
# installed distribution, so that nothing is imported just to report it.
_LIBRARIES = (("keraslearn", "keraslearn"), ("keras", "keras"), ("tensorflow", "tensorflow"),
              ("scikit-learn", "sklearn"), ("numpy", "numpy"), ("pandas", "pandas"))


def describe(model, schema, methods, options):
    """The metadata document of a served model.

    Parameters
    ----------
    model : estimator
        The fitted model.

    schema : FeatureSchema
        Its features.

    methods : list of str
        The methods served.

    options : dict
        The server's options (batching, limits), reported as given.

    Returns
    -------
    metadata : dict
        JSON-ready: ``model`` (its class, and its steps for a pipeline),
        ``features`` (one ``{"name", "dtype", "kind"}`` each; names are null
        for a model fitted without them), ``n_features``, ``ignored_features``
        (columns a request may hold that the model does not read: an exported
        graph's unused ones), ``classes`` (null for a regressor),
        ``methods``, ``versions`` and ``options``.
    """
    classes = getattr(model, "classes_", None)
    return {
        "model": _name(model),
        "steps": [_name(step) for _, step in model.steps] if hasattr(model, "steps") else None,
        "features": schema.describe(),
        "n_features": schema.n_features,
        "ignored_features": sorted(schema.ignored),
        "classes": _plain_list(classes) if classes is not None else None,
        "methods": list(methods),
        "versions": versions(),
        "options": dict(options),
    }


def versions():
    """The versions of keraslearn, Keras, TensorFlow, scikit-learn, NumPy, pandas, Python."""
    from importlib import metadata

    found = {}
    for distribution, module in _LIBRARIES:
        version = getattr(sys.modules.get(module), "__version__", None)
        if version is None:
            try:
                version = metadata.version(distribution)
            except metadata.PackageNotFoundError:
                version = None
        found[distribution] = version
    found["python"] = platform.python_version()
    return found


def _name(obj):
    return f"{type(obj).__module__.split('.')[0]}.{type(obj).__qualname__}"


def _plain_list(classes):
    if isinstance(classes, list):  # one array of classes per output
        return [_plain_list(c) for c in classes]
    return plain(classes)


def plain(values):
    """``values`` (an array or NumPy scalar) as JSON writes them: dates and
    durations (a classifier's labels may be) as ISO 8601 strings."""
    values = np.asarray(values)
    if values.dtype.kind == "M":
        return np.datetime_as_string(values).tolist()
    if values.dtype.kind == "m":
        import pandas as pd

        return np.vectorize(lambda t: pd.Timedelta(t).isoformat(), otypes=[object])(
            values).tolist()
    return values.tolist()


# Values of an answer written at once: a larger one is written in a thread, in blocks.
BLOCK_CELLS = 16 * 1024


def json_text(content):
    """``content`` as JSON, its large arrays a block of rows at a time: written in a
    thread, the event loop answers other clients between the blocks (one call of
    the encoder holds the interpreter throughout)."""
    def text(value):
        return json.dumps(value, default=_plain, allow_nan=False, separators=(",", ":"))

    if not isinstance(content, dict):
        return text(content)
    parts = []
    for key, value in content.items():
        if isinstance(value, np.ndarray) and value.ndim and value.size > BLOCK_CELLS:
            step = max(1, BLOCK_CELLS // max(1, value[:1].size))
            rows = ",".join(text(plain(value[i:i + step]))[1:-1]
                            for i in range(0, len(value), step))
            parts.append(f"{text({key: 0})[1:-3]}:[{rows}]")  # (the key as json writes it)
        else:
            parts.append(f"{text({key: 0})[1:-3]}:{text(value)}")
    return "{" + ",".join(parts) + "}"


def _plain(value):
    """JSON for what ``json`` cannot write: NumPy scalars and arrays."""
    if isinstance(value, (np.ndarray, np.generic)):
        return plain(value)
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")
