"""Differentiable primitives, one class each: forward on arrays, backward right below.

Families: ``elementwise`` (arithmetic and activations), ``reduce`` (sum, mean, max,
logsumexp, softmax), ``shape`` (reshape, transpose, broadcast, indexing, concatenate),
``linalg`` (matmul) and ``nn`` (fused layers and losses).

The math calls NumPy functions on the input arrays; NumPy hands ufuncs and array
functions to the inputs' own array library (``__array_ufunc__``/``__array_function__``),
so the same code serves any array module that implements those protocols.
"""
