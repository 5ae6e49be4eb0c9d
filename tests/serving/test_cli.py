"""The ``keraslearn`` console script: its arguments, its refusals, and a saved
pipeline served end to end by the command itself in its own process."""

import contextlib
import inspect
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from _servers import classifier, frame, records, started

import keraslearn
from keraslearn import MLPClassifier
from keraslearn.monitoring import DriftDetector
from keraslearn.serving import make_app, make_server
from keraslearn.serving._cli import build_parser, main

EXECUTABLE = Path(sys.executable).parent / "keraslearn"


def test_defaults_bind_loopback_and_match_make_app():
    args = build_parser().parse_args(["serve", "model.keraslearn"])
    assert (args.command, args.path, args.host, args.port) == ("serve", "model.keraslearn",
                                                               "127.0.0.1", 8000)
    defaults = inspect.signature(make_app).parameters
    for option in ("max_batch_rows", "max_wait_ms", "max_body_bytes", "drift_window"):
        assert getattr(args, option) == defaults[option].default, option
    assert args.access_log is False
    assert args.trusted == []
    assert args.timeout_graceful_shutdown == inspect.signature(
        make_server).parameters["timeout_graceful_shutdown"].default


def test_options_are_parsed():
    args = build_parser().parse_args(["serve", "m", "--host", "0.0.0.0", "--port", "9001",
                                      "--max-batch-rows", "64", "--max-wait-ms", "0.5",
                                      "--max-body-bytes", "1024", "--log-level", "warning",
                                      "--access-log", "--trusted", "a.B", "--trusted", "c.D",
                                      "--drift-window", "50", "--dtype", "city=string",
                                      "--dtype", "a=b=int64"])
    assert (args.host, args.port, args.max_batch_rows, args.max_wait_ms, args.max_body_bytes,
            args.log_level, args.access_log) == ("0.0.0.0", 9001, 64, 0.5, 1024, "warning", True)
    assert (args.trusted, args.drift_window) == (["a.B", "c.D"], 50)
    assert args.dtype == [("city", "string"), ("a=b", "int64")]


@pytest.mark.parametrize("argv, words", [
    (["serve", "m", "--port", "99999"], "'99999' is not a port"),
    (["serve", "m", "--port", "http"], "'http' is not an integer"),
    (["serve", "m", "--max-batch-rows", "0"], "'0' is not a positive integer"),
    (["serve", "m", "--max-wait-ms", "nan"], "'nan' is not a wait"),
    (["serve", "m", "--dtype", "city"], "'city' is not COLUMN=DTYPE"),
    (["serve", "m", "--timeout-graceful-shutdown", "-1"], "'-1' is not a number of seconds"),
    # an unset variable ("$HOST"): uvicorn listened on every interface
    (["serve", "m", "--host", " "], "--host: empty: give the address to listen on"),
    (["serve"], "PATH"),
    ([], "COMMAND"),
    (["train", "m"], "invalid choice: 'train'"),
])
def test_bad_arguments_exit_2_with_a_message(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert words in capsys.readouterr().err


def test_missing_path_is_refused_before_loading(tmp_path, capsys):
    missing = tmp_path / "nothing-here"
    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(missing)])
    assert exit_.value.code == 2
    assert f"'{missing}' does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["model.onnx", "model.tflite"])
def test_an_export_of_another_runtime_is_refused_naming_what_serves_it(tmp_path, name, capsys):
    # It had been said "truncated or damaged".
    (tmp_path / name).write_bytes(b"graph")
    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(tmp_path / name)])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert f"is a .{name.split('.')[1]} file, which onnxruntime or LiteRT serve" in error


