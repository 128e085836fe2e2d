"""Checked, atomic downloads: SHA-256 verified before a file gets its final name."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from glassnet.data._checks import as_path
from glassnet.data._files import atomic_write
from glassnet.data.errors import DatasetError, DownloadError

log = logging.getLogger("glassnet.data")

_CHUNK = 1 << 16
_USER_AGENT = "glassnet/0.1 (Python urllib)"


class _TransferError(Exception):
    """One mirror failed; the message says why."""


def download_file(
    urls: str | Sequence[str],
    dest: str | os.PathLike,
    *,
    sha256: str,
    size: int | None = None,
    progress: bool | None = None,
    timeout: float = 60.0,
) -> Path:
    """Fetch a file, trying each URL in turn, and store it at ``dest`` only if it is intact.

    The bytes stream into a temporary file beside ``dest`` while their SHA-256 is
    computed; only when the byte count equals ``size`` (when given) and the checksum
    matches is the file fsynced and renamed to ``dest``. A failed, short, oversized or
    corrupt transfer leaves nothing behind and the next URL is tried.

    Parameters
    ----------
    urls : str or sequence of str
        Full URLs of the same file, tried in order.
    dest : str or os.PathLike
        Final path; its folder is created if needed.
    sha256 : str
        Expected SHA-256, 64 hex digits.
    size : int, optional
        Expected size in bytes; a transfer that announces or delivers a different size is
        rejected early, and no more than ``size`` bytes are ever written.
    progress : bool or None
        Show a tqdm progress bar; None (default) shows it only when stderr is a terminal
        and tqdm is installed.
    timeout : float
        Seconds to wait for the server on each read.

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    DownloadError
        When every URL failed; the message lists each URL and its fault.
    DatasetError
        When the destination folder cannot be created.
    """
    if isinstance(urls, str):
        urls = [urls]
    urls = list(urls)
    if not urls:
        raise ValueError("download_file needs at least one URL")
    if not isinstance(sha256, str) or len(sha256) != 64:
        raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}")
    expected = sha256.lower()
    dest = as_path(dest, "dest")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatasetError(f"{dest.parent}: cannot create the download folder ({e})") from e
    failures = []
    for url in urls:
        log.info("downloading %s to %s", url, dest)
        try:
            _fetch(url, dest, expected, size, progress, timeout)
        except _TransferError as e:
            failures.append(f"  {url}: {e}")
            log.warning("download of %s failed: %s", url, e)
            continue
        return dest
    raise DownloadError(
        f"{dest.name}: every mirror failed:\n" + "\n".join(failures)
    )


def _fetch(
    url: str, dest: Path, sha256: str, size: int | None, progress: bool | None, timeout: float
) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            announced = response.headers.get("Content-Length")
            total = int(announced) if announced and announced.isdigit() else None
            if size is not None and total is not None and total != size:
                raise _TransferError(f"the server announces {total} bytes, expected {size}")
            bar = _progress_bar(progress, size or total, dest.name)
            try:
                with atomic_write(dest) as out:
                    digest = hashlib.sha256()
                    received = 0
                    while True:
                        chunk = response.read(_CHUNK)
                        if not chunk:
                            break
                        received += len(chunk)
                        if size is not None and received > size:
                            raise _TransferError(f"more than the expected {size} bytes")
                        digest.update(chunk)
                        out.write(chunk)
                        if bar is not None:
                            bar.update(len(chunk))
                    if size is not None and received != size:
                        raise _TransferError(
                            f"truncated transfer: {received} of {size} bytes"
                        )
                    if digest.hexdigest() != sha256:
                        raise _TransferError(
                            f"SHA-256 mismatch: got {digest.hexdigest()}, expected {sha256}"
                        )
            finally:
                if bar is not None:
                    bar.close()
    except _TransferError:
        raise
    except urllib.error.HTTPError as e:
        raise _TransferError(f"HTTP {e.code} {e.reason}") from e
    except urllib.error.URLError as e:
        raise _TransferError(f"cannot connect ({e.reason})") from e
    except http.client.IncompleteRead as e:
        raise _TransferError(f"truncated transfer: {len(e.partial)} bytes then EOF") from e
    except (http.client.HTTPException, OSError, ValueError) as e:
        raise _TransferError(f"{type(e).__name__}: {e}") from e


def _progress_bar(progress: bool | None, total: int | None, name: str) -> Any:
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None  # a bar is a nicety: without tqdm (pip install glassnet[progress]) none
    return tqdm(
        total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, leave=False
    )
