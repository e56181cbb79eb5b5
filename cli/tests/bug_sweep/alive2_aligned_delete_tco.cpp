// https://github.com/AliveToolkit/alive2/issues/318
// LLVM's deallocate_buffer(): ::operator delete(p, size, std::align_val_t) for a block from
// ::operator new(size, std::align_val_t). Correct code; Valgrind reported "Mismatched free()
// / delete / delete []" when the compiler turned the call into a tail jump (built -O2).
#include <cstdio>
#include <new>

__attribute__((noinline)) void *allocate_buffer(std::size_t size, std::size_t alignment) {
    return ::operator new(size, std::align_val_t(alignment));
}

__attribute__((noinline)) void deallocate_buffer(void *p, std::size_t size, std::size_t alignment) {
    ::operator delete(p, size, std::align_val_t(alignment));
}

int main() {
    void *p = allocate_buffer(100, 64);
    std::printf("%d\n", (int)((unsigned long)p % 64));
    deallocate_buffer(p, 100, 64);
}
