"""IDX reader and writer: tiny files written here, round trips, and two corruption tables.

The expected bytes are built by hand (struct + big-endian NumPy), independently of
``write_idx``; every damaged file must raise ``DatasetError`` naming the file.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glassnet.data import (
    DatasetError,
    DatasetNotFoundError,
    load_fashion_mnist,
    load_mnist,
    locate_mnist,
    read_idx,
    search_dirs,
    write_idx,
)
from glassnet.data import idx as idx_module
from glassnet.data import paths as data_paths

CODES = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C, "float32": 0x0D,
         "float64": 0x0E}


def idx_bytes(array: np.ndarray, code: int | None = None, dims: tuple | None = None) -> bytes:
    """IDX bytes written by hand: 00 00 code ndim, big-endian u32 dims, big-endian data."""
    array = np.asarray(array)
    code = CODES[array.dtype.name] if code is None else code
    dims = array.shape if dims is None else dims
    header = bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def sample(dtype: str, rng: np.random.Generator, shape=(3, 4, 5)) -> np.ndarray:
    if dtype.startswith("float"):
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


# ---------------------------------------------------------------- reading good files


@pytest.mark.parametrize("dtype", list(CODES))
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_read_hand_written_file(tmp_path, rng, dtype, compressed):
    array = sample(dtype, rng)
    data = idx_bytes(array)
    path = tmp_path / ("a-idx3-ubyte.gz" if compressed else "a-idx3-ubyte")
    path.write_bytes(gzip.compress(data) if compressed else data)
    out = read_idx(path)
    assert out.shape == (3, 4, 5)
    assert out.dtype == np.dtype(dtype)
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, array)


def test_big_endian_decoding(tmp_path):
    path = tmp_path / "x.idx"
    header = bytes([0, 0, 0x0C, 1, 0, 0, 0, 2])
    path.write_bytes(header + bytes([1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFE]))
    np.testing.assert_array_equal(read_idx(path), np.array([0x01020304, -2], dtype=np.int32))


def test_gzip_is_detected_by_content_not_name(tmp_path, rng):
    array = sample("uint8", rng, (7, 2))
    path = tmp_path / "labels-idx2-ubyte"  # no .gz, but gzip inside
    path.write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(read_idx(path), array)


def test_multi_member_gzip_is_read(tmp_path, rng):
    data = idx_bytes(sample("int16", rng, (6, 5)))
    path = tmp_path / "m.gz"
    path.write_bytes(gzip.compress(data[:20]) + gzip.compress(data[20:]))
    np.testing.assert_array_equal(read_idx(path), read_idx_plain(tmp_path, data))


def read_idx_plain(tmp_path, data: bytes) -> np.ndarray:
    path = tmp_path / "plain.idx"
    path.write_bytes(data)
    return read_idx(path)


def test_accepts_str_path(tmp_path, rng):
    array = sample("uint8", rng, (2, 2))
    (tmp_path / "s.idx").write_bytes(idx_bytes(array))
    np.testing.assert_array_equal(read_idx(str(tmp_path / "s.idx")), array)


def test_rejects_non_path():
    with pytest.raises(TypeError, match="path"):
        read_idx(123)


# ---------------------------------------------------------------- writing


@pytest.mark.parametrize("dtype", list(CODES))
def test_write_plain_matches_hand_written_bytes(tmp_path, rng, dtype):
    array = sample(dtype, rng, (4, 3))
    write_idx(tmp_path / "w.idx", array)
    assert (tmp_path / "w.idx").read_bytes() == idx_bytes(array)


@pytest.mark.parametrize("dtype", list(CODES))
def test_write_gzip_round_trip_and_content(tmp_path, rng, dtype):
    array = sample(dtype, rng, (2, 3, 4))
    path = tmp_path / "w-idx3-ubyte.gz"
    write_idx(path, array)
    assert gzip.decompress(path.read_bytes()) == idx_bytes(array)
    np.testing.assert_array_equal(read_idx(path), array)


def test_write_is_deterministic(tmp_path, rng):
    array = sample("uint8", rng, (10, 10))
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "b.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_write_compress_flag_overrides_suffix(tmp_path, rng):
    array = sample("uint8", rng, (3,))
    write_idx(tmp_path / "c.idx", array, compress=True)
    assert (tmp_path / "c.idx").read_bytes()[:2] == b"\x1f\x8b"
    write_idx(tmp_path / "d.gz", array, compress=False)
    assert (tmp_path / "d.gz").read_bytes() == idx_bytes(array)


def test_write_accepts_big_endian_input(tmp_path):
    array = np.array([1, -2, 300], dtype=">i2")
    write_idx(tmp_path / "e.idx", array)
    np.testing.assert_array_equal(read_idx(tmp_path / "e.idx"), [1, -2, 300])


@pytest.mark.parametrize(
    "array, error, fragment",
    [
        (np.zeros(3, dtype=np.int64), TypeError, "int64"),
        (np.zeros(3, dtype=bool), TypeError, "bool"),
        (np.zeros(3, dtype=np.complex64), TypeError, "complex64"),
        (np.zeros(3, dtype=np.uint16), TypeError, "uint16"),
        (np.uint8(3), ValueError, "dimensions"),
        (np.zeros((2, 0), dtype=np.uint8), ValueError, r"\(2, 0\)"),
    ],
    ids=["int64", "bool", "complex", "uint16", "0-d", "zero-dim"],
)
def test_write_rejects_what_idx_cannot_store(tmp_path, array, error, fragment):
    with pytest.raises(error, match=fragment):
        write_idx(tmp_path / "bad.idx", array)
    assert list(tmp_path.iterdir()) == []


def test_write_is_atomic_on_failure(tmp_path, rng, monkeypatch):
    path = tmp_path / "keep.idx"
    old = sample("uint8", rng, (5,))
    write_idx(path, old)

    def broken(f, header, payload):
        f.write(header)
        raise OSError("disk full")

    monkeypatch.setattr(idx_module, "_write_all", broken)
    with pytest.raises(OSError, match="disk full"):
        write_idx(path, sample("uint8", rng, (50,)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.idx"]
    np.testing.assert_array_equal(read_idx(path), old)


# ---------------------------------------------------------------- corruption tables

BASE = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
GOOD = idx_bytes(BASE)  # 4 + 12 header bytes, 60 payload bytes
HEADER = GOOD[:16]


def with_byte(data: bytes, position: int, value: int) -> bytes:
    out = bytearray(data)
    out[position] = value
    return bytes(out)


PLAIN_CASES = {
    "empty file": (b"", "empty file"),
    "one byte": (b"\x00", "truncated header"),
    "three bytes": (b"\x00\x00\x08", "truncated header"),
    "magic byte 0 wrong": (with_byte(GOOD, 0, 1), "not an IDX file"),
    "magic byte 1 wrong": (with_byte(GOOD, 1, 8), "not an IDX file"),
    "text file": (b"this is not an idx file at all\n", "not an IDX file"),
    "unknown dtype 0x07": (with_byte(GOOD, 2, 0x07), "unknown IDX dtype code 0x07"),
    "unknown dtype 0xFF": (with_byte(GOOD, 2, 0xFF), "unknown IDX dtype code 0xFF"),
    "zero dimensions": (with_byte(GOOD, 3, 0), "0 dimensions"),
    "too many dimensions": (with_byte(GOOD, 3, 200), "200 dimensions"),
    "header cut inside dims": (GOOD[:10], "truncated header"),
    "a dimension is 0": (idx_bytes(BASE, dims=(3, 0, 5)), "dimension 1 is 0"),
    "absurd dimensions": (idx_bytes(BASE, dims=(2**32 - 1,) * 3), "max_bytes"),
    "payload one byte short": (GOOD[:-1], "truncated payload"),
    "payload missing": (HEADER, "truncated payload"),
    "one trailing byte": (GOOD + b"\x00", "trailing bytes"),
    "file written twice": (GOOD + GOOD, "trailing bytes"),
    "dtype code says int32": (with_byte(GOOD, 2, 0x0C), "truncated payload"),
    "dims too large": (idx_bytes(BASE, dims=(4, 4, 5)), "truncated payload"),
    "dims too small": (idx_bytes(BASE, dims=(2, 4, 5)), "trailing bytes"),
    "dims say 1-d": (with_byte(GOOD, 3, 1), "trailing bytes"),
}


@pytest.mark.parametrize("data, fragment", PLAIN_CASES.values(), ids=PLAIN_CASES.keys())
def test_plain_corruption_raises_dataset_error(tmp_path, data, fragment):
    path = tmp_path / "damaged-idx3-ubyte"
    path.write_bytes(data)
    with pytest.raises(DatasetError, match=fragment) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_plain_table_is_big_enough():
    assert len(PLAIN_CASES) >= 15


GZ = gzip.compress(GOOD, mtime=0)


def gz_with_byte(position: int, xor: int) -> bytes:
    out = bytearray(GZ)
    out[position] ^= xor
    return bytes(out)


BOMB = gzip.compress(idx_bytes(np.zeros(10, dtype=np.uint8)) + bytes(20_000_000), mtime=0)

GZIP_CASES = {
    "empty .gz": (b"", "empty file"),
    "plain IDX named .gz": (GOOD, "not gzip data"),
    "text named .gz": (b"hello", "not gzip data"),
    "only the gzip magic": (b"\x1f\x8b", "truncated gzip stream"),
    "gzip header only": (GZ[:10], "truncated gzip stream"),
    "stream cut in half": (GZ[: len(GZ) // 2], "truncated gzip stream"),
    "trailer missing": (GZ[:-8], "truncated gzip stream"),
    "last byte missing": (GZ[:-1], "truncated gzip stream"),
    "CRC wrong": (gz_with_byte(len(GZ) - 8, 0xFF), "corrupt gzip stream"),
    "length field wrong": (gz_with_byte(len(GZ) - 4, 0x01), "corrupt gzip stream"),
    "deflate data damaged": (gz_with_byte(12, 0xFF), "corrupt gzip stream"),
    "unknown compression method": (gz_with_byte(2, 0x01), "corrupt gzip stream"),
    "garbage after the gzip member": (GZ + b"garbage!", "corrupt gzip stream"),
    "inside: payload short": (gzip.compress(GOOD[:-3]), "truncated payload"),
    "inside: trailing bytes": (gzip.compress(GOOD + b"\x01\x02"), "trailing bytes"),
    "inside: wrong magic": (gzip.compress(with_byte(GOOD, 0, 9)), "not an IDX file"),
    "inside: unknown dtype": (gzip.compress(with_byte(GOOD, 2, 0x0A)), "unknown IDX dtype"),
    "inside: zero dim": (gzip.compress(idx_bytes(BASE, dims=(3, 4, 0))), "dimension 2 is 0"),
    "inside: empty": (gzip.compress(b""), "truncated header"),
    "inside: header cut": (gzip.compress(GOOD[:7]), "truncated header"),
    "inside: MNIST-sized header, tiny file": (
        gzip.compress(idx_bytes(BASE, dims=(60000, 28, 28))), "can hold"),
    "inside: absurd dims": (gzip.compress(idx_bytes(BASE, dims=(2**32 - 1,) * 4)), "max_bytes"),
    "decompression bomb": (BOMB, "trailing bytes"),
}


@pytest.mark.parametrize("data, fragment", GZIP_CASES.values(), ids=GZIP_CASES.keys())
def test_gzip_corruption_raises_dataset_error(tmp_path, data, fragment):
    path = tmp_path / "damaged-idx3-ubyte.gz"
    path.write_bytes(data)
    with pytest.raises(DatasetError, match=fragment) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_gzip_table_is_big_enough():
    assert len(GZIP_CASES) >= 15


def test_crc_damage_really_is_in_the_crc():
    """The 'CRC wrong' case damages the stored CRC, not the data (negative control)."""
    damaged = gz_with_byte(len(GZ) - 8, 0xFF)
    assert struct.unpack("<I", GZ[-8:-4])[0] == zlib.crc32(GOOD)
    assert struct.unpack("<I", damaged[-8:-4])[0] != zlib.crc32(GOOD)
    assert zlib.decompress(damaged[10:-8], -15) == GOOD


@pytest.mark.parametrize(
    "data",
    [idx_bytes(BASE, dims=(2**32 - 1,) * 3), gzip.compress(idx_bytes(BASE, dims=(60000, 28, 28)))],
    ids=["plain", "gzip"],
)
def test_absurd_sizes_fail_before_allocating(tmp_path, monkeypatch, data):
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(data)

    def no_allocation(*args, **kwargs):
        raise AssertionError("the payload was allocated before its size was checked")

    monkeypatch.setattr(np, "empty", no_allocation)
    with pytest.raises(DatasetError):
        read_idx(path)


def test_max_bytes_limit(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(GOOD)
    assert read_idx(path, max_bytes=60).shape == (3, 4, 5)
    with pytest.raises(DatasetError, match="max_bytes=59"):
        read_idx(path, max_bytes=59)


def test_missing_file_is_dataset_and_file_not_found_error(tmp_path):
    path = tmp_path / "absent-idx1-ubyte.gz"
    with pytest.raises(DatasetNotFoundError) as info:
        read_idx(path)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, DatasetError)
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value)


def test_directory_instead_of_file(tmp_path):
    folder = tmp_path / "train-images-idx3-ubyte.gz"
    folder.mkdir()
    with pytest.raises(DatasetError, match="directory") as info:
        read_idx(folder)
    assert str(folder) in str(info.value)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="needs POSIX permissions and a non-root user")
def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.idx"
    path.write_bytes(GOOD)
    path.chmod(0)
    with pytest.raises(DatasetError, match="permission denied"):
        read_idx(path)


# ---------------------------------------------------------------- fuzzing

INT_ARRAY = np.arange(24, dtype=np.int32).reshape(2, 3, 4) * 1000 - 7000
FUZZ_BASE = {"plain": idx_bytes(INT_ARRAY), "gzip": gzip.compress(idx_bytes(INT_ARRAY), mtime=0)}


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["plain", "gzip"]),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=3),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
    tail=st.binary(max_size=4),
)
def test_fuzzed_files_give_an_array_or_dataset_error(tmp_path, kind, edits, cut, tail):
    data = bytearray(FUZZ_BASE[kind])
    for position, xor in edits:
        data[position % len(data)] ^= xor
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    data += tail
    path = tmp_path / f"fuzz-{kind}.bin"
    path.write_bytes(bytes(data))
    try:
        out = read_idx(path)
    except DatasetError as e:
        assert str(path) in str(e)
    else:
        assert isinstance(out, np.ndarray) and out.size >= 1


# ---------------------------------------------------------------- MNIST loaders, local files


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Search places confined to tmp_path; no network (download=False in every call)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GLASSNET_DATA", raising=False)
    monkeypatch.delenv("GLASSNET_MIRROR", raising=False)
    monkeypatch.setattr(data_paths, "SYSTEM_DIRS", {"fashion-mnist": [tmp_path / "system"]})
    return tmp_path


def write_split(folder, rng, split="train", n=4, gz=True, dotted=False, images=None,
                labels=None):
    """Write one split by hand; returns (images, labels) as written."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix = "train" if split == "train" else "t10k"
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) if images is None else images
    labels = rng.integers(0, 10, n).astype(np.uint8) if labels is None else labels
    sep = "." if dotted else "-"
    for kind, idx, array in (("images", "idx3", images), ("labels", "idx1", labels)):
        data = idx_bytes(array)
        name = f"{prefix}-{kind}{sep}{idx}-ubyte" + (".gz" if gz else "")
        (folder / name).write_bytes(gzip.compress(data) if gz else data)
    return images, labels


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
@pytest.mark.parametrize("dotted", [False, True], ids=["dashed", "dotted"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_mnist_from_root_in_every_naming(env, rng, gz, dotted, split):
    images, labels = write_split(env / "root", rng, split, gz=gz, dotted=dotted)
    out_images, out_labels = load_mnist(split, root=env / "root", download=False)
    np.testing.assert_array_equal(out_images, images)
    np.testing.assert_array_equal(out_labels, labels)
    assert out_images.dtype == np.uint8 and out_labels.dtype == np.int64


def test_search_order(env, rng, monkeypatch):
    """root/mnist, root, each $GLASSNET_DATA dir in order, then the cache."""
    sizes = {"cache": 1, "env2": 2, "env1": 3, "root": 4, "root-sub": 5}
    write_split(env / "cache" / "glassnet" / "mnist", rng, n=sizes["cache"])
    assert len(load_mnist("train", download=False)[1]) == 1
    write_split(env / "env2" / "mnist", rng, n=sizes["env2"])
    monkeypatch.setenv("GLASSNET_DATA", os.pathsep.join([str(env / "env1"), str(env / "env2")]))
    assert len(load_mnist("train", download=False)[1]) == 2
    write_split(env / "env1" / "mnist", rng, n=sizes["env1"])
    assert len(load_mnist("train", download=False)[1]) == 3
    write_split(env / "root", rng, n=sizes["root"])
    assert len(load_mnist("train", root=env / "root", download=False)[1]) == 4
    write_split(env / "root" / "mnist", rng, n=sizes["root-sub"])
    assert len(load_mnist("train", root=env / "root", download=False)[1]) == 5


def test_fashion_uses_its_own_folder_and_the_system_folder_last(env, rng):
    write_split(env / "system", rng, n=2)
    write_split(env / "cache" / "glassnet" / "mnist", rng, n=7)  # MNIST is never used
    assert len(load_fashion_mnist("train", download=False)[1]) == 2
    write_split(env / "cache" / "glassnet" / "fashion-mnist", rng, n=3)
    assert len(load_fashion_mnist("train", download=False)[1]) == 3
    assert locate_mnist("train", fashion=True)[0].parent == env / "cache" / "glassnet" / (
        "fashion-mnist")


def test_cache_location_follows_xdg_and_home(env, monkeypatch):
    assert data_paths.cache_dir() == env / "cache" / "glassnet"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # ignored, as the XDG spec says
    monkeypatch.setenv("HOME", str(env / "home"))
    assert data_paths.cache_dir() == env / "home" / ".cache" / "glassnet"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data_paths.cache_dir() == env / "home" / ".cache" / "glassnet"


def test_incomplete_folder_is_skipped(env, rng):
    write_split(env / "root", rng)
    (env / "root" / "train-labels-idx1-ubyte.gz").unlink()
    write_split(env / "cache" / "glassnet" / "mnist", rng, n=6)
    assert len(load_mnist("train", root=env / "root", download=False)[1]) == 6


def test_not_found_lists_every_place_and_the_remedies(env, monkeypatch):
    monkeypatch.setenv("GLASSNET_DATA", str(env / "shared"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_fashion_mnist("test", root=env / "mine", download=False)
    message = str(info.value)
    places = [env / "mine" / "fashion-mnist", env / "mine", env / "shared" / "fashion-mnist",
              env / "cache" / "glassnet" / "fashion-mnist", env / "system"]
    assert [p for p, _ in search_dirs("fashion-mnist", env / "mine")] == places
    for place in places:
        assert str(place) in message
    for hint in ("t10k-images-idx3-ubyte.gz", "download=True", "apt-get install "
                 "dataset-fashion-mnist", "docs/datasets.md"):
        assert hint in message
    assert isinstance(info.value, FileNotFoundError)


def test_glassnet_data_unset_is_mentioned(env):
    with pytest.raises(DatasetNotFoundError, match=r"\$GLASSNET_DATA is not set"):
        load_mnist("train", download=False)


@pytest.mark.parametrize(
    "images, labels, fragment, culprit",
    [
        (np.zeros((3, 28, 28), np.uint8), np.zeros(4, np.uint8), "3 images but", "images"),
        (np.zeros((3, 28, 28), np.uint8), np.array([0, 10, 1], np.uint8), "label 10 at index 1",
         "labels"),
        (np.zeros((3, 32, 32), np.uint8), np.zeros(3, np.uint8), r"\(N, 28, 28\)", "images"),
        (np.zeros((3, 28, 28), np.float32), np.zeros(3, np.uint8), "float32", "images"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros((3, 1), np.uint8), r"\(N,\) uint8",
         "labels"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros(3, np.int32), "int32", "labels"),
    ],
    ids=["count mismatch", "label 10", "32x32 images", "float images", "2-d labels",
         "int32 labels"],
)
def test_loader_content_checks(env, rng, images, labels, fragment, culprit):
    write_split(env / "root", rng, images=images, labels=labels)
    with pytest.raises(DatasetError, match=fragment) as info:
        load_mnist("train", root=env / "root", download=False)
    assert f"train-{culprit}-idx" in str(info.value)


def test_damaged_file_in_the_first_folder_is_reported_not_skipped(env, rng):
    write_split(env / "root", rng)
    write_split(env / "cache" / "glassnet" / "mnist", rng)
    path = env / "root" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="truncated gzip stream") as info:
        load_mnist("train", root=env / "root", download=False)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("split", ["training", "TEST", "", None])
def test_bad_split(env, split):
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        load_mnist(split, download=False)
