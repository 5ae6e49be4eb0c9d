"""Tiny fitted models and a real server on a free loopback port, for tests/serving.

Imported as ``from _servers import ...`` (pytest puts this directory on
``sys.path``; a second ``conftest`` module would shadow ``tests/conftest.py``).
The models are fitted once per process and shared by the test modules.
"""

import contextlib
import functools
import threading
import time
import warnings

import httpx
import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from keraslearn import MLPClassifier, MLPRegressor
from keraslearn.serving import make_server

COLUMNS = ["age", "income", "score", "ratio"]
CITIES = ["Lyon", "Oslo", "Lima"]


def frame(n=240, seed=0):
    """Four numeric columns of different scales, and a three-class target of strings."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)) * [10, 1000, 1, 0.1] + [40, 3000, 0, 1],
                     columns=COLUMNS)
    z = (X["age"] - 40) / 10 + (X["income"] - 3000) / 1000
    y = np.where(z > 0.5, "high", np.where(z < -0.5, "low", "mid"))
    return X, y


def _fitted(model, X, y):
    with warnings.catch_warnings():  # five epochs are enough to serve, not to converge
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


@functools.cache
def classifier():
    """A scaler and a keraslearn MLPClassifier fitted on a DataFrame (string labels)."""
    return _fitted(make_pipeline(StandardScaler(), MLPClassifier(
        hidden_layer_sizes=(8,), max_iter=5, random_state=0)), *frame())


def scaled_rows():
    """The rows of ``frame()`` standardised, as a plain array (the regressor's input)."""
    X, _ = frame()
    return ((X - X.mean()) / X.std()).to_numpy()


@functools.cache
def regressor():
    """A keraslearn MLPRegressor fitted on a plain array (no feature names)."""
    Xa = scaled_rows()
    return _fitted(MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0),
                   Xa, Xa @ [1.0, -2.0, 0.5, 3.0])


def mixed_frame(n=120, seed=1):
    """Two numeric columns, a string column and an integer column; integer labels."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"age": rng.normal(40, 10, n), "city": rng.choice(CITIES, n),
                      "rooms": rng.integers(1, 6, n), "income": rng.normal(3000, 900, n)})
    y = ((X["age"] > 40) ^ (X["city"] == "Oslo")).astype(int).to_numpy()
    return X, y


@functools.cache
def mixed():
    """One-hot encoded strings (unknown categories refused) beside scaled numbers."""
    X, y = mixed_frame()
    encode = make_column_transformer((OneHotEncoder(handle_unknown="error"), ["city"]),
                                     remainder=StandardScaler())
    return _fitted(make_pipeline(encode, MLPClassifier(hidden_layer_sizes=(8,), max_iter=5,
                                                       random_state=0)), X, y)


@functools.cache
def dropping():
    """One-hot strings and a scaled number read of ``mixed_frame(n=60)``, its
    other columns (rooms, income) dropped by the ColumnTransformer."""
    X, y = mixed_frame(n=60)
    encode = make_column_transformer((OneHotEncoder(), ["city"]), (StandardScaler(), ["age"]),
                                     remainder="drop")
    return _fitted(make_pipeline(encode, MLPClassifier(hidden_layer_sizes=(4,), max_iter=2,
                                                       random_state=0)), X, y)


def started(server):
    """Run ``server`` (made by ``make_server``) in a thread: the thread, and the
    host and port it listens on once it has started."""
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    return thread, host, port


@contextlib.contextmanager
def serving(model, **options):
    """A real server for ``model`` on 127.0.0.1 (a free port), and a client talking to it.

    The server runs in a thread through the public ``make_server``; it is stopped
    (and its thread joined) on leaving the block.
    """
    server = make_server(model, port=0, log_level="warning", **options)
    exited = {}

    def run():
        try:
            server.run()
        except SystemExit as exc:  # uvicorn's way of failing a start-up
            exited["code"] = exc.code

    thread = threading.Thread(target=run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            thread.join(5)
            raise RuntimeError(f"the server did not start (exit code {exited.get('code')})")
        time.sleep(0.01)
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    try:
        with httpx.Client(base_url=f"http://{host}:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "the server did not stop"


def records(X):
    """A DataFrame's rows as JSON records (plain Python values)."""
    return [{k: _plain(v) for k, v in row.items()} for row in X.to_dict(orient="records")]


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
