"""Running the app: a uvicorn server bound to the loopback interface by default."""

import logging
import numbers

from ._app import make_app


def make_server(model, host="127.0.0.1", port=8000, *, log_level="info", access_log=False,
                timeout_graceful_shutdown=10, **app_options):
    """A uvicorn server for a fitted model, ready to ``run()`` (or ``serve()``).

    Parameters
    ----------
    model : estimator
        The fitted model or pipeline, as for :func:`make_app`.

    host : str, default="127.0.0.1"
        The address to bind. The default takes connections from this machine
        only; ``"0.0.0.0"`` opens the server to the network.

    port : int, default=8000
        The port; 0 picks a free one (read it from ``server.servers`` once
        ``server.started`` is true).

    log_level : str, default="info"
        uvicorn's log level, and that of the ``keraslearn.serving`` logger
        (a warning for each request the model refused) unless the process
        set that logger's level itself.

    access_log : bool, default=False
        Log every request (it costs throughput).

    timeout_graceful_shutdown : int or None, default=10
        Seconds a shutdown (Ctrl-C, SIGTERM, ``should_exit``) waits for open
        connections before closing them (a request still computing then is
        cancelled: its client gets a 500); None waits for ever (uvicorn's
        default), which a client that stopped sending mid-request holds up.

    **app_options
        Passed to :func:`make_app` (``max_batch_rows``, ``max_wait_ms``, ...).

    Returns
    -------
    server : uvicorn.Server
        One process, one model: it scales by batching, not by workers. Set
        ``server.should_exit = True`` to stop it from another thread.
    """
    uvicorn = _require("uvicorn")
    if not isinstance(host, str) or not host.strip():  # uvicorn listens everywhere on ""
        raise ValueError(f"host={host!r}: give the address to listen on, '127.0.0.1' for "
                         "this machine alone or '0.0.0.0' (every interface) to mean that")
    if timeout_graceful_shutdown is not None and (
            isinstance(timeout_graceful_shutdown, bool)
            or not isinstance(timeout_graceful_shutdown, numbers.Integral)
            or timeout_graceful_shutdown < 0):
        raise ValueError(f"timeout_graceful_shutdown={timeout_graceful_shutdown!r}: give a "
                         "whole number of seconds, 0 or more, or None")
    app = make_app(model, **app_options)
    _log_handlers()
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, log_config=None,
                            access_log=access_log, lifespan="on", server_header=False,
                            timeout_graceful_shutdown=timeout_graceful_shutdown)
    logger = logging.getLogger("keraslearn.serving")
    if log_level is not None and logger.level in (logging.NOTSET, _LEVEL_SET[0]):
        from uvicorn.config import LOG_LEVELS  # (uvicorn's names: "trace", "info", ...)

        _LEVEL_SET[0] = LOG_LEVELS[log_level.lower()] if isinstance(
            log_level, str) else log_level
        logger.setLevel(_LEVEL_SET[0])  # (a level the user set stands)
    return uvicorn.Server(config)


_LEVEL_SET = [None]  # the level make_server last gave keraslearn.serving's logger


def _log_handlers():
    """uvicorn's default log output, on uvicorn's own loggers where they have no
    handler yet. uvicorn sets it up with ``logging.config.dictConfig``, which
    closes every handler in the process: the user's log file stopped receiving
    records once a server was made."""
    import sys

    from uvicorn.logging import AccessFormatter, DefaultFormatter

    for name, stream, formatter, below in (
            ("uvicorn", sys.stderr, DefaultFormatter("%(levelprefix)s %(message)s"),
             "uvicorn.error"),
            ("uvicorn.access", sys.stdout, AccessFormatter(
                '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'), None)):
        logger = logging.getLogger(name)
        if not logger.handlers and not (below and logging.getLogger(below).handlers):
            handler = logging.StreamHandler(stream)
            handler.setFormatter(formatter)
            logger.addHandler(handler)
            logger.propagate = False


def run(model, host="127.0.0.1", port=8000, **options):
    """Serve a fitted model over HTTP until interrupted (Ctrl-C).

    Parameters
    ----------
    model : estimator
        The fitted model or pipeline, as for :func:`make_app`.

    host : str, default="127.0.0.1"
        The address to bind (loopback only unless told otherwise).

    port : int, default=8000
        The port.

    **options
        Passed to :func:`make_server` and :func:`make_app`.

    Returns
    -------
    None
        Once the server has stopped, as ``uvicorn.run`` returns: a Ctrl-C
        stops it gracefully and the rest of the script runs.

    Raises
    ------
    RuntimeError
        Where the server could not start (a port in use, an address not this
        machine's, the app's start-up failing), which uvicorn's log says; uvicorn
        itself exits the process.
    """
    try:
        make_server(model, host, port, **options).run()
    except KeyboardInterrupt:  # uvicorn raises it again once shut down
        pass
    except SystemExit as exc:
        if exc.code in (0, None):
            return
        raise RuntimeError(f"keraslearn.serving.run: the server could not start on "
                           f"{host}:{port}; uvicorn's log above says why (a port in use, "
                           "an address not this machine's, the app's start-up failing)."
                           ) from None


def _require(module):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"keraslearn.serving needs {module}: pip install "
                          f"'keraslearn[serve]'") from exc
