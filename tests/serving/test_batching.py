"""Concurrent requests share model calls, and each gets the answer for its own rows.

A batched call computes a row in float arithmetic whose last bits can depend on
how many rows share the call (TensorFlow's kernels do: ``model.predict`` on one
row and on that row among others can differ by one unit in the last place). So
labels must be exactly the model's own, and probabilities equal to the model's
own up to that rounding: far below the difference between any two rows here,
so a row answered to the wrong request, out of order or dropped still fails.
"""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from _servers import classifier, frame, records, serving, started

from keraslearn.serving import make_server

# Float32 rounding of the tiny network's outputs, with margin (see the module docstring).
ROUNDING = dict(rtol=1e-5, atol=1e-6)


def _concurrently(base_url, jobs):
    """Send every (path, body) at once from its own thread and client; the responses."""
    barrier = threading.Barrier(len(jobs))

    def send(job):
        path, body = job
        with httpx.Client(base_url=base_url, timeout=60) as client:
            barrier.wait()
            return client.post(path, json=body)

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(send, jobs))


def test_concurrent_requests_are_batched_and_each_gets_its_own_rows():
    X, _ = frame()
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 5, 32)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    parts = [X.iloc[s:s + n] for s, n in zip(starts, sizes)]
    paths = ["/predict" if i % 2 else "/predict_proba" for i in range(len(parts))]
    with serving(classifier(), max_wait_ms=200, max_batch_rows=64) as client:
        before = client.get("/health").json()["model_calls"]
        responses = _concurrently(str(client.base_url),
                                  [(path, records(part)) for path, part in zip(paths, parts)])
        stats = client.get("/health").json()
    assert [r.status_code for r in responses] == [200] * len(parts)
    model = classifier()
    for path, part, response in zip(paths, parts, responses):
        if path == "/predict":
            assert response.json()["predictions"] == model.predict(part).tolist()
        else:
            got = np.array(response.json()["probabilities"])
            assert got.shape == (len(part), 3)
            np.testing.assert_allclose(got, model.predict_proba(part), **ROUNDING)
            assert got.argmax(axis=1).tolist() == model.predict_proba(part).argmax(1).tolist()
    calls = stats["model_calls"] - before
    # 32 requests on two methods, each batch waiting up to 200 ms: they share calls.
    assert 2 <= calls <= len(parts) // 2, stats


def test_batches_hold_at_most_max_batch_rows():
    X, _ = frame()
    parts = [X.iloc[i * 10:(i + 1) * 10] for i in range(12)]
    with serving(classifier(), max_wait_ms=200, max_batch_rows=25) as client:
        responses = _concurrently(str(client.base_url),
                                  [("/predict", records(part)) for part in parts])
        calls = client.get("/health").json()["model_calls"]
        big = client.post("/predict", json=records(X.iloc[:100]))
    for part, response in zip(parts, responses):
        assert response.json()["predictions"] == classifier().predict(part).tolist()
    assert calls >= 6  # 12 requests of 10 rows, at most two of them per call
    assert big.status_code == 200  # a request over max_batch_rows runs alone
    assert big.json()["predictions"] == classifier().predict(X.iloc[:100]).tolist()


def test_a_request_the_model_refuses_fails_alone_in_its_batch():
    X, _ = frame()
    good = [X.iloc[2 * i:2 * i + 2] for i in range(8)]
    bad = {**records(X.iloc[:1])[0], "age": -1.0}
    with serving(_refusing_negative_ages(), max_wait_ms=200) as client:
        jobs = [("/predict", records(part)) for part in good] + [("/predict", [bad])]
        responses = _concurrently(str(client.base_url), jobs)
        stats = client.get("/health").json()
    for part, response in zip(good, responses):
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == classifier().predict(part).tolist()
    assert responses[-1].status_code == 400  # values the model refuses
    assert "negative age" in responses[-1].json()["error"]
    # A shared call failed, then its halves ran apart (at least two more calls).
    assert stats["model_calls"] >= 3, stats


