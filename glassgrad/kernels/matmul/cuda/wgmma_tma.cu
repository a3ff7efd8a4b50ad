// 10. Hopper (sm_90a): the tensor cores are fed by the copy engine, and the warps that issue the
// math never wait on a load. C[b] = A[b] @ B[b], BF16 or FP16 operands, FP32 accumulation, C stored
// as FP32 or as the operand type. Each part adds one idea:
//
// * wgmma (hopper.cuh): one warpgroup issues a 64 x 256 x 16 multiply that reads both operands
//   straight from shared memory (no ldmatrix, no fragments in registers), asynchronously. Two
//   consumer warpgroups own the two 64-row halves of a BM x BN = 128 x 256 block tile: 128 FP32
//   accumulators per thread.
// * TMA with the 128-byte swizzle: a K step is BK = 64 elements = 128 bytes, exactly one swizzle
//   row, so every box the copy engine writes is already in the layout the wgmma descriptors name
//   (rows of 128 bytes, 16-byte chunks XOR-ed with the row index mod 8: no bank conflicts) and the
//   K-major descriptor steps along K by moving its start address 32 bytes. Out-of-bounds boxes are
//   zero-filled, so any M, N, K works without a predicated load (only the store is predicated).
// * Either operand may be K-major (k contiguous in memory) or MN-major (a transposed view: m or n
//   contiguous): the box follows the memory layout and wgmma's transpose bit reads it (MN-major
//   tiles are copied in 64-element column blocks, LBO = their distance in bytes). No copies. The
//   layouts are run-time arguments: each of the four (A, B) pairs is its own fenced, committed and
//   awaited batch of wgmmas (multiply_stage), so one instance per element type serves all four.
// * A STAGES-deep ring of shared tiles with two mbarriers per stage: `full` (the copy engine
//   counts the stage's bytes onto it) and `empty` (each consumer warpgroup arrives once when it
//   has read the stage). Warp specialisation: warpgroup 0 is the producer, and one thread of it
//   issues every TMA copy; warpgroups 1-2 only wait on `full`, multiply and release.
// * setmaxnreg: the producer drops to PRODUCER_REGS registers, the consumers rise to
//   CONSUMER_REGS, which the 128 accumulators need (128·40 + 256·232 ≤ 65536).
// * Persistent tile scheduler: the grid is one block per SM and each block walks tiles
//   blockIdx.x, blockIdx.x + gridDim.x, ...; the ring keeps running across tiles, so the producer
//   loads the next tile while the consumers store this one. Tiles are walked in groups of GROUP_M
//   tile-rows (the swizzled order): blocks running at the same time share A rows and B columns in L2.
//
// Tensor maps (built by kernels/cuda/tma.py from the launcher's shapes; their boxes follow from
// the template arguments below): 3-D (inner, outer, batch), a broadcast 2-D operand reads batch 0.
//   A K-major:  dims (K, M, batch), box (BK, BM, 1)      A MN-major: dims (M, K, batch), box (BK, BK, 1) x BM/BK
//   B K-major:  dims (K, N, batch), box (BK, BN, 1)      B MN-major: dims (N, K, batch), box (BK, BK, 1) x BN/BK
// (BK = 64 elements = 128 bytes: the swizzle row, also the width of an MN-major column block.)
// Shared memory per stage: A (BM x BK) then B (BN x BK), each as the boxes above, 1024-byte aligned.
#include "hopper.cuh"

constexpr int PRODUCER_REGS = 40, CONSUMER_REGS = 232;
constexpr int WG_THREADS = 128, WG_ROWS = 64, SWIZZLE_BYTES = 128, SWIZZLE_ROWS = 8;

struct TileCoord {
    int batch, m0, n0;
};

// Tile number -> (batch, first row, first column), tiles of one batch walked in groups of
// `group_m` tile-rows, column by column inside a group.
template <int BM, int BN>
__device__ __forceinline__ TileCoord tile_coord(int tile, int tiles_m, int tiles_n, int group_m) {
    const int per_batch = tiles_m * tiles_n;
    const int batch = tile / per_batch, t = tile % per_batch;
    const int per_group = group_m * tiles_n;
    const int first_m = (t / per_group) * group_m;
    const int rows = min(tiles_m - first_m, group_m);
    const int in_group = t % per_group;
    return {batch, (first_m + in_group % rows) * BM, (in_group / rows) * BN};
}

// Store one 16-bit value or a pair (column c and c + 1) of the result.
template <typename O> __device__ __forceinline__ O convert(float x);
template <> __device__ __forceinline__ float convert<float>(float x) { return x; }
template <> __device__ __forceinline__ __half convert<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 convert<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

