// matmul_mma_sync and matmul_mma_sync_reduce (glassgrad/kernels/matmul/cuda/mma_sync.cu) run on the CPU,
// for tests/kernels/test_mma_sync_emulated.py: the block machinery of attention_emulation.h (a std::thread
// per CUDA thread, barriers), and mma_sync_ptx.cuh's wrappers replaced by their PTX semantics:
//
//     mma m16n8k16 (bf16, f16) / m16n8k8 (tf32): D = A B + C with A, B rebuilt from the 32 lanes' fragments
//     ldmatrix.x4 [.trans]: attention_emulation.h's emu_ldmatrix;  cvt.rna.tf32: round half away, 10 bits
//     cp.async: an immediate copy of src-size bytes, the rest of the 16 zero-filled; waits do nothing
//
// The GEMM's template arguments come as -DMMA_INSTANCE=MMA_BF16,128,...,true and its element as
// -DMMA_ELEM=MMA_BF16 (one build per instance). One call:
//
//     mma_sync_driver KERNEL GX GY GZ THREADS SMEM ARGS
//
// KERNEL is "gemm" or "reduce"; ARGS is the kernel's parameters in launch_args.h's format.
#include "attention_emulation.h"
#include "launch_args.h"

inline thread_local emu_dim3 gridDim, blockDim;
struct float2 {
    float x, y;
};
inline float2 make_float2(float a, float b) { return {a, b}; }
inline unsigned __float_as_uint(float f) {
    unsigned u;
    std::memcpy(&u, &f, 4);
    return u;
}
inline float __uint_as_float(unsigned u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
inline void __syncwarp() { emu_warp_sync(); }

// ---- mma_sync_ptx.cuh on the host
#define GLASSGRAD_MMA_SYNC_PTX_CUH
enum MmaElement { MMA_TF32 = 0, MMA_BF16 = 1, MMA_FP16 = 2 };
template <int ELEM> struct mma_storage { using type = unsigned short; };
template <> struct mma_storage<MMA_TF32> { using type = float; };
#define MMA_SYNC_DYNAMIC_SMEM(name) unsigned char *name = emu_block->dynamic.data()

inline void cp_async16(void *smem, const void *gmem, int src_bytes) {
    std::memset(smem, 0, 16);
    if (src_bytes) std::memcpy(smem, gmem, src_bytes);
}
template <int N> inline void cp_async_wait() {}
template <bool TRANS> inline void ldmatrix_x4(unsigned (&r)[4], const void *p) { emu_ldmatrix<TRANS>(r, p); }
inline unsigned to_tf32(unsigned x) { return (x + 0x1000u) & 0xffffe000u; }  // finite inputs

template <int ELEM> inline float low_to_float(unsigned short h) {
    return ELEM == MMA_FP16 ? __half2float(__half{h}) : __bfloat162float(__nv_bfloat16{h});
}
template <int ELEM> inline unsigned short float_to_low(float f) {
    return ELEM == MMA_FP16 ? __float2half_rn(f).bits : __float2bfloat16_rn(f).bits;
}

template <int ELEM> inline void mma(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
    constexpr int K = ELEM == MMA_TF32 ? 8 : 16;
    const uint64_t words[6] = {a[0], a[1], a[2], a[3], b[0], b[1]};
    float A[16][16], B[16][8];
    emu_exchange(words, 6, [&](auto &table) {
        for (int lane = 0; lane < 32; ++lane) {
            const int g = lane >> 2, t = lane & 3;
            for (int r = 0; r < 4; ++r) {
                const unsigned w = static_cast<unsigned>(table[lane][r]);
                if (ELEM == MMA_TF32) {
                    A[g + 8 * (r % 2)][t + 4 * (r / 2)] = __uint_as_float(w);
                } else {
                    for (int e = 0; e < 2; ++e)
                        A[g + 8 * (r % 2)][2 * t + 8 * (r / 2) + e] = low_to_float<ELEM>(emu_half_of(w, e));
                }
            }
            for (int r = 0; r < 2; ++r) {
                const unsigned w = static_cast<unsigned>(table[lane][4 + r]);
                if (ELEM == MMA_TF32) {
                    B[t + 4 * r][g] = __uint_as_float(w);
                } else {
                    for (int e = 0; e < 2; ++e) B[2 * t + 8 * r + e][g] = low_to_float<ELEM>(emu_half_of(w, e));
                }
            }
        }
    });
    const int g = emu_lane() >> 2, t = emu_lane() & 3;
    for (int e = 0; e < 4; ++e) {
        const int row = g + 8 * (e >> 1), col = 2 * t + (e & 1);
        float sum = 0.f;
        for (int k = 0; k < K; ++k) sum += A[row][k] * B[k][col];
        d[e] += sum;
    }
}

#include "mma_sync.cu"


int main(int argc, char **argv) {
    if (argc != 8) return 2;
    const std::string which = argv[1];
    const emu_dim3 grid{(unsigned)std::atoi(argv[2]), (unsigned)std::atoi(argv[3]), (unsigned)std::atoi(argv[4])};
    const int threads = std::atoi(argv[5]);
    const size_t smem = std::atoll(argv[6]);
    std::vector<Arg> a = read_args(argv[7]);
    using T = mma_storage<MMA_ELEM>::type;
    auto body = [&] {
        gridDim = grid;
        blockDim = {(unsigned)threads, 1, 1};
        if (which == "gemm")
            matmul_mma_sync<MMA_INSTANCE>(
                ptr<const T *>(a[0]), ptr<const T *>(a[1]), ptr<void *>(a[2]), (int)a[3].value, (int)a[4].value,
                (int)a[5].value, a[6].value, a[7].value, a[8].value, a[9].value, ptr<const float *>(a[10]),
                ptr<const void *>(a[11]), (int)a[12].value, (int)a[13].value, (int)a[14].value, ptr<float *>(a[15]));
        else
            matmul_mma_sync_reduce<MMA_ELEM>(ptr<const float *>(a[0]), ptr<void *>(a[1]), a[2].value, (int)a[3].value,
                                         (int)a[4].value, ptr<const float *>(a[5]), ptr<const void *>(a[6]),
                                         (int)a[7].value, (int)a[8].value);
    };
    emu_launch(grid, threads, smem, body);
    write_pointers(a, argv[7]);
    return 0;
}
