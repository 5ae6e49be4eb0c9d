"""The :class:`DriftDetector`: per-feature two-sample tests of new data against a reference.

Design: ``fit`` reduces each reference column to a summary whose size is set by the
parameters, never by the number of rows (see ``_sketch``); ``test`` runs one test per
feature against those summaries and corrects the p-values for the number of features.
All fitted state is made of NumPy arrays, lists, dicts with string keys, strings and
numbers (dates and durations as NumPy's), so the detector pickles and can be saved by
skops beside a pipeline; only categories of other types (``datetime.date``, decimals),
kept as they are, make ``keraslearn.load`` ask for ``trusted=`` their types.
"""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.random import sample_without_replacement
from sklearn.utils.validation import check_is_fitted

from ..utils import Interval, OneOf, validate_parameters
from ..utils._columns import string_names, warn_unnamed
from ._columns import as_frame, categorical_mask, column_values, label
from ._sketch import compare_categorical, compare_numeric, summarize_categorical, summarize_numeric

RESULT_COLUMNS = ["feature", "test", "statistic", "p_value", "psi", "drifted",
                  "raw_p_value", "n_unseen"]

_TEST_STATE = ("drift_detected_", "drifted_features_")


class DriftDetector(BaseEstimator):
    """Detect drift between reference data and new batches, feature by feature.

    ``fit`` summarises each reference column; ``test`` compares a new batch with
    those summaries. Numeric columns get the two-sample Kolmogorov–Smirnov test
    (:func:`scipy.stats.ks_2samp`; its asymptotic p-value once both samples hold 1,000
    values or more, below that SciPy's ``method="auto"``: the exact one unless the
    larger sample passes 10,000 values), categorical columns the chi-square test of
    homogeneity of the reference and batch counts (:func:`scipy.stats.chi2_contingency`,
    without Yates' correction, whatever the number of categories), and both the
    population stability index (PSI). The p-values are corrected for the
    number of features, and a feature is flagged as drifted when its corrected p-value
    is at most ``alpha``.

    **False alarm rate.** When the reference and the batch are drawn from the same
    distribution, the overall verdict ``drift_detected_`` is a false alarm with
    probability at most ``alpha`` under ``correction="bonferroni"`` (whatever the
    dependence between features) and under ``"benjamini-hochberg"`` (independent or
    positively dependent features); without correction, up to
    ``1 - (1 - alpha) ** n_features``. The rate is over the draw of both: one given
    reference, itself off its distribution by chance, has a rate above or below,
    the more so as the batches near the size of what is kept of it
    (``min(n_reference, max_samples)``): keep batches well below it. The KS test
    is conservative on columns with repeated values (a count of a few values tests
    with more power as categorical: list it in ``categorical_features``), and
    ``psi_threshold`` can only lower the rate. The exception is a category absent
    from the reference, which always flags its feature (below): a long-tailed
    column whose rarest values the reference missed raises such alarms without
    any drift (a third of the batches, for a column of 90 values of a power-law
    distribution, 2,000 reference rows and batches of 500), until it has more than
    ``max_categories`` values, whose rarer ones are pooled.

    **Memory.** The fitted state is bounded by the parameters, whatever the number of reference
    rows: per numeric column a uniform random sample of at most ``max_samples`` values (the KS
    test runs against this sample, which is drawn from the reference distribution, so its false
    alarm rate is unchanged; it has the power of a test with ``min(n_reference, max_samples)``
    reference values) and ``n_bins`` quantile bins with their reference proportions, computed on
    the whole reference; per categorical column the counts of the ``max_categories`` most
    frequent values and one count for all the others. That is at most ``8 * (max_samples + 2 *
    n_bins)`` bytes per numeric column and ``8 * (max_categories + 1)`` bytes plus the category
    values per categorical one. A batch given to ``test`` is used whole. A numeric column that
    is float32 on one side and float64 on the other is compared at float32's precision: 0.1 and
    ``np.float32(0.1)`` are the same value here, as are 1234567.89 and its float32 rounding, not
    a drift (a categorical column's floats are compared as given).

    **Categories never seen in the reference** make their feature drifted, whatever
    its p-value and ``psi_threshold``. They share one column of the chi-square table,
    whose reference count is 0 (the test takes its expected counts from both samples, so none is
    made up); in the PSI that column's reference share is 0, floored at 1e-4 like
    every empty bin. When the reference had more than ``max_categories`` values,
    the rarer ones are pooled and a value not kept cannot be told from them: it
    counts in the pooled column. The kept values are then chosen on a random half
    of the reference and counted on the other half, since the most frequent values
    of a sample are partly the luckiest and their own counts would overstate them.
    Where a cell of the table is expected to hold fewer than 5 rows (a rare
    category, a small batch), the chi-square approximation fails (a rare
    category's single row looks significant): the p-value is then a Monte Carlo
    one over random tables of the same margins (SciPy's ``chi2_contingency``
    with ``MonteCarloMethod``, 999 tables, 9999 where that gives at most 0.1,
    and where none of those is as far, as many as it takes to reach the
    corrected level, up to 199,999; fixed seeds), whose false alarm rate is at
    most alpha however rare a category.

    **Missing and infinite values** are rejected by ``fit`` and ``test`` with a
    ValueError naming the columns: fit on the reference rows holding none, as keraslearn's
    server and :class:`RecentRows` test complete rows (imputed values, piled at one value
    that the tested rows never hold, would be flagged as drift; no missing-value rate is tested).

    Parameters
    ----------
    categorical_features : array-like of str, int or bool, default=None
        The categorical columns: names (when fitting on a DataFrame with string column
        names), indices, or a boolean mask over the columns; the others are numeric
        (list bool columns too: the KS test on 0 and 1 has far less power). When None,
        columns of text, category or bool dtype are categorical, numbers are numeric (pandas'
        inference types object columns first: numbers held as objects are numbers), and any
        other dtype is a ValueError.

    alpha : float, default=0.05
        Significance level: the family-wise error rate under Bonferroni, the
        false discovery rate under Benjamini–Hochberg, the per-feature level
        without correction.

    correction : {"bonferroni", "benjamini-hochberg"} or None, default="bonferroni"
        Correction of the p-values for the number of features. Bonferroni
        bounds the chance of any false alarm; Benjamini–Hochberg bounds the
        expected share of false alarms among the flagged features and flags more
        features when several shift at once. None reports raw p-values.

    psi_threshold : float, default=None
        When set, a feature is flagged only if its test is significant *and* its
        PSI reaches this value (0.1 and 0.25 are the usual "moderate" and
        "significant" levels for 10 bins): a filter against alarms on shifts too
        small to matter, which large batches make significant. PSI alone never
        flags a feature, having no false alarm control: on ``m`` rows from the
        reference distribution it averages about ``(n_bins - 1) / m`` for ``m``
        well above ``n_bins`` (more below: empty bins). None: PSI only reported.

    n_bins : int, default=10
        Number of reference quantile bins of a numeric column for the PSI (repeated
        quantiles merge into a bin of their own value: a discrete column may get fewer).

    max_samples : int, default=10_000
        Size of the uniform random sample kept from each numeric reference column
        for the KS test (the same rows for every column).

    max_categories : int, default=100
        Number of most frequent values kept per categorical column; the rarer ones
        are pooled into one count.

    random_state : int, RandomState instance or None, default=None
        Seeds the sampled rows (a reference of more than ``max_samples`` rows) and
        the halves of a categorical column of more than ``max_categories`` values.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit. Defined only when X was a
        DataFrame with string column names; the features are then matched by
        name in ``test``, otherwise by position and named ``x0``, ``x1``, ...

    categorical_ : ndarray of bool of shape (n_features_in_,)
        Which features are categorical.

    n_samples_fit_ : int
        Number of reference rows.

    reference_sample_ : dict of str to ndarray
        Per numeric feature, the sorted sample of reference values.

    bin_edges_ : dict of str to ndarray
        Per numeric feature, the interior edges of its PSI bins ``[e_i,
        e_i+1)``; a value repeated across quantiles ``v`` is the bin ``[v, the
        next float after v)``.

    bin_proportions_ : dict of str to ndarray
        Per numeric feature, the share of the reference in each PSI bin.

    categories_ : dict of str to list
        Per categorical feature, the kept values, most frequent first.

    category_counts_ : dict of str to ndarray
        Per categorical feature, the reference count of each kept value,
        followed by the count of the pooled rarer values (counted on half the
        reference when values were pooled).

    n_distinct_ : dict of str to int
        Per categorical feature, the number of distinct values in the
        reference; when it exceeds the number kept, the rarer were pooled.

    drift_detected_ : bool
        Whether the last ``test`` flagged any feature. Set by ``test``.

    drifted_features_ : list of str
        The features flagged by the last ``test``. Set by ``test``.

    See Also
    --------
    keraslearn.monitoring.RecentRows : A bounded, thread-safe window of recent rows.
    keraslearn.monitoring.drift_report : Figures and an HTML page of a test.
    scipy.stats.ks_2samp : The numeric test.
    scipy.stats.chi2_contingency : The categorical test.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from keraslearn.monitoring import DriftDetector
    >>> rng = np.random.default_rng(0)
    >>> def batch(n, shift=0.0):
    ...     return pd.DataFrame({"age": rng.normal(40 + shift, 10, n),
    ...                          "city": rng.choice(["Lyon", "Oslo"], n)})
    >>> detector = DriftDetector(random_state=0).fit(batch(5000))
    >>> detector.test(batch(500))["drifted"].tolist()
    [False, False]
    >>> result = detector.test(batch(500, shift=5))
    >>> result[["feature", "test", "drifted"]]
      feature  test  drifted
    0     age    ks     True
    1    city  chi2    False
    >>> detector.drift_detected_, detector.drifted_features_
    (True, ['age'])
    """

    _parameter_constraints = {
        "categorical_features": [None, "array-like"],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "correction": [OneOf("bonferroni", "benjamini-hochberg"), None],
        "psi_threshold": [Interval(Real, 0, None, closed="left"), None],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "max_samples": [Interval(Integral, 1, None, closed="left")],
        "max_categories": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, categorical_features=None, alpha=0.05, correction="bonferroni",
                 psi_threshold=None, n_bins=10, max_samples=10_000, max_categories=100,
                 random_state=None):
        self.categorical_features = categorical_features
        self.alpha = alpha
        self.correction = correction
        self.psi_threshold = psi_threshold
        self.n_bins = n_bins
        self.max_samples = max_samples
        self.max_categories = max_categories
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        return tags

    def fit(self, X, y=None):
        """Summarise the reference data.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Reference data, usually the training data, without missing or
            infinite values. It is not modified.

        y : None
            Ignored.

        Returns
        -------
        self : DriftDetector
            The fitted detector.
        """
        validate_parameters(self, self._parameter_constraints)
        owner = type(self).__name__
        frame = as_frame(X, owner)
        names = string_names(frame, X)
        categorical = categorical_mask(self.categorical_features, frame, names, owner)
        features = [label(frame, j, names) for j in range(frame.shape[1])]
        columns = column_values(frame, categorical, features, owner)
        n_samples = frame.shape[0]
        random_state = check_random_state(self.random_state)
        sample_index = None
        if n_samples > self.max_samples and not categorical.all():
            sample_index = np.sort(sample_without_replacement(
                n_samples, self.max_samples, random_state=random_state))
        samples, edges, proportions, categories, counts, distinct = {}, {}, {}, {}, {}, {}
        for name, is_categorical, values in zip(features, categorical, columns):
            if is_categorical:
                categories[name], counts[name], distinct[name] = summarize_categorical(
                    values, self.max_categories, random_state, name)
            else:
                samples[name], edges[name], proportions[name] = summarize_numeric(
                    values, self.n_bins, sample_index)

        for attribute in _TEST_STATE + ("feature_names_in_",):
            self.__dict__.pop(attribute, None)
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(features)
        self.categorical_ = categorical
        self.n_samples_fit_ = int(n_samples)
        self.reference_sample_ = samples
        self.bin_edges_ = edges
        self.bin_proportions_ = proportions
        self.categories_ = categories
        self.category_counts_ = counts
        self.n_distinct_ = distinct
        return self

    def test(self, X):
        """Test a batch for drift, feature by feature.

        Sets ``drift_detected_`` and ``drifted_features_`` from the result.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The batch, without missing or infinite values. A DataFrame is matched
            to the reference by column names when the detector was fitted with
            names (column order may differ), otherwise by position. It is not
            modified.

        Returns
        -------
        result : pandas.DataFrame
            One row per feature, in the fitted order, with columns ``feature``,
            ``test`` ("ks" or "chi2"), ``statistic`` (KS distance or chi-square),
            ``p_value`` (corrected), ``psi``, ``drifted`` (bool), then
            ``raw_p_value`` (before correction) and ``n_unseen`` (rows holding a
            category absent from the reference; 0 for numeric features).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the detector is not fitted.

        ValueError
            When columns are missing, unexpected or differ in number, when the
            batch is empty, or holds missing or infinite values.
        """
        result = self._test(self._columns(X))
        drifted = result.loc[result["drifted"], "feature"].tolist()
        self.__dict__.update(drift_detected_=bool(drifted), drifted_features_=drifted)
        return result

    def _features(self):
        """Feature names as they appear in results: fitted names, else ``x0``, ``x1``, ..."""
        if hasattr(self, "feature_names_in_"):
            return [str(name) for name in self.feature_names_in_]
        return [f"x{j}" for j in range(self.n_features_in_)]

    def _pooled(self, name):
        """Whether the rarer values of categorical feature ``name`` were pooled."""
        return self.n_distinct_[name] > len(self.categories_[name])

    def _columns(self, X):
        """The checked values of each fitted feature in ``X``, in the fitted order."""
        check_is_fitted(self)
        owner = type(self).__name__
        frame = as_frame(X, owner)
        features = self._features()
        names = string_names(frame, X)
        warn_unnamed(hasattr(self, "feature_names_in_"), names is not None, owner)
        if hasattr(self, "feature_names_in_") and names is not None:
            given, known = set(names), set(features)  # (wide data: no list scans)
            missing = [f for f in features if f not in given]
            unseen = [f for f in names if f not in known]
            if missing or unseen:
                problems = [f"{what} {bad[:5]}{f' and {len(bad) - 5} more' * (len(bad) > 5)}"
                            for what, bad in (("missing columns", missing),
                                              ("columns unseen at fit", unseen)) if bad]
                raise ValueError(f"X's columns differ from those {owner} was fitted on: "
                                 f"{' and '.join(problems)}.")
            frame = frame[features]
        elif frame.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {frame.shape[1]} columns, but {owner} was fitted on "
                             f"{self.n_features_in_}.")
        return column_values(frame, self.categorical_, features, owner)

    def _test(self, columns):
        """The result table for checked columns; changes nothing on the detector."""
        validate_parameters(self, self._parameter_constraints)  # (alpha... set after fit)
        rows = []
        # The smallest level a raw p-value is compared with once corrected: a Monte
        # Carlo p-value is made fine enough to reach it.
        level = self.alpha / len(columns) if self.correction is not None else self.alpha
        for name, is_categorical, values in zip(self._features(), self.categorical_, columns):
            if is_categorical:
                row = compare_categorical(self.categories_[name], self.category_counts_[name],
                                          self._pooled(name), values, name, level)
            else:
                row = compare_numeric(self.reference_sample_[name], self.bin_edges_[name],
                                      self.bin_proportions_[name], values)
            rows.append({"feature": name, **row})
        result = pd.DataFrame(rows)
        raw = result["raw_p_value"].to_numpy()
        if self.correction == "bonferroni":
            corrected = np.minimum(raw * raw.size, 1.0)
        elif self.correction == "benjamini-hochberg":
            corrected = stats.false_discovery_control(raw, method="bh")
        else:
            corrected = raw
        result["p_value"] = corrected
        drifted = corrected <= self.alpha
        if self.psi_threshold is not None:
            drifted &= result["psi"].to_numpy() >= self.psi_threshold
        result["drifted"] = drifted | (result["n_unseen"].to_numpy() > 0)
        return result[RESULT_COLUMNS]
