"""Rows read when needed: data that is never held in memory whole.

A *row source* stands for an array of shape ``(n_samples, ...)`` whose rows
are read batch by batch: ``source.shape``, ``len(source)``, ``source[rows]``
(a source of those rows, nothing read) and ``source.read(rows)`` (those rows,
as an array in memory). The feed gathers each training batch with ``read``
(several at once where reads may overlap, ``parallel_reads``), prediction
reads chunk by chunk, and validation reads a memory-mapped array block by
block (``_feed``, ``_predict``, ``_inputs``). Two kinds exist:

- :class:`MappedArray`, a NumPy array mapped from a file (``np.memmap``,
  ``np.load(path, mmap_mode="r")``, or a view of one). Reading it through its
  mapping would leave every page read resident in the process: the kernel maps
  up to 64 KiB around each page fault, so one shuffled epoch maps nearly the
  whole file and the resident set size (RSS) grows to the file's size. Rows
  are read with ordinary file reads instead (one per run of consecutive rows):
  the file's pages stay in the kernel's page cache, shared and reclaimable,
  never in the process. Arrays whose rows are not contiguous in the file
  (Fortran order), and arrays whose path no longer names the file mapped (one
  written anew and renamed over it), or where that cannot be told (no Linux
  ``/proc``), are read through the mapping, whose pages are then released
  (``madvise(MADV_DONTNEED)``, which keeps the data: the mapping is shared),
  bounded too but slower. Copy-on-write maps (``mode="c"``) may hold changes
  that only the mapping sees, and that releasing it would drop: they are read
  as arrays in memory are.
- ``ImageFiles`` (``keraslearn.preprocessing._image_files``): images decoded
  from their files, for ``ImageClassifier.fit(paths, y)``; with TensorFlow's
  decoder its rows are read by TensorFlow ops in the pipeline itself
  (``reads_in_tensorflow``, ``tf_read``), with no Python.

A read that fails inside TensorFlow's input pipeline (a missing or broken
image file) is raised as the reader's own exception, not as TensorFlow's
(:func:`reported_read_errors`).
"""

import contextlib
import copy
import math
import mmap
import os

import numpy as np

from .._tf import tf
from . import _nested as nested

# np.memmap modes whose mapping is shared with the file (MAP_SHARED): reading
# the file sees what the mapping holds, and releasing its pages loses nothing.
_SHARED_MODES = ("r", "r+", "w+")


class RowSource:
    """Rows of an array read when needed (base class; see the module docstring).

    A subclass calls ``super().__init__(n_rows, sample_shape, dtype)`` and
    defines ``_read_rows(index)``: the rows ``index`` (positions in the whole
    source, in any order) as an array of ``dtype``.
    """

    # Whether the feed may run several reads at once.
    parallel_reads = False
    # Whether TensorFlow's ops read the rows (a subclass then defines
    # ``tf_read(index)`` and ``tf_read_row(i)``, usable in ``tf.data``).
    reads_in_tensorflow = False

    def __init__(self, n_rows, sample_shape, dtype):
        self._n = int(n_rows)
        self.sample_shape = tuple(int(v) for v in sample_shape)
        self.dtype = np.dtype(dtype)
        self._rows = None  # positions in the whole source; None: all of them
        self._failures = []  # shared with the sources of its rows

    @property
    def shape(self):
        return (len(self),) + self.sample_shape

    @property
    def ndim(self):
        return 1 + len(self.sample_shape)

    @property
    def nbytes(self):
        """The bytes ``read()`` returns: what reading every row would take."""
        return math.prod(self.shape) * self.dtype.itemsize

    def __len__(self):
        return self._n if self._rows is None else len(self._rows)

    def __repr__(self):
        return f"{type(self).__name__}(shape={self.shape}, dtype={self.dtype})"

    def _positions(self, key):
        """``key`` (a slice, index array or boolean mask over this source's
        rows) as positions in the whole source."""
        if isinstance(key, slice):
            chosen = range(len(self))[key]
            index = np.arange(chosen.start, chosen.stop, chosen.step, dtype=np.int64)
        else:
            index = np.arange(len(self), dtype=np.int64)[np.asarray(key)]
        return index if self._rows is None else self._rows[index]

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self.read([key])[0]
        if isinstance(key, tuple) and len(key) == 2 and key[1] is Ellipsis:
            key = key[0]  # scikit-learn's array[key, ...]
        sub = copy.copy(self)
        sub._rows = self._positions(key)
        return sub

    def read(self, rows=slice(None)):
        """The rows ``rows`` (a slice, index array or mask) as an array in memory."""
        try:
            return self._read_rows(self._positions(rows))
        except Exception as exc:
            self._failures.append(exc)
            raise

    def __array__(self, dtype=None, copy=None):
        out = self.read()
        return out if dtype is None else out.astype(dtype, copy=False)

    def _read_rows(self, index):
        raise NotImplementedError

    def decoding_failure(self):
        """After TensorFlow's ops failed to read rows (``reads_in_tensorflow``):
        an error naming what could not be read, or None."""
        return None


