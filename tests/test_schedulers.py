"""Learning-rate schedules: the same lr sequence as torch.optim.lr_scheduler, checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest

from glassnet import optim
from glassnet.nn.parameter import Parameter
from glassnet.optim import lr_scheduler

torch = pytest.importorskip("torch")

STEPS = 30
LRS = (0.1, 0.03)  # two parameter groups with different base learning rates


def gn_optimizer(cls=optim.SGD):
    return cls([{"params": [Parameter(np.ones(2))], "lr": LRS[0]},
                {"params": [Parameter(np.ones(3))], "lr": LRS[1]}], lr=1.0)


def torch_optimizer():
    return torch.optim.SGD([{"params": [torch.ones(2, requires_grad=True)], "lr": LRS[0]},
                            {"params": [torch.ones(3, requires_grad=True)], "lr": LRS[1]}],
                           lr=1.0)


# Each maker builds a scheduler from either library's lr_scheduler module (same names).
SCHEDULES = {
    "step": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "step-1": lambda m, o: m.StepLR(o, step_size=1, gamma=0.9),
    "multistep": lambda m, o: m.MultiStepLR(o, milestones=[3, 10, 10, 20], gamma=0.3),
    "exponential": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "cosine": lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
    "cosine-long": lambda m, o: m.CosineAnnealingLR(o, T_max=40),
    "linear-warmup": lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=8),
    "linear-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.25,
                                           total_iters=12),
    "warmup-cosine": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.01, total_iters=5),
            m.CosineAnnealingLR(o, T_max=25, eta_min=1e-4)], milestones=[5]),
    "three-phases": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.2, total_iters=4), m.ExponentialLR(o, gamma=0.8),
            m.StepLR(o, step_size=3, gamma=0.5)], milestones=[4, 12]),
}


def lr_sequence(sched, opt, steps):
    """The lrs at construction and after each step, read both ways."""
    seq = [sched.get_last_lr()]
    for _ in range(steps):
        opt.step()
        sched.step()
        seq.append(sched.get_last_lr())
        assert seq[-1] == [g["lr"] for g in opt.param_groups]
    return seq


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_lr_sequence_equals_torch(name):
    """30 steps give exactly (bit for bit) the learning rates torch computes."""
    gopt, topt = gn_optimizer(), torch_optimizer()
    gsched = SCHEDULES[name](lr_scheduler, gopt)
    tsched = SCHEDULES[name](torch.optim.lr_scheduler, topt)
    gseq = lr_sequence(gsched, gopt, STEPS)
    tseq = lr_sequence(tsched, topt, STEPS)
    assert gseq == tseq
    assert len({tuple(v) for v in gseq}) > 1  # the schedule did change the lr


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_state_dict_round_trip(name):
    """Save after 12 steps (through JSON), rebuild, load, 18 more == 30 straight steps."""
    opt = gn_optimizer()
    straight = lr_sequence(SCHEDULES[name](lr_scheduler, opt), opt, STEPS)

    opt = gn_optimizer()
    sched = SCHEDULES[name](lr_scheduler, opt)
    first = lr_sequence(sched, opt, 12)
    opt_state = opt.state_dict()
    sched_state = json.loads(json.dumps(sched.state_dict()))  # plain JSON, no objects

    opt2 = gn_optimizer()
    sched2 = SCHEDULES[name](lr_scheduler, opt2)
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(sched_state)
    assert sched2.get_last_lr() == first[-1]
    rest = lr_sequence(sched2, opt2, STEPS - 12)
    assert first + rest[1:] == straight


def test_closed_forms():
    """The documented formulas, written here independently of the recursive code."""
    opt = gn_optimizer()
    cos = lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.01)
    for epoch in range(1, 11):
        opt.step()
        cos.step()
        want = [0.01 + (b - 0.01) * (1 + np.cos(np.pi * epoch / 10)) / 2 for b in LRS]
        np.testing.assert_allclose(cos.get_last_lr(), want, rtol=1e-12)
    opt = gn_optimizer()
    warm = lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
    seq = lr_sequence(warm, opt, 5)
    np.testing.assert_allclose([s[0] for s in seq], [0.025, 0.05, 0.075, 0.1, 0.1, 0.1],
                               rtol=1e-12)
    opt = gn_optimizer()
    step = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    np.testing.assert_allclose([s[1] for s in lr_sequence(step, opt, 5)],
                               [0.03, 0.03, 0.015, 0.015, 0.0075, 0.0075], rtol=1e-12)


def test_scheduler_drives_the_optimizer():
    """The optimizer uses the scheduled lr: one GD step of size lr on f(w) = w."""
    w = Parameter(np.array(0.0))
    opt = optim.GD([w], lr=1.0)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    for _ in range(3):
        w.grad = Parameter(np.array(1.0))
        opt.step()
        sched.step()
    assert float(w.data) == -(1.0 + 0.5 + 0.25)


def test_initial_lr_recorded_and_resume_with_last_epoch():
    opt = gn_optimizer()
    lr_scheduler.StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)
    with pytest.raises(ValueError, match="initial_lr"):
        lr_scheduler.StepLR(gn_optimizer(), step_size=2, last_epoch=3)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda o: lr_scheduler.StepLR(o, step_size=0), ValueError, "step_size.*0"),
        (lambda o: lr_scheduler.StepLR(o, step_size=2.5), TypeError, "step_size.*2.5"),
        (lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=-0.1), ValueError, "gamma"),
        (lambda o: lr_scheduler.ExponentialLR(o, gamma="0.9"), TypeError, "gamma"),
        (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
        (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=-1), ValueError,
         "eta_min"),
        (lambda o: lr_scheduler.LinearLR(o, start_factor=0.0), ValueError, "start_factor"),
        (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), ValueError, "end_factor"),
        (lambda o: lr_scheduler.LinearLR(o, total_iters=0), ValueError, "total_iters"),
        (lambda o: lr_scheduler.MultiStepLR(o, milestones=[2, -1]), ValueError, "milestone"),
        (lambda o: lr_scheduler.StepLR(object(), step_size=2), TypeError, "Optimizer"),
        (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)], milestones=[3]),
         ValueError, "milestone"),
        (lambda o: lr_scheduler.SequentialLR(o, [], milestones=[]), ValueError, "none"),
        (lambda o: lr_scheduler.SequentialLR(
            o, [lr_scheduler.StepLR(gn_optimizer(), 2), lr_scheduler.StepLR(o, 2)], [3]),
         ValueError, "another optimizer"),
    ],
)
def test_invalid_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make(gn_optimizer())


def test_load_state_dict_from_another_scheduler_is_refused():
    opt = gn_optimizer()
    saved = lr_scheduler.CosineAnnealingLR(opt, T_max=5).state_dict()
    with pytest.raises(ValueError, match="T_max"):
        lr_scheduler.StepLR(opt, step_size=3).load_state_dict(saved)
