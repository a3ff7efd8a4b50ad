// 2. Coalesced: the same arithmetic, but consecutive threads of a warp own
// consecutive columns n, so B's row and C's row are read/written in one
// transaction per warp and A's element is a broadcast.
#include "common.cuh"

extern "C" __global__ void matmul_coalesced(MATMUL_ARGS) {
    const int n = blockIdx.x * blockDim.x + threadIdx.x;
    const int m = blockIdx.y * blockDim.y + threadIdx.y;
    const int b = blockIdx.z;
    if (m >= M || n >= N) return;
    A += b * sAb;
    B += b * sBb;
    float acc = 0.f;
    for (int k = 0; k < K; ++k) acc += A[m * sAm + k * sAk] * B[k * sBk + n * sBn];
    C[(long long)b * M * N + (long long)m * N + n] = acc;
}