def _shared_file_map(array):
    """The np.memmap whose shared file mapping holds ``array`` (which may be a
    view of it, or ``np.asarray`` of it), or None."""
    obj = array
    while isinstance(obj, np.ndarray):
        if isinstance(obj, np.memmap) and isinstance(obj.base, mmap.mmap):
            return obj if obj.mode in _SHARED_MODES else None
        obj = obj.base
    return None


def is_mapped(array):
    """Whether ``array`` is read from a file mapping (see :class:`MappedArray`)."""
    return isinstance(array, np.ndarray) and _shared_file_map(array) is not None


def _address(array):
    return array.__array_interface__["data"][0]


# Bytes of a Fortran-order file a read through its mapping touches before
# releasing them (see MappedArray._read_mapped).
_MAPPED_BLOCK_BYTES = 16 * 2**20


def _rows_contiguous(array):
    """Whether each row of ``array`` is one block of memory, in C order."""
    expected = array.itemsize
    for size, stride in zip(reversed(array.shape[1:]), reversed(array.strides[1:])):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


def _read_exact(f, view, name):
    while len(view):
        n = f.readinto(view)
        if not n:
            raise OSError(f"{name!r} ended before the rows mapped from it: was the file "
                          "shortened after it was mapped?")
        view = view[n:]


