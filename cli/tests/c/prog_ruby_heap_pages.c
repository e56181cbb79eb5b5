// Ruby 3.1's object heap at exit, reduced (docs/sweeps/debian_programs.md, "ruby"). Ruby
// maps its object pages one at a time (32 KiB mapped, trimmed to a 16 KiB boundary); each
// object may hold a malloc'd block. At exit `rb_objspace_free` frees the pages in address
// order with a loop whose bound shrinks as it frees (`i < heap_allocated_pages`, and
// `heap_page_free` decrements `heap_allocated_pages`): the lower half of the pages by
// address is unmapped, the upper half stays mapped, a root. Which blocks are lost then
// follows the order the pages were placed in, not the allocator.
//
// Here page i (in the order mapped) holds a block of 100 * (i + 1) bytes, which holds a
// 24-byte block. argv[1]:
//   up, down  place the pages at rising or falling addresses in a range reserved first (the
//             same under any tool);
//   kernel    let mmap choose, as Ruby does: natively and under gpa the kernel hands out
//             falling addresses, Valgrind rising ones;
//   memalign  pages from posix_memalign, freed with free (Ruby built without mmap'd
//             pages): the allocator chooses the order.
// Prints "order=up" or "order=down", the order the pages got.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGES 4
#define PAGE (16 * 1024)

static char *map_aligned(void) {
    char *raw = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        exit(2);
    char *page = (char *)(((uintptr_t)raw + PAGE - 1) & ~(uintptr_t)(PAGE - 1));
    if (page > raw)
        munmap(raw, (size_t)(page - raw));
    if (page + PAGE < raw + 2 * PAGE)
        munmap(page + PAGE, (size_t)(raw + 2 * PAGE - (page + PAGE)));
    return page;
}

static int by_address(const void *a, const void *b) {
    uintptr_t x = (uintptr_t) * (char *const *)a, y = (uintptr_t) * (char *const *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "kernel";
    char *pages[PAGES];
    char *reserved = NULL;
    int memalign = strcmp(how, "memalign") == 0;
    if (strcmp(how, "kernel") != 0 && !memalign) {
        reserved = mmap(NULL, (2 * PAGES + 1) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (reserved == MAP_FAILED)
            return 2;
        reserved = (char *)(((uintptr_t)reserved + PAGE - 1) & ~(uintptr_t)(PAGE - 1));
    }
    for (int i = 0; i < PAGES; i++) {
        if (memalign) {
            void *page;
            if (posix_memalign(&page, PAGE, PAGE) != 0)
                return 2;
            memset(page, 0, PAGE);
            pages[i] = page;
        } else if (reserved == NULL) {
            pages[i] = map_aligned();
        } else {
            int slot = strcmp(how, "up") == 0 ? i : PAGES - 1 - i;
            pages[i] = mmap(reserved + 2 * slot * PAGE, PAGE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            if (pages[i] == MAP_FAILED)
                return 2;
        }
        void **object = (void **)(pages[i] + 64);
        void **block = malloc(100 * (i + 1));
        memset(block, 0, 100 * (i + 1));
        block[0] = malloc(24);
        *object = block;
    }
    printf("order=%s\n", pages[1] > pages[0] ? "up" : "down");
    // rb_objspace_free's loop, over the pages sorted by address.
    char *sorted[PAGES];
    memcpy(sorted, pages, sizeof sorted);
    qsort(sorted, PAGES, sizeof *sorted, by_address);
    size_t allocated = PAGES;
    for (size_t i = 0; i < allocated; ++i) {
        allocated--;
        if (memalign)
            free(sorted[i]);
        else
            munmap(sorted[i], PAGE);
    }
    memset(pages, 0, sizeof pages);
    memset(sorted, 0, sizeof sorted);
    return 0;
}