// One consumer's 64 x 256 accumulators -> C rows m0.., columns n0.., predicated on M and N.
// Thread layout of the wgmma accumulators: warp w, lane l hold rows 16w + l/4 (+ 8) and columns
// 8j + 2(l%4) (+ 1) for j = 0..31, as d[4j + {0, 1, 2, 3}] = (row, col), (row, col+1), (row+8, col),
// (row+8, col+1).
template <typename O>
__device__ __forceinline__ void store_tile(const float (&d)[128], O *__restrict__ C, int M, int N, int m0, int n0) {
    const int warp = (threadIdx.x % WG_THREADS) / 32, lane = threadIdx.x % 32;
    const int row0 = m0 + warp * 16 + lane / 4, col0 = n0 + 2 * (lane % 4);
    const bool pairs = N % 2 == 0;  // then (col, col + 1) are both in or both out, and 2-aligned
#pragma unroll
    for (int j = 0; j < 32; ++j) {
        const int col = col0 + 8 * j;
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            const int row = row0 + 8 * half;
            if (row >= M || col >= N) continue;
            O *p = C + (long long)row * N + col;
            const float x = d[4 * j + 2 * half], y = d[4 * j + 2 * half + 1];
            if (pairs) {
                if constexpr (sizeof(O) == 4) {
                    *reinterpret_cast<float2 *>(p) = make_float2(x, y);
                } else {
                    struct alignas(4) Pair {
                        O lo, hi;
                    };
                    *reinterpret_cast<Pair *>(p) = Pair{convert<O>(x), convert<O>(y)};
                }
            } else {
                p[0] = convert<O>(x);
                if (col + 1 < N) p[1] = convert<O>(y);
            }
        }
    }
}

// One stage's BK / 16 wgmmas for one consumer: d += A(64 x BK) B(BK x 256), waited for before
// returning. `first`: the tile's first stage (d is overwritten, not accumulated).
// K-major operand: [rows][BK] in 128-byte swizzled rows; step 16 elements (32 bytes) along the row.
// MN-major operand: [BK][64] column blocks BLOCK_BYTES apart (the LBO); step 16 rows.
template <typename T, int BK, int A_MN_MAJOR, int B_MN_MAJOR>
__device__ __forceinline__ void multiply_stage(float (&d)[128], const T *a, const T *b, bool first) {
    constexpr int COLUMN_BLOCK = BK;  // an MN-major box is one swizzle row wide
    constexpr unsigned BLOCK_BYTES = COLUMN_BLOCK * BK * sizeof(T), GROUP_BYTES = SWIZZLE_ROWS * SWIZZLE_BYTES;
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < BK / 16; ++kk) {
        const unsigned long long da = A_MN_MAJOR ? smem_descriptor(a + kk * 16 * COLUMN_BLOCK, BLOCK_BYTES, GROUP_BYTES)
                                                 : smem_descriptor(a + kk * 16, 16, GROUP_BYTES);
        const unsigned long long db = B_MN_MAJOR ? smem_descriptor(b + kk * 16 * COLUMN_BLOCK, BLOCK_BYTES, GROUP_BYTES)
                                                 : smem_descriptor(b + kk * 16, 16, GROUP_BYTES);
        wgmma_m64n256k16<T, A_MN_MAJOR, B_MN_MAJOR>::run(d, da, db, !(first && kk == 0));
    }
    wgmma_commit();
    wgmma_wait<0>();
    accumulators_fence(d);
}

