"""``log_fit``: one fitted estimator's parameters, curves, evaluation and model in a run.

Everything goes through MLflow's fluent API, into the active run or, when there
is none, into a run started here and ended before returning (marked FAILED when
logging fails). Epoch curves that an :class:`MLflowCallback` already logged live
into the same run are not logged a second time.
"""

import contextlib
import json
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from sklearn.utils.validation import check_is_fitted

from .._engine._layers import output_keys
from .._stacklevel import user_stacklevel
from ..utils._columns import polars_as_pandas
from ..utils._files import check_output_dir, remove_unwritten, staged
from ..utils._names import history_key
from . import _model
from ._mlflow import require_mlflow
from ._params import flatten_params, mlflow_key


@dataclass
class LoggedRun:
    """What :func:`log_fit` and :func:`log_search` logged, and where.

    Attributes
    ----------
    run_id : str
        The run logged to.

    model_uri : str or None
        ``mlflow.pyfunc.load_model(model_uri)`` loads the logged model; None
        when no model was logged.

    evaluation : EvaluationReport or None
        The evaluation on the test data (:func:`keraslearn.evaluation.evaluate`),
        when test data was given.

    child_run_ids : list of str
        The nested runs, one per candidate of a search (empty for a fit).
    """

    run_id: str
    model_uri: str | None = None
    evaluation: object = None
    child_run_ids: list = field(default_factory=list)


@contextlib.contextmanager
def active_or_new_run(mlflow, run_name):
    """The active run, or a run started for the block (FAILED if the block raises)."""
    run = mlflow.active_run()
    if run is not None:
        yield run
        return
    with mlflow.start_run(run_name=run_name) as run:
        yield run


def log_params(mlflow, run_id, params):
    """Log ``params`` into the run, but those it holds already with another
    value: MLflow keeps a parameter's first value and refuses the whole batch
    (a refit logged into the same run, a value the user logged first), so
    they are named in a warning and the rest is logged."""
    present = mlflow.MlflowClient().get_run(run_id).data.params
    kept = {k for k, v in params.items() if k in present and present[k] != str(v)}
    if kept:
        shown = ", ".join(sorted(kept)[:10]) + (", ..." if len(kept) > 10 else "")
        warnings.warn(f"The run {run_id} already has the parameters {shown} with other "
                      "values, which MLflow keeps: they are not logged again (log into a new "
                      "run to keep both).", UserWarning, stacklevel=user_stacklevel())
    mlflow.log_params({k: v for k, v in params.items() if k not in kept})


def log_history(mlflow, run_id, estimator):
    """Log the per-epoch curves of ``history_`` with ``step=epoch`` (held-out
    curves scored every few epochs at theirs); return their keys."""
    from ..evaluation._plots import _owned_history, curve_epochs

    history, epochs = curve_epochs(estimator)
    history = history or {}
    client = mlflow.MlflowClient()
    present = set(client.get_run(run_id).data.metrics)
    callbacks = _callback_prefixes(estimator)
    prefixes = {""} | callbacks
    # A callback logs Keras' names ("mse"), history_ has scikeras' ("mean_squared_error").
    network = getattr(_owned_history(estimator)[0], "model_", None) if callbacks else None
    outputs = output_keys(network)  # (a dict of outputs' keys)
    for prefix in callbacks:
        head = mlflow_key(f"{prefix}a")[:-1]  # the prefix as the callback's keys begin
        present |= {mlflow_key(f"{prefix}{history_key(name[len(head):], outputs)}")
                    for name in list(present) if name.startswith(head)}
    now = int(time.time() * 1000)
    metrics = [mlflow.entities.Metric(mlflow_key(k), float(v), now, step)
               for k, values in history.items()
               if not any(mlflow_key(f"{p}{k}") in present for p in prefixes)
               for step, v in zip(epochs[k].tolist(), values)]
    if metrics:
        client.log_batch(run_id, metrics=metrics)
    return sorted({m.key for m in metrics})


def _callback_prefixes(estimator):
    """The prefixes of the :class:`MLflowCallback` objects among the callbacks
    of ``estimator`` and of the estimators it holds (a pipeline's steps)."""
    from ._callback import MLflowCallback

    params = estimator.get_params(deep=True) if hasattr(estimator, "get_params") else {}
    found = set()
    for value in params.values():
        for item in (value if isinstance(value, (list, tuple)) else
                     value.values() if isinstance(value, dict) else [value]):
            if isinstance(item, MLflowCallback):
                found.add(str(item.prefix))
    return found


