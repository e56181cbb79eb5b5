// After Dr. Memory's tests/operators.cpp (DynamoRIO/drmemory): placement new and new[] into
// calloc and malloc blocks freed with free, new (std::nothrow) of a huge size returning null,
// and new[] of a huge count throwing std::bad_alloc that the program catches. Written for gpa;
// no upstream code.
#include <cstdio>
#include <cstdlib>
#include <new>

struct HasDtr {
    HasDtr() { x = new int[7]; }
    ~HasDtr() { delete[] x; }
    int *x;
    int y;
    char z;
};

int main() {
    void *p = calloc(1, sizeof(HasDtr));
    HasDtr *placed = new (p) HasDtr;
    placed->y = 4;
    std::printf("placement: %d\n", ((HasDtr *)p)->y);
    placed->~HasDtr();
    free(p);
    p = malloc(sizeof(HasDtr) * 2);
    placed = new (p) HasDtr[2];
    placed[0].~HasDtr();
    placed[1].~HasDtr();
    free(p);
    volatile size_t huge = (size_t)1 << 62;
    char *q = new (std::nothrow) char[huge];
    std::printf("nothrow new[]: %s\n", q ? "block" : "null");
    try {
        volatile size_t count = 0x7ffffffffffff;
        HasDtr *lots = new HasDtr[count];
        lots[0].y = 4;
        std::printf("huge new[] returned\n");
    } catch (std::bad_alloc &) {
        std::printf("caught bad_alloc\n");
    }
    std::printf("all done\n");
    return 0;
}
