// 9. Tensor cores through inline PTX: mma.sync fed by ldmatrix from a swizzled,
// multi-stage cp.async pipeline, with the epilogue fused into the store.
//
// One warp-wide instruction multiplies a 16 x K fragment of A by a K x 8 fragment
// of B and adds it into a 16 x 8 FP32 accumulator held 4 floats per thread:
//   BF16/FP16: mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}   (K = 16)
//   TF32:      mma.sync.aligned.m16n8k8.row.col.f32.tf32           (K = 8, float rounded to tf32 by cvt.rna)
// With g = lane / 4 and t = lane % 4, thread `lane` holds
//   A (16-bit): a0 = A[g][2t..2t+1], a1 = A[g+8][2t..], a2 = A[g][2t+8..], a3 = A[g+8][2t+8..]
//   B (16-bit): b0 = B[2t..2t+1][g], b1 = B[2t+8..][g]
//   A (tf32):   a0 = A[g][t], a1 = A[g+8][t], a2 = A[g][t+4], a3 = A[g+8][t+4];  b0 = B[t][g], b1 = B[t+4][g]
//   C:          c0, c1 = C[g][2t..2t+1], c2, c3 = C[g+8][2t..2t+1]
// ldmatrix.x4 loads four 8x8 16-bit matrices (lanes 8i..8i+7 give the row addresses of
// matrix i) and hands out exactly these pieces: thread (g, t) gets row g, 32-bit word t of
// each matrix, or with .trans the transposed matrix. An operand stored the other way round
// (A with m contiguous, B with n contiguous) is read with .trans, so a transposed view costs
// nothing. TF32 elements are 32-bit, which .trans cannot transpose: there the m-contiguous A
// and the n-contiguous B are read with plain 32-bit shared loads instead.
//
// Shared memory keeps each operand tile in its global layout as rows of 16-byte chunks,
// so cp.async.cg copies 16 global bytes straight into a chunk (src-size < 16 zero-fills a
// ragged edge). Why the XOR swizzle: a warp's ldmatrix reads 8 rows at the same chunk
// column, and with rows of 64 or 256 bytes those 8 chunks sit in only 2 (or 1) of the 8
// 16-byte bank groups of a 128-byte line, a 4-way (8-way) bank conflict. Storing chunk c of
// row r at c ^ f(r) (f(r) = r % 8 for rows of >= 8 chunks, (r / 2) % 4 for rows of 4
// chunks) puts those 8 chunks in 8 different bank groups, with no padding bytes. Every
// 16-byte copy must be aligned: the launcher pads (copies) an operand whose leading dim is
// not a multiple of 16 bytes; a transposed or batched operand is read through its strides.
//
// Pipeline: STAGES shared-memory stages; tile kt + STAGES - 1 is copied while the tensor
// cores work on tile kt (one commit group per tile, cp.async.wait_group STAGES - 2, one
// __syncthreads per tile). Block tile BM x BN, warp tile WM x WN, one warp per piece.
//
// Split-K: blockIdx.z = batch * splits + split; a block sums only its share of the K
// tiles. With splits > 1 the FP32 partial sums go to `partial` ([splits][batch][M][N]) and
// matmul_mma_sync_reduce adds them in split order and applies the epilogue (deterministic,
// and an activation needs the whole sum; atomics would be neither).
//
// Epilogue, on the FP32 sum v of row m, column n:
//   v += bias[n];  v = act(v) (none, ReLU, GELU tanh form, GELU erf form);  v += residual[m][n];
//   C[m][n] = v, stored as float or as the 16-bit element type (round to nearest even).
// C, `residual` and `partial` are contiguous (batch, M, N) arrays. The accumulators reach
// global memory through shared memory, one 16-row strip per warp at a time, so the stores
// are coalesced along n.

#include "mma_sync_ptx.cuh"

enum MmaActivation { ACT_NONE = 0, ACT_RELU = 1, ACT_GELU_TANH = 2, ACT_GELU_ERF = 3 };

// ---- the fused epilogue --------------------------------------------------------------

struct Epilogue {
    const float *bias;     // [N] or null
    const void *residual;  // contiguous (batch, M, N) like C, or null
    int act;               // MmaActivation
    int out_low;           // C (and residual) hold the 16-bit element type, else float
};

