// Philox4x32-10: the counter-based random number generator of Salmon et al., "Parallel random
// numbers: as easy as 1, 2, 3" (SC'11), as Random123 and cuRAND define it. A pure function
//
//     (x0, x1, x2, x3) = philox4x32_10(counter = (c0, c1, c2, c3), key = (k0, k1))
//
// of ten rounds; each round multiplies two counter words by M0, M1 (64-bit products split into
// hi and lo halves), mixes the halves with the key, and the key grows by the Weyl constants
// W0, W1 between rounds:
//
//     (hi0, lo0) = M0 · c0,   (hi1, lo1) = M1 · c2
//     c ← (hi1 ⊕ c1 ⊕ k0,  lo1,  hi0 ⊕ c3 ⊕ k1,  lo0),   k ← (k0 + W0, k1 + W1)
//
// Having no state, a backward pass regenerates exactly the numbers its forward drew, on any device,
// in any order, inside a captured CUDA graph. __host__ __device__: tests compile it for the host with
// nvcc and check it against Random123's known-answer vectors; glassgrad/kernels/philox.py is the same
// function in NumPy. Its users map (seed, offset, indices) to the counter and key themselves:
// elementwise/philox_uniform.cuh (dropout ops), attention/cuda/dropout_mask.cuh (flash attention).
#pragma once

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

struct philox_u32x4 {
    unsigned int x, y, z, w;
};

__host__ __device__ __forceinline__ void philox_mulhilo(unsigned int a, unsigned int b, unsigned int &hi,
                                                        unsigned int &lo) {
    const unsigned long long product = (unsigned long long)a * (unsigned long long)b;
    hi = (unsigned int)(product >> 32);
    lo = (unsigned int)product;
}

__host__ __device__ __forceinline__ philox_u32x4 philox4x32_10(philox_u32x4 c, unsigned int k0, unsigned int k1) {
#pragma unroll
    for (int round = 0; round < 10; ++round) {
        unsigned int hi0, lo0, hi1, lo1;
        philox_mulhilo(PHILOX_M0, c.x, hi0, lo0);
        philox_mulhilo(PHILOX_M1, c.z, hi1, lo1);
        c = philox_u32x4{hi1 ^ c.y ^ k0, lo1, hi0 ^ c.w ^ k1, lo0};
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    return c;
}
