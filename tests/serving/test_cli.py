"""The ``keraslearn`` console script: its arguments, and its refusal of a missing PATH.

Serving a saved model end to end waits for ``keraslearn.load``; these tests
cover what the command does before it loads anything.
"""

import inspect
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from keraslearn.serving import make_app
from keraslearn.serving._cli import build_parser, main


def test_defaults_bind_loopback_and_match_make_app():
    args = build_parser().parse_args(["serve", "model.keraslearn"])
    assert (args.command, args.path, args.host, args.port) == ("serve", "model.keraslearn",
                                                               "127.0.0.1", 8000)
    defaults = inspect.signature(make_app).parameters
    for option in ("max_batch_rows", "max_wait_ms", "max_body_bytes"):
        assert getattr(args, option) == defaults[option].default, option
    assert args.access_log is False


def test_options_are_parsed():
    args = build_parser().parse_args(["serve", "m", "--host", "0.0.0.0", "--port", "9001",
                                      "--max-batch-rows", "64", "--max-wait-ms", "0.5",
                                      "--max-body-bytes", "1024", "--log-level", "warning",
                                      "--access-log"])
    assert (args.host, args.port, args.max_batch_rows, args.max_wait_ms, args.max_body_bytes,
            args.log_level, args.access_log) == ("0.0.0.0", 9001, 64, 0.5, 1024, "warning", True)


@pytest.mark.parametrize("argv, words", [
    (["serve", "m", "--port", "99999"], "'99999' is not a port"),
    (["serve", "m", "--port", "http"], "'http' is not an integer"),
    (["serve", "m", "--max-batch-rows", "0"], "'0' is not a positive integer"),
    (["serve", "m", "--max-wait-ms", "nan"], "'nan' is not a wait"),
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


def test_console_script_is_installed_and_refuses_a_missing_path(tmp_path):
    (script,) = entry_points(group="console_scripts", name="keraslearn")
    assert script.load() is main
    executable = Path(sys.executable).parent / "keraslearn"
    missing = tmp_path / "model"
    done = subprocess.run([str(executable), "serve", str(missing)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert f"'{missing}' does not exist" in done.stderr
