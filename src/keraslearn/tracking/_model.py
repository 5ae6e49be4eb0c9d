"""Logging a fitted estimator as an MLflow model, without pickle.

Design: MLflow's ``PythonModel`` is normally pickled with cloudpickle; here the
model is logged "from code" instead (``python_model`` given as a path, MLflow's
own alternative to pickling): a generated three-line script that imports
:class:`keraslearn.tracking.PyfuncModel` and hands an instance to
``mlflow.models.set_model``. The estimator itself is the file written by
``keraslearn.save`` (networks in Keras' ``.keras`` format, the rest by skops),
logged as the model's artifact and read back by ``keraslearn.load``. Loading the
model runs that script, as MLflow runs any model logged from code (it is stored
in the run: whoever can write the run's artifacts chooses what runs, as with a
pickled model), then keraslearn's code as installed where it loads, and needs
keraslearn there: the requirements pin keraslearn, Keras and scikit-learn to the
versions that wrote the file.
"""

import tempfile
import warnings
from importlib import metadata
from pathlib import Path

from sklearn.utils.validation import check_is_fitted

from ..utils._columns import is_polars_frame, polars_as_pandas
from ..utils._files import user_path
from ._mlflow import require_mlflow

ARTIFACT = "keraslearn_model"  # the same name as _pyfunc.ARTIFACT, without importing MLflow
FILE_NAME = "model.keraslearn"
CODE = '''"""MLflow model code written by keraslearn.tracking.log_model.

The estimator is the keraslearn file among this model's artifacts; it is read by
keraslearn.load, without pickle.
"""

import mlflow

from keraslearn.tracking import PyfuncModel

mlflow.models.set_model(PyfuncModel())
'''
_PINNED = ("keraslearn", "keras", "scikit-learn")


def default_pip_requirements():
    """The requirements logged with a model: keraslearn, Keras and scikit-learn pinned.

    Returns
    -------
    requirements : list of str
        ``name==version`` for each distribution installed here; keraslearn's
        own dependencies (TensorFlow, skops, ...) follow from it.
    """
    requirements = []
    for name in _PINNED:
        try:
            requirements.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            if name == "keraslearn":
                from .._version import __version__

                requirements.append(f"keraslearn=={__version__}")
    return requirements


def _trusted_names(trusted):
    names = []
    for item in trusted or ():
        if isinstance(item, str):
            names.append(item)
        else:
            names.append(f"{item.__module__}.{item.__qualname__}")
    return names


def example_rows(X, n=5):
    """The first ``n`` rows of X as an input example, or None where there are none."""
    if X is None or hasattr(X, "tocsr"):  # sparse: MLflow's examples are tables or arrays
        return None
    if is_polars_frame(X):  # its names in the signature, as a pandas X's are
        return polars_as_pandas(X.head(n))
    if hasattr(X, "iloc"):
        return X.iloc[:n]
    import numpy as np

    X = np.asarray(X)
    return X[:n] if X.ndim >= 2 else None


def mlflow_example(example):
    """An input example as MLflow takes one: a pandas frame for a polars one,
    a frame of one column for a Series (the documents a text pipeline reads,
    as :class:`PyfuncModel` gives them back)."""
    import pandas as pd

    example = polars_as_pandas(example)
    if isinstance(example, pd.Series):
        return example.to_frame(name="text" if example.name is None else example.name)
    return example


PREDICT_FUNCTIONS = ("predict", "predict_proba", "predict_log_proba", "decision_function")


