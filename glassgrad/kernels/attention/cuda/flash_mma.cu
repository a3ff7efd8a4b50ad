// FlashAttention-2 on the tensor cores: the two products of each tile (S = Q Kᵀ, then O += P V in the
// forward; five in the backward) as mma.sync.m16n8k16 on bf16/fp16 operands with FP32 accumulators,
// operand fragments read from shared memory by ldmatrix, tiles copied in by cp.async one tile ahead.
//
// Forward, block = (BQ queries, head, batch), one warp per 16 query rows. Q's fragments stay in
// registers for the whole key loop. A thread of the m16n8 accumulator holds rows g and g + 8
// (g = lane / 4) and columns 2t, 2t + 1 (t = lane % 4) of each 8-key slice, so per key tile of BK:
//
//     S = Q Kᵀ                                   mma: A = Q (registers), B = K rows (ldmatrix)
//     x = S · scale · log2 e (+ M · log2 e)      base-2 exponents (exp2 is one instruction)
//     m' = max(m, rowmax x)  (quad shuffles),  c = 2^{m − m'},  P = 2^{x − m'}
//     l ← c·l + rowsum P (this thread's columns; summed over the quad at the end)
//     O ← c·O + (P ∘ Z) V                        mma: A = P re-packed from the S accumulator in
//                                                registers, B = V rows through ldmatrix.trans
//     at the end O ← O / l,  lse = (m + log2 l) · ln 2
//
// While S of tile t is computed, V of tile t is in flight; while P V runs, K of tile t + 1 is
// (cp.async groups committed in that order, each waited for with wait_group 1).
//
// Backward (FA-2's form), block = (BN keys, kv head, batch), one warp per 16 keys holding dK and
// dV of its keys in registers, for every query head of the group and every query tile of BM rows
// (Q, dO, lse and D = rowsum(dO ∘ O) double-buffered in shared memory):
//
//     Sᵀ = K Qᵀ,  dPᵀ = V dOᵀ                    (keys as rows: the warp's 16 keys are the mma's M)
//     Pᵀ = 2^{Sᵀ·scale·log2 e − lse·log2 e},  dSᵀ = Pᵀ ∘ (Z ∘ dPᵀ − D)
//     dV += (Pᵀ ∘ Z) dO,  dK += dSᵀ Q            A re-packed from registers, B = dO, Q via ldmatrix.trans
//     dQ += dS K · scale                         dS through shared memory, FP32 atomicAdd per element
//
// dQ through atomics rather than a second pass: a pass owning dQ rows would recompute Sᵀ and dPᵀ
// (two of the five products) to replace Lk/BN atomic adds per dQ element. Their order is not fixed,
// so dQ may differ in the last bits between runs.
//
// Shared rows are padded by 8 elements (16 bytes): the 8 rows one ldmatrix phase reads start 4
// banks apart, conflict-free. Global rows must be 16-byte aligned (the launcher checks strides).
#include "flash_common.cuh"
#include "mma_ops.cuh"

#define LOG2E 1.4426950408889634f
#define LN2 0.6931471805599453f

template <typename T> struct mma_type;
template <> struct mma_type<__half> {
    static __device__ __forceinline__ unsigned int pack(float lo, float hi) {
        __half2 h = __floats2half2_rn(lo, hi);
        return *reinterpret_cast<unsigned int *>(&h);
    }
    static __device__ __forceinline__ __half narrow(float x) { return __float2half_rn(x); }
};
template <> struct mma_type<__nv_bfloat16> {
    static __device__ __forceinline__ unsigned int pack(float lo, float hi) {
        __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
        return *reinterpret_cast<unsigned int *>(&h);
    }
    static __device__ __forceinline__ __nv_bfloat16 narrow(float x) { return __float2bfloat16_rn(x); }
};

// Start copying rows r0 .. r0 + ROWS of a (row stride `stride`) D-wide operand into tile[r][0..D)
// (row pitch LDS); rows at or past `stop` are zero-filled.
template <typename T, int ROWS, int D, int LDS, int THREADS>
__device__ __forceinline__ void copy_rows_async(T *tile, const T *__restrict__ src, long long stride, int r0,
                                                int stop) {
    constexpr int CHUNKS = D / 8;  // 16-byte chunks per row
    for (int e = threadIdx.x; e < ROWS * CHUNKS; e += THREADS) {
        const int r = e / CHUNKS, c = (e % CHUNKS) * 8;
        const bool valid = r0 + r < stop;
        cp_async16(tile + r * LDS + c, valid ? src + (long long)(r0 + r) * stride + c : src, valid);
    }
}

