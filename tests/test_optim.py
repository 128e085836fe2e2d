"""Optimizers: trajectories against torch.optim, checkpoints, the lecture's GD examples.

The model is a two-layer tanh network built from raw Parameters (W1 (5, 3), b1 (5,),
W2 (2, 5), b2 (2,)) trained on a small random regression set with mean squared error,
a different minibatch every step; torch mirrors it from the same initial values.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

import glassnet as gn
from glassnet import optim
from glassnet.nn.parameter import Parameter

torch = pytest.importorskip("torch")

NAMES = ("W1", "b1", "W2", "b2")
STEPS = 50


# ---------------------------------------------------------------------------- the model
@pytest.fixture
def problem(rng):
    """Data, initial values and 50 minibatches of 8 out of 64 samples."""
    X = rng.normal(size=(64, 3))
    Y = np.tanh(X @ rng.normal(size=(3, 2))) + 0.1 * rng.normal(size=(64, 2))
    init = {
        "W1": 0.5 * rng.normal(size=(5, 3)),
        "b1": 0.1 * rng.normal(size=5),
        "W2": 0.5 * rng.normal(size=(2, 5)),
        "b2": 0.1 * rng.normal(size=2),
    }
    batches = [rng.choice(64, size=8, replace=False) for _ in range(STEPS)]
    return X, Y, init, batches


def gn_loss(params, xb, yb):
    W1, b1, W2, b2 = params
    h = gn.tanh(gn.tensor(xb) @ W1.T + b1)
    out = h @ W2.T + b2
    return ((out - gn.tensor(yb)) ** 2).mean()


def torch_loss(params, xb, yb):
    W1, b1, W2, b2 = params
    h = torch.tanh(torch.from_numpy(xb) @ W1.T + b1)
    out = h @ W2.T + b2
    return ((out - torch.from_numpy(yb)) ** 2).mean()


def gn_params(values):
    return [Parameter(np.array(values[k], dtype=np.float64)) for k in NAMES]


def torch_params(values):
    return [torch.tensor(values[k], dtype=torch.float64, requires_grad=True) for k in NAMES]


def train(opt, params, loss_fn, X, Y, batches, drop=None, numpy=lambda t: t.data.copy()):
    """Run one step per batch; return the parameter values after each step.

    ``drop`` names a parameter whose gradient is removed before every step.
    """
    trajectory = []
    for idx in batches:
        opt.zero_grad()
        loss_fn(params, X[idx], Y[idx]).backward()
        if drop is not None:
            params[NAMES.index(drop)].grad = None
        opt.step()
        trajectory.append([numpy(p) for p in params])
    return trajectory


def torch_numpy(t):
    return t.detach().numpy().copy()


def run_gn(name, kwargs, problem, drop=None):
    X, Y, init, batches = problem
    params = gn_params(init)
    opt = getattr(optim, name)(params, **kwargs)
    traj = train(opt, params, gn_loss, X, Y, batches, drop)
    return opt, params, traj


def run_torch(name, kwargs, problem, drop=None):
    X, Y, init, batches = problem
    params = torch_params(init)
    opt = getattr(torch.optim, name)(params, **kwargs)
    traj = train(opt, params, torch_loss, X, Y, batches, drop, numpy=torch_numpy)
    return opt, params, traj


CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.01, "momentum": 0.5, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5, "weight_decay": 0.01, "eps": 1e-6}),
    ("Adagrad", {"lr": 0.05, "weight_decay": 0.1, "maximize": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.9, "centered": True, "momentum": 0.5,
                 "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.3, "eps": 1e-4}),
    ("Adam", {"lr": 0.02}),
    ("Adam", {"lr": 0.02, "amsgrad": True}),
    ("Adam", {"lr": 0.02, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.02, "betas": (0.3, 0.9), "eps": 1e-4, "amsgrad": True,
              "weight_decay": 0.05}),
    ("Adam", {"lr": 0.01, "maximize": True}),
    ("Adam", {"lr": 0.02, "weight_decay": 0.2, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.02}),
    ("AdamW", {"lr": 0.02, "weight_decay": 0.3, "amsgrad": True}),
    ("AdamW", {"lr": 0.02, "betas": (0.5, 0.99), "weight_decay": 0.1, "maximize": True}),
]
IDS = [f"{n}-" + ",".join(f"{k}={v}" for k, v in kw.items()) for n, kw in CONFIGS]


# ---------------------------------------------------------------------------- torch oracle
@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_trajectory_matches_torch(name, kwargs, problem):
    """50 minibatch steps agree with torch.optim within 1e-6 at every step (float64),
    and the final state has torch's keys and values (buffers, moments, step counts)."""
    gopt, gp, gtraj = run_gn(name, kwargs, problem)
    topt, tp, ttraj = run_torch(name, kwargs, problem)
    for step, (gvals, tvals) in enumerate(zip(gtraj, ttraj)):
        for k, g, t in zip(NAMES, gvals, tvals):
            np.testing.assert_allclose(g, t, rtol=0, atol=1e-6, err_msg=f"{k} at step {step}")
    # the trajectory moved: a wrong (e.g. no-op) update could not pass
    init = problem[2]
    assert max(np.abs(gtraj[-1][i] - init[k]).max() for i, k in enumerate(NAMES)) > 1e-2
    for g, t in zip(gp, tp):
        gs, ts = gopt.state.get(g, {}), topt.state.get(t, {})
        assert set(gs) == set(ts)
        for key in gs:
            if key == "step":
                assert gs[key] == int(ts[key].item()) == STEPS
            else:
                np.testing.assert_allclose(gs[key], ts[key].numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"])
def test_param_without_grad_is_skipped_like_torch(name, problem):
    """A parameter whose grad is None never moves and gets no state; the rest match torch."""
    kwargs = {"lr": 0.02, "momentum": 0.9} if name in ("SGD", "RMSprop") else {"lr": 0.02}
    gopt, gp, gtraj = run_gn(name, kwargs, problem, drop="b1")
    topt, tp, ttraj = run_torch(name, kwargs, problem, drop="b1")
    np.testing.assert_array_equal(gp[1].data, problem[2]["b1"])
    assert gp[1] not in gopt.state
    for g, t in zip(gtraj[-1], ttraj[-1]):
        np.testing.assert_allclose(g, t, rtol=0, atol=1e-6)


def test_param_groups_match_torch(problem):
    """Per-group options (lr, weight decay, betas) are honoured as in torch."""
    X, Y, init, batches = problem

    def groups(params):
        return [
            {"params": [params[0], params[2]], "weight_decay": 0.1},
            {"params": [params[1], params[3]], "lr": 0.05, "betas": (0.5, 0.9)},
        ]

    gp, tp = gn_params(init), torch_params(init)
    gopt = optim.Adam(groups(gp), lr=0.01, amsgrad=True)
    topt = torch.optim.Adam(groups(tp), lr=0.01, amsgrad=True)
    assert gopt.param_groups[0]["lr"] == 0.01 and gopt.param_groups[1]["lr"] == 0.05
    gtraj = train(gopt, gp, gn_loss, X, Y, batches, numpy=lambda t: t.data.copy())
    ttraj = train(topt, tp, torch_loss, X, Y, batches, numpy=torch_numpy)
    for g, t in zip(gtraj[-1], ttraj[-1]):
        np.testing.assert_allclose(g, t, rtol=0, atol=1e-6)


def test_add_param_group_matches_torch(problem):
    """A group added after 20 steps (fine-tuning a frozen layer) behaves as in torch."""
    X, Y, init, batches = problem
    trajs = []
    for lib, params, loss_fn, numpy in (
        (optim, gn_params(init), gn_loss, lambda t: t.data.copy()),
        (torch.optim, torch_params(init), torch_loss, torch_numpy),
    ):
        opt = lib.SGD(params[2:], lr=0.05, momentum=0.9)
        first = train(opt, params, loss_fn, X, Y, batches[:20], drop=None, numpy=numpy)
        opt.add_param_group({"params": params[:2], "lr": 0.01})
        trajs.append(first + train(opt, params, loss_fn, X, Y, batches[20:], numpy=numpy))
    for g, t in zip(trajs[0][-1], trajs[1][-1]):
        np.testing.assert_allclose(g, t, rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------- checkpoints
PLAIN_SCALARS = (str, int, float, bool, type(None))


def assert_plain(obj, path="sd"):
    """Only dicts, lists, Python scalars and ndarrays: storable as JSON + npz."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, (str, int)) and not isinstance(k, bool), f"{path} key {k!r}"
            assert_plain(v, f"{path}[{k!r}]")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            assert_plain(v, f"{path}[{i}]")
    else:
        assert isinstance(obj, (np.ndarray, *PLAIN_SCALARS)), f"{path} is {type(obj).__name__}"
        assert not isinstance(obj, np.generic), f"{path} is a NumPy scalar"


def through_json_and_npz(sd):
    """Store arrays in an .npz and everything else in JSON, then read both back."""
    arrays = {}

    def strip(obj):
        if isinstance(obj, dict):
            return {str(k): strip(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        if isinstance(obj, np.ndarray):
            key = f"a{len(arrays)}"
            arrays[key] = obj
            return {"__npz__": key}
        return obj

    text = json.dumps(strip(sd))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    loaded = dict(np.load(buf, allow_pickle=False))

    def restore(obj):
        if isinstance(obj, dict):
            if set(obj) == {"__npz__"}:
                return loaded[obj["__npz__"]]
            return {k: restore(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [restore(v) for v in obj]
        return obj

    return restore(json.loads(text))


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=IDS)
def test_state_dict_round_trip_continues_exactly(name, kwargs, problem):
    """25 steps, save (through JSON + npz), load into a fresh optimizer, 25 more == 50."""
    X, Y, init, batches = problem
    _, straight, _ = run_gn(name, kwargs, problem)

    params = gn_params(init)
    opt = getattr(optim, name)(params, **kwargs)
    train(opt, params, gn_loss, X, Y, batches[:25])
    sd = opt.state_dict()
    assert_plain(sd)
    saved = through_json_and_npz(sd)

    fresh = [Parameter(p.data.copy()) for p in params]
    # built with another learning rate: load_state_dict must restore the saved one
    opt2 = getattr(optim, name)(fresh, **{**kwargs, "lr": 123.0})
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == kwargs["lr"]
    train(opt2, fresh, gn_loss, X, Y, batches[25:])
    for k, a, b in zip(NAMES, fresh, straight):
        assert np.array_equal(a.data, b.data), k


def test_state_dict_structure():
    """PyTorch's layout: state by parameter index, groups with hyperparameters and indices."""
    a, b, c = (Parameter(np.ones(s)) for s in [(2, 3), (3,), (4,)])
    opt = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], amsgrad=True)
    for p in (a, c):
        p.grad = gn.tensor(np.full(p.shape, 0.5))
    opt.step()
    sd = opt.state_dict()
    assert_plain(sd)
    assert set(sd) == {"state", "param_groups"}
    assert sorted(sd["state"]) == [0, 2]  # b had no gradient, so no state
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert sd["state"][0]["step"] == 1 and type(sd["state"][0]["step"]) is int
    assert sd["state"][2]["exp_avg"].shape == (4,)
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][0]["betas"] == [0.9, 0.999]
    assert sd["param_groups"][1]["lr"] == 0.5
    assert sd["param_groups"][0]["lr"] == 1e-3
    # the arrays are copies: stepping on does not change a saved state
    before = sd["state"][0]["exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], before)


@pytest.mark.parametrize(("name", "kwargs"), [*CONFIGS, ("GD", {"lr": 0.3, "weight_decay": 0.1})],
                         ids=[*IDS, "GD"])
def test_group_hyperparameters_are_constructor_arguments(name, kwargs):
    """A checkpoint can rebuild the optimizer as cls(params, **group) before loading it."""
    p = Parameter(np.ones(2))
    cls = getattr(optim, name)
    group = cls([p], **kwargs).state_dict()["param_groups"][0]
    rebuilt = cls([p], **{k: v for k, v in group.items() if k != "params"})
    assert rebuilt.state_dict()["param_groups"][0] == group


def test_state_dict_names_params_when_given_names():
    w, v = Parameter(np.ones(2)), Parameter(np.ones(3))
    opt = optim.SGD([("w", w), ("v", v)], lr=0.1)
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "v"]
    assert opt.param_groups[0]["params"] == [w, v]