def _mapped_file(address):
    """``(device, inode)`` of the file mapped at ``address`` in this process, read
    from Linux's ``/proc/self/maps``; None where that cannot be read."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split(maxsplit=5)
                start, end = (int(v, 16) for v in fields[0].split("-"))
                if start <= address < end:
                    major, minor = (int(v, 16) for v in fields[3].split(":"))
                    return os.makedev(major, minor), int(fields[4])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _same_file(f, identity):
    stat = os.fstat(f.fileno())
    return (stat.st_dev, stat.st_ino) == identity


class MappedArray(RowSource):
    """The rows of a file-mapped array, read from its file (see the module docstring).

    Parameters
    ----------
    array : ndarray
        A shared file mapping (``is_mapped(array)``), of at least one dimension.
    """

    def __init__(self, array):
        super().__init__(array.shape[0], array.shape[1:], array.dtype)
        root = _shared_file_map(array)
        self.mapped_array = array  # (read by the checks of its values, _input_dtypes)
        self._mapping = root.base
        self._file = root.filename if _rows_contiguous(array) and root.filename else None
        # The file the array is mapped from: the path is read only while it names
        # that file (one replaced since, written anew and renamed, holds other data).
        self._identity = _mapped_file(_address(root)) if self._file else None
        if self._identity is None:
            self._file = None
        # Where row 0 starts in the file, and how far apart rows are.
        self._start = root.offset + _address(array) - _address(root)
        self._stride = array.strides[0]
        self._row_bytes = math.prod(self.sample_shape) * self.dtype.itemsize

    def _read_rows(self, index):
        out = np.empty((len(index),) + self.sample_shape, dtype=self.dtype)
        if not len(index) or not self._row_bytes:
            return out
        if self._file is None:
            return self._read_mapped(index, out)
        size = self._row_bytes
        buffer = memoryview(out.reshape(-1).view(np.uint8))
        if self._stride == size:  # runs of consecutive rows: one read each
            ends = np.flatnonzero(np.diff(index) != 1) + 1
            firsts = np.concatenate([[0], ends]).tolist()
            counts = np.diff(firsts + [len(index)]).tolist()
        else:
            firsts, counts = range(len(index)), [1] * len(index)
        rows = index.tolist()
        try:
            f = open(self._file, "rb", buffering=0)
        except FileNotFoundError:  # moved or deleted since: the mapping still holds it
            self._file = None
            return self._read_mapped(index, out)
        with f:
            if not _same_file(f, self._identity):  # replaced since: the mapping holds it
                self._file = None
                return self._read_mapped(index, out)
            for first, count in zip(firsts, counts):
                f.seek(self._start + rows[first] * self._stride)
                _read_exact(f, buffer[first * size:(first + count) * size], self._file)
        return out

    def _read_mapped(self, index, out):
        """The rows read through the mapping, whose pages are released at once.
        Where rows are not the outermost axis (Fortran order: each row's values
        lie across the whole file), a block of that axis at a time, released in
        between: a batch of rows otherwise made the whole file resident."""
        array = self.mapped_array
        axis = int(np.argmax(np.abs(array.strides))) if array.ndim > 1 else 0
        # The bytes one slice of that axis may make resident: the whole strip
        # between two slices for rows in any order, a run's own bytes for a run of
        # rows (a pass over the file, its checks), at least a page either way.
        touched = abs(array.strides[axis])
        if axis and (np.diff(index) == 1).all():
            touched = min(touched, len(index) * abs(array.strides[0]) + mmap.PAGESIZE)
        step = max(1, _MAPPED_BLOCK_BYTES // max(mmap.PAGESIZE, touched))
        for start in range(0, array.shape[axis] if axis else 1, step):
            part = (slice(None),) * axis + (slice(start, start + step),) * (axis > 0)
            out[part] = array[(index,) + part[1:]]
            if hasattr(mmap, "MADV_DONTNEED"):
                self._mapping.madvise(mmap.MADV_DONTNEED)
        return out


class HeldRows(RowSource):
    """The rows of an array in memory, read when needed: a fit's training rows
    of a held-out split are taken from it as a file-mapped array's are, not
    copied whole (``array[rows]``) first."""

    def __init__(self, array):
        super().__init__(array.shape[0], array.shape[1:], array.dtype)
        self.array = array

    def _read_rows(self, index):
        return self.array[index]


def blocks(array, block_bytes=8 * 2**20):
    """The rows of the file-mapped ``array``, read from its file about
    ``block_bytes`` at a time (for a pass over the data: checks, statistics)."""
    source = MappedArray(array)
    row_bytes = max(1, source._row_bytes)
    step = max(1, block_bytes // row_bytes)
    for start in range(0, len(source), step):
        yield source.read(slice(start, start + step))


def as_source(array):
    """``array`` as a :class:`MappedArray` when it is file-mapped, else as it is."""
    if isinstance(array, np.ndarray) and array.ndim >= 1 and is_mapped(array):
        return MappedArray(array)
    return array


def sources(data):
    """Every file-mapped array of ``data`` (an array, tuple or dict of them,
    or None) as a :class:`MappedArray`."""
    return None if data is None else nested.map_arrays(as_source, data)


def has_sources(data):
    return data is not None and any(isinstance(a, RowSource) for a in nested.leaves(data))


@contextlib.contextmanager
def reported_read_errors(*structures):
    """Raise a read that failed inside TensorFlow's input pipeline as the
    reader's own exception (which names the file), not as a TensorFlow error;
    for a source that TensorFlow's ops read, the error its
    ``decoding_failure()`` finds (naming the file)."""
    found = [a for data in structures if data is not None for a in nested.leaves(data)
             if isinstance(a, RowSource)]
    for source in found:
        source._failures.clear()
    try:
        yield
    except tf.errors.OpError:
        for source in found:
            # A reader's own exception; TensorFlow's (a source its ops read,
            # read eagerly) names no file: decoding_failure() finds it.
            own = [exc for exc in source._failures if not isinstance(exc, tf.errors.OpError)]
            if own:
                raise own[0].with_traceback(None) from None
        for source in found:
            failure = source.decoding_failure()
            if failure is not None:
                raise failure from None
        raise
