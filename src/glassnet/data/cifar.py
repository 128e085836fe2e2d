"""CIFAR-10, binary distribution: strict batch reader, archive reader, loader.

Each ``*.bin`` batch is a sequence of 3073-byte records: 1 label byte (0..9), then
3072 pixel bytes as three 32x32 planes (red, green, blue), each row by row. The canonical
archive ``cifar-10-binary.tar.gz`` holds ``cifar-10-batches-bin/data_batch_1.bin`` ..
``data_batch_5.bin`` (10,000 records each) and ``test_batch.bin`` (10,000 records).

Nothing is ever unpickled (the Python distribution of CIFAR-10 is pickles; glassnet does
not read it), and the archive is read member by member in one pass, in memory: nothing
is extracted, so member names cannot write anywhere.
"""

from __future__ import annotations

import gzip
import os
import posixpath
import tarfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from glassnet.data._checks import as_path, check_split
from glassnet.data._files import GZIP_MAGIC, open_data_file
from glassnet.data.download import download_file
from glassnet.data.errors import DatasetError, DatasetNotFoundError
from glassnet.data.paths import describe_search, download_dir, search_dirs
from glassnet.data.sources import CIFAR10, mirror_urls

RECORD_BYTES = 1 + 3 * 32 * 32
ARCHIVE_NAME = "cifar-10-binary.tar.gz"
ARCHIVE_FOLDER = "cifar-10-batches-bin"
BATCHES = {
    "train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
    "test": ("test_batch.bin",),
}
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
"""CIFAR-10's class names, by label."""

MAX_BATCH_BYTES = 1 << 31
"""A batch larger than this (the real ones are 30,730,000 bytes) is treated as damaged."""

# After the tar end marker only padding may follow (tar pads to 10 KiB records).
_MAX_TAR_PADDING = 1 << 20