def test_load_state_dict_casts_to_param_dtype():
    p = Parameter(np.ones(3, dtype=np.float32))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    sd = optim.SGD([Parameter(np.ones(3))], lr=0.2, momentum=0.9).state_dict()
    sd["state"] = {"0": {"momentum_buffer": np.arange(3.0)}}  # float64, str key (JSON)
    opt.load_state_dict(sd)
    buf = opt.state[p]["momentum_buffer"]
    assert buf.dtype == np.float32
    np.testing.assert_array_equal(buf, [0.0, 1.0, 2.0])
    assert opt.param_groups[0]["lr"] == 0.2


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda sd: sd["param_groups"].append(dict(sd["param_groups"][0])), "2 parameter groups"),
        (lambda sd: sd["param_groups"][0]["params"].pop(), "has 1 parameters"),
        (lambda sd: sd["state"][0].update(exp_avg=np.zeros(5)), r"shape \(5,\)"),
        (lambda sd: sd["state"].update({7: {"step": 1}}), "parameter 7"),
        (lambda sd: sd["param_groups"][0].pop("betas"), "betas"),
        (lambda sd: sd["param_groups"][0].update(lr=-1.0), "-1.0"),
        (lambda sd: sd.pop("state"), "'state'"),
    ],
)
def test_load_state_dict_rejects_bad_input(mutate, match):
    ps = [Parameter(np.ones(3)), Parameter(np.ones(2))]
    opt = optim.Adam(ps, lr=0.1)
    for p in ps:
        p.grad = gn.tensor(np.ones(p.shape))
    opt.step()
    sd = opt.state_dict()
    mutate(sd)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(sd)
    # nothing changed
    assert opt.param_groups[0]["lr"] == 0.1
    np.testing.assert_array_equal(opt.state[ps[0]]["exp_avg"], before["state"][0]["exp_avg"])


