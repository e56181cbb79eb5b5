// glibc's other names for `malloc` and `free` mixed with `new` and `delete` (Valgrind:
// "Mismatched free() / delete / delete []" each, as for `malloc` and `free` themselves).
#include <cstdio>
#include <cstdlib>

extern "C" void *__libc_malloc(size_t);
extern "C" void __libc_free(void *);
__asm__(".symver old_cfree, cfree@GLIBC_2.2.5");
extern "C" void old_cfree(void *);

__attribute__((noinline)) int *make_array() { return new int[4]; }
__attribute__((noinline)) int *make_libc() { return (int *)__libc_malloc(16); }
__attribute__((noinline)) double *make_scalar() { return new double; }

int main() {
    int *a = make_array();
    int *m = make_libc();
    double *d = make_scalar();
    std::printf("%p %p %p\n", (void *)a, (void *)m, (void *)d);
    __libc_free(a);
    delete m;
    old_cfree(d);
    std::puts("done");
    return 0;
}
