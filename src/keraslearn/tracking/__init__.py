"""Tracking keraslearn fits with MLflow: parameters, curves, evaluation, model.

- :class:`MLflowCallback` logs each epoch's metrics while a network trains;
- :func:`log_fit` logs a fitted estimator or pipeline: its flattened parameters,
  its ``history_`` per epoch, the evaluation report's metrics and figures
  (:mod:`keraslearn.evaluation`) and the model;
- :func:`log_search` logs a fitted search as one parent run with one nested run
  per candidate (its parameters and fold scores);
- :func:`log_model` logs the model alone: the file written by
  :func:`keraslearn.save` (no pickle) served by :class:`PyfuncModel`, which
  ``mlflow.pyfunc.load_model`` and ``mlflow models serve`` load.

The model is logged without pickle: the file written by :func:`keraslearn.save`
(Keras' ``.keras`` format for the networks, skops for the rest) inside a pyfunc
model logged "from code", whose loader calls :func:`keraslearn.load`.

MLflow is an optional dependency, imported only when one of these is used
(``pip install 'keraslearn[mlflow]'``; without it they raise an ImportError saying
so). Without a tracking URI set, runs go to MLflow's default local store in the
working directory (``mlflow.db``, a SQLite file, in current MLflow); set one with
``mlflow.set_tracking_uri`` or the ``MLFLOW_TRACKING_URI`` environment variable.
"""

_LAZY = {
    "MLflowCallback": "keraslearn.tracking._callback",
    "LoggedRun": "keraslearn.tracking._fit",
    "log_fit": "keraslearn.tracking._fit",
    "log_search": "keraslearn.tracking._search",
    "log_model": "keraslearn.tracking._model",
    "flatten_params": "keraslearn.tracking._params",
    "PyfuncModel": "keraslearn.tracking._pyfunc",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        if name == "PyfuncModel":
            from ._mlflow import require_mlflow

            require_mlflow()  # the class is a subclass of MLflow's PythonModel
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'keraslearn.tracking' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
