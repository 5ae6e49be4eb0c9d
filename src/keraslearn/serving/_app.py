"""The ASGI app: endpoints, bad-request answers, and the batcher's lifetime.

Built on Starlette (the toolkit FastAPI is made of, without its request models:
a served model's input schema is only known at run time) and run by uvicorn.
Each handler reads the body under a size limit, decodes and validates it (a
4xx naming the field otherwise), awaits its slice of a batched model call,
and answers JSON. The batcher starts and stops with the app (its lifespan).
"""

import asyncio
import contextlib
import functools
import json
import logging
from numbers import Integral, Real

import numpy as np
import sklearn

from ..utils import Interval
from ..utils._columns import polars_as_pandas
from ._batching import GONE, Batcher, ModelError, cells, unless_gone
from ._drift import RecentRows, check_detector, named_as_fitted, tested_features
from ._metadata import BLOCK_CELLS, describe, json_text
from ._parse import RequestError, decode, read_payload
from ._schema import FeatureSchema

_log = logging.getLogger("keraslearn.serving")
_CODES = {400: "BAD_REQUEST", 404: "RESOURCE_DOES_NOT_EXIST", 405: "BAD_REQUEST",
          409: "INVALID_STATE", 413: "REQUEST_LIMIT_EXCEEDED", 415: "BAD_REQUEST",
          500: "INTERNAL_ERROR", 503: "TEMPORARILY_UNAVAILABLE"}
# keraslearn's estimators answer their first calls eagerly and trace on the third.
_WARMUP_CALLS = 3
# Bodies from this size on are read in a thread (a one-row request stays on the loop).
_INLINE_BYTES = 64 * 1024


