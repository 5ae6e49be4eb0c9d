"""Concurrent requests coalesced into one model call per method.

A network answers 256 rows in about the time it takes for one, so a server
that calls ``predict`` once per request spends its time on per-call overhead
and collapses under load. Here every validated request is queued per method
(``predict``, ``predict_proba``); one worker task per method takes the queue's
head, waits at most ``max_wait_ms`` counted from that request's arrival for
more rows (up to ``max_batch_rows``), concatenates them, and runs ONE model
call in the model thread, then hands each request its own slice of the result.

While a batch runs, the next requests queue up; once the wait of the oldest
has passed they go at once, so under load batches grow by themselves and an
idle server adds at most ``max_wait_ms`` to a request. A single model thread
runs every call (both methods, warm-up) one at a time: the event
loop stays free to read and validate requests, and the model is never called
from two threads at once.

Results are what the model returns for the concatenated rows, sliced back in
order. A model computes a row's output in float arithmetic whose last bits can
depend on how many rows share the call (TensorFlow's kernels do), so values can
differ from a call on one request's rows alone by that rounding (a label, only for a
probability that close to a tie).
If the model refuses a batch's values, its halves are run apart, down to single
requests, so the error reaches only the requests the model refuses while the
others still share calls: one refused request among n costs about 2 log2(n)
calls, not n. A batch the model fails on otherwise is run request by request.
"""

import asyncio
import collections
import threading
from concurrent.futures import CancelledError, ThreadPoolExecutor

import numpy as np

from ..utils._text import shortened


class ModelError(Exception):
    """The model failed on a request (500), refused its values (400: a
    ValueError, scikit-learn's way of refusing input, such as a category its
    encoder never saw), or the server is stopping (503)."""

    def __init__(self, message, status=500):
        super().__init__(message)
        self.message = message
        self.status = status


def _threaded(fn, *args):
    """``fn(*args)`` with joblib's threading backend for the model's own
    parallel calls (a bagging ensemble's ``n_jobs``): a process pool was sent
    the ensemble's networks at every request (~50 times slower for one row)."""
    import joblib

    # (parallel_config is joblib >= 1.3; n_jobs=1 where the model says none, as it was)
    with joblib.parallel_backend("threading", n_jobs=1):
        return fn(*args)


class _Job:
    __slots__ = ("columns", "n_rows", "future", "arrived")

    def __init__(self, columns, future, arrived):
        self.columns = columns
        self.n_rows = len(columns[0])
        self.future = future
        self.arrived = arrived


