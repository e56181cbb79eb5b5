// After Dr. Memory's tests/cs2bug.cpp (test_basic, test_mismatch_int) and tests/multierror.cpp
// (DynamoRIO/drmemory): a read and a write 4 bytes past new int[3] and its delete (a mismatch),
// writes at 0 and 1 byte into new int[0], a write just past new int[8], the four mismatches
// of new[]/delete/free/malloc on int arrays, and a loop writing two elements past new int[28]
// and reading one. Each error stays inside glibc's chunk: the native run does not notice.
// Written for gpa; no upstream code.
#include <cstdio>
#include <cstdlib>

static volatile int sink;

static void __attribute__((noinline)) basic() {
    int *a = new int[3];
    a[4] = a[4]; // line 14: read and write of 4 bytes, 4 bytes past a 12-byte block
    delete a;    // line 15: new[] freed with delete
    a = new int[0];
    *((char *)a + 0) = 4; // line 17: write at the end of a 0-byte block
    delete[] a;
    a = new int[0];
    *((char *)a + 1) = 4; // line 20: write 1 byte past a 0-byte block
    delete[] a;
    a = new int[8];
    *((char *)a + 8 * sizeof(int)) = 4; // line 23: write just past a 32-byte block
    delete[] a;
}

static void __attribute__((noinline)) mismatches() {
    int *x = new int[7];
    delete x; // line 29: new[] / delete
    x = new int[7];
    free(x); // line 31: new[] / free
    x = (int *)malloc(7);
    delete x; // line 33: malloc / delete
    x = (int *)malloc(7);
    delete[] x; // line 35: malloc / delete[]
    x = new int[7];
    delete[] x; // matched
}

static void __attribute__((noinline)) fibonacci() {
    int count = 28;
    int *fib = new int[count];
    fib[0] = 0;
    fib[1] = 1;
    for (int i = 0; i < count; i++)
        fib[i + 2] = fib[i] + fib[i + 1]; // line 46: writes fib[28], fib[29]; reads fib[28]
    std::printf("half-way value: %d\n", fib[count / 2]);
    delete[] fib;
}

int main() {
    basic();
    mismatches();
    fibonacci();
    std::printf("bye\n");
    return 0;
}
