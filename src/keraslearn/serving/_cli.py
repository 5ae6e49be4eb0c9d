"""The ``keraslearn`` console script: ``keraslearn serve PATH [--host] [--port] ...``.

PATH is what ``keraslearn.save`` wrote, read with ``keraslearn.load`` (types
beyond the default ones only when named with ``--trusted``), or a SavedModel
directory ``keraslearn.export`` wrote, read as an :class:`ExportedModel`; it is
served with
:func:`keraslearn.serving.run`, on 127.0.0.1 unless ``--host`` says otherwise. A
drift detector saved with the model (``keraslearn.save(model, path,
drift_detector=detector)``) answers ``GET /monitoring/drift``.
"""

import argparse
import signal
import socket
import sys
import threading

from ..utils._files import user_path


def build_parser():
    """The argument parser of the ``keraslearn`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(prog="keraslearn", description="keraslearn's command line.")
    from .._version import __version__

    parser.add_argument("--version", action="version", version=f"keraslearn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="serve a saved model over HTTP",
        description="Serve a model saved with keraslearn.save over HTTP: POST /predict, "
                    "/predict_proba and /invocations (MLflow's scoring protocol); GET /health, "
                    "/metadata, and /monitoring/drift when a drift detector was saved with it.")
    serve.add_argument("path", metavar="PATH",
                       help="what keraslearn.save wrote, or a SavedModel keraslearn.export wrote")
    serve.add_argument("--host", type=_host, default="127.0.0.1",
                       help="address to bind (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=_port, default=8000,
                       help="port (default: 8000); 0 takes a free one, whose address is "
                            "printed on standard output once it listens")
    serve.add_argument("--max-batch-rows", type=_positive_int, default=256,
                       help="most rows in one model call; a larger request runs alone "
                            "(default: 256)")
    serve.add_argument("--max-wait-ms", type=_wait, default=2.0,
                       help="how long a request may wait to share a model call (default: 2)")
    serve.add_argument("--max-body-bytes", type=_positive_int, default=4 * 2**20,
                       help="larger request bodies get a 413 (default: 4194304)")
    serve.add_argument("--trusted", action="append", default=[], metavar="TYPE",
                       help="a type the file holds to trust beyond the defaults (repeat for "
                            "several; keraslearn.get_untrusted_types(PATH) lists them)")
    serve.add_argument("--import", action="append", default=[], dest="imports",
                       metavar="MODULE",
                       help="a module to import before loading, from the working directory "
                            "or the Python path: one registering the custom Keras layers, "
                            "losses or metrics the networks use (repeat for several)")
    serve.add_argument("--dtype", action="append", default=[], type=_dtype_pair,
                       metavar="COLUMN=DTYPE",
                       help="what a column takes: string, int64, bool, float32, ... (repeat "
                            "for several; a column index for a model fitted without names). "
                            "A column not named is a number, or a string where the model's "
                            "first step learnt strings from it")
    serve.add_argument("--drift-window", type=_positive_int, default=1000,
                       help="recent rows a saved drift detector tests (default: 1000)")
    serve.add_argument("--log-level", default="info",
                       choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument("--timeout-graceful-shutdown", type=_seconds, default=10,
                       metavar="SECONDS", help="how long a shutdown waits for open "
                       "connections before closing them (default: 10)")
    return parser


def main(argv=None):
    """Run the ``keraslearn`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        The exit status: 0, or 130 after Ctrl-C (SIGINT) stopped the server. A
        stop by SIGTERM shuts the server down as gracefully, then ends the
        process by that signal (status 143 in a shell), as uvicorn does.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _serve(parser, args)
    except KeyboardInterrupt:  # Ctrl-C while loading, or once uvicorn has shut down
        return 130


def _serve(parser, args):
    path = user_path(args.path)
    if not path.exists():
        parser.exit(2, f"keraslearn serve: error: {str(path)!r} does not exist (PATH is what "
                       f"keraslearn.save or keraslearn.export wrote)\n")
    if path.suffix.lower() in (".onnx", ".tflite"):  # also keraslearn.export's formats
        parser.exit(2, f"keraslearn serve: error: {str(path)!r} is a {path.suffix} file, "
                       "which onnxruntime or LiteRT serve; keraslearn serve takes what "
                       "keraslearn.save wrote, or a SavedModel folder keraslearn.export "
                       "wrote\n")
    from ._server import _require

    try:  # before loading TensorFlow and the model, which take a while
        _require("starlette"), _require("uvicorn")
    except ImportError as exc:
        parser.exit(1, f"keraslearn serve: error: {exc}\n")
    _import_modules(parser, args.imports)
    try:  # (Keras on another backend: said in a line, not a traceback)
        from keraslearn import load

        from .._persistence._trust import UntrustedTypesError
        from . import ExportedModel, make_server
        from ._exported import is_exported
    except ImportError as exc:
        parser.exit(1, f"keraslearn serve: error: {exc}\n")
    if path.name == "saved_model.pb" and is_exported(path.parent):
        parser.exit(2, f"keraslearn serve: error: {str(path)!r} is a file of the SavedModel "
                       f"folder keraslearn.export wrote: give the folder, "
                       f"{str(path.parent)!r}\n")

    try:
        if is_exported(path):
            model, detector = ExportedModel(path), None
        else:
            model, detector = load(path, trusted=args.trusted or None,
                                   return_drift_detector=True)
    except UntrustedTypesError as exc:  # said in the command line's words
        parser.exit(1, f"keraslearn serve: error: {path} holds {len(exc.types)} type(s) "
                       f"that are not trusted by default: {exc.types}. Loading them could "
                       "run their code. If you trust where the file comes from, name each "
                       f"with --trusted TYPE.{exc.version_hint}\n")
    except OSError as exc:  # (a file or folder the user cannot read: no traceback)
        parser.exit(1, f"keraslearn serve: error: cannot read {str(path)!r}: "
                       f"{exc.strerror or exc}\n")
    except ValueError as exc:  # damaged, newer, custom objects: the message says which
        hint = (" (keraslearn serve: name the module registering them with --import "
                "MODULE)" if "register_keras_serializable" in str(exc) else "")
        parser.exit(1, f"keraslearn serve: error: {exc}{hint}\n")
    from ._schema import FeatureSchema

    def cannot_serve(exc):
        parser.exit(1, f"keraslearn serve: error: {path} cannot be served: {exc}\n")

    if not callable(getattr(model, "predict", None)):  # (what make_app says: before its columns)
        cannot_serve(f"{type(model).__name__} has no predict method")
    dtypes = _dtypes(model, args.dtype)
    try:  # read once here, said before serving
        FeatureSchema.from_model(model, dtypes=dtypes)
    except (TypeError, ValueError) as exc:
        if dtypes is not None:  # rows it cannot read at all (images): not --dtype's fault
            try:
                FeatureSchema.from_model(model)
            except (TypeError, ValueError) as plain:
                cannot_serve(plain)
            # a column the model does not take, a dtype it cannot
            parser.exit(2, f"keraslearn serve: error: --dtype: {exc}\n")
        cannot_serve(exc)
    listening = _listen(parser, args.host, args.port)
    if listening is not None and args.port != 0:  # (uvicorn listens on every address
        listening.close()                            # the host names)
        listening = None
    # uvicorn stops gracefully on SIGINT whatever its disposition, then sends
    # it again once the handlers it replaced are back: Python's own handler
    # makes that a KeyboardInterrupt even where the process was started with
    # SIGINT ignored (a background job of a shell script), so a stop by SIGINT
    # always exits 130.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        try:  # make_app's own refusals (no predict, a drift detector of other columns)
            server = make_server(
                model, args.host, args.port, max_batch_rows=args.max_batch_rows,
                max_wait_ms=args.max_wait_ms, max_body_bytes=args.max_body_bytes,
                log_level=args.log_level, access_log=args.access_log, drift_detector=detector,
                drift_window=args.drift_window, dtypes=dtypes,
                timeout_graceful_shutdown=args.timeout_graceful_shutdown)
        except (TypeError, ValueError) as exc:
            cannot_serve(exc)
        sockets = None
        if listening is not None:  # the port the system chose, said whatever --log-level
            sockets = [listening]
            host, port = listening.getsockname()[:2]
            print(f"keraslearn serve: listening on http://{f'[{host}]' if ':' in host else host}"
                  f":{port}", flush=True)
        server.run(sockets)  # (Ctrl-C: uvicorn shuts down gracefully, then raises it again)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if listening is not None:
            listening.close()
    return 0


def _import_modules(parser, names):
    """Import the modules ``--import`` names, the working directory on the path
    first, as uvicorn finds an app. Without ``--import`` it is on the path too,
    last (a file there named as a module the server imports does not replace
    it), where a saved file's functions are found, as ``python -m keraslearn``
    finds them."""
    import importlib
    import os

    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd()) if names else sys.path.append(os.getcwd())
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # (its own error too: the module ran)
            module = name.removesuffix(".py").replace(os.sep, ".").strip(".")
            if os.path.isabs(name):  # (a file elsewhere: its name, from its folder)
                module = (f"{os.path.basename(name).removesuffix('.py')}, run from "
                          f"{os.path.dirname(name)!r} or with it on PYTHONPATH")
            hint = (f" (--import takes a module's name, as Python imports it: {module})"
                    if isinstance(exc, ImportError) and (name.endswith(".py") or os.sep in name)
                    else "")
            parser.exit(2, f"keraslearn serve: error: --import {name}: "
                           f"{type(exc).__name__}: {exc}{hint}\n")


def _listen(parser, host, port):
    """A socket listening on the address; exit 1 saying why where it cannot be
    listened on (a port in use, a name that does not resolve, an address of
    another kind than the machine's): uvicorn says so in its log alone, which
    --log-level may silence, after the model's warm-up, and exits 3."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        parser.exit(1, f"keraslearn serve: error: cannot listen on {host}:{port}: "
                       f"{exc.strerror or exc}\n")


def _dtype_pair(text):
    column, sep, dtype = text.rpartition("=")
    if not (sep and column and dtype):
        raise argparse.ArgumentTypeError(f"{text!r} is not COLUMN=DTYPE (e.g. city=string)")
    return column, dtype


def _dtypes(model, pairs):
    """``--dtype`` pairs as make_app's ``dtypes``: keyed by column name, or by
    index for a model fitted without names."""
    if not pairs:
        return None
    from ..utils._first_steps import fitted_features

    named = fitted_features(model)[0] is not None
    return {column if named or not column.isdigit() else int(column): dtype
            for column, dtype in pairs}


def _host(text):
    if not text.strip():  # (an unset variable, "$HOST"): uvicorn would listen everywhere
        raise argparse.ArgumentTypeError(
            "empty: give the address to listen on (0.0.0.0 for every interface)")
    return text


def _port(text):
    value = _int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535)")
    return value


def _positive_int(text):
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _seconds(text):
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more)")
    return value


def _wait(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 60_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a wait in milliseconds (0 to 60000)")
    return value


def _int(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


if __name__ == "__main__":
    sys.exit(main())
