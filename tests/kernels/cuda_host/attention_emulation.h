// Runs the CUDA C attention kernels on the CPU, to test their indexing and arithmetic without a GPU.
//
// One std::thread per CUDA thread of a block, blocks one after another. __syncthreads is a barrier of
// the block's threads; a warp shuffle writes each lane's value to a per-warp table between two barriers
// of the warp's 32 threads; __shared__ arrays are function statics (one block runs at a time). The
// tensor-core and copy instructions of mma_ops.cuh are replaced (its include guard is defined here) by
// their PTX-documented semantics, computed from all 32 lanes' registers:
//
//     mma.m16n8k16:  C[g][2t..], C[g+8][2t..] += Σ_k A[row][k] B[k][col], A, B rebuilt from the lanes'
//                    fragments (a0..a3, b0, b1 as mma_ops.cuh's header states the layout)
//     ldmatrix.x4:   lane l receives, of matrix m, the words at row l / 4 of the rows whose addresses lanes
//                    8m .. 8m+7 gave (with .trans: column l / 4 of rows 2(l % 4), 2(l % 4) + 1)
//     cp.async:      an immediate 16-byte copy (zeros when not valid); the group waits do nothing
//
// What this cannot check: timing-dependent hazards (cp.async overlapping a read, a missing barrier that
// the barrier-per-shuffle emulation happens to cover), register pressure, and the real PTX layouts
// (this file and the kernels share one reading of the ISA manual; a GPU run checks that).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "cuda_bf16.h"
#include "cuda_fp16.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __restrict__
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

using std::max;
using std::min;

struct emu_dim3 {
    unsigned x = 0, y = 0, z = 0;
};
inline thread_local emu_dim3 threadIdx, blockIdx;

struct alignas(16) float4 {
    float x, y, z, w;
};
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
inline float __expf(float x) { return std::exp(x); }
inline float __int_as_float(int i) {
    float f;
    std::memcpy(&f, &i, 4);
    return f;
}
inline void __trap() { std::abort(); }
inline float atomicAdd(float *p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }

// The running block: its barrier, one barrier per warp, the warps' exchange tables, dynamic shared memory.
struct EmuBlock {
    explicit EmuBlock(int threads, size_t smem)
        : block(threads), warps((threads + 31) / 32), table((threads + 31) / 32), dynamic(smem + 16) {
        for (auto &w : warps) w = std::make_unique<std::barrier<>>(32);
    }
    std::barrier<> block;
    std::vector<std::unique_ptr<std::barrier<>>> warps;
    std::vector<std::array<std::array<uint64_t, 12>, 32>> table;  // [warp][lane][word]
    std::vector<unsigned char> dynamic;
};
inline EmuBlock *emu_block = nullptr;

inline void __syncthreads() { emu_block->block.arrive_and_wait(); }
inline int emu_lane() { return threadIdx.x & 31; }
inline int emu_warp() { return threadIdx.x >> 5; }
inline void emu_warp_sync() { emu_block->warps[emu_warp()]->arrive_and_wait(); }
// Publish `count` words of this lane, wait for the warp, run `read` on the warp's table, wait again.
template <typename F>
inline void emu_exchange(const uint64_t *words, int count, F read) {
    auto &mine = emu_block->table[emu_warp()][emu_lane()];
    for (int i = 0; i < count; ++i) mine[i] = words[i];
    emu_warp_sync();
    read(emu_block->table[emu_warp()]);
    emu_warp_sync();
}

template <typename V>
inline V __shfl_xor_sync(unsigned, V x, int lane_mask) {
    uint64_t word = 0;
    std::memcpy(&word, &x, sizeof(V));
    V out;
    emu_exchange(&word, 1, [&](auto &table) { std::memcpy(&out, &table[emu_lane() ^ lane_mask][0], sizeof(V)); });
    return out;
}

// ---- mma_ops.cuh, on the host
#define GLASSGRAD_ATTENTION_MMA_OPS_CUH
#define FLASH_DYNAMIC_SMEM(name) unsigned char *name = emu_block->dynamic.data()

