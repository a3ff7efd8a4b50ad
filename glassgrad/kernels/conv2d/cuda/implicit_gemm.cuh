// Implicit GEMM: conv2d and both of its gradients as matrix products whose operands are
// gathered from the NCHW (or NHWC-strided) tensors on the fly, with no im2col buffer.
//
// Sizes: x (N, C, H, W), weight (K, C/G, R, S), y (N, K, P, Q); G groups, Cg = C/G, Kg = K/G;
// stride (sh, sw), padding (ph, pw), dilation (dh, dw). Per group g (blockIdx.z % G):
//
//   op     GEMM rows m       GEMM cols n      reduction k            A(m, k)             B(k, n)           C(m, n)
//   fprop  (n, p, q) N·P·Q   k_out  Kg        (c, r, s)  Cg·R·S      x[n, gCg+c, h, w]   w[gKg+k_out, c,r,s] y[n, gKg+k_out, p, q]
//   dgrad  (n, h, w) N·H·W   c      Cg        (k_out, r, s) Kg·R·S   dy[n, gKg+k_out, p', q'] w[gKg+k_out, c,r,s] dx[n, gCg+c, h, w]
//   wgrad  k_out     Kg      (c, r, s) Cg·R·S (n, p, q)  N·P·Q       dy[n, gKg+k_out, p, q] x[n, gCg+c, h, w] dW[gKg+k_out, c, r, s]
//
// with the input pixel of output (p, q) and tap (r, s)
//     h = p·sh − ph + r·dh,   w = q·sw − pw + s·dw        (x reads outside [0,H)×[0,W) are the zero padding)
// and dgrad's output pixel of input (h, w) and tap (r, s), when the division is exact and in range:
//     p' = (h + ph − r·dh) / sh,   q' = (w + pw − s·dw) / sw   (else the term is zero)
// so dgrad is its own implicit GEMM over dy (a gather, no atomics); for stride > 1 the GEMM's
// k range holds the taps that miss (zeros), sh·sw − 1 of every sh·sw.
//
// A multi-digit index is split by mixed radix: m = (n·P + p)·Q + q and so on. The order of the
// reduction digits is the layout's (the LAYOUT template argument, picked by the launcher from
// x's strides): NCHW reads (c, r, s) with s fastest (then s is the contiguous tap walk), NHWC
// reads (r, s, c) with c fastest (then c is contiguous in memory). Every address is built from
// the strides, so either order is correct for any strides; the layout only decides which one
// walks memory contiguously. wgrad's reduction is (n, p, q) in both layouts; its column digits
// are (c, r, s) or (r, s, c), and its output offset is always c·R·S + r·S + s.
//
// Every gather is the sum of two partial coordinates: one from the row (m or n) index, fixed
// for a block and kept in a shared-memory table, one from the reduction index k, advanced per
// tile with a digit counter (no division in the inner loop). Offsets are 32-bit element counts
// (the launcher checks the tensors fit).
#pragma once

enum ConvOp { CONV_FPROP = 0, CONV_DGRAD = 1, CONV_WGRAD = 2 };
enum ConvLayout { LAYOUT_NCHW = 0, LAYOUT_NHWC = 1 };

// The integers every kernel takes, in this order (the launcher's PARAM_NAMES): the sizes, the
// window, then the element strides (n, c, h, w) of x or dx, (k, c, r, s) of the weight and
// (n, k, p, q) of y or dy, then the reduction length of one split-K slice.
#define CONV_INT_ARGS                                                                                          \
    int N, int C, int H, int W, int K, int R, int S, int P, int Q, int G, int sh, int sw, int ph, int pw, int dh, \
        int dw, int xn, int xc, int xh, int xw, int wk, int wc, int wr, int ws, int yn, int yk, int yp, int yq,   \
        int k_per_split
#define CONV_INT_NAMES \
    N, C, H, W, K, R, S, P, Q, G, sh, sw, ph, pw, dh, dw, xn, xc, xh, xw, wk, wc, wr, ws, yn, yk, yp, yq, k_per_split

struct ConvParams {
    int N, C, H, W, K, R, S, P, Q, G, sh, sw, ph, pw, dh, dw;
    int xn, xc, xh, xw, wk, wc, wr, ws, yn, yk, yp, yq;
    int k_per_split;
    __device__ int cg() const { return C / G; }
    __device__ int kg() const { return K / G; }
};

// A partial address: an element offset, a partial (h, w) pixel, and whether it is in range.
struct __align__(16) Coord {
    int off, h, w, ok;
};

// Mixed-radix digits (d0, d1, d2) of k = (d0·r1 + d1)·r2 + d2.
struct Digits {
    int d0, d1, d2;
};

__device__ __forceinline__ Digits split_digits(int k, int r1, int r2) {
    const int r12 = r1 * r2, d0 = k / r12, rem = k - d0 * r12, d1 = rem / r2;
    return {d0, d1, rem - d1 * r2};
}

