"""train_test_split, Standardizer, one_hot and minibatching.

scikit-learn (split sizes, StandardScaler) and PyTorch (one_hot) serve as oracles.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from sklearn.model_selection import train_test_split as sklearn_split
from sklearn.preprocessing import StandardScaler

import glassnet as gn
from glassnet.data import (
    BatchIterator,
    RowGatherer,
    Standardizer,
    batches,
    one_hot,
    train_test_split,
)

# ---------------------------------------------------------------- train_test_split


@pytest.mark.parametrize("n, test_size", [(10, 0.25), (7, 0.5), (100, 0.2), (3, 0.1),
                                          (50, 0.9), (10, 3), (10, 9), (1000, 1 / 3)])
def test_split_sizes_match_scikit_learn(n, test_size):
    X = np.arange(n)
    train, test = train_test_split(X, test_size=test_size, rng=0)
    ref_train, ref_test = sklearn_split(X, test_size=test_size, random_state=0)
    assert (len(train), len(test)) == (len(ref_train), len(ref_test))


def test_split_is_a_partition_and_keeps_rows_aligned(rng):
    X = rng.standard_normal((50, 3))
    y = np.arange(50)
    names = np.array([f"row{i}" for i in range(50)])
    X_tr, X_te, y_tr, y_te, n_tr, n_te = train_test_split(X, y, names, test_size=0.3, rng=rng)
    assert len(y_te) == 15 and len(y_tr) == 35
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(50))
    np.testing.assert_array_equal(X_tr, X[y_tr])
    np.testing.assert_array_equal(X_te, X[y_te])
    assert n_te.tolist() == [f"row{i}" for i in y_te]


def test_split_is_reproducible_and_seed_dependent():
    X = np.arange(40)
    a = train_test_split(X, rng=5)
    b = train_test_split(X, rng=np.random.default_rng(5))
    c = train_test_split(X, rng=6)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_split_without_shuffle_keeps_order():
    X_tr, X_te = train_test_split(np.arange(10), test_size=0.3, shuffle=False)
    assert X_tr.tolist() == list(range(7)) and X_te.tolist() == [7, 8, 9]


def test_stratified_split_keeps_class_shares(rng):
    y = np.repeat([0, 1, 2], [50, 30, 20])
    X = rng.standard_normal((100, 2))
    _, _, y_tr, y_te = train_test_split(X, y, test_size=0.2, rng=rng, stratify=y)
    assert np.bincount(y_te).tolist() == [10, 6, 4]
    assert np.bincount(y_tr).tolist() == [40, 24, 16]


def test_stratified_split_total_is_exact_with_rounding(rng):
    y = np.repeat([0, 1, 2], [7, 7, 7])  # 21 * 0.25 -> ceil 6 test rows: 2, 2, 2
    _, y_te = train_test_split(y, test_size=0.25, rng=rng, stratify=y)
    assert len(y_te) == 6 and np.bincount(y_te).tolist() == [2, 2, 2]
    y = np.array(["a"] * 5 + ["b"] * 3)
    tr, te = train_test_split(y, test_size=0.5, rng=rng, stratify=y)
    assert len(te) == 4 and sorted(te.tolist()).count("a") in (2, 3)


@pytest.mark.parametrize(
    "kwargs, error, fragment",
    [
        ({"test_size": 0.0}, ValueError, "test_size"),
        ({"test_size": 1.0}, ValueError, "test_size"),
        ({"test_size": 10}, ValueError, "both parts"),
        ({"test_size": 0}, ValueError, "both parts"),
        ({"test_size": True}, TypeError, "test_size"),
        ({"test_size": "0.2"}, TypeError, "test_size"),
        ({"shuffle": False, "stratify": np.zeros(10)}, ValueError, "shuffle"),
        ({"stratify": np.array([0] * 9 + [1])}, ValueError, "only 1 member"),
        ({"stratify": np.zeros(9)}, ValueError, "shape"),
        ({"rng": 1.5}, TypeError, "rng"),
    ],
)
def test_split_validation(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        train_test_split(np.arange(10), **kwargs)


def test_split_length_mismatch_and_no_arrays():
    with pytest.raises(ValueError, match=r"\[10, 9\]"):
        train_test_split(np.arange(10), np.arange(9))
    with pytest.raises(TypeError):
        train_test_split()


# ---------------------------------------------------------------- Standardizer


def test_standardizer_matches_scikit_learn(rng):
    X = rng.standard_normal((200, 5)) * [1, 10, 0.1, 3, 100] + [0, 5, -3, 1e3, 7]
    X_test = rng.standard_normal((20, 5))
    ours = Standardizer().fit(X)
    ref = StandardScaler().fit(X)
    np.testing.assert_allclose(ours.mean_, ref.mean_, rtol=1e-12)
    np.testing.assert_allclose(ours.scale_, ref.scale_, rtol=1e-12)
    np.testing.assert_allclose(ours.transform(X_test), ref.transform(X_test), rtol=1e-10)


def test_standardizer_uses_training_statistics_only():
    s = Standardizer().fit(np.array([[0.0], [2.0]]))  # mean 1, std 1
    np.testing.assert_array_equal(s.transform(np.array([[10.0], [1.0]])), [[9.0], [0.0]])
    assert s.n_samples_seen_ == 2


def test_standardizer_zero_variance_feature():
    X = np.array([[1.0, 0.1], [3.0, 0.1], [5.0, 0.1]], dtype=np.float32)
    Z = Standardizer().fit_transform(X)
    assert np.isfinite(Z).all()
    np.testing.assert_array_equal(Z[:, 1], 0.0)
    np.testing.assert_allclose(Z[:, 0], [-1.2247449, 0.0, 1.2247449], rtol=1e-6)


def test_standardizer_inverse_round_trip(rng):
    X = rng.standard_normal((30, 4)) * 5 + 2
    s = Standardizer().fit(X)
    np.testing.assert_allclose(s.inverse_transform(s.transform(X)), X, rtol=1e-12)


def test_standardizer_dtypes():
    X32 = np.arange(12, dtype=np.float32).reshape(6, 2)
    s = Standardizer().fit(X32)
    assert s.transform(X32).dtype == np.float32
    assert s.transform(X32.astype(np.float64)).dtype == np.float64
    assert s.transform(np.arange(12).reshape(6, 2)).dtype == np.float32
    assert s.mean_.dtype == np.float64


def test_standardizer_per_channel_images(rng):
    images = rng.uniform(0, 255, size=(10, 4, 4, 3)) * [1.0, 0.5, 2.0]
    s = Standardizer(axis=(0, 1, 2)).fit(images)
    assert s.mean_.shape == (1, 1, 3)
    Z = s.transform(images)
    np.testing.assert_allclose(Z.mean(axis=(0, 1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=(0, 1, 2)), 1, rtol=1e-12)


def test_standardizer_global_axis_none(rng):
    X = rng.standard_normal((8, 3)) * 4 + 1
    Z = Standardizer(axis=None).fit_transform(X)
    assert Z.mean() == pytest.approx(0, abs=1e-12) and Z.std() == pytest.approx(1)


def test_standardizer_state_round_trip_through_npz(tmp_path, rng):
    X = rng.standard_normal((40, 3)) * 3 - 1
    s = Standardizer().fit(X)
    np.savez(tmp_path / "scaler.npz", **s.state_dict())
    with np.load(tmp_path / "scaler.npz", allow_pickle=False) as f:
        restored = Standardizer.from_state(dict(f))
    np.testing.assert_array_equal(restored.transform(X), s.transform(X))
    assert restored.n_samples_seen_ == 40


def test_standardizer_state_is_a_copy(rng):
    s = Standardizer().fit(rng.standard_normal((5, 2)))
    state = s.state_dict()
    state["mean"][:] = 99
    assert not np.any(s.mean_ == 99)


@pytest.mark.parametrize(
    "action, fragment",
    [
        (lambda: Standardizer().transform(np.ones((2, 2))), "not fitted"),
        (lambda: Standardizer().state_dict(), "not fitted"),
        (lambda: Standardizer().fit(np.ones((5, 3))).transform(np.ones((5, 4))), r"\(5, 4\)"),
        (lambda: Standardizer().fit(np.ones((5, 3))).transform(np.ones(3)), "shape"),
        (lambda: Standardizer().fit(np.array([[1.0], [np.nan]])), "NaN"),
        (lambda: Standardizer().fit(np.ones((0, 3))), "at least one sample"),
        (lambda: Standardizer(axis=1).fit(np.ones((4, 3))), "include 0"),
        (lambda: Standardizer(axis=5).fit(np.ones((4, 3))), "out of range"),
        (lambda: Standardizer.from_state({"mean": np.zeros(2)}), "scale"),
        (lambda: Standardizer.from_state({"mean": np.zeros(2), "scale": np.zeros(2)}),
         "positive"),
    ],
)
def test_standardizer_validation(action, fragment):
    with pytest.raises(ValueError, match=fragment):
        action()


def test_standardizer_rejects_strings():
    with pytest.raises(TypeError, match="real numbers"):
        Standardizer().fit(np.array([["a"], ["b"]]))


# ---------------------------------------------------------------- one_hot


@pytest.mark.parametrize(
    "labels, num_classes, expected",
    [
        ([0], 1, [[1]]),
        ([0, 2], 3, [[1, 0, 0], [0, 0, 1]]),
        ([1, 1, 0], 2, [[0, 1], [0, 1], [1, 0]]),
        ([3], None, [[0, 0, 0, 1]]),
        ([], 3, np.zeros((0, 3))),
    ],
)
def test_one_hot_table(labels, num_classes, expected):
    out = one_hot(np.array(labels, dtype=np.int64), num_classes)
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float32


def test_one_hot_matches_torch(rng):
    labels = rng.integers(0, 7, size=(4, 5))
    ref = torch.nn.functional.one_hot(torch.from_numpy(labels), 7).numpy()
    np.testing.assert_array_equal(one_hot(labels, 7), ref)
    np.testing.assert_array_equal(one_hot(labels.astype(np.uint8)), torch.nn.functional.one_hot(
        torch.from_numpy(labels)).numpy())


def test_one_hot_dtype_argument():
    assert one_hot(np.array([1]), 2, dtype=np.int64).dtype == np.int64


@pytest.mark.parametrize(
    "labels, num_classes, error, fragment",
    [
        (np.array([0, 3]), 3, ValueError, r"label 3 at index \(1,\)"),
        (np.array([[0, 1], [-1, 0]]), 2, ValueError, r"label -1 at index \(1, 0\)"),
        (np.array([0.0, 1.0]), 2, TypeError, "integer"),
        (np.array([True, False]), 2, TypeError, "integer"),
        (np.array([0, 1]), 0, ValueError, "num_classes"),
        (np.array([0, 1]), 2.0, TypeError, "num_classes"),
        (np.array([], dtype=int), None, ValueError, "num_classes"),
    ],
)
def test_one_hot_validation(labels, num_classes, error, fragment):
    with pytest.raises(error, match=fragment):
        one_hot(labels, num_classes)


# ---------------------------------------------------------------- minibatches


def test_batches_in_order_without_shuffle():
    X, y = np.arange(14).reshape(7, 2), np.arange(7)
    out = list(BatchIterator(X, y, batch_size=3))
    assert [b[1].tolist() for b in out] == [[0, 1, 2], [3, 4, 5], [6]]
    np.testing.assert_array_equal(out[2][0], [[12, 13]])
    assert np.shares_memory(out[0][0], X)  # plain slices: views, no copy


def test_drop_last_and_len():
    it = BatchIterator(np.arange(10), batch_size=4, drop_last=True)
    assert len(it) == 2 and [b.tolist() for b in it] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(BatchIterator(np.arange(10), batch_size=4)) == 3
    assert len(BatchIterator(np.arange(8), batch_size=4)) == 2
    assert len(BatchIterator(np.arange(3), batch_size=4, drop_last=True)) == 0
    assert list(BatchIterator(np.arange(3), batch_size=4, drop_last=True)) == []


def test_shuffle_visits_every_row_once_per_epoch_and_keeps_pairs():
    X = np.arange(23) * 10
    y = np.arange(23)
    it = BatchIterator(X, y, batch_size=5, shuffle=True, rng=0)
    epochs = []
    for _ in range(3):
        seen = [(xb, yb) for xb, yb in it]
        assert [len(yb) for _, yb in seen] == [5, 5, 5, 5, 3]
        order = np.concatenate([yb for _, yb in seen])
        assert sorted(order.tolist()) == list(range(23))
        np.testing.assert_array_equal(np.concatenate([xb for xb, _ in seen]), order * 10)
        epochs.append(order)
    assert not np.array_equal(epochs[0], epochs[1])


def test_shuffle_uses_one_permutation_per_epoch_from_the_given_generator():
    rng = np.random.default_rng(3)
    twin = copy.deepcopy(rng)
    it = BatchIterator(np.arange(10), batch_size=4, shuffle=True, rng=rng)
    for _ in range(2):
        expected = twin.permutation(10)
        np.testing.assert_array_equal(np.concatenate(list(it)), expected)
    assert rng.bit_generator.state == twin.bit_generator.state


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8, ">f4", bool])
@pytest.mark.parametrize("shape", [(9,), (9, 3), (9, 2, 4)])
def test_row_gatherer_equals_take(rng, dtype, shape):
    a = (rng.random(shape) * 100).astype(dtype)
    g = RowGatherer()
    for size in (4, 4, 4, 1, 9, 4, 0, 4):
        index = rng.permutation(9)[:size]
        got = g.take(a, index)
        expected = a.take(index, axis=0)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


def test_row_gatherer_reuses_memory_only_once_the_array_is_dropped():
    a = np.arange(40.0).reshape(20, 2)
    g = RowGatherer()
    first = g.take(a, np.arange(4))
    where = _address(first)
    second = g.take(a, np.arange(4, 8))
    assert _address(second) != where
    # ``first`` is still held: the next gather must not write into it
    third = g.take(a, np.arange(8, 12))
    assert _address(third) != where
    np.testing.assert_array_equal(first, a[:4])
    del first
    g.take(a, np.arange(12, 16))  # the slot of ``second``, still held
    fifth = g.take(a, np.arange(16, 20))  # the slot of ``third`` ... held too
    assert _address(fifth) != where
    np.testing.assert_array_equal(second, a[4:8])
    np.testing.assert_array_equal(third, a[8:12])
    del second, third, fifth
    g.take(a, np.arange(4))
    # now nothing else refers to the two slots' arrays: both are reused in turn
    sixth = g.take(a, np.arange(4))
    where = _address(sixth)
    del sixth
    g.take(a, np.arange(4))
    seventh = g.take(a, np.arange(4))
    assert _address(seventh) == where


@pytest.mark.parametrize("holder", ["list", "view", "tensor", "graph", "memoryview"])
def test_row_gatherer_never_writes_into_a_batch_still_referred_to(holder):
    rng = np.random.default_rng(0)
    X = rng.random((64, 3)).astype(np.float32)
    y = np.arange(64) % 2
    net = gn.nn.MLP(3, [4], 2)
    kept, expected = [], []
    for xb, yb in batches(X, y, batch_size=4, shuffle=True, rng=1):
        expected.append(xb.copy())
        if holder == "list":
            kept.append(xb)
        elif holder == "view":
            kept.append(xb[1:, :2])
            expected[-1] = expected[-1][1:, :2]
        elif holder == "tensor":
            kept.append(gn.Tensor(xb))
        elif holder == "graph":  # a loss whose graph saved the batch, never backpropagated
            kept.append(gn.losses.softmax_log_likelihood(net(gn.Tensor(xb)), yb))
            expected[-1] = kept[-1].item()
        else:
            kept.append(memoryview(xb))
    for k, e in zip(kept, expected, strict=True):
        if holder == "graph":
            assert k.item() == e
            k.backward()  # the saved batch is intact: backward runs on the batch it saw
        else:
            got = k.data if holder == "tensor" else np.asarray(k)
            np.testing.assert_array_equal(got, e)


def test_graph_keeps_its_batch_until_backward(rng):
    """A loss built on a batch, backpropagated after later batches were gathered, gets the
    same gradients as with a fresh copy of the batch."""
    X = rng.random((40, 5)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    net = gn.nn.MLP(5, [6], 3)
    it = batches(X, y, batch_size=8, shuffle=True, rng=2)
    xb, yb = next(it)
    loss = gn.losses.softmax_log_likelihood(net(gn.Tensor(xb)), yb)
    copy_loss = gn.losses.softmax_log_likelihood(net(gn.Tensor(xb.copy())), yb.copy())
    del xb, yb
    for _ in it:
        pass
    loss.backward()
    grads = [p.grad.data.copy() for p in net.parameters()]
    net.zero_grad()
    copy_loss.backward()
    for g, p in zip(grads, net.parameters(), strict=True):
        np.testing.assert_array_equal(g, p.grad.data)


def test_shuffled_batches_reuse_memory_in_a_training_loop():
    """The usual loop drops each batch at the next one: from the third batch on, every
    batch lands in the memory of the batch two before it."""
    X = np.random.default_rng(0).random((80, 4))
    addresses = []
    for xb in batches(X, batch_size=8, shuffle=True, rng=0):
        addresses.append(_address(xb))
    assert len(set(addresses)) == 2
    assert addresses[2::2] == [addresses[0]] * 4 and addresses[3::2] == [addresses[1]] * 4


def test_shuffled_batches_are_fresh_arrays():
    X = np.arange(12).reshape(6, 2)
    first = next(iter(BatchIterator(X, batch_size=3, shuffle=True, rng=1)))
    assert not np.shares_memory(first, X)
    first[:] = -1
    assert X.min() == 0


def test_batches_function():
    X, y = np.arange(10).reshape(5, 2), np.arange(5)
    out = list(batches(X, y, batch_size=2))
    assert [yb.tolist() for _, yb in out] == [[0, 1], [2, 3], [4]]
    assert [b.tolist() for b in batches(np.arange(3), batch_size=2)] == [[0, 1], [2]]
    shuffled = np.concatenate([yb for _, yb in batches(X, y, 2, shuffle=True, rng=0,
                                                         drop_last=True)])
    assert len(shuffled) == 4 and len(set(shuffled.tolist())) == 4


def test_empty_dataset_and_large_batch():
    assert list(BatchIterator(np.zeros((0, 3)), batch_size=4)) == []
    (only,) = list(BatchIterator(np.arange(3), batch_size=100))
    assert only.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    "kwargs, error, fragment",
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": -2}, ValueError, "batch_size"),
        ({"batch_size": 2.5}, TypeError, "batch_size"),
        ({"batch_size": True}, TypeError, "batch_size"),
        ({"shuffle": "yes"}, TypeError, "shuffle"),
        ({"drop_last": 1}, TypeError, "drop_last"),
        ({"shuffle": True, "rng": "seed"}, TypeError, "rng"),
    ],
)
def test_batch_iterator_validation(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        BatchIterator(np.arange(10), **kwargs)


def test_batches_validates_at_the_call():
    with pytest.raises(ValueError, match="batch_size"):
        batches(np.arange(4), batch_size=0)  # before any next()
    with pytest.raises(ValueError, match=r"\[4, 3\]"):
        batches(np.arange(4), np.arange(3))
    with pytest.raises(ValueError, match="0-d"):
        BatchIterator(np.float64(1.0))
    with pytest.raises(TypeError):
        BatchIterator()


# ---------------------------------------------------------------- docstring examples


@pytest.mark.parametrize("module", ["batching", "preprocessing", "idx"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"glassnet.data.{module}")
    result = doctest.testmod(mod, extraglobs={"np": np}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
