// Fused softmax + cross-entropy over the last dim of logits (rows, classes),
// with class-index targets (int64) and an ignore_index.
//
//   forward:   lse = m + log Σ e^(x - m),   loss = lse - x[target]   (0 where ignored)
//   backward:  dx = (e^(x - lse) - onehot(target)) · g_row          (0 where ignored)
//
// The forward reads each row once (online max and sum, rows.cuh) and writes
// one loss and one lse per row; the backward reads the row once more and
// writes dx, using the saved lse, so softmax is never stored. The incoming
// gradient is a device array: one value per row (reduction "none") or one
// value for all rows (grad_stride 0: "mean" divides it by the count first),
// so the launcher never reads it on the host.
//
// Masked logits (-inf, e.g. hidden classes): online_add skips them, so they add
// e^-inf = 0 to s, and their dx is e^(-inf - lse) = 0. The loss and gradient stay
// finite as in PyTorch; no product 0 · (-inf) is ever formed (reference.py avoids
// that nan with a where). Only a target on a masked logit gives loss inf.
#include "rows.cuh"

__device__ __forceinline__ long long this_row() { return (long long)blockIdx.x * blockDim.y + threadIdx.y; }

extern "C" __global__ void cross_entropy_forward(const float* __restrict__ x, const long long* __restrict__ target,
                                                 float* __restrict__ loss, float* __restrict__ lse_out, long long rows,
                                                 int cols, long long ignore_index) {
    const long long row = this_row();
    if (row >= rows) return;
    const float* xr = x + row * cols;
    float cache[ITEMS];
    float m, s;
    softmax_stats(xr, cols, cache, m, s);
    if (threadIdx.x == 0) {
        const long long t = target[row];
        const float lse = m + logf(s);
        lse_out[row] = lse;
        // The engine checks targets on the cpu only (reading them back here would stall every
        // step), so an out-of-range target reaches this kernel: it gets loss 0, and in the
        // backward a zero one-hot row (dx = softmax · g). PyTorch raises a device-side assert.
        loss[row] = (t == ignore_index || t < 0 || t >= cols) ? 0.f : lse - xr[t];
    }
}

extern "C" __global__ void cross_entropy_backward(const float* __restrict__ x, const long long* __restrict__ target,
                                                  const float* __restrict__ lse, const float* __restrict__ grad,
                                                  float* __restrict__ dx, long long rows, int cols,
                                                  long long ignore_index, int grad_stride) {
    const long long row = this_row();
    if (row >= rows) return;
    const float* xr = x + row * cols;
    float* dr = dx + row * cols;
    const long long t = target[row];
    const bool ignored = t == ignore_index;
    const float g = ignored ? 0.f : grad[row * grad_stride];
    const float l = lse[row];
    for (int c = threadIdx.x; c < cols; c += blockDim.x) {
        const float p = ignored ? 0.f : expf(xr[c] - l);
        dr[c] = (p - (c == t ? 1.f : 0.f)) * g;
    }
}