def test_console_script_is_installed_and_refuses_a_missing_path(tmp_path):
    (script,) = entry_points(group="console_scripts", name="keraslearn")
    assert script.load() is main
    missing = tmp_path / "model"
    done = subprocess.run([str(EXECUTABLE), "serve", str(missing)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert f"'{missing}' does not exist" in done.stderr


def test_python_m_keraslearn_runs_the_command(tmp_path):
    missing = tmp_path / "model"
    done = subprocess.run([sys.executable, "-m", "keraslearn", "serve", str(missing)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert f"keraslearn serve: error: '{missing}' does not exist" in done.stderr


def test_without_the_serve_extra_the_command_imports_and_names_it(tmp_path):
    # keraslearn.serving imported anyio (Starlette's) at its top: the `keraslearn`
    # command itself, --version and ExportedModel failed with "No module named
    # 'anyio'"; serve loaded the whole model before finding uvicorn missing.
    path = tmp_path / "m.keraslearn"
    path.write_bytes(b"not read")
    code = (
        "import sys\n"
        "for name in ('starlette', 'uvicorn', 'anyio'):\n"
        "    sys.modules[name] = None\n"
        "from keraslearn.serving import ExportedModel\n"
        "from keraslearn.serving._cli import main\n"
        f"main(['serve', {str(path)!r}])\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 1, run.stderr[-2000:]
    assert "keraslearn serve: error: keraslearn.serving needs starlette: pip install " \
           "'keraslearn[serve]'" in run.stderr


def test_version_is_printed_and_exits_0(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"keraslearn {keraslearn.__version__}\n"


def test_a_file_load_refuses_exits_1_with_the_reason(tmp_path, capsys):
    damaged = tmp_path / "model.keraslearn"
    damaged.write_bytes(b"not an archive")
    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(damaged)])
    assert exit_.value.code == 1
    assert "keraslearn serve: error: " in capsys.readouterr().err


def _halved(X):
    return X / 2


def test_untrusted_types_are_named_with_the_option_that_trusts_them(tmp_path, capsys):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = frame()
    pipe = make_pipeline(FunctionTransformer(_halved), classifier()[-1])
    odd = keraslearn.save(pipe, tmp_path / "odd.keraslearn")
    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(odd)])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    # Before, the command line told to call keraslearn.load(path, trusted=[...]).
    assert "['test_cli._halved']" in err and "name each with --trusted TYPE" in err
    assert "keraslearn.load(path" not in err


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_command(path, *options, sigint=signal.default_int_handler):
    """``keraslearn serve PATH --port 0`` in its own process, and a client of the
    address it prints; the server is stopped with Ctrl-C's signal on leaving the
    block. ``sigint``: this process's SIGINT handler while the server starts, whose
    disposition it inherits (signal.SIG_IGN: as a shell script's background job
    starts)."""
    return serving_process([str(EXECUTABLE), "serve", str(path), "--port", "0",
                            "--log-level", "warning", *options], None, sigint=sigint)


def _printed_address(server, deadline):
    """The address ``keraslearn serve --port 0`` prints once it listens."""
    lines = selectors.DefaultSelector()
    lines.register(server.stdout, selectors.EVENT_READ)
    while not lines.select(timeout=0.25):
        assert server.poll() is None, f"the server exited: {server.communicate()[1]}"
        assert time.monotonic() < deadline, "the server did not start"
    line = server.stdout.readline()
    assert line.startswith("keraslearn serve: listening on http://127.0.0.1:"), line
    return line.split()[-1]


@contextlib.contextmanager
def serving_process(command, port, *, sigint=signal.default_int_handler, status=130,
                    printed=""):
    """The server ``command`` starts on ``port`` (None: the port it prints), and a
    client; stopped on leaving the block with Ctrl-C's signal, it must exit with
    ``status``, having printed ``printed``, with no traceback."""
    previous = signal.signal(signal.SIGINT, sigint)
    try:
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        deadline = time.monotonic() + 240  # a fresh TensorFlow, on a shared machine
        url = _printed_address(server, deadline) if port is None else f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=30) as client:
            while True:
                assert server.poll() is None, f"the server exited: {server.communicate()[1]}"
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.25)
            yield client
    finally:
        server.send_signal(signal.SIGINT)
        try:
            out, err = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
            raise AssertionError("the server did not stop on SIGINT") from None
    # Stopped as by Ctrl-C: a graceful shutdown, the usual status, no traceback.
    assert server.returncode == status, (server.returncode, err[-3000:])
    assert "Traceback" not in err, err[-3000:]
    assert printed in out, out


