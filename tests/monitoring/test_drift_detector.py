"""What DriftDetector finds: false alarms at the documented rate, shifts, new categories,
the multiple-testing corrections, PSI and chi-square against hand computations."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from keraslearn.monitoring import DriftDetector

pytestmark = pytest.mark.filterwarnings("error")

CITIES = np.array(["Lyon", "Oslo", "Rome"])
CITY_MIX = [0.5, 0.3, 0.2]


def table(rng, n, *, income_shift=0.0, income_scale=1.0, city_mix=CITY_MIX):
    """Two numeric features (one continuous, one discrete) and one categorical."""
    return pd.DataFrame({
        "income": rng.normal(income_shift, income_scale, n),
        "rooms": rng.poisson(3.0, n),
        "city": rng.choice(CITIES, n, p=city_mix),
    })


@pytest.fixture
def rng():
    return np.random.default_rng(42)


@pytest.fixture
def detector(rng):
    return DriftDetector(random_state=0).fit(table(rng, 5000))


def binomial_limit(n_trials, rate, confidence=0.999):
    """The most alarms ``n_trials`` batches give, at ``confidence``, at a true ``rate``."""
    return int(stats.binom.ppf(confidence, n_trials, rate))


def test_false_alarm_rate_on_fresh_samples_is_at_most_alpha():
    # Each trial draws a new reference and a new batch from one distribution: the
    # documented rate is over both (a fixed reference deviates from its distribution
    # by chance, which moves the rate of that one reference up or down).
    rng = np.random.default_rng(7)
    alpha, n_trials = 0.1, 200
    flagged = {"bonferroni": 0, "benjamini-hochberg": 0}
    raw = []
    for _ in range(n_trials):
        detector = DriftDetector(alpha=alpha).fit(table(rng, 1000))
        batch = table(rng, 200)
        for correction in flagged:
            result = detector.set_params(correction=correction).test(batch)
            flagged[correction] += detector.drift_detected_
        raw.append(result["raw_p_value"].to_numpy())
    for correction, n_flagged in flagged.items():
        assert n_flagged <= binomial_limit(n_trials, alpha), correction
    # The tests are not so conservative that they never fire: the continuous and the
    # categorical features' raw p-values fall under alpha at about the rate alpha
    # (the discrete 'rooms' has ties, which make KS conservative, as documented).
    raw = np.array(raw)
    for column in (0, 2):
        rate = np.mean(raw[:, column] <= alpha)
        low = stats.binom.ppf(0.001, n_trials, alpha) / n_trials
        assert low <= rate <= binomial_limit(n_trials, alpha) / n_trials
    assert np.mean(raw[:, 1] <= alpha) <= binomial_limit(n_trials, alpha) / n_trials


def test_no_correction_flags_each_feature_at_alpha(detector, rng):
    detector.set_params(correction=None)
    result = detector.test(table(rng, 500))
    np.testing.assert_array_equal(result["p_value"], result["raw_p_value"])


def test_detects_a_mean_shift_of_half_a_standard_deviation(detector, rng):
    result = detector.test(table(rng, 500, income_shift=0.5))
    assert result.set_index("feature").loc["income", "drifted"]
    assert detector.drift_detected_ and detector.drifted_features_ == ["income"]
    assert result.set_index("feature").loc["income", "test"] == "ks"


def test_detects_a_doubled_standard_deviation(detector, rng):
    result = detector.test(table(rng, 500, income_scale=2.0)).set_index("feature")
    assert result.loc["income", "drifted"]
    assert result.loc["income", "p_value"] < 1e-6
    assert detector.drifted_features_ == ["income"]


def test_detects_a_changed_category_mix(detector, rng):
    result = detector.test(table(rng, 500, city_mix=[0.35, 0.35, 0.3])).set_index("feature")
    assert result.loc["city", "test"] == "chi2"
    assert result.loc["city", "drifted"] and result.loc["city", "n_unseen"] == 0
    assert detector.drifted_features_ == ["city"]


def test_a_new_category_is_drift_even_in_one_row(detector, rng):
    batch = table(rng, 500)
    batch.loc[7, "city"] = "Paris"
    result = detector.test(batch).set_index("feature")
    assert result.loc["city", "drifted"] and result.loc["city", "n_unseen"] == 1
    assert detector.drifted_features_ == ["city"]
    gated = detector.set_params(psi_threshold=10.0).test(batch).set_index("feature")
    assert gated.loc["city", "psi"] < 10.0 and gated.loc["city", "drifted"]
    detector.set_params(psi_threshold=None)
    batch.loc[:99, "city"] = "Paris"
    result = detector.test(batch).set_index("feature")
    assert result.loc["city", "n_unseen"] == 100 and result.loc["city", "p_value"] < 1e-10


def test_a_new_category_counts_as_pooled_when_the_reference_was_pooled(rng):
    reference = pd.DataFrame({"code": rng.integers(0, 40, 4000).astype(str)})
    detector = DriftDetector(max_categories=10, random_state=0).fit(reference)
    assert len(detector.categories_["code"]) == 10
    batch = pd.DataFrame({"code": rng.integers(0, 40, 400).astype(str)})
    batch.loc[0, "code"] = "new"
    row = detector.test(batch).iloc[0]
    assert row["n_unseen"] == 0 and not row["drifted"]


def test_a_pooled_reference_value_is_never_unseen():
    # Few rows: the half that counts the kept values may hold none of the pooled ones;
    # they were in the reference all the same, and must not count as new.
    reference = np.array(["a"] * 30 + ["b"] * 30 + ["r1", "r2", "r3"], dtype=object)[:, None]
    batch = np.array(["a", "b", "r1", "r2", "r3"] * 10, dtype=object)[:, None]
    empty_pooled_half = 0
    for seed in range(12):
        detector = DriftDetector(max_categories=2, random_state=seed).fit(reference)
        assert detector.n_distinct_["x0"] == 5 and len(detector.categories_["x0"]) == 2
        empty_pooled_half += detector.category_counts_["x0"][-1] == 0
        assert detector.test(batch).loc[0, "n_unseen"] == 0
    assert empty_pooled_half > 0  # the case this test is about did occur


def test_psi_threshold_only_narrows_what_is_flagged(rng):
    reference = table(rng, 20000)
    small_shift = table(rng, 20000, income_shift=0.1)  # significant, PSI ~ 0.01
    plain = DriftDetector(random_state=0).fit(reference)
    gated = DriftDetector(psi_threshold=0.1, random_state=0).fit(reference)
    assert plain.test(small_shift).set_index("feature").loc["income", "drifted"]
    result = gated.test(small_shift).set_index("feature")
    assert result.loc["income", "psi"] < 0.1 and not result.loc["income", "drifted"]
    big_shift = table(rng, 2000, income_shift=1.0)
    assert gated.test(big_shift).set_index("feature").loc["income", "drifted"]


def test_bonferroni_and_benjamini_hochberg(rng):
    n_features, n = 10, 400
    reference = rng.normal(size=(4000, n_features))
    shifts = np.r_[np.full(6, 0.17), np.zeros(n_features - 6)]  # several moderate shifts
    batch = rng.normal(shifts, 1.0, size=(n, n_features))
    bonferroni = DriftDetector(random_state=0).fit(reference).test(batch)
    bh = DriftDetector(correction="benjamini-hochberg", random_state=0).fit(reference).test(batch)
    raw = bonferroni["raw_p_value"].to_numpy()
    np.testing.assert_array_equal(raw, bh["raw_p_value"])
    np.testing.assert_allclose(bonferroni["p_value"], np.minimum(raw * n_features, 1.0))
    np.testing.assert_array_equal(bonferroni["drifted"], raw * n_features <= 0.05)
    # Benjamini–Hochberg's step-up rule, written out: reject the k smallest p-values,
    # k the largest rank with p_(k) <= k / m * alpha.
    order = np.argsort(raw)
    below = np.flatnonzero(raw[order] <= np.arange(1, n_features + 1) / n_features * 0.05)
    expected = np.zeros(n_features, dtype=bool)
    if below.size:
        expected[order[:below[-1] + 1]] = True
    np.testing.assert_array_equal(bh["drifted"], expected)
    assert set(np.flatnonzero(bonferroni["drifted"])) < set(np.flatnonzero(bh["drifted"]))


def test_psi_and_ks_match_a_hand_computation():
    reference = np.repeat(np.arange(10.0), 100)[:, None]  # 0..9, 100 of each
    detector = DriftDetector(n_bins=5).fit(reference)
    np.testing.assert_allclose(detector.bin_edges_["x0"], [1.8, 3.6, 5.4, 7.2])
    np.testing.assert_allclose(detector.bin_proportions_["x0"], [0.2] * 5)
    # shares per bin {0,1}, {2,3}, {4,5}, {6,7}, {8,9}: 0.1, 0.3, 0.2, 0.2, 0.2
    batch = np.repeat([0.0, 2.0, 4.0, 6.0, 8.0], [10, 30, 20, 20, 20])[:, None]
    row = detector.test(batch).iloc[0]
    assert row["psi"] == pytest.approx(0.1 * np.log(2) + 0.1 * np.log(1.5))
    # KS distance: the largest gap of the two empirical CDFs, here at x = 0 and x = 2
    assert row["statistic"] == pytest.approx(0.1)
    # an empty bin counts with the documented floor of 1e-4
    row = detector.test(np.repeat([2.0, 4.0, 6.0, 8.0], [40, 20, 20, 20])[:, None]).iloc[0]
    expected = (1e-4 - 0.2) * np.log(1e-4 / 0.2) + 0.2 * np.log(0.4 / 0.2)
    assert row["psi"] == pytest.approx(expected)


@pytest.mark.parametrize("n", [200, 999, 1000, 4000])
def test_the_ks_p_value_is_scipy_s_exact_one_for_small_batches_and_asymptotic_for_large(n):
    rng = np.random.default_rng(3)
    reference = rng.normal(size=(5000, 1))
    batch = rng.normal(0.15, 1.0, size=(n, 1))
    row = DriftDetector(max_samples=5000).fit(reference).test(batch).iloc[0]
    method = "asymp" if n >= 1000 else "exact"
    expected = stats.ks_2samp(reference[:, 0], batch[:, 0], method=method)
    assert row["statistic"] == pytest.approx(expected.statistic)
    assert row["raw_p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
    other = stats.ks_2samp(reference[:, 0], batch[:, 0],
                           method="exact" if method == "asymp" else "asymp")
    assert other.pvalue != pytest.approx(expected.pvalue, rel=1e-9)  # the choice shows


def test_a_value_repeated_across_quantiles_is_a_psi_bin_of_its_own():
    # 95% zeros: every quantile is 0. The zeros are a bin of their own, so a batch
    # of 60% ones (or of values below the reference) is told from the reference
    # by the PSI too, not only by KS.
    reference = pd.DataFrame({"flag": np.repeat([0.0, 1.0], [950, 50]),
                              "constant": np.zeros(1000)})
    detector = DriftDetector(psi_threshold=0.1).fit(reference)
    np.testing.assert_allclose(detector.bin_proportions_["flag"], [0.0, 0.95, 0.05])
    batch = pd.DataFrame({"flag": np.repeat([0.0, 1.0], [80, 120]), "constant": 5.0})
    report = detector.test(batch).set_index("feature")
    # the bin below 0 is empty on both sides: it adds nothing
    expected = (0.4 - 0.95) * np.log(0.4 / 0.95) + (0.6 - 0.05) * np.log(0.6 / 0.05)
    assert report.loc["flag", "psi"] == pytest.approx(expected)
    assert report["drifted"].all()
    below = detector.test(batch.assign(constant=-5.0)).set_index("feature")
    assert below.loc["constant", "psi"] == pytest.approx(report.loc["constant", "psi"])
    assert below.loc["constant", "drifted"]


def test_categorical_psi_and_chi_square_match_a_hand_computation():
    reference = np.repeat(["a", "b", "c"], [500, 300, 200]).astype(object)[:, None]
    detector = DriftDetector().fit(reference)
    assert detector.categories_["x0"] == ["a", "b", "c"]
    np.testing.assert_array_equal(detector.category_counts_["x0"], [500, 300, 200, 0])
    batch = np.repeat(["a", "b", "c", "d"], [20, 30, 40, 10]).astype(object)[:, None]
    row = detector.test(batch).iloc[0]
    assert row["n_unseen"] == 10 and row["drifted"]
    expected_psi = ((0.2 - 0.5) * np.log(0.2 / 0.5) + (0.4 - 0.2) * np.log(0.4 / 0.2)
                    + (0.1 - 1e-4) * np.log(0.1 / 1e-4))
    assert row["psi"] == pytest.approx(expected_psi)
    # chi-square of homogeneity of the 2 x 4 table, by its formula
    observed = np.array([[500, 300, 200, 0], [20, 30, 40, 10]], dtype=float)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    assert row["statistic"] == pytest.approx(((observed - expected) ** 2 / expected).sum())
    # The unseen column is expected to hold 0.9 of the batch's rows: the p-value is a
    # Monte Carlo one, and no random table of these margins is as far: 1 / (9999 + 1).
    assert row["raw_p_value"] == pytest.approx(1e-4)
    # Every cell expected to hold 5 rows or more: chi-square's own p-value.
    batch = np.repeat(["a", "b", "c"], [30, 40, 30]).astype(object)[:, None]
    row = detector.test(batch).iloc[0]
    observed = np.array([[500, 300, 200], [30, 40, 30]], dtype=float)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    assert expected.min() >= 5
    assert row["statistic"] == pytest.approx(((observed - expected) ** 2 / expected).sum())
    assert row["raw_p_value"] == pytest.approx(stats.chi2.sf(row["statistic"], df=2))


def _exact_chi_square_p(reference, batch):
    """The exact conditional p-value of Pearson's chi-square on a 2 x 2 table
    (reference and batch counts of [common, rare]): the hypergeometric chance of
    a table of the same margins at least as far from homogeneity."""
    table = np.array([reference, batch], dtype=float)
    rows, columns, n = table.sum(axis=1), table.sum(axis=0), table.sum()

    def chi2(rare_in_batch):
        t = np.array([[rows[0] - (columns[1] - rare_in_batch), columns[1] - rare_in_batch],
                      [rows[1] - rare_in_batch, rare_in_batch]])
        expected = np.outer(rows, columns) / n
        return ((t - expected) ** 2 / expected).sum()

    support = np.arange(max(0, columns[1] - rows[0]), min(columns[1], rows[1]) + 1)
    chance = stats.hypergeom(int(n), int(columns[1]), int(rows[1])).pmf(support)
    far = np.array([chi2(k) for k in support]) >= chi2(batch[1]) * (1 - 1e-9)
    return float(chance[far].sum())


def test_a_rare_category_s_single_row_is_no_alarm():
    # P(rare) = 0.001: a batch of 170 rows holding one is what no drift gives one time
    # in seven. The chi-square approximation gave it p = 3e-5, and with it a false
    # alarm rate of twice alpha (13 times Bonferroni's level over 10 features).
    reference = np.repeat([False, True], [19_980, 20])[:, None]
    detector = DriftDetector().fit(reference)
    batch = np.repeat([False, True], [169, 1])[:, None]
    row = detector.test(batch).iloc[0]
    exact = _exact_chi_square_p([19_980, 20], [169, 1])
    assert exact > 0.1 and row["raw_p_value"] == pytest.approx(exact, abs=0.03)
    assert not row["drifted"]
    # The same rare value turned common is drift, however few the rows.
    row = detector.test(np.repeat([False, True], [120, 50])[:, None]).iloc[0]
    assert row["raw_p_value"] <= 1e-4 and row["drifted"]
    # Nine rows all of one value of a 50/50 reference: before, everything was
    # pooled into one column and p was 1.
    halves = DriftDetector().fit(np.repeat(["a", "b"], 500).astype(object)[:, None])
    row = halves.test(np.repeat(["a"], 9).astype(object)[:, None]).iloc[0]
    assert row["raw_p_value"] == pytest.approx(_exact_chi_square_p([500, 500], [9, 0]),
                                               abs=0.002)
    assert row["raw_p_value"] < 0.01 and row["drifted"]
    # Fixed seeds: the same batch, the same p-value, whatever came before.
    # (Checked below with 150 features.)
    again = halves.test(np.repeat(["a"], 9).astype(object)[:, None]).iloc[0]
    assert again["raw_p_value"] == row["raw_p_value"]


def test_result_columns_and_types(detector, rng):
    result = detector.test(table(rng, 300))
    assert list(result.columns[:6]) == ["feature", "test", "statistic", "p_value", "psi",
                                        "drifted"]
    assert result["feature"].tolist() == ["income", "rooms", "city"]
    assert result["test"].tolist() == ["ks", "ks", "chi2"]
    assert result["drifted"].dtype == bool
    assert ((result["p_value"] >= result["raw_p_value"]) & (result["p_value"] <= 1)).all()
    assert detector.drift_detected_ is False and detector.drifted_features_ == []


def test_refitting_forgets_the_last_verdict(detector, rng):
    detector.test(table(rng, 300, income_shift=2.0))
    assert detector.drift_detected_
    detector.fit(table(rng, 1000))
    assert not hasattr(detector, "drift_detected_")
    assert not hasattr(detector, "drifted_features_")


def test_a_monte_carlo_p_value_reaches_the_corrected_level():
    # 149 numeric features and a rare flag turned common, alpha 0.01: Bonferroni
    # compares raw p-values with 6.7e-5, below the 1e-4 of 9999 random tables;
    # with no more than those the flag could never be flagged.
    rng = np.random.default_rng(0)
    numbers = rng.normal(size=(2000, 149))
    flag = np.repeat([False, True], [1996, 4])
    reference = pd.DataFrame(numbers).add_prefix("n").assign(flag=flag)
    detector = DriftDetector(alpha=0.01).fit(reference)
    batch = pd.DataFrame(rng.normal(size=(40, 149))).add_prefix("n").assign(
        flag=np.repeat([False, True], [20, 20]))
    result = detector.test(batch).set_index("feature")
    assert result.loc["flag", "raw_p_value"] < 0.01 / 150 / 2
    assert result.loc["flag", "drifted"] and detector.drifted_features_ == ["flag"]


def test_the_monte_carlo_tables_of_a_small_level_are_drawn_a_batch_at_a_time():
    # SciPy drew a round's 199,999 random tables at once: 458 MiB (and 6.6 s)
    # for 50 categories, a gigabyte for 100, at every test of a drifted feature.
    import tracemalloc

    from keraslearn.monitoring._sketch import chi_square

    table = np.array([[200] * 40 + [1] * 10, [10] * 40 + [30] * 10], dtype=float)
    tracemalloc.start()
    try:
        statistic, p_value = chi_square(table, level=1e-5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert p_value == 1 / 200_000  # no random table as far: the round's floor
    assert statistic == pytest.approx(stats.chi2_contingency(table, correction=False).statistic)
    assert peak < 100 * 2**20


@pytest.mark.parametrize("change, words", [
    ({"correction": "bonferoni"}, "'correction' parameter of DriftDetector must be"),
    ({"alpha": 1.5}, "'alpha' parameter of DriftDetector must be"),
    ({"psi_threshold": -1}, "'psi_threshold' parameter of DriftDetector must be")])
def test_settings_changed_after_fit_are_checked_when_testing(detector, rng, change, words):
    # They were read unchecked: a misspelt correction applied none, alpha=1.5
    # flagged every feature.
    batch = table(rng, 200)
    detector.set_params(**change)
    with pytest.raises(ValueError, match=words):
        detector.test(batch)
    from keraslearn.monitoring import drift_report

    with pytest.raises(ValueError, match=words):
        drift_report(detector, batch)
