/* php (its pdo extension, loaded with RTLD_DEEPBIND) under gpa: the deep-bound library's free
 * was libc's, and freeing a block of gpa's there aborted ("munmap_chunk(): invalid pointer").
 * gpa's dlopen now binds such a library's allocation functions to gpa, as Valgrind's
 * redirection does. Loads libprog_deepbind_b.so by bare name (found through this program's
 * RUNPATH, $ORIGIN: the caller must still be this program) and libprog_deepbind_a.so by path
 * with RTLD_DEEPBIND. With an argument, the deep-bound library also overflows a block. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *must(void *handle, const char *name) {
    void *found = dlsym(handle, name);
    if (found == NULL) {
        fprintf(stderr, "dlsym %s: %s\n", name, dlerror());
        exit(1);
    }
    return found;
}

int main(int argc, char **argv) {
    (void)argv;
    void *plain = dlopen("libprog_deepbind_b.so", RTLD_NOW);
    if (plain == NULL) {
        fprintf(stderr, "plain dlopen: %s\n", dlerror());
        return 1;
    }
    char path[4096];
    ssize_t length = readlink("/proc/self/exe", path, sizeof path - 64);
    if (length < 0)
        return 1;
    path[length] = 0;
    strcpy(strrchr(path, '/') + 1, "libprog_deepbind_a.so");
    void *deep = dlopen(path, RTLD_NOW | RTLD_DEEPBIND);
    if (deep == NULL) {
        fprintf(stderr, "deep dlopen: %s\n", dlerror());
        return 1;
    }
    const char *error = dlerror();
    printf("dlerror after dlopen: %s\n", error ? error : "none");
    void (*lib_free)(void *) = (void (*)(void *))must(deep, "lib_free");
    void *(*lib_alloc)(size_t) = (void *(*)(size_t))must(deep, "lib_alloc");
    void (*lib_leak)(void) = (void (*)(void))must(deep, "lib_leak");
    void (*lib_overflow)(void) = (void (*)(void))must(deep, "lib_overflow");

    char *mine = malloc(48);
    strcpy(mine, "freed by the deep-bound library");
    lib_free(mine);
    char *theirs = lib_alloc(64);
    memset(theirs, 't', 64);
    free(theirs);
    lib_leak();
    if (argc > 1)
        lib_overflow();
    ((void (*)(void *))must(plain, "lib_free"))(malloc(8));
    puts("deepbind done");
    return 0;
}
