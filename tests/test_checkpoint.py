"""Checkpoints: bitwise round trips, every damaged byte detected, atomic saves, no pickle."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import select
import signal
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet import checkpoint as C
from glassnet import losses, nn, optim
from glassnet.checkpoint import CheckpointError

SRC = Path(__file__).resolve().parents[1] / "src" / "glassnet"


def _trained(rng: np.random.Generator, dtype: type = np.float32) -> tuple[nn.Module, optim.Adam]:
    """An MLP with BatchNorm (buffers, an int64 counter) and dropout, after two Adam steps."""
    model = nn.MLP(3, [5], 4, batch_norm=True, dropout=0.2, generator=rng, dtype=dtype)
    opt = optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.99))
    x = rng.normal(size=(8, 3)).astype(dtype)
    y = rng.integers(0, 4, size=8)
    for _ in range(2):
        opt.zero_grad()
        losses.softmax_log_likelihood(model(x), y).backward()
        opt.step()
    return model, opt


def _assert_same(a: object, b: object, where: str = "") -> None:
    """Recursive equality with types, dtypes and bit-exact arrays."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape}"
        assert np.array_equal(a, b), f"{where}: arrays differ"
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            _assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: length {len(a)} != {len(b)}"
        for i, (u, v) in enumerate(zip(a, b)):
            _assert_same(u, v, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


# ---------------------------------------------------------------------- round trip
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_bitwise(tmp_path: Path, rng: np.random.Generator, dtype: type) -> None:
    model, opt = _trained(rng, dtype)
    meta = {
        "epoch": 7,
        "history": {"train_loss": [1.5, 0.25], "note": "x"},
        "labels": np.arange(5, dtype=np.int16),
        "pair": (1, "two"),
        "by_int": {3: "three", 10: [1.0, None]},
        "rng_state": np.random.default_rng(3).bit_generator.state,
    }
    path = gn.save(tmp_path / "m.ckpt", model, opt, **meta)
    ck = gn.load(path)

    assert isinstance(ck, gn.Checkpoint) and ck.epoch == 7
    state = model.state_dict()
    assert list(ck.state_dict) == list(state)
    for name, value in state.items():
        _assert_same(value, ck.state_dict[name], name)
    _assert_same(model.state_dict(), ck.model.state_dict(), "rebuilt model")
    _assert_same(opt.state_dict(), ck.optimizer_state, "optimizer")
    _assert_same(meta, ck.meta, "meta")
    assert type(ck.model) is type(model) and ck.model.get_config() == model.get_config()
    assert ck.optimizer_class == "Adam"

    x = rng.normal(size=(6, 3)).astype(dtype)
    model.eval()
    ck.model.eval()
    out, out2 = model(x).data, ck.model(x).data
    assert out.dtype == out2.dtype == np.dtype(dtype)
    assert np.array_equal(out, out2)


def test_make_optimizer_restores_state(tmp_path: Path, rng: np.random.Generator) -> None:
    model, opt = _trained(rng)
    ck = gn.load(gn.save(tmp_path / "m.ckpt", model, opt))
    opt2 = ck.make_optimizer(ck.model.parameters())
    assert type(opt2) is optim.Adam
    _assert_same(opt.state_dict(), opt2.state_dict(), "optimizer")
    no_opt = gn.load(gn.save(tmp_path / "plain.ckpt", model))
    assert no_opt.optimizer_state is None
    with pytest.raises(CheckpointError, match="plain.ckpt"):
        no_opt.make_optimizer(model.parameters())


def test_new_files_get_the_usual_permissions(tmp_path: Path) -> None:
    """Not the 0600 of a temporary file: what any program's new file gets (umask)."""
    path = gn.save(tmp_path / "m.ckpt", nn.Linear(2, 2, generator=0))
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    assert path.stat().st_mode & 0o777 == reference.stat().st_mode & 0o777


@pytest.mark.parametrize(
    ("meta", "match"),
    [
        ({"thing": object()}, "object"),
        ({"names": np.array(["a", "b"])}, "dtype"),
        ({"objects": np.array([None, 1], dtype=object)}, "dtype"),
    ],
)
def test_unstorable_meta_is_a_type_error(tmp_path: Path, meta: dict, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        gn.save(tmp_path / "m.ckpt", nn.Linear(2, 2, generator=0), **meta)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- damage
@pytest.fixture
def small_ckpt(tmp_path: Path, rng: np.random.Generator) -> tuple[Path, bytes]:
    """A tiny model's checkpoint (about 2 KB), with optimizer state and meta."""
    model = nn.Linear(2, 2, generator=rng)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses.l2(model(np.ones((3, 2), np.float32)), np.zeros((3, 2), np.float32)).backward()
    opt.step()
    path = gn.save(tmp_path / "tiny.ckpt", model, opt, epoch=2, history={"loss": [0.5]})
    data = path.read_bytes()
    assert 500 < len(data) < 5000
    return path, data


def _load_error(path: Path) -> str | None:
    """None if ``path`` raises a CheckpointError naming it; else what happened."""
    try:
        gn.load(path)
    except CheckpointError as e:
        return None if str(path) in str(e) else f"message does not name the file: {e}"
    except Exception as e:  # noqa: BLE001 - any other exception is the failure reported
        return f"{type(e).__name__}: {e}"
    return "loaded without error"


def test_every_single_bit_flip_is_detected(small_ckpt: tuple[Path, bytes]) -> None:
    path, data = small_ckpt
    bad = {}
    for offset in range(len(data)):
        damaged = bytearray(data)
        damaged[offset] ^= 1 << (offset % 8)  # every bit position is used along the way
        path.write_bytes(bytes(damaged))
        problem = _load_error(path)
        if problem is not None:
            bad[offset] = problem
    first = dict(list(bad.items())[:5])
    assert not bad, f"{len(bad)} bit flips undetected or badly reported, e.g. at offsets {first}"
    path.write_bytes(data)
    assert gn.load(path).epoch == 2


def test_every_truncation_is_detected(small_ckpt: tuple[Path, bytes]) -> None:
    path, data = small_ckpt
    bad = {}
    for length in range(len(data)):  # 0 .. len - 1
        path.write_bytes(data[:length])
        problem = _load_error(path)
        if problem is not None:
            bad[length] = problem
    assert not bad, f"undetected truncations at lengths {dict(list(bad.items())[:5])}"


@pytest.mark.parametrize("extra", [b"\0", b"x" * 100, b"COPY"])
def test_appended_bytes_are_detected(small_ckpt: tuple[Path, bytes], extra: bytes) -> None:
    path, data = small_ckpt
    path.write_bytes(data + (data if extra == b"COPY" else extra))
    assert _load_error(path) is None


def test_missing_empty_directory_and_foreign_files(tmp_path: Path) -> None:
    cases = {
        "missing.ckpt": None,
        "empty.ckpt": b"",
        "text.ckpt": b"hello, this is not a checkpoint at all" * 3,
    }
    buf = io.BytesIO()
    np.savez(buf, w=np.zeros(3))
    cases["plain.npz"] = buf.getvalue()
    (tmp_path / "folder.ckpt").mkdir()
    for name, content in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
    for name in [*cases, "folder.ckpt"]:
        with pytest.raises(CheckpointError, match=re.escape(str(tmp_path / name))):
            gn.load(tmp_path / name)
    assert issubclass(CheckpointError, ValueError)


def _forge(header: object, payload: bytes, version: int = C.VERSION, hlen: int | None = None
           ) -> bytes:
    """A file with a *correct* digest around whatever header and payload we like."""
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    v = struct.pack(">I", version)
    body = struct.pack(">Q", len(head) if hlen is None else hlen) + head + payload
    return C.MAGIC + v + hashlib.sha256(C.MAGIC + v + body).digest() + body


def _npz(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_resigned_but_malformed_files_are_checkpoint_errors(
    small_ckpt: tuple[Path, bytes],
) -> None:
    """Tampering that also rewrites the digest still ends in a CheckpointError."""
    path, data = small_ckpt
    (hlen,) = struct.unpack(">Q", data[C._PREFIX - 8 : C._PREFIX])
    head = json.loads(data[C._PREFIX : C._PREFIX + hlen])
    payload = data[C._PREFIX + hlen :]
    assert _forge(head, payload) == data  # the forger is faithful
    w = np.zeros((2, 2), np.float32)
    cases = {
        "json": _forge(b"{not json", payload),
        "utf8": _forge(b"\xff\xfe", payload),
        "list header": _forge([1, 2], payload),
        "other format": _forge({**head, "format": "other"}, payload),
        "version": _forge(head, payload, version=C.VERSION + 1),
        "header length": _forge(head, payload, hlen=10**12),
        "not a zip": _forge(head, b"PK\x03\x04" + bytes(100)),
        "no payload": _forge(head, b""),
        "pickled array": _forge(head, _npz(model0=np.array([{}], dtype=object), model1=w[0])),
        "array shape": _forge(head, _npz(model0=np.zeros((3, 3), np.float32), model1=w[0])),
        "missing array": _forge(head, _npz(model0=w)),
        "no arrays list": _forge({k: v for k, v in head.items() if k != "model_arrays"},
                                 payload),
        "unknown class": _forge({**head, "model": {"class": "os.system", "kwargs": {}}},
                                payload),
        "model not a dict": _forge({**head, "model": "Linear"}, payload),
        "meta array": _forge({**head, "meta": {"a": {"__ndarray__": "nope"}}}, payload),
        "optimizer": _forge({**head, "optimizer": [1]}, payload),
    }
    bad = {}
    for name, content in cases.items():
        path.write_bytes(content)
        problem = _load_error(path)
        if problem is not None:
            bad[name] = problem
    assert not bad, f"forged files not reported as CheckpointError: {bad}"


def test_no_pickle_anywhere_in_the_source() -> None:
    pattern = re.compile(
        r"^\s*(import|from)\s+(c?pickle|dill|joblib|shelve|marshal)\b|allow_pickle\s*=\s*True"
        r"|\.load\(.*allow_pickle(?!\s*=\s*False)",
        re.MULTILINE,
    )
    offenders = [
        f"{p.relative_to(SRC)}: {m.group(0).strip()}"
        for p in SRC.rglob("*.py")
        for m in pattern.finditer(p.read_text())
    ]
    assert not offenders, offenders
    text = (SRC / "checkpoint.py").read_text()
    assert "allow_pickle=False" in text  # the reader asks for it explicitly


# ---------------------------------------------------------------------- atomic saves
def _fail_on(monkeypatch: pytest.MonkeyPatch, name: str, exc: BaseException) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(C.os, name, boom)


class _HalfWriter:
    """A file object that writes half of the data and then fails (a full disk)."""

    def __init__(self, f: io.BufferedWriter) -> None:
        self.f = f

    def __enter__(self) -> _HalfWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.f.close()

    def fileno(self) -> int:
        return self.f.fileno()

    def write(self, data: bytes) -> int:
        self.f.write(data[: len(data) // 2])
        self.f.flush()
        raise OSError(28, "No space left on device")

    def flush(self) -> None:
        self.f.flush()


@pytest.mark.parametrize(
    "failure",
    ["fsync", "replace", "write", "interrupt in replace"],
)
def test_a_failed_save_leaves_the_old_checkpoint(
    small_ckpt: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    path, old = small_ckpt
    new_model = nn.Linear(2, 2, generator=1)
    if failure == "write":
        real_fdopen = os.fdopen
        monkeypatch.setattr(C.os, "fdopen", lambda fd, mode: _HalfWriter(real_fdopen(fd, mode)))
        expected: type[BaseException] = OSError
    elif failure == "interrupt in replace":
        _fail_on(monkeypatch, "replace", KeyboardInterrupt())
        expected = KeyboardInterrupt
    else:
        _fail_on(monkeypatch, failure, OSError(5, "Input/output error"))
        expected = OSError
    with pytest.raises(expected):
        gn.save(path, new_model, epoch=99)
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert gn.load(path).epoch == 2
    assert [p.name for p in path.parent.iterdir()] == [path.name], "a temporary file was left"


def _save_forever(path: Path, first: int, ready: int) -> None:
    """The body of a child process: save a 4 MB checkpoint again and again."""
    model = nn.Linear(1000, 1000, generator=0)
    i = first
    while True:
        i += 1
        model.bias.data[...] = i  # header (epoch) and payload must come from one save
        gn.save(path, model, epoch=i)
        if i == first + 1:
            os.write(ready, b"1")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_save_killed_at_random_moments_never_leaves_a_corrupt_file(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    """SIGKILL a process that saves in a loop, 20 times; the file always loads."""
    path = tmp_path / "big.ckpt"
    last = 0
    for kill in range(20):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child never returns into pytest
            try:
                os.close(r)
                _save_forever(path, last, w)
            finally:
                os._exit(1)
        os.close(w)
        try:
            assert select.select([r], [], [], 60)[0], "the saver did not save within 60 s"
            assert os.read(r, 1) == b"1", "the saver died before its first save"
            time.sleep(rng.uniform(0.0, 0.08))
        finally:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            os.close(r)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        ck = gn.load(path)  # raises if the kill left half a file
        assert ck.epoch > last, f"kill {kill}: the file went back to epoch {ck.epoch}"
        assert np.all(ck.model.bias.data == ck.epoch), "header and weights of different saves"
        last = ck.epoch
    stray = [p.name for p in tmp_path.iterdir() if p.name != path.name]
    # a SIGKILL cannot clean up: any leftover is a hidden temporary file, never the checkpoint
    assert all(n.startswith(".big.ckpt.") and n.endswith(".tmp") for n in stray), stray
    # the next successful save removes what the killed writers left
    gn.save(path, nn.Linear(2, 2, generator=0), epoch=last + 1)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_save_removes_only_dead_writers_temporary_files(tmp_path: Path) -> None:
    from glassnet._fileio import atomic_write_bytes

    child = os.fork() if hasattr(os, "fork") else None
    if child == 0:
        os._exit(0)
    dead = child if child is not None else 2**22 + 12345  # a PID no process has
    if child is not None:
        os.waitpid(child, 0)
    names = {
        "stale": f".x.bin.{dead}.abc_1234.tmp",  # a writer that was killed
        "live": f".x.bin.{os.getpid()}.def45678.tmp",  # a writer of this process, busy
        "other": ".x.bin.notes.tmp",  # not a writer's file
        "neighbour": f".y.bin.{dead}.abc_1234.tmp",  # another file's writer
        "longer": f".x.bin.7.{dead}.abc_1234.tmp",  # a writer of "x.bin.7"
    }
    for n in names.values():
        (tmp_path / n).write_bytes(b"partial")
    atomic_write_bytes(tmp_path / "x.bin", b"data")
    left = {p.name for p in tmp_path.iterdir()}
    assert names["stale"] not in left
    assert {names["live"], names["other"], names["neighbour"], names["longer"], "x.bin"} <= left
    assert (tmp_path / "x.bin").read_bytes() == b"data"


# ---------------------------------------------------------------------- where it is written
def test_save_into_a_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "nope" / "m.ckpt"
    with pytest.raises(FileNotFoundError, match=re.escape(str(target))):
        gn.save(target, nn.Linear(2, 2, generator=0))


def test_save_onto_a_directory(tmp_path: Path) -> None:
    (tmp_path / "d.ckpt").mkdir()
    with pytest.raises(IsADirectoryError, match=re.escape(str(tmp_path / "d.ckpt"))):
        gn.save(tmp_path / "d.ckpt", nn.Linear(2, 2, generator=0))


def test_save_under_a_regular_file(tmp_path: Path) -> None:
    """Root ignores permission bits, but nothing can be created below a plain file."""
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "m.ckpt"
    with pytest.raises(OSError, match=re.escape(str(target))):
        gn.save(target, nn.Linear(2, 2, generator=0))


def test_save_into_an_immutable_folder(tmp_path: Path) -> None:
    """``chattr +i`` makes a folder unwritable even for root (skipped where not allowed)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    try:
        done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    except FileNotFoundError:
        pytest.skip("chattr is not installed")
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not allowed here: {done.stderr.decode().strip()}")
    try:
        with pytest.raises(PermissionError, match=re.escape(str(folder / "m.ckpt"))):
            gn.save(folder / "m.ckpt", nn.Linear(2, 2, generator=0))
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert list(folder.iterdir()) == []


def test_make_optimizer_rebuilds_several_parameter_groups(tmp_path: Path) -> None:
    m = nn.Linear(3, 2, generator=0)
    opt = optim.SGD([{"params": [m.weight]}, {"params": [m.bias], "lr": 0.5}], lr=0.1,
                    momentum=0.9)
    x = gn.tensor(np.ones((4, 3), dtype=np.float32))
    for _ in range(3):
        opt.zero_grad()
        (m(x) ** 2).sum().backward()
        opt.step()
    gn.save(tmp_path / "g.ckpt", m, opt)
    ck = gn.load(tmp_path / "g.ckpt")
    again = ck.make_optimizer(list(ck.model.parameters()))
    assert [g["lr"] for g in again.param_groups] == [0.1, 0.5]
    state, saved = again.state_dict(), opt.state_dict()
    for k in saved["state"]:
        assert np.array_equal(state["state"][k]["momentum_buffer"],
                              saved["state"][k]["momentum_buffer"])


def test_load_leaves_the_default_generator_where_it_was(tmp_path: Path) -> None:
    """Building the model draws initial weights; loading must not shift the stream that
    dropout masks come from."""
    from glassnet import random as gn_random

    gn.save(tmp_path / "m.ckpt", gn.nn.MLP(5, [7], 3))
    gn.manual_seed(3)
    expected = gn_random.default_generator().random(4)
    gn.manual_seed(3)
    gn.load(tmp_path / "m.ckpt")
    assert np.array_equal(gn_random.default_generator().random(4), expected)
