// Hopper (sm_90a) building blocks as thin PTX wrappers, one idea each:
//
// * TMA (the tensor memory accelerator): one thread hands the copy engine a CUtensorMap (made on
//   the host by cuTensorMapEncodeTiled, see kernels/cuda/tma.py) and box coordinates; the engine
//   copies the whole box global -> shared, zero-fills what lies outside the tensor, lays it out
//   with the 128-byte swizzle, and counts the bytes it wrote onto an mbarrier.
// * mbarrier: a shared-memory barrier with a phase bit. init(count) expects `count` arrivals;
//   arrive_expect_tx also announces bytes still to land (the TMA copy completes them); a phase
//   completes when both arrivals and bytes are in, and try_wait.parity(p) returns once the phase
//   of parity p has completed. A fresh barrier is in phase 0, so waiting on parity 1 passes at once.
// * wgmma: a warpgroup (4 consecutive warps, 128 threads) multiplies a 64 x N x 16 block
//   asynchronously, D(64 x N, FP32 registers) += A(64 x 16) B(16 x N), both read from shared memory
//   through 64-bit matrix descriptors. fence before, commit to close a group, wait_group(n) until at
//   most n groups are in flight.
// * setmaxnreg: a warpgroup gives registers back (producer) or takes them (consumers), so the
//   warpgroups that hold the accumulators get more than an even share of the register file.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

// The 128-byte opaque CUtensorMap (cuda.h's CUtensorMap_st, 64-byte aligned), declared here so that
// NVRTC needs no driver header. Passed by value as a `const __grid_constant__` kernel parameter.
struct alignas(64) TmaDescriptor {
    unsigned long long opaque[16];
};

__device__ __forceinline__ unsigned smem_u32(const void *p) { return static_cast<unsigned>(__cvta_generic_to_shared(p)); }

// ---- mbarrier ------------------------------------------------------------------------------------
__device__ __forceinline__ void mbar_init(unsigned long long *bar, unsigned count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(count) : "memory");
}
// Makes the initialised barriers visible to the copy engine (the async proxy) and the other threads.
__device__ __forceinline__ void mbar_fence_init() { asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory"); }
__device__ __forceinline__ void mbar_arrive_expect_tx(unsigned long long *bar, unsigned bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_arrive(unsigned long long *bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_u32(bar)) : "memory");
}
__device__ __forceinline__ bool mbar_try_wait(unsigned long long *bar, unsigned parity) {
    unsigned done;
    asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done)
                 : "r"(smem_u32(bar)), "r"(parity)
                 : "memory");
    return done;
}
// A phase that has not completed after MBAR_TIMEOUT_NS means a lost arrival or copy (a bug): trap, so that
// the launch fails with an error instead of hanging the GPU. Real waits last microseconds.
constexpr unsigned long long MBAR_TIMEOUT_NS = 10000000000ull;
__device__ __forceinline__ unsigned long long global_timer_ns() {
    unsigned long long t;
    asm volatile("mov.u64 %0, %%globaltimer;\n" : "=l"(t));
    return t;
}
__device__ __forceinline__ void mbar_wait(unsigned long long *bar, unsigned parity) {
    if (mbar_try_wait(bar, parity)) return;
    const unsigned long long start = global_timer_ns();
    while (!mbar_try_wait(bar, parity))
        if (global_timer_ns() - start > MBAR_TIMEOUT_NS) __trap();
}

// ---- TMA -----------------------------------------------------------------------------------------
// Copy the box at coordinates (c0 innermost, c1, c2) of `map` into shared memory at `dst`; the bytes
// complete on `bar`. Coordinates past the tensor's end read as zeros.
__device__ __forceinline__ void tma_load_3d(void *dst, const TmaDescriptor *map, unsigned long long *bar, int c0,
                                            int c1, int c2) {
    asm volatile(
        "cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4, %5}], [%2];\n" ::
            "r"(smem_u32(dst)),
        "l"(reinterpret_cast<unsigned long long>(map)), "r"(smem_u32(bar)), "r"(c0), "r"(c1), "r"(c2)
        : "memory");
}
__device__ __forceinline__ void tma_prefetch_descriptor(const TmaDescriptor *map) {
    asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<unsigned long long>(map)) : "memory");
}

