"""Checkpoints: a model, its optimizer state and metadata in one self-checking file.

No pickle anywhere. The file is

    magic  b"GLASSNET-CKPT\\n"   (14 bytes)
    version                      (4 bytes, big-endian)
    digest                       (32 bytes: SHA-256 of every other byte of the file)
    header length                (8 bytes, big-endian)
    header                       (UTF-8 JSON: model spec, optimizer state, epoch, meta)
    payload                      (an .npz archive of the arrays, read with allow_pickle=False)

Because the digest covers the magic, the version, the header and the payload, changing
any single byte anywhere in the file (or cutting it short, or appending to it) is
detected and raises ``CheckpointError``. Files are written to a temporary file in the same
folder, flushed and fsynced, then renamed over the destination: an existing checkpoint is
either the old one or the new one, never half of each.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from glassnet._fileio import atomic_write_bytes

MAGIC = b"GLASSNET-CKPT\n"
VERSION = 1
_DIGEST = 32
_PREFIX = len(MAGIC) + 4 + _DIGEST + 8
_ARRAY = "__ndarray__"
_TUPLE = "__tuple__"
_ITEMS = "__items__"


class CheckpointError(ValueError):
    """A checkpoint file is missing, damaged, truncated, tampered with or unreadable."""


# ---------------------------------------------------------------------- encoding
def _encode(value: Any, arrays: dict[str, np.ndarray], prefix: str) -> Any:
    """JSON-able form of nested dicts/lists/tuples with ndarrays moved into ``arrays``."""
    if isinstance(value, np.ndarray):
        key = f"{prefix}{len(arrays)}"
        if value.dtype.kind not in "biufc":
            raise TypeError(f"cannot store an array of dtype {value.dtype} in a checkpoint")
        arrays[key] = value
        return {_ARRAY: key}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        if all(isinstance(k, str) and k not in (_ARRAY, _TUPLE, _ITEMS) for k in value):
            return {k: _encode(v, arrays, prefix) for k, v in value.items()}
        return {
            _ITEMS: [
                [_encode(k, arrays, prefix), _encode(v, arrays, prefix)] for k, v in value.items()
            ]
        }
    if isinstance(value, tuple):
        return {_TUPLE: [_encode(v, arrays, prefix) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays, prefix) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(
        f"cannot store a {type(value).__name__} in a checkpoint: use numbers, strings, "
        "lists, dicts and ndarrays"
    )


def _decode(value: Any, arrays: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {_ARRAY}:
            return arrays[value[_ARRAY]]
        if set(value) == {_TUPLE}:
            return tuple(_decode(v, arrays) for v in value[_TUPLE])
        if set(value) == {_ITEMS}:
            return {_decode(k, arrays): _decode(v, arrays) for k, v in value[_ITEMS]}
        return {k: _decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    return value


# ---------------------------------------------------------------------- writing
def save(
    path: str | os.PathLike[str],
    model: Any,
    optimizer: Any = None,
    **meta: Any,
) -> Path:
    """Save ``model`` (its spec and weights), ``optimizer``'s state and ``meta``.

    Parameters
    ----------
    path : path-like
        The file to write (conventionally ``*.ckpt``); its folder must exist.
    model : glassnet.nn.Module
        Stored as ``model.get_config()`` (rebuilt by ``load``) plus ``model.state_dict()``.
    optimizer : glassnet.optim.Optimizer, optional
        Its class name and ``state_dict()``.
    **meta
        Numbers, strings, lists, dicts and ndarrays: ``epoch``, ``history``, RNG states...

    Returns the path written.
    """
    from glassnet import __version__

    arrays: dict[str, np.ndarray] = {}
    try:
        spec = model.get_config()
    except NotImplementedError as e:
        raise TypeError(f"cannot checkpoint {type(model).__name__}: {e}") from None
    state = model.state_dict()
    names = list(state)
    for i, name in enumerate(names):
        arrays[f"model{i}"] = np.asarray(state[name], order="C")  # keeps 0-d shapes
    header: dict[str, Any] = {
        "format": "glassnet-checkpoint",
        "version": VERSION,
        "glassnet_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "model": spec,
        "model_arrays": names,
        "optimizer": None,
        "epoch": meta.get("epoch"),
        "meta": _encode(meta, arrays, "meta"),
    }
    if optimizer is not None:
        header["optimizer"] = {
            "class": type(optimizer).__name__,
            "state": _encode(optimizer.state_dict(), arrays, "optim"),
        }
    head = json.dumps(header, allow_nan=True).encode("utf-8")
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    body = struct.pack(">Q", len(head)) + head + buf.getvalue()
    version = struct.pack(">I", VERSION)
    digest = hashlib.sha256(MAGIC + version + body).digest()
    atomic_write_bytes(path, MAGIC + version + digest + body)
    return Path(path)


# ---------------------------------------------------------------------- reading
@dataclass
class Checkpoint:
    """What ``load`` returns.

    ``model`` is rebuilt from the stored spec with the stored weights; ``state_dict`` holds
    those weights by name; ``optimizer_class`` and ``optimizer_state`` restore an optimizer
    (``optimizer.load_state_dict(ckpt.optimizer_state)``, or ``ckpt.make_optimizer(params)``);
    ``epoch`` and ``meta`` are what ``save`` was given.
    """

    path: Path
    model: Any
    state_dict: dict[str, np.ndarray]
    config: dict[str, Any]
    optimizer_class: str | None
    optimizer_state: dict[str, Any] | None
    epoch: int | None
    meta: dict[str, Any] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict, repr=False)

    def make_optimizer(self, params: Any) -> Any:
        """A new optimizer of the stored class over ``params``, with the stored state."""
        if self.optimizer_class is None or self.optimizer_state is None:
            raise CheckpointError(f"'{self.path}' holds no optimizer state")
        from glassnet import optim

        cls = getattr(optim, self.optimizer_class, None)
        if cls is None:
            raise CheckpointError(
                f"'{self.path}': unknown optimizer class {self.optimizer_class!r}"
            )
        groups = self.optimizer_state.get("param_groups") or [{"params": []}]
        params = list(params)

        def options(group: dict[str, Any]) -> dict[str, Any]:
            skip = ("params", "param_names", "initial_lr")
            return {k: v for k, v in group.items() if k not in skip}

        if len(groups) == 1:
            opt = cls(params, **options(groups[0]))
        else:  # rebuild each group with its own options and parameters (by position)
            try:
                opt = cls([{**options(g), "params": [params[i] for i in g["params"]]}
                           for g in groups])
            except IndexError:
                raise CheckpointError(
                    f"'{self.path}': the optimizer had more parameters than the "
                    f"{len(params)} given"
                ) from None
        opt.load_state_dict(self.optimizer_state)
        return opt


def read_verified(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and verify a checkpoint file: its JSON header and its arrays by name."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint '{path}' does not exist") from None
    except IsADirectoryError:
        raise CheckpointError(f"checkpoint '{path}' is a directory, not a file") from None
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint '{path}': {e.strerror}") from None
    if len(raw) < _PREFIX:
        raise CheckpointError(
            f"checkpoint '{path}' is truncated or empty ({len(raw)} bytes; the fixed "
            f"prefix alone is {_PREFIX})"
        )
    if raw[: len(MAGIC)] != MAGIC:
        raise CheckpointError(f"'{path}' is not a glassnet checkpoint (bad magic bytes)")
    version_bytes = raw[len(MAGIC) : len(MAGIC) + 4]
    digest = raw[len(MAGIC) + 4 : len(MAGIC) + 4 + _DIGEST]
    body = raw[len(MAGIC) + 4 + _DIGEST :]
    if hashlib.sha256(MAGIC + version_bytes + body).digest() != digest:
        raise CheckpointError(
            f"checkpoint '{path}' is damaged: its SHA-256 does not match its contents "
            "(truncated, modified or corrupted)"
        )
    (version,) = struct.unpack(">I", version_bytes)
    if version != VERSION:
        raise CheckpointError(f"checkpoint '{path}' has format version {version}; "
                              f"this glassnet reads version {VERSION}")
    (hlen,) = struct.unpack(">Q", body[:8])
    try:
        header = json.loads(body[8 : 8 + hlen].decode("utf-8"))
        with np.load(io.BytesIO(body[8 + hlen :]), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, UnicodeDecodeError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"checkpoint '{path}' cannot be parsed: {e}") from None
    if not isinstance(header, dict) or header.get("format") != "glassnet-checkpoint":
        raise CheckpointError(f"checkpoint '{path}' has no glassnet header")
    return header, arrays


def load(path: str | os.PathLike[str]) -> Checkpoint:
    """Load a checkpoint written by ``save``; raise ``CheckpointError`` if it is damaged."""
    import glassnet.models  # noqa: F401 - registers the lecture's models with from_config
    from glassnet import random as gn_random
    from glassnet.nn import from_config

    path = Path(path)
    header, arrays = read_verified(path)
    try:
        names = header["model_arrays"]
        state = {name: arrays[f"model{i}"] for i, name in enumerate(names)}
        # building the layers draws initial weights from the default generator; the
        # loaded values replace them, so loading must not move the caller's stream
        # (dropout masks of a run that loads a checkpoint mid-way, for instance)
        generator = gn_random.default_generator()
        before = generator.bit_generator.state
        try:
            model = from_config(header["model"])
        finally:
            generator.bit_generator.state = before
        model.load_state_dict(state)
        meta = _decode(header.get("meta") or {}, arrays)
        opt = header.get("optimizer")
        opt_state = _decode(opt["state"], arrays) if opt else None
    except CheckpointError:
        raise
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"checkpoint '{path}' is inconsistent: {e}") from None
    return Checkpoint(
        path=path,
        model=model,
        state_dict=state,
        config=header["model"],
        optimizer_class=opt["class"] if opt else None,
        optimizer_state=opt_state,
        epoch=header.get("epoch"),
        meta=meta,
        header=header,
    )
