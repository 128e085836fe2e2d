"""``Parameter``: a leaf Tensor that a Module registers as trainable."""

from __future__ import annotations

from typing import Any

from glassnet.tensor import Tensor, _as_array


class Parameter(Tensor):
    """A Tensor that is a module's trainable weight (``requires_grad=True`` by default).

    Python numbers and lists become the default float dtype; ndarrays keep their dtype.
    Optimizers update ``.data`` in place.
    """

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(_as_array(data), requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
