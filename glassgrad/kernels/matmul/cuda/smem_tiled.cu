// 3. Shared-memory tiling: a TILE x TILE block stages TILE x TILE tiles of A and B
// in shared memory, so each global element is read once per tile instead of
// once per output: global traffic drops by a factor of TILE (32 in the launcher).
// TILE is a template argument: cuda_ladder.py's SMEM_TILED is its one source.
#include "common.cuh"

template <int TILE>
__global__ void matmul_smem_tiled(MATMUL_ARGS) {
    __shared__ float As[TILE][TILE];
    __shared__ float Bs[TILE][TILE + 1];  // +1: no bank conflicts on the column read
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int n = blockIdx.x * TILE + tx;
    const int m = blockIdx.y * TILE + ty;
    const int b = blockIdx.z;
    A += b * sAb;
    B += b * sBb;
    float acc = 0.f;
    for (int k0 = 0; k0 < K; k0 += TILE) {
        As[ty][tx] = (m < M && k0 + tx < K) ? A[m * sAm + (k0 + tx) * sAk] : 0.f;
        Bs[ty][tx] = (k0 + ty < K && n < N) ? B[(k0 + ty) * sBk + n * sBn] : 0.f;
        __syncthreads();
#pragma unroll
        for (int k = 0; k < TILE; ++k) acc += As[ty][k] * Bs[k][tx];
        __syncthreads();
    }
    if (m < M && n < N) C[(long long)b * M * N + (long long)m * N + n] = acc;
}
