// Fused softmax and log_softmax over the last dim, forward and backward.
// One row per warp (short rows) or per block (long rows); see rows.cuh.
//
//   softmax:      y = e^(x - m) / s,            m = max x, s = Σ e^(x - m)
//                 dx = y ⊙ (g - Σ g ⊙ y)
//   log_softmax:  y = x - m - log s
//                 dx = g - e^y · Σ g
//
// The forward computes (m, s) with the online rule in a single read of the
// row (rows.cuh: softmax_stats), then writes y: one read, one write.
#include "rows.cuh"

// Row index of this thread's group; the launcher sizes the grid so that a
// group past the last row is a whole warp (blockDim.x == 32) and may return.
__device__ __forceinline__ long long this_row() { return (long long)blockIdx.x * blockDim.y + threadIdx.y; }

template <bool LOG>
__device__ __forceinline__ void softmax_forward_row(const float* __restrict__ x, float* __restrict__ y, long long rows,
                                                    int cols) {
    const long long row = this_row();
    if (row >= rows) return;
    const float* xr = x + row * cols;
    float* yr = y + row * cols;
    float cache[ITEMS];
    float m, s;
    softmax_stats(xr, cols, cache, m, s);
    const float inv_s = 1.f / s, log_s = logf(s);
#pragma unroll
    for (int i = 0; i < ITEMS; ++i) {
        const int c = threadIdx.x + i * blockDim.x;
        if (c < cols) yr[c] = LOG ? cache[i] - m - log_s : expf(cache[i] - m) * inv_s;
    }
    for (int c = threadIdx.x + ITEMS * blockDim.x; c < cols; c += blockDim.x)
        yr[c] = LOG ? xr[c] - m - log_s : expf(xr[c] - m) * inv_s;
}

extern "C" __global__ void softmax_forward(const float* __restrict__ x, float* __restrict__ y, long long rows, int cols) {
    softmax_forward_row<false>(x, y, rows, cols);
}

extern "C" __global__ void log_softmax_forward(const float* __restrict__ x, float* __restrict__ y, long long rows,
                                               int cols) {
    softmax_forward_row<true>(x, y, rows, cols);
}

// dx = y ⊙ (g - Σ g ⊙ y): one reduction, y and g cached between the two passes.
extern "C" __global__ void softmax_backward(const float* __restrict__ y, const float* __restrict__ g,
                                            float* __restrict__ dx, long long rows, int cols) {
    const long long row = this_row();
    if (row >= rows) return;
    const float *yr = y + row * cols, *gr = g + row * cols;
    float* dr = dx + row * cols;
    float ys[ITEMS], gs[ITEMS];
    float dot = 0.f;
#pragma unroll
    for (int i = 0; i < ITEMS; ++i) {
        const int c = threadIdx.x + i * blockDim.x;
        ys[i] = c < cols ? yr[c] : 0.f;
        gs[i] = c < cols ? gr[c] : 0.f;
        dot += ys[i] * gs[i];
    }
    for (int c = threadIdx.x + ITEMS * blockDim.x; c < cols; c += blockDim.x) dot += yr[c] * gr[c];
    dot = row_sum(dot);
#pragma unroll
    for (int i = 0; i < ITEMS; ++i) {
        const int c = threadIdx.x + i * blockDim.x;
        if (c < cols) dr[c] = ys[i] * (gs[i] - dot);
    }
    for (int c = threadIdx.x + ITEMS * blockDim.x; c < cols; c += blockDim.x) dr[c] = yr[c] * (gr[c] - dot);
}

// dx = g - e^y · Σ g: g is cached; y is only needed after the sum, so it is read once.
extern "C" __global__ void log_softmax_backward(const float* __restrict__ y, const float* __restrict__ g,
                                                float* __restrict__ dx, long long rows, int cols) {
    const long long row = this_row();
    if (row >= rows) return;
    const float *yr = y + row * cols, *gr = g + row * cols;
    float* dr = dx + row * cols;
    float gs[ITEMS];
    float total = 0.f;
#pragma unroll
    for (int i = 0; i < ITEMS; ++i) {
        const int c = threadIdx.x + i * blockDim.x;
        gs[i] = c < cols ? gr[c] : 0.f;
        total += gs[i];
    }
    for (int c = threadIdx.x + ITEMS * blockDim.x; c < cols; c += blockDim.x) total += gr[c];
    total = row_sum(total);
#pragma unroll
    for (int i = 0; i < ITEMS; ++i) {
        const int c = threadIdx.x + i * blockDim.x;
        if (c < cols) dr[c] = gs[i] - expf(yr[c]) * total;
    }
    for (int c = threadIdx.x + ITEMS * blockDim.x; c < cols; c += blockDim.x) dr[c] = gr[c] - expf(yr[c]) * total;
}