class Batcher:
    """Queues requests per method and runs each batch as one model call.

    Parameters
    ----------
    model : estimator
        The fitted model.

    schema : FeatureSchema
        Builds the model input from the requests' columns.

    methods : sequence of str
        The model methods served (``"predict"``, ``"predict_proba"``).

    max_batch_rows : int
        The most rows one model call takes (a larger request runs alone).

    max_wait_ms : float
        How long the oldest queued request may wait for others.

    thread_setup : callable, default=None
        Run first in the model thread (scikit-learn's settings of the caller,
        which scikit-learn keeps per thread).
    """

    def __init__(self, model, schema, methods, *, max_batch_rows, max_wait_ms,
                 thread_setup=None):
        self.model = model
        self.schema = schema
        self.methods = tuple(methods)
        self.max_batch_rows = max_batch_rows
        self.max_wait = max_wait_ms / 1000.0
        self.stats = {"requests": 0, "rows": 0, "model_calls": 0}
        self._pending = {m: collections.deque() for m in self.methods}
        self._queued_rows = dict.fromkeys(self.methods, 0)
        self._running = {}
        self._wake = {}
        self._tasks = []
        self._executor = None
        self._loop = None
        self._starting = threading.Lock()
        self._thread_setup = thread_setup

    async def start(self):
        """Start the model thread and one worker task per method (idempotent).
        Started on an event loop stopped since (an app used without its
        lifespan: each request of a ``TestClient`` outside ``with`` runs on a
        loop of its own), its workers start again on the running one, with the
        same model thread (a model call the old loop left still runs first);
        that loop's requests get a 503 should it run again. The requests of a
        loop running beside the workers' one, in another thread, are answered
        alone (:meth:`submit`)."""
        with self._starting:  # (loops in several threads: one moves the workers)
            self._start(asyncio.get_running_loop())

    def _start(self, loop):
        if self._tasks and self._loop.is_running():  # this loop, or one in another thread
            return
        if self._tasks:
            old, self._tasks = self._tasks, []
            running = self._running_jobs()
            closed = self._loop.is_closed()  # (then nobody awaits its requests)
            for task in () if closed else old:
                task.cancel()
            self._drop_jobs(running, None if closed else ModelError(
                "the server moved to another event loop", status=503))
            self._running = {}
        self._loop = loop
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="keraslearn-serving",
                                                initializer=self._thread_setup)
        self._wake = {m: asyncio.Event() for m in self.methods}
        self._tasks = [self._loop.create_task(self._worker(m)) for m in self.methods]

    async def stop(self):
        """Stop the workers; requests still queued or running get a 503."""
        tasks, self._tasks = self._tasks, []
        running = self._running_jobs()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._drop_jobs(running, ModelError("the server is shutting down", status=503))
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _running_jobs(self):
        # Read before cancelling the workers: a cancelled worker forgets them.
        return [job for jobs in self._running.values() for job in jobs]

    def _drop_jobs(self, running, error):
        """Empty the queues; ``error`` set on every queued and ``running``
        request not answered yet (None: their loop is closed, none is awaited)."""
        for method in self.methods:
            for job in [*self._pending[method], *running] if error is not None else ():
                if not job.future.done():
                    job.future.set_exception(error)
            self._pending[method].clear()
            self._queued_rows[method] = 0

    async def call(self, fn, *args):
        """Run ``fn(*args)`` in the model thread, after the model calls queued before it."""
        await self.start()
        return await asyncio.get_running_loop().run_in_executor(self._executor, _threaded, fn,
                                                                *args)

    async def submit(self, method, columns):
        """The result of ``model.<method>`` for one request's validated columns.

        Parameters
        ----------
        method : str
            One of ``methods``.

        columns : list of numpy.ndarray
            The request's rows, one array per feature.

        Returns
        -------
        result : numpy.ndarray or list of numpy.ndarray
            The model's output for exactly these rows, in order.
        """
        await self.start()
        loop = asyncio.get_running_loop()
        job = _Job(columns, loop.create_future(), loop.time())
        self.stats["requests"] += 1
        self.stats["rows"] += job.n_rows
        if loop is not self._loop:
            # A loop running beside the workers' in another thread (an app used
            # without its lifespan, from several threads): its requests cannot
            # join their batches, and are answered alone, in the model thread.
            try:
                await self._answer(method, [job])
            except asyncio.CancelledError:
                if asyncio.current_task().cancelling():  # this request's own task
                    raise
                # Its call in the model thread, cancelled there by stop().
                raise ModelError("the server is shutting down", status=503) from None
            return await job.future
        self._pending[method].append(job)
        self._queued_rows[method] += job.n_rows
        self._wake[method].set()
        return await job.future

    async def _worker(self, method):
        pending, wake = self._pending[method], self._wake[method]
        while True:
            if not pending:
                wake.clear()
                await wake.wait()
                continue
            deadline = pending[0].arrived + self.max_wait
            while self._queued_rows[method] < self.max_batch_rows:
                remaining = deadline - self._loop.time()
                if remaining <= 0:
                    break
                wake.clear()
                try:
                    await asyncio.wait_for(wake.wait(), remaining)
                except TimeoutError:
                    break
            await self._run(method, self._take(method))

    def _take(self, method):
        pending, jobs, rows = self._pending[method], [], 0
        while pending and (not jobs or rows + pending[0].n_rows <= self.max_batch_rows):
            job = pending.popleft()
            jobs.append(job)
            rows += job.n_rows
        self._queued_rows[method] -= rows
        return jobs

    async def _run(self, method, jobs):
        self._running[method] = jobs
        try:
            await self._answer(method, jobs)
        except Exception as exc:  # (any failure here: the worker serves the next batch)
            for job in jobs:
                _settle(job, ModelError(f"{method} failed: {type(exc).__name__}"))
        finally:
            self._running.pop(method, None)

    async def _answer(self, method, jobs):
        """Answer ``jobs`` with one model call. If the model refuses values (a
        400), one request may be what it refuses: each half is answered apart,
        down to single requests, so the error reaches only the requests that
        cause it, in about 2 log2(n) calls for one refused request among n. If
        the model fails otherwise (a 500), each request is run alone once."""
        jobs = [job for job in jobs if not job.future.done()]  # clients gone: skipped
        if not jobs:
            return
        try:
            results = await self._call(method, jobs)
        except ModelError as exc:
            if len(jobs) == 1:
                _settle(jobs[0], exc)
            elif exc.status == 400:
                half = len(jobs) // 2
                await self._answer(method, jobs[:half])
                await self._answer(method, jobs[half:])
            else:
                for job in jobs:
                    try:
                        _settle(job, (await self._call(method, [job]))[0])
                    except ModelError as alone:
                        _settle(job, alone)
            return
        for job, result in zip(jobs, results):
            _settle(job, result)

    async def _call(self, method, jobs):
        parts = [job.columns for job in jobs]
        self.stats["model_calls"] += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, _threaded, self._predict, method, parts)
        except ModelError:
            raise
        except (ValueError, FileNotFoundError) as exc:
            # The model refuses these values (or a file they name is not there, as
            # image paths): the request's fault.
            # (its text cut: a scikit-learn step names the value it refused, as the
            # request sent it; the answer would echo the body)
            raise ModelError(f"the model refused the request's values: {shortened(exc, 1000)}",
                             status=400) from exc
        except Exception as exc:  # the model's own error, whatever its type, is a 500
            raise ModelError(f"{method} failed: {type(exc).__name__}: {shortened(exc, 1000)}"
                             ) from exc

    def _predict(self, method, parts):
        """In the model thread: one call over every part, split back per part."""
        try:
            result = getattr(self.model, method)(self.schema.assemble(parts))
        except (CancelledError, asyncio.CancelledError, StopIteration) as exc:
            # The model's own, which asyncio cannot pass on from this thread: it took
            # a CancelledError (a future the model waited on) for this call's own and
            # ended the method's worker; a StopIteration cannot be set on a future,
            # and the worker waited for ever. Either silently.
            raise ModelError(f"{method} failed: " + (
                "a future it waited on was cancelled (CancelledError)" if not isinstance(
                    exc, StopIteration) else f"StopIteration: {shortened(exc, 1000)}")) from exc
        return _split(result, [len(p[0]) for p in parts], method)


