"""Write the lecture's gradients yourself, and have them graded (section 10).

Each exercise is one op of the lecture (sigmoid, softmax, the linear layer, the
multiclass hinge, log-likelihood, the lecture's cross-entropy, L2, a two-layer network).
You write two NumPy functions::

    def forward(*inputs):          # the op's output
    def backward(dout, *inputs):   # dL/d(input) of each differentiable input, given
                                   # dout = dL/d(output); a tuple when there are several

``check(name, forward, backward)`` runs both on several random inputs of different
shapes (and edge cases: logits of +-800, the lecture's hinge scores) and grades them
against glassnet's own op: the forward against its output, each gradient against
glassnet's autograd, itself confirmed by float64 central differences. The result says
what is wrong where: the case and its shapes, the part (``forward``, ``dW``, ...), how
many entries are wrong, the worst one with the value expected, the central difference
and the value returned, and a hint when the mistake is a usual one ("the off-diagonal
terms of the Jacobian are missing").

>>> import numpy as np
>>> from glassnet import exercises
>>> def forward(s):
...     return 1 / (1 + np.exp(-s))
>>> def backward(dout, s):
...     p = forward(s)
...     return dout * p * (1 - p)
>>> exercises.check("sigmoid", forward, backward).ok
True
>>> print(exercises.check("sigmoid", forward, lambda dout, s: dout * forward(s)))
... # doctest: +ELLIPSIS
sigmoid: WRONG in 4 of 4 cases
  case 1 (s (4, 3)): ds is wrong in 12 of 12 entries; worst entry (2, 1): got -0.568327, ...
    hint: the factor (1 - sigma(s)) is missing: sigma'(s) = sigma(s) (1 - sigma(s)), ...
  case 2 (s (1, 5)): ...

``names()`` lists the exercises, ``statement(name)`` says what to write (formulas,
shapes, a template). From the command line: ``glassnet exercise list``,
``glassnet exercise NAME`` (the statement) and ``glassnet exercise NAME --file
my_solution.py`` (exit status 0 when correct, 1 when not).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CheckResult", "Exercise", "ExerciseError", "Problem", "check", "describe",
           "exercise", "load_solution", "names", "statement"]

#: a learner's value is right when |got - expected| <= ATOL + RTOL |expected|
ATOL, RTOL = 1e-6, 1e-5
#: a wrong value is recognised as a known mistake within this (looser) tolerance
_MATCH_ATOL, _MATCH_RTOL = 1e-6, 1e-4
_H = 1e-6  # central-difference step (float64)


class ExerciseError(ValueError):
    """An unknown exercise, or a solution file that cannot be used (a one-line message)."""


# ---------------------------------------------------------------------- the exercises
@dataclass(frozen=True)
class Exercise:
    """One op to implement.

    Attributes
    ----------
    name : str
        What ``check`` and the command take (``"log-likelihood"``).
    title : str
    inputs : tuple of str
        The arguments of ``forward`` (``backward`` takes ``dout`` first, then these).
    grads : tuple of str
        The inputs that get a gradient, in the order ``backward`` returns them.
    output : str
        The name of the output.
    forward_text, shapes, notes : str
        The statement: the formula, the shapes, what to watch for.
    """

    name: str
    title: str
    inputs: tuple[str, ...]
    grads: tuple[str, ...]
    output: str
    forward_text: str
    shapes: str
    notes: str

    @property
    def signature(self) -> str:
        """``forward(x, W, b) -> s; backward(dout, x, W, b) -> (dx, dW, db)``."""
        args = ", ".join(self.inputs)
        grads = ", ".join(f"d{g}" for g in self.grads)
        back = f"({grads})" if len(self.grads) > 1 else grads
        return f"forward({args}) -> {self.output}; backward(dout, {args}) -> {back}"

    def template(self) -> str:
        """A solution file to start from."""
        args = ", ".join(self.inputs)
        grads = ", ".join(f"d{g}" for g in self.grads)
        return (f'"""My solution of `glassnet exercise {self.name}`."""\n'
                "import numpy as np\n\n\n"
                f"def forward({args}):\n    ...  # return {self.output}\n\n\n"
                f"def backward(dout, {args}):\n    ...  # return {grads}\n")

    def statement(self) -> str:
        """What to write: formula, shapes, notes, how to grade it, a template."""
        indented = "".join(f"    {line}\n" if line else "\n"
                           for line in self.template().splitlines())
        return (f"{self.name}: {self.title}\n\n"
                f"  {self.signature}\n\n"
                f"  forward:  {self.forward_text}\n"
                f"  backward: given dout = dL/d{self.output} (the shape of {self.output}), "
                f"return {', '.join(f'dL/d{g}' for g in self.grads)}, each of the shape of "
                f"its input\n"
                f"  shapes:   {self.shapes}\n"
                f"  notes:    {self.notes}\n\n"
                f"  grade it: glassnet exercise {self.name} --file my_{_stem(self.name)}.py\n"
                f"        or: glassnet.exercises.check({self.name!r}, forward, backward)\n\n"
                f"  template:\n{indented}")


def _stem(name: str) -> str:
    return name.replace("-", "_")


_LOSS_NOTE = ("the labels get no gradient: return d{0} alone (or (d{0}, None)); the loss "
              "is a scalar, so dout is a number")
_EXERCISES = [
    Exercise("sigmoid", "the logistic sigmoid, elementwise (section 10: sigma(1 - sigma))",
             ("s",), ("s",), "p", "p = sigma(s) = 1 / (1 + exp(-s)), entry by entry",
             "s, p, dout, ds: any shape, all the same (the cases use (N, C))",
             "some cases hold s = +-800: exp must not turn the result into nan"),
    Exercise("softmax", "softmax over the classes (section 7; its Jacobian diag(p) - p p^T, "
             "section 10)",
             ("s",), ("s",), "p", "p_ik = exp(s_ik) / sum_j exp(s_ij), each row of s on its own",
             "s (N, C) scores, one row per example; p, dout, ds (N, C)",
             "some rows hold logits of +-800: exp must not overflow"),
    Exercise("linear", "the linear layer s = x W^T + b (sections 6 and 10)",
             ("x", "W", "b"), ("x", "W", "b"), "s", "s = x W^T + b, one row per example",
             "x (N, D), W (C, D), b (C,), s and dout (N, C); dx (N, D), dW (C, D), db (C,)",
             "the batch's examples are rows (the lecture's W x + b for one column x)"),
    Exercise("hinge", "the multiclass hinge (SVM) loss, mean over the examples (section 7)",
             ("s", "y"), ("s",), "L",
             "L = 1/N sum_i sum_{j != y_i} max(0, s_ij - s_iy_i + 1)",
             "s (N, C) scores, y (N,) integer labels in 0..C-1; L a scalar; ds (N, C)",
             _LOSS_NOTE.format("s") + "; no score sits exactly on a kink"),
    Exercise("log-likelihood", "the negative log-likelihood of the true class (section 7)",
             ("p", "y"), ("p",), "L", "L = -1/N sum_i log p_iy_i",
             "p (N, C) probabilities (rows sum to 1), y (N,) labels; L a scalar; dp (N, C)",
             _LOSS_NOTE.format("p")),
    Exercise("cross-entropy", "the lecture's cross-entropy against the one-hot label "
             "(section 7)",
             ("p", "y"), ("p",), "L",
             "L = -1/N sum_i sum_j [z_ij log p_ij + (1 - z_ij) log(1 - p_ij)], "
             "z_i = one-hot(y_i)",
             "p (N, C) probabilities in (0, 1) (rows need not sum to 1), y (N,) labels; "
             "L a scalar; dp (N, C)",
             _LOSS_NOTE.format("p") + "; every class contributes, not only the true one"),
    Exercise("l2", "the L2 regression loss (section 7; its gradient -2(y - s), section 10)",
             ("s", "y"), ("s",), "L",
             "L = 1/N sum_i sum_k (y_ik - s_ik)^2: summed over each example's components, "
             "averaged over the N examples",
             "s (N, K) predictions, y (N, K) targets; L a scalar; ds (N, K)",
             "the targets get no gradient: return ds alone (or (ds, None)); no factor 1/2"),
    Exercise("two-layer", "a two-layer network: linear, ReLU, linear (sections 5 and 10)",
             ("x", "W1", "b1", "W2", "b2"), ("x", "W1", "b1", "W2", "b2"), "s",
             "z = x W1^T + b1, h = max(0, z), s = h W2^T + b2",
             "x (N, D), W1 (H, D), b1 (H,), W2 (C, H), b2 (C,), s and dout (N, C); each "
             "gradient has its input's shape",
             "relu'(0) = 0 (no hidden unit sits exactly at 0 in the cases)"),
]
_BY_NAME = {e.name: e for e in _EXERCISES}


def names() -> list[str]:
    """The exercise names, in the lecture's order."""
    return [e.name for e in _EXERCISES]


