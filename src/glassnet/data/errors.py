"""The errors raised by ``glassnet.data``."""

from __future__ import annotations


class DatasetError(ValueError):
    """A data file is damaged, has the wrong format, or cannot be read or fetched.

    The message names the file (or URL) and the fault, e.g.
    ``"/data/mnist/train-images-idx3-ubyte.gz: truncated payload: ..."``. Raw gzip, zlib,
    struct, tarfile, overflow and operating-system errors never escape the readers: they
    are translated into this class (the original is kept as ``__cause__``).
    """


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A file or a whole dataset is not where it was looked for.

    It is both a :class:`DatasetError` (so a ``ValueError``) and a ``FileNotFoundError``,
    so either ``except`` clause catches it. For a dataset, the message lists every place
    that was searched and how to get the data.
    """

    def __str__(self) -> str:
        # OSError formats "[Errno ...]" when given two arguments; we always pass one.
        return str(self.args[0]) if self.args else ""


class DownloadError(DatasetError):
    """Every mirror failed for a file (HTTP error, truncated transfer, wrong checksum)."""
