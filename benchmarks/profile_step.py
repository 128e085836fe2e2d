"""Where the time of a training step goes: glassnet's loop and the hand-written NumPy loop
phase by phase, the matrix products and the momentum update alone, and JAX's jit step
dispatched back to back or waited for, all in one process.

    python benchmarks/profile_step.py                      # the three models, 5 rounds
    python benchmarks/profile_step.py --models mlp256 --rounds 9

Each round runs one epoch (batch 128, SGD lr 0.1 momentum 0.9, the same batches) of
glassnet's loop (``glassnet.data.batches``, forward, loss, ``zero_grad`` + ``backward``,
``step``) and one of ``contenders.numpy_train_epoch`` with a clock read between the
phases; cells are the mean over all batches of all rounds, in microseconds per batch
(means, so that the phases add up to the epoch's time per batch).
"other" is the epoch's time per batch not inside a timed phase (the loop itself, the
permutation, ``loss.item()``). The phases do not match one for one: the hand loop forms
the gradient of the loss in its loss phase, glassnet in its backward. The thread count
is set through the environment before NumPy is imported (``--threads``, default 2).
The compiled step (``glassnet.compile``, numba kernels when installed) runs the same
epochs as one call per batch (its row has the total only), then one batch over and over,
and its replay is listed instruction by instruction.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="linear,mlp256,mlp512")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--synthetic", action="store_true", help="synthetic data, not Fashion-MNIST")
    p.add_argument("--no-jax", action="store_true", help="leave JAX out")
    return p.parse_args(argv)


PHASES = ("gather", "forward", "loss", "backward", "step", "other")


def glassnet_epoch(gn: Any, net: Any, opt: Any, X: Any, y: Any, seed: int,
                   clock: dict[str, list[float]]) -> float:
    """glassnet's training loop (as in contenders.GlassnetContender) with clocks."""
    loss_fn, Tensor, now = gn.losses.softmax_log_likelihood, gn.Tensor, time.perf_counter
    start = now()
    batches = gn.data.batches(X, y, 128, shuffle=True, rng=seed)
    while True:
        t0 = now()
        try:
            xb, yb = next(batches)
        except StopIteration:
            break
        t1 = now()
        scores = net(Tensor(xb))
        t2 = now()
        loss = loss_fn(scores, yb)
        t3 = now()
        opt.zero_grad()
        loss.backward()
        t4 = now()
        opt.step()
        t5 = now()
        loss.item()
        for name, a, b in zip(PHASES, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5)):
            clock[name].append(b - a)
    return now() - start


def hand_epoch(np: Any, params: list, bufs: list, X: Any, y: Any, seed: int,
               clock: dict[str, list[float]]) -> float:
    """contenders.numpy_train_epoch with a clock read between its phases."""
    now = time.perf_counter
    start = now()
    order = np.random.default_rng(seed).permutation(X.shape[0])
    for first in range(0, X.shape[0], 128):
        t0 = now()
        idx = order[first : first + 128]
        xb, yb = X.take(idx, axis=0), y.take(idx)
        marks = [t0, now()]
        hand_step(np, params, bufs, xb, yb, 0.1, marks)
        for name, a, b in zip(PHASES, marks, marks[1:]):
            clock[name].append(b - a)
    return now() - start


def hand_step(np: Any, params: list, bufs: list, xb: Any, yb: Any, lr: float,
              marks: list[float] | None = None) -> None:
    """One step of contenders.numpy_train_epoch (forward, loss and its gradient, backward,
    momentum update), the gradients of all layers first, then their updates; with
    ``marks`` the clock is read after each of the four phases."""
    n_layers = len(params) // 2
    rows = np.arange(xb.shape[0])
    acts = [xb]
    for layer in range(n_layers):
        s = acts[-1] @ params[2 * layer].T + params[2 * layer + 1]
        if layer < n_layers - 1:
            np.maximum(s, 0, out=s)
        acts.append(s)
    scores = acts.pop()
    if marks is not None:
        marks.append(time.perf_counter())
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sums = exp.sum(axis=1, keepdims=True)
    float((np.log(sums[:, 0]) - shifted[rows, yb]).sum())
    dout = exp / sums
    dout[rows, yb] -= 1
    dout /= xb.shape[0]
    if marks is not None:
        marks.append(time.perf_counter())
    grads = {}
    for layer in reversed(range(n_layers)):
        grads[layer] = (dout.T @ acts[layer], dout.sum(axis=0))
        if layer > 0:
            dout = dout @ params[2 * layer]
            dout *= acts[layer] > 0
    if marks is not None:
        marks.append(time.perf_counter())
    for layer, pair in grads.items():
        for k, g in enumerate(pair):
            b = bufs[2 * layer + k]
            b *= 0.9
            b += g
            params[2 * layer + k] -= lr * b
    if marks is not None:
        marks.append(time.perf_counter())