def exercise(name: str) -> Exercise:
    """The exercise called ``name`` (``_`` may stand for ``-``)."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in _BY_NAME:
        raise ExerciseError(f"unknown exercise {name!r}; choose one of: {', '.join(names())}")
    return _BY_NAME[key]


def statement(name: str) -> str:
    """What exercise ``name`` asks: formula, shapes, notes, how to grade it, a template."""
    return exercise(name).statement()


def describe() -> str:
    """One block per exercise: its name and signature (``glassnet exercise list``)."""
    width = max(len(n) for n in names())
    return "\n".join(f"{e.name:<{width}}  {e.title}\n{'':<{width}}  {e.signature}"
                     for e in _EXERCISES)


# ---------------------------------------------------------------------- the cases
def _probabilities(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    e = np.exp(rng.normal(size=(n, c)))
    return e / e.sum(axis=1, keepdims=True)


def _hinge_case(rng: np.random.Generator, n: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores whose margins all stay 1e-3 or more away from the kink."""
    while True:
        s, y = 1.5 * rng.normal(size=(n, c)), rng.integers(0, c, n)
        m = s - s[np.arange(n), y][:, None] + 1
        m[np.arange(n), y] = 1
        if np.all(np.abs(m) > 1e-3):
            return s, y


def _two_layer_case(rng: np.random.Generator, n: int, d: int, h: int,
                    c: int) -> tuple[np.ndarray, ...]:
    """Inputs whose hidden pre-activations stay 1e-3 or more away from relu's kink."""
    while True:
        x, w1, b1 = rng.normal(size=(n, d)), rng.normal(size=(h, d)), rng.normal(size=h)
        if np.all(np.abs(x @ w1.T + b1) > 1e-3):
            return x, w1, b1, rng.normal(size=(c, h)), rng.normal(size=c)


