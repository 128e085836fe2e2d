"""Fused loss primitives: the loss and its analytic gradient in one class each.

Each class takes the prediction (scores, probabilities or outputs) first, the target
second, and ``reduction`` ("mean" over samples, "sum", or "none": one loss per sample)
as a keyword. Samples run along the first axis; a sample's loss is summed over its
other entries (its classes or components). The public face, with input validation,
is ``glassnet.losses``: these classes trust their inputs.

A backward has two paths. Without ``create_graph`` (training) it reuses arrays saved by
the forward (softmax, sigmoid, masks) and does plain NumPy arithmetic. With
``create_graph`` it rebuilds the same gradient from Tensor operations on the inputs, so
the gradient can be differentiated again (Hessians); the tests check that both paths
agree. A gradient that is piecewise constant in the prediction (hinge, l1) needs only
one path: a constant array times dout, whose derivative is zero almost everywhere.

Exponentials are allowed to underflow to 0 (``np.errstate(under="ignore")``): that is
the correct limit, and it keeps the losses quiet under ``np.errstate(all="raise")``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.autograd import function as _function
from glassnet.autograd.function import Function
from glassnet.autograd.grad_mode import is_grad_enabled
from glassnet.ops.elementwise import Where
from glassnet.ops.shape import GetItem, ScatterAdd

#: Logarithms of probabilities are clamped below at this value (PyTorch's BCELoss uses
#: -100 too); float32 uses log of its smallest normal number (-87.34) so that 1/p stays
#: finite. See ``log_floor``.
LOG_MIN = -100.0


def log_floor(dtype: Any) -> float:
    """The clamp for log p in ``dtype``: max(-100, log(smallest normal number)).

    -100 in float64 (PyTorch's BCELoss clamp); about -87.34 in float32, where a
    probability below the smallest normal number (1.2e-38) would make 1/p overflow.
    """
    return float(max(LOG_MIN, np.log(np.finfo(dtype).tiny)))


def _reduce(per_sample: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        # sum / N: the same value as .mean() without its Python-level wrapper
        return np.add.reduce(per_sample, axis=None) / max(per_sample.size, 1)
    if reduction == "sum":
        return per_sample.sum()
    return per_sample


def _weight(dout: Any, shape: tuple[int, ...], reduction: str) -> Any:
    """dL/dL_i (L the reduced loss, L_i sample i's loss) as a Tensor that broadcasts
    against an input of ``shape`` (samples on axis 0): dout / N, dout, or dout per row."""
    if reduction == "mean":
        return dout / (shape[0] if shape else 1)
    if reduction == "sum" or not shape:
        return dout
    return dout.reshape(shape[:1] + (1,) * (len(shape) - 1))


def _per_sample(elementwise: np.ndarray) -> np.ndarray:
    """Sum an (N, ...) array of elementwise losses over all axes but the first."""
    if elementwise.ndim <= 1:
        return elementwise
    return elementwise.reshape(elementwise.shape[0], -1).sum(axis=1)


_ARANGE: dict[int, np.ndarray] = {}


def _arange(n: int) -> np.ndarray:
    """``np.arange(n)`` (the row indices of a batch), made once per n and read-only."""
    rows = _ARANGE.get(n)
    if rows is None:
        if len(_ARANGE) >= 64:
            _ARANGE.clear()
        rows = _ARANGE[n] = np.arange(n)
        rows.flags.writeable = False
    return rows


def _row_max(s: np.ndarray) -> np.ndarray:
    """``s.max(axis=1, keepdims=True)`` of an (N, C) array. For a few classes NumPy is
    slow along the short last axis; a transposed copy reduced along its first axis gives
    the same maxima (NaN propagates the same way) about four times faster."""
    n, c = s.shape
    if c > 32 or n < 8:
        return s.max(axis=1, keepdims=True)
    return np.ascontiguousarray(s.T).max(axis=0)[:, None]


_ONES: dict[tuple[int, Any], np.ndarray] = {}


def _row_sum(e: np.ndarray) -> np.ndarray:
    """``e.sum(axis=1, keepdims=True)`` of a float (N, C) array as a product with a vector
    of ones (one BLAS call, about three times faster than the reduction along the short
    last axis; the same sums up to the order of the additions)."""
    key = (e.shape[1], e.dtype)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) >= 64:
            _ONES.clear()
        ones = _ONES[key] = np.ones(e.shape[1], dtype=e.dtype)
        ones.flags.writeable = False
    return (e @ ones)[:, None]


def _one_hot(y: np.ndarray, c: int, dtype: Any) -> np.ndarray:
    z = np.zeros((y.shape[0], c), dtype=dtype)
    z[np.arange(y.shape[0]), y] = 1
    return z


class MulticlassHinge(Function):
    """Multiclass SVM loss, the lecture's sum over the wrong classes.

    Forward: L_i = sum_{j != y_i} max(0, s_ij - s_iy_i + margin); s (N, C), y (N,) ints.
    Gradient: ds_ij = [s_ij - s_iy_i + margin > 0] for j != y_i,
    ds_iy_i = -(number of such j); times dL/dL_i (1/N for the mean).
    Conventions: a term exactly at the margin is 0 with subgradient 0. The gradient is
    piecewise constant, so its derivative is 0 (almost everywhere).
    Equivalent: C * ``torch.nn.functional.multi_margin_loss(s, y, margin=margin)``.

    >>> import numpy as np
    >>> from glassnet import tensor
    >>> s = tensor([[3.2, 5.1, -1.7]])
    >>> round(MulticlassHinge.apply(s, np.array([0]), reduction="mean", margin=1.0).item(), 4)
    2.9
    """

    def forward(self, s, y, reduction, margin):
        n = s.shape[0]
        rows = np.arange(n)
        m = s - s[rows, y][:, None] + margin
        m[rows, y] = 0
        active = m > 0
        g = active.astype(s.dtype)
        g[rows, y] = -g.sum(axis=1)
        self.g, self.reduction = g, reduction
        return _reduce(np.maximum(m, 0, out=m).sum(axis=1), reduction)

    def backward(self, dout):
        g = _function.Tensor(self.g)
        return g * _weight(dout, self.g.shape, self.reduction), None


class SquaredHinge(Function):
    """Multiclass squared hinge loss (L2-SVM): the hinge terms squared.

    Forward: L_i = sum_{j != y_i} h_ij^2, h_ij = max(0, s_ij - s_iy_i + margin); s (N, C).
    Gradient: ds_ij = 2 h_ij for j != y_i, ds_iy_i = -2 sum_{j != y_i} h_ij.
    Conventions: once differentiable everywhere; the second derivative (2 on active
    terms) jumps at the margin, where a term is inactive.
    Equivalent: C * ``torch.nn.functional.multi_margin_loss(s, y, p=2, margin=margin)``.

    >>> import numpy as np
    >>> from glassnet import tensor
    >>> s = tensor([[3.2, 5.1, -1.7]])
    >>> round(SquaredHinge.apply(s, np.array([0]), reduction="mean", margin=1.0).item(), 4)
    8.41
    """

    def forward(self, s, y, reduction, margin):
        n = s.shape[0]
        rows = np.arange(n)
        with np.errstate(under="ignore"):
            h = s - s[rows, y][:, None] + margin
            h[rows, y] = 0
            np.maximum(h, 0, out=h)
            self.h, self.y, self.reduction, self.margin = h, y, reduction, margin
            return _reduce((h * h).sum(axis=1), reduction)

    def backward(self, dout):
        w = _weight(dout, self.h.shape, self.reduction)
        rows = np.arange(self.h.shape[0])
        with np.errstate(under="ignore"):
            if is_grad_enabled():
                s = self.inputs[0]
                not_y = 1 - _one_hot(self.y, self.h.shape[1], s.dtype)
                sy = GetItem.apply(s, index=(rows, self.y)).reshape(-1, 1)
                g = ((s - sy + self.margin) * not_y).relu() * 2.0
                g = g - (1 - not_y) * g.sum(axis=1, keepdims=True)
                return g * w, None
            g = self.h * (2 * w.data)
            g[rows, self.y] = -g.sum(axis=1)
            return _function.Tensor(g), None


class BinaryHinge(Function):
    """Binary SVM loss with labels -1/+1.

    Forward: L_i = max(0, 1 - y_i s_i); s (N,), y (N,) in {-1, +1}.
    Gradient: ds_i = -y_i [1 - y_i s_i > 0].
    Conventions: at exactly the margin (y s = 1) the loss is 0 with subgradient 0.
    Equivalent: ``sklearn.metrics.hinge_loss(y, s)`` (mean); per sample
    ``torch.clamp(1 - y * s, min=0)``.

    >>> import numpy as np
    >>> from glassnet import tensor
    >>> BinaryHinge.apply(tensor([0.5, 2.0]), np.array([1.0, -1.0]), reduction="sum").item()
    3.5
    """

    def forward(self, s, y, reduction):
        m = 1 - y * s
        self.g = -(y * (m > 0)).astype(s.dtype, copy=False)
        self.reduction = reduction
        return _reduce(np.maximum(m, 0), reduction)

    def backward(self, dout):
        g = _function.Tensor(self.g)
        return g * _weight(dout, self.g.shape, self.reduction), None


class LogLikelihood(Function):
    """Negative log-likelihood of the true class from probabilities.

    Forward: L_i = -max(log p_iy_i, floor); p (N, C) in [0, 1], y (N,) ints;
    floor = ``log_floor(dtype)`` (-100 in float64).
    Gradient: dp_iy_i = -1 / p_iy_i where log p_iy_i > floor, 0 where it is clamped;
    dp_ij = 0 for j != y_i.
    Conventions: the clamp keeps the loss finite (at most -floor per sample) for p = 0;
    the gradient is the exact derivative of the clamped function.
    Equivalent: ``torch.nn.functional.nll_loss(torch.log(p).clamp(min=-100), y)``;
    ``sklearn.metrics.log_loss(y, p, labels=range(C))`` (which clips p to [eps, 1-eps]).

    >>> import numpy as np
    >>> from glassnet import tensor
    >>> p = tensor([[0.25, 0.75]], dtype=np.float64)
    >>> round(LogLikelihood.apply(p, np.array([0]), reduction="mean").item(), 6)
    1.386294
    """

    def forward(self, p, y, reduction):
        self.index = (np.arange(p.shape[0]), y)
        floor = log_floor(p.dtype)
        with np.errstate(divide="ignore"):
            logp = np.log(p[self.index])
        self.active = (logp > floor).astype(p.dtype)
        self.shape, self.reduction = p.shape, reduction
        return _reduce(-np.maximum(logp, floor), reduction)

    def backward(self, dout):
        p = self.inputs[0]
        py = GetItem.apply(p, index=self.index)
        safe = Where.apply(self.active > 0, py, 1.0)
        w = _weight(dout, self.shape[:1], self.reduction)
        gy = -(w * self.active) / safe
        return ScatterAdd.apply(gy, index=self.index, shape=self.shape), None


class CrossEntropy(Function):
    """The lecture's cross-entropy of probabilities against a one-hot target.

    Forward: L_i = -sum_j [z_ij log p_ij + (1 - z_ij) log(1 - p_ij)], z = one-hot(y);
    p (N, C) in [0, 1]; each log clamped below at ``log_floor(dtype)`` (-100 in float64).
    Gradient: dp_ij = -1/p_ij if j = y_i, 1/(1 - p_ij) otherwise; 0 where a log is clamped.
    Conventions: finite for every p in [0, 1] (at most -floor per term); 1 - p is formed
    from the given probabilities, so p near 1 in float32 is coarse: prefer
    ``SoftmaxCrossEntropy`` on scores.
    Equivalent: C * ``torch.nn.functional.binary_cross_entropy(p, one_hot(y))`` (torch
    averages over N*C entries).

    >>> import numpy as np
    >>> from glassnet import tensor
    >>> p = tensor([[0.5, 0.5]], dtype=np.float64)
    >>> round(CrossEntropy.apply(p, np.array([0]), reduction="mean").item(), 6)
    1.386294
    """

    def forward(self, p, y, reduction):
        self.z = _one_hot(y, p.shape[1], bool)
        floor = log_floor(p.dtype)
        with np.errstate(divide="ignore"):
            logq = np.log(np.where(self.z, p, 1 - p))
        active = logq > floor
        self.sign = np.where(self.z, -1.0, 1.0).astype(p.dtype) * active
        self.active, self.reduction = active, reduction
        return _reduce(-np.maximum(logq, floor).sum(axis=1), reduction)

    def backward(self, dout):
        p = self.inputs[0]
        q = Where.apply(self.z, p, 1.0 - p)
        safe = Where.apply(self.active, q, 1.0)
        g = _function.Tensor(self.sign) / safe
        return g * _weight(dout, self.z.shape, self.reduction), None


class SoftmaxLogLikelihood(Function):
    """The softmax classifier: negative log-likelihood of softmax(scores).

    Forward: L_i = -log p_iy_i = logsumexp_j(s_ij) - s_iy_i, p = softmax(s); s (N, C).
    Gradient: ds_i = p_i - onehot(y_i) (times 1/N for the mean).
    Conventions: stable for any finite scores (the row maximum is subtracted before exp);
    exp(s - max) is computed once in the forward and reused by the backward.
    Equivalent: ``torch.nn.functional.cross_entropy(s, y)``.

    >>> import numpy as np
    >>> from glassnet import tensor
    >>> s = tensor([[0.0, 0.0, 0.0, 0.0]], dtype=np.float64)
    >>> round(SoftmaxLogLikelihood.apply(s, np.array([2]), reduction="mean").item(), 6)
    1.386294
    """

    def forward(self, s, y, reduction):
        rows = _arange(s.shape[0])
        with np.errstate(under="ignore"):
            z = s - _row_max(s)
            zy = z[rows, y]
            e = np.exp(z, out=z)
            total = _row_sum(e)
            self.e, self.total, self.y, self.reduction = e, total, y, reduction
            return _reduce(np.log(total[:, 0]) - zy, reduction)

    # Without create_graph the engine hands this backward arrays (dout, inputs) and takes
    # an array back: the training path, with no Tensor made.
    array_backward = True

    def backward(self, dout):
        w = _weight(dout, self.e.shape, self.reduction)
        with np.errstate(under="ignore"):
            if is_grad_enabled():
                s = self.inputs[0]
                z = _one_hot(self.y, s.shape[1], s.dtype)
                return (s.softmax(axis=1) - z) * w, None
            g = self.e * (w / self.total)
            g[_arange(g.shape[0]), self.y] -= w.reshape(-1) if w.ndim else w
            return g, None


class SoftmaxCrossEntropy(Function):
    """The lecture's softmax + cross-entropy, computed stably from the scores.

    Forward: L_i = -log p_iy - sum_{k != y} log(1 - p_ik), p = softmax(s_i); s (N, C).
    log p_k = s_k - logsumexp(s); log(1 - p_k) = logsumexp_{j != k}(s_j) - logsumexp(s).
    Gradient: ds_ij = C p_ij - [j = y_i] - sum_{k not in {y_i, j}} p_ij / (1 - p_ik).
    Conventions: finite for any finite scores. For the row's largest score K,
    log(1 - p_K) is the leave-one-out logsumexp taken from the second largest score;
    for every other k, p_k <= 1/2 and log(1 - p_k) = log1p(-p_k) is exact. 1 - p is
    never formed where it could round to 0, and each ratio p_j / (1 - p_k) <= 1 is
    evaluated as exp(log p_j - log(1 - p_k)). C = 1 gives 0. Both backward paths cost
    O(N C) time and memory.
    Equivalent: no single PyTorch call; with q = torch.softmax(s, 1):
    ``nll_loss(log_softmax(s), y) - (mask * torch.log1p(-q)).sum(1).mean()``, mask the
    wrong classes (this composite is not stable when a probability rounds to 1).

    >>> import numpy as np
    >>> from glassnet import tensor
    >>> s = tensor([[0.0, 0.0]], dtype=np.float64)
    >>> round(SoftmaxCrossEntropy.apply(s, np.array([1]), reduction="mean").item(), 6)
    1.386294
    """

    def forward(self, s, y, reduction):
        n, c = s.shape
        self.y, self.reduction, self.shape = y, reduction, s.shape
        if c == 1:
            return _reduce(np.zeros(n, dtype=s.dtype), reduction)
        rows = np.arange(n)
        with np.errstate(under="ignore"):
            top = s.argmax(axis=1)
            m1 = s[rows, top][:, None]
            e = np.exp(s - m1)
            total = e.sum(axis=1, keepdims=True)
            logp = (s - m1) - np.log(total)
            p = e / total
            # log(1 - p_k): log1p(-p_k) off the top class (p_k <= 1/2 there) ...
            p_off = p.copy()
            p_off[rows, top] = 0
            log1mp = np.log1p(-p_off)
            # ... and the leave-one-out logsumexp from the second largest score at the top.
            rest = s.copy()
            rest[rows, top] = -np.inf
            m2 = rest.max(axis=1, keepdims=True)
            # (m2 - m1) first: adding the logs to m2 and m1 apart would lose them at 1e30
            log1mp[rows, top] = (m2 - m1)[:, 0] + (
                np.log(np.exp(rest - m2).sum(axis=1)) - np.log(total[:, 0])
            )
            self.p, self.logp, self.log1mp, self.top = p, logp, log1mp, top
            wrong = log1mp.copy()
            wrong[rows, y] = 0
            return _reduce(-logp[rows, y] - wrong.sum(axis=1), reduction)

    def backward(self, dout):
        w = _weight(dout, self.shape, self.reduction)
        n, c = self.shape
        if c == 1:
            return _function.Tensor(np.zeros(self.shape, dtype=dout.dtype)) * w, None
        with np.errstate(under="ignore"):
            if is_grad_enabled():
                return self._grad_tensor(self.inputs[0]) * w, None
            rows = np.arange(n)
            # sum over k not in {y, j, top} of 1/(1 - p_k) (each <= 2), for every j;
            # 1/(1 - p_top) may overflow, so the top class is left out before exp
            off_top = self.log1mp.copy()
            off_top[rows, self.top] = 0
            r = np.exp(-off_top)
            r[rows, self.top] = 0
            r[rows, self.y] = 0
            others = r.sum(axis=1, keepdims=True) - r
            # the top class's term p_j / (1 - p_top), kept where top not in {y, j}
            expo = self.logp - self.log1mp[rows, self.top][:, None]
            expo[rows, self.top] = -np.inf
            expo[self.y == self.top] = -np.inf
            g = c * self.p - self.p * others - np.exp(expo)
            g[rows, self.y] -= 1
            return _function.Tensor(g * w.data), None

    def _grad_tensor(self, s):
        """The same gradient from Tensor operations (differentiable again); C >= 2.

        The masks (top class, label) are constants: the formula is exact whichever
        class is called the top, so they carry no derivative.
        """
        n, c = self.shape
        s = s - s.data.max(axis=1, keepdims=True)  # a constant shift keeps the logs small
        p, logp = s.softmax(axis=1), s.log_softmax(axis=1)
        top = _one_hot(self.top, c, bool)
        label = _one_hot(self.y, c, bool)
        # log(1 - p_top): the top score pushed down by a finite amount that makes it
        # vanish next to the others (a leave-one-out logsumexp with no -inf in the graph)
        spread = s.data.max(axis=1, keepdims=True) - s.data.min(axis=1, keepdims=True)
        drop_top = (2 * spread + 1000) * top
        log1mp_top = (s - drop_top).logsumexp(axis=1, keepdims=True) - s.logsumexp(
            axis=1, keepdims=True)
        off = ~(top | label)
        r = off / (1.0 - p * off)  # 1/(1 - p_k) for k not in {top, y}, else 0
        others = r.sum(axis=1, keepdims=True) - r
        keep = ~top & (self.y != self.top)[:, None]
        term = Where.apply(keep, logp - log1mp_top, 0.0).exp() * keep
        return p * c - label.astype(s.dtype) - p * others - term


class L1(Function):
    """L1 regression loss, summed over each sample's components.

    Forward: L_i = sum_d |s_id - t_id|; s and t broadcast to (N, ...) (or 0-d: one sample).
    Gradient: ds = sign(s - t); dt = -sign(s - t).
    Conventions: |x|'(0) = 0.
    Equivalent: D * ``torch.nn.functional.l1_loss(s, t)`` (torch averages over N*D).

    >>> import numpy as np
    >>> from glassnet import tensor
    >>> L1.apply(tensor([[1.0, -1.0]]), np.array([[0.0, 1.0]]), reduction="mean").item()
    3.0
    """

    def forward(self, s, t, reduction):
        d = s - t
        self.sign, self.reduction = np.sign(d), reduction
        return _reduce(_per_sample(np.abs(d)), reduction)

    def backward(self, dout):
        g = _function.Tensor(self.sign) * _weight(dout, self.sign.shape, self.reduction)
        ns, nt = self.needs_input_grad
        return (g if ns else None), (-g if nt else None)


class L2(Function):
    """L2 regression loss, squared errors summed over each sample's components.

    Forward: L_i = sum_d (t_id - s_id)^2; s and t broadcast to (N, ...).
    Gradient: ds = -2 (t - s) (the lecture's -2(y - s)); dt = 2 (t - s).
    Equivalent: D * ``torch.nn.functional.mse_loss(s, t)`` (torch averages over N*D).

    >>> import numpy as np
    >>> from glassnet import tensor
    >>> L2.apply(tensor([[1.0, -1.0]]), np.array([[0.0, 1.0]]), reduction="mean").item()
    5.0
    """

    def forward(self, s, t, reduction):
        with np.errstate(under="ignore"):
            d = s - t
            self.d, self.reduction = d, reduction
            return _reduce(_per_sample(d * d), reduction)

    array_backward = True  # arrays in and out without create_graph

    def backward(self, dout):
        w = _weight(dout, self.d.shape, self.reduction)
        if is_grad_enabled():
            s, t = self.inputs
            g = (s - t) * w * 2.0
        else:
            g = self.d * (2 * w)
        ns, nt = self.needs_input_grad
        return (g if ns else None), (-g if nt else None)


class Huber(Function):
    """Huber loss: quadratic within ``delta`` of the target, linear beyond.

    Forward: L_i = sum_d h(s_id - t_id), h(r) = r^2/2 if |r| <= delta,
    delta (|r| - delta/2) otherwise; computed as m (|r| - m/2), m = min(|r|, delta).
    Gradient: ds = clip(s - t, -delta, delta); dt = -ds.
    Conventions: once differentiable everywhere; the second derivative (1 inside, 0
    outside) takes the value 1 at exactly |r| = delta.
    Equivalent: D * ``torch.nn.functional.huber_loss(s, t, delta=delta)``.

    >>> import numpy as np
    >>> from glassnet import tensor
    >>> s = tensor([[0.5, 3.0]])
    >>> Huber.apply(s, np.zeros((1, 2)), reduction="mean", delta=1.0).item()
    2.625
    """

    def forward(self, s, t, reduction, delta):
        with np.errstate(under="ignore"):
            d = s - t
            a = np.abs(d)
            m = np.minimum(a, delta)
            self.g = np.sign(d) * m
            self.delta, self.reduction = delta, reduction
            return _reduce(_per_sample(m * (a - 0.5 * m)), reduction)

    def backward(self, dout):
        w = _weight(dout, self.g.shape, self.reduction)
        if is_grad_enabled():
            s, t = self.inputs
            g = (s - t).clip(-self.delta, self.delta) * w
        else:
            g = _function.Tensor(self.g * w.data)
        ns, nt = self.needs_input_grad
        return (g if ns else None), (-g if nt else None)


class SigmoidBinaryCrossEntropy(Function):
    """Logistic-regression loss: binary cross-entropy of sigmoid(scores).

    Forward: L_i = sum_d [softplus(s_id) - t_id s_id], computed as
    max(s, 0) - t s + log1p(exp(-|s|)); targets t in [0, 1]; s, t broadcast to (N, ...).
    Gradient: ds = sigmoid(s) - t; dt = -s.
    Conventions: stable for any finite scores (no exp of a positive number).
    Equivalent: D * ``torch.nn.functional.binary_cross_entropy_with_logits(s, t)``.

    >>> import numpy as np
    >>> from glassnet import tensor
    >>> s = tensor([0.0], dtype=np.float64)
    >>> round(SigmoidBinaryCrossEntropy.apply(s, np.array([1.0]), reduction="mean").item(), 6)
    0.693147
    """

    def forward(self, s, t, reduction):
        with np.errstate(under="ignore"):
            e = np.exp(-np.abs(s))
            sig = np.where(s >= 0, 1 / (1 + e), e / (1 + e)).astype(e.dtype, copy=False)
            loss = np.maximum(s, 0) - t * s + np.log1p(e)
            self.dsig = sig - t
            self.reduction = reduction
            return _reduce(_per_sample(loss), reduction)

    def backward(self, dout):
        shape = self.dsig.shape
        w = _weight(dout, shape, self.reduction)
        ns, nt = self.needs_input_grad
        s, t = self.inputs
        ds = dt = None
        with np.errstate(under="ignore"):
            if ns:
                if is_grad_enabled():
                    ds = (s.sigmoid() - t) * w
                else:
                    ds = _function.Tensor(self.dsig * w.data)
            if nt:
                dt = -(s * w)
                if dt.shape != shape:
                    dt = dt.broadcast_to(shape)
        return ds, dt
