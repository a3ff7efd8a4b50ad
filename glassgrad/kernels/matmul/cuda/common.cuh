// Shared pieces of the CUDA matmul ladder.
//
// Every kernel computes C[b] = A[b] @ B[b] for b in the grid's z dimension with
//   A(b, m, k) = A[b*sAb + m*sAm + k*sAk]   (any strides: a transposed view is just other strides)
//   B(b, k, n) = B[b*sBb + k*sBk + n*sBn]
//   C(b, m, n) = C[b*M*N + m*N + n]         (C is always a fresh contiguous array)
// Edges are predicated: M, N, K need not be multiples of any tile.
#pragma once

#define MATMUL_ARGS                                                              \
    const float *__restrict__ A, const float *__restrict__ B, float *__restrict__ C, \
    int M, int N, int K, long long sAb, long long sAm, long long sAk,           \
    long long sBb, long long sBk, long long sBn

// How a tile loader reads global memory.
enum LoadMode {
    LOAD_SCALAR = 0,    // one float at a time, any strides
    LOAD_T_CONTIG = 1,  // float4 along t (stride 1 along the tile's columns)
    LOAD_K_CONTIG = 2,  // float4 along k (stride 1 along the tile's rows)
};

// Copy the BK x BT tile X(k0 .. k0+BK, t0 .. t0+BT) into shared memory laid out k-major,
// tile[k * LD + t], zero-filling outside K x T. For A, X(k, t) = A(m=t, k); for B, X(k, t) = B(k, n=t).
// All NT threads of the block take part. `vec_ok` says float4 loads are aligned (checked by the launcher).
template <int BK, int BT, int LD, int NT, int MODE>
__device__ __forceinline__ void load_tile_kmajor(const float *__restrict__ X, long long sk, long long st,
                                                 int k0, int t0, int K, int T, float *tile, bool vec_ok) {
    if (MODE == LOAD_T_CONTIG) {
        constexpr int PER_ROW = BT / 4;
        for (int i = threadIdx.x; i < BK * PER_ROW; i += NT) {
            const int k = i / PER_ROW, t = (i % PER_ROW) * 4;
            const int gk = k0 + k, gt = t0 + t;
            const float *p = X + (long long)gk * sk + gt;
            float4 v;
            if (vec_ok && gk < K && gt + 3 < T) {
                v = *reinterpret_cast<const float4 *>(p);
            } else {
                const bool row = gk < K;
                v.x = (row && gt + 0 < T) ? p[0] : 0.f;
                v.y = (row && gt + 1 < T) ? p[1] : 0.f;
                v.z = (row && gt + 2 < T) ? p[2] : 0.f;
                v.w = (row && gt + 3 < T) ? p[3] : 0.f;
            }
            *reinterpret_cast<float4 *>(&tile[k * LD + t]) = v;
        }
    } else if (MODE == LOAD_K_CONTIG) {
        constexpr int PER_COL = BK / 4;
        for (int i = threadIdx.x; i < BT * PER_COL; i += NT) {
            const int t = i / PER_COL, k = (i % PER_COL) * 4;
            const int gk = k0 + k, gt = t0 + t;
            const float *p = X + (long long)gt * st + gk;
            float4 v;
            if (vec_ok && gt < T && gk + 3 < K) {
                v = *reinterpret_cast<const float4 *>(p);
            } else {
                const bool col = gt < T;
                v.x = (col && gk + 0 < K) ? p[0] : 0.f;
                v.y = (col && gk + 1 < K) ? p[1] : 0.f;
                v.z = (col && gk + 2 < K) ? p[2] : 0.f;
                v.w = (col && gk + 3 < K) ? p[3] : 0.f;
            }
            tile[(k + 0) * LD + t] = v.x;
            tile[(k + 1) * LD + t] = v.y;
            tile[(k + 2) * LD + t] = v.z;
            tile[(k + 3) * LD + t] = v.w;
        }
    } else {
        for (int i = threadIdx.x; i < BK * BT; i += NT) {
            const int k = i / BT, t = i % BT;
            const int gk = k0 + k, gt = t0 + t;
            tile[k * LD + t] = (gk < K && gt < T) ? X[(long long)gk * sk + (long long)gt * st] : 0.f;
        }
    }
}