def test_run_returns_on_ctrl_c_as_uvicorn_run_does(tmp_path):
    # It ended in a KeyboardInterrupt traceback: the process died by SIGINT and
    # nothing after run() in the user's script ran.
    path = keraslearn.save(classifier(), tmp_path / "model.keraslearn")
    port = _free_port()
    code = ("import keraslearn; from keraslearn.serving import run; "
            f"run(keraslearn.load({str(path)!r}), port={port}, log_level='warning'); "
            "print('after run')")
    with serving_process([sys.executable, "-c", code], port, status=0,
                         printed="after run") as client:
        assert client.get("/health").status_code == 200


def test_serve_command_serves_a_saved_pipeline_and_its_drift_detector(tmp_path):
    model = classifier()
    X, _ = frame()
    detector = DriftDetector(random_state=0).fit(X)
    path = keraslearn.save(model, tmp_path / "model.keraslearn", drift_detector=detector)
    new = X.iloc[:40].assign(income=X["income"].iloc[:40] * 3)  # a drifted column
    with serve_command(path) as client:
        response = client.post("/predict", json=records(new))
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == model.predict(new).tolist()
        response = client.post("/predict_proba", json=records(new))
        assert response.status_code == 200, response.text
        assert response.json()["classes"] == model.classes_.tolist()
        np.testing.assert_allclose(response.json()["probabilities"], model.predict_proba(new),
                                   rtol=1e-5, atol=1e-7)
        response = client.get("/monitoring/drift")
        assert response.status_code == 200, response.text
    body = response.json()
    assert body["rows"] == 80  # the rows of both requests
    expected = detector.test(pd.concat([new, new], ignore_index=True))
    got = pd.DataFrame(body["report"])
    assert got["feature"].tolist() == expected["feature"].tolist()
    assert got["drifted"].tolist() == expected["drifted"].tolist() == [False, True, False, False]
    np.testing.assert_allclose(got["p_value"], expected["p_value"], rtol=1e-9)


def test_serve_command_started_with_sigint_ignored_still_exits_130_on_sigint(tmp_path):
    # A background job of a shell script starts with SIGINT ignored; uvicorn stops
    # on it all the same, and the exit status says so (serve_command checks it).
    path = keraslearn.save(classifier(), tmp_path / "model.keraslearn")
    with serve_command(path, "--dtype", "age=float32", sigint=signal.SIG_IGN) as client:
        assert client.get("/health").status_code == 200
        features = {f["name"]: f["dtype"] for f in client.get("/metadata").json()["features"]}
    assert features == {"age": "float32", "income": "float64", "score": "float64",
                        "ratio": "float64"}  # --dtype reached make_app


def test_a_dtype_the_model_cannot_take_exits_2_before_serving(tmp_path, capsys):
    path = keraslearn.save(classifier(), tmp_path / "model.keraslearn")
    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(path), "--dtype", "town=string"])
    assert exit_.value.code == 2
    assert "--dtype: make_app: dtypes names ['town']" in capsys.readouterr().err


def test_a_port_in_use_exits_1_saying_so_whatever_the_log_level(tmp_path, capsys):
    # uvicorn said it in its log alone: silent with --log-level critical.
    path = keraslearn.save(classifier(), tmp_path / "model.keraslearn")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exit_:
            main(["serve", str(path), "--port", str(port), "--log-level", "critical"])
    assert exit_.value.code == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in (
        capsys.readouterr().err)


def test_a_host_that_does_not_resolve_exits_1_naming_it_whatever_the_log_level(tmp_path,
                                                                              capsys):
    # uvicorn ended the process with status 3, saying so in its log alone.
    path = keraslearn.save(classifier(), tmp_path / "model.keraslearn")
    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(path), "--host", "nosuchhost.invalid", "--log-level", "critical"])
    assert exit_.value.code == 1
    assert "cannot listen on nosuchhost.invalid:8000" in capsys.readouterr().err


def test_an_address_of_another_kind_exits_1_naming_it_whatever_the_log_level(tmp_path,
                                                                             capsys):
    # found in an audit: a link-local address without its scope (EINVAL), or
    # ::1 where IPv6 is off, was left to uvicorn: status 3 after the warm-up,
    # and nothing at all said under --log-level critical.
    path = keraslearn.save(classifier(), tmp_path / "model.keraslearn")
    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(path), "--host", "fe80::1", "--port", "0", "--log-level", "critical"])
    assert exit_.value.code == 1
    assert "keraslearn serve: error: cannot listen on fe80::1:0: " in capsys.readouterr().err