// A-operand fragment (16×16) of rows row0.. and columns col0.. of a shared tile of pitch LDS.
template <int LDS, typename T>
__device__ __forceinline__ void load_a(unsigned int (&a)[4], const T *tile, int row0, int col0, int lane) {
    ldmatrix_x4(a, tile + (row0 + (lane & 15)) * LDS + col0 + (lane >> 4) * 8);
}
// B-operand fragments of two adjacent 8-column slices, B[k][n] = tile[n][k] (rows n0 .. n0 + 16,
// columns k0 .. k0 + 16): b[0], b[1] for rows n0 .. n0 + 8 and b[2], b[3] for rows n0 + 8 .. n0 + 16.
template <int LDS, typename T>
__device__ __forceinline__ void load_b_rows(unsigned int (&b)[4], const T *tile, int n0, int k0, int lane) {
    ldmatrix_x4(b, tile + (n0 + (lane & 7) + ((lane >> 4) << 3)) * LDS + k0 + ((lane >> 3) & 1) * 8);
}
// B-operand fragments of two adjacent 8-column slices, B[k][n] = tile[k][n] (rows k0 .. k0 + 16,
// columns n0 .. n0 + 16): b[0], b[1] for columns n0 .. n0 + 8, b[2], b[3] for n0 + 8 .. n0 + 16.
template <int LDS, typename T>
__device__ __forceinline__ void load_b_cols(unsigned int (&b)[4], const T *tile, int k0, int n0, int lane) {
    ldmatrix_x4_trans(b, tile + (k0 + (lane & 15)) * LDS + n0 + (lane >> 4) * 8);
}

// The A fragment (16 rows × 16 columns k0 .. k0 + 16) re-packed from two 16×8 accumulators in registers
// (slices 2·kc and 2·kc + 1), each value times `f` (dropout, or 1).
template <typename T>
__device__ __forceinline__ void pack_a(unsigned int (&a)[4], const float (&lo)[4], const float (&hi)[4]) {
    a[0] = mma_type<T>::pack(lo[0], lo[1]);
    a[1] = mma_type<T>::pack(lo[2], lo[3]);
    a[2] = mma_type<T>::pack(hi[0], hi[1]);
    a[3] = mma_type<T>::pack(hi[2], hi[3]);
}

__device__ __forceinline__ float quad_max(float x) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

