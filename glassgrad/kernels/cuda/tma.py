"""CUtensorMap: the descriptor that tells Hopper's copy engine (TMA) how to read a tiled tensor.

A kernel issues ``cp.async.bulk.tensor`` with a box coordinate; the map it names holds the
tensor's base address, its sizes (innermost dimension first), the byte strides of the outer
dimensions, the box a copy moves, how shared memory is swizzled and what fills out-of-bounds
elements. It is made on the host by the driver call ``cuTensorMapEncodeTiled``.

CuPy 14 wraps no tensor-map call (cupy_backends/cuda/api/driver.pyx has none), so ``encode``
calls libcuda through ctypes. The map is 128 opaque bytes, 64-byte aligned (cuda.h's
``CUtensorMap``). A kernel takes it by value as ``const __grid_constant__`` (hopper.cuh's
``TmaDescriptor``); CuPy passes a NumPy array of size one by value (cupy/cuda/function.pyx
``_pointer``: ``CNumpyArray``, the kernel-argument pointer is the array's data, and the driver
copies the parameter's 128 bytes from there), so ``encode`` returns the map as a one-element
``void128`` array whose buffer starts on a 64-byte boundary.

``tiled_map`` checks the driver's documented requirements first, so a bad map is a ValueError
naming the value, not a CUDA_ERROR_INVALID_VALUE; it needs no GPU and is unit-tested alone.
"""

from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass

import numpy as np

# cuda.h enums, by their CUDA names (the values cuda.h gives them)
CU_TENSOR_MAP_DATA_TYPE_FLOAT16 = 6
CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 = 9
CU_TENSOR_MAP_INTERLEAVE_NONE = 0
CU_TENSOR_MAP_SWIZZLE_NONE = 0
CU_TENSOR_MAP_SWIZZLE_128B = 3
CU_TENSOR_MAP_L2_PROMOTION_NONE = 0
CU_TENSOR_MAP_L2_PROMOTION_L2_256B = 3
CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE = 0  # out-of-bounds elements read as zeros
CUDA_SUCCESS = 0

TENSOR_MAP_BYTES = 128  # CU_TENSOR_MAP_NUM_QWORDS (16) * 8
TENSOR_MAP_ALIGNMENT = 64
#: bytes of the innermost box dimension each swizzle mode allows at most
SWIZZLE_SPAN = {CU_TENSOR_MAP_SWIZZLE_NONE: None, CU_TENSOR_MAP_SWIZZLE_128B: 128}
#: bytes per element of each data type used here
ELEMENT_BYTES = {CU_TENSOR_MAP_DATA_TYPE_FLOAT16: 2, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16: 2}


@dataclass(frozen=True)
class TiledMap:
    """The arguments of one ``cuTensorMapEncodeTiled`` call, innermost dimension first."""

    data_type: int
    address: int
    dims: tuple[int, ...]  # elements per dimension
    strides: tuple[int, ...]  # bytes between consecutive indices of dims[1:]
    box: tuple[int, ...]  # elements one copy moves per dimension
    element_strides: tuple[int, ...]
    interleave: int
    swizzle: int
    l2_promotion: int
    oob_fill: int


