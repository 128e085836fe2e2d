"""Downloads against an HTTP server started here on 127.0.0.1 (no other network).

Routes: /good/ serves files intact, /bad/ serves altered bytes of the right length,
/short/ announces the full length and closes half-way, /nolength/ sends half without a
length, /long/ sends extra bytes, /500/ and /404/ answer with errors. Every failure must
leave the destination folder empty: no partial file, no temporary file.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import socket
import struct
import sys
import threading
import types

import numpy as np
import pytest

from glassnet.data import (
    DatasetError,
    DatasetNotFoundError,
    DownloadError,
    download_file,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
)
from glassnet.data import paths as data_paths
from glassnet.data import sources as data_sources
from glassnet.data.sources import RemoteFile


class Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    hits: list[str] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        self.hits.append(self.path)
        mode, _, name = self.path.lstrip("/").partition("/")
        if mode in ("500", "404"):
            self.send_error(int(mode))
            return
        body = self.files.get(name)
        if body is None:
            self.send_error(404)
            return
        if mode == "bad":
            body = bytes([body[0] ^ 1]) + body[1:]
        self.send_response(200)
        if mode == "long":
            body = body + b"extra bytes"
        if mode != "nolength":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode in ("short", "nolength"):
            body = body[: len(body) // 2]
        self.wfile.write(body)


@pytest.fixture
def server():
    """A threaded HTTP/1.0 server on 127.0.0.1, port chosen by the OS; yields its base URL."""
    Handler.files, Handler.hits = {}, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GLASSNET_DATA", raising=False)
    monkeypatch.delenv("GLASSNET_MIRROR", raising=False)
    monkeypatch.setattr(data_paths, "SYSTEM_DIRS", {})


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


PAYLOAD = bytes(range(256)) * 40


# ---------------------------------------------------------------- download_file


def test_good_file(server, tmp_path):
    Handler.files["f.bin"] = PAYLOAD
    dest = tmp_path / "dl" / "f.bin"
    out = download_file(f"{server}/good/f.bin", dest, sha256=sha(PAYLOAD), size=len(PAYLOAD))
    assert out == dest
    assert dest.read_bytes() == PAYLOAD
    assert leftovers(dest.parent) == ["f.bin"]


def test_good_file_without_known_size(server, tmp_path):
    Handler.files["f.bin"] = PAYLOAD
    dest = tmp_path / "f.bin"
    download_file(f"{server}/good/f.bin", dest, sha256=sha(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD


@pytest.mark.parametrize(
    "mode, fragment",
    [
        ("bad", "SHA-256 mismatch"),
        ("short", "truncated transfer"),
        ("nolength", "truncated transfer"),
        ("long", "announces"),
        ("500", "HTTP 500"),
        ("404", "HTTP 404"),
        ("missing", "HTTP 404"),
    ],
)
def test_failed_transfer_leaves_nothing(server, tmp_path, mode, fragment):
    Handler.files["f.bin"] = PAYLOAD
    dest = tmp_path / "dl" / "f.bin"
    name = "other.bin" if mode == "missing" else "f.bin"
    url = f"{server}/{'good' if mode == 'missing' else mode}/{name}"
    with pytest.raises(DownloadError, match=fragment) as info:
        download_file(url, dest, sha256=sha(PAYLOAD), size=len(PAYLOAD))
    assert isinstance(info.value, DatasetError)
    assert url in str(info.value)
    assert leftovers(dest.parent) == []


def test_wrong_checksum_without_size(server, tmp_path):
    Handler.files["f.bin"] = PAYLOAD
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError, match="SHA-256 mismatch"):
        download_file(f"{server}/nolength/f.bin", dest, sha256=sha(PAYLOAD))
    assert leftovers(tmp_path) == []


def test_oversized_stream_is_cut_off(server, tmp_path):
    """Without a Content-Length, a server sending more than `size` is stopped."""
    Handler.files["f.bin"] = PAYLOAD
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError, match="more than the expected 100 bytes"):
        download_file(f"{server}/nolength/f.bin", dest, sha256=sha(PAYLOAD[:100]), size=100)
    assert leftovers(tmp_path) == []


def test_existing_file_survives_a_failed_download(server, tmp_path):
    dest = tmp_path / "f.bin"
    dest.write_bytes(b"old and good")
    Handler.files["f.bin"] = PAYLOAD
    with pytest.raises(DownloadError):
        download_file(f"{server}/bad/f.bin", dest, sha256=sha(PAYLOAD), size=len(PAYLOAD))
    assert dest.read_bytes() == b"old and good"
    assert leftovers(tmp_path) == ["f.bin"]


def test_falls_back_to_the_next_mirror(server, tmp_path):
    Handler.files["f.bin"] = PAYLOAD
    urls = [f"{server}/500/f.bin", f"{server}/bad/f.bin", f"{server}/good/f.bin"]
    download_file(urls, tmp_path / "f.bin", sha256=sha(PAYLOAD), size=len(PAYLOAD))
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD
    assert Handler.hits == ["/500/f.bin", "/bad/f.bin", "/good/f.bin"]


def test_every_mirror_failing_is_listed(server, tmp_path):
    Handler.files["f.bin"] = PAYLOAD
    urls = [f"{server}/500/f.bin", f"{server}/short/f.bin"]
    with pytest.raises(DownloadError) as info:
        download_file(urls, tmp_path / "f.bin", sha256=sha(PAYLOAD), size=len(PAYLOAD))
    message = str(info.value)
    assert "HTTP 500" in message and "truncated transfer" in message
    assert all(url in message for url in urls)


def test_connection_refused(tmp_path):
    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="cannot connect"):
        download_file(f"http://127.0.0.1:{port}/f.bin", tmp_path / "f.bin", sha256="0" * 64)
    assert leftovers(tmp_path) == []


def test_interrupted_download_leaves_nothing(server, tmp_path, monkeypatch):
    """Ctrl-C in the middle of a transfer (raised from the progress bar's update)."""

    class Bar:
        def __init__(self, **kwargs):
            pass

        def update(self, n):
            raise KeyboardInterrupt

        def close(self):
            pass

    monkeypatch.setitem(sys.modules, "tqdm.auto", types.SimpleNamespace(tqdm=Bar))
    Handler.files["f.bin"] = PAYLOAD
    with pytest.raises(KeyboardInterrupt):
        download_file(f"{server}/good/f.bin", tmp_path / "f.bin", sha256=sha(PAYLOAD),
                      size=len(PAYLOAD), progress=True)
    assert leftovers(tmp_path) == []


def test_progress_bar_shown_on_request_and_silent_otherwise(server, tmp_path, capsys):
    Handler.files["f.bin"] = PAYLOAD
    download_file(f"{server}/good/f.bin", tmp_path / "a.bin", sha256=sha(PAYLOAD), progress=True)
    assert "a.bin" in capsys.readouterr().err
    download_file(f"{server}/good/f.bin", tmp_path / "b.bin", sha256=sha(PAYLOAD))
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""  # stderr is not a terminal under pytest


def test_missing_tqdm_means_no_bar(server, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import raises ImportError
    monkeypatch.setitem(sys.modules, "tqdm", None)
    Handler.files["f.bin"] = PAYLOAD
    download_file(f"{server}/good/f.bin", tmp_path / "f.bin", sha256=sha(PAYLOAD), progress=True)
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


@pytest.mark.parametrize("bad", ["abc", "0" * 63, 12])
def test_bad_checksum_argument(tmp_path, bad):
    with pytest.raises(ValueError, match="sha256"):
        download_file("http://127.0.0.1:1/x", tmp_path / "x", sha256=bad)


# ---------------------------------------------------------------- the loaders


def idx_gz(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.tobytes(), mtime=0)


@pytest.fixture
def tiny_mnist(rng, monkeypatch):
    """Tiny train/test IDX files; the registry's checksums point at them for this test."""
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 5).astype(np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 3).astype(np.uint8),
    }
    blobs = {name: idx_gz(a) for name, a in arrays.items()}
    for source in (data_sources.MNIST, data_sources.FASHION_MNIST):
        for name, blob in blobs.items():
            monkeypatch.setitem(source.files, name, RemoteFile(name, len(blob), sha(blob)))
    Handler.files.update(blobs)
    return arrays


