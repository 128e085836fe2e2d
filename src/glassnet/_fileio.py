"""Atomic file writes, shared by checkpoints, histories, plots and downloaded data.

A file is written to a temporary file beside its destination, flushed and fsynced, then
renamed over it (a rename is atomic within one file system), and the folder is fsynced so
that the rename survives a crash. If anything fails, or the process is interrupted, the
temporary file is removed and an existing destination is untouched: a reader sees the
old file or the new one, never half of each. A writer killed outright (SIGKILL, power
loss) cannot remove its temporary file; the temporary name carries the writer's PID, and
the next successful write of the same file removes those whose process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_destination(path: Path) -> Path:
    """The folder ``path`` will be written in, or a clear error naming what is wrong."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise IsADirectoryError(f"cannot write '{path}': it is a directory")
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"cannot write '{path}': '{folder}' is not a folder")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write '{path}': folder '{folder}' does not exist")
    return folder


def _alive(pid: int) -> bool:
    """Is there a process ``pid`` on this machine (one we may not signal counts too)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _remove_stale(folder: Path, name: str, suffix: str) -> None:
    """Remove temporary files ``.<name>.<pid>.<random><suffix>`` that a writer killed
    mid-write left behind: those whose process no longer exists. A live writer's file
    (this process's included) is never touched."""
    # mkstemp's random part is 8 characters of [a-z0-9_]: ".a.ckpt.1.<pid>..." (a temporary
    # file of "a.ckpt.1") does not match "a.ckpt"'s pattern
    pattern = re.compile(rf"\.{re.escape(name)}\.(\d+)\.[a-z0-9_]{{8}}{re.escape(suffix)}")
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        m = pattern.fullmatch(entry.name)
        if m and not _alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[BinaryIO]:
    """Open a temporary file ``.<name>.<pid>.<random><suffix>`` beside ``path`` for
    writing; when the block ends without error, fsync it and rename it to ``path``, and
    remove what earlier writers that were killed mid-write left (``_remove_stale``)."""
    path = Path(path)
    folder = _check_destination(path)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.{os.getpid()}.", suffix=suffix, dir=folder
        )
    except OSError as e:
        raise PermissionError(
            f"cannot write '{path}': folder '{folder}' is not writable ({e.strerror})"
        ) from None
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o666 & ~_umask())  # mkstemp's 0600 -> the usual mode
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(folder)
    _remove_stale(folder, path.name, suffix)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see the module docstring)."""
    with atomic_write(path) as f:
        f.write(data)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
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
