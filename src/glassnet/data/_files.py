"""File plumbing: atomic writes and opening data files with clear errors."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from glassnet.data.errors import DatasetError, DatasetNotFoundError

GZIP_MAGIC = b"\x1f\x8b"


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path``; on success fsync it and rename it to ``path``.

    If the block raises (or the process dies), ``path`` is untouched and the temporary
    file is removed, so a reader never sees a half-written file under the final name.
    The temporary file is named ``.<name>.<random>.part`` in the same folder (a rename is
    only atomic within one file system).
    """
    path = Path(path)
    folder = path.parent
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def open_data_file(path: Path) -> BinaryIO:
    """Open ``path`` for binary reading; every failure is a ``DatasetError`` naming it."""
    try:
        f = open(path, "rb")  # the caller closes it
    except FileNotFoundError as e:
        raise DatasetNotFoundError(f"{path}: no such file") from e
    except IsADirectoryError as e:
        raise DatasetError(f"{path}: is a directory, not a data file") from e
    except PermissionError as e:
        raise DatasetError(f"{path}: permission denied") from e
    except OSError as e:
        raise DatasetError(f"{path}: cannot open ({e.strerror or e})") from e
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
        f.close()
        raise DatasetError(f"{path}: not a regular file")
    return f
