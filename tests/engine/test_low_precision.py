"""bfloat16 and float16 tensors on the CPU against PyTorch's: dtypes, promotion, casts, printing, ops
computed in float32 and rounded once, autograd, finfo, saving (glassgrad archives and safetensors)."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from safetensors.torch import load_file, save_file

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import kernels

LOW = [(gg.bfloat16, torch.bfloat16), (gg.float16, torch.float16)]
LOW_IDS = ["bfloat16", "float16"]
PAIRS = [
    (gg.bfloat16, torch.bfloat16),
    (gg.float16, torch.float16),
    (gg.float32, torch.float32),
    (gg.float64, torch.float64),
    (gg.int64, torch.int64),
    (gg.int32, torch.int32),
    (gg.uint8, torch.uint8),
    (gg.bool, torch.bool),
]
TOLERANCE = {torch.bfloat16: 2e-2, torch.float16: 2e-3}  # relative to the largest |value|: a few ulps


def name(dtype) -> str:
    """torch.bfloat16 -> "bfloat16", glassgrad.bool -> "bool"."""
    return str(dtype).replace("torch.", "")


def as_torch(t: gg.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The same values as a torch tensor of ``dtype`` (through float32: exact for bf16/f16)."""
    return torch.tensor(t.float().detach().numpy()).to(dtype)


def close(ours: gg.Tensor, theirs: torch.Tensor) -> None:
    """Same dtype as torch's result, values within a few of the low dtype's ulps of torch's."""
    assert name(ours.dtype) == name(theirs.dtype)
    a, b = ours.float().detach().numpy(), theirs.float().detach().numpy()
    assert a.shape == b.shape
    scale = max(float(np.abs(b).max()), 1e-3) if b.size else 1.0
    np.testing.assert_allclose(a, b, rtol=0, atol=TOLERANCE[theirs.dtype] * scale)


def test_dtype_objects_names_and_casts():
    assert gg.bfloat16 == np.dtype("bfloat16") and gg.bfloat16.itemsize == 2 and gg.half is gg.float16
    x = gg.tensor([1.0, 0.1, -3.5], dtype=gg.bfloat16)
    assert x.dtype == gg.bfloat16 and x.is_floating_point() and gg.is_floating_point(x)
    assert x.element_size() == 2 and not gg.tensor([1, 2]).is_floating_point()
    t = torch.tensor([1.0, 0.1, -3.5], dtype=torch.bfloat16)
    np.testing.assert_array_equal(x.float().numpy(), t.float().numpy())  # the same rounding to nearest even
    for ours, theirs in [(x.half(), t.half()), (x.float(), t.float()), (x.double(), t.double()), (x.long(), t.long())]:
        assert name(ours.dtype) == name(theirs.dtype)
        np.testing.assert_array_equal(ours.numpy().astype(np.float64), theirs.double().numpy())
    assert gg.tensor([1, 2]).bfloat16().dtype == gg.bfloat16 and x.to(gg.float16).dtype == gg.float16
    assert x.to(dtype=gg.bfloat16) is x and gg.from_numpy(x.numpy()).dtype == gg.bfloat16
    with pytest.raises(TypeError, match="to: argument 'dtype'"):
        x.to(dtype="bfloat16")  # a name is refused, as PyTorch refuses dtype="bfloat16"


@pytest.mark.parametrize("dtype", [gg.bfloat16, gg.float16], ids=LOW_IDS)
def test_creation_with_a_low_dtype(dtype):
    gg.manual_seed(0)
    base = gg.ones(2, 3, dtype=dtype)
    made = [
        gg.zeros(2, 3, dtype=dtype),
        gg.empty(2, 3, dtype=dtype),
        gg.full((2, 3), 0.5, dtype=dtype),
        gg.zeros_like(base),
        gg.ones_like(base),
        gg.full_like(base, 2.0),
        gg.randn(2, 3, dtype=dtype),
        gg.rand(2, 3, dtype=dtype),
        gg.randn_like(base),
        gg.rand_like(base),
        gg.arange(3, dtype=dtype),
        gg.linspace(0, 1, 3, dtype=dtype),
        gg.eye(2, dtype=dtype),
        base.new_zeros(4),
        gg.tensor([[1.5, 2.0]], dtype=dtype, requires_grad=True),
    ]
    assert all(t.dtype == dtype for t in made)
    assert (
        float(gg.full((1,), 0.1, dtype=dtype).item()) == torch.full((1,), 0.1, dtype=getattr(torch, str(dtype))).item()
    )
    u = gg.rand(1000, dtype=dtype).float().numpy()
    assert 0 <= u.min() and u.max() <= 1 and abs(u.mean() - 0.5) < 0.05


