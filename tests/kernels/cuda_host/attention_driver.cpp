// The attention kernels' forward and backward on the CPU (attention_emulation.h), for
// tests/kernels/test_attention_cuda.py. Tile sizes come as -D defines from the test, which reads them
// from cuda_flash.py (SIMT_BQ, SIMT_BK, SIMT_BWD_BQ, SIMT_BWD_BK, MMA_BQ, MMA_BK, MMA_BM, MMA_BN, and the dynamic shared
// memory MMA_FWD_SMEM, MMA_BWD_SMEM, for head dims SIMT_DMAX and MMA_D).
//
//     attention_driver VARIANT B HQ HKV LQ LK D DV CAUSAL MASK_KIND MB MH MQ MK THRESHOLD KEEP_SCALE SEED
//                      BLHD SCALE IN OUT
//
// VARIANT: simt, bf16 or f16. IN holds float32 q (B, HQ, LQ, D), k (B, HKV, LK, D), v (B, HKV, LK, DV),
// dO (B, HQ, LQ, DV) — q, k, v stored (B, L, H, D) when BLHD is 1 and read through strides — then the
// mask (MB, MH, MQ, MK) as float32 (MASK_KIND 1) or bytes (2). OUT receives float32 O, lse, dQ, dK, dV.
#include "attention_emulation.h"

#include <cstdio>
#include <string>

#include "flash_mma.cu"
#include "flash_simt.cu"

static std::vector<float> read_floats(FILE *f, size_t n) {
    std::vector<float> v(n);
    if (n && std::fread(v.data(), 4, n, f) != n) std::abort();
    return v;
}

template <typename T>
static T narrow(float x);
template <>
__half narrow<__half>(float x) {
    return __float2half_rn(x);
}
template <>
__nv_bfloat16 narrow<__nv_bfloat16>(float x) {
    return __float2bfloat16_rn(x);
}
static float widen(__half x) { return __half2float(x); }
static float widen(__nv_bfloat16 x) { return __bfloat162float(x); }
static float widen(float x) { return x; }

struct Call {
    int B, Hq, Hkv, Lq, Lk, d, dv, causal, mask_kind, mb, mh, mq, mk, blhd;
    unsigned threshold;
    float keep_scale, scale;
    unsigned long long seed;
};

// Element strides (batch, head, row) of a (B, H, L, D) operand stored (B, H, L, D) or (B, L, H, D).
static std::array<long long, 3> strides(const Call &c, int h, int l, int width) {
    if (c.blhd) return {(long long)l * h * width, width, (long long)h * width};
    return {(long long)h * l * width, (long long)l * width, width};
}

