// 2-D max and average pooling, forward and backward, one thread per result element.
//
// Window (p, q) of the (H, W) plane covers the pixels
//     h = p·sh − ph + r·dh,  w = q·sw − pw + t·dw        (r < kh, t < kw; average pooling has d = 1)
// and the taps outside the image (the padding) are never read.
//
//   max arg-max    index[n, c, p, q] = h·W + w of the window's first largest pixel; a NaN takes the
//                  place of the best so far, so the last NaN wins (PyTorch's rule)
//   max gradient   dL/dx[n, c, h, w] = Σ_{(p, q): index = h·W + w} g[n, c, p, q]: one thread per g
//                  element adds it onto its winner (atomicAdd: overlapping windows share winners)
//   avg forward    y[n, c, p, q] = Σ_window x / divisor(p, q)
//   avg gradient   dL/dx[n, c, h, w] = Σ_{(p, q) whose window holds (h, w)} g[n, c, p, q] / divisor(p, q):
//                  one thread per x element gathers (no atomics)
// with PyTorch's divisor: the window clipped to the padded plane [−ph, H + ph) counts its
// padding when count_include_pad, only its real pixels otherwise, and divisor_override (> 0)
// replaces either.
//
// The array a kernel reads (x forward, g backward) is read through its element strides, so a
// channels_last array needs no copy; `channels_last` orders the threads c-fastest for it
// (coalesced reads), q-fastest otherwise. Results are contiguous NCHW.
#define POOL_INT_ARGS                                                                                             \
    int N, int C, int H, int W, int P, int Q, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, \
        long long sn, long long sc, long long sy, long long sx, int channels_last

// (n, c, a, b) of flat thread index i over an (N, C, A, B) grid, in the order the threads walk it.
__device__ __forceinline__ void unflatten(long long i, int C, int A, int B, bool channels_last, int &n, int &c,
                                          int &a, int &b) {
    if (channels_last) {
        c = i % C, b = (i / C) % B, a = (i / ((long long)C * B)) % A, n = i / ((long long)C * B * A);
    } else {
        b = i % B, a = (i / B) % A, c = (i / ((long long)B * A)) % C, n = i / ((long long)B * A * C);
    }
}

// PyTorch's divisor of average window (p, q).
__device__ __forceinline__ int avg_divisor(int p, int q, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw,
                                           int count_include_pad, int divisor_override) {
    if (divisor_override > 0) return divisor_override;
    int h0 = p * sh - ph, w0 = q * sw - pw;
    int h1 = min(h0 + kh, H + ph), w1 = min(w0 + kw, W + pw);
    const int padded = (h1 - h0) * (w1 - w0);
    h0 = max(h0, 0), w0 = max(w0, 0), h1 = min(h1, H), w1 = min(w1, W);
    return count_include_pad ? padded : (h1 - h0) * (w1 - w0);
}

template <typename T>
__global__ void max_pool2d_argmax(const T *__restrict__ x, long long *__restrict__ indices, POOL_INT_ARGS) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)N * C * P * Q) return;
    int n, c, p, q;
    unflatten(i, C, P, Q, channels_last, n, c, p, q);
    const T *plane = x + n * sn + c * sc;
    T best = T(0);
    long long best_index = -1;
    for (int r = 0; r < kh; ++r) {
        const int h = p * sh - ph + r * dh;
        if (h < 0 || h >= H) continue;
        for (int t = 0; t < kw; ++t) {
            const int w = q * sw - pw + t * dw;
            if (w < 0 || w >= W) continue;
            const T v = plane[h * sy + w * sx];
            if (best_index < 0 || v > best || isnan(v)) best = v, best_index = (long long)h * W + w;
        }
    }
    indices[(((long long)n * C + c) * P + p) * Q + q] = best_index;
}

// g is read through the strides; indices is contiguous (N, C, P, Q); dx is a zeroed contiguous (N, C, H, W).
template <typename T>
__global__ void max_pool2d_scatter_grad(const T *__restrict__ g, const long long *__restrict__ indices,
                                        T *__restrict__ dx, POOL_INT_ARGS) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)N * C * P * Q) return;
    int n, c, p, q;
    unflatten(i, C, P, Q, channels_last, n, c, p, q);
    const long long plane = (long long)n * C + c;
    const long long winner = indices[(plane * P + p) * Q + q];
    atomicAdd(dx + plane * H * W + winner, g[n * sn + c * sc + p * sy + q * sx]);
}

template <typename T>
__global__ void avg_pool2d_forward(const T *__restrict__ x, T *__restrict__ y, POOL_INT_ARGS, int count_include_pad,
                                   int divisor_override) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)N * C * P * Q) return;
    int n, c, p, q;
    unflatten(i, C, P, Q, channels_last, n, c, p, q);
    const T *plane = x + n * sn + c * sc;
    const int h0 = max(p * sh - ph, 0), w0 = max(q * sw - pw, 0);
    const int h1 = min(p * sh - ph + kh, H), w1 = min(q * sw - pw + kw, W);
    T sum = T(0);
    for (int h = h0; h < h1; ++h)
        for (int w = w0; w < w1; ++w) sum += plane[h * sy + w * sx];
    const int divisor = avg_divisor(p, q, H, W, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override);
    y[(((long long)n * C + c) * P + p) * Q + q] = sum / T(divisor);
}

// One thread per dx element (n, c, h, w); g (N, C, P, Q) is read through the strides.
template <typename T>
__global__ void avg_pool2d_backward(const T *__restrict__ g, T *__restrict__ dx, POOL_INT_ARGS, int count_include_pad,
                                    int divisor_override) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)N * C * H * W) return;
    int n, c, h, w;
    unflatten(i, C, H, W, false, n, c, h, w);
    // the windows p with p·sh − ph <= h < p·sh − ph + kh, inside [0, P)
    const int p0 = h + ph < kh ? 0 : (h + ph - kh) / sh + 1, p1 = min((h + ph) / sh + 1, P);
    const int q0 = w + pw < kw ? 0 : (w + pw - kw) / sw + 1, q1 = min((w + pw) / sw + 1, Q);
    const T *plane = g + n * sn + c * sc;
    T sum = T(0);
    for (int p = p0; p < p1; ++p)
        for (int q = q0; q < q1; ++q)
            sum += plane[p * sy + q * sx] /
                   T(avg_divisor(p, q, H, W, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override));
    dx[i] = sum;
}