def test_load_state_dict_from_another_optimizer_is_refused():
    p = Parameter(np.ones(3))
    sd = optim.Adam([p]).state_dict()
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD([p], lr=0.1).load_state_dict(sd)


# ---------------------------------------------------------------------------- the lecture
@pytest.mark.parametrize("x0", [0.0, -3.0, 10.0])
def test_gd_minimizes_the_lecture_parabola(x0):
    """f(x) = x^2 - 4x + 3, f'(x) = 2x - 4: gradient descent reaches x = 2."""
    x = Parameter(np.array(x0))
    opt = optim.GD([x], lr=0.1)
    for _ in range(200):
        opt.zero_grad()
        (x * x - 4 * x + 3).backward()
        opt.step()
    assert abs(float(x.data) - 2.0) < 1e-9


def test_gd_step_is_the_lecture_update():
    """One step is exactly x - alpha * f'(x)."""
    x = Parameter(np.array(5.0))
    opt = optim.GD([x], lr=0.25)
    (x * x - 4 * x + 3).backward()
    opt.step()
    assert float(x.data) == 5.0 - 0.25 * (2 * 5.0 - 4)


def test_gd_fits_the_lecture_line():
    """y = w x + b through x = (2, 4, 6, 8), y = (3, 4, 5, 6): w = 0.5, b = 2.0."""
    x = gn.tensor(np.array([2.0, 4.0, 6.0, 8.0]))
    y = gn.tensor(np.array([3.0, 4.0, 5.0, 6.0]))
    w, b = Parameter(np.array(0.0)), Parameter(np.array(0.0))
    opt = optim.GD([w, b], lr=0.03)
    for _ in range(3000):
        opt.zero_grad()
        ((w * x + b - y) ** 2).mean().backward()
        opt.step()
    assert abs(float(w.data) - 0.5) < 1e-8
    assert abs(float(b.data) - 2.0) < 1e-8


