// Arrays of no elements: `new char[0]` is a block of no bytes. Argument "read": reads its
// first byte (which it does not have) before `delete[]`; "mismatch": releases it with scalar
// `delete`; otherwise every form of `new` of no bytes is used and released correctly.
#include <cstdio>
#include <cstring>
#include <new>

__attribute__((noinline)) char *make_empty() { return new char[0]; }
__attribute__((noinline)) int load(const char *at) { return *(volatile const char *)at; }

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    char *empty = make_empty();
    if (std::strcmp(mode, "read") == 0)
        std::printf("%d\n", load(empty));
    if (std::strcmp(mode, "mismatch") == 0) {
        delete empty;
        return 0;
    }
    delete[] empty;
    void *raw = ::operator new(0);
    ::operator delete(raw);
    void *aligned = ::operator new[](0, std::align_val_t(64));
    ::operator delete[](aligned, std::align_val_t(64));
    char *nothrow = new (std::nothrow) char[0];
    delete[] nothrow;
    std::puts("done");
    return 0;
}
