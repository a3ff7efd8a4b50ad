// The PTX that mma_sync.cu issues, one wrapper per instruction (cp.async, ldmatrix, mma.sync, cvt),
// and the element types it is templated on. The tests' CPU emulation of the kernel
// (tests/kernels/cuda_host/mma_sync_driver.cpp) defines GLASSGRAD_MMA_SYNC_PTX_CUH and supplies these
// same wrappers from the instructions' documented semantics instead.
#ifndef GLASSGRAD_MMA_SYNC_PTX_CUH
#define GLASSGRAD_MMA_SYNC_PTX_CUH

enum MmaElement { MMA_TF32 = 0, MMA_BF16 = 1, MMA_FP16 = 2 };

template <int ELEM> struct mma_storage { using type = unsigned short; };  // bf16 / fp16 bits
template <> struct mma_storage<MMA_TF32> { using type = float; };

// The kernel's dynamic shared memory (sized by the launcher, opted into past 48 KB).
#define MMA_SYNC_DYNAMIC_SMEM(name) extern __shared__ __align__(128) unsigned char name[]

__device__ __forceinline__ unsigned smem_addr(const void *p) {  // generic -> 32-bit shared-window address
    unsigned addr;
    asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }\n" : "=r"(addr) : "l"(p));
    return addr;
}
__device__ __forceinline__ void cp_async16(void *smem, const void *gmem, int src_bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(smem)), "l"(gmem), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

template <bool TRANS> __device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], const void *p) {
    if (TRANS)
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                     : "r"(smem_addr(p)));
    else
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                     : "r"(smem_addr(p)));
}

__device__ __forceinline__ unsigned to_tf32(unsigned x) {
    unsigned y;
    asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(y) : "f"(__uint_as_float(x)));
    return y;
}

template <int ELEM> __device__ __forceinline__ void mma(float (&d)[4], const unsigned (&a)[4], const unsigned (&b)[2]) {
    if (ELEM == MMA_BF16)
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                     "{%0,%1,%2,%3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    else if (ELEM == MMA_FP16)
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                     "{%0,%1,%2,%3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    else
        asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                     "{%0,%1,%2,%3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// ---- 16-bit storage <-> float -------------------------------------------------------

template <int ELEM> __device__ __forceinline__ float low_to_float(unsigned short h) {
    if (ELEM == MMA_FP16) {
        float f;
        asm("cvt.f32.f16 %0, %1;\n" : "=f"(f) : "h"(h));
        return f;
    }
    return __uint_as_float(static_cast<unsigned>(h) << 16);  // bf16: the top half of a float
}
template <int ELEM> __device__ __forceinline__ unsigned short float_to_low(float f) {
    unsigned short h;
    if (ELEM == MMA_FP16)
        asm("cvt.rn.f16.f32 %0, %1;\n" : "=h"(h) : "f"(f));
    else
        asm("cvt.rn.bf16.f32 %0, %1;\n" : "=h"(h) : "f"(f));
    return h;
}

#endif  // GLASSGRAD_MMA_SYNC_PTX_CUH
