// Fused layer norm over the last dim (a row of `cols` features), forward and backward.
//
//   μ = mean x,  rstd = 1/√(mean (x - μ)² + ε),  x̂ = (x - μ)·rstd,  y = γ x̂ + β
//   ĝ = γ ⊙ g:   dx = rstd · (ĝ - mean ĝ - x̂ · mean(ĝ ⊙ x̂))
//                dγ = Σ_rows g ⊙ x̂,   dβ = Σ_rows g
//
// The forward keeps the row in registers (rows.cuh: ITEMS per thread) for the
// two reductions (the mean, then the centred sum of squares, which is more
// accurate than E[x²] - μ²), and saves μ and rstd per row for the backward.
// The backward's dx is a row kernel; dγ and dβ are column sums over all rows,
// done by a second kernel in row chunks (partial sums, added up by the launcher).
#include "rows.cuh"

__device__ __forceinline__ long long this_row() { return (long long)blockIdx.x * blockDim.y + threadIdx.y; }

extern "C" __global__ void layer_norm_forward(const float* __restrict__ x, const float* __restrict__ weight,
                                              const float* __restrict__ bias, float* __restrict__ y,
                                              float* __restrict__ mean_out, float* __restrict__ rstd_out,
                                              long long rows, int cols, float eps) {
    const long long row = this_row();
    if (row >= rows) return;
    const float* xr = x + row * cols;
    float* yr = y + row * cols;
    float xs[ITEMS];
    float sum = 0.f;
#pragma unroll
    for (int i = 0; i < ITEMS; ++i) {
        const int c = threadIdx.x + i * blockDim.x;
        xs[i] = c < cols ? xr[c] : 0.f;
        sum += xs[i];
    }
    for (int c = threadIdx.x + ITEMS * blockDim.x; c < cols; c += blockDim.x) sum += xr[c];
    const float mu = row_sum(sum) / cols;
    float sq = 0.f;
#pragma unroll
    for (int i = 0; i < ITEMS; ++i) {
        const int c = threadIdx.x + i * blockDim.x;
        const float d = xs[i] - mu;
        if (c < cols) sq += d * d;
    }
    for (int c = threadIdx.x + ITEMS * blockDim.x; c < cols; c += blockDim.x) {
        const float d = xr[c] - mu;
        sq += d * d;
    }
    const float rstd = rsqrtf(row_sum(sq) / cols + eps);
#pragma unroll
    for (int i = 0; i < ITEMS; ++i) {
        const int c = threadIdx.x + i * blockDim.x;
        if (c < cols) yr[c] = (xs[i] - mu) * rstd * weight[c] + bias[c];
    }
    for (int c = threadIdx.x + ITEMS * blockDim.x; c < cols; c += blockDim.x)
        yr[c] = (xr[c] - mu) * rstd * weight[c] + bias[c];
    if (threadIdx.x == 0) {
        mean_out[row] = mu;
        rstd_out[row] = rstd;
    }
}

// dx = rstd · (ĝ - mean ĝ - x̂ · mean(ĝ x̂)), both means in one paired reduction.
extern "C" __global__ void layer_norm_backward_input(const float* __restrict__ g, const float* __restrict__ x,
                                                     const float* __restrict__ mean, const float* __restrict__ rstd,
                                                     const float* __restrict__ weight, float* __restrict__ dx,
                                                     long long rows, int cols) {
    const long long row = this_row();
    if (row >= rows) return;
    const float *gr = g + row * cols, *xr = x + row * cols;
    float* dr = dx + row * cols;
    const float mu = mean[row], r = rstd[row];
    float ghat[ITEMS], xhat[ITEMS];
    float sum_g = 0.f, sum_gx = 0.f;
#pragma unroll
    for (int i = 0; i < ITEMS; ++i) {
        const int c = threadIdx.x + i * blockDim.x;
        ghat[i] = c < cols ? gr[c] * weight[c] : 0.f;
        xhat[i] = c < cols ? (xr[c] - mu) * r : 0.f;
        sum_g += ghat[i];
        sum_gx += ghat[i] * xhat[i];
    }
    for (int c = threadIdx.x + ITEMS * blockDim.x; c < cols; c += blockDim.x) {
        const float gh = gr[c] * weight[c];
        sum_g += gh;
        sum_gx += gh * (xr[c] - mu) * r;
    }
    const float2 sums = row_sum2(sum_g, sum_gx);
    const float mean_g = sums.x / cols, mean_gx = sums.y / cols;
#pragma unroll
    for (int i = 0; i < ITEMS; ++i) {
        const int c = threadIdx.x + i * blockDim.x;
        if (c < cols) dr[c] = r * (ghat[i] - mean_g - xhat[i] * mean_gx);
    }
    for (int c = threadIdx.x + ITEMS * blockDim.x; c < cols; c += blockDim.x)
        dr[c] = r * (gr[c] * weight[c] - mean_g - (xr[c] - mu) * r * mean_gx);
}

// Partial column sums for dγ and dβ. Block (PARAM_COLS, PARAM_ROWS), -D defines
// from launch.py's DEFINES: threadIdx.x is a column (coalesced along the row),
// threadIdx.y strides the rows of this block's chunk (blockIdx.y); the
// PARAM_ROWS partials are added in shared memory and written to row blockIdx.y
// of the (chunks, cols) outputs.
#if !defined(PARAM_COLS) || !defined(PARAM_ROWS)
#error "PARAM_COLS and PARAM_ROWS come from launch.py: compile with its DEFINES"
#endif

extern "C" __global__ void layer_norm_backward_params(const float* __restrict__ g, const float* __restrict__ x,
                                                      const float* __restrict__ mean, const float* __restrict__ rstd,
                                                      float* __restrict__ dweight_partial,
                                                      float* __restrict__ dbias_partial, long long rows, int cols,
                                                      long long rows_per_chunk) {
    __shared__ float sum_gx[PARAM_ROWS][PARAM_COLS + 1];
    __shared__ float sum_g[PARAM_ROWS][PARAM_COLS + 1];
    const int c = blockIdx.x * PARAM_COLS + threadIdx.x;
    const long long first = blockIdx.y * rows_per_chunk;
    const long long last = first + rows_per_chunk < rows ? first + rows_per_chunk : rows;
    float acc_gx = 0.f, acc_g = 0.f;
    if (c < cols) {
        for (long long row = first + threadIdx.y; row < last; row += PARAM_ROWS) {
            const float gv = g[row * cols + c];
            acc_g += gv;
            acc_gx += gv * (x[row * cols + c] - mean[row]) * rstd[row];
        }
    }
    sum_gx[threadIdx.y][threadIdx.x] = acc_gx;
    sum_g[threadIdx.y][threadIdx.x] = acc_g;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
#pragma unroll
        for (int k = 1; k < PARAM_ROWS; ++k) {
            acc_gx += sum_gx[k][threadIdx.x];
            acc_g += sum_g[k][threadIdx.x];
        }
        dweight_partial[blockIdx.y * (long long)cols + c] = acc_gx;
        dbias_partial[blockIdx.y * (long long)cols + c] = acc_g;
    }
}
