"""The file ``keraslearn.save`` writes: one zip archive, checked whole before use.

Layout (format version 1)::

    manifest.json            what the archive holds, written first
    object.skops             the saved object, by skops (no pickle)
    drift_detector.skops     only when a drift detector was saved with it
    networks/0.keras, ...    each network, in Keras' .keras format

``manifest.json`` holds ``format`` ("keraslearn"), ``format_version``, the
versions of the libraries that wrote it, the type of the object, the networks
(member, owning estimator class, attribute), the code the object refers to by
name, and the size and SHA-256 of every other member. Reading checks, before
anything is rebuilt: that the file is a zip archive, the format and its
version, that the members are exactly those the manifest lists, and their
sizes and digests (and the zip's own CRC-32). A truncated or altered file is a
ValueError; nothing of it is loaded.

The digests detect damage, not an attacker who rewrites the manifest too:
that is what the trust check of skops and Keras' ``safe_mode`` are for.
"""

import hashlib
import json
import os
import zipfile
import zlib
from pathlib import Path

from ..utils._files import check_new_files

FORMAT = "keraslearn"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
OBJECT = "object.skops"
DRIFT_DETECTOR = "drift_detector.skops"


def versions():
    """The versions of the libraries a file is written with."""
    import platform

    import keras
    import numpy
    import sklearn
    import skops
    import tensorflow as tf

    from .. import __version__

    return {"keraslearn": __version__, "python": platform.python_version(),
            "keras": keras.__version__, "tensorflow": tf.__version__,
            "scikit-learn": sklearn.__version__, "skops": skops.__version__,
            "numpy": numpy.__version__}


def check_destination(path, overwrite):
    """Refuse what a save must not replace, before any work is done."""
    parent = path.parent
    if not parent.is_dir():
        raise FileNotFoundError(
            f"Cannot save to {str(path)!r}: {str(parent)!r} is not a directory."
        )
    check_new_files([path], overwrite)


def write(target, manifest, members):
    """Write the archive at ``target``: the manifest (completed with each
    member's size and digest) first, then ``members`` ({name: bytes or Path})."""
    blobs = {name: value if isinstance(value, bytes) else Path(value).read_bytes()
             for name, value in members.items()}
    manifest = {**manifest, "members": {
        name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in blobs.items()}}
    with open(target, "wb") as handle:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
            for name, data in blobs.items():
                archive.writestr(name, data)
        handle.flush()
        os.fsync(handle.fileno())


def read(path):
    """(manifest, {member: bytes}) of a file, checked whole; a ValueError for
    anything that is not an intact archive of a format version this keraslearn reads."""
    name, head = str(path), b""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
        if not head.startswith(b"PK"):  # (zipfile finds an archive inside another file:
            raise zipfile.BadZipFile("File is not a zip file")  # a pickle's network's)
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as exc:
        if head[:1] == b"\x80":
            raise ValueError(
                f"{name!r} is not a file written by keraslearn.save: it is a pickle "
                "(pickle.dump, joblib.dump). Load it with joblib.load or pickle.load, and "
                "only from a source you trust: unpickling runs the code the file names."
            ) from None
        raise ValueError(
            f"{name!r} is not a file written by keraslearn.save, or it is truncated or "
            f"damaged (not a readable zip archive: {exc})."
        ) from None
    with archive:
        try:
            manifest = json.loads(_read_member(archive, MANIFEST, name))
        except KeyError:
            names = set(archive.namelist())
            hint = (" It is a Keras model file: load it with keras.saving.load_model."
                    if {"config.json", "metadata.json"} <= names else
                    " It is a skops file: load it with skops.io.load." if "schema.json" in names
                    else "")
            raise ValueError(
                f"{name!r} is not a file written by keraslearn.save: it has no {MANIFEST}.{hint}"
            ) from None
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ValueError(f"{name!r} is damaged: its {MANIFEST} is not JSON ({exc}).") from None
        _check_format(manifest, name)
        listed = manifest.get("members")
        if not isinstance(listed, dict):
            raise ValueError(f"{name!r} is damaged: its {MANIFEST} lists no members.")
        present = set(archive.namelist()) - {MANIFEST}
        if present != set(listed):
            missing, extra = sorted(set(listed) - present), sorted(present - set(listed))
            raise ValueError(
                f"{name!r} is damaged or was altered: members missing {missing}, members "
                f"not in its manifest {extra}."
            )
        members = {}
        for member, expected in sorted(listed.items()):
            info = archive.getinfo(member)
            if not isinstance(expected, dict) or info.file_size != expected.get("size"):
                raise ValueError(f"{name!r} is damaged or was altered: {member} has the wrong "
                                 "size.")
            data = _read_member(archive, member, name)
            if hashlib.sha256(data).hexdigest() != expected.get("sha256"):
                raise ValueError(
                    f"{name!r} is damaged or was altered: the SHA-256 digest of {member} "
                    "differs from the one recorded when it was saved."
                )
            members[member] = data
    return manifest, members


def _read_member(archive, member, name):
    try:
        return archive.read(member)
    except KeyError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, RuntimeError,
            NotImplementedError) as exc:
        raise ValueError(
            f"{name!r} is truncated or damaged: {member} cannot be read ({exc})."
        ) from None


def written_by(manifest):
    """The keraslearn version a manifest records (None if it records none)."""
    versions = manifest.get("versions")
    written = versions.get("keraslearn") if isinstance(versions, dict) else None
    return str(written) if written else None


def _check_format(manifest, name):
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{name!r} is not a file written by keraslearn.save (its {MANIFEST} "
                         f"does not say format {FORMAT!r}).")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{name!r} is damaged: its format_version is {version!r}.")
    if version > FORMAT_VERSION:
        from .. import __version__

        written = written_by(manifest)
        raise ValueError(
            f"{name!r} has format version {version}, written by "
            f"{'keraslearn ' + written if written else 'a newer keraslearn'}; this "
            f"keraslearn ({__version__}) reads format versions up to {FORMAT_VERSION}. "
            "Upgrade keraslearn to load it."
        )
