"""Whole models with the graph shapes that once broke the engine (skip connections,
shared parameters, one module called twice, detach() mid-graph), each trained
beside a PyTorch twin from the same weights on the same batches.

Every model is written once, as a function of the library (``nn``, ``F``), and built
twice: with glassgrad and with PyTorch, so the two graphs are the same by construction.
The glassgrad model's initial state is copied into the twin (``torch_twin.copy_into_torch``).
Then, at every step and in float64: the loss, the input's gradient, every parameter's
gradient (before ``optimizer.step()``; None where PyTorch has None), every parameter
after the step and every buffer (BatchNorm's running statistics) must have PyTorch's
dtype and agree to rtol 1e-9 (atol 1e-12 for values near zero). A short float32 run
checks that nothing is promoted.

Parameters whose exact gradient is zero (a bias right before BatchNorm, a key bias
in attention) are left out of the models on purpose: their float64 gradients are pure
roundoff, which adaptive optimizers (m/√v) turn into different O(lr) steps."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

import glassgrad as gg

from oracle import to_numpy

sys.path.insert(0, str(Path(__file__).resolve().parent / "nn"))
from torch_twin import copy_into_torch

# (rtol, atol) by dtype: float64 is the contract; float32 (a shorter check) as tests/oracle.py's gradient
# tolerance; integer buffers (num_batches_tracked) exactly
TOLERANCE = {"float64": (1e-9, 1e-12), "float32": (1e-3, 1e-4), "int64": (0, 0)}
STEPS = 6

GG = SimpleNamespace(name="glassgrad", nn=gg.nn, F=gg.nn.functional, optim=gg.optim)
TORCH = SimpleNamespace(name="torch", nn=torch.nn, F=torch.nn.functional, optim=torch.optim)

OPTIMIZERS: dict[str, Callable[[Any, Any], Any]] = {
    "sgd-momentum": lambda lib, params: lib.optim.SGD(params, lr=0.05, momentum=0.9),
    "adam": lambda lib, params: lib.optim.Adam(params, lr=1e-2),
    "adamw": lambda lib, params: lib.optim.AdamW(params, lr=1e-2, weight_decay=0.1),
    "sgd-nesterov-wd": lambda lib, params: lib.optim.SGD(
        params, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01
    ),
    "adam-amsgrad-wd": lambda lib, params: lib.optim.Adam(params, lr=1e-2, amsgrad=True, weight_decay=0.01),
    "rmsprop-centered": lambda lib, params: lib.optim.RMSprop(params, lr=1e-2, momentum=0.5, centered=True),
    "adagrad": lambda lib, params: lib.optim.Adagrad(params, lr=0.1),
}


# --------------------------------------------------------------------------- models
def residual_mlp(lib: SimpleNamespace, dim: int = 6, hidden: int = 10, out: int = 3) -> Any:
    """x ← x + fc2(relu(fc1(x))), twice, then a Linear head."""
    nn, F = lib.nn, lib.F

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

        def forward(self, x: Any) -> Any:
            return x + self.fc2(F.relu(self.fc1(x)))

    class ResidualMLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block1, self.block2, self.head = Block(), Block(), nn.Linear(dim, out)

        def forward(self, x: Any) -> Any:
            return self.head(self.block2(self.block1(x)))

    return ResidualMLP()


def resnet(lib: SimpleNamespace, classes: int = 3) -> Any:
    """Two ResNet basic blocks (conv3x3-BN-ReLU-conv3x3-BN + shortcut, ReLU after the add):
    3→3 channels with the identity shortcut, then 3→6 at stride 2 with a 1x1 conv + BN
    shortcut; global average pool and a Linear head."""
    nn, F = lib.nn, lib.F

    class BasicBlock(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x: Any) -> Any:
            out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
            shortcut = x if self.downsample is None else self.downsample(x)
            return F.relu(out + shortcut)

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer1, self.layer2 = BasicBlock(3, 3, 1), BasicBlock(3, 6, 2)
            self.head = nn.Linear(6, classes)

        def forward(self, x: Any) -> Any:
            return self.head(self.layer2(self.layer1(x)).mean((2, 3)))

    return ResNet()


def transformer(
    lib: SimpleNamespace, vocab: int = 11, seq: int = 5, dim: int = 8, heads: int = 2, padding_mask: bool = False
) -> Any:
    """Embedding (+ a learned position table) → one pre-norm block
    x ← x + out(sdpa(q(LN x), k(LN x), v(LN x), causal));  x ← x + fc2(gelu(fc1(LN x)))
    → LN → Linear head over the vocabulary. With ``padding_mask`` the attention is not
    causal but hides the keys whose token is 0 (a bool (B, 1, 1, T) mask; each query keeps
    itself) and uses scale=0.3. The key projection has no bias: softmax over the keys is
    blind to q·b_k, so its exact gradient is zero and float64 roundoff (~1e-18) would be
    all that Adam's m/√v and Adagrad act on."""
    nn, F = lib.nn, lib.F
    eye = (lambda t: gg.eye(t, dtype=gg.bool)) if lib is GG else (lambda t: torch.eye(t, dtype=torch.bool))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.q, self.v, self.out = (nn.Linear(dim, dim) for _ in range(3))
            self.k = nn.Linear(dim, dim, bias=False)
            self.fc1, self.fc2 = nn.Linear(dim, 2 * dim), nn.Linear(2 * dim, dim)

        def attention(self, x: Any, keep: Any) -> Any:
            b, t, d = x.shape
            q, k, v = (proj(x).reshape(b, t, heads, d // heads).transpose(1, 2) for proj in (self.q, self.k, self.v))
            if keep is None:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            else:
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, scale=0.3)
            return self.out(y.transpose(1, 2).reshape(b, t, d))

        def forward(self, x: Any, keep: Any) -> Any:
            x = x + self.attention(self.ln1(x), keep)
            return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))

    class Transformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(vocab, dim)
            self.pos = nn.Embedding(seq, dim)
            self.block = Block()
            self.ln = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, vocab)

        def forward(self, tokens: Any) -> Any:
            t = tokens.shape[1]
            keep = ((tokens != 0)[:, None, None, :] | eye(t)) if padding_mask else None
            positions = self.pos.weight[:t]
            return self.head(self.ln(self.block(self.emb(tokens) + positions, keep)))

    return Transformer()


