"""amp/op_lists.py against torch.autocast("cpu", torch.bfloat16), op by op.

Every op glassgrad has that PyTorch's cpu autocast treats specially (and a set of ops it leaves alone)
runs under both autocasts on float32, bfloat16, float16 and float64 inputs, and on a bfloat16/float32
mix; the output dtype (or the fact that it raises) must agree. The table's cpu entries must all be
probed here, so the table cannot name an op that was not checked.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_F

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad.amp import op_lists

# (name in the table or a control's name, call taking (library, functional, *floats), float input shapes)
# the same call runs on glassgrad (gg, F) and PyTorch (torch, torch.nn.functional)
PROBES = [
    ("matmul", lambda t, f, a, b: t.matmul(a, b), [(2, 3), (3, 4)]),
    ("mm", lambda t, f, a, b: t.mm(a, b), [(2, 3), (3, 4)]),
    ("bmm", lambda t, f, a, b: t.bmm(a, b), [(2, 2, 3), (2, 3, 4)]),
    ("einsum", lambda t, f, a, b: t.einsum("ij,jk->ik", a, b), [(2, 3), (3, 4)]),
    ("linear", lambda t, f, x, w, b: f.linear(x, w, b), [(2, 3), (4, 3), (4,)]),
    ("conv1d", lambda t, f, x, w, b: f.conv1d(x, w, b), [(1, 2, 5), (3, 2, 2), (3,)]),
    ("conv2d", lambda t, f, x, w, b: f.conv2d(x, w, b, padding=1), [(1, 2, 4, 4), (3, 2, 3, 3), (3,)]),
    ("conv_transpose2d", lambda t, f, x, w, b: f.conv_transpose2d(x, w, b), [(1, 2, 3, 3), (2, 3, 2, 2), (3,)]),
    ("scaled_dot_product_attention", lambda t, f, q, k, v: f.scaled_dot_product_attention(q, k, v), [(1, 2, 3, 4)] * 3),
    ("prelu", lambda t, f, x, w: f.prelu(x, w), [(2, 3), (3,)]),
    ("prod", lambda t, f, x: t.prod(x), [(2, 3)]),
    ("trace", lambda t, f, x: t.trace(x), [(3, 3)]),
    ("pad_reflect", lambda t, f, x: f.pad(x, (1, 1), mode="reflect"), [(1, 2, 4)]),
    ("pad_replicate", lambda t, f, x: f.pad(x, (1, 1, 1, 1), mode="replicate"), [(1, 2, 3, 3)]),
    ("mse_loss", lambda t, f, x, y: f.mse_loss(x, y), [(2, 3), (2, 3)]),
    ("l1_loss", lambda t, f, x, y: f.l1_loss(x, y), [(2, 3), (2, 3)]),
    ("huber_loss", lambda t, f, x, y: f.huber_loss(x, y), [(2, 3), (2, 3)]),
    ("smooth_l1_loss", lambda t, f, x, y: f.smooth_l1_loss(x, y), [(2, 3), (2, 3)]),
    ("binary_cross_entropy", lambda t, f, x, y: f.binary_cross_entropy(x.sigmoid(), y.sigmoid()), [(2, 3), (2, 3)]),
    ("binary_cross_entropy_with_logits", lambda t, f, x, y: f.binary_cross_entropy_with_logits(x, y), [(2, 3)] * 2),
    ("kl_div", lambda t, f, x, y: f.kl_div(x, y, reduction="batchmean"), [(2, 3), (2, 3)]),
    ("cross_entropy", lambda t, f, x: f.cross_entropy(x, t.tensor([0, 2])), [(2, 3)]),
    ("nll_loss", lambda t, f, x: f.nll_loss(x, t.tensor([0, 2])), [(2, 3)]),
    ("cat", lambda t, f, a, b: t.cat([a, b]), [(2, 3), (1, 3)]),
    ("stack", lambda t, f, a, b: t.stack([a, b], 1), [(2, 3), (2, 3)]),
    ("index_copy", lambda t, f, x, s: x.index_copy(0, t.tensor([1]), s), [(2, 3), (1, 3)]),
    # controls: on no cpu list, so they run in the dtypes they are given
    ("dot", lambda t, f, a, b: t.dot(a, b), [(3,), (3,)]),
    ("softmax", lambda t, f, x: x.softmax(-1), [(2, 3)]),
    ("log_softmax", lambda t, f, x: f.log_softmax(x, -1), [(2, 3)]),
    ("layer_norm", lambda t, f, x, w, b: f.layer_norm(x, (3,), w, b), [(2, 3), (3,), (3,)]),
    ("group_norm", lambda t, f, x, w, b: f.group_norm(x, 1, w, b), [(2, 3, 2), (3,), (3,)]),
    ("sum", lambda t, f, x: x.sum(), [(2, 3)]),
    ("cumsum", lambda t, f, x: x.cumsum(0), [(2, 3)]),
    ("norm", lambda t, f, x: x.norm(), [(2, 3)]),
    ("logsumexp", lambda t, f, x: x.logsumexp(0), [(2, 3)]),
    ("softplus", lambda t, f, x: f.softplus(x), [(2, 3)]),
    ("exp", lambda t, f, x: x.exp(), [(2, 3)]),
    ("gelu", lambda t, f, x: f.gelu(x), [(2, 3)]),
    ("add", lambda t, f, a, b: a + b, [(2, 3), (2, 3)]),
    ("pad_circular", lambda t, f, x: f.pad(x, (1, 1), mode="circular"), [(1, 2, 4)]),
    ("max_pool2d", lambda t, f, x: f.max_pool2d(x, 2), [(1, 1, 4, 4)]),
    ("embedding", lambda t, f, w: f.embedding(t.tensor([0, 2]), w), [(3, 2)]),
]

NAMES = {
    "float32": (gg.float32, torch.float32),
    "bfloat16": (gg.bfloat16, torch.bfloat16),
    "float16": (gg.float16, torch.float16),
    "float64": (gg.float64, torch.float64),
}
# each input in one dtype; then the first input bfloat16 and the others float32
CASES = [[name] * 4 for name in NAMES] + [["bfloat16", "float32", "float32", "float32"]]


def _run(lib: str, call, arrays: list[np.ndarray], dtype_names: list[str]) -> str:
    """The output dtype's name of ``call`` under the library's cpu bfloat16 autocast, or "raises"."""
    if lib == "gg":
        inputs = [gg.tensor(a).to(NAMES[d][0]) for a, d in zip(arrays, dtype_names, strict=False)]
        region, t, f = gg.autocast("cpu", dtype=gg.bfloat16), gg, F
    else:
        inputs = [torch.tensor(a).to(NAMES[d][1]) for a, d in zip(arrays, dtype_names, strict=False)]
        region, t, f = torch.autocast("cpu", dtype=torch.bfloat16), torch, torch_F
    try:
        with region:
            out = call(t, f, *inputs)
    except (RuntimeError, TypeError, ValueError, NotImplementedError):
        return "raises"
    return str(out.dtype).removeprefix("torch.")


def test_every_cpu_table_entry_is_probed() -> None:
    probed = {name for name, _, _ in PROBES}
    listed = set().union(*op_lists.OP_LISTS["cpu"].values())
    assert listed <= probed, f"table entries without a probe: {sorted(listed - probed)}"


def test_output_dtypes_match_torch_cpu_autocast() -> None:
    rng = np.random.default_rng(0)
    mismatches = []
    for name, call, shapes in PROBES:
        arrays = [rng.uniform(0.5, 1.5, size=s).astype(np.float32) for s in shapes]
        for case in CASES:
            ours, theirs = _run("gg", call, arrays, case), _run("torch", call, arrays, case)
            if ours != theirs:
                mismatches.append(f"{name} {case[: len(shapes)]}: glassgrad {ours}, torch {theirs}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("device_type", ["cpu", "cuda"])
def test_lists_are_disjoint_and_policy_reads_them(device_type: str) -> None:
    lists = op_lists.OP_LISTS[device_type]
    names = list(lists.values())
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not a & b
    for rule, ops in lists.items():
        for op in ops:
            assert op_lists.policy(device_type, op) == rule
    assert op_lists.policy(device_type, "relu") is None