template <typename T, int D, int BQ, int BK>
__global__ void __launch_bounds__(2 * BQ)
    flash_mma_forward(const T *__restrict__ q, const T *__restrict__ k, const T *__restrict__ v, T *__restrict__ o,
                      float *__restrict__ lse, FLASH_SHAPE_ARGS, FLASH_OPTION_ARGS) {
    static_assert(D % 16 == 0 && BQ % 16 == 0 && BK % 16 == 0 && BK <= 64, "m16n8k16 tiles; 2 dropout bits per slice");
    constexpr int THREADS = 2 * BQ, LDS = D + 8, KSTEPS = D / 16, NS = BK / 8, NO = D / 8;
    FLASH_DYNAMIC_SMEM(smem_raw);
    if (threadIdx.x == 0 && dynamic_smem_bytes() < (BQ + 4 * BK) * LDS * sizeof(T)) __trap();
    T *q_s = reinterpret_cast<T *>(smem_raw);  // BQ × LDS
    T *k_s = q_s + BQ * LDS;                    // two buffers of BK × LDS
    T *v_s = k_s + 2 * BK * LDS;                // two buffers of BK × LDS
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, t = lane & 3;
    const int i0 = blockIdx.x * BQ, h = blockIdx.y, b = blockIdx.z, hk = h / (Hq / Hkv), n = b * Hq + h;
    const T *q_head = q + b * q_sb + h * q_sh, *k_head = k + b * k_sb + hk * k_sh, *v_head = v + b * v_sb + hk * v_sh;
    const int rows[2] = {i0 + 16 * warp + g, i0 + 16 * warp + g + 8};
    const int stop = causal ? min(Lk, min(Lq, i0 + BQ)) : Lk;  // keys any query of the block may see
    const int tiles = (stop + BK - 1) / BK;

    copy_rows_async<T, BQ, D, LDS, THREADS>(q_s, q_head, q_sr, i0, Lq);
    copy_rows_async<T, BK, D, LDS, THREADS>(k_s, k_head, k_sr, 0, Lk);
    cp_async_commit();

    unsigned int qf[KSTEPS][4];
    float acc[NO][4];
#pragma unroll
    for (int x = 0; x < NO; ++x) acc[x][0] = acc[x][1] = acc[x][2] = acc[x][3] = 0.f;
    float m[2] = {NEG_INF, NEG_INF}, l[2] = {0.f, 0.f};
    const float scale2 = scale * LOG2E;
    for (int tile = 0; tile < tiles; ++tile) {
        const int j0 = tile * BK;
        const T *k_tile = k_s + (tile & 1) * BK * LDS, *v_tile = v_s + (tile & 1) * BK * LDS;
        copy_rows_async<T, BK, D, LDS, THREADS>(const_cast<T *>(v_tile), v_head, v_sr, j0, Lk);
        cp_async_commit();
        cp_async_wait_one();  // Q and K of this tile have landed (V may still be in flight)
        __syncthreads();
        if (tile == 0) {
#pragma unroll
            for (int ks = 0; ks < KSTEPS; ++ks) load_a<LDS>(qf[ks], q_s, 16 * warp, 16 * ks, lane);
        }
        float s[NS][4];
#pragma unroll
        for (int x = 0; x < NS; ++x) s[x][0] = s[x][1] = s[x][2] = s[x][3] = 0.f;
#pragma unroll
        for (int ks = 0; ks < KSTEPS; ++ks) {
#pragma unroll
            for (int np = 0; np < NS / 2; ++np) {
                unsigned int kb[4];
                load_b_rows<LDS>(kb, k_tile, 16 * np, 16 * ks, lane);
                mma16816(s[2 * np], qf[ks], kb[0], kb[1], T());
                mma16816(s[2 * np + 1], qf[ks], kb[2], kb[3], T());
            }
        }
        if (tile + 1 < tiles)  // into the buffer every thread finished reading before this tile's barrier
            copy_rows_async<T, BK, D, LDS, THREADS>(k_s + ((tile + 1) & 1) * BK * LDS, k_head, k_sr, j0 + BK, Lk);
        cp_async_commit();

        const bool edge = mask_kind != MASK_NONE || j0 + BK > Lk || (causal && j0 + BK - 1 > i0);
#pragma unroll
        for (int x = 0; x < NS; ++x) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                float score = s[x][e] * scale2;
                if (edge) {
                    const int i = rows[e >> 1], j = j0 + 8 * x + 2 * t + (e & 1);
                    if (j >= Lk || (causal && j > i)) score = NEG_INF;
                    else if (mask_kind != MASK_NONE && i < Lq)
                        score += LOG2E * mask_at(mask, mask_kind, b * m_sb + h * m_sh + (long long)i * m_sq + j * m_sk);
                }
                s[x][e] = score;
            }
        }
        float shift[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            float top = m[r];
#pragma unroll
            for (int x = 0; x < NS; ++x) top = fmaxf(top, fmaxf(s[x][2 * r], s[x][2 * r + 1]));
            top = quad_max(top);
            shift[r] = finite_shift(top);
            const float correction = exp2f(m[r] - shift[r]);  // 0 while m is −∞
            m[r] = top;
            l[r] *= correction;
#pragma unroll
            for (int x = 0; x < NO; ++x) acc[x][2 * r] *= correction, acc[x][2 * r + 1] *= correction;
        }
        // dropout bits: bit 2x + c of keep[r] for key j0 + 8x + 2t + c of row r. Threads t and t ^ 1 read
        // the same four keys: each draws one row's and trades with its partner.
        unsigned int keep[2] = {~0u, ~0u};
        if (drop_threshold != 0u) {
            keep[0] = keep[1] = 0u;
#pragma unroll 1
            for (int x = 0; x < NS; ++x) {
                const unsigned int mine =
                    dropout_keep4(seed, offset, n, (t & 1) ? rows[1] : rows[0], (j0 >> 2) + 2 * x + (t >> 1), drop_threshold);
                const unsigned int other = __shfl_xor_sync(0xffffffffu, mine, 1);
                const unsigned int pair = (2 * t) & 3;
                keep[0] |= ((((t & 1) ? other : mine) >> pair) & 3u) << (2 * x);
                keep[1] |= ((((t & 1) ? mine : other) >> pair) & 3u) << (2 * x);
            }
        }
        const float kept = drop_threshold != 0u ? keep_scale : 1.f;
