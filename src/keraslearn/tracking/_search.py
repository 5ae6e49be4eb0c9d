"""``log_search``: a fitted search as one parent run and one nested run per candidate.

Design: the search is logged after ``fit``, from ``cv_results_``, which holds every
candidate's parameters and fold scores whatever ran the fits -- ``n_jobs=1``,
joblib's worker processes, a Dask cluster. Nothing has to reach the workers, and a
search logs the same runs however it was run. (Curves of each fit, live, are the
job of :class:`MLflowCallback`: in a search fitted while a run is active, each fit's
copy of the callback logs a run nested under it.)
"""

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._fit import _log_fit, log_params
from ._mlflow import require_mlflow
from ._params import mlflow_key, param_value

# cv_results_ keys that are not per-candidate numbers.
_NOT_METRICS = ("params", "param_")


def candidate_metrics(cv_results, i):
    """Candidate ``i``'s numbers in ``cv_results_``, under their own names.

    Parameters
    ----------
    cv_results : dict
        A search's ``cv_results_``.

    i : int
        The candidate's index.

    Returns
    -------
    metrics : dict of str to float
        ``mean_test_<scorer>``, ``std_test_<scorer>``, ``rank_test_<scorer>``,
        ``split<k>_test_<scorer>`` (the fold scores), their ``train``
        counterparts when the search returned them, and the fit and score
        times.
    """
    metrics = {}
    for key, values in cv_results.items():
        if key.startswith(_NOT_METRICS):
            continue
        value = values[i]
        if np.ma.is_masked(value) or not isinstance(value, (numbers.Real, np.number)):
            continue
        metrics[mlflow_key(key)] = float(value)
    return metrics


def log_search(search, X_test=None, y_test=None, *, run_name=None, log_model=True,
               input_example=None, output_dir=None, metric_prefix="test_", trusted=None,
               overwrite=False, code_paths=None, zero_division="warn"):
    """Log a fitted search: a parent run, and one nested run per candidate.

    The parent run (the active run, or one started here and ended before
    returning) gets what :func:`log_fit` logs for the search -- its flattened
    parameters (``estimator__...``, ``param_grid``, ``cv``, ...), the best
    estimator's epoch curves, the evaluation on the test data, and the best
    estimator as the model -- and the outcome of the search: ``best_score``
    and ``refit_time`` as metrics, ``best_params_`` as parameters prefixed
    with ``best__``. Each candidate gets a nested run (tag ``mlflow.parentRunId``
    set to the parent's id), named ``candidate <i>``, with its parameters as
    the search set them and its numbers from ``cv_results_`` as metrics, named
    as there: ``mean_test_score``, ``split0_test_score`` (the fold scores),
    ``rank_test_score``, ``mean_fit_time``, ...

    Everything is read from the fitted search, so the runs are the same whether
    the search ran with ``n_jobs=1``, in worker processes or on a cluster.

    Parameters
    ----------
    search : GridSearchCV, RandomizedSearchCV or similar
        A fitted search with ``cv_results_`` (scikit-learn's searches, their
        halving variants, or any object with the same attributes).

    X_test : array-like, default=None
        Test rows on which the refitted search is evaluated.

    y_test : array-like, default=None
        Their targets.

    run_name : str, default=None
        The name of the parent run when one is started here.

    log_model : bool, default=True
        Log ``best_estimator_`` as the model (when the search refitted one).

    input_example : DataFrame, Series or ndarray, default=None
        The model's input example; the first five rows of ``X_test`` when None.

    output_dir : str or path-like, default=None
        Where the evaluation's files are written before they are logged
        (a temporary folder when None).

    metric_prefix : str, default="test_"
        Put before the evaluation's metric names.

    trusted : list of str or type, default=None
        Passed to :func:`log_model`.

    overwrite : bool, default=False
        Replace the evaluation's files in ``output_dir``, as in :func:`log_fit`.

    code_paths : list of str or path-like, default=None
        Passed to :func:`log_model` (the modules of custom Keras objects).

    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        Passed to the evaluation, as in :func:`log_fit`.

    Returns
    -------
    logged : LoggedRun
        The parent run's id, the model's URI, the evaluation report, and the
        candidates' run ids in the order of ``cv_results_["params"]``.

    Raises
    ------
    ImportError
        When MLflow is not installed.

    sklearn.exceptions.NotFittedError
        When the search is not fitted (before anything is logged).

    FileExistsError
        When an evaluation file exists in ``output_dir`` and ``overwrite`` is
        False (before anything is logged).

    ValueError
        When ``X_test`` and ``y_test`` are not both given, or are refused by
        the evaluation (before anything is logged).

    See Also
    --------
    log_fit : One estimator in one run.
    MLflowCallback : Each fit's epoch curves, as a run nested under the active run.
    """
    mlflow = require_mlflow()
    if not hasattr(search, "cv_results_") and _fitted(search):  # ("not fitted", it said)
        raise TypeError(
            f"log_search takes a fitted search (one with cv_results_, as GridSearchCV's); "
            f"{type(search).__name__} is a fitted estimator of another kind: log it with "
            "log_fit.")
    check_is_fitted(search, "cv_results_")
    if (X_test is None) != (y_test is None):
        raise ValueError("Give both X_test and y_test to evaluate, or neither.")
    best = getattr(search, "best_estimator_", None)
    if X_test is not None and best is None:
        raise ValueError("The search has no best_estimator_ (refit=False): it cannot be "
                         "evaluated on X_test; log it without test data.")
    cv_results = search.cv_results_

    def log_outcome_and_candidates(parent):  # inside the parent run
        outcome = {}
        if getattr(search, "best_score_", None) is not None:
            outcome["best_score"] = float(search.best_score_)
        if getattr(search, "refit_time_", None) is not None:
            outcome["refit_time"] = float(search.refit_time_)
        mlflow.log_metrics(outcome)
        if getattr(search, "best_params_", None) is not None:
            log_params(mlflow, parent.info.run_id, {
                mlflow_key(f"best__{k}"): param_value(v) for k, v in search.best_params_.items()})
        child_ids = []
        for i, params in enumerate(cv_results["params"]):
            # In the parent's experiment, as MLflow nests runs, whatever experiment is set now.
            with mlflow.start_run(run_name=f"candidate {i}", nested=True,
                                  experiment_id=parent.info.experiment_id) as child:
                mlflow.set_tag("keraslearn.candidate", str(i))
                mlflow.log_params({mlflow_key(k): param_value(v) for k, v in params.items()})
                mlflow.log_metrics(candidate_metrics(cv_results, i))
                child_ids.append(child.info.run_id)
        return child_ids

    return _log_fit(mlflow, search, best, X_test, y_test, run_name=run_name,
                    log_model=log_model, input_example=input_example, output_dir=output_dir,
                    metric_prefix=metric_prefix, trusted=trusted, overwrite=overwrite,
                    code_paths=code_paths, extra=log_outcome_and_candidates,
                    zero_division=zero_division)


def _fitted(estimator):
    from sklearn.exceptions import NotFittedError

    try:
        check_is_fitted(estimator)
    except (NotFittedError, TypeError):  # (TypeError: not an estimator)
        return False
    return True
