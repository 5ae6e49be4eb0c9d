"""Writing an artifact so that a failure leaves nothing behind and loses nothing.

Everything is written into a hidden temporary directory beside the target,
then renamed into place (a rename within one directory is atomic). An
existing target is replaced only with ``overwrite=True``, only by an artifact
of the same kind (a SavedModel directory by a SavedModel, a file by a file),
a file in one rename (its path never goes missing), a directory moved aside
first, and either is put back if the final renames fail.
"""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from ..utils._files import check_new_files, user_path

# The suffixes naming another format's artifact.
_SUFFIXES = {".onnx": "onnx", ".tflite": "litert"}


def destinations(path, fmt):
    """The paths an export writes: the artifact, and for LiteRT its metadata file;
    a path whose suffix names another format is refused (a SavedModel folder
    named ``model.onnx`` fails later, in the runtime reading it)."""
    path = user_path(path)
    named = _SUFFIXES.get(path.suffix.lower())
    if named is not None and named != fmt:
        raise ValueError(
            f"Cannot export to {str(path)!r} with format={fmt!r}: the suffix "
            f"{path.suffix!r} names a {named!r} artifact. Give format={named!r}, or a "
            "path with the suffix of the format.")
    if fmt == "litert":
        return [path, metadata_sidecar(path)]
    return [path]


def metadata_sidecar(path):
    """Where the metadata of a LiteRT file goes: ``model.tflite`` -> ``model.tflite.json``."""
    return path.with_name(path.name + ".json")


def check_destinations(paths, fmt, overwrite):
    """Refuse what the export must not overwrite, before any work is done."""
    parent = paths[0].parent
    if not parent.is_dir():
        raise FileNotFoundError(
            f"Cannot export to {str(paths[0])!r}: {str(parent)!r} is not a directory."
        )

    def refusal(i, path):  # an artifact of the format only: a file, or a SavedModel
        if path.is_symlink():
            return "it is a symbolic link"
        if i == 0 and fmt == "tf_saved_model":
            if not (path / "saved_model.pb").is_file():
                if path.is_dir() and next(path.iterdir(), None) is None:
                    # (replacing it would rename it aside: a mount point, the working
                    # directory or a shared folder's permissions would not survive)
                    return ("it is an empty folder, not a SavedModel directory: the export "
                            "writes a folder of its own; remove it, or export to a path in it")
                return "it is not a SavedModel directory"
            others = sorted(p.name for p in path.iterdir() if p.name not in _SAVED_MODEL_PARTS)
            return None if not others else (  # (the whole folder is replaced)
                f"it holds {', '.join(map(repr, others[:5]))}"
                f"{f' and {len(others) - 5} more' if len(others) > 5 else ''}, not part of a "
                "SavedModel, which replacing it would delete; move them first")
        return None if path.is_file() else "it is not a file"

    check_new_files(paths, overwrite, refusal)


# What TensorFlow and Keras write in a SavedModel directory (keraslearn's
# metadata goes in assets.extra, TensorFlow's place for files beside a model).
_SAVED_MODEL_PARTS = {"saved_model.pb", "saved_model.pbtxt", "variables", "assets",
                      "assets.extra", "fingerprint.pb", "keras_metadata.pb", "debug"}


@contextlib.contextmanager
def staging(target):
    """A temporary directory beside ``target``, removed on exit whatever happens
    (named after the target's first 64 bytes: a name near the file system's
    limit of 255 bytes leaves no room for more, whatever its characters)."""
    short = os.fsencode(target.name)[:64].decode("utf-8", "ignore")
    tmp = Path(tempfile.mkdtemp(prefix=f".{short}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
    finally:
        # All of it, a Ctrl-C meanwhile raised once it is gone: it may hold a
        # whole copy of the artifact replaced.
        interrupted = None
        while True:
            try:
                shutil.rmtree(tmp, ignore_errors=True)
                break
            except KeyboardInterrupt as exc:
                interrupted = exc
        if interrupted is not None:
            raise interrupted


def staged_path(tmp, name):
    """Where the artifact named ``name`` is written in the staging folder
    ``tmp``: a folder of its own, which no working file of the export or the
    save, nor a replaced file set aside, shares whatever the name."""
    out = tmp / "artifacts"
    out.mkdir(exist_ok=True)
    return out / name
