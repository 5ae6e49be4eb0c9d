"""Export a fitted pipeline (preprocessing, network, output decoding) as one model.

``keraslearn.export`` is the public name; this package is private so that the
function, not a module, answers to ``keraslearn.export``.
"""

from ._api import export

__all__ = ["export"]
