// After Dr. Memory's tests/cs2bug.cpp (test_leaks, test_exception; DynamoRIO/drmemory): blocks
// kept only through interior pointers that C++ makes: the element pointer of new[] of a class
// with a destructor (8 bytes in), the second base of a class with two (16 bytes in); a
// std::string kept by a global; one made from a stack string and then dropped (definitely
// lost); an exception thrown and caught. Written for gpa; no upstream code.
#include <cstdio>
#include <exception>
#include <string>

struct HasDtr {
    HasDtr() { x = new int[7]; } // line 11
    ~HasDtr() { delete[] x; }
    int *x;
    int y;
    char z;
};

struct ParA {
    virtual ~ParA() {}
    virtual const char *val() const { return a; }
    const char *a = "parA";
};
struct ParB {
    virtual ~ParB() {}
    virtual const char *val() const { return b; }
    const char *b = "parB";
};
struct Child : ParA, ParB {
    const char *val() const override { return ab; }
    const char *ab = "child";
};

static std::string *str;
static HasDtr *array;
static ParB *multi;
static std::string *outer;
static std::string *longer;

static void __attribute__((noinline)) make() {
    str = new std::string("leak");                               // line 40: 32, reachable
    longer = new std::string("a string too long to be kept inline"); // line 41: 32 + 36
    array = new HasDtr[4]; // line 42: 72 via its 8-byte count (newarray), 4 x 28 under it
    array[0].y = 0;
    multi = new Child; // line 44: 40, kept through its ParB part at +16 (multipleinheritance)
    std::printf("val: %s\n", multi->val());
    std::string onstack = "leakme";
    outer = new std::string(onstack); // line 47: 32, definitely lost
    outer = nullptr;
}

static void __attribute__((noinline)) scrub() {
    volatile char buf[4096];
    for (int i = 0; i < 4096; i++)
        buf[i] = 0;
}

int main() {
    make();
    try {
        throw std::exception();
    } catch (std::exception &) {
        std::printf("caught\n");
    }
    scrub();
    std::printf("bye\n");
    return 0;
}