template <int ELEM>
__device__ __forceinline__ void epilogue_store(void *C, long long idx, int n, float v, const Epilogue &e) {
    if (e.bias) v += e.bias[n];
    if (e.act == ACT_RELU) {
        v = v < 0.f ? 0.f : v;  // NaN stays NaN, as torch.relu
    } else if (e.act == ACT_GELU_TANH) {
        v = 0.5f * v * (1.f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    } else if (e.act == ACT_GELU_ERF) {
        v = 0.5f * v * (1.f + erff(v * 0.7071067811865476f));
    }
    const bool low = ELEM != MMA_TF32 && e.out_low;
    if (e.residual)
        v += low ? low_to_float<ELEM>(static_cast<const unsigned short *>(e.residual)[idx])
                 : static_cast<const float *>(e.residual)[idx];
    if (low)
        static_cast<unsigned short *>(C)[idx] = float_to_low<ELEM>(v);
    else
        static_cast<float *>(C)[idx] = v;
}

// ---- shared-memory tiles ---------------------------------------------------------------

// Where chunk `c` of row `r` lives in a tile with CH 16-byte chunks per row (see the header).
template <int CH> __device__ __forceinline__ int swizzle(int r, int c) {
    static_assert(CH == 4 || CH % 8 == 0, "rows of 4 chunks or of a multiple of 8");
    return CH == 4 ? c ^ ((r >> 1) & 3) : c ^ (r & 7);
}
// Element offset of element `e` (counted along the row) of row `r`; EPC elements per chunk.
template <int CH, int EPC> __device__ __forceinline__ int tile_offset(int r, int e) {
    return (r * CH + swizzle<CH>(r, e / EPC)) * EPC + e % EPC;
}

// Copy the ROWS x (CH * EPC) tile at `g` (row stride `ld`, rows contiguous) into `tile`,
// one 16-byte cp.async per chunk, zero-filling rows >= rows_left and elements >= cols_left
// (src-size 0..16 bytes). `g` and `ld` are 16-byte aligned: the launcher pads a leading dim
// that is not a multiple of 16 bytes (a copy only for such shapes, never for a transpose).
template <typename T, int ROWS, int CH, int THREADS>
__device__ __forceinline__ void load_tile(T *tile, const T *g, long long ld, int rows_left, int cols_left) {
    constexpr int EPC = 16 / sizeof(T), CHUNKS = ROWS * CH, ROUNDS = (CHUNKS + THREADS - 1) / THREADS;
#pragma unroll
    for (int round = 0; round < ROUNDS; ++round) {
        const int i = threadIdx.x + round * THREADS;
        if (CHUNKS % THREADS != 0 && i >= CHUNKS) break;
        const int r = i / CH, c = i % CH;
        const int valid = r < rows_left ? min(EPC, max(cols_left - c * EPC, 0)) : 0;
        const T *src = valid ? g + r * ld + c * EPC : g;
        cp_async16(tile + (r * CH + swizzle<CH>(r, c)) * EPC, src, valid * (int)sizeof(T));
    }
}

// One warp writes a 16 x WN strip of accumulators (row stride LDS in shared memory) whose
// top-left element is C(m0, n0): through the epilogue into C, or raw into split `split`'s
// slice of `partial`. Not inlined: one copy of the epilogue per kernel, not one per strip.
template <int ELEM, int WN, int LDS>
__device__ __noinline__ void store_strip(const float *strip, void *C, float *partial, int M, int N, int m0, int n0,
                                         int batch, int batches, int split, int splits, const float *bias,
                                         const void *residual, int act, int out_low) {
    const Epilogue e{bias, residual, act, out_low};
    const long long plane = (long long)M * N;
    for (int x = threadIdx.x % 32; x < 16 * WN; x += 32) {
        const int m = m0 + x / WN, n = n0 + x % WN;
        if (m >= M || n >= N) continue;
        const long long idx = (long long)m * N + n;
        const float v = strip[(x / WN) * LDS + x % WN];
        if (splits > 1)
            partial[(split * (long long)batches + batch) * plane + idx] = v;
        else
            epilogue_store<ELEM>(C, batch * plane + idx, n, v, e);
    }
}

// ---- the GEMM -------------------------------------------------------------------------

template <int ELEM, int BM, int BN, int BK, int WM, int WN, int STAGES, int THREADS, bool A_KCONTIG, bool B_NCONTIG>
__global__ void __launch_bounds__(THREADS)
    matmul_mma_sync(const typename mma_storage<ELEM>::type *__restrict__ A,
                    const typename mma_storage<ELEM>::type *__restrict__ B, void *__restrict__ C, int M, int N, int K,
                    long long sAb, long long lda, long long sBb, long long ldb,
                    const float *__restrict__ bias, const void *__restrict__ residual, int act, int out_low,
                    int splits, float *__restrict__ partial) {
    using T = typename mma_storage<ELEM>::type;
    constexpr bool TF32 = ELEM == MMA_TF32;
    constexpr int EPC = 16 / sizeof(T);  // elements per 16-byte chunk
    constexpr int MK = TF32 ? 8 : 16;    // the k of one mma
    constexpr int MT = WM / 16, NT = WN / 8;
    static_assert((BM / WM) * (BN / WN) * 32 == THREADS, "one warp per WM x WN piece");
    static_assert(WM % 16 == 0 && WN % 16 == 0 && BK % MK == 0 && BK % EPC == 0, "whole fragments and chunks");
    static_assert(STAGES >= 2, "at least double buffering");
    // A tile: [BM][BK] rows if k is contiguous, else [BK][BM]; B tile: [BK][BN] if n is contiguous, else [BN][BK].
    constexpr int A_ROWS = A_KCONTIG ? BM : BK, A_CH = (A_KCONTIG ? BK : BM) / EPC;
    constexpr int B_ROWS = B_NCONTIG ? BK : BN, B_CH = (B_NCONTIG ? BN : BK) / EPC;
    constexpr int A_STAGE = A_ROWS * A_CH * EPC, B_STAGE = B_ROWS * B_CH * EPC;
    MMA_SYNC_DYNAMIC_SMEM(smem);
    T *As = reinterpret_cast<T *>(smem);
    T *Bs = As + STAGES * A_STAGE;

    const int batches = gridDim.z / splits, batch = blockIdx.z / splits, split = blockIdx.z % splits;
    // Raster: blocks start in blockIdx order, so consecutive blocks take GROUP_M tile-rows at a time
    // and sweep the tile-columns within that group; the A rows and B columns one wave of blocks
    // reads then stay in L2. The map from (blockIdx.x, blockIdx.y) to (tile_m, tile_n) is one-to-one.
    constexpr int GROUP_M = 8;
    const int tiles_n = gridDim.x, pid = blockIdx.y * tiles_n + blockIdx.x, width = GROUP_M * tiles_n;
    const int first_m = (pid / width) * GROUP_M, group_rows = min((int)gridDim.y - first_m, GROUP_M);
    const int m0 = (first_m + (pid % width) % group_rows) * BM, n0 = ((pid % width) / group_rows) * BN;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int wm0 = (warp / (BN / WN)) * WM, wn0 = (warp % (BN / WN)) * WN;
    const int g = lane / 4, t = lane % 4;
    A += batch * sAb;
    B += batch * sBb;

    const int k_tiles = (K + BK - 1) / BK, per_split = (k_tiles + splits - 1) / splits;
    const int kt0 = split * per_split, tiles = max(0, min(k_tiles - kt0, per_split));

    auto load_stage = [&](int stage, int kt) {
        const int k0 = (kt0 + kt) * BK;
        T *as = As + stage * A_STAGE, *bs = Bs + stage * B_STAGE;
        if (A_KCONTIG)
            load_tile<T, A_ROWS, A_CH, THREADS>(as, A + m0 * lda + k0, lda, M - m0, K - k0);
        else
            load_tile<T, A_ROWS, A_CH, THREADS>(as, A + k0 * lda + m0, lda, K - k0, M - m0);
        if (B_NCONTIG)
            load_tile<T, B_ROWS, B_CH, THREADS>(bs, B + k0 * ldb + n0, ldb, K - k0, N - n0);
        else
            load_tile<T, B_ROWS, B_CH, THREADS>(bs, B + n0 * ldb + k0, ldb, N - n0, K - k0);
    };

    float acc[MT][NT][4];
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < tiles) load_stage(s, s);
        cp_async_commit();
    }
    const int mat = lane / 8, row8 = lane % 8;  // which ldmatrix matrix this lane addresses, and its row
    for (int kt = 0; kt < tiles; ++kt) {
        cp_async_wait<STAGES - 2>();  // tile kt has landed (this thread's copies) ...
        __syncthreads();              // ... everyone's, and nobody still reads the stage refilled next
        if (kt + STAGES - 1 < tiles) load_stage((kt + STAGES - 1) % STAGES, kt + STAGES - 1);
        cp_async_commit();
        const T *as = As + (kt % STAGES) * A_STAGE;
        const T *bs = Bs + (kt % STAGES) * B_STAGE;
#pragma unroll
        for (int kk = 0; kk < BK; kk += MK) {
            unsigned a[MT][4], b[NT][2];
#pragma unroll
            for (int i = 0; i < MT; ++i) {
                const int mb = wm0 + i * 16;
                if (A_KCONTIG) {  // rows m, chunks along k: lanes 0-15 rows mb.., lanes 16-31 the next k chunk
                    ldmatrix_x4<false>(a[i], as + tile_offset<A_CH, EPC>(mb + lane % 16, kk + (lane / 16) * EPC));
                } else if (!TF32) {  // rows k, chunks along m: matrix i covers m + 8 (i & 1), k + 8 (i >> 1)
                    ldmatrix_x4<true>(a[i], as + tile_offset<A_CH, EPC>(kk + row8 + (mat >> 1) * 8, mb + (mat & 1) * 8));
                } else {
                    const float *af = reinterpret_cast<const float *>(as);
                    a[i][0] = __float_as_uint(af[tile_offset<A_CH, EPC>(kk + t, mb + g)]);
                    a[i][1] = __float_as_uint(af[tile_offset<A_CH, EPC>(kk + t, mb + g + 8)]);
                    a[i][2] = __float_as_uint(af[tile_offset<A_CH, EPC>(kk + t + 4, mb + g)]);
                    a[i][3] = __float_as_uint(af[tile_offset<A_CH, EPC>(kk + t + 4, mb + g + 8)]);
                }
            }
#pragma unroll
            for (int j = 0; j < NT; j += 2) {  // two n8 tiles per ldmatrix.x4
                const int nb = wn0 + j * 8;
                unsigned r[4];
                if (!B_NCONTIG) {  // rows n, chunks along k: matrix i covers k + 8 (i & 1), n + 8 (i >> 1)
                    ldmatrix_x4<false>(r, bs + tile_offset<B_CH, EPC>(nb + row8 + (mat >> 1) * 8, kk + (mat & 1) * EPC));
                } else if (!TF32) {  // rows k, chunks along n, transposed on the way
                    ldmatrix_x4<true>(r, bs + tile_offset<B_CH, EPC>(kk + row8 + (mat & 1) * 8, nb + (mat >> 1) * 8));
                } else {
                    const float *bf = reinterpret_cast<const float *>(bs);
                    r[0] = __float_as_uint(bf[tile_offset<B_CH, EPC>(kk + t, nb + g)]);
                    r[1] = __float_as_uint(bf[tile_offset<B_CH, EPC>(kk + t + 4, nb + g)]);
                    r[2] = __float_as_uint(bf[tile_offset<B_CH, EPC>(kk + t, nb + 8 + g)]);
                    r[3] = __float_as_uint(bf[tile_offset<B_CH, EPC>(kk + t + 4, nb + 8 + g)]);
                }
                b[j][0] = r[0], b[j][1] = r[1], b[j + 1][0] = r[2], b[j + 1][1] = r[3];
            }
            if (TF32) {
#pragma unroll
                for (int i = 0; i < MT; ++i)
#pragma unroll
                    for (int e = 0; e < 4; ++e) a[i][e] = to_tf32(a[i][e]);
#pragma unroll
                for (int j = 0; j < NT; ++j) b[j][0] = to_tf32(b[j][0]), b[j][1] = to_tf32(b[j][1]);
            }
#pragma unroll
            for (int i = 0; i < MT; ++i)
#pragma unroll
                for (int j = 0; j < NT; ++j) mma<ELEM>(acc[i][j], a[i], b[j]);
        }
    }
    // Store, one 16 x WN strip of the warp tile at a time: the accumulators go to this warp's
    // slice of the (now idle) pipeline memory, and the warp reads the strip back row by row,
    // so the global stores are coalesced along n and the epilogue's code exists once.
    cp_async_wait<0>();
    __syncthreads();  // every warp is done with the pipeline stages
    constexpr int LDS = WN + 8;  // float2 writes of a half-warp land in distinct banks
    float *strip = reinterpret_cast<float *>(smem) + warp * 16 * LDS;
