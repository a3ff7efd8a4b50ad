// The flash attention dropout mask on Philox4x32-10 (glassgrad/kernels/cuda/philox.cuh): the keep
// decision for score (n, i, j) — n = b·H + h the flattened (batch, query head), i the query, j the
// key — is word (j mod 4) of
//     philox4x32_10(counter = (j / 4, i, n, offset), key = (seed mod 2^32, seed / 2^32))
// and the weight is kept when that word is ≥ threshold = round(p · 2^32) (keep probability 1 − p).
// glassgrad/kernels/attention/philox.py builds the same mask in NumPy.
//
// The include path is relative to this directory, which NVRTC (compile.py's -I) and nvcc both search.
#pragma once

#include "../../cuda/philox.cuh"

// The dropout word of score (n, i, j) under (seed, offset), as the header comment defines it.
__host__ __device__ __forceinline__ unsigned int dropout_word(unsigned long long seed, unsigned int offset,
                                                              unsigned int n, unsigned int i, unsigned int j) {
    const philox_u32x4 r = philox4x32_10(philox_u32x4{j >> 2, i, n, offset}, (unsigned int)seed,
                                         (unsigned int)(seed >> 32));
    const unsigned int lane = j & 3u;
    return lane == 0 ? r.x : lane == 1 ? r.y : lane == 2 ? r.z : r.w;
}

// The keep decisions of keys 4·j4 .. 4·j4 + 3 of row (n, i) from one Philox call: bit e for key 4·j4 + e.
__host__ __device__ __forceinline__ unsigned int dropout_keep4(unsigned long long seed, unsigned int offset,
                                                               unsigned int n, unsigned int i, unsigned int j4,
                                                               unsigned int threshold) {
    const philox_u32x4 r = philox4x32_10(philox_u32x4{j4, i, n, offset}, (unsigned int)seed,
                                         (unsigned int)(seed >> 32));
    return (r.x >= threshold ? 1u : 0u) | (r.y >= threshold ? 2u : 0u) | (r.z >= threshold ? 4u : 0u) |
           (r.w >= threshold ? 8u : 0u);
}
