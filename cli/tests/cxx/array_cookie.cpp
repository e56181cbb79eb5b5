// `delete[]` of a scalar `new` object whose type has a destructor: the compiler reads an
// element count from the 8 bytes before the object and passes `operator delete[]` the address
// of that count. Valgrind: an invalid read there, then "Invalid free() / delete / delete[]",
// "8 bytes before a block of size 4"; the object itself is never freed (definitely lost).
#include <cstdio>

struct Counter {
    int value;
    ~Counter() { std::printf("destroyed %d\n", value); }
};

static Counter *counter;

__attribute__((noinline)) void make_counter() { counter = new Counter{7}; }

__attribute__((noinline)) void release_counter() {
    delete[] counter;
    counter = nullptr;
}

int main() {
    make_counter();
    std::printf("%p\n", (void *)counter);
    release_counter();
    std::puts("done");
    return 0;
}