def test_gd_is_sgd_without_momentum(problem):
    X, Y, init, batches = problem
    trajs = []
    for cls in (optim.GD, optim.SGD):
        params = gn_params(init)
        trajs.append(train(cls(params, lr=0.1), params, gn_loss, X, Y, batches[:10]))
    for a, b in zip(trajs[0][-1], trajs[1][-1]):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------- pure functions
def naive_adam(p, g, m, v, t, lr, b1, b2, eps, wd):
    """Textbook Adam with L2 decay, elementwise in Python, as an oracle."""
    p, m, v = p.copy(), m.copy(), v.copy()
    for i in range(p.size):
        gi = g.flat[i] + wd * p.flat[i]
        m.flat[i] = b1 * m.flat[i] + (1 - b1) * gi
        v.flat[i] = b2 * v.flat[i] + (1 - b2) * gi * gi
        mhat = m.flat[i] / (1 - b1**t)
        vhat = v.flat[i] / (1 - b2**t)
        p.flat[i] -= lr * mhat / (math.sqrt(vhat) + eps)
    return p, m, v


def test_adam_update_matches_the_textbook_formula(rng):
    p, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    m, v = rng.normal(size=(3, 4)), rng.random(size=(3, 4))
    want = naive_adam(p, g, m, v, 3, 0.01, 0.9, 0.999, 1e-8, 0.1)
    g.flags.writeable = False  # the update must not write to the gradient
    optim.adam_update(p, g, m, v, step=3, lr=0.01, weight_decay=0.1)
    for got, exp in zip((p, m, v), want):
        np.testing.assert_allclose(got, exp, rtol=1e-12, atol=1e-14)


def test_sgd_update_returns_the_buffer_and_never_writes_the_grad(rng):
    p, g = rng.normal(size=5), rng.normal(size=5)
    g.flags.writeable = False
    p0 = p.copy()
    buf = optim.sgd_update(p, g, None, lr=0.1, momentum=0.9, weight_decay=0.01)
    np.testing.assert_allclose(buf, g + 0.01 * p0, rtol=1e-15)
    np.testing.assert_allclose(p, p0 - 0.1 * (g + 0.01 * p0), rtol=1e-15)
    assert optim.sgd_update(p, g, None, lr=0.1) is None


