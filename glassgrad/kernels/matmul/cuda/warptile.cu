// 7. Warp tiling: the BM x BN block tile is split into (BM/WM)·(BN/WN) warp
// tiles of WM x WN, and each warp tile into WMITER x WNITER sub-tiles that its
// 32 lanes cover with TM x TN register blocks. The launcher's default
// (WARPTILE_DEFAULT) splits a 128x128 tile among 8 warps of 64x32, each lane
// holding 2 x 2 blocks of 8x4. A warp's shared-memory reads then hit few
// distinct addresses (broadcasts, no bank conflicts), and the loop nest mirrors
// the hardware: block -> warp -> thread, the structure tensor-core kernels keep.
#include "common.cuh"

// The tile sizes are template parameters (cuda_ladder.py's WARPTILE_CONFIGS is
// their one source) so benchmarks/gpu/tune_warptile.py can sweep them on the
// device; the launcher's default is the measured best.
template <int BM, int BN, int BK, int WM, int WN, int WNITER, int TM, int TN, int THREADS, int MODE_A, int MODE_B>
__global__ void __launch_bounds__(THREADS) matmul_warptile(MATMUL_ARGS, int vec_a, int vec_b) {
    constexpr int WMITER = (WM * WN) / (32 * TM * TN * WNITER);
    constexpr int WSUBM = WM / WMITER, WSUBN = WN / WNITER;
    constexpr int LDA = BM + 4, LDB = BN + 4;  // padded, float4-aligned rows
    static_assert(WMITER >= 1 && (BM / WM) * (BN / WN) * 32 == THREADS, "warp grid must cover the block tile");
    static_assert((WSUBM / TM) * (WSUBN / TN) == 32, "a warp's 32 lanes must cover its sub-tile");
    static_assert(TM % 4 == 0 && TN % 4 == 0, "register blocks are read as float4");
    __shared__ __align__(16) float As[BK * LDA];
    __shared__ __align__(16) float Bs[BK * LDB];
    const int b = blockIdx.z;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int warp_m = warp / (BN / WN), warp_n = warp % (BN / WN);
    const int lane_m = lane / (WSUBN / TN), lane_n = lane % (WSUBN / TN);
    A += b * sAb;
    B += b * sBb;
    float acc[WMITER * TM][WNITER * TN] = {{0.f}};
    float regM[WMITER * TM], regN[WNITER * TN];
    for (int k0 = 0; k0 < K; k0 += BK) {
        load_tile_kmajor<BK, BM, LDA, THREADS, MODE_A>(A, sAk, sAm, k0, m0, K, M, As, vec_a);
        load_tile_kmajor<BK, BN, LDB, THREADS, MODE_B>(B, sBk, sBn, k0, n0, K, N, Bs, vec_b);
        __syncthreads();
#pragma unroll
        for (int k = 0; k < BK; ++k) {
#pragma unroll
            for (int wm = 0; wm < WMITER; ++wm)
#pragma unroll
                for (int i = 0; i < TM; i += 4)
                    *reinterpret_cast<float4 *>(&regM[wm * TM + i]) = *reinterpret_cast<const float4 *>(
                        &As[k * LDA + warp_m * WM + wm * WSUBM + lane_m * TM + i]);
#pragma unroll
            for (int wn = 0; wn < WNITER; ++wn)
#pragma unroll
                for (int j = 0; j < TN; j += 4)
                    *reinterpret_cast<float4 *>(&regN[wn * TN + j]) = *reinterpret_cast<const float4 *>(
                        &Bs[k * LDB + warp_n * WN + wn * WSUBN + lane_n * TN + j]);
#pragma unroll
            for (int i = 0; i < WMITER * TM; ++i)
#pragma unroll
                for (int j = 0; j < WNITER * TN; ++j) acc[i][j] += regM[i] * regN[j];
        }
        __syncthreads();
    }
    float *Cb = C + (long long)b * M * N;
#pragma unroll
    for (int wm = 0; wm < WMITER; ++wm)
#pragma unroll
        for (int i = 0; i < TM; ++i) {
            const int m = m0 + warp_m * WM + wm * WSUBM + lane_m * TM + i;
            if (m >= M) continue;
#pragma unroll
            for (int wn = 0; wn < WNITER; ++wn) {
                const int n = n0 + warp_n * WN + wn * WSUBN + lane_n * TN;
                const float *v = &acc[wm * TM + i][wn * TN];
#pragma unroll
                for (int j = 0; j < TN; j += 4) {
                    if ((N % 4) == 0 && n + j + 3 < N) {
                        *reinterpret_cast<float4 *>(&Cb[(long long)m * N + n + j]) =
                            make_float4(v[j], v[j + 1], v[j + 2], v[j + 3]);
                    } else {
                        for (int q = j; q < j + 4; ++q)
                            if (n + q < N) Cb[(long long)m * N + n + q] = v[q];
                    }
                }
            }
        }
}