def _evaluated(estimator, X_test, y_test, *, name, tmp, zero_division):
    """The evaluation on the test data, made before the run is opened: test data
    it refuses (lengths, labels, shapes) is refused before anything is logged.
    Its files go into the temporary folder ``tmp``: its figures, where matplotlib
    is installed (the ``plots`` extra), and its page."""
    from ..evaluation import evaluate

    folder = os.path.join(tmp, "evaluation")
    os.mkdir(folder)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        from ..evaluation._evaluate import check_report_files

        report = evaluate(estimator, X_test, y_test, name=name, zero_division=zero_division)
        report.html_path = check_report_files(Path(folder), name, overwrite=False)[1]
        report.html_path.write_text(report.to_html(), encoding="utf-8")
        return report
    return evaluate(estimator, X_test, y_test, output_dir=folder, name=name,
                    zero_division=zero_division)


def _placed(report, figures, html_path):
    """Copy a logged evaluation's files into ``output_dir`` (``figures`` and
    ``html_path`` there, checked before), replacing an earlier evaluation's of
    its name as a whole: where logging failed, the folder was left as it was."""
    finals = [*(figures[key] for key in report.figures), html_path]
    with staged(finals) as stage:
        for source, final in zip([*report.figures.values(), report.html_path], finals):
            shutil.copyfile(source, stage[final])
    remove_unwritten(figures.values(), finals)
    report.figures = {key: figures[key] for key in report.figures}
    report.html_path = html_path


def log_evaluation(mlflow, report, *, prefix, keep_files):
    """Log an evaluation's metrics, figures and HTML page into the active run."""
    mlflow.log_metrics({mlflow_key(f"{prefix}{k}"): float(v)
                        for k, v in report.metrics.items()})
    for path in [*report.figures.values(), report.html_path]:
        mlflow.log_artifact(str(path), artifact_path="evaluation")
    summary = report.to_dict()
    summary["figures"] = {k: f"evaluation/{p.name}" for k, p in report.figures.items()}
    summary["html_path"] = f"evaluation/{report.html_path.name}"
    # Written compact: MLflow's log_dict puts each number of the confusion matrix
    # on its own indented line (36 MB at 2,000 classes).
    mlflow.log_text(json.dumps(summary, separators=(",", ":")), "evaluation/report.json")
    if not keep_files:  # the files are gone with their folder; the run has them
        report.figures, report.html_path = {}, None
    return report


def log_fit(estimator, X_test=None, y_test=None, *, run_name=None, log_model=True,
            input_example=None, output_dir=None, metric_prefix="test_", trusted=None,
            overwrite=False, code_paths=None, zero_division="warn"):
    """Log a fitted estimator or pipeline to MLflow: parameters, curves, evaluation, model.

    Logged into the active run, or into a run started here (named ``run_name``)
    and ended before returning:

    - **parameters**: ``get_params(deep=True)`` flattened (a pipeline's step
      parameters and routed ones such as
      ``kerasclassifier__optimizer__learning_rate`` included; values that are
      not simple types as a short text, see :func:`flatten_params`);
    - **metrics per epoch**: each curve of ``history_`` (of the estimator, a
      pipeline's last step or a search's best estimator) with ``step=epoch``,
      unless the run already has a metric of that name (an
      :class:`MLflowCallback` logged it live);
    - **evaluation**, when ``X_test`` and ``y_test`` are given: the metrics of
      :func:`keraslearn.evaluation.evaluate` prefixed with ``metric_prefix``,
      its figures (PNG, where matplotlib is installed: the ``plots`` extra) and
      HTML page under ``evaluation/``, and the report as ``evaluation/report.json``;
    - **the model** (``log_model=True``): see :func:`log_model`.

    Parameters
    ----------
    estimator : estimator instance
        A fitted estimator, pipeline or search.

    X_test : array-like, default=None
        Test rows to evaluate on; the first five are the model's input example.

    y_test : array-like, default=None
        Their targets.

    run_name : str, default=None
        The name of the run started when none is active; the evaluation's name.

    log_model : bool, default=True
        Log the estimator as an MLflow model named ``"model"``.

    input_example : DataFrame, Series or ndarray, default=None
        The model's input example (and so its signature); the first five rows
        of ``X_test`` when None. A signature inferred from rows without missing
        values refuses them, also in the columns the model imputes: give an
        example that holds them there (see :func:`log_model`).

    output_dir : str or path-like, default=None
        Where the evaluation's files are written before they are logged; a
        temporary folder when None, removed afterwards (the returned report
        then lists no files).

    metric_prefix : str, default="test_"
        Put before the evaluation's metric names (``test_accuracy``), apart
        from the per-epoch curves.

    trusted : list of str or type, default=None
        Passed to :func:`log_model`.

    overwrite : bool, default=False
        Replace the evaluation's files in ``output_dir`` if files of the same
        names are there; when False they are refused before anything is logged.

    code_paths : list of str or path-like, default=None
        Passed to :func:`log_model` (the modules of custom Keras objects).

    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        Value of the evaluation's ill-defined precision, recall and F1, as in
        scikit-learn ("warn": 0.0, with scikit-learn's warning).

    Returns
    -------
    logged : LoggedRun
        The run's id, the model's URI and the evaluation report.

    Raises
    ------
    ImportError
        When MLflow is not installed.

    sklearn.exceptions.NotFittedError
        When the estimator is not fitted (before anything is logged).

    FileExistsError
        When an evaluation file exists in ``output_dir`` and ``overwrite`` is
        False (before anything is logged).

    ValueError
        When ``X_test`` and ``y_test`` are not both given, or are refused by
        the evaluation (before anything is logged).

    See Also
    --------
    log_search : A search's candidates as nested runs.
    MLflowCallback : Epoch metrics logged live, during the fit.
    """
    mlflow = require_mlflow()
    check_is_fitted(estimator)
    if (X_test is None) != (y_test is None):
        raise ValueError("Give both X_test and y_test to evaluate, or neither.")
    return _log_fit(mlflow, estimator, estimator, X_test, y_test, run_name=run_name,
                    log_model=log_model, input_example=input_example, output_dir=output_dir,
                    metric_prefix=metric_prefix, trusted=trusted, overwrite=overwrite,
                    code_paths=code_paths, zero_division=zero_division)


