// An LD_PRELOAD shim for ruby under gpa (prog_sweep.rs): places each 32 KiB private
// anonymous mapping made without an address (Ruby 3.1 maps its 16 KiB object pages so, then
// trims them) at rising addresses from 0x300000000000, as Valgrind places every mapping,
// where the kernel hands out falling ones. Ruby unmaps the lower half of its pages by address
// at exit (prog_ruby_heap_pages.c): with this shim the same half as under Valgrind.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>

static uintptr_t next_page = 0x300000000000u;

void *mmap(void *address, size_t length, int protection, int flags, int fd, off_t offset) {
    static void *(*real)(void *, size_t, int, int, int, off_t);
    if (!real)
        real = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap");
    if (address == NULL && length == 32768 && (flags & MAP_ANONYMOUS) && !(flags & MAP_FIXED)) {
        void *placed = real((void *)next_page, length, protection, flags, fd, offset);
        if (placed != MAP_FAILED)
            next_page = (uintptr_t)placed + length;
        return placed;
    }
    return real(address, length, protection, flags, fd, offset);
}
