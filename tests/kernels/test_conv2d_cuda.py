"""The implicit-GEMM conv2d kernels (kernels/conv2d/cuda/, launched by cuda_implicit_gemm.py).

On the CPU: the loader's index math (implicit_gemm.cuh's ConvGemm table, digit counters and
gather kinds) written once more in NumPy and run over whole operands, whose products must give
the reference's forward, input gradient and weight gradient, and whose forward A must be the
reference's im2col; the header itself compiled for the CPU (implicit_gemm_host.cpp) and driven
through the block and tile loops; the kernels themselves on CPU threads (implicit_gemm_threads.cpp,
ldmatrix and mma.sync emulated from the PTX fragment layouts); the tile walk and the split-K
partition; the launchers on NumPy arrays (grid, block, template instance, layout from strides).
On a GPU (``-m gpu``): every variant against the reference, NCHW and channels_last.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from glassgrad import kernels
from glassgrad.kernels.conv2d import cuda_implicit_gemm as ig
from glassgrad.kernels.conv2d import reference
from glassgrad.kernels.conv2d.geometry import ConvGeometry

CUDA_DIR = Path(ig.__file__).parent / "cuda"
OPS = list(ig.OPS)
#: the .cu's BK per variant: SIMT's template argument; the mma kernel's two mma k-steps (tf32 k8, bf16 k16)
BK = {"simt": ig.SIMT["BK"], "tf32": 16, "bf16": 32}

#: (name, (N, C, H, W), (K, C/G, R, S), stride, padding, dilation, groups)
GEOMETRIES = [
    ("1x1", (2, 3, 5, 4), (4, 3, 1, 1), (1, 1), (0, 0), (1, 1), 1),
    ("3x3 stride 2 pad 1", (2, 4, 9, 7), (5, 4, 3, 3), (2, 2), (1, 1), (1, 1), 1),
    ("3x3 dilation 2 pad 2", (1, 3, 9, 10), (2, 3, 3, 3), (1, 1), (2, 2), (2, 2), 1),
    ("groups 2, stride (2,1), pad (0,1)", (2, 4, 8, 7), (6, 2, 3, 2), (2, 1), (0, 1), (1, 1), 2),
    ("7x7 stride 2 pad 3", (1, 3, 13, 11), (4, 3, 7, 7), (2, 2), (3, 3), (1, 1), 1),
    ("non-square 2x5, dilation (1,2), stride (1,3)", (1, 2, 6, 17), (3, 2, 2, 5), (1, 3), (1, 2), (1, 2), 1),
    ("depthwise 3->6, stride 3 leaves a remainder", (1, 3, 10, 8), (6, 1, 3, 3), (3, 3), (0, 1), (1, 1), 3),
]


def _geometry(x_shape, w_shape, stride, padding, dilation, groups) -> ConvGeometry:
    return ConvGeometry.of(x_shape, w_shape, stride, padding, dilation, groups)


def _options(stride, padding, dilation, groups) -> dict:
    return {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


def _stored(shape, layout: str, rng) -> tuple[np.ndarray, np.ndarray]:
    """(NCHW view, its contiguous memory): channels_last memory when layout is NHWC."""
    n, c, h, w = shape
    if layout == "LAYOUT_NHWC":
        memory = rng.standard_normal((n, h, w, c))
        return memory.transpose(0, 3, 1, 2), memory
    memory = rng.standard_normal(shape)
    return memory, memory


# --- implicit_gemm.cuh, once more in NumPy ------------------------------------------------


def digits(k, r1: int, r2: int):
    """split_digits: k = (d0·r1 + d1)·r2 + d2."""
    d0 = k // (r1 * r2)
    rem = k - d0 * r1 * r2
    d1 = rem // r2
    return d0, d1, rem - d1 * r2


def advance(d: list[int], step: int, r1: int, r2: int) -> None:
    """advance_digits: the carry counter."""
    d[2] += step
    while d[2] >= r2:
        d[2] -= r2
        d[1] += 1
        if d[1] == r1:
            d[1], d[0] = 0, d[0] + 1


def combine(kind: str, g: ConvGeometry, s: dict, row: tuple, kc: tuple):
    """(offset, valid) of every (row, k) pair: row parts as columns, k parts as rows of a grid."""
    (ro, rh, rw), (ko, kh, kw) = (a[:, None] for a in row), (a[None, :] for a in kc)
    if kind == "plain":
        off = ro + ko
        return off, np.ones(off.shape, bool)
    if kind == "x":
        h, w = rh + kh, rw + kw
        return ro + ko + h * s["xh"] + w * s["xw"], (h >= 0) & (h < g.height) & (w >= 0) & (w < g.width)
    hs, ws = rh + kh, rw + kw  # dy at (hs / sh, ws / sw) when exact and in range
    (sh, sw), (p_, q_) = g.stride, (g.out_height, g.out_width)
    pp, qq = np.floor_divide(hs, sh), np.floor_divide(ws, sw)
    valid = (hs >= 0) & (ws >= 0) & (pp * sh == hs) & (qq * sw == ws) & (pp < p_) & (qq < q_)
    return ro + ko + pp * s["yp"] + qq * s["yq"], valid


def conv_gemm(op: str, layout: str, g: ConvGeometry, s: dict, group: int) -> dict:
    """ConvGemm<OP, LAYOUT>: sizes, both operands' gather kinds and partial coordinates, output offsets."""
    c_, k_ = g.in_channels // g.groups, g.out_channels // g.groups
    (r_, s_), (sh, sw), (ph, pw), (dh, dw) = g.kernel, g.stride, g.padding, g.dilation
    p_, q_ = g.out_height, g.out_width
    nchw = layout == "LAYOUT_NCHW"
    rows, cols, depth = ig.gemm_shape(op, g)
    k = np.arange(depth)
    m, n = np.arange(rows), np.arange(cols)
    zero = np.zeros_like
    if op == "conv2d":
        c, r, t = digits(k, r_, s_) if nchw else (lambda d: (d[2], d[0], d[1]))(digits(k, s_, c_))
        b_, pp, qq = digits(m, p_, q_)
        a = ("x", (b_ * s["xn"] + group * c_ * s["xc"], pp * sh - ph, qq * sw - pw), (c * s["xc"], r * dh, t * dw))
        b = ("plain", ((group * k_ + n) * s["wk"], zero(n), zero(n)), (c * s["wc"] + r * s["wr"] + t * s["ws"], k, k))
        out = (b_ * s["yn"] + pp * s["yp"] + qq * s["yq"], (group * k_ + n) * s["yk"])
    elif op == "conv2d_grad_input":
        ko, r, t = digits(k, r_, s_) if nchw else (lambda d: (d[2], d[0], d[1]))(digits(k, s_, k_))
        b_, hh, ww = digits(m, g.height, g.width)
        a = ("dy", (b_ * s["yn"] + group * k_ * s["yk"], hh + ph, ww + pw), (ko * s["yk"], -r * dh, -t * dw))
        b = ("plain", (n * s["wc"], zero(n), zero(n)), ((group * k_ + ko) * s["wk"] + r * s["wr"] + t * s["ws"], k, k))
        out = (b_ * s["xn"] + hh * s["xh"] + ww * s["xw"], (group * c_ + n) * s["xc"])
    else:
        b_, pp, qq = digits(k, p_, q_)
        c, r, t = digits(n, r_, s_) if nchw else (lambda d: (d[2], d[0], d[1]))(digits(n, s_, c_))
        a = (
            "plain",
            ((group * k_ + m) * s["yk"], zero(m), zero(m)),
            (b_ * s["yn"] + pp * s["yp"] + qq * s["yq"], k, k),
        )
        b = ("x", ((group * c_ + c) * s["xc"], r * dh, t * dw), (b_ * s["xn"], pp * sh - ph, qq * sw - pw))
        per_out = c_ * r_ * s_
        out = (m * per_out, group * k_ * per_out + (c * r_ + r) * s_ + t)
    return {"a": a, "b": b, "out": out, "shape": (rows, cols, depth)}


