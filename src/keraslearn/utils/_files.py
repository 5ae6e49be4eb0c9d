"""Checks made before writing files a user may already have, and writes that lose none of them."""

import contextlib
import errno
import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np


def user_path(path):
    """``path`` (str or path-like) as a Path, a leading ``~`` standing for the
    home folder as in a shell or pandas: a folder named ``~`` made in the
    working directory instead is one ``rm -rf ~`` away from losing it."""
    return Path(os.path.expanduser(os.fspath(path)))  # ("~draft": a name, as in pandas)


def check_output_dir(output_dir, *, drawn_by=None):
    """``output_dir`` as an absolute Path (None stays None: the paths of a report
    stay true after the working folder changes); an existing file there, one
    where a folder above it would have to be created, or a folder where no file
    can be created (tried: a hidden folder made and removed, with the folders
    above it that were missing), is refused before any work. When
    ``drawn_by`` (the caller's name) draws figures there, matplotlib is
    required, and its absence named with the extra that installs it."""
    if output_dir is None:
        return None
    output_dir = user_path(output_dir).absolute()
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"output_dir={str(output_dir)!r} exists and is not a directory.")
    above = next((p for p in output_dir.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise ValueError(f"output_dir={str(output_dir)!r} cannot be created: {str(above)!r} "
                         "is a file, not a directory.")
    _check_writable(output_dir)
    if drawn_by is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError as exc:
            raise ImportError(f"{drawn_by} draws its figures with matplotlib, which is not "
                              "installed: pip install 'keraslearn[plots]'") from exc
    return output_dir


def _missing_folders(folder):
    """``folder`` and the folders above it that do not exist, innermost first."""
    return [p for p in (folder, *folder.parents) if not (p.exists() or p.is_symlink())]


def _remove_folders(made):
    """Remove the folders ``made`` (innermost first; those never made skipped)
    until one is not empty."""
    for made_folder in made:
        try:
            made_folder.rmdir()
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                break


def _check_writable(folder):
    made = _missing_folders(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.rmdir(tempfile.mkdtemp(prefix=".keraslearn-", suffix=".tmp", dir=folder))
    except OSError as exc:  # (File exists: a link to nothing, as files there are refused)
        reason = ("a symbolic link on its path leads nowhere" if isinstance(
            exc, FileExistsError) else exc.strerror)
        raise OSError(exc.errno, f"output_dir={str(folder)!r} cannot be written: "
                                 f"{reason}") from None
    finally:
        _remove_folders(made)


def _not_a_regular_file(i, path):
    return ("it is a symbolic link" if path.is_symlink() else
            "it is not a regular file" if not path.is_file() else None)


_PAGE_KINDS = {"evaluation": "an evaluation report (evaluate's)",
               "drift report": "a drift report (drift_report's)"}


def not_a_page_of_another_report(kind):
    """A refusal for :func:`check_new_files` that, besides what it refuses by
    default, refuses the page of a report of another ``kind`` (as its title
    ends) of the same name: an evaluation's, for a drift report."""
    def refusal(i, path):
        reason = _not_a_regular_file(i, path)
        if reason or path.suffix != ".html":
            return reason
        try:
            with open(path, encoding="utf-8", errors="replace") as page:
                head = page.read(1 << 20)
        except OSError:
            return None  # (said as it fails, if it does, at the write)
        found = re.search(r": (evaluation|drift report)</title>", head)
        if found is None or found.group(1) == kind:
            return None
        return (f"it is the page of {_PAGE_KINDS[found.group(1)]} of the same name; give "
                f"this one another name or output_dir")
    return refusal


def check_overwrite(overwrite):
    """Refuse an ``overwrite`` that is not a bool: a string read from a
    configuration ("False") is true."""
    if not isinstance(overwrite, (bool, np.bool_)):
        raise TypeError(f"overwrite must be True or False, got {overwrite!r} "
                        f"({type(overwrite).__name__}).")


def check_new_files(paths, overwrite, refusal=_not_a_regular_file):
    """Refuse, before anything is written, to replace what exists at ``paths``.

    An existing path is replaced only with ``overwrite=True``, and only when
    ``refusal(i, path)`` (``paths[i]``) gives no reason against it: by default, when it
    is a regular file (never a directory or a symbolic link). ``overwrite`` must
    be a bool: a string read from a configuration ("False") is true.
    """
    check_overwrite(overwrite)
    for i, path in enumerate(paths):
        if not (path.exists() or path.is_symlink()):
            continue
        reason = refusal(i, path)  # (overwrite=True would not replace it: said first)
        if reason:
            raise FileExistsError(f"Refusing to replace {str(path)!r}: {reason}.")
        if not overwrite:
            raise FileExistsError(
                f"{str(path)!r} already exists; pass overwrite=True to replace it.")


SLUG_CHARACTERS = 100


def slug(text):
    """``text`` as a piece of a file name: runs of other characters become ``_``.
    A piece that lost more than spaces (``"acc>0.9"`` and ``"acc<0.9"``, a name
    partly in Cyrillic), or is longer than ``SLUG_CHARACTERS`` (cut: file systems
    take 255 bytes a name), is told apart from others made alike by a digest of
    the whole; one of none of those characters (a name in Chinese) is that digest."""
    text = str(text)
    piece = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.")
    if piece == re.sub(r"\s+", "_", text.strip()) and len(piece) <= SLUG_CHARACTERS:
        return piece  # (spaces alone: "house prices")
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{piece[:SLUG_CHARACTERS - 9].rstrip('_.')}_{digest}".lstrip("_")


@contextlib.contextmanager
def staged(paths):
    """Write the files ``paths`` (of one folder, made with its parents where
    missing) as a whole: the block writes each to ``stage[path]``, in a hidden
    folder beside them, and once it ends they are moved into place, in the
    order given (a page after its figures), a replaced file's permissions kept.
    Should the block fail or be interrupted, the folder is as it was (the
    folders made for it removed): a replaced report's files are not mixed with
    half of the new one's, and no file of the new one stands to refuse the
    next try (``check_new_files``).
    """
    folder = paths[0].parent
    made = _missing_folders(folder)
    stage = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".keraslearn-", suffix=".tmp", dir=folder))
        yield {path: stage / path.name for path in paths}
        aside = stage / ".previous"  # (a folder no file of the block is named after)
        aside.mkdir()
        # All or none: a failure or Ctrl-C among the renames puts the files they replaced back.
        commit([(stage / p.name, p) for p in paths if (stage / p.name).exists()], aside)
    except BaseException:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        _remove_folders(made)  # (one holding files stays)
        raise
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)


