"""Where a warning of keraslearn's points: at the user's code."""

import inspect


def user_stacklevel():
    """The ``stacklevel`` that points a warning at the first frame outside
    keraslearn (the user's call, or a meta-estimator's), for a warning given
    by the function calling this one."""
    frame, level = inspect.currentframe().f_back, 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("keraslearn."):
        frame, level = frame.f_back, level + 1
    return level
