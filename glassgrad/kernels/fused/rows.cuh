// Row-wise reductions shared by the fused kernels (softmax, layer norm, cross-entropy).
//
// Launch shape (see launch.py): each row of `cols` floats is owned by a group
// of blockDim.x threads, threadIdx.y picks the row inside the block.
//   * short rows: blockDim.x == 32, one warp per row, several rows per block;
//     reductions are warp shuffles only.
//   * long rows:  blockDim.x in {64, ..., 1024}, blockDim.y == 1, one block
//     per row; warps reduce by shuffle, then warp 0 reduces the warp results
//     staged in shared memory.
// Every thread of a row group must call a reduction (no early exits between
// the row-range check at the top of a kernel and the last reduction).
#pragma once

constexpr unsigned FULL_MASK = 0xffffffffu;
#define NEG_INF (-__int_as_float(0x7f800000))  // -inf without <cmath> (NVRTC has no libc headers)

// Each thread keeps ITEMS elements of its row in registers (columns
// threadIdx.x + i * blockDim.x), so rows up to ITEMS * blockDim.x (ITEMS * 1024
// at most) are read from global memory exactly once. Longer rows loop over the
// rest and read it a second time (mostly from L2). ITEMS is a -D define that
// launch.py passes (its DEFINES are the one source; row_launch sizes blocks by it).
#ifndef ITEMS
#error "ITEMS comes from launch.py: compile with its DEFINES (-DITEMS=...)"
#endif

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(FULL_MASK, v, offset);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, offset));
    return v;
}

// Sum of v over the row group; every thread of the group gets the total.
// No __syncthreads is needed before the writes: a thread reaches this call's
// first barrier only after it has read the previous call's `total`, and warp 0
// read the previous `partial` before the previous call's last barrier.
__device__ __forceinline__ float row_sum(float v) {
    v = warp_sum(v);
    if (blockDim.x == 32) return v;
    __shared__ float partial[32];
    __shared__ float total;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float t = lane < (int)(blockDim.x >> 5) ? partial[lane] : 0.f;
        t = warp_sum(t);
        if (lane == 0) total = t;
    }
    __syncthreads();
    return total;
}

// Two sums at once (one pair of barriers instead of two).
__device__ __forceinline__ float2 row_sum2(float a, float b) {
    a = warp_sum(a);
    b = warp_sum(b);
    if (blockDim.x == 32) return make_float2(a, b);
    __shared__ float2 partial2[32];
    __shared__ float2 total2;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) partial2[warp] = make_float2(a, b);
    __syncthreads();
    if (warp == 0) {
        float2 t = lane < (int)(blockDim.x >> 5) ? partial2[lane] : make_float2(0.f, 0.f);
        t.x = warp_sum(t.x);
        t.y = warp_sum(t.y);
        if (lane == 0) total2 = t;
    }
    __syncthreads();
    return total2;
}

// Online softmax statistics: (m, s) stands for "max m, and s = Σ e^(x - m)".
// Adding one value x: if x is the new max, rescale s by e^(m_old - x).
__device__ __forceinline__ void online_add(float& m, float& s, float x) {
    if (x == NEG_INF) return;  // e^-inf = 0 adds nothing (and -inf - -inf would be nan)
    if (x > m) {
        s = s * expf(m - x) + 1.f;
        m = x;
    } else {
        s += expf(x - m);
    }
}

// Merge two partial statistics (m, s) and (m2, s2) into (m, s).
__device__ __forceinline__ void online_merge(float& m, float& s, float m2, float s2) {
    const float top = fmaxf(m, m2);
    if (top == NEG_INF) return;  // both empty
    s = s * expf(m - top) + s2 * expf(m2 - top);
    m = top;
}

__device__ __forceinline__ void warp_online_merge(float& m, float& s) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) {
        const float m2 = __shfl_xor_sync(FULL_MASK, m, offset);
        const float s2 = __shfl_xor_sync(FULL_MASK, s, offset);
        online_merge(m, s, m2, s2);
    }
}

// (max, Σ e^(x - max)) over the row group, from each thread's partial (m, s).
__device__ __forceinline__ void row_online_merge(float& m, float& s) {
    warp_online_merge(m, s);
    if (blockDim.x == 32) return;
    __shared__ float2 partial_ms[32];
    __shared__ float2 total_ms;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) partial_ms[warp] = make_float2(m, s);
    __syncthreads();
    if (warp == 0) {
        float2 t = lane < (int)(blockDim.x >> 5) ? partial_ms[lane] : make_float2(NEG_INF, 0.f);
        warp_online_merge(t.x, t.y);
        if (lane == 0) total_ms = t;
    }
    __syncthreads();
    m = total_ms.x;
    s = total_ms.y;
}

// Row statistics of a softmax in one read of the row: (max, Σ e^(x - max)),
// caching the first ITEMS * blockDim.x values in `cache` (-inf past the end).
__device__ __forceinline__ void softmax_stats(const float* __restrict__ xr, int cols, float (&cache)[ITEMS], float& m,
                                              float& s) {
    m = NEG_INF;
    s = 0.f;
#pragma unroll
    for (int i = 0; i < ITEMS; ++i) {
        const int c = threadIdx.x + i * blockDim.x;
        cache[i] = c < cols ? xr[c] : NEG_INF;
        online_add(m, s, cache[i]);
    }
    for (int c = threadIdx.x + ITEMS * blockDim.x; c < cols; c += blockDim.x) online_add(m, s, xr[c]);
    row_online_merge(m, s);
}
