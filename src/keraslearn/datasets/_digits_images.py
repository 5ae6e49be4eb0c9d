"""Write scikit-learn's bundled digits as an image folder: a small demo data set."""

import io
import numbers
import shutil

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state

from ..utils._files import check_overwrite, user_path

_N_CLASSES = 10


def _check_int(value, name, minimum, maximum=None, allow_none=False):
    if value is None and allow_none:
        return None
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, bool)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        if maximum is None:
            bounds = f">= {minimum}"
        else:
            bounds = f"between {minimum} and {maximum}"
        none = " or None" if allow_none else ""
        raise ValueError(f"{name} must be an integer {bounds}{none}, got {value!r}.")
    return int(value)


def _select(target, small_class, small_fraction, max_per_class, rng):
    """Return ``{class_name: sorted sample indices}`` of the images to write."""
    selected = {}
    for digit in range(_N_CLASSES):
        idx = np.flatnonzero(target == digit)
        n_keep = len(idx) if max_per_class is None else min(len(idx), max_per_class)
        if digit == small_class:
            n_keep = max(1, int(round(small_fraction * n_keep)))
        if n_keep < len(idx):
            idx = np.sort(rng.choice(idx, size=n_keep, replace=False))
        selected[str(digit)] = idx
    return selected


def _png_bytes(image, image_size, color_mode):
    """Encode one 8x8 digit (values 0-16) as a PNG of image_size x image_size."""
    pixels = np.rint(image * (255 / 16)).clip(0, 255).astype(np.uint8)
    img = Image.fromarray(pixels)  # mode "L"
    img = img.resize((image_size, image_size), resample=Image.Resampling.BICUBIC)
    if color_mode == "rgb":
        img = img.convert("RGB")
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def make_digits_image_folder(
    path,
    *,
    image_size=32,
    color_mode="grayscale",
    small_class=9,
    small_fraction=0.2,
    max_per_class=None,
    random_state=0,
    overwrite=False,
):
    """Write the digits of :func:`sklearn.datasets.load_digits` as PNG files.

    The 1,797 bundled 8x8 digits (no download) are upscaled and written to
    ``path/<digit>/<index>.png``, one sub-folder per class ``"0"`` to
    ``"9"``, ready for :func:`load_image_folder`. One class keeps only a
    fraction of its images, so the folder stands in for an imbalanced photo
    collection. Digits are light on a dark background, like MNIST.

    Calling it again with the same arguments, ``random_state`` an int, writes
    nothing new: files that already hold the right image are left untouched
    (so a :func:`load_image_folder` cache stays valid). With ``random_state``
    None (or a ``RandomState`` instance) each call draws other images.

    Parameters
    ----------
    path : str or path-like
        Folder to write to; created if missing. It may hold only the digit
        class folders (and hidden files).

    image_size : int, default=32
        Width and height of the written images, in pixels.

    color_mode : {"grayscale", "rgb"}, default="grayscale"
        Write one-channel (``L``) or three-channel (``RGB``) PNG files.

    small_class : int or None, default=9
        The digit whose class is shrunk; None keeps every class whole.

    small_fraction : float, default=0.2
        Fraction of ``small_class`` images kept (at least one), in (0, 1].

    max_per_class : int or None, default=None
        Keep at most this many images per class (before shrinking
        ``small_class``), for a quick demo. None keeps them all (about 180).

    random_state : int, RandomState instance or None, default=0
        Chooses which images are kept when a class is cut down.

    overwrite : bool, default=False
        Delete files in the digit class folders that this call would not
        write, and replace those of its names that hold other bytes (left by
        a call with other arguments, or edited since). If False, such files
        raise a ValueError and nothing is written.

    Returns
    -------
    path : pathlib.Path
        The folder written.

    See Also
    --------
    keraslearn.datasets.load_image_folder : Read the folder back.

    Examples
    --------
    >>> import tempfile
    >>> from keraslearn.datasets import load_image_folder, make_digits_image_folder
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = make_digits_image_folder(tmp.name, image_size=16)
    >>> sorted(p.name for p in folder.iterdir())
    ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']
    >>> _, y = load_image_folder(folder)
    >>> int((y == "0").sum()), int((y == "9").sum())
    (178, 36)
    >>> tmp.cleanup()
    """
    image_size = _check_int(image_size, "image_size", 1)
    if color_mode not in ("grayscale", "rgb"):
        raise ValueError(
            f"color_mode must be one of ['grayscale', 'rgb'], got {color_mode!r}."
        )
    small_class = _check_int(small_class, "small_class", 0, _N_CLASSES - 1, True)
    if not isinstance(small_fraction, numbers.Real) or not 0 < small_fraction <= 1:
        raise ValueError(f"small_fraction must be in (0, 1], got {small_fraction!r}.")
    max_per_class = _check_int(max_per_class, "max_per_class", 1, allow_none=True)
    check_overwrite(overwrite)

    digits = load_digits()
    rng = check_random_state(random_state)
    selected = _select(digits.target, small_class, small_fraction, max_per_class, rng)

    root = user_path(path)
    if root.exists() and not root.is_dir():
        raise ValueError(f"{str(root)!r} exists and is not a directory.")
    wanted = {name: {f"{i:04d}.png" for i in idx} for name, idx in selected.items()}
    # Check everything before writing anything.
    stale = []
    if root.is_dir():
        for entry in sorted(root.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.name not in wanted or not entry.is_dir() or entry.is_symlink():
                raise ValueError(
                    f"{str(root)!r} already holds {entry.name!r}, which is not a "
                    "digit class folder; use an empty or new folder."
                )
            stale.extend(
                p
                for p in sorted(entry.iterdir())
                if not p.name.startswith(".") and p.name not in wanted[entry.name]
            )
    pngs = {root / name / f"{i:04d}.png": _png_bytes(digits.images[i], image_size, color_mode)
            for name, idx in selected.items() for i in idx}
    # A file of this call's names with other bytes (or a link, whose target is not the
    # folder's) is the user's until overwrite=True says otherwise.
    stale.extend(target for target, data in pngs.items()
                 if target.is_symlink() or (target.exists() and (
                     not target.is_file() or target.read_bytes() != data)))
    if stale and not overwrite:
        drawn = ("" if isinstance(random_state, numbers.Integral) else
                 f" (random_state={random_state!r} draws other images at each call: "
                 "give an int to call it again on this folder)")
        raise ValueError(
            f"{str(stale[0])!r} and {len(stale) - 1} other file(s) were not written "
            f"with these arguments{drawn}; pass overwrite=True to delete or replace them, "
            "or use a new folder."
        )
    for p in stale:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()

    for target, data in pngs.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file():
            target.write_bytes(data)
    return root
