// The arguments of one emulated launch, as the tests write them (test_mma_sync_emulated.py): a file of
// the kernel's parameters in order, a pointer as 'p' <int64 bytes> <raw bytes> (0 bytes: null), an int
// as 'i' <int32>, a long long as 'l' <int64>. After the launch every pointer's buffer is written back,
// in order, to the file's name + ".out".
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

struct Arg {
    char kind;
    std::vector<unsigned char> bytes;
    long long value;
};

inline std::vector<Arg> read_args(const char *path) {
    FILE *f = std::fopen(path, "rb");
    if (!f) std::abort();
    std::vector<Arg> args;
    char kind;
    while (std::fread(&kind, 1, 1, f) == 1) {
        Arg a{kind, {}, 0};
        if (kind == 'p') {
            long long n;
            if (std::fread(&n, 8, 1, f) != 1) std::abort();
            a.bytes.resize(n);
            if (n && std::fread(a.bytes.data(), 1, n, f) != (size_t)n) std::abort();
        } else if (kind == 'i') {
            int v;
            if (std::fread(&v, 4, 1, f) != 1) std::abort();
            a.value = v;
        } else {
            if (std::fread(&a.value, 8, 1, f) != 1) std::abort();
        }
        args.push_back(std::move(a));
    }
    std::fclose(f);
    return args;
}

template <typename P> inline P ptr(Arg &a) { return a.bytes.empty() ? nullptr : reinterpret_cast<P>(a.bytes.data()); }


inline void write_pointers(std::vector<Arg> &args, const char *path) {
    FILE *out = std::fopen((std::string(path) + ".out").c_str(), "wb");
    for (Arg &x : args)
        if (x.kind == 'p' && !x.bytes.empty()) std::fwrite(x.bytes.data(), 1, x.bytes.size(), out);
    std::fclose(out);
}
