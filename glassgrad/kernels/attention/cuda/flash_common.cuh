// What both FlashAttention kernels (flash_simt.cu, flash_mma.cu) share: the argument lists, how a score
// is masked, and the dropout decision.
//
// Operands are (B, H, L, D) views read through element strides (batch, head, row); the last dim is
// contiguous. Query head h reads key/value head h / (Hq / Hkv) (grouped-query attention; Hkv = Hq is
// plain attention). The score of query i and key j in head (b, h) is
//
//     S_ij = scale · q_i · k_j + M[b, h, i, j]          M: the mask, read through strides (0 = broadcast)
//     S_ij = −∞ where causal and j > i (top-left aligned), and for a bool mask entry that is false
//
// mask_kind: 0 none, 1 float32 additive, 2 bool (1 byte, true = attend), 3 float16 additive,
// 4 bfloat16 additive (the launcher passes these numbers; MASK_* below names them).
// Dropout (drop_threshold > 0): weight (i, j) of flattened head n = b·Hq + h is kept when
// dropout_word(seed, offset, n, i, j) ≥ drop_threshold and then scaled by keep_scale = 1 / (1 − p).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "dropout_mask.cuh"

#define NEG_INF (-__int_as_float(0x7f800000))  // -inf without <cmath> (NVRTC has no libc headers)

enum MaskKind { MASK_NONE = 0, MASK_F32 = 1, MASK_BOOL = 2, MASK_F16 = 3, MASK_BF16 = 4 };

// (B, H, L, D) strides of q, k, v (and dO in the backward), in elements.
#define FLASH_SHAPE_ARGS                                                                                      \
    int B, int Hq, int Hkv, int Lq, int Lk, int d, int dv, long long q_sb, long long q_sh, long long q_sr,  \
        long long k_sb, long long k_sh, long long k_sr, long long v_sb, long long v_sh, long long v_sr
#define FLASH_OPTION_ARGS                                                                                  \
    float scale, int causal, const void *__restrict__ mask, int mask_kind, long long m_sb, long long m_sh, \
        long long m_sq, long long m_sk, unsigned int drop_threshold, float keep_scale,                     \
        unsigned long long seed, unsigned int offset

// The mask's value M[b, h, i, j] at element offset `at` (−∞ for a false bool).
__device__ __forceinline__ float mask_at(const void *__restrict__ mask, int kind, long long at) {
    switch (kind) {
        case MASK_F32: return static_cast<const float *>(mask)[at];
        case MASK_BOOL: return static_cast<const unsigned char *>(mask)[at] ? 0.f : NEG_INF;
        case MASK_F16: return __half2float(static_cast<const __half *>(mask)[at]);
        case MASK_BF16: return __bfloat162float(static_cast<const __nv_bfloat16 *>(mask)[at]);
        default: return 0.f;
    }
}

// The multiplier dropout applies to weight (n, i, j): keep_scale if kept, 0 if dropped (1 without dropout).
// Loops over many scores take dropout_keep4's bits instead (one Philox call per four keys).
__device__ __forceinline__ float dropout_factor(unsigned int drop_threshold, float keep_scale,
                                                unsigned long long seed, unsigned int offset, int n, int i, int j) {
    if (drop_threshold == 0u) return 1.f;
    return dropout_word(seed, offset, (unsigned)n, (unsigned)i, (unsigned)j) >= drop_threshold ? keep_scale : 0.f;
}

// Sum of x over the four threads of a quad (lanes 4r .. 4r+3).
__device__ __forceinline__ float quad_sum(float x) {
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

// The row state of an online softmax after its scores are all seen: O = acc / l and lse = m + log l,
// with O = 0 and lse = 0 for a row whose every key is hidden (m = −∞, l = 0), as PyTorch returns.
__device__ __forceinline__ float inverse_sum(float l) { return l > 0.f ? 1.f / l : 0.f; }
__device__ __forceinline__ float final_lse(float m, float l) { return l > 0.f ? m + logf(l) : 0.f; }
// The shift subtracted before exponentiating: the running max, or 0 while it is still −∞ (e^{−∞} = 0).
__device__ __forceinline__ float finite_shift(float m) { return m == NEG_INF ? 0.f : m; }