def _refusing_negative_ages():
    """classifier() behind a step refusing a negative age, as scikit-learn refuses values."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    def check(X):
        if (X["age"] < 0).any():
            raise ValueError("negative age")
        return X

    X, _ = frame()
    # The fitted classifier() as it is (shared by the tests: not fitted again).
    return Pipeline([("check", FunctionTransformer(check).fit(X)), ("model", classifier())])


def test_default_bind_is_loopback_and_the_model_thread_stops_with_the_server():
    earlier = set(_model_threads())
    server = make_server(classifier(), port=0, log_level="warning")
    assert server.config.host == "127.0.0.1"
    thread, host, port = started(server)
    assert host == "127.0.0.1"
    X = frame()[0].iloc[:3]
    response = httpx.post(f"http://127.0.0.1:{port}/predict", json=records(X))
    assert response.json()["predictions"] == classifier().predict(X).tolist()
    ours = set(_model_threads()) - earlier
    assert len(ours) == 1
    server.should_exit = True
    thread.join(30)
    assert not thread.is_alive()
    deadline = time.monotonic() + 10
    while any(t.is_alive() for t in ours) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.is_alive() for t in ours)
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"http://127.0.0.1:{port}/predict", json=records(X))


def _model_threads():
    return [t for t in threading.enumerate() if t.name.startswith("keraslearn-serving")]


class _RefusesNegatives:
    """A model that refuses any call holding a negative value, as an encoder
    refuses a category it never saw; it records the rows of every call."""

    def __init__(self):
        self.calls = []

    def predict(self, X):
        self.calls.append(X[:, 0].tolist())
        if (X < 0).any():
            raise ValueError("negative value")
        return X[:, 0] * 10


class _Stack:
    def assemble(self, parts):
        return np.concatenate([np.column_stack(p) for p in parts])


class _FailsOnNegatives(_RefusesNegatives):
    """The same, failing with an error of its own (a 500), not a refusal."""

    def predict(self, X):
        self.calls.append(X[:, 0].tolist())
        if (X < 0).any():
            raise RuntimeError("out of memory")
        return X[:, 0] * 10


def _serve_all(model, values, max_wait_ms=2000, stop_after=None):
    import asyncio

    from keraslearn.serving._batching import Batcher

    async def serve():
        batcher = Batcher(model, _Stack(), ["predict"], max_batch_rows=len(values),
                          max_wait_ms=max_wait_ms)
        await batcher.start()
        try:
            jobs = [asyncio.ensure_future(batcher.submit("predict", [np.array([v])]))
                    for v in values]
            if stop_after is not None:
                await asyncio.sleep(stop_after)
                await batcher.stop()
            # Bounded: a request nobody answers is a failure, not a hang.
            return await asyncio.wait_for(asyncio.gather(*jobs, return_exceptions=True), 30)
        finally:
            await batcher.stop()

    return asyncio.run(serve())


def test_a_batch_the_model_fails_on_is_run_request_by_request():
    from keraslearn.serving._batching import ModelError

    model = _FailsOnNegatives()
    values = [float(i) for i in range(16)]
    values[3] = -1.0
    answers = _serve_all(model, values)
    assert [a.status for a in answers if isinstance(a, ModelError)] == [500]
    assert isinstance(answers[3], ModelError) and "out of memory" in answers[3].message
    assert len(model.calls) == 1 + 16  # not halved: a 500 is rarely one request's fault


class _Unreadable(Exception):
    """A library's error whose ``__str__`` reads what its ``__init__`` never set."""

    def __str__(self):
        return self.detail


def _cancelled():
    import concurrent.futures

    waited = concurrent.futures.Future()
    waited.cancel()
    waited.result()  # (raises concurrent.futures.CancelledError, asyncio's in the loop)


class _FailsOddly(_RefusesNegatives):
    def __init__(self, fail):
        super().__init__()
        self.fail = fail

    def predict(self, X):
        self.calls.append(X[:, 0].tolist())
        if (X < 0).any():
            self.fail()
        return X[:, 0] * 10


@pytest.mark.parametrize("fail, message", [
    (lambda: _cancelled(), "a future it waited on was cancelled"),
    (lambda: (_ for _ in ()).throw(_Unreadable()), r"_Unreadable, whose text could not be read"),
    (lambda: next(iter(())), r"^predict failed: StopIteration"),  # (found in review: a hang)
], ids=["cancelled-future", "unreadable-error", "stop-iteration"])
def test_a_model_failing_oddly_fails_its_request_and_the_method_is_served_on(fail, message):
    # found in an audit: the method's worker task died, every later request of
    # that method hung for ever, and /health still said "ok"
    import asyncio

    from keraslearn.serving._batching import Batcher, ModelError

    model = _FailsOddly(fail)
    values = [float(i) for i in range(8)]
    values[3] = -1.0

    async def serve():
        batcher = Batcher(model, _Stack(), ["predict"], max_batch_rows=8, max_wait_ms=500)
        await batcher.start()
        try:
            rounds = []
            for round_values in (values, [10.0, 11.0]):
                jobs = [asyncio.ensure_future(batcher.submit("predict", [np.array([v])]))
                        for v in round_values]
                rounds.append(await asyncio.wait_for(
                    asyncio.gather(*jobs, return_exceptions=True), 30))
            return rounds
        finally:
            await batcher.stop()

    first, later = asyncio.run(serve())
    assert isinstance(first[3], ModelError) and first[3].status == 500
    assert re.search(message, first[3].message)
    assert [a.tolist() for i, a in enumerate(first) if i != 3] == [
        [v * 10] for i, v in enumerate(values) if i != 3]
    assert [a.tolist() for a in later] == [[100.0], [110.0]]


