"""Registry specs for the fused layer primitives of ``glassnet.ops.nn``.

Merged into ``tests/op_specs.py``'s SPECS (see the instructions at its top), so the
generic tests of tests/test_ops.py run gradcheck, gradgradcheck and the PyTorch oracle
(value, vector-Jacobian product, second derivative) on every case below.
"""

from __future__ import annotations

import numpy as np
import torch

from glassnet.ops.nn import BatchNormFn, LinearFn, LinearReluFn
from op_specs import N_CASES, Case, OpSpec, cycle, normal

# (x shape, out_features): x (..., D) with W (H, D); size-1 axes everywhere.
LINEAR_SHAPES = [
    ((4, 3), 2), ((3,), 2), ((1, 3), 2), ((4, 1), 3), ((4, 3), 1), ((2, 5, 3), 4),
    ((1,), 1), ((1, 1), 1), ((2, 1, 3), 2), ((5, 2), 5), ((2, 2, 2, 3), 2), ((3, 4), 4),
    ((6, 2), 3), ((2,), 5), ((1, 4), 1), ((3, 1, 1), 2), ((2, 3), 3), ((4, 4), 2),
    ((3, 2, 2), 1), ((7, 3), 2),
]

# Batch norm needs more than one value per channel: (N, C) and (N, C, L) with N * L > 1.
BN_SHAPES = [
    (4, 3), (2, 1), (5, 2), (3, 4, 2), (2, 3, 1), (1, 2, 3), (2, 1, 3), (6, 3), (3, 2, 4),
    (4, 1), (2, 2), (1, 3, 2), (5, 4), (2, 4, 3), (3, 3), (4, 2, 2), (2, 5), (3, 1, 2),
    (8, 2), (2, 2, 2),
]
BN_EPS = [1e-5, 1e-3, 0.1, 1e-5]


def _linear_cases(rng: np.random.Generator, bias: bool) -> list[Case]:
    cases = []
    for xs, h in cycle(LINEAR_SHAPES, N_CASES):
        d = xs[-1]
        inputs = (normal(rng, xs), normal(rng, (h, d)))
        cases.append(Case(inputs + ((normal(rng, (h,)),) if bias else ())))
    return cases


def _bn_cases(rng: np.random.Generator, affine: bool) -> list[Case]:
    cases = []
    for shape, eps in zip(cycle(BN_SHAPES, N_CASES), cycle(BN_EPS, N_CASES)):
        c = shape[1]
        x = normal(rng, shape, 2.0) + 0.5
        params = (1.0 + 0.5 * normal(rng, (c,)), normal(rng, (c,))) if affine else ()
        cases.append(Case((x, *params), {"eps": eps}))
    return cases


def _torch_bn(x: torch.Tensor, g: torch.Tensor | None = None, b: torch.Tensor | None = None,
              eps: float = 1e-5) -> torch.Tensor:
    return torch.nn.functional.batch_norm(x, None, None, g, b, training=True, eps=eps)


SPECS = [
    OpSpec(
        LinearFn,
        lambda x, W, b: LinearFn.apply(x, W, b),
        torch.nn.functional.linear,
        lambda rng: _linear_cases(rng, bias=True),
        name="LinearFn",
        scalar_inputs=False,  # x needs a feature axis, W is a matrix
    ),
    OpSpec(
        LinearFn,
        lambda x, W: LinearFn.apply(x, W, None),
        lambda x, W: torch.nn.functional.linear(x, W),
        lambda rng: _linear_cases(rng, bias=False),
        name="LinearFn_no_bias",
        scalar_inputs=False,
    ),
    OpSpec(
        LinearReluFn,
        lambda x, W, b: LinearReluFn.apply(x, W, b),
        lambda x, W, b: torch.relu(torch.nn.functional.linear(x, W, b)),
        lambda rng: _linear_cases(rng, bias=True),
        name="LinearReluFn",
        scalar_inputs=False,
    ),
    OpSpec(
        LinearReluFn,
        lambda x, W: LinearReluFn.apply(x, W, None),
        lambda x, W: torch.relu(torch.nn.functional.linear(x, W)),
        lambda rng: _linear_cases(rng, bias=False),
        name="LinearReluFn_no_bias",
        scalar_inputs=False,
    ),
    OpSpec(
        BatchNormFn,
        lambda x, g, b, eps: BatchNormFn.apply(x, g, b, eps=eps),
        _torch_bn,
        lambda rng: _bn_cases(rng, affine=True),
        name="BatchNormFn",
        scalar_inputs=False,  # (N, C) or (N, C, L) input, (C,) scale and shift
    ),
    OpSpec(
        BatchNormFn,
        lambda x, eps: BatchNormFn.apply(x, None, None, eps=eps),
        lambda x, eps: _torch_bn(x, eps=eps),
        lambda rng: _bn_cases(rng, affine=False),
        name="BatchNormFn_no_affine",
        scalar_inputs=False,
    ),
]
