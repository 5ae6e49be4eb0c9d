"""The target transformers of the wrappers, under the names
``scikeras.utils.transformers`` gives them, so that code importing (or
subclassing) them changes only the import."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._engine._label_encoder import ClassifierLabelEncoder
from .._engine._targets import RegressorTargetEncoder

__all__ = ["ClassifierLabelEncoder", "RegressorTargetEncoder", "TargetReshaper"]


class TargetReshaper(TransformerMixin, BaseEstimator):
    """Make 1-D targets a column, and give them back 1-D.

    For a target encoder built of transformers that take 2-D input only
    (``OneHotEncoder``, ``OrdinalEncoder``): put it first in the pipeline.

    Attributes
    ----------
    ndim_ : int
        The number of dimensions of the y given to ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from keraslearn.utils.transformers import TargetReshaper
    >>> reshaper = TargetReshaper().fit(np.array([1, 2, 3]))
    >>> reshaper.transform(np.array([1, 2, 3])).shape
    (3, 1)
    >>> reshaper.inverse_transform(np.array([[1], [2], [3]])).shape
    (3,)
    """

    def fit(self, y):
        """Record how many dimensions y has.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self : TargetReshaper
        """
        self.ndim_ = np.ndim(y)
        return self

    def transform(self, y):
        """y as a 2-D array: a 1-D y becomes one column.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        y_2d : ndarray of shape (n_samples, n_outputs)
        """
        y = np.asarray(y)
        return y[:, np.newaxis] if y.ndim == 1 else y

    def inverse_transform(self, y):
        """y back in the dimensions it was fitted with: one column made 1-D
        again where ``fit`` saw a 1-D y.

        Parameters
        ----------
        y : array-like of shape (n_samples, n_outputs)

        Returns
        -------
        y : ndarray

        Raises
        ------
        NotFittedError
            Before ``fit``: it does not know yet whether y was 1-D.
        """
        check_is_fitted(self, "ndim_")
        y = np.asarray(y)
        return y[:, 0] if self.ndim_ == 1 and y.ndim == 2 and y.shape[1] == 1 else y