// ---- setmaxnreg ----------------------------------------------------------------------------------
template <int REGS> __device__ __forceinline__ void warpgroup_registers_down() {
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(REGS));
}
template <int REGS> __device__ __forceinline__ void warpgroup_registers_up() {
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(REGS));
}

// ---- wgmma ---------------------------------------------------------------------------------------
// Shared-memory matrix descriptor for a tile written by TMA with the 128-byte swizzle (the tile starts
// on a 1024-byte boundary; `p` may point 32, 64 or 96 bytes into a swizzled row to step along K):
//   bits  0-13  start address >> 4
//   bits 16-29  leading-dimension byte offset >> 4 (K-major: unused with swizzling; MN-major: the
//               distance between two 64-element column blocks along M or N)
//   bits 32-45  stride-dimension byte offset >> 4 (the distance between two groups of 8 rows: 1024)
//   bits 62-63  layout: 1 = 128-byte swizzle
__device__ __forceinline__ unsigned long long smem_descriptor(const void *p, unsigned leading_bytes,
                                                              unsigned stride_bytes) {
    const unsigned long long address = smem_u32(p);
    return ((address & 0x3FFFF) >> 4) | ((unsigned long long)((leading_bytes & 0x3FFFF) >> 4) << 16) |
           ((unsigned long long)((stride_bytes & 0x3FFFF) >> 4) << 32) | (1ull << 62);
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void wgmma_wait() {
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// The accumulators are written by the tensor cores after the asm statement that names them "returns":
// this empty asm, placed after wgmma_wait, keeps the compiler from reading them any earlier.
__device__ __forceinline__ void accumulators_fence(float (&d)[128]) {
#pragma unroll
    for (int i = 0; i < 128; ++i) asm volatile("" : "+f"(d[i])::"memory");
}

// The 128 FP32 accumulators of one thread for m64n256 (written out: asm operands cannot be a loop).
#define GG_WGMMA_N256_ACCUMULATORS \
    "{" \
    "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
    "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
    "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
    "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, " \
    "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, " \
    "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, " \
    "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, " \
    "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}"

#define GG_WGMMA_N256_OUTPUTS \
    "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
    "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
    "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
    "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
    "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
    "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
    "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
    "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), \
    "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), \
    "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), \
    "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), \
    "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), \
    "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), \
    "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), \
    "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), \
    "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])

// d (64 x 256 per warpgroup) = A B + (scale_d ? d : 0). TRANS_A / TRANS_B = 1: that operand is
// MN-major in shared memory (a transposed layout; 16-bit types only), 0: K-major.
#define GG_WGMMA_M64N256K16(PTX_TYPE)                                                                          \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"                                                \
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32." PTX_TYPE "." PTX_TYPE " "                    \
                 GG_WGMMA_N256_ACCUMULATORS ", %128, %129, p, 1, 1, %131, %132;\n}\n"                         \
                 : GG_WGMMA_N256_OUTPUTS                                                                      \
                 : "l"(desc_a), "l"(desc_b), "r"(scale_d), "n"(TRANS_A), "n"(TRANS_B))

template <typename T, int TRANS_A, int TRANS_B> struct wgmma_m64n256k16;
template <int TRANS_A, int TRANS_B> struct wgmma_m64n256k16<__half, TRANS_A, TRANS_B> {
    __device__ static __forceinline__ void run(float (&d)[128], unsigned long long desc_a, unsigned long long desc_b,
                                               int scale_d) {
        GG_WGMMA_M64N256K16("f16");
    }
};
template <int TRANS_A, int TRANS_B> struct wgmma_m64n256k16<__nv_bfloat16, TRANS_A, TRANS_B> {
    __device__ static __forceinline__ void run(float (&d)[128], unsigned long long desc_a, unsigned long long desc_b,
                                               int scale_d) {
        GG_WGMMA_M64N256K16("bf16");
    }
};
