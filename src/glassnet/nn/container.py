"""``Sequential``: modules applied one after another."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from glassnet.nn.module import Module, _index

__all__ = ["Sequential"]


class Sequential(Module):
    """Apply the given modules in order: ``Sequential(a, b, c)(x) = c(b(a(x)))``.

    Children are named ``0``, ``1``, ... or by the keys of a single dict argument,
    ``Sequential({"hidden": Linear(4, 8), "act": ReLU()})``. Supports ``len``,
    iteration, integer and slice indexing (a slice is a new Sequential sharing the
    modules), ``append``, ``extend`` and ``insert``.

    Equivalent: ``torch.nn.Sequential`` (a dict plays the role of its OrderedDict).

    >>> from glassnet import nn
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    >>> len(net), net[0]
    (2, Linear(in_features=2, out_features=3, bias=True))
    """

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        super().__init__()
        self._items: dict[str, Module] = {}
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for key, m in modules[0].items():
                self._add(key, m)
        else:
            for m in modules:
                self.append(m)

    def _add(self, key: str, module: Any) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise ValueError(f"Sequential names must be non-empty strings without '.', got {key!r}")
        if not isinstance(module, Module):
            raise TypeError(
                f"Sequential holds Modules, got {type(module).__name__} for {key!r}"
            )
        if key in self._items:
            raise ValueError(f"Sequential already has a module named {key!r}")
        self._items[key] = module

    def _renumber(self, modules: list[Module]) -> None:
        if all(k.isdigit() for k in self._items):
            self._items = {str(i): m for i, m in enumerate(modules)}
        else:
            raise TypeError("insert/delete by position needs a Sequential with numbered modules")

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._items.items()

    def forward(self, x: Any) -> Any:
        for m in self._items.values():
            x = m(x)
        return x

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position) and return self."""
        key = str(len(self._items))
        while key in self._items:
            key = "_" + key
        self._add(key, module)
        return self

    def extend(self, modules: Any) -> Sequential:
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        mods = list(self._items.values())
        if not isinstance(module, Module):
            raise TypeError(f"Sequential holds Modules, got {type(module).__name__}")
        mods.insert(index, module)
        self._renumber(mods)
        return self

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._items.values())

    def __getitem__(self, index: int | slice | str) -> Any:
        if isinstance(index, str):
            return self._items[index]
        if isinstance(index, slice):
            keys = list(self._items)[index]
            out = Sequential()
            out._items = {k: self._items[k] for k in keys}
            return out
        return list(self._items.values())[_index(index, len(self._items))]

    def __setitem__(self, index: int, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential holds Modules, got {type(module).__name__}")
        key = list(self._items)[_index(index, len(self._items))]
        self._items[key] = module

    def __delitem__(self, index: int | slice) -> None:
        keys = list(self._items)
        drop = set(keys[index]) if isinstance(index, slice) else {keys[_index(index, len(keys))]}
        kept = [m for k, m in self._items.items() if k not in drop]
        if all(k.isdigit() for k in keys):
            self._renumber(kept)
        else:
            self._items = {k: m for k, m in self._items.items() if k not in drop}

    def get_config(self) -> dict[str, Any]:
        if all(k == str(i) for i, k in enumerate(self._items)):
            return self._config(modules=list(self._items.values()))
        return self._config(modules=dict(self._items))

    @classmethod
    def _from_kwargs(cls, kwargs: dict[str, Any]) -> Module:
        modules = kwargs["modules"]
        return cls(modules) if isinstance(modules, dict) else cls(*modules)