// k += step on the digits (a counter with carries: no division).
__device__ __forceinline__ void advance_digits(Digits &d, int step, int r1, int r2) {
    d.d2 += step;
    while (d.d2 >= r2) {
        d.d2 -= r2;
        if (++d.d1 == r1) {
            d.d1 = 0;
            ++d.d0;
        }
    }
}

// How two partial coordinates make one element address.
enum GatherKind {
    GATHER_PLAIN = 0,   // offsets add, always in range (weights, wgrad's dy)
    GATHER_X = 1,       // x at pixel (h, w) = sum of both parts; outside the image is padding
    GATHER_DY_TAP = 2,  // dy at (p', q') = (h/sh, w/sw) of the summed parts, when exact and in range
};

template <int KIND>
__device__ __forceinline__ bool combine(const ConvParams &p, const Coord &a, const Coord &b, int &off) {
    if (KIND == GATHER_PLAIN) {
        off = a.off + b.off;
        return a.ok & b.ok;
    } else if (KIND == GATHER_X) {
        const int h = a.h + b.h, w = a.w + b.w;
        off = a.off + b.off + h * p.xh + w * p.xw;
        return (a.ok & b.ok) && (unsigned)h < (unsigned)p.H && (unsigned)w < (unsigned)p.W;
    } else {
        const int hs = a.h + b.h, ws = a.w + b.w;
        if (p.sh == 1 && p.sw == 1) {  // every tap lands on an output pixel: no division
            off = a.off + b.off + hs * p.yp + ws * p.yq;
            return (a.ok & b.ok) && (unsigned)hs < (unsigned)p.P && (unsigned)ws < (unsigned)p.Q;
        }
        const int pp = hs / p.sh, qq = ws / p.sw;
        off = a.off + b.off + pp * p.yp + qq * p.yq;
        return (a.ok & b.ok) && hs >= 0 && ws >= 0 && pp * p.sh == hs && qq * p.sw == ws && pp < p.P && qq < p.Q;
    }
}

// The three GEMMs. Each gives: its sizes; per operand the gather kind, the partial coordinate
// of a row (A: m, B: n) and of a reduction index (from its digits); whether the loader should
// walk the row index (ROW_FAST) or the reduction index across consecutive threads; and the
// output offset of C(m, n) as row part + column part.
template <int OP, int LAYOUT>
struct ConvGemm;

template <int LAYOUT>
struct ConvGemm<CONV_FPROP, LAYOUT> {
    static constexpr int A_KIND = GATHER_X, B_KIND = GATHER_PLAIN;
    static constexpr bool A_ROW_FAST = LAYOUT == LAYOUT_NCHW;  // q walks x's w (contiguous in NCHW)
    static constexpr bool B_ROW_FAST = false;                  // the weight is contiguous along (c, r, s)
    __device__ static int rows(const ConvParams &p) { return p.N * p.P * p.Q; }
    __device__ static int cols(const ConvParams &p) { return p.kg(); }
    __device__ static int depth(const ConvParams &p) { return p.cg() * p.R * p.S; }
    __device__ static int2 k_radix(const ConvParams &p) {
        return LAYOUT == LAYOUT_NCHW ? make_int2(p.R, p.S) : make_int2(p.S, p.cg());
    }
    __device__ static int3 crs(const Digits &d) {  // (c, r, s) from the reduction digits
        return LAYOUT == LAYOUT_NCHW ? make_int3(d.d0, d.d1, d.d2) : make_int3(d.d2, d.d0, d.d1);
    }
    __device__ static Coord a_row(const ConvParams &p, int m, int g) {
        const Digits d = split_digits(m, p.P, p.Q);  // (n, p, q)
        return {d.d0 * p.xn + g * p.cg() * p.xc, d.d1 * p.sh - p.ph, d.d2 * p.sw - p.pw, 1};
    }
    __device__ static Coord a_k(const ConvParams &p, const Digits &d, int) {
        const int3 t = crs(d);
        return {t.x * p.xc, t.y * p.dh, t.z * p.dw, 1};
    }
    __device__ static Coord b_row(const ConvParams &p, int n, int g) { return {(g * p.kg() + n) * p.wk, 0, 0, 1}; }
    __device__ static Coord b_k(const ConvParams &p, const Digits &d, int) {
        const int3 t = crs(d);
        return {t.x * p.wc + t.y * p.wr + t.z * p.ws, 0, 0, 1};
    }
    __device__ static int c_row(const ConvParams &p, int m, int) {
        const Digits d = split_digits(m, p.P, p.Q);
        return d.d0 * p.yn + d.d1 * p.yp + d.d2 * p.yq;
    }
    __device__ static int c_col(const ConvParams &p, int n, int g) { return (g * p.kg() + n) * p.yk; }
};