#pragma unroll
        for (int x = 0; x < NS; ++x) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const float p = exp2f(s[x][e] - shift[e >> 1]);
                l[e >> 1] += p;
                s[x][e] = (keep[e >> 1] >> (2 * x + (e & 1))) & 1u ? p * kept : 0.f;
            }
        }
        cp_async_wait_one();  // V of this tile has landed (K of the next may be in flight)
        __syncthreads();
#pragma unroll
        for (int kc = 0; kc < BK / 16; ++kc) {
            unsigned int a[4];
            pack_a<T>(a, s[2 * kc], s[2 * kc + 1]);
#pragma unroll
            for (int dp = 0; dp < D / 16; ++dp) {
                unsigned int vb[4];
                load_b_cols<LDS>(vb, v_tile, 16 * kc, 16 * dp, lane);
                mma16816(acc[2 * dp], a, vb[0], vb[1], T());
                mma16816(acc[2 * dp + 1], a, vb[2], vb[3], T());
            }
        }
    }
    cp_async_wait_all();
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const float total = quad_sum(l[r]);
        const int i = rows[r];
        if (i >= Lq) continue;
        const float inv = inverse_sum(total);
        T *o_row = o + ((long long)n * Lq + i) * D;
#pragma unroll
        for (int x = 0; x < NO; ++x)
            *reinterpret_cast<unsigned int *>(o_row + 8 * x + 2 * t) =
                mma_type<T>::pack(acc[x][2 * r] * inv, acc[x][2 * r + 1] * inv);
        if (t == 0) lse[(long long)n * Lq + i] = total > 0.f ? (m[r] + log2f(total)) * LN2 : 0.f;
    }
}