@pytest.mark.parametrize("loader", [load_mnist, load_fashion_mnist])
def test_loader_downloads_into_the_cache_then_reads_offline(server, tmp_path, tiny_mnist,
                                                            loader):
    images, labels = loader("train", mirrors=[f"{server}/good/"])
    np.testing.assert_array_equal(images, tiny_mnist["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(labels, tiny_mnist["train-labels-idx1-ubyte.gz"])
    assert labels.dtype == np.int64
    folder = tmp_path / "cache" / "glassnet" / ("mnist" if loader is load_mnist
                                                 else "fashion-mnist")
    assert leftovers(folder) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]
    hits = len(Handler.hits)
    images2, _ = loader("train", mirrors=[f"{server}/500/"])  # found in the cache: no request
    np.testing.assert_array_equal(images2, images)
    assert len(Handler.hits) == hits


def test_loader_downloads_into_root_when_given(server, tmp_path, tiny_mnist):
    images, _ = load_mnist("test", root=tmp_path / "mine", mirrors=[f"{server}/good/"])
    assert images.shape == (3, 28, 28)
    assert leftovers(tmp_path / "mine" / "mnist") == ["t10k-images-idx3-ubyte.gz",
                                                      "t10k-labels-idx1-ubyte.gz"]
    assert not (tmp_path / "cache").exists()


def test_glassnet_mirror_environment_variable(server, tmp_path, tiny_mnist, monkeypatch):
    for name, blob in list(Handler.files.items()):
        Handler.files[f"fashion-mnist/{name}"] = blob  # served as /good/fashion-mnist/<name>
    monkeypatch.setenv("GLASSNET_MIRROR", f"{server}/500, {server}/good")
    images, _ = load_fashion_mnist("test")
    assert images.shape == (3, 28, 28)
    assert Handler.hits[:2] == ["/500/fashion-mnist/t10k-images-idx3-ubyte.gz",
                                "/good/fashion-mnist/t10k-images-idx3-ubyte.gz"]


@pytest.mark.parametrize("mode", ["bad", "short", "500", "404"])
def test_failed_loader_download_leaves_the_cache_clean(server, tmp_path, tiny_mnist, mode):
    with pytest.raises(DownloadError):
        load_mnist("train", mirrors=[f"{server}/{mode}/"])
    assert leftovers(tmp_path / "cache" / "glassnet" / "mnist") == []


def test_download_false_never_touches_the_network(server, tmp_path, tiny_mnist):
    with pytest.raises(DatasetNotFoundError):
        load_mnist("train", download=False, mirrors=[f"{server}/good/"])
    assert Handler.hits == []


def test_cifar_archive_download_and_read(server, tmp_path, monkeypatch, rng):
    import io
    import tarfile

    labels = rng.integers(0, 10, 4)
    records = b"".join(bytes([k]) + bytes([k * 10]) * 3072 for k in labels)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
        info.size = len(records)
        tar.addfile(info, io.BytesIO(records))
    blob = buffer.getvalue()
    name = "cifar-10-binary.tar.gz"
    monkeypatch.setitem(data_sources.CIFAR10.files, name, RemoteFile(name, len(blob), sha(blob)))
    Handler.files[name] = blob
    images, out_labels = load_cifar10("test", mirrors=[f"{server}/good"])
    np.testing.assert_array_equal(out_labels, labels)
    assert images.shape == (4, 32, 32, 3) and int(images[0, 5, 5, 2]) == labels[0] * 10
    assert leftovers(tmp_path / "cache" / "glassnet" / "cifar-10") == [name]


@pytest.mark.parametrize("mirrors", [[], ["ftp://x/"], ["not a url"]])
def test_bad_mirrors_argument(mirrors):
    with pytest.raises(ValueError, match="mirror"):
        load_mnist("train", mirrors=mirrors)


# ---------------------------------------------------------------- the registry


@pytest.mark.parametrize("source", list(data_sources.SOURCES.values()), ids=lambda s: s.name)
def test_registry_entries_are_well_formed(source):
    for name, remote in source.files.items():
        assert remote.name == name
        assert len(remote.sha256) == 64 and set(remote.sha256) <= set("0123456789abcdef")
        assert remote.size > 0
    assert all(url.startswith(("http://", "https://")) for url in source.mirrors)


def test_registry_matches_published_values():
    """Pinned against the values quoted in docs/datasets.md (a typo in either shows)."""
    mnist = data_sources.MNIST.files
    assert mnist["train-images-idx3-ubyte.gz"].sha256.startswith("440fcabf73cc546f")
    assert mnist["t10k-labels-idx1-ubyte.gz"].size == 4542
    fashion = data_sources.FASHION_MNIST.files
    assert fashion["train-images-idx3-ubyte.gz"].size == 26421880
    assert fashion["t10k-labels-idx1-ubyte.gz"].sha256.startswith("42bd18137a62d599")
    cifar = data_sources.CIFAR10.files["cifar-10-binary.tar.gz"]
    assert cifar.size == 170052171 and cifar.sha256.startswith("c4a38c50a1bc5f3a")
