// FlashAttention-2 in FP32 on the CUDA cores (SIMT): the Lq×Lk score matrix never exists; each block
// streams key/value tiles through shared memory and keeps a running softmax per query row.
//
// Forward, block = (tile of BQ queries, head h, batch b), four threads per query row (a "quad"); each
// thread holds a quarter of q_i and of the output row in registers, as float4 chunks 16c + 4·lane..+3
// (the quad's four float4 loads of one shared row are consecutive: no bank conflicts). Per key tile:
//
//     S_ij = scale · q_i·k_j + M_ij               partial dot per thread, summed across the quad by shuffles
//     m' = max(m, max_j S_ij),  c = e^{m − m'}
//     l ← c·l + Σ_j e^{S_ij − m'},   O ← c·O + Σ_j e^{S_ij − m'} · Z_ij · V_j       (Z: dropout factor)
//     at the end  O ← O / l,  lse_i = m + log l
//
// Causal blocks stop at the first key tile past their last query; the tail and diagonal tiles mask
// per score. Backward (FA-2's form), block = (tile of BK keys, kv head, batch), four threads per key,
// each holding a quarter of k_j, v_j, dK_j, dV_j in registers; for every query head of the kv head's
// group and every query tile (Q, dO, lse, D staged in shared memory):
//
//     P_ij = e^{S_ij − lse_i}  (recomputed),   dP_ij = Z_ij · dO_i·v_j,   dS_ij = P_ij (dP_ij − D_i)
//     dV_j += Σ_i Z_ij P_ij dO_i,   dK_j += scale · Σ_i dS_ij q_i       (registers, whole group of heads)
//     dQ_i += scale · Σ_j dS_ij k_j                                    (dS through shared memory, atomicAdd)
//
// with D_i = Σ_d dO_id O_id computed by the launcher. dQ goes through FP32 atomicAdd into a zeroed
// buffer: every key tile adds to every query row it sees, and the alternative, a second pass that owns
// dQ rows, would recompute P and dP (two more dot products per score) to save Lk/BK adds per element.
// The sums in dQ are therefore not in a fixed order (results vary in the last bits between runs).
//
// Head dims up to DMAX (a multiple of 16; d and dv may be smaller and differ, the rest is zero).
#include "flash_common.cuh"

__device__ __forceinline__ float dot4(float4 a, float4 b) { return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w; }
__device__ __forceinline__ void axpy4(float4 &y, float a, float4 x) {
    y.x += a * x.x, y.y += a * x.y, y.z += a * x.z, y.w += a * x.w;
}

// The float4 at column c of a row of `width` valid floats (zero past it; any alignment).
__device__ __forceinline__ float4 load4(const float *__restrict__ row, int c, int width, bool live) {
    float4 r;
    r.x = (live && c + 0 < width) ? row[c + 0] : 0.f;
    r.y = (live && c + 1 < width) ? row[c + 1] : 0.f;
    r.z = (live && c + 2 < width) ? row[c + 2] : 0.f;
    r.w = (live && c + 3 < width) ? row[c + 3] : 0.f;
    return r;
}

// rows × DMAX tile[r][c] = src[(r0 + r)·stride + c] for r0 + r < stop and c < width, zero elsewhere.
template <int ROWS, int DMAX, int THREADS>
__device__ __forceinline__ void stage_rows(float (*tile)[DMAX], const float *__restrict__ src, long long stride,
                                           int r0, int stop, int width) {
    for (int e = threadIdx.x; e < ROWS * (DMAX / 4); e += THREADS) {
        const int r = e / (DMAX / 4), c = (e % (DMAX / 4)) * 4;
        const bool live = r0 + r < stop;
        *reinterpret_cast<float4 *>(&tile[r][c]) = load4(src + (long long)(live ? r0 + r : 0) * stride, c, width, live);
    }
}

