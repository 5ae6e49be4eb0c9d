"""Bounded summaries of reference columns, and the per-feature tests run against them.

A numeric column is kept as

- a uniform random sample of at most ``max_samples`` of its values (sorted float64),
  against which the two-sample Kolmogorov–Smirnov test runs. The sample is drawn from
  the reference distribution, so under "no drift" the test's false alarm rate is
  exactly its nominal one; what the sample costs is power, that of a test with
  ``min(n_reference, max_samples)`` reference values;
- the interior edges of ``n_bins`` quantile bins and the reference proportion in each,
  both computed on the whole reference, for the population stability index (PSI); a
  value repeated across quantiles (a discrete column's) is a bin of its own.

A categorical column is kept as the counts of its ``max_categories`` most frequent
values and one count pooling all the rarer ones ("other"); it is tested with the
chi-square test of homogeneity of the 2 × k table (reference counts, batch counts),
a two-sample test like KS: the reference counts are a sample too, and treating them
as exact proportions would raise false alarms on batches as large as the reference.

Neither summary grows with the number of reference rows: a numeric column costs at
most ``8 * (max_samples + 2 * n_bins)`` bytes, a categorical one ``max_categories + 1``
counts and the category values themselves.

Trade-offs of the categorical test, all documented on :class:`DriftDetector`:

- values absent from the reference ("unseen") share one column whose reference count
  is 0; the test of homogeneity takes its expected counts from both rows, so that
  column needs no made-up reference proportion. The detector flags such a feature
  whatever the p-value;
- when the reference had more than ``max_categories`` values, the rarer ones were
  pooled into "other" and a value not kept cannot be told from a rare one: it counts
  as "other", not as unseen. The kept values are then chosen on one random half of
  the reference and counted on the other (see :func:`summarize_categorical`);
- where a cell is expected to hold fewer than ``MIN_EXPECTED`` = 5 rows, the usual
  condition for the chi-square approximation to hold, the p-value is a Monte Carlo
  one over random tables of the same margins (SciPy's ``chi2_contingency`` with
  ``MonteCarloMethod``), valid however rare a category: the approximation gives a
  rare category's one row a tiny p-value (false alarms at twice alpha and more),
  and pooling rare columns would hide a rare value turning common.
"""

import decimal
import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

#: Proportions are floored at this value in the PSI, so that an empty bin counts
#: as a large but finite change.
PSI_EPSILON = 1e-4

#: Below this expected count in a cell of the table (reference or batch), the
#: chi-square test's p-value is a Monte Carlo one.
MIN_EXPECTED = 5.0
#: Random tables of the Monte Carlo p-value: a first round, then a larger one
#: (p-values down to 1e-4) where the first gives at most MONTE_CARLO_SCREEN, then,
#: where no table of that one is as far, as many as the corrected significance
#: level needs to be reached (at most MONTE_CARLO_MAX_RESAMPLES).
MONTE_CARLO_RESAMPLES = (999, 9999)
MONTE_CARLO_SCREEN = 0.1
MONTE_CARLO_MAX_RESAMPLES = 199_999
#: Random tables drawn at once (SciPy draws a round's tables together otherwise:
#: 199,999 tables of 101 cells took a gigabyte).
MONTE_CARLO_BATCH = 10_000


def psi(reference, current, epsilon=PSI_EPSILON):
    """Population stability index ``sum((c - r) * ln(c / r))`` of two proportion vectors.

    Both are floored at ``epsilon`` first, so bins empty on one side stay finite.
    """
    r = np.maximum(np.asarray(reference, dtype=np.float64), epsilon)
    c = np.maximum(np.asarray(current, dtype=np.float64), epsilon)
    return float(np.sum((c - r) * np.log(c / r)))


def _bin_proportions(edges, values):
    """Proportion of ``values`` in each bin ``(-inf, e0), [e0, e1), ..., [e_last, inf)``."""
    counts = np.bincount(np.searchsorted(edges, values, side="right"),
                         minlength=edges.size + 1)
    return counts / values.size