def test_a_keras_backend_other_than_tensorflow_is_said_in_one_line(tmp_path):
    # found in an audit: KERAS_BACKEND=jax printed a traceback of some 30 lines
    path = tmp_path / "m.keraslearn"
    path.write_bytes(b"not read")
    run = subprocess.run([sys.executable, "-m", "keraslearn", "serve", str(path)],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "KERAS_BACKEND": "jax"})
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr[-2000:]
    assert "keraslearn serve: error: keraslearn runs Keras on TensorFlow" in run.stderr


def test_an_unfitted_model_exits_1_saying_it_is_not_fitted(tmp_path, capsys):
    # It was told the server takes rows of features, the model saying nothing of its own.
    path = keraslearn.save(MLPClassifier(), tmp_path / "unfitted.keraslearn")
    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(path)])
    assert exit_.value.code == 1
    assert "cannot be served: This MLPClassifier instance is not fitted yet" in (
        capsys.readouterr().err)


def test_make_server_refuses_an_empty_host_which_would_listen_everywhere():
    for host in ("", "  ", None):
        with pytest.raises(ValueError, match="give the address to listen on, '127.0.0.1'"):
            make_server(classifier(), host=host)


def test_a_shutdown_closes_a_connection_left_mid_request():
    # uvicorn waited for ever (its default) for a client that stopped sending
    # half-way through a body: Ctrl-C or SIGTERM never ended the server.
    server = make_server(classifier(), port=0, log_level="critical",
                         timeout_graceful_shutdown=1)
    thread, host, port = started(server)
    with socket.create_connection((host, port)) as stalled:
        stalled.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: "
                        b"application/json\r\nContent-Length: 100\r\n\r\n[[1,")
        time.sleep(0.2)
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive(), "the server waited for the stalled client"


def test_ctrl_c_while_loading_exits_130_without_a_traceback(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    path = tmp_path / "m.keraslearn"
    path.write_bytes(b"not read")
    monkeypatch.setattr(keraslearn, "load", interrupted)
    assert main(["serve", str(path)]) == 130


def test_the_log_level_quiets_the_servers_own_warnings():
    import logging

    logger = logging.getLogger("keraslearn.serving")
    try:
        make_server(classifier(), port=0, log_level="critical")
        assert logger.getEffectiveLevel() == logging.CRITICAL  # (refused requests: warnings)
        make_server(classifier(), port=0)
        assert logger.getEffectiveLevel() == logging.INFO
        logger.setLevel(logging.ERROR)  # the user's own setting stands
        make_server(classifier(), port=0, log_level="debug")
        assert logger.level == logging.ERROR
    finally:
        logger.setLevel(logging.NOTSET)
    with pytest.raises(ValueError, match="timeout_graceful_shutdown=-1: give a whole"):
        make_server(classifier(), timeout_graceful_shutdown=-1)


def test_make_server_leaves_the_users_log_handlers_open(tmp_path):
    # uvicorn's default logging config went through logging.config.dictConfig, which
    # closes every handler in the process: the user's log file got nothing more.
    import logging

    handler = logging.FileHandler(tmp_path / "app.log", mode="w")
    logger = logging.getLogger("the_users_app")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        make_server(classifier(), port=0)
        handlers = list(logging.getLogger("uvicorn").handlers)
        make_server(classifier(), port=0)  # (uvicorn's loggers get their handlers once)
        logger.info("after make_server")
        handler.flush()
        assert "after make_server" in (tmp_path / "app.log").read_text()
        assert logging.getLogger("uvicorn").handlers == handlers and handlers
    finally:
        logger.removeHandler(handler)
        handler.close()
    # A handler of the user's on uvicorn.error: no second one on uvicorn to print
    # each line twice.
    uvicorn_logger, error_logger = logging.getLogger("uvicorn"), logging.getLogger("uvicorn.error")
    kept = uvicorn_logger.handlers[:]
    mine = logging.NullHandler()
    try:
        uvicorn_logger.handlers = []
        error_logger.addHandler(mine)
        make_server(classifier(), port=0)
        assert uvicorn_logger.handlers == []
    finally:
        error_logger.removeHandler(mine)
        uvicorn_logger.handlers = kept


def test_run_on_a_port_in_use_raises_instead_of_exiting():
    # uvicorn's sys.exit(1) reached the caller: a notebook or script ended there.
    from keraslearn.serving import run

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"could not start on 127.0.0.1:{port}"):
            run(classifier(), port=port, log_level="critical")


