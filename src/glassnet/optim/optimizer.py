"""``Optimizer``: parameter groups, per-parameter state, checkpoints and constraints.

The base class holds what every optimizer shares: the parameter groups with their
hyperparameters, the per-parameter state (moment buffers, step counts), ``zero_grad``,
``step`` (which collects the gradients and hands each group to the subclass),
``state_dict``/``load_state_dict`` and the constraints applied after every step.

The mathematics of each optimizer is a pure function on arrays beside its class
(``sgd_update``, ``adam_update``, ...); the class only holds state and calls it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from glassnet.autograd.grad_mode import enable_grad, no_grad
from glassnet.autograd.tape import effect
from glassnet.tensor import Tensor

__all__ = ["Constraint", "Optimizer"]


@runtime_checkable
class Constraint(Protocol):
    """Anything with ``apply(params)``: a projection run after every optimizer step.

    ``glassnet.regularizers.MaxNorm(c)`` is one: it rescales each row of every weight
    matrix to norm <= c. ``apply`` receives the list of all the optimizer's parameters
    (every group, in order) and changes their ``.data`` in place; it runs under
    ``no_grad``.
    """

    def apply(self, params: Sequence[Tensor]) -> Any: ...


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    where: str = "",
) -> float:
    """Validate a real hyperparameter and return it as a Python float.

    Raises TypeError for non-numbers (and booleans), ValueError for NaN or a value
    outside [low, high] (an open end when ``low_open`` / ``high_open``), with a message
    naming the hyperparameter, its value and the allowed range.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}{where} must be a real number, got {value!r}")
    v = float(value)
    bad = math.isnan(v)
    if low is not None:
        bad |= v <= low if low_open else v < low
    if high is not None:
        bad |= v >= high if high_open else v > high
    if bad:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        if low is None:
            rng = f"<{'' if high_open else '='} {high:g}"
        elif high is None:
            rng = f">{'' if low_open else '='} {low:g}"
        else:
            rng = f"in {lo}, {hi}"
        raise ValueError(f"invalid {name}{where}: {value!r}; it must be {rng}")
    return v


