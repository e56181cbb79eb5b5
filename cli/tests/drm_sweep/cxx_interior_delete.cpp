// After Dr. Memory's tests/cs2bug.cpp (test_mismatch_dtr; DynamoRIO/drmemory): an array of a
// class with a destructor carries a count before its first element, so `delete` or `free` of
// the array's pointer frees an address 8 bytes inside the block (glibc aborts: "free():
// invalid pointer"). Written for gpa; no upstream code.
#include <cstdio>
#include <cstdlib>

struct HasDtor {
    int y = 0;
    ~HasDtor() { y = -1; }
};

int main(int argc, char **) {
    HasDtor *x = new HasDtor[7]; // line 14: 36 bytes (8 + 7 * 4)
    if (argc > 1)
        free(x); // line 16: free 8 bytes into the block
    else
        delete x; // line 18: delete 8 bytes into the block
    std::printf("bye\n");
    return 0;
}
