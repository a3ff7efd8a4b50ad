// 6. Vectorised loads: kernel 5 with 128-bit (float4) global loads along
// whichever dimension is contiguous (so transposed operands need no copy),
// float4 shared-memory reads of the register fragments, and float4 stores of C.
// MODE_A / MODE_B are LOAD_T_CONTIG or LOAD_K_CONTIG (see common.cuh); the
// launcher picks them from the strides and falls back to scalar loads at
// ragged edges or on misaligned data. The tile shape is template arguments
// too: cuda_ladder.py's VECTORIZED is its one source.
#include "common.cuh"

template <int BM, int BN, int BK, int TM, int TN, int THREADS, int MODE_A, int MODE_B>
__global__ void __launch_bounds__(THREADS) matmul_vectorized(MATMUL_ARGS, int vec_a, int vec_b) {
    static_assert(THREADS == (BM / TM) * (BN / TN), "one thread per TM x TN block of the BM x BN tile");
    static_assert(TM % 4 == 0 && TN % 4 == 0, "register blocks are read as float4");
    __shared__ __align__(16) float As[BK * BM];
    __shared__ __align__(16) float Bs[BK * BN];
    const int b = blockIdx.z;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int row0 = (threadIdx.x / (BN / TN)) * TM, col0 = (threadIdx.x % (BN / TN)) * TN;
    A += b * sAb;
    B += b * sBb;
    float acc[TM][TN] = {{0.f}};
    float regM[TM], regN[TN];
    for (int k0 = 0; k0 < K; k0 += BK) {
        load_tile_kmajor<BK, BM, BM, THREADS, MODE_A>(A, sAk, sAm, k0, m0, K, M, As, vec_a);
        load_tile_kmajor<BK, BN, BN, THREADS, MODE_B>(B, sBk, sBn, k0, n0, K, N, Bs, vec_b);
        __syncthreads();
#pragma unroll
        for (int k = 0; k < BK; ++k) {
#pragma unroll
            for (int i = 0; i < TM; i += 4)
                *reinterpret_cast<float4 *>(&regM[i]) = *reinterpret_cast<const float4 *>(&As[k * BM + row0 + i]);
#pragma unroll
            for (int j = 0; j < TN; j += 4)
                *reinterpret_cast<float4 *>(&regN[j]) = *reinterpret_cast<const float4 *>(&Bs[k * BN + col0 + j]);
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] += regM[i] * regN[j];
        }
        __syncthreads();
    }
    float *Cb = C + (long long)b * M * N;
    const bool vec_c = (N % 4) == 0;  // C rows start 16-byte aligned
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int m = m0 + row0 + i;
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < TN; j += 4) {
            const int n = n0 + col0 + j;
            if (vec_c && n + 3 < N) {
                *reinterpret_cast<float4 *>(&Cb[(long long)m * N + n]) =
                    make_float4(acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]);
            } else {
                for (int q = 0; q < 4; ++q)
                    if (n + q < N) Cb[(long long)m * N + n + q] = acc[i][j + q];
            }
        }
    }
}