def tied_embeddings(lib: SimpleNamespace, vocab: int = 9, dim: int = 6) -> Any:
    """h = tanh(fc(emb(tokens)));  logits = h @ emb.weightᵀ + bias: one Parameter used twice."""
    nn = lib.nn

    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(vocab, dim)
            self.fc = nn.Linear(dim, dim)
            self.bias = nn.Parameter(lib_zeros(lib, vocab))

        def forward(self, tokens: Any) -> Any:
            h = self.fc(self.emb(tokens)).tanh()
            return h @ self.emb.weight.T + self.bias

    return Tied()


def shared_module(lib: SimpleNamespace, dim: int = 5, out: int = 3) -> Any:
    """The same Linear at two places: y = shared(relu(shared(x)) + x), then a head."""
    nn, F = lib.nn, lib.F

    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.shared, self.head = nn.Linear(dim, dim), nn.Linear(dim, out)

        def forward(self, x: Any) -> Any:
            y = self.shared(F.relu(self.shared(x)) + x)
            return self.head(y.tanh())

    return Shared()


def detached(lib: SimpleNamespace, dim: int = 5, hidden: int = 7, out: int = 3) -> Any:
    """detach() mid-graph: h = fc1(x) feeds fc2 live and fc3 detached, so fc1 learns only
    through fc2; the gate's output is used only detached, so gate gets no gradient at all."""
    nn, F = lib.nn, lib.F

    class Detached(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(dim, hidden)
            self.fc2, self.fc3 = nn.Linear(hidden, out), nn.Linear(hidden, out)
            self.gate = nn.Linear(dim, out)

        def forward(self, x: Any) -> Any:
            h = F.relu(self.fc1(x))
            return (self.fc2(h) + self.fc3(h.detach())) * self.gate(x).sigmoid().detach()

    return Detached()


def gpt2_tied(lib: SimpleNamespace, vocab: int = 9, dim: int = 6) -> Any:
    """GPT-2's tying: the head is a Linear whose weight *is* the embedding's
    (``head.weight = emb.weight``), so one Parameter sits in two modules."""
    nn, F = lib.nn, lib.F

    class Gpt2Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(vocab, dim)
            self.ln = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, vocab, bias=False)
            self.head.weight = self.emb.weight

        def forward(self, tokens: Any) -> Any:
            h = self.emb(tokens)
            return self.head(self.ln(h + F.gelu(h)))

    return Gpt2Tied()


