"""The share of the cores a parallel backend gave this process.

joblib's process backends (loky, multiprocessing) tell each worker its share
through ``OMP_NUM_THREADS``. A Dask ``distributed`` worker runs tasks in its
own threads (``dask worker --nthreads N``, ``LocalCluster(threads_per_worker=N)``)
and says nothing of the kind, or says 1 (its nanny sets ``OMP_NUM_THREADS=1``
for BLAS libraries, whatever ``N``): TensorFlow's pools, shared by all the
tasks a worker runs at once, are sized to ``N`` instead, read here from the
worker running the current task. Nothing is imported: a process that never
imported ``distributed`` is no Dask worker. A worker of an in-process cluster
(``LocalCluster(processes=False)``, whose workers talk over ``inproc://``
addresses) runs in the user's own process: its thread count is not that
process's share, and would size its pools for good.
"""

import sys


def dask_worker_threads():
    """The thread count of the Dask worker running the current task, or None."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        worker = distributed.get_worker()
    except ValueError:  # not inside a task of a worker
        return None
    if str(getattr(worker, "address", "")).startswith("inproc://"):
        return None  # a thread of the user's own process
    state = getattr(worker, "state", None)
    n = getattr(state, "nthreads", None) or getattr(worker, "nthreads", None)
    return int(n) if n else None