class _Slow:
    def __init__(self, release):
        self.release = release

    def predict(self, X):
        self.release.wait(10)
        return X[:, 0]


def test_requests_running_when_the_server_stops_get_a_503():
    import threading


    release = threading.Event()
    try:
        answers = _serve_all(_Slow(release), [1.0, 2.0], max_wait_ms=0, stop_after=0.3)
    finally:
        release.set()
    assert [getattr(a, "status", None) for a in answers] == [503, 503]


def test_the_requests_of_clients_gone_are_not_run():
    # Found in an audit: eight clients giving up on a 0.5 s model still had their
    # requests run one by one, and the next client waited 4.2 s for its answer.
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    calls, pause = [], [0.0]

    def slow(X):
        calls.append(len(X))
        time.sleep(pause[0])
        return X

    X, y = frame(60)
    pipe = make_pipeline(FunctionTransformer(slow), StandardScaler(), LogisticRegression())
    pipe.fit(X, y)
    with serving(pipe, max_batch_rows=1, max_wait_ms=0) as client:
        base_url = str(client.base_url)
        calls.clear()
        pause[0] = 0.4

        def gone(i):
            try:
                httpx.post(base_url + "/predict", json=records(X.iloc[i:i + 1]), timeout=0.15)
            except httpx.TimeoutException:
                return True
            return False

        with ThreadPoolExecutor(4) as pool:
            assert all(pool.map(gone, range(4)))
        time.sleep(0.6)  # (the call running when its client left ends)
        pause[0] = 0.0
        answer = client.post("/predict", json=records(X.iloc[:1]))
        assert answer.status_code == 200
        assert answer.json()["predictions"] == pipe.predict(X.iloc[:1]).tolist()
    assert len(calls) <= 3  # one running when its client left (two, at worst), and this one


