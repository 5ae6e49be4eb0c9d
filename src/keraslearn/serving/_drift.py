"""The last rows the server was asked about, kept for a drift detector.

The server only keeps the rows and hands them to ``detector.test(rows)``; the
statistics are the detector's (``keraslearn.monitoring``). Rows with missing
values are not kept, as the detector tests complete values only; nor are rows
holding, in a column the model does not read (and so takes any value in), a
value that is not a finite number where the detector was fitted on numbers.
"""

import collections
import math
import warnings

import numpy as np

from .._stacklevel import user_stacklevel


class RecentRows:
    """A bounded buffer of the most recent request rows.

    Parameters
    ----------
    schema : FeatureSchema
        Builds the model-shaped table from the stored columns.

    window : int
        How many rows are kept.

    numeric : iterable of int, default=()
        Features of kind ``any`` that the detector reads as numbers: a row is
        kept only where these hold finite numbers.

    tested : iterable of int, default=None
        The features the detector tests (all when None): a row is kept where
        these hold no missing value.
    """

    def __init__(self, schema, window, numeric=(), tested=None):
        self.schema = schema
        self.window = window
        self.numeric = tuple(numeric)
        self.tested = None if tested is None else frozenset(tested)
        self._parts = collections.deque()
        self._rows = 0

    @staticmethod
    def as_sent(columns):
        """A copy of one request's columns, taken before the model runs: a
        step may change the arrays it is given (``StandardScaler(copy=False)``
        scales them in place), and the window keeps the rows as sent."""
        if isinstance(columns, np.ndarray):
            return columns.copy()
        return [np.array(c, copy=True) for c in columns]

    def add(self, columns):
        """Keep one request's validated columns, dropping the oldest beyond the window.

        Rows holding a missing value (of a column the model imputes) are not
        kept: a drift detector tests complete values only; nor are rows whose
        ``numeric`` features hold text (taken, as the model does not read them)."""
        complete = self.schema.complete_rows(columns, self.tested)
        for j in self.numeric:
            complete &= np.fromiter(map(_finite_number, columns[j]), bool, len(complete))
        if not complete.all():
            if not complete.any():
                return
            columns = (columns[:, complete] if isinstance(columns, np.ndarray)
                       else [c[complete] for c in columns])
        n = len(columns[0])
        if n > self.window:
            columns, n = [c[n - self.window:] for c in columns], self.window
        self._parts.append(columns)
        self._rows += n
        while self._rows - len(self._parts[0][0]) >= self.window:
            self._rows -= len(self._parts.popleft()[0])

    def parts(self):
        """What :meth:`rows` reads, taken at once (cheap, on the event loop), or None."""
        return list(self._parts) or None

    def rows(self, parts=None):
        """The last ``window`` rows as the model takes them, oldest first, or None;
        of ``parts`` (:meth:`parts`, taken earlier) when given: assembling them
        can take a while, best done off the event loop."""
        parts = self.parts() if parts is None else parts
        if not parts:
            return None
        X = self.schema.assemble(parts)
        extra = len(X) - self.window
        if extra <= 0:
            return X
        return X.iloc[extra:].reset_index(drop=True) if hasattr(X, "iloc") else X[extra:]


def named_as_fitted(rows, detector):
    """``rows`` (the model's input) with the detector's column names, or none,
    as it was fitted: :func:`check_detector` matched an unnamed side by
    position, so keraslearn's DriftDetector need not warn that it does."""
    from ..monitoring import DriftDetector

    if not isinstance(detector, DriftDetector):
        return rows  # one of the user's own: given the model's input as it is
    names = getattr(detector, "feature_names_in_", None)
    if names is not None and not hasattr(rows, "columns"):
        import pandas as pd

        return pd.DataFrame(rows, columns=[str(n) for n in names], copy=False)
    if names is not None and len(names) < rows.shape[1]:  # (fitted on some of the columns)
        return rows[[str(n) for n in names]]
    if names is None and hasattr(rows, "columns"):
        return rows.set_axis(range(rows.shape[1]), axis=1)
    return rows