def log_model(estimator, name="model", *, input_example=None, pip_requirements=None,
              trusted=None, pyfunc_predict_fn="predict", code_paths=None):
    """Log a fitted estimator or pipeline to the active MLflow run as a pyfunc model.

    The estimator is written with :func:`keraslearn.save` (no pickle) and logged
    as the artifact of a :class:`PyfuncModel`, itself logged from code (a short
    script importing it from keraslearn), so that
    ``mlflow.pyfunc.load_model(uri).predict(df)`` works in any process where
    keraslearn is installed, and ``mlflow models serve -m URI`` serves it.

    Parameters
    ----------
    estimator : estimator instance
        A fitted keraslearn estimator, or a scikit-learn or imbalanced-learn
        object holding some (a ``Pipeline``, a search's ``best_estimator_``).

    name : str, default="model"
        The model's name in the run.

    input_example : DataFrame, Series or ndarray, default=None
        A few rows like those the model will receive. When given, it is logged
        with the model and the model's signature is inferred from it and from
        the estimator's predictions on it (MLflow then checks the columns and
        types of what it is asked to predict). A Series (a text pipeline's
        documents) is logged as a column of its name ("text" unnamed). Where MLflow cannot hold the
        example to the signature it infers (a pandas category column, missing
        values in an integer one), the model is logged without a signature,
        with a warning, as ``mlflow.sklearn.log_model`` does. A signature
        inferred from rows without missing values refuses them, also in the
        columns the model imputes.

    pip_requirements : list of str, default=None
        The model's requirements; by default keraslearn, Keras and
        scikit-learn pinned to the versions installed here. Give others where
        keraslearn is not installed from a package index (a wheel's path or
        URL) before letting MLflow build an environment for the model.

    trusted : list of str or type, default=None
        Types in the saved file beyond those :func:`keraslearn.load` trusts by
        default (see :func:`keraslearn.get_untrusted_types`); they are stored
        in the model's config and trusted when it loads.

    pyfunc_predict_fn : {"predict", "predict_proba", "predict_log_proba", \
            "decision_function"}, default="predict"
        The estimator's method the pyfunc model's ``predict`` calls (and so
        what ``mlflow models serve`` answers), as in ``mlflow.sklearn.log_model``:
        ``"predict_proba"`` serves a classifier's probabilities.

    code_paths : list of str or path-like, default=None
        Python code the model needs where it loads, logged with it (MLflow's
        ``code_paths``): the modules defining the custom Keras layers, losses
        or metrics its networks hold, which Keras finds only once the module
        registering them is imported. Each ``.py`` file, and each package (a
        folder holding ``__init__.py``), is imported by its name where the
        model loads, before the estimator is read; other files are copied only.

    Returns
    -------
    model_info : mlflow.models.model.ModelInfo
        MLflow's description of the logged model; ``model_info.model_uri``
        loads it.

    Raises
    ------
    ImportError
        When MLflow is not installed.

    FileNotFoundError
        When a path of ``code_paths`` does not exist, before anything is logged.

    ValueError
        When the saved file holds types that are neither trusted by default
        nor listed in ``trusted`` (they are named), or the estimator has no
        ``pyfunc_predict_fn``, before anything is logged.

    See Also
    --------
    log_fit : Parameters, metrics, evaluation and this model in one call.
    PyfuncModel : The model class MLflow loads.
    """
    mlflow = require_mlflow()
    check_is_fitted(estimator)
    if pyfunc_predict_fn not in PREDICT_FUNCTIONS or not hasattr(estimator, pyfunc_predict_fn):
        offered = [f for f in PREDICT_FUNCTIONS if hasattr(estimator, f)]
        can = (f"the model can serve {type(estimator).__name__}'s {', '.join(offered)}"
               if offered else f"{type(estimator).__name__} has none of "
               f"{', '.join(PREDICT_FUNCTIONS)} to serve")
        raise ValueError(f"pyfunc_predict_fn={pyfunc_predict_fn!r}: {can}.")
    input_example = polars_as_pandas(input_example)  # MLflow's examples are pandas' frames
    code_paths = checked_code_paths(code_paths)
    with tempfile.TemporaryDirectory(prefix="keraslearn-mlflow-") as tmp:
        path = saved_and_checked(estimator, trusted, tmp)
        signature = signature_of(mlflow, estimator, input_example, pyfunc_predict_fn)
        return log_saved(mlflow, estimator, path, name=name, input_example=input_example,
                         signature=signature, pip_requirements=pip_requirements,
                         trusted=trusted, predict_fn=pyfunc_predict_fn, code_paths=code_paths)


