"""Read a folder-per-class tree of images: :func:`load_image_folder`."""

import contextlib
import hashlib
import json
import os
import sys
import uuid
from pathlib import Path

import numpy as np

from ..preprocessing._image import (
    _check_color_mode,
    _check_dtype,
    _check_target_size,
    _load_into,
)
from ..utils._files import _missing_folders, _remove_folders, user_path

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
_CACHE_FORMAT = 1  # bump when the content or layout of cache files changes


def _check_extensions(extensions):
    if isinstance(extensions, str):
        extensions = (extensions,)
    exts = tuple(extensions)
    if not exts or not all(isinstance(e, str) and e.strip(".") for e in exts):
        raise ValueError(
            f"extensions must be file extensions such as '.png', got {extensions!r}."
        )
    return tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in exts)


def _scan(root, extensions):
    """Return the sorted relative POSIX paths ``<class>/<...>/<file>`` of images."""
    if not root.exists():
        raise ValueError(f"Image folder {str(root)!r} does not exist.")
    if not root.is_dir():
        raise ValueError(f"Image folder {str(root)!r} is not a directory.")
    classes = sorted(
        e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith(".")
    )
    if not classes:
        raise ValueError(
            f"Image folder {str(root)!r} has no class sub-folders; expected "
            "one sub-folder of images per class."
        )
    relpaths = []
    for name in classes:
        found = []
        for dirpath, dirnames, filenames in os.walk(root / name):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel_dir = Path(dirpath).relative_to(root).as_posix()
            found.extend(
                f"{rel_dir}/{f}"
                for f in filenames
                if not f.startswith(".")
                and os.path.splitext(f)[1].lower() in extensions
            )
        if not found:
            raise ValueError(
                f"Class folder {str(root / name)!r} has no image files with "
                f"extensions {extensions}."
            )
        relpaths.extend(sorted(found))
    if len(classes) < 2:
        raise ValueError(
            f"Image folder {str(root)!r} has only one class ({classes[0]!r}); "
            "a classification data set needs at least 2 class sub-folders."
        )
    return relpaths


def _fingerprint(root, relpaths, options):
    """Hash the file list, sizes and modification times, and the options."""
    digest = hashlib.sha256(
        json.dumps({"format": _CACHE_FORMAT, **options}, sort_keys=True).encode()
    )
    for rel in relpaths:
        st = os.stat(root / rel)
        # (a name that is not UTF-8 on disk, kept by Python as surrogates, too)
        digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode(
            "utf-8", "surrogateescape"))
    return digest.hexdigest()


_CACHE_KEYS = {"pixels", "paths", "fingerprint"}


def _read_cache(cache, fingerprint, relpaths):
    """Return the cached pixels, or None if the cache is absent or stale. A
    file there that is not such a cache (the user's own) is refused, never
    replaced: caches are written atomically, so none is left half-written."""
    if not cache.exists():
        return None
    try:
        with np.load(cache, allow_pickle=False) as data:
            if set(data.files) != _CACHE_KEYS:
                raise ValueError("other arrays")
            if str(data["fingerprint"]) != fingerprint or data["paths"].tolist() != relpaths:
                return None
            return data["pixels"]
    except (PermissionError, IsADirectoryError, MemoryError):
        raise  # what they say is true
    except Exception:  # noqa: BLE001 - whatever NumPy makes of a file it cannot read
        raise ValueError(
            f"cache {str(cache)!r} exists and is not an image cache that load_image_folder "
            "wrote; it is left as it is. Give another path, or remove the file."
        ) from None


@contextlib.contextmanager
def _cache_writer(cache):
    """Yield ``write(pixels, relpaths, fingerprint)``, which writes the cache
    to a temporary file beside it and moves it into place atomically. The file
    is opened on entering, before the images are decoded: a folder that cannot
    be made or written is named before that work. A no-op without a cache."""
    if cache is None:
        yield lambda *args: None
        return
    tmp = cache.with_name(f".{cache.stem[:64]}.{uuid.uuid4().hex[:12]}.tmp")
    made = _missing_folders(cache.parent)  # (removed again if the load fails)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        handle = open(tmp, "xb")
    except OSError as exc:
        _remove_folders(made)
        if isinstance(exc, (FileExistsError, NotADirectoryError)):  # a file above it
            why = f"{str(next(p for p in cache.parents if p.exists()))!r} is a file, not a folder"
        else:
            why = exc.strerror if exc.filename is None else f"{exc.strerror}: {exc.filename!r}"
        raise type(exc)(exc.errno, f"cache={str(cache)!r} cannot be written ({why})") from None

    def write(pixels, relpaths, fingerprint):
        np.savez(handle, pixels=pixels, paths=np.array(relpaths, dtype=str),
                 fingerprint=np.array(fingerprint))
        handle.close()
        os.replace(tmp, cache)

    try:
        with handle:
            yield write
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        _remove_folders(made)
        raise


