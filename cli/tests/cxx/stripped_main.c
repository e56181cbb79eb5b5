#include <dlfcn.h>
#include <stdio.h>

/* A leak allocated inside a stripped library. */
int main(int argc, char **argv) {
    void *handle = dlopen(argv[1], RTLD_NOW);
    if (!handle) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
    void *(*allocate)(unsigned long) = (void *(*)(unsigned long))dlsym(handle, "exported_alloc");
    void *block = allocate(77);
    printf("%p\n", block);
    block = 0;
    puts("done");
    return 0;
}
