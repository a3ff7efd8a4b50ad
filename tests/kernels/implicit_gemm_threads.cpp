// The implicit-GEMM kernels themselves (kernels/conv2d/cuda/implicit_gemm_simt.cu and
// implicit_gemm_mma.cu) run on the CPU: every CUDA thread of a block is a std::thread,
// __shared__ arrays are the kernel's static locals, __syncthreads is a std::barrier over the
// block, and the warp instructions are emulated from the PTX ISA's fragment layouts with a
// barrier per warp:
//   ldmatrix .x4   lane l receives word l % 4 of row l / 4 of matrix j, whose row address lane 8j + l/4 gave
//   mma m16n8k8 tf32    a0 (g, t)  a1 (g+8, t)  a2 (g, t+4)  a3 (g+8, t+4);  b0 (k t, n g)  b1 (k t+4, n g)
//   mma m16n8k16 bf16   a0 (g, 2t..2t+1) a1 (g+8, ..) a2 (g, 2t+8..) a3 (g+8, 2t+8..);  b0 (k 2t..2t+1, n g)  b1 (k +8)
//   accumulators        c0, c1 (g, 2t + {0,1})   c2, c3 (g+8, 2t + {0,1})            g = lane / 4, t = lane % 4
// cp.async copies at once (a stricter order than the GPU's). tests/kernels/test_conv2d_cuda.py
// builds it with g++ -std=c++20 -DSIMT_SHAPE=... -DMMA_SHAPE=... (the launcher's tile shapes).
//
// stdin, problem after problem: variant (0 simt, 1 tf32, 2 bf16) op layout, the 29 CONV_INT_ARGS,
// splits, then the length and values of the A source and of the B source (bf16: values already
// bf16-rounded), and the output length; stdout: each output, one value a line.
#include <barrier>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

#define CONV_HOST_EMULATION
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __shared__ static
struct HostDim3 {
    unsigned x, y, z;
};
thread_local HostDim3 threadIdx;
static HostDim3 blockIdx, gridDim;
struct int2 {
    int x, y;
};
struct int3 {
    int x, y, z;
};
struct alignas(16) float4 {
    float x, y, z, w;
};
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int3 make_int3(int x, int y, int z) { return {x, y, z}; }
using std::max;
using std::min;

static std::barrier<> *block_barrier;
inline void __syncthreads() { block_barrier->arrive_and_wait(); }

#include "../../glassgrad/kernels/conv2d/cuda/implicit_gemm_mma.cu"
#include "../../glassgrad/kernels/conv2d/cuda/implicit_gemm_simt.cu"

void cp_async4(void *smem, const void *gmem, bool valid) {
    if (valid) std::memcpy(smem, gmem, 4);
    else std::memset(smem, 0, 4);
}
void cp_async_commit() {}
void cp_async_wait_one() {}

// A warp's exchange slots, two sets used in turn: one barrier per warp instruction suffices, since
// a lane can only pass the next instruction's barrier once every lane has read this one's slots.
struct Warp {
    std::unique_ptr<std::barrier<>> bar = std::make_unique<std::barrier<>>(32);
    const void *addr[2][32];
    unsigned a[2][32][4], b[2][32][2];
};
static std::vector<Warp> *warps;
thread_local unsigned warp_calls;  // this lane's count of warp instructions: the slot set is its parity

