"""RecentRows: the last max_rows rows, oldest dropped first, shared safely between threads."""

import threading

import numpy as np
import pandas as pd
import pytest

from keraslearn.monitoring import DriftDetector, RecentRows

pytestmark = pytest.mark.filterwarnings("error")


def test_keeps_the_last_rows_in_order():
    window = RecentRows(max_rows=5)
    assert len(window) == 0 and window.rows() is None
    for start in range(0, 12, 3):  # chunks of 3 rows: 0-2, 3-5, 6-8, 9-11
        window.add(np.arange(start, start + 3, dtype=float)[:, None])
    np.testing.assert_array_equal(window.rows()[:, 0], [7, 8, 9, 10, 11])
    assert len(window) == 5
    window.add(np.arange(100, 120, dtype=float)[:, None])  # more than max_rows at once
    np.testing.assert_array_equal(window.rows()[:, 0], np.arange(115, 120))
    window.clear()
    assert len(window) == 0 and window.rows() is None


def test_dataframes_keep_their_columns_and_types():
    window = RecentRows(max_rows=4)
    for i in range(3):
        window.add(pd.DataFrame({"age": [30.0 + i, 40.0 + i], "city": ["Lyon", "Oslo"]}))
    rows = window.rows()
    assert list(rows.columns) == ["age", "city"]
    assert rows["age"].tolist() == [31.0, 41.0, 32.0, 42.0]
    assert rows["age"].dtype == np.float64 and list(rows.index) == [0, 1, 2, 3]


def test_polars_frames_are_held_as_pandas_ones_with_their_columns():
    # They were held as arrays of objects: names lost, so a detector fitted on
    # the same frames warned and matched the columns by position.
    import polars as pl

    window = RecentRows(max_rows=4)
    for i in range(3):
        window.add(pl.DataFrame({"age": [30.0 + i, 40.0 + i], "city": ["Lyon", "Oslo"]}))
    rows = window.rows()
    assert isinstance(rows, pd.DataFrame) and list(rows.columns) == ["age", "city"]
    assert rows["age"].tolist() == [31.0, 41.0, 32.0, 42.0] and rows["age"].dtype == np.float64
    detector = DriftDetector(random_state=0).fit(rows)
    window.add(pl.DataFrame({"city": ["Oslo"], "age": [1.0]}).select(["age", "city"]))
    assert window.test(detector)["feature"].tolist() == ["age", "city"]
    with pytest.raises(ValueError, match=r"RecentRows holds columns \['age', 'city'\]; got "
                                         r"\['city', 'age'\]"):
        window.add(pl.DataFrame({"city": ["Oslo"], "age": [1.0]}))


def test_a_batch_of_no_rows_adds_nothing_but_its_columns_are_checked():
    # It was refused ("got data with 0 rows"): a filter that kept no row of a
    # batch, window.add(batch[batch.age > 100]), failed where the server's own
    # window passes over a request without complete rows.
    window = RecentRows(max_rows=4)
    batch = pd.DataFrame({"age": [30.0, 40.0], "city": ["Lyon", "Oslo"]})
    window.add(batch[batch.age > 100])
    assert len(window) == 0 and window.rows() is None
    window.add(batch)
    window.add(batch[batch.age > 100])
    assert len(window) == 2 and window.rows()["age"].tolist() == [30.0, 40.0]
    with pytest.raises(ValueError, match=r"RecentRows holds columns \['age', 'city'\]; got "
                                         r"\['age'\]"):
        window.add(batch[["age"]].iloc[:0])
    arrays = RecentRows(max_rows=4)
    arrays.add(np.empty((0, 3)))
    arrays.add(np.ones((1, 3)))
    with pytest.raises(ValueError, match="RecentRows holds rows of 3 columns; got 2"):
        arrays.add(np.empty((0, 2)))
    assert len(arrays) == 1


def test_rows_are_copies():
    window = RecentRows(max_rows=10)
    X = np.zeros((2, 2))
    window.add(X)
    X[0, 0] = 99.0
    assert window.rows()[0, 0] == 0.0
    held = window.rows()
    held[1, 1] = 7.0
    assert window.rows()[1, 1] == 0.0