@contextlib.contextmanager
def _progress(total, enabled):
    """Yield a ``report(done)`` callback (tqdm if installed, else stderr), or None."""
    if not enabled:
        yield None
        return
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        with tqdm(total=total, desc="Loading images", unit="img") as bar:
            yield lambda done: bar.update(done - bar.n)
        return
    step = max(1, total // 10)

    def report(done):
        if done % step == 0 or done == total:
            print(
                f"Loading images: {done}/{total} ({100 * done // total}%)",
                file=sys.stderr,
                flush=True,
            )

    yield report


def load_image_folder(
    path,
    *,
    target_size=None,
    color_mode="rgb",
    scale=True,
    dtype="float32",
    return_paths=False,
    extensions=IMAGE_EXTENSIONS,
    cache=None,
    verbose=False,
):
    """Read a folder-per-class tree of images into ``(X, y)``.

    The folder holds one sub-folder per class, ``path/<class_name>/``, with
    the image files of that class (nested folders are searched too). Hidden
    files and folders (names starting with ``"."``) and files with other
    extensions are skipped. Samples are sorted by class name, then by file
    path, so the order does not depend on the file system.

    Parameters
    ----------
    path : str or path-like
        The root folder.

    target_size : tuple of (int, int), default=None
        ``(height, width)`` to resize images to. If None, the images are not
        read and ``X`` holds their paths (to feed an
        :class:`~keraslearn.preprocessing.ImageLoader` later); otherwise
        ``X`` holds the decoded images.

    color_mode : {"rgb", "grayscale"}, default="rgb"
        Channels of the loaded images. Ignored when ``target_size`` is None.

    scale : bool, default=True
        Scale pixel values to [0, 1]. Ignored when ``target_size`` is None.

    dtype : str or numpy dtype, default="float32"
        Type of the loaded images. Ignored when ``target_size`` is None.

    return_paths : bool, default=False
        Also return the paths of the images as a third element.

    extensions : str or sequence of str, default=IMAGE_EXTENSIONS
        File extensions (case-insensitive) counted as images:
        ``.bmp .gif .jpeg .jpg .png .tif .tiff .webp`` by default.

    cache : str or path-like, default=None
        A ``.npz`` file keeping the decoded images between calls. It is used
        when it matches the folder (same files, sizes and modification times)
        and ``target_size`` and ``color_mode``; otherwise it is rebuilt,
        written atomically. A file there that is not such a cache is refused
        (ValueError), never replaced. ``scale`` and ``dtype`` are applied after the
        cache, so changing them reuses it. Requires ``target_size``.

    verbose : bool, default=False
        Show progress while reading images: a tqdm bar when tqdm is
        installed, otherwise lines on standard error.

    Returns
    -------
    X : ndarray of shape (n_images,) or (n_images, height, width, n_channels)
        The image paths (str) if ``target_size`` is None, else the images.

    y : ndarray of shape (n_images,)
        The class names (str): the sub-folder of each image.

    paths : ndarray of shape (n_images,)
        The image paths (str). Only returned when ``return_paths=True``.

    See Also
    --------
    keraslearn.preprocessing.ImageLoader : Load image paths into arrays.
    keraslearn.datasets.make_digits_image_folder : Write a demo image folder.

    Examples
    --------
    >>> import tempfile
    >>> from keraslearn.datasets import load_image_folder, make_digits_image_folder
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = make_digits_image_folder(tmp.name, max_per_class=5)
    >>> paths, y = load_image_folder(folder)
    >>> paths.shape, y[:3].tolist(), str(y[-1])
    ((46,), ['0', '0', '0'], '9')
    >>> X, y = load_image_folder(folder, target_size=(16, 16), color_mode="grayscale")
    >>> X.shape, X.dtype, float(X.max()) <= 1.0
    ((46, 16, 16, 1), dtype('float32'), True)
    >>> tmp.cleanup()
    """
    root = user_path(path)
    exts = _check_extensions(extensions)
    if target_size is not None:
        size = _check_target_size(target_size)
        pil_mode, n_channels = _check_color_mode(color_mode)
        out_dtype = _check_dtype(dtype, scale)
    if cache is not None:
        cache = user_path(cache)
        if target_size is None:
            raise ValueError(
                "cache requires target_size: only decoded images are cached."
            )
        if cache.suffix != ".npz":
            raise ValueError(
                f"cache must be a path ending in '.npz', got {str(cache)!r}."
            )

    relpaths = _scan(root, exts)
    paths = np.array([str(root / rel) for rel in relpaths])
    y = np.array([rel.split("/", 1)[0] for rel in relpaths])
    if target_size is None:
        return (paths, y, paths) if return_paths else (paths, y)

    pixels = fingerprint = None
    if cache is not None:
        options = {"target_size": list(size), "color_mode": color_mode}
        fingerprint = _fingerprint(root, relpaths, options)
        pixels = _read_cache(cache, fingerprint, relpaths)
        if verbose:
            state = "using it" if pixels is not None else (
                "rebuilding it" if cache.exists() else "creating it"
            )
            print(f"Image cache {str(cache)!r}: {state}.", file=sys.stderr, flush=True)
    if pixels is None:
        with _cache_writer(cache) as write_cache:
            pixels = np.empty((len(relpaths), *size, n_channels), dtype=np.uint8)
            with _progress(len(relpaths), verbose) as report:
                _load_into(pixels, paths, pil_mode, size, progress=report)
            write_cache(pixels, relpaths, fingerprint)

    X = pixels.astype(out_dtype, copy=False)
    if scale:
        X /= 255
    return (X, y, paths) if return_paths else (X, y)