template <int DMAX, int BQ, int BK>
__global__ void __launch_bounds__(4 * BQ)
    flash_simt_forward(const float *__restrict__ q, const float *__restrict__ k, const float *__restrict__ v,
                       float *__restrict__ o, float *__restrict__ lse, FLASH_SHAPE_ARGS, FLASH_OPTION_ARGS) {
    static_assert(DMAX % 16 == 0, "a quad's float4 chunks tile DMAX");
    static_assert(BK % 4 == 0 && BK <= 32, "a key tile's dropout bits fit one word, four keys per Philox call");
    constexpr int THREADS = 4 * BQ, CHUNKS = DMAX / 16;
    __shared__ __align__(16) float k_s[BK][DMAX];
    __shared__ __align__(16) float v_s[BK][DMAX];
    const int lane4 = threadIdx.x & 3, i0 = blockIdx.x * BQ, h = blockIdx.y, b = blockIdx.z;
    const int i = i0 + (threadIdx.x >> 2), hk = h / (Hq / Hkv), n = b * Hq + h;
    const bool live = i < Lq;
    const float *q_row = q + b * q_sb + h * q_sh + (long long)(live ? i : 0) * q_sr;
    k += b * k_sb + hk * k_sh;
    v += b * v_sb + hk * v_sh;
    const long long m_row = b * m_sb + h * m_sh + (long long)i * m_sq;

    float4 qr[CHUNKS], acc[CHUNKS];
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
        qr[c] = load4(q_row, 16 * c + 4 * lane4, d, live);
        acc[c] = make_float4(0.f, 0.f, 0.f, 0.f);
    }
    float m = NEG_INF, l = 0.f;
    const int stop = causal ? min(Lk, min(Lq, i0 + BQ)) : Lk;  // keys any query of the tile may see
    for (int j0 = 0; j0 < stop; j0 += BK) {
        __syncthreads();  // everyone is done with the previous tile
        stage_rows<BK, DMAX, THREADS>(k_s, k, k_sr, j0, Lk, d);
        stage_rows<BK, DMAX, THREADS>(v_s, v, v_sr, j0, Lk, dv);
        __syncthreads();
        unsigned int keep = 0xffffffffu;  // bit jj: key j0 + jj survives dropout
        if (drop_threshold != 0u) {
            keep = 0u;
#pragma unroll
            for (int g = 0; g < BK / 4; ++g)
                keep |= dropout_keep4(seed, offset, n, i, (j0 >> 2) + g, drop_threshold) << (4 * g);
        }
        const float kept = drop_threshold != 0u ? keep_scale : 1.f;
        float s[BK];
        float tile_max = NEG_INF;
#pragma unroll
        for (int jj = 0; jj < BK; ++jj) {
            float part = 0.f;
#pragma unroll
            for (int c = 0; c < CHUNKS; ++c)
                part += dot4(qr[c], *reinterpret_cast<const float4 *>(&k_s[jj][16 * c + 4 * lane4]));
            const int j = j0 + jj;
            float score = quad_sum(part) * scale;
            if (!live || j >= Lk || (causal && j > i)) score = NEG_INF;
            else if (mask_kind != MASK_NONE) score += mask_at(mask, mask_kind, m_row + j * m_sk);
            s[jj] = score;
            tile_max = fmaxf(tile_max, score);
        }
        const float m_new = fmaxf(m, tile_max), shift = finite_shift(m_new);
        const float correction = __expf(m - shift);  // 0 while m is −∞
        l *= correction;
#pragma unroll
        for (int c = 0; c < CHUNKS; ++c) {
            acc[c].x *= correction, acc[c].y *= correction, acc[c].z *= correction, acc[c].w *= correction;
        }
#pragma unroll
        for (int jj = 0; jj < BK; ++jj) {
            const float p = __expf(s[jj] - shift);
            l += p;
            const float weight = (keep >> jj) & 1u ? p * kept : 0.f;
#pragma unroll
            for (int c = 0; c < CHUNKS; ++c)
                axpy4(acc[c], weight, *reinterpret_cast<const float4 *>(&v_s[jj][16 * c + 4 * lane4]));
        }
        m = m_new;
    }
    if (!live) return;
    const float inv = inverse_sum(l);
    float *o_row = o + ((long long)n * Lq + i) * dv;
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
        const int col = 16 * c + 4 * lane4;
        const float vals[4] = {acc[c].x, acc[c].y, acc[c].z, acc[c].w};
#pragma unroll
        for (int e = 0; e < 4; ++e)
            if (col + e < dv) o_row[col + e] = vals[e] * inv;
    }
    if (lane4 == 0) lse[(long long)n * Lq + i] = final_lse(m, l);
}