@pytest.mark.parametrize(
    "update",
    [
        lambda p, g: optim.sgd_update(p, g, np.ones_like(p), lr=0.1, momentum=0.9,
                                      nesterov=True, weight_decay=0.1, maximize=True),
        lambda p, g: optim.sgd_update(p, g, np.ones_like(p), lr=0.1, momentum=0.9,
                                      dampening=0.2, weight_decay=0.1),
        lambda p, g: optim.adagrad_update(p, g, np.ones_like(p), step=2, lr=0.1,
                                          weight_decay=0.1, maximize=True),
        lambda p, g: optim.rmsprop_update(p, g, np.ones_like(p), np.zeros_like(p),
                                          np.zeros_like(p), lr=0.1, centered=True,
                                          momentum=0.9, weight_decay=0.1, maximize=True),
        lambda p, g: optim.adam_update(p, g, np.zeros_like(p), np.ones_like(p),
                                       np.ones_like(p), step=2, lr=0.1, amsgrad=True,
                                       weight_decay=0.1, maximize=True),
        lambda p, g: optim.adam_update(p, g, np.zeros_like(p), np.ones_like(p), step=2,
                                       lr=0.1, weight_decay=0.1,
                                       decoupled_weight_decay=True),
    ],
)
def test_updates_read_the_gradient_only(update, rng):
    p, g = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    g0 = g.copy()
    g.flags.writeable = False
    p0 = p.copy()
    update(p, g)
    np.testing.assert_array_equal(g, g0)
    assert not np.array_equal(p, p0)


@pytest.mark.parametrize(("name", "kwargs"), [*CONFIGS, ("GD", {"lr": 0.1})], ids=[*IDS, "GD"])
def test_blockwise_update_is_bitwise_the_whole_update(name, kwargs, rng):
    """Large parameters are updated in cache-sized blocks; the result must not change."""
    shapes = [(37, 11), (5,), (11, 37)]
    values = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(size=s) for s in shapes] for _ in range(4)]
    results = []
    for block_bytes, order in ((1 << 30, "C"), (8 * 50, "C"), (8 * 50, "F")):
        params = [Parameter(np.array(v, order=order)) for v in values]
        opt = getattr(optim, name)(params, **kwargs)
        opt._block_bytes = block_bytes  # 50 float64 entries: many blocks, a ragged last one
        for gs in grads:
            for p, g in zip(params, gs):
                p.grad = gn.tensor(g.copy())
            opt.step()
        results.append([p.data for p in params])
    for got in results[1:]:
        for a, b in zip(got, results[0]):
            assert np.array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("block_bytes", [1 << 30, 4 * 50])
def test_sgd_momentum_step_is_bitwise_sgd_update(dtype, block_bytes, rng):
    """SGD's written-out momentum step (the common case) against the reference function."""
    shapes = [(37, 11), (5,), (3, 4, 5)]
    values = [rng.normal(size=s).astype(dtype) for s in shapes]
    grads = [[rng.normal(size=s).astype(dtype) for s in shapes] for _ in range(4)]
    params = [Parameter(v.copy()) for v in values]
    opt = optim.SGD(params, lr=0.07, momentum=0.9)
    opt._block_bytes = block_bytes
    ref = [v.copy() for v in values]
    bufs: list = [None] * len(shapes)
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = gn.tensor(g.copy())
        opt.step()
        for i, g in enumerate(gs):
            bufs[i] = optim.sgd_update(ref[i], g, bufs[i], lr=0.07, momentum=0.9)
    for p, r, b in zip(params, ref, bufs):
        assert p.data.dtype == dtype
        assert np.array_equal(p.data, r)
        assert np.array_equal(opt.state[p]["momentum_buffer"], b)


def test_float32_parameters_stay_float32(problem):
    X, Y, init, batches = problem
    params = [Parameter(init[k].astype(np.float32)) for k in NAMES]
    opt = optim.Adam(params, lr=0.02, amsgrad=True)
    train(opt, params, lambda ps, x, y: gn_loss(ps, x.astype(np.float32), y.astype(np.float32)),
          X, Y, batches[:5])
    _, ref, _ = run_gn("Adam", {"lr": 0.02, "amsgrad": True}, (X, Y, init, batches[:5]))
    for p, r in zip(params, ref):
        assert p.data.dtype == np.float32
        assert all(a.dtype == np.float32 for a in opt.state[p].values() if hasattr(a, "dtype"))
        np.testing.assert_allclose(p.data, r.data, rtol=0, atol=1e-4)


