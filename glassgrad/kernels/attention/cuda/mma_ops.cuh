// The tensor-core and copy instructions flash_mma.cu issues, as inline PTX: mma.sync m16n8k16
// (bf16 or fp16 in, FP32 accumulate), ldmatrix (plain and .trans), cp.async with zero fill and its
// group waits, and the block's dynamic shared memory. The fragment layouts, with g = lane / 4 and
// t = lane % 4 (PTX ISA, "Matrix Fragments for mma.m16n8k16"):
//
//     A (16×16): a0 = A[g][2t, 2t+1], a1 = A[g+8][2t, 2t+1], a2 = A[g][2t+8, 2t+9], a3 = A[g+8][2t+8, 2t+9]
//     B (16×8):  b0 = B[2t, 2t+1][g], b1 = B[2t+8, 2t+9][g]
//     C (16×8):  c0, c1 = C[g][2t, 2t+1],  c2, c3 = C[g+8][2t, 2t+1]
//
// ldmatrix.x4: lane l gives the address of row l % 8 of 8×8 matrix l / 8 and receives, of each matrix,
// the two elements [l / 4][2(l % 4), +1] (with .trans: [2(l % 4), +1][l / 4]).
// The include guard is also how tests/kernels/cuda_host/attention_emulation.h substitutes host versions.
#ifndef GLASSGRAD_ATTENTION_MMA_OPS_CUH
#define GLASSGRAD_ATTENTION_MMA_OPS_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>

// The block's dynamic shared memory (the launch sizes it).
#define FLASH_DYNAMIC_SMEM(name) extern __shared__ __align__(16) unsigned char name[]

// c += a · b for one m16n8k16 tile: a (16×16) in 4 registers, b (16×8) in 2, c (16×8 floats) in 4.
__device__ __forceinline__ void mma16816(float (&c)[4], const unsigned int (&a)[4], unsigned int b0, unsigned int b1,
                                         __half) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma16816(float (&c)[4], const unsigned int (&a)[4], unsigned int b0, unsigned int b1,
                                         __nv_bfloat16) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ unsigned int smem_address(const void *p) {
    return static_cast<unsigned int>(__cvta_generic_to_shared(p));
}
// Four 8×8 matrices of 16-bit elements; lane l names row l % 8 of matrix l / 8.
__device__ __forceinline__ void ldmatrix_x4(unsigned int (&r)[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_address(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(unsigned int (&r)[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_address(p)));
}
// 16 bytes global → shared without passing through registers; zero-filled when !valid.
__device__ __forceinline__ void cp_async16(void *smem, const void *gmem, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_address(smem)), "l"(gmem),
                 "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_one() { asm volatile("cp.async.wait_group 1;\n" ::); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::); }

// The dynamic shared memory the launch gave this block (the launcher sizes it; a short one traps).
__device__ __forceinline__ unsigned int dynamic_smem_bytes() {
    unsigned int bytes;
    asm volatile("mov.u32 %0, %%dynamic_smem_size;\n" : "=r"(bytes));
    return bytes;
}

#endif  // GLASSGRAD_ATTENTION_MMA_OPS_CUH