def tiled_map(
    data_type: int,
    address: int,
    dims: tuple[int, ...],
    strides: tuple[int, ...],
    box: tuple[int, ...],
    swizzle: int = CU_TENSOR_MAP_SWIZZLE_128B,
    l2_promotion: int = CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
) -> TiledMap:
    """A checked TiledMap: dense boxes (element strides 1), no interleave, zeros out of bounds.

    Requirements (cuda.h's cuTensorMapEncodeTiled): rank 1-5; address 16-byte aligned; every dim
    in 1..2^32; strides multiples of 16 below 2^40, each at least the extent of the dimensions
    inside it; box dims 1..256, the inner one a multiple of 16 bytes and within the swizzle span.
    """
    dims, strides, box = tuple(map(int, dims)), tuple(map(int, strides)), tuple(map(int, box))
    where = f"tma.tiled_map(dims={dims}, strides={strides}, box={box})"
    if data_type not in ELEMENT_BYTES:
        raise ValueError(f"{where}: unsupported data type {data_type}")
    if swizzle not in SWIZZLE_SPAN:
        raise ValueError(f"{where}: unsupported swizzle {swizzle}")
    size = ELEMENT_BYTES[data_type]
    rank = len(dims)
    if not 1 <= rank <= 5 or len(strides) != rank - 1 or len(box) != rank:
        raise ValueError(f"{where}: rank {rank} needs 1..5 dims, rank - 1 strides and rank box dims")
    if address % 16:
        raise ValueError(f"{where}: address {address:#x} is not 16-byte aligned")
    if any(not 1 <= d <= 2**32 for d in dims):
        raise ValueError(f"{where}: every dim must be in 1..2^32")
    extent = dims[0] * size
    for dim, stride in zip(dims[1:], strides, strict=True):
        if stride % 16 or not extent <= stride < 2**40:
            raise ValueError(f"{where}: stride {stride} must be a multiple of 16, >= {extent} and < 2^40")
        extent = stride * dim
    if any(not 1 <= b <= 256 for b in box):
        raise ValueError(f"{where}: box dims must be in 1..256")
    inner = box[0] * size
    span = SWIZZLE_SPAN[swizzle]
    if inner % 16 or (span is not None and inner > span):
        raise ValueError(f"{where}: the inner box is {inner} bytes: a multiple of 16, at most {span} with this swizzle")
    return TiledMap(
        data_type,
        int(address),
        dims,
        strides,
        box,
        (1,) * rank,
        CU_TENSOR_MAP_INTERLEAVE_NONE,
        swizzle,
        l2_promotion,
        CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE,
    )


def aligned_map_buffer() -> np.ndarray:
    """A zeroed one-element ``void128`` array whose data starts on a 64-byte boundary."""
    raw = np.zeros(TENSOR_MAP_BYTES + TENSOR_MAP_ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % TENSOR_MAP_ALIGNMENT
    return raw[start : start + TENSOR_MAP_BYTES].view(np.dtype((np.void, TENSOR_MAP_BYTES)))


@functools.cache
def _encode_tiled() -> ctypes._CFuncPtr:
    """libcuda's cuTensorMapEncodeTiled with its C signature (enums are C ints)."""
    lib = ctypes.CDLL("libcuda.so.1")
    fn = lib.cuTensorMapEncodeTiled
    u32p, u64p = ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_uint64)
    fn.argtypes = [
        ctypes.c_void_p,  # CUtensorMap *tensorMap
        ctypes.c_int,  # CUtensorMapDataType
        ctypes.c_uint32,  # tensorRank
        ctypes.c_void_p,  # globalAddress
        u64p,  # globalDim
        u64p,  # globalStrides
        u32p,  # boxDim
        u32p,  # elementStrides
        ctypes.c_int,  # CUtensorMapInterleave
        ctypes.c_int,  # CUtensorMapSwizzle
        ctypes.c_int,  # CUtensorMapL2promotion
        ctypes.c_int,  # CUtensorMapFloatOOBfill
    ]
    fn.restype = ctypes.c_int
    return fn


def encode(m: TiledMap) -> np.ndarray:
    """Run cuTensorMapEncodeTiled: the 128-byte map as a one-element array, ready to pass to a kernel."""
    out = aligned_map_buffer()
    rank = len(m.dims)

    def array(kind: type, values: tuple[int, ...]) -> ctypes.Array:
        return (kind * max(len(values), 1))(*values)

    status = _encode_tiled()(
        out.ctypes.data,
        m.data_type,
        rank,
        m.address,
        array(ctypes.c_uint64, m.dims),
        array(ctypes.c_uint64, m.strides),
        array(ctypes.c_uint32, m.box),
        array(ctypes.c_uint32, m.element_strides),
        m.interleave,
        m.swizzle,
        m.l2_promotion,
        m.oob_fill,
    )
    if status != CUDA_SUCCESS:
        raise RuntimeError(f"cuTensorMapEncodeTiled failed with CUresult {status} for {m}")
    return out
