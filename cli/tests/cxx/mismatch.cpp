// Three mismatched frees (Valgrind: "Mismatched free() / delete / delete []" each).
#include <cstdio>
#include <cstdlib>

__attribute__((noinline)) int *make_malloc() { return (int *)std::malloc(32); }
__attribute__((noinline)) long *make_array() { return new long[16]; }
__attribute__((noinline)) double *make_scalar() { return new double; }

int main() {
    int *p = make_malloc();
    long *q = make_array();
    double *d = make_scalar();
    std::printf("%p %p %p\n", (void *)p, (void *)q, (void *)d);
    delete[] p;
    delete q;
    std::free(d);
    std::puts("done");
    return 0;
}