def gathered(kind_parts: tuple, g: ConvGeometry, s: dict, memory: np.ndarray, transpose: bool) -> np.ndarray:
    """An operand as the kernel's loader reads it: rows × reduction (B transposed back to reduction × cols)."""
    kind, row, kc = kind_parts
    off, valid = combine(kind, g, s, row, kc)
    values = np.where(valid, memory.ravel()[np.where(valid, off, 0)], 0.0)
    return values.T if transpose else values


def _strides(names: str, a: np.ndarray) -> dict:
    return dict(zip(names.split(), ig.element_strides(a), strict=True))


def emulate(op: str, layout: str, g: ConvGeometry, x, w, y) -> np.ndarray:
    """The op's result from the emulated gathers: (x or dx, w, y or dy) are (view, memory) pairs."""
    s = {**_strides("xn xc xh xw", x[0]), **_strides("wk wc wr ws", w[0]), **_strides("yn yk yp yq", y[0])}
    out = np.zeros(
        g.weight_shape if op == "conv2d_grad_weight" else (g.output_shape if op == "conv2d" else g.input_shape)
    )
    flat = out.reshape(-1)
    a_memory, b_memory = {"conv2d": (x, w), "conv2d_grad_input": (y, w), "conv2d_grad_weight": (y, x)}[op]
    for group in range(g.groups):
        gemm = conv_gemm(op, layout, g, s, group)
        a = gathered(gemm["a"], g, s, a_memory[1], False)
        b = gathered(gemm["b"], g, s, b_memory[1], True)
        row_off, col_off = gemm["out"]
        if op == "conv2d_grad_weight":
            flat[row_off[:, None] + col_off[None, :]] = a @ b
        else:  # the output slots' strides are the fresh contiguous output's
            assert ig.element_strides(out) == tuple(_out_strides(op, s)), "test uses contiguous outputs"
            flat[row_off[:, None] + col_off[None, :]] = a @ b
    return out


