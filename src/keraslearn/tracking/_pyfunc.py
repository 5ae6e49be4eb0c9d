"""The MLflow pyfunc model that predicts with a file written by ``keraslearn.save``.

This module imports MLflow when it is imported; ``keraslearn.tracking`` imports
it only when :class:`PyfuncModel` is asked for, so that keraslearn works without
MLflow. The model is logged "from code" (see ``_model``): the logged model holds
a three-line script naming this class by its import path and the file written by
``keraslearn.save`` -- no pickle of the class, nor of the estimator.
"""

import mlflow
import numpy as np
import pandas as pd

from ..utils._first_steps import first_readers, fitted_features, imputed_keys

# The name of the keraslearn file among the logged model's artifacts.
ARTIFACT = "keraslearn_model"


class PyfuncModel(mlflow.pyfunc.PythonModel):
    """An MLflow ``PythonModel`` serving an estimator saved by ``keraslearn.save``.

    :func:`keraslearn.tracking.log_model` logs it; ``mlflow.pyfunc.load_model``
    and ``mlflow models serve`` load it. It loads the file named
    ``"keraslearn_model"`` among the model's artifacts with
    :func:`keraslearn.load` (no pickle; types beyond the default ones only
    when the model's config lists them under ``"trusted"``), and its
    ``predict`` is the estimator's (or its ``predict_proba``, ...: the
    config's ``"predict_fn"``).

    Attributes
    ----------
    estimator_ : estimator
        The loaded estimator or pipeline, once MLflow has called
        :meth:`load_context`.

    predict_fn_ : str
        The estimator's method :meth:`predict` calls (``"predict"`` unless the
        model was logged with another ``pyfunc_predict_fn``).

    See Also
    --------
    keraslearn.tracking.log_model : Logs an estimator as this model.

    Examples
    --------
    >>> import mlflow
    >>> from keraslearn.tracking import PyfuncModel
    >>> issubclass(PyfuncModel, mlflow.pyfunc.PythonModel)
    True
    """

    def load_context(self, context):
        """Load the estimator from the model's artifacts.

        Parameters
        ----------
        context : mlflow.pyfunc.PythonModelContext
            MLflow's context: ``artifacts`` (local paths) and ``model_config``.
        """
        import importlib

        from .. import load

        config = context.model_config or {}
        for module in config.get("imports") or ():  # (log_model's code_paths: Keras' objects)
            importlib.import_module(module)
        self.estimator_ = load(context.artifacts[ARTIFACT], trusted=config.get("trusted") or None)
        self.predict_fn_ = config.get("predict_fn", "predict")
        if not hasattr(self.estimator_, self.predict_fn_):
            # Logged by another version (keraslearn's classifiers had a decision_function).
            raise ValueError(
                f"This model was logged to serve {type(self.estimator_).__name__}."
                f"{self.predict_fn_}, which it does not have in this version of keraslearn; "
                "log it again with another pyfunc_predict_fn (predict_proba, say).")
        self._nan_imputed = _nan_imputed(self.estimator_)
        # A text vectorizer reads X first: it takes one document a row, 1-D.
        readers = first_readers(self.estimator_)
        self._documents = bool(readers) and all(map(_takes_documents, readers))

    def predict(self, context, model_input: pd.DataFrame, params=None):
        """The estimator's ``predict`` (or the method the model was logged with,
        ``pyfunc_predict_fn``) on the rows MLflow received.

        Parameters
        ----------
        context : mlflow.pyfunc.PythonModelContext
            MLflow's context (unused: the estimator was loaded by
            :meth:`load_context`).

        model_input : pandas.DataFrame or numpy.ndarray
            The rows, as MLflow has checked them against the model's signature.
            A DataFrame goes to an estimator fitted on one as it is, its columns
            matched by name; to one fitted on an array as its values (a column of
            documents as 1-D text, for a text vectorizer reading X first). (The
            annotation tells MLflow to leave the input as its signature made it,
            without checks of its own from type hints: an array for a model
            whose signature is a tensor.)

        params : dict, default=None
            Unused; accepted as MLflow passes it.

        Returns
        -------
        predictions : numpy.ndarray
        """
        X = model_input
        if isinstance(X, pd.DataFrame) and fitted_features(self.estimator_)[0] is None:
            # (a frame of one column, the documents, as MLflow makes one of CSV rows)
            X = X.iloc[:, 0].to_numpy() if self._documents and X.shape[1] == 1 else X.to_numpy()
        elif isinstance(X, pd.DataFrame):
            X = _missing_as_nan(X, self._nan_imputed)
        return dense_output(getattr(self.estimator_, self.predict_fn_)(X))


def _takes_documents(step):
    """Whether ``step`` reads 1-D documents: a text vectorizer, or a union or
    pipeline of steps reading them first."""
    from sklearn.pipeline import FeatureUnion, Pipeline

    if isinstance(step, FeatureUnion):
        parts = [part for _, part in step.transformer_list if part not in ("drop", None)]
        return bool(parts) and all(map(_takes_documents, parts))
    if isinstance(step, Pipeline):
        return _takes_documents(step.steps[0][1])
    return callable(getattr(step, "build_analyzer", None))


def dense_output(values):
    """Predictions MLflow can describe and answer: sparse indicator rows (a
    classifier fitted on sparse multilabel y) as an array."""
    return values.toarray() if hasattr(values, "toarray") else values


def _nan_imputed(estimator):
    """The columns whose NaN the model imputes or encodes (see ``keraslearn.serving``)."""
    names = fitted_features(estimator)[0]
    if names is None:
        return ()
    return tuple(imputed_keys(estimator, [str(n) for n in names]))


def _missing_as_nan(X, columns):
    """X with the None of ``columns`` as NaN, in a copy (the caller's frame is
    kept): MLflow gives a text column that is null in every row as None, which
    an imputer of NaN does not take for missing (a one-row request's null
    would be encoded as an unknown category)."""
    fix = [c for c in columns if c in X.columns and X[c].dtype == object
           and any(v is None for v in X[c])]
    if not fix:
        return X
    return X.assign(**{c: X[c].where(X[c].notna(), np.nan) for c in fix})