def commit(pairs, tmp, overwrite=True):
    """Rename each staged path onto its destination, all or none.

    ``pairs`` are (staged path, destination). An existing file is kept in
    ``tmp`` as a second link and replaced in one rename, so that its path never
    goes missing, by a file of the same permissions; an existing directory (a
    SavedModel) is moved into ``tmp`` first. Whatever was there is put back if
    a rename fails. Without ``overwrite``, a file is linked into place, which
    fails if another process made the destination since it was checked.
    """
    # Each move is recorded before it is made, and undone where it was made: a
    # Ctrl-C raised as a rename returns (before the next line) loses nothing.
    previous, placed = {}, []
    try:
        for i, (staged, final) in enumerate(pairs):
            placed.append((staged, final))
            if not overwrite and staged.is_file() and _linked(staged, final, exist_ok=False):
                staged.unlink()
                continue
            if final.exists() or final.is_symlink():
                if not overwrite:  # made meanwhile (a directory, or no hard links here)
                    raise FileExistsError(f"{str(final)!r} already exists; pass "
                                          "overwrite=True to replace it.")
                aside = tmp / f"previous-{i}"
                if final.is_file() and staged.is_file():
                    shutil.copymode(final, staged)  # a private file stays private
                previous[final] = aside
                if not (final.is_file() and _linked(final, aside)):
                    os.replace(final, aside)
            os.replace(staged, final)
    except BaseException:
        _undo(placed, previous)
        raise


def _undo(placed, previous):
    """Remove what :func:`commit` placed and put back what it moved aside,
    each step done once: a Ctrl-C meanwhile (pressed again) is raised once all
    is back, not halfway (the staging folder holding what was there is
    removed next)."""
    interrupted = None
    while placed or previous:
        try:
            while placed:
                staged, final = placed[-1]
                if _placed(staged, final) and (final not in previous or final.is_dir()):
                    _remove(final)
                placed.pop()
            while previous:
                final, aside = next(iter(previous.items()))
                if aside.exists() or aside.is_symlink():  # (moved or linked aside)
                    os.replace(aside, final)
                del previous[final]
        except KeyboardInterrupt as exc:
            interrupted = exc
    if interrupted is not None:
        raise interrupted


def _placed(staged, final):
    """Whether ``final`` is the artifact staged at ``staged`` (renamed, or
    linked and not yet unlinked there)."""
    if not (staged.exists() or staged.is_symlink()):
        return final.exists() or final.is_symlink()
    try:
        return os.path.samefile(staged, final)
    except OSError:
        return False


def _linked(path, link, exist_ok=True):
    """Whether a second link to the file ``path`` could be made at ``link``
    (a FileExistsError where ``link`` exists, unless ``exist_ok``)."""
    try:
        os.link(path, link)
    except FileExistsError:
        if exist_ok:
            return False
        raise FileExistsError(f"{str(link)!r} already exists; pass overwrite=True to "
                              "replace it.") from None
    except OSError:  # a file system without hard links: the file is moved aside
        return False
    return True


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def remove_unwritten(paths, written):
    """Delete the files of ``paths`` a report did not write this time (an
    earlier report of its name, replaced, drew figures this one does not:
    they would pass for this one's); only regular files, never a link."""
    for path in set(paths) - set(written):
        if path.is_file() and not path.is_symlink():
            path.unlink()
