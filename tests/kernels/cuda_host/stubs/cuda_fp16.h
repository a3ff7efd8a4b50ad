// Host stand-in for <cuda_fp16.h> (tests/kernels/cuda_host): __half as IEEE binary16 through _Float16.
#pragma once
#include <cstdint>
#include <cstring>

struct __half {
    uint16_t bits;
};
struct __half2 {
    __half x, y;
};
inline __half __float2half_rn(float f) {
    _Float16 h = static_cast<_Float16>(f);
    __half r;
    std::memcpy(&r.bits, &h, 2);
    return r;
}
inline float __half2float(__half h) {
    _Float16 f;
    std::memcpy(&f, &h.bits, 2);
    return static_cast<float>(f);
}
inline __half2 __floats2half2_rn(float lo, float hi) { return {__float2half_rn(lo), __float2half_rn(hi)}; }
