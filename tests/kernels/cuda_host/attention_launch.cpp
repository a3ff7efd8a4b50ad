// A shared library that launches the attention kernels on the CPU (attention_emulation.h) from the very
// argument lists cuda_flash.py hands CuPy, so tests check the launchers and the kernels together.
//
//     int emu_launch_kernel(name, gx, gy, gz, threads, smem, args, sizes, n)
//
// runs the kernel instance `name` (a name expression cuda_flash asks NVRTC for) over the grid, with
// args[i] pointing at argument i (n of them, sizes[i] bytes each: a pointer for an array, the scalar's own
// bytes otherwise), as cudaLaunchKernel reads them. It returns 0, or -1 for an unknown name, -2 for the
// wrong number of arguments, 100 + i when argument i does not have the size of the kernel's parameter i.
// The instances come from INSTANCES_FILE, which the test writes from cuda_flash.instances():
//     X(flash_simt_forward<64,32,32>) X(...) ...
#include "attention_emulation.h"

#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include "flash_mma.cu"
#include "flash_simt.cu"

namespace {

struct Launcher {
    std::vector<size_t> sizes;
    std::function<void(void **)> call;
};

template <typename... P, size_t... I>
void call_with(void (*kernel)(P...), void **args, std::index_sequence<I...>) {
    kernel(*static_cast<std::remove_cv_t<P> *>(args[I])...);
}

template <typename... P>
Launcher launcher(void (*kernel)(P...)) {
    return {{sizeof(P)...}, [kernel](void **args) { call_with(kernel, args, std::index_sequence_for<P...>{}); }};
}

struct Entry {
    const char *name;
    Launcher launch;
};

#define X(...) {#__VA_ARGS__, launcher(&__VA_ARGS__)},
const std::vector<Entry> &table() {
    static const std::vector<Entry> entries = {
#include INSTANCES_FILE
    };
    return entries;
}
#undef X

// `#__VA_ARGS__` spells the instance as written in INSTANCES_FILE; compare without spaces.
std::string squeezed(const char *s) {
    std::string out;
    for (; *s; ++s)
        if (*s != ' ') out += *s;
    return out;
}

}  // namespace

extern "C" int emu_launch_kernel(const char *name, unsigned gx, unsigned gy, unsigned gz, int threads, size_t smem,
                                 void **args, const size_t *sizes, int n) {
    const std::string wanted = squeezed(name);
    for (const auto &entry : table()) {
        if (squeezed(entry.name) != wanted) continue;
        if ((size_t)n != entry.launch.sizes.size()) return -2;
        for (int i = 0; i < n; ++i)
            if (sizes[i] != entry.launch.sizes[i]) return 100 + i;
        emu_launch({gx, gy, gz}, threads, smem, [&] { entry.launch.call(args); });
        return 0;
    }
    return -1;
}
