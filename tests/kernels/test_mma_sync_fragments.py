"""A NumPy model of how mma_sync.cu fills its tensor-core fragments, checked against PTX's fragment layouts.

No GPU runs here, so the index arithmetic of cuda/mma_sync.cu is written once more below, formula for
formula (swizzled chunk placement, each lane's ldmatrix row address, the scalar TF32 loads), and the
registers it would load are compared with what mma.sync m16n8k16 / m16n8k8 expect (the PTX ISA's
fragment figures). A slip in the kernel's lane arithmetic that this model repeats is not caught; one
that breaks the composition (swizzle vs reader, .trans vs layout, matrix order) is.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest


def swizzle(ch: int, r: int, c: int) -> int:
    return c ^ ((r >> 1) & 3) if ch == 4 else c ^ (r & 7)


def tile_offset(ch: int, epc: int, r: int, e: int) -> int:
    return (r * ch + swizzle(ch, r, e // epc)) * epc + e % epc


def shared_tile(x: np.ndarray, epc: int) -> tuple[np.ndarray, int]:
    """x (rows, cols) as load_tile leaves it in shared memory: (flat array, chunks per row)."""
    rows, cols = x.shape
    ch = cols // epc
    flat = np.full(rows * cols, np.nan)
    for r, e in itertools.product(range(rows), range(cols)):
        flat[tile_offset(ch, epc, r, e)] = x[r, e]
    assert not np.isnan(flat).any()  # the swizzle is a permutation
    return flat, ch


def ldmatrix_x4(flat: np.ndarray, addresses: list[int], trans: bool, epc: int) -> list[list[tuple]]:
    """Per lane, its 4 registers, each a tuple of the elements it holds (2 16-bit or 1 32-bit).

    Matrix i's row j is the 16 bytes at lane 8i + j's address. Without .trans lane l holds row l // 4,
    32-bit word l % 4; with .trans (16-bit only) the elements (2(l % 4), l // 4), (2(l % 4) + 1, l // 4).
    """
    out = []
    for lane in range(32):
        regs = []
        for i in range(4):
            rows = [flat[addresses[8 * i + j] : addresses[8 * i + j] + epc] for j in range(8)]
            if epc == 4:  # 32-bit elements: word = element
                assert not trans
                regs.append((rows[lane // 4][lane % 4],))
            elif not trans:
                regs.append((rows[lane // 4][2 * (lane % 4)], rows[lane // 4][2 * (lane % 4) + 1]))
            else:
                regs.append((rows[2 * (lane % 4)][lane // 4], rows[2 * (lane % 4) + 1][lane // 4]))
        out.append(regs)
    return out


def want_a(a: np.ndarray, lane: int, sixteen: bool) -> list[tuple]:
    """PTX's A fragment of lane: a0..a3 (row g / g + 8, k 2t.. / 2t + 8.. for 16-bit; t / t + 4 for tf32)."""
    g, t = lane // 4, lane % 4
    if sixteen:
        return [
            (a[g + 8 * (r % 2), 2 * t + 8 * (r // 2)], a[g + 8 * (r % 2), 2 * t + 8 * (r // 2) + 1]) for r in range(4)
        ]
    return [(a[g + 8 * (r % 2), t + 4 * (r // 2)],) for r in range(4)]


def want_b(b: np.ndarray, lane: int, sixteen: bool) -> list[tuple]:
    """PTX's B fragment (k x 8): b0, b1 (k 2t.. / 2t + 8.., column g; tf32: k t / t + 4)."""
    g, t = lane // 4, lane % 4
    if sixteen:
        return [(b[2 * t + 8 * r, g], b[2 * t + 8 * r + 1, g]) for r in range(2)]
    return [(b[t + 4 * r, g],) for r in range(2)]


@pytest.mark.parametrize("kcontig", [True, False], ids=["A k-contiguous", "A m-contiguous"])
@pytest.mark.parametrize("element", ["16-bit", "tf32"])
def test_a_fragments(element: str, kcontig: bool) -> None:
    sixteen = element == "16-bit"
    epc, mk, bm, bk = (8, 16, 128, 32) if sixteen else (4, 8, 128, 16)
    a = np.arange(bm * bk, dtype=float).reshape(bm, bk)  # A(m, k) of one stage, all values distinct
    flat, ch = shared_tile(a if kcontig else a.T.copy(), epc)
    for mb, kk in itertools.product(range(0, bm, 16), range(0, bk, mk)):
        if kcontig:
            addresses = [tile_offset(ch, epc, mb + lane % 16, kk + (lane // 16) * epc) for lane in range(32)]
            got = ldmatrix_x4(flat, addresses, False, epc)
        elif sixteen:
            mat, row8 = [lane // 8 for lane in range(32)], [lane % 8 for lane in range(32)]
            addresses = [
                tile_offset(ch, epc, kk + row8[lane] + (mat[lane] >> 1) * 8, mb + (mat[lane] & 1) * 8)
                for lane in range(32)
            ]
            got = ldmatrix_x4(flat, addresses, True, epc)
        else:  # scalar 32-bit loads from the k-major tile
            got = [
                [
                    (flat[tile_offset(ch, epc, kk + t, mb + g)],),
                    (flat[tile_offset(ch, epc, kk + t, mb + g + 8)],),
                    (flat[tile_offset(ch, epc, kk + t + 4, mb + g)],),
                    (flat[tile_offset(ch, epc, kk + t + 4, mb + g + 8)],),
                ]
                for g, t in (divmod(lane, 4) for lane in range(32))
            ]
        for lane in range(32):
            assert got[lane] == want_a(a[mb : mb + 16, kk : kk + mk], lane, sixteen), (mb, kk, lane)


@pytest.mark.parametrize("ncontig", [True, False], ids=["B n-contiguous", "B k-contiguous"])
@pytest.mark.parametrize("element", ["16-bit", "tf32"])
@pytest.mark.parametrize("bn", [128, 256])
def test_b_fragments(element: str, ncontig: bool, bn: int) -> None:
    sixteen = element == "16-bit"
    epc, mk, bk = (8, 16, 32) if sixteen else (4, 8, 16)
    b = np.arange(bk * bn, dtype=float).reshape(bk, bn)  # B(k, n)
    flat, ch = shared_tile(b if ncontig else b.T.copy(), epc)
    for nb, kk in itertools.product(range(0, bn, 16), range(0, bk, mk)):  # two n8 tiles per load
        mat, row8 = [lane // 8 for lane in range(32)], [lane % 8 for lane in range(32)]
        if not ncontig:
            addresses = [
                tile_offset(ch, epc, nb + row8[lane] + (mat[lane] >> 1) * 8, kk + (mat[lane] & 1) * epc)
                for lane in range(32)
            ]
            got = ldmatrix_x4(flat, addresses, False, epc)
        elif sixteen:
            addresses = [
                tile_offset(ch, epc, kk + row8[lane] + (mat[lane] & 1) * 8, nb + (mat[lane] >> 1) * 8)
                for lane in range(32)
            ]
            got = ldmatrix_x4(flat, addresses, True, epc)
        else:
            got = [
                [
                    (flat[tile_offset(ch, epc, kk + t, nb + g)],),
                    (flat[tile_offset(ch, epc, kk + t + 4, nb + g)],),
                    (flat[tile_offset(ch, epc, kk + t, nb + 8 + g)],),
                    (flat[tile_offset(ch, epc, kk + t + 4, nb + 8 + g)],),
                ]
                for g, t in (divmod(lane, 4) for lane in range(32))
            ]
        for lane in range(32):  # r[0], r[1] -> tile j; r[2], r[3] -> tile j + 1
            assert got[lane][:2] == want_b(b[kk : kk + mk, nb : nb + 8], lane, sixteen), (nb, kk, lane)
            assert got[lane][2:] == want_b(b[kk : kk + mk, nb + 8 : nb + 16], lane, sixteen), (nb, kk, lane)


@pytest.mark.parametrize("ch", [4, 16, 32])
def test_ldmatrix_reads_are_free_of_bank_conflicts(ch: int) -> None:
    """The 8 rows one ldmatrix matrix reads at one logical chunk land in 8 different 16-byte bank groups."""
    for r0, c in itertools.product(range(0, 64, 8), range(ch)):
        groups = {((r0 + j) * ch + swizzle(ch, r0 + j, c)) % 8 for j in range(8)}
        assert len(groups) == 8, (ch, r0, c)


@pytest.mark.parametrize(("tiles_m", "tiles_n"), [(1, 1), (3, 5), (8, 8), (13, 2), (64, 64), (9, 33)])
def test_block_raster_covers_every_tile_once(tiles_m: int, tiles_n: int) -> None:
    """mma_sync.cu's grouped raster (GROUP_M = 8 tile-rows per group) is a permutation of the tiles."""
    group = 8
    seen = set()
    for y, x in itertools.product(range(tiles_m), range(tiles_n)):
        pid, width = y * tiles_n + x, group * tiles_n
        first_m = (pid // width) * group
        rows = min(tiles_m - first_m, group)
        seen.add((first_m + (pid % width) % rows, (pid % width) // rows))
    assert seen == set(itertools.product(range(tiles_m), range(tiles_n)))