def summarize_numeric(values, n_bins, sample_index):
    """(sorted sample, interior quantile bin edges, reference proportion per bin).

    ``sample_index`` holds the rows kept in the sample, or None to keep them all.
    Repeated quantiles (discrete or constant columns) are merged into one bin of
    their own value, so the bins may be fewer than ``n_bins``.
    """
    values = np.asarray(values, dtype=np.float64)  # a float32 column's too
    quantiles = np.quantile(values, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
    edges, repeats = np.unique(quantiles, return_counts=True)
    # A value repeated across quantiles holds a share of the rows of its own (a
    # discrete or constant column's): it gets a bin of its own, [v, next float
    # after v), so that values above it are not counted with it.
    points = edges[repeats > 1]
    edges = np.union1d(edges, np.nextafter(points, np.inf))
    sample = np.sort(values if sample_index is None else values[sample_index])
    return sample, edges, _bin_proportions(edges, values)


# From this many values in both samples on, the KS p-value is SciPy's asymptotic
# one: within a few percent of the exact one there (and far below any alarm level
# where they differ more), while the exact one costs 10-100x more once a column
# drifts (13 ms against 1.4 ms for 1,000 rows against 10,000, 74 against 3 for 5,000).
EXACT_KS_BELOW = 1000


def _float32_values(values):
    """``values`` (float64) rounded to float32 when every one of them is a float32
    already, else None."""
    with np.errstate(over="ignore"):
        single = values.astype(np.float32)
    return single if np.array_equal(single, values) else None


def at_reference_precision(sample, values):
    """(reference sample and batch values for the KS test, batch values for the
    PSI) at the precision of the two, when one was float32 and the other float64
    (a server casting requests to the model's float32, a reference fitted on
    float32 arrays): float64 decimals such as 0.1 are not the float32 ones, and
    every value of a discrete column would otherwise differ from the reference's.

    A float64 batch against a float32 reference is rounded to float32. A float32
    batch (of dtype float32, or float64 values float32 holds exactly) against a
    float64 reference is tested against the reference sample rounded to float32;
    for the PSI each of its values is the reference value nearest to it among
    those that round to it in float32 (1234567.89, not 1234567.875), or else the
    shortest decimal its float32 value prints as (0.1, not 0.10000000149)."""
    single = values if values.dtype == np.float32 else _float32_values(values)
    values = np.asarray(values, dtype=np.float64)
    if _float32_values(sample) is not None:
        with np.errstate(over="ignore"):
            values = values.astype(np.float32).astype(np.float64)
        return sample, values, values
    if single is None:
        return sample, values, values
    with np.errstate(over="ignore"):
        rounded = sample.astype(np.float32)  # sorted still: rounding keeps the order
    low, high = np.searchsorted(rounded, single), np.searchsorted(rounded, single, "right")
    # Each value's run [first, last] of reference values rounding to it (none
    # where high == low: the indices are then only kept within the sample).
    first = low.clip(max=sample.size - 1)
    last = np.maximum(high - 1, low).clip(max=sample.size - 1)
    at = np.clip(np.searchsorted(sample, values), first, last)
    before = np.clip(at - 1, first, last)
    at = np.where(np.abs(sample[before] - values) < np.abs(sample[at] - values), before, at)
    mapped = np.where(high > low, sample[at], single.astype(str).astype(np.float64))
    return rounded.astype(np.float64), single.astype(np.float64), mapped


def compare_numeric(sample, edges, proportions, values):
    """KS statistic and p-value of ``values`` against the reference sample, and the PSI
    (``values`` taken at the reference's precision, see :func:`at_reference_precision`)."""
    sample, values, binned = at_reference_precision(sample, values)
    method = "asymp" if min(len(sample), len(values)) >= EXACT_KS_BELOW else "auto"
    ks = stats.ks_2samp(sample, values, method=method)
    return {"test": "ks", "statistic": float(ks.statistic), "raw_p_value": float(ks.pvalue),
            "psi": psi(proportions, _bin_proportions(edges, binned)), "n_unseen": 0}


def _value_counts(values, feature):
    """Counts of each distinct value, most frequent first (ties in order of appearance)."""
    counts = pd.Series(values, dtype=object).value_counts(sort=True)
    odd = [value for value in counts.index if not pd.api.types.is_scalar(value)]
    if odd:  # a dict, a list, an array: pandas would count them, nothing could match them
        raise TypeError(f"Categorical column {feature!r} holds values that are not scalars, "
                        f"e.g. {odd[0]!r}: categories must be strings, numbers or booleans.")
    return counts


def plain(value):
    """A NumPy scalar as the Python scalar it holds (categories are kept as plain
    types); a date or duration as NumPy's datetime64 or timedelta64, which skops
    stores and rebuilds (pandas' Timestamp it stores, then cannot rebuild); a
    Decimal as the float it is sent as (JSON's numbers, a DataFrame's floats)."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (pd.Timestamp, pd.Timedelta)):
        return value.to_numpy()
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return value  # (item() would give an int of nanoseconds)
    return value.item() if isinstance(value, np.generic) else value


def summarize_categorical(values, max_categories, random_state, feature):
    """(kept categories, most frequent first; their counts followed by the pooled count;
    the number of distinct values).

    With more than ``max_categories`` distinct values, the kept ones are chosen on a
    random half of the rows and counted on the other half: counting the rows that chose
    them would inflate their counts (the most frequent values of a sample are partly
    the luckiest), and those inflated counts would raise false alarms.
    """
    counts = _value_counts(values, feature)
    if counts.size <= max_categories:
        return ([plain(value) for value in counts.index],
                np.append(counts.to_numpy(dtype=np.int64), 0), int(counts.size))
    choose = random_state.permutation(len(values)) < len(values) // 2
    chosen = _value_counts(values[choose], feature)
    categories = [plain(value) for value in chosen.index[:max_categories]]
    counted = _value_counts(values[~choose], feature)
    kept = counted.reindex(chosen.index[:max_categories], fill_value=0).to_numpy(dtype=np.int64)
    return categories, np.append(kept, counted.sum() - kept.sum()), int(counts.size)


def count_categories(categories, pooled, values, feature):
    """Counts of ``values`` in the reference cells, and the unseen values with their counts.

    Values not among ``categories`` go to the last, pooled cell when the reference
    pooled its rarer values (``pooled``), and are unseen otherwise.
    """
    # (categories saved as they were read before: Decimal ones, say)
    position = {plain(category): i for i, category in enumerate(categories)}
    observed = np.zeros(len(categories) + 1, dtype=np.int64)
    unseen = {}
    for value, n in _value_counts(values, feature).items():
        value = plain(value)
        i = position.get(value)
        if i is not None:
            observed[i] += n
        elif pooled:
            observed[-1] += n
        else:
            unseen[value] = int(n)
    return observed, unseen


def chi_square(table, level=None):
    """Pearson's chi-square test of homogeneity of the rows of ``table`` (counts):
    SciPy's asymptotic p-value where every expected count reaches MIN_EXPECTED,
    else a Monte Carlo one, from fixed seeds (a batch's result does not depend
    on the calls before it), fine enough to fall below ``level`` (the smallest
    corrected significance level) where the table is that far."""
    table = table.astype(np.int64)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    if expected.min() >= MIN_EXPECTED:
        result = stats.chi2_contingency(table, correction=False)
        return float(result.statistic), float(result.pvalue)
    rounds = list(MONTE_CARLO_RESAMPLES)
    if level is not None:  # its smallest p-value, 1 / (n + 1), half the level at most
        rounds.append(min(MONTE_CARLO_MAX_RESAMPLES, math.ceil(2 / level)))
    for seed, n_resamples in enumerate(rounds):
        if seed and n_resamples <= rounds[seed - 1]:
            break
        method = stats.MonteCarloMethod(n_resamples=n_resamples, batch=MONTE_CARLO_BATCH,
                                        rng=np.random.default_rng(seed))
        result = stats.chi2_contingency(table, correction=False, method=method)
        floor = 1 / (n_resamples + 1)
        if result.pvalue > (MONTE_CARLO_SCREEN if seed == 0 else floor):
            break  # the last rounds only where no table was as far
    return float(result.statistic), float(result.pvalue)


def compare_categorical(categories, counts, pooled, values, feature, level=None):
    """Chi-square test of homogeneity of the reference and current counts, and the
    PSI; ``level``: see :func:`chi_square`."""
    observed, unseen = count_categories(categories, pooled, values, feature)
    n_unseen = sum(unseen.values())
    if unseen and not observed.any():
        _warn_of_other_types(categories, unseen, feature)
    table = np.vstack([np.append(counts, 0), np.append(observed, n_unseen)]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]  # drops an empty pooled or unseen column
    psi_value = psi(table[0] / table[0].sum(), table[1] / table[1].sum())
    if table.shape[1] < 2:  # one category holds every row, on both sides
        statistic, p_value = 0.0, 1.0
    else:
        statistic, p_value = chi_square(table, level)
    return {"test": "chi2", "statistic": statistic, "raw_p_value": p_value, "psi": psi_value,
            "n_unseen": n_unseen}


def _warn_of_other_types(categories, unseen, feature):
    """Warn where no value of a batch's column is the reference's, all of other
    types: ``"True"`` for ``True``, ``"94103"`` for ``94103`` (a batch read from a
    CSV file as text), flagged as drift, every row unseen."""
    from .._stacklevel import user_stacklevel

    given = {type(value) for value in unseen}
    known = {type(plain(category)) for category in categories}
    if given & known:
        return
    ours, theirs = next(iter(unseen)), plain(categories[0])
    warnings.warn(
        f"No value of {feature!r} in the batch is one of the reference's, and all are of "
        f"other types ({', '.join(sorted(t.__name__ for t in given))}, where the "
        f"reference's are {', '.join(sorted(t.__name__ for t in known))}: {ours!r} against "
        f"{theirs!r}): every row is unseen, and the feature flagged as drifted. A batch is "
        "compared as read (a CSV file's text, or numbers where the reference held text): "
        "give it the reference's types.",
        UserWarning, stacklevel=user_stacklevel())
