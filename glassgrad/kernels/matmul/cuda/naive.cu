// 1. Naive: one thread per output, thread x walks down the rows of C.
// Neighbouring threads of a warp read A rows that are far apart and write C
// with stride N, so almost no access is coalesced: the baseline of the ladder.
#include "common.cuh"

extern "C" __global__ void matmul_naive(MATMUL_ARGS) {
    const int m = blockIdx.x * blockDim.x + threadIdx.x;
    const int n = blockIdx.y * blockDim.y + threadIdx.y;
    const int b = blockIdx.z;
    if (m >= M || n >= N) return;
    A += b * sAb;
    B += b * sBb;
    float acc = 0.f;
    for (int k = 0; k < K; ++k) acc += A[m * sAm + k * sAk] * B[k * sBk + n * sBn];
    C[(long long)b * M * N + (long long)m * N + n] = acc;
}
