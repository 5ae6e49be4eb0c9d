"""Reference-vs-current PNG figures for :func:`drift_report`, one per feature.

Drawn like the evaluation report's figures: a :class:`matplotlib.figure.Figure` on
an Agg canvas (the helpers are shared with ``keraslearn.evaluation``), so neither
pyplot's list of figures nor the user's backend is touched. matplotlib is imported
inside the drawing functions only.
"""

import numpy as np

from ..evaluation._plots import _figure, _save
from ..utils._text import printable
from ._sketch import count_categories

#: Categories drawn per categorical feature; the others are drawn as one bar.
MAX_BARS = 20

_REFERENCE = {"color": "tab:blue", "alpha": 0.45}
_CURRENT = {"color": "tab:orange"}


def _title(ax, row):
    verdict = "drifted" if row["drifted"] else "no drift"
    ax.set_title(f"{row['feature']}: {verdict}\n{row['test']} p={row['p_value']:.3g}, "
                 f"PSI={row['psi']:.3g}", color="tab:red" if row["drifted"] else "black",
                 fontsize=10)


def plot_numeric(sample, values, row, path):
    """Density histograms of the reference sample and of the batch, on shared bins."""
    fig = _figure(5.5, 3.8)
    ax = fig.subplots()
    both = np.concatenate([sample, values])
    with np.errstate(over="ignore"):
        overflows = not np.isfinite(both.max() - both.min())
    # Values spanning more than the largest float (which matplotlib's axes cannot
    # span either) are drawn divided by 4, and the axis says so.
    scale = 4.0 if overflows else 1.0
    sample, values = sample / scale, values / scale
    bins = _bins(both / scale)
    ax.hist(sample, bins=bins, density=True, histtype="stepfilled",
            label=f"reference (sample of {sample.size})", **_REFERENCE)
    ax.hist(values, bins=bins, density=True, histtype="step", linewidth=1.8,
            label=f"current ({values.size})", **_CURRENT)
    ax.set(xlabel=str(row["feature"]) + (" (divided by 4)" if overflows else ""),
           ylabel="density")
    ax.legend(fontsize=8)
    _title(ax, row)
    return _save(fig, path)


def _bins(values):
    """30 shared bins; where the values span too little for that at their size
    (a column constant but for rounding, or beyond 2**53: NumPy 2 refuses it,
    NumPy 1 gives bins of no width), 30 bins around them."""
    try:
        edges = np.histogram_bin_edges(values, bins=30)
    except ValueError:
        edges = None
    if edges is not None and (np.diff(edges) > 0).all():
        return edges
    low, high = float(values.min()), float(values.max())
    half = max(abs(low), abs(high)) * 1e-6 or 0.5
    with np.errstate(over="ignore", invalid="ignore"):
        edges = np.linspace(low - half, high + half, 31)
        below = np.nextafter(low, -np.inf)  # (at the largest float: one bin, one step)
    if np.isfinite(edges).all() and (np.diff(edges) > 0).all():
        return edges
    return np.array([below, high] if np.isfinite(below) else [low, np.nextafter(high, 1)])


def plot_categorical(categories, counts, pooled, values, row, path):
    """Side-by-side bars of each category's share in the reference and in the batch."""
    observed, unseen = count_categories(categories, pooled, values, row["feature"])
    labels = [_category_text(c) for c in categories[:MAX_BARS]]
    reference = list(counts[:-1][:MAX_BARS])  # counts[-1] counts the pooled values
    current = list(observed[:-1][:MAX_BARS])
    rest_reference = counts[:-1][MAX_BARS:].sum() + counts[-1]
    rest_current = observed[:-1][MAX_BARS:].sum() + observed[-1]
    if rest_reference or rest_current:
        labels.append("(other)")
        reference.append(rest_reference)
        current.append(rest_current)
    if unseen:
        labels.append("(unseen)")
        reference.append(0)
        current.append(sum(unseen.values()))
    position = np.arange(len(labels))
    fig = _figure(min(10.0, max(5.5, 0.4 * len(labels) + 2)), 3.8)
    ax = fig.subplots()
    ax.bar(position - 0.2, np.divide(reference, counts.sum()), width=0.4, label="reference",
           **_REFERENCE)
    ax.bar(position + 0.2, np.divide(current, len(values)), width=0.4,
           label=f"current ({len(values)})", **_CURRENT)
    ax.set_xticks(position, labels, rotation=45 if len(labels) > 6 else 0,
                  ha="right" if len(labels) > 6 else "center")
    ax.set(xlabel=str(row["feature"]), ylabel="share of rows")
    ax.legend(fontsize=8)
    _title(ax, row)
    return _save(fig, path)


def _category_text(category):
    """A category as a bar's label: a date without the nanoseconds of
    ``str(datetime64)`` (whose labels ran into one another)."""
    if isinstance(category, np.datetime64):
        return np.datetime_as_string(category, unit="auto")
    return printable(category)