def make_app(model, *, max_batch_rows=256, max_wait_ms=2.0, max_body_bytes=4 * 2**20,
             input_example=None, dtypes=None, warmup=True, drift_detector=None,
             drift_window=1000):
    """An ASGI app serving a fitted model over HTTP, with request batching.

    Parameters
    ----------
    model : estimator or ExportedModel
        A fitted estimator or pipeline with ``predict`` (and ``predict_proba``
        to serve probabilities), e.g. a keraslearn estimator or a scikit-learn
        or imbalanced-learn pipeline ending in one, or an :class:`ExportedModel`
        (a SavedModel written by ``keraslearn.export``). It must record
        ``feature_names_in_`` (fitted on a DataFrame) or ``n_features_in_``.

    max_batch_rows : int, default=256
        The most rows one model call takes; a larger request runs alone.

    max_wait_ms : float, default=2.0
        How long a request may wait for others to share its model call,
        counted from its arrival. 0 batches only what queued while the model
        was busy.

    max_body_bytes : int, default=4 MiB
        Larger request bodies get a 413.

    input_example : pandas or polars DataFrame, or array-like, default=None
        Rows like the training data. Their column dtypes say what each
        feature takes (without it or ``dtypes``, every feature is a number but
        those the model's ``ColumnTransformer`` learnt strings from; a column
        it drops takes any value, or may be left out of a request by name), and
        its first row with a value in every column served without missing
        values warms the model up.

    dtypes : dict, default=None
        Feature name (or index) to dtype, e.g. ``{"city": "string"}``; the
        features not named are numbers, or strings where the model's first
        step learnt strings. Not with ``input_example``. An
        :class:`ExportedModel` brings its own (``input_dtypes_``), which
        ``dtypes`` overrides column by column.

    warmup : bool, default=True
        Call the model a few times at start-up (on that row of
        ``input_example``, else on zeros when every feature is numeric), so
        that the first requests do not pay for tracing. A failure on
        ``input_example`` stops the start-up; on zeros it is only logged.

    drift_detector : object, default=None
        Anything with ``test(X)`` returning a pandas DataFrame (for example a
        fitted ``keraslearn.monitoring.DriftDetector``). The server keeps the
        last ``drift_window`` rows it was asked about and ``GET
        /monitoring/drift`` answers ``detector.test(rows)`` as records, where
        ``rows`` is a DataFrame with the model's columns (an array for a
        model fitted without names). Rows the model refused, and rows holding
        a missing value, are not kept: the detector tests complete values. Nor
        are rows with a value other than a finite number in a column the model
        does not read (so takes any value in) where a ``DriftDetector`` was
        fitted on numbers. Every answered request's rows count: a client
        asking ``/predict`` and then ``/predict_proba`` of the same rows puts
        them in twice (ask ``/predict_proba`` alone where a row's label is
        the class of its highest probability, as a classifier's ``predict``
        gives it unless it moves the threshold).

    drift_window : int, default=1000
        How many recent rows are kept for ``drift_detector``.

    Returns
    -------
    app : starlette.applications.Starlette
        Run it with uvicorn, or with :func:`run`.

    Notes
    -----
    Endpoints: ``POST /predict`` -> ``{"predictions": [...]}``, ``POST
    /predict_proba`` -> ``{"probabilities": [[...]], "classes": [...]}``,
    ``POST /invocations`` (MLflow's scoring protocol) -> ``{"predictions":
    [...]}``, ``GET /health`` (and ``/ping``), ``GET /metadata``, ``GET
    /monitoring/drift``. Errors answer ``{"error": message, "error_code":
    code}`` (``/invocations`` adds MLflow's ``"message"``).

    Missing values (JSON ``null`` or ``NaN``, an empty CSV cell) are taken in
    the number and string columns that the pipeline's first step reading them
    imputes (a scikit-learn ``SimpleImputer``, ``KNNImputer``,
    ``IterativeImputer`` or ``MissingIndicator`` whose ``missing_values`` is
    NaN, or None or ``pd.NA`` for a string column; the step itself or inside a
    ``ColumnTransformer``) or drops, and reach the model as that imputer's
    marker; elsewhere they get a 400 naming the column and row. ``GET
    /metadata`` says which features take them (``"nullable"``).

    The model runs in a thread of its own, with the scikit-learn settings
    (``sklearn.set_config``, such as ``transform_output``) of the thread that
    made the app: scikit-learn keeps them per thread.
    """
    _check_option("max_batch_rows", max_batch_rows, Interval(Integral, 1, None, closed="left"))
    _check_option("max_wait_ms", max_wait_ms, Interval(Real, 0, 60_000, closed="both"))
    _check_option("max_body_bytes", max_body_bytes, Interval(Integral, 1, None, closed="left"))
    _check_option("drift_window", drift_window, Interval(Integral, 1, None, closed="left"))
    if not callable(getattr(model, "predict", None)):
        raise TypeError(f"make_app: {type(model).__name__} has no predict method")
    if drift_detector is not None and not callable(getattr(drift_detector, "test", None)):
        raise TypeError(f"make_app: drift_detector ({type(drift_detector).__name__}) has no "
                        f"test method")
    # (polars' integer and boolean columns may hold nulls: pandas' nullable ones)
    input_example = polars_as_pandas(input_example, nullable=True)
    schema = FeatureSchema.from_model(model, input_example=input_example, dtypes=dtypes)
    methods = ["predict"] + (["predict_proba"] if hasattr(model, "predict_proba") else [])
    # The model thread runs with the caller's scikit-learn settings
    # (transform_output="pandas": a step selecting columns by name needs it).
    batcher = Batcher(model, schema, methods, max_batch_rows=max_batch_rows,
                      max_wait_ms=max_wait_ms, thread_setup=functools.partial(
                          sklearn.set_config, **sklearn.get_config()))
    recent = (RecentRows(schema, drift_window, numeric=check_detector(drift_detector, schema),
                         tested=tested_features(drift_detector, schema))
              if drift_detector is not None else None)
    metadata = describe(model, schema, methods, {
        "max_batch_rows": max_batch_rows, "max_wait_ms": max_wait_ms,
        "max_body_bytes": max_body_bytes, "drift": drift_detector is not None})
    warm_rows = _warm_rows(schema, input_example) if warmup else None
    return _build(model, schema, batcher, recent, drift_detector, metadata, max_body_bytes,
                  warm_rows, from_example=input_example is not None)