template <typename T, int D, int BM, int BN>
__global__ void __launch_bounds__(2 * BN)
    flash_mma_backward(const T *__restrict__ q, const T *__restrict__ k, const T *__restrict__ v,
                       const T *__restrict__ grad_out, const float *__restrict__ lse, const float *__restrict__ delta,
                       float *__restrict__ dq_accum, T *__restrict__ dk, T *__restrict__ dv_out, long long do_sb,
                       long long do_sh, long long do_sr, FLASH_SHAPE_ARGS, FLASH_OPTION_ARGS) {
    static_assert(BN == 64 && BM == 32 && D % 32 == 0, "4 warps of 16 keys; the dQ product splits 2 × 2 over them");
    constexpr int THREADS = 2 * BN, LDS = D + 8, LDSS = BN + 8, KSTEPS = D / 16, NQ = BM / 8, ND = D / 8;
    constexpr int NDQ = D / 16;  // 8-column slices of the dQ product per warp (half of D)
    FLASH_DYNAMIC_SMEM(smem_raw);
    if (threadIdx.x == 0 &&
        dynamic_smem_bytes() < (2 * BN + 4 * BM) * LDS * sizeof(T) + BM * LDSS * sizeof(T) + 4 * BM * sizeof(float))
        __trap();
    T *k_s = reinterpret_cast<T *>(smem_raw);  // BN × LDS
    T *v_s = k_s + BN * LDS;                    // BN × LDS
    T *q_s = v_s + BN * LDS;                    // two buffers of BM × LDS
    T *do_s = q_s + 2 * BM * LDS;               // two buffers of BM × LDS
    T *ds_s = do_s + 2 * BM * LDS;              // BM × LDSS: dS (queries × keys)
    float *lse_s = reinterpret_cast<float *>(ds_s + BM * LDSS);  // two buffers of BM: lse · log2 e
    float *delta_s = lse_s + 2 * BM;                             // two buffers of BM: D
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, t = lane & 3;
    const int j0 = blockIdx.x * BN, hk = blockIdx.y, b = blockIdx.z, group = Hq / Hkv;
    const int keys[2] = {j0 + 16 * warp + g, j0 + 16 * warp + g + 8};
    const int first = causal ? j0 / BM * BM : 0;  // earlier query tiles see none of these keys
    const int per_head = first < Lq ? (Lq - first + BM - 1) / BM : 0, steps = group * per_head;

    // step s: query head hk·group + s / per_head, query tile first + (s % per_head)·BM
    auto stage = [&](int s) {
        const int h = hk * group + s / per_head, i0 = first + (s % per_head) * BM, buf = s & 1, n = b * Hq + h;
        copy_rows_async<T, BM, D, LDS, THREADS>(q_s + buf * BM * LDS, q + b * q_sb + h * q_sh, q_sr, i0, Lq);
        copy_rows_async<T, BM, D, LDS, THREADS>(do_s + buf * BM * LDS, grad_out + b * do_sb + h * do_sh, do_sr, i0,
                                                Lq);
        for (int r = threadIdx.x; r < BM; r += THREADS) {
            const bool live = i0 + r < Lq;
            lse_s[buf * BM + r] = live ? lse[(long long)n * Lq + i0 + r] * LOG2E : 0.f;
            delta_s[buf * BM + r] = live ? delta[(long long)n * Lq + i0 + r] : 0.f;
        }
    };
    copy_rows_async<T, BN, D, LDS, THREADS>(k_s, k + b * k_sb + hk * k_sh, k_sr, j0, Lk);
    copy_rows_async<T, BN, D, LDS, THREADS>(v_s, v + b * v_sb + hk * v_sh, v_sr, j0, Lk);
    if (steps > 0) stage(0);
    cp_async_commit();

    float dk_acc[ND][4], dv_acc[ND][4];
#pragma unroll
    for (int x = 0; x < ND; ++x)
#pragma unroll
        for (int e = 0; e < 4; ++e) dk_acc[x][e] = dv_acc[x][e] = 0.f;
    const float scale2 = scale * LOG2E;
    for (int step = 0; step < steps; ++step) {
        if (step + 1 < steps) stage(step + 1);  // into the buffer read two steps ago, before the last barrier
        cp_async_commit();
        cp_async_wait_one();
        __syncthreads();
        const int h = hk * group + step / per_head, i0 = first + (step % per_head) * BM, n = b * Hq + h;
        const int buf = step & 1;
        const T *q_tile = q_s + buf * BM * LDS, *do_tile = do_s + buf * BM * LDS;
        const float *lse_tile = lse_s + buf * BM, *delta_tile = delta_s + buf * BM;

        float st[NQ][4], dpt[NQ][4];  // Sᵀ and dPᵀ: the warp's 16 keys × BM queries
#pragma unroll
        for (int x = 0; x < NQ; ++x)
#pragma unroll
            for (int e = 0; e < 4; ++e) st[x][e] = dpt[x][e] = 0.f;
#pragma unroll
        for (int ks = 0; ks < KSTEPS; ++ks) {
            unsigned int ka[4], va[4];
            load_a<LDS>(ka, k_s, 16 * warp, 16 * ks, lane);
            load_a<LDS>(va, v_s, 16 * warp, 16 * ks, lane);
#pragma unroll
            for (int np = 0; np < NQ / 2; ++np) {
                unsigned int qb[4], dob[4];
                load_b_rows<LDS>(qb, q_tile, 16 * np, 16 * ks, lane);
                load_b_rows<LDS>(dob, do_tile, 16 * np, 16 * ks, lane);
                mma16816(st[2 * np], ka, qb[0], qb[1], T());
                mma16816(st[2 * np + 1], ka, qb[2], qb[3], T());
                mma16816(dpt[2 * np], va, dob[0], dob[1], T());
                mma16816(dpt[2 * np + 1], va, dob[2], dob[3], T());
            }
        }
        // element (x, e): key keys[e / 2], query i0 + 8x + 2t + e % 2; dropout bit 4x + e of `keep`
        unsigned int keep = ~0u;
        if (drop_threshold != 0u) {
            keep = 0u;
#pragma unroll 1
            for (int x = 0; x < NQ; ++x)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int i = i0 + 8 * x + 2 * t + (e & 1);
                    keep |= (dropout_word(seed, offset, n, i, keys[e >> 1]) >= drop_threshold ? 1u : 0u) << (4 * x + e);
                }
        }
        const float kept = drop_threshold != 0u ? keep_scale : 1.f;
#pragma unroll
        for (int x = 0; x < NQ; ++x) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int col = 8 * x + 2 * t + (e & 1), i = i0 + col, j = keys[e >> 1];
                float p = 0.f;
                if (j < Lk && i < Lq && !(causal && j > i)) {
                    float score = st[x][e] * scale2;
                    if (mask_kind != MASK_NONE)
                        score += LOG2E * mask_at(mask, mask_kind, b * m_sb + h * m_sh + (long long)i * m_sq + j * m_sk);
                    p = exp2f(score - lse_tile[col]);  // P = e^{S − lse}: 0 where the mask hides the key
                }
                const float z = (keep >> (4 * x + e)) & 1u ? kept : 0.f;
                st[x][e] = p * z;                                  // (P ∘ Z)ᵀ, for dV
                dpt[x][e] = p * (dpt[x][e] * z - delta_tile[col]);  // dSᵀ
                ds_s[col * LDSS + 16 * warp + g + 8 * (e >> 1)] = mma_type<T>::narrow(dpt[x][e]);
            }
        }
