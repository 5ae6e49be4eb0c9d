"""A REST server for a fitted model or pipeline, with request batching.

``make_app(model)`` builds an ASGI app (Starlette) answering ``/predict``,
``/predict_proba``, MLflow's ``/invocations``, ``/health`` and ``/metadata``;
``run(model)`` serves it with uvicorn on 127.0.0.1:8000, and ``keraslearn serve
PATH`` does the same for a model saved with ``keraslearn.save`` or a SavedModel
written by ``keraslearn.export`` (read as an :class:`ExportedModel`). Concurrent
requests share model calls (see ``_batching``). Needs the ``serve`` extra:
``pip install 'keraslearn[serve]'``; Starlette and uvicorn are imported only
when an app or a server is made.
"""

from ._app import make_app
from ._exported import ExportedModel
from ._server import make_server, run

__all__ = ["ExportedModel", "make_app", "make_server", "run"]
