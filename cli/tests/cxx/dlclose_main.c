#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>

/* Loads each library, lets it allocate a block that is then dropped (a leak), and unloads it.
 * Both libraries are the same code, so when the second is loaded where the first was, the
 * leaks' stacks are the same addresses: only the time of capture tells them apart. */
int main(int argc, char **argv) {
    const char *symbols[2] = {"alloc_in_a", "alloc_in_b"};
    for (int i = 0; i < 2; i++) {
        void *handle = dlopen(argv[1 + i], RTLD_NOW);
        if (!handle) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
        void *(*allocate)(size_t) = (void *(*)(size_t))dlsym(handle, symbols[i]);
        struct link_map *map = 0;
        dlinfo(handle, RTLD_DI_LINKMAP, &map);
        printf("base %#lx\n", (unsigned long)map->l_addr);
        void *block = allocate(100 + 100 * i);
        block = 0;
        dlclose(handle);
    }
    puts("done");
    return 0;
}