def checked_code_paths(code_paths):
    """``code_paths`` as absolute paths (None stays None); a FileNotFoundError
    naming one that does not exist."""
    if code_paths is None:
        return None
    if isinstance(code_paths, (str, bytes)) or not hasattr(code_paths, "__iter__"):
        code_paths = [code_paths]  # (one path given alone)
    paths = [user_path(p).absolute() for p in code_paths]
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"code_paths names {str(path)!r}, which does not exist.")
    return paths


def _imported_modules(code_paths):
    """The modules the model imports where it loads: each ``.py`` file's and
    package's name (MLflow copies them into one folder it puts on sys.path)."""
    return [path.stem if path.is_file() else path.name for path in code_paths or ()
            if (path.is_file() and path.suffix == ".py")
            or (path.is_dir() and (path / "__init__.py").is_file())]


def saved_and_checked(estimator, trusted, folder, optional=False):
    """``estimator`` written with :func:`keraslearn.save` in ``folder``; a
    ValueError naming the types it holds that load would not trust (neither
    by default nor in ``trusted``), before anything is logged. ``optional``:
    a refusal to save says how to log the run without the model."""
    from .. import get_untrusted_types, save

    try:
        path = save(estimator, Path(folder) / FILE_NAME)
    except ValueError as exc:
        if not optional:
            raise
        raise ValueError(f"{exc} To log the run without the model: log_model=False.") from exc
    untrusted = sorted(set(get_untrusted_types(path)) - set(_trusted_names(trusted)))
    if untrusted:
        raise ValueError(
            f"The saved {type(estimator).__name__} holds types that keraslearn.load does "
            f"not trust by default: {untrusted}. Review them and pass "
            f"trusted={untrusted!r} to log the model."
        )
    return path


def signature_of(mlflow, estimator, input_example, predict_fn="predict", stacklevel=3):
    """The signature MLflow infers from ``input_example`` and the estimator's
    output on it, checked against the example, or None (with a warning, as
    ``mlflow.sklearn.log_model`` does) where MLflow cannot describe it: a
    pandas category column, or missing values in an integer one, which MLflow's
    own check of the example would refuse once the run is written to.
    ``stacklevel`` points the warning at the user's call."""
    if input_example is None:
        return None
    from ._pyfunc import dense_output  # (imports MLflow, as this function needs it)

    table = mlflow_example(input_example)  # (predicted on as the estimator takes it)
    try:
        signature = mlflow.models.infer_signature(
            table, dense_output(getattr(estimator, predict_fn)(input_example)))
        mlflow.models.validate_schema(table, signature.inputs)
    except Exception as exc:  # noqa: BLE001 - MLflow's, whatever the column type
        warnings.warn(f"MLflow cannot describe the input example with a signature "
                      f"({type(exc).__name__}: {str(exc).splitlines()[-1][:300]}); the "
                      "model is logged without one.", UserWarning, stacklevel=stacklevel)
        return None
    return signature


def log_saved(mlflow, estimator, path, *, name, input_example, signature, pip_requirements,
              trusted, predict_fn="predict", code_paths=None):
    """Log the file :func:`saved_and_checked` wrote as the run's pyfunc model,
    with the signature :func:`signature_of` gave."""
    trusted = _trusted_names(trusted)
    code = Path(path).parent / "keraslearn_model.py"
    code.write_text(CODE, encoding="utf-8")
    config = {"trusted": trusted} if trusted else {}
    if predict_fn != "predict":
        config["predict_fn"] = predict_fn
    imports = _imported_modules(code_paths)
    if imports:
        config["imports"] = imports
    return mlflow.pyfunc.log_model(
        name=name, python_model=str(code), artifacts={ARTIFACT: str(path)},
        signature=signature, input_example=mlflow_example(input_example),
        pip_requirements=(default_pip_requirements() if pip_requirements is None
                          else list(pip_requirements)),
        model_config=config or None,
        code_paths=None if code_paths is None else [str(p) for p in code_paths],
    )