def decode_records(buffer: np.ndarray | bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode CIFAR-10 binary records into (images (N, 32, 32, 3) uint8 HWC, labels int64).

    ``source`` names the file in error messages. The length must be a positive multiple
    of 3073 and every label in 0..9 (``DatasetError`` otherwise).
    """
    records = np.frombuffer(buffer, dtype=np.uint8)
    if records.size == 0:
        raise DatasetError(f"{source}: empty CIFAR-10 batch")
    if records.size % RECORD_BYTES:
        raise DatasetError(
            f"{source}: {records.size} bytes is not a whole number of {RECORD_BYTES}-byte "
            f"records ({records.size // RECORD_BYTES} records and {records.size % RECORD_BYTES} "
            "bytes left over): truncated or padded"
        )
    records = records.reshape(-1, RECORD_BYTES)
    labels = records[:, 0]
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise DatasetError(f"{source}: record {bad} has label {labels[bad]}, outside 0..9")
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def read_cifar10_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 binary batch file (``data_batch_1.bin`` ...).

    Returns
    -------
    images : numpy.ndarray
        (N, 32, 32, 3) uint8, height x width x RGB.
    labels : numpy.ndarray
        (N,) int64 in 0..9.

    Raises
    ------
    DatasetError
        Missing file (``DatasetNotFoundError``), a directory, empty file, a size that is
        not a multiple of 3073 bytes (checked before reading), a label outside 0..9.
    """
    path = as_path(path)
    with open_data_file(path) as f:
        size = os.fstat(f.fileno()).st_size
        _check_batch_size(size, str(path))
        buffer = np.empty(size, dtype=np.uint8)
        view, filled = memoryview(buffer), 0
        while filled < size:
            try:
                n = f.readinto(view[filled:])
            except OSError as e:
                raise DatasetError(f"{path}: read error ({e})") from e
            if not n:
                raise DatasetError(f"{path}: file shrank while reading ({filled} of {size})")
            filled += n
    return decode_records(buffer, str(path))


def _check_batch_size(size: int, source: str) -> None:
    if size == 0:
        raise DatasetError(f"{source}: empty CIFAR-10 batch")
    if size > MAX_BATCH_BYTES:
        raise DatasetError(f"{source}: {size} bytes is larger than any CIFAR-10 batch")
    if size % RECORD_BYTES:
        raise DatasetError(
            f"{source}: {size} bytes is not a whole number of {RECORD_BYTES}-byte records "
            f"({size // RECORD_BYTES} records and {size % RECORD_BYTES} bytes left over): "
            "truncated or padded"
        )


def read_cifar10_archive(
    path: str | os.PathLike, names: Sequence[str]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read batches (e.g. ``"test_batch.bin"``) straight from ``cifar-10-binary.tar.gz``.

    The archive (gzip-compressed or plain tar) is read in one streaming pass; members are
    matched by name inside ``cifar-10-batches-bin/`` (or at the top level) and decoded in
    memory. Nothing is extracted to disk. The gzip CRC is checked at the end.

    Raises
    ------
    DatasetError
        Not a tar/gzip file, damaged or truncated compression, a wanted member missing,
        present twice, not a regular file (link, directory, device) or of a bad size,
        records with a bad label, or more than padding after the tar end marker.
    """
    path = as_path(path)
    wanted = set(names)
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    with open_data_file(path) as raw:
        if os.fstat(raw.fileno()).st_size == 0:
            raise DatasetError(f"{path}: empty file")
        is_gzip = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        if path.suffix.lower() == ".gz" and not is_gzip:
            raise DatasetError(f"{path}: not gzip data (the name ends in .gz)")
        try:
            stream = gzip.GzipFile(fileobj=raw, mode="rb") if is_gzip else raw
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    name = _member_batch_name(member.name)
                    if name not in wanted:
                        continue
                    source = f"{path}:{member.name}"
                    if name in found:
                        raise DatasetError(f"{source}: the archive holds this member twice")
                    if not member.isreg():
                        raise DatasetError(f"{source}: not a regular file in the archive")
                    _check_batch_size(member.size, source)
                    data = tar.extractfile(member).read(member.size)
                    if len(data) != member.size:
                        raise DatasetError(
                            f"{source}: truncated member ({len(data)} of {member.size} bytes)"
                        )
                    found[name] = decode_records(data, source)
            if stream.read(_MAX_TAR_PADDING).strip(b"\0") or stream.read(1):
                raise DatasetError(f"{path}: unexpected data after the end of the tar archive")
        except DatasetError:
            raise
        except EOFError as e:
            raise DatasetError(f"{path}: truncated archive ({e})") from e
        except (tarfile.TarError, gzip.BadGzipFile, zlib.error) as e:
            raise DatasetError(f"{path}: corrupt archive ({type(e).__name__}: {e})") from e
        except OSError as e:
            raise DatasetError(f"{path}: read error ({e})") from e
    missing = [n for n in names if n not in found]
    if missing:
        raise DatasetError(f"{path}: the archive has no member {ARCHIVE_FOLDER}/{missing[0]}")
    return found


def _member_batch_name(name: str) -> str:
    """``cifar-10-batches-bin/x.bin`` or ``./x.bin`` -> ``x.bin``; anything else -> ''."""
    parts = [p for p in posixpath.normpath(name).split("/") if p not in ("", ".")]
    if len(parts) == 1 or (len(parts) == 2 and parts[0] == ARCHIVE_FOLDER):
        return parts[-1]
    return ""


def locate_cifar10(
    split: str = "train", root: str | os.PathLike | None = None
) -> Path | None:
    """Where ``load_cifar10`` would read ``split`` from (a folder of ``.bin`` files or the
    archive), without reading or downloading; None if not found locally."""
    names = BATCHES[check_split(split)]
    for directory, _ in search_dirs(CIFAR10.folder, root):
        for folder in (directory, directory / ARCHIVE_FOLDER):
            if all((folder / n).is_file() for n in names):
                return folder
        if (directory / ARCHIVE_NAME).is_file():
            return directory / ARCHIVE_NAME
    return None


def load_cifar10(
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = True,
    *,
    mirrors: Sequence[str] | None = None,
    progress: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 (binary version): 50,000 training and 10,000 test colour images, 32x32.

    Parameters
    ----------
    split : {"train", "test"}
        "train" concatenates ``data_batch_1.bin`` .. ``data_batch_5.bin`` in order.
    root : str or os.PathLike, optional
        Searched first (``root/cifar-10`` then ``root``), and the download target.
    download : bool
        Download ``cifar-10-binary.tar.gz`` (162 MiB, SHA-256 checked, atomic) when the
        data are nowhere locally; it is then read from the archive, not extracted.
    mirrors, progress
        As in :func:`glassnet.data.load_mnist`.

    Returns
    -------
    images : numpy.ndarray
        (N, 32, 32, 3) uint8, height x width x RGB (the files store channel planes; they
        are transposed once here).
    labels : numpy.ndarray
        (N,) int64 in 0..9 (class names: ``CIFAR10_CLASSES``).

    Notes
    -----
    In each searched folder, in order: the ``.bin`` files directly, in a
    ``cifar-10-batches-bin/`` subfolder, or the archive ``cifar-10-binary.tar.gz``.
    """
    split = check_split(split)
    names = BATCHES[split]
    where = locate_cifar10(split, root)
    if where is None and download:
        dest = download_dir(CIFAR10.folder, root)
        remote = CIFAR10.files[ARCHIVE_NAME]
        download_file(
            [base + remote.name for base in mirror_urls(CIFAR10, mirrors)],
            dest / remote.name,
            sha256=remote.sha256,
            size=remote.size,
            progress=progress,
        )
        where = dest / ARCHIVE_NAME
    if where is None:
        raise DatasetNotFoundError(_not_found_message(split, root))
    if where.is_dir():
        parts = [read_cifar10_batch(where / n) for n in names]
    else:
        batches = read_cifar10_archive(where, names)
        parts = [batches[n] for n in names]
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _not_found_message(split: str, root: str | os.PathLike | None) -> str:
    where = describe_search(search_dirs(CIFAR10.folder, root))
    names = ", ".join(BATCHES[split])
    return (
        f"CIFAR-10 ({split} split) not found: looked for {names} (directly or in "
        f"{ARCHIVE_FOLDER}/) and {ARCHIVE_NAME} in:\n{where}\nTo get it: allow "
        f"the download (load_cifar10(..., download=True); on the command line, leave out "
        f"--no-download) to fetch it into "
        f"{download_dir('cifar-10', root)}, or copy {ARCHIVE_NAME} (from "
        "https://www.cs.toronto.edu/~kriz/cifar.html) into one of the folders above "
        "(see docs/datasets.md)"
    )