def test_a_model_the_server_cannot_serve_exits_1_with_the_reason(tmp_path, capsys):
    # A traceback came out of make_app, as the server was being built.
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from keraslearn import ImageClassifier

    images = np.random.default_rng(0).random((8, 8, 8, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        network = ImageClassifier(conv_filters=(2,), dense_units=2, epochs=1,
                                  random_state=0).fit(images, [0, 1] * 4)
    cases = {"images.keraslearn": (network, "takes named inputs or images"),
             "scaler.keraslearn": (make_pipeline(StandardScaler()).fit(frame()[0]),
                                   "Pipeline has no predict method"),
             # found in an audit: told "the server takes rows of features, but dict
             # says nothing of its features" (make_app's own reason, said first now)
             "bundle.keraslearn": ({"model": classifier(), "note": "v1"},
                                   "dict has no predict method")}
    for name, (model, reason) in cases.items():
        path = keraslearn.save(model, tmp_path / name)
        with pytest.raises(SystemExit) as exit_:
            main(["serve", str(path)])
        assert exit_.value.code == 1
        error = capsys.readouterr().err
        assert error.startswith(f"keraslearn serve: error: {path} cannot be served: ")
        assert reason in error
    # Images are no rows, whatever --dtype says: the reason is not blamed on it.
    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(tmp_path / "images.keraslearn"), "--dtype", "0=string"])
    assert exit_.value.code == 1
    assert "cannot be served: " in capsys.readouterr().err


def test_serve_command_serves_an_exported_saved_model(tmp_path, capsys):
    model = classifier()
    X, _ = frame()
    path = keraslearn.export(model, tmp_path / "exported")
    with serve_command(path) as client:
        response = client.post("/predict", json=records(X.iloc[:20]))
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == model.predict(X.iloc[:20]).tolist()
        assert client.get("/metadata").json()["model"] == "keraslearn.ExportedModel"
    # found in an audit: its graph file was told "not a file written by keraslearn.save"
    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(path / "saved_model.pb")])
    assert exit_.value.code == 2
    assert (f"is a file of the SavedModel folder keraslearn.export wrote: give the folder, "
            f"{str(path)!r}") in capsys.readouterr().err


_CUSTOM_LAYER = '''
import keras


@keras.saving.register_keras_serializable(package="cli_test")
class Doubling(keras.layers.Layer):
    def call(self, x):
        return 2 * x
'''