# ---------------------------------------------------------------------------- behaviour
class ClipTo:
    """A tiny constraint: clip every parameter to [-c, c], recording what it saw."""

    def __init__(self, c):
        self.c = c
        self.seen = []

    def apply(self, params):
        self.seen.append([p.data.copy() for p in params])
        assert not gn.is_grad_enabled()
        for p in params:
            np.clip(p.data, -self.c, self.c, out=p.data)


def test_constraints_run_after_every_step():
    a, b = Parameter(np.array([0.5, -0.5])), Parameter(np.array([0.0]))
    clip = ClipTo(0.6)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.3, constraints=[clip])
    for step in range(3):
        a.grad = gn.tensor(np.array([-1.0, 1.0]))
        b.grad = gn.tensor(np.array([2.0]))
        opt.step()
        assert len(clip.seen) == step + 1
    # it saw both groups' parameters after the update, before clipping
    np.testing.assert_allclose(clip.seen[0][0], [0.8, -0.8])
    np.testing.assert_allclose(clip.seen[0][1], [-2.0])
    np.testing.assert_allclose(a.data, [0.6, -0.6])
    np.testing.assert_allclose(b.data, [-0.6])


def test_constraints_in_order():
    p = Parameter(np.array([3.0]))
    calls = []

    class Tag:
        def __init__(self, name):
            self.name = name

        def apply(self, params):
            calls.append(self.name)

    opt = optim.Adam([p], constraints=[Tag("first"), Tag("second")])
    p.grad = gn.tensor(np.array([1.0]))
    opt.step()
    assert calls == ["first", "second"]


def test_max_norm_constraint_from_regularizers(rng):
    regularizers = pytest.importorskip("glassnet.regularizers")
    if not hasattr(regularizers, "MaxNorm"):
        pytest.skip("glassnet.regularizers.MaxNorm not written yet")
    W = Parameter(3.0 * rng.normal(size=(4, 3)))
    opt = optim.SGD([W], lr=0.1, constraints=[regularizers.MaxNorm(1.0)])
    W.grad = gn.tensor(rng.normal(size=(4, 3)))
    expected = W.data - 0.1 * W.grad.data
    opt.step()
    norms = np.linalg.norm(W.data, axis=1)
    assert np.all(norms <= 1.0 + 1e-12)
    # projection keeps each row's direction
    unit = expected / np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(W.data / norms[:, None], unit, rtol=1e-12)


def test_weight_decay_is_twice_the_lecture_l2(problem):
    """SGD(weight_decay=2*lam) on L equals SGD on L + L2(lam) (the lecture's lam*sum W^2)."""
    regularizers = pytest.importorskip("glassnet.regularizers")
    X, Y, init, batches = problem
    lam = 0.05
    weights = [0, 2]  # W1, W2: decay only the matrices, as L2 does by default
    trajs = []
    for use_penalty in (False, True):
        params = gn_params(init)
        if use_penalty:
            opt = optim.SGD(params, lr=0.05, momentum=0.9)
            penalty = regularizers.L2(lam)

            def loss_fn(ps, x, y, penalty=penalty):
                return gn_loss(ps, x, y) + penalty(ps)
        else:
            opt = optim.SGD([{"params": [params[i] for i in weights], "weight_decay": 2 * lam},
                             {"params": [params[1], params[3]]}], lr=0.05, momentum=0.9)
            loss_fn = gn_loss
        trajs.append(train(opt, params, loss_fn, X, Y, batches))
    for a, b in zip(trajs[0][-1], trajs[1][-1]):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    # and the decay mattered
    plain = train(optim.SGD(ps := gn_params(init), lr=0.05, momentum=0.9), ps, gn_loss, X, Y,
                  batches)
    assert np.abs(plain[-1][0] - trajs[0][-1][0]).max() > 1e-3


def test_adamw_decay_is_decoupled():
    """With a zero gradient Adam's coupled decay is normalized by sqrt(v) while AdamW
    shrinks the weight by exactly (1 - lr * weight_decay) per step."""
    w0 = np.array([2.0, -4.0])
    results = {}
    for cls in (optim.Adam, optim.AdamW):
        w = Parameter(w0.copy())
        opt = cls([w], lr=0.1, weight_decay=0.5)
        w.grad = gn.tensor(np.zeros(2))
        opt.step()
        results[cls.__name__] = w.data.copy()
    np.testing.assert_allclose(results["AdamW"], w0 * (1 - 0.1 * 0.5), rtol=1e-15)
    # Adam: g = 0.5 * w, first step moves each coordinate by lr * sign(g) (up to eps)
    np.testing.assert_allclose(results["Adam"], w0 - 0.1 * np.sign(w0), rtol=1e-7)