template <int LAYOUT>
struct ConvGemm<CONV_DGRAD, LAYOUT> {
    static constexpr int A_KIND = GATHER_DY_TAP, B_KIND = GATHER_PLAIN;
    static constexpr bool A_ROW_FAST = LAYOUT == LAYOUT_NCHW;  // w walks dy's q (contiguous in NCHW, stride 1)
    static constexpr bool B_ROW_FAST = false;
    __device__ static int rows(const ConvParams &p) { return p.N * p.H * p.W; }
    __device__ static int cols(const ConvParams &p) { return p.cg(); }
    __device__ static int depth(const ConvParams &p) { return p.kg() * p.R * p.S; }
    __device__ static int2 k_radix(const ConvParams &p) {
        return LAYOUT == LAYOUT_NCHW ? make_int2(p.R, p.S) : make_int2(p.S, p.kg());
    }
    __device__ static int3 krs(const Digits &d) {  // (k_out, r, s) from the reduction digits
        return LAYOUT == LAYOUT_NCHW ? make_int3(d.d0, d.d1, d.d2) : make_int3(d.d2, d.d0, d.d1);
    }
    __device__ static Coord a_row(const ConvParams &p, int m, int g) {
        const Digits d = split_digits(m, p.H, p.W);  // (n, h, w)
        return {d.d0 * p.yn + g * p.kg() * p.yk, d.d1 + p.ph, d.d2 + p.pw, 1};
    }
    __device__ static Coord a_k(const ConvParams &p, const Digits &d, int) {
        const int3 t = krs(d);
        return {t.x * p.yk, -t.y * p.dh, -t.z * p.dw, 1};
    }
    __device__ static Coord b_row(const ConvParams &p, int n, int) { return {n * p.wc, 0, 0, 1}; }
    __device__ static Coord b_k(const ConvParams &p, const Digits &d, int g) {
        const int3 t = krs(d);
        return {(g * p.kg() + t.x) * p.wk + t.y * p.wr + t.z * p.ws, 0, 0, 1};
    }
    __device__ static int c_row(const ConvParams &p, int m, int) {
        const Digits d = split_digits(m, p.H, p.W);
        return d.d0 * p.xn + d.d1 * p.xh + d.d2 * p.xw;
    }
    __device__ static int c_col(const ConvParams &p, int n, int g) { return (g * p.cg() + n) * p.xc; }
};

template <int LAYOUT>
struct ConvGemm<CONV_WGRAD, LAYOUT> {
    static constexpr int A_KIND = GATHER_PLAIN, B_KIND = GATHER_X;
    static constexpr bool A_ROW_FAST = LAYOUT == LAYOUT_NHWC;  // k_out is contiguous in NHWC dy, q in NCHW
    static constexpr bool B_ROW_FAST = LAYOUT == LAYOUT_NHWC;  // c is contiguous in NHWC x, w (from q) in NCHW
    __device__ static int rows(const ConvParams &p) { return p.kg(); }
    __device__ static int cols(const ConvParams &p) { return p.cg() * p.R * p.S; }
    __device__ static int depth(const ConvParams &p) { return p.N * p.P * p.Q; }
    __device__ static int2 k_radix(const ConvParams &p) { return make_int2(p.P, p.Q); }
    __device__ static int3 col_crs(const ConvParams &p, int n) {  // (c, r, s) of GEMM column n
        if (LAYOUT == LAYOUT_NCHW) {
            const Digits d = split_digits(n, p.R, p.S);
            return make_int3(d.d0, d.d1, d.d2);
        }
        const Digits d = split_digits(n, p.S, p.cg());
        return make_int3(d.d2, d.d0, d.d1);
    }
    __device__ static Coord a_row(const ConvParams &p, int m, int g) { return {(g * p.kg() + m) * p.yk, 0, 0, 1}; }
    __device__ static Coord a_k(const ConvParams &p, const Digits &d, int) {
        return {d.d0 * p.yn + d.d1 * p.yp + d.d2 * p.yq, 0, 0, 1};
    }
    __device__ static Coord b_row(const ConvParams &p, int n, int g) {
        const int3 t = col_crs(p, n);
        return {(g * p.cg() + t.x) * p.xc, t.y * p.dh, t.z * p.dw, 1};
    }
    __device__ static Coord b_k(const ConvParams &p, const Digits &d, int) {
        return {d.d0 * p.xn, d.d1 * p.sh - p.ph, d.d2 * p.sw - p.pw, 1};
    }
    // The output is a contiguous fp32 (splits, K, Cg·R·S) slab: split s's partial sums at s·K·Cg·R·S.
    __device__ static int c_row(const ConvParams &p, int m, int split) {
        const int per_out = p.cg() * p.R * p.S;
        return (split * p.K + m) * per_out;
    }
    __device__ static int c_col(const ConvParams &p, int n, int g) {
        const int3 t = col_crs(p, n);
        return g * p.kg() * p.cg() * p.R * p.S + (t.x * p.R + t.y) * p.S + t.z;
    }
};

