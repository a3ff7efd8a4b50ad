// The optimizer step over ALL parameters in one launch (multi-tensor apply, as PyTorch's foreach/fused
// optimizers do): the parameters are cut into chunks of `chunk` elements, and block b updates chunk b.
//
// The launcher (cuda_multi_tensor.py) packs one device buffer of 64-bit words per launch:
//
//     [0, SCALARS)                       the step's scalars as doubles (η, β, the bias corrections, ...)
//     [SCALARS, + lists·tensors)         pointers, list-major: list l, tensor i at SCALARS + l·tensors + i
//     [.., + tensors)                    each tensor's number of elements
//     [.., + 2·chunks)                   per block: (tensor index, index of its chunk in that tensor)
//
// so a launch costs no more kernel arguments for a thousand tensors than for one, and a captured CUDA
// graph reads the scalars from memory: the host rewrites them before each replay (the step t of Adam's
// bias correction, a scheduled η) without capturing again.
//
// The math is reference.py's, per element and in its order of operations (d = ±g):
//   sgd    d ← d + λp;  b ← d (first step) or μb + (1 − τ)d;  d ← d + μb (nesterov) or b;  p ← p − ηd
//   adam   d ← d + λp  (decoupled: p ← p·(1 − ηλ));  m ← lerp(m, d, 1 − β₁);  v ← β₂v + (1 − β₂)d²;
//          v̂ ← max(v̂, v) (amsgrad);  p ← p − step_size·m / (√v̂ / √(1 − β₂ᵗ) + ε)
// The scalars are read as doubles and cast to T once, as the numba kernels cast theirs to the
// parameter's dtype, so float32 parameters are updated in float32 arithmetic.
//
// Each thread owns ILP elements of its block's chunk per pass, blockDim.x apart (coalesced across the
// warp), and issues all their loads before the math, so several loads per thread are in flight.
//
// SCALARS reaches this file as a -D define from the launcher (cuda_multi_tensor.py DEFINES).

#ifndef SCALARS
#error "SCALARS must be defined by the launcher (cuda_multi_tensor.py DEFINES)"
#endif

constexpr int ILP = 4;  // elements per thread per pass (the kernels' own; the launcher needs only blocks)

// Scalar slots, in the order the launcher writes them (cuda_multi_tensor.py SGD_SCALARS, ADAM_SCALARS).
enum SgdSlot { SGD_LR, SGD_MOMENTUM, SGD_UNDAMPED, SGD_WEIGHT_DECAY };
enum AdamSlot {
    ADAM_WEIGHT1,
    ADAM_COMPLEMENT1,
    ADAM_BETA2,
    ADAM_WEIGHT2,
    ADAM_EPS,
    ADAM_WEIGHT_DECAY,
    ADAM_DECAY,
    ADAM_STEP_SIZE,
    ADAM_BIAS2_SQRT
};

// Block b's slice of the buffer: its tensor's pointer in list `list`, and the range [begin, end) of its chunk.
struct Chunk {
    const long long* table;
    int tensors;
    long long tensor, begin, end;

    __device__ Chunk(const long long* table_, int tensors_, int lists, long long chunk) : table(table_), tensors(tensors_) {
        const long long* sizes = table + SCALARS + (long long)lists * tensors;
        const long long* pairs = sizes + tensors + 2LL * blockIdx.x;
        tensor = pairs[0];
        begin = pairs[1] * chunk;
        const long long size = sizes[tensor];
        end = begin + chunk < size ? begin + chunk : size;
    }

    template <typename T>
    __device__ T* array(int list) const {
        return reinterpret_cast<T*>(table[SCALARS + (long long)list * tensors + tensor]);
    }

    template <typename T>
    __device__ T scalar(int slot) const {
        return (T)reinterpret_cast<const double*>(table)[slot];
    }
};

// PyTorch's lerp(a, b, w): a + w(b − a) for w < ½, else b − (b − a)(1 − w); complement = 1 − w.
template <typename T>
__device__ __forceinline__ T lerp(T a, T b, T weight, T complement) {
    return weight < (T)0.5 ? a + weight * (b - a) : b - (b - a) * complement;
}

