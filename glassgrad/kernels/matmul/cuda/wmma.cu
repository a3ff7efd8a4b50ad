// 8. Tensor cores: WMMA fragments (TF32 m16n16k8 on float inputs, BF16
// m16n16k16 on bfloat16 storage), FP32 accumulation, and cp.async double
// buffering: while the tensor cores work on one shared-memory stage, the copy
// engine fills the other. THREADS / 32 warps each own a WARP_M x WARP_N piece
// of the BM x BN block tile; the launcher's shape (cuda_ladder.py's WMMA, the
// one source of these template arguments) is 256 threads = 8 warps, each
// owning a 64x32 piece of a 128x128 tile (4x2 fragments).
//
// Shared memory keeps each operand in its global layout (cp.async copies
// contiguous 16-byte chunks), so a transposed operand is just the other WMMA
// fragment layout: A_KCONTIG picks row_major A (k contiguous) or col_major A
// (m contiguous); B_NCONTIG picks row_major B (n contiguous) or col_major B.
#include <cuda_bf16.h>
#include <mma.h>
using namespace nvcuda;

template <bool C, typename X, typename Y> struct pick { using type = X; };
template <typename X, typename Y> struct pick<false, X, Y> { using type = Y; };

template <typename T> struct mma_traits;
template <> struct mma_traits<float> {  // TF32: float in memory, rounded to tf32 in the fragment
    using frag_t = wmma::precision::tf32;
    static constexpr int WK = 8, BK = 16, PAD = 4;
};
template <> struct mma_traits<__nv_bfloat16> {
    using frag_t = __nv_bfloat16;
    static constexpr int WK = 16, BK = 32, PAD = 8;
};

