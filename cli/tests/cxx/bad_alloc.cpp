// Under a memory limit: `new` calls the new handler (which frees a reserve once), then throws
// std::bad_alloc, which the program catches; nothrow `new` returns null.
#include <cstdio>
#include <cstdlib>
#include <new>

static char *reserve;
static int handler_calls;

static void release_reserve() {
    handler_calls++;
    if (reserve == nullptr) {
        std::set_new_handler(nullptr);
        return;
    }
    delete[] reserve;
    reserve = nullptr;
}

int main() {
    reserve = new char[6 << 20];
    std::set_new_handler(release_reserve);
    char *after_handler = new char[6 << 20]; // over the limit until the handler frees the reserve
    std::printf("handler %d, got %d\n", handler_calls, after_handler != nullptr);
    try {
        char *too_big = new char[64 << 20];
        std::printf("not thrown %p\n", (void *)too_big);
    } catch (const std::bad_alloc &) {
        std::puts("caught bad_alloc");
    }
    char *null = new (std::nothrow) char[64 << 20];
    std::printf("nothrow %s\n", null == nullptr ? "null" : "block");
    try {
        void *aligned = ::operator new(64 << 20, std::align_val_t(64));
        std::printf("not thrown %p\n", aligned);
    } catch (const std::bad_alloc &) {
        std::puts("caught aligned bad_alloc");
    }
    delete[] after_handler;
    std::puts("done");
    return 0;
}
