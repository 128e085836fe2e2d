"""The IDX file format of MNIST and Fashion-MNIST: a strict reader and an atomic writer.

Layout (all integers big-endian)::

    bytes 0-1   0x00 0x00                 magic
    byte  2     dtype code                0x08 uint8, 0x09 int8, 0x0B int16,
                                          0x0C int32, 0x0D float32, 0x0E float64
    byte  3     ndim                      number of dimensions
    4 * ndim    dimensions                unsigned 32-bit each
    payload     prod(dims) * itemsize     C order, big-endian elements

A file may be stored as is or gzip-compressed; the reader decides by the first two bytes
(``1f 8b``), not by the name, and refuses a ``.gz`` name holding anything but gzip data.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import zlib
from typing import BinaryIO

import numpy as np

from glassnet.data._checks import as_path
from glassnet.data._files import GZIP_MAGIC, atomic_write, open_data_file
from glassnet.data.errors import DatasetError

IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}

MAX_NDIM = 32
"""More dimensions than this is treated as a damaged header."""

DEFAULT_MAX_BYTES = 1 << 34
"""Largest payload ``read_idx`` accepts by default (16 GiB; MNIST's largest is 47 MB)."""

# zlib's deflate never compresses better than about 1032:1, so a gzip file of S bytes
# cannot hold more than this many bytes; a header that declares more is damaged, and the
# reader says so before allocating anything.
_MAX_DEFLATE_RATIO = 1032
_CHUNK = 1 << 20


def read_idx(path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> np.ndarray:
    """Read an IDX file (plain or gzip) into a native-byte-order ndarray.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Compression is detected from the content (gzip magic ``1f 8b``).
    max_bytes : int
        Refuse payloads larger than this (a damaged header could declare terabytes).

    Returns
    -------
    numpy.ndarray
        Shape = the header's dimensions, dtype = the header's type in native byte order.

    Raises
    ------
    DatasetError
        For every fault, with the file and the fault in the message: missing or
        unreadable file, a directory, empty file, wrong magic, unknown dtype code, zero
        or too many dimensions, a dimension of 0, a payload larger than ``max_bytes`` or
        larger than the compressed file could hold, truncation anywhere, bytes after the
        payload, a ``.gz`` name without gzip data, a damaged gzip stream (bad deflate
        data, CRC or length check). A missing file raises ``DatasetNotFoundError``, which
        is also a ``FileNotFoundError``.

    Notes
    -----
    Every size is checked before the payload is allocated: for a plain file the header's
    size must equal the file's size exactly; for gzip it must fit the compressed size
    (the deflate ratio bound) and ``max_bytes``, and decompression stops one byte past
    the declared size, so trailing data or a decompression bomb is found without
    inflating it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x-idx2-ubyte.gz"
    >>> write_idx(p, np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> read_idx(p)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    path = as_path(path)
    f = open_data_file(path)
    with f:
        file_size = os.fstat(f.fileno()).st_size
        if file_size == 0:
            raise DatasetError(f"{path}: empty file")
        start = f.read(2)
        f.seek(0)
        is_gzip = start == GZIP_MAGIC
        if path.suffix.lower() == ".gz" and not is_gzip:
            raise DatasetError(
                f"{path}: not gzip data (the name ends in .gz but the file starts with "
                f"{start.hex(' ')}, not 1f 8b)"
            )
        if not is_gzip:
            return _read_stream(f, path, max_bytes, exact_size=file_size, capacity=None)
        capacity = file_size * _MAX_DEFLATE_RATIO
        try:
            with gzip.GzipFile(fileobj=f, mode="rb") as stream:
                return _read_stream(stream, path, max_bytes, exact_size=None, capacity=capacity)
        except EOFError as e:
            raise DatasetError(f"{path}: truncated gzip stream ({e})") from e
        except (gzip.BadGzipFile, zlib.error) as e:
            raise DatasetError(f"{path}: corrupt gzip stream ({e})") from e
        except OSError as e:
            raise DatasetError(f"{path}: read error ({e})") from e


def _read_stream(
    stream: BinaryIO,
    path: os.PathLike,
    max_bytes: int,
    exact_size: int | None,
    capacity: int | None,
) -> np.ndarray:
    """Parse header and payload. ``exact_size``: plain file size; ``capacity``: gzip bound."""
    magic = _read_exact(stream, 4, path, "the 4-byte magic number")
    if magic[0] != 0 or magic[1] != 0:
        raise DatasetError(
            f"{path}: not an IDX file (magic number {magic.hex(' ')} does not start with 00 00)"
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DatasetError(f"{path}: unknown IDX dtype code 0x{code:02X} (known: {known})")
    if ndim == 0 or ndim > MAX_NDIM:
        raise DatasetError(f"{path}: header declares {ndim} dimensions (allowed 1..{MAX_NDIM})")
    raw_dims = _read_exact(stream, 4 * ndim, path, f"the {ndim} dimension sizes")
    dims = struct.unpack(f">{ndim}I", raw_dims)
    if 0 in dims:
        raise DatasetError(f"{path}: dimension {dims.index(0)} is 0 in shape {dims}")
    dtype = IDX_DTYPES[code]
    header_size = 4 + 4 * ndim
    payload = math.prod(dims) * dtype.itemsize
    if payload > max_bytes:
        raise DatasetError(
            f"{path}: shape {dims} of {dtype.name} declares {payload} bytes, more than "
            f"max_bytes={max_bytes} (a damaged header?)"
        )
    if exact_size is not None and header_size + payload != exact_size:
        found = exact_size - header_size
        fault = "truncated payload" if found < payload else "trailing bytes after the payload"
        raise DatasetError(
            f"{path}: {fault}: shape {dims} of {dtype.name} needs {payload} bytes after the "
            f"{header_size}-byte header, the file holds {found}"
        )
    if capacity is not None and header_size + payload > capacity:
        raise DatasetError(
            f"{path}: shape {dims} of {dtype.name} declares {payload} bytes, more than a "
            f"gzip file of this size can hold (at most {capacity}); the header is damaged"
        )
    try:
        data = np.empty(dims, dtype=dtype)
    except MemoryError as e:
        raise DatasetError(f"{path}: cannot allocate {payload} bytes for shape {dims}") from e
    view = memoryview(data.reshape(-1).view(np.uint8))
    filled = 0
    while filled < payload:
        n = stream.readinto(view[filled : filled + _CHUNK])
        if not n:
            raise DatasetError(
                f"{path}: truncated payload: shape {dims} of {dtype.name} needs {payload} "
                f"bytes, the data ends after {filled}"
            )
        filled += n
    if stream.read(1):
        raise DatasetError(
            f"{path}: trailing bytes after the payload of shape {dims} ({payload} bytes)"
        )
    return data if dtype.isnative else data.astype(dtype.newbyteorder("="))


def _read_exact(stream: BinaryIO, n: int, path: os.PathLike, what: str) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = stream.read(n - len(out))
        if not chunk:
            raise DatasetError(
                f"{path}: truncated header: the data ends after {len(out)} of the "
                f"{n} bytes of {what}"
            )
        out += chunk
    return bytes(out)


def write_idx(
    path: str | os.PathLike, array: np.ndarray, *, compress: bool | None = None
) -> None:
    """Write ``array`` as an IDX file, atomically (temporary file, fsync, rename).

    Parameters
    ----------
    path : str or os.PathLike
        Destination; its folder must exist.
    array : array_like
        uint8, int8, int16, int32, float32 or float64, at least one dimension, every
        dimension between 1 and 2**32 - 1.
    compress : bool or None
        gzip the file; by default exactly when the name ends in ``.gz``. The gzip header
        stores no name and no time, so equal arrays give byte-identical files.

    Raises
    ------
    TypeError
        For a dtype IDX cannot store.
    ValueError
        For a 0-d array, a zero dimension, or one too large for 32 bits.
    """
    path = as_path(path)
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        allowed = ", ".join(d.newbyteorder("=").name for d in IDX_DTYPES.values())
        raise TypeError(f"write_idx cannot store dtype {array.dtype}; allowed: {allowed}")
    if array.ndim == 0 or array.ndim > MAX_NDIM:
        raise ValueError(f"write_idx needs 1..{MAX_NDIM} dimensions, got shape {array.shape}")
    if 0 in array.shape or max(array.shape) >= 1 << 32:
        raise ValueError(
            f"write_idx needs every dimension in 1..2**32-1, got shape {array.shape}"
        )
    code = _CODES[native]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array, dtype=IDX_DTYPES[code])
    if compress is None:
        compress = path.suffix.lower() == ".gz"
    with atomic_write(path) as f:
        if compress:
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
                _write_all(gz, header, payload)
        else:
            _write_all(f, header, payload)


def _write_all(f: io.RawIOBase | BinaryIO, header: bytes, payload: np.ndarray) -> None:
    f.write(header)
    flat = memoryview(payload.reshape(-1).view(np.uint8))
    for start in range(0, len(flat), _CHUNK):
        f.write(flat[start : start + _CHUNK])
