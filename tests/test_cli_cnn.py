"""``glassnet train --model cnn`` (and ``convnet``) on CIFAR-10 files written in the real
binary format, with ``--augment``; the trained checkpoint evaluates and exports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from glassnet import random as gn_random
from glassnet.cli import main
from glassnet.data import paths as data_paths
from glassnet.pipeline import build_model


def _write_cifar(folder: Path, rng: np.random.Generator) -> Path:
    """Five training batches and a test batch of records: label byte, R, G, B planes.
    Class 1 images are bright in their top half, so a CNN can learn them apart."""
    folder.mkdir(parents=True)
    for name, n in [(f"data_batch_{i}.bin", 24) for i in range(1, 6)] + [("test_batch.bin", 40)]:
        labels = rng.integers(0, 2, n)
        planes = rng.integers(0, 128, (n, 3, 32, 32), dtype=np.uint8)
        planes[labels == 1, :, :16] += 120
        (folder / name).write_bytes(b"".join(bytes([labels[i]]) + planes[i].tobytes()
                                             for i in range(n)))
    return folder


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gn_random, "_generator", [np.random.default_rng(0)])
    monkeypatch.setattr(gn_random, "_seed", [0])
    for var in ("HOME", "XDG_CACHE_HOME", "GLASSNET_DATA"):
        monkeypatch.setenv(var, str(tmp_path / "home"))
    monkeypatch.setattr(data_paths, "SYSTEM_DIRS", {})
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("model", ["cnn", "convnet"])
def test_train_cnn_on_cifar_files(tmp_path: Path, rng: np.random.Generator, model: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    root = _write_cifar(tmp_path / "cifar-10-batches-bin", rng)
    out = tmp_path / "run"
    code = main(["train", "--dataset", "cifar10", "--root", str(root), "--no-download",
                 "--model", model, "--epochs", "4", "--batch-size", "16", "--augment",
                 "crop,flip", "--optimizer", "adam", "--val-fraction", "0.2", "--out",
                 str(out), "--no-early-stop"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert (out / "last.ckpt").exists()
    accuracy = float(text.split("final: ")[1].split("test accuracy ")[1].split()[0])
    assert accuracy >= 0.7, text  # two classes that a bright half tells apart
    assert main(["evaluate", str(out / "best.ckpt"), "--root", str(root),
                 "--no-download"]) == 0
    pytest.importorskip("onnx")
    assert main(["export", str(out / "best.ckpt"), str(tmp_path / "m.onnx")]) == 0


def test_cnn_needs_square_images() -> None:
    with pytest.raises(ValueError, match=r"square images.*shape \(64,\)"):
        build_model("cnn", 64, 10, input_shape=(64,))


def test_unknown_augmentation_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--hidden", "8", "--augment", "rotate", "--epochs", "1"])
    assert code != 0
    assert "unknown augmentation 'rotate'" in capsys.readouterr().err
