"""Fast paths held to the plain code they stand for."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.ops.losses import _row_max


@pytest.mark.parametrize("c", [1, 2, 3, 10, 32, 33, 100])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_max_is_max_along_the_rows(c, dtype):
    rng = np.random.default_rng(c)
    s = rng.normal(size=(17, c)).astype(dtype)
    s[3, c // 2] = np.nan
    s[5, 0] = np.inf
    s[7, -1] = -np.inf
    s[9] = -np.inf
    want = s.max(axis=1, keepdims=True)
    got = _row_max(s)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)  # NaN in the same places


def test_row_max_of_a_strided_view():
    s = np.arange(60.0).reshape(6, 10)[::2, ::3]
    np.testing.assert_array_equal(_row_max(s), s.max(axis=1, keepdims=True))
