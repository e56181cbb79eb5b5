/* What gdk-pixbuf-query-loaders does through GModule (dlopen with RTLD_GLOBAL: a loader
 * plugin needs ICU, ICU needs libstdc++): libstdc++ arrives after start-up, and its
 * constructor allocates the 72,704-byte emergency pool for exceptions. Valgrind calls
 * libstdc++'s __gnu_cxx::__freeres only for a libstdc++ the process started with (its preload
 * library's weak reference is bound at start-up), so the pool stays, still reachable
 * (Valgrind 3.19: 83,433 bytes in 15 blocks still reachable, one of them the pool; the
 * loader's own blocks are the rest). With RTLD_LOCAL (argument "local") the function is not
 * in the global scope, and neither tool frees the pool. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    int local = argc > 1 && strcmp(argv[1], "local") == 0;
    void *library = dlopen("libstdc++.so.6", RTLD_NOW | (local ? RTLD_LOCAL : RTLD_GLOBAL));
    printf("libstdc++ loaded: %d\n", library != NULL);
    return 0;
}