_LARGE = np.array([[800.0, -800.0, 799.0], [-500.0, 1.0, 500.0], [30.0, -30.0, 0.5]])
_LECTURE_SCORES = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])


def _cases(name: str, rng: np.random.Generator) -> list[tuple[Any, ...]]:
    """The inputs each solution is run on: random inputs of a few shapes, edge cases."""
    if name in ("sigmoid", "softmax"):
        return [(2 * rng.normal(size=(4, 3)),), (rng.normal(size=(1, 5)),),
                (3 * rng.normal(size=(3, 4)),), (_LARGE.copy(),)]
    if name == "linear":  # (N, D, C) = (4, 5, 3), square (D = C), one example
        return [(rng.normal(size=(n, d)), rng.normal(size=(c, d)), rng.normal(size=c))
                for n, d, c in ((4, 5, 3), (3, 4, 4), (1, 2, 3))]
    if name == "hinge":
        return [_hinge_case(rng, 4, 3), (_LECTURE_SCORES.copy(), np.array([0, 1, 2])),
                _hinge_case(rng, 5, 4)]
    if name in ("log-likelihood", "cross-entropy"):
        cases = [(_probabilities(rng, n, c), rng.integers(0, c, n))
                 for n, c in ((4, 3), (3, 5), (1, 2))]
        if name == "cross-entropy":  # independent probabilities, e.g. sigmoid outputs
            cases.append((rng.uniform(0.05, 0.95, size=(3, 4)), rng.integers(0, 4, 3)))
        return cases
    if name == "l2":
        return [(rng.normal(size=(n, k)), rng.normal(size=(n, k)))
                for n, k in ((4, 3), (2, 1), (3, 5))]
    return [_two_layer_case(rng, 4, 5, 6, 3), _two_layer_case(rng, 2, 3, 4, 2)]


def _describe_case(ex: Exercise, inputs: tuple[Any, ...]) -> str:
    parts = [f"{n} {np.shape(a)}" for n, a in zip(ex.inputs, inputs)]
    if np.abs(np.asarray(inputs[0], dtype=np.float64)).max() > 100:
        parts.append("large logits")
    return ", ".join(parts)


# ---------------------------------------------------------------------- the reference
def _op(name: str, ts: list[Any]) -> Any:
    """glassnet's own op on Tensors (labels and targets as given)."""
    from glassnet import losses
    from glassnet.functional import softmax
    from glassnet.nn.functional import linear

    if name == "sigmoid":
        return ts[0].sigmoid()
    if name == "softmax":
        return softmax(ts[0], axis=-1)
    if name == "linear":
        return linear(*ts)
    if name == "hinge":
        return losses.hinge(ts[0], ts[1])
    if name == "log-likelihood":
        return losses.log_likelihood(ts[0], ts[1])
    if name == "cross-entropy":
        return losses.cross_entropy(ts[0], ts[1])
    if name == "l2":
        return losses.l2(ts[0], ts[1])
    return linear(linear(ts[0], ts[1], ts[2]).relu(), ts[3], ts[4])  # two-layer