__device__ __forceinline__ void cp_async16(void *smem, const void *gmem, int src_bytes) {
    const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_one() { asm volatile("cp.async.wait_group 1;\n" ::); }

// Copy a ROWS x COLS tile (COLS contiguous in global memory, row stride `ld`)
// into shared memory with row stride LD, zero-filling rows >= rows_left and
// columns >= cols_left. Vector path: 16-byte cp.async (src-size < 16 zero-fills
// a ragged edge); otherwise plain element copies. All THREADS threads take part.
template <typename T, int ROWS, int COLS, int LD, int THREADS>
__device__ __forceinline__ void load_tile(T *smem, const T *g, long long ld, int rows_left, int cols_left,
                                          bool vec_ok) {
    constexpr int VEC = 16 / sizeof(T);
    if (vec_ok) {
        constexpr int CHUNKS = ROWS * COLS / VEC;
        for (int i = threadIdx.x; i < CHUNKS; i += THREADS) {
            const int r = i / (COLS / VEC), c = (i % (COLS / VEC)) * VEC;
            int valid = (r < rows_left) ? min(VEC, max(cols_left - c, 0)) : 0;
            const T *src = valid ? g + (long long)r * ld + c : g;
            cp_async16(&smem[r * LD + c], src, valid * (int)sizeof(T));
        }
    } else {
        for (int i = threadIdx.x; i < ROWS * COLS; i += THREADS) {
            const int r = i / COLS, c = i % COLS;
            smem[r * LD + c] = (r < rows_left && c < cols_left) ? g[(long long)r * ld + c] : T(0.f);
        }
    }
}

template <typename T, int BM, int BN, int WARP_M, int WARP_N, int THREADS, bool A_KCONTIG, bool B_NCONTIG>
__global__ void __launch_bounds__(THREADS)
    matmul_wmma(const T *__restrict__ A, const T *__restrict__ B, float *__restrict__ C, int M, int N, int K,
                long long sAb, long long lda, long long sBb, long long ldb, int vec_a, int vec_b) {
    static_assert((BM / WARP_M) * (BN / WARP_N) * 32 == THREADS, "one warp per WARP_M x WARP_N piece");
    static_assert(WARP_M % 16 == 0 && WARP_N % 16 == 0, "a warp piece is whole 16x16 fragments");
    constexpr int FM = WARP_M / 16, FN = WARP_N / 16;
    using tr = mma_traits<T>;
    constexpr int BK = tr::BK, WK = tr::WK, PAD = tr::PAD;
    // A tile: [BM][BK] if k is contiguous, else [BK][BM]; B tile: [BK][BN] if n is contiguous, else [BN][BK].
    constexpr int A_ROWS = A_KCONTIG ? BM : BK, A_COLS = A_KCONTIG ? BK : BM, LDA = A_COLS + PAD;
    constexpr int B_ROWS = B_NCONTIG ? BK : BN, B_COLS = B_NCONTIG ? BN : BK, LDB = B_COLS + PAD;
    constexpr int A_STAGE = A_ROWS * LDA, B_STAGE = B_ROWS * LDB;
    constexpr int SMEM_BYTES = 2 * (A_STAGE + B_STAGE) * sizeof(T);
    constexpr int EPI_BYTES = (THREADS / 32) * 16 * 16 * sizeof(float);
    __shared__ __align__(128) unsigned char smem[SMEM_BYTES > EPI_BYTES ? SMEM_BYTES : EPI_BYTES];
    T *As = reinterpret_cast<T *>(smem);
    T *Bs = As + 2 * A_STAGE;

    using LayoutA = typename pick<A_KCONTIG, wmma::row_major, wmma::col_major>::type;
    using LayoutB = typename pick<B_NCONTIG, wmma::row_major, wmma::col_major>::type;
    using FragT = typename tr::frag_t;

    const int b = blockIdx.z;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int warp = threadIdx.x / 32;
    const int wm0 = (warp / (BN / WARP_N)) * WARP_M, wn0 = (warp % (BN / WARP_N)) * WARP_N;
    A += b * sAb;
    B += b * sBb;

    wmma::fragment<wmma::accumulator, 16, 16, WK, float> acc[FM][FN];
#pragma unroll
    for (int i = 0; i < FM; ++i)
#pragma unroll
        for (int j = 0; j < FN; ++j) wmma::fill_fragment(acc[i][j], 0.f);

    auto load_stage = [&](int stage, int k0) {
        T *as = As + stage * A_STAGE, *bs = Bs + stage * B_STAGE;
        if (A_KCONTIG)
            load_tile<T, A_ROWS, A_COLS, LDA, THREADS>(as, A + m0 * lda + k0, lda, M - m0, K - k0, vec_a);
        else
            load_tile<T, A_ROWS, A_COLS, LDA, THREADS>(as, A + k0 * lda + m0, lda, K - k0, M - m0, vec_a);
        if (B_NCONTIG)
            load_tile<T, B_ROWS, B_COLS, LDB, THREADS>(bs, B + k0 * ldb + n0, ldb, K - k0, N - n0, vec_b);
        else
            load_tile<T, B_ROWS, B_COLS, LDB, THREADS>(bs, B + n0 * ldb + k0, ldb, N - n0, K - k0, vec_b);
    };

    const int tiles = (K + BK - 1) / BK;
    load_stage(0, 0);
    cp_async_commit();
    for (int t = 0; t < tiles; ++t) {
        if (t + 1 < tiles) load_stage((t + 1) & 1, (t + 1) * BK);
        cp_async_commit();
        cp_async_wait_one();  // everything but the stage just issued has landed
        __syncthreads();
        const T *as = As + (t & 1) * A_STAGE;
        const T *bs = Bs + (t & 1) * B_STAGE;
#pragma unroll
        for (int kk = 0; kk < BK; kk += WK) {
            wmma::fragment<wmma::matrix_a, 16, 16, WK, FragT, LayoutA> a[FM];
            wmma::fragment<wmma::matrix_b, 16, 16, WK, FragT, LayoutB> bf[FN];
#pragma unroll
            for (int i = 0; i < FM; ++i) {
                const int m = wm0 + i * 16;
                wmma::load_matrix_sync(a[i], as + (A_KCONTIG ? m * LDA + kk : kk * LDA + m), LDA);
                if (sizeof(T) == 4)
#pragma unroll
                    for (int e = 0; e < a[i].num_elements; ++e) a[i].x[e] = wmma::__float_to_tf32(a[i].x[e]);
            }
#pragma unroll
            for (int j = 0; j < FN; ++j) {
                const int n = wn0 + j * 16;
                wmma::load_matrix_sync(bf[j], bs + (B_NCONTIG ? kk * LDB + n : n * LDB + kk), LDB);
                if (sizeof(T) == 4)
#pragma unroll
                    for (int e = 0; e < bf[j].num_elements; ++e) bf[j].x[e] = wmma::__float_to_tf32(bf[j].x[e]);
            }
#pragma unroll
            for (int i = 0; i < FM; ++i)
#pragma unroll
                for (int j = 0; j < FN; ++j) wmma::mma_sync(acc[i][j], a[i], bf[j], acc[i][j]);
        }
        __syncthreads();
    }

    // Epilogue: stage each 16x16 accumulator through this warp's slice of shared
    // memory, then write it with bounds checks (C need not be a tile multiple).
    float *scratch = reinterpret_cast<float *>(smem) + warp * 256;
    float *Cb = C + (long long)b * M * N;
    const int lane = threadIdx.x % 32;
#pragma unroll
    for (int i = 0; i < FM; ++i)
#pragma unroll
        for (int j = 0; j < FN; ++j) {
            wmma::store_matrix_sync(scratch, acc[i][j], 16, wmma::mem_row_major);
            __syncwarp();
            for (int e = lane; e < 256; e += 32) {
                const int m = m0 + wm0 + i * 16 + e / 16, n = n0 + wn0 + j * 16 + e % 16;
                if (m < M && n < N) Cb[(long long)m * N + n] = scratch[e];
            }
            __syncwarp();
        }
}