def check_bool(name: str, value: Any, where: str = "") -> bool:
    """Validate a boolean flag (``True``/``False`` or a NumPy bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}{where} must be True or False, got {value!r}")
    return bool(value)


def _plain(value: Any) -> Any:
    """A hyperparameter as plain JSON-able Python: tuples become lists, NumPy scalars numbers."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Optimizer:
    """Base class of glassnet's optimizers.

    Parameters
    ----------
    params : iterable
        The Tensors (usually ``model.parameters()``) to optimize, or ``(name, Tensor)``
        pairs (``model.named_parameters()``), or a list of *parameter groups*: dicts with a
        ``"params"`` entry and any hyperparameter that should differ from the defaults
        for that group, e.g. ``[{"params": weights}, {"params": biases, "weight_decay": 0}]``.
    defaults : dict
        The hyperparameters of a group that does not set them.
    constraints : sequence of Constraint, optional
        Objects with an ``apply(params)`` method, run in order after every ``step()``
        (e.g. ``glassnet.regularizers.MaxNorm``).

    Notes
    -----
    Updates change each parameter's ``.data`` in place, never its ``.grad`` (gradient
    arrays may be shared), and record no graph. A parameter whose ``.grad`` is None is
    skipped and its state left unchanged (PyTorch's rule).

    Every ``_flush_every`` (16) steps the entries of the floating-point state arrays
    (momentum buffers, moment estimates) that have decayed into the subnormal range
    (0 < |v| < ``np.finfo(dtype).tiny``) are set to zero, keeping their sign. A buffer
    entry whose gradient stays 0 (the weight of an always-black pixel) decays by the
    momentum factor each step and spends about 150 steps there, where the CPU's
    arithmetic is many times slower: measured on Fashion-MNIST, SGD with momentum 0.9 on
    an MLP 784-256-10, the step took 1.5 ms instead of 0.3 ms from the third epoch on,
    the epoch 1.25 s instead of 0.6 s. The parameters do not change: an entry that small
    times the learning rate is below half a unit in the last place of any parameter
    larger than about 1e-31 (float32), so the update rounds to the same value.

    Subclasses implement ``_update_group(group, items)`` and may extend
    ``_validate_group(group, where)``.
    """

    #: how many scratch arrays of a parameter's shape one update needs
    _scratch_slots: int = 2
    #: large parameters are updated in blocks of this many bytes (see ``_blocks``)
    _block_bytes: int = 1 << 18
    #: subnormal state entries are set to zero every this many steps (0: never; see Notes)
    _flush_every: int = 16
    #: fused kernels (``glassnet.ops.kernels``) lent by a compiled step while it updates
    _kernels: Any = None

    def __init__(
        self,
        params: Iterable[Any],
        defaults: dict[str, Any],
        *,
        constraints: Sequence[Constraint] | None = None,
    ) -> None:
        self.defaults: dict[str, Any] = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        self.constraints: list[Constraint] = _check_constraints(constraints)
        self._work: dict[Any, Any] = {}
        self._views: dict[Any, list[np.ndarray]] = {}
        self._steps_taken = 0
        if isinstance(params, Tensor):
            raise TypeError(
                "params must be an iterable of Tensors or of parameter-group dicts, "
                "got a single Tensor; wrap it in a list: [param]"
            )
        if isinstance(params, dict):
            raise TypeError(
                "params must be an iterable of Tensors or of parameter-group dicts, got a "
                "dict; pass a list of group dicts ([{'params': ...}]) or dict.values()"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters must be an ordered collection (a list), not a set: "
                "the order of a set changes between runs and state_dict depends on it"
            )
        try:
            groups = list(params)
        except TypeError:
            raise TypeError(
                f"params must be an iterable of Tensors or of parameter-group dicts, "
                f"got {type(params).__name__}"
            ) from None
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)
        if not any(group["params"] for group in self.param_groups):
            raise ValueError("optimizer got an empty parameter list (every group is empty)")

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters.

        Hyperparameters the dict does not give take the optimizer's defaults (the
        constructor's arguments). A parameter may belong to only one group.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(
                f"a parameter group needs a 'params' entry, got keys {sorted(param_group)}"
            )
        gi = len(self.param_groups)
        where = f" in param_groups[{gi}]"
        group = dict(param_group)
        raw = group["params"]
        if isinstance(raw, Tensor):
            raw = [raw]
        elif isinstance(raw, (set, frozenset)):
            raise TypeError(
                "optimizer parameters must be an ordered collection (a list), not a set: "
                "the order of a set changes between runs and state_dict depends on it"
            )
        raw = list(raw)
        names = [p[0] for p in raw if isinstance(p, tuple)]
        if names:
            if len(names) != len(raw) or not all(
                len(p) == 2 and isinstance(p[0], str) for p in raw
            ):
                raise ValueError(
                    f"params{where} mix (name, Tensor) pairs and plain Tensors; give all or none "
                    "of them names"
                )
            raw = [p[1] for p in raw]
            group["param_names"] = names
        for i, p in enumerate(raw):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"an optimizer can only optimize glassnet Tensors, but params[{i}]{where} "
                    f"is {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"params[{i}]{where} is not a leaf tensor (it was computed by an "
                    "operation); optimize the leaf, or pass .detach().requires_grad_()"
                )
            if p.data.dtype.kind != "f":
                raise TypeError(
                    f"params[{i}]{where} has dtype {p.data.dtype}; only float tensors can be "
                    "optimized"
                )
        if len({id(p) for p in raw}) != len(raw):
            raise ValueError(f"params{where} contain the same parameter more than once")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in raw):
            raise ValueError(
                f"some parameters of param_groups[{gi}] already belong to another group"
            )
        group["params"] = raw
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._validate_group(group, where)
        self.param_groups.append(group)

    def _validate_group(self, group: dict[str, Any], where: str) -> None:
        """Check (and normalize in place) a group's hyperparameters; subclasses extend."""
        group["lr"] = check_number("learning rate lr", group["lr"], low=0.0, where=where)
        if "maximize" in group:
            group["maximize"] = check_bool("maximize", group["maximize"], where)

    # ------------------------------------------------------------------ training
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters.

        With ``set_to_none=True`` (the default) each ``.grad`` becomes None, so the next
        ``step()`` skips parameters that receive no new gradient. With False it becomes a
        new array of zeros (the old gradient array is not overwritten, because gradient
        arrays may be shared); a zero gradient still moves momentum-based optimizers.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad = None if set_to_none else Tensor(np.zeros_like(p.data))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, then apply the constraints.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss (it should call ``zero_grad`` and
            ``backward``); it runs with gradient recording on, before the update.

        Returns
        -------
        The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        grads = [None if p.grad is None else getattr(p.grad, "data", p.grad)
                 for group in self.param_groups for p in group["params"]]
        # one instruction of a step that glassnet.compile records (autograd.tape)
        effect(self._step_arrays, *grads)
        return loss

    def _step_arrays(self, *grads: Any) -> None:
        """``step`` given the gradient arrays of all parameters (every group, in order;
        None for a parameter without one): the updates, the flush and the constraints."""
        k = 0
        for gi, group in enumerate(self.param_groups):
            n = len(group["params"])
            items = self._collect(group, gi, grads[k : k + n])
            k += n
            if items:
                self._update_group(group, items)
        self._steps_taken += 1
        if self._flush_every and self._steps_taken % self._flush_every == 0:
            self._flush_subnormal_state()
        if self.constraints:
            params = [p for group in self.param_groups for p in group["params"]]
            with no_grad():
                for c in self.constraints:
                    c.apply(params)

    def _update_group(
        self, group: dict[str, Any], items: list[tuple[Tensor, np.ndarray, np.ndarray]]
    ) -> None:
        """Update the ``(param, param.data, grad array)`` triples of one group in place."""
        raise NotImplementedError

    def _flush_subnormal_state(self) -> None:
        """Set the subnormal entries of every floating-point state array to (signed) zero;
        zeros, normal numbers, infinities and NaN stay as they are (see the Notes)."""
        for st in self.state.values():
            for value in st.values():
                if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size:
                    small = np.abs(value) < np.finfo(value.dtype).tiny
                    np.multiply(value, 0, out=value, where=small)

    @staticmethod
    def _collect(
        group: dict[str, Any], gi: int, grads: Sequence[Any]
    ) -> list[tuple[Tensor, np.ndarray, np.ndarray]]:
        """The group's parameters that have a gradient (``grads``, one per parameter),
        with their arrays (shape-checked)."""
        items = []
        for i, (p, g) in enumerate(zip(group["params"], grads)):
            if g is None:
                continue
            gd = np.asarray(g)
            pd = p.data
            if gd.shape != pd.shape:
                raise ValueError(
                    f"the gradient of params[{i}] in param_groups[{gi}] has shape {gd.shape}, "
                    f"but the parameter has shape {pd.shape}"
                )
            if pd.ndim > 1 and gd.flags.f_contiguous != pd.flags.f_contiguous:
                # a gradient in the other memory order than its parameter (a row-major
                # gradient set by hand for Linear's column-major weight): one copy into
                # the parameter's order, or every pass of the update strides through it
                # (and the momentum buffer, started as a copy of it, would keep its order)
                gd = np.array(gd, order="F" if pd.flags.f_contiguous else "C")
            items.append((p, pd, gd))
        return items

    def _blocks(self, *arrays: np.ndarray | None) -> Sequence[tuple[Any, ...]]:
        """Split same-shaped arrays into matching flat blocks of ``_block_bytes`` each.

        The updates are elementwise, so running them block by block gives bitwise the
        same result while a block's arrays stay in the CPU cache across the several
        passes an update makes (about 1.5x faster for Adam on a million-entry weight).
        Arrays that are not C-contiguous (or small ones) are returned whole; None
        entries (absent optional state) stay None.
        """
        first = arrays[0]
        n = first.size  # type: ignore[union-attr]
        block = max(1, self._block_bytes // first.itemsize)  # type: ignore[union-attr]
        if n <= block:
            return (arrays,)
        # all row-major, or all column-major (Linear's weights): flat views in memory order
        if all(a is None or a.flags.c_contiguous for a in arrays):
            order = "C"
        elif all(a is None or a.flags.f_contiguous for a in arrays):
            order = "F"
        else:
            return (arrays,)
        flats = [None if a is None else a.reshape(-1, order=order) for a in arrays]
        return [
            tuple(None if f is None else f[i : i + block] for f in flats)
            for i in range(0, n, block)
        ]

    def _scratch(self, like: np.ndarray) -> list[np.ndarray]:
        """``_scratch_slots`` scratch arrays shaped like ``like``, views of one reused buffer.

        One flat buffer per dtype, grown to the largest parameter, so an update allocates
        nothing after the first step. Their contents are garbage between uses.
        """
        fortran = like.ndim > 1 and like.flags.f_contiguous and not like.flags.c_contiguous
        key = (like.dtype, like.shape, fortran)
        views = self._views.get(key)
        if views is not None:
            return views
        n = like.size
        need = self._scratch_slots * n
        buf = self._work.get(like.dtype)
        if buf is None or buf.size < need:
            buf = np.empty_like(like, shape=(need,))
            self._work[like.dtype] = buf
            self._views.clear()  # views of the old buffer would no longer be shared
        shape = like.shape
        order = "F" if fortran else "C"  # the layout of ``like``, so updates stay in step
        views = [
            buf[i * n : (i + 1) * n].reshape(shape, order=order)
            for i in range(self._scratch_slots)
        ]
        self._views[key] = views
        return views

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain Python values and NumPy arrays (no objects).

        Structure::

            {
              "state": {                       # only parameters that have state yet
                 0: {"step": 12,               # Python int (Adam, AdaGrad, RMSProp)
                     "exp_avg": ndarray, ...}, # arrays shaped like the parameter
                 ...
              },
              "param_groups": [
                 {"lr": 0.001, "betas": [0.9, 0.999], ...,   # every hyperparameter
                  "params": [0, 1, 2]},                       # parameter indices
                 ...
              ],
            }

        Parameters are numbered 0, 1, 2, ... through the groups in order; ``"state"`` is
        keyed by that index. Hyperparameters are Python numbers, bools, strings or lists
        (tuples such as ``betas`` become lists); a group made from named parameters also
        has ``"param_names"``. The state arrays are copies. Per optimizer, the state keys
        are: SGD/GD ``momentum_buffer`` (only with momentum); AdaGrad ``step``, ``sum``;
        RMSProp ``step``, ``square_avg`` and ``momentum_buffer`` (momentum > 0),
        ``grad_avg`` (centered); Adam/AdamW ``step``, ``exp_avg``, ``exp_avg_sq`` and
        ``max_exp_avg_sq`` (amsgrad). These names and layout are PyTorch's.

        The arrays can go to an ``.npz`` file and everything else to JSON; JSON turns the
        integer keys of ``"state"`` into strings, which ``load_state_dict`` accepts.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: _plain(v) for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state: dict[int, dict[str, Any]] = {}
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state.get(p)
                if st:
                    state[index[id(p)]] = {
                        k: (v.copy() if isinstance(v, np.ndarray) else _plain(v))
                        for k, v in st.items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by ``state_dict`` (from an optimizer of the same kind).

        The parameters stay this optimizer's own; their hyperparameters and state are
        taken from ``state_dict``. The groups must match in number and size, every state
        array must have its parameter's shape (it is copied and cast to the parameter's
        dtype), and ``"state"`` keys may be ints or decimal strings (after JSON). Nothing
        changes if any check fails.
        """
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(
                "state_dict must be a dict with 'state' and 'param_groups' entries, got "
                + (f"keys {sorted(state_dict)}" if isinstance(state_dict, dict)
                   else type(state_dict).__name__)
            )
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"state_dict has {len(saved_groups)} parameter groups, but this optimizer "
                f"has {len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        new_groups = []
        for gi, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            ids = list(saved.get("params", ()))
            if len(ids) != len(group["params"]):
                raise ValueError(
                    f"state_dict param_groups[{gi}] has {len(ids)} parameters, but this "
                    f"optimizer's group {gi} has {len(group['params'])}"
                )
            missing = [k for k in self.defaults if k not in saved]
            if missing:
                raise ValueError(
                    f"state_dict param_groups[{gi}] lacks hyperparameters {missing}; was it "
                    f"saved from a different optimizer than {type(self).__name__}?"
                )
            for i, p in zip(ids, group["params"]):
                by_index[int(i)] = p
            new = {k: v for k, v in saved.items() if k not in ("params", "param_names")}
            for k, v in new.items():
                if isinstance(self.defaults.get(k), tuple) and isinstance(v, list):
                    new[k] = tuple(v)
            new["params"] = group["params"]
            if "param_names" in group:
                new["param_names"] = group["param_names"]
            self._validate_group(new, f" in state_dict param_groups[{gi}]")
            new_groups.append(new)
        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, st in dict(state_dict["state"]).items():
            try:
                idx = int(key)
            except (TypeError, ValueError):
                raise ValueError(f"state_dict state key {key!r} is not a parameter index") from None
            if idx not in by_index:
                raise ValueError(
                    f"state_dict has state for parameter {idx}, but this optimizer has "
                    f"{len(by_index)} parameters"
                )
            p = by_index[idx]
            entry: dict[str, Any] = {}
            for name, v in dict(st).items():
                if name == "step":
                    entry[name] = int(np.asarray(v).item())
                elif isinstance(v, np.ndarray):
                    if v.shape != p.data.shape:
                        raise ValueError(
                            f"state_dict state[{idx}][{name!r}] has shape {v.shape}, but "
                            f"parameter {idx} has shape {p.data.shape}"
                        )
                    entry[name] = np.empty_like(p.data)  # the parameter's memory layout
                    entry[name][...] = v
                else:
                    entry[name] = v
            new_state[p] = entry
        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for gi, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {gi}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _check_constraints(constraints: Sequence[Constraint] | None) -> list[Constraint]:
    if constraints is None:
        return []
    if not isinstance(constraints, (list, tuple)):
        if callable(getattr(constraints, "apply", None)):
            return [constraints]  # a single constraint
        raise TypeError(
            f"constraints must be a list of objects with an apply(params) method, got "
            f"{type(constraints).__name__}"
        )
    out = list(constraints)
    for i, c in enumerate(out):
        if not callable(getattr(c, "apply", None)):
            raise TypeError(
                f"constraints[{i}] ({type(c).__name__}) has no apply(params) method"
            )
    return out


def lerp_(start: np.ndarray, end: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """``start <- start + weight * (end - start)`` in place (``tmp`` is scratch).

    For |weight| >= 0.5 it computes ``end - (end - start) * (1 - weight)`` instead, the
    same value rounded as ``torch.lerp`` rounds it.
    """
    np.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        tmp *= weight
        start += tmp
    else:
        tmp *= 1.0 - weight
        np.subtract(end, tmp, out=start)


def decayed_grad(
    param: np.ndarray, grad: np.ndarray, weight_decay: float, maximize: bool, tmp: np.ndarray
) -> np.ndarray:
    """The gradient an update uses: ``g = (-grad if maximize else grad) + weight_decay*param``.

    Returns ``grad`` itself when there is nothing to add (it is never written to), else
    ``tmp`` holding g.
    """
    if weight_decay != 0:
        np.multiply(param, weight_decay, out=tmp)
        if maximize:
            np.subtract(tmp, grad, out=tmp)
        else:
            np.add(tmp, grad, out=tmp)
        return tmp
    if maximize:
        return np.negative(grad, out=tmp)
    return grad
