#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *(*deep_alloc)(size_t);

static void *in_thread(void *unused) {
    (void)unused;
    return deep_alloc(48); /* another arena of libc's allocator */
}

int main(int argc, char **argv) {
    void *handle = dlopen(argv[1], RTLD_NOW | RTLD_DEEPBIND);
    if (!handle) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
    deep_alloc = (void *(*)(size_t))dlsym(handle, "deep_alloc");
    char *small = deep_alloc(64);               /* main arena */
    char *big = deep_alloc(1 << 20);             /* mmapped chunk */
    char *grown = deep_alloc(32);
    pthread_t thread;
    void *from_thread = 0;
    pthread_create(&thread, 0, in_thread, 0);
    pthread_join(thread, &from_thread);
    printf("usable %d\n", malloc_usable_size(small) >= 64);
    grown = realloc(grown, 4096);
    printf("kept %d %d\n", small[63], grown[31]);
    free(small);
    free(big);
    free(grown);
    free(from_thread);
    puts("done");
    return 0;
}