def _reference(ex: Exercise, inputs: tuple[Any, ...],
               dout: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    """glassnet's output and, by its autograd, the gradient of each differentiable input."""
    from glassnet.tensor import Tensor

    ts = [Tensor(a, requires_grad=True) if n in ex.grads else a
          for n, a in zip(ex.inputs, inputs)]
    out = _op(ex.name, ts)
    out.backward(Tensor(np.asarray(dout, dtype=np.float64)))
    return out.data, [t.grad.data for n, t in zip(ex.inputs, ts) if n in ex.grads]


def _forward(ex: Exercise, inputs: Sequence[Any]) -> np.ndarray:
    """glassnet's op as a function of arrays, without a graph."""
    from glassnet.autograd.grad_mode import no_grad
    from glassnet.tensor import Tensor

    with no_grad():
        return _op(ex.name, [Tensor(a) if n in ex.grads else a
                             for n, a in zip(ex.inputs, inputs)]).data


def _central(ex: Exercise, inputs: tuple[Any, ...], k: int, dout: Any) -> np.ndarray:
    """d/d inputs[k] of sum(dout * op(inputs)), every entry, by float64 central
    differences of glassnet's forward."""
    base = np.array(inputs[k], dtype=np.float64)
    numeric = np.empty_like(base)
    for i in range(base.size):
        vals = []
        for step in (_H, -_H):
            bumped = base.copy()
            bumped.flat[i] += step
            args = [bumped if j == k else a for j, a in enumerate(inputs)]
            vals.append(float(np.sum(np.asarray(dout) * _forward(ex, args))))
        numeric.flat[i] = (vals[0] - vals[1]) / (2 * _H)
    return numeric


# ---------------------------------------------------------------------- the usual mistakes
def _sigma(s: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * s))