def batchnorm_twice(lib: SimpleNamespace, dim: int = 4, out: int = 3) -> Any:
    """One BatchNorm1d called at two places in one forward: two batch statistics, the
    running statistics updated twice per step (and num_batches_tracked += 2). The Linear layers
    feeding it have no bias: a bias right before BatchNorm has a gradient of exactly zero, which
    float64 roundoff turns into noise that Adam's m/√v blows up to ±lr (the same in ResNet's convs)."""
    nn, F = lib.nn, lib.F

    class BatchNormTwice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(dim, dim, bias=False), nn.Linear(dim, dim, bias=False)
            self.bn, self.head = nn.BatchNorm1d(dim), nn.Linear(dim, out)

        def forward(self, x: Any) -> Any:
            y = F.relu(self.bn(self.fc1(x)))
            return self.head(self.bn(self.fc2(y)) + y)

    return BatchNormTwice()


def dense_concat(lib: SimpleNamespace, dim: int = 4, growth: int = 3, out: int = 3) -> Any:
    """DenseNet-style skips through cat, and a GLU through chunk:
    h = [x, relu(fc1 x)];  h = [h, relu(fc2 h)];  a, b = chunk(fc3 h, 2);  head(a · σ(b))."""
    nn, F = lib.nn, lib.F
    cat = gg.cat if lib is GG else torch.cat

    class DenseConcat(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(dim, growth)
            self.fc2 = nn.Linear(dim + growth, growth)
            self.fc3 = nn.Linear(dim + 2 * growth, 2 * dim)
            self.head = nn.Linear(dim, out)

        def forward(self, x: Any) -> Any:
            h = cat([x, F.relu(self.fc1(x))], -1)
            h = cat([h, F.relu(self.fc2(h))], -1)
            a, b = self.fc3(h).chunk(2, -1)
            return self.head(a * b.sigmoid())

    return DenseConcat()


def unrolled_rnn(lib: SimpleNamespace, dim: int = 4, hidden: int = 6, out: int = 3) -> Any:
    """An Elman RNN unrolled by hand: the same two Linear layers at every time step,
    h_t = tanh(wx(x_t) + wh(h_{t-1})); the head reads the mean of the stacked h_t."""
    nn = lib.nn
    stack = gg.stack if lib is GG else torch.stack

    class UnrolledRNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wx, self.wh = nn.Linear(dim, hidden), nn.Linear(hidden, hidden, bias=False)
            self.head = nn.Linear(hidden, out)

        def forward(self, x: Any) -> Any:
            h = self.wx(x[:, 0]).tanh()
            states = [h]
            for t in range(1, x.shape[1]):
                h = (self.wx(x[:, t]) + self.wh(h)).tanh()
                states.append(h)
            return self.head(stack(states, 1).mean(1))

    return UnrolledRNN()


def recurrent_conv(lib: SimpleNamespace, channels: int = 3, classes: int = 3) -> Any:
    """One Conv2d + BatchNorm2d pair applied three times, each as a residual step
    x ← x + relu(bn(conv(x))); adaptive average pool and a head."""
    nn, F = lib.nn, lib.F

    class RecurrentConv(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn, self.head = nn.BatchNorm2d(channels), nn.Linear(channels, classes)

        def forward(self, x: Any) -> Any:
            for _ in range(3):
                x = x + F.relu(self.bn(self.conv(x)))
            return self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))

    return RecurrentConv()


