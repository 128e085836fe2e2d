"""glassnet.compile: a recorded training step replayed on arrays equals the eager step.

Every equality below is bitwise (``np.array_equal`` on the float32 parameters) over
several epochs, against the eager step run from the same initial weights, batches and
generator states. The data are a Fashion-MNIST subset when the files are installed
(/usr/share/datasets/fashion-mnist), else synthetic images of the same shape.
"""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet.autograd.tape import TraceError
from glassnet.regularizers import L1, L2, MaxNorm
from glassnet.training import TrainingDivergedError

N_TRAIN, BATCH, EPOCHS = 300, 64, 3  # 4 full batches and a short one (44) per epoch


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    try:
        X, y = gn.data.load_fashion_mnist("train", download=False)
        X, y = X[:N_TRAIN], y[:N_TRAIN]
    except Exception:  # no data files: synthetic images, same shapes and dtypes
        r = np.random.default_rng(0)
        X = r.integers(0, 256, size=(N_TRAIN, 28, 28)).astype(np.uint8)
        y = r.integers(0, 10, size=N_TRAIN)
    X = (X.reshape(len(X), -1) / np.float32(255)).astype(np.float32)
    return X, y.astype(np.int64)


MODELS = {
    "linear": (784, 10),
    "mlp256": (784, 256, 10),
    "mlp512": (784, 512, 256, 10),
}
OPTIMIZERS = {
    "sgd-momentum": lambda p: gn.optim.SGD(p, lr=0.05, momentum=0.9),
    "sgd-nesterov": lambda p: gn.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True,
                                           weight_decay=1e-4),
    "sgd-decay": lambda p: gn.optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.1,
                                        weight_decay=5e-4),
    "adam": lambda p: gn.optim.Adam(p, lr=1e-3, weight_decay=1e-4),
    "adamw": lambda p: gn.optim.AdamW(p, lr=1e-3),
}
EXTRAS = ("plain", "dropout", "batch-norm", "l2", "l1")


def build(model: str, extra: str, opt: str, seed: int = 0) -> tuple:
    sizes = MODELS[model]
    gn.manual_seed(seed)  # the initial weights and the dropout masks
    if len(sizes) == 2:
        net = gn.models.LinearClassifier(*sizes)
    else:
        net = gn.nn.MLP(sizes[0], list(sizes[1:-1]), sizes[-1],
                        dropout=0.3 if extra == "dropout" else 0.0,
                        batch_norm=extra == "batch-norm")
    reg = {"l2": L2(1e-3), "l1": L1(1e-4)}.get(extra)
    return net, OPTIMIZERS[opt](net.parameters()), reg


def make_step(net, optimizer, reg=None):
    params = list(net.parameters())

    def step(x, y):
        loss = gn.losses.softmax_log_likelihood(net(gn.Tensor(x)), y)
        if reg is not None:
            loss = loss + reg(params)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def run(step, X, y, epochs=EPOCHS, seed=7, batch=BATCH):
    order_rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        order = order_rng.permutation(len(X))
        for first in range(0, len(X), batch):
            idx = order[first : first + batch]
            losses.append(step(X[idx], y[idx]).data.copy())
    return losses


def state(net) -> list[np.ndarray]:
    return [v.copy() for v in net.state_dict().values()]