def _out_strides(op: str, s: dict) -> list[int]:
    keys = "yn yk yp yq" if op == "conv2d" else "xn xc xh xw"
    return [s[k] for k in keys.split()]


def _problem(geometry, layout: str, seed: int):
    name, x_shape, w_shape, stride, padding, dilation, groups = geometry
    rng = np.random.default_rng(seed)
    g = _geometry(x_shape, w_shape, stride, padding, dilation, groups)
    x = _stored(x_shape, layout, rng)
    w = (rng.standard_normal(w_shape),) * 2
    y = _stored(g.output_shape, layout, rng)
    return g, x, w, y, _options(stride, padding, dilation, groups)


@pytest.mark.parametrize("layout", ig.LAYOUTS)
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda c: c[0])
def test_emulated_gathers_give_the_reference(geometry, layout: str) -> None:
    """For every op: the products of the loader's gathered operands are the reference's results."""
    g, x, w, y, options = _problem(geometry, layout, len(geometry[0]))
    ref = {op: kernels.reference(op, "cpu") for op in OPS}
    dx_memory = np.zeros(g.input_shape)  # dgrad writes a fresh contiguous dx through the x stride slots
    y_out = np.zeros(g.output_shape)
    got = emulate("conv2d", layout, g, x, w, (y_out, y_out))
    np.testing.assert_allclose(got, ref["conv2d"](x[0], w[0], None, **options), atol=1e-12)
    got = emulate("conv2d_grad_input", layout, g, (dx_memory, dx_memory), w, y)
    np.testing.assert_allclose(got, ref["conv2d_grad_input"](y[0], w[0], g.input_shape, **options), atol=1e-12)
    got = emulate("conv2d_grad_weight", layout, g, x, w, y)
    np.testing.assert_allclose(got, ref["conv2d_grad_weight"](x[0], y[0], g.weight_shape, **options), atol=1e-12)


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda c: c[0])
def test_forward_operand_a_is_im2col(geometry) -> None:
    """The gathered A of fprop (rows (n,p,q), reduction (c,r,s) or (r,s,c)) is the reference's im2col."""
    for layout in ig.LAYOUTS:
        g, x, w, _, _ = _problem(geometry, layout, 7)
        s = {**_strides("xn xc xh xw", x[0]), **_strides("wk wc wr ws", w[0]), "yn": 0, "yk": 0, "yp": 0, "yq": 0}
        cols = reference.im2col(x[0], g)  # (N, G, Cg·R·S, P·Q)
        cg, (r_, s_) = g.in_channels // g.groups, g.kernel
        for group in range(g.groups):
            a = gathered(conv_gemm("conv2d", layout, g, s, group)["a"], g, s, x[1], False)
            a = a.reshape(g.batch, g.positions, -1)
            if layout == "LAYOUT_NHWC":  # reduction (r, s, c) back to im2col's (c, r, s)
                a = a.reshape(g.batch, g.positions, r_, s_, cg).transpose(0, 1, 4, 2, 3).reshape(a.shape)
            np.testing.assert_array_equal(a, cols[:, group].transpose(0, 2, 1))