#pragma unroll
    for (int i = 0; i < MT; ++i) {
#pragma unroll
        for (int j = 0; j < NT; ++j) {
            *reinterpret_cast<float2 *>(&strip[g * LDS + j * 8 + 2 * t]) = make_float2(acc[i][j][0], acc[i][j][1]);
            *reinterpret_cast<float2 *>(&strip[(g + 8) * LDS + j * 8 + 2 * t]) = make_float2(acc[i][j][2], acc[i][j][3]);
        }
        __syncwarp();
        store_strip<ELEM, WN, LDS>(strip, C, partial, M, N, m0 + wm0 + i * 16, n0 + wn0, batch, batches, split, splits,
                                   bias, residual, act, out_low);
        __syncwarp();
    }
}

// Split-K's second pass: C = epilogue(sum over s of partial[s]), element by element.
template <int ELEM>
__global__ void matmul_mma_sync_reduce(const float *__restrict__ partial, void *__restrict__ C, long long total, int N,
                                       int splits, const float *__restrict__ bias, const void *__restrict__ residual,
                                       int act, int out_low) {
    const Epilogue e{bias, residual, act, out_low};
    for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < total;
         idx += (long long)gridDim.x * blockDim.x) {
        float v = 0.f;
        for (int s = 0; s < splits; ++s) v += partial[s * total + idx];
        epilogue_store<ELEM>(C, idx, static_cast<int>(idx % N), v, e);
    }
}