def _log_fit(mlflow, estimator, model, X_test, y_test, *, run_name, log_model, input_example,
             output_dir, metric_prefix, trusted, overwrite, code_paths=None, extra=None,
             zero_division="warn"):
    """log_fit's work; ``model`` is what is logged as the model (a search's best
    estimator), ``extra(run)`` logs more into the run before it ends. The
    evaluation is made (its files checked first), and the model saved and its
    types checked, before anything is logged."""
    from ..evaluation._evaluate import _check_zero_division

    _check_zero_division(zero_division)  # (refused without test data too)
    output_dir = check_output_dir(output_dir, drawn_by="log_fit" if X_test is not None else None)
    code_paths = _model.checked_code_paths(code_paths)
    places = None  # where the evaluation's files go once logged
    if output_dir is not None and X_test is not None:
        from ..evaluation._evaluate import check_report_files

        places = check_report_files(output_dir, run_name or type(estimator).__name__, overwrite)
    with tempfile.TemporaryDirectory(prefix="keraslearn-mlflow-") as tmp:
        saved = signature = None
        if log_model and model is not None:
            saved = _model.saved_and_checked(model, trusted, tmp, optional=True)
            input_example = (_model.example_rows(X_test) if input_example is None
                             else polars_as_pandas(input_example))
        # After the model's checks: a refused model leaves no files in output_dir.
        report = None if X_test is None else _evaluated(
            estimator, X_test, y_test, name=run_name or type(estimator).__name__, tmp=tmp,
            zero_division=zero_division)
        if saved is not None:  # (after the evaluation: test data it refuses warns of nothing)
            # log_fit and log_search call this function: the warning points past both.
            signature = _model.signature_of(mlflow, model, input_example, stacklevel=4)
        logged = _log_into_run(mlflow, estimator, model, saved, report,
                               run_name=run_name, input_example=input_example,
                               signature=signature, keep_files=places is not None,
                               metric_prefix=metric_prefix, trusted=trusted,
                               code_paths=code_paths, extra=extra)
        if places is not None:
            _placed(report, *places)
        return logged


def _log_into_run(mlflow, estimator, model, saved, report, *, run_name,
                  input_example, signature, keep_files, metric_prefix, trusted, code_paths,
                  extra):
    with active_or_new_run(mlflow, run_name) as run:
        run_id = run.info.run_id
        log_params(mlflow, run_id, flatten_params(estimator))
        mlflow.set_tags({"keraslearn.estimator": type(estimator).__name__})
        log_history(mlflow, run_id, estimator)
        logged = LoggedRun(run_id)
        if report is not None:
            logged.evaluation = log_evaluation(mlflow, report, prefix=metric_prefix,
                                               keep_files=keep_files)
        if saved is not None:
            logged.model_uri = _model.log_saved(
                mlflow, model, saved, name="model", input_example=input_example,
                signature=signature, pip_requirements=None, trusted=trusted,
                code_paths=code_paths).model_uri
        if extra is not None:
            logged.child_run_ids = extra(run)
    return logged
