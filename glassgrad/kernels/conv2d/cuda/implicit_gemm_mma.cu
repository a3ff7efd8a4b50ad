// conv2d as an implicit GEMM on the tensor cores: mma.sync, FP32 accumulation, operands fed
// from shared memory by ldmatrix, gathered from the conv tensors by implicit_gemm.cuh.
//
//   T = float           TF32 m16n8k8: the fp32 storage is rounded to tf32 (cvt.rna) per fragment;
//                       the stages are filled by 4-byte cp.async (zero-fill for padding and edges)
//   T = bf16_bits       BF16 m16n8k16 on bfloat16 storage (uint16 bits in CuPy: the kernel only moves
//                       the bits); the 2-byte elements go through registers (cp.async moves 4 or more)
//
// Both double-buffer: the next tile is in flight while the tensor cores work on the current one.
// THREADS / 32 warps each own a WM x WN piece of the BM x BN block tile, (WM/16) x (WN/8) mma
// tiles. Shared memory keeps both operands k-contiguous, As[m][k] and Bs[n][k] (A row-major, B
// "column-major": what the mma's .row.col wants), each row padded by 16 bytes so the eight
// 16-byte rows one ldmatrix phase reads fall in eight different bank groups. ldmatrix treats a
// row of 16 bytes as eight b16 (bf16) or four b32 (tf32) values; either way the lane-to-element
// map it produces is the mma fragment's:
//   A (16 x MK):  lane l gives row l % 16, k-chunk l / 16 of x4  ->  a0..a3
//   B (MK x 16):  lane l gives column l % 8 + 8·(l / 16), k-chunk (l / 8) % 2  ->  b0, b1 of two n8 tiles
// and the accumulator c0..c3 of an m16n8 tile is C(g, 2t + {0,1}) and C(g + 8, 2t + {0,1}), with
// g = lane / 4, t = lane % 4.
//
// The tile shape is template arguments: cuda_implicit_gemm.py's MMA is its one source.
#include "stage.cuh"

using bf16_bits = unsigned short;  // a bfloat16's bits: the top half of a float32

template <typename T>
struct MmaShape;
template <>
struct MmaShape<float> {
    static constexpr int MK = 8;  // k of one m16n8k8 tf32 mma
};
template <>
struct MmaShape<bf16_bits> {
    static constexpr int MK = 16;  // k of one m16n8k16 bf16 mma
};

// ldmatrix .x4, the fp32 -> tf32 rounding and d += a·b of one m16n8 tile: defined here for the GPU;
// tests/kernels/implicit_gemm_threads.cpp defines them (from the PTX fragment layouts) for its CPU run.
__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], const void *smem);
__device__ __forceinline__ unsigned to_tf32(unsigned bits);
template <typename T>
__device__ __forceinline__ void mma(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]);

#ifndef CONV_HOST_EMULATION
__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], const void *smem) {
    const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
}

__device__ __forceinline__ unsigned to_tf32(unsigned bits) {
    unsigned out;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(out) : "f"(__uint_as_float(bits)));
    return out;
}

