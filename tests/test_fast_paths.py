"""Fast paths held to the plain code they stand for."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.ops.losses import _row_max, _row_sum


@pytest.mark.parametrize("n", [4, 17, 130])
@pytest.mark.parametrize("c", [1, 2, 3, 10, 32, 33, 100])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_max_is_max_along_the_rows(n, c, dtype):
    rng = np.random.default_rng(c)
    s = rng.normal(size=(n, c)).astype(dtype)
    s[3, c // 2] = np.nan
    s[1, 0] = np.inf
    s[2, -1] = -np.inf
    s[0] = -np.inf
    want = s.max(axis=1, keepdims=True)
    got = _row_max(s)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)  # NaN in the same places


@pytest.mark.parametrize("c", [1, 2, 10, 100])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_sum_is_the_sum_along_the_rows(c, dtype):
    rng = np.random.default_rng(c)
    e = rng.random(size=(130, c)).astype(dtype)
    got = _row_sum(e)
    want = e.sum(axis=1, keepdims=True)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps * c)
    e[5, 0], e[7, -1] = np.nan, np.inf
    got = _row_sum(e)
    assert np.isnan(got[5, 0]) and np.isposinf(got[7, 0])
    assert np.isfinite(np.delete(got, [5, 7], axis=0)).all()


def test_row_max_of_a_strided_view():
    s = np.arange(60.0).reshape(6, 10)[::2, ::3]
    np.testing.assert_array_equal(_row_max(s), s.max(axis=1, keepdims=True))


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"activation": "tanh"}, {"dropout": 0.3}, {"batch_norm": True}, {"bias": False}],
    ids=["relu", "tanh", "dropout", "batch_norm", "no_bias"],
)
def test_mlp_fused_hidden_layers_match_the_layer_by_layer_network(kwargs):
    """MLP runs Linear+ReLU as one node; the same layers run one by one (a Sequential of
    the same modules) must give bitwise the same output and gradients."""
    import glassnet as gn
    from glassnet import nn

    rng = np.random.default_rng(0)
    x = rng.normal(size=(9, 5))
    results = []
    for fused in (True, False):
        mlp = nn.MLP(5, [7, 6], 3, generator=1, dtype=np.float64, **kwargs)
        net = mlp if fused else nn.Sequential(*[m for _, m in mlp.named_children()])
        gn.manual_seed(3)  # the same dropout masks
        out = net(gn.tensor(x))
        (out * gn.tensor(np.arange(27.0).reshape(9, 3))).sum().backward()
        results.append((out.data, [p.grad.data.copy() for p in mlp.parameters()]))
    (o1, g1), (o2, g2) = results
    assert np.array_equal(o1, o2)
    assert len(g1) == len(g2)
    for a, b in zip(g1, g2):
        assert np.array_equal(a, b)


def test_mlp_uses_the_fused_node_for_relu_layers():
    import glassnet as gn
    from glassnet import nn
    from glassnet.ops.nn import LinearFn, LinearReluFn

    mlp = nn.MLP(4, [8], 2, generator=0)
    out = mlp(gn.tensor(np.ones((2, 4), dtype=np.float32)))
    assert type(out._ctx) is LinearFn
    assert type(out._ctx.inputs[0]._ctx) is LinearReluFn


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", ">i4", "uint8", "uint64"])
def test_label_range_check_in_one_reduction(dtype):
    """Labels are range-checked with one max over an unsigned view: a negative label must
    still be caught, in every integer dtype and byte order."""
    import glassnet as gn

    s = gn.tensor(np.zeros((3, 4), dtype=np.float32))
    ok = np.array([0, 3, 1], dtype=dtype)
    assert np.isfinite(gn.losses.softmax_log_likelihood(s, ok).item())
    with pytest.raises(ValueError, match="label 4 at index 2 is out of range"):
        gn.losses.softmax_log_likelihood(s, np.array([0, 1, 4], dtype=dtype))
    if np.dtype(dtype).kind == "i":
        with pytest.raises(ValueError, match="label -1 at index 1 is out of range"):
            gn.losses.softmax_log_likelihood(s, np.array([0, -1, 2], dtype=dtype))
        big = np.iinfo(dtype).min  # the most negative value: huge when seen unsigned
        with pytest.raises(ValueError, match="out of range"):
            gn.losses.softmax_log_likelihood(s, np.array([0, big, 2], dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("label_dtype", ["int64", "int32", "uint8"])
def test_softmax_loss_training_call_is_the_general_path(dtype, label_dtype):
    """The training call (Tensor scores, integer ndarray labels, mean) skips the general
    checks; a list of labels takes the general path: same loss and gradient, bitwise."""
    import glassnet as gn

    rng = np.random.default_rng(1)
    s_data = rng.normal(size=(70, 10)).astype(dtype) * 5
    y = rng.integers(0, 10, size=70).astype(label_dtype)
    got = []
    for labels in (y, y.tolist()):
        s = gn.tensor(s_data, requires_grad=True)
        loss = gn.losses.softmax_log_likelihood(s, labels)
        loss.backward()
        got.append((loss.data, s.grad.data))
    assert got[0][0].dtype == dtype
    assert np.array_equal(got[0][0], got[1][0])
    assert np.array_equal(got[0][1], got[1][1])


def test_linear_weights_are_column_major_and_train_like_row_major_ones():
    """Linear stores W (out, in) column-major for faster BLAS layouts. Gradients and
    optimizer state follow that layout, and training matches row-major weights."""
    import glassnet as gn
    from glassnet import nn, optim

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 20))
    y = rng.integers(0, 5, size=32)
    results = []
    for order in ("F", "C"):
        net = nn.MLP(20, [300], 5, generator=0, dtype=np.float64)
        for p in net.parameters():
            p.data = np.array(p.data, order=order)
        opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        opt._block_bytes = 8 * 1000  # several blocks for the (300, 20) weight
        for _ in range(3):
            loss = gn.losses.softmax_log_likelihood(net(gn.tensor(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        W = net[0].weight
        assert W.data.flags.f_contiguous == (order == "F")
        assert W.grad.data.flags.f_contiguous == (order == "F")
        assert opt.state[W]["momentum_buffer"].flags.f_contiguous == (order == "F")
        results.append([p.data.copy() for p in net.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert nn.Linear(3, 2).weight.data.flags.f_contiguous


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
@pytest.mark.parametrize("weight_order, grad_order", [("F", "C"), ("C", "F")])
def test_gradient_in_the_other_memory_order_updates_like_a_matching_one(
    name, weight_order, grad_order
):
    """A gradient set in the other memory order than its weight (row-major .grad on
    Linear's column-major W) gives the update of the same gradient in the weight's order,
    and the optimizer's state takes the weight's order."""
    import glassnet as gn
    from glassnet import optim

    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(300, 40))
    grads = [rng.normal(size=(300, 40)) for _ in range(3)]
    kwargs = {"lr": 0.1, "momentum": 0.9} if name == "SGD" else {"lr": 0.01}
    results = []
    for order in (weight_order, grad_order):
        W = gn.Tensor(np.array(w0, order=weight_order), requires_grad=True)
        opt = getattr(optim, name)([W], **kwargs)
        opt._block_bytes = 8 * 1000  # several blocks
        for g in grads:
            W.grad = gn.Tensor(np.array(g, order=order))
            opt.step()
        assert W.data.flags.f_contiguous == (weight_order == "F")
        for value in opt.state[W].values():
            if isinstance(value, np.ndarray) and value.ndim == 2:
                assert value.flags.f_contiguous == (weight_order == "F")
        results.append(W.data.copy())
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("op", ["tanh", "sigmoid", "exp", "sqrt", "softmax"])
def test_saved_outputs_make_no_reference_cycle(op):
    """A node that reuses its output keeps the output array, not the Tensor: dropping the
    Tensor frees it at once (no cycle left for the garbage collector)."""
    import gc
    import weakref

    import glassnet as gn

    x = gn.tensor(np.array([0.5, 1.5, 2.0]), requires_grad=True)
    gc.disable()
    try:
        y = getattr(x, op)()
        assert y._ctx is not None and type(y._ctx).saves_output
        ref = weakref.ref(y)
        del y
        assert ref() is None
    finally:
        gc.enable()


def test_saved_output_is_the_tensor_when_recording():
    """With create_graph the formula gets the output Tensor (so the gradient depends on
    it differentiably): d2/dx2 tanh(x) = -2 tanh(x) (1 - tanh(x)^2)."""
    import glassnet as gn

    x = gn.tensor(np.array([0.3, -1.2]), requires_grad=True)
    (g,) = gn.gradients(x.tanh().sum(), [x], create_graph=True)
    (h,) = gn.gradients(g.sum(), [x])
    t = np.tanh(x.data)
    np.testing.assert_allclose(h.data, -2 * t * (1 - t * t), rtol=1e-12)