template <typename T, typename Forward, typename Backward>
static void run(const Call &c, FILE *in, FILE *out, int fwd_rows, int fwd_threads, size_t fwd_smem, int bwd_keys,
                int bwd_threads, size_t bwd_smem, Forward forward, Backward backward) {
    const size_t nq = (size_t)c.B * c.Hq * c.Lq, nk = (size_t)c.B * c.Hkv * c.Lk;
    auto as_t = [](const std::vector<float> &x) {
        std::vector<T> y(x.size());
        for (size_t i = 0; i < x.size(); ++i) {
            if constexpr (std::is_same_v<T, float>) y[i] = x[i];
            else y[i] = narrow<T>(x[i]);
        }
        return y;
    };
    auto q = as_t(read_floats(in, nq * c.d)), k = as_t(read_floats(in, nk * c.d)), v = as_t(read_floats(in, nk * c.dv));
    auto grad = as_t(read_floats(in, nq * c.dv));
    const size_t mask_n = (size_t)c.mb * c.mh * c.mq * c.mk;
    std::vector<float> mask_f;
    std::vector<unsigned char> mask_b;
    const void *mask = nullptr;
    if (c.mask_kind == 1) mask_f = read_floats(in, mask_n), mask = mask_f.data();
    if (c.mask_kind == 2) {
        mask_b.resize(mask_n);
        if (std::fread(mask_b.data(), 1, mask_n, in) != mask_n) std::abort();
        mask = mask_b.data();
    }
    const long long m_sk = c.mk > 1 ? 1 : 0, m_sq = c.mq > 1 ? c.mk : 0, m_sh = c.mh > 1 ? (long long)c.mq * c.mk : 0;
    const long long m_sb = c.mb > 1 ? (long long)c.mh * c.mq * c.mk : 0;
    const auto qs = strides(c, c.Hq, c.Lq, c.d), ks = strides(c, c.Hkv, c.Lk, c.d), vs = strides(c, c.Hkv, c.Lk, c.dv);
    const std::array<long long, 3> gs = {(long long)c.Hq * c.Lq * c.dv, (long long)c.Lq * c.dv, c.dv};
    std::vector<T> o(nq * c.dv);
    std::vector<float> lse(nq), dq(nq * c.d, 0.f);
    std::vector<T> dk(nk * c.d), dv(nk * c.dv);
    const unsigned offset = 0;
#define SHAPE c.B, c.Hq, c.Hkv, c.Lq, c.Lk, c.d, c.dv, qs[0], qs[1], qs[2], ks[0], ks[1], ks[2], vs[0], vs[1], vs[2]
#define OPTIONS                                                                                                    \
    c.scale, c.causal, mask ? mask : (const void *)lse.data(), c.mask_kind, m_sb, m_sh, m_sq, m_sk, c.threshold, \
        c.keep_scale, c.seed, offset
    emu_launch({(unsigned)((c.Lq + fwd_rows - 1) / fwd_rows), (unsigned)c.Hq, (unsigned)c.B}, fwd_threads, fwd_smem,
               [&] { forward(q.data(), k.data(), v.data(), o.data(), lse.data(), SHAPE, OPTIONS); });
    std::vector<float> delta(nq, 0.f);
    for (size_t r = 0; r < nq; ++r)
        for (int e = 0; e < c.dv; ++e) delta[r] += widen(grad[r * c.dv + e]) * widen(o[r * c.dv + e]);
    emu_launch({(unsigned)((c.Lk + bwd_keys - 1) / bwd_keys), (unsigned)c.Hkv, (unsigned)c.B}, bwd_threads, bwd_smem, [&] {
        backward(q.data(), k.data(), v.data(), grad.data(), lse.data(), delta.data(), dq.data(), dk.data(), dv.data(),
                 gs[0], gs[1], gs[2], SHAPE, OPTIONS);
    });
    auto write = [&](const auto &x) {
        for (const auto &e : x) {
            const float f = widen(e);
            std::fwrite(&f, 4, 1, out);
        }
    };
    write(o), write(lse), write(dq), write(dk), write(dv);
}

int main(int argc, char **argv) {
    if (argc != 22) return 2;
    Call c{};
    int *ints[] = {&c.B, &c.Hq, &c.Hkv, &c.Lq, &c.Lk, &c.d, &c.dv, &c.causal, &c.mask_kind, &c.mb, &c.mh, &c.mq, &c.mk};
    for (int i = 0; i < 13; ++i) *ints[i] = std::atoi(argv[2 + i]);
    c.threshold = (unsigned)std::strtoul(argv[15], nullptr, 10);
    c.keep_scale = std::strtof(argv[16], nullptr);
    c.seed = std::strtoull(argv[17], nullptr, 10);
    c.blhd = std::atoi(argv[18]);
    c.scale = std::strtof(argv[19], nullptr);
    FILE *in = std::fopen(argv[20], "rb"), *out = std::fopen(argv[21], "wb");
    if (!in || !out) return 3;
    const std::string variant = argv[1];
    if (variant == "simt") {
        run<float>(c, in, out, SIMT_BQ, 4 * SIMT_BQ, 0, SIMT_BWD_BK, 4 * SIMT_BWD_BK, 0,
                   flash_simt_forward<SIMT_DMAX, SIMT_BQ, SIMT_BK>, flash_simt_backward<SIMT_DMAX, SIMT_BWD_BQ, SIMT_BWD_BK>);
    } else if (variant == "bf16" || variant == "f16") {
        const size_t fwd_smem = MMA_FWD_SMEM, bwd_smem = MMA_BWD_SMEM;
        if (variant == "bf16")
            run<__nv_bfloat16>(c, in, out, MMA_BQ, 2 * MMA_BQ, fwd_smem, MMA_BN, 2 * MMA_BN, bwd_smem,
                               flash_mma_forward<__nv_bfloat16, MMA_D, MMA_BQ, MMA_BK>,
                               flash_mma_backward<__nv_bfloat16, MMA_D, MMA_BM, MMA_BN>);
        else
            run<__half>(c, in, out, MMA_BQ, 2 * MMA_BQ, fwd_smem, MMA_BN, 2 * MMA_BN, bwd_smem,
                        flash_mma_forward<__half, MMA_D, MMA_BQ, MMA_BK>, flash_mma_backward<__half, MMA_D, MMA_BM, MMA_BN>);
    } else {
        return 4;
    }
    std::fclose(in);
    std::fclose(out);
    return 0;
}
