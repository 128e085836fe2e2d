"""File plumbing: atomic writes and opening data files with clear errors."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import BinaryIO

from glassnet._fileio import atomic_write as _atomic_write
from glassnet.data.errors import DatasetError, DatasetNotFoundError

GZIP_MAGIC = b"\x1f\x8b"


def atomic_write(path: str | os.PathLike) -> contextlib.AbstractContextManager[BinaryIO]:
    """Open ``.<name>.<random>.part`` beside ``path``; on success fsync it and rename it to
    ``path`` (``glassnet._fileio.atomic_write``: a reader never sees a half-written file)."""
    return _atomic_write(path, suffix=".part")


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