def test_promotion_grid_matches_torch():
    """Every pair of dtypes (tensor with tensor, with a 0-d tensor) and every tensor with Python numbers."""
    for ours_a, theirs_a in PAIRS:
        a, ta = gg.ones(2, dtype=ours_a), torch.ones(2, dtype=theirs_a)
        for ours_b, theirs_b in PAIRS:
            b, tb = gg.ones(2, dtype=ours_b), torch.ones(2, dtype=theirs_b)
            assert name(gg.promote_types(ours_a, ours_b)) == name(torch.promote_types(theirs_a, theirs_b))
            assert name((a + b).dtype) == name((ta + tb).dtype), (ours_a, ours_b)
            zero_d, t_zero_d = gg.ones((), dtype=ours_b), torch.ones((), dtype=theirs_b)
            assert name((a * zero_d).dtype) == name((ta * t_zero_d).dtype), (ours_a, ours_b)
        for number in (2, 2.0, True):
            assert name((a * number).dtype) == name((ta * number).dtype), (ours_a, number)
            assert name((number + a).dtype) == name((number + ta).dtype), (ours_a, number)
    x = gg.ones(2, dtype=gg.bfloat16)
    assert (x / 2).dtype == gg.bfloat16 and (gg.arange(2) / x).dtype == gg.bfloat16
    assert gg.ones(2).exp().dtype == gg.float32 and x.exp().dtype == gg.bfloat16


ELEMENTWISE = {
    "exp": lambda m, x, y: x.exp(),
    "log": lambda m, x, y: x.abs().log(),
    "tanh": lambda m, x, y: x.tanh(),
    "sigmoid": lambda m, x, y: x.sigmoid(),
    "gelu": lambda m, x, y: (F if m is gg else TF).gelu(x),
    "silu": lambda m, x, y: (F if m is gg else TF).silu(x),
    "erf": lambda m, x, y: m.erf(x),
    "div": lambda m, x, y: x / (y.abs() + 0.5),
    "mul_scalar": lambda m, x, y: x * 0.3 + y,
    "pow": lambda m, x, y: x.abs() ** 1.5,
    "where_clamp": lambda m, x, y: m.where(x > 0, x, y).clamp(-0.5, 0.5),
}


@pytest.mark.parametrize(("ours_dtype", "torch_dtype"), LOW, ids=LOW_IDS)
def test_elementwise_ops_match_torch(ours_dtype, torch_dtype):
    rng = np.random.default_rng(0)
    x, y = (gg.tensor(rng.standard_normal((5, 7)), dtype=ours_dtype) for _ in range(2))
    tx, ty = as_torch(x, torch_dtype), as_torch(y, torch_dtype)
    for op, fn in ELEMENTWISE.items():
        ours, theirs = fn(gg, x, y), fn(torch, tx, ty)
        assert name(ours.dtype) == name(theirs.dtype), op
        close(ours, theirs)


@pytest.mark.parametrize(("ours_dtype", "torch_dtype"), LOW, ids=LOW_IDS)
def test_reductions_accumulate_in_float32_as_torch(ours_dtype, torch_dtype):
    """10000 ones sum to 9984 in PyTorch (float32 accumulation, one rounding to bf16); accumulating in
    bfloat16 itself would stop at 256."""
    ones, tones = gg.ones(10000, dtype=ours_dtype), torch.ones(10000, dtype=torch_dtype)
    for ours, theirs in [(ones.sum(), tones.sum()), (ones.cumsum(0)[-1], tones.cumsum(0)[-1])]:
        assert ours.dtype == ours_dtype and ours.item() == theirs.item()
    rng = np.random.default_rng(1)
    x = gg.tensor(rng.standard_normal((6, 300)), dtype=ours_dtype)
    tx = as_torch(x, torch_dtype)
    close(x.sum(1), tx.sum(1))
    close(x.mean(), tx.mean())
    close(x.var(1), tx.var(1))
    close(x.logsumexp(1), tx.logsumexp(1))
    close(x.amax(0), tx.amax(0))
    close(x.norm(), tx.norm())
    assert np.array_equal(x.argmax(1).numpy(), tx.argmax(1).numpy())