def test_import_names_the_module_registering_custom_layers(tmp_path, monkeypatch):
    # found in an audit: a network using a registered custom layer could not be
    # served (load needs the module imported; nothing could import it)
    (tmp_path / "cli_custom_layers.py").write_text(_CUSTOM_LAYER)
    monkeypatch.syspath_prepend(str(tmp_path))
    import keras
    from cli_custom_layers import Doubling

    def build():
        model = keras.Sequential([keras.Input((2,)), Doubling(), keras.layers.Dense(1)])
        model.compile(loss="mse")
        return model

    X = np.random.default_rng(0).normal(size=(20, 2))
    path = keraslearn.save(keraslearn.KerasRegressor(build, epochs=1).fit(X, X[:, 0]),
                           tmp_path / "model.keraslearn")
    with socket.socket() as busy:  # (the command exits once loaded: the port is taken)
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        command = [sys.executable, "-m", "keraslearn", "serve", str(path), "--port",
                   str(busy.getsockname()[1])]
        done = subprocess.run(command + ["--import", "cli_custom_layers"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=240)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "already in use" in done.stderr, done.stderr  # loaded, then the port
    missing = subprocess.run(command + ["--import", "no_such_module_here"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=240)
    assert missing.returncode == 2
    assert "--import no_such_module_here: ModuleNotFoundError" in missing.stderr
    assert "--import takes a module's name" not in missing.stderr


def test_import_of_a_file_name_hints_at_the_module_name(tmp_path, capsys, monkeypatch):
    # found in an audit: Python's "No module named 'mylayers.py'; 'mylayers' is not
    # a package", alone
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "m.keraslearn"
    path.write_bytes(b"not read")
    for given in ("no_such_layers.py", f"lib{os.sep}no_such_layers.py"):
        with pytest.raises(SystemExit) as exit_:
            main(["serve", str(path), "--import", given])
        assert exit_.value.code == 2
        module = given.removesuffix(".py").replace(os.sep, ".")
        assert (f"(--import takes a module's name, as Python imports it: {module})"
                in capsys.readouterr().err)
    with pytest.raises(SystemExit):  # (found in review: not a dotted path of folders)
        main(["serve", str(path), "--import", str(tmp_path / "no_such_layers.py")])
    assert (f"as Python imports it: no_such_layers, run from {str(tmp_path)!r} or with it on "
            "PYTHONPATH)" in capsys.readouterr().err)



def test_the_command_finds_the_user_s_functions_in_the_working_folder(tmp_path, monkeypatch):
    # Found in an audit: `python -m keraslearn serve` found a FunctionTransformer's
    # function in the working folder's module, the `keraslearn` command did not
    # (ModuleNotFoundError), as only `python -m` puts that folder on the path.
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    (tmp_path / "cli_user_functions.py").write_text("def shift(X):\n    return X + 1.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from cli_user_functions import shift

    X = np.random.default_rng(0).normal(size=(30, 2))
    pipeline = make_pipeline(FunctionTransformer(shift), keraslearn.MLPRegressor(
        hidden_layer_sizes=(2,), max_iter=1, random_state=0))
    with pytest.warns(Warning):
        pipeline.fit(X, X[:, 0])
    path = keraslearn.save(pipeline, tmp_path / "p.keraslearn")
    for shadowing in ((), ("timeit", "shlex", "mimetypes")):
        # (found in review) the folder comes last: a file there named as a module
        # the server imports does not replace that module
        for name in shadowing:
            (tmp_path / f"{name}.py").write_text("raise ImportError('the folder shadowed it')\n")
        with socket.socket() as busy:  # (the command exits once loaded: the port is taken)
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            done = subprocess.run([str(EXECUTABLE), "serve", str(path), "--trusted",
                                   "cli_user_functions.shift", "--port",
                                   str(busy.getsockname()[1])],
                                  cwd=tmp_path, capture_output=True, text=True, timeout=240)
        assert done.returncode == 1 and "already in use" in done.stderr, done.stderr


def test_a_file_the_user_cannot_read_exits_1_naming_it(tmp_path, capsys, monkeypatch):
    # found in an audit: a PermissionError ended in a traceback (the tests run as
    # root, who reads any file: the refusal is load's, as the system gives it)
    import errno

    path = keraslearn.save(classifier(), tmp_path / "model.keraslearn")

    def unreadable(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(keraslearn, "load", unreadable)
    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(path)])
    assert exit_.value.code == 1
    assert capsys.readouterr().err == (f"keraslearn serve: error: cannot read {str(path)!r}: "
                                       "Permission denied\n")


def test_a_network_needing_custom_objects_is_told_to_import_their_module(tmp_path, capsys,
                                                                        monkeypatch):
    path = keraslearn.save(classifier(), tmp_path / "model.keraslearn")

    def unregistered(*args, **kwargs):  # (load's refusal, as a network of them gets it)
        raise ValueError("keraslearn.load refused it: ... must be registered with keras."
                         "saving.register_keras_serializable and imported before loading")

    monkeypatch.setattr(keraslearn, "load", unregistered)
    with pytest.raises(SystemExit) as exit_:
        main(["serve", str(path)])
    assert exit_.value.code == 1
    assert capsys.readouterr().err.rstrip().endswith(
        "(keraslearn serve: name the module registering them with --import MODULE)")
