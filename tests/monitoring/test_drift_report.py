"""drift_report: the verdict and table, one PNG per feature, an HTML page like the
evaluation report's; nothing drawn without output_dir, pyplot never touched."""

import base64
import json
import pickle
import re
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.exceptions import NotFittedError

from keraslearn.monitoring import DriftDetector, DriftReport, drift_report

pytestmark = pytest.mark.filterwarnings("error")


def table(rng, n, shift=0.0, cities=("Lyon", "Oslo", "Rome")):
    return pd.DataFrame({"price per m²": rng.normal(5000 + shift, 800, n),
                         "rooms": rng.integers(1, 6, n),
                         "city": rng.choice(cities, n)})


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def reference(rng):
    return table(rng, 4000)


@pytest.fixture
def detector(reference):
    return DriftDetector(random_state=0).fit(reference)


@pytest.fixture(autouse=True)
def no_open_figures():
    """No test may leave a pyplot figure open."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def assert_valid_png(path):
    assert path.is_file() and path.stat().st_size > 0
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size[0] > 100 and image.size[1] > 100


def embedded_images(page):
    return re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)


def test_report_files_name_every_feature_and_the_verdict(detector, rng, tmp_path):
    batch = table(rng, 500, shift=600, cities=("Lyon", "Oslo", "Paris"))
    report = drift_report(detector, batch, output_dir=tmp_path / "out", name="house prices")
    assert isinstance(report, DriftReport)
    assert report.drift_detected and report.drifted_features == ["price per m²", "city"]
    assert list(report.figures) == ["price per m²", "rooms", "city"]
    for path in report.figures.values():
        assert path.parent == tmp_path / "out" and path.name.startswith("house_prices_")
        assert_valid_png(path)
    assert report.html_path == tmp_path / "out" / "house_prices_report.html"
    page = report.html_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>house prices: drift report</title>" in page
    assert "Drift detected in 2 of 3 features: price per m², city." in page
    for feature in ("price per m²", "rooms", "city"):
        assert f"<td>{feature}</td>" in page
    for column in ("feature", "test", "statistic", "p_value", "psi", "drifted"):
        assert f"<th>{column}</th>" in page
    assert f"{report.results.loc[0, 'psi']:.4g}" in page
    images = embedded_images(page)
    assert sorted(base64.b64decode(data) for data in images) == sorted(
        path.read_bytes() for path in report.figures.values())


def test_report_without_drift(detector, reference, tmp_path):
    # rows of the reference itself: as alike as a batch can be
    report = drift_report(detector, reference.iloc[::10], output_dir=tmp_path)
    assert not report.drift_detected and report.drifted_features == []
    page = report.html_path.read_text(encoding="utf-8")
    assert "No drift detected in the 3 features." in page
    assert report.html_path.name == "DriftDetector_report.html"


def test_the_same_results_as_test_and_the_detector_is_unchanged(detector, rng):
    batch = table(rng, 400, shift=500)
    before = pickle.dumps(detector)
    report = drift_report(detector, batch)
    assert pickle.dumps(detector) == before  # no verdict set as a side effect
    pd.testing.assert_frame_equal(report.results, detector.test(batch))
    assert report.drifted_features == detector.drifted_features_
    assert (report.n_samples, report.n_reference) == (400, 4000)


def test_without_output_dir_nothing_is_written(detector, rng, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = drift_report(detector, table(rng, 200))
    assert report.figures == {} and report.html_path is None
    assert list(tmp_path.iterdir()) == []
    page = report.to_html()
    assert embedded_images(page) == [] and "<td>city</td>" in page


def test_to_html_can_link_instead_of_embed(detector, rng, tmp_path):
    report = drift_report(detector, table(rng, 200), output_dir=tmp_path)
    page = report.to_html(embed=False)
    assert embedded_images(page) == []
    for path in report.figures.values():
        assert f'src="{path.name}"' in page


def test_text_and_dict(detector, rng, tmp_path):
    report = drift_report(detector, table(rng, 300, shift=800), output_dir=tmp_path, name="q3")
    text = str(report)
    assert text.startswith("q3: 300 rows tested against 4000 reference rows "
                           "(bonferroni correction at alpha=0.05)")
    assert "Drift detected in 1 of 3 features: price per m²." in text
    assert str(report.html_path) in text and "rooms" in text
    as_dict = report.to_dict()
    assert as_dict["drift_detected"] is True and as_dict["drifted_features"] == ["price per m²"]
    assert [row["feature"] for row in as_dict["results"]] == ["price per m²", "rooms", "city"]
    assert as_dict["settings"] == {"alpha": 0.05, "correction": "bonferroni",
                                   "psi_threshold": None}
    assert "price per m²" in repr(report)
    # Every number as test() gives it, the smallest p-values too (pandas' JSON
    # wrote 10 decimals: 1.07e-10 became 1e-10, 3e-15 became 0), in plain JSON.
    tested = report.results.to_dict(orient="records")
    assert as_dict["results"] == tested
    assert min(r["raw_p_value"] for r in tested) < 1e-10  # the drifted feature's
    assert json.loads(json.dumps(as_dict, allow_nan=False)) == as_dict


def test_settings_given_as_numpy_numbers_are_written_as_json(reference, rng):
    # alpha=np.float32(0.01) stood in to_dict()'s settings as it was, which
    # json.dumps refused.
    detector = DriftDetector(alpha=np.float32(0.01), psi_threshold=np.float64(0.1)).fit(reference)
    as_dict = drift_report(detector, table(rng, 100)).to_dict()
    assert json.loads(json.dumps(as_dict))["settings"]["alpha"] == pytest.approx(0.01)
    assert type(as_dict["settings"]["psi_threshold"]) is float


def test_categorical_figure_with_many_pooled_values(rng, tmp_path):
    codes = pd.DataFrame({"code": rng.integers(0, 500, 5000).astype(str)})
    detector = DriftDetector(max_categories=60, random_state=0).fit(codes)
    report = drift_report(detector, codes.iloc[:300], output_dir=tmp_path)
    assert_valid_png(report.figures["code"])


def test_values_spanning_more_than_the_largest_float_are_drawn(rng, tmp_path):
    # test takes any finite values; their span overflowed the figure's bins.
    detector = DriftDetector().fit(rng.normal(size=(100, 1)))
    report = drift_report(detector, np.array([[1.5e308], [-1.5e308], [0.0]]),
                          output_dir=tmp_path)
    assert_valid_png(report.figures["x0"]) and (tmp_path / "DriftDetector_report.html").exists()


@pytest.mark.parametrize("value", [0.3, 1.7e18, -np.finfo(float).max])
def test_a_column_constant_but_for_rounding_or_beyond_2_53_is_drawn(rng, tmp_path, value):
    # 0.1 + 0.2 beside 0.3, or one nanosecond timestamp: too small a span for 30 bins
    # at the values' size ("Too many bins for data range"), with test() fine.
    column = np.where(rng.random(200) < 0.5, value, np.nextafter(value, 0))
    frame = pd.DataFrame({"rate": column, "amount": rng.normal(size=200)})
    detector = DriftDetector(random_state=0).fit(frame)
    report = drift_report(detector, frame.iloc[:80], output_dir=tmp_path)
    assert set(report.figures) == {"rate", "amount"}
    for path in report.figures.values():
        assert_valid_png(path)


def test_a_failed_or_interrupted_report_leaves_no_files_to_refuse_the_next(rng, tmp_path,
                                                                          monkeypatch):
    # Figures were written one by one: the first stayed, and the next try was
    # refused as "already exists".
    import keraslearn.monitoring._plots as plots

    frame = pd.DataFrame({"amount": rng.normal(size=200), "tier": rng.choice(["a", "b"], 200)})
    detector = DriftDetector(random_state=0).fit(frame)
    (tmp_path / "notes.txt").write_text("the user's own")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(plots, "plot_categorical", interrupted)
        with pytest.raises(KeyboardInterrupt):
            drift_report(detector, frame.iloc[:50], output_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    report = drift_report(detector, frame.iloc[:50], output_dir=tmp_path)
    assert set(report.figures) == {"amount", "tier"}
    # Replacing it (overwrite=True): the first new figure stood beside the old page.
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with monkeypatch.context() as patch:
        patch.setattr(plots, "plot_categorical", interrupted)
        with pytest.raises(KeyboardInterrupt):
            drift_report(detector, frame.iloc[50:90], output_dir=tmp_path, overwrite=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_names_with_dollar_signs_are_drawn_as_given(rng, tmp_path):
    # "$" began mathtext, which failed to parse ("$x^") with the figure half drawn.
    frame = pd.DataFrame({"cost $x^": rng.normal(size=200),
                          "tier": rng.choice(["$", "$$^", "$$$"], 200)})
    detector = DriftDetector(random_state=0).fit(frame)
    report = drift_report(detector, frame.iloc[:50], output_dir=tmp_path, name="run $1^")
    for path in report.figures.values():
        assert_valid_png(path)


def test_categories_no_figure_can_draw_and_dates_are_drawn_readably(rng, tmp_path):
    # A category read from a file name that is not UTF-8 (a surrogate) failed in
    # matplotlib; dates were drawn with nanoseconds, the labels running together.
    frame = pd.DataFrame({"shop": rng.choice(["caf\udce9", "tea"], 200),
                          "day": pd.to_datetime("2024-01-01")
                          + pd.to_timedelta(rng.integers(0, 3, 200), unit="D")})
    detector = DriftDetector(categorical_features=["shop", "day"], random_state=0).fit(frame)
    report = drift_report(detector, frame.iloc[:50], output_dir=tmp_path, name="caf\udce9")
    for path in report.figures.values():
        assert_valid_png(path)
    assert "caf\\xe9" in report.html_path.read_text(encoding="utf-8")
    from keraslearn.monitoring._plots import _category_text

    assert _category_text(np.datetime64("2024-01-02T00:00:00.000000000")) == "2024-01-02"


def test_bad_calls(detector, rng, tmp_path, monkeypatch):
    a_file = tmp_path / "report.txt"
    a_file.write_text("not a directory")
    with pytest.raises(ValueError, match="not a directory"):
        drift_report(detector, table(rng, 10), output_dir=a_file)
    with pytest.raises(NotFittedError):
        drift_report(DriftDetector(), table(rng, 10), output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(TypeError, match="needs a DriftDetector"):
        drift_report(object(), table(rng, 10))
    with pytest.raises(ValueError, match=r"missing columns \['city'\]"):
        drift_report(detector, table(rng, 10).drop(columns="city"), output_dir=tmp_path / "o")
    assert not (tmp_path / "o").exists()
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'keraslearn\[plots\]'"):
        drift_report(detector, table(rng, 10), output_dir=tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_existing_files_are_refused_unless_overwrite(detector, rng, tmp_path):
    first = drift_report(detector, table(rng, 100), output_dir=tmp_path, name="batch 1")
    written = {p: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(written) == {*first.figures.values(), first.html_path}
    with pytest.raises(FileExistsError, match="batch_1_.*overwrite=True"):
        drift_report(detector, table(rng, 100, shift=800), output_dir=tmp_path, name="batch_1")
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == written
    again = drift_report(detector, table(rng, 100, shift=800), output_dir=tmp_path,
                         name="batch_1", overwrite=True)
    assert set(again.figures.values()) == set(first.figures.values())
    assert again.html_path.read_bytes() != written[first.html_path]
    # A private report stays private when replaced (it became readable by all).
    import stat

    first.html_path.chmod(0o600)
    again = drift_report(detector, table(rng, 100), output_dir=tmp_path, name="batch_1",
                         overwrite=True)
    assert stat.S_IMODE(again.html_path.stat().st_mode) == 0o600


@pytest.mark.parametrize("overwrite", [False, True])
def test_an_evaluation_of_the_same_name_is_never_replaced(detector, rng, tmp_path, overwrite):
    # Both pages are <name>_report.html: with overwrite=True a drift report
    # replaced the evaluation's page and left its figures beside it (and
    # without, it was refused as if it were an earlier drift report).
    from sklearn.dummy import DummyClassifier

    from keraslearn.evaluation import evaluate

    batch = table(rng, 100)
    X, y = batch[["rooms"]], batch["city"]
    evaluated = evaluate(DummyClassifier().fit(X, y), X, y, output_dir=tmp_path, name="prod",
                         zero_division=0)
    written = {p: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(FileExistsError, match=r"Refusing to replace .*prod_report\.html': it "
                                              r"is the page of an evaluation report"):
        drift_report(detector, batch, output_dir=tmp_path, name="prod", overwrite=overwrite)
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == written
    (tmp_path / "drift").mkdir()
    drifted = drift_report(detector, batch, output_dir=tmp_path / "drift", name="prod")
    with pytest.raises(FileExistsError, match="it is the page of a drift report"):
        evaluate(DummyClassifier().fit(X, y), X, y, output_dir=tmp_path / "drift", name="prod",
                 overwrite=overwrite, zero_division=0)
    again = evaluate(DummyClassifier().fit(X, y), X, y, output_dir=tmp_path, name="prod",
                     overwrite=True, zero_division=0)  # its own page: replaced
    assert again.html_path == evaluated.html_path and drifted.html_path.is_file()


def test_overwrite_removes_the_earlier_reports_figures_of_features_gone(reference, rng, tmp_path):
    # A report of this name drawn for a detector of 3 features, then replaced by
    # one for a detector of 2: the third figure would pass for the new report's.
    drift_report(DriftDetector(random_state=0).fit(reference), table(rng, 100),
                 output_dir=tmp_path, name="daily")
    # Files of names like its figures' are another report's or the user's: kept.
    others = [drift_report(DriftDetector(random_state=0).fit(reference), table(rng, 100),
                           output_dir=tmp_path, name=name) for name in ("weekly", "daily_2024")]
    notes = [tmp_path / "daily_notes.png", tmp_path / "daily_2024_summary.png"]
    for path in notes:
        path.write_bytes(b"the user's")
    two = DriftDetector(random_state=0).fit(reference[["rooms", "city"]])
    again = drift_report(two, table(rng, 100)[["rooms", "city"]], output_dir=tmp_path,
                         name="daily", overwrite=True)
    assert sorted(p.name for p in again.figures.values()) == ["daily_00_rooms.png",
                                                               "daily_01_city.png"]
    assert {p for p in tmp_path.iterdir() if p.name.startswith("daily_0")} == {
        *again.figures.values()}
    assert all(p.is_file() for other in others for p in other.figures.values())
    assert all(p.read_bytes() == b"the user's" for p in notes)
