"""``Module``, the base class of layers and models; the containers ``ModuleList``, ``ModuleDict``.

A module holds parameters, buffers and sub-modules as ordinary attributes and computes
its output in ``forward``. Everything else (finding parameters, train/eval mode,
state dicts, the printed tree, the JSON description) is done here, once.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from glassnet.autograd.tape import active as _tape
from glassnet.nn.parameter import Parameter
from glassnet.tensor import Tensor

__all__ = [
    "IncompatibleKeys",
    "Module",
    "ModuleDict",
    "ModuleList",
    "count_parameters",
    "from_config",
    "register_module",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))

# Every Module subclass, by "module.QualName"; glassnet's own layers also by short name.
_REGISTRY: dict[str, type[Module]] = {}


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(..., strict=False)`` could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer and model.

    Subclass it, call ``super().__init__()`` first, assign parameters and sub-modules as
    attributes, and define ``forward``; calling the module calls ``forward``.

    >>> from glassnet import nn
    >>> class TwoLayer(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(4, 8)
    ...         self.out = nn.Linear(8, 3)
    ...     def forward(self, x):
    ...         return self.out(self.hidden(x).relu())
    >>> net = TwoLayer()
    >>> [name for name, _ in net.named_parameters()]
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    >>> net.num_parameters()
    67

    Notes
    -----
    *Finding parameters.* The module's attributes are read in the order they were
    first assigned:

    * a ``Parameter`` is a parameter (a plain ``Tensor`` is not: it is not trained);
    * a ``Module`` is a child;
    * a list, tuple or dict whose entries include Modules contributes those entries as
      children named ``attr.index`` / ``attr.key`` (``ModuleList``/``ModuleDict`` do the
      same with their own index or key), so ``self.layers = [Linear(...), ...]`` works;
    * arrays registered with ``register_buffer`` are buffers: state that is saved and
      loaded but not trained (BatchNorm's running statistics).

    Names are dotted paths as in PyTorch: ``0.weight``, ``layers.1.bias``. A parameter
    shared by two sub-modules is listed once.

    *Modes.* ``training`` is True after construction; ``train()``/``eval()`` set it on
    the whole tree. Dropout, BatchNorm and stochastic depth read it.

    *State.* ``state_dict()`` maps every parameter and persistent buffer name to a *copy*
    of its array; ``load_state_dict(d)`` copies values back in place (so optimizers keep
    their references), casting to each entry's dtype. With ``strict=True`` (default)
    missing or unexpected keys raise ``ValueError`` listing all of them; a shape mismatch
    always raises ``ValueError`` naming the key and both shapes. Nothing is changed when
    an error is raised.

    *Configuration* (a JSON-able description instead of pickling). ``get_config()``
    returns ``{"class": name, "kwargs": {...}}``: the class and the constructor
    arguments that rebuild the module, with nested modules as nested configs
    (Sequential, MLP, Residual). ``glassnet.nn.from_config(cfg)`` builds a fresh module
    from it (new random weights; load a state dict to restore trained values). Every
    built-in layer implements it; a subclass of your own does so by overriding
    ``get_config`` to ``return self._config(arg=value, ...)`` with its constructor
    arguments (Modules among them are encoded recursively), and ``_from_kwargs`` when the
    constructor does not take those kwargs directly (``Sequential(*modules)``). Only
    Module subclasses that have been imported can be rebuilt: ``from_config`` never
    imports code named in a file.

    Equivalent: ``torch.nn.Module`` (same method names and state-dict keys).
    """

    training: bool = True
    _buffer_names: tuple[str, ...] | list[str] = ()
    _non_persistent: tuple[str, ...] | list[str] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _REGISTRY[f"{cls.__module__}.{cls.__qualname__}"] = cls
        if cls.__module__.startswith("glassnet."):
            _REGISTRY.setdefault(cls.__name__, cls)  # the first of a name keeps it

    def __init__(self) -> None:
        self.training = True

    # ------------------------------------------------------------------ forward
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _tape[0] is not None:  # glassnet.compile watches this module's structure
            _tape[0].modules.append(self)
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ attributes
    def __setattr__(self, name: str, value: Any) -> None:
        old = self.__dict__.get(name)
        if isinstance(old, Parameter) and value is not None and not isinstance(value, Parameter):
            raise TypeError(
                f"cannot assign {type(value).__name__} to parameter '{name}' of "
                f"{type(self).__name__}: assign a Parameter (or None), or update .data"
            )
        if name in self._buffer_names and value is not None:
            value = _buffer_array(value, name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name in self._buffer_names:
            self._buffer_names = [b for b in self._buffer_names if b != name]
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value: Any, persistent: bool = True) -> None:
        """Register an array (or None) as state that is saved but not trained.

        A persistent buffer appears in ``state_dict()``; it follows ``to(dtype)`` when it
        is a float array.
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"buffer name must be an identifier, got {name!r}")
        if isinstance(self.__dict__.get(name), (Parameter, Module)):
            raise ValueError(f"'{name}' is already a parameter or module of {type(self).__name__}")
        if name not in self._buffer_names:
            self._buffer_names = [*self._buffer_names, name]
        if persistent:
            self._non_persistent = [b for b in self._non_persistent if b != name]
        elif name not in self._non_persistent:
            self._non_persistent = [*self._non_persistent, name]
        setattr(self, name, value)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Set ``param`` as the attribute ``name`` (as ``setattr``, with a type check)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: '{name}' must be a Parameter or None, "
                f"got {type(param).__name__}"
            )
        setattr(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Set ``module`` as the child ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: '{name}' must be a Module, got {type(module).__name__}")
        setattr(self, name, module)

    # ------------------------------------------------------------------ traversal
    def _own_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for name, value in self.__dict__.items():
            if isinstance(value, Parameter):
                yield name, value

    def _own_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for name in self._buffer_names:
            value = self.__dict__.get(name)
            if value is not None:
                yield name, value

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Direct sub-modules with their names (``layers.0`` for list entries)."""
        for name, value in self.__dict__.items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, v in enumerate(value):
                    if isinstance(v, Module):
                        yield f"{name}.{i}", v
            elif isinstance(value, dict):
                for k, v in value.items():
                    if isinstance(v, Module):
                        yield f"{name}.{k}", v

    def children(self) -> Iterator[Module]:
        """Direct sub-modules."""
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (name ``prefix``, '' by default) and every descendant, each once."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            yield name, m
            kids = [(f"{name}.{n}" if name else n, c) for n, c in m.named_children()]
            stack.extend(reversed(kids))

    def modules(self) -> Iterator[Module]:
        """This module and every descendant (depth first, each once)."""
        for _, m in self.named_modules():
            yield m

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs: own parameters first, then each child's."""
        seen: set[int] = set()
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mname, m in mods:
            for pname, p in m._own_parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter of the module tree (each once)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Any]]:
        """(dotted name, array) for every buffer that is not None."""
        mods = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mname, m in mods:
            for bname, b in m._own_buffers():
                yield (f"{mname}.{bname}" if mname else bname), b

    def buffers(self, recurse: bool = True) -> Iterator[Any]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def num_parameters(self, trainable_only: bool = False) -> int:
        """The number of scalar parameters (only those requiring grad if asked)."""
        return sum(
            p.data.size for p in self.parameters() if p.requires_grad or not trainable_only
        )

    # ------------------------------------------------------------------ modes, grads, dtypes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode on the whole tree."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode): mode must be a bool, got {mode!r}")
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout off, BatchNorm uses its running statistics."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (to None, or to zeros in place)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = Tensor(np.zeros_like(p.data))

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every descendant and then on this module (as PyTorch)."""
        for m in reversed(list(self.modules())):
            fn(m)
        return self

    def to(self, dtype: Any) -> Module:
        """Convert float parameters and buffers to ``dtype`` (float32/float64), in place.

        The Parameter objects are kept (their ``.data`` is replaced), gradients are
        converted too. Handy for gradient checks: ``model.double()``.
        """
        d = np.dtype(dtype)
        if d not in _FLOATS:
            raise TypeError(f"to(dtype): dtype must be float32 or float64, got {d}")
        for p in self.parameters():
            if p.data.dtype != d:
                p.data = p.data.astype(d)
                if p.grad is not None:
                    p.grad = Tensor(p.grad.data.astype(d))
        for m in self.modules():
            for name, b in list(m._own_buffers()):
                if b.dtype.kind == "f" and b.dtype != d:
                    object.__setattr__(m, name, b.astype(d))
        return self

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    # ------------------------------------------------------------------ state
    def _state_entries(self) -> Iterator[tuple[str, Module, str, Any]]:
        """(dotted name, owner, attribute, value) of each parameter and persistent buffer,
        module by module (own parameters, then own buffers), as PyTorch orders them."""
        seen: set[int] = set()
        for mname, m in self.named_modules():
            for pname, p in m._own_parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{pname}" if mname else pname), m, pname, p
            for bname, b in m._own_buffers():
                if bname not in m._non_persistent:
                    yield (f"{mname}.{bname}" if mname else bname), m, bname, b

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Every parameter and persistent buffer, by dotted name, as a copied ndarray."""
        out: OrderedDict[str, np.ndarray] = OrderedDict()
        for name, _, _, value in self._state_entries():
            out[name] = np.array(value.data if isinstance(value, Tensor) else value, copy=True)
        return out

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters and buffers, in place.

        Values may be ndarrays, Tensors or nested lists; each is cast to the dtype of the
        entry it replaces. Raises ``ValueError`` for missing/unexpected keys when
        ``strict`` and for a shape mismatch (always); on error nothing is modified.

        Returns
        -------
        IncompatibleKeys
            ``(missing_keys, unexpected_keys)``, both empty after a strict load.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_state_dict expects a mapping of name -> array, "
                f"got {type(state_dict).__name__}"
            )
        targets = {name: (m, attr, v) for name, m, attr, v in self._state_entries()}
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append("missing keys: " + ", ".join(repr(k) for k in missing))
            if unexpected:
                parts.append("unexpected keys: " + ", ".join(repr(k) for k in unexpected))
            raise ValueError(
                f"error loading state dict into {type(self).__name__}: " + "; ".join(parts)
            )
        staged = []
        mismatched = []
        for key, (owner, bname, current) in targets.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            arr = np.asarray(value.data if isinstance(value, Tensor) else value)
            cur = current.data if isinstance(current, Tensor) else current
            if arr.shape != cur.shape:
                mismatched.append(
                    f"'{key}': checkpoint shape {arr.shape}, model shape {cur.shape}"
                )
                continue
            try:
                arr = arr.astype(cur.dtype)
            except (TypeError, ValueError) as e:
                raise TypeError(
                    f"load_state_dict: '{key}' of dtype {arr.dtype} cannot be cast to "
                    f"{cur.dtype}: {e}"
                ) from None
            staged.append((owner, bname, current, arr))
        if mismatched:
            raise ValueError("size mismatch in load_state_dict: " + "; ".join(mismatched))
        for _owner, _bname, current, arr in staged:
            if isinstance(current, Tensor):
                current.data[...] = arr
            else:
                current[...] = arr
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ PyTorch weights
    def load_torch_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Load a PyTorch ``state_dict()`` (tensors or arrays) into this module, in place.

        The keys are PyTorch's: glassnet's layers name their parameters and buffers as
        ``torch.nn`` does (``0.weight``, ``1.running_mean``, ...), so the state dict of the
        equivalent torch model loads as it is. Each value may be anything with
        ``.detach().cpu().numpy()`` (a ``torch.Tensor``; torch itself is never imported)
        or an ndarray; it is cast to the dtype of the entry it replaces. Otherwise as
        ``load_state_dict``: strict key matching, shape checks naming the key, nothing
        changed on error.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_torch_state_dict expects a mapping of name -> tensor, "
                f"got {type(state_dict).__name__}"
            )
        return self.load_state_dict(
            {k: _from_torch_value(v, k) for k, v in state_dict.items()}, strict=strict
        )

    def to_torch_state_dict(self, tensors: bool = False) -> OrderedDict[str, Any]:
        """This module's state under PyTorch's keys, for ``torch_model.load_state_dict``.

        C-ordered ndarray copies by default (``torch.from_numpy`` takes them as they are);
        ``tensors=True`` returns ``torch.Tensor``s (needs torch installed). BatchNorm's
        ``num_batches_tracked`` is an int64 0-d entry, as in PyTorch.
        """
        state = OrderedDict(
            (k, np.ascontiguousarray(v)) for k, v in self.state_dict().items()
        )
        if not tensors:
            return state
        try:
            import torch
        except ImportError:
            raise ImportError(
                "to_torch_state_dict(tensors=True) needs PyTorch (pip install torch); "
                "without it, pass the arrays to torch.from_numpy where torch is installed"
            ) from None
        return OrderedDict((k, torch.from_numpy(v)) for k, v in state.items())

    # ------------------------------------------------------------------ configuration
    @classmethod
    def config_name(cls) -> str:
        """The name under which ``from_config`` finds this class."""
        if cls.__module__.startswith("glassnet.") and _REGISTRY.get(cls.__name__) is cls:
            return cls.__name__
        return f"{cls.__module__}.{cls.__qualname__}"

    def get_config(self) -> dict[str, Any]:
        """A JSON-able ``{"class": ..., "kwargs": ...}`` that rebuilds this module.

        Built-in layers override this; see the class docstring for your own modules.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not define get_config(); override it to return "
            f'{{"class": self.config_name(), "kwargs": {{...constructor arguments...}}}}'
        )

    @classmethod
    def _from_kwargs(cls, kwargs: dict[str, Any]) -> Module:
        """Build from decoded config kwargs (nested configs already turned into Modules)."""
        return cls(**kwargs)

    def _config(self, **kwargs: Any) -> dict[str, Any]:
        """``{"class": config_name, "kwargs": kwargs}`` with nested modules encoded."""
        return {"class": self.config_name(), "kwargs": _encode(kwargs)}

    # ------------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text between the parentheses of a leaf module's repr."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, child in self.named_children():
            text = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {text}")
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}(" + (f"\n  {extra}" if extra else "")
        return head + "\n" + "\n".join(lines) + "\n)"


def _from_torch_value(value: Any, key: str) -> np.ndarray:
    """A torch tensor (anything with .detach().cpu().numpy()) or array as an ndarray."""
    if isinstance(value, (np.ndarray, np.generic, Tensor)):
        return np.array(value.data if isinstance(value, Tensor) else value, copy=True)
    if hasattr(value, "detach"):
        try:
            return np.array(value.detach().cpu().numpy(), copy=True)
        except (TypeError, RuntimeError) as e:  # bfloat16, a tensor on the meta device, ...
            raise TypeError(
                f"load_torch_state_dict: cannot convert '{key}' "
                f"({getattr(value, 'dtype', '?')}) to a NumPy array: {e}"
            ) from None
    raise TypeError(
        f"load_torch_state_dict: '{key}' must be a tensor or an ndarray, "
        f"got {type(value).__name__}"
    )


def _buffer_array(value: Any, name: str) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value)
    raise TypeError(
        f"buffer '{name}' must be an ndarray, Tensor or None, got {type(value).__name__}"
    )


def _encode(value: Any) -> Any:
    """Replace Modules by their configs and dtypes by names, recursively."""
    if isinstance(value, Module):
        return value.get_config()
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, np.generic):
        return value.item()
    return value


def _is_config(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"class", "kwargs"}


def _decode(value: Any) -> Any:
    if _is_config(value):
        return from_config(value)
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def from_config(config: Mapping[str, Any] | str) -> Module:
    """Build a module from ``Module.get_config()``'s description (a dict or its JSON).

    >>> from glassnet import nn
    >>> cfg = nn.Sequential(nn.Linear(2, 3), nn.ReLU()).get_config()
    >>> nn.from_config(cfg)
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): ReLU()
    )
    """
    if isinstance(config, str):
        config = json.loads(config)
    if not _is_config(config):
        raise ValueError(
            f"a module config is a dict with exactly the keys 'class' and 'kwargs', "
            f"got {config!r:.200}"
        )
    name = config["class"]
    cls = _REGISTRY.get(name)
    if cls is None:
        raise ValueError(
            f"unknown module class {name!r} in config: built-in layers are known by name, "
            f"your own classes by 'module.QualName' once their module has been imported"
        )
    kwargs = config["kwargs"]
    if not isinstance(kwargs, dict):
        raise ValueError(f"config 'kwargs' of {name} must be a dict, got {kwargs!r:.200}")
    return cls._from_kwargs(_decode(kwargs))


def register_module(cls: type[Module], name: str | None = None) -> type[Module]:
    """Make ``from_config`` find ``cls`` under ``name`` as well (usable as a decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise TypeError(f"register_module expects a Module subclass, got {cls!r}")
    _REGISTRY[name or cls.__name__] = cls
    return cls


def count_parameters(model: Module | Iterable[Any], trainable_only: bool = False) -> int:
    """The number of scalar parameters of a module (or of an iterable of parameters)."""
    if isinstance(model, Module):
        return model.num_parameters(trainable_only)
    return sum(
        p.data.size for p in model
        if not trainable_only or getattr(p, "requires_grad", False)
    )


class ModuleList(Module):
    """A list of modules whose parameters the parent finds (names ``0``, ``1``, ...).

    Supports indexing (also slices and negative indices), ``len``, iteration,
    ``append``, ``extend`` and ``insert``. It has no ``forward``.

    Equivalent: ``torch.nn.ModuleList``.
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        self._items: list[Module] = []
        if modules is not None:
            self.extend(modules)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, m in enumerate(self._items):
            yield str(i), m

    def _check(self, module: Any) -> Module:
        if not isinstance(module, Module):
            raise TypeError(
                f"{type(self).__name__} holds Modules, got {type(module).__name__}"
            )
        return module

    def append(self, module: Module) -> ModuleList:
        self._items.append(self._check(module))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        self._items.insert(index, self._check(module))

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return type(self)(self._items[index])
        return self._items[_index(index, len(self._items))]

    def __setitem__(self, index: int, module: Module) -> None:
        self._items[_index(index, len(self._items))] = self._check(module)

    def __delitem__(self, index: int | slice) -> None:
        if isinstance(index, slice):
            del self._items[index]
        else:
            del self._items[_index(index, len(self._items))]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._items)

    def get_config(self) -> dict[str, Any]:
        return self._config(modules=list(self._items))


def _index(index: Any, n: int) -> int:
    if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
        raise TypeError(f"module index must be an int or slice, got {index!r}")
    if not -n <= index < n:
        raise IndexError(f"index {index} is out of range for {n} modules")
    return int(index) % n


class ModuleDict(Module):
    """An ordered dict of modules (names are the keys).

    Supports ``d[key]``, ``d[key] = module``, ``del``, ``in``, ``len``, iteration over
    keys, ``keys()``, ``values()``, ``items()``, ``update``. It has no ``forward``.

    Equivalent: ``torch.nn.ModuleDict``.
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None,
                 ) -> None:
        super().__init__()
        self._items: dict[str, Module] = {}
        if modules is not None:
            self.update(modules)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._items.items()

    def __getitem__(self, key: str) -> Module:
        return self._items[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise ValueError(f"ModuleDict keys must be non-empty strings without '.', got {key!r}")
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict holds Modules, got {type(module).__name__} for {key!r}")
        self._items[key] = module

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def keys(self) -> Any:
        return self._items.keys()

    def values(self) -> Any:
        return self._items.values()

    def items(self) -> Any:
        return self._items.items()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module

    def get_config(self) -> dict[str, Any]:
        return self._config(modules=dict(self._items))