template <int DMAX, int BQ, int BK>
__global__ void __launch_bounds__(4 * BK)
    flash_simt_backward(const float *__restrict__ q, const float *__restrict__ k, const float *__restrict__ v,
                        const float *__restrict__ grad_out, const float *__restrict__ lse,
                        const float *__restrict__ delta, float *__restrict__ dq_accum, float *__restrict__ dk,
                        float *__restrict__ dv_out, long long do_sb, long long do_sh, long long do_sr,
                        FLASH_SHAPE_ARGS, FLASH_OPTION_ARGS) {
    static_assert(DMAX % 16 == 0, "a quad's float4 chunks tile DMAX");
    constexpr int THREADS = 4 * BK, CHUNKS = DMAX / 16;
    __shared__ __align__(16) float k_s[BK][DMAX];
    __shared__ __align__(16) float q_s[BQ][DMAX];
    __shared__ __align__(16) float do_s[BQ][DMAX];
    __shared__ float ds_s[BQ][BK + 1];
    __shared__ float lse_s[BQ], delta_s[BQ];
    const int lane4 = threadIdx.x & 3, j0 = blockIdx.x * BK, hk = blockIdx.y, b = blockIdx.z;
    const int jrow = threadIdx.x >> 2, j = j0 + jrow, group = Hq / Hkv;
    const bool key_live = j < Lk;
    const float *k_tile = k + b * k_sb + hk * k_sh, *v_tile = v + b * v_sb + hk * v_sh;
    stage_rows<BK, DMAX, THREADS>(k_s, k_tile, k_sr, j0, Lk, d);
    float4 kr[CHUNKS], vr[CHUNKS], dk_acc[CHUNKS], dv_acc[CHUNKS];
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
        const int col = 16 * c + 4 * lane4;
        kr[c] = load4(k_tile + (long long)(key_live ? j : 0) * k_sr, col, d, key_live);
        vr[c] = load4(v_tile + (long long)(key_live ? j : 0) * v_sr, col, dv, key_live);
        dk_acc[c] = dv_acc[c] = make_float4(0.f, 0.f, 0.f, 0.f);
    }
    const int first = causal ? j0 / BQ * BQ : 0;  // earlier query tiles see none of these keys
    for (int h = hk * group; h < (hk + 1) * group; ++h) {
        const int n = b * Hq + h;
        const float *q_head = q + b * q_sb + h * q_sh, *do_head = grad_out + b * do_sb + h * do_sh;
        for (int i0 = first; i0 < Lq; i0 += BQ) {
            __syncthreads();  // the previous tile's Q, dO and dS are no longer read
            stage_rows<BQ, DMAX, THREADS>(q_s, q_head, q_sr, i0, Lq, d);
            stage_rows<BQ, DMAX, THREADS>(do_s, do_head, do_sr, i0, Lq, dv);
            for (int r = threadIdx.x; r < BQ; r += THREADS) {
                const bool live = i0 + r < Lq;
                lse_s[r] = live ? lse[(long long)n * Lq + i0 + r] : 0.f;
                delta_s[r] = live ? delta[(long long)n * Lq + i0 + r] : 0.f;
            }
            __syncthreads();
            for (int ii = 0; ii < BQ; ++ii) {
                const int i = i0 + ii;
                float s_part = 0.f, dp_part = 0.f;
#pragma unroll
                for (int c = 0; c < CHUNKS; ++c) {
                    s_part += dot4(kr[c], *reinterpret_cast<const float4 *>(&q_s[ii][16 * c + 4 * lane4]));
                    dp_part += dot4(vr[c], *reinterpret_cast<const float4 *>(&do_s[ii][16 * c + 4 * lane4]));
                }
                const float score = quad_sum(s_part) * scale, dp = quad_sum(dp_part);
                float p = 0.f, factor = 0.f;
                if (key_live && i < Lq && !(causal && j > i)) {
                    const float masked = mask_kind == MASK_NONE
                                             ? score
                                             : score + mask_at(mask, mask_kind,
                                                               b * m_sb + h * m_sh + (long long)i * m_sq + j * m_sk);
                    p = __expf(masked - lse_s[ii]);  // 0 where the mask hides the key
                    factor = dropout_factor(drop_threshold, keep_scale, seed, offset, n, i, j);
                }
                const float ds = p * (dp * factor - delta_s[ii]);
#pragma unroll
                for (int c = 0; c < CHUNKS; ++c) {
                    axpy4(dv_acc[c], p * factor, *reinterpret_cast<const float4 *>(&do_s[ii][16 * c + 4 * lane4]));
                    axpy4(dk_acc[c], ds, *reinterpret_cast<const float4 *>(&q_s[ii][16 * c + 4 * lane4]));
                }
                if (lane4 == 0) ds_s[ii][jrow] = ds;
            }
            __syncthreads();  // dS of the whole tile is in shared memory
            for (int e = threadIdx.x; e < BQ * (DMAX / 4); e += THREADS) {
                const int r = e / (DMAX / 4), col = (e % (DMAX / 4)) * 4;
                if (i0 + r >= Lq || col >= d) continue;
                float4 sum = make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll 8
                for (int jj = 0; jj < BK; ++jj) axpy4(sum, ds_s[r][jj], *reinterpret_cast<const float4 *>(&k_s[jj][col]));
                float *dst = dq_accum + ((long long)n * Lq + i0 + r) * d + col;
                const float vals[4] = {sum.x, sum.y, sum.z, sum.w};
#pragma unroll
                for (int x = 0; x < 4; ++x)
                    if (col + x < d) atomicAdd(dst + x, vals[x] * scale);
            }
        }
    }
    if (!key_live) return;
    float *dk_row = dk + ((long long)(b * Hkv + hk) * Lk + j) * d, *dv_row = dv_out + ((long long)(b * Hkv + hk) * Lk + j) * dv;
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
        const int col = 16 * c + 4 * lane4;
        const float kv[4] = {dk_acc[c].x, dk_acc[c].y, dk_acc[c].z, dk_acc[c].w};
        const float vv[4] = {dv_acc[c].x, dv_acc[c].y, dv_acc[c].z, dv_acc[c].w};
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            if (col + e < d) dk_row[col + e] = kv[e] * scale;
            if (col + e < dv) dv_row[col + e] = vv[e];
        }
    }
}
