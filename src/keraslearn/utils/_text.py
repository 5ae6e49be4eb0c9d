"""Text shown in messages: long values cut, so that an answer does not echo a body."""


def shortened(text, limit):
    """``text``, or its start and end (a path's file name) around "..." where longer
    than ``limit`` characters."""
    text, half = str(text), (limit - 3) // 2
    return text if len(text) <= limit else text[:half] + "..." + text[-half:]


def cut(text, limit):
    """``text``, or its start followed by "..." where longer than ``limit`` characters
    (``limit`` in all)."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."
