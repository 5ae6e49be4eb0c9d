"""A bounded, thread-safe window of the most recent rows, for testing drift in a server.

Rows are kept as the chunks they arrived in (one per request), so adding is cheap and
keeps the caller's column types; asking for the rows joins the chunks once and keeps
the joined table, so asking again before the next ``add`` costs nothing.
"""

import threading
from collections import deque
from numbers import Integral

import numpy as np
import pandas as pd

from ..utils import Interval
from ..utils._columns import is_polars_frame
from ._columns import as_frame


class RecentRows:
    """The last ``max_rows`` rows added, oldest dropped first; safe to share between threads.

    A server adds the rows of each request and, now and then, tests what the
    window holds with a fitted :class:`DriftDetector`. Every call holds one lock, so
    requests handled by several threads can add at the same time. Rows are copied
    when added: changing the caller's array afterwards does not change the window.

    Parameters
    ----------
    max_rows : int, default=1000
        The most rows kept.

    Attributes
    ----------
    max_rows : int
        The most rows kept.

    See Also
    --------
    DriftDetector : Tests a batch of rows for drift.

    Examples
    --------
    >>> import numpy as np
    >>> from keraslearn.monitoring import RecentRows
    >>> window = RecentRows(max_rows=3)
    >>> window.add(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> window.add(np.array([[5.0, 6.0], [7.0, 8.0]]))
    >>> len(window)
    3
    >>> window.rows()
    array([[3., 4.],
           [5., 6.],
           [7., 8.]])
    """

    def __init__(self, max_rows=1000):
        if not Interval(Integral, 1, None, closed="left").is_satisfied_by(max_rows):
            raise ValueError(f"max_rows must be an int >= 1, got {max_rows!r}.")
        self.max_rows = int(max_rows)
        self._lock = threading.Lock()
        self._chunks = deque()
        self._n_rows = 0

    def __len__(self):
        with self._lock:
            return self._n_rows

    def __repr__(self):
        return f"RecentRows(max_rows={self.max_rows}, holding {len(self)} rows)"

    def add(self, X):
        """Append the rows of ``X``, dropping the oldest rows beyond ``max_rows``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Rows to add; every call must give the same kind of table (DataFrames
            with the same columns, pandas' or polars', or arrays with the same
            number of columns). A table of no rows adds nothing (its columns are
            checked all the same).
        """
        frame = as_frame(X, "RecentRows.add", min_rows=0)  # a 2D table with columns
        if isinstance(X, pd.DataFrame) or is_polars_frame(X):  # (polars' read as pandas)
            chunk = frame.iloc[-self.max_rows:].copy()
        else:
            chunk = np.array(X, dtype=None if isinstance(X, np.ndarray) else object)
            chunk = chunk[-self.max_rows:].copy()
        with self._lock:
            if self._chunks:
                self._check_like(self._chunks[0], chunk)
            if not len(chunk):
                return
            self._chunks.append(chunk)
            self._n_rows += len(chunk)
            while self._n_rows - len(self._chunks[0]) >= self.max_rows:
                self._n_rows -= len(self._chunks.popleft())
            excess = self._n_rows - self.max_rows
            if excess > 0:
                oldest = self._chunks[0]
                self._chunks[0] = (oldest.iloc[excess:] if isinstance(oldest, pd.DataFrame)
                                   else oldest[excess:])
                self._n_rows -= excess

    @staticmethod
    def _check_like(held, chunk):
        if isinstance(held, pd.DataFrame) != isinstance(chunk, pd.DataFrame):
            kinds = ["a DataFrame" if isinstance(c, pd.DataFrame) else "an array"
                     for c in (held, chunk)]
            raise TypeError(f"RecentRows holds rows from {kinds[0]}; got {kinds[1]}.")
        if isinstance(chunk, pd.DataFrame) and not held.columns.equals(chunk.columns):
            raise ValueError(f"RecentRows holds columns {list(held.columns)}; got "
                             f"{list(chunk.columns)}.")
        if held.shape[1] != chunk.shape[1]:
            raise ValueError(f"RecentRows holds rows of {held.shape[1]} columns; got "
                             f"{chunk.shape[1]}.")

    def rows(self):
        """Return the rows held, oldest first.

        Returns
        -------
        rows : DataFrame or ndarray of shape (n_rows, n_features), or None
            A pandas DataFrame when DataFrames were added, else an array (of object dtype
            when the rows were lists); None when no row was added yet.
        """
        with self._lock:
            if not self._chunks:
                return None
            if len(self._chunks) > 1:
                chunks = list(self._chunks)
                joined = (pd.concat(chunks, ignore_index=True)
                          if isinstance(chunks[0], pd.DataFrame) else np.concatenate(chunks))
                self._chunks = deque([joined])
            return self._chunks[0].copy()

    def clear(self):
        """Drop every row held."""
        with self._lock:
            self._chunks.clear()
            self._n_rows = 0

    def test(self, detector):
        """Test the rows held with a fitted detector: ``detector.test(rows)``, of the
        rows holding no missing value (a detector tests complete values; the
        model imputes the others), as keraslearn's server tests its window.

        Parameters
        ----------
        detector : DriftDetector
            A fitted detector.

        Returns
        -------
        result : pandas.DataFrame
            The result of :meth:`DriftDetector.test`.

        Raises
        ------
        ValueError
            When the window holds no row without a missing value.
        """
        rows = self.rows()
        if rows is None:
            raise ValueError("RecentRows holds no rows yet: there is nothing to test.")
        complete = ~np.asarray(pd.isna(rows)).any(axis=1)
        if not complete.any():
            raise ValueError(f"RecentRows holds {len(rows)} rows, each with a missing value: "
                             "there is nothing to test (a detector tests complete rows).")
        if not complete.all():
            rows = (rows[complete].reset_index(drop=True) if isinstance(rows, pd.DataFrame)
                    else rows[complete])
        return detector.test(rows)
