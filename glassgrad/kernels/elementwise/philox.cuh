// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a counter-based
// generator, so element i's random number is a pure function of (seed, offset, i), the same on any
// device, in any order, and inside a captured CUDA graph. philox.py computes the same numbers in NumPy.
//
// One round maps the counter (c0, c1, c2, c3) under the key (k0, k1) to
//     (hi(M1·c2) ^ c1 ^ k0,  lo(M1·c2),  hi(M0·c0) ^ c3 ^ k1,  lo(M0·c0))
// and the key is bumped by the Weyl constants (W0, W1) between rounds; ten rounds.
#pragma once

__device__ __forceinline__ uint4 philox4x32_10(uint4 c, uint2 k) {
#pragma unroll
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k.x += 0x9E3779B9u;
            k.y += 0xBB67AE85u;
        }
        const unsigned hi0 = __umulhi(0xD2511F53u, c.x), lo0 = 0xD2511F53u * c.x;
        const unsigned hi1 = __umulhi(0xCD9E8D57u, c.z), lo1 = 0xCD9E8D57u * c.z;
        c = make_uint4(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    }
    return c;
}

// u ∈ [0, 1) for element `index`: counter (index, offset), key seed, the first word's top 24 bits · 2⁻²⁴.
__device__ __forceinline__ float philox_uniform(unsigned long long seed, unsigned long long offset,
                                                unsigned long long index) {
    const uint4 counter = make_uint4((unsigned)index, (unsigned)(index >> 32), (unsigned)offset, (unsigned)(offset >> 32));
    const uint4 r = philox4x32_10(counter, make_uint2((unsigned)seed, (unsigned)(seed >> 32)));
    return (float)(r.x >> 8) * (1.0f / 16777216.0f);
}
