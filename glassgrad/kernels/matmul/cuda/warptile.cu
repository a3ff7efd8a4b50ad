// 7. Warp tiling: the 128x128 block tile is split into four 64x64 warp tiles,
// and each warp into sub-tiles that its 32 threads cover with 8x4 register
// blocks. A warp's shared-memory reads then hit few distinct addresses
// (broadcasts, no bank conflicts), and the loop nest mirrors the hardware:
// block -> warp -> thread, the structure tensor-core kernels keep.
// Tuned for the H100: 128 threads, up to 2 blocks/SM on 132 SMs, BK = 16.
#include "common.cuh"

constexpr int BM = 128, BN = 128, BK = 16;
constexpr int WM = 64, WN = 64, WNITER = 4, TM = 8, TN = 4;
constexpr int THREADS = 128;
constexpr int WMITER = (WM * WN) / (32 * TM * TN * WNITER);  // 1
constexpr int WSUBM = WM / WMITER, WSUBN = WN / WNITER;      // 64, 16
constexpr int LDA = BM + 4, LDB = BN + 4;                    // padded, float4-aligned rows

template <int MODE_A, int MODE_B>
__global__ void __launch_bounds__(THREADS) matmul_warptile(MATMUL_ARGS, int vec_a, int vec_b) {
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
                *reinterpret_cast<float4 *>(&regN[wn * TN]) = *reinterpret_cast<const float4 *>(
                    &Bs[k * LDB + warp_n * WN + wn * WSUBN + lane_n * TN]);
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
                if ((N % 4) == 0 && n + 3 < N) {
                    *reinterpret_cast<float4 *>(&Cb[(long long)m * N + n]) = make_float4(v[0], v[1], v[2], v[3]);
                } else {
                    for (int q = 0; q < TN; ++q)
                        if (n + q < N) Cb[(long long)m * N + n + q] = v[q];
                }
            }
        }
}