static float bits_float(unsigned bits) {
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

void ldmatrix_x4(unsigned (&r)[4], const void *smem) {
    Warp &w = (*warps)[threadIdx.x / 32];
    const int l = threadIdx.x % 32;
    if (reinterpret_cast<size_t>(smem) % 16) std::abort();  // ldmatrix rows are 16-byte aligned
    const unsigned set = warp_calls++ % 2;
    w.addr[set][l] = smem;
    w.bar->arrive_and_wait();
    for (int j = 0; j < 4; ++j) r[j] = static_cast<const unsigned *>(w.addr[set][j * 8 + l / 4])[l % 4];
}

unsigned to_tf32(unsigned bits) { return (bits + 0x1000u) & 0xFFFFE000u; }  // round to 10 mantissa bits

// d += A·B for this lane's four accumulators, A and B gathered from every lane's registers.
template <int K, class Element>
static void warp_mma(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2], Element element) {
    Warp &w = (*warps)[threadIdx.x / 32];
    const int l = threadIdx.x % 32;
    const unsigned set = warp_calls++ % 2;
    std::memcpy(w.a[set][l], a, sizeof a);
    std::memcpy(w.b[set][l], b, sizeof b);
    w.bar->arrive_and_wait();
    float A[16][K], B[K][8];
    for (int lane = 0; lane < 32; ++lane) element(w.a[set][lane], w.b[set][lane], lane / 4, lane % 4, A, B);
    const int g = l / 4, t = l % 4;
    for (int e = 0; e < 4; ++e) {
        const int row = g + (e / 2) * 8, col = 2 * t + e % 2;
        double sum = d[e];
        for (int k = 0; k < K; ++k) sum += double(A[row][k]) * B[k][col];
        d[e] = float(sum);
    }
}

template <>
void mma<float>(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
    warp_mma<8>(d, a, b, [](const unsigned *ra, const unsigned *rb, int g, int t, float (&A)[16][8], float (&B)[8][8]) {
        auto tf32 = [](unsigned bits) { return bits_float(bits & 0xFFFFE000u); };  // the tensor cores read 19 bits
        A[g][t] = tf32(ra[0]), A[g + 8][t] = tf32(ra[1]), A[g][t + 4] = tf32(ra[2]), A[g + 8][t + 4] = tf32(ra[3]);
        B[t][g] = tf32(rb[0]), B[t + 4][g] = tf32(rb[1]);
    });
}

template <>
void mma<bf16_bits>(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
    warp_mma<16>(d, a, b,
                 [](const unsigned *ra, const unsigned *rb, int g, int t, float (&A)[16][16], float (&B)[16][8]) {
                     auto lo = [](unsigned r) { return bits_float(r << 16); };
                     auto hi = [](unsigned r) { return bits_float(r & 0xFFFF0000u); };
                     const int rows[4] = {g, g + 8, g, g + 8}, cols[4] = {2 * t, 2 * t, 2 * t + 8, 2 * t + 8};
                     for (int i = 0; i < 4; ++i) A[rows[i]][cols[i]] = lo(ra[i]), A[rows[i]][cols[i] + 1] = hi(ra[i]);
                     B[2 * t][g] = lo(rb[0]), B[2 * t + 1][g] = hi(rb[0]);
                     B[2 * t + 8][g] = lo(rb[1]), B[2 * t + 9][g] = hi(rb[1]);
                 });
}

// Run `kernel` over the grid, one block at a time, THREADS std::threads per block.
template <int THREADS, class Kernel>
static void launch(Kernel kernel) {
    for (blockIdx.z = 0; blockIdx.z < gridDim.z; ++blockIdx.z)
        for (blockIdx.y = 0; blockIdx.y < gridDim.y; ++blockIdx.y)
            for (blockIdx.x = 0; blockIdx.x < gridDim.x; ++blockIdx.x) {
                std::barrier<> bar(THREADS);
                std::vector<Warp> block_warps(THREADS / 32);
                block_barrier = &bar;
                warps = &block_warps;
                std::vector<std::thread> threads;
                for (unsigned t = 0; t < THREADS; ++t)
                    threads.emplace_back([t, &kernel] {
                        threadIdx = {t, 0, 0};
                        warp_calls = 0;
                        kernel();
                    });
                for (auto &t : threads) t.join();
            }
}

template <int BM, int BN>
static void set_grid(int rows, int cols, int z) {
    gridDim = {unsigned((cols + BN - 1) / BN), unsigned((rows + BM - 1) / BM), unsigned(z)};
}