def assert_bitwise(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for k, (u, v) in enumerate(zip(a, b)):
        assert u.dtype == v.dtype and u.shape == v.shape, k
        assert np.array_equal(u, v), f"entry {k} differs by up to {np.abs(u - v).max()}"


def eager_and_compiled(model, extra, opt, X, y, kernels="numpy", **kw):
    out = []
    for compiled in (False, True):
        net, optimizer, reg = build(model, extra, opt)
        step = make_step(net, optimizer, reg)
        if compiled:
            step = gn.compile(step, kernels=kernels)
        losses = run(step, X, y, **kw)
        out.append((net, optimizer, step, losses))
    return out


CASES = [(m, e, o) for m in MODELS for e in EXTRAS for o in OPTIMIZERS
         if not (m == "linear" and e in ("dropout", "batch-norm"))]


@pytest.mark.parametrize(("model", "extra", "opt"), CASES)
def test_compiled_step_equals_eager_bitwise(data, model, extra, opt):
    X, y = data
    (net_e, opt_e, _, loss_e), (net_c, opt_c, step, loss_c) = eager_and_compiled(
        model, extra, opt, X, y)
    assert_bitwise(state(net_e), state(net_c))
    assert_bitwise(loss_e, loss_c)
    se, sc = opt_e.state_dict()["state"], opt_c.state_dict()["state"]
    for k in se:
        for name, v in se[k].items():
            if isinstance(v, np.ndarray):
                assert np.array_equal(v, sc[k][name])
            else:
                assert v == sc[k][name]
    # the first full batch and the short last one are traced, everything else replayed
    assert step.traces == 2
    assert step.replays == EPOCHS * 5 - 2


# The fused numba kernels do the NumPy code's float operations in the same order, with
# fastmath off: measured equal bit for bit (0 ulp) in every case below, which is what is
# asserted. Only the SGD-momentum and Adam/AdamW updates have kernels; the layers' kernels
# (bias + ReLU, the ReLU mask, the softmax-loss gradient) run in the MLP cases.
NUMBA_CASES = [(m, e, o) for m in MODELS for e in ("plain", "dropout", "batch-norm", "l2")
               for o in ("sgd-momentum", "adam", "adamw")
               if not (m == "linear" and e in ("dropout", "batch-norm"))]


@pytest.mark.parametrize(("model", "extra", "opt"), NUMBA_CASES)
def test_numba_kernels_equal_eager(data, model, extra, opt):
    pytest.importorskip("numba")
    X, y = data
    (net_e, _, _, loss_e), (net_c, _, step, loss_c) = eager_and_compiled(
        model, extra, opt, X, y, kernels="numba", epochs=2)
    kinds = {type(f).__name__ for rec in step._recordings.values() for f, _, _ in rec.program}
    assert "_KernelStep" in kinds and "_SoftmaxMeanBackward" in kinds
    if model != "linear" and extra != "batch-norm":  # (batch norm sits between the two)
        assert {"_LinearReluForward", "_LinearReluBackward"} <= kinds
    assert_bitwise(state(net_e), state(net_c))
    assert_bitwise(loss_e, loss_c)


def test_kernels_option(monkeypatch):
    from glassnet.ops import kernels

    with pytest.raises(ValueError, match="kernels must be"):
        gn.compile(lambda: None, kernels="fast")
    monkeypatch.setattr(kernels, "available", lambda: False)
    assert gn.compile(lambda: None, kernels="auto").kernels is None  # the NumPy fallback
    modules = __import__("sys").modules
    monkeypatch.setitem(modules, "numba", None)  # numba not installed
    monkeypatch.setitem(modules, "glassnet.ops._numba_kernels", None)
    monkeypatch.delattr(gn.ops, "_numba_kernels", raising=False)  # imported earlier
    monkeypatch.setattr(kernels, "_loaded", {})
    with pytest.raises(ImportError, match=r"glassnet\[fast\]"):
        gn.compile(lambda: None, kernels="numba")


def test_dropout_draws_follow_the_default_generator(data):
    """After the compiled epochs the default generator is where the eager one is."""
    X, y = data
    states = []
    for compiled in (False, True):
        net, optimizer, _ = build("mlp256", "dropout", "sgd-momentum")
        step = make_step(net, optimizer)
        run(gn.compile(step) if compiled else step, X, y, epochs=2)
        states.append(gn.random.default_generator().bit_generator.state)
    assert states[0] == states[1]


def test_own_generator_dropout_and_stochastic_depth_rows(data):
    X, y = data

    def net_for():
        gn.manual_seed(3)
        return gn.nn.Sequential(
            gn.nn.Linear(784, 64), gn.nn.ReLU(), gn.nn.Dropout(0.2, generator=11),
            gn.nn.Residual(gn.nn.Sequential(gn.nn.Linear(64, 64), gn.nn.Tanh()),
                           p_drop=0.3, mode="row", generator=np.random.default_rng(5)),
            gn.nn.Linear(64, 10))

    results = []
    for compiled in (False, True):
        net = net_for()
        optimizer = gn.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        step = make_step(net, optimizer)
        run(gn.compile(step) if compiled else step, X, y, epochs=2)
        results.append(state(net))
    assert_bitwise(*results)


def test_max_norm_constraint_and_eval_mode(data):
    X, y = data
    results = []
    for compiled in (False, True):
        net, _, _ = build("mlp256", "batch-norm", "adam")
        optimizer = gn.optim.SGD(net.parameters(), lr=0.1, momentum=0.9,
                                 constraints=[MaxNorm(0.5)])
        step = make_step(net, optimizer)
        step = gn.compile(step) if compiled else step
        run(step, X, y, epochs=1)
        net.eval()  # batch norm on its running statistics: a recording of its own
        run(step, X, y, epochs=1)
        results.append(state(net))
    assert_bitwise(*results)


# ------------------------------------------------------------------------------ guards


def guarded(data, changes):
    """Run eager and compiled side by side through ``changes`` (functions of net and
    optimizer applied between epochs); return both states and the compiled step."""
    X, y = data
    results, steps = [], []
    for compiled in (False, True):
        net, optimizer, _ = build("mlp256", "dropout", "sgd-momentum")
        step = make_step(net, optimizer)
        step = gn.compile(step) if compiled else step
        run(step, X, y, epochs=1)
        for change in changes:
            change(net, optimizer)
            run(step, X, y, epochs=1)
        results.append(state(net))
        steps.append(step)
    assert_bitwise(*results)
    return steps[1]


def test_guard_learning_rate_and_momentum(data):
    def lr(_, opt):
        opt.param_groups[0]["lr"] = 0.01

    def momentum(_, opt):
        opt.param_groups[0]["momentum"] = 0.5

    step = guarded(data, [lr, momentum])
    assert step.traces == 6  # two shapes, three settings


def test_guard_train_eval_mode(data):
    def to_eval(net, _):
        net.eval()

    def to_train(net, _):
        net.train()

    step = guarded(data, [to_eval, to_train])
    assert step.traces == 4  # train (2 shapes), eval (2 shapes); train again replays


def test_guard_model_structure(data):
    def new_p(net, _):
        for m in net.modules():
            if isinstance(m, gn.nn.Dropout):
                m.p = 0.6

    def new_layer(net, opt):  # a new output layer, also given to the optimizer
        gn.manual_seed(9)
        last = gn.nn.Linear(256, 10)
        net[len(net) - 1] = last
        opt.add_param_group({"params": list(last.parameters())})

    step = guarded(data, [new_p, new_layer])
    assert step.traces == 6


def test_guard_replaced_parameter_array(data):
    def replace(net, _):
        for p in net.parameters():
            p.data = p.data.copy()  # same values, a new array the old recording never saw

    step = guarded(data, [replace])
    assert step.traces == 4


def test_guard_shape_and_dtype(data):
    X, y = data
    net, optimizer, _ = build("linear", "plain", "sgd-momentum")
    step = gn.compile(make_step(net, optimizer))
    step(X[:64], y[:64])
    step(X[64:128], y[64:128])
    assert (step.traces, step.replays) == (1, 1)
    step(X[:32], y[:32])
    step(X[:64].astype(np.float64), y[:64])  # float64 batch: promoted products
    step(X[:64], y[:64].astype(np.int32))
    assert (step.traces, step.replays) == (4, 1)


def test_scheduler_changes_lr_each_epoch(data, tmp_path):
    X, y = data
    results = []
    for compiled in (False, True):
        net, optimizer, _ = build("mlp256", "plain", "sgd-momentum")
        sched = gn.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        h = gn.fit(net, gn.losses.softmax_log_likelihood, optimizer, (X, y), epochs=3,
                   batch_size=BATCH, scheduler=sched, rng=1, verbose=0, compile=compiled)
        results.append((state(net), h.train_loss, h.train_accuracy))
    assert_bitwise(results[0][0], results[1][0])
    assert results[0][1:] == results[1][1:]


# ------------------------------------------------------------------------------ fit


@pytest.mark.parametrize("extra", ["dropout", "batch-norm", "l2"])
def test_fit_compile_equals_fit(data, extra):
    X, y = data
    out = []
    for compiled in (False, True):
        net, optimizer, reg = build("mlp256", extra, "adam")
        h = gn.fit(net, gn.losses.softmax_log_likelihood, optimizer, (X, y),
                   val=(X[:100], y[:100]), epochs=3, batch_size=BATCH, regularizer=reg,
                   rng=2, verbose=0, compile=compiled)
        out.append((state(net), h.train_loss, h.train_accuracy, h.val_loss))
    assert_bitwise(out[0][0], out[1][0])
    assert out[0][1:] == out[1][1:]


def test_resume_continues_bit_for_bit(data, tmp_path):
    X, y = data

    def fit(epochs, folder, resume=False, compiled=True):
        net, optimizer, _ = build("mlp256", "dropout", "sgd-nesterov")
        gn.fit(net, gn.losses.softmax_log_likelihood, optimizer, (X, y), epochs=epochs,
               batch_size=BATCH, rng=4, verbose=0, checkpoint_dir=folder, resume=resume,
               compile=compiled)
        return net

    straight = fit(3, tmp_path / "eager", compiled=False)
    fit(2, tmp_path / "compiled")
    gn.manual_seed(123)  # resume must restore the dropout generator from the checkpoint
    resumed = fit(3, tmp_path / "compiled", resume=True)
    assert_bitwise(state(straight), state(resumed))


def test_nan_batch_is_caught_before_the_update(data):
    X, y = data
    X = X.copy()
    X[200, 5] = np.nan  # in the fourth batch
    net, optimizer, _ = build("mlp256", "batch-norm", "adam")
    step = gn.compile(make_step(net, optimizer), check_finite=True)
    for first in range(0, 192, BATCH):
        step(X[first : first + BATCH], y[first : first + BATCH])
    params = [p.data.copy() for p in net.parameters()]
    moments = [v.copy() for st in optimizer.state.values() for v in st.values()
               if isinstance(v, np.ndarray)]
    with pytest.raises(TrainingDivergedError, match="the loss is nan"):
        step(X[192:256], y[192:256])
    assert step.replays == 3  # the bad batch was a replay, and it stopped the update
    assert_bitwise(params, [p.data for p in net.parameters()])
    assert_bitwise(moments, [v for st in optimizer.state.values() for v in st.values()
                             if isinstance(v, np.ndarray)])


def test_bad_label_in_a_replayed_batch_raises(data):
    X, y = data
    net, optimizer, _ = build("linear", "plain", "sgd-momentum")
    step = gn.compile(make_step(net, optimizer))
    step(X[:64], y[:64])
    for bad in (10, -1):
        labels = y[64:128].copy()
        labels[7] = bad
        with pytest.raises(ValueError, match=f"label {bad} at index 7 is out of range"):
            step(X[64:128], labels)


def test_fit_compile_divergence_names_the_step(data):
    X, _ = data
    target = X[:256, :3].copy()
    target[130, 0] = np.nan  # targets are not checked up front: the loss of step 3 is NaN
    gn.manual_seed(0)
    net = gn.nn.Linear(784, 3)
    optimizer = gn.optim.SGD(net.parameters(), lr=0.01)
    before = state(net)
    with pytest.raises(TrainingDivergedError, match="epoch 1, step 3: the loss is nan"):
        gn.fit(net, gn.losses.l2, optimizer, (X[:256], target), batch_size=BATCH,
               shuffle=False, verbose=0, compile=True)
    assert not np.array_equal(before[0], state(net)[0])  # two steps were taken


# ------------------------------------------------------------------------------ refusals


def test_refuses_what_a_replay_cannot_repeat(data):
    X, y = data
    net, optimizer, _ = build("linear", "plain", "sgd-momentum")
    loss_fn = gn.losses.softmax_log_likelihood

    def returns_float(x, t):
        loss = loss_fn(net(gn.Tensor(x)), t)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    with pytest.raises(TraceError, match="returned float"):
        gn.compile(returns_float)(X[:64], y[:64])

    def converts_input(x, t):
        return loss_fn(net(gn.Tensor(x * 1.0)), t)  # a new array, made outside an op

    with pytest.raises(TraceError, match="batch argument 0"):
        gn.compile(converts_input)(X[:64], y[:64])

    def no_zero_grad(x, t):
        loss = loss_fn(net(gn.Tensor(x)), t)
        loss.backward()
        optimizer.step()
        return loss

    no_zero_grad(X[:64], y[:64])  # leaves gradients behind
    with pytest.raises(TraceError, match="zero_grad"):
        gn.compile(no_zero_grad)(X[:64], y[:64])

    with pytest.raises(TypeError, match="argument 1 is list"):
        gn.compile(no_zero_grad)(X[:64], [1, 2])
    with pytest.raises(ValueError, match="max_recordings"):
        gn.compile(no_zero_grad, max_recordings=0)


def test_refuses_random_program(data):
    X, y = data
    net = gn.nn.Sequential(gn.nn.Linear(784, 16),
                           gn.nn.Residual(gn.nn.Linear(16, 16), p_drop=0.5, mode="batch"),
                           gn.nn.Linear(16, 10))
    optimizer = gn.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(TraceError, match="mode 'batch'"):
        gn.compile(make_step(net, optimizer))(X[:64], y[:64])


def test_refuses_create_graph(data):
    X, y = data
    w = gn.tensor(np.ones(784, dtype=np.float32), requires_grad=True)

    def step(x):
        (gn.Tensor(x) @ w).sum().backward(create_graph=True)

    with pytest.raises(TraceError, match="create_graph"):
        gn.compile(step)(X[:8])


def test_cli_train_compile_equals_eager(tmp_path, capsys):
    from glassnet.cli import main

    common = ["train", "--dataset", "moons", "--dropout", "0.3", "--hidden", "16", "--quiet",
              "--seed", "4", "--epochs", "3"]
    assert main([*common, "--out", str(tmp_path / "eager")]) == 0
    assert main([*common, "--out", str(tmp_path / "compiled"), "--compile"]) == 0
    capsys.readouterr()
    a, b = gn.load(tmp_path / "eager" / "last.ckpt"), gn.load(tmp_path / "compiled" / "last.ckpt")
    assert a.state_dict.keys() == b.state_dict.keys()
    for k, v in a.state_dict.items():
        assert np.array_equal(v, b.state_dict[k]), k


def test_profile_lists_every_instruction(data):
    X, y = data
    net, optimizer, _ = build("mlp256", "plain", "sgd-momentum")
    step = gn.compile(make_step(net, optimizer))
    rows = step.profile(X[:64], y[:64], repeat=2)
    names = [name for name, _ in rows]
    assert names[0] == "LinearReluFn.forward" and names[-1] == "SGD.step"
    assert "SoftmaxLogLikelihood.backward" in names
    assert all(seconds >= 0 for _, seconds in rows)
    assert (step.traces, step.replays) == (1, 0)  # profile's replays are not counted
