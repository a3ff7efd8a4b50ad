"""nn.RNN / LSTM / GRU and their cells against torch.nn in float64 (1e-10): a torch module's state_dict
loads into ours unchanged (and ours into torch), and outputs, final states, the input's and initial
states' gradients and every parameter's gradient agree across the options; errors as PyTorch's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as trnn

import glassgrad as gg
from glassgrad import nn
from glassgrad.nn.utils import rnn

from oracle import to_numpy

TOL = {"atol": 1e-10, "rtol": 1e-10}


def twins(name: str, **kwargs: Any) -> tuple[nn.Module, torch.nn.Module]:
    """torch's module, float64, and ours with its state_dict loaded (strict: same keys and shapes)."""
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(**kwargs).double()
    ours = getattr(nn, name)(**kwargs).double()
    ours.load_state_dict({k: gg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    return ours, theirs


def _flat(out: Any) -> list[Any]:
    """The tensors of a module's result (output, h_n) / (output, (h_n, c_n)), packed output padded."""
    if isinstance(out, rnn.PackedSequence):
        return [rnn.pad_packed_sequence(out)[0]]
    if isinstance(out, trnn.PackedSequence):
        return [trnn.pad_packed_sequence(out)[0]]
    if isinstance(out, tuple | list):
        return [t for o in out for t in _flat(o)]
    return [out]


def _leaves(arrays: Any, framework: Any) -> Any:
    if arrays is None:
        return None
    if isinstance(arrays, tuple):
        return tuple(_leaves(a, framework) for a in arrays)
    return framework.tensor(arrays, requires_grad=True)


def compare(ours: Any, theirs: Any, x: np.ndarray, hx: Any = None, lengths: list[int] | None = None) -> None:
    """Run both on x (packed with ``lengths``, unsorted, when given) and initial states hx; compare every
    result, then the gradients of one random weighting of all results w.r.t. x, hx and the parameters."""
    inputs = []
    results = []
    for module, framework, utils in ((ours, gg, rnn), (theirs, torch, trnn)):
        xs, states = _leaves(x, framework), _leaves(hx, framework)
        inputs.append([xs, *(states if isinstance(states, tuple) else [states] if states is not None else [])])
        feed = xs if lengths is None else utils.pack_padded_sequence(xs, lengths, enforce_sorted=False)
        results.append(_flat(module(feed) if states is None else module(feed, states)))
    rng = np.random.default_rng(0)
    loss_ours, loss_theirs = 0.0, 0.0
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), **TOL)
        w = rng.standard_normal(tuple(b.shape))
        loss_ours, loss_theirs = loss_ours + (a * gg.tensor(w)).sum(), loss_theirs + (b * torch.tensor(w)).sum()
    loss_ours.backward()
    loss_theirs.backward()
    for i, (a, b) in enumerate(zip(*inputs, strict=True)):
        np.testing.assert_allclose(to_numpy(a.grad), to_numpy(b.grad), **TOL, err_msg=f"grad of input {i}")
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(to_numpy(p.grad), to_numpy(theirs_params[name].grad), **TOL, err_msg=name)


def _states(rng: np.random.Generator, count: int, *shapes: tuple[int, ...]) -> Any:
    states = tuple(rng.standard_normal(s) for s in shapes)
    return states if count > 1 else states[0]


# (layer, constructor kwargs, input shape, initial states' shapes or None, packed lengths or None, train)
CASES = [
    ("RNN", {"num_layers": 2, "bidirectional": True, "batch_first": True}, (3, 5, 4), [(4, 3, 6)], None, False),
    ("RNN", {"nonlinearity": "relu", "bias": False}, (5, 4), [(1, 6)], None, False),  # unbatched
    ("RNN", {"num_layers": 2, "bidirectional": True, "nonlinearity": "relu"}, (5, 4, 4), None, [3, 5, 1, 5], False),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 3, "dropout": 0.4}, (5, 3, 4),
     [(4, 3, 3), (4, 3, 6)], None, False),  # dropout > 0 in eval: no dropout
    ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 2}, (5, 4, 4),
     [(4, 4, 2), (4, 4, 6)], [2, 5, 5, 3], False),
    ("LSTM", {"bias": False, "batch_first": True}, (5, 4), None, None, True),  # unbatched, batch_first ignored
    ("GRU", {"num_layers": 2, "batch_first": True, "dropout": 0.0}, (3, 5, 4), None, None, True),
    ("GRU", {"bidirectional": True, "bias": False}, (5, 3, 4), [(2, 3, 6)], [4, 1, 5], False),
]  # fmt: skip


