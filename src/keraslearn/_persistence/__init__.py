"""Save and load fitted estimators and pipelines without pickle.

``keraslearn.save``, ``keraslearn.load`` and ``keraslearn.get_untrusted_types``
are the public names; this package is private so that the functions, not
modules, answer to them. ``_archive`` is the file, ``_trust`` what loads
without being trusted, ``_state`` and ``_references`` what an estimator holds
while it is written and read.
"""

from ._api import get_untrusted_types, load, save

__all__ = ["get_untrusted_types", "load", "save"]