inline float emu_element(uint16_t bits, __half) { return __half2float(__half{bits}); }
inline float emu_element(uint16_t bits, __nv_bfloat16) { return __bfloat162float(__nv_bfloat16{bits}); }
inline uint16_t emu_half_of(uint32_t word, int which) { return static_cast<uint16_t>(which ? word >> 16 : word); }

template <typename T>
inline void emu_mma(float (&c)[4], const unsigned int (&a)[4], unsigned int b0, unsigned int b1) {
    const uint64_t words[6] = {a[0], a[1], a[2], a[3], b0, b1};
    float A[16][16], B[16][8];
    emu_exchange(words, 6, [&](auto &table) {
        for (int lane = 0; lane < 32; ++lane) {
            const int g = lane >> 2, t = lane & 3;
            for (int e = 0; e < 2; ++e) {
                A[g][2 * t + e] = emu_element(emu_half_of(table[lane][0], e), T());
                A[g + 8][2 * t + e] = emu_element(emu_half_of(table[lane][1], e), T());
                A[g][2 * t + 8 + e] = emu_element(emu_half_of(table[lane][2], e), T());
                A[g + 8][2 * t + 8 + e] = emu_element(emu_half_of(table[lane][3], e), T());
                B[2 * t + e][g] = emu_element(emu_half_of(table[lane][4], e), T());
                B[2 * t + 8 + e][g] = emu_element(emu_half_of(table[lane][5], e), T());
            }
        }
    });
    const int g = emu_lane() >> 2, t = emu_lane() & 3;
    for (int e = 0; e < 4; ++e) {
        const int row = g + 8 * (e >> 1), col = 2 * t + (e & 1);
        float sum = 0.f;
        for (int k = 0; k < 16; ++k) sum += A[row][k] * B[k][col];
        c[e] += sum;
    }
}
inline void mma16816(float (&c)[4], const unsigned int (&a)[4], unsigned int b0, unsigned int b1, __half) {
    emu_mma<__half>(c, a, b0, b1);
}
inline void mma16816(float (&c)[4], const unsigned int (&a)[4], unsigned int b0, unsigned int b1, __nv_bfloat16) {
    emu_mma<__nv_bfloat16>(c, a, b0, b1);
}

template <bool TRANS>
inline void emu_ldmatrix(unsigned int (&r)[4], const void *p) {
    const uint64_t word = reinterpret_cast<uint64_t>(p);
    const int lane = emu_lane(), g = lane >> 2, t = lane & 3;
    emu_exchange(&word, 1, [&](auto &table) {
        for (int m = 0; m < 4; ++m) {
            auto row = [&](int i) { return reinterpret_cast<const uint16_t *>(table[8 * m + i][0]); };
            const uint16_t lo = TRANS ? row(2 * t)[g] : row(g)[2 * t];
            const uint16_t hi = TRANS ? row(2 * t + 1)[g] : row(g)[2 * t + 1];
            r[m] = static_cast<unsigned int>(lo) | (static_cast<unsigned int>(hi) << 16);
        }
    });
}
inline void ldmatrix_x4(unsigned int (&r)[4], const void *p) { emu_ldmatrix<false>(r, p); }
inline void ldmatrix_x4_trans(unsigned int (&r)[4], const void *p) { emu_ldmatrix<true>(r, p); }
inline void cp_async16(void *smem, const void *gmem, bool valid) {
    if (valid) std::memcpy(smem, gmem, 16);
    else std::memset(smem, 0, 16);
}
inline void cp_async_commit() {}
inline void cp_async_wait_one() {}
inline void cp_async_wait_all() {}
inline unsigned int dynamic_smem_bytes() { return static_cast<unsigned int>(emu_block->dynamic.size() - 16); }

// Run `body` (a call of the kernel) for every block of `grid`, `threads` threads each.
template <typename Body>
inline void emu_launch(emu_dim3 grid, int threads, size_t smem, Body body) {
    for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
            for (unsigned x = 0; x < grid.x; ++x) {
                EmuBlock block(threads, smem);
                emu_block = &block;
                std::vector<std::thread> pool;
                for (int t = 0; t < threads; ++t)
                    pool.emplace_back([&, t] {
                        threadIdx = {static_cast<unsigned>(t), 0, 0};
                        blockIdx = {x, y, z};
                        body();
                    });
                for (auto &th : pool) th.join();
                emu_block = nullptr;
            }
}