@pytest.mark.parametrize(("name", "kwargs", "shape", "state_shapes", "lengths", "train"), CASES)
def test_layers_match_torch(
    name: str, kwargs: dict[str, Any], shape: tuple[int, ...], state_shapes: Any, lengths: Any, train: bool
) -> None:
    ours, theirs = twins(name, input_size=4, hidden_size=6, **kwargs)
    ours.train(train), theirs.train(train)
    rng = np.random.default_rng(1)
    hx = None if state_shapes is None else _states(rng, len(state_shapes), *state_shapes)
    compare(ours, theirs, rng.standard_normal(shape), hx, lengths)


def test_parameters_names_shapes_init_and_our_state_dict_loads_into_torch() -> None:
    ours = nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2)
    theirs = torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2)
    assert [(k, tuple(p.shape)) for k, p in ours.named_parameters()] == [
        (k, tuple(p.shape)) for k, p in theirs.named_parameters()
    ]
    for p in ours.parameters():
        assert p.dtype == np.float32 and np.abs(to_numpy(p)).max() <= 1 / np.sqrt(5) and to_numpy(p).std() > 0.1
    big = nn.GRU(4, 100)
    values = np.concatenate([to_numpy(p).ravel() for p in big.parameters()])
    assert abs(values.std() - 0.1 / np.sqrt(3)) < 0.003  # U(±1/√H) has std 1/√(3H)
    ours.double()
    theirs.load_state_dict({k: torch.tensor(to_numpy(v)) for k, v in ours.state_dict().items()}, strict=True)
    x = np.random.default_rng(2).standard_normal((4, 2, 3))
    compare(ours, theirs.double(), x)
    assert repr(ours) == repr(theirs)
    assert repr(nn.RNN(3, 4, 2, nonlinearity="relu", dropout=0.5)) == repr(
        torch.nn.RNN(3, 4, 2, nonlinearity="relu", dropout=0.5)
    )
    assert repr(nn.RNNCell(3, 4, False, "relu")) == repr(torch.nn.RNNCell(3, 4, False, "relu"))
    assert len(ours.all_weights) == 4 and ours.all_weights[1][0] is ours.weight_ih_l0_reverse


def test_dropout_between_layers_in_training() -> None:
    """Layer 1 reads dropout(layer 0's output): with layer 0's outputs positive and layer 1 the identity
    (relu of them, one step), every output is 0 or eval's value / (1 − p), zeros in a share p."""
    p, hidden = 0.3, 400
    model = nn.RNN(1, hidden, num_layers=2, nonlinearity="relu", dropout=p).double()
    with gg.no_grad():
        model.weight_ih_l0.copy_(gg.ones(hidden, 1, dtype=gg.float64))
        model.bias_ih_l0.zero_(), model.bias_hh_l0.zero_(), model.weight_hh_l1.zero_()
        model.weight_ih_l1.copy_(gg.eye(hidden, dtype=gg.float64))
        model.bias_ih_l1.zero_(), model.bias_hh_l1.zero_()
    x = gg.ones(1, 8, 1, dtype=gg.float64)
    kept = to_numpy(model.eval()(x)[0])
    dropped = to_numpy(model.train()(x)[0])
    assert (kept > 0).all()
    zero = dropped == 0
    np.testing.assert_allclose(dropped[~zero], kept[~zero] / (1 - p), rtol=1e-12)
    assert abs(zero.mean() - p) < 4 * np.sqrt(p * (1 - p) / zero.size)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(2, 3, dropout=0.5)