template <>
__device__ __forceinline__ void mma<float>(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

template <>
__device__ __forceinline__ void mma<bf16_bits>(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#endif

template <typename T, int OP, int LAYOUT, int BM, int BN, int WM, int WN, int THREADS>
__global__ void __launch_bounds__(THREADS)
    conv2d_implicit_gemm_mma(const T *__restrict__ a_src, const T *__restrict__ b_src, float *__restrict__ out,
                             CONV_INT_ARGS) {
    static_assert((BM / WM) * (BN / WN) * 32 == THREADS, "one warp per WM x WN piece");
    static_assert(WM % 16 == 0 && WN % 16 == 0, "a warp piece is whole m16 tiles and pairs of n8 tiles");
    using Op = ConvGemm<OP, LAYOUT>;
    constexpr bool CP_ASYNC = sizeof(T) == 4;
    constexpr int KV = 16 / sizeof(T);      // elements in one 16-byte ldmatrix row
    constexpr int MK = MmaShape<T>::MK;     // k of one mma = two 16-byte chunks
    constexpr int BK = 2 * MK;              // k of one stage: two mma k-steps
    constexpr int LD = BK + KV;             // padded row length of both tiles
    constexpr int MI = WM / 16, NI = WN / 8;
    static_assert(MK == 2 * KV, "an mma k-step is two ldmatrix chunks");
    __shared__ __align__(128) T As[2][BM * LD];
    __shared__ __align__(128) T Bs[2][BN * LD];
    __shared__ Coord a_rows[BM], b_rows[BN];
    const ConvParams p{CONV_INT_NAMES};
    const BlockPlace place = block_place<Op, BM, BN>(p);
    fill_tables<Op, BM, BN, THREADS>(p, a_rows, b_rows, place.m0, place.n0, place.g);
    __syncthreads();

    using WalkA = TileWalk<BM, BK, THREADS, Op::A_ROW_FAST>;
    using WalkB = TileWalk<BN, BK, THREADS, Op::B_ROW_FAST>;
    T ra[CP_ASYNC ? 1 : WalkA::PER_THREAD], rb[CP_ASYNC ? 1 : WalkB::PER_THREAD];
    auto issue = [&](int stage, int k0) {  // start filling `stage` with the tile at k0
        if constexpr (CP_ASYNC) {
            gather_cp_async<Op, true, BM, BK, THREADS, Op::A_ROW_FAST, LD, 1>(
                p, reinterpret_cast<const float *>(a_src), a_rows, k0, place.kend, place.g,
                reinterpret_cast<float *>(As[stage]));
            gather_cp_async<Op, false, BN, BK, THREADS, Op::B_ROW_FAST, LD, 1>(
                p, reinterpret_cast<const float *>(b_src), b_rows, k0, place.kend, place.g,
                reinterpret_cast<float *>(Bs[stage]));
            cp_async_commit();
        } else {
            gather_regs<Op, true, BM, BK, THREADS, Op::A_ROW_FAST>(p, a_src, a_rows, k0, place.kend, place.g, ra);
            gather_regs<Op, false, BN, BK, THREADS, Op::B_ROW_FAST>(p, b_src, b_rows, k0, place.kend, place.g, rb);
        }
    };
    auto land = [&](int stage) {  // the registers of the last issue into `stage` (register path only)
        if constexpr (!CP_ASYNC) {
            store_regs<BM, BK, THREADS, Op::A_ROW_FAST, LD, 1>(As[stage], ra);
            store_regs<BN, BK, THREADS, Op::B_ROW_FAST, LD, 1>(Bs[stage], rb);
        }
    };

    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int wm0 = (warp / (BN / WN)) * WM, wn0 = (warp % (BN / WN)) * WN;
    float acc[MI][NI][4];
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
        for (int j = 0; j < NI; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.f;

    const int tiles = place.kend > place.kbegin ? (place.kend - place.kbegin + BK - 1) / BK : 0;
    if (tiles > 0) {
        issue(0, place.kbegin);
        land(0);
    }
    if (!CP_ASYNC) __syncthreads();
    for (int t = 0; t < tiles; ++t) {
        const bool more = t + 1 < tiles;
        if constexpr (CP_ASYNC) {
            if (more) issue((t + 1) & 1, place.kbegin + (t + 1) * BK);
            else cp_async_commit();  // an empty group keeps "all but the newest" meaning this stage
            cp_async_wait_one();
            __syncthreads();
        } else if (more) {
            issue((t + 1) & 1, place.kbegin + (t + 1) * BK);
        }
        const T *as = As[t & 1], *bs = Bs[t & 1];
#pragma unroll
        for (int kk = 0; kk < BK; kk += MK) {
            unsigned af[MI][4], bf[NI][2];
#pragma unroll
            for (int i = 0; i < MI; ++i)
                ldmatrix_x4(af[i], &as[(wm0 + i * 16 + lane % 16) * LD + kk + (lane / 16) * KV]);
#pragma unroll
            for (int j = 0; j < NI; j += 2) {
                unsigned r[4];
                ldmatrix_x4(r, &bs[(wn0 + j * 8 + lane % 8 + (lane / 16) * 8) * LD + kk + ((lane / 8) % 2) * KV]);
                bf[j][0] = r[0], bf[j][1] = r[1], bf[j + 1][0] = r[2], bf[j + 1][1] = r[3];
            }
            if constexpr (CP_ASYNC) {
#pragma unroll
                for (int i = 0; i < MI; ++i)
#pragma unroll
                    for (int e = 0; e < 4; ++e) af[i][e] = to_tf32(af[i][e]);
#pragma unroll
                for (int j = 0; j < NI; ++j) bf[j][0] = to_tf32(bf[j][0]), bf[j][1] = to_tf32(bf[j][1]);
            }
#pragma unroll
            for (int i = 0; i < MI; ++i)
#pragma unroll
                for (int j = 0; j < NI; ++j) mma<T>(acc[i][j], af[i], bf[j]);
        }
        if (!CP_ASYNC && more) land((t + 1) & 1);
        __syncthreads();
    }

    // Epilogue: each thread's accumulators sit on 2·MI rows and 2·NI columns of the block tile.
    const int M = Op::rows(p), Nn = Op::cols(p);
    const int g4 = lane / 4, t4 = lane % 4;
    int col_off[NI][2];
    bool col_ok[NI][2];
#pragma unroll
    for (int j = 0; j < NI; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            const int n = place.n0 + wn0 + j * 8 + 2 * t4 + e;
            col_ok[j][e] = n < Nn;
            col_off[j][e] = n < Nn ? Op::c_col(p, n, place.g) : 0;
        }
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            const int m = place.m0 + wm0 + i * 16 + g4 + half * 8;
            if (m >= M) continue;
            const int row_off = Op::c_row(p, m, place.split);
#pragma unroll
            for (int j = 0; j < NI; ++j)
#pragma unroll
                for (int e = 0; e < 2; ++e)
                    if (col_ok[j][e]) out[row_off + col_off[j][e]] = acc[i][j][half * 2 + e];
        }
}
