// conv2d as an implicit GEMM on the FP32 SIMT cores: the matmul ladder's 2-D register blocking
// (each of THREADS threads owns a TM x TN piece of the BM x BN block tile) with operands
// gathered from the conv tensors by implicit_gemm.cuh instead of read from matrices.
//
// OP is fprop, dgrad or wgrad (implicit_gemm.cuh's table of the three GEMMs), LAYOUT the order
// the reduction digits are walked in (NCHW or NHWC strides). Shared memory holds two k-major
// stages, As[k][m] and Bs[k][n] (rows padded by 4 floats so the k-fast loader's stores miss
// each other's banks); the next tile is gathered into registers while the current one is
// multiplied, then stored to the other stage: one barrier per tile.
//
//   C(m, n) = Σ_{k in [kbegin, kend)} A(m, k) · B(k, n),   stored at out[c_row(m) + c_col(n)]
//
// The tile shape is template arguments: cuda_implicit_gemm.py's SIMT is its one source.
#include "stage.cuh"

template <int OP, int LAYOUT, int BM, int BN, int BK, int TM, int TN, int THREADS>
__global__ void __launch_bounds__(THREADS)
    conv2d_implicit_gemm_simt(const float *__restrict__ a_src, const float *__restrict__ b_src,
                              float *__restrict__ out, CONV_INT_ARGS) {
    static_assert(THREADS == (BM / TM) * (BN / TN), "one thread per TM x TN piece of the BM x BN tile");
    static_assert(TM % 4 == 0 && TN % 4 == 0, "float4 reads of the thread's rows and columns");
    using Op = ConvGemm<OP, LAYOUT>;
    constexpr int LDA = BM + 4, LDB = BN + 4;
    __shared__ __align__(16) float As[2][BK * LDA];
    __shared__ __align__(16) float Bs[2][BK * LDB];
    __shared__ Coord a_rows[BM], b_rows[BN];
    const ConvParams p{CONV_INT_NAMES};
    const BlockPlace place = block_place<Op, BM, BN>(p);
    fill_tables<Op, BM, BN, THREADS>(p, a_rows, b_rows, place.m0, place.n0, place.g);
    __syncthreads();

    using WalkA = TileWalk<BM, BK, THREADS, Op::A_ROW_FAST>;
    using WalkB = TileWalk<BN, BK, THREADS, Op::B_ROW_FAST>;
    float ra[WalkA::PER_THREAD], rb[WalkB::PER_THREAD];
    auto gather = [&](int k0) {
        gather_regs<Op, true, BM, BK, THREADS, Op::A_ROW_FAST>(p, a_src, a_rows, k0, place.kend, place.g, ra);
        gather_regs<Op, false, BN, BK, THREADS, Op::B_ROW_FAST>(p, b_src, b_rows, k0, place.kend, place.g, rb);
    };
    auto store = [&](int stage) {
        store_regs<BM, BK, THREADS, Op::A_ROW_FAST, 1, LDA>(As[stage], ra);
        store_regs<BN, BK, THREADS, Op::B_ROW_FAST, 1, LDB>(Bs[stage], rb);
    };

    const int row0 = (threadIdx.x / (BN / TN)) * TM, col0 = (threadIdx.x % (BN / TN)) * TN;
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;

    const int tiles = place.kend > place.kbegin ? (place.kend - place.kbegin + BK - 1) / BK : 0;
    if (tiles > 0) {
        gather(place.kbegin);
        store(0);
    }
    __syncthreads();
    for (int t = 0; t < tiles; ++t) {
        const bool more = t + 1 < tiles;
        if (more) gather(place.kbegin + (t + 1) * BK);
        const float *as = As[t & 1], *bs = Bs[t & 1];
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            float regM[TM], regN[TN];
#pragma unroll
            for (int i = 0; i < TM; i += 4) {
                const float4 v = *reinterpret_cast<const float4 *>(&as[k * LDA + row0 + i]);
                regM[i] = v.x, regM[i + 1] = v.y, regM[i + 2] = v.z, regM[i + 3] = v.w;
            }
#pragma unroll
            for (int j = 0; j < TN; j += 4) {
                const float4 v = *reinterpret_cast<const float4 *>(&bs[k * LDB + col0 + j]);
                regN[j] = v.x, regN[j + 1] = v.y, regN[j + 2] = v.z, regN[j + 3] = v.w;
            }
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] += regM[i] * regN[j];
        }
        if (more) store((t + 1) & 1);
        __syncthreads();
    }

    const int M = Op::rows(p), Nn = Op::cols(p);
    int col_off[TN];
#pragma unroll
    for (int j = 0; j < TN; ++j) {
        const int n = place.n0 + col0 + j;
        col_off[j] = n < Nn ? Op::c_col(p, n, place.g) : 0;
    }
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int m = place.m0 + row0 + i;
        if (m >= M) continue;
        const int row_off = Op::c_row(p, m, place.split);
#pragma unroll
        for (int j = 0; j < TN; ++j)
            if (place.n0 + col0 + j < Nn) out[row_off + col_off[j]] = acc[i][j];
    }
}