CELLS = [
    ("RNNCell", {"nonlinearity": "relu"}, (3, 4), [(3, 6)]),
    ("RNNCell", {"bias": False}, (4,), None),  # unbatched
    ("LSTMCell", {}, (3, 4), [(3, 6), (3, 6)]),
    ("LSTMCell", {"bias": False}, (4,), [(6,), (6,)]),
    ("GRUCell", {}, (3, 4), None),
    ("GRUCell", {"bias": False}, (4,), [(6,)]),
]


@pytest.mark.parametrize(("name", "kwargs", "shape", "state_shapes"), CELLS)
def test_cells_match_torch(name: str, kwargs: dict[str, Any], shape: tuple[int, ...], state_shapes: Any) -> None:
    ours, theirs = twins(name, input_size=4, hidden_size=6, **kwargs)
    rng = np.random.default_rng(3)
    hx = None if state_shapes is None else _states(rng, len(state_shapes), *state_shapes)
    compare(ours, theirs, rng.standard_normal(shape), hx)


def _float64(framework: Any, *shape: int) -> Any:
    return framework.zeros(*shape, dtype=framework.float64)


def _packed(framework: Any, *shape: int) -> Any:
    utils = rnn if framework is gg else trnn
    return utils.pack_padded_sequence(_float64(framework, *shape), [shape[0], 2, 1])


ERRORS = [
    ("GRU", {}, lambda f: (_float64(f, 5, 2, 7),), "input_size"),
    ("GRU", {}, lambda f: (_float64(f, 5, 2, 3), _float64(f, 2, 2, 4)), "Expected hidden size"),
    ("GRU", {}, lambda f: (_float64(f, 5, 2, 3), _float64(f, 1, 4)), "3-D"),
    ("RNN", {}, lambda f: (_float64(f, 5, 3), _float64(f, 1, 2, 4)), "2-D"),
    ("RNN", {}, lambda f: (_float64(f, 5, 2, 3, 1),), "2D or 3D"),
    ("RNN", {}, lambda f: (f.zeros(5, 2, 3),), "dtype"),
    ("LSTM", {"proj_size": 2}, lambda f: (_float64(f, 5, 2, 3), (_float64(f, 1, 2, 4), _float64(f, 1, 2, 4))),
     r"hidden\[0\]"),
    ("LSTM", {}, lambda f: (_float64(f, 5, 2, 3), (_float64(f, 1, 2, 4), _float64(f, 1, 3, 4))), r"hidden\[1\]"),
    ("LSTM", {}, lambda f: (_packed(f, 5, 3, 3), (_float64(f, 1, 2, 4), _float64(f, 1, 2, 4))), "hidden"),
    ("RNNCell", {}, lambda f: (_float64(f, 2, 5),), "input_size"),
    ("GRUCell", {}, lambda f: (_float64(f, 2, 3), _float64(f, 3, 4)), "batch size"),
    ("LSTMCell", {}, lambda f: (_float64(f, 2, 3), (_float64(f, 2, 5), _float64(f, 2, 4))), "hidden_size"),
    ("LSTMCell", {}, lambda f: (_float64(f, 2, 3, 1),), "1D or 2D"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "kwargs", "args", "match"), ERRORS)
def test_forward_errors_like_torch(name: str, kwargs: dict[str, Any], args: Any, match: str) -> None:
    theirs = getattr(torch.nn, name)(3, 4, **kwargs).double()
    ours = getattr(nn, name)(3, 4, **kwargs).double()
    with pytest.raises(Exception) as want:
        theirs(*args(torch))
    with pytest.raises(want.type, match=match) as got:
        ours(*args(gg))
    assert name in str(got.value)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("LSTM", {"proj_size": 4}),
        ("RNN", {"nonlinearity": "gelu"}),
        ("GRU", {"dropout": 1.5}),
        ("LSTM", {"bias": 1}),
        ("LSTMCell", {"input_size": 3.0}),
    ],
)
def test_constructor_errors_like_torch(name: str, kwargs: dict[str, Any]) -> None:
    arguments = {"input_size": 3, "hidden_size": 4, **kwargs}
    with pytest.raises(Exception) as want:
        getattr(torch.nn, name)(**arguments)
    with pytest.raises(want.type, match=name):
        getattr(nn, name)(**arguments)