def per_call(fn: Callable[[], Any], calls: int = 200, stretches: int = 7) -> float:
    """Median seconds per call over ``stretches`` stretches of ``calls`` calls (warm)."""
    fn()
    out = []
    for _ in range(stretches):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        out.append((time.perf_counter() - start) / calls)
    return statistics.median(out)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    for var in THREAD_VARS:
        os.environ[var] = str(args.threads)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ["XLA_FLAGS"] = (  # as run.py's child_env
        f"{os.environ.get('XLA_FLAGS', '')} "
        f"--xla_cpu_multi_thread_eigen={'true' if args.threads > 1 else 'false'} "
        f"intra_op_parallelism_threads={args.threads}"
    ).strip()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import numpy as np
    from contenders import MODEL_TITLES, MODELS
    from run import load_data, pytorch_default_init

    import glassnet as gn

    data, source = load_data(argparse.Namespace(synthetic=args.synthetic, data_root=None))
    X = data["X"].reshape(len(data["X"]), -1).astype(np.float32)
    X /= 255
    y = data["y"].astype(np.int64)
    print(f"data: {source}; threads: {args.threads}; rounds: {args.rounds}; "
          f"numpy {np.__version__}, glassnet {gn.__version__}")
    jax = None
    if not args.no_jax:
        try:
            import jax
            import jax.numpy as jnp
        except ImportError:
            print("JAX not installed: its rows are left out")
    batches = -(-X.shape[0] // 128)
    from glassnet.ops import kernels as gn_kernels

    kernels = "numba" if gn_kernels.available() else "numpy"
    for model in args.models.split(","):
        init = pytorch_default_init(MODELS[model], np.random.default_rng(0))
        clocks = {who: {name: [] for name in PHASES} for who in ("glassnet", "hand")}
        epochs: dict[str, list[float]] = {"glassnet": [], "hand": []}
        for r in range(args.rounds):
            net, opt = fresh(gn, model, init)
            epochs["glassnet"].append(
                glassnet_epoch(gn, net, opt, X, y, r, clocks["glassnet"]) / batches)
            params = [a.copy() for a in init]
            bufs = [np.zeros_like(a) for a in params]
            epochs["hand"].append(hand_epoch(np, params, bufs, X, y, r, clocks["hand"]) / batches)
        print(f"\n## {MODEL_TITLES[model]}: microseconds per batch (mean over "
              f"{args.rounds} epochs of {batches} batches)\n")
        print("| | " + " | ".join(PHASES) + " | epoch / batches |")
        print("|---" * (len(PHASES) + 2) + "|")
        rows = {}
        for who in ("glassnet", "hand"):
            med = {name: statistics.fmean(v) * 1e6 for name, v in clocks[who].items() if v}
            total = statistics.fmean(epochs[who]) * 1e6
            med["other"] = total - sum(med.get(name, 0.0) for name in PHASES[:-1])
            rows[who] = (med, total)
            cells = " | ".join(f"{med[name]:.0f}" for name in PHASES)
            print(f"| {who} | {cells} | {total:.0f} |")
        diff = " | ".join(f"{rows['glassnet'][0][n] - rows['hand'][0][n]:+.0f}" for n in PHASES)
        print(f"| glassnet - hand | {diff} | {rows['glassnet'][1] - rows['hand'][1]:+.0f} |")

        compiled_epochs = []
        for r in range(args.rounds):
            net, opt = fresh(gn, model, init)
            compiled_epochs.append(compiled_epoch(gn, net, opt, X, y, r, kernels) / batches)
        print(f"| compiled ({kernels} kernels) | | | | | | | "
              f"{statistics.fmean(compiled_epochs) * 1e6:.0f} |")

        products, update = step_work(np, X, init)
        glassnet_step, hand_step = warm_steps(gn, np, X, y, model, init)
        compiled_step, profile = warm_compiled(gn, X, y, model, init, kernels)
        print(f"\nOne batch over and over (warm caches), microseconds per step: glassnet "
              f"{per_call(glassnet_step) * 1e6:.0f}, compiled {per_call(compiled_step) * 1e6:.0f}"
              f", hand {per_call(hand_step) * 1e6:.0f}; of which the matrix products "
              f"{per_call(products) * 1e6:.0f} and the momentum update of every parameter "
              f"{per_call(update) * 1e6:.0f}")
        print("\nThe compiled step instruction by instruction (CompiledStep.profile, the same "
              "batch, microseconds per step):\n")
        print("| instruction | us |\n|---|---|")
        for name, seconds in profile():
            print(f"| {name} | {seconds * 1e6:.0f} |")
        if jax is not None:
            back_to_back, waited, state = jax_calls(jax, jnp, X, y, init)
            ahead = per_call(back_to_back)
            jax.block_until_ready(state)
            wait = per_call(waited)
            print(f"JAX jit step on one batch: {ahead * 1e6:.0f} us dispatched back to back "
                  f"(Python runs ahead of the computation), {wait * 1e6:.0f} us when each "
                  f"step is waited for")


def fresh(gn: Any, model: str, init: list) -> tuple[Any, Any]:
    """The benchmark's network with its initial weights, and its SGD optimizer."""
    from contenders import MODELS

    sizes = MODELS[model]
    if len(sizes) == 2:
        net = gn.models.LinearClassifier(*sizes)
    else:
        net = gn.nn.MLP(sizes[0], list(sizes[1:-1]), sizes[-1])
    names = [name for name, _ in net.named_parameters()]
    net.load_state_dict(dict(zip(names, init, strict=True)))
    return net, gn.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)


