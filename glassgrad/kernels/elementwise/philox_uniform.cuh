// The dropout ops' uniform draw on Philox4x32-10 (glassgrad/kernels/cuda/philox.cuh): element i's
// u ∈ [0, 1) is a pure function of (seed, offset, i), the same on any device and in any order.
// philox.py computes the same numbers in NumPy, and inlines both headers into an ElementwiseKernel's
// preamble (preamble()); nvcc finds the include relative to this file.
#pragma once

#include "../cuda/philox.cuh"

// u ∈ [0, 1) for element `index`: counter (index, offset), key seed, the first word's top 24 bits · 2⁻²⁴.
__device__ __forceinline__ float philox_uniform(unsigned long long seed, unsigned long long offset,
                                                unsigned long long index) {
    const philox_u32x4 counter = {(unsigned)index, (unsigned)(index >> 32), (unsigned)offset, (unsigned)(offset >> 32)};
    const philox_u32x4 r = philox4x32_10(counter, (unsigned)seed, (unsigned)(seed >> 32));
    return (float)(r.x >> 8) * (1.0f / 16777216.0f);
}
