// kernels/pooling/cuda/pool2d.cu itself on the CPU: each kernel's threads run one after another
// (the kernels never synchronise; atomicAdd is a plain add), in double precision.
// tests/kernels/test_pooling_cuda.py builds it with g++ and checks it against the reference.
//
// stdin, problem after problem: kernel (0 argmax, 1 max grad, 2 avg forward, 3 avg grad), the
// POOL_INT_ARGS (14 ints, 4 strides, channels_last), count_include_pad, divisor_override, then
// the length and values of the array read (max grad: then the indices), and the result length;
// stdout: the result, one value a line.
#include <cmath>
#include <cstdio>
#include <vector>

#define __global__
#define __device__
#define __forceinline__ inline
struct HostDim3 {
    unsigned x, y, z;
};
static HostDim3 threadIdx, blockIdx, blockDim;
using std::isnan;
using std::max;
using std::min;
template <typename T>
T atomicAdd(T *address, T value) {
    const T old = *address;
    *address += value;
    return old;
}

#include "../../glassgrad/kernels/pooling/cuda/pool2d.cu"

template <class Kernel>
static void launch(long long count, Kernel kernel) {
    blockDim = {256, 1, 1};
    for (blockIdx.x = 0; (long long)blockIdx.x * 256 < count; ++blockIdx.x)
        for (threadIdx.x = 0; threadIdx.x < 256; ++threadIdx.x) kernel();
}

static bool solve_one() {
    int which, v[14], channels_last, count_include_pad, divisor_override;
    long long s[4];
    if (scanf("%d", &which) != 1) return false;
    for (int &x : v)
        if (scanf("%d", &x) != 1) return false;
    for (long long &x : s)
        if (scanf("%lld", &x) != 1) return false;
    if (scanf("%d %d %d", &channels_last, &count_include_pad, &divisor_override) != 3) return false;
    long n;
    if (scanf("%ld", &n) != 1) return false;
    std::vector<double> read(n);
    for (double &x : read)
        if (scanf("%lf", &x) != 1) return false;
    std::vector<long long> indices;
    if (which == 1) {
        if (scanf("%ld", &n) != 1) return false;
        indices.resize(n);
        for (long long &x : indices)
            if (scanf("%lld", &x) != 1) return false;
    }
    long n_out;
    if (scanf("%ld", &n_out) != 1) return false;
    std::vector<double> out(n_out, 0.0);
    std::vector<long long> out_indices(which == 0 ? n_out : 0, -2);
    const int N = v[0], C = v[1], H = v[2], W = v[3], P = v[4], Q = v[5];
#define POOL_ARGS v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], s[0], s[1], s[2], s[3], channels_last
    if (which == 0)
        launch((long long)N * C * P * Q, [&] { max_pool2d_argmax<double>(read.data(), out_indices.data(), POOL_ARGS); });
    else if (which == 1)
        launch((long long)N * C * P * Q,
               [&] { max_pool2d_scatter_grad<double>(read.data(), indices.data(), out.data(), POOL_ARGS); });
    else if (which == 2)
        launch((long long)N * C * P * Q, [&] {
            avg_pool2d_forward<double>(read.data(), out.data(), POOL_ARGS, count_include_pad, divisor_override);
        });
    else
        launch((long long)N * C * H * W, [&] {
            avg_pool2d_backward<double>(read.data(), out.data(), POOL_ARGS, count_include_pad, divisor_override);
        });
    if (which == 0)
        for (long long x : out_indices) printf("%lld\n", x);
    else
        for (double x : out) printf("%.17g\n", x);
    return true;
}

int main() {
    while (solve_one()) {
    }
    return 0;
}
