// Four mismatched frees (Valgrind: "Mismatched free() / delete / delete []" each).
#include <cstdio>
#include <cstdlib>

__attribute__((noinline)) int *make_malloc() { return (int *)std::malloc(32); }
__attribute__((noinline)) long *make_array() { return new long[16]; }
__attribute__((noinline)) double *make_scalar() { return new double; }
__attribute__((noinline)) char *make_chars() { return new char[10]; }

int main() {
    int *p = make_malloc();
    long *q = make_array();
    double *d = make_scalar();
    char *c = make_chars();
    std::printf("%p %p %p %p\n", (void *)p, (void *)q, (void *)d, (void *)c);
    delete[] p;
    delete q;
    std::free(d);
    c = (char *)std::realloc(c, 100);
    std::free(c); // realloc made it a malloc block: no mismatch
    std::puts("done");
    return 0;
}