// A block: the producer warpgroup and BM / 64 consumer warpgroups, one block per SM.
template <typename T, int BM, int BN, int BK, int STAGES>
__global__ void __launch_bounds__(WG_THREADS + BM / WG_ROWS * WG_THREADS, 1)
    matmul_wgmma_tma(const __grid_constant__ TmaDescriptor map_a, const __grid_constant__ TmaDescriptor map_b,
                     void *__restrict__ C, int M, int N, int K, int batch, int a_batched, int b_batched,
                     int a_mn_major, int b_mn_major, int c_is_float, int group_m) {
    static_assert(sizeof(T) == 2, "wgmma with shared-memory transposes takes 16-bit operands");
    static_assert(BK * sizeof(T) == SWIZZLE_BYTES, "one K step is one 128-byte swizzle row");
    static_assert(BM % WG_ROWS == 0 && BN == 256, "consumers of 64 rows each, wgmma n256");
    static_assert(BM <= 256 && BN <= 256, "a TMA box spans at most 256 rows");
    static_assert(BK == WG_ROWS, "an MN-major column block of A is one consumer's 64 rows");
    constexpr int CONSUMERS = BM / WG_ROWS;
    constexpr int COLUMN_BLOCK = BK;                          // MN-major boxes are one swizzle row wide
    constexpr int BLOCK_ELEMS = COLUMN_BLOCK * BK;            // one 64 x BK box: 8 KB
    constexpr int A_STAGE = BM * BK, B_STAGE = BN * BK;       // elements per stage
    constexpr unsigned STAGE_BYTES = (A_STAGE + B_STAGE) * sizeof(T);
    static_assert((A_STAGE * sizeof(T)) % 1024 == 0 && (B_STAGE * sizeof(T)) % 1024 == 0, "1024-aligned tiles");

    // Dynamic shared memory: STAGES * STAGE_BYTES plus 1024 bytes to align the ring (the launcher's size).
    extern __shared__ unsigned char smem_raw[];
    __shared__ __align__(8) unsigned long long full[STAGES], empty[STAGES];
    T *ring = reinterpret_cast<T *>(smem_raw + (-smem_u32(smem_raw) & 1023u));  // 1024-aligned in shared space
    T *As = ring, *Bs = ring + STAGES * A_STAGE;

    const int warpgroup = threadIdx.x / WG_THREADS, tid = threadIdx.x % WG_THREADS;
    if (threadIdx.x == 0) {
        for (int s = 0; s < STAGES; ++s) {
            mbar_init(&full[s], 1);
            mbar_init(&empty[s], CONSUMERS);
        }
        mbar_fence_init();
    }
    __syncthreads();

    const int tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN, k_blocks = (K + BK - 1) / BK;
    const int tiles = tiles_m * tiles_n * batch;

    if (warpgroup == 0) {  // producer: one thread issues every copy
        warpgroup_registers_down<PRODUCER_REGS>();
        if (tid == 0) {
            tma_prefetch_descriptor(&map_a);
            tma_prefetch_descriptor(&map_b);
            int stage = 0;
            unsigned phase = 0;
            for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
                const TileCoord t = tile_coord<BM, BN>(tile, tiles_m, tiles_n, group_m);
                const int ba = a_batched ? t.batch : 0, bb = b_batched ? t.batch : 0;
                for (int kb = 0; kb < k_blocks; ++kb) {
                    const int k0 = kb * BK;
                    mbar_wait(&empty[stage], phase ^ 1);  // the consumers have read this stage's last use
                    mbar_arrive_expect_tx(&full[stage], STAGE_BYTES);
                    T *a = As + stage * A_STAGE, *b = Bs + stage * B_STAGE;
                    if (a_mn_major) {
#pragma unroll
                        for (int i = 0; i < BM / COLUMN_BLOCK; ++i)
                            tma_load_3d(a + i * BLOCK_ELEMS, &map_a, &full[stage], t.m0 + i * COLUMN_BLOCK, k0, ba);
                    } else {
                        tma_load_3d(a, &map_a, &full[stage], k0, t.m0, ba);
                    }
                    if (b_mn_major) {
#pragma unroll
                        for (int i = 0; i < BN / COLUMN_BLOCK; ++i)
                            tma_load_3d(b + i * BLOCK_ELEMS, &map_b, &full[stage], t.n0 + i * COLUMN_BLOCK, k0, bb);
                    } else {
                        tma_load_3d(b, &map_b, &full[stage], k0, t.n0, bb);
                    }
                    if (++stage == STAGES) stage = 0, phase ^= 1;
                }
            }
        }
    } else {  // consumers: warpgroup c owns rows 64c .. 64c + 63 of the block tile
        warpgroup_registers_up<CONSUMER_REGS>();
        const int c = warpgroup - 1;
        float d[128];
#pragma unroll
        for (int i = 0; i < 128; ++i) d[i] = 0.f;
        int stage = 0;
        unsigned phase = 0;
        for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
            const TileCoord t = tile_coord<BM, BN>(tile, tiles_m, tiles_n, group_m);
            for (int kb = 0; kb < k_blocks; ++kb) {
                mbar_wait(&full[stage], phase);
                __syncwarp();  // the warp leaves the spin together: wgmma's .sync.aligned ops need it converged
                // K-major A: rows 64c.. of a [BM][BK] box; MN-major A: the c-th [BK][64] column block.
                const T *a = As + stage * A_STAGE + c * WG_ROWS * BK;
                const T *b = Bs + stage * B_STAGE;
                const bool first = kb == 0;
                if (a_mn_major)
                    b_mn_major ? multiply_stage<T, BK, 1, 1>(d, a, b, first) : multiply_stage<T, BK, 1, 0>(d, a, b, first);
                else
                    b_mn_major ? multiply_stage<T, BK, 0, 1>(d, a, b, first) : multiply_stage<T, BK, 0, 0>(d, a, b, first);
                if (tid == 0) mbar_arrive(&empty[stage]);  // this warpgroup is done with the stage
                if (++stage == STAGES) stage = 0, phase ^= 1;
            }
            const long long offset = (long long)t.batch * M * N;
            const int m0 = t.m0 + c * WG_ROWS;
            if (c_is_float)
                store_tile(d, reinterpret_cast<float *>(C) + offset, M, N, m0, t.n0);
            else
                store_tile(d, reinterpret_cast<T *>(C) + offset, M, N, m0, t.n0);
        }
    }
}