#pragma unroll
        for (int kc = 0; kc < BM / 16; ++kc) {
            unsigned int pa[4], sa[4];
            pack_a<T>(pa, st[2 * kc], st[2 * kc + 1]);
            pack_a<T>(sa, dpt[2 * kc], dpt[2 * kc + 1]);
#pragma unroll
            for (int dp = 0; dp < D / 16; ++dp) {
                unsigned int dob[4], qb[4];
                load_b_cols<LDS>(dob, do_tile, 16 * kc, 16 * dp, lane);
                load_b_cols<LDS>(qb, q_tile, 16 * kc, 16 * dp, lane);
                mma16816(dv_acc[2 * dp], pa, dob[0], dob[1], T());
                mma16816(dv_acc[2 * dp + 1], pa, dob[2], dob[3], T());
                mma16816(dk_acc[2 * dp], sa, qb[0], qb[1], T());
                mma16816(dk_acc[2 * dp + 1], sa, qb[2], qb[3], T());
            }
        }
        __syncthreads();  // dS of the whole block is in shared memory
        // dQ rows 16·(warp % 2) .. +16, columns (warp / 2)·D/2 .. +D/2:  dQ += dS K · scale
        float dq[NDQ][4];
#pragma unroll
        for (int x = 0; x < NDQ; ++x) dq[x][0] = dq[x][1] = dq[x][2] = dq[x][3] = 0.f;
        const int mrow = 16 * (warp & 1), ncol = (warp >> 1) * (D / 2);
#pragma unroll
        for (int kc = 0; kc < BN / 16; ++kc) {
            unsigned int a[4];
            load_a<LDSS>(a, ds_s, mrow, 16 * kc, lane);
#pragma unroll
            for (int dp = 0; dp < NDQ / 2; ++dp) {
                unsigned int kb[4];
                load_b_cols<LDS>(kb, k_s, 16 * kc, ncol + 16 * dp, lane);
                mma16816(dq[2 * dp], a, kb[0], kb[1], T());
                mma16816(dq[2 * dp + 1], a, kb[2], kb[3], T());
            }
        }
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            const int i = i0 + mrow + g + 8 * r;
            if (i >= Lq) continue;
            float *dst = dq_accum + ((long long)n * Lq + i) * D + ncol + 2 * t;
#pragma unroll
            for (int x = 0; x < NDQ; ++x) {
                atomicAdd(dst + 8 * x, dq[x][2 * r] * scale);
                atomicAdd(dst + 8 * x + 1, dq[x][2 * r + 1] * scale);
            }
        }
    }
    cp_async_wait_all();
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const int j = keys[r];
        if (j >= Lk) continue;
        const long long row = ((long long)(b * Hkv + hk) * Lk + j) * D;
#pragma unroll
        for (int x = 0; x < ND; ++x) {
            *reinterpret_cast<unsigned int *>(dk + row + 8 * x + 2 * t) =
                mma_type<T>::pack(dk_acc[x][2 * r] * scale, dk_acc[x][2 * r + 1] * scale);
            *reinterpret_cast<unsigned int *>(dv_out + row + 8 * x + 2 * t) =
                mma_type<T>::pack(dv_acc[x][2 * r], dv_acc[x][2 * r + 1]);
        }
    }
}