def _finite_number(value):
    """Whether the detector reads ``value`` as a finite number (it converts by float())."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def check_detector_columns(detector, names, n_features, owner):
    """Refuse ``detector`` where it cannot test the model's input (of ``names``,
    or ``n_features`` columns without names): an unfitted DriftDetector
    (NotFittedError), or one fitted on columns the model does not take (every
    test would fail), compared by names, or by number without names. Some of
    the model's columns are enough: a column it drops (an id) need not be tested."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    from ..monitoring import DriftDetector

    if isinstance(detector, DriftDetector):
        try:
            check_is_fitted(detector)
        except NotFittedError as exc:
            raise NotFittedError(f"{owner}: drift_detector: {exc}") from None
    own = getattr(detector, "feature_names_in_", None)
    if own is not None and names is not None:
        taken = {str(n) for n in names}
        extra = [str(c) for c in own if str(c) not in taken]
        if extra:
            raise ValueError(
                f"{owner}: drift_detector was fitted on columns the model does not take "
                f"({extra}; the model takes {list(names)}). Fit it on the model's input "
                "columns, or some of them.")
        return
    n = getattr(detector, "n_features_in_", None)
    if n is not None and n_features is not None and n != n_features:
        raise ValueError(f"{owner}: drift_detector was fitted on {n} features, but the model "
                         f"takes {n_features}.")


def check_detector(detector, schema):
    """Refuse a drift detector that cannot test the model's input
    (:func:`check_detector_columns`).

    Returns the features of kind ``any`` (taking any value, as the model does
    not read them) that the detector reads as numbers: the ``numeric`` of
    :class:`RecentRows`. Known for keraslearn's DriftDetector (its
    ``categorical_``); none for a detector of one's own."""
    from ..monitoring import DriftDetector
    from ..utils import InvalidParameterError, validate_parameters

    if isinstance(detector, DriftDetector):  # its settings (alpha saved as 1.5): checked now
        try:
            validate_parameters(detector, detector._parameter_constraints)
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"make_app: drift_detector: {exc}") from None
    check_detector_columns(detector, schema.names, schema.n_features, "make_app")
    names = getattr(detector, "feature_names_in_", None)
    categorical = getattr(detector, "categorical_", None)
    if categorical is None:
        return ()
    if names is not None and schema.names is not None:
        categorical = dict(zip((str(n) for n in names), categorical))
        # (a column the detector does not test takes what the model takes)
        categorical = [categorical.get(name, True) for name in schema.names]
    return tuple(j for j, kind in enumerate(schema.kinds)
                 if kind == "any" and not categorical[j])


def tested_features(detector, schema):
    """The indices of the model's features the detector tests (those it was
    fitted on, by name), or None for all of them."""
    names = getattr(detector, "feature_names_in_", None)
    if names is None or schema.names is None:
        return None
    own = {str(n) for n in names}
    return [j for j, name in enumerate(schema.names) if name in own]


def check_saved_detector(obj, detector):
    """Refuse an unfitted drift detector; warn of one `keraslearn serve` would
    refuse beside ``obj`` (fitted on columns the model does not take), which
    is saved all the same: a detector of other columns (the labels') may be
    for a monitoring of one's own."""
    from sklearn.exceptions import NotFittedError

    from ..utils._first_steps import fitted_features

    names, n = fitted_features(obj)
    try:
        check_detector_columns(detector, None if names is None else [str(c) for c in names],
                               n, "keraslearn.save")
    except NotFittedError:
        raise
    except ValueError as exc:
        warnings.warn(f"{exc} Saved all the same: keraslearn.load returns it, but "
                      "`keraslearn serve` refuses to serve the file with it.", UserWarning,
                      stacklevel=user_stacklevel())
