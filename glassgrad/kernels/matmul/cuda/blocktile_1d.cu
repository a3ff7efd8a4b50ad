// 4. 1-D register blocking: each thread computes TM outputs of one column.
// The B element it needs is loaded from shared memory once into a register and
// reused TM times, so shared-memory loads per FMA drop from 2 to about 1.
// The tile shape is template arguments: cuda_ladder.py's BLOCKTILE_1D is its one source.
#include "common.cuh"

template <int BM, int BN, int BK, int TM, int THREADS>
__global__ void __launch_bounds__(THREADS) matmul_blocktile_1d(MATMUL_ARGS) {
    static_assert(THREADS == BM * BN / TM, "one thread per TM outputs of the BM x BN tile");
    __shared__ float As[BK * BM];  // k-major: As[k][m]
    __shared__ float Bs[BK * BN];  // Bs[k][n]
    const int b = blockIdx.z;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int col = threadIdx.x % BN, row0 = (threadIdx.x / BN) * TM;
    A += b * sAb;
    B += b * sBb;
    float acc[TM] = {0.f};
    for (int k0 = 0; k0 < K; k0 += BK) {
        load_tile_kmajor<BK, BM, BM, THREADS, LOAD_SCALAR>(A, sAk, sAm, k0, m0, K, M, As, false);
        load_tile_kmajor<BK, BN, BN, THREADS, LOAD_SCALAR>(B, sBk, sBn, k0, n0, K, N, Bs, false);
        __syncthreads();
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            const float bv = Bs[k * BN + col];
#pragma unroll
            for (int i = 0; i < TM; ++i) acc[i] += As[k * BM + row0 + i] * bv;
        }
        __syncthreads();
    }
    const int n = n0 + col;
    float *Cb = C + (long long)b * M * N;
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int m = m0 + row0 + i;
        if (m < M && n < N) Cb[(long long)m * N + n] = acc[i];
    }
}
