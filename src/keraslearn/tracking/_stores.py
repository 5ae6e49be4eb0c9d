"""Where MLflow's tracking stores are: whether a local one is there, and making one."""

import os


def _local_store(uri):
    """(scheme, path) of a store in local files: a SQLite database, a folder
    ("databricks" alone names a workspace); None for others."""
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    scheme = parsed.scheme
    if scheme == "sqlite":  # sqlite:///relative.db, sqlite:////absolute.db?timeout=30
        return scheme, unquote(uri.split("///", 1)[1].split("?", 1)[0]) if "///" in uri else ""
    if scheme == "file" or scheme == "" and uri != "databricks":
        return scheme, unquote(parsed.path) if scheme else uri
    return None


def same_store(a, b):
    """Whether the tracking URIs ``a`` and ``b`` name one store, however written
    (``sqlite:///mlflow.db`` and MLflow's ``sqlite:////<cwd>/mlflow.db``)."""
    local_a, local_b = _local_store(a), _local_store(b)
    if local_a is None or local_b is None:
        return a.rstrip("/") == b.rstrip("/")
    kinds = {scheme == "sqlite" for scheme, _ in (local_a, local_b)}
    return len(kinds) == 1 and (os.path.abspath(local_a[1]) == os.path.abspath(local_b[1])
                                if local_a[1] and local_b[1] else local_a[1] == local_b[1])


def store_exists(uri):
    """Whether the store at ``uri`` may be there: a database file or folder
    that is not (since removed, or on another machine) is not opened, which
    would create an empty one."""
    local = _local_store(uri)
    if local is None:
        return True
    scheme, path = local
    if scheme == "sqlite":
        return not path or path == ":memory:" or os.path.exists(path)
    return os.path.isdir(path)


def create_store(mlflow, uri):
    """Create the store MLflow was set to, where it is only named so far (as
    its first run would): the copies in workers log to it only where it is
    there (:func:`store_exists`), and workers creating one database at once
    collide."""
    if store_exists(uri) or not os.access(
            os.path.dirname(os.path.abspath(_local_store(uri)[1])), os.W_OK):
        return  # (MLflow retries a database it cannot open for minutes)
    try:
        mlflow.MlflowClient(uri).search_experiments(max_results=1)
    except Exception:  # noqa: BLE001 - the store's (a folder missing): the workers' fallback
        pass