def test_zero_grad_sets_none_or_fresh_zeros():
    a, b = Parameter(np.ones(3)), Parameter(np.ones(2))
    opt = optim.SGD([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.zero_grad()
    assert a.grad is None and b.grad is None
    (a * a).sum().backward()
    old = a.grad.data
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.data, np.zeros(3))
    np.testing.assert_array_equal(old, [2.0, 2.0, 2.0])  # the old array was not overwritten
    assert b.grad is None  # never had a gradient


def test_zero_gradient_still_moves_momentum():
    p = Parameter(np.array([1.0]))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = gn.tensor(np.array([1.0]))
    opt.step()
    opt.zero_grad(set_to_none=False)
    opt.step()
    assert float(p.data[0]) == pytest.approx(1.0 - 0.1 - 0.09)


def test_step_with_closure_returns_the_loss():
    p = Parameter(np.array([2.0]))
    opt = optim.SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with gn.no_grad():  # the closure records its graph anyway
        loss = opt.step(closure)
    assert float(loss.data) == 4.0
    assert float(p.data[0]) == pytest.approx(2.0 - 0.1 * 4.0)


def test_grad_shape_mismatch_is_a_clear_error():
    p = Parameter(np.ones(3))
    opt = optim.SGD([p], lr=0.1)
    p.grad = gn.tensor(np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"\(2, 2\).*\(3,\)"):
        opt.step()


def test_repr_lists_groups():
    opt = optim.Adam([Parameter(np.ones(1))], lr=0.5)
    text = repr(opt)
    assert text.startswith("Adam (") and "Parameter Group 0" in text and "lr: 0.5" in text


def test_aliases():
    assert optim.Adagrad is optim.AdaGrad and optim.RMSprop is optim.RMSProp


# ---------------------------------------------------------------------------- validation
def _p():
    return Parameter(np.ones(2))


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: optim.SGD([_p()], lr=-0.1), ValueError, r"lr.*-0\.1"),
        (lambda: optim.SGD([_p()], lr=float("nan")), ValueError, "nan"),
        (lambda: optim.SGD([_p()], lr="0.1"), TypeError, "'0.1'"),
        (lambda: optim.SGD([_p()], lr=True), TypeError, "True"),
        (lambda: optim.SGD([_p()], momentum=-0.5), ValueError, r"momentum.*-0\.5"),
        (lambda: optim.SGD([_p()], weight_decay=-1), ValueError, "weight_decay.*-1"),
        (lambda: optim.SGD([_p()], momentum=0.9, dampening=0.1, nesterov=True), ValueError,
         "dampening"),
        (lambda: optim.SGD([_p()], nesterov=True), ValueError, "Nesterov"),
        (lambda: optim.SGD([_p()], nesterov=1), TypeError, "nesterov"),
        (lambda: optim.GD([_p()], lr=-1.0), ValueError, r"-1\.0"),
        (lambda: optim.GD([{"params": [_p()], "momentum": 0.9}], lr=0.1), ValueError,
         "momentum"),
        (lambda: optim.Adagrad([_p()], lr_decay=-1e-3), ValueError, "lr_decay"),
        (lambda: optim.Adagrad([_p()], initial_accumulator_value=-1), ValueError,
         "initial_accumulator_value"),
        (lambda: optim.Adagrad([_p()], eps=-1e-10), ValueError, "eps"),
        (lambda: optim.RMSprop([_p()], alpha=-0.9), ValueError, "alpha"),
        (lambda: optim.RMSprop([_p()], momentum=-1), ValueError, "momentum"),
        (lambda: optim.RMSprop([_p()], centered="yes"), TypeError, "centered"),
        (lambda: optim.Adam([_p()], betas=(1.0, 0.999)), ValueError, r"betas\[0\].*1\.0"),
        (lambda: optim.Adam([_p()], betas=(0.9, -0.1)), ValueError, r"betas\[1\].*-0\.1"),
        (lambda: optim.Adam([_p()], betas=0.9), TypeError, "betas"),
        (lambda: optim.Adam([_p()], eps=-1e-8), ValueError, "eps"),
        (lambda: optim.AdamW([_p()], weight_decay=-0.01), ValueError, "weight_decay"),
        (lambda: optim.Adam([{"params": [_p()]}, {"params": [_p()], "lr": -2.0}]), ValueError,
         r"param_groups\[1\].*-2\.0"),
        (lambda: optim.SGD([], lr=0.1), ValueError, "empty parameter list"),
        (lambda: optim.SGD([{"params": []}], lr=0.1), ValueError, "empty"),
        (lambda: optim.SGD(_p(), lr=0.1), TypeError, "single Tensor"),
        (lambda: optim.SGD({_p()}, lr=0.1), TypeError, "set"),
        (lambda: optim.SGD([{"params": {_p()}}], lr=0.1), TypeError, "set"),
        (lambda: optim.SGD([np.ones(2)], lr=0.1), TypeError, "ndarray"),
        (lambda: optim.SGD(5, lr=0.1), TypeError, "int"),
        (lambda: optim.SGD([_p() * 2], lr=0.1), ValueError, "leaf"),
        (lambda: optim.SGD([gn.tensor(np.arange(3))], lr=0.1), TypeError, "int64"),
        (lambda: optim.SGD([{"lr": 0.1}], lr=0.1), ValueError, "'params'"),
        (lambda: optim.SGD([("w", _p()), _p()], lr=0.1), ValueError, "names"),
        (lambda: optim.SGD([_p()], lr=0.1, constraints=[object()]), TypeError, "apply"),
    ],
)
def test_invalid_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_a_parameter_in_two_places_is_refused():
    p = _p()
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p], lr=0.1)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="another group"):
        opt.add_param_group({"params": [p]})
    with pytest.raises(TypeError, match="dict"):
        opt.add_param_group([p])


