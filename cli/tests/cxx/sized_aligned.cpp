// A sized delete with the wrong size and an aligned new released by the unaligned delete
// (Valgrind 3.19 says nothing about either), then the same blocks' correct counterparts.
#include <cstdio>
#include <new>

struct alignas(64) Line {
    char bytes[64];
};

__attribute__((noinline)) long *make_long() { return new long; }
__attribute__((noinline)) Line *make_line() { return new Line; }

int main() {
    long *number = make_long();
    Line *line = make_line();
    std::printf("%p %p\n", (void *)number, (void *)line);
    ::operator delete(number, 12);
    ::operator delete(line);
    long *right = make_long();
    delete right;
    Line *aligned = make_line();
    delete aligned;
    Line *lines = new Line[3];
    delete[] lines;
    void *raw = ::operator new(100, std::align_val_t(256));
    ::operator delete(raw, 100, std::align_val_t(256));
    std::puts("done");
    return 0;
}