// The element (row, kk) of a ROWS x BK operand tile that a thread loads as its i-th: ROW_FAST puts
// consecutive threads on consecutive rows (THREADS/ROWS reduction indices per pass), otherwise
// on consecutive reduction indices (THREADS/BK rows per pass).
template <int ROWS, int BK, int THREADS, bool ROW_FAST>
struct TileWalk {
    static_assert(ROWS * BK % THREADS == 0, "every thread loads the same number of elements");
    static_assert(ROW_FAST ? THREADS % ROWS == 0 : THREADS % BK == 0, "a pass covers whole rows or whole k");
    static constexpr int PER_THREAD = ROWS * BK / THREADS;
    static constexpr int K_STEP = ROW_FAST ? THREADS / ROWS : 0;    // kk advance per element
    static constexpr int ROW_STEP = ROW_FAST ? 0 : THREADS / BK;     // row advance per element
    __device__ static int row0() { return ROW_FAST ? threadIdx.x % ROWS : threadIdx.x / BK; }
    __device__ static int kk0() { return ROW_FAST ? threadIdx.x / ROWS : threadIdx.x % BK; }
};

// Visit this thread's elements of the operand tile at reduction offset k0 (< kend):
// visit(i, row, kk, valid, offset) with the offset into the operand's tensor.
template <class Op, bool IS_A, int ROWS, int BK, int THREADS, bool ROW_FAST, class Visit>
__device__ __forceinline__ void walk_tile(const ConvParams &p, const Coord *table, int k0, int kend, int g,
                                          Visit visit) {
    using Walk = TileWalk<ROWS, BK, THREADS, ROW_FAST>;
    constexpr int KIND = IS_A ? Op::A_KIND : Op::B_KIND;
    const int2 radix = Op::k_radix(p);
    const int row0 = Walk::row0(), kk0 = Walk::kk0();
    Digits d = split_digits(k0 + kk0, radix.x, radix.y);
    if (ROW_FAST) {
        const Coord row = table[row0];
#pragma unroll
        for (int i = 0; i < Walk::PER_THREAD; ++i) {
            const int kk = kk0 + i * Walk::K_STEP;
            Coord kc = IS_A ? Op::a_k(p, d, g) : Op::b_k(p, d, g);
            kc.ok = k0 + kk < kend;
            int off;
            const bool valid = combine<KIND>(p, row, kc, off);
            visit(i, row0, kk, valid, off);
            if (i + 1 < Walk::PER_THREAD) advance_digits(d, Walk::K_STEP, radix.x, radix.y);
        }
    } else {
        Coord kc = IS_A ? Op::a_k(p, d, g) : Op::b_k(p, d, g);
        kc.ok = k0 + kk0 < kend;
#pragma unroll
        for (int i = 0; i < Walk::PER_THREAD; ++i) {
            const int r = row0 + i * Walk::ROW_STEP;
            int off;
            const bool valid = combine<KIND>(p, table[r], kc, off);
            visit(i, r, kk0, valid, off);
        }
    }
}

// Fill the block's row tables: A's rows m0 .. m0+BM, B's columns n0 .. n0+BN (ok = 0 past the edge).
template <class Op, int BM, int BN, int THREADS>
__device__ __forceinline__ void fill_tables(const ConvParams &p, Coord *a_rows, Coord *b_rows, int m0, int n0,
                                            int g) {
    const int M = Op::rows(p), Nn = Op::cols(p);
    for (int i = threadIdx.x; i < BM; i += THREADS)
        a_rows[i] = m0 + i < M ? Op::a_row(p, m0 + i, g) : Coord{0, 0, 0, 0};
    for (int i = threadIdx.x; i < BN; i += THREADS)
        b_rows[i] = n0 + i < Nn ? Op::b_row(p, n0 + i, g) : Coord{0, 0, 0, 0};
}

// The block's place: (m0, n0) from blockIdx.xy, group g and split-K slice from blockIdx.z
// (z = split·G + g), and the reduction range [kbegin, kend) of the slice.
struct BlockPlace {
    int m0, n0, g, split, kbegin, kend;
};

template <class Op, int BM, int BN>
__device__ __forceinline__ BlockPlace block_place(const ConvParams &p) {
    BlockPlace b;
    b.m0 = blockIdx.y * BM;
    b.n0 = blockIdx.x * BN;
    b.g = blockIdx.z % p.G;
    b.split = blockIdx.z / p.G;
    b.kbegin = b.split * p.k_per_split;
    b.kend = min(Op::depth(p), b.kbegin + p.k_per_split);
    return b;
}
