"""Importing MLflow, only when a tracking function is called.

MLflow is an optional dependency (``pip install 'keraslearn[mlflow]'``):
``import keraslearn.tracking`` works without it, and each public function
imports it through :func:`require_mlflow`, which names the extra to install.
"""

INSTALL_HINT = "pip install 'keraslearn[mlflow]'"


def require_mlflow():
    """Return the ``mlflow`` module, or raise an ImportError saying what to install.

    Returns
    -------
    mlflow : module

    Raises
    ------
    ImportError
        When MLflow is not installed (or cannot be imported).
    """
    try:
        import mlflow
    except ImportError as exc:
        raise ImportError(
            "keraslearn.tracking logs to MLflow, which is not installed: "
            f"{INSTALL_HINT} (MLflow's client with its local SQLite store)."
        ) from exc
    return mlflow