// Lists: 0 params, 1 grads, 2 momentum buffers (when momentum != 0).
template <typename T>
__global__ void multi_tensor_sgd(const long long* __restrict__ table, int lists, int tensors, long long chunk,
                                 int nesterov, int maximize, int first_step) {
    const Chunk c(table, tensors, lists, chunk);
    T* __restrict__ p = c.array<T>(0);
    const T* __restrict__ g = c.array<T>(1);
    T* __restrict__ buf = lists > 2 ? c.array<T>(2) : nullptr;
    const T lr = c.scalar<T>(SGD_LR), momentum = c.scalar<T>(SGD_MOMENTUM);
    const T undamped = c.scalar<T>(SGD_UNDAMPED), weight_decay = c.scalar<T>(SGD_WEIGHT_DECAY);
    for (long long base = c.begin + threadIdx.x; base < c.end; base += (long long)blockDim.x * ILP) {
        T x[ILP], d[ILP], b[ILP];
#pragma unroll
        for (int k = 0; k < ILP; ++k) {  // every load of the ILP elements first: several in flight
            const long long i = base + (long long)k * blockDim.x;
            if (i < c.end) {
                x[k] = p[i];
                d[k] = g[i];
                if (buf != nullptr && !first_step) b[k] = buf[i];
            }
        }
#pragma unroll
        for (int k = 0; k < ILP; ++k) {
            const long long i = base + (long long)k * blockDim.x;
            if (i >= c.end) continue;
            T dk = maximize ? -d[k] : d[k];
            if (weight_decay != (T)0) dk = dk + weight_decay * x[k];
            if (buf != nullptr) {
                const T bk = first_step ? dk : b[k] * momentum + undamped * dk;
                buf[i] = bk;
                dk = nesterov ? dk + momentum * bk : bk;
            }
            p[i] = x[k] - lr * dk;
        }
    }
}

// Lists: 0 params, 1 grads, 2 exp_avg, 3 exp_avg_sq, 4 max_exp_avg_sq (amsgrad only).
template <typename T>
__global__ void multi_tensor_adam(const long long* __restrict__ table, int lists, int tensors, long long chunk,
                                  int decoupled, int maximize) {
    const Chunk c(table, tensors, lists, chunk);
    T* __restrict__ p = c.array<T>(0);
    const T* __restrict__ g = c.array<T>(1);
    T* __restrict__ m = c.array<T>(2);
    T* __restrict__ v = c.array<T>(3);
    T* __restrict__ vmax = lists > 4 ? c.array<T>(4) : nullptr;
    const T weight1 = c.scalar<T>(ADAM_WEIGHT1), complement1 = c.scalar<T>(ADAM_COMPLEMENT1);
    const T beta2 = c.scalar<T>(ADAM_BETA2), weight2 = c.scalar<T>(ADAM_WEIGHT2), eps = c.scalar<T>(ADAM_EPS);
    const T weight_decay = c.scalar<T>(ADAM_WEIGHT_DECAY), decay = c.scalar<T>(ADAM_DECAY);
    const T step_size = c.scalar<T>(ADAM_STEP_SIZE), bias2_sqrt = c.scalar<T>(ADAM_BIAS2_SQRT);
    for (long long base = c.begin + threadIdx.x; base < c.end; base += (long long)blockDim.x * ILP) {
        T x[ILP], d[ILP], mk[ILP], vk[ILP], hk[ILP];
#pragma unroll
        for (int k = 0; k < ILP; ++k) {  // every load of the ILP elements first: several in flight
            const long long i = base + (long long)k * blockDim.x;
            if (i < c.end) {
                x[k] = p[i];
                d[k] = g[i];
                mk[k] = m[i];
                vk[k] = v[i];
                if (vmax != nullptr) hk[k] = vmax[i];
            }
        }
#pragma unroll
        for (int k = 0; k < ILP; ++k) {
            const long long i = base + (long long)k * blockDim.x;
            if (i >= c.end) continue;
            T xk = x[k];
            T dk = maximize ? -d[k] : d[k];
            if (weight_decay != (T)0) {
                if (decoupled)
                    xk = xk * decay;
                else
                    dk = dk + weight_decay * xk;
            }
            const T mi = lerp(mk[k], dk, weight1, complement1);
            T vi = vk[k] * beta2 + weight2 * dk * dk;
            m[i] = mi;
            v[i] = vi;
            if (vmax != nullptr) {
                vi = hk[k] > vi ? hk[k] : vi;
                vmax[i] = vi;
            }
            p[i] = xk - step_size * mi / (sqrt(vi) / bias2_sqrt + eps);
        }
    }
}
