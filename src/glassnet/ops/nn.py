"""Fused layer primitives: the affine map of ``Linear`` and batch normalisation.

Each is a composite promoted to one graph node for speed (fewer nodes, fewer temporary
arrays); the plain composite built from primitives stays in the tests as the oracle.
Both backward passes are written in Tensor operations, so they can be differentiated
again (``create_graph=True``).
"""

from __future__ import annotations

import numpy as np

from glassnet.autograd import function as _function
from glassnet.autograd.function import Function
from glassnet.autograd.grad_mode import _enabled


class LinearFn(Function):
    """Affine map ``x W^T + b`` (PyTorch's layout; the lecture's s = W x + b per sample).

    Forward: out = x @ W^T + b; x (..., D) (also (D,) or (N, D)), W (H, D), b (H,) or
    None -> out (..., H).
    Gradient: dx = dout @ W; dW = dout^T @ x (leading axes of x flattened into the
    sample axis, so dW sums over every sample); db = dout summed over the leading axes.
    Conventions: ``b=None`` means no bias. Twice differentiable (the gradients are
    products of Tensors).
    Equivalent: ``torch.nn.functional.linear(x, W, b)``.

    >>> import numpy as np
    >>> import glassnet as gn
    >>> x = gn.tensor([[1.0, 2.0]])
    >>> W = gn.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    >>> LinearFn.apply(x, W, gn.tensor([0.5, 0.0, -1.0]))
    tensor([[1.5, 3. , 3. ]])
    """

    __slots__ = ()  # keeps nothing beyond its inputs: no instance dict

    array_backward = True

    def forward(self, x, W, b):
        if W.ndim != 2:
            raise ValueError(f"weight must be 2-D (out_features, in_features), got {W.shape}")
        if x.ndim == 0 or x.shape[-1] != W.shape[1]:
            raise ValueError(
                f"input's last axis must have in_features={W.shape[1]} entries, "
                f"got input of shape {x.shape}"
            )
        out = x @ W.T
        if b is not None:
            out += b
        return out

    def backward(self, dout):
        x, W, b = self.inputs
        nx, nW, nb = self.needs_input_grad
        dx = dout @ W if nx else None
        dW = db = None
        if nW or nb:
            d2 = dout.reshape(-1, W.shape[0])
            if nW:
                x2 = x.reshape(-1, W.shape[1])
                if isinstance(W, np.ndarray) and W.flags.f_contiguous and W.ndim == 2:
                    # dW in W's column-major layout: dW^T = x^T @ dout written straight
                    # into it (the same numbers as d2.T @ x2, a faster BLAS layout, and an
                    # array the optimizer updates in W's own memory order)
                    dW = np.empty(W.shape, dtype=np.result_type(d2, x2), order="F")
                    np.matmul(x2.T, d2, out=dW.T)
                else:
                    dW = d2.T @ x2
            if nb:
                db = d2.sum(axis=0)
        return dx, dW, db


class LinearReluFn(LinearFn):
    """``relu(x W^T + b)``: a hidden layer of an MLP as one node.

    Forward: out = max(0, x @ W^T + b), the maximum taken in place on the product (no
    second array of the layer's size).
    Gradient: with m = [out > 0], d = dout * m, then LinearFn's: dx = d @ W;
    dW = d^T @ x; db = d summed over the leading axes. relu' is taken as 0 at 0 (as
    ``Relu``); m is a constant, so the formula is differentiable again.
    Plain version (the tests' oracle): ``Relu.apply(LinearFn.apply(x, W, b))``.
    Equivalent: ``torch.relu(torch.nn.functional.linear(x, W, b))``.
    """

    __slots__ = ()  # keeps nothing beyond its inputs: no instance dict

    saves_output = True

    def forward(self, x, W, b):
        out = super().forward(x, W, b)
        return np.maximum(out, 0, out=out)

    def backward(self, dout):
        y = self.out()
        mask = (y.data if isinstance(y, _function.Tensor) else y) > 0
        return super().backward(dout * mask)


def _channel_axes(ndim: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(reduced axes, per-channel broadcast shape suffix) for (N, C), (N, C, L) or
    (N, C, H, W)."""
    if ndim == 2:
        return (0,), ()
    if ndim == 3:
        return (0, 2), (1,)
    if ndim == 4:
        return (0, 2, 3), (1, 1)
    raise ValueError(
        f"batch norm expects input of shape (N, C), (N, C, L) or (N, C, H, W), got {ndim}-D")


class BatchNormFn(Function):
    """Batch normalisation with batch statistics (training mode), per channel.

    Forward: over the batch axes (N for (N, C); N and L for (N, C, L); N, H and W for
    (N, C, H, W)), with m entries
    per channel: mu = mean(x), var = mean((x - mu)^2) (biased), xhat = (x - mu) /
    sqrt(var + eps), out = gamma * xhat + beta. ``mean``/``var`` may be passed in when
    the caller already computed them (they must be exactly the batch statistics).
    Gradient: dbeta = sum(dout); dgamma = sum(dout * xhat); with g = dout * gamma,
    dx = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps)
    (sums and means over the batch axes, per channel).
    Conventions: ``gamma``/``beta`` None means no affine transform. The first-order
    backward reuses the saved xhat; with ``create_graph=True`` xhat is rebuilt from x in
    Tensor operations so that second derivatives flow through the statistics.
    Running statistics are the caller's business (``glassnet.nn.functional.batch_norm``).
    Equivalent: ``torch.nn.functional.batch_norm(x, None, None, gamma, beta,
    training=True, eps=eps)``.

    >>> import glassnet as gn
    >>> x = gn.tensor([[1.0, 4.0], [3.0, 6.0]])
    >>> BatchNormFn.apply(x, gn.tensor([2.0, 1.0]), gn.tensor([0.0, 5.0]), eps=0.0).tolist()
    [[-2.0, 4.0], [2.0, 6.0]]
    """

    def forward(self, x, gamma, beta, eps, mean=None, var=None):
        axes, tail = _channel_axes(x.ndim)
        self.axes, self.eps = axes, eps
        self.cshape = cshape = (x.shape[1],) + tail
        d = x - (x.mean(axis=axes) if mean is None else mean).reshape(cshape)
        if var is None:
            var = (d * d).mean(axis=axes)
        self.inv = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False).reshape(cshape)
        self.xhat = d * self.inv
        if gamma is None and beta is None:
            return self.xhat.copy()
        out = self.xhat * gamma.reshape(cshape) if gamma is not None else self.xhat.copy()
        if beta is not None:
            out += beta.reshape(cshape)
        return out

    def backward(self, dout):
        x, gamma, beta = self.inputs
        nx, ng, nb = self.needs_input_grad
        axes, cshape = self.axes, self.cshape
        xhat, inv = self.xhat, self.inv
        if _enabled[0] and isinstance(x, _function.Tensor) and x.requires_grad:
            # create_graph: rebuild xhat and 1/std from x so they are part of the graph.
            d = x - x.mean(axis=axes, keepdims=True)
            inv = ((d * d).mean(axis=axes, keepdims=True) + self.eps) ** -0.5
            xhat = d * inv
        db = dout.sum(axis=axes) if nb else None
        dg = (dout * xhat).sum(axis=axes) if ng else None
        dx = None
        if nx:
            g = dout * gamma.reshape(cshape) if gamma is not None else dout
            dx = (
                g - g.mean(axis=axes, keepdims=True)
                - xhat * (g * xhat).mean(axis=axes, keepdims=True)
            ) * inv
        return dx, dg, db
