// implicit_gemm.cuh's index math run on the CPU: the header itself (ConvGemm, walk_tile,
// fill_tables, block_place), compiled by the host compiler with a few CUDA names defined away,
// driven through the kernels' block and tile loops one thread at a time, with a plain
// double-precision block GEMM where the kernels have their SIMT or mma compute.
// tests/kernels/test_conv2d_cuda.py builds it with g++ and checks its results against the reference.
//
// stdin, problem after problem (whitespace-separated): op layout config, the 29 CONV_INT_ARGS,
// splits, then the length and values of the A source, of the B source, and the length of the
// output; stdout: each output, one value a line.
#include <algorithm>
#include <cstdio>
#include <type_traits>
#include <vector>

#define __device__
#define __forceinline__ inline
#define __align__(n) alignas(n)
struct HostDim3 {
    unsigned x, y, z;
};
static HostDim3 threadIdx, blockIdx, gridDim;
struct int2 {
    int x, y;
};
struct int3 {
    int x, y, z;
};
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int3 make_int3(int x, int y, int z) { return {x, y, z}; }
using std::max;
using std::min;

#include "../../glassgrad/kernels/conv2d/cuda/implicit_gemm.cuh"

template <int OP, int LAYOUT, int BM, int BN, int BK, int THREADS>
void run(const ConvParams &p, int splits, const std::vector<double> &a, const std::vector<double> &b,
         std::vector<double> &out) {
    using Op = ConvGemm<OP, LAYOUT>;
    const int M = Op::rows(p), Nn = Op::cols(p);
    gridDim = {unsigned((Nn + BN - 1) / BN), unsigned((M + BM - 1) / BM), unsigned(p.G * splits)};
    std::vector<Coord> a_rows(BM), b_rows(BN);
    std::vector<double> as(BM * BK), bs(BN * BK), acc(BM * BN);
    for (blockIdx.z = 0; blockIdx.z < gridDim.z; ++blockIdx.z)
        for (blockIdx.y = 0; blockIdx.y < gridDim.y; ++blockIdx.y)
            for (blockIdx.x = 0; blockIdx.x < gridDim.x; ++blockIdx.x) {
                const BlockPlace place = block_place<Op, BM, BN>(p);
                for (threadIdx.x = 0; threadIdx.x < THREADS; ++threadIdx.x)
                    fill_tables<Op, BM, BN, THREADS>(p, a_rows.data(), b_rows.data(), place.m0, place.n0, place.g);
                std::fill(acc.begin(), acc.end(), 0.0);
                for (int k0 = place.kbegin; k0 < place.kend; k0 += BK) {
                    std::fill(as.begin(), as.end(), -1e300);  // every element must be written
                    std::fill(bs.begin(), bs.end(), -1e300);
                    for (threadIdx.x = 0; threadIdx.x < THREADS; ++threadIdx.x) {
                        walk_tile<Op, true, BM, BK, THREADS, Op::A_ROW_FAST>(
                            p, a_rows.data(), k0, place.kend, place.g,
                            [&](int, int row, int kk, bool valid, int off) { as[row * BK + kk] = valid ? a.at(off) : 0.0; });
                        walk_tile<Op, false, BN, BK, THREADS, Op::B_ROW_FAST>(
                            p, b_rows.data(), k0, place.kend, place.g,
                            [&](int, int row, int kk, bool valid, int off) { bs[row * BK + kk] = valid ? b.at(off) : 0.0; });
                    }
                    const int rows = min(BM, M - place.m0), cols = min(BN, Nn - place.n0);  // the rest is not stored
                    for (int i = 0; i < rows; ++i)
                        for (int j = 0; j < cols; ++j)
                            for (int kk = 0; kk < BK; ++kk) acc[i * BN + j] += as[i * BK + kk] * bs[j * BK + kk];
                }
                for (int i = 0; i < BM; ++i)
                    for (int j = 0; j < BN; ++j) {
                        const int m = place.m0 + i, n = place.n0 + j;
                        if (m < M && n < Nn) out.at(Op::c_row(p, m, place.split) + Op::c_col(p, n, place.g)) = acc[i * BN + j];
                    }
            }
}

template <int OP, int LAYOUT>
void run_config(int config, const ConvParams &p, int splits, const std::vector<double> &a,
                const std::vector<double> &b, std::vector<double> &out) {
    if (config == 0) run<OP, LAYOUT, 128, 64, 8, 256>(p, splits, a, b, out);        // SIMT
    else if (config == 1) run<OP, LAYOUT, 128, 64, 16, 256>(p, splits, a, b, out);  // mma tf32
    else run<OP, LAYOUT, 128, 64, 32, 256>(p, splits, a, b, out);                   // mma bf16
}

bool solve_one() {
    int op, layout, config, v[29], splits;
    if (scanf("%d %d %d", &op, &layout, &config) != 3) return false;
    for (int &x : v)
        if (scanf("%d", &x) != 1) return false;
    if (scanf("%d", &splits) != 1) return false;
    const ConvParams p{v[0],  v[1],  v[2],  v[3],  v[4],  v[5],  v[6],  v[7],  v[8],  v[9],
                       v[10], v[11], v[12], v[13], v[14], v[15], v[16], v[17], v[18], v[19],
                       v[20], v[21], v[22], v[23], v[24], v[25], v[26], v[27], v[28]};
    std::vector<double> arrays[2];
    for (auto &arr : arrays) {
        long n;
        if (scanf("%ld", &n) != 1) return false;
        arr.resize(n);
        for (double &x : arr)
            if (scanf("%lf", &x) != 1) return false;
    }
    long n_out;
    if (scanf("%ld", &n_out) != 1) return false;
    std::vector<double> out(n_out, 0.0);
    auto go = [&](auto op_tag, auto layout_tag) {
        run_config<decltype(op_tag)::value, decltype(layout_tag)::value>(config, p, splits, arrays[0], arrays[1], out);
    };
    auto with_layout = [&](auto op_tag) {
        if (layout == LAYOUT_NCHW) go(op_tag, std::integral_constant<int, LAYOUT_NCHW>{});
        else go(op_tag, std::integral_constant<int, LAYOUT_NHWC>{});
    };
    if (op == CONV_FPROP) with_layout(std::integral_constant<int, CONV_FPROP>{});
    else if (op == CONV_DGRAD) with_layout(std::integral_constant<int, CONV_DGRAD>{});
    else with_layout(std::integral_constant<int, CONV_WGRAD>{});
    for (double x : out) printf("%.17g\n", x);
    return true;
}

int main() {
    while (solve_one()) {
    }
    return 0;
}
