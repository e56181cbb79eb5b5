// Matched new/delete pairs in a loop (check mode's entries), one mismatched delete among them,
// then a second delete of a scalar block. Valgrind: "Mismatched free() / delete / delete []"
// at line 18 (a block of size 64 from line 8), "Invalid free() / delete / delete[] /
// realloc()" at line 26 (a block of size 8 freed at line 25).
#include <cstdio>
#include <new>

__attribute__((noinline)) long *make(int i) { return new long[4 + i % 8]; }
__attribute__((noinline)) void *make_aligned(int i) { return ::operator new(24 + i % 40, std::align_val_t(64)); }

int main() {
    for (int i = 0; i < 1000; i++) {
        long *a = make(i);
        a[0] = i;
        void *b = make_aligned(i);
        if (i == 500) {
            std::printf("%p\n", (void *)a);
            delete a;
        } else {
            delete[] a;
        }
        ::operator delete(b, std::align_val_t(64));
    }
    double *d = new double;
    delete d;
    delete d;
    std::puts("done");
    return 0;
}
