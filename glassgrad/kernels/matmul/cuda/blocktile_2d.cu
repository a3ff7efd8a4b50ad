// 5. 2-D register blocking: each thread computes a TM x TN block of C.
// Per k it loads TM values of A and TN of B into registers and does TM·TN FMAs
// with them: with 8x8 blocks (the launcher's), arithmetic intensity per
// shared-memory load goes from 1 to 4.
// The tile shape is template arguments: cuda_ladder.py's BLOCKTILE_2D is its one source.
#include "common.cuh"

template <int BM, int BN, int BK, int TM, int TN, int THREADS>
__global__ void __launch_bounds__(THREADS) matmul_blocktile_2d(MATMUL_ARGS) {
    static_assert(THREADS == (BM / TM) * (BN / TN), "one thread per TM x TN block of the BM x BN tile");
    __shared__ float As[BK * BM];
    __shared__ float Bs[BK * BN];
    const int b = blockIdx.z;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int row0 = (threadIdx.x / (BN / TN)) * TM, col0 = (threadIdx.x % (BN / TN)) * TN;
    A += b * sAb;
    B += b * sBb;
    float acc[TM][TN] = {{0.f}};
    float regM[TM], regN[TN];
    for (int k0 = 0; k0 < K; k0 += BK) {
        load_tile_kmajor<BK, BM, BM, THREADS, LOAD_SCALAR>(A, sAk, sAm, k0, m0, K, M, As, false);
        load_tile_kmajor<BK, BN, BN, THREADS, LOAD_SCALAR>(B, sBk, sBn, k0, n0, K, N, Bs, false);
        __syncthreads();
#pragma unroll
        for (int k = 0; k < BK; ++k) {
#pragma unroll
            for (int i = 0; i < TM; ++i) regM[i] = As[k * BM + row0 + i];
#pragma unroll
            for (int j = 0; j < TN; ++j) regN[j] = Bs[k * BN + col0 + j];
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] += regM[i] * regN[j];
        }
        __syncthreads();
    }
    float *Cb = C + (long long)b * M * N;
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) {
            const int m = m0 + row0 + i, n = n0 + col0 + j;
            if (m < M && n < N) Cb[(long long)m * N + n] = acc[i][j];
        }
}