def _split(result, sizes, method):
    total = sum(sizes)
    outputs = list(result) if isinstance(result, (list, tuple)) else [result]
    # (sparse indicator rows: a classifier fitted on sparse multilabel y)
    outputs = [o.to_numpy() if hasattr(o, "to_numpy") else o.toarray() if hasattr(
        o, "toarray") else np.asarray(o) for o in outputs]
    for out in outputs:
        if out.ndim == 0 or len(out) != total:
            raise ModelError(f"{method} returned {len(out) if out.ndim else 'a scalar'} rows "
                             f"for {total}")
    bounds = np.cumsum([0, *sizes])
    return [[o[a:b] for o in outputs] if isinstance(result, (list, tuple)) else outputs[0][a:b]
            for a, b in zip(bounds[:-1], bounds[1:])]


def _settle(job, outcome):
    if job.future.done():  # the client went away
        return
    if isinstance(outcome, BaseException):
        job.future.set_exception(outcome)
    else:
        job.future.set_result(outcome)


GONE = object()  # what unless_gone gives for a client gone


async def unless_gone(request, work):
    """``await work``, or GONE once the client has gone (``work`` cancelled:
    a batch skips the request). The request's body is read already: what the
    server receives next is the client's leaving."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(request.receive())
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if task not in done and watcher.exception() is None and (
                watcher.result().get("type") == "http.disconnect"):
            return GONE
        return await task
    finally:
        watcher.cancel()
        task.cancel()  # (done already, or its client gone, or this handler cancelled)


def cells(result):
    """How many values a model's output holds (a list or dict of arrays: all theirs)."""
    if isinstance(result, dict):
        result = list(result.values())
    return sum(map(np.size, result)) if isinstance(result, list) else np.size(result)
