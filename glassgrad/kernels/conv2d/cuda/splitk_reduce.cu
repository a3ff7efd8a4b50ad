// The FP32 reduction of a split-K weight gradient: dW[i] = Σ_{s < splits} partial[s·count + i].
// The implicit-GEMM wgrad kernels write one fp32 slab of partial sums per split of the N·P·Q
// reduction; one thread per weight element sums its column of slabs in order (deterministic).
extern "C" __global__ void conv2d_splitk_reduce(const float *__restrict__ partial, float *__restrict__ out,
                                                int count, int splits) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    float sum = 0.f;
    for (int s = 0; s < splits; ++s) sum += partial[(long long)s * count + i];
    out[i] = sum;
}
