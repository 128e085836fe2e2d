"""Convolution and pooling beyond the registry's generic checks.

The plain-loop oracles (one sum per output entry, straight from the definitions), ties
in max pooling as PyTorch breaks them, float32 against PyTorch, the bounded im2col
buffer, the functional API and bad input.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import glassnet as gn
import glassnet.nn.functional as nnf
import op_specs  # noqa: F401  (the registry first: op_specs_conv is one of its parts)
from glassnet.ops import conv as C
from op_specs_conv import CONV_CASES, POOL_CASES


# ---------------------------------------------------------------------------- loop oracles
def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d_loops(x, w, b, stride=1, padding=0, dilation=1, groups=1):
    """out[n, o, y, x] from the definition, one output entry at a time."""
    (s0, s1), (p0, p1), (d0, d1) = _pair(stride), _pair(padding), _pair(dilation)
    N, Cin, H, W = x.shape
    O, Cg, KH, KW = w.shape
    xp = np.zeros((N, Cin, H + 2 * p0, W + 2 * p1))
    xp[:, :, p0:p0 + H, p1:p1 + W] = x
    OH = (H + 2 * p0 - d0 * (KH - 1) - 1) // s0 + 1
    OW = (W + 2 * p1 - d1 * (KW - 1) - 1) // s1 + 1
    out = np.zeros((N, O, OH, OW))
    per_group = O // groups
    for n in range(N):
        for o in range(O):
            g = o // per_group
            for yy in range(OH):
                for xx in range(OW):
                    total = 0.0 if b is None else b[o]
                    for c in range(Cg):
                        for i in range(KH):
                            for j in range(KW):
                                total += w[o, c, i, j] * xp[n, g * Cg + c, yy * s0 + i * d0,
                                                            xx * s1 + j * d1]
                    out[n, o, yy, xx] = total
    return out


def pool_loops(x, kernel_size, stride=None, padding=0, dilation=1, kind="max"):
    """Max or average pooling from the definition (first maximum wins ties)."""
    (k0, k1) = _pair(kernel_size)
    (s0, s1) = _pair(kernel_size if stride is None else stride)
    (p0, p1), (d0, d1) = _pair(padding), _pair(dilation)
    N, Ch, H, W = x.shape
    fill = -np.inf if kind == "max" else 0.0
    xp = np.full((N, Ch, H + 2 * p0, W + 2 * p1), fill)
    xp[:, :, p0:p0 + H, p1:p1 + W] = x
    OH = (H + 2 * p0 - d0 * (k0 - 1) - 1) // s0 + 1
    OW = (W + 2 * p1 - d1 * (k1 - 1) - 1) // s1 + 1
    out = np.zeros((N, Ch, OH, OW))
    for n in range(N):
        for c in range(Ch):
            for yy in range(OH):
                for xx in range(OW):
                    window = [xp[n, c, yy * s0 + i * d0, xx * s1 + j * d1]
                              for i in range(k0) for j in range(k1)]
                    out[n, c, yy, xx] = max(window) if kind == "max" else sum(window) / len(
                        window)
    return out


@pytest.mark.parametrize(("xs", "ws", "geo"), CONV_CASES)
def test_conv2d_matches_the_loop_oracle(xs, ws, geo, rng: np.random.Generator) -> None:
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    np.testing.assert_allclose(nnf.conv2d(x, w, b, **geo).data, conv2d_loops(x, w, b, **geo),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("xs", "kw"), POOL_CASES)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_the_loop_oracle(xs, kw, kind, rng: np.random.Generator) -> None:
    x = rng.standard_normal(xs)
    fn = nnf.max_pool2d if kind == "max" else nnf.avg_pool2d
    np.testing.assert_allclose(fn(x, **kw).data, pool_loops(x, kind=kind, **kw),
                               rtol=1e-12, atol=1e-12)


def test_the_oracle_can_fail(rng: np.random.Generator) -> None:
    """A transposed kernel (a classic slip) is caught by the loop oracle."""
    x, w = rng.standard_normal((1, 1, 4, 4)), rng.standard_normal((1, 1, 3, 3))
    wrong = nnf.conv2d(x, w.transpose(0, 1, 3, 2)).data
    assert not np.allclose(wrong, conv2d_loops(x, w, None))


# ---------------------------------------------------------------------------- ties
@pytest.mark.parametrize(
    "kw", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1},
           {"kernel_size": 2, "stride": 1}, {"kernel_size": 3, "stride": 2, "dilation": 2}])
def test_max_pool_ties_as_pytorch(kw, rng: np.random.Generator) -> None:
    """Integer-valued inputs have many ties; the first maximum takes the whole gradient."""
    x = rng.integers(-1, 2, (2, 3, 7, 7)).astype(np.float64)
    tx = torch.tensor(x, requires_grad=True)
    ty = F.max_pool2d(tx, **kw)
    u = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(u))
    gx = gn.tensor(x, requires_grad=True)
    y = nnf.max_pool2d(gx, **kw)
    y.backward(u)
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    np.testing.assert_allclose(gx.grad.data, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_max_pool_all_equal_window_sends_the_gradient_to_its_first_entry() -> None:
    gx = gn.tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    nnf.max_pool2d(gx, 2).sum().backward()
    assert gx.grad.data.tolist() == [[[[1.0, 0.0], [0.0, 0.0]]]]


# ---------------------------------------------------------------------------- float32
@pytest.mark.parametrize(("xs", "ws", "geo"), CONV_CASES[:10])
def test_conv2d_float32_matches_torch(xs, ws, geo, rng: np.random.Generator) -> None:
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    ty = F.conv2d(*ts, **geo)
    u = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    ty.backward(torch.tensor(u))
    gs = [gn.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = nnf.conv2d(*gs, **geo)
    y.backward(u)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    for g, t in zip(gs, ts):
        assert g.grad.dtype == np.float32
        np.testing.assert_allclose(g.grad.data, t.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_benchmark_shapes_match_torch_in_float32(rng: np.random.Generator) -> None:
    x = rng.standard_normal((8, 32, 14, 14)).astype(np.float32)
    w = (rng.standard_normal((64, 32, 3, 3)) * 0.1).astype(np.float32)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = F.conv2d(tx, tw, padding=1)
    ty.sum().backward()
    gx, gw = gn.tensor(x, requires_grad=True), gn.tensor(w, requires_grad=True)
    nnf.conv2d(gx, gw, padding=1).sum().backward()
    np.testing.assert_allclose(gx.grad.data, tx.grad.numpy(), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(gw.grad.data, tw.grad.numpy(), rtol=1e-5, atol=1e-3)


# ---------------------------------------------------------------------------- memory
def test_im2col_buffer_is_bounded(rng: np.random.Generator, monkeypatch) -> None:
    """(1024, 3, 32, 32) -> 16 channels 3x3: the columns for the whole batch would take
    1024 * 27 * 1024 * 4 = 113 MB; the chunked forward and backward stay under the
    limit (twice: the columns and a chunk of dout) plus the arrays they return."""
    monkeypatch.setattr(C, "IM2COL_BYTES", 8 * 2**20)
    x = rng.standard_normal((1024, 3, 32, 32), dtype=np.float32)
    w = rng.standard_normal((16, 3, 3, 3), dtype=np.float32)
    out_bytes = 1024 * 16 * 32 * 32 * 4
    tracemalloc.start()
    try:
        y = C.Conv2d.apply(x, w, None, padding=1)
        _, peak = tracemalloc.get_traced_memory()
        assert peak <= out_bytes + x.nbytes + C.IM2COL_BYTES + 2**20, peak
        tracemalloc.reset_peak()
        dw = C.Conv2dWeightGrad.apply(x, y.data, w_shape=w.shape, padding=1)
        _, peak = tracemalloc.get_traced_memory()
        # the columns and a chunk of dout (each <= the limit) and a padded chunk of x
        assert peak <= out_bytes + 2 * C.IM2COL_BYTES + 4 * 2**20, peak
        tracemalloc.reset_peak()
        dx = C.Conv2dInputGrad.apply(y.data, w, x_shape=x.shape, padding=1)
        _, peak = tracemalloc.get_traced_memory()
        assert peak <= out_bytes + x.nbytes + 2 * C.IM2COL_BYTES + 4 * 2**20, peak
    finally:
        tracemalloc.stop()
    assert dw.shape == w.shape and dx.shape == x.shape


def test_chunked_and_whole_batch_agree(rng: np.random.Generator, monkeypatch) -> None:
    x, w = rng.standard_normal((7, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
    u = rng.standard_normal((7, 3, 4, 4))
    whole = [C.Conv2d.apply(x, w, None).data,
             C.Conv2dWeightGrad.apply(x, u, w_shape=w.shape).data,
             C.Conv2dInputGrad.apply(u, w, x_shape=x.shape).data]
    monkeypatch.setattr(C, "IM2COL_BYTES", 2 * 18 * 16 * 8)  # two samples per chunk
    assert C._chunks(7, 18 * 16, 8) == [(0, 2), (2, 4), (4, 6), (6, 7)]
    chunked = [C.Conv2d.apply(x, w, None).data,
               C.Conv2dWeightGrad.apply(x, u, w_shape=w.shape).data,
               C.Conv2dInputGrad.apply(u, w, x_shape=x.shape).data]
    for a, b in zip(whole, chunked):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- functional
def test_adaptive_avg_pool_sizes(rng: np.random.Generator) -> None:
    x = rng.standard_normal((2, 3, 6, 4))
    for size in [1, (1, 1), (3, 2), (6, 4), 2]:
        np.testing.assert_allclose(
            nnf.adaptive_avg_pool2d(x, size).data,
            F.adaptive_avg_pool2d(torch.tensor(x), size).numpy(), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match=r"must divide the input's \(H, W\) = \(6, 4\)"):
        nnf.adaptive_avg_pool2d(x, (4, 4))


def test_dropout2d_zeros_whole_channels(rng: np.random.Generator) -> None:
    x = gn.tensor(rng.standard_normal((4, 8, 3, 3)) + 5.0, requires_grad=True)
    y = nnf.dropout2d(x, 0.5, generator=0)
    flat = y.data.reshape(4, 8, 9)
    dropped = np.all(flat == 0, axis=2)
    assert dropped.any() and not dropped.all()
    np.testing.assert_allclose(flat[~dropped], 2 * x.data.reshape(4, 8, 9)[~dropped])
    assert nnf.dropout2d(x, 0.5, training=False) is x
    with pytest.raises(ValueError, match=r"\(N, C, H, W\), got \(4, 8\)"):
        nnf.dropout2d(gn.tensor(np.zeros((4, 8))), 0.5)


# ---------------------------------------------------------------------------- bad input
BAD = [
    (lambda: nnf.conv2d(np.zeros((3, 8, 8)), np.zeros((2, 3, 3, 3))),
     r"\(N, C, H, W\), got \(3, 8, 8\)"),
    (lambda: nnf.conv2d(np.zeros((1, 3, 8, 8)), np.zeros((2, 3, 3))),
     r"weight must have shape .* got \(2, 3, 3\)"),
    (lambda: nnf.conv2d(np.zeros((1, 4, 8, 8)), np.zeros((2, 3, 3, 3))),
     r"\(1, 4, 8, 8\) has 4 channels but weight of shape \(2, 3, 3, 3\)"),
    (lambda: nnf.conv2d(np.zeros((1, 4, 8, 8)), np.zeros((3, 2, 3, 3)), groups=2),
     r"out_channels divisible by groups"),
    (lambda: nnf.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 5, 5))),
     r"kernel \(5, 5\) .* larger than the padded input \(4, 4\) of input shape \(1, 1, 4, 4\)"),
    (lambda: nnf.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), dilation=2),
     r"dilated to \(5, 5\)"),
    (lambda: nnf.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), stride=0),
     r"stride must be a positive int .* got 0"),
    (lambda: nnf.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), padding=-1),
     r"padding must be a non-negative int"),
    (lambda: nnf.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 3, 3)), np.zeros(3)),
     r"bias must have shape \(2,\)"),
    (lambda: nnf.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), groups=0),
     r"groups must be a positive int"),
    (lambda: nnf.max_pool2d(np.zeros((1, 1, 2, 2)), 3), r"kernel \(3, 3\)"),
    (lambda: nnf.max_pool2d(np.zeros((1, 1, 4, 4)), 2, stride=-1), r"stride"),
    (lambda: nnf.max_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=2), r"at most half"),
    (lambda: nnf.avg_pool2d(np.zeros((4, 4)), 2), r"\(N, C, H, W\), got \(4, 4\)"),
    (lambda: nnf.pad(np.zeros((2, 2)), (1,)), r"pairs of non-negative ints"),
    (lambda: nnf.pad(np.zeros((2, 2)), (1, -1)), r"pairs of non-negative ints"),
]


@pytest.mark.parametrize(("make", "message"), BAD)
def test_bad_input_raises_a_value_error_naming_the_shapes(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()
