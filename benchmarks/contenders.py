"""The contenders of the benchmark: glassnet and its peers, each behind the same interface.

Every contender trains the same networks (weights in PyTorch's layout: W is (out, in)) from
the same initial weights, on the same batches (the same ``np.random.default_rng(seed)``
permutation that ``glassnet.training.fit`` draws), with plain SGD (lr 0.1, momentum 0.9,
PyTorch's momentum rule: b <- 0.9 b + g, W <- W - 0.1 b) on the mean softmax cross-entropy
(``glassnet.losses.softmax_log_likelihood``) in float32.

A contender is built inside its own child process (``worker.py``), so that only its own
library is imported there and thread settings made before the import apply to it alone.
Model construction and weight loading are never timed; the epoch itself is (including the
permutation and batch gathering, which every contender does in its own idiomatic way).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

LR = 0.1
MOMENTUM = 0.9
NUM_CLASSES = 10

# name -> layer sizes; ReLU between the Linear layers.
MODELS: dict[str, tuple[int, ...]] = {
    "linear": (784, 10),
    "mlp256": (784, 256, 10),
    "mlp512": (784, 512, 256, 10),
}
MODEL_TITLES = {
    "linear": "linear 784->10",
    "mlp256": "MLP 784-256-10",
    "mlp512": "MLP 784-512-256-10",
}

CONTENDERS = ("glassnet", "compiled", "torch", "jax", "numpy", "sklearn")


class Data:
    """Training and test arrays (float32 pixels in [0, 1], int64 labels) and initial weights."""

    def __init__(self, folder: str | Path) -> None:
        folder = Path(folder)
        self.X = np.load(folder / "train_x.npy")
        self.y = np.load(folder / "train_y.npy")
        self.X_test = np.load(folder / "test_x.npy")
        self.y_test = np.load(folder / "test_y.npy")
        self.init: dict[str, list[np.ndarray]] = {}
        for name in MODELS:
            with np.load(folder / f"init_{name}.npz") as z:
                self.init[name] = [z[f"arr_{i}"] for i in range(len(z.files))]


def call_seconds(
    fn: Callable[[], Any], budget: float, min_calls: int = 3, slices: int = 5
) -> float:
    """Seconds per call of ``fn``: one untimed call (compilation, caches), then ``slices``
    stretches of calls, each until ``budget / slices`` seconds have passed (and at least
    ``min_calls`` calls were made in all); the median of the stretches' seconds per call (a
    moment when the machine is slowed by something else spoils one stretch, not the
    figure; each stretch still includes its share of garbage collection)."""
    fn()
    gc.collect()
    per_call = []
    least = -(-min_calls // slices)  # at least min_calls calls in all
    for _ in range(slices):
        calls = 0
        start = time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if calls >= least and elapsed >= budget / slices:
                per_call.append(elapsed / calls)
                break
    return statistics.median(per_call)


def six_hump_terms(x1: Any, x2: Any) -> Any:
    """The lecture's six-hump camel function, for any array library's scalars."""
    return (4 - 2.1 * x1**2 + x1**4 / 3) * x1**2 + x1 * x2 + (-4 + 4 * x2**2) * x2**2


SIX_HUMP_AT = np.array([0.0, 1.0], dtype=np.float32)
SOFTMAX_AT = np.array([1.0, 2.0, 3.0], dtype=np.float32)


class Contender:
    """The interface; a contender that lacks a measurement leaves the method out."""

    name = ""

    def __init__(self, data: Data, threads: int) -> None:
        self.data = data
        self.threads = threads

    def info(self) -> dict[str, Any]:
        return {}

    def epoch(self, model: str, batch_size: int, seed: int, limit: int | None = None) -> dict:
        raise NotImplementedError

    def accuracy(self, model: str, epochs: int, batch_size: int, seed: int) -> dict:
        raise NotImplementedError

    def per_op(self, n_ops: int, budget: float, min_calls: int = 3) -> dict[str, float]:
        raise NotImplementedError

    def derivatives(self, budget: float, min_calls: int = 3) -> dict[str, dict[str, float]]:
        raise NotImplementedError

    def _subset(self, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
        if limit is None:
            return self.data.X, self.data.y
        return self.data.X[:limit], self.data.y[:limit]


def blas_info() -> list[dict[str, Any]]:
    """The BLAS/OpenMP libraries loaded in this process (threadpoolctl, when installed)."""
    try:
        import threadpoolctl
    except ImportError:
        return [{"note": "threadpoolctl not installed (pip install threadpoolctl)"}]
    keep = ("internal_api", "prefix", "version", "architecture", "num_threads", "threading_layer")
    return [{k: d.get(k) for k in keep} for d in threadpoolctl.threadpool_info()]


# ----------------------------------------------------------------------------- glassnet


class GlassnetContender(Contender):
    """glassnet as a user drives it: ``nn.MLP`` / ``models.LinearClassifier``, ``optim.SGD``
    and ``losses.softmax_log_likelihood`` in the training loop its docs teach (the same
    steps as the PyTorch contender's loop: gather, forward, loss, zero_grad, backward,
    step), its batches from ``glassnet.data.batches``. The epoch is also timed through
    ``training.fit`` (``fit_seconds``), which does more per batch: it checks the input,
    guards every gradient against NaN/inf and counts the running training accuracy."""

    name = "glassnet"

    def __init__(self, data: Data, threads: int) -> None:
        super().__init__(data, threads)
        import glassnet

        self.gn = glassnet

    def _train(self, net: Any, opt: Any, X: np.ndarray, y: np.ndarray, batch_size: int,
               rng: np.random.Generator) -> float:
        gn = self.gn
        loss_fn, Tensor = gn.losses.softmax_log_likelihood, gn.Tensor
        total = 0.0
        # one rng.permutation(n) per epoch, as the other contenders draw it
        for xb, yb in gn.data.batches(X, y, batch_size, shuffle=True, rng=rng):
            loss = loss_fn(net(Tensor(xb)), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * yb.shape[0]
        return total / X.shape[0]

    def info(self) -> dict[str, Any]:
        return {"version": self.gn.__version__, "file": self.gn.__file__, "blas": blas_info()}

    def build(self, model: str) -> Any:
        gn = self.gn
        sizes = MODELS[model]
        if len(sizes) == 2:
            net = gn.models.LinearClassifier(sizes[0], sizes[1])
        else:
            net = gn.nn.MLP(sizes[0], list(sizes[1:-1]), sizes[-1])
        names = [name for name, _ in net.named_parameters()]
        net.load_state_dict(dict(zip(names, self.data.init[model], strict=True)))
        return net

    def epoch(self, model: str, batch_size: int, seed: int, limit: int | None = None) -> dict:
        gn = self.gn
        X, y = self._subset(limit)
        net = self.build(model)
        opt = gn.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
        gc.collect()
        start = time.perf_counter()
        loss = self._train(net, opt, X, y, batch_size, np.random.default_rng(seed))
        seconds = time.perf_counter() - start
        net = self.build(model)
        opt = gn.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
        gc.collect()
        start = time.perf_counter()
        history = gn.training.fit(
            net, gn.losses.softmax_log_likelihood, opt, (X, y),
            epochs=1, batch_size=batch_size, verbose=0, rng=seed,
        )
        fit_seconds = time.perf_counter() - start
        return {"seconds": seconds, "loss": loss, "fit_seconds": fit_seconds,
                "fit_loss": history.train_loss[-1]}

    def accuracy(self, model: str, epochs: int, batch_size: int, seed: int) -> dict:
        gn = self.gn
        net = self.build(model)
        opt = gn.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
        start = time.perf_counter()
        history = gn.training.fit(
            net, gn.losses.softmax_log_likelihood, opt, (self.data.X, self.data.y),
            epochs=epochs, batch_size=batch_size, verbose=0, rng=seed,
        )
        seconds = time.perf_counter() - start
        result = gn.training.evaluate(net, None, self.data.X_test, self.data.y_test)
        return {"accuracy": result["accuracy"], "loss": history.train_loss[-1],
                "seconds": seconds}

    def per_op(self, n_ops: int, budget: float, min_calls: int = 3) -> dict[str, float]:
        gn = self.gn
        x = gn.tensor(np.full((10, 10), 0.5, dtype=np.float32), requires_grad=True)

        def chain() -> None:
            y = x
            for _ in range(n_ops // 2):
                y = y * 1.0001
                y = y.tanh()
            x.grad = None
            y.sum().backward()

        return {"glassnet": call_seconds(chain, budget, min_calls) / n_ops}

    def derivatives(self, budget: float, min_calls: int = 3) -> dict[str, dict[str, float]]:
        gn = self.gn

        def six_hump(x: Any) -> Any:
            return six_hump_terms(x[0], x[1])

        def softmax(s: Any) -> Any:
            return s.softmax()

        calls = {
            "hessian": lambda: gn.hessian(six_hump, SIX_HUMP_AT),
            "grad": lambda: gn.grad(six_hump, SIX_HUMP_AT),
            "jacobian": lambda: gn.jacobian(softmax, SOFTMAX_AT),
        }
        return {k: {"glassnet": call_seconds(fn, budget, min_calls)} for k, fn in calls.items()}


class CompiledContender(GlassnetContender):
    """glassnet's training loop with the step compiled (``glassnet.compile``, the fused
    numba kernels when numba is installed): the same batches and steps as the glassnet
    contender, each batch a replay of the recorded step (a new model per epoch, so every
    epoch includes its two traces, the full batch and the short last one). The accuracy
    runs go through ``training.fit(..., compile=True)``."""

    name = "compiled"
    per_op = Contender.per_op  # the same engine as the glassnet contender: not repeated
    derivatives = Contender.derivatives

    def __init__(self, data: Data, threads: int) -> None:
        super().__init__(data, threads)
        from glassnet.ops import kernels

        self.kernels = "numba" if kernels.available() else "numpy"

    def info(self) -> dict[str, Any]:
        return {**super().info(), "kernels": self.kernels}

    def _train(self, net: Any, opt: Any, X: np.ndarray, y: np.ndarray, batch_size: int,
               rng: np.random.Generator) -> float:
        gn = self.gn
        loss_fn, Tensor = gn.losses.softmax_log_likelihood, gn.Tensor

        def train_step(xb: np.ndarray, yb: np.ndarray) -> Any:
            loss = loss_fn(net(Tensor(xb)), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        step = gn.compile(train_step, kernels=self.kernels)
        total = 0.0
        for xb, yb in gn.data.batches(X, y, batch_size, shuffle=True, rng=rng):
            total += step(xb, yb).item() * yb.shape[0]
        return total / X.shape[0]

    def epoch(self, model: str, batch_size: int, seed: int, limit: int | None = None) -> dict:
        gn = self.gn
        X, y = self._subset(limit)
        net = self.build(model)
        opt = gn.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
        gc.collect()
        start = time.perf_counter()
        loss = self._train(net, opt, X, y, batch_size, np.random.default_rng(seed))
        return {"seconds": time.perf_counter() - start, "loss": loss}

    def accuracy(self, model: str, epochs: int, batch_size: int, seed: int) -> dict:
        gn = self.gn
        net = self.build(model)
        opt = gn.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
        start = time.perf_counter()
        history = gn.training.fit(
            net, gn.losses.softmax_log_likelihood, opt, (self.data.X, self.data.y),
            epochs=epochs, batch_size=batch_size, verbose=0, rng=seed, compile=True,
        )
        seconds = time.perf_counter() - start
        result = gn.training.evaluate(net, None, self.data.X_test, self.data.y_test)
        return {"accuracy": result["accuracy"], "loss": history.train_loss[-1],
                "seconds": seconds}


# ----------------------------------------------------------------------------- PyTorch


class TorchContender(Contender):
    """PyTorch on the CPU, eager, the loop its tutorials teach (without a DataLoader, whose
    per-sample collation would dominate: batches are gathered with one ``index_select``)."""

    name = "torch"

    def __init__(self, data: Data, threads: int) -> None:
        super().__init__(data, threads)
        import torch

        torch.set_num_threads(threads)
        self.torch = torch
        self.X = torch.from_numpy(data.X)
        self.y = torch.from_numpy(data.y)

    def info(self) -> dict[str, Any]:
        t = self.torch
        return {"version": t.__version__, "num_threads": t.get_num_threads(), "blas": blas_info()}

    def build(self, model: str) -> Any:
        torch = self.torch
        sizes = MODELS[model]
        layers: list[Any] = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i > 0:
                layers.append(torch.nn.ReLU())
            layers.append(torch.nn.Linear(d_in, d_out))
        net = torch.nn.Sequential(*layers)
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        init = self.data.init[model]
        with torch.no_grad():
            for i, lin in enumerate(linears):
                lin.weight.copy_(torch.from_numpy(init[2 * i]))
                lin.bias.copy_(torch.from_numpy(init[2 * i + 1]))
        return net

    def _train(self, net: Any, opt: Any, X: Any, y: Any, batch_size: int, rng: Any) -> float:
        torch = self.torch
        F = torch.nn.functional
        n = X.shape[0]
        order = torch.from_numpy(rng.permutation(n))
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            xb, yb = X.index_select(0, idx), y.index_select(0, idx)
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * idx.shape[0]
        return total / n

    def epoch(self, model: str, batch_size: int, seed: int, limit: int | None = None) -> dict:
        torch = self.torch
        X, y = (self.X, self.y) if limit is None else (self.X[:limit], self.y[:limit])
        net = self.build(model)
        opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
        gc.collect()
        start = time.perf_counter()
        loss = self._train(net, opt, X, y, batch_size, np.random.default_rng(seed))
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "loss": loss}

    def accuracy(self, model: str, epochs: int, batch_size: int, seed: int) -> dict:
        torch = self.torch
        net = self.build(model)
        opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
        rng = np.random.default_rng(seed)
        start = time.perf_counter()
        for _ in range(epochs):
            loss = self._train(net, opt, self.X, self.y, batch_size, rng)
        seconds = time.perf_counter() - start
        with torch.no_grad():
            pred = net(torch.from_numpy(self.data.X_test)).argmax(1).numpy()
        return {"accuracy": float((pred == self.data.y_test).mean()), "loss": loss,
                "seconds": seconds}

    def per_op(self, n_ops: int, budget: float, min_calls: int = 3) -> dict[str, float]:
        torch = self.torch
        x = torch.full((10, 10), 0.5, dtype=torch.float32, requires_grad=True)

        def chain() -> None:
            y = x
            for _ in range(n_ops // 2):
                y = y * 1.0001
                y = y.tanh()
            x.grad = None
            y.sum().backward()

        return {"torch": call_seconds(chain, budget, min_calls) / n_ops}

    def derivatives(self, budget: float, min_calls: int = 3) -> dict[str, dict[str, float]]:
        torch = self.torch
        functional = torch.autograd.functional
        x = torch.from_numpy(SIX_HUMP_AT.copy())
        s = torch.from_numpy(SOFTMAX_AT.copy())

        def six_hump(v: Any) -> Any:
            return six_hump_terms(v[0], v[1])

        def grad() -> Any:
            v = x.detach().requires_grad_(True)
            return torch.autograd.grad(six_hump(v), v)[0]

        def softmax(v: Any) -> Any:
            return torch.softmax(v, -1)

        calls = {
            "hessian": lambda: functional.hessian(six_hump, x),
            "grad": grad,
            "jacobian": lambda: functional.jacobian(softmax, s),
        }
        return {k: {"torch": call_seconds(fn, budget, min_calls)} for k, fn in calls.items()}


# ----------------------------------------------------------------------------- JAX


class JaxContender(Contender):
    """JAX on the CPU: one ``jax.jit``-compiled SGD-momentum step per batch (the batch is
    gathered inside the compiled step, parameters and momentum buffers are donated), losses
    kept on the device so that dispatch runs ahead of the computation."""

    name = "jax"

    def __init__(self, data: Data, threads: int) -> None:
        super().__init__(data, threads)
        import jax
        import jax.numpy as jnp

        self.jax, self.jnp = jax, jnp
        self.X = jnp.asarray(data.X)
        self.y = jnp.asarray(data.y.astype(np.int32))
        self.X_test = jnp.asarray(data.X_test)
        self._step = jax.jit(self._step_fn, donate_argnums=(0, 1))
        self._predict = jax.jit(self._forward)

    def info(self) -> dict[str, Any]:
        import jaxlib

        return {
            "version": self.jax.__version__,
            "jaxlib": jaxlib.__version__,
            "devices": [str(d) for d in self.jax.devices()],
            "blas": blas_info(),
        }

    def _forward(self, params: list, x: Any) -> Any:
        jax = self.jax
        for i, (W, b) in enumerate(params):
            if i > 0:
                x = jax.nn.relu(x)
            x = x @ W.T + b
        return x

    def _loss(self, params: list, xb: Any, yb: Any) -> Any:
        log_p = self.jax.nn.log_softmax(self._forward(params, xb))
        return -self.jnp.take_along_axis(log_p, yb[:, None], axis=1).mean()

    def _step_fn(self, params: list, bufs: list, X: Any, y: Any, idx: Any) -> tuple:
        jax, jnp = self.jax, self.jnp
        xb, yb = jnp.take(X, idx, axis=0), jnp.take(y, idx, axis=0)
        loss, grads = jax.value_and_grad(self._loss)(params, xb, yb)
        bufs = jax.tree_util.tree_map(lambda b, g: MOMENTUM * b + g, bufs, grads)
        params = jax.tree_util.tree_map(lambda p, b: p - LR * b, params, bufs)
        return params, bufs, loss

    def build(self, model: str) -> tuple[list, list]:
        jnp = self.jnp
        init = self.data.init[model]
        params = [(jnp.asarray(init[i]), jnp.asarray(init[i + 1])) for i in range(0, len(init), 2)]
        bufs = [(jnp.zeros_like(W), jnp.zeros_like(b)) for W, b in params]
        return params, bufs

    def _train(
        self, params: list, bufs: list, n: int, batch_size: int, rng: Any
    ) -> tuple[list, list, float]:
        # The batches come from the first n rows of the (whole) training set on the device,
        # so every epoch runs the same compiled steps whatever n is.
        X, y = self.X, self.y
        order = rng.permutation(n).astype(np.int32)
        losses, sizes = [], []
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            params, bufs, loss = self._step(params, bufs, X, y, idx)
            losses.append(loss)
            sizes.append(idx.shape[0])
        mean = float(self.jnp.dot(self.jnp.stack(losses), self.jnp.asarray(sizes, np.float32)))
        self.jax.block_until_ready(params)
        return params, bufs, mean / n

    def epoch(self, model: str, batch_size: int, seed: int, limit: int | None = None) -> dict:
        n = self.X.shape[0] if limit is None else limit
        params, bufs = self.build(model)
        self.jax.block_until_ready((params, bufs))
        gc.collect()
        start = time.perf_counter()
        _, _, loss = self._train(params, bufs, n, batch_size, np.random.default_rng(seed))
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "loss": loss}

    def accuracy(self, model: str, epochs: int, batch_size: int, seed: int) -> dict:
        params, bufs = self.build(model)
        rng = np.random.default_rng(seed)
        start = time.perf_counter()
        for _ in range(epochs):
            params, bufs, loss = self._train(params, bufs, self.X.shape[0], batch_size, rng)
        seconds = time.perf_counter() - start
        pred = np.asarray(self._predict(params, self.X_test)).argmax(1)
        return {"accuracy": float((pred == self.data.y_test).mean()), "loss": loss,
                "seconds": seconds}

    def per_op(self, n_ops: int, budget: float, min_calls: int = 3) -> dict[str, float]:
        jax, jnp = self.jax, self.jnp
        x = jnp.full((10, 10), 0.5, dtype=jnp.float32)

        def chain(v: Any) -> Any:
            for _ in range(n_ops // 2):
                v = v * 1.0001
                v = jnp.tanh(v)
            return v.sum()

        grad = jax.grad(chain)  # eager: no jit, every op dispatched on its own
        seconds = call_seconds(lambda: grad(x).block_until_ready(), budget, min_calls)
        return {"jax (eager)": seconds / n_ops}

    def derivatives(self, budget: float, min_calls: int = 3) -> dict[str, dict[str, float]]:
        jax, jnp = self.jax, self.jnp
        x = jnp.asarray(SIX_HUMP_AT)
        s = jnp.asarray(SOFTMAX_AT)

        def six_hump(v: Any) -> Any:
            return six_hump_terms(v[0], v[1])

        fns = {
            "hessian": (jax.hessian(six_hump), x),
            "grad": (jax.grad(six_hump), x),
            "jacobian": (jax.jacobian(jax.nn.softmax), s),
        }
        out: dict[str, dict[str, float]] = {}
        for case, (fn, arg) in fns.items():
            jitted = jax.jit(fn)
            out[case] = {}
            for variant, f in (("jax", fn), ("jax jit", jitted)):
                call = lambda f=f, a=arg: f(a).block_until_ready()  # noqa: E731
                out[case][variant] = call_seconds(call, budget, min_calls)
        return out


# ----------------------------------------------------------------------------- NumPy


def numpy_train_epoch(
    params: list[np.ndarray],
    bufs: list[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
) -> float:
    """One epoch of SGD with momentum written directly in NumPy, float32; returns the mean
    loss. ``params`` = [W1, b1, W2, b2, ...] (W is (out, in)) and ``bufs`` (the momentum
    buffers, zeros at first) are updated in place."""
    n = X.shape[0]
    n_layers = len(params) // 2
    order = rng.permutation(n)
    total = 0.0
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        xb, yb = X.take(idx, axis=0), y.take(idx)
        rows = np.arange(idx.shape[0])
        # forward: h_{l+1} = relu(h_l W_l^T + b_l), scores without the relu
        acts = [xb]
        for layer in range(n_layers):
            s = acts[-1] @ params[2 * layer].T + params[2 * layer + 1]
            if layer < n_layers - 1:
                np.maximum(s, 0, out=s)
            acts.append(s)
        scores = acts.pop()
        # softmax cross-entropy, mean over the batch: dL/dscores = (p - onehot(y)) / N
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sums = exp.sum(axis=1, keepdims=True)
        total += float((np.log(sums[:, 0]) - shifted[rows, yb]).sum())
        dout = exp / sums
        dout[rows, yb] -= 1
        dout /= idx.shape[0]
        # backward, then the momentum step b <- m b + g, W <- W - lr b on each layer
        for layer in reversed(range(n_layers)):
            W = params[2 * layer]
            grads = (dout.T @ acts[layer], dout.sum(axis=0))
            if layer > 0:
                dout = dout @ W
                dout *= acts[layer] > 0
            for k, g in enumerate(grads):
                b = bufs[2 * layer + k]
                b *= MOMENTUM
                b += g
                params[2 * layer + k] -= LR * b
    return total / n


class NumpyContender(Contender):
    """The training loop written by hand in NumPy (``numpy_train_epoch``): the floor an
    autograd library built on NumPy has to reach."""

    name = "numpy"

    def info(self) -> dict[str, Any]:
        return {"version": np.__version__, "blas": blas_info()}

    def build(self, model: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
        params = [a.copy() for a in self.data.init[model]]
        return params, [np.zeros_like(p) for p in params]

    def epoch(self, model: str, batch_size: int, seed: int, limit: int | None = None) -> dict:
        X, y = self._subset(limit)
        params, bufs = self.build(model)
        gc.collect()
        start = time.perf_counter()
        loss = numpy_train_epoch(params, bufs, X, y, batch_size, np.random.default_rng(seed))
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "loss": loss}

    def accuracy(self, model: str, epochs: int, batch_size: int, seed: int) -> dict:
        params, bufs = self.build(model)
        rng = np.random.default_rng(seed)
        start = time.perf_counter()
        for _ in range(epochs):
            loss = numpy_train_epoch(params, bufs, self.data.X, self.data.y, batch_size, rng)
        seconds = time.perf_counter() - start
        h = self.data.X_test
        for layer in range(len(params) // 2):
            if layer > 0:
                h = np.maximum(h, 0)
            h = h @ params[2 * layer].T + params[2 * layer + 1]
        return {"accuracy": float((h.argmax(1) == self.data.y_test).mean()), "loss": loss,
                "seconds": seconds}


# ----------------------------------------------------------------------------- scikit-learn


class SklearnContender(Contender):
    """``MLPClassifier(solver="sgd")``, one epoch = one ``partial_fit`` over the data
    (its own initialisation and shuffling: neither changes the time of an epoch)."""

    name = "sklearn"

    def __init__(self, data: Data, threads: int) -> None:
        super().__init__(data, threads)
        import sklearn
        from sklearn.neural_network import MLPClassifier

        self.sklearn, self.MLPClassifier = sklearn, MLPClassifier

    def info(self) -> dict[str, Any]:
        return {"version": self.sklearn.__version__, "blas": blas_info()}

    def epoch(self, model: str, batch_size: int, seed: int, limit: int | None = None) -> dict:
        X, y = self._subset(limit)
        clf = self.MLPClassifier(
            hidden_layer_sizes=MODELS[model][1:-1], activation="relu", solver="sgd",
            momentum=MOMENTUM, nesterovs_momentum=False, batch_size=batch_size,
            learning_rate_init=LR, alpha=0.0, max_iter=1, shuffle=True, random_state=seed,
        )
        gc.collect()
        start = time.perf_counter()
        clf.partial_fit(X, y, classes=np.arange(NUM_CLASSES))
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "loss": float(clf.loss_)}


FACTORIES: dict[str, type[Contender]] = {
    "glassnet": GlassnetContender,
    "compiled": CompiledContender,
    "torch": TorchContender,
    "jax": JaxContender,
    "numpy": NumpyContender,
    "sklearn": SklearnContender,
}