HOST_SOURCE = Path(__file__).with_name("implicit_gemm_host.cpp")
#: the host harness's tile configs: (BM, BN, BK, THREADS) of SIMT, mma tf32, mma bf16 (implicit_gemm_host.cpp)
HOST_CONFIGS = {"simt": 0, "tf32": 1, "bf16": 2}


@pytest.fixture(scope="module")
def host_harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """implicit_gemm.cuh compiled for the CPU (g++), driven through the kernels' block and tile loops."""
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        pytest.skip("no host C++ compiler")
    binary = tmp_path_factory.mktemp("host") / "implicit_gemm_host"
    subprocess.run([compiler, "-std=c++17", "-O0", "-o", str(binary), str(HOST_SOURCE)], check=True, timeout=120)
    return binary


def _host_problem(op: str, layout: str, variant: str, g: ConvGeometry, x, w, y, splits_granule: int | None):
    """(stdin text, output length, splits, k_per_split) of one problem for the host harness."""
    depth = ig.gemm_shape(op, g)[2]
    per = depth if splits_granule is None else splits_granule
    splits = -(-depth // per)
    a, b = {"conv2d": (x, w), "conv2d_grad_input": (y, w), "conv2d_grad_weight": (y, x)}[op]
    if op == "conv2d":
        out_size, strides = int(np.prod(g.output_shape)), (x[0], w[0], np.zeros(g.output_shape))
    elif op == "conv2d_grad_input":
        out_size, strides = int(np.prod(g.input_shape)), (np.zeros(g.input_shape), w[0], y[0])
    else:
        out_size, strides = splits * int(np.prod(g.weight_shape)), (x[0], w[0], y[0])
    params = ig.conv_params(g, *(ig.element_strides(s) for s in strides), per)
    head = [list(ig.OPS).index(op), ig.LAYOUTS.index(layout), HOST_CONFIGS[variant], *params, splits]
    text = " ".join(map(str, head))
    for memory in (a[1], b[1]):
        text += f"\n{memory.size}\n" + " ".join(repr(float(v)) for v in memory.ravel())
    return text + f"\n{out_size}\n", out_size, splits


@pytest.mark.parametrize("layout", ig.LAYOUTS)
def test_the_header_itself_on_the_cpu_gives_the_reference(host_harness: Path, layout: str) -> None:
    """implicit_gemm.cuh (not a transcription) on every geometry, op and tile config, split-K included."""
    problems, wants = [], []
    for seed, geometry in enumerate(GEOMETRIES):
        g, x, w, y, options = _problem(geometry, layout, seed)
        ref = {op: kernels.reference(op, "cpu") for op in OPS}
        want = {
            "conv2d": ref["conv2d"](x[0], w[0], None, **options),
            "conv2d_grad_input": ref["conv2d_grad_input"](y[0], w[0], g.input_shape, **options),
            "conv2d_grad_weight": ref["conv2d_grad_weight"](x[0], y[0], g.weight_shape, **options),
        }
        for op, variant in itertools.product(OPS, HOST_CONFIGS):
            granule = ig.SPLIT_K_GRANULE if op == "conv2d_grad_weight" else None
            text, size, splits = _host_problem(op, layout, variant, g, x, w, y, granule)
            problems.append(text)
            wants.append((geometry[0], op, variant, splits, want[op]))
    run = subprocess.run([str(host_harness)], input="".join(problems), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    values = np.array(run.stdout.split(), dtype=float)
    at = 0
    for name, op, variant, splits, want in wants:
        got = values[at : at + splits * want.size].reshape(splits, *want.shape).sum(axis=0)  # the fp32 reduce
        at += splits * want.size
        np.testing.assert_allclose(got, want, atol=1e-10, err_msg=f"{name} {op} {variant} {layout}")
    assert at == values.size
    assert any(w[3] > 1 for w in wants)  # split-K was exercised


THREADS_SOURCE = Path(__file__).with_name("implicit_gemm_threads.cpp")
VARIANTS = ["simt", "tf32", "bf16"]
#: geometries for the threaded run (its cost is thread switches: small ones, edges and split-K included)
THREADED_GEOMETRIES = [GEOMETRIES[3]]


@pytest.fixture(scope="module")
def threaded_kernels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .cu kernels compiled for the CPU: a std::thread per CUDA thread, warp instructions emulated."""
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        pytest.skip("no host C++ compiler")
    binary = tmp_path_factory.mktemp("threads") / "implicit_gemm_threads"
    shapes = [
        f"-DSIMT_SHAPE={','.join(map(str, ig.SIMT.values()))}",
        f"-DMMA_SHAPE={','.join(map(str, ig.MMA.values()))}",
    ]
    cmd = [compiler, "-std=c++20", "-O0", "-pthread", *shapes, "-o", str(binary), str(THREADS_SOURCE)]
    subprocess.run(cmd, check=True, timeout=300)
    return binary


def _bf16_rounded(pair: tuple) -> tuple:
    """A (view, memory) pair with its values rounded to bfloat16 (the same view of the new memory)."""
    from glassgrad.kernels.cuda.bfloat16 import from_bfloat16_bits, to_bfloat16_bits

    view, memory = pair
    rounded = from_bfloat16_bits(to_bfloat16_bits(memory.astype(np.float32))).reshape(memory.shape).astype(float)
    return (rounded if view is memory else rounded.transpose(0, 3, 1, 2)), rounded


def test_the_kernels_themselves_on_cpu_threads(threaded_kernels: Path) -> None:
    """implicit_gemm_simt.cu and implicit_gemm_mma.cu (both elements) against the reference: every op,
    layout and split-K, the block's threads as std::threads (tf32 rounds its inputs: TF32 tolerance)."""
    problems, wants = [], []
    for (seed, geometry), layout, variant in itertools.product(enumerate(THREADED_GEOMETRIES), ig.LAYOUTS, VARIANTS):
        g, x, w, y, options = _problem(geometry, layout, seed)
        if variant == "bf16":  # the reference runs on the bf16-rounded values the kernel reads
            x, w, y = (_bf16_rounded(pair) for pair in (x, w, y))
        ref = {op: kernels.reference(op, "cpu") for op in OPS}
        want = {
            "conv2d": ref["conv2d"](x[0], w[0], None, **options),
            "conv2d_grad_input": ref["conv2d_grad_input"](y[0], w[0], g.input_shape, **options),
            "conv2d_grad_weight": ref["conv2d_grad_weight"](x[0], y[0], g.weight_shape, **options),
        }
        for op in OPS:
            granule = ig.SPLIT_K_GRANULE if op == "conv2d_grad_weight" else None
            text, _, splits = _host_problem(op, layout, variant, g, x, w, y, granule)
            head = f"{VARIANTS.index(variant)} {list(ig.OPS).index(op)} {ig.LAYOUTS.index(layout)} "
            problems.append(head + text.split(" ", 3)[3])  # the host harness's header is op, layout, config
            wants.append((geometry[0], op, variant, layout, splits, want[op]))
    run = subprocess.run([str(threaded_kernels)], input="".join(problems), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    values = np.array(run.stdout.split(), dtype=float)
    at = 0
    for name, op, variant, layout, splits, want in wants:
        got = values[at : at + splits * want.size].reshape(splits, *want.shape).sum(axis=0)
        at += splits * want.size
        err = np.linalg.norm(got - want) / np.linalg.norm(want)
        assert err < {"tf32": 5e-3}.get(variant, 1e-5), (name, op, variant, layout, err)
    assert at == values.size


def tile_walk(rows: int, bk: int, threads: int, row_fast: bool):
    """TileWalk: (thread, i) -> (row, kk) of every element a thread loads."""
    per = rows * bk // threads
    for tid, i in itertools.product(range(threads), range(per)):
        if row_fast:
            yield tid, i, tid % rows, tid // rows + i * (threads // rows)
        else:
            yield tid, i, tid // bk + i * (threads // bk), tid % bk


def _walks():
    """(rows, BK, THREADS, ROW_FAST) of every operand tile the variants load."""
    simt, mma = ig.SIMT, ig.MMA
    shapes = [(simt["BM"], BK["simt"], simt["THREADS"]), (simt["BN"], BK["simt"], simt["THREADS"])]
    for v in ("tf32", "bf16"):
        shapes += [(mma["BM"], BK[v], mma["THREADS"]), (mma["BN"], BK[v], mma["THREADS"])]
    return [(*shape, fast) for shape in shapes for fast in (True, False)]


@pytest.mark.parametrize(("rows", "bk", "threads", "row_fast"), _walks())
def test_tile_walk_loads_every_element_once(rows: int, bk: int, threads: int, row_fast: bool) -> None:
    seen = sorted((r, k) for _, _, r, k in tile_walk(rows, bk, threads, row_fast))
    assert seen == sorted(itertools.product(range(rows), range(bk)))
    if row_fast:  # one row per thread: the row table is read once per tile, k advances by a constant step
        assert threads % rows == 0


@pytest.mark.parametrize(("r1", "r2"), [(3, 3), (1, 1), (7, 1), (1, 5), (5, 64)])
@pytest.mark.parametrize("step", [1, 2, 4])
def test_digit_counter_matches_division(r1: int, r2: int, step: int) -> None:
    d = list(digits(5, r1, r2))
    for k in range(5, 5 + 40 * step, step):
        assert tuple(d) == digits(k, r1, r2), (k, d)
        advance(d, step, r1, r2)


def test_split_k_tiles_cover_the_reduction_once() -> None:
    """The wgrad tile loop: slices [s·per, min(depth, (s+1)·per)) in k-tiles of BK, tail zero-filled."""
    for depth, blocks, sms in [(1, 1, 132), (100, 4, 132), (32 * 56 * 56, 8, 132), (2 * 7 * 7, 64, 132), (10**5, 1, 8)]:
        splits, per = ig.split_k(depth, blocks, sms)
        assert 1 <= splits <= ig.SPLIT_K_MAX and per % ig.SPLIT_K_GRANULE == 0
        assert (splits - 1) * per < depth <= splits * per, (depth, splits, per)  # no empty slice
        for bk in set(BK.values()):
            counts = np.zeros(depth, int)
            for split in range(splits):
                begin, end = split * per, min(depth, (split + 1) * per)
                k = (np.arange(begin, end, bk)[:, None] + np.arange(bk)).ravel()
                np.add.at(counts, k[k < end], 1)
            assert (counts == 1).all()
    assert ig.split_k(32 * 56 * 56, 8, 132)[0] > 1  # a small output tile grid gets slices
    assert ig.split_k(1000, 10**4, 132) == (1, 1024)  # a full grid does not


# --- the .cu files and the launchers agree -------------------------------------------------


def test_param_names_are_the_headers_order() -> None:
    text = (CUDA_DIR / "implicit_gemm.cuh").read_text(encoding="utf-8")
    names = re.search(r"#define CONV_INT_NAMES\s*\\?\s*([^\n]+)", text).group(1)
    assert tuple(n.strip() for n in names.split(",")) == ig.PARAM_NAMES
    args = re.search(r"#define CONV_INT_ARGS(.*?)\n#define", text, re.S).group(1)
    assert tuple(re.findall(r"int (\w+)", args)) == ig.PARAM_NAMES
    for op in ig.OPS.values():
        assert re.search(rf"\b{op}\s*=\s*\d", text), op
    for layout in ig.LAYOUTS:
        assert re.search(rf"\b{layout}\s*=\s*\d", text), layout


def _template_parameters(file: str, kernel_name: str) -> list[str]:
    text = (CUDA_DIR / file).read_text(encoding="utf-8")
    match = re.search(
        r"template\s*<([^>]*)>\s*__global__\s+void\s+(?:__launch_bounds__\([^)]*\)\s*)?" + kernel_name, text
    )
    return [p.split()[-1] for p in match.group(1).split(",")]


def test_template_parameters_are_the_launchers_in_order() -> None:
    assert _template_parameters("implicit_gemm_simt.cu", "conv2d_implicit_gemm_simt") == ["OP", "LAYOUT", *ig.SIMT]
    assert _template_parameters("implicit_gemm_mma.cu", "conv2d_implicit_gemm_mma") == ["T", "OP", "LAYOUT", *ig.MMA]


def test_layout_is_read_from_strides() -> None:
    x = np.zeros((2, 8, 5, 6), np.float32)
    assert ig.layout_of(x) == "LAYOUT_NCHW"
    assert ig.layout_of(np.zeros((2, 5, 6, 8), np.float32).transpose(0, 3, 1, 2)) == "LAYOUT_NHWC"
    assert ig.layout_of(np.zeros((2, 5, 6, 1), np.float32).transpose(0, 3, 1, 2)) == "LAYOUT_NCHW"  # one channel
    assert ig.layout_of(x[:, :, :, ::2]) == "LAYOUT_NCHW"


class _Launches:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def kernel(self, path, name, name_expressions=(), defines=None):
        return lambda grid, block, args: self.calls.append(
            (Path(path).name, name, list(name_expressions), grid, block, args)
        )


@pytest.fixture
def launches(monkeypatch: pytest.MonkeyPatch) -> _Launches:
    recorder = _Launches()
    monkeypatch.setattr(ig, "kernel", recorder.kernel)
    monkeypatch.setattr(ig, "_multiprocessors", lambda: 132)
    return recorder


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("layout", ig.LAYOUTS)
@pytest.mark.parametrize("op", OPS)
def test_launchers_ask_for_instances_built_here(launches: _Launches, op: str, layout: str, variant: str) -> None:
    """Grid (N tiles, M tiles, groups·splits), block THREADS, the instance for the op and the layout of the
    strides, the integer arguments in PARAM_NAMES order; split-K adds one reduce launch."""
    dtype = np.uint16 if variant == "bf16" else np.float32
    _, x_shape, w_shape, stride, padding, dilation, groups = GEOMETRIES[3]
    x_shape = (4, 4, 40, 36)  # enough N·P·Q for split-K
    g = _geometry(x_shape, w_shape, stride, padding, dilation, groups)
    rng = np.random.default_rng(0)
    x = _stored(x_shape, layout, rng)[0].astype(dtype)
    dy = _stored(g.output_shape, layout, rng)[0].astype(dtype)
    w = np.ones(w_shape, dtype)
    options = _options(stride, padding, dilation, groups)
    fn = kernels.variant(op, "cuda", f"implicit_gemm_{variant}")
    args = {"conv2d": (x, w, None), "conv2d_grad_input": (dy, w, x_shape), "conv2d_grad_weight": (x, dy, w_shape)}[op]
    result = fn(*args, **options)
    assert result.dtype == np.float32
    assert result.shape == {"conv2d": g.output_shape, "conv2d_grad_input": g.input_shape}.get(op, g.weight_shape)
    file, name, expressions, grid, block, kernel_args = launches.calls[0]
    assert expressions == ig.instances(file) and name in expressions
    assert f"{ig.OPS[op]},{layout}," in name
    bm, bn, threads = ig._tile(variant)
    assert block == (threads,)
    rows, cols, depth = ig.gemm_shape(op, g)
    splits, per = (
        ig.split_k(depth, -(-rows // bm) * -(-cols // bn) * groups, 132) if op == "conv2d_grad_weight" else (1, depth)
    )
    assert grid == (-(-cols // bn), -(-rows // bm), groups * splits)
    ints = dict(zip(ig.PARAM_NAMES, (int(v) for v in kernel_args[3:]), strict=True))
    assert ints["k_per_split"] == per and (ints["N"], ints["C"], ints["K"], ints["G"]) == (4, 4, 6, 2)
    assert all(isinstance(v, np.int32) for v in kernel_args[3:])
    source = {"conv2d": x, "conv2d_grad_input": dy, "conv2d_grad_weight": x}[op]
    assert (ints["xn"], ints["xc"], ints["xh"], ints["xw"]) == ig.element_strides(
        source if op != "conv2d_grad_input" else result
    )
    if op == "conv2d_grad_weight":
        assert splits > 1
        [(reduce_file, reduce_name, _, reduce_grid, reduce_block, reduce_args)] = launches.calls[1:]
        assert (reduce_file, reduce_name) == ("splitk_reduce.cu", "conv2d_splitk_reduce")
        assert kernel_args[2].shape == (splits, *g.weight_shape) and reduce_args[2:] == (result.size, splits)
        assert reduce_grid[0] * reduce_block[0] >= result.size
    else:
        assert len(launches.calls) == 1


def test_launchers_refuse_other_dtypes(launches: _Launches) -> None:
    x, w = np.zeros((1, 2, 5, 5), np.float64), np.zeros((3, 2, 3, 3), np.float64)
    with pytest.raises(TypeError, match=r"conv2d\(cuda, implicit_gemm_simt\): expects float32"):
        kernels.variant("conv2d", "cuda", "implicit_gemm_simt")(x, w, None)
    with pytest.raises(TypeError, match="bfloat16 bits"):
        kernels.variant("conv2d", "cuda", "implicit_gemm_bf16")(x.astype(np.float32), w.astype(np.float32), None)
    assert not launches.calls


def test_variants_are_registered_and_not_default() -> None:
    for op in OPS:
        names = {v.name for v in kernels.list(op, "cuda")}
        assert {f"implicit_gemm_{v}" for v in VARIANTS} <= names
        assert kernels.default_name(op, "cuda") == "reference"


# --- on a GPU ------------------------------------------------------------------------------

#: relative error against the FP32 reference: FP32 summation order; TF32's 10-bit mantissa; bf16 products are
#: exact in FP32 and the reference runs on the same bf16-rounded values, so only the summation order differs
GPU_TOLERANCE = {"simt": 1e-5, "tf32": 5e-3, "bf16": 1e-4}


def _rel_err(got, want) -> float:
    import cupy

    return float(cupy.linalg.norm(got - want) / max(float(cupy.linalg.norm(want)), 1e-30))


def _gpu_problem(geometry, layout: str, variant: str):
    import cupy

    from glassgrad.kernels.cuda.bfloat16 import from_bfloat16_bits, to_bfloat16_bits

    g, x, w, y, options = _problem(geometry, layout, 3)

    def device(pair):
        view, memory = pair
        on = cupy.asarray(memory.astype(np.float32))
        on = on.transpose(0, 3, 1, 2) if view is not memory else on
        if variant != "bf16":
            return on, on
        bits = to_bfloat16_bits(cupy.ascontiguousarray(memory.astype(np.float32)))  # bf16 memory, same layout
        bits = bits.transpose(0, 3, 1, 2) if view is not memory else bits
        return bits, from_bfloat16_bits(cupy.ascontiguousarray(bits)).reshape(bits.shape)

    return g, device(x), device(w), device(y), options


@pytest.mark.gpu
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("layout", ig.LAYOUTS)
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda c: c[0])
@pytest.mark.parametrize("op", OPS)
def test_variant_matches_the_reference_on_gpu(op: str, geometry, layout: str, variant: str) -> None:
    """Against the cuda reference (CuPy im2col + cuBLAS, FP32) on the bf16-rounded values for bf16."""
    g, x, w, y, options = _gpu_problem(geometry, layout, variant)
    ref = kernels.reference(op, "cuda")
    fn = kernels.variant(op, "cuda", f"implicit_gemm_{variant}")
    if op == "conv2d":
        got, want = fn(x[0], w[0], None, **options), ref(x[1], w[1], None, **options)
    elif op == "conv2d_grad_input":
        got, want = fn(y[0], w[0], g.input_shape, **options), ref(y[1], w[1], g.input_shape, **options)
    else:
        got, want = fn(x[0], y[0], g.weight_shape, **options), ref(x[1], y[1], g.weight_shape, **options)
    assert got.shape == want.shape and str(got.dtype) == "float32"
    assert _rel_err(got, want) < GPU_TOLERANCE[variant], (op, geometry[0], layout, variant)


@pytest.mark.gpu
@pytest.mark.parametrize("variant", VARIANTS)
def test_resnet_layer_with_bias_and_split_k_on_gpu(variant: str) -> None:
    """A ResNet-50 3x3 layer at batch 8 (wgrad takes split-K), forward with bias."""
    import cupy

    geometry = ("resnet 3x3", (8, 64, 56, 56), (64, 64, 3, 3), (1, 1), (1, 1), (1, 1), 1)
    g, x, w, y, options = _gpu_problem(geometry, "LAYOUT_NCHW", variant)
    bias = cupy.arange(64, dtype=cupy.float32) / 64
    fn = {op: kernels.variant(op, "cuda", f"implicit_gemm_{variant}") for op in OPS}
    ref = {op: kernels.reference(op, "cuda") for op in OPS}
    tol = 5 * GPU_TOLERANCE[variant]  # sums of 576 (forward) and 25088 (weight gradient) products
    assert _rel_err(fn["conv2d"](x[0], w[0], bias, **options), ref["conv2d"](x[1], w[1], bias, **options)) < tol
    got = fn["conv2d_grad_weight"](x[0], y[0], g.weight_shape, **options)
    assert _rel_err(got, ref["conv2d_grad_weight"](x[1], y[1], g.weight_shape, **options)) < tol


@pytest.mark.gpu
@pytest.mark.parametrize("variant", ["simt", "tf32"])
@pytest.mark.parametrize("op", OPS)
def test_float32_variants_pass_the_lab_validation_on_gpu(op: str, variant: str) -> None:
    """The spec's cases too (permuted and sliced inputs, bias), through kernels.validate."""
    report = kernels.validate(op, f"implicit_gemm_{variant}", "cuda", dtypes=("float32",))
    assert report.passed, str(report)