def manual_attention(lib: SimpleNamespace, vocab: int = 11, dim: int = 8, heads: int = 2) -> Any:
    """Causal attention written out as users write it: one fused qkv Linear split in three,
    view/permute into heads, q kᵀ·scale, masked_fill(-inf) above the diagonal, softmax, @ v,
    permute/contiguous/view back, a residual and a head. (qkv has no bias: the key bias has
    an exactly-zero gradient, see ``transformer``.)"""
    nn, F = lib.nn, lib.F
    tensor = gg.tensor if lib is GG else torch.tensor

    class ManualAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(vocab, dim)
            self.qkv, self.head = nn.Linear(dim, 3 * dim, bias=False), nn.Linear(dim, vocab)

        def forward(self, tokens: Any) -> Any:
            x = self.emb(tokens)
            b, t, d = x.shape
            q, k, v = (z.view(b, t, heads, d // heads).permute(0, 2, 1, 3) for z in self.qkv(x).split(d, dim=-1))
            scores = q @ k.transpose(-2, -1) * (d // heads) ** -0.5
            scores = scores.masked_fill(tensor(np.triu(np.ones((t, t), dtype=bool), 1)), float("-inf"))
            y = (F.softmax(scores, dim=-1) @ v).permute(0, 2, 1, 3).contiguous().view(b, t, d)
            return self.head(x + y)

    return ManualAttention()


def inplace_view(lib: SimpleNamespace, dim: int = 5, out: int = 3) -> Any:
    """An in-place op on a view of a non-leaf: h = fc(x); h[:, :2] *= 3 (written mul_);
    PyTorch writes it through to h (CopySlices), so the head sees the scaled columns."""
    nn = lib.nn

    class InplaceView(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc, self.head = nn.Linear(dim, dim), nn.Linear(dim, out)

        def forward(self, x: Any) -> Any:
            h = self.fc(x)
            h[:, :2].mul_(3.0)
            return self.head(h.tanh())

    return InplaceView()


def lib_zeros(lib: SimpleNamespace, *shape: int) -> Any:
    return gg.zeros(*shape) if lib is GG else torch.zeros(*shape)


# -------------------------------------------------------------------------- batches
def float_batches(shape: tuple[int, ...], outputs: int, loss: str, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    n = shape[0]
    target = (lambda: rng.standard_normal((n, outputs))) if loss == "mse" else (lambda: rng.integers(0, outputs, n))
    return [(rng.standard_normal(shape), target()) for _ in range(STEPS)]


def token_batches(batch: int, seq: int, vocab: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Next-token prediction: targets are the inputs shifted by one."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(STEPS):
        tokens = rng.integers(0, vocab, (batch, seq + 1))
        out.append((tokens[:, :-1], tokens[:, 1:]))
    return out


def criterion(lib: SimpleNamespace, loss: str, logits: Any, target: Any) -> Any:
    if loss == "mse":
        return lib.F.mse_loss(logits, target)
    return lib.F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


# name: (build, batches, loss)
MODELS: dict[str, tuple[Callable[[SimpleNamespace], Any], Callable[[], list], str]] = {
    "residual-mlp-mse": (residual_mlp, lambda: float_batches((8, 6), 3, "mse", 1), "mse"),
    "residual-mlp-ce": (residual_mlp, lambda: float_batches((8, 6), 3, "ce", 2), "ce"),
    "resnet-bn": (resnet, lambda: float_batches((4, 3, 6, 6), 3, "ce", 3), "ce"),
    "transformer": (transformer, lambda: token_batches(3, 5, 11, 4), "ce"),
    "transformer-padding-mask": (
        lambda lib: transformer(lib, padding_mask=True),
        lambda: token_batches(3, 5, 11, 13),
        "ce",
    ),
    "tied-embeddings": (tied_embeddings, lambda: token_batches(3, 4, 9, 5), "ce"),
    "shared-module": (shared_module, lambda: float_batches((6, 5), 3, "mse", 6), "mse"),
    "detached": (detached, lambda: float_batches((6, 5), 3, "ce", 7), "ce"),
    "gpt2-tied": (gpt2_tied, lambda: token_batches(3, 4, 9, 8), "ce"),
    "batchnorm-twice": (batchnorm_twice, lambda: float_batches((6, 4), 3, "mse", 9), "mse"),
    "dense-concat": (dense_concat, lambda: float_batches((6, 4), 3, "ce", 10), "ce"),
    "unrolled-rnn": (unrolled_rnn, lambda: float_batches((4, 5, 4), 3, "ce", 15), "ce"),
    "recurrent-conv": (recurrent_conv, lambda: float_batches((4, 3, 5, 5), 3, "ce", 16), "ce"),
    "manual-attention": (manual_attention, lambda: token_batches(3, 5, 11, 17), "ce"),
    "inplace-view": (inplace_view, lambda: float_batches((6, 5), 3, "mse", 14), "mse"),
}
# resnet-bn with sgd-momentum and adam is trained (and checked at every step) by the eval-mode test
BASIC = ("sgd-momentum", "adam")
MORE_OPTIMIZERS = ("sgd-nesterov-wd", "adam-amsgrad-wd", "rmsprop-centered", "adagrad")
CASES = (
    [(m, o) for m in MODELS if m not in ("resnet-bn", "inplace-view") for o in BASIC]
    + [(m, "adamw") for m in ("transformer", "transformer-padding-mask", "resnet-bn", "tied-embeddings", "gpt2-tied")]
    + [(m, o) for m in ("transformer", "dense-concat") for o in MORE_OPTIMIZERS]
)


# --------------------------------------------------------------------------- checks
def assert_close(ours: Any, theirs: Any, what: str) -> None:
    """Same dtype, and values within that dtype's tolerance."""
    ours, theirs = to_numpy(ours), to_numpy(theirs)
    assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype}, PyTorch's {theirs.dtype}"
    rtol, atol = TOLERANCE[str(theirs.dtype)]
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=what)


def assert_same_state(model: Any, twin: Any, what: str) -> None:
    """Every parameter and buffer, by name (the two models have the same names)."""
    ours = dict(model.named_parameters()) | dict(model.named_buffers())
    theirs = dict(twin.named_parameters()) | dict(twin.named_buffers())
    assert ours.keys() == theirs.keys(), what
    for name, value in ours.items():
        assert_close(value, theirs[name], f"{what}: {name}")


def assert_same_grads(model: Any, twin: Any, what: str) -> None:
    """Every parameter's gradient; a parameter PyTorch leaves without one must have none here."""
    theirs = dict(twin.named_parameters())
    for name, param in model.named_parameters():
        ref = theirs[name].grad
        if ref is None:
            assert param.grad is None, f"{what}: {name} has a gradient where PyTorch has none"
        else:
            assert param.grad is not None, f"{what}: {name} has no gradient where PyTorch has one"
            assert_close(param.grad, ref, f"{what}: grad of {name}")


def inputs(x: np.ndarray, y: np.ndarray, dtype: str = "float64") -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """(x, y) for glassgrad and for torch, floats in ``dtype``; float inputs require grad (their
    gradient is compared too)."""
    x, y = (a.astype(dtype) if a.dtype.kind == "f" else a for a in (x, y))
    floating = x.dtype.kind == "f"
    xg, xt = gg.tensor(x, requires_grad=floating), torch.tensor(x, requires_grad=floating)
    return (xg, gg.tensor(y)), (xt, torch.tensor(y))


def build_twins(model_name: str, dtype: str = "float64") -> tuple[Any, Any]:
    build = MODELS[model_name][0]
    model = build(GG).to(getattr(gg, dtype))
    twin = copy_into_torch(model, build(TORCH).to(getattr(torch, dtype)))
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in twin.named_parameters()]
    assert_same_state(model, twin, "initial state")
    return model, twin


def train_side_by_side(model_name: str, optimizer_name: str, dtype: str = "float64") -> tuple[Any, Any]:
    _, batches, loss = MODELS[model_name]
    model, twin = build_twins(model_name, dtype)
    make = OPTIMIZERS[optimizer_name]
    opt_gg, opt_torch = make(GG, model.parameters()), make(TORCH, twin.parameters())
    for step, (x, y) in enumerate(batches()):
        (xg, yg), (xt, yt) = inputs(x, y, dtype)
        at = f"{model_name} {optimizer_name} {dtype} step {step}"
        opt_gg.zero_grad()
        opt_torch.zero_grad()
        loss_gg, loss_torch = criterion(GG, loss, model(xg), yg), criterion(TORCH, loss, twin(xt), yt)
        assert_close(loss_gg, loss_torch, f"{at}: loss")
        loss_gg.backward()
        loss_torch.backward()
        if xt.requires_grad:
            assert_close(xg.grad, xt.grad, f"{at}: input grad")
        assert_same_grads(model, twin, at)
        opt_gg.step()
        opt_torch.step()
        assert_same_state(model, twin, f"{at}: after the step")
    return model, twin


@pytest.mark.parametrize(("model_name", "optimizer_name"), CASES)
def test_trains_step_for_step_like_pytorch(model_name: str, optimizer_name: str) -> None:
    train_side_by_side(model_name, optimizer_name)


@pytest.mark.parametrize("model_name", ["residual-mlp-ce", "transformer", "gpt2-tied", "batchnorm-twice"])
def test_float32_training_keeps_float32_and_agrees(model_name: str) -> None:
    """The same loop in float32: every loss, gradient, parameter and buffer stays float32, as in
    PyTorch (assert_close checks dtypes), and agrees to float32 tolerance."""
    train_side_by_side(model_name, "adam", "float32")


@pytest.mark.parametrize("optimizer_name", BASIC)
def test_resnet_eval_mode_after_training(optimizer_name: str) -> None:
    """After training in train mode (batch statistics; running ones updated and compared at
    every step), eval mode normalises with the running statistics: output and gradients agree."""
    model, twin = train_side_by_side("resnet-bn", optimizer_name)
    model.eval()
    twin.eval()
    x, y = float_batches((4, 3, 6, 6), 3, "ce", 11)[0]
    (xg, yg), (xt, yt) = inputs(x, y)
    out_gg, out_torch = model(xg), twin(xt)
    assert_close(out_gg, out_torch, "eval forward")
    for m in (model, twin):
        m.zero_grad()
    criterion(GG, "ce", out_gg, yg).backward()
    criterion(TORCH, "ce", out_torch, yt).backward()
    assert_close(xg.grad, xt.grad, "eval: input grad")
    assert_same_grads(model, twin, "eval")
    assert_same_state(model, twin, "eval: running statistics untouched")


def test_detached_parts_get_no_gradient() -> None:
    """The graph really is cut: the gate has no gradient, and fc1's comes only through fc2."""
    model, twin = build_twins("detached")
    x, y = float_batches((6, 5), 3, "ce", 7)[0]
    (xg, yg), (xt, yt) = inputs(x, y)
    criterion(GG, "ce", model(xg), yg).backward()
    criterion(TORCH, "ce", twin(xt), yt).backward()
    assert model.gate.weight.grad is None and model.gate.bias.grad is None
    assert twin.gate.weight.grad is None
    assert_same_grads(model, twin, "detached")
    assert_close(xg.grad, xt.grad, "detached: input grad")


def test_gradient_accumulation_retain_graph_and_clipping() -> None:
    """Gradients kept across backward calls: zero_grad(set_to_none=False), two micro-batches,
    the first backward twice on one graph (retain_graph=True) as two losses of one trunk would,
    then clip_grad_norm_ (in place on every .grad) and an SGD step with momentum."""
    model, twin = build_twins("residual-mlp-mse")
    opt_gg = gg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    opt_torch = torch.optim.SGD(twin.parameters(), lr=0.05, momentum=0.9)
    batches = float_batches((8, 6), 3, "mse", 12)
    for step in range(0, len(batches), 2):
        at = f"accumulation step {step // 2}"
        opt_gg.zero_grad(set_to_none=False)
        opt_torch.zero_grad(set_to_none=False)
        for micro, (x, y) in enumerate(batches[step : step + 2]):
            (xg, yg), (xt, yt) = inputs(x, y)
            out_gg, out_torch = model(xg), twin(xt)
            first_gg, first_torch = criterion(GG, "mse", out_gg, yg), criterion(TORCH, "mse", out_torch, yt)
            first_gg.backward(retain_graph=True)
            first_torch.backward(retain_graph=True)
            second_gg, second_torch = (out_gg**2).mean(), (out_torch**2).mean()
            assert_close(second_gg, second_torch, f"{at}.{micro}: second loss")
            second_gg.backward()
            second_torch.backward()
            assert_close(xg.grad, xt.grad, f"{at}.{micro}: input grad")
            assert_same_grads(model, twin, f"{at}.{micro}: accumulated")
        norm_gg = gg.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        norm_torch = torch.nn.utils.clip_grad_norm_(twin.parameters(), 0.5)
        assert_close(norm_gg, norm_torch, f"{at}: total norm")
        assert_same_grads(model, twin, f"{at}: clipped")
        opt_gg.step()
        opt_torch.step()
        assert_same_state(model, twin, f"{at}: after the step")


def test_inplace_op_on_a_view_reaches_its_base() -> None:
    """h[:, :2].mul_(3) on a non-leaf h: PyTorch updates h (forward and backward). glassgrad
    must do the same, or refuse with a RuntimeError that names the op; silently leaving h
    unscaled (a different loss, different gradients) is the bug this guards against."""
    try:
        train_side_by_side("inplace-view", "sgd-momentum")
    except RuntimeError as err:
        assert "mul_" in str(err), err
