"""Every example workflow in ``examples/`` runs and reports real metrics.

Each script's ``main(output, quick=True)`` is imported from its path and run
in-process with a temporary output folder (``quick`` shrinks epochs, folds or
grids where a full run takes long). These are the slowest tests of the suite.
"""

import importlib.util
import inspect
from pathlib import Path

import pytest

from keraslearn.evaluation import EvaluationReport

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("[0-9][0-9]_*.py"))

# Lowest acceptable test-set metric of each report an example returns, with
# the quick settings; well under what the examples reach, above chance.
FLOORS = {
    "01_binary_pipeline": {"binary": {"accuracy": 0.9, "roc_auc": 0.95}},
    "02_imbalanced_images": {
        "plain": {"accuracy": 0.85},
        "class weights": {"accuracy": 0.85, "f1_macro": 0.8},
        "SMOTE": {"accuracy": 0.85, "f1_macro": 0.8},
    },
    "03_house_prices": {
        "linear regression (reference)": {"r2": 0.7},
        "network, StandardScaler": {"r2": 0.8, "pearson_r": 0.9},
    },
    "04_digits_mnist_way": {"digits": {"accuracy": 0.9}},
    "05_grid_search": {"best": {"accuracy": 0.9, "roc_auc": 0.95}},
    "06_soft_voting": {"soft vote": {"accuracy": 0.9}},
    "07_stacking": {"stack": {"accuracy": 0.9, "roc_auc": 0.95}},
    "08_sklearn_style_mlp": {
        "sklearn MLPClassifier": {"accuracy": 0.9},
        "keraslearn MLPClassifier": {"accuracy": 0.9},
    },
    "09_save_export_serve": {"loaded": {"accuracy": 0.9, "roc_auc": 0.95}},
    "10_track_and_monitor": {"tracked": {"accuracy": 0.9, "roc_auc": 0.95}},
}



def _rare_recall(report):
    return report.per_class.loc["9", "recall"]


# What an example sets out to show, beyond its floors (given what its main
# returned, reports included).
CLAIMS = {
    # early stopping stops before the epoch budget, on a best epoch before its last
    "01_binary_pipeline": lambda r: r["best_epoch"] < r["epochs_run"] < 100,
    "02_imbalanced_images": lambda r: (
        _rare_recall(r["class weights"]) > _rare_recall(r["plain"])
        and _rare_recall(r["SMOTE"]) > _rare_recall(r["plain"])
    ),
    "03_house_prices": lambda r: (
        r["network, StandardScaler"].metrics["r2"]
        > r["network, raw features"].metrics["r2"] + 0.1
    ),
    # reduce_lr_on_plateau halves the learning rate at least once
    "08_sklearn_style_mlp": lambda r: (
        min(r["learning_rates"]) < r["learning_rates"][0]
        and all(b in (a, a / 2) for a, b in zip(r["learning_rates"], r["learning_rates"][1:]))
    ),
}


def _tracked_run_holds_the_drift_report(output):
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{output / 'mlflow' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("breast-cancer")
    (run,) = client.search_runs([experiment.experiment_id])
    # (by the run's artifact address: MLflow 3.0's client lists a folder from the global
    # store's run, MLflow issue 16412)
    artifacts = {a.path for a in mlflow.artifacts.list_artifacts(
        artifact_uri=f"{run.info.artifact_uri}/drift")}
    return (run.data.metrics["drifted_features"] == 2
            and run.data.metrics["test_accuracy"] > 0.9
            and "drift/shifted_traffic_report.html" in artifacts
            and (output / "drift" / "shifted_traffic_report.html").is_file())


# What an example leaves in its output folder, beyond its reports.
OUTPUTS = {"10_track_and_monitor": _tracked_run_holds_the_drift_report}


def _load(script):
    spec = importlib.util.spec_from_file_location(f"keraslearn_example_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reports(result, stem):
    """The EvaluationReports a ``main`` returned, by name."""
    if isinstance(result, EvaluationReport):
        return {next(iter(FLOORS[stem])): result}
    assert isinstance(result, dict), f"{stem}.main returned {type(result).__name__}"
    return {k: v for k, v in result.items() if isinstance(v, EvaluationReport)}


def _run(script, output):
    main = _load(script).main
    quick = {"quick": True} if "quick" in inspect.signature(main).parameters else {}
    return main(output=output, **quick)


def test_every_example_has_floors():
    assert SCRIPTS, f"no examples found in {EXAMPLES}"
    assert sorted(FLOORS) == [s.stem for s in SCRIPTS]


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_runs_and_reports(script, tmp_path, capsys):
    result = _run(script, tmp_path)
    printed = capsys.readouterr().out
    reports = _reports(result, script.stem)
    for name, floors in FLOORS[script.stem].items():
        assert name in reports, f"{script.stem} returned no report {name!r}"
        metrics = reports[name].metrics
        for metric, floor in floors.items():
            assert metrics[metric] >= floor, f"{name}: {metric}={metrics[metric]:.4f} < {floor}"
    if script.stem in CLAIMS:
        returned = result if isinstance(result, dict) else {}
        assert CLAIMS[script.stem]({**returned, **reports}), (
            f"{script.stem} no longer shows what it claims")
    if script.stem in OUTPUTS:
        assert OUTPUTS[script.stem](tmp_path), f"{script.stem} did not leave what it says"
    # The metrics were printed, and the report files were written.
    assert "Metrics" in printed
    written = [r for r in reports.values() if r.html_path is not None]
    assert written, f"{script.stem} wrote no HTML report under {tmp_path}"
    for report in written:
        assert report.html_path.is_file() and report.html_path.parent == tmp_path
        assert report.figures
        for path in report.figures.values():
            assert path.is_file() and path.stat().st_size > 1000 and path.suffix == ".png"