def test_mismatched_rows_are_refused():
    window = RecentRows(max_rows=10)
    window.add(pd.DataFrame({"a": [1.0], "b": [2.0]}))
    with pytest.raises(ValueError, match=r"holds columns \['a', 'b'\]; got \['a', 'c'\]"):
        window.add(pd.DataFrame({"a": [1.0], "c": [2.0]}))
    with pytest.raises(TypeError, match="rows from a DataFrame; got an array"):
        window.add(np.zeros((1, 2)))
    arrays = RecentRows()
    arrays.add(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="rows of 3 columns; got 2"):
        arrays.add(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="1D array"):
        arrays.add(np.zeros(3))
    assert len(arrays) == 1


@pytest.mark.parametrize("max_rows", [0, -1, 2.5, "10"])
def test_bad_max_rows(max_rows):
    with pytest.raises(ValueError, match="max_rows must be an int >= 1"):
        RecentRows(max_rows=max_rows)


def test_adding_from_many_threads_loses_nothing_and_keeps_the_bound():
    window = RecentRows(max_rows=1000)
    n_threads, n_adds = 8, 150  # 1200 one-row requests: 200 more than the window holds
    barrier = threading.Barrier(n_threads)
    sizes = []

    def serve(thread):
        barrier.wait()
        for i in range(n_adds):
            window.add(np.array([[thread, i]], dtype=float))
            if i % 50 == 0:
                sizes.append(len(window.rows()))

    threads = [threading.Thread(target=serve, args=(t,)) for t in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = window.rows()
    assert rows.shape == (1000, 2) and max(sizes) <= 1000
    # the rows kept are the last 1000 added: per thread, a run of consecutive requests
    # ending with its last one, and no row twice
    assert len({tuple(r) for r in rows}) == 1000
    for thread in range(n_threads):
        kept = np.sort(rows[rows[:, 0] == thread, 1])
        if kept.size:
            np.testing.assert_array_equal(kept, np.arange(n_adds - kept.size, n_adds))


def test_testing_the_window_with_a_detector():
    rng = np.random.default_rng(0)

    def request(n, shift=0.0):
        return pd.DataFrame({"x": rng.normal(shift, 1.0, n), "kind": rng.choice(["a", "b"], n)})

    detector = DriftDetector(random_state=0).fit(request(3000))
    window = RecentRows(max_rows=400)
    with pytest.raises(ValueError, match="holds no rows yet"):
        window.test(detector)
    added = [request(50) for _ in range(20)]  # the window holds the last 8 requests
    for frame in added:
        window.add(frame)
    last = pd.concat(added, ignore_index=True).iloc[-400:]
    pd.testing.assert_frame_equal(window.test(detector), detector.test(last))
    for _ in range(8):
        window.add(request(50, shift=1.0))
    assert window.test(detector)["drifted"].tolist() == [True, False]
    assert detector.drifted_features_ == ["x"]


@pytest.mark.parametrize("kind", ["DataFrame", "array"])
def test_the_window_tests_its_rows_without_missing_values(kind):
    # Rows the model imputes reached the detector, which refuses missing values:
    # one such row failed every later test of the window, as the server's does not.
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"x": rng.normal(size=60), "kind": rng.choice(["a", "b"], 60)})
    as_given = (lambda f: f) if kind == "DataFrame" else (lambda f: f.to_numpy())
    detector = DriftDetector(random_state=0, categorical_features=[1]).fit(as_given(rows))
    holed = rows.astype({"x": object})
    holed.loc[[3, 10], "x"] = None
    holed.loc[20, "kind"] = np.nan
    window = RecentRows(max_rows=100)
    window.add(as_given(holed))
    complete = rows.drop(index=[3, 10, 20]).reset_index(drop=True)
    expected = detector.test(as_given(complete))
    pd.testing.assert_frame_equal(window.test(detector), expected)
    assert len(window.rows()) == 60  # the window still holds every row
    only_holes = RecentRows()
    only_holes.add(holed.iloc[[3, 10]])
    with pytest.raises(ValueError, match="holds 2 rows, each with a missing value"):
        only_holes.test(detector)
