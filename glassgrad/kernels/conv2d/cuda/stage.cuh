// Moving one operand tile from global to shared memory for the implicit-GEMM kernels, in the two
// ways they double-buffer: through registers (gather_regs now, store_regs after the compute of
// the other stage) or with 4-byte cp.async straight into shared memory (zero-filled when the
// element is padding or past an edge). The shared tile puts element (row, kk) at
// row·ROW_STRIDE + kk·K_STRIDE, so one walk serves k-major (SIMT) and row-major (mma) tiles.
#pragma once
#include "implicit_gemm.cuh"

template <class Op, bool IS_A, int ROWS, int BK, int THREADS, bool ROW_FAST, typename T>
__device__ __forceinline__ void gather_regs(const ConvParams &p, const T *__restrict__ src, const Coord *table,
                                            int k0, int kend, int g, T *regs) {
    walk_tile<Op, IS_A, ROWS, BK, THREADS, ROW_FAST>(p, table, k0, kend, g, [&](int i, int, int, bool valid, int off) {
        regs[i] = valid ? src[off] : T(0.f);
    });
}

template <int ROWS, int BK, int THREADS, bool ROW_FAST, int ROW_STRIDE, int K_STRIDE, typename T>
__device__ __forceinline__ void store_regs(T *tile, const T *regs) {
    using Walk = TileWalk<ROWS, BK, THREADS, ROW_FAST>;
    const int row0 = Walk::row0(), kk0 = Walk::kk0();
#pragma unroll
    for (int i = 0; i < Walk::PER_THREAD; ++i) {
        const int row = row0 + i * Walk::ROW_STEP, kk = kk0 + i * Walk::K_STEP;
        tile[row * ROW_STRIDE + kk * K_STRIDE] = regs[i];
    }
}

// 4-byte cp.async (zero-filled when !valid), its commit and "all but the newest group landed" wait.
// Defined here for the GPU; tests/kernels/implicit_gemm_threads.cpp defines them for its CPU run.
__device__ __forceinline__ void cp_async4(void *smem, const void *gmem, bool valid);
__device__ __forceinline__ void cp_async_commit();
__device__ __forceinline__ void cp_async_wait_one();
#ifndef CONV_HOST_EMULATION
__device__ __forceinline__ void cp_async4(void *smem, const void *gmem, bool valid) {
    const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(s), "l"(gmem), "r"(valid ? 4 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_one() { asm volatile("cp.async.wait_group 1;\n" ::); }
#endif

template <class Op, bool IS_A, int ROWS, int BK, int THREADS, bool ROW_FAST, int ROW_STRIDE, int K_STRIDE>
__device__ __forceinline__ void gather_cp_async(const ConvParams &p, const float *__restrict__ src,
                                                const Coord *table, int k0, int kend, int g, float *tile) {
    walk_tile<Op, IS_A, ROWS, BK, THREADS, ROW_FAST>(
        p, table, k0, kend, g, [&](int, int row, int kk, bool valid, int off) {
            cp_async4(&tile[row * ROW_STRIDE + kk * K_STRIDE], valid ? src + off : src, valid);
        });
}
