"""Image files that cannot be read, told the same way by every reader and decoder."""

import errno
import os
import stat

import numpy as np
from PIL import Image

from ..utils._text import shortened


def path_text(item):
    """The path ``item`` (text, bytes or path-like) as plain text: not NumPy's
    ``str_``, whose repr in messages reads ``np.str_('...')``."""
    return str(os.fsdecode(item))


def check_regular_file(name, index):
    """Refuse a path that is not a regular file before any reader opens it: a
    FIFO or a device (a served pipeline reads the paths its clients send)
    blocked the reading thread, or read without end. A missing file raises
    FileNotFoundError, a folder ValueError."""
    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        raise not_found(name, index) from None
    except ValueError as exc:  # (a NUL character in the path)
        raise unreadable(name, index, exc) from None
    except OSError:
        return  # (opening it tells why)
    if stat.S_ISDIR(mode):
        raise ValueError(f"X[{index}] is a folder, not an image file: {shortened(name, _SHOWN)!r}.")
    if not stat.S_ISREG(mode):
        raise ValueError(f"X[{index}] is not a regular file (a pipe, a device, ...), not an "
                         f"image file: {shortened(name, _SHOWN)!r}.")


def not_found(name, index):
    """The FileNotFoundError telling that ``X[index]``, the file ``name``, is missing
    (its whole name: one the system takes is not too long)."""
    return FileNotFoundError(errno.ENOENT, f"Image file X[{index}] not found", name)


def unreadable(name, index, exc):
    """The ValueError telling that the image file ``name`` (``X[index]``) could not be read."""
    hint = (" (Pillow's limit on pixels: PIL.Image.MAX_IMAGE_PIXELS raises it, for files "
            "you trust)" if isinstance(exc, Image.DecompressionBombError) else "")
    reason = str(exc).replace(name, "(the file)") if len(name) > _SHOWN else str(exc)
    return ValueError(f"Could not read image file {shortened(name, _SHOWN)!r} (X[{index}]): "
                      f"{shortened(reason, 300)}{hint}")


_SHOWN = 200  # characters of a path or reason shown: a server's answers echo them


def bmp_unread(path):
    """What makes a BMP file one TensorFlow's decode_bmp cannot read, or reads
    otherwise than Pillow, or None. It reads uncompressed files of 8, 24 and 32
    bits per pixel: those of 8 as gray levels (the indices of their palette, a
    colour one or gray levels in another order), those of 32 with their channels
    in the order blue, green, red (whatever other masks a file gives them)."""
    try:
        with open(path, "rb") as f:
            head = f.read(66)
    except OSError:
        return None  # reported where the file is read
    bits, compression = int.from_bytes(head[28:30], "little"), int.from_bytes(head[30:34], "little")
    if bits not in (8, 24, 32):
        return f"a {bits}-bit BMP file"
    if compression in (1, 2):
        return "a compressed (run-length) BMP file"
    masks = [int.from_bytes(head[at:at + 4], "little") for at in (54, 58, 62)]
    if bits == 32 and compression == 3 and masks != [0xFF0000, 0xFF00, 0xFF]:
        return ("a BMP file of channel masks other than blue, green, red in its bytes "
                "(TensorFlow would swap red and blue)")
    if bits == 8:
        try:
            with Image.open(path) as image:  # (reads the header and palette only)
                palette = np.asarray(image.getpalette() or [], dtype=np.int64).reshape(-1, 3)
                two_tone = image.mode == "1"  # (black and white: Pillow gives no palette)
        except (OSError, ValueError):
            return None  # reported where the file is read
        if two_tone or (palette != np.arange(len(palette))[:, None]).any():
            return ("an 8-bit BMP file whose palette is not the gray levels in order (its "
                    "indices read as gray levels)")
    return None