def compiled_step_of(gn: Any, net: Any, opt: Any, kernels: str) -> Any:
    """glassnet's loop body (forward, loss, zero_grad, backward, step) compiled."""
    loss_fn, Tensor = gn.losses.softmax_log_likelihood, gn.Tensor

    def train_step(xb: Any, yb: Any) -> Any:
        loss = loss_fn(net(Tensor(xb)), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return gn.compile(train_step, kernels=kernels)


def compiled_epoch(gn: Any, net: Any, opt: Any, X: Any, y: Any, seed: int,
                   kernels: str) -> float:
    """One epoch of the compiled step on glassnet's batches (its two traces included)."""
    start = time.perf_counter()
    step = compiled_step_of(gn, net, opt, kernels)
    for xb, yb in gn.data.batches(X, y, 128, shuffle=True, rng=seed):
        step(xb, yb).item()
    return time.perf_counter() - start


def warm_compiled(gn: Any, X: Any, y: Any, model: str, init: list,
                  kernels: str) -> tuple[Callable[[], None], Callable[[], list]]:
    """The compiled step on one batch over and over (tiny lr, as ``warm_steps``), and
    its per-instruction profile."""
    net, _ = fresh(gn, model, init)
    opt = gn.optim.SGD(net.parameters(), lr=1e-6, momentum=0.9)
    step = compiled_step_of(gn, net, opt, kernels)
    xb, yb = X[:128].copy(), y[:128].copy()
    return (lambda: step(xb, yb).item()), (lambda: step.profile(xb, yb, repeat=200))


def step_work(np: Any, X: Any, init: list) -> tuple[Callable[[], None], Callable[[], None]]:
    """The work no NumPy program can skip, as two calls: the matrix products of one step
    on one batch (forward, dW in Linear's layout, dx of the hidden layers), and the
    momentum update of every parameter (b <- 0.9 b + g; p <- p - 0.1 b)."""
    Ws = [np.asfortranarray(init[i]) for i in range(0, len(init), 2)]
    acts = [X[:128].copy()]
    for W in Ws[:-1]:
        acts.append(np.maximum(acts[-1] @ W.T, 0))
    douts = [np.ones((128, W.shape[0]), np.float32) for W in Ws]

    def products() -> None:
        for i, W in enumerate(Ws):
            acts[i] @ W.T
            acts[i].T @ douts[i]
            if i > 0:
                douts[i] @ W

    params = [np.array(a, order="F") if a.ndim == 2 else a.copy() for a in init]
    grads = [np.full_like(p, 1e-6) for p in params]
    bufs = [np.zeros_like(p) for p in params]

    def update() -> None:
        for p, g, b in zip(params, grads, bufs, strict=True):
            b *= 0.9
            b += g
            p -= 0.1 * b

    return products, update


def warm_steps(gn: Any, np: Any, X: Any, y: Any, model: str,
               init: list) -> tuple[Callable[[], None], Callable[[], None]]:
    """One whole training step (forward, loss, backward, update) on the same batch: in
    glassnet (as its loop runs it) and by hand (numpy_train_epoch's body)."""
    net, _ = fresh(gn, model, init)
    # a tiny step: the same batch again and again must not drive the loss to 0 (the
    # probabilities' underflow to subnormal numbers would slow every product down)
    lr = 1e-6
    opt = gn.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    xb, yb = X[:128].copy(), y[:128].copy()
    loss_fn, Tensor = gn.losses.softmax_log_likelihood, gn.Tensor

    def glassnet_step() -> None:
        loss = loss_fn(net(Tensor(xb)), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()

    params = [a.copy() for a in init]
    bufs = [np.zeros_like(a) for a in params]

    def by_hand() -> None:
        hand_step(np, params, bufs, xb, yb, lr)

    return glassnet_step, by_hand


def jax_calls(jax: Any, jnp: Any, X: Any, y: Any, init: list) -> tuple[Any, Any, list]:
    """Two calls of the benchmark's JAX step on one batch: dispatched back to back, and
    waited for; and the state they update."""
    jit_step, params, bufs = jax_step(jax, jnp, init)
    state = [params, bufs]
    import numpy as np

    idx = np.arange(128, dtype=np.int32)
    Xd, yd = jnp.asarray(X), jnp.asarray(y.astype(np.int32))

    def back_to_back() -> None:
        state[0], state[1], _ = jit_step(state[0], state[1], Xd, yd, idx)

    def waited() -> None:
        state[0], state[1], loss = jit_step(state[0], state[1], Xd, yd, idx)
        loss.block_until_ready()

    return back_to_back, waited, state


def jax_step(jax: Any, jnp: Any, init: list) -> tuple[Any, list, list]:
    """The benchmark's JAX step (contenders.JaxContender._step_fn), compiled; with the
    initial parameters and momentum buffers."""

    def forward(params: list, x: Any) -> Any:
        for i, (W, b) in enumerate(params):
            if i > 0:
                x = jax.nn.relu(x)
            x = x @ W.T + b
        return x

    def loss(params: list, xb: Any, yb: Any) -> Any:
        log_p = jax.nn.log_softmax(forward(params, xb))
        return -jnp.take_along_axis(log_p, yb[:, None], axis=1).mean()

    def step(params: list, bufs: list, X: Any, y: Any, idx: Any) -> tuple:
        xb, yb = jnp.take(X, idx, axis=0), jnp.take(y, idx, axis=0)
        value, grads = jax.value_and_grad(loss)(params, xb, yb)
        bufs = jax.tree_util.tree_map(lambda b, g: 0.9 * b + g, bufs, grads)
        params = jax.tree_util.tree_map(lambda p, b: p - 0.1 * b, params, bufs)
        return params, bufs, value

    params = [(jnp.asarray(init[i]), jnp.asarray(init[i + 1])) for i in range(0, len(init), 2)]
    bufs = [(jnp.zeros_like(W), jnp.zeros_like(b)) for W, b in params]
    return jax.jit(step, donate_argnums=(0, 1)), params, bufs


if __name__ == "__main__":
    main()