@pytest.mark.parametrize(("ours_dtype", "torch_dtype"), LOW, ids=LOW_IDS)
def test_kernel_ops_compute_in_float32_and_round_once(ours_dtype, torch_dtype):
    """matmul, softmax, layer_norm, conv2d, attention: kernels without a low-precision version run in
    float32 (kernels.run) and the result is rounded once, the dtype stays the input's."""
    rng = np.random.default_rng(2)

    def pair(*shape):
        t = gg.tensor(rng.standard_normal(shape), dtype=ours_dtype)
        return t, as_torch(t, torch_dtype)

    a, ta = pair(7, 300)
    b, tb = pair(300, 5)
    close(a @ b, ta @ tb)
    k = gg.ones(3, 300, dtype=ours_dtype) @ gg.ones(300, 2, dtype=ours_dtype)
    assert k.dtype == ours_dtype and np.all(k.float().numpy() == 300)  # not the low dtype's running sum
    close(a.softmax(-1), ta.softmax(-1))
    close(a.log_softmax(0), ta.log_softmax(0))
    w, tw = pair(300)
    close(F.layer_norm(a, (300,), w, w), TF.layer_norm(ta, (300,), tw, tw))
    x, tx = pair(2, 3, 6, 6)
    f, tf = pair(4, 3, 3, 3)
    close(F.conv2d(x, f, padding=1), TF.conv2d(tx, tf, padding=1))
    close(F.avg_pool2d(x, 2), TF.avg_pool2d(tx, 2))
    q, tq = pair(1, 2, 5, 8)
    close(F.scaled_dot_product_attention(q, q, q), TF.scaled_dot_product_attention(tq, tq, tq))
    target = gg.tensor([1, 0, 3, 2, 4, 0, 1])
    close(F.cross_entropy(a[:, :5], target), TF.cross_entropy(ta[:, :5], torch.tensor(target.numpy())))


def test_an_in_place_kernel_on_bfloat16_writes_back():
    """An optimizer step (an in-place kernel) on bf16 parameters updates them: Adam's first step is
    p − η·ĝ/(|ĝ| + ε) = p − η·sign(p) for L = Σ p² (by hand: m̂ = g, √v̂ = |g|)."""
    rng = np.random.default_rng(3)
    p = gg.nn.Parameter(gg.tensor(rng.standard_normal(20) + 0.5, dtype=gg.bfloat16))
    before = p.detach().double().numpy()
    opt = gg.optim.Adam([p], lr=0.1)
    (p * p).sum().backward()
    with kernels.use("adam_update", "numpy"):  # any variant: the widening and write-back are kernels.run's
        opt.step()
    assert p.dtype == gg.bfloat16 and p.grad.dtype == gg.bfloat16
    assert opt.state[p]["exp_avg"].dtype == gg.bfloat16
    close(p, torch.tensor(before - 0.1 * np.sign(before)).bfloat16())
    param = np.ones(2, gg.bfloat16)
    (out,) = kernels.run("sgd_update", param, np.ones(2, gg.bfloat16), None, lr=0.5)
    assert out is param and param.dtype == gg.bfloat16 and np.all(param.astype(np.float32) == 0.5)


