"""CIFAR-10 binary reader: tiny batches and archives written here, layouts, corruption table."""

from __future__ import annotations

import ast
import gzip
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

import glassnet.data
from glassnet.data import (
    DatasetError,
    DatasetNotFoundError,
    load_cifar10,
    locate_cifar10,
    read_cifar10_archive,
    read_cifar10_batch,
)
from glassnet.data import paths as data_paths

TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
ALL = TRAIN + ["test_batch.bin"]


def make_batch(rng: np.random.Generator, n: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    """Records built by hand: label byte, then the red, green and blue 32x32 planes."""
    labels = rng.integers(0, 10, size=n)
    planes = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    records = b"".join(bytes([labels[i]]) + planes[i].tobytes() for i in range(n))
    # The expected HWC image, pixel by pixel: image[h, w, c] = plane c at row h, column w.
    expected = np.empty((n, 32, 32, 3), dtype=np.uint8)
    for c in range(3):
        expected[:, :, :, c] = planes[:, c]
    return records, expected, labels


@pytest.fixture
def batches(rng):
    """Six tiny batches (2 or 3 records each), by file name."""
    return {name: make_batch(rng, 2 + i % 2) for i, name in enumerate(ALL)}


def write_dir(folder: Path, batches: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (records, _, _) in batches.items():
        (folder / name).write_bytes(records)
    return folder


def tar_bytes(members: list[tuple[tarfile.TarInfo, bytes | None]], compress=True) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    raw = buffer.getvalue()
    return gzip.compress(raw, mtime=0) if compress else raw


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def archive_of(batches: dict, folder="cifar-10-batches-bin/", extra=()) -> bytes:
    members = [file_member(folder + "batches.meta.txt", b"airplane\nautomobile\n")]
    members += [file_member(folder + name, records) for name, (records, _, _) in batches.items()]
    return tar_bytes(members + list(extra))


def expected_split(batches: dict, split: str):
    names = TRAIN if split == "train" else ["test_batch.bin"]
    return (np.concatenate([batches[n][1] for n in names]),
            np.concatenate([batches[n][2] for n in names]))


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """No real cache or $GLASSNET_DATA: every search happens inside tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GLASSNET_DATA", raising=False)
    monkeypatch.delenv("GLASSNET_MIRROR", raising=False)
    monkeypatch.setattr(data_paths, "SYSTEM_DIRS", {})


# ---------------------------------------------------------------- good data


def test_batch_decodes_planes_to_hwc(tmp_path, rng):
    records, expected, labels = make_batch(rng, 4)
    (tmp_path / "b.bin").write_bytes(records)
    images, out_labels = read_cifar10_batch(tmp_path / "b.bin")
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.uint8
    assert images.flags.c_contiguous
    assert out_labels.dtype == np.int64
    np.testing.assert_array_equal(images, expected)
    np.testing.assert_array_equal(out_labels, labels)


def test_first_pixel_bytes(tmp_path):
    record = bytearray(3073)
    record[0] = 7
    record[1], record[1 + 1024], record[1 + 2048] = 10, 20, 30  # R, G, B of pixel (0, 0)
    record[1 + 32 + 2] = 99  # red at row 1, column 2
    (tmp_path / "one.bin").write_bytes(bytes(record))
    images, labels = read_cifar10_batch(tmp_path / "one.bin")
    assert labels.tolist() == [7]
    assert images[0, 0, 0].tolist() == [10, 20, 30]
    assert images[0, 1, 2].tolist() == [99, 0, 0]


@pytest.mark.parametrize("layout", ["root", "root/cifar-10", "root/cifar-10/cifar-10-batches-bin",
                                    "root/cifar-10-batches-bin"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_load_from_folders(tmp_path, batches, layout, split):
    root = tmp_path / "root"
    write_dir(tmp_path / layout, batches)
    images, labels = load_cifar10(split, root=root, download=False)
    want_images, want_labels = expected_split(batches, split)
    np.testing.assert_array_equal(images, want_images)
    np.testing.assert_array_equal(labels, want_labels)
    assert images.shape == (len(want_labels), 32, 32, 3)


@pytest.mark.parametrize("split", ["train", "test"])
def test_load_from_archive_equals_folder(tmp_path, batches, split):
    archive = tmp_path / "root" / "cifar-10" / "cifar-10-binary.tar.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(archive_of(batches))
    assert locate_cifar10(split, root=tmp_path / "root") == archive
    images, labels = load_cifar10(split, root=tmp_path / "root", download=False)
    want_images, want_labels = expected_split(batches, split)
    np.testing.assert_array_equal(images, want_images)
    np.testing.assert_array_equal(labels, want_labels)
    assert sorted(p.name for p in archive.parent.iterdir()) == ["cifar-10-binary.tar.gz"]


def test_archive_members_at_top_level_and_dot_slash(tmp_path, batches):
    for folder in ("", "./"):
        path = tmp_path / f"a{len(folder)}.tar.gz"
        path.write_bytes(archive_of(batches, folder=folder))
        out = read_cifar10_archive(path, ["test_batch.bin"])
        np.testing.assert_array_equal(out["test_batch.bin"][1], batches["test_batch.bin"][2])


def test_plain_tar_is_read_by_content(tmp_path, batches):
    path = tmp_path / "cifar.tar"
    members = [file_member("cifar-10-batches-bin/" + n, batches[n][0]) for n in ALL]
    path.write_bytes(tar_bytes(members, compress=False))
    out = read_cifar10_archive(path, ["data_batch_2.bin"])
    np.testing.assert_array_equal(out["data_batch_2.bin"][0], batches["data_batch_2.bin"][1])


def test_members_outside_the_folder_are_ignored_and_nothing_is_extracted(tmp_path, batches):
    evil = [file_member("../../evil/test_batch.bin", b"x" * 3073),
            file_member("/etc/test_batch.bin", b"x" * 3073)]
    path = tmp_path / "work" / "a.tar.gz"
    path.parent.mkdir()
    path.write_bytes(archive_of(batches, extra=evil))
    out = read_cifar10_archive(path, ["test_batch.bin"])
    np.testing.assert_array_equal(out["test_batch.bin"][0], batches["test_batch.bin"][1])
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.tar.gz", "work"]


def test_global_search_order(tmp_path, monkeypatch, batches, rng):
    """root beats $GLASSNET_DATA, which beats the cache."""
    other = {name: make_batch(rng, 1) for name in ALL}
    write_dir(tmp_path / "env" / "cifar-10", other)
    write_dir(tmp_path / "cache" / "glassnet" / "cifar-10", other)
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "env"))
    assert len(load_cifar10("test", download=False)[1]) == 1
    write_dir(tmp_path / "root", batches)
    assert len(load_cifar10("test", root=tmp_path / "root", download=False)[1]) == 3


def test_not_found_lists_every_place(tmp_path, monkeypatch):
    monkeypatch.setenv("GLASSNET_DATA", str(tmp_path / "env"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_cifar10("train", root=tmp_path / "mine", download=False)
    message = str(info.value)
    for place in (tmp_path / "mine" / "cifar-10", tmp_path / "mine", tmp_path / "env" / "cifar-10",
                  tmp_path / "cache" / "glassnet" / "cifar-10"):
        assert str(place) in message
    assert "download=True" in message and "cifar-10-binary.tar.gz" in message


def test_incomplete_folder_is_not_used(tmp_path, batches):
    del batches["data_batch_3.bin"]
    write_dir(tmp_path / "root", batches)
    assert locate_cifar10("test", root=tmp_path / "root") == tmp_path / "root"
    with pytest.raises(DatasetNotFoundError, match="data_batch_3.bin"):
        load_cifar10("train", root=tmp_path / "root", download=False)


@pytest.mark.parametrize("split", ["valid", "Train", None, 1])
def test_bad_split(split):
    with pytest.raises(ValueError, match="split"):
        load_cifar10(split, download=False)


def test_no_pickle_anywhere_in_glassnet_data():
    """The data package imports neither pickle nor anything that unpickles by default."""
    folder = Path(glassnet.data.__file__).parent
    for source in folder.glob("*.py"):
        tree = ast.parse(source.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not imported & {"pickle", "cPickle", "dill", "joblib"}, source
        assert "allow_pickle=True" not in source.read_text(), source


# ---------------------------------------------------------------- corruption table


def record(label: int, fill: int = 0) -> bytes:
    return bytes([label]) + bytes([fill]) * 3072


GOOD = record(3) + record(5, 1)
GOOD_ARCHIVE = tar_bytes([file_member("cifar-10-batches-bin/test_batch.bin", GOOD)])


def symlink_member():
    info = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
    info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    return tar_bytes([(info, None)])


def hardlink_member():
    target = file_member("cifar-10-batches-bin/readme.html", b"<html>")
    info = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
    info.type, info.linkname = tarfile.LNKTYPE, "cifar-10-batches-bin/readme.html"
    return tar_bytes([target, (info, None)])


def directory_member():
    info = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
    info.type = tarfile.DIRTYPE
    return tar_bytes([(info, None)])


def huge_member_header():
    info = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
    info.size = 2**40
    return gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT) + bytes(1024), mtime=0)


def flip(data: bytes, position: int) -> bytes:
    out = bytearray(data)
    out[position] ^= 0xFF
    return bytes(out)


BATCH_CASES = {
    "empty batch": (GOOD[:0], "empty"),
    "one byte short": (GOOD[:-1], "not a whole number"),
    "one byte extra": (GOOD + b"\x00", "not a whole number"),
    "label byte only": (GOOD[:1], "not a whole number"),
    "record without label": (GOOD[1:3073], "not a whole number"),
    "half a batch": (GOOD[:4000], "not a whole number"),
    "label 10": (record(10) + record(1), "record 0 has label 10"),
    "label 255 in last record": (record(1) + record(255), "record 1 has label 255"),
}

ARCHIVE_CASES = {
    "empty archive": (b"", "empty file"),
    "not gzip, named .gz": (GOOD, "not gzip data"),
    "gzip of non-tar bytes": (gzip.compress(b"\x01" * 2000), "corrupt archive"),
    "archive cut in half": (GOOD_ARCHIVE[: len(GOOD_ARCHIVE) // 2], "truncated archive|corrupt"),
    "archive last byte missing": (GOOD_ARCHIVE[:-1], "truncated archive|corrupt"),
    "gzip CRC wrong": (flip(GOOD_ARCHIVE, len(GOOD_ARCHIVE) - 8), "corrupt archive"),
    "deflate data damaged": (flip(GOOD_ARCHIVE, 40), "corrupt archive|truncated"),
    "garbage after gzip": (GOOD_ARCHIVE + b"junk", "corrupt archive"),
    "garbage after tar end": (
        gzip.compress(gzip.decompress(GOOD_ARCHIVE) + b"junk" * 100), "unexpected data after"),
    "member missing": (tar_bytes([file_member("cifar-10-batches-bin/data_batch_1.bin", GOOD)]),
                       "no member cifar-10-batches-bin/test_batch.bin"),
    "member is a symlink": (symlink_member(), "not a regular file"),
    "member is a hard link": (hardlink_member(), "not a regular file"),
    "member is a directory": (directory_member(), "not a regular file"),
    "member twice": (tar_bytes([file_member("cifar-10-batches-bin/test_batch.bin", GOOD)] * 2),
                     "twice"),
    "member size not whole records": (
        tar_bytes([file_member("cifar-10-batches-bin/test_batch.bin", GOOD[:-5])]),
        "not a whole number"),
    "member with label 12": (
        tar_bytes([file_member("cifar-10-batches-bin/test_batch.bin", record(12))]), "label 12"),
    "member header declares 1 TiB": (huge_member_header(), "larger than any CIFAR-10 batch"),
}


@pytest.mark.parametrize("data, fragment", BATCH_CASES.values(), ids=BATCH_CASES.keys())
def test_batch_corruption_raises_dataset_error(tmp_path, data, fragment):
    path = tmp_path / "test_batch.bin"
    path.write_bytes(data)
    with pytest.raises(DatasetError, match=fragment) as info:
        read_cifar10_batch(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("data, fragment", ARCHIVE_CASES.values(), ids=ARCHIVE_CASES.keys())
def test_archive_corruption_raises_dataset_error(tmp_path, data, fragment):
    path = tmp_path / "cifar-10-binary.tar.gz"
    path.write_bytes(data)
    with pytest.raises(DatasetError, match=fragment) as info:
        read_cifar10_archive(path, ["test_batch.bin"])
    assert str(path) in str(info.value)


def test_good_archive_reads(tmp_path):
    """Positive control for the archive table: the undamaged archive decodes."""
    path = tmp_path / "cifar-10-binary.tar.gz"
    path.write_bytes(GOOD_ARCHIVE)
    images, labels = read_cifar10_archive(path, ["test_batch.bin"])["test_batch.bin"]
    assert labels.tolist() == [3, 5]
    assert images[1].min() == images[1].max() == 1


def test_cifar_table_is_big_enough():
    assert len(BATCH_CASES) + len(ARCHIVE_CASES) + 3 >= 15  # + the three tests below


def test_missing_batch_file(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        read_cifar10_batch(tmp_path / "data_batch_1.bin")
    assert str(tmp_path / "data_batch_1.bin") in str(info.value)


def test_directory_instead_of_batch(tmp_path):
    (tmp_path / "test_batch.bin").mkdir()
    with pytest.raises(DatasetError, match="directory"):
        read_cifar10_batch(tmp_path / "test_batch.bin")


def test_damaged_batch_inside_a_dataset_folder_is_reported(tmp_path, batches):
    batches["data_batch_4.bin"] = (batches["data_batch_4.bin"][0][:-1], None, None)
    write_dir(tmp_path / "root", batches)
    with pytest.raises(DatasetError, match="data_batch_4.bin"):
        load_cifar10("train", root=tmp_path / "root", download=False)
