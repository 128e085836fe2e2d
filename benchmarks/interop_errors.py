"""The round-trip errors of glassnet's bridges, measured: ONNX (onnxruntime and load),
PyTorch weights (from_torch) and torch.onnx.export files (load).

    python benchmarks/interop_errors.py

For every exportable layer of tests/test_onnx.py (the same cases) it prints the largest
|onnxruntime - glassnet| and |load(file) - glassnet| over batches of 1, 4, 37 and 256
random samples, in float32; then the largest |glassnet - torch| after ``from_torch`` and
after ``load`` of a ``torch.onnx.export`` file. No timings: these are accuracy numbers.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

import glassnet as gn  # noqa: E402
import glassnet.onnx as gx  # noqa: E402
from glassnet.interop import from_torch  # noqa: E402
from test_onnx import CASES, _torch_model, torch_cases  # noqa: E402


def _run(model: gn.nn.Module, x: np.ndarray) -> np.ndarray:
    with gn.no_grad():
        return model(gn.tensor(x)).data


def onnx_errors(folder: Path, rng: np.random.Generator) -> list[tuple[str, float, float, float]]:
    rows = []
    for name, make, shape, by_nodes in CASES:
        model = make().eval()
        path = gx.export(model, folder / f"{name}.onnx", rng.normal(size=(3, *shape)).astype(
            np.float32))
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        back = gx.load(path)
        nodes = gx.load(path, use_config=False) if by_nodes else None
        e_ort = e_load = e_nodes = 0.0
        for n in ((2, 5, 64) if "batch-statistics" in name else (1, 4, 37, 256)):
            x = rng.normal(size=(n, *shape)).astype(np.float32)
            ref = _run(model, x)
            e_ort = max(e_ort, float(np.abs(session.run(None, {"input": x})[0] - ref).max()))
            e_load = max(e_load, float(np.abs(_run(back, x) - ref).max()))
            if nodes is not None:
                e_nodes = max(e_nodes, float(np.abs(_run(nodes, x) - ref).max()))
        rows.append((name, e_ort, e_load, e_nodes if nodes is not None else float("nan")))
    return rows


def torch_errors(folder: Path, rng: np.random.Generator) -> list[tuple[str, float, float]]:
    rows = []
    for name in torch_cases:
        model, shape = _torch_model(name)
        model.train()
        with torch.no_grad():
            for _ in range(3):
                model(torch.from_numpy(rng.normal(1, 2, size=(32, *shape)).astype(np.float32)))
        model.eval()
        path = folder / f"torch-{name}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.zeros(2, *shape),), str(path), dynamo=False,
                              input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
        converted, loaded = from_torch(model), gx.load(path)
        e_conv = e_load = 0.0
        for n in (1, 5, 40, 256):
            x = rng.normal(size=(n, *shape)).astype(np.float32)
            with torch.no_grad():
                ref = model(torch.from_numpy(x)).numpy()
            e_conv = max(e_conv, float(np.abs(_run(converted, x) - ref).max()))
            e_load = max(e_load, float(np.abs(_run(loaded, x) - ref).max()))
        rows.append((name, e_conv, e_load))
    return rows


def main() -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_rows = onnx_errors(Path(tmp), rng)
        torch_rows = torch_errors(Path(tmp), rng)
    print("ONNX export, float32, max |error| over batches of 1, 4, 37, 256")
    print("| layer | onnxruntime | load (config) | load (node by node) |")
    print("|---|---|---|---|")
    for name, a, b, c in onnx_rows:
        print(f"| {name} | {a:.1e} | {b:.1e} | {'-' if np.isnan(c) else f'{c:.1e}'} |")
    print(f"\nlargest: onnxruntime {max(r[1] for r in onnx_rows):.1e}, "
          f"load {max(r[2] for r in onnx_rows):.1e}, "
          f"node by node {np.nanmax([r[3] for r in onnx_rows]):.1e}")
    print("\nPyTorch models, float32, max |glassnet - torch| over batches of 1, 5, 40, 256")
    print("| torch model | from_torch | load(torch.onnx.export file) |")
    print("|---|---|---|")
    for name, a, b in torch_rows:
        print(f"| {name} | {a:.1e} | {b:.1e} |")


if __name__ == "__main__":
    main()