@pytest.fixture(scope="module")
def mlp_pair():
    """A 6-16-3 tanh MLP in bfloat16 and its torch twin (the same bf16 weights)."""
    gg.manual_seed(0)
    ours = gg.nn.Sequential(gg.nn.Linear(6, 16), gg.nn.Tanh(), gg.nn.Linear(16, 3)).bfloat16()
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).bfloat16()
    with torch.no_grad():
        for (_, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
            tp.copy_(as_torch(p, torch.bfloat16))
    return ours, theirs


def test_backward_through_a_bfloat16_mlp_matches_torch(mlp_pair):
    ours, theirs = mlp_pair
    rng = np.random.default_rng(4)
    x = gg.tensor(rng.standard_normal((32, 6)), dtype=gg.bfloat16, requires_grad=True)
    y = gg.tensor(rng.integers(0, 3, 32))
    tx = as_torch(x, torch.bfloat16).requires_grad_()
    loss = F.cross_entropy(ours(x), y)
    tloss = TF.cross_entropy(theirs(tx), torch.tensor(y.numpy()))
    close(loss, tloss)
    loss.backward()
    tloss.backward()
    assert x.grad.dtype == gg.bfloat16
    close(x.grad, tx.grad)
    for (label, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert p.grad.dtype == gg.bfloat16, label
        close(p.grad, tp.grad)


def test_printing_shows_the_values_and_dtype_as_torch():
    values = [1.0, 0.1, -3.5, 2.25]
    for ours_dtype, torch_dtype in LOW:
        ours, theirs = repr(gg.tensor(values, dtype=ours_dtype)), repr(torch.tensor(values, dtype=torch_dtype))
        number = r"-?\d+\.\d*(?:e[+-]\d+)?"
        assert [float(v) for v in re.findall(number, ours)] == [float(v) for v in re.findall(number, theirs)]
        assert ours.endswith(f"dtype=glassgrad.{name(ours_dtype)})") and theirs.endswith(f"dtype={torch_dtype})")
    assert "requires_grad=True" in repr(gg.ones(1, dtype=gg.bfloat16, requires_grad=True))
    assert "dtype" not in repr(gg.ones(1)) and "dtype" not in repr(gg.ones(1) > 0)
    assert repr(gg.ones(1, dtype=gg.int8)).endswith("dtype=glassgrad.int8)")


@pytest.mark.parametrize(
    ("ours_dtype", "torch_dtype"), [*LOW, (gg.float32, torch.float32), (gg.float64, torch.float64)]
)
def test_finfo_matches_torch(ours_dtype, torch_dtype):
    ours, theirs = gg.finfo(ours_dtype), torch.finfo(torch_dtype)
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ours.dtype == theirs.dtype and repr(ours) == repr(theirs)
    assert gg.finfo().eps == torch.finfo().eps
    with pytest.raises(TypeError, match="finfo"):
        gg.finfo(gg.int64)


def test_save_load_round_trip_keeps_low_dtypes(tmp_path):
    x = gg.randn(3, 4, dtype=gg.bfloat16, requires_grad=True)
    state = {"w": x, "h": gg.randn(2, dtype=gg.float16), "raw": np.arange(3).astype(gg.bfloat16), "n": [1, 2.5]}
    gg.save(state, tmp_path / "c.pt")
    back = gg.load(tmp_path / "c.pt")
    assert back["w"].dtype == gg.bfloat16 and back["w"].requires_grad
    assert back["h"].dtype == gg.float16 and back["raw"].dtype == gg.bfloat16 and back["n"] == [1, 2.5]
    np.testing.assert_array_equal(back["w"].detach().float().numpy(), x.detach().float().numpy())
    np.testing.assert_array_equal(back["raw"].astype(np.float32), [0, 1, 2])


def test_safetensors_interchange_with_torch(tmp_path):
    gg.manual_seed(1)
    ours = {"bf": gg.randn(3, 2, dtype=gg.bfloat16), "f16": gg.randn(4, dtype=gg.float16), "i": gg.arange(3)}
    gg.save(ours, tmp_path / "ours.safetensors")
    read_by_torch = load_file(tmp_path / "ours.safetensors")
    assert read_by_torch["bf"].dtype == torch.bfloat16 and read_by_torch["f16"].dtype == torch.float16
    for key, t in ours.items():
        np.testing.assert_array_equal(read_by_torch[key].double().numpy(), t.double().numpy())
    theirs = {"w": torch.randn(2, 5).bfloat16(), "h": torch.randn(3, 1).half(), "s": torch.tensor(2.5).bfloat16()}
    save_file(theirs, tmp_path / "theirs.safetensors")
    read_by_us = gg.load(tmp_path / "theirs.safetensors")
    for key, t in theirs.items():
        assert name(read_by_us[key].dtype) == name(t.dtype) and read_by_us[key].shape == tuple(t.shape)
        np.testing.assert_array_equal(read_by_us[key].double().numpy(), t.double().numpy())


def test_bfloat16_on_a_cuda_without_it_is_refused_clearly(monkeypatch):
    """Where CuPy has no bfloat16 (before CuPy 14), making or moving a bf16 tensor on cuda raises a
    TypeError naming the API, before anything is allocated or copied (a CuPy that is there is faked)."""
    from glassgrad.engine import backend

    monkeypatch.setattr(backend, "cupy_module", lambda op=None: np)
    monkeypatch.setattr(backend, "_cuda_bfloat16_missing", lambda: "CuPy 13.3 has no bfloat16 arrays")
    with pytest.raises(TypeError, match="zeros: bfloat16 tensors on cuda need CuPy's bfloat16: CuPy 13.3"):
        gg.zeros(2, dtype=gg.bfloat16, device="cuda")
    with pytest.raises(TypeError, match="randn: bfloat16 tensors on cuda"):
        gg.randn(2, dtype=gg.bfloat16, device="cuda")
    x = gg.ones(2, dtype=gg.bfloat16)
    with pytest.raises(TypeError, match="to: bfloat16 tensors on cuda"):
        x.to("cuda")
    with pytest.raises(TypeError, match="to: bfloat16 tensors on cuda"):
        x.float().to("cuda", gg.bfloat16)
