"""Text shown in messages and reports: long values cut, so that an answer does not
echo a body; characters no page or figure can show written as escapes."""

import re

# Control characters (but tab and newline), the bidirectional embeddings,
# overrides and isolates (one reordered the rest of a report's line), and the
# lone surrogates of names that are not UTF-8.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                          "\ud800-\udfff]")


def shortened(text, limit):
    """``text``, or its start and end (a path's file name) around "..." where longer
    than ``limit`` characters. An error whose text cannot be read is named by its class."""
    try:
        text = str(text)
    except Exception:  # (a library's error whose __str__ reads what it never set)
        text = f"({type(text).__name__}, whose text could not be read)"
    half = (limit - 3) // 2
    return text if len(text) <= limit else text[:half] + "..." + text[-half:]


def cut(text, limit):
    """``text``, or its start followed by "..." where longer than ``limit`` characters
    (``limit`` in all)."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def listed(values, limit=10, as_text=repr, width=120):
    """The first ``limit`` of ``values`` for a message (``as_text`` of each, cut to
    ``width`` characters unless None), then how many there are in all: a message
    naming thousands of classes hid what it was about, an answer echoed a body."""
    values = list(values)
    more = f", ... ({len(values)} in all)" if len(values) > limit else ""
    texts = (as_text(value) for value in values[:limit])
    return ", ".join(texts if width is None else (cut(text, width) for text in texts)) + more


def printable(text):
    """``text`` as a report writes it: control characters, bidirectional
    controls and lone surrogates as escapes (``\\x00``, ``\\u202e``). A file or
    folder name that is not UTF-8, which Python reads with a surrogate for each
    byte it could not decode (``café`` in Latin-1: ``'caf\\udce9'``), shows its
    bytes (``caf\\xe9``): matplotlib failed to draw it and a UTF-8 page to hold it."""
    return _UNPRINTABLE.sub(_escape, str(text))


def _escape(match):
    char = match.group()
    if "\udc80" <= char <= "\udcff":  # a byte Python's surrogateescape kept
        return f"\\x{ord(char) - 0xdc00:02x}"
    return ascii(char)[1:-1]


def not_utf8(values):
    """The strings among ``values`` that cannot be written as UTF-8 (lone
    surrogates: a name read from a file or folder whose bytes are not UTF-8),
    which a TensorFlow graph's strings cannot hold."""
    return [value for value in values if isinstance(value, str)
            and _UNPRINTABLE.search(value) and not _encodes(value)]


def _encodes(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