template <int OP, int LAYOUT, int BM, int BN, int BK, int TM, int TN, int THREADS>
static void run_simt(const ConvParams &p, const int *v, int splits, const std::vector<float> &a,
                     const std::vector<float> &b, std::vector<float> &out) {
    using Op = ConvGemm<OP, LAYOUT>;
    set_grid<BM, BN>(Op::rows(p), Op::cols(p), p.G * splits);
    launch<THREADS>([&] {
        conv2d_implicit_gemm_simt<OP, LAYOUT, BM, BN, BK, TM, TN, THREADS>(
            a.data(), b.data(), out.data(), v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11],
            v[12], v[13], v[14], v[15], v[16], v[17], v[18], v[19], v[20], v[21], v[22], v[23], v[24], v[25], v[26],
            v[27], v[28]);
    });
}

template <typename T, int OP, int LAYOUT, int BM, int BN, int WM, int WN, int THREADS>
static void run_mma(const ConvParams &p, const int *v, int splits, const std::vector<T> &a, const std::vector<T> &b,
                    std::vector<float> &out) {
    using Op = ConvGemm<OP, LAYOUT>;
    set_grid<BM, BN>(Op::rows(p), Op::cols(p), p.G * splits);
    launch<THREADS>([&] {
        conv2d_implicit_gemm_mma<T, OP, LAYOUT, BM, BN, WM, WN, THREADS>(
            a.data(), b.data(), out.data(), v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11],
            v[12], v[13], v[14], v[15], v[16], v[17], v[18], v[19], v[20], v[21], v[22], v[23], v[24], v[25], v[26],
            v[27], v[28]);
    });
}

static std::vector<bf16_bits> to_bits(const std::vector<float> &x) {
    std::vector<bf16_bits> out(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        unsigned u;
        std::memcpy(&u, &x[i], 4);
        out[i] = bf16_bits(u >> 16);  // the values are bf16 already: the low half is zero
    }
    return out;
}

template <int OP, int LAYOUT>
static void run_variant(int variant, const ConvParams &p, const int *v, int splits, const std::vector<float> &a,
                        const std::vector<float> &b, std::vector<float> &out) {
    if (variant == 0) run_simt<OP, LAYOUT, SIMT_SHAPE>(p, v, splits, a, b, out);
    else if (variant == 1) run_mma<float, OP, LAYOUT, MMA_SHAPE>(p, v, splits, a, b, out);
    else run_mma<bf16_bits, OP, LAYOUT, MMA_SHAPE>(p, v, splits, to_bits(a), to_bits(b), out);
}

static bool solve_one() {
    int variant, op, layout, v[29], splits;
    if (scanf("%d %d %d", &variant, &op, &layout) != 3) return false;
    for (int &x : v)
        if (scanf("%d", &x) != 1) return false;
    if (scanf("%d", &splits) != 1) return false;
    const ConvParams p{v[0],  v[1],  v[2],  v[3],  v[4],  v[5],  v[6],  v[7],  v[8],  v[9],
                       v[10], v[11], v[12], v[13], v[14], v[15], v[16], v[17], v[18], v[19],
                       v[20], v[21], v[22], v[23], v[24], v[25], v[26], v[27], v[28]};
    std::vector<float> arrays[2];
    for (auto &arr : arrays) {
        long n;
        if (scanf("%ld", &n) != 1) return false;
        arr.resize(n);
        for (float &x : arr)
            if (scanf("%f", &x) != 1) return false;
    }
    long n_out;
    if (scanf("%ld", &n_out) != 1) return false;
    std::vector<float> out(n_out, std::nanf(""));  // every element must be written
    auto with_layout = [&](auto op_tag) {
        constexpr int OP = decltype(op_tag)::value;
        if (layout == LAYOUT_NCHW) run_variant<OP, LAYOUT_NCHW>(variant, p, v, splits, arrays[0], arrays[1], out);
        else run_variant<OP, LAYOUT_NHWC>(variant, p, v, splits, arrays[0], arrays[1], out);
    };
    if (op == CONV_FPROP) with_layout(std::integral_constant<int, CONV_FPROP>{});
    else if (op == CONV_DGRAD) with_layout(std::integral_constant<int, CONV_DGRAD>{});
    else with_layout(std::integral_constant<int, CONV_WGRAD>{});
    for (float x : out) printf("%.9g\n", x);
    return true;
}

int main() {
    while (solve_one()) {
    }
    return 0;
}