def test_a_large_answer_is_written_as_a_small_one():
    # Written in a thread from 16K values on (a 1.5M-row answer held every other
    # client for seconds): the same JSON.
    from keraslearn.serving._metadata import BLOCK_CELLS

    X, _ = frame(2 * BLOCK_CELLS // 3 + 1)
    with serving(classifier()) as client:
        answer = client.post("/predict_proba", json=records(X))
    assert answer.status_code == 200
    np.testing.assert_allclose(answer.json()["probabilities"], classifier().predict_proba(X),
                               **ROUNDING)


def test_a_large_answer_is_written_in_blocks_as_one_json_document():
    # Written a block of rows at a time, the event loop answering others between
    # the blocks (one encoder call held a 1-row request 1.9 s behind 1.5M rows).
    import json

    from keraslearn.serving._metadata import BLOCK_CELLS, json_text

    rng = np.random.default_rng(0)
    big = 3 * BLOCK_CELLS + 7
    for content in ({"probabilities": rng.random((big // 3, 3)).astype(np.float32),
                     "classes": ["a", "b", "c"]},
                    {"predictions": np.array(["high", "low"] * big, dtype=object)},
                    {"predictions": np.arange(big).astype("datetime64[D]")},
                    {"predictions": rng.random(10)}):
        plain = {k: np.asarray(v).tolist() if np.asarray(v).dtype.kind != "M" else
                 np.datetime_as_string(v).tolist() for k, v in content.items()}
        assert json.loads(json_text(content)) == plain
    with pytest.raises(ValueError):  # (NaN: the answer's 500)
        json_text({"predictions": np.r_[np.zeros(big), np.nan]})
    # keys as json writes them (found in review: None was written "None")
    assert json_text({None: np.zeros(big), True: 1}) == json.dumps(
        {None: np.zeros(big).tolist(), True: 1}, separators=(",", ":"))


@pytest.mark.parametrize("refused", [[5], [0, 13], list(range(16))])
def test_a_failed_batch_is_split_in_halves_until_each_refusal_is_alone(refused):
    import asyncio

    from keraslearn.serving._batching import Batcher, ModelError

    model = _RefusesNegatives()
    values = [-float(i) - 1 if i in refused else float(i) for i in range(16)]

    async def serve():
        batcher = Batcher(model, _Stack(), ["predict"], max_batch_rows=16, max_wait_ms=2000)
        await batcher.start()
        try:
            jobs = [asyncio.ensure_future(batcher.submit("predict", [np.array([v])]))
                    for v in values]
            return await asyncio.gather(*jobs, return_exceptions=True)
        finally:
            await batcher.stop()

    answers = asyncio.run(serve())
    for i, (value, answer) in enumerate(zip(values, answers)):
        if i in refused:
            assert isinstance(answer, ModelError) and answer.status == 400
            assert "negative value" in answer.message
        else:
            assert answer.tolist() == [value * 10]
    assert model.calls[0] == values  # the 16 requests shared one call first
    # Each later call holds one half of a call that failed: a refused request
    # costs two calls per halving (4 of 16), not one call per request.
    assert len(model.calls) == {1: 1 + 2 * 4, 2: 1 + 2 + 2 * 3 + 2 * 3}.get(
        len(refused), 2 * 16 - 1)


def test_requests_of_a_second_loop_are_answered_alone_and_get_a_503_at_stop():
    # An app used without its lifespan from several threads: requests on a loop
    # running beside the workers' one awaited a future of that other loop; when
    # the server stopped, those waiting in the model thread got a bare
    # CancelledError (found in review), not the 503 the others get.
    import asyncio
    import threading

    from keraslearn.serving._batching import Batcher, ModelError

    model, release = _RefusesNegatives(), threading.Event()
    batcher = Batcher(model, _Stack(), ["predict"], max_batch_rows=64, max_wait_ms=5)
    started, answers = threading.Event(), {}

    def owner():
        async def main():
            await batcher.start()
            started.set()
            await asyncio.sleep(0.3)  # the other loop's requests are answered meanwhile
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 10)
            await batcher.stop()

        asyncio.run(main())

    def other():
        started.wait(10)

        async def main():
            answered = await asyncio.gather(*(batcher.submit("predict", [np.array([v])])
                                              for v in (1.0, -1.0, 2.0)),
                                            return_exceptions=True)
            answers["before"] = answered
            slow = _Slow(threading.Event())
            batcher.model = slow  # the first call waits; the second, queued, is cancelled
            pending = [asyncio.ensure_future(batcher.submit("predict", [np.array([v])]))
                       for v in (3.0, 4.0)]
            await asyncio.sleep(0.1)
            release.set()  # the owner stops the server
            await asyncio.sleep(0.3)
            slow.release.set()
            answers["stopped"] = await asyncio.wait_for(
                asyncio.gather(*pending, return_exceptions=True), 30)

        asyncio.run(main())

    threads = [threading.Thread(target=owner), threading.Thread(target=other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    first, refused, second = answers["before"]
    assert first.tolist() == [10.0] and second.tolist() == [20.0]
    assert isinstance(refused, ModelError) and refused.status == 400
    assert model.calls == [[1.0], [-1.0], [2.0]]  # alone, one call each
    running, queued = answers["stopped"]
    assert running.tolist() == [3.0]  # (the model's call under way ends as it does)
    assert isinstance(queued, ModelError) and queued.status == 503, queued


def test_a_second_loop_s_request_gets_a_503_when_the_server_stops_and_starts_again_at_once():
    # Its call, queued in the model thread, was cancelled by stop(); a start()
    # made before that loop saw the cancellation gave the server a model thread
    # again, and the request, reading that, raised a bare CancelledError.
    import asyncio

    from keraslearn.serving._batching import Batcher, ModelError

    slow = _Slow(threading.Event())
    batcher = Batcher(slow, _Stack(), ["predict"], max_batch_rows=8, max_wait_ms=1)
    answers = {}

    def other():
        async def busy():  # this loop busy while the server stops and starts again
            await asyncio.sleep(0.2)
            time.sleep(0.5)

        async def main():
            asyncio.ensure_future(busy())
            try:
                answers["queued"] = await batcher.submit("predict", [np.array([2.0])])
            except BaseException as exc:  # noqa: BLE001 - what the request raises
                answers["queued"] = exc

        asyncio.run(main())

    async def owner():
        await batcher.start()
        running = asyncio.ensure_future(batcher.submit("predict", [np.array([1.0])]))
        await asyncio.sleep(0.05)  # its call holds the model thread
        thread = threading.Thread(target=other)
        thread.start()
        await asyncio.sleep(0.3)  # the other loop's call is queued behind it
        await batcher.stop()
        await batcher.start()
        slow.release.set()
        await asyncio.get_running_loop().run_in_executor(None, thread.join, 10)
        await batcher.stop()
        return await asyncio.gather(running, return_exceptions=True)

    asyncio.run(owner())
    queued = answers["queued"]
    assert isinstance(queued, ModelError) and queued.status == 503, repr(queued)
