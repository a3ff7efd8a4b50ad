// Matmul ladder steps 6 and 7 (vectorized.cu, warptile.cu: plain CUDA C, float4 and shared memory, no
// PTX) run on the CPU by attention_emulation.h's block machinery, for tests/kernels/test_mma_sync_emulated.py.
// The instance comes as -DLADDER_KERNEL='matmul_warptile<...>' (one build per instance). One call:
//
//     ladder_driver GX GY GZ THREADS ARGS
//
// ARGS holds (A, B, C, M, N, K, sAb, sAm, sAk, sBb, sBk, sBn, vec_a, vec_b) in launch_args.h's format.
#include "attention_emulation.h"
#include "launch_args.h"

#include "vectorized.cu"
#include "warptile.cu"

int main(int argc, char **argv) {
    if (argc != 6) return 2;
    const emu_dim3 grid{(unsigned)std::atoi(argv[1]), (unsigned)std::atoi(argv[2]), (unsigned)std::atoi(argv[3])};
    const int threads = std::atoi(argv[4]);
    std::vector<Arg> a = read_args(argv[5]);
    auto body = [&] {
        LADDER_KERNEL(ptr<const float *>(a[0]), ptr<const float *>(a[1]), ptr<float *>(a[2]), (int)a[3].value,
                      (int)a[4].value, (int)a[5].value, a[6].value, a[7].value, a[8].value, a[9].value, a[10].value,
                      a[11].value, (int)a[12].value, (int)a[13].value);
    };
    emu_launch(grid, threads, 0, body);
    write_pointers(a, argv[5]);
    return 0;
}
