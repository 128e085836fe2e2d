"""The lecture's loss functions: how unhappy we are with the scores.

Each function takes the prediction and the target, validates them, and calls one fused
primitive of ``glassnet.ops.losses`` (the loss and its analytic gradient in one class).
Each has a Module wrapper (``HingeLoss``, ``SoftmaxLogLikelihoodLoss``, ...) that stores
its options and calls the function in ``forward(input, target)``.

Shared conventions
------------------
* Shapes: N samples, C classes, D components. Classification losses take scores or
  probabilities of shape (N, C) (or (C,) for one sample) and 0-based integer labels of
  shape (N,) given as an ndarray, a list or an integer Tensor.
* ``reduction``: "mean" (default) averages the per-sample losses over the N samples,
  "sum" adds them, "none" returns them, shape (N,). A per-sample loss sums over its
  classes or components (the lecture's L_i), so regression losses on (N, D) outputs are
  D times PyTorch's, which averages over all N*D entries; multiclass hinge losses are C
  times PyTorch's ``multi_margin_loss``, which divides by C.
* Names follow the lecture: ``softmax_log_likelihood`` is PyTorch's ``cross_entropy``;
  ``cross_entropy`` is the lecture's cross-entropy of probabilities (PyTorch's
  ``binary_cross_entropy`` against a one-hot target, times C).
* Bad input raises ValueError (TypeError for a non-numeric argument) naming the
  problem and the offending value: labels that are not integers or out of range,
  mismatched shapes, probabilities or targets outside [0, 1] or NaN, an unknown
  reduction. NaN in scores is not searched for (it propagates, as in PyTorch).
* Every loss is finite for finite scores (squares of huge numbers excepted: l2,
  squared_hinge and huber can overflow like the math does), and every softmax- or
  sigmoid-based loss gives finite values and gradients even for scores of +-1e30.

The full table of formulas, gradients and PyTorch / scikit-learn equivalents is in
``docs/losses.md``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from glassnet.autograd.tape import active as _tape
from glassnet.autograd.tape import effect
from glassnet.dtypes import get_default_dtype
from glassnet.nn.module import Module
from glassnet.ops import losses as _L
from glassnet.tensor import Tensor

__all__ = [
    "BinaryHingeLoss", "CrossEntropyLoss", "HingeLoss", "HuberLoss", "L1Loss", "L2Loss",
    "LogLikelihoodLoss", "SigmoidBinaryCrossEntropyLoss", "SoftmaxCrossEntropyLoss",
    "SoftmaxLogLikelihoodLoss", "SquaredHingeLoss", "binary_hinge", "cross_entropy",
    "hinge", "huber", "l1", "l2", "log_likelihood", "sigmoid_binary_cross_entropy",
    "softmax_cross_entropy", "softmax_log_likelihood", "squared_hinge",
]

REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------- validation
def _check_reduction(reduction: Any, fname: str) -> str:
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(
            f"{fname}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
        )
    return reduction


def _check_number(value: Any, fname: str, name: str, positive: bool = False) -> float:
    if isinstance(value, str):
        hint = f" (did you mean reduction={value!r}?)" if value in REDUCTIONS else ""
        raise TypeError(f"{fname}: {name} must be a number, got {value!r}{hint}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{fname}: {name} must be a number, got {value!r}") from None
    if not math.isfinite(number) or (positive and number <= 0):
        need = "a finite number > 0" if positive else "a finite number"
        raise ValueError(f"{fname}: {name} must be {need}, got {value!r}")
    return number


def _float_tensor(x: Any, fname: str, name: str) -> Tensor:
    """``x`` as a float Tensor (Tensors pass through; integer data becomes the default
    float dtype; Python lists follow glassnet's dtype rules)."""
    if not isinstance(x, Tensor):
        try:
            x = Tensor(x)
        except TypeError as e:
            raise TypeError(f"{fname}: {name} must be numeric: {e}") from None
    if x.dtype.kind in "iub":
        x = Tensor(x.data.astype(get_default_dtype()))
    elif x.dtype.kind != "f":
        raise TypeError(f"{fname}: {name} must be a float array, got dtype {x.dtype}")
    return x


def _first_bad(bad: np.ndarray) -> tuple[int, ...] | int:
    index = np.unravel_index(int(np.argmax(bad)), bad.shape)
    return int(index[0]) if len(index) == 1 else tuple(int(i) for i in index)


def _all_below(labels: np.ndarray, c: int) -> bool:
    """0 <= every label < c, for a non-empty integer array, in one reduction: seen as
    unsigned, a negative label is huge, so max < c checks both bounds."""
    if labels.dtype.kind == "i":
        labels = labels.view(labels.dtype.str.replace("i", "u"))
    return bool(labels.max() < c)


def _labels(y: Any, n: int, c: int, fname: str, batched: bool) -> np.ndarray:
    """Validate integer class labels for N samples and C classes; return them as intp."""
    arr = y.data if isinstance(y, Tensor) else np.asarray(y)
    if arr.size == 0 and arr.dtype.kind == "f":  # np.asarray([]) is float64
        arr = arr.astype(np.intp)
    if arr.dtype.kind not in "iu":
        hint = ""
        if arr.dtype.kind == "f":
            hint = (
                " (float labels are rejected even when integral, as in PyTorch: convert "
                "with y.astype(int); for one-hot or probability targets pass z.argmax(1))"
            )
        raise ValueError(
            f"{fname}: labels must be integer class indices, got dtype {arr.dtype}{hint}"
        )
    want = (n,) if batched else ()
    if arr.shape != want:
        what = f"{n} sample{'s' if n != 1 else ''}" if batched else "one sample of shape (C,)"
        raise ValueError(
            f"{fname}: labels of shape {arr.shape} do not match the scores: expected shape "
            f"{want} for {what}"
        )
    if arr.size and _all_below(arr, c):  # the common case, one reduction
        return arr.reshape(-1).astype(np.intp, copy=False)
    bad = (arr < 0) | (arr >= c)
    if bad.any():
        i = _first_bad(bad) if batched else ()
        where = f" at index {i}" if batched else ""
        raise ValueError(
            f"{fname}: label {arr[i]!s}{where} is out of range for {c} classes "
            f"(expected 0 to {c - 1})"
        )
    return arr.reshape(-1).astype(np.intp, copy=False)


def _training_labels(scores: Any, y: Any, fname: str) -> np.ndarray | None:
    """The labels as intp when the call is the common training one, else None.

    That call: float (N, C) scores Tensor with N, C > 0, and an (N,) integer ndarray of
    labels in [0, C). Anything else (and any bad label) goes through ``_class_inputs``,
    which checks the same things and says what is wrong."""
    if type(scores) is not Tensor or type(y) is not np.ndarray:
        return None
    shape = scores.data.shape
    if len(shape) != 2 or y.shape != shape[:1] or not shape[0] or scores.data.dtype.kind != "f":
        return None
    if y.dtype.kind not in "iu" or not _all_below(y, shape[1]):
        return None
    if _tape[0] is not None:  # a compiled step checks each batch's labels (see _labels)
        return effect(_labels, y, shape[0], shape[1], fname, True)
    return y if y.dtype == np.intp else y.astype(np.intp)


def _class_inputs(
    x: Any, y: Any, fname: str, name: str
) -> tuple[Tensor, np.ndarray, bool]:
    """(N, C) scores or probabilities and (N,) labels; (C,) and a 0-d label are one sample.

    Returns the 2-D Tensor, the labels and whether the input was unbatched.
    """
    x = _float_tensor(x, fname, name)
    if x.ndim not in (1, 2):
        raise ValueError(
            f"{fname}: {name} must have shape (N, C) (or (C,) for one sample), got {x.shape}"
        )
    batched = x.ndim == 2
    n, c = x.shape if batched else (1, x.shape[0])
    if c == 0:
        raise ValueError(f"{fname}: {name} of shape {x.shape} have no classes (C = 0)")
    labels = effect(_labels, y, n, c, fname, batched)  # a compiled step checks every batch
    return (x if batched else x.reshape(1, c)), labels, not batched


def _check_probabilities(p: Tensor, fname: str, name: str = "probabilities") -> None:
    data = p.data
    bad = ~((data >= 0) & (data <= 1))  # also catches NaN
    if bad.any():
        i = _first_bad(bad) if data.ndim else ()
        raise ValueError(
            f"{fname}: {name} must lie in [0, 1], got {data[i]!s} at index {i}"
        )


def _check_batch(n: int, reduction: str, fname: str) -> None:
    if n == 0 and reduction == "mean":
        raise ValueError(
            f"{fname}: the mean over an empty batch (N = 0) is undefined; "
            "use reduction='sum' or 'none'"
        )


def _finish(out: Tensor, unbatched: bool, reduction: str) -> Tensor:
    return out.reshape(()) if unbatched and reduction == "none" else out


def _pair(outputs: Any, targets: Any, fname: str, target_name: str) -> tuple[Tensor, Any]:
    """Regression outputs (a float Tensor) and targets of the same shape and dtype."""
    s = _float_tensor(outputs, fname, "outputs")
    if isinstance(targets, Tensor):
        if targets.dtype.kind != "f":
            t: Any = targets.data.astype(s.dtype)
        else:
            t = targets if targets.dtype == s.dtype else targets.astype(s.dtype)
    else:
        try:
            arr = np.asarray(targets)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{fname}: {target_name} must be numeric: {e}") from None
        if arr.dtype.kind not in "iufb":
            raise TypeError(f"{fname}: {target_name} must be numeric, got dtype {arr.dtype}")
        t = arr.astype(s.dtype, copy=False)
    if tuple(np.shape(t.data if isinstance(t, Tensor) else t)) != s.shape:
        shape = np.shape(t.data if isinstance(t, Tensor) else t)
        raise ValueError(
            f"{fname}: {target_name} of shape {tuple(shape)} do not match outputs of shape "
            f"{s.shape} (glassnet does not broadcast a loss's target: reshape explicitly)"
        )
    return s, t


# ---------------------------------------------------------------------------- classification
def hinge(scores: Any, y: Any, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """Multiclass SVM (hinge) loss: the lecture's sum over the wrong classes.

    Parameters
    ----------
    scores : Tensor or array_like, shape (N, C) or (C,)
        Class scores s = W x + b.
    y : array_like or integer Tensor, shape (N,) or ()
        The true class of each sample, 0 <= y < C.
    margin : float
        The required gap between the true class's score and every other score.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor
        0-d for "mean" and "sum"; shape (N,) for "none".

    Forward
    -------
    L_i = sum_{j != y_i} max(0, s_ij - s_iy_i + margin); mean over the N samples.

    Gradient
    --------
    dL_i/ds_ij = [s_ij - s_iy_i + margin > 0] for j != y_i;
    dL_i/ds_iy_i = -sum_{j != y_i} [s_ij - s_iy_i + margin > 0]; times 1/N for the mean.

    Conventions
    -----------
    A term exactly at the margin (s_j - s_y + margin = 0) contributes 0 with subgradient
    0. The loss is positively homogeneous only in the margin-free part: a W with zero
    loss keeps zero loss when doubled (the lecture's argument for regularization).

    Equivalent
    ----------
    C * ``torch.nn.functional.multi_margin_loss(scores, y, margin=margin)`` (PyTorch
    divides each sample's sum by C). scikit-learn's ``hinge_loss`` is different for
    C > 2: it uses the Crammer-Singer max over the wrong classes, not the sum (equal
    when at most one wrong class is inside the margin).

    Examples
    --------
    The lecture's three images (cat, car, frog), one row of scores per image:

    >>> from glassnet.losses import hinge
    >>> scores = [[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]
    >>> [round(v, 4) for v in hinge(scores, [0, 1, 2], reduction="none").tolist()]
    [2.9, 0.0, 12.9]
    >>> round(hinge(scores, [0, 1, 2]).item(), 4)
    5.2667
    """
    fname = "hinge"
    reduction = _check_reduction(reduction, fname)
    margin = _check_number(margin, fname, "margin")
    s, labels, unbatched = _class_inputs(scores, y, fname, "scores")
    _check_batch(s.shape[0], reduction, fname)
    out = _L.MulticlassHinge.apply(s, labels, reduction=reduction, margin=margin)
    return _finish(out, unbatched, reduction)


def squared_hinge(
    scores: Any, y: Any, margin: float = 1.0, reduction: str = "mean"
) -> Tensor:
    """Multiclass squared hinge loss (the L2-SVM): each hinge term squared.

    Parameters
    ----------
    scores : Tensor or array_like, shape (N, C) or (C,)
    y : array_like or integer Tensor, shape (N,) or ()
    margin : float
    reduction : {"mean", "sum", "none"}

    Forward
    -------
    L_i = sum_{j != y_i} h_ij^2 with h_ij = max(0, s_ij - s_iy_i + margin).

    Gradient
    --------
    dL_i/ds_ij = 2 h_ij for j != y_i; dL_i/ds_iy_i = -2 sum_{j != y_i} h_ij.

    Conventions
    -----------
    Differentiable everywhere (a term at the margin contributes 0 and gradient 0); the
    second derivative jumps there. Mean over samples by default.

    Equivalent
    ----------
    C * ``torch.nn.functional.multi_margin_loss(scores, y, p=2, margin=margin)``.

    Examples
    --------
    >>> from glassnet.losses import squared_hinge
    >>> round(squared_hinge([[3.2, 5.1, -1.7]], [0]).item(), 4)
    8.41
    """
    fname = "squared_hinge"
    reduction = _check_reduction(reduction, fname)
    margin = _check_number(margin, fname, "margin")
    s, labels, unbatched = _class_inputs(scores, y, fname, "scores")
    _check_batch(s.shape[0], reduction, fname)
    out = _L.SquaredHinge.apply(s, labels, reduction=reduction, margin=margin)
    return _finish(out, unbatched, reduction)


def binary_hinge(scores: Any, y: Any, reduction: str = "mean") -> Tensor:
    """Binary SVM (hinge) loss with labels -1 and +1.

    Parameters
    ----------
    scores : Tensor or array_like, shape (N,), (N, 1) or ()
        One score per sample; its sign is the predicted class.
    y : array_like or Tensor, shape (N,) or the shape of ``scores``
        -1 or +1 (integers or floats). For 0/1 labels pass 2 * y - 1.
    reduction : {"mean", "sum", "none"}

    Returns
    -------
    Tensor
        0-d for "mean" and "sum"; shape (N,) for "none" (0-d for a 0-d score).

    Forward
    -------
    L_i = max(0, 1 - y_i s_i).

    Gradient
    --------
    dL_i/ds_i = -y_i [1 - y_i s_i > 0].

    Conventions
    -----------
    At exactly the margin (y s = 1) the loss is 0 with subgradient 0.

    Equivalent
    ----------
    ``sklearn.metrics.hinge_loss(y, scores)`` for the mean (scikit-learn maps its two
    labels to -1/+1 itself). PyTorch has no binary hinge loss function; per sample it is
    ``torch.clamp(1 - y * s, min=0)``.

    Examples
    --------
    >>> from glassnet.losses import binary_hinge
    >>> binary_hinge([2.0, 0.5, -1.0], [1, 1, 1], reduction="none").tolist()
    [0.0, 0.5, 2.0]
    """
    fname = "binary_hinge"
    reduction = _check_reduction(reduction, fname)
    s = _float_tensor(scores, fname, "scores")
    if s.ndim > 2 or (s.ndim == 2 and s.shape[1] != 1):
        raise ValueError(f"{fname}: scores must have shape (N,) or (N, 1), got {s.shape}")
    n = s.shape[0] if s.ndim else 1
    labels = y.data if isinstance(y, Tensor) else np.asarray(y)
    if labels.dtype.kind not in "iuf":
        raise ValueError(f"{fname}: labels must be -1 or +1, got dtype {labels.dtype}")
    if labels.shape not in {s.shape, s.shape[:1]}:
        raise ValueError(
            f"{fname}: labels of shape {labels.shape} do not match scores of shape {s.shape}"
        )
    bad = (labels != 1) & (labels != -1)
    if bad.any():
        i = _first_bad(bad) if labels.ndim else ()
        raise ValueError(
            f"{fname}: labels must be -1 or +1, got {labels[i]!s} at index {i} "
            "(for 0/1 labels pass 2 * y - 1)"
        )
    _check_batch(n, reduction, fname)
    flat = s.reshape(s.shape[:1]) if s.ndim == 2 else s
    labels = labels.reshape(flat.shape).astype(s.dtype)
    return _L.BinaryHinge.apply(flat, labels, reduction=reduction)


def log_likelihood(probs: Any, y: Any, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of the true class, from probabilities: -log p_y.

    Parameters
    ----------
    probs : Tensor or array_like, shape (N, C) or (C,)
        Probabilities in [0, 1] (rows are assumed, not checked, to sum to 1).
    y : array_like or integer Tensor, shape (N,) or ()
    reduction : {"mean", "sum", "none"}

    Forward
    -------
    L_i = -log p_iy_i, with log p clamped below at -100 (float64; -87.34 in float32,
    the log of its smallest normal number), so p = 0 gives 100, not inf.

    Gradient
    --------
    dL_i/dp_iy_i = -1/p_iy_i (0 where the clamp is active); dL_i/dp_ij = 0 for j != y_i.

    Conventions
    -----------
    -log 0 = inf is the mathematical value; glassnet clamps the log as PyTorch's
    BCELoss does, so a confident mistake costs a large finite loss. The gradient is the
    derivative of the clamped function (0 in the clamped region). For training from
    scores use ``softmax_log_likelihood``, which never forms p.

    Equivalent
    ----------
    ``torch.nn.functional.nll_loss(torch.log(probs).clamp(min=-100), y)``; the same as
    ``nll_loss(torch.log(probs), y)`` wherever p >= e^-100. ``sklearn.metrics.log_loss(y,
    probs, labels=range(C))`` for probabilities inside [eps, 1 - eps] (scikit-learn
    clips to that range, eps = the dtype's machine epsilon).

    Examples
    --------
    >>> from glassnet.losses import log_likelihood
    >>> round(log_likelihood([[0.25, 0.75], [0.5, 0.5]], [1, 0]).item(), 4)
    0.4904
    """
    fname = "log_likelihood"
    reduction = _check_reduction(reduction, fname)
    p, labels, unbatched = _class_inputs(probs, y, fname, "probabilities")
    _check_probabilities(p, fname)
    _check_batch(p.shape[0], reduction, fname)
    out = _L.LogLikelihood.apply(p, labels, reduction=reduction)
    return _finish(out, unbatched, reduction)


def cross_entropy(probs: Any, y: Any, reduction: str = "mean") -> Tensor:
    """The lecture's cross-entropy of class probabilities against the one-hot label.

    Not PyTorch's ``cross_entropy`` (that is ``softmax_log_likelihood``): every class
    contributes, the true one through log p, the others through log(1 - p).

    Parameters
    ----------
    probs : Tensor or array_like, shape (N, C) or (C,)
        Probabilities in [0, 1] (e.g. sigmoid or softmax outputs).
    y : array_like or integer Tensor, shape (N,) or ()
    reduction : {"mean", "sum", "none"}

    Forward
    -------
    L_i = -sum_j [z_ij log p_ij + (1 - z_ij) log(1 - p_ij)], z_i = one-hot(y_i); each
    log clamped below at -100 (float64; -87.34 in float32).

    Gradient
    --------
    dL_i/dp_ij = -1/p_ij for j = y_i and 1/(1 - p_ij) for j != y_i (0 where a log is
    clamped).

    Conventions
    -----------
    Finite for every p in [0, 1]. 1 - p is computed from the given p: from scores use
    ``softmax_cross_entropy``, which is exact where a probability rounds to 1.

    Equivalent
    ----------
    C * ``torch.nn.functional.binary_cross_entropy(probs, one_hot(y).double())`` for the
    mean (PyTorch averages over the N*C entries; its log clamp is the same -100); the
    same without the factor for "sum"; for "none", PyTorch's (N, C) result summed over
    classes. PyTorch's gradient differs only where p(1 - p) < 1e-12 (it clamps the
    denominator there). ``sklearn.metrics.log_loss`` is ``log_likelihood``, not this.

    Examples
    --------
    >>> from glassnet.losses import cross_entropy
    >>> round(cross_entropy([[0.7, 0.2, 0.1]], [0]).item(), 4)
    0.6852
    """
    fname = "cross_entropy"
    reduction = _check_reduction(reduction, fname)
    p, labels, unbatched = _class_inputs(probs, y, fname, "probabilities")
    _check_probabilities(p, fname)
    _check_batch(p.shape[0], reduction, fname)
    out = _L.CrossEntropy.apply(p, labels, reduction=reduction)
    return _finish(out, unbatched, reduction)


def softmax_log_likelihood(scores: Any, y: Any, reduction: str = "mean") -> Tensor:
    """The softmax classifier's loss: -log softmax(scores)_y (PyTorch's cross_entropy).

    Parameters
    ----------
    scores : Tensor or array_like, shape (N, C) or (C,)
        Unnormalized log-probabilities (logits).
    y : array_like or integer Tensor, shape (N,) or ()
    reduction : {"mean", "sum", "none"}

    Forward
    -------
    L_i = -log p_iy_i = logsumexp_j(s_ij) - s_iy_i, p_i = softmax(s_i).

    Gradient
    --------
    dL_i/ds_i = p_i - onehot(y_i) (times 1/N for the mean).

    Conventions
    -----------
    Stable for any finite scores: the row maximum is subtracted before exp. The
    exponentials are computed once and reused by the backward (the training hot path).

    Equivalent
    ----------
    ``torch.nn.functional.cross_entropy(scores, y, reduction=...)`` exactly
    (``torch.nn.CrossEntropyLoss``); ``sklearn.metrics.log_loss(y, softmax(scores))``.

    Examples
    --------
    >>> from glassnet.losses import softmax_log_likelihood
    >>> round(softmax_log_likelihood([[2.0, 1.0, 0.1]], [0]).item(), 4)
    0.417
    """
    fname = "softmax_log_likelihood"
    labels = _training_labels(scores, y, fname)
    if labels is not None and reduction == "mean":
        # the training call, every check of the general path below done in a few lines
        return _L.SoftmaxLogLikelihood.apply(scores, labels, reduction="mean")
    reduction = _check_reduction(reduction, fname)
    s, labels, unbatched = _class_inputs(scores, y, fname, "scores")
    _check_batch(s.shape[0], reduction, fname)
    out = _L.SoftmaxLogLikelihood.apply(s, labels, reduction=reduction)
    return _finish(out, unbatched, reduction)


def softmax_cross_entropy(scores: Any, y: Any, reduction: str = "mean") -> Tensor:
    """The lecture's softmax + cross-entropy, computed stably from the scores.

    Parameters
    ----------
    scores : Tensor or array_like, shape (N, C) or (C,)
    y : array_like or integer Tensor, shape (N,) or ()
    reduction : {"mean", "sum", "none"}

    Forward
    -------
    L_i = -log p_iy_i - sum_{k != y_i} log(1 - p_ik), p_i = softmax(s_i), with
    log p_k = s_k - logsumexp(s) and log(1 - p_k) = logsumexp_{j != k}(s_j) - logsumexp(s).

    Gradient
    --------
    dL_i/ds_ij = C p_ij - [j = y_i] - sum_{k not in {y_i, j}} p_ij / (1 - p_ik).
    (From d log p_y/ds_j = [j = y] - p_j and d log(1 - p_k)/ds_j = [j != k] p_j/(1 - p_k)
    - p_j.) This is not p - z: that is the gradient of ``softmax_log_likelihood``.

    Conventions
    -----------
    Finite values and gradients for any finite scores (tested at +-1e4 and 1e30 in
    float32 and float64), also where a probability is 1 in floating point: 1 - p is
    never formed where it could round to 0 (the largest score's log(1 - p) is a
    leave-one-out logsumexp from the second largest score), and each ratio
    p_j/(1 - p_k) <= 1 is evaluated as exp(log p_j - log(1 - p_k)). C = 1 gives 0.

    Equivalent
    ----------
    No single PyTorch call. With q = softmax(s) and m the mask of wrong classes:
    ``F.cross_entropy(s, y, reduction="none") - (m * torch.log1p(-q)).sum(1)``, then the
    reduction; that composite overflows to inf where a q rounds to 1.

    Examples
    --------
    >>> from glassnet.losses import softmax_cross_entropy
    >>> round(softmax_cross_entropy([[0.0, 0.0]], [1]).item(), 4)
    1.3863
    >>> softmax_cross_entropy([[1e4, -1e4, 0.0]], [1]).item()
    30000.0
    """
    fname = "softmax_cross_entropy"
    reduction = _check_reduction(reduction, fname)
    s, labels, unbatched = _class_inputs(scores, y, fname, "scores")
    _check_batch(s.shape[0], reduction, fname)
    out = _L.SoftmaxCrossEntropy.apply(s, labels, reduction=reduction)
    return _finish(out, unbatched, reduction)


def sigmoid_binary_cross_entropy(
    scores: Any, targets: Any, reduction: str = "mean"
) -> Tensor:
    """Logistic-regression loss: binary cross-entropy of sigmoid(scores).

    Parameters
    ----------
    scores : Tensor or array_like, shape (N,), (N, K) or ()
        Logits; K independent binary outputs per sample (multi-label) are allowed.
    targets : array_like or Tensor, the shape of ``scores``
        Values in [0, 1]: {0, 1} labels (ints, bools or floats) or soft targets.
    reduction : {"mean", "sum", "none"}

    Forward
    -------
    L_i = sum_k [-t_ik log sigma(s_ik) - (1 - t_ik) log(1 - sigma(s_ik))]
        = sum_k [max(s, 0) - t s + log(1 + exp(-|s|))]_ik.

    Gradient
    --------
    dL/ds = sigma(s) - t; dL/dt = -s (when ``targets`` is a Tensor requiring grad).

    Conventions
    -----------
    Stable for any finite scores (no exp of a positive number; tested at 1e30). One
    loss per sample, summed over its K outputs; mean over samples.

    Equivalent
    ----------
    ``torch.nn.functional.binary_cross_entropy_with_logits(scores, targets)`` for (N,)
    scores; K times it for (N, K) (PyTorch averages over N*K). For 0/1 targets,
    ``sklearn.metrics.log_loss(t, sigmoid(s))``.

    Examples
    --------
    >>> from glassnet.losses import sigmoid_binary_cross_entropy
    >>> round(sigmoid_binary_cross_entropy([0.0, 2.0], [1, 0]).item(), 4)
    1.41
    """
    fname = "sigmoid_binary_cross_entropy"
    reduction = _check_reduction(reduction, fname)
    s, t = _pair(scores, targets, fname, "targets")
    _check_probabilities(t if isinstance(t, Tensor) else Tensor(t), fname, "targets")
    _check_batch(s.shape[0] if s.ndim else 1, reduction, fname)
    return _L.SigmoidBinaryCrossEntropy.apply(s, t, reduction=reduction)


# ---------------------------------------------------------------------------- regression
def l1(outputs: Any, targets: Any, reduction: str = "mean") -> Tensor:
    """L1 regression loss: absolute errors summed over each sample's components.

    Parameters
    ----------
    outputs : Tensor or array_like, shape (N,), (N, D), (N, ...) or ()
    targets : array_like or Tensor, the shape of ``outputs``
    reduction : {"mean", "sum", "none"}

    Forward
    -------
    L_i = sum_d |y_id - s_id| (y the targets, s the outputs); mean over the N samples.

    Gradient
    --------
    dL/ds = sign(s - y); dL/dy = -sign(s - y) (times 1/N for the mean).

    Conventions
    -----------
    |x|'(0) = 0. Targets must have the outputs' shape (no broadcasting).

    Equivalent
    ----------
    D * ``torch.nn.functional.l1_loss(outputs, targets)`` (PyTorch averages over all
    N*D entries); D * ``sklearn.metrics.mean_absolute_error`` for (N, D) arrays.

    Examples
    --------
    >>> from glassnet.losses import l1
    >>> l1([[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0], [3.0, 6.0]]).item()
    2.5
    """
    fname = "l1"
    reduction = _check_reduction(reduction, fname)
    s, t = _pair(outputs, targets, fname, "targets")
    _check_batch(s.shape[0] if s.ndim else 1, reduction, fname)
    return _L.L1.apply(s, t, reduction=reduction)


def l2(outputs: Any, targets: Any, reduction: str = "mean") -> Tensor:
    """L2 regression loss: squared errors summed over each sample's components.

    Parameters
    ----------
    outputs : Tensor or array_like, shape (N,), (N, D), (N, ...) or ()
    targets : array_like or Tensor, the shape of ``outputs``
    reduction : {"mean", "sum", "none"}

    Forward
    -------
    L_i = sum_d (y_id - s_id)^2; mean over the N samples (so sum((y - s)^2) / N).

    Gradient
    --------
    dL/ds = -2 (y - s) (the lecture's -2(y - s)), times 1/N for the mean;
    dL/dy = 2 (y - s) / N.

    Conventions
    -----------
    No factor 1/2. Targets must have the outputs' shape (no broadcasting).

    Equivalent
    ----------
    D * ``torch.nn.functional.mse_loss(outputs, targets)`` (PyTorch averages over all
    N*D entries); D * ``sklearn.metrics.mean_squared_error`` for (N, D) arrays.

    Examples
    --------
    >>> from glassnet.losses import l2
    >>> l2([[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0], [3.0, 6.0]]).item()
    4.5
    """
    fname = "l2"
    reduction = _check_reduction(reduction, fname)
    s, t = _pair(outputs, targets, fname, "targets")
    _check_batch(s.shape[0] if s.ndim else 1, reduction, fname)
    return _L.L2.apply(s, t, reduction=reduction)


def huber(outputs: Any, targets: Any, delta: float = 1.0, reduction: str = "mean") -> Tensor:
    """Huber loss: quadratic for errors within ``delta``, linear beyond.

    Parameters
    ----------
    outputs : Tensor or array_like, shape (N,), (N, D), (N, ...) or ()
    targets : array_like or Tensor, the shape of ``outputs``
    delta : float
        Where the quadratic part meets the linear part (> 0).
    reduction : {"mean", "sum", "none"}

    Forward
    -------
    L_i = sum_d h(s_id - y_id), h(r) = r^2 / 2 for |r| <= delta,
    delta (|r| - delta / 2) otherwise.

    Gradient
    --------
    dL/ds = clip(s - y, -delta, delta); dL/dy = -clip(s - y, -delta, delta).

    Conventions
    -----------
    Once differentiable everywhere; the second derivative is 1 for |r| <= delta and 0
    beyond. Per-sample sum over components, as ``l1`` and ``l2``.

    Equivalent
    ----------
    D * ``torch.nn.functional.huber_loss(outputs, targets, delta=delta)`` (PyTorch
    averages over all N*D entries). For delta = 1 also D * ``smooth_l1_loss``.

    Examples
    --------
    >>> from glassnet.losses import huber
    >>> huber([[0.5, 3.0]], [[0.0, 0.0]]).item()
    2.625
    """
    fname = "huber"
    reduction = _check_reduction(reduction, fname)
    delta = _check_number(delta, fname, "delta", positive=True)
    s, t = _pair(outputs, targets, fname, "targets")
    _check_batch(s.shape[0] if s.ndim else 1, reduction, fname)
    return _L.Huber.apply(s, t, reduction=reduction, delta=delta)


# ---------------------------------------------------------------------------- modules
class _Loss(Module):
    """Base of the loss modules: validates and stores the options once, in __init__.

    A subclass sets ``_options`` (the constructor's argument names, stored as
    attributes) and calls its loss function in ``forward(input, target)``.
    """

    _options: tuple[str, ...] = ("reduction",)

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = _check_reduction(reduction, type(self).__name__)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={getattr(self, k)!r}" for k in self._options)

    def get_config(self) -> dict[str, Any]:
        return self._config(**{k: getattr(self, k) for k in self._options})


class HingeLoss(_Loss):
    """Module form of ``hinge`` (multiclass SVM loss, the sum over the wrong classes).

    Equivalent: C * ``torch.nn.MultiMarginLoss(margin=margin, reduction=reduction)``.

    >>> from glassnet.losses import HingeLoss
    >>> loss = HingeLoss()
    >>> loss
    HingeLoss(margin=1.0, reduction='mean')
    >>> round(loss([[3.2, 5.1, -1.7]], [0]).item(), 4)
    2.9
    """

    _options = ("margin", "reduction")

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = _check_number(margin, "HingeLoss", "margin")

    def forward(self, input: Any, target: Any) -> Tensor:
        return hinge(input, target, self.margin, self.reduction)


class SquaredHingeLoss(_Loss):
    """Module form of ``squared_hinge``.

    Equivalent: C * ``torch.nn.MultiMarginLoss(p=2, margin=margin)``.

    >>> from glassnet.losses import SquaredHingeLoss
    >>> round(SquaredHingeLoss()([[3.2, 5.1, -1.7]], [0]).item(), 4)
    8.41
    """

    _options = ("margin", "reduction")

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = _check_number(margin, "SquaredHingeLoss", "margin")

    def forward(self, input: Any, target: Any) -> Tensor:
        return squared_hinge(input, target, self.margin, self.reduction)


class BinaryHingeLoss(_Loss):
    """Module form of ``binary_hinge`` (labels -1/+1).

    Equivalent: ``sklearn.metrics.hinge_loss`` (mean).

    >>> from glassnet.losses import BinaryHingeLoss
    >>> BinaryHingeLoss(reduction="sum")([2.0, 0.5, -1.0], [1, 1, 1]).item()
    2.5
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return binary_hinge(input, target, self.reduction)


class LogLikelihoodLoss(_Loss):
    """Module form of ``log_likelihood`` (-log p_y from probabilities).

    Equivalent: ``torch.nn.NLLLoss()`` applied to ``torch.log(probs).clamp(min=-100)``.

    >>> from glassnet.losses import LogLikelihoodLoss
    >>> round(LogLikelihoodLoss()([[0.25, 0.75]], [1]).item(), 4)
    0.2877
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return log_likelihood(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Module form of ``cross_entropy``: the lecture's cross-entropy of probabilities.

    Not ``torch.nn.CrossEntropyLoss`` (that is ``SoftmaxLogLikelihoodLoss``).
    Equivalent: C * ``torch.nn.BCELoss()`` on (probs, one_hot(y)).

    >>> from glassnet.losses import CrossEntropyLoss
    >>> round(CrossEntropyLoss()([[0.7, 0.2, 0.1]], [0]).item(), 4)
    0.6852
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return cross_entropy(input, target, self.reduction)


class SoftmaxLogLikelihoodLoss(_Loss):
    """Module form of ``softmax_log_likelihood`` (the softmax classifier).

    Equivalent: ``torch.nn.CrossEntropyLoss(reduction=reduction)``.

    >>> from glassnet.losses import SoftmaxLogLikelihoodLoss
    >>> round(SoftmaxLogLikelihoodLoss()([[2.0, 1.0, 0.1]], [0]).item(), 4)
    0.417
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return softmax_log_likelihood(input, target, self.reduction)


class SoftmaxCrossEntropyLoss(_Loss):
    """Module form of ``softmax_cross_entropy`` (the lecture's softmax + cross-entropy).

    Equivalent: no single PyTorch module; see ``softmax_cross_entropy``.

    >>> from glassnet.losses import SoftmaxCrossEntropyLoss
    >>> round(SoftmaxCrossEntropyLoss()([[0.0, 0.0]], [1]).item(), 4)
    1.3863
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return softmax_cross_entropy(input, target, self.reduction)


class SigmoidBinaryCrossEntropyLoss(_Loss):
    """Module form of ``sigmoid_binary_cross_entropy`` (logistic regression).

    Equivalent: ``torch.nn.BCEWithLogitsLoss()`` for (N,) scores; K times it for (N, K).

    >>> from glassnet.losses import SigmoidBinaryCrossEntropyLoss
    >>> round(SigmoidBinaryCrossEntropyLoss()([0.0, 2.0], [1, 0]).item(), 4)
    1.41
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return sigmoid_binary_cross_entropy(input, target, self.reduction)


class L1Loss(_Loss):
    """Module form of ``l1`` (per-sample sum of absolute errors).

    Equivalent: D * ``torch.nn.L1Loss()`` for (N, D) outputs.

    >>> from glassnet.losses import L1Loss
    >>> L1Loss()([[1.0, 2.0]], [[0.0, 0.0]]).item()
    3.0
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return l1(input, target, self.reduction)


class L2Loss(_Loss):
    """Module form of ``l2`` (per-sample sum of squared errors).

    Equivalent: D * ``torch.nn.MSELoss()`` for (N, D) outputs.

    >>> from glassnet.losses import L2Loss
    >>> L2Loss()([[1.0, 2.0]], [[0.0, 0.0]]).item()
    5.0
    """

    def forward(self, input: Any, target: Any) -> Tensor:
        return l2(input, target, self.reduction)


class HuberLoss(_Loss):
    """Module form of ``huber``.

    Equivalent: D * ``torch.nn.HuberLoss(delta=delta)`` for (N, D) outputs.

    >>> from glassnet.losses import HuberLoss
    >>> HuberLoss(delta=1.0)([[0.5, 3.0]], [[0.0, 0.0]]).item()
    2.625
    """

    _options = ("delta", "reduction")

    def __init__(self, delta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.delta = _check_number(delta, "HuberLoss", "delta", positive=True)

    def forward(self, input: Any, target: Any) -> Tensor:
        return huber(input, target, self.delta, self.reduction)
