"""Registry specs for the convolution and pooling primitives of ``glassnet.ops.conv``.

Merged into ``tests/op_specs.py``'s registry, so ``tests/test_ops.py`` runs on every case:
gradcheck, gradgradcheck, and PyTorch (float64) for the value, the vector-Jacobian
product and the second derivative. The cases cover stride, padding, dilation, groups,
1x1 kernels and kernels as large as the (padded) input, with a few entries each.

Conv2d's two adjoints have no double-differentiable function of their own in PyTorch
(``torch.nn.grad.conv2d_input`` is not), so their oracle is the vector-Jacobian product
of ``torch.nn.functional.conv2d`` taken with ``create_graph=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from glassnet.ops import conv as C
from glassnet.ops.nn import BatchNormFn
from op_specs import Case, OpSpec, cycle, distinct, normal

# (x shape, weight shape, geometry): kernel = input, 1x1, stride, padding, dilation,
# groups (depthwise too), strides that leave rows out, size-1 axes.
CONV_CASES: list[tuple[tuple[int, ...], tuple[int, ...], dict[str, Any]]] = [
    ((1, 1, 3, 3), (1, 1, 3, 3), {}),
    ((2, 2, 4, 4), (3, 2, 3, 3), {"padding": 1}),
    ((1, 3, 4, 4), (2, 3, 1, 1), {}),
    ((2, 2, 5, 5), (2, 2, 3, 3), {"stride": 2}),
    ((1, 2, 6, 5), (2, 2, 2, 3), {"stride": (2, 1), "padding": (1, 0)}),
    ((1, 2, 5, 5), (2, 2, 2, 2), {"dilation": 2}),
    ((1, 4, 4, 4), (4, 2, 3, 3), {"groups": 2, "padding": 1}),
    ((1, 4, 3, 3), (4, 1, 2, 2), {"groups": 4}),
    ((2, 1, 3, 3), (1, 1, 4, 4), {"padding": 1}),
    ((1, 2, 4, 4), (1, 2, 3, 3), {"stride": 3, "padding": 1}),
    ((3, 1, 3, 4), (2, 1, 2, 2), {}),
    ((1, 2, 5, 4), (3, 2, 3, 1), {"dilation": (2, 1), "padding": (2, 0)}),
    ((1, 6, 3, 3), (4, 3, 1, 1), {"groups": 2}),
    ((1, 2, 3, 3), (2, 2, 3, 3), {"padding": 2}),
    ((1, 1, 6, 6), (2, 1, 3, 3), {"stride": 2, "dilation": 2, "padding": 2}),
    ((1, 3, 4, 4), (6, 1, 2, 2), {"groups": 3, "stride": 2}),
    ((1, 1, 1, 1), (3, 1, 1, 1), {}),
    ((2, 3, 2, 2), (1, 3, 2, 2), {}),
    ((1, 2, 7, 3), (2, 2, 3, 3), {"stride": (3, 1), "padding": (0, 1)}),
    ((1, 4, 4, 4), (2, 4, 2, 2), {"dilation": (1, 2)}),
    ((1, 3, 5, 5), (3, 3, 5, 5), {"stride": 4, "padding": 2}),
]

# (x shape, pooling arguments): overlapping and disjoint windows, padding, kernel = input.
POOL_CASES: list[tuple[tuple[int, ...], dict[str, Any]]] = [
    ((1, 1, 4, 4), {"kernel_size": 2}),
    ((2, 2, 4, 4), {"kernel_size": 2, "stride": 2}),
    ((1, 2, 5, 5), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ((1, 1, 3, 3), {"kernel_size": 3}),
    ((2, 1, 4, 5), {"kernel_size": (2, 3), "stride": 1}),
    ((1, 3, 5, 4), {"kernel_size": 2, "stride": 1}),
    ((1, 1, 6, 6), {"kernel_size": 3, "stride": 3}),
    ((1, 2, 5, 5), {"kernel_size": 2, "stride": (2, 1), "padding": (1, 0)}),
    ((1, 1, 3, 3), {"kernel_size": 1}),
    ((3, 1, 2, 2), {"kernel_size": 2}),
    ((1, 2, 7, 3), {"kernel_size": (3, 1), "stride": 2}),
    ((1, 1, 4, 4), {"kernel_size": 3, "stride": 1, "padding": 1}),
    ((2, 2, 3, 4), {"kernel_size": (1, 2)}),
    ((1, 1, 5, 5), {"kernel_size": 4, "stride": 1}),
    ((1, 2, 6, 4), {"kernel_size": 2, "stride": 3}),
    ((1, 1, 1, 1), {"kernel_size": 1}),
    ((1, 3, 3, 3), {"kernel_size": 2, "stride": 1, "padding": 1}),
    ((2, 1, 5, 3), {"kernel_size": (2, 2), "stride": (1, 2)}),
    ((1, 1, 4, 6), {"kernel_size": (4, 2), "stride": 2, "padding": (2, 1)}),
    ((1, 2, 4, 4), {"kernel_size": 3, "stride": 2}),
]

# Dilated windows: max pooling only (PyTorch's avg_pool2d has no dilation).
DILATED_POOL_CASES = [
    ((1, 1, 5, 5), {"kernel_size": 2, "dilation": 2}),
    ((1, 2, 6, 5), {"kernel_size": 2, "stride": 1, "dilation": (2, 1)}),
]


def _conv_cases(rng: np.random.Generator, bias: bool) -> list[Case]:
    cases = []
    for xs, ws, geo in CONV_CASES:
        inputs = (normal(rng, xs), normal(rng, ws)) + ((normal(rng, (ws[0],)),) if bias else ())
        cases.append(Case(inputs, dict(geo)))
    return cases


def _conv_out_shape(xs: tuple[int, ...], ws: tuple[int, ...], geo: dict[str, Any]) -> tuple:
    y = F.conv2d(torch.zeros(xs, dtype=torch.float64), torch.zeros(ws, dtype=torch.float64),
                 **geo)
    return tuple(y.shape)


def _input_grad_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((normal(rng, _conv_out_shape(xs, ws, geo)), normal(rng, ws)), {"x_shape": xs, **geo})
        for xs, ws, geo in CONV_CASES
    ]


def _weight_grad_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((normal(rng, xs), normal(rng, _conv_out_shape(xs, ws, geo))), {"w_shape": ws, **geo})
        for xs, ws, geo in CONV_CASES
    ]


def _torch_input_grad(dout: torch.Tensor, w: torch.Tensor, x_shape: tuple, **geo: Any):
    z = torch.zeros(x_shape, dtype=dout.dtype, requires_grad=True)
    return torch.autograd.grad(F.conv2d(z, w, None, **geo), z, dout, create_graph=True)[0]


def _torch_weight_grad(x: torch.Tensor, dout: torch.Tensor, w_shape: tuple, **geo: Any):
    z = torch.zeros(w_shape, dtype=dout.dtype, requires_grad=True)
    return torch.autograd.grad(F.conv2d(x, z, None, **geo), z, dout, create_graph=True)[0]


def _pool_cases(rng: np.random.Generator, dilated: bool) -> list[Case]:
    table = POOL_CASES + (DILATED_POOL_CASES if dilated else [])
    # distinct values: no ties inside a window, so max pooling is differentiable there
    return [Case((distinct(rng, xs, 0.05),), dict(kw)) for xs, kw in table]


def _unpool_cases(rng: np.random.Generator) -> list[Case]:
    """(src, index) with repeated positions (accumulated) and, for distinct=True, without."""
    cases = []
    for k, (xs, _) in enumerate(POOL_CASES):
        N, Ch, H, W = xs
        src_shape = (N, Ch, max(1, H // 2), max(1, W // 2) + k % 2)
        n = src_shape[2] * src_shape[3]
        if k % 3 == 0 and n <= H * W:
            index = np.stack([rng.permutation(H * W)[:n] for _ in range(N * Ch)])
            cases.append(Case((normal(rng, src_shape), index.reshape(src_shape)),
                              {"shape": xs, "distinct": True}))
        else:
            index = rng.integers(0, H * W, src_shape)
            cases.append(Case((normal(rng, src_shape), index), {"shape": xs}))
    return cases


def _torch_unpool(src: torch.Tensor, index: torch.Tensor, shape: tuple, distinct: bool = False):
    N, Ch, H, W = shape
    zeros = torch.zeros((N, Ch, H * W), dtype=src.dtype)
    return zeros.scatter_add(2, index.long().flatten(2), src.flatten(2)).reshape(shape)


def _global_pool_cases(rng: np.random.Generator) -> list[Case]:
    shapes = [xs for xs, _ in POOL_CASES]
    return [Case((normal(rng, xs),)) for xs in shapes]


PAD_CASES: list[tuple[tuple[int, ...], tuple[int, ...], float]] = [
    ((3,), (1, 2), 0.0), ((2, 3), (1, 1), 0.5), ((2, 3), (0, 1, 2, 0), 0.0),
    ((1, 1, 3, 3), (1, 1, 1, 1), 0.0), ((1, 2, 2, 2), (2, 0, 0, 2), -1.0), ((1,), (0, 0), 0.0),
    ((2, 1, 2), (1, 0, 0, 1, 1, 1), 0.0), ((1, 1, 1, 1), (1, 1, 1, 1), 2.0),
    ((4,), (3, 0), 0.0), ((2, 2), (0, 0, 1, 1), 0.0),
]


def _pad_cases(rng: np.random.Generator) -> list[Case]:
    return [Case((normal(rng, xs),), {"pad": pad, "value": v}) for xs, pad, v in cycle(PAD_CASES)]


def _bn2d_cases(rng: np.random.Generator) -> list[Case]:
    """Batch norm of images: statistics over N, H and W (BatchNorm2d's fused node)."""
    shapes = [xs for xs, _ in POOL_CASES if xs[0] * xs[2] * xs[3] > 1]
    return [Case((normal(rng, xs, 2.0) + 0.5, 1.0 + 0.5 * normal(rng, (xs[1],)),
                  normal(rng, (xs[1],))), {"eps": 1e-3}) for xs in cycle(shapes)]


SPECS = [
    OpSpec(
        BatchNormFn,
        lambda x, g, b, eps: BatchNormFn.apply(x, g, b, eps=eps),
        lambda x, g, b, eps: F.batch_norm(x, None, None, g, b, training=True, eps=eps),
        _bn2d_cases,
        name="BatchNormFn_2d",
        scalar_inputs=False,
    ),
    OpSpec(
        C.Conv2d,
        lambda x, w, b, **geo: C.Conv2d.apply(x, w, b, **geo),
        F.conv2d,
        lambda rng: _conv_cases(rng, bias=True),
        name="Conv2d",
        scalar_inputs=False,  # images and kernels are 4-D
    ),
    OpSpec(
        C.Conv2d,
        lambda x, w, **geo: C.Conv2d.apply(x, w, None, **geo),
        lambda x, w, **geo: F.conv2d(x, w, None, **geo),
        lambda rng: _conv_cases(rng, bias=False),
        name="Conv2d_no_bias",
        scalar_inputs=False,
    ),
    OpSpec(
        C.Conv2dInputGrad,
        lambda d, w, **kw: C.Conv2dInputGrad.apply(d, w, **kw),
        _torch_input_grad,
        _input_grad_cases,
        scalar_inputs=False,
    ),
    OpSpec(
        C.Conv2dWeightGrad,
        lambda x, d, **kw: C.Conv2dWeightGrad.apply(x, d, **kw),
        _torch_weight_grad,
        _weight_grad_cases,
        scalar_inputs=False,
    ),
    OpSpec(
        C.MaxPool2d,
        lambda x, **kw: C.MaxPool2d.apply(x, **kw),
        F.max_pool2d,
        lambda rng: _pool_cases(rng, dilated=True),
        scalar_inputs=False,
    ),
    OpSpec(
        C.MaxUnpool2d,
        lambda s, i, **kw: C.MaxUnpool2d.apply(s, i, **kw),
        _torch_unpool,
        _unpool_cases,
        scalar_inputs=False,
    ),
    OpSpec(
        C.AvgPool2d,
        lambda x, **kw: C.AvgPool2d.apply(x, **kw),
        F.avg_pool2d,
        lambda rng: _pool_cases(rng, dilated=False),
        scalar_inputs=False,
    ),
    OpSpec(
        C.AdaptiveAvgPool2d,
        C.AdaptiveAvgPool2d.apply,
        lambda x: F.adaptive_avg_pool2d(x, 1),
        _global_pool_cases,
        scalar_inputs=False,
    ),
    OpSpec(
        C.Pad,
        lambda x, **kw: C.Pad.apply(x, **kw),
        lambda x, pad, value: F.pad(x, pad, value=value),
        _pad_cases,
        scalar_inputs=False,  # torch's pad needs an axis to pad
    ),
]