def _build(model, schema, batcher, recent, detector, metadata, limit, warm_rows, from_example):
    from ._server import _require

    _require("starlette")
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import ClientDisconnect
    from starlette.responses import Response
    from starlette.routing import Route

    def answer(content, status=200, mlflow=False):
        try:
            body = json_text(content)
        except ValueError:
            return failure("the model returned a value JSON cannot hold (NaN or infinity)", 500,
                           mlflow)
        return Response(body, status, media_type="application/json")

    def failure(message, status, mlflow=False, headers=None):
        content = {"error": message, "error_code": _CODES.get(status, "BAD_REQUEST")}
        if mlflow:
            content["message"] = message
        return Response(json.dumps(content, separators=(",", ":")), status,
                        headers=headers, media_type="application/json")

    def parsed(body, content_type, mlflow):
        """A request body's columns, as the schema checks them."""
        columns = read_payload(decode(body, content_type, schema), schema, mlflow=mlflow)
        unknown = schema.unknown_category(columns)
        if unknown is not None:  # the encoder would refuse it, naming no column
            raise RequestError(unknown)
        return columns

    async def scored(request, method, respond, mlflow=False):
        """The Response to a request: ``respond(output)`` of the model's
        output, or an error."""
        if mlflow and _mime(request) not in ("", "application/json", "text/csv"):
            return failure(f"unsupported Content-Type {request.headers['content-type']!r}: "
                           f"send application/json or text/csv", 415, mlflow)
        coding = request.headers.get("content-encoding", "").strip().lower()
        if coding not in ("", "identity"):  # (a gzip body was told as JSON it is not)
            return failure(f"unsupported Content-Encoding {coding!r}: send the body "
                           "uncompressed", 415, mlflow)
        try:
            body = await _read_body(request, limit)
            parse = functools.partial(parsed, body, request.headers.get("content-type"), mlflow)
            # A large body is read in a thread: the event loop goes on answering the
            # other clients (4 MiB of rows held /health for seconds).
            columns = parse() if len(body) < _INLINE_BYTES else await asyncio.to_thread(parse)
        except RequestError as exc:
            return failure(exc.message, exc.status, mlflow)
        except ClientDisconnect:  # nobody is left to answer
            return failure("the client went away before sending its whole body", 400, mlflow)
        sent = None if recent is None else recent.as_sent(columns)
        try:
            result = await unless_gone(request, batcher.submit(method, columns))
        except ModelError as exc:
            _log.warning("%s", exc.message)
            return failure(exc.message, exc.status, mlflow)
        if result is GONE:  # (its rows not run: a response nobody reads)
            return failure("the client went away before its answer", 400, mlflow)
        # A large answer is written in a thread too (1.5M probabilities: 4 s of JSON).
        response = (respond(result) if cells(result) < BLOCK_CELLS
                    else await asyncio.to_thread(respond, result))
        if recent is not None and response.status_code == 200:
            recent.add(sent)  # rows answered: a refused request is not traffic
        return response

    async def predict(request):
        return await scored(request, "predict", lambda out: answer({"predictions": out}))

    async def invocations(request):
        return await scored(request, "predict",
                            lambda out: answer({"predictions": out}, mlflow=True), mlflow=True)

    classes = metadata["classes"]

    async def predict_proba(request):
        if "predict_proba" not in batcher.methods:
            return failure(f"{type(model).__name__} has no predict_proba: use /predict", 404)
        return await scored(request, "predict_proba",
                            lambda out: answer({"probabilities": out, "classes": classes}))

    async def health(request):
        return answer({"status": "ok", **batcher.stats})

    async def meta(request):
        return answer(metadata)

    running = {}  # the drift test under way, which requests arriving meanwhile share

    def test_rows(parts):  # in a worker thread: neither the event loop nor the model's
        rows = recent.rows(parts)
        return len(rows), detector.test(named_as_fitted(rows, detector)).to_dict(
            orient="records")

    async def drift(request):
        if recent is None:
            return failure(
                "no drift detector: save the model with keraslearn.save(..., drift_detector=...) "
                "for `keraslearn serve`, or pass drift_detector= to run() or make_app()", 404)
        parts = recent.parts()
        if parts is None:
            return failure("no rows to test yet: the drift test needs rows the model answered, "
                           "without missing values (a column left out is missing) nor text "
                           "where the detector reads numbers", 409)
        # One test at a time, in a thread of its own (the model thread keeps answering
        # predictions): a request arriving while a test runs gets that test's answer,
        # so that polls faster than a test do not queue up tests.
        test = running.get("test")
        if test is None or test.done():
            test = running["test"] = asyncio.ensure_future(asyncio.to_thread(test_rows, parts))
        try:
            n, report = await asyncio.shield(test)  # a client gone does not stop it
        except Exception as exc:  # the detector's own error, or not a DataFrame
            return failure(f"the drift test failed: {type(exc).__name__}: {exc}", 500)
        return answer({"rows": n, "report": report})

    async def http_error(request, exc):  # its headers kept: a 405's Allow
        return failure(exc.detail, exc.status_code, request.url.path == "/invocations",
                       headers=exc.headers)

    async def server_error(request, exc):  # a bug of the server's own: still JSON
        return failure(f"internal error: {type(exc).__name__}: {exc}", 500)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await batcher.start()
        try:
            if warm_rows is not None:
                await _warm_up(batcher, warm_rows, from_example)
            yield
        finally:
            await batcher.stop()

    routes = [
        Route("/predict", predict, methods=["POST"]),
        Route("/predict_proba", predict_proba, methods=["POST"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/ping", health, methods=["GET"]),
        Route("/metadata", meta, methods=["GET"]),
        Route("/monitoring/drift", drift, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, Exception: server_error})
    app.router.redirect_slashes = False  # (/predict/: a 404 that says so, not an empty 307)
    return app


async def _read_body(request, limit):
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestError(f"the request body has {int(declared)} bytes; the limit is {limit} "
                           f"(max_body_bytes)", status=413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(f"the request body is over the limit of {limit} bytes "
                               f"(max_body_bytes)", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


def _mime(request):
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _warm_rows(schema, example):
    """One row of columns to warm the model on, or None when there is none to make
    (ValueError for an ``input_example`` without a row a request could hold)."""
    if example is None:
        return None if "string" in schema.kinds else [
            np.zeros(1, dtype=dtype) for dtype in schema.dtypes]
    import pandas as pd

    named = schema.names is not None and hasattr(example, "columns")
    rows = example if named else np.asarray(example)
    columns = [rows[name] for name in schema.names] if named else list(rows.T)
    # The first row a request could hold: a value in each feature served without
    # missing values (pd.NA in an Int64 column became -2**63, NaN failed the model).
    holes = {j: np.asarray(pd.isna(columns[j]), bool) for j, feature
             in enumerate(schema.describe()) if not feature["nullable"]}
    complete = ~np.logical_or.reduce([np.zeros(len(rows), bool), *holes.values()])
    if not complete.any():
        where = ", ".join(schema.field(j) for j, missing in holes.items() if missing.any())
        raise ValueError(
            "make_app: every row of input_example misses a value in a feature served "
            f"without missing values ({where}), so none can warm the model up: give one "
            "complete row, or warmup=False")
    first = int(np.argmax(complete))
    if named:  # pandas' missing value (pd.NA) in a nullable column served as floats: NaN
        return [c.iloc[first:first + 1].to_numpy(dtype, na_value=np.nan) if dtype.kind == "f"
                else c.iloc[first:first + 1].to_numpy().astype(dtype)
                for c, dtype in zip(columns, schema.dtypes)]
    return [c[first:first + 1].astype(dtype) for c, dtype in zip(columns, schema.dtypes)]


async def _warm_up(batcher, row, from_example):
    def calls():
        for method in batcher.methods:
            for _ in range(_WARMUP_CALLS):
                getattr(batcher.model, method)(batcher.schema.assemble([row]))

    try:
        await batcher.call(calls)
    except Exception as exc:  # the model's own error on the warm-up row
        if from_example:
            raise RuntimeError(f"the model failed on input_example's warm-up row: "
                               f"{type(exc).__name__}: {exc}") from exc
        _log.warning("warm-up on a row of zeros failed (%s: %s); serving without it",
                     type(exc).__name__, exc)


def _check_option(name, value, interval):
    if isinstance(value, bool) or not interval.is_satisfied_by(value):
        raise ValueError(f"make_app: {name} must be {interval}; got {value!r}")