def _softmax(s: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _hinge_parts(s: np.ndarray, y: np.ndarray, sign: float = 1.0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The margins (sign 1: s_j - s_y + 1; sign -1: the flipped s_y - s_j + 1) and the
    indicator of the positive ones, both with the j = y entries zeroed."""
    rows = np.arange(len(y))
    m = sign * (s - s[rows, y][:, None]) + 1
    m[rows, y] = 0
    return np.maximum(m, 0), (m > 0).astype(np.float64)


def _mistakes(name: str, inputs: tuple[Any, ...], dout: Any) -> list[tuple[str, Any, str]]:
    """(part, the value a usual mistake gives, the hint): part is 'forward' or the name of
    a gradient ('ds', 'dW', ...)."""
    if name == "sigmoid":
        (s,) = inputs
        p = _sigma(s)
        return [
            ("ds", dout * p, "the factor (1 - sigma(s)) is missing: sigma'(s) = "
             "sigma(s) (1 - sigma(s)), not sigma(s)"),
            ("ds", dout * s * (1 - s), "sigma'(s) = sigma(s) (1 - sigma(s)) is written with "
             "the output p = sigma(s), not with the input s: you computed s (1 - s)"),
        ]
    if name == "softmax":
        (s,) = inputs
        p = _softmax(s)
        return [
            ("ds", dout * p * (1 - p), "the off-diagonal terms of the Jacobian are missing: "
             "the Jacobian of softmax is diag(p) - p p^T, so ds = p * (dout - sum(dout * p, "
             "axis=-1, keepdims=True)); dout * p * (1 - p) keeps only its diagonal"),
            ("ds", -p * (dout * p).sum(axis=-1, keepdims=True), "the diagonal term diag(p) "
             "of the Jacobian diag(p) - p p^T is missing: ds = p * dout - p * sum(dout * p)"),
            ("ds", p * (dout - (dout * p).sum(axis=0, keepdims=True)), "sum over the classes "
             "of each example (axis=-1), not over the batch (axis=0)"),
            ("forward", _softmax(s, axis=0), "softmax normalises each row (the classes of "
             "one example, axis=-1), not each column"),
        ]
    if name == "linear":
        x, W, b = inputs
        return [
            ("forward", x @ W + b if W.shape[0] == W.shape[1] else None, "s = x W^T + b: W "
             "is (C, D), so the product is x @ W.T, not x @ W"),
            ("dx", dout @ W.T if W.shape[0] == W.shape[1] else None, "dx = dout W (N, D): "
             "for one column example dL/dx = W^T dL/ds, which for the rows of a batch is "
             "dout @ W; you multiplied by W^T (dout @ W.T)"),
            ("dW", x.T @ dout, "dW is transposed: it has W's shape (C, D), dW = dout^T x "
             "(dout.T @ x), not x^T dout"),
            ("dW", dout.T @ x / len(x), "dW sums the examples' contributions (dout.T @ x): "
             "the layer has no mean over the batch in it, do not divide by N"),
            ("db", dout, "db sums dout over the batch: db = dout.sum(axis=0), shape (C,)"),
            ("db", dout.mean(axis=0), "db sums dout over the batch (dout.sum(axis=0)), it "
             "does not average it"),
        ]
    if name == "hinge":
        s, y = inputs
        n, rows = len(y), np.arange(len(y))
        margins, active = _hinge_parts(s, y)
        counted = (s - s[rows, y][:, None] + 1 > 0).astype(np.float64)  # j = y included
        counted[rows, y] = -counted.sum(axis=1)
        flipped, f_active = _hinge_parts(s, y, sign=-1.0)
        f_standard = f_active.copy()
        f_standard[rows, y] = -f_active.sum(axis=1)
        counted_hint = ("the correct class is counted among the margins: the sum runs over "
                        "j != y_i only, so ds_iy_i = -(the number of classes j != y_i with a "
                        "positive margin); the j = y_i term (margin exactly 1) must be left "
                        "out")
        sign_hint = ("the margin's sign is wrong: it is s_j - s_y + 1 (a wrong class scoring "
                     "less than 1 below the correct one costs), not s_y - s_j + 1")
        return [
            ("forward", margins.sum() / n + 1.0, "the correct class is counted: j = y_i adds "
             "max(0, s_y - s_y + 1) = 1 per example; the sum runs over j != y_i"),
            ("forward", flipped.sum() / n, sign_hint),
            ("ds", dout * counted / n, counted_hint),
            ("ds", dout * -f_standard / n, sign_hint),
            ("ds", dout * f_standard / n, sign_hint),
        ]
    if name == "log-likelihood":
        p, y = inputs
        return [("dp", -dout / p / len(y), "only the true class's probability enters the "
                 "loss: dp_ij = 0 for j != y_i, dp_iy_i = -1 / (N p_iy_i)")]
    if name == "cross-entropy":
        p, y = inputs
        n, c = p.shape
        z = np.eye(c)[y]
        loss = -(z * np.log(p) + (1 - z) * np.log(1 - p)).sum() / n
        grad = dout * (-z / p + (1 - z) / (1 - p)) / n
        mean_hint = ("the loss is the mean over the N examples: divide by N (you forgot "
                     "the mean)")
        entries_hint = ("divide by N (the examples) only, not by N*C: the classes are "
                        "summed")
        others_hint = ("the lecture's cross-entropy also has the terms (1 - z_ij) "
                       "log(1 - p_ij) of the other classes, not only -log p_iy_i: their "
                       "gradient is +1/(1 - p_ij) for j != y_i")
        return [
            ("dp", dout * (-z / p - (1 - z) / (1 - p)) / n, "the sign of the (1 - z) term "
             "is wrong: d/dp [-log(1 - p)] = +1/(1 - p)"),
            ("dp", dout * -z / p / n, others_hint),
            ("forward", -np.log(p[np.arange(n), y]).sum() / n, others_hint),
            ("forward", loss * n, mean_hint), ("dp", grad * n, mean_hint),
            ("forward", loss / c, entries_hint), ("dp", grad / c, entries_hint),
        ]
    if name == "l2":
        s, y = inputs
        n, k = len(s), s[0].size
        entries_hint = ("divide by N (the examples) only, not by N*K: each example's "
                        "components are summed")
        return [
            ("ds", dout * -(y - s) / n, "the factor 2 is missing: d/ds (y - s)^2 = -2 (y - s)"),
            ("ds", dout * 2 * (y - s) / n, "the sign is wrong: d/ds (y - s)^2 = -2 (y - s) "
             "= 2 (s - y); the inner derivative of y - s with respect to s is -1"),
            ("forward", 0.5 * ((y - s) ** 2).sum() / n, "the lecture's L2 has no factor 1/2: "
             "L = 1/N sum (y - s)^2"),
            ("forward", ((y - s) ** 2).sum() / n / k if k > 1 else None, entries_hint),
            ("ds", dout * -2 * (y - s) / n / k if k > 1 else None, entries_hint),
        ]
    x, W1, b1, W2, _ = inputs  # two-layer
    z = x @ W1.T + b1
    dz = dout @ W2  # the ReLU's mask forgotten
    relu_hint = ("the ReLU's gradient is missing: multiply the hidden layer's gradient by "
                 "(z > 0), dz = (dout @ W2) * (z > 0), before going back through W1")
    return [
        ("dx", dz @ W1, relu_hint), ("dW1", dz.T @ x, relu_hint),
        ("db1", dz.sum(axis=0), relu_hint),
        ("dW2", dout.T @ z, "dW2 = dout^T h uses the ReLU's output h = max(0, z), not its "
         "input z"),
        ("forward", z @ W2.T + inputs[4], "the hidden layer applies the ReLU: h = max(0, x "
         "W1^T + b1), then s = h W2^T + b2"),
    ]


# ---------------------------------------------------------------------- the result
@dataclass
class Problem:
    """One thing wrong in one case.

    Attributes
    ----------
    case : int
        1-based number of the case (``CheckResult.case_inputs[case - 1]`` are its inputs).
    inputs : str
        The case's inputs, described (names and shapes).
    part : str
        ``"forward"``, a gradient's name (``"dW"``), or ``"backward"``.
    message : str
        What is wrong (shapes, counts, the worst entry with expected and returned values).
    hint : str
        What the usual cause is ("" when the mistake is not recognised).
    entry : tuple of int or None
        The index of the worst wrong entry.
    expected, got, numeric : float or None
        That entry's value from glassnet, from the solution, by central differences.
    """

    case: int
    inputs: str
    part: str
    message: str
    hint: str = ""
    entry: tuple[int, ...] | None = None
    expected: float | None = None
    got: float | None = None
    numeric: float | None = None

    def __str__(self) -> str:
        text = f"case {self.case} ({self.inputs}): {self.message}"
        return text + (f"\n    hint: {self.hint}" if self.hint else "")


@dataclass
class CheckResult:
    """The grade of one solution: ``ok``, and a :class:`Problem` per thing wrong."""

    name: str
    cases: int = 0
    problems: list[Problem] = field(default_factory=list)
    case_inputs: list[tuple[Any, ...]] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        """Forward and backward right on every case."""
        return not self.problems

    @property
    def hints(self) -> list[str]:
        """The distinct hints, in the order found."""
        return list(dict.fromkeys(p.hint for p in self.problems if p.hint))

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.ok:
            return (f"{self.name}: correct: forward and backward agree with glassnet's op and "
                    f"with float64 central differences on all {self.cases} cases")
        failed = len({p.case for p in self.problems})
        lines = [f"{self.name}: WRONG in {failed} of {self.cases} cases"]
        shown: dict[str, str] = {}
        for p in self.problems:
            lines.append(f"  case {p.case} ({p.inputs}): {p.message}")
            if p.hint in shown:
                lines.append(f"    hint: as for {shown[p.hint]} above")
            elif p.hint:
                lines.append(f"    hint: {p.hint}")
                shown[p.hint] = f"{p.part} in case {p.case}"
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return "```text\n" + str(self) + "\n```"


# ---------------------------------------------------------------------- grading
def _close(got: Any, want: Any, atol: float = ATOL, rtol: float = RTOL) -> bool:
    try:
        g, w = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return g.shape == w.shape and bool(np.all(np.abs(g - w) <= atol + rtol * np.abs(w)))


def _matches(got: np.ndarray, value: Any) -> bool:
    return value is not None and _close(got, value, _MATCH_ATOL, _MATCH_RTOL)


def _where(exc: BaseException) -> str:
    """The line of the solution where ``exc`` was raised: the innermost frame outside
    NumPy and this module."""
    frames = traceback.extract_tb(exc.__traceback__)
    skip = (os.path.dirname(np.__file__), os.path.abspath(__file__))
    own = [f for f in frames if not os.path.abspath(f.filename).startswith(skip)]
    if not own:  # raised by the call itself (a wrong number of arguments)
        return ""
    f = own[-1]
    line = f" `{f.line.strip()}`" if f.line else ""
    return f" (at {f.filename}, line {f.lineno}, in {f.name}:{line})"


def _call(fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, str | None]:
    """fn(*args) with warnings of overflow silenced; (result, None) or (None, the error
    with its line)."""
    try:
        with np.errstate(all="ignore"):
            return fn(*args), None
    except Exception as e:  # the learner's code: any error is a finding, not a crash
        return None, f"{type(e).__name__}: {e}{_where(e)}"


def _entry(shape: tuple[int, ...], i: int) -> tuple[int, ...]:
    return tuple(int(v) for v in np.unravel_index(i, shape)) if shape else ()


def _as_array(value: Any) -> np.ndarray | None:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


class _Grader:
    """Grades one case: the solution's forward and backward against glassnet."""

    def __init__(self, ex: Exercise, result: CheckResult, number: int,
                 inputs: tuple[Any, ...], dout: Any) -> None:
        self.ex, self.result, self.number = ex, result, number
        self.inputs, self.dout = inputs, dout
        self.label = _describe_case(ex, inputs)
        self.n = len(inputs[0])
        self.mistakes = _mistakes(ex.name, inputs, dout)

    def fail(self, part: str, message: str, hint: str = "", **where: Any) -> None:
        self.result.problems.append(Problem(self.number, self.label, part, message, hint,
                                            **where))

    def copies(self) -> tuple[Any, ...]:
        return tuple(np.array(a) for a in self.inputs)

    def check_unchanged(self, what: str, copies: tuple[Any, ...]) -> None:
        for n, a, c in zip(self.ex.inputs, self.inputs, copies):
            if not np.array_equal(a, c):
                self.fail(what, f"{what} changed its input {n} in place",
                          "work on a copy (e.g. m = s.copy()) instead of writing into the "
                          "inputs")

    def shape_hint(self, error: str, backward: bool) -> str:
        """For an error of mismatched shapes: the shapes at hand."""
        if "mismatch" not in error and "could not be broadcast" not in error:
            return ""
        shapes = [f"{n} {np.shape(a)}" for n, a in zip(self.ex.inputs, self.inputs)]
        if backward:
            shapes.insert(0, f"dout {np.shape(self.dout)}")
        return f"the shapes do not fit: {', '.join(shapes)}"

    def hint(self, part: str, got: np.ndarray, want: np.ndarray, want_unit: Any) -> str:
        """The usual mistake that gives ``got``, if one does."""
        for p, value, text in self.mistakes:
            if p == part and _matches(got, value):
                return text
        loss = self.ex.output == "L"
        generic = [
            (-want, "the sign is wrong"),
            (want * self.n, "N times too large: divide by N (the mean over the N examples)"),
            (want / self.n, "N times too small: there is no mean over N in this op"
             if not loss else "N times too small: divide by N once only"),
            (2 * want, "twice the expected value"), (want / 2, "half the expected value"),
            (np.zeros_like(want), "all zeros (a placeholder left in?)"),
        ]
        if part != "forward":
            generic.insert(0, (want_unit, "dout is ignored: multiply by dout, the upstream "
                                          "gradient dL/d" + self.ex.output))
        for value, text in generic:
            if _matches(got, value) and not _matches(want, value):
                return text
        return ""

    def compare(self, part: str, got_value: Any, want: np.ndarray, want_unit: Any = None,
                numeric: np.ndarray | None = None, name: str = "") -> None:
        if got_value is None:
            self.fail(part, f"{part} is None: is a return missing?")
            return
        got = _as_array(got_value)
        if got is None or got.dtype == object:
            self.fail(part, f"{part} is not an array of numbers (got "
                            f"{type(got_value).__name__})")
            return
        if want.ndim == 0 and got.size == 1:
            got = got.reshape(())
        if got.shape != want.shape:
            hint = self.hint(part, got, want, want_unit)
            if not hint and got.shape == want.shape[::-1] and want.ndim == 2:
                hint = (f"the transposed shape: {part} must have the shape of "
                        f"{name or 'the output'}, {want.shape}")
            what = "a scalar" if want.ndim == 0 else f"shape {want.shape}"
            of = f" (the shape of {name})" if name else ""
            self.fail(part, f"{part} has shape {got.shape}, expected {what}{of}", hint)
            return
        bad = ~(np.abs(got - want) <= ATOL + RTOL * np.abs(want))  # nan counts as bad
        if not bad.any():
            return
        err = np.where(np.isfinite(got), np.abs(got - want), np.inf)
        i = int(np.argmax(np.where(bad, err, -1.0).ravel()))
        e = _entry(want.shape, i)
        num = None if numeric is None else float(numeric.flat[i])
        if not np.all(np.isfinite(got)):
            hint = ("exp overflows for large inputs: subtract each row's max before exp "
                    "(softmax), or use exp(-|s|) (sigmoid)") if self.ex.name in (
                        "sigmoid", "softmax") else "a non-finite value (nan or inf)"
        else:
            hint = self.hint(part, got, want, want_unit)
        where = (f" in {int(bad.sum())} of {bad.size} entries; worst entry {e}"
                 if bad.size > 1 else f" at entry {e}" if e else "")
        also = f", central differences {num + 0.0:.6g}" if num is not None else ""
        self.fail(part, f"{part} is wrong{where}: got {got.flat[i] + 0.0:.6g}, "
                        f"expected {want.flat[i] + 0.0:.6g}{also}", hint, entry=e,
                  expected=float(want.flat[i]), got=float(got.flat[i]), numeric=num)

    def run(self, forward: Callable[..., Any], backward: Callable[..., Any]) -> None:
        ex = self.ex
        want_out, want = _reference(ex, self.inputs, self.dout)
        _, want_unit = _reference(ex, self.inputs, np.ones_like(want_out))
        numeric = [_central(ex, self.inputs, ex.inputs.index(g), self.dout) for g in ex.grads]
        for g, w, fd in zip(ex.grads, want, numeric):
            if not _close(fd, w, 1e-5, 1e-4):  # never: glassnet's ops are tested
                raise RuntimeError(f"exercise {ex.name}: glassnet's d{g} disagrees with "
                                   f"central differences on {self.label}")
        copies = self.copies()
        out, error = _call(forward, copies)
        if error is not None:
            self.fail("forward", f"forward raised {error}", self.shape_hint(error, False))
        else:
            self.check_unchanged("forward", copies)
            self.compare("forward", out, want_out)
        copies = self.copies()
        got, error = _call(backward, (np.array(self.dout)[()], *copies))
        if error is not None:
            self.fail("backward", f"backward raised {error}", self.shape_hint(error, True))
            return
        self.check_unchanged("backward", copies)
        grads = list(got) if isinstance(got, (tuple, list)) else [got]
        if len(ex.grads) == 1 and len(grads) == len(ex.inputs) and all(
                g is None for g in grads[1:]):
            grads = grads[:1]  # (ds, None): no gradient for the labels / targets
        expected = ", ".join(f"d{g}" for g in ex.grads)
        if len(grads) != len(ex.grads):
            self.fail("backward", f"backward returned {len(grads)} value(s), expected "
                                  f"{len(ex.grads)}: {expected}",
                      "return a tuple, in the order of the inputs" if len(ex.grads) > 1
                      else "")
            return
        for g, value, w, unit, fd in zip(ex.grads, grads, want, want_unit, numeric):
            if value is None:
                self.fail(f"d{g}", f"d{g} is None; expected an array of shape {w.shape}")
                continue
            self.compare(f"d{g}", value, w, unit, fd, name=g)


def check(name: str, forward: Callable[..., Any], backward: Callable[..., Any],
          seed: int = 0) -> CheckResult:
    """Grade ``forward`` and ``backward`` for exercise ``name``.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    forward : callable
        ``forward(*inputs) -> output`` on float64 NumPy arrays (and integer labels).
    backward : callable
        ``backward(dout, *inputs)`` -> the gradient of each differentiable input (a tuple
        when there are several; a loss's labels and targets get none).
    seed : int
        Chooses the random inputs.

    Returns
    -------
    CheckResult
        ``.ok``; ``str()`` lists each problem: the case, the part, the worst entry
        with the expected value (glassnet's autograd), the central difference and the
        value returned, and a hint. An exception inside the solution is a problem (with
        the line that raised it), not an error of ``check``.
    """
    ex = exercise(name)
    for what, fn in (("forward", forward), ("backward", backward)):
        if not callable(fn):
            raise TypeError(f"check({ex.name!r}, ...): {what} must be a function, got "
                            f"{type(fn).__name__}")
    rng = np.random.default_rng(seed)
    result = CheckResult(ex.name)
    for number, inputs in enumerate(_cases(ex.name, rng), start=1):
        result.cases += 1
        result.case_inputs.append(inputs)
        shape = np.shape(_forward(ex, inputs))
        dout = rng.normal(size=shape) if shape else rng.uniform(0.5, 2.0)
        _Grader(ex, result, number, inputs, dout).run(forward, backward)
    return result


# ---------------------------------------------------------------------- solution files
def load_solution(path: str | os.PathLike[str]
                  ) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``forward`` and ``backward`` from a Python file.

    Raises
    ------
    ExerciseError
        One line naming the file and what is wrong: missing, a folder, unreadable, a
        syntax error (with its line), an error while it runs (with its line), or
        ``forward`` / ``backward`` not defined.
    """
    p = Path(path)
    if not p.exists():
        raise ExerciseError(f"solution file '{p}' does not exist")
    if not p.is_file():
        raise ExerciseError(f"solution file '{p}' is a folder, not a Python file")
    try:
        source = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ExerciseError(f"solution file '{p}' cannot be read: {e}") from None
    try:
        code = compile(source, str(p), "exec")
    except SyntaxError as e:
        raise ExerciseError(f"solution file '{p}': syntax error on line {e.lineno}: "
                            f"{e.msg}") from None
    namespace: dict[str, Any] = {"__name__": "glassnet_solution", "__file__": str(p)}
    try:
        exec(code, namespace)
    except Exception as e:  # the learner's module-level code
        raise ExerciseError(f"solution file '{p}' raised {type(e).__name__}: {e} when "
                            f"loaded{_where(e)}") from None
    missing = [f"{n}()" for n in ("forward", "backward") if not callable(namespace.get(n))]
    if missing:
        raise ExerciseError(f"solution file '{p}' does not define {' or '.join(missing)}: "
                            "it must define forward(...) and backward(dout, ...)")
    return namespace["forward"], namespace["backward"]


def command(name: str, file: str | None, seed: int = 0,
            out: Callable[[str], Any] = print) -> int:
    """``glassnet exercise list | NAME [--file FILE]``: prints; returns the exit status
    (0: listed, shown or correct; 1: the solution is wrong)."""
    if name == "list":
        out(describe())
        return 0
    ex = exercise(name)
    if file is None:
        out(ex.statement().rstrip())
        return 0
    forward, backward = load_solution(file)
    result = check(ex.name, forward, backward, seed=seed)
    out(str(result))
    return 0 if result.ok else 1
