"""Where a warning of keraslearn's points: at the user's code."""

import inspect


def user_stacklevel(inside=("keraslearn.",)):
    """The ``stacklevel`` that points a warning at the first frame outside
    keraslearn (the user's call, or a meta-estimator's), for a warning given
    by the function calling this one; ``inside``: the modules passed over (a
    callback's warning passes over Keras' fit and TensorFlow too)."""
    frame, level = inspect.currentframe().f_back, 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(inside):
        frame, level = frame.f_back, level + 1
    return level