# ------------------------------------------------------------- subnormal state entries
def _subnormal(a: np.ndarray) -> np.ndarray:
    return (a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)


def test_flush_sets_only_subnormal_state_entries_to_signed_zero():
    W = gn.Tensor(np.zeros(10, dtype=np.float32), requires_grad=True)
    opt = optim.SGD([W], lr=0.1, momentum=0.9)
    tiny = np.finfo(np.float32).tiny
    smallest = np.float32(np.nextafter(np.float32(0), np.float32(1)))
    values = [0.0, -0.0, tiny, tiny / 2, -tiny / 4, 1.0, np.nan, np.inf, -np.inf, smallest]
    buf = np.array(values, dtype=np.float32)
    opt.state[W] = {"momentum_buffer": buf, "step": 3}
    opt._flush_subnormal_state()
    expected = np.array([0.0, -0.0, tiny, 0.0, -0.0, 1.0, np.nan, np.inf, -np.inf, 0.0],
                        dtype=np.float32)
    np.testing.assert_array_equal(buf, expected)  # NaN where NaN was
    np.testing.assert_array_equal(np.signbit(buf), np.signbit(expected))
    assert opt.state[W]["momentum_buffer"] is buf and opt.state[W]["step"] == 3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("SGD", {"lr": 0.1, "momentum": 0.9}),
        ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4}),
        ("Adam", {"lr": 0.01}),
        ("RMSprop", {"lr": 0.01, "momentum": 0.5}),
        ("Adagrad", {"lr": 0.1}),
    ],
)
def test_flushing_subnormal_state_leaves_the_parameters_unchanged(dtype, name, kwargs):
    """Entries whose gradient stops (a dead pixel's weights) decay through the subnormal
    range; flushing them to zero every 16 steps gives bitwise the same parameters."""
    rng = np.random.default_rng(0)
    n = 64
    scale = float(np.finfo(dtype).tiny) * 1e8  # the decaying entries' first gradient
    grads = []
    for step in range(300):
        g = rng.normal(size=n).astype(dtype)
        g[n // 2 :] = scale * (step == 0)  # one tiny gradient, then zeros
        grads.append(g)
    finals, states = [], []
    for flush_every in (16, 0):
        W = gn.Tensor(rng.normal(size=n).astype(dtype) * 0 + 0.5, requires_grad=True)
        opt = getattr(optim, name)([W], **kwargs)
        opt._flush_every = flush_every
        for g in grads:
            W.grad = gn.Tensor(g.copy())
            opt.step()
        finals.append(W.data.copy())
        states.append({k: v.copy() for k, v in opt.state[W].items()
                       if isinstance(v, np.ndarray) and v.dtype.kind == "f"})
    np.testing.assert_array_equal(finals[0], finals[1])
    assert not any(_subnormal(v).any() for v in states[0].values())
    if kwargs == {"lr": 0.1, "momentum": 0.9}:  # without the flush: subnormal entries
        assert any(_subnormal(v).any() for v in states[1].values())
