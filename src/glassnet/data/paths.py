"""Where datasets are looked for, in order, and where downloads go.

For a dataset whose folder name is ``<folder>`` (``mnist``, ``fashion-mnist``,
``cifar-10``) the search order is:

1. ``root/<folder>`` then ``root`` itself, when the loader gets ``root=``;
2. ``<dir>/<folder>`` for each directory in ``$GLASSNET_DATA`` (several may be given,
   separated by ``os.pathsep``, ``:`` on Linux);
3. the user cache ``<cache>/<folder>``, where ``<cache>`` is ``$XDG_CACHE_HOME/glassnet``
   or ``~/.cache/glassnet``;
4. system folders where a distribution installs the data (Fashion-MNIST:
   ``/usr/share/datasets/fashion-mnist``, Debian's ``dataset-fashion-mnist``).

Downloads go to ``root/<folder>`` when ``root`` is given, else to the user cache.
The environment is read at each call, not at import.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from glassnet.data._checks import as_path

SYSTEM_DIRS: dict[str, list[Path]] = {
    "fashion-mnist": [Path("/usr/share/datasets/fashion-mnist")],
}
"""Extra read-only folders per dataset folder name (edit to add your site's copies)."""


def cache_dir() -> Path:
    """The user cache for glassnet: ``$XDG_CACHE_HOME/glassnet`` or ``~/.cache/glassnet``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg):  # the XDG spec says relative values are to be ignored
        return Path(xdg) / "glassnet"
    try:
        return Path.home() / ".cache" / "glassnet"
    except (RuntimeError, KeyError):  # no home directory at all
        return Path(tempfile.gettempdir()) / "glassnet-cache"


def env_data_dirs() -> list[Path]:
    """The directories named by ``$GLASSNET_DATA`` (``os.pathsep``-separated), in order."""
    value = os.environ.get("GLASSNET_DATA", "")
    return [Path(part).expanduser() for part in value.split(os.pathsep) if part.strip()]


def search_dirs(folder: str, root: str | os.PathLike | None = None) -> list[tuple[Path, str]]:
    """Every directory searched for a dataset, in order, each with where it came from.

    Parameters
    ----------
    folder : str
        The dataset's folder name: ``"mnist"``, ``"fashion-mnist"`` or ``"cifar-10"``.
    root : str or os.PathLike, optional
        The loader's ``root`` argument.

    Returns
    -------
    list of (pathlib.Path, str)
        Directories (existing or not, duplicates removed) and a short origin label such
        as ``"root"``, ``"$GLASSNET_DATA"``, ``"user cache"`` or ``"system"``.
    """
    found: list[tuple[Path, str]] = []
    if root is not None:
        root = as_path(root, "root").expanduser()
        found += [(root / folder, "root"), (root, "root")]
    found += [(d / folder, "$GLASSNET_DATA") for d in env_data_dirs()]
    found.append((cache_dir() / folder, "user cache"))
    found += [(d, "system") for d in SYSTEM_DIRS.get(folder, [])]
    unique, seen = [], set()
    for path, origin in found:
        key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            unique.append((path, origin))
    return unique


def download_dir(folder: str, root: str | os.PathLike | None = None) -> Path:
    """Where a loader stores downloads: ``root/<folder>`` if ``root`` is given, else the cache."""
    if root is not None:
        return as_path(root, "root").expanduser() / folder
    return cache_dir() / folder


def describe_search(dirs: list[tuple[Path, str]]) -> str:
    """The searched folders, one per line, for a not-found message."""
    lines = [f"  {path}  ({origin})" for path, origin in dirs]
    if not env_data_dirs():
        lines.append("  ($GLASSNET_DATA is not set)")
    return "\n".join(lines)
