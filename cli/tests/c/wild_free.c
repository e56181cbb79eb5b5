/* A pointer no allocation returned, given to free, realloc, malloc_usable_size or free_sized
   (argv[2]); argv[1] says where it points. The program's output must survive, the heap must
   keep working, and the process must end normally. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char in_data[64];

/* An address near gpa's internal heap: the largest inaccessible anonymous mapping of 1 GiB
   or more is the unused part of its 4 GiB reservation; the readable mapping right below it
   is the part in use. `offset`: 0 for an address in the unused part, else this many bytes
   into the used part. Without gpa there is no such mapping: `fallback`. */
static char *internal_heap(uintptr_t offset, char *fallback) {
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    uintptr_t best = 0, best_len = 0, below = 0, previous_start = 0, previous_end = 0;
    while (maps && fgets(line, sizeof line, maps)) {
        uintptr_t start, end;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3) continue;
        if (!strcmp(perms, "---p") && end - start > best_len && end - start >= (1UL << 30)) {
            best = start;
            best_len = end - start;
            below = previous_end == start ? previous_start : 0;
        }
        previous_start = start;
        previous_end = end;
    }
    if (maps) fclose(maps);
    if (!best) return fallback;
    if (offset) return below ? (char *)below + offset : fallback;
    return (char *)best + 4096;
}

static char *wild_pointer(const char *where, char *block, char *on_stack) {
    if (!strcmp(where, "far")) return block + (1L << 30);
    if (!strcmp(where, "before")) return block - (1L << 20);
    if (!strcmp(where, "stack")) return on_stack + 16;
    if (!strcmp(where, "static")) return in_data + 16;
    if (!strcmp(where, "libc")) return (char *)stdout;
    if (!strcmp(where, "internal_unused")) return internal_heap(0, in_data + 32);
    if (!strcmp(where, "internal_used")) return internal_heap(64, in_data + 48);
    if (!strcmp(where, "internal_block")) return internal_heap(16, in_data + 8);
    if (!strcmp(where, "segment_guard"))
        return (char *)(((uintptr_t)block & ~((uintptr_t)(4 << 20) - 1)) + 4096);
    if (!strcmp(where, "unmapped")) return (char *)0x10000;
    return NULL;
}

static void misuse(const char *function, char *wild) {
    if (!strcmp(function, "free")) {
        free(wild);
    } else if (!strcmp(function, "realloc")) {
        char *moved = realloc(wild, 128);
        printf("realloc gave %s\n", moved ? "a block" : "null");
    } else if (!strcmp(function, "malloc_usable_size")) {
        printf("usable %zu\n", malloc_usable_size(wild));
    } else if (!strcmp(function, "free_sized")) {
        /* C23; glibc 2.36 lacks it, gpa exports it. */
        void (*free_sized)(void *, size_t) =
            (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
        if (free_sized) free_sized(wild, 64);
        else free(wild);
    }
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    char on_stack[64];
    char *block = malloc(64);
    char *wild = wild_pointer(argv[1], block, on_stack);
    if (!wild) return 2;
    printf("before %s\n", argv[1]);
    misuse(argv[2], wild);
    /* The heap still works. */
    for (int i = 0; i < 1000; i++) {
        char *again = malloc(i + 1);
        memset(again, i, i + 1);
        free(again);
    }
    free(block);
    puts("done");
    return 0;
}
