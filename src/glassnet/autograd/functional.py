"""The lecture's derivative toolkit: gradient, Jacobian, Hessian, numerical derivatives
and the gradient check.

``grad``, ``jacobian`` and ``hessian`` take a function of one Tensor and a point ``x``
(a list, ndarray or Tensor) and return NumPy arrays, following PyTorch's shape
conventions: a Jacobian has shape ``out.shape + x.shape``, a Hessian ``x.shape + x.shape``.
A point given as Python numbers or lists is evaluated in float64; an ndarray or Tensor
keeps its dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from glassnet.autograd.engine import _Unbatchable, batched_vjp, run_backward
from glassnet.autograd.grad_mode import enable_grad, no_grad
from glassnet.ops.shape import concatenate
from glassnet.tensor import Tensor

Fn = Callable[..., Any]


def _point(x: Any) -> np.ndarray:
    """The evaluation point as a float array (Python input -> float64)."""
    if isinstance(x, Tensor):
        arr = x.data
    elif isinstance(x, (np.ndarray, np.generic)):
        arr = np.asarray(x)
    else:
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise TypeError(f"cannot differentiate at {x!r}: {e}") from None
    if arr.dtype.kind in "iub":
        arr = arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(f"cannot differentiate at a point of dtype {arr.dtype}")
    return arr


def _as_output(y: Any, fname: str) -> Tensor:
    if not isinstance(y, Tensor):
        raise TypeError(f"{fname}: the function must return a Tensor, got {type(y).__name__}")
    return y


def gradients(
    output: Tensor,
    inputs: Sequence[Tensor],
    grad_output: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> list[Tensor | None]:
    """Vector-Jacobian product: d(grad_output . output)/d(input) for each input.

    Like ``torch.autograd.grad``: nothing is accumulated into ``.grad``; a gradient is
    None for an input that ``output`` does not depend on.
    """
    if grad_output is None:
        if output.data.size != 1:
            raise RuntimeError(
                f"gradients of a non-scalar output of shape {output.shape} need grad_output"
            )
        grad_output = Tensor(np.ones_like(output.data))
    elif not isinstance(grad_output, Tensor):
        grad_output = Tensor(np.asarray(grad_output, dtype=output.dtype))
    if retain_graph is None:
        retain_graph = create_graph
    if not output.requires_grad:
        return [None for _ in inputs]
    return run_backward(output, grad_output, retain_graph, create_graph, list(inputs))  # type: ignore[return-value]


def grad(f: Fn, x: Any) -> np.ndarray:
    """The gradient of a scalar function ``f`` at ``x``, an array of x's shape.

    >>> import glassnet as gn
    >>> gn.grad(lambda x: (x * x).sum(), [1.0, 2.0])
    array([2., 4.])
    """
    arr = _point(x)
    with enable_grad():
        xt = Tensor(arr.copy(), requires_grad=True)
        y = _as_output(f(xt), "grad")
        if y.data.size != 1:
            raise ValueError(f"grad: f must return a scalar, it returned shape {y.shape}")
        (g,) = gradients(y, [xt])
    return np.zeros_like(arr) if g is None else g.data


def jacobian(f: Fn, x: Any) -> np.ndarray:
    """The Jacobian of ``f`` at ``x``: entry [i..., j...] = d out[i...] / d x[j...].

    Shape ``out.shape + x.shape`` (PyTorch's ``torch.autograd.functional.jacobian``). Row i
    is one vector-Jacobian product with the i-th unit vector.
    """
    arr = _point(x)
    with enable_grad():
        xt = Tensor(arr.copy(), requires_grad=True)
        y = _as_output(f(xt), "jacobian")
        jac = np.zeros((y.data.size, arr.size), dtype=np.result_type(y.dtype, arr.dtype))
        if y.requires_grad:
            _rows(y, xt, jac)
    return jac.reshape(y.shape + arr.shape)


def hessian(f: Fn, x: Any) -> np.ndarray:
    """The Hessian of a scalar function ``f`` at ``x``, shape ``x.shape + x.shape``.

    Computed as the Jacobian of the gradient: one backward pass with ``create_graph=True``
    gives the gradient as a differentiable Tensor, then one backward pass per entry.

    >>> import glassnet as gn
    >>> gn.hessian(lambda x: (x ** 3).sum(), [1.0, 2.0])
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    arr = _point(x)
    n = arr.size
    with enable_grad():
        xt = Tensor(arr.copy(), requires_grad=True)
        y = _as_output(f(xt), "hessian")
        if y.data.size != 1:
            raise ValueError(f"hessian: f must return a scalar, it returned shape {y.shape}")
        hess = np.zeros((n, n), dtype=arr.dtype)
        (g,) = gradients(y, [xt], create_graph=True)
        if g is not None and g.requires_grad:
            _rows(g, xt, hess)
    return hess.reshape(arr.shape + arr.shape)


#: Whether ``_rows`` may push all rows through the graph at once (the tests switch it off
#: to compare with the row-by-row passes).
_BATCHED_ROWS = [True]
_BATCH_ENTRIES = 1 << 20


def _rows(y: Tensor, x: Tensor, out: np.ndarray) -> None:
    """Fill ``out[i]`` with d y[i] / d x: one backward pass per output entry, all through
    the same retained graph; or, when every node's formula takes stacked cotangents
    (elementwise operations and basic indexing), all rows in one pass (``batched_vjp``,
    checked against the row-by-row passes in the tests)."""
    m = y.data.size
    # rows per pass: the stacked gradients stay below about a million entries each
    chunk = min(m, _BATCH_ENTRIES // max(1, y.data.size, x.data.size))
    if chunk > 1 and _BATCHED_ROWS[0]:
        try:
            for start in range(0, m, chunk):
                c = min(chunk, m - start)
                seeds = np.zeros((c, m), dtype=y.dtype)
                seeds[np.arange(c), start + np.arange(c)] = 1
                g = batched_vjp(y, seeds.reshape((c,) + y.shape), x)
                if g is not None:
                    out[start : start + c] = np.reshape(g, (c, -1))
        except _Unbatchable:  # found on the first pass: nothing is written yet
            out[...] = 0
        else:
            return
    e = np.zeros(y.data.size, dtype=y.dtype)
    for i in range(y.data.size):
        e[i] = 1
        (g,) = run_backward(y, Tensor(e.reshape(y.shape)), True, False, [x])  # type: ignore[misc]
        if g is not None:  # copied out before e changes: g may be a view of it
            out[i] = g.data.ravel()
        e[i] = 0


def numerical_jacobian(f: Fn, x: Any, eps: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian in float64, shape ``out.shape + x.shape``.

    Column j is (f(x + eps e_j) - f(x - eps e_j)) / (2 eps).
    """
    arr = np.array(_point(x), dtype=np.float64)
    flat = arr.reshape(-1)
    cols = []
    out_shape: tuple[int, ...] = ()
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + eps
        plus = _value(f, arr)
        flat[j] = old - eps
        minus = _value(f, arr)
        flat[j] = old
        out_shape = plus.shape
        cols.append(((plus - minus) / (2 * eps)).reshape(-1))
    if not cols:
        out_shape = _value(f, arr).shape
        return np.zeros(out_shape + arr.shape)
    return np.stack(cols, axis=-1).reshape(out_shape + arr.shape)


def numerical_grad(f: Fn, x: Any, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function in float64, shape of x.

    >>> import glassnet as gn
    >>> gn.numerical_grad(lambda x: (x * x).sum(), [1.0, 2.0]).round(6)
    array([2., 4.])
    """
    jac = numerical_jacobian(f, x, eps)
    arr_shape = np.shape(_point(x))
    if jac.shape != arr_shape:
        raise ValueError("numerical_grad: f must return a scalar; use numerical_jacobian")
    return jac


def _value(f: Fn, arr: np.ndarray) -> np.ndarray:
    with no_grad():
        y = f(Tensor(arr.copy()))
    return np.asarray(y.data if isinstance(y, Tensor) else y, dtype=np.float64)


@dataclass
class GradcheckReport:
    """Result of ``gradcheck``: analytic vs numerical Jacobians.

    ``ok`` is True when every entry satisfies |num - ana| <= atol + rtol |ana|.
    ``max_abs_error``/``max_rel_error`` are the worst errors; ``where`` names the input
    (by position) and the (output index, input index) of the worst absolute error.
    """

    ok: bool
    max_abs_error: float
    max_rel_error: float
    where: str
    atol: float
    rtol: float
    analytic: list[np.ndarray] = field(repr=False, default_factory=list)
    numerical: list[np.ndarray] = field(repr=False, default_factory=list)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        verdict = "passed" if self.ok else "FAILED"
        return (
            f"gradcheck {verdict}: max abs error {self.max_abs_error:.3g}, "
            f"max rel error {self.max_rel_error:.3g} (atol={self.atol}, rtol={self.rtol}); "
            f"worst at {self.where}"
        )


class GradcheckError(AssertionError):
    """Raised by ``gradcheck(..., raise_on_failure=True)`` when the check fails."""


def _split_inputs(inputs: Sequence[Any]) -> tuple[list[Any], list[int]]:
    values: list[Any] = []
    diff_idx: list[int] = []
    for k, x in enumerate(inputs):
        raw = x.data if isinstance(x, Tensor) else x
        if isinstance(raw, (np.ndarray, np.generic)) and np.asarray(raw).dtype.kind in "iub":
            values.append(np.asarray(raw))
        elif isinstance(raw, (list, tuple, float, int, np.ndarray, np.generic)):
            values.append(np.array(raw, dtype=np.float64))
            diff_idx.append(k)
        else:
            raise TypeError(f"gradcheck: input {k} is not numeric: {type(x).__name__}")
    return values, diff_idx


def gradcheck(
    f: Fn,
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    raise_on_failure: bool = False,
) -> GradcheckReport:
    """Compare ``f``'s analytic Jacobians with central differences, in float64.

    ``f`` takes one Tensor per entry of ``inputs`` and returns a Tensor of any shape.
    Float inputs are differentiated (converted to float64); integer or boolean arrays
    (labels, masks) are passed through as constants.

    >>> import glassnet as gn
    >>> gn.gradcheck(lambda a, b: a * b, [1.0, 2.0], [3.0, 4.0]).ok
    True
    """
    values, diff_idx = _split_inputs(inputs)

    def call(vals: list[Any], requires: bool) -> tuple[Tensor, list[Tensor]]:
        ts = []
        for k, v in enumerate(vals):
            ts.append(Tensor(v.copy(), requires_grad=requires and k in diff_idx))
        return f(*ts), ts

    with enable_grad():
        y, ts = call(values, True)
    y = _as_output(y, "gradcheck")
    m = y.data.size
    analytic = [np.zeros((m, values[k].size)) for k in diff_idx]
    if y.requires_grad:
        for i in range(m):
            e = np.zeros(m, dtype=y.dtype)
            e[i] = 1
            gs = gradients(y, [ts[k] for k in diff_idx], e.reshape(y.shape), retain_graph=True)
            for slot, g in enumerate(gs):
                if g is not None:
                    analytic[slot][i] = g.data.ravel()

    numerical = []
    for k in diff_idx:
        def fk(xk: Tensor, k: int = k) -> Any:
            vals = list(values)
            vals[k] = xk.data
            out, _ = call(vals, False)
            return out

        numerical.append(numerical_jacobian(fk, values[k], eps).reshape(m, -1))

    worst_abs, worst_rel, where, ok = 0.0, 0.0, "nowhere", True
    for slot, k in enumerate(diff_idx):
        ana, num = analytic[slot], numerical[slot]
        err = np.abs(num - ana)
        if not np.all(np.isfinite(ana)) or not np.all(np.isfinite(num)):
            ok = False
            err = np.where(np.isfinite(err), err, np.inf)
        bad = err > atol + rtol * np.abs(ana)
        if bad.any():
            ok = False
        if err.size:
            idx = np.unravel_index(int(np.argmax(err)), err.shape)
            with np.errstate(invalid="ignore", over="ignore"):
                rel = err / np.maximum(np.abs(ana), 1e-300)
            # a non-finite gradient is infinitely wrong (nan would vanish from max())
            rel = np.where(err == 0, 0.0, np.where(np.isnan(rel), np.inf, rel))
            if err[idx] >= worst_abs:
                worst_abs = float(err[idx])
                out_i = np.unravel_index(idx[0], y.shape) if y.shape else ()
                in_j = np.unravel_index(idx[1], values[k].shape) if values[k].shape else ()
                where = f"input {k}, output index {tuple(map(int, out_i))}, " \
                        f"input index {tuple(map(int, in_j))}"
            worst_rel = max(worst_rel, float(rel.max()))
    report = GradcheckReport(ok, worst_abs, worst_rel, where, atol, rtol, analytic, numerical)
    if raise_on_failure and not ok:
        raise GradcheckError(str(report))
    return report


def gradgradcheck(
    f: Fn,
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
    raise_on_failure: bool = False,
) -> GradcheckReport:
    """Check second derivatives: gradcheck the vector-Jacobian product of ``f``.

    With a fixed random cotangent u, g(inputs) = d(u . f(inputs))/d(inputs) is built with
    ``create_graph=True`` and its own Jacobian is compared with central differences.
    """
    values, diff_idx = _split_inputs(inputs)
    with enable_grad():
        y0 = f(*[Tensor(v.copy()) for v in values])
    u = np.random.default_rng(seed).standard_normal(np.shape(y0.data))

    def vjp(*ts: Tensor) -> Tensor:
        # The numerical pass calls this under no_grad with plain tensors: the first
        # derivative must still be taken, so those become fresh leaves here.
        with enable_grad():
            ts = tuple(
                (t if t.requires_grad else Tensor(t.data, requires_grad=True))
                if k in diff_idx else Tensor(values[k])
                for k, t in enumerate(ts)
            )
            diff = [ts[k] for k in diff_idx]
            y = f(*ts)
            if not y.requires_grad:
                return Tensor(np.zeros(sum(values[k].size for k in diff_idx)))
            gs = gradients(y, diff, u, create_graph=True)
            parts = [
                (g if g is not None else Tensor(np.zeros(t.shape))).reshape(-1)
                for g, t in zip(gs, diff)
            ]
            return concatenate(parts) if len(parts) > 1 else parts[0]

    return gradcheck(
        vjp, *values, eps=eps, atol=atol, rtol=rtol, raise_on_failure=raise_on_failure
    )
